//! `dsr retention run`: what an open request freezes, what a consent keeps, and rules the engine
//! cannot carry out. The fixtures are made at a fixed moment so that later runs fall on known dates.

use serde_json::Value;

use crate::support::{self, Env};

const MADE: &str = "2026-06-01T00:00:00Z";

fn fixture_made(name: &str) -> Env {
    let mut env = Env::new();
    env.now = Some(MADE.into());
    env.dsr().args(["init", "--fixture", name]).assert().success();
    env
}

fn count(env: &Env, sql: &str) -> i64 {
    env.sql().query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Crash reports, log lines of own sessions and IP history of one person.
fn rows_of(env: &Env, person: i64) -> [i64; 3] {
    [
        count(env, &format!("SELECT count(*) FROM crash_report WHERE person_id = {person}")),
        count(
            env,
            &format!(
                "SELECT count(*) FROM server_log WHERE session_id IN (SELECT s.id FROM web_session s JOIN customer c ON c.id = s.customer_id WHERE c.person_id = {person})"
            ),
        ),
        count(env, &format!("SELECT count(*) FROM ip_event WHERE customer_id IN (SELECT id FROM customer WHERE person_id = {person})")),
    ]
}

fn run(env: &Env, dry_run: bool) -> (Value, String) {
    let mut args = vec!["--json", "retention", "run"];
    if dry_run {
        args.push("--dry-run");
    }
    let out = env.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
    (serde_json::from_slice(&out.stdout).unwrap(), support::stderr(&out))
}

fn held_per_rule(v: &Value) -> Vec<(String, u64)> {
    v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["rule"].as_str().unwrap().to_owned(), r["held"].as_u64().unwrap()))
        .collect()
}

#[test]
fn an_open_access_or_export_request_freezes_retention_for_its_person() {
    let mut env = fixture_made("virtio");
    // Years later, Mohamed El Amrani (14) asks for access and has not yet relayed the code; Jan de
    // Vries (1) asked for an export and is verified, but the answer has not been delivered.
    env.now = Some("2031-01-01T00:00:00Z".into());
    let waiting = env.open("access", &["--email", "mohamed.elamrani@example.com"]);
    let verified = env.open("export", &["--email", "jan.devries@example.nl"]);
    let code = env.code(&verified.request);
    env.dsr().args(["verify", &verified.request, &code]).assert().success();
    let (mohamed, jan) = (rows_of(&env, 14), rows_of(&env, 1));
    assert!(mohamed[0] > 0 && jan[1] > 0 && jan[2] > 0, "{mohamed:?} {jan:?}");
    let others_crashes = count(&env, "SELECT count(*) FROM crash_report WHERE person_id <> 14");
    assert!(others_crashes > 0);

    let (dry, dry_line) = run(&env, true);
    let (real, line) = run(&env, false);
    let held: u64 = (mohamed.iter().sum::<i64>() + jan.iter().sum::<i64>()) as u64;
    for v in [&dry, &real] {
        assert_eq!(v["held_persons"], 2, "{v}");
        assert!(v["held_rows"].as_u64().unwrap() >= held, "at least their crash reports, logs and IP history: {v}");
    }
    assert_eq!(dry["held_rows"], real["held_rows"], "dry run and real run agree");
    assert_eq!(held_per_rule(&dry), held_per_rule(&real));
    let crash = held_per_rule(&real).into_iter().find(|(r, _)| r == "crash-data").unwrap().1;
    assert_eq!(crash, mohamed[0] as u64);
    let held_rows = real["held_rows"].as_u64().unwrap();
    assert!(line.contains(&format!("{held_rows} rows of 2 people held back for open requests")), "{line}");
    assert!(dry_line.contains(&format!("{held_rows} rows of 2 people held back for open requests")), "{dry_line}");
    assert_eq!(rows_of(&env, 14), mohamed, "the answer shows the data as it was when asked");
    assert_eq!(rows_of(&env, 1), jan);
    assert_eq!(count(&env, "SELECT count(*) FROM crash_report WHERE person_id <> 14"), 0, "everyone else's expired");

    // Once the request is closed, the next run removes what expired.
    env.dsr()
        .args([
            "request",
            "reject",
            &waiting.request,
            "--reason",
            "other",
            "--note",
            "asked by mistake",
            "--note-nl",
            "per vergissing gevraagd",
        ])
        .assert()
        .success();
    let (after, _) = run(&env, false);
    assert_eq!(after["held_persons"], 1, "{after}");
    assert_eq!(rows_of(&env, 14), [0, 0, 0]);
    assert_eq!(rows_of(&env, 1), jan, "the export is still waiting for delivery");
    env.dsr().args(["audit", "verify"]).assert().success();
}

fn subscribe(env: &Env, person: i64, address: &str) {
    env.sql()
        .execute_batch(&format!(
            "INSERT INTO person (id, created_at, source) VALUES ({person}, '2026-05-01T00:00:00Z', 'signup');
             INSERT INTO email_address (person_id, address, address_norm, is_primary, newsletter_opt_in, created_at)
               VALUES ({person}, '{address}', '{address}', 1, 1, '2026-05-01T00:00:00Z');
             INSERT INTO consent (person_id, purpose, granted, recorded_at, source) VALUES ({person}, 'newsletter', 1, '2026-05-01T00:00:00Z', 'signup');"
        ))
        .unwrap();
}

fn newsletter_allowed(env: &Env, address: &str) -> bool {
    let (v, _): (Value, i32) = env.json(&["check", "--purpose", "newsletter", "--email", address]);
    v["allowed"] == true
}

#[test]
fn a_consent_keeps_its_subscriber_and_the_proof_of_a_withdrawal_stays_its_period() {
    for fixture in support::FIXTURES {
        let mut env = fixture_made(fixture);
        subscribe(&env, 900, "lezer@example.nl");
        let visitor = count(&env, "SELECT id FROM person WHERE source = 'cookie'");
        let withdrawn = |env: &Env| {
            count(env, &format!("SELECT count(*) FROM consent WHERE person_id = {visitor} AND purpose = 'analytics'"))
        };
        assert_eq!(withdrawn(&env), 2, "{fixture}: the visitor gave analytics consent and withdrew it");

        // The first nightly run: a newsletter-only subscriber is a relationship, not a leftover.
        env.now = Some("2026-06-02T00:00:00Z".into());
        run(&env, false);
        assert_eq!(count(&env, "SELECT count(*) FROM person WHERE id = 900"), 1, "{fixture}");
        assert_eq!(count(&env, "SELECT count(*) FROM consent WHERE person_id = 900"), 1, "{fixture}");
        assert!(newsletter_allowed(&env, "lezer@example.nl"), "{fixture}");

        // 14 months on the visitor's cookie has expired; the proof of the withdrawal stays 3 years.
        env.now = Some("2027-08-01T00:00:00Z".into());
        let (v, _) = run(&env, false);
        let cookies =
            v["rules"].as_array().unwrap().iter().find(|r| r["rule"] == "cookies").unwrap()["removed"].clone();
        assert!(cookies.as_u64().unwrap() > 0, "{fixture}: {v}");
        assert_eq!(count(&env, &format!("SELECT count(*) FROM cookie WHERE person_id = {visitor}")), 0, "{fixture}");
        assert_eq!(withdrawn(&env), 2, "{fixture}: consent and withdrawal kept as proof");
        assert_eq!(count(&env, &format!("SELECT count(*) FROM person WHERE id = {visitor}")), 1, "{fixture}");

        // Past the 3 years the withdrawn consent's records go; the consent still in force stays.
        env.now = Some("2030-01-01T00:00:00Z".into());
        run(&env, false);
        assert_eq!(withdrawn(&env), 0, "{fixture}");
        let in_force =
            count(&env, &format!("SELECT count(*) FROM consent WHERE person_id = {visitor} AND granted = 1"));
        assert!(in_force > 0, "{fixture}: bot detection is still consented to");
        assert!(newsletter_allowed(&env, "lezer@example.nl"), "{fixture}");
        env.dsr().args(["audit", "verify"]).assert().success();
    }
}

/// Milan Peters (virtio 20): contract ended 20 months before the fixture was made; he kept the
/// newsletter with his first address and has a second one.
fn keeps_the_newsletter(env: &Env) {
    env.sql()
        .execute_batch(
            "UPDATE email_address SET newsletter_opt_in = 1 WHERE person_id = 20;
             INSERT INTO email_address (person_id, address, address_norm, is_primary, newsletter_opt_in, created_at)
               VALUES (20, 'm.peters@example.org', 'm.peters@example.org', 0, 0, '2020-01-01T00:00:00Z');
             INSERT INTO consent (person_id, purpose, granted, recorded_at, source) VALUES (20, 'newsletter', 1, '2020-01-01T00:00:00Z', 'signup');",
        )
        .unwrap();
}

#[test]
fn an_ended_contract_keeps_the_address_a_newsletter_consent_covers() {
    let mut env = fixture_made("virtio");
    keeps_the_newsletter(&env);
    env.now = Some("2028-01-01T00:00:00Z".into());
    let (v, _) = run(&env, false);
    let profile = v["rules"].as_array().unwrap().iter().find(|r| r["rule"] == "customer-profile").unwrap();
    assert!(profile["removed"].as_u64().unwrap() >= 1, "{v}");
    assert_eq!(count(&env, "SELECT count(*) FROM customer WHERE person_id = 20"), 0, "the contract's data went");
    assert_eq!(count(&env, "SELECT count(*) FROM phone_number WHERE person_id = 20"), 0);
    assert_eq!(
        count(&env, "SELECT count(*) FROM person WHERE id = 20 AND given_name IS NULL AND family_name IS NULL AND street IS NULL"),
        1,
        "the person stays, without name and postal address"
    );
    let addresses: Vec<String> = env
        .sql()
        .prepare("SELECT address FROM email_address WHERE person_id = 20")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(addresses, ["milan.peters@example.com"], "only the address the consent covers");
    assert_eq!(count(&env, "SELECT count(*) FROM consent WHERE person_id = 20"), 1);
    assert!(newsletter_allowed(&env, "milan.peters@example.com"), "not put on the suppression list");
    env.dsr().args(["audit", "verify"]).assert().success();
}

#[test]
fn a_rule_the_engine_cannot_carry_out_fails_the_run_instead_of_removing_nothing() {
    let env = fixture_made("voordelig-streamen");
    env.sql()
        .execute(
            "INSERT INTO retention_rule VALUES ('customers-by-event', 'login', 'customer', 12, 'event',
               'Customer numbers: 12 months.', 'Klantnummers: 12 maanden.', 'fixture', 'Loaded behind dsr''s back.')",
            [],
        )
        .unwrap();
    for dry_run in [true, false] {
        let mut args = vec!["--json", "retention", "run"];
        if dry_run {
            args.push("--dry-run");
        }
        let out = env.run(&args);
        assert_eq!(out.status.code(), Some(1), "{}", support::stderr(&out));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["failed"], 1, "{v}");
        let rule = v["rules"].as_array().unwrap().iter().find(|r| r["rule"] == "customers-by-event").unwrap();
        assert!(rule["error"].as_str().unwrap().contains("cannot be carried out"), "{rule}");
        assert!(support::stderr(&out).contains("rule customers-by-event failed"), "{}", support::stderr(&out));
    }
}

#[test]
fn a_restriction_stays_with_what_a_consent_keeps() {
    let mut env = fixture_made("virtio");
    keeps_the_newsletter(&env);
    let o = env.open("restrict", &["--email", "milan.peters@example.com", "--ground", "accuracy-contested"]);
    let code = env.code(&o.request);
    env.dsr().args(["verify", &o.request, &code]).assert().success();
    env.dsr().args(["restrict", &o.request, "--yes"]).assert().success();
    env.now = Some("2028-01-01T00:00:00Z".into());
    run(&env, false);
    assert_eq!(count(&env, "SELECT count(*) FROM person WHERE id = 20"), 1);
    assert_eq!(count(&env, "SELECT count(*) FROM restriction WHERE person_id = 20 AND lifted_at IS NULL"), 1);
    let (v, code): (Value, i32) =
        env.json(&["check", "--purpose", "newsletter", "--email", "milan.peters@example.com"]);
    assert_eq!((v["reason"].as_str(), code), (Some("restricted"), 20), "{v}");
}

/// A restriction the person asked instead of erasure (Art. 18(1)(b)) of their contact data only:
/// retention of the ended contract takes the rest of the profile and keeps those, linked to the
/// person, and the rule for people without relation leaves them while it holds. Once it is
/// lifted, they go too.
#[test]
fn a_restriction_of_some_categories_keeps_those_and_the_rest_of_an_ended_profile_goes() {
    let mut env = fixture_made("webshop");
    let o = env.open("restrict", &["--email", "h.timmer@example.nl", "--ground", "unlawful", "--category", "contact"]);
    let code = env.code(&o.request);
    env.dsr().args(["verify", &o.request, &code]).assert().success();
    env.dsr().args(["restrict", &o.request, "--yes"]).assert().success();
    let (v, _) = run(&env, false);
    let profile = v["rules"].as_array().unwrap().iter().find(|r| r["rule"] == "customer-profile").unwrap();
    assert!(profile["removed"].as_u64().unwrap() >= 1, "{v}");
    assert_eq!(count(&env, "SELECT count(*) FROM customer WHERE person_id = 15"), 0, "the contract's data went");
    assert_eq!(count(&env, "SELECT count(*) FROM person WHERE id = 15 AND given_name IS NULL AND street IS NULL"), 1);
    assert_eq!(
        count(&env, "SELECT count(*) FROM email_address WHERE person_id = 15"),
        1,
        "the restricted contact data stay"
    );
    assert_eq!(count(&env, "SELECT count(*) FROM restriction WHERE person_id = 15"), 1);
    run(&env, false);
    assert_eq!(count(&env, "SELECT count(*) FROM email_address WHERE person_id = 15"), 1, "and stay while it holds");
    let lift = [
        "restrict",
        "--lift",
        &o.request,
        "--reason",
        "Resolved.",
        "--reason-nl",
        "Opgelost.",
        "--notice-days",
        "1",
        "--notice-by",
        "post",
        "--notice-ref",
        "letter 7",
    ];
    env.dsr().args(lift).assert().success();
    env.now = Some("2026-06-03T00:00:00Z".into());
    run(&env, false);
    run(&env, false);
    assert_eq!(count(&env, "SELECT count(*) FROM email_address WHERE person_id = 15"), 0, "lifted, nothing keeps them");
    assert_eq!(count(&env, "SELECT count(*) FROM person WHERE id = 15"), 0);
}

/// A restriction of rows that hang from the contract (orders) keeps the whole profile: the plan
/// would keep the contract row with them, and the person would be erased again every run.
#[test]
fn a_restriction_of_rows_under_the_contract_keeps_the_profile_and_no_run_counts_it_again() {
    let env = fixture_made("webshop");
    let o = env.open("restrict", &["--email", "h.timmer@example.nl", "--ground", "unlawful", "--category", "orders"]);
    let code = env.code(&o.request);
    env.dsr().args(["verify", &o.request, &code]).assert().success();
    env.dsr().args(["restrict", &o.request, "--yes"]).assert().success();
    run(&env, false);
    assert_eq!(count(&env, "SELECT count(*) FROM person WHERE id = 15 AND given_name = 'Henk'"), 1);
    assert_eq!(count(&env, "SELECT count(*) FROM customer WHERE person_id = 15"), 1);
    let (v, _) = run(&env, false);
    let profile = v["rules"].as_array().unwrap().iter().find(|r| r["rule"] == "customer-profile").unwrap();
    assert_eq!(profile["removed"], 0, "nothing is left to count again: {v}");
}

#[test]
fn a_rule_that_fails_part_way_audits_the_rows_its_committed_batches_removed() {
    let mut env = fixture_made("virtio");
    env.now = Some("2031-01-01T00:00:00Z".into());
    // The last IP event cannot be deleted (as on a full disk): the batches before it commit.
    let (all, last): (i64, i64) =
        env.sql().query_row("SELECT count(*), max(rowid) FROM ip_event", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    env.sql()
        .execute_batch(&format!(
            "CREATE TRIGGER full_disk BEFORE DELETE ON ip_event WHEN old.rowid = {last}
             BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;"
        ))
        .unwrap();
    let out = env.run(&["--json", "retention", "run", "--batch", "5"]);
    assert_eq!(out.status.code(), Some(1), "{}", support::stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rule = v["rules"].as_array().unwrap().iter().find(|r| r["rule"] == "ip-history").unwrap().clone();
    let gone = all - count(&env, "SELECT count(*) FROM ip_event");
    assert!(gone >= 5, "earlier batches committed: {gone}");
    assert_eq!(rule["removed"].as_i64(), Some(gone), "{rule}");
    assert!(rule["error"].as_str().unwrap().contains("disk is full"), "{rule}");
    let audited = count(
        &env,
        "SELECT coalesce(sum(json_extract(details, '$.removed')), 0) FROM audit_log
         WHERE action = 'retention' AND json_extract(details, '$.rule') = 'ip-history'",
    );
    assert_eq!(audited, gone, "every removed row is in the audit trail");
    assert_eq!(count(&env, "SELECT count(*) FROM store_meta WHERE key LIKE 'retention-progress:%'"), 0);
    let err = support::stderr(&out);
    assert!(err.contains(&format!("rule ip-history failed after removing {gone} rows")), "{err}");
    // The next run records nothing twice.
    env.sql().execute_batch("DROP TRIGGER full_disk").unwrap();
    run(&env, false);
    let audited = count(
        &env,
        "SELECT coalesce(sum(json_extract(details, '$.removed')), 0) FROM audit_log
         WHERE action = 'retention' AND json_extract(details, '$.rule') = 'ip-history'",
    );
    assert_eq!(audited, all);
    assert_eq!(count(&env, "SELECT count(*) FROM audit_log WHERE action = 'retention-interrupted'"), 0);
}

#[test]
fn a_store_failing_where_a_rule_is_recorded_stops_the_run_after_its_summary() {
    let mut env = fixture_made("virtio");
    env.now = Some("2031-01-01T00:00:00Z".into());
    let all = count(&env, "SELECT count(*) FROM ip_event");
    // The rule's rows go in committed batches; its audit entry cannot be written (as when another
    // process holds the store's lock past the busy timeout, or the disk fills).
    env.sql()
        .execute_batch(
            "CREATE TRIGGER full_disk BEFORE INSERT ON audit_log WHEN json_extract(new.details, '$.rule') = 'ip-history'
             BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
        )
        .unwrap();
    let out = env.run(&["--json", "retention", "run", "--batch", "5"]);
    let err = support::stderr(&out);
    // A trigger stands in for the store failing: it is told as a trigger's refusal (exit 11).
    assert_eq!(out.status.code(), Some(11), "{err}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("the summary, not only an error document");
    let rule = v["rules"].as_array().unwrap().iter().find(|r| r["rule"] == "ip-history").unwrap().clone();
    let gone = all - count(&env, "SELECT count(*) FROM ip_event");
    assert!(gone > 5, "{gone}");
    assert_eq!(rule["removed"].as_i64(), Some(gone), "{rule}");
    assert!(rule["error"].as_str().unwrap().contains("could not be recorded"), "{rule}");
    assert!(err.contains(&format!("rule ip-history failed after removing {gone} rows:")), "{err}");
    assert!(!err.contains(&format!("{gone} rows (audited)")), "{err}");
    let (status, _): (Value, i32) = env.json(&["status"]);
    let last = &status["cron"].as_array().unwrap().iter().find(|c| c["command"] == "retention run").unwrap()["last"];
    assert_ne!(last["exit_code"], 0, "the stopped run is recorded: {status}");
    // The next run records the removed rows once, as an interrupted run's.
    env.sql().execute_batch("DROP TRIGGER full_disk").unwrap();
    run(&env, false);
    let interrupted = count(
        &env,
        "SELECT coalesce(sum(json_extract(details, '$.removed.ip-history')), 0) FROM audit_log WHERE action = 'retention-interrupted'",
    );
    assert_eq!(interrupted, gone);
}

#[test]
fn a_run_another_process_locks_part_way_reports_what_it_removed_and_exits_13() {
    let mut env = fixture_made("virtio");
    env.sql()
        .execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
             INSERT INTO server_log (logged_at, ip, method, path, status) SELECT '2020-01-01T00:00:00Z', '192.0.2.1', 'GET', '/', 200 FROM n",
        )
        .unwrap();
    let all = count(&env, "SELECT count(*) FROM server_log");
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("dsr"))
        .current_dir(env.dir.path())
        .env("DSR_NOW", "2031-01-01T00:00:00Z")
        .env_remove("DSR_DB")
        .args(["--db", env.db.to_str().unwrap(), "--json", "retention", "run", "--batch", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once the logs' rule has committed a batch, another process takes the write lock and keeps it.
    let holder = env.sql();
    holder.busy_timeout(std::time::Duration::from_secs(60)).unwrap();
    let started = std::time::Instant::now();
    while count(&env, "SELECT count(*) FROM store_meta WHERE key = 'retention-progress:server-logs'") == 0 {
        assert!(started.elapsed() < std::time::Duration::from_secs(120), "the rule never started");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    holder.execute_batch("BEGIN IMMEDIATE; INSERT INTO store_meta (key, value) VALUES ('held', 'x')").unwrap();
    let out = child.wait_with_output().unwrap();
    let removed = all - count(&env, "SELECT count(*) FROM server_log");
    holder.execute_batch("ROLLBACK").unwrap();
    let err = support::stderr(&out);
    assert_eq!(out.status.code(), Some(13), "{err}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("the summary, not only an error document");
    let rule = v["rules"].as_array().unwrap().iter().find(|r| r["rule"] == "server-logs").unwrap().clone();
    assert!(removed > 0 && rule["removed"].as_i64() == Some(removed), "{removed}: {rule}");
    assert!(err.contains(&format!("rule server-logs failed after removing {removed} rows:")), "{err}");
    assert!(err.contains("stayed locked by another process"), "{err}");
    // The next run records those rows once, as an interrupted run's.
    env.now = Some("2031-01-01T00:00:00Z".into());
    run(&env, false);
    let interrupted = count(
        &env,
        "SELECT coalesce(sum(json_extract(details, '$.removed.server-logs')), 0) FROM audit_log WHERE action = 'retention-interrupted'",
    );
    assert_eq!(interrupted, removed);
}

#[test]
fn a_run_killed_after_some_rules_counts_once_in_the_report() {
    let mut env = fixture_made("virtio");
    env.now = Some("2031-01-01T00:00:00Z".into());
    let (first, _) = run(&env, false);
    assert!(first["removed"].as_i64().unwrap() > 0, "{first}");
    // As if the run had been killed in a batch of one more rule after finishing the others: its
    // progress row is left for the next run.
    env.sql()
        .execute_batch("INSERT INTO store_meta (key, value) VALUES ('retention-progress:server-logs', 3)")
        .unwrap();
    env.now = Some("2031-02-01T00:00:00Z".into());
    run(&env, false);
    let run_at: String = env
        .sql()
        .query_row(
            "SELECT json_extract(details, '$.run_at') FROM audit_log WHERE action = 'retention-interrupted'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(run_at, "2031-01-01T00:00:00Z");
    let (report, code): (Value, i32) = env.json(&["report", "--from", "2031-01-01", "--to", "2031-12-31"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["retention"]["runs"], 1, "the killed run is one run: {}", report["retention"]);
    env.dsr().args(["audit", "verify"]).assert().success();
}

/// A company of its own (tests/data/gym.toml): members, their visits and visit logs, and
/// invoices kept for ten years after their fiscal year; two members, one with a 2025 invoice.
fn gym() -> Env {
    let mut env = Env::new();
    env.now = Some("2026-04-01T10:00:00Z".into());
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gym.toml");
    env.dsr().args(["init", "--register"]).arg(file).assert().success();
    env.sql()
        .execute_batch(
            "INSERT INTO member VALUES (1, 'Jan'), (2, 'Piet');
             INSERT INTO member_email VALUES (1, 1, 'jan@example.nl'), (2, 2, 'piet@example.nl');
             INSERT INTO visit VALUES (1, 1, '2024-01-01T10:00:00Z'), (2, 2, '2026-03-01T10:00:00Z');
             INSERT INTO visit_log VALUES (1, 1, '2024-01-01T10:05:00Z');
             INSERT INTO gym_invoice VALUES (1, 1, '2025-06-01T00:00:00Z');",
        )
        .unwrap();
    env
}

#[test]
fn a_fiscal_record_keeps_its_person_from_the_rule_for_people_without_relation() {
    let env = gym();
    run(&env, false);
    // Jan's old visit and its log went; his 2025 invoice (held until the end of 2035) and so Jan
    // himself stay, with his address.
    assert_eq!(count(&env, "SELECT count(*) FROM visit"), 1);
    assert_eq!(count(&env, "SELECT count(*) FROM gym_invoice WHERE member_id = 1"), 1);
    assert_eq!(count(&env, "SELECT count(*) FROM member"), 2);
    assert_eq!(count(&env, "SELECT count(*) FROM member_email"), 2);
}

#[test]
fn a_period_past_the_calendar_is_refused_and_a_stored_one_expires_nothing() {
    let env = gym();
    let text = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gym.toml"))
        .unwrap()
        .replace("period_months = 12\n", "period_months = 100000000\n");
    let file = env.path("long.toml");
    std::fs::write(&file, text).unwrap();
    let out = env.dsr().args(["register", "check"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    assert!(support::stderr(&out).contains("period_months: is more than 1200 months"), "{}", support::stderr(&out));
    // A store whose rule says so already (written before the bound): the rule removes nothing.
    env.sql().execute("UPDATE retention_rule SET period_months = 100000000 WHERE code = 'visits'", []).unwrap();
    let (v, _) = run(&env, false);
    let visits = v["rules"].as_array().unwrap().iter().find(|r| r["rule"] == "visits").unwrap().clone();
    assert_eq!(visits["removed"], 0, "{visits}");
    assert_eq!(count(&env, "SELECT count(*) FROM visit"), 2);
}

#[test]
fn a_dry_run_expires_nothing_and_counts_a_stale_request_as_the_run_would() {
    let mut env = fixture_made("virtio");
    let o = env.open("access", &["--email", "jan.devries@example.nl"]);
    let outbox = env.path("outbox");
    let letters = || std::fs::read_dir(&outbox).unwrap().count();
    let before = (letters(), count(&env, "SELECT count(*) FROM audit_log"));
    env.now = Some("2027-08-01T00:00:00Z".into());
    let (dry, _) = run(&env, true);
    env.now = Some("2026-06-02T00:00:00Z".into());
    assert_eq!((letters(), count(&env, "SELECT count(*) FROM audit_log")), before, "the dry run wrote nothing");
    let state: String =
        env.sql().query_row("SELECT state FROM request WHERE id = ?1", [&o.request], |r| r.get(0)).unwrap();
    assert_eq!(state, "awaiting-verification");
    // A later command at the real time is not refused for a clock behind the trail.
    env.dsr().args(["verify", "--resend", &o.request]).assert().success();
    // The run at that time expires the request first, and removes what the dry run counted.
    env.now = Some("2027-08-01T00:00:00Z".into());
    let (real, _) = run(&env, false);
    let profile = |v: &Value, what: &str| {
        v["rules"].as_array().unwrap().iter().find(|r| r["rule"] == "customer-profile").unwrap()[what].clone()
    };
    assert_eq!((profile(&dry, "removed"), profile(&real, "removed")), (1.into(), 1.into()), "dry {dry}\nreal {real}");
    // The rows of the person's other tables go with the profile, and are counted (`removed_with`).
    let with = profile(&real, "removed_with").as_u64().unwrap_or(0);
    assert!(with >= 1, "{real}");
    // A dry run counts each rule on the store as it is: rows earlier rules remove are counted again.
    assert!(profile(&dry, "removed_with").as_u64().unwrap_or(0) >= with, "dry {dry}");
    assert_eq!((&dry["held_rows"], &dry["held_persons"]), (&real["held_rows"], &real["held_persons"]));
}

#[test]
fn moments_not_in_utc_text_stop_their_rule_before_it_removes_anything() {
    let mut env = fixture_made("webshop");
    env.now = Some("2026-12-07T00:00:00Z".into());
    let all = count(&env, "SELECT count(*) FROM support_mail");
    // Written by the company's own system, past dsr's import: a Dutch date, a slash, a space.
    env.sql()
        .execute_batch(
            "UPDATE support_mail SET sent_at = '01-12-2026' WHERE id = (SELECT min(id) FROM support_mail);
             UPDATE support_mail SET sent_at = ' 2026-12-01T00:00:00Z' WHERE id = (SELECT max(id) FROM support_mail);",
        )
        .unwrap();
    let out = env.run(&["--json", "retention", "run"]);
    assert_eq!(out.status.code(), Some(1), "{}", support::stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rule = v["rules"].as_array().unwrap().iter().find(|r| r["table"] == "support_mail").unwrap().clone();
    assert_eq!(rule["removed"], 0, "{rule}");
    let error = rule["error"].as_str().unwrap();
    assert!(error.contains("table support_mail column sent_at holds 2 value(s) that are not UTC times"), "{error}");
    assert_eq!(count(&env, "SELECT count(*) FROM support_mail"), all, "nothing removed");
    // The other rules ran.
    assert!(v["rules"].as_array().unwrap().iter().filter(|r| r["error"].is_null()).count() > 3, "{v}");
}
