//! `GET /metrics` through the `metrics` facade and its Prometheus exporter: every metric KLG
//! exposed when it rendered the text format by hand is still there, with the same name, type,
//! labels and histogram buckets; the process has one recorder, shared by every server in it; and
//! the request path takes no lock of KLG's.

use std::collections::{BTreeMap, BTreeSet};

use klg_tests::{spawn_app, spawn_app_reading_risingwave, TestApp};

/// Every metric family KLG exposes, with its Prometheus type and the labels of its samples (in
/// this order) — as the hand-written registry rendered them. The dashboard
/// (docker/grafana/dashboards/klg.json) and its test in compose.rs depend on these.
const FAMILIES: [(&str, &str, &[&str]); 11] = [
    ("klg_http_requests_total", "counter", &["method", "route", "status"]),
    ("klg_http_request_duration_seconds", "histogram", &["route"]),
    ("klg_commands_total", "counter", &["command", "outcome"]),
    ("klg_command_duration_seconds", "histogram", &["command"]),
    ("klg_database_up", "gauge", &[]),
    ("klg_subscription_lag_events", "gauge", &["subscription"]),
    ("klg_subscription_lag_seconds", "gauge", &["subscription"]),
    ("klg_subscription_events_handled", "gauge", &["subscription"]),
    ("klg_read_store_up", "gauge", &[]),
    ("klg_read_store_ingestion_lag_events", "gauge", &[]),
    ("klg_read_store_ingestion_lag_seconds", "gauge", &[]),
];

/// The latency histograms' bucket bounds, as the `le` label renders them.
const BUCKETS: [&str; 11] =
    ["0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "1", "5", "+Inf"];

async fn scrape(app: &TestApp) -> String {
    let mut response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response.headers().get("content-type").unwrap().to_str().unwrap().to_owned();
    assert_eq!(content_type, "text/plain; version=0.0.4");
    String::from_utf8(response.body().await.unwrap().to_vec()).unwrap()
}

/// A sample's labels, in order: (label, value).
type Labels = Vec<(String, String)>;

/// One sample line: (name, labels, value).
fn parse(line: &str) -> (String, Labels, f64) {
    let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("not a sample: {line}"));
    let value: f64 = value.parse().unwrap_or_else(|_| panic!("not a number in {line}"));
    let Some((name, labels)) = series.split_once('{') else {
        return (series.to_owned(), vec![], value);
    };
    let labels = labels.strip_suffix('}').unwrap_or_else(|| panic!("unclosed labels: {line}"));
    let mut pairs = vec![];
    let mut rest = labels;
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"").unwrap();
        // Label values are escaped (\\, \", \n): the value ends at the first unescaped quote.
        let mut end = 0;
        let bytes = after.as_bytes();
        while bytes[end] != b'"' {
            end += if bytes[end] == b'\\' { 2 } else { 1 };
        }
        pairs.push((key.to_owned(), after[..end].to_owned()));
        rest = after[end + 1..].strip_prefix(',').unwrap_or(&after[end + 1..]);
    }
    (name.to_owned(), pairs, value)
}

/// A few requests and commands (one refused, one read of a missing aircraft) on a server in
/// RisingWave read mode with the mirror, so that every family has samples; then every family of
/// [`FAMILIES`] is in the scrape with its type, its labels and, for histograms, the same buckets.
#[actix_rt::test]
async fn every_metric_klg_exposed_is_still_in_a_scrape_with_its_type_labels_and_buckets() {
    let app = spawn_app_reading_risingwave().await;
    let id = klg_tests::sample_commands(&app, "RA-89881").await;
    klg_tests::wait_for_projections(&app.pool).await;
    app.get(&format!("/api/v1/aircraft/{}", uuid::Uuid::new_v4())).await;
    app.get("/health/live").await;

    let scrape = scrape(&app).await;
    println!("{scrape}");
    let mut types = BTreeMap::new();
    let mut samples: BTreeMap<String, Vec<(Labels, f64)>> = BTreeMap::new();
    for line in scrape.lines().filter(|l| !l.is_empty()) {
        if let Some(declaration) = line.strip_prefix("# TYPE ") {
            let (name, kind) = declaration.split_once(' ').unwrap();
            assert!(types.insert(name.to_owned(), kind.to_owned()).is_none(), "{name} declared twice");
        } else if !line.starts_with('#') {
            let (name, labels, value) = parse(line);
            samples.entry(name).or_default().push((labels, value));
        }
    }
    for (family, kind, labels) in FAMILIES {
        assert_eq!(types.get(family).map(String::as_str), Some(kind), "{family} in:\n{scrape}");
        assert!(scrape.contains(&format!("# HELP {family} ")), "{family} has no HELP line");
        let series: &[&str] = if kind == "histogram" { &["_bucket", "_sum", "_count"] } else { &[""] };
        for suffix in series {
            let name = format!("{family}{suffix}");
            let found = samples.get(&name).unwrap_or_else(|| panic!("no {name} sample in:\n{scrape}"));
            for (sample_labels, _) in found {
                let mut keys: Vec<&str> = sample_labels.iter().map(|(k, _)| k.as_str()).collect();
                if *suffix == "_bucket" {
                    assert_eq!(keys.pop(), Some("le"), "{name}: le comes last");
                }
                assert_eq!(keys, labels, "{name}'s labels");
            }
        }
        if kind == "histogram" {
            let mut by_series: BTreeMap<Labels, Vec<String>> = BTreeMap::new();
            for (labels, _) in &samples[&format!("{family}_bucket")] {
                let (le, rest) = labels.split_last().unwrap();
                by_series.entry(rest.to_vec()).or_default().push(le.1.clone());
            }
            for (series, bounds) in by_series {
                assert_eq!(bounds, BUCKETS, "{family}{series:?}'s buckets");
            }
        }
    }
    assert!(!scrape.contains("quantile="), "histograms must not become summaries:\n{scrape}");

    let exposed: BTreeSet<&str> =
        types.keys().map(String::as_str).filter(|n| n.starts_with("klg_")).collect();
    let known: BTreeSet<&str> = FAMILIES.iter().map(|(n, _, _)| *n).collect();
    assert_eq!(exposed, known, "KLG's metric families");

    klg_tests::assert_has_lines(
        &scrape,
        &[
            "klg_http_requests_total{method=\"POST\",route=\"/api/v1/aircraft\",status=\"201\"} 1",
            "klg_http_requests_total{method=\"POST\",route=\"/api/v1/aircraft\",status=\"409\"} 1",
            "klg_http_requests_total{method=\"GET\",route=\"/api/v1/aircraft/{id}\",status=\"404\"} 1",
            "klg_http_requests_total{method=\"GET\",route=\"/health/live\",status=\"200\"} 1",
            "klg_commands_total{command=\"RegisterAircraft\",outcome=\"accepted\"} 1",
            "klg_commands_total{command=\"RegisterAircraft\",outcome=\"refused\"} 1",
            "klg_commands_total{command=\"ChangeStatus\",outcome=\"accepted\"} 1",
            "klg_command_duration_seconds_count{command=\"RegisterAircraft\"} 2",
            "klg_command_duration_seconds_bucket{command=\"RegisterAircraft\",le=\"+Inf\"} 2",
            "klg_http_request_duration_seconds_count{route=\"/api/v1/aircraft\"} 2",
            "klg_database_up 1",
            "klg_read_store_up 1",
            "klg_subscription_lag_events{subscription=\"projections\"} 0",
            "klg_subscription_lag_events{subscription=\"mirror\"} 0",
            "klg_subscription_events_handled{subscription=\"mirror\"} 2",
        ],
    );
    assert!(!scrape.contains(&id), "ids must not become labels");
}

/// The recorder is global: a second server in the same process starts (the recorder is
/// installed once), and both servers' requests land in the same counters — each scrape shows
/// the requests of both.
#[actix_rt::test]
async fn servers_in_one_process_share_one_recorder() {
    let first = spawn_app().await;
    let second = spawn_app().await;
    let count = |scrape: &str| {
        scrape
            .lines()
            .find_map(|l| {
                l.strip_prefix(
                    "klg_http_requests_total{method=\"GET\",route=\"/health/live\",status=\"200\"} ",
                )
            })
            .map_or(0, |v| v.parse::<u64>().unwrap())
    };
    let before = count(&scrape(&first).await);
    first.get("/health/live").await;
    second.get("/health/live").await;
    second.get("/health/live").await;
    let (a, b) = (scrape(&first).await, scrape(&second).await);
    assert!(count(&a) >= before + 3, "{a}");
    assert_eq!(count(&a), count(&b), "one set of counters per process");
    // Each scrape reads its own database for the scrape-time gauges.
    for scrape in [&a, &b] {
        assert!(scrape.lines().any(|l| l == "klg_database_up 1"), "{scrape}");
    }
}

/// A scrape-time gauge the scrape could not measure leaves the output, as when the scrape wrote
/// only what it measured, rather than repeating its last value: with the database gone,
/// `klg_database_up` is 0 and the subscriptions' lag is absent, not the last lag seen.
#[actix_rt::test]
async fn a_gauge_the_scrape_could_not_measure_is_absent_not_stale() {
    let app = spawn_app().await;
    app.register_aircraft("RA-89882").await;
    klg_tests::wait_for_projections(&app.pool).await;
    let healthy = scrape(&app).await;
    klg_tests::assert_has_lines(&healthy, &["klg_database_up 1"]);
    assert!(healthy.lines().any(|l| l.starts_with("klg_subscription_lag_events{")), "{healthy}");

    // Gauges unchanged for a second are dropped at the next render (GAUGE_IDLE).
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    app.drop_database().await;
    let failing = scrape(&app).await;
    klg_tests::assert_has_lines(&failing, &["klg_database_up 0"]);
    for gauge in
        ["klg_subscription_lag_events", "klg_subscription_lag_seconds", "klg_subscription_events_handled"]
    {
        assert!(!failing.contains(gauge), "{gauge} is stale:\n{failing}");
    }
    // The counters stay.
    assert!(
        failing.contains("klg_commands_total{command=\"RegisterAircraft\",outcome=\"accepted\"} "),
        "{failing}"
    );
}

/// Counting a request takes no lock of KLG's: the module the request path calls
/// (`Metrics::observe_request`, from the request middleware) holds no mutex — the exporter's
/// atomics and its registry do the work.
#[test]
fn the_request_path_takes_no_lock_of_klgs() {
    let api = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../api/src");
    for file in ["metrics.rs", "middleware.rs"] {
        let source = std::fs::read_to_string(api.join(file)).unwrap();
        let code: String =
            source.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
        for lock in ["Mutex", "RwLock", ".lock(", ".read(", ".write(", "parking_lot"] {
            assert!(!code.contains(lock), "api/src/{file} uses {lock}");
        }
    }
}
