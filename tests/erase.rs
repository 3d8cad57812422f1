//! Erasure, forensic completeness, cron runs, retention, replay.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::{self, stderr, Env};

fn verified(env: &Env, who: &[&str]) -> String {
    let o = env.open("erase", who);
    let code = env.code(&o.request);
    env.dsr().args(["verify", &o.request, &code]).assert().success();
    o.request
}

/// The plan `erase --dry-run` shows (also used by `erase_map`).
pub(crate) fn plan(env: &Env, id: &str) -> Value {
    let (v, code): (Value, i32) = env.json(&["erase", id, "--dry-run"]);
    assert_eq!(code, 0, "{v}");
    v["plan"].clone()
}

/// The steps of a plan on one table.
pub(crate) fn steps<'a>(plan: &'a Value, table: &str) -> Vec<&'a Value> {
    plan["steps"].as_array().unwrap().iter().filter(|s| s["table"] == table).collect()
}

fn email_of(env: &Env, sql: &str) -> String {
    env.sql()
        .query_row(
            &format!(
                "SELECT e.address FROM email_address e WHERE e.person_id = ({sql}) ORDER BY e.is_primary DESC LIMIT 1"
            ),
            [],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn plans_for_each_kind_of_person() {
    let env = Env::with_fixture("virtio");
    // A customer with no invoices: everything deleted, nothing kept.
    env.sql()
        .execute_batch(
            "DELETE FROM payment WHERE invoice_id IN (SELECT id FROM invoice WHERE customer_id = (SELECT id FROM customer WHERE customer_number = 'V204117'));
             DELETE FROM dunning_event WHERE invoice_id IN (SELECT id FROM invoice WHERE customer_id = (SELECT id FROM customer WHERE customer_number = 'V204117'));
             DELETE FROM invoice WHERE customer_id = (SELECT id FROM customer WHERE customer_number = 'V204117');
             DELETE FROM quote WHERE customer_id = (SELECT id FROM customer WHERE customer_number = 'V204117');",
        )
        .unwrap();
    let none = "jan.devries@example.nl".to_owned();
    let p = plan(&env, &verified(&env, &["--email", &none]));
    assert!(p["steps"].as_array().unwrap().iter().all(|s| s["action"] == "delete" || s["table"] == "request"), "{p}");
    assert_eq!(steps(&p, "person")[0]["rows"], 1);
    // Paid invoices: kept until 31 December of their fiscal year + 7, detached; the profile goes.
    let paid = email_of(&env, "SELECT c.person_id FROM customer c JOIN invoice i ON i.customer_id = c.id GROUP BY c.id HAVING sum(i.status = 'paid') > 0 AND sum(i.status IN ('open', 'overdue', 'collection')) = 0 LIMIT 1");
    let id = verified(&env, &["--email", &paid]);
    let p = plan(&env, &id);
    let year: i32 = env.sql().query_row("SELECT min(substr(issued_at, 1, 4)) FROM invoice i JOIN customer c ON c.id = i.customer_id JOIN email_address e ON e.person_id = c.person_id WHERE e.address = ?1", [&paid], |r| r.get::<_, String>(0)).unwrap().parse().unwrap();
    let inv = steps(&p, "invoice");
    assert!(inv.iter().all(|s| s["action"] == "detach" && s["ground"].as_str().unwrap().contains("17(3)(b)")));
    assert!(inv.iter().any(|s| s["until"] == format!("{}-12-31", year + 7)), "{inv:?}");
    assert_eq!(steps(&p, "person")[0]["action"], "delete");
    env.dsr().args(["erase", &id, "--yes"]).assert().success();
    let detached: i64 =
        env.sql().query_row("SELECT count(*) FROM invoice WHERE customer_id IS NULL", [], |r| r.get(0)).unwrap();
    assert!(detached >= inv.iter().map(|s| s["rows"].as_i64().unwrap()).sum::<i64>());
    // An unpaid invoice in collection: kept for the legal claim until settled, and at least as
    // long as the administration it belongs to.
    let debtor = email_of(&env, "SELECT c.person_id FROM customer c JOIN invoice i ON i.customer_id = c.id WHERE i.status = 'collection' LIMIT 1");
    let p = plan(&env, &verified(&env, &["--email", &debtor]));
    assert!(steps(&p, "invoice").iter().any(|s| s["ground"].as_str().unwrap().contains("17(3)(e)")
        && s["until"].as_str().unwrap().starts_with("until settled, not before ")));
    assert!(steps(&p, "dunning_event").iter().any(|s| s["action"] == "detach" && s["until"] == "until settled"));
    // An applicant and a ticket-only person: everything goes.
    for sql in [
        "SELECT a.person_id FROM application a WHERE a.person_id NOT IN (SELECT person_id FROM customer) LIMIT 1",
        "SELECT t.person_id FROM ticket t WHERE t.person_id NOT IN (SELECT person_id FROM customer) AND t.person_id NOT IN (SELECT person_id FROM application) LIMIT 1",
    ] {
        let email = email_of(&env, sql);
        let id = verified(&env, &["--email", &email]);
        let p = plan(&env, &id);
        assert!(p["steps"].as_array().unwrap().iter().all(|s| s["action"] == "delete" || s["table"] == "request"), "{p}");
        env.dsr().args(["erase", &id, "--yes"]).assert().success();
        let (_, code): (Value, i32) = env.json(&["lookup", "--email", &email]);
        assert_eq!(code, 3, "{email} is gone");
    }
    env.dsr().args(["audit", "verify"]).assert().success();
}

/// The data changes after planning: a new log line in one of Jan's sessions.
fn new_log_line_for_jan(env: &Env) {
    env.sql()
        .execute("INSERT INTO server_log (logged_at, ip, method, path, status, session_id) SELECT '2026-11-01T00:00:00Z', ip, 'GET', '/new', 200, id FROM web_session WHERE customer_id = (SELECT id FROM customer WHERE customer_number = 'V204117') LIMIT 1", [])
        .unwrap();
}

#[test]
fn a_stale_plan_is_made_again_not_applied() {
    let env = Env::with_fixture("virtio");
    let id = verified(&env, &["--email", "jan.devries@example.nl"]);
    plan(&env, &id);
    new_log_line_for_jan(&env);
    let out = env.run(&["erase", &id, "--yes"]);
    assert_eq!(out.status.code(), Some(21), "{}", support::stderr(&out));
    let (_, code): (Value, i32) = env.json(&["lookup", "--email", "jan.devries@example.nl"]);
    assert_eq!(code, 0, "nothing erased");
    env.dsr().args(["erase", &id, "--yes"]).assert().success();
    let (_, code): (Value, i32) = env.json(&["lookup", "--email", "jan.devries@example.nl"]);
    assert_eq!(code, 3);
}

#[test]
fn an_unverified_erasure_does_nothing() {
    let env = Env::with_fixture("virtio");
    let o = env.open("erase", &["--email", "jan.devries@example.nl"]);
    for args in [vec!["erase", o.request.as_str(), "--yes"], vec!["erase", o.request.as_str(), "--dry-run"]] {
        let out = env.run(&args);
        assert_eq!(out.status.code(), Some(5));
    }
    let (_, code): (Value, i32) = env.json(&["lookup", "--email", "jan.devries@example.nl"]);
    assert_eq!(code, 0);
    let out = env.run(&["erase", "--due"]);
    assert!(out.status.success());
    let (_, code): (Value, i32) = env.json(&["lookup", "--email", "jan.devries@example.nl"]);
    assert_eq!(code, 0, "--due touches only verified requests with a plan");
}

/// Values of a person that an erasure must remove (those not kept on an invoice by law).
fn values(env: &Env, person: i64) -> Vec<String> {
    let conn = env.sql();
    let mut v: Vec<String> = Vec::new();
    let mut add = |sql: &str| {
        let mut stmt = conn.prepare(sql).unwrap();
        let rows = stmt.query_map([person], |r| r.get::<_, Option<String>>(0)).unwrap();
        for x in rows.flatten().flatten() {
            if x.len() >= 6 {
                v.push(x);
            }
        }
    };
    add("SELECT address FROM email_address WHERE person_id = ?1");
    add("SELECT number FROM phone_number WHERE person_id = ?1");
    add("SELECT iban FROM payment_method WHERE customer_id IN (SELECT id FROM customer WHERE person_id = ?1)");
    add("SELECT paypal_email FROM payment_method WHERE customer_id IN (SELECT id FROM customer WHERE person_id = ?1)");
    add("SELECT ip FROM ip_event WHERE customer_id IN (SELECT id FROM customer WHERE person_id = ?1) AND ip NOT IN (SELECT ip FROM ip_event WHERE customer_id NOT IN (SELECT id FROM customer WHERE person_id = ?1))");
    add("SELECT username FROM login_account WHERE customer_id IN (SELECT id FROM customer WHERE person_id = ?1)");
    add("SELECT body FROM ticket_message WHERE ticket_id IN (SELECT id FROM ticket WHERE person_id = ?1)");
    add("SELECT given_name || ' ' || family_name FROM person WHERE id = ?1 AND id NOT IN (SELECT c.person_id FROM customer c JOIN invoice i ON i.customer_id = c.id)");
    add("SELECT street FROM person WHERE id = ?1 AND id NOT IN (SELECT c.person_id FROM customer c JOIN invoice i ON i.customer_id = c.id)");
    let mut all = Vec::new();
    for x in v {
        all.push(x.to_lowercase());
        all.push(x.to_uppercase());
        all.push(x);
    }
    all
}

fn leftovers(env: &Env, values: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for suffix in ["", "-wal"] {
        let mut p = env.db.clone().into_os_string();
        p.push(suffix);
        let Ok(bytes) = std::fs::read(&p) else { continue };
        for v in values {
            if bytes.windows(v.len()).any(|w| w == v.as_bytes()) {
                found.push(format!("{v} in {}", std::path::Path::new(&p).display()));
            }
        }
    }
    found
}

#[test]
fn no_byte_of_an_erased_value_remains_in_the_file_or_wal() {
    let env = Env::with_fixture("virtio");
    let conn = env.sql();
    let people: Vec<(i64, String)> = conn
        .prepare("SELECT p.id, (SELECT address FROM email_address WHERE person_id = p.id ORDER BY is_primary DESC LIMIT 1) FROM person p WHERE p.id IN (SELECT person_id FROM email_address) AND p.id IN (SELECT person_id FROM customer) ORDER BY p.id LIMIT 6")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    drop(conn);
    for (person, email) in people {
        let erased = values(&env, person);
        assert!(!erased.is_empty());
        assert!(leftovers(&env, &erased).len() >= erased.len() / 3, "the values are in the store before");
        let id = verified(&env, &["--email", &email]);
        env.dsr().args(["erase", &id, "--yes"]).assert().success();
        let left = leftovers(&env, &erased);
        assert!(left.is_empty(), "erased values remain: {left:?}");
    }
}

#[test]
fn the_forensic_scan_finds_values_when_secure_delete_is_off() {
    // The same deletion done without secure_delete leaves the bytes in free pages: the scan above
    // would fail, so it is a real check.
    let env = Env::with_fixture("virtio");
    let person: i64 = env
        .sql()
        .query_row("SELECT person_id FROM email_address WHERE address = 'jan.devries@example.nl'", [], |r| r.get(0))
        .unwrap();
    let erased = values(&env, person);
    let conn = env.sql();
    conn.execute_batch("PRAGMA secure_delete = OFF; PRAGMA foreign_keys = OFF;").unwrap();
    conn.execute("DELETE FROM email_address WHERE person_id = ?1", [person]).unwrap();
    conn.execute("DELETE FROM phone_number WHERE person_id = ?1", [person]).unwrap();
    conn.execute(
        "DELETE FROM login_account WHERE customer_id IN (SELECT id FROM customer WHERE person_id = ?1)",
        [person],
    )
    .unwrap();
    conn.execute("DELETE FROM customer WHERE person_id = ?1", [person]).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    drop(conn);
    assert!(!leftovers(&env, &erased).is_empty(), "without secure_delete the values stay in the file");
}

#[test]
fn erase_due_applies_stored_plans_under_a_lock() {
    let env = Env::with_fixture("virtio");
    let id = verified(&env, &["--email", "jan.devries@example.nl"]);
    let out = env.run(&["erase", &id]);
    assert_eq!(out.status.code(), Some(2), "no --yes off a terminal; the plan is stored, not approved");
    env.dsr().args(["erase", &id, "--approve"]).assert().success();
    // A held run lock: the cron run exits at once with its own code.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(format!("{}.run.lock", env.db.display()))
        .unwrap();
    lock.lock().unwrap();
    let out = env.run(&["erase", "--due"]);
    assert_eq!(out.status.code(), Some(22));
    support::assert_one_line_error(&out);
    lock.unlock().unwrap();
    let (v, code): (Value, i32) = env.json(&["erase", "--due"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["applied"][0], id.as_str());
    let (_, code): (Value, i32) = env.json(&["lookup", "--email", "jan.devries@example.nl"]);
    assert_eq!(code, 3);
    let (shown, _): (Value, i32) = env.json(&["request", "show", &id]);
    assert_eq!(shown["state"], "completed", "the erasure letter was delivered");
    assert!(shown["subject_given"].is_null(), "the request keeps no personal data");
    assert!(!shown["recipients"].as_array().unwrap().is_empty(), "recipients to tell are listed");
}

/// `--dry-run`, `--approve`, `--hold` and `--release` belong to one request: beside `--due` or
/// `--replay` they are refused (exit 2) and nothing is erased. (clap takes `requires = request`
/// as met when an argument conflicting with REQUEST is given: `--due --dry-run` used to erase.)
#[test]
fn a_dry_run_or_approval_beside_due_or_replay_is_refused_and_erases_nothing() {
    let env = Env::with_fixture("virtio");
    let id = verified(&env, &["--email", "jan.devries@example.nl"]);
    env.dsr().args(["erase", &id, "--approve"]).assert().success();
    for run in ["--due", "--replay"] {
        for flag in [&["--dry-run"][..], &["--approve"], &["--hold", "--reason", "x"], &["--release", "--reason", "x"]]
        {
            let mut args = vec!["erase", run];
            args.extend_from_slice(flag);
            let out = env.run(&args);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {}", support::stderr(&out));
            support::assert_one_line_error(&out);
        }
    }
    let (_, code): (Value, i32) = env.json(&["lookup", "--email", "jan.devries@example.nl"]);
    assert_eq!(code, 0, "Jan is still on file");
    assert_eq!(env.count("SELECT count(*) FROM audit_log WHERE action = 'erased'"), 0);
}

/// Two officers carry out the same erasure at once: one erases, the other finds it carried out
/// (exit 9, whichever moment it comes); the trail holds one erasure.
#[test]
fn the_same_erasure_carried_out_twice_at_once_is_done_once() {
    let env = Env::with_fixture("virtio");
    let id = verified(&env, &["--email", "jan.devries@example.nl"]);
    for _ in 0..3 {
        let spawn = || {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_dsr"));
            cmd.arg("--db").arg(&env.db).args(["-q", "erase", &id, "--yes"]).current_dir(env.dir.path());
            cmd.env_remove("DSR_NOW").stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap()
        };
        let (a, b) = (spawn(), spawn());
        let mut codes = vec![a.wait_with_output().unwrap().status.code(), b.wait_with_output().unwrap().status.code()];
        codes.sort();
        assert!(codes == [Some(0), Some(9)] || codes == [Some(9), Some(9)], "{codes:?}");
    }
    assert_eq!(env.count("SELECT count(*) FROM audit_log WHERE action = 'erased'"), 1);
    env.dsr().args(["audit", "verify"]).assert().success();
}

/// Officers carry out approved plans themselves while the cron run goes through the same list:
/// a plan another process carried out meanwhile is no failure of the run (it exits 0).
#[test]
fn erase_due_beside_officers_carrying_out_the_same_plans_reports_no_failure() {
    let env = Env::with_fixture("virtio");
    let addresses: Vec<String> = env
        .sql()
        .prepare("SELECT address FROM email_address WHERE is_primary = 1 ORDER BY person_id LIMIT 8")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut ids = Vec::new();
    for a in &addresses {
        let id = verified(&env, &["--email", a]);
        // A person with an open request of another kind holds the erasure back; these have none.
        env.dsr().args(["erase", &id, "--approve"]).assert().success();
        ids.push(id);
    }
    let bin = assert_cmd::cargo::cargo_bin("dsr");
    let spawn = |args: &[&str]| {
        Command::new(&bin)
            .current_dir(env.dir.path())
            .env_remove("DSR_DB")
            .env_remove("DSR_NOW")
            .args(["--db", env.db.to_str().unwrap()])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let cron = spawn(&["--json", "erase", "--due"]);
    let officers: Vec<_> = ids.iter().map(|id| spawn(&["erase", id, "--yes"])).collect();
    for o in officers {
        let out = o.wait_with_output().unwrap();
        // The cron run may have carried it out first: the request is completed already.
        assert!(matches!(out.status.code(), Some(0 | 9)), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let out = cron.wait_with_output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{v} {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(v["failed"], serde_json::json!([]), "{v}");
    for id in &ids {
        let (shown, _): (Value, i32) = env.json(&["request", "show", id]);
        assert_eq!(shown["state"], "completed", "{id}");
    }
}

#[test]
fn a_plan_remade_by_a_cron_run_waits_for_an_officer() {
    let env = Env::with_fixture("virtio");
    let id = verified(&env, &["--email", "jan.devries@example.nl"]);
    env.dsr().args(["erase", &id, "--approve"]).assert().success();
    new_log_line_for_jan(&env);
    let out = env.run(&["-q", "--json", "erase", "--due"]);
    assert_eq!(out.status.code(), Some(21));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["replanned"][0], id.as_str());
    // Even with --quiet, cron's mail names the request and what to do.
    let err = support::stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&id) && err.contains("--approve") && err.contains("nothing was erased"), "{err}");
    // The next night: the re-made plan has not been approved by anyone, so it is not carried out.
    let (v, code): (Value, i32) = env.json(&["erase", "--due"]);
    assert_eq!(code, 0, "{v}");
    assert!(v["applied"].as_array().unwrap().is_empty());
    assert_eq!(v["waiting_for_approval"][0], id.as_str());
    let (_, code): (Value, i32) = env.json(&["lookup", "--email", "jan.devries@example.nl"]);
    assert_eq!(code, 0, "nothing erased without approval");
    // Reviewing it is not approving it.
    plan(&env, &id);
    let (v, _): (Value, i32) = env.json(&["erase", "--due"]);
    assert!(v["applied"].as_array().unwrap().is_empty(), "{v}");
    // The officer approves it; the night after, it is carried out.
    env.dsr().args(["erase", &id, "--approve"]).assert().success();
    let (v, code): (Value, i32) = env.json(&["erase", "--due"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["applied"][0], id.as_str());
    let (_, code): (Value, i32) = env.json(&["lookup", "--email", "jan.devries@example.nl"]);
    assert_eq!(code, 3);
}

#[test]
fn a_reader_that_blocks_the_wal_truncation_is_reported() {
    let env = Env::with_fixture("virtio");
    let id = verified(&env, &["--email", "jan.devries@example.nl"]);
    // Another process holds a read snapshot open for the whole erasure.
    let reader = env.sql();
    reader.execute_batch("BEGIN; SELECT count(*) FROM person;").unwrap();
    let _: i64 = reader.query_row("SELECT count(*) FROM email_address", [], |r| r.get(0)).unwrap();
    let out = env.run(&["--json", "erase", &id, "--yes"]);
    assert_eq!(out.status.code(), Some(23), "{}", support::stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("the report is printed before the warning");
    assert_eq!(report["state"], "completed");
    support::assert_one_line_error(&out);
    assert!(support::stderr(&out).contains("write-ahead log"));
    let (shown, _): (Value, i32) = env.json(&["request", "show", &id]);
    assert_eq!(shown["state"], "completed", "the erasure itself is committed");
    reader.execute_batch("COMMIT").unwrap();
    drop(reader);
    // With the reader gone, a cron run with nothing due finishes the truncation.
    let (_, code): (Value, i32) = env.json(&["erase", "--due"]);
    assert_eq!(code, 0);
    let wal = std::fs::metadata(format!("{}-wal", env.db.display())).map(|m| m.len()).unwrap_or(0);
    assert_eq!(wal, 0, "the WAL is empty");
}

#[test]
fn replay_after_restoring_a_backup_erases_again() {
    let env = Env::with_fixture("virtio");
    let backup = env.path("backup.sqlite");
    env.sql().execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    std::fs::copy(&env.db, &backup).unwrap();
    let id = verified(&env, &["--email", "jan.devries@example.nl"]);
    env.dsr().args(["erase", &id, "--yes"]).assert().success();
    // Restore the backup taken before the erasure.
    for side in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{side}", env.db.display()));
    }
    std::fs::copy(&backup, &env.db).unwrap();
    let (_, code): (Value, i32) = env.json(&["lookup", "--email", "jan.devries@example.nl"]);
    assert_eq!(code, 0, "the restore brought the person back");
    let (v, code): (Value, i32) = env.json(&["erase", "--replay"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["replayed"].as_array().unwrap().len(), 1);
    let (_, code): (Value, i32) = env.json(&["lookup", "--email", "jan.devries@example.nl"]);
    assert_eq!(code, 3, "gone again");
    let (_, code): (Value, i32) = env.json(&["lookup", "--customer", "V204117"]);
    assert_eq!(code, 3);
    env.dsr().args(["audit", "verify"]).assert().success();
}

/// Thomas and Eva share a landline. Thomas's erasure leaves it off the suppression list: Eva's
/// row with it loads again, `doctor` finds nothing erased back, and a replay erases no one.
#[test]
fn an_identifier_another_person_shares_is_not_suppressed_with_the_erased_one() {
    let env = Env::with_fixture("virtio");
    let id = verified(&env, &["--email", "thomas.brouwer@example.org"]);
    env.dsr().args(["erase", &id, "--yes"]).assert().success();
    let hashes = count(&env, "SELECT count(*) FROM suppression WHERE kind = 'phone'");
    assert_eq!(hashes, 1, "his own mobile number only");
    std::fs::write(env.path("p.csv"), "id,person_id,number,created_at\n131,13,+31206931447,2025-09-05T12:00:22Z\n")
        .unwrap();
    let out = env.run(&["import", "phone_number", "p.csv"]);
    assert!(out.status.success(), "Eva's own row loads: {}", support::stderr(&out));
    let (v, code): (Value, i32) = env.json(&["doctor"]);
    assert_eq!(code, 0, "{v}");
    let (v, code): (Value, i32) = env.json(&["erase", "--replay"]);
    assert_eq!((code, v["replayed"].as_array().map(Vec::len)), (0, Some(0)), "{v}");
    let (v, code): (Value, i32) = env.json(&["lookup", "--email", "eva.kok@example.nl"]);
    assert_eq!(code, 0, "Eva is still there: {v}");
}

/// A request made under an address before it was the person's (rejected then, so linked to no
/// one) goes with the person's other requests once a rectification gave them that address.
#[test]
fn a_closed_request_under_an_address_that_later_became_the_persons_is_erased_with_them() {
    let env = Env::with_fixture("virtio");
    let new = "jan.nieuw@example.nl";
    let early = env.open("erase", &["--email", new]).request;
    env.dsr()
        .args([
            "request",
            "reject",
            &early,
            "--reason",
            "other",
            "--note",
            &format!("{new} unknown"),
            "--note-nl",
            "onbekend",
        ])
        .assert()
        .success();
    let fix = env.verified("rectify", &["--email", "jan.devries@example.nl", "--set", &format!("email={new}")]);
    env.dsr().args(["rectify", &fix, "--yes"]).assert().success();
    let id = verified(&env, &["--email", new]);
    env.dsr().args(["erase", &id, "--yes"]).assert().success();
    env.sql().execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    let given: Option<String> =
        env.sql().query_row("SELECT subject_given FROM request WHERE id = ?1", [&early], |r| r.get(0)).unwrap();
    assert_eq!(given, None);
    let bytes = std::fs::read(&env.db).unwrap();
    assert!(!bytes.windows(new.len()).any(|w| w == new.as_bytes()), "no byte of {new} left in the store");
    env.dsr().args(["audit", "verify"]).assert().success();
}

#[test]
fn replay_completes_an_erasure_request_the_backup_still_held_open() {
    let env = Env::with_fixture("virtio");
    let id = verified(&env, &["--email", "jan.devries@example.nl"]);
    // Jan's access request, verified, and a rectification still waiting for its code: the
    // nightly run waits for the first to be answered, and refuses the second.
    let access = env.verified("access", &["--email", "jan.devries@example.nl"]);
    let rectify = env.open("rectify", &["--email", "jan.devries@example.nl", "--set", "city=Utrecht"]).request;
    env.dsr().args(["erase", &id, "--approve"]).assert().success();
    // The backup is taken after approval, before the nightly run carried the plan out.
    let backup = env.path("backup.sqlite");
    env.sql().execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    std::fs::copy(&env.db, &backup).unwrap();
    env.dsr().args(["access", &access, "--send"]).assert().success();
    let (_, code): (Value, i32) = env.json(&["erase", "--due"]);
    assert_eq!(code, 0);
    for side in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{side}", env.db.display()));
    }
    std::fs::copy(&backup, &env.db).unwrap();
    let (v, code): (Value, i32) = env.json(&["erase", "--replay"]);
    assert_eq!(code, 0, "{v}");
    let (shown, _): (Value, i32) = env.json(&["request", "show", &id]);
    assert_eq!(shown["state"], "completed", "the restored request is closed by the replay");
    // The person's other requests the backup held open are closed as the erasure closed them,
    // not left to go overdue for a person who is gone; no letter goes out again.
    let letters = std::fs::read_dir(env.outbox()).unwrap().count();
    let state = |id: &str| env.json::<Value>(&["request", "show", id]).0["state"].clone();
    assert_eq!((state(&access), state(&rectify)), ("completed".into(), "rejected".into()));
    let (status, code): (Value, i32) = env.json(&["status"]);
    assert_eq!((code, &status["requests"]["open"]), (0, &Value::from(0)), "{status}");
    assert_eq!(std::fs::read_dir(env.outbox()).unwrap().count(), letters);
    let (v, code): (Value, i32) = env.json(&["erase", "--due"]);
    assert_eq!(code, 0, "later cron runs do not fail on it: {v}");
    assert!(v["applied"].as_array().unwrap().is_empty());
}

fn count(env: &Env, sql: &str) -> i64 {
    env.sql().query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn retention_removes_exactly_what_is_past_its_period() {
    let mut env = Env::with_fixture("virtio");
    env.now = Some("2030-01-01T00:00:00Z".into());
    let now = "2026-11-22T00:00:00Z";
    let _ = now;
    // Move the clock: the fixture was made "now" (real time); five years on everything timed expires.
    let init_now: String = env.sql().query_row("SELECT max(created_at) FROM person", [], |r| r.get(0)).unwrap();
    env.now = Some(init_now.clone());
    let crash_old = count(&env, &format!("SELECT count(*) FROM crash_report WHERE occurred_at < strftime('%Y-%m-%dT%H:%M:%SZ', '{init_now}', '-3 months')"));
    let crash_all = count(&env, "SELECT count(*) FROM crash_report");
    let apps_old = count(&env, &format!("SELECT count(*) FROM application WHERE status IN ('rejected','withdrawn') AND decided_at < strftime('%Y-%m-%dT%H:%M:%SZ', '{init_now}', '-12 months')"));
    let docs_old = count(&env, &format!("SELECT count(*) FROM application_document WHERE application_id IN (SELECT id FROM application WHERE status IN ('rejected','withdrawn') AND decided_at < strftime('%Y-%m-%dT%H:%M:%SZ', '{init_now}', '-12 months'))"));
    let docs_all = count(&env, "SELECT count(*) FROM application_document");
    assert!(crash_old > 0 && crash_old < crash_all && apps_old > 0 && docs_old > 0);
    let (v, code): (Value, i32) = env.json(&["retention", "run"]);
    assert_eq!(code, 0, "{v}");
    let rule = |code: &str| {
        v["rules"].as_array().unwrap().iter().find(|r| r["rule"] == code).unwrap()["removed"].as_i64().unwrap()
    };
    assert_eq!(rule("crash-data"), crash_old);
    assert_eq!(rule("applications"), apps_old);
    // The documents of those applications go with them, and are counted as rows removed.
    let with = |code: &str| {
        v["rules"].as_array().unwrap().iter().find(|r| r["rule"] == code).unwrap()["removed_with"].as_i64().unwrap()
    };
    assert_eq!(with("applications"), docs_old, "{v}");
    let audited: String = env
        .sql()
        .query_row(
            "SELECT details FROM audit_log WHERE action = 'retention' AND details LIKE '%\"applications\"%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let audited: Value = serde_json::from_str(&audited).unwrap();
    assert_eq!(audited["removed_with"], docs_old, "the audit trail records them too: {audited}");
    assert_eq!(count(&env, "SELECT count(*) FROM application_document"), docs_all - docs_old);
    let all: i64 = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["removed"].as_i64().unwrap() + r["removed_with"].as_i64().unwrap())
        .sum();
    assert_eq!(v["removed"], all, "the summary counts every row removed: {v}");
    // The accountability report counts the same rows as the run (the documents too).
    let (report, code): (Value, i32) = env.json(&["report", "--from", "2000-01-01", "--to", "2100-12-31"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["retention"]["rows_removed"], all, "{}", report["retention"]);
    assert_eq!(count(&env, "SELECT count(*) FROM crash_report"), crash_all - crash_old);
    let (again, _): (Value, i32) = env.json(&["retention", "run"]);
    assert_eq!(again["removed"], 0, "a re-run removes nothing more");
    env.dsr().args(["audit", "verify"]).assert().success();
}

#[test]
fn data_restricted_for_legal_claims_survives_retention() {
    let mut env = Env::with_fixture("virtio");
    let crash_person: String = env
        .sql()
        .query_row("SELECT e.address FROM crash_report c JOIN email_address e ON e.person_id = c.person_id GROUP BY c.person_id ORDER BY count(*) DESC LIMIT 1", [], |r| r.get(0))
        .unwrap();
    let o = env.open("restrict", &["--email", &crash_person, "--ground", "legal-claims"]);
    let code = env.code(&o.request);
    env.dsr().args(["verify", &o.request, &code]).assert().success();
    env.dsr().args(["restrict", &o.request, "--yes"]).assert().success();
    let before = count(&env, &format!("SELECT count(*) FROM crash_report WHERE person_id = (SELECT person_id FROM email_address WHERE address = '{crash_person}')"));
    env.now = Some("2031-01-01T00:00:00Z".into());
    let (v, code): (Value, i32) = env.json(&["retention", "run"]);
    assert_eq!(code, 0, "{v}");
    let after = count(&env, &format!("SELECT count(*) FROM crash_report WHERE person_id = (SELECT person_id FROM email_address WHERE address = '{crash_person}')"));
    assert_eq!(after, before, "held for legal claims");
    assert!(v["removed"].as_i64().unwrap() > 0, "other data did expire");
    // A dry run counts but removes nothing.
    let (d, _): (Value, i32) = env.json(&["retention", "run", "--dry-run"]);
    assert_eq!(d["dry_run"], true);
}

#[test]
fn a_legal_claims_hold_on_server_logs_keeps_the_sessions_they_hang_from() {
    let mut env = Env::with_fixture("virtio");
    let who: String = env
        .sql()
        .query_row(
            "SELECT e.address FROM server_log l JOIN web_session s ON s.id = l.session_id JOIN customer c ON c.id = s.customer_id
             JOIN email_address e ON e.person_id = c.person_id GROUP BY c.person_id ORDER BY count(*) DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let o = env.open("restrict", &["--email", &who, "--ground", "legal-claims", "--category", "server-logs"]);
    let code = env.code(&o.request);
    env.dsr().args(["verify", &o.request, &code]).assert().success();
    env.dsr().args(["restrict", &o.request, "--yes"]).assert().success();
    let mine = |env: &Env, table: &str| {
        let sql = match table {
            "server_log" => "SELECT count(*) FROM server_log l JOIN web_session s ON s.id = l.session_id JOIN customer c ON c.id = s.customer_id JOIN email_address e ON e.person_id = c.person_id WHERE e.address = ?1",
            _ => "SELECT count(*) FROM web_session s JOIN customer c ON c.id = s.customer_id JOIN email_address e ON e.person_id = c.person_id WHERE e.address = ?1",
        };
        env.sql().query_row(sql, [&who], |r| r.get::<_, i64>(0)).unwrap()
    };
    let (logs, sessions) = (mine(&env, "server_log"), mine(&env, "web_session"));
    assert!(logs > 0 && sessions > 0);
    env.now = Some("2031-01-01T00:00:00Z".into());
    let (v, code): (Value, i32) = env.json(&["retention", "run"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(mine(&env, "server_log"), logs, "log lines held for legal claims stay");
    assert_eq!(mine(&env, "web_session"), sessions, "and so do the sessions they belong to");
    assert_eq!(
        count(&env, "SELECT count(*) FROM server_log l WHERE l.session_id IS NOT NULL"),
        logs,
        "everyone else's expired"
    );
}

/// A legal-claims restriction of the invoices keeps the payments as they are; the payment method
/// they name is not restricted and goes with the rest: the kept payments lose only that link
/// (before: the delete was refused by the foreign key, exit 11, and nothing was erased).
#[test]
fn an_erasure_beside_a_claim_on_the_invoices_unlinks_the_payment_method_the_kept_payments_name() {
    let env = Env::with_fixture("voordelig-streamen");
    let who = "eva@deboer-live.example";
    let o = env.open("restrict", &["--email", who, "--ground", "legal-claims", "--category", "invoices"]);
    env.dsr().args(["verify", &o.request, &env.code(&o.request)]).assert().success();
    env.dsr().args(["restrict", &o.request, "--yes"]).assert().success();
    let payments =
        "SELECT count(*) FROM payment p JOIN invoice i ON i.id = p.invoice_id JOIN customer c ON c.id = i.customer_id
                    WHERE c.person_id = (SELECT person_id FROM restriction)";
    let before = count(&env, payments);
    assert!(before > 0);
    let id = env.verified("erase", &["--email", who]);
    let (plan, code): (Value, i32) = env.json(&["erase", &id, "--dry-run"]);
    assert_eq!(code, 0, "{plan}");
    let steps = plan["plan"]["steps"].as_array().unwrap_or_else(|| panic!("{plan}"));
    let at = |table: &str, action: &str| steps.iter().position(|s| s["table"] == table && s["action"] == action);
    let unlinked = at("payment", "detach").unwrap_or_else(|| panic!("{plan}"));
    assert_eq!(steps[unlinked]["fields"], serde_json::json!(["payment_method_id"]), "{plan}");
    assert!(unlinked < at("payment_method", "delete").unwrap(), "before the delete: {plan}");
    let out = env.run(&["erase", &id, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(count(&env, payments), before, "the payments stay");
    assert_eq!(count(&env, &format!("{payments} AND p.payment_method_id IS NOT NULL")), 0);
    assert_eq!(count(&env, "SELECT count(*) FROM email_address WHERE address = 'eva@deboer-live.example'"), 0);
    env.dsr().args(["audit", "verify"]).assert().success();
}

/// A generated store with many expired log lines.
fn big_store() -> Env {
    let env = Env::new();
    env.dsr()
        .env("DSR_NOW", "2026-06-01T00:00:00Z")
        .args(["generate", "--customers", "400", "--log-lines", "300", "--ip-events", "20"])
        .assert()
        .success();
    env
}

fn table_counts(env: &Env) -> Vec<(String, i64)> {
    let conn = env.sql();
    let tables: Vec<String> = conn.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT IN ('audit_log', 'store_meta') ORDER BY name").unwrap().query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap();
    tables
        .into_iter()
        .map(|t| {
            let n = conn.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0)).unwrap();
            (t, n)
        })
        .collect()
}

#[test]
fn retention_killed_at_random_moments_ends_like_an_uninterrupted_run() {
    let reference = big_store();
    let killed = Env::new();
    std::fs::copy(&reference.db, &killed.db).unwrap();
    let later = "2026-12-15T00:00:00Z";
    reference.dsr().env("DSR_NOW", later).args(["retention", "run", "--batch", "500"]).assert().success();
    let bin = assert_cmd::cargo::cargo_bin("dsr");
    for ms in [40u64, 90, 150, 230] {
        let mut child = Command::new(&bin)
            .args(["--db", killed.db.to_str().unwrap(), "retention", "run", "--batch", "500"])
            .env("DSR_NOW", later)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
    }
    killed.dsr().env("DSR_NOW", later).args(["retention", "run", "--batch", "500"]).assert().success();
    let ok: String = killed.sql().query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(ok, "ok");
    killed.dsr().args(["audit", "verify"]).assert().success();
    assert_eq!(table_counts(&killed), table_counts(&reference));
    // Every row the killed runs removed is accounted for in the audit trail.
    let audited = |env: &Env| -> i64 {
        env.sql()
            .query_row(
                "SELECT coalesce((SELECT sum(json_extract(details, '$.removed') + coalesce(json_extract(details, '$.removed_with'), 0))
                                  FROM audit_log WHERE action = 'retention'), 0)
                      + coalesce((SELECT sum(j.value) FROM audit_log a, json_each(json_extract(a.details, '$.removed')) j
                                  WHERE a.action = 'retention-interrupted'), 0)
                      + coalesce((SELECT sum(j.value) FROM audit_log a, json_each(json_extract(a.details, '$.removed_with')) j
                                  WHERE a.action = 'retention-interrupted'), 0)",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert_eq!(audited(&killed), audited(&reference), "removals of killed runs are audited");
    let interrupted: i64 = killed
        .sql()
        .query_row("SELECT count(*) FROM audit_log WHERE action = 'retention-interrupted'", [], |r| r.get(0))
        .unwrap();
    assert!(interrupted > 0, "the kills interrupted some rule");
}

#[test]
fn two_runs_at_once_one_waits_out_and_an_officer_is_not_blocked() {
    let env = big_store();
    let bin = assert_cmd::cargo::cargo_bin("dsr");
    let mut first = Command::new(&bin)
        .args(["--db", env.db.to_str().unwrap(), "retention", "run", "--batch", "200"])
        .env("DSR_NOW", "2027-03-01T00:00:00Z")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the first run has taken the lock (it creates the lock file), then start a second
    // run and an officer's lookup while it sweeps.
    let lock_path = format!("{}.run.lock", env.db.display());
    while !std::path::Path::new(&lock_path).exists() {
        assert!(first.try_wait().unwrap().is_none(), "the first run ended before taking the lock");
        std::thread::sleep(Duration::from_millis(2));
    }
    let second = env.dsr().env("DSR_NOW", "2027-03-01T00:00:00Z").args(["retention", "run"]).output().unwrap();
    let lookup = env.run(&["lookup", "--customer", "G00000001"]);
    let still_running = first.try_wait().unwrap().is_none();
    let status = first.wait().unwrap();
    assert!(status.success());
    if still_running {
        assert_eq!(second.status.code(), Some(22), "a second run during the first exits with the lock code");
    }
    assert!(support::stderr(&second).contains("lock"), "{}", support::stderr(&second));
    assert!(std::path::Path::new(&lock_path).exists());
    assert!(lookup.status.code() == Some(0), "the officer's lookup completed: {}", support::stderr(&lookup));
}

/// Without the erasure journal a replay would find only what the restored suppression list holds
/// and say all is well: it is refused, naming where the journal was looked for.
#[test]
fn a_replay_without_its_journal_is_refused_and_erases_no_one() {
    let env = Env::with_fixture("virtio");
    let out = env.run(&["erase", "--replay", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    support::assert_one_line_error(&out);
    let said = support::stderr(&out);
    assert!(said.contains("dsr.sqlite.erasures (there is none)") && said.contains("Nothing was erased"), "{said}");
    assert!(said.contains("--journal FILE"), "{said}");
    // An empty journal says all is well as much as a missing one; a line that does not read is
    // named by its line in the file.
    std::fs::write(env.path("dsr.sqlite.erasures"), "").unwrap();
    let out = env.run(&["erase", "--replay", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    support::assert_one_line_error(&out);
    assert!(support::stderr(&out).contains("is empty"), "{}", support::stderr(&out));
    let line = r#"{"request":"DSR-2020-0001","erased_at":"2020-01-01T00:00:00Z","hashes":[]}"#;
    std::fs::write(env.path("dsr.sqlite.erasures"), format!("{line}\n{line}\n{}\n", &line[..40])).unwrap();
    let out = env.run(&["erase", "--replay", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    support::assert_one_line_error(&out);
    let said = support::stderr(&out);
    assert!(said.contains("line 3 is not a journal line (cut short)") && said.contains("Nothing was erased"), "{said}");
}

/// A mail setup that cannot send stops `erase --due` before any erasure with exit 2, as it stops
/// `erase R --yes`; a letter that cannot be delivered is tried and told once a run.
#[test]
fn erase_due_refuses_a_mail_setup_that_cannot_send_and_tries_a_failing_letter_once() {
    let env = Env::with_fixture("virtio");
    let id = verified(&env, &["--email", "jan.devries@example.nl"]);
    env.dsr().args(["erase", &id, "--approve"]).assert().success();
    for (var, value) in [("DSR_MAIL", "bogus"), ("DSR_MAIL", "smtp")] {
        let out = env.dsr().env(var, value).env_remove("DSR_SMTP_URL").args(["erase", "--due"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{var}={value}: {}", stderr(&out));
        support::assert_one_line_error(&out);
    }
    assert_eq!(env.count("SELECT count(*) FROM erasure_plan WHERE applied_at IS NOT NULL"), 0);
    // The outbox cannot be written: the erasure is carried out, its letter waits, told once.
    let outbox = env.outbox();
    std::fs::rename(&outbox, env.path("outbox.kept")).unwrap();
    std::fs::write(&outbox, b"not a directory").unwrap();
    let out = env.run(&["erase", "--due"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let told = stderr(&out).matches("could not be sent").count();
    assert_eq!(told, 1, "{}", stderr(&out));
    assert_eq!(env.count("SELECT tries FROM queued WHERE done_at IS NULL"), 1);
}

/// A person table may give an erased person's row id to a new person (SQLite reuses the highest
/// rowid); the new person gets a pseudonym of their own, not the erased person's requests, code
/// counts or lock.
#[test]
fn a_new_person_given_an_erased_persons_id_shares_nothing_with_them() {
    let env = Env::with_fixture("virtio");
    let last: i64 = env.count("SELECT max(id) FROM person");
    let address: String = env
        .sql()
        .query_row("SELECT address FROM email_address WHERE person_id = ?1 LIMIT 1", [last], |r| r.get(0))
        .unwrap();
    let id = env.open("erase", &["--email", &address]).request;
    // Two more codes to the person: with the first, three in the hour.
    for _ in 0..2 {
        env.dsr().args(["verify", "--resend", &id]).assert().success();
    }
    let code = env.code(&id);
    env.dsr().args(["verify", &id, &code]).assert().success();
    env.dsr().args(["erase", &id, "--yes"]).assert().success();
    let erased: String =
        env.sql().query_row("SELECT subject_pseudonym FROM request WHERE id = ?1", [&id], |r| r.get(0)).unwrap();
    env.sql()
        .execute_batch(&format!(
            "INSERT INTO person (id, given_name, family_name, created_at, source) VALUES ({last}, 'Nieuwe', 'Klant', '2026-11-01T10:00:00Z', 'signup');
             INSERT INTO email_address (person_id, address, address_norm, is_primary, created_at)
               VALUES ({last}, 'nieuwe.klant@example.nl', 'nieuwe.klant@example.nl', 1, '2026-11-01T10:00:00Z');"
        ))
        .unwrap();
    let out = env.run(&["access", "--email", "nieuwe.klant@example.nl"]);
    assert_eq!(out.status.code(), Some(0), "no codes counted against the new person: {}", stderr(&out));
    let new: String = env
        .sql()
        .query_row(
            "SELECT subject_pseudonym FROM request WHERE kind = 'access' ORDER BY created_at DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_ne!(new, erased);
    let (shown, _): (Value, i32) = env.json(&["request", "list"]);
    let labels: Vec<&str> = shown["requests"].as_array().unwrap().iter().filter_map(|r| r["label"].as_str()).collect();
    assert_eq!(labels.len(), 2, "{shown}");
    assert_ne!(labels[0], labels[1], "{shown}");
}

/// Quotes that invoices refer to stay with the invoices for the fiscal hold. Once the hold of
/// those invoices has ended, the plan deletes the invoices and, with them, the quotes they
/// referred to: what the plan shows is what happens.
#[test]
fn quotes_go_with_invoices_whose_fiscal_hold_has_ended() {
    let mut env = Env::with_fixture("virtio");
    let email: String = env
        .sql()
        .query_row(
            "SELECT e.address FROM invoice i JOIN quote q ON q.id = i.quote_id JOIN customer c ON c.id = i.customer_id
               JOIN email_address e ON e.person_id = c.person_id
              WHERE i.status = 'paid' AND i.customer_id NOT IN (SELECT customer_id FROM invoice WHERE status <> 'paid')
              ORDER BY e.is_primary DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    env.now = Some("2045-01-02T09:00:00Z".into());
    let id = verified(&env, &["--email", &email]);
    let (plan, code): (Value, i32) = env.json(&["erase", &id, "--dry-run"]);
    assert_eq!(code, 0, "{plan}");
    let steps = plan["plan"]["steps"].as_array().unwrap();
    let rows = |table: &str, action: &str| -> u64 {
        steps.iter().filter(|s| s["table"] == table && s["action"] == action).map(|s| s["rows"].as_u64().unwrap()).sum()
    };
    assert!(rows("quote", "delete") > 0 && rows("quote", "detach") == 0, "{plan}");
    assert_eq!(rows("invoice", "detach"), 0, "{plan}");
    let quotes = count(&env, "SELECT count(*) FROM quote");
    let out = env.run(&["erase", &id, "--yes"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    assert_eq!(count(&env, "SELECT count(*) FROM quote"), quotes - rows("quote", "delete") as i64);
}

/// Two housemates' approved erasures in one nightly run: the first deletes the anonymous log
/// lines of their shared IP address, which the second's plan listed too. Those rows are no one's
/// in particular: the second plan is still the approved one (no exit 21, no re-approval), as it
/// is after a new anonymous visit from that address.
#[test]
fn anonymous_lines_of_a_shared_address_do_not_make_an_approved_plan_stale() {
    let env = Env::with_fixture("virtio");
    let anonymous = "INSERT INTO server_log (logged_at, ip, user_agent, method, path, status, session_id)
                     VALUES ('2026-11-20T10:00:00Z', '203.0.113.47', 'curl/8', 'GET', '/', 200, NULL)";
    env.sql().execute(anonymous, []).unwrap();
    let mut ids = Vec::new();
    for who in ["thomas.brouwer@example.org", "eva.kok@example.nl"] {
        let id = verified(&env, &["--email", who]);
        env.dsr().args(["erase", &id, "--approve"]).assert().success();
        ids.push(id);
    }
    env.sql().execute(anonymous, []).unwrap();
    let (v, code): (Value, i32) = env.json(&["erase", "--due"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["applied"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(count(&env, "SELECT count(*) FROM server_log WHERE ip = '203.0.113.47'"), 0);
    for id in &ids {
        assert_eq!(env.json::<Value>(&["request", "show", id]).0["state"], "completed");
    }
}
