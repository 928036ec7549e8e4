use crate::values::RegistrationNumber;

/// Who holds a registration number right now. Implemented over the event store's registration
/// index; the index's unique key is the real guarantee under concurrency, this lookup lets the
/// aggregate refuse early with a clear error.
#[async_trait::async_trait]
pub trait RegistrationRegistry: Send + Sync {
    /// The id of the non-decommissioned aircraft holding `number`, if any.
    async fn holder_of(&self, number: &RegistrationNumber) -> Result<Option<uuid::Uuid>, String>;
}

/// External services the `Aircraft` aggregate uses.
pub struct AircraftServices {
    pub registry: Box<dyn RegistrationRegistry>,
}

impl AircraftServices {
    pub fn new(registry: impl RegistrationRegistry + 'static) -> Self {
        Self { registry: Box::new(registry) }
    }
}
