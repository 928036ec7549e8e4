use crate::values::{DocumentType, RegistrationNumber};

/// Who holds a registration number right now. Implemented over the event store's registration
/// index; the index's unique key is the real guarantee under concurrency, this lookup lets the
/// aggregate refuse early with a clear error.
#[async_trait::async_trait]
pub trait RegistrationRegistry: Send + Sync {
    /// The id of the non-decommissioned aircraft holding `number`, if any.
    async fn holder_of(&self, number: &RegistrationNumber) -> Result<Option<uuid::Uuid>, String>;
}

/// Today's date where the decision is taken (UTC), for rules about the future.
pub trait Clock: Send + Sync {
    fn today(&self) -> chrono::NaiveDate;
}

/// What the write side knows of an inbox document, for a directive recorded from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentFacts {
    pub document_type: Option<DocumentType>,
    pub aircraft_id: Option<uuid::Uuid>,
    pub rejected: bool,
}

/// Inbox documents as the event store records them (not the projection, which may lag).
#[async_trait::async_trait]
pub trait DocumentDirectory: Send + Sync {
    /// `None` when no such document was received.
    async fn document(&self, id: uuid::Uuid) -> Result<Option<DocumentFacts>, String>;
}

/// External services the `Aircraft` aggregate uses.
pub struct AircraftServices {
    pub registry: Box<dyn RegistrationRegistry>,
    pub clock: Box<dyn Clock>,
    pub documents: Box<dyn DocumentDirectory>,
}

impl AircraftServices {
    pub fn new(
        registry: impl RegistrationRegistry + 'static,
        clock: impl Clock + 'static,
        documents: impl DocumentDirectory + 'static,
    ) -> Self {
        Self { registry: Box::new(registry), clock: Box::new(clock), documents: Box::new(documents) }
    }
}
