use uuid::Uuid;

use super::InboxStatus;
use crate::errors::{DomainError, ErrorKind};

/// Why an inbox command was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InboxError {
    #[error("document not found")]
    NotFound,
    #[error("document has already been received")]
    AlreadyReceived,
    #[error("the file is empty: a document must have content")]
    EmptyFile,
    #[error("document is archived; nothing more can happen to it")]
    Archived,
    #[error("cannot {action} a document that is {status}")]
    NotAllowed { action: &'static str, status: InboxStatus },
    #[error("document must be classified before it is processed")]
    NotClassified,
    #[error("aircraft {0} does not exist")]
    UnknownAircraft(Uuid),
    #[error("aircraft {0} is decommissioned")]
    AircraftDecommissioned(Uuid),
    #[error("expected version {expected} but the document is at version {actual}")]
    VersionMismatch { expected: u64, actual: u64 },
    #[error("aircraft directory unavailable: {0}")]
    Unavailable(String),
}

impl DomainError for InboxError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound => ErrorKind::NotFound,
            Self::UnknownAircraft(_) | Self::EmptyFile => ErrorKind::Invalid,
            Self::VersionMismatch { .. } => ErrorKind::PreconditionFailed,
            Self::Unavailable(_) => ErrorKind::Unavailable,
            _ => ErrorKind::Conflict,
        }
    }

    /// Stable machine-readable code, used as the problem type.
    fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "document-not-found",
            Self::AlreadyReceived => "document-already-received",
            Self::EmptyFile => "empty-file",
            Self::Archived => "document-archived",
            Self::NotAllowed { .. } => "document-transition-not-allowed",
            Self::NotClassified => "document-not-classified",
            Self::UnknownAircraft(_) => "unknown-aircraft",
            Self::AircraftDecommissioned(_) => "aircraft-decommissioned",
            Self::VersionMismatch { .. } => "version-mismatch",
            Self::Unavailable(_) => "service-unavailable",
        }
    }

    /// The request field at fault, for errors caused by one.
    fn field(&self) -> Option<&'static str> {
        match self {
            Self::UnknownAircraft(_) | Self::AircraftDecommissioned(_) => Some("aircraft_id"),
            Self::EmptyFile => Some("file"),
            _ => None,
        }
    }
}
