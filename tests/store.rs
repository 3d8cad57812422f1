//! Opening stores: missing, not SQLite, SQLite but not dsr, too new, corrupt, locked. Each gets
//! one line on stderr and its documented exit code, never a panic.

use std::io::{Seek, SeekFrom, Write};

use crate::support::{self, assert_one_line_error, stderr, Env};

fn lookup(env: &Env) -> std::process::Output {
    env.run(&["lookup", "--email", "jan.devries@example.nl"])
}

#[test]
fn a_missing_store_exits_10() {
    let env = Env::new();
    let out = lookup(&env);
    assert_eq!(out.status.code(), Some(10));
    support::assert_one_line_error(&out);
    assert!(support::stderr(&out).contains("dsr init"), "says what to do");
    assert!(!env.db.exists(), "opening must not create a store");
}

#[test]
fn a_text_file_is_not_a_store() {
    let env = Env::new();
    std::fs::write(&env.db, "name,email\nJan,jan@example.nl\n").unwrap();
    let out = lookup(&env);
    assert_eq!(out.status.code(), Some(11));
    support::assert_one_line_error(&out);
    assert_eq!(std::fs::read_to_string(&env.db).unwrap(), "name,email\nJan,jan@example.nl\n", "file untouched");
}

#[test]
fn an_empty_file_and_a_directory_are_not_stores() {
    let env = Env::new();
    std::fs::write(&env.db, "").unwrap();
    assert_eq!(lookup(&env).status.code(), Some(11));
    std::fs::remove_file(&env.db).unwrap();
    std::fs::create_dir(&env.db).unwrap();
    let out = lookup(&env);
    assert_eq!(out.status.code(), Some(11));
    support::assert_one_line_error(&out);
    assert!(
        stderr(&out).contains("is a directory, not a dsr store; give --db the path of a store file"),
        "{}",
        stderr(&out)
    );
    // Nor is one made there, with or without --force: the directory is left as it was.
    std::fs::write(env.db.join("keep"), "x").unwrap();
    for args in [&["init"][..], &["init", "--force"]] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(11), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("is a directory"), "{}", stderr(&out));
    }
    assert!(env.db.join("keep").exists());
}

#[test]
fn another_programs_sqlite_file_is_not_a_store() {
    let env = Env::new();
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    conn.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('hello');").unwrap();
    drop(conn);
    let out = lookup(&env);
    assert_eq!(out.status.code(), Some(11));
    support::assert_one_line_error(&out);
}

#[test]
fn a_store_from_a_newer_dsr_is_refused() {
    let env = Env::with_fixture("virtio");
    env.sql().pragma_update(None, "user_version", 999).unwrap();
    let out = lookup(&env);
    assert_eq!(out.status.code(), Some(12));
    support::assert_one_line_error(&out);
    assert!(support::stderr(&out).contains("upgrade dsr"));
    let version: i64 = env.sql().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, 999, "a newer store is never downgraded");
}

#[test]
fn a_store_of_schema_version_1_is_upgraded_with_its_plans_kept_reviewed_not_approved() {
    let env = Env::new();
    // What the first released dsr wrote: migration 1 (schema.sql) only, with a stored plan.
    let conn = env.sql();
    conn.execute_batch(include_str!("../schema.sql")).unwrap();
    conn.execute_batch(
        "PRAGMA application_id = 1146311217;
         INSERT INTO request (id, year, seq, kind, subject_kind, subject_pseudonym, channel, received_on, due_on, state, params, created_at)
           VALUES ('DSR-2026-0900', 2026, 900, 'erase', 'email', 'p', 'email', '2026-11-01', '2026-12-01', 'verified', '{}', '2026-11-01T00:00:00Z');
         INSERT INTO erasure_plan (request_id, plan, fingerprint, created_at) VALUES ('DSR-2026-0900', '{}', 'f', '2026-11-01T00:00:00Z');
         PRAGMA user_version = 1;",
    )
    .unwrap();
    drop(conn);
    let out = env.run(&["request", "list"]);
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
    let (version, reviewed, approved): (i64, Option<String>, Option<String>) = env
        .sql()
        .query_row(
            "SELECT (SELECT user_version FROM pragma_user_version), reviewed_at, approved_at FROM erasure_plan",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(version, dsr::store::migrate::latest());
    assert_eq!(reviewed.as_deref(), Some("2026-11-01T00:00:00Z"));
    assert_eq!(approved, None, "a plan stored before approvals existed waits for an officer's approval");
}

#[test]
fn a_store_of_schema_version_2_keeps_its_recipients_and_notifications_through_migration_4() {
    let env = Env::with_fixture("virtio");
    // Turn the store back into what dsr wrote before migration 4: recipients without the
    // dunning step, one notification per request and recipient, and no proof columns.
    env.sql()
        .execute_batch(
            "PRAGMA foreign_keys = OFF;
             BEGIN;
             DROP INDEX request_report; DROP INDEX audit_log_retention; DROP INDEX audit_log_code_failed;
             DROP INDEX notification_listed; DROP TABLE erasure_tally;
             DELETE FROM recipient_category WHERE recipient = 'collection-agency';
             DELETE FROM recipient WHERE code = 'collection-agency';
             CREATE TABLE recipient_v2 (
                 code TEXT PRIMARY KEY, name TEXT NOT NULL,
                 kind TEXT NOT NULL CHECK (kind IN ('processor', 'controller', 'authority', 'registry', 'group-company')),
                 country TEXT NOT NULL, outside_eea INTEGER NOT NULL CHECK (outside_eea IN (0, 1)),
                 safeguards_en TEXT NOT NULL, safeguards_nl TEXT NOT NULL,
                 received_via TEXT NOT NULL CHECK (received_via IN ('payment-method', 'domain', 'disclosure', 'consent', 'purpose')),
                 purpose TEXT REFERENCES purpose(code), description_en TEXT NOT NULL, description_nl TEXT NOT NULL,
                 CHECK ((received_via IN ('consent', 'purpose')) = (purpose IS NOT NULL))) STRICT;
             INSERT INTO recipient_v2 SELECT * FROM recipient ORDER BY rowid;
             DROP TABLE recipient;
             ALTER TABLE recipient_v2 RENAME TO recipient;
             DROP TABLE notification;
             CREATE TABLE notification (
                 request_id TEXT NOT NULL REFERENCES request(id), recipient TEXT NOT NULL REFERENCES recipient(code),
                 what TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN ('to-notify', 'notified')),
                 notified_at TEXT, notified_by TEXT, PRIMARY KEY (request_id, recipient)) STRICT, WITHOUT ROWID;
             INSERT INTO request (id, year, seq, kind, subject_kind, subject_pseudonym, channel, received_on, due_on, state, params, created_at)
               SELECT 'DSR-2026-0900', 2026, 900, 'restrict', 'email', 'p', 'email', '2026-11-01', '2026-12-01', 'completed', '{}', '2026-11-01T00:00:00Z';
             INSERT INTO notification VALUES ('DSR-2026-0900', 'paypal', 'Restriction', 'notified', '2026-11-02T00:00:00Z', 'officer'),
                                             ('DSR-2026-0900', 'sidn', 'Restriction', 'to-notify', NULL, NULL);
             COMMIT;
             DROP TABLE queued;
             ALTER TABLE request DROP COLUMN answered_at;
             ALTER TABLE request DROP COLUMN delivered_at;
             ALTER TABLE request DROP COLUMN delivery_channel;
             ALTER TABLE request DROP COLUMN delivery_ref;
             ALTER TABLE erasure_plan DROP COLUMN approved_at;
             ALTER TABLE erasure_plan DROP COLUMN approved_by;
             ALTER TABLE erasure_plan DROP COLUMN held_at;
             DROP INDEX restriction_lift_due;
             ALTER TABLE restriction DROP COLUMN lift_at;
             DROP TABLE free_text;
             ALTER TABLE challenge DROP COLUMN expired_at;
             DROP INDEX restriction_person_all;
             DROP INDEX decision_review_person_all;
             ALTER TABLE purpose DROP COLUMN legitimate_interest_en;
             ALTER TABLE purpose DROP COLUMN legitimate_interest_nl;
             DROP TABLE intake_message;
             DROP TABLE task;
             DROP TABLE map_system;
             DROP TABLE map_option;
             DROP TABLE rectified;
             DROP TABLE map_database;
             DROP TABLE map_version;
             DROP TABLE map_table;
             DROP INDEX request_open_deadline;
             ALTER TABLE category DROP COLUMN mail_encrypted; ALTER TABLE legal_basis DROP COLUMN kind;
             DROP INDEX restriction_erasure; ALTER TABLE restriction DROP COLUMN erasure_id;
             PRAGMA user_version = 2;",
        )
        .unwrap();
    let order = |env: &Env| -> Vec<String> {
        let conn = env.sql();
        let mut st = conn.prepare("SELECT code FROM recipient ORDER BY rowid").unwrap();
        st.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    };
    let before = order(&env);
    assert_eq!(lookup(&env).status.code(), Some(0));
    let conn = env.sql();
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, dsr::store::migrate::latest());
    assert_eq!(order(&env), before, "every recipient kept, in register order");
    // A store made before the data map gets the map of the built-in schema it has.
    let mapped: i64 = env.sql().query_row("SELECT count(*) FROM map_table", [], |r| r.get(0)).unwrap();
    let categorised: i64 = env.sql().query_row("SELECT count(*) FROM category_table", [], |r| r.get(0)).unwrap();
    assert_eq!(mapped, categorised, "every table of the register is in the map");
    let orphans: i64 = conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
    assert_eq!(orphans, 0);
    let kept: Vec<(String, String, Option<String>, Option<String>)> = conn
        .prepare("SELECT recipient, state, notified_at, listed_at FROM notification ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        kept,
        [
            ("paypal".into(), "notified".into(), Some("2026-11-02T00:00:00Z".into()), None),
            ("sidn".into(), "to-notify".into(), None, None)
        ]
    );
    conn.execute(
        "INSERT INTO recipient VALUES ('collection-agency', 'Incasso', 'processor', 'NL', 0, 'EU', 'EU', 'dunning-step', NULL, 'x', 'x')",
        [],
    )
    .expect("the dunning step is a way to receive data");
    conn.pragma_update(None, "foreign_keys", true).unwrap();
    let orphan = conn.execute(
        "INSERT INTO payment_method (customer_id, kind, provider, paypal_email, created_at)
         SELECT min(id), 'paypal', 'nobody', 'a@example.nl', 'x' FROM customer",
        [],
    );
    assert!(orphan.unwrap_err().to_string().contains("FOREIGN KEY"), "foreign keys to recipient still hold");
}

#[test]
fn a_corrupt_store_exits_11_without_a_panic() {
    let env = Env::with_fixture("virtio");
    let len = std::fs::metadata(&env.db).unwrap().len();
    let mut f = std::fs::OpenOptions::new().write(true).open(&env.db).unwrap();
    // Keep the 100-byte header, trash every page after the first.
    f.seek(SeekFrom::Start(4096)).unwrap();
    f.write_all(&vec![0xA5; (len - 4096) as usize]).unwrap();
    drop(f);
    let out = lookup(&env);
    assert_eq!(out.status.code(), Some(11), "stderr: {}", support::stderr(&out));
    support::assert_one_line_error(&out);
}

#[test]
fn a_store_locked_by_another_writer_exits_13() {
    let env = Env::with_fixture("virtio");
    let holder = env.sql();
    holder.execute_batch("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;").unwrap();
    let out = lookup(&env);
    assert_eq!(out.status.code(), Some(13), "stderr: {}", support::stderr(&out));
    support::assert_one_line_error(&out);
    holder.execute_batch("COMMIT").unwrap();
}

/// Run dsr with `args` as an account that is not root, so that file modes apply: as root, under
/// `setpriv` as uid and gid 65534 (the store's directory given to that account, and the binary
/// copied into it, since the checkout's path may be closed to it); otherwise as the caller.
pub fn as_unprivileged(env: &Env, args: &[&str]) -> std::process::Output {
    use std::os::unix::fs::PermissionsExt;
    let bin = assert_cmd::cargo::cargo_bin("dsr");
    if !rustix::process::geteuid().is_root() {
        return env.run(args);
    }
    let copy = env.path("dsr-bin");
    if !copy.exists() {
        std::fs::hard_link(&bin, &copy).or_else(|_| std::fs::copy(&bin, &copy).map(|_| ())).unwrap();
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let nobody = Some(rustix::process::Uid::from_raw(65534));
    let group = Some(rustix::process::Gid::from_raw(65534));
    for entry in std::fs::read_dir(env.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path != copy {
            rustix::fs::chown(&path, nobody, group).unwrap();
        }
    }
    rustix::fs::chown(env.dir.path(), nobody, group).unwrap();
    std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&copy)
        .arg("--db")
        .arg(&env.db)
        .args(args)
        .current_dir(env.dir.path())
        .env_remove("DSR_DB")
        .env("DSR_MAIL", "outbox")
        .output()
        .expect("setpriv (util-linux) runs dsr as another account")
}

#[test]
fn a_store_in_a_directory_dsr_may_not_write_is_named_with_what_to_do() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::with_fixture("virtio");
    let before = std::fs::read(&env.db).unwrap();
    as_unprivileged(&env, &["request", "list"]); // hands the directory over, when root
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    let out = as_unprivileged(&env, &["lookup", "--email", "jan.devries@example.nl"]);
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(out.status.code(), Some(15), "stderr: {}", stderr(&out));
    assert_one_line_error(&out);
    let err = stderr(&out);
    assert!(
        err.contains("is read-only for the account running dsr") && err.contains("write access to the directory"),
        "{err}"
    );
    assert!(err.contains(&env.db.display().to_string()), "names the store: {err}");
    assert!(!err.contains("Error code"), "no raw SQLite code: {err}");
    assert_eq!(std::fs::read(&env.db).unwrap(), before, "the store is untouched");
}

#[test]
fn a_store_file_dsr_may_only_read_is_read_and_a_change_is_refused_with_nothing_changed() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::with_fixture("virtio");
    as_unprivileged(&env, &["request", "list"]);
    std::fs::set_permissions(&env.db, std::fs::Permissions::from_mode(0o444)).unwrap();
    let before = std::fs::read(&env.db).unwrap();
    let found = as_unprivileged(&env, &["lookup", "--email", "jan.devries@example.nl"]);
    assert_eq!(found.status.code(), Some(0), "a read works: {}", stderr(&found));
    let out = as_unprivileged(&env, &["access", "--email", "jan.devries@example.nl"]);
    assert_eq!(out.status.code(), Some(15), "stderr: {}", stderr(&out));
    assert_one_line_error(&out);
    let err = stderr(&out);
    assert!(err.contains("read-only for the account running dsr") && err.contains("nothing was changed"), "{err}");
    assert!(!err.contains("Error code"), "no raw SQLite code: {err}");
    assert_eq!(std::fs::read(&env.db).unwrap(), before, "the store is untouched");
    let json = as_unprivileged(&env, &["--json", "access", "--email", "jan.devries@example.nl"]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["error"]["kind"], "io");
}

#[test]
fn a_store_runs_with_the_required_pragmas() {
    let env = Env::with_fixture("virtio");
    let conn = env.sql();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    let app: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0)).unwrap();
    assert_eq!(app, 0x4453_5231);
    let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(ok, "ok");
    let bad: i64 = conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
    assert_eq!(bad, 0);
    let unfolded: i64 = conn
        .query_row("SELECT count(*) FROM email_address WHERE address_norm = '' OR address_norm <> lower(address) AND address GLOB '*[A-Z]*' AND address NOT GLOB '*[^ -~]*'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(unfolded, 0, "every email has its folded form");
}

#[test]
fn a_store_made_before_the_data_map_is_upgraded_in_place_with_every_row_and_the_audit_chain() {
    let env = Env::with_fixture("virtio");
    // A request answered before the upgrade: audit entries to keep verifying.
    let opened = env.open("access", &["--email", "jan.devries@example.nl"]);
    let code = env.code(&opened.request);
    env.dsr().args(["verify", &opened.request, &code]).assert().success();
    let rows = |env: &Env| -> Vec<(String, i64)> {
        let conn = env.sql();
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT IN ('map_table', 'map_version', 'map_database', 'rectified', 'task', 'map_system', 'map_option', 'intake_message', 'erasure_tally') AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        tables
            .into_iter()
            .map(|t| {
                let n = conn.query_row(&format!("SELECT count(*) FROM \"{t}\""), [], |r| r.get(0)).unwrap();
                (t, n)
            })
            .collect()
    };
    // What the release before the data map wrote: schema version 9, no map.
    env.sql()
        .execute_batch(
            "DROP INDEX request_report; DROP INDEX audit_log_retention; DROP INDEX audit_log_code_failed; DROP INDEX notification_listed; DROP TABLE erasure_tally; DROP TABLE intake_message; DROP TABLE task; DROP TABLE map_system; DROP TABLE map_option; ALTER TABLE queued DROP COLUMN held; DROP TABLE rectified; DROP TABLE map_database; DROP TABLE map_version; DROP TABLE map_table; DROP INDEX request_open_deadline; ALTER TABLE category DROP COLUMN mail_encrypted; ALTER TABLE legal_basis DROP COLUMN kind; ALTER TABLE queued DROP COLUMN place; DROP INDEX restriction_erasure; ALTER TABLE restriction DROP COLUMN erasure_id; PRAGMA user_version = 9;",
        )
        .unwrap();
    let before = rows(&env);
    let out = env.run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
    let conn = env.sql();
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, dsr::store::migrate::latest());
    assert_eq!(rows(&env), before, "no row lost or added outside the map");
    let mapped: i64 = conn.query_row("SELECT count(*) FROM map_table", [], |r| r.get(0)).unwrap();
    assert!(mapped >= 20, "the built-in map was installed: {mapped}");
    // The upgraded store answers through its map, and its register exports as the company's file.
    let (answer, code): (serde_json::Value, i32) = env.json(&["access", &opened.request]);
    assert_eq!(code, 0, "{answer}");
    assert!(answer["categories"].as_array().is_some_and(|c| !c.is_empty()));
    let exported = support::stdout(&env.run(&["register", "export"]));
    let file = std::fs::read_to_string(support::fixture_dir("virtio").join("company.toml")).unwrap();
    assert_eq!(exported, file);
}

#[test]
fn a_table_renamed_behind_dsrs_back_is_exit_11_saying_what_to_do() {
    let env = Env::with_fixture("virtio");
    env.sql().execute_batch("ALTER TABLE phone_number RENAME TO phone_number_old").unwrap();
    let out = env.run(&["lookup", "--email", "jan.devries@example.nl"]);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert_one_line_error(&out);
    assert!(stderr(&out).contains("phone_number") && stderr(&out).contains("renamed or dropped"), "{}", stderr(&out));
}

#[test]
fn a_store_of_before_local_part_still_finds_an_address_in_any_case() {
    // Migration 25: a store made before the map said how an email's local part is compared
    // folded the whole address; its email identifiers now say `any-case`.
    let env = Env::with_fixture("virtio");
    env.sql()
        .execute_batch(
            "UPDATE map_table SET spec = json_remove(spec, '$.identifier[0].local_part')
              WHERE json_extract(spec, '$.identifier[0].kind') = 'email';
             DROP INDEX restriction_erasure; -- migration 27's
             ALTER TABLE restriction DROP COLUMN erasure_id;
             DROP INDEX intake_message_key; -- migration 29's
             ALTER TABLE intake_message DROP COLUMN message_key;
             ALTER TABLE intake_message DROP COLUMN sender_key; -- migration 26's
             PRAGMA user_version = 24;",
        )
        .unwrap();
    let stripped: i64 =
        env.sql().query_row("SELECT count(*) FROM map_table WHERE spec LIKE '%local_part%'", [], |r| r.get(0)).unwrap();
    assert_eq!(stripped, 0);
    let out = env.run(&["lookup", "--email", "Jan.DeVries@Example.NL"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let kept: Vec<String> = {
        let conn = env.sql();
        let mut stmt = conn.prepare("SELECT json_extract(spec, '$.identifier[0].local_part') FROM map_table WHERE json_extract(spec, '$.identifier[0].kind') = 'email'").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    };
    assert_eq!(kept, ["any-case"]);
    let exported = support::stdout(&env.run(&["register", "export"]));
    let file = std::fs::read_to_string(support::fixture_dir("virtio").join("company.toml")).unwrap();
    assert_eq!(exported, file);
}

#[test]
fn a_store_damaged_under_its_schema_is_named_with_what_to_do() {
    let env = Env::with_fixture("virtio");
    let id = env.verified("access", &["--email", "jan.devries@example.nl"]);
    env.dsr().args(["mail", "flush"]).assert().success();
    let mut bytes = std::fs::read(&env.db).unwrap();
    let half = bytes.len() / 2;
    for (i, b) in bytes[half..].iter_mut().enumerate() {
        *b = (i * 7 % 251) as u8;
    }
    std::fs::write(&env.db, bytes).unwrap();
    let out = env.run(&["access", &id]);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert_one_line_error(&out);
    let err = stderr(&out);
    assert!(err.contains("backup") && err.contains(&env.db.display().to_string()), "{err}");
    assert!(!err.contains("Error code"), "{err}");
}
