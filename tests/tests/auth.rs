//! Who may call what: bearer tokens, roles, the actor recorded on events, per-token idempotency,
//! token management over HTTP and the CLI, and no secret in any log line.

use std::process::{Command, Stdio};
use std::time::Duration;

use awc::http::StatusCode;
use klg_tests::process::{klg_binary, KlgProcess};
use klg_tests::{
    aircraft_body, client_with_token, fresh_database_url, read, spawn_app, DropDatabase, Reply, TestApp,
    ADMIN_TOKEN,
};
use serde_json::{json, Value};

/// Issues a token through the admin API; returns (id, token).
async fn issue(app: &TestApp, name: &str, role: &str) -> (String, String) {
    let reply = app.post_json("/api/v1/admin/tokens", &json!({ "name": name, "role": role })).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    (reply.body["id"].as_str().unwrap().to_owned(), reply.body["token"].as_str().unwrap().to_owned())
}

async fn send(client: &awc::Client, method: &str, url: String, body: Option<&Value>) -> Reply {
    let request = client.request(method.parse().unwrap(), url);
    let response = match body {
        Some(body) => request.send_json(body).await,
        None => request.send().await,
    };
    read(response.unwrap()).await
}

fn anonymous() -> awc::Client {
    awc::Client::builder().timeout(Duration::from_secs(30)).finish()
}

fn flight() -> Value {
    json!({"flight_date": "2024-05-01", "block_hours": 1.5, "cycles": 1})
}

#[actix_rt::test]
async fn without_a_valid_token_every_api_call_is_401_and_nothing_is_stored() {
    let app = spawn_app().await;
    let (id, revoked) = issue(&app, "leaver", "engineer").await;
    assert_eq!(app.delete(&format!("/api/v1/admin/tokens/{id}")).await.status, StatusCode::OK);
    let cases: [(&str, Option<String>, &str); 5] = [
        ("missing", None, "no Authorization header"),
        ("malformed", Some("Bearer not-a-token".into()), "not a KLG token"),
        ("unknown", Some(format!("Bearer klg_nobody_{}", "x".repeat(43))), "unknown"),
        ("wrong scheme", Some(format!("Basic {ADMIN_TOKEN}")), "Bearer <token>"),
        ("revoked", Some(format!("Bearer {revoked}")), "revoked"),
    ];
    for (case, header, detail) in cases {
        let mut request = anonymous().post(app.url("/api/v1/aircraft"));
        if let Some(header) = &header {
            request = request.insert_header(("authorization", header.as_str()));
        }
        let reply = read(request.send_json(&aircraft_body("RA-89001")).await.unwrap()).await;
        reply.assert_problem(401);
        assert_eq!(reply.header("www-authenticate").map(|h| h.starts_with("Bearer")), Some(true), "{case}");
        assert!(reply.body["detail"].as_str().unwrap().contains(detail), "{case}: {}", reply.body);
    }
    for path in [
        "/api/v1/aircraft",
        "/api/inbox/files",
        "/api/v1/admin/tokens",
        "/metrics",
        "/api/v1/streaming/health",
    ] {
        let reply = send(&anonymous(), "GET", app.url(path), None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "GET {path}");
    }
    assert_eq!(app.event_count().await, 0);
}

#[actix_rt::test]
async fn an_expired_token_is_refused() {
    let app = spawn_app().await;
    let name = klg_domain::identity::TokenName::parse("short-lived").unwrap();
    let store = klg_identity::TokenStore::new(app.pool.clone());
    let (_, token) = store
        .create(&name, klg_domain::identity::Role::Viewer, Some(Duration::from_secs(60)), "test")
        .await
        .unwrap();
    let client = client_with_token(token.reveal());
    assert_eq!(send(&client, "GET", app.url("/api/v1/aircraft"), None).await.status, StatusCode::OK);
    sqlx::query("UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE name = 'short-lived'")
        .execute(&app.pool)
        .await
        .unwrap();
    // A fresh store has no cached verification: the expiry is read from the database.
    let fresh = klg_identity::TokenStore::new(app.pool.clone());
    assert_eq!(fresh.verify(token.reveal()).await.unwrap(), Err(klg_identity::Rejection::Expired));
}

#[actix_rt::test]
async fn roles_decide_what_a_token_may_do() {
    let app = spawn_app().await;
    let aircraft = app.certified_aircraft("RA-89002").await;
    klg_tests::wait_for_projections(&app.pool).await;
    let (_, viewer) = issue(&app, "planner.ivanova", "viewer").await;
    let (_, integration) = issue(&app, "mro-feed", "integration").await;
    let (_, auditor) = issue(&app, "auditor.caa", "auditor").await;
    let viewer = client_with_token(&viewer);
    let flights = app.url(&format!("/api/v1/aircraft/{aircraft}/flights"));

    let refused = send(&viewer, "POST", flights.clone(), Some(&flight())).await;
    refused.assert_problem(403);
    assert!(refused.body["detail"].as_str().unwrap().contains("engineer"), "{}", refused.body);
    assert_eq!(
        send(&viewer, "GET", app.url(&format!("/api/v1/aircraft/{aircraft}")), None).await.status,
        StatusCode::OK
    );
    send(&viewer, "GET", app.url("/api/v1/admin/tokens"), None).await.assert_problem(403);

    let integration = client_with_token(&integration);
    send(&integration, "GET", app.url("/api/v1/aircraft"), None).await.assert_problem(403);
    send(&integration, "POST", flights.clone(), Some(&flight())).await.assert_problem(403);
    let completed = json!({"specversion": "1.0", "id": "acars-1", "type": "flight.completed", "source": "acars",
        "data": {"aircraft_id": aircraft, "flight_date": "2024-05-01", "block_hours": 1.0, "cycles": 1}});
    let received = send(&integration, "POST", app.url("/api/v1/streaming/events"), Some(&completed)).await;
    assert_eq!(received.status, StatusCode::OK, "{}", received.body);
    let recorded = app.events_of(&aircraft).await.last().unwrap().3.clone();
    assert_eq!(recorded["actor"], "mro-feed", "integration events record the integration's token");

    let auditor = client_with_token(&auditor);
    assert_eq!(
        send(&auditor, "GET", app.url(&format!("/api/v1/aircraft/{aircraft}/history")), None).await.status,
        StatusCode::OK
    );
    send(&auditor, "POST", flights, Some(&flight())).await.assert_problem(403);

    // Public: probes, the API document, browser error reports.
    for path in ["/health/live", "/health/ready", "/api-docs/openapi.json"] {
        assert_eq!(send(&anonymous(), "GET", app.url(path), None).await.status, StatusCode::OK, "{path}");
    }
    let report =
        send(&anonymous(), "POST", app.url("/api/v1/log-error"), Some(&json!({"message": "boom"}))).await;
    assert_eq!(report.status, StatusCode::ACCEPTED, "{}", report.body);
}

#[actix_rt::test]
async fn metrics_are_public_only_when_configured() {
    let app = klg_tests::spawn_app_with(|s| s.metrics_public = true).await;
    assert_eq!(send(&anonymous(), "GET", app.url("/metrics"), None).await.status, StatusCode::OK);
}

#[actix_rt::test]
async fn an_engineers_command_records_the_tokens_name_and_its_keys_are_its_own() {
    let app = spawn_app().await;
    let aircraft = app.certified_aircraft("RA-89003").await;
    let (first_id, first) = issue(&app, "eng.petrov", "engineer").await;
    let (_, second) = issue(&app, "eng.sidorova", "engineer").await;
    let flights = app.url(&format!("/api/v1/aircraft/{aircraft}/flights"));
    let log_with_key = |token: String| {
        let flights = flights.clone();
        async move {
            let client = client_with_token(&token);
            read(
                client
                    .post(flights)
                    .insert_header(("Idempotency-Key", "1"))
                    .send_json(&flight())
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let a = log_with_key(first.clone()).await;
    let b = log_with_key(second).await;
    let a_again = log_with_key(first).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(b.status, StatusCode::OK, "{}", b.body);
    assert_ne!(a.body["position"], b.body["position"], "two tokens' key 1 are two commands");
    assert_eq!(a_again.header("idempotent-replayed"), Some("true"));
    assert_eq!(a_again.body["position"], a.body["position"]);

    let events = app.events_of(&aircraft).await;
    let flights: Vec<&Value> = events
        .iter()
        .filter(|(_, kind, _, _)| kind == "FlightLogged")
        .map(|(_, _, _, metadata)| metadata)
        .collect();
    assert_eq!(flights.len(), 2);
    assert_eq!(flights[0]["actor"], "eng.petrov");
    assert_eq!(flights[0]["actor_id"], first_id.as_str());
    assert_eq!(flights[1]["actor"], "eng.sidorova");
    klg_tests::wait_for_projections(&app.pool).await;
    let history = app.get(&format!("/api/v1/aircraft/{aircraft}/history")).await;
    let actors: Vec<&str> =
        history.body["items"].as_array().unwrap().iter().filter_map(|e| e["actor"].as_str()).collect();
    assert!(actors.contains(&"eng.petrov") && actors.contains(&"eng.sidorova"), "{actors:?}");
}

#[actix_rt::test]
async fn admins_issue_list_and_revoke_tokens_and_the_secret_is_shown_once() {
    let app = spawn_app().await;
    let (id, token) = issue(&app, "line.station.svo", "engineer").await;
    assert!(token.starts_with(&format!("klg_{id}_")));
    let listed = app.get("/api/v1/admin/tokens").await;
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "bootstrap admin and the new one");
    assert!(!listed.body.to_string().contains(&token[token.len() - 20..]), "no secret in a listing");
    assert_eq!(items[0]["name"], "line.station.svo");
    assert!(items[0]["created_by"].as_str().unwrap().contains("bootstrap-admin"));

    let taken =
        app.post_json("/api/v1/admin/tokens", &json!({"name": "line.station.svo", "role": "viewer"})).await;
    assert_eq!(taken.problem_fields(), ["name"]);
    let bad = app
        .post_json("/api/v1/admin/tokens", &json!({"name": "x y", "role": "root", "expires_in": "5s"}))
        .await;
    assert_eq!(bad.problem_fields(), ["name", "role", "expires_in"]);

    let client = client_with_token(&token);
    assert_eq!(send(&client, "GET", app.url("/api/v1/aircraft"), None).await.status, StatusCode::OK);
    let revoked = app.delete(&format!("/api/v1/admin/tokens/{id}")).await;
    assert_eq!(revoked.status, StatusCode::OK);
    assert!(revoked.body["revoked_at"].is_string());
    // Revoked in this instance: refused at once, even though it was just verified and cached.
    send(&client, "GET", app.url("/api/v1/aircraft"), None).await.assert_problem(401);
    app.delete("/api/v1/admin/tokens/no-such-token").await.assert_problem(404);
}

/// Runs `klg token …` against `url`; returns stdout.
fn klg_token(url: &str, args: &[&str]) -> String {
    let output = Command::new(klg_binary())
        .arg("token")
        .args(args)
        .env("DATABASE_URL", url)
        .stderr(Stdio::inherit())
        .output()
        .expect("klg token runs");
    assert!(output.status.success(), "klg token {args:?} failed");
    String::from_utf8(output.stdout).unwrap()
}

#[actix_rt::test]
async fn the_cli_issues_lists_and_revokes_tokens_and_no_secret_reaches_the_log() {
    let (url, name) = fresh_database_url();
    let _database = DropDatabase(name);
    let blobs = std::env::temp_dir().join(format!("klg-auth-{}", uuid::Uuid::new_v4().simple()));
    let server = KlgProcess::serve(&url, &blobs);
    let token =
        klg_token(&url, &["create", "--name", "eng.orlov", "--role", "engineer", "--expires-in", "90d"]);
    let token = token.trim().to_owned();
    assert!(token.starts_with("klg_"), "{token}");

    let engineer = client_with_token(&token);
    let registered = read(
        engineer.post(server.url("/api/v1/aircraft")).send_json(&aircraft_body("RA-89004")).await.unwrap(),
    )
    .await;
    assert_eq!(registered.status, StatusCode::CREATED, "{}", registered.body);
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let actor: String = sqlx::query_scalar("SELECT metadata::jsonb ->> 'actor' FROM events LIMIT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(actor, "eng.orlov");

    let listing = klg_token(&url, &["list"]);
    assert!(
        listing.contains("eng.orlov") && listing.contains("engineer") && listing.contains("bootstrap-admin"),
        "{listing}"
    );
    assert!(!listing.contains(&token[20..]), "a listing never shows a secret");
    klg_token(&url, &["revoke", "eng.orlov"]);
    // Another process revoked it: this instance refuses it once its cached verification expires.
    tokio::time::sleep(klg_identity::CACHE_TTL + Duration::from_millis(200)).await;
    let refused = read(engineer.get(server.url("/api/v1/aircraft")).send().await.unwrap()).await;
    refused.assert_problem(401);

    let log = server.logs().join("\n");
    for secret in [token.as_str(), ADMIN_TOKEN] {
        let (_, secret_part) = secret.strip_prefix("klg_").unwrap().split_once('_').unwrap();
        assert!(!log.contains(secret_part), "a token's secret is in the server's log");
    }
}

#[test]
fn the_first_start_prints_a_new_admin_token_once_on_standard_output() {
    let (url, name) = fresh_database_url();
    let _database = DropDatabase(name);
    let mut first = Command::new(klg_binary())
        .args(["serve"])
        .env("DATABASE_URL", &url)
        .env("KLG_BIND", "127.0.0.1:0")
        .env("KLG_BLOB_DIR", std::env::temp_dir().join("klg-auth-bootstrap"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(first.stdout.take().unwrap());
    let mut lines = vec![];
    for _ in 0..2 {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
        lines.push(line);
    }
    let _ = first.kill();
    let _ = first.wait();
    assert!(lines[0].contains("admin token") && lines[0].contains("shown once"), "{lines:?}");
    let token = lines[1].trim();
    assert!(token.starts_with("klg_") && token.len() > 50, "{token}");
    let listing = klg_token(&url, &["list"]);
    assert_eq!(listing.lines().filter(|l| l.contains("bootstrap-admin")).count(), 1, "{listing}");
}

#[actix_rt::test]
async fn the_document_declares_the_bearer_scheme_and_the_roles_of_every_operation() {
    let app = spawn_app().await;
    let doc = app.get("/api-docs/openapi.json").await.body;
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    let role_sets: Vec<Vec<String>> = [
        klg_domain::identity::Access::Read,
        klg_domain::identity::Access::Write,
        klg_domain::identity::Access::Audit,
        klg_domain::identity::Access::Integrate,
        klg_domain::identity::Access::Administer,
        klg_domain::identity::Access::Identify,
    ]
    .into_iter()
    .map(|a| a.roles().into_iter().map(|r| r.to_string()).collect())
    .collect();
    let public = [("get", "/health/live"), ("get", "/health/ready"), ("post", "/api/v1/log-error")];
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let security =
                operation["security"].as_array().unwrap_or_else(|| panic!("{method} {path} has no security"));
            if public.contains(&(method.as_str(), path.as_str())) {
                assert!(
                    security.iter().all(|s| s.as_object().is_some_and(|o| o.is_empty())),
                    "{method} {path} is public"
                );
                continue;
            }
            let roles: Vec<String> = security[0]["bearer"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap().to_owned())
                .collect();
            assert!(
                role_sets.contains(&roles),
                "{method} {path}: {roles:?} is not the role set of one kind of access"
            );
            assert!(
                operation["responses"]["401"].is_object() && operation["responses"]["403"].is_object(),
                "{method} {path}"
            );
        }
    }
}
