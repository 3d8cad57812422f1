//! `dsr status` (issue 17, docs/status.md): the officer's screen of what is due, read from
//! `--json` into typed structs; the exit code a monitoring check sees; plain text in a pipe; the
//! live view refused off a terminal.

use serde::Deserialize;

use crate::support::{assert_one_line_error, stderr, stdout, Env};

#[derive(Debug, Deserialize)]
struct Status {
    format_version: u32,
    now: String,
    today: String,
    requests: Requests,
    codes: Codes,
    plans: Plans,
    to_notify: ToNotify,
    tasks: Tasks,
    mail: Mail,
    cron: Vec<Cron>,
}

#[derive(Debug, Deserialize)]
struct Requests {
    open: i64,
    overdue: i64,
    due_within_7_days: i64,
    shown: Vec<Due>,
    more: i64,
    more_command: String,
}

#[derive(Debug, Deserialize)]
struct Due {
    request: String,
    right: String,
    state: String,
    deadline: String,
    days_left: i64,
    overdue: bool,
    next_action: String,
}

#[derive(Debug, Deserialize)]
struct Codes {
    awaiting_verification: i64,
    active: i64,
    expired: i64,
    shown: Vec<Code>,
}

#[derive(Debug, Deserialize)]
struct Code {
    request: String,
    expires_at: String,
    expired: bool,
}

#[derive(Debug, Deserialize)]
struct Plans {
    waiting: i64,
    on_hold: i64,
    shown: Vec<Plan>,
}

#[derive(Debug, Deserialize)]
struct Plan {
    request: String,
    command: String,
}

#[derive(Debug, Deserialize)]
struct ToNotify {
    open: i64,
    shown: Vec<ToTell>,
    command: String,
}

#[derive(Debug, Deserialize)]
struct ToTell {
    request: String,
    recipient: String,
}

#[derive(Debug, Deserialize)]
struct Tasks {
    open: i64,
    systems: Vec<System>,
}

#[derive(Debug, Deserialize)]
struct System {
    system: String,
    open: i64,
}

#[derive(Debug, Deserialize)]
struct Mail {
    failed: i64,
    shown: Vec<Failed>,
    command: String,
}

#[derive(Debug, Deserialize)]
struct Failed {
    request: Option<String>,
    tries: i64,
    last_error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Cron {
    command: String,
    last: Option<LastRun>,
}

#[derive(Debug, Deserialize)]
struct LastRun {
    at: String,
    exit_code: u8,
    outcome: String,
    summary: String,
}

const NOW: &str = "2026-03-10T09:00:00Z";

fn status(env: &Env, args: &[&str]) -> (Status, i32) {
    let mut all = vec!["status"];
    all.extend_from_slice(args);
    let (s, code): (Status, i32) = env.json(&all);
    assert_eq!(s.format_version, 1);
    (s, code)
}

fn action<'a>(s: &'a Status, id: &str) -> &'a str {
    &s.requests.shown.iter().find(|d| d.request == id).unwrap_or_else(|| panic!("{id} not shown: {s:?}")).next_action
}

#[test]
fn an_empty_store_has_nothing_due_and_no_run_recorded() {
    let env = Env::with_fixture_at("virtio", NOW);
    let (s, code) = status(&env, &[]);
    assert_eq!(code, 0);
    assert_eq!((s.now.as_str(), s.today.as_str()), (NOW, "2026-03-10"));
    assert_eq!((s.requests.open, s.requests.overdue, s.requests.more), (0, 0, 0));
    assert!(s.requests.shown.is_empty());
    assert_eq!(
        (s.codes.awaiting_verification, s.plans.waiting, s.to_notify.open, s.tasks.open, s.mail.failed),
        (0, 0, 0, 0, 0)
    );
    let commands: Vec<(&str, bool)> = s.cron.iter().map(|c| (c.command.as_str(), c.last.is_none())).collect();
    assert_eq!(commands, [("erase --due", true), ("retention run", true)]);
    let out = env.run(&["status"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Open requests: none") && text.contains("dsr erase --due\tnever recorded"), "{text}");
}

#[test]
fn open_requests_come_overdue_first_then_by_days_left_each_with_its_command() {
    let env = Env::with_fixture_at("virtio", NOW);
    // Received in January: its month ended on 20 February. Still open: overdue.
    let late = env.open("access", &["--email", "jan.devries@example.nl", "--received", "2026-01-20"]).request;
    let export = env.verified("export", &["--email", "pieter.vandenberg@example.com"]);
    let erase = env.verified("erase", &["--email", "sophie.meijer@example.nl", "--received", "2026-02-15"]);
    // Closed requests are not on the screen.
    let rejected = env.open("access", &["--email", "kees.smit@example.nl"]).request;
    env.dsr()
        .args(["request", "reject", &rejected, "--reason", "identity-not-confirmed", "--note", "No code relayed"])
        .args(["--note-nl", "Geen code doorgegeven"])
        .assert()
        .success();
    let (s, code) = status(&env, &[]);
    assert_eq!(code, 25, "a request is overdue: {s:?}");
    let order: Vec<(&str, i64, bool)> =
        s.requests.shown.iter().map(|d| (d.request.as_str(), d.days_left, d.overdue)).collect();
    assert_eq!(order, [(late.as_str(), -18, true), (erase.as_str(), 5, false), (export.as_str(), 31, false)]);
    assert_eq!((s.requests.open, s.requests.overdue, s.requests.due_within_7_days), (3, 1, 1));
    let first = &s.requests.shown[0];
    assert_eq!(
        (first.right.as_str(), first.state.as_str(), first.deadline.as_str()),
        ("access", "awaiting-verification", "2026-02-20")
    );
    assert_eq!(action(&s, &late), format!("waiting for the code: dsr verify {late} CODE"));
    assert_eq!(action(&s, &export), format!("answer: dsr export {export} --send"));
    assert_eq!(action(&s, &erase), format!("plan: dsr erase {erase} --dry-run"));
    // The same exit code without --json: a monitoring check may run either.
    let out = env.run(&["status"]);
    assert_eq!(out.status.code(), Some(25), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("1 OVERDUE") && text.contains(&format!("{late}\taccess\t")), "{text}");
    assert!(text.contains("-18 OVERDUE"), "{text}");
    // A cap on the list: the counts stay whole and the rest is one command away.
    let (s, _) = status(&env, &["--limit", "1"]);
    assert_eq!((s.requests.shown.len(), s.requests.open, s.requests.more), (1, 3, 2));
    assert_eq!(s.requests.more_command, "dsr request list --open");
    assert!(stdout(&env.run(&["status", "--limit", "1"])).contains("2 more: dsr request list --open"));
    // Answered: nothing overdue any more, exit 0.
    let code = env.code(&late);
    env.dsr().args(["verify", &late, &code]).assert().success();
    env.dsr().args(["access", &late, "--send"]).assert().success();
    let (s, code) = status(&env, &[]);
    assert_eq!((code, s.requests.overdue, s.requests.open), (0, 0, 2), "{s:?}");
}

#[test]
fn a_code_burned_by_wrong_tries_is_named_so_not_expired() {
    let env = Env::with_fixture_at("virtio", NOW);
    let id = env.open("access", &["--email", "jan.devries@example.nl"]).request;
    let code = env.code(&id);
    for _ in 0..5 {
        env.run(&["verify", &id, &crate::support::wrong_code(&code)]);
    }
    let (s, _) = status(&env, &[]);
    assert_eq!(
        action(&s, &id),
        format!("code burned by five wrong tries (someone may be guessing): dsr verify --resend {id}")
    );
}

#[test]
fn codes_waiting_and_an_expired_code_ask_for_a_new_one() {
    let mut env = Env::with_fixture_at("virtio", NOW);
    let id = env.open("access", &["--email", "jan.devries@example.nl"]).request;
    let (s, _) = status(&env, &[]);
    assert_eq!((s.codes.awaiting_verification, s.codes.active, s.codes.expired), (1, 1, 0));
    assert_eq!((s.codes.shown[0].request.as_str(), s.codes.shown[0].expired), (id.as_str(), false));
    assert_eq!(s.codes.shown[0].expires_at, "2026-03-11T09:00:00Z", "24 hours by default");
    env.now = Some("2026-03-12T09:00:00Z".into());
    let (s, _) = status(&env, &[]);
    assert_eq!((s.codes.active, s.codes.expired), (0, 1));
    assert!(s.codes.shown[0].expired);
    assert_eq!(action(&s, &id), format!("code expired: dsr verify --resend {id}"));
    // dsr's own retention removes used and expired codes, but not the last of a request still
    // waiting for it: the screen still says the code expired, not that none was sent.
    env.dsr().args(["retention", "run"]).assert().success();
    let (s, _) = status(&env, &[]);
    assert_eq!((s.codes.active, s.codes.expired), (0, 1), "{s:?}");
    assert_eq!(action(&s, &id), format!("code expired: dsr verify --resend {id}"));
    // Ten wrong codes lock the person: the officer unlocks.
    let code = env.code(&id);
    for _ in 0..10 {
        env.run(&["verify", &id, &crate::support::wrong_code(&code)]);
    }
    let (s, _) = status(&env, &[]);
    assert_eq!(
        action(&s, &id),
        format!("verification locked after failed codes: dsr verify --unlock {id} --reason TEXT")
    );
    // Someone not on file gets no code: nothing to resend.
    let nobody = env.open("access", &["--email", "nobody@example.nl"]).request;
    let (s, _) = status(&env, &[]);
    assert_eq!(s.codes.awaiting_verification, 2);
    assert_eq!(action(&s, &nobody), format!("no one on file has this identifier: dsr request show {nobody}"));
}

#[test]
fn a_plan_waits_for_approval_then_the_cron_runs_are_shown_with_their_result() {
    let env = Env::with_fixture_at("virtio", NOW);
    let id = env.verified("erase", &["--email", "sophie.meijer@example.nl"]);
    env.dsr().args(["erase", &id, "--dry-run"]).assert().success();
    let (s, _) = status(&env, &[]);
    assert_eq!((s.plans.waiting, s.plans.on_hold), (1, 0));
    assert_eq!(
        (s.plans.shown[0].request.as_str(), s.plans.shown[0].command.clone()),
        (id.as_str(), format!("dsr erase {id} --approve"))
    );
    assert_eq!(action(&s, &id), format!("erasure plan waits for approval: dsr erase {id} --approve"));
    env.dsr().args(["erase", &id, "--approve"]).assert().success();
    let (s, _) = status(&env, &[]);
    assert_eq!(s.plans.waiting, 0);
    assert_eq!(action(&s, &id), "approved: runs at dsr erase --due");

    env.dsr().args(["erase", "--due"]).assert().success();
    env.dsr().args(["retention", "run"]).assert().success();
    let (s, code) = status(&env, &[]);
    assert_eq!(code, 0);
    assert!(s.requests.shown.iter().all(|d| d.request != id), "erased and answered: closed");
    let due = s.cron.iter().find(|c| c.command == "erase --due").and_then(|c| c.last.as_ref()).expect("recorded");
    assert_eq!((due.at.as_str(), due.exit_code, due.outcome.as_str()), (NOW, 0, "ok"));
    assert!(due.summary.starts_with("1 erased, 0 waiting for approval"), "{due:?}");
    let retention =
        s.cron.iter().find(|c| c.command == "retention run").and_then(|c| c.last.as_ref()).expect("recorded");
    assert_eq!((retention.exit_code, retention.outcome.as_str()), (0, "ok"));
    assert!(retention.summary.contains("rows removed by"), "{retention:?}");
    // A dry run is not a run: the record stays the last real one.
    let later = Env { now: Some("2026-03-11T09:00:00Z".into()), ..env };
    later.dsr().args(["retention", "run", "--dry-run"]).assert().success();
    let (s, _) = status(&later, &[]);
    let retention = s.cron.iter().find(|c| c.command == "retention run").and_then(|c| c.last.as_ref()).unwrap();
    assert_eq!(retention.at, NOW);
    let text = stdout(&later.run(&["status"]));
    assert!(text.contains(&format!("dsr erase --due\t{NOW}\t0 ok\t1 erased")), "{text}");
}

#[test]
fn a_failed_run_is_shown_with_its_exit_code() {
    let env = Env::with_fixture_at("virtio", NOW);
    // An approved plan whose data changed meanwhile: exit 21, recorded as such.
    let id = env.verified("erase", &["--email", "sophie.meijer@example.nl"]);
    env.dsr().args(["erase", &id, "--dry-run"]).assert().success();
    env.dsr().args(["erase", &id, "--approve"]).assert().success();
    env.sql()
        .execute(
            "INSERT INTO email_address (person_id, address, address_norm, is_primary, newsletter_opt_in, created_at)
             SELECT person_id, 'sophie.new@example.nl', 'sophie.new@example.nl', 0, 0, created_at FROM email_address
             WHERE address_norm = 'sophie.meijer@example.nl'",
            [],
        )
        .unwrap();
    let out = env.run(&["erase", "--due"]);
    assert_eq!(out.status.code(), Some(21), "{}", stderr(&out));
    let (s, _) = status(&env, &[]);
    let due = s.cron[0].last.as_ref().expect("recorded");
    assert_eq!((due.exit_code, due.outcome.as_str()), (21, "stale-plan"));
    assert_eq!(s.plans.waiting, 1, "the new plan waits for approval");
}

#[test]
fn unsent_mail_is_listed_with_its_error_and_the_request_says_so() {
    let env = Env::with_fixture_at("virtio", NOW);
    std::fs::write(env.outbox(), b"not a directory").unwrap();
    let id = env.open("access", &["--email", "jan.devries@example.nl"]).request;
    let (s, _) = status(&env, &[]);
    assert_eq!((s.mail.failed, s.mail.command.as_str()), (1, "dsr mail flush"));
    let failed = &s.mail.shown[0];
    assert_eq!((failed.request.as_deref(), failed.tries > 0), (Some(id.as_str()), true));
    assert!(failed.last_error.is_some());
    assert_eq!(action(&s, &id), "letter not sent: dsr mail flush");
}

#[test]
fn recipients_and_systems_still_to_tell_are_counted_and_listed() {
    let env = Env::with_fixture_at("virtio", NOW);
    let id = env.verified("rectify", &["--email", "pieter.vandenberg@example.com", "--set", "city=Amsterdam"]);
    env.dsr().args(["rectify", &id, "--yes"]).assert().success();
    let (s, _) = status(&env, &[]);
    assert!(s.to_notify.open > 0 && s.to_notify.open == s.to_notify.shown.len() as i64, "{s:?}");
    assert!(s.to_notify.shown.iter().all(|t| t.request == id));
    assert!(s.to_notify.shown.iter().any(|t| t.recipient == "group-companies"), "{:?}", s.to_notify);
    assert_eq!(s.to_notify.command, "dsr request list --to-notify");
    let before = s.to_notify.open;
    env.dsr().args(["request", "notified", &id, "--recipient", "group-companies", "--ref", "mail"]).assert().success();
    let (s, _) = status(&env, &[]);
    assert_eq!(s.to_notify.open, before - 1);

    let shop = crate::tasks::shop_with_systems(false);
    let id = shop.verified("rectify", &["--customer", "FO-100009", "--set", "delivery_postal_code=2312 KP"]);
    shop.dsr().args(["rectify", &id, "--yes"]).assert().success();
    let (s, _) = status(&shop, &[]);
    assert_eq!(s.tasks.open, 1);
    assert_eq!((s.tasks.systems[0].system.as_str(), s.tasks.systems[0].open), ("warehouse", 1));
    assert!(stdout(&shop.run(&["status"])).contains("Systems to tell: 1 open task: dsr tasks"));
}

#[test]
fn piped_output_is_plain_text_with_stored_text_escaped() {
    let env = Env::with_fixture_at("virtio", NOW);
    std::fs::write(env.outbox(), b"not a directory").unwrap();
    env.open("access", &["--email", "jan.devries@example.nl", "--received", "2026-01-20"]);
    // A transport's error text is stored as it came: it may carry anything.
    env.sql().execute("UPDATE queued SET last_error = 'refused' || char(27) || '[2J' || char(10) || 'x'", []).unwrap();
    let out = env.run(&["status"]);
    assert_eq!(out.status.code(), Some(25));
    let text = stdout(&out);
    assert!(!text.contains('\x1b'), "no escape sequence in a pipe:\n{text:?}");
    assert!(!text.contains('│') && text.contains("Request\tRight\tDays\tNext action"), "{text}");
}

#[test]
fn watch_is_refused_off_a_terminal() {
    let env = Env::with_fixture_at("virtio", NOW);
    for args in [&["status", "--watch"][..], &["status", "--watch", "2"], &["--json", "status", "--watch"]] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_one_line_error(&out);
        assert!(stderr(&out).contains("--watch") && stderr(&out).contains("terminal"), "{}", stderr(&out));
    }
    let out = env.run(&["status", "--watch", "0"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn watch_redraws_on_a_terminal_and_ctrl_c_ends_it_cleanly() {
    let env = Env::with_fixture("virtio");
    let id = env.open("access", &["--email", "jan.devries@example.nl"]).request;
    // Ctrl-C typed at the terminal once the first screen is drawn.
    let (code, screen) = crate::support::at_terminal(&env, "status --watch 1", "Ctrl-C quits.", "\x03");
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("\x1b[H\x1b[2J"), "cleared before drawing: {screen:?}");
    assert!(screen.contains("Redrawn every 1 s; Ctrl-C quits.") && screen.contains(&id), "{screen}");
    assert!(screen.contains('│'), "boxes on a terminal: {screen}");
}

/// A request whose identifier named no one has no code waiting for a person: the codes section
/// does not list or count it (the open requests say "no one on file").
#[test]
fn a_request_for_no_one_on_file_is_no_code_waiting() {
    use serde_json::Value;
    let env = Env::with_fixture("virtio");
    env.open("access", &["--email", "nobody@example.org"]);
    let (v, _): (Value, i32) = env.json(&["status"]);
    assert_eq!(v["codes"]["active"], 0, "{}", v["codes"]);
    assert_eq!(v["codes"]["shown"].as_array().map(Vec::len), Some(0), "{}", v["codes"]);
}

#[test]
fn status_answers_while_another_process_holds_the_write_lock() {
    let env = Env::with_fixture("virtio");
    env.open("access", &["--email", "jan.devries@example.nl"]);
    let holder = env.sql();
    holder.execute_batch("BEGIN IMMEDIATE; INSERT INTO store_meta (key, value) VALUES ('x', 'y')").unwrap();
    let (v, code): (serde_json::Value, i32) = env.json(&["status"]);
    assert_eq!(code, 0, "a monitoring check reads; nothing to expire needs no write lock: {v}");
    assert_eq!(v["requests"]["open"], 1, "{v}");
    holder.execute_batch("ROLLBACK").unwrap();
}
