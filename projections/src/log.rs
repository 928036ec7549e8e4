//! The global event log: every stored event, in an order that a tailing reader can follow
//! without ever skipping one.
//!
//! # Why not just `ORDER BY global_position`
//! Identity values are taken when a row is inserted, not when its transaction commits. With
//! concurrent writers, position 11 can commit before position 10; a reader that saw 11 and
//! checkpointed it would never see 10. This is the classic BIGSERIAL gap.
//!
//! # Technique: transaction-id horizon (as in Emmett)
//! Each event row records the id of the transaction that inserted it (`transaction_id xid8`,
//! a column default). A reader only takes rows whose transaction id is below the oldest
//! transaction still running (`pg_snapshot_xmin(pg_current_snapshot())`): every such
//! transaction has finished, so no row with a smaller id can appear later. Rows are read in
//! `(transaction_id, global_position)` order, and that pair is the checkpoint.
//!
//! Trade-offs: no lock on the write path and no gap bookkeeping; readers never skip and never
//! need a timeout to decide a hole is permanent. The price: any long-running transaction in the
//! cluster (even one that never touches `events`) holds the horizon back and delays every
//! reader until it ends — `klg` reports the age of the oldest open transaction in its health
//! endpoint, and statement/idle timeouts bound it in production. The order is commit-ish, not
//! `global_position` order: consumers must compare positions as `(transaction_id,
//! global_position)` pairs, which is what [`LogPosition`] does.

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use serde::Serialize;
use serde_json::Value;
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgRow;
use sqlx::{PgExecutor, PgPool, Postgres, Row};
use uuid::Uuid;

use crate::copy::{field, BinaryRowReader};

/// A place in the log: the last event a reader has handled. Ordered as the log is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct LogPosition {
    /// The inserting transaction's `xid8`, as a number.
    pub transaction_id: i64,
    pub global_position: i64,
}

impl LogPosition {
    /// After every event (a bound that includes the whole log).
    pub const MAX: Self = Self { transaction_id: i64::MAX, global_position: i64::MAX };
}

/// One event as stored, with its place in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub position: LogPosition,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    /// The payload's JSON text (`{"<EventType>": {…}}`), upcast to the current version. Kept as
    /// text: readers decode it straight into their event type and the projector stores it as
    /// it came, instead of every reader building a `serde_json::Value` tree first (profiled: the
    /// tree's allocations and re-serialization were a large part of a rebuild's CPU).
    pub payload: String,
    pub metadata: EventMetadata,
    pub event_id: Uuid,
    pub recorded_at: DateTime<Utc>,
}

/// The metadata entries readers of the log use; the stored metadata holds more (command, ids,
/// the stamped event id and time), which stays in the row. Decoded into these fields alone rather
/// than a `serde_json::Value` tree of every entry (profiled: the tree was a tenth of a rebuild's
/// CPU in `klg`). An entry that is not a string reads as absent, as before.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct EventMetadata {
    #[serde(deserialize_with = "text_or_none")]
    pub actor: Option<String>,
    #[serde(deserialize_with = "text_or_none")]
    pub request_id: Option<String>,
    #[serde(deserialize_with = "text_or_none")]
    pub correlation_id: Option<String>,
    #[serde(deserialize_with = "text_or_none")]
    pub causation_id: Option<String>,
}

/// A JSON string, or `None` for any other value.
fn text_or_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    use serde::Deserialize;
    Ok(match Value::deserialize(d)? {
        Value::String(text) => Some(text),
        _ => None,
    })
}

impl EventMetadata {
    /// Who caused the event; "unknown" where the metadata does not say.
    pub fn actor(&self) -> &str {
        self.actor.as_deref().unwrap_or("unknown")
    }
}

impl StoredEvent {
    /// The event of a row, upcast to its current version (see `klg_domain::upcast`): every
    /// reader of the log sees one shape per event type, whatever version was stored.
    pub fn from_row(row: &PgRow) -> Result<Self, sqlx::Error> {
        let event_type: String = row.try_get("event_type")?;
        let (event_version, payload) =
            current_shape(&event_type, row.try_get("event_version")?, row.try_get("payload")?)?;
        Ok(Self {
            position: LogPosition {
                transaction_id: row.try_get("transaction_id")?,
                global_position: row.try_get("global_position")?,
            },
            aggregate_type: row.try_get("aggregate_type")?,
            aggregate_id: row.try_get("aggregate_id")?,
            sequence: row.try_get("sequence")?,
            event_type,
            event_version,
            payload,
            metadata: row.try_get::<sqlx::types::Json<EventMetadata>, _>("metadata")?.0,
            event_id: row.try_get("event_id")?,
            recorded_at: row.try_get("recorded_at")?,
        })
    }

    /// The event of a row of [`copy_after`]'s binary COPY ([`COPIED_COLUMNS`], in order),
    /// upcast as [`from_row`](Self::from_row) does.
    fn from_copied(fields: &[&[u8]; COPIED_FIELDS]) -> Result<Self, sqlx::Error> {
        let [transaction_id, global_position, aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata, event_id, recorded_at] =
            *fields;
        let event_type = field::text(event_type)?;
        let (event_version, payload) =
            current_shape(&event_type, field::text(event_version)?, field::text(payload)?)?;
        Ok(Self {
            position: LogPosition {
                transaction_id: field::bigint(transaction_id)?,
                global_position: field::bigint(global_position)?,
            },
            aggregate_type: field::text(aggregate_type)?,
            aggregate_id: field::text(aggregate_id)?,
            sequence: field::bigint(sequence)?,
            event_type,
            event_version,
            payload,
            metadata: serde_json::from_slice(metadata).map_err(|e| sqlx::Error::Decode(e.into()))?,
            event_id: field::uuid(event_id)?,
            recorded_at: field::timestamptz(recorded_at)?,
        })
    }
}

/// The stored version and payload of an event of `event_type`, upcast to the current version.
fn current_shape(
    event_type: &str,
    event_version: String,
    payload: String,
) -> Result<(String, String), sqlx::Error> {
    if event_version == klg_domain::upcast::current_version(event_type) {
        return Ok((event_version, payload));
    }
    let stored: Value = serde_json::from_str(&payload).map_err(|e| sqlx::Error::Decode(e.into()))?;
    let (version, upcast) = klg_domain::upcast::upcast_payload(event_type, event_version, stored);
    Ok((version, upcast.to_string()))
}

pub const EVENT_COLUMNS: &str =
    "transaction_id::text::bigint AS transaction_id, global_position, aggregate_type, \
     aggregate_id, sequence, event_type, event_version, payload::text AS payload, metadata, event_id, recorded_at";

/// The columns [`copy_after`] copies, as stored (the binary format carries `xid8` as a number).
const COPIED_COLUMNS: &str = "transaction_id, global_position, aggregate_type, aggregate_id, sequence, \
     event_type, event_version, payload, metadata, event_id, recorded_at";
const COPIED_FIELDS: usize = 11;

/// Reads of at least this many events go by [`copy_after`], smaller ones by [`query_after`].
pub const COPY_FROM: i64 = 1_000;

/// The log's order and horizon, after `$1`/`$2` or the literals given for them, with the limit
/// `$3` or a literal. Columns qualified with the table, as the index is: an ORDER BY that resolved
/// to a select list's cast column once sorted everything after the checkpoint on every batch
/// (profiled: 30 ms per batch at 100,000 events, growing with the log) instead of a range scan of
/// the (transaction_id, global_position) index (0.3 ms).
fn after_position(transaction_id: &str, global_position: &str, limit: &str) -> String {
    format!(
        "WHERE (events.transaction_id, events.global_position) > ({transaction_id}::xid8, {global_position}) \
           AND events.transaction_id < pg_snapshot_xmin(pg_current_snapshot()) \
         ORDER BY events.transaction_id, events.global_position LIMIT {limit}"
    )
}

/// The statement [`query_after`] prepares (public for the test that checks its plan).
pub fn query_after_sql() -> String {
    format!("SELECT {EVENT_COLUMNS} FROM events {}", after_position("$1::text", "$2", "$3"))
}

/// The query [`copy_after`] copies out (public for the test that checks its plan). `COPY` takes
/// no parameters: the position and limit are numbers written into the text.
pub fn copy_after_sql(after: LogPosition, limit: i64) -> String {
    let transaction_id = format!("'{}'", after.transaction_id);
    let (global_position, limit) = (after.global_position.to_string(), limit.max(0).to_string());
    format!(
        "SELECT {COPIED_COLUMNS} FROM events {}",
        after_position(&transaction_id, &global_position, &limit)
    )
}

/// Up to `limit` events after `after`, in log order, none of which can still be overtaken by
/// an event committing later.
///
/// Measured (`cargo bench -p klg-tests --bench log_read`; docs/benchmarks.md, session 11): for a
/// batch of thousands, sqlx's rows cost the reader 3.2–4.3 µs of CPU an event (a row object
/// each, columns found by name, the type checks) and a binary COPY 1.8–2.3 µs; but a COPY is
/// planned on every call, and for a live tail's read of a few events its planning tripled
/// PostgreSQL's CPU per read, where the prepared query is planned once. So large reads are a
/// COPY, small ones the prepared query.
pub async fn read_after(
    pool: &PgPool,
    after: LogPosition,
    limit: i64,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    match limit >= COPY_FROM {
        true => copy_after(pool, after, limit).await,
        false => query_after(pool, after, limit).await,
    }
}

/// [`read_after`] by the prepared query, its rows decoded by [`StoredEvent::from_row`].
pub async fn query_after<'e>(
    db: impl PgExecutor<'e>,
    after: LogPosition,
    limit: i64,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let sql = query_after_sql();
    let rows = sqlx::query(&sql)
        .bind(after.transaction_id.to_string())
        .bind(after.global_position)
        .bind(limit)
        .fetch_all(db)
        .await?;
    rows.iter().map(StoredEvent::from_row).collect()
}

/// [`read_after`] by a binary `COPY`, decoded as the data arrives.
pub async fn copy_after(
    pool: &PgPool,
    after: LogPosition,
    limit: i64,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let copy = format!("COPY ({}) TO STDOUT (FORMAT binary)", copy_after_sql(after, limit));
    let mut copying = CopyingConnection { connection: pool.acquire().await?, ended: false };
    let mut reader = BinaryRowReader::<COPIED_FIELDS>::new();
    let mut events = Vec::new();
    let mut decode = |fields: &[&[u8]; COPIED_FIELDS]| {
        events.push(StoredEvent::from_copied(fields)?);
        Ok(())
    };
    let mut data = copying.connection.copy_out_raw(&copy).await?;
    while let Some(chunk) = data.try_next().await? {
        reader.feed(&chunk, &mut decode)?;
    }
    drop(data);
    copying.ended = true;
    reader.finish()?;
    Ok(events)
}

/// A pooled connection running a `COPY … TO STDOUT`. sqlx cannot bring a connection back from a
/// COPY cut off mid-way (an error in decoding, or the read's future dropped): the rest of the
/// data would answer its next statement. So unless the COPY is marked as ended, the connection
/// is closed instead of going back to the pool.
struct CopyingConnection {
    connection: PoolConnection<Postgres>,
    ended: bool,
}

impl Drop for CopyingConnection {
    fn drop(&mut self) {
        if !self.ended {
            self.connection.close_on_drop();
        }
    }
}

/// The last event that can no longer be overtaken (below the horizon), at or before `bound`.
pub async fn readable_head<'e>(
    db: impl PgExecutor<'e>,
    bound: LogPosition,
) -> Result<LogPosition, sqlx::Error> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT transaction_id::text::bigint, global_position FROM events \
         WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot()) \
           AND (transaction_id, global_position) <= ($1::text::xid8, $2) \
         ORDER BY transaction_id DESC, global_position DESC LIMIT 1",
    )
    .bind(bound.transaction_id.to_string())
    .bind(bound.global_position)
    .fetch_optional(db)
    .await?;
    Ok(row.map_or(LogPosition::default(), |(transaction_id, global_position)| LogPosition {
        transaction_id,
        global_position,
    }))
}

/// The log position of the event at `global_position`, if that event exists.
pub async fn position_of<'e>(
    db: impl PgExecutor<'e>,
    global_position: i64,
) -> Result<Option<LogPosition>, sqlx::Error> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT transaction_id::text::bigint, global_position FROM events WHERE global_position = $1",
    )
    .bind(global_position)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|(transaction_id, global_position)| LogPosition { transaction_id, global_position }))
}

#[cfg(test)]
mod tests {
    use super::EventMetadata;

    #[test]
    fn metadata_keeps_the_entries_readers_use_and_reads_non_strings_as_absent() {
        let stored = r#"{"actor": "planner", "command": "LogFlight", "event_id": "e1",
                         "request_id": 7, "correlation_id": {"nested": ["x"]}, "causation_id": "c1"}"#;
        let metadata: EventMetadata = serde_json::from_str(stored).unwrap();
        assert_eq!(
            metadata,
            EventMetadata {
                actor: Some("planner".into()),
                request_id: None,
                correlation_id: None,
                causation_id: Some("c1".into()),
            }
        );
        assert_eq!(serde_json::from_str::<EventMetadata>("{}").unwrap(), EventMetadata::default());
    }
}
