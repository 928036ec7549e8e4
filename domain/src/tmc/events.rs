use chrono::NaiveDate;
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::RequestReason;
use crate::values::{Name, Note, PartNumber, Reason, SerialNumber, WorkOrderRef};

/// Events of the `PartsRequest` aggregate (`event_version` "1.0").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PartsEvent {
    PartsRequested {
        part_number: PartNumber,
        description: Name,
        quantity: u32,
        aircraft_id: Uuid,
        reason: RequestReason,
        source_document: Option<Uuid>,
    },
    PartsRequestApproved {
        note: Option<Note>,
    },
    PartsOrdered {
        supplier: Name,
        order_ref: WorkOrderRef,
    },
    PartsReceived {
        note: Option<Note>,
    },
    PartsInstalled {
        aircraft_id: Uuid,
        part_number: PartNumber,
        serial_number: SerialNumber,
        installed_on: NaiveDate,
        work_order: WorkOrderRef,
    },
    PartsRequestCancelled {
        reason: Reason,
    },
    PartsRequestRejected {
        reason: Reason,
    },
}

impl DomainEvent for PartsEvent {
    fn event_type(&self) -> String {
        match self {
            Self::PartsRequested { .. } => "PartsRequested",
            Self::PartsRequestApproved { .. } => "PartsRequestApproved",
            Self::PartsOrdered { .. } => "PartsOrdered",
            Self::PartsReceived { .. } => "PartsReceived",
            Self::PartsInstalled { .. } => "PartsInstalled",
            Self::PartsRequestCancelled { .. } => "PartsRequestCancelled",
            Self::PartsRequestRejected { .. } => "PartsRequestRejected",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}
