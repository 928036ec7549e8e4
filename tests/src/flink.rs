//! Apache Flink itself, for conformance tests of the SQL jobs: Flink 2.0's jars (installed by
//! scripts/test-setup) and a small runner that executes SQL files in a local mini-cluster; a
//! standalone session cluster (JobManager and TaskManager processes) for the production
//! submission (flink/submit.sh); and the event histories the tests run through the jobs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use klg_domain::aircraft::{AircraftEvent, AircraftStatus};
use klg_domain::inbox::InboxEvent;
use klg_domain::values::*;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

/// `$KLG_FLINK_HOME`, or where scripts/test-setup puts Flink.
pub fn flink_home() -> PathBuf {
    let home = std::env::var_os("KLG_FLINK_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/klg/flink"));
    assert!(
        home.join("lib/flink-dist-2.0.0.jar").exists(),
        "Flink is not set up in {}: run scripts/test-setup",
        home.display()
    );
    home
}

/// The compiled flink/runner/KlgSqlRunner.java of this checkout: in `$KLG_FLINK_HOME`, in a
/// directory named after the source's hash (compiled on first use), so checkouts with other
/// versions of the runner sharing the cache never run each other's.
pub fn runner_classes() -> PathBuf {
    use sha2::Digest;
    let home = flink_home();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../flink/runner/KlgSqlRunner.java");
    let hash = hex::encode(sha2::Sha256::digest(std::fs::read(&source).expect("the runner's source")));
    let classes = home.join(format!("classes-{}", &hash[..16]));
    if !classes.join("KlgSqlRunner.class").exists() {
        let scratch = home.join(format!("classes-{}", Uuid::new_v4().simple()));
        let output = Command::new("javac")
            .arg("-cp")
            .arg(format!("{}/lib/*", home.display()))
            .arg("-d")
            .arg(&scratch)
            .arg(&source)
            .output()
            .expect("javac runs");
        assert!(output.status.success(), "javac failed:\n{}", String::from_utf8_lossy(&output.stderr));
        // Another test may have won the race: its classes are the same.
        if std::fs::rename(&scratch, &classes).is_err() {
            let _ = std::fs::remove_dir_all(&scratch);
        }
    }
    classes
}

/// A file of the repository's `flink/` folder.
pub fn sql(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../flink/sql").join(relative)
}

/// Runs SQL files on Flink (`batch` or `streaming`), with `env` for their `${NAME}`s.
pub fn command(mode: &str, files: &[PathBuf], env: &[(&str, String)]) -> Command {
    let home = flink_home();
    let classpath = format!("{}/lib/*:{}", home.display(), runner_classes().display());
    let log_config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../flink/runner/log4j2.properties");
    let mut command = Command::new("java");
    command
        .args(["--add-opens=java.base/java.util=ALL-UNNAMED", "--add-opens=java.base/java.lang=ALL-UNNAMED"])
        .arg(format!("-Dlog4j.configurationFile={}", log_config.display()))
        .args(["-cp", &classpath, "KlgSqlRunner", mode])
        .args(files)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    command
}

/// Runs a batch job to completion.
pub fn run_batch(files: &[PathBuf], env: &[(&str, String)]) -> Output {
    command("batch", files, env).output().expect("java runs")
}

/// A streaming job running in the background; killed when dropped.
pub struct StreamingJob(pub std::process::Child);

impl StreamingJob {
    pub fn start(files: &[PathBuf], env: &[(&str, String)]) -> Self {
        let child = command("streaming", files, env)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("java starts");
        Self(child)
    }

    /// Whether the job died (it should run until killed), with its error output.
    pub fn failure(&mut self) -> Option<String> {
        use std::io::Read;
        match self.0.try_wait() {
            Ok(Some(status)) => {
                let mut stderr = String::new();
                if let Some(mut pipe) = self.0.stderr.take() {
                    let _ = pipe.read_to_string(&mut stderr);
                }
                Some(format!("Flink exited with {status}:\n{stderr}"))
            }
            _ => None,
        }
    }
}

impl Drop for StreamingJob {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// Event histories with chosen occurrence times.

/// `HH:MM:SS[.fff]` after 2026-03-01 00:00 UTC; hours past 23 run into the next day.
pub fn at(time: &str) -> DateTime<Utc> {
    let parts: Vec<f64> = time.split(':').map(|p| p.parse().unwrap()).collect();
    let millis = ((parts[0] * 60.0 + parts[1]) * 60.0 + parts[2]) * 1000.0;
    "2026-03-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap() + chrono::Duration::milliseconds(millis as i64)
}

pub fn registered(number: &str) -> AircraftEvent {
    AircraftEvent::AircraftRegistered {
        registration_number: RegistrationNumber::parse(number).unwrap(),
        aircraft_type: AircraftTypeCode::parse("SU95").unwrap(),
        model: Name::parse("Superjet").unwrap(),
        serial_number: SerialNumber::parse("95001").unwrap(),
        operator: Name::parse("Aeroflot").unwrap(),
        year_of_manufacture: None,
    }
}

pub fn certified() -> AircraftEvent {
    AircraftEvent::AirworthinessCertificateIssued {
        number: CertificateNumber::parse("CA-1").unwrap(),
        issued_on: "2026-01-01".parse().unwrap(),
        valid_until: "2027-01-01".parse().unwrap(),
    }
}

pub fn flight(minutes: u32) -> AircraftEvent {
    AircraftEvent::FlightLogged {
        flight_date: "2026-03-01".parse().unwrap(),
        block_minutes: BlockMinutes::from_minutes(minutes),
        cycles: 1,
        route: None,
    }
}

pub fn received(name: &str) -> InboxEvent {
    InboxEvent::FileReceived {
        filename: FileName::sanitize(name),
        content_type: ContentType::parse("application/pdf").unwrap(),
        size_bytes: 100,
        sha256: Sha256Hex::parse(&"a".repeat(64)).unwrap(),
        source: FileSource::Email,
    }
}

pub fn classified(document_type: DocumentType) -> InboxEvent {
    InboxEvent::DocumentClassified { document_type, previous: None }
}

/// Events the tests write straight into the store, and the aggregate they belong to.
pub trait Stored: DomainEvent {
    const AGGREGATE: &'static str;
}

impl Stored for AircraftEvent {
    const AGGREGATE: &'static str = "Aircraft";
}

impl Stored for InboxEvent {
    const AGGREGATE: &'static str = "InboxItem";
}

/// Appends an event with a chosen occurrence time (the store's own default is `now()`).
pub async fn append<E: Stored>(pool: &PgPool, id: Uuid, sequence: i64, event: E, time: DateTime<Utc>) {
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata, recorded_at) \
         VALUES ($1, $2, $3, $4, '1.0', $5, '{\"actor\": \"flink-test\"}', $6)",
    )
    .bind(E::AGGREGATE)
    .bind(id.to_string())
    .bind(sequence)
    .bind(event.event_type())
    .bind(sqlx::types::Json(&event))
    .bind(time)
    .execute(pool)
    .await
    .unwrap();
}

/// [`write_history_of`] three new aircraft.
pub async fn write_history(pool: &PgPool) {
    write_history_of(pool, [Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4()]).await
}

/// Aircraft a, b, c: day boundary in the middle; RA-00002 passes from b to c; the flight of b at
/// 00:29:45 is stored after a's 00:30:00 one (out of order, inside the 30 s watermark bound).
pub async fn write_history_of(pool: &PgPool, [a, b, c]: [Uuid; 3]) {
    append(pool, a, 1, registered("RA-00001"), at("23:10:00")).await;
    append(pool, b, 1, registered("RA-00002"), at("23:15:00")).await;
    append(pool, a, 2, certified(), at("23:20:00")).await;
    append(pool, b, 2, certified(), at("23:21:00")).await;
    append(pool, a, 3, flight(90), at("23:40:00")).await;
    append(pool, b, 3, flight(45), at("23:45:00")).await;
    append(pool, a, 4, flight(30), at("23:59:59.999")).await;
    append(pool, a, 5, flight(60), at("24:00:00")).await;
    append(pool, a, 6, flight(75), at("24:30:00")).await;
    append(pool, b, 4, flight(20), at("24:29:45")).await;
    let decommissioned = AircraftEvent::AircraftDecommissioned {
        registration_number: RegistrationNumber::parse("RA-00002").unwrap(),
        reason: None,
    };
    append(pool, b, 5, decommissioned, at("24:40:00")).await;
    append(pool, c, 1, registered("RA-00002"), at("24:50:00")).await;
    append(pool, c, 2, certified(), at("24:51:00")).await;
    append(pool, c, 3, flight(55), at("24:55:00")).await;
    let grounded = AircraftEvent::AircraftStatusChanged {
        from: AircraftStatus::Active,
        to: AircraftStatus::Grounded,
        reason: Reason::parse("bird strike").unwrap(),
    };
    append(pool, a, 7, grounded, at("25:05:00")).await;
    let maintenance = AircraftEvent::AircraftStatusChanged {
        from: AircraftStatus::Grounded,
        to: AircraftStatus::InMaintenance,
        reason: Reason::parse("inspection").unwrap(),
    };
    append(pool, a, 8, maintenance, at("80:00:00")).await;
    append(pool, a, 9, flight(120), at("82:00:00")).await;
}

/// [`write_inbox_history_of`] four new documents.
pub async fn write_inbox_history(pool: &PgPool) {
    write_inbox_history_of(pool, [Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4()]).await
}

/// Across midnight: a directive processed after an hour; a bulletin reclassified as a work
/// order then processed; one rejected unclassified; one left open.
pub async fn write_inbox_history_of(pool: &PgPool, [d1, d2, d3, d4]: [Uuid; 4]) {
    append(pool, d1, 1, received("ad.pdf"), at("23:10:00")).await;
    append(pool, d1, 2, classified(DocumentType::AirworthinessDirective), at("23:30:00")).await;
    append(pool, d2, 1, received("sb.pdf"), at("23:50:00")).await;
    append(pool, d2, 2, classified(DocumentType::ServiceBulletin), at("23:55:00")).await;
    append(
        pool,
        d1,
        3,
        InboxEvent::DocumentProcessed { note: Note::parse("applied").unwrap() },
        at("24:10:00"),
    )
    .await;
    append(pool, d2, 3, classified(DocumentType::WorkOrder), at("24:05:00")).await;
    append(pool, d3, 1, received("junk.pdf"), at("24:15:00")).await;
    append(pool, d2, 4, InboxEvent::DocumentProcessed { note: Note::parse("done").unwrap() }, at("24:20:00"))
        .await;
    append(pool, d4, 1, received("later.pdf"), at("24:30:00")).await;
    append(
        pool,
        d3,
        2,
        InboxEvent::DocumentRejected { reason: Reason::parse("spam").unwrap() },
        at("24:29:40"),
    )
    .await;
}

/// A statistics row with its windows as plain UTC text (`2026-03-01T23:00:00`) and its numbers
/// as floats, whichever store (timestamp or timestamptz; bigint, numeric or double) or format
/// (`to_jsonb`, the API's typed rows, Flink's JSON) it came from.
pub fn normalise(row: &Value) -> Value {
    let mut row = row.clone();
    for key in ["window_start", "window_end"] {
        if let Some(text) = row[key].as_str() {
            row[key] = Value::String(text.trim_end_matches("+00:00").trim_end_matches('Z').to_owned());
        }
    }
    if let Some(fields) = row.as_object_mut() {
        for value in fields.values_mut() {
            if let Some(number) = value.as_f64() {
                *value = Value::from(number);
            }
        }
    }
    row
}

/// The partition librdkafka's default partitioner (`consistent_random`: CRC-32 of the key) puts
/// `key` in — where KLG's mirror publishes an aggregate's events.
pub fn partition_of(key: &str, partitions: u32) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in key.bytes() {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc % partitions
}

/// A new aggregate id whose events the mirror publishes to `partition` (of `partitions`).
pub fn id_in_partition(partition: u32, partitions: u32) -> Uuid {
    loop {
        let id = Uuid::new_v4();
        if partition_of(&id.to_string(), partitions) == partition {
            return id;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A standalone Flink session cluster, and the production submission against it.

/// A free loopback port (free when asked; another process may take it before it is used).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port()
}

/// A Flink session cluster from the cached Flink 2.0 jars: a JobManager
/// (`StandaloneSessionClusterEntrypoint`) and a TaskManager (`TaskManagerRunner`), each its own
/// JVM with the classpath `$KLG_FLINK_HOME/lib/*`, on loopback, REST on a free port, config and
/// logs in a temporary directory. Both processes are killed when it is dropped (and, should the
/// test process die without dropping it, by a watchdog within a second).
pub struct SessionCluster {
    pub rest_port: u16,
    pub dir: PathBuf,
    processes: Vec<Child>,
}

impl SessionCluster {
    /// Starts both processes with `env` (e.g. `TZ`) and `slots` task slots; see [`ready`](Self::ready).
    pub fn start(slots: u32, env: &[(&str, String)]) -> Self {
        let home = flink_home();
        let dir = std::env::temp_dir().join(format!("klg-flink-cluster-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let rest_port = free_port();
        // Flink 2.0 reads `config.yaml` from the configuration directory. The memory of a
        // TaskManager started without Flink's scripts must be spelt out component by
        // component (the scripts derive these from `taskmanager.memory.process.size`); the
        // JVM flags below match them.
        let config = format!(
            "jobmanager.rpc.address: 127.0.0.1\n\
             jobmanager.rpc.port: {rpc}\n\
             jobmanager.bind-host: 127.0.0.1\n\
             jobmanager.memory.process.size: 1024m\n\
             rest.address: 127.0.0.1\n\
             rest.bind-address: 127.0.0.1\n\
             rest.port: {rest_port}\n\
             taskmanager.host: 127.0.0.1\n\
             taskmanager.bind-host: 127.0.0.1\n\
             taskmanager.numberOfTaskSlots: {slots}\n\
             taskmanager.cpu.cores: {slots}\n\
             taskmanager.memory.framework.heap.size: 128m\n\
             taskmanager.memory.task.heap.size: 256m\n\
             taskmanager.memory.managed.size: 64m\n\
             taskmanager.memory.framework.off-heap.size: 128m\n\
             taskmanager.memory.task.off-heap.size: 0m\n\
             taskmanager.memory.network.min: 64m\n\
             taskmanager.memory.network.max: 64m\n\
             taskmanager.memory.jvm-metaspace.size: 256m\n\
             taskmanager.memory.jvm-overhead.min: 192m\n\
             taskmanager.memory.jvm-overhead.max: 192m\n\
             parallelism.default: 1\n",
            rpc = free_port(),
        );
        std::fs::write(dir.join("config.yaml"), config).unwrap();
        std::fs::write(
            dir.join("log4j2.properties"),
            "rootLogger.level = INFO\n\
             rootLogger.appenderRef.file.ref = file\n\
             appender.file.type = File\n\
             appender.file.name = file\n\
             appender.file.fileName = ${sys:log.file}\n\
             appender.file.layout.type = PatternLayout\n\
             appender.file.layout.pattern = %d{HH:mm:ss,SSS} %-5p %c{1} - %m%n\n",
        )
        .unwrap();
        let jvm = |name: &str, heap: &str, direct: &str, main: &str| {
            let mut args: Vec<String> = vec![
                format!("-Xmx{heap}"),
                format!("-Xms{heap}"),
                format!("-XX:MaxDirectMemorySize={direct}"),
                "-XX:MaxMetaspaceSize=256m".into(),
                "--add-opens=java.base/java.util=ALL-UNNAMED".into(),
                "--add-opens=java.base/java.lang=ALL-UNNAMED".into(),
                format!("-Dlog.file={}", dir.join(format!("{name}.log")).display()),
                format!("-Dlog4j.configurationFile={}", dir.join("log4j2.properties").display()),
                "-cp".into(),
                format!("{}/lib/*", home.display()),
                main.into(),
            ];
            args.extend(["--configDir".into(), dir.display().to_string()]);
            let out = std::fs::File::create(dir.join(format!("{name}.out"))).unwrap();
            watched(&args, env, out)
        };
        let jobmanager = jvm(
            "jobmanager",
            "448m",
            "128m",
            "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint",
        );
        let taskmanager =
            jvm("taskmanager", "384m", "192m", "org.apache.flink.runtime.taskexecutor.TaskManagerRunner");
        Self { rest_port, dir, processes: vec![jobmanager, taskmanager] }
    }

    pub fn rest_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.rest_port)
    }

    /// GET on the cluster's REST API.
    pub async fn rest(&self, path: &str) -> Value {
        let client = awc::Client::builder().timeout(Duration::from_secs(10)).finish();
        let mut response =
            client.get(format!("{}{path}", self.rest_url())).send().await.expect("Flink REST answers");
        let body = response.body().limit(16 * 1024 * 1024).await.expect("Flink REST body");
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))
    }

    /// Waits until the REST API answers and the TaskManager has registered its slots.
    pub async fn ready(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            for process in &mut self.processes {
                if let Ok(Some(status)) = process.try_wait() {
                    panic!("a Flink process exited with {status}:\n{}", self.logs());
                }
            }
            let client = awc::Client::builder().timeout(Duration::from_secs(2)).finish();
            if let Ok(mut response) = client.get(format!("{}/overview", self.rest_url())).send().await {
                let overview: Value = response.json().await.unwrap_or_default();
                if overview["slots-total"].as_u64().unwrap_or(0) > 0 {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "the Flink cluster did not come up:\n{}", self.logs());
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The jobs on the cluster: name → (id, state), the newest job of each name.
    pub async fn jobs(&self) -> BTreeMap<String, (String, String)> {
        let overview = self.rest("/jobs/overview").await;
        let mut jobs: Vec<&Value> =
            overview["jobs"].as_array().map(|j| j.iter().collect()).unwrap_or_default();
        jobs.sort_by_key(|j| j["start-time"].as_i64());
        jobs.into_iter()
            .map(|j| {
                let text = |k: &str| j[k].as_str().unwrap_or_default().to_owned();
                (text("name"), (text("jid"), text("state")))
            })
            .collect()
    }

    /// The last lines of every log of the cluster, for failure messages.
    pub fn logs(&self) -> String {
        let mut logs = String::new();
        for name in ["jobmanager.out", "jobmanager.log", "taskmanager.out", "taskmanager.log"] {
            let text = std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(40)..].join("\n");
            logs.push_str(&format!("--- {name} (last 40 lines)\n{tail}\n"));
        }
        logs
    }
}

impl Drop for SessionCluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("Flink session cluster in {}:\n{}", self.dir.display(), self.logs());
        }
        for process in &mut self.processes {
            kill_group(process);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Spawns `java args…` with `env` in its own process group, under a watchdog shell that kills
/// it once this test process is gone; stdout and stderr go to `out`. [`kill_group`] ends both.
fn watched(args: &[String], env: &[(&str, String)], out: std::fs::File) -> Child {
    use std::os::unix::process::CommandExt;
    let script = format!(
        "\"$@\" & child=$!; while kill -0 {} 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 1; done; kill -9 $child 2>/dev/null",
        std::process::id()
    );
    Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg("flink-watchdog")
        .arg("java")
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("java starts")
}

/// SIGKILL to the process group `child` leads (see [`watched`]).
fn kill_group(child: &mut Child) {
    let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).status();
    let _ = child.wait();
}

/// Runs flink/submit.sh — the production submission, as the compose one-shot `flink-jobs` runs
/// it — with `env` (FLINK_JOBMANAGER_HOST, FLINK_JOBMANAGER_PORT, KAFKA_BROKERS, …), Flink's
/// jars and the runner from `$KLG_FLINK_HOME`; killed after `timeout`.
pub fn submit(env: &[(&str, String)], timeout: Duration) -> Output {
    let home = flink_home();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../flink/submit.sh");
    // Output into files, not pipes: nothing blocks on a full pipe while we wait.
    let out = std::env::temp_dir().join(format!("klg-flink-submit-{}", Uuid::new_v4().simple()));
    let (stdout, stderr) = (out.with_extension("out"), out.with_extension("err"));
    let mut child = Command::new("bash")
        .arg(script)
        .env("FLINK_HOME", &home)
        .env("KLG_RUNNER_CLASSES", runner_classes())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .expect("submit.sh starts");
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("submit.sh") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break child.wait().expect("submit.sh");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let read = |path: &Path| {
        let text = std::fs::read(path).unwrap_or_default();
        let _ = std::fs::remove_file(path);
        text
    };
    Output { status, stdout: read(&stdout), stderr: read(&stderr) }
}

/// Creates `topics` with `partitions` partitions (as the compose one-shot `redpanda-topics`
/// does for the result topics).
pub async fn create_topics(brokers: &str, topics: &[&str], partitions: i32) {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    let admin: AdminClient<DefaultClientContext> =
        rdkafka::ClientConfig::new().set("bootstrap.servers", brokers).create().expect("admin client");
    let new: Vec<NewTopic> =
        topics.iter().map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(1))).collect();
    for result in admin.create_topics(&new, &AdminOptions::new()).await.expect("create topics") {
        result.expect("topic created");
    }
}

/// The rows upsert-Kafka sinks wrote to some topics, read from the beginning and kept up to
/// date: per topic and key the latest value (a tombstone deletes). Read with a deadline, not to
/// the end offsets (tansu's are wrong).
pub struct UpsertTopics {
    consumer: rdkafka::consumer::StreamConsumer,
    rows: BTreeMap<(String, String), Value>,
}

impl UpsertTopics {
    pub fn subscribe(brokers: &str, topics: &[&str]) -> Self {
        Self { consumer: crate::broker::consumer(brokers, topics), rows: BTreeMap::new() }
    }

    /// Reads what arrives within `wait`.
    pub async fn poll(&mut self, wait: Duration) {
        use rdkafka::Message;
        let until = tokio::time::Instant::now() + wait;
        while let Ok(message) = tokio::time::timeout_at(until, self.consumer.recv()).await {
            let message = message.expect("message");
            let key = (
                message.topic().to_owned(),
                String::from_utf8_lossy(message.key().unwrap_or_default()).into(),
            );
            match message.payload() {
                Some(payload) => {
                    self.rows.insert(key, serde_json::from_slice(payload).expect("a JSON row"));
                }
                None => {
                    self.rows.remove(&key);
                }
            }
        }
    }

    /// The current rows of `topic`.
    pub fn rows(&self, topic: &str) -> Vec<Value> {
        self.rows.iter().filter(|((t, _), _)| t == topic).map(|(_, row)| row.clone()).collect()
    }
}
