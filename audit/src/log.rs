//! The audit log: the events themselves, read from the event store (the truth, never a
//! projection), filtered and paged by global position.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

/// Most entries one page returns.
pub const MAX_LIMIT: i64 = 200;

/// What to look for; every filter is optional and they combine with AND.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LogFilter {
    /// `Aircraft` or `InboxItem`.
    pub aggregate_type: Option<String>,
    pub aggregate_id: Option<String>,
    /// Every airframe that was ever registered under this number (numbers can be reused).
    pub registration: Option<String>,
    /// A document's id: its own events.
    pub document: Option<String>,
    pub event_type: Option<String>,
    /// The token name recorded as the actor.
    pub actor: Option<String>,
    pub correlation_id: Option<String>,
    /// Recorded at or after.
    pub from: Option<DateTime<Utc>>,
    /// Recorded before.
    pub to: Option<DateTime<Utc>>,
}

/// One event as an auditor reads it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct LogEntry {
    pub global_position: i64,
    pub recorded_at: DateTime<Utc>,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub actor: Option<String>,
    pub actor_id: Option<String>,
    pub request_id: Option<String>,
    pub correlation_id: Option<String>,
    pub causation_id: Option<String>,
    pub payload: sqlx::types::Json<serde_json::Value>,
    /// The event's link in its stream's hash chain (hex).
    pub hash: String,
}

/// A page of entries in log order; `next_cursor` continues after the last one.
#[derive(Debug, Clone, Serialize)]
pub struct LogPage {
    pub items: Vec<LogEntry>,
    pub next_cursor: Option<i64>,
}

/// The filters of [`LogFilter`] as SQL over `events`, parameters `$2` to `$10` (bound by
/// [`LogFilter::bind`]).
pub(crate) const FILTER: &str = "($2::text IS NULL OR aggregate_type = $2) \
    AND ($3::text IS NULL OR aggregate_id = $3) \
    AND ($4::text IS NULL OR (aggregate_type = 'Aircraft' AND aggregate_id IN ( \
          SELECT r.aggregate_id FROM events r WHERE r.aggregate_type = 'Aircraft' \
            AND r.event_type = 'AircraftRegistered' \
            AND upper(r.payload->'AircraftRegistered'->>'registration_number') = upper($4)))) \
    AND ($5::text IS NULL OR (aggregate_type = 'InboxItem' AND aggregate_id = $5)) \
    AND ($6::text IS NULL OR event_type = $6) \
    AND ($7::text IS NULL OR metadata->>'actor' = $7) \
    AND ($8::text IS NULL OR metadata->>'correlation_id' = $8) \
    AND ($9::timestamptz IS NULL OR recorded_at >= $9) \
    AND ($10::timestamptz IS NULL OR recorded_at < $10)";

impl LogFilter {
    /// Binds the filter's parameters (`$2`..`$10`) after the query's first.
    pub(crate) fn bind<'q, O>(
        &'q self,
        query: sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments> {
        query
            .bind(&self.aggregate_type)
            .bind(&self.aggregate_id)
            .bind(&self.registration)
            .bind(&self.document)
            .bind(&self.event_type)
            .bind(&self.actor)
            .bind(&self.correlation_id)
            .bind(self.from)
            .bind(self.to)
    }
}

/// Entries after position `after` (exclusive) matching `filter`, at most `limit` (1..=MAX_LIMIT).
pub async fn read(pool: &PgPool, filter: &LogFilter, after: i64, limit: i64) -> Result<LogPage, sqlx::Error> {
    let limit = limit.clamp(1, MAX_LIMIT);
    let sql = format!(
        "SELECT global_position, recorded_at, aggregate_type, aggregate_id, sequence, event_type, event_version, \
                metadata->>'actor' AS actor, metadata->>'actor_id' AS actor_id, metadata->>'request_id' AS request_id, \
                metadata->>'correlation_id' AS correlation_id, metadata->>'causation_id' AS causation_id, \
                payload::jsonb AS payload, encode(hash, 'hex') AS hash \
         FROM events \
         WHERE global_position > $1 \
           AND {FILTER} \
         ORDER BY global_position LIMIT $11"
    );
    let items: Vec<LogEntry> =
        filter.bind(sqlx::query_as(&sql).bind(after)).bind(limit).fetch_all(pool).await?;
    let next_cursor =
        (items.len() as i64 == limit).then(|| items.last().map(|e| e.global_position)).flatten();
    Ok(LogPage { items, next_cursor })
}

/// The columns of the CSV form, in order.
pub const CSV_HEADER: &str = "global_position,recorded_at,aggregate_type,aggregate_id,sequence,event_type,event_version,actor,actor_id,request_id,correlation_id,causation_id,payload,hash";

/// One entry as a CSV line (RFC 4180 quoting; the payload as JSON text).
pub fn csv_line(e: &LogEntry) -> String {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let fields = [
        e.global_position.to_string(),
        e.recorded_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        e.aggregate_type.clone(),
        e.aggregate_id.clone(),
        e.sequence.to_string(),
        e.event_type.clone(),
        e.event_version.clone(),
        text(&e.actor),
        text(&e.actor_id),
        text(&e.request_id),
        text(&e.correlation_id),
        text(&e.causation_id),
        e.payload.0.to_string(),
        e.hash.clone(),
    ];
    fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(",")
}

/// One CSV field, quoted (RFC 4180) only when it must be.
pub fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_only_when_they_must_be() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field(r#"{"a":"b,c"}"#), r#""{""a"":""b,c""}""#);
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }
}
