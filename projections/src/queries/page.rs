//! Keyset (cursor) pagination. A cursor names the sort it belongs to and the last row's sort
//! key and id; it is opaque to clients (base64url JSON).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// Largest page a client may ask for.
pub const MAX_PAGE_SIZE: i64 = 200;

/// One page of results and the cursor of the next, if there is one.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The sort this cursor continues.
    #[serde(rename = "s")]
    pub sort: String,
    /// The last row's sort key, as PostgreSQL's text form of the value.
    #[serde(rename = "k")]
    pub key: String,
    /// The last row's id (tie-breaker).
    #[serde(rename = "i")]
    pub id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CursorError {
    #[error("not a cursor returned by this API")]
    Malformed,
    #[error("the cursor belongs to another sort order ({0})")]
    OtherSort(String),
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).expect("cursor serializes"))
    }

    /// Decodes a cursor made for `sort`.
    pub fn decode(text: &str, sort: &str) -> Result<Self, CursorError> {
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| CursorError::Malformed)?;
        let cursor: Self = serde_json::from_slice(&bytes).map_err(|_| CursorError::Malformed)?;
        if cursor.sort != sort {
            return Err(CursorError::OtherSort(cursor.sort));
        }
        Ok(cursor)
    }
}

/// Validates a requested page size.
pub fn page_size(limit: Option<i64>, default: i64) -> Result<i64, super::QueryError> {
    match limit.unwrap_or(default) {
        n @ 1..=MAX_PAGE_SIZE => Ok(n),
        _ => Err(super::QueryError::invalid("limit", format!("must be between 1 and {MAX_PAGE_SIZE}"))),
    }
}

/// ` LIMIT n`, written into the SQL text: RisingWave must know a limit when it prepares a
/// statement (a bound `LIMIT $1` fails there), and an `i64` cannot inject anything.
pub fn limit_clause(limit: i64) -> String {
    format!(" LIMIT {limit}")
}

/// ` OFFSET n`, written into the SQL text for the same reason as [`limit_clause`].
pub fn offset_clause(offset: i64) -> String {
    format!(" OFFSET {offset}")
}

/// Splits `limit + 1` fetched rows into a page, making the next cursor from the last kept row.
pub fn paginate<T>(mut rows: Vec<T>, limit: i64, cursor_of: impl Fn(&T) -> Cursor) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|r| cursor_of(r).encode()) } else { None };
    Page { items: rows, next_cursor }
}
