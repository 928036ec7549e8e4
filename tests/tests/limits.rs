//! Limits: writes per token, and the wait for a busy aggregate — each refusal is a problem with
//! `Retry-After` and stores nothing.

use awc::http::StatusCode;
use futures_util::future::join_all;
use klg_tests::spawn_app_with;
use serde_json::json;

#[actix_rt::test]
async fn a_token_over_its_write_limit_gets_429_with_retry_after_and_reads_still_pass() {
    // 60 a minute: a burst of 10, then one a second.
    let app = spawn_app_with(|s| s.write_limit_per_minute = 60).await;
    let aircraft = app.register_aircraft("RA-89101").await;
    let update = json!({"operator": "Aeroflot", "model": "Superjet 100-95B"});
    let mut statuses = vec![];
    for _ in 0..12 {
        statuses.push(app.send_json("PUT", &format!("/api/v1/aircraft/{aircraft}"), &update, &[]).await);
    }
    let refused: Vec<_> = statuses.iter().filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS).collect();
    assert!(!refused.is_empty(), "the 12th write within a second passed");
    refused[0].assert_problem(429);
    let wait: u64 = refused[0].header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    assert_eq!(app.get("/api/v1/aircraft").await.status, StatusCode::OK, "reads are not limited");
    let stored = app.events_of(&aircraft).await.len();
    let accepted = statuses.iter().filter(|r| r.status == StatusCode::OK).count();
    assert_eq!(stored, 1 + accepted.min(1), "the first update changes the record, repeats are no-ops");
}

#[actix_rt::test]
async fn commands_queued_past_the_wait_bound_get_503_and_store_nothing() {
    let app = spawn_app_with(|s| s.aggregate_wait_ms = 1).await;
    let aircraft = app.certified_aircraft("RA-89102").await;
    let before = app.events_of(&aircraft).await.len();
    let flight = json!({"flight_date": "2024-05-01", "block_hours": 1.0, "cycles": 1});
    let path = format!("/api/v1/aircraft/{aircraft}/flights");
    let replies = join_all((0..40).map(|_| app.post_json(&path, &flight))).await;
    let accepted = replies.iter().filter(|r| r.status == StatusCode::OK).count();
    let busy: Vec<_> = replies.iter().filter(|r| r.status == StatusCode::SERVICE_UNAVAILABLE).collect();
    assert_eq!(accepted + busy.len(), replies.len(), "only 200 or 503");
    assert!(!busy.is_empty(), "40 concurrent commands on one aggregate with a 1 ms bound all got a turn");
    busy[0].assert_problem(503);
    assert!(busy[0].header("retry-after").is_some());
    assert!(busy[0].body["detail"].as_str().unwrap().contains("busy"), "{}", busy[0].body);
    assert_eq!(
        app.events_of(&aircraft).await.len() - before,
        accepted,
        "one event per accepted command, none for a 503"
    );
}

#[actix_rt::test]
async fn a_statement_stuck_behind_a_lock_is_cancelled_and_answered_503_not_held() {
    let app = spawn_app_with(|s| s.statement_timeout_ms = 500).await;
    let aircraft = app.certified_aircraft("RA-89103").await;
    let before = app.event_count().await;
    // Another session holds the tables a read and a command need.
    let mut blocker = app.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE aircraft, events IN ACCESS EXCLUSIVE MODE").execute(&mut *blocker).await.unwrap();
    let started = std::time::Instant::now();
    let read = app.get("/api/v1/aircraft").await;
    let flight = json!({"flight_date": "2024-05-01", "block_hours": 1.0, "cycles": 1});
    let write = app.post_json(&format!("/api/v1/aircraft/{aircraft}/flights"), &flight).await;
    let elapsed = started.elapsed();
    blocker.rollback().await.unwrap();
    read.assert_problem(503);
    write.assert_problem(503);
    assert!(elapsed < std::time::Duration::from_secs(5), "held for {elapsed:?}");
    assert_eq!(app.event_count().await, before, "nothing stored");
}
