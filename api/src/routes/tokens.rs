//! Token management for admins: `GET/POST /api/v1/admin/tokens`, `DELETE …/{id}`. The same
//! operations as `klg token`, over HTTP; the secret is in the creation answer only.

use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use klg_domain::identity::{parse_lifetime, Role, TokenName};
use klg_identity::{TokenError, TokenInfo};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::openapi::{BodyProblems, Denied, Failures, Missing, TooMany};
use crate::extract::ValidJson;
use crate::problem::ApiError;
use crate::startup::AppState;

/// A token to issue.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// Who or what holds it, recorded as the actor of its events: 1-64 letters, digits, `.`,
    /// `_`, `-`, `@`; never reused.
    pub name: String,
    /// viewer, engineer, auditor, integration or admin.
    pub role: String,
    /// Lifetime such as `90d`, `12h`, `30m`; absent: until revoked.
    pub expires_in: Option<String>,
}

/// A token as listed (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    pub role: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub created_by: String,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
    pub revoked_by: Option<String>,
}

/// Every token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    pub items: Vec<TokenView>,
}

/// A token just issued: `token` is shown here once and never again.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: TokenView,
    pub token: String,
}

impl From<TokenInfo> for TokenView {
    fn from(t: TokenInfo) -> Self {
        Self {
            id: t.id,
            name: t.name,
            role: t.role,
            created_at: t.created_at,
            created_by: t.created_by,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
            revoked_by: t.revoked_by,
        }
    }
}

/// The caller's name, recorded as who created or revoked a token.
fn admin_name(req: &HttpRequest) -> String {
    crate::auth::caller_of(req)
        .map_or_else(|| "unknown".to_owned(), |c| format!("{} (token {})", c.name, c.token_id))
}

fn token_error(e: TokenError) -> ApiError {
    match e {
        TokenError::NameTaken(_) => ApiError::invalid("name", e.to_string()),
        TokenError::NotFound(what) => ApiError::NotFound(format!("no token {what}")),
        TokenError::Invalid(why) => ApiError::invalid("expires_in", why),
        TokenError::Database(e) => ApiError::from(e),
    }
}

/// Issue a token (its secret is in this answer only)
#[utoipa::path(
    security(("bearer" = ["admin"])),
    request_body = CreateTokenRequest,
    responses((status = 201, body = CreatedToken), Denied, TooMany, BodyProblems, Failures)
)]
#[post("/api/v1/admin/tokens")]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ValidJson<CreateTokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.value;
    let mut errors = klg_domain::ValidationErrors::default();
    let name = TokenName::parse(&body.name).map_err(|e| errors.push("name", e)).ok();
    let role = body.role.parse::<Role>().map_err(|e| errors.push("role", e)).ok();
    let lifetime = body
        .expires_in
        .as_deref()
        .map(parse_lifetime)
        .transpose()
        .map_err(|e| errors.push("expires_in", e))
        .ok();
    let (Some(name), Some(role), Some(lifetime)) = (name, role, lifetime) else {
        return Err(ApiError::Invalid(errors));
    };
    let (info, secret) =
        state.tokens.create(&name, role, lifetime, &admin_name(&req)).await.map_err(token_error)?;
    let location = format!("/api/v1/admin/tokens/{}", info.id);
    Ok(HttpResponse::Created()
        .insert_header(("Location", location))
        .insert_header(("Cache-Control", "no-store"))
        .json(CreatedToken { info: info.into(), token: secret.reveal().to_owned() }))
}

/// Every token, newest first (never a secret)
#[utoipa::path(security(("bearer" = ["admin"])), responses((status = 200, body = TokenList), Denied, Failures))]
#[get("/api/v1/admin/tokens")]
pub async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let tokens = state.tokens.list().await.map_err(token_error)?;
    Ok(HttpResponse::Ok().json(TokenList { items: tokens.into_iter().map(Into::into).collect() }))
}

/// Who the caller is, as `GET /api/v1/me` answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// The token's name (recorded as the actor of its events).
    pub name: String,
    /// viewer, engineer, auditor, integration or admin.
    pub role: String,
    pub token_id: String,
}

/// The calling token's name and role (what the web console shows and offers)
#[utoipa::path(
    security(("bearer" = ["viewer", "engineer", "auditor", "integration", "admin"])),
    responses((status = 200, body = Me), Denied, Failures)
)]
#[get("/api/v1/me")]
pub async fn me(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let caller = crate::auth::caller_of(&req)
        .ok_or_else(|| ApiError::Internal("GET /api/v1/me ran without an authenticated caller".into()))?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(Me {
        name: caller.name,
        role: caller.role.as_str().to_owned(),
        token_id: caller.token_id,
    }))
}

/// Revoke a token (by id or name)
#[utoipa::path(
    security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "The token's id or name")),
    responses((status = 200, body = TokenView), Denied, TooMany, Missing, Failures)
)]
#[delete("/api/v1/admin/tokens/{id}")]
pub async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let info = state.tokens.revoke(&path, &admin_name(&req)).await.map_err(token_error)?;
    Ok(HttpResponse::Ok().json(TokenView::from(info)))
}
