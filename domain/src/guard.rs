//! Optimistic-concurrency guard carried by every command.

/// A command plus the aggregate version the caller last saw (HTTP `If-Match`).
///
/// The check runs inside `Aggregate::handle`, against the version loaded in the same
/// load → handle → commit cycle; if another writer commits in between, the event store's
/// sequence key rejects the commit and the retry sees the newer version. So a guarded
/// command is applied only on exactly the version the caller saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Guarded<C> {
    pub expected_version: Option<u64>,
    pub command: C,
    /// The aggregate the command is addressed to, set by the service that routes it there
    /// ([`Addressed`]): cqrs-es gives an aggregate its events, never its id, and some rules
    /// need it (a document must be linked to *this* aircraft).
    pub aggregate_id: Option<uuid::Uuid>,
}

impl<C> Guarded<C> {
    pub fn new(command: C, expected_version: Option<u64>) -> Self {
        Self { expected_version, command, aggregate_id: None }
    }
}

impl<C> From<C> for Guarded<C> {
    fn from(command: C) -> Self {
        Self::new(command, None)
    }
}

/// A command that can be told which aggregate it is addressed to.
pub trait Addressed {
    fn address(&mut self, id: uuid::Uuid);
}

impl<C> Addressed for Guarded<C> {
    fn address(&mut self, id: uuid::Uuid) {
        self.aggregate_id = Some(id);
    }
}

/// A command that can name itself for the audit trail (stored as the `command` metadata).
pub trait NamedCommand: Clone + Send + Sync {
    fn name(&self) -> &'static str;
}

impl<C: NamedCommand> NamedCommand for Guarded<C> {
    fn name(&self) -> &'static str {
        self.command.name()
    }
}
