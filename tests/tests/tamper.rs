//! Tamper evidence: the log is altered through SQL as a database superuser would (the append-only
//! guard switched off), and `klg audit verify` — recomputing every chain in Rust and checking
//! the seals against a key the database never held — finds each change; an untouched log
//! verifies. Over the API too, for auditors.

use awc::http::StatusCode;
use klg_tests::{spawn_app, TestApp};
use serde_json::{json, Value};

/// Four events on one aircraft: registered, certificate (issued 2020-01-01), status, flight.
async fn scenario(app: &TestApp, registration: &str) -> String {
    let id = app.certified_aircraft(registration).await;
    let status = json!({"status": "in_maintenance", "reason": "A-check"});
    assert_eq!(app.post_json(&format!("/api/v1/aircraft/{id}/status"), &status).await.status, StatusCode::OK);
    let flight = json!({"flight_date": "2024-05-01", "block_hours": 1.0, "cycles": 1});
    assert_eq!(
        app.post_json(&format!("/api/v1/aircraft/{id}/flights"), &flight).await.status,
        StatusCode::OK
    );
    id
}

/// A scenario's events, a seal over them with a fresh key; returns the trusted public key.
async fn sealed_log(app: &TestApp) -> (String, Vec<u8>) {
    let aircraft = scenario(app, "RA-89601").await;
    scenario(app, "RA-89602").await;
    let (private, public) = klg_audit::generate_key().unwrap();
    // A seal covers what every reader sees: wait until other tests' transactions let it.
    klg_tests::wait_until_readable(&app.pool).await;
    let seal = klg_audit::seal(&app.pool, &private).await.unwrap();
    assert!(seal.up_to_position > 0 && seal.streams >= 2, "{seal:?}");
    (aircraft, public)
}

async fn verify(app: &TestApp, key: Option<&[u8]>) -> klg_audit::VerifyReport {
    klg_audit::verify(&app.pool, key, |_| {}).await.unwrap()
}

async fn position_of(app: &TestApp, aircraft: &str, sequence: i64) -> i64 {
    sqlx::query_scalar("SELECT global_position FROM events WHERE aggregate_id = $1 AND sequence = $2")
        .bind(aircraft)
        .bind(sequence)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[actix_rt::test]
async fn an_untouched_log_verifies_and_its_seal_is_intact() {
    let app = spawn_app().await;
    let (_, key) = sealed_log(&app).await;
    let report = verify(&app, Some(&key)).await;
    assert!(report.ok, "{report:?}");
    assert_eq!(report.seals.len(), 1);
    assert_eq!(report.seals[0].status, "intact");
    let events = app.event_count().await as u64;
    assert_eq!(report.events_checked, events);
    // A seal by a key this verifier does not trust proves nothing.
    let (_, stranger) = klg_audit::generate_key().unwrap();
    let report = verify(&app, Some(&stranger)).await;
    assert_eq!(report.seals[0].status, "other_key");
    assert!(!report.ok);
}

#[actix_rt::test]
async fn an_edited_payload_is_reported_at_its_position() {
    let app = spawn_app().await;
    let (aircraft, key) = sealed_log(&app).await;
    let edited = position_of(&app, &aircraft, 2).await;
    app.tamper(&[&format!(
        "UPDATE events SET payload = replace(payload::text, '2020', '2019')::json WHERE global_position = {edited}"
    )])
    .await;
    let report = verify(&app, Some(&key)).await;
    let broken = report.first_broken.expect("the edit is found");
    assert_eq!((broken.global_position, broken.sequence), (edited, 2), "{}", broken.reason);
    assert!(!report.ok);
}

#[actix_rt::test]
async fn deleted_inserted_and_reordered_events_break_their_chain() {
    for (case, statements) in [
        ("delete", vec!["DELETE FROM events WHERE aggregate_id = '{a}' AND sequence = 2"]),
        (
            "insert",
            vec![
                // Make room at 2 (via a detour: the key is checked row by row).
                "UPDATE events SET sequence = sequence + 1000 WHERE aggregate_id = '{a}' AND sequence >= 2",
                "UPDATE events SET sequence = sequence - 999 WHERE aggregate_id = '{a}' AND sequence >= 1000",
                "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
                 SELECT aggregate_type, aggregate_id, 2, event_type, event_version, payload, metadata FROM events \
                 WHERE aggregate_id = '{a}' AND sequence = 3",
            ],
        ),
        (
            // Events 2 and 3 exchange places (content, type and metadata; sequence and position stay).
            "reorder",
            vec![
                "UPDATE events e SET payload = o.payload, event_type = o.event_type, metadata = o.metadata \
                 FROM events o WHERE e.aggregate_id = '{a}' AND o.aggregate_id = '{a}' \
                 AND ((e.sequence = 2 AND o.sequence = 3) OR (e.sequence = 3 AND o.sequence = 2))",
            ],
        ),
    ] {
        let app = spawn_app().await;
        let (aircraft, key) = sealed_log(&app).await;
        let statements: Vec<String> = statements.iter().map(|s| s.replace("{a}", &aircraft)).collect();
        app.tamper(&statements.iter().map(String::as_str).collect::<Vec<_>>()).await;
        let report = verify(&app, Some(&key)).await;
        let broken = report.first_broken.as_ref().unwrap_or_else(|| panic!("{case} went unnoticed: {report:?}"));
        assert_eq!(broken.aggregate_id, aircraft, "{case}");
        assert!(!report.ok, "{case}");
    }
}

#[actix_rt::test]
async fn a_stream_rewritten_with_recomputed_hashes_passes_the_chains_but_not_the_seal() {
    let app = spawn_app().await;
    let (aircraft, key) = sealed_log(&app).await;
    // Rewrite the payload of event 2 and recompute the whole chain of the stream, as someone
    // who knows the hashing scheme (it is public) would.
    app.tamper(&[
        &format!("UPDATE events SET payload = replace(payload::text, '2020', '2019')::json WHERE aggregate_id = '{aircraft}' AND sequence = 2"),
        &format!(
            "DO $$ DECLARE e record; prev bytea := '\\x{zero}'::bytea; BEGIN \
               FOR e IN SELECT * FROM events WHERE aggregate_id = '{aircraft}' ORDER BY sequence LOOP \
                 prev := klg_event_hash(prev, e.aggregate_type, e.aggregate_id, e.sequence, e.event_type, e.event_version, e.payload, e.metadata, e.global_position); \
                 UPDATE events SET hash = prev WHERE global_position = e.global_position; \
               END LOOP; END $$",
            zero = "00".repeat(32)
        ),
    ])
    .await;
    let report = verify(&app, Some(&key)).await;
    assert_eq!(report.first_broken, None, "the chains are consistent again");
    assert_eq!(report.seals[0].status, "altered", "{report:?}");
    assert!(!report.ok);
}

#[actix_rt::test]
async fn losing_a_streams_latest_events_or_forging_a_seal_is_found_by_the_seal() {
    let app = spawn_app().await;
    let (aircraft, key) = sealed_log(&app).await;
    app.tamper(&[&format!(
        "DELETE FROM events WHERE aggregate_id = '{aircraft}' AND sequence = (SELECT max(sequence) FROM events WHERE aggregate_id = '{aircraft}')"
    )])
    .await;
    let report = verify(&app, Some(&key)).await;
    assert_eq!(report.first_broken, None, "a shorter chain is still a chain");
    assert_eq!(report.seals[0].status, "altered");

    sqlx::query("UPDATE audit_seals SET heads_sha256 = sha256(heads_sha256)")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(verify(&app, Some(&key)).await.seals[0].status, "bad_signature");
}

#[actix_rt::test]
async fn auditors_verify_over_the_api_and_the_cli_exits_1_on_an_altered_log() {
    let (_, public) = klg_audit::generate_key().unwrap();
    let app = klg_tests::spawn_app_with(|s| s.audit_public_key = Some(hex::encode(&public))).await;
    scenario(&app, "RA-89603").await;
    let reply = app.get("/api/v1/audit/verify").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["ok"], Value::Bool(true));
    assert!(reply.body["events_checked"].as_u64().unwrap() > 0);

    let url = format!("{}/{}", klg_tests::postgres_server_url(), current_database(&app).await);
    let run = || {
        std::process::Command::new(klg_tests::process::klg_binary())
            .args(["audit", "verify"])
            .env("DATABASE_URL", &url)
            .output()
            .unwrap()
    };
    assert!(run().status.success());
    app.tamper(&["UPDATE events SET metadata = replace(metadata::text, 'bootstrap-admin', 'someone-else')::json WHERE sequence = 1"]).await;
    let altered = run();
    assert_eq!(altered.status.code(), Some(1));
    let printed: Value = serde_json::from_slice(&altered.stdout).unwrap();
    assert!(printed["first_broken"]["global_position"].is_i64(), "{printed}");
}

async fn current_database(app: &TestApp) -> String {
    sqlx::query_scalar("SELECT current_database()").fetch_one(&app.pool).await.unwrap()
}

#[actix_rt::test]
async fn events_stored_before_hashes_existed_are_chained_by_the_migration() {
    let (url, name) = klg_tests::fresh_database_url();
    let _database = klg_tests::DropDatabase(name);
    let pool = klg_commands::db::connect(&url, 4).await.unwrap();
    // The schema as it was before migration 0006, and events written by today's command path.
    let before = sqlx::migrate::Migrator {
        migrations: std::borrow::Cow::Owned(
            klg_api::startup::MIGRATOR.migrations.iter().filter(|m| m.version < 6).cloned().collect(),
        ),
        ..sqlx::migrate::Migrator::DEFAULT
    };
    before.run(&pool).await.unwrap();
    let write = klg_commands::WriteSide::new(pool.clone());
    klg_tests::scenario::run(&write, 7, 60).await;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM events").fetch_one(&pool).await.unwrap();
    klg_api::startup::MIGRATOR.run(&pool).await.unwrap();
    let unchained: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE hash IS NULL").fetch_one(&pool).await.unwrap();
    assert_eq!(unchained, 0);
    let report = klg_audit::verify(&pool, None, |_| {}).await.unwrap();
    assert!(report.ok && report.events_checked == stored as u64 && stored > 20, "{report:?}");
}

/// The stored log, every column an export carries, in position order.
async fn stored_log(pool: &sqlx::PgPool) -> Vec<Value> {
    sqlx::query_scalar(
        "SELECT to_jsonb(e) FROM (SELECT global_position, aggregate_type, aggregate_id, sequence, event_type, \
                event_version, payload::text AS payload, metadata::text AS metadata, event_id, recorded_at, \
                encode(hash, 'hex') AS hash FROM events ORDER BY global_position) e",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

fn klg(args: &[&str], database_url: &str) -> std::process::Output {
    std::process::Command::new(klg_tests::process::klg_binary())
        .args(args)
        .env("DATABASE_URL", database_url)
        .output()
        .unwrap()
}

#[actix_rt::test]
async fn an_export_imports_into_an_empty_store_with_the_same_events_positions_and_hashes() {
    let app = spawn_app().await;
    let aircraft = scenario(&app, "RA-89604").await;
    // Text that CSV must quote and JSON must escape, in a payload and in the metadata.
    let status = json!({"status": "grounded", "reason": "Допуск, \"CRS\" 2026\\11; после A-check"});
    let reply = app
        .send_json(
            "POST",
            &format!("/api/v1/aircraft/{aircraft}/status"),
            &status,
            &[("X-Correlation-Id", "wo,\"7\"")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    app.upload_document().await;
    klg_tests::wait_until_readable(&app.pool).await;
    klg_tests::wait_for_projections(&app.pool).await;
    let source_url = format!("{}/{}", klg_tests::postgres_server_url(), current_database(&app).await);
    let original = stored_log(&app.pool).await;
    let projections = klg_tests::projection_snapshot(&app.pool).await;
    let dir = std::env::temp_dir().join(format!("klg-export-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();

    for format in ["jsonl", "csv"] {
        let file = dir.join(format!("klg.{format}"));
        let file = file.to_str().unwrap();
        let exported = klg(&["export", "--format", format, "--out", file], &source_url);
        assert!(exported.status.success(), "{}", String::from_utf8_lossy(&exported.stderr));

        let (url, name) = klg_tests::fresh_database_url();
        let _database = klg_tests::DropDatabase(name);
        let imported = klg(&["import", "--format", format, file], &url);
        assert!(imported.status.success(), "{format}: {}", String::from_utf8_lossy(&imported.stderr));
        let pool = klg_commands::db::connect(&url, 4).await.unwrap();
        assert_eq!(stored_log(&pool).await, original, "{format}: the same events, positions and hashes");
        let report = klg_audit::verify(&pool, None, |_| {}).await.unwrap();
        assert!(report.ok && report.events_checked == original.len() as u64, "{report:?}");
        // The read side rebuilt from the imported log is the original's (once other tests'
        // transactions let the log's horizon pass the import).
        klg_tests::wait_until_readable(&pool).await;
        klg_projections::Subscription::new(
            klg_projections::PROJECTIONS,
            "test",
            pool.clone(),
            klg_projections::Projector,
        )
        .catch_up()
        .await
        .unwrap();
        assert_eq!(klg_tests::projection_snapshot(&pool).await, projections, "{format}");
        // The next append continues after the imported positions.
        let write = klg_commands::WriteSide::new(pool.clone());
        klg_tests::scenario::run(&write, 1, 3).await;
        let after: i64 =
            sqlx::query_scalar("SELECT min(global_position) FROM events WHERE global_position > $1")
                .bind(original.last().unwrap()["global_position"].as_i64().unwrap())
                .fetch_one(&pool)
                .await
                .unwrap();
        assert!(after > 0);

        let again = klg(&["import", "--format", format, file], &url);
        assert!(!again.status.success());
        assert!(
            String::from_utf8_lossy(&again.stderr).contains("not empty"),
            "{}",
            String::from_utf8_lossy(&again.stderr)
        );
    }

    // An export altered on the way is refused at the altered event, and nothing is stored.
    let jsonl = std::fs::read_to_string(dir.join("klg.jsonl")).unwrap();
    let altered = dir.join("altered.jsonl");
    std::fs::write(&altered, jsonl.replacen("A-check", "B-check", 1)).unwrap();
    let (url, name) = klg_tests::fresh_database_url();
    let _database = klg_tests::DropDatabase(name);
    let refused = klg(&["import", altered.to_str().unwrap()], &url);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("does not hash"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let pool = klg_commands::db::connect(&url, 2).await.unwrap();
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM events").fetch_one(&pool).await.unwrap();
    assert_eq!(stored, 0, "all or nothing");

    // An export that lost a stream's first event is refused at the gap it leaves, nothing stored.
    let truncated = dir.join("truncated.jsonl");
    std::fs::write(&truncated, jsonl.lines().skip(1).collect::<Vec<_>>().join("\n")).unwrap();
    let (url, name) = klg_tests::fresh_database_url();
    let _database = klg_tests::DropDatabase(name);
    let refused = klg(&["import", truncated.to_str().unwrap()], &url);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("incomplete") && stderr.contains("no predecessor"), "{stderr}");
    let pool = klg_commands::db::connect(&url, 2).await.unwrap();
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM events").fetch_one(&pool).await.unwrap();
    assert_eq!(stored, 0, "all or nothing");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Every stream is gap-free, whoever inserts (migration 0013): a stream starts at 1 and each
/// event follows its predecessor, else the store refuses the event and its statement stores
/// nothing. The append relies on it: its guard against deciding on a state the store no longer
/// holds is this refusal.
#[actix_rt::test]
async fn the_store_refuses_an_event_whose_predecessor_is_not_in_its_stream() {
    let app = spawn_app().await;
    let stream = uuid::Uuid::new_v4().to_string();
    let insert = |sequences: &'static [i64]| {
        sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
             SELECT 'Probe', $1, s, 'Probed', '1.0', '{\"Probed\": {}}', '{}' FROM unnest($2::bigint[]) s",
        )
        .bind(&stream)
        .bind(sequences)
        .execute(&app.pool)
    };
    for gapped in [&[2_i64][..], &[0], &[1, 3]] {
        let refused = insert(gapped).await.unwrap_err();
        let refused = refused.as_database_error().expect("refused by the database");
        assert_eq!(
            (refused.code().as_deref(), refused.constraint()),
            (Some("23503"), Some("events_predecessor")),
            "{gapped:?}: {refused}"
        );
    }
    assert_eq!(app.events_of(&stream).await.len(), 0, "a refused statement stores nothing");
    insert(&[1, 2]).await.unwrap();
    insert(&[3]).await.unwrap();
    assert!(insert(&[5]).await.is_err());
    let sequences: Vec<i64> = app.events_of(&stream).await.into_iter().map(|e| e.0).collect();
    assert_eq!(sequences, [1, 2, 3]);
}

/// The appending trigger stamps every event's metadata with its own event id and recording time,
/// whatever shape the metadata arrives in (the appender's compact object gets the stamps written
/// in front as text; anything else, stamps of another event included, is merged as JSON), and
/// records an idempotency key only when it is a top-level entry. Every result verifies.
#[actix_rt::test]
async fn every_shape_of_metadata_is_stamped_and_chained_and_verifies() {
    let app = spawn_app().await;
    let stream = uuid::Uuid::new_v4().to_string();
    let shapes = [
        r#"{"actor":"planner","command":"LogFlight"}"#,
        r#"{}"#,
        r#" { "actor" : "planner" } "#,
        r#"{"actor":"planner","note":"\"idempotency_key\" in a value","event_id":"forged"}"#,
    ];
    for (sequence, metadata) in (1i64..).zip(shapes) {
        sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
             VALUES ('Probe', $1, $2, 'Probed', '1.0', '{\"Probed\": {}}', $3::json)",
        )
        .bind(&stream)
        .bind(sequence)
        .bind(metadata)
        .execute(&app.pool)
        .await
        .unwrap();
    }
    // The same events again in another stream with new ids (their metadata carries the first
    // stream's stamps): each is stamped with its own.
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         SELECT aggregate_type, aggregate_id || '-copy', sequence, event_type, event_version, payload, metadata \
         FROM events WHERE aggregate_id = $1 ORDER BY sequence",
    )
    .bind(&stream)
    .execute(&app.pool)
    .await
    .unwrap();
    let stamped: Vec<(String, bool, Option<String>)> = sqlx::query_as(
        "SELECT metadata::text, \
                (metadata::jsonb ->> 'event_id', metadata::jsonb ->> 'recorded_at') \
                = (event_id::text, to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')), \
                metadata::jsonb ->> 'actor' \
         FROM events WHERE aggregate_id IN ($1, $1 || '-copy') ORDER BY aggregate_id, sequence",
    )
    .bind(&stream)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(stamped.len(), 8);
    for (text, own_stamps, _) in &stamped {
        assert!(own_stamps, "{text}");
    }
    assert!(stamped[0].0.starts_with(r#"{"event_id":""#), "written in front: {}", stamped[0].0);
    assert_eq!(stamped[2].2.as_deref(), Some("planner"));
    let keys: i64 =
        sqlx::query_scalar("SELECT count(*) FROM idempotency_keys WHERE aggregate_id LIKE $1 || '%'")
            .bind(&stream)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(keys, 0, "a key's name inside a value is not a key");
    let report = klg_audit::verify(&app.pool, None, |_| {}).await.unwrap();
    assert!(report.ok && report.events_checked >= 8, "{report:?}");
}
