//! Bearer-token authentication and role checks, in one middleware.
//!
//! Which roles may call an operation is written once, on the operation in the OpenAPI document
//! (`security: [{"bearer": [roles…]}]`; OpenAPI 3.1 lets a non-OAuth scheme list role names), and
//! this middleware enforces exactly what the document says: the document cannot promise what the
//! server does not check. Operations with `security: []` are public. A route the document does
//! not describe is refused unless it is one of the few fixed public paths below.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, ResponseError};
use klg_domain::identity::Role;
use klg_identity::{Caller, TokenStore};
use serde_json::Value;

use crate::problem::ApiError;
use crate::ratelimit::{retry_after_secs, RateLimiter};

/// Who may call one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    Public,
    AnyOf(Vec<Role>),
}

/// Paths outside the API document that need no token: probes, the document itself, and the web
/// console's page and files (a program with no data in it: it asks for a token in the browser
/// and sends it with every API call; see `routes::console`). Exact route patterns, not
/// prefixes: nothing else under `/` or `/console/` is let through by this list.
const PUBLIC_PATHS: [&str; 5] = [
    "/health/live",
    "/health/ready",
    "/api-docs/openapi.json",
    crate::routes::console::INDEX,
    crate::routes::console::ASSETS,
];

/// Route pattern → method → requirement, read from the OpenAPI document. Looked up by `&str` on
/// every request, without allocating.
#[derive(Debug, Clone, Default)]
pub struct AccessTable {
    operations: HashMap<String, HashMap<String, Requirement>>,
    metrics_public: bool,
}

static PUBLIC: Requirement = Requirement::Public;
/// What a route the document does not describe requires.
const ADMIN_ONLY: &[Role] = &[Role::Admin];

impl AccessTable {
    pub fn from_openapi(document: &Value, metrics_public: bool) -> Self {
        let operations = document["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(path, item)| {
                let methods = item.as_object().into_iter().flatten();
                let by_method = methods.map(|(m, op)| (m.to_ascii_uppercase(), requirement_of(op, document)));
                (path.clone(), by_method.collect())
            })
            .collect();
        Self { operations, metrics_public }
    }

    /// What calling `method` on the route `pattern` requires; `None` for a route the document
    /// does not know (refused to all but admins).
    pub fn requirement(&self, method: &str, pattern: &str) -> Option<&Requirement> {
        if PUBLIC_PATHS.contains(&pattern) || (pattern == "/metrics" && self.metrics_public) {
            return Some(&PUBLIC);
        }
        self.operations.get(pattern)?.get(method)
    }

    /// Whether the document describes `pattern` under some method (a wrong method is then a 405,
    /// not an authorisation question).
    pub fn knows_path(&self, pattern: &str) -> bool {
        PUBLIC_PATHS.contains(&pattern) || self.operations.contains_key(pattern)
    }
}

/// An operation's own `security`, else the document's default.
fn requirement_of(operation: &Value, document: &Value) -> Requirement {
    let security = operation.get("security").unwrap_or(&document["security"]);
    let Some(alternatives) = security.as_array() else {
        return Requirement::AnyOf(vec![Role::Admin]);
    };
    if alternatives.is_empty() || alternatives.iter().any(|a| a.as_object().is_some_and(|o| o.is_empty())) {
        return Requirement::Public;
    }
    let roles = alternatives
        .iter()
        .filter_map(|a| a["bearer"].as_array())
        .flatten()
        .filter_map(|r| r.as_str()?.parse().ok())
        .collect::<Vec<Role>>();
    Requirement::AnyOf(if roles.is_empty() { vec![Role::Admin] } else { roles })
}

/// The state the middleware needs.
pub struct Auth {
    pub tokens: Arc<TokenStore>,
    pub table: Arc<AccessTable>,
    /// Writes per token, when limited.
    pub writes: Option<RateLimiter<String>>,
}

/// Authenticates the request (if its route needs it), checks the role, and leaves the
/// [`Caller`] in the request's extensions for the handlers; the request span records its name.
pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    match admit(&req).await {
        Ok(None) => {}
        Ok(Some(caller)) => {
            tracing::Span::current().record("actor", caller.name.as_str());
            req.extensions_mut().insert(caller);
        }
        Err(error) => {
            let (req, _) = req.into_parts();
            return Ok(ServiceResponse::new(req, error.error_response()));
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// The caller, when the route needs one and the token and role allow it.
async fn admit(req: &ServiceRequest) -> Result<Option<Caller>, ApiError> {
    let auth = req
        .app_data::<actix_web::web::Data<Auth>>()
        .ok_or_else(|| ApiError::Internal("authentication is not configured".into()))?;
    let known = req.extensions().get::<crate::middleware::MatchedRoute>().map(|r| r.0.clone());
    let pattern: Option<String> = known.unwrap_or_else(|| req.match_pattern());
    // Unknown path (404): nothing to protect.
    let Some(pattern) = pattern else { return Ok(None) };
    let roles: &[Role] = match auth.table.requirement(req.method().as_str(), &pattern) {
        Some(Requirement::Public) => return Ok(None),
        Some(Requirement::AnyOf(roles)) => roles,
        // A documented path with a method it does not have: actix answers 405.
        None if auth.table.knows_path(&pattern) => return Ok(None),
        None => ADMIN_ONLY,
    };
    let token = bearer_token(req).map_err(|why| ApiError::Unauthorized(why.into()))?;
    let caller = match auth.tokens.verify(&token).await {
        Ok(Ok(caller)) => caller,
        Ok(Err(rejection)) => return Err(ApiError::Unauthorized(rejection.to_string())),
        Err(e) => return Err(ApiError::Unavailable(format!("verifying a token: {e}"))),
    };
    if !roles.contains(&caller.role) {
        return Err(ApiError::Forbidden(format!(
            "the token {} has role {}; this operation needs one of: {}",
            caller.name,
            caller.role,
            roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
        )));
    }
    let is_write = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if let Some(limiter) = auth.writes.as_ref().filter(|_| is_write) {
        limiter
            .check(&caller.token_id)
            .map_err(|wait| ApiError::TooManyRequests { retry_after_secs: retry_after_secs(wait) })?;
    }
    Ok(Some(caller))
}

/// The `Authorization: Bearer <token>` credential, or why there is none.
fn bearer_token(req: &ServiceRequest) -> Result<String, &'static str> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or("no Authorization header: send `Authorization: Bearer <token>`")?;
    let text = value.to_str().map_err(|_| "the Authorization header is not text")?;
    let (scheme, token) =
        text.split_once(' ').ok_or("the Authorization header must read `Bearer <token>`")?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err("the Authorization header must read `Bearer <token>`");
    }
    Ok(token.trim().to_owned())
}

/// The caller a request was authenticated as, if its route needed a token.
pub fn caller_of(req: &actix_web::HttpRequest) -> Option<Caller> {
    req.extensions().get::<Caller>().cloned()
}
