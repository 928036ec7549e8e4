//! Random but reproducible command sequences against both aggregates, through the real
//! command service and event store. Refused commands are part of the scenario: they must
//! leave no trace.

use std::collections::HashMap;

use chrono::NaiveDate;
use klg_commands::{CommandError, CommandMetadata, Installation, WriteSide};
use klg_domain::aircraft::directives::{
    Applicability, ComplianceMethod, DirectiveApplicability, DirectiveCompliance, Interval,
};
use klg_domain::aircraft::release::{Release, Signer};
use klg_domain::aircraft::{AircraftCommand, AircraftDetails, AircraftStatus, RegisterAircraft};
use klg_domain::inbox::{InboxCommand, ReceiveFile};
use klg_domain::tmc::{NewPartsRequest, PartsCommand, RequestReason};
use klg_domain::values::*;
use klg_domain::Guarded;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

/// What a scenario created.
#[derive(Debug, Default)]
pub struct Created {
    pub aircraft: Vec<Uuid>,
    pub documents: Vec<Uuid>,
    pub parts_requests: Vec<Uuid>,
    pub applied: usize,
    pub refused: usize,
    /// Per document: whether its last classification was a directive, and its aircraft.
    pub filed: HashMap<Uuid, (bool, Option<Uuid>)>,
}

impl Created {
    /// Documents classified as directives and linked to an aircraft, with that aircraft.
    fn directive_documents(&self) -> Vec<(Uuid, Uuid)> {
        let mut found: Vec<(Uuid, Uuid)> = self
            .filed
            .iter()
            .filter_map(|(document, (directive, aircraft))| {
                aircraft.filter(|_| *directive).map(|a| (*document, a))
            })
            .collect();
        found.sort();
        found
    }

    /// Records what a successful inbox command changed.
    fn note(&mut self, document: Uuid, command: &InboxCommand) {
        let entry = self.filed.entry(document).or_insert((false, None));
        match command {
            InboxCommand::Classify { document_type } => {
                entry.0 = *document_type == DocumentType::AirworthinessDirective
            }
            InboxCommand::LinkToAircraft { aircraft_id } => entry.1 = Some(*aircraft_id),
            _ => {}
        }
    }
}

fn date(rng: &mut StdRng) -> NaiveDate {
    NaiveDate::from_ymd_opt(2020, 1, 1).unwrap() + chrono::Days::new(rng.gen_range(0..2200))
}

fn pick<T: Copy>(rng: &mut StdRng, items: &[T]) -> Option<T> {
    items.choose(rng).copied()
}

/// Runs `steps` random commands seeded by `seed`.
pub async fn run(write: &WriteSide, seed: u64, steps: usize) -> Created {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut created = Created::default();
    let meta = CommandMetadata::new("scenario");
    for _ in 0..steps {
        let roll = rng.gen_range(0..100);
        let result = if roll < 10 || created.aircraft.is_empty() {
            let id = Uuid::new_v4();
            let command = AircraftCommand::Register(RegisterAircraft {
                registration_number: RegistrationNumber::parse(&format!("RA-{:05}", rng.gen_range(0..40)))
                    .unwrap(),
                aircraft_type: AircraftTypeCode::parse(["SU95", "A320", "B738"].choose(&mut rng).unwrap())
                    .unwrap(),
                model: Name::parse("Test model").unwrap(),
                serial_number: SerialNumber::parse(&rng.gen_range(10000..99999).to_string()).unwrap(),
                operator: Name::parse(["Aeroflot", "Rossiya", "S7"].choose(&mut rng).unwrap()).unwrap(),
                year_of_manufacture: Some(rng.gen_range(1990..2024)),
            });
            let r = write.aircraft.execute(id, command.into(), &meta).await;
            if r.is_ok() {
                created.aircraft.push(id);
            }
            r.map(|_| ())
        } else if roll < 70 {
            let id = pick(&mut rng, &created.aircraft).unwrap();
            let command = aircraft_command(&mut rng, roll);
            write.aircraft.execute(id, Guarded::new(command, None), &meta).await.map(|_| ())
        } else if roll < 76 && !created.documents.is_empty() {
            let filed = created.directive_documents();
            if filed.is_empty() || rng.gen_bool(0.3) {
                // File a directive: classify a document as one and link it to an aircraft.
                let document = pick(&mut rng, &created.documents).unwrap();
                let aircraft = pick(&mut rng, &created.aircraft).unwrap();
                let mut result = Ok(());
                for command in [
                    InboxCommand::Classify { document_type: DocumentType::AirworthinessDirective },
                    InboxCommand::LinkToAircraft { aircraft_id: aircraft },
                ] {
                    let r = write.inbox.execute(document, command.clone().into(), &meta).await;
                    if r.is_ok() {
                        created.note(document, &command);
                    }
                    result = result.and(r.map(|_| ()));
                }
                result
            } else {
                let (document, aircraft) = *filed.choose(&mut rng).unwrap();
                let command = directive_command(&mut rng, document);
                write.aircraft.execute(aircraft, Guarded::new(command, None), &meta).await.map(|_| ())
            }
        } else if roll < 80 || created.documents.is_empty() {
            let id = Uuid::new_v4();
            let command = InboxCommand::Receive(ReceiveFile {
                filename: FileName::sanitize(&format!("doc-{}.pdf", rng.gen::<u16>())),
                content_type: ContentType::parse("application/pdf").unwrap(),
                size_bytes: rng.gen_range(1..1_000_000),
                sha256: Sha256Hex::parse(&format!("{:064x}", rng.gen::<u128>())).unwrap(),
                source: *[FileSource::Upload, FileSource::Email, FileSource::Api].choose(&mut rng).unwrap(),
            });
            let r = write.inbox.execute(id, command.into(), &meta).await;
            if r.is_ok() {
                created.documents.push(id);
            }
            r.map(|_| ())
        } else if roll >= 90 {
            if created.parts_requests.is_empty() || rng.gen_bool(0.4) {
                let id = Uuid::new_v4();
                let aircraft = pick(&mut rng, &created.aircraft).unwrap();
                let r = write.parts.execute(id, parts_request(&mut rng, aircraft).into(), &meta).await;
                if r.is_ok() {
                    created.parts_requests.push(id);
                }
                r.map(|_| ())
            } else {
                let id = pick(&mut rng, &created.parts_requests).unwrap();
                parts_step(write, &mut rng, id, &meta).await
            }
        } else {
            let id = pick(&mut rng, &created.documents).unwrap();
            let command = inbox_command(&mut rng, &created.aircraft);
            let r = write.inbox.execute(id, command.clone().into(), &meta).await;
            if r.is_ok() {
                created.note(id, &command);
            }
            r.map(|_| ())
        };
        match result {
            Ok(()) => created.applied += 1,
            Err(_) => created.refused += 1,
        }
    }
    created
}

fn aircraft_command(rng: &mut StdRng, roll: u32) -> AircraftCommand {
    let reason = Reason::parse("scenario").unwrap();
    match roll {
        10..=19 => AircraftCommand::UpdateDetails(AircraftDetails {
            operator: rng
                .gen_bool(0.5)
                .then(|| Name::parse(["Aeroflot", "Pobeda", "UTair"].choose(rng).unwrap()).unwrap()),
            model: rng.gen_bool(0.3).then(|| Name::parse("Renamed model").unwrap()),
            base_airport: rng
                .gen_bool(0.5)
                .then(|| rng.gen_bool(0.7).then(|| AirportCode::parse("UUEE").unwrap())),
            notes: rng.gen_bool(0.3).then(|| rng.gen_bool(0.5).then(|| Note::parse("note").unwrap())),
        }),
        20..=31 => {
            let statuses = [
                AircraftStatus::Active,
                AircraftStatus::InMaintenance,
                AircraftStatus::Grounded,
                AircraftStatus::Stored,
            ];
            let status = *statuses.choose(rng).unwrap();
            if status == AircraftStatus::Active && rng.gen_bool(0.7) {
                // From maintenance, only a release returns an aircraft to service.
                return AircraftCommand::ReleaseToService(Release {
                    certifying_staff: Name::parse("A. Sidorova").unwrap(),
                    licence: LicenceNumber::parse("RU.66.0042").unwrap(),
                    work_order: WorkOrderRef::parse("WO-1").unwrap(),
                    statement: Note::parse("Ready for release to service.").unwrap(),
                    signer: Signer { token_id: "scenario".into(), name: "scenario".into() },
                });
            }
            AircraftCommand::ChangeStatus { status, reason }
        }
        32..=41 => {
            let issued_on = date(rng);
            AircraftCommand::IssueCertificate {
                number: CertificateNumber::parse(&format!("CA-{}", rng.gen_range(0..50))).unwrap(),
                issued_on,
                valid_until: issued_on + chrono::Days::new(rng.gen_range(1..800)),
            }
        }
        42..=67 => AircraftCommand::LogFlight {
            flight_date: date(rng),
            block_time: BlockMinutes::from_minutes(rng.gen_range(6..900)),
            cycles: rng.gen_range(1..4),
            route: Route::from_ends(AirportCode::parse("UUEE").ok(), AirportCode::parse("URSS").ok())
                .unwrap(),
        },
        _ => AircraftCommand::Decommission { reason: rng.gen_bool(0.5).then_some(reason) },
    }
}

fn parts_request(rng: &mut StdRng, aircraft: Uuid) -> PartsCommand {
    let reason = if rng.gen_bool(0.5) {
        RequestReason::Directive(DirectiveNumber::parse(&format!("2024-{:04}", rng.gen_range(1..5))).unwrap())
    } else {
        RequestReason::WorkOrder(WorkOrderRef::parse(&format!("WO-{}", rng.gen_range(1..999))).unwrap())
    };
    PartsCommand::Request(NewPartsRequest {
        part_number: PartNumber::parse(["D23189000-5", "S6135-20035-1", "2117-3"].choose(rng).unwrap())
            .unwrap(),
        description: Name::parse("Part").unwrap(),
        quantity: rng.gen_range(1..5),
        aircraft_id: aircraft,
        reason,
        source_document: None,
    })
}

/// A random step on a parts request (installation goes through the write side's two commands).
async fn parts_step(
    write: &WriteSide,
    rng: &mut StdRng,
    id: Uuid,
    meta: &CommandMetadata,
) -> Result<(), CommandError> {
    let reason = Reason::parse("scenario").unwrap();
    let command = match rng.gen_range(0..6) {
        0 => PartsCommand::Approve { note: None },
        1 => PartsCommand::Order {
            supplier: Name::parse("Supplier").unwrap(),
            order_ref: WorkOrderRef::parse("PO-1").unwrap(),
        },
        2 => PartsCommand::Receive { note: None },
        3 => {
            let installation = Installation {
                serial_number: SerialNumber::parse(&format!("SN-{}", rng.gen_range(1..9999))).unwrap(),
                installed_on: date(rng),
                work_order: WorkOrderRef::parse("WO-1").unwrap(),
            };
            return write.install_part(id, None, installation, meta).await.map(|_| ());
        }
        4 => PartsCommand::Cancel { reason },
        _ => PartsCommand::Reject { reason },
    };
    write.parts.execute(id, command.into(), meta).await.map(|_| ())
}

/// A parts request in each status for `aircraft` (in service): the same guarantee for the TMC
/// relation as [`every_directive_status`] gives the directives.
pub async fn every_parts_status(write: &WriteSide, aircraft: Uuid) {
    let meta = CommandMetadata::new("scenario");
    let reason = || Reason::parse("scenario").unwrap();
    let approve = PartsCommand::Approve { note: None };
    let order = PartsCommand::Order {
        supplier: Name::parse("Supplier").unwrap(),
        order_ref: WorkOrderRef::parse("PO-1").unwrap(),
    };
    let receive = PartsCommand::Receive { note: None };
    let paths: [Vec<PartsCommand>; 7] = [
        vec![],
        vec![approve.clone()],
        vec![approve.clone(), order.clone()],
        vec![approve.clone(), order.clone(), receive.clone()],
        vec![approve.clone(), order.clone(), receive.clone()],
        vec![PartsCommand::Cancel { reason: reason() }],
        vec![PartsCommand::Reject { reason: reason() }],
    ];
    for (n, path) in paths.into_iter().enumerate() {
        let id = Uuid::new_v4();
        let mut rng = StdRng::seed_from_u64(n as u64);
        write.parts.execute(id, parts_request(&mut rng, aircraft).into(), &meta).await.unwrap();
        for command in path {
            write.parts.execute(id, command.into(), &meta).await.unwrap();
        }
        if n == 4 {
            let installation = Installation {
                serial_number: SerialNumber::parse("SN-1").unwrap(),
                installed_on: NaiveDate::from_ymd_opt(2024, 5, 2).unwrap(),
                work_order: WorkOrderRef::parse("WO-1").unwrap(),
            };
            write.install_part(id, None, installation, &meta).await.unwrap();
        }
    }
}

/// A Superjet registered as `registration` with serial number `serial`.
async fn registered(write: &WriteSide, registration: &str, serial: &str, meta: &CommandMetadata) -> Uuid {
    let aircraft = Uuid::new_v4();
    let register = AircraftCommand::Register(RegisterAircraft {
        registration_number: RegistrationNumber::parse(registration).unwrap(),
        aircraft_type: AircraftTypeCode::parse("SU95").unwrap(),
        model: Name::parse("Test model").unwrap(),
        serial_number: SerialNumber::parse(serial).unwrap(),
        operator: Name::parse("Aeroflot").unwrap(),
        year_of_manufacture: None,
    });
    write.aircraft.execute(aircraft, register.into(), meta).await.unwrap();
    aircraft
}

/// An aircraft registered as `registration`, put into maintenance and released to service: the
/// random scenario releases only when its interleaving happens to allow it.
pub async fn released_to_service(write: &WriteSide, registration: &str) -> Uuid {
    let meta = CommandMetadata::new("scenario");
    let aircraft = registered(write, registration, "95002", &meta).await;
    let maintenance = AircraftCommand::ChangeStatus {
        status: AircraftStatus::InMaintenance,
        reason: Reason::parse("check").unwrap(),
    };
    let release = AircraftCommand::ReleaseToService(Release {
        certifying_staff: Name::parse("A. Sidorova").unwrap(),
        licence: LicenceNumber::parse("RU.66.0042").unwrap(),
        work_order: WorkOrderRef::parse("WO-2").unwrap(),
        statement: Note::parse("Ready for release to service.").unwrap(),
        signer: Signer { token_id: "scenario".into(), name: "scenario".into() },
    });
    for command in [maintenance, release] {
        write.aircraft.execute(aircraft, Guarded::new(command, None), &meta).await.unwrap();
    }
    aircraft
}

/// One certified aircraft with a directive in each status (open, recurring, complied, not
/// applicable), so that comparisons of the directive relations see every kind of row whatever
/// the random scenarios produced.
pub async fn every_directive_status(write: &WriteSide, registration: &str) -> Uuid {
    let meta = CommandMetadata::new("scenario");
    let (aircraft, document) = (registered(write, registration, "95001", &meta).await, Uuid::new_v4());
    let receive = InboxCommand::Receive(ReceiveFile {
        filename: FileName::sanitize("AD.pdf"),
        content_type: ContentType::parse("application/pdf").unwrap(),
        size_bytes: 1,
        sha256: Sha256Hex::parse(&format!("{:064x}", 1)).unwrap(),
        source: FileSource::Upload,
    });
    write.inbox.execute(document, receive.into(), &meta).await.unwrap();
    let classify = InboxCommand::Classify { document_type: DocumentType::AirworthinessDirective };
    write.inbox.execute(document, classify.into(), &meta).await.unwrap();
    write
        .inbox
        .execute(document, InboxCommand::LinkToAircraft { aircraft_id: aircraft }.into(), &meta)
        .await
        .unwrap();
    let within = Interval::new(Some(365), None, None).unwrap();
    for (number, applicable, compliance) in [
        ("2020-0001", true, None),
        ("2020-0002", true, Some((ComplianceMethod::Inspection, Some(within)))),
        ("2020-0003", true, Some((ComplianceMethod::TerminatingAction, None))),
        ("2020-0004", false, None),
    ] {
        let number = DirectiveNumber::parse(number).unwrap();
        let applicability = match applicable {
            true => Applicability::Applicable { comply_within: Some(within) },
            false => {
                Applicability::NotApplicable { reason: Reason::parse("outside the effectivity").unwrap() }
            }
        };
        let assess = AircraftCommand::RecordDirectiveApplicability(DirectiveApplicability {
            document_id: document,
            number: number.clone(),
            revision: None,
            applicability,
        });
        write.aircraft.execute(aircraft, assess.into(), &meta).await.unwrap();
        if let Some((method, interval)) = compliance {
            let comply = AircraftCommand::RecordDirectiveCompliance(DirectiveCompliance {
                number,
                method,
                done_on: NaiveDate::from_ymd_opt(2024, 5, 1).unwrap(),
                block_minutes_at: 0,
                cycles_at: 0,
                performed_by: Name::parse("I. Petrov").unwrap(),
                work_order: WorkOrderRef::parse("WO-1").unwrap(),
                interval,
            });
            write.aircraft.execute(aircraft, comply.into(), &meta).await.unwrap();
        }
    }
    aircraft
}

/// An assessment or a compliance of one of four directives, from `document`. Most assessments
/// allow time for compliance (a directive due at once grounds the aircraft's flights).
fn directive_command(rng: &mut StdRng, document: Uuid) -> AircraftCommand {
    let number = DirectiveNumber::parse(&format!("2024-{:04}", rng.gen_range(1..5))).unwrap();
    let interval = |rng: &mut StdRng| {
        Interval::new(
            rng.gen_bool(0.7).then(|| rng.gen_range(30..800)),
            Some(rng.gen_range(500..5_000)),
            rng.gen_bool(0.5).then(|| rng.gen_range(100..2_000)),
        )
        .unwrap()
    };
    if rng.gen_bool(0.5) {
        let applicability = match rng.gen_range(0..10) {
            0 => Applicability::Applicable { comply_within: None },
            1..=2 => {
                Applicability::NotApplicable { reason: Reason::parse("outside the effectivity").unwrap() }
            }
            _ => Applicability::Applicable { comply_within: Some(interval(rng)) },
        };
        AircraftCommand::RecordDirectiveApplicability(DirectiveApplicability {
            document_id: document,
            number,
            revision: rng
                .gen_bool(0.3)
                .then(|| DirectiveRevision::parse(&format!("R{}", rng.gen_range(1..3))).unwrap()),
            applicability,
        })
    } else {
        let method = [
            ComplianceMethod::Inspection,
            ComplianceMethod::Modification,
            ComplianceMethod::TerminatingAction,
        ]
        .choose(rng)
        .copied()
        .unwrap();
        let recurring = method != ComplianceMethod::TerminatingAction && rng.gen_bool(0.8);
        AircraftCommand::RecordDirectiveCompliance(DirectiveCompliance {
            number,
            method,
            done_on: date(rng),
            block_minutes_at: 0,
            cycles_at: 0,
            performed_by: Name::parse("I. Petrov").unwrap(),
            work_order: WorkOrderRef::parse(&format!("WO-{}", rng.gen_range(1..999))).unwrap(),
            interval: recurring.then(|| interval(rng)),
        })
    }
}

fn inbox_command(rng: &mut StdRng, aircraft: &[Uuid]) -> InboxCommand {
    let types = [
        DocumentType::AirworthinessDirective,
        DocumentType::ServiceBulletin,
        DocumentType::WorkOrder,
        DocumentType::PartsRequest,
        DocumentType::Certificate,
        DocumentType::Other,
    ];
    match rng.gen_range(0..100) {
        0..=34 => InboxCommand::Classify { document_type: *types.choose(rng).unwrap() },
        35..=54 => InboxCommand::LinkToAircraft {
            aircraft_id: if rng.gen_bool(0.9) {
                *aircraft.choose(rng).unwrap_or(&Uuid::nil())
            } else {
                Uuid::new_v4()
            },
        },
        55..=74 => InboxCommand::MarkProcessed { note: Note::parse("processed").unwrap() },
        75..=87 => InboxCommand::Reject { reason: Reason::parse("not applicable").unwrap() },
        _ => InboxCommand::Archive,
    }
}
