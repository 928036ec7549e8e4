//! Test harness: the real `klg` server (its `Application`) on port 0, against a fresh
//! PostgreSQL database and blob directory per test, spoken to over real HTTP.

use std::path::PathBuf;

use awc::http::header::HeaderMap;
use awc::http::StatusCode;
use klg_api::{Application, Settings};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

/// Server and maintenance URL of the PostgreSQL that tests create databases on.
pub fn postgres_server_url() -> String {
    std::env::var("KLG_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

/// A fresh, uniquely named database URL (the database is created on first connect).
pub fn fresh_database_url() -> (String, String) {
    let name = format!("klg_test_{}", Uuid::new_v4().simple());
    (format!("{}/{name}", postgres_server_url()), name)
}

pub struct TestApp {
    pub address: String,
    pub pool: PgPool,
    pub blob_dir: PathBuf,
    pub client: awc::Client,
    database: DropDatabase,
    /// What must live as long as the app (a broker, a stand-in database).
    keep_alive: Vec<Box<dyn std::any::Any>>,
    /// In RisingWave read mode: the test broker and the stand-in database.
    pub broker: Option<String>,
    pub read_store_url: Option<String>,
    /// In RisingWave read mode: records every statement KLG sends to the read store.
    pub read_statements: Option<std::sync::Arc<risingwave_sql::StatementRecorder>>,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an RFC 9457 problem with this status, and returns its body.
    pub fn assert_problem(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        assert_eq!(self.header("content-type"), Some("application/problem+json"), "{}", self.body);
        assert_eq!(self.body["status"], status);
        assert!(
            self.body["type"].as_str().is_some_and(|t| t.starts_with("urn:klg:problem:")),
            "{}",
            self.body
        );
        assert!(self.body["title"].is_string() && self.body["detail"].is_string(), "{}", self.body);
        &self.body
    }

    /// The fields named by a 422 problem.
    pub fn problem_fields(&self) -> Vec<String> {
        self.assert_problem(422);
        self.body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// A tool `scripts/test-setup` installs: `$env_var`, or its copy under `~/.cache/klg/tools`.
pub fn installed_tool(env_var: &str, under_tools: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(env_var) {
        return path.into();
    }
    let home = std::env::var_os("HOME").expect("HOME");
    let binary = PathBuf::from(home).join(".cache/klg/tools").join(under_tools);
    assert!(binary.exists(), "{} is missing: run scripts/test-setup (scripts/test does)", binary.display());
    binary
}

/// The admin token every test server is bootstrapped with (`KLG_BOOTSTRAP_TOKEN`; each test has
/// a fresh database, so it is the first and only token until a test creates others).
pub const ADMIN_TOKEN: &str = "klg_testadmin_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";

/// An HTTP client that sends `token` with every request (60 s timeout).
pub fn client_with_token(token: &str) -> awc::Client {
    awc::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .add_default_header(("authorization", format!("Bearer {token}")))
        .finish()
}

/// An HTTP client acting as the bootstrap admin.
pub fn admin_client() -> awc::Client {
    client_with_token(ADMIN_TOKEN)
}

/// Starts the server with default settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the server after `configure` adjusted its settings.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    if std::env::var_os("KLG_TEST_LOG").is_some() {
        klg_api::telemetry::init(false);
    }
    let (url, database) = fresh_database_url();
    let blob_dir = std::env::temp_dir().join(format!("klg-test-blobs-{}", Uuid::new_v4().simple()));
    let mut settings = Settings::for_database(url, &blob_dir);
    settings.bootstrap_token = Some(ADMIN_TOKEN.to_owned());
    configure(&mut settings);
    let app = Application::build(settings).await.expect("the application starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    let pool = app.pool().clone();
    actix_rt::spawn(app.run_until_stopped());
    let client = admin_client();
    TestApp {
        address,
        pool,
        blob_dir,
        client,
        database: DropDatabase(database),
        keep_alive: vec![],
        broker: None,
        read_store_url: None,
        read_statements: None,
    }
}

/// Starts the server in RisingWave read mode against the PostgreSQL stand-in: a real broker,
/// the mirror, a stand-in database with the RisingWave objects applied by the code under test,
/// and an ingester that loads every mirrored envelope into the stand-in's event tables — the
/// part RisingWave's Kafka connector plays in production.
pub async fn spawn_app_reading_risingwave() -> TestApp {
    spawn_app_reading_risingwave_with(|_| {}).await
}

/// [`spawn_app_reading_risingwave`] after `configure` adjusted the settings.
pub async fn spawn_app_reading_risingwave_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let broker = broker::Broker::start();
    let (standin_url, standin_name) = fresh_database_url();
    let standin = klg_commands::db::connect(&standin_url, 4).await.expect("stand-in database");
    klg_projections::risingwave::apply(&standin, &broker.address(), false).await.expect("RisingWave objects");
    let brokers = broker.address();
    let recorder = std::sync::Arc::new(
        risingwave_sql::StatementRecorder::start(
            standin_url.split('@').nth(1).unwrap().split('/').next().unwrap().to_owned(),
        )
        .await,
    );
    let url = recorder.url_for(&standin_url);
    let mut app = spawn_app_with(move |s| {
        s.mirror.brokers = Some(brokers);
        s.risingwave_url = Some(url);
        configure(s);
    })
    .await;
    app.broker = Some(broker.address());
    app.read_store_url = Some(standin_url);
    app.read_statements = Some(recorder);
    let ingester = actix_rt::spawn(broker::ingest(broker.address(), standin));
    app.keep_alive.push(Box::new(AbortOnDrop(ingester)));
    app.keep_alive.push(Box::new(DropDatabase(standin_name)));
    app.keep_alive.push(Box::new(broker));
    app
}

struct AbortOnDrop(actix_rt::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl TestApp {
    /// In RisingWave read mode: runs every statement KLG sent to the read store through
    /// RisingWave's own parser and the binder-trap check (see [`risingwave_sql`]).
    pub fn assert_risingwave_accepts_what_it_was_sent(&self) {
        let recorder = self.read_statements.as_ref().expect("an app in RisingWave read mode");
        risingwave_sql::assert_risingwave_accepts(&recorder.statements());
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Sends `body` as JSON with extra headers.
    pub async fn send_json(&self, method: &str, path: &str, body: &Value, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.client.request(method.parse().unwrap(), self.url(path));
        for (name, value) in headers {
            request = request.insert_header((*name, *value));
        }
        read(request.send_json(body).await.expect("request sent")).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Reply {
        self.send_json("POST", path, body, &[]).await
    }

    /// Sends raw bytes with a content type.
    pub async fn send_raw(&self, method: &str, path: &str, content_type: &str, body: Vec<u8>) -> Reply {
        let request = self
            .client
            .request(method.parse().unwrap(), self.url(path))
            .insert_header(("content-type", content_type));
        read(request.send_body(body).await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        read(self.client.get(self.url(path)).send().await.expect("request sent")).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        read(self.client.delete(self.url(path)).send().await.expect("request sent")).await
    }

    /// Registers an aircraft and returns its id.
    pub async fn register_aircraft(&self, registration: &str) -> String {
        let reply = self.post_json("/api/v1/aircraft", &aircraft_body(registration)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.body["id"].as_str().unwrap().to_owned()
    }

    /// Registers an aircraft holding a certificate valid for all of 2020-2030.
    pub async fn certified_aircraft(&self, registration: &str) -> String {
        let id = self.register_aircraft(registration).await;
        let certificate =
            serde_json::json!({"number": "CA-1", "issued_on": "2020-01-01", "valid_until": "2030-12-31"});
        let reply = self.post_json(&format!("/api/v1/aircraft/{id}/certificates"), &certificate).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        id
    }

    /// `count` certified aircraft registered RA-`first`, RA-`first + 1`, … (five digits).
    pub async fn certified_fleet(&self, first: usize, count: usize) -> Vec<String> {
        let mut fleet = Vec::with_capacity(count);
        for i in first..first + count {
            fleet.push(self.certified_aircraft(&format!("RA-{i:05}")).await);
        }
        fleet
    }

    /// Runs `statements` in one transaction past the log's append-only guard, as a superuser
    /// could: tampering, or a DBA restoring a backup (the log is append-only to KLG, not to them).
    pub async fn tamper(&self, statements: &[&str]) {
        let mut tx = self.pool.begin().await.expect("transaction");
        let guard = |action| format!("ALTER TABLE events {action} TRIGGER events_append_only");
        sqlx::raw_sql(&guard("DISABLE")).execute(&mut *tx).await.expect("guard off");
        for statement in statements {
            sqlx::raw_sql(statement).execute(&mut *tx).await.expect("tampering statement");
        }
        sqlx::raw_sql(&guard("ENABLE")).execute(&mut *tx).await.expect("guard on");
        tx.commit().await.expect("tampering committed");
    }

    /// "Restores" the store to an earlier point for one aggregate, behind every cache's back: its
    /// events after `last_kept` are deleted.
    pub async fn restore_stream_to(&self, aggregate_id: &str, last_kept: i64) {
        let delete =
            format!("DELETE FROM events WHERE aggregate_id = '{aggregate_id}' AND sequence > {last_kept}");
        self.tamper(&[&delete]).await;
    }

    /// Stored events of one aggregate: (sequence, event_type, payload, metadata).
    pub async fn events_of(&self, aggregate_id: &str) -> Vec<(i64, String, Value, Value)> {
        sqlx::query_as::<_, (i64, String, sqlx::types::Json<Value>, sqlx::types::Json<Value>)>(
            "SELECT sequence, event_type, payload, metadata FROM events WHERE aggregate_id = $1 ORDER BY sequence",
        )
        .bind(aggregate_id)
        .fetch_all(&self.pool)
        .await
        .expect("events query")
        .into_iter()
        .map(|(s, t, p, m)| (s, t, p.0, m.0))
        .collect()
    }

    pub async fn event_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM events").fetch_one(&self.pool).await.expect("count")
    }

    /// Drops this test's database now (to simulate the database going away).
    pub async fn drop_database(&self) {
        drop_database(&self.database.0).await;
    }
}

pub fn aircraft_body(registration: &str) -> Value {
    serde_json::json!({
        "registration_number": registration,
        "aircraft_type": "SU95",
        "model": "Sukhoi Superjet 100-95B",
        "serial_number": "95123",
        "operator": "Aeroflot",
        "year_of_manufacture": 2015
    })
}

pub async fn read(
    mut response: awc::ClientResponse<
        impl futures_util::Stream<Item = Result<bytes::Bytes, awc::error::PayloadError>> + Unpin,
    >,
) -> Reply {
    let bytes = response.body().limit(16 * 1024 * 1024).await.expect("body read");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Reply { status: response.status(), headers: response.headers().clone(), body }
}

pub async fn drop_database(name: &str) {
    let admin = format!("{}/postgres", postgres_server_url());
    if let Ok(pool) = sqlx::PgPool::connect(&admin).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&pool).await;
        pool.close().await;
    }
}

impl Drop for TestApp {
    /// Removes the test's blobs; its database goes with `database`, so repeated runs leave the
    /// machine clean.
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.blob_dir);
    }
}

/// One part of a multipart/form-data body.
pub struct Part<'a> {
    pub name: &'a str,
    pub filename: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub data: &'a [u8],
}

impl<'a> Part<'a> {
    pub fn file(filename: &'a str, content_type: &'a str, data: &'a [u8]) -> Self {
        Self { name: "file", filename: Some(filename), content_type: Some(content_type), data }
    }

    pub fn text(name: &'a str, value: &'a str) -> Self {
        Self { name, filename: None, content_type: None, data: value.as_bytes() }
    }
}

pub const BOUNDARY: &str = "klg-test-boundary-7MA4YWxkTrZu0gW";

/// The content type of bodies built by [`multipart_head`] and friends.
pub fn multipart_content_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// The headers of one part, up to its data.
pub fn multipart_head(part: &Part) -> Vec<u8> {
    let mut head = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{}\"", part.name);
    if let Some(filename) = part.filename {
        // A quoted-string: backslashes and quotes are escaped.
        let quoted = filename.replace('\\', "\\\\").replace('"', "\\\"");
        head.push_str(&format!("; filename=\"{quoted}\""));
    }
    head.push_str("\r\n");
    if let Some(content_type) = part.content_type {
        head.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// The closing delimiter of a multipart body.
pub fn multipart_tail() -> Vec<u8> {
    format!("--{BOUNDARY}--\r\n").into_bytes()
}

/// A whole multipart/form-data body.
pub fn multipart(parts: &[Part]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend(multipart_head(part));
        body.extend_from_slice(part.data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend(multipart_tail());
    body
}

impl TestApp {
    /// Uploads a document and returns the reply.
    pub async fn upload(&self, parts: &[Part<'_>]) -> Reply {
        self.send_raw("POST", "/api/inbox/files", &multipart_content_type(), multipart(parts)).await
    }

    /// Uploads a small PDF and returns the document id.
    pub async fn upload_document(&self) -> String {
        let reply =
            self.upload(&[Part::file("AD-2024-05.pdf", "application/pdf", b"%PDF-1.7 directive")]).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.body["id"].as_str().unwrap().to_owned()
    }

    /// Files currently in the blob store's temporary area (should be none between requests).
    pub fn temporary_blobs(&self) -> usize {
        std::fs::read_dir(self.blob_dir.join("tmp")).map(|d| d.count()).unwrap_or(0)
    }
}

/// Lower-case hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

/// Runs each read scenario (an `async fn(&TestApp)` of the test file) against both read stores:
/// the embedded projections, and RisingWave's views on the stand-in — where everything the
/// scenario made KLG send to the read store then goes through RisingWave's parser and the
/// binder-trap check.
#[macro_export]
macro_rules! in_both_read_stores {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(#[actix_rt::test]
            async fn $name() {
                super::$name(&$crate::spawn_app().await).await
            })*
        }
        mod risingwave {
            $(#[actix_rt::test]
            async fn $name() {
                let app = $crate::spawn_app_reading_risingwave().await;
                super::$name(&app).await;
                app.assert_risingwave_accepts_what_it_was_sent();
            })*
        }
    };
}

pub mod broker;
pub mod flink;
pub mod mirror_bench;
pub mod process;
pub mod risingwave_sql;
pub mod s3;
pub mod scenario;

/// Appends `per_aircraft` copies of each aircraft's last event (a flight) to each of `fleet`, in
/// one statement, interleaved across the fleet as concurrent commands would store them; the
/// store's triggers stamp and chain every copy as they do any append. For benchmarks that need
/// a long log quickly.
pub async fn grow_fleet_history(pool: &PgPool, fleet: &[String], per_aircraft: i64) {
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         SELECT 'Aircraft', last.aggregate_id, last.sequence + g, last.event_type, last.event_version, \
                last.payload, last.metadata \
         FROM (SELECT DISTINCT ON (aggregate_id) aggregate_id, sequence, event_type, event_version, payload, \
                      metadata \
               FROM events WHERE aggregate_type = 'Aircraft' AND aggregate_id = ANY($1) \
               ORDER BY aggregate_id, sequence DESC) last, generate_series(1, $2) g \
         ORDER BY g, last.aggregate_id",
    )
    .bind(fleet)
    .bind(per_aircraft)
    .execute(pool)
    .await
    .expect("the fleet's history grows");
}

/// Waits until the projector has handled every stored event.
pub async fn wait_for_projections(pool: &PgPool) {
    wait_for_subscription(pool, klg_projections::PROJECTIONS).await
}

/// Waits until the named subscription has handled every stored event.
pub async fn wait_for_subscription(pool: &PgPool, name: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        let lag = klg_projections::subscription::lag(pool, name).await.expect("lag");
        if lag.as_ref().is_some_and(|l| l.lag_events == 0) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{name} did not catch up: {lag:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Every projection table as JSON, in key order (generated search columns left out).
pub async fn projection_snapshot(pool: &PgPool) -> Value {
    let mut snapshot = serde_json::Map::new();
    for (table, key) in [
        ("aircraft", "id"),
        ("aircraft_stats", "aircraft_id"),
        ("aircraft_directives", "aircraft_id, number"),
        ("inbox_files", "id"),
        ("tmc_requests", "id"),
    ] {
        let rows: Value = sqlx::query_scalar(&format!(
            "SELECT coalesce(jsonb_agg(to_jsonb(t) - 'search' ORDER BY {key}), '[]'::jsonb) FROM {table} t"
        ))
        .fetch_one(pool)
        .await
        .expect("snapshot");
        snapshot.insert(table.to_owned(), rows);
    }
    Value::Object(snapshot)
}

/// Drops the named test database when it goes out of scope.
pub struct DropDatabase(pub String);

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let name = self.0.clone();
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(drop_database(&name))
        })
        .join();
    }
}

/// Waits until every event stored so far is below the log horizon, i.e. readable by
/// subscriptions. Transactions of other tests (the cluster is shared) can hold the horizon
/// back for a moment; once passed, it never moves back.
pub async fn wait_until_readable(pool: &PgPool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let total: i64 =
            sqlx::query_scalar("SELECT count(*) FROM events").fetch_one(pool).await.expect("count");
        let readable =
            klg_projections::log::read_after(pool, Default::default(), i64::MAX).await.expect("read").len()
                as i64;
        if readable == total {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "the log horizon did not pass {total} events");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// A registration, a refused duplicate of it and a status change, then waits for the mirror: so
/// that every command and subscription metric has samples. Returns the aircraft's id.
pub async fn sample_commands(app: &TestApp, registration: &str) -> String {
    let id = app.register_aircraft(registration).await;
    app.post_json("/api/v1/aircraft", &aircraft_body(registration)).await.assert_problem(409);
    let status = app
        .post_json(
            &format!("/api/v1/aircraft/{id}/status"),
            &serde_json::json!({"status": "grounded", "reason": "check"}),
        )
        .await;
    assert_eq!(status.status.as_u16(), 200, "{}", status.body);
    wait_for_subscription(&app.pool, klg_mirror::MIRROR).await;
    id
}

/// Appends `count` events of an aggregate type no projection handles (`Other`, ten streams, each
/// gap-free) straight into the log: a long log, fast.
pub async fn append_other_events(pool: &PgPool, count: i64) {
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         SELECT 'Other', 'stream-' || (g % 10), (g - 1) / 10 + 1, 'Noted', '1.0', '{}', '{}' \
         FROM generate_series(1, $1) g",
    )
    .bind(count)
    .execute(pool)
    .await
    .expect("events appended");
}

/// A subscriber that records what it is handed — the global positions of each batch — taking
/// `delay` per batch (a slow writer: a long catch-up, time for other commits to land).
#[derive(Clone)]
pub struct RecordingSubscriber {
    batches: std::sync::Arc<std::sync::Mutex<Vec<Vec<i64>>>>,
    delay: std::time::Duration,
}

impl RecordingSubscriber {
    pub fn new(delay: std::time::Duration) -> Self {
        Self { batches: Default::default(), delay }
    }

    /// Batches handled so far.
    pub fn batches(&self) -> usize {
        self.batches.lock().unwrap().len()
    }

    /// Every position handed over so far, in the order handed over.
    pub fn positions(&self) -> Vec<i64> {
        self.batches.lock().unwrap().iter().flatten().copied().collect()
    }
}

#[async_trait::async_trait]
impl klg_projections::Subscriber for RecordingSubscriber {
    async fn apply(
        &self,
        _db: &mut sqlx::PgConnection,
        events: &[klg_projections::StoredEvent],
    ) -> Result<(), klg_projections::SubscriberError> {
        tokio::time::sleep(self.delay).await;
        self.batches.lock().unwrap().push(events.iter().map(|e| e.position.global_position).collect());
        Ok(())
    }
}

/// Asserts that each of `lines` is a whole line of `text` (a metrics scrape, a report).
pub fn assert_has_lines(text: &str, lines: &[&str]) {
    for line in lines {
        assert!(text.lines().any(|l| l == *line), "missing `{line}` in:\n{text}");
    }
}
