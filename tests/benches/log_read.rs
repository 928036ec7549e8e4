//! What reading the log costs an event: `klg_projections::log::copy_after` (a binary `COPY`
//! decoded as it arrives; what `read_after` uses for large reads — the projector's, the relay's
//! and the rebuild's catching up) against the same events read by `query_after` (a prepared
//! query, its sqlx rows decoded by `StoredEvent::from_row`; every read before session 11, and
//! `read_after`'s small reads), in 8,000-event batches.
//! Best of three rounds, alternated; the CPU time of this process and of the PostgreSQL backend
//! serving it per event, from /proc. Then the same for a live tail's read: 2,000 reads of the
//! last five events each way. Run: `cargo bench -p klg-tests --bench log_read`
//! (`KLG_BENCH_EVENTS` sets the backlog, default 200,000).

use std::time::Instant;

use klg_projections::log::{copy_after, query_after, LogPosition};
use klg_projections::StoredEvent;
use sqlx::PgPool;

/// The allocator of the `klg` binary (api/src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: i64 = 8_000;
/// Reads of the tail per round, and the events each returns.
const TAIL_READS: usize = 2_000;
const TAIL: usize = 5;
const ROUNDS: usize = 3;

/// One read of the whole backlog: wall time and CPU (this process, the backend) per event.
#[derive(Clone, Copy)]
struct Reading {
    events_per_second: f64,
    client_us: f64,
    postgres_us: f64,
}

#[tokio::main]
async fn main() {
    let events: usize =
        std::env::var("KLG_BENCH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(200_000);
    let (url, name) = klg_tests::fresh_database_url();
    let _cleanup = klg_tests::DropDatabase(name);
    let database = klg_api::settings::DatabaseSettings { database_url: url, db_pool_size: 2 };
    let migrated = klg_api::startup::prepare_database(&database).await.unwrap();
    let stored = store_backlog(&migrated, events).await;
    // One connection: its backend is the one whose CPU is counted.
    let pool = klg_commands::db::pool_options()
        .max_connections(1)
        .connect_with(migrated.connect_options().as_ref().clone())
        .await
        .unwrap();
    let backend: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&pool).await.unwrap();
    let (mut copy, mut rows): (Option<Reading>, Option<Reading>) = (None, None);
    for _ in 0..ROUNDS {
        rows = best(rows, read_all(&pool, backend, stored, Reader::Rows).await);
        copy = best(copy, read_all(&pool, backend, stored, Reader::Copy).await);
    }
    let tail = tail_start(&pool).await;
    let (mut copy_tail, mut rows_tail): (Option<Reading>, Option<Reading>) = (None, None);
    for _ in 0..ROUNDS {
        rows_tail = best(rows_tail, read_tail(&pool, backend, tail, Reader::Rows).await);
        copy_tail = best(copy_tail, read_tail(&pool, backend, tail, Reader::Copy).await);
    }
    let still: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&pool).await.unwrap();
    assert_eq!(still, backend, "the reads changed connection: the backend's CPU would be miscounted");
    println!("log read, {stored} events, best of {ROUNDS} alternated rounds (CPU from /proc)");
    print_pair(&format!("batches of {BATCH}, per event"), rows.unwrap(), copy.unwrap());
    print_pair(
        &format!("a live tail: {TAIL_READS} reads of the last {TAIL} events, per read"),
        per_read(rows_tail.unwrap()),
        per_read(copy_tail.unwrap()),
    );
}

/// A tail reading's figures per read instead of per event.
fn per_read(r: Reading) -> Reading {
    let n = TAIL as f64;
    Reading {
        events_per_second: r.events_per_second / n,
        client_us: r.client_us * n,
        postgres_us: r.postgres_us * n,
    }
}

fn print_pair(what: &str, rows: Reading, copy: Reading) {
    println!("\n{what}");
    println!("{:<48} {:>10} {:>12} {:>16}", "reader", "per second", "klg CPU µs", "postgres CPU µs");
    for (label, r) in
        [("query_after: prepared query, rows (baseline)", rows), ("copy_after: binary COPY", copy)]
    {
        println!("{label:<48} {:>10.0} {:>12.2} {:>16.2}", r.events_per_second, r.client_us, r.postgres_us);
    }
    println!(
        "ratio (COPY / rows): throughput {:.2}x, klg CPU {:.2}x, postgres CPU {:.2}x",
        copy.events_per_second / rows.events_per_second,
        copy.client_us / rows.client_us,
        copy.postgres_us / rows.postgres_us
    );
}

/// Stores a backlog of flights as the service writes them (`mirror_bench`'s); answers its size.
async fn store_backlog(pool: &PgPool, events: usize) -> usize {
    let write = klg_commands::WriteSide::new(pool.clone());
    let meta = klg_commands::CommandMetadata::new("bench");
    klg_tests::mirror_bench::store_flight_backlog(&write, &meta, events).await;
    klg_tests::wait_until_readable(pool).await;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM events").fetch_one(pool).await.unwrap();
    stored as usize
}

#[derive(Clone, Copy)]
enum Reader {
    Rows,
    Copy,
}

async fn read(pool: &PgPool, reader: Reader, after: LogPosition, limit: i64) -> Vec<StoredEvent> {
    match reader {
        Reader::Copy => copy_after(pool, after, limit).await.unwrap(),
        Reader::Rows => query_after(pool, after, limit).await.unwrap(),
    }
}

/// The whole backlog, batch by batch.
async fn read_all(pool: &PgPool, backend: i32, expected: usize, reader: Reader) -> Reading {
    measured(backend, async {
        let (mut after, mut read_so_far) = (LogPosition::default(), 0);
        loop {
            let batch = read(pool, reader, after, BATCH).await;
            let Some(last) = batch.last() else { break };
            after = last.position;
            read_so_far += batch.len();
        }
        assert_eq!(read_so_far, expected, "every event read once");
        read_so_far
    })
    .await
}

/// The position the last [`TAIL`] events follow.
async fn tail_start(pool: &PgPool) -> LogPosition {
    let (transaction_id, global_position): (i64, i64) = sqlx::query_as(
        "SELECT transaction_id::text::bigint, global_position FROM events \
         ORDER BY transaction_id DESC, global_position DESC OFFSET $1 LIMIT 1",
    )
    .bind(TAIL as i64)
    .fetch_one(pool)
    .await
    .unwrap();
    LogPosition { transaction_id, global_position }
}

/// The last few events, again and again, as a live tail reads them.
async fn read_tail(pool: &PgPool, backend: i32, after: LogPosition, reader: Reader) -> Reading {
    measured(backend, async {
        for _ in 0..TAIL_READS {
            assert_eq!(read(pool, reader, after, 500).await.len(), TAIL);
        }
        TAIL_READS * TAIL
    })
    .await
}

/// Runs `reading` (which answers the events it read): events/s and CPU per event.
async fn measured(backend: i32, reading: impl std::future::Future<Output = usize>) -> Reading {
    let (client0, postgres0) = (cpu_ns(std::process::id()), cpu_ns(backend as u32));
    let started = Instant::now();
    let events = reading.await;
    let seconds = started.elapsed().as_secs_f64();
    let per_event = |ns: u64| ns as f64 / 1000.0 / events as f64;
    Reading {
        events_per_second: events as f64 / seconds,
        client_us: per_event(cpu_ns(std::process::id()) - client0),
        postgres_us: per_event(cpu_ns(backend as u32) - postgres0),
    }
}

fn best(best: Option<Reading>, reading: Reading) -> Option<Reading> {
    match best {
        Some(b) if b.events_per_second >= reading.events_per_second => Some(b),
        _ => Some(reading),
    }
}

/// CPU time of every thread of process `pid` so far, in ns (`/proc/<pid>/task/*/schedstat`).
fn cpu_ns(pid: u32) -> u64 {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("/proc is readable");
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}
