//! The report's `--json` document as typed structs (docs/report.md), for the tests to read.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct Report {
    pub format_version: u32,
    pub period: Period,
    pub as_of: String,
    pub requests: Requests,
    pub refusals: Refusals,
    pub erasures: Erasures,
    pub notifications: Notifications,
    pub retention: Retention,
    pub verification: Verification,
}

#[derive(Debug, Deserialize, PartialEq)]
pub struct Period {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Deserialize)]
pub struct Requests {
    pub total: u64,
    pub all: Line,
    pub by_right: Vec<Line>,
    pub by_channel: Vec<Count>,
    pub by_right_and_channel: Vec<RightChannel>,
    pub by_month: Vec<Month>,
    pub days_to_answer: Vec<Days>,
}

#[derive(Debug, Deserialize, PartialEq, Default)]
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
    pub in_time_percent: Option<f64>,
    pub median_days: Option<i64>,
    pub p95_days: Option<i64>,
}

#[derive(Debug, Deserialize, PartialEq)]
pub struct Count {
    pub key: String,
    pub count: u64,
}

#[derive(Debug, Deserialize, PartialEq)]
pub struct RightChannel {
    pub right: String,
    pub channel: String,
    pub count: u64,
}

#[derive(Debug, Deserialize, PartialEq)]
pub struct Month {
    pub month: String,
    pub right: String,
    pub count: u64,
}

#[derive(Debug, Deserialize, PartialEq)]
pub struct Days {
    pub days: i64,
    pub count: u64,
}

#[derive(Debug, Deserialize)]
pub struct Refusals {
    pub total: u64,
    pub by_ground: Vec<Count>,
    pub expired: u64,
    pub unverifiable: u64,
}

#[derive(Debug, Deserialize)]
pub struct Erasures {
    pub carried_out: u64,
    pub rows_deleted: u64,
    pub rows_kept: u64,
    pub kept: Vec<Kept>,
}

#[derive(Debug, Deserialize, PartialEq)]
pub struct Kept {
    pub ground: String,
    pub table: String,
    pub action: String,
    pub rows: u64,
    pub erasures: u64,
}

#[derive(Debug, Deserialize)]
pub struct Notifications {
    pub listed: u64,
    pub done: u64,
    pub open: u64,
    pub impossible: u64,
    pub by_recipient: Vec<Recipient>,
}

#[derive(Debug, Deserialize, PartialEq)]
pub struct Recipient {
    pub recipient: String,
    pub done: u64,
    pub open: u64,
    pub impossible: u64,
}

#[derive(Debug, Deserialize)]
pub struct Retention {
    pub runs: u64,
    pub rows_removed: u64,
    pub by_rule: Vec<Rule>,
}

#[derive(Debug, Deserialize, PartialEq)]
pub struct Rule {
    pub rule: String,
    pub table: String,
    pub runs: u64,
    pub removed: u64,
}

#[derive(Debug, Deserialize)]
pub struct Verification {
    pub failed_tries: u64,
    pub by_result: Vec<Count>,
    pub codes_burned: u64,
    pub locks: u64,
    pub locked_now: u64,
}
