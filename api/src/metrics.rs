//! Prometheus metrics, in the text exposition format, without a metrics framework: a few
//! labelled counters and latency histograms kept in memory, and gauges read from the database
//! (and, in RisingWave read mode, the read store) at scrape time.
//!
//! Every metric is named `klg_…` (tests/tests/compose.rs tells KLG's metrics in the Grafana
//! dashboard apart from RisingWave's by that prefix); durations are in seconds and counters end
//! in `_total`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use crate::startup::{AppState, ReadStoreKind};

/// Upper bounds (seconds) of the request and command latency histograms.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

/// The command each write route runs, as (method, route pattern, command); the names are the
/// ones `NamedCommand::name` records in the events' metadata. Routes that are not one command
/// (`POST /api/v1/streaming/events` turns integration events into commands, `POST
/// /api/v1/log-error` stores telemetry) are counted by the HTTP metrics only.
pub const COMMAND_ROUTES: [(&str, &str, &str); 12] = [
    ("POST", "/api/v1/aircraft", "RegisterAircraft"),
    ("PUT", "/api/v1/aircraft/{id}", "UpdateAircraftDetails"),
    ("POST", "/api/v1/aircraft/{id}/status", "ChangeStatus"),
    ("POST", "/api/v1/aircraft/{id}/certificates", "IssueAirworthinessCertificate"),
    ("POST", "/api/v1/aircraft/{id}/flights", "LogFlight"),
    ("DELETE", "/api/v1/aircraft/{id}", "Decommission"),
    ("POST", "/api/inbox/files", "ReceiveFile"),
    ("POST", "/api/inbox/files/{id}/classify", "Classify"),
    ("POST", "/api/inbox/files/{id}/link", "LinkToAircraft"),
    ("POST", "/api/inbox/files/{id}/process", "MarkProcessed"),
    ("POST", "/api/inbox/files/{id}/reject", "Reject"),
    ("POST", "/api/inbox/files/{id}/archive", "Archive"),
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

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (bucket, bound) in self.counts.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }

    /// The `_bucket`, `_sum` and `_count` samples; `labels` is `name="value"` (escaped).
    fn render(&self, out: &mut String, name: &str, labels: &str) {
        for (count, bound) in self.counts.iter().zip(BUCKETS) {
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

/// Counters and histograms of this process.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    commands: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    command_latency: Mutex<BTreeMap<&'static str, Histogram>>,
}

impl Metrics {
    /// Counts one HTTP request; `route` is the matched pattern (`/api/v1/aircraft/{id}`), so
    /// ids do not explode the label space. A request on a command's route also counts as that
    /// command (see [`COMMAND_ROUTES`]).
    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        *lock(&self.requests).entry((method.to_owned(), route.to_owned(), status)).or_default() += 1;
        let seconds = elapsed.as_secs_f64();
        lock(&self.latency).entry(route.to_owned()).or_default().observe(seconds);
        if let Some(command) = command_of(method, route) {
            *lock(&self.commands).entry((command, outcome(status))).or_default() += 1;
            lock(&self.command_latency).entry(command).or_default().observe(seconds);
        }
    }

    /// The counters in Prometheus text format.
    pub fn render(&self, out: &mut String) {
        out.push_str("# HELP klg_http_requests_total HTTP requests by method, route and status.\n");
        out.push_str("# TYPE klg_http_requests_total counter\n");
        for ((method, route, status), count) in lock(&self.requests).iter() {
            let _ = writeln!(
                out,
                "klg_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {count}",
                escape(route)
            );
        }
        out.push_str("# HELP klg_http_request_duration_seconds HTTP request latency by route.\n");
        out.push_str("# TYPE klg_http_request_duration_seconds histogram\n");
        for (route, h) in lock(&self.latency).iter() {
            h.render(out, "klg_http_request_duration_seconds", &format!("route=\"{}\"", escape(route)));
        }
        out.push_str("# HELP klg_commands_total Commands received over HTTP by command and outcome (accepted, refused, failed).\n");
        out.push_str("# TYPE klg_commands_total counter\n");
        for ((command, outcome), count) in lock(&self.commands).iter() {
            let _ =
                writeln!(out, "klg_commands_total{{command=\"{command}\",outcome=\"{outcome}\"}} {count}");
        }
        out.push_str(
            "# HELP klg_command_duration_seconds Command latency by command, from request to response.\n",
        );
        out.push_str("# TYPE klg_command_duration_seconds histogram\n");
        for (command, h) in lock(&self.command_latency).iter() {
            h.render(out, "klg_command_duration_seconds", &format!("command=\"{command}\""));
        }
    }
}

/// The read store's gauges. In RisingWave read mode: how far RisingWave's event tables are
/// behind the event store (`klg_projections::risingwave::lag`, the same figures as
/// `/api/v1/streaming/health`) and whether it answered. In embedded mode only the headers: the
/// `projections` subscription's lag is the read store's lag there.
pub async fn render_read_store(state: &AppState, out: &mut String) {
    let (mut up, mut lag_events, mut lag_seconds) = (vec![], vec![], vec![]);
    if state.read.kind == ReadStoreKind::RisingWave {
        let checked = tokio::time::timeout(
            Duration::from_secs(3),
            klg_projections::risingwave::lag(&state.pool, &state.read.pool),
        )
        .await;
        match checked {
            Ok(Ok(lag)) => {
                up.push((String::new(), 1.0));
                lag_events.push((String::new(), lag.lag_events as f64));
                lag_seconds.push((String::new(), lag.lag_seconds));
            }
            Ok(Err(_)) | Err(_) => up.push((String::new(), 0.0)),
        }
    }
    gauge(out, "klg_read_store_up", "Whether the read store (RisingWave) answered the scrape's query.", &up);
    gauge(
        out,
        "klg_read_store_ingestion_lag_events",
        "Events in the event store that the read store (RisingWave) has not ingested yet.",
        &lag_events,
    );
    gauge(
        out,
        "klg_read_store_ingestion_lag_seconds",
        "Age of the oldest event the read store (RisingWave) has not ingested yet.",
        &lag_seconds,
    );
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Appends one gauge sample with its HELP/TYPE header.
pub fn gauge(out: &mut String, name: &str, help: &str, samples: &[(String, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{labels} {value}");
    }
}
