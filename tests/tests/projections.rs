//! Projections are exactly the state folded from the stored events, survive a projector
//! killed mid-batch, and can be rebuilt from the log.

use cqrs_es::Aggregate;
use klg_commands::WriteSide;
use klg_domain::aircraft::{Aircraft, AircraftEvent};
use klg_domain::inbox::InboxItem;
use klg_projections::projector::reset;
use klg_projections::{Projector, Subscription, PROJECTIONS};
use klg_tests::process::run_project_rebuild;
use klg_tests::{
    projection_snapshot, scenario, spawn_app, spawn_app_with, wait_for_projections, wait_until_readable,
};
use rand::Rng;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

/// The aggregate folded from its stored events, as cqrs-es would load it.
async fn fold<A: Aggregate>(pool: &PgPool, id: Uuid) -> A {
    let payloads: Vec<Value> = sqlx::query_scalar(
        "SELECT payload FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY sequence",
    )
    .bind(A::TYPE)
    .bind(id.to_string())
    .fetch_all(pool)
    .await
    .unwrap();
    let mut aggregate = A::default();
    for payload in payloads {
        aggregate.apply(serde_json::from_value(payload).expect("stored event decodes"));
    }
    aggregate
}

async fn row(pool: &PgPool, table: &str, id: Uuid) -> Value {
    sqlx::query_scalar(&format!("SELECT to_jsonb(t) - 'search' FROM {table} t WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(pool)
        .await
        .unwrap()
        .unwrap_or(Value::Null)
}

fn text<T: ToString>(v: Option<T>) -> Value {
    v.map_or(Value::Null, |v| Value::String(v.to_string()))
}

#[actix_rt::test]
async fn every_projection_row_equals_the_state_folded_from_the_stored_events() {
    let app = spawn_app().await;
    let write = WriteSide::new(app.pool.clone());
    let runs = futures_util::future::join_all((0..4).map(|seed| scenario::run(&write, seed, 250))).await;
    let counts: Vec<_> = runs.iter().map(|r| (r.applied, r.refused)).collect();
    assert!(
        runs.iter().all(|r| r.applied > 50 && r.refused > 0),
        "the scenario must apply and refuse commands: {counts:?}"
    );
    wait_for_projections(&app.pool).await;

    for id in runs.iter().flat_map(|r| r.aircraft.iter().copied()) {
        let aircraft: Aircraft = fold(&app.pool, id).await;
        let row = row(&app.pool, "aircraft", id).await;
        assert_eq!(row["version"], aircraft.version(), "{id}");
        assert_eq!(row["status"], aircraft.status().as_str(), "{id}");
        assert_eq!(row["registration_number"], text(aircraft.registration_number()), "{id}");
        assert_eq!(row["operator"], text(aircraft.operator()), "{id}");
        assert_eq!(row["model"], text(aircraft.model()), "{id}");
        assert_eq!(row["base_airport"], text(aircraft.base_airport()), "{id}");
        assert_eq!(row["notes"], text(aircraft.notes()), "{id}");
        assert_eq!(row["total_block_minutes"], aircraft.total_block_minutes(), "{id}");
        assert_eq!(row["total_cycles"], aircraft.total_cycles(), "{id}");
        let latest =
            aircraft.certificates().iter().max_by_key(|c| c.valid_until).map(|c| c.valid_until.to_string());
        assert_eq!(row["certificate_valid_until"], text(latest), "{id}");
        let history: i64 = sqlx::query_scalar("SELECT count(*) FROM aircraft_history WHERE aircraft_id = $1")
            .bind(id.to_string())
            .fetch_one(&app.pool)
            .await
            .unwrap();
        assert_eq!(history as u64, aircraft.version(), "{id}");
        // Statistics are per airframe, even when its registration number passed to another.
        let stats: Option<(String, i64)> = sqlx::query_as(
            "SELECT registration_number, total_events FROM aircraft_stats WHERE aircraft_id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&app.pool)
        .await
        .unwrap();
        let number = aircraft.registration_number().map(ToString::to_string);
        assert_eq!(stats, number.map(|n| (n, aircraft.version() as i64)), "{id}");
    }
    let reused: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT registration_number FROM aircraft GROUP BY 1 HAVING count(*) > 1) r",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(reused > 0, "the scenario must pass a registration number to another aircraft");
    for id in runs.iter().flat_map(|r| r.documents.iter().copied()) {
        let item: InboxItem = fold(&app.pool, id).await;
        let row = row(&app.pool, "inbox_files", id).await;
        assert_eq!(row["version"], item.version(), "{id}");
        assert_eq!(row["status"], item.status().as_str(), "{id}");
        let document_type = item.document_type().map(|t| serde_json::to_value(t).unwrap());
        assert_eq!(row["document_type"], document_type.unwrap_or(Value::Null), "{id}");
        assert_eq!(row["aircraft_id"], text(item.aircraft_id()), "{id}");
    }
    let stats: i64 = sqlx::query_scalar("SELECT coalesce(sum(total_events), 0)::bigint FROM aircraft_stats")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let aircraft_events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_type = 'Aircraft'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stats, aircraft_events);
}

/// Migration 0004 re-keys `aircraft_stats` by aircraft id without a rebuild: from the schema
/// before it (one row per registration number, airframes sharing a number merged), it refills the
/// table from `aircraft_history` exactly as the projector keeps it, and the hourly view with it.
#[actix_rt::test]
async fn the_per_airframe_migration_refills_aircraft_stats_as_the_projector_keeps_them() {
    let app = spawn_app_with(|s| s.run_projector = false).await;
    let write = WriteSide::new(app.pool.clone());
    scenario::run(&write, 3, 400).await;
    wait_until_readable(&app.pool).await;
    Subscription::new(PROJECTIONS, "test", app.pool.clone(), Projector).catch_up().await.unwrap();
    let projected = projection_snapshot(&app.pool).await;
    let hourly = "SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY aircraft_id, window_start), '[]'::jsonb) \
                  FROM aircraft_event_stats_hourly t";
    let hourly_before: Value = sqlx::query_scalar(hourly).fetch_one(&app.pool).await.unwrap();

    // The schema and contents before 0004 (migrations 0002 and 0003).
    sqlx::raw_sql(
        "DROP VIEW aircraft_event_stats_hourly; DROP TABLE aircraft_stats; \
         CREATE TABLE aircraft_stats (registration_number text PRIMARY KEY, total_events bigint NOT NULL, \
                                      last_event timestamptz NOT NULL); \
         INSERT INTO aircraft_stats SELECT a.registration_number, count(*), max(h.recorded_at) \
         FROM aircraft_history h JOIN aircraft a ON a.id = h.aircraft_id GROUP BY 1; \
         CREATE VIEW aircraft_event_stats_hourly AS SELECT a.registration_number, count(*) AS total_events \
         FROM aircraft_history h JOIN aircraft a ON a.id = h.aircraft_id GROUP BY 1",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let (merged, aircraft): (i64, i64) =
        sqlx::query_as("SELECT (SELECT count(*) FROM aircraft_stats), (SELECT count(*) FROM aircraft)")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(merged < aircraft, "no registration number was reused: {merged} rows for {aircraft} aircraft");

    // sqlx runs a migration in one transaction.
    let migration = include_str!("../../migrations/0004_statistics_per_airframe.sql");
    sqlx::raw_sql(&format!("BEGIN; {migration}; COMMIT")).execute(&app.pool).await.unwrap();
    assert_eq!(projection_snapshot(&app.pool).await, projected);
    let hourly_after: Value = sqlx::query_scalar(hourly).fetch_one(&app.pool).await.unwrap();
    assert_eq!(hourly_after, hourly_before);
}

#[actix_rt::test]
async fn a_projector_killed_mid_batch_leaves_projections_exactly_as_a_clean_rebuild() {
    let app = spawn_app_with(|s| s.run_projector = false).await;
    let write = WriteSide::new(app.pool.clone());
    scenario::run(&write, 7, 300).await;
    let mut interrupted_with_work_left = 0;
    for round in 0..12u64 {
        // The projector runs on connections of its own, closed when it is stopped, as a crashed
        // process's would be: a task aborted mid-statement can leave its connection inside a
        // transaction, which a shared pool would hand to the next user.
        let connections = sqlx::postgres::PgPoolOptions::new()
            .max_connections(4)
            .connect_with((*app.pool.connect_options()).clone())
            .await
            .unwrap();
        let subscription =
            Subscription::new(PROJECTIONS, "crash-test", connections.clone(), Projector).with_batch_size(20);
        let task = tokio::spawn(subscription.run());
        // Every other round stops the projector as soon as the writes are in, while it is
        // surely still at work (with random pauses alone, a fast machine could always finish).
        let (writing, pause) = {
            let mut rng = rand::thread_rng();
            (rng.gen_range(5..30), if round % 2 == 0 { 0 } else { rng.gen_range(2..40) })
        };
        scenario::run(&write, 100 + round, writing).await;
        tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
        task.abort();
        let _ = task.await;
        connections.close().await;
        let lag = klg_projections::subscription::lag(&app.pool, PROJECTIONS).await.unwrap();
        if lag.is_some_and(|l| l.lag_events > 0) {
            interrupted_with_work_left += 1;
        }
    }
    assert!(interrupted_with_work_left > 0, "the projector was never interrupted with work left");

    let survivor = Subscription::new(PROJECTIONS, "crash-test", app.pool.clone(), Projector);
    wait_until_readable(&app.pool).await;
    survivor.catch_up().await.unwrap();
    let after_crashes = projection_snapshot(&app.pool).await;
    let (handled, total): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT events_handled FROM subscription_checkpoints WHERE name = $1), (SELECT count(*) FROM events)",
    )
    .bind(PROJECTIONS)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(handled, total, "every event handled exactly once");

    reset(&app.pool).await.unwrap();
    assert_eq!(projection_snapshot(&app.pool).await["aircraft"], serde_json::json!([]));
    survivor.catch_up().await.unwrap();
    assert_eq!(projection_snapshot(&app.pool).await, after_crashes);
}

#[actix_rt::test]
async fn a_duplicate_or_out_of_order_event_stops_the_projector_instead_of_corrupting_a_row() {
    let app = spawn_app_with(|s| s.run_projector = false).await;
    let id = app.certified_aircraft("RA-89301").await;
    let projector = Subscription::new(PROJECTIONS, "test", app.pool.clone(), Projector);
    wait_until_readable(&app.pool).await;
    projector.catch_up().await.unwrap();
    // Forge a stored event whose sequence skips one: the row's version guard must refuse it. The
    // store refuses a gap (migration 0013), so the forger stores event 3 and renumbers it, with
    // the append-only guard switched off.
    let flight = AircraftEvent::FlightLogged {
        flight_date: "2024-01-01".parse().unwrap(),
        block_minutes: klg_domain::values::BlockMinutes::from_minutes(60),
        cycles: 1,
        route: None,
    };
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         VALUES ('Aircraft', $1, 3, 'FlightLogged', '2.0', $2, '{}')",
    )
    .bind(id.to_string())
    .bind(sqlx::types::Json(&flight))
    .execute(&app.pool)
    .await
    .unwrap();
    app.tamper(&[&format!("UPDATE events SET sequence = 4 WHERE aggregate_id = '{id}' AND sequence = 3")])
        .await;
    wait_until_readable(&app.pool).await;
    let error = projector.catch_up().await.unwrap_err().to_string();
    assert!(error.contains("not at version 3"), "{error}");
    let row = row(&app.pool, "aircraft", id.parse().unwrap()).await;
    assert_eq!((row["version"].as_i64(), row["total_cycles"].as_i64()), (Some(2), Some(0)));
}

/// An idle subscription reads without locking: polling four times a second must not lock the
/// checkpoint row (each lock burns a transaction id and holds the cluster's xmin horizon), and a
/// standby keeps one connection for its lock attempts instead of opening one every second.
#[actix_rt::test]
async fn idle_polls_take_no_locks_and_a_standby_keeps_one_connection() {
    let app = klg_tests::spawn_app().await;
    let reply = app.post_json("/api/v1/aircraft", &klg_tests::aircraft_body("RA-89601")).await;
    assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
    klg_tests::wait_for_projections(&app.pool).await;
    let standby = klg_projections::Subscription::new(
        klg_projections::PROJECTIONS,
        "standby",
        app.pool.clone(),
        klg_projections::Projector,
    );
    let standby = tokio::spawn(standby.run());

    let checkpoint_xmax = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT xmax::text FROM subscription_checkpoints WHERE name = 'projections'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap()
    };
    let lock_attempt_connections = || async {
        sqlx::query_scalar::<_, i32>(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() \
             AND query LIKE 'SELECT pg_try_advisory_lock%'",
        )
        .fetch_all(&app.pool)
        .await
        .unwrap()
    };
    let before = checkpoint_xmax().await;
    let mut seen: std::collections::HashMap<i32, usize> = std::collections::HashMap::new();
    let samples = 14;
    for _ in 0..samples {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        for pid in lock_attempt_connections().await {
            *seen.entry(pid).or_default() += 1;
        }
    }
    assert_eq!(checkpoint_xmax().await, before, "an idle poll locked the checkpoint row");
    // The standby's kept connection shows in (nearly) every sample; a connection opened per
    // attempt would live for milliseconds and rarely be seen, a different one each time.
    assert!(seen.len() <= 2, "lock attempts came from {} connections: {seen:?}", seen.len());
    assert!(seen.values().any(|n| *n >= samples - 2), "no lock connection was kept: {seen:?}");
    standby.abort();
}

/// Index and constraint names of the projection tables, and the views over them.
async fn read_side_schema(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT kind || ' ' || name FROM ( \
           SELECT 'index' AS kind, indexname::text AS name FROM pg_indexes WHERE schemaname = 'public' \
             AND tablename = ANY($1) \
           UNION ALL SELECT 'view', viewname::text FROM pg_views WHERE schemaname = 'public' \
           UNION ALL SELECT 'options', relname || ' ' || array_to_string(reloptions, ',') FROM pg_class \
             WHERE relnamespace = 'public'::regnamespace AND relname = ANY($1) AND reloptions IS NOT NULL) s \
         ORDER BY 1",
    )
    .bind(klg_projections::projector::PROJECTION_TABLES.to_vec())
    .fetch_all(pool)
    .await
    .unwrap()
}

/// The statistics views' rows (they are recreated over the swapped tables).
async fn statistics(pool: &PgPool) -> Value {
    sqlx::query_scalar(
        "SELECT jsonb_build_array( \
           (SELECT coalesce(jsonb_agg(to_jsonb(v) ORDER BY to_jsonb(v)::text), '[]') FROM fleet_utilization_daily v), \
           (SELECT coalesce(jsonb_agg(to_jsonb(v) ORDER BY to_jsonb(v)::text), '[]') FROM inbox_intake_hourly v), \
           (SELECT coalesce(jsonb_agg(to_jsonb(v) ORDER BY to_jsonb(v)::text), '[]') FROM aircraft_event_stats_hourly v))",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

fn replay(database_url: &str, args: &[&str]) -> Value {
    let output = std::process::Command::new(klg_tests::process::klg_binary())
        .args(["replay", "projections"])
        .args(args)
        .env("DATABASE_URL", database_url)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.stderr.iter().all(|b| *b != b'\r'), "no progress bar when stderr is not a terminal");
    serde_json::from_slice(&output.stdout).unwrap()
}

#[actix_rt::test]
async fn a_replay_builds_fresh_tables_and_swaps_them_in_while_readers_and_writers_carry_on() {
    let app = spawn_app().await;
    let write = WriteSide::new(app.pool.clone());
    scenario::run(&write, 31, 3_000).await;
    wait_until_readable(&app.pool).await;
    wait_for_projections(&app.pool).await;
    let url = format!("{}/{}", klg_tests::postgres_server_url(), current_database(&app.pool).await);
    let before = projection_snapshot(&app.pool).await;
    let schema = read_side_schema(&app.pool).await;
    let stats = statistics(&app.pool).await;
    // Readers through the pool (prepared statements on the live tables) and over HTTP, for as
    // long as the replay runs: every answer is the whole projection.
    let reader = WholeProjectionReader::start(&app, true).await;
    let report = {
        let url = url.clone();
        actix_rt::task::spawn_blocking(move || replay(&url, &[])).await.unwrap()
    };
    assert!(reader.stop().await > 0);
    assert_eq!(report["events_read"].as_u64(), Some(app.event_count().await as u64), "{report}");
    assert_eq!(projection_snapshot(&app.pool).await, before);
    assert!(schema.contains(&"options aircraft fillfactor=70".to_owned()), "{schema:?}");
    assert_eq!(read_side_schema(&app.pool).await, schema, "same index names, views recreated, same storage");
    assert_eq!(statistics(&app.pool).await, stats);
    let leftover: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'klg_rebuild')")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(!leftover);

    // Writers go on during a replay of one projection; the live projector carries on from the
    // swapped-in tables without a gap or a double application, and another replay with the log
    // at rest gives the same tables.
    let writer = {
        let write = WriteSide::new(app.pool.clone());
        actix_rt::spawn(async move { scenario::run(&write, 32, 1_500).await })
    };
    let only = {
        let url = url.clone();
        actix_rt::task::spawn_blocking(move || replay(&url, &["--only", "aircraft"])).await.unwrap()
    };
    assert_eq!(only["tables"], serde_json::json!(["aircraft", "aircraft_stats", "aircraft_directives"]));
    writer.await.unwrap();
    wait_until_readable(&app.pool).await;
    wait_for_projections(&app.pool).await;
    let live = projection_snapshot(&app.pool).await;
    let url2 = url.clone();
    actix_rt::task::spawn_blocking(move || replay(&url2, &[])).await.unwrap();
    assert_eq!(projection_snapshot(&app.pool).await, live);
    let id = app.register_aircraft("RA-89801").await;
    wait_for_projections(&app.pool).await;
    assert_eq!(app.get(&format!("/api/v1/aircraft/{id}")).await.status, 200);

    // On a terminal (a pseudo-terminal from util-linux's `script`), the replay shows its bar.
    let command = format!("{} replay projections --only inbox", klg_tests::process::klg_binary().display());
    let on_terminal = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&on_terminal.stdout);
    assert!(on_terminal.status.success(), "{shown}");
    assert!(shown.contains("replay [") && shown.contains("events/s, ETA"), "{shown}");

    let unknown = std::process::Command::new(klg_tests::process::klg_binary())
        .args(["replay", "projections", "--only", "fleet"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no projection named"));
}

async fn current_database(pool: &PgPool) -> String {
    sqlx::query_scalar("SELECT current_database()").fetch_one(pool).await.unwrap()
}

/// Reads the aircraft projection over and over until stopped (through the pool, and over HTTP
/// if asked): every answer must be all of it — the aircraft count and total cycles it had when
/// the reader started.
struct WholeProjectionReader {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    reads: actix_rt::task::JoinHandle<usize>,
}

impl WholeProjectionReader {
    async fn start(app: &klg_tests::TestApp, over_http: bool) -> Self {
        let whole = "SELECT count(*), sum(total_cycles)::bigint FROM aircraft";
        let expected: (i64, i64) = sqlx::query_as(whole).fetch_one(&app.pool).await.unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (pool, stopped, client, list) =
            (app.pool.clone(), stop.clone(), app.client.clone(), app.url("/api/v1/aircraft?limit=1"));
        let reads = actix_rt::spawn(async move {
            let mut reads = 0;
            while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                let seen: (i64, i64) = sqlx::query_as(whole).fetch_one(&pool).await.unwrap();
                assert_eq!(seen, expected, "a reader saw a half-built projection");
                if over_http {
                    assert_eq!(client.get(&list).send().await.unwrap().status(), 200);
                }
                reads += 1;
            }
            reads
        });
        Self { stop, reads }
    }

    /// Stops reading; answers how many reads were made.
    async fn stop(self) -> usize {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.reads.await.unwrap()
    }
}

/// [`run_project_rebuild`], which must succeed.
fn project_rebuild(database_url: &str) {
    let output = run_project_rebuild(database_url);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.stderr.iter().all(|b| *b != b'\r'), "no progress bar when stderr is not a terminal");
}

#[actix_rt::test]
async fn project_rebuild_folds_the_whole_log_aside_and_swaps_it_in_with_the_live_projector_running() {
    let app = spawn_app().await;
    let write = WriteSide::new(app.pool.clone());
    scenario::run(&write, 41, 1_000).await;
    wait_until_readable(&app.pool).await;
    wait_for_projections(&app.pool).await;
    let url = format!("{}/{}", klg_tests::postgres_server_url(), current_database(&app.pool).await);
    let before = projection_snapshot(&app.pool).await;
    // The projections are never emptied: readers see the whole of them throughout.
    let reader = WholeProjectionReader::start(&app, false).await;
    let rebuilt = url.clone();
    actix_rt::task::spawn_blocking(move || project_rebuild(&rebuilt)).await.unwrap();
    assert!(reader.stop().await > 0);
    assert_eq!(projection_snapshot(&app.pool).await, before);

    // Writers go on during a rebuild: the live projector carries on from where the rebuild
    // moved the checkpoint, with no event skipped or applied twice — a second rebuild with the
    // log at rest gives the same tables.
    let writer = {
        let write = WriteSide::new(app.pool.clone());
        actix_rt::spawn(async move { scenario::run(&write, 42, 1_500).await })
    };
    let during = url.clone();
    actix_rt::task::spawn_blocking(move || project_rebuild(&during)).await.unwrap();
    writer.await.unwrap();
    wait_until_readable(&app.pool).await;
    wait_for_projections(&app.pool).await;
    let live = projection_snapshot(&app.pool).await;
    actix_rt::task::spawn_blocking(move || project_rebuild(&url)).await.unwrap();
    assert_eq!(projection_snapshot(&app.pool).await, live);
}

#[actix_rt::test]
async fn a_rebuild_stopped_by_an_event_it_cannot_apply_leaves_the_live_tables_as_they_were() {
    let app = spawn_app().await;
    let write = WriteSide::new(app.pool.clone());
    scenario::run(&write, 43, 600).await;
    wait_until_readable(&app.pool).await;
    wait_for_projections(&app.pool).await;
    let before = projection_snapshot(&app.pool).await;
    // Stored straight into the log: a flight of an aircraft that was never registered (its
    // stream's first event). The rebuild's worker for that aircraft finds no row to add it to.
    let stray = Uuid::new_v4().to_string();
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         SELECT 'Aircraft', $1, 1, 'FlightLogged', event_version, payload, '{}' FROM events \
         WHERE event_type = 'FlightLogged' LIMIT 1",
    )
    .bind(&stray)
    .execute(&app.pool)
    .await
    .unwrap();
    wait_until_readable(&app.pool).await;
    let url = format!("{}/{}", klg_tests::postgres_server_url(), current_database(&app.pool).await);
    let output = actix_rt::task::spawn_blocking(move || run_project_rebuild(&url)).await.unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("FlightLogged") && stderr.contains("not at version 0"), "{stderr}");
    let aircraft_ids: Vec<String> =
        sqlx::query_scalar("SELECT id FROM aircraft").fetch_all(&app.pool).await.unwrap();
    assert!(!aircraft_ids.contains(&stray));
    // Nothing the rebuild wrote was swapped in: the live tables hold what they held, bar what
    // the live projector may have applied of the log since (the stray flight stops it too).
    let after = projection_snapshot(&app.pool).await;
    assert_eq!(after, before);
}
