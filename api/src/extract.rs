//! Request extractors that turn bad input into the right problem, never a 500.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderMap};
use actix_web::web::{Bytes, BytesMut};
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::StreamExt;
use klg_commands::{CommandMetadata, IdempotencyClaim};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::problem::ApiError;

/// Largest JSON command body accepted.
pub const JSON_LIMIT: usize = 64 * 1024;

/// A JSON body parsed into `T`: 415 unless JSON, 413 above [`JSON_LIMIT`], 400 when not JSON
/// at all, 422 naming the field when JSON of the wrong shape. Keeps the raw bytes for hashing.
pub struct ValidJson<T> {
    pub value: T,
    pub raw: Bytes,
}

impl<T: DeserializeOwned + 'static> FromRequest for ValidJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = req
            .mime_type()
            .ok()
            .flatten()
            .is_some_and(|m| m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON));
        let declared_length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !is_json {
                return Err(ApiError::UnsupportedMediaType("the body must be application/json".into()));
            }
            if declared_length.is_some_and(|n| n > JSON_LIMIT) {
                return Err(too_large());
            }
            let mut body = BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk =
                    chunk.map_err(|e| ApiError::MalformedBody(format!("reading the body failed: {e}")))?;
                if body.len() + chunk.len() > JSON_LIMIT {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            let raw = body.freeze();
            let value = parse_json(&raw)?;
            Ok(Self { value, raw })
        })
    }
}

fn too_large() -> ApiError {
    ApiError::PayloadTooLarge(format!("the body must be at most {JSON_LIMIT} bytes"))
}

/// Parses JSON, telling syntax errors (400) from shape errors (422 with the field).
pub fn parse_json<T: DeserializeOwned>(raw: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(raw);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let inner = e.inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = strip_position(&inner.to_string());
                ApiError::invalid(&field_of(&e.path().to_string(), &message), message)
            }
            _ => malformed(inner),
        }
    })?;
    de.end().map_err(|e| malformed(&e))?;
    Ok(value)
}

fn malformed(e: &serde_json::Error) -> ApiError {
    ApiError::MalformedBody(format!("the body is not valid JSON: {e}"))
}

/// The field a serde data error is about: serde names unknown and missing fields only in
/// its message, other errors by their path.
pub(crate) fn field_of(path: &str, message: &str) -> String {
    let path = path.trim_start_matches('.');
    for prefix in ["unknown field `", "missing field `"] {
        let Some(name) = message.strip_prefix(prefix).and_then(|rest| rest.split('`').next()) else {
            continue;
        };
        // The path ends at the unknown key itself, but only at the parent of a missing one.
        return match path {
            "" | "?" => name.to_owned(),
            p if p == name || p.ends_with(&format!(".{name}")) => p.to_owned(),
            p => format!("{p}.{name}"),
        };
    }
    match path {
        "" => "body".to_owned(),
        p => p.to_owned(),
    }
}

pub(crate) fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// Parses an aggregate id from the path: an id that is not a UUID names nothing (404).
pub fn parse_id(raw: &str, what: &str) -> Result<Uuid, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound(format!("no {what} with id {raw:?}")))
}

/// The version in `If-Match: "<n>"`, if the header is present.
pub fn if_match(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    if text == "*" {
        return Ok(None); // Any current version; a missing aggregate is 404 anyway.
    }
    if text.starts_with("W/") {
        // RFC 9110 §13.1.1: If-Match uses the strong comparison, which a weak tag never passes.
        return Err(ApiError::PreconditionFailed(format!(
            "If-Match needs a strong ETag (such as \"3\"); the weak {text} never matches"
        )));
    }
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .and_then(|t| t.parse().ok())
        .map(Some)
        .ok_or_else(|| ApiError::invalid("If-Match", format!("must be an ETag such as \"3\", not {text:?}")))
}

/// The `ETag` value of a version.
pub fn etag(version: u64) -> String {
    format!("\"{version}\"")
}

/// Request id assigned by the request-id middleware.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Command metadata from the request: actor, request/correlation/causation ids and the
/// idempotency key. The request hash is filled in by the handler, which knows the body.
pub struct RequestMeta(pub CommandMetadata);

impl FromRequest for RequestMeta {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(request_meta(req).map(Self))
    }
}

/// The actor of a request whose route needs no token (none of them runs a command).
pub const ANONYMOUS: &str = "anonymous";

fn request_meta(req: &HttpRequest) -> Result<CommandMetadata, ApiError> {
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_else(|| Uuid::new_v4().to_string());
    let correlation_id = id_header(req.headers(), "X-Correlation-Id")?.unwrap_or_else(|| request_id.clone());
    let causation_id = id_header(req.headers(), "X-Causation-Id")?.unwrap_or_else(|| request_id.clone());
    let idempotency = id_header(req.headers(), "Idempotency-Key")?
        .map(|key| IdempotencyClaim { key, request_hash: String::new() });
    let (actor, actor_id) = match crate::auth::caller_of(req) {
        Some(caller) => (caller.name, Some(caller.token_id)),
        None => (ANONYMOUS.to_owned(), None),
    };
    Ok(CommandMetadata { actor, actor_id, request_id, correlation_id, causation_id, idempotency })
}

/// A caller-supplied identifier header: 1-255 visible ASCII characters.
pub fn id_header(headers: &HeaderMap, name: &str) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(v) if !v.is_empty() && v.len() <= 255 && v.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(v.to_owned()))
        }
        _ => Err(ApiError::invalid(name, "must be 1-255 visible ASCII characters")),
    }
}

impl RequestMeta {
    /// Binds the idempotency key (if any) to this request: method, path and body content.
    pub fn for_request(mut self, req: &HttpRequest, body: &[u8]) -> CommandMetadata {
        if let Some(claim) = &mut self.0.idempotency {
            claim.request_hash = request_hash(req, body);
        }
        self.0
    }
}

/// Hash of what a request asks for. JSON bodies are compared by content, not by formatting.
fn request_hash(req: &HttpRequest, body: &[u8]) -> String {
    let canonical = serde_json::from_slice::<serde_json::Value>(body)
        .map(|v| v.to_string().into_bytes())
        .unwrap_or_else(|_| body.to_vec());
    let mut hasher = Sha256::new();
    hasher.update(req.method().as_str());
    hasher.update(b" ");
    hasher.update(req.path());
    hasher.update(b"\n");
    hasher.update(&canonical);
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Flight {
        block_hours: f64,
        cycles: u32,
    }

    fn error_of(body: &str) -> ApiError {
        parse_json::<Flight>(body.as_bytes()).unwrap_err()
    }

    fn field(e: &ApiError) -> String {
        match e {
            ApiError::Invalid(v) => v.0[0].field.clone(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn tells_syntax_from_shape_errors_and_names_the_field() {
        assert!(matches!(error_of("{\"block_hours\": "), ApiError::MalformedBody(_)));
        assert!(matches!(error_of("not json"), ApiError::MalformedBody(_)));
        assert_eq!(field(&error_of(r#"{"block_hours": 1, "cycles": -1}"#)), "cycles");
        assert_eq!(field(&error_of(r#"{"block_hours": 1}"#)), "cycles");
        assert_eq!(field(&error_of(r#"{"block_hours": 1, "cycles": 1, "pilot": "x"}"#)), "pilot");
        assert_eq!(field(&error_of(r#""text""#)), "body");
    }
}

/// Query-string parameters parsed into `T`; a wrong or unknown parameter is a 422 naming it.
pub fn query<T: DeserializeOwned>(req: &HttpRequest) -> Result<T, ApiError> {
    let pairs = form_urlencoded::parse(req.query_string().as_bytes());
    // PostgreSQL text cannot hold NUL: refuse it here, naming the parameter, rather than fail
    // the query later.
    if let Some((name, _)) = pairs.clone().find(|(_, value)| value.contains('\0')) {
        return Err(ApiError::invalid(&name, "must not contain NUL characters"));
    }
    serde_path_to_error::deserialize(serde_urlencoded::Deserializer::new(pairs)).map_err(|e| {
        let message = strip_position(&e.inner().to_string());
        let field = match field_of(&e.path().to_string(), &message).as_str() {
            "body" => "query".to_owned(),
            field => field.to_owned(),
        };
        ApiError::invalid(&field, message)
    })
}

/// Whether the client asked for CSV (`Accept: text/csv`) rather than JSON.
pub fn accepts_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/csv"))
}
