//! Client error reports: the web console posts what went wrong in the browser; operators list
//! them. Validated, size-limited, rate-limited per client, stored in PostgreSQL.

use actix_web::{get, post, web, HttpMessage, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use utoipa::{IntoParams, ToSchema};

use super::openapi::Denied;
use super::openapi::{BodyProblems, Failures, TooMany};
use crate::extract::{query, RequestId, ValidJson};
use crate::problem::ApiError;
use crate::startup::AppState;

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportLevel {
    Error,
    Warning,
    Info,
}

/// One error seen by a client.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientErrorReport {
    /// Not blank.
    #[schema(min_length = 1, max_length = 2000)]
    pub message: String,
    /// Default `error`.
    pub level: Option<ReportLevel>,
    /// Page the error happened on.
    #[schema(max_length = 2048)]
    pub url: Option<String>,
    #[schema(max_length = 16000)]
    pub stack: Option<String>,
    #[schema(max_length = 512)]
    pub user_agent: Option<String>,
    /// Free-form JSON object, at most 4096 bytes serialized.
    pub context: Option<serde_json::Map<String, serde_json::Value>>,
}

fn check_len(errors: &mut klg_domain::ValidationErrors, field: &str, value: Option<&str>, max: usize) {
    if value.is_some_and(|v| v.chars().count() > max) {
        errors.push(field, format!("must be at most {max} characters"));
    }
}

/// What `POST /api/v1/log-error` answers.
#[derive(Serialize, ToSchema)]
pub struct ReportAccepted {
    /// The stored report's id.
    pub id: i64,
}

/// Report a client error
#[utoipa::path(
    security(()),
    request_body = ClientErrorReport,
    responses((status = 202, body = ReportAccepted), BodyProblems, TooMany, Failures)
)]
#[post("/api/v1/log-error")]
pub async fn log_error(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ValidJson<ClientErrorReport>,
) -> Result<HttpResponse, ApiError> {
    let client = req.peer_addr().map(|a| a.ip()).unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into());
    if let Err(wait) = state.report_limiter.check(&client) {
        return Err(ApiError::TooManyRequests { retry_after_secs: crate::ratelimit::retry_after_secs(wait) });
    }
    let report = body.value;
    let mut errors = klg_domain::ValidationErrors::default();
    if report.message.trim().is_empty() {
        errors.push("message", "must not be empty");
    }
    check_len(&mut errors, "message", Some(&report.message), 2000);
    check_len(&mut errors, "url", report.url.as_deref(), 2048);
    check_len(&mut errors, "stack", report.stack.as_deref(), 16_000);
    check_len(&mut errors, "user_agent", report.user_agent.as_deref(), 512);
    if report.context.as_ref().is_some_and(|c| serde_json::to_vec(c).map_or(0, |v| v.len()) > 4096) {
        errors.push("context", "must be at most 4096 bytes of JSON");
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    let level = serde_json::to_value(report.level.unwrap_or(ReportLevel::Error)).expect("level serializes");
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO client_error_reports (client, level, message, url, stack, user_agent, context, request_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(client.to_string())
    .bind(level.as_str())
    .bind(report.message.trim())
    .bind(report.url)
    .bind(report.stack)
    .bind(report.user_agent)
    .bind(report.context.map(Json))
    .bind(request_id)
    .fetch_one(&state.pool)
    .await?;
    Ok(HttpResponse::Accepted().json(ReportAccepted { id }))
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct StoredReport {
    pub id: i64,
    pub received_at: DateTime<Utc>,
    pub client: String,
    pub level: String,
    pub message: String,
    pub url: Option<String>,
    pub stack: Option<String>,
    pub user_agent: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub context: Option<Json<serde_json::Value>>,
    pub request_id: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportListQuery {
    /// Default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// Only reports older than this id (the `next_before` of the previous page).
    pub before: Option<i64>,
    pub level: Option<ReportLevel>,
}

/// One page of stored reports.
#[derive(Serialize, ToSchema)]
pub struct ReportPage {
    pub items: Vec<StoredReport>,
    /// Pass as `before` to get the next page; null on the last page.
    pub next_before: Option<i64>,
}

/// Stored client error reports, newest first
#[utoipa::path(
    security(("bearer" = ["admin"])),
    params(ReportListQuery), responses(Denied, (status = 200, body = ReportPage), Failures))]
#[get("/api/v1/admin/client-errors")]
pub async fn list_reports(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let params: ReportListQuery = query(&req)?;
    let limit = klg_projections::queries::page_size(params.limit, 50)?;
    let level = params.level.map(|l| serde_json::to_value(l).expect("level serializes"));
    let items: Vec<StoredReport> = sqlx::query_as(
        "SELECT id, received_at, client, level, message, url, stack, user_agent, context, request_id \
         FROM client_error_reports WHERE id < $1 AND ($2::text IS NULL OR level = $2) ORDER BY id DESC LIMIT $3",
    )
    .bind(params.before.unwrap_or(i64::MAX))
    .bind(level.as_ref().and_then(|l| l.as_str()))
    .bind(limit)
    .fetch_all(&state.pool)
    .await?;
    let next_before = (items.len() as i64 == limit).then(|| items.last().map(|r| r.id)).flatten();
    Ok(HttpResponse::Ok().json(ReportPage { items, next_before }))
}
