//! End-to-end: every read endpoint with its bad-input cases — served from the embedded
//! projections, and again from the RisingWave relations (on the PostgreSQL stand-in fed by the
//! real mirror through a real broker).

use std::collections::HashSet;

use awc::http::StatusCode;
use chrono::{Days, Utc};
use klg_tests::{aircraft_body, sha256_hex, spawn_app, Part, TestApp};
use serde_json::{json, Value};

/// Registers an aircraft with a type and operator; returns (id, position).
async fn register(app: &TestApp, registration: &str, aircraft_type: &str, operator: &str) -> (String, i64) {
    let mut body = aircraft_body(registration);
    body["aircraft_type"] = json!(aircraft_type);
    body["operator"] = json!(operator);
    let reply = app.post_json("/api/v1/aircraft", &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    (reply.body["id"].as_str().unwrap().to_owned(), reply.body["position"].as_i64().unwrap())
}

fn ids(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

fn registrations(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["registration_number"].as_str().unwrap().to_owned())
        .collect()
}

async fn the_aircraft_list_filters_sorts_and_pages_with_cursors(app: &TestApp) {
    let mut last = 0;
    for (reg, t, op) in [
        ("RA-89001", "SU95", "Aeroflot"),
        ("RA-89002", "SU95", "Rossiya"),
        ("VP-BAA", "A320", "Aeroflot"),
        ("N123AB", "B738", "Nordwind"),
        ("RA-73001", "A320", "S7"),
    ] {
        last = register(&app, reg, t, op).await.1;
    }
    let (grounded, _) = register(&app, "RA-12345", "SU95", "Aeroflot").await;
    let reply = app
        .post_json(
            &format!("/api/v1/aircraft/{grounded}/status"),
            &json!({"status": "grounded", "reason": "AOG"}),
        )
        .await;
    let position = reply.body["position"].as_i64().unwrap();
    assert!(position > last);

    let all = app.get(&format!("/api/v1/aircraft?min_position={position}")).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_eq!(
        registrations(&all.body),
        ["N123AB", "RA-12345", "RA-73001", "RA-89001", "RA-89002", "VP-BAA"]
    );
    assert_eq!(all.body["next_cursor"], Value::Null);

    let filtered = |query: &str| {
        let app = &app;
        let query = query.to_owned();
        async move { registrations(&app.get(&format!("/api/v1/aircraft?{query}")).await.body) }
    };
    assert_eq!(filtered("status=grounded").await, ["RA-12345"]);
    assert_eq!(filtered("type=a320").await, ["RA-73001", "VP-BAA"]);
    assert_eq!(filtered("operator=aeroflot&type=SU95").await, ["RA-12345", "RA-89001"]);
    assert_eq!(filtered("q=890").await, ["RA-89001", "RA-89002"]);
    assert_eq!(filtered("q=50%25").await, Vec::<String>::new());
    assert_eq!(filtered("sort=-registration_number&limit=2").await, ["VP-BAA", "RA-89002"]);

    for sort in
        ["registration_number", "-registration_number", "updated_at", "-registered_at", "total_block_hours"]
    {
        let mut seen = vec![];
        let mut cursor: Option<String> = None;
        loop {
            let query = match &cursor {
                Some(c) => format!("sort={sort}&limit=2&cursor={c}"),
                None => format!("sort={sort}&limit=2"),
            };
            let page = app.get(&format!("/api/v1/aircraft?{query}")).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.body);
            seen.extend(ids(&page.body));
            match page.body["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        assert_eq!(seen.len(), 6, "{sort}");
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 6, "{sort}: a row came twice");
    }
    let first = app.get("/api/v1/aircraft?limit=2").await;
    let cursor = first.body["next_cursor"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/api/v1/aircraft?sort=updated_at&cursor={cursor}")).await.problem_fields(),
        ["cursor"]
    );
    for (query, field) in [
        ("status=flying", "status"),
        ("sort=colour", "sort"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=ten", "limit"),
        ("cursor=not-a-cursor", "cursor"),
        ("colour=red", "colour"),
        ("min_position=999999", "min_position"),
    ] {
        assert_eq!(app.get(&format!("/api/v1/aircraft?{query}")).await.problem_fields(), [field], "{query}");
    }
}

async fn one_aircraft_has_an_etag_a_history_and_reflects_the_callers_own_writes(app: &TestApp) {
    let id = app.certified_aircraft("RA-89201").await;
    for i in 1..=10 {
        let flight = json!({"flight_date": "2024-05-01", "block_hours": 1.5, "cycles": 1});
        let reply = app.post_json(&format!("/api/v1/aircraft/{id}/flights"), &flight).await;
        let position = reply.body["position"].as_i64().unwrap();
        let read = app.get(&format!("/api/v1/aircraft/{id}?min_position={position}")).await;
        assert_eq!(read.body["flight_count"], i, "read-your-writes after flight {i}");
        assert_eq!(read.header("etag"), Some(format!("\"{}\"", i + 2).as_str()));
    }
    let view = app.get(&format!("/api/v1/aircraft/{id}")).await;
    assert_eq!(
        (view.body["total_block_minutes"].as_i64(), view.body["total_block_hours"].as_f64()),
        (Some(900), Some(15.0))
    );
    assert_eq!(view.body["certificate_status"], "valid");
    let etag = view.header("etag").unwrap().to_owned();
    let request =
        app.client.get(app.url(&format!("/api/v1/aircraft/{id}"))).insert_header(("If-None-Match", etag));
    assert_eq!(request.send().await.unwrap().status(), StatusCode::NOT_MODIFIED);

    let page = app.get(&format!("/api/v1/aircraft/{id}/history?limit=5")).await;
    let entries = page.body["items"].as_array().unwrap();
    assert_eq!(entries.len(), 5);
    assert_eq!(entries[0]["event_type"], "AircraftRegistered");
    assert_eq!(entries[0]["actor"], "bootstrap-admin");
    assert!(entries[0]["summary"].as_str().unwrap().starts_with("Registered RA-89201"));
    assert_eq!(entries[1]["summary"], "Certificate CA-1 issued, valid 2020-01-01 to 2030-12-31");
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let rest = app.get(&format!("/api/v1/aircraft/{id}/history?limit=50&cursor={cursor}")).await;
    let sequences: Vec<i64> =
        rest.body["items"].as_array().unwrap().iter().map(|e| e["sequence"].as_i64().unwrap()).collect();
    assert_eq!(sequences, (6..=12).collect::<Vec<_>>());

    let unknown = uuid::Uuid::new_v4();
    app.get(&format!("/api/v1/aircraft/{unknown}")).await.assert_problem(404);
    app.get(&format!("/api/v1/aircraft/{unknown}/history")).await.assert_problem(404);
    app.get("/api/v1/aircraft/RA-89201").await.assert_problem(404);
    assert_eq!(
        app.get(&format!("/api/v1/aircraft/{id}?min_position=-1")).await.problem_fields(),
        ["min_position"]
    );
}

async fn the_inbox_lists_newest_first_with_filters_and_streams_content_safely(app: &TestApp) {
    let (aircraft, _) = register(&app, "RA-89202", "SU95", "Aeroflot").await;
    let mut documents = vec![];
    for name in ["first.pdf", "second.pdf", "отчёт \"final\".pdf"] {
        let data = format!("content of {name}");
        let reply = app.upload(&[Part::file(name, "application/pdf", data.as_bytes())]).await;
        documents.push(reply.body["id"].as_str().unwrap().to_owned());
    }
    let classify = json!({"document_type": "work_order"});
    app.post_json(&format!("/api/inbox/files/{}/classify", documents[0]), &classify).await;
    let link = app
        .post_json(&format!("/api/inbox/files/{}/link", documents[1]), &json!({"aircraft_id": aircraft}))
        .await;
    let position = link.body["position"].as_i64().unwrap();

    let all = app.get(&format!("/api/inbox/files?min_position={position}")).await;
    let mut newest_first = documents.clone();
    newest_first.reverse();
    assert_eq!(ids(&all.body), newest_first);
    assert_eq!(ids(&app.get("/api/inbox/files?status=classified").await.body), [documents[0].clone()]);
    assert_eq!(ids(&app.get("/api/inbox/files?document_type=work_order").await.body), [documents[0].clone()]);
    assert_eq!(
        ids(&app.get(&format!("/api/inbox/files?aircraft_id={aircraft}")).await.body),
        [documents[1].clone()]
    );
    let page = app.get("/api/inbox/files?limit=2").await;
    let next = page.body["next_cursor"].as_str().unwrap();
    assert_eq!(
        ids(&app.get(&format!("/api/inbox/files?limit=2&cursor={next}")).await.body),
        [documents[0].clone()]
    );
    for (query, field) in [
        ("status=lost", "status"),
        ("document_type=memo", "document_type"),
        ("aircraft_id=RA-1", "aircraft_id"),
    ] {
        assert_eq!(app.get(&format!("/api/inbox/files?{query}")).await.problem_fields(), [field], "{query}");
    }

    let one = app.get(&format!("/api/inbox/files/{}", documents[2])).await;
    assert_eq!(
        (one.body["filename"].as_str(), one.header("etag")),
        (Some("отчёт \"final\".pdf"), Some("\"1\""))
    );
    let mut response =
        app.client.get(app.url(&format!("/api/inbox/files/{}/content", documents[2]))).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let header = |name: &str| response.headers().get(name).unwrap().to_str().unwrap().to_owned();
    let data = "content of отчёт \"final\".pdf";
    assert_eq!(header("content-type"), "application/pdf");
    assert_eq!(header("x-checksum-sha256"), sha256_hex(data.as_bytes()));
    assert_eq!(header("x-content-type-options"), "nosniff");
    let disposition = header("content-disposition");
    assert!(
        disposition.starts_with("attachment; filename=\"_____ _final_.pdf\"; filename*=UTF-8''"),
        "{disposition}"
    );
    assert!(!disposition.contains('\n') && disposition.matches('"').count() == 2, "{disposition}");
    assert_eq!(response.body().await.unwrap(), data.as_bytes());

    let unknown = uuid::Uuid::new_v4();
    app.get(&format!("/api/inbox/files/{unknown}")).await.assert_problem(404);
    app.get(&format!("/api/inbox/files/{unknown}/content")).await.assert_problem(404);
}

async fn search_finds_aircraft_and_documents_by_word_prefixes_ranked(app: &TestApp) {
    register(&app, "RA-89203", "SU95", "Aeroflot").await;
    register(&app, "RA-73002", "A320", "Aeroflot").await;
    let upload =
        app.upload(&[Part::file("AD-2024-05 Superjet fuel pump.pdf", "application/pdf", b"x")]).await;
    let position = upload.body["position"].as_i64().unwrap();

    let hits = app.get(&format!("/api/v1/search?q=ra-892&min_position={position}")).await;
    assert_eq!(hits.status, StatusCode::OK, "{}", hits.body);
    let titles: Vec<&str> =
        hits.body["hits"].as_array().unwrap().iter().map(|h| h["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["RA-89203"]);
    let superjet = app.get("/api/v1/search?q=superjet").await;
    let kinds: Vec<&str> =
        superjet.body["hits"].as_array().unwrap().iter().map(|h| h["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.len(), 3, "{}", superjet.body);
    assert!(kinds.contains(&"aircraft") && kinds.contains(&"document"));
    let pump = app.get("/api/v1/search?q=fuel%20pump").await;
    let hit = &pump.body["hits"][0];
    assert_eq!(
        (hit["kind"].as_str(), hit["link"].as_str().map(|l| l.starts_with("/api/inbox/files/"))),
        (Some("document"), Some(true))
    );
    let ranked = app.get("/api/v1/search?q=aeroflot").await;
    let ranks: Vec<f64> =
        ranked.body["hits"].as_array().unwrap().iter().map(|h| h["rank"].as_f64().unwrap()).collect();
    assert!(ranks.len() == 2 && ranks.windows(2).all(|w| w[0] >= w[1]));
    assert_eq!(app.get("/api/v1/search?q=%21%21").await.problem_fields(), ["q"]);
    assert_eq!(app.get("/api/v1/search").await.problem_fields(), ["q"]);
    assert_eq!(app.get("/api/v1/search?q=ra&limit=0").await.problem_fields(), ["limit"]);
}

async fn insights_and_recommendations_say_why_and_link_their_subject(app: &TestApp) {
    let today = Utc::now().date_naive();
    let day = |offset: i64| {
        if offset >= 0 { today + Days::new(offset as u64) } else { today - Days::new((-offset) as u64) }
            .to_string()
    };
    let certify = |id: String, from: i64, to: i64| {
        let app = &app;
        let body = json!({"number": format!("CA-{from}"), "issued_on": day(from), "valid_until": day(to)});
        async move { app.post_json(&format!("/api/v1/aircraft/{id}/certificates"), &body).await }
    };
    let (expiring, _) = register(&app, "RA-89211", "SU95", "Aeroflot").await;
    certify(expiring.clone(), -300, 10).await;
    let (expired, _) = register(&app, "RA-89212", "SU95", "Aeroflot").await;
    certify(expired.clone(), -400, -5).await;
    let (healthy, _) = register(&app, "RA-89213", "SU95", "Aeroflot").await;
    certify(healthy.clone(), -10, 300).await;
    let (missing, _) = register(&app, "RA-89214", "SU95", "Aeroflot").await;
    let grounding = json!({"status": "grounded", "reason": "engine borescope findings"});
    app.post_json(&format!("/api/v1/aircraft/{healthy}/status"), &grounding).await;
    let retired = app.register_aircraft("RA-89215").await;
    let unclassified = app.upload_document().await;
    let unprocessed = app.upload_document().await;
    app.post_json(
        &format!("/api/inbox/files/{unprocessed}/classify"),
        &json!({"document_type": "service_bulletin"}),
    )
    .await;
    let orphaned = app.upload_document().await;
    app.post_json(&format!("/api/inbox/files/{orphaned}/link"), &json!({"aircraft_id": retired})).await;
    let last = app.delete(&format!("/api/v1/aircraft/{retired}")).await;
    let position = last.body["position"].as_i64().unwrap();

    let now = app.get(&format!("/api/v1/knowledge/insights?min_position={position}")).await;
    assert_eq!(now.status, StatusCode::OK, "{}", now.body);
    let kinds = |body: &Value| -> Vec<(String, String)> {
        let mut k: Vec<_> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| (i["kind"].as_str().unwrap().to_owned(), i["subject_id"].as_str().unwrap().to_owned()))
            .collect();
        k.sort();
        k
    };
    let mut expected = vec![
        ("certificate_expired".to_owned(), expired.clone()),
        ("certificate_expiring".to_owned(), expiring.clone()),
        ("certificate_missing".to_owned(), missing.clone()),
        ("document_linked_to_decommissioned".to_owned(), orphaned.clone()),
    ];
    expected.sort();
    assert_eq!(kinds(&now.body), expected);
    for item in now.body["items"].as_array().unwrap() {
        assert!(item["reason"].as_str().is_some_and(|r| r.len() > 10), "{item}");
        assert!(item["link"].as_str().unwrap().ends_with(item["subject_id"].as_str().unwrap()), "{item}");
    }
    assert_eq!(now.body["items"][0]["severity"], "critical");

    let later = (Utc::now() + chrono::Duration::days(9)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let future = app.get(&format!("/api/v1/knowledge/insights?as_of={later}&grounded_days=7")).await;
    let kinds_later = kinds(&future.body);
    for (kind, id) in [
        ("grounded_long", &healthy),
        ("document_unclassified", &unclassified),
        ("document_unprocessed", &unprocessed),
    ] {
        assert!(kinds_later.contains(&(kind.to_owned(), id.clone())), "{kind} missing: {kinds_later:?}");
    }

    let recommendations = app.get(&format!("/api/v1/recommendations?as_of={later}")).await;
    let items = recommendations.body["items"].as_array().unwrap();
    assert_eq!(items.len(), kinds_later.len());
    let priorities: Vec<i64> = items.iter().map(|r| r["priority"].as_i64().unwrap()).collect();
    assert!(priorities.windows(2).all(|w| w[0] <= w[1]), "{priorities:?}");
    let classify = items.iter().find(|r| r["insight"]["subject_id"] == json!(unclassified)).unwrap();
    assert_eq!(classify["command"], format!("POST /api/inbox/files/{unclassified}/classify"));

    assert_eq!(app.get("/api/v1/knowledge/insights?as_of=yesterday").await.problem_fields(), ["as_of"]);
    assert_eq!(app.get("/api/v1/recommendations?grounded_days=-1").await.problem_fields(), ["grounded_days"]);
}

#[actix_rt::test]
async fn client_error_reports_are_validated_stored_listed_and_rate_limited() {
    let app = spawn_app().await;
    let report = json!({"message": "TypeError: x is undefined", "level": "error", "url": "/aircraft/1",
                        "stack": "at render (app.js:1:1)", "context": {"build": "1.2.3"}});
    let reply = app.post_json("/api/v1/log-error", &report).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    let listed = app.get("/api/v1/admin/client-errors").await;
    let item = &listed.body["items"][0];
    assert_eq!(
        (item["message"].as_str(), item["context"]["build"].as_str()),
        (Some("TypeError: x is undefined"), Some("1.2.3"))
    );
    assert_eq!(item["client"], "127.0.0.1");

    for (body, field) in [
        (json!({"message": ""}), "message"),
        (json!({"message": "x".repeat(2001)}), "message"),
        (json!({"message": "x", "level": "fatal"}), "level"),
        (json!({"message": "x", "stack": "s".repeat(16_001)}), "stack"),
        (json!({"message": "x", "context": {"blob": "b".repeat(5000)}}), "context"),
        (json!({"message": "x", "context": [1, 2]}), "context"),
        (json!({"message": "x", "cookie": "secret"}), "cookie"),
    ] {
        assert_eq!(app.post_json("/api/v1/log-error", &body).await.problem_fields(), [field]);
    }
    let huge = json!({"message": "x", "stack": "s".repeat(70_000)});
    app.post_json("/api/v1/log-error", &huge).await.assert_problem(413);
    // 30 reports a minute per client: one stored above, 7 refused by validation count too.
    let mut statuses = vec![];
    for _ in 0..30 {
        statuses.push(app.post_json("/api/v1/log-error", &json!({"message": "again"})).await);
    }
    let limited = statuses.iter().find(|r| r.status == StatusCode::TOO_MANY_REQUESTS).expect("rate limited");
    limited.assert_problem(429);
    assert!(limited.header("retry-after").is_some());
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM client_error_reports").fetch_one(&app.pool).await.unwrap();
    assert!(stored < 31, "{stored} reports stored past the limit");
    assert_eq!(app.get("/api/v1/admin/client-errors?limit=500").await.problem_fields(), ["limit"]);
}

async fn streaming_views_come_from_a_fixed_catalogue_with_typed_filters(app: &TestApp) {
    let (id, _) = register(&app, "RA-89221", "SU95", "Aeroflot").await;
    register(&app, "RA-89222", "SU95", "Aeroflot").await;
    let reply = app
        .post_json(&format!("/api/v1/aircraft/{id}/status"), &json!({"status": "stored", "reason": "winter"}))
        .await;
    let position = reply.body["position"].as_i64().unwrap();

    let catalogue = app.get("/api/v1/streaming/views").await;
    assert!(catalogue.body["views"].as_array().unwrap().iter().any(|v| v["name"] == "aircraft_stats"));
    let view = app.get(&format!("/api/v1/streaming/views/aircraft_stats?min_position={position}")).await;
    assert_eq!(view.status, StatusCode::OK, "{}", view.body);
    assert_eq!(view.body["rows"].as_array().unwrap().len(), 2);
    let one = app.get("/api/v1/streaming/views/aircraft_stats?registration_number=RA-89221").await;
    let row = &one.body["rows"][0];
    assert_eq!(row["total_events"].as_i64(), Some(2));
    assert_eq!(row["aircraft_id"], id.as_str());
    assert!(row["last_event"].as_str().is_some_and(|t| t.starts_with("20")), "{row}");
    let by_id = app.get(&format!("/api/v1/streaming/views/aircraft_stats?aircraft_id={id}")).await;
    assert_eq!(by_id.body["rows"].as_array().map(Vec::len), Some(1), "{}", by_id.body);
    assert_eq!(by_id.body["rows"][0]["registration_number"], "RA-89221");
    let by_count = app.get("/api/v1/streaming/views/aircraft_stats?total_events=1").await;
    assert_eq!(by_count.body["rows"][0]["registration_number"], "RA-89222");
    let paged = app.get("/api/v1/streaming/views/aircraft_stats?limit=1&offset=1").await;
    assert_eq!(paged.body["rows"][0]["registration_number"], "RA-89222");
    let injected =
        app.get("/api/v1/streaming/views/aircraft_stats?registration_number=x%27%20OR%201%3D1--").await;
    assert_eq!(injected.body["rows"], json!([]));

    app.get("/api/v1/streaming/views/aircraft").await.assert_problem(404);
    app.get("/api/v1/streaming/views/aircraft_stats%3Bdrop%20table%20events").await.assert_problem(404);
    assert_eq!(
        app.get("/api/v1/streaming/views/aircraft_stats?colour=red").await.problem_fields(),
        ["colour"]
    );
    assert_eq!(
        app.get("/api/v1/streaming/views/aircraft_stats?total_events=many").await.problem_fields(),
        ["total_events"]
    );
    assert_eq!(
        app.get("/api/v1/streaming/views/aircraft_stats?last_event=today").await.problem_fields(),
        ["last_event"]
    );
    assert_eq!(
        app.get("/api/v1/streaming/views/aircraft_stats?limit=1000").await.problem_fields(),
        ["limit"]
    );
    assert_eq!(
        app.get("/api/v1/streaming/views/aircraft_stats?offset=-1").await.problem_fields(),
        ["offset"]
    );
}

/// A decommissioned aircraft's registration number passes to a new airframe: the statistics
/// keep one row per airframe (keyed by aircraft id), never one row merging the two.
async fn statistics_keep_two_airframes_sharing_a_registration_number_apart(app: &TestApp) {
    let flight = json!({"flight_date": "2024-05-01", "block_hours": 1.5, "cycles": 1});
    let old = app.certified_aircraft("RA-89251").await;
    for _ in 0..2 {
        let reply = app.post_json(&format!("/api/v1/aircraft/{old}/flights"), &flight).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    let reply = app.delete(&format!("/api/v1/aircraft/{old}?reason=scrapped")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let new = app.certified_aircraft("RA-89251").await;
    let reply = app.post_json(&format!("/api/v1/aircraft/{new}/flights"), &flight).await;
    let position = reply.body["position"].as_i64().unwrap();

    // Per airframe: registered, certified, 2 flights, decommissioned; registered, certified, 1 flight.
    let expected = [(old.clone(), 5), (new.clone(), 3)];
    let per_airframe = |body: &Value| {
        let mut rows: Vec<(String, i64)> = body["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                assert_eq!(r["registration_number"], "RA-89251", "{r}");
                (r["aircraft_id"].as_str().unwrap_or("?").to_owned(), r["total_events"].as_i64().unwrap())
            })
            .collect();
        rows.sort_by_key(|(id, _)| (id != &old, id.clone()));
        rows
    };
    let view = app
        .get(&format!(
            "/api/v1/streaming/views/aircraft_stats?registration_number=RA-89251&min_position={position}"
        ))
        .await;
    assert_eq!(view.status, StatusCode::OK, "{}", view.body);
    assert_eq!(per_airframe(&view.body), expected, "{}", view.body);
    for (id, events) in &expected {
        let one = app.get(&format!("/api/v1/streaming/views/aircraft_stats?aircraft_id={id}")).await;
        assert_eq!(per_airframe(&one.body), [(id.clone(), *events)], "{}", one.body);
    }

    // The hourly statistic, computed here from the projections (in RisingWave mode it is Flink's
    // result table, which no Flink feeds in this test): one row per airframe and hour.
    if app.read_store_url.is_none() {
        let hourly =
            app.get("/api/v1/streaming/views/aircraft_event_stats_hourly?registration_number=RA-89251").await;
        assert_eq!(hourly.status, StatusCode::OK, "{}", hourly.body);
        let mut totals = std::collections::BTreeMap::<String, (i64, i64)>::new();
        for row in hourly.body["rows"].as_array().unwrap() {
            let entry = totals.entry(row["aircraft_id"].as_str().unwrap_or("?").to_owned()).or_default();
            entry.0 += row["total_events"].as_i64().unwrap();
            entry.1 += row["decommissioned"].as_i64().unwrap();
        }
        let want: std::collections::BTreeMap<String, (i64, i64)> =
            [(old.clone(), (5, 1)), (new.clone(), (3, 0))].into();
        assert_eq!(totals, want, "{}", hourly.body);
    }
}

#[actix_rt::test]
async fn streaming_health_reports_each_subscription_and_fails_with_a_reason() {
    let app = spawn_app().await;
    let (_, position) = register(&app, "RA-89231", "SU95", "Aeroflot").await;
    app.get(&format!("/api/v1/aircraft?min_position={position}")).await;
    let health = app.get("/api/v1/streaming/health").await;
    assert_eq!(health.status, StatusCode::OK, "{}", health.body);
    let projector = &health.body["subscriptions"][0];
    assert_eq!(projector["name"], "projections");
    assert_eq!(projector["position"]["checkpoint"]["global_position"], position);
    assert_eq!(
        (projector["position"]["lag_events"].as_i64(), projector["leader_in_this_process"].as_bool()),
        (Some(0), Some(true))
    );

    app.drop_database().await;
    let failing = app.get("/api/v1/streaming/health").await;
    assert_eq!(failing.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(failing.body["status"], "failing");
    assert!(failing.body["problems"][0].as_str().unwrap().contains("PostgreSQL"), "{}", failing.body);
    app.get("/api/v1/aircraft").await.assert_problem(503);
}

/// A transient failure (here: the checkpoint table briefly gone) turns health red; once the
/// database answers again, health turns green at the next poll even with no new events.
#[actix_rt::test]
async fn streaming_health_recovers_from_a_transient_failure_while_idle() {
    let app = spawn_app().await;
    let (_, position) = register(&app, "RA-89241", "SU95", "Aeroflot").await;
    app.get(&format!("/api/v1/aircraft?min_position={position}")).await;
    let rename = |from: &'static str, to: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query(&format!("ALTER TABLE {from} RENAME TO {to}")).execute(&pool).await.unwrap();
        }
    };
    let wait_for = |want: &'static str| {
        let app = &app;
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            loop {
                let health = app.get("/api/v1/streaming/health").await;
                let projector_error = &health.body["subscriptions"][0]["last_error"];
                let seen = match want {
                    "projector failing" => !projector_error.is_null(),
                    _ => health.status == StatusCode::OK,
                };
                if seen {
                    return health;
                }
                assert!(std::time::Instant::now() < deadline, "health never became {want}: {}", health.body);
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    };
    rename("subscription_checkpoints", "subscription_checkpoints_away").await;
    let failing = wait_for("projector failing").await;
    assert_eq!(failing.status, StatusCode::SERVICE_UNAVAILABLE, "{}", failing.body);
    rename("subscription_checkpoints_away", "subscription_checkpoints").await;
    let healthy = wait_for("ok").await;
    assert_eq!(healthy.body["subscriptions"][0]["last_error"], Value::Null, "{}", healthy.body);
}

klg_tests::in_both_read_stores!(
    the_aircraft_list_filters_sorts_and_pages_with_cursors,
    one_aircraft_has_an_etag_a_history_and_reflects_the_callers_own_writes,
    the_inbox_lists_newest_first_with_filters_and_streams_content_safely,
    search_finds_aircraft_and_documents_by_word_prefixes_ranked,
    insights_and_recommendations_say_why_and_link_their_subject,
    streaming_views_come_from_a_fixed_catalogue_with_typed_filters,
    statistics_keep_two_airframes_sharing_a_registration_number_apart,
);
