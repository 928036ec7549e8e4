//! KLG write side: cqrs-es over postgres-es on PostgreSQL, command execution with optimistic
//! concurrency retries, per-event metadata, idempotency keys, and the content-addressed blob store.

mod append;
pub mod blobs;
pub mod db;
mod error;
mod locks;
pub mod lookups;
pub mod metadata;
mod service;
mod store;

pub use append::MAX_IN_FLIGHT as GROUPS_IN_FLIGHT;
pub use error::CommandError;
pub use lookups::{PgAircraftDirectory, PgRegistrationRegistry};
pub use metadata::{CommandMetadata, IdempotencyClaim};
pub use service::{CommandOutcome, CommandService, Installation, WriteSide, DEFAULT_LOCK_WAIT};
