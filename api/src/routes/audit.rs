//! Audit: verification of the log's tamper evidence over HTTP (the same as `klg audit verify`).

use actix_web::{get, web, HttpResponse};
use klg_audit::VerifyReport;

use super::openapi::{Denied, Failures};
use crate::problem::ApiError;
use crate::startup::AppState;

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
