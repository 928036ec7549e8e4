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

    /// Directory of the content-addressed blob store (created if missing).
    #[arg(long, env = "KLG_BLOB_DIR", default_value = "./data/blobs")]
    pub blob_dir: PathBuf,

    /// Largest accepted upload, in bytes.
    #[arg(long, env = "KLG_MAX_UPLOAD_BYTES", default_value_t = klg_commands::blobs::DEFAULT_MAX_BYTES)]
    pub max_upload_bytes: u64,

    /// HTTP worker threads (default: one per CPU).
    #[arg(long, env = "KLG_WORKERS")]
    pub workers: Option<usize>,

    /// Maintain the projections in this process (one instance leads, the others stand by).
    #[arg(long, env = "KLG_PROJECTOR", default_value_t = true, action = clap::ArgAction::Set)]
    pub run_projector: bool,
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
            max_upload_bytes: klg_commands::blobs::DEFAULT_MAX_BYTES,
            workers: Some(2),
            run_projector: true,
        }
    }
}
