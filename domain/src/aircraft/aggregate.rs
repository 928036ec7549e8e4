use chrono::NaiveDate;
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use super::directives::{
    Applicability, ComplianceMethod, DirectiveApplicability, DirectiveCompliance, DirectiveState, DueLimits,
    Standing,
};
use super::release::{record_digest, Release};
use super::{
    AircraftCommand, AircraftDetails, AircraftError, AircraftEvent, AircraftServices, AircraftStatus,
    DocumentDirectory, RegisterAircraft,
};
use crate::guard::Guarded;
use crate::values::{AirportCode, CertificateNumber, DocumentType, Name, Note, Reason, RegistrationNumber};

/// An issued airworthiness certificate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Certificate {
    pub number: String,
    pub issued_on: NaiveDate,
    pub valid_until: NaiveDate,
}

impl Certificate {
    pub fn covers(&self, date: NaiveDate) -> bool {
        self.issued_on <= date && date <= self.valid_until
    }
}

/// State of one aircraft, folded from its events. Changed only by `apply`.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Aircraft {
    version: u64,
    registration_number: Option<RegistrationNumber>,
    status: AircraftStatus,
    operator: Option<Name>,
    model: Option<Name>,
    base_airport: Option<AirportCode>,
    notes: Option<Note>,
    certificates: Vec<Certificate>,
    total_block_minutes: u64,
    total_cycles: u64,
    /// Airworthiness directives recorded for this aircraft, by number.
    directives: BTreeMap<String, DirectiveState>,
    /// TMC requests whose part is recorded as fitted.
    installed_requests: std::collections::BTreeSet<uuid::Uuid>,
}

impl Aggregate for Aircraft {
    const TYPE: &'static str = "Aircraft";
    type Command = Guarded<AircraftCommand>;
    type Event = AircraftEvent;
    type Error = AircraftError;
    type Services = AircraftServices;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), AircraftError> {
        let Guarded { expected_version, command, aggregate_id } = command;
        if let AircraftCommand::Register(register) = command {
            return self.register(register, services, sink).await;
        }
        if self.registration_number.is_none() {
            return Err(AircraftError::NotFound);
        }
        if let Some(expected) = expected_version.filter(|v| *v != self.version) {
            return Err(AircraftError::VersionMismatch { expected, actual: self.version });
        }
        if self.status == AircraftStatus::Decommissioned {
            return Err(AircraftError::Decommissioned);
        }
        let event = match command {
            AircraftCommand::Register(_) => unreachable!("handled above"),
            AircraftCommand::UpdateDetails(details) => match self.changed_details(details) {
                Some(event) => event,
                None => return Ok(()),
            },
            AircraftCommand::ChangeStatus { status, reason } => self.change_status(status, reason)?,
            AircraftCommand::IssueCertificate { number, issued_on, valid_until } => {
                self.issue_certificate(number, issued_on, valid_until)?
            }
            AircraftCommand::LogFlight { flight_date, block_time, cycles, route } => {
                check_flight(flight_date, cycles, services.clock.today())?;
                self.check_may_fly(flight_date)?;
                self.check_directives_permit(
                    flight_date,
                    u64::from(block_time.minutes()),
                    u64::from(cycles),
                )?;
                AircraftEvent::FlightLogged { flight_date, block_minutes: block_time, cycles, route }
            }
            AircraftCommand::Decommission { reason } => AircraftEvent::AircraftDecommissioned {
                registration_number: self.registration_number.clone().expect("checked above"),
                reason,
            },
            AircraftCommand::RecordDirectiveApplicability(assessment) => {
                let today = services.clock.today();
                let documents = services.documents.as_ref();
                match self.assess_directive(assessment, aggregate_id, documents, today).await? {
                    Some(event) => event,
                    None => return Ok(()),
                }
            }
            AircraftCommand::RecordDirectiveCompliance(compliance) => {
                self.comply_with_directive(compliance, services.clock.today())?
            }
            AircraftCommand::ReleaseToService(release) => {
                self.release_to_service(release, services.clock.today())?
            }
            AircraftCommand::RecordPartInstalled {
                request_id,
                part_number,
                serial_number,
                installed_on,
                work_order,
            } => {
                if self.installed_requests.contains(&request_id) {
                    return Ok(());
                }
                AircraftEvent::PartInstalled {
                    request_id,
                    part_number,
                    serial_number,
                    installed_on,
                    work_order,
                }
            }
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: AircraftEvent) {
        self.version += 1;
        match event {
            AircraftEvent::AircraftRegistered { registration_number, model, operator, .. } => {
                self.registration_number = Some(registration_number);
                self.model = Some(model);
                self.operator = Some(operator);
                self.status = AircraftStatus::Active;
            }
            AircraftEvent::AircraftDetailsUpdated { operator, model, base_airport, notes } => {
                if operator.is_some() {
                    self.operator = operator;
                }
                if model.is_some() {
                    self.model = model;
                }
                if let Some(base_airport) = base_airport {
                    self.base_airport = base_airport;
                }
                if let Some(notes) = notes {
                    self.notes = notes;
                }
            }
            AircraftEvent::AircraftStatusChanged { to, .. } => self.status = to,
            AircraftEvent::AirworthinessCertificateIssued { number, issued_on, valid_until } => {
                self.certificates.push(Certificate { number: number.to_string(), issued_on, valid_until })
            }
            AircraftEvent::FlightLogged { block_minutes, cycles, .. } => {
                self.total_block_minutes += u64::from(block_minutes.minutes());
                self.total_cycles += u64::from(cycles);
            }
            AircraftEvent::AircraftDecommissioned { .. } => self.status = AircraftStatus::Decommissioned,
            AircraftEvent::DirectiveApplicabilityRecorded {
                number,
                revision,
                document_id,
                applicable,
                reason,
                comply_within,
                next_due,
            } => {
                let state = DirectiveState {
                    revision,
                    document_id,
                    applicable,
                    reason,
                    comply_within,
                    next_due,
                    last_compliance: None,
                };
                self.directives.insert(number.to_string(), state);
            }
            AircraftEvent::ReleasedToService { .. } => self.status = AircraftStatus::Active,
            AircraftEvent::PartInstalled { request_id, .. } => {
                self.installed_requests.insert(request_id);
            }
            AircraftEvent::DirectiveComplied {
                number,
                done_on,
                block_minutes_at,
                cycles_at,
                next_due,
                ..
            } => {
                if let Some(state) = self.directives.get_mut(number.as_str()) {
                    state.next_due = next_due;
                    state.last_compliance =
                        Some(Standing { date: done_on, block_minutes: block_minutes_at, cycles: cycles_at });
                }
            }
        }
    }
}

impl Aircraft {
    /// Number of events applied; the `ETag` of the aircraft.
    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn status(&self) -> AircraftStatus {
        self.status
    }

    pub fn registration_number(&self) -> Option<&RegistrationNumber> {
        self.registration_number.as_ref()
    }

    pub fn operator(&self) -> Option<&Name> {
        self.operator.as_ref()
    }

    pub fn model(&self) -> Option<&Name> {
        self.model.as_ref()
    }

    pub fn base_airport(&self) -> Option<&AirportCode> {
        self.base_airport.as_ref()
    }

    pub fn notes(&self) -> Option<&Note> {
        self.notes.as_ref()
    }

    pub fn total_block_minutes(&self) -> u64 {
        self.total_block_minutes
    }

    pub fn total_cycles(&self) -> u64 {
        self.total_cycles
    }

    pub fn certificates(&self) -> &[Certificate] {
        &self.certificates
    }

    /// Directives recorded for this aircraft, by number.
    pub fn directives(&self) -> &BTreeMap<String, DirectiveState> {
        &self.directives
    }

    /// Today's date and the current totals.
    fn standing(&self, today: NaiveDate) -> Standing {
        Standing { date: today, block_minutes: self.total_block_minutes, cycles: self.total_cycles }
    }

    /// The event recording an assessment, or `None` when it repeats the current one (which
    /// would otherwise restart compliance).
    async fn assess_directive(
        &self,
        a: DirectiveApplicability,
        own_id: Option<uuid::Uuid>,
        documents: &dyn DocumentDirectory,
        today: NaiveDate,
    ) -> Result<Option<AircraftEvent>, AircraftError> {
        check_directive_document(a.document_id, own_id, documents).await?;
        let (applicable, reason, comply_within) = match a.applicability {
            Applicability::Applicable { comply_within } => (true, None, comply_within),
            Applicability::NotApplicable { reason } => (false, Some(reason), None),
        };
        if let Some(current) = self.directives.get(a.number.as_str()) {
            let same = current.revision == a.revision
                && current.document_id == a.document_id
                && current.applicable == applicable
                && current.reason == reason
                && current.comply_within == comply_within;
            if same {
                return Ok(None);
            }
        }
        let now = self.standing(today);
        let next_due = applicable.then(|| match comply_within {
            Some(interval) => DueLimits::after(interval, now),
            None => DueLimits::now(now),
        });
        Ok(Some(AircraftEvent::DirectiveApplicabilityRecorded {
            number: a.number,
            revision: a.revision,
            document_id: a.document_id,
            applicable,
            reason,
            comply_within,
            next_due,
        }))
    }

    fn comply_with_directive(
        &self,
        c: DirectiveCompliance,
        today: NaiveDate,
    ) -> Result<AircraftEvent, AircraftError> {
        let number = c.number.to_string();
        let state =
            self.directives.get(&number).ok_or_else(|| AircraftError::UnknownDirective(number.clone()))?;
        if !state.applicable {
            return Err(AircraftError::DirectiveNotApplicable(number));
        }
        if state.last_compliance.is_some() && state.next_due.is_none() {
            return Err(AircraftError::DirectiveClosed(number));
        }
        if c.done_on > today + chrono::Days::new(1) {
            return Err(AircraftError::ComplianceInFuture(c.done_on));
        }
        if c.block_minutes_at > self.total_block_minutes {
            return Err(AircraftError::BeyondCurrentTotals("hours_at"));
        }
        if c.cycles_at > self.total_cycles {
            return Err(AircraftError::BeyondCurrentTotals("cycles_at"));
        }
        if let Some(last) = state.last_compliance {
            let earlier = [
                ("done_on", c.done_on < last.date),
                ("hours_at", c.block_minutes_at < last.block_minutes),
                ("cycles_at", c.cycles_at < last.cycles),
            ];
            if let Some((field, _)) = earlier.into_iter().find(|(_, before)| *before) {
                return Err(AircraftError::ComplianceOutOfOrder(field));
            }
        }
        if c.method == ComplianceMethod::TerminatingAction && c.interval.is_some() {
            return Err(AircraftError::TerminatingWithInterval);
        }
        let done = Standing { date: c.done_on, block_minutes: c.block_minutes_at, cycles: c.cycles_at };
        Ok(AircraftEvent::DirectiveComplied {
            number: c.number,
            method: c.method,
            done_on: c.done_on,
            block_minutes_at: c.block_minutes_at,
            cycles_at: c.cycles_at,
            performed_by: c.performed_by,
            work_order: c.work_order,
            interval: c.interval,
            next_due: c.interval.map(|interval| DueLimits::after(interval, done)),
        })
    }

    /// A release returns an aircraft in maintenance to service, never with a directive overdue;
    /// the event binds the signer to a digest of the record as released.
    fn release_to_service(&self, release: Release, today: NaiveDate) -> Result<AircraftEvent, AircraftError> {
        if self.status != AircraftStatus::InMaintenance {
            return Err(AircraftError::NotInMaintenance(self.status));
        }
        let now = self.standing(today);
        let overdue = self
            .directives
            .iter()
            .find(|(_, d)| d.next_due.is_some_and(|limits| limits.remaining(now).is_overdue()));
        if let Some((number, _)) = overdue {
            return Err(AircraftError::DirectiveDue(number.clone()));
        }
        let record_sha256 = record_digest(self, &release);
        Ok(AircraftEvent::ReleasedToService {
            certifying_staff: release.certifying_staff,
            licence: release.licence,
            work_order: release.work_order,
            statement: release.statement,
            signed_by: release.signer,
            record_sha256,
        })
    }

    /// A flight must not take the aircraft past any directive's limit.
    fn check_directives_permit(
        &self,
        date: NaiveDate,
        minutes: u64,
        cycles: u64,
    ) -> Result<(), AircraftError> {
        let after = Standing {
            date,
            block_minutes: self.total_block_minutes + minutes,
            cycles: self.total_cycles + cycles,
        };
        let due = self
            .directives
            .iter()
            .find(|(_, d)| d.next_due.is_some_and(|limits| !limits.permit(date, after)));
        match due {
            Some((number, _)) => Err(AircraftError::DirectiveDue(number.clone())),
            None => Ok(()),
        }
    }

    async fn register(
        &mut self,
        cmd: RegisterAircraft,
        services: &AircraftServices,
        sink: &EventSink<Self>,
    ) -> Result<(), AircraftError> {
        if self.registration_number.is_some() {
            return Err(AircraftError::AlreadyRegistered);
        }
        let holder = services
            .registry
            .holder_of(&cmd.registration_number)
            .await
            .map_err(AircraftError::Unavailable)?;
        if holder.is_some() {
            return Err(AircraftError::RegistrationInUse(cmd.registration_number.to_string()));
        }
        let event = AircraftEvent::AircraftRegistered {
            registration_number: cmd.registration_number,
            aircraft_type: cmd.aircraft_type,
            model: cmd.model,
            serial_number: cmd.serial_number,
            operator: cmd.operator,
            year_of_manufacture: cmd.year_of_manufacture,
        };
        sink.write(event, self).await;
        Ok(())
    }

    /// The event recording only the fields that differ, or `None` for a no-op update.
    fn changed_details(&self, d: AircraftDetails) -> Option<AircraftEvent> {
        let operator = d.operator.filter(|v| Some(v) != self.operator.as_ref());
        let model = d.model.filter(|v| Some(v) != self.model.as_ref());
        let base_airport = d.base_airport.filter(|v| *v != self.base_airport);
        let notes = d.notes.filter(|v| *v != self.notes);
        if operator.is_none() && model.is_none() && base_airport.is_none() && notes.is_none() {
            return None;
        }
        Some(AircraftEvent::AircraftDetailsUpdated { operator, model, base_airport, notes })
    }

    fn change_status(&self, to: AircraftStatus, reason: Reason) -> Result<AircraftEvent, AircraftError> {
        let from = self.status;
        if from == to {
            return Err(AircraftError::StatusUnchanged(to));
        }
        if (from, to) == (AircraftStatus::InMaintenance, AircraftStatus::Active) {
            return Err(AircraftError::ReleaseRequired);
        }
        if !from.can_change_to(to) {
            return Err(AircraftError::TransitionNotAllowed { from, to });
        }
        Ok(AircraftEvent::AircraftStatusChanged { from, to, reason })
    }

    fn issue_certificate(
        &self,
        number: CertificateNumber,
        issued_on: NaiveDate,
        valid_until: NaiveDate,
    ) -> Result<AircraftEvent, AircraftError> {
        if valid_until <= issued_on {
            return Err(AircraftError::InvalidCertificatePeriod);
        }
        if self.certificates.iter().any(|c| c.number == number.as_str()) {
            return Err(AircraftError::CertificateAlreadyIssued(number.to_string()));
        }
        Ok(AircraftEvent::AirworthinessCertificateIssued { number, issued_on, valid_until })
    }

    fn check_may_fly(&self, date: NaiveDate) -> Result<(), AircraftError> {
        if !self.status.may_fly() {
            return Err(AircraftError::NotFlyable(self.status));
        }
        if !self.certificates.iter().any(|c| c.covers(date)) {
            return Err(AircraftError::NoValidCertificate(date));
        }
        Ok(())
    }
}

/// Rules of a flight on its own: not dated after tomorrow (a day of slack: the crew's calendar
/// day may be ahead of UTC), and at least one landing.
fn check_flight(date: NaiveDate, cycles: u32, today: NaiveDate) -> Result<(), AircraftError> {
    if date > today + chrono::Days::new(1) {
        return Err(AircraftError::FlightInFuture(date));
    }
    if cycles == 0 {
        return Err(AircraftError::NoCycles);
    }
    Ok(())
}

/// A directive is recorded from a received, not rejected document classified as an
/// airworthiness directive and linked to this aircraft.
async fn check_directive_document(
    id: uuid::Uuid,
    own_id: Option<uuid::Uuid>,
    documents: &dyn DocumentDirectory,
) -> Result<(), AircraftError> {
    let facts = documents.document(id).await.map_err(AircraftError::Unavailable)?;
    let facts = facts.ok_or(AircraftError::DocumentNotFound(id))?;
    if facts.rejected {
        return Err(AircraftError::DocumentRejected(id));
    }
    if facts.document_type != Some(DocumentType::AirworthinessDirective) {
        return Err(AircraftError::NotADirective(id));
    }
    match (facts.aircraft_id, own_id) {
        (Some(linked), Some(own)) if linked == own => Ok(()),
        _ => Err(AircraftError::DocumentNotLinked(id)),
    }
}
