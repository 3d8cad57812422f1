//! `dsr register apply FILE` (docs/register-file.md): the difference to the store's register
//! shown first, asked on a terminal (`--yes` off one), applied in one transaction with a
//! `register-applied` audit entry, and refused, one line each and nothing changed, for a file
//! `init --register` would refuse or a removal that data in use still names.

use dsr::map::CompanyFile;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::support::{at_terminal, stderr, stdout, Env};

/// A virtio store and its register as `register export` writes it.
pub(crate) fn store() -> (Env, String) {
    let env = Env::with_fixture("virtio");
    let out = env.run(&["register", "export"]);
    assert!(out.status.success(), "{}", stderr(&out));
    (env, stdout(&out))
}

/// The exported register, edited, written to `name` beside the store; returns its path and text.
pub(crate) fn edited(
    env: &Env,
    text: &str,
    name: &str,
    edit: impl FnOnce(&mut CompanyFile),
) -> (std::path::PathBuf, String) {
    let mut file = CompanyFile::parse(text).expect("the exported register parses");
    edit(&mut file);
    let text = file.to_toml();
    let path = env.path(name);
    std::fs::write(&path, &text).unwrap();
    (path, text)
}

/// A purpose with new English words and a carrier added as a recipient.
pub(crate) fn new_words_and_a_carrier(f: &mut CompanyFile) {
    f.purpose[0].description_en = "Letting you log in and use what you bought.".into();
    let mut carrier = f.recipient[0].clone();
    carrier.code = "postnl".into();
    carrier.name = "PostNL B.V.".into();
    carrier.kind = "processor".into();
    carrier.country = "NL".into();
    carrier.received_via = "disclosure".into();
    carrier.purpose = None;
    f.recipient.push(carrier);
}

fn export(env: &Env) -> String {
    stdout(&env.run(&["register", "export"]))
}

fn applied_entries(env: &Env) -> Vec<serde_json::Value> {
    let (log, code): (serde_json::Value, i32) = env.json(&["audit", "log"]);
    assert_eq!(code, 0);
    log["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "register-applied").cloned().collect()
}

/// Every foreign key of the store holds.
fn foreign_keys_hold(env: &Env) {
    let broken: i64 = env.sql().query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
    assert_eq!(broken, 0, "foreign keys broken");
}

#[test]
fn a_changed_purpose_text_and_an_added_recipient_are_applied_audited_and_exported_as_the_file() {
    let (env, before) = store();
    let (path, text) = edited(&env, &before, "new.toml", new_words_and_a_carrier);
    let out = env.dsr().args(["register", "apply", "--yes"]).arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&out);
    assert_eq!(
        shown.lines().collect::<Vec<_>>(),
        [
            "~ purpose account-access: description_en: \"Letting you log in to the control panel and use the services.\" \
             → \"Letting you log in and use what you bought.\"",
            "+ recipient postnl (PostNL B.V.): added",
        ],
        "{shown}"
    );
    assert!(stderr(&out).contains("Applied 2 changes to the register"), "{}", stderr(&out));
    assert_eq!(export(&env), text, "register export gives the file");
    let entries = applied_entries(&env);
    assert_eq!(entries.len(), 1, "{entries:?}");
    let sha = Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert_eq!(
        entries[0]["details"],
        serde_json::json!({"file_sha256": sha, "added": 1, "removed": 0, "changed": 1}),
        "the file's hash and the counts, nothing else"
    );
    assert!(!entries[0]["actor"].as_str().unwrap().is_empty());
    assert!(entries[0]["subject_pseudonym"].is_null() && entries[0]["request_id"].is_null());
    assert!(env.run(&["audit", "verify"]).status.success());
    foreign_keys_hold(&env);
    // The register as every answer reads it has the new words.
    let (register, _): (serde_json::Value, i32) = env.json(&["register"]);
    assert_eq!(register["purposes"][0]["description_en"], "Letting you log in and use what you bought.");
}

#[test]
fn the_same_file_is_no_difference_and_writes_nothing() {
    let (env, text) = store();
    let path = env.path("same.toml");
    std::fs::write(&path, &text).unwrap();
    let out = env.dsr().args(["register", "apply"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert!(stderr(&out).contains("The register already matches"), "{}", stderr(&out));
    assert!(applied_entries(&env).is_empty());
    let (log, _): (serde_json::Value, i32) = env.json(&["audit", "log"]);
    let (json, code): (serde_json::Value, i32) = env.json(&["register", "apply", path.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!((json["applied"].clone(), json["changes"].clone()), (false.into(), serde_json::json!([])));
    let (again, _): (serde_json::Value, i32) = env.json(&["audit", "log"]);
    assert_eq!(again, log, "no audit entry");
}

#[test]
fn no_at_the_question_on_a_terminal_changes_nothing_and_yes_applies() {
    let (env, before) = store();
    let (path, text) = edited(&env, &before, "new.toml", new_words_and_a_carrier);
    let args = format!("register apply {}", path.display());
    let (code, screen) = at_terminal(&env, &args, "Apply these 2 changes to the register?", "n");
    assert_eq!(code, Some(9), "{screen}");
    assert!(screen.contains("+ recipient postnl (PostNL B.V.): added"), "the difference is shown first: {screen}");
    assert!(screen.contains("register not changed: the officer declined"), "{screen}");
    assert_eq!(export(&env), before);
    assert!(applied_entries(&env).is_empty());
    let (code, screen) = at_terminal(&env, &args, "Apply these 2 changes to the register?", "y");
    assert_eq!(code, Some(0), "{screen}");
    assert_eq!(export(&env), text);
    assert_eq!(applied_entries(&env).len(), 1);
}

#[test]
fn off_a_terminal_it_needs_yes() {
    let (env, before) = store();
    let (path, _) = edited(&env, &before, "new.toml", new_words_and_a_carrier);
    let out = env.dsr().args(["register", "apply"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    crate::support::assert_one_line_error(&out);
    assert!(stderr(&out).contains("--yes") && stderr(&out).contains("not on a terminal"), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 2, "the difference is shown: {}", stdout(&out));
    assert_eq!(export(&env), before);
    assert!(applied_entries(&env).is_empty());
}

#[test]
fn dry_run_shows_the_difference_and_changes_nothing() {
    let (env, before) = store();
    let (path, _) = edited(&env, &before, "new.toml", new_words_and_a_carrier);
    let out = env.dsr().args(["register", "apply", "--dry-run"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("+ recipient postnl (PostNL B.V.): added"), "{}", stdout(&out));
    assert!(stderr(&out).contains("(dry run): 2 changes; nothing applied"), "{}", stderr(&out));
    assert_eq!(export(&env), before);
    assert!(applied_entries(&env).is_empty());
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Applied {
    format_version: u32,
    file: String,
    file_sha256: String,
    dry_run: bool,
    applied: bool,
    added: usize,
    removed: usize,
    changed: usize,
    changes: Vec<Change>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Change {
    section: String,
    change: String,
    code: Option<String>,
    key: Option<String>,
    old: Option<serde_json::Value>,
    new: Option<serde_json::Value>,
}

#[test]
fn json_gives_the_difference_as_a_document() {
    let (env, before) = store();
    let (path, text) = edited(&env, &before, "new.toml", |f| {
        new_words_and_a_carrier(f);
        f.right.retain(|r| r.code != "withdraw-consent");
        f.legal_basis.swap(0, 1);
    });
    let (doc, code): (Applied, i32) = env.json(&["register", "apply", "--dry-run", path.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!((doc.format_version, doc.dry_run, doc.applied), (1, true, false));
    assert!(doc.file.ends_with("new.toml"));
    assert_eq!(doc.file_sha256.len(), 64);
    assert_eq!((doc.added, doc.removed, doc.changed), (1, 1, 2), "{:#?}", doc.changes);
    let kinds: Vec<(&str, &str, Option<&str>)> =
        doc.changes.iter().map(|c| (c.section.as_str(), c.change.as_str(), c.code.as_deref())).collect();
    assert_eq!(
        kinds,
        [
            ("legal_basis", "reordered", None),
            ("purpose", "changed", Some("account-access")),
            ("recipient", "added", Some("postnl")),
            ("right", "removed", Some("withdraw-consent")),
        ]
    );
    assert_eq!(
        doc.changes[1],
        Change {
            section: "purpose".into(),
            change: "changed".into(),
            code: Some("account-access".into()),
            key: Some("description_en".into()),
            old: Some("Letting you log in to the control panel and use the services.".into()),
            new: Some("Letting you log in and use what you bought.".into()),
        }
    );
    assert_eq!(doc.changes[2].new.as_ref().unwrap()["name"], "PostNL B.V.");
    assert_eq!(doc.changes[3].old.as_ref().unwrap()["article"], "Art. 7(3) GDPR");
    // Every change object has the same keys, null where there is no value.
    let (raw, _): (serde_json::Value, i32) = env.json(&["register", "apply", "--dry-run", path.to_str().unwrap()]);
    for c in raw["changes"].as_array().unwrap() {
        for key in ["section", "change", "code", "key", "old", "new"] {
            assert!(c.get(key).is_some(), "{key} in {c}");
        }
    }
    assert!(raw["changes"][2]["old"].is_null() && raw["changes"][3]["new"].is_null(), "{raw}");
    // Applied with --json: the same document, applied; then the store exports the file.
    let (doc, code): (Applied, i32) = env.json(&["register", "apply", "--yes", path.to_str().unwrap()]);
    assert_eq!((code, doc.applied, doc.dry_run), (0, true, false));
    assert_eq!(export(&env), text);
}

#[test]
fn a_link_that_follows_another_table_than_its_foreign_key_is_refused() {
    // server_log.session_id refers to web_session: linked to customer instead, each log line
    // would go to the customer whose id happens to equal its session's.
    let (env, before) = store();
    let (path, _) = edited(&env, &before, "crossed.toml", |f| {
        let log = f.table.iter_mut().find(|t| t.name == "server_log").unwrap();
        log.link.as_mut().unwrap().parent = "customer".into();
    });
    let out = env.dsr().args(["register", "apply", "--yes"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(
            "the foreign key of \"server_log\".session_id refers to \"web_session\" (id), but the link names \"customer\""
        ),
        "{err}"
    );
    assert_eq!(export(&env), before);
    assert!(applied_entries(&env).is_empty());
}

#[test]
fn removing_a_category_that_stored_rows_name_is_refused_one_line_each() {
    let (env, before) = store();
    let (path, text) = edited(&env, &before, "nophone.toml", |f| {
        f.category.retain(|c| c.code != "phone");
        f.table.retain(|t| t.category != "phone");
        f.retention.retain(|r| r.category != "phone");
        for r in &mut f.recipient {
            r.categories.retain(|c| c != "phone");
        }
    });
    let out = env.dsr().args(["register", "apply", "--yes"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    let name = path.display();
    let line = text.lines().position(|l| l == "[[table]]").unwrap() + 1;
    assert_eq!(
        err.lines().collect::<Vec<_>>(),
        [
            format!(
                "dsr: {name}: line {line}: table: the store's table \"phone_number\" has 28 rows linked to \"person\" \
                 (person_id) but is not in the data map: they would be left out of every answer and erasure"
            ),
            format!("dsr: invalid register file: {name} has 1 problem; nothing was written"),
        ],
        "{err}"
    );
    assert_eq!(stdout(&out), "", "no difference shown for a refused file");
    assert_eq!(export(&env), before);
    assert!(applied_entries(&env).is_empty());
}

#[test]
fn removing_a_recipient_that_payment_methods_name_is_refused() {
    let (env, before) = store();
    // The map's link from payment methods to their provider goes too: the data still name it.
    let (path, _) = edited(&env, &before, "nopaypal.toml", |f| {
        f.recipient.retain(|r| r.code != "paypal");
        for t in &mut f.table {
            t.recipient.retain(|r| r.column.as_deref() != Some("provider"));
        }
    });
    let out = env.dsr().args(["register", "apply", "--yes"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(": recipient \"paypal\": cannot be removed: 5 rows of payment_method.provider name it"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 2, "{err}");
    assert_eq!(export(&env), before);
    foreign_keys_hold(&env);
}

#[test]
fn a_file_init_would_refuse_is_refused_with_the_same_lines() {
    let (env, before) = store();
    // A misspelt key, and (in a file that reads) a rule the retention engine cannot carry out.
    for bad in [
        before.replacen("privacy_email = ", "privacy_mail = ", 1),
        before.replacen("starts_at = \"fiscal-year-end\"", "starts_at = \"last-seen\"", 1),
    ] {
        assert_ne!(bad, before);
        let path = env.path("bad.toml");
        std::fs::write(&path, &bad).unwrap();
        let applied = env.dsr().args(["register", "apply", "--yes"]).arg(&path).output().unwrap();
        assert_eq!(applied.status.code(), Some(2), "{}", stderr(&applied));
        let mut other = Env::new();
        other.db = env.path("other.sqlite");
        let init = other.dsr().args(["init", "--register"]).arg(&path).output().unwrap();
        assert_eq!(init.status.code(), Some(2));
        assert_eq!(stderr(&applied), stderr(&init));
        assert!(stderr(&applied).contains("nothing was written"), "{}", stderr(&applied));
        assert_eq!(export(&env), before);
    }
    assert!(applied_entries(&env).is_empty());
}

#[test]
fn removing_a_purpose_that_consents_or_an_open_request_name_is_refused() {
    let (env, before) = store();
    let opened = env.open("object", &["--email", "jan.devries@example.nl", "--purpose", "debugging"]);
    assert_eq!(opened.state, "awaiting-verification");
    let gone = ["debugging", "newsletter"];
    let (path, _) = edited(&env, &before, "fewer.toml", |f| {
        f.purpose.retain(|p| !gone.contains(&p.code.as_str()));
        for t in &mut f.table {
            t.opt_in.retain(|o| !gone.contains(&o.purpose.as_str()));
        }
        for c in &mut f.category {
            c.purposes.retain(|p| !gone.contains(&p.as_str()));
        }
    });
    let out = env.dsr().args(["register", "apply", "--yes"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(": purpose \"newsletter\": cannot be removed: 10 rows of consent.purpose name it\n"), "{err}");
    assert!(
        err.contains(&format!(
            ": purpose \"debugging\": cannot be removed: 1 open request names it ({}); answer or reject it first\n",
            opened.request
        )),
        "{err}"
    );
    assert!(err.contains("has 2 problems; nothing was written"), "{err}");
    assert_eq!(export(&env), before);
}

/// A data-map entry changed outside dsr: every command refuses the store as corrupt (exit 11),
/// naming the table and the way out; applying the company file again repairs it.
#[test]
fn a_data_map_damaged_outside_dsr_is_refused_and_repaired_by_applying_the_file() {
    let (env, text) = store();
    let path = env.path("company.toml");
    std::fs::write(&path, &text).unwrap();
    env.sql().execute("UPDATE map_table SET spec = '[1, 2]' WHERE name = 'cookie'", []).unwrap();
    let out = env.run(&["lookup", "--email", "jan.devries@example.nl"]);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    let told = stderr(&out);
    assert_eq!(told.trim_end().lines().count(), 1, "{told}");
    assert!(told.contains("table cookie") && told.contains("dsr register apply"), "{told}");
    let out = env.run(&["register", "apply", path.to_str().unwrap(), "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(env.run(&["lookup", "--email", "jan.devries@example.nl"]).status.code(), Some(0));
    assert_eq!(export(&env), text, "the register as it was");
    foreign_keys_hold(&env);
}
