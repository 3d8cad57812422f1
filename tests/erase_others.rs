//! The person's other open requests when their data are erased: a request the officer still owes
//! an answer holds the erasure back (an officer at the prompt and cron alike); one still waiting
//! for its code is refused with a letter, in the erasure's transaction, so none is left open that
//! could never be verified.

use serde_json::Value;

use crate::support::{self, Env};

const JAN: [&str; 2] = ["--email", "jan.devries@example.nl"];

fn jan_on_file(env: &Env) -> i64 {
    env.count("SELECT count(*) FROM email_address WHERE address_norm = 'jan.devries@example.nl'")
}

fn state(env: &Env, id: &str) -> String {
    let (v, code): (Value, i32) = env.json(&["request", "show", id]);
    assert_eq!(code, 0, "{v}");
    v["state"].as_str().unwrap().to_owned()
}

#[test]
fn an_unanswered_access_request_holds_the_erasure_back_until_it_is_delivered() {
    let env = Env::with_fixture("virtio");
    let access = env.verified("access", &JAN);
    let erase = env.verified("erase", &JAN);

    let (list, _): (Value, i32) = env.json(&["request", "list"]);
    let row = list["requests"].as_array().unwrap().iter().find(|r| r["id"] == erase.as_str()).unwrap().clone();
    assert_eq!(
        row["next_action"],
        format!("{access} (access) first: dsr access {access} --send"),
        "the officer's list says what to do first: {row}"
    );

    let out = env.run(&["erase", &erase, "--yes"]);
    assert_eq!(out.status.code(), Some(9), "{}", support::stderr(&out));
    support::assert_one_line_error(&out);
    let err = support::stderr(&out);
    assert!(err.contains(&access) && err.contains(&format!("dsr access {access} --send")), "{err}");
    assert_eq!(jan_on_file(&env), 1, "nothing erased");

    // Approved for cron: the run leaves it waiting, says why, and fails nothing.
    env.dsr().args(["erase", &erase, "--approve"]).assert().success();
    let (due, code): (Value, i32) = env.json(&["erase", "--due"]);
    assert_eq!(code, 0, "{due}");
    assert_eq!(due["applied"], serde_json::json!([]));
    assert_eq!(due["waiting_for_answer"], serde_json::json!([[erase, access]]));
    assert_eq!(jan_on_file(&env), 1, "nothing erased");

    // Once the answer is delivered, the next run erases with the plan as approved.
    env.dsr().args(["access", &access, "--send"]).assert().success();
    assert_eq!(state(&env, &access), "completed");
    let (due, code): (Value, i32) = env.json(&["erase", "--due"]);
    assert_eq!(code, 0, "{due}");
    assert_eq!(due["applied"], serde_json::json!([erase]), "not re-planned by the answer: {due}");
    assert_eq!(jan_on_file(&env), 0);
}

/// A request the person makes after the erasure was approved holds it back too, and once it is
/// answered the approved plan runs as approved: dsr's own request records are not part of what
/// the officer approved.
#[test]
fn an_access_request_made_after_the_approval_does_not_make_the_plan_stale() {
    let env = Env::with_fixture("virtio");
    let erase = env.verified("erase", &JAN);
    env.dsr().args(["erase", &erase, "--dry-run"]).assert().success();
    env.dsr().args(["erase", &erase, "--approve"]).assert().success();
    let access = env.verified("access", &JAN);
    let (due, code): (Value, i32) = env.json(&["erase", "--due"]);
    assert_eq!(code, 0, "{due}");
    assert_eq!(due["waiting_for_answer"], serde_json::json!([[erase, access]]));
    env.dsr().args(["access", &access, "--send"]).assert().success();
    let (due, code): (Value, i32) = env.json(&["erase", "--due"]);
    assert_eq!(code, 0, "{due}");
    assert_eq!((&due["applied"], &due["replanned"]), (&serde_json::json!([erase]), &serde_json::json!([])), "{due}");
    assert_eq!(jan_on_file(&env), 0);
    env.dsr().args(["audit", "verify"]).assert().success();
}

#[test]
fn an_unanswered_export_request_holds_back_an_erasure_at_the_prompt_too() {
    let env = Env::with_fixture("virtio");
    let export = env.verified("export", &JAN);
    let erase = env.verified("erase", &JAN);
    // Typed at once, not at the question: there must be none.
    let (code, screen) = support::at_terminal(&env, &format!("erase {erase}"), "", "y\n");
    assert_eq!(code, Some(9), "{screen}");
    assert!(screen.contains(&format!("dsr export {export} --send")), "{screen}");
    assert!(!screen.contains("Erase as planned?"), "refused before the officer is asked: {screen}");
    assert_eq!(jan_on_file(&env), 1);
}

#[test]
fn a_rectification_not_carried_out_holds_the_erasure_back_and_one_carried_out_does_not() {
    let env = Env::with_fixture("virtio");
    let rectify = env.verified("rectify", &["--email", "jan.devries@example.nl", "--set", "phone=+31612345679"]);
    let erase = env.verified("erase", &JAN);
    let out = env.run(&["erase", &erase, "--yes"]);
    assert_eq!(out.status.code(), Some(9), "{}", support::stderr(&out));
    assert!(support::stderr(&out).contains(&format!("dsr rectify {rectify}")), "{}", support::stderr(&out));
    assert_eq!(jan_on_file(&env), 1);
    env.dsr().args(["rectify", &rectify, "--yes"]).assert().success();
    let (done, status): (Value, i32) = env.json(&["erase", &erase, "--yes"]);
    assert_eq!(status, 0, "{done}");
    assert_eq!(done["refused"], serde_json::json!([]), "a request carried out is not refused: {done}");
    assert_ne!(state(&env, &rectify), "rejected");
    assert_eq!(jan_on_file(&env), 0);
}

#[test]
fn requests_still_waiting_for_their_code_are_refused_with_a_letter_each_when_the_data_go() {
    let env = Env::with_fixture("virtio");
    let rectify = env.open("rectify", &["--email", "jan.devries@example.nl", "--set", "phone=+31612345679"]).request;
    let erase = env.verified("erase", &JAN);
    let access = env.open("access", &JAN).request;

    let (done, status): (Value, i32) = env.json(&["erase", &erase, "--yes"]);
    assert_eq!(status, 0, "{done}");
    assert_eq!(done["refused"], serde_json::json!([rectify, access]));
    assert_eq!(jan_on_file(&env), 0);

    for id in [&rectify, &access] {
        assert_eq!(state(&env, id), "rejected", "{id}");
        let letters = env.messages(id);
        let refusal = letters.last().unwrap();
        assert_eq!(refusal.to, vec!["jan.devries@example.nl".to_owned()], "to the address that was on file");
        assert!(refusal.body.contains(&format!("erase your personal data (request {erase})")), "{}", refusal.body);
        assert!(refusal.body.contains(&format!("te wissen (verzoek {erase})")), "{}", refusal.body);
        assert!(refusal.body.contains("Autoriteit Persoonsgegevens"), "the complaint route (Art. 12(4))");
        // The code sent for it is void.
        let active =
            env.count(&format!("SELECT count(*) FROM challenge WHERE request_id = '{id}' AND state = 'active'"));
        assert_eq!(active, 0, "{id}");
    }
    let (list, _): (Value, i32) = env.json(&["request", "list"]);
    let open: Vec<&Value> = list["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| matches!(r["state"].as_str(), Some("awaiting-verification" | "verified")))
        .collect();
    assert!(open.is_empty(), "nothing of the person is left open: {open:?}");
}

#[test]
fn a_plan_approved_before_its_fingerprint_left_the_request_state_out_still_runs() {
    let env = Env::with_fixture("virtio");
    let erase = env.verified("erase", &JAN);
    env.dsr().args(["erase", &erase, "--approve"]).assert().success();
    // As an earlier dsr stored it (format 2): a fingerprint over every column of the request
    // records, which no longer matches any made now.
    let n = env
        .sql()
        .execute(
            "UPDATE erasure_plan SET plan = json_set(plan, '$.format_version', 2, '$.fingerprint', 'f00d'),
               fingerprint = 'f00d' WHERE request_id = ?1",
            [&erase],
        )
        .unwrap();
    assert_eq!(n, 1);
    let (due, code): (Value, i32) = env.json(&["erase", "--due"]);
    assert_eq!(code, 0, "{due}");
    assert_eq!(due["applied"], serde_json::json!([erase]), "approved before the upgrade, run after it: {due}");
}
