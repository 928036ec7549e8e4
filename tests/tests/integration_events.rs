//! `POST /api/v1/streaming/events`: integration events become commands (rules, event store,
//! idempotency) or are refused with a problem naming the field.

use awc::http::StatusCode;
use base64::Engine;
use klg_tests::{sha256_hex, spawn_app};
use serde_json::json;

fn event(id: &str, event_type: &str, data: serde_json::Value) -> serde_json::Value {
    json!({"specversion": "1.0", "id": id, "type": event_type, "source": "acars-gateway", "data": data})
}

#[actix_rt::test]
async fn a_flight_completed_event_logs_a_flight_once_however_often_it_arrives() {
    let app = spawn_app().await;
    let id = app.certified_aircraft("RA-89501").await;
    let flight = event(
        "acars-0001",
        "flight.completed",
        json!({"registration_number": "ra-89501", "flight_date": "2024-05-01", "block_hours": 2.25, "cycles": 1}),
    );
    let first = app.post_json("/api/v1/streaming/events", &flight).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body["id"], id.as_str());
    let again = app.post_json("/api/v1/streaming/events", &flight).await;
    assert_eq!((again.status, again.header("idempotent-replayed")), (StatusCode::OK, Some("true")));
    let events = app.events_of(&id).await;
    assert_eq!(events.len(), 3);
    let (_, event_type, payload, metadata) = &events[2];
    assert_eq!(
        (event_type.as_str(), payload["FlightLogged"]["block_minutes"].as_i64()),
        ("FlightLogged", Some(135))
    );
    assert_eq!(
        (metadata["causation_id"].as_str(), metadata["correlation_id"].as_str()),
        (Some("acars-0001"), Some("acars-0001"))
    );

    let by_id = event(
        "acars-0002",
        "flight.completed",
        json!({"aircraft_id": id, "flight_date": "2024-05-02", "block_hours": 1, "cycles": 2}),
    );
    assert_eq!(app.post_json("/api/v1/streaming/events", &by_id).await.status, StatusCode::OK);
    let changed = event(
        "mx-7",
        "aircraft.status.changed",
        json!({"aircraft_id": id, "status": "in_maintenance", "reason": "A-check"}),
    );
    assert_eq!(app.post_json("/api/v1/streaming/events", &changed).await.status, StatusCode::OK);
    assert_eq!(app.events_of(&id).await.len(), 5);
}

#[actix_rt::test]
async fn a_document_received_event_stores_the_file_and_creates_a_document() {
    let app = spawn_app().await;
    let content = b"SB 100-32-001 landing gear";
    let encoded = base64::engine::general_purpose::STANDARD.encode(content);
    let body = event(
        "gw-1",
        "document.received",
        json!({"filename": "SB-100-32-001.pdf", "content_type": "application/pdf", "content_base64": encoded, "sha256": sha256_hex(content)}),
    );
    let reply = app.post_json("/api/v1/streaming/events", &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let id = reply.body["id"].as_str().unwrap();
    let events = app.events_of(id).await;
    assert_eq!(events[0].2["FileReceived"]["source"], "api");
    assert_eq!(events[0].2["FileReceived"]["sha256"], sha256_hex(content));
}

#[actix_rt::test]
async fn unknown_types_and_bad_payloads_are_refused_and_store_nothing() {
    let app = spawn_app().await;
    let id = app.certified_aircraft("RA-89502").await;
    let before = app.event_count().await;
    let cases = [
        (event("e1", "flight.cancelled", json!({})), "type"),
        (
            event(
                "e2",
                "flight.completed",
                json!({"aircraft_id": id, "flight_date": "2024-05-01", "block_hours": 30, "cycles": 1}),
            ),
            "data.block_hours",
        ),
        (
            event(
                "e3",
                "flight.completed",
                json!({"aircraft_id": id, "flight_date": "2024-05-01", "block_hours": 1}),
            ),
            "data.cycles",
        ),
        (
            event(
                "e4",
                "flight.completed",
                json!({"flight_date": "2024-05-01", "block_hours": 1, "cycles": 1}),
            ),
            "data.aircraft_id",
        ),
        (
            event(
                "e5",
                "flight.completed",
                json!({"registration_number": "RA-00000", "flight_date": "2024-05-01", "block_hours": 1, "cycles": 1}),
            ),
            "data.registration_number",
        ),
        (
            event(
                "e6",
                "aircraft.status.changed",
                json!({"aircraft_id": id, "status": "flying", "reason": "x"}),
            ),
            "data.status",
        ),
        (
            event("e7", "document.received", json!({"filename": "a.pdf", "content_base64": "***"})),
            "data.content_base64",
        ),
        (
            event(
                "e8",
                "flight.completed",
                json!({"aircraft_id": id, "flight_date": "2024-05-01", "block_hours": 1, "cycles": 1, "pilot": "x"}),
            ),
            "data.pilot",
        ),
        (json!({"id": "e9", "type": "flight.completed", "data": {}}), "source"),
        (json!({"id": "", "type": "flight.completed", "source": "s", "data": {}}), "id"),
    ];
    for (body, field) in cases {
        assert_eq!(
            app.post_json("/api/v1/streaming/events", &body).await.problem_fields(),
            [field],
            "{body}"
        );
    }
    let unknown = uuid::Uuid::new_v4();
    let flight = event(
        "e10",
        "flight.completed",
        json!({"aircraft_id": unknown, "flight_date": "2024-05-01", "block_hours": 1, "cycles": 1}),
    );
    app.post_json("/api/v1/streaming/events", &flight).await.assert_problem(404);
    app.send_raw("POST", "/api/v1/streaming/events", "application/json", b"{".to_vec())
        .await
        .assert_problem(400);
    assert_eq!(app.event_count().await, before);
}
