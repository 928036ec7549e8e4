//! Airworthiness directives on an aircraft's record: applicability, compliance, and when each
//! one falls due again. Pure: the aggregate decides with these, the read side shows them.
//!
//! A directive falls due at whichever of its limits comes first: a calendar date, a total of
//! flight (block) hours, a total of landing cycles. The date limit includes its day (a flight
//! on the due date is allowed); the hours and cycles limits are consumed by flying, so a flight
//! that would take a total past its limit is refused, and a directive with no hours or cycles
//! left is overdue.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::values::{DirectiveNumber, DirectiveRevision, Name, Reason, WorkOrderRef};

/// How a directive was complied with. A terminating action ends a recurring directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ComplianceMethod {
    Inspection,
    Modification,
    PartReplacement,
    TerminatingAction,
}

impl ComplianceMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inspection => "inspection",
            Self::Modification => "modification",
            Self::PartReplacement => "part_replacement",
            Self::TerminatingAction => "terminating_action",
        }
    }
}

/// A span of calendar days, flight hours and/or landing cycles — whichever ends first. Used
/// for a recurring directive's repeat interval and for the time allowed for first compliance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interval {
    pub days: Option<u32>,
    pub hours: Option<u32>,
    pub cycles: Option<u32>,
}

impl Interval {
    /// At least one limit, each more than zero and at most a century's worth (36,500 days,
    /// 1,000,000 hours or cycles). The error names the field at fault.
    pub fn new(
        days: Option<u32>,
        hours: Option<u32>,
        cycles: Option<u32>,
    ) -> Result<Self, (&'static str, String)> {
        for (field, value, most) in
            [("days", days, 36_500), ("hours", hours, 1_000_000), ("cycles", cycles, 1_000_000)]
        {
            if value.is_some_and(|v| v == 0 || v > most) {
                return Err((field, format!("must be between 1 and {most}")));
            }
        }
        if days.is_none() && hours.is_none() && cycles.is_none() {
            return Err(("days", "an interval needs days, hours or cycles".into()));
        }
        Ok(Self { days, hours, cycles })
    }
}

/// Where an aircraft stands: a date and its totals then.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    pub date: NaiveDate,
    pub block_minutes: u64,
    pub cycles: u64,
}

/// The limits at which a directive falls due; `None` in a field: no limit of that kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueLimits {
    pub on: Option<NaiveDate>,
    pub block_minutes: Option<u64>,
    pub cycles: Option<u64>,
}

impl DueLimits {
    /// Due `interval` after `from`.
    pub fn after(interval: Interval, from: Standing) -> Self {
        Self {
            on: interval.days.map(|d| from.date + chrono::Days::new(u64::from(d))),
            block_minutes: interval.hours.map(|h| from.block_minutes + u64::from(h) * 60),
            cycles: interval.cycles.map(|c| from.cycles + u64::from(c)),
        }
    }

    /// Due at once: an applicable directive with no time allowed for it.
    pub fn now(at: Standing) -> Self {
        Self { on: Some(at.date), block_minutes: Some(at.block_minutes), cycles: Some(at.cycles) }
    }

    /// What is left of each limit at `at` (negative: passed).
    pub fn remaining(&self, at: Standing) -> Remaining {
        let signed = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        Remaining {
            days: self.on.map(|on| (on - at.date).num_days()),
            block_minutes: self.block_minutes.map(|m| signed(m) - signed(at.block_minutes)),
            cycles: self.cycles.map(|c| signed(c) - signed(at.cycles)),
        }
    }

    /// Whether a flight on `date` that brings the totals to `after` stays within every limit.
    pub fn permit(&self, date: NaiveDate, after: Standing) -> bool {
        self.on.is_none_or(|on| date <= on)
            && self.block_minutes.is_none_or(|m| after.block_minutes <= m)
            && self.cycles.is_none_or(|c| after.cycles <= c)
    }
}

/// What is left before a directive falls due, each limit in its own unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Remaining {
    pub days: Option<i64>,
    pub block_minutes: Option<i64>,
    pub cycles: Option<i64>,
}

impl Remaining {
    /// The date has passed, or no hours or cycles are left: the aircraft may not fly.
    pub fn is_overdue(&self) -> bool {
        self.days.is_some_and(|d| d < 0)
            || self.block_minutes.is_some_and(|m| m <= 0)
            || self.cycles.is_some_and(|c| c <= 0)
    }

    /// Whether any limit falls within the window (a `None` window does not look at that limit).
    pub fn within(&self, days: Option<i64>, hours: Option<i64>, cycles: Option<i64>) -> bool {
        let inside =
            |left: Option<i64>, window: Option<i64>| matches!((left, window), (Some(l), Some(w)) if l <= w);
        self.is_overdue()
            || inside(self.days, days)
            || inside(self.block_minutes, hours.map(|h| h * 60))
            || inside(self.cycles, cycles)
    }
}

/// Whether a directive applies to the aircraft, as an engineer assessed it.
#[derive(Debug, Clone, PartialEq)]
pub enum Applicability {
    /// Applies; first compliance within `comply_within` of now, or at once when `None`.
    Applicable {
        comply_within: Option<Interval>,
    },
    NotApplicable {
        reason: Reason,
    },
}

/// `RecordDirectiveApplicability`: a directive from a document of the inbox.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectiveApplicability {
    pub document_id: Uuid,
    pub number: DirectiveNumber,
    pub revision: Option<DirectiveRevision>,
    pub applicability: Applicability,
}

/// `RecordDirectiveCompliance`: maintenance that complied with a directive.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectiveCompliance {
    pub number: DirectiveNumber,
    pub method: ComplianceMethod,
    pub done_on: NaiveDate,
    /// The aircraft's total block time when it was done, in minutes.
    pub block_minutes_at: u64,
    /// The aircraft's total landing cycles when it was done.
    pub cycles_at: u64,
    pub performed_by: Name,
    pub work_order: WorkOrderRef,
    /// Repeat interval of a recurring directive; `None`: complied once and for all.
    pub interval: Option<Interval>,
}

/// A directive as the aggregate keeps it: enough to decide compliance and flights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectiveState {
    pub revision: Option<DirectiveRevision>,
    pub document_id: Uuid,
    pub applicable: bool,
    pub reason: Option<Reason>,
    pub comply_within: Option<Interval>,
    /// When it next falls due; `None` when not applicable or closed.
    pub next_due: Option<DueLimits>,
    /// The last compliance recorded since the applicability, if any.
    pub last_compliance: Option<Standing>,
}

/// Total hours as entered in a logbook (decimal hours, at least 0) in whole minutes.
pub fn minutes_from_hours(hours: f64) -> Result<u64, String> {
    if !hours.is_finite() || !(0.0..=1_000_000.0).contains(&hours) {
        return Err("must be between 0 and 1000000 hours".into());
    }
    Ok((hours * 60.0).round() as u64)
}

#[cfg(test)]
mod tests {
    //! The due computation against hand-worked cases.
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn at(date: &str, hours: u64, cycles: u64) -> Standing {
        Standing { date: day(date), block_minutes: hours * 60, cycles }
    }

    #[test]
    fn an_interval_needs_a_limit_and_no_zero() {
        assert_eq!(Interval::new(None, None, None).unwrap_err().0, "days");
        assert_eq!(Interval::new(Some(30), Some(0), None).unwrap_err().0, "hours");
        assert_eq!(Interval::new(None, None, Some(0)).unwrap_err().0, "cycles");
        assert_eq!(Interval::new(Some(36_501), None, None).unwrap_err().0, "days");
        assert!(Interval::new(None, Some(600), None).is_ok());
    }

    #[test]
    fn next_due_adds_each_limit_to_the_standing_it_was_done_at() {
        // Done 2025-01-10 at 12,000 FH / 8,000 FC; repeat every 365 days, 600 FH or 400 FC.
        let interval = Interval::new(Some(365), Some(600), Some(400)).unwrap();
        let due = DueLimits::after(interval, at("2025-01-10", 12_000, 8_000));
        assert_eq!(due.on, Some(day("2026-01-10")));
        assert_eq!(due.block_minutes, Some(12_600 * 60));
        assert_eq!(due.cycles, Some(8_400));
        // 2025-06-15 at 12,450 FH and 8,100 FC: 209 days, 150 FH, 300 FC left.
        let left = due.remaining(at("2025-06-15", 12_450, 8_100));
        assert_eq!(left, Remaining { days: Some(209), block_minutes: Some(150 * 60), cycles: Some(300) });
        assert!(!left.is_overdue());
        // Whichever comes first: hours are the nearest limit.
        assert!(left.within(None, Some(150), None));
        assert!(!left.within(Some(200), Some(149), Some(299)));
        assert!(left.within(Some(209), None, None));
    }

    #[test]
    fn the_calendar_limit_can_come_first() {
        // Every 30 days or 500 FH, done 2025-05-01 at 100 FH; on 2025-06-01 at 150 FH the date has passed.
        let due =
            DueLimits::after(Interval::new(Some(30), Some(500), None).unwrap(), at("2025-05-01", 100, 0));
        assert_eq!(due.on, Some(day("2025-05-31")));
        let left = due.remaining(at("2025-06-01", 150, 40));
        assert_eq!(left.days, Some(-1));
        assert_eq!(left.block_minutes, Some(450 * 60));
        assert_eq!(left.cycles, None);
        assert!(left.is_overdue());
        // The due day itself is still flyable; the next day is not.
        let before = at("2025-05-31", 150, 40);
        assert!(due.permit(day("2025-05-31"), before));
        assert!(!due.permit(day("2025-06-01"), before));
    }

    #[test]
    fn the_cycles_limit_can_come_first_and_is_consumed_by_flying() {
        // Every 100 FC (and 1,000 FH), done at 2,000 FC / 3,000 FH.
        let due = DueLimits::after(
            Interval::new(None, Some(1_000), Some(100)).unwrap(),
            at("2025-01-01", 3_000, 2_000),
        );
        let at_limit = at("2025-03-01", 3_200, 2_100);
        assert_eq!(due.remaining(at_limit).cycles, Some(0));
        assert!(due.remaining(at_limit).is_overdue(), "no cycle left: no flight possible");
        assert!(
            due.permit(day("2025-03-01"), at("2025-03-01", 3_201, 2_100)),
            "the flight reaching the limit"
        );
        assert!(!due.permit(day("2025-03-01"), at("2025-03-01", 3_201, 2_101)), "one cycle past it");
    }

    #[test]
    fn the_hours_limit_counts_minutes_exactly() {
        let due = DueLimits::after(Interval::new(None, Some(50), None).unwrap(), at("2025-01-01", 10, 0));
        assert_eq!(due.block_minutes, Some(3_600));
        let after = Standing { date: day("2025-01-02"), block_minutes: 3_600, cycles: 9 };
        assert!(due.permit(day("2025-01-02"), after));
        assert!(!due.permit(day("2025-01-02"), Standing { block_minutes: 3_601, ..after }));
        assert_eq!(due.remaining(Standing { block_minutes: 3_570, ..after }).block_minutes, Some(30));
    }

    #[test]
    fn a_directive_due_now_refuses_any_flight_until_complied() {
        let now = at("2025-06-15", 500, 300);
        let due = DueLimits::now(now);
        assert_eq!(due.remaining(now), Remaining { days: Some(0), block_minutes: Some(0), cycles: Some(0) });
        assert!(due.remaining(now).is_overdue());
        assert!(!due.permit(day("2025-06-15"), Standing { block_minutes: 501, cycles: 301, ..now }));
    }

    #[test]
    fn logbook_hours_become_minutes() {
        assert_eq!(minutes_from_hours(12_345.5), Ok(740_730));
        assert_eq!(minutes_from_hours(0.0), Ok(0));
        assert!(minutes_from_hours(-1.0).is_err());
        assert!(minutes_from_hours(f64::NAN).is_err());
    }
}
