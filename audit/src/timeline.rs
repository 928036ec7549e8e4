//! A record's timeline: each of its events with who, when, the request ids, and what changed —
//! the aggregate's state folded by the domain's own `apply` before and after the event, compared
//! field by field, so the summary says exactly what the write side believes changed.

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use serde::Serialize;
use serde_json::{Map, Value};
use sqlx::PgPool;

/// One field that an event changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub field: String,
    pub old: Value,
    pub new: Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    pub sequence: i64,
    pub global_position: i64,
    pub recorded_at: DateTime<Utc>,
    pub event_type: String,
    /// The version the payload is shown in (current: older events are upcast).
    pub event_version: String,
    /// The version the event was stored with.
    pub stored_version: String,
    pub actor: Option<String>,
    pub request_id: Option<String>,
    pub correlation_id: Option<String>,
    pub causation_id: Option<String>,
    /// `field: old → new; …`
    pub summary: String,
    pub changes: Vec<Change>,
    /// The event, in its current version.
    pub payload: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum TimelineError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("event {sequence} of {id} cannot be read: {reason}")]
    Undecodable { id: String, sequence: i64, reason: String },
}

type Row = (i64, i64, DateTime<Utc>, String, String, sqlx::types::Json<Value>, sqlx::types::Json<Value>);

/// The timeline of aggregate `id` of type `A`, oldest first; empty if it has no events.
pub async fn timeline<A>(pool: &PgPool, id: &str) -> Result<Vec<TimelineEntry>, TimelineError>
where
    A: Aggregate + Serialize,
{
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT sequence, global_position, recorded_at, event_type, event_version, payload::jsonb, metadata::jsonb \
         FROM events \
         WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY sequence",
    )
    .bind(A::TYPE)
    .bind(id)
    .fetch_all(pool)
    .await?;
    let mut state = A::default();
    let mut before = state_fields(&state);
    let mut entries = Vec::with_capacity(rows.len());
    for (sequence, global_position, recorded_at, event_type, stored_version, payload, metadata) in rows {
        let (event_version, payload) =
            klg_domain::upcast::upcast_payload(&event_type, stored_version.clone(), payload.0);
        let event: A::Event = serde_json::from_value(payload.clone())
            .map_err(|e| TimelineError::Undecodable { id: id.to_owned(), sequence, reason: e.to_string() })?;
        state.apply(event);
        let after = state_fields(&state);
        let changes = diff(&before, &after);
        let text = |key: &str| metadata.0.get(key).and_then(Value::as_str).map(str::to_owned);
        entries.push(TimelineEntry {
            sequence,
            global_position,
            recorded_at,
            event_type,
            event_version,
            stored_version,
            actor: text("actor"),
            request_id: text("request_id"),
            correlation_id: text("correlation_id"),
            causation_id: text("causation_id"),
            summary: summary(&changes),
            changes,
            payload,
        });
        before = after;
    }
    Ok(entries)
}

/// The state's fields, flattened to dotted names (`version` left out: every event bumps it).
fn state_fields<A: Serialize>(state: &A) -> Map<String, Value> {
    let mut fields = Map::new();
    if let Ok(Value::Object(object)) = serde_json::to_value(state) {
        flatten("", object, &mut fields);
    }
    fields.remove("version");
    fields
}

/// An empty object adds no field: a map that gains its first entry (an aircraft's first
/// directive) shows as that entry, not as the map itself turning into nothing.
fn flatten(prefix: &str, object: Map<String, Value>, out: &mut Map<String, Value>) {
    for (key, value) in object {
        let name = if prefix.is_empty() { key } else { format!("{prefix}.{key}") };
        match value {
            Value::Object(inner) => flatten(&name, inner, out),
            other => {
                out.insert(name, other);
            }
        }
    }
}

/// Fields whose value differs, in name order.
pub fn diff(before: &Map<String, Value>, after: &Map<String, Value>) -> Vec<Change> {
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|name| {
            let old = before.get(name).cloned().unwrap_or(Value::Null);
            let new = after.get(name).cloned().unwrap_or(Value::Null);
            (old != new).then(|| Change { field: name.clone(), old, new })
        })
        .collect()
}

/// `status: active → grounded; certificates: 1 → 2 items`.
pub fn summary(changes: &[Change]) -> String {
    let show = |v: &Value| match v {
        Value::Null => "–".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(items) => format!("{} items", items.len()),
        other => other.to_string(),
    };
    changes
        .iter()
        .map(|c| format!("{}: {} → {}", c.field, show(&c.old), show(&c.new)))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(value: Value) -> Map<String, Value> {
        let mut out = Map::new();
        flatten("", value.as_object().unwrap().clone(), &mut out);
        out
    }

    #[test]
    fn a_map_gaining_its_first_entry_shows_only_the_entry() {
        let before = fields(json!({"directives": {}}));
        let after = fields(json!({"directives": {"2024-0123": {"applicable": true}}}));
        let changes = diff(&before, &after);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].field, "directives.2024-0123.applicable");
    }

    #[test]
    fn changes_name_each_field_with_its_old_and_new_value() {
        let before =
            fields(json!({"status": "active", "notes": null, "totals": {"cycles": 3}, "certificates": [1]}));
        let after = fields(
            json!({"status": "grounded", "notes": "bird strike", "totals": {"cycles": 3}, "certificates": [1, 2]}),
        );
        let changes = diff(&before, &after);
        assert_eq!(
            summary(&changes),
            "certificates: 1 items → 2 items; notes: – → bird strike; status: active → grounded"
        );
        assert!(diff(&after, &after).is_empty());
    }
}
