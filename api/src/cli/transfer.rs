//! `klg export` and `klg import`: the event log out to a file and into an empty store, with
//! its hashes intact (see `klg_audit::transfer`).

use std::path::PathBuf;

use klg_api::settings::DatabaseSettings;
use klg_api::startup::prepare_database;
use klg_audit::transfer::{self, Format};

use super::audit::FilterArgs;
use super::progress::Progress;

#[derive(clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    database: DatabaseSettings,
    #[command(flatten)]
    filter: FilterArgs,
    /// jsonl (one JSON object per line) or csv (RFC 4180 with a header; payload and metadata as
    /// JSON text).
    #[arg(long, default_value = "jsonl")]
    format: Format,
    /// Write here instead of standard output (created; refused if it exists).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct ImportArgs {
    #[command(flatten)]
    database: DatabaseSettings,
    /// jsonl or csv, as exported.
    #[arg(long, default_value = "jsonl")]
    format: Format,
    /// The export to read; standard input when absent.
    file: Option<PathBuf>,
}

pub async fn export(args: ExportArgs) -> Result<(), String> {
    let pool = prepare_database(&args.database).await.map_err(|e| e.to_string())?;
    let filter = args.filter.into_filter();
    let total = transfer::count(&pool, &filter).await.map_err(|e| e.to_string())?;
    let mut bar = Progress::new("export", "events", total.max(0) as u64);
    let out: Box<dyn std::io::Write> = match &args.out {
        Some(path) => Box::new(
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .map_err(|e| format!("{}: {e}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let summary = transfer::export(&pool, &filter, args.format, out, |n| bar.set(n))
        .await
        .map_err(|e| e.to_string())?;
    bar.finish(summary.events);
    eprintln!(
        "exported {} events (last position {})",
        summary.events,
        summary.last_position.map_or("-".into(), |p| p.to_string())
    );
    Ok(())
}

pub async fn import(args: ImportArgs) -> Result<(), String> {
    let pool = prepare_database(&args.database).await.map_err(|e| e.to_string())?;
    let input: Box<dyn std::io::BufRead> = match &args.file {
        Some(path) => Box::new(std::io::BufReader::new(
            std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?,
        )),
        None => Box::new(std::io::stdin().lock()),
    };
    // The number of events is not known before reading: the bar counts and shows the rate.
    let mut bar = Progress::new("import", "events", 0);
    let summary =
        transfer::import(&pool, args.format, input, |n| bar.set(n)).await.map_err(|e| e.to_string())?;
    bar.finish(summary.events);
    eprintln!(
        "imported {} events (last position {}); every hash matches the export",
        summary.events,
        summary.last_position.map_or("-".into(), |p| p.to_string())
    );
    Ok(())
}
