//! The verification parameters of design.md §4 hold.

use crate::support::{self, wrong_code, Env};

fn verify(env: &Env, request: &str, code: &str) -> std::process::Output {
    env.run(&["verify", request, code])
}

#[test]
fn five_wrong_tries_burn_a_code() {
    let env = Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
    let o = env.open("access", &["--email", "jan.devries@example.nl"]);
    let code = env.code(&o.request);
    for i in 1..=5 {
        let out = verify(&env, &o.request, &wrong_code(&code));
        assert_eq!(out.status.code(), Some(6), "try {i}");
        support::assert_one_line_error(&out);
    }
    let out = verify(&env, &o.request, &code);
    assert_eq!(out.status.code(), Some(6), "the right code no longer works once burned");
    assert!(support::stderr(&out).contains(&format!("`dsr verify --resend {}`", o.request)));
    let state: String =
        env.sql().query_row("SELECT state FROM request WHERE id = ?1", [&o.request], |r| r.get(0)).unwrap();
    assert_eq!(state, "awaiting-verification");
}

#[test]
fn a_used_code_is_refused() {
    let env = Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
    let o = env.open("access", &["--email", "jan.devries@example.nl"]);
    let code = env.code(&o.request);
    assert_eq!(verify(&env, &o.request, &code).status.code(), Some(0));
    let out = verify(&env, &o.request, &code);
    assert_eq!(out.status.code(), Some(6));
    support::assert_one_line_error(&out);
}

#[test]
fn an_expired_code_is_refused() {
    let mut env = Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
    let o = env.open("access", &["--email", "jan.devries@example.nl"]);
    let code = env.code(&o.request);
    env.now = Some("2026-11-03T09:00:01Z".into());
    let out = verify(&env, &o.request, &code);
    assert_eq!(out.status.code(), Some(6));
    // The hint is a command that runs as written.
    assert!(
        support::stderr(&out).contains(&format!("expired; send a new one with `dsr verify --resend {}`", o.request))
    );
    // Just inside the lifetime it would have worked: a new code, checked 23h59m later.
    env.dsr().args(["verify", "--resend", &o.request]).assert().success();
    let fresh = env.code(&o.request);
    env.now = Some("2026-11-04T09:00:00Z".into());
    assert_eq!(verify(&env, &o.request, &fresh).status.code(), Some(0));
}

#[test]
fn a_shorter_lifetime_can_be_configured_but_not_a_longer_one() {
    let env = Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
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
    let env = Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
    let a = env.open("access", &["--email", "jan.devries@example.nl"]);
    let b = env.open("access", &["--email", "sanne@bakkerwebdesign.example"]);
    assert_ne!(a.request, b.request);
    let code_b = env.code(&b.request);
    assert_eq!(verify(&env, &a.request, &code_b).status.code(), Some(6));
    assert_eq!(verify(&env, &b.request, &code_b).status.code(), Some(0));
}

#[test]
fn a_new_code_voids_the_older_one() {
    let env = Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
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
    let env = Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
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
    // The list, and a request opened now, name the unlock as the next step, not the code.
    let unlock = format!("verification locked after failed codes: dsr verify --unlock {} --reason TEXT", o.request);
    let list = support::stdout(&env.run(&["request", "list"]));
    assert!(list.lines().any(|l| l.starts_with(&o.request) && l.contains(&unlock)), "{list}");
    let out = env.run(&["--json", "export", "--email", "jan.devries@example.nl"]);
    assert_eq!(out.status.code(), Some(7), "{}", support::stderr(&out));
    let opened: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(opened["next"], format!("dsr verify --unlock {} --reason TEXT", opened["request"].as_str().unwrap()));
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
    // The reason is shown with the entry; the chain itself holds only a keyed hash of it.
    let (log, _): (serde_json::Value, i32) = env.json(&["audit", "log", "--request", &o.request]);
    let unlocked: Vec<&serde_json::Value> =
        log["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "verification-unlocked").collect();
    assert_eq!(unlocked.len(), 1);
    assert_eq!(unlocked[0]["details"]["reason"], "called the customer back on the number on file");
}

#[test]
fn issuing_a_new_code_does_not_reset_the_failure_count() {
    let env = Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
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
    let mut env = Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
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
    let env = Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
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
    let env = Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
    let o = env.open("access", &["--email", "jan.devries@example.nl"]);
    let out = env.run(&["verify", &o.request]);
    assert_eq!(out.status.code(), Some(2));
    support::assert_one_line_error(&out);
    let out = env.run(&["verify", "DSR-2026-9999", "ABCD-EFGH"]);
    assert_eq!(out.status.code(), Some(17), "unknown request");
    let out = env.run(&["verify", "not-a-request", "ABCD-EFGH"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_code_approves_only_the_details_it_was_sent_for() {
    let env = Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
    let first = env.open("rectify", &["--email", "jan.devries@example.nl", "--set", "city=Utrecht"]);
    let old = env.code(&first.request);
    let mails = env.messages(&first.request);
    assert!(mails[0].body.contains("city becomes: Utrecht") && mails[0].body.contains("woonplaats wordt: Utrecht"));
    // Someone amends the open request: the code mailed for city=Utrecht must not approve this.
    let again = env.open("rectify", &["--email", "jan.devries@example.nl", "--set", "email=evil@example.com"]);
    assert_eq!((again.request.as_str(), again.new), (first.request.as_str(), false));
    let mails = env.messages(&first.request);
    assert_eq!(mails.len(), 2, "a new code for the new details");
    let latest = mails.last().unwrap();
    assert_eq!(latest.to, vec!["jan.devries@example.nl".to_owned()], "to the address on file");
    assert!(latest.body.contains("email becomes: evil@example.com"), "{}", latest.body);
    assert!(latest.body.contains("correction of your personal data"), "names the right");
    assert!(!latest.body.contains("Utrecht"));
    let out = verify(&env, &first.request, &old);
    assert_eq!(out.status.code(), Some(6), "the old code is void");
    support::assert_one_line_error(&out);
    let fresh = env.code(&first.request);
    assert_eq!(verify(&env, &first.request, &fresh).status.code(), Some(0));
    // Verified: its details no longer change.
    let out = env.run(&["rectify", "--email", "jan.devries@example.nl", "--set", "city=Amsterdam"]);
    assert_eq!(out.status.code(), Some(9));
    let params: String =
        env.sql().query_row("SELECT params FROM request WHERE id = ?1", [&first.request], |r| r.get(0)).unwrap();
    assert!(params.contains("evil@example.com") && !params.contains("Amsterdam"), "{params}");
    // The officer's acknowledgement of an amendment is the same whether or not the person is known.
    let k = env.open("object", &["--email", "sanne@bakkerwebdesign.example", "--purpose", "newsletter"]);
    let u = env.open("object", &["--email", "nobody@example.nl", "--purpose", "newsletter"]);
    let k2 = env.open("object", &["--email", "sanne@bakkerwebdesign.example", "--purpose", "analytics"]);
    let u2 = env.open("object", &["--email", "nobody@example.nl", "--purpose", "analytics"]);
    assert_eq!(k2.message.replace(&k.request, "ID"), u2.message.replace(&u.request, "ID"));
    assert!(k2.message.contains("earlier code no longer works"), "{}", k2.message);
}

#[test]
fn a_person_without_a_code_is_verified_by_a_recorded_method() {
    let env = Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
    let o = env.open("access", &["--cookie", "vt_3f9c2a7e81d04b6c"]);
    assert!(env.messages(&o.request).is_empty(), "a cookie-only visitor cannot receive a code");
    // The officer's list says so, and how to go on, instead of waiting for a code never sent.
    let (list, _): (serde_json::Value, i32) = env.json(&["request", "list", "--open"]);
    let next = list["requests"]
        .as_array()
        .and_then(|l| l.iter().find(|r| r["id"] == o.request.as_str()))
        .map(|r| r["next_action"].clone());
    let next = next.unwrap_or_else(|| panic!("{list}"));
    assert!(next.as_str().unwrap().starts_with("no address on file to send a code to"), "{next}");
    for (args, code) in [
        (vec!["--method", "in-person", "--ref", "visit 12 Nov, desk 2"], 2),
        (vec!["--method", "In Person!", "--ref", "visit", "--reason", "no address"], 2),
        (vec!["--method", "email-code", "--ref", "visit", "--reason", "no address"], 2),
        (vec!["--method", "in-person", "--ref", "", "--reason", "no address"], 2),
    ] {
        let mut argv = vec!["verify", o.request.as_str()];
        argv.extend(args.iter().copied());
        let out = env.run(&argv);
        assert_eq!(out.status.code(), Some(code), "{argv:?}");
    }
    let out = env
        .dsr()
        .env("DSR_ACTOR", "officer.kim")
        .args(["--json", "verify", &o.request, "--method", "in-person", "--ref", "visit 12 Nov, desk 2"])
        .args(["--reason", "cookie-only visitor showed the consent screen on their own device"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
    let (shown, _): (serde_json::Value, i32) = env.json(&["request", "show", &o.request]);
    assert_eq!(shown["state"], "verified");
    assert_eq!(shown["verification_method"], "in-person");
    // No address to mail the answer to: the next action is an archive handed over, not --send.
    let next = shown["next_action"].as_str().unwrap_or_else(|| panic!("{shown}"));
    assert!(
        next.contains("--archive FILE") && next.contains("request delivered") && !next.contains("--send"),
        "{next}"
    );
    let entry = shown["timeline"].as_array().unwrap().iter().find(|e| e["action"] == "request-verified").unwrap();
    assert_eq!(entry["actor"], "officer.kim");
    assert_eq!(entry["details"]["method"], "in-person");
    assert_eq!(entry["details"]["alternative"], true);
    assert_eq!(entry["details"]["reference"], "visit 12 Nov, desk 2");
    env.dsr().args(["--json", "access", &o.request]).assert().success();
    // A request naming no one has no one to verify.
    let nobody = env.open("access", &["--cookie", "vt_0000000000000000"]);
    let out =
        env.run(&["verify", &nobody.request, "--method", "in-person", "--ref", "visit", "--reason", "no address"]);
    assert_eq!(out.status.code(), Some(9));
    support::assert_one_line_error(&out);
}

#[test]
fn time_only_goes_forward_and_an_expired_code_stays_expired() {
    let mut env = Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
    let o = env.open("access", &["--email", "jan.devries@example.nl"]);
    let code = env.code(&o.request);
    env.now = Some("2026-11-03T09:00:01Z".into());
    assert_eq!(verify(&env, &o.request, &code).status.code(), Some(6), "expired");
    // The clock is set back inside the code's lifetime: refused, nothing recorded, still expired.
    env.now = Some("2026-11-02T10:00:00Z".into());
    let out = verify(&env, &o.request, &code);
    assert_eq!(out.status.code(), Some(2));
    support::assert_one_line_error(&out);
    assert!(support::stderr(&out).contains("before the last audit entry"), "{}", support::stderr(&out));
    let out = env.run(&["access", "--email", "sanne@bakkerwebdesign.example"]);
    assert_eq!(out.status.code(), Some(2), "no entry dated before its predecessor");
    env.now = Some("2026-11-03T10:00:00Z".into());
    let out = verify(&env, &o.request, &code);
    assert_eq!(out.status.code(), Some(6));
    assert!(support::stderr(&out).contains("expired"));
    let (state, expired): (String, Option<String>) = env
        .sql()
        .query_row(
            "SELECT r.state, c.expired_at FROM request r JOIN challenge c ON c.request_id = r.id WHERE r.id = ?1",
            [&o.request],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((state.as_str(), expired.as_deref()), ("awaiting-verification", Some("2026-11-03T09:00:01Z")));
    let (v, code): (serde_json::Value, i32) = env.json(&["audit", "verify"]);
    assert_eq!((v["ok"].as_bool(), code), (Some(true), 0));
}

#[test]
fn an_amendment_at_the_send_limit_still_voids_the_code() {
    let env = Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
    let mut acks = Vec::new();
    for who in ["jan.devries@example.nl", "nobody@example.nl"] {
        let o = env.open("rectify", &["--email", who, "--set", "city=Utrecht"]);
        for _ in 0..2 {
            env.dsr().args(["verify", "--resend", &o.request]).assert().success();
        }
        let old = (who == "jan.devries@example.nl").then(|| env.code(&o.request));
        // Recorded, and exit 8: no code went out (for known and unknown people alike).
        let (again, code): (support::Opened, i32) = env.json(&["rectify", "--email", who, "--set", "city=Zwolle"]);
        assert_eq!(code, 8, "{}", again.message);
        assert!(again.message.contains("earlier code no longer works") && again.message.contains("--resend"));
        if let Some(old) = old {
            assert_eq!(env.messages(&o.request).len(), 3, "no fourth code within the hour");
            assert_eq!(verify(&env, &o.request, &old).status.code(), Some(6), "the old code is void all the same");
        }
        acks.push(again.message.replace(&o.request, "ID"));
    }
    assert_eq!(acks[0], acks[1], "the same for known and unknown people");
}

/// The code letter of a restriction says its ground and data in words, in each language.
#[test]
fn a_restrictions_code_letter_says_its_ground_and_data_in_words() {
    let env = Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
    let o =
        env.open("restrict", &["--email", "jan.devries@example.nl", "--ground", "legal-claims", "--category", "email"]);
    let body = &env.messages(&o.request)[0].body;
    assert!(
        body.contains(
            "grond: je hebt de gegevens nodig voor een rechtsvordering (art. 18 lid 1 c); gegevens: E-mailadressen"
        ),
        "{body}"
    );
    assert!(
        body.contains("ground: you need the data for legal claims (Art. 18(1)(c)); data: Email addresses"),
        "{body}"
    );
}

/// A request received while the person's code limit is reached is recorded all the same (its
/// month runs from receipt, Art. 12(3)); no code goes out, the officer is told (exit 8) and sends
/// one later.
#[test]
fn a_request_over_the_code_limit_is_recorded_without_a_code() {
    let mut env = Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
    for right in ["access", "export", "erase"] {
        env.open(right, &["--email", "jan.devries@example.nl"]);
    }
    let out = env.run(&["--json", "rectify", "--email", "jan.devries@example.nl", "--set", "city=Delft"]);
    assert_eq!(out.status.code(), Some(8), "{}", support::stderr(&out));
    let opened: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = opened["request"].as_str().expect("the request was opened").to_owned();
    assert!(opened["message"].as_str().unwrap().contains("opened; no code sent: 3 codes were sent"), "{opened}");
    assert_eq!(opened["next"], format!("dsr verify --resend {id}"));
    assert_eq!(env.messages(&id).len(), 0, "no code mailed");
    assert_eq!(env.count(&format!("SELECT count(*) FROM request WHERE id = '{id}' AND received_on = '2026-11-02'")), 1);
    // The officer's list says no code went out, and how to send one (not "waiting for the code").
    let list = support::stdout(&env.run(&["request", "list"]));
    let line = list.lines().find(|l| l.starts_with(&id)).unwrap_or_else(|| panic!("{list}"));
    assert!(line.contains(&format!("no code sent yet: dsr verify --resend {id}")), "{line}");
    env.now = Some("2026-11-02T10:00:30Z".into());
    env.dsr().args(["verify", "--resend", &id]).assert().success();
    let code = env.code(&id);
    env.dsr().args(["verify", &id, &code]).assert().success();
}

/// A request whose details are replaced while the code limit is reached: the earlier code is
/// void and none went out, so the next step is a resend, in the answer and in the list.
#[test]
fn details_replaced_at_the_code_limit_say_to_resend() {
    let env = Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
    let mut id = String::new();
    for city in ["Delft", "Gouda", "Breda", "Assen"] {
        let out =
            env.run(&["--json", "rectify", "--email", "jan.devries@example.nl", "--set", &format!("city={city}")]);
        let opened: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        id = opened["request"].as_str().unwrap().to_owned();
        let sent = city != "Assen";
        let next = if sent { format!("dsr verify {id}") } else { format!("dsr verify --resend {id}") };
        assert_eq!(opened["next"], next, "{city}: {opened}");
    }
    let list = support::stdout(&env.run(&["request", "list"]));
    let line = list.lines().find(|l| l.starts_with(&id)).unwrap_or_else(|| panic!("{list}"));
    assert!(line.contains(&format!("no code sent yet: dsr verify --resend {id}")), "{line}");
}

/// A request opened at the send limit has no code; opened again unchanged, its `next` still says
/// to send one (`--resend`), not to enter one.
#[test]
fn a_request_reopened_without_its_code_says_resend_next() {
    let env = Env::with_fixture("virtio");
    let o = env.open("access", &["--email", "jan.devries@example.nl"]);
    for _ in 0..3 {
        let _ = env.run(&["verify", "--resend", &o.request]);
    }
    let out = env.run(&["export", "--email", "jan.devries@example.nl"]);
    assert_eq!(out.status.code(), Some(8), "{}", crate::support::stderr(&out));
    let (v, code): (serde_json::Value, i32) = env.json(&["export", "--email", "jan.devries@example.nl"]);
    assert_eq!(v["new"], false, "{v}");
    let id = v["request"].as_str().unwrap();
    assert_eq!(v["next"], format!("dsr verify --resend {id}"), "{v} ({code})");
}

/// A code from an older mail (a resend replaced it) is refused as wrong, and the refusal says a
/// newer code replaced it, so the person looks for the newest mail.
#[test]
fn a_replaced_code_is_refused_saying_a_newer_one_replaced_it() {
    let env = Env::with_fixture("virtio");
    let o = env.open("access", &["--email", "jan.devries@example.nl"]);
    let old = env.code(&o.request);
    env.dsr().args(["verify", "--resend", &o.request]).assert().success();
    let out = env.run(&["verify", &o.request, &old]);
    assert_eq!(out.status.code(), Some(6), "{}", support::stderr(&out));
    support::assert_one_line_error(&out);
    assert!(support::stderr(&out).contains("a newer code replaced an earlier one"), "{}", support::stderr(&out));
    // Before any replacement, a wrong code says nothing of it.
    let o = env.open("access", &["--email", "lotte.jansen@example.org"]);
    let out = env.run(&["verify", &o.request, "AAAA-AAAA"]);
    assert_eq!(out.status.code(), Some(6));
    assert!(!support::stderr(&out).contains("replaced"), "{}", support::stderr(&out));
}
