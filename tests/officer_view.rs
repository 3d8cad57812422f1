//! What the officer sees: plain tables in a pipe, the register's codes, man pages, the request
//! list's next action, and the questions asked on a terminal before anything is removed.

use crate::support::{at_terminal, stdout, Env};

/// The rows of the table under `header` in piped output (up to the first blank line).
fn tsv_rows<'a>(text: &'a str, header: &str) -> Vec<Vec<&'a str>> {
    let mut lines = text.lines().skip_while(|l| *l != header);
    assert!(lines.next().is_some(), "no table with header {header:?} in:\n{text}");
    lines.take_while(|l| !l.is_empty()).map(|l| l.split('\t').collect()).collect()
}

#[test]
fn piped_tables_are_tab_separated_with_a_header_row() {
    let env = Env::with_fixture("virtio");
    let text = stdout(&env.run(&["register"]));
    assert!(!text.contains('│') && !text.contains('─'), "no boxes in a pipe:\n{text}");
    let rows = tsv_rows(&text, "Category\tCode\tSource\tPortable\tRetention");
    assert!(rows.iter().all(|r| r.len() == 5), "{rows:?}");
    // A cell of several lines stays on its row: the newline is written as \n.
    let ip = rows.iter().find(|r| r[0] == "IP addresses and sessions").expect("IP row");
    assert_eq!(ip[4], "IP history: 12 months.\\nSessions: 12 months.");

    // Stored text with a tab and a newline (a name typed into a form) cannot break a row.
    let phone: String = env
        .sql()
        .query_row("SELECT number FROM phone_number GROUP BY number HAVING count(*) > 1 LIMIT 1", [], |r| r.get(0))
        .unwrap();
    env.sql()
        .execute(
            "UPDATE person SET given_name = 'Ev' || char(9) || 'il' || char(10) || 'x'
             WHERE id IN (SELECT person_id FROM phone_number WHERE number = ?1)",
            [&phone],
        )
        .unwrap();
    let text = stdout(&env.run(&["lookup", "--phone", &phone]));
    let rows = tsv_rows(&text, "Person\tCustomer\tName\tRoles");
    assert_eq!(rows.len(), 2, "{text}");
    assert!(rows.iter().all(|r| r.len() == 4 && r[2].starts_with("Ev\\til\\nx ")), "{rows:?}");
}

#[test]
fn the_register_shows_the_codes_that_flags_take_and_completions_offer_them() {
    let env = Env::with_fixture("virtio");
    let text = stdout(&env.run(&["register"]));
    let purposes = tsv_rows(&text, "Purpose\tCode\tLegal basis\tDirect marketing");
    assert!(purposes.iter().any(|r| r[0] == "Newsletter" && r[1] == "newsletter"), "{purposes:?}");
    let recipients = tsv_rows(&text, "Recipient\tCode\tCountry\tSafeguards\tReceives");
    assert!(recipients.iter().any(|r| r[1] == "paypal"), "{recipients:?}");
    let grounds = tsv_rows(&text, "Restriction ground\tCode\tArticle");
    let codes: Vec<&str> = grounds.iter().map(|r| r[1]).collect();
    assert_eq!(codes, ["accuracy-contested", "unlawful", "legal-claims", "objection-pending"]);
    // A code shown is a code the flag takes.
    let out = env.run(&["check", "--email", "jan.devries@example.nl", "--purpose", purposes[0][1]]);
    assert_ne!(out.status.code(), Some(2), "{}", crate::support::stderr(&out));

    for shell in ["bash", "zsh", "fish"] {
        let script = stdout(&env.run(&["completions", shell]));
        for code in ["newsletter", "paypal", "google-analytics", "accuracy-contested"] {
            assert!(script.contains(code), "{shell} completion offers {code}");
        }
    }
}

#[test]
fn man_writes_a_page_per_subcommand_with_exit_status_and_environment() {
    let env = Env::new();
    let out = env.run(&["man", "--dir", "pages"]);
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    let dir = env.path("pages");
    let mut pages: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    pages.sort();
    for page in ["dsr.1", "dsr-access.1", "dsr-retention-run.1", "dsr-request-list.1", "dsr-audit-verify.1"] {
        assert!(pages.iter().any(|p| p == page), "{page} in {pages:?}");
    }
    for page in &pages {
        let roff = std::fs::read_to_string(dir.join(page)).unwrap();
        assert!(roff.contains(".SH \"EXIT STATUS\""), "{page}");
        assert!(roff.contains(".SH ENVIRONMENT") && roff.contains("DSR_DB"), "{page}");
        // Every page named (dsr\-request\-list(1)) exists.
        for named in roff.split("dsr\\-").skip(1).filter_map(|s| s.split_once("(1)")).map(|(n, _)| n) {
            if named.chars().all(|c| c.is_ascii_lowercase() || c == '\\' || c == '-') {
                let file = format!("dsr-{}.1", named.replace("\\-", "-"));
                assert!(pages.contains(&file), "{page} names {file}, which was not written");
            }
        }
    }
    let top = std::fs::read_to_string(dir.join("dsr.1")).unwrap();
    assert!(top.contains("dsr\\-access(1)") && !top.contains("dsr\\-help(1)") && !top.contains("dsr\\-generate(1)"));
}

fn verified(env: &Env, right: &str, args: &[&str]) -> String {
    let o = env.open(right, args);
    let code = env.code(&o.request);
    env.dsr().args(["verify", &o.request, &code]).assert().success();
    o.request
}

#[test]
fn request_list_shows_the_label_the_days_left_and_the_next_action_in_80_columns() {
    let env = Env::with_fixture("virtio");
    let (number, other): (String, String) = env
        .sql()
        .query_row(
            "SELECT c.customer_number, (SELECT e.address FROM email_address e WHERE e.person_id <> c.person_id
                 AND e.address <> 'jan.devries@example.nl' ORDER BY e.id LIMIT 1)
             FROM customer c JOIN person p ON p.id = c.person_id
             WHERE c.person_id NOT IN (SELECT person_id FROM email_address WHERE address = 'jan.devries@example.nl')
             ORDER BY c.id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let waiting = env.open("access", &["--email", "jan.devries@example.nl"]).request;
    let access = verified(&env, "export", &["--customer", &number]);
    let rectify = verified(&env, "rectify", &["--customer", &number, "--set", "city=Utrecht"]);
    let erase = verified(&env, "erase", &["--email", &other]);
    let next = |env: &Env| -> Vec<(String, String, String, String)> {
        let text = stdout(&env.run(&["request", "list"]));
        tsv_rows(&text, "Request\tSubject\tRight\tDays left\tNext action")
            .into_iter()
            .map(|r| (r[0].to_owned(), r[1].to_owned(), r[3].to_owned(), r[4].to_owned()))
            .collect()
    };
    let action = |env: &Env, id: &str| next(env).into_iter().find(|r| r.0 == id).expect("listed").3;
    assert_eq!(action(&env, &waiting), "waiting for the code");
    assert_eq!(action(&env, &access), format!("answer: dsr export {access} --send"));
    assert_eq!(action(&env, &rectify), format!("answer: dsr rectify {rectify}"));
    assert_eq!(action(&env, &erase), format!("plan: dsr erase {erase} --dry-run"));
    env.dsr().args(["erase", &erase, "--dry-run"]).assert().success();
    assert_eq!(action(&env, &erase), "erasure plan waits for approval");
    let (applied, code): (serde_json::Value, i32) = env.json(&["rectify", &rectify, "--yes"]);
    assert_eq!(code, 0, "{applied}");
    let told = applied["recipients"].as_array().unwrap().iter().filter(|n| n["state"] == "to-notify").count();
    assert!(told > 0, "{applied}");
    let expected = if told == 1 { "1 recipient to tell".to_owned() } else { format!("{told} recipients to tell") };
    assert_eq!(action(&env, &rectify), expected);
    // An objection to a legitimate interest waits for the officer's decision (Art. 21(1)).
    let object = verified(&env, "object", &["--customer", &number, "--purpose", "security"]);
    env.dsr().args(["object", &object, "--yes"]).assert().success();
    assert_eq!(action(&env, &object), format!("decide: dsr object --decide {object}"));

    // The label is the start of the subject's pseudonym; the days left count down to the deadline.
    let (list, _): (serde_json::Value, i32) = env.json(&["request", "list"]);
    for (row, json) in next(&env).iter().zip(list["requests"].as_array().unwrap()) {
        assert_eq!(json["id"], row.0.as_str());
        assert!(json["subject_pseudonym"].as_str().unwrap().starts_with(&row.1) && row.1.len() == 8, "{row:?}");
        assert_eq!(json["next_action"], row.3.as_str());
        if json["state"] == "verified" {
            assert_eq!(json["days_left"].to_string(), row.2);
        }
    }

    // On an 80-column terminal the boxed table fits.
    let bin = assert_cmd::cargo::cargo_bin("dsr");
    let cmd = format!("stty cols 80; {} --db {} request list", bin.display(), env.db.display());
    let out = std::process::Command::new("script").args(["-qec", &cmd, "/dev/null"]).output().unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(screen.contains('│') && screen.contains("erasure plan"), "{screen}");
    for line in screen.lines() {
        assert!(line.trim_end_matches('\r').chars().count() <= 80, "wider than 80 columns: {line}");
    }
}

fn count(env: &Env, table: &str) -> i64 {
    env.sql().query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).unwrap()
}

#[test]
fn retention_run_shows_progress_and_asks_on_a_terminal_and_not_in_cron() {
    let env = Env::with_fixture("virtio");
    let (crashes, audit) = (count(&env, "crash_report"), count(&env, "audit_log"));
    // "No" removes nothing, after showing what would go.
    let (code, screen) = at_terminal(&env, "retention run", "Remove them for good", "n");
    assert_eq!(code, Some(9), "{screen}");
    assert!(
        screen.contains("dsr retention (dry run) [") && screen.contains("rows are past their retention period"),
        "{screen}"
    );
    assert_eq!(
        (count(&env, "crash_report"), count(&env, "audit_log")),
        (crashes, audit),
        "nothing removed or recorded"
    );
    // "Yes" removes, with the progress bar.
    let (code, screen) = at_terminal(&env, "retention run", "Remove them for good", "y");
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("dsr retention ["), "{screen}");
    assert!(count(&env, "crash_report") < crashes, "past-retention crash reports removed");
    // --yes is not asked; cron (no terminal) is not asked and sees no progress bar.
    let (code, screen) = at_terminal(&env, "retention run --yes", "", "");
    assert_eq!(code, Some(0), "{screen}");
    assert!(!screen.contains("Remove them for good"), "{screen}");
    let out = env.run(&["retention", "run"]);
    assert!(out.status.success());
    assert!(!crate::support::stderr(&out).contains('['), "{}", crate::support::stderr(&out));
}

#[test]
fn init_force_asks_on_a_terminal_before_replacing_a_store() {
    let env = Env::with_fixture("virtio");
    env.open("access", &["--email", "jan.devries@example.nl"]);
    let (code, screen) = at_terminal(&env, "init --fixture virtio --force", "Replace the store", "n");
    assert_eq!(code, Some(9), "{screen}");
    assert_eq!(count(&env, "request"), 1, "the store was kept");
    let (code, screen) = at_terminal(&env, "init --fixture virtio --force", "Replace the store", "y");
    assert_eq!(code, Some(0), "{screen}");
    assert_eq!(count(&env, "request"), 0, "the store was replaced");
    // Off a terminal (a script), --force replaces without asking.
    env.open("access", &["--email", "jan.devries@example.nl"]);
    env.dsr().args(["init", "--fixture", "virtio", "--force"]).assert().success();
    assert_eq!(count(&env, "request"), 0);
}
