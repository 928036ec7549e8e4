//! Mirror throughput and commit→topic latency against a real Kafka-API broker (tansu); see
//! `klg_tests::mirror_bench`. Run: `cargo bench -p klg-tests --bench mirror`
//! (`KLG_BENCH_EVENTS` sets the event count, default 100,000).

/// The allocator of the `klg` binary (api/src/main.rs): the relay runs in this process.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let events: usize =
        std::env::var("KLG_BENCH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let m = klg_tests::mirror_bench::measure(events).await;
    println!("mirror benchmark: {} stored events, tansu broker on loopback", m.stored);
    let rounds = klg_tests::mirror_bench::ROUNDS;
    println!("bare producer (baseline), best of {rounds} {:>9.0} events/s", m.bare_producer);
    println!(
        "relay drain (log -> topics), best of {rounds} {:>6.0} events/s   = {:.2}x baseline",
        m.relay,
        m.relay / m.bare_producer
    );
    println!("command latency (baseline)        p50 {:>7.2} ms   p99 {:>7.2} ms", m.command.0, m.command.1);
    println!(
        "commit -> consumed from topic     p50 {:>7.2} ms   p99 {:>7.2} ms",
        m.commit_to_consumed.0, m.commit_to_consumed.1
    );
}
