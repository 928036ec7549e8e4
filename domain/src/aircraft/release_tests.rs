//! Given/when/then tests of the release-to-service rules.

use super::directives::{DueLimits, Standing};
use super::release::{record_digest, Release, Signer};
use super::tests::{certified, cmd, date, framework, registered, AD_DOCUMENT};
use super::*;
use crate::values::*;

fn in_maintenance() -> AircraftEvent {
    AircraftEvent::AircraftStatusChanged {
        from: AircraftStatus::Active,
        to: AircraftStatus::InMaintenance,
        reason: Reason::parse("C-check").unwrap(),
    }
}

fn release() -> Release {
    Release {
        certifying_staff: Name::parse("A. Sidorova").unwrap(),
        licence: LicenceNumber::parse("ru.66.0042").unwrap(),
        work_order: WorkOrderRef::parse("WO-2025-0142").unwrap(),
        statement: Note::parse("The work specified was carried out in accordance with the AMM; the aircraft is ready for release to service.").unwrap(),
        signer: Signer { token_id: "t-1".into(), name: "planner".into() },
    }
}

/// The record as folded from `events`.
fn folded(events: &[AircraftEvent]) -> Aircraft {
    let mut aircraft = Aircraft::default();
    for event in events {
        cqrs_es::Aggregate::apply(&mut aircraft, event.clone());
    }
    aircraft
}

fn released(history: &[AircraftEvent]) -> AircraftEvent {
    let r = release();
    AircraftEvent::ReleasedToService {
        record_sha256: record_digest(&folded(history), &r),
        certifying_staff: r.certifying_staff,
        licence: r.licence,
        work_order: r.work_order,
        statement: r.statement,
        signed_by: r.signer,
    }
}

#[tokio::test]
async fn maintenance_ends_only_with_a_release_to_service() {
    framework()
        .given(vec![registered(), in_maintenance()])
        .when_async(cmd(AircraftCommand::ChangeStatus {
            status: AircraftStatus::Active,
            reason: Reason::parse("done").unwrap(),
        }))
        .await
        .then_expect_error(AircraftError::ReleaseRequired);
    let history = vec![registered(), certified(), in_maintenance()];
    framework()
        .given(history.clone())
        .when_async(cmd(AircraftCommand::ReleaseToService(release())))
        .await
        .then_expect_events(vec![released(&history)]);
}

#[test]
fn the_release_digest_binds_the_signer_the_statement_and_the_record() {
    let history = vec![registered(), certified(), in_maintenance()];
    let record = folded(&history);
    let digest = record_digest(&record, &release());
    assert_eq!(digest.len(), 64);
    let mut other_signer = release();
    other_signer.signer.token_id = "t-2".into();
    assert_ne!(record_digest(&record, &other_signer), digest);
    let mut other_statement = release();
    other_statement.statement = Note::parse("Ready.").unwrap();
    assert_ne!(record_digest(&record, &other_statement), digest);
    let flown = AircraftEvent::FlightLogged {
        flight_date: date("2024-05-01"),
        block_minutes: BlockMinutes::from_minutes(60),
        cycles: 1,
        route: None,
    };
    let mut longer = history.clone();
    longer.insert(2, flown);
    assert_ne!(record_digest(&folded(&longer), &release()), digest, "a different record");
}

#[tokio::test]
async fn only_an_aircraft_in_maintenance_is_released() {
    framework()
        .given(vec![registered()])
        .when_async(cmd(AircraftCommand::ReleaseToService(release())))
        .await
        .then_expect_error(AircraftError::NotInMaintenance(AircraftStatus::Active));
}

#[tokio::test]
async fn no_release_while_a_directive_is_overdue() {
    let due_now = DueLimits::now(Standing { date: date("2025-06-15"), block_minutes: 0, cycles: 0 });
    let assessed = AircraftEvent::DirectiveApplicabilityRecorded {
        number: DirectiveNumber::parse("2024-0123").unwrap(),
        revision: None,
        document_id: AD_DOCUMENT,
        applicable: true,
        reason: None,
        comply_within: None,
        next_due: Some(due_now),
    };
    framework()
        .given(vec![registered(), certified(), assessed, in_maintenance()])
        .when_async(cmd(AircraftCommand::ReleaseToService(release())))
        .await
        .then_expect_error(AircraftError::DirectiveDue("2024-0123".into()));
}

#[tokio::test]
async fn a_fitted_part_is_recorded_once_per_request() {
    let request_id = uuid::Uuid::from_u128(7);
    let fitted = AircraftEvent::PartInstalled {
        request_id,
        part_number: PartNumber::parse("D23189000-5").unwrap(),
        serial_number: SerialNumber::parse("B-1234").unwrap(),
        installed_on: date("2025-06-15"),
        work_order: WorkOrderRef::parse("WO-1").unwrap(),
    };
    let record = AircraftCommand::RecordPartInstalled {
        request_id,
        part_number: PartNumber::parse("D23189000-5").unwrap(),
        serial_number: SerialNumber::parse("B-1234").unwrap(),
        installed_on: date("2025-06-15"),
        work_order: WorkOrderRef::parse("WO-1").unwrap(),
    };
    framework()
        .given(vec![registered()])
        .when_async(cmd(record.clone()))
        .await
        .then_expect_events(vec![fitted.clone()]);
    framework().given(vec![registered(), fitted]).when_async(cmd(record)).await.then_expect_events(vec![]);
}
