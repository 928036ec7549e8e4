//! Full-text search across aircraft, their airworthiness directives, and documents (PostgreSQL
//! `tsvector`, ranked).

use serde::Serialize;
use sqlx::PgPool;

use super::QueryError;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchHit {
    /// `aircraft`, `directive`, `parts_request` or `document`.
    pub kind: String,
    /// The aircraft's, request's or document's id (a directive's: its aircraft's).
    #[cfg_attr(feature = "openapi", schema(value_type = Uuid))]
    pub id: String,
    pub title: String,
    pub subtitle: String,
    pub rank: f32,
    /// The resource this hit is about.
    pub link: String,
}

/// How the read store can search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchMode {
    /// PostgreSQL full-text search over the projections' `search` vectors, ranked by `ts_rank`.
    FullText,
    /// Substring matching (RisingWave has no text-search vectors): every word must occur;
    /// ranked by how many of the words occur in the title.
    Substring,
}

/// Finds aircraft and documents matching every word of `q`.
pub async fn search(
    pool: &PgPool,
    q: &str,
    limit: i64,
    mode: SearchMode,
) -> Result<Vec<SearchHit>, QueryError> {
    match mode {
        SearchMode::FullText => full_text(pool, q, limit).await,
        SearchMode::Substring => substring(pool, q, limit).await,
    }
}

/// Every word of `q` must match (as a prefix), e.g. `ra-890` finds RA-89001.
async fn full_text(pool: &PgPool, q: &str, limit: i64) -> Result<Vec<SearchHit>, QueryError> {
    let query = prefix_query(q).ok_or_else(|| QueryError::invalid("q", "must contain a letter or digit"))?;
    let hits = sqlx::query_as(&format!(
        "WITH query AS (SELECT to_tsquery('simple', $1) AS q) \
         SELECT * FROM ( \
           SELECT 'aircraft' AS kind, a.id, a.registration_number AS title, \
                  a.aircraft_type || ' ' || a.model || ' · ' || a.operator || ' · ' || a.status AS subtitle, \
                  ts_rank(a.search, query.q) AS rank, '/api/v1/aircraft/' || a.id AS link \
           FROM aircraft a, query WHERE a.search @@ query.q \
           UNION ALL \
           SELECT 'directive', d.aircraft_id, d.number, {DIRECTIVE_SUBTITLE}, ts_rank(d.search, query.q), \
                  '/api/v1/aircraft/' || d.aircraft_id || '/directives' \
           FROM (SELECT to_tsvector('simple', regexp_replace({DIRECTIVE_TEXT}, '[-_./\\\\,;:()]+', ' ', 'g')) \
                        AS search, d.* \
                 FROM (SELECT d.*, a.registration_number FROM aircraft_directives d \
                       JOIN aircraft a ON a.id = d.aircraft_id) d) d, query \
           WHERE d.search @@ query.q \
           UNION ALL \
           SELECT 'parts_request', p.id, p.part_number, p.subtitle, ts_rank(p.search, query.q), \
                  '/api/tmc/' || p.id \
           FROM (SELECT t.id, t.part_number, {PARTS_SUBTITLE} AS subtitle, \
                        to_tsvector('simple', regexp_replace({PARTS_TEXT}, '[-_./\\\\,;:()]+', ' ', 'g')) AS search \
                 FROM tmc_requests t LEFT JOIN aircraft a ON a.id = t.aircraft_id) p, query \
           WHERE p.search @@ query.q \
           UNION ALL \
           SELECT 'document', f.id, f.filename, coalesce(f.document_type, 'unclassified') || ' · ' || f.status, \
                  ts_rank(f.search, query.q), '/api/inbox/files/' || f.id \
           FROM inbox_files f, query WHERE f.search @@ query.q \
         ) hits ORDER BY rank DESC, title, id{}",
        super::limit_clause(limit)
    ))
    .bind(query)
    .fetch_all(pool)
    .await?;
    Ok(hits)
}

async fn substring(pool: &PgPool, q: &str, limit: i64) -> Result<Vec<SearchHit>, QueryError> {
    let words = words(q);
    if words.is_empty() {
        return Err(QueryError::invalid("q", "must contain a letter or digit"));
    }
    let aircraft_text = "(a.registration_number || ' ' || a.aircraft_type || ' ' || a.model || ' ' || a.serial_number \
                          || ' ' || a.operator || ' ' || coalesce(a.base_airport, '') || ' ' || coalesce(a.notes, ''))";
    let document_text =
        "(f.filename || ' ' || coalesce(f.document_type, '') || ' ' || coalesce(f.processing_note, '') \
                          || ' ' || coalesce(f.rejection_reason, ''))";
    let mut query = sqlx::QueryBuilder::<sqlx::Postgres>::new("SELECT * FROM (SELECT 'aircraft' AS kind, a.id, \
         a.registration_number AS title, a.aircraft_type || ' ' || a.model || ' · ' || a.operator || ' · ' || a.status \
         AS subtitle, CAST(0 AS real) AS rank, '/api/v1/aircraft/' || a.id AS link FROM aircraft a WHERE true");
    every_word_in(&mut query, aircraft_text, &words);
    query.push(format!(
        " UNION ALL SELECT 'directive', d.aircraft_id, d.number, {DIRECTIVE_SUBTITLE}, CAST(0 AS real), \
         '/api/v1/aircraft/' || d.aircraft_id || '/directives' FROM (SELECT d.*, a.registration_number \
         FROM aircraft_directives d JOIN aircraft a ON a.id = d.aircraft_id) d WHERE true"
    ));
    every_word_in(&mut query, DIRECTIVE_TEXT, &words);
    query.push(format!(
        " UNION ALL SELECT 'parts_request', t.id, t.part_number, {PARTS_SUBTITLE}, CAST(0 AS real), \
         '/api/tmc/' || t.id FROM tmc_requests t LEFT JOIN aircraft a ON a.id = t.aircraft_id WHERE true"
    ));
    every_word_in(&mut query, PARTS_TEXT, &words);
    query.push(
        " UNION ALL SELECT 'document', f.id, f.filename, coalesce(f.document_type, 'unclassified') || ' · ' \
         || f.status, CAST(0 AS real), '/api/inbox/files/' || f.id FROM inbox_files f WHERE true",
    );
    every_word_in(&mut query, document_text, &words);
    query.push(") hits ORDER BY title, id").push(super::limit_clause(limit));
    let mut hits: Vec<SearchHit> = query.build_query_as().fetch_all(pool).await?;
    for hit in &mut hits {
        let title = hit.title.to_lowercase();
        hit.rank = words.iter().filter(|w| title.contains(w.as_str())).count() as f32 / words.len() as f32;
    }
    hits.sort_by(|a, b| b.rank.total_cmp(&a.rank).then_with(|| a.title.cmp(&b.title)));
    Ok(hits)
}

/// `AND <text> ILIKE '%word%'` for each word: every word must occur in `text`.
pub(super) fn every_word_in(
    query: &mut sqlx::QueryBuilder<'_, sqlx::Postgres>,
    text: &str,
    words: &[String],
) {
    for word in words {
        query.push(format!(" AND {text} ILIKE ")).push_bind(format!("%{}%", super::like_escape(word)));
    }
}

/// What a directive is found by: its number and revision, the aircraft, the work order and who
/// did it (columns of `aircraft_directives` with the aircraft's registration).
const DIRECTIVE_TEXT: &str =
    "(d.number || ' ' || coalesce(d.revision, '') || ' ' || d.registration_number || ' ' \
                              || coalesce(d.work_order, '') || ' ' || coalesce(d.performed_by, ''))";
/// What a parts request is found by (see `tmc::SEARCHED_TEXT`).
const PARTS_TEXT: &str = super::tmc::SEARCHED_TEXT;
const PARTS_SUBTITLE: &str =
    "t.description || ' · ' || coalesce(a.registration_number, t.aircraft_id) || ' · ' || t.status";
const DIRECTIVE_SUBTITLE: &str = "d.registration_number || ' · ' || d.status";

/// The letters-and-digits words of `q`, lower-cased (at most 16).
fn words(q: &str) -> Vec<String> {
    q.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(str::to_lowercase)
        .collect()
}

/// `tsquery` text `w1:* & w2:*` from the letters and digits of `q`: no operator of the tsquery
/// syntax can come from the user.
fn prefix_query(q: &str) -> Option<String> {
    let words: Vec<String> = words(q).into_iter().map(|w| format!("{w}:*")).collect();
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
