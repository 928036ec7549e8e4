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
}

impl<C> Guarded<C> {
    pub fn new(command: C, expected_version: Option<u64>) -> Self {
        Self { expected_version, command }
    }
}

impl<C> From<C> for Guarded<C> {
    fn from(command: C) -> Self {
        Self { expected_version: None, command }
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
