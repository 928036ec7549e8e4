//! Read endpoints, all served from the projections (never by loading aggregates). Each accepts
//! `min_position` (query) or `X-Min-Position` (header): the answer then reflects at least every
//! event up to that global position (read-your-writes), waiting a bounded time for the projector.

use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use klg_commands::blobs::BlobBytes;
use klg_domain::aircraft::AircraftStatus;
use klg_domain::inbox::InboxStatus;
use klg_domain::values::DocumentType;
use klg_projections::as_of;
use klg_projections::queries::aircraft::{AircraftView, HistoryEntry};
use klg_projections::queries::inbox::InboxFileView;
use klg_projections::queries::{aircraft, inbox, insights, search, Page};
use klg_projections::subscription::has_reached;
use klg_projections::PROJECTIONS;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::openapi::Denied;
use super::openapi::{Failures, Missing, Stale};
use crate::extract::{etag, parse_id, query};
use crate::problem::{ApiError, Problem};
use crate::startup::{AppState, ReadStoreKind};

/// A list answer.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// What a search found.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct SearchResults {
    pub query: String,
    pub hits: Vec<search::SearchHit>,
}

/// Longest a read waits for the projections to reach `min_position`.
pub const READ_WAIT: Duration = Duration::from_secs(5);

/// Waits until the projections reflect the event at `min_position`, if one was asked for.
pub async fn await_position(
    state: &AppState,
    req: &HttpRequest,
    min_position: Option<i64>,
) -> Result<(), ApiError> {
    let header = match crate::extract::id_header(req.headers(), "X-Min-Position")? {
        Some(v) => {
            Some(v.parse::<i64>().map_err(|_| ApiError::invalid("X-Min-Position", "must be an integer"))?)
        }
        None => None,
    };
    let Some(position) = min_position.or(header) else {
        return Ok(());
    };
    let deadline = Instant::now() + READ_WAIT;
    loop {
        let reached = match state.read.kind {
            ReadStoreKind::Embedded => has_reached(&state.pool, PROJECTIONS, position).await?,
            ReadStoreKind::RisingWave => ingested(state, position).await?,
        };
        match reached {
            Some(true) => return Ok(()),
            None => {
                return Err(ApiError::invalid(
                    "min_position",
                    format!("no event is stored at position {position}"),
                ))
            }
            Some(false) if Instant::now() >= deadline => {
                return Err(ApiError::NotReady(format!(
                    "the read store ({}) did not reach position {position} within {} s",
                    state.read.name(),
                    READ_WAIT.as_secs()
                )))
            }
            Some(false) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// Whether RisingWave has ingested the event at `position`; `None` if the store has no such
/// event. Events of aggregates RisingWave does not ingest count as reached.
async fn ingested(state: &AppState, position: i64) -> Result<Option<bool>, ApiError> {
    let aggregate_type: Option<String> =
        sqlx::query_scalar("SELECT aggregate_type FROM events WHERE global_position = $1")
            .bind(position)
            .fetch_optional(&state.pool)
            .await?;
    match aggregate_type.as_deref() {
        None => Ok(None),
        Some("Aircraft" | "InboxItem" | "PartsRequest") => {
            Ok(Some(klg_projections::risingwave::has_ingested(&state.read.pool, position).await?))
        }
        Some(_) => Ok(Some(true)),
    }
}

/// A status, type or other enumerated filter value, validated against its domain type.
pub fn known<T: serde::de::DeserializeOwned>(
    field: &str,
    value: Option<String>,
) -> Result<Option<String>, ApiError> {
    match value {
        Some(v) => match serde_json::from_value::<T>(serde_json::Value::String(v.clone())) {
            Ok(_) => Ok(Some(v)),
            Err(_) => Err(ApiError::invalid(field, format!("{v:?} is not a known value"))),
        },
        None => Ok(None),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AircraftListQuery {
    #[param(value_type = Option<AircraftStatus>)]
    pub status: Option<String>,
    /// ICAO type designator.
    #[serde(rename = "type")]
    pub aircraft_type: Option<String>,
    pub operator: Option<String>,
    /// Text contained in registration number, model, serial number or operator.
    pub q: Option<String>,
    /// registration_number (default), updated_at, registered_at, total_block_hours; `-` prefix
    /// for descending.
    #[param(pattern = "^-?(registration_number|updated_at|registered_at|total_block_hours)$")]
    pub sort: Option<String>,
    /// Default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    pub min_position: Option<i64>,
    /// The fleet as it stood at this instant (RFC 3339), folded from the log.
    pub as_of: Option<DateTime<Utc>>,
}

/// List aircraft
#[utoipa::path(
    security(("bearer" = ["viewer", "engineer", "auditor", "admin"])),
    params(AircraftListQuery), responses(Denied, (status = 200, body = Page<AircraftView>), Failures))]
#[get("/api/v1/aircraft")]
pub async fn list_aircraft(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let params: AircraftListQuery = query(&req)?;
    await_position(&state, &req, params.min_position).await?;
    let filter = aircraft::AircraftFilter {
        status: known::<AircraftStatus>("status", params.status)?,
        aircraft_type: params.aircraft_type,
        operator: params.operator,
        q: params.q,
    };
    let sort = params.sort.as_deref().unwrap_or("registration_number");
    let (limit, cursor) = (params.limit, params.cursor.as_deref());
    let page = match past_instant(params.as_of)? {
        None => aircraft::list(&state.read.pool, &filter, sort, limit, cursor, aircraft::today()).await?,
        Some(instant) => as_of::aircraft_list(&state.pool, instant, &filter, sort, limit, cursor).await?,
    };
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ItemQuery {
    pub min_position: Option<i64>,
}

/// One record, now or as it stood at an instant.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StateQuery {
    pub min_position: Option<i64>,
    /// The record as it stood at this instant (RFC 3339), folded from the log: every event
    /// recorded at or before it. Not after now.
    pub as_of: Option<DateTime<Utc>>,
}

/// `as_of`, refused when it lies in the future (a future state is not yet a fact).
pub fn past_instant(as_of: Option<DateTime<Utc>>) -> Result<Option<DateTime<Utc>>, ApiError> {
    match as_of {
        Some(instant) if instant > Utc::now() => Err(ApiError::invalid("as_of", "must not be in the future")),
        other => Ok(other),
    }
}

/// One aircraft (`ETag` = version)
#[utoipa::path(
    security(("bearer" = ["viewer", "engineer", "auditor", "admin"])),
    params(("id" = Uuid, Path), StateQuery), responses(Denied, (status = 200, body = AircraftView), Missing, Failures))]
#[get("/api/v1/aircraft/{id}")]
pub async fn get_aircraft(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "aircraft")?;
    let params: StateQuery = query(&req)?;
    await_position(&state, &req, params.min_position).await?;
    let view = match past_instant(params.as_of)? {
        None => aircraft::get(&state.read.pool, id, aircraft::today()).await?,
        Some(instant) => as_of::aircraft(&state.pool, instant, id).await?,
    };
    let view = view.ok_or_else(|| not_found("aircraft", id))?;
    Ok(with_etag(&req, view.version, &view))
}

/// The representation with its `ETag`, or 304 when the client already has this version.
pub fn with_etag(req: &HttpRequest, version: i64, body: &impl serde::Serialize) -> HttpResponse {
    let tag = etag(version as u64);
    let unchanged = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().trim_start_matches("W/") == tag));
    if unchanged {
        return HttpResponse::NotModified().insert_header((header::ETAG, tag)).finish();
    }
    HttpResponse::Ok().insert_header((header::ETAG, tag)).json(body)
}

fn not_found(what: &str, id: Uuid) -> ApiError {
    ApiError::NotFound(format!("no {what} with id {id}"))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    pub min_position: Option<i64>,
}

/// An aircraft's events
#[utoipa::path(
    security(("bearer" = ["auditor", "admin"])),
    params(("id" = Uuid, Path), PageQuery), responses(Denied, (status = 200, body = Page<HistoryEntry>), Missing, Failures))]
#[get("/api/v1/aircraft/{id}/history")]
pub async fn aircraft_history(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "aircraft")?;
    let params: PageQuery = query(&req)?;
    await_position(&state, &req, params.min_position).await?;
    if aircraft::get(&state.read.pool, id, aircraft::today()).await?.is_none() {
        return Err(not_found("aircraft", id));
    }
    let page = aircraft::history(&state.read.pool, id, params.limit, params.cursor.as_deref()).await?;
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InboxListQuery {
    #[param(value_type = Option<InboxStatus>)]
    pub status: Option<String>,
    #[param(value_type = Option<DocumentType>)]
    pub document_type: Option<String>,
    pub aircraft_id: Option<Uuid>,
    /// Default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    pub min_position: Option<i64>,
}

/// List documents, newest first
#[utoipa::path(
    security(("bearer" = ["viewer", "engineer", "auditor", "admin"])),
    params(InboxListQuery), responses(Denied, (status = 200, body = Page<InboxFileView>), Failures))]
#[get("/api/inbox/files")]
pub async fn list_files(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let params: InboxListQuery = query(&req)?;
    await_position(&state, &req, params.min_position).await?;
    let filter = inbox::InboxFilter {
        status: known::<InboxStatus>("status", params.status)?,
        document_type: known::<DocumentType>("document_type", params.document_type)?,
        aircraft_id: params.aircraft_id,
    };
    let page = inbox::list(&state.read.pool, &filter, params.limit, params.cursor.as_deref()).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One document (`ETag` = version)
#[utoipa::path(
    security(("bearer" = ["viewer", "engineer", "auditor", "admin"])),
    params(("id" = Uuid, Path), StateQuery), responses(Denied, (status = 200, body = InboxFileView), Missing, Failures))]
#[get("/api/inbox/files/{id}")]
pub async fn get_file(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "document")?;
    let params: StateQuery = query(&req)?;
    await_position(&state, &req, params.min_position).await?;
    let view = match past_instant(params.as_of)? {
        None => inbox::get(&state.read.pool, id).await?,
        Some(instant) => as_of::document(&state.pool, instant, id).await?,
    };
    let view = view.ok_or_else(|| not_found("document", id))?;
    Ok(with_etag(&req, view.version, &view))
}

/// Streams the document's bytes from the blob store.
/// A document's bytes
///
/// Honours `Range` (one byte range), `If-Range`, `If-Match` and `If-None-Match` against the
/// content's SHA-256, which is also its `ETag`.
#[utoipa::path(
    security(("bearer" = ["viewer", "engineer", "auditor", "admin"])),
    params(("id" = Uuid, Path), ItemQuery),
    responses(Denied,
        (status = 200, description = "The whole content", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 206, description = "The requested range", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 304, description = "Not modified"),
        (status = 416, description = "Range not satisfiable", content_type = "application/problem+json", body = Problem),
        Missing, Stale, Failures
    )
)]
#[get("/api/inbox/files/{id}/content")]
pub async fn file_content(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "document")?;
    let params: ItemQuery = query(&req)?;
    await_position(&state, &req, params.min_position).await?;
    let view = inbox::get(&state.read.pool, id).await?.ok_or_else(|| not_found("document", id))?;
    let digest = klg_domain::values::Sha256Hex::parse(&view.sha256).map_err(ApiError::Internal)?;
    let size = state.blobs.size_of(&digest).await.map_err(blob_store_failed)?.ok_or_else(|| {
        ApiError::Internal(format!("blob {digest} of document {id} is missing from the store"))
    })?;
    // The content hash is the ETag: strong (the bytes behind a document never change), and the
    // conditional headers are judged against it (RFC 9110 §13).
    let tag = format!("\"{}\"", view.sha256);
    let header_text = |name: header::HeaderName| req.headers().get(name).and_then(|v| v.to_str().ok());
    if header_text(header::IF_MATCH).is_some_and(|v| !etag_list_matches(v, &tag, false)) {
        return Err(ApiError::PreconditionFailed(format!("the content's ETag is {tag}")));
    }
    if header_text(header::IF_NONE_MATCH).is_some_and(|v| etag_list_matches(v, &tag, true)) {
        return Ok(HttpResponse::NotModified().insert_header((header::ETAG, tag)).finish());
    }
    // A byte range (the first, if several; `http-range` parses them), unless If-Range names
    // other content. Other range units are ignored, as RFC 9110 asks.
    let range = header_text(header::RANGE)
        .filter(|r| r.trim_start().starts_with("bytes="))
        .filter(|_| header_text(header::IF_RANGE).is_none_or(|t| t.trim() == tag));
    let (start, length) = match range {
        None => (0, size),
        Some(r) => match http_range::HttpRange::parse(r, size) {
            Ok(ranges) => ranges.first().map_or((0, size), |first| (first.start, first.length)),
            Err(_) => return Err(ApiError::RangeNotSatisfiable { size }),
        },
    };
    // The whole blob, a part of it, or nothing to read (an empty document).
    let bytes: BlobBytes = match (start, length) {
        (_, 0) => futures_util::stream::empty().boxed(),
        (0, len) if len == size => state.blobs.read(&digest, None).await.map_err(blob_store_failed)?,
        (start, len) => {
            state.blobs.read(&digest, Some(start..start + len)).await.map_err(blob_store_failed)?
        }
    };
    let mut response = if length < size {
        let mut partial = HttpResponse::PartialContent();
        partial
            .insert_header((header::CONTENT_RANGE, format!("bytes {start}-{}/{size}", start + length - 1)));
        partial
    } else {
        HttpResponse::Ok()
    };
    let checksum = base64_of_hex(&view.sha256);
    Ok(response
        .insert_header((header::CONTENT_TYPE, view.content_type.clone()))
        .insert_header((header::CONTENT_DISPOSITION, content_disposition(&view.filename)))
        .insert_header((header::CONTENT_LENGTH, length))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Content-Security-Policy", "sandbox"))
        .insert_header(("Repr-Digest", format!("sha-256=:{checksum}:")))
        .insert_header(("X-Checksum-SHA256", view.sha256.clone()))
        .insert_header((header::ETAG, tag))
        .streaming(bytes))
}

/// Whether an `If-Match` / `If-None-Match` list names `tag` (or is `*`); `weak` allows `W/` tags
/// (If-None-Match compares weakly, If-Match strongly).
fn etag_list_matches(list: &str, tag: &str, weak: bool) -> bool {
    list.split(',')
        .map(str::trim)
        .any(|item| item == "*" || item == tag || (weak && item.strip_prefix("W/").is_some_and(|t| t == tag)))
}

/// A blob-store failure: the document exists, its bytes cannot be read now.
fn blob_store_failed(e: klg_commands::blobs::StoreError) -> ApiError {
    ApiError::BlobStoreUnavailable(e.to_string())
}

/// `attachment` with an ASCII fallback name and the exact UTF-8 name (RFC 6266 / 8187).
pub fn content_disposition(filename: &str) -> String {
    let fallback: String = filename
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "._- ()".contains(c) { c } else { '_' })
        .collect();
    let encoded: String = filename
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

fn base64_of_hex(hex_digest: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(hex::decode(hex_digest).unwrap_or_default())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Words to find (each as a prefix) in aircraft and documents.
    pub q: String,
    /// Default 20.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub min_position: Option<i64>,
}

/// Search aircraft and documents
#[utoipa::path(
    security(("bearer" = ["viewer", "engineer", "auditor", "admin"])),
    params(SearchQuery), responses(Denied, (status = 200, body = SearchResults), Failures))]
#[get("/api/v1/search")]
pub async fn search_all(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let params: SearchQuery = query(&req)?;
    await_position(&state, &req, params.min_position).await?;
    let limit = klg_projections::queries::page_size(params.limit, 20)?;
    let hits = search::search(&state.read.pool, &params.q, limit, state.read.search_mode()).await?;
    Ok(HttpResponse::Ok().json(SearchResults { query: params.q, hits }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InsightQuery {
    /// Evaluate as of this instant (RFC 3339); default now.
    pub as_of: Option<DateTime<Utc>>,
    /// Grounded longer than this many days is flagged; default 7.
    #[param(minimum = 0, maximum = 3650)]
    pub grounded_days: Option<i64>,
    pub min_position: Option<i64>,
}

async fn evaluate(state: &AppState, req: &HttpRequest) -> Result<Vec<insights::Insight>, ApiError> {
    let params: InsightQuery = query(req)?;
    await_position(state, req, params.min_position).await?;
    let grounded_days = params.grounded_days.unwrap_or(7);
    if !(0..=3650).contains(&grounded_days) {
        return Err(ApiError::invalid("grounded_days", "must be between 0 and 3650"));
    }
    Ok(insights::insights(&state.read.pool, params.as_of.unwrap_or_else(Utc::now), grounded_days).await?)
}

/// What needs attention, and why
#[utoipa::path(
    security(("bearer" = ["viewer", "engineer", "auditor", "admin"])),
    params(InsightQuery), responses(Denied, (status = 200, body = Items<insights::Insight>), Failures))]
#[get("/api/v1/knowledge/insights")]
pub async fn list_insights(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let items = evaluate(&state, &req).await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

/// What to do about it
#[utoipa::path(
    security(("bearer" = ["viewer", "engineer", "auditor", "admin"])),
    params(InsightQuery), responses(Denied, (status = 200, body = Items<insights::Recommendation>), Failures))]
#[get("/api/v1/recommendations")]
pub async fn list_recommendations(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let items = insights::recommend(evaluate(&state, &req).await?);
    Ok(HttpResponse::Ok().json(Items { items }))
}
