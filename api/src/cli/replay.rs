//! `klg replay …`: rebuild projections without downtime.

use clap::Subcommand;
use klg_api::settings::DatabaseSettings;
use klg_api::startup::prepare_database;
use klg_projections::replay;

use super::progress::Progress;

#[derive(Subcommand)]
pub enum ReplayCommand {
    /// Rebuild projections from the whole log into fresh tables while the live projector and the
    /// API keep serving the current ones, then swap them in atomically. Readers never see a
    /// half-built projection; the live projector carries on from the same checkpoint.
    Projections(ReplayProjectionsArgs),
}

#[derive(clap::Args)]
pub struct ReplayProjectionsArgs {
    #[command(flatten)]
    database: DatabaseSettings,
    /// Rebuild only this projection: aircraft (aircraft, aircraft_history, aircraft_stats) or
    /// inbox (inbox_files, inbox_history).
    #[arg(long)]
    only: Option<String>,
}

pub async fn replay(command: ReplayCommand) -> Result<(), String> {
    match command {
        ReplayCommand::Projections(args) => {
            let sets = replay::select(args.only.as_deref()).map_err(|e| e.to_string())?;
            let pool = prepare_database(&args.database).await.map_err(|e| e.to_string())?;
            let mut bar: Option<Progress> = None;
            let report = replay::replay(&pool, &sets, |done, total| {
                bar.get_or_insert_with(|| Progress::new("replay", "events", total)).set(done)
            })
            .await
            .map_err(|e| format!("replay failed: {e}"))?;
            if let Some(bar) = &mut bar {
                bar.finish(report.events_read);
            }
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
