//! The company's SQLite files beside a PostgreSQL store (issue 16; `store::postgres::beside`):
//! the webshop's tables and people in the application's own file, dsr's records on the server.
//! Every right reads and changes the file as on a SQLite store, with the same forensic guarantee.

use serde_json::Value;

use crate::attached::{holds, placed_in_shop, shop_count, SANNE};
use crate::support::{self, assert_one_line_error, stderr, Env};

/// A schema of the test's own on the test server, dropped at the end.
struct Schema {
    url: String,
    name: String,
}

impl Schema {
    fn new(url: &str, label: &str) -> Schema {
        let s = Schema { url: url.to_owned(), name: format!("b_{label}_{}", std::process::id()) };
        s.drop_schema();
        s
    }
    fn client(&self) -> postgres::Client {
        dsr::store::postgres::Target::parse(&self.url, &self.name).unwrap().connect().unwrap()
    }
    fn drop_schema(&self) {
        let _ = self.client().batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
    }
    fn one(&self, sql: &str) -> String {
        let mut c = self.client();
        c.batch_execute(&format!("SET search_path TO {}", self.name)).unwrap();
        c.query_one(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        self.drop_schema();
    }
}

/// The webshop's database `shop.sqlite` and a new PostgreSQL store made from the webshop's
/// company file with every table placed in it; `env` runs dsr on the server's store.
fn shop_beside(url: &str, label: &str) -> (Env, Schema) {
    let mut env = Env::with_fixture("webshop");
    std::fs::rename(&env.db, env.path("shop.sqlite")).unwrap();
    application_only(&env.path("shop.sqlite"));
    std::fs::write(env.path("company.toml"), placed_in_shop(None)).unwrap();
    let schema = Schema::new(url, label);
    env.db = url.into();
    env.pg_schema = Some(schema.name.clone());
    let out = env.run(&["init", "--register", "company.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    (env, schema)
}

/// Leave in the shop's file (made as a dsr store) only the application's tables: those of the
/// map and those they refer to. dsr's records (requests, recipients, objections) are then only on
/// the server, so a statement over the file that read them there would fail instead of reading a
/// stale copy.
fn application_only(file: &std::path::Path) {
    let map: toml::Table = placed_in_shop(None).parse().unwrap();
    let mut keep: Vec<String> =
        map["table"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect();
    let conn = rusqlite::Connection::open(file).unwrap();
    let mut i = 0;
    while i < keep.len() {
        let mut stmt = conn.prepare("SELECT \"table\" FROM pragma_foreign_key_list(?1)").unwrap();
        let parents: Vec<String> = stmt.query_map([&keep[i]], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
        keep.extend(parents.into_iter().filter(|p| !keep.contains(p)).collect::<Vec<_>>());
        i += 1;
    }
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    for t in tables.iter().filter(|t| !keep.contains(t)) {
        conn.execute_batch(&format!("DROP TABLE \"{t}\"")).unwrap();
    }
    for gone in ["request", "recipient", "objection", "restriction", "audit_log"] {
        assert!(!keep.iter().any(|k| k == gone), "{gone} is kept: {keep:?}");
    }
}

#[test]
fn access_rectify_and_export_work_on_the_companys_file_and_dsr_records_stay_on_the_server() {
    let Some(url) = support::postgres() else { return };
    let (env, s) = shop_beside(&url, "access");
    let (found, code): (Value, i32) = env.json(&["lookup", "--email", "Sanne.DeJong@example.nl"]);
    assert_eq!(code, 3, "the web shop compares the local part exactly: {found}");
    assert_eq!(found["in_another_case"], 1, "{found}");
    let id = env.verified("access", &["--email", SANNE]);
    let (answer, code): (Value, i32) = env.json(&["access", &id]);
    assert_eq!(code, 0, "{answer}");
    assert_eq!(support::answer_rows(&answer, "shop_order").len(), 2, "{answer}");
    assert_eq!(support::answer_rows(&answer, "order_line").len(), 3);
    assert!(answer["recipients"].as_array().unwrap().iter().any(|r| r["code"] == "postnl"));
    assert_eq!(s.one("SELECT count(*)::text FROM request"), "1");
    assert_eq!(shop_count(&env, "SELECT count(*) FROM sqlite_schema WHERE name IN ('request', 'audit_log')"), 0);
    let id = env.verified("rectify", &["--customer", "FO-100009", "--set", "delivery_postal_code=2312 KP"]);
    let (done, code): (Value, i32) = env.json(&["rectify", &id, "--yes"]);
    assert_eq!(code, 0, "{done}");
    assert_eq!(
        shop_count(&env, "SELECT count(*) FROM delivery_address WHERE customer_id = 109 AND postal_code = '2312 KP'"),
        1
    );
    // A batch export reads the file through sessions of its own.
    std::fs::write(
        env.path("batch.csv"),
        "customer,verified_by,reference\nFO-100001,portal-session,b1\nFO-100002,portal-session,b2\n",
    )
    .unwrap();
    let (summary, code): (Value, i32) = env.json(&["export", "--batch", "batch.csv", "--out-dir", "out"]);
    assert_eq!(code, 0, "{summary}");
    let archives = std::fs::read_dir(env.path("out")).unwrap().count();
    assert!(archives >= 2, "{summary}");
    env.dsr().args(["audit", "verify"]).assert().success();
}

#[test]
fn erasure_in_the_companys_file_beside_a_postgresql_store_leaves_no_byte_of_the_erased_values() {
    let Some(url) = support::postgres() else { return };
    for mode in ["WAL", "DELETE"] {
        let (env, s) = shop_beside(&url, &format!("erase_{}", mode.to_lowercase()));
        let db = env.path("shop.sqlite");
        let conn = rusqlite::Connection::open(&db).unwrap();
        let set: String = conn.query_row(&format!("PRAGMA journal_mode = {mode}"), [], |r| r.get(0)).unwrap();
        assert_eq!(set, mode.to_lowercase());
        drop(conn);
        let erased = ["sanne.dejong@example.nl", "3SFOOL001052019", "Na 1500 km nog geen lekke band", "Brooks-zadel"];
        for v in erased {
            assert!(holds(&db, v), "{v} is in the database before");
        }
        let id = env.verified("erase", &["--email", SANNE]);
        let (done, code): (Value, i32) = env.json(&["erase", &id, "--yes"]);
        assert_eq!(code, 0, "{done}");
        assert_eq!(shop_count(&env, "SELECT count(*) FROM person WHERE id = 1"), 0);
        assert_eq!(
            shop_count(&env, "SELECT count(*) FROM shop_invoice WHERE invoice_number IN ('FOF-70033', 'FOF-70036') AND customer_id IS NULL"),
            2,
            "the invoices stay, detached, for the fiscal hold"
        );
        for file in ["shop.sqlite", "shop.sqlite-wal", "shop.sqlite-journal"] {
            for v in erased {
                assert!(!holds(&env.path(file), v), "{mode}: {file} still holds {v}");
            }
        }
        assert_eq!(s.one(&format!("SELECT state FROM request WHERE id = '{id}'")), "completed");
        let (_, code): (Value, i32) = env.json(&["lookup", "--email", SANNE]);
        assert_eq!(code, 3);
        env.dsr().args(["audit", "verify"]).assert().success();
        let out = env.run(&["doctor"]);
        assert!(out.status.success(), "{}{}", support::stdout(&out), stderr(&out));
    }
}

#[test]
fn retention_beside_a_postgresql_store_removes_what_it_removes_in_a_sqlite_store() {
    let Some(url) = support::postgres() else { return };
    let (env, _s) = shop_beside(&url, "retention");
    let same = Env::with_fixture("webshop");
    // A restriction that keeps a person's data, and a request waiting for its answer: both are
    // dsr's records on the server, which the rules over the file leave alone alike.
    for e in [&env, &same] {
        let id = e.verified("restrict", &["--customer", "FO-100004", "--ground", "legal-claims"]);
        let (v, code): (Value, i32) = e.json(&["restrict", &id, "--yes"]);
        assert_eq!(code, 0, "{v}");
        e.open("access", &["--customer", "FO-100006"]);
    }
    let run = |e: &Env| -> Vec<(String, i64)> {
        let out = e.run(&["--json", "retention", "run"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                assert!(r["error"].is_null(), "{r}");
                (r["rule"].as_str().unwrap().to_owned(), r["removed"].as_i64().unwrap())
            })
            .collect()
    };
    let (beside, own) = (run(&env), run(&same));
    assert_eq!(beside, own);
    assert!(beside.iter().any(|(_, n)| *n > 0), "{beside:?}");
    for table in ["person", "customer", "email_address", "consent", "shop_order", "shop_invoice", "support_mail"] {
        let theirs: i64 = same.sql().query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).unwrap();
        assert_eq!(shop_count(&env, &format!("SELECT count(*) FROM {table}")), theirs, "{table}");
    }
}

#[test]
fn a_locked_missing_or_refusing_company_file_is_reported_and_nothing_is_half_done() {
    let Some(url) = support::postgres() else { return };
    let (env, s) = shop_beside(&url, "faults");
    let id = env.verified("erase", &["--email", SANNE]);
    let state = || s.one(&format!("SELECT state FROM request WHERE id = '{id}'"));
    // The application holds the file's write lock: exit 13 after the wait, nothing changed.
    let app = rusqlite::Connection::open(env.path("shop.sqlite")).unwrap();
    app.execute_batch("BEGIN IMMEDIATE; UPDATE shop_order SET note = 'busy' WHERE id = 12;").unwrap();
    let out = env.run(&["erase", &id, "--yes"]);
    assert_eq!(out.status.code(), Some(13), "{}", stderr(&out));
    assert_one_line_error(&out);
    assert!(stderr(&out).contains("company database"), "{}", stderr(&out));
    app.execute_batch("ROLLBACK").unwrap();
    assert_eq!((shop_count(&env, "SELECT count(*) FROM person WHERE id = 1"), state()), (1, "verified".into()));
    // Its trigger refuses a delete the plan makes: exit 11, rolled back on both sides.
    app.execute_batch(
        "CREATE TRIGGER keep_shipments BEFORE DELETE ON shipment BEGIN SELECT RAISE(ABORT, 'shipments are kept by the warehouse app'); END;",
    )
    .unwrap();
    let out = env.run(&["-q", "erase", &id, "--yes"]);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert_one_line_error(&out);
    assert!(stderr(&out).contains("shipments are kept by the warehouse app"), "{}", stderr(&out));
    assert_eq!((shop_count(&env, "SELECT count(*) FROM person WHERE id = 1"), state()), (1, "verified".into()));
    app.execute_batch("DROP TRIGGER keep_shipments").unwrap();
    // A column the map names renamed: refused at open, naming it.
    app.execute_batch("ALTER TABLE shop_order RENAME COLUMN customer_id TO klant_id").unwrap();
    let out = env.run(&["lookup", "--email", SANNE]);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert!(stderr(&out).contains("table shop_order has no column customer_id"), "{}", stderr(&out));
    app.execute_batch("ALTER TABLE shop_order RENAME COLUMN klant_id TO customer_id").unwrap();
    drop(app);
    // The file gone: exit 10, and no empty file made in its place.
    std::fs::rename(env.path("shop.sqlite"), env.path("moved.sqlite")).unwrap();
    let out = env.run(&["erase", &id, "--yes"]);
    assert_eq!(out.status.code(), Some(10), "{}", stderr(&out));
    assert_one_line_error(&out);
    assert!(stderr(&out).contains("company database shop"), "{}", stderr(&out));
    assert!(!env.path("shop.sqlite").exists());
    std::fs::rename(env.path("moved.sqlite"), env.path("shop.sqlite")).unwrap();
    let out = env.run(&["erase", &id, "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!((shop_count(&env, "SELECT count(*) FROM person WHERE id = 1"), state()), (0, "completed".into()));
}

#[test]
fn import_and_check_work_on_the_companys_file_beside_a_postgresql_store() {
    let Some(url) = support::postgres() else { return };
    let (env, _s) = shop_beside(&url, "import");
    std::fs::write(
        env.path("addresses.csv"),
        "id,customer_id,recipient_name,street,house_number,postal_code,city,country,is_default,created_at\n\
         701,101,Sanne de Jong,Stationsstraat,1,5038 EA,Tilburg,NL,0,2026-11-30 09:00\n",
    )
    .unwrap();
    let (v, code): (Value, i32) =
        env.json(&["import", "delivery_address", "addresses.csv", "--source-tz", "Europe/Amsterdam"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["import"]["added"], 1);
    assert_eq!(
        shop_count(
            &env,
            "SELECT count(*) FROM delivery_address WHERE id = 701 AND created_at = '2026-11-30T08:00:00Z'"
        ),
        1
    );
    // An objector's opt-in stays off, and rows the source no longer has go, as on SQLite.
    let same = Env::with_fixture("webshop");
    let rows = "id,person_id,address,is_primary,newsletter_opt_in,created_at\n\
                31,3,noor.hendriks@example.org,1,1,2026-04-06T00:31:17Z\n";
    let mut imported = Vec::new();
    for e in [&env, &same] {
        let id = e.verified("object", &["--email", "noor.hendriks@example.org", "--purpose", "newsletter"]);
        assert!(e.run(&["object", &id, "--yes"]).status.success());
        std::fs::write(e.path("emails.csv"), rows).unwrap();
        let (v, code): (Value, i32) = e.json(&["import", "email_address", "emails.csv", "--delete-missing"]);
        assert_eq!(code, 0, "{v}");
        imported.push(v["import"].clone());
    }
    assert_eq!(imported[0], imported[1]);
    assert!(imported[0]["removed"].as_i64().unwrap() > 0, "{}", imported[0]);
    assert_eq!(shop_count(&env, "SELECT newsletter_opt_in FROM email_address WHERE id = 31"), 0);
    // The processing check reads the file's addresses and consents, the same as on SQLite.
    let input = format!("{SANNE}\nnobody@example.org\njoost.dekker@example.nl\n");
    let check = |e: &Env| {
        let out =
            e.dsr().args(["check", "--purpose", "newsletter", "--stdin"]).write_stdin(input.clone()).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    assert_eq!(check(&env), check(&same));
}

#[test]
fn a_map_with_tables_both_on_the_server_and_in_a_file_is_refused_naming_them() {
    let Some(url) = support::postgres() else { return };
    let mut env = Env::with_fixture("webshop");
    std::fs::rename(&env.db, env.path("shop.sqlite")).unwrap();
    std::fs::write(env.path("company.toml"), placed_in_shop(Some("support_mail"))).unwrap();
    let s = Schema::new(&url, "mixed");
    env.db = url.clone().into();
    env.pg_schema = Some(s.name.clone());
    let out = env.run(&["init", "--register", "company.toml"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("table \"support_mail\" would be on the PostgreSQL server"), "{err}");
    let made = s.one(&format!("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = '{}')::text", s.name));
    assert_eq!(made, "false");
}

#[test]
fn register_export_and_apply_beside_a_postgresql_store_work_without_the_file_and_repoint_it() {
    let Some(url) = support::postgres() else { return };
    let (env, _s) = shop_beside(&url, "apply");
    std::fs::rename(env.path("shop.sqlite"), env.path("moved.sqlite")).unwrap();
    assert_eq!(env.run(&["lookup", "--email", SANNE]).status.code(), Some(10));
    // The register commands read the map itself: its file need not be there.
    let out = env.run(&["register", "export"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let export = support::stdout(&out);
    assert!(export.contains("[[database]]\nname = \"shop\"\npath = \"shop.sqlite\""), "{export}");
    // A file naming a place where nothing is: refused as the file's problem, nothing changed.
    std::fs::write(env.path("nowhere.toml"), export.replace("shop.sqlite", "nowhere.sqlite")).unwrap();
    let out = env.run(&["register", "apply", "nowhere.toml", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("database: ") && stderr(&out).contains("does not exist"), "{}", stderr(&out));
    // Pointed at the file's new place, the store works on it again.
    std::fs::write(env.path("moved.toml"), export.replace("shop.sqlite", "moved.sqlite")).unwrap();
    let out = env.run(&["register", "apply", "moved.toml", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (found, code): (Value, i32) = env.json(&["lookup", "--email", SANNE]);
    assert_eq!(code, 0, "{found}");
    // A change that would leave a table on the server is refused, naming it.
    let mixed = std::fs::read_to_string(env.path("moved.toml")).unwrap().replacen("database = \"shop\"\n", "", 1);
    std::fs::write(env.path("mixed.toml"), mixed).unwrap();
    let out = env.run(&["register", "apply", "mixed.toml", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("would be on the PostgreSQL server"), "{}", stderr(&out));
}

#[test]
fn a_sqlite_store_with_its_companys_file_is_migrated_to_postgresql_and_works_on_the_file_there() {
    let Some(url) = support::postgres() else { return };
    let sqlite = crate::attached::shop();
    let id = sqlite.verified("access", &["--email", SANNE]);
    let s = Schema::new(&url, "migrated");
    // Run from another directory: the file's relative path would name nothing there.
    let mut elsewhere = Env::new();
    elsewhere.db = url.clone().into();
    elsewhere.pg_schema = Some(s.name.clone());
    let out = elsewhere.run(&["migrate", "--from", sqlite.db.to_str().unwrap(), "--to", &url, "--schema", &s.name]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let file = std::fs::canonicalize(sqlite.path("shop.sqlite")).unwrap();
    assert!(stderr(&out).contains(&format!("named by its absolute path {}", file.display())), "{}", stderr(&out));
    let export = support::stdout(&elsewhere.run(&["register", "export"]));
    assert!(export.contains(&format!("path = \"{}\"", file.display())), "{export}");
    let (answer, code): (Value, i32) = elsewhere.json(&["access", &id]);
    assert_eq!(code, 0, "{answer}");
    assert_eq!(support::answer_rows(&answer, "shop_order").len(), 2, "{answer}");
    elsewhere.dsr().args(["audit", "verify"]).assert().success();
    // A store whose map keeps a table in the store itself is not copied: it could not be worked on.
    let mut mixed = Env::with_fixture("webshop");
    std::fs::rename(&mixed.db, mixed.path("shop.sqlite")).unwrap();
    // The mail moves to the store: the shop's file no longer has it (left there, its rows of
    // mapped people would be a table the map leaves out).
    rusqlite::Connection::open(mixed.path("shop.sqlite")).unwrap().execute_batch("DROP TABLE support_mail").unwrap();
    std::fs::write(mixed.path("company.toml"), placed_in_shop(Some("support_mail"))).unwrap();
    let out = mixed.run(&["init", "--register", "company.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let t = Schema::new(&url, "mixed_migrate");
    let from = mixed.db.to_str().unwrap().to_owned();
    mixed.db = url.clone().into();
    let out = mixed.run(&["migrate", "--from", &from, "--to", &url, "--schema", &t.name]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("table \"support_mail\" would be on the PostgreSQL server"), "{}", stderr(&out));
}

#[test]
fn a_killed_erase_due_beside_a_postgresql_store_leaves_each_person_whole_or_erased_and_the_next_runs_complete() {
    let Some(url) = support::postgres() else { return };
    let (env, s) = shop_beside(&url, "killed");
    // Approved erasures wait for cron.
    let conn = rusqlite::Connection::open(env.path("shop.sqlite")).unwrap();
    let addresses: Vec<String> = conn
        .prepare("SELECT address FROM email_address WHERE is_primary = 1 ORDER BY person_id LIMIT 14")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    drop(conn);
    let mut people = Vec::new();
    for address in addresses {
        let id = env.verified("erase", &["--email", &address]);
        if env.run(&["erase", &id, "--approve"]).status.success() {
            people.push((id, address));
        }
    }
    assert!(people.len() >= 8, "{people:?}");
    // Each request is carried out whole (answered, the address gone from the file) or not at
    // all (verified, the address there); or, killed between the two commits, the file's part
    // is done and the request still verified (docs/postgresql.md), which the next run records.
    let consistent = |when: &str| {
        for (id, address) in &people {
            let state =
                s.one(&format!("SELECT state || (answered_at IS NOT NULL)::text FROM request WHERE id = '{id}'"));
            let left = shop_count(&env, &format!("SELECT count(*) FROM email_address WHERE address = '{address}'"));
            let whole = state == "verifiedfalse";
            let erased = state.ends_with("true") && left == 0;
            assert!(whole || erased, "{when}: {id} is half done: {state} {left}");
        }
    };
    for ms in [60u64, 150, 300, 500] {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("dsr"))
            .current_dir(env.dir.path())
            .env_remove("DSR_DB")
            .env_remove("DSR_NOW")
            .env("DSR_PG_SCHEMA", &s.name)
            .args(["--db", &url, "erase", "--due"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        consistent(&format!("killed after {ms} ms"));
    }
    // The killed runs' locks went with their sessions and processes: the next runs carry out
    // every plan left (one the data changed under is made again and approved again).
    for round in 0..4 {
        let (sum, code): (Value, i32) = env.json(&["erase", "--due"]);
        assert!(matches!(code, 0 | 21), "{sum}");
        consistent(&format!("after run {round}"));
        let waiting: Vec<String> = sum["waiting_for_approval"]
            .as_array()
            .into_iter()
            .chain(sum["replanned"].as_array())
            .flatten()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        if waiting.is_empty() && code == 0 {
            break;
        }
        for id in waiting {
            assert!(env.run(&["erase", &id, "--approve"]).status.success());
        }
    }
    for (id, address) in &people {
        let answered = s.one(&format!("SELECT (answered_at IS NOT NULL)::text FROM request WHERE id = '{id}'"));
        assert_eq!(answered, "true", "{id}");
        assert_eq!(shop_count(&env, &format!("SELECT count(*) FROM email_address WHERE address = '{address}'")), 0);
    }
    env.dsr().args(["audit", "verify"]).assert().success();
    for v in people.iter().map(|(_, a)| a) {
        assert!(!holds(&env.path("shop.sqlite"), v) && !holds(&env.path("shop.sqlite-wal"), v), "{v}");
    }
}
