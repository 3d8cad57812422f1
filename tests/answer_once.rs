//! An access or export answer goes out once: two `--send` at once, a second `--send` while the
//! first waits in the queue, or a refusal or a delivery by post meanwhile never send the person's
//! data twice or after a refusal.

use std::process::{Command, Stdio};

use crate::support::{stderr, Env};

const JAN: &str = "jan.devries@example.nl";

fn answers(env: &Env, id: &str) -> usize {
    env.messages(id).iter().filter(|m| m.subject.contains("Inzage")).count()
}

#[test]
fn two_sends_at_once_mail_the_answer_once() {
    let env = Env::with_fixture("virtio");
    for round in 0..3 {
        let id = env.verified("access", &["--email", JAN]);
        let spawn = || {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_dsr"));
            cmd.arg("--db").arg(&env.db).args(["access", &id, "--send"]).current_dir(env.dir.path());
            cmd.env_remove("DSR_NOW").stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap()
        };
        let (a, b) = (spawn(), spawn());
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        let mut codes = [a.status.code(), b.status.code()];
        codes.sort();
        assert_eq!(codes, [Some(0), Some(9)], "round {round}: {} / {}", stderr(&a), stderr(&b));
        assert_eq!(answers(&env, &id), 1, "round {round}");
        let given = env
            .count(&format!("SELECT count(*) FROM audit_log WHERE request_id = '{id}' AND action = 'answer-prepared'"));
        assert_eq!(given, 1, "round {round}");
    }
}

#[test]
fn an_answer_waiting_in_the_queue_is_not_sent_again_handed_over_or_refused() {
    let env = Env::with_fixture("virtio");
    let id = env.verified("access", &["--email", JAN]);
    // The outbox cannot be written: the answer stays queued.
    let outbox = env.outbox();
    let kept = env.path("outbox.kept");
    std::fs::rename(&outbox, &kept).unwrap();
    std::fs::write(&outbox, b"not a directory").unwrap();
    let out = env.run(&["access", &id, "--send"]);
    assert_eq!(out.status.code(), Some(0), "queued, not delivered: {}", stderr(&out));
    let again = env.run(&["access", &id, "--send"]);
    assert_eq!(again.status.code(), Some(9), "{}", stderr(&again));
    assert!(stderr(&again).contains("is queued already"), "{}", stderr(&again));
    let reject = env.run(&["request", "reject", &id, "--reason", "other", "--note", "x", "--note-nl", "x"]);
    assert_eq!(reject.status.code(), Some(9), "{}", stderr(&reject));
    assert_eq!(env.count("SELECT count(*) FROM queued WHERE delivers = 1"), 1);
    // A letter not tried yet (its process was killed before its flush) is on its way.
    env.sql().execute("UPDATE queued SET tries = 0 WHERE delivers = 1", []).unwrap();
    let post = env.run(&["request", "delivered", &id, "--channel", "post", "--ref", "PostNL 1"]);
    assert_eq!(post.status.code(), Some(9), "{}", stderr(&post));
    assert!(stderr(&post).contains("is queued to be mailed"), "{}", stderr(&post));
    // Once a try failed, handing the answer over another way withdraws the letter.
    env.sql().execute("UPDATE queued SET tries = 1 WHERE delivers = 1", []).unwrap();
    let post = env.run(&["request", "delivered", &id, "--channel", "post", "--ref", "PostNL 1"]);
    assert!(post.status.success(), "{}", stderr(&post));
    assert_eq!(env.count("SELECT count(*) FROM queued WHERE delivers = 1 AND done_at IS NULL"), 0);
    assert_eq!(env.count("SELECT count(*) FROM queued WHERE payload IS NOT NULL AND delivers = 1"), 0);
    assert_eq!(
        env.count(&format!("SELECT count(*) FROM audit_log WHERE request_id = '{id}' AND action = 'mail-withdrawn'")),
        1
    );
    std::fs::remove_file(&outbox).unwrap();
    std::fs::rename(&kept, &outbox).unwrap();
    let flush = env.run(&["mail", "flush"]);
    assert!(flush.status.success(), "{}", stderr(&flush));
    assert_eq!(answers(&env, &id), 0, "the withdrawn letter never goes out");
    let state: String = env.sql().query_row("SELECT state FROM request WHERE id = ?1", [&id], |r| r.get(0)).unwrap();
    assert_eq!(state, "completed");
}

#[test]
fn a_store_failing_under_the_delivery_after_the_answer_is_queued_is_no_rollback() {
    let env = Env::with_fixture("virtio");
    let id = env.verified("access", &["--email", JAN]);
    // The answer and its letter commit; recording the letter's delivery fails (a full disk).
    env.sql()
        .execute_batch(
            "CREATE TRIGGER full BEFORE UPDATE OF done_at ON queued WHEN new.done_at IS NOT NULL
             BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
        )
        .unwrap();
    let out = env.run(&["access", &id, "--send"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "the answer is queued: {err}");
    assert!(err.contains("queued letters were not delivered") && err.contains("wait in the queue"), "{err}");
    assert!(!err.contains("rolled back"), "{err}");
    assert_eq!(err.matches("not delivered").count(), 1, "told once: {err}");
    assert!(crate::support::stdout(&out).contains("queued for the address on file but not delivered yet"));
    let again = env.run(&["access", &id, "--send"]);
    assert_eq!(again.status.code(), Some(9), "{}", stderr(&again));
    env.sql().execute_batch("DROP TRIGGER full").unwrap();
    env.dsr().args(["mail", "flush"]).assert().success();
    assert_eq!(env.count(&format!("SELECT count(*) FROM request WHERE id = '{id}' AND state = 'completed'")), 1);
}
