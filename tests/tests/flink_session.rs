//! The production Flink submission, run for real without Docker: a standalone Flink 2.0 session
//! cluster (a JobManager and a TaskManager, each its own JVM), the very script the compose
//! one-shot `flink-jobs` runs (flink/submit.sh: settings.production.sql, the Kafka sources, the
//! upsert-Kafka sinks, the jobs), KLG's mirror feeding the test broker, and the results read back
//! from the `klg.stats.*` topics.

use std::time::{Duration, Instant};

use klg_tests::flink::{
    append, at, id_in_partition, normalise, received, registered, submit, write_history_of,
    write_inbox_history_of, SessionCluster, UpsertTopics,
};
use klg_tests::{spawn_app_with, wait_for_projections, wait_for_subscription};
use serde_json::Value;

/// (statistic, sink topic, primary key of its rows)
const STATISTICS: [(&str, &str, &[&str]); 3] = [
    (
        "aircraft_event_stats_hourly",
        "klg.stats.aircraft_event_stats_hourly",
        &["aircraft_id", "window_start"],
    ),
    ("fleet_utilization_daily", "klg.stats.fleet_utilization_daily", &["aircraft_id", "window_start"]),
    ("inbox_intake_hourly", "klg.stats.inbox_intake_hourly", &["window_start", "document_type"]),
];

/// The mirror topics have this many partitions; the test's events avoid the last one.
const PARTITIONS: u32 = 3;
const EMPTY_PARTITION: i32 = 2;

/// Every window the test's history fills starts before this (UTC), and the watermark (pushed to
/// 2026-03-05T04:00 minus 30 s) has closed every window that starts before it, daily ones too.
const CLOSED_BEFORE: &str = "2026-03-05T00:00:00";

/// Rows whose window starts before [`CLOSED_BEFORE`], normalised, in key order.
fn closed(rows: &[Value], key: &[&str]) -> Vec<Value> {
    let mut rows: Vec<Value> = rows
        .iter()
        .map(normalise)
        .filter(|r| r["window_start"].as_str().is_some_and(|w| w < CLOSED_BEFORE))
        .collect();
    rows.sort_by_key(|r| key.iter().map(|k| r[*k].to_string()).collect::<Vec<_>>());
    rows
}

/// Runs flink/submit.sh against the cluster, with a time zone 5:30 off UTC.
fn run_submission(cluster: &SessionCluster, brokers: &str) -> String {
    let output = submit(
        &[
            ("FLINK_JOBMANAGER_HOST", "127.0.0.1".into()),
            ("FLINK_JOBMANAGER_PORT", cluster.rest_port.to_string()),
            ("KAFKA_BROKERS", brokers.into()),
            ("TZ", "Asia/Kolkata".into()),
        ],
        Duration::from_secs(120),
    );
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "submit.sh failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The compose submission on a real session cluster: three jobs, submitted before their topics
/// exist (they fail and the restart strategy brings them back once KLG has created them), every
/// job RUNNING per KLG's health endpoint, each job's configuration on the cluster carrying the
/// restart strategy, and every closed window's row on the result topics equal to the embedded
/// statistics — with one of the three partitions of each source topic holding no event (only
/// the idle-source timeout lets the watermark advance) and the submission and the cluster in a
/// time zone 5:30 off UTC (only `table.local-time-zone` = UTC keeps the windows on UTC hours).
/// Submitting again starts no second copy of any job.
#[actix_rt::test]
async fn the_compose_submission_runs_the_statistics_on_a_flink_session_cluster() {
    let broker = klg_tests::broker::Broker::start();
    let brokers = broker.address();
    let mut cluster = SessionCluster::start(4, &[("TZ", "Asia/Kolkata".into())]);
    cluster.ready(Duration::from_secs(90)).await;

    let stdout = run_submission(&cluster, &brokers);
    let jobs = cluster.jobs().await;
    for (name, _, _) in STATISTICS {
        assert!(stdout.contains(&format!("submitted job {name} ")), "{stdout}");
        assert!(jobs.contains_key(name), "{name} not on the cluster: {jobs:?}");
    }
    assert_eq!(jobs.len(), 3, "one job per INSERT: {jobs:?}");

    // No topic exists yet: each job's Kafka source fails; the restart strategy retries.
    let deadline = Instant::now() + Duration::from_secs(60);
    for (name, (id, _)) in &jobs {
        loop {
            let exceptions = cluster.rest(&format!("/jobs/{id}/exceptions")).await;
            let history = exceptions["exceptionHistory"]["entries"].as_array().cloned().unwrap_or_default();
            if let Some(first) = history.first() {
                let trace = first["stacktrace"].as_str().unwrap_or_default();
                assert!(trace.contains("UnknownTopicOrPartition"), "{name} failed otherwise: {trace}");
                break;
            }
            assert!(Instant::now() < deadline, "{name} never failed for lack of its topic");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    let states = cluster.jobs().await;
    assert!(states.values().all(|(_, state)| state != "FAILED"), "a job failed for good: {states:?}");

    // The topics, as the compose one-shot `redpanda-topics` and KLG's mirror create them.
    let topics: Vec<&str> = STATISTICS.iter().map(|(_, topic, _)| *topic).collect();
    klg_tests::flink::create_topics(&brokers, &topics, PARTITIONS as i32).await;
    let rest_url = cluster.rest_url();
    let app = spawn_app_with(move |s| {
        s.mirror.brokers = Some(brokers);
        s.mirror.partitions = PARTITIONS as i32;
        s.flink_rest_url = Some(rest_url);
    })
    .await;
    let brokers = broker.address();
    // Every aggregate's events in partition 0 or 1 of its topic; partition 2 stays empty.
    let (a, b, c) =
        (id_in_partition(0, PARTITIONS), id_in_partition(1, PARTITIONS), id_in_partition(1, PARTITIONS));
    write_history_of(&app.pool, [a, b, c]).await;
    let documents = [0, 1, 0, 1].map(|p| id_in_partition(p, PARTITIONS));
    write_inbox_history_of(&app.pool, documents).await;
    // A window closes when the watermark passes its end: one much later event per used partition.
    for (partition, number) in [(0, "RA-00003"), (1, "RA-00004")] {
        append(&app.pool, id_in_partition(partition, PARTITIONS), 1, registered(number), at("100:00:00"))
            .await;
        append(&app.pool, id_in_partition(partition, PARTITIONS), 1, received("late.pdf"), at("100:00:00"))
            .await;
    }
    wait_for_subscription(&app.pool, klg_mirror::MIRROR).await;
    wait_for_projections(&app.pool).await;

    let mirrored = klg_tests::broker::consume_all(
        &brokers,
        &["klg.aircraft.events", "klg.inbox.events"],
        Duration::from_secs(2),
    )
    .await;
    for topic in ["klg.aircraft.events", "klg.inbox.events"] {
        let used: std::collections::BTreeSet<i32> =
            mirrored.iter().filter(|m| m.topic == topic).map(|m| m.partition).collect();
        assert_eq!(used, [0, 1].into(), "{topic}: the test needs partition {EMPTY_PARTITION} empty");
    }

    // What the embedded mode computes from the same log, for every closed window.
    let mut expected = Vec::new();
    for (name, _, key) in STATISTICS {
        let rows: Value =
            sqlx::query_scalar(&format!("SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM {name} t"))
                .fetch_one(&app.pool)
                .await
                .unwrap();
        let rows = closed(rows.as_array().unwrap(), key);
        assert!(!rows.is_empty(), "{name}: nothing to compare");
        expected.push(rows);
    }

    let mut sinks = UpsertTopics::subscribe(&brokers, &topics);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        sinks.poll(Duration::from_millis(500)).await;
        let actual: Vec<Vec<Value>> =
            STATISTICS.iter().map(|(_, topic, key)| closed(&sinks.rows(topic), key)).collect();
        if actual == expected {
            break;
        }
        if Instant::now() > deadline {
            panic!(
                "the result topics never matched the embedded statistics\njobs: {:?}\nFlink: {actual:#?}\nexpected: {expected:#?}",
                cluster.jobs().await
            );
        }
    }
    // UTC hours although everything ran in Asia/Kolkata: RA-00001's first hour (events from
    // 23:10 UTC) starts at 23:00 UTC; in Kolkata's hours it would start at 22:30 UTC, written
    // 2026-03-02T04:00:00.
    let hourly = closed(&sinks.rows(STATISTICS[0].1), STATISTICS[0].2);
    let first_of_a = hourly.iter().find(|r| r["aircraft_id"] == a.to_string().as_str());
    assert_eq!(
        first_of_a.map(|r| (r["registration_number"].as_str(), r["window_start"].as_str())),
        Some((Some("RA-00001"), Some("2026-03-01T23:00:00"))),
        "{hourly:#?}"
    );

    // KLG's health endpoint, pointed at this cluster, reports every job RUNNING.
    let health = app.get("/api/v1/streaming/health").await;
    assert_eq!(health.body["flink"]["status"], "ok", "{}", health.body);
    for (report, (name, _, _)) in health.body["flink"]["jobs"].as_array().unwrap().iter().zip(STATISTICS) {
        assert_eq!((report["name"].as_str(), report["state"].as_str()), (Some(name), Some("RUNNING")));
    }
    assert_eq!(health.status.as_u16(), 200, "{}", health.body);

    // Each job's execution configuration on the cluster carries the restart strategy, and the
    // jobs did restart (above) rather than fail.
    for (name, (id, state)) in cluster.jobs().await {
        assert_eq!(state, "RUNNING", "{name}");
        let config = cluster.rest(&format!("/jobs/{id}/config")).await;
        let strategy = config["execution-config"]["restart-strategy"].as_str().unwrap_or_default();
        assert!(strategy.starts_with("Restart with exponential delay"), "{name}: {config}");
    }

    // The one-shot run again (`docker compose up` starts it again): no second copy of a job.
    let again = run_submission(&cluster, &brokers);
    assert!(!again.contains("submitted job"), "{again}");
    let overview = cluster.rest("/jobs/overview").await;
    assert_eq!(overview["jobs"].as_array().map(Vec::len), Some(3), "{overview}");
}
