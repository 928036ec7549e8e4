//! The global log never skips an event that commits late with a lower position: many
//! concurrent writers (holding their transactions open for random times) and a tailing reader
//! that must see every event exactly once, in many rounds.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use klg_projections::log::{read_after, LogPosition};
use klg_tests::spawn_app_with;
use rand::Rng;
use sqlx::PgPool;

const WRITERS: usize = 12;
const TRANSACTIONS_PER_WRITER: usize = 10;
const ROUNDS: usize = 8;

/// One writer: transactions of 1-3 events, each held open a random few milliseconds so that
/// later transactions overtake it. Returns the positions it committed.
async fn write(pool: PgPool, writer: usize, round: usize) -> Vec<i64> {
    let mut committed = vec![];
    for t in 0..TRANSACTIONS_PER_WRITER {
        let (events, sleep_ms) = {
            let mut rng = rand::thread_rng();
            (rng.gen_range(1..=3), rng.gen_range(0..15))
        };
        let mut tx = pool.begin().await.unwrap();
        let mut positions = vec![];
        for e in 0..events {
            let position: i64 = sqlx::query_scalar(
                "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
                 VALUES ('GapTest', $1, $2, 'Written', '1.0', '{}', '{}') RETURNING global_position",
            )
            .bind(format!("r{round}-w{writer}-t{t}"))
            .bind(e as i64 + 1)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
            positions.push(position);
        }
        tokio::time::sleep(Duration::from_millis(sleep_ms)).await;
        tx.commit().await.unwrap();
        committed.extend(positions);
    }
    committed
}

#[actix_rt::test]
async fn a_tailing_reader_sees_every_event_exactly_once_under_concurrent_writers() {
    let app = spawn_app_with(|s| {
        s.run_projector = false;
        s.database.db_pool_size = (WRITERS + 4) as u32;
    })
    .await;
    let mut checkpoint = LogPosition::default();
    let mut inversions = 0;
    for round in 0..ROUNDS {
        // Set once the writers are done: how many events the reader must end up with.
        let expected = Arc::new(AtomicUsize::new(usize::MAX));
        let writers: Vec<_> = (0..WRITERS).map(|w| tokio::spawn(write(app.pool.clone(), w, round))).collect();
        let reader = {
            let (pool, expected) = (app.pool.clone(), expected.clone());
            tokio::spawn(async move {
                let mut seen = vec![];
                let mut position = checkpoint;
                // The horizon may hold committed events back while any transaction in the
                // cluster is open (other tests run beside this one): keep tailing until all
                // are seen, or time out.
                let deadline = std::time::Instant::now() + Duration::from_secs(60);
                while seen.len() < expected.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
                    let batch = read_after(&pool, position, 7).await.unwrap();
                    if let Some(last) = batch.last() {
                        position = last.position;
                    }
                    seen.extend(batch.iter().map(|e| e.position.global_position));
                    if batch.is_empty() {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
                // Anything read past the expected count would be a duplicate or a stray.
                seen.extend(
                    read_after(&pool, position, 1000)
                        .await
                        .unwrap()
                        .iter()
                        .map(|e| e.position.global_position),
                );
                (seen, position)
            })
        };
        let mut written = vec![];
        for w in writers {
            written.extend(w.await.unwrap());
        }
        expected.store(written.len(), Ordering::SeqCst);
        let (seen, position) = reader.await.unwrap();
        checkpoint = position;

        let unique: HashSet<i64> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len(), "round {round}: an event was read twice");
        assert_eq!(unique, written.iter().copied().collect::<HashSet<_>>(), "round {round}: events missed");
        inversions += seen.windows(2).filter(|w| w[1] < w[0]).count();
    }
    // The scenario must really produce late commits with lower positions, or it proves nothing.
    assert!(inversions > 0, "no event committed out of position order; the test did not exercise gaps");
    println!("{inversions} late commits with lower positions were all read");
}

/// Reading the next batch is a range scan of the (transaction_id, global_position) index, however
/// long the log: not a scan and sort of everything after the checkpoint (which an ORDER BY that
/// resolved to the select list's cast column once caused).
#[actix_rt::test]
async fn reading_a_batch_is_an_index_range_scan_not_a_sort_of_the_log() {
    let app = spawn_app_with(|s| s.run_projector = false).await;
    klg_tests::append_other_events(&app.pool, 20000).await;
    sqlx::query("ANALYZE events").execute(&app.pool).await.unwrap();
    let prepared = klg_projections::log::query_after_sql()
        .replace("$1::text::xid8", "'0'::xid8")
        .replace("$2", "0")
        .replace("$3", "500");
    let copied = klg_projections::log::copy_after_sql(LogPosition::default(), 8000);
    for sql in [prepared, copied] {
        let plan: Vec<String> =
            sqlx::query_scalar(&format!("EXPLAIN {sql}")).fetch_all(&app.pool).await.unwrap();
        let plan = plan.join("\n");
        assert!(plan.contains("Index Scan using events_transaction_order_idx"), "{plan}");
        assert!(!plan.contains("Sort"), "{plan}");
    }
}

/// A subscription (small batches, so it reads ahead while writing each full batch) tailing the
/// same concurrent writers: every event handed to its subscriber exactly once, across batches
/// read ahead while later commits with lower positions were still landing.
#[actix_rt::test]
async fn a_subscription_reading_ahead_hands_over_every_event_exactly_once() {
    use klg_projections::subscription::Subscription;

    let app = spawn_app_with(|s| {
        s.run_projector = false;
        s.database.db_pool_size = (WRITERS + 6) as u32;
    })
    .await;
    // Writing takes a while: writers commit meanwhile, and the next batch is read ahead.
    let recorder = klg_tests::RecordingSubscriber::new(Duration::from_millis(3));
    let subscription =
        Subscription::new("read-ahead", "test", app.pool.clone(), recorder.clone()).with_batch_size(5);
    let runner = tokio::spawn(subscription.run());
    let mut written = vec![];
    for round in 0..ROUNDS {
        let writers: Vec<_> = (0..WRITERS).map(|w| tokio::spawn(write(app.pool.clone(), w, round))).collect();
        for w in writers {
            written.extend(w.await.unwrap());
        }
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while recorder.positions().len() < written.len() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await; // anything more would be a duplicate
    runner.abort();
    let seen = recorder.positions();
    let unique: HashSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "an event was handed over twice");
    assert_eq!(unique, written.iter().copied().collect::<HashSet<_>>(), "events missed");
}

/// Large reads of the log are a binary COPY decoded by hand (`copy_after`); small ones, and every
/// other reader of stored events, decode sqlx rows (`StoredEvent::from_row`). Both must see the
/// same events, field for field: an old event version upcast, text beyond ASCII, a payload large
/// enough to be stored compressed, metadata entries that are not strings.
#[actix_rt::test]
async fn the_log_read_by_copy_equals_the_log_read_by_query_field_for_field() {
    let app = spawn_app_with(|s| s.run_projector = false).await;
    let large_route = "Шереметьево → Пулково ✈ ".repeat(400);
    let rows = [
        ("Aircraft", "a-1", 1, "FlightLogged", "1.0", serde_json::json!({"FlightLogged": {"cycles": 1}})),
        (
            "Aircraft",
            "a-1",
            2,
            "FlightLogged",
            "2.0",
            serde_json::json!({"FlightLogged": {"route": large_route}}),
        ),
        (
            "InboxItem",
            "документ-7",
            1,
            "Noted",
            "1.0",
            serde_json::json!({"Noted": {"text": "Ан-148 «RA-61701»"}}),
        ),
    ];
    for (aggregate_type, aggregate_id, sequence, event_type, version, payload) in &rows {
        sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(aggregate_type)
        .bind(aggregate_id)
        .bind(*sequence as i64)
        .bind(event_type)
        .bind(version)
        .bind(payload)
        .bind(serde_json::json!({"actor": "инженер", "request_id": 7, "correlation_id": {"x": [1]}, "causation_id": "c"}))
        .execute(&app.pool)
        .await
        .unwrap();
    }
    klg_tests::wait_until_readable(&app.pool).await;
    use klg_projections::log::{copy_after, query_after, COPY_FROM};
    let copied = copy_after(&app.pool, LogPosition::default(), 10).await.unwrap();
    let queried = query_after(&app.pool, LogPosition::default(), 10).await.unwrap();
    // read_after picks one of the two by the size of the read.
    assert_eq!(read_after(&app.pool, LogPosition::default(), COPY_FROM).await.unwrap(), copied);
    assert_eq!(read_after(&app.pool, LogPosition::default(), COPY_FROM - 1).await.unwrap(), queried);
    assert_eq!(copied.len(), rows.len());
    assert_eq!(copied, queried);
    let upcast = &copied[0];
    let payload = |i: usize| serde_json::from_str::<serde_json::Value>(&copied[i].payload).unwrap();
    assert_eq!(upcast.event_version, "2.0");
    assert_eq!(payload(0), serde_json::json!({"FlightLogged": {"cycles": 1, "route": null}}));
    assert_eq!(payload(1), rows[1].5);
    assert_eq!((copied[2].metadata.actor(), copied[2].metadata.request_id.as_deref()), ("инженер", None));
}

/// A read of the log dropped mid-way (its task aborted, a timeout) leaves no half-read COPY on a
/// pooled connection for the next statement to trip over: one connection in the pool, reads cut
/// off at ever later moments, and every statement after each one answers correctly.
#[actix_rt::test]
async fn a_read_of_the_log_cut_off_mid_way_leaves_the_pool_usable() {
    let app = spawn_app_with(|s| s.run_projector = false).await;
    klg_tests::append_other_events(&app.pool, 60_000).await;
    klg_tests::wait_until_readable(&app.pool).await;
    let pool = klg_commands::db::pool_options()
        .max_connections(1)
        .connect_with(app.pool.connect_options().as_ref().clone())
        .await
        .unwrap();
    let mut cut_off = 0;
    for wait_ms in [1u64, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048] {
        let read = klg_projections::log::copy_after(&pool, LogPosition::default(), 60_000);
        let finished = tokio::time::timeout(Duration::from_millis(wait_ms), read).await.is_ok();
        let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&pool).await.unwrap();
        assert_eq!(one, 1, "after a read cut off at {wait_ms} ms");
        assert_eq!(read_after(&pool, LogPosition::default(), 60_000).await.unwrap().len(), 60_000);
        if finished {
            break;
        }
        cut_off += 1;
    }
    assert!(cut_off >= 3, "only {cut_off} reads were cut off: the test did not exercise reads cut mid-way");
}
