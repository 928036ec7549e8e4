//! End-to-end: airworthiness directives over HTTP — recorded from an inbox document, due by
//! hours, refusing the flight past the limit, complied with, then due again; the aircraft's AD
//! status as JSON and CSV, the fleet due list, insights; and every bad input answered with a
//! problem naming the field, storing nothing.

use awc::http::StatusCode;
use klg_tests::{spawn_app, Reply, TestApp};
use serde_json::{json, Value};

const AD: &str = "2024-0123";

fn urlencoding(text: &str) -> String {
    text.replace(' ', "%20")
}

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

async fn fly(app: &TestApp, id: &str, hours: f64) -> Reply {
    let flight = json!({"flight_date": today(), "block_hours": hours, "cycles": 1});
    app.post_json(&format!("/api/v1/aircraft/{id}/flights"), &flight).await
}

/// A document classified as an airworthiness directive and linked to `aircraft`.
async fn directive_document(app: &TestApp, aircraft: &str) -> String {
    let document = app.upload_document().await;
    let classify = json!({"document_type": "airworthiness_directive"});
    let reply = app.post_json(&format!("/api/inbox/files/{document}/classify"), &classify).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let reply =
        app.post_json(&format!("/api/inbox/files/{document}/link"), &json!({"aircraft_id": aircraft})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    document
}

/// The aircraft's directives once the projections reflect `position`.
async fn directives(app: &TestApp, id: &str, position: &Value) -> Vec<Value> {
    let reply = app.get(&format!("/api/v1/aircraft/{id}/directives?min_position={position}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["items"].as_array().unwrap().clone()
}

klg_tests::in_both_read_stores!(
    a_directive_falls_due_by_hours_refuses_the_flight_past_it_and_is_due_again_after_compliance,
    a_directive_due_at_once_grounds_flights_until_a_terminating_action_closes_it,
);

async fn a_directive_falls_due_by_hours_refuses_the_flight_past_it_and_is_due_again_after_compliance(
    app: &TestApp,
) {
    let id = app.certified_aircraft("RA-89301").await;
    for _ in 0..2 {
        assert_eq!(fly(app, &id, 2.0).await.status, StatusCode::OK); // 4:00 FH, 2 FC
    }
    let document = directive_document(app, &id).await;

    // Applies; first compliance within 3 flight hours (due at 7:00 FH).
    let assessment = json!({"document_id": document, "number": AD, "revision": "R1", "applicable": true,
                            "comply_within": {"hours": 3}});
    let reply = app.post_json(&format!("/api/v1/aircraft/{id}/directives"), &assessment).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let rows = directives(app, &id, &reply.body["position"]).await;
    assert_eq!(rows.len(), 1);
    let ad = &rows[0];
    assert_eq!(
        (ad["number"].as_str(), ad["revision"].as_str(), ad["status"].as_str()),
        (Some(AD), Some("R1"), Some("open"))
    );
    assert_eq!((ad["next_due_hours"].as_f64(), ad["remaining_hours"].as_f64()), (Some(7.0), Some(3.0)));
    assert_eq!((ad["next_due_on"].clone(), ad["remaining_days"].clone()), (Value::Null, Value::Null));
    assert_eq!(ad["due_state"], "due_soon");
    assert_eq!(ad["document_id"], document.as_str());
    assert_eq!(ad["registration_number"], "RA-89301");

    let assessed_at = chrono::Utc::now();

    // Repeating the assessment changes nothing.
    let again = app.post_json(&format!("/api/v1/aircraft/{id}/directives"), &assessment).await;
    assert_eq!((again.status, again.body["changed"].as_bool()), (StatusCode::OK, Some(false)));

    // 2:00 more fits (6:00 ≤ 7:00); the next 2:00 would pass the limit: refused, naming the directive.
    assert_eq!(fly(app, &id, 2.0).await.status, StatusCode::OK);
    let events_before = app.event_count().await;
    let refused = fly(app, &id, 2.0).await;
    let problem = refused.assert_problem(409);
    assert_eq!(problem["type"], "urn:klg:problem:directive-overdue");
    assert!(problem["detail"].as_str().unwrap().contains(AD), "{problem}");
    assert_eq!(app.event_count().await, events_before, "a refused flight stores nothing");

    // Inspected at 6:00 FH / 3 FC, to be repeated every 30 days or 100 FH.
    let compliance = json!({"number": AD, "method": "inspection", "done_on": today(), "hours_at": 6.0,
                            "cycles_at": 3, "performed_by": "I. Petrov, B1 licence 0042",
                            "work_order": "WO-2026-0142", "interval": {"days": 30, "hours": 100}});
    let reply = app.post_json(&format!("/api/v1/aircraft/{id}/directives/compliance"), &compliance).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let ad = directives(app, &id, &reply.body["position"]).await.remove(0);
    assert_eq!(ad["status"], "recurring");
    assert_eq!(
        (ad["method"].as_str(), ad["hours_at"].as_f64(), ad["cycles_at"].as_i64()),
        (Some("inspection"), Some(6.0), Some(3))
    );
    assert_eq!(ad["next_due_on"], json!(today() + chrono::Days::new(30)));
    assert_eq!((ad["next_due_hours"].as_f64(), ad["remaining_hours"].as_f64()), (Some(106.0), Some(100.0)));
    assert_eq!(ad["remaining_days"], 30);
    assert_eq!(ad["due_state"], "due_soon", "30 days left is within the 30-day warning");
    let flown = fly(app, &id, 2.0).await;
    assert_eq!(flown.status, StatusCode::OK, "{}", flown.body);

    // As of the assessment: open, 3 hours left — what an auditor asks after the fact.
    let then = assessed_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true).replace('+', "%2B");
    let past = app.get(&format!("/api/v1/aircraft/{id}/directives?as_of={then}")).await;
    assert_eq!(past.status, StatusCode::OK, "{}", past.body);
    let was = &past.body["items"][0];
    assert_eq!((was["status"].as_str(), was["remaining_hours"].as_f64()), (Some("open"), Some(3.0)), "{was}");
    let future =
        (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(
        app.get(&format!("/api/v1/aircraft/{id}/directives?as_of={future}")).await.problem_fields(),
        ["as_of"]
    );
    let ad = directives(app, &id, &flown.body["position"]).await.remove(0);
    assert_eq!(ad["remaining_hours"].as_f64(), Some(98.0), "remaining follows the flights");

    // The fleet due list: within 10 days only the date counts (30 days left); within 100 hours it is listed.
    let at = flown.body["position"].clone();
    let listed = |reply: Reply| -> Vec<String> {
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["number"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(
        listed(app.get(&format!("/api/v1/directives/due?within_days=10&min_position={at}")).await).is_empty()
    );
    assert_eq!(listed(app.get("/api/v1/directives/due?within_hours=100").await), [AD]);
    assert_eq!(listed(app.get("/api/v1/directives/due?within_days=30").await), [AD]);
    assert_eq!(
        listed(app.get("/api/v1/directives/due").await),
        [AD],
        "the default window is the warning window"
    );

    // Insights and recommendations name it, with the command to run.
    let insights = app.get("/api/v1/knowledge/insights").await;
    let insight = insights.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "directive_due_soon")
        .unwrap_or_else(|| panic!("no directive insight: {}", insights.body))
        .clone();
    assert_eq!(
        (insight["subject"].as_str(), insight["severity"].as_str()),
        (Some("RA-89301"), Some("warning"))
    );
    assert!(insight["reason"].as_str().unwrap().contains(AD), "{insight}");
    let recommendations = app.get("/api/v1/recommendations").await;
    assert!(
        recommendations.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["command"] == format!("POST /api/v1/aircraft/{id}/directives/compliance")),
        "{}",
        recommendations.body
    );

    // Search finds it by number, by work order and by the aircraft.
    for q in [AD, "WO-2026-0142", "ra-89301 0123"] {
        let found = app.get(&format!("/api/v1/search?q={}", urlencoding(q))).await;
        assert!(
            found.body["hits"].as_array().unwrap().iter().any(|h| h["kind"] == "directive"
                && h["title"] == AD
                && h["link"] == format!("/api/v1/aircraft/{id}/directives")),
            "{q}: {}",
            found.body
        );
    }

    // The AD status as CSV for an audit.
    let client = klg_tests::admin_client();
    let mut response = client
        .get(app.url(&format!("/api/v1/aircraft/{id}/directives")))
        .insert_header(("Accept", "text/csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers().get("content-type").unwrap().to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    let csv = String::from_utf8(response.body().await.unwrap().to_vec()).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[0].starts_with("registration_number,number,revision,applicable"), "{csv}");
    assert!(
        lines[1].starts_with(&format!("RA-89301,{AD},R1,true,,recurring,inspection,{}", today())),
        "{csv}"
    );
    assert!(lines[1].contains(",\"I. Petrov, B1 licence 0042\",WO-2026-0142,30,100,"), "{csv}");

    // The history tells an auditor what happened.
    let history = app.get(&format!("/api/v1/aircraft/{id}/history?limit=200")).await;
    let summaries: Vec<&str> =
        history.body["items"].as_array().unwrap().iter().filter_map(|h| h["summary"].as_str()).collect();
    assert!(
        summaries.contains(&format!("Directive {AD} rev. R1 applies; next due 7:00 FH").as_str()),
        "{summaries:?}"
    );
    assert!(
        summaries
            .iter()
            .any(|s| s.starts_with(&format!("Directive {AD} complied with by inspection on {}", today()))),
        "{summaries:?}"
    );
}

async fn a_directive_due_at_once_grounds_flights_until_a_terminating_action_closes_it(app: &TestApp) {
    let id = app.certified_aircraft("RA-89302").await;
    assert_eq!(fly(app, &id, 1.5).await.status, StatusCode::OK);
    let document = directive_document(app, &id).await;
    let assessment = json!({"document_id": document, "number": AD, "applicable": true});
    let reply = app.post_json(&format!("/api/v1/aircraft/{id}/directives"), &assessment).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let ad = directives(app, &id, &reply.body["position"]).await.remove(0);
    assert_eq!((ad["due_state"].as_str(), ad["remaining_hours"].as_f64()), (Some("overdue"), Some(0.0)));
    let due = app
        .get(&format!("/api/v1/directives/due?within_days=0&min_position={}", reply.body["position"]))
        .await;
    assert_eq!(due.body["items"][0]["due_state"], "overdue", "{}", due.body);
    let insights = app.get("/api/v1/knowledge/insights").await;
    assert!(
        insights.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["kind"] == "directive_overdue" && i["severity"] == "critical"),
        "{}",
        insights.body
    );
    fly(app, &id, 1.0).await.assert_problem(409);

    let terminating = json!({"number": AD, "method": "terminating_action", "done_on": today(), "hours_at": 1.5,
                             "cycles_at": 1, "performed_by": "A. Sidorova", "work_order": "WO-7"});
    let reply = app.post_json(&format!("/api/v1/aircraft/{id}/directives/compliance"), &terminating).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let ad = directives(app, &id, &reply.body["position"]).await.remove(0);
    assert_eq!((ad["status"].as_str(), ad["due_state"].clone()), (Some("complied"), Value::Null));
    assert_eq!(fly(app, &id, 1.0).await.status, StatusCode::OK);
    let closed = app.post_json(&format!("/api/v1/aircraft/{id}/directives/compliance"), &terminating).await;
    assert_eq!(closed.assert_problem(409)["errors"][0]["field"], "number");
}

#[actix_rt::test]
async fn bad_directive_input_gets_a_problem_naming_the_field_and_stores_nothing() {
    let app = spawn_app().await;
    let id = app.certified_aircraft("RA-89303").await;
    assert_eq!(fly(&app, &id, 2.0).await.status, StatusCode::OK);
    let document = directive_document(&app, &id).await;
    let unclassified = app.upload_document().await;
    let other = app.certified_aircraft("RA-89304").await;
    let elsewhere = directive_document(&app, &other).await;
    let before = app.event_count().await;
    let assess = |body: Value| {
        let app = &app;
        let path = format!("/api/v1/aircraft/{id}/directives");
        async move { app.post_json(&path, &body).await }
    };
    let invalid = [
        (json!({"document_id": document, "number": AD, "applicable": false}), "reason"),
        (json!({"document_id": document, "number": AD, "applicable": true, "reason": "x"}), "reason"),
        (
            json!({"document_id": document, "number": AD, "applicable": false, "reason": "n/a", "comply_within": {"days": 5}}),
            "comply_within",
        ),
        (
            json!({"document_id": document, "number": AD, "applicable": true, "comply_within": {}}),
            "comply_within.days",
        ),
        (
            json!({"document_id": document, "number": AD, "applicable": true, "comply_within": {"cycles": 0}}),
            "comply_within.cycles",
        ),
        (json!({"document_id": document, "number": " ", "applicable": true}), "number"),
        (json!({"document_id": "not-a-uuid", "number": AD, "applicable": true}), "document_id"),
        (json!({"document_id": document, "number": AD, "applicable": true, "colour": "red"}), "colour"),
        (json!({"document_id": uuid::Uuid::new_v4(), "number": AD, "applicable": true}), "document_id"),
    ];
    for (body, field) in invalid {
        let reply = assess(body.clone()).await;
        reply.assert_problem(422);
        assert_eq!(reply.problem_fields(), [field], "{body}: {}", reply.body);
    }
    for (document, code) in [(&unclassified, "document-not-a-directive"), (&elsewhere, "document-not-linked")]
    {
        let reply = assess(json!({"document_id": document, "number": AD, "applicable": true})).await;
        assert_eq!(reply.assert_problem(409)["type"], format!("urn:klg:problem:{code}"));
        assert_eq!(reply.body["errors"][0]["field"], "document_id");
    }

    let comply = |patch: Value| {
        let app = &app;
        let path = format!("/api/v1/aircraft/{id}/directives/compliance");
        let mut body = json!({"number": AD, "method": "inspection", "done_on": today(), "hours_at": 1.0,
                              "cycles_at": 1, "performed_by": "I. Petrov", "work_order": "WO-1"});
        body.as_object_mut().unwrap().extend(patch.as_object().unwrap().clone());
        async move { app.post_json(&path, &body).await }
    };
    let unknown = comply(json!({})).await;
    assert_eq!(unknown.assert_problem(409)["type"], "urn:klg:problem:directive-unknown");
    assert_eq!(unknown.body["errors"][0]["field"], "number");
    let reply = assess(
        json!({"document_id": document, "number": AD, "applicable": true, "comply_within": {"days": 90}}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let before = before + 1;
    let tomorrow_but_one = today() + chrono::Days::new(2);
    let invalid = [
        (json!({"hours_at": -1.0}), "hours_at"),
        (json!({"hours_at": 2.5}), "hours_at"),
        (json!({"cycles_at": 2}), "cycles_at"),
        (json!({"done_on": tomorrow_but_one}), "done_on"),
        (json!({"done_on": "2026-13-01"}), "done_on"),
        (json!({"method": "magic"}), "method"),
        (json!({"method": "terminating_action", "interval": {"days": 30}}), "interval"),
        (json!({"interval": {"hours": 0}}), "interval.hours"),
        (json!({"performed_by": ""}), "performed_by"),
        (json!({"work_order": "\u{7}"}), "work_order"),
    ];
    for (patch, field) in invalid {
        let reply = comply(patch.clone()).await;
        reply.assert_problem(422);
        assert_eq!(reply.problem_fields(), [field], "{patch}: {}", reply.body);
    }
    assert_eq!(app.event_count().await, before, "refusals store nothing");

    for query in ["within_days=-1", "within_hours=abc", "within_cycles=40000", "colour=red"] {
        let reply = app.get(&format!("/api/v1/directives/due?{query}")).await;
        reply.assert_problem(422);
    }
    app.get(&format!("/api/v1/aircraft/{}/directives", uuid::Uuid::new_v4())).await.assert_problem(404);
    app.get("/api/v1/aircraft/not-an-id/directives").await.assert_problem(404);
}
