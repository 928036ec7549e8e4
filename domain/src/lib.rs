//! KLG domain model: the `Aircraft`, `InboxItem` and `PartsRequest` (TMC) aggregates, their commands, events,
//! validated value types and domain errors. Pure: no I/O. External facts an aggregate needs
//! (is a registration number taken? does an aircraft exist?) come through the `Services` traits,
//! implemented by the `commands` crate.

pub mod aircraft;
pub mod errors;
pub mod guard;
pub mod identity;
pub mod inbox;
pub mod tmc;
pub mod upcast;
pub mod values;

pub use errors::{DomainError, ErrorKind, FieldError, ValidationErrors};
pub use guard::{Addressed, Guarded, NamedCommand};
