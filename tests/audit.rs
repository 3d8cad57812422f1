//! The hash-chained audit trail detects edits, deletions and reordering.

use crate::support::{self, Env};

/// A store with a completed access request: several entries.
fn store_with_history() -> Env {
    let env = Env::with_fixture("virtio");
    let o = env.open("access", &["--email", "jan.devries@example.nl"]);
    let code = env.code(&o.request);
    env.dsr().args(["verify", &o.request, &code]).assert().success();
    env.dsr().args(["--json", "access", &o.request]).assert().success();
    env.open("access", &["--email", "nobody@example.nl"]);
    env
}

fn broken_at(env: &Env) -> String {
    let out = env.run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(16), "stdout: {}", support::stdout(&out));
    support::assert_one_line_error(&out);
    support::stderr(&out)
}

#[test]
fn an_untouched_trail_verifies() {
    let env = store_with_history();
    let (v, code): (serde_json::Value, i32) = env.json(&["audit", "verify"]);
    assert_eq!(code, 0);
    assert_eq!(v["ok"], true);
    assert!(v["entries"].as_i64().unwrap() >= 8);
}

#[test]
fn an_edited_entry_is_named() {
    let env = store_with_history();
    env.sql().execute("UPDATE audit_log SET actor = 'someone-else' WHERE id = 3", []).unwrap();
    assert!(broken_at(&env).contains("entry 3"));
}

#[test]
fn edited_details_are_detected() {
    let env = store_with_history();
    env.sql()
        .execute("UPDATE audit_log SET details = '{\"result\":\"correct\"}' WHERE action = 'code-sent'", [])
        .unwrap();
    assert!(broken_at(&env).contains("entry 2"));
}

#[test]
fn a_deleted_entry_is_named() {
    let env = store_with_history();
    env.sql().execute("DELETE FROM audit_log WHERE id = 4", []).unwrap();
    assert!(broken_at(&env).contains("entry 4"));
}

#[test]
fn a_deleted_last_entry_is_detected() {
    let env = store_with_history();
    env.sql().execute("DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)", []).unwrap();
    broken_at(&env);
}

#[test]
fn two_swapped_entries_are_detected() {
    let env = store_with_history();
    let conn = env.sql();
    conn.execute_batch(
        "UPDATE audit_log SET id = -1 WHERE id = 2;
         UPDATE audit_log SET id = 2 WHERE id = 3;
         UPDATE audit_log SET id = 3 WHERE id = -1;",
    )
    .unwrap();
    assert!(broken_at(&env).contains("entry 2"));
}

#[test]
fn swapped_contents_with_rewritten_hashes_still_fail() {
    // An attacker who swaps two rows' contents but keeps ids: the chain no longer links.
    let env = store_with_history();
    let conn = env.sql();
    conn.execute_batch(
        "CREATE TEMP TABLE a AS SELECT * FROM audit_log WHERE id IN (5, 6);
         UPDATE audit_log SET at = (SELECT at FROM a WHERE id = 6), action = (SELECT action FROM a WHERE id = 6),
                details = (SELECT details FROM a WHERE id = 6), hash = (SELECT hash FROM a WHERE id = 6),
                prev_hash = (SELECT prev_hash FROM a WHERE id = 6) WHERE id = 5;
         UPDATE audit_log SET at = (SELECT at FROM a WHERE id = 5), action = (SELECT action FROM a WHERE id = 5),
                details = (SELECT details FROM a WHERE id = 5), hash = (SELECT hash FROM a WHERE id = 5),
                prev_hash = (SELECT prev_hash FROM a WHERE id = 5) WHERE id = 6;",
    )
    .unwrap();
    assert!(broken_at(&env).contains("entry 5"));
}

#[test]
fn the_trail_holds_pseudonyms_not_personal_data() {
    let env = store_with_history();
    let conn = env.sql();
    let dump: String = conn
        .query_row("SELECT group_concat(coalesce(subject_pseudonym, '') || details, '|') FROM audit_log", [], |r| {
            r.get(0)
        })
        .unwrap();
    for personal in ["jan.devries", "Jan.DeVries", "nobody@example.nl", "V204117", "de Vries"] {
        assert!(!dump.contains(personal), "audit trail contains {personal}");
    }
    let pseudonyms: i64 =
        conn.query_row("SELECT count(DISTINCT subject_pseudonym) FROM audit_log", [], |r| r.get(0)).unwrap();
    assert_eq!(pseudonyms, 2);
}

#[test]
fn entries_made_under_a_moved_clock_are_marked() {
    let mut env = Env::with_fixture("virtio");
    // Before the real clock, which the second half uses: the trail only goes forward.
    env.now = Some("2024-11-02T09:00:00Z".into());
    env.open("access", &["--email", "jan.devries@example.nl"]);
    let (log, _): (serde_json::Value, i32) = env.json(&["audit", "log"]);
    let entries = log["entries"].as_array().unwrap();
    assert!(entries
        .iter()
        .all(|e| e["clock_injected"] == true && e["at"].as_str().unwrap().starts_with("2024-11-02T09:00:00")));
    env.now = None;
    env.open("access", &["--email", "sanne@bakkerwebdesign.example"]);
    let (log, _): (serde_json::Value, i32) = env.json(&["audit", "log"]);
    assert!(log["entries"].as_array().unwrap().iter().any(|e| e["clock_injected"] == false));
    let actor = env
        .dsr()
        .env("DSR_ACTOR", "officer.kim")
        .args(["--json", "access", "--email", "lotte.jansen@example.org"])
        .output()
        .unwrap();
    assert!(actor.status.success());
    let n: i64 =
        env.sql().query_row("SELECT count(*) FROM audit_log WHERE actor = 'officer.kim'", [], |r| r.get(0)).unwrap();
    assert!(n >= 1);
}

#[test]
fn the_log_of_an_unknown_request_is_exit_17_and_cron_entries_name_an_actor() {
    let env = store_with_history();
    let out = env.run(&["audit", "log", "--request", "DSR-2026-0999"]);
    assert_eq!(out.status.code(), Some(17));
    support::assert_one_line_error(&out);
    let (log, code): (serde_json::Value, i32) = env.json(&["audit", "log", "--request", "DSR-2026-0001"]);
    assert_eq!(code, 0);
    assert!(!log["entries"].as_array().unwrap().is_empty());
    // cron runs without USER or LOGNAME: the actor is still named, from the process's uid.
    env.dsr()
        .env_remove("USER")
        .env_remove("LOGNAME")
        .env_remove("DSR_ACTOR")
        .args(["access", "--email", "sanne@bakkerwebdesign.example"])
        .assert()
        .success();
    let last: String =
        env.sql().query_row("SELECT actor FROM audit_log ORDER BY id DESC LIMIT 1", [], |r| r.get(0)).unwrap();
    assert_ne!(last, "unknown");
    assert!(!last.is_empty());
}

/// The hashed fields of an entry: id, at, clock_injected, actor, request, person, action, details.
type Hashed = (i64, String, bool, String, Option<String>, Option<String>, String, String);

/// Rewrite the chain from entry `from` on with correct hashes, after `edit` changed that entry:
/// what an older dsr (or a clock set back) could have written, without breaking any hash.
fn rechain(env: &Env, from: i64, edit: &str) {
    use sha2::Digest;
    let conn = env.sql();
    conn.execute_batch(edit).unwrap();
    let mut prev: String =
        conn.query_row("SELECT prev_hash FROM audit_log WHERE id = ?1", [from], |r| r.get(0)).unwrap();
    let rows: Vec<Hashed> = conn
        .prepare("SELECT id, at, clock_injected, actor, request_id, subject_pseudonym, action, details FROM audit_log WHERE id >= ?1 ORDER BY id")
        .unwrap()
        .query_map([from], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (id, at, injected, actor, request, subject, action, details) in rows {
        let canonical =
            serde_json::json!([id, at, injected, actor, request, subject, action, details, prev]).to_string();
        let hash: String = sha2::Sha256::digest(canonical.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        conn.execute("UPDATE audit_log SET prev_hash = ?2, hash = ?3 WHERE id = ?1", rusqlite::params![id, prev, hash])
            .unwrap();
        prev = hash;
    }
    let n: i64 = conn.query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0)).unwrap();
    conn.execute("UPDATE store_meta SET value = ?1 WHERE key = 'audit-head'", [format!("{n}:{prev}")]).unwrap();
}

#[test]
fn an_entry_dated_before_its_predecessor_is_reported() {
    let env = store_with_history();
    rechain(&env, 3, "");
    let (v, code): (serde_json::Value, i32) = env.json(&["audit", "verify"]);
    assert_eq!((v["ok"].as_bool(), code), (Some(true), 0), "the rewritten chain itself is sound");
    rechain(&env, 3, "UPDATE audit_log SET at = '2001-01-01T00:00:00Z' WHERE id = 3");
    let err = broken_at(&env);
    assert!(err.contains("entry 3") && err.contains("before entry 2"), "{err}");
}

#[test]
fn free_text_stays_out_of_the_chain_and_goes_with_the_person() {
    let mut env = Env::with_fixture("virtio");
    env.now = Some("2026-11-02T09:00:00Z".into());
    let email = "jan.devries@example.nl";
    let access = env.open("access", &["--email", email]);
    env.dsr()
        .args([
            "request",
            "reject",
            &access.request,
            "--reason",
            "other",
            "--note",
            &format!("{email} asked twice today"),
            "--note-nl",
            &format!("{email} vroeg het vandaag twee keer"),
        ])
        .assert()
        .success();
    let erase = env.open("erase", &["--email", email]);
    let code = env.code(&erase.request);
    env.dsr().args(["verify", &erase.request, &code]).assert().success();
    let long = "x".repeat(1001);
    let out =
        env.run(&["request", "extend", &erase.request, "--months", "1", "--reason", &long, "--reason-nl", "lang"]);
    assert_eq!(out.status.code(), Some(2), "free text is limited");
    support::assert_one_line_error(&out);
    assert!(support::stderr(&out).contains("1000"));
    let reason = format!("{email} holds three accounts to untangle");
    let reason_nl = format!("{email} heeft drie accounts die we moeten ontwarren");
    env.dsr()
        .args(["request", "extend", &erase.request, "--months", "1", "--reason", &reason, "--reason-nl", &reason_nl])
        .assert()
        .success();
    let raw = |env: &Env| -> String {
        env.sql()
            .query_row(
                "SELECT group_concat(details, '|') || (SELECT group_concat(coalesce(extension_reason, '') || coalesce(rejection_note, ''), '|') FROM request) FROM audit_log",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    let chain: String =
        env.sql().query_row("SELECT group_concat(details, '|') FROM audit_log", [], |r| r.get(0)).unwrap();
    assert!(!chain.contains(email), "the chain holds no free text: {chain}");
    let (log, _): (serde_json::Value, i32) = env.json(&["audit", "log"]);
    let detail = |log: &serde_json::Value, action: &str, key: &str| -> serde_json::Value {
        log["entries"].as_array().unwrap().iter().find(|e| e["action"] == action).unwrap()["details"][key].clone()
    };
    assert_eq!(
        detail(&log, "request-extended", "reason"),
        format!("{reason} ‖ {reason_nl}").as_str(),
        "shown while it exists"
    );
    assert!(detail(&log, "request-rejected", "note")
        .as_str()
        .unwrap()
        .starts_with(&format!("{email} asked twice today ‖ ")));
    env.dsr().args(["erase", &erase.request, "--yes"]).assert().success();
    assert!(!raw(&env).contains(email), "erased with the person: {}", raw(&env));
    let left: i64 = env.sql().query_row("SELECT count(*) FROM free_text", [], |r| r.get(0)).unwrap();
    assert_eq!(left, 0);
    let (log, _): (serde_json::Value, i32) = env.json(&["audit", "log"]);
    assert_eq!(detail(&log, "request-extended", "reason"), "(erased)");
    assert_eq!(detail(&log, "request-rejected", "note"), "(erased)");
    let (v, code): (serde_json::Value, i32) = env.json(&["audit", "verify"]);
    assert_eq!((v["ok"].as_bool(), code), (Some(true), 0), "the chain still verifies");
    let human = support::stdout(&env.run(&["request", "show", &access.request]));
    assert!(human.contains("(erased)") && !human.contains(email), "{human}");
    // Another person's note after the erasure gets an id of its own: the erased entries do not
    // show it, and the chain does not take it for an edit of theirs.
    let other = env.open("access", &["--email", "sophie.meijer@example.nl"]);
    env.dsr()
        .args([
            "request",
            "reject",
            &other.request,
            "--reason",
            "other",
            "--note",
            "asked by phone",
            "--note-nl",
            "belde",
        ])
        .assert()
        .success();
    let (log, _): (serde_json::Value, i32) = env.json(&["audit", "log"]);
    assert_eq!(detail(&log, "request-rejected", "note"), "(erased)", "{log}");
    let (v, code): (serde_json::Value, i32) = env.json(&["audit", "verify"]);
    assert_eq!((v["ok"].as_bool(), code), (Some(true), 0), "{v}");
}

/// A store with a request refused with a note (a free text).
fn rejected_with_a_note() -> Env {
    let env = Env::with_fixture("virtio");
    let o = env.open("access", &["--email", "jan.devries@example.nl"]);
    env.dsr()
        .args(["request", "reject", &o.request, "--reason", "excessive", "--note", "fifth request this week"])
        .args(["--note-nl", "vijfde verzoek deze week"])
        .assert()
        .success();
    env
}

#[test]
fn an_edited_free_text_is_detected() {
    let env = rejected_with_a_note();
    env.sql().execute("UPDATE free_text SET text = 'first request'", []).unwrap();
    assert!(broken_at(&env).contains("free text"));
}

/// A text deleted outside an erasure, and a store whose key was deleted so that no text could be
/// checked, are found, not passed as intact.
#[test]
fn a_deleted_free_text_or_a_deleted_store_key_is_found() {
    let env = rejected_with_a_note();
    let copy = env.path("copy.sqlite");
    std::fs::copy(&env.db, &copy).unwrap();
    env.sql().execute("DELETE FROM free_text", []).unwrap();
    let err = broken_at(&env);
    assert!(err.contains("is gone, and neither an erasure of the person nor the retention"), "{err}");
    assert!(err.contains("restore the last backup"), "says what to do: {err}");
    // Blanking the request as an erasure detaches it does not pass for one: no erasure is in the trail.
    env.sql().execute("UPDATE request SET subject_given = NULL, person_id = NULL", []).unwrap();
    assert!(broken_at(&env).contains("is gone, and neither an erasure"));
    std::fs::copy(&copy, &env.db).unwrap();
    env.sql().execute("DELETE FROM store_meta WHERE key = 'hmac-key'", []).unwrap();
    let out = env.run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(11), "{}", support::stderr(&out));
    support::assert_one_line_error(&out);
    assert!(support::stderr(&out).contains("secret key"), "{}", support::stderr(&out));
}

/// What happened to the end of the trail is told as it is: entries removed, entries added after
/// the head, the head changed, or the head gone.
#[test]
fn the_end_of_the_trail_is_diagnosed_as_what_happened() {
    let env = store_with_history();
    let copy = env.path("copy.sqlite");
    std::fs::copy(&env.db, &copy).unwrap();
    let n: i64 = env.count("SELECT count(*) FROM audit_log");
    // The head says one entry fewer: an entry appears added after it.
    env.sql()
        .execute(&format!("UPDATE store_meta SET value = '{}:' || (SELECT prev_hash FROM audit_log WHERE id = {n}) WHERE key = 'audit-head'", n - 1), [])
        .unwrap();
    assert!(broken_at(&env).contains(&format!("entries were added after entry {}", n - 1)));
    std::fs::copy(&copy, &env.db).unwrap();
    env.sql()
        .execute(&format!("UPDATE store_meta SET value = '{n}:' || hex(randomblob(32)) WHERE key = 'audit-head'"), [])
        .unwrap();
    assert!(broken_at(&env).contains("the last entry or the record of the head was changed"));
    std::fs::copy(&copy, &env.db).unwrap();
    env.sql().execute("DELETE FROM store_meta WHERE key = 'audit-head'", []).unwrap();
    assert!(broken_at(&env).contains("the record of its head is gone"));
}

/// An unattended run under a clock behind the audit trail (a wrong `DSR_NOW`, a clock set back)
/// does nothing and exits 2, and records no run dated before what the store holds; an anchor is
/// neither written nor mailed.
#[test]
fn a_cron_run_under_a_clock_behind_the_trail_does_nothing_and_records_nothing() {
    let env = crate::support::Env::with_fixture("webshop");
    let id = env.verified("erase", &["--email", "noor.hendriks@example.org"]);
    env.dsr().args(["erase", &id, "--approve"]).assert().success();
    let entries = env.count("SELECT count(*) FROM audit_log");
    let anchor = ["audit", "anchor", "--out", "a.json", "--mail", "dpo@example.nl"];
    for args in [&["erase", "--due"][..], &["retention", "run", "--yes"], &anchor] {
        let out = env.dsr().env("DSR_NOW", "2020-01-01T00:00:00Z").args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", crate::support::stderr(&out));
        crate::support::assert_one_line_error(&out);
        assert!(
            crate::support::stderr(&out).contains("before the last audit entry"),
            "{}",
            crate::support::stderr(&out)
        );
    }
    assert_eq!(env.count("SELECT count(*) FROM audit_log"), entries);
    assert_eq!(env.count("SELECT count(*) FROM store_meta WHERE key LIKE 'last-run:%'"), 0);
    assert!(!env.path("a.json").exists(), "no anchor dated before the entry it anchors");
    assert_eq!(env.count("SELECT count(*) FROM queued WHERE letter = 'audit-anchor'"), 0);
    let state: String = env.sql().query_row("SELECT state FROM request WHERE id = ?1", [&id], |r| r.get(0)).unwrap();
    assert_eq!(state, "verified");
}

/// The retention of dsr's own records removes a request three years after it closed, and its
/// officer's texts with it: the trail still verifies then, and not before.
#[test]
fn texts_that_went_with_a_request_retention_removed_are_accounted_for() {
    let mut env = rejected_with_a_note();
    env.now = Some("2029-12-20T02:00:00Z".into());
    env.dsr().args(["retention", "run"]).assert().success();
    assert_eq!(env.count("SELECT count(*) FROM request"), 0, "closed more than three years ago");
    assert_eq!(env.count("SELECT count(*) FROM free_text"), 0);
    let (v, code): (serde_json::Value, i32) = env.json(&["audit", "verify"]);
    assert_eq!((v["ok"].as_bool(), code), (Some(true), 0), "{v}");

    // The same request and text removed by hand a year early is not.
    let env = rejected_with_a_note();
    env.sql().execute_batch("PRAGMA foreign_keys = OFF; DELETE FROM free_text; DELETE FROM request;").unwrap();
    assert!(broken_at(&env).contains("is gone"));
}

/// The rows the accountability report counts are what the trail recorded: a receipt moved, an
/// answer dated earlier, a request reopened or one no entry opened are named, with the request.
#[test]
fn a_request_row_changed_outside_dsr_is_named() {
    let env = store_with_history();
    let copy = env.path("copy.sqlite");
    std::fs::copy(&env.db, &copy).unwrap();
    let first = "(SELECT min(id) FROM request)";
    for (edit, says) in [
        (format!("UPDATE request SET received_on = '2099-01-01' WHERE id = {first}"), "date of receipt is 2099-01-01"),
        (format!("UPDATE request SET due_on = '2099-01-01' WHERE id = {first}"), "deadline is 2099-01-01"),
        (
            format!("UPDATE request SET extended_due_on = '2099-01-01', extension_reason = 'x' WHERE id = {first}"),
            "extended deadline",
        ),
        (format!("UPDATE request SET channel = 'letter' WHERE id = {first}"), "channel is letter"),
        (format!("UPDATE request SET kind = 'erase' WHERE id = {first}"), "right is erase"),
        (format!("UPDATE request SET state = 'expired', closed_at = '2026-12-01T00:00:00Z' WHERE id = {first}"), "state"),
        (
            format!("UPDATE request SET delivered_at = '2000-01-01T00:00:00Z' WHERE id = {first}"),
            "time of delivery is 2000-01-01T00:00:00Z in the store",
        ),
        (
            "INSERT INTO request (id, year, seq, kind, subject_kind, subject_pseudonym, channel, received_on, due_on, state, created_at)
             VALUES ('DSR-2026-0999', 2026, 999, 'access', 'email', 'p', 'email', '2026-12-01', '2027-01-01', 'completed', 't')"
                .into(),
            "request DSR-2026-0999 is in the store but no entry of the trail opened it",
        ),
    ] {
        std::fs::copy(&copy, &env.db).unwrap();
        env.sql().execute(&edit, []).unwrap();
        let err = broken_at(&env);
        assert!(err.contains(says) && err.contains("request table was changed outside dsr"), "{edit}: {err}");
        let (v, _): (serde_json::Value, i32) = env.json(&["audit", "verify"]);
        assert!(v["first_bad_request"].as_str().is_some_and(|r| r.starts_with("DSR-")), "{v}");
    }
}
