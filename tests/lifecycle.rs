//! The request lifecycle of issue 12: an erasure plan runs from cron only once approved; an
//! answer prepared is not an answer delivered; letters and journal lines go out after the commit.

use std::io::Read;

use serde_json::Value;

use crate::support::{self, Env};

const JAN: [&str; 2] = ["--email", "jan.devries@example.nl"];

fn verified(env: &Env, right: &str, who: &[&str]) -> String {
    let o = env.open(right, who);
    let code = env.code(&o.request);
    env.dsr().args(["verify", &o.request, &code]).assert().success();
    o.request
}

fn person_count(env: &Env, email: &str) -> i64 {
    env.sql().query_row("SELECT count(*) FROM email_address WHERE address_norm = ?1", [email], |r| r.get(0)).unwrap()
}

fn state(env: &Env, id: &str) -> Value {
    let (v, code): (Value, i32) = env.json(&["request", "show", id]);
    assert_eq!(code, 0, "{v}");
    v
}

fn due(env: &Env) -> Value {
    let (v, code): (Value, i32) = env.json(&["erase", "--due"]);
    assert_eq!(code, 0, "{v}");
    v
}

fn actions(env: &Env, id: &str) -> Vec<String> {
    state(env, id)["timeline"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn a_dry_run_or_a_refusal_off_a_terminal_approves_nothing() {
    let env = Env::with_fixture("virtio");
    let id = verified(&env, "erase", &JAN);
    env.dsr().args(["erase", &id, "--dry-run"]).assert().success();
    let out = env.run(&["erase", &id]);
    assert_eq!(out.status.code(), Some(2), "no --yes off a terminal: {}", support::stderr(&out));
    let v = due(&env);
    assert_eq!(v["applied"], serde_json::json!([]));
    assert_eq!(v["waiting_for_approval"], serde_json::json!([id]));
    assert_eq!(person_count(&env, "jan.devries@example.nl"), 1, "nothing erased");
    assert!(!actions(&env, &id).contains(&"erasure-approved".to_owned()));
}

#[test]
fn an_approved_plan_runs_from_cron_with_the_approver_in_the_audit_trail() {
    let env = Env::with_fixture("virtio");
    let id = verified(&env, "erase", &JAN);
    env.dsr().env("DSR_ACTOR", "officer-anna").args(["erase", &id, "--approve"]).assert().success();
    assert_eq!(person_count(&env, "jan.devries@example.nl"), 1, "approving erases nothing yet");
    let (log, _): (Value, i32) = env.json(&["audit", "log", "--request", &id]);
    let approved = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "erasure-approved")
        .expect("an approval entry");
    assert_eq!(approved["actor"], "officer-anna");
    let v = due(&env);
    assert_eq!(v["applied"], serde_json::json!([id]));
    assert_eq!(person_count(&env, "jan.devries@example.nl"), 0);
}

#[test]
fn a_store_failing_under_the_letters_of_a_due_run_is_told_after_its_summary() {
    let env = Env::with_fixture("virtio");
    let id = verified(&env, "erase", &JAN);
    env.dsr().args(["erase", &id, "--approve"]).assert().success();
    // The erasure commits; marking its letter sent fails (as under another process's lock).
    env.sql()
        .execute_batch(
            "CREATE TRIGGER locked BEFORE UPDATE OF done_at ON queued WHEN new.done_at IS NOT NULL
             BEGIN SELECT RAISE(ABORT, 'database is locked'); END;",
        )
        .unwrap();
    let out = env.run(&["--json", "erase", "--due"]);
    let err = support::stderr(&out);
    // A trigger stands in for the store failing: it is told as a trigger's refusal (exit 11).
    assert_eq!(out.status.code(), Some(11), "{err}");
    assert_eq!(err.matches("not delivered").count(), 1, "told once: {err}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("the run's summary on stdout");
    assert_eq!(v["applied"], serde_json::json!([id]), "{v}");
    assert!(err.contains("1 erased") && err.contains("queued letters were not delivered"), "{err}");
    assert_eq!(person_count(&env, "jan.devries@example.nl"), 0);
    let (status, _): (Value, i32) = env.json(&["status"]);
    let last = &status["cron"].as_array().unwrap().iter().find(|c| c["command"] == "erase --due").unwrap()["last"];
    assert_ne!(last["exit_code"], 0, "the stopped run is recorded: {status}");
    // The letter waits in the queue and goes with the next command.
    env.sql().execute_batch("DROP TRIGGER locked").unwrap();
    env.dsr().args(["mail", "flush"]).assert().success();
    assert!(env.messages(&id).iter().any(|m| m.body.contains("erased") || m.body.contains("gewist")));
}

#[test]
fn a_plan_on_hold_waits_without_a_letter_and_runs_once_released() {
    let env = Env::with_fixture("virtio");
    let id = verified(&env, "erase", &JAN);
    env.dsr().args(["erase", &id, "--approve"]).assert().success();
    let out = env.run(&["erase", &id, "--hold"]);
    assert_eq!(out.status.code(), Some(2), "a hold needs a reason");
    env.dsr().args(["erase", &id, "--hold", "--reason", "checking an open invoice"]).assert().success();
    let letters = env.messages(&id).len();
    let v = due(&env);
    assert_eq!(v["on_hold"], serde_json::json!([id]));
    assert_eq!(person_count(&env, "jan.devries@example.nl"), 1);
    assert_eq!(env.messages(&id).len(), letters, "no letter to the person about a hold");
    env.dsr().args(["erase", &id, "--release", "--reason", "invoice checked"]).assert().success();
    let v = due(&env);
    assert_eq!(v["applied"], serde_json::json!([id]));
    assert_eq!(person_count(&env, "jan.devries@example.nl"), 0);
}

/// Run dsr on a terminal, typing nothing.
fn on_terminal(env: &Env, args: &str) -> (Option<i32>, String) {
    support::at_terminal(env, args, "", "")
}

#[test]
fn no_at_the_prompt_erases_and_approves_nothing() {
    let env = Env::with_fixture("virtio");
    let id = verified(&env, "erase", &JAN);
    let (code, text) = support::at_terminal(&env, &format!("erase {id}"), "Erase as planned?", "n\n");
    assert_eq!(code, Some(9), "{text}");
    assert_eq!(person_count(&env, "jan.devries@example.nl"), 1);
    let v = due(&env);
    assert_eq!(v["waiting_for_approval"], serde_json::json!([id]), "a declined plan waits, unapproved");
    assert_eq!(person_count(&env, "jan.devries@example.nl"), 1);
}

#[test]
fn data_another_process_writes_while_the_officer_reads_the_plan_makes_it_stale() {
    let env = Env::with_fixture("virtio");
    let id = verified(&env, "erase", &JAN);
    // While the question is on the screen, another process adds a phone number for the person.
    let add = || {
        env.sql()
            .execute(
                "INSERT INTO phone_number (person_id, number, use_contact, use_2fa, use_monitoring, created_at)
                 SELECT person_id, '+31699999999', 0, 0, 0, '2026-11-01T00:00:00Z' FROM email_address
                 WHERE address_norm = 'jan.devries@example.nl'",
                [],
            )
            .unwrap();
    };
    let (code, text) = support::at_terminal_after(&env, &format!("erase {id}"), "Erase as planned?", add, "y\n");
    assert_eq!(code, Some(21), "the plan shown is not the plan of the data now: {text}");
    assert_eq!(person_count(&env, "jan.devries@example.nl"), 1, "nothing erased");
    // Run again with nothing written meanwhile, it is erased as shown.
    let (code, text) = support::at_terminal(&env, &format!("erase {id}"), "Erase as planned?", "y\n");
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(person_count(&env, "jan.devries@example.nl"), 0);
}

#[test]
fn destructive_cron_paths_on_a_terminal_need_yes() {
    let env = Env::with_fixture("virtio");
    // erase --replay refuses without --yes; retention run asks instead (tests/officer_view.rs).
    let (code, text) = on_terminal(&env, "erase --replay");
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("--yes"), "{text}");
    let audit = |env: &Env| -> i64 { env.sql().query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0)).unwrap() };
    let before = audit(&env);
    assert_eq!(on_terminal(&env, "retention run --dry-run").0, Some(0), "a dry run needs no confirmation");
    assert_eq!(on_terminal(&env, "retention run --yes").0, Some(0));
    assert!(audit(&env) > before, "the confirmed run ran");
}

#[test]
fn viewing_or_writing_an_answer_completes_nothing() {
    let env = Env::with_fixture("virtio");
    let id = verified(&env, "access", &JAN);
    env.dsr().args(["access", &id]).assert().success();
    env.dsr().args(["access", &id, "--out", "answer.json"]).assert().success();
    env.dsr().args(["access", &id, "--archive", "answer.zip"]).assert().success();
    let v = state(&env, &id);
    assert_eq!(v["state"], "verified");
    assert_eq!(v["progress"], "answer prepared, not delivered");
    assert!(!actions(&env, &id).contains(&"disclosed".to_owned()), "nothing reached the person");
    let listed = support::stdout(&env.run(&["request", "list", "--open"]));
    assert!(
        listed.contains("answer prepared, not delivered") && listed.contains(&format!("dsr access {id} --send")),
        "{listed}"
    );
    // Still open, so it can be delivered now.
    let (d, code): (Value, i32) = env.json(&["request", "delivered", &id, "--channel", "post", "--ref", "RR123NL"]);
    assert_eq!(code, 0, "{d}");
    let v = state(&env, &id);
    assert_eq!(v["state"], "completed");
    assert_eq!(v["delivery_channel"], "post");
    assert!(actions(&env, &id).contains(&"disclosed".to_owned()));
    // The person's next access answer says how the earlier answer reached them (Art. 15(3)).
    let next = verified(&env, "access", &JAN);
    let (answer, _): (Value, i32) = env.json(&["access", &next]);
    let earlier = answer["history"]["requests"].as_array().unwrap().iter().find(|r| r["id"] == id.as_str()).cloned();
    assert_eq!(earlier.expect("the earlier request is listed")["delivery_channel"], "post");
}

/// What goes by mail only encrypted is the register's word (`mail_encrypted` on a category), not
/// a category code: the webshop's payments (Mollie, Klarna) are, a category without the mark is
/// not.
#[test]
fn an_archive_with_a_category_the_register_marks_mail_encrypted_is_encrypted() {
    let env = Env::with_fixture("webshop");
    let id = verified(&env, "access", &["--email", "sanne.dejong@example.nl"]);
    let (v, code): (Value, i32) = env.json(&["access", &id, "--send"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["encrypted"], true, "the payments category is marked: {v}");
    // Without the mark, the same person's answer goes in clear text.
    env.sql().execute("UPDATE category SET mail_encrypted = 0", []).unwrap();
    let id = verified(&env, "access", &["--email", "sanne.dejong@example.nl"]);
    let (v, code): (Value, i32) = env.json(&["access", &id, "--send"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["encrypted"], false, "{v}");
}

#[test]
fn delivered_needs_a_prepared_answer_and_a_reference() {
    let env = Env::with_fixture("virtio");
    let id = verified(&env, "access", &JAN);
    let out = env.run(&["request", "delivered", &id, "--channel", "in-person", "--ref", "desk"]);
    assert_eq!(out.status.code(), Some(9), "nothing prepared yet: {}", support::stderr(&out));
    support::assert_one_line_error(&out);
    env.dsr().args(["access", &id, "--out", "a.json"]).assert().success();
    let out = env.run(&["request", "delivered", &id, "--channel", "in-person", "--ref", "  "]);
    assert_eq!(out.status.code(), Some(2));
}

fn zip_names(bytes: &[u8]) -> Vec<String> {
    let zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    zip.file_names().map(str::to_owned).collect()
}

#[test]
fn send_mails_an_encrypted_archive_and_the_passphrase_only_to_the_officer() {
    let env = Env::with_fixture("virtio");
    let id = verified(&env, "export", &JAN);
    let out = env.run(&["export", &id, "--send"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let err = support::stderr(&out);
    let passphrase = err.lines().find_map(|l| l.split("by the same mail): ").nth(1)).expect("passphrase shown").trim();
    let mail = env.messages(&id).into_iter().last().unwrap();
    assert_eq!(mail.to, vec!["jan.devries@example.nl".to_owned()]);
    assert!(!String::from_utf8_lossy(&mail.raw).contains(passphrase), "the passphrase is never in the message");
    for text in ["(English below)", "index.html", "7-Zip", "Autoriteit Persoonsgegevens", "telefonisch", "by phone"] {
        assert!(mail.body.contains(text), "cover letter lacks {text:?}:\n{}", mail.body);
    }
    let parsed = mail_parser::MessageParser::default().parse(&mail.raw).unwrap();
    let attachment = parsed.attachment(0).expect("the archive is attached");
    let bytes = attachment.contents();
    assert!(zip_names(bytes).iter().any(|n| n == "data.json"));
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut f = zip.by_name_decrypt("data.json", passphrase.as_bytes()).expect("opens with the passphrase");
    let mut text = String::new();
    f.read_to_string(&mut text).unwrap();
    assert!(text.contains("jan.devries@example.nl"));
    let v = state(&env, &id);
    assert_eq!(v["state"], "completed");
    assert_eq!(v["delivery_channel"], "email");
    let acts = actions(&env, &id);
    assert!(acts.contains(&"passphrase-given".to_owned()) && acts.contains(&"disclosed".to_owned()), "{acts:?}");
    let again = env.run(&["export", &id, "--send"]);
    assert_eq!(again.status.code(), Some(9), "delivered once");
}

#[test]
fn a_letter_that_cannot_be_delivered_stays_queued_and_goes_out_exactly_once_later() {
    let env = Env::with_fixture("virtio");
    let id = verified(&env, "erase", &JAN);
    // The outbox cannot be created: a file stands where the folder should be.
    std::fs::rename(env.outbox(), env.path("outbox.saved")).unwrap();
    std::fs::write(env.outbox(), b"not a folder").unwrap();
    let out = env.run(&["erase", &id, "--yes"]);
    assert!(out.status.success(), "the erasure itself is done: {}", support::stderr(&out));
    assert!(support::stderr(&out).contains("stays queued"), "{}", support::stderr(&out));
    assert_eq!(person_count(&env, "jan.devries@example.nl"), 0);
    let v = state(&env, &id);
    assert_eq!(v["state"], "verified", "not completed until the answer is delivered");
    assert_eq!(v["queued"][0]["letter"], "erasure");
    assert!(v["queued"][0]["last_error"].as_str().unwrap().contains("outbox"), "{v}");
    let shown = support::stdout(&env.run(&["request", "show", &id]));
    assert!(shown.contains("NOT SENT"), "{shown}");
    // The officer mends the outbox; the next command delivers, once.
    std::fs::remove_file(env.outbox()).unwrap();
    std::fs::rename(env.path("outbox.saved"), env.outbox()).unwrap();
    let (f, code): (Value, i32) = env.json(&["mail", "flush"]);
    assert_eq!(code, 0, "{f}");
    assert_eq!(f["delivered"].as_array().unwrap().len(), 1);
    let erasure_letters = |env: &Env| env.messages(&id).iter().filter(|m| m.subject.contains("Wissing")).count();
    assert_eq!(erasure_letters(&env), 1);
    env.dsr().args(["request", "list"]).assert().success();
    env.dsr().args(["mail", "flush"]).assert().success();
    assert_eq!(erasure_letters(&env), 1, "delivered exactly once");
    assert_eq!(state(&env, &id)["state"], "completed");
}

#[test]
fn the_erasure_letter_and_journal_line_wait_for_the_commit() {
    let env = Env::with_fixture("virtio");
    let id = verified(&env, "erase", &JAN);
    env.dsr().args(["erase", &id, "--approve"]).assert().success();
    // A fault half-way through the erasure's transaction: it rolls back, and must not tell anyone
    // it happened.
    env.sql()
        .execute_batch("CREATE TRIGGER fault BEFORE DELETE ON person BEGIN SELECT RAISE(ABORT, 'injected fault'); END;")
        .unwrap();
    let out = env.run(&["erase", "--due"]);
    assert!(!out.status.success(), "{}", support::stderr(&out));
    env.sql().execute_batch("DROP TRIGGER fault").unwrap();
    assert_eq!(person_count(&env, "jan.devries@example.nl"), 1);
    assert!(env.messages(&id).iter().all(|m| !m.subject.contains("Wissing")), "no erasure letter without an erasure");
    assert!(!env.path("dsr.sqlite.erasures").exists(), "no journal line without an erasure");
    let v = due(&env);
    assert_eq!(v["applied"], serde_json::json!([id]));
    assert_eq!(env.messages(&id).iter().filter(|m| m.subject.contains("Wissing")).count(), 1);
    let journal = std::fs::read_to_string(env.path("dsr.sqlite.erasures")).unwrap();
    assert_eq!(journal.lines().count(), 1);
}

/// A store restored from a backup (or made anew) beside the outbox it had numbers its requests
/// and letters again from where the backup was: the new code letter must reach the outbox
/// beside the old one of the same number, neither lost nor written over it.
#[test]
fn a_letter_whose_outbox_name_is_taken_by_another_is_written_beside_it() {
    let env = Env::with_fixture("virtio");
    std::fs::copy(&env.db, env.path("backup.sqlite")).unwrap();
    let first = env.open("access", &JAN);
    let old = env.messages(&first.request);
    assert_eq!(old.len(), 1);
    // The restore: the store as it was before that request, the outbox as it is.
    std::fs::copy(env.path("backup.sqlite"), &env.db).unwrap();
    let again = env.open("access", &["--email", "kees.smit@example.nl"]);
    assert_eq!(again.request, first.request, "the restored store numbers the request again");
    let mails = env.messages(&again.request);
    assert_eq!(mails.len(), 2, "both letters are in the outbox");
    let old_bytes = std::fs::read(&old[0].path).unwrap();
    assert_eq!(old_bytes, old[0].raw, "the first letter is left as it was");
    let new = mails.iter().find(|m| m.path != old[0].path).unwrap();
    assert!(new.path.to_string_lossy().ends_with("-2.eml"), "{}", new.path.display());
    assert_eq!(new.to, vec!["kees.smit@example.nl".to_owned()]);
    let code = new.code().unwrap();
    env.dsr().args(["verify", &again.request, &code]).assert().success();
    let (shown, _): (Value, i32) = env.json(&["request", "show", &again.request]);
    let refs = shown.to_string();
    assert!(refs.contains(&new.path.file_name().unwrap().to_string_lossy().to_string()), "{refs}");
}

/// A link (even a dangling one) or a folder at a letter's outbox name holds the name: the letter
/// goes beside it, and the link is not followed.
#[test]
fn a_link_or_folder_at_a_letters_outbox_name_is_passed_over() {
    let env = Env::with_fixture("virtio");
    std::fs::create_dir_all(env.outbox()).unwrap();
    let target = env.path("elsewhere.eml");
    std::os::unix::fs::symlink(&target, env.outbox().join("DSR-2026-0001-000001.eml")).unwrap();
    std::fs::create_dir(env.outbox().join("DSR-2026-0001-000001-2.eml")).unwrap();
    let opened = env.open("access", &JAN);
    assert_eq!(opened.request, "DSR-2026-0001");
    assert!(!target.exists(), "the link was not followed");
    let letter = env.outbox().join("DSR-2026-0001-000001-3.eml");
    assert!(letter.is_file(), "{:?}", std::fs::read_dir(env.outbox()).unwrap().collect::<Vec<_>>());
    let code = crate::support::Mail::parse(&std::fs::read(&letter).unwrap(), letter.clone()).code().unwrap();
    env.dsr().args(["verify", &opened.request, &code]).assert().success();
}
