//! `klg`: the KLG service and its tools.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use klg_api::settings::{DatabaseSettings, Settings};
use klg_api::startup::{prepare_database, Application};
use klg_projections::{Projector, Subscription, PROJECTIONS};

/// KLG — airworthiness control (КЛГ): an event-sourced record of an operator's fleet and the
/// documents that arrive about it. Every change is an event in PostgreSQL; every read is
/// derived from those events.
#[derive(Parser)]
#[command(name = "klg", version, propagate_version = true)]
struct Cli {
    /// Log as JSON lines instead of text.
    #[arg(long, env = "KLG_LOG_FORMAT_JSON", global = true)]
    log_json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct ProjectArgs {
    #[command(flatten)]
    database: DatabaseSettings,
    /// Empty the projections and rebuild them from the whole event log first.
    #[arg(long)]
    rebuild: bool,
    /// Catch up with the log, then exit instead of following it.
    #[arg(long)]
    once: bool,
}

#[derive(Subcommand)]
enum MirrorCommand {
    /// Consume the mirror topics from the beginning and compare them with the event store:
    /// reports events missing from the topics, extra ones (after dropping duplicates by event
    /// id) and aggregates whose events are out of order. Exits 1 if any.
    Verify(VerifyArgs),
    /// Print the JSON Schema of the message envelope.
    Schema,
}

#[derive(clap::Args)]
struct VerifyArgs {
    #[command(flatten)]
    database: DatabaseSettings,
    #[command(flatten)]
    mirror: klg_api::settings::MirrorSettings,
    /// Stop consuming after this many seconds without a new message.
    #[arg(long, default_value_t = 5)]
    idle_seconds: u64,
}

#[derive(Subcommand)]
enum RisingwaveCommand {
    /// Create the event tables (Kafka sources) and materialized views KLG reads from, if
    /// missing; report each object as created, up_to_date or out_of_date (its SQL changed).
    /// Idempotent. Exits 1 while objects are out of date, unless --replace recreates them.
    Apply(RisingwaveApplyArgs),
}

#[derive(clap::Args)]
struct RisingwaveApplyArgs {
    /// RisingWave's PostgreSQL-protocol URL.
    #[arg(long, env = "RISINGWAVE_URL", default_value = "postgresql://root:risingwave@localhost:4566/dev")]
    risingwave_url: String,
    /// Redpanda as RisingWave reaches it (inside compose: the broker's internal listener).
    #[arg(long, env = "RISINGWAVE_KAFKA_BROKERS", default_value = "redpanda:9092")]
    kafka_brokers: String,
    /// Drop and recreate objects whose SQL changed (their data is re-derived from the topics).
    #[arg(long)]
    replace: bool,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Issue a token. The token is printed once, alone on standard output; only its SHA-256 is
    /// stored, so it cannot be shown again (revoke it and issue another if lost).
    Create(TokenCreateArgs),
    /// List every token (id, name, role, created, expiry, revocation) — never a secret.
    List(DatabaseSettings),
    /// Revoke a token by id or name: refused at once by this database's instances (within 5 s
    /// by those that verified it just before).
    Revoke(TokenRevokeArgs),
}

#[derive(clap::Args)]
struct TokenCreateArgs {
    #[command(flatten)]
    database: DatabaseSettings,
    /// Who or what holds the token (recorded as the actor of its events): 1-64 letters, digits,
    /// `.`, `_`, `-`, `@`. Names are never reused.
    #[arg(long)]
    name: String,
    /// viewer (reads), engineer (reads, commands, uploads), auditor (reads, audit, export),
    /// integration (integration events only) or admin (everything).
    #[arg(long)]
    role: String,
    /// Lifetime, e.g. 90d, 12h, 30m; without it the token lasts until revoked.
    #[arg(long)]
    expires_in: Option<String>,
}

#[derive(clap::Args)]
struct TokenRevokeArgs {
    #[command(flatten)]
    database: DatabaseSettings,
    /// The token's id or name.
    token: String,
}

#[derive(Subcommand)]
enum AuditCommand {
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
}

#[derive(clap::Args)]
struct AuditShowArgs {
    #[command(flatten)]
    database: DatabaseSettings,
    /// An aircraft or document id, or a registration number.
    record: String,
}

#[derive(clap::Args)]
struct AuditLogArgs {
    #[command(flatten)]
    database: DatabaseSettings,
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
    /// table (default), json (one object per line) or csv.
    #[arg(long, default_value = "table", value_parser = ["table", "json", "csv"])]
    format: String,
    /// At most this many events (all of them when absent).
    #[arg(long)]
    limit: Option<u64>,
}

#[derive(clap::Args)]
struct KeygenArgs {
    /// Where to write the private key.
    #[arg(long)]
    out: std::path::PathBuf,
}

#[derive(clap::Args)]
struct SealArgs {
    #[command(flatten)]
    database: DatabaseSettings,
    /// The PKCS#8 signing key `klg audit keygen` wrote.
    #[arg(long, env = "KLG_AUDIT_SIGNING_KEY_FILE")]
    key: std::path::PathBuf,
}

#[derive(clap::Args)]
struct AuditVerifyArgs {
    #[command(flatten)]
    database: DatabaseSettings,
    /// The trusted public key (64 hex characters); without it seals are not checked.
    #[arg(long, env = "KLG_AUDIT_PUBLIC_KEY")]
    public_key: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API. Creates the database if missing and applies migrations first.
    /// With no settings: PostgreSQL at 127.0.0.1:5432, listening on 127.0.0.1:8080.
    Serve(Settings),
    /// Create the database if missing and apply pending migrations, then exit.
    Migrate(DatabaseSettings),
    /// Maintain the projections without serving HTTP. Several instances may run: one leads,
    /// the others take over within seconds if it dies.
    Project(ProjectArgs),
    /// Tools for the Redpanda mirror.
    #[command(subcommand)]
    Mirror(MirrorCommand),
    /// Tools for the RisingWave read store.
    #[command(subcommand)]
    Risingwave(RisingwaveCommand),
    /// Print the OpenAPI document (JSON) to standard output.
    Openapi,
    /// Manage API tokens (who may call KLG, with which role).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Audit: the audit log, a record's timeline, and tamper evidence (seal, verify).
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    klg_api::telemetry::init(cli.log_json);
    let result = match cli.command {
        Command::Serve(settings) => serve(settings).await,
        Command::Project(args) => project(args).await,
        Command::Mirror(MirrorCommand::Verify(args)) => verify_mirror(args).await,
        Command::Risingwave(RisingwaveCommand::Apply(args)) => apply_risingwave(args).await,
        Command::Mirror(MirrorCommand::Schema) => {
            print!("{}", klg_mirror::EventEnvelope::json_schema());
            Ok(())
        }
        Command::Migrate(database) => {
            prepare_database(&database).await.map(|_| ()).map_err(|e| e.to_string())
        }
        Command::Token(command) => token(command).await,
        Command::Audit(command) => audit(command).await,
        Command::Openapi => klg_api::routes::document()
            .to_pretty_json()
            .map(|document| println!("{document}"))
            .map_err(|e| e.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("klg: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> Result<(), String> {
    let app = Application::build(settings.clone()).await.map_err(|e| e.to_string())?;
    tracing::info!(bind = %settings.bind, port = app.port(), "klg serving");
    app.run_until_stopped().await.map_err(|e| format!("server failed: {e}"))
}

async fn project(args: ProjectArgs) -> Result<(), String> {
    let pool = prepare_database(&args.database).await.map_err(|e| e.to_string())?;
    if args.rebuild {
        klg_projections::projector::reset(&pool)
            .await
            .map_err(|e| format!("resetting projections failed: {e}"))?;
    }
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await
        .map_err(|e| e.to_string())?;
    let owner = klg_api::startup::instance_name(0);
    let subscription = Subscription::new(PROJECTIONS, owner, pool, Projector);
    let behind = klg_projections::subscription::lag(subscription.pool(), PROJECTIONS).await;
    let start = behind.ok().flatten().map_or(total, |l| l.lag_events);
    let started = std::time::Instant::now();
    let handled = subscription
        .catch_up_reporting(|done| progress_bar(done, start.max(done as i64) as u64, started))
        .await
        .map_err(|e| format!("projecting failed: {e}"))?;
    eprintln!();
    tracing::info!(handled, seconds = started.elapsed().as_secs_f64(), "projections caught up");
    if !args.once {
        subscription.run().await;
    }
    Ok(())
}

/// `projections [#########-----------] 45% 4500/10000 events, 2300 ev/s` on one line of stderr.
fn progress_bar(done: u64, total: u64, started: std::time::Instant) {
    const WIDTH: u64 = 30;
    let fraction = if total == 0 { 1.0 } else { done as f64 / total as f64 };
    let filled = ((fraction * WIDTH as f64) as u64).min(WIDTH);
    let rate = done as f64 / started.elapsed().as_secs_f64().max(0.001);
    eprint!(
        "\rprojections [{}{}] {:>3.0}% {done}/{total} events, {rate:.0} ev/s",
        "#".repeat(filled as usize),
        "-".repeat((WIDTH - filled) as usize),
        fraction * 100.0
    );
}

async fn token(command: TokenCommand) -> Result<(), String> {
    use klg_domain::identity::{parse_lifetime, TokenName};
    let database = match &command {
        TokenCommand::Create(a) => &a.database,
        TokenCommand::List(d) => d,
        TokenCommand::Revoke(a) => &a.database,
    };
    let store = klg_identity::TokenStore::new(prepare_database(database).await.map_err(|e| e.to_string())?);
    let by = format!("klg token (user {})", std::env::var("USER").unwrap_or_else(|_| "unknown".into()));
    match command {
        TokenCommand::Create(args) => {
            let name = TokenName::parse(&args.name).map_err(|e| format!("--name: {e}"))?;
            let role = args.role.parse().map_err(|e| format!("--role: {e}"))?;
            let lifetime = args
                .expires_in
                .as_deref()
                .map(parse_lifetime)
                .transpose()
                .map_err(|e| format!("--expires-in: {e}"))?;
            let (info, secret) = store.create(&name, role, lifetime, &by).await.map_err(|e| e.to_string())?;
            eprintln!(
                "token {} ({}, role {}) created{}; it is shown once — store it now:",
                info.id,
                info.name,
                info.role,
                info.expires_at.map(|at| format!(", expires {at}")).unwrap_or_default()
            );
            println!("{}", secret.reveal());
        }
        TokenCommand::List(_) => {
            let tokens = store.list().await.map_err(|e| e.to_string())?;
            println!(
                "{:<18} {:<24} {:<12} {:<20} {:<20} REVOKED",
                "ID", "NAME", "ROLE", "CREATED", "EXPIRES"
            );
            let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
                t.map_or_else(|| "-".to_owned(), |t| t.format("%Y-%m-%d %H:%M").to_string())
            };
            for t in tokens {
                println!(
                    "{:<18} {:<24} {:<12} {:<20} {:<20} {}",
                    t.id,
                    t.name,
                    t.role,
                    time(Some(t.created_at)),
                    time(t.expires_at),
                    t.revoked_at.map_or_else(
                        || "-".to_owned(),
                        |at| format!("{} by {}", time(Some(at)), t.revoked_by.unwrap_or_default())
                    )
                );
            }
        }
        TokenCommand::Revoke(args) => {
            let info = store.revoke(&args.token, &by).await.map_err(|e| e.to_string())?;
            eprintln!("token {} ({}) revoked", info.id, info.name);
        }
    }
    Ok(())
}

async fn audit(command: AuditCommand) -> Result<(), String> {
    match command {
        AuditCommand::Log(args) => audit_log(args).await?,
        AuditCommand::Show(args) => audit_show(args).await?,
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
            println!("{}", serde_json::to_string_pretty(&seal).expect("seal serializes"));
        }
        AuditCommand::Verify(args) => {
            let trusted = args
                .public_key
                .as_deref()
                .map(klg_audit::parse_public_key)
                .transpose()
                .map_err(|e| e.to_string())?;
            let pool = prepare_database(&args.database).await.map_err(|e| e.to_string())?;
            let interactive = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let report = klg_audit::verify(&pool, trusted.as_deref(), |n| {
                if interactive {
                    eprint!("\rverified {n} events");
                }
            })
            .await
            .map_err(|e| e.to_string())?;
            if interactive {
                eprintln!();
            }
            println!("{}", serde_json::to_string_pretty(&report).expect("report serializes"));
            if !report.ok {
                return Err("the log was altered (see first_broken and seals)".into());
            }
        }
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
    let aircraft_ids: Vec<String> = match uuid::Uuid::parse_str(&args.record) {
        Ok(id) => vec![id.to_string()],
        Err(_) => sqlx::query_scalar(
            "SELECT aggregate_id FROM events WHERE aggregate_type = 'Aircraft' AND event_type = 'AircraftRegistered' \
             AND upper(payload->'AircraftRegistered'->>'registration_number') = upper($1) ORDER BY global_position",
        )
        .bind(&args.record)
        .fetch_all(&pool)
        .await
        .map_err(|e| e.to_string())?,
    };
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
    use klg_audit::log::{csv_line, LogFilter, CSV_HEADER, MAX_LIMIT};
    let pool = prepare_database(&args.database).await.map_err(|e| e.to_string())?;
    let filter = LogFilter {
        aggregate_type: args.aggregate_type,
        aggregate_id: args.aggregate_id,
        registration: args.registration,
        document: args.document,
        event_type: args.event_type,
        actor: args.actor,
        correlation_id: args.correlation_id,
        from: args.from,
        to: args.to,
    };
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
                "json" => println!("{}", serde_json::to_string(e).expect("entry serializes")),
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

async fn verify_mirror(args: VerifyArgs) -> Result<(), String> {
    let config =
        args.mirror.config().ok_or("set REDPANDA_BROKERS (or --redpanda-brokers) to verify the mirror")?;
    let pool = prepare_database(&args.database).await.map_err(|e| e.to_string())?;
    let idle = std::time::Duration::from_secs(args.idle_seconds);
    let report =
        klg_mirror::verify::verify(&pool, &config, idle, |n| eprint!("\rconsumed {n} messages")).await;
    eprintln!();
    let report = report.map_err(|e| format!("verifying the mirror failed: {e}"))?;
    println!("{}", serde_json::to_string_pretty(&report).expect("report serializes"));
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

async fn apply_risingwave(args: RisingwaveApplyArgs) -> Result<(), String> {
    let pool = sqlx::PgPool::connect(&args.risingwave_url).await.map_err(|e| {
        format!("cannot reach RisingWave at {}: {e}", klg_commands::db::redact(&args.risingwave_url))
    })?;
    let report = klg_projections::risingwave::apply(&pool, &args.kafka_brokers, args.replace)
        .await
        .map_err(|e| format!("applying the RisingWave objects failed: {e}"))?;
    for object in &report {
        println!("{:<24} {}", object.name, object.state);
    }
    let stale = report.iter().filter(|o| o.state == "out_of_date").count();
    if stale > 0 {
        return Err(format!("{stale} object(s) out of date; rerun with --replace to recreate them"));
    }
    Ok(())
}
