//! Group commit (commands/src/append.rs): commands that queue while groups are in flight are
//! appended together in one transaction, and each stays all-or-nothing.
//!
//! To make a group form on purpose, the test holds `LOCK TABLE events IN SHARE MODE` on a
//! connection of its own: the groups in flight block on it, every later command queues behind
//! them, and releasing the lock lets the queue go as one group.

use std::time::Duration;

use awc::http::StatusCode;
use futures_util::future::join_all;
use klg_commands::GROUPS_IN_FLIGHT;
use klg_tests::{aircraft_body, spawn_app, Reply, TestApp};
use serde_json::json;
use sqlx::{Connection, PgConnection};

/// Appends blocked on the table lock, as PostgreSQL reports them.
async fn blocked_appends(db: &mut PgConnection) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO events%'",
    )
    .fetch_one(db)
    .await
    .unwrap()
}

/// Runs `openers` while the events table is locked until their appends fill every group slot
/// and block; then runs `queued`, which must queue behind them, and releases the lock once they
/// had time to. Answers the replies of `openers`, then of `queued`.
async fn with_appends_held_back<F: std::future::Future<Output = Reply>>(
    app: &TestApp,
    openers: Vec<F>,
    queued: Vec<F>,
) -> (Vec<Reply>, Vec<Reply>) {
    let openers_count = openers.len();
    let mut lock = PgConnection::connect_with(&app.pool.connect_options()).await.unwrap();
    let mut tx = lock.begin().await.unwrap();
    sqlx::query("LOCK TABLE events IN SHARE MODE").execute(&mut *tx).await.unwrap();
    let behind = async {
        let mut watch = PgConnection::connect_with(&app.pool.connect_options()).await.unwrap();
        while blocked_appends(&mut watch).await < openers_count as i64 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let release = async {
            // The queued commands only decide on cached aggregates before they queue.
            tokio::time::sleep(Duration::from_secs(1)).await;
            tx.commit().await.unwrap();
        };
        futures_util::join!(join_all(queued), release).0
    };
    futures_util::join!(join_all(openers), behind)
}

/// The most commands (distinct aggregates) whose events one transaction stored.
async fn largest_group(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "SELECT max(n) FROM (SELECT count(DISTINCT aggregate_id) AS n FROM events GROUP BY transaction_id) g",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

fn flight() -> serde_json::Value {
    json!({"flight_date": "2024-05-01", "block_hours": 1.5, "cycles": 1})
}

#[actix_rt::test]
async fn commands_queued_behind_groups_in_flight_commit_together_each_whole() {
    let app = spawn_app().await;
    let fleet = app.certified_fleet(80000, 24).await;
    let paths: Vec<String> = fleet.iter().map(|id| format!("/api/v1/aircraft/{id}/flights")).collect();
    let flight = flight();
    let mut commands: Vec<_> = paths.iter().map(|p| app.post_json(p, &flight)).collect();
    let queued = commands.split_off(GROUPS_IN_FLIGHT);
    let (openers, queued) = with_appends_held_back(&app, commands, queued).await;
    for reply in openers.iter().chain(&queued) {
        assert_eq!((reply.status, &reply.body["version"]), (StatusCode::OK, &json!(3)), "{}", reply.body);
    }
    let grouped = largest_group(&app).await;
    assert!(
        grouped >= 20,
        "the 22 queued commands were not appended as one group: at most {grouped} together"
    );
    for id in &fleet {
        let events = app.events_of(id).await;
        let sequences: Vec<i64> = events.iter().map(|e| e.0).collect();
        assert_eq!(sequences, [1, 2, 3], "aircraft {id}");
        assert_eq!(events[2].1, "FlightLogged");
    }
}

type Command<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Reply> + 'a>>;

/// Runs the two `rivals` in a group with bystanders (flights on aircraft of their own; ten
/// flights in all with the groups in flight before them), behind every group slot taken. Checks
/// the bystanders and the events stored (`stored` by the rivals); answers the rivals' replies.
async fn rivals_in_a_group<'a>(
    app: &'a TestApp,
    fleet: &[String],
    rivals: [Command<'a>; 2],
    stored: i64,
) -> Vec<Reply> {
    let flight = flight();
    let paths: Vec<String> = fleet.iter().map(|id| format!("/api/v1/aircraft/{id}/flights")).collect();
    let before = app.event_count().await;
    let openers: Vec<Command> =
        paths[..GROUPS_IN_FLIGHT].iter().map(|p| Box::pin(app.post_json(p, &flight)) as Command).collect();
    let mut queued: Vec<Command> = rivals.into();
    queued.extend(paths[GROUPS_IN_FLIGHT..10].iter().map(|p| Box::pin(app.post_json(p, &flight)) as Command));
    let (openers, queued) = with_appends_held_back(app, openers, queued).await;
    for reply in openers.iter().chain(&queued[2..]) {
        assert_eq!((reply.status, &reply.body["version"]), (StatusCode::OK, &json!(3)), "{}", reply.body);
    }
    // Ten flights and what the rivals stored: nothing else, nothing partial.
    assert_eq!(app.event_count().await, before + 10 + stored);
    queued.into_iter().take(2).collect()
}

#[actix_rt::test]
async fn two_commands_with_one_idempotency_key_in_one_group_store_one() {
    let app = spawn_app().await;
    let fleet = app.certified_fleet(70000, 12).await;
    let flight = flight();
    let key = [("Idempotency-Key", "flight-once")];
    // One key, two aircraft: the second is a different request under a used key.
    let (first, second) = (
        format!("/api/v1/aircraft/{}/flights", fleet[10]),
        format!("/api/v1/aircraft/{}/flights", fleet[11]),
    );
    let rivals: [Command; 2] = [
        Box::pin(app.send_json("POST", &first, &flight, &key)),
        Box::pin(app.send_json("POST", &second, &flight, &key)),
    ];
    let replies = rivals_in_a_group(&app, &fleet, rivals, 1).await;
    assert_eq!(replies.iter().filter(|r| r.status == StatusCode::OK).count(), 1);
    let refused = replies.iter().find(|r| r.status != StatusCode::OK).unwrap();
    assert_eq!(refused.problem_fields(), ["Idempotency-Key"], "{}", refused.body);
    let keyed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE metadata->>'idempotency_key' = 'flight-once'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(keyed, 1);
}

#[actix_rt::test]
async fn two_registrations_of_one_number_in_one_group_store_one() {
    let app = spawn_app().await;
    let fleet = app.certified_fleet(60000, 10).await;
    let registration = aircraft_body("RA-69999");
    let rivals: [Command; 2] = [
        Box::pin(app.post_json("/api/v1/aircraft", &registration)),
        Box::pin(app.post_json("/api/v1/aircraft", &registration)),
    ];
    let replies = rivals_in_a_group(&app, &fleet, rivals, 1).await;
    assert_eq!(replies.iter().filter(|r| r.status == StatusCode::CREATED).count(), 1);
    let lost = replies.iter().find(|r| r.status != StatusCode::CREATED).unwrap();
    assert_eq!(lost.assert_problem(409)["type"], "urn:klg:problem:registration-in-use");
}

/// A command decided on an event its stream no longer holds (a cache ahead of a restored
/// database) is refused by the store (migration 0013), which aborts its group's statement. That
/// command is decided again on what the store holds; the rest of its group is stored all the
/// same, each command whole (the appender re-sends the group command by command).
#[actix_rt::test]
async fn a_command_whose_predecessor_is_gone_is_decided_again_while_its_group_is_stored() {
    let app = spawn_app().await;
    let fleet = app.certified_fleet(50000, 12).await;
    let (restored, intact) = (&fleet[10], &fleet[11]);
    // One aircraft restored to before its certificate, behind the cache's back.
    app.restore_stream_to(restored, 1).await;
    let flight = flight();
    let (on_restored, on_intact) =
        (format!("/api/v1/aircraft/{restored}/flights"), format!("/api/v1/aircraft/{intact}/flights"));
    let rivals: [Command; 2] =
        [Box::pin(app.post_json(&on_restored, &flight)), Box::pin(app.post_json(&on_intact, &flight))];
    let replies = rivals_in_a_group(&app, &fleet, rivals, 1).await;
    assert_eq!(replies[0].assert_problem(409)["type"], "urn:klg:problem:no-valid-certificate");
    assert_eq!(
        (replies[1].status, &replies[1].body["version"]),
        (StatusCode::OK, &json!(3)),
        "{}",
        replies[1].body
    );
    let sequences: Vec<i64> = app.events_of(restored).await.into_iter().map(|e| e.0).collect();
    assert_eq!(sequences, [1], "nothing appended after the missing predecessor");
}
