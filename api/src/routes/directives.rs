//! Airworthiness directives on an aircraft's record: record applicability and compliance (the
//! rules are the Aircraft aggregate's), read an aircraft's AD status (JSON or CSV for an audit),
//! and the fleet-wide list of directives falling due.

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use klg_domain::aircraft::directives::{
    minutes_from_hours, Applicability, ComplianceMethod, DirectiveApplicability, DirectiveCompliance,
    Interval,
};
use klg_domain::aircraft::AircraftCommand;
use klg_domain::values::{DirectiveNumber, DirectiveRevision, Name, Reason, WorkOrderRef};
use klg_domain::ValidationErrors;
use klg_projections::as_of;
use klg_projections::queries::aircraft;
use klg_projections::queries::directives::{self, DirectiveView, DueWindow};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::openapi::{
    Applied, BodyProblems, Denied, Failures, IdempotencyKey, IfMatch, Missing, Refused, Stale, TooMany,
};
use super::reads::{await_position, past_instant, Items};
use super::run_on;
use crate::extract::{accepts_csv, parse_id, query, RequestMeta, ValidJson};
use crate::problem::ApiError;
use crate::startup::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(record_applicability).service(record_compliance).service(list_for_aircraft).service(list_due);
}

/// Days, flight hours and/or landing cycles — whichever comes first. At least one.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntervalBody {
    #[schema(minimum = 1, maximum = 36500)]
    pub days: Option<u32>,
    #[schema(minimum = 1, maximum = 1000000)]
    pub hours: Option<u32>,
    #[schema(minimum = 1, maximum = 1000000)]
    pub cycles: Option<u32>,
}

impl IntervalBody {
    /// The interval, or an error naming `<field>.days|hours|cycles`.
    fn check(self, field: &str, errors: &mut ValidationErrors) -> Option<Interval> {
        Interval::new(self.days, self.hours, self.cycles)
            .map_err(|(part, message)| errors.push(&format!("{field}.{part}"), message))
            .ok()
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordApplicabilityRequest {
    /// The inbox document: classified `airworthiness_directive` and linked to this aircraft.
    pub document_id: Uuid,
    /// The directive's number as its authority writes it, e.g. `2024-0123`.
    pub number: String,
    pub revision: Option<String>,
    pub applicable: bool,
    /// Why it does not apply; required when `applicable` is false, refused otherwise.
    pub reason: Option<String>,
    /// Time allowed for first compliance, from now; absent: due at once (the aircraft may not
    /// fly until compliance is recorded). Only for an applicable directive.
    pub comply_within: Option<IntervalBody>,
}

impl RecordApplicabilityRequest {
    fn to_command(&self) -> Result<AircraftCommand, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let number = errors.check("number", DirectiveNumber::parse(&self.number));
        let revision =
            self.revision.as_deref().and_then(|r| errors.check("revision", DirectiveRevision::parse(r)));
        let applicability = match (self.applicable, &self.reason, self.comply_within) {
            (true, Some(_), _) => {
                errors.push("reason", "only for a directive that does not apply");
                None
            }
            (true, None, within) => {
                let comply_within = within.and_then(|w| w.check("comply_within", &mut errors));
                Some(Applicability::Applicable { comply_within })
            }
            (false, _, Some(_)) => {
                errors.push("comply_within", "only for a directive that applies");
                None
            }
            (false, None, None) => {
                errors.push("reason", "required when the directive does not apply");
                None
            }
            (false, Some(reason), None) => errors
                .check("reason", Reason::parse(reason))
                .map(|reason| Applicability::NotApplicable { reason }),
        };
        errors.into_result(|| {
            AircraftCommand::RecordDirectiveApplicability(DirectiveApplicability {
                document_id: self.document_id,
                number: number.expect("checked"),
                revision,
                applicability: applicability.expect("checked"),
            })
        })
    }
}

/// Record whether a directive applies
///
/// From an inbox document classified as an airworthiness directive and linked to the aircraft.
/// A new assessment (a new revision, say) replaces the current one and compliance starts afresh;
/// repeating the current one changes nothing.
#[utoipa::path(
    security(("bearer" = ["engineer", "admin"])),
    params(("id" = Uuid, Path), IfMatch, IdempotencyKey),
    request_body = RecordApplicabilityRequest,
    responses(Denied, TooMany, Applied, BodyProblems, Missing, Refused, Stale, Failures)
)]
#[post("/api/v1/aircraft/{id}/directives")]
async fn record_applicability(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    meta: RequestMeta,
    body: ValidJson<RecordApplicabilityRequest>,
) -> Result<HttpResponse, ApiError> {
    let command = body.value.to_command()?;
    run_on(&state.write.aircraft, &req, &path, "aircraft", meta, &body.raw, command).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordComplianceRequest {
    /// A directive recorded as applicable to this aircraft.
    pub number: String,
    pub method: ComplianceMethod,
    /// Not after tomorrow, nor before the last recorded compliance.
    pub done_on: NaiveDate,
    /// The aircraft's total flight hours when it was done (decimal hours); not above the
    /// current total.
    #[schema(minimum = 0, maximum = 1000000)]
    pub hours_at: f64,
    /// The aircraft's total landing cycles when it was done; not above the current total.
    pub cycles_at: u64,
    /// Who did the work (name, licence).
    pub performed_by: String,
    pub work_order: String,
    /// Repeat interval of a recurring directive; absent: complied once and for all. Not with a
    /// terminating action.
    pub interval: Option<IntervalBody>,
}

impl RecordComplianceRequest {
    fn to_command(&self) -> Result<AircraftCommand, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let number = errors.check("number", DirectiveNumber::parse(&self.number));
        let block_minutes_at = errors.check("hours_at", minutes_from_hours(self.hours_at));
        let performed_by = errors.check("performed_by", Name::parse(&self.performed_by));
        let work_order = errors.check("work_order", WorkOrderRef::parse(&self.work_order));
        let interval = self.interval.and_then(|i| i.check("interval", &mut errors));
        errors.into_result(|| {
            AircraftCommand::RecordDirectiveCompliance(DirectiveCompliance {
                number: number.expect("checked"),
                method: self.method,
                done_on: self.done_on,
                block_minutes_at: block_minutes_at.expect("checked"),
                cycles_at: self.cycles_at,
                performed_by: performed_by.expect("checked"),
                work_order: work_order.expect("checked"),
                interval,
            })
        })
    }
}

/// Record compliance with a directive
///
/// A recurring directive falls due again `interval` after the date, hours and cycles it was done
/// at (whichever comes first); a terminating action, or a compliance without interval, closes it.
#[utoipa::path(
    security(("bearer" = ["engineer", "admin"])),
    params(("id" = Uuid, Path), IfMatch, IdempotencyKey),
    request_body = RecordComplianceRequest,
    responses(Denied, TooMany, Applied, BodyProblems, Missing, Refused, Stale, Failures)
)]
#[post("/api/v1/aircraft/{id}/directives/compliance")]
async fn record_compliance(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    meta: RequestMeta,
    body: ValidJson<RecordComplianceRequest>,
) -> Result<HttpResponse, ApiError> {
    let command = body.value.to_command()?;
    run_on(&state.write.aircraft, &req, &path, "aircraft", meta, &body.raw, command).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReadQuery {
    pub min_position: Option<i64>,
    /// The directives as they stood at this instant (RFC 3339), what was left judged on that
    /// date from the totals then — folded from the log.
    pub as_of: Option<DateTime<Utc>>,
}

/// An aircraft's directives (AD status)
///
/// With `Accept: text/csv`, the same rows as CSV for an audit.
#[utoipa::path(
    security(("bearer" = ["viewer", "engineer", "auditor", "admin"])),
    params(("id" = Uuid, Path), ReadQuery),
    responses(Denied, (status = 200, description = "Every directive recorded for the aircraft, by number",
        content((Items<DirectiveView> = "application/json"), (String = "text/csv"))), Missing, Failures))]
#[get("/api/v1/aircraft/{id}/directives")]
async fn list_for_aircraft(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "aircraft")?;
    let params: ReadQuery = query(&req)?;
    await_position(&state, &req, params.min_position).await?;
    let missing = || ApiError::NotFound(format!("no aircraft with id {id}"));
    let today = aircraft::today();
    let plane = aircraft::get(&state.read.pool, id, today).await?.ok_or_else(missing)?;
    let (items, day) = match past_instant(params.as_of)? {
        None => (directives::for_aircraft(&state.read.pool, &plane.id, today).await?, today),
        Some(instant) => {
            (as_of::directives(&state.pool, instant, id).await?.ok_or_else(missing)?, instant.date_naive())
        }
    };
    if accepts_csv(&req) {
        let filename = format!("{}-directives-{day}.csv", plane.registration_number);
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((header::CONTENT_DISPOSITION, super::reads::content_disposition(&filename)))
            .body(to_csv(&items)));
    }
    Ok(HttpResponse::Ok().json(Items { items }))
}

/// The AD status as CSV (RFC 4180), one row per directive, remaining values as of today.
fn to_csv(items: &[DirectiveView]) -> String {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let show = |v: Option<String>| v.unwrap_or_default();
    let mut out = String::from(
        "registration_number,number,revision,applicable,not_applicable_reason,status,method,done_on,hours_at,\
         cycles_at,performed_by,work_order,interval_days,interval_hours,interval_cycles,next_due_on,next_due_hours,\
         next_due_cycles,remaining_days,remaining_hours,remaining_cycles,due_state,document_id\r\n",
    );
    for d in items {
        let fields = [
            d.registration_number.clone(),
            d.number.clone(),
            text(&d.revision),
            d.applicable.to_string(),
            text(&d.not_applicable_reason),
            d.status.clone(),
            text(&d.method),
            show(d.done_on.map(|v| v.to_string())),
            show(d.hours_at.map(|v| v.to_string())),
            show(d.cycles_at.map(|v| v.to_string())),
            text(&d.performed_by),
            text(&d.work_order),
            show(d.interval_days.map(|v| v.to_string())),
            show(d.interval_hours.map(|v| v.to_string())),
            show(d.interval_cycles.map(|v| v.to_string())),
            show(d.next_due_on.map(|v| v.to_string())),
            show(d.next_due_hours.map(|v| v.to_string())),
            show(d.next_due_cycles.map(|v| v.to_string())),
            show(d.remaining_days.map(|v| v.to_string())),
            show(d.remaining_hours.map(|v| v.to_string())),
            show(d.remaining_cycles.map(|v| v.to_string())),
            text(&d.due_state),
            d.document_id.clone(),
        ];
        out.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

/// The audit log's RFC 4180 quoting, after neutralising a cell a spreadsheet would run as a
/// formula (prefixed with `'`): this file is opened by people, not re-imported.
fn csv_field(value: &str) -> String {
    if value.starts_with(['=', '+', '@']) || (value.starts_with('-') && value.parse::<f64>().is_err()) {
        klg_audit::log::csv_field(&format!("'{value}"))
    } else {
        klg_audit::log::csv_field(value)
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DueQuery {
    /// List directives due within this many days (overdue ones always).
    #[param(minimum = 0, maximum = 36500)]
    pub within_days: Option<i64>,
    /// …or within this many flight hours.
    #[param(minimum = 0, maximum = 36500)]
    pub within_hours: Option<i64>,
    /// …or within this many landing cycles. With no window at all: 30 days, 50 hours, 50 cycles.
    #[param(minimum = 0, maximum = 36500)]
    pub within_cycles: Option<i64>,
    pub min_position: Option<i64>,
}

/// Directives falling due across the fleet
///
/// Open and recurring directives of aircraft in service whose next due falls within the window
/// (whichever limit comes first), overdue ones first.
#[utoipa::path(
    security(("bearer" = ["viewer", "engineer", "auditor", "admin"])),
    params(DueQuery),
    responses(Denied, (status = 200, body = Items<DirectiveView>), Failures))]
#[get("/api/v1/directives/due")]
async fn list_due(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let params: DueQuery = query(&req)?;
    let window = DueWindow::new(params.within_days, params.within_hours, params.within_cycles)?;
    await_position(&state, &req, params.min_position).await?;
    let items = directives::due(&state.read.pool, window, aircraft::today()).await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}
