//! TMC (ТМЦ, товарно-материальные ценности): a request for a part or material for an aircraft,
//! from request to installation — requested → approved → ordered → received → installed, or
//! cancelled / rejected with a reason.

mod aggregate;
mod commands;
mod errors;
mod events;
mod services;
#[cfg(test)]
mod tests;

pub use aggregate::PartsRequest;
pub use commands::{NewPartsRequest, PartsCommand, RequestReason};
pub use errors::PartsRequestError;
pub use events::PartsEvent;
pub use services::PartsServices;

use serde::{Deserialize, Serialize};

/// Where a request stands. `Installed`, `Cancelled` and `Rejected` are terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PartsRequestStatus {
    #[default]
    Requested,
    Approved,
    Ordered,
    Received,
    Installed,
    Cancelled,
    Rejected,
}

/// What can be done to a request (every command but the request itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Approve,
    Order,
    Receive,
    Install,
    Cancel,
    Reject,
}

impl PartsRequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Approved => "approved",
            Self::Ordered => "ordered",
            Self::Received => "received",
            Self::Installed => "installed",
            Self::Cancelled => "cancelled",
            Self::Rejected => "rejected",
        }
    }

    /// The state machine: the status a step leads to from this one, if it is allowed. A part
    /// received is no longer cancelled (it is in stores, to be fitted or returned through a new
    /// request); only a request not yet approved is rejected.
    pub fn after(self, step: Step) -> Option<Self> {
        use PartsRequestStatus::*;
        match (self, step) {
            (Requested, Step::Approve) => Some(Approved),
            (Requested, Step::Reject) => Some(Rejected),
            (Approved, Step::Order) => Some(Ordered),
            (Ordered, Step::Receive) => Some(Received),
            (Received, Step::Install) => Some(Installed),
            (Requested | Approved | Ordered, Step::Cancel) => Some(Cancelled),
            _ => None,
        }
    }
}

impl std::fmt::Display for PartsRequestStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Order => "order",
            Self::Receive => "receive",
            Self::Install => "install",
            Self::Cancel => "cancel",
            Self::Reject => "reject",
        }
    }
}
