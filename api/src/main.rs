//! `klg`: the KLG service and its tools.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use klg_api::settings::{DatabaseSettings, Settings};
use klg_api::startup::{prepare_database, Application};
use klg_projections::{Projector, Subscription, PROJECTIONS};

mod cli;

/// glibc's allocator took a fifth of the replay's CPU (`unlink_chunk`, `malloc_consolidate`,
/// `_int_malloc` under the log reader's JSON values and SQL buffers; docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use cli::audit::{audit, AuditCommand};
use cli::mirror::{verify_mirror, MirrorCommand};

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
    /// Rebuild every projection from the whole event log first: into fresh tables, swapped in
    /// when done (readers keep the current ones meanwhile), then follow the log from there.
    #[arg(long)]
    rebuild: bool,
    /// Catch up with the log, then exit instead of following it.
    #[arg(long)]
    once: bool,
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
    /// Replay tooling: rebuild projections without downtime.
    #[command(subcommand)]
    Replay(cli::replay::ReplayCommand),
    /// Export the event log — all of it, or the events the filters select — as JSON lines or
    /// CSV, in position order, with each event's hash; constant memory. Holds every event
    /// committed when it starts. `klg import` restores it.
    Export(cli::transfer::ExportArgs),
    /// Import an export into an empty event store, all or nothing: same positions, ids, times
    /// and hashes (each checked against the export). Projections and mirror then catch up.
    Import(cli::transfer::ImportArgs),
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
        Command::Replay(command) => cli::replay::replay(command).await,
        Command::Export(args) => cli::transfer::export(args).await,
        Command::Import(args) => cli::transfer::import(args).await,
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
        rebuild(&pool).await?;
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
    let mut bar = cli::progress::Progress::new("projections", "events", start.max(0) as u64);
    let handled = subscription
        .catch_up_reporting(|done| bar.set(done))
        .await
        .map_err(|e| format!("projecting failed: {e}"))?;
    bar.finish(handled);
    tracing::info!(handled, seconds = started.elapsed().as_secs_f64(), "projections caught up");
    if !args.once {
        subscription.run().await;
    }
    Ok(())
}

/// Every projection rebuilt from the whole log into fresh tables, swapped in at the end of the
/// log (klg_projections::replay::rebuild_all): readers keep the old tables meanwhile.
async fn rebuild(pool: &sqlx::PgPool) -> Result<(), String> {
    let mut bar = cli::progress::Progress::new("rebuild", "events", 0);
    let report = klg_projections::replay::rebuild_all(pool, |done, total| bar.set_of(done, total))
        .await
        .map_err(|e| format!("rebuilding projections failed: {e}"))?;
    bar.finish(report.events_read);
    tracing::info!(
        events = report.events_read,
        seconds = report.seconds,
        position = report.swapped_at.global_position,
        "projections rebuilt and swapped in"
    );
    Ok(())
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
