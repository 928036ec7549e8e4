//! The mirror's throughput and commit→topic latency against a real Kafka-API broker (tansu),
//! measured for the benchmarks (`--bench mirror`, and the mirror rows of `--bench commands`).
//!
//! Baseline, measured in the same run: a bare idempotent rdkafka producer sending the same
//! messages (envelope, key and headers, from `klg_mirror::encode`) with no database (the most
//! the relay could do).

use std::time::{Duration, Instant};

use chrono::Utc;
use klg_commands::{CommandMetadata, WriteSide};
use klg_domain::aircraft::AircraftCommand;
use klg_domain::values::BlockMinutes;
use klg_domain::Guarded;
use klg_mirror::{EventEnvelope, MirrorConfig, Relay, MIRROR};
use klg_projections::log::{read_after, LogPosition};
use klg_projections::Subscription;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::Message;

use crate::broker::Broker;

/// What one mirror measurement found.
pub struct MirrorFigures {
    pub stored: usize,
    /// Events per second through a bare idempotent producer (the best of [`ROUNDS`]).
    pub bare_producer: f64,
    /// Events per second the relay drains from the log to the topics (the best of [`ROUNDS`]).
    pub relay: f64,
    /// Command latency while the relay follows (p50, p99, ms).
    pub command: (f64, f64),
    /// Commit → consumed from the topic (p50, p99, ms).
    pub commit_to_consumed: (f64, f64),
}

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

/// Stores `events` flights (on a fresh database, with a broker of its own), then measures the
/// relay's drain against the bare producer and the commit → consumed latency.
pub async fn measure(events: usize) -> MirrorFigures {
    let broker = Broker::start();
    let (url, name) = crate::fresh_database_url();
    let _cleanup = crate::DropDatabase(name);
    let database = klg_api::settings::DatabaseSettings { database_url: url, db_pool_size: 16 };
    let pool = klg_api::startup::prepare_database(&database).await.unwrap();
    let write = WriteSide::new(pool.clone());
    let meta = CommandMetadata::new("bench");
    let aircraft = store_flight_backlog(&write, &meta, events).await;
    let stored = read_after(&pool, LogPosition::default(), i64::MAX).await.unwrap();

    // Baseline: the same messages (envelope, key, headers) through a bare idempotent producer,
    // to a topic like the relay's (3 partitions).
    let mut baseline_topics = MirrorConfig::new(broker.address());
    baseline_topics.topics = bench_topics("bench.baseline");
    Relay::new(baseline_topics).unwrap().ensure_topics().await.unwrap();
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.address())
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        .create()
        .unwrap();
    let warm_up = FutureRecord::to("bench.baseline").key("warm-up").payload("{}");
    producer.send(warm_up, Duration::from_secs(10)).await.map_err(|(e, _)| e).unwrap();

    // Rounds of one bare send and one relay drain (read, publish, confirm, checkpoint), each
    // side's best: a single drain of 100,000 events takes about half a second, and single runs
    // of either side moved by a third between runs on one machine (docs/benchmarks.md,
    // session 10). The last round is the relay's own subscription and topics, followed live below.
    let (mut baseline, mut relay_rate): (f64, f64) = (0.0, 0.0);
    let mut config = MirrorConfig::new(broker.address());
    config.partitions = 3;
    let relay = Relay::new(config.clone()).unwrap();
    for round in 1..=ROUNDS {
        baseline = baseline.max(bare_send_rate(&producer, &stored).await);
        let (name, drain) = if round == ROUNDS {
            (MIRROR.to_owned(), relay.clone())
        } else {
            let topics = bench_topics(&format!("bench.drain{round}"));
            (format!("bench-drain-{round}"), Relay::new(MirrorConfig { topics, ..config.clone() }).unwrap())
        };
        drain.ensure_topics().await.unwrap();
        // Dropped after the clock stops: dropping a producer joins its polling thread (up to
        // 100 ms), which is not part of draining.
        let subscription = Subscription::new(name, "bench", pool.clone(), drain);
        let started = Instant::now();
        let drained = subscription.catch_up().await.unwrap();
        relay_rate = relay_rate.max(drained as f64 / started.elapsed().as_secs_f64());
    }
    // Latency: commit (recorded_at) -> consumed from the topic, with the relay following live.
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker.address())
        .set("group.id", "bench-latency")
        // Poll the broker often: measure the relay, not the consumer's fetch wait.
        .set("fetch.wait.max.ms", "5")
        .set("fetch.min.bytes", "1")
        // Not "latest": the test broker reports end offsets wrong; skip old events by position.
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&[config.topics.aircraft.as_str()]).unwrap();
    let drained_to = stored.last().map_or(0, |e| e.position.global_position);
    let follower = tokio::spawn(Subscription::new(MIRROR, "bench", pool.clone(), relay.clone()).run());
    // The first commands wait for the consumer to join its group and the relay's producer to
    // settle: measured, they made the p99 (every sample over 50 ms was among the first dozen).
    // Their events are consumed but not counted.
    let (warm_up_commands, samples) = (100, 500);
    let collector = tokio::spawn(async move {
        let mut consumed = vec![];
        while consumed.len() < warm_up_commands + samples {
            let message =
                tokio::time::timeout(Duration::from_secs(30), consumer.recv()).await.unwrap().unwrap();
            let envelope: EventEnvelope = serde_json::from_slice(message.payload().unwrap()).unwrap();
            if envelope.position <= drained_to {
                continue;
            }
            let latency = (Utc::now() - envelope.recordedat).num_microseconds().unwrap() as f64 / 1000.0;
            consumed.push((envelope.position, latency));
        }
        consumed
    });
    let mut command_latency = vec![];
    let mut warmed_up_at = 0;
    for i in 0..warm_up_commands + samples {
        let started = Instant::now();
        let position = log_flight(&write, &meta, aircraft[i % aircraft.len()]).await;
        if i < warm_up_commands {
            warmed_up_at = position;
        } else {
            command_latency.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let consumed = collector.await.unwrap();
    follower.abort();
    let mut latencies: Vec<f64> =
        consumed.into_iter().filter(|(position, _)| *position > warmed_up_at).map(|(_, l)| l).collect();
    MirrorFigures {
        stored: stored.len(),
        bare_producer: baseline,
        relay: relay_rate,
        command: (percentile(&mut command_latency, 0.5), percentile(&mut command_latency, 0.99)),
        commit_to_consumed: (percentile(&mut latencies, 0.5), percentile(&mut latencies, 0.99)),
    }
}

/// Stores a backlog of at least `events` events as the service writes them: a fleet of certified
/// aircraft, a flight logged on each, then copies of it, interleaved across the fleet as
/// concurrent commands would store them. Answers the fleet.
pub async fn store_flight_backlog(
    write: &WriteSide,
    meta: &CommandMetadata,
    events: usize,
) -> Vec<uuid::Uuid> {
    let aircraft = setup_fleet(write, meta).await;
    for id in &aircraft {
        log_flight(write, meta, *id).await;
    }
    let ids: Vec<String> = aircraft.iter().map(|id| id.to_string()).collect();
    let per_aircraft = events.saturating_sub(ids.len() * 3).div_ceil(ids.len()) as i64;
    crate::grow_fleet_history(&write.pool, &ids, per_aircraft).await;
    aircraft
}

/// Rounds of the relay's drain against the bare producer (see [`measure`]).
pub const ROUNDS: usize = 3;

/// Events per second the bare producer sends `stored` at (every delivery confirmed).
async fn bare_send_rate(producer: &FutureProducer, stored: &[klg_projections::StoredEvent]) -> f64 {
    let started = Instant::now();
    let mut deliveries = vec![];
    for event in stored {
        let (payload, headers) = klg_mirror::encode(event).unwrap();
        let record = FutureRecord::to("bench.baseline")
            .key(event.aggregate_id.as_str())
            .payload(&payload)
            .headers(headers);
        deliveries.push(producer.send_result(record).map_err(|(e, _)| e).unwrap());
    }
    for d in deliveries {
        d.await.unwrap().unwrap();
    }
    stored.len() as f64 / started.elapsed().as_secs_f64()
}

/// Topics apart from the relay's own: `aircraft` and names derived from it.
fn bench_topics(aircraft: &str) -> klg_mirror::Topics {
    klg_mirror::Topics {
        aircraft: aircraft.to_owned(),
        inbox: format!("{aircraft}.inbox"),
        tmc: format!("{aircraft}.tmc"),
        other: format!("{aircraft}.other"),
    }
}

async fn setup_fleet(write: &WriteSide, meta: &CommandMetadata) -> Vec<uuid::Uuid> {
    use klg_domain::aircraft::RegisterAircraft;
    use klg_domain::values::*;
    let mut fleet = vec![];
    for i in 0..50 {
        let id = uuid::Uuid::new_v4();
        let register = AircraftCommand::Register(RegisterAircraft {
            registration_number: RegistrationNumber::parse(&format!("RA-{:05}", 30000 + i)).unwrap(),
            aircraft_type: AircraftTypeCode::parse("SU95").unwrap(),
            model: Name::parse("Superjet").unwrap(),
            serial_number: SerialNumber::parse("95001").unwrap(),
            operator: Name::parse("Bench").unwrap(),
            year_of_manufacture: None,
        });
        write.aircraft.execute(id, register.into(), meta).await.unwrap();
        let certificate = AircraftCommand::IssueCertificate {
            number: CertificateNumber::parse("CA-1").unwrap(),
            issued_on: "2020-01-01".parse().unwrap(),
            valid_until: "2030-01-01".parse().unwrap(),
        };
        write.aircraft.execute(id, certificate.into(), meta).await.unwrap();
        fleet.push(id);
    }
    fleet
}

/// Logs a flight; answers the position of its event.
async fn log_flight(write: &WriteSide, meta: &CommandMetadata, id: uuid::Uuid) -> i64 {
    let flight = AircraftCommand::LogFlight {
        flight_date: "2024-05-01".parse().unwrap(),
        block_time: BlockMinutes::from_minutes(60),
        cycles: 1,
        route: None,
    };
    write.aircraft.execute(id, Guarded::new(flight, None), meta).await.unwrap().position
}
