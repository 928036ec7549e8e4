//! The one HTTP error type. Every error leaves as RFC 9457 `application/problem+json` with a
//! stable `type`; internals (SQL, paths, driver messages) are logged, never sent.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use klg_commands::CommandError;
use klg_domain::{ErrorKind, FieldError, ValidationErrors};
use serde::Serialize;

pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    MalformedBody(String),
    #[error("{}", .0)]
    Invalid(ValidationErrors),
    #[error("{0}")]
    NotFound(String),
    /// A domain rule refused the command; `field`: the request field the rule is about, if any.
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String, field: Option<&'static str> },
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    BadRequest(String),
    /// A `Range` none of whose ranges lies within the `size` bytes of the content.
    #[error("the requested range is outside the {size} bytes of the content")]
    RangeNotSatisfiable { size: u64 },
    #[error("too many requests; retry in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    /// No valid token: missing, malformed, unknown, expired or revoked.
    #[error("{0}")]
    Unauthorized(String),
    /// A valid token whose role may not do this.
    #[error("{0}")]
    Forbidden(String),
    #[error("the database is unavailable")]
    Unavailable(String),
    /// The blob store refused or failed a read or write (unreachable, unwritable, full).
    #[error("the document store cannot be used now; retry later")]
    BlobStoreUnavailable(String),
    /// A 503 whose reason is safe to show (the read side has not caught up, a view is missing).
    #[error("{0}")]
    NotReady(String),
    #[error("internal error")]
    Internal(String),
}

/// RFC 9457 problem details, with KLG's `errors` extension listing offending fields.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Stable identifier of the kind of problem, `urn:klg:problem:<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Offending request fields (validation errors; a refusal by a rule about one field).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(required = false)]
    pub errors: Vec<FieldErrorBody>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FieldErrorBody {
    pub field: String,
    pub message: String,
}

impl ApiError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid(ValidationErrors(vec![FieldError::new(field, message)]))
    }

    fn code(&self) -> &'static str {
        match self {
            Self::MalformedBody(_) => "malformed-body",
            Self::Invalid(_) => "validation-failed",
            Self::NotFound(_) => "not-found",
            Self::Conflict { code, .. } => code,
            Self::PreconditionFailed(_) => "precondition-failed",
            Self::PayloadTooLarge(_) => "payload-too-large",
            Self::UnsupportedMediaType(_) => "unsupported-media-type",
            Self::MethodNotAllowed(_) => "method-not-allowed",
            Self::BadRequest(_) => "bad-request",
            Self::TooManyRequests { .. } => "too-many-requests",
            Self::RangeNotSatisfiable { .. } => "range-not-satisfiable",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::Unavailable(_) => "service-unavailable",
            Self::BlobStoreUnavailable(_) => "blob-store-unavailable",
            Self::NotReady(_) => "not-ready",
            Self::Internal(_) => "internal-error",
        }
    }

    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        let errors = match self {
            Self::Invalid(errors) => errors
                .0
                .iter()
                .map(|e| FieldErrorBody { field: e.field.clone(), message: e.message.clone() })
                .collect(),
            Self::Conflict { detail, field: Some(field), .. } => {
                vec![FieldErrorBody { field: (*field).to_owned(), message: detail.clone() }]
            }
            _ => vec![],
        };
        Problem {
            problem_type: format!("urn:klg:problem:{}", self.code()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.to_string(),
            errors,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::MalformedBody(_) | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            Self::Unavailable(_) | Self::BlobStoreUnavailable(_) | Self::NotReady(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(cause) => tracing::error!(%cause, "internal error"),
            Self::Unavailable(cause) | Self::BlobStoreUnavailable(cause) => {
                tracing::warn!(%cause, "dependency unavailable")
            }
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        match self {
            Self::Unavailable(_) | Self::BlobStoreUnavailable(_) | Self::NotReady(_) => {
                response.insert_header(("Retry-After", "5"));
            }
            Self::TooManyRequests { retry_after_secs } => {
                response.insert_header(("Retry-After", retry_after_secs.to_string()));
            }
            Self::RangeNotSatisfiable { size } => {
                response.insert_header(("Content-Range", format!("bytes */{size}")));
            }
            Self::Unauthorized(_) => {
                response.insert_header(("WWW-Authenticate", "Bearer realm=\"klg\""));
            }
            _ => {}
        }
        response.content_type(PROBLEM_JSON).json(self.problem())
    }
}

impl From<CommandError> for ApiError {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::Refused { kind, code, message, field } => match kind {
                ErrorKind::NotFound => Self::NotFound(message),
                ErrorKind::PreconditionFailed => Self::PreconditionFailed(message),
                ErrorKind::Invalid => Self::invalid(field.unwrap_or("body"), message),
                ErrorKind::Unavailable => Self::Unavailable(message),
                ErrorKind::Conflict => Self::Conflict { code, detail: message, field },
            },
            CommandError::Contended => {
                Self::Conflict { code: "contended", detail: e.to_string(), field: None }
            }
            CommandError::IdempotencyKeyReused => Self::invalid("Idempotency-Key", e.to_string()),
            CommandError::Unavailable(cause) => Self::Unavailable(cause),
            CommandError::Busy { .. } => Self::NotReady(e.to_string()),
            CommandError::Internal(cause) => Self::Internal(cause),
        }
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(e: ValidationErrors) -> Self {
        Self::Invalid(e)
    }
}

impl From<klg_projections::queries::QueryError> for ApiError {
    fn from(e: klg_projections::queries::QueryError) -> Self {
        match e {
            klg_projections::queries::QueryError::Invalid { field, message } => {
                Self::invalid(&field, message)
            }
            klg_projections::queries::QueryError::NotAvailable(reason) => Self::NotReady(reason),
            klg_projections::queries::QueryError::Unfoldable(reason) => Self::Internal(reason),
            klg_projections::queries::QueryError::Database(e) => e.into(),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        if klg_commands::db::is_unavailable(&e) {
            Self::Unavailable(e.to_string())
        } else {
            Self::Internal(e.to_string())
        }
    }
}
