use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{AircraftStanding, InboxCommand, InboxError, InboxEvent, InboxServices, InboxStatus};
use crate::guard::Guarded;
use crate::values::DocumentType;

/// State of one document, folded from its events. Changed only by `apply`.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboxItem {
    version: u64,
    received: bool,
    status: InboxStatus,
    document_type: Option<DocumentType>,
    aircraft_id: Option<Uuid>,
}

impl Aggregate for InboxItem {
    const TYPE: &'static str = "InboxItem";
    type Command = Guarded<InboxCommand>;
    type Event = InboxEvent;
    type Error = InboxError;
    type Services = InboxServices;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), InboxError> {
        let Guarded { expected_version, command, .. } = command;
        if let InboxCommand::Receive(file) = command {
            if self.received {
                return Err(InboxError::AlreadyReceived);
            }
            if file.size_bytes == 0 {
                return Err(InboxError::EmptyFile);
            }
            let event = InboxEvent::FileReceived {
                filename: file.filename,
                content_type: file.content_type,
                size_bytes: file.size_bytes,
                sha256: file.sha256,
                source: file.source,
            };
            sink.write(event, self).await;
            return Ok(());
        }
        if !self.received {
            return Err(InboxError::NotFound);
        }
        if let Some(expected) = expected_version.filter(|v| *v != self.version) {
            return Err(InboxError::VersionMismatch { expected, actual: self.version });
        }
        if self.status == InboxStatus::Archived {
            return Err(InboxError::Archived);
        }
        let event = match command {
            InboxCommand::Receive(_) => unreachable!("handled above"),
            InboxCommand::Classify { document_type } => {
                self.require_open("classify")?;
                if self.document_type == Some(document_type) {
                    return Ok(());
                }
                InboxEvent::DocumentClassified { document_type, previous: self.document_type }
            }
            InboxCommand::LinkToAircraft { aircraft_id } => {
                if self.status == InboxStatus::Rejected {
                    return Err(self.not_allowed("link"));
                }
                if self.aircraft_id == Some(aircraft_id) {
                    return Ok(());
                }
                check_linkable(services, aircraft_id).await?;
                InboxEvent::DocumentLinkedToAircraft { aircraft_id, previous: self.aircraft_id }
            }
            InboxCommand::MarkProcessed { note } => {
                match self.status {
                    InboxStatus::Received => return Err(InboxError::NotClassified),
                    InboxStatus::Classified => {}
                    _ => return Err(self.not_allowed("process")),
                }
                InboxEvent::DocumentProcessed { note }
            }
            InboxCommand::Reject { reason } => {
                self.require_open("reject")?;
                InboxEvent::DocumentRejected { reason }
            }
            InboxCommand::Archive => {
                if self.status.is_open() {
                    return Err(self.not_allowed("archive"));
                }
                InboxEvent::DocumentArchived {}
            }
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: InboxEvent) {
        self.version += 1;
        match event {
            InboxEvent::FileReceived { .. } => self.received = true,
            InboxEvent::DocumentClassified { document_type, .. } => {
                self.document_type = Some(document_type);
                self.status = InboxStatus::Classified;
            }
            InboxEvent::DocumentLinkedToAircraft { aircraft_id, .. } => self.aircraft_id = Some(aircraft_id),
            InboxEvent::DocumentProcessed { .. } => self.status = InboxStatus::Processed,
            InboxEvent::DocumentRejected { .. } => self.status = InboxStatus::Rejected,
            InboxEvent::DocumentArchived {} => self.status = InboxStatus::Archived,
        }
    }
}

impl InboxItem {
    /// Number of events applied; the `ETag` of the document.
    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn status(&self) -> InboxStatus {
        self.status
    }

    pub fn document_type(&self) -> Option<DocumentType> {
        self.document_type
    }

    pub fn aircraft_id(&self) -> Option<Uuid> {
        self.aircraft_id
    }

    fn not_allowed(&self, action: &'static str) -> InboxError {
        InboxError::NotAllowed { action, status: self.status }
    }

    fn require_open(&self, action: &'static str) -> Result<(), InboxError> {
        if self.status.is_open() {
            Ok(())
        } else {
            Err(self.not_allowed(action))
        }
    }
}

async fn check_linkable(services: &InboxServices, aircraft_id: Uuid) -> Result<(), InboxError> {
    match services.aircraft.standing(aircraft_id).await.map_err(InboxError::Unavailable)? {
        Some(AircraftStanding::InService) => Ok(()),
        Some(AircraftStanding::Decommissioned) => Err(InboxError::AircraftDecommissioned(aircraft_id)),
        None => Err(InboxError::UnknownAircraft(aircraft_id)),
    }
}
