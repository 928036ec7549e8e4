use chrono::NaiveDate;
use uuid::Uuid;

use super::Step;
use crate::values::{DirectiveNumber, Name, Note, PartNumber, Reason, SerialNumber, WorkOrderRef};

/// Why a part is needed: a directive or a work order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "reference")]
pub enum RequestReason {
    Directive(DirectiveNumber),
    WorkOrder(WorkOrderRef),
}

/// A new request. Values are already validated.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPartsRequest {
    pub part_number: PartNumber,
    pub description: Name,
    /// At least 1.
    pub quantity: u32,
    pub aircraft_id: Uuid,
    pub reason: RequestReason,
    /// The inbox document (classified `parts_request`) the request was made from, if any.
    pub source_document: Option<Uuid>,
}

/// Commands on a [`PartsRequest`](super::PartsRequest).
#[derive(Debug, Clone, PartialEq)]
pub enum PartsCommand {
    Request(NewPartsRequest),
    Approve {
        note: Option<Note>,
    },
    Order {
        supplier: Name,
        order_ref: WorkOrderRef,
    },
    Receive {
        note: Option<Note>,
    },
    /// Fitted to the request's aircraft; the API then records it on the aircraft's record.
    Install {
        serial_number: SerialNumber,
        installed_on: NaiveDate,
        work_order: WorkOrderRef,
    },
    Cancel {
        reason: Reason,
    },
    Reject {
        reason: Reason,
    },
}

impl PartsCommand {
    /// The step of the state machine this command takes (`None` for the request itself).
    pub fn step(&self) -> Option<Step> {
        match self {
            Self::Request(_) => None,
            Self::Approve { .. } => Some(Step::Approve),
            Self::Order { .. } => Some(Step::Order),
            Self::Receive { .. } => Some(Step::Receive),
            Self::Install { .. } => Some(Step::Install),
            Self::Cancel { .. } => Some(Step::Cancel),
            Self::Reject { .. } => Some(Step::Reject),
        }
    }
}

impl crate::guard::NamedCommand for PartsCommand {
    fn name(&self) -> &'static str {
        match self {
            Self::Request(_) => "RequestParts",
            Self::Approve { .. } => "ApprovePartsRequest",
            Self::Order { .. } => "OrderParts",
            Self::Receive { .. } => "ReceiveParts",
            Self::Install { .. } => "InstallParts",
            Self::Cancel { .. } => "CancelPartsRequest",
            Self::Reject { .. } => "RejectPartsRequest",
        }
    }
}
