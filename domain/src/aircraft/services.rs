use crate::values::RegistrationNumber;

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

/// External services the `Aircraft` aggregate uses.
pub struct AircraftServices {
    pub registry: Box<dyn RegistrationRegistry>,
    pub clock: Box<dyn Clock>,
}

impl AircraftServices {
    pub fn new(registry: impl RegistrationRegistry + 'static, clock: impl Clock + 'static) -> Self {
        Self { registry: Box::new(registry), clock: Box::new(clock) }
    }
}
