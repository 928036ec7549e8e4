use chrono::NaiveDate;

use super::directives::{DirectiveApplicability, DirectiveCompliance};
use super::release::Release;
use super::AircraftStatus;
use crate::values::{
    AircraftTypeCode, AirportCode, BlockMinutes, CertificateNumber, Name, Note, PartNumber, Reason,
    RegistrationNumber, Route, SerialNumber, WorkOrderRef,
};

/// Commands on an [`Aircraft`](super::Aircraft). Values are already validated.
#[derive(Debug, Clone, PartialEq)]
pub enum AircraftCommand {
    Register(RegisterAircraft),
    UpdateDetails(AircraftDetails),
    ChangeStatus {
        status: AircraftStatus,
        reason: Reason,
    },
    IssueCertificate {
        number: CertificateNumber,
        issued_on: NaiveDate,
        valid_until: NaiveDate,
    },
    /// `route`: departure and arrival, when recorded.
    LogFlight {
        flight_date: NaiveDate,
        block_time: BlockMinutes,
        cycles: u32,
        route: Option<Route>,
    },
    Decommission {
        reason: Option<Reason>,
    },
    RecordDirectiveApplicability(DirectiveApplicability),
    RecordDirectiveCompliance(DirectiveCompliance),
    ReleaseToService(Release),
    /// A part fitted under a TMC request (`request_id`), recorded on the aircraft's record.
    /// Recording the same request again changes nothing (the API retries after a failure).
    RecordPartInstalled {
        request_id: uuid::Uuid,
        part_number: PartNumber,
        serial_number: SerialNumber,
        installed_on: NaiveDate,
        work_order: WorkOrderRef,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct RegisterAircraft {
    pub registration_number: RegistrationNumber,
    pub aircraft_type: AircraftTypeCode,
    pub model: Name,
    pub serial_number: SerialNumber,
    pub operator: Name,
    pub year_of_manufacture: Option<u16>,
}

/// Requested detail changes. `None` leaves a field alone; `Some(None)` clears an optional one.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AircraftDetails {
    pub operator: Option<Name>,
    pub model: Option<Name>,
    pub base_airport: Option<Option<AirportCode>>,
    pub notes: Option<Option<Note>>,
}

impl crate::guard::NamedCommand for AircraftCommand {
    fn name(&self) -> &'static str {
        match self {
            Self::Register(_) => "RegisterAircraft",
            Self::UpdateDetails(_) => "UpdateAircraftDetails",
            Self::ChangeStatus { .. } => "ChangeStatus",
            Self::IssueCertificate { .. } => "IssueAirworthinessCertificate",
            Self::LogFlight { .. } => "LogFlight",
            Self::Decommission { .. } => "Decommission",
            Self::RecordDirectiveApplicability(_) => "RecordDirectiveApplicability",
            Self::RecordDirectiveCompliance(_) => "RecordDirectiveCompliance",
            Self::ReleaseToService(_) => "ReleaseToService",
            Self::RecordPartInstalled { .. } => "RecordPartInstalled",
        }
    }
}
