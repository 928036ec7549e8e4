//! Export and import of the event log — a backup/restore and migration path that keeps the
//! tamper evidence: an imported log has the same events, in the same position order, with the
//! same hashes, so `klg audit verify` (and seals signed before the export) still hold.
//!
//! Each event travels with everything its hash covers, as stored: payload and metadata as their
//! exact JSON text (re-serialising them would reorder keys and change the hash), its global
//! position, event id and recording time. The import inserts them with those values, lets the
//! appending trigger chain them as it chains every event, and compares each resulting hash with
//! the exported one: an export edited on the way is refused at the first altered event, and the
//! whole import rolls back.
//!
//! An export reads short pages (no transaction held open, so live readers are not stalled)
//! bounded by the transaction horizon taken when it starts: it holds exactly the events
//! committed by then and never one that an earlier-positioned, still-running append could
//! precede.

use std::io::{BufRead, Write};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sqlx::PgPool;

use crate::log::{LogFilter, FILTER};

/// Events per page read or rows per insert.
const PAGE: i64 = 2_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line.
    Jsonl,
    /// RFC 4180, with a header line; payload and metadata as JSON text.
    Csv,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "jsonl" => Ok(Self::Jsonl),
            "csv" => Ok(Self::Csv),
            other => Err(format!("{other:?} is not a format: jsonl or csv")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
    #[error("line {line}: {message}")]
    Malformed { line: u64, message: String },
    #[error("the event store is not empty ({0} events): import only into an empty store")]
    NotEmpty(i64),
    #[error("event at position {position} does not hash to its exported hash: the export was altered or is incomplete (expected {expected}, got {actual})")]
    HashMismatch { position: i64, expected: String, actual: String },
    /// The store refused an event whose predecessor in its stream the export lacks.
    #[error("the export is incomplete: {0}")]
    Incomplete(String),
}

/// One event as exported (CSV and JSON lines carry the same fields).
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
struct Row {
    global_position: i64,
    recorded_at: DateTime<Utc>,
    event_id: uuid::Uuid,
    aggregate_type: String,
    aggregate_id: String,
    sequence: i64,
    event_type: String,
    event_version: String,
    /// Exactly as stored.
    payload: String,
    /// Exactly as stored (event id, recording time, actor and request ids included).
    metadata: String,
    /// The event's link in its stream's chain (hex).
    hash: String,
    /// For an event stored in an older version: its current version, and the payload upcast to
    /// it (JSON), for consumers of the export; empty when the stored version is current. Import
    /// stores the event as it was stored and ignores these.
    #[sqlx(skip)]
    #[serde(default)]
    current_version: String,
    #[sqlx(skip)]
    #[serde(default)]
    current_payload: String,
}

impl Row {
    /// Fills `current_*` when the stored version is not the current one.
    fn with_current(mut self) -> Self {
        if self.event_version != klg_domain::upcast::current_version(&self.event_type) {
            if let Ok(stored) = serde_json::from_str(&self.payload) {
                let (version, payload) =
                    klg_domain::upcast::upcast_payload(&self.event_type, self.event_version.clone(), stored);
                self.current_version = version;
                self.current_payload = payload.to_string();
            }
        }
        self
    }
}

/// The current form of an event stored in an older version.
#[derive(Serialize, Deserialize)]
struct Current {
    event_version: String,
    payload: serde_json::Value,
}

/// A JSON line: payload and metadata embedded as JSON, byte for byte.
#[derive(Serialize, Deserialize)]
struct Line<'a> {
    global_position: i64,
    recorded_at: DateTime<Utc>,
    event_id: uuid::Uuid,
    aggregate_type: String,
    aggregate_id: String,
    sequence: i64,
    event_type: String,
    event_version: String,
    #[serde(borrow)]
    payload: &'a RawValue,
    #[serde(borrow)]
    metadata: &'a RawValue,
    hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    current: Option<Current>,
}

/// How many events an export wrote or an import stored.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Summary {
    pub events: u64,
    pub last_position: Option<i64>,
}

/// The number of events an export with `filter` will write (for a progress bar).
pub async fn count(pool: &PgPool, filter: &LogFilter) -> Result<i64, sqlx::Error> {
    let sql = format!("SELECT count(*) FROM events WHERE $1::int IS NULL AND {FILTER}");
    filter.bind(sqlx::query_as::<_, (i64,)>(&sql).bind(None::<i32>)).fetch_one(pool).await.map(|(n,)| n)
}

/// Writes every event matching `filter`, in position order, to `out`; constant memory.
pub async fn export(
    pool: &PgPool,
    filter: &LogFilter,
    format: Format,
    out: impl Write,
    mut progress: impl FnMut(u64),
) -> Result<Summary, TransferError> {
    let horizon: String =
        sqlx::query_scalar("SELECT pg_snapshot_xmin(pg_current_snapshot())::text").fetch_one(pool).await?;
    let sql = format!(
        "SELECT global_position, recorded_at, event_id, aggregate_type, aggregate_id, sequence, event_type, \
                event_version, payload::text AS payload, metadata::text AS metadata, encode(hash, 'hex') AS hash \
         FROM events WHERE global_position > $1 AND {FILTER} AND transaction_id < $11::xid8 \
         ORDER BY global_position LIMIT $12"
    );
    let mut sink = Sink::new(format, out);
    let mut summary = Summary { events: 0, last_position: None };
    loop {
        let after = summary.last_position.unwrap_or(0);
        let rows: Vec<Row> =
            filter.bind(sqlx::query_as(&sql).bind(after)).bind(&horizon).bind(PAGE).fetch_all(pool).await?;
        let Some(last) = rows.last().map(|r| r.global_position) else { break };
        summary.last_position = Some(last);
        summary.events += rows.len() as u64;
        for row in rows {
            sink.write(&row.with_current())?;
        }
        progress(summary.events);
    }
    sink.flush()?;
    Ok(summary)
}

/// Where exported rows go, in their format.
enum Sink<W: Write> {
    Jsonl(std::io::BufWriter<W>),
    Csv(Box<csv::Writer<W>>),
}

impl<W: Write> Sink<W> {
    fn new(format: Format, out: W) -> Self {
        match format {
            Format::Jsonl => Self::Jsonl(std::io::BufWriter::new(out)),
            Format::Csv => Self::Csv(Box::new(csv::Writer::from_writer(out))),
        }
    }

    fn write(&mut self, row: &Row) -> Result<(), TransferError> {
        match self {
            Self::Jsonl(out) => {
                serde_json::to_writer(&mut *out, &Line::of(row)?).map_err(|e| TransferError::Io(e.into()))?;
                out.write_all(b"\n")?;
            }
            Self::Csv(out) => out.serialize(row).map_err(|e| TransferError::Io(std::io::Error::other(e)))?,
        }
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::Jsonl(out) => out.flush(),
            Self::Csv(out) => out.flush(),
        }
    }
}

impl<'a> Line<'a> {
    fn of(row: &'a Row) -> Result<Self, TransferError> {
        let raw = |text: &'a str| {
            serde_json::from_str::<&RawValue>(text).map_err(|e| TransferError::Malformed {
                line: row.global_position as u64,
                message: format!("stored JSON does not parse: {e}"),
            })
        };
        Ok(Self {
            global_position: row.global_position,
            recorded_at: row.recorded_at,
            event_id: row.event_id,
            aggregate_type: row.aggregate_type.clone(),
            aggregate_id: row.aggregate_id.clone(),
            sequence: row.sequence,
            event_type: row.event_type.clone(),
            event_version: row.event_version.clone(),
            payload: raw(&row.payload)?,
            metadata: raw(&row.metadata)?,
            hash: row.hash.clone(),
            current: (!row.current_version.is_empty()).then(|| Current {
                event_version: row.current_version.clone(),
                payload: serde_json::from_str(&row.current_payload).unwrap_or_default(),
            }),
        })
    }

    fn into_row(self) -> Row {
        Row {
            global_position: self.global_position,
            recorded_at: self.recorded_at,
            event_id: self.event_id,
            aggregate_type: self.aggregate_type,
            aggregate_id: self.aggregate_id,
            sequence: self.sequence,
            event_type: self.event_type,
            event_version: self.event_version,
            payload: self.payload.get().to_owned(),
            metadata: self.metadata.get().to_owned(),
            hash: self.hash,
            current_version: String::new(),
            current_payload: String::new(),
        }
    }
}

/// Stores an export into an empty event store, all or nothing: same positions, ids, times,
/// payloads, metadata and hashes. The projections and the mirror then catch up from the start.
pub async fn import(
    pool: &PgPool,
    format: Format,
    input: impl BufRead,
    mut progress: impl FnMut(u64),
) -> Result<Summary, TransferError> {
    let mut tx = pool.begin().await?;
    // No append may slip in while the store is being filled.
    sqlx::query("LOCK TABLE events IN EXCLUSIVE MODE").execute(&mut *tx).await?;
    let present: i64 = sqlx::query_scalar("SELECT count(*) FROM events").fetch_one(&mut *tx).await?;
    if present > 0 {
        return Err(TransferError::NotEmpty(present));
    }
    let mut summary = Summary { events: 0, last_position: None };
    let mut batch = Vec::with_capacity(PAGE as usize);
    for next in read_rows(format, input) {
        let (line, row) = next?;
        if let Some(last) = summary.last_position.filter(|last| row.global_position <= *last) {
            let message = format!("position {} does not follow {last}", row.global_position);
            return Err(TransferError::Malformed { line, message });
        }
        summary.last_position = Some(row.global_position);
        batch.push(row);
        if batch.len() == PAGE as usize {
            store(&mut tx, &mut batch, &mut summary, &mut progress).await?;
        }
    }
    store(&mut tx, &mut batch, &mut summary, &mut progress).await?;
    sqlx::query(
        "SELECT setval(pg_get_serial_sequence('events', 'global_position'), \
                       coalesce((SELECT max(global_position) FROM events), 0) + 1, false)",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(summary)
}

/// Inserts `batch` with its exported identity and checks every resulting hash; empties it.
async fn store(
    tx: &mut sqlx::PgConnection,
    batch: &mut Vec<Row>,
    summary: &mut Summary,
    progress: &mut impl FnMut(u64),
) -> Result<(), TransferError> {
    if batch.is_empty() {
        return Ok(());
    }
    let column = |f: &dyn Fn(&Row) -> String| batch.iter().map(f).collect::<Vec<String>>();
    let stored: Vec<(i64, String)> = sqlx::query_as(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, \
                             metadata, global_position, event_id, recorded_at) \
         OVERRIDING SYSTEM VALUE \
         SELECT t, i, s, et, ev, p::json, m::json, g, e, r \
         FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], \
                     $8::bigint[], $9::uuid[], $10::timestamptz[]) \
              WITH ORDINALITY AS u(t, i, s, et, ev, p, m, g, e, r, n) \
         ORDER BY n \
         RETURNING global_position, encode(hash, 'hex')",
    )
    .bind(column(&|r| r.aggregate_type.clone()))
    .bind(column(&|r| r.aggregate_id.clone()))
    .bind(batch.iter().map(|r| r.sequence).collect::<Vec<_>>())
    .bind(column(&|r| r.event_type.clone()))
    .bind(column(&|r| r.event_version.clone()))
    .bind(column(&|r| r.payload.clone()))
    .bind(column(&|r| r.metadata.clone()))
    .bind(batch.iter().map(|r| r.global_position).collect::<Vec<_>>())
    .bind(batch.iter().map(|r| r.event_id).collect::<Vec<_>>())
    .bind(batch.iter().map(|r| r.recorded_at).collect::<Vec<_>>())
    .fetch_all(&mut *tx)
    .await
    .map_err(incomplete)?;
    let hashes: std::collections::HashMap<i64, String> = stored.into_iter().collect();
    for row in batch.iter() {
        let actual = hashes.get(&row.global_position).cloned().unwrap_or_default();
        if actual != row.hash {
            return Err(TransferError::HashMismatch {
                position: row.global_position,
                expected: row.hash.clone(),
                actual,
            });
        }
    }
    summary.events += batch.len() as u64;
    progress(summary.events);
    batch.clear();
    Ok(())
}

/// A refusal of an event whose predecessor is not in its stream (migration 0013) is the export's
/// fault: it lacks that event.
fn incomplete(e: sqlx::Error) -> TransferError {
    match &e {
        sqlx::Error::Database(db) if db.constraint() == Some("events_predecessor") => {
            TransferError::Incomplete(db.message().to_owned())
        }
        _ => TransferError::Database(e),
    }
}

/// The rows of an export with their line numbers (1-based; CSV counts its header).
fn read_rows<'r>(
    format: Format,
    input: impl BufRead + 'r,
) -> Box<dyn Iterator<Item = Result<(u64, Row), TransferError>> + 'r> {
    match format {
        Format::Jsonl => Box::new(input.lines().zip(1..).filter_map(|(text, line)| {
            match text {
                Err(e) => Some(Err(TransferError::Io(e))),
                Ok(text) if text.trim().is_empty() => None,
                Ok(text) => Some(
                    serde_json::from_str::<Line>(&text)
                        .map(|l| (line, l.into_row()))
                        .map_err(|e| TransferError::Malformed { line, message: e.to_string() }),
                ),
            }
        })),
        // Exported JSON is compact (no raw line breaks), so record n is on line n + 1.
        Format::Csv => {
            Box::new(csv::Reader::from_reader(input).into_deserialize::<Row>().zip(2..).map(|(row, line)| {
                row.map(|row| (line, row))
                    .map_err(|e| TransferError::Malformed { line, message: e.to_string() })
            }))
        }
    }
}
