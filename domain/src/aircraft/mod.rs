//! The airworthiness record of one airframe.

mod aggregate;
mod commands;
#[cfg(test)]
mod directive_tests;
pub mod directives;
mod errors;
mod events;
pub mod release;
#[cfg(test)]
mod release_tests;
mod services;
#[cfg(test)]
mod tests;

pub use aggregate::{Aircraft, Certificate};
pub use commands::{AircraftCommand, AircraftDetails, RegisterAircraft};
pub use errors::AircraftError;
pub use events::AircraftEvent;
pub use services::{AircraftServices, Clock, DocumentDirectory, DocumentFacts, RegistrationRegistry};

use serde::{Deserialize, Serialize};

/// Operational status of an aircraft. `Decommissioned` is reached only through the
/// `Decommission` command and is terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AircraftStatus {
    #[default]
    Active,
    InMaintenance,
    Grounded,
    Stored,
    Decommissioned,
}

impl AircraftStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::InMaintenance => "in_maintenance",
            Self::Grounded => "grounded",
            Self::Stored => "stored",
            Self::Decommissioned => "decommissioned",
        }
    }

    /// Transitions a `ChangeStatus` command may make. A grounded or stored aircraft returns to
    /// service only through maintenance (a check must clear it first), and from maintenance
    /// only with a release to service (`ReleaseToService`, not `ChangeStatus`).
    pub fn can_change_to(self, to: AircraftStatus) -> bool {
        use AircraftStatus::*;
        matches!(
            (self, to),
            (Active, InMaintenance | Grounded | Stored)
                | (InMaintenance, Grounded | Stored)
                | (Grounded, InMaintenance | Stored)
                | (Stored, InMaintenance | Grounded)
        )
    }

    /// Whether flights may be logged in this status.
    pub fn may_fly(self) -> bool {
        matches!(self, Self::Active | Self::InMaintenance)
    }
}

impl std::fmt::Display for AircraftStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
