//! `klg replay …`: rebuild projections without downtime.

use clap::Subcommand;
use klg_api::settings::DatabaseSettings;
use klg_api::startup::prepare_database;
use klg_projections::replay;

use super::mirror::RangeArgs;
use super::progress::Progress;

#[derive(Subcommand)]
pub enum ReplayCommand {
    /// Rebuild projections from the whole log into fresh tables while the live projector and the
    /// API keep serving the current ones, then swap them in atomically. Readers never see a
    /// half-built projection; the live projector carries on from the same checkpoint.
    Projections(ReplayProjectionsArgs),
    /// Re-publish a range of the log to the mirror topics, or all of it to one --topic (a new
    /// consumer's, say), with the same envelopes, keys and headers, in log order, each batch
    /// confirmed by the broker. The live mirror's checkpoint is not touched. Check the result
    /// with `klg mirror verify --topic … --from-position …` (same range).
    Mirror(ReplayMirrorArgs),
}

#[derive(clap::Args)]
pub struct ReplayMirrorArgs {
    #[command(flatten)]
    database: DatabaseSettings,
    #[command(flatten)]
    mirror: klg_api::settings::MirrorSettings,
    /// Which events (at least one bound).
    #[command(flatten)]
    range: RangeArgs,
    /// Send every event to this topic instead of the mirror topics (created if missing).
    #[arg(long)]
    topic: Option<String>,
}

#[derive(clap::Args)]
pub struct ReplayProjectionsArgs {
    #[command(flatten)]
    database: DatabaseSettings,
    /// Rebuild only this projection: aircraft (aircraft, aircraft_stats, aircraft_directives),
    /// inbox (inbox_files) or tmc (tmc_requests). The histories are views over the log itself.
    #[arg(long)]
    only: Option<String>,
}

pub async fn replay(command: ReplayCommand) -> Result<(), String> {
    match command {
        ReplayCommand::Mirror(args) => replay_mirror(args).await,
        ReplayCommand::Projections(args) => {
            let sets = replay::select(args.only.as_deref()).map_err(|e| e.to_string())?;
            let pool = prepare_database(&args.database).await.map_err(|e| e.to_string())?;
            let mut bar = Progress::new("replay", "events", 0);
            let report = replay::replay(&pool, &sets, |done, total| bar.set_of(done, total))
                .await
                .map_err(|e| format!("replay failed: {e}"))?;
            bar.finish(report.events_read);
            eprintln!(
                "replayed {} events ({} read) into fresh {} in {:.1} s ({:.0} events/s); swapped in at position {}",
                report.events,
                report.events_read,
                report.tables.join(", "),
                report.seconds,
                report.events_read as f64 / report.seconds.max(0.001),
                report.swapped_at.global_position
            );
            println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?);
            Ok(())
        }
    }
}

async fn replay_mirror(args: ReplayMirrorArgs) -> Result<(), String> {
    let range = args
        .range
        .range()
        .ok_or("give the range: --from-position, --from-time, --to-position or --to-time")?;
    let config = args.mirror.config().ok_or("set REDPANDA_BROKERS (or --redpanda-brokers) to re-publish")?;
    let config = klg_mirror::replay::into_one_topic(config, args.topic.as_deref());
    let pool = prepare_database(&args.database).await.map_err(|e| e.to_string())?;
    let relay = klg_mirror::Relay::new(config).map_err(|e| e.to_string())?;
    let total = klg_mirror::replay::count(&pool, &range).await.map_err(|e| e.to_string())?;
    let mut bar = Progress::new("re-published", "events", total.max(0) as u64);
    let summary = klg_mirror::replay::replay(&pool, &relay, &range, |n| bar.set(n))
        .await
        .map_err(|e| format!("re-publishing failed: {e}"))?;
    bar.finish(summary.events);
    println!("{}", serde_json::to_string_pretty(&summary).map_err(|e| e.to_string())?);
    Ok(())
}
