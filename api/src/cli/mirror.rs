//! `klg mirror …`: checking the Redpanda mirror against the store.

use clap::Subcommand;
use klg_api::settings::DatabaseSettings;
use klg_api::startup::prepare_database;

use super::progress::Progress;

/// A range of the log: by global position and/or recording time.
#[derive(clap::Args, Default)]
pub struct RangeArgs {
    /// From this global position (inclusive).
    #[arg(long)]
    from_position: Option<i64>,
    /// Up to this global position (inclusive).
    #[arg(long)]
    to_position: Option<i64>,
    /// Recorded at or after (RFC 3339).
    #[arg(long)]
    from_time: Option<chrono::DateTime<chrono::Utc>>,
    /// Recorded before (RFC 3339).
    #[arg(long)]
    to_time: Option<chrono::DateTime<chrono::Utc>>,
}

impl RangeArgs {
    /// The range, or `None` when no bound is given.
    pub fn range(&self) -> Option<klg_mirror::replay::Range> {
        let given = self.from_position.is_some()
            || self.to_position.is_some()
            || self.from_time.is_some()
            || self.to_time.is_some();
        given.then_some(klg_mirror::replay::Range {
            from_position: self.from_position,
            to_position: self.to_position,
            from_time: self.from_time,
            to_time: self.to_time,
        })
    }
}

#[derive(Subcommand)]
pub enum MirrorCommand {
    /// Consume the mirror topics from the beginning and compare them with the event store:
    /// reports events missing from the topics, extra ones (after dropping duplicates by event
    /// id) and aggregates whose events are out of order. Exits 1 if any.
    Verify(Box<VerifyArgs>),
    /// Print the JSON Schema of the message envelope.
    Schema,
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    database: DatabaseSettings,
    #[command(flatten)]
    mirror: klg_api::settings::MirrorSettings,
    /// Compare with the events of this range instead of those the mirror delivered (for a topic
    /// filled by `klg replay mirror`); use with --topic.
    #[command(flatten)]
    range: RangeArgs,
    /// Consume only this topic (instead of the three mirror topics).
    #[arg(long)]
    topic: Option<String>,
    /// Stop consuming after this many seconds without a new message.
    #[arg(long, default_value_t = 5)]
    idle_seconds: u64,
}

pub async fn verify_mirror(args: Box<VerifyArgs>) -> Result<(), String> {
    let config =
        args.mirror.config().ok_or("set REDPANDA_BROKERS (or --redpanda-brokers) to verify the mirror")?;
    let config = klg_mirror::replay::into_one_topic(config, args.topic.as_deref());
    let range = args.range.range();
    let pool = prepare_database(&args.database).await.map_err(|e| e.to_string())?;
    let idle = std::time::Duration::from_secs(args.idle_seconds);
    let mut bar = Progress::new("consumed", "messages", 0);
    let report =
        klg_mirror::verify::verify(&pool, &config, idle, range.as_ref(), |n| bar.set(n as u64)).await;
    let report = report.map_err(|e| format!("verifying the mirror failed: {e}"))?;
    bar.finish(report.consumed as u64);
    println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?);
    if report.is_clean() {
        eprintln!(
            "mirror verified: {} events expected, all present and in order ({} duplicates dropped)",
            report.expected, report.duplicates
        );
        Ok(())
    } else {
        Err(format!(
            "mirror differs from the store: {} missing, {} extra, {} aggregates out of order, {} undecodable",
            report.missing.len(),
            report.extra.len(),
            report.out_of_order.len(),
            report.undecodable
        ))
    }
}
