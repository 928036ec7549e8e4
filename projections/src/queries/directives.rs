//! Airworthiness directives: one aircraft's AD status, and the fleet-wide list of directives
//! falling due. What is left (days, hours, cycles) is derived when read, from today and the
//! aircraft's current totals, with the domain's own due computation.

use chrono::{DateTime, NaiveDate, Utc};
use klg_domain::aircraft::directives::{DueLimits, Remaining, Standing};
use serde::Serialize;
use sqlx::PgExecutor;

use super::QueryError;

/// A directive is "due soon" within this many days, flight hours or cycles of a limit.
pub const DUE_SOON_DAYS: i64 = 30;
pub const DUE_SOON_HOURS: i64 = 50;
pub const DUE_SOON_CYCLES: i64 = 50;

/// One directive on one aircraft's record.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DirectiveView {
    #[cfg_attr(feature = "openapi", schema(value_type = Uuid))]
    pub aircraft_id: String,
    pub registration_number: String,
    pub number: String,
    pub revision: Option<String>,
    /// The inbox document the directive was recorded from.
    #[cfg_attr(feature = "openapi", schema(value_type = Uuid))]
    pub document_id: String,
    pub applicable: bool,
    pub not_applicable_reason: Option<String>,
    /// Time allowed for first compliance, from the assessment.
    pub comply_within_days: Option<i32>,
    pub comply_within_hours: Option<i32>,
    pub comply_within_cycles: Option<i32>,
    pub assessed_at: DateTime<Utc>,
    /// not_applicable, open (awaiting compliance), recurring (complied, due again) or complied
    /// (closed).
    pub status: String,
    /// inspection, modification, part_replacement or terminating_action.
    pub method: Option<String>,
    pub done_on: Option<NaiveDate>,
    #[serde(skip)]
    pub block_minutes_at: Option<i64>,
    /// The aircraft's total flight hours when it was done.
    #[sqlx(skip)]
    pub hours_at: Option<f64>,
    pub cycles_at: Option<i64>,
    pub performed_by: Option<String>,
    pub work_order: Option<String>,
    /// Repeat interval of a recurring directive.
    pub interval_days: Option<i32>,
    pub interval_hours: Option<i32>,
    pub interval_cycles: Option<i32>,
    pub complied_at: Option<DateTime<Utc>>,
    /// When it next falls due — whichever of these comes first.
    pub next_due_on: Option<NaiveDate>,
    #[serde(skip)]
    pub next_due_block_minutes: Option<i64>,
    #[sqlx(skip)]
    pub next_due_hours: Option<f64>,
    pub next_due_cycles: Option<i64>,
    /// What is left before each limit (negative: passed), as of today and the current totals.
    #[sqlx(skip)]
    pub remaining_days: Option<i64>,
    #[sqlx(skip)]
    pub remaining_hours: Option<f64>,
    #[sqlx(skip)]
    pub remaining_cycles: Option<i64>,
    /// overdue (the aircraft may not fly), due_soon, ok; absent when nothing is due.
    #[sqlx(skip)]
    pub due_state: Option<String>,
    #[serde(skip)]
    pub total_block_minutes: i64,
    #[serde(skip)]
    pub total_cycles: i64,
    /// The aircraft event that last changed this directive.
    pub version: i64,
    pub last_position: i64,
}

/// The columns, with the aircraft's registration and totals.
const COLUMNS: &str = "d.aircraft_id, a.registration_number, d.number, d.revision, d.document_id, d.applicable, \
    d.not_applicable_reason, d.comply_within_days, d.comply_within_hours, d.comply_within_cycles, d.assessed_at, \
    d.status, d.method, d.done_on, d.block_minutes_at, d.cycles_at, d.performed_by, d.work_order, d.interval_days, \
    d.interval_hours, d.interval_cycles, d.complied_at, d.next_due_on, d.next_due_block_minutes, d.next_due_cycles, \
    a.total_block_minutes, a.total_cycles, d.version, d.last_position";

fn hours(minutes: i64) -> f64 {
    (minutes as f64 / 60.0 * 100.0).round() / 100.0
}

impl DirectiveView {
    /// The limits it falls due at, if any.
    fn limits(&self) -> Option<DueLimits> {
        let unsigned = |v: Option<i64>| v.map(|v| v.max(0) as u64);
        let limits = DueLimits {
            on: self.next_due_on,
            block_minutes: unsigned(self.next_due_block_minutes),
            cycles: unsigned(self.next_due_cycles),
        };
        (limits.on.is_some() || limits.block_minutes.is_some() || limits.cycles.is_some()).then_some(limits)
    }

    /// What is left as of `today` and the aircraft's totals.
    pub fn remaining(&self, today: NaiveDate) -> Option<Remaining> {
        let now = Standing {
            date: today,
            block_minutes: self.total_block_minutes.max(0) as u64,
            cycles: self.total_cycles.max(0) as u64,
        };
        self.limits().map(|limits| limits.remaining(now))
    }

    /// Fills the fields derived at read time.
    fn derive(mut self, today: NaiveDate) -> Self {
        self.hours_at = self.block_minutes_at.map(hours);
        self.next_due_hours = self.next_due_block_minutes.map(hours);
        if let Some(left) = self.remaining(today) {
            self.remaining_days = left.days;
            self.remaining_hours = left.block_minutes.map(hours);
            self.remaining_cycles = left.cycles;
            let state = if left.is_overdue() {
                "overdue"
            } else if left.within(Some(DUE_SOON_DAYS), Some(DUE_SOON_HOURS), Some(DUE_SOON_CYCLES)) {
                "due_soon"
            } else {
                "ok"
            };
            self.due_state = Some(state.to_owned());
        }
        self
    }

    /// Most urgent first: overdue, then by the nearest date, then by registration and number.
    fn urgency(&self) -> (u8, i64, String, String) {
        let rank = match self.due_state.as_deref() {
            Some("overdue") => 0,
            Some("due_soon") => 1,
            Some(_) => 2,
            None => 3,
        };
        let days = self.remaining_days.unwrap_or(i64::MAX);
        (rank, days, self.registration_number.clone(), self.number.clone())
    }
}

/// Every directive recorded for one aircraft, by number.
pub async fn for_aircraft(
    db: impl PgExecutor<'_>,
    aircraft_id: &str,
    today: NaiveDate,
) -> Result<Vec<DirectiveView>, QueryError> {
    let rows: Vec<DirectiveView> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM aircraft_directives d JOIN aircraft a ON a.id = d.aircraft_id \
         WHERE d.aircraft_id = $1 ORDER BY d.number"
    ))
    .bind(aircraft_id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| r.derive(today)).collect())
}

/// How far ahead the due list looks; a directive is listed when any of its limits falls within
/// the window (overdue ones always are).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueWindow {
    pub days: Option<i64>,
    pub hours: Option<i64>,
    pub cycles: Option<i64>,
}

impl DueWindow {
    /// The window given, or the due-soon thresholds when none is.
    pub fn new(days: Option<i64>, hours: Option<i64>, cycles: Option<i64>) -> Result<Self, QueryError> {
        for (field, value) in [("within_days", days), ("within_hours", hours), ("within_cycles", cycles)] {
            if value.is_some_and(|v| !(0..=36_500).contains(&v)) {
                return Err(QueryError::invalid(field, "must be between 0 and 36500"));
            }
        }
        if days.is_none() && hours.is_none() && cycles.is_none() {
            return Ok(Self {
                days: Some(DUE_SOON_DAYS),
                hours: Some(DUE_SOON_HOURS),
                cycles: Some(DUE_SOON_CYCLES),
            });
        }
        Ok(Self { days, hours, cycles })
    }
}

/// Directives of aircraft in service falling due within `window` of `today`, most urgent first.
pub async fn due(
    db: impl PgExecutor<'_>,
    window: DueWindow,
    today: NaiveDate,
) -> Result<Vec<DirectiveView>, sqlx::Error> {
    // Limits are bound as values (the date computed here): the same SQL runs on RisingWave.
    let last_day = window.days.map(|d| today + chrono::Days::new(d as u64));
    let rows: Vec<DirectiveView> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM aircraft_directives d JOIN aircraft a ON a.id = d.aircraft_id \
         WHERE a.status <> 'decommissioned' AND d.status IN ('open', 'recurring') AND ( \
               d.next_due_on < $1 OR d.next_due_block_minutes <= a.total_block_minutes \
            OR d.next_due_cycles <= a.total_cycles \
            OR d.next_due_on <= $2 \
            OR d.next_due_block_minutes - a.total_block_minutes <= $3 \
            OR d.next_due_cycles - a.total_cycles <= $4)"
    ))
    .bind(today)
    .bind(last_day)
    .bind(window.hours.map(|h| h * 60))
    .bind(window.cycles)
    .fetch_all(db)
    .await?;
    let mut rows: Vec<DirectiveView> = rows.into_iter().map(|r| r.derive(today)).collect();
    rows.sort_by_key(DirectiveView::urgency);
    Ok(rows)
}

impl DirectiveView {
    /// Each limit with what is left of it: "due on 2025-07-01 (in 16 days), at 1234.5 FH (12.5 h
    /// left), at 5000 FC (40 left)".
    pub fn describe_due(&self) -> String {
        let mut parts = vec![];
        if let (Some(on), Some(days)) = (self.next_due_on, self.remaining_days) {
            let when = match days {
                d if d < 0 => format!("{} days ago", -d),
                0 => "today".to_owned(),
                d => format!("in {d} days"),
            };
            parts.push(format!("due on {on} ({when})"));
        }
        if let (Some(at), Some(left)) = (self.next_due_hours, self.remaining_hours) {
            parts.push(format!("at {at} FH ({left} h left)"));
        }
        if let (Some(at), Some(left)) = (self.next_due_cycles, self.remaining_cycles) {
            parts.push(format!("at {at} FC ({left} left)"));
        }
        parts.join(", ")
    }
}
