//! The read model's queries: everything the read endpoints serve, from the projections only.
//! Runtime-checked SQL (no compile-time macros), so the same queries can later run against any
//! store that exposes the same relations.

pub mod aircraft;
pub mod directives;
pub mod inbox;
pub mod insights;
mod page;
pub mod search;
pub mod summary;
pub mod tmc;
pub mod views;

pub use page::{limit_clause, offset_clause, page_size, Cursor, CursorError, Page, MAX_PAGE_SIZE};

/// Why a query could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// A request parameter is wrong (maps to 422 with `field`).
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// The read store does not have the relation (yet).
    #[error("{0}")]
    NotAvailable(String),
    /// A stored event could not be read: folded for an as-of answer (the projector refuses it) or
    /// decoded for a history entry.
    #[error("{0}")]
    Unfoldable(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<crate::SubscriberError> for QueryError {
    fn from(e: crate::SubscriberError) -> Self {
        match e {
            crate::SubscriberError::Database(e) => Self::Database(e),
            other => Self::Unfoldable(other.to_string()),
        }
    }
}

impl QueryError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid { field: field.into(), message: message.into() }
    }
}

impl From<CursorError> for QueryError {
    fn from(e: CursorError) -> Self {
        Self::invalid("cursor", e.to_string())
    }
}

/// Escapes `%`, `_` and `\` for a LIKE pattern.
fn like_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}
