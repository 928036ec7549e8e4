//! The OpenAPI 3.1 document. Nothing here lists the routes: each handler carries its own
//! `#[utoipa::path]` (parameters, body, responses) and `utoipa_actix_web` collects it as the
//! handler is registered (see [`super::app`]), with the schemas `utoipa` derives from the very
//! types the handlers deserialize and answer. What several operations share (headers, problem
//! responses, success answers) is declared once below.

use actix_web::{web, HttpResponse};
use utoipa::{IntoParams, IntoResponses, OpenApi};

use super::integration::{DocumentReceived, FlightCompleted, StatusChanged};
use super::CommandResponse;
use crate::problem::Problem;

/// Where the document is served.
pub const PATH: &str = "/api-docs/openapi.json";

/// What the collected operations do not say: the API as a whole, and the schemas of the
/// integration events' `data` (the endpoint takes them as free JSON, then parses by `type`).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "KLG airworthiness control API",
        description = "Commands on aircraft and inbox documents, and the reads over them. \
                       Errors are RFC 9457 problem details (`application/problem+json`)."
    ),
    components(schemas(CommandResponse, Problem, FlightCompleted, StatusChanged, DocumentReceived)),
    modifiers(&BearerScheme)
)]
pub struct ApiDoc;

/// Serves the document collected from the registered routes (not itself one of its
/// operations: the document does not describe where it is found).
pub fn serve(document: utoipa::openapi::OpenApi) -> impl FnOnce(&mut web::ServiceConfig) {
    let body = document.to_json().expect("the OpenAPI document serializes");
    move |cfg| {
        cfg.route(
            PATH,
            web::get().to(move || {
                let body = body.clone();
                async move { HttpResponse::Ok().content_type("application/json").body(body) }
            }),
        );
    }
}

/// The header that makes a write repeat-safe.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKey {
    /// Repeat-safe key: a repeat with the same body returns the first response.
    #[param(rename = "Idempotency-Key", max_length = 255)]
    pub idempotency_key: Option<String>,
}

/// The optimistic-concurrency header of a command on an existing aggregate.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IfMatch {
    /// Expected version as an ETag, e.g. `"3"`.
    #[param(rename = "If-Match")]
    pub if_match: Option<String>,
}

/// A command on an existing aggregate was applied.
#[derive(IntoResponses)]
#[response(status = 200, headers(("ETag" = String, description = "The new version")))]
pub struct Applied(pub CommandResponse);

/// An aggregate was created.
#[derive(IntoResponses)]
#[response(status = 201, headers(("ETag" = String), ("Location" = String)))]
pub struct Created(pub CommandResponse);

/// Problems any operation may answer.
#[derive(IntoResponses)]
pub enum Failures {
    /// A parameter or field is invalid (see `errors`)
    #[response(status = 422, content_type = "application/problem+json")]
    Invalid(Problem),
    /// Internal error (details are logged, not sent)
    #[response(status = 500, content_type = "application/problem+json")]
    Internal(Problem),
    /// The database is unavailable, or the read store did not reach `min_position` in time
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(Problem),
}

/// The resource named in the path does not exist.
#[derive(IntoResponses)]
#[response(status = 404, content_type = "application/problem+json")]
pub struct Missing(pub Problem);

/// Problems of a request body.
#[derive(IntoResponses)]
pub enum BodyProblems {
    /// Malformed body
    #[response(status = 400, content_type = "application/problem+json")]
    Malformed(Problem),
    /// Body too large
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(Problem),
    /// Wrong content type
    #[response(status = 415, content_type = "application/problem+json")]
    WrongType(Problem),
}

/// A domain rule refuses the command.
#[derive(IntoResponses)]
#[response(status = 409, content_type = "application/problem+json")]
pub struct Refused(pub Problem);

/// `If-Match` does not match the current version.
#[derive(IntoResponses)]
#[response(status = 412, content_type = "application/problem+json")]
pub struct Stale(pub Problem);

/// Too many requests from this client; `Retry-After` says when to try again.
#[derive(IntoResponses)]
#[response(status = 429, content_type = "application/problem+json")]
pub struct TooMany(pub Problem);

/// No valid token (missing, malformed, unknown, expired, revoked: 401 with
/// `WWW-Authenticate: Bearer`), or a role this operation does not admit (403).
#[derive(IntoResponses)]
pub enum Denied {
    /// No valid bearer token
    #[response(status = 401, content_type = "application/problem+json", headers(("WWW-Authenticate" = String)))]
    Unauthenticated(Problem),
    /// The token's role may not do this
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
}

/// Declares the `bearer` scheme each operation's `security` names, with the roles it admits
/// (OpenAPI 3.1 lets a non-OAuth scheme list role names); the server enforces exactly those.
pub struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(
                "A KLG API token, `klg_<id>_<secret>` (`klg token create`). Each operation lists the roles it admits.",
            ))
            .build();
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}
