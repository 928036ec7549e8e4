//! Given/when/then tests of every Aircraft rule: one accepted and one refused case each.

use chrono::NaiveDate;
use cqrs_es::test::TestFramework;

use super::*;
use crate::guard::Guarded;
use crate::values::*;

/// A registry holding the numbers given to it.
struct Registry(Vec<&'static str>);

#[async_trait::async_trait]
impl RegistrationRegistry for Registry {
    async fn holder_of(&self, number: &RegistrationNumber) -> Result<Option<uuid::Uuid>, String> {
        Ok(self.0.contains(&number.as_str()).then(uuid::Uuid::nil))
    }
}

/// Inbox documents the directive tests record from (see `directive_tests`).
pub(super) struct Documents;

pub(super) const AIRCRAFT: uuid::Uuid = uuid::Uuid::from_u128(0xa1);
pub(super) const AD_DOCUMENT: uuid::Uuid = uuid::Uuid::from_u128(1);
pub(super) const BULLETIN: uuid::Uuid = uuid::Uuid::from_u128(2);
pub(super) const OTHER_AIRCRAFTS_AD: uuid::Uuid = uuid::Uuid::from_u128(3);
pub(super) const REJECTED_AD: uuid::Uuid = uuid::Uuid::from_u128(4);

#[async_trait::async_trait]
impl DocumentDirectory for Documents {
    async fn document(&self, id: uuid::Uuid) -> Result<Option<DocumentFacts>, String> {
        let facts = |document_type, aircraft_id, rejected| {
            Some(DocumentFacts {
                document_type: Some(document_type),
                aircraft_id: Some(aircraft_id),
                rejected,
            })
        };
        Ok(match id {
            AD_DOCUMENT => facts(DocumentType::AirworthinessDirective, AIRCRAFT, false),
            BULLETIN => facts(DocumentType::ServiceBulletin, AIRCRAFT, false),
            OTHER_AIRCRAFTS_AD => {
                facts(DocumentType::AirworthinessDirective, uuid::Uuid::from_u128(0xb2), false)
            }
            REJECTED_AD => facts(DocumentType::AirworthinessDirective, AIRCRAFT, true),
            _ => None,
        })
    }
}

/// The day the tests decide on.
struct Today;

impl Clock for Today {
    fn today(&self) -> NaiveDate {
        date("2025-06-15")
    }
}

pub(super) fn framework() -> TestFramework<Aircraft> {
    TestFramework::with(AircraftServices::new(Registry(vec!["RA-89002"]), Today, Documents))
}

pub(super) fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn register(number: &str) -> RegisterAircraft {
    RegisterAircraft {
        registration_number: RegistrationNumber::parse(number).unwrap(),
        aircraft_type: AircraftTypeCode::parse("SU95").unwrap(),
        model: Name::parse("Sukhoi Superjet 100-95B").unwrap(),
        serial_number: SerialNumber::parse("95123").unwrap(),
        operator: Name::parse("Aeroflot").unwrap(),
        year_of_manufacture: Some(2015),
    }
}

pub(super) fn registered() -> AircraftEvent {
    let r = register("RA-89001");
    AircraftEvent::AircraftRegistered {
        registration_number: r.registration_number,
        aircraft_type: r.aircraft_type,
        model: r.model,
        serial_number: r.serial_number,
        operator: r.operator,
        year_of_manufacture: r.year_of_manufacture,
    }
}

pub(super) fn certified() -> AircraftEvent {
    AircraftEvent::AirworthinessCertificateIssued {
        number: CertificateNumber::parse("CA-2024-001").unwrap(),
        issued_on: date("2024-01-01"),
        valid_until: date("2025-01-01"),
    }
}

fn status_changed(from: AircraftStatus, to: AircraftStatus) -> AircraftEvent {
    AircraftEvent::AircraftStatusChanged { from, to, reason: Reason::parse("check").unwrap() }
}

fn decommissioned() -> AircraftEvent {
    AircraftEvent::AircraftDecommissioned {
        registration_number: RegistrationNumber::parse("RA-89001").unwrap(),
        reason: None,
    }
}

pub(super) fn cmd(c: AircraftCommand) -> Guarded<AircraftCommand> {
    c.into()
}

pub(super) fn flight(on: &str) -> Guarded<AircraftCommand> {
    cmd(AircraftCommand::LogFlight {
        flight_date: date(on),
        block_time: BlockMinutes::from_hours(2.5).unwrap(),
        cycles: 1,
        route: None,
    })
}

fn change_status(to: AircraftStatus) -> Guarded<AircraftCommand> {
    cmd(AircraftCommand::ChangeStatus { status: to, reason: Reason::parse("check").unwrap() })
}

#[tokio::test]
async fn registers_a_new_aircraft() {
    framework()
        .given_no_previous_events()
        .when_async(cmd(AircraftCommand::Register(register("RA-89001"))))
        .await
        .then_expect_events(vec![registered()]);
}

#[tokio::test]
async fn refuses_a_registration_number_held_by_another_aircraft() {
    framework()
        .given_no_previous_events()
        .when_async(cmd(AircraftCommand::Register(register("RA-89002"))))
        .await
        .then_expect_error(AircraftError::RegistrationInUse("RA-89002".into()));
}

#[tokio::test]
async fn refuses_registering_twice() {
    framework()
        .given(vec![registered()])
        .when_async(cmd(AircraftCommand::Register(register("RA-89001"))))
        .await
        .then_expect_error(AircraftError::AlreadyRegistered);
}

#[tokio::test]
async fn refuses_commands_on_an_unknown_aircraft() {
    framework()
        .given_no_previous_events()
        .when_async(flight("2024-06-01"))
        .await
        .then_expect_error(AircraftError::NotFound);
}

#[tokio::test]
async fn update_records_only_changed_fields() {
    let details = AircraftDetails {
        operator: Some(Name::parse("Aeroflot").unwrap()),
        model: Some(Name::parse("SSJ100").unwrap()),
        base_airport: Some(Some(AirportCode::parse("UUEE").unwrap())),
        notes: None,
    };
    framework()
        .given(vec![registered()])
        .when_async(cmd(AircraftCommand::UpdateDetails(details)))
        .await
        .then_expect_events(vec![AircraftEvent::AircraftDetailsUpdated {
            operator: None,
            model: Some(Name::parse("SSJ100").unwrap()),
            base_airport: Some(Some(AirportCode::parse("UUEE").unwrap())),
            notes: None,
        }]);
}

#[tokio::test]
async fn a_no_op_update_produces_no_event() {
    let details = AircraftDetails {
        operator: Some(Name::parse("Aeroflot").unwrap()),
        notes: Some(None),
        ..Default::default()
    };
    framework()
        .given(vec![registered()])
        .when_async(cmd(AircraftCommand::UpdateDetails(details)))
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn changes_status_along_allowed_transitions() {
    framework()
        .given(vec![registered()])
        .when_async(change_status(AircraftStatus::Grounded))
        .await
        .then_expect_events(vec![status_changed(AircraftStatus::Active, AircraftStatus::Grounded)]);
}

#[tokio::test]
async fn a_grounded_aircraft_returns_to_service_only_through_maintenance() {
    framework()
        .given(vec![registered(), status_changed(AircraftStatus::Active, AircraftStatus::Grounded)])
        .when_async(change_status(AircraftStatus::Active))
        .await
        .then_expect_error(AircraftError::TransitionNotAllowed {
            from: AircraftStatus::Grounded,
            to: AircraftStatus::Active,
        });
}

#[tokio::test]
async fn refuses_a_status_change_to_the_same_status() {
    framework()
        .given(vec![registered()])
        .when_async(change_status(AircraftStatus::Active))
        .await
        .then_expect_error(AircraftError::StatusUnchanged(AircraftStatus::Active));
}

#[tokio::test]
async fn issues_a_certificate() {
    framework()
        .given(vec![registered()])
        .when_async(cmd(AircraftCommand::IssueCertificate {
            number: CertificateNumber::parse("CA-2024-001").unwrap(),
            issued_on: date("2024-01-01"),
            valid_until: date("2025-01-01"),
        }))
        .await
        .then_expect_events(vec![certified()]);
}

#[tokio::test]
async fn refuses_a_certificate_that_ends_before_it_starts() {
    framework()
        .given(vec![registered()])
        .when_async(cmd(AircraftCommand::IssueCertificate {
            number: CertificateNumber::parse("CA-1").unwrap(),
            issued_on: date("2024-01-01"),
            valid_until: date("2024-01-01"),
        }))
        .await
        .then_expect_error(AircraftError::InvalidCertificatePeriod);
}

#[tokio::test]
async fn refuses_reissuing_a_certificate_number() {
    framework()
        .given(vec![registered(), certified()])
        .when_async(cmd(AircraftCommand::IssueCertificate {
            number: CertificateNumber::parse("ca-2024-001").unwrap(),
            issued_on: date("2025-01-01"),
            valid_until: date("2026-01-01"),
        }))
        .await
        .then_expect_error(AircraftError::CertificateAlreadyIssued("CA-2024-001".into()));
}

#[tokio::test]
async fn logs_a_flight_covered_by_a_certificate() {
    framework()
        .given(vec![registered(), certified()])
        .when_async(flight("2024-06-01"))
        .await
        .then_expect_events(vec![AircraftEvent::FlightLogged {
            flight_date: date("2024-06-01"),
            block_minutes: BlockMinutes::from_minutes(150),
            cycles: 1,
            route: None,
        }]);
}

#[tokio::test]
async fn a_flight_records_its_route() {
    let route = Route::from_ends(AirportCode::parse("uuee").ok(), AirportCode::parse("URSS").ok()).unwrap();
    framework()
        .given(vec![registered(), certified()])
        .when_async(cmd(AircraftCommand::LogFlight {
            flight_date: date("2024-06-01"),
            block_time: BlockMinutes::from_minutes(95),
            cycles: 1,
            route: route.clone(),
        }))
        .await
        .then_expect_events(vec![AircraftEvent::FlightLogged {
            flight_date: date("2024-06-01"),
            block_minutes: BlockMinutes::from_minutes(95),
            cycles: 1,
            route,
        }]);
}

#[test]
fn a_route_has_both_ends_or_none() {
    let code = |c: &str| AirportCode::parse(c).ok();
    assert_eq!(Route::from_ends(None, None), Ok(None));
    assert_eq!(Route::from_ends(code("UUEE"), None).unwrap_err().0, "arrival");
    assert_eq!(Route::from_ends(None, code("UUEE")).unwrap_err().0, "departure");
    let circuit = Route::from_ends(code("UUEE"), code("UUEE")).unwrap().unwrap();
    assert_eq!(circuit.departure, circuit.arrival, "a local flight returns where it started");
}

#[tokio::test]
async fn refuses_a_flight_dated_after_tomorrow_and_accepts_tomorrows() {
    let current = AircraftEvent::AirworthinessCertificateIssued {
        number: CertificateNumber::parse("CA-2025-001").unwrap(),
        issued_on: date("2025-01-01"),
        valid_until: date("2026-01-01"),
    };
    framework()
        .given(vec![registered(), current.clone()])
        .when_async(flight("2025-06-17"))
        .await
        .then_expect_error(AircraftError::FlightInFuture(date("2025-06-17")));
    // The crew's calendar day may be ahead of UTC.
    framework().given(vec![registered(), current]).when_async(flight("2025-06-16")).await.then_expect_events(
        vec![AircraftEvent::FlightLogged {
            flight_date: date("2025-06-16"),
            block_minutes: BlockMinutes::from_minutes(150),
            cycles: 1,
            route: None,
        }],
    );
}

#[tokio::test]
async fn refuses_a_flight_without_a_landing() {
    framework()
        .given(vec![registered(), certified()])
        .when_async(cmd(AircraftCommand::LogFlight {
            flight_date: date("2024-06-01"),
            block_time: BlockMinutes::from_minutes(30),
            cycles: 0,
            route: None,
        }))
        .await
        .then_expect_error(AircraftError::NoCycles);
}

#[tokio::test]
async fn refuses_a_flight_outside_every_certificate() {
    framework()
        .given(vec![registered(), certified()])
        .when_async(flight("2025-01-02"))
        .await
        .then_expect_error(AircraftError::NoValidCertificate(date("2025-01-02")));
}

#[tokio::test]
async fn refuses_flights_of_grounded_or_stored_aircraft() {
    for status in [AircraftStatus::Grounded, AircraftStatus::Stored] {
        framework()
            .given(vec![registered(), certified(), status_changed(AircraftStatus::Active, status)])
            .when_async(flight("2024-06-01"))
            .await
            .then_expect_error(AircraftError::NotFlyable(status));
    }
}

#[tokio::test]
async fn keeps_flight_totals() {
    let mut aircraft = Aircraft::default();
    for event in [registered(), certified()] {
        cqrs_es::Aggregate::apply(&mut aircraft, event);
    }
    for cycles in 1..=3 {
        cqrs_es::Aggregate::apply(
            &mut aircraft,
            AircraftEvent::FlightLogged {
                flight_date: date("2024-06-01"),
                block_minutes: BlockMinutes::from_minutes(90),
                cycles,
                route: None,
            },
        );
    }
    assert_eq!((aircraft.total_block_minutes(), aircraft.total_cycles()), (270, 6));
    assert_eq!(aircraft.version(), 5);
}

#[tokio::test]
async fn decommissions_and_then_refuses_everything() {
    framework()
        .given(vec![registered()])
        .when_async(cmd(AircraftCommand::Decommission { reason: None }))
        .await
        .then_expect_events(vec![decommissioned()]);
    framework()
        .given(vec![registered(), certified(), decommissioned()])
        .when_async(flight("2024-06-01"))
        .await
        .then_expect_error(AircraftError::Decommissioned);
    framework()
        .given(vec![registered(), decommissioned()])
        .when_async(cmd(AircraftCommand::Decommission { reason: None }))
        .await
        .then_expect_error(AircraftError::Decommissioned);
}

#[tokio::test]
async fn applies_a_guarded_command_only_at_the_expected_version() {
    let guarded = |v| Guarded::new(AircraftCommand::Decommission { reason: None }, Some(v));
    framework()
        .given(vec![registered(), certified()])
        .when_async(guarded(2))
        .await
        .then_expect_events(vec![decommissioned()]);
    framework()
        .given(vec![registered(), certified()])
        .when_async(guarded(1))
        .await
        .then_expect_error(AircraftError::VersionMismatch { expected: 1, actual: 2 });
}
