//! Plans made from a data map of other names than the built-in companies'.

use super::{apply, plan, Plan, Subject};
use crate::map::table::Table;

/// A company whose people are members: a membership with receipts under the fiscal hold, and
/// visit logs whose anonymous lines are other people's unless they carry the member's IP.
const MAP: &str = r#"
[[table]]
name = "member"
category = "identity"
root = true

[table.erase]
identity_fields = ["full_name"]

[[table]]
name = "membership"
category = "contract"

[table.link]
column = "member_id"
parent = "member"

[[table]]
name = "visit_log"
category = "logs"
rows_called = "visits"

[table.link]
column = "membership_id"
parent = "membership"

[table.other_people]
kind = "anonymous-by-ip"
column = "ip"

[[table.other_people.ips_from]]
table = "membership"
column = "signup_ip"

[[table]]
name = "receipt"
category = "receipts"

[table.link]
column = "membership_id"
parent = "membership"

[table.erase]
kind = "fiscal-record"
detach = ["membership_id"]
date_column = "paid_on"
years = 10

[table.erase.claim]
column = "state"
in = ["due"]
"#;

fn store() -> crate::store::Store {
    #[derive(serde::Deserialize)]
    struct File {
        table: Vec<Table>,
    }
    let store = crate::store::Store::in_memory().unwrap();
    crate::keys::Keys::create(&store.conn).unwrap();
    store
        .conn
        .execute_batch(
            "CREATE TABLE member (id INTEGER PRIMARY KEY, full_name TEXT, town TEXT) STRICT;
             CREATE TABLE membership (id INTEGER PRIMARY KEY, member_id INTEGER NOT NULL REFERENCES member(id), signup_ip TEXT) STRICT;
             CREATE TABLE receipt (id INTEGER PRIMARY KEY, membership_id INTEGER REFERENCES membership(id), paid_on TEXT NOT NULL, state TEXT NOT NULL) STRICT;
             CREATE TABLE visit_log (id INTEGER PRIMARY KEY, membership_id INTEGER REFERENCES membership(id), ip TEXT) STRICT;
             INSERT INTO category (code, name_en, name_nl, description_en, description_nl, provenance, source_en, source_nl, portable)
             SELECT c, c, c, c, c, 'provided', 'you', 'u', 1 FROM (SELECT 'identity' AS c UNION ALL SELECT 'contract' UNION ALL SELECT 'logs' UNION ALL SELECT 'receipts');
             INSERT INTO member VALUES (1, 'Mia Jansen', 'Utrecht'), (2, 'Piet Bakker', 'Zwolle');
             INSERT INTO membership VALUES (10, 1, '10.0.0.1'), (20, 2, '10.0.0.2');
             INSERT INTO receipt VALUES (100, 10, '2023-05-01', 'paid'), (101, 10, '2024-02-01', 'due'), (200, 20, '2023-06-01', 'paid');
             INSERT INTO visit_log VALUES (1, 10, '10.0.0.1'), (2, NULL, '10.0.0.1'), (3, NULL, '10.0.0.9'), (4, 20, '10.0.0.2');",
        )
        .unwrap();
    let file: File = toml::from_str(MAP).unwrap();
    crate::store::personal::save(&store.conn, &file.table).unwrap();
    store
}

fn summary(plan: &Plan) -> Vec<(String, String, u64, Option<String>, String)> {
    plan.steps.iter().map(|s| (s.table.clone(), s.action.clone(), s.rows, s.until.clone(), s.why.clone())).collect()
}

fn step(
    table: &str,
    action: &str,
    rows: u64,
    until: Option<&str>,
    why: &str,
) -> (String, String, u64, Option<String>, String) {
    (table.into(), action.into(), rows, until.map(Into::into), why.into())
}

#[test]
fn the_plan_follows_the_map_of_another_company() {
    let store = store();
    let s = Subject { person_id: 1, customer_id: None };
    let plan = plan(&store.conn, &s, "2026-11-01T00:00:00Z").unwrap();
    assert_eq!(
        summary(&plan),
        [
            step("visit_log", "delete", 1, None, "anonymous visits that carry the person's IP addresses"),
            step(
                "receipt",
                "detach",
                1,
                Some("until settled, not before 2034-12-31"),
                "unpaid receipt rows of fiscal year 2024: kept for the claim, unlinked from the profile"
            ),
            step(
                "receipt",
                "detach",
                1,
                Some("2033-12-31"),
                "receipt rows of fiscal year 2023, unlinked from the profile"
            ),
            step("visit_log", "delete", 1, None, "visits of the person's own membership rows"),
            step("membership", "delete", 1, None, "no ground to keep"),
            step("member", "delete", 1, None, "no ground to keep"),
        ]
    );
    assert!(plan.steps.iter().filter(|s| s.table == "receipt").all(|s| s.fields == ["membership_id"]));
    let done = apply(&store.conn, &s, &plan).unwrap();
    assert_eq!(done, 6);
    let q = |sql: &str| store.conn.query_row(sql, [], |r| r.get::<_, String>(0)).unwrap();
    assert_eq!(q("SELECT group_concat(id || ':' || ifnull(membership_id, '-')) FROM receipt"), "100:-,101:-,200:20");
    assert_eq!(q("SELECT group_concat(id) FROM visit_log"), "3,4", "another's anonymous visit and member 2's stay");
    assert_eq!(q("SELECT group_concat(id) FROM member"), "2");
}

#[test]
fn a_legal_claims_hold_keeps_the_map_s_path_to_the_held_rows() {
    let store = store();
    store
        .conn
        .execute_batch(
            // dsr's own records name the person by id (schema.sql still ties them to its own
            // person table, which this company does not use).
            "PRAGMA foreign_keys = OFF;
             INSERT INTO request (id, year, seq, kind, subject_kind, person_id, subject_pseudonym, channel, received_on, due_on, state, created_at)
             VALUES ('DSR-2026-0001', 2026, 1, 'restrict', 'email', 1, 'p', 'email', '2026-10-01', '2026-11-01', 'completed', '2026-10-01T00:00:00Z');
             INSERT INTO restriction (person_id, request_id, ground, category, started_at)
             VALUES (1, 'DSR-2026-0001', 'legal-claims', 'logs', '2026-10-01T00:00:00Z');
             PRAGMA foreign_keys = ON;",
        )
        .unwrap();
    let s = Subject { person_id: 1, customer_id: None };
    let plan = plan(&store.conn, &s, "2026-11-01T00:00:00Z").unwrap();
    let of = |table: &str| plan.steps.iter().filter(|s| s.table == table).collect::<Vec<_>>();
    assert!(of("visit_log")
        .iter()
        .all(|s| s.action == "keep" && s.why.starts_with("restricted for a legal claim (category logs)")));
    assert_eq!(of("membership")[0].action, "keep");
    assert_eq!(of("membership")[0].why, "the membership record the held data belong to");
    assert_eq!(of("member")[0].action, "detach");
    assert_eq!(of("member")[0].fields, ["full_name"]);
    apply(&store.conn, &s, &plan).unwrap();
    let left: String = store
        .conn
        .query_row("SELECT ifnull(full_name, '-') || ' ' || town FROM member WHERE id = 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, "- Utrecht");
}

/// A plan applied in the transaction that makes it counts the same rows, step for step, as the
/// plan made to be stored; its fingerprint covers the steps and counts, not the rows, so it is
/// never taken for the stored kind (and a change of count changes it).
#[test]
fn a_plan_applied_at_once_counts_what_the_stored_plan_counts() {
    let store = store();
    let s = Subject { person_id: 1, customer_id: None };
    let full = plan(&store.conn, &s, "2026-11-01T00:00:00Z").unwrap();
    let at_once = super::plan_applied_at_once(&store.conn, &s, "2026-11-01T00:00:00Z").unwrap();
    assert_eq!(summary(&at_once), summary(&full));
    assert_eq!((at_once.deleted, at_once.kept), (full.deleted, full.kept));
    assert_ne!(at_once.fingerprint, full.fingerprint);
    assert!(!super::same(&at_once, &full));
    store.conn.execute("INSERT INTO visit_log VALUES (5, 10, '10.0.0.1')", []).unwrap();
    let more = super::plan_applied_at_once(&store.conn, &s, "2026-11-01T00:00:00Z").unwrap();
    assert_ne!(more.fingerprint, at_once.fingerprint);
    assert_eq!(apply(&store.conn, &s, &more).unwrap(), 7);
}

/// For every person of every shipped company (people with and without tickets, orders,
/// applications...), the plan counted for `erase REQ --yes`, which does not query the tables
/// under a table the person has no rows in, has the steps and counts of the plan that reads
/// every row.
#[test]
fn the_counted_plan_matches_the_full_plan_for_every_fixture_person() {
    use crate::store::fixture;
    for f in fixture::FIXTURES {
        let mut store = crate::store::Store::in_memory().unwrap();
        crate::keys::Keys::create(&store.conn).unwrap();
        fixture::load(&mut store.conn, f, crate::clock::Clock::from_env().unwrap(), false).unwrap();
        let map = crate::store::personal::DataMap::load(&store.conn).unwrap();
        let root = map.root().unwrap();
        let sql = format!("SELECT {} FROM {}", root.key, root.sql_name());
        let people: Vec<i64> =
            store.conn.prepare(&sql).unwrap().query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect();
        assert!(people.len() > 5, "{}: {} people", f.name, people.len());
        for person_id in people {
            let s = Subject { person_id, customer_id: None };
            let full = plan(&store.conn, &s, "2026-11-01T00:00:00Z").unwrap();
            let at_once = super::plan_applied_at_once(&store.conn, &s, "2026-11-01T00:00:00Z").unwrap();
            assert_eq!(summary(&at_once), summary(&full), "{} person {person_id}", f.name);
            assert_eq!((at_once.deleted, at_once.kept), (full.deleted, full.kept), "{} person {person_id}", f.name);
        }
    }
}

/// A legal-claims restriction keeps the held rows as they are, linked, even those the plan would
/// otherwise keep unlinked (receipts under the fiscal hold), with the rows they hang from; a
/// parent row with no held row under it is erased as usual.
#[test]
fn a_legal_claims_hold_keeps_held_rows_linked_and_only_the_parents_they_hang_from() {
    let store = store();
    store
        .conn
        .execute_batch(
            "INSERT INTO membership VALUES (11, 1, '10.0.0.3');
             INSERT INTO member VALUES (3, 'Lot Smit', 'Ede');
             INSERT INTO membership VALUES (30, 3, '10.0.0.4');
             PRAGMA foreign_keys = OFF;
             INSERT INTO request (id, year, seq, kind, subject_kind, person_id, subject_pseudonym, channel, received_on, due_on, state, created_at)
             VALUES ('DSR-2026-0001', 2026, 1, 'restrict', 'email', 1, 'p', 'email', '2026-10-01', '2026-11-01', 'completed', '2026-10-01T00:00:00Z'),
                    ('DSR-2026-0002', 2026, 2, 'restrict', 'email', 3, 'q', 'email', '2026-10-01', '2026-11-01', 'completed', '2026-10-01T00:00:00Z');
             INSERT INTO restriction (person_id, request_id, ground, category, started_at)
             VALUES (1, 'DSR-2026-0001', 'legal-claims', 'receipts', '2026-10-01T00:00:00Z'),
                    (3, 'DSR-2026-0002', 'legal-claims', 'logs', '2026-10-01T00:00:00Z');
             PRAGMA foreign_keys = ON;",
        )
        .unwrap();
    let s = Subject { person_id: 1, customer_id: None };
    let first = plan(&store.conn, &s, "2026-11-01T00:00:00Z").unwrap();
    let receipts: Vec<_> = first.steps.iter().filter(|s| s.table == "receipt").collect();
    assert!(!receipts.is_empty());
    assert!(
        receipts.iter().all(|s| s.action == "keep"
            && s.fields.is_empty()
            && s.until.as_deref() == Some("until the restriction is lifted")
            && s.why == "restricted for a legal claim (category receipts): receipt rows stay as they are, linked to the person"),
        "{receipts:?}"
    );
    apply(&store.conn, &s, &first).unwrap();
    let q = |sql: &str| store.conn.query_row(sql, [], |r| r.get::<_, String>(0)).unwrap();
    assert_eq!(q("SELECT group_concat(id || ':' || ifnull(membership_id, '-')) FROM receipt"), "100:10,101:10,200:20");
    assert_eq!(q("SELECT group_concat(id) FROM membership"), "10,20,30", "the membership without receipts went");
    assert_eq!(q("SELECT ifnull(full_name, '-') FROM member WHERE id = 1"), "-");
    // A held category the person has no rows of keeps nothing of theirs but the bare person row.
    let s = Subject { person_id: 3, customer_id: None };
    let second = plan(&store.conn, &s, "2026-11-01T00:00:00Z").unwrap();
    apply(&store.conn, &s, &second).unwrap();
    assert_eq!(q("SELECT group_concat(id) FROM membership"), "10,20");
    assert_eq!(q("SELECT ifnull(full_name, '-') || ' ' || town FROM member WHERE id = 3"), "- Ede");
}
