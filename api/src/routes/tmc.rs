//! TMC (ТМЦ) parts and material requests (`/api/tmc`, beside the inbox): request — directly or
//! from an inbox document classified `parts_request` — approve, order, receive, install (which
//! also records the part on the aircraft), cancel or reject; list, filter, search, read one.
//! The state machine is the `PartsRequest` aggregate's.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use klg_commands::Installation;
use klg_domain::aircraft::DocumentDirectory;
use klg_domain::tmc::{NewPartsRequest, PartsCommand, PartsRequestStatus, RequestReason};
use klg_domain::values::{DirectiveNumber, Name, Note, PartNumber, Reason, SerialNumber, WorkOrderRef};
use klg_domain::{Guarded, ValidationErrors};
use klg_projections::queries::tmc::{self, PartsFilter, PartsRequestView};
use klg_projections::queries::Page;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::openapi::{
    Applied, BodyProblems, Created, Denied, Failures, IdempotencyKey, IfMatch, Missing, Refused, Stale,
    TooMany,
};
use super::reads::{await_position, known, with_etag};
use super::{command_response, run_on};
use crate::extract::{if_match, parse_id, query, RequestMeta, ValidJson};
use crate::problem::ApiError;
use crate::startup::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(request)
        .service(request_from_document)
        .service(list)
        .service(get_one)
        .service(approve)
        .service(order)
        .service(receive)
        .service(install)
        .service(cancel)
        .service(reject);
}

/// Why the part is needed.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReasonKind {
    Directive,
    WorkOrder,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    pub kind: ReasonKind,
    /// The directive's number or the work order's reference.
    pub reference: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartsRequestBody {
    /// Manufacturer's part number (P/N).
    pub part_number: String,
    pub description: String,
    #[schema(minimum = 1, maximum = 10000)]
    pub quantity: u32,
    /// The aircraft the part is for (in service). From a document: defaults to the document's.
    pub aircraft_id: Option<Uuid>,
    pub reason: ReasonBody,
}

impl PartsRequestBody {
    fn to_command(
        &self,
        aircraft_id: Option<Uuid>,
        source_document: Option<Uuid>,
    ) -> Result<PartsCommand, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let part_number = errors.check("part_number", PartNumber::parse(&self.part_number));
        let description = errors.check("description", Name::parse(&self.description));
        let reason = match self.reason.kind {
            ReasonKind::Directive => errors
                .check("reason.reference", DirectiveNumber::parse(&self.reason.reference))
                .map(RequestReason::Directive),
            ReasonKind::WorkOrder => errors
                .check("reason.reference", WorkOrderRef::parse(&self.reason.reference))
                .map(RequestReason::WorkOrder),
        };
        if aircraft_id.is_none() {
            errors.push("aircraft_id", "required (the document is linked to no aircraft)");
        }
        errors.into_result(|| {
            PartsCommand::Request(NewPartsRequest {
                part_number: part_number.expect("checked"),
                description: description.expect("checked"),
                quantity: self.quantity,
                aircraft_id: aircraft_id.expect("checked"),
                reason: reason.expect("checked"),
                source_document,
            })
        })
    }
}

async fn create(
    state: &AppState,
    req: &HttpRequest,
    meta: RequestMeta,
    raw: &[u8],
    command: PartsCommand,
) -> Result<HttpResponse, ApiError> {
    let meta = meta.for_request(req, raw);
    let outcome = state.write.parts.execute(Uuid::new_v4(), Guarded::new(command, None), &meta).await?;
    let location = format!("/api/tmc/{}", outcome.aggregate_id);
    Ok(command_response(outcome, Some(location)))
}

/// Request a part
#[utoipa::path(
    security(("bearer" = ["engineer", "admin"])),
    params(IdempotencyKey),
    request_body = PartsRequestBody,
    responses(Denied, TooMany, Created, BodyProblems, Refused, Failures)
)]
#[post("/api/tmc")]
async fn request(
    state: web::Data<AppState>,
    req: HttpRequest,
    meta: RequestMeta,
    body: ValidJson<PartsRequestBody>,
) -> Result<HttpResponse, ApiError> {
    let command = body.value.to_command(body.value.aircraft_id, None)?;
    create(&state, &req, meta, &body.raw, command).await
}

/// Request a part from an inbox document
///
/// The document must be classified `parts_request`; the aircraft defaults to the one the
/// document is linked to.
#[utoipa::path(
    security(("bearer" = ["engineer", "admin"])),
    params(("id" = Uuid, Path, description = "The inbox document"), IdempotencyKey),
    request_body = PartsRequestBody,
    responses(Denied, TooMany, Created, BodyProblems, Missing, Refused, Failures)
)]
#[post("/api/tmc/from-document/{id}")]
async fn request_from_document(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    meta: RequestMeta,
    body: ValidJson<PartsRequestBody>,
) -> Result<HttpResponse, ApiError> {
    let document = parse_id(&path, "document")?;
    let directory = klg_commands::lookups::PgDocumentDirectory { pool: state.pool.clone() };
    let facts = directory.document(document).await.map_err(ApiError::Unavailable)?;
    let facts = facts.ok_or_else(|| ApiError::NotFound(format!("no document with id {document}")))?;
    let aircraft_id = body.value.aircraft_id.or(facts.aircraft_id);
    let command = body.value.to_command(aircraft_id, Some(document))?;
    create(&state, &req, meta, &body.raw, command).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PartsListQuery {
    #[param(value_type = Option<PartsRequestStatus>)]
    pub status: Option<String>,
    pub aircraft_id: Option<Uuid>,
    /// Words each found in the part number, description, reason, serial number, supplier,
    /// order or the aircraft's registration.
    pub q: Option<String>,
    /// Default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    pub min_position: Option<i64>,
}

/// List parts requests, newest first
#[utoipa::path(
    security(("bearer" = ["viewer", "engineer", "auditor", "admin"])),
    params(PartsListQuery), responses(Denied, (status = 200, body = Page<PartsRequestView>), Failures))]
#[get("/api/tmc")]
async fn list(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let params: PartsListQuery = query(&req)?;
    let status = known::<PartsRequestStatus>("status", params.status)?;
    await_position(&state, &req, params.min_position).await?;
    let filter = PartsFilter { status, aircraft_id: params.aircraft_id, q: params.q };
    let page = tmc::list(&state.read.pool, &filter, params.limit, params.cursor.as_deref()).await?;
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OneQuery {
    pub min_position: Option<i64>,
}

/// One parts request (`ETag` = version)
#[utoipa::path(
    security(("bearer" = ["viewer", "engineer", "auditor", "admin"])),
    params(("id" = Uuid, Path), OneQuery), responses(Denied, (status = 200, body = PartsRequestView), Missing, Failures))]
#[get("/api/tmc/{id}")]
async fn get_one(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "parts request")?;
    let params: OneQuery = query(&req)?;
    await_position(&state, &req, params.min_position).await?;
    let view = tmc::get(&state.read.pool, id).await?;
    let view = view.ok_or_else(|| ApiError::NotFound(format!("no parts request with id {id}")))?;
    Ok(with_etag(&req, view.version, &view))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    pub note: Option<String>,
}

impl NoteBody {
    fn note(&self) -> Result<Option<Note>, ApiError> {
        self.note.as_deref().map(Note::parse).transpose().map_err(|m| ApiError::invalid("note", m))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderBody {
    pub supplier: String,
    /// The purchase order's reference.
    pub order_ref: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstallBody {
    /// Serial number of the part fitted.
    pub serial_number: String,
    /// Not after tomorrow.
    pub installed_on: NaiveDate,
    pub work_order: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonOnlyBody {
    pub reason: String,
}

fn reason_of(body: &ReasonOnlyBody) -> Result<Reason, ApiError> {
    Reason::parse(&body.reason).map_err(|m| ApiError::invalid("reason", m))
}

/// Approve a parts request
#[utoipa::path(
    security(("bearer" = ["engineer", "admin"])),
    params(("id" = Uuid, Path), IfMatch, IdempotencyKey), request_body = NoteBody,
    responses(Denied, TooMany, Applied, BodyProblems, Missing, Refused, Stale, Failures))]
#[post("/api/tmc/{id}/approve")]
async fn approve(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    meta: RequestMeta,
    body: ValidJson<NoteBody>,
) -> Result<HttpResponse, ApiError> {
    let command = PartsCommand::Approve { note: body.value.note()? };
    run_on(&state.write.parts, &req, &path, "parts request", meta, &body.raw, command).await
}

/// Record that the part was ordered
#[utoipa::path(
    security(("bearer" = ["engineer", "admin"])),
    params(("id" = Uuid, Path), IfMatch, IdempotencyKey), request_body = OrderBody,
    responses(Denied, TooMany, Applied, BodyProblems, Missing, Refused, Stale, Failures))]
#[post("/api/tmc/{id}/order")]
async fn order(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    meta: RequestMeta,
    body: ValidJson<OrderBody>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = ValidationErrors::default();
    let supplier = errors.check("supplier", Name::parse(&body.value.supplier));
    let order_ref = errors.check("order_ref", WorkOrderRef::parse(&body.value.order_ref));
    let command = errors.into_result(|| PartsCommand::Order {
        supplier: supplier.expect("checked"),
        order_ref: order_ref.expect("checked"),
    })?;
    run_on(&state.write.parts, &req, &path, "parts request", meta, &body.raw, command).await
}

/// Record that the part was received into stores
#[utoipa::path(
    security(("bearer" = ["engineer", "admin"])),
    params(("id" = Uuid, Path), IfMatch, IdempotencyKey), request_body = NoteBody,
    responses(Denied, TooMany, Applied, BodyProblems, Missing, Refused, Stale, Failures))]
#[post("/api/tmc/{id}/receive")]
async fn receive(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    meta: RequestMeta,
    body: ValidJson<NoteBody>,
) -> Result<HttpResponse, ApiError> {
    let command = PartsCommand::Receive { note: body.value.note()? };
    run_on(&state.write.parts, &req, &path, "parts request", meta, &body.raw, command).await
}

/// Record that the part was fitted
///
/// Also records the part and its serial number on the aircraft's record. Repeating the same
/// installation changes nothing (and completes the aircraft's record if it was not written).
#[utoipa::path(
    security(("bearer" = ["engineer", "admin"])),
    params(("id" = Uuid, Path), IfMatch, IdempotencyKey), request_body = InstallBody,
    responses(Denied, TooMany, Applied, BodyProblems, Missing, Refused, Stale, Failures))]
#[post("/api/tmc/{id}/install")]
async fn install(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    meta: RequestMeta,
    body: ValidJson<InstallBody>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "parts request")?;
    let mut errors = ValidationErrors::default();
    let serial_number = errors.check("serial_number", SerialNumber::parse(&body.value.serial_number));
    let work_order = errors.check("work_order", WorkOrderRef::parse(&body.value.work_order));
    let installation = errors.into_result(|| Installation {
        serial_number: serial_number.expect("checked"),
        installed_on: body.value.installed_on,
        work_order: work_order.expect("checked"),
    })?;
    let expected = if_match(req.headers())?;
    let meta = meta.for_request(&req, &body.raw);
    let outcome = state.write.install_part(id, expected, installation, &meta).await?;
    Ok(command_response(outcome, None))
}

/// Cancel a parts request (before the part is received)
#[utoipa::path(
    security(("bearer" = ["engineer", "admin"])),
    params(("id" = Uuid, Path), IfMatch, IdempotencyKey), request_body = ReasonOnlyBody,
    responses(Denied, TooMany, Applied, BodyProblems, Missing, Refused, Stale, Failures))]
#[post("/api/tmc/{id}/cancel")]
async fn cancel(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    meta: RequestMeta,
    body: ValidJson<ReasonOnlyBody>,
) -> Result<HttpResponse, ApiError> {
    let command = PartsCommand::Cancel { reason: reason_of(&body.value)? };
    run_on(&state.write.parts, &req, &path, "parts request", meta, &body.raw, command).await
}

/// Reject a parts request (before it is approved)
#[utoipa::path(
    security(("bearer" = ["engineer", "admin"])),
    params(("id" = Uuid, Path), IfMatch, IdempotencyKey), request_body = ReasonOnlyBody,
    responses(Denied, TooMany, Applied, BodyProblems, Missing, Refused, Stale, Failures))]
#[post("/api/tmc/{id}/reject")]
async fn reject(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    meta: RequestMeta,
    body: ValidJson<ReasonOnlyBody>,
) -> Result<HttpResponse, ApiError> {
    let command = PartsCommand::Reject { reason: reason_of(&body.value)? };
    run_on(&state.write.parts, &req, &path, "parts request", meta, &body.raw, command).await
}
