//! Prometheus metrics through the `metrics` facade and the recorder of
//! `metrics-exporter-prometheus`. The request middleware counts requests and commands and records
//! their latency with the facade's macros — atomics in the exporter's registry, no lock of KLG's
//! on the request path; `GET /metrics` (api/src/routes/metrics.rs) sets the gauges it reads from
//! the database (and, in RisingWave read mode, from the read store) at scrape time, then renders
//! the recorder in the text exposition format. The exporter's own HTTP listener is not used: KLG's
//! route serves the scrape.
//!
//! Every metric is named `klg_…` (tests/tests/compose.rs tells KLG's metrics in the Grafana
//! dashboard apart from RisingWave's by that prefix); durations are in seconds and counters end
//! in `_total`. The latency histograms are Prometheus histograms with the [`BUCKETS`] bounds (the
//! dashboard's `histogram_quantile` needs `_bucket` series), not the exporter's default summaries.
//!
//! The facade has one recorder per process: the first [`Metrics::global`] installs it, and every
//! server started in the same process (the tests start several) shares it. Their counters and
//! histograms are then one set — each server's `/metrics` shows the requests of all of them — and
//! a scrape-time gauge holds what the latest scrape of any of them measured. One `klg serve` is
//! one process and one server, so this only shows in tests.

use std::sync::OnceLock;
use std::time::Duration;

use klg_projections::risingwave::IngestionLag;
use klg_projections::subscription::SubscriptionLag;
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use metrics_util::MetricKindMask;

use crate::startup::{AppState, ReadStoreKind};

/// Upper bounds (seconds) of the request and command latency histograms.
pub const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

const HTTP_REQUESTS: &str = "klg_http_requests_total";
const HTTP_DURATION: &str = "klg_http_request_duration_seconds";
const COMMANDS: &str = "klg_commands_total";
const COMMAND_DURATION: &str = "klg_command_duration_seconds";
const DATABASE_UP: &str = "klg_database_up";
const SUBSCRIPTION_LAG_EVENTS: &str = "klg_subscription_lag_events";
const SUBSCRIPTION_LAG_SECONDS: &str = "klg_subscription_lag_seconds";
const SUBSCRIPTION_EVENTS_HANDLED: &str = "klg_subscription_events_handled";
const READ_STORE_UP: &str = "klg_read_store_up";
const READ_STORE_LAG_EVENTS: &str = "klg_read_store_ingestion_lag_events";
const READ_STORE_LAG_SECONDS: &str = "klg_read_store_ingestion_lag_seconds";

/// Gauges are only set by scrapes. One that a scrape did not set — its subscription has no
/// checkpoint yet, the database or the read store did not answer — is dropped from that scrape's
/// output rather than repeating its last value (as when the scrape wrote only what it measured).
/// When it renders, the exporter drops a gauge that has not changed for longer than this; scrapes
/// come seconds apart (15 s in docker/prometheus), and a second covers a concurrent scrape
/// rendering between another's setting and rendering.
const GAUGE_IDLE: Duration = Duration::from_secs(1);

/// How often histogram samples are folded into their buckets between scrapes, so that memory
/// stays bounded when nothing scrapes (the exporter's default upkeep period).
const UPKEEP: Duration = Duration::from_secs(5);

/// The command each write route runs, as (method, route pattern, command); the names are the
/// ones `NamedCommand::name` records in the events' metadata. Routes that are not one command
/// (`POST /api/v1/streaming/events` turns integration events into commands, `POST
/// /api/v1/log-error` stores telemetry, `/api/v1/admin/tokens` manages tokens) are counted by the
/// HTTP metrics only.
pub const COMMAND_ROUTES: [(&str, &str, &str); 23] = [
    ("POST", "/api/v1/aircraft", "RegisterAircraft"),
    ("PUT", "/api/v1/aircraft/{id}", "UpdateAircraftDetails"),
    ("POST", "/api/v1/aircraft/{id}/status", "ChangeStatus"),
    ("POST", "/api/v1/aircraft/{id}/release", "ReleaseToService"),
    ("POST", "/api/v1/aircraft/{id}/certificates", "IssueAirworthinessCertificate"),
    ("POST", "/api/v1/aircraft/{id}/flights", "LogFlight"),
    ("DELETE", "/api/v1/aircraft/{id}", "Decommission"),
    ("POST", "/api/v1/aircraft/{id}/directives", "RecordDirectiveApplicability"),
    ("POST", "/api/v1/aircraft/{id}/directives/compliance", "RecordDirectiveCompliance"),
    ("POST", "/api/inbox/files", "ReceiveFile"),
    ("POST", "/api/inbox/files/{id}/classify", "Classify"),
    ("POST", "/api/inbox/files/{id}/link", "LinkToAircraft"),
    ("POST", "/api/inbox/files/{id}/process", "MarkProcessed"),
    ("POST", "/api/inbox/files/{id}/reject", "Reject"),
    ("POST", "/api/inbox/files/{id}/archive", "Archive"),
    ("POST", "/api/tmc", "RequestParts"),
    ("POST", "/api/tmc/from-document/{id}", "RequestParts"),
    ("POST", "/api/tmc/{id}/approve", "ApprovePartsRequest"),
    ("POST", "/api/tmc/{id}/order", "OrderParts"),
    ("POST", "/api/tmc/{id}/receive", "ReceiveParts"),
    ("POST", "/api/tmc/{id}/install", "InstallParts"),
    ("POST", "/api/tmc/{id}/cancel", "CancelPartsRequest"),
    ("POST", "/api/tmc/{id}/reject", "RejectPartsRequest"),
];

/// The command a request on `route` (the matched pattern) with `method` runs, if any.
pub fn command_of(method: &str, route: &str) -> Option<&'static str> {
    COMMAND_ROUTES.iter().find(|(m, r, _)| *m == method && *r == route).map(|(_, _, command)| *command)
}

/// A command's outcome by HTTP status: 2xx accepted, 4xx refused (invalid, a domain rule,
/// a version mismatch), 5xx failed.
fn outcome(status: u16) -> &'static str {
    match status {
        200..=399 => "accepted",
        400..=499 => "refused",
        _ => "failed",
    }
}

/// The process's metrics: records through the global recorder, renders it.
pub struct Metrics {
    handle: PrometheusHandle,
}

impl Metrics {
    /// The process's recorder, installed by the first call (see the module's note on servers
    /// sharing it).
    pub fn global() -> Self {
        static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
        Self { handle: HANDLE.get_or_init(install).clone() }
    }

    /// Counts one HTTP request; `route` is the matched pattern (`/api/v1/aircraft/{id}`), so
    /// ids do not explode the label space. A request on a command's route also counts as that
    /// command (see [`COMMAND_ROUTES`]).
    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        counter!(HTTP_REQUESTS, "method" => method.to_owned(), "route" => route.to_owned(), "status" => status.to_string())
            .increment(1);
        histogram!(HTTP_DURATION, "route" => route.to_owned()).record(seconds);
        if let Some(command) = command_of(method, route) {
            counter!(COMMANDS, "command" => command, "outcome" => outcome(status)).increment(1);
            histogram!(COMMAND_DURATION, "command" => command).record(seconds);
        }
    }

    /// Everything recorded, in the Prometheus text format (version 0.0.4).
    pub fn render(&self) -> String {
        self.handle.render()
    }
}

/// Builds the recorder, installs it as the facade's global one, describes the metrics (the
/// `# HELP` lines) and starts the upkeep thread.
fn install() -> PrometheusHandle {
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.to_owned()), &BUCKETS)
        .and_then(|b| b.set_buckets_for_metric(Matcher::Full(COMMAND_DURATION.to_owned()), &BUCKETS))
        .expect("the bucket bounds are not empty")
        .idle_timeout(MetricKindMask::GAUGE, Some(GAUGE_IDLE))
        .build_recorder();
    let handle = recorder.handle();
    if let Err(e) = metrics::set_global_recorder(recorder) {
        tracing::warn!(error = %e, "another metrics recorder is installed: /metrics will stay empty");
    }
    describe_counter!(HTTP_REQUESTS, Unit::Count, "HTTP requests by method, route and status.");
    describe_histogram!(HTTP_DURATION, Unit::Seconds, "HTTP request latency by route.");
    describe_counter!(
        COMMANDS,
        Unit::Count,
        "Commands received over HTTP by command and outcome (accepted, refused, failed)."
    );
    describe_histogram!(
        COMMAND_DURATION,
        Unit::Seconds,
        "Command latency by command, from request to response."
    );
    describe_gauge!(DATABASE_UP, "Whether PostgreSQL answered the scrape's queries.");
    describe_gauge!(SUBSCRIPTION_LAG_EVENTS, Unit::Count, "Events stored but not yet handled.");
    describe_gauge!(SUBSCRIPTION_LAG_SECONDS, Unit::Seconds, "Age of the oldest event not yet handled.");
    describe_gauge!(
        SUBSCRIPTION_EVENTS_HANDLED,
        Unit::Count,
        "Events handled since the subscription started."
    );
    describe_gauge!(READ_STORE_UP, "Whether the read store (RisingWave) answered the scrape's query.");
    describe_gauge!(
        READ_STORE_LAG_EVENTS,
        Unit::Count,
        "Events in the event store that the read store (RisingWave) has not ingested yet."
    );
    describe_gauge!(
        READ_STORE_LAG_SECONDS,
        Unit::Seconds,
        "Age of the oldest event the read store (RisingWave) has not ingested yet."
    );
    let upkeep = handle.clone();
    let started = std::thread::Builder::new().name("klg-metrics-upkeep".to_owned()).spawn(move || loop {
        std::thread::sleep(UPKEEP);
        upkeep.run_upkeep();
    });
    if let Err(e) = started {
        tracing::warn!(error = %e, "no metrics upkeep thread: histogram samples are folded at scrapes only");
    }
    handle
}

/// Sets the gauges a scrape read from the event store: whether PostgreSQL answered its queries,
/// and the lag of each subscription that has a checkpoint.
pub fn set_store_gauges(database_up: bool, subscriptions: &[(&'static str, SubscriptionLag)]) {
    gauge!(DATABASE_UP).set(if database_up { 1.0 } else { 0.0 });
    for (name, lag) in subscriptions {
        let name = *name;
        gauge!(SUBSCRIPTION_LAG_EVENTS, "subscription" => name).set(lag.lag_events as f64);
        gauge!(SUBSCRIPTION_LAG_SECONDS, "subscription" => name).set(lag.lag_seconds);
        gauge!(SUBSCRIPTION_EVENTS_HANDLED, "subscription" => name).set(lag.events_handled as f64);
    }
}

/// The read store as a scrape found it.
pub enum ReadStoreState {
    /// The embedded projections: the `projections` subscription's lag is the read store's lag.
    Embedded,
    /// RisingWave did not answer (in time).
    Down,
    /// How far RisingWave's event tables are behind the event store.
    Up(IngestionLag),
}

/// In RisingWave read mode, how far RisingWave's event tables are behind the event store
/// (`klg_projections::risingwave::lag`, the same figures as `/api/v1/streaming/health`) and
/// whether it answered within 3 s.
pub async fn read_store_state(state: &AppState) -> ReadStoreState {
    if state.read.kind != ReadStoreKind::RisingWave {
        return ReadStoreState::Embedded;
    }
    let checked = tokio::time::timeout(
        Duration::from_secs(3),
        klg_projections::risingwave::lag(&state.pool, &state.read.pool),
    )
    .await;
    match checked {
        Ok(Ok(lag)) => ReadStoreState::Up(lag),
        Ok(Err(_)) | Err(_) => ReadStoreState::Down,
    }
}

/// Sets the read store's gauges (none in embedded mode; only `klg_read_store_up 0` when
/// RisingWave did not answer).
pub fn set_read_store_gauges(read_store: &ReadStoreState) {
    match read_store {
        ReadStoreState::Embedded => {}
        ReadStoreState::Down => gauge!(READ_STORE_UP).set(0.0),
        ReadStoreState::Up(lag) => {
            gauge!(READ_STORE_UP).set(1.0);
            gauge!(READ_STORE_LAG_EVENTS).set(lag.lag_events as f64);
            gauge!(READ_STORE_LAG_SECONDS).set(lag.lag_seconds);
        }
    }
}
