//! Given/when/then tests of the airworthiness-directive rules: applicability from an inbox
//! document, compliance, next due, and flights refused while a directive is due.

use super::directives::*;
use super::tests::{
    certified, cmd, date, flight, framework, registered, AD_DOCUMENT, AIRCRAFT, BULLETIN, OTHER_AIRCRAFTS_AD,
    REJECTED_AD,
};
use super::*;
use crate::guard::Guarded;
use crate::values::*;

const AD: &str = "2024-0123";

/// Today in the tests' clock.
const TODAY: &str = "2025-06-15";

fn addressed(c: AircraftCommand) -> Guarded<AircraftCommand> {
    let mut guarded = cmd(c);
    guarded.aggregate_id = Some(AIRCRAFT);
    guarded
}

/// 2h30 block and one cycle, as `flight` logs.
fn flown(on: &str) -> AircraftEvent {
    AircraftEvent::FlightLogged {
        flight_date: date(on),
        block_minutes: BlockMinutes::from_minutes(150),
        cycles: 1,
        route: None,
    }
}

fn assess(
    document_id: uuid::Uuid,
    revision: Option<&str>,
    applicability: Applicability,
) -> Guarded<AircraftCommand> {
    addressed(AircraftCommand::RecordDirectiveApplicability(DirectiveApplicability {
        document_id,
        number: DirectiveNumber::parse(AD).unwrap(),
        revision: revision.map(|r| DirectiveRevision::parse(r).unwrap()),
        applicability,
    }))
}

fn applicable(comply_within: Option<Interval>) -> Applicability {
    Applicability::Applicable { comply_within }
}

fn assessed(comply_within: Option<Interval>, next_due: Option<DueLimits>) -> AircraftEvent {
    AircraftEvent::DirectiveApplicabilityRecorded {
        number: DirectiveNumber::parse(AD).unwrap(),
        revision: None,
        document_id: AD_DOCUMENT,
        applicable: true,
        reason: None,
        comply_within,
        next_due,
    }
}

fn limits(on: Option<&str>, block_minutes: Option<u64>, cycles: Option<u64>) -> DueLimits {
    DueLimits { on: on.map(date), block_minutes, cycles }
}

fn compliance(
    method: ComplianceMethod,
    done_on: &str,
    minutes: u64,
    cycles: u64,
    interval: Option<Interval>,
) -> DirectiveCompliance {
    DirectiveCompliance {
        number: DirectiveNumber::parse(AD).unwrap(),
        method,
        done_on: date(done_on),
        block_minutes_at: minutes,
        cycles_at: cycles,
        performed_by: Name::parse("I. Petrov").unwrap(),
        work_order: WorkOrderRef::parse("WO-2024-0042").unwrap(),
        interval,
    }
}

fn comply(c: DirectiveCompliance) -> Guarded<AircraftCommand> {
    addressed(AircraftCommand::RecordDirectiveCompliance(c))
}

fn complied(c: DirectiveCompliance, next_due: Option<DueLimits>) -> AircraftEvent {
    AircraftEvent::DirectiveComplied {
        number: c.number,
        method: c.method,
        done_on: c.done_on,
        block_minutes_at: c.block_minutes_at,
        cycles_at: c.cycles_at,
        performed_by: c.performed_by,
        work_order: c.work_order,
        interval: c.interval,
        next_due,
    }
}

fn every(days: Option<u32>, hours: Option<u32>, cycles: Option<u32>) -> Interval {
    Interval::new(days, hours, cycles).unwrap()
}

/// Registered, certified for 2024, two flights: 5h00 block, 2 cycles.
fn flying() -> Vec<AircraftEvent> {
    vec![registered(), certified(), flown("2024-03-01"), flown("2024-03-02")]
}

#[tokio::test]
async fn an_applicable_directive_with_no_time_allowed_is_due_at_once() {
    framework()
        .given(flying())
        .when_async(assess(AD_DOCUMENT, None, applicable(None)))
        .await
        .then_expect_events(vec![assessed(None, Some(limits(Some(TODAY), Some(300), Some(2))))]);
}

#[tokio::test]
async fn first_compliance_is_due_within_the_time_allowed_from_today_and_the_current_totals() {
    let within = every(Some(90), Some(100), None);
    framework()
        .given(flying())
        .when_async(assess(AD_DOCUMENT, None, applicable(Some(within))))
        .await
        .then_expect_events(vec![assessed(
            Some(within),
            Some(limits(Some("2025-09-13"), Some(300 + 6_000), None)),
        )]);
}

#[tokio::test]
async fn a_due_directive_refuses_flights_until_complied_with() {
    let mut given = flying();
    given.push(assessed(None, Some(limits(Some(TODAY), Some(300), Some(2)))));
    framework()
        .given(given)
        .when_async(flight("2024-03-03"))
        .await
        .then_expect_error(AircraftError::DirectiveDue(AD.into()));
}

#[tokio::test]
async fn a_directive_that_does_not_apply_is_recorded_with_its_reason_and_never_falls_due() {
    let reason = Reason::parse("MSN 95123 is outside the effectivity").unwrap();
    let mut given = flying();
    given.push(AircraftEvent::DirectiveApplicabilityRecorded {
        number: DirectiveNumber::parse(AD).unwrap(),
        revision: Some(DirectiveRevision::parse("R1").unwrap()),
        document_id: AD_DOCUMENT,
        applicable: false,
        reason: Some(reason.clone()),
        comply_within: None,
        next_due: None,
    });
    framework()
        .given(flying())
        .when_async(assess(AD_DOCUMENT, Some("R1"), Applicability::NotApplicable { reason: reason.clone() }))
        .await
        .then_expect_events(vec![given.last().unwrap().clone()]);
    framework()
        .given(given)
        .when_async(flight("2024-03-03"))
        .await
        .then_expect_events(vec![flown("2024-03-03")]);
}

#[tokio::test]
async fn a_directive_comes_from_a_directive_document_linked_to_this_aircraft() {
    let cases = [
        (uuid::Uuid::from_u128(99), AircraftError::DocumentNotFound(uuid::Uuid::from_u128(99))),
        (BULLETIN, AircraftError::NotADirective(BULLETIN)),
        (OTHER_AIRCRAFTS_AD, AircraftError::DocumentNotLinked(OTHER_AIRCRAFTS_AD)),
        (REJECTED_AD, AircraftError::DocumentRejected(REJECTED_AD)),
    ];
    for (document, error) in cases {
        framework()
            .given(flying())
            .when_async(assess(document, None, applicable(None)))
            .await
            .then_expect_error(error);
    }
}

#[tokio::test]
async fn repeating_the_current_assessment_changes_nothing_and_keeps_the_compliance() {
    let mut given = flying();
    given.push(assessed(None, Some(limits(Some(TODAY), Some(300), Some(2)))));
    let done =
        compliance(ComplianceMethod::Inspection, "2024-03-02", 300, 2, Some(every(None, None, Some(50))));
    given.push(complied(done, Some(limits(None, None, Some(52)))));
    framework()
        .given(given)
        .when_async(assess(AD_DOCUMENT, None, applicable(None)))
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn a_new_revision_is_a_new_assessment_and_compliance_starts_afresh() {
    let mut given = flying();
    given.push(assessed(None, Some(limits(Some(TODAY), Some(300), Some(2)))));
    let done = compliance(ComplianceMethod::Inspection, "2024-03-02", 300, 2, None);
    given.push(complied(done, None));
    let mut revised = assessed(None, Some(limits(Some(TODAY), Some(300), Some(2))));
    if let AircraftEvent::DirectiveApplicabilityRecorded { revision, .. } = &mut revised {
        *revision = Some(DirectiveRevision::parse("R1").unwrap());
    }
    framework()
        .given(given.clone())
        .when_async(assess(AD_DOCUMENT, Some("R1"), applicable(None)))
        .await
        .then_expect_events(vec![revised.clone()]);
    given.push(revised);
    framework()
        .given(given)
        .when_async(flight("2024-03-03"))
        .await
        .then_expect_error(AircraftError::DirectiveDue(AD.into()));
}

#[tokio::test]
async fn recurring_compliance_sets_the_next_due_from_the_standing_it_was_done_at() {
    let mut given = flying();
    given.push(assessed(None, Some(limits(Some(TODAY), Some(300), Some(2)))));
    // Done on 2024-03-02 at 5h00 and 2 cycles; repeat every 30 days, 10 hours or 3 cycles.
    let done = compliance(
        ComplianceMethod::Inspection,
        "2024-03-02",
        300,
        2,
        Some(every(Some(30), Some(10), Some(3))),
    );
    let next = limits(Some("2024-04-01"), Some(300 + 600), Some(5));
    framework()
        .given(given.clone())
        .when_async(comply(done.clone()))
        .await
        .then_expect_events(vec![complied(done.clone(), Some(next))]);

    // Three more flights reach 5 cycles: the third is the last the interval allows.
    given.push(complied(done, Some(next)));
    given.extend([flown("2024-03-03"), flown("2024-03-04")]);
    framework()
        .given(given.clone())
        .when_async(flight("2024-03-05"))
        .await
        .then_expect_events(vec![flown("2024-03-05")]);
    given.push(flown("2024-03-05"));
    framework()
        .given(given.clone())
        .when_async(flight("2024-03-06"))
        .await
        .then_expect_error(AircraftError::DirectiveDue(AD.into()));
}

#[tokio::test]
async fn the_due_date_is_the_last_day_a_recurring_directive_allows_flight() {
    let mut given = flying();
    given.push(assessed(None, Some(limits(Some(TODAY), Some(300), Some(2)))));
    let done =
        compliance(ComplianceMethod::Inspection, "2024-03-02", 300, 2, Some(every(Some(30), None, None)));
    given.push(complied(done, Some(limits(Some("2024-04-01"), None, None))));
    framework()
        .given(given.clone())
        .when_async(flight("2024-04-01"))
        .await
        .then_expect_events(vec![flown("2024-04-01")]);
    framework()
        .given(given)
        .when_async(flight("2024-04-02"))
        .await
        .then_expect_error(AircraftError::DirectiveDue(AD.into()));
}

#[tokio::test]
async fn a_terminating_action_closes_the_directive() {
    let mut given = flying();
    given.push(assessed(None, Some(limits(Some(TODAY), Some(300), Some(2)))));
    let done = compliance(ComplianceMethod::TerminatingAction, "2024-03-02", 300, 2, None);
    framework()
        .given(given.clone())
        .when_async(comply(done.clone()))
        .await
        .then_expect_events(vec![complied(done.clone(), None)]);
    given.push(complied(done.clone(), None));
    framework()
        .given(given.clone())
        .when_async(flight("2024-03-03"))
        .await
        .then_expect_events(vec![flown("2024-03-03")]);
    framework()
        .given(given)
        .when_async(comply(done))
        .await
        .then_expect_error(AircraftError::DirectiveClosed(AD.into()));
}

#[tokio::test]
async fn refuses_compliance_that_the_record_contradicts() {
    let due_now = Some(limits(Some(TODAY), Some(300), Some(2)));
    let mut given = flying();
    given.push(assessed(None, due_now));
    let inspection = |on: &str, minutes, cycles, interval| {
        compliance(ComplianceMethod::Inspection, on, minutes, cycles, interval)
    };
    let cases = [
        (inspection("2025-06-17", 300, 2, None), AircraftError::ComplianceInFuture(date("2025-06-17"))),
        (inspection("2024-03-02", 301, 2, None), AircraftError::BeyondCurrentTotals("hours_at")),
        (inspection("2024-03-02", 300, 3, None), AircraftError::BeyondCurrentTotals("cycles_at")),
        (
            compliance(
                ComplianceMethod::TerminatingAction,
                "2024-03-02",
                300,
                2,
                Some(every(Some(30), None, None)),
            ),
            AircraftError::TerminatingWithInterval,
        ),
    ];
    for (c, error) in cases {
        framework().given(given.clone()).when_async(comply(c)).await.then_expect_error(error);
    }
    // After a recorded compliance, an earlier one is refused, naming what is earlier.
    let first = inspection("2024-03-02", 300, 2, Some(every(Some(30), None, None)));
    given.push(complied(first, Some(limits(Some("2024-04-01"), None, None))));
    let cases = [
        (inspection("2024-03-01", 300, 2, None), "done_on"),
        (inspection("2024-03-02", 299, 2, None), "hours_at"),
        (inspection("2024-03-02", 300, 1, None), "cycles_at"),
    ];
    for (c, field) in cases {
        framework()
            .given(given.clone())
            .when_async(comply(c))
            .await
            .then_expect_error(AircraftError::ComplianceOutOfOrder(field));
    }
}

#[tokio::test]
async fn refuses_compliance_with_an_unknown_or_inapplicable_directive() {
    let done = compliance(ComplianceMethod::Inspection, "2024-03-02", 300, 2, None);
    framework()
        .given(flying())
        .when_async(comply(done.clone()))
        .await
        .then_expect_error(AircraftError::UnknownDirective(AD.into()));
    let mut given = flying();
    given.push(AircraftEvent::DirectiveApplicabilityRecorded {
        number: DirectiveNumber::parse(AD).unwrap(),
        revision: None,
        document_id: AD_DOCUMENT,
        applicable: false,
        reason: Some(Reason::parse("not effective").unwrap()),
        comply_within: None,
        next_due: None,
    });
    framework()
        .given(given)
        .when_async(comply(done))
        .await
        .then_expect_error(AircraftError::DirectiveNotApplicable(AD.into()));
}
