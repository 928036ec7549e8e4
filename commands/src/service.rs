//! Executing commands: load → handle → append (cqrs-es aggregates over postgres-es's event
//! table, see [`crate::store`]), with bounded optimistic-concurrency retries and idempotency keys.

use std::sync::Arc;
use std::time::Duration;

use cqrs_es::persist::PersistenceError;
use cqrs_es::Aggregate;
use klg_domain::aircraft::AircraftCommand;
use klg_domain::aircraft::{Aircraft, AircraftServices};
use klg_domain::inbox::{InboxItem, InboxServices};
use klg_domain::tmc::{PartsCommand, PartsEvent, PartsRequest, PartsServices};
use klg_domain::values::{PartNumber, SerialNumber, WorkOrderRef};
use klg_domain::Guarded;
use klg_domain::{Addressed, DomainError, NamedCommand};
use rand::Rng;
use sqlx::PgPool;
use uuid::Uuid;

use crate::append::{AppendError, GroupAppender};
use crate::error::CommandError;
use crate::locks::KeyedLocks;
use crate::lookups::{PgAircraftDirectory, PgDocumentDirectory, PgRegistrationRegistry, UtcClock};
use crate::metadata::{CommandMetadata, IdempotencyClaim};
use crate::store::{AggregateStore, Loaded, StoreError};

/// What a command decided: nothing to store, or events and the aggregate after them.
type Decision<A> = Option<(Vec<<A as Aggregate>::Event>, Loaded<A>)>;

/// Attempts per command when other instances keep appending to the same aggregate.
const MAX_ATTEMPTS: u32 = 10;

/// How long a command waits for its aggregate's turn in this process by default. A hot aggregate
/// must not queue without limit: a client that gives up and retries without an idempotency key
/// would have its first command applied late and its retry applied too.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(2);

/// What a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutcome {
    pub aggregate_id: Uuid,
    /// The aggregate's version (last event sequence) after the command.
    pub version: u64,
    /// Global log position of the aggregate's last event: read endpoints given this
    /// `min_position` reflect the command.
    pub position: i64,
    /// False for a no-op (valid, but nothing changed).
    pub changed: bool,
    /// True when an earlier request with the same idempotency key is answered again.
    pub replayed: bool,
}

/// Executes the commands of one aggregate type.
pub struct CommandService<A: Aggregate> {
    store: AggregateStore<A>,
    services: A::Services,
    pool: PgPool,
    locks: KeyedLocks,
    lock_wait: Duration,
}

impl<A> CommandService<A>
where
    A: Aggregate + Clone,
    A::Command: NamedCommand + Addressed,
    A::Error: DomainError,
{
    /// A service whose appends are grouped with those of the other services sharing `appender`.
    fn new(appender: Arc<GroupAppender>, pool: PgPool, services: A::Services) -> Self {
        Self {
            store: AggregateStore::new(pool.clone(), appender),
            services,
            pool,
            locks: KeyedLocks::default(),
            lock_wait: DEFAULT_LOCK_WAIT,
        }
    }

    /// Bounds the wait for an aggregate's turn: past it, [`CommandError::Busy`], nothing stored.
    pub fn with_lock_wait(mut self, wait: Duration) -> Self {
        self.lock_wait = wait;
        self
    }

    /// Applies `command` to aggregate `id`. Either its events are stored and the outcome says
    /// where, or nothing is stored and the error says why. Runs in a `command` span (inside the
    /// request's span, which carries the request and correlation ids).
    #[tracing::instrument(name = "command", skip_all, fields(aggregate = A::TYPE, aggregate_id = %id, command = command.name()))]
    pub async fn execute(
        &self,
        id: Uuid,
        mut command: A::Command,
        meta: &CommandMetadata,
    ) -> Result<CommandOutcome, CommandError> {
        command.address(id);
        let aggregate_id = id.to_string();
        let _turn = tokio::time::timeout(self.lock_wait, self.locks.lock(&aggregate_id))
            .await
            .map_err(|_| CommandError::Busy { waited: self.lock_wait })?;
        if let Some(outcome) = self.replay(meta).await? {
            return Ok(outcome);
        }
        for attempt in 1..=MAX_ATTEMPTS {
            let command_id = Uuid::new_v4();
            let stored = meta.to_map(command_id, command.name());
            // After a lost race the cache is known to be behind: fold in the store's events first.
            let (loaded, events) = self.decide(&aggregate_id, &command, attempt > 1).await?;
            let expected = loaded.sequence;
            let Some((events, after)) = events else {
                return self.unchanged(id, expected).await;
            };
            match self.store.append(&aggregate_id, expected, events, stored, after).await {
                Ok(appended) => {
                    let (version, position) = *appended.last().expect("at least one event appended");
                    tracing::info!(version, position, events = appended.len(), attempt, "command applied");
                    return Ok(CommandOutcome {
                        aggregate_id: id,
                        version: version as u64,
                        position,
                        changed: true,
                        replayed: false,
                    });
                }
                Err(StoreError::Conflict) => {
                    // Lost a race: to another instance on this aggregate, to a concurrent
                    // registration of the same number, or to a request with our idempotency key.
                    if let Some(outcome) = self.replay(meta).await? {
                        return Ok(outcome);
                    }
                    tracing::debug!(%aggregate_id, attempt, "optimistic concurrency conflict, retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                }
                Err(e) => return Err(store_error(e)),
            }
        }
        Err(CommandError::Contended)
    }

    /// Handles `command` on the cached aggregate if there is one, else on the store's. Returns
    /// the state it was decided on and, if it changed anything, the events and the state after
    /// them. A refusal or a no-op decided on the cache is decided again after folding in what
    /// other processes stored since; an acceptance is checked by the append's sequence.
    async fn decide(
        &self,
        aggregate_id: &str,
        command: &A::Command,
        verify_first: bool,
    ) -> Result<(Loaded<A>, Decision<A>), CommandError> {
        let (mut loaded, mut verified) = match self.store.cached(aggregate_id) {
            Some(cached) if !verify_first => (cached, false),
            _ => (self.store.load(aggregate_id).await.map_err(store_error)?, true),
        };
        loop {
            let mut after = loaded.clone();
            let decided = AggregateStore::handle(&mut after, command.clone(), &self.services).await;
            match decided {
                Ok(events) if !events.is_empty() => return Ok((loaded, Some((events, after)))),
                _ if !verified => {
                    // `loaded` is the cached fold (this process holds the aggregate's turn), so
                    // the store's load folds the newer events into it.
                    loaded = self.store.load(aggregate_id).await.map_err(store_error)?;
                    verified = true;
                }
                Ok(_) => return Ok((loaded, None)),
                Err(e) => return Err(CommandError::refused(&e)),
            }
        }
    }

    /// The stored answer for a repeated idempotency key, if this request repeats one.
    async fn replay(&self, meta: &CommandMetadata) -> Result<Option<CommandOutcome>, CommandError> {
        let Some(IdempotencyClaim { key, request_hash }) = &meta.idempotency else {
            return Ok(None);
        };
        let row: Option<(String, String, String, i64, i64)> = sqlx::query_as(
            "SELECT request_hash, aggregate_type, aggregate_id, last_sequence, last_position \
             FROM idempotency_keys WHERE scope = $1 AND key = $2",
        )
        .bind(meta.idempotency_scope())
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        let Some((stored_hash, aggregate_type, aggregate_id, version, position)) = row else {
            return Ok(None);
        };
        if &stored_hash != request_hash || aggregate_type != A::TYPE {
            return Err(CommandError::IdempotencyKeyReused);
        }
        let aggregate_id = aggregate_id.parse().map_err(|_| {
            CommandError::Internal(format!("stored aggregate id {aggregate_id:?} is not a UUID"))
        })?;
        Ok(Some(CommandOutcome {
            aggregate_id,
            version: version as u64,
            position,
            changed: true,
            replayed: true,
        }))
    }

    /// A valid command that changed nothing: the aggregate's head (version `sequence`).
    async fn unchanged(&self, id: Uuid, sequence: usize) -> Result<CommandOutcome, CommandError> {
        let (version, position) = self.head(id).await?;
        debug_assert!(version as usize >= sequence);
        Ok(CommandOutcome {
            aggregate_id: id,
            version: version as u64,
            position,
            changed: false,
            replayed: false,
        })
    }

    async fn head(&self, id: Uuid) -> Result<(i64, i64), CommandError> {
        let head: Option<(i64, i64)> = sqlx::query_as(
            "SELECT sequence, global_position FROM events \
             WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY sequence DESC LIMIT 1",
        )
        .bind(A::TYPE)
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        Ok(head.unwrap_or((0, 0)))
    }
}

fn store_error(e: StoreError) -> CommandError {
    match e {
        StoreError::Conflict => CommandError::Contended,
        StoreError::Deserialization(e) => CommandError::Internal(format!("stored event does not load: {e}")),
        StoreError::Database(e) => CommandError::from(e),
        StoreError::Append(AppendError::Database(e)) => CommandError::from_database(e.as_ref()),
        StoreError::Append(e) => CommandError::Unavailable(e.to_string()),
        StoreError::Load(PersistenceError::ConnectionError(e)) => CommandError::Unavailable(e.to_string()),
        StoreError::Load(PersistenceError::DeserializationError(e)) => {
            CommandError::Internal(format!("stored event does not load: {e}"))
        }
        StoreError::Load(PersistenceError::UnknownError(e)) => CommandError::from_database(e.as_ref()),
        StoreError::Load(PersistenceError::OptimisticLockError) => CommandError::Contended,
    }
}

/// Exponential backoff with full jitter: spreads competing instances apart.
fn backoff(attempt: u32) -> Duration {
    let cap_ms = (5u64 << attempt.min(6)).min(250);
    Duration::from_millis(rand::thread_rng().gen_range(1..=cap_ms))
}

/// The write side of KLG: one command service per aggregate type.
pub struct WriteSide {
    pub aircraft: CommandService<Aircraft>,
    pub inbox: CommandService<InboxItem>,
    pub parts: CommandService<PartsRequest>,
    pub pool: PgPool,
}

impl WriteSide {
    pub fn new(pool: PgPool) -> Self {
        let registry = PgRegistrationRegistry { pool: pool.clone() };
        let directory = PgAircraftDirectory { pool: pool.clone() };
        let documents = PgDocumentDirectory { pool: pool.clone() };
        let parts = PartsServices::new(
            PgAircraftDirectory { pool: pool.clone() },
            PgDocumentDirectory { pool: pool.clone() },
            UtcClock,
        );
        // One appender for all three: commands on any aggregate commit together.
        let appender = GroupAppender::new(pool.clone());
        Self {
            aircraft: CommandService::new(
                Arc::clone(&appender),
                pool.clone(),
                AircraftServices::new(registry, UtcClock, documents),
            ),
            inbox: CommandService::new(Arc::clone(&appender), pool.clone(), InboxServices::new(directory)),
            parts: CommandService::new(appender, pool.clone(), parts),
            pool,
        }
    }

    /// Bounds the wait for an aggregate's turn (see [`CommandService::with_lock_wait`]).
    pub fn with_lock_wait(self, wait: Duration) -> Self {
        Self {
            aircraft: self.aircraft.with_lock_wait(wait),
            inbox: self.inbox.with_lock_wait(wait),
            parts: self.parts.with_lock_wait(wait),
            pool: self.pool,
        }
    }
}

impl WriteSide {
    /// Fits the part of TMC request `id` and records it on its aircraft's record: the request's
    /// `Install`, then the aircraft's `RecordPartInstalled` (caused by the request). The two are
    /// not one transaction; both are idempotent, so a retry after a failure between them (same
    /// serial number, date and work order) completes the record. Answers the request's outcome.
    pub async fn install_part(
        &self,
        id: Uuid,
        expected_version: Option<u64>,
        installation: Installation,
        meta: &CommandMetadata,
    ) -> Result<CommandOutcome, CommandError> {
        let Installation { serial_number, installed_on, work_order } = installation;
        let install = PartsCommand::Install {
            serial_number: serial_number.clone(),
            installed_on,
            work_order: work_order.clone(),
        };
        let outcome = self.parts.execute(id, Guarded::new(install, expected_version), meta).await?;
        let (aircraft_id, part_number) = requested_part(&self.pool, id).await?;
        let record = AircraftCommand::RecordPartInstalled {
            request_id: id,
            part_number,
            serial_number,
            installed_on,
            work_order,
        };
        self.aircraft.execute(aircraft_id, record.into(), &meta.caused_by(&id.to_string())).await?;
        Ok(outcome)
    }
}

/// What an installation records.
#[derive(Debug, Clone, PartialEq)]
pub struct Installation {
    pub serial_number: SerialNumber,
    pub installed_on: chrono::NaiveDate,
    pub work_order: WorkOrderRef,
}

/// The aircraft and part number a TMC request was made for, from its first event.
async fn requested_part(pool: &PgPool, id: Uuid) -> Result<(Uuid, PartNumber), CommandError> {
    let payload: serde_json::Value = sqlx::query_scalar(
        "SELECT payload::jsonb FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence = 1",
    )
    .bind(PartsRequest::TYPE)
    .bind(id.to_string())
    .fetch_one(pool)
    .await
    .map_err(|e| CommandError::Unavailable(e.to_string()))?;
    match serde_json::from_value::<PartsEvent>(payload) {
        Ok(PartsEvent::PartsRequested { aircraft_id, part_number, .. }) => Ok((aircraft_id, part_number)),
        other => Err(CommandError::Internal(format!("the first event of parts request {id} is {other:?}"))),
    }
}
