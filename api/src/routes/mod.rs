//! HTTP routes. Handlers parse and validate input, run one command or query, and map the
//! outcome; they hold no business rules.

pub mod aircraft;
pub mod health;
pub mod inbox;
pub mod integration;
pub mod metrics;
pub mod openapi;
pub mod reads;
pub mod reports;
pub mod streaming;
pub mod tokens;

use actix_web::web;

/// Read-only endpoints that share no path with a command.
pub fn read_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/search", web::get().to(reads::search_all))
        .route("/api/v1/knowledge/insights", web::get().to(reads::list_insights))
        .route("/api/v1/recommendations", web::get().to(reads::list_recommendations))
        .route("/api/v1/log-error", web::post().to(reports::log_error))
        .route("/api/v1/admin/client-errors", web::get().to(reports::list_reports))
        .route("/api/v1/streaming/views", web::get().to(streaming::list_views))
        .route("/api/v1/streaming/views/{name}", web::get().to(streaming::read_view))
        .route("/api/v1/streaming/health", web::get().to(streaming::health))
        .route("/api/v1/streaming/events", web::post().to(integration::receive))
        .route("/metrics", web::get().to(metrics::scrape))
        .service(
            web::resource("/api/v1/admin/tokens")
                .route(web::get().to(tokens::list))
                .route(web::post().to(tokens::create)),
        )
        .route("/api/v1/admin/tokens/{id}", web::delete().to(tokens::revoke));
}

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use cqrs_es::Aggregate;
use klg_commands::{CommandOutcome, CommandService};
use klg_domain::{DomainError, Guarded, NamedCommand};
use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

use crate::extract::{etag, if_match, parse_id, RequestMeta};
use crate::problem::ApiError;

/// Answer to a command: where the aggregate now stands.
#[derive(Debug, Serialize, JsonSchema)]
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
