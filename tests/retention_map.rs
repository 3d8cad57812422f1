//! `dsr retention run` follows the data map: a rule is carried out on the table its map entry
//! describes (the column a period counts from, the rows hanging from an expiring row, what erasure
//! keeps), and a rule the map cannot carry out is refused, naming what the entry lacks (one line
//! per problem, as every problem of a company file).

use serde_json::Value;

use crate::support::{self, stderr, Env};

/// A fixture store made on 2026-06-01, whose later commands run then too (the fixture's dates
/// count back from the moment it is made).
fn made_2026_06_01(fixture: &str) -> Env {
    let mut env = Env::new();
    env.now = Some("2026-06-01T00:00:00Z".into());
    env.dsr().args(["init", "--fixture", fixture]).assert().success();
    env
}

fn count(env: &Env, sql: &str) -> i64 {
    env.sql().query_row(sql, [], |r| r.get(0)).unwrap()
}

fn rule<'a>(v: &'a Value, code: &str) -> &'a Value {
    v["rules"].as_array().unwrap().iter().find(|r| r["rule"] == code).unwrap_or_else(|| panic!("no rule {code}: {v}"))
}

/// A table of another company's (visits, counted from `gezien_op`, with the clicks of each visit
/// hanging from it), put in a fixture store with its map entry and a rule of six months.
fn with_visits(env: &Env) {
    env.sql()
        .execute_batch(
            r#"CREATE TABLE visit (id INTEGER PRIMARY KEY, bezoeker INTEGER NOT NULL REFERENCES person(id),
                   gezien_op TEXT NOT NULL, page TEXT NOT NULL) STRICT;
               CREATE TABLE visit_click (id INTEGER PRIMARY KEY, visit_id INTEGER NOT NULL REFERENCES visit(id),
                   target TEXT NOT NULL) STRICT;
               INSERT INTO visit VALUES (1, 1, '2025-01-10T10:00:00Z', '/fietsen'), (2, 1, '2026-05-20T10:00:00Z', '/accu'),
                   (3, 2, '2025-11-02T09:00:00Z', '/'), (4, 2, '2026-04-01T09:00:00Z', '/contact');
               INSERT INTO visit_click VALUES (1, 1, 'buy'), (2, 1, 'cart'), (3, 2, 'buy'), (4, 3, 'home');
               INSERT INTO category_table VALUES ('visit', 'server-logs'), ('visit_click', 'server-logs');
               INSERT INTO map_table VALUES
                   ('visit', 1000, '{"name":"visit","category":"server-logs","link":{"column":"bezoeker","parent":"person"},"retention":{"counts_from":"gezien_op"}}'),
                   ('visit_click', 1010, '{"name":"visit_click","category":"server-logs","link":{"column":"visit_id","parent":"visit"}}');
               INSERT INTO retention_rule VALUES ('visits', 'server-logs', 'visit', 6, 'event',
                   'Visits: 6 months.', 'Bezoeken: 6 maanden.', 'fixture', 'Added behind dsr''s back.');"#,
        )
        .unwrap();
}

#[test]
fn a_rule_on_a_table_of_another_company_counts_from_the_column_its_map_entry_names() {
    let env = made_2026_06_01("virtio");
    with_visits(&env);
    // Six months before 2026-06-01 is 2025-12-01: visits 1 and 3 are past it.
    let (dry, code): (Value, i32) = env.json(&["retention", "run", "--dry-run"]);
    assert_eq!(code, 0, "{dry}");
    assert_eq!(rule(&dry, "visits")["removed"], 2, "{dry}");
    assert_eq!(count(&env, "SELECT count(*) FROM visit"), 4, "a dry run removes nothing");
    let (v, code): (Value, i32) = env.json(&["retention", "run"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!((rule(&v, "visits")["removed"].as_u64(), &rule(&v, "visits")["error"]), (Some(2), &Value::Null), "{v}");
    let left: Vec<i64> = env
        .sql()
        .prepare("SELECT id FROM visit ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(left, [2, 4]);
    // The clicks of an expired visit went first; the others stay.
    assert_eq!(count(&env, "SELECT count(*) FROM visit_click"), 1);
    assert_eq!(count(&env, "SELECT id FROM visit_click"), 3);
    assert_eq!(
        count(&env, "SELECT count(*) FROM audit_log WHERE action = 'retention' AND json_extract(details, '$.rule') = 'visits' AND json_extract(details, '$.removed') = 2"),
        1
    );
    env.dsr().args(["audit", "verify"]).assert().success();
}

#[test]
fn a_contract_end_rule_on_a_mapped_table_reaches_the_contract_through_the_map() {
    let env = made_2026_06_01("virtio");
    // Loyalty cards hang from the contract; they go six months after it ended (before 2025-12-01:
    // customers 120 and 116; 125 ended in 2026-02 and the first customer's contract runs).
    env.sql()
        .execute_batch(
            r#"CREATE TABLE loyalty_card (id INTEGER PRIMARY KEY, klant INTEGER NOT NULL REFERENCES customer(id), number TEXT NOT NULL) STRICT;
               INSERT INTO loyalty_card (klant, number) SELECT id, 'LC' || id FROM customer WHERE id IN (120, 116, 125)
                   OR id = (SELECT min(id) FROM customer WHERE ended_at IS NULL);
               INSERT INTO category_table VALUES ('loyalty_card', 'login');
               INSERT INTO map_table VALUES ('loyalty_card', 1000,
                   '{"name":"loyalty_card","category":"login","link":{"column":"klant","parent":"customer"}}');
               INSERT INTO retention_rule VALUES ('loyalty-cards', 'login', 'loyalty_card', 6, 'contract-end',
                   'Loyalty cards: 6 months after the contract.', 'Klantenpassen: 6 maanden na het contract.', 'fixture', 'Added behind dsr''s back.');"#,
        )
        .unwrap();
    assert_eq!(count(&env, "SELECT count(*) FROM loyalty_card"), 4);
    let (v, code): (Value, i32) = env.json(&["retention", "run"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(rule(&v, "loyalty-cards")["removed"], 2, "{v}");
    assert_eq!(count(&env, "SELECT count(*) FROM loyalty_card WHERE klant IN (120, 116)"), 0);
    assert_eq!(count(&env, "SELECT count(*) FROM loyalty_card"), 2);
}

#[test]
fn a_legal_claims_hold_keeps_the_rows_of_a_mapped_table_too() {
    let env = made_2026_06_01("virtio");
    with_visits(&env);
    // Person 1's data is restricted for legal claims: their expired visit stays, person 2's goes.
    let address: String = env
        .sql()
        .query_row("SELECT address FROM email_address WHERE person_id = 1 ORDER BY is_primary DESC LIMIT 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    let o = env.open("restrict", &["--email", &address, "--ground", "legal-claims"]);
    let code = env.code(&o.request);
    env.dsr().args(["verify", &o.request, &code]).assert().success();
    env.dsr().args(["restrict", &o.request, "--yes"]).assert().success();
    let (v, code): (Value, i32) = env.json(&["retention", "run"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(rule(&v, "visits")["removed"], 1, "{v}");
    assert_eq!(count(&env, "SELECT count(*) FROM visit WHERE id = 1"), 1, "held for the legal claim");
    assert_eq!(count(&env, "SELECT count(*) FROM visit WHERE id = 3"), 0);
}

/// A restriction asked for instead of erasure (Art. 18(1)(b)) keeps the data as a legal-claims one
/// does: the person wants it kept, and only storage is allowed; a contested accuracy does not.
#[test]
fn a_restriction_instead_of_erasure_keeps_the_rows_and_a_contested_accuracy_does_not() {
    for (ground, kept) in [("unlawful", 1), ("accuracy-contested", 0)] {
        let env = made_2026_06_01("virtio");
        with_visits(&env);
        let address: String = env
            .sql()
            .query_row(
                "SELECT address FROM email_address WHERE person_id = 1 ORDER BY is_primary DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let o = env.open("restrict", &["--email", &address, "--ground", ground]);
        let code = env.code(&o.request);
        env.dsr().args(["verify", &o.request, &code]).assert().success();
        env.dsr().args(["restrict", &o.request, "--yes"]).assert().success();
        let (v, code): (Value, i32) = env.json(&["retention", "run"]);
        assert_eq!(code, 0, "{v}");
        assert_eq!(count(&env, "SELECT count(*) FROM visit WHERE id = 1"), kept, "{ground}: {v}");
        assert_eq!(count(&env, "SELECT count(*) FROM visit WHERE id = 3"), 0, "{ground}");
    }
}

#[test]
fn what_the_map_calls_an_open_claim_is_kept_past_the_fiscal_hold() {
    let mut env = made_2026_06_01("virtio");
    // This company also counts a written-off invoice as a claim it may still pursue.
    env.sql()
        .execute(
            "UPDATE map_table SET spec = json_set(spec, '$.erase.claim.in', json('[\"open\",\"overdue\",\"collection\",\"written-off\"]'))
             WHERE name = 'invoice'",
            [],
        )
        .unwrap();
    let written_off = count(&env, "SELECT count(*) FROM invoice WHERE status = 'written-off'");
    assert!(written_off > 0);
    env.now = Some("2040-01-01T00:00:00Z".into());
    let (v, code): (Value, i32) = env.json(&["retention", "run"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(count(&env, "SELECT count(*) FROM invoice WHERE status = 'paid'"), 0, "{v}");
    assert_eq!(count(&env, "SELECT count(*) FROM invoice WHERE status = 'written-off'"), written_off, "{v}");
}

#[test]
fn a_rule_on_a_table_whose_map_entry_has_no_counts_from_is_refused_naming_what_is_missing() {
    let env = Env::with_fixture("virtio");
    let out = env.run(&["register", "export"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = support::stdout(&out);
    let entry = "name = \"crash_report\"\ncategory = \"crash-data\"\nlabel_en = \"Crash reports\"\nlabel_nl = \"Crashrapporten\"\n\n[table.link]\ncolumn = \"person_id\"\nparent = \"person\"\n\n";
    let bad = text.replacen(&format!("{entry}[table.retention]\ncounts_from = \"occurred_at\"\n"), entry, 1);
    assert_ne!(bad, text, "the virtio file says what crash reports count from");
    let file = env.path("no-moment.toml");
    std::fs::write(&file, bad).unwrap();
    let mut other = Env::new();
    other.db = env.path("no-moment.sqlite");
    let out = other.dsr().arg("init").arg("--register").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    let line = err.lines().find(|l| l.contains("retention rule crash-data")).unwrap_or_else(|| panic!("{err}"));
    assert!(
        line.ends_with("retention rule crash-data cannot be carried out: table crash_report has no retention.counts_from in the data map, the column a rule starting at event counts from"),
        "{err}"
    );
    assert!(err.lines().all(|l| l.starts_with("dsr: ")), "{err}");
    assert!(!other.db.exists(), "no store is made");
}

/// A column a rule counts from, renamed behind dsr's back: the rule fails in words (the column,
/// the table, what to do), not as its SQL; the other rules run.
#[test]
fn a_rule_whose_column_was_renamed_says_so_and_the_others_run() {
    let env = made_2026_06_01("virtio");
    with_visits(&env);
    env.sql().execute_batch("ALTER TABLE visit RENAME COLUMN gezien_op TO seen_at").unwrap();
    let out = env.run(&["retention", "run", "--dry-run"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    let line = err.lines().find(|l| l.contains("rule visits failed")).unwrap_or_else(|| panic!("{err}"));
    assert!(line.contains("no such column: gezien_op: the table visit is not what the data map says"), "{line}");
    assert!(line.contains("dsr doctor") && !line.contains("SELECT") && !line.contains("Error code"), "{line}");
}
