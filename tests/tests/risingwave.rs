//! The RisingWave view bodies, run on PostgreSQL over the envelopes the mirror really
//! published (RisingWave cannot run here), give exactly the embedded projections — including
//! duplicates and out-of-order arrival across partitions. `klg risingwave apply` is idempotent.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::future::join_all;
use klg_commands::WriteSide;
use klg_mirror::MIRROR;
use klg_projections::risingwave::apply;
use klg_tests::broker::{consume_all, load_envelopes, Broker, Consumed};
use klg_tests::{
    fresh_database_url, scenario, spawn_app_with, wait_for_projections, wait_for_subscription, DropDatabase,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use sqlx::PgPool;

const TOPICS: [&str; 4] = ["klg.aircraft.events", "klg.inbox.events", "klg.tmc.events", "klg.other.events"];
/// Relation, key, and the fewest rows that make the comparison mean something (directives come
/// from far fewer commands than flights; every status is checked separately).
const RELATIONS: [(&str, &str, usize); 6] = [
    ("aircraft", "id", 10),
    ("aircraft_history", "global_position", 10),
    ("inbox_files", "id", 10),
    ("aircraft_stats", "aircraft_id", 10),
    ("aircraft_directives", "aircraft_id, number", 6),
    ("tmc_requests", "id", 10),
];

/// Interleaves partitions at random (each partition stays in offset order, as Kafka delivers
/// them) and re-delivers about one message in ten later on, as an at-least-once mirror may.
fn arrival_order(consumed: Vec<Consumed>, rng: &mut StdRng) -> (Vec<Consumed>, usize) {
    let mut partitions: Vec<VecDeque<Consumed>> = vec![];
    for message in consumed {
        let key = (message.topic.clone(), message.partition);
        match partitions.iter_mut().find(|p| p.front().is_some_and(|m| (m.topic.clone(), m.partition) == key))
        {
            Some(p) => p.push_back(message),
            None => partitions.push(VecDeque::from([message])),
        }
    }
    let mut arrival = vec![];
    let mut redeliveries: Vec<(usize, Consumed)> = vec![];
    while partitions.iter().any(|p| !p.is_empty()) {
        let live: Vec<usize> = (0..partitions.len()).filter(|&i| !partitions[i].is_empty()).collect();
        let message = partitions[live[rng.gen_range(0..live.len())]].pop_front().unwrap();
        if rng.gen_bool(0.1) {
            redeliveries.push((arrival.len() + rng.gen_range(1..50), message.clone()));
        }
        arrival.push(message);
        let (due, later): (Vec<_>, Vec<_>) =
            redeliveries.into_iter().partition(|(at, _)| *at <= arrival.len());
        arrival.extend(due.into_iter().map(|(_, m)| m));
        redeliveries = later;
    }
    let duplicates = redeliveries.len() + arrival.len()
        - arrival.iter().map(|m| m.envelope.id).collect::<std::collections::HashSet<_>>().len();
    arrival.extend(redeliveries.into_iter().map(|(_, m)| m));
    (arrival, duplicates)
}

async fn relation(pool: &PgPool, table: &str, key: &str) -> Value {
    sqlx::query_scalar(&format!(
        "SELECT coalesce(jsonb_agg(to_jsonb(t) - 'search' ORDER BY {key}), '[]'::jsonb) FROM {table} t"
    ))
    .fetch_one(pool)
    .await
    .unwrap()
}

#[actix_rt::test]
async fn the_risingwave_views_over_the_published_envelopes_equal_the_embedded_projections() {
    let broker = Broker::start();
    let brokers = broker.address();
    let app = spawn_app_with(move |s| s.mirror.brokers = Some(brokers)).await;
    let write = WriteSide::new(app.pool.clone());
    join_all((10..14).map(|seed| scenario::run(&write, seed, 300))).await;
    scenario::released_to_service(&write, "RA-89798").await;
    let aircraft = scenario::every_directive_status(&write, "RA-89799").await;
    scenario::every_parts_status(&write, aircraft).await;
    wait_for_subscription(&app.pool, MIRROR).await;
    wait_for_projections(&app.pool).await;
    let consumed = consume_all(&broker.address(), &TOPICS, Duration::from_secs(3)).await;

    let (url, name) = fresh_database_url();
    let _cleanup = DropDatabase(name);
    let standin = klg_commands::db::connect(&url, 4).await.unwrap();
    let created = apply(&standin, "unused:9092", false).await.unwrap();
    assert!(created.iter().all(|o| o.state == "created"), "{created:?}");
    let again = apply(&standin, "unused:9092", false).await.unwrap();
    assert!(again.iter().all(|o| o.state == "up_to_date"), "apply is idempotent: {again:?}");

    let (arrival, duplicates) = arrival_order(consumed, &mut StdRng::seed_from_u64(7));
    assert!(duplicates > 25, "{duplicates} duplicates");
    let positions: Vec<i64> = arrival.iter().map(|m| m.envelope.position).collect();
    assert!(positions.windows(2).any(|w| w[1] < w[0]), "arrival must not be in log order");
    load_envelopes(&standin, &arrival).await;

    let releases: i64 =
        sqlx::query_scalar("SELECT count(*) FROM aircraft_history WHERE event_type = 'ReleasedToService'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(releases > 0, "no release to service to compare");
    let parts_statuses: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT status FROM tmc_requests ORDER BY status")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        parts_statuses,
        ["approved", "cancelled", "installed", "ordered", "received", "rejected", "requested"]
    );
    let statuses: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT status FROM aircraft_directives ORDER BY status")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        statuses,
        ["complied", "not_applicable", "open", "recurring"],
        "every directive status is compared"
    );
    for (table, key, fewest) in RELATIONS {
        let embedded = relation(&app.pool, table, key).await;
        let derived = relation(&standin, table, key).await;
        assert!(
            embedded.as_array().is_some_and(|rows| rows.len() >= fewest),
            "{table} is too small to prove anything: {embedded}"
        );
        if embedded != derived {
            let (e, d) = (embedded.as_array().unwrap(), derived.as_array().unwrap());
            let (a, b) = e.iter().zip(d).find(|(a, b)| a != b).expect("a differing row");
            let fields: Vec<String> = a
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, v)| b.get(*k) != Some(*v))
                .map(|(k, v)| format!("{k}: embedded {v} vs derived {}", b.get(k).unwrap_or(&Value::Null)))
                .collect();
            panic!("{table} differs ({} vs {} rows), row {}: {fields:?}", e.len(), d.len(), a[key]);
        }
    }
}

#[actix_rt::test]
async fn in_risingwave_mode_reads_wait_for_ingestion_and_health_names_the_read_store() {
    let app = klg_tests::spawn_app_reading_risingwave().await;
    let reply = app.post_json("/api/v1/aircraft", &klg_tests::aircraft_body("RA-89701")).await;
    let (id, position) =
        (reply.body["id"].as_str().unwrap().to_owned(), reply.body["position"].as_i64().unwrap());
    let read = app.get(&format!("/api/v1/aircraft/{id}?min_position={position}")).await;
    assert_eq!(read.body["registration_number"], "RA-89701", "{}", read.body);
    let health = app.get("/api/v1/streaming/health").await;
    assert_eq!(health.body["read_store"]["kind"], "risingwave", "{}", health.body);
    assert_eq!(health.body["read_store"]["ingestion"]["ingested_position"], position);
    assert_eq!(health.body["read_store"]["ingestion"]["lag_events"], 0);
}

#[actix_rt::test]
async fn klg_risingwave_apply_creates_once_then_reports_everything_up_to_date() {
    let (url, name) = fresh_database_url();
    let _cleanup = DropDatabase(name);
    klg_commands::db::connect(&url, 1).await.unwrap().close().await;
    let run = || {
        let output = std::process::Command::new(klg_tests::process::klg_binary())
            .args(["risingwave", "apply", "--risingwave-url", &url, "--kafka-brokers", "redpanda:9092"])
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    let first = run();
    assert_eq!(first.lines().filter(|l| l.ends_with(" created")).count(), 13, "{first}");
    let second = run();
    assert_eq!(second.lines().filter(|l| l.ends_with(" up_to_date")).count(), 13, "{second}");
}

/// `klg risingwave apply --replace` with an out-of-date event table: views read the table, so
/// they are dropped first and recreated after it (RisingWave, like PostgreSQL, refuses to drop
/// a table that views depend on).
#[actix_rt::test]
async fn apply_replace_recreates_an_event_table_with_the_views_that_read_it() {
    let (url, name) = fresh_database_url();
    let _cleanup = DropDatabase(name);
    let pool = klg_commands::db::connect(&url, 2).await.unwrap();
    apply(&pool, "redpanda:9092", false).await.unwrap();
    sqlx::query("UPDATE klg_read_objects SET checksum = 'old' WHERE name = 'klg_aircraft_events'")
        .execute(&pool)
        .await
        .unwrap();
    let report = apply(&pool, "redpanda:9092", true).await.expect("replace succeeds");
    let state = |object: &str| report.iter().find(|o| o.name == object).unwrap().state.clone();
    assert_eq!(state("klg_aircraft_events"), "replaced");
    assert_eq!(state("klg_inbox_events"), "up_to_date");
    for view in ["aircraft", "aircraft_history", "inbox_files", "aircraft_stats", "inbox_history"] {
        assert_eq!(state(view), "replaced", "{report:?}");
        let rows: i64 =
            sqlx::query_scalar(&format!("SELECT count(*) FROM {view}")).fetch_one(&pool).await.unwrap();
        assert_eq!(rows, 0, "{view} is readable again");
    }
    let again = apply(&pool, "redpanda:9092", false).await.unwrap();
    assert!(again.iter().all(|o| o.state == "up_to_date"), "{again:?}");
}

/// Every statement `klg risingwave apply` sends to RisingWave — first creation, and a full
/// `--replace` (drops included) — through RisingWave's own parser, in the order it sends them.
#[test]
fn risingwave_accepts_the_ddl_klg_risingwave_apply_sends() {
    use klg_projections::risingwave::{self as rw, Dialect};
    let nothing = std::collections::HashMap::new();
    let create = rw::plan(Dialect::RisingWave, "redpanda:9092", &nothing, false);
    let all_stale = rw::object_names().into_iter().map(|n| (n.to_owned(), "old".to_owned())).collect();
    let replace = rw::plan(Dialect::RisingWave, "redpanda:9092", &all_stale, true);
    assert!(create.report.iter().all(|o| o.state == "created"));
    assert!(replace.report.iter().all(|o| o.state == "replaced"));
    let first_table_drop = replace.statements.iter().position(|s| s.starts_with("DROP TABLE")).unwrap();
    let last_view_drop =
        replace.statements.iter().rposition(|s| s.starts_with("DROP MATERIALIZED VIEW")).unwrap();
    assert!(last_view_drop < first_table_drop, "views are dropped before the tables they read");
    let mut statements: Vec<String> =
        [rw::BOOKKEEPING_DDL, rw::BOOKKEEPING_READ, rw::BOOKKEEPING_FORGET, rw::BOOKKEEPING_RECORD]
            .map(str::to_owned)
            .into();
    statements.extend(create.statements);
    statements.extend(replace.statements);
    klg_tests::risingwave_sql::assert_risingwave_accepts(&statements);
}
