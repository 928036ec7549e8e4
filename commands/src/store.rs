//! The aggregate store under the command service: cqrs-es aggregates and events, postgres-es's
//! `events` table and its reads, plus an in-process cache of folded aggregates so a command's
//! cost does not grow with the aggregate's history (an airworthiness record lives for decades).
//!
//! A cached aggregate never decides on its own. What it accepts is appended with the sequence it
//! was decided on, and the primary key refuses a stale one (optimistic concurrency: another
//! process appended meanwhile) — the command is then decided again on the cached fold with the
//! store's newer events folded in. What it refuses, or finds nothing to do for, is decided again after folding
//! in the events stored after the cached sequence (see `CommandService::execute`), so a refusal
//! is as current as a full replay would be. The common case — an accepted command — costs one
//! round trip: the append.
//!
//! Appending is one statement that returns each event's global position (no separate
//! transaction round trips, no re-query for the outcome), shared by the commands that append at
//! the same time (group commit, [`crate::append`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::{PersistedEventRepository, PersistenceError, SerializedEvent};
use cqrs_es::{Aggregate, EventEnvelope};
use postgres_es::PostgresEventRepository;
use sqlx::PgPool;

use crate::append::{Append, AppendError, GroupAppender};

/// Aggregates kept per command service (per process); beyond it, entries are dropped at random.
const CACHE_CAPACITY: usize = 20_000;

/// An aggregate folded up to `sequence`.
#[derive(Clone)]
pub(crate) struct Loaded<A> {
    pub aggregate: A,
    pub sequence: usize,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    /// The expected sequence was taken (another writer), or another unique key refused the
    /// append (a registration number, an idempotency key): nothing was stored.
    #[error("conflict on append")]
    Conflict,
    #[error("stored event does not load: {0}")]
    Deserialization(String),
    /// Reading the stream failed (postgres-es's error, wrapping the driver's).
    #[error(transparent)]
    Load(#[from] PersistenceError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The append failed for another reason than a conflict (see [`AppendError`]).
    #[error(transparent)]
    Append(AppendError),
}

pub(crate) struct AggregateStore<A: Aggregate> {
    repo: PostgresEventRepository,
    appender: Arc<GroupAppender>,
    cache: Mutex<HashMap<String, Loaded<A>>>,
}

impl<A: Aggregate + Clone> AggregateStore<A> {
    pub fn new(pool: PgPool, appender: Arc<GroupAppender>) -> Self {
        Self { repo: PostgresEventRepository::new(pool), appender, cache: Mutex::default() }
    }

    /// The cached fold, not checked against the store.
    pub fn cached(&self, aggregate_id: &str) -> Option<Loaded<A>> {
        self.lock().get(aggregate_id).cloned()
    }

    /// The aggregate as of the newest stored event: the cached fold plus what was appended since,
    /// kept as the cached fold (an aggregate with no events is not cached).
    pub async fn load(&self, aggregate_id: &str) -> Result<Loaded<A>, StoreError> {
        let start =
            self.cached(aggregate_id).unwrap_or_else(|| Loaded { aggregate: A::default(), sequence: 0 });
        let loaded = self.refresh(aggregate_id, start).await?;
        if loaded.sequence > 0 {
            self.remember(aggregate_id, loaded.clone());
        }
        Ok(loaded)
    }

    /// `loaded` with the events stored after its sequence folded in. If the store no longer has
    /// the event `loaded` ends with (a restored database), the store is replayed from the start.
    async fn refresh(&self, aggregate_id: &str, mut loaded: Loaded<A>) -> Result<Loaded<A>, StoreError> {
        let mut newer =
            self.repo.get_last_events::<A>(aggregate_id, loaded.sequence.saturating_sub(1)).await?;
        if loaded.sequence > 0 {
            if newer.first().is_some_and(|head| head.sequence == loaded.sequence) {
                newer.remove(0);
            } else {
                self.lock().remove(aggregate_id);
                loaded = Loaded { aggregate: A::default(), sequence: 0 };
                newer = self.repo.get_events::<A>(aggregate_id).await?;
            }
        }
        for serialized in newer {
            let envelope = EventEnvelope::<A>::try_from(klg_domain::upcast::upcast(serialized))
                .map_err(|e| StoreError::Deserialization(e.to_string()))?;
            loaded.sequence = envelope.sequence;
            loaded.aggregate.apply(envelope.payload);
        }
        Ok(loaded)
    }

    /// Runs `command` against `loaded`: the events it decided, and the aggregate after them
    /// (cqrs-es's sink applies each event as it is written).
    pub async fn handle(
        loaded: &mut Loaded<A>,
        command: A::Command,
        services: &A::Services,
    ) -> Result<Vec<A::Event>, A::Error> {
        let sink = EventSink::default();
        loaded.aggregate.handle(command, services, &sink).await?;
        Ok(sink.collect().await)
    }

    /// Appends `events` after `expected` (the sequence they were decided on), grouped with
    /// other commands' appends (see [`crate::append`]); returns (sequence, global position) of
    /// each. On success `after` (the aggregate with the events applied, as cqrs-es's sink leaves
    /// it) becomes the cached fold at the new sequence.
    pub async fn append(
        &self,
        aggregate_id: &str,
        expected: usize,
        events: Vec<A::Event>,
        metadata: HashMap<String, String>,
        after: Loaded<A>,
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        let events = serialize::<A>(aggregate_id, expected, events, metadata)?;
        let append =
            Append { aggregate_type: A::TYPE, aggregate_id: aggregate_id.to_owned(), expected, events };
        match self.appender.append(append).await {
            Ok(rows) => {
                let sequence = rows.last().map_or(expected, |(sequence, _)| *sequence as usize);
                self.remember(aggregate_id, Loaded { aggregate: after.aggregate, sequence });
                Ok(rows)
            }
            // The cache is ahead of the store (a database restored or failed over to a replica
            // that lost commits). Forget the fold; the retry replays the store.
            Err(AppendError::PredecessorMissing) => {
                self.lock().remove(aggregate_id);
                Err(StoreError::Conflict)
            }
            // The cached fold stays: it is still a true prefix of the stream, and the retry folds
            // in whatever was stored after it (ours too, if the outcome was in fact a commit).
            Err(AppendError::Conflict) => Err(StoreError::Conflict),
            Err(e) => Err(StoreError::Append(e)),
        }
    }

    /// Keeps `loaded` as the aggregate's fold (it must be the store's state at its sequence).
    fn remember(&self, aggregate_id: &str, loaded: Loaded<A>) {
        let mut cache = self.lock();
        if cache.len() >= CACHE_CAPACITY && !cache.contains_key(aggregate_id) {
            if let Some(victim) = cache.keys().next().cloned() {
                cache.remove(&victim);
            }
        }
        cache.insert(aggregate_id.to_owned(), loaded);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Loaded<A>>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Events as cqrs-es serializes them (type, version, payload), numbered after `expected`.
fn serialize<A: Aggregate>(
    aggregate_id: &str,
    expected: usize,
    events: Vec<A::Event>,
    metadata: HashMap<String, String>,
) -> Result<Vec<SerializedEvent>, StoreError> {
    events
        .into_iter()
        .zip(expected + 1..)
        .map(|(payload, sequence)| {
            let envelope = EventEnvelope::<A> {
                aggregate_id: aggregate_id.to_owned(),
                sequence,
                payload,
                metadata: metadata.clone(),
            };
            SerializedEvent::try_from(&envelope).map_err(|e| StoreError::Deserialization(e.to_string()))
        })
        .collect()
}
