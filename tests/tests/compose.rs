//! docker-compose.yml cannot be run here (no Docker engine), so its structure is checked
//! against the code: every environment variable it gives KLG is one KLG reads (per `--help`),
//! the addresses point at services that exist on the ports they listen on, the seed's ports
//! are published, and the dependency graph can converge.

use std::collections::{BTreeMap, BTreeSet};

use klg_tests::process::klg_binary;
use serde_yaml::Value;

fn compose() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docker-compose.yml");
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Environment variables a `klg` subcommand reads, from its `--help` (`[env: NAME=…]`).
fn env_vars_of(args: &[&str]) -> BTreeSet<String> {
    let output = std::process::Command::new(klg_binary()).args(args).arg("--help").output().unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    help.split("[env: ").skip(1).map(|rest| rest.split('=').next().unwrap().to_owned()).collect()
}

fn environment(service: &Value) -> BTreeMap<String, String> {
    service["environment"]
        .as_mapping()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.as_str().unwrap().to_owned(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn published_ports(service: &Value) -> Vec<String> {
    service["ports"]
        .as_sequence()
        .map(|p| p.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

#[test]
fn the_compose_file_matches_the_codes_configuration() {
    let doc = compose();
    let services = doc["services"].as_mapping().unwrap();
    let names: BTreeSet<&str> = services.keys().map(|k| k.as_str().unwrap()).collect();
    for required in [
        "postgres",
        "redpanda",
        "redpanda-console",
        "risingwave",
        "flink-jobmanager",
        "flink-taskmanager",
        "klg-setup",
        "klg",
    ] {
        assert!(names.contains(required), "service {required} missing");
    }

    let serve_env = env_vars_of(&["serve"]);
    let klg = &doc["services"]["klg"];
    for (name, _) in environment(klg) {
        assert!(serve_env.contains(&name), "klg serve does not read {name}; it reads {serve_env:?}");
    }
    let setup_env: BTreeSet<String> =
        env_vars_of(&["migrate"]).union(&env_vars_of(&["risingwave", "apply"])).cloned().collect();
    for (name, _) in environment(&doc["services"]["klg-setup"]) {
        assert!(setup_env.contains(&name), "klg-setup's commands do not read {name}");
    }

    let env = environment(klg);
    assert!(env["DATABASE_URL"].contains("@postgres:5432/"), "{}", env["DATABASE_URL"]);
    assert_eq!(env["REDPANDA_BROKERS"], "redpanda:9092");
    assert!(env["RISINGWAVE_URL"].starts_with("postgresql://root:risingwave@risingwave:4566/"));
    let redpanda_args = serde_yaml::to_string(&doc["services"]["redpanda"]["command"]).unwrap();
    assert!(
        redpanda_args.contains("internal://redpanda:9092"),
        "redpanda must advertise redpanda:9092 inside compose"
    );
    assert!(published_ports(klg).contains(&"8080:8080".to_owned()));
    let redpanda_ports = published_ports(&doc["services"]["redpanda"]);
    for port in ["19092:19092", "18081:18081", "19644:9644"] {
        assert!(
            redpanda_ports.contains(&port.to_owned()),
            "seed port {port} not published: {redpanda_ports:?}"
        );
    }
    assert!(published_ports(&doc["services"]["risingwave"]).contains(&"4566:4566".to_owned()));
    assert!(published_ports(&doc["services"]["flink-jobmanager"]).contains(&"8081:8081".to_owned()));
    assert_eq!(env["FLINK_REST_URL"], "http://flink-jobmanager:8081");
    let jobs = serde_yaml::to_string(&doc["services"]["flink-jobs"]).unwrap();
    assert!(jobs.contains("./flink/sql:/sql") && jobs.contains("sql-client.sh -f"), "{jobs}");
    for file in [
        "sources/aircraft_events.kafka.sql",
        "sources/inbox_events.kafka.sql",
        "jobs/inbox_intake_hourly.sql",
    ] {
        assert!(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../flink/sql").join(file).exists(),
            "{file}"
        );
    }
    let setup_command = serde_yaml::to_string(&doc["services"]["klg-setup"]["command"]).unwrap();
    assert!(setup_command.contains("klg migrate") && setup_command.contains("klg risingwave apply"));
}

#[test]
fn every_dependency_can_be_satisfied() {
    let doc = compose();
    let services = doc["services"].as_mapping().unwrap();
    for (name, service) in services {
        let Some(depends) = service["depends_on"].as_mapping() else { continue };
        for (target, condition) in depends {
            let target_service = &doc["services"][target.as_str().unwrap()];
            assert!(target_service.is_mapping(), "{name:?} depends on unknown {target:?}");
            match condition["condition"].as_str().unwrap() {
                "service_healthy" => {
                    assert!(
                        target_service["healthcheck"].is_mapping(),
                        "{target:?} has no health check for {name:?}"
                    )
                }
                "service_completed_successfully" => {
                    assert!(
                        target_service["healthcheck"].is_null(),
                        "{target:?} is a one-shot, it needs no health check"
                    )
                }
                other => assert_eq!(other, "service_started"),
            }
        }
    }
}

#[test]
fn the_image_is_built_in_stages_and_runs_klg() {
    let dockerfile = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Dockerfile")).unwrap();
    assert!(dockerfile.matches("\nFROM ").count() + usize::from(dockerfile.starts_with("FROM ")) >= 2);
    assert!(dockerfile.contains("cargo build --release --locked --bin klg"));
    assert!(dockerfile.contains("ENTRYPOINT [\"klg\"]"));
}
