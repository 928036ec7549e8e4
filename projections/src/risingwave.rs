//! The RisingWave read store: event tables on the mirrored topics and the materialized views
//! that derive, from them, the same relations the embedded projections keep (same names,
//! columns and meaning). The SQL lives in `projections/risingwave/`; view bodies are the SQL
//! that PostgreSQL and RisingWave share, so tests run them on PostgreSQL.
//!
//! `apply` is idempotent: it creates what is missing, leaves what is current, and reports (or,
//! with `replace`, recreates) what is out of date, judged by a checksum of each object's SQL.

use sha2::{Digest, Sha256};
use sqlx::PgPool;

/// Where the objects are created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    /// RisingWave: Kafka-connector tables and materialized views.
    RisingWave,
    /// PostgreSQL standing in for RisingWave in tests: plain tables and views.
    PostgresStandIn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A table fed by a topic — mirrored events or Flink results (RisingWave-only DDL; a plain
    /// table in the stand-in).
    EventTable,
    /// A derived relation: the body of a materialized view.
    View,
}

struct Object {
    name: &'static str,
    kind: Kind,
    sql: &'static str,
}

const fn table(name: &'static str, sql: &'static str) -> Object {
    Object { name, kind: Kind::EventTable, sql }
}

const fn view(name: &'static str, sql: &'static str) -> Object {
    Object { name, kind: Kind::View, sql }
}

const OBJECTS: [Object; 13] = [
    table("klg_aircraft_events", include_str!("../risingwave/sources/klg_aircraft_events.sql")),
    table("klg_inbox_events", include_str!("../risingwave/sources/klg_inbox_events.sql")),
    table("klg_tmc_events", include_str!("../risingwave/sources/klg_tmc_events.sql")),
    table(
        "aircraft_event_stats_hourly",
        include_str!("../risingwave/sources/aircraft_event_stats_hourly.sql"),
    ),
    table("fleet_utilization_daily", include_str!("../risingwave/sources/fleet_utilization_daily.sql")),
    table("inbox_intake_hourly", include_str!("../risingwave/sources/inbox_intake_hourly.sql")),
    view("aircraft", include_str!("../risingwave/views/aircraft.sql")),
    view("aircraft_history", include_str!("../risingwave/views/aircraft_history.sql")),
    view("inbox_files", include_str!("../risingwave/views/inbox_files.sql")),
    view("aircraft_stats", include_str!("../risingwave/views/aircraft_stats.sql")),
    view("inbox_history", include_str!("../risingwave/views/inbox_history.sql")),
    view("aircraft_directives", include_str!("../risingwave/views/aircraft_directives.sql")),
    view("tmc_requests", include_str!("../risingwave/views/tmc_requests.sql")),
];

/// The stand-in's tables: event tables (same columns as the RisingWave sources) and the Flink
/// result tables.
const STANDIN_EVENT_TABLES: &str = include_str!("../risingwave/standin/tables.sql");

/// What `apply` found or did for one object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ObjectStatus {
    pub name: String,
    /// created, up_to_date, out_of_date or replaced.
    pub state: String,
}

/// RisingWave, or PostgreSQL standing in for it.
pub async fn detect(pool: &PgPool) -> Result<Dialect, sqlx::Error> {
    let version: String = sqlx::query_scalar("SELECT version()").fetch_one(pool).await?;
    Ok(if version.contains("RisingWave") { Dialect::RisingWave } else { Dialect::PostgresStandIn })
}

/// The bookkeeping table: one row per object with the checksum of the SQL it was created from.
pub const BOOKKEEPING_DDL: &str = "CREATE TABLE IF NOT EXISTS klg_read_objects \
     (name varchar PRIMARY KEY, checksum varchar, applied_at timestamptz)";
/// Reads what was applied before.
pub const BOOKKEEPING_READ: &str = "SELECT name, checksum FROM klg_read_objects";
/// Forgets an object (before it is recorded again).
pub const BOOKKEEPING_FORGET: &str = "DELETE FROM klg_read_objects WHERE name = $1";
/// Records an object as applied.
pub const BOOKKEEPING_RECORD: &str =
    "INSERT INTO klg_read_objects (name, checksum, applied_at) VALUES ($1, $2, now())";

/// What `apply` will do: each object's state, and the statements that get it there, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub report: Vec<ObjectStatus>,
    /// DDL in execution order: drops (dependent views before the tables they read), then creates.
    pub statements: Vec<String>,
    /// Objects (name, checksum) to record as applied once the statements ran.
    pub record: Vec<(String, String)>,
}

fn checksum(object: &Object) -> String {
    hex::encode(Sha256::digest(object.sql.as_bytes()))
}

/// Decides, from the checksums recorded by earlier runs (`applied`), what to create, leave,
/// report or (with `replace`) recreate. Pure: `apply` runs its statements, and tests run them
/// through RisingWave's own parser.
///
/// Recreating an event table recreates every view too: views read the tables, and neither
/// RisingWave nor PostgreSQL drops a table that views depend on (without CASCADE, which would
/// silently drop views this run does not know to recreate).
pub fn plan(
    dialect: Dialect,
    kafka_brokers: &str,
    applied: &std::collections::HashMap<String, String>,
    replace: bool,
) -> Plan {
    let stale = |o: &Object| applied.get(o.name).is_some_and(|c| *c != checksum(o));
    let table_recreated = replace && OBJECTS.iter().any(|o| o.kind == Kind::EventTable && stale(o));
    let recreate = |o: &Object| {
        applied.contains_key(o.name) && replace && (stale(o) || (table_recreated && o.kind == Kind::View))
    };
    let mut statements = vec![];
    for kind in [Kind::View, Kind::EventTable] {
        for object in OBJECTS.iter().rev().filter(|o| o.kind == kind && recreate(o)) {
            statements.push(drop_statement(object, dialect));
        }
    }
    if dialect == Dialect::PostgresStandIn {
        statements.push(STANDIN_EVENT_TABLES.to_owned());
    }
    let mut report = vec![];
    let mut record = vec![];
    for object in &OBJECTS {
        let state = if recreate(object) {
            "replaced"
        } else if !applied.contains_key(object.name) {
            "created"
        } else if stale(object) {
            "out_of_date"
        } else {
            "up_to_date"
        };
        if matches!(state, "replaced" | "created") {
            statements.extend(create_statement(object, kafka_brokers, dialect));
            record.push((object.name.to_owned(), checksum(object)));
        }
        report.push(ObjectStatus { name: object.name.to_owned(), state: state.to_owned() });
    }
    Plan { report, statements, record }
}

/// Creates what is missing and reports every object. `kafka_brokers` is the Redpanda address
/// as RisingWave reaches it (in compose: `redpanda:9092`).
pub async fn apply(
    pool: &PgPool,
    kafka_brokers: &str,
    replace: bool,
) -> Result<Vec<ObjectStatus>, sqlx::Error> {
    let dialect = detect(pool).await?;
    sqlx::raw_sql(BOOKKEEPING_DDL).execute(pool).await?;
    let applied: std::collections::HashMap<String, String> =
        sqlx::query_as(BOOKKEEPING_READ).fetch_all(pool).await?.into_iter().collect();
    let plan = plan(dialect, kafka_brokers, &applied, replace);
    for statement in &plan.statements {
        sqlx::raw_sql(statement).execute(pool).await?;
    }
    for (name, checksum) in &plan.record {
        sqlx::query(BOOKKEEPING_FORGET).bind(name).execute(pool).await?;
        sqlx::query(BOOKKEEPING_RECORD).bind(name).bind(checksum).execute(pool).await?;
    }
    Ok(plan.report)
}

/// The statement creating `object`; none for a stand-in event table (the stand-in DDL has it).
fn create_statement(object: &Object, kafka_brokers: &str, dialect: Dialect) -> Option<String> {
    let sql = object.sql.replace("${REDPANDA_BROKERS}", kafka_brokers);
    match (object.kind, dialect) {
        (Kind::EventTable, Dialect::RisingWave) => Some(sql),
        (Kind::EventTable, Dialect::PostgresStandIn) => None,
        (Kind::View, Dialect::RisingWave) => {
            Some(format!("CREATE MATERIALIZED VIEW {} AS {sql}", object.name))
        }
        (Kind::View, Dialect::PostgresStandIn) => Some(format!("CREATE VIEW {} AS {sql}", object.name)),
    }
}

fn drop_statement(object: &Object, dialect: Dialect) -> String {
    match (object.kind, dialect) {
        (Kind::EventTable, _) => format!("DROP TABLE IF EXISTS {}", object.name),
        (Kind::View, Dialect::RisingWave) => format!("DROP MATERIALIZED VIEW IF EXISTS {}", object.name),
        (Kind::View, Dialect::PostgresStandIn) => format!("DROP VIEW IF EXISTS {}", object.name),
    }
}

/// Every object's name (for tests that mark objects out of date).
pub fn object_names() -> Vec<&'static str> {
    OBJECTS.iter().map(|o| o.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(ddl: &str, table: &str) -> Vec<String> {
        let start = ddl.find(&format!("{table} (")).expect("table in DDL");
        let body = &ddl[start..];
        let body = &body[body.find('(').unwrap() + 1..body.find("\n)").unwrap()];
        body.lines()
            .filter_map(|l| l.split_whitespace().next())
            .map(|c| c.trim_end_matches(',').to_owned())
            .collect()
    }

    /// The stand-in tables must keep in step with the RisingWave DDL they stand in for.
    #[test]
    fn stand_in_event_tables_have_the_risingwave_columns() {
        let source = columns(OBJECTS[0].sql, "klg_aircraft_events");
        let standin = columns(STANDIN_EVENT_TABLES, "klg_aircraft_events");
        assert_eq!(standin[..source.len()], source[..]);
        assert_eq!(standin[source.len()..], ["kafka_partition".to_owned(), "kafka_offset".to_owned()]);
        assert_eq!(columns(OBJECTS[1].sql, "klg_inbox_events"), source);
        assert_eq!(columns(OBJECTS[2].sql, "klg_tmc_events"), source);
    }
}

/// Whether the read store has ingested the event at `position` (the event tables and the views
/// derived from them commit together in RisingWave, so the views then reflect it too).
pub async fn has_ingested(read: &PgPool, position: i64) -> Result<bool, sqlx::Error> {
    let found: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT \"position\" FROM klg_aircraft_events WHERE \"position\" = $1 \
         UNION ALL SELECT \"position\" FROM klg_inbox_events WHERE \"position\" = $1 \
         UNION ALL SELECT \"position\" FROM klg_tmc_events WHERE \"position\" = $1) hits",
    )
    .bind(position)
    .fetch_one(read)
    .await?;
    Ok(found > 0)
}

/// How far the read store is behind the event store.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IngestionLag {
    /// Highest global position ingested.
    pub ingested_position: i64,
    /// Events of the read store's aggregates stored after it.
    pub lag_events: i64,
    pub lag_seconds: f64,
}

pub async fn lag(store: &PgPool, read: &PgPool) -> Result<IngestionLag, sqlx::Error> {
    let ingested: Option<i64> = sqlx::query_scalar(
        "SELECT max(head) FROM (SELECT max(\"position\") AS head FROM klg_aircraft_events \
         UNION ALL SELECT max(\"position\") AS head FROM klg_inbox_events \
         UNION ALL SELECT max(\"position\") AS head FROM klg_tmc_events) heads",
    )
    .fetch_one(read)
    .await?;
    let ingested_position = ingested.unwrap_or(0);
    let (lag_events, oldest): (i64, Option<chrono::DateTime<chrono::Utc>>) = sqlx::query_as(
        "SELECT count(*), min(recorded_at) FROM events \
         WHERE global_position > $1 AND aggregate_type IN ('Aircraft', 'InboxItem', 'PartsRequest')",
    )
    .bind(ingested_position)
    .fetch_one(store)
    .await?;
    let lag_seconds =
        oldest.map_or(0.0, |t| (chrono::Utc::now() - t).num_milliseconds().max(0) as f64 / 1000.0);
    Ok(IngestionLag { ingested_position, lag_events, lag_seconds })
}
