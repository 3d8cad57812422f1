//! Rectify, restrict, object, the recipients to notify, and `dsr check`.

use serde_json::Value;

use crate::support::{self, Env};

/// Open a request for `right`, verify it with the code from the outbox, return its id.
fn verified(env: &Env, right: &str, args: &[&str]) -> String {
    let o = env.open(right, args);
    let code = env.code(&o.request);
    env.dsr().args(["verify", &o.request, &code]).assert().success();
    o.request
}

fn apply(env: &Env, right: &str, id: &str) -> Value {
    let (v, code): (Value, i32) = env.json(&[right, id, "--yes"]);
    assert_eq!(code, 0, "{right} {id}: {v}");
    v
}

fn check(env: &Env, who: &[&str], purpose: &str) -> (i32, Value) {
    let mut args = vec!["check"];
    args.extend_from_slice(who);
    args.extend_from_slice(&["--purpose", purpose]);
    let (v, code): (Value, i32) = env.json(&args);
    (code, v)
}

const JAN: [&str; 2] = ["--email", "jan.devries@example.nl"];

#[test]
fn each_validation_rule_accepts_good_and_refuses_bad_values() {
    let env = Env::with_fixture("virtio");
    for good in [
        "email=jan.nieuw@example.nl",
        "phone=+31 6 1111 2222",
        "postal_code=1012ab",
        "iban=NL91ABNA0417164300",
        "kvk=12345678",
        "vat=NL123456789B01",
        "city=Den Haag",
        "country=NL",
    ] {
        // Each replaces the open request's details; past the hour's codes it is recorded with exit 8.
        let out = env.run(&["--json", "rectify", "--email", "jan.devries@example.nl", "--set", good]);
        assert!(matches!(out.status.code(), Some(0 | 8)), "{good}: {}", support::stderr(&out));
    }
    for bad in [
        "email=jan@",
        "phone=0612345678",
        "postal_code=12345",
        "iban=NL91ABNA0417164301",
        "kvk=123",
        "vat=NL12345",
        "country=Nederland",
        "city=",
        "given_name=Daan\u{202e}gnp.exe",
        "given_name=Daan\u{200b}",
        "city=Den\u{2028}Haag",
    ] {
        let out = env.run(&["rectify", "--email", "sanne@bakkerwebdesign.example", "--set", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad} accepted");
        support::assert_one_line_error(&out);
    }
    let out = env.run(&["rectify", "--email", "sanne@bakkerwebdesign.example", "--set", "shoe_size=44"]);
    assert_eq!(out.status.code(), Some(2));
    let err = support::stderr(&out);
    for field in ["given_name", "postal_code", "iban", "kvk", "vat"] {
        assert!(err.contains(field), "the error lists valid fields: {err}");
    }
    // A Belgian postal code is valid once the country is Belgium.
    let out = env.run(&[
        "--json",
        "rectify",
        "--email",
        "lotte.jansen@example.org",
        "--set",
        "country=BE",
        "--set",
        "postal_code=1000",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
}

#[test]
fn a_rectification_shows_old_and_new_needs_yes_off_a_terminal_and_applies() {
    let env = Env::with_fixture("virtio");
    let id = verified(
        &env,
        "rectify",
        &[
            "--email",
            "jan.devries@example.nl",
            "--set",
            "city=Amsterdam",
            "--set",
            "postal_code=1012 ab",
            "--supplement",
            "identity=Ik heet ook wel Johannes.",
        ],
    );
    let out = env.run(&["rectify", &id]);
    assert_eq!(out.status.code(), Some(2), "no --yes off a terminal: refuses");
    let city: String = env.sql().query_row("SELECT city FROM person p JOIN email_address e ON e.person_id = p.id WHERE e.address = 'jan.devries@example.nl'", [], |r| r.get(0)).unwrap();
    assert_eq!(city, "Utrecht", "nothing changed without confirmation");
    let out = env.run(&["rectify", &id, "--yes"]);
    assert!(out.status.success());
    let err = support::stderr(&out);
    assert!(err.contains("Utrecht") && err.contains("Amsterdam"), "old -> new shown: {err}");
    let (city, postal): (String, String) = env
        .sql()
        .query_row("SELECT city, postal_code FROM person p JOIN email_address e ON e.person_id = p.id WHERE e.address = 'jan.devries@example.nl'", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!((city.as_str(), postal.as_str()), ("Amsterdam", "1012 AB"));
    let statements: i64 = env
        .sql()
        .query_row("SELECT count(*) FROM supplementary_statement WHERE category = 'identity'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(statements, 1);
    let (shown, _): (Value, i32) = env.json(&["request", "show", &id]);
    assert_eq!(shown["state"], "completed");
    let audit: String = env
        .sql()
        .query_row("SELECT group_concat(details) FROM audit_log WHERE action = 'rectified'", [], |r| r.get(0))
        .unwrap();
    assert!(!audit.contains("Amsterdam"), "the trail names fields, not values");
    // A value already on file is no correction: left out beside a real one.
    let id = verified(
        &env,
        "rectify",
        &["--email", "jan.devries@example.nl", "--set", "city=Amsterdam", "--set", "postal_code=1013 AB"],
    );
    let (v, code): (Value, i32) = env.json(&["rectify", &id, "--yes"]);
    assert_eq!(code, 0, "{v}");
    let fields: Vec<&str> =
        v["outcome"]["changes"].as_array().unwrap().iter().filter_map(|c| c["field"].as_str()).collect();
    assert_eq!(fields, ["postal_code"], "{v}");
    // Alone, it is an answer, not a refusal (Art. 16: the data already reads as asked): the
    // request completes with a letter that says so, nothing is changed and no recipient told.
    let notices = env.count("SELECT count(*) FROM notification");
    let id = verified(&env, "rectify", &["--email", "jan.devries@example.nl", "--set", "city=Amsterdam"]);
    let (v, code): (Value, i32) = env.json(&["rectify", &id, "--yes"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["outcome"]["changes"], serde_json::json!([]), "{v}");
    assert_eq!(v["outcome"]["already_accurate"], serde_json::json!(["city"]), "{v}");
    let (shown, _): (Value, i32) = env.json(&["request", "show", &id]);
    assert_eq!(shown["state"], "completed");
    assert_eq!(env.count("SELECT count(*) FROM notification"), notices);
    let letter = env.messages(&id).into_iter().last().expect("the answer");
    assert!(
        letter.body.contains("already read as you asked") && letter.body.contains("stonden al zoals je vroeg"),
        "{}",
        letter.body
    );
    assert!(!letter.body.contains("we corrected"), "{}", letter.body);
}

#[test]
fn changing_the_email_address_uses_and_tells_the_old_address() {
    let env = Env::with_fixture("virtio");
    let o = env.open("rectify", &["--customer", "V204117", "--set", "email=jan.nieuw@example.nl"]);
    let first = &env.messages(&o.request)[0];
    assert_eq!(first.to, vec!["jan.devries@example.nl".to_owned()], "the code goes to the old address");
    let code = first.code().unwrap();
    env.dsr().args(["verify", &o.request, &code]).assert().success();
    apply(&env, "rectify", &o.request);
    let notice =
        env.messages(&o.request).into_iter().find(|m| m.subject.contains("changed")).expect("a notice of the change");
    assert_eq!(notice.to, vec!["jan.devries@example.nl".to_owned()], "the old address is told");
    assert!(notice.body.contains("jan.nieuw@example.nl"));
    let (v, code): (Value, i32) = env.json(&["lookup", "--email", "JAN.NIEUW@example.nl"]);
    assert_eq!((code, v["status"].as_str()), (0, Some("found")));
    let (_, code): (Value, i32) = env.json(&["lookup", "--email", "jan.devries@example.nl"]);
    assert_eq!(code, 3);
}

/// A person with a secondary address: (person, that address, their primary one).
fn with_two_addresses(env: &Env) -> (i64, String, String) {
    env.sql()
        .query_row(
            "SELECT s.person_id, s.address, p.address FROM email_address s JOIN email_address p ON p.person_id = s.person_id AND p.is_primary = 1
             WHERE s.is_primary = 0 LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
}

/// The addresses a person has, in order.
fn addresses_of(env: &Env, person: i64) -> Vec<String> {
    env.sql()
        .prepare("SELECT address FROM email_address WHERE person_id = ?1 ORDER BY address")
        .unwrap()
        .query_map([person], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn correcting_a_secondary_address_changes_that_address_and_tells_it() {
    let env = Env::with_fixture("virtio");
    let (person, secondary, primary) = with_two_addresses(&env);
    let o = env.open("rectify", &["--email", &secondary, "--set", "email=nieuw.adres@example.nl"]);
    let first = &env.messages(&o.request)[0];
    assert_eq!(first.to, vec![secondary.clone()], "the code goes to the address named");
    env.dsr().args(["verify", &o.request, &first.code().unwrap()]).assert().success();
    let v = apply(&env, "rectify", &o.request);
    assert_eq!(v["outcome"]["changes"][0]["old"], secondary.as_str(), "{v}");
    let notice = env.messages(&o.request).into_iter().find(|m| m.subject.contains("changed")).expect("a notice");
    assert_eq!(notice.to, vec![secondary.clone()], "the replaced address is told");
    let held = addresses_of(&env, person);
    assert!(held.contains(&primary), "the primary address is untouched: {held:?}");
    assert!(held.contains(&"nieuw.adres@example.nl".to_owned()) && !held.contains(&secondary));
}

/// An open request asked again, before its code, by another address of the person with other
/// corrections: it asks them by that address from then on, so the address corrected is the one
/// the officer named, not the one the first asking named.
#[test]
fn an_amended_request_corrects_the_address_it_was_asked_again_by() {
    let env = Env::with_fixture("virtio");
    let (person, secondary, primary) = with_two_addresses(&env);
    let first = env.open("rectify", &["--email", &primary, "--set", "city=Delft"]);
    let again = env.open("rectify", &["--email", &secondary, "--set", "email=nieuw.adres@example.nl"]);
    assert_eq!(again.request, first.request, "the open request, amended");
    let code = env.messages(&first.request).last().unwrap().code().unwrap();
    env.dsr().args(["verify", &first.request, &code]).assert().success();
    let v = apply(&env, "rectify", &first.request);
    assert_eq!(v["outcome"]["changes"][0]["old"], secondary.as_str(), "{v}");
    let held = addresses_of(&env, person);
    assert!(held.contains(&primary) && !held.contains(&secondary), "{held:?}");
}

#[test]
fn a_second_request_with_other_details_amends_or_is_refused_never_dropped() {
    let env = Env::with_fixture("virtio");
    let first = env.open("rectify", &["--email", "jan.devries@example.nl", "--set", "city=Utrecht"]);
    let same = env.open("rectify", &["--email", "jan.devries@example.nl", "--set", "city=Utrecht"]);
    assert_eq!((same.request.as_str(), same.new), (first.request.as_str(), false));
    // Before verification: the open request now asks the new thing, and the officer is told.
    let again = env.open("rectify", &["--email", "jan.devries@example.nl", "--set", "city=Delft"]);
    assert_eq!(again.request, first.request);
    assert!(again.message.contains("replacing"), "{}", again.message);
    let (shown, _): (Value, i32) = env.json(&["request", "show", &first.request]);
    assert_eq!(shown["params"]["set"][0]["value"], "Delft", "{shown}");
    // After verification: refused, and the verified request is unchanged.
    let code = env.code(&first.request);
    env.dsr().args(["verify", &first.request, &code]).assert().success();
    let out = env.run(&["rectify", "--email", "jan.devries@example.nl", "--set", "city=Zwolle"]);
    assert_eq!(out.status.code(), Some(9));
    support::assert_one_line_error(&out);
    assert!(support::stderr(&out).contains(&first.request));
    let (shown, _): (Value, i32) = env.json(&["request", "show", &first.request]);
    assert_eq!(shown["params"]["set"][0]["value"], "Delft");
}

#[test]
fn every_restriction_ground_restricts_and_a_lift_notifies_first() {
    for ground in ["accuracy-contested", "unlawful", "legal-claims", "objection-pending"] {
        let mut env = Env::with_fixture("virtio");
        env.now = Some("2026-11-02T09:00:00Z".into());
        // Jan consents to analytics in the fixture? Give him consent to be sure.
        env.sql()
            .execute("INSERT INTO consent (person_id, purpose, granted, recorded_at, source) SELECT person_id, 'analytics', 1, '2020-01-01T00:00:00Z', 'control-panel' FROM email_address WHERE address = 'jan.devries@example.nl'", [])
            .unwrap();
        assert_eq!(check(&env, &JAN, "analytics").0, 0, "{ground}: allowed before");
        let id = verified(&env, "restrict", &["--email", "jan.devries@example.nl", "--ground", ground]);
        let v = apply(&env, "restrict", &id);
        assert_eq!(v["state"], "completed");
        assert_eq!(v["outcome"]["ground"], ground);
        let (code, verdict) = check(&env, &JAN, "analytics");
        assert_eq!((code, verdict["reason"].as_str()), (20, Some("restricted")), "{ground}");
        assert_eq!(check(&env, &JAN, "contract").0, 20, "{ground}: even contract processing is only storage");
        assert_eq!(check(&env, &JAN, "storage").0, 0, "{ground}: storage goes on");
        assert_eq!(check(&env, &JAN, "legal-claims").0, 0, "{ground}: legal claims go on");
        // Lifting: the Art. 18(3) notice goes out first, then processing resumes.
        let out = env.run(&[
            "restrict",
            "--lift",
            &id,
            "--reason",
            "accuracy verified",
            "--reason-nl",
            "juistheid gecontroleerd",
        ]);
        assert!(out.status.success(), "{}", support::stderr(&out));
        let notice = env.messages(&id).into_iter().find(|m| m.body.contains("18(3)")).expect("lift notice sent");
        assert_eq!(notice.to, vec!["jan.devries@example.nl".to_owned()]);
        assert_eq!(check(&env, &JAN, "analytics").0, 20, "{ground}: still restricted while the notice reaches Jan");
        env.now = Some("2026-11-09T09:00:00Z".into());
        env.dsr().args(["retention", "run"]).assert().success();
        assert_eq!(check(&env, &JAN, "analytics").0, 0, "{ground}: allowed after the lift");
        let order: Vec<String> = env
            .sql()
            .prepare("SELECT action FROM audit_log WHERE request_id = ?1 ORDER BY id")
            .unwrap()
            .query_map([&id], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mail = order.iter().rposition(|a| a == "mail-sent").unwrap();
        let lifted = order.iter().position(|a| a == "restriction-lifted").unwrap();
        assert!(mail < lifted, "notice before lift: {order:?}");
    }
}

#[test]
fn a_lift_asked_again_after_its_notice_period_is_the_lift_carried_out() {
    let mut env = Env::with_fixture("virtio");
    env.now = Some("2026-11-02T09:00:00Z".into());
    let id = verified(&env, "restrict", &["--email", "jan.devries@example.nl", "--ground", "accuracy-contested"]);
    apply(&env, "restrict", &id);
    let lift = ["restrict", "--lift", &id, "--reason", "accuracy verified", "--reason-nl", "juistheid gecontroleerd"];
    env.dsr().args(lift).assert().success();
    // The officer asks again once the notice period has passed: the due lift is that lift.
    env.now = Some("2026-11-09T09:00:00Z".into());
    let (v, code): (Value, i32) = env.json(&lift);
    assert_eq!((code, v["request"].as_str(), v["lifted"].as_bool()), (0, Some(id.as_str()), Some(true)), "{v}");
    assert_eq!(check(&env, &JAN, "storage").0, 0);
    assert_ne!(check(&env, &JAN, "contract").1["reason"], "restricted", "processing resumes");
    // Asked once more: nothing is left to lift, and the error says when it was lifted.
    let out = env.run(&lift);
    assert_eq!(out.status.code(), Some(9));
    support::assert_one_line_error(&out);
    assert!(support::stderr(&out).contains("already lifted at 2026-11-09T09:00:00Z"), "{}", support::stderr(&out));
}

#[test]
fn a_restriction_of_one_category_and_consent_given_after_it() {
    let env = Env::with_fixture("virtio");
    let id = verified(
        &env,
        "restrict",
        &["--email", "jan.devries@example.nl", "--ground", "accuracy-contested", "--category", "server-logs"],
    );
    apply(&env, "restrict", &id);
    assert_eq!(check(&env, &JAN, "debugging").0, 20, "server logs serve debugging");
    assert_eq!(check(&env, &JAN, "invoicing").0, 0, "invoices are not restricted");
    let out =
        env.run(&["restrict", "--email", "jan.devries@example.nl", "--ground", "unlawful", "--category", "shoes"]);
    assert_eq!(out.status.code(), Some(2), "unknown category");
    // Consent given after a restriction counts (Art. 18(2)).
    let mut env2 = Env::with_fixture("virtio");
    env2.now = Some("2026-11-10T09:00:00Z".into());
    let id = verified(&env2, "restrict", &["--email", "jan.devries@example.nl", "--ground", "accuracy-contested"]);
    apply(&env2, "restrict", &id);
    assert_eq!(check(&env2, &JAN, "newsletter").0, 20);
    env2.sql()
        .execute("INSERT INTO consent (person_id, purpose, granted, recorded_at, source) SELECT person_id, 'newsletter', 1, '2026-11-11T09:00:00Z', 'control-panel' FROM email_address WHERE address = 'jan.devries@example.nl'", [])
        .unwrap();
    assert_eq!(check(&env2, &JAN, "newsletter").0, 0);
}

#[test]
fn objection_follows_the_legal_basis() {
    let env = Env::with_fixture("virtio");
    // Direct marketing: absolute and immediate, identifiers suppressed.
    env.sql()
        .execute("UPDATE email_address SET newsletter_opt_in = 1 WHERE address = 'jan.devries@example.nl'", [])
        .unwrap();
    assert_eq!(check(&env, &JAN, "newsletter").0, 0);
    let id = verified(&env, "object", &["--email", "jan.devries@example.nl", "--purpose", "newsletter"]);
    let v = apply(&env, "object", &id);
    assert_eq!((v["outcome"]["outcome"].as_str(), v["state"].as_str()), (Some("stopped"), Some("completed")));
    assert_eq!(check(&env, &JAN, "newsletter").1["reason"], "suppressed");
    assert_eq!(check(&env, &JAN, "personalised-promotions").0, 20, "all direct marketing stops");
    let hashes: i64 = env
        .sql()
        .query_row("SELECT count(*) FROM suppression WHERE reason = 'direct-marketing'", [], |r| r.get(0))
        .unwrap();
    assert!(hashes >= 2, "email, phone and customer number hashed");
    let plain: i64 = env
        .sql()
        .query_row("SELECT count(*) FROM suppression WHERE hash LIKE '%@%' OR hash LIKE '+%'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(plain, 0);

    // Consent: a withdrawal.
    env.sql()
        .execute("INSERT INTO consent (person_id, purpose, granted, recorded_at, source) SELECT person_id, 'crash-analysis', 1, '2020-01-01T00:00:00Z', 'app-settings' FROM email_address WHERE address = 'jan.devries@example.nl'", [])
        .unwrap();
    assert_eq!(check(&env, &JAN, "crash-analysis").0, 0);
    let id = verified(&env, "object", &["--email", "jan.devries@example.nl", "--purpose", "crash-analysis"]);
    assert_eq!(apply(&env, "object", &id)["outcome"]["outcome"], "withdrawn");
    assert_eq!(check(&env, &JAN, "crash-analysis").1["reason"], "consent-withdrawn");

    // Legitimate interest: restricted until decided; an override states its grounds.
    let id = verified(&env, "object", &["--email", "jan.devries@example.nl", "--purpose", "debugging"]);
    let v = apply(&env, "object", &id);
    assert_eq!((v["outcome"]["outcome"].as_str(), v["state"].as_str()), (Some("pending"), Some("verified")));
    assert_eq!(check(&env, &JAN, "debugging").0, 20);
    let out = env.run(&["object", "--decide", &id, "--override"]);
    assert_eq!(out.status.code(), Some(2), "an override needs grounds");
    let (v, code): (Value, i32) = env.json(&[
        "object",
        "--decide",
        &id,
        "--override",
        "--grounds",
        "Logs are needed to trace an ongoing attack on the network.",
        "--grounds-nl",
        "De logs zijn nodig om een lopende aanval op het netwerk te volgen.",
    ]);
    assert_eq!(code, 0);
    assert_eq!(v["outcome"]["outcome"], "overridden");
    assert!(v["outcome"]["explanation_en"].as_str().unwrap().contains("ongoing attack"), "the answer says the grounds");
    assert!(
        v["outcome"]["explanation_en"]
            .as_str()
            .unwrap()
            .starts_with("We continue processing for Fixing errors and tracing network threats,"),
        "the purpose by the register's name, not its code: {v}"
    );
    // The restriction while it was weighed ends only after the person was told (Art. 18(3)): the
    // decision letter is the notice, and the lift comes NOTICE_DAYS later.
    let lift_at = v["outcome"]["restriction_lift_at"].as_str().unwrap_or_else(|| panic!("{v}")).to_owned();
    assert!(
        v["outcome"]["explanation_en"].as_str().unwrap().contains("while we decided (Art. 18(1)(d)) ends at"),
        "{v}"
    );
    let letter = env.messages(&id).pop().unwrap();
    assert!(
        letter.body.contains("eindigt op") && letter.body.contains("(Art. 18(3)); until then it applies"),
        "{}",
        letter.body
    );
    assert_eq!(check(&env, &JAN, "debugging").0, 20, "still restricted until the lift");
    let audit = |env: &Env| -> Vec<String> {
        let sql = "SELECT action FROM audit_log WHERE request_id = ?1 ORDER BY id";
        env.sql().prepare(sql).unwrap().query_map([&id], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    };
    assert!(audit(&env).contains(&"restriction-lift-scheduled".to_owned()));
    let overridden = id.clone();
    let id = verified(&env, "object", &["--email", "sanne@bakkerwebdesign.example", "--purpose", "complaints"]);
    apply(&env, "object", &id);
    let (v, _): (Value, i32) = env.json(&["object", "--decide", &id, "--uphold"]);
    assert_eq!(v["outcome"]["outcome"], "upheld");
    assert_eq!(
        v["outcome"]["explanation_en"],
        "Your objection is upheld: we no longer process your data for Handling complaints."
    );
    assert_eq!(check(&env, &["--email", "sanne@bakkerwebdesign.example"], "complaints").1["reason"], "objected");
    let lifted: i64 = env
        .sql()
        .query_row(
            "SELECT count(*) FROM audit_log WHERE request_id = ?1 AND action = 'restriction-lifted'",
            [&id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(lifted, 1, "upheld, the restriction ends at once, on the record");

    // Contract: processing continues, with the reason.
    let id = verified(&env, "object", &["--email", "lotte.jansen@example.org", "--purpose", "contract"]);
    let v = apply(&env, "object", &id);
    assert_eq!(v["outcome"]["outcome"], "continues");
    assert!(v["outcome"]["explanation_en"].as_str().unwrap().contains("contract"));
    let out = env.run(&["object", "--email", "lotte.jansen@example.org", "--purpose", "world-domination"]);
    assert_eq!(out.status.code(), Some(2));

    // After the notice period, the first retention run lifts the overridden objection's restriction.
    let later = chrono::DateTime::parse_from_rfc3339(&lift_at).unwrap() + chrono::Duration::minutes(1);
    env.dsr().env("DSR_NOW", later.to_rfc3339()).args(["retention", "run"]).assert().success();
    let lifted: i64 = env
        .sql()
        .query_row(
            "SELECT count(*) FROM audit_log WHERE request_id = ?1 AND action = 'restriction-lifted'",
            [&overridden],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(lifted, 1);
    let (code, v) = check(&env, &JAN, "debugging");
    assert_eq!(code, 0, "{v}");
}

#[test]
fn human_review_pauses_the_automated_dunning() {
    let env = Env::with_fixture("virtio");
    let number: String = env
        .sql()
        .query_row("SELECT customer_number FROM customer WHERE status = 'blocked' LIMIT 1", [], |r| r.get(0))
        .unwrap();
    let who = ["--customer", number.as_str()];
    assert_eq!(check(&env, &who, "dunning").0, 0);
    let id = verified(&env, "object", &["--customer", &number, "--purpose", "dunning"]);
    let v = apply(&env, "object", &id);
    assert_eq!(v["outcome"]["outcome"], "review-pending");
    assert!(v["outcome"]["explanation_en"].as_str().unwrap().contains("reminder"), "the answer explains the logic");
    assert_eq!(check(&env, &who, "dunning").1["reason"], "review-pending");
    let (v, _): (Value, i32) = env.json(&[
        "object",
        "--decide",
        &id,
        "--override",
        "--grounds",
        "The invoices were correct and remain unpaid.",
        "--grounds-nl",
        "De facturen klopten en zijn nog onbetaald.",
    ]);
    assert_eq!(v["outcome"]["outcome"], "decision-stands");
    assert!(v["outcome"]["explanation_en"].as_str().unwrap().contains("remain unpaid"));
    assert_eq!(check(&env, &who, "dunning").0, 0, "automatic steps resume");
}

#[test]
fn upholding_a_review_lifts_the_block_and_stops_automatic_steps() {
    let env = Env::with_fixture("virtio");
    let number: String = env
        .sql()
        .query_row("SELECT customer_number FROM customer WHERE status = 'blocked' LIMIT 1", [], |r| r.get(0))
        .unwrap();
    let blocked_services = |env: &Env| -> i64 {
        env.sql()
            .query_row("SELECT count(*) FROM service s JOIN customer c ON c.id = s.customer_id WHERE c.customer_number = ?1 AND s.status = 'blocked'", [&number], |r| r.get(0))
            .unwrap()
    };
    assert!(blocked_services(&env) > 0, "the fixture's blocked customer has a blocked service");
    let who = ["--customer", number.as_str()];
    let id = verified(&env, "object", &["--customer", &number, "--purpose", "dunning"]);
    apply(&env, "object", &id);
    let (v, code): (Value, i32) = env.json(&["object", "--decide", &id, "--uphold"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["outcome"]["outcome"], "decision-reversed");
    assert_eq!(blocked_services(&env), 0, "the block is lifted");
    let status: String =
        env.sql().query_row("SELECT status FROM customer WHERE customer_number = ?1", [&number], |r| r.get(0)).unwrap();
    assert_eq!(status, "active");
    let unblocked: i64 = env
        .sql()
        .query_row("SELECT count(*) FROM dunning_event d JOIN invoice i ON i.id = d.invoice_id JOIN customer c ON c.id = i.customer_id WHERE c.customer_number = ?1 AND d.step = 'unblocked' AND d.automated = 0", [&number], |r| r.get(0))
        .unwrap();
    assert!(unblocked > 0, "the invoice history shows the manual reversal");
    let (code, verdict) = check(&env, &who, "dunning");
    assert_ne!(code, 0);
    assert_eq!(verdict["reason"], "review-reversed", "automatic steps do not resume");
}

#[test]
fn recipients_to_notify_follow_paypal_registries_and_the_police() {
    let env = Env::with_fixture("virtio");
    for (sql, code) in [
        ("SELECT c.customer_number FROM payment_method p JOIN customer c ON c.id = p.customer_id WHERE p.provider = 'paypal' LIMIT 1", "paypal"),
        ("SELECT c.customer_number FROM domain d JOIN customer c ON c.id = d.customer_id WHERE d.registry = 'sidn' LIMIT 1", "sidn"),
        ("SELECT c.customer_number FROM disclosure d JOIN customer c ON c.person_id = d.person_id WHERE d.recipient = 'police' LIMIT 1", "police"),
    ] {
        let number: String = env.sql().query_row(sql, [], |r| r.get(0)).unwrap();
        let id = verified(&env, "restrict", &["--customer", &number, "--ground", "accuracy-contested"]);
        let v = apply(&env, "restrict", &id);
        let listed: Vec<&str> = v["recipients"].as_array().unwrap().iter().map(|r| r["recipient"].as_str().unwrap()).collect();
        assert!(listed.contains(&code), "{code} not among {listed:?}");
        let (shown, _): (Value, i32) = env.json(&["request", "show", &id]);
        let r = shown["recipients"].as_array().unwrap().iter().find(|r| r["recipient"] == code).unwrap().clone();
        assert_eq!(r["state"], "to-notify");
        assert!(r["what"].as_str().unwrap().contains("Restriction"));
        env.dsr().args(["request", "notified", &id, "--recipient", code, "--ref", "letter 1"]).assert().success();
        let (shown, _): (Value, i32) = env.json(&["request", "show", &id]);
        let r = shown["recipients"].as_array().unwrap().iter().find(|r| r["recipient"] == code).unwrap().clone();
        assert_eq!(r["state"], "notified");
        assert!(r["notified_at"].is_string());
        let out = env.run(&["request", "notified", &id, "--recipient", "nobody", "--ref", "letter 2"]);
        assert_eq!(out.status.code(), Some(2));
    }
}

#[test]
fn check_single_and_stdin() {
    let env = Env::with_fixture("virtio");
    assert_eq!(check(&env, &["--email", "nobody@example.nl"], "newsletter").0, 3);
    let out = env.run(&["check", "--email", "jan.devries@example.nl", "--purpose", "shoes"]);
    assert_eq!(out.status.code(), Some(2));
    // Consent missing for someone without any newsletter consent or opt-in.
    env.sql()
        .execute_batch(
            "UPDATE email_address SET newsletter_opt_in = 0; DELETE FROM consent WHERE purpose = 'newsletter';",
        )
        .unwrap();
    env.sql().execute("UPDATE email_address SET newsletter_opt_in = 1 WHERE address IN ('jan.devries@example.nl', 'sanne@bakkerwebdesign.example', 'lotte.jansen@example.org')", []).unwrap();
    assert_eq!(check(&env, &["--email", "eva.kok@example.nl"], "newsletter").1["reason"], "consent-missing");
    // Sanne objects (suppressed), Lotte is restricted; Jan stays allowed.
    let id = verified(&env, "object", &["--email", "sanne@bakkerwebdesign.example", "--purpose", "newsletter"]);
    apply(&env, "object", &id);
    let id = verified(&env, "restrict", &["--email", "lotte.jansen@example.org", "--ground", "unlawful"]);
    apply(&env, "restrict", &id);
    let list = "jan.devries@example.nl\nSANNE@bakkerwebdesign.example\nlotte.jansen@example.org\neva.kok@example.nl\nnobody@example.nl\nnot an address\n\nJan.DeVries@Example.NL\n";
    let out = env.dsr().args(["check", "--purpose", "newsletter", "--stdin"]).write_stdin(list).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(support::stdout(&out), "jan.devries@example.nl\nJan.DeVries@Example.NL\n", "only the allowed, as given");
}

#[test]
fn each_carried_out_right_sends_the_person_a_bilingual_answer_naming_recipients() {
    let env = Env::with_fixture("virtio");
    let number: String = env
        .sql()
        .query_row("SELECT c.customer_number FROM payment_method p JOIN customer c ON c.id = p.customer_id WHERE p.provider = 'paypal' LIMIT 1", [], |r| r.get(0))
        .unwrap();
    let answer = |id: &str, kind: &str| {
        env.messages(id)
            .into_iter()
            .find(|m| m.subject.contains(kind))
            .unwrap_or_else(|| panic!("no {kind} answer for {id}"))
    };
    let id = verified(&env, "restrict", &["--customer", &number, "--ground", "accuracy-contested"]);
    apply(&env, "restrict", &id);
    let m = answer(&id, "Restriction");
    for text in
        ["Hallo", "Hello", "PayPal", "art. 19 AVG", "Art. 19", "juistheid", "accuracy", "Autoriteit Persoonsgegevens"]
    {
        assert!(m.body.contains(text), "restriction answer lacks {text}:\n{}", m.body);
    }
    let id = verified(&env, "rectify", &["--customer", &number, "--set", "city=Utrecht"]);
    apply(&env, "rectify", &id);
    let m = answer(&id, "Rectification");
    assert!(
        m.body.contains("woonplaats") && m.body.contains("city") && m.body.contains("Virtio Groep B.V."),
        "{}",
        m.body
    );
    assert!(!m.body.contains("PayPal"), "PayPal never received the city (Art. 19 follows the data)");
    assert!(!m.body.contains("Utrecht"), "the letter names fields, not values");
    let id = verified(&env, "object", &["--customer", &number, "--purpose", "newsletter"]);
    apply(&env, "object", &id);
    let m = answer(&id, "Objection");
    assert!(m.body.contains("blokkeerlijst") && m.body.contains("suppression list"), "{}", m.body);
}

#[test]
fn the_erasure_answer_reads_well_in_both_languages() {
    let env = Env::with_fixture("virtio");
    let number: String = env
        .sql()
        .query_row("SELECT c.customer_number FROM invoice i JOIN customer c ON c.id = i.customer_id WHERE i.status IN ('overdue', 'collection') LIMIT 1", [], |r| r.get(0))
        .unwrap();
    let id = verified(&env, "erase", &["--customer", &number]);
    let (v, code): (Value, i32) = env.json(&["erase", &id, "--yes"]);
    assert_eq!(code, 0, "{v}");
    let m = env.messages(&id).into_iter().find(|m| m.subject.contains("Erasure")).expect("erasure answer");
    assert!(!m.body.contains("until until"), "{}", m.body);
    assert!(
        m.body.contains("tot de vordering is voldaan") && m.body.contains("until the claim is settled"),
        "{}",
        m.body
    );
    let dutch = m.body.split("----").next().unwrap();
    assert!(!dutch.contains("Art. 17(3)"), "the Dutch half is Dutch:\n{dutch}");
    assert!(dutch.contains("art. 17 lid 3"), "{dutch}");
}

/// Two officers carry out the same rectification, restriction or objection at once: one carries
/// it out, the other finds it carried out (exit 9); one audit entry, one letter to the old address.
#[test]
fn the_same_right_carried_out_twice_at_once_is_done_once() {
    use std::process::{Command, Stdio};
    let env = Env::with_fixture("virtio");
    let cases = [
        (
            "rectify",
            vec!["--email", "jan.devries@example.nl", "--set", "city=Delft", "--set", "email=jan.new@example.com"],
            "rectified",
        ),
        ("restrict", vec!["--email", "lotte.jansen@example.org", "--ground", "accuracy-contested"], "restricted"),
        ("object", vec!["--email", "pieter.vandenberg@example.com", "--purpose", "newsletter"], "objection"),
    ];
    for (right, who, action) in cases {
        let id = env.verified(right, &who);
        let spawn = || {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_dsr"));
            cmd.arg("--db").arg(&env.db).args(["-q", right, &id, "--yes"]).current_dir(env.dir.path());
            cmd.env_remove("DSR_NOW").stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap()
        };
        let (a, b) = (spawn(), spawn());
        let mut codes = vec![a.wait_with_output().unwrap().status.code(), b.wait_with_output().unwrap().status.code()];
        codes.sort();
        assert_eq!(codes, [Some(0), Some(9)], "{right}");
        let entries =
            env.count(&format!("SELECT count(*) FROM audit_log WHERE request_id = '{id}' AND action = '{action}'"));
        assert_eq!(entries, 1, "{right}: {action}");
    }
    // The code letter, the notice to the old address, the answer: none twice.
    let letters = std::fs::read_dir(env.outbox())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("DSR-2026-0001-"))
        .count();
    assert_eq!(letters, 3, "the rectification's letters");
    env.dsr().args(["audit", "verify"]).assert().success();
}

/// What a rectification request may not ask: one field twice, a statement too long or for a
/// category the register lacks (named by its own flag), another person's address.
#[test]
fn a_rectification_asks_each_field_once_and_never_another_person_s_address() {
    let env = Env::with_fixture("virtio");
    let sanne = ["rectify", "--email", "sanne@bakkerwebdesign.example"];
    let with = |extra: &[&str]| {
        let mut args = sanne.to_vec();
        args.extend_from_slice(extra);
        env.run(&args)
    };
    let out = with(&["--set", "city=x", "--set", "city=y"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(support::stderr(&out).contains("city is given twice"), "{}", support::stderr(&out));
    let out = with(&["--supplement", "nocat=foo"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        support::stderr(&out).starts_with("dsr: invalid --supplement: unknown category"),
        "{}",
        support::stderr(&out)
    );
    let long = format!("identity={}", "x".repeat(2001));
    let out = with(&["--supplement", &long]);
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    // Jan's address changed to Sanne's: refused when applied, nothing changed, how to close it said.
    let id =
        env.verified("rectify", &["--email", "jan.devries@example.nl", "--set", "email=Sanne@BakkerWebdesign.example"]);
    let out = env.run(&["rectify", &id, "--yes"]);
    assert_eq!(out.status.code(), Some(9), "{}", support::stderr(&out));
    let err = support::stderr(&out);
    assert!(err.contains("on file for another person") && err.contains("dsr request reject"), "{err}");
    let (found, code): (Value, i32) = env.json(&["lookup", "--email", "sanne@bakkerwebdesign.example"]);
    assert_eq!(code, 0, "still one person: {found}");
}

/// A postal code checked for the country on file when the request was opened, and the country
/// changed since: the request cannot be carried out as asked (exit 9, not a usage error).
#[test]
fn a_postal_code_that_no_longer_fits_the_country_on_file_is_exit_9() {
    let env = Env::with_fixture("virtio");
    let id = env.verified("rectify", &["--email", "jan.devries@example.nl", "--set", "postal_code=1234 AB"]);
    env.sql().execute("UPDATE person SET country = 'BE' WHERE id = (SELECT person_id FROM email_address WHERE address_norm = 'jan.devries@example.nl')", []).unwrap();
    let out = env.run(&["rectify", &id, "--yes"]);
    assert_eq!(out.status.code(), Some(9), "{}", support::stderr(&out));
    support::assert_one_line_error(&out);
    let err = support::stderr(&out);
    assert!(
        err.contains("does not fit the data on file now") && err.contains("BE") && err.contains("dsr request reject"),
        "{err}"
    );
}

/// An email corrected to the person's own other address would leave it on file twice: refused
/// (exit 9), nothing changed, and the officer told what to do.
#[test]
fn an_email_corrected_to_the_person_s_own_other_address_is_refused() {
    let env = Env::with_fixture("virtio");
    let id = env
        .verified("rectify", &["--email", "hans.kuipers@example.com", "--set", "email=H.Kuipers@Kuipers-ICT.example"]);
    let out = env.run(&["rectify", &id, "--yes"]);
    assert_eq!(out.status.code(), Some(9), "{}", support::stderr(&out));
    support::assert_one_line_error(&out);
    let err = support::stderr(&out);
    assert!(err.contains("already one of the person's own addresses") && err.contains("dsr request reject"), "{err}");
    assert_eq!(env.count("SELECT count(*) FROM email_address WHERE address_norm = 'hans.kuipers@example.com'"), 1);
    assert_eq!(env.count("SELECT count(*) FROM email_address WHERE address_norm = 'h.kuipers@kuipers-ict.example'"), 1);
}

/// An officer's text in two languages is counted as it is kept, and says so; grounds belong to
/// an override.
#[test]
fn an_officer_s_text_in_two_languages_is_counted_as_kept_and_grounds_go_with_an_override() {
    let env = Env::with_fixture("virtio");
    let id = env.verified("access", &["--email", "sanne@bakkerwebdesign.example"]);
    let out = env.run(&[
        "request",
        "extend",
        &id,
        "--months",
        "1",
        "--reason",
        &"x".repeat(600),
        "--reason-nl",
        &"y".repeat(600),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = support::stderr(&out);
    assert!(err.contains("--reason and --reason-nl are kept together") && err.contains("these have 1203"), "{err}");
    let out = env.run(&["object", "--decide", &id, "--uphold", "--grounds", "network-security"]);
    assert_eq!(out.status.code(), Some(2));
    support::assert_one_line_error(&out);
}

/// Details replaced at the code limit: the earlier code is void and no new one went out, so the
/// exit code says so (8), as for a new request.
#[test]
fn details_replaced_when_no_code_may_go_out_exit_8() {
    let env = Env::with_fixture("virtio");
    let mut codes = Vec::new();
    for city in ["A1", "A2", "A3", "A4"] {
        let set = format!("city={city}");
        codes.push(env.run(&["rectify", "--email", "pieter.vandenberg@example.com", "--set", &set]).status.code());
    }
    assert_eq!(codes, [Some(0), Some(0), Some(0), Some(8)]);
}

/// A statement goes to the map's table of statements, so that answers show it and erasure
/// removes it: a map without one refuses `--supplement` (exit 2) before a request is opened;
/// line ends typed on Windows are line ends.
#[test]
fn a_statement_needs_the_map_s_table_of_statements_and_takes_crlf_line_ends() {
    let env = Env::with_fixture("webshop");
    let out = env.run(&["rectify", "--email", "lucas.peters@example.nl", "--supplement", "contact=x"]);
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    support::assert_one_line_error(&out);
    assert!(support::stderr(&out).contains("no table supplementary_statement"), "{}", support::stderr(&out));
    assert_eq!(env.count("SELECT count(*) FROM request"), 0);
    let env = Env::with_fixture("virtio");
    let id = verified(&env, "rectify", &["--email", "jan.devries@example.nl", "--supplement", "identity=a\r\nb"]);
    env.dsr().args(["rectify", &id, "--yes"]).assert().success();
    let text: String = env.sql().query_row("SELECT statement FROM supplementary_statement", [], |r| r.get(0)).unwrap();
    assert_eq!(text, "a\nb");
}

/// `-q` leaves out what an applied change says it did; `request notified` stores at most 1000
/// characters of the officer's text, as every other such flag.
#[test]
fn quiet_applies_say_nothing_and_a_notified_reference_is_bounded() {
    let env = Env::with_fixture("virtio");
    let id = verified(&env, "rectify", &["--email", "jan.devries@example.nl", "--set", "city=Haarlem"]);
    let out = env.run(&["-q", "rectify", &id, "--yes"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    assert_eq!(support::stdout(&out), "", "nothing on stdout with -q");
    let (shown, _): (Value, i32) = env.json(&["request", "show", &id]);
    let recipient = shown["recipients"][0]["recipient"].as_str().expect("a recipient to tell").to_owned();
    let long = "x".repeat(1001);
    for proof in [["--ref", long.as_str()], ["--impossible", "--reason"]] {
        let mut args = vec!["request", "notified", &id, "--recipient", &recipient];
        args.extend(proof);
        if proof[0] == "--impossible" {
            args.push(&long);
        }
        let out = env.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", support::stderr(&out));
        support::assert_one_line_error(&out);
    }
}

/// A statement asked before the map lost its table of statements is refused when applied (exit 9),
/// nothing written outside the map.
#[test]
fn a_statement_asked_before_the_map_lost_its_table_is_refused_when_applied() {
    let env = Env::with_fixture("virtio");
    let id = verified(&env, "rectify", &["--email", "jan.devries@example.nl", "--supplement", "identity=Johannes"]);
    env.sql().execute("DELETE FROM map_table WHERE name = 'supplementary_statement'", []).unwrap();
    let out = env.run(&["rectify", &id, "--yes"]);
    assert_eq!(out.status.code(), Some(9), "{}", support::stderr(&out));
    assert!(support::stderr(&out).contains("no table supplementary_statement"), "{}", support::stderr(&out));
    assert_eq!(env.count("SELECT count(*) FROM supplementary_statement"), 0);
}
