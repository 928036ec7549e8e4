use chrono::NaiveDate;
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use super::directives::{ComplianceMethod, DueLimits, Interval};
use super::release::Signer;
use super::AircraftStatus;
use crate::values::{
    AircraftTypeCode, AirportCode, BlockMinutes, CertificateNumber, DirectiveNumber, DirectiveRevision,
    LicenceNumber, Name, Note, PartNumber, Reason, RegistrationNumber, Route, SerialNumber, WorkOrderRef,
};

/// Events of the `Aircraft` aggregate. Stored as `{"<EventType>": {…}}` with `event_version`
/// "1.0" — "2.0" for `FlightLogged` since it records the route. A change to a payload's shape
/// gets a new version and an upcaster (`crate::upcast`), never an edit of what was stored.
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
        #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
        base_airport: Option<Option<AirportCode>>,
        #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
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
    /// Version 2.0: `route` added (`null`: not recorded). Version-1.0 flights are upcast with
    /// `route: null`; the key is required, so an event that skipped the upcaster fails to load
    /// rather than pass for one whose route was not recorded.
    FlightLogged {
        flight_date: NaiveDate,
        block_minutes: BlockMinutes,
        cycles: u32,
        #[serde(deserialize_with = "required")]
        route: Option<Route>,
    },
    AircraftDecommissioned {
        registration_number: RegistrationNumber,
        reason: Option<Reason>,
    },
    /// An engineer's assessment of an airworthiness directive (from the inbox document
    /// `document_id`). A new assessment replaces the previous one and compliance starts afresh.
    DirectiveApplicabilityRecorded {
        number: DirectiveNumber,
        revision: Option<DirectiveRevision>,
        document_id: uuid::Uuid,
        applicable: bool,
        /// Why it does not apply (only when not applicable).
        reason: Option<Reason>,
        /// Time allowed for first compliance; `null` for an applicable directive: due at once.
        comply_within: Option<Interval>,
        /// When first compliance falls due, as the aggregate computed it from its totals when
        /// recorded; `null` when not applicable.
        next_due: Option<DueLimits>,
    },
    /// Maintenance complied with a directive on `done_on`, at the aircraft's totals then.
    DirectiveComplied {
        number: DirectiveNumber,
        method: ComplianceMethod,
        done_on: NaiveDate,
        block_minutes_at: u64,
        cycles_at: u64,
        performed_by: Name,
        work_order: WorkOrderRef,
        /// Repeat interval of a recurring directive.
        interval: Option<Interval>,
        /// When it falls due again; `null`: closed (complied once, or a terminating action).
        next_due: Option<DueLimits>,
    },
    /// Certifying staff released the aircraft from maintenance to service (status → active).
    /// `record_sha256` binds the signer to the record as released (`release::record_digest`).
    ReleasedToService {
        certifying_staff: Name,
        licence: LicenceNumber,
        work_order: WorkOrderRef,
        statement: Note,
        signed_by: Signer,
        record_sha256: String,
    },
    /// A part fitted under the TMC request `request_id`.
    PartInstalled {
        request_id: uuid::Uuid,
        part_number: PartNumber,
        serial_number: SerialNumber,
        installed_on: NaiveDate,
        work_order: WorkOrderRef,
    },
}

/// A field that is present: `null` means "cleared" (`Some(None)`), not "absent" (`None`, which
/// `default` gives when the key is missing). Plain serde would read `null` as `None` and lose
/// the clearing.
fn present<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A key that must be present, though it may be `null`.
fn required<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(d: D) -> Result<Option<T>, D::Error> {
    Option::<T>::deserialize(d)
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
            Self::DirectiveApplicabilityRecorded { .. } => "DirectiveApplicabilityRecorded",
            Self::DirectiveComplied { .. } => "DirectiveComplied",
            Self::ReleasedToService { .. } => "ReleasedToService",
            Self::PartInstalled { .. } => "PartInstalled",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        match self {
            Self::FlightLogged { .. } => crate::upcast::FLIGHT_LOGGED_VERSION,
            _ => "1.0",
        }
        .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cleared_field_survives_the_round_trip_through_storage() {
        let event = AircraftEvent::AircraftDetailsUpdated {
            operator: None,
            model: None,
            base_airport: Some(None),
            notes: Some(Some(Note::parse("n").unwrap())),
        };
        let stored = serde_json::to_value(&event).unwrap();
        assert_eq!(
            stored,
            serde_json::json!({"AircraftDetailsUpdated": {"base_airport": null, "notes": "n"}})
        );
        assert_eq!(serde_json::from_value::<AircraftEvent>(stored).unwrap(), event);
    }
}
