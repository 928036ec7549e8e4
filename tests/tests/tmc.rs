//! End-to-end: TMC (parts) requests at `/api/tmc` — from an inbox document or directly, through
//! the state machine to installation (recorded on the aircraft's record), listed, filtered and
//! searched in both read stores; bad input named by field and storing nothing.

use awc::http::StatusCode;
use klg_tests::{spawn_app, TestApp};
use serde_json::{json, Value};

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

fn wheel() -> Value {
    json!({"part_number": "d23189000-5", "description": "Main wheel assembly", "quantity": 2,
           "reason": {"kind": "work_order", "reference": "WO-2026-0142"}})
}

/// The ids a list query answers, once the read side reflects `at`.
async fn ids(app: &TestApp, query: String, at: Value) -> Vec<String> {
    let reply = app.get(&format!("/api/tmc?{query}&min_position={at}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.body);
    reply.body["items"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
}

async fn step(app: &TestApp, id: &str, action: &str, body: Value) -> Value {
    let reply = app.post_json(&format!("/api/tmc/{id}/{action}"), &body).await;
    assert_eq!(reply.status, StatusCode::OK, "{action}: {}", reply.body);
    reply.body
}

klg_tests::in_both_read_stores!(a_request_from_a_document_goes_to_installation_and_onto_the_aircrafts_record);

async fn a_request_from_a_document_goes_to_installation_and_onto_the_aircrafts_record(app: &TestApp) {
    let aircraft = app.certified_aircraft("RA-89501").await;
    let document = app.upload_document().await;
    app.post_json(
        &format!("/api/inbox/files/{document}/classify"),
        &json!({"document_type": "parts_request"}),
    )
    .await;
    app.post_json(&format!("/api/inbox/files/{document}/link"), &json!({"aircraft_id": aircraft})).await;

    // From the document: the aircraft is the document's.
    let created = app.post_json(&format!("/api/tmc/from-document/{document}"), &wheel()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.header("location"), Some(format!("/api/tmc/{id}").as_str()));
    let read = app.get(&format!("/api/tmc/{id}?min_position={}", created.body["position"])).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(read.header("etag"), Some("\"1\""));
    let r = &read.body;
    assert_eq!(
        (r["status"].as_str(), r["aircraft_id"].as_str(), r["registration_number"].as_str()),
        (Some("requested"), Some(aircraft.as_str()), Some("RA-89501"))
    );
    assert_eq!((r["part_number"].as_str(), r["quantity"].as_i64()), (Some("D23189000-5"), Some(2)));
    assert_eq!(
        (r["reason_kind"].as_str(), r["reason_reference"].as_str()),
        (Some("work_order"), Some("WO-2026-0142"))
    );
    assert_eq!(r["source_document_id"], document.as_str());

    // The state machine refuses a step out of order, naming the status.
    let early = app.post_json(&format!("/api/tmc/{id}/receive"), &json!({})).await;
    assert_eq!(early.assert_problem(409)["type"], "urn:klg:problem:parts-request-transition-not-allowed");
    assert!(early.body["detail"].as_str().unwrap().contains("requested"), "{}", early.body);

    step(app, &id, "approve", json!({"note": "stock checked: none"})).await;
    step(app, &id, "order", json!({"supplier": "UTair Engineering", "order_ref": "PO-7781"})).await;
    step(app, &id, "receive", json!({})).await;
    let installation =
        json!({"serial_number": "B-1234", "installed_on": today(), "work_order": "WO-2026-0142"});
    let installed = step(app, &id, "install", installation.clone()).await;
    assert_eq!(installed["version"], 5);
    let again = step(app, &id, "install", installation).await;
    assert_eq!(
        (again["version"].as_i64(), again["changed"].as_bool()),
        (Some(5), Some(false)),
        "a repeat changes nothing"
    );
    let cancelled = app.post_json(&format!("/api/tmc/{id}/cancel"), &json!({"reason": "too late"})).await;
    cancelled.assert_problem(409);

    // The aircraft's record has the part, once; the request shows the installation.
    let events = app.events_of(&aircraft).await;
    let fitted: Vec<&Value> =
        events.iter().filter(|(_, t, _, _)| t == "PartInstalled").map(|(_, _, p, _)| p).collect();
    assert_eq!(fitted.len(), 1, "{events:?}");
    assert_eq!(fitted[0]["PartInstalled"]["request_id"], id.as_str());
    assert_eq!(fitted[0]["PartInstalled"]["serial_number"], "B-1234");
    // The aircraft's own event comes after the request's: wait for the aircraft's last position.
    let head: i64 = sqlx::query_scalar("SELECT max(global_position) FROM events WHERE aggregate_id = $1")
        .bind(&aircraft)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let history = app.get(&format!("/api/v1/aircraft/{aircraft}/history?limit=50&min_position={head}")).await;
    assert!(
        history.body["items"].as_array().unwrap().iter().any(|h| h["summary"]
            == format!("Part D23189000-5 S/N B-1234 installed on {} under WO-2026-0142", today())),
        "{}",
        history.body
    );
    let at = app.get(&format!("/api/tmc/{id}")).await;
    assert_eq!(
        (at.body["status"].as_str(), at.body["serial_number"].as_str()),
        (Some("installed"), Some("B-1234"))
    );
    assert_eq!(at.body["supplier"], "UTair Engineering");

    // A second request, directly, for a directive; rejected.
    let mut for_directive = wheel();
    for_directive["aircraft_id"] = json!(aircraft);
    for_directive["part_number"] = json!("S6135-20035-1");
    for_directive["description"] = json!("Fuel pump");
    for_directive["reason"] = json!({"kind": "directive", "reference": "2026-0007"});
    let second = app.post_json("/api/tmc", &for_directive).await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    let second_id = second.body["id"].as_str().unwrap().to_owned();
    let rejected = step(app, &second_id, "reject", json!({"reason": "superseded by -3"})).await;

    // List: newest first; filters; search by words across part, reason and registration.
    let at = rejected["position"].clone();
    let list = |query: String| ids(app, query, at.clone());
    assert_eq!(list(format!("aircraft_id={aircraft}")).await, [second_id.clone(), id.clone()]);
    assert_eq!(list("status=installed".into()).await, [id.clone()]);
    assert_eq!(list("status=rejected".into()).await, [second_id.clone()]);
    assert_eq!(list("q=fuel%202026-0007".into()).await, [second_id.clone()]);
    assert_eq!(list("q=ra-89501%20b-1234".into()).await, [id.clone()]);
    let paged = app.get(&format!("/api/tmc?limit=1&aircraft_id={aircraft}")).await;
    let cursor = paged.body["next_cursor"].as_str().expect("a second page").to_owned();
    assert_eq!(list(format!("limit=1&aircraft_id={aircraft}&cursor={cursor}")).await, [id.clone()]);

    // The global search finds requests too.
    let found = app.get("/api/v1/search?q=fuel%20pump").await;
    assert!(
        found.body["hits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["kind"] == "parts_request" && h["link"] == format!("/api/tmc/{second_id}")),
        "{}",
        found.body
    );
}

#[actix_rt::test]
async fn bad_parts_requests_get_a_problem_naming_the_field_and_store_nothing() {
    let app = spawn_app().await;
    let aircraft = app.certified_aircraft("RA-89502").await;
    let bulletin = app.upload_document().await;
    app.post_json(
        &format!("/api/inbox/files/{bulletin}/classify"),
        &json!({"document_type": "service_bulletin"}),
    )
    .await;
    let before = app.event_count().await;
    let with = |patch: Value| {
        let mut body = wheel();
        body["aircraft_id"] = json!(aircraft);
        body.as_object_mut().unwrap().extend(patch.as_object().unwrap().clone());
        body
    };
    let invalid = [
        (with(json!({"part_number": ""})), "part_number"),
        (with(json!({"description": " "})), "description"),
        (with(json!({"quantity": 0})), "quantity"),
        (with(json!({"quantity": 10001})), "quantity"),
        (with(json!({"quantity": -1})), "quantity"),
        (with(json!({"reason": {"kind": "directive", "reference": ""}})), "reason.reference"),
        (with(json!({"reason": {"kind": "whim", "reference": "x"}})), "reason.kind"),
        (with(json!({"aircraft_id": uuid::Uuid::new_v4()})), "aircraft_id"),
        (with(json!({"aircraft_id": null})), "aircraft_id"),
        (with(json!({"colour": "red"})), "colour"),
    ];
    for (body, field) in invalid {
        let reply = app.post_json("/api/tmc", &body).await;
        reply.assert_problem(422);
        assert_eq!(reply.problem_fields(), [field], "{body}: {}", reply.body);
    }
    let not_parts = app.post_json(&format!("/api/tmc/from-document/{bulletin}"), &with(json!({}))).await;
    assert_eq!(not_parts.assert_problem(409)["type"], "urn:klg:problem:document-not-a-parts-request");
    assert_eq!(not_parts.body["errors"][0]["field"], "source_document");
    app.post_json(&format!("/api/tmc/from-document/{}", uuid::Uuid::new_v4()), &wheel())
        .await
        .assert_problem(404);
    app.post_json(&format!("/api/tmc/{}/approve", uuid::Uuid::new_v4()), &json!({}))
        .await
        .assert_problem(404);
    assert_eq!(app.event_count().await, before, "refusals store nothing");

    let created = app.post_json("/api/tmc", &with(json!({}))).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    for (action, body, field) in [
        ("order", json!({"supplier": "", "order_ref": "PO-1"}), "supplier"),
        ("reject", json!({"reason": ""}), "reason"),
        ("approve", json!({"note": "\u{7}"}), "note"),
        ("receive", json!({"note": "\u{0}"}), "note"),
        ("cancel", json!({"reason": " "}), "reason"),
        ("order", json!({"supplier": "S", "order_ref": ""}), "order_ref"),
        (
            "install",
            json!({"serial_number": "", "installed_on": "2026-01-01", "work_order": "WO-1"}),
            "serial_number",
        ),
        (
            "install",
            json!({"serial_number": "B-1", "installed_on": "2026-02-30", "work_order": "WO-1"}),
            "installed_on",
        ),
    ] {
        let reply = app.post_json(&format!("/api/tmc/{id}/{action}"), &body).await;
        reply.assert_problem(422);
        assert_eq!(reply.problem_fields(), [field], "{action}: {}", reply.body);
    }
    for query in ["status=lost", "aircraft_id=x", "limit=0", "colour=red"] {
        app.get(&format!("/api/tmc?{query}")).await.assert_problem(422);
    }
    app.get(&format!("/api/tmc/{}", uuid::Uuid::new_v4())).await.assert_problem(404);
}

#[actix_rt::test]
async fn a_request_awaiting_approval_for_two_days_is_an_insight_with_the_command_to_run() {
    let app = spawn_app().await;
    let aircraft = app.certified_aircraft("RA-89503").await;
    let mut body = wheel();
    body["aircraft_id"] = json!(aircraft);
    let created = app.post_json("/api/tmc", &body).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    app.get(&format!("/api/tmc/{id}?min_position={}", created.body["position"])).await;
    assert_eq!(waiting_insight(&app).await, None, "a fresh request needs no attention yet");
    // Two days on (the projection's request time moved back: the read side derives the age).
    sqlx::query("UPDATE tmc_requests SET requested_at = requested_at - interval '49 hours' WHERE id = $1")
        .bind(&id)
        .execute(&app.pool)
        .await
        .unwrap();
    let insight = waiting_insight(&app).await.expect("an insight");
    assert_eq!(
        (insight["subject"].as_str(), insight["link"].clone()),
        (Some("D23189000-5"), json!(format!("/api/tmc/{id}")))
    );
    assert!(insight["reason"].as_str().unwrap().contains("awaiting approval"), "{insight}");
    let recommendations = app.get("/api/v1/recommendations").await.body;
    assert!(
        recommendations["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["command"] == format!("POST /api/tmc/{id}/approve")),
        "{recommendations}"
    );
}

async fn waiting_insight(app: &TestApp) -> Option<Value> {
    let insights = app.get("/api/v1/knowledge/insights").await.body;
    insights["items"].as_array().unwrap().iter().find(|i| i["kind"] == "parts_request_waiting").cloned()
}
