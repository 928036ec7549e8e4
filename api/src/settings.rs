//! Configuration: flags, each with an environment variable, each with a default that runs the
//! embedded mode on a fresh machine.

use std::path::PathBuf;

use clap::Args;

/// Settings of `klg serve`.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    #[command(flatten)]
    pub database: DatabaseSettings,

    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "KLG_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// Directory of the content-addressed blob store (created if missing). For several
    /// instances, use a shared store: `KLG_BLOB_URL`.
    #[arg(long, env = "KLG_BLOB_DIR", default_value = "./data/blobs")]
    pub blob_dir: PathBuf,

    /// Blob store by URL, instead of `KLG_BLOB_DIR`: `s3://bucket[/prefix]` (any S3-compatible
    /// store; endpoint, region and credentials from the standard `AWS_*` variables, e.g.
    /// `AWS_ENDPOINT`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_ALLOW_HTTP=true` for plain HTTP) or `file:///path`.
    #[arg(long, env = "KLG_BLOB_URL")]
    pub blob_url: Option<String>,

    /// Largest accepted upload, in bytes.
    #[arg(long, env = "KLG_MAX_UPLOAD_BYTES", default_value_t = klg_commands::blobs::DEFAULT_MAX_BYTES)]
    pub max_upload_bytes: u64,

    /// HTTP worker threads (default: one per CPU).
    #[arg(long, env = "KLG_WORKERS")]
    pub workers: Option<usize>,

    /// Maintain the projections in this process (one instance leads, the others stand by).
    #[arg(long, env = "KLG_PROJECTOR", default_value_t = true, action = clap::ArgAction::Set)]
    pub run_projector: bool,

    #[command(flatten)]
    pub mirror: MirrorSettings,

    /// RisingWave (PostgreSQL wire protocol) to serve every read from, e.g.
    /// `postgresql://root:risingwave@localhost:4566/dev`. Unset: the embedded projections.
    #[arg(long, env = "RISINGWAVE_URL")]
    pub risingwave_url: Option<String>,

    /// Flink's REST API (e.g. `http://localhost:8081`): the health endpoint then reports the state
    /// of the statistics jobs.
    #[arg(long, env = "FLINK_REST_URL")]
    pub flink_rest_url: Option<String>,

    /// The admin token to create when the database has no token at all (compose, CI), as
    /// `klg_<id>_<secret>` (id: 1-32 letters or digits; secret: 32+ characters). Unset: a new
    /// one is generated and printed once on standard output.
    #[arg(long, env = "KLG_BOOTSTRAP_TOKEN", hide_env_values = true)]
    pub bootstrap_token: Option<String>,

    /// Longest a database statement of a request may run, in milliseconds; longer ones are
    /// cancelled and the request answers 503. 0: no limit.
    #[arg(long, env = "KLG_STATEMENT_TIMEOUT_MS", default_value_t = 30_000)]
    pub statement_timeout_ms: u64,

    /// How long a command waits, in milliseconds, for other commands on the same aggregate in
    /// this process before answering 503 with `Retry-After` (nothing stored).
    #[arg(long, env = "KLG_AGGREGATE_WAIT_MS", default_value_t = klg_commands::DEFAULT_LOCK_WAIT.as_millis() as u64)]
    pub aggregate_wait_ms: u64,

    /// Writes (POST, PUT, DELETE) each token may send per minute, sustained; bursts of a sixth
    /// of it pass at once. Over it: 429 with `Retry-After`. 0: unlimited.
    #[arg(long, env = "KLG_WRITE_LIMIT_PER_MINUTE", default_value_t = 3000)]
    pub write_limit_per_minute: u32,

    /// The Ed25519 public key (64 hex characters) trusted to have signed the log's seals, for
    /// `GET /api/v1/audit/verify`; its private key stays off this machine.
    #[arg(long, env = "KLG_AUDIT_PUBLIC_KEY")]
    pub audit_public_key: Option<String>,

    /// Serve `GET /metrics` without a token (for a Prometheus on a private network).
    #[arg(long, env = "KLG_METRICS_PUBLIC", default_value_t = false, action = clap::ArgAction::Set)]
    pub metrics_public: bool,
}

/// The Redpanda mirror.
#[derive(Debug, Clone, Args)]
pub struct MirrorSettings {
    /// Kafka-API brokers (Redpanda) to mirror every stored event to, `host:port[,…]`. Unset: no
    /// mirror; events wait in the log and are mirrored from the start once this is set.
    #[arg(long = "redpanda-brokers", env = "REDPANDA_BROKERS")]
    pub brokers: Option<String>,

    /// Kafka client id of the mirror's producer.
    #[arg(long = "redpanda-client-id", env = "REDPANDA_CLIENT_ID", default_value = "klg-backend")]
    pub client_id: String,

    /// Topic of Aircraft events.
    #[arg(long, env = "KLG_MIRROR_TOPIC_AIRCRAFT", default_value = "klg.aircraft.events")]
    pub aircraft_topic: String,

    /// Topic of InboxItem events.
    #[arg(long, env = "KLG_MIRROR_TOPIC_INBOX", default_value = "klg.inbox.events")]
    pub inbox_topic: String,

    /// Topic of PartsRequest (TMC) events.
    #[arg(long, env = "KLG_MIRROR_TOPIC_TMC", default_value = "klg.tmc.events")]
    pub tmc_topic: String,

    /// Topic of events of any other aggregate type.
    #[arg(long, env = "KLG_MIRROR_TOPIC_OTHER", default_value = "klg.other.events")]
    pub other_topic: String,

    /// Partitions of mirror topics created at start-up.
    #[arg(long, env = "KLG_MIRROR_PARTITIONS", default_value_t = 3)]
    pub partitions: i32,

    /// Replication factor of mirror topics created at start-up.
    #[arg(long, env = "KLG_MIRROR_REPLICATION", default_value_t = 1)]
    pub replication: i32,
}

impl MirrorSettings {
    /// Mirror configuration, or `None` when no brokers are set.
    pub fn config(&self) -> Option<klg_mirror::MirrorConfig> {
        let brokers = self.brokers.as_deref().map(str::trim).filter(|b| !b.is_empty())?;
        Some(klg_mirror::MirrorConfig {
            brokers: brokers.to_owned(),
            client_id: self.client_id.clone(),
            topics: klg_mirror::Topics {
                aircraft: self.aircraft_topic.clone(),
                inbox: self.inbox_topic.clone(),
                tmc: self.tmc_topic.clone(),
                other: self.other_topic.clone(),
            },
            partitions: self.partitions,
            replication: self.replication,
        })
    }

    /// No mirror.
    pub fn disabled() -> Self {
        Self {
            brokers: None,
            client_id: "klg-backend".into(),
            aircraft_topic: "klg.aircraft.events".into(),
            inbox_topic: "klg.inbox.events".into(),
            tmc_topic: "klg.tmc.events".into(),
            other_topic: "klg.other.events".into(),
            partitions: 3,
            replication: 1,
        }
    }
}

/// Where the event store is.
#[derive(Debug, Clone, Args)]
pub struct DatabaseSettings {
    /// PostgreSQL URL of the event store; the database is created if it does not exist.
    #[arg(long, env = "DATABASE_URL", default_value = "postgres://postgres@127.0.0.1:5432/klg")]
    pub database_url: String,

    /// Maximum PostgreSQL connections of this process.
    #[arg(long, env = "KLG_DB_POOL_SIZE", default_value_t = klg_commands::db::DEFAULT_POOL_SIZE)]
    pub db_pool_size: u32,
}

impl Settings {
    /// Settings for a test or an embedding program: the given database, a free port.
    pub fn for_database(database_url: impl Into<String>, blob_dir: impl Into<PathBuf>) -> Self {
        Self {
            database: DatabaseSettings {
                database_url: database_url.into(),
                db_pool_size: klg_commands::db::DEFAULT_POOL_SIZE,
            },
            bind: "127.0.0.1:0".into(),
            blob_dir: blob_dir.into(),
            blob_url: None,
            max_upload_bytes: klg_commands::blobs::DEFAULT_MAX_BYTES,
            workers: Some(2),
            run_projector: true,
            mirror: MirrorSettings::disabled(),
            risingwave_url: None,
            flink_rest_url: None,
            bootstrap_token: None,
            write_limit_per_minute: 0,
            statement_timeout_ms: 30_000,
            aggregate_wait_ms: klg_commands::DEFAULT_LOCK_WAIT.as_millis() as u64,
            metrics_public: false,
            audit_public_key: None,
        }
    }
}
