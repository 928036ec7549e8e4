//! The projector: the subscription that keeps KLG's PostgreSQL projections (`aircraft`,
//! `aircraft_stats`, `aircraft_directives`, `inbox_files`, `tmc_requests`) in step with the log.
//! The histories (`aircraft_history`, `inbox_history`) are views over the log itself, not
//! copies the projector writes (migration 0015).
//!
//! Each row carries the version (sequence) of the last event applied to it, and every update
//! requires the previous version: an event applied twice or out of order fails loudly instead
//! of corrupting a row (the subscription then stops at that event and reports it).
//!
//! A batch costs a handful of statements, not several per event (profiled: three statements
//! per event held the projector near 2,000 events/s, below the command rate, so reads went stale
//! for seconds under load): statistics go in one upsert, and consecutive flights of an aircraft
//! — the bulk of an airworthiness log — fold into one guarded UPDATE for all aircraft of the
//! batch. Other events
//! update their row one by one, after the pending flights are written, so order is kept.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use klg_domain::aircraft::directives::{DueLimits, Interval};
use klg_domain::aircraft::{Aircraft, AircraftEvent};
use klg_domain::inbox::{InboxEvent, InboxItem};
use klg_domain::tmc::{PartsEvent, PartsRequest, RequestReason};
use serde::de::DeserializeOwned;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::log::StoredEvent;
use crate::subscription::{Subscriber, SubscriberError};

/// Name of the projector's subscription (its checkpoint row).
pub const PROJECTIONS: &str = "projections";

/// Tables the projector owns, emptied by a rebuild.
pub const PROJECTION_TABLES: [&str; 5] =
    ["aircraft", "aircraft_stats", "aircraft_directives", "inbox_files", "tmc_requests"];

pub struct Projector;

#[async_trait::async_trait]
impl Subscriber for Projector {
    async fn apply(&self, tx: &mut PgConnection, events: &[StoredEvent]) -> Result<(), SubscriberError> {
        let mut batch = Batch::default();
        for event in events {
            match event.aggregate_type.as_str() {
                Aircraft::TYPE => project_aircraft(tx, &mut batch, event, decode(event)?).await?,
                InboxItem::TYPE => project_inbox(tx, event, decode(event)?).await?,
                PartsRequest::TYPE => project_parts(tx, event, decode(event)?).await?,
                _ => {} // Not projected here.
            }
        }
        batch.flush_flights(tx).await?;
        batch.write_stats(tx).await
    }
}

/// What one batch writes in bulk.
#[derive(Default)]
struct Batch<'e> {
    /// Per aircraft id: events in this batch and the latest recorded-at.
    stats: HashMap<String, (i64, DateTime<Utc>)>,
    /// Per aircraft id: flights not yet written, all consecutive events of that aircraft.
    flights: HashMap<String, FlightRun<'e>>,
}

/// Consecutive `FlightLogged` events of one aircraft.
struct FlightRun<'e> {
    first: &'e StoredEvent,
    last: &'e StoredEvent,
    block_minutes: i64,
    cycles: i64,
    count: i64,
    last_flight_date: chrono::NaiveDate,
}

impl<'e> Batch<'e> {
    fn add_flight(
        &mut self,
        e: &'e StoredEvent,
        id: &str,
        date: chrono::NaiveDate,
        minutes: i64,
        cycles: i64,
    ) {
        match self.flights.get_mut(id) {
            Some(run) => {
                run.last = e;
                run.block_minutes += minutes;
                run.cycles += cycles;
                run.count += 1;
                run.last_flight_date = run.last_flight_date.max(date);
            }
            None => {
                let run = FlightRun {
                    first: e,
                    last: e,
                    block_minutes: minutes,
                    cycles,
                    count: 1,
                    last_flight_date: date,
                };
                self.flights.insert(id.to_owned(), run);
            }
        }
    }

    /// Writes every pending flight run in one UPDATE; each run requires its row at the version
    /// before its first flight (and the run itself is contiguous: the log gives each aircraft's
    /// events in sequence order, and a gap is caught when the run is extended).
    async fn flush_flights(&mut self, tx: &mut PgConnection) -> Result<(), SubscriberError> {
        if self.flights.is_empty() {
            return Ok(());
        }
        let runs: Vec<(String, FlightRun)> = self.flights.drain().collect();
        let column = |f: &dyn Fn(&FlightRun) -> i64| runs.iter().map(|(_, r)| f(r)).collect::<Vec<i64>>();
        let updated: Vec<String> = sqlx::query_scalar(
            "UPDATE aircraft a SET total_block_minutes = a.total_block_minutes + r.block_minutes, \
             total_cycles = a.total_cycles + r.cycles, flight_count = a.flight_count + r.count, \
             last_flight_date = greatest(a.last_flight_date, r.last_flight_date), version = r.last_sequence, \
             last_position = r.last_position, updated_at = r.updated_at \
             FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], \
                         $7::bigint[], $8::date[], $9::timestamptz[]) \
                  AS r(id, first_sequence, last_sequence, last_position, block_minutes, cycles, count, \
                       last_flight_date, updated_at) \
             WHERE a.id = r.id AND a.version = r.first_sequence - 1 \
             RETURNING a.id",
        )
        .bind(runs.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>())
        .bind(column(&|r| r.first.sequence))
        .bind(column(&|r| r.last.sequence))
        .bind(column(&|r| r.last.position.global_position))
        .bind(column(&|r| r.block_minutes))
        .bind(column(&|r| r.cycles))
        .bind(column(&|r| r.count))
        .bind(runs.iter().map(|(_, r)| r.last_flight_date).collect::<Vec<_>>())
        .bind(runs.iter().map(|(_, r)| r.last.recorded_at).collect::<Vec<_>>())
        .fetch_all(&mut *tx)
        .await?;
        if let Some((_, run)) = runs.iter().find(|(id, _)| !updated.contains(id)) {
            return Err(not_at_version(run.first));
        }
        Ok(())
    }

    /// Adds the batch's counts to `aircraft_stats`, one row per aircraft (after the aircraft rows
    /// exist: the registration number comes from them). Keyed by aircraft id, not registration
    /// number: a decommissioned aircraft's number can pass to another airframe.
    async fn write_stats(&self, tx: &mut PgConnection) -> Result<(), SubscriberError> {
        if self.stats.is_empty() {
            return Ok(());
        }
        let (ids, counts): (Vec<String>, Vec<(i64, DateTime<Utc>)>) =
            self.stats.iter().map(|(id, c)| (id.clone(), *c)).unzip();
        sqlx::query(
            "INSERT INTO aircraft_stats (aircraft_id, registration_number, total_events, last_event) \
             SELECT s.id, a.registration_number, s.n, s.last \
             FROM unnest($1::text[], $2::bigint[], $3::timestamptz[]) AS s(id, n, last) \
             JOIN aircraft a ON a.id = s.id \
             ON CONFLICT (aircraft_id) DO UPDATE SET total_events = aircraft_stats.total_events \
             + EXCLUDED.total_events, last_event = greatest(aircraft_stats.last_event, EXCLUDED.last_event)",
        )
        .bind(ids)
        .bind(counts.iter().map(|(n, _)| *n).collect::<Vec<_>>())
        .bind(counts.iter().map(|(_, t)| *t).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
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
    // Straight from the text: no intermediate JSON tree.
    // Events are upcast when read from the log; a version still unknown here was written by
    // newer code: stop rather than misread it.
    if event.event_version != klg_domain::upcast::current_version(&event.event_type) {
        return Err(poison(event, format!("no upcaster for event version {}", event.event_version)));
    }
    serde_json::from_str(&event.payload).map_err(|e| poison(event, e.to_string()))
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
        _ => Err(not_at_version(event)),
    }
}

fn not_at_version(event: &StoredEvent) -> SubscriberError {
    poison(event, format!("row is not at version {} (duplicate or out-of-order event)", event.sequence - 1))
}

async fn project_aircraft<'e>(
    tx: &mut PgConnection,
    batch: &mut Batch<'e>,
    e: &'e StoredEvent,
    event: AircraftEvent,
) -> Result<(), SubscriberError> {
    let id = aggregate_uuid(e)?;
    let at = e.recorded_at;
    let stats = batch.stats.entry(id.clone()).or_insert((0, at));
    *stats = (stats.0 + 1, stats.1.max(at));
    if let AircraftEvent::FlightLogged { flight_date, block_minutes, cycles, .. } = &event {
        match batch.flights.get(&id) {
            Some(run) if run.last.sequence + 1 != e.sequence => return Err(not_at_version(e)),
            _ => {}
        }
        let minutes = i64::from(block_minutes.minutes());
        batch.add_flight(e, &id, *flight_date, minutes, i64::from(*cycles));
        return Ok(());
    }
    // Pending flights go first: this update is guarded by the version they leave.
    batch.flush_flights(tx).await?;
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
        AircraftEvent::FlightLogged { .. } => unreachable!("flights are folded into runs above"),
        AircraftEvent::AircraftDecommissioned { reason, .. } => {
            let set = "status = 'decommissioned', status_reason = $5, status_changed_at = $4, decommissioned_at = $4";
            update_row(tx, "aircraft", e, &id, set, |q| q.bind(reason.as_ref().map(|r| r.to_string()))).await?
        }
        AircraftEvent::PartInstalled { .. } => update_row(tx, "aircraft", e, &id, "", |q| q).await?,
        AircraftEvent::ReleasedToService { work_order, .. } => {
            let set = "status = 'active', status_reason = $5, status_changed_at = $4";
            let reason = format!("Released to service: {work_order}");
            update_row(tx, "aircraft", e, &id, set, |q| q.bind(reason)).await?
        }
        AircraftEvent::DirectiveApplicabilityRecorded { .. } | AircraftEvent::DirectiveComplied { .. } => {
            // The aircraft row's version guards the event; the directive row follows it.
            expect_one(e, update_row(tx, "aircraft", e, &id, "", |q| q).await?)?;
            project_directive(tx, e, &id, &event).await?
        }
    };
    expect_one(e, result)
}

/// Writes the directive row an assessment or a compliance changes. An assessment replaces the
/// row (compliance starts afresh); a compliance fills in its columns and the next due.
async fn project_directive(
    tx: &mut PgConnection,
    e: &StoredEvent,
    id: &str,
    event: &AircraftEvent,
) -> Result<sqlx::postgres::PgQueryResult, sqlx::Error> {
    let days = |i: &Option<Interval>| i.and_then(|i| i.days).map(i64::from);
    let hours = |i: &Option<Interval>| i.and_then(|i| i.hours).map(i64::from);
    let cycles = |i: &Option<Interval>| i.and_then(|i| i.cycles).map(i64::from);
    let due_on = |d: &Option<DueLimits>| d.and_then(|d| d.on);
    let due_minutes = |d: &Option<DueLimits>| d.and_then(|d| d.block_minutes).map(|v| v as i64);
    let due_cycles = |d: &Option<DueLimits>| d.and_then(|d| d.cycles).map(|v| v as i64);
    match event {
        AircraftEvent::DirectiveApplicabilityRecorded {
            number,
            revision,
            document_id,
            applicable,
            reason,
            comply_within,
            next_due,
        } => {
            sqlx::query(
                "INSERT INTO aircraft_directives (aircraft_id, number, revision, document_id, applicable, \
                 not_applicable_reason, comply_within_days, comply_within_hours, comply_within_cycles, assessed_at, \
                 status, next_due_on, next_due_block_minutes, next_due_cycles, version, last_position) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
                         CASE WHEN $5 THEN 'open' ELSE 'not_applicable' END, $11, $12, $13, $14, $15) \
                 ON CONFLICT (aircraft_id, number) DO UPDATE SET revision = EXCLUDED.revision, \
                 document_id = EXCLUDED.document_id, applicable = EXCLUDED.applicable, \
                 not_applicable_reason = EXCLUDED.not_applicable_reason, \
                 comply_within_days = EXCLUDED.comply_within_days, comply_within_hours = EXCLUDED.comply_within_hours, \
                 comply_within_cycles = EXCLUDED.comply_within_cycles, assessed_at = EXCLUDED.assessed_at, \
                 status = EXCLUDED.status, method = NULL, done_on = NULL, block_minutes_at = NULL, cycles_at = NULL, \
                 performed_by = NULL, work_order = NULL, interval_days = NULL, interval_hours = NULL, \
                 interval_cycles = NULL, complied_at = NULL, next_due_on = EXCLUDED.next_due_on, \
                 next_due_block_minutes = EXCLUDED.next_due_block_minutes, next_due_cycles = EXCLUDED.next_due_cycles, \
                 version = EXCLUDED.version, last_position = EXCLUDED.last_position",
            )
            .bind(id)
            .bind(number.as_str())
            .bind(revision.as_ref().map(|r| r.as_str()))
            .bind(document_id.to_string())
            .bind(applicable)
            .bind(reason.as_ref().map(|r| r.as_str()))
            .bind(days(comply_within))
            .bind(hours(comply_within))
            .bind(cycles(comply_within))
            .bind(e.recorded_at)
            .bind(due_on(next_due))
            .bind(due_minutes(next_due))
            .bind(due_cycles(next_due))
            .bind(e.sequence)
            .bind(e.position.global_position)
            .execute(&mut *tx)
            .await
        }
        AircraftEvent::DirectiveComplied {
            number,
            method,
            done_on,
            block_minutes_at,
            cycles_at,
            performed_by,
            work_order,
            interval,
            next_due,
        } => {
            sqlx::query(
                "UPDATE aircraft_directives SET status = CASE WHEN $13::date IS NULL AND $14::bigint IS NULL \
                 AND $15::bigint IS NULL THEN 'complied' ELSE 'recurring' END, method = $3, done_on = $4, \
                 block_minutes_at = $5, cycles_at = $6, performed_by = $7, work_order = $8, interval_days = $9, \
                 interval_hours = $10, interval_cycles = $11, complied_at = $12, next_due_on = $13, \
                 next_due_block_minutes = $14, next_due_cycles = $15, version = $16, last_position = $17 \
                 WHERE aircraft_id = $1 AND number = $2",
            )
            .bind(id)
            .bind(number.as_str())
            .bind(method.as_str())
            .bind(done_on)
            .bind(*block_minutes_at as i64)
            .bind(*cycles_at as i64)
            .bind(performed_by.as_str())
            .bind(work_order.as_str())
            .bind(days(interval))
            .bind(hours(interval))
            .bind(cycles(interval))
            .bind(e.recorded_at)
            .bind(due_on(next_due))
            .bind(due_minutes(next_due))
            .bind(due_cycles(next_due))
            .bind(e.sequence)
            .bind(e.position.global_position)
            .execute(&mut *tx)
            .await
        }
        _ => unreachable!("only directive events are projected here"),
    }
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// `UPDATE <table> SET <set>` (`set` may be empty) guarded by the version. `$1..$4` are id, sequence, position and
/// recorded-at; `bind` adds `$5…` (owned values: the query outlives no borrow).
async fn update_row(
    tx: &mut PgConnection,
    table: &'static str,
    e: &StoredEvent,
    id: &str,
    set: &str,
    bind: impl for<'q> FnOnce(PgQuery<'q>) -> PgQuery<'q>,
) -> Result<sqlx::postgres::PgQueryResult, sqlx::Error> {
    let separator = if set.is_empty() { "" } else { ", " };
    let sql = format!(
        "UPDATE {table} SET {set}{separator}version = $2, last_position = $3, updated_at = $4 \
         WHERE id = $1 AND version = $2 - 1"
    );
    let query = sqlx::query(&sql)
        .bind(id.to_owned())
        .bind(e.sequence)
        .bind(e.position.global_position)
        .bind(e.recorded_at);
    bind(query).execute(&mut *tx).await
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
    expect_one(e, result)
}

/// Keeps `tmc_requests`: the request row is created by the request and moved along by each step.
async fn project_parts(
    tx: &mut PgConnection,
    e: &StoredEvent,
    event: PartsEvent,
) -> Result<(), SubscriberError> {
    let id = aggregate_uuid(e)?;
    let result = match &event {
        PartsEvent::PartsRequested {
            part_number,
            description,
            quantity,
            aircraft_id,
            reason,
            source_document,
        } => {
            let (kind, reference) = match reason {
                RequestReason::Directive(number) => ("directive", number.to_string()),
                RequestReason::WorkOrder(work_order) => ("work_order", work_order.to_string()),
            };
            sqlx::query(
                "INSERT INTO tmc_requests (id, aircraft_id, part_number, description, quantity, reason_kind, \
                 reason_reference, source_document_id, status, requested_at, updated_at, version, last_position) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, 'requested', $9, $9, $10, $11 WHERE $10 = 1 \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(&id)
            .bind(aircraft_id.to_string())
            .bind(part_number.as_str())
            .bind(description.as_str())
            .bind(*quantity as i32)
            .bind(kind)
            .bind(reference)
            .bind(source_document.map(|d| d.to_string()))
            .bind(e.recorded_at)
            .bind(e.sequence)
            .bind(e.position.global_position)
            .execute(&mut *tx)
            .await?
        }
        PartsEvent::PartsRequestApproved { .. } => {
            update_row(tx, "tmc_requests", e, &id, "status = 'approved', approved_at = $4", |q| q).await?
        }
        PartsEvent::PartsOrdered { supplier, order_ref } => {
            let set = "status = 'ordered', ordered_at = $4, supplier = $5, order_ref = $6";
            update_row(tx, "tmc_requests", e, &id, set, |q| {
                q.bind(supplier.to_string()).bind(order_ref.to_string())
            })
            .await?
        }
        PartsEvent::PartsReceived { .. } => {
            update_row(tx, "tmc_requests", e, &id, "status = 'received', received_at = $4", |q| q).await?
        }
        PartsEvent::PartsInstalled { serial_number, installed_on, work_order, .. } => {
            let set = "status = 'installed', installed_at = $4, serial_number = $5, installed_on = $6, \
                       install_work_order = $7";
            update_row(tx, "tmc_requests", e, &id, set, |q| {
                q.bind(serial_number.to_string()).bind(*installed_on).bind(work_order.to_string())
            })
            .await?
        }
        PartsEvent::PartsRequestCancelled { reason } | PartsEvent::PartsRequestRejected { reason } => {
            let status = if matches!(event, PartsEvent::PartsRequestCancelled { .. }) {
                "cancelled"
            } else {
                "rejected"
            };
            let set = "status = $5, closing_reason = $6, closed_at = $4";
            update_row(tx, "tmc_requests", e, &id, set, |q| q.bind(status).bind(reason.to_string())).await?
        }
    };
    expect_one(e, result)
}
