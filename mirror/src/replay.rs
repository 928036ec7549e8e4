//! Re-publishing a range of the log: `klg replay mirror`.
//!
//! The events of a range — by global position and/or recording time — are sent again, in log
//! order, with the same envelopes, keys and headers the relay sends, to the configured topics or
//! all to one topic (a new consumer's, say). It does not touch the mirror's checkpoint: the
//! live relay goes on as before. Consumers drop repeats by event id, as they already must.

use chrono::{DateTime, Utc};
use klg_projections::subscription::SubscriberError;
use klg_projections::{LogPosition, StoredEvent};
use sqlx::PgPool;

use crate::{MirrorConfig, Relay, Topics};

/// Events per batch sent and confirmed.
const BATCH: i64 = 2_000;

/// Which events: every bound is optional and inclusive of its start, exclusive of a time end.
#[derive(Debug, Clone, Default)]
pub struct Range {
    pub from_position: Option<i64>,
    /// Inclusive.
    pub to_position: Option<i64>,
    pub from_time: Option<DateTime<Utc>>,
    /// Exclusive.
    pub to_time: Option<DateTime<Utc>>,
}

impl Range {
    /// `WHERE` conditions on `events`, parameters `$1` to `$4`.
    pub(crate) const SQL: &'static str = "($1::bigint IS NULL OR global_position >= $1) \
        AND ($2::bigint IS NULL OR global_position <= $2) \
        AND ($3::timestamptz IS NULL OR recorded_at >= $3) \
        AND ($4::timestamptz IS NULL OR recorded_at < $4)";
}

/// What a replay sent.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ReplaySummary {
    pub events: u64,
    pub first_position: Option<i64>,
    pub last_position: Option<i64>,
    pub topics: Vec<String>,
}

/// The configuration with every topic replaced by `topic`, when one is given.
pub fn into_one_topic(mut config: MirrorConfig, topic: Option<&str>) -> MirrorConfig {
    if let Some(topic) = topic {
        config.topics =
            Topics { aircraft: topic.into(), inbox: topic.into(), tmc: topic.into(), other: topic.into() };
    }
    config
}

/// The number of events in `range` (for a progress bar).
pub async fn count(pool: &PgPool, range: &Range) -> Result<i64, sqlx::Error> {
    bind(sqlx::query_scalar(&format!("SELECT count(*) FROM events WHERE {}", Range::SQL)), range)
        .fetch_one(pool)
        .await
}

pub(crate) fn bind<'q, O>(
    query: sqlx::query::QueryScalar<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    range: &Range,
) -> sqlx::query::QueryScalar<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments> {
    query.bind(range.from_position).bind(range.to_position).bind(range.from_time).bind(range.to_time)
}

/// Sends every event of `range` that has committed (below the log horizon when it starts),
/// in log order, batch by batch, each confirmed by the broker before the next.
pub async fn replay(
    pool: &PgPool,
    relay: &Relay,
    range: &Range,
    mut progress: impl FnMut(u64),
) -> Result<ReplaySummary, SubscriberError> {
    relay.ensure_topics().await.map_err(|e| SubscriberError::Other(format!("creating topics: {e}")))?;
    let horizon: String =
        sqlx::query_scalar("SELECT pg_snapshot_xmin(pg_current_snapshot())::text").fetch_one(pool).await?;
    let topics: std::collections::BTreeSet<&str> = relay.config().topics.all().into_iter().collect();
    let topics = topics.into_iter().map(str::to_owned).collect();
    let mut summary = ReplaySummary { topics, ..Default::default() };
    let mut after = LogPosition::default();
    loop {
        let batch = read_batch(pool, range, &horizon, after).await?;
        let Some(last) = batch.last() else { break };
        after = last.position;
        summary.first_position.get_or_insert(batch[0].position.global_position);
        summary.last_position = Some(last.position.global_position);
        relay.publish(&batch).await?;
        summary.events += batch.len() as u64;
        progress(summary.events);
    }
    Ok(summary)
}

async fn read_batch(
    pool: &PgPool,
    range: &Range,
    horizon: &str,
    after: LogPosition,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let sql = format!(
        "SELECT {} FROM events \
         WHERE {} AND transaction_id < $5::xid8 \
           AND (events.transaction_id, events.global_position) > ($6::text::xid8, $7) \
         ORDER BY events.transaction_id, events.global_position LIMIT $8",
        klg_projections::log::EVENT_COLUMNS,
        Range::SQL
    );
    let rows = sqlx::query(&sql)
        .bind(range.from_position)
        .bind(range.to_position)
        .bind(range.from_time)
        .bind(range.to_time)
        .bind(horizon)
        .bind(after.transaction_id.to_string())
        .bind(after.global_position)
        .bind(BATCH)
        .fetch_all(pool)
        .await?;
    rows.iter().map(StoredEvent::from_row).collect()
}
