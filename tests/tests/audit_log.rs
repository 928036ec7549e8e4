//! The audit log over HTTP and the CLI: the stored events filtered by stream, registration
//! (every airframe that carried it), document, event type, actor, correlation id and time; cursor
//! pages; CSV for spreadsheets; auditors only.

use awc::http::StatusCode;
use klg_tests::{client_with_token, read, spawn_app, Part, TestApp};
use serde_json::{json, Value};

async fn issue(app: &TestApp, name: &str, role: &str) -> awc::Client {
    let reply = app.post_json("/api/v1/admin/tokens", &json!({ "name": name, "role": role })).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    client_with_token(reply.body["token"].as_str().unwrap())
}

async fn log(app: &TestApp, query: &str) -> Vec<Value> {
    let reply = app.get(&format!("/api/v1/audit/events?{query}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.body);
    reply.body["items"].as_array().unwrap().clone()
}

fn field<'a>(items: &'a [Value], name: &str) -> Vec<&'a str> {
    items.iter().map(|e| e[name].as_str().unwrap_or("")).collect()
}

#[actix_rt::test]
async fn auditors_filter_page_and_export_the_log() {
    let app = spawn_app().await;
    let engineer = issue(&app, "eng.kuznetsova", "engineer").await;
    let old = app.certified_aircraft("RA-89701").await;
    // The first airframe leaves the register; the number goes to another one.
    assert_eq!(app.delete(&format!("/api/v1/aircraft/{old}?reason=sold")).await.status, StatusCode::OK);
    let registered = read(
        engineer
            .post(app.url("/api/v1/aircraft"))
            .insert_header(("X-Correlation-Id", "wo-4471"))
            .send_json(&klg_tests::aircraft_body("RA-89701"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(registered.status, StatusCode::CREATED, "{}", registered.body);
    let new = registered.body["id"].as_str().unwrap().to_owned();
    let upload = app.upload(&[Part::file("SB-32-114.pdf", "application/pdf", b"%PDF-1.7 bulletin")]).await;
    let document = upload.body["id"].as_str().unwrap().to_owned();

    let all = log(&app, "").await;
    assert_eq!(all.len() as i64, app.event_count().await);
    let positions: Vec<i64> = all.iter().map(|e| e["global_position"].as_i64().unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "oldest first");
    assert!(all.iter().all(|e| e["hash"].as_str().is_some_and(|h| h.len() == 64)));

    let by_number = log(&app, "registration=ra-89701").await;
    let ids: std::collections::BTreeSet<&str> = field(&by_number, "aggregate_id").into_iter().collect();
    assert_eq!(
        ids,
        [old.as_str(), new.as_str()].into_iter().collect(),
        "both airframes that carried the number"
    );
    assert_eq!(field(&log(&app, &format!("document={document}")).await, "event_type"), ["FileReceived"]);
    assert_eq!(field(&log(&app, "actor=eng.kuznetsova").await, "aggregate_id"), [new.as_str()]);
    assert_eq!(field(&log(&app, "correlation_id=wo-4471").await, "actor"), ["eng.kuznetsova"]);
    assert_eq!(log(&app, "event_type=AircraftDecommissioned&aggregate_type=Aircraft").await.len(), 1);
    assert!(log(&app, "from=2999-01-01T00:00:00Z").await.is_empty());
    assert_eq!(log(&app, &format!("aggregate_id={old}&to=2999-01-01T00:00:00Z")).await.len(), 3);

    // Cursor pages cover the log once.
    let first = app.get("/api/v1/audit/events?limit=2").await;
    let cursor = first.body["next_cursor"].as_i64().expect("more pages");
    let rest = log(&app, &format!("cursor={cursor}&limit=200")).await;
    assert_eq!(first.body["items"].as_array().unwrap().len() + rest.len(), all.len());
    assert_eq!(rest[0]["global_position"], all[2]["global_position"]);

    let csv = app
        .client
        .get(app.url("/api/v1/audit/events?aggregate_type=Aircraft"))
        .insert_header(("Accept", "text/csv"))
        .send()
        .await;
    let mut csv = csv.unwrap();
    assert_eq!(csv.headers().get("content-type").unwrap(), "text/csv; charset=utf-8");
    let text = String::from_utf8(csv.body().await.unwrap().to_vec()).unwrap();
    let lines: Vec<&str> = text.trim_end().split("\r\n").collect();
    assert!(lines[0].starts_with("global_position,recorded_at,aggregate_type"));
    assert_eq!(lines.len() - 1, log(&app, "aggregate_type=Aircraft").await.len());

    assert_eq!(app.get("/api/v1/audit/events?limit=0").await.problem_fields(), ["limit"]);
    assert_eq!(
        app.get("/api/v1/audit/events?aggregate_type=Plane").await.problem_fields(),
        ["aggregate_type"]
    );
    let viewer = issue(&app, "viewer.ops", "viewer").await;
    assert_eq!(
        read(viewer.get(app.url("/api/v1/audit/events")).send().await.unwrap()).await.status,
        StatusCode::FORBIDDEN
    );

    let url = format!("{}/{}", klg_tests::postgres_server_url(), current_database(&app).await);
    let output = std::process::Command::new(klg_tests::process::klg_binary())
        .args(["audit", "log", "--registration", "RA-89701", "--format", "csv"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8(output.stdout).unwrap().lines().count(), 1 + by_number.len());
}

async fn current_database(app: &TestApp) -> String {
    sqlx::query_scalar("SELECT current_database()").fetch_one(&app.pool).await.unwrap()
}

#[actix_rt::test]
async fn a_records_timeline_says_who_changed_what_from_what_to_what() {
    let app = spawn_app().await;
    let engineer = issue(&app, "eng.morozov", "engineer").await;
    let aircraft = app.certified_aircraft("RA-89702").await;
    let status = json!({"status": "in_maintenance", "reason": "C-check"});
    let changed = read(
        engineer
            .post(app.url(&format!("/api/v1/aircraft/{aircraft}/status")))
            .insert_header(("X-Correlation-Id", "wo-5520"))
            .send_json(&status)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    let flight = json!({"flight_date": "2024-05-01", "block_hours": 1.5, "cycles": 1});
    assert_eq!(
        app.post_json(&format!("/api/v1/aircraft/{aircraft}/flights"), &flight).await.status,
        StatusCode::OK
    );

    let reply = app.get(&format!("/api/v1/aircraft/{aircraft}/timeline")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let items = reply.body["items"].as_array().unwrap();
    assert_eq!(
        field(items, "event_type"),
        ["AircraftRegistered", "AirworthinessCertificateIssued", "AircraftStatusChanged", "FlightLogged"]
    );
    let change = &items[2];
    assert_eq!(
        (change["actor"].as_str(), change["correlation_id"].as_str()),
        (Some("eng.morozov"), Some("wo-5520"))
    );
    assert!(change["summary"].as_str().unwrap().contains("status: active → in_maintenance"), "{change}");
    let flown = items[3]["changes"].as_array().unwrap();
    assert!(flown.contains(&json!({"field": "total_block_minutes", "old": 0, "new": 90})), "{flown:?}");
    assert!(flown.contains(&json!({"field": "total_cycles", "old": 0, "new": 1})), "{flown:?}");
    assert!(
        items[0]["summary"].as_str().unwrap().contains("registration_number: – → RA-89702"),
        "{}",
        items[0]
    );

    let upload = app.upload(&[Part::file("AD-2026-11.pdf", "application/pdf", b"%PDF-1.7 directive")]).await;
    let document = upload.body["id"].as_str().unwrap().to_owned();
    let classified = app
        .post_json(
            &format!("/api/inbox/files/{document}/classify"),
            &json!({"document_type": "airworthiness_directive"}),
        )
        .await;
    assert_eq!(classified.status, StatusCode::OK, "{}", classified.body);
    let doc = app.get(&format!("/api/inbox/files/{document}/timeline")).await;
    let summary = doc.body["items"][1]["summary"].as_str().unwrap().to_owned();
    assert!(summary.contains("airworthiness_directive"), "{summary}");

    app.get(&format!("/api/v1/aircraft/{}/timeline", uuid::Uuid::new_v4())).await.assert_problem(404);
    let viewer = issue(&app, "viewer.line", "viewer").await;
    let refused =
        read(viewer.get(app.url(&format!("/api/v1/aircraft/{aircraft}/timeline"))).send().await.unwrap())
            .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let url = format!("{}/{}", klg_tests::postgres_server_url(), current_database(&app).await);
    let output = std::process::Command::new(klg_tests::process::klg_binary())
        .args(["audit", "show", "ra-89702"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed = String::from_utf8(output.stdout).unwrap();
    assert!(
        printed.contains(&aircraft)
            && printed.contains("by eng.morozov")
            && printed.contains("status: active → in_maintenance"),
        "{printed}"
    );
}

/// One recorded read: the path, and the status and body it answered at `at`.
struct Recording {
    path: String,
    at: chrono::DateTime<chrono::Utc>,
    status: StatusCode,
    body: Value,
}

/// Reads `paths` once the projections hold every event so far, and notes the instant after.
async fn record(app: &TestApp, paths: &[String], into: &mut Vec<Recording>) {
    klg_tests::wait_for_projections(&app.pool).await;
    let mut replies = Vec::new();
    for path in paths {
        let reply = app.get(path).await;
        replies.push((path.clone(), reply.status, reply.body));
    }
    let at = chrono::Utc::now();
    into.extend(replies.into_iter().map(|(path, status, body)| Recording { path, at, status, body }));
}

fn with_as_of(path: &str, at: chrono::DateTime<chrono::Utc>) -> String {
    let separator = if path.contains('?') { '&' } else { '?' };
    let instant = at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    format!("{path}{separator}as_of={}", instant.replace('+', "%2B"))
}

#[actix_rt::test]
async fn as_of_any_recorded_instant_the_api_answers_what_it_answered_then() {
    let app = spawn_app().await;
    let first = app.register_aircraft("RA-89711").await;
    let document = app.upload_document().await;
    let paths = |second: &str| {
        vec![
            format!("/api/v1/aircraft/{first}"),
            format!("/api/v1/aircraft/{second}"),
            "/api/v1/aircraft?sort=-total_block_hours&limit=5".to_owned(),
            "/api/v1/aircraft?status=active".to_owned(),
            format!("/api/inbox/files/{document}"),
        ]
    };
    let mut recordings = Vec::new();
    // Before the second airframe exists: its id is fixed by the register command, so the
    // recording of "not found" uses an id nobody has.
    record(&app, &paths(&uuid::Uuid::new_v4().to_string()), &mut recordings).await;
    let certificate = json!({"number": "CA-7", "issued_on": "2024-01-01", "valid_until": "2030-12-31"});
    let steps: Vec<(String, Value)> = vec![
        (format!("/api/v1/aircraft/{first}/certificates"), certificate),
        (
            format!("/api/v1/aircraft/{first}/flights"),
            json!({"flight_date": "2026-01-10", "block_hours": 2.5, "cycles": 1}),
        ),
        (
            format!("/api/inbox/files/{document}/classify"),
            json!({"document_type": "airworthiness_directive"}),
        ),
        (format!("/api/inbox/files/{document}/link"), json!({"aircraft_id": first})),
        (
            format!("/api/v1/aircraft/{first}/status"),
            json!({"status": "in_maintenance", "reason": "AD 2026-0042"}),
        ),
        (
            format!("/api/v1/aircraft/{first}/flights"),
            json!({"flight_date": "2026-01-11", "block_hours": 1.0, "cycles": 2}),
        ),
    ];
    let second = app.register_aircraft("RA-89712").await;
    record(&app, &paths(&second), &mut recordings).await;
    for (path, body) in &steps {
        let reply = app.post_json(path, body).await;
        assert!(reply.status.is_success(), "{path}: {}", reply.body);
        record(&app, &paths(&second), &mut recordings).await;
    }
    assert_eq!(app.delete(&format!("/api/v1/aircraft/{second}?reason=sold")).await.status, StatusCode::OK);
    record(&app, &paths(&second), &mut recordings).await;

    for recorded in &recordings {
        let then = app.get(&with_as_of(&recorded.path, recorded.at)).await;
        assert_eq!(then.status, recorded.status, "{} as of {}: {}", recorded.path, recorded.at, then.body);
        assert_eq!(then.body, recorded.body, "{} as of {}", recorded.path, recorded.at);
    }
    // The record changed between the first and the last recording, so the comparison above
    // compared different states, not one state many times.
    let states: std::collections::BTreeSet<String> =
        recordings.iter().filter(|r| r.path.ends_with(&first)).map(|r| r.body.to_string()).collect();
    assert_eq!(states.len(), 1 + steps.len() - 2, "one state per step of the first airframe");

    let future =
        with_as_of(&format!("/api/v1/aircraft/{first}"), chrono::Utc::now() + chrono::Duration::hours(1));
    assert_eq!(app.get(&future).await.problem_fields(), ["as_of"]);
    assert_eq!(
        app.get(&format!("/api/v1/aircraft/{first}?as_of=yesterday")).await.problem_fields(),
        ["as_of"]
    );
    assert_eq!(app.get("/api/v1/aircraft?as_of=2026-13-01T00:00:00Z").await.problem_fields(), ["as_of"]);

    // The CLI folds the same state.
    let before_maintenance = recordings
        .iter()
        .find(|r| r.path.ends_with(&first) && r.body["status"] == "active" && r.body["flight_count"] == 1)
        .expect("recorded between the first flight and the maintenance");
    let url = format!("{}/{}", klg_tests::postgres_server_url(), current_database(&app).await);
    let instant = before_maintenance.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let output = std::process::Command::new(klg_tests::process::klg_binary())
        .args(["audit", "state", "RA-89711", "--as-of", &instant])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed, before_maintenance.body);
}
