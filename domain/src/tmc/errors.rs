use chrono::NaiveDate;
use uuid::Uuid;

use super::{PartsRequestStatus, Step};
use crate::errors::{DomainError, ErrorKind};

/// Why a parts-request command was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PartsRequestError {
    #[error("parts request not found")]
    NotFound,
    #[error("the parts request already exists")]
    AlreadyRequested,
    #[error("quantity must be between 1 and 10000")]
    InvalidQuantity,
    #[error("no aircraft with id {0}")]
    UnknownAircraft(Uuid),
    #[error("aircraft {0} is decommissioned")]
    AircraftDecommissioned(Uuid),
    #[error("document {0} is not in the inbox")]
    DocumentNotFound(Uuid),
    #[error("document {0} is not classified as a parts request")]
    NotAPartsRequest(Uuid),
    #[error("a request that is {status} cannot {}", step.as_str())]
    NotAllowed { step: Step, status: PartsRequestStatus },
    #[error("installation date {0} is in the future")]
    InstalledInFuture(NaiveDate),
    #[error("expected version {expected} but the request is at version {actual}")]
    VersionMismatch { expected: u64, actual: u64 },
    #[error("directory unavailable: {0}")]
    Unavailable(String),
}

impl DomainError for PartsRequestError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound => ErrorKind::NotFound,
            Self::VersionMismatch { .. } => ErrorKind::PreconditionFailed,
            Self::Unavailable(_) => ErrorKind::Unavailable,
            Self::InvalidQuantity
            | Self::UnknownAircraft(_)
            | Self::DocumentNotFound(_)
            | Self::InstalledInFuture(_) => ErrorKind::Invalid,
            _ => ErrorKind::Conflict,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "parts-request-not-found",
            Self::AlreadyRequested => "parts-request-exists",
            Self::InvalidQuantity => "invalid-quantity",
            Self::UnknownAircraft(_) => "unknown-aircraft",
            Self::AircraftDecommissioned(_) => "aircraft-decommissioned",
            Self::DocumentNotFound(_) => "document-not-found",
            Self::NotAPartsRequest(_) => "document-not-a-parts-request",
            Self::NotAllowed { .. } => "parts-request-transition-not-allowed",
            Self::InstalledInFuture(_) => "installed-in-future",
            Self::VersionMismatch { .. } => "version-mismatch",
            Self::Unavailable(_) => "service-unavailable",
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            Self::InvalidQuantity => Some("quantity"),
            Self::UnknownAircraft(_) | Self::AircraftDecommissioned(_) => Some("aircraft_id"),
            Self::DocumentNotFound(_) | Self::NotAPartsRequest(_) => Some("source_document"),
            Self::InstalledInFuture(_) => Some("installed_on"),
            _ => None,
        }
    }
}
