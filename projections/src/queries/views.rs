//! The streaming views catalogue: a fixed list of named relations that clients may read with
//! equality filters on declared columns. Names of views and columns come only from this
//! catalogue; request values are parsed by column type and bound, never interpolated.

use serde::Serialize;
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, QueryBuilder, Row};

use super::page::page_size;
use super::QueryError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ColumnType {
    Text,
    Bigint,
    Double,
    Timestamptz,
}

impl ColumnType {
    fn sql(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Bigint => "bigint",
            Self::Double => "double precision",
            Self::Timestamptz => "timestamptz",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Column {
    pub name: &'static str,
    #[serde(rename = "type")]
    pub column_type: ColumnType,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ViewDef {
    pub name: &'static str,
    pub description: &'static str,
    pub columns: Vec<Column>,
    /// Rows come in this order (unique: it ends with the view's key), so pages are stable.
    pub order_by: Vec<&'static str>,
}

const fn col(name: &'static str, column_type: ColumnType) -> Column {
    Column { name, column_type }
}

/// The views clients may read.
pub fn catalogue() -> Vec<ViewDef> {
    use ColumnType::*;
    vec![
        ViewDef {
            name: "aircraft_stats",
            description: "Per aircraft (a registration number passed on after a decommissioning has a \
                          row per airframe): number of its events and the time of the last one",
            columns: vec![
                col("aircraft_id", Text),
                col("registration_number", Text),
                col("total_events", Bigint),
                col("last_event", Timestamptz),
            ],
            order_by: vec!["registration_number", "aircraft_id"],
        },
        ViewDef {
            name: "aircraft_event_stats_hourly",
            description: "Per aircraft and hour (event time, UTC): events in total and per type \
                      (Flink job of the same name in the full stack)",
            columns: vec![
                col("aircraft_id", Text),
                col("registration_number", Text),
                col("window_start", Timestamptz),
                col("window_end", Timestamptz),
                col("total_events", Bigint),
                col("registered", Bigint),
                col("details_updated", Bigint),
                col("status_changes", Bigint),
                col("certificates_issued", Bigint),
                col("flights_logged", Bigint),
                col("decommissioned", Bigint),
            ],
            order_by: vec!["registration_number", "aircraft_id", "window_start"],
        },
        ViewDef {
            name: "fleet_utilization_daily",
            description:
                "Per aircraft and day (event time, UTC): block minutes and cycles that day and over the 7 \
                          days ending with it (Flink job of the same name in the full stack)",
            columns: vec![
                col("aircraft_id", Text),
                col("registration_number", Text),
                col("window_start", Timestamptz),
                col("window_end", Timestamptz),
                col("block_minutes", Bigint),
                col("cycles", Bigint),
                col("rolling_7d_block_minutes", Bigint),
                col("rolling_7d_cycles", Bigint),
            ],
            order_by: vec!["aircraft_id", "window_start"],
        },
        ViewDef {
            name: "inbox_intake_hourly",
            description:
                "Per hour (event time, UTC) and document type: documents received, classified, processed \
                          and rejected, with average and longest seconds from receipt to processing",
            columns: vec![
                col("window_start", Timestamptz),
                col("window_end", Timestamptz),
                col("document_type", Text),
                col("received", Bigint),
                col("classified", Bigint),
                col("processed", Bigint),
                col("rejected", Bigint),
                col("avg_processing_seconds", Double),
                col("max_processing_seconds", Bigint),
            ],
            order_by: vec!["window_start", "document_type"],
        },
    ]
}

/// Rows of one view as JSON objects.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ViewRows {
    pub view: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub rows: Vec<Value>,
    pub limit: i64,
    pub offset: i64,
}

/// Reads `view` with `filters` (column = value), `limit` and `offset`. `Ok(None)` for a view
/// not in the catalogue.
pub async fn read(
    pool: &PgPool,
    view: &str,
    filters: &[(String, String)],
    limit: Option<i64>,
    offset: Option<i64>,
) -> Result<Option<ViewRows>, QueryError> {
    let Some(def) = catalogue().into_iter().find(|v| v.name == view) else {
        return Ok(None);
    };
    let limit = page_size(limit, 100)?;
    let offset = offset.unwrap_or(0);
    if offset < 0 {
        return Err(QueryError::invalid("offset", "must not be negative"));
    }
    let columns: Vec<&str> = def.columns.iter().map(|c| c.name).collect();
    // Plain columns, decoded by their declared type: a whole-row `to_jsonb(v)` is PostgreSQL
    // only (RisingWave's binder resolves a bare name only as a column).
    let mut query =
        QueryBuilder::<Postgres>::new(format!("SELECT {} FROM {} WHERE true", columns.join(", "), def.name));
    for (name, value) in filters {
        let column = def.columns.iter().find(|c| c.name == name).ok_or_else(|| {
            QueryError::invalid(
                name.clone(),
                format!("not a column of {view}; columns: {}", columns.join(", ")),
            )
        })?;
        query.push(format!(" AND {} = ", column.name));
        bind_typed(&mut query, column, value)?;
    }
    query
        .push(format!(" ORDER BY {}", def.order_by.join(", ")))
        .push(super::limit_clause(limit))
        .push(super::offset_clause(offset));
    let rows = query.build().fetch_all(pool).await.map_err(|e| match &e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("42P01") => {
            QueryError::NotAvailable(format!("view {view} is not available in this read store yet"))
        }
        _ => QueryError::Database(e),
    })?;
    let rows = rows.iter().map(|row| to_json(row, &def.columns)).collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Some(ViewRows { view: def.name.to_owned(), rows, limit, offset }))
}

/// One row as a JSON object, each column decoded by its declared type.
fn to_json(row: &PgRow, columns: &[Column]) -> Result<Value, sqlx::Error> {
    let mut object = serde_json::Map::new();
    for column in columns {
        let name = column.name;
        let value = match column.column_type {
            ColumnType::Text => row.try_get::<Option<String>, _>(name)?.map(Value::from),
            ColumnType::Bigint => row.try_get::<Option<i64>, _>(name)?.map(Value::from),
            ColumnType::Double => row.try_get::<Option<f64>, _>(name)?.map(Value::from),
            ColumnType::Timestamptz => timestamp(row, name)?
                .map(|t| Value::from(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))),
        };
        object.insert(name.to_owned(), value.unwrap_or(Value::Null));
    }
    Ok(Value::Object(object))
}

/// A `timestamptz`, or a `timestamp` (Flink's sinks write UTC wall-clock times), as UTC.
fn timestamp(row: &PgRow, name: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>, sqlx::Error> {
    match row.try_get::<Option<chrono::DateTime<chrono::Utc>>, _>(name) {
        Err(sqlx::Error::ColumnDecode { .. }) => {
            Ok(row.try_get::<Option<chrono::NaiveDateTime>, _>(name)?.map(|t| t.and_utc()))
        }
        other => other,
    }
}

fn bind_typed(
    query: &mut QueryBuilder<'_, Postgres>,
    column: &Column,
    value: &str,
) -> Result<(), QueryError> {
    let invalid = |what: &str| QueryError::invalid(column.name, format!("must be {what}"));
    match column.column_type {
        ColumnType::Text => query.push_bind(value.to_owned()),
        ColumnType::Bigint => query.push_bind(value.parse::<i64>().map_err(|_| invalid("an integer"))?),
        ColumnType::Double => query.push_bind(value.parse::<f64>().map_err(|_| invalid("a number"))?),
        ColumnType::Timestamptz => query.push_bind(
            chrono::DateTime::parse_from_rfc3339(value)
                .map_err(|_| invalid("an RFC 3339 timestamp"))?
                .to_utc(),
        ),
    };
    query.push(format!("::{}", column.column_type.sql()));
    Ok(())
}
