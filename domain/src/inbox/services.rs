use uuid::Uuid;

/// What the inbox needs to know about an aircraft it links a document to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AircraftStanding {
    InService,
    Decommissioned,
}

/// Looks aircraft up in the event store.
#[async_trait::async_trait]
pub trait AircraftDirectory: Send + Sync {
    /// `None` when no aircraft with this id was ever registered.
    async fn standing(&self, aircraft_id: Uuid) -> Result<Option<AircraftStanding>, String>;
}

/// External services the `InboxItem` aggregate uses.
pub struct InboxServices {
    pub aircraft: Box<dyn AircraftDirectory>,
}

impl InboxServices {
    pub fn new(aircraft: impl AircraftDirectory + 'static) -> Self {
        Self { aircraft: Box::new(aircraft) }
    }
}
