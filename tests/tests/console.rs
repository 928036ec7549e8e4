//! The web console: its files are served publicly by `klg serve` with a strict
//! Content-Security-Policy and revalidation by ETag; `GET /api/v1/me` names the calling token;
//! and the whole console is driven in Debian's headless chromium (tests/browser/console.mjs,
//! playwright-core) against the app started here in-process on port 0 with a fresh database.
//! Screenshots of every page at 1280×800 and 390×844 go to `target/console-screenshots/`
//! (`KLG_CONSOLE_SCREENSHOTS` elsewhere).

use std::path::{Path, PathBuf};
use std::process::Command;

use awc::http::StatusCode;
use klg_tests::{client_with_token, read, spawn_app, TestApp, ADMIN_TOKEN};
use serde_json::json;

/// Issues a token with `role` through the admin API and returns its secret.
async fn token(app: &TestApp, name: &str, role: &str) -> String {
    let reply = app.post_json("/api/v1/admin/tokens", &json!({"name": name, "role": role})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body["token"].as_str().expect("token").to_owned()
}

/// A GET without any token.
async fn anonymous(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> klg_tests::Reply {
    let mut request = awc::Client::default().get(app.url(path));
    for (name, value) in headers {
        request = request.insert_header((*name, *value));
    }
    read(request.send().await.expect("request sent")).await
}

#[actix_rt::test]
async fn the_console_is_served_without_a_token_with_a_strict_policy_and_etags() {
    let app = spawn_app().await;
    let page = anonymous(&app, "/", &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
    let html = page.body.as_str().expect("HTML text");
    assert!(html.contains("<script type=\"module\" src=\"/console/app.js\"></script>"), "{html}");
    let csp = page.header("content-security-policy").expect("a CSP");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(page.header("cache-control"), Some("no-cache"));

    let script = anonymous(&app, "/console/app.js", &[]).await;
    assert_eq!(script.status, StatusCode::OK);
    assert_eq!(script.header("content-type"), Some("text/javascript; charset=utf-8"));
    let tag = script.header("etag").expect("an ETag").to_owned();
    assert!(tag.starts_with("W/\"") && tag.len() == 68, "the SHA-256 as a (weak: gzip) tag: {tag}");
    let again = anonymous(&app, "/console/app.js", &[("if-none-match", &tag)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_eq!(again.body, serde_json::Value::Null);
    assert_eq!(
        anonymous(&app, "/console/style.css", &[]).await.header("content-type"),
        Some("text/css; charset=utf-8")
    );
    assert_eq!(anonymous(&app, "/console/icon.svg", &[]).await.header("content-type"), Some("image/svg+xml"));

    // Only the console's own files; the page has one address.
    anonymous(&app, "/console/nothing.js", &[]).await.assert_problem(404);
    anonymous(&app, "/console/index.html", &[]).await.assert_problem(404);
    anonymous(&app, "/console/..%2Fsrc%2Fmain.rs", &[]).await.assert_problem(404);
    // The API still needs a token.
    anonymous(&app, "/api/v1/aircraft", &[]).await.assert_problem(401);
}

#[actix_rt::test]
async fn me_names_the_calling_token_for_every_role_and_refuses_no_token() {
    let app = spawn_app().await;
    for role in ["viewer", "engineer", "auditor", "integration", "admin"] {
        let secret = token(&app, &format!("me-{role}"), role).await;
        let reply =
            read(client_with_token(&secret).get(app.url("/api/v1/me")).send().await.expect("sent")).await;
        assert_eq!(reply.status, StatusCode::OK, "{role}: {}", reply.body);
        assert_eq!(reply.body["name"], format!("me-{role}"));
        assert_eq!(reply.body["role"], role);
        assert!(reply.body["token_id"].is_string(), "{}", reply.body);
        assert_eq!(reply.header("cache-control"), Some("no-store"));
    }
    let admin = app.get("/api/v1/me").await;
    assert_eq!(admin.body["role"], "admin", "{}", admin.body);
    anonymous(&app, "/api/v1/me", &[]).await.assert_problem(401);
}

/// A small fleet beside the one the browser registers, so that the pages (and screenshots) show
/// each status, an expired and a valid certificate, flights on several days and a document.
async fn seed(app: &TestApp) {
    let today = chrono::Utc::now().date_naive();
    let fleet = [
        (
            "RA-89002",
            "SU95",
            "Sukhoi Superjet 100-95B",
            "Rossiya",
            Some(("2019-03-01", "2024-03-01")),
            Some("grounded"),
        ),
        (
            "RA-73005",
            "A320",
            "Airbus A320-214",
            "S7 Airlines",
            Some(("2024-06-01", "2030-05-31")),
            Some("in_maintenance"),
        ),
        ("VP-BKR", "B738", "Boeing 737-800", "Utair", Some(("2023-01-15", "2029-01-14")), None),
        ("RA-64021", "T204", "Tupolev Tu-204-100", "Red Wings", None, Some("stored")),
    ];
    for (i, (registration, aircraft_type, model, operator, certificate, status)) in
        fleet.into_iter().enumerate()
    {
        let body = json!({
            "registration_number": registration, "aircraft_type": aircraft_type, "model": model,
            "serial_number": format!("MSN-{}", 1000 + i), "operator": operator, "year_of_manufacture": 2012 + i,
        });
        let reply = app.post_json("/api/v1/aircraft", &body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        let id = reply.body["id"].as_str().expect("id").to_owned();
        let command = |path: &str, body: serde_json::Value| {
            let path = format!("/api/v1/aircraft/{id}/{path}");
            async move {
                let reply = app.post_json(&path, &body).await;
                assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
            }
        };
        if let Some((issued_on, valid_until)) = certificate {
            let number = format!("CA-{}", 100 + i);
            command(
                "certificates",
                json!({"number": number, "issued_on": issued_on, "valid_until": valid_until}),
            )
            .await;
        }
        // Flights need a certificate valid on their day.
        let flies = certificate.is_some_and(|(_, valid_until)| valid_until > "2029");
        for day in (1..=(i as u64 + 3)).filter(|_| flies) {
            let flight_date = (today - chrono::Days::new(day)).to_string();
            let block_hours = 1.5 + (day as f64) * 0.75;
            command(
                "flights",
                json!({"flight_date": flight_date, "block_hours": block_hours, "cycles": 1 + day % 2}),
            )
            .await;
        }
        if let Some(status) = status {
            command("status", json!({"status": status, "reason": "Scheduled check"})).await;
        }
    }
    let document = app
        .upload(&[klg_tests::Part::file("SB-32-0147.pdf", "application/pdf", b"%PDF-1.7 service bulletin")])
        .await;
    assert_eq!(document.status, StatusCode::CREATED, "{}", document.body);
    let id = document.body["id"].as_str().expect("id");
    let classified = app
        .post_json(&format!("/api/inbox/files/{id}/classify"), &json!({"document_type": "service_bulletin"}))
        .await;
    assert_eq!(classified.status, StatusCode::OK, "{}", classified.body);
}

/// The repository's root (the tests crate's parent).
fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("a parent folder").to_owned()
}

#[actix_rt::test]
async fn the_console_works_in_a_real_browser() {
    let browser_tests = repository().join("tests/browser");
    assert!(
        browser_tests.join("node_modules/playwright-core").is_dir(),
        "playwright-core is not installed in {}: run scripts/test-setup (scripts/test does)",
        browser_tests.display()
    );
    let chromium = std::env::var("KLG_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: run scripts/test-setup (scripts/test does)"
    );
    let screenshots = std::env::var_os("KLG_CONSOLE_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repository().join("target/console-screenshots"));

    let app = spawn_app().await;
    let viewer = token(&app, "console-viewer", "viewer").await;
    let engineer = token(&app, "console-engineer", "engineer").await;
    let auditor = token(&app, "console-auditor", "auditor").await;
    seed(&app).await;
    let mut node = Command::new("node");
    node.arg("console.mjs")
        .current_dir(&browser_tests)
        .env("KLG_URL", &app.address)
        .env("KLG_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("KLG_VIEWER_TOKEN", &viewer)
        .env("KLG_ENGINEER_TOKEN", &engineer)
        .env("KLG_AUDITOR_TOKEN", &auditor)
        .env("KLG_SCREENSHOTS", &screenshots)
        .env("KLG_CHROMIUM", &chromium);
    // The server runs on this test's runtime: wait for the browser off it.
    let output = tokio::task::spawn_blocking(move || node.output())
        .await
        .expect("the browser run was not cancelled")
        .expect("node runs (Debian's nodejs)");
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    println!("{stdout}");
    eprintln!("{stderr}");
    // Kept beside the screenshots, for a look after the run.
    let _ = std::fs::write(screenshots.join("browser-test.log"), format!("{stdout}\n{stderr}"));
    assert!(output.status.success(), "the browser test failed ({}): see its output above", output.status);
    for page in ["signin", "fleet", "aircraft", "inbox", "document", "audit", "stats"] {
        for size in ["1280x800", "390x844"] {
            let file = screenshots.join(format!("{page}-{size}.png"));
            assert!(file.is_file(), "no screenshot {}", file.display());
        }
    }
}
