//! The letters to the person: refusals (Art. 12(4)-(6)), the controller's details in every
//! letter, and what an erasure letter says it keeps.

use serde_json::Value;

use crate::support::{self, Env};

const JAN: &str = "jan.devries@example.nl";

fn verified(env: &Env, right: &str, args: &[&str]) -> String {
    let o = env.open(right, args);
    let code = env.code(&o.request);
    env.dsr().args(["verify", &o.request, &code]).assert().success();
    o.request
}

fn reject(env: &Env, id: &str, reason: &str, note: &str) -> String {
    let (r, code): (Value, i32) =
        env.json(&["request", "reject", id, "--reason", reason, "--note", note, "--note-nl", &format!("NL: {note}")]);
    assert_eq!(code, 0, "{r}");
    let letter = r["letter"].as_str().unwrap().to_owned();
    let mail = env.messages(id).into_iter().find(|m| m.subject.contains("Refusal")).expect("refusal mailed");
    assert_eq!(mail.to, vec![JAN.to_owned()]);
    assert_eq!(mail.body.replace("\r\n", "\n").trim(), letter.trim(), "the mail is the letter shown");
    letter
}

#[test]
fn a_refusal_for_repetition_names_the_earlier_requests_and_the_court_term() {
    let env = Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
    let first = env.open("access", &["--email", JAN]).request;
    reject(&env, &first, "other", "Sent to the wrong company.");
    let second = env.open("access", &["--email", JAN]);
    assert!(second.new && second.request != first);
    // Another right of the same person is not a repetition of this one.
    let other_right = env.open("erase", &["--email", JAN]).request;
    let letter = reject(&env, &second.request, "excessive", "The same request again within a week.");
    for text in [
        "kennelijk ongegrond of buitensporig",
        "manifestly unfounded or excessive",
        "Art. 12(5)",
        "art. 12 lid 5",
        "Autoriteit Persoonsgegevens",
        "zes weken",
        "six weeks",
        "art. 35",
    ] {
        assert!(letter.contains(text), "the refusal lacks {text}:\n{letter}");
    }
    let (dutch, english) = letter.split_once("----").unwrap();
    assert!(dutch.contains(&first) && english.contains(&first), "the earlier request is named:\n{letter}");
    assert!(!letter.contains(&other_right), "an erasure request is not an earlier access request:\n{letter}");
    assert!(letter.contains("repetitive character") && letter.contains("repetitieve karakter"), "{letter}");
    // Excessive without an earlier request for the right: no repetition is claimed.
    let env = Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
    let only = env.open("access", &["--email", JAN]).request;
    let letter = reject(&env, &only, "excessive", "It asks for every log line of ten years, daily.");
    assert!(letter.contains("manifestly excessive") && letter.contains("kennelijk buitensporig"), "{letter}");
    assert!(!letter.contains("repetitive") && !letter.contains("repetitieve"), "{letter}");
}

#[test]
fn an_identity_refusal_cites_art_11_and_12_and_says_how_to_still_identify() {
    let env = Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
    let id = env.open("access", &["--email", JAN]).request;
    let letter = reject(&env, &id, "identity-not-confirmed", "The code was never relayed.");
    for text in [
        "art. 11 lid 2",
        "art. 12 lid 2",
        "Art. 11(2) and 12(2)",
        "alsnog identificeren",
        "still be identified",
        "code",
        "klantnummer",
        "customer number",
        "support@virtio.nl",
    ] {
        assert!(letter.contains(text), "the identity refusal lacks {text}:\n{letter}");
    }
    assert!(!letter.contains("12 lid 6") && !letter.contains("12(6)"), "{letter}");
}

#[test]
fn every_letter_carries_the_controllers_name_address_kvk_and_privacy_contact() {
    let mut env = Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
    // A code, an extension and a refusal.
    let access = env.open("access", &["--email", JAN]).request;
    env.dsr()
        .args([
            "request",
            "extend",
            &access,
            "--months",
            "1",
            "--reason",
            "Many systems to search.",
            "--reason-nl",
            "Veel systemen te doorzoeken.",
        ])
        .assert()
        .success();
    env.dsr()
        .args([
            "request",
            "reject",
            &access,
            "--reason",
            "unfounded",
            "--note",
            "Not our customer.",
            "--note-nl",
            "Geen klant van ons.",
        ])
        .assert()
        .success();
    // A restriction, its lift notice; a rectification of the address on file; an erasure.
    let restrict = verified(&env, "restrict", &["--email", JAN, "--ground", "accuracy-contested"]);
    env.dsr().args(["restrict", &restrict, "--yes"]).assert().success();
    env.dsr()
        .args([
            "restrict",
            "--lift",
            &restrict,
            "--reason",
            "Checked: correct.",
            "--reason-nl",
            "Gecontroleerd: juist.",
        ])
        .assert()
        .success();
    // At most 3 codes per person per hour.
    env.now = Some("2026-11-02T11:00:00Z".into());
    let rectify = verified(&env, "rectify", &["--email", JAN, "--set", "email=jan@devries.example"]);
    env.dsr().args(["rectify", &rectify, "--yes"]).assert().success();
    let erase = verified(&env, "erase", &["--email", "jan@devries.example"]);
    let out = env.run(&["erase", &erase, "--yes"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let mut kinds = Vec::new();
    for id in [&access, &restrict, &rectify, &erase] {
        for m in env.messages(id) {
            let (dutch, english) = m.body.split_once("----").unwrap_or_else(|| panic!("bilingual: {}", m.body));
            for text in
                ["Virtio ICT B.V.", "Adres: Nederland", "KvK-nummer: 76181553", "Privacycontact: support@virtio.nl"]
            {
                assert!(dutch.contains(text), "{} lacks {text} in Dutch:\n{}", m.subject, m.body);
            }
            for text in [
                "Virtio ICT B.V.",
                "Address: Nederland",
                "Chamber of Commerce (KvK) number: 76181553",
                "Privacy contact: support@virtio.nl",
            ] {
                assert!(english.contains(text), "{} lacks {text} in English:\n{}", m.subject, m.body);
            }
            kinds.push(m.subject.clone());
        }
    }
    for kind in ["Extension", "Refusal", "Restriction", "Rectification", "Email address changed", "Erasure"] {
        assert!(kinds.iter().any(|k| k.contains(kind)), "no {kind} letter among {kinds:?}");
    }
    assert!(kinds.len() >= 10, "codes and letters: {kinds:?}");
}

#[test]
fn the_erasure_letter_keeps_a_claim_until_settled_and_its_fiscal_hold_and_calls_it_no_duty() {
    let env = Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
    let (number, year): (String, String) = env
        .sql()
        .query_row(
            "SELECT c.customer_number, max(substr(i.issued_at, 1, 4)) FROM invoice i JOIN customer c ON c.id = i.customer_id
             WHERE i.status IN ('open', 'overdue', 'collection') GROUP BY c.id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let until = format!("{}-12-31", year.parse::<i32>().unwrap() + 7);
    let id = verified(&env, "erase", &["--customer", &number]);
    let (plan, code): (Value, i32) = env.json(&["erase", &id, "--dry-run"]);
    assert_eq!(code, 0, "{plan}");
    let unpaid: Vec<&Value> = plan["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["table"] == "invoice" && s["ground"].as_str().unwrap().contains("17(3)(e)"))
        .collect();
    assert!(
        unpaid.iter().any(|s| s["until"] == format!("until settled, not before {until}")),
        "the later of settlement and the fiscal hold: {unpaid:?}"
    );
    env.dsr().args(["erase", &id, "--yes"]).assert().success();
    let m = env.messages(&id).into_iter().find(|m| m.subject.contains("Erasure")).expect("erasure answer");
    assert!(!m.body.contains("law makes us keep") && !m.body.contains("volgens de wet moeten bewaren"), "{}", m.body);
    let end = until.split('-').next().unwrap();
    assert!(m.body.contains(&format!("at least until 31 December {end}")), "{}", m.body);
    assert!(m.body.contains(&format!("ten minste tot 31 december {end}")), "{}", m.body);
    for line in m.body.lines().filter(|l| l.contains("17(3)(e)") || l.contains("17 lid 3 onder e")) {
        // What is said of the claim comes before its citation; the fiscal hold may follow it.
        let claim_part = line.split("17(3)(e)").next().unwrap().split("17 lid 3 onder e").next().unwrap();
        for duty in ["legal obligation", "wettelijke", "the law", "duty", "plicht"] {
            assert!(!claim_part.contains(duty), "a claim is not a legal duty: {line}");
        }
    }
}

#[test]
fn a_free_text_reason_is_asked_in_both_languages_and_each_layer_reads_its_own() {
    let env = Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
    let access = env.open("access", &["--email", JAN]).request;
    let out = env.run(&["request", "extend", &access, "--months", "1", "--reason", "Three systems to search"]);
    assert_eq!(out.status.code(), Some(2), "English only is refused off a terminal");
    support::assert_one_line_error(&out);
    assert!(support::stderr(&out).contains("--reason-nl") && support::stderr(&out).contains("complexity"));
    let (v, code): (Value, i32) = env.json(&[
        "request",
        "extend",
        &access,
        "--months",
        "1",
        "--reason",
        "Three systems to search",
        "--reason-nl",
        "Drie systemen te doorzoeken",
    ]);
    assert_eq!(code, 0, "{v}");
    let letter = v["letter"].as_str().unwrap();
    let (nl, en) = letter.split_once("----------------------------------------").unwrap();
    assert!(nl.contains("Reden: Drie systemen te doorzoeken") && !nl.contains("Three systems"), "{nl}");
    assert!(en.contains("Reason: Three systems to search") && !en.contains("Drie systemen"), "{en}");
    // A coded reason needs no translation.
    let other = env.open("export", &["--email", JAN]).request;
    env.dsr().args(["request", "extend", &other, "--months", "1", "--reason", "complexity"]).assert().success();
}
