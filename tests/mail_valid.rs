//! Every letter is valid mail (issue 13): each kind the flows produce passes Python's `email`
//! parser with `policy.strict` and `mail-parser`; its Message-ID names the sender's domain; the
//! times a person reads are Amsterdam time with the zone named.

use std::path::PathBuf;
use std::process::Command;

use crate::support::{self, Env, Mail};

const JAN: &str = "jan.devries@example.nl";
const KEES: &str = "kees.smit@example.nl";

fn verified(env: &Env, right: &str, args: &[&str]) -> String {
    let o = env.open(right, args);
    let code = env.code(&o.request);
    env.dsr().args(["verify", &o.request, &code]).assert().success();
    o.request
}

fn ok(env: &Env, args: &[&str]) {
    let out = env.run(args);
    assert_eq!(out.status.code(), Some(0), "dsr {args:?}: {}", support::stderr(&out));
}

/// Parses every file with `policy.strict`, reads every header and every part, and fails on any
/// defect; checks that the Message-ID's domain is the From address's domain. Prints one line a file.
const STRICT: &str = r#"
import sys
from email import policy
from email.parser import BytesParser
for path in sys.argv[1:]:
    with open(path, 'rb') as f:
        msg = BytesParser(policy=policy.strict).parse(f)
    for part in msg.walk():
        if part.defects:
            raise SystemExit(f'{path}: {part.defects}')
        for name, value in part.items():
            if getattr(value, 'defects', None):
                raise SystemExit(f'{path}: header {name}: {value.defects}')
        if not part.is_multipart():
            part.get_content()
    sender = msg['From'].addresses[0].domain
    mid = str(msg['Message-ID'])
    if not (mid.startswith('<') and mid.endswith('@' + sender + '>')):
        raise SystemExit(f'{path}: Message-ID {mid} is not in the sender domain {sender}')
    if msg['Date'].datetime is None:
        raise SystemExit(f'{path}: no Date')
    print('ok', path)
"#;

/// Whether an outside program the test needs is missing and may be skipped (not on CI).
fn skip(program: &str) -> bool {
    if Command::new(program).arg("--version").output().is_ok() {
        return false;
    }
    assert_ne!(std::env::var("DSR_TEST_REQUIRE").as_deref(), Ok("all"), "{program} is required");
    eprintln!("skipped: {program} is not installed");
    true
}

#[test]
fn every_letter_kind_is_valid_mail_with_the_senders_message_id_and_amsterdam_times() {
    let mut env = Env::with_fixture("virtio");
    env.now = Some("2026-11-02T09:00:00Z".into());
    // A code, an extension and a refusal.
    let access = env.open("access", &["--email", JAN]).request;
    let extend =
        ["request", "extend", &access, "--months", "1", "--reason", "Many systems.", "--reason-nl", "Veel systemen."];
    ok(&env, &extend);
    ok(
        &env,
        &["request", "reject", &access, "--reason", "unfounded", "--note", "Not ours.", "--note-nl", "Niet van ons."],
    );
    // A restriction and its lift notice.
    let restrict = verified(&env, "restrict", &["--email", JAN, "--ground", "accuracy-contested"]);
    ok(&env, &["restrict", &restrict, "--yes"]);
    ok(&env, &["restrict", "--lift", &restrict, "--reason", "Checked.", "--reason-nl", "Gecontroleerd."]);
    // An objection, and an answer with its archive attached.
    let object = verified(&env, "object", &["--email", KEES, "--purpose", "newsletter"]);
    ok(&env, &["object", &object, "--yes"]);
    let answer = verified(&env, "access", &["--email", KEES]);
    ok(&env, &["access", &answer, "--send"]);
    let export = verified(&env, "export", &["--email", KEES]);
    ok(&env, &["export", &export, "--send"]);
    // A rectification of the address on file, then an erasure (at most 3 codes a person an hour).
    env.now = Some("2026-11-02T11:00:00Z".into());
    let rectify = verified(&env, "rectify", &["--email", JAN, "--set", "email=jan@devries.example"]);
    ok(&env, &["rectify", &rectify, "--yes"]);
    let erase = verified(&env, "erase", &["--email", "jan@devries.example"]);
    ok(&env, &["erase", &erase, "--yes"]);
    // A negative confirmation, and a request that expires unverified.
    env.open("access", &["--email", "nobody@example.nl"]);
    env.open("export", &["--email", "sanne@bakkerwebdesign.example"]);
    env.now = Some("2026-12-10T09:00:00Z".into());
    ok(&env, &["request", "list"]);

    let mut files: Vec<PathBuf> = std::fs::read_dir(env.outbox()).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mails: Vec<Mail> = files.iter().map(|p| Mail::parse(&std::fs::read(p).unwrap(), p.clone())).collect();
    let subjects: Vec<&str> = mails.iter().map(|m| m.subject.as_str()).collect();
    for kind in [
        "Verification code",
        "Extension",
        "Refusal",
        "Restriction (",
        "Restriction to be lifted",
        "Objection",
        "Rectification",
        "Email address changed",
        "Erasure",
        "Access to your data",
        "Your data",
        "No data held",
        "Request closed",
    ] {
        assert!(subjects.iter().any(|s| s.contains(kind)), "no {kind} letter among {subjects:?}");
    }
    for (mail, path) in mails.iter().zip(&files) {
        let parsed = mail_parser::MessageParser::default().parse(&mail.raw).unwrap();
        let id = parsed.message_id().unwrap_or_else(|| panic!("{}: no Message-ID", path.display()));
        assert!(id.ends_with("@virtio.nl"), "{}: Message-ID {id} is not in the sender's domain", path.display());
        assert!(parsed.date().is_some() && !mail.to.is_empty() && !mail.body.is_empty(), "{}", path.display());
        assert!(!mail.body.contains("UTC"), "{}: a time for a person in UTC:\n{}", path.display(), mail.body);
    }
    let with_attachment = mails.iter().find(|m| m.subject.contains("Access to your data")).unwrap();
    let parsed = mail_parser::MessageParser::default().parse(&with_attachment.raw).unwrap();
    assert_eq!(parsed.attachment_count(), 1, "the archive is attached");
    // Times a person reads: the code's expiry and the lift in Amsterdam time, dates written out.
    for (subject, texts) in [
        ("Verification code", &["(Nederlandse tijd, CET)", "(Amsterdam time, CET)"][..]),
        (
            "Restriction to be lifted",
            &["9 november 2026 10:00 (Nederlandse tijd, CET)", "9 November 2026 10:00 (Amsterdam time, CET)"],
        ),
        ("Extension", &["2 januari 2027", "2 January 2027"]),
        ("Request closed", &["2 november 2026", "2 November 2026"]),
    ] {
        let m = mails.iter().find(|m| m.subject.contains(subject)).unwrap();
        for text in texts {
            assert!(m.body.contains(text), "the {subject} letter lacks {text:?}:\n{}", m.body);
        }
    }
    strict(&files);
}

/// Python's `email` with `policy.strict` over the files (skipped without python3, except on CI).
pub(crate) fn strict(files: &[PathBuf]) {
    if skip("python3") {
        return;
    }
    let out = Command::new("python3").arg("-c").arg(STRICT).args(files).output().unwrap();
    assert!(out.status.success(), "Python's strict email parser: {}", support::stderr(&out));
    assert_eq!(support::stdout(&out).lines().count(), files.len(), "{}", support::stdout(&out));
}

#[test]
fn a_controller_name_beyond_ascii_and_a_sender_of_its_own_still_make_valid_mail() {
    let env = Env::with_fixture("virtio");
    env.sql().execute("UPDATE controller SET name = 'Zoë & Søn, \"Privacy\" B.V.'", []).unwrap();
    let out = env.dsr().env("DSR_MAIL_FROM", "dpo@mail.zoe-son.example").args(["access", "--email", JAN]).output();
    assert!(out.unwrap().status.success());
    let files: Vec<PathBuf> = std::fs::read_dir(env.outbox()).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1);
    let raw = std::fs::read(&files[0]).unwrap();
    let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert!(parsed.message_id().unwrap().ends_with("@mail.zoe-son.example"), "{:?}", parsed.message_id());
    let from = parsed.from().unwrap().first().unwrap();
    assert_eq!(from.name(), Some("Zoë & Søn, \"Privacy\" B.V."));
    assert_eq!(from.address(), Some("dpo@mail.zoe-son.example"));
    strict(&files);
}
