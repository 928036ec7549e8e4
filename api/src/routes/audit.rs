//! Audit: verification of the log's tamper evidence over HTTP (the same as `klg audit verify`).

use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use klg_audit::log::{LogFilter, CSV_HEADER};
use klg_audit::VerifyReport;
use serde::Deserialize;
use utoipa::IntoParams;

use super::openapi::{Denied, Failures, Missing};
use crate::extract::query;
use crate::problem::ApiError;
use crate::startup::AppState;

/// Which events to list; filters combine with AND.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditLogQuery {
    #[param(pattern = "^(Aircraft|InboxItem)$")]
    pub aggregate_type: Option<String>,
    pub aggregate_id: Option<String>,
    /// Every airframe ever registered under this number.
    pub registration: Option<String>,
    /// A document's id.
    pub document: Option<String>,
    pub event_type: Option<String>,
    /// The token name recorded as the actor.
    pub actor: Option<String>,
    pub correlation_id: Option<String>,
    /// Recorded at or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Recorded before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Continue after this global position (`next_cursor` of the previous page).
    #[param(minimum = 0)]
    pub cursor: Option<i64>,
    /// Default 100.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// The audit log: stored events, oldest first, with who, when and the request ids; JSON, or CSV
/// with `Accept: text/csv` (the next page's cursor then in `X-Next-Cursor`).
#[utoipa::path(
    security(("bearer" = ["auditor", "admin"])),
    params(AuditLogQuery),
    responses(Denied, (status = 200, description = "A page of the log", content((AuditLogPageSchema = "application/json"), (String = "text/csv"))), Failures)
)]
#[get("/api/v1/audit/events")]
pub async fn events(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let params: AuditLogQuery = query(&req)?;
    let mut errors = klg_domain::ValidationErrors::default();
    if params
        .aggregate_type
        .as_deref()
        .is_some_and(|t| !["Aircraft", "InboxItem", "PartsRequest"].contains(&t))
    {
        errors.push("aggregate_type", "one of Aircraft, InboxItem");
    }
    if params.cursor.is_some_and(|c| c < 0) {
        errors.push("cursor", "must be 0 or more");
    }
    if params.limit.is_some_and(|l| !(1..=klg_audit::log::MAX_LIMIT).contains(&l)) {
        errors.push("limit", format!("between 1 and {}", klg_audit::log::MAX_LIMIT));
    }
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let filter = LogFilter {
        aggregate_type: params.aggregate_type,
        aggregate_id: params.aggregate_id,
        registration: params.registration,
        document: params.document,
        event_type: params.event_type,
        actor: params.actor,
        correlation_id: params.correlation_id,
        from: params.from,
        to: params.to,
    };
    let page =
        klg_audit::log::read(&state.pool, &filter, params.cursor.unwrap_or(0), params.limit.unwrap_or(100))
            .await?;
    if !crate::extract::accepts_csv(&req) {
        return Ok(HttpResponse::Ok().json(page));
    }
    let mut body = String::from(CSV_HEADER);
    body.push_str("\r\n");
    for entry in &page.items {
        body.push_str(&klg_audit::log::csv_line(entry));
        body.push_str("\r\n");
    }
    let mut response = HttpResponse::Ok();
    response.content_type("text/csv; charset=utf-8");
    if let Some(next) = page.next_cursor {
        // CSV has no room for the cursor: it travels in a header.
        response.insert_header(("X-Next-Cursor", next.to_string()));
    }
    Ok(response.body(body))
}

/// An aircraft's timeline: each event with who, when, the request ids and what changed (field:
/// old → new), oldest first.
#[utoipa::path(
    security(("bearer" = ["auditor", "admin"])),
    params(("id" = uuid::Uuid, Path)),
    responses(Denied, (status = 200, body = TimelineSchema), Missing, Failures)
)]
#[get("/api/v1/aircraft/{id}/timeline")]
pub async fn aircraft_timeline(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    timeline::<klg_domain::aircraft::Aircraft>(&state, &path, "aircraft").await
}

/// A document's timeline (as for aircraft).
#[utoipa::path(
    security(("bearer" = ["auditor", "admin"])),
    params(("id" = uuid::Uuid, Path)),
    responses(Denied, (status = 200, body = TimelineSchema), Missing, Failures)
)]
#[get("/api/inbox/files/{id}/timeline")]
pub async fn document_timeline(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    timeline::<klg_domain::inbox::InboxItem>(&state, &path, "document").await
}

async fn timeline<A>(state: &AppState, id: &str, what: &str) -> Result<HttpResponse, ApiError>
where
    A: cqrs_es::Aggregate + serde::Serialize,
{
    let id = crate::extract::parse_id(id, what)?;
    let entries =
        klg_audit::timeline::timeline::<A>(&state.pool, &id.to_string()).await.map_err(|e| match e {
            klg_audit::timeline::TimelineError::Database(e) => ApiError::from(e),
            other => ApiError::Internal(other.to_string()),
        })?;
    if entries.is_empty() {
        return Err(ApiError::NotFound(format!("no {what} {id}")));
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": entries })))
}

/// A timeline, for the document.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct TimelineSchema {
    /// sequence, global_position, recorded_at, event_type, event_version (the payload's, after
    /// upcasting), stored_version, actor, request_id, correlation_id, causation_id, summary
    /// (`field: old → new; …`), changes [{field, old, new}], payload.
    items: Vec<serde_json::Value>,
}

/// A page of the audit log, for the document.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct AuditLogPageSchema {
    /// global_position, recorded_at, aggregate_type, aggregate_id, sequence, event_type,
    /// event_version, actor, actor_id, request_id, correlation_id, causation_id, payload, hash.
    items: Vec<serde_json::Value>,
    /// Pass as `cursor` for the next page; absent on the last page.
    next_cursor: Option<i64>,
}

/// Recompute every event's hash chain and check every seal signed by the key in
/// `KLG_AUDIT_PUBLIC_KEY` (seals are not checked without it). `ok` is false when anything was
/// altered; `first_broken` says where.
#[utoipa::path(
    security(("bearer" = ["auditor", "admin"])),
    responses((status = 200, body = VerifyReportSchema), Denied, Failures)
)]
#[get("/api/v1/audit/verify")]
pub async fn verify(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let report: VerifyReport = klg_audit::verify(&state.pool, state.audit_public_key.as_deref(), |_| {})
        .await
        .map_err(|e| match e {
            klg_audit::AuditError::Database(e) => ApiError::from(e),
            other => ApiError::Internal(other.to_string()),
        })?;
    Ok(HttpResponse::Ok().json(report))
}

/// The report's shape, for the document.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct VerifyReportSchema {
    /// True when every chain holds and every seal checked is intact.
    ok: bool,
    events_checked: u64,
    streams: u64,
    /// The first broken link: global_position, aggregate_type, aggregate_id, sequence, reason.
    first_broken: Option<serde_json::Value>,
    /// Each seal: id, sealed_at, up_to_position, status (intact, altered, bad_signature, other_key).
    seals: Vec<serde_json::Value>,
}
