//! Aircraft commands: register, update details, change status, release to service, issue
//! certificates, log flights, decommission.

use actix_web::{delete, post, put, web, HttpRequest, HttpResponse};
use chrono::{Datelike, NaiveDate, Utc};
use klg_domain::aircraft::release::{Release, Signer};
use klg_domain::aircraft::{AircraftCommand, AircraftDetails, AircraftStatus, RegisterAircraft};
use klg_domain::values::*;
use klg_domain::{Guarded, ValidationErrors};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::openapi::{
    Applied, BodyProblems, Created, Failures, IdempotencyKey, IfMatch, Missing, Refused, Stale,
};
use super::openapi::{Denied, TooMany};
use super::{command_response, reads, run_on};
use crate::extract::{RequestMeta, ValidJson};
use crate::problem::ApiError;
use crate::startup::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(register)
        .service(reads::list_aircraft)
        .service(reads::get_aircraft)
        .service(update_details)
        .service(decommission)
        .service(reads::aircraft_history)
        .service(change_status)
        .service(release_to_service)
        .service(issue_certificate)
        .service(log_flight);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterAircraftRequest {
    /// National prefix and mark, e.g. `RA-89001`; stored upper-case.
    pub registration_number: String,
    /// ICAO type designator, e.g. `SU95`.
    pub aircraft_type: String,
    pub model: String,
    /// Manufacturer serial number (MSN).
    pub serial_number: String,
    pub operator: String,
    pub year_of_manufacture: Option<i32>,
}

impl RegisterAircraftRequest {
    fn into_command(self) -> Result<AircraftCommand, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let registration_number =
            errors.check("registration_number", RegistrationNumber::parse(&self.registration_number));
        let aircraft_type = errors.check("aircraft_type", AircraftTypeCode::parse(&self.aircraft_type));
        let model = errors.check("model", Name::parse(&self.model));
        let serial_number = errors.check("serial_number", SerialNumber::parse(&self.serial_number));
        let operator = errors.check("operator", Name::parse(&self.operator));
        let year = self.year_of_manufacture.map(|y| parse_year_of_manufacture(y, Utc::now().year()));
        let year_of_manufacture = errors.check("year_of_manufacture", year.transpose());
        errors.into_result(|| {
            AircraftCommand::Register(RegisterAircraft {
                registration_number: registration_number.expect("checked"),
                aircraft_type: aircraft_type.expect("checked"),
                model: model.expect("checked"),
                serial_number: serial_number.expect("checked"),
                operator: operator.expect("checked"),
                year_of_manufacture: year_of_manufacture.flatten(),
            })
        })
    }
}

/// Register an aircraft
#[utoipa::path(
    security(("bearer" = ["engineer", "admin"])),
    params(IdempotencyKey),
    request_body = RegisterAircraftRequest,
    responses(Denied, TooMany, Created, BodyProblems, Refused, Failures)
)]
#[post("/api/v1/aircraft")]
async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    meta: RequestMeta,
    body: ValidJson<RegisterAircraftRequest>,
) -> Result<HttpResponse, ApiError> {
    let meta = meta.for_request(&req, &body.raw);
    let command = body.value.into_command()?;
    let outcome = state.write.aircraft.execute(Uuid::new_v4(), Guarded::new(command, None), &meta).await?;
    let location = format!("/api/v1/aircraft/{}", outcome.aggregate_id);
    Ok(command_response(outcome, Some(location)))
}

/// Details to change; absent fields stay as they are, an empty `base_airport` or `notes`
/// clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAircraftRequest {
    pub operator: Option<String>,
    pub model: Option<String>,
    /// ICAO airport code, e.g. `UUEE`; `""` clears it.
    pub base_airport: Option<String>,
    /// `""` clears the notes.
    pub notes: Option<String>,
}

impl UpdateAircraftRequest {
    fn into_command(self) -> Result<AircraftCommand, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let operator = self.operator.and_then(|v| errors.check("operator", Name::parse(&v)));
        let model = self.model.and_then(|v| errors.check("model", Name::parse(&v)));
        let base_airport =
            self.base_airport.and_then(|v| clearable(&mut errors, "base_airport", &v, AirportCode::parse));
        let notes = self.notes.and_then(|v| clearable(&mut errors, "notes", &v, Note::parse));
        errors.into_result(|| {
            AircraftCommand::UpdateDetails(AircraftDetails { operator, model, base_airport, notes })
        })
    }
}

/// `Some(None)` for an empty string (clear), `Some(Some(v))` for a valid value.
fn clearable<T>(
    errors: &mut ValidationErrors,
    field: &str,
    value: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Option<Option<T>> {
    if value.trim().is_empty() {
        return Some(None);
    }
    errors.check(field, parse(value)).map(Some)
}

/// Update aircraft details
#[utoipa::path(
    security(("bearer" = ["engineer", "admin"])),
    params(("id" = Uuid, Path), IfMatch, IdempotencyKey),
    request_body = UpdateAircraftRequest,
    responses(Denied, TooMany, Applied, BodyProblems, Missing, Refused, Stale, Failures)
)]
#[put("/api/v1/aircraft/{id}")]
async fn update_details(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    meta: RequestMeta,
    body: ValidJson<UpdateAircraftRequest>,
) -> Result<HttpResponse, ApiError> {
    let command = body.value.into_command()?;
    run_on(&state.write.aircraft, &req, &path, "aircraft", meta, &body.raw, command).await
}

/// Statuses a `ChangeStatus` command may set; decommissioning is `DELETE`.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SettableStatus {
    Active,
    InMaintenance,
    Grounded,
    Stored,
}

impl From<SettableStatus> for AircraftStatus {
    fn from(s: SettableStatus) -> Self {
        match s {
            SettableStatus::Active => Self::Active,
            SettableStatus::InMaintenance => Self::InMaintenance,
            SettableStatus::Grounded => Self::Grounded,
            SettableStatus::Stored => Self::Stored,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeStatusRequest {
    pub status: SettableStatus,
    pub reason: String,
}

impl ChangeStatusRequest {
    pub fn to_command(&self) -> Result<AircraftCommand, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let reason = errors.check("reason", Reason::parse(&self.reason));
        errors.into_result(|| AircraftCommand::ChangeStatus {
            status: self.status.into(),
            reason: reason.expect("checked"),
        })
    }
}

/// Change operational status
#[utoipa::path(
    security(("bearer" = ["engineer", "admin"])),
    params(("id" = Uuid, Path), IfMatch, IdempotencyKey),
    request_body = ChangeStatusRequest,
    responses(Denied, TooMany, Applied, BodyProblems, Missing, Refused, Stale, Failures)
)]
#[post("/api/v1/aircraft/{id}/status")]
async fn change_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    meta: RequestMeta,
    body: ValidJson<ChangeStatusRequest>,
) -> Result<HttpResponse, ApiError> {
    let command = body.value.to_command()?;
    run_on(&state.write.aircraft, &req, &path, "aircraft", meta, &body.raw, command).await
}

/// A certificate of release to service.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseToServiceRequest {
    /// Name of the certifying staff.
    pub certifying_staff: String,
    /// Their licence number, e.g. `RU.66.0042`.
    pub licence: String,
    /// The work order the maintenance was done under.
    pub work_order: String,
    /// The certifying statement.
    pub statement: String,
}

impl ReleaseToServiceRequest {
    fn to_command(&self, signer: Signer) -> Result<AircraftCommand, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let certifying_staff = errors.check("certifying_staff", Name::parse(&self.certifying_staff));
        let licence = errors.check("licence", LicenceNumber::parse(&self.licence));
        let work_order = errors.check("work_order", WorkOrderRef::parse(&self.work_order));
        let statement = errors.check("statement", Note::parse(&self.statement));
        errors.into_result(|| {
            AircraftCommand::ReleaseToService(Release {
                certifying_staff: certifying_staff.expect("checked"),
                licence: licence.expect("checked"),
                work_order: work_order.expect("checked"),
                statement: statement.expect("checked"),
                signer,
            })
        })
    }
}

/// Release to service
///
/// Returns an aircraft in maintenance to service (status `active`) with a certificate of release
/// to service, signed by the holder of the calling token: the event binds that signer to a
/// SHA-256 of the record as released. Refused while a directive is overdue.
#[utoipa::path(
    security(("bearer" = ["engineer", "admin"])),
    params(("id" = Uuid, Path), IfMatch, IdempotencyKey),
    request_body = ReleaseToServiceRequest,
    responses(Denied, TooMany, Applied, BodyProblems, Missing, Refused, Stale, Failures)
)]
#[post("/api/v1/aircraft/{id}/release")]
async fn release_to_service(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    meta: RequestMeta,
    body: ValidJson<ReleaseToServiceRequest>,
) -> Result<HttpResponse, ApiError> {
    let token_id = meta.0.actor_id.clone().ok_or_else(|| {
        ApiError::Unauthorized("a release to service is signed with an API token".to_owned())
    })?;
    let command = body.value.to_command(Signer { token_id, name: meta.0.actor.clone() })?;
    run_on(&state.write.aircraft, &req, &path, "aircraft", meta, &body.raw, command).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueCertificateRequest {
    pub number: String,
    pub issued_on: NaiveDate,
    /// Must be after `issued_on`.
    pub valid_until: NaiveDate,
}

/// Issue an airworthiness certificate
#[utoipa::path(
    security(("bearer" = ["engineer", "admin"])),
    params(("id" = Uuid, Path), IfMatch, IdempotencyKey),
    request_body = IssueCertificateRequest,
    responses(Denied, TooMany, Applied, BodyProblems, Missing, Refused, Stale, Failures)
)]
#[post("/api/v1/aircraft/{id}/certificates")]
async fn issue_certificate(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    meta: RequestMeta,
    body: ValidJson<IssueCertificateRequest>,
) -> Result<HttpResponse, ApiError> {
    let IssueCertificateRequest { number, issued_on, valid_until } = &body.value;
    let mut errors = ValidationErrors::default();
    let number = errors.check("number", CertificateNumber::parse(number));
    errors.check("valid_until", check_certificate_period(*issued_on, *valid_until));
    let command = errors.into_result(|| AircraftCommand::IssueCertificate {
        number: number.expect("checked"),
        issued_on: *issued_on,
        valid_until: *valid_until,
    })?;
    run_on(&state.write.aircraft, &req, &path, "aircraft", meta, &body.raw, command).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogFlightRequest {
    /// Day of the flight; not in the future.
    pub flight_date: NaiveDate,
    /// Block time in hours: more than 0, at most 24; kept to the minute.
    #[schema(exclusive_minimum = 0, maximum = 24)]
    pub block_hours: f64,
    /// Landing cycles, at least 1.
    #[schema(minimum = 1)]
    pub cycles: u32,
    /// Departure aerodrome (ICAO, e.g. `UUEE`); with `arrival`, or neither.
    pub departure: Option<String>,
    /// Arrival aerodrome (ICAO); with `departure`, or neither.
    pub arrival: Option<String>,
}

impl LogFlightRequest {
    pub fn to_command(&self) -> Result<AircraftCommand, ValidationErrors> {
        // The date and cycle rules are the aggregate's (any caller of the write side meets them).
        let mut errors = ValidationErrors::default();
        let block_time = errors.check("block_hours", BlockMinutes::from_hours(self.block_hours));
        let departure =
            self.departure.as_deref().and_then(|c| errors.check("departure", AirportCode::parse(c)));
        let arrival = self.arrival.as_deref().and_then(|c| errors.check("arrival", AirportCode::parse(c)));
        let route = if errors.is_empty() {
            Route::from_ends(departure, arrival).unwrap_or_else(|(field, message)| {
                errors.push(field, message);
                None
            })
        } else {
            None
        };
        errors.into_result(|| AircraftCommand::LogFlight {
            flight_date: self.flight_date,
            block_time: block_time.expect("checked"),
            cycles: self.cycles,
            route,
        })
    }
}

/// Log a flight
#[utoipa::path(
    security(("bearer" = ["engineer", "admin"])),
    params(("id" = Uuid, Path), IfMatch, IdempotencyKey),
    request_body = LogFlightRequest,
    responses(Denied, TooMany, Applied, BodyProblems, Missing, Refused, Stale, Failures)
)]
#[post("/api/v1/aircraft/{id}/flights")]
async fn log_flight(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    meta: RequestMeta,
    body: ValidJson<LogFlightRequest>,
) -> Result<HttpResponse, ApiError> {
    let command = body.value.to_command()?;
    run_on(&state.write.aircraft, &req, &path, "aircraft", meta, &body.raw, command).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DecommissionQuery {
    /// Why the aircraft leaves service.
    pub reason: Option<String>,
}

/// Decommission an aircraft
///
/// The record stays; the registration number is freed.
#[utoipa::path(
    security(("bearer" = ["engineer", "admin"])),
    params(("id" = Uuid, Path), DecommissionQuery, IfMatch, IdempotencyKey),
    responses(Denied, TooMany, Applied, Missing, Refused, Stale, Failures)
)]
#[delete("/api/v1/aircraft/{id}")]
async fn decommission(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    meta: RequestMeta,
) -> Result<HttpResponse, ApiError> {
    let query = web::Query::<DecommissionQuery>::from_query(req.query_string())
        .map_err(|e| ApiError::invalid("query", e.to_string()))?;
    let reason = match &query.reason {
        Some(r) => Some(Reason::parse(r).map_err(|m| ApiError::invalid("reason", m))?),
        None => None,
    };
    let body = req.query_string().as_bytes().to_vec();
    run_on(
        &state.write.aircraft,
        &req,
        &path,
        "aircraft",
        meta,
        &body,
        AircraftCommand::Decommission { reason },
    )
    .await
}
