//! The write side's in-process aggregate cache across processes: two real `klg serve` processes
//! on one database take turns on one aircraft. Each caches the aircraft as it last saw it; each
//! must still decide every command on the other's latest events — a stale cached aircraft must
//! never refuse what the store allows, nor allow what it refuses.

use awc::http::StatusCode;
use klg_tests::process::KlgProcess;
use klg_tests::{aircraft_body, fresh_database_url, read, DropDatabase, Reply};
use serde_json::{json, Value};

async fn post(
    client: &awc::Client,
    server: &KlgProcess,
    path: &str,
    body: Value,
    if_match: Option<u64>,
) -> Reply {
    let mut request = client.post(server.url(path));
    if let Some(version) = if_match {
        request = request.insert_header(("If-Match", format!("\"{version}\"")));
    }
    read(request.send_json(&body).await.unwrap()).await
}

#[actix_rt::test]
async fn each_process_decides_on_the_other_processes_latest_events() {
    let (url, name) = fresh_database_url();
    let _database = DropDatabase(name);
    let blobs = std::env::temp_dir().join(format!("klg-cache-{}", uuid::Uuid::new_v4().simple()));
    let (a, b) = (KlgProcess::serve(&url, &blobs), KlgProcess::serve(&url, &blobs));
    let client = klg_tests::admin_client();

    let registered = post(&client, &a, "/api/v1/aircraft", aircraft_body("RA-89501"), None).await;
    assert_eq!(registered.status, StatusCode::CREATED, "{}", registered.body);
    let id = registered.body["id"].as_str().unwrap().to_owned();
    let flight = json!({"flight_date": "2024-05-01", "block_hours": 1.5, "cycles": 1});

    // A cached the aircraft without a certificate; B issues one. A must let it fly.
    let certificate = json!({"number": "CA-1", "issued_on": "2020-01-01", "valid_until": "2030-12-31"});
    let issued = post(&client, &b, &format!("/api/v1/aircraft/{id}/certificates"), certificate, None).await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.body);
    let flown = post(&client, &a, &format!("/api/v1/aircraft/{id}/flights"), flight.clone(), None).await;
    assert_eq!((flown.status, flown.body["version"].as_u64()), (StatusCode::OK, Some(3)), "{}", flown.body);

    // B grounds it (A's cache says active): A must refuse the next flight.
    let grounded = post(
        &client,
        &b,
        &format!("/api/v1/aircraft/{id}/status"),
        json!({"status": "grounded", "reason": "bird strike"}),
        None,
    )
    .await;
    assert_eq!(grounded.status, StatusCode::OK, "{}", grounded.body);
    post(&client, &a, &format!("/api/v1/aircraft/{id}/flights"), flight, None).await.assert_problem(409);

    // Turns with If-Match: each process must know the version the other just wrote.
    let mut version = 4;
    for turn in 0..20 {
        let (server, status) = if turn % 2 == 0 { (&a, "in_maintenance") } else { (&b, "grounded") };
        let changed = post(
            &client,
            server,
            &format!("/api/v1/aircraft/{id}/status"),
            json!({"status": status, "reason": format!("turn {turn}")}),
            Some(version),
        )
        .await;
        assert_eq!(changed.status, StatusCode::OK, "turn {turn}: {}", changed.body);
        version += 1;
        assert_eq!(changed.body["version"].as_u64(), Some(version));
    }
    // A stale If-Match is still refused by both.
    for server in [&a, &b] {
        let stale = post(
            &client,
            server,
            &format!("/api/v1/aircraft/{id}/status"),
            json!({"status": "in_maintenance", "reason": "stale"}),
            Some(version - 1),
        )
        .await;
        stale.assert_problem(412);
    }

    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let sequences: Vec<i64> =
        sqlx::query_scalar("SELECT sequence FROM events WHERE aggregate_id = $1 ORDER BY sequence")
            .bind(&id)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(sequences, (1..=version as i64).collect::<Vec<_>>());
    pool.close().await;
}

/// A cache ahead of the store — the database restored to an earlier point, or failed over to a
/// replica that lost commits — must not decide: the append requires its predecessor, and the
/// command is decided again on what the store really holds.
#[actix_rt::test]
async fn a_cache_ahead_of_a_restored_store_decides_nothing() {
    let app = klg_tests::spawn_app().await;
    // Cached at version 2, with a certificate; the store restored to before the certificate.
    let id = app.certified_aircraft("RA-89511").await;
    app.restore_stream_to(&id, 1).await;
    let flight = json!({"flight_date": "2024-05-01", "block_hours": 1.0, "cycles": 1});
    let reply = app.post_json(&format!("/api/v1/aircraft/{id}/flights"), &flight).await;
    assert_eq!(reply.assert_problem(409)["type"], "urn:klg:problem:no-valid-certificate");
    let stored: Vec<i64> = app.events_of(&id).await.into_iter().map(|e| e.0).collect();
    assert_eq!(stored, [1], "nothing appended after a missing predecessor");
    // And a refusal decided on the phantom state is decided again on the store's.
    let certificate = json!({"number": "CA-2", "issued_on": "2020-01-01", "valid_until": "2030-12-31"});
    let issued = app.post_json(&format!("/api/v1/aircraft/{id}/certificates"), &certificate).await;
    assert_eq!((issued.status.as_u16(), issued.body["version"].as_u64()), (200, Some(2)), "{}", issued.body);
}
