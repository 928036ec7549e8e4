use klg_domain::{DomainError, ErrorKind};

/// Why a command was not applied. Nothing was stored in every case.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The aggregate refused the command.
    #[error("{message}")]
    Refused { kind: ErrorKind, code: &'static str, message: String, field: Option<&'static str> },
    /// Other writers kept winning the race for this aggregate; the caller may retry.
    #[error("the record kept changing under concurrent writes; retry the request")]
    Contended,
    /// Other commands on this aggregate kept it busy past the wait bound; the caller may retry.
    #[error("the record is busy with other commands (waited {} ms); retry the request", waited.as_millis())]
    Busy { waited: std::time::Duration },
    /// The idempotency key was first used with a different request.
    #[error("idempotency key was already used with a different request")]
    IdempotencyKeyReused,
    /// The database could not be reached.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug or corrupt data. Details go to the log, not to the client.
    #[error("internal error: {0}")]
    Internal(String),
}

impl CommandError {
    pub(crate) fn refused(e: &impl DomainError) -> Self {
        if e.kind() == ErrorKind::Unavailable {
            return Self::Unavailable(e.to_string());
        }
        Self::Refused { kind: e.kind(), code: e.code(), message: e.to_string(), field: e.field() }
    }

    pub(crate) fn from_database(error: &(dyn std::error::Error + 'static)) -> Self {
        // The driver error may be wrapped by postgres-es; look through the chain.
        let mut cause = Some(error);
        while let Some(e) = cause {
            if let Some(sqlx_error) = e.downcast_ref::<sqlx::Error>() {
                if crate::db::is_unavailable(sqlx_error) {
                    return Self::Unavailable(sqlx_error.to_string());
                }
            }
            cause = e.source();
        }
        Self::Internal(error.to_string())
    }
}

impl From<sqlx::Error> for CommandError {
    fn from(e: sqlx::Error) -> Self {
        Self::from_database(&e)
    }
}
