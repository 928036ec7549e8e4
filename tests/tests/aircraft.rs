//! End-to-end: aircraft commands over HTTP against the real server and PostgreSQL.

use awc::http::StatusCode;
use futures_util::future::join_all;
use klg_tests::{aircraft_body, spawn_app};
use serde_json::json;

#[actix_rt::test]
async fn registering_answers_201_with_location_etag_and_stores_one_versioned_event() {
    let app = spawn_app().await;
    let reply = app
        .send_json("POST", "/api/v1/aircraft", &aircraft_body("ra-89001"), &[("X-Correlation-Id", "corr-1")])
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let id = reply.body["id"].as_str().unwrap();
    assert_eq!(reply.header("location"), Some(format!("/api/v1/aircraft/{id}").as_str()));
    assert_eq!(reply.header("etag"), Some("\"1\""));
    assert_eq!(reply.body["version"], 1);
    assert!(reply.body["position"].as_i64().unwrap() >= 1);

    let events = app.events_of(id).await;
    assert_eq!(events.len(), 1);
    let (sequence, event_type, payload, metadata) = &events[0];
    assert_eq!((*sequence, event_type.as_str()), (1, "AircraftRegistered"));
    assert_eq!(payload["AircraftRegistered"]["registration_number"], "RA-89001");
    for key in ["event_id", "recorded_at", "actor", "request_id", "correlation_id", "causation_id"] {
        assert!(metadata[key].as_str().is_some_and(|v| !v.is_empty()), "metadata lacks {key}: {metadata}");
    }
    assert_eq!(metadata["correlation_id"], "corr-1");
    assert_eq!(metadata["request_id"].as_str(), reply.header("x-request-id"));
    assert!(uuid::Uuid::parse_str(metadata["event_id"].as_str().unwrap()).is_ok());
    let version: String = sqlx::query_scalar("SELECT event_version FROM events WHERE aggregate_id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(version, "1.0");
}

#[actix_rt::test]
async fn invalid_registrations_name_every_bad_field_and_store_nothing() {
    let app = spawn_app().await;
    let body = json!({
        "registration_number": "RA_89001", "aircraft_type": "9X", "model": " ",
        "serial_number": "95#1", "operator": "Aeroflot", "year_of_manufacture": 1850
    });
    let reply = app.post_json("/api/v1/aircraft", &body).await;
    let mut fields = reply.problem_fields();
    fields.sort();
    assert_eq!(
        fields,
        ["aircraft_type", "model", "registration_number", "serial_number", "year_of_manufacture"]
    );

    let mut unknown = aircraft_body("RA-89001");
    unknown["colour"] = json!("red");
    assert_eq!(app.post_json("/api/v1/aircraft", &unknown).await.problem_fields(), ["colour"]);
    let mut missing = aircraft_body("RA-89001");
    missing.as_object_mut().unwrap().remove("operator");
    assert_eq!(app.post_json("/api/v1/aircraft", &missing).await.problem_fields(), ["operator"]);
    let mut wrong_type = aircraft_body("RA-89001");
    wrong_type["year_of_manufacture"] = json!("2015");
    assert_eq!(
        app.post_json("/api/v1/aircraft", &wrong_type).await.problem_fields(),
        ["year_of_manufacture"]
    );

    app.send_raw("POST", "/api/v1/aircraft", "application/json", b"{\"registration_number\": ".to_vec())
        .await
        .assert_problem(400);
    app.send_raw("POST", "/api/v1/aircraft", "text/plain", b"RA-89001".to_vec()).await.assert_problem(415);
    let huge = format!("{{\"model\": \"{}\"}}", "x".repeat(100_000));
    app.send_raw("POST", "/api/v1/aircraft", "application/json", huge.into_bytes()).await.assert_problem(413);
    assert_eq!(app.event_count().await, 0);
}

#[actix_rt::test]
async fn exactly_one_of_twenty_concurrent_registrations_of_one_number_wins() {
    let app = spawn_app().await;
    let body = aircraft_body("RA-89002");
    let replies = join_all((0..20).map(|_| app.post_json("/api/v1/aircraft", &body))).await;
    let created = replies.iter().filter(|r| r.status == StatusCode::CREATED).count();
    assert_eq!(created, 1, "{:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    for reply in replies.iter().filter(|r| r.status != StatusCode::CREATED) {
        assert_eq!(reply.assert_problem(409)["type"], "urn:klg:problem:registration-in-use");
    }
    let registered: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'AircraftRegistered'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(registered, 1);
}

#[actix_rt::test]
async fn decommissioning_closes_the_record_and_frees_the_registration_number() {
    let app = spawn_app().await;
    let id = app.certified_aircraft("VP-BAA").await;
    app.post_json("/api/v1/aircraft", &aircraft_body("VP-BAA")).await.assert_problem(409);

    let reply = app.delete(&format!("/api/v1/aircraft/{id}?reason=sold%20for%20parts")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let events = app.events_of(&id).await;
    assert_eq!(events.last().unwrap().2["AircraftDecommissioned"]["reason"], "sold for parts");

    app.delete(&format!("/api/v1/aircraft/{id}")).await.assert_problem(409);
    let flight = json!({"flight_date": "2024-05-01", "block_hours": 1.0, "cycles": 1});
    app.post_json(&format!("/api/v1/aircraft/{id}/flights"), &flight).await.assert_problem(409);
    app.register_aircraft("vp-baa").await;
}

#[actix_rt::test]
async fn updates_record_only_changed_fields_and_a_no_op_stores_nothing() {
    let app = spawn_app().await;
    let id = app.register_aircraft("RA-89003").await;
    let path = format!("/api/v1/aircraft/{id}");
    let update = json!({"operator": "Aeroflot", "base_airport": "uuee", "notes": "winglets fitted"});
    let reply = app.send_json("PUT", &path, &update, &[]).await;
    assert_eq!(
        (reply.status, reply.body["changed"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{}",
        reply.body
    );
    let events = app.events_of(&id).await;
    assert_eq!(
        events[1].2,
        json!({"AircraftDetailsUpdated": {"base_airport": "UUEE", "notes": "winglets fitted"}})
    );

    let reply = app.send_json("PUT", &path, &update, &[]).await;
    assert_eq!((reply.status, reply.body["changed"].as_bool()), (StatusCode::OK, Some(false)));
    assert_eq!(reply.header("etag"), Some("\"2\""));
    assert_eq!(app.events_of(&id).await.len(), 2);

    let cleared = app.send_json("PUT", &path, &json!({"notes": ""}), &[]).await;
    assert_eq!(cleared.body["changed"], true);
    // The clearing is part of the stored state: clearing again changes nothing.
    let again = app.send_json("PUT", &path, &json!({"notes": ""}), &[]).await;
    assert_eq!(again.body["changed"], false, "{}", again.body);
    let bad = app.send_json("PUT", &path, &json!({"base_airport": "SVO", "operator": ""}), &[]).await;
    let mut fields = bad.problem_fields();
    fields.sort();
    assert_eq!(fields, ["base_airport", "operator"]);
    assert_eq!(app.events_of(&id).await.len(), 3);
}

#[actix_rt::test]
async fn status_changes_follow_the_allowed_transitions() {
    let app = spawn_app().await;
    let id = app.register_aircraft("RA-89004").await;
    let path = format!("/api/v1/aircraft/{id}/status");
    let to = |status: &str| json!({"status": status, "reason": "bird strike inspection"});
    assert_eq!(app.post_json(&path, &to("grounded")).await.status, StatusCode::OK);
    let refused = app.post_json(&path, &to("active")).await;
    assert_eq!(refused.assert_problem(409)["type"], "urn:klg:problem:status-transition-not-allowed");
    app.post_json(&path, &to("grounded")).await.assert_problem(409);
    assert_eq!(app.post_json(&path, &to("decommissioned")).await.problem_fields(), ["status"]);
    assert_eq!(
        app.post_json(&path, &json!({"status": "in_maintenance", "reason": ""})).await.problem_fields(),
        ["reason"]
    );
    assert_eq!(app.post_json(&path, &to("in_maintenance")).await.status, StatusCode::OK);
    let refused = app.post_json(&path, &to("active")).await;
    assert_eq!(refused.assert_problem(409)["type"], "urn:klg:problem:release-to-service-required");
    assert_eq!(refused.body["errors"][0]["field"], "status");
    assert_eq!(app.events_of(&id).await.len(), 3);
}

#[actix_rt::test]
async fn certificates_need_a_period_that_ends_after_it_starts() {
    let app = spawn_app().await;
    let id = app.register_aircraft("RA-89005").await;
    let path = format!("/api/v1/aircraft/{id}/certificates");
    let ok = json!({"number": "ca-77", "issued_on": "2024-01-01", "valid_until": "2025-01-01"});
    assert_eq!(app.post_json(&path, &ok).await.status, StatusCode::OK);
    app.post_json(&path, &ok).await.assert_problem(409);
    let backwards = json!({"number": "CA-78", "issued_on": "2024-01-01", "valid_until": "2023-01-01"});
    assert_eq!(app.post_json(&path, &backwards).await.problem_fields(), ["valid_until"]);
    let bad_date = json!({"number": "CA-79", "issued_on": "2024-02-30", "valid_until": "2025-01-01"});
    assert_eq!(app.post_json(&path, &bad_date).await.problem_fields(), ["issued_on"]);
    assert_eq!(app.events_of(&id).await.len(), 2);
}

#[actix_rt::test]
async fn flights_need_a_flyable_certified_aircraft_and_sane_values() {
    let app = spawn_app().await;
    let id = app.register_aircraft("RA-89006").await;
    let path = format!("/api/v1/aircraft/{id}/flights");
    let flight = json!({"flight_date": "2024-05-01", "block_hours": 2.5, "cycles": 1});
    let uncertified = app.post_json(&path, &flight).await;
    assert_eq!(uncertified.assert_problem(409)["type"], "urn:klg:problem:no-valid-certificate");

    let id = app.certified_aircraft("RA-89007").await;
    let path = format!("/api/v1/aircraft/{id}/flights");
    assert_eq!(app.post_json(&path, &flight).await.status, StatusCode::OK);
    for (body, field) in [
        (json!({"flight_date": "2024-05-01", "block_hours": 24.5, "cycles": 1}), "block_hours"),
        (json!({"flight_date": "2024-05-01", "block_hours": 0, "cycles": 1}), "block_hours"),
        (json!({"flight_date": "2024-05-01", "block_hours": 1, "cycles": 0}), "cycles"),
        (json!({"flight_date": "2024-05-01", "block_hours": 1, "cycles": -2}), "cycles"),
        (json!({"flight_date": "2999-01-01", "block_hours": 1, "cycles": 1}), "flight_date"),
    ] {
        assert_eq!(app.post_json(&path, &body).await.problem_fields(), [field], "{body}");
    }
    let grounded = json!({"status": "grounded", "reason": "hard landing"});
    app.post_json(&format!("/api/v1/aircraft/{id}/status"), &grounded).await;
    let refused = app.post_json(&path, &flight).await;
    assert_eq!(refused.assert_problem(409)["type"], "urn:klg:problem:aircraft-not-flyable");
    assert_eq!(app.events_of(&id).await.len(), 4);
}

#[actix_rt::test]
async fn twenty_concurrent_flights_are_all_applied_with_exact_totals_and_contiguous_sequences() {
    let app = spawn_app().await;
    let id = app.certified_aircraft("RA-89008").await;
    let path = format!("/api/v1/aircraft/{id}/flights");
    let flights: Vec<_> = (1..=20)
        .map(|i| json!({"flight_date": "2024-05-01", "block_hours": 0.1 * f64::from(i), "cycles": i}))
        .collect();
    let replies = join_all(flights.iter().map(|f| app.post_json(&path, f))).await;
    for reply in &replies {
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    let events = app.events_of(&id).await;
    let sequences: Vec<i64> = events.iter().map(|e| e.0).collect();
    assert_eq!(sequences, (1..=22).collect::<Vec<_>>());
    let flown: Vec<_> =
        events.iter().filter(|e| e.1 == "FlightLogged").map(|e| &e.2["FlightLogged"]).collect();
    assert_eq!(flown.len(), 20);
    let minutes: i64 = flown.iter().map(|f| f["block_minutes"].as_i64().unwrap()).sum();
    let cycles: i64 = flown.iter().map(|f| f["cycles"].as_i64().unwrap()).sum();
    assert_eq!((minutes, cycles), ((1..=20).map(|i| 6 * i).sum(), (1..=20).sum()));
    let mut versions: Vec<u64> = replies.iter().map(|r| r.body["version"].as_u64().unwrap()).collect();
    versions.sort();
    assert_eq!(versions, (3..=22).collect::<Vec<_>>());
}

#[actix_rt::test]
async fn if_match_applies_only_on_the_expected_version() {
    let app = spawn_app().await;
    let id = app.certified_aircraft("RA-89009").await;
    let path = format!("/api/v1/aircraft/{id}/status");
    let body = json!({"status": "stored", "reason": "winter"});
    let stale = app.send_json("POST", &path, &body, &[("If-Match", "\"1\"")]).await;
    stale.assert_problem(412);
    assert_eq!(app.events_of(&id).await.len(), 2);
    let fresh = app.send_json("POST", &path, &body, &[("If-Match", "\"2\"")]).await;
    assert_eq!((fresh.status, fresh.header("etag")), (StatusCode::OK, Some("\"3\"")), "{}", fresh.body);
    let malformed = app.send_json("POST", &path, &body, &[("If-Match", "three")]).await;
    assert_eq!(malformed.problem_fields(), ["If-Match"], "a malformed header is a field at fault");
    // If-Match compares strongly (RFC 9110): a weak tag never matches, even the current version.
    let other = json!({"status": "in_maintenance", "reason": "check"});
    let weak = app.send_json("POST", &path, &other, &[("If-Match", "W/\"3\"")]).await;
    weak.assert_problem(412);
    assert_eq!(app.events_of(&id).await.len(), 3, "a weak If-Match stores nothing");
    let any = app
        .send_json(
            "POST",
            &path,
            &json!({"status": "in_maintenance", "reason": "spring"}),
            &[("If-Match", "*")],
        )
        .await;
    assert_eq!(any.status, StatusCode::OK, "{}", any.body);
}

#[actix_rt::test]
async fn an_idempotent_repeat_returns_the_first_response_and_stores_nothing_new() {
    let app = spawn_app().await;
    let key = [("Idempotency-Key", "register-ra-89010")];
    let body = aircraft_body("RA-89010");
    let first = app.send_json("POST", "/api/v1/aircraft", &body, &key).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let again = app.send_json("POST", "/api/v1/aircraft", &body, &key).await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!((&again.body["id"], &again.body["version"]), (&first.body["id"], &first.body["version"]));
    assert_eq!(again.header("location"), first.header("location"));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(app.event_count().await, 1);

    let different = app.send_json("POST", "/api/v1/aircraft", &aircraft_body("RA-89011"), &key).await;
    assert_eq!(different.problem_fields(), ["Idempotency-Key"]);
    assert_eq!(app.event_count().await, 1);
}

#[actix_rt::test]
async fn concurrent_requests_with_one_idempotency_key_store_one_command() {
    let app = spawn_app().await;
    let id = app.certified_aircraft("RA-89012").await;
    let path = format!("/api/v1/aircraft/{id}/flights");
    let flight = json!({"flight_date": "2024-05-01", "block_hours": 1.5, "cycles": 1});
    let key = [("Idempotency-Key", "flight-42")];
    let replies = join_all((0..8).map(|_| app.send_json("POST", &path, &flight, &key))).await;
    for reply in &replies {
        assert_eq!((reply.status, &reply.body["version"]), (StatusCode::OK, &json!(3)), "{}", reply.body);
    }
    assert_eq!(app.events_of(&id).await.len(), 3);
}

#[actix_rt::test]
async fn unknown_or_malformed_aircraft_ids_are_404() {
    let app = spawn_app().await;
    let flight = json!({"flight_date": "2024-05-01", "block_hours": 1.0, "cycles": 1});
    let unknown = uuid::Uuid::new_v4();
    app.post_json(&format!("/api/v1/aircraft/{unknown}/flights"), &flight).await.assert_problem(404);
    app.post_json("/api/v1/aircraft/not-a-uuid/flights", &flight).await.assert_problem(404);
    app.delete(&format!("/api/v1/aircraft/{unknown}")).await.assert_problem(404);
    app.get("/api/v1/nothing-here").await.assert_problem(404);
    app.send_json("PATCH", "/api/v1/aircraft", &json!({}), &[]).await.assert_problem(405);
    assert_eq!(app.event_count().await, 0);
}

#[actix_rt::test]
async fn a_lost_database_is_503_with_a_reason_not_a_500() {
    let app = spawn_app().await;
    assert_eq!(app.get("/health/ready").await.status, StatusCode::OK);
    app.drop_database().await;
    let reply = app.post_json("/api/v1/aircraft", &aircraft_body("RA-89013")).await;
    reply.assert_problem(503);
    assert!(reply.header("retry-after").is_some());
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.body["checks"]["database"]["status"], "failing");
    assert!(ready.body["checks"]["database"]["reason"].as_str().unwrap().contains("PostgreSQL"));
}

#[actix_rt::test]
async fn an_unreachable_database_stops_start_up_with_a_one_line_explanation() {
    let settings =
        klg_api::Settings::for_database("postgres://postgres:secret@127.0.0.1:1/klg", "/tmp/klg-unused");
    let error = klg_api::Application::build(settings).await.err().expect("start-up fails").to_string();
    assert!(error.contains("cannot reach PostgreSQL at postgres://postgres:***@127.0.0.1:1/klg"), "{error}");
    assert!(error.contains("DATABASE_URL") && !error.contains("secret") && !error.contains('\n'), "{error}");
}
