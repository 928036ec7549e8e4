//! Rebuilding projections without downtime: `klg replay projections`.
//!
//! The projector folds the whole log into **fresh tables** in a schema of their own
//! (`klg_rebuild`), on a connection whose search path puts that schema first, while the live
//! projector and the API keep using the live tables. The rebuild follows the live projector's
//! checkpoint and never passes it. When it has caught up, one transaction locks the live
//! checkpoint (the live projector's next batch waits), applies the last events up to it, and
//! swaps the tables: the live ones are dropped, the fresh ones move into `public` under the same
//! names, with the same indexes and constraints, and the views over them are recreated. Readers
//! see the old tables or the new ones, never a half-built one: the swap's locks make them wait a
//! moment at most. The live projector then goes on from the same checkpoint, on the new tables.
//!
//! A rebuild that dies leaves the live tables untouched; the next one starts afresh. One rebuild
//! runs at a time (an advisory lock).
//!
//! Secondary indexes are built after the bulk of the log is folded (faster than maintaining
//! them row by row); primary keys and unique constraints exist from the start, since the
//! projector's guarded updates look rows up by them.

use sqlx::{Connection, PgConnection, PgPool};

use crate::log::{self, LogPosition, StoredEvent};
use crate::projector::{Projector, PROJECTIONS};
use crate::subscription::{lock_checkpoint, read_checkpoint, Subscriber, SubscriberError};

/// The schema fresh tables are built in.
const SCHEMA: &str = "klg_rebuild";
/// Events per batch while rebuilding.
const BATCH: i64 = 8_000;
/// Advisory lock held while a rebuild runs ("KLG" and "replay").
const LOCK: (i32, i32) = (0x4b4c47, 0x7265706c);

/// A projection that can be rebuilt on its own: the tables it owns and the events it folds.
#[derive(Debug, Clone, Copy)]
pub struct ProjectionSet {
    pub name: &'static str,
    pub aggregate_type: &'static str,
    pub tables: &'static [&'static str],
}

/// Every projection the projector maintains (together, its `PROJECTION_TABLES`).
pub const PROJECTION_SETS: [ProjectionSet; 3] = [
    ProjectionSet {
        name: "aircraft",
        aggregate_type: "Aircraft",
        tables: &["aircraft", "aircraft_stats", "aircraft_directives"],
    },
    ProjectionSet { name: "inbox", aggregate_type: "InboxItem", tables: &["inbox_files"] },
    ProjectionSet { name: "tmc", aggregate_type: "PartsRequest", tables: &["tmc_requests"] },
];

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("no projection named {0:?} (known: aircraft, inbox, tmc)")]
    UnknownProjection(String),
    #[error("another replay is running")]
    Busy,
    #[error(transparent)]
    Projecting(#[from] SubscriberError),
}

impl From<sqlx::Error> for ReplayError {
    fn from(e: sqlx::Error) -> Self {
        Self::Projecting(e.into())
    }
}

/// What a replay did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReplayReport {
    pub projections: Vec<&'static str>,
    pub tables: Vec<&'static str>,
    /// Events read from the log.
    pub events_read: u64,
    /// Events folded into the fresh tables (those of the projections' aggregate types).
    pub events: u64,
    /// The live checkpoint the fresh tables were swapped in at.
    pub swapped_at: LogPosition,
    pub seconds: f64,
}

/// The projections `only` names (all of them when `None`).
pub fn select(only: Option<&str>) -> Result<Vec<ProjectionSet>, ReplayError> {
    match only {
        None => Ok(PROJECTION_SETS.to_vec()),
        Some(name) => PROJECTION_SETS
            .iter()
            .find(|s| s.name == name)
            .map(|s| vec![*s])
            .ok_or_else(|| ReplayError::UnknownProjection(name.to_owned())),
    }
}

/// How far a replay folds the log before it swaps the fresh tables in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Until {
    /// The live projector's checkpoint, which the replay never passes: what it swaps in is what
    /// the live tables hold, so any subset of the projections can be replayed.
    LiveCheckpoint,
    /// The end of the log; the swap moves the checkpoint there. Only for every projection at
    /// once (they share the checkpoint).
    LogHead,
}

impl Until {
    /// The last position to fold as things stand now: the live checkpoint, or the end of the log.
    async fn bound(self, pool: &PgPool) -> Result<LogPosition, sqlx::Error> {
        match self {
            Self::LiveCheckpoint => read_checkpoint(&mut *pool.acquire().await?, PROJECTIONS).await,
            Self::LogHead => Ok(LogPosition::MAX),
        }
    }
}

/// Rebuilds `sets` from the log into fresh tables and swaps them in; `progress(done, total)`
/// after each batch (total: the events up to the live checkpoint when it started).
pub async fn replay(
    pool: &PgPool,
    sets: &[ProjectionSet],
    progress: impl FnMut(u64, u64),
) -> Result<ReplayReport, ReplayError> {
    replay_until(pool, sets, Until::LiveCheckpoint, progress).await
}

/// `klg project --rebuild`: every projection rebuilt from the whole log into fresh tables and
/// swapped in, the checkpoint moved to where the rebuild ended — whether or not a live projector
/// runs meanwhile (readers keep the old tables until the swap, never an emptied one).
/// `progress(done, total)` after each batch (total: the events in the log when it started).
pub async fn rebuild_all(pool: &PgPool, progress: impl FnMut(u64, u64)) -> Result<ReplayReport, ReplayError> {
    replay_until(pool, &PROJECTION_SETS, Until::LogHead, progress).await
}

async fn replay_until(
    pool: &PgPool,
    sets: &[ProjectionSet],
    until: Until,
    mut progress: impl FnMut(u64, u64),
) -> Result<ReplayReport, ReplayError> {
    let started = std::time::Instant::now();
    let mut conn = PgConnection::connect_with(&pool.connect_options()).await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
        .bind(LOCK.0)
        .bind(LOCK.1)
        .fetch_one(&mut conn)
        .await?;
    if !locked {
        return Err(ReplayError::Busy);
    }
    let tables: Vec<&'static str> = sets.iter().flat_map(|s| s.tables.iter().copied()).collect();
    let kinds: Vec<&'static str> = sets.iter().map(|s| s.aggregate_type).collect();
    // Counting the events (for the progress bar) scans the log: done meanwhile.
    let (deferred_indexes, total) = tokio::join!(create_fresh_tables(&mut conn, &tables), async {
        events_up_to(pool, until.bound(pool).await?).await
    });
    let (deferred_indexes, total) = (deferred_indexes?, total?);
    sqlx::raw_sql(&format!("SET search_path = {SCHEMA}, public")).execute(&mut conn).await?;

    sqlx::query("INSERT INTO subscription_checkpoints (name) VALUES ($1) ON CONFLICT (name) DO NOTHING")
        .bind(PROJECTIONS)
        .execute(pool)
        .await?;
    // The fresh tables become durable with the swap's commit (it flushes the log up to itself):
    // the batches before it need not wait for the disk.
    sqlx::raw_sql("SET synchronous_commit = off").execute(&mut conn).await?;
    let mut fold = Fold { kinds, until, position: LogPosition::default(), events: 0, read: 0 };
    fold.in_partitions(pool, &mut |read| progress(read, total)).await?;
    fold.catch_up(pool, &mut conn, &mut |read| progress(read, total.max(read))).await?;
    let folded = started.elapsed();
    for index in &deferred_indexes {
        sqlx::raw_sql(index).execute(&mut conn).await?;
    }
    let indexed = started.elapsed();
    fold.catch_up(pool, &mut conn, &mut |read| progress(read, total.max(read))).await?;
    sqlx::raw_sql("SET synchronous_commit = on").execute(&mut conn).await?;
    let swapped_at = swap(pool, &mut conn, &mut fold, &tables).await?;
    tracing::info!(
        events = fold.read,
        fold_seconds = folded.as_secs_f64(),
        index_seconds = (indexed - folded).as_secs_f64(),
        swap_seconds = (started.elapsed() - indexed).as_secs_f64(),
        "projections replayed and swapped in"
    );
    progress(fold.read, total.max(fold.read));
    // Closing the session releases the advisory lock.
    conn.close().await?;
    Ok(ReplayReport {
        projections: sets.iter().map(|s| s.name).collect(),
        tables,
        events_read: fold.read,
        events: fold.events,
        swapped_at,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Events in the log up to `checkpoint` (for the progress bar).
async fn events_up_to(pool: &PgPool, checkpoint: LogPosition) -> Result<u64, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE (transaction_id, global_position) <= ($1::text::xid8, $2)",
    )
    .bind(checkpoint.transaction_id.to_string())
    .bind(checkpoint.global_position)
    .fetch_one(pool)
    .await?;
    Ok(n as u64)
}

/// Creates `SCHEMA` with an empty copy of each table (columns, defaults, generated columns,
/// checks, primary and unique constraints under their live names); returns the statements
/// creating the other indexes, under their live names, to run once the bulk is folded.
async fn create_fresh_tables(conn: &mut PgConnection, tables: &[&str]) -> Result<Vec<String>, sqlx::Error> {
    // With only pg_catalog on the path, the catalog's functions qualify every name they print.
    sqlx::raw_sql(&format!(
        "SET search_path = pg_catalog; DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA}"
    ))
    .execute(&mut *conn)
    .await?;
    let mut deferred = Vec::new();
    for table in tables {
        let live = format!("public.{table}");
        let fresh = format!("{SCHEMA}.{table}");
        sqlx::raw_sql(&format!("CREATE TABLE {fresh} (LIKE {live} INCLUDING ALL EXCLUDING INDEXES)"))
            .execute(&mut *conn)
            .await?;
        // Storage parameters (a fill factor) are not part of LIKE … INCLUDING ALL.
        let options: Option<Vec<String>> =
            sqlx::query_scalar("SELECT reloptions FROM pg_class WHERE oid = $1::regclass")
                .bind(&live)
                .fetch_one(&mut *conn)
                .await?;
        if let Some(options) = options.filter(|o| !o.is_empty()) {
            sqlx::raw_sql(&format!("ALTER TABLE {fresh} SET ({})", options.join(", ")))
                .execute(&mut *conn)
                .await?;
        }
        let constraints: Vec<(String, String)> = sqlx::query_as(
            "SELECT conname::text, pg_get_constraintdef(oid) FROM pg_constraint \
             WHERE conrelid = $1::regclass AND contype IN ('p', 'u', 'x') ORDER BY conname",
        )
        .bind(&live)
        .fetch_all(&mut *conn)
        .await?;
        for (name, definition) in constraints {
            sqlx::raw_sql(&format!("ALTER TABLE {fresh} ADD CONSTRAINT {name} {definition}"))
                .execute(&mut *conn)
                .await?;
        }
        let indexes: Vec<String> = sqlx::query_scalar(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = $1::regclass \
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) \
             ORDER BY i.indexrelid",
        )
        .bind(&live)
        .fetch_all(&mut *conn)
        .await?;
        let on_live = format!(" ON {live} ");
        deferred.extend(indexes.into_iter().map(|def| def.replacen(&on_live, &format!(" ON {fresh} "), 1)));
    }
    Ok(deferred)
}

/// Workers writing the bulk of the log side by side: one per core (at least two, at most eight),
/// so that PostgreSQL's writing and `klg`'s decoding spread over the cores instead of taking
/// turns on one connection.
fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 8)
}

/// A connection writing the fresh tables (its search path puts `SCHEMA` first) without waiting
/// for the disk: the swap's commit flushes the log up to itself, and with it everything before.
async fn fresh_tables_connection(pool: &PgPool) -> Result<PgConnection, sqlx::Error> {
    let options = pool
        .connect_options()
        .as_ref()
        .clone()
        .options([("search_path", format!("{SCHEMA},public").as_str()), ("synchronous_commit", "off")]);
    PgConnection::connect_with(&options).await
}

/// Applies the events of `batch` whose aggregate type is one of `kinds`; answers how many.
async fn apply_kinds(
    db: &mut PgConnection,
    kinds: &[&'static str],
    batch: Vec<StoredEvent>,
) -> Result<u64, SubscriberError> {
    let mine: Vec<StoredEvent> =
        batch.into_iter().filter(|e| kinds.contains(&e.aggregate_type.as_str())).collect();
    if !mine.is_empty() {
        Projector.apply(db, &mine).await?;
    }
    Ok(mine.len() as u64)
}

/// One worker of [`Fold::in_partitions`]: folds the parts of batches it is given, each in a
/// transaction of its own, on a connection of its own; answers the events applied.
async fn fold_parts(
    pool: PgPool,
    kinds: Vec<&'static str>,
    mut parts: tokio::sync::mpsc::Receiver<Vec<StoredEvent>>,
) -> Result<u64, ReplayError> {
    let mut conn = fresh_tables_connection(&pool).await?;
    let mut applied = 0;
    while let Some(part) = parts.recv().await {
        let mut tx = conn.begin().await?;
        applied += apply_kinds(&mut tx, &kinds, part).await?;
        tx.commit().await?;
    }
    conn.close().await?;
    Ok(applied)
}

/// `batch` in `count` parts by aggregate, each in log order: an aggregate's events all go to the
/// same part, in every batch.
fn split_by_aggregate(batch: Vec<StoredEvent>, count: usize) -> Vec<Vec<StoredEvent>> {
    use std::hash::{Hash, Hasher};
    let mut parts: Vec<Vec<StoredEvent>> =
        (0..count).map(|_| Vec::with_capacity(batch.len() / count + 1)).collect();
    for event in batch {
        // SipHash with fixed keys: the same aggregate lands in the same part for the whole run.
        let mut hasher = std::hash::DefaultHasher::new();
        (&event.aggregate_type, &event.aggregate_id).hash(&mut hasher);
        parts[(hasher.finish() % count as u64) as usize].push(event);
    }
    parts
}

/// The rebuild's progress through the log.
struct Fold {
    kinds: Vec<&'static str>,
    until: Until,
    position: LogPosition,
    /// Events of `kinds` applied.
    events: u64,
    /// Events read (all kinds).
    read: u64,
}

impl Fold {
    /// Folds the log up to its last readable event as it stands now (up to the live checkpoint
    /// when that is the bound): read here batch by batch, each batch split by aggregate among
    /// [`workers`] that write side by side, each on a connection of its own. The projections
    /// never write across aggregates, and an aggregate's events all go to one worker in log
    /// order, so each aggregate is still folded in order. A worker's failure stops the rebuild.
    async fn in_partitions(
        &mut self,
        pool: &PgPool,
        progress: &mut impl FnMut(u64),
    ) -> Result<(), ReplayError> {
        let head = log::readable_head(pool, self.until.bound(pool).await?).await?;
        if head <= self.position {
            return Ok(());
        }
        let count = workers();
        let mut tasks = tokio::task::JoinSet::new();
        let mut senders = Vec::with_capacity(count);
        for _ in 0..count {
            // Two parts queued per worker: the next batch is read while the workers write.
            let (sender, parts) = tokio::sync::mpsc::channel(2);
            senders.push(sender);
            tasks.spawn(fold_parts(pool.clone(), self.kinds.clone(), parts));
        }
        let mut after = self.position;
        'reading: loop {
            let batch = Self::read_between(pool, after, head).await?;
            let Some(last) = batch.last().map(|e| e.position) else { break };
            let read = batch.len() as u64;
            for (part, sender) in split_by_aggregate(batch, count).into_iter().zip(&senders) {
                if !part.is_empty() && sender.send(part).await.is_err() {
                    break 'reading; // That worker failed: its error is answered below.
                }
            }
            self.read += read;
            progress(self.read);
            after = last;
        }
        drop(senders);
        while let Some(joined) = tasks.join_next().await {
            // Returning drops the other workers (their transactions roll back).
            self.events += joined.map_err(|e| SubscriberError::Other(format!("rebuild worker: {e}")))??;
        }
        self.position = after;
        Ok(())
    }

    /// Folds the log up to the live checkpoint as it stands now (a moving target: repeats until
    /// a batch finds nothing left before it).
    async fn catch_up(
        &mut self,
        pool: &PgPool,
        conn: &mut PgConnection,
        progress: &mut impl FnMut(u64),
    ) -> Result<(), ReplayError> {
        let until = self.until;
        let mut batch = read_next(until, pool, self.position).await?;
        while let Some(last) = batch.last().map(|e| e.position) {
            // The next batch is read while this one is written (events below the horizon never
            // change, so what is read after `last` now is what a later read would return).
            let write = async {
                let mut tx = conn.begin().await?;
                self.apply(&mut tx, batch).await?;
                tx.commit().await?;
                Ok::<(), ReplayError>(())
            };
            let read = read_next(until, pool, last);
            let (written, read) = tokio::join!(write, read);
            written?;
            batch = read?;
            progress(self.read);
        }
        Ok(())
    }

    /// The next events after `after`, up to and including `target`.
    async fn read_between(
        pool: &PgPool,
        after: LogPosition,
        target: LogPosition,
    ) -> Result<Vec<StoredEvent>, sqlx::Error> {
        if after >= target {
            return Ok(Vec::new());
        }
        let mut events = log::read_after(pool, after, BATCH).await?;
        events.retain(|e| e.position <= target);
        Ok(events)
    }

    async fn apply(&mut self, db: &mut PgConnection, batch: Vec<StoredEvent>) -> Result<(), SubscriberError> {
        let Some(last) = batch.last().map(|e| e.position) else { return Ok(()) };
        self.read += batch.len() as u64;
        self.events += apply_kinds(db, &self.kinds, batch).await?;
        self.position = last;
        Ok(())
    }
}

/// The next events after `after` a replay folds: up to the live checkpoint as it stands now, or
/// up to the end of the log.
async fn read_next(until: Until, pool: &PgPool, after: LogPosition) -> Result<Vec<StoredEvent>, ReplayError> {
    Ok(Fold::read_between(pool, after, until.bound(pool).await?).await?)
}

/// In one transaction: hold the live projector at its checkpoint, fold the rest of the log up
/// to it, and put the fresh tables in the live ones' place (recreating the views over them).
async fn swap(
    pool: &PgPool,
    conn: &mut PgConnection,
    fold: &mut Fold,
    tables: &[&str],
) -> Result<LogPosition, ReplayError> {
    let mut tx = conn.begin().await?;
    // Readers queue behind the swap's locks: give up rather than hold them up for long.
    sqlx::raw_sql("SET LOCAL lock_timeout = '10s'").execute(&mut *tx).await?;
    let checkpoint = lock_checkpoint(&mut tx, PROJECTIONS).await?;
    let target = match fold.until {
        Until::LiveCheckpoint => checkpoint,
        Until::LogHead => LogPosition::MAX,
    };
    loop {
        let batch = Fold::read_between(pool, fold.position, target).await?;
        if batch.is_empty() {
            break;
        }
        fold.apply(&mut tx, batch).await?;
    }
    // Folded to the end of the log: the live projector goes on from there, on the fresh tables.
    let checkpoint = match fold.until {
        Until::LogHead if fold.position > checkpoint => {
            move_checkpoint(&mut tx, fold.position).await?;
            fold.position
        }
        _ => checkpoint,
    };
    sqlx::raw_sql("SET LOCAL search_path = pg_catalog").execute(&mut *tx).await?;
    let live: Vec<String> = tables.iter().map(|t| format!("public.{t}")).collect();
    let views: Vec<(String, String)> = sqlx::query_as(
        "SELECT DISTINCT v.oid::regclass::text, pg_get_viewdef(v.oid) \
         FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class \
         WHERE d.refobjid = ANY($1::regclass[]) AND v.relkind = 'v' AND v.oid <> d.refobjid",
    )
    .bind(&live)
    .fetch_all(&mut *tx)
    .await?;
    for (view, _) in &views {
        sqlx::raw_sql(&format!("DROP VIEW {view}")).execute(&mut *tx).await?;
    }
    for table in tables {
        sqlx::raw_sql(&format!("DROP TABLE public.{table}; ALTER TABLE {SCHEMA}.{table} SET SCHEMA public"))
            .execute(&mut *tx)
            .await?;
    }
    for (view, definition) in &views {
        sqlx::raw_sql(&format!("CREATE VIEW {view} AS {definition}")).execute(&mut *tx).await?;
    }
    sqlx::raw_sql(&format!("DROP SCHEMA {SCHEMA}")).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(checkpoint)
}

/// Sets the projections' checkpoint to `to` (the caller holds its row lock).
async fn move_checkpoint(tx: &mut PgConnection, to: LogPosition) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE subscription_checkpoints SET transaction_id = $2::text::xid8, global_position = $3, \
         owner = 'rebuild', updated_at = now() WHERE name = $1",
    )
    .bind(PROJECTIONS)
    .bind(to.transaction_id.to_string())
    .bind(to.global_position)
    .execute(tx)
    .await?;
    Ok(())
}
