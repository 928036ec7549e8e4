//! Group commit: the appends of concurrent commands go to PostgreSQL together, as one statement
//! in one transaction, instead of one transaction (and one WAL flush, one wake-up of every
//! subscriber) each.
//!
//! Nothing waits to form a group. An append with no group in flight is sent at once; appends
//! that arrive while [`MAX_IN_FLIGHT`] groups are in flight queue, and the first group to finish
//! takes every queued append (up to [`MAX_GROUP`]) as the next group. At one client a command
//! costs what it did alone; under load the groups grow by themselves.
//!
//! Each command stays all-or-nothing. A refused row aborts the whole statement: a unique key's
//! (another process's append at the same sequence, a registration number or an idempotency key
//! taken), or the store's refusal of an event whose predecessor is not in its stream (the event
//! a command was decided on is gone: a cache ahead of a restored database; migration 0013). The
//! group is then appended command by command, so exactly the commands at fault are refused. Any
//! other error fails every command of the group, none of which was stored.
//!
//! Groups run as tasks of their own: a request that goes away (its client disconnected) does
//! not cancel the statement carrying other commands.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cqrs_es::persist::SerializedEvent;
use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres};
use tokio::sync::oneshot;

/// Appends in one group at most. Each is a few rows; the bound keeps a statement's parameters
/// and the time a group holds its rows' locks small.
const MAX_GROUP: usize = 64;

/// Groups in flight at once. One: the next group forms while the one in flight commits, so
/// groups grow with the load. Two (which let one group's commit overlap the next group's
/// insert) cost 15 % more CPU per command under load — smaller groups, and two appends
/// contending for the same index pages — with the WAL flush at 85 µs (docs/benchmarks.md,
/// session 9).
pub const MAX_IN_FLIGHT: usize = 1;

/// One command's events, numbered after `expected` (the sequence they were decided on).
pub(crate) struct Append {
    pub aggregate_type: &'static str,
    pub aggregate_id: String,
    pub expected: usize,
    pub events: Vec<SerializedEvent>,
}

/// Why an append stored nothing.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum AppendError {
    /// A unique key refused the append: the expected sequence was taken (another writer), or a
    /// registration number or idempotency key is already used.
    #[error("conflict on append")]
    Conflict,
    /// The event the command was decided on is not in the store (a restored database).
    #[error("the stream no longer holds the event the command was decided on")]
    PredecessorMissing,
    #[error(transparent)]
    Database(Arc<sqlx::Error>),
    /// The group's task was dropped with its runtime (the process is stopping): whether the
    /// append committed is unknown, as after a connection lost during COMMIT.
    #[error("the process stopped while the append was under way; whether it was stored is unknown")]
    Interrupted,
}

/// (sequence, global position) of each appended event, in sequence order.
pub(crate) type Rows = Vec<(i64, i64)>;

/// What became of one command's append.
pub(crate) type Appended = Result<Rows, AppendError>;

struct Pending {
    append: Append,
    reply: oneshot::Sender<Appended>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Pending>,
    in_flight: usize,
}

/// Appends commands' events to the `events` table, grouping concurrent ones (see the module).
pub(crate) struct GroupAppender {
    pool: PgPool,
    queue: Mutex<Queue>,
}

impl GroupAppender {
    /// Appends through connections of its own (see [`append_connections`]), opened as `pool`'s.
    pub fn new(pool: PgPool) -> Arc<Self> {
        Arc::new(Self { pool: append_connections(&pool), queue: Mutex::default() })
    }

    /// Appends `append`'s events, alone or in a group with other commands' appends.
    pub async fn append(self: &Arc<Self>, append: Append) -> Appended {
        let (reply, answer) = oneshot::channel();
        let group = {
            let mut queue = self.lock();
            queue.waiting.push(Pending { append, reply });
            if queue.in_flight < MAX_IN_FLIGHT {
                queue.in_flight += 1;
                Some(take_group(&mut queue))
            } else {
                None
            }
        };
        if let Some(group) = group {
            tokio::spawn(Arc::clone(self).flush(group));
        }
        answer.await.unwrap_or(Err(AppendError::Interrupted))
    }

    /// Appends `group`, then every group that queued meanwhile, until the queue is empty. One
    /// connection serves the whole run: given back to the pool between groups, it is checked
    /// there (a round trip, sqlx's on every release) while the next group waits for it.
    async fn flush(self: Arc<Self>, mut group: Vec<Pending>) {
        let mut slot = Slot { appender: &self, held: true };
        let mut connection = None;
        loop {
            self.append_group(&mut connection, group).await;
            let mut queue = self.lock();
            // Checked and released under one lock: an append queued after this sees a free slot.
            if queue.waiting.is_empty() {
                queue.in_flight -= 1;
                slot.held = false;
                return;
            }
            group = take_group(&mut queue);
        }
    }

    async fn append_group(&self, connection: &mut Option<PoolConnection<Postgres>>, group: Vec<Pending>) {
        let appends: Vec<&Append> = group.iter().map(|p| &p.append).collect();
        let results: Vec<Appended> = match self.insert_on(connection, &appends).await {
            Err(AppendError::Conflict | AppendError::PredecessorMissing) if group.len() > 1 => {
                let mut results = Vec::with_capacity(group.len());
                for append in &appends {
                    let alone = self.insert_on(connection, &[append]).await;
                    results.push(alone.map(|mut alone| alone.remove(0)));
                }
                results
            }
            Err(e) => vec![Err(e); group.len()],
            Ok(results) => results.into_iter().map(Ok).collect(),
        };
        for (pending, result) in group.into_iter().zip(results) {
            // The command's request may have gone away; its events stand (or not) all the same.
            let _ = pending.reply.send(result);
        }
    }

    /// [`insert`] on the connection held (taken from the pool if none is). A connection whose
    /// statement failed for any reason but a refusal goes back to the pool, which checks it.
    async fn insert_on(
        &self,
        connection: &mut Option<PoolConnection<Postgres>>,
        appends: &[&Append],
    ) -> Result<Vec<Rows>, AppendError> {
        let held = match connection {
            Some(held) => held,
            None => {
                connection.insert(self.pool.acquire().await.map_err(|e| AppendError::Database(Arc::new(e)))?)
            }
        };
        let inserted = insert(held, appends).await;
        if matches!(inserted, Err(AppendError::Database(_))) {
            *connection = None;
        }
        inserted
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A group slot taken by a flush task. Should the task be dropped mid-way (its runtime stopping),
/// the slot is given back, so later appends are not left queued behind a group that is gone.
struct Slot<'a> {
    appender: &'a GroupAppender,
    held: bool,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if self.held {
            self.appender.lock().in_flight -= 1;
        }
    }
}

/// The appender's connections: one per group in flight, each planning the append once
/// ([`crate::db::planned_once`]: its best plan never changes — unnest the group, insert it).
fn append_connections(pool: &PgPool) -> PgPool {
    crate::db::pool_options()
        .max_connections(MAX_IN_FLIGHT as u32)
        .acquire_timeout(pool.options().get_acquire_timeout())
        .connect_lazy_with(crate::db::planned_once(pool.connect_options().as_ref().clone()))
}

fn take_group(queue: &mut Queue) -> Vec<Pending> {
    let rest = queue.waiting.split_off(queue.waiting.len().min(MAX_GROUP));
    std::mem::replace(&mut queue.waiting, rest)
}

/// One statement appending every event of `appends`: per append, its (sequence, position)
/// rows. A refusal of any row is `Conflict` (a unique key) or `PredecessorMissing` (the store's
/// gap-free streams, migration 0013) for the whole statement: nothing was stored. The stamping
/// trigger's lookup of each event's predecessor, for its hash, is the guard that the event a
/// command was decided on is still the stream's.
async fn insert(db: &mut PgConnection, appends: &[&Append]) -> Result<Vec<Rows>, AppendError> {
    let rows = appends.iter().flat_map(|a| a.events.iter().map(move |e| (*a, e)));
    let mut columns = Columns::default();
    for (append, event) in rows {
        columns.push(append, event);
    }
    let stored: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         SELECT e.aggregate_type, e.aggregate_id, e.sequence, e.event_type, e.event_version, e.payload::json, \
                e.metadata::json \
         FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[]) \
              WITH ORDINALITY AS e(aggregate_type, aggregate_id, sequence, event_type, event_version, payload, \
                                   metadata, n) \
         ORDER BY e.n \
         RETURNING aggregate_type, aggregate_id, sequence, global_position",
    )
    .bind(columns.aggregate_types)
    .bind(columns.aggregate_ids)
    .bind(columns.sequences)
    .bind(columns.event_types)
    .bind(columns.event_versions)
    .bind(columns.payloads)
    .bind(columns.metadata)
    .fetch_all(db)
    .await
    .map_err(refusal)?;
    let mut by_stream: HashMap<(&str, &str), Rows> = HashMap::new();
    for (aggregate_type, aggregate_id, sequence, position) in &stored {
        by_stream.entry((aggregate_type, aggregate_id)).or_default().push((*sequence, *position));
    }
    Ok(appends.iter().map(|append| rows_of(append, &by_stream)).collect())
}

/// The stored rows of `append`: its stream's, within its sequence range.
fn rows_of(append: &Append, by_stream: &HashMap<(&str, &str), Rows>) -> Rows {
    let range = append.expected as i64 + 1..=(append.expected + append.events.len()) as i64;
    let mut rows: Rows = by_stream
        .get(&(append.aggregate_type, append.aggregate_id.as_str()))
        .into_iter()
        .flatten()
        .filter(|(sequence, _)| range.contains(sequence))
        .copied()
        .collect();
    rows.sort_unstable();
    rows
}

/// What a refused statement means for its appends.
fn refusal(e: sqlx::Error) -> AppendError {
    if let sqlx::Error::Database(db) = &e {
        match (db.code().as_deref(), db.constraint()) {
            (Some("23505"), _) => return AppendError::Conflict,
            (Some("23503"), Some("events_predecessor")) => return AppendError::PredecessorMissing,
            _ => {}
        }
    }
    AppendError::Database(Arc::new(e))
}

/// The statement's parameters, one array per column.
#[derive(Default)]
struct Columns {
    aggregate_types: Vec<&'static str>,
    aggregate_ids: Vec<String>,
    sequences: Vec<i64>,
    event_types: Vec<String>,
    event_versions: Vec<String>,
    payloads: Vec<String>,
    metadata: Vec<String>,
}

impl Columns {
    fn push(&mut self, append: &Append, event: &SerializedEvent) {
        self.aggregate_types.push(append.aggregate_type);
        self.aggregate_ids.push(append.aggregate_id.clone());
        self.sequences.push(event.sequence as i64);
        self.event_types.push(event.event_type.clone());
        self.event_versions.push(event.event_version.clone());
        self.payloads.push(event.payload.to_string());
        self.metadata.push(event.metadata.to_string());
    }
}
