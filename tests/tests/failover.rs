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
    let client = awc::Client::default();

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
