//! Given/when/then tests of the parts-request state machine: every allowed step, and refusals.

use chrono::NaiveDate;
use cqrs_es::test::TestFramework;
use uuid::Uuid;

use super::*;
use crate::aircraft::{Clock, DocumentDirectory, DocumentFacts};
use crate::guard::Guarded;
use crate::inbox::{AircraftDirectory, AircraftStanding};
use crate::values::*;

const AIRCRAFT: Uuid = Uuid::from_u128(0xa1);
const RETIRED: Uuid = Uuid::from_u128(0xa2);
const PARTS_DOCUMENT: Uuid = Uuid::from_u128(1);
const BULLETIN: Uuid = Uuid::from_u128(2);

struct Fleet;

#[async_trait::async_trait]
impl AircraftDirectory for Fleet {
    async fn standing(&self, id: Uuid) -> Result<Option<AircraftStanding>, String> {
        Ok(match id {
            AIRCRAFT => Some(AircraftStanding::InService),
            RETIRED => Some(AircraftStanding::Decommissioned),
            _ => None,
        })
    }
}

struct Documents;

#[async_trait::async_trait]
impl DocumentDirectory for Documents {
    async fn document(&self, id: Uuid) -> Result<Option<DocumentFacts>, String> {
        let facts = |t| Some(DocumentFacts { document_type: Some(t), aircraft_id: None, rejected: false });
        Ok(match id {
            PARTS_DOCUMENT => facts(DocumentType::PartsRequest),
            BULLETIN => facts(DocumentType::ServiceBulletin),
            _ => None,
        })
    }
}

struct Today;

impl Clock for Today {
    fn today(&self) -> NaiveDate {
        "2025-06-15".parse().unwrap()
    }
}

fn framework() -> TestFramework<PartsRequest> {
    TestFramework::with(PartsServices::new(Fleet, Documents, Today))
}

fn new_request(aircraft_id: Uuid, source_document: Option<Uuid>) -> NewPartsRequest {
    NewPartsRequest {
        part_number: PartNumber::parse("d23189000-5").unwrap(),
        description: Name::parse("Main wheel assembly").unwrap(),
        quantity: 2,
        aircraft_id,
        reason: RequestReason::WorkOrder(WorkOrderRef::parse("WO-2025-0142").unwrap()),
        source_document,
    }
}

fn requested() -> PartsEvent {
    let r = new_request(AIRCRAFT, Some(PARTS_DOCUMENT));
    PartsEvent::PartsRequested {
        part_number: r.part_number,
        description: r.description,
        quantity: r.quantity,
        aircraft_id: r.aircraft_id,
        reason: r.reason,
        source_document: r.source_document,
    }
}

fn cmd(c: PartsCommand) -> Guarded<PartsCommand> {
    c.into()
}

fn reason() -> Reason {
    Reason::parse("superseded by P/N -7").unwrap()
}

fn approved() -> PartsEvent {
    PartsEvent::PartsRequestApproved { note: None }
}

fn ordered() -> PartsEvent {
    PartsEvent::PartsOrdered {
        supplier: Name::parse("UTair Engineering").unwrap(),
        order_ref: WorkOrderRef::parse("PO-7781").unwrap(),
    }
}

fn received() -> PartsEvent {
    PartsEvent::PartsReceived { note: None }
}

fn install(on: &str) -> PartsCommand {
    PartsCommand::Install {
        serial_number: SerialNumber::parse("B-1234").unwrap(),
        installed_on: on.parse().unwrap(),
        work_order: WorkOrderRef::parse("WO-2025-0142").unwrap(),
    }
}

#[tokio::test]
async fn a_request_for_an_aircraft_in_service_from_a_parts_request_document() {
    framework()
        .given_no_previous_events()
        .when_async(cmd(PartsCommand::Request(new_request(AIRCRAFT, Some(PARTS_DOCUMENT)))))
        .await
        .then_expect_events(vec![requested()]);
}

#[tokio::test]
async fn refuses_requests_the_record_contradicts() {
    let mut zero = new_request(AIRCRAFT, None);
    zero.quantity = 0;
    let cases = [
        (zero, PartsRequestError::InvalidQuantity),
        (new_request(Uuid::from_u128(9), None), PartsRequestError::UnknownAircraft(Uuid::from_u128(9))),
        (new_request(RETIRED, None), PartsRequestError::AircraftDecommissioned(RETIRED)),
        (
            new_request(AIRCRAFT, Some(Uuid::from_u128(9))),
            PartsRequestError::DocumentNotFound(Uuid::from_u128(9)),
        ),
        (new_request(AIRCRAFT, Some(BULLETIN)), PartsRequestError::NotAPartsRequest(BULLETIN)),
    ];
    for (request, error) in cases {
        framework()
            .given_no_previous_events()
            .when_async(cmd(PartsCommand::Request(request)))
            .await
            .then_expect_error(error);
    }
    framework()
        .given(vec![requested()])
        .when_async(cmd(PartsCommand::Request(new_request(AIRCRAFT, None))))
        .await
        .then_expect_error(PartsRequestError::AlreadyRequested);
}

#[tokio::test]
async fn goes_from_request_to_installation_one_step_at_a_time() {
    framework()
        .given(vec![requested()])
        .when_async(cmd(PartsCommand::Approve { note: None }))
        .await
        .then_expect_events(vec![approved()]);
    let order = PartsCommand::Order {
        supplier: Name::parse("UTair Engineering").unwrap(),
        order_ref: WorkOrderRef::parse("PO-7781").unwrap(),
    };
    framework()
        .given(vec![requested(), approved()])
        .when_async(cmd(order))
        .await
        .then_expect_events(vec![ordered()]);
    framework()
        .given(vec![requested(), approved(), ordered()])
        .when_async(cmd(PartsCommand::Receive { note: None }))
        .await
        .then_expect_events(vec![received()]);
    framework()
        .given(vec![requested(), approved(), ordered(), received()])
        .when_async(cmd(install("2025-06-16")))
        .await
        .then_expect_events(vec![PartsEvent::PartsInstalled {
            aircraft_id: AIRCRAFT,
            part_number: PartNumber::parse("D23189000-5").unwrap(),
            serial_number: SerialNumber::parse("B-1234").unwrap(),
            installed_on: "2025-06-16".parse().unwrap(),
            work_order: WorkOrderRef::parse("WO-2025-0142").unwrap(),
        }]);
}

#[tokio::test]
async fn refuses_every_step_the_state_machine_does_not_allow() {
    let states: [(PartsRequestStatus, Vec<PartsEvent>); 7] = [
        (PartsRequestStatus::Requested, vec![requested()]),
        (PartsRequestStatus::Approved, vec![requested(), approved()]),
        (PartsRequestStatus::Ordered, vec![requested(), approved(), ordered()]),
        (PartsRequestStatus::Received, vec![requested(), approved(), ordered(), received()]),
        (
            PartsRequestStatus::Installed,
            vec![
                requested(),
                approved(),
                ordered(),
                received(),
                PartsEvent::PartsInstalled {
                    aircraft_id: AIRCRAFT,
                    part_number: PartNumber::parse("D23189000-5").unwrap(),
                    serial_number: SerialNumber::parse("B-1234").unwrap(),
                    installed_on: "2025-06-15".parse().unwrap(),
                    work_order: WorkOrderRef::parse("WO-1").unwrap(),
                },
            ],
        ),
        (
            PartsRequestStatus::Cancelled,
            vec![requested(), PartsEvent::PartsRequestCancelled { reason: reason() }],
        ),
        (
            PartsRequestStatus::Rejected,
            vec![requested(), PartsEvent::PartsRequestRejected { reason: reason() }],
        ),
    ];
    let commands = [
        PartsCommand::Approve { note: None },
        PartsCommand::Order {
            supplier: Name::parse("S").unwrap(),
            order_ref: WorkOrderRef::parse("PO-1").unwrap(),
        },
        PartsCommand::Receive { note: None },
        install("2025-06-15"),
        PartsCommand::Cancel { reason: reason() },
        PartsCommand::Reject { reason: reason() },
    ];
    let mut allowed = 0;
    for (status, history) in &states {
        for command in &commands {
            let step = command.step().unwrap();
            let outcome = framework().given(history.clone()).when_async(cmd(command.clone())).await;
            match status.after(step) {
                Some(_) => {
                    allowed += 1;
                    assert_eq!(
                        outcome.inspect_result().map(|events| events.len()),
                        Ok(1),
                        "{status} {step:?}"
                    );
                }
                None => outcome.then_expect_error(PartsRequestError::NotAllowed { step, status: *status }),
            }
        }
    }
    // requested: approve, cancel, reject; approved: order, cancel; ordered: receive, cancel; received: install.
    assert_eq!(allowed, 8);
}

#[tokio::test]
async fn repeating_the_installation_changes_nothing_and_another_is_refused() {
    let installed = PartsEvent::PartsInstalled {
        aircraft_id: AIRCRAFT,
        part_number: PartNumber::parse("D23189000-5").unwrap(),
        serial_number: SerialNumber::parse("B-1234").unwrap(),
        installed_on: "2025-06-15".parse().unwrap(),
        work_order: WorkOrderRef::parse("WO-2025-0142").unwrap(),
    };
    let history = vec![requested(), approved(), ordered(), received(), installed];
    framework()
        .given(history.clone())
        .when_async(cmd(install("2025-06-15")))
        .await
        .then_expect_events(vec![]);
    framework().given(history).when_async(cmd(install("2025-06-14"))).await.then_expect_error(
        PartsRequestError::NotAllowed { step: Step::Install, status: PartsRequestStatus::Installed },
    );
}

#[tokio::test]
async fn refuses_an_installation_dated_after_tomorrow_and_commands_on_no_request() {
    framework()
        .given(vec![requested(), approved(), ordered(), received()])
        .when_async(cmd(install("2025-06-17")))
        .await
        .then_expect_error(PartsRequestError::InstalledInFuture("2025-06-17".parse().unwrap()));
    framework()
        .given_no_previous_events()
        .when_async(cmd(PartsCommand::Approve { note: None }))
        .await
        .then_expect_error(PartsRequestError::NotFound);
}
