//! Read-side freshness: how long after a command returns is its effect visible in
//! `GET /api/v1/aircraft/{id}`? Printed as p50/p99 beside the command's own latency (the
//! baseline measured in the same run), against the real server and PostgreSQL.
//!
//! Run: `cargo bench -p klg-tests --bench freshness` (`KLG_BENCH_COMMANDS` sets the count).

/// The allocator of the `klg` binary (api/src/main.rs): the server runs in this process.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{Duration, Instant};

use klg_tests::{read, spawn_app};
use serde_json::json;

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let commands: usize =
        std::env::var("KLG_BENCH_COMMANDS").ok().and_then(|v| v.parse().ok()).unwrap_or(500);
    actix_rt::System::new().block_on(async move {
        let app = spawn_app().await;
        let id = app.certified_aircraft("RA-89999").await;
        let flight = json!({"flight_date": "2024-05-01", "block_hours": 1.0, "cycles": 1});
        let (mut command_latency, mut visible_after, mut ryw_read) = (vec![], vec![], vec![]);
        for _ in 0..commands {
            let started = Instant::now();
            let reply = app.post_json(&format!("/api/v1/aircraft/{id}/flights"), &flight).await;
            let returned = Instant::now();
            command_latency.push(returned - started);
            let version = reply.body["version"].as_i64().expect("command applied");
            let position = reply.body["position"].as_i64().unwrap();
            // Poll without help from the server until the projection shows the new version.
            loop {
                let view =
                    read(app.client.get(app.url(&format!("/api/v1/aircraft/{id}"))).send().await.unwrap())
                        .await;
                if view.body["version"].as_i64() >= Some(version) {
                    visible_after.push(returned.elapsed());
                    break;
                }
            }
            // A read-your-writes read of the same position (already reached: pure read cost).
            let started = Instant::now();
            app.get(&format!("/api/v1/aircraft/{id}?min_position={position}")).await;
            ryw_read.push(started.elapsed());
        }
        let report = |name: &str, samples: &mut Vec<Duration>| {
            let (p50, p99) = (percentile(samples, 0.5), percentile(samples, 0.99));
            println!("{name:<44} p50 {:>7.2} ms   p99 {:>7.2} ms", ms(p50), ms(p99));
            (p50, p99)
        };
        println!("freshness benchmark: {commands} flights on one aircraft, embedded PostgreSQL projections");
        let (c50, c99) = report("command latency (baseline)", &mut command_latency);
        let (v50, v99) = report("command returned -> visible in GET", &mut visible_after);
        report("GET with min_position (already reached)", &mut ryw_read);
        println!(
            "freshness / command latency: p50 {:.2}x   p99 {:.2}x",
            ms(v50) / ms(c50).max(1e-9),
            ms(v99) / ms(c99).max(1e-9)
        );
    });
}
