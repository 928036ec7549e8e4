use chrono::NaiveDate;
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use super::AircraftStatus;
use crate::values::{
    AircraftTypeCode, AirportCode, BlockMinutes, CertificateNumber, Name, Note, Reason, RegistrationNumber,
    SerialNumber,
};

/// Events of the `Aircraft` aggregate. Stored as `{"<EventType>": {…}}` with `event_version`
/// "1.0"; a change to a payload's shape gets a new version and an upcaster, never an edit here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AircraftEvent {
    AircraftRegistered {
        registration_number: RegistrationNumber,
        aircraft_type: AircraftTypeCode,
        model: Name,
        serial_number: SerialNumber,
        operator: Name,
        year_of_manufacture: Option<u16>,
    },
    /// Only the fields that changed are present. An empty `base_airport` or `notes` clears it.
    AircraftDetailsUpdated {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        operator: Option<Name>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<Name>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        base_airport: Option<Option<AirportCode>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        notes: Option<Option<Note>>,
    },
    AircraftStatusChanged {
        from: AircraftStatus,
        to: AircraftStatus,
        reason: Reason,
    },
    AirworthinessCertificateIssued {
        number: CertificateNumber,
        issued_on: NaiveDate,
        valid_until: NaiveDate,
    },
    FlightLogged {
        flight_date: NaiveDate,
        block_minutes: BlockMinutes,
        cycles: u32,
    },
    AircraftDecommissioned {
        registration_number: RegistrationNumber,
        reason: Option<Reason>,
    },
}

impl DomainEvent for AircraftEvent {
    fn event_type(&self) -> String {
        match self {
            Self::AircraftRegistered { .. } => "AircraftRegistered",
            Self::AircraftDetailsUpdated { .. } => "AircraftDetailsUpdated",
            Self::AircraftStatusChanged { .. } => "AircraftStatusChanged",
            Self::AirworthinessCertificateIssued { .. } => "AirworthinessCertificateIssued",
            Self::FlightLogged { .. } => "FlightLogged",
            Self::AircraftDecommissioned { .. } => "AircraftDecommissioned",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}
