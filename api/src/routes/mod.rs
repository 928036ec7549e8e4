//! HTTP routes. Handlers parse and validate input, run one command or query, and map the
//! outcome; they hold no business rules.

pub mod aircraft;
pub mod audit;
pub mod console;
pub mod directives;
pub mod health;
pub mod inbox;
pub mod integration;
pub mod metrics;
pub mod openapi;
pub mod reads;
pub mod reports;
pub mod streaming;
pub mod tmc;
pub mod tokens;

use actix_web::dev::{ServiceFactory, ServiceRequest};
use actix_web::{web, App};
use utoipa::OpenApi;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::AppExt;

/// Every route of the service, each documented as it is registered: a handler enters through
/// `utoipa_actix_web`'s `service`, which takes only handlers carrying `#[utoipa::path]`, and adds
/// its operation to the OpenAPI document served at [`openapi::PATH`]. (A plain `.route()` would
/// register a route the document does not know; the `openapi` test finds those.)
pub fn app<T>(app: App<T>) -> App<T>
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    let (app, document) = register(app);
    app.configure(openapi::serve(document))
        .configure(console::serve)
        .default_service(web::to(crate::middleware::not_found))
}

/// The OpenAPI document, as [`app`] serves it (`klg openapi` prints it).
pub fn document() -> utoipa::openapi::OpenApi {
    register(App::new()).1
}

/// [`document`] as JSON (what authentication reads each operation's roles from).
pub fn document_json() -> serde_json::Value {
    serde_json::to_value(document()).expect("the OpenAPI document serializes")
}

fn register<T>(app: App<T>) -> (App<T>, utoipa::openapi::OpenApi)
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    app.into_utoipa_app()
        .openapi(openapi::ApiDoc::openapi())
        .configure(aircraft::routes)
        .configure(directives::routes)
        .configure(tmc::routes)
        .configure(inbox::routes)
        .configure(health::routes)
        .configure(read_routes)
        .split_for_parts()
}

/// Read-only endpoints that share no path with a command.
fn read_routes(cfg: &mut ServiceConfig) {
    cfg.service(reads::search_all)
        .service(reads::list_insights)
        .service(reads::list_recommendations)
        .service(reports::log_error)
        .service(reports::list_reports)
        .service(streaming::list_views)
        .service(streaming::read_view)
        .service(streaming::health)
        .service(integration::receive)
        .service(metrics::scrape)
        .service(tokens::list)
        .service(tokens::create)
        .service(tokens::revoke)
        .service(tokens::me)
        .service(audit::verify)
        .service(audit::events)
        .service(audit::aircraft_timeline)
        .service(audit::document_timeline);
}

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use cqrs_es::Aggregate;
use klg_commands::{CommandOutcome, CommandService};
use klg_domain::{DomainError, Guarded, NamedCommand};
use serde::Serialize;
use uuid::Uuid;

use crate::extract::{etag, if_match, parse_id, RequestMeta};
use crate::problem::ApiError;

/// Answer to a command: where the aggregate now stands.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CommandResponse {
    pub id: Uuid,
    /// Aggregate version after the command; also sent as `ETag`.
    pub version: u64,
    /// Global log position of the aggregate's last event: pass it as `min_position` to read
    /// your own write.
    pub position: i64,
    /// False when the command was valid but changed nothing.
    pub changed: bool,
}

/// The response to a successful command; `location` is set for creations (201).
pub fn command_response(outcome: CommandOutcome, location: Option<String>) -> HttpResponse {
    let status = if location.is_some() { StatusCode::CREATED } else { StatusCode::OK };
    let mut response = HttpResponseBuilder::new(status);
    response.insert_header(("ETag", etag(outcome.version)));
    if let Some(location) = location {
        response.insert_header(("Location", location));
    }
    if outcome.replayed {
        response.insert_header(("Idempotent-Replayed", "true"));
    }
    response.json(CommandResponse {
        id: outcome.aggregate_id,
        version: outcome.version,
        position: outcome.position,
        changed: outcome.changed,
    })
}

/// Runs a command on the existing aggregate `id` (a path segment), honouring `If-Match`.
pub async fn run_on<A, C>(
    service: &CommandService<A>,
    req: &HttpRequest,
    id: &str,
    what: &str,
    meta: RequestMeta,
    raw: &[u8],
    command: C,
) -> Result<HttpResponse, ApiError>
where
    A: Aggregate<Command = Guarded<C>> + Clone,
    A::Error: DomainError,
    C: NamedCommand,
{
    let id = parse_id(id, what)?;
    let expected = if_match(req.headers())?;
    let meta = meta.for_request(req, raw);
    let outcome = service.execute(id, Guarded::new(command, expected), &meta).await?;
    Ok(command_response(outcome, None))
}
