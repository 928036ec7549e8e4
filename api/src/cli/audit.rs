//! `klg audit …`: the audit log, timelines, state as of an instant, and tamper evidence.

use clap::Subcommand;
use klg_api::settings::DatabaseSettings;
use klg_api::startup::prepare_database;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Create an Ed25519 signing key for seals: written as PKCS#8 to --out (mode 0600; keep it
    /// off the database host), its public key printed as hex on standard output.
    Keygen(KeygenArgs),
    /// Seal the log as it stands: sign the digest of every stream's head with the key.
    Seal(SealArgs),
    /// Recompute every event's hash chain and check every seal signed by the trusted public key.
    /// Prints a JSON report; exits 1 if anything was altered.
    Verify(AuditVerifyArgs),
    /// The audit log: stored events, oldest first, filtered; a readable table, JSON lines or CSV.
    Log(AuditLogArgs),
    /// The timeline of one record — an aircraft or document id, or a registration number (every
    /// airframe that carried it): each event with who, when and what changed.
    Show(AuditShowArgs),
    /// A record as it stood at an instant — an aircraft or document id, or a registration
    /// number — folded from the log: the same JSON `GET …?as_of=` answers.
    State(AuditStateArgs),
}

#[derive(clap::Args)]
pub struct AuditStateArgs {
    #[command(flatten)]
    database: DatabaseSettings,
    /// An aircraft or document id, or a registration number.
    record: String,
    /// The instant (RFC 3339, e.g. 2026-11-01T12:00:00Z).
    #[arg(long)]
    as_of: chrono::DateTime<chrono::Utc>,
}

#[derive(clap::Args)]
pub struct AuditShowArgs {
    #[command(flatten)]
    database: DatabaseSettings,
    /// An aircraft or document id, or a registration number.
    record: String,
}

/// Which events: every filter is optional; they combine with AND.
#[derive(clap::Args)]
pub struct FilterArgs {
    /// Aircraft or InboxItem.
    #[arg(long)]
    aggregate_type: Option<String>,
    #[arg(long)]
    aggregate_id: Option<String>,
    /// Every airframe ever registered under this number.
    #[arg(long)]
    registration: Option<String>,
    /// A document's id.
    #[arg(long)]
    document: Option<String>,
    #[arg(long)]
    event_type: Option<String>,
    /// The token name recorded as the actor.
    #[arg(long)]
    actor: Option<String>,
    #[arg(long)]
    correlation_id: Option<String>,
    /// Recorded at or after (RFC 3339, e.g. 2026-11-01T00:00:00Z).
    #[arg(long)]
    from: Option<chrono::DateTime<chrono::Utc>>,
    /// Recorded before (RFC 3339).
    #[arg(long)]
    to: Option<chrono::DateTime<chrono::Utc>>,
}

impl FilterArgs {
    pub fn into_filter(self) -> klg_audit::log::LogFilter {
        klg_audit::log::LogFilter {
            aggregate_type: self.aggregate_type,
            aggregate_id: self.aggregate_id,
            registration: self.registration,
            document: self.document,
            event_type: self.event_type,
            actor: self.actor,
            correlation_id: self.correlation_id,
            from: self.from,
            to: self.to,
        }
    }
}

#[derive(clap::Args)]
pub struct AuditLogArgs {
    #[command(flatten)]
    database: DatabaseSettings,
    #[command(flatten)]
    filter: FilterArgs,
    /// table (default), json (one object per line) or csv.
    #[arg(long, default_value = "table", value_parser = ["table", "json", "csv"])]
    format: String,
    /// At most this many events (all of them when absent).
    #[arg(long)]
    limit: Option<u64>,
}

#[derive(clap::Args)]
pub struct KeygenArgs {
    /// Where to write the private key.
    #[arg(long)]
    out: std::path::PathBuf,
}

#[derive(clap::Args)]
pub struct SealArgs {
    #[command(flatten)]
    database: DatabaseSettings,
    /// The PKCS#8 signing key `klg audit keygen` wrote.
    #[arg(long, env = "KLG_AUDIT_SIGNING_KEY_FILE")]
    key: std::path::PathBuf,
}

#[derive(clap::Args)]
pub struct AuditVerifyArgs {
    #[command(flatten)]
    database: DatabaseSettings,
    /// The trusted public key (64 hex characters); without it seals are not checked.
    #[arg(long, env = "KLG_AUDIT_PUBLIC_KEY")]
    public_key: Option<String>,
}

pub async fn audit(command: AuditCommand) -> Result<(), String> {
    match command {
        AuditCommand::Log(args) => audit_log(args).await?,
        AuditCommand::Show(args) => audit_show(args).await?,
        AuditCommand::State(args) => audit_state(args).await?,
        AuditCommand::Keygen(args) => {
            let (private, public) = klg_audit::generate_key().map_err(|e| e.to_string())?;
            write_private(&args.out, &private).map_err(|e| format!("writing {}: {e}", args.out.display()))?;
            eprintln!(
                "signing key written to {}; its public key (give it to verifiers):",
                args.out.display()
            );
            println!("{}", hex::encode(public));
        }
        AuditCommand::Seal(args) => {
            let key = std::fs::read(&args.key).map_err(|e| format!("reading {}: {e}", args.key.display()))?;
            let pool = prepare_database(&args.database).await.map_err(|e| e.to_string())?;
            let seal = klg_audit::seal(&pool, &key).await.map_err(|e| e.to_string())?;
            println!("{}", serde_json::to_string_pretty(&seal).map_err(|e| e.to_string())?);
        }
        AuditCommand::Verify(args) => {
            let trusted = args
                .public_key
                .as_deref()
                .map(klg_audit::parse_public_key)
                .transpose()
                .map_err(|e| e.to_string())?;
            let pool = prepare_database(&args.database).await.map_err(|e| e.to_string())?;
            let mut bar = super::progress::Progress::new("verified", "events", 0);
            let report = klg_audit::verify(&pool, trusted.as_deref(), |n| bar.set(n))
                .await
                .map_err(|e| e.to_string())?;
            bar.finish(report.events_checked);
            println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?);
            if !report.ok {
                return Err("the log was altered (see first_broken and seals)".into());
            }
        }
    }
    Ok(())
}

/// The airframes `record` names: an id, or every airframe that carried the registration number.
async fn aircraft_ids(pool: &sqlx::PgPool, record: &str) -> Result<Vec<String>, String> {
    match uuid::Uuid::parse_str(record) {
        Ok(id) => Ok(vec![id.to_string()]),
        Err(_) => sqlx::query_scalar(
            "SELECT aggregate_id FROM events WHERE aggregate_type = 'Aircraft' AND event_type = 'AircraftRegistered' \
             AND upper(payload->'AircraftRegistered'->>'registration_number') = upper($1) ORDER BY global_position",
        )
        .bind(record)
        .fetch_all(pool)
        .await
        .map_err(|e| e.to_string()),
    }
}

/// Prints, as JSON, each record the argument names as it stood at the instant.
async fn audit_state(args: AuditStateArgs) -> Result<(), String> {
    use klg_projections::as_of;
    let pool = prepare_database(&args.database).await.map_err(|e| e.to_string())?;
    let mut shown = 0;
    for id in aircraft_ids(&pool, &args.record).await? {
        let id = uuid::Uuid::parse_str(&id).map_err(|e| e.to_string())?;
        if let Some(view) = as_of::aircraft(&pool, args.as_of, id).await.map_err(|e| e.to_string())? {
            println!("{}", serde_json::to_string_pretty(&view).map_err(|e| e.to_string())?);
            shown += 1;
        }
    }
    if let (0, Ok(id)) = (shown, uuid::Uuid::parse_str(&args.record)) {
        if let Some(view) = as_of::document(&pool, args.as_of, id).await.map_err(|e| e.to_string())? {
            println!("{}", serde_json::to_string_pretty(&view).map_err(|e| e.to_string())?);
            shown += 1;
        }
    }
    if shown == 0 {
        return Err(format!(
            "no aircraft, document or registration number {} as of {}",
            args.record, args.as_of
        ));
    }
    Ok(())
}

/// Prints the timelines the argument names.
async fn audit_show(args: AuditShowArgs) -> Result<(), String> {
    use klg_audit::timeline::timeline;
    use klg_domain::{aircraft::Aircraft, inbox::InboxItem};
    let pool = prepare_database(&args.database).await.map_err(|e| e.to_string())?;
    let failed = |e: klg_audit::timeline::TimelineError| e.to_string();
    let mut shown = 0;
    let aircraft_ids = aircraft_ids(&pool, &args.record).await?;
    for id in &aircraft_ids {
        let entries = timeline::<Aircraft>(&pool, id).await.map_err(failed)?;
        shown += print_timeline("aircraft", id, &entries);
    }
    if shown == 0 && uuid::Uuid::parse_str(&args.record).is_ok() {
        let entries = timeline::<InboxItem>(&pool, &args.record).await.map_err(failed)?;
        shown += print_timeline("document", &args.record, &entries);
    }
    if shown == 0 {
        return Err(format!("no aircraft, document or registration number {}", args.record));
    }
    Ok(())
}

fn print_timeline(what: &str, id: &str, entries: &[klg_audit::timeline::TimelineEntry]) -> usize {
    if entries.is_empty() {
        return 0;
    }
    println!("{what} {id}");
    for e in entries {
        println!(
            "  #{:<4} {}  {:<30} by {:<24} {}",
            e.sequence,
            e.recorded_at.format("%Y-%m-%d %H:%M:%S UTC"),
            e.event_type,
            e.actor.as_deref().unwrap_or("-"),
            e.summary
        );
    }
    entries.len()
}

/// Streams the audit log page by page (constant memory) to standard output.
async fn audit_log(args: AuditLogArgs) -> Result<(), String> {
    use klg_audit::log::{csv_line, CSV_HEADER, MAX_LIMIT};
    let pool = prepare_database(&args.database).await.map_err(|e| e.to_string())?;
    let filter = args.filter.into_filter();
    match args.format.as_str() {
        "csv" => println!("{CSV_HEADER}"),
        "table" => println!(
            "{:>10}  {:<27} {:<9} {:<36} {:>5}  {:<30} ACTOR",
            "POSITION", "RECORDED (UTC)", "TYPE", "ID", "SEQ", "EVENT"
        ),
        _ => {}
    }
    let (mut after, mut left) = (0i64, args.limit.unwrap_or(u64::MAX));
    while left > 0 {
        let page = klg_audit::log::read(&pool, &filter, after, (left.min(MAX_LIMIT as u64)) as i64)
            .await
            .map_err(|e| format!("reading the log failed: {e}"))?;
        for e in &page.items {
            match args.format.as_str() {
                "csv" => println!("{}", csv_line(e)),
                "json" => println!("{}", serde_json::to_string(e).map_err(|e| e.to_string())?),
                _ => println!(
                    "{:>10}  {:<27} {:<9} {:<36} {:>5}  {:<30} {}",
                    e.global_position,
                    e.recorded_at.format("%Y-%m-%d %H:%M:%S%.6f"),
                    e.aggregate_type,
                    e.aggregate_id,
                    e.sequence,
                    e.event_type,
                    e.actor.as_deref().unwrap_or("-")
                ),
            }
        }
        left = left.saturating_sub(page.items.len() as u64);
        match page.next_cursor {
            Some(next) => after = next,
            None => break,
        }
    }
    Ok(())
}

/// Writes a private key readable by its owner only.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
