//! `dsr report` (issue 17, docs/report.md): the accountability figures of a year of requests,
//! each figure checked exactly on a store whose requests, tally and audit entries are written
//! by hand to cover it (`year.rs`); the CSV read back with the csv crate; the HTML page parsed for
//! balanced tags, no script and no remote resource; the real erase and verify flows feeding the figures.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;

use crate::support::{self, assert_one_line_error, stdout, Env};

mod json;
mod year;
pub use json::*;
pub use year::*;

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
    assert_eq!(get("erasures_kept", TAX_NOW, "invoice (detach)", "rows").as_deref(), Some("5"));
    assert_eq!(get("notifications", "ideal", "", "impossible").as_deref(), Some("1"));
    assert_eq!(get("retention", "server-logs", "server_log", "removed").as_deref(), Some("160"));
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
    assert!(text.contains("Retention: 6 runs, 172 rows removed"), "{text}");
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
        TAX_NOW,
    ] {
        assert!(page.contains(text), "{text:?} not on the page");
    }
    // Every month of the year has its place on the months chart, with requests or not.
    for m in 1..=12 {
        assert!(page.contains(&format!(">2025-{m:02}</text>")), "2025-{m:02} not on the chart");
    }
    let out = env.run(&["report", "--from", "2024-01-01", "--to", "2024-12-31", "--html", "empty.html"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let empty = std::fs::read_to_string(env.path("empty.html")).unwrap();
    for m in 1..=12 {
        assert!(
            empty.contains(&format!(">2024-{m:02}</text>")),
            "2024-{m:02}: a year without requests shows its months"
        );
    }
    // The stored rule name is shown as text, never as markup.
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;\\u{1b}[31m"), "the rule name is not escaped");
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
