//! Building and running the HTTP server (the zero2prod `Application` pattern: tests start the
//! real server on port 0 against their own database).

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use klg_commands::blobs::BlobStore;
use klg_commands::db::redact;
use klg_commands::WriteSide;
use klg_identity::TokenStore;
use klg_mirror::{Relay, MIRROR};
use klg_projections::queries::search::SearchMode;
use klg_projections::subscription::SubscriptionStatus;
use klg_projections::{Projector, Subscription, PROJECTIONS};
use sqlx::migrate::Migrator;
use sqlx::PgPool;

use crate::auth::{self, AccessTable, Auth};
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;
use crate::settings::{DatabaseSettings, Settings};
use crate::{middleware, routes};

/// The schema, embedded in the binary from `migrations/`.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// Where the read endpoints read from.
pub struct ReadStore {
    pub pool: PgPool,
    pub kind: ReadStoreKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadStoreKind {
    /// The projections in the event store's PostgreSQL, kept by the projector.
    Embedded,
    /// RisingWave's materialized views over the mirrored topics.
    RisingWave,
}

impl ReadStore {
    pub fn search_mode(&self) -> SearchMode {
        match self.kind {
            ReadStoreKind::Embedded => SearchMode::FullText,
            ReadStoreKind::RisingWave => SearchMode::Substring,
        }
    }

    pub fn name(&self) -> &'static str {
        match self.kind {
            ReadStoreKind::Embedded => "postgresql (embedded projections)",
            ReadStoreKind::RisingWave => "risingwave",
        }
    }
}

/// What every handler can reach.
pub struct AppState {
    pub write: WriteSide,
    /// The event store's pool (writes, lookups of the write side, operational tables).
    pub pool: PgPool,
    /// Where reads are served from.
    pub read: ReadStore,
    pub blobs: BlobStore,
    pub max_upload_bytes: u64,
    /// The projector subscription as this process sees it.
    pub projector: SubscriptionStatus,
    /// The Redpanda mirror, when configured.
    pub mirror: Option<MirrorHandle>,
    /// Browser error reports, per client address.
    pub report_limiter: RateLimiter<std::net::IpAddr>,
    pub metrics: Metrics,
    /// Flink's REST API, when the statistics jobs run there.
    pub flink_rest_url: Option<String>,
    pub tokens: Arc<TokenStore>,
    /// The public key trusted to have signed the log's seals.
    pub audit_public_key: Option<Vec<u8>>,
}

/// The mirror's producer and its subscription's status.
pub struct MirrorHandle {
    pub relay: Relay,
    pub status: SubscriptionStatus,
}

/// Client error reports accepted per client and minute.
const REPORTS_PER_MINUTE: std::num::NonZeroU32 = std::num::NonZeroU32::new(30).unwrap();

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartupError(pub String);

/// On a database without any token, creates the admin token (the given one, or a new one printed
/// once on standard output — never in the log, which goes to standard error).
async fn bootstrap_admin_token(tokens: &TokenStore, given: Option<&str>) -> Result<(), StartupError> {
    let created = tokens
        .bootstrap(given.filter(|t| !t.trim().is_empty()))
        .await
        .map_err(|e| StartupError(format!("creating the first admin token failed: {e}")))?;
    match created {
        Some(_) if given.is_some() => {
            tracing::info!(
                name = klg_identity::BOOTSTRAP_NAME,
                "admin token created from KLG_BOOTSTRAP_TOKEN"
            )
        }
        Some(token) => {
            println!(
                "No API token existed, so an admin token named {} was created. It is shown once; store it now \
                 and create personal tokens with `klg token create` or POST /api/v1/admin/tokens:\n{}",
                klg_identity::BOOTSTRAP_NAME,
                token.reveal()
            );
            tracing::info!(
                name = klg_identity::BOOTSTRAP_NAME,
                "admin token created and printed on standard output"
            );
        }
        None => {}
    }
    Ok(())
}

/// Connects to PostgreSQL (creating the database if needed) and applies pending migrations.
/// Safe to run from several processes at once: sqlx serialises migrations with an advisory lock.
pub async fn prepare_database(settings: &DatabaseSettings) -> Result<PgPool, StartupError> {
    prepare_database_with_timeout(settings, None).await
}

/// [`prepare_database`] for a pool whose statements time out; migrations run without the limit.
pub async fn prepare_database_with_timeout(
    settings: &DatabaseSettings,
    statement_timeout: Option<Duration>,
) -> Result<PgPool, StartupError> {
    let pool = klg_commands::db::connect_with_timeout(
        &settings.database_url,
        settings.db_pool_size,
        statement_timeout,
    )
    .await
    .map_err(StartupError)?;
    let migration_failed =
        |e: &dyn std::fmt::Display| StartupError(format!("applying migrations failed: {e}"));
    let mut connection = pool.acquire().await.map_err(|e| migration_failed(&e))?;
    sqlx::query("SET statement_timeout = 0")
        .execute(&mut *connection)
        .await
        .map_err(|e| migration_failed(&e))?;
    MIGRATOR.run(&mut *connection).await.map_err(|e| migration_failed(&e))?;
    // The connection goes back to the pool: restore the pool's limit on it.
    sqlx::query("RESET statement_timeout")
        .execute(&mut *connection)
        .await
        .map_err(|e| migration_failed(&e))?;
    Ok(pool)
}

pub struct Application {
    port: u16,
    server: Server,
    pool: PgPool,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    relay: Option<Relay>,
    /// Tells the subscriptions to stop after the batch under way.
    stop: tokio::sync::watch::Sender<bool>,
}

/// How long a stopping process waits for its subscriptions to finish their batches.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let statement_timeout =
            Some(Duration::from_millis(settings.statement_timeout_ms)).filter(|t| !t.is_zero());
        let pool = prepare_database_with_timeout(&settings.database, statement_timeout).await?;
        let blobs = match &settings.blob_url {
            Some(url) => BlobStore::from_url(url),
            None => BlobStore::local(&settings.blob_dir),
        }
        .map_err(|e| StartupError(e.to_string()))?;
        let listener = TcpListener::bind(&settings.bind)
            .map_err(|e| StartupError(format!("cannot listen on {}: {e}", settings.bind)))?;
        let port = listener.local_addr().map_err(|e| StartupError(e.to_string()))?.port();
        let owner = instance_name(port);
        let (stop, stopping) = tokio::sync::watch::channel(false);
        // Subscriptions get connections of their own, opened on this (the main) runtime: pooled
        // connections opened by request handlers belong to an HTTP worker's runtime and break
        // when that worker shuts down — under a subscription's batch, on every graceful stop.
        // Their statements are planned once: the projector's flight UPDATE was re-planned on
        // every batch, 65–95 µs each (docs/benchmarks.md, session 9).
        let background = klg_commands::db::pool_options()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with(klg_commands::db::planned_once(pool.connect_options().as_ref().clone()));
        let subscription = Subscription::new(PROJECTIONS, owner.clone(), background.clone(), Projector);
        let status = subscription.status();
        let mut tasks: Vec<_> = settings
            .run_projector
            .then(|| tokio::spawn(subscription.run_until(stopping.clone())))
            .into_iter()
            .collect();
        let mirror = match settings.mirror.config() {
            Some(config) => {
                let relay = Relay::new(config).map_err(|e| StartupError(format!("mirror producer: {e}")))?;
                let subscription = Subscription::new(MIRROR, owner, background.clone(), relay.clone());
                let status = subscription.status();
                tasks.push(tokio::spawn(run_mirror(relay.clone(), subscription, stopping)));
                Some(MirrorHandle { relay, status })
            }
            None => None,
        };
        let relay = mirror.as_ref().map(|m| m.relay.clone());
        let read = read_store(&settings, &pool)?;
        let audit_public_key = settings
            .audit_public_key
            .as_deref()
            .filter(|k| !k.trim().is_empty())
            .map(klg_audit::parse_public_key)
            .transpose()
            .map_err(|e| StartupError(format!("KLG_AUDIT_PUBLIC_KEY: {e}")))?;
        let tokens = Arc::new(TokenStore::new(pool.clone()));
        bootstrap_admin_token(&tokens, settings.bootstrap_token.as_deref()).await?;
        let auth = web::Data::new(Auth {
            tokens: tokens.clone(),
            table: Arc::new(AccessTable::from_openapi(&routes::document_json(), settings.metrics_public)),
            writes: std::num::NonZeroU32::new(settings.write_limit_per_minute).map(|per_minute| {
                let burst =
                    std::num::NonZeroU32::new(per_minute.get() / 6).unwrap_or(std::num::NonZeroU32::MIN);
                RateLimiter::per_minute(per_minute, burst)
            }),
        });
        let state = web::Data::new(AppState {
            write: WriteSide::new(pool.clone())
                .with_lock_wait(Duration::from_millis(settings.aggregate_wait_ms)),
            pool: pool.clone(),
            read,
            blobs,
            max_upload_bytes: settings.max_upload_bytes,
            projector: status,
            mirror,
            report_limiter: RateLimiter::per_minute(REPORTS_PER_MINUTE, REPORTS_PER_MINUTE),
            metrics: Metrics::global(),
            flink_rest_url: settings.flink_rest_url.clone().filter(|u| !u.trim().is_empty()),
            tokens,
            audit_public_key,
        });
        let mut server = HttpServer::new(move || {
            routes::app(
                App::new()
                    .app_data(state.clone())
                    .app_data(auth.clone())
                    .wrap(middleware::problem_for_bare_errors())
                    .wrap(actix_web::middleware::from_fn(auth::authenticate))
                    .wrap_fn(middleware::request_context),
            )
        });
        // Requests get 10 s to drain on SIGTERM, subscriptions 10 s more (SHUTDOWN_GRACE):
        // within the 30 s the compose file gives the container before SIGKILL.
        server = server.shutdown_timeout(10);
        if let Some(workers) = settings.workers {
            server = server.workers(workers);
        }
        let server = server.listen(listener).map_err(|e| StartupError(e.to_string()))?.run();
        Ok(Self { port, server, pool, tasks, relay, stop })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Serves until SIGINT/SIGTERM, then: stops accepting and drains in-flight requests; lets
    /// each subscription finish the batch under way (applied and checkpointed — for the mirror,
    /// delivered and checkpointed, so a clean stop re-sends nothing) within a grace period, after
    /// which what is left is abandoned (a transaction rolls back; the mirror's batch is sent again
    /// by whoever leads next); flushes the mirror's producer.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        tracing::info!("stopping: letting subscriptions finish their batches");
        let _ = self.stop.send(true);
        let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
        for mut task in self.tasks {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                tracing::warn!(grace = ?SHUTDOWN_GRACE, "a subscription did not finish its batch in time; abandoning it");
                task.abort();
            }
        }
        if let Some(relay) = self.relay {
            tokio::task::spawn_blocking(move || relay.flush(Duration::from_secs(10))).await.ok();
        }
        tracing::info!("stopped");
        result
    }
}

/// The embedded projections, or RisingWave when `RISINGWAVE_URL` is set. The RisingWave pool
/// connects lazily: the service starts (and takes commands) while RisingWave is away; reads
/// then answer 503 and the health endpoint says why.
fn read_store(settings: &Settings, pool: &PgPool) -> Result<ReadStore, StartupError> {
    let Some(url) = settings.risingwave_url.as_deref().filter(|u| !u.trim().is_empty()) else {
        return Ok(ReadStore { pool: pool.clone(), kind: ReadStoreKind::Embedded });
    };
    let options: sqlx::postgres::PgConnectOptions = url.parse().map_err(|e| {
        StartupError(format!("RISINGWAVE_URL {:?} is not a PostgreSQL-protocol URL: {e}", redact(url)))
    })?;
    let read = sqlx::postgres::PgPoolOptions::new()
        .max_connections(settings.database.db_pool_size)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(options);
    Ok(ReadStore { pool: read, kind: ReadStoreKind::RisingWave })
}

/// Creates the mirror topics (retrying while the broker is away), then follows the log.
async fn run_mirror(
    relay: Relay,
    subscription: Subscription<Relay>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut wait = Duration::from_secs(1);
    while let Err(e) = relay.ensure_topics().await {
        tracing::warn!(error = %e, retry_in = ?wait, "cannot create mirror topics yet");
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        wait = (wait * 2).min(Duration::from_secs(30));
    }
    subscription.run_until(stop).await
}

/// Names this process in subscription checkpoints: host, pid and port.
pub fn instance_name(port: u16) -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{host}:{}:{port}", std::process::id())
}
