//! `dsr lookup`: every edge case of both fixtures finds exactly the expected records.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::support::{self, Env, FIXTURES};

#[derive(Debug, Deserialize)]
pub struct Case {
    pub case: String,
    pub query: BTreeMap<String, String>,
    expect: String,
    #[serde(default)]
    counts: BTreeMap<String, u64>,
    #[serde(default)]
    candidates: Option<usize>,
    #[serde(default)]
    person_id: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct Report {
    format_version: u32,
    status: String,
    person: Option<Person>,
    categories: Vec<Category>,
    total_records: u64,
    candidates: Vec<Candidate>,
}

#[derive(Debug, Deserialize)]
struct Person {
    person_id: i64,
}

#[derive(Debug, Deserialize)]
struct Category {
    records: u64,
    tables: Vec<Table>,
}

#[derive(Debug, Deserialize)]
struct Table {
    table: String,
    records: u64,
}

#[derive(Debug, Deserialize)]
struct Candidate {
    person_id: i64,
}

/// The lookup cases a fixture ships (`fixtures/NAME/cases.json`).
pub fn cases(fixture: &str) -> Vec<Case> {
    let text = std::fs::read_to_string(support::fixture_dir(fixture).join("cases.json")).expect("cases.json");
    serde_json::from_str(&text).expect("cases.json parses")
}

#[test]
fn every_fixture_case_finds_exactly_the_expected_records() {
    for fixture in FIXTURES {
        let env = Env::with_fixture(fixture);
        let cases = cases(fixture);
        assert!(cases.len() >= 15, "{fixture}: only {} cases", cases.len());
        for case in cases {
            let (kind, value) = case.query.iter().next().expect("query");
            let flag = format!("--{kind}");
            let (report, code): (Report, i32) = env.json(&["lookup", &flag, value]);
            let label = format!("{fixture}: {}", case.case);
            assert_eq!(report.format_version, 1);
            assert_eq!(report.status, case.expect, "{label}");
            match case.expect.as_str() {
                "found" => {
                    assert_eq!(code, 0, "{label}");
                    if let Some(id) = case.person_id {
                        assert_eq!(report.person.as_ref().unwrap().person_id, id, "{label}");
                    }
                    let got: BTreeMap<String, u64> = report
                        .categories
                        .iter()
                        .flat_map(|c| c.tables.iter().map(|t| (t.table.clone(), t.records)))
                        .collect();
                    assert_eq!(got, case.counts, "{label}");
                    let sum: u64 = report.categories.iter().map(|c| c.records).sum();
                    assert_eq!(sum, report.total_records, "{label}");
                }
                "ambiguous" => {
                    assert_eq!(code, 4, "{label}");
                    assert_eq!(Some(report.candidates.len()), case.candidates, "{label}");
                    let mut ids: Vec<i64> = report.candidates.iter().map(|c| c.person_id).collect();
                    ids.dedup();
                    assert_eq!(ids.len(), report.candidates.len(), "{label}: candidates repeat");
                    assert!(report.categories.is_empty(), "{label}: ambiguous must not count records");
                }
                "not-found" => {
                    assert_eq!(code, 3, "{label}");
                    assert!(report.person.is_none() && report.categories.is_empty(), "{label}");
                }
                other => panic!("{label}: unknown expectation {other}"),
            }
        }
    }
}

#[test]
fn the_fixture_cases_cover_every_required_edge_case() {
    for fixture in FIXTURES {
        let cases = cases(fixture);
        let has = |pred: &dyn Fn(&Case) -> bool| cases.iter().any(pred);
        assert!(
            has(&|c| c.query.get("email").is_some_and(|e| e == "Jan.DeVries@Example.NL") && c.expect == "found"),
            "{fixture}: mixed case"
        );
        assert!(
            has(&|c| c.query.get("email").is_some_and(|e| e == "jan.de.vries@example.nl") && c.expect == "not-found"),
            "{fixture}: dot folding"
        );
        assert!(
            has(&|c| c.query.get("email").is_some_and(|e| e == "jan.devries+news@example.nl")
                && c.expect == "not-found"),
            "{fixture}: plus folding"
        );
        assert!(has(&|c| c.query.contains_key("phone") && c.expect == "ambiguous"), "{fixture}: shared phone");
        assert!(has(&|c| c.query.contains_key("cookie") && c.expect == "found"), "{fixture}: cookie visitor");
        assert!(has(&|c| c.query.contains_key("customer") && c.expect == "found"), "{fixture}: customer number");
        assert!(has(&|c| c.counts.contains_key("company")), "{fixture}: company");
        assert!(
            has(&|c| c.counts.get("email_address").is_some_and(|&n| n >= 2)
                && c.counts.get("phone_number").is_some_and(|&n| n >= 2)),
            "{fixture}: several emails and phones"
        );
        assert!(
            has(&|c| c.counts.contains_key("application") && !c.counts.contains_key("customer")),
            "{fixture}: applicant only"
        );
        assert!(
            has(&|c| c.counts.contains_key("application") && c.counts.contains_key("customer")),
            "{fixture}: applicant turned customer"
        );
        assert!(
            has(&|c| c.counts.contains_key("ticket")
                && c.counts.contains_key("unsolicited_data")
                && !c.counts.contains_key("customer")),
            "{fixture}: ticket only"
        );
        assert!(has(&|c| c.counts.contains_key("dunning_event")), "{fixture}: dunning");
        assert!(has(&|c| c.counts.get("domain").is_some_and(|&n| n >= 2)), "{fixture}: domains");
        assert!(has(&|c| c.counts.contains_key("disclosure")), "{fixture}: police");
        assert!(has(&|c| c.counts.contains_key("crash_report")), "{fixture}: crash reports");
    }
}

/// The shared-IP rule, checked against the store itself rather than the expectations file: no
/// found person's server-log count includes a line without a session of theirs.
#[test]
fn log_lines_of_a_shared_ip_without_a_session_belong_to_no_one() {
    for fixture in FIXTURES {
        let env = Env::with_fixture(fixture);
        let conn = env.sql();
        let (ip, anonymous): (String, i64) = conn
            .query_row(
                "SELECT e.ip, (SELECT count(*) FROM server_log l WHERE l.ip = e.ip AND l.session_id IS NULL)
                 FROM ip_event e GROUP BY e.ip HAVING count(DISTINCT e.customer_id) > 1 ORDER BY e.ip LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("a shared IP in the fixture");
        assert!(anonymous > 0, "{fixture}: the shared IP {ip} should have anonymous log lines");
        let customers: Vec<String> = conn
            .prepare("SELECT DISTINCT c.customer_number FROM ip_event e JOIN customer c ON c.id = e.customer_id WHERE e.ip = ?1")
            .unwrap()
            .query_map([&ip], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(customers.len(), 2, "{fixture}");
        for number in customers {
            let own: i64 = conn
                .query_row(
                    "SELECT count(*) FROM server_log WHERE session_id IN
                       (SELECT s.id FROM web_session s JOIN customer c ON c.id = s.customer_id WHERE c.customer_number = ?1)",
                    [&number],
                    |r| r.get(0),
                )
                .unwrap();
            let (report, code): (Report, i32) = env.json(&["lookup", "--customer", &number]);
            assert_eq!(code, 0);
            let logs = report
                .categories
                .iter()
                .flat_map(|c| &c.tables)
                .find(|t| t.table == "server_log")
                .map_or(0, |t| t.records);
            assert_eq!(logs as i64, own, "{fixture}: customer {number} must see only their sessions' lines");
        }
    }
}

#[test]
fn human_output_is_a_table_and_exit_codes_match() {
    let env = Env::with_fixture("virtio");
    let out = env.run(&["lookup", "--email", "Jan.DeVries@Example.NL"]);
    assert_eq!(out.status.code(), Some(0));
    let text = support::stdout(&out);
    assert!(text.contains("Found person"), "{text}");
    assert!(text.contains("Email addresses"), "{text}");
    assert!(!text.contains("\x1b["), "no colour when not a terminal");
    let out = env.run(&["lookup", "--email", "nobody@example.nl"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(support::stdout(&out).contains("No person"));
}

#[test]
fn malformed_identifiers_are_usage_errors_that_do_not_echo_the_value() {
    let env = Env::with_fixture("virtio");
    for args in [
        ["lookup", "--email", "not-an-email"],
        ["lookup", "--email", "two@@example.nl"],
        ["lookup", "--phone", "call me maybe"],
        ["lookup", "--customer", ""],
    ] {
        let out = env.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        support::assert_one_line_error(&out);
        let err = support::stderr(&out);
        if !args[2].is_empty() {
            assert!(!err.contains(args[2]), "error repeats the input: {err}");
        }
    }
    let out = env.run(&["lookup"]);
    assert_eq!(out.status.code(), Some(2), "no identifier is a usage error");
    let out = env.run(&["lookup", "--email", "a@example.nl", "--phone", "0612345678"]);
    assert_eq!(out.status.code(), Some(2), "two identifiers are a usage error");
}

#[test]
fn a_customer_number_matches_whatever_its_case() {
    let env = Env::with_fixture("virtio");
    let (exact, code): (Report, i32) = env.json(&["lookup", "--customer", "V204117"]);
    assert_eq!((code, exact.status.as_str()), (0, "found"));
    let id = exact.person.expect("a person").person_id;
    for typed in ["v204117", " v204117 ", "V204117"] {
        let (r, code): (Report, i32) = env.json(&["lookup", "--customer", typed]);
        assert_eq!(code, 0, "{typed:?}");
        assert_eq!(r.person.map(|p| p.person_id), Some(id), "{typed:?}");
    }
    // The same customer, so the same open request, whichever case the requester wrote.
    let first = env.open("access", &["--customer", "v204117"]);
    let second = env.open("access", &["--customer", "V204117"]);
    assert_eq!((first.request.as_str(), second.new), (second.request.as_str(), false));
    assert_eq!(env.messages(&first.request).len(), 1, "the code went to the customer on file once");
}

/// An ambiguous identifier is answered with a way to name one person that they do not share.
#[test]
fn an_ambiguous_identifier_asks_for_one_the_people_do_not_share() {
    let env = Env::with_fixture("virtio");
    let shared: Vec<Case> = cases("virtio").into_iter().filter(|c| c.expect == "ambiguous").collect();
    assert!(!shared.is_empty());
    for case in shared {
        let (kind, value) = case.query.iter().next().unwrap();
        let out = env.run(&["lookup", &format!("--{kind}"), value]);
        assert_eq!(out.status.code(), Some(4), "{}", case.case);
        let text = support::stdout(&out);
        assert!(text.contains("name one by customer number"), "{}: {text}", case.case);
    }
}
