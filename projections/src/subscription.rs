//! Durable named subscriptions over the global log.
//!
//! A subscription reads the log from its checkpoint in batches, hands each batch to its
//! [`Subscriber`] inside a transaction, and stores the new checkpoint in that same transaction:
//! a subscriber that writes to PostgreSQL (a projection) gets exactly-once effect; one that
//! writes elsewhere (the broker mirror) gets at-least-once, since a crash between its external
//! write and the commit replays the batch.
//!
//! It wakes on `NOTIFY klg_events` (sent by a trigger when events commit), with a short poll as
//! a fallback for missed notifications and for events held back by the horizon.
//!
//! Several `klg` processes may run the same subscription: one of them holds a session-level
//! advisory lock and does the work; the others retry the lock every second and take over within
//! about a second of the holder's connection closing. The checkpoint row is also locked
//! `FOR UPDATE` for each batch, so even two holders could never apply a batch twice.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::postgres::PgListener;
use sqlx::{PgConnection, PgPool};

use crate::log::{self, LogPosition, StoredEvent};

/// First key of the advisory locks KLG's subscriptions take (the second is the name's hash).
const LOCK_CLASS: i32 = 0x4b4c47; // "KLG"
pub const NOTIFY_CHANNEL: &str = "klg_events";
/// Largest batch while catching up (see `Subscription::current_batch`).
const MAX_CATCH_UP_BATCH: i64 = 8_000;
/// Notifications already queued that one read answers at most.
const MAX_QUEUED_NOTIFICATIONS: usize = 10_000;

/// How a subscriber's effects relate to its checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Its writes go through the transaction that advances the checkpoint: exactly-once effect.
    Transactional,
    /// Its writes go elsewhere (a broker): the checkpoint advances after `apply` returns, in a
    /// transaction of its own — at-least-once. No transaction is open while `apply` waits, so a
    /// slow or absent external system cannot hold the log horizon back for other readers.
    AtLeastOnce,
}

/// Handles batches of events for one subscription.
#[async_trait::async_trait]
pub trait Subscriber: Send + Sync + 'static {
    fn delivery(&self) -> Delivery {
        Delivery::Transactional
    }

    /// Applies `events` (in log order). For a transactional subscriber, `db` is the transaction
    /// that also advances the checkpoint; an error rolls both back and the batch is retried.
    async fn apply(&self, db: &mut PgConnection, events: &[StoredEvent]) -> Result<(), SubscriberError>;

    /// For an at-least-once subscriber: starts delivering `events` (in log order, after every
    /// batch started before) and returns what completes once all of them are delivered. While it
    /// is under way the subscription reads and starts the next batch; it advances the checkpoint
    /// past a batch only once that batch and every one before it completed. By default the
    /// batch is applied before this returns.
    async fn start(
        &self,
        db: &mut PgConnection,
        events: &[StoredEvent],
    ) -> Result<Delivering, SubscriberError> {
        self.apply(db, events).await?;
        Ok(Box::pin(std::future::ready(Ok(()))))
    }
}

/// A batch on its way (see [`Subscriber::start`]).
pub type Delivering =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), SubscriberError>> + Send>>;

/// Batches an at-least-once subscription reads and starts in one turn while catching up, each
/// started while the one before is still being delivered.
const PIPELINED_BATCHES: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum SubscriberError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("event {event_id} ({event_type}) cannot be applied: {reason}")]
    Poison { event_id: uuid::Uuid, event_type: String, reason: String },
    #[error("{0}")]
    Other(String),
}

/// What a running subscription is doing, for health reports.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SubscriptionState {
    pub leader: bool,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub last_batch_at: Option<DateTime<Utc>>,
    /// Batches handled by this process.
    pub batches: u64,
    /// Failures in a row (reset by any successful poll); drives the retry backoff.
    pub consecutive_failures: u32,
}

pub type SubscriptionStatus = Arc<Mutex<SubscriptionState>>;

pub struct Subscription<S: Subscriber> {
    name: String,
    owner: String,
    pool: PgPool,
    subscriber: S,
    batch_size: i64,
    /// The batch size in use: grows (doubling, up to [`MAX_CATCH_UP_BATCH`]) while batches come
    /// back full — catching up or rebuilding, where fewer, larger transactions pay — and drops
    /// back to `batch_size` once the subscription is current, so a live batch stays small.
    current_batch: std::sync::atomic::AtomicI64,
    /// A batch read ahead while the previous one was written: (the position it follows, events).
    prefetched: Mutex<Option<(LogPosition, Vec<StoredEvent>)>>,
    idle_poll: Duration,
    status: SubscriptionStatus,
}

impl<S: Subscriber> Subscription<S> {
    /// `owner` names this process in the checkpoint table (who is running the subscription).
    pub fn new(name: impl Into<String>, owner: impl Into<String>, pool: PgPool, subscriber: S) -> Self {
        Self {
            name: name.into(),
            owner: owner.into(),
            pool,
            subscriber,
            batch_size: 500,
            current_batch: std::sync::atomic::AtomicI64::new(500),
            prefetched: Mutex::default(),
            idle_poll: Duration::from_millis(250),
            status: SubscriptionStatus::default(),
        }
    }

    pub fn with_batch_size(mut self, batch_size: i64) -> Self {
        self.batch_size = batch_size.max(1);
        self.current_batch = std::sync::atomic::AtomicI64::new(self.batch_size);
        self
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub fn status(&self) -> SubscriptionStatus {
        self.status.clone()
    }

    /// Runs for ever: waits for leadership, then follows the log. Stop it by aborting the task;
    /// an interrupted batch rolls back. Failures are retried with exponential backoff (0.5 s
    /// doubling to 30 s), reset by the next handled batch.
    pub async fn run(self) {
        let (_never, stop) = tokio::sync::watch::channel(false);
        self.run_until(stop).await
    }

    /// [`run`](Self::run) until `stop` turns true: a batch under way is finished (applied and
    /// checkpointed, or rolled back if it fails), never cut off mid-way, then this returns.
    pub async fn run_until(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        // One connection for the advisory lock, kept between a standby's attempts (opening one
        // per attempt cost a connection a second per standby); dropped after an error, which
        // also releases a lock held on it.
        let mut lock_connection = None;
        while !stop_requested(&stop) {
            if let Err(e) = self.lead(&mut lock_connection, &mut stop).await {
                lock_connection = None;
                let mut failures = 0;
                self.update(|s| {
                    s.leader = false;
                    s.last_error = Some(e.to_string());
                    s.last_error_at = Some(Utc::now());
                    s.consecutive_failures += 1;
                    failures = s.consecutive_failures;
                });
                let wait = Duration::from_millis(250 << failures.min(7)).min(Duration::from_secs(30));
                tracing::warn!(subscription = %self.name, error = %e, retry_in = ?wait, "subscription interrupted");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.changed() => {}
                }
            }
        }
        self.update(|s| s.leader = false);
        tracing::info!(subscription = %self.name, "subscription stopped");
    }

    /// Handles everything available now, then returns; for tools and tests. Does not take the
    /// advisory lock (the checkpoint row lock still prevents double application).
    pub async fn catch_up(&self) -> Result<u64, SubscriberError> {
        self.catch_up_reporting(|_| {}).await
    }

    /// [`catch_up`](Self::catch_up), calling `progress` with the running total after each batch.
    pub async fn catch_up_reporting(&self, mut progress: impl FnMut(u64)) -> Result<u64, SubscriberError> {
        ensure_checkpoint(&self.pool, &self.name).await?;
        let mut total = 0;
        loop {
            let n = self.run_batch(None).await?;
            total += n as u64;
            if n == 0 {
                return Ok(total);
            }
            progress(total);
        }
    }

    async fn lead(
        &self,
        lock_connection: &mut Option<PgConnection>,
        stop: &mut tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), SubscriberError> {
        if lock_connection.is_none() {
            *lock_connection = Some(self.pool.acquire().await?.detach());
        }
        let lock = lock_connection.as_mut().expect("connected above");
        let acquired: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, hashtext($2))")
            .bind(LOCK_CLASS)
            .bind(&self.name)
            .fetch_one(&mut *lock)
            .await?;
        if !acquired {
            // A standby that reached the database is healthy, whatever failed before.
            self.update(|s| {
                s.last_error = None;
                s.consecutive_failures = 0;
            });
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.changed() => {}
            }
            return Ok(());
        }
        tracing::info!(subscription = %self.name, owner = %self.owner, "leading subscription");
        ensure_checkpoint(&self.pool, &self.name).await?;
        self.update(|s| s.leader = true);
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(NOTIFY_CHANNEL).await?;
        let mut lock_checked = Instant::now();
        // After a notification whose events were not readable yet (an older transaction still
        // open holds them below the horizon), poll again soon — 2 ms, doubling — instead of
        // waiting out the idle poll: no second notification comes for them.
        let mut held_back: Option<Duration> = None;
        while !stop_requested(stop) {
            let handled = self.run_batch(Some(&mut *lock)).await?;
            if handled > 0 && handled as i64 >= self.batch_size {
                continue;
            }
            if handled > 0 {
                held_back = None;
            }
            if lock_checked.elapsed() > Duration::from_secs(2) {
                // Idle: notice a lost lock (connection) even when nothing is to be applied.
                sqlx::query("SELECT 1").execute(&mut *lock).await?;
                lock_checked = Instant::now();
            }
            let wait = match held_back {
                Some(wait) if wait < self.idle_poll => {
                    held_back = Some(wait * 2);
                    wait
                }
                _ => {
                    held_back = None;
                    self.idle_poll
                }
            };
            tokio::select! {
                notification = listener.recv() => {
                    notification?;
                    // Every commit notifies: the ones already here are answered by the same
                    // read, which starts after them, instead of by one read each (profiled: two
                    // reads in three found nothing, and the projector's batches averaged ten
                    // events; docs/benchmarks.md, session 9). Bounded, should they keep coming.
                    for _ in 0..MAX_QUEUED_NOTIFICATIONS {
                        match tokio::time::timeout(Duration::ZERO, listener.recv()).await {
                            Ok(queued) => queued?,
                            Err(_) => break,
                        };
                    }
                    held_back = Some(Duration::from_millis(2));
                }
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {}
            }
        }
        Ok(())
    }

    /// Reads one batch after the checkpoint, applies it and advances the checkpoint. With
    /// `lock` (the connection holding the advisory lock), leadership is confirmed before every
    /// batch is applied: the lock lives as long as that connection, and a leader whose
    /// connection was cut must stop before a second leader and it both apply batches.
    async fn run_batch(&self, lock: Option<&mut PgConnection>) -> Result<usize, SubscriberError> {
        let span = tracing::info_span!("batch", subscription = %self.name);
        let handled = tracing::Instrument::instrument(
            async {
                match self.subscriber.delivery() {
                    Delivery::Transactional => self.run_transactional_batch(lock).await,
                    Delivery::AtLeastOnce => self.run_at_least_once_batch(lock).await,
                }
            },
            span,
        )
        .await?;
        // Any successful poll shows the subscription healthy again, idle or not: an error
        // left standing after a transient failure would keep health red until the next event.
        self.update(|s| {
            s.last_error = None;
            s.consecutive_failures = 0;
            if handled > 0 {
                s.last_batch_at = Some(Utc::now());
                s.batches += 1;
            }
        });
        Ok(handled)
    }

    /// One transaction: lock the checkpoint, read after it, apply, advance it.
    /// Reads first, without a lock or a transaction: an idle poll takes no row lock (which would
    /// burn a transaction id each time and show in the cluster's xmin horizon).
    async fn run_transactional_batch(
        &self,
        lock: Option<&mut PgConnection>,
    ) -> Result<usize, SubscriberError> {
        let checkpoint = read_checkpoint(&mut *self.pool.acquire().await?, &self.name).await?;
        let events = match self.take_prefetched(checkpoint) {
            Some(events) => events,
            None => log::read_after(&self.pool, checkpoint, self.next_batch_size()).await?,
        };
        let full = self.adapt_batch_size(events.len());
        let Some(last) = events.last().map(|e| e.position) else {
            return Ok(0);
        };
        confirm_leadership(lock).await?;
        let apply = async {
            let mut tx = self.pool.begin().await?;
            if lock_checkpoint(&mut tx, &self.name).await? != checkpoint {
                // Another runner handled these meanwhile; the next poll reads after its checkpoint.
                tx.rollback().await?;
                return Ok(false);
            }
            self.subscriber.apply(&mut tx, &events).await?;
            self.advance(&mut tx, checkpoint, last, events.len()).await?;
            tx.commit().await?;
            Ok::<bool, SubscriberError>(true)
        };
        // Catching up (a full batch), the next batch is read while this one is written: events
        // below the horizon never change, so what is read after `last` now is what a read
        // after the commit would return, or a prefix of it.
        let next = async {
            if full {
                log::read_after(&self.pool, last, self.next_batch_size()).await.ok()
            } else {
                None
            }
        };
        let (applied, next) = tokio::join!(apply, next);
        if !applied? {
            return Ok(0);
        }
        if let Some(next) = next {
            *self.prefetched.lock().unwrap_or_else(|p| p.into_inner()) = Some((last, next));
        }
        log_batch(&events);
        Ok(events.len())
    }

    /// Read, start delivering with no transaction open, then advance the checkpoint (if it has
    /// not moved) once the batch is delivered. While catching up (full batches), the next batch
    /// is read and started while the one before is being delivered: reading the log and the
    /// broker's round trips overlap instead of taking turns. The read after a full batch runs as
    /// a task of its own, so that the log is read and decoded on another thread while this one
    /// starts the batch before it (the relay's thread was a fifth idle, waiting for each read;
    /// docs/benchmarks.md, session 10). Below the horizon nothing changes, so what it reads is
    /// what a read after the delivery would return, or a prefix of it.
    async fn run_at_least_once_batch(
        &self,
        mut lock: Option<&mut PgConnection>,
    ) -> Result<usize, SubscriberError> {
        let mut db = self.pool.acquire().await?;
        let mut from = read_checkpoint(&mut db, &self.name).await?;
        let mut handled = 0;
        let mut under_way: Option<(LogPosition, LogPosition, usize, Delivering)> = None;
        let mut read_ahead: Option<tokio::task::JoinHandle<Result<Vec<StoredEvent>, sqlx::Error>>> = None;
        for turn in 1..=PIPELINED_BATCHES {
            let events = match read_ahead.take() {
                Some(read) => {
                    read.await.map_err(|e| SubscriberError::Other(format!("reading ahead: {e}")))??
                }
                None => log::read_after(&self.pool, from, self.next_batch_size()).await?,
            };
            let full = self.adapt_batch_size(events.len());
            let Some(last) = events.last().map(|e| e.position) else { break };
            if full && turn < PIPELINED_BATCHES {
                let (pool, size) = (self.pool.clone(), self.next_batch_size());
                read_ahead = Some(tokio::spawn(async move { log::read_after(&pool, last, size).await }));
            }
            confirm_leadership(lock.as_deref_mut()).await?;
            let delivering = self.subscriber.start(&mut db, &events).await?;
            log_batch(&events);
            if let Some(before) = under_way.take() {
                handled += self.finish(&mut db, before).await?;
            }
            under_way = Some((from, last, events.len(), delivering));
            if !full {
                break;
            }
            from = last;
        }
        if let Some(last) = under_way {
            handled += self.finish(&mut db, last).await?;
        }
        Ok(handled)
    }

    /// Waits for a started batch to be delivered, then advances the checkpoint past it.
    async fn finish(
        &self,
        db: &mut PgConnection,
        (from, to, count, delivering): (LogPosition, LogPosition, usize, Delivering),
    ) -> Result<usize, SubscriberError> {
        delivering.await?;
        self.advance(db, from, to, count).await?;
        Ok(count)
    }

    /// Moves the checkpoint from `from` to `to`; fails if another runner moved it meanwhile.
    async fn advance(
        &self,
        db: &mut PgConnection,
        from: LogPosition,
        to: LogPosition,
        handled: usize,
    ) -> Result<(), SubscriberError> {
        let moved = sqlx::query(
            "UPDATE subscription_checkpoints SET transaction_id = $2::text::xid8, global_position = $3, \
             events_handled = events_handled + $4, owner = $5, updated_at = now() \
             WHERE name = $1 AND transaction_id = $6::text::xid8 AND global_position = $7",
        )
        .bind(&self.name)
        .bind(to.transaction_id.to_string())
        .bind(to.global_position)
        .bind(handled as i64)
        .bind(&self.owner)
        .bind(from.transaction_id.to_string())
        .bind(from.global_position)
        .execute(&mut *db)
        .await?;
        match moved.rows_affected() {
            1 => Ok(()),
            _ => Err(SubscriberError::Other(format!(
                "checkpoint of {} was moved by another runner",
                self.name
            ))),
        }
    }

    /// The batch read ahead after `checkpoint`, if that is what was read ahead.
    fn take_prefetched(&self, checkpoint: LogPosition) -> Option<Vec<StoredEvent>> {
        let mut slot = self.prefetched.lock().unwrap_or_else(|p| p.into_inner());
        match slot.take() {
            Some((after, events)) if after == checkpoint && !events.is_empty() => Some(events),
            _ => None,
        }
    }

    /// How many events to read next; see `current_batch`.
    fn next_batch_size(&self) -> i64 {
        self.current_batch.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Adapts the batch size to the batch just read (each read, so that a catching-up turn of
    /// several batches ramps up within the turn); answers whether that batch was full.
    fn adapt_batch_size(&self, read: usize) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        let current = self.current_batch.load(Relaxed);
        let full = read as i64 >= current;
        let next =
            if full { (current * 2).min(MAX_CATCH_UP_BATCH.max(self.batch_size)) } else { self.batch_size };
        self.current_batch.store(next, Relaxed);
        full
    }

    fn update(&self, f: impl FnOnce(&mut SubscriptionState)) {
        f(&mut self.status.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

/// The subscription's checkpoint, locked for this transaction (created at the log's start).
pub(crate) async fn lock_checkpoint(tx: &mut PgConnection, name: &str) -> Result<LogPosition, sqlx::Error> {
    checkpoint(tx, name, " FOR UPDATE").await
}

/// The subscription's checkpoint, unlocked.
pub(crate) async fn read_checkpoint(db: &mut PgConnection, name: &str) -> Result<LogPosition, sqlx::Error> {
    checkpoint(db, name, "").await
}

/// One line per handled batch: its positions and the correlation ids of its events (at most 20),
/// so a command can be followed from its request into every subscriber.
fn log_batch(events: &[StoredEvent]) {
    let mut correlation_ids: Vec<&str> = vec![];
    for id in events.iter().filter_map(|e| e.metadata.correlation_id.as_deref()) {
        if correlation_ids.len() < 20 && !correlation_ids.contains(&id) {
            correlation_ids.push(id);
        }
    }
    tracing::info!(
        events = events.len(),
        first_position = events.first().map(|e| e.position.global_position),
        last_position = events.last().map(|e| e.position.global_position),
        correlation_ids = %correlation_ids.join(","),
        "batch handled"
    );
}

/// Whether to stop: asked to, or whoever could ask is gone (a dropped sender would otherwise
/// make every `changed()` return at once, and the loops spin).
fn stop_requested(stop: &tokio::sync::watch::Receiver<bool>) -> bool {
    *stop.borrow() || stop.has_changed().is_err()
}

/// Fails unless the connection holding the advisory lock still answers (see `run_batch`).
async fn confirm_leadership(lock: Option<&mut PgConnection>) -> Result<(), SubscriberError> {
    if let Some(lock) = lock {
        sqlx::query("SELECT 1")
            .execute(lock)
            .await
            .map_err(|e| SubscriberError::Other(format!("lost the subscription's lock connection: {e}")))?;
    }
    Ok(())
}

/// Creates the checkpoint row at the start of the log if it does not exist (once per run: an
/// `INSERT … ON CONFLICT` on every poll would burn a transaction id each time).
async fn ensure_checkpoint(pool: &PgPool, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO subscription_checkpoints (name) VALUES ($1) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .execute(pool)
        .await?;
    Ok(())
}

async fn checkpoint(db: &mut PgConnection, name: &str, lock: &str) -> Result<LogPosition, sqlx::Error> {
    let (transaction_id, global_position): (i64, i64) = sqlx::query_as(&format!(
        "SELECT transaction_id::text::bigint, global_position FROM subscription_checkpoints WHERE name = $1{lock}"
    ))
    .bind(name)
    .fetch_one(&mut *db)
    .await?;
    Ok(LogPosition { transaction_id, global_position })
}

/// Where a subscription stands relative to the head of the log.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SubscriptionLag {
    pub name: String,
    pub checkpoint: LogPosition,
    pub events_handled: i64,
    pub owner: Option<String>,
    pub updated_at: DateTime<Utc>,
    /// Events stored but not yet handled.
    pub lag_events: i64,
    /// Age of the oldest event not yet handled (0 when caught up).
    pub lag_seconds: f64,
}

/// Checkpoint and lag of the named subscription (`None` if it never ran).
pub async fn lag(pool: &PgPool, name: &str) -> Result<Option<SubscriptionLag>, sqlx::Error> {
    let row: Option<(i64, i64, i64, Option<String>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT transaction_id::text::bigint, global_position, events_handled, owner, updated_at \
         FROM subscription_checkpoints WHERE name = $1",
    )
    .bind(name)
    .fetch_optional(pool)
    .await?;
    let Some((transaction_id, global_position, events_handled, owner, updated_at)) = row else {
        return Ok(None);
    };
    let (lag_events, oldest): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
        "SELECT count(*), min(recorded_at) FROM events \
         WHERE (transaction_id, global_position) > ($1::text::xid8, $2)",
    )
    .bind(transaction_id.to_string())
    .bind(global_position)
    .fetch_one(pool)
    .await?;
    let lag_seconds = oldest.map_or(0.0, |t| (Utc::now() - t).num_milliseconds().max(0) as f64 / 1000.0);
    Ok(Some(SubscriptionLag {
        name: name.to_owned(),
        checkpoint: LogPosition { transaction_id, global_position },
        events_handled,
        owner,
        updated_at,
        lag_events,
        lag_seconds,
    }))
}

/// Whether the subscription has handled the event at `global_position`. `None` when no such
/// event exists.
pub async fn has_reached(
    pool: &PgPool,
    name: &str,
    global_position: i64,
) -> Result<Option<bool>, sqlx::Error> {
    let Some(target) = log::position_of(pool, global_position).await? else {
        return Ok(None);
    };
    let checkpoint: Option<(i64, i64)> = sqlx::query_as(
        "SELECT transaction_id::text::bigint, global_position FROM subscription_checkpoints WHERE name = $1",
    )
    .bind(name)
    .fetch_optional(pool)
    .await?;
    Ok(Some(checkpoint.is_some_and(|(t, p)| LogPosition { transaction_id: t, global_position: p } >= target)))
}

/// Age in seconds of the oldest transaction holding an xid anywhere in the cluster: it holds
/// the horizon back.
pub async fn oldest_transaction_age(pool: &PgPool) -> Result<f64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT coalesce(extract(epoch FROM max(now() - xact_start)), 0)::float8 FROM pg_stat_activity \
         WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()",
    )
    .fetch_one(pool)
    .await
}
