//! Full-text search across aircraft and documents (PostgreSQL `tsvector`, ranked).

use serde::Serialize;
use sqlx::PgPool;

use super::QueryError;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct SearchHit {
    /// `aircraft` or `document`.
    pub kind: String,
    #[cfg_attr(feature = "schemars", schemars(with = "uuid::Uuid"))]
    pub id: String,
    pub title: String,
    pub subtitle: String,
    pub rank: f32,
    /// The resource this hit is about.
    pub link: String,
}

/// Every word of `q` must match (as a prefix), e.g. `ra-890` finds RA-89001.
pub async fn search(pool: &PgPool, q: &str, limit: i64) -> Result<Vec<SearchHit>, QueryError> {
    let query = prefix_query(q).ok_or_else(|| QueryError::invalid("q", "must contain a letter or digit"))?;
    let hits = sqlx::query_as(
        "WITH query AS (SELECT to_tsquery('simple', $1) AS q) \
         SELECT * FROM ( \
           SELECT 'aircraft' AS kind, a.id, a.registration_number AS title, \
                  a.aircraft_type || ' ' || a.model || ' · ' || a.operator || ' · ' || a.status AS subtitle, \
                  ts_rank(a.search, query.q) AS rank, '/api/v1/aircraft/' || a.id AS link \
           FROM aircraft a, query WHERE a.search @@ query.q \
           UNION ALL \
           SELECT 'document', f.id, f.filename, coalesce(f.document_type, 'unclassified') || ' · ' || f.status, \
                  ts_rank(f.search, query.q), '/api/inbox/files/' || f.id \
           FROM inbox_files f, query WHERE f.search @@ query.q \
         ) hits ORDER BY rank DESC, title, id LIMIT $2",
    )
    .bind(query)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(hits)
}

/// `tsquery` text `w1:* & w2:*` from the letters and digits of `q`: no operator of the tsquery
/// syntax can come from the user.
fn prefix_query(q: &str) -> Option<String> {
    let words: Vec<String> = q
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(|w| format!("{}:*", w.to_lowercase()))
        .collect();
    (!words.is_empty()).then(|| words.join(" & "))
}

#[cfg(test)]
mod tests {
    #[test]
    fn user_text_becomes_prefix_terms_only() {
        assert_eq!(super::prefix_query("RA-890").as_deref(), Some("ra:* & 890:*"));
        assert_eq!(super::prefix_query("a' | !b & (c)").as_deref(), Some("a:* & b:* & c:*"));
        assert_eq!(super::prefix_query("!!!"), None);
    }
}
