//! Opening stores: missing, not SQLite, SQLite but not dsr, too new, corrupt, locked. Each gets
//! one line on stderr and its documented exit code, never a panic.

use std::io::{Seek, SeekFrom, Write};

use crate::support::{self, Env};

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
fn a_store_of_schema_version_1_is_upgraded_with_its_plans_kept_reviewed() {
    let env = Env::with_fixture("virtio");
    let latest: i64 = env.sql().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    // Turn the store back into what the first released dsr wrote, with a stored plan.
    env.sql()
        .execute_batch(
            "INSERT INTO request (id, year, seq, kind, subject_kind, subject_pseudonym, channel, received_on, due_on, state, params, created_at)
               SELECT 'DSR-2026-0900', 2026, 900, 'erase', 'email', 'p', 'email', '2026-11-01', '2026-12-01', 'verified', '{}', '2026-11-01T00:00:00Z';
             INSERT INTO erasure_plan (request_id, plan, fingerprint, created_at) VALUES ('DSR-2026-0900', '{}', 'f', '2026-11-01T00:00:00Z');
             ALTER TABLE erasure_plan DROP COLUMN reviewed_at;
             PRAGMA user_version = 1;",
        )
        .unwrap();
    assert_eq!(lookup(&env).status.code(), Some(0));
    let (version, reviewed): (i64, Option<String>) = env
        .sql()
        .query_row("SELECT (SELECT user_version FROM pragma_user_version), reviewed_at FROM erasure_plan", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(version, latest, "every migration applied");
    assert_eq!(reviewed.as_deref(), Some("2026-11-01T00:00:00Z"));
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
