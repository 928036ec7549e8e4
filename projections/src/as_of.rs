//! The read models as they stood at an instant, folded from the log.
//!
//! An auditor asks what the record said on a given date. Rather than a second implementation of
//! every read model, KLG runs **the projector itself** over the events recorded up to that
//! instant, into temporary tables that shadow the live ones (PostgreSQL looks up `pg_temp`
//! first), and then runs **the same queries** the read endpoints run: an `as_of` answer has
//! exactly the shape and the rules of the live one, and cannot drift from it.
//!
//! The work happens on a connection of its own, opened for the purpose and closed afterwards:
//! a pooled connection may hold prepared statements already bound to the live tables, which a
//! temporary table created later would not shadow. Nothing is written outside the session's
//! temporary tables, which die with it.
//!
//! "Recorded up to the instant" uses each event's `recorded_at` (its transaction's start time),
//! so an answer read at instant T is reproduced by `as_of = T`. The cost is one pass over the
//! events in scope: one record's stream for a single aircraft or document, every aircraft event
//! recorded until then for the fleet list.

use chrono::{DateTime, Utc};
use sqlx::{Connection, PgConnection, PgPool};

use cqrs_es::Aggregate;
use klg_domain::aircraft::Aircraft;
use klg_domain::inbox::InboxItem;
use uuid::Uuid;

use crate::log::{StoredEvent, EVENT_COLUMNS};
use crate::projector::{Projector, PROJECTION_TABLES};
use crate::queries::aircraft::{AircraftFilter, AircraftView};
use crate::queries::directives::DirectiveView;
use crate::queries::inbox::InboxFileView;
use crate::queries::{self, Page, QueryError};
use crate::subscription::{Subscriber, SubscriberError};

/// Events read from the log per projector batch.
const BATCH: i64 = 2_000;

/// As-of folds running at once in this process: each holds a connection of its own outside the
/// pool, so a burst of them must not exhaust the server's connection slots; more wait their turn.
static FOLDS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// Which events to fold.
#[derive(Debug, Clone, Copy)]
enum Scope<'a> {
    /// One stream: aggregate type and id.
    Stream(&'a str, &'a str),
    /// Every stream of one aggregate type.
    AggregateType(&'a str),
}

/// A session holding the read models as of an instant; the readers below run the usual queries
/// on its connection.
struct AsOf {
    conn: PgConnection,
    _turn: tokio::sync::SemaphorePermit<'static>,
}

impl AsOf {
    /// Folds the events of `scope` recorded at or before `instant`.
    async fn fold(pool: &PgPool, instant: DateTime<Utc>, scope: Scope<'_>) -> Result<Self, SubscriberError> {
        let turn = FOLDS.acquire().await.map_err(|e| SubscriberError::Other(e.to_string()))?;
        let mut conn = PgConnection::connect_with(&pool.connect_options()).await?;
        for table in PROJECTION_TABLES {
            sqlx::raw_sql(&format!("CREATE TEMP TABLE {table} (LIKE public.{table} INCLUDING ALL)"))
                .execute(&mut conn)
                .await?;
        }
        let mut after = 0_i64;
        loop {
            let batch = read_batch(pool, instant, scope, after).await?;
            let Some(last) = batch.last() else { break };
            after = last.position.global_position;
            Projector.apply(&mut conn, &batch).await?;
        }
        Ok(Self { conn, _turn: turn })
    }

    /// Closes the session (its temporary tables go with it).
    async fn close(self) {
        // A failed close only means the server already dropped the session.
        let _ = self.conn.close().await;
    }
}

/// One aircraft as it stood at `instant` (certificate status judged on that date).
pub async fn aircraft(
    pool: &PgPool,
    instant: DateTime<Utc>,
    id: Uuid,
) -> Result<Option<AircraftView>, QueryError> {
    let stream = id.to_string();
    let mut past = AsOf::fold(pool, instant, Scope::Stream(Aircraft::TYPE, &stream)).await?;
    let view = queries::aircraft::get(&mut past.conn, id, instant.date_naive()).await;
    past.close().await;
    Ok(view?)
}

/// One aircraft's directives as they stood at `instant`: what was recorded by then, with what
/// was left judged on that date from the totals then. `None` if the aircraft did not exist yet.
pub async fn directives(
    pool: &PgPool,
    instant: DateTime<Utc>,
    id: Uuid,
) -> Result<Option<Vec<DirectiveView>>, QueryError> {
    let stream = id.to_string();
    let mut past = AsOf::fold(pool, instant, Scope::Stream(Aircraft::TYPE, &stream)).await?;
    let date = instant.date_naive();
    let rows = match queries::aircraft::get(&mut past.conn, id, date).await {
        Ok(Some(_)) => queries::directives::for_aircraft(&mut past.conn, &stream, date).await.map(Some),
        Ok(None) => Ok(None),
        Err(e) => Err(e.into()),
    };
    past.close().await;
    rows
}

/// A page of the fleet list as it stood at `instant`.
pub async fn aircraft_list(
    pool: &PgPool,
    instant: DateTime<Utc>,
    filter: &AircraftFilter,
    sort: &str,
    limit: Option<i64>,
    cursor: Option<&str>,
) -> Result<Page<AircraftView>, QueryError> {
    let mut past = AsOf::fold(pool, instant, Scope::AggregateType(Aircraft::TYPE)).await?;
    let page =
        queries::aircraft::list(&mut past.conn, filter, sort, limit, cursor, instant.date_naive()).await;
    past.close().await;
    page
}

/// One document as it stood at `instant`.
pub async fn document(
    pool: &PgPool,
    instant: DateTime<Utc>,
    id: Uuid,
) -> Result<Option<InboxFileView>, QueryError> {
    let stream = id.to_string();
    let mut past = AsOf::fold(pool, instant, Scope::Stream(InboxItem::TYPE, &stream)).await?;
    let view = queries::inbox::get(&mut past.conn, id).await;
    past.close().await;
    Ok(view?)
}

/// The next events of `scope` after position `after`, recorded by `instant`, in log-position
/// order (which is each stream's sequence order).
async fn read_batch(
    pool: &PgPool,
    instant: DateTime<Utc>,
    scope: Scope<'_>,
    after: i64,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    // Two statements rather than one with an optional id: each gets a plan of its own.
    let (kind, id, stream_filter) = match scope {
        Scope::Stream(kind, id) => (kind, Some(id), "aggregate_id = $2"),
        Scope::AggregateType(kind) => (kind, None, "$2::text IS NULL"),
    };
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE aggregate_type = $1 AND {stream_filter} \
           AND recorded_at <= $3 AND global_position > $4 ORDER BY global_position LIMIT $5"
    );
    let rows =
        sqlx::query(&sql).bind(kind).bind(id).bind(instant).bind(after).bind(BATCH).fetch_all(pool).await?;
    rows.iter().map(StoredEvent::from_row).collect()
}
