//! A real Kafka-API broker for tests: `tansu` (Redpanda cannot be installed on these machines),
//! on loopback, one per test, in-memory storage. `scripts/test-setup` installs it.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use klg_mirror::EventEnvelope;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::Message;

/// `$KLG_TANSU`, or the copy `scripts/test-setup` installed under `~/.cache/klg/tools`.
pub fn tansu_binary() -> PathBuf {
    crate::installed_tool("KLG_TANSU", "bin/tansu")
}

pub struct Broker {
    child: Child,
    pub port: u16,
}

impl Broker {
    /// Starts a broker on a free loopback port and waits until it accepts connections.
    pub fn start() -> Self {
        for _ in 0..5 {
            let port =
                TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
            let url = format!("tcp://127.0.0.1:{port}");
            let mut child = Command::new(tansu_binary())
                .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
                .args(["--storage-engine", "memory://tansu/", "--silent"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("tansu starts");
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Self { child, port };
                }
                if child.try_wait().ok().flatten().is_some() {
                    break; // Lost the port to someone else: try another.
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
        }
        panic!("tansu did not start");
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Freezes the broker (SIGSTOP): connections stay open, nothing is answered — an outage
    /// that a memory-backed broker survives (a restart would lose its data).
    pub fn freeze(&self) {
        signal(self.child.id(), "-STOP");
    }

    pub fn thaw(&self) {
        signal(self.child.id(), "-CONT");
    }
}

fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill").args([sig, &pid.to_string()]).status().expect("kill runs");
    assert!(status.success(), "kill {sig} {pid} failed");
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.thaw();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One consumed message.
#[derive(Debug, Clone)]
pub struct Consumed {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: String,
    pub headers: Vec<(String, String)>,
    pub envelope: EventEnvelope,
}

const MIRROR_TOPICS: [&str; 4] =
    ["klg.aircraft.events", "klg.inbox.events", "klg.tmc.events", "klg.other.events"];

/// A consumer of `topics` from the earliest offset, in a group of its own, polling often.
pub fn consumer(brokers: &str, topics: &[&str]) -> StreamConsumer {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("klg-test-{}", uuid::Uuid::new_v4()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "10")
        .set("topic.metadata.refresh.interval.ms", "500")
        .create()
        .expect("consumer");
    consumer.subscribe(topics).expect("subscribe");
    consumer
}

/// Loads every mirrored envelope into the stand-in's event tables as it arrives, for ever.
pub async fn ingest(brokers: String, standin: sqlx::PgPool) {
    let consumer = consumer(&brokers, &MIRROR_TOPICS);
    loop {
        match consumer.recv().await {
            Ok(message) => load_envelopes(&standin, &[consumed(&message)]).await,
            Err(e) => {
                eprintln!("stand-in ingester: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Everything on `topics`, read from the beginning until nothing arrives for `idle`.
pub async fn consume_all(brokers: &str, topics: &[&str], idle: Duration) -> Vec<Consumed> {
    let consumer = consumer(brokers, topics);
    let mut consumed = vec![];
    while let Ok(message) = tokio::time::timeout(idle, consumer.recv()).await {
        consumed.push(self::consumed(&message.expect("message")));
    }
    consumed
}

fn consumed(message: &rdkafka::message::BorrowedMessage<'_>) -> Consumed {
    use rdkafka::message::Headers;
    {
        let headers = message
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| {
                        (h.key.to_owned(), String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned())
                    })
                    .collect()
            })
            .unwrap_or_default();
        Consumed {
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            key: String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned(),
            headers,
            envelope: serde_json::from_slice(message.payload().expect("payload")).expect("a KLG envelope"),
        }
    }
}

/// Writes envelopes into RisingWave-shaped event tables (the PostgreSQL stand-in), in the given
/// arrival order, with the semantics of a RisingWave table with a primary key: a row with an
/// id already present overwrites it.
pub async fn load_envelopes(pool: &sqlx::PgPool, messages: &[Consumed]) {
    for message in messages {
        let e = &message.envelope;
        let table = match e.aggregatetype.as_str() {
            "Aircraft" => "klg_aircraft_events",
            "InboxItem" => "klg_inbox_events",
            "PartsRequest" => "klg_tmc_events",
            _ => continue,
        };
        let sql = format!(
            "INSERT INTO {table} (id, specversion, source, type, subject, time, datacontenttype, data, aggregatetype, \
             aggregateid, sequence, position, eventtype, eventversion, recordedat, actor, correlationid, causationid, \
             requestid, kafka_partition, kafka_offset) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) \
             ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, kafka_partition = EXCLUDED.kafka_partition, \
             kafka_offset = EXCLUDED.kafka_offset"
        );
        sqlx::query(&sql)
            .bind(e.id.to_string())
            .bind(&e.specversion)
            .bind(&e.source)
            .bind(&e.event_type)
            .bind(&e.subject)
            .bind(e.time)
            .bind(&e.datacontenttype)
            .bind(&e.data)
            .bind(&e.aggregatetype)
            .bind(&e.aggregateid)
            .bind(e.sequence)
            .bind(e.position)
            .bind(&e.eventtype)
            .bind(&e.eventversion)
            .bind(e.recordedat)
            .bind(&e.actor)
            .bind(&e.correlationid)
            .bind(&e.causationid)
            .bind(&e.requestid)
            .bind(message.partition.to_string())
            .bind(message.offset.to_string())
            .execute(pool)
            .await
            .expect("envelope loaded");
    }
}
