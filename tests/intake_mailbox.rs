//! What a hostile or careless mailbox does to `dsr intake`: a sender no letter can reach, mbox
//! files that do not start with their `From ` line, a Message-ID another sender reused, a code
//! letter that comes back, a folder dsr may not list. None stops a run, merges two people's
//! mail, hides a request or shows a live code.

use serde_json::Value;

use crate::support::{self, Env};

const NOW: &str = "2026-12-01T10:00:00Z";

fn mail(from: &str, id: &str, body: &str) -> String {
    format!("From: {from}\r\nTo: support@virtio.nl\r\nSubject: Verzoek\r\nMessage-ID: <{id}>\r\nDate: Mon, 30 Nov 2026 10:00:00 +0100\r\n\r\n{body}\r\n")
}

fn intake(env: &Env, paths: &[&str]) -> (Value, i32) {
    let mut args = vec!["intake"];
    args.extend_from_slice(paths);
    env.json(&args)
}

fn outcomes(run: &Value) -> Vec<(String, String)> {
    run["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["outcome"].as_str().unwrap_or("-").to_owned(), m["right"].as_str().unwrap_or("").to_owned()))
        .collect()
}

#[test]
fn a_sender_no_letter_can_reach_stops_nothing_and_letters_stay_strict_mail() {
    let env = Env::with_fixture_at("virtio", NOW);
    std::fs::create_dir_all(env.path("in")).unwrap();
    let messages = [
        mail("jan.devries@example.nl", "a1@x", "Ik wil inzage in mijn gegevens."),
        mail("<x@[127.0.0.1]>", "a2@x", "Ik wil inzage in mijn gegevens."),
        mail("zo\u{eb}@ex\u{e4}mple.nl", "a3@x", "Ik wil inzage in mijn gegevens."),
        mail("zoe@ex\u{e4}mple.nl", "a4@x", "Ik wil inzage in mijn gegevens."),
    ];
    for (i, m) in messages.iter().enumerate() {
        std::fs::write(env.path(&format!("in/{i}.eml")), m).unwrap();
    }
    let (run, code) = intake(&env, &["in"]);
    assert_eq!(code, 0, "{run}");
    assert_eq!(run["summary"]["read"], 4);
    assert_eq!(run["summary"]["opened"], 4, "{run}");
    // A second run reads them as read before: nothing got stuck.
    let (again, code) = intake(&env, &["in"]);
    assert_eq!((code, again["summary"]["seen_before"].as_u64()), (0, Some(4)), "{again}");
    // Jan gets his code, the IDN domain its "no data" letter in its ASCII form (plain mail the
    // strict parser takes), the non-ASCII local part its letter as RFC 6532 mail; the literal none.
    let mut files: Vec<_> = std::fs::read_dir(env.outbox()).unwrap().map(|e| e.unwrap().path()).collect::<Vec<_>>();
    files.sort();
    assert_eq!(files.len(), 3, "{files:?}");
    let to = |f: &std::path::PathBuf| support::Mail::parse(&std::fs::read(f).unwrap(), f.clone()).to.join(",");
    let plain: Vec<_> = files.iter().filter(|f| to(f).is_ascii()).cloned().collect();
    assert!(plain.iter().any(|f| to(f) == "zoe@xn--exmple-cua.nl"), "{plain:?}");
    assert_eq!(plain.len(), 2);
    crate::mail_valid::strict(&plain);
    let out = env.run(&["access", "--email", "x@[127.0.0.1]"]);
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
}

#[test]
fn mbox_files_with_a_byte_order_mark_blank_lines_or_in_a_folder_are_read_message_by_message() {
    let env = Env::with_fixture_at("virtio", NOW);
    let two = |a: &str, b: &str| {
        format!(
            "From a@b Mon Nov 30 10:00:00 2026\n{}\nFrom a@b Mon Nov 30 10:00:00 2026\n{}\n",
            mail("jan.devries@example.nl", a, "Ik wil inzage in mijn gegevens.").replace("\r\n", "\n"),
            mail("kees.smit@example.nl", b, "Verwijder al mijn gegevens.").replace("\r\n", "\n")
        )
    };
    std::fs::write(env.path("bom.mbox"), format!("\u{feff}{}", two("b1@x", "b2@x"))).unwrap();
    std::fs::write(env.path("blank.mbox"), format!("\n\r\n{}", two("c1@x", "c2@x"))).unwrap();
    std::fs::create_dir_all(env.path("spool")).unwrap();
    std::fs::write(env.path("spool/privacy"), two("d1@x", "d2@x")).unwrap();
    for path in ["bom.mbox", "blank.mbox", "spool"] {
        let (run, code) = intake(&env, &[path]);
        assert_eq!(code, 0, "{path}: {run}");
        let got = outcomes(&run);
        assert_eq!(got.len(), 2, "{path}: one message each, never one for both: {run}");
        assert!(got.iter().all(|(o, _)| o != "needs-review" && o != "unreadable"), "{path}: {got:?}");
    }
    // Kees's erasure request is his own, three times over (once per file).
    let kees: i64 = env.count(
        "SELECT count(*) FROM request r JOIN email_address e ON e.person_id = r.person_id
          WHERE e.address = 'kees.smit@example.nl' AND r.kind = 'erase'",
    );
    assert_eq!(kees, 1, "one open erasure request for Kees");
}

#[test]
fn another_senders_message_with_the_same_message_id_is_read() {
    let env = Env::with_fixture_at("virtio", NOW);
    std::fs::write(env.path("a.eml"), mail("jan.devries@example.nl", "1@localhost", "Wanneer is de winkel open?"))
        .unwrap();
    std::fs::write(env.path("b.eml"), mail("kees.smit@example.nl", "1@localhost", "Verwijder al mijn gegevens."))
        .unwrap();
    let (run, code) = intake(&env, &["a.eml", "b.eml"]);
    assert_eq!(code, 0);
    assert_eq!(outcomes(&run), [("listed".to_owned(), String::new()), ("opened".to_owned(), "erase".to_owned())]);
    // The same message from the same sender delivered again (another Received line): read before.
    std::fs::write(
        env.path("c.eml"),
        format!("Received: from mx\r\n{}", mail("kees.smit@example.nl", "1@localhost", "Verwijder al mijn gegevens.")),
    )
    .unwrap();
    let (run, _) = intake(&env, &["c.eml"]);
    assert_eq!(run["summary"]["seen_before"], 1, "{run}");
}

#[test]
fn a_code_letter_read_back_or_forwarded_keeps_no_live_code() {
    let env = Env::with_fixture_at("virtio", NOW);
    let opened = env.open("erase", &["--email", "jan.devries@example.nl"]);
    let code = env.code(&opened.request);
    let letter = std::fs::read_dir(env.outbox()).unwrap().next().unwrap().unwrap().path();
    let forwarded = format!(
        "From: jan.devries@example.nl\r\nTo: support@virtio.nl\r\nSubject: Fwd: is dit echt?\r\nMessage-ID: <f1@x>\r\n\r\nIk heb dit niet gevraagd.\r\n---------- Forwarded message ---------\r\n{}",
        support::Mail::parse(&std::fs::read(&letter).unwrap(), letter.clone()).body
    );
    std::fs::write(env.path("fwd.eml"), forwarded).unwrap();
    let (run, code_exit) = intake(&env, &[letter.to_str().unwrap(), "fwd.eml"]);
    assert_eq!(code_exit, 0, "{run}");
    for shown in
        [support::stdout(&env.run(&["intake", "--list"])), support::stdout(&env.run(&["--json", "intake", "--list"]))]
    {
        assert!(!shown.contains(&code), "the live code is shown:\n{shown}");
        assert!(shown.contains("****-****"), "{shown}");
    }
    let kept: i64 = env.count(&format!(
        "SELECT count(*) FROM intake_message WHERE excerpt LIKE '%{code}%' OR subject LIKE '%{code}%'"
    ));
    assert_eq!(kept, 0, "no live code in the store");
}

#[test]
fn a_maildir_folder_dsr_may_not_list_is_said_and_exits_19() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::with_fixture_at("virtio", NOW);
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(env.path(&format!("Maildir/{sub}"))).unwrap();
    }
    std::fs::write(
        env.path("Maildir/cur/1.x:2,S"),
        mail("kees.smit@example.nl", "m1@x", "Verwijder al mijn gegevens."),
    )
    .unwrap();
    std::fs::set_permissions(env.path("Maildir/cur"), std::fs::Permissions::from_mode(0o000)).unwrap();
    let out = if std::fs::read_dir(env.path("Maildir/cur")).is_ok() {
        // Root reads folders whatever their mode: dsr runs as nobody, who owns the rest.
        let Some(setpriv) = support::program("setpriv") else { return };
        let owned =
            std::process::Command::new("chown").args(["-R", "65534:65534"]).arg(env.dir.path()).status().unwrap();
        assert!(owned.success());
        std::process::Command::new(setpriv)
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", env!("CARGO_BIN_EXE_dsr"), "--db"])
            .arg(&env.db)
            .args(["intake", "Maildir"])
            .current_dir(env.dir.path())
            .env("DSR_NOW", NOW)
            .env_remove("DSR_DB")
            .output()
            .unwrap()
    } else {
        env.run(&["intake", "Maildir"])
    };
    std::fs::set_permissions(env.path("Maildir/cur"), std::fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(out.status.code(), Some(19), "{}", support::stderr(&out));
    assert!(support::stderr(&out).contains("Maildir/cur: could not be read"), "{}", support::stderr(&out));
}

#[test]
fn more_mail_for_a_request_already_open_is_counted_apart_and_kept_without_carriage_returns() {
    let env = Env::with_fixture_at("virtio", NOW);
    let paths: Vec<String> = (1..=3)
        .map(|i| {
            let name = format!("m{i}.eml");
            std::fs::write(
                env.path(&name),
                mail("jan.devries@example.nl", &format!("r{i}@x"), "Ik wil inzage in mijn gegevens."),
            )
            .unwrap();
            name
        })
        .collect();
    let names: Vec<&str> = paths.iter().map(String::as_str).collect();
    let (run, _) = intake(&env, &names);
    assert_eq!(
        (run["summary"]["opened"].as_u64(), run["summary"]["already_open"].as_u64()),
        (Some(1), Some(2)),
        "{run}"
    );
    std::fs::write(
        env.path("q.eml"),
        mail("kees.smit@example.nl", "q@x", "Wanneer is de winkel open?\r\nGroet,\r\nKees"),
    )
    .unwrap();
    intake(&env, &["q.eml"]);
    let listed = support::stdout(&env.run(&["intake", "--list"]));
    assert!(listed.contains("Groet,") && !listed.contains("\\u{d}") && !listed.contains('\r'), "{listed}");
}

/// A privacy address that is a Google Group rewrites the writer's From to its own (DMARC) and
/// names the writer in Reply-To: the writer is the sender, not dsr's own mail read back.
#[test]
fn a_message_a_google_group_passed_on_is_its_writers() {
    let env = Env::with_fixture_at("virtio", NOW);
    let own = "support@virtio.nl";
    std::fs::write(
        env.path("gg.eml"),
        format!(
            "From: 'Kees' via Privacy <{own}>\r\nReply-To: kees.smit@example.nl\r\nTo: {own}\r\nSubject: Verzoek\r\nList-Id: <support.virtio.nl>\r\nList-Post: <mailto:{own}>\r\nPrecedence: list\r\nMessage-ID: <gg1@x>\r\n\r\nVerwijder al mijn gegevens.\r\n"
        ),
    )
    .unwrap();
    let (run, code) = intake(&env, &["gg.eml"]);
    assert_eq!(code, 0, "{run}");
    assert_eq!(outcomes(&run), [("opened".to_owned(), "erase".to_owned())], "{run}");
}

/// A person on file whose address is an address literal gets no letter, and opening a request
/// for them answers as for anyone (no exit 2 that would tell the person is on file).
#[test]
fn an_address_literal_on_file_answers_as_for_anyone() {
    let env = Env::with_fixture_at("virtio", NOW);
    env.sql()
        .execute("UPDATE email_address SET address = 'x@[127.0.0.1]', address_norm = 'x@[127.0.0.1]' WHERE address = 'kees.smit@example.nl'", [])
        .unwrap();
    let known = env.run(&["access", "--email", "x@[127.0.0.1]"]);
    let unknown = env.run(&["access", "--email", "y@[127.0.0.2]"]);
    assert_eq!(known.status.code(), Some(0), "{}", support::stderr(&known));
    assert_eq!(unknown.status.code(), Some(0), "{}", support::stderr(&unknown));
    assert!(
        !env.outbox().exists() || std::fs::read_dir(env.outbox()).unwrap().next().is_none(),
        "no letter to a literal"
    );
}

#[test]
fn a_body_line_starting_with_from_in_an_unquoted_mbox_stays_in_its_message() {
    let env = Env::with_fixture_at("virtio", NOW);
    let body = "Goedendag,\n\nFrom what I can see you still mail me.\nFrom now on: verwijder al mijn gegevens.";
    let mbox = format!(
        "From a@b Mon Nov 30 10:00:00 2026\n{}\nFrom kees Mon Nov 30 11:00:00 +0000 2026\n{}",
        mail("jan.devries@example.nl", "e1@x", body).replace("\r\n", "\n"),
        mail("kees.smit@example.nl", "e2@x", "Ik wil inzage in mijn gegevens.").replace("\r\n", "\n")
    );
    std::fs::write(env.path("plain.mbox"), mbox).unwrap();
    let (run, code) = intake(&env, &["plain.mbox"]);
    assert_eq!(code, 0, "{run}");
    assert_eq!(outcomes(&run), [("opened".to_owned(), "erase".to_owned()), ("opened".to_owned(), "access".to_owned())]);
}

#[test]
fn a_maildir_file_that_is_a_link_is_read_and_a_broken_link_is_named() {
    let env = Env::with_fixture_at("virtio", NOW);
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(env.path(&format!("Maildir/{sub}"))).unwrap();
    }
    std::fs::write(env.path("kept.eml"), mail("kees.smit@example.nl", "l1@x", "Verwijder al mijn gegevens.")).unwrap();
    std::os::unix::fs::symlink(env.path("kept.eml"), env.path("Maildir/cur/1.x:2,S")).unwrap();
    std::os::unix::fs::symlink(env.path("gone.eml"), env.path("Maildir/cur/2.x:2,S")).unwrap();
    let out = env.run(&["--json", "intake", "Maildir"]);
    assert_eq!(out.status.code(), Some(19), "{}", support::stderr(&out));
    assert!(support::stderr(&out).contains("Maildir/cur/2.x:2,S"), "{}", support::stderr(&out));
    let run: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcomes(&run), [("opened".to_owned(), "erase".to_owned())]);
}
