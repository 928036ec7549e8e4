//! Two real `klg serve` processes on one database: exactly one runs the projector; when it is
//! killed (SIGKILL), the other takes over within seconds and nothing is lost or applied twice.

use std::time::{Duration, Instant};

use awc::http::StatusCode;
use klg_tests::process::KlgProcess;
use klg_tests::{aircraft_body, fresh_database_url, read};
use serde_json::json;

async fn owner(pool: &sqlx::PgPool) -> Option<String> {
    sqlx::query_scalar("SELECT owner FROM subscription_checkpoints WHERE name = 'projections'")
        .fetch_optional(pool)
        .await
        .unwrap()
        .flatten()
}

#[actix_rt::test]
async fn the_standby_takes_over_the_projector_when_the_leader_dies() {
    let (url, name) = fresh_database_url();
    let _database = klg_tests::DropDatabase(name);
    let blobs = std::env::temp_dir().join(format!("klg-failover-{}", uuid::Uuid::new_v4().simple()));
    let first = KlgProcess::serve(&url, &blobs);
    let second = KlgProcess::serve(&url, &blobs);
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let client = klg_tests::admin_client();

    let registered =
        read(client.post(first.url("/api/v1/aircraft")).send_json(&aircraft_body("RA-89401")).await.unwrap())
            .await;
    assert_eq!(registered.status, StatusCode::CREATED, "{}", registered.body);
    let id = registered.body["id"].as_str().unwrap().to_owned();
    let position = registered.body["position"].as_i64().unwrap();
    let seen = read(
        client
            .get(second.url(&format!("/api/v1/aircraft/{id}?min_position={position}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);

    let leader_owner = owner(&pool).await.expect("the projector ran");
    let (mut leader, survivor) =
        if leader_owner.contains(&format!(":{}:", first.pid())) { (first, second) } else { (second, first) };
    assert!(leader_owner.contains(&format!(":{}:", leader.pid())), "{leader_owner}");
    leader.kill();
    let killed_at = Instant::now();

    let flight_route = survivor.url(&format!("/api/v1/aircraft/{id}/status"));
    let changed = read(
        client.post(flight_route).send_json(&json!({"status": "stored", "reason": "winter"})).await.unwrap(),
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "commands keep working: {}", changed.body);
    let position = changed.body["position"].as_i64().unwrap();
    let view = loop {
        let reply = read(
            client
                .get(survivor.url(&format!("/api/v1/aircraft/{id}?min_position={position}")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        if reply.status == StatusCode::OK {
            break reply;
        }
        assert!(killed_at.elapsed() < Duration::from_secs(20), "no takeover: {}", reply.body);
    };
    let takeover = killed_at.elapsed();
    assert_eq!(view.body["status"], "stored");
    assert!(owner(&pool).await.unwrap().contains(&format!(":{}:", survivor.pid())));
    let (handled, stored): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT events_handled FROM subscription_checkpoints WHERE name = 'projections'), (SELECT count(*) FROM events)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(handled, stored);
    println!("takeover after SIGKILL: {:.2} s", takeover.as_secs_f64());
    assert!(takeover < Duration::from_secs(10), "takeover took {takeover:?}");
    pool.close().await;
    let _ = std::fs::remove_dir_all(blobs);
}

/// A leader that loses its lock mid catch-up (its lock connection terminated, as a network cut
/// or an operator would) stops applying at once: it confirms leadership before every batch, so
/// it and the instance that takes the lock over never both apply batches.
#[actix_rt::test]
async fn a_leader_whose_lock_is_taken_mid_catch_up_stops_before_its_next_batch() {
    use klg_projections::subscription::Subscription;
    use klg_tests::RecordingSubscriber;

    let app = klg_tests::spawn_app_with(|s| s.run_projector = false).await;
    klg_tests::append_other_events(&app.pool, 20000).await;
    klg_tests::wait_until_readable(&app.pool).await;
    // Slow batches: a long catch-up.
    let slow = || RecordingSubscriber::new(Duration::from_millis(150));
    let (first, second) = (slow(), slow());
    let leader = Subscription::new("slow", "first", app.pool.clone(), first.clone()).with_batch_size(20);
    let leader = tokio::spawn(leader.run());
    while first.batches() < 3 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Take the lock: end the leader's lock connection, and start a second instance.
    let holders: Vec<i32> = sqlx::query_scalar(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = 4934727 \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(holders.len(), 1, "one leader holds the lock");
    sqlx::query("SELECT pg_terminate_backend($1)").bind(holders[0]).execute(&app.pool).await.unwrap();
    let applied_at_steal = first.batches();
    while sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 4934727 AND pid = $1",
    )
    .bind(holders[0])
    .fetch_one(&app.pool)
    .await
    .unwrap()
        > 0
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let standby = Subscription::new("slow", "second", app.pool.clone(), second.clone()).with_batch_size(20);
    let standby = tokio::spawn(standby.run());
    let deadline = Instant::now() + Duration::from_secs(20);
    while second.batches() < 3 {
        assert!(Instant::now() < deadline, "the second instance never took over");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = first.batches() - applied_at_steal;
    assert!(after <= 1, "the old leader applied {after} batches after losing its lock");
    leader.abort();
    standby.abort();
}
