//! The write path against raw PostgreSQL, measured in one run:
//! - baseline: single-row INSERTs of an event-shaped row, one per transaction (what pgbench
//!   would do), at 1 / 8 / 32 clients over loopback;
//! - KLG: `POST /api/v1/aircraft/{id}/flights` over HTTP/1.1 keep-alive to 200 certified aircraft
//!   at random, at 1 / 8 / 32 clients — throughput, p50/p99, ratio to the baseline; driven by
//!   `wrk` (Debian package, installed by scripts/test-setup) as in the measurement, or by
//!   the in-process client where wrk is missing (the row names which); after the table, the CPU
//!   the whole machine spent per command in each load phase (`/proc/stat`), steadier than
//!   throughput for comparing two builds;
//! - cost with history: LogFlight latency on aircraft with 10, 1,000 and 10,000 events;
//! - freshness under the 32-client load: command answered → visible in `GET /api/v1/aircraft/{id}`;
//! - rebuild (`klg project --rebuild`: the whole log folded into fresh tables, swapped in),
//!   ≥ 100,000 events, against `COPY` of the same events in log order (the events table's read
//!   rate); beside it the other full readers of the log: the live projector re-folding in place
//!   after a reset, audit verify, replay into fresh tables up to the live checkpoint, export.
//! - mirror: the relay draining a backlog of the log to a tansu broker against a bare idempotent
//!   producer sending the same messages, and commit → consumed (klg_tests::mirror_bench;
//!   `KLG_BENCH_EVENTS` events, default 100,000).
//!
//! Run: `cargo bench -p klg-tests --bench commands` (`KLG_BENCH_SECONDS` per scenario, default 5).
//! `KLG_BENCH_ONLY` picks some of the parts, comma-separated: `load` (1 / 8 / 32 clients),
//! `history`, `freshness`, `rebuild`, `mirror` — for profiling one of them.
//! Benchmarks never fail on a slow machine: they print, and the ratios compare within one run.
//! The ratios the issue sets targets for (LogFlight against raw INSERT, rebuild against COPY,
//! relay against the bare producer) are each side's best of three rounds, alternated, so that a
//! moment when the machine is slow (it is a VM) does not decide a ratio.

/// The allocator of the `klg` binary (api/src/main.rs): the server runs in this process.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use klg_tests::{read, spawn_app, TestApp};
use rand::Rng;
use serde_json::json;
use sqlx::PgPool;

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct Row {
    scenario: String,
    throughput: Option<f64>,
    p50: Duration,
    p99: Duration,
    baseline: String,
    ratio: f64,
    /// Issue 10's targets for this row, each printed with whether this run met it.
    targets: Vec<Target>,
}

/// A target of issue 10, as a row of this run meets it or not (never a failure: this prints).
enum Target {
    RatioAtLeast(f64),
    RatioAtMost(f64),
    P99AtMostMs(f64),
    /// At least this many per second, against what (another row of the same run).
    ThroughputAtLeast(f64, String),
}

impl Target {
    fn verdict(&self, row: &Row) -> String {
        let (text, met) = match self {
            Self::RatioAtLeast(min) => (format!("≥ {min}×"), row.ratio >= *min),
            Self::RatioAtMost(max) => (format!("≤ {max}×"), row.ratio <= *max),
            Self::P99AtMostMs(max) => (format!("p99 ≤ {max} ms"), ms(row.p99) <= *max),
            Self::ThroughputAtLeast(min, against) => {
                (format!("≥ {min:.0}/s ({against})"), row.throughput.is_some_and(|t| t >= *min))
            }
        };
        format!("{text} {}", if met { "✔" } else { "✘" })
    }
}

impl Row {
    fn aiming(mut self, target: Target) -> Self {
        self.targets.push(target);
        self
    }
}

fn print(rows: &[Row]) {
    println!(
        "\n{:<44} {:>12} {:>9} {:>9} {:>26} {:>7}  target (issue 10)",
        "scenario", "per second", "p50 ms", "p99 ms", "baseline (same run)", "ratio"
    );
    for r in rows {
        let throughput = r.throughput.map_or("-".to_owned(), |t| format!("{t:.0}"));
        let targets: Vec<String> = r.targets.iter().map(|t| t.verdict(r)).collect();
        println!(
            "{:<44} {:>12} {:>9.2} {:>9.2} {:>26} {:>7.2}  {}",
            r.scenario,
            throughput,
            ms(r.p50),
            ms(r.p99),
            r.baseline,
            r.ratio,
            targets.join("; ")
        );
    }
}

/// Single-row INSERTs into a table shaped like `events`, autocommit, `clients` connections.
async fn raw_insert_tps(app_pool: &PgPool, clients: usize, seconds: Duration) -> f64 {
    let pool = &sqlx::postgres::PgPoolOptions::new()
        .max_connections(clients as u32)
        .connect_with(app_pool.connect_options().as_ref().clone())
        .await
        .unwrap();
    let deadline = Instant::now() + seconds;
    let workers = (0..clients).map(|_| async move {
        let mut conn = pool.acquire().await.unwrap();
        let mut n = 0u64;
        while Instant::now() < deadline {
            sqlx::query(
                "INSERT INTO bench_raw_events (aggregate_type, aggregate_id, sequence, event_type, event_version, \
                 payload, metadata, hash) VALUES ('Aircraft', $1, 1, 'FlightLogged', '1.0', $2, $3, $4)",
            )
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(json!({"FlightLogged": {"flight_date": "2024-05-01", "block_minutes": 60, "cycles": 1}}))
            .bind(json!({"actor": "bench", "command_id": uuid::Uuid::new_v4().to_string()}))
            // An event row's 32-byte chain hash, as a value (computing it is KLG's work).
            .bind(&[0u8; 32][..])
            .execute(&mut *conn)
            .await
            .unwrap();
            n += 1;
        }
        n
    });
    let total: u64 = join_all(workers).await.into_iter().sum();
    total as f64 / seconds.as_secs_f64()
}

async fn log_flight(app: &TestApp, id: &str) -> (Duration, i64, i64) {
    let flight = json!({"flight_date": "2024-05-01", "block_hours": 1.0, "cycles": 1});
    let started = Instant::now();
    let reply = app.post_json(&format!("/api/v1/aircraft/{id}/flights"), &flight).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    (started.elapsed(), reply.body["version"].as_i64().unwrap(), reply.body["position"].as_i64().unwrap())
}

/// LogFlight from `clients` concurrent clients to random aircraft for `seconds`.
async fn command_load(
    app: &TestApp,
    fleet: &[String],
    clients: usize,
    seconds: Duration,
) -> (f64, Vec<Duration>) {
    let deadline = Instant::now() + seconds;
    let workers = (0..clients).map(|_| async move {
        let mut latencies = vec![];
        while Instant::now() < deadline {
            let id = &fleet[rand::thread_rng().gen_range(0..fleet.len())];
            latencies.push(log_flight(app, id).await.0);
        }
        latencies
    });
    let latencies: Vec<Duration> = join_all(workers).await.into_iter().flatten().collect();
    (latencies.len() as f64 / seconds.as_secs_f64(), latencies)
}

/// What a load phase measured: commands per second and latency percentiles.
struct Load {
    throughput: f64,
    p50: Duration,
    p99: Duration,
}

/// LogFlight from `clients` connections for `seconds`: driven by `wrk` (a process of its own,
/// HTTP/1.1 keep-alive, as in the measurement) when it is installed, else by the
/// in-process client (which competes with the server for the same cores). Answers the load and
/// the name of the client.
async fn command_load_from(
    app: &TestApp,
    fleet: &[String],
    clients: usize,
    seconds: Duration,
) -> (Load, &'static str) {
    if let Some(load) = wrk_load(app, fleet, clients, seconds).await {
        return (load, "wrk");
    }
    let (throughput, mut latencies) = command_load(app, fleet, clients, seconds).await;
    let load =
        Load { throughput, p50: percentile(&mut latencies, 0.5), p99: percentile(&mut latencies, 0.99) };
    (load, "in-process client")
}

/// The load from `wrk`, or `None` if it is not installed. Every answer must be a 2xx.
async fn wrk_load(app: &TestApp, fleet: &[String], clients: usize, seconds: Duration) -> Option<Load> {
    let ids: Vec<String> = fleet.iter().map(|id| format!("\"{id}\"")).collect();
    let script = format!(
        "local ids = {{ {} }}\n\
         local body = '{{\"flight_date\": \"2024-05-01\", \"block_hours\": 1.0, \"cycles\": 1}}'\n\
         local headers = {{ [\"Content-Type\"] = \"application/json\", [\"Authorization\"] = \"Bearer {}\" }}\n\
         request = function()\n\
           return wrk.format(\"POST\", \"/api/v1/aircraft/\" .. ids[math.random(#ids)] .. \"/flights\", headers, body)\n\
         end\n",
        ids.join(", "),
        klg_tests::ADMIN_TOKEN
    );
    let path = std::env::temp_dir().join(format!("klg-bench-{}.lua", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, script).unwrap();
    let args: Vec<String> = vec![
        format!("-t{}", clients.min(2)),
        format!("-c{clients}"),
        format!("-d{}s", seconds.as_secs().max(1)),
        "--latency".into(),
        "-s".into(),
        path.display().to_string(),
        app.url("/"),
    ];
    let output =
        actix_rt::task::spawn_blocking(move || std::process::Command::new("wrk").args(&args).output())
            .await
            .unwrap();
    let _ = std::fs::remove_file(&path);
    let output = output.ok()?;
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "wrk failed: {report}{}", String::from_utf8_lossy(&output.stderr));
    assert!(!report.contains("Non-2xx"), "some commands failed under load:\n{report}");
    let field = |label: &str| report.lines().find_map(|l| l.trim().strip_prefix(label).map(str::trim));
    let latency =
        |label: &str| field(label).and_then(wrk_duration).unwrap_or_else(|| panic!("{label} in {report}"));
    Some(Load {
        throughput: field("Requests/sec:").and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{report}")),
        p50: latency("50%"),
        p99: latency("99%"),
    })
}

/// A duration as `wrk` prints it: `812.00us`, `1.23ms`, `2.01s`.
fn wrk_duration(text: &str) -> Option<Duration> {
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 1e-6)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else {
        return None;
    };
    number.parse::<f64>().ok().map(|n| Duration::from_secs_f64(n * scale))
}

/// While `running`, commands on one aircraft of its own, each followed by polling the read
/// endpoint until it shows the command: answered → visible.
async fn freshness_probe(app: &TestApp, id: &str, running: &AtomicBool) -> Vec<Duration> {
    let mut samples = vec![];
    while running.load(Ordering::Relaxed) {
        let (_, version, _) = log_flight(app, id).await;
        let answered = Instant::now();
        loop {
            let view =
                read(app.client.get(app.url(&format!("/api/v1/aircraft/{id}"))).send().await.unwrap()).await;
            if view.body["version"].as_i64() >= Some(version) {
                samples.push(answered.elapsed());
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    samples
}

/// A full reader of the log (`events` read since `started`) against the ordered COPY rate.
fn reader_row(scenario: String, events: u64, started: Instant, copy_rate: f64) -> Row {
    reader_runs_row(scenario, events, &mut [started.elapsed()], copy_rate)
}

/// A full reader of the log timed once or more (`runs`) against the ordered COPY rate: the
/// best run's rate, the median and slowest run in the p50 and p99 columns.
fn reader_runs_row(scenario: String, events: u64, runs: &mut [Duration], copy_rate: f64) -> Row {
    let (best, median, slowest) = (percentile(runs, 0.0), percentile(runs, 0.5), percentile(runs, 1.0));
    let rate = events as f64 / best.as_secs_f64();
    Row {
        scenario: if runs.len() > 1 { format!("{scenario}, best of {}", runs.len()) } else { scenario },
        throughput: Some(rate),
        p50: median,
        p99: slowest,
        baseline: format!("ordered COPY {copy_rate:.0}/s"),
        ratio: rate / copy_rate,
        targets: vec![],
    }
}

/// What `work` makes, run on a multi-threaded tokio runtime of its own, as the `klg` binary runs
/// its work (this benchmark's server runs on actix's single-threaded runtime).
async fn on_a_runtime_of_its_own<T, W>(work: impl FnOnce() -> W + Send + 'static) -> T
where
    T: Send + 'static,
    W: std::future::Future<Output = T>,
{
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let _ = done.send(runtime.block_on(work()));
    });
    result.await.unwrap()
}

/// `klg project --rebuild` as the CLI runs it: on a runtime and with a pool of its own.
async fn rebuild_as_the_cli_does(pool: &PgPool) -> klg_projections::replay::ReplayReport {
    let options = (*pool.connect_options()).clone();
    on_a_runtime_of_its_own(move || async move {
        let pool =
            sqlx::postgres::PgPoolOptions::new().max_connections(10).connect_with(options).await.unwrap();
        klg_projections::replay::rebuild_all(&pool, |_, _| {}).await.unwrap()
    })
    .await
}

/// Reads `events` events of the log in log order with COPY: (events per second, bytes).
async fn ordered_copy(pool: &PgPool, events: i64) -> (f64, usize) {
    let mut conn = pool.acquire().await.unwrap();
    let started = Instant::now();
    let mut copy = conn
        .copy_out_raw(
            "COPY (SELECT aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata, \
             global_position, transaction_id, event_id, recorded_at FROM events \
             ORDER BY transaction_id, global_position) TO STDOUT",
        )
        .await
        .unwrap();
    let mut bytes = 0;
    while let Some(chunk) = futures_util::StreamExt::next(&mut copy).await {
        bytes += chunk.unwrap().len();
    }
    (events as f64 / started.elapsed().as_secs_f64(), bytes)
}

/// The projections rebuilt from the whole log, and the tamper verification of it, each vs.
/// reading the log with COPY.
/// `command_rate`: the 32-client LogFlight rate of this run, if measured (the live projector's
/// re-fold must run at three times the command rate it serves).
async fn rebuild(app: &TestApp, fleet: &[String], command_rate: Option<f64>) -> Vec<Row> {
    let pool = &app.pool;
    // The history grown is copies of each aircraft's last event: a flight, like the bulk of an
    // airworthiness log (whatever ran before this part).
    for id in fleet {
        log_flight(app, id).await;
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM events").fetch_one(pool).await.unwrap();
    let per_aircraft = ((100_000 - stored).max(0) / fleet.len() as i64) + 1;
    // One aircraft at a time: each one's copies contiguous in the log, as this row has measured.
    for id in fleet {
        klg_tests::grow_fleet_history(pool, std::slice::from_ref(id), per_aircraft).await;
    }
    klg_tests::wait_for_projections(pool).await;
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events").fetch_one(pool).await.unwrap();

    // The read rate against `klg project --rebuild` (the whole log folded into fresh tables,
    // swapped in at its end, with the server's live projector running): three rounds of one
    // COPY and one rebuild, each side's best. A single COPY moved between 207,000 and 380,000
    // events/s across runs on one machine, a single rebuild by ±10 % (docs/benchmarks.md,
    // session 10); the best of each is the machine's capacity for it, alternated so that both
    // sides meet the same moments of the machine.
    let mut copy_rate: f64 = 0.0;
    let mut bytes = 0;
    let mut rebuilds = vec![];
    let mut rebuilt = 0;
    for _ in 0..3 {
        let (rate, read) = ordered_copy(pool, events).await;
        copy_rate = copy_rate.max(rate);
        bytes = read;
        let started = Instant::now();
        rebuilt = rebuild_as_the_cli_does(pool).await.events_read;
        rebuilds.push(started.elapsed());
    }
    let scenario = format!("rebuild (klg project --rebuild), {rebuilt} events");
    let rebuild =
        reader_runs_row(scenario, rebuilt, &mut rebuilds, copy_rate).aiming(Target::RatioAtLeast(0.3));

    // The running server's projector re-folds everything in place after a reset (what
    // `klg project --rebuild` did before session 6): the live projector's catch-up rate.
    // Polled cheaply (the checkpoint row against the log's last position): counting the events
    // after the checkpoint would scan the table the rebuild reads.
    let head = klg_projections::log::readable_head(pool, klg_projections::LogPosition::MAX).await.unwrap();
    klg_projections::projector::reset(pool).await.unwrap();
    let started = Instant::now();
    loop {
        let at: (i64, i64) = sqlx::query_as(
            "SELECT transaction_id::text::bigint, global_position FROM subscription_checkpoints WHERE name = $1",
        )
        .bind(klg_projections::PROJECTIONS)
        .fetch_one(pool)
        .await
        .unwrap();
        if at == (head.transaction_id, head.global_position) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut refold = reader_row(
        format!("projector re-fold in place, {events} events ({} MB)", bytes / 1_000_000),
        events as u64,
        started,
        copy_rate,
    );
    if let Some(rate) = command_rate {
        refold = refold.aiming(Target::ThroughputAtLeast(3.0 * rate, "3× LogFlight at 32 clients".into()));
    }
    // Tamper verification reads the same log, recomputing every chain.
    let started = Instant::now();
    let report = klg_audit::verify(pool, None, |_| {}).await.unwrap();
    assert!(report.ok && report.events_checked == events as u64, "{report:?}");
    let verify = reader_row(format!("audit verify, {events} events"), events as u64, started, copy_rate);
    // Replay into fresh tables swapped in (`klg replay projections`), with the server live.
    let started = Instant::now();
    let sets = klg_projections::replay::select(None).unwrap();
    let report = klg_projections::replay::replay(pool, &sets, |_, _| {}).await.unwrap();
    let scenario = format!("replay projections (fresh tables + swap), {} events", report.events_read);
    let replay = reader_row(scenario, report.events_read, started, copy_rate);
    // Export (`klg export`, JSON lines) to nowhere: the cost of reading and encoding.
    let started = Instant::now();
    let filter = klg_audit::log::LogFilter::default();
    let format = klg_audit::transfer::Format::Jsonl;
    let summary = klg_audit::transfer::export(pool, &filter, format, std::io::sink(), |_| {}).await.unwrap();
    let export =
        reader_row(format!("export jsonl, {} events", summary.events), summary.events, started, copy_rate);
    vec![rebuild, refold, verify, replay, export]
}

/// The mirror (a tansu broker of its own, a fresh database): relay drain against a bare
/// producer, and commit → consumed from the topic against the command's own latency.
async fn mirror_rows() -> Vec<Row> {
    let events = std::env::var("KLG_BENCH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    // The relay runs as `klg serve` runs it.
    let m = on_a_runtime_of_its_own(move || klg_tests::mirror_bench::measure(events)).await;
    let ms_duration = |ms: f64| Duration::from_secs_f64(ms / 1000.0);
    vec![
        Row {
            scenario: format!(
                "mirror relay drain, {} events, best of {}",
                m.stored,
                klg_tests::mirror_bench::ROUNDS
            ),
            throughput: Some(m.relay),
            p50: Duration::ZERO,
            p99: Duration::ZERO,
            baseline: format!("bare producer {:.0}/s", m.bare_producer),
            ratio: m.relay / m.bare_producer,
            targets: vec![Target::RatioAtLeast(0.5)],
        },
        Row {
            scenario: "mirror commit -> consumed from topic".into(),
            throughput: None,
            p50: ms_duration(m.commit_to_consumed.0),
            p99: ms_duration(m.commit_to_consumed.1),
            baseline: format!("command p99 {:.1} ms", m.command.1),
            ratio: m.commit_to_consumed.1 / m.command.1,
            targets: vec![Target::P99AtMostMs(100.0)],
        },
    ]
}

/// Rounds of the load phases (each round: 1, 8 and 32 clients, each a raw-INSERT phase then a
/// LogFlight phase).
const LOAD_ROUNDS: usize = 3;

/// LogFlight at 1, 8 and 32 clients against raw INSERTs at as many, in [`LOAD_ROUNDS`] rounds,
/// each side's best: one 4-second phase of either moved by ±10 % between runs, and now and then a
/// whole run of one build was a quarter slower (the machine is a VM; docs/benchmarks.md,
/// session 10).
async fn command_loads(app: &TestApp, fleet: &[String], seconds: Duration) -> Loads {
    const CLIENTS: [usize; 3] = [1, 8, 32];
    let mut baselines = [0.0_f64; CLIENTS.len()];
    // Per client count, each round's load: (load, its driver, CPU per command in µs).
    let mut loads: [Vec<(Load, &str, Option<f64>)>; CLIENTS.len()] = Default::default();
    for _ in 0..LOAD_ROUNDS {
        for (i, clients) in CLIENTS.into_iter().enumerate() {
            baselines[i] = baselines[i].max(raw_insert_tps(&app.pool, clients, seconds).await);
            let busy = busy_cpu();
            let (load, client) = command_load_from(app, fleet, clients, seconds).await;
            let cpu = busy.zip(busy_cpu()).map(|(before, after)| {
                (after - before).as_secs_f64() * 1e6 / (load.throughput * seconds.as_secs_f64())
            });
            loads[i].push((load, client, cpu));
        }
    }
    let mut measured = Loads::default();
    // The rate at the client count before (8 when at 32): no drop from 8 to 32 clients.
    let mut fewer_clients: Option<(usize, f64)> = None;
    for ((clients, baseline), rounds) in CLIENTS.into_iter().zip(baselines).zip(loads) {
        let best = rounds.into_iter().max_by(|a, b| a.0.throughput.total_cmp(&b.0.throughput));
        let Some((load, client, cpu)) = best else { continue };
        if let Some(cpu) = cpu {
            measured.cpu_per_command.push(format!("{clients} clients {cpu:.0} µs"));
        }
        let mut targets = vec![];
        if clients == 32 {
            measured.at_32_clients = Some(load.throughput);
            targets.push(Target::RatioAtLeast(0.5));
            if let Some((fewer, rate)) = fewer_clients {
                targets.push(Target::ThroughputAtLeast(rate, format!("{fewer} clients")));
            }
        }
        fewer_clients = Some((clients, load.throughput));
        measured.rows.push(Row {
            scenario: format!("LogFlight over HTTP ({client}), {clients} clients, best of {LOAD_ROUNDS}"),
            throughput: Some(load.throughput),
            p50: load.p50,
            p99: load.p99,
            baseline: format!("raw INSERT {baseline:.0}/s"),
            ratio: load.throughput / baseline,
            targets,
        });
    }
    measured
}

/// What [`command_loads`] measured.
#[derive(Default)]
struct Loads {
    rows: Vec<Row>,
    /// Per client count, the CPU per command of the best round.
    cpu_per_command: Vec<String>,
    /// LogFlight per second at 32 clients (the rate the live projector must keep up with).
    at_32_clients: Option<f64>,
}

/// Whether `KLG_BENCH_ONLY` (unset: every part) includes `part`.
fn runs(part: &str) -> bool {
    std::env::var("KLG_BENCH_ONLY").map_or(true, |only| only.split(',').any(|p| p.trim() == part))
}

fn main() {
    let seconds = Duration::from_secs(
        std::env::var("KLG_BENCH_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(5),
    );
    // The service's own logs when asked for (e.g. `RUST_LOG=klg_projections=info`: the rebuild's
    // fold, index and swap times).
    if std::env::var_os("RUST_LOG").is_some() {
        klg_api::telemetry::init(false);
    }
    actix_rt::System::new().block_on(async move {
        let app = spawn_app().await;
        let pool = &app.pool;
        sqlx::raw_sql(
            "CREATE TABLE bench_raw_events (LIKE events INCLUDING DEFAULTS INCLUDING IDENTITY); \
             ALTER TABLE bench_raw_events ADD PRIMARY KEY (aggregate_type, aggregate_id, sequence)",
        )
        .execute(pool)
        .await
        .unwrap();
        let fleet = app.certified_fleet(20000, 200).await;
        let Loads { mut rows, cpu_per_command, at_32_clients } =
            if runs("load") { command_loads(&app, &fleet, seconds).await } else { Default::default() };

        if runs("history") {
            rows.extend(by_history_length(&app).await);
        }
        if runs("freshness") {
            rows.push(freshness(&app, &fleet, seconds).await);
        }
        if runs("rebuild") {
            rows.extend(rebuild(&app, &fleet, at_32_clients).await);
        }
        if runs("mirror") {
            rows.extend(mirror_rows().await);
        }
        print(&rows);
        if !cpu_per_command.is_empty() {
            // Less noisy than throughput for comparing two builds: the work each command costs.
            println!(
                "\nCPU per LogFlight in the best round, every process (klg, PostgreSQL, wrk): {}",
                cpu_per_command.join(", ")
            );
        }
    });
}

/// CPU time the whole machine has spent busy so far (`/proc/stat`), if this is Linux.
fn busy_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<u64> =
        stat.lines().next()?.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal: all but idle and iowait are busy.
    let busy: u64 =
        ticks.iter().take(8).enumerate().filter(|(i, _)| *i != 3 && *i != 4).map(|(_, t)| t).sum();
    // The kernel counts in USER_HZ, 100 per second on Linux.
    Some(Duration::from_millis(busy * 10))
}

/// LogFlight latency by the aircraft's history length: 10, 1,000 and 10,000 events.
async fn by_history_length(app: &TestApp) -> Vec<Row> {
    let pool = &app.pool;
    let mut rows = vec![];
    let short = app.certified_aircraft("RA-30010").await;
    for _ in 0..8 {
        log_flight(&app, &short).await;
    }
    let mut aged = vec![short];
    for (registration, length) in [("RA-30001", 1_000), ("RA-30000", 10_000)] {
        let id = app.certified_aircraft(registration).await;
        log_flight(&app, &id).await;
        klg_tests::grow_fleet_history(pool, std::slice::from_ref(&id), length - 3).await;
        aged.push(id);
    }
    let mut by_length = vec![];
    for id in &aged {
        log_flight(&app, id).await; // warm-up: the first command after growth
        let mut samples = vec![];
        for _ in 0..200 {
            samples.push(log_flight(&app, id).await.0);
        }
        by_length.push((percentile(&mut samples, 0.5), percentile(&mut samples, 0.99)));
    }
    // The target is for the 10,000-event aircraft.
    let lengths = [("1,000", vec![]), ("10,000", vec![Target::RatioAtMost(1.5)])];
    for ((length, targets), (p50, p99)) in lengths.into_iter().zip(&by_length[1..]) {
        rows.push(Row {
            scenario: format!("LogFlight, aggregate of {length} events"),
            throughput: None,
            p50: *p50,
            p99: *p99,
            baseline: format!("10 events: p50 {:.2} ms", ms(by_length[0].0)),
            ratio: ms(*p50) / ms(by_length[0].0),
            targets,
        });
    }

    rows
}

/// Freshness under the 32-client load: command answered → visible in the read endpoint.
async fn freshness(app: &TestApp, fleet: &[String], seconds: Duration) -> Row {
    let probe_aircraft = app.certified_aircraft("RA-30020").await;
    let running = Arc::new(AtomicBool::new(true));
    let load = async {
        let result = command_load_from(app, fleet, 32, seconds).await.0;
        running.store(false, Ordering::Relaxed);
        result
    };
    let (load, mut fresh) = futures_util::join!(load, freshness_probe(app, &probe_aircraft, &running));
    Row {
        scenario: format!("freshness under 32-client load ({} probes)", fresh.len()),
        throughput: None,
        p50: percentile(&mut fresh, 0.5),
        p99: percentile(&mut fresh, 0.99),
        baseline: format!("command p99 {:.1} ms", ms(load.p99)),
        ratio: ms(percentile(&mut fresh, 0.99)) / ms(load.p99),
        targets: vec![Target::P99AtMostMs(50.0)],
    }
}
