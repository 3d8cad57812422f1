//! The accountability report (GDPR Art. 5(2)): the figures a DPO files about the requests of a
//! period and what followed from them. Requests are in the period when they were received in it;
//! their outcome is counted as it stands on the day the report is made ("as of"). Events of the
//! audit trail (retention runs, failed codes) and Art. 19 notifications are in the period when
//! they happened (were listed) in it. Every figure is read by set-based SQL (GROUP BY) through
//! the store's [`Db`], on SQLite and PostgreSQL alike; docs/report.md defines each one.

use chrono::{Datelike, Days as DayCount, Months, NaiveDate};
use serde::Serialize;

use crate::error::Error;
use crate::request::Kind;
use crate::store::db::{Conn, Db};

pub mod csv;
mod figures;
pub mod html;
mod query;
mod svg;
pub mod tally;

/// The rights in the order the report lists them.
pub const RIGHTS: [Kind; 6] = [Kind::Access, Kind::Export, Kind::Rectify, Kind::Erase, Kind::Restrict, Kind::Object];
/// The channels a request can come in by, in the report's order.
pub const CHANNELS: [&str; 5] = ["email", "letter", "portal", "phone", "in-person"];
/// The grounds of a refusal (Art. 12(4), 12(5), 11(2)), in the report's order.
pub const GROUNDS: [&str; 4] = ["unfounded", "excessive", "identity-not-confirmed", "other"];

/// The days of the period, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub format_version: u32,
    pub period: Period,
    /// The day the outcomes are counted on (open or overdue depends on it).
    pub as_of: NaiveDate,
    pub requests: Requests,
    pub refusals: Refusals,
    pub erasures: Erasures,
    pub notifications: Notifications,
    pub retention: Retention,
    pub verification: Verification,
}

/// The requests received in the period, and what became of them.
#[derive(Debug, Default, Serialize)]
pub struct Requests {
    pub total: u64,
    /// All rights together, then one line per right.
    pub all: Line,
    pub by_right: Vec<Line>,
    pub by_channel: Vec<Count>,
    pub by_right_and_channel: Vec<RightChannel>,
    pub by_month: Vec<Month>,
    /// How many requests were answered after how many days (all rights).
    pub days_to_answer: Vec<Days>,
}

/// The figures of one right (or of all, with `right` "all").
#[derive(Debug, Default, Clone, Serialize)]
pub struct Line {
    pub right: String,
    pub received: u64,
    pub answered: u64,
    pub in_time: u64,
    pub late: u64,
    pub overdue: u64,
    pub open: u64,
    pub expired: u64,
    pub extended: u64,
    pub refused: u64,
    /// Share of the answered requests answered in time, in percent (one decimal); None when
    /// nothing was answered.
    pub in_time_percent: Option<f64>,
    pub median_days: Option<i64>,
    pub p95_days: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct Count {
    pub key: String,
    pub count: u64,
}

#[derive(Debug, Serialize)]
pub struct RightChannel {
    pub right: String,
    pub channel: String,
    pub count: u64,
}

#[derive(Debug, Serialize)]
pub struct Month {
    pub month: String,
    pub right: String,
    pub count: u64,
}

#[derive(Debug, Serialize)]
pub struct Days {
    pub days: i64,
    pub count: u64,
}

/// Refusals (Art. 12(4)) by ground, and the requests that could not be tied to a person.
#[derive(Debug, Default, Serialize)]
pub struct Refusals {
    pub total: u64,
    pub by_ground: Vec<Count>,
    /// Never verified before the deadline (state `expired`).
    pub expired: u64,
    /// Expired, or refused because the identity was not confirmed (Art. 11(2), 12(6)).
    pub unverifiable: u64,
}

/// Erasure requests of the period that were carried out (answered, not refused), and what
/// their erasures deleted and kept, and why (Art. 17(3)); rows kept include those detached
/// (kept without their link to the person).
#[derive(Debug, Default, Serialize)]
pub struct Erasures {
    pub carried_out: u64,
    pub rows_deleted: u64,
    pub rows_kept: u64,
    pub kept: Vec<Kept>,
}

#[derive(Debug, Serialize)]
pub struct Kept {
    pub ground: String,
    pub table: String,
    /// `detach` (the row stays, its link to the person goes) or `keep`.
    pub action: String,
    pub rows: u64,
    pub erasures: u64,
}

/// Art. 19: recipients to be told of a rectification, restriction or erasure, listed in the period.
#[derive(Debug, Default, Serialize)]
pub struct Notifications {
    pub listed: u64,
    pub done: u64,
    pub open: u64,
    /// Found impossible or disproportionate, with a reason.
    pub impossible: u64,
    pub by_recipient: Vec<Recipient>,
}

#[derive(Debug, Default, Serialize)]
pub struct Recipient {
    pub recipient: String,
    pub done: u64,
    pub open: u64,
    pub impossible: u64,
}

/// Storage limitation (Art. 5(1)(e)): what the retention runs of the period removed.
#[derive(Debug, Default, Serialize)]
pub struct Retention {
    /// Distinct times a run recorded removals.
    pub runs: u64,
    pub rows_removed: u64,
    pub by_rule: Vec<Rule>,
}

#[derive(Debug, Default, Serialize)]
pub struct Rule {
    pub rule: String,
    pub table: String,
    /// Runs in which this rule removed rows.
    pub runs: u64,
    pub removed: u64,
}

/// Verification by code: failed tries in the period, codes burned, people locked.
#[derive(Debug, Default, Serialize)]
pub struct Verification {
    pub failed_tries: u64,
    /// Failed tries by what was wrong: wrong, malformed, expired, locked (tried while locked).
    pub by_result: Vec<Count>,
    pub codes_burned: u64,
    pub locks: u64,
    /// People locked out on the day of the report.
    pub locked_now: u64,
}

/// Make the report of `period`, counting outcomes as of `as_of`.
pub fn build(conn: &dyn Db, period: Period, as_of: NaiveDate) -> anyhow::Result<Report> {
    let groups = query::request_groups(conn, period)?;
    let (requests, refusals) = figures::requests_of(&groups, as_of);
    let erase = requests.by_right.iter().find(|l| l.right == "erase");
    let erasures =
        Erasures { carried_out: erase.map_or(0, |l| l.answered - l.refused), ..query::erasures(conn, period)? };
    Ok(Report {
        format_version: 1,
        period,
        as_of,
        requests,
        refusals,
        erasures,
        notifications: query::notifications(conn, period)?,
        retention: query::retention(conn, period)?,
        verification: query::verification(conn, period)?,
    })
}

/// [`build`] in one read snapshot of a store, so that the figures agree with each other while
/// other processes write.
pub fn build_snapshot(conn: &dyn Conn, period: Period, as_of: NaiveDate) -> anyhow::Result<Report> {
    let snapshot = conn.snapshot()?;
    let report = build(&*snapshot, period, as_of)?;
    snapshot.commit()?;
    Ok(report)
}

/// The period from the command line: both days as YYYY-MM-DD, `from` not after `to`. Without
/// them, the twelve whole months before `today`'s month; with `from` only, up to `today`; with
/// `to` only, the twelve months that end on it.
pub fn period(from: Option<&str>, to: Option<&str>, today: NaiveDate) -> Result<Period, Error> {
    let day = |flag: &'static str, text: &str| {
        let ok = text.len() == 10 && text.as_bytes()[4] == b'-' && text.as_bytes()[7] == b'-';
        ok.then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
            .flatten()
            .ok_or_else(|| Error::invalid(flag, "not a date; give YYYY-MM-DD, e.g. 2025-01-31"))
    };
    let month_start = today.with_day(1).expect("day 1 exists");
    let ends_today = to.is_none();
    let (from, to) = match (from.map(|f| day("--from", f)).transpose()?, to.map(|t| day("--to", t)).transpose()?) {
        (Some(f), Some(t)) => (f, t),
        (Some(f), None) => (f, today),
        (None, Some(t)) => (t - Months::new(12) + DayCount::new(1), t),
        (None, None) => (month_start - Months::new(12), month_start - DayCount::new(1)),
    };
    if from > to && ends_today {
        return Err(Error::invalid(
            "--from",
            format!("the period starts ({from}) after today ({to}), where it ends without --to; give a --from on or before today"),
        ));
    }
    if from > to {
        return Err(Error::invalid(
            "--from",
            format!("the period starts ({from}) after it ends ({to}); give --from on or before --to"),
        ));
    }
    Ok(Period { from, to })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_default_to_the_last_twelve_months_and_are_checked() {
        let today = NaiveDate::from_ymd_opt(2026, 1, 15).unwrap();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(period(None, None, today).unwrap(), Period { from: d("2025-01-01"), to: d("2025-12-31") });
        assert_eq!(period(Some("2025-06-01"), None, today).unwrap(), Period { from: d("2025-06-01"), to: today });
        assert_eq!(
            period(None, Some("2025-06-30"), today).unwrap(),
            Period { from: d("2024-07-01"), to: d("2025-06-30") }
        );
        for bad in ["2025-1-01", "2025-02-30", "yesterday", "2025/01/01", "20250101"] {
            assert!(period(Some(bad), None, today).is_err(), "{bad}");
        }
        assert!(period(Some("2025-02-01"), Some("2025-01-31"), today).is_err());
        assert!(period(Some("2025-02-01"), Some("2025-02-01"), today).is_ok());
    }
}
