//! The projector: the subscription that keeps KLG's PostgreSQL projections (`aircraft`,
//! `aircraft_history`, `aircraft_stats`, `inbox_files`, `inbox_history`) in step with the log.
//!
//! Each row carries the version (sequence) of the last event applied to it, and every update
//! requires the previous version: an event applied twice or out of order fails loudly instead
//! of corrupting a row (the subscription then stops at that event and reports it).

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use klg_domain::aircraft::{Aircraft, AircraftEvent};
use klg_domain::inbox::{InboxEvent, InboxItem};
use serde::de::DeserializeOwned;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::log::StoredEvent;
use crate::subscription::{Subscriber, SubscriberError};

/// Name of the projector's subscription (its checkpoint row).
pub const PROJECTIONS: &str = "projections";

/// Tables the projector owns, emptied by a rebuild.
pub const PROJECTION_TABLES: [&str; 5] =
    ["aircraft", "aircraft_history", "aircraft_stats", "inbox_files", "inbox_history"];

pub struct Projector;

#[async_trait::async_trait]
impl Subscriber for Projector {
    async fn apply(&self, tx: &mut PgConnection, events: &[StoredEvent]) -> Result<(), SubscriberError> {
        for event in events {
            match event.aggregate_type.as_str() {
                Aircraft::TYPE => project_aircraft(tx, event, decode(event)?).await?,
                InboxItem::TYPE => project_inbox(tx, event, decode(event)?).await?,
                _ => {} // Not projected here.
            }
        }
        Ok(())
    }
}

/// Empties the projections and rewinds the projector to the start of the log, in one
/// transaction; the projector then rebuilds them from the log.
pub async fn reset(pool: &sqlx::PgPool) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    // Wait for a running batch to finish, and keep the next one out until we commit.
    sqlx::query("INSERT INTO subscription_checkpoints (name) VALUES ($1) ON CONFLICT (name) DO NOTHING")
        .bind(PROJECTIONS)
        .execute(&mut *tx)
        .await?;
    sqlx::query("SELECT 1 FROM subscription_checkpoints WHERE name = $1 FOR UPDATE")
        .bind(PROJECTIONS)
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!("TRUNCATE {}", PROJECTION_TABLES.join(", "))).execute(&mut *tx).await?;
    sqlx::query(
        "UPDATE subscription_checkpoints SET transaction_id = '0', global_position = 0, events_handled = 0, \
         updated_at = now() WHERE name = $1",
    )
    .bind(PROJECTIONS)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

fn decode<E: DeserializeOwned>(event: &StoredEvent) -> Result<E, SubscriberError> {
    if event.event_version != "1.0" {
        return Err(poison(event, format!("no upcaster for event version {}", event.event_version)));
    }
    serde_json::from_value(event.payload.clone()).map_err(|e| poison(event, e.to_string()))
}

fn poison(event: &StoredEvent, reason: impl Into<String>) -> SubscriberError {
    SubscriberError::Poison {
        event_id: event.event_id,
        event_type: event.event_type.clone(),
        reason: reason.into(),
    }
}

/// The aggregate id, checked to be a UUID, in its text form (the read relations' id type).
fn aggregate_uuid(event: &StoredEvent) -> Result<String, SubscriberError> {
    event
        .aggregate_id
        .parse::<Uuid>()
        .map(|id| id.to_string())
        .map_err(|_| poison(event, "aggregate id is not a UUID"))
}

/// Fails unless exactly one row was changed: the version guard of every update.
fn expect_one(event: &StoredEvent, result: sqlx::postgres::PgQueryResult) -> Result<(), SubscriberError> {
    match result.rows_affected() {
        1 => Ok(()),
        _ => Err(poison(
            event,
            format!("row is not at version {} (duplicate or out-of-order event)", event.sequence - 1),
        )),
    }
}

async fn project_aircraft(
    tx: &mut PgConnection,
    e: &StoredEvent,
    event: AircraftEvent,
) -> Result<(), SubscriberError> {
    let id = aggregate_uuid(e)?;
    let at = e.recorded_at;
    let result = match &event {
        AircraftEvent::AircraftRegistered {
            registration_number,
            aircraft_type,
            model,
            serial_number,
            operator,
            year_of_manufacture,
        } => {
            sqlx::query(
                "INSERT INTO aircraft (id, registration_number, aircraft_type, model, serial_number, operator, \
                 year_of_manufacture, status, status_changed_at, version, last_position, registered_at, updated_at) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, 'active', $8, $9, $10, $8, $8 WHERE $9 = 1 \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(&id)
            .bind(registration_number.as_str())
            .bind(aircraft_type.as_str())
            .bind(model.as_str())
            .bind(serial_number.as_str())
            .bind(operator.as_str())
            .bind(year_of_manufacture.map(i32::from))
            .bind(at)
            .bind(e.sequence)
            .bind(e.position.global_position)
            .execute(&mut *tx)
            .await?
        }
        AircraftEvent::AircraftDetailsUpdated { operator, model, base_airport, notes } => {
            let set = "operator = coalesce($5, operator), model = coalesce($6, model), \
                       base_airport = CASE WHEN $7 THEN $8 ELSE base_airport END, \
                       notes = CASE WHEN $9 THEN $10 ELSE notes END";
            update_row(tx, "aircraft", e, &id, set, |q| {
                q.bind(operator.as_ref().map(|v| v.to_string()))
                    .bind(model.as_ref().map(|v| v.to_string()))
                    .bind(base_airport.is_some())
                    .bind(base_airport.clone().flatten().map(|v| v.to_string()))
                    .bind(notes.is_some())
                    .bind(notes.clone().flatten().map(|v| v.to_string()))
            })
            .await?
        }
        AircraftEvent::AircraftStatusChanged { to, reason, .. } => {
            let set = "status = $5, status_reason = $6, status_changed_at = $4";
            update_row(tx, "aircraft", e, &id, set, |q| q.bind(to.as_str()).bind(reason.to_string())).await?
        }
        AircraftEvent::AirworthinessCertificateIssued { number, issued_on, valid_until } => {
            // The certificate shown is the one reaching furthest into the future.
            let newest = "certificate_valid_until IS NULL OR $7 >= certificate_valid_until";
            let set = format!(
                "certificate_number = CASE WHEN {newest} THEN $5 ELSE certificate_number END, \
                 certificate_issued_on = CASE WHEN {newest} THEN $6 ELSE certificate_issued_on END, \
                 certificate_valid_until = CASE WHEN {newest} THEN $7 ELSE certificate_valid_until END"
            );
            update_row(tx, "aircraft", e, &id, &set, |q| {
                q.bind(number.to_string()).bind(*issued_on).bind(*valid_until)
            })
            .await?
        }
        AircraftEvent::FlightLogged { flight_date, block_minutes, cycles } => {
            let set = "total_block_minutes = total_block_minutes + $5, total_cycles = total_cycles + $6, \
                       flight_count = flight_count + 1, last_flight_date = greatest(last_flight_date, $7)";
            update_row(tx, "aircraft", e, &id, set, |q| {
                q.bind(i64::from(block_minutes.minutes())).bind(i64::from(*cycles)).bind(*flight_date)
            })
            .await?
        }
        AircraftEvent::AircraftDecommissioned { reason, .. } => {
            let set = "status = 'decommissioned', status_reason = $5, status_changed_at = $4, decommissioned_at = $4";
            update_row(tx, "aircraft", e, &id, set, |q| q.bind(reason.as_ref().map(|r| r.to_string()))).await?
        }
    };
    expect_one(e, result)?;
    record_history(tx, e, &id, &event).await?;
    count_stats(tx, e, &id).await
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// `UPDATE <table> SET <set>` guarded by the version. `$1..$4` are id, sequence, position and
/// recorded-at; `bind` adds `$5…` (owned values: the query outlives no borrow).
async fn update_row(
    tx: &mut PgConnection,
    table: &'static str,
    e: &StoredEvent,
    id: &str,
    set: &str,
    bind: impl for<'q> FnOnce(PgQuery<'q>) -> PgQuery<'q>,
) -> Result<sqlx::postgres::PgQueryResult, sqlx::Error> {
    let sql = format!(
        "UPDATE {table} SET {set}, version = $2, last_position = $3, updated_at = $4 \
         WHERE id = $1 AND version = $2 - 1"
    );
    let query = sqlx::query(&sql)
        .bind(id.to_owned())
        .bind(e.sequence)
        .bind(e.position.global_position)
        .bind(e.recorded_at);
    bind(query).execute(&mut *tx).await
}

async fn record_history(
    tx: &mut PgConnection,
    e: &StoredEvent,
    id: &str,
    event: &AircraftEvent,
) -> Result<(), SubscriberError> {
    record_event(tx, e, id, "aircraft_history (global_position, aircraft_id", Some(summarize(event))).await
}

/// One row per event in a history table; `into` names the table and its id column.
async fn record_event(
    tx: &mut PgConnection,
    e: &StoredEvent,
    id: &str,
    into: &str,
    summary: Option<String>,
) -> Result<(), SubscriberError> {
    let (summary_column, summary_value) = if summary.is_some() { (", summary", ", $13") } else { ("", "") };
    let sql = format!(
        "INSERT INTO {into}, sequence, event_id, event_type, event_version, recorded_at, actor, request_id, \
         correlation_id, causation_id, payload{summary_column}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12{summary_value})"
    );
    let mut query = sqlx::query(&sql)
        .bind(e.position.global_position)
        .bind(id)
        .bind(e.sequence)
        .bind(e.event_id.to_string())
        .bind(&e.event_type)
        .bind(&e.event_version)
        .bind(e.recorded_at)
        .bind(e.meta("actor").unwrap_or("unknown"))
        .bind(e.meta("request_id"))
        .bind(e.meta("correlation_id"))
        .bind(e.meta("causation_id"))
        .bind(&e.payload);
    if let Some(summary) = summary {
        query = query.bind(summary);
    }
    query.execute(&mut *tx).await?;
    Ok(())
}

async fn count_stats(tx: &mut PgConnection, e: &StoredEvent, id: &str) -> Result<(), SubscriberError> {
    sqlx::query(
        "INSERT INTO aircraft_stats (registration_number, total_events, last_event) \
         SELECT registration_number, 1, $2 FROM aircraft WHERE id = $1 \
         ON CONFLICT (registration_number) DO UPDATE SET total_events = aircraft_stats.total_events + 1, \
         last_event = greatest(aircraft_stats.last_event, EXCLUDED.last_event)",
    )
    .bind(id)
    .bind(e.recorded_at)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// One line an auditor can read.
pub fn summarize(event: &AircraftEvent) -> String {
    match event {
        AircraftEvent::AircraftRegistered {
            registration_number,
            aircraft_type,
            model,
            serial_number,
            operator,
            ..
        } => {
            format!("Registered {registration_number} ({aircraft_type} {model}, MSN {serial_number}) for {operator}")
        }
        AircraftEvent::AircraftDetailsUpdated { operator, model, base_airport, notes } => {
            let mut changed = vec![];
            if let Some(v) = operator {
                changed.push(format!("operator → {v}"));
            }
            if let Some(v) = model {
                changed.push(format!("model → {v}"));
            }
            if let Some(v) = base_airport {
                changed.push(format!("base → {}", v.as_ref().map_or("none".to_owned(), |b| b.to_string())));
            }
            if notes.is_some() {
                changed.push("notes changed".to_owned());
            }
            format!("Details updated: {}", changed.join(", "))
        }
        AircraftEvent::AircraftStatusChanged { from, to, reason } => {
            format!("Status {from} → {to}: {reason}")
        }
        AircraftEvent::AirworthinessCertificateIssued { number, issued_on, valid_until } => {
            format!("Certificate {number} issued, valid {issued_on} to {valid_until}")
        }
        AircraftEvent::FlightLogged { flight_date, block_minutes, cycles } => {
            let m = block_minutes.minutes();
            format!("Flight on {flight_date}: {}:{:02} block, {cycles} cycle(s)", m / 60, m % 60)
        }
        AircraftEvent::AircraftDecommissioned { registration_number, reason } => match reason {
            Some(reason) => format!("Decommissioned {registration_number}: {reason}"),
            None => format!("Decommissioned {registration_number}"),
        },
    }
}

async fn project_inbox(
    tx: &mut PgConnection,
    e: &StoredEvent,
    event: InboxEvent,
) -> Result<(), SubscriberError> {
    let id = aggregate_uuid(e)?;
    let at: DateTime<Utc> = e.recorded_at;
    let result = match &event {
        InboxEvent::FileReceived { filename, content_type, size_bytes, sha256, source } => {
            let source = serde_json::to_value(source).map_err(|err| poison(e, err.to_string()))?;
            sqlx::query(
                "INSERT INTO inbox_files (id, filename, content_type, size_bytes, sha256, source, status, \
                 created_at, updated_at, version, last_position) \
                 SELECT $1, $2, $3, $4, $5, $6, 'received', $7, $7, $8, $9 WHERE $8 = 1 \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(&id)
            .bind(filename.as_str())
            .bind(content_type.as_str())
            .bind(*size_bytes as i64)
            .bind(sha256.as_str())
            .bind(source.as_str())
            .bind(at)
            .bind(e.sequence)
            .bind(e.position.global_position)
            .execute(&mut *tx)
            .await?
        }
        InboxEvent::DocumentClassified { document_type, .. } => {
            let document_type =
                serde_json::to_value(document_type).map_err(|err| poison(e, err.to_string()))?;
            let set = "document_type = $5, status = 'classified', classified_at = $4";
            update_row(tx, "inbox_files", e, &id, set, |q| q.bind(document_type.as_str().map(str::to_owned)))
                .await?
        }
        InboxEvent::DocumentLinkedToAircraft { aircraft_id, .. } => {
            update_row(tx, "inbox_files", e, &id, "aircraft_id = $5", |q| q.bind(aircraft_id.to_string()))
                .await?
        }
        InboxEvent::DocumentProcessed { note } => {
            let set = "status = 'processed', processing_note = $5, processed_at = $4";
            update_row(tx, "inbox_files", e, &id, set, |q| q.bind(note.to_string())).await?
        }
        InboxEvent::DocumentRejected { reason } => {
            let set = "status = 'rejected', rejection_reason = $5, rejected_at = $4";
            update_row(tx, "inbox_files", e, &id, set, |q| q.bind(reason.to_string())).await?
        }
        InboxEvent::DocumentArchived {} => {
            update_row(tx, "inbox_files", e, &id, "status = 'archived', archived_at = $4", |q| q).await?
        }
    };
    expect_one(e, result)?;
    record_event(tx, e, &id, "inbox_history (global_position, document_id", None).await
}
