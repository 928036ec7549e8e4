//! Inbox documents: list (newest first, filters, cursor pages) and one.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use sqlx::{PgExecutor, Postgres, QueryBuilder};
use uuid::Uuid;

use super::page::{page_size, paginate};
use super::{Cursor, Page, QueryError};

/// The read model of one inbox document.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InboxFileView {
    #[cfg_attr(feature = "openapi", schema(value_type = Uuid))]
    pub id: String,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    #[cfg_attr(feature = "openapi", schema(value_type = klg_domain::values::FileSource))]
    pub source: String,
    #[cfg_attr(feature = "openapi", schema(value_type = klg_domain::inbox::InboxStatus))]
    pub status: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<klg_domain::values::DocumentType>))]
    pub document_type: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Uuid>))]
    pub aircraft_id: Option<String>,
    pub processing_note: Option<String>,
    pub rejection_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub classified_at: Option<DateTime<Utc>>,
    pub processed_at: Option<DateTime<Utc>>,
    pub rejected_at: Option<DateTime<Utc>>,
    pub archived_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub last_position: i64,
    /// Where the file's bytes can be downloaded.
    pub content_url: String,
}

const FILE_COLUMNS: &str = "id, filename, content_type, size_bytes, sha256, source, status, document_type, \
    aircraft_id, processing_note, rejection_reason, created_at, updated_at, classified_at, processed_at, \
    rejected_at, archived_at, version, last_position, '/api/inbox/files/' || id || '/content' AS content_url";

#[derive(Debug, Clone, Default)]
pub struct InboxFilter {
    pub status: Option<String>,
    pub document_type: Option<String>,
    pub aircraft_id: Option<Uuid>,
}

const SORT: &str = "-created_at";

/// Documents matching `filter`, newest first.
pub async fn list(
    db: impl PgExecutor<'_>,
    filter: &InboxFilter,
    limit: Option<i64>,
    cursor: Option<&str>,
) -> Result<Page<InboxFileView>, QueryError> {
    let limit = page_size(limit, 50)?;
    let cursor = cursor.map(|c| Cursor::decode(c, SORT)).transpose()?;
    let mut query =
        QueryBuilder::<Postgres>::new(format!("SELECT {FILE_COLUMNS} FROM inbox_files WHERE true"));
    if let Some(status) = &filter.status {
        query.push(" AND status = ").push_bind(status.clone());
    }
    if let Some(document_type) = &filter.document_type {
        query.push(" AND document_type = ").push_bind(document_type.clone());
    }
    if let Some(aircraft_id) = filter.aircraft_id {
        query.push(" AND aircraft_id = ").push_bind(aircraft_id.to_string());
    }
    if let Some(cursor) = &cursor {
        let malformed = || QueryError::invalid("cursor", "not a cursor returned by this API");
        let created: DateTime<Utc> = cursor.key.parse().map_err(|_| malformed())?;
        query
            .push(" AND (created_at, id) < (")
            .push_bind(created)
            .push(", ")
            .push_bind(cursor.id.clone())
            .push(")");
    }
    query.push(" ORDER BY created_at DESC, id DESC").push(super::limit_clause(limit + 1));
    let rows: Vec<InboxFileView> = query.build_query_as().fetch_all(db).await?;
    Ok(paginate(rows, limit, |row| Cursor {
        sort: SORT.into(),
        key: row.created_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        id: row.id.clone(),
    }))
}

pub async fn get(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<InboxFileView>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {FILE_COLUMNS} FROM inbox_files WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(db)
        .await
}
