//! The accountability report (GDPR Art. 5(2)): the figures a DPO files about the requests of a
//! period and what followed from them. Requests are in the period when they were received in it;
//! their outcome is counted as it stands on the day the report is made ("as of"). Events of the
//! audit trail (retention runs, failed codes) and Art. 19 notifications are in the period when
//! they happened (were listed) in it. Every figure is read by set-based SQL (GROUP BY) through
//! the store's [`Db`], on SQLite and PostgreSQL alike; docs/report.md defines each one.

use std::collections::BTreeMap;

use chrono::{Datelike, Days as DayCount, Months, NaiveDate};
use serde::Serialize;

use crate::error::Error;
use crate::request::Kind;
use crate::store::db::{Conn, Db};

pub mod csv;
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
    let (requests, refusals) = requests_of(&groups, as_of);
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
            .ok_or_else(|| Error::invalid(flag, format!("{text:?} is not a date; give YYYY-MM-DD, e.g. 2025-01-31")))
    };
    let month_start = today.with_day(1).expect("day 1 exists");
    let (from, to) = match (from.map(|f| day("--from", f)).transpose()?, to.map(|t| day("--to", t)).transpose()?) {
        (Some(f), Some(t)) => (f, t),
        (Some(f), None) => (f, today),
        (None, Some(t)) => (t - Months::new(12) + DayCount::new(1), t),
        (None, None) => (month_start - Months::new(12), month_start - DayCount::new(1)),
    };
    if from > to {
        return Err(Error::invalid("--from", format!("the period starts ({from}) after it ends ({to}); give --from on or before --to")));
    }
    Ok(Period { from, to })
}

/// One group of requests: received the same day, for the same right, answered the same day (or
/// not answered), in the same state, refused on the same ground, with the same deadlines; and
/// how many came by each channel.
#[derive(Debug, Default)]
struct Group {
    received: NaiveDate,
    right: String,
    answered: Option<NaiveDate>,
    state: String,
    ground: Option<String>,
    due: NaiveDate,
    extended: Option<NaiveDate>,
    count: u64,
    channels: [u64; 5],
}

/// The per-right lines and the breakdowns, from the groups, with outcomes as of `as_of`.
fn requests_of(groups: &[Group], as_of: NaiveDate) -> (Requests, Refusals) {
    let mut lines: Vec<Line> = RIGHTS.iter().map(|k| Line { right: k.as_str().into(), ..Line::default() }).collect();
    let mut days: Vec<BTreeMap<i64, u64>> = vec![BTreeMap::new(); RIGHTS.len()];
    let mut channels = [[0u64; 5]; 6];
    let mut months: BTreeMap<(String, usize), u64> = BTreeMap::new();
    let mut grounds = [0u64; 4];
    for g in groups {
        let Some(i) = RIGHTS.iter().position(|k| k.as_str() == g.right) else { continue };
        let l = &mut lines[i];
        // The deadline in force: the extended one if any (Art. 12(3)).
        let deadline = g.extended.unwrap_or(g.due);
        l.received += g.count;
        if g.extended.is_some() {
            l.extended += g.count;
        }
        for (c, n) in g.channels.iter().enumerate() {
            channels[i][c] += n;
        }
        *months.entry((g.received.format("%Y-%m").to_string(), i)).or_default() += g.count;
        if g.state == "rejected" {
            l.refused += g.count;
            let ground = g.ground.as_deref().and_then(|x| GROUNDS.iter().position(|k| *k == x));
            grounds[ground.unwrap_or(3)] += g.count;
        }
        match g.answered {
            Some(answered) => {
                l.answered += g.count;
                if answered <= deadline {
                    l.in_time += g.count;
                } else {
                    l.late += g.count;
                }
                *days[i].entry((answered - g.received).num_days()).or_default() += g.count;
            }
            None if g.state == "expired" => l.expired += g.count,
            None if deadline < as_of => l.overdue += g.count,
            None => l.open += g.count,
        }
    }
    let mut all_days: BTreeMap<i64, u64> = BTreeMap::new();
    for (l, d) in lines.iter_mut().zip(&days) {
        (l.median_days, l.p95_days) = (percentile(d, 50), percentile(d, 95));
        l.in_time_percent = share(l.in_time, l.answered);
        for (k, n) in d {
            *all_days.entry(*k).or_default() += n;
        }
    }
    let mut all = Line { right: "all".into(), ..Line::default() };
    for l in &lines {
        all.received += l.received;
        all.answered += l.answered;
        all.in_time += l.in_time;
        all.late += l.late;
        all.overdue += l.overdue;
        all.open += l.open;
        all.expired += l.expired;
        all.extended += l.extended;
        all.refused += l.refused;
    }
    all.in_time_percent = share(all.in_time, all.answered);
    (all.median_days, all.p95_days) = (percentile(&all_days, 50), percentile(&all_days, 95));
    let by_channel = CHANNELS
        .iter()
        .enumerate()
        .map(|(c, name)| Count { key: (*name).into(), count: channels.iter().map(|r| r[c]).sum() })
        .collect();
    let by_right_and_channel = RIGHTS
        .iter()
        .enumerate()
        .flat_map(|(i, k)| {
            CHANNELS.iter().enumerate().map(move |(c, ch)| (i, k, c, ch)).collect::<Vec<_>>()
        })
        .map(|(i, k, c, ch)| RightChannel { right: k.as_str().into(), channel: (*ch).into(), count: channels[i][c] })
        .filter(|rc| rc.count > 0)
        .collect();
    let by_month =
        months.into_iter().map(|((month, i), count)| Month { month, right: RIGHTS[i].as_str().into(), count }).collect();
    let identity = grounds[2];
    let refusals = Refusals {
        total: grounds.iter().sum(),
        by_ground: GROUNDS.iter().zip(grounds).map(|(g, count)| Count { key: (*g).into(), count }).collect(),
        expired: all.expired,
        unverifiable: all.expired + identity,
    };
    let requests = Requests {
        total: all.received,
        all,
        by_right: lines,
        by_channel,
        by_right_and_channel,
        by_month,
        days_to_answer: all_days.into_iter().map(|(days, count)| Days { days, count }).collect(),
    };
    (requests, refusals)
}

/// `part` of `whole` in percent with one decimal.
fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0)
}

/// The nearest-rank percentile of a distribution given as value -> count: the smallest value
/// such that at least `p` percent of all values are at most it (rank ceil(p/100 * N)).
pub fn percentile(counts: &BTreeMap<i64, u64>, p: u64) -> Option<i64> {
    let n: u64 = counts.values().sum();
    if n == 0 {
        return None;
    }
    let rank = (p * n).div_ceil(100).max(1);
    let mut seen = 0;
    for (value, count) in counts {
        seen += count;
        if seen >= rank {
            return Some(*value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist(values: &[i64]) -> BTreeMap<i64, u64> {
        let mut m = BTreeMap::new();
        for v in values {
            *m.entry(*v).or_default() += 1;
        }
        m
    }

    #[test]
    fn nearest_rank_percentiles() {
        // Ranks: median of 4 values is rank 2; p95 of 20 values is rank 19.
        assert_eq!(percentile(&dist(&[1, 2, 3, 4]), 50), Some(2));
        assert_eq!(percentile(&dist(&[5]), 95), Some(5));
        let twenty: Vec<i64> = (1..=20).collect();
        assert_eq!(percentile(&dist(&twenty), 95), Some(19));
        assert_eq!(percentile(&dist(&twenty), 50), Some(10));
        assert_eq!(percentile(&dist(&[3, 3, 3, 40]), 95), Some(40));
        assert_eq!(percentile(&BTreeMap::new(), 50), None);
    }

    #[test]
    fn periods_default_to_the_last_twelve_months_and_are_checked() {
        let today = NaiveDate::from_ymd_opt(2026, 1, 15).unwrap();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(period(None, None, today).unwrap(), Period { from: d("2025-01-01"), to: d("2025-12-31") });
        assert_eq!(period(Some("2025-06-01"), None, today).unwrap(), Period { from: d("2025-06-01"), to: today });
        assert_eq!(period(None, Some("2025-06-30"), today).unwrap(), Period { from: d("2024-07-01"), to: d("2025-06-30") });
        for bad in ["2025-1-01", "2025-02-30", "yesterday", "2025/01/01", "20250101"] {
            assert!(period(Some(bad), None, today).is_err(), "{bad}");
        }
        assert!(period(Some("2025-02-01"), Some("2025-01-31"), today).is_err());
        assert!(period(Some("2025-02-01"), Some("2025-02-01"), today).is_ok());
    }

    #[test]
    fn shares_round_to_one_decimal() {
        assert_eq!(share(2, 3), Some(66.7));
        assert_eq!(share(0, 0), None);
    }
}
