//! The verification parameters of design.md §4 hold.

use crate::support::{self, wrong_code, Env};

fn env_at(now: &str) -> Env {
    let mut env = Env::with_fixture("virtio");
    env.now = Some(now.into());
    env
}

fn verify(env: &Env, request: &str, code: &str) -> std::process::Output {
    env.run(&["verify", request, code])
}

#[test]
fn five_wrong_tries_burn_a_code() {
    let env = env_at("2026-11-02T09:00:00Z");
    let o = env.open("access", &["--email", "jan.devries@example.nl"]);
    let code = env.code(&o.request);
    for i in 1..=5 {
        let out = verify(&env, &o.request, &wrong_code(&code));
        assert_eq!(out.status.code(), Some(6), "try {i}");
        support::assert_one_line_error(&out);
    }
    let out = verify(&env, &o.request, &code);
    assert_eq!(out.status.code(), Some(6), "the right code no longer works once burned");
    assert!(support::stderr(&out).contains("resend"));
    let state: String =
        env.sql().query_row("SELECT state FROM request WHERE id = ?1", [&o.request], |r| r.get(0)).unwrap();
    assert_eq!(state, "awaiting-verification");
}

#[test]
fn a_used_code_is_refused() {
    let env = env_at("2026-11-02T09:00:00Z");
    let o = env.open("access", &["--email", "jan.devries@example.nl"]);
    let code = env.code(&o.request);
    assert_eq!(verify(&env, &o.request, &code).status.code(), Some(0));
    let out = verify(&env, &o.request, &code);
    assert_eq!(out.status.code(), Some(6));
    support::assert_one_line_error(&out);
}

#[test]
fn an_expired_code_is_refused() {
    let mut env = env_at("2026-11-02T09:00:00Z");
    let o = env.open("access", &["--email", "jan.devries@example.nl"]);
    let code = env.code(&o.request);
    env.now = Some("2026-11-03T09:00:01Z".into());
    let out = verify(&env, &o.request, &code);
    assert_eq!(out.status.code(), Some(6));
    assert!(support::stderr(&out).contains("expired"));
    // Just inside the lifetime it would have worked: a new code, checked 23h59m later.
    env.dsr().args(["verify", "--resend", &o.request]).assert().success();
    let fresh = env.code(&o.request);
    env.now = Some("2026-11-04T09:00:00Z".into());
    assert_eq!(verify(&env, &o.request, &fresh).status.code(), Some(0));
}

#[test]
fn a_shorter_lifetime_can_be_configured_but_not_a_longer_one() {
    let env = env_at("2026-11-02T09:00:00Z");
    let out = env
        .dsr()
        .env("DSR_CODE_LIFETIME_MINUTES", "2000")
        .args(["access", "--email", "jan.devries@example.nl"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = env
        .dsr()
        .env("DSR_CODE_LIFETIME_MINUTES", "15")
        .args(["--json", "access", "--email", "jan.devries@example.nl"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let expires: String = env.sql().query_row("SELECT expires_at FROM challenge", [], |r| r.get(0)).unwrap();
    assert_eq!(expires, "2026-11-02T09:15:00Z");
}

#[test]
fn a_code_from_another_request_is_refused() {
    let env = env_at("2026-11-02T09:00:00Z");
    let a = env.open("access", &["--email", "jan.devries@example.nl"]);
    let b = env.open("access", &["--email", "sanne@bakkerwebdesign.example"]);
    assert_ne!(a.request, b.request);
    let code_b = env.code(&b.request);
    assert_eq!(verify(&env, &a.request, &code_b).status.code(), Some(6));
    assert_eq!(verify(&env, &b.request, &code_b).status.code(), Some(0));
}

#[test]
fn a_new_code_voids_the_older_one() {
    let env = env_at("2026-11-02T09:00:00Z");
    let o = env.open("access", &["--email", "jan.devries@example.nl"]);
    let old = env.code(&o.request);
    env.dsr().args(["verify", "--resend", &o.request]).assert().success();
    let new = env.code(&o.request);
    assert_ne!(old, new);
    assert_eq!(verify(&env, &o.request, &old).status.code(), Some(6));
    assert_eq!(verify(&env, &o.request, &new).status.code(), Some(0));
}

#[test]
fn ten_consecutive_failures_lock_the_person_until_an_officer_unlocks() {
    let env = env_at("2026-11-02T09:00:00Z");
    let o = env.open("access", &["--email", "jan.devries@example.nl"]);
    let code = env.code(&o.request);
    for i in 1..=9 {
        assert_eq!(verify(&env, &o.request, &wrong_code(&code)).status.code(), Some(6), "failure {i}");
    }
    let out = verify(&env, &o.request, &wrong_code(&code));
    assert_eq!(out.status.code(), Some(7), "the tenth failure locks");
    support::assert_one_line_error(&out);
    assert!(support::stderr(&out).contains("--unlock"));
    // Locked: no code is accepted and none can be sent, even for another right.
    assert_eq!(verify(&env, &o.request, &code).status.code(), Some(7));
    let against_lock: i64 = env
        .sql()
        .query_row(
            "SELECT count(*) FROM audit_log WHERE action = 'code-tried' AND details LIKE ?1",
            ["%\"result\":\"locked\"%"],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(against_lock, 1, "a try against the lock is recorded");
    assert_eq!(env.run(&["verify", "--resend", &o.request]).status.code(), Some(7));
    // A new code does not reset the count: only the unlock does.
    let out = env.run(&["verify", "--unlock", &o.request, "--reason", ""]);
    assert_eq!(out.status.code(), Some(2), "a reason is required");
    env.dsr()
        .args(["verify", "--unlock", &o.request, "--reason", "called the customer back on the number on file"])
        .assert()
        .success();
    env.dsr().args(["verify", "--resend", &o.request]).assert().success();
    let fresh = env.code(&o.request);
    assert_eq!(verify(&env, &o.request, &fresh).status.code(), Some(0));
    let reasons: i64 = env.sql().query_row("SELECT count(*) FROM audit_log WHERE action = 'verification-unlocked' AND details LIKE '%called the customer back%'", [], |r| r.get(0)).unwrap();
    assert_eq!(reasons, 1);
}

#[test]
fn issuing_a_new_code_does_not_reset_the_failure_count() {
    let env = env_at("2026-11-02T09:00:00Z");
    let o = env.open("access", &["--email", "jan.devries@example.nl"]);
    let code = env.code(&o.request);
    for _ in 0..5 {
        verify(&env, &o.request, &wrong_code(&code));
    }
    env.dsr().args(["verify", "--resend", &o.request]).assert().success();
    let code = env.code(&o.request);
    for _ in 0..4 {
        assert_eq!(verify(&env, &o.request, &wrong_code(&code)).status.code(), Some(6));
    }
    assert_eq!(verify(&env, &o.request, &wrong_code(&code)).status.code(), Some(7));
}

#[test]
fn at_most_three_codes_an_hour_and_five_a_day() {
    let mut env = env_at("2026-11-02T09:00:00Z");
    let o = env.open("access", &["--email", "jan.devries@example.nl"]);
    env.dsr().args(["verify", "--resend", &o.request]).assert().success();
    env.dsr().args(["verify", "--resend", &o.request]).assert().success();
    let out = env.run(&["verify", "--resend", &o.request]);
    assert_eq!(out.status.code(), Some(8), "fourth code within the hour");
    support::assert_one_line_error(&out);
    env.now = Some("2026-11-02T10:00:30Z".into());
    env.dsr().args(["verify", "--resend", &o.request]).assert().success();
    env.now = Some("2026-11-02T11:00:45Z".into());
    env.dsr().args(["verify", "--resend", &o.request]).assert().success();
    env.now = Some("2026-11-02T12:01:00Z".into());
    assert_eq!(env.run(&["verify", "--resend", &o.request]).status.code(), Some(8), "sixth code within the day");
    // The limit is per person: another person still gets a code.
    env.open("access", &["--email", "sanne@bakkerwebdesign.example"]);
    env.now = Some("2026-11-03T09:00:31Z".into());
    env.dsr().args(["verify", "--resend", &o.request]).assert().success();
    assert_eq!(env.messages(&o.request).len(), 6);
}

#[test]
fn no_plaintext_code_anywhere_in_the_store_or_its_output() {
    let env = env_at("2026-11-02T09:00:00Z");
    let opened = env.run(&["access", "--email", "jan.devries@example.nl"]);
    let request: String = env.sql().query_row("SELECT id FROM request", [], |r| r.get(0)).unwrap();
    let code = env.code(&request);
    let compact = code.replace('-', "");
    for text in [support::stdout(&opened), support::stderr(&opened)] {
        assert!(!text.contains(&code) && !text.contains(&compact), "dsr printed the code");
    }
    let verified = env.run(&["verify", &request, &code]);
    assert!(!support::stdout(&verified).contains(&compact) && !support::stderr(&verified).contains(&compact));
    for suffix in ["", "-wal"] {
        let mut path = env.db.clone().into_os_string();
        path.push(suffix);
        if let Ok(bytes) = std::fs::read(&path) {
            for needle in [code.as_bytes(), compact.as_bytes(), compact.to_lowercase().as_bytes()] {
                assert!(!bytes.windows(needle.len()).any(|w| w == needle), "code found in {path:?}");
            }
        }
    }
    let log = support::stdout(&env.run(&["--json", "audit", "log"]));
    assert!(!log.contains(&compact));
}

#[test]
fn verify_without_a_code_refuses_to_prompt_off_a_terminal() {
    let env = env_at("2026-11-02T09:00:00Z");
    let o = env.open("access", &["--email", "jan.devries@example.nl"]);
    let out = env.run(&["verify", &o.request]);
    assert_eq!(out.status.code(), Some(2));
    support::assert_one_line_error(&out);
    let out = env.run(&["verify", "DSR-2026-9999", "ABCD-EFGH"]);
    assert_eq!(out.status.code(), Some(17), "unknown request");
    let out = env.run(&["verify", "not-a-request", "ABCD-EFGH"]);
    assert_eq!(out.status.code(), Some(2));
}
