//! What reading the log costs an event: `klg_projections::log::read_after` (a binary `COPY`
//! decoded as it arrives, what the projector, the relay and the rebuild read with) against the
//! same events read as sqlx rows decoded by `StoredEvent::from_row` (how they were read before
//! session 11, and how the as-of and mirror-replay readers still read), in 8,000-event batches.
//! Best of three rounds, alternated; the CPU time of this process and of the PostgreSQL backend
//! serving it per event, from /proc. Run: `cargo bench -p klg-tests --bench log_read`
//! (`KLG_BENCH_EVENTS` sets the backlog, default 200,000).

use std::time::Instant;

use klg_projections::log::{read_after, LogPosition, EVENT_COLUMNS};
use klg_projections::StoredEvent;
use sqlx::PgPool;

/// The allocator of the `klg` binary (api/src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: i64 = 8_000;
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
    let events: i64 = std::env::var("KLG_BENCH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(200_000);
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
    let still: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&pool).await.unwrap();
    assert_eq!(still, backend, "the reads changed connection: the backend's CPU would be miscounted");
    let (copy, rows) = (copy.unwrap(), rows.unwrap());
    println!(
        "log read, {stored} events in batches of {BATCH}, best of {ROUNDS} rounds (CPU per event from /proc)"
    );
    println!("{:<48} {:>10} {:>12} {:>14}", "reader", "events/s", "klg CPU µs", "postgres CPU µs");
    for (label, r) in
        [("rows decoded by StoredEvent::from_row (baseline)", rows), ("read_after: binary COPY", copy)]
    {
        println!("{label:<48} {:>10.0} {:>12.2} {:>14.2}", r.events_per_second, r.client_us, r.postgres_us);
    }
    println!(
        "ratio (COPY / rows): throughput {:.2}x, klg CPU per event {:.2}x, postgres CPU per event {:.2}x",
        copy.events_per_second / rows.events_per_second,
        copy.client_us / rows.client_us,
        copy.postgres_us / rows.postgres_us
    );
}

/// Stores `count` events as the service writes them (a registered aircraft's flights, copied).
async fn store_backlog(pool: &PgPool, count: i64) -> usize {
    use klg_commands::{CommandMetadata, WriteSide};
    use klg_domain::aircraft::{AircraftCommand, RegisterAircraft};
    use klg_domain::values::*;
    use klg_domain::Guarded;
    let write = WriteSide::new(pool.clone());
    let meta = CommandMetadata::new("bench");
    let id = uuid::Uuid::new_v4();
    let register = AircraftCommand::Register(RegisterAircraft {
        registration_number: RegistrationNumber::parse("RA-89001").unwrap(),
        aircraft_type: AircraftTypeCode::parse("SU95").unwrap(),
        model: Name::parse("Superjet").unwrap(),
        serial_number: SerialNumber::parse("95001").unwrap(),
        operator: Name::parse("Bench").unwrap(),
        year_of_manufacture: None,
    });
    write.aircraft.execute(id, register.into(), &meta).await.unwrap();
    let certificate = AircraftCommand::IssueCertificate {
        number: CertificateNumber::parse("CA-1").unwrap(),
        issued_on: "2020-01-01".parse().unwrap(),
        valid_until: "2030-01-01".parse().unwrap(),
    };
    write.aircraft.execute(id, certificate.into(), &meta).await.unwrap();
    let flight = AircraftCommand::LogFlight {
        flight_date: "2024-05-01".parse().unwrap(),
        block_time: BlockMinutes::from_minutes(60),
        cycles: 1,
        route: None,
    };
    write.aircraft.execute(id, Guarded::new(flight, None), &meta).await.unwrap();
    klg_tests::grow_fleet_history(pool, &[id.to_string()], count - 3).await;
    klg_tests::wait_until_readable(pool).await;
    count as usize
}

#[derive(Clone, Copy)]
enum Reader {
    Rows,
    Copy,
}

async fn read_all(pool: &PgPool, backend: i32, expected: usize, reader: Reader) -> Reading {
    let (client0, postgres0) = (cpu_ns(std::process::id()), cpu_ns(backend as u32));
    let started = Instant::now();
    let (mut after, mut read) = (LogPosition::default(), 0);
    loop {
        let batch = match reader {
            Reader::Copy => read_after(pool, after, BATCH).await.unwrap(),
            Reader::Rows => read_rows(pool, after).await,
        };
        let Some(last) = batch.last() else { break };
        after = last.position;
        read += batch.len();
    }
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(read, expected, "every event read once");
    let per_event = |ns: u64| ns as f64 / 1000.0 / read as f64;
    Reading {
        events_per_second: read as f64 / seconds,
        client_us: per_event(cpu_ns(std::process::id()) - client0),
        postgres_us: per_event(cpu_ns(backend as u32) - postgres0),
    }
}

/// The batch as sqlx rows, decoded by `StoredEvent::from_row`.
async fn read_rows(pool: &PgPool, after: LogPosition) -> Vec<StoredEvent> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events \
         WHERE (events.transaction_id, events.global_position) > ($1::text::xid8, $2) \
           AND events.transaction_id < pg_snapshot_xmin(pg_current_snapshot()) \
         ORDER BY events.transaction_id, events.global_position LIMIT $3"
    );
    let rows = sqlx::query(&sql)
        .bind(after.transaction_id.to_string())
        .bind(after.global_position)
        .bind(BATCH)
        .fetch_all(pool)
        .await
        .unwrap();
    rows.iter().map(|row| StoredEvent::from_row(row).unwrap()).collect()
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
