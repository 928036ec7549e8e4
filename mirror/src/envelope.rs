//! The message format: CloudEvents 1.0, structured JSON mode. KLG's own attributes are
//! CloudEvents extension attributes (lower-case letters and digits only, as the spec requires).

use chrono::{DateTime, Utc};
use klg_projections::StoredEvent;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// Media type of a structured-mode CloudEvent (the `content-type` header of each message).
pub const CLOUDEVENTS_JSON: &str = "application/cloudevents+json; charset=utf-8";

/// One stored KLG event as published on the mirror topics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "KLG event envelope (CloudEvents 1.0, structured JSON)")]
pub struct EventEnvelope {
    /// Always "1.0".
    pub specversion: String,
    /// The event id, unique in the whole log: consumers deduplicate by it.
    pub id: Uuid,
    /// `urn:klg:<aggregate type>`, e.g. `urn:klg:aircraft`.
    pub source: String,
    /// `klg.<aggregate type>.<EventType>`, e.g. `klg.aircraft.FlightLogged`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The aggregate id (also the message key).
    pub subject: String,
    /// When the event occurred (RFC 3339).
    pub time: DateTime<Utc>,
    /// Always "application/json".
    pub datacontenttype: String,
    /// The event's payload: the fields of the domain event.
    pub data: Value,
    /// `Aircraft` or `InboxItem`.
    pub aggregatetype: String,
    pub aggregateid: String,
    /// Position of the event in its aggregate's stream, from 1: consumers order by it.
    pub sequence: i64,
    /// Global log position.
    pub position: i64,
    /// The domain event type, e.g. `FlightLogged`.
    pub eventtype: String,
    /// Schema version of `data`, e.g. "1.0".
    pub eventversion: String,
    /// When the event store recorded the event (RFC 3339).
    pub recordedat: DateTime<Utc>,
    /// Who caused the event.
    pub actor: String,
    pub correlationid: Option<String>,
    pub causationid: Option<String>,
    pub requestid: Option<String>,
}

impl EventEnvelope {
    pub fn from_stored(event: &StoredEvent) -> Self {
        let kind = event.aggregate_type.to_ascii_lowercase();
        // The stored text is JSON (the column's type checks it); `null` only if that ever failed.
        let payload: serde_json::Value = serde_json::from_str(&event.payload).unwrap_or_default();
        let data = match payload {
            serde_json::Value::Object(mut map) => {
                map.remove(&event.event_type).unwrap_or(serde_json::Value::Object(map))
            }
            other => other,
        };
        let meta = &event.metadata;
        Self {
            specversion: "1.0".into(),
            id: event.event_id,
            source: format!("urn:klg:{kind}"),
            event_type: format!("klg.{kind}.{}", event.event_type),
            subject: event.aggregate_id.clone(),
            time: event.recorded_at,
            datacontenttype: "application/json".into(),
            data,
            aggregatetype: event.aggregate_type.clone(),
            aggregateid: event.aggregate_id.clone(),
            sequence: event.sequence,
            position: event.position.global_position,
            eventtype: event.event_type.clone(),
            eventversion: event.event_version.clone(),
            recordedat: event.recorded_at,
            actor: meta.actor().to_owned(),
            correlationid: meta.correlation_id.clone(),
            causationid: meta.causation_id.clone(),
            requestid: meta.request_id.clone(),
        }
    }

    /// The envelope's JSON Schema, as checked in under `docs/schemas/`.
    pub fn json_schema() -> String {
        serde_json::to_string_pretty(&schemars::schema_for!(EventEnvelope)).expect("schema serializes") + "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHECKED_IN: &str =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/schemas/event-envelope.schema.json");

    /// Fails when the envelope type and the documented schema differ. To accept a deliberate
    /// change: `KLG_UPDATE_SCHEMAS=1 cargo test -p klg-mirror`.
    #[test]
    fn the_checked_in_schema_matches_the_code() {
        let generated = EventEnvelope::json_schema();
        if std::env::var_os("KLG_UPDATE_SCHEMAS").is_some() {
            std::fs::write(CHECKED_IN, &generated).unwrap();
        }
        let checked_in = std::fs::read_to_string(CHECKED_IN).unwrap_or_default();
        assert!(
            checked_in == generated,
            "docs/schemas/event-envelope.schema.json is out of date; regenerate with KLG_UPDATE_SCHEMAS=1"
        );
    }

    #[test]
    fn envelopes_carry_the_payload_fields_and_the_cloudevents_attributes() {
        let event = StoredEvent {
            position: klg_projections::LogPosition { transaction_id: 7, global_position: 42 },
            aggregate_type: "Aircraft".into(),
            aggregate_id: "a1".into(),
            sequence: 3,
            event_type: "FlightLogged".into(),
            event_version: "1.0".into(),
            payload: serde_json::json!({"FlightLogged": {"cycles": 1}}).to_string(),
            metadata: klg_projections::log::EventMetadata {
                actor: Some("planner".into()),
                correlation_id: Some("c1".into()),
                ..Default::default()
            },
            event_id: Uuid::nil(),
            recorded_at: "2026-01-02T03:04:05.123456Z".parse().unwrap(),
        };
        let json = serde_json::to_value(EventEnvelope::from_stored(&event)).unwrap();
        assert_eq!(json["specversion"], "1.0");
        assert_eq!(json["type"], "klg.aircraft.FlightLogged");
        assert_eq!(json["source"], "urn:klg:aircraft");
        assert_eq!(json["data"], serde_json::json!({"cycles": 1}));
        assert_eq!(json["time"], "2026-01-02T03:04:05.123456Z");
        assert_eq!((json["sequence"].as_i64(), json["position"].as_i64()), (Some(3), Some(42)));
        assert_eq!((json["actor"].as_str(), json["correlationid"].as_str()), (Some("planner"), Some("c1")));
    }
}
