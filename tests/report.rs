//! `dsr report` (issue 17, docs/report.md): the accountability figures of a year of requests,
//! each figure checked exactly on a store whose requests, tally and audit entries are written
//! by hand to cover it; the CSV read back with the csv crate; the HTML page parsed for balanced
//! tags, no script and no remote resource; the real erase and verify flows feeding the figures.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;

use serde::Deserialize;

use crate::support::{self, assert_one_line_error, stdout, Env};

pub const NOW: &str = "2026-01-15T10:00:00Z";

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

pub const TAX: &str = "Art. 17(3)(b) GDPR: legal obligation to keep the administration 7 years (Dutch AWR art. 52)";
/// A rule code as an attacker might have typed it into a company file: markup and a terminal escape.
pub const EVIL_RULE: &str = "<script>alert(1)</script>\u{1b}[31m";

/// The requests, tally, notifications and audit entries of 2025 (and a few just outside it),
/// written straight into a store: each covers one figure (see the expectations below).
pub fn year_of_requests(db: &dyn Fn(&str)) {
    // id, kind, channel, received, due, extended, state, refusal ground, delivered, closed
    let requests: [(&str, &str, &str, &str, &str, Option<&str>, &str, Option<&str>, Option<&str>, Option<&str>); 12] = [
        // In time; 10 days.
        ("DSR-2025-0001", "access", "email", "2025-03-01", "2025-04-01", None, "completed", None, Some("2025-03-11T09:00:00Z"), Some("2025-03-11T09:00:00Z")),
        // Late: delivered after the month; 36 days.
        ("DSR-2025-0002", "access", "portal", "2025-03-15", "2025-04-15", None, "completed", None, Some("2025-04-20T09:00:00Z"), Some("2025-04-20T09:00:00Z")),
        // Extended to three months and answered within them; 62 days.
        ("DSR-2025-0003", "erase", "email", "2025-05-31", "2025-06-30", Some("2025-08-31"), "completed", None, Some("2025-08-01T09:00:00Z"), Some("2025-08-01T09:00:00Z")),
        // Refused as excessive after 4 days.
        ("DSR-2025-0004", "export", "letter", "2025-06-01", "2025-07-01", None, "rejected", Some("excessive"), None, Some("2025-06-05T12:00:00Z")),
        // Refused: identity not confirmed, after 1 day.
        ("DSR-2025-0005", "rectify", "phone", "2025-07-01", "2025-08-01", None, "rejected", Some("identity-not-confirmed"), None, Some("2025-07-02T12:00:00Z")),
        // Verified, not answered, due after the day of the report: open.
        ("DSR-2025-0006", "object", "email", "2025-12-20", "2026-01-20", None, "verified", None, None, None),
        // Never verified, past its deadline, not yet expired: overdue.
        ("DSR-2025-0007", "restrict", "in-person", "2025-11-01", "2025-12-01", None, "awaiting-verification", None, None, None),
        // Expired.
        ("DSR-2025-0008", "access", "email", "2025-09-01", "2025-10-01", None, "expired", None, None, Some("2025-11-01T03:00:00Z")),
        // Delivered, waiting for the systems' tasks: answered (10 days).
        ("DSR-2025-0009", "erase", "email", "2025-10-10", "2025-11-10", None, "verified", None, Some("2025-10-20T09:00:00Z"), None),
        // Outside the period on either side.
        ("DSR-2024-0001", "access", "email", "2024-12-31", "2025-01-31", None, "completed", None, Some("2025-01-02T09:00:00Z"), Some("2025-01-02T09:00:00Z")),
        ("DSR-2026-0001", "access", "email", "2026-01-01", "2026-02-01", None, "completed", None, Some("2026-01-02T09:00:00Z"), Some("2026-01-02T09:00:00Z")),
        // Completed without a recorded delivery (a replayed erasure, an old store): answered
        // when closed, on the last day of the month, in time; 28 days.
        ("DSR-2025-0010", "access", "letter", "2025-02-01", "2025-03-01", None, "completed", None, None, Some("2025-03-01T23:00:00Z")),
    ];
    let q = |s: Option<&str>| s.map_or("NULL".to_owned(), |s| format!("'{s}'"));
    for (id, kind, channel, received, due, extended, state, ground, delivered, closed) in requests {
        let (year, seq) = (&id[4..8], &id[9..]);
        db(&format!(
            "INSERT INTO request (id, year, seq, kind, subject_kind, subject_pseudonym, channel, received_on, due_on,
                                  extended_due_on, extension_reason, state, rejection_reason, rejection_note,
                                  created_at, closed_at, delivered_at)
             VALUES ('{id}', {year}, {seq}, '{kind}', 'email', 'p-{id}', '{channel}', '{received}', '{due}', {}, {}, '{state}',
                     {}, {}, '{received}T08:00:00Z', {}, {})",
            q(extended),
            q(extended.map(|_| "many requests")),
            q(ground),
            q(ground.map(|_| "see the letter")),
            q(closed),
            q(delivered),
        ));
    }
    db(&format!(
        "INSERT INTO erasure_tally (received_on, ground, table_name, action, row_count, erasures) VALUES
           ('2025-05-31', '{TAX}', 'invoice', 'detach', 3, 1), ('2025-05-31', '', 'customer', 'delete', 5, 1),
           ('2025-10-10', '{TAX}', 'invoice', 'detach', 2, 1), ('2024-12-31', '{TAX}', 'invoice', 'detach', 100, 1)"
    ));
    db("INSERT INTO notification (request_id, recipient, what, state, listed_at, notified_at, reason) VALUES
          ('DSR-2025-0003', 'ideal', 'erase', 'notified', '2025-08-01T09:00:00Z', '2025-08-02T09:00:00Z', NULL),
          ('DSR-2025-0003', 'google-analytics', 'erase', 'to-notify', '2025-08-01T09:00:00Z', NULL, NULL),
          ('DSR-2025-0009', 'ideal', 'erase', 'impossible', '2025-10-20T09:00:00Z', '2025-10-21T09:00:00Z', 'no contact'),
          ('DSR-2024-0001', 'ideal', 'erase', 'notified', '2024-06-01T09:00:00Z', '2024-06-02T09:00:00Z', NULL)");
    let wrong = r#"{"result":"wrong","tries_on_code":1,"code_burned":false,"consecutive_failures":1,"person_locked":false}"#;
    let burned = r#"{"result":"wrong","tries_on_code":3,"code_burned":true,"consecutive_failures":5,"person_locked":true}"#;
    let malformed = r#"{"result":"malformed","tries_on_code":1,"code_burned":false,"consecutive_failures":2,"person_locked":false}"#;
    let entries: Vec<(&str, &str, String)> = vec![
        ("2025-02-01T02:00:00Z", "retention", r#"{"rule":"server-logs","table":"server_log","removed":100}"#.into()),
        ("2025-02-01T02:00:00Z", "retention", r#"{"rule":"cookies","table":"cookie","removed":5}"#.into()),
        ("2025-03-01T02:00:00Z", "retention", r#"{"rule":"server-logs","table":"server_log","removed":50}"#.into()),
        ("2025-04-01T02:00:00Z", "retention-interrupted", r#"{"removed":{"server-logs":7}}"#.into()),
        (
            "2025-05-01T02:00:00Z",
            "retention",
            serde_json::json!({"rule": EVIL_RULE, "table": "ticket", "removed": 1}).to_string(),
        ),
        ("2026-01-02T02:00:00Z", "retention", r#"{"rule":"server-logs","table":"server_log","removed":999}"#.into()),
        ("2025-03-01T08:00:00Z", "code-tried", r#"{"result":"correct"}"#.into()),
        ("2025-03-01T08:01:00Z", "code-tried", wrong.into()),
        ("2025-03-02T08:01:00Z", "code-tried", wrong.into()),
        ("2025-03-03T08:01:00Z", "code-tried", wrong.into()),
        ("2025-03-04T08:01:00Z", "code-tried", burned.into()),
        ("2025-03-04T08:02:00Z", "code-tried", r#"{"result":"locked"}"#.into()),
        ("2025-03-05T08:01:00Z", "code-tried", malformed.into()),
        ("2025-12-31T23:59:59Z", "code-tried", r#"{"result":"expired"}"#.into()),
        ("2024-12-31T23:59:59Z", "code-tried", wrong.into()),
        ("2026-01-01T00:00:00Z", "code-tried", wrong.into()),
    ];
    for (at, action, details) in entries {
        db(&format!(
            "INSERT INTO audit_log (at, clock_injected, actor, action, details, prev_hash, hash)
             VALUES ('{at}', 1, 'test', '{action}', '{}', '', '')",
            details.replace('\'', "''")
        ));
    }
    db("INSERT INTO verification_lock (subject_pseudonym, consecutive_failures, locked_at)
        VALUES ('p-locked', 5, '2025-03-04T08:01:00Z'), ('p-unlocked', 0, NULL)");
}

/// The store of [`year_of_requests`] at [`NOW`].
fn year_store() -> Env {
    let env = Env::with_fixture_at("virtio", NOW);
    let conn = env.sql();
    year_of_requests(&|sql| {
        conn.execute_batch(sql).unwrap_or_else(|e| panic!("{e}: {sql}"));
    });
    env
}

fn year_args() -> Vec<&'static str> {
    vec!["report", "--from", "2025-01-01", "--to", "2025-12-31"]
}

fn line(right: &str, nums: [u64; 9], percent: Option<f64>, median: Option<i64>, p95: Option<i64>) -> Line {
    let [received, answered, in_time, late, overdue, open, expired, extended, refused] = nums;
    Line {
        right: right.into(),
        received,
        answered,
        in_time,
        late,
        overdue,
        open,
        expired,
        extended,
        refused,
        in_time_percent: percent,
        median_days: median,
        p95_days: p95,
    }
}

/// Every figure of the year, exactly.
pub fn check_year(r: &Report) {
    assert_eq!(r.format_version, 1);
    assert_eq!(r.period, Period { from: "2025-01-01".into(), to: "2025-12-31".into() });
    assert_eq!(r.as_of, "2026-01-15");
    let q = &r.requests;
    assert_eq!(q.total, 10);
    //                        received answered in_time late overdue open expired extended refused
    let expected = [
        line("access", [4, 3, 2, 1, 0, 0, 1, 0, 0], Some(66.7), Some(28), Some(36)),
        line("export", [1, 1, 1, 0, 0, 0, 0, 0, 1], Some(100.0), Some(4), Some(4)),
        line("rectify", [1, 1, 1, 0, 0, 0, 0, 0, 1], Some(100.0), Some(1), Some(1)),
        line("erase", [2, 2, 2, 0, 0, 0, 0, 1, 0], Some(100.0), Some(10), Some(62)),
        line("restrict", [1, 0, 0, 0, 1, 0, 0, 0, 0], None, None, None),
        line("object", [1, 0, 0, 0, 0, 1, 0, 0, 0], None, None, None),
    ];
    assert_eq!(q.by_right, expected);
    // Nearest rank over 1, 4, 10, 10, 28, 36, 62: the 4th and the 7th.
    assert_eq!(q.all, line("all", [10, 7, 6, 1, 1, 1, 1, 1, 2], Some(85.7), Some(10), Some(62)));
    let channels: Vec<(&str, u64)> = q.by_channel.iter().map(|c| (c.key.as_str(), c.count)).collect();
    assert_eq!(channels, [("email", 5), ("letter", 2), ("portal", 1), ("phone", 1), ("in-person", 1)]);
    assert!(q.by_right_and_channel.contains(&RightChannel { right: "access".into(), channel: "letter".into(), count: 1 }));
    assert_eq!(q.by_right_and_channel.iter().map(|c| c.count).sum::<u64>(), 10);
    let months: Vec<(&str, &str, u64)> = q.by_month.iter().map(|m| (m.month.as_str(), m.right.as_str(), m.count)).collect();
    assert_eq!(
        months,
        [
            ("2025-02", "access", 1),
            ("2025-03", "access", 2),
            ("2025-05", "erase", 1),
            ("2025-06", "export", 1),
            ("2025-07", "rectify", 1),
            ("2025-09", "access", 1),
            ("2025-10", "erase", 1),
            ("2025-11", "restrict", 1),
            ("2025-12", "object", 1),
        ]
    );
    let days: Vec<(i64, u64)> = q.days_to_answer.iter().map(|d| (d.days, d.count)).collect();
    assert_eq!(days, [(1, 1), (4, 1), (10, 2), (28, 1), (36, 1), (62, 1)]);

    let f = &r.refusals;
    let grounds: Vec<(&str, u64)> = f.by_ground.iter().map(|c| (c.key.as_str(), c.count)).collect();
    assert_eq!(grounds, [("unfounded", 0), ("excessive", 1), ("identity-not-confirmed", 1), ("other", 0)]);
    assert_eq!((f.total, f.expired, f.unverifiable), (2, 1, 2));

    let e = &r.erasures;
    assert_eq!((e.carried_out, e.rows_deleted, e.rows_kept), (2, 5, 5));
    assert_eq!(
        e.kept,
        [Kept { ground: TAX.into(), table: "invoice".into(), action: "detach".into(), rows: 5, erasures: 2 }]
    );

    let n = &r.notifications;
    assert_eq!((n.listed, n.done, n.open, n.impossible), (3, 1, 1, 1));
    assert_eq!(
        n.by_recipient,
        [
            Recipient { recipient: "google-analytics".into(), done: 0, open: 1, impossible: 0 },
            Recipient { recipient: "ideal".into(), done: 1, open: 0, impossible: 1 },
        ]
    );

    let t = &r.retention;
    assert_eq!((t.runs, t.rows_removed), (4, 163));
    let rules: Vec<(&str, &str, u64, u64)> =
        t.by_rule.iter().map(|x| (x.rule.as_str(), x.table.as_str(), x.runs, x.removed)).collect();
    assert_eq!(rules, [(EVIL_RULE, "ticket", 1, 1), ("cookies", "cookie", 1, 5), ("server-logs", "server_log", 3, 157)]);

    let v = &r.verification;
    let results: Vec<(&str, u64)> = v.by_result.iter().map(|c| (c.key.as_str(), c.count)).collect();
    assert_eq!(results, [("expired", 1), ("locked", 1), ("malformed", 1), ("wrong", 4)]);
    assert_eq!((v.failed_tries, v.codes_burned, v.locks, v.locked_now), (7, 1, 1, 1));
}

#[test]
fn every_figure_of_a_year_is_exact() {
    let env = year_store();
    let (r, code): (Report, i32) = env.json(&year_args());
    assert_eq!(code, 0);
    check_year(&r);
    // Each request is counted once: in time + late + overdue + open + expired = received.
    let a = &r.requests.all;
    assert_eq!(a.in_time + a.late + a.overdue + a.open + a.expired, a.received);
}

#[test]
fn the_csv_reads_back_as_one_table_of_figures() {
    let env = year_store();
    let mut args = year_args();
    args.push("--csv");
    let out = env.run(&args);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    assert_eq!(reader.headers().unwrap(), vec!["section", "item", "detail", "figure", "value"]);
    let mut figures: BTreeMap<(String, String, String, String), String> = BTreeMap::new();
    for record in reader.records() {
        let r = record.unwrap();
        assert_eq!(r.len(), 5);
        figures.insert((r[0].into(), r[1].into(), r[2].into(), r[3].into()), r[4].into());
    }
    let get = |s: &str, i: &str, d: &str, f: &str| figures.get(&(s.into(), i.into(), d.into(), f.into())).cloned();
    assert_eq!(get("report", "period", "", "from").as_deref(), Some("2025-01-01"));
    assert_eq!(get("requests", "all", "", "received").as_deref(), Some("10"));
    assert_eq!(get("requests", "all", "", "p95_days").as_deref(), Some("62"));
    assert_eq!(get("requests", "access", "", "in_time_percent").as_deref(), Some("66.7"));
    assert_eq!(get("right_channel", "access", "letter", "received").as_deref(), Some("1"));
    assert_eq!(get("month", "2025-03", "access", "received").as_deref(), Some("2"));
    assert_eq!(get("days_to_answer", "10", "", "answered").as_deref(), Some("2"));
    assert_eq!(get("refusals", "excessive", "", "refused").as_deref(), Some("1"));
    assert_eq!(get("erasures_kept", TAX, "invoice (detach)", "rows").as_deref(), Some("5"));
    assert_eq!(get("notifications", "ideal", "", "impossible").as_deref(), Some("1"));
    assert_eq!(get("retention", "server-logs", "server_log", "removed").as_deref(), Some("157"));
    assert_eq!(get("verification", "all", "", "locks").as_deref(), Some("1"));
    // A stored string that a spreadsheet would run as a formula, or that would colour a terminal,
    // arrives as text.
    assert!(!out.stdout.contains(&0x1b), "an escape byte reached the CSV");
}

#[test]
fn the_tables_show_the_figures_and_no_stored_escape() {
    let env = year_store();
    let out = env.run(&year_args());
    assert!(out.status.success(), "{}", support::stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("all\t10\t7\t6\t1\t1\t1\t1\t1\t2\t85.7\t10\t62"), "{text}");
    assert!(text.contains("Retention: 4 runs, 163 rows removed"), "{text}");
    assert!(!text.contains('\u{1b}'), "a stored escape reached the terminal: {text:?}");
}

/// Whether every element but the void ones is closed in order (Python's html.parser).
const BALANCED: &str = r#"
import sys
from html.parser import HTMLParser
VOID = {"meta", "br", "img", "hr", "input", "link", "area", "base", "col", "source", "wbr"}
SVG_EMPTY = {"rect", "line", "path", "circle"}
class P(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []
    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.stack.append(tag)
    def handle_startendtag(self, tag, attrs):
        pass
    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            sys.exit(f"unbalanced </{tag}> at {self.getpos()}, open: {self.stack[-3:]}")
        self.stack.pop()
p = P()
p.feed(open(sys.argv[1], encoding="utf-8").read())
p.close()
if p.stack:
    sys.exit(f"unclosed: {p.stack}")
print("balanced")
"#;

#[test]
fn the_html_page_stands_alone_in_two_languages_with_both_charts() {
    let env = year_store();
    let mut args = year_args();
    args.extend(["--html", "report.html"]);
    let out = env.run(&args);
    assert!(out.status.success(), "{}", support::stderr(&out));
    assert!(out.stdout.is_empty(), "the page goes to the file, not stdout");
    let path = env.path("report.html");
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    let page = std::fs::read_to_string(&path).unwrap();
    let lower = page.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "a script in the page");
    for remote in ["src=", "href=", "url(", "@import", "https:"] {
        assert!(!lower.contains(remote), "{remote} in the page");
    }
    // The only http: is the SVG namespace, which is a name, not a fetch.
    assert_eq!(lower.matches("http:").count(), lower.matches("xmlns=\"http://www.w3.org/2000/svg\"").count());
    assert_eq!(page.matches("<svg").count(), 2);
    for text in [
        "Requests per month by right",
        "Verzoeken per maand per recht",
        "Days to answer",
        "Dagen tot antwoord",
        "one month / één maand",
        "Verantwoordingsrapport",
        "Refusals and unverifiable requests",
        "Weigeringen",
        TAX,
    ] {
        assert!(page.contains(text), "{text:?} not on the page");
    }
    // The stored rule name is shown as text, never as markup.
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;&#27;[31m"), "the rule name is not escaped");
    if support::program("python3").is_some() {
        let out = std::process::Command::new("python3").arg("-c").arg(BALANCED).arg(&path).output().unwrap();
        assert!(out.status.success(), "{}", support::stderr(&out));
    }
    // Written again only with --force.
    let again = env.run(&args);
    assert_eq!(again.status.code(), Some(14));
    args.push("--force");
    assert!(env.run(&args).status.success());
}

#[test]
fn bad_dates_are_refused_with_one_line() {
    let env = year_store();
    for args in [
        vec!["report", "--from", "2025-02-30"],
        vec!["report", "--from", "2025-1-01"],
        vec!["report", "--to", "last year"],
        vec!["report", "--from", "2025-06-01", "--to", "2025-05-31"],
    ] {
        let out = env.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_one_line_error(&out);
    }
    // Without dates: the twelve whole months before the day's month, here all of 2025.
    let (r, _): (Report, i32) = env.json(&["report"]);
    check_year(&r);
}

#[test]
fn a_real_erasure_and_wrong_codes_reach_the_report() {
    let env = Env::with_fixture_at("virtio", NOW);
    let jan = ["--email", "Jan.DeVries@Example.NL"];
    let opened = env.open("access", &jan);
    let code = env.code(&opened.request);
    for _ in 0..2 {
        assert_eq!(env.run(&["verify", &opened.request, &support::wrong_code(&code)]).status.code(), Some(6));
    }
    let id = env.verified("erase", &jan);
    env.dsr().args(["erase", &id, "--yes"]).assert().success();
    let (r, code): (Report, i32) = env.json(&["report", "--from", "2026-01-01", "--to", "2026-01-31"]);
    assert_eq!(code, 0);
    assert_eq!(r.verification.failed_tries, 2);
    assert_eq!(r.verification.by_result, [Count { key: "wrong".into(), count: 2 }]);
    assert_eq!(r.requests.total, 2);
    assert_eq!(r.erasures.carried_out, 1);
    // What the erasure kept, as its stored outcome says.
    let outcome: String =
        env.sql().query_row("SELECT outcome FROM request WHERE id = ?1", [&id], |row| row.get(0)).unwrap();
    let outcome: serde_json::Value = serde_json::from_str(&outcome).unwrap();
    let steps = outcome["steps"].as_array().unwrap();
    let deleted: u64 = steps.iter().filter(|s| s["action"] == "delete").map(|s| s["rows"].as_u64().unwrap()).sum();
    let kept: u64 = steps.iter().filter(|s| s["action"] != "delete").map(|s| s["rows"].as_u64().unwrap()).sum();
    assert_eq!((r.erasures.rows_deleted, r.erasures.rows_kept), (deleted, kept));
    assert!(r.erasures.kept.iter().all(|k| k.erasures == 1 && k.action != "delete"));
    assert!(r.erasures.kept.iter().any(|k| k.table == "invoice" && k.ground.starts_with("Art. 17(3)")));
    // Art. 19: the erasure listed its recipients today, none told yet.
    assert!(r.notifications.listed > 0);
    assert_eq!(r.notifications.open, r.notifications.listed);
}
