//! Requests: deadlines, extensions, refusals, listing, expiry.

use serde_json::Value;

use crate::support::{self, stderr, Env};

#[test]
fn deadlines_are_one_calendar_month_at_every_month_end() {
    for (now, received, due) in [
        ("2026-02-02T09:00:00Z", "2026-01-31", "2026-02-28"),
        ("2028-02-02T09:00:00Z", "2028-01-31", "2028-02-29"),
        ("2026-04-02T09:00:00Z", "2026-03-31", "2026-04-30"),
        ("2026-12-31T09:00:00Z", "2026-12-31", "2027-01-31"),
        ("2026-08-31T09:00:00Z", "2026-08-31", "2026-09-30"),
    ] {
        let env = Env::with_fixture_at("virtio", now);
        let o = env.open("access", &["--email", "jan.devries@example.nl", "--received", received]);
        assert_eq!(o.due_on, due, "received {received}");
    }
}

#[test]
fn an_extension_is_one_or_two_months_with_a_reason_within_the_first_month() {
    let mut env = Env::with_fixture_at("virtio", "2026-01-31T09:00:00Z");
    let o = env.open("access", &["--email", "jan.devries@example.nl"]);
    assert_eq!(o.due_on, "2026-02-28");
    let out = env.run(&[
        "request",
        "extend",
        &o.request,
        "--months",
        "3",
        "--reason",
        "many requests",
        "--reason-nl",
        "veel verzoeken",
    ]);
    assert_eq!(out.status.code(), Some(2), "three months is too many");
    let out = env.run(&["request", "extend", &o.request, "--months", "1", "--reason", " "]);
    assert_eq!(out.status.code(), Some(2), "a reason is required");
    let (ext, code): (Value, i32) = env.json(&[
        "request",
        "extend",
        &o.request,
        "--months",
        "1",
        "--reason",
        "complex: data in three systems",
        "--reason-nl",
        "complex: gegevens in drie systemen",
    ]);
    assert_eq!(code, 0);
    assert_eq!(ext["request"]["extended_due_on"], "2026-03-31");
    assert_eq!(ext["request"]["extension_told_on"], "2026-01-31");
    assert!(ext["letter"].as_str().unwrap().contains("31 maart 2026"));
    let mails = env.messages(&o.request);
    assert!(mails
        .iter()
        .any(|m| m.body.contains("31 March 2026") && m.to == vec!["jan.devries@example.nl".to_owned()]));
    let (ext, _): (Value, i32) = env.json(&[
        "request",
        "extend",
        &o.request,
        "--months",
        "1",
        "--reason",
        "still waiting",
        "--reason-nl",
        "nog in afwachting",
    ]);
    assert_eq!(ext["request"]["extended_due_on"], "2026-04-30");
    let out = env.run(&["request", "extend", &o.request, "--months", "1", "--reason", "more", "--reason-nl", "meer"]);
    assert_eq!(out.status.code(), Some(9), "no more than two further months");
    support::assert_one_line_error(&out);
    // Past the first month, no extension can be decided.
    env.now = Some("2026-03-01T09:00:00Z".into());
    let other = env.open("access", &["--email", "sanne@bakkerwebdesign.example", "--received", "2026-01-15"]);
    let out =
        env.run(&["request", "extend", &other.request, "--months", "1", "--reason", "late", "--reason-nl", "laat"]);
    assert_eq!(out.status.code(), Some(9));
}

#[test]
fn the_same_reason_for_a_second_month_is_told_once() {
    let env = Env::with_fixture_at("virtio", "2026-01-31T09:00:00Z");
    let o = env.open("access", &["--email", "jan.devries@example.nl"]);
    let extend = || {
        env.json::<Value>(&[
            "request",
            "extend",
            &o.request,
            "--months",
            "1",
            "--reason",
            "complex",
            "--reason-nl",
            "complex",
        ])
    };
    extend();
    let (ext, code) = extend();
    assert_eq!(code, 0, "{ext}");
    assert_eq!(ext["request"]["extended_due_on"], "2026-04-30");
    let letter = ext["letter"].as_str().unwrap();
    assert!(letter.contains("Reden: complex") && letter.contains("Reason: complex"), "{letter}");
    assert_eq!(letter.matches("complex").count(), 2, "once in each language: {letter}");
}

#[test]
fn a_refusal_carries_reasons_and_the_complaint_route() {
    let env = Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
    let o = env.open("access", &["--email", "jan.devries@example.nl"]);
    let out = env.run(&["request", "reject", &o.request, "--reason", "excessive", "--note", ""]);
    assert_eq!(out.status.code(), Some(2));
    let (r, code): (Value, i32) = env.json(&[
        "request",
        "reject",
        &o.request,
        "--reason",
        "excessive",
        "--note",
        "Fourth identical request this month.",
        "--note-nl",
        "Vierde gelijke verzoek deze maand.",
    ]);
    assert_eq!(code, 0);
    assert_eq!(r["request"]["state"], "rejected");
    assert_eq!(r["request"]["rejection_reason"], "excessive");
    let letter = r["letter"].as_str().unwrap();
    for text in ["Autoriteit Persoonsgegevens", "Art. 12(5)", "Fourth identical request", "court", "rechter"] {
        assert!(letter.contains(text), "letter lacks {text}");
    }
    assert!(env.messages(&o.request).iter().any(|m| m.body.contains("Autoriteit Persoonsgegevens")));
    let out = env.run(&["access", &o.request]);
    assert_eq!(out.status.code(), Some(9), "a rejected request discloses nothing");
    assert!(out.stdout.is_empty());
    let out =
        env.run(&["request", "reject", &o.request, "--reason", "other", "--note", "again", "--note-nl", "opnieuw"]);
    assert_eq!(out.status.code(), Some(9));
}

#[test]
fn list_show_and_expiry() {
    let mut env = Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
    let a = env.open("access", &["--email", "jan.devries@example.nl"]);
    let b = env.open("access", &["--email", "nobody@example.nl"]);
    let code = env.code(&a.request);
    env.dsr().args(["verify", &a.request, &code]).assert().success();
    let (list, _): (Value, i32) = env.json(&["request", "list", "--open"]);
    let rows = list["requests"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r["days_left"] == 30 && r["overdue"] == false));
    // A month and a bit later: a is overdue (verified, not answered); b was never verified and expires.
    env.now = Some("2026-12-05T09:00:00Z".into());
    let (list, _): (Value, i32) = env.json(&["request", "list", "--overdue"]);
    let rows = list["requests"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["id"], a.request.as_str());
    assert_eq!(rows[0]["days_left"], -3);
    let (shown, _): (Value, i32) = env.json(&["request", "show", &b.request]);
    assert_eq!(shown["state"], "expired");
    let human = support::stdout(&env.run(&["request", "list"]));
    assert!(human.contains("OVERDUE") && human.contains(&a.request) && human.contains("expired"));
    let coloured = support::stdout(&env.run(&["--color", "always", "request", "list"]));
    assert!(coloured.contains("\x1b[31m"), "overdue in red when colour is on");
    let plain = support::stdout(&env.dsr().env("NO_COLOR", "1").args(["request", "list"]).output().unwrap());
    assert!(!plain.contains('\x1b'));
    let out = env.run(&["request", "show", "DSR-2026-0404"]);
    assert_eq!(out.status.code(), Some(17));
}

#[test]
fn tables_on_a_terminal_fit_its_width_and_colour_only_their_text() {
    let env = Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
    let o = env.open("access", &["--email", "jan.devries@example.nl", "--received", "2026-08-03"]);
    let strip = |l: &str| {
        l.split('\x1b')
            .enumerate()
            .map(|(i, p)| if i == 0 { p } else { p.split_once('m').map_or(p, |(_, rest)| rest) })
            .collect::<String>()
    };
    let wide = support::terminal(&env, 100, "--color always request list");
    assert!(wide.contains("\x1b[38;5;9m -60 OVERDUE"), "overdue in red: {wide:?}");
    let boxes: Vec<String> = wide.lines().filter(|l| l.starts_with(['┌', '│', '└'])).map(strip).collect();
    assert_eq!(boxes.len(), 4, "{wide}");
    let width = boxes[0].chars().count();
    assert!(boxes.iter().all(|l| l.chars().count() == width), "the colour's codes count as no width:\n{wide}");
    // Too narrow for the boxes without cutting words: a block per row, a line per column.
    let narrow = support::terminal(&env, 40, "request list");
    assert!(!narrow.contains('│'), "{narrow}");
    assert!(narrow.contains(&format!("Request:     {}", o.request)), "{narrow}");
    assert!(narrow.contains("Days left:   -60 OVERDUE"), "{narrow}");
}

#[test]
fn a_letter_logged_after_its_deadline_stays_open_and_overdue() {
    let mut env = Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
    let o = env.open("access", &["--email", "jan.devries@example.nl", "--received", "2026-08-03"]);
    assert_eq!(o.due_on, "2026-09-03");
    let (shown, _): (Value, i32) = env.json(&["request", "show", &o.request]);
    assert_eq!(shown["state"], "awaiting-verification", "not expired before the person could answer");
    let (list, _): (Value, i32) = env.json(&["request", "list", "--overdue"]);
    assert_eq!(list["requests"][0]["id"], o.request.as_str());
    // The person relays the code that afternoon: it is accepted and the request can be answered.
    env.now = Some("2026-11-02T15:00:00Z".into());
    let code = env.code(&o.request);
    env.dsr().args(["verify", &o.request, &code]).assert().success();
    env.dsr().args(["access", &o.request, "--json"]).assert().success();
    // A late letter never verified expires a month after it was opened.
    let late = env.open("access", &["--email", "sanne@bakkerwebdesign.example", "--received", "2026-08-03"]);
    env.now = Some("2026-12-10T09:00:00Z".into());
    let (shown, _): (Value, i32) = env.json(&["request", "show", &late.request]);
    assert_eq!(shown["state"], "expired");
}

#[test]
fn an_unverified_request_that_expires_gets_a_letter_on_how_to_identify() {
    let mut env = Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
    let known = env.open("erase", &["--email", "jan.devries@example.nl"]);
    let unknown = env.open("erase", &["--email", "nobody@example.nl"]);
    assert_eq!(env.messages(&known.request).len(), 1, "the code");
    env.now = Some("2026-12-05T09:00:00Z".into());
    let (list, code): (Value, i32) = env.json(&["request", "list"]);
    assert_eq!(code, 0);
    assert!(list["requests"].as_array().unwrap().iter().all(|r| r["state"] == "expired"), "{list}");
    let mails = env.messages(&known.request);
    assert_eq!(mails.len(), 2, "the code, then the expiry letter");
    let letter = &mails[1];
    assert_eq!(letter.to, vec!["jan.devries@example.nl".to_owned()]);
    assert_eq!(letter.code(), None);
    for text in
        ["closed without action", "Art. 11(2)", "identify yourself", "art. 11 lid 2", "Autoriteit Persoonsgegevens"]
    {
        assert!(letter.body.contains(text), "the expiry letter should say {text:?}:\n{}", letter.body);
    }
    // Once: a later command finds nothing new to expire and sends nothing more.
    env.dsr().args(["request", "list"]).assert().success();
    assert_eq!(env.messages(&known.request).len(), 2);
    // A request naming no one had only its negative confirmation; no one on file to tell.
    assert_eq!(env.messages(&unknown.request).len(), 1);
    let letters: Vec<String> = env
        .sql()
        .prepare("SELECT details FROM audit_log WHERE action = 'mail-sent' AND request_id = ?1")
        .unwrap()
        .query_map([&known.request], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(letters.iter().any(|d| d.contains("\"letter\":\"expired\"")), "{letters:?}");
}

/// A verified request's requester was identified: it cannot be refused for want of that. And a
/// date of receipt before the GDPR applied is a typo, refused.
#[test]
fn a_verified_request_is_not_refused_for_identity_and_an_old_receipt_date_is_refused() {
    let env = Env::with_fixture("virtio");
    let id = env.verified("export", &["--email", "jan.devries@example.nl"]);
    let out = env.run(&[
        "request",
        "reject",
        &id,
        "--reason",
        "identity-not-confirmed",
        "--note",
        "No code",
        "--note-nl",
        "Geen code",
    ]);
    assert_eq!(out.status.code(), Some(9), "{}", stderr(&out));
    assert!(stderr(&out).contains("identity was confirmed"), "{}", stderr(&out));
    for day in ["0026-04-06", "2018-05-24"] {
        let out = env.run(&["access", "--email", "x1@example.nl", "--received", day]);
        assert_eq!(out.status.code(), Some(2), "{day}: {}", stderr(&out));
        assert!(stderr(&out).contains("2018-05-25"), "{}", stderr(&out));
    }
    let out = env.run(&["access", "--email", "x1@example.nl", "--received", "2018-05-25"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// A coded reason reads in both languages as dsr words it; a Dutch text beside it is refused.
#[test]
fn a_coded_reason_with_a_dutch_text_beside_it_is_refused() {
    let env = Env::with_fixture("virtio");
    let id = env.open("access", &["--email", "jan.devries@example.nl"]).request;
    let out =
        env.run(&["request", "extend", &id, "--months", "1", "--reason", "complexity", "--reason-nl", "Drie accounts"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--reason-nl"), "{}", stderr(&out));
    let out = env.run(&["request", "extend", &id, "--months", "1", "--reason", "complexity"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// The letter that came first is found after the request was opened by email: given again with
/// the earlier date of receipt, the open request takes it, its channel and a deadline a month
/// from it (Art. 12(3)); a later date leaves it. Audited with both dates; the chain verifies.
#[test]
fn an_earlier_date_of_receipt_for_an_open_request_moves_its_deadline() {
    let env = Env::with_fixture_at("virtio", "2026-12-07T10:00:00Z");
    let o = env.open("access", &["--email", "gijs.vanderlinden@example.com"]);
    let (v, code): (serde_json::Value, i32) = env.json(&[
        "access",
        "--email",
        "gijs.vanderlinden@example.com",
        "--received",
        "2026-11-20",
        "--channel",
        "letter",
    ]);
    assert_eq!(code, 0, "{v}");
    assert_eq!((v["request"].as_str(), v["new"].as_bool()), (Some(o.request.as_str()), Some(false)), "{v}");
    assert_eq!((v["received_on"].as_str(), v["due_on"].as_str()), (Some("2026-11-20"), Some("2026-12-20")), "{v}");
    let (shown, _): (serde_json::Value, i32) = env.json(&["request", "show", &o.request]);
    assert_eq!(shown["channel"], "letter", "{shown}");
    // A later date: the first receipt counts.
    let (v, _): (serde_json::Value, i32) =
        env.json(&["access", "--email", "gijs.vanderlinden@example.com", "--received", "2026-11-25"]);
    assert_eq!((v["received_on"].as_str(), v["due_on"].as_str()), (Some("2026-11-20"), Some("2026-12-20")), "{v}");
    assert_eq!(env.count("SELECT count(*) FROM audit_log WHERE action = 'request-received-earlier'"), 1);
    env.dsr().args(["audit", "verify"]).assert().success();
}
