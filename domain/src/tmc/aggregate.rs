use chrono::NaiveDate;
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    NewPartsRequest, PartsCommand, PartsEvent, PartsRequestError, PartsRequestStatus, PartsServices,
};
use crate::aircraft::DocumentDirectory;
use crate::guard::Guarded;
use crate::inbox::{AircraftDirectory, AircraftStanding};
use crate::values::{DocumentType, PartNumber, SerialNumber, WorkOrderRef};

/// Most of one part a single request asks for.
pub const MAX_QUANTITY: u32 = 10_000;

/// State of one parts request, folded from its events. Changed only by `apply`.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartsRequest {
    version: u64,
    status: PartsRequestStatus,
    /// The aircraft and part asked for; `None` until requested.
    requested: Option<(Uuid, PartNumber)>,
    /// Serial number, date and work order of the installation, once installed.
    installation: Option<(SerialNumber, NaiveDate, WorkOrderRef)>,
}

impl Aggregate for PartsRequest {
    const TYPE: &'static str = "PartsRequest";
    type Command = Guarded<PartsCommand>;
    type Event = PartsEvent;
    type Error = PartsRequestError;
    type Services = PartsServices;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), PartsRequestError> {
        let Guarded { expected_version, command, .. } = command;
        if let PartsCommand::Request(new) = command {
            let event = self.request(new, services).await?;
            sink.write(event, self).await;
            return Ok(());
        }
        let Some((aircraft_id, part_number)) = self.requested.clone() else {
            return Err(PartsRequestError::NotFound);
        };
        if let Some(expected) = expected_version.filter(|v| *v != self.version) {
            return Err(PartsRequestError::VersionMismatch { expected, actual: self.version });
        }
        if let PartsCommand::Install { serial_number, installed_on, work_order } = &command {
            // Repeating the installation changes nothing: a retry after the aircraft's record
            // could not be written then completes it.
            if self.installation.as_ref() == Some(&(serial_number.clone(), *installed_on, work_order.clone()))
            {
                return Ok(());
            }
        }
        let step = command.step().expect("every command but the request is a step");
        if self.status.after(step).is_none() {
            return Err(PartsRequestError::NotAllowed { step, status: self.status });
        }
        let event = match command {
            PartsCommand::Request(_) => unreachable!("handled above"),
            PartsCommand::Approve { note } => PartsEvent::PartsRequestApproved { note },
            PartsCommand::Order { supplier, order_ref } => PartsEvent::PartsOrdered { supplier, order_ref },
            PartsCommand::Receive { note } => PartsEvent::PartsReceived { note },
            PartsCommand::Install { serial_number, installed_on, work_order } => {
                check_installation(aircraft_id, installed_on, services).await?;
                PartsEvent::PartsInstalled {
                    aircraft_id,
                    part_number,
                    serial_number,
                    installed_on,
                    work_order,
                }
            }
            PartsCommand::Cancel { reason } => PartsEvent::PartsRequestCancelled { reason },
            PartsCommand::Reject { reason } => PartsEvent::PartsRequestRejected { reason },
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: PartsEvent) {
        self.version += 1;
        self.status = match event {
            PartsEvent::PartsRequested { aircraft_id, part_number, .. } => {
                self.requested = Some((aircraft_id, part_number));
                PartsRequestStatus::Requested
            }
            PartsEvent::PartsRequestApproved { .. } => PartsRequestStatus::Approved,
            PartsEvent::PartsOrdered { .. } => PartsRequestStatus::Ordered,
            PartsEvent::PartsReceived { .. } => PartsRequestStatus::Received,
            PartsEvent::PartsInstalled { serial_number, installed_on, work_order, .. } => {
                self.installation = Some((serial_number, installed_on, work_order));
                PartsRequestStatus::Installed
            }
            PartsEvent::PartsRequestCancelled { .. } => PartsRequestStatus::Cancelled,
            PartsEvent::PartsRequestRejected { .. } => PartsRequestStatus::Rejected,
        };
    }
}

impl PartsRequest {
    /// Number of events applied; the `ETag` of the request.
    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn status(&self) -> PartsRequestStatus {
        self.status
    }

    pub fn aircraft_id(&self) -> Option<Uuid> {
        self.requested.as_ref().map(|(aircraft, _)| *aircraft)
    }

    pub fn part_number(&self) -> Option<&PartNumber> {
        self.requested.as_ref().map(|(_, part)| part)
    }

    /// A request for an aircraft in service, from a parts-request document if one is named.
    async fn request(
        &self,
        new: NewPartsRequest,
        services: &PartsServices,
    ) -> Result<PartsEvent, PartsRequestError> {
        if self.requested.is_some() {
            return Err(PartsRequestError::AlreadyRequested);
        }
        if !(1..=MAX_QUANTITY).contains(&new.quantity) {
            return Err(PartsRequestError::InvalidQuantity);
        }
        check_in_service(services.aircraft.as_ref(), new.aircraft_id).await?;
        if let Some(document) = new.source_document {
            check_parts_document(services.documents.as_ref(), document).await?;
        }
        Ok(PartsEvent::PartsRequested {
            part_number: new.part_number,
            description: new.description,
            quantity: new.quantity,
            aircraft_id: new.aircraft_id,
            reason: new.reason,
            source_document: new.source_document,
        })
    }
}

/// Fitted no later than tomorrow (the crew's calendar may run ahead of UTC), to an aircraft
/// still in service.
async fn check_installation(
    aircraft_id: Uuid,
    on: NaiveDate,
    services: &PartsServices,
) -> Result<(), PartsRequestError> {
    if on > services.clock.today() + chrono::Days::new(1) {
        return Err(PartsRequestError::InstalledInFuture(on));
    }
    check_in_service(services.aircraft.as_ref(), aircraft_id).await
}

async fn check_in_service(aircraft: &dyn AircraftDirectory, id: Uuid) -> Result<(), PartsRequestError> {
    match aircraft.standing(id).await.map_err(PartsRequestError::Unavailable)? {
        Some(AircraftStanding::InService) => Ok(()),
        Some(AircraftStanding::Decommissioned) => Err(PartsRequestError::AircraftDecommissioned(id)),
        None => Err(PartsRequestError::UnknownAircraft(id)),
    }
}

async fn check_parts_document(documents: &dyn DocumentDirectory, id: Uuid) -> Result<(), PartsRequestError> {
    let facts = documents.document(id).await.map_err(PartsRequestError::Unavailable)?;
    match facts {
        None => Err(PartsRequestError::DocumentNotFound(id)),
        Some(f) if f.rejected || f.document_type != Some(DocumentType::PartsRequest) => {
            Err(PartsRequestError::NotAPartsRequest(id))
        }
        Some(_) => Ok(()),
    }
}
