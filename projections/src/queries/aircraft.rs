//! Aircraft: list (filters, sort, cursor pages), one, and its history.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use klg_domain::aircraft::AircraftEvent;
use serde::{Deserialize, Serialize};
use sqlx::{PgExecutor, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::page::{page_size, paginate};
use super::{like_escape, Cursor, Page, QueryError};

/// The read model of one aircraft.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AircraftView {
    #[cfg_attr(feature = "openapi", schema(value_type = Uuid))]
    pub id: String,
    pub registration_number: String,
    pub aircraft_type: String,
    pub model: String,
    pub serial_number: String,
    pub operator: String,
    pub year_of_manufacture: Option<i32>,
    pub base_airport: Option<String>,
    pub notes: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = klg_domain::aircraft::AircraftStatus))]
    pub status: String,
    pub status_reason: Option<String>,
    pub status_changed_at: DateTime<Utc>,
    pub certificate_number: Option<String>,
    pub certificate_issued_on: Option<NaiveDate>,
    pub certificate_valid_until: Option<NaiveDate>,
    /// none, valid, expiring (within 30 days) or expired — as of today (UTC).
    #[sqlx(skip)]
    pub certificate_status: String,
    pub total_block_minutes: i64,
    #[sqlx(skip)]
    pub total_block_hours: f64,
    pub total_cycles: i64,
    pub flight_count: i64,
    pub last_flight_date: Option<NaiveDate>,
    /// Aggregate version (also the `ETag`).
    pub version: i64,
    /// Global log position of the last event applied.
    pub last_position: i64,
    pub registered_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub decommissioned_at: Option<DateTime<Utc>>,
}

const AIRCRAFT_COLUMNS: &str = "id, registration_number, aircraft_type, model, serial_number, operator, \
    year_of_manufacture, base_airport, notes, status, status_reason, status_changed_at, certificate_number, \
    certificate_issued_on, certificate_valid_until, total_block_minutes, total_cycles, \
    flight_count, last_flight_date, version, last_position, registered_at, updated_at, decommissioned_at";

impl AircraftView {
    /// Fills the fields derived at read time (they depend on today's date).
    fn derive(mut self, today: NaiveDate) -> Self {
        self.certificate_status = match self.certificate_valid_until {
            None => "none",
            Some(until) if until < today => "expired",
            Some(until) if (until - today).num_days() < super::insights::EXPIRY_WARNING_DAYS => "expiring",
            Some(_) => "valid",
        }
        .to_owned();
        self.total_block_hours = (self.total_block_minutes as f64 / 60.0 * 100.0).round() / 100.0;
        self
    }
}

/// Today (UTC): the date live answers derive certificate status against.
pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// Filters of the aircraft list; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct AircraftFilter {
    pub status: Option<String>,
    pub aircraft_type: Option<String>,
    /// Case-insensitive exact operator name.
    pub operator: Option<String>,
    /// Substring of registration number, model, serial number or operator.
    pub q: Option<String>,
}

/// Sort orders of the aircraft list (prefix `-` for descending).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AircraftSort {
    RegistrationNumber,
    UpdatedAt,
    RegisteredAt,
    TotalBlockHours,
}

impl AircraftSort {
    pub const NAMES: [&'static str; 4] =
        ["registration_number", "updated_at", "registered_at", "total_block_hours"];

    /// Parses `name` or `-name`; returns the sort and whether it is descending.
    pub fn parse(text: &str) -> Result<(Self, bool), QueryError> {
        let (descending, name) = match text.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, text),
        };
        let sort = match name {
            "registration_number" => Self::RegistrationNumber,
            "updated_at" => Self::UpdatedAt,
            "registered_at" => Self::RegisteredAt,
            "total_block_hours" => Self::TotalBlockHours,
            _ => {
                return Err(QueryError::invalid(
                    "sort",
                    format!("must be one of {} (prefix - for descending)", Self::NAMES.join(", ")),
                ))
            }
        };
        Ok((sort, descending))
    }

    /// Column and SQL type of the sort key (fixed strings, never user input).
    fn column(self) -> (&'static str, &'static str) {
        match self {
            Self::RegistrationNumber => ("registration_number", "text"),
            Self::UpdatedAt => ("updated_at", "timestamptz"),
            Self::RegisteredAt => ("registered_at", "timestamptz"),
            Self::TotalBlockHours => ("total_block_minutes", "bigint"),
        }
    }

    fn key_of(self, row: &AircraftView) -> String {
        let time = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Micros, true);
        match self {
            Self::RegistrationNumber => row.registration_number.clone(),
            Self::UpdatedAt => time(&row.updated_at),
            Self::RegisteredAt => time(&row.registered_at),
            Self::TotalBlockHours => row.total_block_minutes.to_string(),
        }
    }
}

/// A page of aircraft matching `filter`, in `sort` order; certificate status as of `today`.
pub async fn list(
    db: impl PgExecutor<'_>,
    filter: &AircraftFilter,
    sort: &str,
    limit: Option<i64>,
    cursor: Option<&str>,
    today: NaiveDate,
) -> Result<Page<AircraftView>, QueryError> {
    let (order, descending) = AircraftSort::parse(sort)?;
    let limit = page_size(limit, 50)?;
    let cursor = cursor.map(|c| Cursor::decode(c, sort)).transpose()?;
    let (column, sql_type) = order.column();
    let mut query =
        QueryBuilder::<Postgres>::new(format!("SELECT {AIRCRAFT_COLUMNS} FROM aircraft WHERE true"));
    if let Some(status) = &filter.status {
        query.push(" AND status = ").push_bind(status.clone());
    }
    if let Some(aircraft_type) = &filter.aircraft_type {
        query.push(" AND aircraft_type = ").push_bind(aircraft_type.to_ascii_uppercase());
    }
    if let Some(operator) = &filter.operator {
        query.push(" AND lower(operator) = lower(").push_bind(operator.clone()).push(")");
    }
    if let Some(q) = filter.q.as_deref().filter(|q| !q.trim().is_empty()) {
        let pattern = format!("%{}%", like_escape(q.trim()));
        query.push(
            " AND (registration_number || ' ' || model || ' ' || serial_number || ' ' || operator) ILIKE ",
        );
        query.push_bind(pattern);
    }
    let (comparison, direction) = if descending { ("<", "DESC") } else { (">", "ASC") };
    if let Some(cursor) = &cursor {
        query.push(format!(" AND ({column}, id) {comparison} (CAST("));
        query
            .push_bind(cursor.key.clone())
            .push(format!(" AS {sql_type}), "))
            .push_bind(cursor.id.clone())
            .push(")");
    }
    query
        .push(format!(" ORDER BY {column} {direction}, id {direction}"))
        .push(super::limit_clause(limit + 1));
    let rows: Vec<AircraftView> = query.build_query_as().fetch_all(db).await.map_err(cast_error)?;
    let rows = rows.into_iter().map(|r| r.derive(today)).collect();
    Ok(paginate(rows, limit, |row| Cursor {
        sort: sort.to_owned(),
        key: order.key_of(row),
        id: row.id.clone(),
    }))
}

/// A forged cursor whose key does not parse as the sort column's type.
fn cast_error(e: sqlx::Error) -> QueryError {
    match &e {
        sqlx::Error::Database(db) if db.code().is_some_and(|c| c.starts_with("22")) => {
            QueryError::invalid("cursor", "not a cursor returned by this API")
        }
        _ => QueryError::Database(e),
    }
}

/// One aircraft; certificate status as of `today`.
pub async fn get(
    db: impl PgExecutor<'_>,
    id: Uuid,
    today: NaiveDate,
) -> Result<Option<AircraftView>, sqlx::Error> {
    let row: Option<AircraftView> =
        sqlx::query_as(&format!("SELECT {AIRCRAFT_COLUMNS} FROM aircraft WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(db)
            .await?;
    Ok(row.map(|r| r.derive(today)))
}

/// One event in an aircraft's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryEntry {
    pub sequence: i64,
    pub global_position: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = Uuid))]
    pub event_id: String,
    pub event_type: String,
    pub event_version: String,
    pub recorded_at: DateTime<Utc>,
    pub actor: String,
    pub request_id: Option<String>,
    pub correlation_id: Option<String>,
    pub causation_id: Option<String>,
    pub summary: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub payload: serde_json::Value,
}

/// A row of `aircraft_history`: an event as stored.
#[derive(sqlx::FromRow)]
struct StoredHistoryRow {
    sequence: i64,
    global_position: i64,
    event_id: String,
    event_type: String,
    event_version: String,
    recorded_at: DateTime<Utc>,
    actor: String,
    request_id: Option<String>,
    correlation_id: Option<String>,
    causation_id: Option<String>,
    payload: serde_json::Value,
}

impl StoredHistoryRow {
    /// The entry: the event in its current shape, with its summary.
    fn entry(self) -> Result<HistoryEntry, QueryError> {
        let (event_version, payload) =
            klg_domain::upcast::upcast_payload(&self.event_type, self.event_version, self.payload);
        let event = AircraftEvent::deserialize(&payload).map_err(|e| {
            QueryError::Unfoldable(format!("aircraft event {} does not decode: {e}", self.global_position))
        })?;
        Ok(HistoryEntry {
            sequence: self.sequence,
            global_position: self.global_position,
            event_id: self.event_id,
            event_type: self.event_type,
            event_version,
            recorded_at: self.recorded_at,
            actor: self.actor,
            request_id: self.request_id,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            summary: super::summary::summarize(&event),
            payload,
        })
    }
}

/// The aircraft's events in sequence order, a page at a time.
pub async fn history(
    pool: &PgPool,
    id: Uuid,
    limit: Option<i64>,
    cursor: Option<&str>,
) -> Result<Page<HistoryEntry>, QueryError> {
    const SORT: &str = "sequence";
    let limit = page_size(limit, 100)?;
    let after: i64 = match cursor {
        Some(c) => {
            Cursor::decode(c, SORT)?.key.parse().map_err(|_| QueryError::invalid("cursor", "malformed"))?
        }
        None => 0,
    };
    // The stream as the log holds it (in the embedded store a view over `events`, read by its
    // primary key); each entry's summary is written from the event, upcast first.
    let rows: Vec<StoredHistoryRow> = sqlx::query_as(&format!(
        "SELECT sequence, global_position, event_id, event_type, event_version, recorded_at, actor, request_id, \
         correlation_id, causation_id, payload FROM aircraft_history \
         WHERE aircraft_id = $1 AND sequence > $2 ORDER BY sequence{}",
        super::limit_clause(limit + 1)
    ))
    .bind(id.to_string())
    .bind(after)
    .fetch_all(pool)
    .await?;
    let rows = rows.into_iter().map(StoredHistoryRow::entry).collect::<Result<Vec<_>, _>>()?;
    Ok(paginate(rows, limit, |row| Cursor {
        sort: SORT.into(),
        key: row.sequence.to_string(),
        id: id.to_string(),
    }))
}
