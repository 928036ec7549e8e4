use crate::aircraft::{Clock, DocumentDirectory};
use crate::inbox::AircraftDirectory;

/// External services the `PartsRequest` aggregate uses.
pub struct PartsServices {
    pub aircraft: Box<dyn AircraftDirectory>,
    pub documents: Box<dyn DocumentDirectory>,
    pub clock: Box<dyn Clock>,
}

impl PartsServices {
    pub fn new(
        aircraft: impl AircraftDirectory + 'static,
        documents: impl DocumentDirectory + 'static,
        clock: impl Clock + 'static,
    ) -> Self {
        Self { aircraft: Box::new(aircraft), documents: Box::new(documents), clock: Box::new(clock) }
    }
}
