//! End-to-end: release to service — the only way from maintenance back to service, signed by
//! the calling token's holder, bound to a digest of the record as released that an auditor can
//! recompute from the log; refused while a directive is overdue; bad input named by field.

use awc::http::StatusCode;
use klg_domain::aircraft::release::{record_digest, Release, Signer};
use klg_domain::aircraft::{Aircraft, AircraftEvent};
use klg_domain::values::{LicenceNumber, Name, Note, WorkOrderRef};
use klg_tests::{spawn_app, TestApp};
use serde_json::{json, Value};

fn release_body() -> Value {
    json!({"certifying_staff": "A. Sidorova", "licence": "RU.66.0042", "work_order": "WO-2026-0142",
           "statement": "The work specified was carried out in accordance with the AMM; the aircraft is ready for release to service."})
}

async fn into_maintenance(app: &TestApp, id: &str) {
    let status = json!({"status": "in_maintenance", "reason": "C-check"});
    let reply = app.post_json(&format!("/api/v1/aircraft/{id}/status"), &status).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

#[actix_rt::test]
async fn a_release_returns_the_aircraft_to_service_signed_and_bound_to_the_record_as_released() {
    let app = spawn_app().await;
    let id = app.certified_aircraft("RA-89401").await;
    let flight = json!({"flight_date": chrono::Utc::now().date_naive(), "block_hours": 1.5, "cycles": 1});
    app.post_json(&format!("/api/v1/aircraft/{id}/flights"), &flight).await;
    into_maintenance(&app, &id).await;
    let path = format!("/api/v1/aircraft/{id}/release");

    let before = app.event_count().await;
    for (field, value) in [
        ("certifying_staff", json!(" ")),
        ("licence", json!("№42")),
        ("work_order", json!("")),
        ("statement", json!("")),
    ] {
        let mut body = release_body();
        body[field] = value;
        let reply = app.post_json(&path, &body).await;
        reply.assert_problem(422);
        assert_eq!(reply.problem_fields(), [field], "{}", reply.body);
    }
    let mut extra = release_body();
    extra["signed_by"] = json!("someone else");
    assert_eq!(
        app.post_json(&path, &extra).await.problem_fields(),
        ["signed_by"],
        "the signer is the token, not the body"
    );
    assert_eq!(app.event_count().await, before);

    let released = app.post_json(&path, &release_body()).await;
    assert_eq!(released.status, StatusCode::OK, "{}", released.body);
    let read = app.get(&format!("/api/v1/aircraft/{id}?min_position={}", released.body["position"])).await;
    assert_eq!(read.body["status"], "active");
    assert_eq!(read.body["status_reason"], "Released to service: WO-2026-0142");

    // The signer is the calling token; the digest is the record before the release.
    let me = app.get("/api/v1/me").await.body;
    let events = app.events_of(&id).await;
    let (_, event_type, payload, metadata) = events.last().unwrap();
    assert_eq!(event_type, "ReleasedToService");
    let signed = &payload["ReleasedToService"];
    assert_eq!(signed["signed_by"], json!({"token_id": me["token_id"], "name": me["name"]}));
    assert_eq!(metadata["actor"], me["name"]);
    let mut record = Aircraft::default();
    for (_, _, payload, _) in &events[..events.len() - 1] {
        let event: AircraftEvent = serde_json::from_value(payload.clone()).unwrap();
        cqrs_es::Aggregate::apply(&mut record, event);
    }
    let release = Release {
        certifying_staff: Name::parse("A. Sidorova").unwrap(),
        licence: LicenceNumber::parse("RU.66.0042").unwrap(),
        work_order: WorkOrderRef::parse("WO-2026-0142").unwrap(),
        statement: Note::parse(release_body()["statement"].as_str().unwrap()).unwrap(),
        signer: Signer {
            token_id: me["token_id"].as_str().unwrap().into(),
            name: me["name"].as_str().unwrap().into(),
        },
    };
    assert_eq!(signed["record_sha256"], record_digest(&record, &release), "an auditor recomputes the digest");

    // The audit timeline and the history show who signed what.
    let timeline = app.get(&format!("/api/v1/aircraft/{id}/timeline")).await;
    let entry = timeline.body["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (entry["event_type"].as_str(), entry["actor"].clone()),
        (Some("ReleasedToService"), me["name"].clone())
    );
    assert_eq!(entry["payload"]["ReleasedToService"]["record_sha256"], signed["record_sha256"], "{entry}");
    let history = app.get(&format!("/api/v1/aircraft/{id}/history?limit=50")).await;
    let summary = history.body["items"].as_array().unwrap().iter().find_map(|h| {
        h["summary"].as_str().filter(|s| s.starts_with("Released to service")).map(str::to_owned)
    });
    assert_eq!(
        summary.as_deref(),
        Some(
            format!(
                "Released to service under WO-2026-0142 by A. Sidorova (licence RU.66.0042); signed by {}",
                me["name"].as_str().unwrap()
            )
            .as_str()
        )
    );

    let again = app.post_json(&path, &release_body()).await;
    assert_eq!(again.assert_problem(409)["type"], "urn:klg:problem:not-in-maintenance");
}

#[actix_rt::test]
async fn no_release_while_a_directive_is_overdue() {
    let app = spawn_app().await;
    let id = app.certified_aircraft("RA-89402").await;
    let document = app.upload_document().await;
    app.post_json(
        &format!("/api/inbox/files/{document}/classify"),
        &json!({"document_type": "airworthiness_directive"}),
    )
    .await;
    app.post_json(&format!("/api/inbox/files/{document}/link"), &json!({"aircraft_id": id})).await;
    let assessment = json!({"document_id": document, "number": "2026-0007", "applicable": true});
    let reply = app.post_json(&format!("/api/v1/aircraft/{id}/directives"), &assessment).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    into_maintenance(&app, &id).await;
    let refused = app.post_json(&format!("/api/v1/aircraft/{id}/release"), &release_body()).await;
    let problem = refused.assert_problem(409);
    assert_eq!(problem["type"], "urn:klg:problem:directive-overdue");
    assert!(problem["detail"].as_str().unwrap().contains("2026-0007"), "{problem}");
}
