//! Erasure plans follow the store's data map (`[[table]]` entries): the erase kinds, their
//! conditions and years, what rows are called, and which rows are other people's. Plans stored
//! by the dsr that listed every table by hand still count as the same plan.

use serde_json::Value;

use crate::erase::{plan, steps};
use crate::support::Env;

const NOW: &str = "2026-03-01T00:00:00Z";

/// The virtio fixture made at a fixed moment, so that its rows are the same on every run, with two
/// verified erasure requests: Jan de Vries (paid and open invoices, a quote, payments, his own and
/// anonymous log lines), and the customer with invoices overdue and in collection, who has
/// restricted three categories for a legal claim.
fn store() -> Env {
    let mut env = Env::new();
    env.now = Some(NOW.into());
    env.dsr().args(["init", "--fixture", "virtio"]).assert().success();
    env.sql().execute_batch(REQUESTS).unwrap();
    env
}

const REQUESTS: &str = "
INSERT INTO request (id, year, seq, kind, subject_kind, subject_given, person_id, subject_pseudonym, channel, received_on, due_on, state, verified_at, verification_method, params, created_at)
VALUES ('DSR-2026-0001', 2026, 1, 'erase', 'customer', 'V204117', 1, 'p1', 'email', '2026-02-27', '2026-03-27', 'verified', '2026-02-27T10:00:00Z', 'email-code', '{}', '2026-02-27T09:00:00Z'),
       ('DSR-2026-0002', 2026, 2, 'erase', 'customer', 'VT', (SELECT person_id FROM customer WHERE id = 108), 'p2', 'email', '2026-02-27', '2026-03-27', 'verified', '2026-02-27T10:00:00Z', 'email-code', '{}', '2026-02-27T09:00:00Z');
INSERT INTO restriction (person_id, request_id, ground, category, started_at)
SELECT person_id, 'DSR-2026-0002', 'legal-claims', c, '2026-02-27T10:00:00Z' FROM request, (SELECT 'server-logs' AS c UNION ALL SELECT 'company' UNION ALL SELECT 'dunning') WHERE id = 'DSR-2026-0002';
";

/// Change one table's entry in the store's map (its JSON as `map_table` holds it).
fn remap(env: &Env, table: &str, set: &str) {
    let n = env.sql().execute(&format!("UPDATE map_table SET spec = {set} WHERE name = ?1"), [table]).unwrap();
    assert_eq!(n, 1, "{table} is in the map");
}

#[test]
fn a_plan_stored_before_the_map_drove_erasure_is_still_the_same_plan() {
    // Made by dsr at 381225f (steps listed by hand, in another order) for exactly this store.
    let old = [
        ("DSR-2026-0001", include_str!("data/erase-plan-0001-381225f.json")),
        ("DSR-2026-0002", include_str!("data/erase-plan-0002-381225f.json")),
    ];
    let env = store();
    for (id, plan) in old {
        env.sql()
            .execute(
                "INSERT INTO erasure_plan (request_id, plan, fingerprint, created_at, reviewed_at, approved_at, approved_by)
                 VALUES (?1, ?2, json_extract(?2, '$.fingerprint'), ?3, ?3, ?3, 'officer')",
                [id, plan.trim(), NOW],
            )
            .unwrap();
    }
    let (v, code): (Value, i32) = env.json(&["erase", "--due"]);
    // The second person's plan did change, by rule: her legal-claims restriction of the dunning
    // steps now keeps them linked, with the invoices they belong to (session 39), where that
    // plan unlinked them. A changed plan is made again and waits for a new confirmation.
    assert_eq!(code, 21, "{v}");
    assert_eq!(v["applied"], serde_json::json!(["DSR-2026-0001"]), "{v}");
    assert_eq!(v["replanned"], serde_json::json!(["DSR-2026-0002"]), "{v}");
}

#[test]
fn a_plan_stored_before_the_map_drove_erasure_is_made_again_when_a_count_changed() {
    let env = store();
    env.sql()
        .execute(
            "INSERT INTO erasure_plan (request_id, plan, fingerprint, created_at, reviewed_at, approved_at, approved_by)
             VALUES ('DSR-2026-0001', ?1, json_extract(?1, '$.fingerprint'), ?2, ?2, ?2, 'officer')",
            [include_str!("data/erase-plan-0001-381225f.json").trim(), NOW],
        )
        .unwrap();
    env.sql()
        .execute("INSERT INTO server_log (logged_at, ip, method, path, status, session_id) SELECT logged_at, ip, 'GET', '/new', 200, session_id FROM server_log WHERE session_id IN (SELECT id FROM web_session WHERE customer_id = 101) LIMIT 1", [])
        .unwrap();
    let (v, code): (Value, i32) = env.json(&["erase", "--due"]);
    assert_eq!(code, 21, "{v}");
    assert_eq!(v["replanned"], serde_json::json!(["DSR-2026-0001"]), "{v}");
    let (p, _): (Value, i32) = env.json(&["erase", "DSR-2026-0001", "--dry-run"]);
    assert_eq!(p["plan"]["format_version"], 4, "stored again in the map's order: {p}");
}

#[test]
fn the_fiscal_hold_and_the_claim_come_from_the_map() {
    let env = store();
    // Jan's open invoice is no claim once only invoices in collection are; the hold is 10 years.
    remap(&env, "invoice", "json_set(spec, '$.erase.years', 10, '$.erase.claim.in', json('[\"collection\"]'))");
    let p = plan(&env, "DSR-2026-0001");
    let invoices = steps(&p, "invoice");
    let years: Vec<String> = env
        .sql()
        .prepare("SELECT DISTINCT substr(issued_at, 1, 4) FROM invoice WHERE customer_id = 101 ORDER BY 1")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let until: Vec<String> = years.iter().map(|y| format!("{}-12-31", y.parse::<i32>().unwrap() + 10)).collect();
    assert_eq!(invoices.iter().map(|s| s["until"].as_str().unwrap().to_owned()).collect::<Vec<_>>(), until, "{p}");
    assert!(
        invoices.iter().all(|s| s["ground"].as_str().unwrap().contains("17(3)(b)")
            && !s["ground"].as_str().unwrap().contains("17(3)(e)")),
        "{p}"
    );
    // The payments and the quote the invoices need are kept as long as the latest of them.
    for table in ["payment", "quote"] {
        let kept = steps(&p, table).into_iter().find(|s| s["action"] == "detach").unwrap();
        assert_eq!(kept["until"], until.last().unwrap().as_str(), "{table}");
    }
    // The customer in collection: the overdue invoice is no claim, the one in collection is. (Her
    // legal-claims restriction of the dunning steps keeps the invoices they belong to as they
    // are; without it, the invoices' own rules show.)
    env.sql().execute("DELETE FROM restriction WHERE category = 'dunning'", []).unwrap();
    let p = plan(&env, "DSR-2026-0002");
    let claims: Vec<&Value> = steps(&p, "invoice")
        .into_iter()
        .filter(|s| s["until"].as_str().unwrap().starts_with("until settled"))
        .collect();
    assert_eq!(claims.len(), 1, "{p}");
    assert_eq!(claims[0]["rows"], 1, "{p}");
}

#[test]
fn other_names_and_kinds_in_the_map_change_the_plan() {
    let env = store();
    remap(&env, "server_log", "json_set(spec, '$.rows_called', 'web requests')");
    remap(&env, "service", "json_set(spec, '$.erase', json('{\"kind\": \"detach\", \"detach\": [\"hostname\"]}'))");
    remap(&env, "quote", "json_remove(spec, '$.erase')");
    let p = plan(&env, "DSR-2026-0001");
    let why: Vec<&str> = steps(&p, "server_log").iter().map(|s| s["why"].as_str().unwrap()).collect();
    assert!(why.contains(&"anonymous web requests that carry the person's IP addresses"), "{p}");
    assert!(why.contains(&"web requests of the person's own sessions"), "{p}");
    let service = steps(&p, "service");
    assert_eq!(service.len(), 1, "{p}");
    assert_eq!(service[0]["action"], "detach");
    assert_eq!(service[0]["fields"], serde_json::json!(["hostname"]));
    assert_eq!(service[0]["why"], "service rows stay; the erased hostname is unlinked");
    // A quote is an ordinary row now: deleted, referenced or not.
    assert!(steps(&p, "quote").iter().all(|s| s["action"] == "delete" && s["why"] == "no ground to keep"), "{p}");
    // Anonymous lines are no longer other people's rows to erase when the map does not say so.
    remap(&env, "server_log", "json_remove(spec, '$.other_people')");
    let p = plan(&env, "DSR-2026-0001");
    assert_eq!(steps(&p, "server_log").len(), 1, "{p}");
    assert_eq!(steps(&p, "server_log")[0]["why"], "no ground to keep");
}

#[test]
fn an_ended_contract_kept_for_a_consent_loses_the_map_s_identity_fields() {
    let mut env = store();
    // Milan Peters (virtio 20), contract ended, keeps the newsletter; this company's person row
    // is named by given and family name only: the street stays.
    env.sql()
        .execute_batch(
            "UPDATE email_address SET newsletter_opt_in = 1 WHERE person_id = 20;
             INSERT INTO consent (person_id, purpose, granted, recorded_at, source) VALUES (20, 'newsletter', 1, '2020-01-01T00:00:00Z', 'signup');",
        )
        .unwrap();
    remap(&env, "person", "json_set(spec, '$.erase.identity_fields', json('[\"given_name\", \"family_name\"]'))");
    env.now = Some("2028-01-01T00:00:00Z".into());
    let out = env.run(&["--json", "retention", "run"]);
    assert_eq!(out.status.code(), Some(0), "{}", crate::support::stderr(&out));
    let (named, street): (i64, i64) = env
        .sql()
        .query_row("SELECT count(given_name) + count(family_name), count(street) FROM person WHERE id = 20", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((named, street), (0, 1));
    assert_eq!(
        env.sql().query_row("SELECT count(*) FROM customer WHERE person_id = 20", [], |r| r.get::<_, i64>(0)).unwrap(),
        0
    );
}
