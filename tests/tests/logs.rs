//! One command can be followed through the logs of a real `klg serve` (JSON lines): the request's
//! span carries its request and correlation ids and the actor into the command's log line, and
//! every subscriber's batch line names the correlation ids of the events it handled.

use std::time::{Duration, Instant};

use klg_tests::process::KlgProcess;
use klg_tests::{aircraft_body, fresh_database_url, read, DropDatabase};
use serde_json::Value;

fn entries(server: &KlgProcess) -> Vec<Value> {
    server.logs().iter().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

#[actix_rt::test]
async fn a_command_is_followed_by_its_ids_from_the_request_into_every_subscriber() {
    let (url, name) = fresh_database_url();
    let _database = DropDatabase(name);
    let blobs = std::env::temp_dir().join(format!("klg-logs-{}", uuid::Uuid::new_v4().simple()));
    let server = KlgProcess::serve(&url, &blobs);
    let correlation = format!("corr-{}", uuid::Uuid::new_v4().simple());
    let reply = read(
        klg_tests::admin_client()
            .post(server.url("/api/v1/aircraft"))
            .insert_header(("X-Correlation-Id", correlation.as_str()))
            .send_json(&aircraft_body("RA-89701"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
    let request_id = reply.header("x-request-id").unwrap().to_owned();

    let deadline = Instant::now() + Duration::from_secs(15);
    let (applied, batch) = loop {
        let logs = entries(&server);
        let applied = logs.iter().find(|e| e["fields"]["message"] == "command applied").cloned();
        let batch = logs
            .iter()
            .find(|e| {
                e["fields"]["message"] == "batch handled"
                    && e["fields"]["correlation_ids"].as_str().is_some_and(|c| c.contains(&correlation))
            })
            .cloned();
        if let (Some(applied), Some(batch)) = (applied, batch) {
            break (applied, batch);
        }
        assert!(Instant::now() < deadline, "missing log lines:\n{}", server.logs().join("\n"));
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let spans = applied["spans"].as_array().expect("span list");
    let request = spans.iter().find(|s| s["name"] == "request").expect("request span");
    assert_eq!(request["request_id"], request_id.as_str());
    assert_eq!(request["correlation_id"], correlation.as_str());
    assert_eq!(request["actor"], "bootstrap-admin");
    let command = spans.iter().find(|s| s["name"] == "command").expect("command span");
    assert_eq!(command["command"], "RegisterAircraft");
    assert_eq!(command["aggregate_id"], reply.body["id"]);
    assert_eq!(applied["fields"]["position"], reply.body["position"]);
    assert_eq!(batch["span"]["subscription"], "projections", "{batch}");
}
