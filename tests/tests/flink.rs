//! Conformance of the Flink SQL jobs on Apache Flink itself (batch mode, local mini-cluster):
//! the event log exported as the mirror's envelopes, run through each job, must give exactly
//! the statistics the embedded mode computes in PostgreSQL — across midnight, several aircraft,
//! a registration number passing to another aircraft (each airframe keeps its own rows), out-of-
//! order events and a duplicate.

use klg_mirror::EventEnvelope;
use klg_projections::log::read_after;
use klg_projections::{Projector, Subscription, PROJECTIONS};
use klg_tests::flink::{
    append, at, normalise, received, registered, run_batch, sql, write_history, write_inbox_history,
};
use klg_tests::{postgres_server_url, spawn_app_with, wait_until_readable, TestApp};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

/// The log of one aggregate type as the mirror publishes it, one JSON envelope per line, one of
/// them twice (an at-least-once duplicate).
async fn export_type(pool: &PgPool, path: &std::path::Path, aggregate_type: &str) -> usize {
    let events = read_after(pool, Default::default(), i64::MAX).await.unwrap();
    let mut lines: Vec<String> = events
        .iter()
        .filter(|e| e.aggregate_type == aggregate_type)
        .map(|e| serde_json::to_string(&EventEnvelope::from_stored(e)).unwrap())
        .collect();
    lines.push(lines[4].clone());
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
    lines.len()
}

/// `jdbc:postgresql://host:port/<this test's database>?user=…` from the test server URL.
async fn jdbc_url(pool: &PgPool) -> String {
    let database: String = sqlx::query_scalar("SELECT current_database()").fetch_one(pool).await.unwrap();
    let server = postgres_server_url();
    let rest = server.split("://").nth(1).unwrap();
    let (user, address) = rest.split_once('@').unwrap();
    format!("jdbc:postgresql://{address}/{database}?user={}", user.split(':').next().unwrap())
}

async fn rows(pool: &PgPool, sql: &str) -> Value {
    sqlx::query_scalar(&format!(
        "SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY t.aircraft_id, t.window_start), '[]') FROM ({sql}) t"
    ))
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Which scenario a test's event log holds.
enum History {
    Aircraft,
    Inbox,
}

/// A server without a running projector, with `history` written and projected.
async fn projected_app(history: History) -> TestApp {
    let app = spawn_app_with(|s| s.run_projector = false).await;
    match history {
        History::Aircraft => write_history(&app.pool).await,
        History::Inbox => write_inbox_history(&app.pool).await,
    }
    wait_until_readable(&app.pool).await;
    Subscription::new(PROJECTIONS, "test", app.pool.clone(), Projector).catch_up().await.unwrap();
    app
}

/// The PostgreSQL table the JDBC sink writes to: `flink_<statistic>`, shaped like the embedded
/// view, keyed as the sink's primary key (the JDBC sink upserts).
async fn create_sink_table(pool: &PgPool, statistic: &str, key: &str) {
    sqlx::raw_sql(&format!(
        "CREATE TABLE flink_{statistic} (LIKE {statistic}); ALTER TABLE flink_{statistic} ADD PRIMARY KEY ({key})"
    ))
    .execute(pool)
    .await
    .unwrap();
}

/// Runs `statistic`'s job in batch over the exported log and asserts Flink's rows equal the
/// embedded view's; returns those rows.
async fn batch_conformance(app: &TestApp, statistic: &str, source: &str, key: &str) -> Vec<Value> {
    let aggregate_type = if source == "aircraft_events" { "Aircraft" } else { "InboxItem" };
    let events = app.blob_dir.with_extension(format!("{source}.jsonl"));
    export_type(&app.pool, &events, aggregate_type).await;
    create_sink_table(&app.pool, statistic, key).await;
    let path = events.display().to_string();
    let output = run_batch(
        &[
            sql(&format!("sources/{source}.filesystem.sql")),
            sql(&format!("sinks/{statistic}.jdbc.sql")),
            sql(&format!("jobs/{statistic}.sql")),
        ],
        &[
            ("AIRCRAFT_EVENTS_PATH", path.clone()),
            ("INBOX_EVENTS_PATH", path),
            ("JDBC_URL", jdbc_url(&app.pool).await),
            ("JDBC_TABLE_PREFIX", "flink_".into()),
        ],
    );
    let _ = std::fs::remove_file(&events);
    assert!(output.status.success(), "Flink failed:\n{}", String::from_utf8_lossy(&output.stderr));
    let all = |relation: String| {
        let pool = app.pool.clone();
        async move {
            let rows: Value = sqlx::query_scalar(&format!(
                "SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY {key}), '[]') FROM {relation} t"
            ))
            .fetch_one(&pool)
            .await
            .unwrap();
            rows.as_array().unwrap().clone()
        }
    };
    let (embedded, flink) = (all(statistic.to_owned()).await, all(format!("flink_{statistic}")).await);
    assert!(!embedded.is_empty(), "{statistic}: nothing to compare");
    assert_eq!(flink, embedded, "{statistic}: Flink differs from the embedded statistics");
    embedded
}

/// (embedded statistics, Flink's) of aircraft_event_stats_hourly for windows starting before
/// `before` (UTC).
async fn compare(pool: &PgPool, before: &str) -> (Value, Value) {
    let closed =
        |relation: &str| format!("SELECT * FROM {relation} WHERE window_start < TIMESTAMPTZ '{before}Z'");
    let embedded = rows(pool, &closed("aircraft_event_stats_hourly")).await;
    let flink = rows(pool, &closed("flink_aircraft_event_stats_hourly")).await;
    (embedded, flink)
}

#[actix_rt::test]
async fn aircraft_event_stats_hourly_on_flink_equals_the_embedded_statistics() {
    let app = projected_app(History::Aircraft).await;
    let rows = batch_conformance(
        &app,
        "aircraft_event_stats_hourly",
        "aircraft_events",
        "aircraft_id, window_start",
    )
    .await;
    assert_eq!(rows.len(), 8);
    // RA-00002 passed from b (decommissioned at 00:40) to c (registered at 00:50): one row per
    // airframe in that hour, not one row counting both.
    let ra2_after_midnight: Vec<&Value> = rows
        .iter()
        .filter(|r| {
            r["registration_number"] == "RA-00002"
                && r["window_start"].as_str().unwrap().starts_with("2026-03-02T00")
        })
        .collect();
    let mut counts: Vec<(i64, i64, i64)> = ra2_after_midnight
        .iter()
        .map(|r| {
            let n = |k: &str| r[k].as_i64().unwrap();
            (n("total_events"), n("registered"), n("decommissioned"))
        })
        .collect();
    counts.sort();
    assert_eq!(counts, [(2, 0, 1), (3, 1, 0)], "{ra2_after_midnight:#?}");
    assert_ne!(ra2_after_midnight[0]["aircraft_id"], ra2_after_midnight[1]["aircraft_id"]);

    // The same statistics are served as a streaming view.
    let view =
        app.get("/api/v1/streaming/views/aircraft_event_stats_hourly?registration_number=RA-00001").await;
    let windows: Vec<i64> =
        view.body["rows"].as_array().unwrap().iter().map(|r| r["total_events"].as_i64().unwrap()).collect();
    assert_eq!(windows, [4, 2, 1, 1, 1], "{}", view.body);
    let view =
        app.get("/api/v1/streaming/views/aircraft_event_stats_hourly?registration_number=RA-00002").await;
    let airframes: std::collections::BTreeSet<&str> =
        view.body["rows"].as_array().unwrap().iter().filter_map(|r| r["aircraft_id"].as_str()).collect();
    assert_eq!(airframes.len(), 2, "{}", view.body);
}

/// Streaming, end to end: KLG's mirror publishes to the test broker, the job runs on Flink in
/// streaming mode from the topic, its results land in PostgreSQL through the JDBC sink, and
/// they equal the embedded statistics for every window the watermark has closed.
#[actix_rt::test]
async fn aircraft_event_stats_hourly_streams_from_the_mirror_through_flink() {
    let broker = klg_tests::broker::Broker::start();
    let brokers = broker.address();
    let rest_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    // One partition: the watermark-pushing event below then reaches every partition.
    let app = spawn_app_with(move |s| {
        s.mirror.brokers = Some(brokers);
        s.mirror.partitions = 1;
        s.flink_rest_url = Some(format!("http://127.0.0.1:{rest_port}"));
    })
    .await;
    write_history(&app.pool).await;
    klg_tests::wait_for_subscription(&app.pool, klg_mirror::MIRROR).await;
    klg_tests::wait_for_projections(&app.pool).await;
    create_sink_table(&app.pool, "aircraft_event_stats_hourly", "aircraft_id, window_start").await;
    let mut job = klg_tests::flink::StreamingJob::start(
        &[
            sql("settings.streaming-test.sql"),
            sql("sources/aircraft_events.kafka.sql"),
            sql("sinks/aircraft_event_stats_hourly.jdbc.sql"),
            sql("jobs/aircraft_event_stats_hourly.sql"),
        ],
        &[
            ("KAFKA_BROKERS", broker.address()),
            ("JDBC_URL", jdbc_url(&app.pool).await),
            ("JDBC_TABLE_PREFIX", "flink_".into()),
            ("FLINK_REST_PORT", rest_port.to_string()),
        ],
    );
    // A window closes only when the watermark passes its end: an event a day later pushes it.
    let later = Uuid::new_v4();
    append(&app.pool, later, 1, registered("RA-00003"), at("48:00:00")).await;
    klg_tests::wait_for_subscription(&app.pool, klg_mirror::MIRROR).await;

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        if let Some(failure) = job.failure() {
            panic!("{failure}");
        }
        let (embedded, flink) = compare(&app.pool, "2026-03-02T02:00:00").await;
        if flink == embedded {
            // a: 23 h, 00 h, 01 h; b: 23 h, 00 h; c (RA-00002 after b): 00 h.
            assert_eq!(embedded.as_array().unwrap().len(), 6);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "Flink's results never matched:\n{flink:#}\nvs\n{embedded:#}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

#[actix_rt::test]
async fn fleet_utilization_daily_on_flink_equals_the_embedded_statistics() {
    let app = projected_app(History::Aircraft).await;
    let rows =
        batch_conformance(&app, "fleet_utilization_daily", "aircraft_events", "aircraft_id, window_start")
            .await;
    // Aircraft a flew 90+30 on 03-01, 60+75 on 03-02 and 120 on 03-04: its rolling sum on 03-04
    // covers all five flights; 7 days after 03-04 its last row is 03-10.
    let a: Vec<&Value> = rows.iter().filter(|r| r["registration_number"] == "RA-00001").collect();
    assert_eq!(a.len(), 10, "03-01 … 03-10");
    let march_4 = a.iter().find(|r| r["window_start"].as_str().unwrap().starts_with("2026-03-04")).unwrap();
    assert_eq!(
        (march_4["block_minutes"].as_i64(), march_4["rolling_7d_block_minutes"].as_i64()),
        (Some(120), Some(375))
    );
    let view = app.get("/api/v1/streaming/views/fleet_utilization_daily?registration_number=RA-00001").await;
    assert_eq!(view.body["rows"].as_array().map(Vec::len), Some(10), "{}", view.body);
    // RA-00002's airframes each keep their own rows: b flew 20 min after midnight, c 55 min.
    let mut march_2: Vec<i64> = rows
        .iter()
        .filter(|r| {
            r["registration_number"] == "RA-00002"
                && r["window_start"].as_str().unwrap().starts_with("2026-03-02")
        })
        .map(|r| r["block_minutes"].as_i64().unwrap())
        .collect();
    march_2.sort();
    assert_eq!(march_2, [20, 55]);
}

#[actix_rt::test]
async fn inbox_intake_hourly_on_flink_equals_the_embedded_statistics() {
    let app = projected_app(History::Inbox).await;
    let rows =
        batch_conformance(&app, "inbox_intake_hourly", "inbox_events", "window_start, document_type").await;
    let after_midnight = rows.iter().find(|r| {
        r["document_type"] == "work_order" && r["window_start"].as_str().unwrap().starts_with("2026-03-02T00")
    });
    let row = after_midnight.expect("the work order's hour");
    assert_eq!(
        (row["processed"].as_i64(), row["max_processing_seconds"].as_i64()),
        (Some(1), Some(1800)),
        "{row}"
    );
    // Served as a view: the work order's hours, the first before midnight (received and
    // classified, nothing processed yet), the second with its processing.
    let view = app.get("/api/v1/streaming/views/inbox_intake_hourly?document_type=work_order").await;
    let served: Vec<Value> =
        view.body["rows"].as_array().unwrap().iter().map(|r| r["max_processing_seconds"].clone()).collect();
    assert_eq!(served, [Value::Null, Value::from(1800)], "{}", view.body);
}

/// In RisingWave mode the statistics are Flink's results: each job streams from the mirror on
/// the test broker into the stand-in's result table, and the API serves, for every window the
/// watermark has closed, exactly the statistics the embedded mode computes.
#[actix_rt::test]
async fn in_risingwave_mode_the_statistics_are_flinks_streaming_results() {
    let app = klg_tests::spawn_app_reading_risingwave_with(|s| s.mirror.partitions = 1).await;
    write_history(&app.pool).await;
    write_inbox_history(&app.pool).await;
    // Pushes the inbox watermark past the hours written above.
    append(&app.pool, Uuid::new_v4(), 1, received("late.pdf"), at("48:00:00")).await;
    klg_tests::wait_for_subscription(&app.pool, klg_mirror::MIRROR).await;
    klg_tests::wait_for_projections(&app.pool).await;
    let standin_database = app.read_store_url.clone().unwrap().rsplit('/').next().unwrap().to_owned();
    let jdbc = jdbc_url(&app.pool).await;
    let jdbc = format!(
        "{}/{standin_database}?{}",
        jdbc.rsplit_once('/').unwrap().0,
        jdbc.split_once('?').unwrap().1
    );
    // (statistic, source, key, windows closed by the watermark start before…)
    let statistics = [
        (
            "aircraft_event_stats_hourly",
            "aircraft_events",
            "registration_number, aircraft_id, window_start",
            "2026-03-04T09:00:00",
        ),
        ("fleet_utilization_daily", "aircraft_events", "aircraft_id, window_start", "2026-03-03T00:00:00"),
        ("inbox_intake_hourly", "inbox_events", "window_start, document_type", "2026-03-02T01:00:00"),
    ];
    for (name, source, key, closed_before) in statistics {
        let rest_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut job = klg_tests::flink::StreamingJob::start(
            &[
                sql("settings.streaming-test.sql"),
                sql(&format!("sources/{source}.kafka.sql")),
                sql(&format!("sinks/{name}.jdbc.sql")),
                sql(&format!("jobs/{name}.sql")),
            ],
            &[
                ("KAFKA_BROKERS", app.broker.clone().unwrap()),
                ("JDBC_URL", jdbc.clone()),
                ("JDBC_TABLE_PREFIX", String::new()),
                ("FLINK_REST_PORT", rest_port.to_string()),
            ],
        );
        let expected: Value = sqlx::query_scalar(&format!(
            "SELECT jsonb_agg(to_jsonb(t) ORDER BY {key}) FROM {name} t WHERE window_start < TIMESTAMPTZ '{closed_before}Z'"
        ))
        .fetch_one(&app.pool)
        .await
        .unwrap();
        let wanted: Vec<Value> =
            expected.as_array().expect("rows to compare").iter().map(normalise).collect();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let view = app.get(&format!("/api/v1/streaming/views/{name}?limit=200")).await;
            let served: Vec<Value> = view.body["rows"]
                .as_array()
                .map(|rows| {
                    rows.iter()
                        .filter(|r| r["window_start"].as_str().is_some_and(|w| w < closed_before))
                        .map(normalise)
                        .collect()
                })
                .unwrap_or_default();
            if served == wanted {
                break;
            }
            if let Some(failure) = job.failure() {
                panic!("{failure}");
            }
            assert!(std::time::Instant::now() < deadline, "{name}: served {served:#?}\nexpected {wanted:#?}");
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    }
    // What serving Flink's results made KLG send to the read store, through RisingWave's parser.
    app.assert_risingwave_accepts_what_it_was_sent();
}
