//! Error vocabulary shared by the aggregates. HTTP-agnostic: the API maps [`ErrorKind`] to a
//! status code and uses `code()` as the stable problem type.

use serde::Serialize;

/// How a refused command should be reported, independent of transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The addressed aggregate does not exist.
    NotFound,
    /// A domain rule refuses the command in the aggregate's current state.
    Conflict,
    /// The caller's expected version is not the current one.
    PreconditionFailed,
    /// A value in the command is invalid.
    Invalid,
    /// A dependency (the database) could not answer.
    Unavailable,
}

/// One offending input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// All field errors of one request, collected so the caller sees every problem at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// Records the error of a parse and returns its value, if any.
    pub fn check<T, E: std::fmt::Display>(&mut self, field: &str, r: Result<T, E>) -> Option<T> {
        r.map_err(|e| self.push(field, e.to_string())).ok()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_result<T>(self, value: impl FnOnce() -> T) -> Result<T, ValidationErrors> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(self)
        }
    }
}

impl std::fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for ValidationErrors {}

/// What the application layer needs to know about a refused command, whichever aggregate.
pub trait DomainError: std::error::Error + Send + Sync + 'static {
    fn kind(&self) -> ErrorKind;
    /// Stable machine-readable code, used as the problem type.
    fn code(&self) -> &'static str;
    /// The request field at fault, for errors caused by one.
    fn field(&self) -> Option<&'static str> {
        None
    }
}
