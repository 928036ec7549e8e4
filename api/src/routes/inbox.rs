//! Inbox commands: receive a file (multipart upload), classify, link, process, reject, archive.

use actix_multipart::{Field, Multipart, MultipartError};
use actix_web::http::header;
use actix_web::{post, web, HttpMessage, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use klg_commands::blobs::{BlobError, StoredBlob};
use klg_domain::inbox::{InboxCommand, ReceiveFile};
use klg_domain::values::*;
use klg_domain::Guarded;
use serde::Deserialize;
use utoipa::ToSchema;
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
    cfg.service(upload)
        .service(reads::list_files)
        .service(reads::get_file)
        .service(reads::file_content)
        .service(classify)
        .service(link)
        .service(process)
        .service(reject)
        .service(archive);
}

/// Largest accepted value of a small text part (`source`, `sha256`).
const TEXT_PART_LIMIT: usize = 256;
/// Room for multipart boundaries and part headers on top of the file itself.
const MULTIPART_OVERHEAD: u64 = 64 * 1024;

/// What the multipart form carried besides the file's bytes.
#[derive(Default)]
struct UploadForm {
    file: Option<(FileName, ContentType, StoredBlob)>,
    source: Option<FileSource>,
    sha256: Option<Sha256Hex>,
}

/// The form `POST /api/inbox/files` takes (read part by part in [`read_form`]).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadRequest {
    /// The document's bytes; the part's filename and content type are kept.
    #[schema(value_type = String, content_media_type = "application/octet-stream")]
    file: Vec<u8>,
    /// How the document arrived; default `upload`.
    source: Option<FileSource>,
    /// Expected SHA-256 of the file (hex), verified when given.
    #[schema(pattern = "^[0-9a-fA-F]{64}$")]
    sha256: Option<String>,
}

/// Receive a document
///
/// The bytes stream into the blob store; the event records metadata only.
#[utoipa::path(
    security(("bearer" = ["engineer", "admin"])),
    params(IdempotencyKey),
    request_body(content = UploadRequest, content_type = "multipart/form-data"),
    responses(Denied, TooMany, Created, BodyProblems, Failures)
)]
#[post("/api/inbox/files")]
async fn upload(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
    meta: RequestMeta,
) -> Result<HttpResponse, ApiError> {
    let is_multipart =
        req.mime_type().ok().flatten().is_some_and(|m| m.essence_str() == "multipart/form-data");
    if !is_multipart {
        return Err(ApiError::UnsupportedMediaType("the body must be multipart/form-data".into()));
    }
    let limit = state.max_upload_bytes;
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit + MULTIPART_OVERHEAD) {
        return Err(too_large(limit));
    }
    let form = read_form(&state, Multipart::new(req.headers(), payload.into_inner()), limit).await?;
    let Some((filename, content_type, blob)) = form.file else {
        return Err(ApiError::invalid("file", "a file part named `file` is required"));
    };
    if let Some(expected) = form.sha256.filter(|e| *e != blob.sha256) {
        return Err(ApiError::invalid(
            "sha256",
            format!("the file's SHA-256 is {}, not {expected}", blob.sha256),
        ));
    }
    let source = form.source.unwrap_or_default();
    let fingerprint = format!("{filename}\n{content_type}\n{:?}\n{}", source, blob.sha256);
    let meta = meta.for_request(&req, fingerprint.as_bytes());
    let command = InboxCommand::Receive(ReceiveFile {
        filename,
        content_type,
        size_bytes: blob.size_bytes,
        sha256: blob.sha256,
        source,
    });
    let outcome = state.write.inbox.execute(Uuid::new_v4(), Guarded::new(command, None), &meta).await?;
    let location = format!("/api/inbox/files/{}", outcome.aggregate_id);
    Ok(command_response(outcome, Some(location)))
}

async fn read_form(state: &AppState, mut multipart: Multipart, limit: u64) -> Result<UploadForm, ApiError> {
    let mut form = UploadForm::default();
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(multipart_error)?;
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "file" if form.file.is_some() => {
                return Err(ApiError::invalid("file", "only one file per upload"))
            }
            "file" => {
                let filename = FileName::sanitize(
                    field.content_disposition().and_then(|d| d.get_filename()).unwrap_or_default(),
                );
                let content_type = match field.content_type() {
                    Some(m) => ContentType::parse(m.as_ref()).map_err(|e| ApiError::invalid("file", e))?,
                    None => ContentType::octet_stream(),
                };
                let blob = state.blobs.put_stream(&mut field, limit, form.sha256.as_ref()).await.map_err(
                    |e| match e {
                        BlobError::TooLarge { limit } => too_large(limit),
                        BlobError::ChecksumMismatch { .. } => ApiError::invalid("sha256", e.to_string()),
                        BlobError::Source(e) => multipart_error(e),
                        BlobError::Store(e) => ApiError::BlobStoreUnavailable(e.to_string()),
                    },
                )?;
                form.file = Some((filename, content_type, blob));
            }
            "source" => {
                let text = read_text(&mut field, "source").await?;
                let source = serde_json::from_value(serde_json::Value::String(text))
                    .map_err(|_| ApiError::invalid("source", "must be one of upload, email, api"))?;
                form.source = Some(source);
            }
            "sha256" => {
                let text = read_text(&mut field, "sha256").await?;
                form.sha256 = Some(Sha256Hex::parse(&text).map_err(|e| ApiError::invalid("sha256", e))?);
            }
            other => {
                return Err(ApiError::invalid(other, "unknown form field; expected file, source or sha256"))
            }
        }
    }
    Ok(form)
}

async fn read_text(field: &mut Field, name: &str) -> Result<String, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.next().await {
        bytes.extend_from_slice(&chunk.map_err(multipart_error)?);
        if bytes.len() > TEXT_PART_LIMIT {
            return Err(ApiError::invalid(name, format!("must be at most {TEXT_PART_LIMIT} bytes")));
        }
    }
    String::from_utf8(bytes)
        .map(|s| s.trim().to_owned())
        .map_err(|_| ApiError::invalid(name, "must be UTF-8 text"))
}

fn multipart_error(e: MultipartError) -> ApiError {
    ApiError::MalformedBody(format!("malformed multipart body: {e}"))
}

fn too_large(limit: u64) -> ApiError {
    ApiError::PayloadTooLarge(format!("the file must be at most {limit} bytes"))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassifyRequest {
    pub document_type: DocumentType,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    pub aircraft_id: Uuid,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessRequest {
    /// What was done about the document.
    pub note: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    pub reason: String,
}

/// `POST /api/inbox/files/{id}/archive` takes an empty JSON object.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArchiveRequest {}

/// Classify a document
#[utoipa::path(
    security(("bearer" = ["engineer", "admin"])),
    params(("id" = Uuid, Path), IfMatch, IdempotencyKey),
    request_body = ClassifyRequest,
    responses(Denied, TooMany, Applied, BodyProblems, Missing, Refused, Stale, Failures)
)]
#[post("/api/inbox/files/{id}/classify")]
async fn classify(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    meta: RequestMeta,
    body: ValidJson<ClassifyRequest>,
) -> Result<HttpResponse, ApiError> {
    let command = InboxCommand::Classify { document_type: body.value.document_type };
    run_on(&state.write.inbox, &req, &path, "document", meta, &body.raw, command).await
}

/// Link a document to an aircraft
#[utoipa::path(
    security(("bearer" = ["engineer", "admin"])),
    params(("id" = Uuid, Path), IfMatch, IdempotencyKey),
    request_body = LinkRequest,
    responses(Denied, TooMany, Applied, BodyProblems, Missing, Refused, Stale, Failures)
)]
#[post("/api/inbox/files/{id}/link")]
async fn link(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    meta: RequestMeta,
    body: ValidJson<LinkRequest>,
) -> Result<HttpResponse, ApiError> {
    let command = InboxCommand::LinkToAircraft { aircraft_id: body.value.aircraft_id };
    run_on(&state.write.inbox, &req, &path, "document", meta, &body.raw, command).await
}

/// Mark a document processed
#[utoipa::path(
    security(("bearer" = ["engineer", "admin"])),
    params(("id" = Uuid, Path), IfMatch, IdempotencyKey),
    request_body = ProcessRequest,
    responses(Denied, TooMany, Applied, BodyProblems, Missing, Refused, Stale, Failures)
)]
#[post("/api/inbox/files/{id}/process")]
async fn process(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    meta: RequestMeta,
    body: ValidJson<ProcessRequest>,
) -> Result<HttpResponse, ApiError> {
    let note = Note::parse(&body.value.note).map_err(|m| ApiError::invalid("note", m))?;
    run_on(&state.write.inbox, &req, &path, "document", meta, &body.raw, InboxCommand::MarkProcessed { note })
        .await
}

/// Reject a document
#[utoipa::path(
    security(("bearer" = ["engineer", "admin"])),
    params(("id" = Uuid, Path), IfMatch, IdempotencyKey),
    request_body = RejectRequest,
    responses(Denied, TooMany, Applied, BodyProblems, Missing, Refused, Stale, Failures)
)]
#[post("/api/inbox/files/{id}/reject")]
async fn reject(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    meta: RequestMeta,
    body: ValidJson<RejectRequest>,
) -> Result<HttpResponse, ApiError> {
    let reason = Reason::parse(&body.value.reason).map_err(|m| ApiError::invalid("reason", m))?;
    run_on(&state.write.inbox, &req, &path, "document", meta, &body.raw, InboxCommand::Reject { reason })
        .await
}

/// Archive a processed or rejected document
#[utoipa::path(
    security(("bearer" = ["engineer", "admin"])),
    params(("id" = Uuid, Path), IfMatch, IdempotencyKey),
    request_body = ArchiveRequest,
    responses(Denied, TooMany, Applied, BodyProblems, Missing, Refused, Stale, Failures)
)]
#[post("/api/inbox/files/{id}/archive")]
async fn archive(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    meta: RequestMeta,
    body: ValidJson<ArchiveRequest>,
) -> Result<HttpResponse, ApiError> {
    run_on(&state.write.inbox, &req, &path, "document", meta, &body.raw, InboxCommand::Archive).await
}
