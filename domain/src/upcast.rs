//! Event versions: stored events are never rewritten, so a payload whose shape changed is
//! brought to the current shape when it is read — by the write side (cqrs-es's
//! `EventUpcaster`), the projector, the mirror, replay, as-of reads and the audit timeline alike,
//! all through this module.
//!
//! Versions so far: `FlightLogged` 2.0 adds `route` (departure and arrival, ICAO); a 1.0 flight
//! becomes `route: null` — the record never said where it went, and the upcaster does not guess.

use cqrs_es::persist::{EventUpcaster, SerializedEvent};
use serde_json::Value;

/// The version `FlightLogged` events are written with.
pub const FLIGHT_LOGGED_VERSION: &str = "2.0";

/// The version this code writes (and reads after upcasting) for an event type.
pub fn current_version(event_type: &str) -> &'static str {
    match event_type {
        "FlightLogged" => FLIGHT_LOGGED_VERSION,
        _ => "1.0",
    }
}

/// Every upcaster, in the order they apply.
pub fn upcasters() -> Vec<Box<dyn EventUpcaster>> {
    vec![Box::new(FlightLoggedRoute)]
}

/// `FlightLogged` 1.0 → 2.0: the route was not recorded. (cqrs-es's
/// `SemanticVersionEventUpcaster` would write "2.0.0"; KLG's versions are `major.minor`.)
struct FlightLoggedRoute;

impl EventUpcaster for FlightLoggedRoute {
    fn can_upcast(&self, event_type: &str, event_version: &str) -> bool {
        event_type == "FlightLogged" && event_version == "1.0"
    }

    fn upcast(&self, mut event: SerializedEvent) -> SerializedEvent {
        if let Some(Value::Object(flight)) = event.payload.get_mut("FlightLogged") {
            flight.entry("route").or_insert(Value::Null);
        }
        event.event_version = FLIGHT_LOGGED_VERSION.to_owned();
        event
    }
}

/// `event` in its current shape (unchanged when already current: the common case, on the path of
/// every event read, costs one comparison).
pub fn upcast(mut event: SerializedEvent) -> SerializedEvent {
    if event.event_version == current_version(&event.event_type) {
        return event;
    }
    for upcaster in upcasters() {
        if upcaster.can_upcast(&event.event_type, &event.event_version) {
            event = upcaster.upcast(event);
        }
    }
    event
}

/// The current version and payload of a stored event, for readers of raw rows.
pub fn upcast_payload(event_type: &str, event_version: String, payload: Value) -> (String, Value) {
    if event_version == current_version(event_type) {
        return (event_version, payload);
    }
    let event = upcast(SerializedEvent {
        aggregate_id: String::new(),
        sequence: 0,
        aggregate_type: String::new(),
        event_type: event_type.to_owned(),
        event_version,
        payload,
        metadata: Value::Null,
    });
    (event.event_version, event.payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aircraft::AircraftEvent;
    use serde_json::json;

    #[test]
    fn a_version_1_flight_is_read_as_version_2_with_no_route() {
        let stored = json!({"FlightLogged": {"flight_date": "2024-05-01", "block_minutes": 60, "cycles": 1}});
        assert!(
            serde_json::from_value::<AircraftEvent>(stored.clone()).is_err(),
            "without the upcaster a 1.0 flight does not load"
        );
        let (version, payload) = upcast_payload("FlightLogged", "1.0".into(), stored);
        assert_eq!(version, "2.0");
        let event: AircraftEvent = serde_json::from_value(payload).unwrap();
        assert!(matches!(event, AircraftEvent::FlightLogged { route: None, cycles: 1, .. }));
    }

    #[test]
    fn current_events_and_other_types_pass_unchanged() {
        let flight = json!({"FlightLogged": {"flight_date": "2024-05-01", "block_minutes": 60, "cycles": 1,
                                             "route": {"departure": "UUEE", "arrival": "URSS"}}});
        assert_eq!(upcast_payload("FlightLogged", "2.0".into(), flight.clone()), ("2.0".into(), flight));
        let status = json!({"AircraftStatusChanged": {"from": "active", "to": "grounded", "reason": "x"}});
        assert_eq!(
            upcast_payload("AircraftStatusChanged", "1.0".into(), status.clone()),
            ("1.0".into(), status)
        );
    }
}
