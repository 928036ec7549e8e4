//! `POST /api/v1/streaming/events`: integration events from outside systems (a flight-data
//! feed, a document gateway, a maintenance system). Each known type becomes the matching
//! command, so it obeys the aggregate's rules and lands in the event store like any other
//! write; the broker is never written directly. The event's `id` is its idempotency key.

use actix_web::{post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use klg_commands::IdempotencyClaim;
use klg_domain::aircraft::{AircraftCommand, RegistrationRegistry};
use klg_domain::inbox::{InboxCommand, ReceiveFile};
use klg_domain::values::{ContentType, FileName, FileSource, Sha256Hex};
use klg_domain::{Guarded, ValidationErrors};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::aircraft::{ChangeStatusRequest, LogFlightRequest, SettableStatus};
use super::command_response;
use super::openapi::{Applied, BodyProblems, Created, Failures, Refused};
use super::openapi::{Denied, TooMany};
use crate::extract::{field_of, strip_position, RequestMeta, ValidJson};
use crate::problem::ApiError;
use crate::startup::AppState;

/// Integration event types this endpoint understands.
pub const KNOWN_TYPES: [&str; 3] = ["flight.completed", "aircraft.status.changed", "document.received"];

/// An integration event: the CloudEvents attributes KLG uses, plus `data`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationEvent {
    /// Unique per `source`: a repeat of the same event is answered, not applied again.
    pub id: String,
    /// flight.completed, aircraft.status.changed or document.received.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The sending system, e.g. `acars-gateway`.
    pub source: String,
    pub specversion: Option<String>,
    pub time: Option<DateTime<Utc>>,
    pub subject: Option<String>,
    pub datacontenttype: Option<String>,
    /// The event's payload: `FlightCompleted`, `StatusChanged` or `DocumentReceived` by `type`.
    pub data: serde_json::Value,
}

/// `flight.completed`: a flight to add to an aircraft's log.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlightCompleted {
    /// The aircraft, by id…
    pub aircraft_id: Option<Uuid>,
    /// …or by registration number.
    pub registration_number: Option<String>,
    pub flight_date: NaiveDate,
    pub block_hours: f64,
    pub cycles: u32,
    /// Departure aerodrome (ICAO); with `arrival`, or neither.
    pub departure: Option<String>,
    /// Arrival aerodrome (ICAO).
    pub arrival: Option<String>,
}

/// `aircraft.status.changed`: e.g. a maintenance system sending an aircraft into a check.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChanged {
    pub aircraft_id: Option<Uuid>,
    pub registration_number: Option<String>,
    pub status: SettableStatus,
    pub reason: String,
}

/// `document.received`: a small document delivered inline (larger ones: multipart upload).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentReceived {
    pub filename: String,
    pub content_type: Option<String>,
    /// The file, base64 (standard alphabet).
    pub content_base64: String,
    /// Expected SHA-256 of the decoded content, verified when given.
    pub sha256: Option<String>,
}

/// Receive an integration event
///
/// `flight.completed`, `aircraft.status.changed` or `document.received`; `id` makes it
/// repeat-safe. A received document answers 201, the other types 200.
#[utoipa::path(
    security(("bearer" = ["integration", "admin"])),
    request_body = IntegrationEvent,
    responses(Denied, TooMany, Applied, Created, BodyProblems, Refused, Failures)
)]
#[post("/api/v1/streaming/events")]
pub async fn receive(
    state: web::Data<AppState>,
    req: HttpRequest,
    meta: RequestMeta,
    body: ValidJson<IntegrationEvent>,
) -> Result<HttpResponse, ApiError> {
    let event = &body.value;
    for (field, value) in [("id", &event.id), ("source", &event.source)] {
        if value.is_empty() || value.len() > 255 || !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ApiError::invalid(field, "must be 1-255 visible ASCII characters"));
        }
    }
    let mut meta = meta;
    meta.0.idempotency = Some(IdempotencyClaim {
        key: format!("event:{}:{}", event.source, event.id),
        request_hash: String::new(),
    });
    meta.0.causation_id = event.id.clone();
    if req.headers().get("X-Correlation-Id").is_none() {
        meta.0.correlation_id = event.id.clone();
    }
    let meta = meta.for_request(&req, &body.raw);
    match event.event_type.as_str() {
        "flight.completed" => {
            let data: FlightCompleted = parse_data(&event.data)?;
            let aircraft = resolve(&state, data.aircraft_id, data.registration_number.as_deref()).await?;
            let flight = LogFlightRequest {
                flight_date: data.flight_date,
                block_hours: data.block_hours,
                cycles: data.cycles,
                departure: data.departure,
                arrival: data.arrival,
            };
            let command = flight.to_command().map_err(in_data)?;
            run_aircraft(&state, aircraft, command, &meta).await
        }
        "aircraft.status.changed" => {
            let data: StatusChanged = parse_data(&event.data)?;
            let aircraft = resolve(&state, data.aircraft_id, data.registration_number.as_deref()).await?;
            let change = ChangeStatusRequest { status: data.status, reason: data.reason };
            let command = change.to_command().map_err(in_data)?;
            run_aircraft(&state, aircraft, command, &meta).await
        }
        "document.received" => {
            let data: DocumentReceived = parse_data(&event.data)?;
            receive_document(&state, data, &meta).await
        }
        other => Err(ApiError::invalid(
            "type",
            format!("unknown event type {other:?}; known: {}", KNOWN_TYPES.join(", ")),
        )),
    }
}

async fn run_aircraft(
    state: &AppState,
    aircraft: Uuid,
    command: AircraftCommand,
    meta: &klg_commands::CommandMetadata,
) -> Result<HttpResponse, ApiError> {
    let outcome = state.write.aircraft.execute(aircraft, Guarded::new(command, None), meta).await?;
    Ok(command_response(outcome, None))
}

async fn receive_document(
    state: &AppState,
    data: DocumentReceived,
    meta: &klg_commands::CommandMetadata,
) -> Result<HttpResponse, ApiError> {
    use base64::Engine;
    let mut errors = ValidationErrors::default();
    let content_type = match &data.content_type {
        Some(t) => errors.check("content_type", ContentType::parse(t)),
        None => Some(ContentType::octet_stream()),
    };
    let expected = data.sha256.as_deref().and_then(|s| errors.check("sha256", Sha256Hex::parse(s)));
    let bytes = errors.check(
        "content_base64",
        base64::engine::general_purpose::STANDARD
            .decode(data.content_base64.trim())
            .map_err(|e| e.to_string()),
    );
    if !errors.is_empty() {
        return Err(in_data(errors));
    }
    let (content_type, bytes) = (content_type.expect("checked"), bytes.expect("checked"));
    let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes)]);
    let blob = state.blobs.put_stream(chunks, state.max_upload_bytes, expected.as_ref()).await.map_err(
        |e| match e {
            klg_commands::blobs::BlobError::TooLarge { limit } => {
                ApiError::PayloadTooLarge(format!("at most {limit} bytes"))
            }
            klg_commands::blobs::BlobError::ChecksumMismatch { .. } => {
                ApiError::invalid("data.sha256", e.to_string())
            }
            other => ApiError::BlobStoreUnavailable(other.to_string()),
        },
    )?;
    let command = InboxCommand::Receive(ReceiveFile {
        filename: FileName::sanitize(&data.filename),
        content_type,
        size_bytes: blob.size_bytes,
        sha256: blob.sha256,
        source: FileSource::Api,
    });
    let outcome = state.write.inbox.execute(Uuid::new_v4(), Guarded::new(command, None), meta).await?;
    let location = format!("/api/inbox/files/{}", outcome.aggregate_id);
    Ok(command_response(outcome, Some(location)))
}

/// The aircraft named by id or by registration number (exactly one of them).
async fn resolve(state: &AppState, id: Option<Uuid>, registration: Option<&str>) -> Result<Uuid, ApiError> {
    match (id, registration) {
        (Some(id), None) => Ok(id),
        (None, Some(registration)) => {
            let number = klg_domain::values::RegistrationNumber::parse(registration)
                .map_err(|m| ApiError::invalid("data.registration_number", m))?;
            // The registry the Aircraft aggregate itself consults.
            let registry = klg_commands::lookups::PgRegistrationRegistry { pool: state.pool.clone() };
            let holder = registry.holder_of(&number).await.map_err(ApiError::Unavailable)?;
            holder.ok_or_else(|| {
                ApiError::invalid(
                    "data.registration_number",
                    format!("no aircraft in service is registered as {number}"),
                )
            })
        }
        _ => Err(ApiError::invalid(
            "data.aircraft_id",
            "give exactly one of aircraft_id and registration_number",
        )),
    }
}

fn parse_data<T: DeserializeOwned>(data: &serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(data).map_err(|e| {
        let message = strip_position(&e.inner().to_string());
        let field = match field_of(&e.path().to_string(), &message).as_str() {
            "body" => "data".to_owned(),
            field => format!("data.{field}"),
        };
        ApiError::invalid(&field, message)
    })
}

/// Field errors of `data`, named as such.
fn in_data(errors: ValidationErrors) -> ApiError {
    ApiError::Invalid(ValidationErrors(
        errors
            .0
            .into_iter()
            .map(|e| klg_domain::FieldError::new(format!("data.{}", e.field), e.message))
            .collect(),
    ))
}
