//! Insights and recommendations computed from the projections: what needs a planner's
//! attention, why, and what to do about it.

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::Serialize;
use sqlx::PgPool;

use super::directives::{DirectiveView, DueWindow};

/// Certificates ending within this many days are "expiring".
pub const EXPIRY_WARNING_DAYS: i64 = 30;
/// Documents untouched for longer than this need attention.
pub const DOCUMENT_ATTENTION_HOURS: i64 = 48;

/// Something about one aircraft or document that needs attention.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Insight {
    /// certificate_expired, certificate_missing, certificate_expiring, grounded_long,
    /// directive_overdue, directive_due_soon, parts_request_waiting, document_unclassified,
    /// document_unprocessed,
    /// document_linked_to_decommissioned.
    pub kind: String,
    /// critical, warning.
    pub severity: String,
    /// `aircraft`, `parts_request` or `document`.
    pub subject_type: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Uuid))]
    pub subject_id: String,
    /// Registration number or filename.
    pub subject: String,
    /// The resource this is about.
    pub link: String,
    /// Why this item is listed.
    pub reason: String,
    /// When the condition started or (for expiring certificates) will start.
    pub since: Option<DateTime<Utc>>,
}

/// What a planner should do, derived from one insight.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Recommendation {
    /// 1 (most urgent) to 3.
    pub priority: u8,
    pub action: String,
    /// The command endpoint that carries the action out.
    pub command: String,
    pub insight: Insight,
}

#[derive(sqlx::FromRow)]
struct Row {
    kind: String,
    subject_id: String,
    subject: String,
    detail: Option<String>,
    day: Option<NaiveDate>,
    since: Option<DateTime<Utc>>,
}

/// Insights as of `as_of`, most severe first.
pub async fn insights(
    pool: &PgPool,
    as_of: DateTime<Utc>,
    grounded_days: i64,
) -> Result<Vec<Insight>, sqlx::Error> {
    // Thresholds are computed here and bound as values: the same query then runs on
    // PostgreSQL and on RisingWave (no interval arithmetic or time-zone functions in SQL).
    let today = as_of.date_naive();
    let expiry_limit = today + chrono::Days::new(EXPIRY_WARNING_DAYS as u64);
    let grounded_before = as_of - chrono::Duration::days(grounded_days);
    let documents_before = as_of - chrono::Duration::hours(DOCUMENT_ATTENTION_HOURS);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT 'certificate_expired' AS kind, a.id AS subject_id, a.registration_number AS subject, \
                a.certificate_number AS detail, a.certificate_valid_until AS day, CAST(NULL AS timestamptz) AS since \
           FROM aircraft a WHERE a.status <> 'decommissioned' AND a.certificate_valid_until < $1 \
         UNION ALL \
         SELECT 'certificate_missing', a.id, a.registration_number, NULL, NULL, a.registered_at \
           FROM aircraft a WHERE a.status <> 'decommissioned' AND a.certificate_valid_until IS NULL \
         UNION ALL \
         SELECT 'certificate_expiring', a.id, a.registration_number, a.certificate_number, a.certificate_valid_until, NULL \
           FROM aircraft a WHERE a.status <> 'decommissioned' AND a.certificate_valid_until >= $1 \
            AND a.certificate_valid_until < $2 \
         UNION ALL \
         SELECT 'grounded_long', a.id, a.registration_number, a.status_reason, NULL, a.status_changed_at \
           FROM aircraft a WHERE a.status = 'grounded' AND a.status_changed_at < $3 \
         UNION ALL \
         SELECT 'document_unclassified', f.id, f.filename, NULL, NULL, f.created_at \
           FROM inbox_files f WHERE f.status = 'received' AND f.created_at < $4 \
         UNION ALL \
         SELECT 'parts_request_waiting', t.id, t.part_number, t.description, NULL, t.requested_at \
           FROM tmc_requests t WHERE t.status = 'requested' AND t.requested_at < $4 \
         UNION ALL \
         SELECT 'document_unprocessed', f.id, f.filename, f.document_type, NULL, f.classified_at \
           FROM inbox_files f WHERE f.status = 'classified' AND f.created_at < $4 \
         UNION ALL \
         SELECT 'document_linked_to_decommissioned', f.id, f.filename, a.registration_number, NULL, a.decommissioned_at \
           FROM inbox_files f JOIN aircraft a ON a.id = f.aircraft_id \
          WHERE a.status = 'decommissioned' AND f.status <> 'archived'",
    )
    .bind(today)
    .bind(expiry_limit)
    .bind(grounded_before)
    .bind(documents_before)
    .fetch_all(pool)
    .await?;
    let mut insights: Vec<Insight> = rows.into_iter().map(|r| explain(r, as_of, grounded_days)).collect();
    let window = DueWindow {
        days: Some(super::directives::DUE_SOON_DAYS),
        hours: Some(super::directives::DUE_SOON_HOURS),
        cycles: Some(super::directives::DUE_SOON_CYCLES),
    };
    insights.extend(super::directives::due(pool, window, today).await?.iter().map(directive_insight));
    insights.sort_by(|a, b| {
        (a.severity != "critical", &a.kind, &a.subject).cmp(&(b.severity != "critical", &b.kind, &b.subject))
    });
    Ok(insights)
}

/// An overdue (critical: the aircraft may not fly) or due-soon directive.
fn directive_insight(d: &DirectiveView) -> Insight {
    let overdue = d.due_state.as_deref() == Some("overdue");
    let (kind, severity, state) = if overdue {
        ("directive_overdue", "critical", "is overdue")
    } else {
        ("directive_due_soon", "warning", "falls due soon")
    };
    let since = match (overdue, d.next_due_on) {
        (true, Some(on)) if d.remaining_days.is_some_and(|days| days < 0) => {
            on.checked_add_days(Days::new(1)).map(|day| day.and_hms_opt(0, 0, 0).expect("midnight").and_utc())
        }
        _ => None,
    };
    Insight {
        kind: kind.to_owned(),
        severity: severity.to_owned(),
        subject_type: "aircraft".to_owned(),
        subject_id: d.aircraft_id.clone(),
        subject: d.registration_number.clone(),
        link: format!("/api/v1/aircraft/{}/directives", d.aircraft_id),
        reason: format!("Directive {} {state}: {}", d.number, d.describe_due()),
        since,
    }
}

fn explain(row: Row, as_of: DateTime<Utc>, grounded_days: i64) -> Insight {
    let detail = row.detail.clone().unwrap_or_default();
    let day = row.day.map(|d| d.to_string()).unwrap_or_default();
    let age_days = row.since.map_or(0, |s| (as_of - s).num_days());
    let age_hours = row.since.map_or(0, |s| (as_of - s).num_hours());
    let (severity, subject_type, reason) = match row.kind.as_str() {
        "certificate_expired" => ("critical", "aircraft", format!("Airworthiness certificate {detail} expired on {day}")),
        "certificate_missing" => ("critical", "aircraft", "No airworthiness certificate has been issued".to_owned()),
        "certificate_expiring" => (
            "warning",
            "aircraft",
            format!("Airworthiness certificate {detail} expires on {day}, within {EXPIRY_WARNING_DAYS} days"),
        ),
        "grounded_long" => (
            "warning",
            "aircraft",
            format!("Grounded for {age_days} days (more than {grounded_days}): {detail}"),
        ),
        "document_unclassified" => (
            "warning",
            "document",
            format!("Received {age_hours} h ago and still unclassified (limit {DOCUMENT_ATTENTION_HOURS} h)"),
        ),
        "parts_request_waiting" => (
            "warning",
            "parts_request",
            format!("{detail}: requested {age_hours} h ago and still awaiting approval (limit {DOCUMENT_ATTENTION_HOURS} h)"),
        ),
        "document_unprocessed" => (
            "warning",
            "document",
            format!("Classified as {detail} but unprocessed {age_hours} h after receipt (limit {DOCUMENT_ATTENTION_HOURS} h)"),
        ),
        _ => ("warning", "document", format!("Linked to {detail}, which is decommissioned")),
    };
    let link = match subject_type {
        "aircraft" => format!("/api/v1/aircraft/{}", row.subject_id),
        "parts_request" => format!("/api/tmc/{}", row.subject_id),
        _ => format!("/api/inbox/files/{}", row.subject_id),
    };
    let since = match row.kind.as_str() {
        "certificate_expired" | "certificate_expiring" => row
            .day
            .and_then(|d| d.checked_add_days(Days::new(1)))
            .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc()),
        _ => row.since,
    };
    Insight {
        kind: row.kind,
        severity: severity.to_owned(),
        subject_type: subject_type.to_owned(),
        subject_id: row.subject_id,
        subject: row.subject,
        link,
        reason,
        since,
    }
}

/// One recommendation per insight, most urgent first.
pub fn recommend(insights: Vec<Insight>) -> Vec<Recommendation> {
    let mut recommendations: Vec<Recommendation> = insights
        .into_iter()
        .map(|insight| {
            let id = insight.subject_id.clone();
            let subject = &insight.subject;
            let (priority, action, command) = match insight.kind.as_str() {
                "certificate_expired" | "certificate_missing" => (
                    1,
                    format!(
                        "Ground {subject} or issue a valid airworthiness certificate before its next flight"
                    ),
                    format!("POST /api/v1/aircraft/{id}/certificates"),
                ),
                "directive_overdue" => (
                    1,
                    format!("Comply with the overdue directive on {subject} and record it: the aircraft may not fly until then"),
                    format!("POST /api/v1/aircraft/{id}/directives/compliance"),
                ),
                "directive_due_soon" => (
                    2,
                    format!("Plan compliance with the directive falling due on {subject}"),
                    format!("POST /api/v1/aircraft/{id}/directives/compliance"),
                ),
                "certificate_expiring" => (
                    2,
                    format!("Plan the certificate renewal inspection of {subject}"),
                    format!("POST /api/v1/aircraft/{id}/certificates"),
                ),
                "grounded_long" => (
                    2,
                    format!("Review the grounding of {subject}: send it to maintenance or store it"),
                    format!("POST /api/v1/aircraft/{id}/status"),
                ),
                "document_unclassified" => {
                    (3, format!("Classify {subject}"), format!("POST /api/inbox/files/{id}/classify"))
                }
                "parts_request_waiting" => {
                    (3, format!("Approve or reject the request for {subject}"), format!("POST /api/tmc/{id}/approve"))
                }
                "document_unprocessed" => {
                    (3, format!("Process or reject {subject}"), format!("POST /api/inbox/files/{id}/process"))
                }
                _ => (
                    3,
                    format!("Link {subject} to an aircraft in service, or reject it"),
                    format!("POST /api/inbox/files/{id}/link"),
                ),
            };
            Recommendation { priority, action, command, insight }
        })
        .collect();
    recommendations.sort_by_key(|r| r.priority);
    recommendations
}
