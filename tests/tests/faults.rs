//! Faults across real processes: two `klg serve` writing the same aggregates, every PostgreSQL
//! connection terminated mid-load, kill -9 under load, and an unwritable blob store. Each checks
//! what clients were told against what the store holds.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use awc::http::StatusCode;
use futures_util::future::join_all;
use klg_tests::process::{run_project_rebuild, KlgProcess};
use klg_tests::{admin_client, aircraft_body, fresh_database_url, read, DropDatabase, Reply};
use serde_json::{json, Value};
use sqlx::PgPool;

fn blob_dir(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("klg-faults-{name}-{}", uuid::Uuid::new_v4().simple()))
}

/// Sends `body` to `url` (POST) with an optional idempotency key.
async fn post(client: &awc::Client, url: String, body: &Value, key: Option<&str>) -> Result<Reply, String> {
    let mut request = client.post(url);
    if let Some(key) = key {
        request = request.insert_header(("Idempotency-Key", key));
    }
    match request.send_json(body).await {
        Ok(response) => Ok(read(response).await),
        Err(e) => Err(e.to_string()),
    }
}

/// Registers an aircraft with a certificate through `server`; returns its id.
async fn certified(client: &awc::Client, server: &KlgProcess, registration: String) -> String {
    let registered =
        post(client, server.url("/api/v1/aircraft"), &aircraft_body(&registration), None).await.unwrap();
    assert_eq!(registered.status, StatusCode::CREATED, "{}", registered.body);
    let id = registered.body["id"].as_str().unwrap().to_owned();
    let certificate = json!({"number": "CA-1", "issued_on": "2020-01-01", "valid_until": "2030-12-31"});
    let url = server.url(&format!("/api/v1/aircraft/{id}/certificates"));
    assert_eq!(post(client, url, &certificate, None).await.unwrap().status, StatusCode::OK);
    id
}

fn flight(minutes: u32) -> Value {
    json!({"flight_date": "2024-05-01", "block_hours": minutes as f64 / 60.0, "cycles": 1})
}

/// (event type, sequence, metadata) of an aggregate's events.
async fn stream(pool: &PgPool, id: &str) -> Vec<(String, i64, Value)> {
    sqlx::query_as::<_, (String, i64, sqlx::types::Json<Value>)>(
        "SELECT event_type, sequence, metadata FROM events WHERE aggregate_id = $1 ORDER BY sequence",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .map(|(t, s, m)| (t, s, m.0))
    .collect()
}

#[actix_rt::test]
async fn two_processes_writing_the_same_aggregates_store_each_acknowledged_command_exactly_once() {
    let (url, name) = fresh_database_url();
    let _database = DropDatabase(name);
    let dir = blob_dir("two");
    let servers = [KlgProcess::serve(&url, &dir), KlgProcess::serve(&url, &dir)];
    let client = admin_client();
    let pool = PgPool::connect(&url).await.unwrap();
    let mut fleet = vec![];
    for i in 0..4 {
        fleet.push(certified(&client, &servers[0], format!("RA-8920{i}")).await);
    }

    // Per aircraft, at once: 16 flights of distinct lengths alternating between the processes,
    // one flight whose idempotency key both processes receive, and the same status change sent
    // to both (one may apply; the other finds the status already set).
    let mut requests = vec![];
    for (a, id) in fleet.iter().enumerate() {
        for n in 0..16u32 {
            let url = servers[(n % 2) as usize].url(&format!("/api/v1/aircraft/{id}/flights"));
            requests.push((url, flight(30 + n), Some(format!("flight-{a}-{n}"))));
        }
        for server in &servers {
            requests.push((
                server.url(&format!("/api/v1/aircraft/{id}/flights")),
                flight(99),
                Some(format!("shared-{a}")),
            ));
            let status = json!({"status": "in_maintenance", "reason": "A-check"});
            requests.push((server.url(&format!("/api/v1/aircraft/{id}/status")), status, None));
        }
    }
    let replies =
        join_all(requests.iter().map(|(url, body, key)| post(&client, url.clone(), body, key.as_deref())))
            .await;

    for (a, id) in fleet.iter().enumerate() {
        let events = stream(&pool, id).await;
        let sequences: Vec<i64> = events.iter().map(|(_, s, _)| *s).collect();
        assert_eq!(sequences, (1..=events.len() as i64).collect::<Vec<_>>(), "gap-free stream");
        let acknowledged: HashSet<String> = requests
            .iter()
            .zip(&replies)
            .filter(|((url, _, _), reply)| {
                url.contains(id.as_str())
                    && url.ends_with("/flights")
                    && reply.as_ref().is_ok_and(|r| r.status == StatusCode::OK)
            })
            .map(|((_, _, key), _)| key.clone().unwrap())
            .collect();
        let stored: Vec<String> = events
            .iter()
            .filter(|(t, _, _)| t == "FlightLogged")
            .map(|(_, _, m)| m["idempotency_key"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            stored.len(),
            stored.iter().collect::<HashSet<_>>().len(),
            "a command stored twice: {stored:?}"
        );
        assert_eq!(stored.iter().cloned().collect::<HashSet<_>>(), acknowledged, "aircraft {a}");
        assert!(acknowledged.contains(&format!("shared-{a}")), "the shared key was acknowledged");
        let status_changes = events.iter().filter(|(t, _, _)| t == "AircraftStatusChanged").count();
        let status_oks = requests
            .iter()
            .zip(&replies)
            .filter(|((url, _, _), r)| {
                url.contains(id.as_str())
                    && url.ends_with("/status")
                    && r.as_ref().is_ok_and(|r| r.status == StatusCode::OK)
            })
            .count();
        assert_eq!((status_changes, status_oks), (1, 1), "one status change applied, once");

        let position: i64 =
            sqlx::query_scalar("SELECT max(global_position) FROM events").fetch_one(&pool).await.unwrap();
        let view = read(
            client
                .get(servers[1].url(&format!("/api/v1/aircraft/{id}?min_position={position}")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        let minutes: u32 = (0..16u32)
            .filter(|n| acknowledged.contains(&format!("flight-{a}-{n}")))
            .map(|n| 30 + n)
            .sum::<u32>()
            + 99;
        assert_eq!(view.body["total_cycles"], acknowledged.len() as u64, "{}", view.body);
        assert_eq!(view.body["total_block_minutes"], minutes, "{}", view.body);
    }
    for reply in &replies {
        let reply = reply.as_ref().expect("every request answered");
        assert!(matches!(reply.status.as_u16(), 200 | 409 | 503), "{} {}", reply.status, reply.body);
    }
}

#[actix_rt::test]
async fn terminating_every_database_connection_mid_load_gives_503s_not_500s_and_heals_by_itself() {
    let (url, name) = fresh_database_url();
    let _database = DropDatabase(name.clone());
    // As many requests as the server answers in 4 s: the per-token write limit (a burst of 500,
    // then 50/s) would answer 429 on a fast machine, which is not what this test is about.
    let unlimited = [("KLG_WRITE_LIMIT_PER_MINUTE", "0".to_owned())];
    let server = KlgProcess::serve_with(&url, &blob_dir("terminate"), &unlimited);
    let client = klg_tests::client_with_token(klg_tests::ADMIN_TOKEN);
    let fleet: Vec<String> =
        join_all((0..4).map(|i| certified(&client, &server, format!("RA-8921{i}")))).await;
    let admin = PgPool::connect(&url).await.unwrap();
    let terminate = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                     WHERE datname = $1 AND pid <> pg_backend_pid()";

    let started = Instant::now();
    let load = join_all(fleet.iter().map(|id| {
        let (client, url) = (client.clone(), server.url(&format!("/api/v1/aircraft/{id}/flights")));
        async move {
            let mut statuses = vec![];
            while started.elapsed() < Duration::from_secs(4) {
                let sent = Instant::now();
                let reply = post(&client, url.clone(), &flight(60), None).await.expect("answered, not hung");
                assert!(sent.elapsed() < Duration::from_secs(15), "a request hung for {:?}", sent.elapsed());
                statuses.push((reply.status.as_u16(), reply.body));
            }
            statuses
        }
    }));
    let killer = async {
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(900)).await;
            let _: i64 = sqlx::query_scalar(terminate).bind(&name).fetch_one(&admin).await.unwrap();
        }
    };
    let (statuses, ()) = futures_util::future::join(load, killer).await;
    let statuses: Vec<_> = statuses.into_iter().flatten().collect();
    let unexpected: Vec<_> = statuses.iter().filter(|(s, _)| !matches!(s, 200 | 503)).collect();
    assert!(unexpected.is_empty(), "{unexpected:?}");
    assert!(statuses.iter().any(|(s, _)| *s == 200));
    for (_, body) in statuses.iter().filter(|(s, _)| *s == 503) {
        assert!(body["type"].as_str().is_some_and(|t| t.starts_with("urn:klg:problem:")), "{body}");
    }

    // No new event: the read side's health returns to 200 on its own.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let health = read(client.get(server.url("/api/v1/streaming/health")).send().await.unwrap()).await;
        if health.status == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "streaming health stayed {}: {}", health.status, health.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let after =
        post(&client, server.url(&format!("/api/v1/aircraft/{}/flights", fleet[0])), &flight(60), None)
            .await
            .unwrap();
    assert_eq!(after.status, StatusCode::OK, "{}", after.body);
}

#[actix_rt::test]
async fn after_kill_9_under_load_every_acknowledged_command_is_stored_and_projections_equal_a_rebuild() {
    let (url, name) = fresh_database_url();
    let _database = DropDatabase(name);
    let dir = blob_dir("kill");
    let mut first = KlgProcess::serve(&url, &dir);
    let client = admin_client();
    let fleet: Vec<String> =
        join_all((0..6).map(|i| certified(&client, &first, format!("RA-8922{i}")))).await;
    let started = Instant::now();
    let urls: Vec<String> =
        fleet.iter().map(|id| first.url(&format!("/api/v1/aircraft/{id}/flights"))).collect();
    let load = join_all(urls.into_iter().map(|url| {
        let client = client.clone();
        async move {
            let mut acknowledged = vec![];
            while started.elapsed() < Duration::from_secs(3) {
                match post(&client, url.clone(), &flight(45), None).await {
                    Ok(reply) if reply.status == StatusCode::OK => acknowledged.push((
                        reply.body["id"].as_str().unwrap().to_owned(),
                        reply.body["position"].as_i64().unwrap(),
                    )),
                    Ok(_) => {}
                    Err(_) => break, // The server is gone.
                }
            }
            acknowledged
        }
    }));
    let killer = async {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        first.kill();
    };
    let (acknowledged, ()) = futures_util::future::join(load, killer).await;
    let acknowledged: Vec<(String, i64)> = acknowledged.into_iter().flatten().collect();
    assert!(!acknowledged.is_empty());

    let pool = PgPool::connect(&url).await.unwrap();
    for (id, position) in &acknowledged {
        let found: Option<String> =
            sqlx::query_scalar("SELECT aggregate_id FROM events WHERE global_position = $1")
                .bind(position)
                .fetch_optional(&pool)
                .await
                .unwrap();
        assert_eq!(found.as_deref(), Some(id.as_str()), "acknowledged command at {position} is not stored");
    }

    let second = KlgProcess::serve(&url, &dir);
    klg_tests::wait_for_projections(&pool).await;
    let live = klg_tests::projection_snapshot(&pool).await;
    drop(second);
    let rebuild = run_project_rebuild(&url);
    assert!(rebuild.status.success(), "{}", String::from_utf8_lossy(&rebuild.stderr));
    assert_eq!(
        live,
        klg_tests::projection_snapshot(&pool).await,
        "the live projections differ from a rebuild"
    );
}

#[actix_rt::test]
async fn an_unwritable_blob_directory_answers_503_with_no_event_and_no_partial_file() {
    let app = klg_tests::spawn_app().await;
    // Root ignores permissions, so make the store's temporary area a file instead: every upload
    // fails to create its staging file there, as on a read-only or full disk.
    let tmp = app.blob_dir.join("tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::write(&tmp, b"not a directory").unwrap();
    let reply = app
        .upload(&[klg_tests::Part::file("WO-7781.pdf", "application/pdf", &vec![7u8; 3 * 1024 * 1024])])
        .await;
    reply.assert_problem(503);
    assert_eq!(reply.body["type"], "urn:klg:problem:blob-store-unavailable");
    assert_eq!(app.event_count().await, 0);
    let stored: Vec<_> = walk(&app.blob_dir).into_iter().filter(|p| p != &tmp).collect();
    assert!(stored.is_empty(), "left behind: {stored:?}");
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.body["checks"]["blob_store"]["status"], "failing", "{}", ready.body);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return vec![] };
    entries.flatten().flat_map(|e| if e.path().is_dir() { walk(&e.path()) } else { vec![e.path()] }).collect()
}
