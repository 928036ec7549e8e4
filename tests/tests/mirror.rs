//! The Redpanda mirror against a real Kafka-API broker (tansu): every stored event reaches the
//! topics, each aggregate's events in order in one partition, across broker outages and relay
//! crashes; `klg mirror verify` agrees.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use awc::http::StatusCode;
use futures_util::future::join_all;
use klg_mirror::{MirrorConfig, Relay, MIRROR};
use klg_projections::subscription::{Delivery, Subscriber, SubscriberError};
use klg_projections::{StoredEvent, Subscription};
use klg_tests::broker::{consume_all, Broker, Consumed};
use klg_tests::process::{klg_binary, KlgProcess};
use klg_tests::{fresh_database_url, spawn_app_with, wait_for_subscription, wait_until_readable, TestApp};
use serde_json::json;
use sqlx::PgPool;

const TOPICS: [&str; 4] = ["klg.aircraft.events", "klg.inbox.events", "klg.tmc.events", "klg.other.events"];

async fn app_mirroring_to(broker: &Broker) -> TestApp {
    let brokers = broker.address();
    spawn_app_with(move |s| s.mirror.brokers = Some(brokers)).await
}

/// Stored events: id → (aggregate id, sequence, event type).
async fn stored(pool: &PgPool) -> HashMap<uuid::Uuid, (String, i64, String)> {
    let rows: Vec<(uuid::Uuid, String, i64, String)> =
        sqlx::query_as("SELECT event_id, aggregate_id, sequence, event_type FROM events")
            .fetch_all(pool)
            .await
            .unwrap();
    rows.into_iter().map(|(id, a, s, t)| (id, (a, s, t))).collect()
}

/// Asserts the topics hold exactly the stored events (duplicates allowed, same id), each
/// aggregate in sequence order within one partition. Returns the number of duplicates.
fn assert_faithful(consumed: &[Consumed], stored: &HashMap<uuid::Uuid, (String, i64, String)>) -> usize {
    let mut seen = HashSet::new();
    let mut last: HashMap<&str, (i64, i32)> = HashMap::new();
    let mut duplicates = 0;
    for message in consumed {
        let e = &message.envelope;
        let (aggregate, sequence, event_type) =
            stored.get(&e.id).unwrap_or_else(|| panic!("extra event {}", e.id));
        if !seen.insert(e.id) {
            duplicates += 1;
            continue;
        }
        assert_eq!((&e.aggregateid, e.sequence, &e.eventtype), (aggregate, *sequence, event_type));
        assert_eq!(message.key, e.aggregateid, "keyed by aggregate id");
        if let Some((previous, partition)) = last.insert(&e.aggregateid, (e.sequence, message.partition)) {
            assert_eq!(e.sequence, previous + 1, "{} out of order", e.aggregateid);
            assert_eq!(message.partition, partition, "{} spread over partitions", e.aggregateid);
        } else {
            assert_eq!(e.sequence, 1, "{} starts mid-stream", e.aggregateid);
        }
    }
    let missing: Vec<_> = stored.keys().filter(|id| !seen.contains(id)).collect();
    assert!(missing.is_empty(), "{} stored events never reached the topics", missing.len());
    duplicates
}

/// `count` commands through the API from 8 concurrent clients; all must succeed.
async fn run_commands(app: &TestApp, aircraft: &[String], count: usize) {
    let per_client = count / 8;
    let clients = (0..8).map(|c| async move {
        for i in 0..per_client {
            let id = &aircraft[(c * per_client + i) % aircraft.len()];
            let flight = json!({"flight_date": "2024-05-01", "block_hours": 1.0, "cycles": 1});
            let reply = app.post_json(&format!("/api/v1/aircraft/{id}/flights"), &flight).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        }
    });
    join_all(clients).await;
}

#[actix_rt::test]
async fn every_event_of_thousands_of_commands_reaches_the_topics_in_aggregate_order() {
    let broker = Broker::start();
    let app = app_mirroring_to(&broker).await;
    let aircraft = app.certified_fleet(10000, 40).await;
    app.upload_document().await;
    run_commands(&app, &aircraft, 2000).await;
    wait_for_subscription(&app.pool, MIRROR).await;

    let consumed = consume_all(&broker.address(), &TOPICS, Duration::from_secs(3)).await;
    let stored = stored(&app.pool).await;
    assert!(stored.len() >= 2081, "{} events stored", stored.len());
    assert_faithful(&consumed, &stored);
    let sample = consumed.iter().find(|m| m.envelope.eventtype == "FlightLogged").unwrap();
    assert_eq!(sample.topic, "klg.aircraft.events");
    for (header, value) in [("event_type", "FlightLogged"), ("event_version", "2.0")] {
        assert!(sample.headers.contains(&(header.to_owned(), value.to_owned())), "{:?}", sample.headers);
    }
    assert!(consumed.iter().any(|m| m.topic == "klg.inbox.events" && m.envelope.eventtype == "FileReceived"));
    let partitions: HashSet<i32> = consumed.iter().map(|m| m.partition).collect();
    assert!(partitions.len() > 1, "aggregates should spread over the 3 partitions");

    let health = app.get("/api/v1/streaming/health").await;
    assert_eq!(health.status, StatusCode::OK, "{}", health.body);
    assert_eq!(health.body["mirror"]["status"], "ok");
    assert_eq!(health.body["mirror"]["position"]["lag_events"], 0);
}

#[actix_rt::test]
async fn commands_keep_succeeding_while_the_broker_is_down_and_the_mirror_catches_up() {
    let broker = Broker::start();
    let app = app_mirroring_to(&broker).await;
    let aircraft = app.certified_fleet(10000, 10).await;
    run_commands(&app, &aircraft, 200).await;
    wait_for_subscription(&app.pool, MIRROR).await;

    broker.freeze();
    run_commands(&app, &aircraft, 400).await;
    let health = app.get("/api/v1/streaming/health").await;
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE, "{}", health.body);
    assert_eq!(health.body["mirror"]["broker"]["reachable"], false);
    tokio::time::sleep(Duration::from_secs(3)).await;
    broker.thaw();

    wait_for_subscription(&app.pool, MIRROR).await;
    let consumed = consume_all(&broker.address(), &TOPICS, Duration::from_secs(3)).await;
    assert_faithful(&consumed, &stored(&app.pool).await);
}

/// Each aggregate's events as a consumer meets them, duplicates included: they must come in
/// sequence order exactly once — dropping duplicates by id cannot repair an order in which a
/// re-sent earlier event arrives after a later one (Flink would drop it as late).
fn assert_each_aggregate_arrives_once_in_order(consumed: &[Consumed]) {
    let mut last: HashMap<&str, i64> = HashMap::new();
    for message in consumed {
        let e = &message.envelope;
        let previous = last.insert(&e.aggregateid, e.sequence).unwrap_or(0);
        assert_eq!(
            e.sequence,
            previous + 1,
            "{} arrived as sequence {} after {previous} (partition {}, offset {})",
            e.aggregateid,
            e.sequence,
            message.partition,
            message.offset
        );
    }
}

/// The broker goes away in the middle of batches for longer than a delivery timeout would
/// allow (the relay once had a 300 s `message.timeout.ms`, configurable down to seconds: messages
/// then failed part-way through a batch while later ones were delivered, and the re-sent batch
/// put earlier events after later ones). Nothing may time out: every message waits for the
/// broker, and the topics end with each aggregate's events once, in order.
#[actix_rt::test]
async fn a_broker_outage_mid_batch_neither_reorders_nor_resends() {
    let broker = Broker::start();
    let app = app_mirroring_to(&broker).await;
    let aircraft = app.certified_fleet(10000, 6).await;
    run_commands(&app, &aircraft, 200).await;
    let outage = Outage {
        rounds: 6,
        pause: Duration::from_millis(300),
        after: Duration::from_millis(200),
        lasting: Duration::from_secs(4),
    };
    outage.during_commands(&app, &aircraft, &broker).await;
    wait_for_subscription(&app.pool, MIRROR).await;
    assert_arrived_once_each_in_order(&app, &broker).await;
}

/// Rounds of 80 commands (`pause` apart) while the broker stops `after` the first started, for
/// `lasting`.
struct Outage {
    rounds: usize,
    pause: Duration,
    after: Duration,
    lasting: Duration,
}

impl Outage {
    async fn during_commands(&self, app: &TestApp, aircraft: &[String], broker: &Broker) {
        let commands = async {
            for _ in 0..self.rounds {
                run_commands(app, aircraft, 80).await;
                tokio::time::sleep(self.pause).await;
            }
        };
        let outage = async {
            tokio::time::sleep(self.after).await;
            broker.freeze();
            tokio::time::sleep(self.lasting).await;
            broker.thaw();
        };
        futures_util::join!(commands, outage);
    }
}

/// Every stored event is on the topics once, each aggregate's in order.
async fn assert_arrived_once_each_in_order(app: &TestApp, broker: &Broker) {
    let consumed = consume_all(&broker.address(), &TOPICS, Duration::from_secs(3)).await;
    assert_each_aggregate_arrives_once_in_order(&consumed);
    assert_eq!(assert_faithful(&consumed, &stored(&app.pool).await), 0, "no event was sent twice");
}

/// Catching up, the relay sends a batch while the one before it is still being delivered
/// (batches of 20 here, so hundreds of events go through the pipelined path). The broker stops
/// in the middle of it: every batch in flight waits, none is checkpointed early, and the topics
/// end with each aggregate's events once, in order.
#[actix_rt::test]
async fn pipelined_batches_across_a_broker_outage_arrive_once_each_in_order() {
    let broker = Broker::start();
    let app = spawn_app_with(|_| {}).await;
    let aircraft = app.certified_fleet(10000, 6).await;
    run_commands(&app, &aircraft, 400).await;
    let mut config = MirrorConfig::new(broker.address());
    config.partitions = 2;
    let relay = Relay::new(config).unwrap();
    relay.ensure_topics().await.unwrap();
    let mirror = Subscription::new(MIRROR, "pipelined", app.pool.clone(), relay).with_batch_size(20);
    let following = actix_rt::spawn(mirror.run());
    let outage = Outage {
        rounds: 4,
        pause: Duration::from_millis(200),
        after: Duration::from_millis(50),
        lasting: Duration::from_secs(3),
    };
    outage.during_commands(&app, &aircraft, &broker).await;
    wait_for_subscription(&app.pool, MIRROR).await;
    following.abort();
    assert_arrived_once_each_in_order(&app, &broker).await;
}

/// The relay, "crashing" right after the broker confirmed a batch and before the checkpoint.
struct CrashAfterDelivery(Relay);

#[async_trait::async_trait]
impl Subscriber for CrashAfterDelivery {
    fn delivery(&self) -> Delivery {
        Delivery::AtLeastOnce
    }

    async fn apply(
        &self,
        db: &mut sqlx::PgConnection,
        events: &[StoredEvent],
    ) -> Result<(), SubscriberError> {
        self.0.apply(db, events).await?;
        Err(SubscriberError::Other("simulated crash after delivery".into()))
    }
}

#[actix_rt::test]
async fn a_relay_crash_between_delivery_and_checkpoint_only_duplicates_with_the_same_event_ids() {
    let broker = Broker::start();
    let app = spawn_app_with(|_| {}).await;
    let aircraft = app.certified_fleet(10000, 5).await;
    run_commands(&app, &aircraft, 120).await;

    let mut config = MirrorConfig::new(broker.address());
    config.partitions = 2;
    let relay = Relay::new(config.clone()).unwrap();
    relay.ensure_topics().await.unwrap();
    wait_until_readable(&app.pool).await;
    let crashing = Subscription::new(MIRROR, "crash", app.pool.clone(), CrashAfterDelivery(relay.clone()))
        .with_batch_size(50);
    assert!(crashing.catch_up().await.is_err(), "the crash happens");
    let healthy = Subscription::new(MIRROR, "restart", app.pool.clone(), relay).with_batch_size(50);
    healthy.catch_up().await.unwrap();

    let consumed = consume_all(&broker.address(), &TOPICS, Duration::from_secs(3)).await;
    let duplicates = assert_faithful(&consumed, &stored(&app.pool).await);
    assert_eq!(duplicates, 50, "exactly the crashed batch is sent twice");
    let verify = run_verify(&app_database_url(&app).await, &broker);
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
    let report: serde_json::Value = serde_json::from_slice(&verify.stdout).unwrap();
    assert_eq!(report["duplicates"], 50);
}

/// Runs `klg mirror verify` against the database and broker.
fn run_verify(database_url: &str, broker: &Broker) -> std::process::Output {
    std::process::Command::new(klg_binary())
        .args(["mirror", "verify", "--idle-seconds", "3"])
        .env("DATABASE_URL", database_url)
        .env("REDPANDA_BROKERS", broker.address())
        .output()
        .expect("klg mirror verify runs")
}

async fn app_database_url(app: &TestApp) -> String {
    let name: String = sqlx::query_scalar("SELECT current_database()").fetch_one(&app.pool).await.unwrap();
    format!("{}/{name}", klg_tests::postgres_server_url())
}

#[actix_rt::test]
async fn a_klg_process_killed_while_mirroring_loses_nothing_after_restart() {
    let deployment = Deployment::new();
    let mut first = deployment.serve();
    let client = klg_tests::admin_client();
    let urls = fleet_of_twenty(&client, &first, 20000).await;
    let flood = flood_with_notes(&client, urls, 15);
    let killer = async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        first.kill();
    };
    futures_util::future::join(flood, killer).await;

    let (consumed, stored) = deployment.finish_mirror().await;
    assert_faithful(&consumed, &stored);
    let verify = run_verify(&deployment.url, &deployment.broker);
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
}

#[actix_rt::test]
async fn verify_reports_events_the_checkpoint_claims_but_the_topics_lack() {
    let broker = Broker::start();
    let app = spawn_app_with(|_| {}).await;
    app.certified_fleet(10000, 3).await;
    let relay = Relay::new(MirrorConfig::new(broker.address())).unwrap();
    relay.ensure_topics().await.unwrap();
    wait_until_readable(&app.pool).await;
    Subscription::new(MIRROR, "test", app.pool.clone(), relay).catch_up().await.unwrap();
    // An event stored while a rogue change moves the checkpoint past it: never published.
    let (transaction_id, position): (String, i64) = sqlx::query_as(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         VALUES ('Probe', 'p1', 1, 'Probed', '1.0', '{}', '{}') RETURNING transaction_id::text, global_position",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE subscription_checkpoints SET transaction_id = $2::xid8, global_position = $3 WHERE name = $1",
    )
    .bind(MIRROR)
    .bind(&transaction_id)
    .bind(position)
    .execute(&app.pool)
    .await
    .unwrap();
    let verify = run_verify(&app_database_url(&app).await, &broker);
    let output =
        format!("{}\n{}", String::from_utf8_lossy(&verify.stdout), String::from_utf8_lossy(&verify.stderr));
    assert!(!verify.status.success(), "verify must fail: {output}");
    let report: serde_json::Value = serde_json::from_slice(&verify.stdout).unwrap();
    assert_eq!(report["missing"].as_array().unwrap().len(), 1, "{report}");
}

/// SIGTERM under load: the process stops accepting, lets the projector and the mirror finish the
/// batch under way (delivered and checkpointed), flushes and exits 0 — no subscription is cut
/// off mid-batch, so a clean stop re-sends nothing: after a second process finishes the mirror,
/// every event is on the topics exactly once.
#[actix_rt::test]
async fn sigterm_under_load_finishes_batches_and_resends_nothing() {
    let deployment = Deployment::new();
    let mut first = deployment.serve();
    let client = klg_tests::admin_client();
    let urls = fleet_of_twenty(&client, &first, 21000).await;
    let flood = flood_with_notes(&client, urls, 40);
    let terminator = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        first.signal_terminate();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = first.child.try_wait() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    };
    let (_, status) = futures_util::future::join(flood, terminator).await;
    let status = status.expect("klg exited within 30 s of SIGTERM");
    assert!(status.success(), "exit status {status}");
    // The log reader thread may still be draining the pipe.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !first.logs().iter().any(|l| l.contains("\"stopped\"")) && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let logs = first.logs().join("\n");
    assert!(!logs.contains("subscription interrupted"), "a subscription was cut off:\n{logs}");
    assert!(!logs.contains("Tokio context"), "{logs}");
    assert_eq!(logs.matches("subscription stopped").count(), 2, "projector and mirror stop cleanly:\n{logs}");

    let (consumed, stored) = deployment.finish_mirror().await;
    assert_eq!(assert_faithful(&consumed, &stored), 0, "a clean stop re-sent events");
    assert_each_aggregate_arrives_once_in_order(&consumed);
}

/// A database, a blob directory and a broker that successive `klg serve` processes share.
struct Deployment {
    broker: Broker,
    url: String,
    blobs: std::path::PathBuf,
    _database: klg_tests::DropDatabase,
}

impl Deployment {
    fn new() -> Self {
        let (url, name) = fresh_database_url();
        let blobs = std::env::temp_dir().join(format!("klg-mirror-{}", uuid::Uuid::new_v4().simple()));
        Self { broker: Broker::start(), url, blobs, _database: klg_tests::DropDatabase(name) }
    }

    /// A `klg serve` mirroring to the broker.
    fn serve(&self) -> KlgProcess {
        KlgProcess::serve_with(&self.url, &self.blobs, &[("REDPANDA_BROKERS", self.broker.address())])
    }

    /// Lets a fresh process finish the mirror; returns what the topics hold and what is stored.
    async fn finish_mirror(&self) -> (Vec<Consumed>, HashMap<uuid::Uuid, (String, i64, String)>) {
        let second = self.serve();
        let pool = PgPool::connect(&self.url).await.unwrap();
        wait_for_subscription(&pool, MIRROR).await;
        let consumed = consume_all(&self.broker.address(), &TOPICS, Duration::from_secs(3)).await;
        let stored = stored(&pool).await;
        drop(second);
        pool.close().await;
        (consumed, stored)
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.blobs);
    }
}

/// Registers twenty aircraft (RA-<first>… ) through `server`; returns their resource URLs there.
async fn fleet_of_twenty(client: &awc::Client, server: &KlgProcess, first: usize) -> Vec<String> {
    let mut urls = vec![];
    for i in 0..20 {
        let body = klg_tests::aircraft_body(&format!("RA-{:05}", first + i));
        let reply =
            klg_tests::read(client.post(server.url("/api/v1/aircraft")).send_json(&body).await.unwrap())
                .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        urls.push(server.url(&format!("/api/v1/aircraft/{}", reply.body["id"].as_str().unwrap())));
    }
    urls
}

/// `per_aircraft` detail updates on each URL, all aircraft at once; failures (the server going
/// away) are ignored.
async fn flood_with_notes(client: &awc::Client, urls: Vec<String>, per_aircraft: usize) {
    join_all(urls.into_iter().map(|url| async move {
        for n in 0..per_aircraft {
            let _ = client.put(&url).send_json(&json!({"notes": format!("note {n}")})).await;
        }
    }))
    .await;
}

#[actix_rt::test]
async fn a_replayed_range_carries_the_same_envelopes_into_a_new_topic_and_verifies_there() {
    let broker = Broker::start();
    let app = app_mirroring_to(&broker).await;
    let aircraft = app.certified_fleet(10000, 5).await;
    app.upload_document().await;
    run_commands(&app, &aircraft, 80).await;
    wait_for_subscription(&app.pool, MIRROR).await;
    let url = app_database_url(&app).await;
    let (low, high): (i64, i64) =
        sqlx::query_as("SELECT min(global_position), max(global_position) FROM events")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let (from, to) = (low + 5, high - 5);
    let in_range: HashSet<uuid::Uuid> =
        sqlx::query_scalar("SELECT event_id FROM events WHERE global_position BETWEEN $1 AND $2")
            .bind(from)
            .bind(to)
            .fetch_all(&app.pool)
            .await
            .unwrap()
            .into_iter()
            .collect();
    let klg = |args: &[&str]| {
        std::process::Command::new(klg_binary())
            .args(args)
            .env("DATABASE_URL", &url)
            .env("REDPANDA_BROKERS", broker.address())
            .output()
            .unwrap()
    };
    let (from_arg, to_arg) = (from.to_string(), to.to_string());
    let range = ["--from-position", from_arg.as_str(), "--to-position", to_arg.as_str()];
    let topic = "klg.replay.audit";
    let replayed = klg(&[&["replay", "mirror", "--topic", topic][..], &range[..]].concat());
    assert!(replayed.status.success(), "{}", String::from_utf8_lossy(&replayed.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&replayed.stdout).unwrap();
    assert_eq!(summary["events"].as_u64(), Some(in_range.len() as u64), "{summary}");

    // The same envelopes, keys and headers as the live mirror sent, in aggregate order.
    let original: HashMap<uuid::Uuid, Consumed> =
        consume_all(&broker.address(), &TOPICS, Duration::from_secs(3))
            .await
            .into_iter()
            .map(|m| (m.envelope.id, m))
            .collect();
    let copies = consume_all(&broker.address(), &[topic], Duration::from_secs(3)).await;
    assert_eq!(copies.iter().map(|m| m.envelope.id).collect::<HashSet<_>>(), in_range);
    assert_eq!(copies.len(), in_range.len(), "each once");
    let mut last: HashMap<&str, i64> = HashMap::new();
    for copy in &copies {
        let first = &original[&copy.envelope.id];
        assert_eq!(
            serde_json::to_value(&copy.envelope).unwrap(),
            serde_json::to_value(&first.envelope).unwrap()
        );
        assert_eq!((&copy.key, &copy.headers), (&first.key, &first.headers));
        if let Some(previous) = last.insert(&copy.envelope.aggregateid, copy.envelope.sequence) {
            assert_eq!(copy.envelope.sequence, previous + 1, "{} out of order", copy.envelope.aggregateid);
        }
    }

    let idle = ["--idle-seconds", "3", "--topic", topic];
    let verified = klg(&[&["mirror", "verify"][..], &idle[..], &range[..]].concat());
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stderr));
    let low_arg = low.to_string();
    let wider_range = ["--from-position", low_arg.as_str(), "--to-position", to_arg.as_str()];
    let wider = klg(&[&["mirror", "verify"][..], &idle[..], &wider_range[..]].concat());
    assert_eq!(wider.status.code(), Some(1), "events before the replayed range are missing there");
    let report: serde_json::Value = serde_json::from_slice(&wider.stdout).unwrap();
    assert_eq!(report["missing"].as_array().unwrap().len(), 5, "{report}");

    // Re-published onto the mirror topics themselves: only duplicates, which verify accepts.
    let again = klg(&["replay", "mirror", "--from-position", from_arg.as_str()]);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    let verify = run_verify(&url, &broker);
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
    let report: serde_json::Value = serde_json::from_slice(&verify.stdout).unwrap();
    assert!(report["duplicates"].as_u64().unwrap() > 0, "{report}");
    let refused = klg(&["replay", "mirror"]);
    assert!(!refused.status.success(), "a range is required");
}

/// A flight stored as version 1.0 — byte for byte what KLG wrote before flights had a route —
/// is read as version 2.0 with no route by every reader of the log.
#[actix_rt::test]
async fn a_version_1_flight_is_seen_upcast_by_every_reader() {
    let broker = Broker::start();
    let app = app_mirroring_to(&broker).await;
    let id = app.certified_aircraft("RA-89901").await;
    let stored: (i64, String) = sqlx::query_as(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         VALUES ('Aircraft', $1, 3, 'FlightLogged', '1.0', \
                 '{\"FlightLogged\":{\"flight_date\":\"2024-05-01\",\"block_minutes\":90,\"cycles\":2}}', \
                 '{\"actor\":\"bootstrap-admin\"}') \
         RETURNING global_position, event_id::text",
    )
    .bind(&id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let (position, event_id) = stored;
    // The write side loads it (through cqrs-es's upcaster) and decides on totals that include it.
    let flight = json!({"flight_date": "2024-05-02", "block_hours": 1.0, "cycles": 1,
                        "departure": "uuee", "arrival": "URSS"});
    let logged = app.post_json(&format!("/api/v1/aircraft/{id}/flights"), &flight).await;
    assert_eq!(logged.status, StatusCode::OK, "{}", logged.body);
    let both = app.get(&format!("/api/v1/aircraft/{id}?min_position={}", logged.body["position"])).await;
    assert_eq!(
        (both.body["flight_count"].as_i64(), both.body["total_cycles"].as_i64()),
        (Some(2), Some(3)),
        "{}",
        both.body
    );
    let departure: String = sqlx::query_scalar(
        "SELECT payload->'FlightLogged'->'route'->>'departure' FROM events WHERE aggregate_id = $1 AND sequence = 4",
    )
    .bind(&id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(departure, "UUEE");

    // The history (read from the log as stored) shows the entry upcast: version 2.0, no route.
    let history = app.get(&format!("/api/v1/aircraft/{id}/history")).await;
    let entry = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["global_position"] == position)
        .unwrap()
        .clone();
    assert_eq!(entry["event_version"], "2.0", "{entry}");
    assert_eq!(entry["payload"]["FlightLogged"]["route"], serde_json::Value::Null, "{entry}");
    assert!(entry["summary"].as_str().unwrap().starts_with("Flight on "), "{entry}");
    // The audit timeline folds it like any flight and shows the upcast payload.
    let timeline = app.get(&format!("/api/v1/aircraft/{id}/timeline")).await;
    let upcast = &timeline.body["items"][2];
    assert_eq!(
        (upcast["event_version"].as_str(), upcast["stored_version"].as_str()),
        (Some("2.0"), Some("1.0"))
    );
    assert_eq!(upcast["payload"]["FlightLogged"]["route"], serde_json::Value::Null);
    assert!(upcast["summary"].as_str().unwrap().contains("0 → 2"), "{upcast}");

    // The mirror publishes it as 2.0.
    wait_for_subscription(&app.pool, MIRROR).await;
    let consumed = consume_all(&broker.address(), &TOPICS, Duration::from_secs(3)).await;
    let message = consumed.iter().find(|m| m.envelope.id.to_string() == event_id).expect("mirrored");
    assert_eq!(message.envelope.eventversion, "2.0");
    assert_eq!(message.envelope.data["route"], serde_json::Value::Null);
    assert!(message.headers.contains(&("event_version".to_owned(), "2.0".to_owned())));

    // Replay and as-of folds go through the same reader; the export keeps the stored form (its
    // hash covers it) and adds the current one.
    let url = app_database_url(&app).await;
    wait_for_subscription(&app.pool, klg_projections::PROJECTIONS).await;
    let before = klg_tests::projection_snapshot(&app.pool).await;
    let klg = |args: &[&str]| {
        std::process::Command::new(klg_binary()).args(args).env("DATABASE_URL", &url).output().unwrap()
    };
    let replayed = klg(&["replay", "projections"]);
    assert!(replayed.status.success(), "{}", String::from_utf8_lossy(&replayed.stderr));
    assert_eq!(klg_tests::projection_snapshot(&app.pool).await, before);
    let exported = klg(&["export", "--aggregate-id", &id]);
    assert!(exported.status.success(), "{}", String::from_utf8_lossy(&exported.stderr));
    let line: serde_json::Value = String::from_utf8(exported.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|l| l["global_position"] == position)
        .unwrap();
    assert_eq!(line["event_version"], "1.0");
    assert_eq!(line["payload"]["FlightLogged"].get("route"), None, "stored form");
    assert_eq!(line["current"]["event_version"], "2.0");
    assert_eq!(line["current"]["payload"]["FlightLogged"]["route"], serde_json::Value::Null);
    let report = klg_audit::verify(&app.pool, None, |_| {}).await.unwrap();
    assert!(report.ok, "{report:?}");
}
