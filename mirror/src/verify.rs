//! `klg mirror verify`: consume the mirror topics and compare them with the event store.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::Message;
use sqlx::PgPool;
use uuid::Uuid;

use crate::replay::Range;
use crate::{EventEnvelope, MirrorConfig, MIRROR};

/// What the topics hold compared with the store.
#[derive(Debug, Default, serde::Serialize)]
pub struct VerifyReport {
    /// Events the mirror's checkpoint says were delivered.
    pub expected: usize,
    /// Messages read from the topics.
    pub consumed: usize,
    /// Messages whose event id was already seen (allowed: at-least-once).
    pub duplicates: usize,
    /// Delivered according to the checkpoint, but not on the topics.
    pub missing: Vec<Uuid>,
    /// On the topics, but not in the store.
    pub extra: Vec<Uuid>,
    /// Aggregates whose events arrive out of sequence order, or spread over partitions.
    pub out_of_order: Vec<String>,
    /// Messages that are not KLG envelopes.
    pub undecodable: usize,
}

impl VerifyReport {
    pub fn is_clean(&self) -> bool {
        self.missing.is_empty()
            && self.extra.is_empty()
            && self.out_of_order.is_empty()
            && self.undecodable == 0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("broker: {0}")]
    Broker(#[from] rdkafka::error::KafkaError),
}

/// Reads every mirror topic from the beginning until nothing new arrives for `idle`
/// (end offsets are not trusted: some Kafka-API brokers report them wrong), then compares with
/// the events the mirror's checkpoint says were delivered — or, for a topic filled by
/// `klg replay mirror`, with the events of the replayed `range`.
pub async fn verify(
    pool: &PgPool,
    config: &MirrorConfig,
    idle: Duration,
    range: Option<&Range>,
    mut progress: impl FnMut(usize),
) -> Result<VerifyReport, VerifyError> {
    let expected = match range {
        None => delivered_events(pool).await?,
        Some(range) => events_in(pool, range).await?,
    };
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &config.brokers)
        .set("group.id", format!("klg-mirror-verify-{}", Uuid::new_v4()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()?;
    let topics: std::collections::BTreeSet<&str> = config.topics.all().into_iter().collect();
    consumer.subscribe(&topics.into_iter().collect::<Vec<_>>())?;

    let mut report = VerifyReport { expected: expected.len(), ..Default::default() };
    let mut seen: HashSet<Uuid> = HashSet::new();
    let mut last_sequence: HashMap<String, (i64, i32)> = HashMap::new();
    let mut disordered: HashSet<String> = HashSet::new();
    while let Ok(message) = tokio::time::timeout(idle, consumer.recv()).await {
        let message = message?;
        report.consumed += 1;
        if report.consumed.is_multiple_of(500) {
            progress(report.consumed);
        }
        let Some(envelope) = message.payload().and_then(|p| serde_json::from_slice::<EventEnvelope>(p).ok())
        else {
            report.undecodable += 1;
            continue;
        };
        if !seen.insert(envelope.id) {
            report.duplicates += 1;
            continue;
        }
        let partition = message.partition();
        let previous = last_sequence.insert(envelope.aggregateid.clone(), (envelope.sequence, partition));
        if previous.is_some_and(|(sequence, p)| sequence >= envelope.sequence || p != partition) {
            disordered.insert(envelope.aggregateid.clone());
        }
    }
    progress(report.consumed);
    let stored: HashSet<Uuid> = all_event_ids(pool).await?;
    report.missing = expected.iter().filter(|id| !seen.contains(id)).copied().collect();
    report.extra = seen.iter().filter(|id| !stored.contains(id)).copied().collect();
    report.out_of_order = disordered.into_iter().collect();
    Ok(report)
}

/// Ids of the events up to the mirror's checkpoint.
async fn delivered_events(pool: &PgPool) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT e.event_id FROM events e JOIN subscription_checkpoints c ON c.name = $1 \
         WHERE (e.transaction_id, e.global_position) <= (c.transaction_id, c.global_position)",
    )
    .bind(MIRROR)
    .fetch_all(pool)
    .await
}

/// Ids of the committed events of `range`.
async fn events_in(pool: &PgPool, range: &Range) -> Result<Vec<Uuid>, sqlx::Error> {
    let sql = format!(
        "SELECT event_id FROM events WHERE {} AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())",
        Range::SQL
    );
    crate::replay::bind(sqlx::query_scalar(&sql), range).fetch_all(pool).await
}

async fn all_event_ids(pool: &PgPool) -> Result<HashSet<Uuid>, sqlx::Error> {
    let ids: Vec<Uuid> = sqlx::query_scalar("SELECT event_id FROM events").fetch_all(pool).await?;
    Ok(ids.into_iter().collect())
}
