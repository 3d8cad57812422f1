//! The audit trail's anchor: `audit verify` prints the head, `audit anchor` keeps it in a file or
//! mails it, and `audit verify --anchor FILE` catches what the chain alone cannot: the last
//! entries removed together with the recorded head, and a trail rewritten with recomputed hashes.

use std::os::unix::fs::PermissionsExt;

use mail_parser::MimeHeaders;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::support::{self, Env};

fn store_with_history() -> Env {
    let env = Env::with_fixture("virtio");
    let o = env.open("access", &["--email", "jan.devries@example.nl"]);
    let code = env.code(&o.request);
    env.dsr().args(["verify", &o.request, &code]).assert().success();
    env
}

fn last_entry(env: &Env) -> (i64, String) {
    env.sql()
        .query_row("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
}

/// Anchor into `name` and return the anchor as written.
fn anchor(env: &Env, name: &str) -> Value {
    let out = env.run(&["audit", "anchor", "--out", name]);
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
    serde_json::from_slice(&std::fs::read(env.path(name)).unwrap()).unwrap()
}

/// Plain `audit verify` passes; with the anchor it fails with exit 16 and one line, returned.
fn only_the_anchor_catches_it(env: &Env, name: &str) -> String {
    let (plain, code): (Value, i32) = env.json(&["audit", "verify"]);
    assert_eq!(code, 0, "the chain alone should not see this: {plain}");
    let out = env.run(&["audit", "verify", "--anchor", name]);
    assert_eq!(out.status.code(), Some(16), "stdout: {}", support::stdout(&out));
    support::assert_one_line_error(&out);
    let (v, code): (Value, i32) = env.json(&["audit", "verify", "--anchor", name]);
    assert_eq!((code, &v["ok"], &v["anchor"]["ok"]), (16, &json!(false), &json!(false)), "{v}");
    support::stderr(&out)
}

#[test]
fn verify_prints_the_head_in_text_and_json() {
    let env = store_with_history();
    let (n, hash) = last_entry(&env);
    let (v, code): (Value, i32) = env.json(&["audit", "verify"]);
    assert_eq!(code, 0);
    assert_eq!(v["entries"], n);
    assert_eq!(v["head"]["entry"], n, "{v}");
    assert_eq!(v["head"]["hash"], hash.as_str());
    let text = support::stdout(&env.run(&["audit", "verify"]));
    assert!(text.contains(&format!("Head: entry {n}, SHA-256 {hash}")), "{text}");
}

#[test]
fn an_anchor_file_is_private_and_still_holds_as_the_trail_grows() {
    let env = store_with_history();
    let (n, hash) = last_entry(&env);
    let a = anchor(&env, "anchor.json");
    assert_eq!((a["format_version"].as_i64(), a["kind"].as_str()), (Some(1), Some("dsr-audit-anchor")));
    assert_eq!((a["entries"].as_i64(), a["hash"].as_str()), (Some(n), Some(hash.as_str())));
    assert!(a["at"].as_str().is_some_and(|at| at.ends_with('Z')), "{a}");
    let mode = std::fs::metadata(env.path("anchor.json")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    env.open("access", &["--email", "sanne@bakkerwebdesign.example"]);
    let (v, code): (Value, i32) = env.json(&["audit", "verify", "--anchor", "anchor.json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!((&v["anchor"]["ok"], &v["anchor"]["entries"]), (&json!(true), &json!(n)));
    assert!(v["head"]["entry"].as_i64().unwrap() > n);
    let text = support::stdout(&env.run(&["audit", "verify", "--anchor", "anchor.json"]));
    assert!(text.contains(&format!("Anchor anchor.json (entry {n}")), "{text}");

    // An anchor is not replaced silently; --force takes the new head.
    let again = env.run(&["audit", "anchor", "--out", "anchor.json"]);
    assert_eq!(again.status.code(), Some(14));
    support::assert_one_line_error(&again);
    env.dsr().args(["audit", "anchor", "--out", "anchor.json", "--force"]).assert().success();
    let newer: Value = serde_json::from_slice(&std::fs::read(env.path("anchor.json")).unwrap()).unwrap();
    assert!(newer["entries"].as_i64().unwrap() > n);
}

#[test]
fn a_cut_tail_with_a_rewritten_head_fails_against_the_anchor() {
    let env = store_with_history();
    let a = anchor(&env, "anchor.json");
    let n = a["entries"].as_i64().unwrap();
    env.open("access", &["--email", "sanne@bakkerwebdesign.example"]);
    // Remove the anchored entry and everything after it, and make the recorded head agree.
    let conn = env.sql();
    conn.execute("DELETE FROM audit_log WHERE id >= ?1", [n]).unwrap();
    // ... and the request whose opening went with them, which the trail would miss otherwise.
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF;
         DELETE FROM request WHERE id NOT IN (SELECT request_id FROM audit_log WHERE action = 'request-opened');",
    )
    .unwrap();
    let (last, hash) = last_entry(&env);
    conn.execute("UPDATE store_meta SET value = ?1 WHERE key = 'audit-head'", [format!("{last}:{hash}")]).unwrap();
    let err = only_the_anchor_catches_it(&env, "anchor.json");
    assert!(err.contains(&format!("entry {n}")) && err.contains("removed"), "{err}");
}

#[test]
fn a_trail_rewritten_with_recomputed_hashes_fails_against_the_anchor() {
    let env = store_with_history();
    let a = anchor(&env, "anchor.json");
    let n = a["entries"].as_i64().unwrap();
    env.sql().execute("UPDATE audit_log SET actor = 'someone-else' WHERE id = 2", []).unwrap();
    rehash(&env);
    let err = only_the_anchor_catches_it(&env, "anchor.json");
    assert!(err.contains(&format!("entry {n}")) && err.contains("rewritten"), "{err}");
}

/// Recompute every hash and the recorded head, as someone with write access to the file could.
fn rehash(env: &Env) {
    let conn = env.sql();
    let mut stmt = conn
        .prepare(
            "SELECT id, at, clock_injected, actor, request_id, subject_pseudonym, action, details FROM audit_log ORDER BY id",
        )
        .unwrap();
    // Each entry's hashed fields in their fixed order, the previous hash still to come.
    let rows: Vec<(i64, Vec<Value>)> = stmt
        .query_map([], |r| {
            let fields = vec![
                json!(r.get::<_, i64>(0)?),
                json!(r.get::<_, String>(1)?),
                json!(r.get::<_, bool>(2)?),
                json!(r.get::<_, String>(3)?),
                json!(r.get::<_, Option<String>>(4)?),
                json!(r.get::<_, Option<String>>(5)?),
                json!(r.get::<_, String>(6)?),
                json!(r.get::<_, String>(7)?),
            ];
            Ok((r.get(0)?, fields))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let count = rows.len();
    let mut prev = "0".repeat(64);
    for (id, mut fields) in rows {
        fields.push(json!(prev));
        let canonical = Value::Array(fields).to_string();
        let hash: String = Sha256::digest(canonical.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        conn.execute("UPDATE audit_log SET prev_hash = ?2, hash = ?3 WHERE id = ?1", rusqlite::params![id, prev, hash])
            .unwrap();
        prev = hash;
    }
    conn.execute("UPDATE store_meta SET value = ?1 WHERE key = 'audit-head'", [format!("{count}:{prev}")]).unwrap();
}

#[test]
fn the_anchor_is_mailed_through_the_queue_with_the_file_attached() {
    let env = store_with_history();
    let (n, hash) = last_entry(&env);
    let (report, code): (Value, i32) = env.json(&["audit", "anchor", "--mail", "dpo@example.org"]);
    assert_eq!(code, 0, "{report}");
    assert!(report["queued"].as_i64().is_some(), "{report}");
    let path = std::fs::read_dir(env.outbox())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("dsr-"))
        .expect("the anchor's letter in the outbox");
    let raw = std::fs::read(&path).unwrap();
    let mail = support::Mail::parse(&raw, path);
    assert_eq!(mail.to, ["dpo@example.org"]);
    assert!(mail.body.contains(&hash) && mail.body.contains("Bewaar") && mail.body.contains("Keep"), "{}", mail.body);
    let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
    let attached = parsed.attachments().next().expect("the anchor attached");
    assert_eq!(attached.attachment_name(), Some(format!("dsr-audit-anchor-{n}.json").as_str()));
    std::fs::write(env.path("from-mail.json"), attached.contents()).unwrap();
    env.dsr().args(["audit", "verify", "--anchor", "from-mail.json"]).assert().success();
    // Nothing left queued; the sending is in the trail, without the address.
    let (queued, _): (Value, i32) = env.json(&["mail", "list"]);
    assert!(!queued.to_string().contains("audit-anchor"), "{queued}");
    let (log, _): (Value, i32) = env.json(&["audit", "log"]);
    let sent = log["entries"].as_array().unwrap().iter().find(|e| e["details"]["letter"] == "audit-anchor");
    assert!(sent.is_some_and(|e| e["action"] == "mail-sent"), "{log}");
    assert!(!log.to_string().contains("dpo@example.org"));
}

#[test]
fn bad_input_is_refused_and_a_broken_trail_is_not_anchored() {
    let env = store_with_history();
    let bad = env.run(&["audit", "anchor", "--mail", "dpo at example"]);
    assert_eq!(bad.status.code(), Some(2));
    support::assert_one_line_error(&bad);
    assert!(!support::stderr(&bad).contains("dpo at example"));
    assert!(!env.outbox().join("dsr-000002.eml").exists());

    std::fs::write(env.path("not-an-anchor.json"), "{\"entries\": 3}").unwrap();
    let out = env.run(&["audit", "verify", "--anchor", "not-an-anchor.json"]);
    assert_eq!(out.status.code(), Some(2));
    support::assert_one_line_error(&out);

    env.sql().execute("UPDATE audit_log SET actor = 'someone-else' WHERE id = 2", []).unwrap();
    let out = env.run(&["audit", "anchor", "--out", "anchor.json"]);
    assert_eq!(out.status.code(), Some(16));
    support::assert_one_line_error(&out);
    assert!(!env.path("anchor.json").exists());
}

/// Written to a file or mailed, the anchor's confirmation is a status line (stderr), which `-q`
/// silences: a cron line prints nothing.
#[test]
fn an_anchor_written_or_mailed_under_q_prints_nothing() {
    let env = store_with_history();
    let out = env
        .dsr()
        .env("DSR_MAIL", "outbox")
        .args(["-q", "audit", "anchor", "--out", "a.json", "--mail", "dpo@example.nl"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
    assert_eq!((support::stdout(&out).as_str(), support::stderr(&out).as_str()), ("", ""));
    let out = env.run(&["audit", "anchor", "--out", "b.json"]);
    assert!(support::stderr(&out).starts_with("Anchored entry"), "{}", support::stderr(&out));
}
