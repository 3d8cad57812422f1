//! Legal-claims restrictions against erasure (Art. 17(3)(e), 18(1)(c)) and the lift of a
//! restriction after its Art. 18(3) notice.

use serde_json::Value;

use crate::support::{self, Env};

fn verified(env: &Env, right: &str, args: &[&str]) -> String {
    let o = env.open(right, args);
    let code = env.code(&o.request);
    env.dsr().args(["verify", &o.request, &code]).assert().success();
    o.request
}

fn count(env: &Env, sql: &str, who: &str) -> i64 {
    env.sql().query_row(sql, [who], |r| r.get(0)).unwrap()
}

const CRASHES: &str = "SELECT count(*) FROM crash_report WHERE person_id = ?1";

#[test]
fn a_legal_claims_restriction_on_one_category_keeps_it_and_erases_the_rest() {
    let env = Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
    let (email, person): (String, i64) = env
        .sql()
        .query_row(
            "SELECT e.address, e.person_id FROM crash_report c JOIN email_address e ON e.person_id = c.person_id
             JOIN customer u ON u.person_id = c.person_id GROUP BY c.person_id ORDER BY count(*) DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let who = person.to_string();
    let crashes = count(&env, CRASHES, &who);
    assert!(crashes > 0);
    let r = verified(&env, "restrict", &["--email", &email, "--ground", "legal-claims", "--category", "crash-data"]);
    env.dsr().args(["restrict", &r, "--yes"]).assert().success();
    let id = verified(&env, "erase", &["--email", &email]);
    let (plan, code): (Value, i32) = env.json(&["erase", &id, "--dry-run"]);
    assert_eq!(code, 0, "a restriction of one category does not block the erasure: {plan}");
    let steps = plan["plan"]["steps"].as_array().unwrap();
    let held: Vec<&Value> = steps.iter().filter(|s| s["table"] == "crash_report").collect();
    assert_eq!(held.len(), 1, "{plan}");
    assert_eq!(held[0]["action"], "keep");
    assert_eq!(held[0]["until"], "until the restriction is lifted");
    assert!(held[0]["ground"].as_str().unwrap().contains("18(1)(c)"), "{plan}");
    let shown = env.run(&["erase", &id, "--dry-run"]);
    let shown = support::stdout(&shown);
    assert!(
        shown.contains("linked to the person under their restriction or objection"),
        "the plan does not call rows detached that stay linked to the person:\n{shown}"
    );
    let out = env.run(&["erase", &id, "--yes"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    assert!(support::stdout(&out).contains("linked to the person"), "{}", support::stdout(&out));
    assert_eq!(count(&env, CRASHES, &who), crashes, "the restricted category is kept");
    assert_eq!(count(&env, "SELECT count(*) FROM email_address WHERE person_id = ?1", &who), 0, "the rest is erased");
    assert_eq!(count(&env, "SELECT count(*) FROM cookie WHERE person_id = ?1", &who), 0);
    assert_eq!(
        count(&env, "SELECT count(*) FROM person WHERE id = ?1 AND given_name IS NULL AND family_name IS NULL AND street IS NULL", &who),
        1,
        "the person record stays for the held data, without name and address"
    );
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM restriction WHERE person_id = ?1 AND ground = 'legal-claims' AND lifted_at IS NULL",
            &who
        ),
        1,
        "the restriction itself stays in force"
    );
    let m = env.messages(&id).into_iter().find(|m| m.subject.contains("Erasure")).expect("erasure answer");
    for text in [
        "Crashdata",
        "Crash data",
        "tot de beperking is opgeheven",
        "until the restriction is lifted",
        "18(1)(c)",
        "1 x beperking van de verwerking die je vroeg",
        "1 x restriction of processing you asked for",
    ] {
        assert!(m.body.contains(text), "the letter says what is kept and why ({text}):\n{}", m.body);
    }
    assert!(!m.body.contains("x restriction ("), "a table's name is not a category:\n{}", m.body);
    // A restriction on all of a person's data still blocks the erasure.
    let other: String = env
        .sql()
        .query_row(
            "SELECT address FROM email_address WHERE person_id <> ?1 AND is_primary = 1 ORDER BY id LIMIT 1",
            [person],
            |r| r.get(0),
        )
        .unwrap();
    let r = verified(&env, "restrict", &["--email", &other, "--ground", "legal-claims"]);
    env.dsr().args(["restrict", &r, "--yes"]).assert().success();
    let id = verified(&env, "erase", &["--email", &other]);
    let out = env.run(&["erase", &id, "--yes"]);
    assert_eq!(out.status.code(), Some(9), "{}", support::stderr(&out));
    support::assert_one_line_error(&out);
}

#[test]
fn a_lift_is_told_first_and_carried_out_after_the_notice_days() {
    let mut env = Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
    let number: String = env
        .sql()
        .query_row("SELECT c.customer_number FROM payment_method p JOIN customer c ON c.id = p.customer_id WHERE p.provider = 'paypal' LIMIT 1", [], |r| r.get(0))
        .unwrap();
    let check = |env: &Env| -> i32 {
        env.run(&["check", "--customer", &number, "--purpose", "contract"]).status.code().unwrap()
    };
    let id = verified(&env, "restrict", &["--customer", &number, "--ground", "accuracy-contested"]);
    env.dsr().args(["restrict", &id, "--yes"]).assert().success();
    // The recipients were told of the restriction.
    let (shown, _): (Value, i32) = env.json(&["request", "show", &id]);
    let recipients: Vec<String> =
        shown["recipients"].as_array().unwrap().iter().map(|r| r["recipient"].as_str().unwrap().to_owned()).collect();
    assert!(!recipients.is_empty());
    for r in &recipients {
        env.dsr()
            .args(["request", "notified", &id, "--recipient", r, "--ref", "mail of 2026-11-02"])
            .assert()
            .success();
    }
    assert_eq!(check(&env), 20);
    let out = env.run(&[
        "restrict",
        "--lift",
        &id,
        "--reason",
        "The address was checked.",
        "--reason-nl",
        "Het adres is gecontroleerd.",
        "--notice-days",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(2), "at least one day");
    // (Written without its full stop: the letter gives it one.)
    let (v, code): (Value, i32) = env.json(&[
        "restrict",
        "--lift",
        &id,
        "--reason",
        "The address was checked",
        "--reason-nl",
        "Het adres is gecontroleerd",
        "--notice-days",
        "10",
    ]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["lift_at"], "2026-11-12T09:00:00Z");
    let notice = env.messages(&id).into_iter().find(|m| m.body.contains("18(3)")).expect("the notice goes out now");
    assert!(
        notice.body.contains("12 November 2026 10:00 (Amsterdam time, CET)")
            && notice.body.contains("The address was checked.")
            && notice.body.contains("Het adres is gecontroleerd."),
        "{}",
        notice.body
    );
    assert_eq!(check(&env), 20, "the restriction applies until the lift");
    let out = env.run(&["restrict", "--lift", &id, "--reason", "again", "--reason-nl", "opnieuw"]);
    assert_eq!(out.status.code(), Some(9), "already scheduled");
    // Before the date, the nightly run leaves it in force.
    env.now = Some("2026-11-12T08:59:59Z".into());
    let (run, code): (Value, i32) = env.json(&["retention", "run"]);
    assert_eq!(code, 0, "{run}");
    assert_eq!(run["restrictions_lifted"], serde_json::json!([]));
    assert_eq!(check(&env), 20);
    // From the date on, the nightly run lifts it and the recipients are to be told again.
    env.now = Some("2026-11-12T09:00:00Z".into());
    let (run, code): (Value, i32) = env.json(&["retention", "run"]);
    assert_eq!(code, 0, "{run}");
    assert_eq!(run["restrictions_lifted"], serde_json::json!([id]));
    assert_eq!(check(&env), 0, "processing resumes");
    let (shown, _): (Value, i32) = env.json(&["request", "show", &id]);
    let lifted: Vec<&Value> = shown["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["what"].as_str().unwrap().starts_with("Restriction lifted"))
        .collect();
    assert_eq!(lifted.len(), recipients.len(), "every recipient told of the restriction is to be told of its lift");
    for r in lifted {
        assert_eq!(r["state"], "to-notify", "{r}");
    }
    let actions: Vec<String> =
        shown["timeline"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect();
    let scheduled = actions.iter().position(|a| a == "restriction-lift-scheduled").unwrap();
    let lifted = actions.iter().position(|a| a == "restriction-lifted").unwrap();
    assert!(scheduled < lifted, "{actions:?}");
    let chain: String =
        env.sql().query_row("SELECT group_concat(details, '|') FROM audit_log", [], |r| r.get(0)).unwrap();
    assert!(!chain.contains("The address was checked."), "the officer's reason stays out of the chain: {chain}");
}

#[test]
fn any_restrict_command_after_the_date_carries_the_lift_out() {
    let mut env = Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
    let id = verified(&env, "restrict", &["--email", "jan.devries@example.nl", "--ground", "unlawful"]);
    env.dsr().args(["restrict", &id, "--yes"]).assert().success();
    env.dsr()
        .args([
            "restrict",
            "--lift",
            &id,
            "--reason",
            "Processing made lawful.",
            "--reason-nl",
            "De verwerking is rechtmatig gemaakt.",
        ])
        .assert()
        .success();
    env.now = Some("2026-11-09T09:00:01Z".into());
    let out = env.run(&["restrict", "--email", "jan.devries@example.nl", "--ground", "accuracy-contested"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let lifted: Option<String> =
        env.sql().query_row("SELECT lifted_at FROM restriction WHERE request_id = ?1", [&id], |r| r.get(0)).unwrap();
    assert_eq!(lifted.as_deref(), Some("2026-11-09T09:00:01Z"), "the default notice period is 7 days");
}

/// A person with no email address on file (known by a cookie, verified in person) is told of the
/// lift another way: the officer records how, nothing is mailed, and the lift follows.
#[test]
fn a_restriction_of_a_person_without_an_address_is_lifted_after_a_notice_told_another_way() {
    let mut env = Env::with_fixture("virtio");
    let o = env.open("restrict", &["--cookie", "vt_3f9c2a7e81d04b6c", "--ground", "accuracy-contested"]);
    env.dsr()
        .args(["verify", &o.request, "--method", "in-person", "--ref", "desk visit", "--reason", "cookie shown"])
        .assert()
        .success();
    env.dsr().args(["restrict", &o.request, "--yes"]).assert().success();
    let lift = ["restrict", "--lift", &o.request, "--reason", "accuracy-verified"];
    let out = env.run(&lift);
    assert_eq!(out.status.code(), Some(9), "{}", support::stderr(&out));
    assert!(support::stderr(&out).contains("--notice-by"), "{}", support::stderr(&out));
    let letters = std::fs::read_dir(env.path("outbox")).map_or(0, |d| d.count());
    let mut told = lift.to_vec();
    told.extend(["--notice-by", "post", "--notice-ref", "letter 2026-118", "--notice-days", "10"]);
    let (v, code): (Value, i32) = env.json(&told);
    assert_eq!(code, 0, "{v}");
    assert_eq!((v["notice"]["transport"].as_str(), v["scheduled"].as_u64()), (Some("post"), Some(1)), "{v}");
    assert_eq!(std::fs::read_dir(env.path("outbox")).map_or(0, |d| d.count()), letters, "nothing mailed");
    let given = env.count("SELECT count(*) FROM audit_log WHERE action = 'restriction-lift-notice-given'");
    assert_eq!(given, 1);
    env.now = Some("2030-01-01T00:00:00Z".into());
    let (run, code): (Value, i32) = env.json(&["retention", "run"]);
    assert_eq!(code, 0, "{run}");
    assert_eq!(run["restrictions_lifted"], serde_json::json!([o.request]));
    env.dsr().args(["audit", "verify"]).assert().success();
}

/// The web shop with a mailing service and a warehouse, Kevin de Groot's order restricted for a
/// legal claim and the rest of his data erased: (the store, the restriction, the erasure, his person
/// id, his customer number).
fn kevin_erased_but_his_order() -> (Env, String, String, i64, String) {
    let mut env = crate::tasks::shop_with_systems(false);
    env.now = Some("2026-12-08T09:00:00Z".into());
    let env = env;
    let kevin = "kevin.degroot@example.org";
    let (person, number): (i64, String) = env
        .sql()
        .query_row(
            "SELECT c.person_id, c.customer_number FROM customer c JOIN email_address e ON e.person_id = c.person_id WHERE e.address = ?1",
            [kevin],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let r = verified(&env, "restrict", &["--email", kevin, "--ground", "legal-claims", "--category", "orders"]);
    env.dsr().args(["restrict", &r, "--yes"]).assert().success();
    let x = verified(&env, "erase", &["--email", kevin]);
    let out = env.run(&["erase", &x, "--yes"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    (env, r, x, person, number)
}

/// Tell the person of the lift of restriction `r` by post (`reference`), a day ahead.
fn lift_by_post(env: &Env, r: &str, reference: &str) {
    let lift = ["--reason", "claim-settled", "--notice-days", "1", "--notice-by", "post", "--notice-ref", reference];
    let out = env.dsr().args(["restrict", "--lift", r]).args(lift).output().unwrap();
    assert!(out.status.success(), "{}", support::stderr(&out));
}

const ORDERS: &str = "SELECT count(*) FROM shop_order o JOIN customer c ON c.id = o.customer_id WHERE c.person_id = ?1";

/// The tables a system's open tasks of a request name.
fn tasked(env: &Env, system: &str, request: &str) -> Vec<String> {
    let out = env.run(&["--json", "tasks", "--system", system]);
    let tasks: Vec<Value> = support::stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let mine = tasks.iter().filter(|t| t["request"] == request);
    let mut tables: Vec<String> = mine
        .flat_map(|t| t["rows"].as_array().unwrap().iter().map(|r| r["table"].as_str().unwrap().to_owned()))
        .collect();
    tables.sort();
    tables
}

/// Art. 17(3)(e) with 18(1)(c): what a legal-claims restriction kept from an erasure goes once
/// the restriction is lifted. The systems that keep copies are told to erase only what dsr
/// erases, and the kept rows when they go; the recipients of those are to be told (Art. 19).
#[test]
fn an_erasure_held_by_a_legal_claim_is_finished_when_the_restriction_is_lifted() {
    let (mut env, r, x, person, number) = kevin_erased_but_his_order();
    let who = person.to_string();
    assert_eq!(count(&env, ORDERS, &who), 1, "the order the claim needs is kept");
    assert_eq!(tasked(&env, "warehouse", &x), ["delivery_address"], "the warehouse keeps the order too");
    assert_eq!(tasked(&env, "mailer", &x), ["email_address"]);
    lift_by_post(&env, &r, "letter 7");
    // Before the lift, nothing more goes.
    env.now = Some("2026-12-09T08:59:00Z".into());
    let (run, code): (Value, i32) = env.json(&["retention", "run"]);
    assert_eq!(code, 0, "{run}");
    assert_eq!(run["erasures_finished"]["finished"], serde_json::json!([]), "{run}");
    assert_eq!(count(&env, ORDERS, &who), 1);
    env.now = Some("2026-12-09T09:00:00Z".into());
    let (run, code): (Value, i32) = env.json(&["retention", "run"]);
    assert_eq!(code, 0, "{run}");
    assert_eq!(run["restrictions_lifted"], serde_json::json!([r]));
    assert_eq!(run["erasures_finished"]["finished"][0]["request"], x.as_str(), "{run}");
    assert_eq!(count(&env, ORDERS, &who), 0, "the order goes with the lift");
    for table in ["person WHERE id", "customer WHERE person_id", "restriction WHERE person_id"] {
        assert_eq!(count(&env, &format!("SELECT count(*) FROM {table} = ?1"), &who), 0, "{table}");
    }
    assert_eq!(tasked(&env, "warehouse", &x), ["delivery_address", "shop_order"], "the warehouse is told now");
    let suppressed = env.count(&format!(
        "SELECT count(*) FROM suppression WHERE request_id = '{x}' AND kind IN ('customer', 'record')"
    ));
    assert_eq!(suppressed, 2, "the customer number and the person's record go on the suppression list");
    let out = env.run(&["lookup", "--customer", &number]);
    assert_ne!(out.status.code(), Some(0), "{}", support::stdout(&out));
    let (shown, _): (Value, i32) = env.json(&["request", "show", &x]);
    let told: Vec<&Value> = shown["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["what"].as_str().unwrap().contains("restriction that kept"))
        .collect();
    assert!(!told.is_empty(), "the recipients of the order are to be told: {shown}");
    let finished = env.count("SELECT count(*) FROM audit_log WHERE action = 'erasure-finished'");
    assert_eq!(finished, 1);
    // Once is enough.
    let (run, _): (Value, i32) = env.json(&["retention", "run"]);
    assert_eq!(run["erasures_finished"]["finished"], serde_json::json!([]), "{run}");
    env.dsr().args(["audit", "verify"]).assert().success();
}

/// The accountability report counts what the finishing erased as erased, no longer as kept
/// for the legal claim; the erasure is counted once.
#[test]
fn the_report_counts_the_finished_rows_as_erased() {
    let (mut env, r, x, _, _) = kevin_erased_but_his_order();
    let report = |env: &Env| -> Value {
        let (v, code): (Value, i32) = env.json(&["report", "--from", "2026-01-01", "--to", "2026-12-31"]);
        assert_eq!(code, 0, "{v}");
        v["erasures"].clone()
    };
    let claim = |e: &Value| -> Vec<Value> {
        e["kept"].as_array().unwrap().iter().filter(|k| k["table"] == "shop_order").cloned().collect()
    };
    let before = report(&env);
    assert_eq!(claim(&before).len(), 1, "the order kept for the claim: {before}");
    assert_eq!(claim(&before)[0]["rows"], 1);
    lift_by_post(&env, &r, "letter 12");
    env.now = Some("2026-12-09T09:00:00Z".into());
    let (run, _): (Value, i32) = env.json(&["retention", "run"]);
    assert_eq!(run["erasures_finished"]["finished"][0]["request"], x.as_str(), "{run}");
    let after = report(&env);
    assert_eq!(claim(&after), Vec::<Value>::new(), "{after}");
    assert_eq!(after["carried_out"], before["carried_out"]);
    let n = |e: &Value, k: &str| e[k].as_u64().unwrap();
    assert!(n(&after, "rows_deleted") > n(&before, "rows_deleted"), "{before} {after}");
    assert!(n(&after, "rows_kept") < n(&before, "rows_kept"), "{before} {after}");
    for k in after["kept"].as_array().unwrap() {
        assert_eq!(k["erasures"], 1, "one erasure: {after}");
    }
}

/// A request of the same person still owed an answer holds the finishing back, as it holds an
/// erasure back; the next run finishes once it is answered.
#[test]
fn a_request_owed_an_answer_holds_the_finishing_back() {
    let (mut env, r, x, person, number) = kevin_erased_but_his_order();
    let o = env.open("access", &["--customer", &number]);
    env.dsr()
        .args(["verify", &o.request, "--method", "in-person", "--ref", "desk visit", "--reason", "passport shown"])
        .assert()
        .success();
    lift_by_post(&env, &r, "letter 8");
    env.now = Some("2026-12-09T09:00:00Z".into());
    let out = env.run(&["restrict", "--email", "nobody@example.org", "--ground", "unlawful"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let said = support::stderr(&out);
    assert!(said.contains(&format!("Erasure {x} cannot finish yet")) && said.contains(&o.request), "{said}");
    assert_eq!(count(&env, ORDERS, &person.to_string()), 1);
    env.dsr()
        .args([
            "request",
            "reject",
            &o.request,
            "--reason",
            "other",
            "--note",
            "asked at the desk",
            "--note-nl",
            "aan de balie gevraagd",
        ])
        .assert()
        .success();
    let (run, code): (Value, i32) = env.json(&["retention", "run"]);
    assert_eq!(code, 0, "{run}");
    assert_eq!(run["erasures_finished"]["finished"][0]["request"], x.as_str(), "{run}");
    assert_eq!(count(&env, ORDERS, &person.to_string()), 0);
    env.dsr().args(["audit", "verify"]).assert().success();
}

/// The store put back from `backup` (the order of `person` with it), then `erase --replay`:
/// its summary.
fn restore_and_replay(env: &Env, backup: &std::path::Path, person: i64) -> Value {
    for side in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{side}", env.db.display()));
    }
    std::fs::copy(backup, &env.db).unwrap();
    assert_eq!(count(env, ORDERS, &person.to_string()), 1, "the restore brought the order back");
    let (v, code): (Value, i32) = env.json(&["erase", "--replay"]);
    assert_eq!(code, 0, "{v}");
    v
}

/// A store restored from a backup taken between the erasure and its finishing holds the
/// restriction in force again: the replay reads in the erasure journal that it was lifted, and
/// erases what the finishing erased. The officer's texts of the lift went with the finishing.
#[test]
fn a_replay_on_a_store_restored_from_before_the_finishing_erases_what_it_erased() {
    let (mut env, r, x, person, number) = kevin_erased_but_his_order();
    env.sql().execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    let backup = env.path("backup.sqlite");
    std::fs::copy(&env.db, &backup).unwrap();
    lift_by_post(&env, &r, "letter 9 to K. de Groot");
    env.now = Some("2026-12-09T09:00:00Z".into());
    let (run, _): (Value, i32) = env.json(&["retention", "run"]);
    assert_eq!(run["erasures_finished"]["finished"][0]["request"], x.as_str(), "{run}");
    let texts = env.count(&format!("SELECT count(*) FROM free_text WHERE request_id = '{r}'"));
    assert_eq!(texts, 0, "the officer's texts about the person's restriction go with the finishing");
    // The restore: the store as it was before the lift.
    let v = restore_and_replay(&env, &backup, person);
    assert_eq!(v["replayed"][0]["erasure"], x.as_str(), "{v}");
    assert_eq!(count(&env, ORDERS, &person.to_string()), 0, "the replay erases what the finishing erased");
    assert_eq!(count(&env, "SELECT count(*) FROM person WHERE id = ?1", &person.to_string()), 0);
    let (_, code): (Value, i32) = env.json(&["lookup", "--customer", &number]);
    assert_eq!(code, 3, "the customer number is gone, and on the suppression list");
    let (v, code): (Value, i32) = env.json(&["doctor"]);
    assert_eq!(code, 0, "{v}");
    env.dsr().args(["audit", "verify"]).assert().success();
}

/// A second legal-claims restriction opened after the erasure holds the finishing back too; when
/// both are lifted the journal names both, so a replay on a store restored from before the lifts
/// lifts both and erases what the finishing erased.
#[test]
fn a_replay_lifts_a_restriction_opened_after_the_erasure_too() {
    let (mut env, r, x, person, number) = kevin_erased_but_his_order();
    let o = env.open("restrict", &["--customer", &number, "--ground", "legal-claims", "--category", "orders"]);
    env.dsr()
        .args(["verify", &o.request, "--method", "in-person", "--ref", "desk visit", "--reason", "passport shown"])
        .assert()
        .success();
    env.dsr().args(["restrict", &o.request, "--yes"]).assert().success();
    env.sql().execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    let backup = env.path("backup.sqlite");
    std::fs::copy(&env.db, &backup).unwrap();
    lift_by_post(&env, &r, "letter 10");
    env.now = Some("2026-12-09T09:00:00Z".into());
    let (run, _): (Value, i32) = env.json(&["retention", "run"]);
    assert_eq!(run["erasures_finished"]["finished"], serde_json::json!([]), "the second claim holds: {run}");
    assert_eq!(count(&env, ORDERS, &person.to_string()), 1);
    lift_by_post(&env, &o.request, "letter 11");
    env.now = Some("2026-12-10T09:00:00Z".into());
    let (run, _): (Value, i32) = env.json(&["retention", "run"]);
    assert_eq!(run["erasures_finished"]["finished"][0]["request"], x.as_str(), "{run}");
    restore_and_replay(&env, &backup, person);
    assert_eq!(count(&env, ORDERS, &person.to_string()), 0, "the replay erases what the finishing erased");
    let active =
        env.count(&format!("SELECT count(*) FROM restriction WHERE lifted_at IS NULL AND person_id = {person}"));
    assert_eq!(active, 0);
    env.dsr().args(["audit", "verify"]).assert().success();
}

/// A request of the person still waiting for its code when the erasure finishes can never be
/// verified: it is refused, as an erasure refuses it, not left open without its person.
#[test]
fn the_finishing_refuses_a_request_waiting_for_its_code() {
    let (mut env, r, x, _, number) = kevin_erased_but_his_order();
    let waiting = env.open("access", &["--customer", &number]).request;
    lift_by_post(&env, &r, "letter 4");
    env.now = Some("2026-12-09T09:00:00Z".into());
    let (run, code): (Value, i32) = env.json(&["retention", "run"]);
    assert_eq!(code, 0, "{run}");
    assert_eq!(run["erasures_finished"]["finished"][0]["request"], x.as_str(), "{run}");
    let state: String =
        env.sql().query_row("SELECT state FROM request WHERE id = ?1", [&waiting], |r| r.get(0)).unwrap();
    assert_eq!(state, "rejected");
    env.dsr().args(["audit", "verify"]).assert().success();
}

/// A visitor known only by a cookie objects to direct marketing: processing stops, but they have
/// no address, number or customer number to put on the suppression list, and the answer does
/// not claim it (before: "your addresses are on our suppression list").
#[test]
fn a_cookie_visitor_s_marketing_objection_claims_no_suppression_list() {
    let env = Env::with_fixture("virtio");
    let o = env.open("object", &["--cookie", "vt_3f9c2a7e81d04b6c", "--purpose", "tailored-ads"]);
    env.dsr()
        .args(["verify", &o.request, "--method", "in-person", "--ref", "desk visit", "--reason", "cookie shown"])
        .assert()
        .success();
    let (v, code): (Value, i32) = env.json(&["object", &o.request, "--yes"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["outcome"]["outcome"], "stopped", "{v}");
    let text = v["outcome"]["explanation_en"].as_str().unwrap();
    assert!(text.contains("stopped at once and for good") && !text.contains("suppression list"), "{text}");
    assert_eq!(env.count("SELECT count(*) FROM suppression"), 0);
}
