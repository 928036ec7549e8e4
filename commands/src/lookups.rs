//! The aggregates' `Services`, answered from the event store's own tables.

use klg_domain::aircraft::{DocumentDirectory, DocumentFacts, RegistrationRegistry};
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

/// Reads a document's classification, link and rejection from its events (the write side's
/// own record: the inbox projection may lag behind a classification just made).
pub struct PgDocumentDirectory {
    pub pool: PgPool,
}

#[async_trait::async_trait]
impl DocumentDirectory for PgDocumentDirectory {
    async fn document(&self, id: Uuid) -> Result<Option<DocumentFacts>, String> {
        let row: (i64, Option<serde_json::Value>, Option<String>, bool) = sqlx::query_as(
            "SELECT count(*), \
                    (array_agg(payload -> 'DocumentClassified' -> 'document_type' ORDER BY sequence DESC) \
                       FILTER (WHERE event_type = 'DocumentClassified'))[1], \
                    (array_agg(payload -> 'DocumentLinkedToAircraft' ->> 'aircraft_id' ORDER BY sequence DESC) \
                       FILTER (WHERE event_type = 'DocumentLinkedToAircraft'))[1], \
                    coalesce(bool_or(event_type = 'DocumentRejected'), false) \
             FROM events WHERE aggregate_type = 'InboxItem' AND aggregate_id = $1",
        )
        .bind(id.to_string())
        .fetch_one(&self.pool)
        .await
        .map_err(|e| e.to_string())?;
        let (events, document_type, aircraft_id, rejected) = row;
        if events == 0 {
            return Ok(None);
        }
        let document_type =
            document_type.map(serde_json::from_value).transpose().map_err(|e| e.to_string())?;
        let aircraft_id =
            aircraft_id.map(|a| a.parse()).transpose().map_err(|e: uuid::Error| e.to_string())?;
        Ok(Some(DocumentFacts { document_type, aircraft_id, rejected }))
    }
}

/// The system clock, in UTC.
pub struct UtcClock;

impl klg_domain::aircraft::Clock for UtcClock {
    fn today(&self) -> chrono::NaiveDate {
        chrono::Utc::now().date_naive()
    }
}
