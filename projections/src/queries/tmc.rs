//! TMC (parts) requests: list (newest first, filters, search, cursor pages) and one.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::Serialize;
use sqlx::{PgExecutor, Postgres, QueryBuilder};
use uuid::Uuid;

use super::page::{page_size, paginate};
use super::{Cursor, Page, QueryError};

/// The read model of one parts request.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartsRequestView {
    #[cfg_attr(feature = "openapi", schema(value_type = Uuid))]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Uuid))]
    pub aircraft_id: String,
    pub registration_number: Option<String>,
    pub part_number: String,
    pub description: String,
    pub quantity: i32,
    /// `directive` or `work_order`.
    pub reason_kind: String,
    /// The directive's number or the work order's reference.
    pub reason_reference: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Uuid>))]
    pub source_document_id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = klg_domain::tmc::PartsRequestStatus))]
    pub status: String,
    pub supplier: Option<String>,
    pub order_ref: Option<String>,
    pub serial_number: Option<String>,
    pub installed_on: Option<NaiveDate>,
    pub install_work_order: Option<String>,
    /// Why it was cancelled or rejected.
    pub closing_reason: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub approved_at: Option<DateTime<Utc>>,
    pub ordered_at: Option<DateTime<Utc>>,
    pub received_at: Option<DateTime<Utc>>,
    pub installed_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// Aggregate version (also the `ETag`).
    pub version: i64,
    pub last_position: i64,
}

const COLUMNS: &str = "t.id, t.aircraft_id, a.registration_number, t.part_number, t.description, t.quantity, \
    t.reason_kind, t.reason_reference, t.source_document_id, t.status, t.supplier, t.order_ref, t.serial_number, \
    t.installed_on, t.install_work_order, t.closing_reason, t.requested_at, t.approved_at, t.ordered_at, \
    t.received_at, t.installed_at, t.closed_at, t.updated_at, t.version, t.last_position";

const FROM: &str = "FROM tmc_requests t LEFT JOIN aircraft a ON a.id = t.aircraft_id";

/// Filters of the list; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct PartsFilter {
    pub status: Option<String>,
    pub aircraft_id: Option<Uuid>,
    /// Words that must each occur in the part number, description, reason, serial number,
    /// supplier, order or the aircraft's registration.
    pub q: Option<String>,
}

const SORT: &str = "-requested_at";

/// What `q` searches: the request's own text and its aircraft's registration.
pub const SEARCHED_TEXT: &str = "(t.part_number || ' ' || t.description || ' ' || t.reason_reference || ' ' \
    || coalesce(t.serial_number, '') || ' ' || coalesce(t.supplier, '') || ' ' || coalesce(t.order_ref, '') \
    || ' ' || coalesce(a.registration_number, ''))";

/// Requests matching `filter`, newest first.
pub async fn list(
    db: impl PgExecutor<'_>,
    filter: &PartsFilter,
    limit: Option<i64>,
    cursor: Option<&str>,
) -> Result<Page<PartsRequestView>, QueryError> {
    let limit = page_size(limit, 50)?;
    let cursor = cursor.map(|c| Cursor::decode(c, SORT)).transpose()?;
    let mut query = QueryBuilder::<Postgres>::new(format!("SELECT {COLUMNS} {FROM} WHERE true"));
    if let Some(status) = &filter.status {
        query.push(" AND t.status = ").push_bind(status.clone());
    }
    if let Some(aircraft_id) = filter.aircraft_id {
        query.push(" AND t.aircraft_id = ").push_bind(aircraft_id.to_string());
    }
    let words: Vec<String> =
        filter.q.as_deref().unwrap_or_default().split_whitespace().take(16).map(str::to_owned).collect();
    super::search::every_word_in(&mut query, SEARCHED_TEXT, &words);
    if let Some(cursor) = &cursor {
        let malformed = || QueryError::invalid("cursor", "not a cursor returned by this API");
        let requested: DateTime<Utc> = cursor.key.parse().map_err(|_| malformed())?;
        query
            .push(" AND (t.requested_at, t.id) < (")
            .push_bind(requested)
            .push(", ")
            .push_bind(cursor.id.clone())
            .push(")");
    }
    query.push(" ORDER BY t.requested_at DESC, t.id DESC").push(super::limit_clause(limit + 1));
    let rows: Vec<PartsRequestView> = query.build_query_as().fetch_all(db).await?;
    Ok(paginate(rows, limit, |row| Cursor {
        sort: SORT.into(),
        key: row.requested_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        id: row.id.clone(),
    }))
}

pub async fn get(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<PartsRequestView>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} {FROM} WHERE t.id = $1"))
        .bind(id.to_string())
        .fetch_optional(db)
        .await
}
