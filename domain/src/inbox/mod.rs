//! One incoming document (directive, bulletin, work order, parts request…) and its handling.

mod aggregate;
mod commands;
mod errors;
mod events;
mod services;
#[cfg(test)]
mod tests;

pub use aggregate::InboxItem;
pub use commands::{InboxCommand, ReceiveFile};
pub use errors::InboxError;
pub use events::InboxEvent;
pub use services::{AircraftDirectory, AircraftStanding, InboxServices};

use serde::{Deserialize, Serialize};

/// Where a document is in its handling. `Archived` is terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InboxStatus {
    #[default]
    Received,
    Classified,
    Processed,
    Rejected,
    Archived,
}

impl InboxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Classified => "classified",
            Self::Processed => "processed",
            Self::Rejected => "rejected",
            Self::Archived => "archived",
        }
    }

    /// Still awaiting a decision (processing or rejection).
    pub fn is_open(self) -> bool {
        matches!(self, Self::Received | Self::Classified)
    }
}

impl std::fmt::Display for InboxStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
