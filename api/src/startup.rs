//! Building and running the HTTP server (the zero2prod `Application` pattern: tests start the
//! real server on port 0 against their own database).

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use klg_commands::blobs::BlobStore;
use klg_commands::WriteSide;
use klg_projections::subscription::SubscriptionStatus;
use klg_projections::{Projector, Subscription, PROJECTIONS};
use sqlx::migrate::Migrator;
use sqlx::PgPool;

use crate::ratelimit::RateLimiter;
use crate::settings::{DatabaseSettings, Settings};
use crate::{middleware, routes};

/// The schema, embedded in the binary from `migrations/`.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// What every handler can reach.
pub struct AppState {
    pub write: WriteSide,
    /// Pool for reads (the projections live in the same database in the embedded mode).
    pub pool: PgPool,
    pub blobs: BlobStore,
    pub max_upload_bytes: u64,
    /// The projector subscription as this process sees it.
    pub projector: SubscriptionStatus,
    pub report_limiter: RateLimiter,
}

/// Client error reports accepted per client and minute.
const REPORTS_PER_MINUTE: u32 = 30;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartupError(pub String);

/// Connects to PostgreSQL (creating the database if needed) and applies pending migrations.
/// Safe to run from several processes at once: sqlx serialises migrations with an advisory lock.
pub async fn prepare_database(settings: &DatabaseSettings) -> Result<PgPool, StartupError> {
    let pool = klg_commands::db::connect(&settings.database_url, settings.db_pool_size)
        .await
        .map_err(StartupError)?;
    MIGRATOR.run(&pool).await.map_err(|e| StartupError(format!("applying migrations failed: {e}")))?;
    Ok(pool)
}

pub struct Application {
    port: u16,
    server: Server,
    pool: PgPool,
    projector: Option<tokio::task::JoinHandle<()>>,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let pool = prepare_database(&settings.database).await?;
        let blobs = BlobStore::open(&settings.blob_dir).await.map_err(|e| {
            StartupError(format!("cannot use blob directory {}: {e}", settings.blob_dir.display()))
        })?;
        let listener = TcpListener::bind(&settings.bind)
            .map_err(|e| StartupError(format!("cannot listen on {}: {e}", settings.bind)))?;
        let port = listener.local_addr().map_err(|e| StartupError(e.to_string()))?.port();
        let subscription = Subscription::new(PROJECTIONS, instance_name(port), pool.clone(), Projector);
        let status = subscription.status();
        let projector = settings.run_projector.then(|| tokio::spawn(subscription.run()));
        let state = web::Data::new(AppState {
            write: WriteSide::new(pool.clone()),
            pool: pool.clone(),
            blobs,
            max_upload_bytes: settings.max_upload_bytes,
            projector: status,
            report_limiter: RateLimiter::new(REPORTS_PER_MINUTE, Duration::from_secs(60)),
        });
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .wrap(middleware::problem_for_bare_errors())
                .wrap_fn(middleware::request_context)
                .configure(routes::aircraft::routes)
                .configure(routes::inbox::routes)
                .configure(routes::health::routes)
                .configure(routes::openapi::routes)
                .configure(routes::read_routes)
                .default_service(web::to(middleware::not_found))
        });
        if let Some(workers) = settings.workers {
            server = server.workers(workers);
        }
        let server = server.listen(listener).map_err(|e| StartupError(e.to_string()))?.run();
        Ok(Self { port, server, pool, projector })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Serves until SIGINT/SIGTERM, then drains in-flight requests and stops the projector
    /// (an interrupted batch rolls back and is redone by whoever leads next).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        if let Some(projector) = self.projector {
            projector.abort();
        }
        result
    }
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
