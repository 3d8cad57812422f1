//! The store layer on a real PostgreSQL server (issue 16; `.ci/run` starts one with
//! `tests/pg-cluster.sh`): connecting, the schema of dsr's records and its versions, and the
//! audit chain under concurrent writers. Each test works in a schema of its own, dropped at the
//! end, so tests run side by side in one database.

use dsr::audit;
use dsr::clock::Clock;
use dsr::error::Error;
use dsr::store::db::{Db, Pg, Value};
use dsr::store::postgres::{migrate, Target};
use serde_json::json;

use crate::support;

/// A schema of the test's own on the test server; dropped when the guard goes.
struct Schema {
    url: String,
    target: Target,
}

impl Schema {
    fn new(url: &str, name: &str) -> Schema {
        let schema = format!("t_{name}_{}", std::process::id());
        let target = Target::parse(url, &schema).unwrap();
        let s = Schema { url: url.to_owned(), target };
        s.drop_schema();
        s
    }

    fn client(&self) -> postgres::Client {
        self.target.connect().unwrap()
    }

    /// A connection to the store as the store layer uses it.
    fn db(&self) -> Pg {
        Pg::new(self.client(), self.name()).unwrap()
    }

    fn name(&self) -> &str {
        &self.target.schema
    }

    fn drop_schema(&self) {
        let mut c = self.client();
        c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name())).unwrap();
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut c) = Target::parse(&self.url, &self.target.schema).unwrap().connect() {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.target.schema));
        }
    }
}

/// A database of a test's own on the test server, dropped at the end: pageinspect installed
/// there reads no other test's store, and no other test's open snapshot holds back its VACUUM.
struct OwnDatabase {
    admin: postgres::Client,
    name: String,
    url: String,
}

impl OwnDatabase {
    fn new(url: &str, label: &str) -> OwnDatabase {
        let name = format!("dsr_{label}_{}", std::process::id());
        let mut admin = Target::parse(url, "dsr").unwrap().connect().unwrap();
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).unwrap();
        admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let url = url.rsplit_once('/').map(|(base, _)| format!("{base}/{name}")).unwrap();
        OwnDatabase { admin, name, url }
    }
}

impl Drop for OwnDatabase {
    fn drop(&mut self) {
        let _ = self.admin.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

fn clock(at: &str) -> Clock {
    Clock::parse(at).unwrap()
}

fn error_of(e: anyhow::Error) -> Error {
    e.downcast::<Error>().expect("a dsr error")
}

#[test]
fn a_store_is_made_once_opened_at_its_version_and_what_is_not_one_is_refused() {
    let Some(url) = support::postgres() else { return };
    let s = Schema::new(&url, "versions");
    let mut c = s.client();
    assert!(matches!(error_of(migrate::open(&mut c, &s.target).unwrap_err()), Error::SchemaMissing { .. }));
    migrate::create(&mut c, &s.target).unwrap();
    assert_eq!(migrate::open(&mut c, &s.target).unwrap(), migrate::latest());
    assert!(matches!(error_of(migrate::create(&mut c, &s.target).unwrap_err()), Error::SchemaExists { .. }));

    // A version newer than this binary: refused (exit 12), and the store is left as it is.
    c.execute(
        &format!("INSERT INTO {}.schema_migrations (version) VALUES ($1)", s.name()),
        &[&(migrate::latest() + 1)],
    )
    .unwrap();
    let e = error_of(migrate::open(&mut c, &s.target).unwrap_err());
    assert!(matches!(e, Error::StoreTooNew { .. }), "{e}");
    assert_eq!(dsr::exit::Code::of_error(&anyhow::Error::new(e)) as i32, 12);

    // A schema of that name that dsr did not make: not a store (exit 11).
    let other = Schema::new(&url, "foreign");
    c.batch_execute(&format!("CREATE SCHEMA {0}; CREATE TABLE {0}.customers (id int)", other.name())).unwrap();
    let e = error_of(migrate::open(&mut c, &other.target).unwrap_err());
    assert!(matches!(e, Error::SchemaForeign { .. }), "{e}");
    assert!(e.to_string().contains(other.name()) && e.to_string().contains("DSR_PG_SCHEMA"), "{e}");
    assert_eq!(dsr::exit::Code::of_error(&anyhow::Error::new(e)) as i32, 11);
    let dir = tempfile::tempdir().unwrap();
    let out = dsr_on_postgres(dir.path(), &url, other.name(), &["status"]);
    assert_eq!(out.status.code(), Some(11), "{}", support::stderr(&out));
    assert!(support::stderr(&out).contains(&format!("schema {}", other.name())), "{}", support::stderr(&out));
    // A schema name PostgreSQL keeps for itself: a usage error before any connection.
    for args in [&["status"][..], &["init", "--fixture", "webshop"]] {
        let out = dsr_on_postgres(dir.path(), &url, "pg_foo", args);
        assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
        support::assert_one_line_error(&out);
        assert!(support::stderr(&out).contains("pg_"), "{}", support::stderr(&out));
    }

    // Other tools' tables of versions by the same name (golang-migrate's, Rails', and one of
    // dsr's column but not its other): not a store, never read as a version nor migrated.
    for (name, table) in [
        ("gomigrate", "version bigint PRIMARY KEY, dirty boolean NOT NULL DEFAULT false"),
        ("rails", "version varchar PRIMARY KEY"),
        ("bare", "version integer PRIMARY KEY"),
        // dsr's own shape, without a version, beside the application's tables.
        ("shaped", "version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now()"),
        // dsr's columns, empty, and nothing else (dsr makes a store in one transaction: never so).
        ("alone", "version integer, applied_at timestamptz"),
    ] {
        let app = Schema::new(&url, name);
        let orders =
            if name == "alone" { String::new() } else { format!("CREATE TABLE {}.orders (id int);", app.name()) };
        c.batch_execute(&format!(
            "CREATE SCHEMA {0}; CREATE TABLE {0}.schema_migrations ({table}); {orders}
             {insert}",
            app.name(),
            insert = if matches!(name, "shaped" | "alone") {
                String::new()
            } else {
                format!("INSERT INTO {}.schema_migrations (version) VALUES ('5')", app.name())
            }
        ))
        .unwrap();
        let e = error_of(migrate::open(&mut c, &app.target).unwrap_err());
        assert!(matches!(e, Error::SchemaForeign { .. }), "{name}: {e}");
        let tables: i64 =
            c.query_one("SELECT count(*) FROM pg_tables WHERE schemaname = $1", &[&app.name()]).unwrap().get(0);
        let made = if name == "alone" { 1 } else { 2 };
        assert_eq!(tables, made, "{name}: nothing made in another application's schema");
    }
}

#[test]
fn an_old_store_opened_by_eight_processes_at_once_is_upgraded_once() {
    let Some(url) = support::postgres() else { return };
    let s = Schema::new(&url, "upgrade");
    // A store as the binary before the last migration left it: version 15 undone (the
    // suppression list's check as version 6 left it).
    migrate::create(&mut s.client(), &s.target).unwrap();
    assert_eq!(migrate::latest(), 15, "undo the new last migration here instead");
    s.client()
        .batch_execute(&format!(
            "DELETE FROM {0}.schema_migrations WHERE version = 15;
             ALTER TABLE {0}.suppression DROP CONSTRAINT suppression_kind_check,
                 ADD CONSTRAINT suppression_kind_check CHECK (kind IN ('email', 'phone', 'customer', 'record'))",
            s.name()
        ))
        .unwrap();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let target = s.target.clone();
            std::thread::spawn(move || migrate::open(&mut target.connect().unwrap(), &target).unwrap())
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), migrate::latest());
    }
    let applied: i64 =
        s.client().query_one(&format!("SELECT count(*) FROM {}.schema_migrations", s.name()), &[]).unwrap().get(0);
    assert_eq!(applied, i64::from(migrate::latest()), "each migration applied once");
    // The widened check takes an erased person's IP address.
    s.client()
        .batch_execute(&format!(
            "INSERT INTO {}.suppression (hash, kind, reason, added_at) VALUES ('h', 'ip', 'erased', 't')",
            s.name()
        ))
        .unwrap();
}

#[test]
fn the_audit_chain_stays_one_chain_under_eight_concurrent_writers() {
    let Some(url) = support::postgres() else { return };
    let s = Schema::new(&url, "chain");
    migrate::create(&mut s.client(), &s.target).unwrap();
    let threads: Vec<_> = (0..8)
        .map(|w| {
            let target = s.target.clone();
            std::thread::spawn(move || {
                let db = Pg::new(target.connect().unwrap(), &target.schema).unwrap();
                for i in 0..25 {
                    let tx = db.begin().unwrap();
                    let clock = clock("2026-12-01T10:00:00Z");
                    audit::append(&tx, &clock, None, None, "test", json!({"writer": w, "i": i})).unwrap();
                    tx.commit().unwrap();
                }
            })
        })
        .collect();
    // Verification while they write, each in one snapshot: never a false alarm.
    let checker = {
        let target = s.target.clone();
        std::thread::spawn(move || {
            let db = Pg::new(target.connect().unwrap(), &target.schema).unwrap();
            let mut runs = 0;
            for _ in 0..100 {
                let snapshot = db.snapshot().unwrap();
                let v = audit::verify(&snapshot).unwrap();
                assert!(v.ok, "verification during writes: {:?}", v.problem);
                snapshot.commit().unwrap();
                runs += 1;
            }
            runs
        })
    };
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(checker.join().unwrap(), 100);
    let v = audit::verify(&s.db()).unwrap();
    assert!(v.ok, "{:?}", v.problem);
    assert_eq!(v.entries, 200);
    let ids: Vec<i64> = s
        .client()
        .query(&format!("SELECT id FROM {}.audit_log ORDER BY id", s.name()), &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids, (1..=200).collect::<Vec<i64>>());
}

#[test]
fn the_same_entries_chain_to_the_same_hashes_on_sqlite_and_postgresql_and_an_edit_is_found() {
    let Some(url) = support::postgres() else { return };
    let s = Schema::new(&url, "conformance");
    migrate::create(&mut s.client(), &s.target).unwrap();
    let pg = s.db();
    let store = dsr::store::Store::in_memory().unwrap();
    let entries = [
        ("2026-12-01T09:00:00Z", Some("DSR-2026-0001"), Some("ab12"), "opened", json!({"right": "access"})),
        ("2026-12-01T09:05:00Z", Some("DSR-2026-0001"), Some("ab12"), "verified", json!({})),
        ("2026-12-01T09:05:00Z", None, None, "retention-run", json!({"rows": 3})),
    ];
    for (at, request, subject, action, details) in &entries {
        let clock = clock(at);
        audit::append(&store.conn, &clock, *request, *subject, action, details.clone()).unwrap();
        let tx = pg.begin().unwrap();
        audit::append(&tx, &clock, *request, *subject, action, details.clone()).unwrap();
        tx.commit().unwrap();
    }
    let on_sqlite = audit::verify(&store.conn).unwrap();
    let on_pg = audit::verify(&pg).unwrap();
    assert!(on_sqlite.ok && on_pg.ok, "{:?} {:?}", on_sqlite.problem, on_pg.problem);
    assert_eq!(on_sqlite.head.unwrap().hash, on_pg.head.unwrap().hash);
    // The trail reads back the same from both.
    let listed = |db: &dyn Db| -> Vec<(i64, String, String)> {
        audit::list(db, Some("DSR-2026-0001")).unwrap().into_iter().map(|e| (e.id, e.action, e.hash)).collect()
    };
    assert_eq!(listed(&store.conn), listed(&pg));

    // A clock set back is refused, and nothing is written.
    let tx = pg.begin().unwrap();
    let e = audit::append(&tx, &clock("2026-12-01T08:00:00Z"), None, None, "late", json!({})).unwrap_err();
    assert!(matches!(error_of(e), Error::ClockBehind { .. }));
    drop(tx);
    assert_eq!(audit::verify(&pg).unwrap().entries, 3, "nothing written");

    // An entry edited in place, or the last one removed, is found.
    pg.run("UPDATE audit_log SET details = '{\"right\": \"erase\"}' WHERE id = 1", &[]).unwrap();
    let v = audit::verify(&pg).unwrap();
    assert_eq!((v.ok, v.first_bad_entry), (false, Some(1)), "{:?}", v.problem);
    pg.run("UPDATE audit_log SET details = '{\"right\":\"access\"}' WHERE id = 1", &[]).unwrap();
    assert!(audit::verify(&pg).unwrap().ok);
    pg.run("DELETE FROM audit_log WHERE id = 3", &[]).unwrap();
    let v = audit::verify(&pg).unwrap();
    assert_eq!((v.ok, v.first_bad_entry), (false, Some(3)), "{:?}", v.problem);
}

/// Appends in one write transaction, the middle ones under savepoints, one of them rolled back
/// (as a batch's failed row is): the trail is the same on both backends and verifies. On
/// PostgreSQL an append reuses the head its transaction's last append left, and must forget it
/// when a rollback undoes that append.
#[test]
fn appends_around_a_rolled_back_savepoint_chain_the_same_on_both_backends() {
    let Some(url) = support::postgres() else { return };
    let s = Schema::new(&url, "savepoints");
    migrate::create(&mut s.client(), &s.target).unwrap();
    let pg = s.db();
    let mut store = dsr::store::Store::in_memory().unwrap();
    let clock = clock("2026-12-01T09:00:00Z");
    let append = |db: &dyn Db, action: &str| audit::append(db, &clock, None, None, action, json!({})).unwrap();
    let steps = |db: &dyn Db| {
        append(db, "first");
        db.run("SAVEPOINT row", &[]).unwrap();
        append(db, "kept");
        db.run("RELEASE row", &[]).unwrap();
        db.run("SAVEPOINT row", &[]).unwrap();
        append(db, "undone");
        append(db, "undone too");
        db.run("ROLLBACK TO row", &[]).unwrap();
        db.run("RELEASE row", &[]).unwrap();
        append(db, "after");
    };
    let tx = pg.begin().unwrap();
    steps(&tx);
    tx.commit().unwrap();
    let tx = store.conn.transaction().unwrap();
    steps(&tx);
    tx.commit().unwrap();
    let actions = |db: &dyn Db| -> Vec<(i64, String, String)> {
        audit::list(db, None).unwrap().into_iter().map(|e| (e.id, e.action, e.hash)).collect()
    };
    let on_pg = actions(&pg);
    assert_eq!(on_pg.iter().map(|e| e.1.as_str()).collect::<Vec<_>>(), ["first", "kept", "after"]);
    assert_eq!(on_pg, actions(&store.conn));
    let v = audit::verify(&pg).unwrap();
    assert!(v.ok && v.entries == 3, "{:?}", v.problem);
}

#[test]
fn a_database_that_does_not_exist_gives_one_line_naming_the_store() {
    let Some(url) = support::postgres() else { return };
    let t = Target::parse(&url.replace("/postgres", "/no_such_database"), "dsr").unwrap();
    let Err(e) = t.connect() else { panic!("connected to a database that does not exist") };
    assert_eq!(dsr::exit::Code::of_error(&e) as i32, 10, "a store that cannot be reached: {e:#}");
    let e = format!("{e:#}");
    assert!(e.contains("cannot connect to") && e.contains("no_such_database") && !e.contains('\n'), "{e}");
    // A server that is not there: exit 10, one line naming it and what to check.
    let dir = tempfile::tempdir().unwrap();
    let gone = "postgres://dsr@%2Fno%2Fsuch%2Fdirectory:5999/postgres";
    let out = dsr_on_postgres(dir.path(), gone, "dsr", &["lookup", "--email", "a@example.nl"]);
    assert_eq!(out.status.code(), Some(10), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.lines().count() == 1 && err.contains("check that the server runs"), "{err}");
}

#[test]
fn the_run_lock_is_one_run_at_a_time_and_a_killed_runs_session_frees_it() {
    let Some(url) = support::postgres() else { return };
    let s = Schema::new(&url, "runlock");
    let first = dsr::cron::lock_postgres(&s.target).unwrap();
    let e = dsr::cron::lock_postgres(&s.target).map(|_| ()).unwrap_err();
    assert!(matches!(error_of(e), Error::RunLocked(_)));
    // Another store in the same database has a lock of its own.
    let other = Schema::new(&url, "runlock_other");
    drop(dsr::cron::lock_postgres(&other.target).unwrap());
    drop(first);
    // A run that dies: the server ends its session (as when the process is killed), and the
    // lock goes with it.
    let held = dsr::cron::lock_postgres(&s.target).unwrap();
    let holder: i32 = s
        .client()
        .query_one(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = hashtext('dsr-run:' || $1)::oid",
            &[&s.name()],
        )
        .unwrap()
        .get(0);
    s.client().execute("SELECT pg_terminate_backend($1)", &[&holder]).unwrap();
    let started = std::time::Instant::now();
    loop {
        match dsr::cron::lock_postgres(&s.target) {
            Ok(_) => break,
            Err(e) if started.elapsed().as_secs() < 30 => {
                assert!(matches!(error_of(e), Error::RunLocked(_)));
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => panic!("the lock outlived its session: {e}"),
        }
    }
    drop(held);
}

#[test]
fn every_table_and_column_of_a_new_sqlite_store_is_in_a_new_postgresql_store() {
    let Some(url) = support::postgres() else { return };
    let s = Schema::new(&url, "parity");
    let mut c = s.client();
    migrate::create(&mut c, &s.target).unwrap();
    let store = dsr::store::Store::in_memory().unwrap();
    let tables: Vec<String> = store
        .conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(tables.len() > 50, "{tables:?}");
    for t in &tables {
        let mut sqlite: Vec<String> = store
            .conn
            .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
            .unwrap()
            .query_map([t], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        // SQLite's rowid, which dsr orders by, is a column on PostgreSQL (made with the table: a
        // column a later migration adds comes after it there).
        if store.conn.prepare(&format!("SELECT rowid FROM \"{t}\"")).is_ok() {
            sqlite.push("rowid".into());
        }
        let mut pg: Vec<String> = c
            .query(
                "SELECT column_name::text FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
                &[&s.name(), t],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        if let Some(i) = pg.iter().position(|n| n == "rowid") {
            let rowid = pg.remove(i);
            pg.push(rowid);
        }
        assert_eq!(sqlite, pg, "table {t}: a SQLite migration without its PostgreSQL counterpart?");
    }
}

/// A value as text, the same from either backend.
fn shown(v: Value) -> String {
    match v {
        Value::Null => "NULL".to_string(),
        Value::Integer(v) => v.to_string(),
        Value::Real(v) => v.to_string(),
        Value::Text(v) => v,
        Value::Blob(v) => format!("{v:?}"),
    }
}

/// Every table's rows of a SQLite store with their rowid (where the table has one), sorted, as
/// text: what a copy must hold.
fn sqlite_rows(conn: &rusqlite::Connection, table: &str) -> Vec<String> {
    let mut stmt = conn
        .prepare(&format!("SELECT *, rowid FROM \"{table}\""))
        .or_else(|_| conn.prepare(&format!("SELECT * FROM \"{table}\"")))
        .unwrap();
    let n = stmt.column_count();
    let mut rows: Vec<String> = stmt
        .query_map([], |r| Ok((0..n).map(|i| shown(r.get(i).unwrap())).collect::<Vec<_>>().join("|")))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    rows.sort();
    rows
}

#[test]
fn a_value_too_long_for_a_postgresql_index_is_named_before_anything_is_copied() {
    let Some(url) = support::postgres() else { return };
    let env = support::Env::with_fixture("webshop");
    // Random, so that PostgreSQL cannot compress it under its limit.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let long: String = (0..12_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b'a' + (state % 26) as u8)
        })
        .collect();
    let row: i64 = env.sql().query_row("SELECT max(rowid) FROM shop_order", [], |r| r.get(0)).unwrap();
    env.sql()
        .execute("UPDATE shop_order SET order_number = ?1 WHERE rowid = ?2", rusqlite::params![long, row])
        .unwrap();
    let s = Schema::new(&url, "too_long");
    let out = env.run(&["migrate", "--from", env.db.to_str().unwrap(), "--to", &url, "--schema", s.name()]);
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    support::assert_one_line_error(&out);
    let err = support::stderr(&out);
    assert!(err.contains(&format!("table shop_order, column order_number, the row with rowid {row}")), "{err}");
    let schemas: i64 =
        s.client().query_one("SELECT count(*) FROM pg_namespace WHERE nspname = $1", &[&s.name()]).unwrap().get(0);
    assert_eq!(schemas, 0, "nothing was copied");
}

#[test]
fn migrate_copies_a_store_whole_and_its_audit_trail_verifies_on_the_copy() {
    let Some(url) = support::postgres() else { return };
    let env = support::Env::with_fixture("webshop");
    let request = env.verified("access", &["--email", "noor.hendriks@example.org"]);
    env.dsr().args(["access", &request]).assert().success();
    let s = Schema::new(&url, "migrate");
    let (v, code): (serde_json::Value, i32) =
        env.json(&["migrate", "--from", env.db.to_str().unwrap(), "--to", &url, "--schema", s.name()]);
    assert_eq!(code, 0, "{v}");
    assert!(v["copy"]["audit"]["ok"].as_bool().unwrap(), "{v}");
    assert!(v["copy"]["tables_added"].as_array().unwrap().iter().any(|t| t == "shop_order"), "{v}");

    // Every row of every table is there, the same (compared as text, sorted).
    let sqlite = env.sql();
    let pg = s.db();
    let tables: Vec<String> = sqlite
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for t in &tables {
        // The columns in SQLite's order, its rowid last (a column a later migration added comes
        // after the rowid column on PostgreSQL).
        let mut columns: Vec<String> = sqlite
            .prepare("SELECT '\"' || name || '\"' FROM pragma_table_info(?1) ORDER BY cid")
            .unwrap()
            .query_map([t], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        if sqlite.prepare(&format!("SELECT rowid FROM \"{t}\"")).is_ok() {
            columns.push("rowid".into());
        }
        let mut rows = Vec::new();
        pg.each(&format!("SELECT {} FROM {t}", columns.join(", ")), &[], &mut |r| {
            let mut fields = Vec::new();
            for i in 0.. {
                match r.get::<Value>(i) {
                    Ok(v) => fields.push(shown(v)),
                    Err(_) => break,
                }
            }
            rows.push(fields.join("|"));
            Ok(())
        })
        .unwrap();
        rows.sort();
        let want = sqlite_rows(&sqlite, t);
        assert_eq!(rows, want, "table {t}");
    }
    // The same head as on SQLite, and new rows get numbers past the copied ones.
    let on_sqlite = audit::verify(&env.sql()).unwrap();
    let on_pg = audit::verify(&pg).unwrap();
    assert_eq!(on_sqlite.head.unwrap().hash, on_pg.head.unwrap().hash);
    let db: &dyn Db = &pg;
    let max: i64 = db.first("SELECT max(id) FROM person", &[], |r| r.get(0)).unwrap().unwrap();
    pg.run("INSERT INTO person (created_at, source) VALUES ('2026-12-01T10:00:00Z', 'import')", &[]).unwrap();
    let next: i64 = db.first("SELECT max(id) FROM person", &[], |r| r.get(0)).unwrap().unwrap();
    assert_eq!(next, max + 1);
    // So do rows of a table whose rowid is a column of its own: added after the copied ones.
    let last: i64 = db.first("SELECT max(rowid) FROM category_table", &[], |r| r.get(0)).unwrap().unwrap();
    pg.run("INSERT INTO category_table (table_name, category) SELECT 'added_table', min(code) FROM category", &[])
        .unwrap();
    let added: i64 = db
        .first("SELECT rowid FROM category_table WHERE table_name = 'added_table'", &[], |r| r.get(0))
        .unwrap()
        .unwrap();
    assert_eq!(added, last + 1);
    pg.run("DELETE FROM category_table WHERE table_name = 'added_table'", &[]).unwrap();

    // The copy has the planner's statistics at once (`dsr migrate` analyzed it), the identifier
    // columns none; and none even after another ANALYZE.
    let stats = |column: &str| -> i64 {
        db.first(
            "SELECT count(*) FROM pg_stats WHERE schemaname = ?1 AND tablename = 'email_address' AND attname = ?2",
            &[dsr::store::db::text(s.name()), dsr::store::db::text(column)],
            |r| r.get(0),
        )
        .unwrap()
        .unwrap()
    };
    assert_eq!((stats("person_id"), stats("address"), stats("address_norm")), (1, 0, 0));
    pg.run("ANALYZE email_address", &[]).unwrap();
    let target: i64 = db
        .first(
            "SELECT attstattarget::bigint FROM pg_attribute WHERE attrelid = 'email_address'::regclass AND attname = 'address_norm'",
            &[],
            |r| r.get(0),
        )
        .unwrap()
        .unwrap();
    assert_eq!(target, 0);
    let sampled: i64 = db
        .first(
            "SELECT count(*) FROM pg_stats WHERE schemaname = ?1 AND tablename = 'email_address' AND attname IN ('address', 'address_norm')",
            &[dsr::store::db::text(s.name())],
            |r| r.get(0),
        )
        .unwrap()
        .unwrap();
    assert_eq!(sampled, 0, "identifier values in pg_stats");
    // Nor the identifier a request was opened with (dsr's own record of it).
    pg.run("ANALYZE request", &[]).unwrap();
    let given: i64 = db
        .first(
            "SELECT count(*) FROM pg_stats WHERE schemaname = ?1 AND tablename = 'request' AND attname = 'subject_given'",
            &[dsr::store::db::text(s.name())],
            |r| r.get(0),
        )
        .unwrap()
        .unwrap();
    assert_eq!(given, 0, "requests' identifiers in pg_stats");

    // `audit verify` and `audit log` run on the copy as on the SQLite store.
    let dsr_on = |schema: &str, args: &[&str]| {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("dsr"));
        cmd.current_dir(env.dir.path()).env_remove("DSR_DB").args(["--db", &url]).env("DSR_PG_SCHEMA", schema);
        cmd.args(args).output().unwrap()
    };
    let on_pg = |args: &[&str]| dsr_on(s.name(), args);
    let out = on_pg(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("chain intact"));
    let listed = |out: std::process::Output| -> serde_json::Value {
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["entries"].clone()
    };
    assert_eq!(listed(on_pg(&["--json", "audit", "log"])), listed(env.run(&["--json", "audit", "log"])));
    // `audit anchor` on the copy anchors the same head as on SQLite, and the anchor checks there.
    let anchor_of = |out: std::process::Output| -> serde_json::Value {
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["anchor"].clone()
    };
    let on_sqlite = anchor_of(env.run(&["--json", "audit", "anchor", "--out", "sqlite-anchor.json"]));
    let on_postgres = anchor_of(on_pg(&["--json", "audit", "anchor", "--out", "pg-anchor.json"]));
    assert_eq!((&on_postgres["entries"], &on_postgres["hash"]), (&on_sqlite["entries"], &on_sqlite["hash"]));
    let out = on_pg(&["audit", "verify", "--anchor", "pg-anchor.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    // The anchor mailed: queued in the store and delivered to outbox/ where dsr runs.
    let out = on_pg(&["--json", "audit", "anchor", "--mail", "dpo@example.nl"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let queued = serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["queued"].as_i64().unwrap();
    assert!(env.dir.path().join("outbox").join(format!("dsr-{queued:06}.eml")).exists(), "the anchor letter");
    // `lookup` on the copy (every fixture case: `every_lookup_case_answers_the_same_on_postgresql`).
    let out = on_pg(&["lookup", "--email", "noor.hendriks@example.org"]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Found person"), "{out:?}");
    // `generate` makes a SQLite file and says how to copy one; a schema that is not a store is named.
    let out = on_pg(&["generate", "--customers", "10"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("dsr migrate --from FILE --to URL"));
    let out = dsr_on("no_such_store", &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(10), "{}", String::from_utf8_lossy(&out.stderr));
    // An entry edited on the server: exit 16, naming it.
    pg.run("UPDATE audit_log SET actor = 'someone else' WHERE id = 2", &[]).unwrap();
    let out = on_pg(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(16));
    assert!(String::from_utf8_lossy(&out.stderr).contains("entry 2"));

    // Again into the same schema: refused, nothing changed.
    let out = env.run(&["migrate", "--from", env.db.to_str().unwrap(), "--to", &url, "--schema", s.name()]);
    assert_eq!(out.status.code(), Some(14));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already exists") && err.lines().count() == 1, "{err}");
    // A password in the URL: refused before anything is read.
    let out = env.run(&["migrate", "--from", env.db.to_str().unwrap(), "--to", "postgres://dsr:secret@localhost/x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("secret"));
}

/// `dsr` on a PostgreSQL store in `schema`, from `dir`.
fn dsr_on_postgres(dir: &std::path::Path, url: &str, schema: &str, args: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("dsr"));
    cmd.current_dir(dir).env_remove("DSR_DB").args(["--db", url]).env("DSR_PG_SCHEMA", schema);
    cmd.args(args).output().unwrap()
}

/// `init` on a server builds the store in memory: no file with the new store's key is written,
/// so an init killed part-way leaves none behind (it left `/tmp/.dsr-init-*/store.sqlite`).
#[test]
fn init_on_postgresql_writes_no_temporary_store() {
    let Some(url) = support::postgres() else { return };
    let s = Schema::new(&url, "in_memory");
    let (dir, tmp) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("dsr"))
        .current_dir(dir.path())
        .env_remove("DSR_DB")
        .env("TMPDIR", tmp.path())
        .env("DSR_PG_SCHEMA", s.name())
        .args(["--db", &url, "init", "--fixture", "webshop"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", support::stderr(&out));
    let written = |d: &std::path::Path| std::fs::read_dir(d).unwrap().count();
    assert_eq!((written(tmp.path()), written(dir.path())), (0, 0), "no file written");
    let out = dsr_on_postgres(dir.path(), &url, s.name(), &["audit", "verify"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
}

/// A database that takes no writes (a standby after a failover, `default_transaction_read_only`)
/// is exit 15 with what to do, as a read-only SQLite store is (it was exit 1, the raw error).
#[test]
fn a_read_only_database_is_exit_15_with_what_to_do() {
    let Some(url) = support::postgres() else { return };
    let s = Schema::new(&url, "read_only");
    let dir = tempfile::tempdir().unwrap();
    let out = dsr_on_postgres(dir.path(), &url, s.name(), &["init", "--fixture", "webshop"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let read_only = format!("{url}?options=-c%20default_transaction_read_only%3Don");
    for args in [&["access", "--email", "sanne.dejong@example.nl"][..], &["erase", "--due"], &["retention", "run"]] {
        let out = dsr_on_postgres(dir.path(), &read_only, s.name(), args);
        assert_eq!(out.status.code(), Some(15), "{args:?}: {}", support::stderr(&out));
        support::assert_one_line_error(&out);
        assert!(support::stderr(&out).contains("takes no writes"), "{args:?}: {}", support::stderr(&out));
    }
}

#[test]
fn every_lookup_case_answers_the_same_on_postgresql() {
    let Some(url) = support::postgres() else { return };
    for fixture in support::FIXTURES {
        let env = support::Env::with_fixture(fixture);
        let s = Schema::new(&url, &format!("lookup_{}", fixture.replace('-', "_")));
        migrate_into(&env, &url, s.name());
        let cases = crate::lookup::cases(fixture);
        assert!(cases.len() >= 15, "{fixture}");
        for case in cases {
            let (kind, value) = case.query.iter().next().unwrap();
            let flag = format!("--{kind}");
            for args in [&["--json", "lookup", &flag, value][..], &["lookup", &flag, value]] {
                let (on_sqlite, on_pg) = (env.run(args), dsr_on_postgres(env.dir.path(), &url, s.name(), args));
                let label = format!("{fixture}: {} ({args:?})", case.case);
                assert_eq!(on_pg.status.code(), on_sqlite.status.code(), "{label}: {on_pg:?}");
                assert_eq!(
                    String::from_utf8_lossy(&on_pg.stdout),
                    String::from_utf8_lossy(&on_sqlite.stdout),
                    "{label}"
                );
            }
        }
    }
}

#[test]
fn the_register_and_the_company_file_read_the_same_on_postgresql() {
    let Some(url) = support::postgres() else { return };
    for fixture in support::FIXTURES.iter().chain(&["webshop"]) {
        let env = support::Env::with_fixture(fixture);
        let s = Schema::new(&url, &format!("register_{}", fixture.replace('-', "_")));
        migrate_into(&env, &url, s.name());
        for args in
            [&["register"][..], &["--json", "register"], &["register", "export"], &["--json", "register", "export"]]
        {
            let (on_sqlite, on_pg) = (env.run(args), dsr_on_postgres(env.dir.path(), &url, s.name(), args));
            assert_eq!(on_pg.status.code(), Some(0), "{fixture} {args:?}: {}", String::from_utf8_lossy(&on_pg.stderr));
            assert_eq!(on_sqlite.status.code(), Some(0), "{fixture} {args:?}");
            assert_eq!(
                String::from_utf8_lossy(&on_pg.stdout),
                String::from_utf8_lossy(&on_sqlite.stdout),
                "{fixture} {args:?}"
            );
        }
        // The company file exported from PostgreSQL makes a new SQLite store with the same register.
        let file = env.dir.path().join(format!("{fixture}-from-pg.toml"));
        let out =
            dsr_on_postgres(env.dir.path(), &url, s.name(), &["register", "export", "--out", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let again = env.dir.path().join(format!("{fixture}-again.sqlite"));
        let on_again = |args: &[&str]| {
            let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("dsr"));
            cmd.current_dir(env.dir.path()).env_remove("DSR_DB").arg("--db").arg(&again).args(args).output().unwrap()
        };
        let out = on_again(&["init", "--register", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let exported = on_again(&["register", "export"]);
        assert_eq!(exported.stdout, std::fs::read(&file).unwrap(), "{fixture}: round trip through PostgreSQL");
    }
}

#[test]
fn doctor_finds_the_same_problems_on_postgresql() {
    let Some(url) = support::postgres() else { return };
    let env = support::Env::with_fixture("webshop");
    // An erased person written back, an address and a customer number not in the form lookups
    // compare, a time not in UTC; and an address folded as dsr folds it (Greek, a dotted capital I),
    // which PostgreSQL's lower() folds otherwise under some collations.
    let id = env.verified("erase", &["--email", "sanne.dejong@example.nl"]);
    env.dsr().args(["erase", &id, "--yes"]).assert().success();
    env.sql()
        .execute_batch(
            "INSERT INTO email_address (id, person_id, address, address_norm, is_primary, newsletter_opt_in, created_at)
             VALUES (990, 2, 'Sanne.deJong@example.nl', 'sanne.dejong@example.nl', 0, 0, '2026-12-01T00:00:00Z');
             INSERT INTO email_address (id, person_id, address, address_norm, is_primary, newsletter_opt_in, created_at)
             VALUES (991, 3, 'ΣΟΦΙΑΣ.ÇELİK@Voorbeeld.NL', 'σοφιασ.çeli̇k@voorbeeld.nl', 0, 0, '2026-12-01T00:00:00Z');
             UPDATE email_address SET address_norm = 'Emma.Bos@Example.com' WHERE address = 'emma.bos@example.com';
             UPDATE customer SET customer_number = lower(customer_number) WHERE id = (SELECT max(id) FROM customer);
             UPDATE delivery_address SET created_at = '2024-05-01 10:00' WHERE id = (SELECT max(id) FROM delivery_address);",
        )
        .unwrap();
    let s = Schema::new(&url, "doctor");
    migrate_into(&env, &url, s.name());
    for args in [&["doctor"][..], &["--json", "doctor"]] {
        let (on_sqlite, on_pg) = (env.run(args), dsr_on_postgres(env.dir.path(), &url, s.name(), args));
        assert_eq!(on_pg.status.code(), Some(24), "{args:?}: {}", String::from_utf8_lossy(&on_pg.stderr));
        assert_eq!(on_sqlite.status.code(), Some(24), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&on_pg.stdout), String::from_utf8_lossy(&on_sqlite.stdout), "{args:?}");
    }
    let (v, _): (serde_json::Value, i32) = {
        let out = dsr_on_postgres(env.dir.path(), &url, s.name(), &["--json", "doctor"]);
        (serde_json::from_slice(&out.stdout).unwrap(), 0)
    };
    let checks: Vec<&str> = v["findings"].as_array().unwrap().iter().map(|f| f["check"].as_str().unwrap()).collect();
    for check in ["identifier", "time", "erased-back"] {
        assert!(checks.contains(&check), "{check}: {v:#}");
    }
    assert_eq!(checks.iter().filter(|c| **c == "identifier").count(), 2, "{v:#}");
    // A phone number that is not E.164, and a link to no row, found on the server itself.
    let pg = s.db();
    pg.run("UPDATE phone_number SET number = '0612345678' WHERE id = (SELECT min(id) FROM phone_number)", &[]).unwrap();
    pg.run("ALTER TABLE shop_order DROP CONSTRAINT IF EXISTS shop_order_customer_id_fkey", &[]).unwrap();
    let changed =
        pg.run("UPDATE shop_order SET customer_id = 99999 WHERE id = (SELECT max(id) FROM shop_order)", &[]).unwrap();
    assert_eq!(changed, 1);
    let out = dsr_on_postgres(env.dir.path(), &url, s.name(), &["--json", "doctor"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let found = |check: &str, table: &str| {
        v["findings"].as_array().unwrap().iter().any(|f| f["check"] == check && f["table"] == table)
    };
    assert!(found("identifier", "phone_number") && found("orphan", "shop_order"), "{v:#}");
}

#[test]
fn doctor_reads_a_companys_own_untyped_columns_on_postgresql_as_on_sqlite() {
    let Some(url) = support::postgres() else { return };
    let env = support::Env::with_fixture("webshop");
    // A table the company made itself, with columns SQLite leaves untyped or calls DATETIME
    // (jsonb on PostgreSQL), then described in the map.
    env.sql()
        .execute_batch(
            "CREATE TABLE loyalty_card (id INTEGER PRIMARY KEY, person_id INTEGER REFERENCES person(id), card_email, issued_at DATETIME);
             INSERT INTO loyalty_card VALUES (1, 3, 'noor@example.org', '2026-01-01T09:00:00Z'),
                                             (2, 3, 'Noor@Example.org', '2026-01-01 10:00'),
                                             (3, 4, 'x@example.org', 20260101);",
        )
        .unwrap();
    let mut file = String::from_utf8(env.run(&["register", "export"]).stdout).unwrap();
    file.push_str(
        "\n[[table]]\nname = \"loyalty_card\"\ncategory = \"contact\"\n\n[table.link]\ncolumn = \"person_id\"\nparent = \"person\"\n\n[[table.identifier]]\ncolumn = \"card_email\"\nkind = \"email\"\n\n[table.import]\ntimes = [\"issued_at\"]\n",
    );
    std::fs::write(env.path("with-cards.toml"), file).unwrap();
    let out = env.run(&["register", "apply", "with-cards.toml", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let s = Schema::new(&url, "doctor_untyped");
    migrate_into(&env, &url, s.name());
    let args = ["--json", "doctor"];
    let (on_sqlite, on_pg) = (env.run(&args), dsr_on_postgres(env.dir.path(), &url, s.name(), &args));
    assert_eq!(on_pg.status.code(), Some(24), "{}", String::from_utf8_lossy(&on_pg.stderr));
    assert_eq!(String::from_utf8_lossy(&on_pg.stdout), String::from_utf8_lossy(&on_sqlite.stdout));
    let v: serde_json::Value = serde_json::from_slice(&on_pg.stdout).unwrap();
    let rows = |check: &str| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == check && f["table"] == "loyalty_card")
            .map(|f| f["rows"].clone())
    };
    assert_eq!((rows("identifier"), rows("time")), (Some(1.into()), Some(2.into())), "{v:#}");
}

#[test]
fn the_tasks_of_systems_that_keep_copies_list_the_same_on_postgresql() {
    let Some(url) = support::postgres() else { return };
    // A database of its own, with pageinspect: no other test's snapshot holds back the vacuum
    // after the last acknowledgement.
    let own = OwnDatabase::new(&url, "tasks_pages");
    let url = own.url.clone();
    let env = crate::tasks::shop_with_systems(true);
    let id = env.verified("erase", &["--email", "sanne.dejong@example.nl"]);
    env.dsr().args(["erase", &id, "--yes"]).assert().success();
    let out = env.run(&["--json", "tasks", "--system", "mailer"]);
    let mailer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    env.dsr().args(["tasks", "done", &mailer["task"].to_string(), "--ref", "mailer sync"]).assert().success();
    let s = Schema::new(&url, "tasks");
    s.client().batch_execute("CREATE EXTENSION IF NOT EXISTS pageinspect").unwrap();
    migrate_into(&env, &url, s.name());
    for args in [
        &["tasks"][..],
        &["--json", "tasks"],
        &["--json", "tasks", "--system", "warehouse"],
        &["--json", "tasks", "--system", "mailer"],
        &["--json", "tasks", "--all"],
        &["tasks", "--all"],
        &["tasks", "--system", "nope"],
    ] {
        let (on_sqlite, on_pg) = (env.run(args), dsr_on_postgres(env.dir.path(), &url, s.name(), args));
        assert_eq!(
            on_pg.status.code(),
            on_sqlite.status.code(),
            "{args:?}: {}",
            String::from_utf8_lossy(&on_pg.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&on_pg.stdout), String::from_utf8_lossy(&on_sqlite.stdout), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&on_pg.stderr), String::from_utf8_lossy(&on_sqlite.stderr), "{args:?}");
    }
    let open = dsr_on_postgres(env.dir.path(), &url, s.name(), &["--json", "tasks"]);
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&open.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1, "the warehouse's task is open, the mailer's done: {lines:?}");
    assert_eq!(lines[0]["system"], "warehouse");
    // The warehouse acknowledges on both: the request completes alike, the keys are gone. Both
    // run at one time a little ahead (the times they record are compared; the real clock can
    // pass a second between the two runs).
    let task = lines[0]["task"].to_string();
    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let on_pg_later = pg_runner(&url, s.name(), env.dir.path(), Some(&later));
    for args in [
        &["--json", "tasks", "done", &task, "--ref", "warehouse sync 12"][..],
        &["tasks", "done", &task, "--ref", "again"],
        &["--json", "tasks", "--all"],
        &["--json", "request", "show", &id],
    ] {
        let (on_sqlite, on_pg) = (env.dsr().env("DSR_NOW", &later).args(args).output().unwrap(), on_pg_later(args));
        assert_eq!(
            on_pg.status.code(),
            on_sqlite.status.code(),
            "{args:?}: {}",
            String::from_utf8_lossy(&on_pg.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&on_pg.stdout), String::from_utf8_lossy(&on_sqlite.stdout), "{args:?}");
    }
    // The erasure letter the tasks held went out with the last acknowledgement: its copies (held,
    // released, delivered) are vacuumed away, and so are the tasks' keys.
    let mut c = s.client();
    for table in ["queued", "task"] {
        let left = dsr::store::postgres::forensic::residue(&mut c, s.name(), table, b"sanne.dejong@example.nl")
            .unwrap()
            .unwrap();
        assert!(left.is_empty(), "{table}: {left:?}");
    }
    drop(c);
    drop(on_pg_later);
    drop(s);
    let mut own = own;
    own.admin.batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", own.name)).unwrap();
}

#[test]
fn vacuum_can_leave_a_deleted_value_in_a_page_and_a_rewrite_does_not() {
    // What docs/postgresql.md says of erased values on PostgreSQL, seen on a real server.
    let Some(url) = support::postgres() else { return };
    // A database of its own: an open snapshot in the same database (another test's) would keep
    // the deleted row alive for VACUUM FULL too, as it would in production.
    let own = OwnDatabase::new(&url, "forensic");
    let url = own.url.clone();
    let s = Schema::new(&url, "forensic");
    let mut c = s.client();
    c.batch_execute(&format!(
        "CREATE EXTENSION IF NOT EXISTS pageinspect;
         CREATE SCHEMA {0};
         CREATE TABLE {0}.f (id bigint PRIMARY KEY, email text NOT NULL);
         CREATE INDEX f_email ON {0}.f (email);
         INSERT INTO {0}.f SELECT g, 'user' || g || '@example.org' FROM generate_series(1, 100) g;
         INSERT INTO {0}.f VALUES (5000, 'erased.person@example.org');
         DELETE FROM {0}.f WHERE id = 5000;",
        s.name()
    ))
    .unwrap();
    let needle = b"erased.person@example.org";
    let before = dsr::store::postgres::forensic::residue(&mut c, s.name(), "f", needle).unwrap().unwrap();
    assert!(!before.is_empty(), "a deleted row stays in its page until VACUUM");
    c.batch_execute(&format!("VACUUM {}.f", s.name())).unwrap();
    let after_vacuum = dsr::store::postgres::forensic::residue(&mut c, s.name(), "f", needle).unwrap().unwrap();
    // The row last added to a page is left in the page's free space by its compaction.
    assert!(!after_vacuum.is_empty(), "VACUUM removed every byte here; docs/postgresql.md says it may not");
    c.batch_execute(&format!("VACUUM FULL {}.f", s.name())).unwrap();
    let after_full = dsr::store::postgres::forensic::residue(&mut c, s.name(), "f", needle).unwrap().unwrap();
    assert!(after_full.is_empty(), "{after_full:?}");
    drop(c);
    drop(s);
}

#[test]
fn eight_writers_opening_requests_at_once_get_unique_gapless_numbers_and_one_chain() {
    let Some(url) = support::postgres() else { return };
    let s = Schema::new(&url, "numbers");
    migrate::create(&mut s.client(), &s.target).unwrap();
    let threads: Vec<_> = (0..8)
        .map(|w| {
            let target = s.target.clone();
            std::thread::spawn(move || {
                let db = Pg::new(target.connect().unwrap(), &target.schema).unwrap();
                for i in 0..10 {
                    let tx = db.begin().unwrap();
                    let clock = clock("2026-12-01T10:00:00Z");
                    let (seq, id) = dsr::request::next_number(&tx, 2026).unwrap();
                    tx.run(
                        "INSERT INTO request (id, year, seq, kind, subject_kind, subject_pseudonym, channel, received_on,
                                              due_on, state, created_at)
                         VALUES (?1, 2026, ?2, 'access', 'email', ?3, 'email', '2026-12-01', '2027-01-01',
                                 'awaiting-verification', '2026-12-01T10:00:00Z')",
                        &[dsr::store::db::text(&id), seq.into(), dsr::store::db::text(format!("p{w}-{i}"))],
                    )
                    .unwrap();
                    // What `audit verify` compares the request row with.
                    let opened = json!({"writer": w, "right": "access", "channel": "email", "received_on": "2026-12-01", "due_on": "2027-01-01"});
                    audit::append(&tx, &clock, Some(&id), None, "request-opened", opened).unwrap();
                    tx.commit().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let pg = s.db();
    let mut ids = Vec::new();
    pg.each("SELECT id FROM request ORDER BY id", &[], &mut |r| {
        ids.push(r.get::<String>(0)?);
        Ok(())
    })
    .unwrap();
    assert_eq!(ids, (1..=80).map(|n| format!("DSR-2026-{n:04}")).collect::<Vec<_>>());
    let v = audit::verify(&pg).unwrap();
    assert!(v.ok && v.entries == 80, "{:?}", v.problem);
}

/// The store's people with an email address on file, one address each, as `lookup` finds them.
fn addresses_on_file(env: &support::Env, n: usize) -> Vec<String> {
    let conn = env.sql();
    let mut stmt = conn
        .prepare(
            "SELECT min(address) FROM email_address WHERE person_id IS NOT NULL GROUP BY person_id ORDER BY person_id",
        )
        .unwrap();
    let all: Vec<String> = stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    assert!(all.len() >= n, "the fixture has {} people with an address", all.len());
    all.into_iter().take(n).collect()
}

#[test]
fn opening_and_verifying_a_request_answers_the_same_on_postgresql() {
    let Some(url) = support::postgres() else { return };
    let env = support::Env::with_fixture_at("virtio", "2026-11-02T09:00:00Z");
    let s = Schema::new(&url, "opening");
    migrate_into(&env, &url, s.name());
    // The PostgreSQL store's outbox is `outbox/` in the directory dsr runs in: its own directory
    // here, so that each store's letters are its own.
    let pg_dir = tempfile::tempdir().unwrap();
    let on_pg = pg_runner(&url, s.name(), pg_dir.path(), Some("2026-11-02T09:00:00Z"));
    let same = |args: &[&str]| {
        let (a, b) = (env.run(args), on_pg(args));
        assert_eq!(b.status.code(), a.status.code(), "{args:?}: {}", String::from_utf8_lossy(&b.stderr));
        assert_eq!(String::from_utf8_lossy(&b.stdout), String::from_utf8_lossy(&a.stdout), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&b.stderr), String::from_utf8_lossy(&a.stderr), "{args:?}");
        a
    };
    let address = addresses_on_file(&env, 1).remove(0);
    // Every right opens alike: the same acknowledgement, the same request number.
    for (right, extra) in [
        ("access", &[][..]),
        ("export", &[][..]),
        ("erase", &[][..]),
        ("object", &["--purpose", "newsletter"][..]),
        ("restrict", &["--ground", "accuracy-contested"][..]),
        ("rectify", &["--set", "phone=+31612345678"][..]),
    ] {
        let mut args = vec!["--json", right, "--email", address.as_str()];
        args.extend_from_slice(extra);
        same(&args);
    }
    // The same right again is the same request; an unknown address and a bad one answer alike.
    same(&["--json", "access", "--email", &address]);
    same(&["--json", "access", "--email", "nobody-here@example.nl"]);
    same(&["access", "--email", "not an address"]);
    same(&["verify", "DSR-2026-9999", "AAAA-BBBB"]);
    // A wrong code, then the right one (each store's own code), then the code again.
    same(&["verify", "DSR-2026-0001", "AAAA-BBBB"]);
    let sqlite_code = outbox_code(env.dir.path(), "DSR-2026-0001").expect("a code");
    let pg_code = outbox_code(pg_dir.path(), "DSR-2026-0001").expect("a code");
    let (a, b) = (
        env.run(&["--json", "verify", "DSR-2026-0001", &sqlite_code]),
        on_pg(&["--json", "verify", "DSR-2026-0001", &pg_code]),
    );
    assert_eq!(
        (b.status.code(), b.stdout.clone()),
        (a.status.code(), a.stdout.clone()),
        "{}",
        String::from_utf8_lossy(&b.stderr)
    );
    let (a, b) = (env.run(&["verify", "DSR-2026-0001", &sqlite_code]), on_pg(&["verify", "DSR-2026-0001", &pg_code]));
    assert_eq!((b.status.code(), b.stderr.clone()), (a.status.code(), a.stderr.clone()));
    // The letters: one per opened request that names someone, and the negative confirmation.
    let names = |dir: &std::path::Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir.join("outbox"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(pg_dir.path()), names(env.dir.path()));
    assert_eq!(same(&["mail", "list"]).status.code(), Some(0));
    // The officer's list and a request's page; an extension and a refusal with their letters.
    for args in [
        &["request", "list"][..],
        &["--json", "request", "list", "--open"],
        &["--json", "request", "show", "DSR-2026-0001"],
        &["request", "show", "DSR-2026-0002"],
        &["request", "extend", "DSR-2026-0002", "--months", "1", "--reason", "complexity"],
        &["--json", "request", "reject", "DSR-2026-0003", "--reason", "unfounded", "--note", "complexity"],
        &["request", "reject", "DSR-2026-0003", "--reason", "unfounded", "--note", "complexity"],
        &["request", "extend", "DSR-2026-0042", "--months", "1", "--reason", "complexity"],
        &["--json", "request", "list", "--to-notify"],
        &["--json", "request", "show", "DSR-2026-0003"],
    ] {
        same(args);
    }
    // The audit trails record the same actions in the same order.
    assert_eq!(audit_actions(on_pg(&["--json", "audit", "log"])), audit_actions(env.run(&["--json", "audit", "log"])));
    assert_eq!(on_pg(&["audit", "verify"]).status.code(), Some(0));
}

/// Sixteen officers' processes open requests at once: each code letter is out when the last
/// process has exited, without a `mail flush` (the process delivering the queue looks again for
/// letters committed while it held it, also ones with a lower id than those it delivered).
#[test]
fn every_code_letter_is_out_when_sixteen_openers_at_once_have_exited() {
    let Some(url) = support::postgres() else { return };
    let env = support::Env::with_fixture("virtio");
    let s = Schema::new(&url, "openers");
    migrate_into(&env, &url, s.name());
    let addresses = addresses_on_file(&env, 16);
    let dir = tempfile::tempdir().unwrap();
    let children: Vec<std::process::Child> = addresses
        .iter()
        .map(|address| {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("dsr"))
                .current_dir(dir.path())
                .env_remove("DSR_DB")
                .env_remove("DSR_NOW")
                .env("DSR_PG_SCHEMA", s.name())
                .args(["--db", &url, "-q", "access", "--email", address])
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let pg = s.db();
    let db: &dyn Db = &pg;
    let left: i64 = db.first("SELECT count(*) FROM queued WHERE done_at IS NULL", &[], |r| r.get(0)).unwrap().unwrap();
    assert_eq!(left, 0, "letters left queued");
    let letters = std::fs::read_dir(dir.path().join("outbox")).unwrap().count();
    assert_eq!(letters, 16);
}

#[test]
fn eight_officers_opening_and_verifying_at_once_on_postgresql_get_unique_numbers_and_one_chain() {
    let Some(url) = support::postgres() else { return };
    let env = support::Env::with_fixture("virtio");
    let s = Schema::new(&url, "officers");
    migrate_into(&env, &url, s.name());
    let addresses = addresses_on_file(&env, 24);
    let dir = tempfile::tempdir().unwrap();
    let run = {
        let (url, schema, dir) = (url.clone(), s.name().to_owned(), dir.path().to_owned());
        move |args: &[&str]| {
            let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("dsr"));
            cmd.current_dir(&dir).env_remove("DSR_DB").env_remove("DSR_NOW").env("DSR_PG_SCHEMA", &schema);
            cmd.args(["--db", &url]).args(args).output().unwrap()
        }
    };
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // A ninth process verifies the chain over and over while the officers write.
    let checker = {
        let (run, done) = (run.clone(), done.clone());
        std::thread::spawn(move || {
            let mut checks = 0;
            while !done.load(std::sync::atomic::Ordering::SeqCst) || checks == 0 {
                let out = run(&["audit", "verify"]);
                assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
                checks += 1;
            }
            checks
        })
    };
    let officers: Vec<_> = addresses
        .chunks(3)
        .map(|mine| {
            let (run, mine, dir) = (run.clone(), mine.to_vec(), dir.path().to_owned());
            std::thread::spawn(move || {
                let mut ids = Vec::new();
                for address in mine {
                    let out = run(&["--json", "access", "--email", &address]);
                    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
                    let id = serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["request"]
                        .as_str()
                        .unwrap()
                        .to_owned();
                    // Another officer's process may be delivering the queue at that moment: it
                    // delivers this letter too, also one with a lower id than one it delivered
                    // (it looks again once it lets the queue go), with no `mail flush` needed; on
                    // a busy machine it may be slow to finish.
                    let mut code = outbox_code(&dir, &id);
                    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
                    while code.is_none() && std::time::Instant::now() < deadline {
                        code = outbox_code(&dir, &id);
                        if code.is_none() {
                            std::thread::sleep(std::time::Duration::from_millis(100));
                        }
                    }
                    let code = code.unwrap_or_else(|| panic!("no code letter for {id}"));
                    let out = run(&["verify", &id, &code]);
                    assert_eq!(out.status.code(), Some(0), "{id}: {}", String::from_utf8_lossy(&out.stderr));
                    ids.push(id);
                }
                ids
            })
        })
        .collect();
    let mut ids: Vec<String> = officers.into_iter().flat_map(|t| t.join().unwrap()).collect();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(checker.join().unwrap() > 0);
    ids.sort();
    assert_eq!(ids, (1..=24).map(|n| format!("DSR-2026-{n:04}")).collect::<Vec<_>>());
    let pg = s.db();
    let db: &dyn Db = &pg;
    let verified: i64 =
        db.first("SELECT count(*) FROM request WHERE state = 'verified'", &[], |r| r.get(0)).unwrap().unwrap();
    assert_eq!(verified, 24);
    // Each code letter was delivered once.
    let letters = std::fs::read_dir(dir.path().join("outbox")).unwrap().count();
    assert_eq!(letters, 24);
    let v = audit::verify(&pg).unwrap();
    assert!(v.ok, "{:?}", v.problem);
}

#[test]
fn the_access_answer_is_the_same_on_postgresql_for_each_company() {
    let Some(url) = support::postgres() else { return };
    for fixture in ["virtio", "voordelig-streamen", "webshop"] {
        let env = support::Env::with_fixture_at(fixture, "2026-11-02T09:00:00Z");
        let s = Schema::new(&url, &format!("answer_{}", fixture.replace('-', "_")));
        migrate_into(&env, &url, s.name());
        let pg_dir = tempfile::tempdir().unwrap();
        let on_pg = pg_runner(&url, s.name(), pg_dir.path(), Some("2026-11-02T09:00:00Z"));
        // Three people each: their access answers as JSON, on the terminal, in a file and an
        // archive, and their portability exports.
        // ... and an applicant whose documents go into the archives as files, where there is one.
        let mut people = addresses_on_file(&env, 3);
        let applicant: Option<String> = env
            .sql()
            .query_row(
                "SELECT min(e.address) FROM application_document d JOIN application a ON a.id = d.application_id
                 JOIN email_address e ON e.person_id = a.person_id",
                [],
                |r| r.get(0),
            )
            .ok()
            .flatten();
        people.extend(applicant.clone().filter(|a| !people.contains(a)));
        for (n, address) in people.iter().enumerate() {
            let id = env.open("access", &["--email", address]).request;
            let code = env.code(&id);
            env.dsr().args(["verify", &id, &code]).assert().success();
            let opened = on_pg(&["--json", "access", "--email", address]);
            let pg_id = serde_json::from_slice::<serde_json::Value>(&opened.stdout).unwrap()["request"]
                .as_str()
                .unwrap()
                .to_owned();
            assert_eq!(pg_id, id);
            let pg_code = outbox_code(pg_dir.path(), &id).expect("a code letter");
            assert_eq!(on_pg(&["verify", &id, &pg_code]).status.code(), Some(0));
            for args in [&["--json", "access", &id][..], &["access", &id]] {
                let (a, b) = (env.run(args), on_pg(args));
                let label = format!("{fixture}, person {n}, {args:?}");
                assert_eq!(b.status.code(), Some(0), "{label}: {}", String::from_utf8_lossy(&b.stderr));
                assert_eq!(String::from_utf8_lossy(&b.stdout), String::from_utf8_lossy(&a.stdout), "{label}");
            }
            let file = format!("answer-{n}.json");
            assert_eq!(env.run(&["access", &id, "--out", &file]).status.code(), Some(0));
            assert_eq!(on_pg(&["access", &id, "--out", &file]).status.code(), Some(0));
            assert_eq!(std::fs::read(pg_dir.path().join(&file)).unwrap(), std::fs::read(env.path(&file)).unwrap());
            // The archive of the access answer, and a portability export: the same bytes.
            let zip = format!("access-{n}.zip");
            let (a, b) = (
                env.run(&["--json", "access", &id, "--archive", &zip]),
                on_pg(&["--json", "access", &id, "--archive", &zip]),
            );
            assert_eq!(b.status.code(), Some(0), "{}", String::from_utf8_lossy(&b.stderr));
            assert_eq!(String::from_utf8_lossy(&b.stdout), String::from_utf8_lossy(&a.stdout));
            let bytes = std::fs::read(pg_dir.path().join(&zip)).unwrap();
            assert_eq!(bytes, std::fs::read(env.path(&zip)).unwrap(), "{fixture} {zip}");
            if applicant.as_deref() == Some(address.as_str()) {
                // The applicant's documents are files in the archive, read from bytea there.
                assert!(bytes.windows(27).any(|w| w == b"files/application-document-"), "{fixture}");
            }
            let export = env.open("export", &["--email", address]).request;
            let code = env.code(&export);
            env.dsr().args(["verify", &export, &code]).assert().success();
            let opened = on_pg(&["--json", "export", "--email", address]);
            assert_eq!(
                serde_json::from_slice::<serde_json::Value>(&opened.stdout).unwrap()["request"],
                export.as_str()
            );
            let pg_code = outbox_code(pg_dir.path(), &export).expect("a code letter");
            assert_eq!(on_pg(&["verify", &export, &pg_code]).status.code(), Some(0));
            let zip = format!("export-{n}.zip");
            let (a, b) = (env.run(&["export", &export, "--out", &zip]), on_pg(&["export", &export, "--out", &zip]));
            assert_eq!(
                (b.status.code(), b.stderr.clone()),
                (a.status.code(), a.stderr.clone()),
                "{}",
                String::from_utf8_lossy(&b.stderr)
            );
            assert_eq!(
                std::fs::read(pg_dir.path().join(&zip)).unwrap(),
                std::fs::read(env.path(&zip)).unwrap(),
                "{fixture} {zip}"
            );
            // Delivery completes both: the access answer mailed, the export handed over by portal.
            for args in [
                &["--json", "access", &id, "--send"][..],
                &["--json", "request", "delivered", &export, "--channel", "portal", "--ref", "portal message 7"],
                &["--json", "request", "show", &id],
            ] {
                let (a, b) = (env.run(args), on_pg(args));
                assert_eq!(b.status.code(), a.status.code(), "{args:?}: {}", String::from_utf8_lossy(&b.stderr));
                assert_eq!(
                    String::from_utf8_lossy(&b.stdout),
                    String::from_utf8_lossy(&a.stdout),
                    "{fixture}: {args:?}"
                );
            }
        }
        // Viewing prepared the answers on both, and the trails say so alike.
        let (a, b) =
            (audit_actions(env.run(&["--json", "audit", "log"])), audit_actions(on_pg(&["--json", "audit", "log"])));
        // The outbox file names are the same; the code letters' references too.
        assert_eq!(b, a, "{fixture}");
    }
}

#[test]
fn a_batch_export_writes_the_same_archives_and_summary_on_postgresql() {
    let Some(url) = support::postgres() else { return };
    for fixture in ["virtio", "webshop"] {
        let env = support::Env::with_fixture_at(fixture, "2026-11-02T09:00:00Z");
        let s = Schema::new(&url, &format!("batch_{fixture}"));
        migrate_into(&env, &url, s.name());
        let pg_dir = tempfile::tempdir().unwrap();
        let on_pg = pg_runner(&url, s.name(), pg_dir.path(), Some("2026-11-02T09:00:00Z"));
        // Good rows, the same person twice, and rows that fail: unknown, malformed, no method.
        let people = addresses_on_file(&env, 6);
        let mut csv = String::from("email,customer,verified_by,reference\n");
        for (n, address) in people.iter().enumerate() {
            csv.push_str(&format!("{address},,portal-session,sess-{n}\n"));
        }
        // The same address with its domain in capitals (the web shop compares the local part exactly).
        let (local, domain) = people[0].rsplit_once('@').unwrap();
        csv.push_str(&format!("{local}@{},,portal-session,sess-again\n", domain.to_uppercase()));
        csv.push_str("nobody@example.invalid,,portal-session,sess-x\n");
        csv.push_str("not-an-email,,portal-session,sess-y\n");
        csv.push_str(&format!("{},,,sess-z\n", people[1]));
        for dir in [env.dir.path(), pg_dir.path()] {
            std::fs::write(dir.join("batch.csv"), &csv).unwrap();
        }
        // A batch under way elsewhere holds the store's batch lock: this one does nothing (exit 22).
        let mut other = s.client();
        other.query_one("SELECT pg_advisory_lock(hashtext('dsr-batch:' || $1))", &[&s.name()]).unwrap();
        let refused = on_pg(&["--json", "export", "--batch", "batch.csv", "--out-dir", "out"]);
        assert_eq!(refused.status.code(), Some(22), "{}", String::from_utf8_lossy(&refused.stderr));
        assert!(!pg_dir.path().join("out").exists());
        drop(other);
        for round in ["first", "again (all skipped)"] {
            let args = ["--json", "export", "--batch", "batch.csv", "--out-dir", "out", "--jobs", "3"];
            let (a, b) = (env.run(&args), on_pg(&args));
            assert_eq!(b.status.code(), Some(19), "{fixture} {round}: {}", String::from_utf8_lossy(&b.stderr));
            assert_eq!(a.status.code(), Some(19), "{fixture} {round}");
            assert_eq!(String::from_utf8_lossy(&b.stdout), String::from_utf8_lossy(&a.stdout), "{fixture} {round}");
            let summary: serde_json::Value = serde_json::from_slice(&b.stdout).unwrap();
            let counts = (&summary["done"], &summary["skipped"], &summary["failed"]);
            if round == "first" {
                assert_eq!(counts, (&6.into(), &1.into(), &3.into()), "{summary:#}");
            } else {
                assert_eq!(counts, (&0.into(), &7.into(), &3.into()), "{summary:#}");
            }
        }
        let mut names: Vec<_> = std::fs::read_dir(env.path("out")).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        assert_eq!(names.len(), 6, "{names:?}");
        for name in names {
            assert_eq!(
                std::fs::read(pg_dir.path().join("out").join(&name)).unwrap(),
                std::fs::read(env.path("out").join(&name)).unwrap(),
                "{fixture} {name:?}"
            );
        }
        // The same entries (the answers are recorded in the order the workers finish them).
        let (mut a, mut b) =
            (audit_actions(env.run(&["--json", "audit", "log"])), audit_actions(on_pg(&["--json", "audit", "log"])));
        a.sort();
        b.sort();
        assert_eq!(b, a, "{fixture}");
        assert_eq!(on_pg(&["audit", "verify"]).status.code(), Some(0));
    }
}

#[test]
fn the_processing_check_gives_the_same_verdicts_on_postgresql() {
    let Some(url) = support::postgres() else { return };
    let env = support::Env::with_fixture("virtio");
    // Sophie opted in, then withdrew; Jan opted in, then objected to the newsletter (his
    // address suppressed); Pieter's consent covers one address of three.
    env.sql()
        .execute_batch(
            "UPDATE email_address SET newsletter_opt_in = 1
             WHERE address IN ('sophie.meijer@example.nl', 'jan.devries@example.nl')",
        )
        .unwrap();
    let opened = env.open("object", &["--email", "jan.devries@example.nl", "--purpose", "newsletter"]);
    let code = env.code(&opened.request);
    env.dsr().args(["verify", &opened.request, &code]).assert().success();
    env.dsr().args(["object", &opened.request, "--yes"]).assert().success();
    let s = Schema::new(&url, "check");
    migrate_into(&env, &url, s.name());
    let on_pg = |args: &[&str], input: &[u8]| {
        let mut cmd = assert_cmd::Command::cargo_bin("dsr").unwrap();
        cmd.current_dir(env.dir.path()).env_remove("DSR_DB").env_remove("DSR_NOW");
        cmd.args(["--db", &url]).env("DSR_PG_SCHEMA", s.name()).args(args).write_stdin(input).output().unwrap()
    };
    let on_sqlite = |args: &[&str], input: &[u8]| env.dsr().args(args).write_stdin(input).output().unwrap();
    let conn = env.sql();
    let column = |sql: &str| -> Vec<String> {
        conn.prepare(sql).unwrap().query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    let purposes = column("SELECT code FROM purpose ORDER BY code");
    let mut addresses = column("SELECT address FROM email_address ORDER BY id");
    addresses.extend(["nobody@example.nl".into(), "Pieter.vandenBerg@example.com".into(), "not-an-email".into()]);
    let customers = column("SELECT customer_number FROM customer ORDER BY id LIMIT 5");
    assert!(purposes.len() >= 5 && addresses.len() >= 20, "{purposes:?} {addresses:?}");
    for purpose in &purposes {
        let mut who: Vec<[&str; 2]> = addresses.iter().map(|a| ["--email", a.as_str()]).collect();
        who.extend(customers.iter().map(|c| ["--customer", c.as_str()]));
        for [flag, value] in who {
            // As text too, for one purpose: the same verdicts are rendered alike.
            for json in [true, false].into_iter().filter(|json| *json || purpose == "newsletter") {
                let mut args = if json { vec!["--json"] } else { vec![] };
                args.extend(["check", "--purpose", purpose, flag, value]);
                let (a, b) = (on_sqlite(&args, b""), on_pg(&args, b""));
                assert_eq!(b.status.code(), a.status.code(), "{args:?}: {}", String::from_utf8_lossy(&b.stderr));
                assert_eq!(String::from_utf8_lossy(&b.stdout), String::from_utf8_lossy(&a.stdout), "{args:?}");
            }
        }
        // A stream of many batches: the same lines let through, in order, the same counts.
        let mut input = Vec::new();
        for i in 0..5_000 {
            input.extend_from_slice(addresses[(i * 7 + i / 3) % addresses.len()].as_bytes());
            input.push(b'\n');
        }
        input.extend_from_slice(b"caf\xe9@example.nl\n");
        let args = ["check", "--purpose", purpose.as_str(), "--stdin"];
        let (a, b) = (on_sqlite(&args, &input), on_pg(&args, &input));
        assert_eq!(b.status.code(), Some(0), "{purpose}: {}", String::from_utf8_lossy(&b.stderr));
        assert_eq!(a.status.code(), Some(0), "{purpose}");
        assert!(b.stdout == a.stdout, "{purpose}: the same lines let through");
        assert_eq!(String::from_utf8_lossy(&b.stderr), String::from_utf8_lossy(&a.stderr), "{purpose}");
        if purpose == "newsletter" {
            let through = String::from_utf8_lossy(&a.stdout);
            let mut kinds: Vec<&str> = through.lines().collect();
            kinds.sort();
            kinds.dedup();
            assert!(kinds.iter().any(|l| l.eq_ignore_ascii_case("pieter.vandenberg@example.com")), "{kinds:?}");
            for out in ["jan.devries@example.nl", "sophie.meijer@example.nl", "alerts@vdberg-it.example"] {
                assert!(!kinds.contains(&out), "{out} is not let through: {kinds:?}");
            }
        }
    }
}

/// On PostgreSQL the erasure journal is a file in the directory of the command that erased: its
/// line is bound to that machine and directory, and a dsr process elsewhere (another officer's,
/// cron's) that delivers the queue leaves it for a process there (it wrote it in its own).
#[test]
fn a_journal_line_is_written_where_the_erasure_was_made_not_where_the_queue_is_delivered() {
    let Some(url) = support::postgres() else { return };
    let now = "2026-11-02T09:00:00Z";
    let env = support::Env::with_fixture_at("virtio", now);
    let (officer, other) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let s = Schema::new(&url, "placed");
    migrate_into(&env, &url, s.name());
    let on_officer = pg_runner(&url, s.name(), officer.path(), Some(now));
    let on_other = pg_runner(&url, s.name(), other.path(), Some(now));
    let journal = |dir: &std::path::Path| dir.join(format!("{}.erasures", s.name()));
    let opened = on_officer(&["--json", "erase", "--email", "jan.devries@example.nl"]);
    let id =
        serde_json::from_slice::<serde_json::Value>(&opened.stdout).unwrap()["request"].as_str().unwrap().to_owned();
    let code = outbox_code(officer.path(), &id).expect("a code letter");
    assert_eq!(on_officer(&["verify", &id, &code]).status.code(), Some(0));
    assert_eq!(on_officer(&["erase", &id, "--yes"]).status.code(), Some(0));
    // The erasure's line was bound to the officer's machine and directory, and written there.
    let mut c = s.client();
    let place: String =
        c.query_one(&format!("SELECT place FROM {}.queued WHERE kind = 'journal'", s.name()), &[]).unwrap().get(0);
    assert!(place.ends_with(&format!(":{}", journal(officer.path()).display())), "{place}");
    assert!(std::fs::read_to_string(journal(officer.path())).unwrap().contains(&id));
    // A line the officer's command left queued (it found another process delivering): a process
    // in another directory delivers the queue, leaves the line queued and writes no journal.
    c.execute(
        &format!(
            "INSERT INTO {}.queued (kind, request_id, letter, payload, queued_at, place)
             VALUES ('journal', $1, 'erasure-journal', $2, $3, $4)",
            s.name()
        ),
        &[&id, &b"{\"request\":\"left-queued\"}".to_vec(), &now, &place],
    )
    .unwrap();
    assert_eq!(on_other(&["mail", "flush"]).status.code(), Some(0));
    assert!(!journal(other.path()).exists(), "no journal in the other directory");
    let waiting: i64 =
        c.query_one(&format!("SELECT count(*) FROM {}.queued WHERE done_at IS NULL", s.name()), &[]).unwrap().get(0);
    assert_eq!(waiting, 1);
    // The officer's next command writes it where the erasure was made.
    assert_eq!(on_officer(&["mail", "flush"]).status.code(), Some(0));
    assert!(std::fs::read_to_string(journal(officer.path())).unwrap().contains("left-queued"));
}

#[test]
fn replay_after_restoring_a_postgresql_backup_erases_again_as_on_sqlite() {
    let Some(url) = support::postgres() else { return };
    let now = "2026-11-02T09:00:00Z";
    let env = support::Env::with_fixture_at("virtio", now);
    let pg_dir = tempfile::tempdir().unwrap();
    let s = Schema::new(&url, "replay");
    let on_pg = pg_runner(&url, s.name(), pg_dir.path(), Some(now));
    // The backup: the store as it was before the erasure, on both backends.
    migrate_into(&env, &url, s.name());
    env.sql().execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    let backup = env.path("backup.sqlite");
    std::fs::copy(&env.db, &backup).unwrap();
    let id = verified_on_both(&env, &on_pg, pg_dir.path(), &["erase", "--email", "jan.devries@example.nl"]);
    let on_sqlite = |args: &[&str]| env.run(args);
    let both: [Runner; 2] = [&on_sqlite, &on_pg];
    for run in both {
        assert_eq!(run(&["erase", &id, "--yes"]).status.code(), Some(0));
        assert_eq!(run(&["lookup", "--email", "jan.devries@example.nl"]).status.code(), Some(3));
    }
    // The journal of the erasure lies beside each store (on PostgreSQL, in the directory dsr ran in).
    assert!(pg_dir.path().join(format!("{}.erasures", s.name())).exists());
    // Restore: the SQLite file copied back; the PostgreSQL schema dropped and loaded again from
    // the same backup (the verified request is open in it, as it was then).
    for side in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{side}", env.db.display()));
    }
    s.drop_schema();
    migrate_into(
        &support::Env { dir: tempfile::tempdir().unwrap(), db: backup.clone(), now: None, pg_schema: None },
        &url,
        s.name(),
    );
    std::fs::copy(&backup, &env.db).unwrap();
    // Both backups were taken before the request was opened: the person is back.
    for run in both {
        assert_eq!(run(&["lookup", "--email", "jan.devries@example.nl"]).status.code(), Some(0), "restored");
    }
    let args = ["--json", "erase", "--replay"];
    let (a, b) = (env.run(&args), on_pg(&args));
    assert_eq!(b.status.code(), Some(0), "{}", String::from_utf8_lossy(&b.stderr));
    assert_eq!(String::from_utf8_lossy(&b.stdout), String::from_utf8_lossy(&a.stdout));
    let v: serde_json::Value = serde_json::from_slice(&b.stdout).unwrap();
    assert_eq!(v["replayed"].as_array().unwrap().len(), 1, "{v}");
    for args in [&["lookup", "--email", "jan.devries@example.nl"][..], &["lookup", "--customer", "V204117"]] {
        assert_eq!(on_pg(args).status.code(), Some(3), "{args:?}: gone again");
    }
    assert_eq!(on_pg(&["audit", "verify"]).status.code(), Some(0));
    assert_eq!(audit_actions(on_pg(&["--json", "audit", "log"])), audit_actions(env.run(&["--json", "audit", "log"])));
    // A second replay finds no one.
    let v: serde_json::Value = serde_json::from_slice(&on_pg(&args).stdout).unwrap();
    assert_eq!(v["replayed"].as_array().unwrap().len(), 0, "{v}");
}

/// A company's server with a certificate of its own CA: reached with `sslmode=verify-full` and
/// `sslrootcert`, encrypted (the server says so); without the CA the certificate is refused, and
/// a CA file that is not there is named.
#[test]
fn a_server_with_a_certificate_of_the_companys_own_ca_is_reached_over_verified_tls() {
    let Some((tls, ca)) = support::postgres_tls() else { return };
    let s = Schema::new(&support::postgres().unwrap(), "tls");
    let verified = format!("{tls}?sslmode=verify-full&sslrootcert={ca}");
    let mut client = Target::parse(&verified, s.name()).unwrap().connect().unwrap();
    let ssl: bool = client.query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).unwrap().get(0);
    assert!(ssl, "the connection is encrypted");
    let dir = tempfile::tempdir().unwrap();
    let out = dsr_on_postgres(dir.path(), &verified, s.name(), &["init", "--fixture", "virtio"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let out = dsr_on_postgres(dir.path(), &verified, s.name(), &["lookup", "--email", "jan.devries@example.nl"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    // The web's roots do not hold the company's CA: refused, not sent in clear text.
    let out = dsr_on_postgres(
        dir.path(),
        &format!("{tls}?sslmode=require"),
        s.name(),
        &["lookup", "--email", "x@example.nl"],
    );
    assert_eq!(out.status.code(), Some(10), "{}", support::stderr(&out));
    support::assert_one_line_error(&out);
    assert!(support::stderr(&out).to_lowercase().contains("certificate"), "{}", support::stderr(&out));
    let gone = format!("{tls}?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem");
    let out = dsr_on_postgres(dir.path(), &gone, s.name(), &["lookup", "--email", "x@example.nl"]);
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    assert!(support::stderr(&out).contains("sslrootcert /nonexistent/ca.pem"), "{}", support::stderr(&out));
    let out = dsr_on_postgres(
        dir.path(),
        &format!("{tls}?sslmode=verify-ca"),
        s.name(),
        &["lookup", "--email", "x@example.nl"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
}

/// A table SQLite takes as a name but PostgreSQL reserves (`user` is the current role there:
/// `SELECT count(*) FROM user` counts one row of no table) is refused on PostgreSQL by init,
/// register apply and migrate, naming it; a SQLite store keeps it.
#[test]
fn a_name_postgresql_reserves_is_refused_there_by_init_apply_and_migrate() {
    let Some(url) = support::postgres() else { return };
    let env = support::Env::new();
    let text = std::fs::read_to_string(support::fixture_dir("webshop").join("company.toml")).unwrap();
    let renamed = text.replace("\"product_review\"", "\"user\"");
    assert_ne!(renamed, text);
    std::fs::write(env.path("user.toml"), &renamed).unwrap();
    let out = env.run(&["init", "--register", "user.toml"]);
    assert!(out.status.success(), "SQLite reads it as a name: {}", support::stderr(&out));
    let says = |out: &std::process::Output| {
        let err = support::stderr(out);
        assert!(err.contains("\"user\" is a reserved word of PostgreSQL"), "{err}");
    };
    let s = Schema::new(&url, "reserved");
    let out = dsr_on_postgres(env.dir.path(), &url, s.name(), &["init", "--register", "user.toml"]);
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    says(&out);
    let out = env.run(&["migrate", "--from", env.db.to_str().unwrap(), "--to", &url, "--schema", s.name()]);
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    says(&out);
    std::fs::write(env.path("webshop.toml"), &text).unwrap();
    let out = dsr_on_postgres(env.dir.path(), &url, s.name(), &["init", "--register", "webshop.toml"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let out = dsr_on_postgres(env.dir.path(), &url, s.name(), &["register", "apply", "user.toml", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    says(&out);
}

#[test]
fn register_apply_changes_refuses_and_makes_tables_the_same_on_postgresql() {
    let Some(url) = support::postgres() else { return };
    let (env, before) = crate::register_apply::store();
    // An open request names a purpose the last file drops.
    env.open("object", &["--email", "jan.devries@example.nl", "--purpose", "debugging"]);
    let s = Schema::new(&url, "register_apply");
    migrate_into(&env, &url, s.name());
    let edited = |name: &str, edit: &dyn Fn(&mut dsr::map::CompanyFile)| {
        crate::register_apply::edited(&env, &before, name, |f| edit(f));
        name.to_owned()
    };
    let carrier = edited("carrier.toml", &crate::register_apply::new_words_and_a_carrier);
    let no_phone = edited("nophone.toml", &|f| {
        f.category.retain(|c| c.code != "phone");
        f.table.retain(|t| t.category != "phone");
        f.retention.retain(|r| r.category != "phone");
        for r in &mut f.recipient {
            r.categories.retain(|c| c != "phone");
        }
    });
    let no_paypal = edited("nopaypal.toml", &|f| {
        f.recipient.retain(|r| r.code != "paypal");
        for t in &mut f.table {
            t.recipient.retain(|r| r.column.as_deref() != Some("provider"));
        }
    });
    let fewer = edited("fewer.toml", &|f| {
        let gone = ["debugging", "newsletter"];
        f.purpose.retain(|p| !gone.contains(&p.code.as_str()));
        for t in &mut f.table {
            t.opt_in.retain(|o| !gone.contains(&o.purpose.as_str()));
        }
        for c in &mut f.category {
            c.purposes.retain(|p| !gone.contains(&p.as_str()));
        }
    });
    // A table the store lacks, made from its declared columns, with an identifier.
    let mut cards = String::from_utf8(env.run(&["register", "export"]).stdout).unwrap();
    cards.push_str(
        "\n[[table]]\nname = \"loyalty_card\"\ncategory = \"email\"\n\n[table.link]\ncolumn = \"person_id\"\nparent = \"person\"\n\n\
         [[table.identifier]]\ncolumn = \"card_email\"\nkind = \"email\"\nlocal_part = \"any-case\"\n\n\
         [[table.column]]\nname = \"id\"\ntype = \"integer\"\n\n[[table.column]]\nname = \"person_id\"\ntype = \"integer\"\nrequired = true\n\n\
         [[table.column]]\nname = \"card_email\"\ntype = \"text\"\n",
    );
    std::fs::write(env.path("order.toml"), cards.replace("\"loyalty_card\"", "\"order\"")).unwrap();
    std::fs::write(env.path("cards.toml"), cards).unwrap();
    let bad = env.path("bad.toml");
    std::fs::write(&bad, before.replacen("privacy_email = ", "privacy_mail = ", 1)).unwrap();
    // Each step with the exit code it has on both: refused removals and a bad file (2), a dry
    // run, no --yes off a terminal (2), applied, nothing left to apply, a new table.
    let steps: Vec<(Vec<&str>, i32)> = vec![
        (vec!["register", "apply", &no_phone, "--yes"], 2),
        (vec!["register", "apply", &no_paypal, "--yes"], 2),
        (vec!["register", "apply", &fewer, "--yes"], 2),
        (vec!["register", "apply", "bad.toml", "--yes"], 2),
        (vec!["register", "apply", &carrier, "--dry-run"], 0),
        (vec!["register", "apply", &carrier], 2),
        (vec!["--json", "register", "apply", &carrier, "--yes"], 0),
        (vec!["register", "apply", &carrier, "--yes"], 0),
        (vec!["register", "apply", "order.toml", "--yes"], 2),
        (vec!["register", "apply", "cards.toml", "--yes"], 0),
        (vec!["--json", "lookup", "--email", "jan.devries@example.nl"], 0),
        (vec!["register", "export"], 0),
    ];
    for (args, code) in steps {
        same_on_both(&args, code, env.run(&args), dsr_on_postgres(env.dir.path(), &url, s.name(), &args));
    }
    // The new table is there, with a deferrable foreign key to person; a card names Jan.
    let mut c = s.client();
    c.batch_execute(&format!(
        "SET search_path TO {}; INSERT INTO loyalty_card (person_id, card_email) SELECT person_id, 'cards@example.nl'
         FROM email_address WHERE address = 'jan.devries@example.nl'",
        s.name()
    ))
    .unwrap();
    env.sql()
        .execute_batch(
            "INSERT INTO loyalty_card (person_id, card_email) SELECT person_id, 'cards@example.nl'
             FROM email_address WHERE address = 'jan.devries@example.nl'",
        )
        .unwrap();
    let args = ["--json", "lookup", "--email", "cards@example.nl"];
    let (a, b) = (env.run(&args), dsr_on_postgres(env.dir.path(), &url, s.name(), &args));
    assert_eq!(b.status.code(), Some(0), "{}", String::from_utf8_lossy(&b.stderr));
    assert_eq!(String::from_utf8_lossy(&b.stdout), String::from_utf8_lossy(&a.stdout));
    // The new table's identifier is sampled into no statistics.
    let target: i32 = c
        .query_one(
            &format!(
                "SELECT attstattarget::int FROM pg_attribute WHERE attrelid = '{}.loyalty_card'::regclass AND attname = 'card_email'",
                s.name()
            ),
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(target, 0);
    assert_eq!(
        audit_actions(dsr_on_postgres(env.dir.path(), &url, s.name(), &["--json", "audit", "log"])),
        audit_actions(env.run(&["--json", "audit", "log"]))
    );
    // A company's SQLite file that is not there is named (one that is: tests/beside.rs).
    let mut with_db = before.clone();
    with_db.push_str("\n[[database]]\nname = \"shop\"\npath = \"shop.sqlite\"\n");
    std::fs::write(env.path("withdb.toml"), with_db).unwrap();
    let out = dsr_on_postgres(env.dir.path(), &url, s.name(), &["register", "apply", "withdb.toml", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("company database shop")
            && String::from_utf8_lossy(&out.stderr).contains("does not exist"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_company_schema_in_the_same_postgresql_database_is_read_answered_and_erased_in_place() {
    let Some(url) = support::postgres() else { return };
    let env = support::Env::with_fixture("virtio");
    let s = Schema::new(&url, "in_place");
    migrate_into(&env, &url, s.name());
    let pg_dir = tempfile::tempdir().unwrap();
    let on_pg = pg_runner(&url, s.name(), pg_dir.path(), None);
    // The company's own schema beside dsr's, with a table whose rows hang from dsr's people.
    let shop = format!("shop_{}", std::process::id());
    let mut c = s.client();
    c.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {shop} CASCADE; CREATE SCHEMA {shop};
         CREATE TABLE {shop}.loyalty_card (id bigint PRIMARY KEY, person_id bigint NOT NULL REFERENCES {store}.person (id),
                                           card_email text NOT NULL);
         INSERT INTO {shop}.loyalty_card SELECT 1, person_id, 'cards@example.nl' FROM {store}.email_address
          WHERE address = 'jan.devries@example.nl';",
        store = s.name()
    ))
    .unwrap();
    let mut file = String::from_utf8(env.run(&["register", "export"]).stdout).unwrap();
    let card = format!(
        "\n[[database]]\nname = \"{shop}\"\npath = \"postgres:\"\n\n[[table]]\nname = \"loyalty_card\"\ndatabase = \"{shop}\"\ncategory = \"email\"\n\n\
         [table.link]\ncolumn = \"person_id\"\nparent = \"person\"\n\n[[table.identifier]]\ncolumn = \"card_email\"\nkind = \"email\"\nlocal_part = \"any-case\"\n"
    );
    file.push_str(&card);
    std::fs::write(pg_dir.path().join("in-place.toml"), &file).unwrap();
    // `register check` has no store to look into the schema: it says so and checks the rest.
    let out = on_pg(&["register", "check", "in-place.toml"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot look into"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(pg_dir.path().join("missing.toml"), file.replace(&shop, "nowhere")).unwrap();
    let out = on_pg(&["register", "apply", "missing.toml", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("has no schema \"nowhere\""), "{said}");
    // A SQLite file beside a PostgreSQL store holds every table of the map or none (tests/beside.rs):
    // one table there and the rest on the server is refused by apply and by init, naming the
    // tables, and nothing is made. A file that is not there is named first.
    std::fs::write(pg_dir.path().join("file.toml"), file.replace("path = \"postgres:\"", "path = \"shop.sqlite\""))
        .unwrap();
    let out = on_pg(&["register", "apply", "file.toml", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not exist"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    rusqlite::Connection::open(pg_dir.path().join("shop.sqlite"))
        .unwrap()
        .execute_batch(
            "CREATE TABLE loyalty_card (id INTEGER PRIMARY KEY, person_id INTEGER NOT NULL, card_email TEXT NOT NULL)",
        )
        .unwrap();
    let out = on_pg(&["register", "apply", "file.toml", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("table \"person\" would be on the PostgreSQL server"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let new = pg_runner(&url, "never_made", pg_dir.path(), None);
    for (file, said) in [
        ("file.toml", "table \"person\" would be on the PostgreSQL server"),
        ("in-place.toml", "then add them with `dsr register apply FILE`"),
    ] {
        let out = new(&["init", "--register", file]);
        assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(said), "{stderr}");
    }
    let made: bool =
        c.query_one("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'never_made')", &[]).unwrap().get(0);
    assert!(!made);
    let out = on_pg(&["register", "apply", "in-place.toml", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    // Found by the card's address, answered with the card, erased at the source.
    let out = on_pg(&["--json", "lookup", "--email", "CARDS@example.nl"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let id = verified_request(&on_pg, pg_dir.path(), &["access", "--email", "jan.devries@example.nl"]);
    let out = on_pg(&["--json", "access", &id]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("cards@example.nl"));
    // Delivered: an access answer still owed would hold the erasure below back.
    let out = on_pg(&["request", "delivered", &id, "--channel", "portal", "--ref", "portal-1"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    // Rows a source exports are imported into it, matched on its key (a company's table has no rowid).
    let jan: i64 = c.query_one(&format!("SELECT person_id FROM {shop}.loyalty_card WHERE id = 1"), &[]).unwrap().get(0);
    let cards = format!("id,person_id,card_email\n1,{jan},cards@example.nl\n2,{jan},Second.Card@Example.nl\n");
    std::fs::write(pg_dir.path().join("cards.csv"), cards).unwrap();
    let out = on_pg(&["--json", "import", "loyalty_card", "cards.csv"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((&v["import"]["added"], &v["import"]["unchanged"]), (&1.into(), &1.into()), "{v}");
    std::fs::write(pg_dir.path().join("one.csv"), format!("id,person_id,card_email\n2,{jan},third.card@example.nl\n"))
        .unwrap();
    let out = on_pg(&["--json", "import", "loyalty_card", "one.csv", "--delete-missing"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((&v["import"]["changed"], &v["import"]["removed"]), (&1.into(), &1.into()), "{v}");
    let id = verified_request(&on_pg, pg_dir.path(), &["erase", "--email", "jan.devries@example.nl"]);
    let out = on_pg(&["erase", &id, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let left: i64 = c.query_one(&format!("SELECT count(*) FROM {shop}.loyalty_card"), &[]).unwrap().get(0);
    assert_eq!(left, 0, "the card is erased in the company's schema");
    assert_eq!(on_pg(&["--json", "lookup", "--email", "third.card@example.nl"]).status.code(), Some(3));
    c.batch_execute(&format!("DROP SCHEMA {shop} CASCADE")).unwrap();
}

/// A request opened on a PostgreSQL store and verified with the code from its outbox; its id.
fn verified_request(on_pg: Runner, dir: &std::path::Path, open: &[&str]) -> String {
    let mut args = vec!["--json"];
    args.extend_from_slice(open);
    let out = on_pg(&args);
    let id = serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["request"].as_str().unwrap().to_owned();
    let code = outbox_code(dir, &id).expect("a code letter");
    assert_eq!(on_pg(&["verify", &id, &code]).status.code(), Some(0));
    id
}

#[test]
fn import_loads_changes_refuses_and_removes_the_same_rows_on_postgresql() {
    let Some(url) = support::postgres() else { return };
    let env = support::Env::with_fixture_at("webshop", "2026-11-02T09:00:00Z");
    let s = Schema::new(&url, "import");
    migrate_into(&env, &url, s.name());
    let on_pg = pg_runner(&url, s.name(), env.dir.path(), Some("2026-11-02T09:00:00Z"));
    let columns = [
        "id",
        "customer_id",
        "recipient_name",
        "street",
        "house_number",
        "postal_code",
        "city",
        "country",
        "is_default",
        "created_at",
    ];
    let rows_sql = format!(
        "SELECT {} FROM delivery_address ORDER BY id",
        columns.iter().map(|c| format!("coalesce(CAST({c} AS TEXT), '')")).collect::<Vec<_>>().join(" || ',' || ")
    );
    let on_sqlite_rows = || -> Vec<String> {
        let conn = env.sql();
        let mut stmt = conn.prepare(&rows_sql).unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    let on_pg_rows = || -> Vec<String> {
        let mut c = s.client();
        c.batch_execute(&format!("SET search_path TO {}", s.name())).unwrap();
        c.query(rows_sql.as_str(), &[]).unwrap().iter().map(|r| r.get(0)).collect()
    };
    let before = on_sqlite_rows();
    assert_eq!(on_pg_rows(), before);
    // The rows as CSV (a name or street may hold a comma).
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record(columns).unwrap();
    {
        let conn = env.sql();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {} FROM delivery_address ORDER BY id",
                columns.map(|c| format!("coalesce(CAST({c} AS TEXT), '')")).join(", ")
            ))
            .unwrap();
        let mut rows = stmt.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            csv.write_record((0..columns.len()).map(|i| r.get::<_, String>(i).unwrap())).unwrap();
        }
    }
    let text = String::from_utf8(csv.into_inner().unwrap()).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    // One row changed, one new, and bad rows: short, not a number, no key, a key twice, a
    // customer that does not exist, a postal code that is not Dutch.
    lines[1] = lines[1].replacen(",NL,", ",BE,", 1).replace(",5037 PD,", ",2000,");
    let good = "501,101,Sanne de Jong,Ringbaan-West,214,5037 PD,Tilburg,NL,0,2026-01-05T10:00:00Z";
    let mut changes = lines.clone();
    changes.extend([
        good.to_owned(),
        "502,101,Sanne de Jong,Ringbaan-West,214,5037 PD,Tilburg,NL,0".to_owned(),
        format!("x{}", good.replacen("501", "504", 1)),
        good.replacen("501", "", 1),
        good.to_owned(),
        good.replacen("501,101", "506,99999", 1),
        good.replacen("501", "507", 1).replace("5037 PD", "50370 PD"),
    ]);
    std::fs::write(env.path("changes.csv"), changes.join("\n") + "\n").unwrap();
    // The same rows with one left out, for --delete-missing.
    let mut fewer = lines.clone();
    fewer.push(good.to_owned());
    let gone = fewer.remove(2);
    std::fs::write(env.path("fewer.csv"), fewer.join("\n") + "\n").unwrap();
    for (args, code) in [
        (&["--json", "import", "delivery_address", "changes.csv"][..], 19),
        (&["import", "delivery_address", "changes.csv"], 19),
        (&["--json", "import", "delivery_address", "fewer.csv", "--delete-missing", "--batch", "3"], 0),
        (&["--json", "import", "delivery_address", "fewer.csv", "--delete-missing"], 0),
        (&["--json", "import", "delivery_address", "changes.csv", "--strict"], 2),
        (&["--json", "import", "nope", "fewer.csv"], 2),
    ] {
        same_on_both(args, code, env.run(args), on_pg(args));
        assert_eq!(on_pg_rows(), on_sqlite_rows(), "{args:?}: the same rows");
    }
    let after = on_sqlite_rows();
    let gone_id = gone.split(',').next().unwrap();
    assert!(after.iter().any(|r| r.starts_with("501,")), "{after:?}");
    assert!(!after.iter().any(|r| r.starts_with(&format!("{gone_id},"))), "{gone_id} removed: {after:?}");
    assert_eq!(audit_actions(on_pg(&["--json", "audit", "log"])), audit_actions(env.run(&["--json", "audit", "log"])));
    assert_eq!(on_pg(&["audit", "verify"]).status.code(), Some(0));
}

/// A request opened and verified alike on the SQLite store and its PostgreSQL copy (each store's
/// own code from its own outbox); returns its id, the same on both.
fn verified_on_both(
    env: &support::Env,
    on_pg: &dyn Fn(&[&str]) -> std::process::Output,
    pg_dir: &std::path::Path,
    open: &[&str],
) -> String {
    let mut args = vec!["--json"];
    args.extend_from_slice(open);
    let (a, b) = (env.run(&args), on_pg(&args));
    assert_eq!(
        String::from_utf8_lossy(&b.stdout),
        String::from_utf8_lossy(&a.stdout),
        "{open:?}: {}",
        String::from_utf8_lossy(&b.stderr)
    );
    let id = serde_json::from_slice::<serde_json::Value>(&a.stdout).unwrap()["request"].as_str().unwrap().to_owned();
    let code = env.code(&id);
    env.dsr().args(["verify", &id, &code]).assert().success();
    let pg_code = outbox_code(pg_dir, &id).expect("a code letter");
    assert_eq!(on_pg(&["verify", &id, &pg_code]).status.code(), Some(0));
    id
}

#[test]
fn rectification_restriction_and_objection_are_carried_out_the_same_on_postgresql() {
    let Some(url) = support::postgres() else { return };
    for fixture in ["virtio", "webshop"] {
        let env = support::Env::with_fixture_at(fixture, "2026-11-02T09:00:00Z");
        let s = Schema::new(&url, &format!("changes_{fixture}"));
        migrate_into(&env, &url, s.name());
        let pg_dir = tempfile::tempdir().unwrap();
        let on_pg = pg_runner(&url, s.name(), pg_dir.path(), Some("2026-11-02T09:00:00Z"));
        let same = |args: &[&str]| {
            let (a, b) = (env.run(args), on_pg(args));
            let label = format!("{fixture}: {args:?}");
            assert_eq!(b.status.code(), a.status.code(), "{label}: {}", String::from_utf8_lossy(&b.stderr));
            assert_eq!(String::from_utf8_lossy(&b.stdout), String::from_utf8_lossy(&a.stdout), "{label}");
            assert_eq!(String::from_utf8_lossy(&b.stderr), String::from_utf8_lossy(&a.stderr), "{label}");
        };
        let people = addresses_on_file(&env, 2);
        let (first, second) = (people[0].as_str(), people[1].as_str());
        // A correction of the phone number and a supplementary statement; the data changed alike.
        let r = verified_on_both(
            &env,
            &on_pg,
            pg_dir.path(),
            &["rectify", "--email", first, "--set", "phone=+31687654321"],
        );
        same(&["--json", "rectify", &r, "--yes"]);
        same(&["rectify", &r, "--yes"]);
        same(&["--json", "lookup", "--phone", "+31687654321"]);
        // A restriction on every category, then its lift announced with the Art. 18(3) notice.
        let t = verified_on_both(
            &env,
            &on_pg,
            pg_dir.path(),
            &["restrict", "--email", second, "--ground", "accuracy-contested"],
        );
        same(&["--json", "restrict", &t, "--yes"]);
        same(&["--json", "restrict", "--lift", &t, "--reason", "complexity", "--notice-days", "0"]);
        // An objection to direct marketing (granted at once) and the Art. 19 records.
        let o =
            verified_on_both(&env, &on_pg, pg_dir.path(), &["object", "--email", second, "--purpose", "newsletter"]);
        same(&["--json", "object", &o, "--yes"]);
        same(&["--json", "request", "list", "--to-notify"]);
        let open: serde_json::Value =
            serde_json::from_slice(&env.run(&["--json", "request", "list", "--to-notify"]).stdout).unwrap();
        if let Some(n) = open["to_notify"].as_array().and_then(|a| a.first()) {
            let (req, recipient) = (n["request"].as_str().unwrap(), n["recipient"].as_str().unwrap());
            same(&["--json", "request", "notified", req, "--recipient", recipient, "--ref", "mail of 2 November"]);
        }
        for args in [
            &["--json", "request", "show", &r][..],
            &["--json", "request", "show", &t],
            &["--json", "request", "show", &o],
            &["--json", "restrict", "--yes", &t],
        ] {
            same(args);
        }
        assert_eq!(
            audit_actions(on_pg(&["--json", "audit", "log"])),
            audit_actions(env.run(&["--json", "audit", "log"])),
            "{fixture}"
        );
        assert_eq!(on_pg(&["audit", "verify"]).status.code(), Some(0));
    }
}

#[test]
fn erasure_is_planned_and_carried_out_the_same_on_postgresql() {
    let Some(url) = support::postgres() else { return };
    for fixture in ["virtio", "webshop"] {
        let env = support::Env::with_fixture_at(fixture, "2026-11-02T09:00:00Z");
        let s = Schema::new(&url, &format!("erase_{fixture}"));
        migrate_into(&env, &url, s.name());
        let pg_dir = tempfile::tempdir().unwrap();
        let on_pg = pg_runner(&url, s.name(), pg_dir.path(), Some("2026-11-02T09:00:00Z"));
        let same = |args: &[&str]| {
            let (a, b) = (env.run(args), on_pg(args));
            let label = format!("{fixture}: {args:?}");
            assert_eq!(b.status.code(), a.status.code(), "{label}: {}", String::from_utf8_lossy(&b.stderr));
            assert_eq!(String::from_utf8_lossy(&b.stdout), String::from_utf8_lossy(&a.stdout), "{label}");
        };
        let people = addresses_on_file(&env, 3);
        // One erased at once after the plan is shown; one approved for cron and erased by it.
        let now = verified_on_both(&env, &on_pg, pg_dir.path(), &["erase", "--email", &people[0]]);
        same(&["--json", "erase", &now, "--dry-run"]);
        same(&["--json", "erase", &now, "--yes"]);
        let later = verified_on_both(&env, &on_pg, pg_dir.path(), &["erase", "--email", &people[1]]);
        same(&["--json", "erase", &later, "--approve"]);
        same(&["--json", "erase", "--due"]);
        same(&["--json", "erase", "--due"]);
        for p in &people {
            same(&["--json", "lookup", "--email", p]);
        }
        same(&["--json", "request", "show", &now]);
        same(&["--json", "request", "show", &later]);
        assert_eq!(
            audit_actions(on_pg(&["--json", "audit", "log"])),
            audit_actions(env.run(&["--json", "audit", "log"])),
            "{fixture}"
        );
        assert_eq!(on_pg(&["audit", "verify"]).status.code(), Some(0));
        // The tables the erasures touched were vacuumed (dead rows out of pages and indexes).
        let db = s.db();
        let d: &dyn Db = &db;
        // (Whether VACUUM could remove them depends on the oldest snapshot open in the whole
        // database, other tests' included; `vacuum_can_leave_...` checks that in a database of
        // its own.)
        let vacuumed: i64 = d
            .first(
                "SELECT count(*) FROM pg_stat_user_tables WHERE schemaname = ?1
                   AND relname IN ('email_address', 'request', 'free_text') AND last_vacuum IS NOT NULL",
                &[dsr::store::db::text(s.name())],
                |r| r.get(0),
            )
            .unwrap()
            .unwrap();
        assert_eq!(vacuumed, 3, "{fixture}");
    }
}

#[test]
fn a_killed_erase_due_on_postgresql_is_all_or_nothing_frees_its_lock_and_the_next_run_completes() {
    let Some(url) = support::postgres() else { return };
    let env = support::Env::with_fixture("virtio");
    let s = Schema::new(&url, "killed_due");
    migrate_into(&env, &url, s.name());
    let dir = tempfile::tempdir().unwrap();
    let command = |args: &[&str]| {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("dsr"));
        cmd.current_dir(dir.path()).env_remove("DSR_DB").env_remove("DSR_NOW").env("DSR_PG_SCHEMA", s.name());
        cmd.args(["--db", &url]).args(args);
        cmd
    };
    let run = |args: &[&str]| command(args).output().unwrap();
    // Twelve approved erasures wait for cron.
    let people = addresses_on_file(&env, 12);
    let mut ids = Vec::new();
    for address in &people {
        let out = run(&["--json", "erase", "--email", address]);
        let id =
            serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["request"].as_str().unwrap().to_owned();
        let code = outbox_code(dir.path(), &id).expect("a code letter");
        assert_eq!(run(&["verify", &id, &code]).status.code(), Some(0));
        let out = run(&["erase", &id, "--approve"]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        ids.push(id);
    }
    let db = s.db();
    let d: &dyn Db = &db;
    // Each request is either carried out whole (completed or answered, the person's addresses
    // gone) or not at all (verified, unanswered, the addresses there).
    let consistent = |when: &str| {
        for (id, address) in ids.iter().zip(&people) {
            let (state, answered): (String, bool) = d
                .first(
                    "SELECT state, answered_at IS NOT NULL FROM request WHERE id = ?1",
                    &[dsr::store::db::text(id)],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap()
                .unwrap();
            let left: i64 = d
                .first("SELECT count(*) FROM email_address WHERE address = ?1", &[dsr::store::db::text(address)], |r| {
                    r.get(0)
                })
                .unwrap()
                .unwrap();
            match (answered, left) {
                (true, 0) => {}
                (false, n) if n > 0 && state == "verified" => {}
                other => panic!("{when}: {id} is half done: {state} {other:?}"),
            }
        }
    };
    for ms in [60u64, 150, 300, 500] {
        let mut child = command(&["erase", "--due"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        consistent(&format!("killed after {ms} ms"));
    }
    // The killed runs' sessions ended, and their locks with them: the next run takes the lock
    // (a run still holding it would make this exit 22) and carries out every plan left. A plan
    // that an earlier erasure changed (people who shared an IP address) is made again and waits
    // for approval (exit 21), as on SQLite: approved again, the next run carries it out.
    for round in 0..3 {
        let out = run(&["--json", "erase", "--due"]);
        assert!(matches!(out.status.code(), Some(0 | 21)), "{}", String::from_utf8_lossy(&out.stderr));
        consistent(&format!("after run {round}"));
        let sum: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let waiting: Vec<String> = sum["waiting_for_approval"]
            .as_array()
            .into_iter()
            .chain(sum["replanned"].as_array())
            .flatten()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        if waiting.is_empty() && out.status.code() == Some(0) {
            break;
        }
        for id in waiting {
            assert_eq!(run(&["erase", &id, "--approve"]).status.code(), Some(0));
        }
    }
    for id in &ids {
        let answered: bool = d
            .first("SELECT answered_at IS NOT NULL FROM request WHERE id = ?1", &[dsr::store::db::text(id)], |r| {
                r.get(0)
            })
            .unwrap()
            .unwrap();
        assert!(answered, "{id} carried out by the last run");
    }
    assert_eq!(run(&["audit", "verify"]).status.code(), Some(0));
    // A second run at once finds nothing to do.
    let out = run(&["--json", "erase", "--due"]);
    let sum: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sum["applied"], serde_json::json!([]));
}

#[test]
fn retention_removes_the_same_rows_on_postgresql() {
    let Some(url) = support::postgres() else { return };
    for fixture in ["virtio", "webshop"] {
        let env = support::Env::with_fixture(fixture);
        // An access request open holds its person's rows back alike on both.
        env.verified("access", &["--email", &addresses_on_file(&env, 1)[0]]);
        let s = Schema::new(&url, &format!("retention_{fixture}"));
        migrate_into(&env, &url, s.name());
        let later = "2029-06-01T00:00:00Z";
        let pg_dir = tempfile::tempdir().unwrap();
        let on_pg = pg_runner(&url, s.name(), pg_dir.path(), Some(later));
        let on_sqlite = |args: &[&str]| env.dsr().env("DSR_NOW", later).args(args).output().unwrap();
        // The summaries without their timings.
        let summary = |out: std::process::Output| -> serde_json::Value {
            assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
            let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            v.as_object_mut().unwrap().remove("seconds");
            for r in v["rules"].as_array_mut().unwrap() {
                r.as_object_mut().unwrap().remove("seconds");
            }
            v
        };
        for args in
            [&["--json", "retention", "run", "--dry-run"][..], &["--json", "retention", "run", "--yes", "--batch", "7"]]
        {
            let (a, b) = (summary(on_sqlite(args)), summary(on_pg(args)));
            assert_eq!(b, a, "{fixture}: {args:?}");
            assert!(a["removed"].as_u64().unwrap() > 0 && a["failed"] == 0, "{fixture}: {a}");
        }
        assert!(summary(on_sqlite(&["--json", "retention", "run", "--dry-run"]))["removed"] == 0);
        // Every table holds the same rows afterwards.
        let db = s.db();
        let d: &dyn Db = &db;
        let conn = env.sql();
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for t in tables {
            let n: i64 = conn.query_row(&format!("SELECT count(*) FROM \"{t}\""), [], |r| r.get(0)).unwrap();
            let m: i64 = d.one(&format!("SELECT count(*) FROM \"{t}\""), &[], |r| r.get(0)).unwrap();
            assert_eq!(m, n, "{fixture}: rows of {t}");
        }
        assert_eq!(
            audit_actions(on_pg(&["--json", "audit", "log"])),
            audit_actions(on_sqlite(&["--json", "audit", "log"])),
            "{fixture}"
        );
        assert_eq!(on_pg(&["audit", "verify"]).status.code(), Some(0));
    }
}

/// A run whose session dies part-way through a rule (the server stopped, the connection cut):
/// the batches it committed are counted in the rule's progress row, batch after batch, and the
/// next run audits that count once as interrupted, then removes the rest.
#[test]
fn a_retention_run_cut_off_on_postgresql_is_audited_by_the_next() {
    let Some(url) = support::postgres() else { return };
    let env = support::Env::with_fixture("virtio");
    let s = Schema::new(&url, "retention_cut_off");
    migrate_into(&env, &url, s.name());
    let schema = s.name();
    let mut c = s.client();
    // Enough expired IP events for some twenty batches of a page each.
    c.batch_execute(&format!(
        "INSERT INTO {schema}.ip_event (customer_id, ip, event, occurred_at)
         SELECT customer_id, ip, event, occurred_at FROM {schema}.ip_event, generate_series(1, 40);
         ANALYZE {schema}.ip_event"
    ))
    .unwrap();
    let row = c.query_one(&format!("SELECT count(*), max(rowid) FROM {schema}.ip_event"), &[]).unwrap();
    let (all, last): (i64, i64) = (row.get(0), row.get(1));
    // A batch is a page at `--batch 5`: the most rows a page holds.
    let per_page: i64 = c
        .query_one(
            &format!(
                "SELECT max(n) FROM (SELECT count(*) AS n FROM {schema}.ip_event GROUP BY (ctid::text::point)[0]) p"
            ),
            &[],
        )
        .unwrap()
        .get(0);
    // The session ends when the last event's turn comes, in the rule's last batch.
    c.batch_execute(&format!(
        "CREATE FUNCTION {schema}.cut_off() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN IF OLD.rowid = {last} THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF; RETURN OLD; END $$;
         CREATE TRIGGER cut_off BEFORE DELETE ON {schema}.ip_event FOR EACH ROW EXECUTE FUNCTION {schema}.cut_off()"
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let on_pg = pg_runner(&url, schema, dir.path(), Some("2031-01-01T00:00:00Z"));
    let out = on_pg(&["--json", "retention", "run", "--yes", "--batch", "5"]);
    // The run stops at the lost connection, as a server that cannot be reached (exit 10).
    assert_eq!(out.status.code(), Some(10), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!said.contains("queued letters"), "no letter was queued: {said}");
    let left: i64 = c.query_one(&format!("SELECT count(*) FROM {schema}.ip_event"), &[]).unwrap().get(0);
    let gone = all - left;
    assert!(gone > per_page && left > 0, "more than one batch committed: {gone} of {all} ({per_page} a page)");
    c.batch_execute(&format!("DROP TRIGGER cut_off ON {schema}.ip_event")).unwrap();
    let out = on_pg(&["--json", "retention", "run", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let log: serde_json::Value = serde_json::from_slice(&on_pg(&["--json", "audit", "log"]).stdout).unwrap();
    let interrupted: Vec<_> =
        log["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "retention-interrupted").collect();
    assert_eq!(interrupted.len(), 1, "{interrupted:?}");
    assert_eq!(interrupted[0]["details"]["removed"]["ip-history"], json!(gone), "{}", interrupted[0]);
    let now: i64 = c.query_one(&format!("SELECT count(*) FROM {schema}.ip_event"), &[]).unwrap().get(0);
    assert_eq!(now, 0, "the next run removes the rest");
    assert_eq!(on_pg(&["audit", "verify"]).status.code(), Some(0));
}

#[test]
fn init_makes_a_postgresql_store_from_a_fixture_or_a_company_file() {
    let Some(url) = support::postgres() else { return };
    let env = support::Env::with_fixture("webshop");
    let s = Schema::new(&url, "init_fixture");
    let on_pg = |schema: &str, args: &[&str]| dsr_on_postgres(env.dir.path(), &url, schema, args);
    let out = on_pg(s.name(), &["--json", "init", "--fixture", "webshop"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let made: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (on_sqlite, _): (serde_json::Value, i32) = support::Env::new().json(&["init", "--fixture", "webshop"]);
    assert_eq!(made["people"], on_sqlite["people"], "{made}");
    assert!(made["store"].as_str().unwrap().contains(&format!("(schema {})", s.name())), "{made}");
    // The same register and people as a SQLite store made from the same fixture.
    for args in [&["register", "export"][..], &["--json", "lookup", "--email", "sanne.dejong@example.nl"]] {
        let (a, b) = (env.run(args), on_pg(s.name(), args));
        assert_eq!(
            String::from_utf8_lossy(&b.stdout),
            String::from_utf8_lossy(&a.stdout),
            "{args:?}: {}",
            String::from_utf8_lossy(&b.stderr)
        );
    }
    // A store there already is refused (exit 14); --force is refused: dsr drops no schema.
    assert_eq!(on_pg(s.name(), &["init", "--fixture", "webshop"]).status.code(), Some(14));
    let out = on_pg(s.name(), &["init", "--fixture", "webshop", "--force", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    support::assert_one_line_error(&out);
    // A company's own file makes the same store there as on SQLite; `register check` judges a
    // file the same with a PostgreSQL URL as with a store's path, a broken one too.
    let file = env.path("company.toml");
    std::fs::write(&file, env.run(&["register", "export"]).stdout).unwrap();
    let broken = env.path("broken.toml");
    std::fs::write(
        &broken,
        String::from_utf8_lossy(&env.run(&["register", "export"]).stdout).replacen(
            "[[purpose]]",
            "[[purpose]]\nbogus = 1",
            1,
        ),
    )
    .unwrap();
    for f in [&file, &broken] {
        let args = ["--json", "register", "check", f.to_str().unwrap()];
        let (a, b) = (env.run(&args), on_pg(s.name(), &args));
        assert_eq!(
            (b.status.code(), String::from_utf8_lossy(&b.stdout)),
            (a.status.code(), String::from_utf8_lossy(&a.stdout))
        );
    }
    assert_ne!(env.run(&["register", "check", broken.to_str().unwrap()]).status.code(), Some(0));
    let t = Schema::new(&url, "init_register");
    let out = on_pg(t.name(), &["init", "--register", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(on_pg(t.name(), &["register", "export"]).stdout, env.run(&["register", "export"]).stdout);
    assert_eq!(on_pg(t.name(), &["audit", "verify"]).status.code(), Some(0));
}

#[test]
fn an_erasure_where_pageinspect_is_not_installed_says_the_pages_were_not_read() {
    let Some(url) = support::postgres() else { return };
    let own = OwnDatabase::new(&url, "no_pageinspect");
    let db_url = own.url.clone();
    let env = support::Env::with_fixture("virtio");
    let s = Schema::new(&db_url, "unread");
    migrate_into(&env, &db_url, s.name());
    let pg_dir = tempfile::tempdir().unwrap();
    let on_pg = pg_runner(&db_url, s.name(), pg_dir.path(), None);
    let address = addresses_on_file(&env, 1).remove(0);
    let id = verified_erasure(&on_pg, pg_dir.path(), &address);
    let out = on_pg(&["erase", &id, "--yes"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "the erasure stands: {said}");
    let lines: Vec<&str> = said.lines().filter(|l| l.contains("pageinspect extension is not installed")).collect();
    assert_eq!(lines.len(), 1, "said once: {said}");
    assert!(lines[0].starts_with("dsr erase: ") && lines[0].contains("email_address"), "{said}");
}

#[test]
fn an_address_as_typed_leaves_no_byte_in_dsr_s_own_pages_of_a_store_made_on_postgresql() {
    let Some(url) = support::postgres() else { return };
    let own = OwnDatabase::new(&url, "typed_pages");
    let s = Schema::new(&own.url, "typed");
    s.client().batch_execute("CREATE EXTENSION IF NOT EXISTS pageinspect").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let on_pg = pg_runner(&own.url, s.name(), dir.path(), None);
    assert_eq!(on_pg(&["init", "--fixture", "webshop"]).status.code(), Some(0));
    // The officer types the domain in capitals: the request holds it so (`subject_given`) in
    // every row version its life left, until the erasure detaches it.
    let typed = "sem.kok@EXAMPLE.COM";
    let id = verified_erasure(&on_pg, dir.path(), typed);
    let out = on_pg(&["erase", &id, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let mut c = s.client();
    for table in ["request", "intake_message", "queued", "email_address"] {
        let left = dsr::store::postgres::forensic::residue(&mut c, s.name(), table, typed.as_bytes()).unwrap().unwrap();
        assert!(left.is_empty(), "{table}: {left:?}");
    }
}

#[test]
fn an_erasure_on_postgresql_with_pageinspect_leaves_no_erased_value_in_the_pages() {
    let Some(url) = support::postgres() else { return };
    // A database of its own: another test's open snapshot would keep the deleted rows alive.
    let own = OwnDatabase::new(&url, "erase_pages");
    let db_url = own.url.clone();
    let env = support::Env::with_fixture("virtio");
    let s = Schema::new(&db_url, "pages");
    s.client().batch_execute("CREATE EXTENSION IF NOT EXISTS pageinspect").unwrap();
    migrate_into(&env, &db_url, s.name());
    let pg_dir = tempfile::tempdir().unwrap();
    let on_pg = pg_runner(&db_url, s.name(), pg_dir.path(), None);
    let address = addresses_on_file(&env, 1).remove(0);
    let id = verified_erasure(&on_pg, pg_dir.path(), &address);
    // Before: the address is in the pages of email_address.
    let mut c = s.client();
    let before = dsr::store::postgres::forensic::residue(&mut c, s.name(), "email_address", address.as_bytes())
        .unwrap()
        .unwrap();
    assert!(!before.is_empty());
    drop(c);
    let out = on_pg(&["erase", &id, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let mut c = s.client();
    for table in ["email_address", "customer", "login_account", "phone_number"] {
        let left =
            dsr::store::postgres::forensic::residue(&mut c, s.name(), table, address.as_bytes()).unwrap().unwrap();
        assert!(left.is_empty(), "{table}: {left:?}");
    }
    // The nightly run reads the pages as well: an approved plan carried out by `erase --due`.
    // This customer's payments, kept under the fiscal hold, name their customer number in their
    // reference: a value the kept rows hold is no residue (it was reported as one).
    let third = addresses_on_file(&env, 3).remove(1);
    let id = verified_erasure(&on_pg, pg_dir.path(), &third);
    assert_eq!(on_pg(&["erase", &id, "--approve"]).status.code(), Some(0));
    let out = on_pg(&["--json", "erase", "--due"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["applied"][0], id.as_str());
    for table in ["email_address", "customer", "login_account"] {
        let left = dsr::store::postgres::forensic::residue(&mut c, s.name(), table, third.as_bytes()).unwrap().unwrap();
        assert!(left.is_empty(), "{table}: {left:?}");
    }
    // A role that may not read raw pages (no superuser; a member of the tables' owner, so that
    // it may vacuum them): the erasure stands (exit 0) and says the pages were not read.
    let role = format!("dsr_plain_{}", std::process::id());
    c.batch_execute(&format!("DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN IN ROLE dsr;")).unwrap();
    let plain_url = db_url.replacen("dsr@", &format!("{role}@"), 1);
    let as_plain = pg_runner(&plain_url, s.name(), pg_dir.path(), None);
    let other = addresses_on_file(&env, 3).remove(2);
    let out = as_plain(&["--json", "erase", "--email", &other]);
    let id = serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["request"].as_str().unwrap().to_owned();
    let code = outbox_code(pg_dir.path(), &id).expect("a code letter");
    assert_eq!(as_plain(&["verify", &id, &code]).status.code(), Some(0));
    let out = as_plain(&["erase", &id, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("may not read raw pages"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // And so does the nightly run under that role.
    let fourth = addresses_on_file(&env, 4).remove(3);
    let out = as_plain(&["--json", "erase", "--email", &fourth]);
    let id = serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["request"].as_str().unwrap().to_owned();
    let code = outbox_code(pg_dir.path(), &id).expect("a code letter");
    assert_eq!(as_plain(&["verify", &id, &code]).status.code(), Some(0));
    assert_eq!(as_plain(&["erase", &id, "--approve"]).status.code(), Some(0));
    let out = as_plain(&["erase", "--due"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("dsr erase --due: ") && said.contains("may not read raw pages"), "{said}");
    drop(c);
    drop(on_pg);
    drop(as_plain);
    drop(s);
    let mut own = own;
    own.admin.batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", own.name)).unwrap();
    own.admin.batch_execute(&format!("DROP ROLE IF EXISTS {role}")).unwrap();
}

/// Another session reads a table in a transaction older than the erasure and holds it past
/// `lock_timeout`: the erasure stands, exit 23 names the tables that keep values, and a note
/// has the next erasure rewrite them (`VACUUM FULL`) once that session has ended.
#[test]
fn values_an_older_transaction_kept_are_rewritten_away_by_the_next_erasure() {
    let Some(url) = support::postgres() else { return };
    let own = OwnDatabase::new(&url, "erase_kept");
    let db_url = own.url.clone();
    let env = support::Env::with_fixture("virtio");
    let s = Schema::new(&db_url, "kept");
    s.client().batch_execute("CREATE EXTENSION IF NOT EXISTS pageinspect").unwrap();
    migrate_into(&env, &db_url, s.name());
    let pg_dir = tempfile::tempdir().unwrap();
    let on_pg = pg_runner(&db_url, s.name(), pg_dir.path(), None);
    let verified = |address: &str| verified_erasure(&on_pg, pg_dir.path(), address);
    let addresses = addresses_on_file(&env, 2);
    let first = verified(&addresses[0]);
    let mut blocker = s.client();
    let mut reading = blocker.transaction().unwrap();
    reading.query(&format!("SELECT count(*) FROM {}.email_address", s.name()), &[]).unwrap();
    let out = on_pg(&["erase", &first, "--yes"]);
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(23), "{said}");
    assert!(
        said.contains("email_address: an erased value is still in its pages: another session holds the table"),
        "{said}"
    );
    reading.commit().unwrap();
    drop(blocker);
    let mut c = s.client();
    let notes: i64 = c
        .query_one(&format!("SELECT count(*) FROM {}.store_meta WHERE key LIKE 'vacuum-full:%'", s.name()), &[])
        .unwrap()
        .get(0);
    assert_eq!(notes, 1, "the tables to rewrite are noted");
    let second = verified(&addresses[1]);
    let out = on_pg(&["erase", &second, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let left = dsr::store::postgres::forensic::residue(&mut c, s.name(), "email_address", addresses[0].as_bytes())
        .unwrap()
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
    let notes: i64 = c
        .query_one(&format!("SELECT count(*) FROM {}.store_meta WHERE key LIKE 'vacuum-%'", s.name()), &[])
        .unwrap()
        .get(0);
    assert_eq!(notes, 0);
    drop(c);
    drop(on_pg);
    drop(s);
    let mut own = own;
    own.admin.batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", own.name)).unwrap();
}

/// `args` exited `code` on SQLite (`a`), and on PostgreSQL (`b`) with the same code, stdout and stderr.
fn same_on_both(args: &[&str], code: i32, a: std::process::Output, b: std::process::Output) {
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    assert_eq!(a.status.code(), Some(code), "{args:?}: {} {}", text(&a.stdout), text(&a.stderr));
    assert_eq!(b.status.code(), a.status.code(), "{args:?}: {}", text(&b.stderr));
    assert_eq!(text(&b.stdout), text(&a.stdout), "{args:?}");
    assert_eq!(text(&b.stderr), text(&a.stderr), "{args:?}");
}

/// A way to run `dsr` on one store.
type Runner<'a> = &'a dyn Fn(&[&str]) -> std::process::Output;

/// `dsr` on a PostgreSQL store (schema `schema`), run in `dir` (where its outbox is), at `now`
/// (`DSR_NOW`) or the real time.
fn pg_runner<'a>(
    url: &'a str,
    schema: &'a str,
    dir: &'a std::path::Path,
    now: Option<&'a str>,
) -> impl Fn(&[&str]) -> std::process::Output + 'a {
    move |args: &[&str]| {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("dsr"));
        cmd.current_dir(dir).env_remove("DSR_DB").env_remove("DSR_NOW");
        if let Some(now) = now {
            cmd.env("DSR_NOW", now);
        }
        cmd.args(["--db", url]).env("DSR_PG_SCHEMA", schema).args(args).output().unwrap()
    }
}

/// The audit trail of `audit log --json` as "request action details" lines, to compare stores.
fn audit_actions(out: std::process::Output) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{} {} {}", e["request"], e["action"], e["details"]))
        .collect()
}

/// The store's writer lock held by another session (a `dsr import` writing a batch): a command
/// that writes gives up with exit 13 in one line, and its transaction ends, so the queue's
/// delivery after it says nothing of an aborted transaction.
#[test]
fn the_writer_lock_held_elsewhere_is_one_line_and_exit_13() {
    let Some(url) = support::postgres() else { return };
    let env = support::Env::with_fixture("virtio");
    let s = Schema::new(&url, "writerlock");
    migrate_into(&env, &url, s.name());
    let dir = tempfile::tempdir().unwrap();
    let on_pg = pg_runner(&url, s.name(), dir.path(), None);
    let mut holder = s.client();
    let mut tx = holder.transaction().unwrap();
    tx.query_one("SELECT pg_advisory_xact_lock(hashtext('dsr-write:' || $1))", &[&s.name()]).unwrap();
    let out = on_pg(&["access", "--email", "jan.devries@example.nl"]);
    assert_eq!(out.status.code(), Some(13), "{}", String::from_utf8_lossy(&out.stderr));
    support::assert_one_line_error(&out);
    tx.rollback().unwrap();
}

/// Copy the SQLite store of `env` into a new PostgreSQL store (schema `schema`) with `dsr migrate`.
#[test]
fn a_lock_held_by_another_session_is_waited_for_as_on_sqlite_then_exit_13() {
    let Some(url) = support::postgres() else { return };
    let env = support::Env::with_fixture("virtio");
    let s = Schema::new(&url, "locked");
    migrate_into(&env, &url, s.name());
    let dir = tempfile::tempdir().unwrap();
    let on_pg = pg_runner(&url, s.name(), dir.path(), None);
    let mut holder = s.client();
    let mut tx = holder.transaction().unwrap();
    tx.batch_execute(&format!("LOCK TABLE {}.email_address IN ACCESS EXCLUSIVE MODE", s.name())).unwrap();
    let started = std::time::Instant::now();
    let out = on_pg(&["lookup", "--email", "jan.devries@example.nl"]);
    assert_eq!(out.status.code(), Some(13), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("stayed locked by another process"));
    assert!(started.elapsed() < std::time::Duration::from_secs(120), "it gave up instead of waiting for ever");
    // The session ended by the server while it waits (an administrator, a shutdown): exit 10,
    // naming the server, not "connection closed".
    let waiting = std::process::Command::new(assert_cmd::cargo::cargo_bin("dsr"))
        .current_dir(dir.path())
        .env_remove("DSR_DB")
        .env("DSR_PG_SCHEMA", s.name())
        .args(["--db", &url, "lookup", "--email", "jan.devries@example.nl"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut admin = s.client();
    let mut ended = 0;
    for _ in 0..200 {
        let row = admin
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
                &[],
            )
            .unwrap();
        ended = row.get::<_, i64>(0);
        if ended > 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(ended, 1, "the lookup's session was found waiting");
    let out = waiting.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(10), "{err}");
    assert!(
        err.contains("connection to the PostgreSQL server") && err.contains(&url) && err.contains("was lost"),
        "{err}"
    );
    tx.rollback().unwrap();
    // A statement the server cancels (its statement_timeout) is said as such, exit 13.
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("dsr"))
        .current_dir(dir.path())
        .env_remove("DSR_DB")
        .env("DSR_PG_SCHEMA", s.name())
        .args([
            "--db",
            &format!("{url}{}options=-c%20statement_timeout%3D1", if url.contains('?') { '&' } else { '?' }),
            "audit",
            "verify",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(13), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cancelled a statement"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(on_pg(&["lookup", "--email", "jan.devries@example.nl"]).status.code(), Some(0));
}

#[test]
fn a_run_killed_after_its_commit_has_its_tables_vacuumed_by_the_next() {
    let Some(url) = support::postgres() else { return };
    // A database of its own: pageinspect there, and no other test's snapshot holding back VACUUM.
    let own = OwnDatabase::new(&url, "killed_vacuum");
    let url = own.url.clone();
    let env = support::Env::with_fixture("virtio");
    let s = Schema::new(&url, "killed_vacuum");
    migrate_into(&env, &url, s.name());
    let dir = tempfile::tempdir().unwrap();
    let on_pg = pg_runner(&url, s.name(), dir.path(), None);
    let mut c = s.client();
    c.batch_execute("CREATE EXTENSION IF NOT EXISTS pageinspect").unwrap();
    let schema = s.name();
    // What a run killed between its commit and its VACUUM leaves: rows deleted (dead in their
    // pages) and its note, of a session that has ended; beside it the note of a session at work.
    let mut live = s.client();
    let live_pid: i32 = live.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    c.batch_execute(&format!(
        "DELETE FROM {schema}.phone_number WHERE rowid IN (SELECT rowid FROM {schema}.phone_number ORDER BY rowid LIMIT 3);
         INSERT INTO {schema}.store_meta (key, value) VALUES
           ('vacuum-pending:2147480000', jsonb_build_object('t', '[\"phone_number\"]')),
           ('vacuum-pending:{live_pid}', jsonb_build_object('t', '[\"phone_number\"]'));"
    ))
    .unwrap();
    let dead_rows = |c: &mut postgres::Client| -> i64 {
        c.query_one(
            &format!(
                "SELECT count(*) FROM generate_series(0, pg_relation_size('{schema}.phone_number') / 8192 - 1) b,
                   heap_page_items(get_raw_page('{schema}.phone_number', b::int)) WHERE lp_flags = 1 AND t_xmax <> 0"
            ),
            &[],
        )
        .unwrap()
        .get(0)
    };
    assert!(dead_rows(&mut c) >= 3);
    // The next cron run, with nothing due, vacuums what the dead session noted.
    let out = on_pg(&["erase", "--due"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(dead_rows(&mut c), 0, "the deleted rows were vacuumed");
    let notes: Vec<String> = c
        .query(&format!("SELECT key FROM {schema}.store_meta WHERE key LIKE 'vacuum-pending:%' ORDER BY key"), &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(notes, [format!("vacuum-pending:{live_pid}")], "the note of a session at work stays");
    // An erasure leaves no note of its own behind.
    let id = verified_request(&on_pg, dir.path(), &["erase", "--email", "jan.devries@example.nl"]);
    assert_eq!(on_pg(&["erase", &id, "--yes"]).status.code(), Some(0));
    let left: i64 = c
        .query_one(&format!("SELECT count(*) FROM {schema}.store_meta WHERE key LIKE 'vacuum-pending:%'"), &[])
        .unwrap()
        .get(0);
    assert_eq!(left, 1);
    drop((live, c));
}

fn migrate_into(env: &support::Env, url: &str, schema: &str) {
    let out = env.run(&["migrate", "--from", env.db.to_str().unwrap(), "--to", url, "--schema", schema]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

/// An erasure request opened on PostgreSQL (`on_pg`, run in `dir`) for `address` and verified
/// with the code from its letter; its id.
fn verified_erasure(on_pg: &dyn Fn(&[&str]) -> std::process::Output, dir: &std::path::Path, address: &str) -> String {
    let out = on_pg(&["--json", "erase", "--email", address]);
    let id = serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["request"].as_str().unwrap().to_owned();
    let code = outbox_code(dir, &id).expect("a code letter");
    assert_eq!(on_pg(&["verify", &id, &code]).status.code(), Some(0));
    id
}

/// The code in the latest letter of `request` in the outbox of `dir`, if one is there yet.
fn outbox_code(dir: &std::path::Path, request: &str) -> Option<String> {
    let mut letters: Vec<_> = std::fs::read_dir(dir.join("outbox"))
        .ok()?
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(&format!("{request}-")))
        .collect();
    letters.sort();
    let letter = letters.pop()?;
    support::Mail::parse(&std::fs::read(&letter).unwrap(), letter).code()
}

#[test]
fn intake_opens_verifies_and_lists_the_same_messages_the_same_on_postgresql() {
    let Some(url) = support::postgres() else { return };
    let now = "2026-12-01T10:00:00Z";
    let env = support::Env::with_fixture_at("virtio", now);
    let s = Schema::new(&url, "intake");
    migrate_into(&env, &url, s.name());
    let pg_dir = tempfile::tempdir().unwrap();
    let on_pg = pg_runner(&url, s.name(), pg_dir.path(), Some(now));
    let both = |name: &str, text: &str| {
        for dir in [env.dir.path(), pg_dir.path()] {
            std::fs::write(dir.join(name), text.replace('\n', "\r\n")).unwrap();
        }
    };
    let mail = |from: &str, id: &str, subject: &str, body: &str| {
        format!("From: {from}\nTo: support@virtio.nl\nSubject: {subject}\nDate: Mon, 30 Nov 2026 10:00:00 +0100\nMessage-ID: <{id}@example.net>\n\n{body}\n")
    };
    both("a.eml", &mail("eva.kok@example.nl", "a", "Inzage", "Graag inzage in mijn gegevens."));
    both("b.eml", &mail("nobody@example.net", "b", "Delete", "Please delete my personal data."));
    both("c.eml", &mail("bram.dejong@example.com", "c", "Nieuwsbrief", "Ik wil me afmelden voor de nieuwsbrief."));
    both("d.eml", &mail("x@example.net", "d", "AVG", "Mijn adres klopt niet."));
    both("e.eml", &mail("y@example.net", "e", "Factuur", "Wanneer komt mijn factuur?"));
    let files = ["intake", "a.eml", "b.eml", "c.eml", "d.eml", "e.eml"];
    same_on_both(&files, 0, env.run(&files), on_pg(&files));
    // A reply with each store's own code verifies its request on each.
    let request = "DSR-2026-0001";
    for (dir, code) in [
        (env.dir.path(), env.code(request)),
        (pg_dir.path(), outbox_code(pg_dir.path(), request).expect("a code letter on PostgreSQL")),
    ] {
        let reply = mail("other@example.net", "r", &format!("Re: Verificatiecode ({request})"), &format!("> {code}"));
        std::fs::write(dir.join("r.eml"), reply).unwrap();
    }
    same_on_both(&["intake", "r.eml"], 0, env.run(&["intake", "r.eml"]), on_pg(&["intake", "r.eml"]));
    same_on_both(&files, 0, env.run(&files), on_pg(&files));
    for args in [
        &["--json", "intake", "--list"][..],
        &["--json", "request", "list"],
        &["--json", "request", "show", "DSR-2026-0004"],
        &["intake", "--resolve", "5", "--note", "spam"],
        // The rectification without its new value was opened in review; the officer decides.
        &["rectify", "--review", "DSR-2026-0004", "--set", "city=Utrecht"],
        &["--json", "request", "list"],
    ] {
        same_on_both(args, 0, env.run(args), on_pg(args));
    }
    assert_eq!(on_pg(&["audit", "verify"]).status.code(), Some(0));
}

/// On PostgreSQL as on SQLite, every command delivers what is queued after it, a reading one
/// (`audit verify`, `report`, `doctor`, `lookup`) too.
#[test]
fn a_reading_command_on_postgresql_delivers_the_queue_as_on_sqlite() {
    let Some(url) = support::postgres() else { return };
    let s = Schema::new(&url, "reading_flush");
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| dsr_on_postgres(dir.path(), &url, s.name(), args);
    let out = run(&["init", "--fixture", "virtio"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let outbox = dir.path().join("outbox");
    let readers = [&["audit", "verify"][..], &["report"], &["doctor"], &["lookup", "--email", "x@example.nl"]];
    for (i, args) in readers.iter().enumerate() {
        // The outbox cannot be written: the code letter stays queued.
        std::fs::write(&outbox, b"not a directory").unwrap();
        let out = run(&["access", "--email", &format!("p{i}@example.nl")]);
        assert!(out.status.success(), "{}", support::stderr(&out));
        std::fs::remove_file(&outbox).unwrap();
        run(args);
        let letters = std::fs::read_dir(&outbox).map(|d| d.count()).unwrap_or(0);
        assert_eq!(letters, 1, "{args:?} delivered the queued letter");
        std::fs::rename(&outbox, dir.path().join(format!("kept{i}"))).unwrap();
    }
}

/// A NUL in a message (mislabelled UTF-16, spam), which PostgreSQL's text cannot hold, is read
/// as on SQLite and stops nothing: the message beside it opens its request. A NUL in a SQLite
/// store's text is named by `migrate` (table, column, row) before the copy.
#[test]
fn a_nul_in_mail_stops_no_intake_on_postgresql_and_migrate_names_one_in_a_store() {
    let Some(url) = support::postgres() else { return };
    let now = "2026-12-01T10:00:00Z";
    let env = support::Env::with_fixture_at("virtio", now);
    let s = Schema::new(&url, "intake_nul");
    migrate_into(&env, &url, s.name());
    let pg_dir = tempfile::tempdir().unwrap();
    let on_pg = pg_runner(&url, s.name(), pg_dir.path(), Some(now));
    let good = "From: eva.kok@example.nl\r\nSubject: Inzage\r\nDate: Mon, 30 Nov 2026 10:00:00 +0100\r\nMessage-ID: <g@example.net>\r\n\r\nGraag inzage in mijn gegevens.\r\n";
    let nul = "From: u1@example.net\r\nSubject: vraag\0\r\nMessage-ID: <u1\0@x>\r\n\r\nIk\0 wil inzage.\r\n";
    for dir in [env.dir.path(), pg_dir.path()] {
        std::fs::create_dir_all(dir.join("mix")).unwrap();
        std::fs::write(dir.join("mix/a.eml"), nul).unwrap();
        std::fs::write(dir.join("mix/b.eml"), good).unwrap();
    }
    same_on_both(&["intake", "mix"], 0, env.run(&["intake", "mix"]), on_pg(&["intake", "mix"]));
    let shown = on_pg(&["--json", "request", "list"]);
    assert!(support::stdout(&shown).contains("DSR-2026-0001"), "{}", support::stdout(&shown));
    // A NUL written into the store's own text by hand: migrate names where.
    env.sql().execute("UPDATE person SET given_name = 'Ev' || char(0) || 'a' WHERE id = 2", []).unwrap();
    let t = Schema::new(&url, "intake_nul_copy");
    let out = env.run(&["migrate", "--from", env.db.to_str().unwrap(), "--to", &url, "--schema", t.name()]);
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    support::assert_one_line_error(&out);
    let err = support::stderr(&out);
    assert!(err.contains("table person, column given_name") && err.contains("NUL"), "{err}");
}

#[test]
fn status_shows_the_same_screen_on_postgresql() {
    let Some(url) = support::postgres() else { return };
    let now = "2026-11-02T09:00:00Z";
    let env = support::Env::with_fixture_at("virtio", now);
    // Overdue (received in September), a plan waiting for approval, recipients to tell, a run.
    env.open("access", &["--email", "jan.devries@example.nl", "--received", "2026-09-20"]);
    let erase = env.verified("erase", &["--email", "sophie.meijer@example.nl"]);
    env.dsr().args(["erase", &erase, "--dry-run"]).assert().success();
    let rectify = env.verified("rectify", &["--email", "pieter.vandenberg@example.com", "--set", "city=Utrecht"]);
    env.dsr().args(["rectify", &rectify, "--yes"]).assert().success();
    env.dsr().args(["erase", "--due"]).assert().success();
    let s = Schema::new(&url, "status_screen");
    migrate_into(&env, &url, s.name());
    let pg_dir = tempfile::tempdir().unwrap();
    let on_pg = pg_runner(&url, s.name(), pg_dir.path(), Some(now));
    for args in [&["status"][..], &["--json", "status"], &["--json", "status", "--limit", "1"]] {
        same_on_both(args, 25, env.run(args), on_pg(args));
    }
    // The runs record themselves alike on both backends.
    for args in [&["erase", &erase, "--approve"][..], &["erase", "--due"], &["retention", "run"]] {
        let (a, b) = (env.run(args), on_pg(args));
        assert_eq!(
            (a.status.code(), b.status.code()),
            (Some(0), Some(0)),
            "{args:?}: {}",
            String::from_utf8_lossy(&b.stderr)
        );
    }
    same_on_both(&["--json", "status"], 25, env.run(&["--json", "status"]), on_pg(&["--json", "status"]));
    let shown: serde_json::Value = serde_json::from_slice(&on_pg(&["--json", "status"]).stdout).unwrap();
    assert_eq!(shown["cron"][0]["last"]["summary"].as_str().unwrap().split(',').next(), Some("1 erased"), "{shown}");
    assert_eq!(shown["cron"][1]["last"]["exit_code"], 0, "{shown}");
}

#[test]
fn the_accountability_report_gives_the_same_figures_on_postgresql() {
    let Some(url) = support::postgres() else { return };
    let env = support::Env::with_fixture_at("virtio", crate::report::NOW);
    let s = Schema::new(&url, "report");
    migrate_into(&env, &url, s.name());
    // The same requests, tally, notifications and audit entries written into both stores.
    let sqlite = env.sql();
    crate::report::year_of_requests(&|sql| sqlite.execute_batch(sql).unwrap_or_else(|e| panic!("{e}: {sql}")));
    let pg = std::cell::RefCell::new(s.client());
    crate::report::year_of_requests(&|sql| {
        pg.borrow_mut()
            .batch_execute(&format!("SET search_path TO {}; {sql}", s.name()))
            .unwrap_or_else(|e| panic!("{e}: {sql}"))
    });
    for args in [
        &["--json", "report", "--from", "2025-01-01", "--to", "2025-12-31"][..],
        &["report", "--from", "2025-01-01", "--to", "2025-12-31", "--csv"],
        &["report", "--from", "2025-01-01", "--to", "2025-12-31"],
    ] {
        let on_sqlite = env.run(args);
        let on_pg = std::process::Command::new(assert_cmd::cargo::cargo_bin("dsr"))
            .current_dir(env.dir.path())
            .env_remove("DSR_DB")
            .env("DSR_NOW", crate::report::NOW)
            .env("DSR_PG_SCHEMA", s.name())
            .args(["--db", &url])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(on_pg.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&on_pg.stderr));
        assert_eq!(String::from_utf8_lossy(&on_pg.stdout), String::from_utf8_lossy(&on_sqlite.stdout), "{args:?}");
        if args[0] == "--json" {
            crate::report::check_year(&serde_json::from_slice(&on_pg.stdout).unwrap());
        }
    }
}

#[test]
fn a_role_without_rights_on_the_store_gets_exit_15_and_what_to_do() {
    let Some(url) = support::postgres() else { return };
    let env = support::Env::with_fixture("virtio");
    let s = Schema::new(&url, "rights");
    migrate_into(&env, &url, s.name());
    let role = format!("norights_{}", std::process::id());
    s.client().batch_execute(&format!("DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN")).unwrap();
    let as_role = url.replacen("postgres://dsr@", &format!("postgres://{role}@"), 1);
    assert_ne!(as_role, url, "the test server's URL names the role dsr");
    let out = dsr_on_postgres(env.dir.path(), &as_role, s.name(), &["request", "list"]);
    s.client().batch_execute(&format!("DROP ROLE {role}")).unwrap();
    assert_eq!(out.status.code(), Some(15), "{out:?}");
    support::assert_one_line_error(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("permission denied") && err.contains("connect as a role"), "{err}");
}

/// `dsr migrate` takes the SQLite store's erasure journal along, to where the PostgreSQL store
/// reads it: a replay there after a restore knows the erasures made before the move. A journal
/// there already is not written over.
#[test]
fn migrate_copies_the_erasure_journal_where_the_postgresql_store_reads_it() {
    let Some(url) = support::postgres() else { return };
    let env = support::Env::with_fixture("virtio");
    let id = env.verified("erase", &["--email", "jan.devries@example.nl"]);
    env.dsr().args(["erase", &id, "--yes"]).assert().success();
    let journal = std::fs::read(env.path("dsr.sqlite.erasures")).unwrap();
    let s = Schema::new(&url, "journal");
    let (v, code): (serde_json::Value, i32) =
        env.json(&["migrate", "--from", env.db.to_str().unwrap(), "--to", &url, "--schema", s.name()]);
    assert_eq!(code, 0, "{v}");
    let moved = env.path(&format!("{}.erasures", s.name()));
    assert_eq!(v["journal"]["path"], moved.display().to_string(), "{v}");
    assert_eq!(v["journal"]["copied"], true, "{v}");
    assert_eq!(std::fs::read(&moved).unwrap(), journal);
    let out = dsr_on_postgres(env.dir.path(), &url, s.name(), &["erase", "--replay", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let again = Schema::new(&url, "journal_again");
    std::fs::write(env.path(&format!("{}.erasures", again.name())), b"").unwrap();
    let out = env.run(&["migrate", "--from", env.db.to_str().unwrap(), "--to", &url, "--schema", again.name()]);
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
    assert!(support::stderr(&out).contains("was not copied"), "{}", support::stderr(&out));
    assert!(std::fs::read(env.path(&format!("{}.erasures", again.name()))).unwrap().is_empty());
    // The journal is copied before the copy commits (a migration killed after its commit has
    // it); a migration that fails (the schema is there) takes back the one it wrote, and one a
    // killed migration left, the same bytes, is this copy's.
    std::fs::remove_file(&moved).unwrap();
    let out = env.run(&["migrate", "--from", env.db.to_str().unwrap(), "--to", &url, "--schema", s.name()]);
    assert_eq!(out.status.code(), Some(14), "{}", support::stderr(&out));
    assert!(!moved.exists(), "a failed migration leaves no journal copy");
    let third = Schema::new(&url, "journal_third");
    std::fs::write(env.path(&format!("{}.erasures", third.name())), &journal).unwrap();
    let (v, code): (serde_json::Value, i32) =
        env.json(&["migrate", "--from", env.db.to_str().unwrap(), "--to", &url, "--schema", third.name()]);
    assert_eq!((code, &v["journal"]["copied"]), (0, &serde_json::json!(true)), "{v}");
}

/// A role that may read dsr's schema but not write it opens the store, and fails at its first
/// write: `dsr doctor` says so before (exit 24), naming the role, the rights and the grant.
#[test]
fn doctor_names_a_role_that_may_only_read_the_store() {
    let Some(url) = support::postgres() else { return };
    let env = support::Env::with_fixture("virtio");
    let s = Schema::new(&url, "readonly");
    migrate_into(&env, &url, s.name());
    let role = format!("reader_{}", std::process::id());
    s.client()
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN; GRANT USAGE ON SCHEMA {0} TO {role};
             GRANT SELECT ON ALL TABLES IN SCHEMA {0} TO {role}",
            s.name()
        ))
        .unwrap();
    let as_role = url.replacen("postgres://dsr@", &format!("postgres://{role}@"), 1);
    let (out, whole) = (
        dsr_on_postgres(env.dir.path(), &as_role, s.name(), &["doctor"]),
        dsr_on_postgres(env.dir.path(), &url, s.name(), &["doctor"]),
    );
    s.client()
        .batch_execute(&format!("REVOKE ALL ON ALL TABLES IN SCHEMA {0} FROM {role}; REVOKE ALL ON SCHEMA {0} FROM {role}; DROP ROLE {role}", s.name()))
        .unwrap();
    assert_eq!(out.status.code(), Some(24), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains(&format!("the role {role} dsr connects as has no INSERT, UPDATE, DELETE on")), "{said}");
    assert!(said.contains(&format!("ON ALL TABLES IN SCHEMA {} TO {role}", s.name())), "{said}");
    assert_eq!(whole.status.code(), Some(0), "the role that made the store may: {whole:?}");
}

/// A company table with a built-in table's name (`invoice`) and a declared column in mixed case
/// reach PostgreSQL as they are declared, by init and by migrate, and the same file applies again
/// (PostgreSQL keeps column names in lower case).
#[test]
fn a_declared_table_with_a_built_in_name_is_made_as_declared_on_postgresql() {
    let Some(url) = support::postgres() else { return };
    let env = support::Env::new();
    let text = std::fs::read_to_string(support::fixture_dir("webshop").join("company.toml")).unwrap();
    let text = text.replace("shop_invoice", "invoice").replacen(
        "[[table.column]]\nname = \"city\"",
        "[[table.column]]\nname = \"Floor\"\ntype = \"text\"\n\n[[table.column]]\nname = \"city\"",
        1,
    );
    assert!(text.contains("name = \"Floor\""));
    std::fs::write(env.path("company.toml"), &text).unwrap();
    let out = env.run(&["init", "--register", "company.toml"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let columns = |s: &Schema, table: &str| -> Vec<String> {
        s.client()
            .query(
                "SELECT column_name::text FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2",
                &[&s.name(), &table],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    let made = Schema::new(&url, "declared_init");
    let out = dsr_on_postgres(env.dir.path(), &url, made.name(), &["init", "--register", "company.toml"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    assert!(columns(&made, "invoice").contains(&"order_number".to_owned()));
    assert!(columns(&made, "delivery_address").contains(&"floor".to_owned()));
    assert!(columns(&made, "server_log").is_empty(), "a built-in table the company does not use is left out");
    let out = dsr_on_postgres(env.dir.path(), &url, made.name(), &["register", "apply", "company.toml", "--yes"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let copied = Schema::new(&url, "declared_migrate");
    let out = env.run(&["migrate", "--from", env.db.to_str().unwrap(), "--to", &url, "--schema", copied.name()]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    assert!(columns(&copied, "invoice").contains(&"order_number".to_owned()));
}

/// A role the server does not have is named as such, with what to do about a role; the password
/// file is not what is wrong.
#[test]
fn a_role_the_server_does_not_have_is_not_taken_for_a_password_problem() {
    let Some(url) = support::postgres() else { return };
    let (scheme, rest) = url.split_once("://").unwrap();
    let host = rest.split_once('@').map_or(rest, |(_, h)| h);
    let stranger = format!("{scheme}://no_such_role_41@{host}");
    let dir = tempfile::tempdir().unwrap();
    let out = dsr_on_postgres(dir.path(), &stranger, "dsr", &["status"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("role \"no_such_role_41\" does not exist"), "{err}");
    assert!(err.contains("pg_hba.conf") && !err.contains("pgpass"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// A company schema the role may not use: named with what the role lacks (exit 15), not taken
/// for a schema without the table (exit 2).
#[test]
fn a_company_schema_the_role_has_no_rights_on_is_named_with_what_it_lacks() {
    let Some(url) = support::postgres() else { return };
    let env = support::Env::with_fixture("virtio");
    let s = Schema::new(&url, "schema_rights");
    migrate_into(&env, &url, s.name());
    let pid = std::process::id();
    let (shop, owner, role) = (format!("club_{pid}"), format!("clubowner_{pid}"), format!("officer_{pid}"));
    let mut c = s.client();
    c.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {shop} CASCADE; DROP ROLE IF EXISTS {role}; DROP ROLE IF EXISTS {owner};
         CREATE ROLE {owner}; CREATE ROLE {role} LOGIN IN ROLE dsr;
         CREATE SCHEMA {shop} AUTHORIZATION {owner};
         CREATE TABLE {shop}.locker (id bigint PRIMARY KEY, person_id bigint NOT NULL, locker_no text NOT NULL);
         ALTER TABLE {shop}.locker OWNER TO {owner};"
    ))
    .unwrap();
    let mut file = String::from_utf8(env.run(&["register", "export"]).stdout).unwrap();
    file.push_str(&format!(
        "\n[[database]]\nname = \"{shop}\"\npath = \"postgres:\"\n\n[[table]]\nname = \"locker\"\ndatabase = \"{shop}\"\ncategory = \"services\"\n\n[table.link]\ncolumn = \"person_id\"\nparent = \"person\"\n"
    ));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("club.toml"), &file).unwrap();
    let as_role = url.replacen("postgres://dsr@", &format!("postgres://{role}@"), 1);
    let out = pg_runner(&as_role, s.name(), dir.path(), None)(&["register", "apply", "club.toml", "--yes"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    // Applied by the owner of everything; then doctor, run as the officer's role, names the rights.
    let applied = pg_runner(&url, s.name(), dir.path(), None)(&["register", "apply", "club.toml", "--yes"]);
    let doctor = pg_runner(&as_role, s.name(), dir.path(), None)(&["--json", "doctor"]);
    c.batch_execute(&format!("DROP SCHEMA {shop} CASCADE; DROP ROLE {role}; DROP ROLE {owner};")).unwrap();
    assert!(applied.status.success(), "{}", String::from_utf8_lossy(&applied.stderr));
    assert_eq!(doctor.status.code(), Some(24), "{}", String::from_utf8_lossy(&doctor.stderr));
    let found: serde_json::Value = serde_json::from_slice(&doctor.stdout).unwrap();
    let findings = found["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{found}");
    assert_eq!((findings[0]["check"].as_str(), findings[0]["table"].as_str()), (Some("database"), Some("locker")));
    assert_eq!(out.status.code(), Some(15), "{err}");
    support::assert_one_line_error(&out);
    assert!(err.contains(&format!("table {shop}.locker is there, but the role has no USAGE on the schema")), "{err}");
}

/// VACUUM skips, with only a server warning, a table whose owner the role is not: an erasure by
/// such a role says which tables keep dead rows with the erased values (exit 23).
#[test]
fn an_erasure_by_a_role_that_owns_no_table_names_what_it_could_not_vacuum() {
    let Some(url) = support::postgres() else { return };
    let env = support::Env::with_fixture("virtio");
    let id = env.verified("erase", &["--email", "jan.devries@example.nl"]);
    let s = Schema::new(&url, "not_owner");
    migrate_into(&env, &url, s.name());
    let role = format!("tenant_{}", std::process::id());
    let mut c = s.client();
    c.batch_execute(&format!(
        "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN;
         GRANT USAGE ON SCHEMA {0} TO {role}; GRANT ALL ON ALL TABLES IN SCHEMA {0} TO {role};
         GRANT ALL ON ALL SEQUENCES IN SCHEMA {0} TO {role};",
        s.name()
    ))
    .unwrap();
    let as_role = url.replacen("postgres://dsr@", &format!("postgres://{role}@"), 1);
    let dir = tempfile::tempdir().unwrap();
    // Doctor names what the role does not own before any erasure finds it.
    let doctor = pg_runner(&as_role, s.name(), dir.path(), None)(&["doctor"]);
    let said = String::from_utf8_lossy(&doctor.stdout).into_owned();
    assert_eq!(doctor.status.code(), Some(24), "{said}");
    assert!(said.contains(&format!("the role {role} dsr connects as does not own")), "{said}");
    let out = pg_runner(&as_role, s.name(), dir.path(), None)(&["erase", &id, "--yes"]);
    c.batch_execute(&format!("DROP OWNED BY {role}; DROP ROLE {role};")).unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(23), "{err}");
    assert!(err.contains("email_address") && err.contains("which the role dsr connects as does not own"), "{err}");
    assert_eq!(
        err.matches("which the role dsr connects as does not own").count(),
        1,
        "said once for all the tables: {err}"
    );
    let left: i64 = c
        .query_one(
            &format!("SELECT count(*) FROM {}.email_address WHERE address_norm = 'jan.devries@example.nl'", s.name()),
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "the erasure itself is committed");
}
