//! `dsr intake` (issue 17, docs/intake.md): the corpus of real-shaped messages in
//! tests/data/mail, each with its expected outcome; replies that verify by their code; the same
//! corpus read twice; mbox and Maildir; what waits for the officer.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::support::{self, wrong_code, Env};

const NOW: &str = "2026-12-01T10:00:00Z";

#[derive(Debug, Deserialize)]
struct Run {
    messages: Vec<Taken>,
    not_read: Vec<serde_json::Value>,
    summary: Summary,
}

#[derive(Debug, Deserialize)]
struct Taken {
    origin: String,
    outcome: Option<String>,
    seen: Option<String>,
    request: Option<String>,
    right: Option<String>,
    received_on: Option<String>,
    reason: Option<String>,
    message: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct Summary {
    read: usize,
    opened: usize,
    seen_before: usize,
}

#[derive(Debug, Deserialize)]
struct Expected {
    file: String,
    outcome: String,
    right: String,
    setup: String,
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mail")
}

fn expected() -> Vec<Expected> {
    let mut rows: Vec<Expected> =
        csv::Reader::from_path(corpus().join("expected.csv")).unwrap().deserialize().map(|r| r.unwrap()).collect();
    rows.sort_by(|a, b| a.file.cmp(&b.file));
    rows
}

fn intake(env: &Env, files: &[&Path]) -> (Run, i32) {
    let mut args = vec!["intake".to_owned()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    env.json(&args)
}

/// The message as the test reads it: a reply's placeholders filled with the request the test
/// opened for it, and a 50 MB attachment where the corpus marks one.
fn prepare(env: &Env, row: &Expected) -> (PathBuf, Option<String>) {
    let raw = std::fs::read(corpus().join(&row.file)).unwrap();
    let mut request = None;
    let mut bytes = raw.clone();
    if !row.setup.is_empty() {
        let (right, address) = row.setup.split_once(':').expect("RIGHT:ADDRESS");
        let o = env.open(right, &["--email", address]);
        let code = env.code(&o.request);
        let text = String::from_utf8_lossy(&raw)
            .replace("{{REQUEST}}", &o.request)
            .replace("{{CODE}}", &code)
            .replace("{{code}}", &code.replace('-', "").to_lowercase())
            .replace("{{WRONG}}", &wrong_code(&code));
        bytes = text.into_bytes();
        request = Some(o.request);
    }
    if let Some(at) = find(&bytes, b"{{BIG_ATTACHMENT}}") {
        let line = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n";
        let big = line.repeat(50 * 1024 * 1024 / line.len());
        bytes.splice(at..at + b"{{BIG_ATTACHMENT}}".len(), big.into_bytes());
    }
    let path = env.path(&row.file);
    std::fs::write(&path, bytes).unwrap();
    (path, request)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn the_corpus_gives_each_message_its_outcome_and_a_second_reading_opens_nothing() {
    let env = Env::with_fixture_at("virtio", NOW);
    let rows = expected();
    assert!(rows.len() >= 40, "the corpus has at least 40 messages");
    let mut paths = Vec::new();
    for row in &rows {
        let (path, request) = prepare(&env, row);
        let (run, code) = intake(&env, &[&path]);
        assert_eq!(code, 0, "{}", row.file);
        let [t] = run.messages.as_slice() else { panic!("{}: one message, read {:?}", row.file, run) };
        assert_eq!(t.outcome.as_deref(), Some(row.outcome.as_str()), "{}: {:?}", row.file, t);
        if row.outcome == "opened" {
            assert_eq!(t.right.as_deref(), Some(row.right.as_str()), "{}", row.file);
            assert!(t.request.is_some() && t.received_on.is_some(), "{}", row.file);
        }
        if let Some(r) = request {
            assert_eq!(t.request.as_deref(), Some(r.as_str()), "{}: the reply is about its request", row.file);
            let state: String =
                env.sql().query_row("SELECT state FROM request WHERE id = ?1", [&r], |x| x.get(0)).unwrap();
            let verified = row.outcome == "verified";
            assert_eq!(state == "verified", verified, "{}: request {r} is {state}", row.file);
        }
        if row.outcome != "opened" && row.outcome != "verified" {
            assert!(t.reason.as_deref().is_some_and(|r| !r.is_empty()), "{}: a reason is given", row.file);
        }
        paths.push(path);
    }
    // Read again, all at once: every message was read before, nothing new is opened or sent.
    let requests = env.count("SELECT count(*) FROM request");
    let letters = std::fs::read_dir(env.outbox()).unwrap().count();
    let tries = env.count("SELECT coalesce(sum(failed_tries), 0) FROM challenge");
    let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let (again, code) = intake(&env, &refs);
    assert_eq!(code, 0);
    assert_eq!(again.summary.read, rows.len());
    assert_eq!(
        again.summary.seen_before,
        rows.len(),
        "{:?}",
        again.messages.iter().filter(|m| m.seen.is_none()).collect::<Vec<_>>()
    );
    assert_eq!(env.count("SELECT count(*) FROM request"), requests);
    assert_eq!(std::fs::read_dir(env.outbox()).unwrap().count(), letters);
    assert_eq!(
        env.count("SELECT coalesce(sum(failed_tries), 0) FROM challenge"),
        tries,
        "a wrong code read again is not a second try"
    );
    // Every message is accounted for: acted on, or waiting for the officer with its text.
    let recorded = env.count("SELECT count(*) FROM intake_message");
    assert_eq!(recorded as usize, rows.len());
    assert_eq!(
        env.count("SELECT count(*) FROM intake_message WHERE outcome IN ('needs-review', 'listed') AND excerpt IS NULL AND subject IS NULL"),
        0,
        "a waiting message keeps what the officer must read"
    );
    assert_eq!(
        env.count("SELECT count(*) FROM intake_message WHERE outcome IN ('opened', 'verified') AND sender IS NOT NULL"),
        0,
        "a message that became a request keeps no copy of the address"
    );
    let out = env.run(&["audit", "verify"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
}

fn write(env: &Env, name: &str, text: &str) -> PathBuf {
    let path = env.path(name);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(&path, text.replace('\n', "\r\n")).unwrap();
    path
}

fn request_mail(from: &str, id: &str, date: &str, body: &str) -> String {
    format!(
        "From: {from}\nTo: support@virtio.nl\nSubject: Vraag\nDate: {date}\nMessage-ID: <{id}@example.net>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n{body}\n"
    )
}

#[test]
fn a_request_by_mail_is_received_on_the_messages_date_by_email_and_the_code_goes_to_the_address_on_file() {
    let env = Env::with_fixture_at("virtio", NOW);
    // Pieter has three addresses on file; he writes from one, the code goes to his address on
    // file for requests (as for `dsr access --email`), and the request records what he gave.
    let file = write(
        &env,
        "m.eml",
        &request_mail(
            "P. van den Berg <p.vdberg@example.org>",
            "a1",
            "Fri, 27 Nov 2026 23:30:00 +0100",
            "Ik wil graag inzage in mijn gegevens.",
        ),
    );
    let (run, code) = intake(&env, &[&file]);
    assert_eq!(code, 0);
    let id = run.messages[0].request.clone().unwrap();
    let (received, due, channel, given): (String, String, String, String) = env
        .sql()
        .query_row("SELECT received_on, due_on, channel, subject_given FROM request WHERE id = ?1", [&id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .unwrap();
    assert_eq!((received.as_str(), due.as_str(), channel.as_str()), ("2026-11-27", "2026-12-27", "email"));
    assert_eq!(given, "p.vdberg@example.org");
    let mails = env.messages(&id);
    assert_eq!(mails.len(), 1);
    assert!(mails[0].code().is_some());
    // Provenance: the message's hash and Message-ID are in the audit trail with the request.
    let details: String = env
        .sql()
        .query_row("SELECT details FROM audit_log WHERE request_id = ?1 AND action = 'mail-read'", [&id], |r| r.get(0))
        .unwrap();
    use sha2::Digest;
    let sha: String = sha2::Sha256::digest(std::fs::read(&file).unwrap()).iter().map(|b| format!("{b:02x}")).collect();
    assert!(details.contains(&sha), "{details}");
    let message_id: String = env
        .sql()
        .query_row("SELECT message_id FROM intake_message WHERE request_id = ?1", [&id], |r| r.get(0))
        .unwrap();
    assert_eq!(message_id, "a1@example.net");
    let shown = support::stdout(&env.run(&["request", "show", &id]));
    assert!(shown.contains("Mail read") && shown.contains("a1@example.net") && shown.contains(&sha), "{shown}");
}

#[test]
fn a_reply_from_another_address_with_the_code_verifies_and_the_audit_trail_records_both() {
    let env = Env::with_fixture_at("virtio", NOW);
    let o = env.open("erase", &["--email", "lotte.jansen@example.org"]);
    let code = env.code(&o.request);
    let reply = format!(
        "From: Someone Else <someone@elsewhere.example>\nTo: support@virtio.nl\nSubject: Re: Verificatiecode / Verification code ({})\nIn-Reply-To: <x@virtio.nl>\nDate: Tue, 01 Dec 2026 09:00:00 +0000\nMessage-ID: <r1@elsewhere.example>\n\ncode {}\n",
        o.request,
        code.to_lowercase()
    );
    let (run, _) = intake(&env, &[&write(&env, "r.eml", &reply)]);
    assert_eq!(run.messages[0].outcome.as_deref(), Some("verified"));
    let details: String = env
        .sql()
        .query_row("SELECT details FROM audit_log WHERE request_id = ?1 AND action = 'code-reply'", [&o.request], |r| {
            r.get(0)
        })
        .unwrap();
    let d: serde_json::Value = serde_json::from_str(&details).unwrap();
    assert_eq!(d["same_address"], false);
    assert!(
        d["reply_from"].as_str().is_some_and(|h| h.len() == 64)
            && d["code_sent_to"].as_str().is_some_and(|h| h.len() == 64)
    );
    assert_ne!(d["reply_from"], d["code_sent_to"]);
    assert!(!details.contains("someone@elsewhere") && !details.contains("lotte"), "addresses only as keyed hashes");
}

/// The month runs from when the company's mail server took the message in (its topmost
/// `Received` header), not from a `Date` the sender's program wrote a year and a half back.
#[test]
fn a_request_by_mail_is_received_when_the_company_s_server_took_it_in() {
    let env = Env::with_fixture_at("virtio", NOW);
    let mail = "Received: from mx.example.net (mx.example.net [192.0.2.1])\n\tby mail.virtio.nl with ESMTPS id 4f; Tue, 01 Dec 2026 08:15:00 +0100\n\
        Received: from laptop (unknown [198.51.100.7])\n\tby mx.example.net with ESMTP; Sun, 01 Jun 2025 10:00:00 +0200\n"
        .to_owned()
        + &request_mail("P. van den Berg <p.vdberg@example.org>", "rx1", "Sun, 01 Jun 2025 10:00:00 +0200", "Ik wil graag inzage in mijn gegevens.");
    let (run, code) = intake(&env, &[&write(&env, "rx.eml", &mail)]);
    assert_eq!(code, 0);
    let id = run.messages[0].request.clone().unwrap();
    let (received, due): (String, String) = env
        .sql()
        .query_row("SELECT received_on, due_on FROM request WHERE id = ?1", [&id], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!((received.as_str(), due.as_str()), ("2026-12-01", "2027-01-01"));
}

/// A right asked for in a reply about another request is a request of its own (Art. 12(3): the
/// month runs from the message): opened in review for the sender, whether or not the reply
/// carries the code, which is checked all the same.
#[test]
fn a_reply_that_asks_for_another_right_opens_it_in_review() {
    let env = Env::with_fixture_at("virtio", NOW);
    let o = env.open("access", &["--email", "lotte.jansen@example.org"]);
    let code = env.code(&o.request);
    let reply = |n: &str, body: &str| {
        format!(
            "From: Lotte Jansen <lotte.jansen@example.org>\nTo: support@virtio.nl\nSubject: Re: Verificatiecode / Verification code ({})\nDate: Tue, 01 Dec 2026 09:00:00 +0000\nMessage-ID: <{n}@example.org>\n\n{body}\n",
            o.request
        )
    };
    let with_code = reply(
        "c1",
        &format!("Mijn code is {code}.\nEn verwijder daarna ook mijn gegevens en mijn account alstublieft."),
    );
    let (run, code_exit) = intake(&env, &[&write(&env, "a.eml", &with_code)]);
    assert_eq!(code_exit, 0);
    let m = &run.messages[0];
    assert_eq!(m.outcome.as_deref(), Some("needs-review"), "{:?}", m.reason);
    let reason = m.reason.clone().unwrap_or_default();
    assert!(
        reason.contains(&format!("the code verified request {}", o.request)) && reason.contains("also asks for erase"),
        "{reason}"
    );
    assert_eq!(shown(&env, &o.request)["state"], "verified");
    let erase = m.request.clone().unwrap();
    assert_ne!(erase, o.request);
    let v = shown(&env, &erase);
    assert_eq!(
        (v["state"].as_str(), v["right"].as_str(), v["received_on"].as_str()),
        (Some("needs-review"), Some("erase"), Some("2026-12-01")),
        "{v}"
    );

    // Without a code: the same, added to the request already in review.
    let (run, _) = intake(
        &env,
        &[&write(&env, "b.eml", &reply("c2", "Verwijder nu alsjeblieft mijn account en al mijn gegevens."))],
    );
    let m = &run.messages[0];
    assert_eq!(
        (m.outcome.as_deref(), m.request.as_deref()),
        (Some("needs-review"), Some(erase.as_str())),
        "{:?}",
        m.reason
    );
    // A reply that asks nothing more is listed as before.
    let (run, _) = intake(&env, &[&write(&env, "c.eml", &reply("c3", "Dank je wel."))]);
    assert_eq!(run.messages[0].outcome.as_deref(), Some("listed"));
}

#[test]
fn wrong_codes_in_replies_count_as_tries_and_burn_the_code() {
    let env = Env::with_fixture_at("virtio", NOW);
    let o = env.open("access", &["--email", "daan.visser@example.com"]);
    let code = env.code(&o.request);
    for i in 1..=5 {
        let reply = format!(
            "From: daan.visser@example.com\nSubject: Re: code ({})\nIn-Reply-To: <x@virtio.nl>\nMessage-ID: <w{i}@example.com>\n\nMijn code is {}\n",
            o.request,
            wrong_code(&code)
        );
        let (run, _) = intake(&env, &[&write(&env, &format!("w{i}.eml"), &reply)]);
        assert_eq!(run.messages[0].outcome.as_deref(), Some("code-refused"), "try {i}");
    }
    assert_eq!(env.count("SELECT failed_tries FROM challenge"), 5);
    // The right code no longer works: the code burned after five wrong tries.
    let reply = format!("From: daan.visser@example.com\nSubject: Re: ({})\nIn-Reply-To: <x@virtio.nl>\nMessage-ID: <ok@example.com>\n\n{code}\n", o.request);
    let (run, _) = intake(&env, &[&write(&env, "ok.eml", &reply)]);
    assert_eq!(run.messages[0].outcome.as_deref(), Some("code-refused"));
    assert!(run.messages[0].reason.as_deref().unwrap().contains("no code is active"));
}

#[test]
fn an_mbox_and_a_maildir_are_read_message_by_message() {
    let env = Env::with_fixture_at("virtio", NOW);
    let one =
        request_mail("eva.kok@example.nl", "b1", "Mon, 30 Nov 2026 10:00:00 +0100", "Verwijder al mijn gegevens.");
    let two = request_mail(
        "onbekend@example.net",
        "b2",
        "Mon, 30 Nov 2026 11:00:00 +0100",
        "What personal data do you hold about me? This is a subject access request.\n>From here on nothing.",
    );
    let three = request_mail("x@example.net", "b3", "Mon, 30 Nov 2026 12:00:00 +0100", "Wanneer komt mijn factuur?");
    let mbox = format!("From eva.kok@example.nl Mon Nov 30 10:00:00 2026\n{one}\nFrom onbekend@example.net Mon Nov 30 11:00:00 2026\n{two}\nFrom x@example.net Mon Nov 30 12:00:00 2026\n{three}\n");
    let (run, code) = intake(&env, &[&write(&env, "box.mbox", &mbox)]);
    assert_eq!(code, 0);
    let outcomes: Vec<(&str, &str)> =
        run.messages.iter().map(|m| (m.outcome.as_deref().unwrap(), m.right.as_deref().unwrap_or(""))).collect();
    assert_eq!(outcomes, [("opened", "erase"), ("opened", "access"), ("listed", "")]);
    assert!(run.messages[1].origin.ends_with("message 2"));
    // The same messages delivered to a Maildir (other bytes, same Message-IDs): read before.
    for (i, m) in [one, two, three].iter().enumerate() {
        write(&env, &format!("Maildir/new/17330{i}.M1P1.host"), &format!("Delivered-To: support@virtio.nl\n{m}"));
    }
    std::fs::create_dir_all(env.path("Maildir/cur")).unwrap();
    std::fs::create_dir_all(env.path("Maildir/tmp")).unwrap();
    write(&env, "Maildir/tmp/half-written", "From: x");
    let (run, _) = intake(&env, &[&env.path("Maildir")]);
    assert_eq!(run.summary.read, 3, "tmp/ holds no message yet");
    assert_eq!(run.summary.seen_before, 3);
    assert_eq!(run.summary.opened, 0);
    assert!(run.not_read.is_empty());
}

#[test]
fn the_officer_lists_and_resolves_what_waits() {
    let env = Env::with_fixture_at("virtio", NOW);
    // A forwarded message: the person who asks may not be its sender, so no request is opened.
    let forwarded = request_mail(
        "bram.dejong@example.com",
        "c1",
        "Mon, 30 Nov 2026 10:00:00 +0100",
        "---------- Forwarded message ---------\nVan: Anna <anna@example.org>\n\nGraag inzage in mijn gegevens, Dorpsstraat 1.\u{202e}evil",
    );
    let (run, _) = intake(&env, &[&write(&env, "u.eml", &forwarded)]);
    assert_eq!(run.messages[0].outcome.as_deref(), Some("needs-review"));
    assert_eq!(run.messages[0].request, None, "{:?}", run.messages[0]);
    assert_eq!(env.count("SELECT count(*) FROM request"), 0);
    let out = env.run(&["intake", "--list"]);
    assert!(out.status.success());
    let text = support::stdout(&out);
    assert!(
        text.contains("needs-review") && text.contains("bram.dejong@example.com") && text.contains("Dorpsstraat 1"),
        "{text}"
    );
    assert!(!text.contains('\u{202e}'), "stored text is escaped before it reaches a terminal");
    let waiting = |env: &Env| -> i64 {
        let out = env.dsr().args(["--json", "status"]).output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["messages"]["waiting"].as_i64().unwrap()
    };
    assert_eq!(waiting(&env), 1, "dsr status counts the message waiting");
    assert!(support::stdout(&env.run(&["status"])).contains("Messages needing review: 1: dsr intake --list"));
    // Nothing said: refused. An unknown message: refused. Then resolved with the request opened.
    let out = env.run(&["intake", "--resolve", "1"]);
    assert_eq!(out.status.code(), Some(2));
    support::assert_one_line_error(&out);
    assert_eq!(env.run(&["intake", "--resolve", "99", "--note", "x"]).status.code(), Some(2));
    let o = env.open("access", &["--email", "anna@example.org", "--received", "2026-11-30"]);
    let out = env.run(&["intake", "--resolve", "1", "--request", &o.request]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    assert_eq!(env.count("SELECT count(*) FROM intake_message WHERE excerpt IS NOT NULL OR sender IS NOT NULL"), 0);
    assert!(support::stdout(&env.run(&["intake", "--list"])).contains("No message waits"));
    assert_eq!(waiting(&env), 0);
    assert_eq!(env.run(&["intake", "--resolve", "1", "--note", "again"]).status.code(), Some(9));
}

/// The request behind a message, as `request show --json` gives it.
fn shown(env: &Env, id: &str) -> serde_json::Value {
    env.json::<serde_json::Value>(&["request", "show", id]).0
}

#[test]
fn an_unclear_request_is_opened_in_review_and_the_officer_decides_its_right() {
    let env = Env::with_fixture_at("virtio", NOW);
    let mail = request_mail(
        "jan.devries@example.nl",
        "r1",
        "Mon, 30 Nov 2026 10:00:00 +0100",
        "Ik wil inzage in mijn gegevens en daarna verwijdering ervan.",
    );
    let file = write(&env, "r.eml", &mail);
    let (run, _) = intake(&env, &[&file]);
    let taken = &run.messages[0];
    assert_eq!(taken.outcome.as_deref(), Some("needs-review"), "{taken:?}");
    let id = taken.request.clone().expect("a request opened in review");
    assert!(taken.reason.as_deref().unwrap().contains(&format!("--review {id}")), "{taken:?}");
    // Received on the message's date, by email, its right not decided, the text for the officer;
    // no code and no letter before the officer decides.
    let r = shown(&env, &id);
    assert_eq!((r["state"].as_str(), r["right"].as_str()), (Some("needs-review"), Some("unclear")), "{r}");
    assert_eq!((r["received_on"].as_str(), r["due_on"].as_str()), (Some("2026-11-30"), Some("2026-12-30")));
    assert_eq!(r["channel"], "email");
    assert!(r["to_review"][0]["text"].as_str().unwrap().contains("verwijdering"), "{r}");
    assert!(r["next_action"].as_str().unwrap().contains(&format!("--review {id}")), "{r}");
    assert_eq!(env.count("SELECT count(*) FROM challenge"), 0);
    assert_eq!(env.count("SELECT count(*) FROM queued"), 0);
    let text = support::stdout(&env.run(&["request", "show", &id]));
    assert!(text.contains("To review") && text.contains("verwijdering"), "{text}");
    // Open, with its deadline running: in the list, on the dashboard with what to do.
    let (list, _) = env.json::<serde_json::Value>(&["request", "list", "--open"]);
    assert!(list["requests"].as_array().unwrap().iter().any(|x| x["id"] == id.as_str()), "{list}");
    let (status, _) = env.json::<serde_json::Value>(&["status"]);
    let due = &status["requests"]["shown"][0];
    assert_eq!((due["request"].as_str(), due["state"].as_str()), (Some(id.as_str()), Some("needs-review")), "{status}");
    assert!(due["next_action"].as_str().unwrap().contains("--review"), "{status}");
    // Nothing is verified, disclosed or sent for it before the review.
    for args in [
        vec!["verify", id.as_str(), "ABCD-EFGH"],
        vec!["access", id.as_str()],
        vec!["verify", "--resend", id.as_str()],
        vec!["intake", "--resolve", "1", "--note", "done"],
    ] {
        let out = env.run(&args);
        assert_eq!(out.status.code(), Some(9), "{args:?}: {}", support::stderr(&out));
        support::assert_one_line_error(&out);
        assert!(support::stderr(&out).contains("--review"), "{args:?}: {}", support::stderr(&out));
    }
    // The same message again: nothing new.
    let (again, _) = intake(&env, &[&file]);
    assert_eq!(again.summary.seen_before, 1);
    assert_eq!(env.count("SELECT count(*) FROM request"), 1);
    // Given as another right's options: refused (one way to name the request).
    let out = env.run(&["erase", "--review", &id, "--email", "jan.devries@example.nl"]);
    assert_eq!(out.status.code(), Some(2));
    // The officer decides: an erasure. Same request, same date; the code goes out now, to the
    // address on file; the message's text is no longer kept.
    let out = env.run(&["erase", "--review", &id]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    assert!(support::stdout(&out).contains(&id));
    let r = shown(&env, &id);
    assert_eq!((r["state"].as_str(), r["right"].as_str()), (Some("awaiting-verification"), Some("erase")), "{r}");
    assert_eq!(r["received_on"].as_str(), Some("2026-11-30"));
    assert_eq!(r["to_review"].as_array().unwrap().len(), 0);
    assert_eq!(env.count("SELECT count(*) FROM challenge"), 1);
    assert_eq!(env.count("SELECT count(*) FROM intake_message WHERE excerpt IS NOT NULL OR sender IS NOT NULL"), 0);
    assert!(support::stdout(&env.run(&["intake", "--list"])).contains("No message waits"));
    let letters: Vec<_> = std::fs::read_dir(env.outbox()).unwrap().collect();
    assert_eq!(letters.len(), 1, "the code letter");
    let events: Vec<String> =
        r["timeline"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect();
    assert!(
        events.contains(&"request-reviewed".to_owned()) && events.contains(&"mail-resolved".to_owned()),
        "{events:?}"
    );
    // Decided once.
    let out = env.run(&["access", "--review", &id]);
    assert_eq!(out.status.code(), Some(9));
    support::assert_one_line_error(&out);
}

#[test]
fn a_request_in_review_for_one_right_keeps_it_and_can_be_refused() {
    let env = Env::with_fixture_at("virtio", NOW);
    // A rectification without the new value: its right is clear, its details are not.
    let mail = request_mail("onbekend@example.org", "r2", "Mon, 30 Nov 2026 10:00:00 +0100", "Mijn adres klopt niet.");
    let (run, _) = intake(&env, &[&write(&env, "r.eml", &mail)]);
    let id = run.messages[0].request.clone().expect("opened in review");
    let r = shown(&env, &id);
    assert_eq!((r["state"].as_str(), r["right"].as_str()), (Some("needs-review"), Some("rectify")), "{r}");
    // Refused: the request is closed, the person told, and the message no longer waits.
    let out = env.run(&[
        "request",
        "reject",
        &id,
        "--reason",
        "other",
        "--note",
        "Not a request: a question about a delivery.",
        "--note-nl",
        "Geen verzoek: een vraag over een bezorging.",
    ]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let r = shown(&env, &id);
    assert_eq!(r["state"], "rejected");
    assert_eq!(env.count("SELECT count(*) FROM intake_message WHERE outcome = 'needs-review'"), 0);
    assert_eq!(env.count("SELECT count(*) FROM intake_message WHERE excerpt IS NOT NULL OR sender IS NOT NULL"), 0);
    // The report counts it under its right, refused.
    let (report, _) = env.json::<serde_json::Value>(&["report", "--from", "2026-11-01", "--to", "2026-12-31"]);
    let rectify =
        report["requests"]["by_right"].as_array().unwrap().iter().find(|l| l["right"] == "rectify").unwrap().clone();
    assert_eq!((rectify["received"].as_u64(), rectify["refused"].as_u64()), (Some(1), Some(1)), "{report}");
}

#[test]
fn the_report_counts_requests_whose_right_is_still_unclear() {
    let env = Env::with_fixture_at("virtio", NOW);
    let mail = request_mail(
        "jan.devries@example.nl",
        "r3",
        "Mon, 30 Nov 2026 10:00:00 +0100",
        "Inzage en verwijdering graag.",
    );
    intake(&env, &[&write(&env, "r.eml", &mail)]);
    let (report, _) = env.json::<serde_json::Value>(&["report", "--from", "2026-11-01", "--to", "2026-12-31"]);
    let lines = report["requests"]["by_right"].as_array().unwrap();
    let unclear = lines.iter().find(|l| l["right"] == "unclear").expect("a line for them");
    assert_eq!((unclear["received"].as_u64(), unclear["open"].as_u64()), (Some(1), Some(1)), "{report}");
    assert_eq!(report["requests"]["total"].as_u64(), Some(1));
}

/// A message whose right is unclear, from Jan (on file), read into `env`; the request it opened.
fn in_review(env: &Env, id: &str, date: &str) -> String {
    let mail = request_mail(
        "jan.devries@example.nl",
        id,
        date,
        "Ik wil inzage in mijn gegevens en daarna verwijdering ervan.",
    );
    let (run, _) = intake(env, &[&write(env, &format!("{id}.eml"), &mail)]);
    run.messages[0].request.clone().expect("opened in review")
}

#[test]
fn a_request_decided_late_gives_the_person_a_month_for_the_code_from_the_decision() {
    let mut env = Env::with_fixture_at("virtio", "2026-10-02T10:00:00Z");
    let id = in_review(&env, "late", "Thu, 01 Oct 2026 10:00:00 +0200");
    // Decided after its deadline (2026-11-01): overdue, but the code has only just gone out.
    env.now = Some("2026-11-05T10:00:00Z".into());
    let out = env.run(&["access", "--review", &id]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    env.now = Some("2026-11-05T10:05:00Z".into());
    let r = shown(&env, &id);
    assert_eq!(r["state"], "awaiting-verification", "{r}");
    assert_eq!(env.messages(&id).len(), 1, "the code letter, and no letter saying it expired");
    // A month after the decision, unverified, it expires as any request does.
    env.now = Some("2026-12-06T10:00:00Z".into());
    assert_eq!(shown(&env, &id)["state"], "expired");
}

#[test]
fn a_follow_up_about_an_open_request_opens_no_second_request_in_review() {
    let env = Env::with_fixture_at("virtio", NOW);
    let o = env.open("rectify", &["--email", "jan.devries@example.nl", "--set", "city=Utrecht"]);
    let mail =
        request_mail("jan.devries@example.nl", "f1", "Mon, 30 Nov 2026 10:00:00 +0100", "Mijn adres klopt niet.");
    let (run, _) = intake(&env, &[&write(&env, "f.eml", &mail)]);
    let taken = &run.messages[0];
    assert_eq!(taken.outcome.as_deref(), Some("needs-review"), "{taken:?}");
    assert_eq!(taken.request.as_deref(), Some(o.request.as_str()), "{taken:?}");
    assert_eq!(env.count("SELECT count(*) FROM request"), 1);
    // Not a request in review: `request show` offers no `--review`, and the message is resolved
    // against the open request.
    let r = shown(&env, &o.request);
    assert_eq!(r["to_review"].as_array().unwrap().len(), 0, "{r}");
    assert!(!support::stdout(&env.run(&["request", "show", &o.request])).contains("--review"));
    let out = env.run(&["intake", "--resolve", "1", "--request", &o.request]);
    assert!(out.status.success(), "{}", support::stderr(&out));
}

#[test]
fn review_is_refused_with_the_options_of_answering_and_nothing_is_sent_before_the_decision() {
    let env = Env::with_fixture_at("virtio", NOW);
    let id = in_review(&env, "o1", "Mon, 30 Nov 2026 10:00:00 +0100");
    for args in [
        vec!["erase", "--review", id.as_str(), "--dry-run"],
        vec!["erase", "--review", id.as_str(), "--approve"],
        vec!["erase", "--review", id.as_str(), "--due"],
        vec!["access", "--review", id.as_str(), "--send"],
        vec!["access", "--review", id.as_str(), "--out", "a.json"],
        vec!["export", "--review", id.as_str(), "--out", "a.zip"],
        vec!["object", "--review", id.as_str(), "--decide", id.as_str(), "--uphold"],
    ] {
        let out = env.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", support::stderr(&out));
        support::assert_one_line_error(&out);
    }
    // No extension (and its letter) for a request in review either.
    let out = env.run(&["request", "extend", &id, "--months", "1", "--reason", "complexity"]);
    assert_eq!(out.status.code(), Some(9), "{}", support::stderr(&out));
    assert!(support::stderr(&out).contains("--review"));
    let r = shown(&env, &id);
    assert_eq!((r["state"].as_str(), r["extended_due_on"].as_str()), (Some("needs-review"), None), "{r}");
    assert_eq!(env.count("SELECT count(*) FROM queued"), 0);
    assert_eq!(env.count("SELECT count(*) FROM challenge"), 0);
}

#[test]
fn the_persons_copy_names_a_request_in_review_in_words() {
    let env = Env::with_fixture_at("virtio", NOW);
    in_review(&env, "w1", "Mon, 30 Nov 2026 10:00:00 +0100");
    let access = env.verified("access", &["--email", "jan.devries@example.nl"]);
    let out = env.run(&["access", &access]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let text = support::stdout(&out);
    assert!(text.contains("not yet clear which right") && text.contains("welk recht je vraagt"), "{text}");
}

#[test]
fn a_privacy_address_that_is_itself_a_list_still_opens_requests() {
    let env = Env::with_fixture_at("virtio", NOW);
    // Passed on by a Google Group at support@virtio.nl: the list's headers name the privacy
    // address itself, and say nothing of the person who wrote.
    let through_group = request_mail("eva.kok@example.nl", "g1", "Mon, 30 Nov 2026 10:00:00 +0100", "Graag inzage in mijn gegevens.")
        .replace(
            "MIME-Version: 1.0\n",
            "MIME-Version: 1.0\nList-ID: <support.virtio.nl>\nList-Post: <mailto:support@virtio.nl>\nPrecedence: list\nMailing-list: list support@virtio.nl; contact support+owners@virtio.nl\n",
        );
    // Another list's mail asking the same stays list mail.
    let newsletter =
        request_mail("news@example.org", "g2", "Mon, 30 Nov 2026 10:00:00 +0100", "Graag inzage in mijn gegevens.")
            .replace(
                "MIME-Version: 1.0\n",
                "MIME-Version: 1.0\nList-Id: Nieuws <nieuws.example.org>\nList-Post: <mailto:nieuws@example.org>\n",
            );
    let (run, _) = intake(&env, &[&write(&env, "g1.eml", &through_group), &write(&env, "g2.eml", &newsletter)]);
    assert_eq!(run.messages[0].outcome.as_deref(), Some("opened"), "{:?}", run.messages[0]);
    assert_eq!(run.messages[0].right.as_deref(), Some("access"));
    assert_eq!(run.messages[1].outcome.as_deref(), Some("listed"), "{:?}", run.messages[1]);
}

#[test]
fn watch_reads_what_arrives_and_a_signal_ends_it_cleanly_after_letters() {
    let env = Env::with_fixture_at("virtio", NOW);
    let maildir = env.path("Maildir");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("dsr"))
        .current_dir(env.dir.path())
        .env("DSR_NOW", NOW)
        .env_remove("DSR_DB")
        .args(["--db", env.db.to_str().unwrap(), "intake", "--watch", maildir.to_str().unwrap(), "--every", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A request arrives while it watches: it is opened and its code letter written.
    let mail =
        request_mail("eva.kok@example.nl", "w1", "Mon, 30 Nov 2026 10:00:00 +0100", "Graag inzage in mijn gegevens.");
    std::fs::write(maildir.join("tmp/1.eml"), &mail).unwrap();
    std::fs::rename(maildir.join("tmp/1.eml"), maildir.join("new/1.eml")).unwrap();
    let start = std::time::Instant::now();
    while std::fs::read_dir(env.outbox()).map_or(0, |d| d.count()) == 0 {
        assert!(start.elapsed() < std::time::Duration::from_secs(120), "no letter written");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // SIGTERM (as a service manager stops it): it ends between two rounds, exit 0, with its summary.
    assert!(std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("opened DSR-2026-0001"), "{stdout}");
    assert!(stderr.contains("1 message"), "{stderr}");
    assert_eq!(env.count("SELECT count(*) FROM request"), 1);
    let leftovers: Vec<_> = std::fs::read_dir(env.outbox())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "no unfinished file left: {leftovers:?}");
}

#[test]
fn a_path_that_is_not_there_is_a_usage_error_and_nothing_is_read() {
    let env = Env::with_fixture_at("virtio", NOW);
    let good = write(
        &env,
        "g.eml",
        &request_mail("eva.kok@example.nl", "d1", "Mon, 30 Nov 2026 10:00:00 +0100", "inzage graag"),
    );
    let out = env.run(&["intake", good.to_str().unwrap(), "missing.eml"]);
    assert_eq!(out.status.code(), Some(2));
    support::assert_one_line_error(&out);
    assert!(support::stderr(&out).contains("missing.eml"));
    assert_eq!(env.count("SELECT count(*) FROM intake_message"), 0);
}

#[test]
fn a_run_killed_midway_and_run_again_ends_as_one_run_that_was_not() {
    // 500 messages, more than two groups: requests from 100 unknown senders, questions, replies.
    let write_maildir = |env: &Env| {
        for i in 0..500 {
            let body = match i % 5 {
                0 => "Graag inzage in mijn gegevens.",
                1 => "Please delete my personal data.",
                2 => "Wanneer komt mijn factuur?",
                3 => "Out of office",
                _ => "Re: verzoek DSR-2026-0001 zonder code",
            };
            let from = format!("person{}@example.net", i % 100);
            write(
                env,
                &format!("Maildir/new/{:06}.M{i}.host", 1000 + i),
                &request_mail(&from, &format!("k{i}"), "Mon, 30 Nov 2026 10:00:00 +0100", body),
            );
        }
    };
    type State = (Vec<(String, String, Option<String>)>, i64, usize);
    let state = |env: &Env| -> State {
        let conn = env.sql();
        let mut st = conn.prepare("SELECT sha256, outcome, request_id FROM intake_message ORDER BY sha256").unwrap();
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(|r| r.unwrap()).collect();
        let letters = std::fs::read_dir(env.outbox())
            .map(|d| d.filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "eml")).count())
            .unwrap_or(0);
        (rows, env.count("SELECT count(*) FROM request"), letters)
    };
    let clean = Env::with_fixture_at("virtio", NOW);
    write_maildir(&clean);
    assert!(clean.run(&["intake", clean.path("Maildir").to_str().unwrap()]).status.success());
    for delay in [30, 150, 400] {
        let env = Env::with_fixture_at("virtio", NOW);
        write_maildir(&env);
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("dsr"))
            .args(["--db", env.db.to_str().unwrap(), "intake", "Maildir"])
            .current_dir(env.dir.path())
            .env("DSR_NOW", NOW)
            .env_remove("DSR_DB")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
        let out = env.run(&["intake", env.path("Maildir").to_str().unwrap()]);
        assert!(out.status.success(), "{}", support::stderr(&out));
        assert_eq!(state(&env), state(&clean), "killed after {delay} ms");
        assert!(env.run(&["audit", "verify"]).status.success());
    }
}

#[test]
fn erasing_the_person_empties_the_waiting_messages_about_their_requests() {
    let env = Env::with_fixture_at("virtio", NOW);
    let o = env.open("erase", &["--email", "fenna.mulder@example.nl"]);
    let reply = format!(
        "From: fenna.mulder@example.nl\nSubject: Re: Verificatiecode ({})\nIn-Reply-To: <x@virtio.nl>\nMessage-ID: <q1@example.nl>\n\nWanneer is het klaar? Groet, Fenna Mulder\n",
        o.request
    );
    let (run, _) = intake(&env, &[&write(&env, "q.eml", &reply)]);
    assert_eq!(run.messages[0].outcome.as_deref(), Some("listed"));
    assert_eq!(env.count("SELECT count(*) FROM intake_message WHERE sender IS NOT NULL"), 1);
    let code = env.code(&o.request);
    env.dsr().args(["verify", &o.request, &code]).assert().success();
    let out = env.run(&["erase", &o.request, "--yes"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    assert_eq!(
        env.count("SELECT count(*) FROM intake_message WHERE sender IS NOT NULL OR subject IS NOT NULL OR excerpt IS NOT NULL"),
        0,
        "nothing of the erased person's message is left"
    );
    assert_eq!(env.count("SELECT count(*) FROM intake_message"), 1, "the record of the message stays");
    // Its Message-ID (her name in it) goes too; the same message delivered again with other
    // bytes is still known by its keyed hash, so it is not read as a new one.
    assert_eq!(env.count("SELECT count(*) FROM intake_message WHERE message_id IS NOT NULL"), 0);
    let again = format!("Received: from mx2.example.nl\n{reply}");
    let (run, _) = intake(&env, &[&write(&env, "q2.eml", &again)]);
    assert_eq!(run.summary.seen_before, 1, "read before: {:?}", run.messages[0]);
}

#[test]
fn what_a_stranger_a_disowning_reply_or_our_own_letter_carries_verifies_nothing_and_locks_no_one() {
    let env = Env::with_fixture_at("virtio", NOW);
    let o = env.open("access", &["--email", "kees.smit@example.nl"]);
    let code = env.code(&o.request);
    let tries = |env: &Env| env.count("SELECT failed_tries FROM challenge WHERE state = 'active'");
    let state = |env: &Env| -> String {
        env.sql().query_row("SELECT state FROM request WHERE id = ?1", [&o.request], |r| r.get(0)).unwrap()
    };
    // A stranger's wrong code: a try on Kees's code (no one guesses without limit), but not a
    // failure toward locking Kees out.
    let guess = format!(
        "From: stranger@example.net\nSubject: Re: Verificatiecode ({})\nIn-Reply-To: <x@virtio.nl>\nMessage-ID: <g1@example.net>\n\ncode {}\n",
        o.request,
        wrong_code(&code)
    );
    let (run, _) = intake(&env, &[&write(&env, "g.eml", &guess)]);
    assert_eq!(run.messages[0].outcome.as_deref(), Some("code-refused"));
    assert_eq!(tries(&env), 1);
    assert_eq!(env.count("SELECT coalesce(max(consecutive_failures), 0) FROM verification_lock"), 0);
    // The message is about Kees's request: resolving it with another one is refused, and it
    // still waits, whole.
    let other = env.open("access", &["--email", "jan.devries@example.nl"]);
    let id = run.messages[0].message.unwrap().to_string();
    let out = env.run(&["intake", "--resolve", &id, "--request", &other.request]);
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    support::assert_one_line_error(&out);
    assert!(support::stderr(&out).contains(&format!("is about request {}", o.request)), "{}", support::stderr(&out));
    assert_eq!(
        env.count("SELECT count(*) FROM intake_message WHERE outcome = 'code-refused' AND sender IS NOT NULL"),
        1
    );
    // Kees says it was not him, quoting the letter with the code: nothing verified.
    let letter = std::fs::read_to_string(&env.messages(&o.request)[0].path).unwrap();
    let quoted: String = letter.lines().map(|l| format!("> {l}\n")).collect();
    let disown = format!(
        "From: kees.smit@example.nl\nSubject: Re: Verificatiecode ({})\nIn-Reply-To: <x@virtio.nl>\nMessage-ID: <d1@example.nl>\n\nIk heb dit verzoek niet gedaan!\n\n{quoted}",
        o.request
    );
    let (run, _) = intake(&env, &[&write(&env, "d.eml", &disown)]);
    assert_eq!(run.messages[0].outcome.as_deref(), Some("listed"), "{:?}", run.messages[0]);
    // Our own code letter read back (a Sent folder in the mailbox): nothing verified either. It
    // says it is a program's (RFC 3834), so out-of-office replies are not sent back to it.
    assert!(letter.contains("Auto-Submitted: auto-generated"), "{letter}");
    let (run, _) = intake(&env, &[&env.messages(&o.request)[0].path]);
    assert_eq!(run.messages[0].outcome.as_deref(), Some("listed"), "{:?}", run.messages[0]);
    assert_eq!((state(&env).as_str(), tries(&env)), ("awaiting-verification", 1));
    // The person's own plain reply with the quoted letter verifies.
    let reply = format!(
        "From: kees.smit@example.nl\nSubject: Re: Verificatiecode ({})\nIn-Reply-To: <x@virtio.nl>\nMessage-ID: <v1@example.nl>\n\nHierbij.\n\n{quoted}",
        o.request
    );
    let (run, _) = intake(&env, &[&write(&env, "v.eml", &reply)]);
    assert_eq!(run.messages[0].outcome.as_deref(), Some("verified"));
}

#[test]
fn a_message_never_changes_what_an_open_request_asks() {
    let env = Env::with_fixture_at("virtio", NOW);
    let o = env.open("object", &["--email", "ingrid.dijkstra@example.nl", "--purpose", "tailored-ads"]);
    let mail = request_mail(
        "ingrid.dijkstra@example.nl",
        "n1",
        "Mon, 30 Nov 2026 10:00:00 +0100",
        "Ik wil me afmelden voor de nieuwsbrief.",
    );
    let (run, _) = intake(&env, &[&write(&env, "n.eml", &mail)]);
    assert_eq!(run.messages[0].outcome.as_deref(), Some("needs-review"), "{:?}", run.messages[0]);
    assert_eq!(run.messages[0].request.as_deref(), Some(o.request.as_str()));
    let params: String =
        env.sql().query_row("SELECT params FROM request WHERE id = ?1", [&o.request], |r| r.get(0)).unwrap();
    assert!(params.contains("tailored-ads"), "{params}");
    assert_eq!(env.messages(&o.request).len(), 1, "no new code was sent");
}

#[test]
fn a_second_signal_ends_a_watch_whose_mail_server_never_answers() {
    let env = Env::with_fixture_at("virtio", NOW);
    let maildir = env.path("Maildir");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    // A server that takes the connection and never greets.
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("dsr"))
        .current_dir(env.dir.path())
        .env("DSR_NOW", NOW)
        .env("DSR_MAIL", "smtp")
        .env("DSR_SMTP_URL", format!("smtp://127.0.0.1:{port}"))
        .env_remove("DSR_DB")
        .args(["--db", env.db.to_str().unwrap(), "intake", "--watch", maildir.to_str().unwrap(), "--every", "1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mail =
        request_mail("eva.kok@example.nl", "w2", "Mon, 30 Nov 2026 10:00:00 +0100", "Graag inzage in mijn gegevens.");
    std::fs::write(maildir.join("tmp/1.eml"), &mail).unwrap();
    std::fs::rename(maildir.join("tmp/1.eml"), maildir.join("new/1.eml")).unwrap();
    // The round's code letter is on its way: dsr is connected and waits for the greeting.
    let (_held, _) = server.accept().unwrap();
    let term = || {
        assert!(std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success())
    };
    term();
    std::thread::sleep(std::time::Duration::from_millis(300));
    term();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143), "{}", String::from_utf8_lossy(&out.stderr));
    // The request it opened stays, its letter queued for the next command.
    assert_eq!(env.count("SELECT count(*) FROM request"), 1);
    assert_eq!(env.count("SELECT count(*) FROM queued WHERE done_at IS NULL"), 1);
}
