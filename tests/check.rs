//! `dsr check`: consent to the newsletter is per address.

use serde::Deserialize;

use crate::support::{self, Env};

#[derive(Debug, Deserialize)]
struct Verdict {
    allowed: bool,
    reason: Option<String>,
}

fn newsletter(env: &Env, who: &[&str]) -> (Verdict, i32) {
    let mut args = vec!["check", "--purpose", "newsletter"];
    args.extend_from_slice(who);
    env.json(&args)
}

/// Pieter van den Berg (virtio person 3) has three addresses and a newsletter consent on record,
/// given with pieter.vandenberg@example.com: only that address was opted in.
#[test]
fn the_newsletter_is_allowed_only_for_the_address_that_was_opted_in() {
    let env = Env::with_fixture("virtio");
    let (v, code) = newsletter(&env, &["--email", "Pieter.vandenBerg@example.com"]);
    assert!(v.allowed && code == 0, "{v:?}");
    for other in ["alerts@vdberg-it.example", "p.vdberg@example.org"] {
        let (v, code) = newsletter(&env, &["--email", other]);
        assert!(!v.allowed, "{other}: another address of the person is not allowed by the consent");
        assert_eq!((v.reason.as_deref(), code), (Some("consent-missing"), 20), "{other}");
    }
    // Named by customer number, the person has an opted-in address.
    let (v, code) = newsletter(&env, &["--customer", "V200458"]);
    assert!(v.allowed && code == 0, "{v:?}");
    // An opted-in address whose consent was later withdrawn is not allowed.
    env.sql()
        .execute("UPDATE email_address SET newsletter_opt_in = 1 WHERE address = 'sophie.meijer@example.nl'", [])
        .unwrap();
    let (v, code) = newsletter(&env, &["--email", "sophie.meijer@example.nl"]);
    assert_eq!((v.allowed, v.reason.as_deref(), code), (false, Some("consent-withdrawn"), 20));
}

#[test]
fn the_stream_lets_through_only_opted_in_addresses_that_were_not_withdrawn() {
    let env = Env::with_fixture("virtio");
    env.sql()
        .execute("UPDATE email_address SET newsletter_opt_in = 1 WHERE address = 'sophie.meijer@example.nl'", [])
        .unwrap();
    let input = "alerts@vdberg-it.example\npieter.vandenberg@example.com\np.vdberg@example.org\n\
                 sophie.meijer@example.nl\njan.devries@example.nl\nnobody@example.nl\n";
    let out = env.dsr().args(["check", "--purpose", "newsletter", "--stdin"]).write_stdin(input).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
    assert_eq!(support::stdout(&out), "pieter.vandenberg@example.com\njan.devries@example.nl\n");
    assert!(support::stderr(&out).contains("6 addresses read, 2 allowed"), "{}", support::stderr(&out));
}

#[test]
fn a_line_that_is_not_utf8_is_one_malformed_line_and_the_stream_keeps_going() {
    let env = Env::with_fixture("virtio");
    let mut input: Vec<u8> = b"pieter.vandenberg@example.com\n".to_vec();
    input.extend_from_slice(b"caf\xe9@example.nl\n");
    // A line longer than any address is one malformed line too, not held whole.
    input.extend_from_slice(&[b'x'; 1 << 20]);
    input.push(b'\n');
    input.extend_from_slice(b"jan.devries@example.nl\r\n");
    let out = env.dsr().args(["check", "--purpose", "newsletter", "--stdin"]).write_stdin(input).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
    assert_eq!(support::stdout(&out), "pieter.vandenberg@example.com\njan.devries@example.nl\n");
    assert!(
        support::stderr(&out).contains("4 addresses read, 2 allowed for newsletter, 2 not (2 malformed)"),
        "{}",
        support::stderr(&out)
    );
}

/// A list long enough for many batches on several workers: every allowed line comes out once,
/// in the order given, whatever worker looked it up; a suppressed address stays out.
#[test]
fn a_long_stream_keeps_the_input_order_across_batches_and_workers() {
    let env = Env::with_fixture("virtio");
    // Jan was opted in, then objected to the newsletter: his address is on the suppression list.
    env.sql()
        .execute("UPDATE email_address SET newsletter_opt_in = 1 WHERE address = 'jan.devries@example.nl'", [])
        .unwrap();
    let opened = env.open("object", &["--email", "jan.devries@example.nl", "--purpose", "newsletter"]);
    let code = env.code(&opened.request);
    env.dsr().args(["verify", &opened.request, &code]).assert().success();
    env.dsr().args(["object", &opened.request, "--yes"]).assert().success();
    let suppressed: i64 = env.sql().query_row("SELECT count(*) FROM suppression", [], |r| r.get(0)).unwrap();
    assert!(suppressed > 0);
    let addresses = [
        "pieter.vandenberg@example.com",
        "alerts@vdberg-it.example",
        "jan.devries@example.nl",
        "nobody@example.nl",
        "Pieter.vandenBerg@example.com",
    ];
    let mut input = String::new();
    let mut expected = String::new();
    for i in 0..20_000usize {
        // Each line numbered by its case, so a line out of place shows.
        let a = addresses[(i * 7 + i / 3) % addresses.len()];
        input.push_str(a);
        input.push('\n');
        if a.eq_ignore_ascii_case("pieter.vandenberg@example.com") {
            expected.push_str(a);
            expected.push('\n');
        }
    }
    let out = env.dsr().args(["check", "--purpose", "newsletter", "--stdin"]).write_stdin(input).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
    assert!(support::stdout(&out) == expected, "the allowed lines, in input order");
    let allowed = expected.lines().count();
    assert!(
        support::stderr(&out).contains(&format!("20000 addresses read, {allowed} allowed")),
        "{}",
        support::stderr(&out)
    );
}

/// A person one of whose addresses is on the suppression list (an erased person's address, given
/// again later) gets no direct marketing at any address: in a stream as for one check.
#[test]
fn an_address_of_a_person_whose_other_address_is_suppressed_is_not_allowed() {
    let env = Env::with_fixture("virtio");
    let erase = env.verified("erase", &["--email", "jan.devries@example.nl"]);
    env.dsr().args(["erase", &erase, "--yes"]).assert().success();
    let pieter: i64 = env
        .sql()
        .query_row(
            "SELECT person_id FROM email_address WHERE address_norm = 'pieter.vandenberg@example.com'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let stream = |env: &Env| {
        let input = "pieter.vandenberg@example.com\nnobody@example.nl\n";
        let out = env.dsr().args(["check", "--purpose", "newsletter", "--stdin"]).write_stdin(input).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
        support::stdout(&out)
    };
    assert_eq!(stream(&env), "pieter.vandenberg@example.com\n", "allowed while no address of his is suppressed");
    env.sql()
        .execute(
            "INSERT INTO email_address (person_id, address, address_norm, is_primary, newsletter_opt_in, created_at)
             VALUES (?1, 'jan.devries@example.nl', 'jan.devries@example.nl', 0, 0, '2026-12-01T00:00:00Z')",
            [pieter],
        )
        .unwrap();
    assert_eq!(stream(&env), "", "his other address is on the suppression list");
    let out = env.run(&["--json", "check", "--purpose", "newsletter", "--email", "pieter.vandenberg@example.com"]);
    assert_eq!(out.status.code(), Some(20), "{}", support::stderr(&out));
    assert!(support::stdout(&out).contains("\"suppressed\""), "{}", support::stdout(&out));
}

/// An erased person's phone number and customer number, written back by an application under a
/// new person, keep that person out of direct marketing as an address does (by phone, by customer
/// number and in a stream of the new person's address); an identifier no one holds any more is
/// `suppressed`, not unknown, and the detail says it was an erased person's.
#[test]
fn an_erased_persons_phone_and_customer_number_are_suppressed_too() {
    let env = Env::with_fixture("virtio");
    let erase = env.verified("erase", &["--email", "jan.devries@example.nl"]);
    env.dsr().args(["erase", &erase, "--yes"]).assert().success();
    let (v, code): (serde_json::Value, i32) =
        env.json(&["check", "--purpose", "newsletter", "--email", "jan.devries@example.nl"]);
    assert_eq!((v["reason"].as_str(), code), (Some("suppressed"), 20), "{v}");
    assert!(v["detail"].as_str().unwrap().contains("erased"), "the detail says why: {v}");
    let (v, code): (serde_json::Value, i32) = env.json(&["check", "--purpose", "newsletter", "--customer", "v204117"]);
    assert_eq!((v["reason"].as_str(), code), (Some("suppressed"), 20), "no one holds it, and it is on the list: {v}");
    env.sql()
        .execute_batch(
            "INSERT INTO person (id, created_at, source) VALUES (501, '2026-12-01T08:00:00Z', 'signup');
             INSERT INTO email_address (person_id, address, address_norm, is_primary, newsletter_opt_in, created_at)
               VALUES (501, 'jdv.new@example.nl', 'jdv.new@example.nl', 1, 1, '2026-12-01T08:00:00Z');
             INSERT INTO phone_number (person_id, number, use_contact, use_2fa, use_monitoring, created_at)
               VALUES (501, '+31612345678', 1, 0, 0, '2026-12-01T08:00:00Z');",
        )
        .unwrap();
    let (v, code): (serde_json::Value, i32) =
        env.json(&["check", "--purpose", "newsletter", "--phone", "+31612345678"]);
    assert_eq!((v["reason"].as_str(), code), (Some("suppressed"), 20), "{v}");
    let (v, code): (serde_json::Value, i32) =
        env.json(&["check", "--purpose", "newsletter", "--email", "jdv.new@example.nl"]);
    assert_eq!((v["reason"].as_str(), code), (Some("suppressed"), 20), "the new record's address too: {v}");
    let out = env
        .dsr()
        .args(["check", "--purpose", "newsletter", "--stdin"])
        .write_stdin("jdv.new@example.nl\n")
        .output()
        .unwrap();
    assert_eq!(support::stdout(&out), "", "nor in a stream");
    // A purpose that is not direct marketing is not the suppression list's to stop.
    let (v, code): (serde_json::Value, i32) = env.json(&["check", "--purpose", "contact", "--phone", "+31612345678"]);
    assert!(code != 20 || v["reason"].as_str() != Some("suppressed"), "{v}");
}

/// An objection to direct marketing stops the mailing from its verification, before the officer
/// carries it out (Art. 21(3)); one rejected does not.
#[test]
fn a_verified_objection_to_direct_marketing_stops_it_at_once() {
    let env = Env::with_fixture("virtio");
    let who = "pieter.vandenberg@example.com";
    assert_eq!(newsletter(&env, &["--email", who]).1, 0, "opted in before");
    let opened = env.open("object", &["--email", who, "--purpose", "newsletter"]);
    assert_eq!(newsletter(&env, &["--email", who]).1, 0, "an objection not yet verified is not yet known to be his");
    env.dsr().args(["verify", &opened.request, &env.code(&opened.request)]).assert().success();
    let (v, code) = newsletter(&env, &["--email", who]);
    assert_eq!((v.reason.as_deref(), code), (Some("objected"), 20), "verified, not yet carried out");
    let out = env
        .dsr()
        .args(["check", "--purpose", "newsletter", "--stdin"])
        .write_stdin(format!("{who}\n"))
        .output()
        .unwrap();
    assert_eq!(support::stdout(&out), "", "nor in a stream");
}

/// `--stdin` is a filter whose output is the allowed lines: with `--json` it is refused at once
/// (exit 2) instead of printing lines a JSON reader would choke on.
#[test]
fn stdin_with_json_is_refused_as_a_usage_error() {
    let env = Env::with_fixture("virtio");
    let out = env.run(&["--json", "check", "--purpose", "newsletter", "--stdin"]);
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["error"]["message"].as_str().unwrap().contains("leave out --json"), "{v}");
}
