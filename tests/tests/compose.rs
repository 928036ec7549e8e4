//! docker-compose.yml cannot be run here (no Docker engine), so its structure is checked
//! against the code: every environment variable it gives KLG is one KLG reads (per `--help`),
//! the addresses point at services that exist on the ports they listen on, the seed's ports
//! are published, and the dependency graph can converge. A real Compose implementation
//! (`docker-compose config`) validates the file and `promtool` the Prometheus configuration;
//! the Grafana dashboard is checked against what KLG's `/metrics` really exposes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use klg_tests::process::klg_binary;
use serde_yaml::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn yaml(path: &str) -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(repo().join(path)).unwrap()).unwrap()
}

fn compose() -> Value {
    yaml("docker-compose.yml")
}

/// Environment variables a `klg` subcommand reads, from its `--help` (`[env: NAME=…]`).
fn env_vars_of(args: &[&str]) -> BTreeSet<String> {
    let output = std::process::Command::new(klg_binary()).args(args).arg("--help").output().unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    // `[env: NAME=value]`, or `[env: NAME]` for a secret whose value help never shows.
    help.split("[env: ").skip(1).map(|rest| rest.split(['=', ']']).next().unwrap().to_owned()).collect()
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
    assert!(jobs.contains("./flink:/opt/klg/flink") && jobs.contains("submit.sh"), "{jobs}");
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

/// A command-line tool scripts/test-setup installs; missing means the setup did not run, which
/// fails the test rather than skipping it.
fn run_tool(program: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(program).args(args).current_dir(repo()).output().unwrap_or_else(|e| {
        panic!("{program} cannot run ({e}); scripts/test-setup installs it (apt: docker-compose, prometheus)")
    })
}

fn assert_success(program: &str, output: &std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{program} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Short-syntax volume mounts of a service, as (source, target).
fn mounts(service: &Value) -> Vec<(String, String)> {
    service["volumes"]
        .as_sequence()
        .map(|v| {
            v.iter()
                .map(|m| {
                    let mut parts = m.as_str().unwrap().split(':');
                    (parts.next().unwrap().to_owned(), parts.next().unwrap_or_default().to_owned())
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Where `source` (a path relative to the compose file) is mounted in `service`.
fn mounted_at(service: &Value, source: &str) -> String {
    let mounts = mounts(service);
    mounts
        .iter()
        .find(|(s, _)| s == source)
        .map(|(_, t)| t.clone())
        .unwrap_or_else(|| panic!("{source} is not mounted: {mounts:?}"))
}

#[test]
fn risingwave_is_v3_0_3_in_single_node_mode_with_its_metrics_reachable() {
    let doc = compose();
    let risingwave = &doc["services"]["risingwave"];
    assert_eq!(risingwave["image"].as_str(), Some("risingwavelabs/risingwave:v3.0.3"));
    let command: Vec<&str> =
        risingwave["command"].as_sequence().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert_eq!(command[0], "single_node", "{command:?}");
    // single_node's metrics listener defaults to loopback (127.0.0.1:1222 and others); only an
    // explicit address on all interfaces is scrapeable from the prometheus container.
    assert!(command.contains(&"--prometheus-listener-addr=0.0.0.0:1250"), "{command:?}");
    assert!(command.contains(&"--prometheus-endpoint=http://prometheus:9090"), "{command:?}");
    let ports = published_ports(risingwave);
    assert!(ports.contains(&"5691:5691".to_owned()), "the seed's 5691 (RisingWave's dashboard): {ports:?}");
}

#[test]
fn prometheus_and_grafana_are_wired_to_klg_and_risingwave() {
    let doc = compose();
    let prometheus = &doc["services"]["prometheus"];
    let grafana = &doc["services"]["grafana"];
    assert!(prometheus.is_mapping() && grafana.is_mapping(), "prometheus and grafana services");
    assert!(published_ports(grafana).contains(&"5692:3000".to_owned()), "Grafana on the seed's 5692");
    assert!(published_ports(prometheus).contains(&"9090:9090".to_owned()));
    let host_ports: Vec<String> = doc["services"]
        .as_mapping()
        .unwrap()
        .values()
        .flat_map(published_ports)
        .map(|p| p.split(':').next().unwrap().to_owned())
        .collect();
    let unique: BTreeSet<&String> = host_ports.iter().collect();
    assert_eq!(unique.len(), host_ports.len(), "a host port is published twice: {host_ports:?}");

    // Prometheus: its configuration file is mounted where the image reads it, and scrapes KLG's
    // /metrics and RisingWave's metrics listener.
    assert_eq!(
        mounted_at(prometheus, "./docker/prometheus/prometheus.yml"),
        "/etc/prometheus/prometheus.yml"
    );
    let config = yaml("docker/prometheus/prometheus.yml");
    let scrape = |job: &str| {
        config["scrape_configs"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|c| c["job_name"].as_str() == Some(job))
            .unwrap_or_else(|| panic!("no scrape job {job}"))
            .clone()
    };
    let targets = |job: &Value| -> Vec<String> {
        job["static_configs"][0]["targets"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_owned())
            .collect()
    };
    let klg = scrape("klg");
    assert_eq!(targets(&klg), ["klg:8080"]);
    assert_eq!(klg["metrics_path"].as_str().unwrap_or("/metrics"), "/metrics");
    assert!(published_ports(&doc["services"]["klg"]).contains(&"8080:8080".to_owned()));
    assert_eq!(
        targets(&scrape("risingwave")),
        ["risingwave:1250"],
        "the listener docker-compose.yml gives RisingWave"
    );

    // Grafana: provisioning (datasource + dashboard provider) and the dashboards are mounted, the
    // datasource points at the prometheus service, the provider at the mounted dashboards.
    assert_eq!(mounted_at(grafana, "./docker/grafana/provisioning"), "/etc/grafana/provisioning");
    for file in ["datasources/prometheus.yml", "dashboards/klg.yml"] {
        assert!(repo().join("docker/grafana/provisioning").join(file).exists(), "{file}");
    }
    let datasource = &yaml("docker/grafana/provisioning/datasources/prometheus.yml")["datasources"][0];
    assert_eq!(datasource["type"].as_str(), Some("prometheus"));
    assert_eq!(datasource["url"].as_str(), Some("http://prometheus:9090"));
    let provider = &yaml("docker/grafana/provisioning/dashboards/klg.yml")["providers"][0];
    let dashboards_at = mounted_at(grafana, "./docker/grafana/dashboards");
    assert_eq!(provider["options"]["path"].as_str(), Some(dashboards_at.as_str()));
    assert!(repo().join("docker/grafana/dashboards/klg.json").exists());
    let home = environment(grafana)["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"].clone();
    assert_eq!(home, format!("{dashboards_at}/klg.json"));
}

#[test]
fn promtool_accepts_the_prometheus_configuration() {
    let output = run_tool("promtool", &["check", "config", "docker/prometheus/prometheus.yml"]);
    let stdout = assert_success("promtool", &output);
    assert!(stdout.contains("SUCCESS"), "{stdout}");
}

/// The metric names in a PromQL expression: identifiers that are not functions, aggregations,
/// keywords, label names (inside `{…}` or a `by (…)`-style list), strings, numbers or durations.
fn metric_names(expr: &str) -> BTreeSet<String> {
    const AGGREGATIONS: [&str; 12] = [
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
    ];
    const LABEL_LISTS: [&str; 6] = ["by", "without", "on", "ignoring", "group_left", "group_right"];
    const KEYWORDS: [&str; 7] = ["bool", "and", "or", "unless", "offset", "inf", "nan"];
    let chars: Vec<char> = expr.chars().collect();
    // The index just past the `close` matching position `i` (quoted strings skipped).
    let skip = |mut i: usize, close: char| {
        while i < chars.len() && chars[i] != close {
            if matches!(chars[i], '"' | '\'' | '`') {
                let quote = chars[i];
                i += 1;
                while i < chars.len() && chars[i] != quote {
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
            }
            i += 1;
        }
        i + 1
    };
    let mut names = BTreeSet::new();
    let mut label_list_next = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if matches!(c, '"' | '\'' | '`') {
            i = skip(i + 1, c);
        } else if c == '{' {
            i = skip(i + 1, '}');
        } else if c == '[' {
            i = skip(i + 1, ']');
        } else if c == '(' && label_list_next {
            label_list_next = false;
            i = skip(i + 1, ')');
        } else if c.is_ascii_digit() || c == '.' {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let next = chars[i..].iter().find(|c| !c.is_whitespace());
            if LABEL_LISTS.contains(&word.as_str()) {
                label_list_next = true;
            } else if !(AGGREGATIONS.contains(&word.as_str())
                || KEYWORDS.contains(&word.as_str())
                || next == Some(&'('))
            {
                names.insert(word);
            }
        } else {
            i += 1;
        }
    }
    names
}

#[test]
fn promql_metric_names_are_extracted() {
    let names = |e: &str| metric_names(e).into_iter().collect::<Vec<_>>();
    assert_eq!(
        names("histogram_quantile(0.95, sum by (le, command) (rate(klg_command_duration_seconds_bucket[$__rate_interval])))"),
        ["klg_command_duration_seconds_bucket"]
    );
    assert_eq!(
        names(
            r#"clamp_min(a_high{job="x}", le="1"} - on(source_id, partition) group_right() b_low{job='y'}, 0)"#
        ),
        ["a_high", "b_low"]
    );
    assert_eq!(names(r#"sum without (x) (up) / count(up offset 5m) > bool 1e3"#), ["up"]);
}

/// The RisingWave (v3.0.3) and Prometheus metrics the dashboard charts. RisingWave cannot run
/// here, so these names are not checked against a scrape: they were checked against RisingWave
/// v3.0.3's source (the `register_*!` calls in src/stream/src/executor/monitor/streaming_stats.rs,
/// src/connector/src/source/monitor/metrics.rs, src/meta/src/rpc/metrics.rs) and its own
/// Grafana dashboards, which chart the same expressions.
const NOT_KLG_METRICS: [&str; 5] = [
    "stream_source_output_rows_counts",
    "source_kafka_high_watermark",
    "source_latest_message_id",
    "meta_barrier_duration_seconds_bucket",
    "up",
];

#[actix_rt::test]
async fn the_dashboard_charts_only_metrics_klg_exposes() {
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("docker/grafana/dashboards/klg.json")).unwrap(),
    )
    .expect("the dashboard is JSON");
    let datasource = &yaml("docker/grafana/provisioning/datasources/prometheus.yml")["datasources"][0];
    let uid = datasource["uid"].as_str().unwrap();
    assert!(dashboard["uid"].is_string() && dashboard["title"].is_string());

    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(!panels.is_empty());
    let mut exprs = vec![];
    for panel in panels {
        let title = panel["title"].as_str().unwrap();
        assert_eq!(
            panel["datasource"]["uid"].as_str(),
            Some(uid),
            "panel {title}: not the provisioned datasource"
        );
        assert_eq!(panel["datasource"]["type"].as_str(), Some("prometheus"), "panel {title}");
        let targets = panel["targets"].as_array().unwrap_or_else(|| panic!("panel {title} has no targets"));
        assert!(!targets.is_empty(), "panel {title} has no targets");
        for target in targets {
            if !target["datasource"].is_null() {
                assert_eq!(target["datasource"]["uid"].as_str(), Some(uid), "panel {title}");
            }
            exprs.push(
                target["expr"].as_str().unwrap_or_else(|| panic!("panel {title}: a target without expr")),
            );
        }
    }
    let all = exprs.join("\n");
    for wanted in [
        "klg_commands_total",
        "klg_command_duration_seconds_bucket",
        "klg_subscription_lag_seconds",
        "subscription=\"mirror\"",
        "klg_read_store_ingestion_lag_seconds",
    ] {
        assert!(all.contains(wanted), "the dashboard does not chart {wanted}");
    }
    let used: BTreeSet<String> = exprs.iter().flat_map(|e| metric_names(e)).collect();
    let (klg, others): (BTreeSet<String>, BTreeSet<String>) =
        used.into_iter().partition(|m| m.starts_with("klg_"));
    for other in &others {
        assert!(
            NOT_KLG_METRICS.contains(&other.as_str()),
            "{other} is neither KLG's (klg_*) nor a known RisingWave metric"
        );
    }

    // The real server in RisingWave read mode (mirror to a real broker, the read store's
    // stand-in), so the mirror's and the read store's series exist too; a few commands, one
    // refused, so the command series exist.
    let app = klg_tests::spawn_app_reading_risingwave().await;
    klg_tests::sample_commands(&app, "RA-89777").await;

    let mut response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let scrape = String::from_utf8(response.body().await.unwrap().to_vec()).unwrap();
    let exposed: BTreeSet<&str> = scrape
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split(['{', ' ']).next().unwrap())
        .collect();
    for metric in &klg {
        assert!(
            exposed.contains(metric.as_str()),
            "the dashboard charts {metric}, which /metrics does not expose:\n{scrape}"
        );
    }
    klg_tests::assert_has_lines(
        &scrape,
        &[
            "klg_commands_total{command=\"RegisterAircraft\",outcome=\"accepted\"} 1",
            "klg_commands_total{command=\"RegisterAircraft\",outcome=\"refused\"} 1",
            "klg_commands_total{command=\"ChangeStatus\",outcome=\"accepted\"} 1",
            "klg_command_duration_seconds_count{command=\"RegisterAircraft\"} 2",
            "klg_read_store_up 1",
        ],
    );
    assert!(
        scrape.lines().any(|l| l.starts_with("klg_subscription_lag_seconds{subscription=\"mirror\"} ")),
        "{scrape}"
    );
    assert!(scrape.lines().any(|l| l.starts_with("klg_read_store_ingestion_lag_seconds ")), "{scrape}");
}

/// The command metrics name commands by route: every write route of the API is one command
/// (but the two that are not), and every named route exists.
#[test]
fn every_command_route_has_its_command_name() {
    let openapi = serde_json::to_value(klg_api::routes::document()).unwrap();
    let paths = openapi["paths"].as_object().unwrap();
    let mut writes = BTreeSet::new();
    for (path, operations) in paths {
        for method in ["post", "put", "delete", "patch"] {
            if operations.get(method).is_some() {
                writes.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    for (method, path) in &writes {
        if ["/api/v1/log-error", "/api/v1/streaming/events"].contains(&path.as_str())
            || path.starts_with("/api/v1/admin/")
        {
            continue;
        }
        assert!(
            klg_api::metrics::command_of(method, path).is_some(),
            "{method} {path} has no command name for the metrics"
        );
    }
    for (method, route, command) in klg_api::metrics::COMMAND_ROUTES {
        assert!(
            writes.contains(&(method.to_owned(), route.to_owned())),
            "{method} {route} ({command}) is not in the API"
        );
    }
}

/// docker-compose 1.29 (Debian's) validates the file against its Compose-spec schema and
/// resolves it (`config`); Docker's engine is not needed for that.
///
/// Its schema predates one key the file uses: the top-level `name:` (the Compose
/// specification added it after 1.29.2; `docker compose` v2, which the README runs, reads it).
/// 1.29.2 says "'name' does not match any of the regexes: '^x-'". Dropping `name:` would make
/// the project (and so the volumes' names) depend on the clone's directory name, and a
/// `version:` key would select an older format without `service_completed_successfully`; so the
/// file keeps `name:`, and 1.29 is given the same project name with `-p` on a copy without that
/// one line. Everything else (including the `depends_on` conditions) 1.29 checks as written.
#[test]
fn docker_compose_validates_and_resolves_the_file() {
    let text = std::fs::read_to_string(repo().join("docker-compose.yml")).unwrap();
    let doc = compose();
    let project = doc["name"].as_str().expect("top-level name").to_owned();
    let first = run_tool("docker-compose", &["-f", "docker-compose.yml", "config", "-q"]);
    let file = if first.status.success() {
        repo().join("docker-compose.yml")
    } else {
        let stderr = String::from_utf8_lossy(&first.stderr);
        assert!(
            stderr.contains("'name' does not match any of the regexes"),
            "docker-compose rejects more than the top-level name:\n{stderr}"
        );
        let without_name: Vec<&str> = text.lines().filter(|l| !l.starts_with("name: ")).collect();
        assert_eq!(without_name.len() + 1, text.lines().count(), "exactly one top-level name line");
        let copy = std::env::temp_dir().join(format!("klg-compose-{}.yml", uuid::Uuid::new_v4().simple()));
        std::fs::write(&copy, without_name.join("\n")).unwrap();
        copy
    };
    let repo_dir = repo().canonicalize().unwrap();
    let output = run_tool(
        "docker-compose",
        &[
            "-f",
            file.to_str().unwrap(),
            "--project-directory",
            repo_dir.to_str().unwrap(),
            "-p",
            &project,
            "config",
        ],
    );
    if file != repo().join("docker-compose.yml") {
        let _ = std::fs::remove_file(&file);
    }
    let resolved: Value = serde_yaml::from_str(&assert_success("docker-compose", &output)).unwrap();

    let names = |v: &Value| -> BTreeSet<String> {
        v["services"].as_mapping().unwrap().keys().map(|k| k.as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(names(&resolved), names(&doc));
    // Bind mounts resolve to absolute host paths; each must exist (Docker would otherwise
    // create an empty directory in its place).
    for (name, service) in resolved["services"].as_mapping().unwrap() {
        for (source, _) in mounts(service) {
            if source.starts_with('/') {
                assert!(Path::new(&source).exists(), "{name:?} mounts {source}, which does not exist");
            }
        }
    }
}

/// The Flink one-shot goes through the image's /docker-entrypoint.sh (which applies
/// FLINK_PROPERTIES and drops root) and runs flink/submit.sh — the script
/// tests/tests/flink_session.rs runs on a real session cluster — with every variable its files
/// use; the script always reads the production settings, which target the JobManager and carry
/// what the jobs need in production (idle sources, UTC windows, a restart strategy); the image
/// holds the compiled runner.
#[test]
fn the_flink_one_shot_runs_the_tested_submission_with_the_production_settings() {
    let doc = compose();
    let jobs = &doc["services"]["flink-jobs"];
    let strings = |value: &Value| -> Vec<String> {
        value
            .as_sequence()
            .map(|s| s.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default()
    };
    let entrypoint = strings(&jobs["entrypoint"]);
    assert!(
        jobs["entrypoint"].is_null()
            || entrypoint.first().map(String::as_str) == Some("/docker-entrypoint.sh"),
        "flink-jobs must go through the image's /docker-entrypoint.sh, not {entrypoint:?}"
    );
    assert_eq!(strings(&jobs["command"]), ["bash", "/opt/klg/flink/submit.sh"]);
    assert!(strings(&jobs["volumes"]).contains(&"./flink:/opt/klg/flink:ro".to_owned()), "{jobs:?}");
    let env = environment(jobs);
    assert_eq!(env.get("FLINK_JOBMANAGER_HOST").map(String::as_str), Some("flink-jobmanager"));
    assert_eq!(env.get("FLINK_JOBMANAGER_PORT").map(String::as_str), Some("8081"));
    assert!(published_ports(&doc["services"]["flink-jobmanager"]).contains(&"8081:8081".to_owned()));
    assert_eq!(env.get("KAFKA_BROKERS").map(String::as_str), Some("redpanda:9092"));

    let flink = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../flink");
    let script = std::fs::read_to_string(flink.join("submit.sh")).unwrap();
    assert!(
        script.contains("KlgSqlRunner submit") && script.contains("\"$sql/settings.production.sql\""),
        "{script}"
    );
    let settings = std::fs::read_to_string(flink.join("sql/settings.production.sql")).unwrap();
    for required in [
        "SET 'execution.target' = 'remote';",
        "SET 'rest.address' = '${FLINK_JOBMANAGER_HOST}';",
        "SET 'rest.port' = '${FLINK_JOBMANAGER_PORT}';",
        "SET 'table.local-time-zone' = 'UTC';",
        "SET 'table.exec.source.idle-timeout' = ",
        "SET 'restart-strategy.type' = 'exponential-delay';",
    ] {
        assert!(settings.contains(required), "settings.production.sql lacks {required}");
    }
    // Every ${NAME} of the files the script submits is in the one-shot's environment.
    let mut files = vec![flink.join("sql/settings.production.sql")];
    for (dir, suffix) in [("sources", ".kafka.sql"), ("sinks", ".kafka.sql"), ("jobs", ".sql")] {
        for entry in std::fs::read_dir(flink.join("sql").join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.to_string_lossy().ends_with(suffix) {
                files.push(path);
            }
        }
    }
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for name in text.split("${").skip(1).map(|rest| rest.split('}').next().unwrap()) {
            assert!(
                env.contains_key(name),
                "{} uses ${{{name}}}, which flink-jobs does not set",
                file.display()
            );
        }
    }

    let dockerfile = std::fs::read_to_string(flink.join("../docker/flink/Dockerfile")).unwrap();
    assert!(
        dockerfile.contains("javac") && dockerfile.contains("flink/runner/KlgSqlRunner.java"),
        "{dockerfile}"
    );
    assert!(dockerfile.contains("flink-sql-connector-kafka"), "{dockerfile}");
    for service in ["flink-jobmanager", "flink-taskmanager", "flink-jobs"] {
        let build = &doc["services"][service]["build"];
        assert_eq!(
            (build["context"].as_str(), build["dockerfile"].as_str()),
            (Some("."), Some("docker/flink/Dockerfile")),
            "{service} builds the Flink image from the repository root"
        );
    }
}

/// `docker compose stop` sends SIGTERM, then SIGKILL after the grace period: KLG needs longer
/// than Docker's default 10 s to drain requests (10 s) and let subscriptions finish their batch
/// (10 s) — otherwise the mirror is cut mid-batch and re-sends after the restart.
#[test]
fn klg_gets_time_to_stop_cleanly() {
    let doc = compose();
    let grace = doc["services"]["klg"]["stop_grace_period"].as_str().expect("stop_grace_period on klg");
    let seconds: u64 = grace.trim_end_matches('s').parse().expect("a grace period in seconds");
    assert!(seconds >= 25, "{grace} is shorter than KLG's 20 s shutdown");
}
