use chrono::NaiveDate;

use super::AircraftStatus;
use crate::errors::{DomainError, ErrorKind};

/// Why an aircraft command was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AircraftError {
    #[error("aircraft not found")]
    NotFound,
    #[error("aircraft is already registered")]
    AlreadyRegistered,
    #[error("registration number {0} belongs to another aircraft that is not decommissioned")]
    RegistrationInUse(String),
    #[error("aircraft is decommissioned; its record is closed")]
    Decommissioned,
    #[error("aircraft is already {0}")]
    StatusUnchanged(AircraftStatus),
    #[error("status cannot change from {from} to {to}")]
    TransitionNotAllowed { from: AircraftStatus, to: AircraftStatus },
    #[error("flights cannot be logged while the aircraft is {0}")]
    NotFlyable(AircraftStatus),
    #[error("flight date {0} is in the future")]
    FlightInFuture(NaiveDate),
    #[error("a flight has at least one landing cycle")]
    NoCycles,
    #[error("no airworthiness certificate is valid on {0}")]
    NoValidCertificate(NaiveDate),
    #[error("certificate {0} has already been issued")]
    CertificateAlreadyIssued(String),
    #[error("certificate validity must end after it starts")]
    InvalidCertificatePeriod,
    #[error("expected version {expected} but the aircraft is at version {actual}")]
    VersionMismatch { expected: u64, actual: u64 },
    #[error("registry unavailable: {0}")]
    Unavailable(String),
    #[error("document {0} is not in the inbox")]
    DocumentNotFound(uuid::Uuid),
    #[error("document {0} is not classified as an airworthiness directive")]
    NotADirective(uuid::Uuid),
    #[error("document {0} is not linked to this aircraft")]
    DocumentNotLinked(uuid::Uuid),
    #[error("document {0} was rejected")]
    DocumentRejected(uuid::Uuid),
    #[error("directive {0} has not been recorded for this aircraft")]
    UnknownDirective(String),
    #[error("directive {0} does not apply to this aircraft")]
    DirectiveNotApplicable(String),
    #[error("directive {0} is closed: complied with once and for all")]
    DirectiveClosed(String),
    #[error("directive {0} is due: comply with it before the aircraft flies")]
    DirectiveDue(String),
    #[error("compliance date {0} is in the future")]
    ComplianceInFuture(NaiveDate),
    #[error("{0} is earlier than the directive's last recorded compliance")]
    ComplianceOutOfOrder(&'static str),
    #[error("{0} is beyond the aircraft's current total")]
    BeyondCurrentTotals(&'static str),
    #[error("a terminating action ends the directive: it has no repeat interval")]
    TerminatingWithInterval,
    #[error("an aircraft returns from maintenance to service only with a release to service")]
    ReleaseRequired,
    #[error("only an aircraft in maintenance is released to service; it is {0}")]
    NotInMaintenance(AircraftStatus),
}

impl DomainError for AircraftError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound => ErrorKind::NotFound,
            Self::VersionMismatch { .. } => ErrorKind::PreconditionFailed,
            Self::Unavailable(_) => ErrorKind::Unavailable,
            Self::InvalidCertificatePeriod
            | Self::FlightInFuture(_)
            | Self::NoCycles
            | Self::DocumentNotFound(_)
            | Self::ComplianceInFuture(_)
            | Self::ComplianceOutOfOrder(_)
            | Self::BeyondCurrentTotals(_)
            | Self::TerminatingWithInterval => ErrorKind::Invalid,
            _ => ErrorKind::Conflict,
        }
    }

    /// Stable machine-readable code, used as the problem type.
    fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "aircraft-not-found",
            Self::AlreadyRegistered => "aircraft-already-registered",
            Self::RegistrationInUse(_) => "registration-in-use",
            Self::Decommissioned => "aircraft-decommissioned",
            Self::StatusUnchanged(_) => "status-unchanged",
            Self::TransitionNotAllowed { .. } => "status-transition-not-allowed",
            Self::NotFlyable(_) => "aircraft-not-flyable",
            Self::FlightInFuture(_) => "flight-in-future",
            Self::NoCycles => "no-cycles",
            Self::NoValidCertificate(_) => "no-valid-certificate",
            Self::CertificateAlreadyIssued(_) => "certificate-already-issued",
            Self::InvalidCertificatePeriod => "invalid-certificate-period",
            Self::VersionMismatch { .. } => "version-mismatch",
            Self::Unavailable(_) => "service-unavailable",
            Self::DocumentNotFound(_) => "document-not-found",
            Self::NotADirective(_) => "document-not-a-directive",
            Self::DocumentNotLinked(_) => "document-not-linked",
            Self::DocumentRejected(_) => "document-rejected",
            Self::UnknownDirective(_) => "directive-unknown",
            Self::DirectiveNotApplicable(_) => "directive-not-applicable",
            Self::DirectiveClosed(_) => "directive-closed",
            Self::DirectiveDue(_) => "directive-overdue",
            Self::ComplianceInFuture(_) => "compliance-in-future",
            Self::ComplianceOutOfOrder(_) => "compliance-out-of-order",
            Self::BeyondCurrentTotals(_) => "beyond-current-totals",
            Self::TerminatingWithInterval => "terminating-action-with-interval",
            Self::ReleaseRequired => "release-to-service-required",
            Self::NotInMaintenance(_) => "not-in-maintenance",
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            Self::FlightInFuture(_) => Some("flight_date"),
            Self::NoCycles => Some("cycles"),
            Self::InvalidCertificatePeriod => Some("valid_until"),
            Self::DocumentNotFound(_)
            | Self::NotADirective(_)
            | Self::DocumentNotLinked(_)
            | Self::DocumentRejected(_) => Some("document_id"),
            Self::UnknownDirective(_) | Self::DirectiveNotApplicable(_) | Self::DirectiveClosed(_) => {
                Some("number")
            }
            Self::ComplianceInFuture(_) => Some("done_on"),
            Self::ComplianceOutOfOrder(field) | Self::BeyondCurrentTotals(field) => Some(field),
            Self::TerminatingWithInterval => Some("interval"),
            Self::ReleaseRequired => Some("status"),
            _ => None,
        }
    }
}
