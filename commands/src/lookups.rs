//! The aggregates' `Services`, answered from the event store's own tables.

use klg_domain::aircraft::RegistrationRegistry;
use klg_domain::inbox::{AircraftDirectory, AircraftStanding};
use klg_domain::values::RegistrationNumber;
use sqlx::PgPool;
use uuid::Uuid;

/// Reads `aircraft_registrations`, the index kept by the event-append trigger.
pub struct PgRegistrationRegistry {
    pub pool: PgPool,
}

#[async_trait::async_trait]
impl RegistrationRegistry for PgRegistrationRegistry {
    async fn holder_of(&self, number: &RegistrationNumber) -> Result<Option<Uuid>, String> {
        let holder: Option<String> = sqlx::query_scalar(
            "SELECT aircraft_id FROM aircraft_registrations WHERE registration_number = $1",
        )
        .bind(number.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| e.to_string())?;
        Ok(holder.and_then(|id| id.parse().ok()))
    }
}

/// Reads an aircraft's standing from its events.
pub struct PgAircraftDirectory {
    pub pool: PgPool,
}

#[async_trait::async_trait]
impl AircraftDirectory for PgAircraftDirectory {
    async fn standing(&self, aircraft_id: Uuid) -> Result<Option<AircraftStanding>, String> {
        let decommissioned: Option<bool> = sqlx::query_scalar(
            "SELECT bool_or(event_type = 'AircraftDecommissioned') FROM events \
             WHERE aggregate_type = 'Aircraft' AND aggregate_id = $1",
        )
        .bind(aircraft_id.to_string())
        .fetch_one(&self.pool)
        .await
        .map_err(|e| e.to_string())?;
        Ok(decommissioned
            .map(|d| if d { AircraftStanding::Decommissioned } else { AircraftStanding::InService }))
    }
}

/// The system clock, in UTC.
pub struct UtcClock;

impl klg_domain::aircraft::Clock for UtcClock {
    fn today(&self) -> chrono::NaiveDate {
        chrono::Utc::now().date_naive()
    }
}
