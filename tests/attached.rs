//! The company's own database worked on in place (`[[database]]`, design §10): the webshop's
//! tables and people kept in a separate SQLite file, the application's, which the data map names
//! and dsr attaches. Every right reads and changes that file; dsr's own records stay in its store.

use std::path::Path;

use serde_json::Value;

use crate::support::{answer_rows, assert_one_line_error, stderr, Env};

pub(crate) const SANNE: &str = "sanne.dejong@example.nl";

/// The webshop's database (`shop.sqlite`, its people and tables, loaded from the fixture) and a
/// new dsr store beside it made from the webshop's company file with every table placed in it.
pub(crate) fn shop() -> Env {
    let env = Env::with_fixture("webshop");
    std::fs::rename(&env.db, env.path("shop.sqlite")).unwrap();
    std::fs::write(env.path("company.toml"), placed_in_shop(None)).unwrap();
    let out = env.dsr().args(["init", "--register", "company.toml"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    env
}

/// The webshop's company file with every table (but `except`, kept in dsr's store with its
/// declared columns) placed in the shop's database `shop.sqlite`.
pub(crate) fn placed_in_shop(except: Option<&str>) -> String {
    let text = std::fs::read_to_string(crate::support::fixture_dir("webshop").join("company.toml")).unwrap();
    let mut file: toml::Table = text.parse().unwrap();
    let mut db = toml::Table::new();
    db.insert("name".into(), "shop".into());
    db.insert("path".into(), "shop.sqlite".into());
    file.insert("database".into(), toml::Value::Array(vec![toml::Value::Table(db)]));
    for t in file["table"].as_array_mut().unwrap() {
        let t = t.as_table_mut().unwrap();
        if t["name"].as_str() != except {
            t.insert("database".into(), "shop".into());
            t.remove("column");
        }
    }
    toml::to_string(&file).unwrap()
}

pub(crate) fn shop_count(env: &Env, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(env.path("shop.sqlite")).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Whether a file (absent: no) holds the bytes.
pub(crate) fn holds(path: &Path, needle: &str) -> bool {
    std::fs::read(path).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
}

#[test]
fn dsr_store_holds_no_people_and_the_map_round_trips_with_its_database() {
    let env = shop();
    assert_eq!(env.sql().query_row("SELECT count(*) FROM person", [], |r| r.get::<_, i64>(0)).unwrap(), 0);
    // Of the built-in company tables dsr's store keeps only what its own records refer to (the
    // people, as anchors) and write: the company's tables are in its database.
    let builtin: Vec<String> = {
        let conn = env.sql();
        let mut stmt = conn
            .prepare(
                "SELECT name FROM sqlite_schema WHERE type = 'table' AND name IN
                 ('person', 'customer', 'email_address', 'phone_number', 'consent', 'cookie', 'invoice', 'server_log', 'supplementary_statement')
                 ORDER BY name",
            )
            .unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    };
    assert_eq!(builtin, ["person", "supplementary_statement"]);
    // The exported file makes another store over the same database, which exports the same file.
    let export = env.export_round_trip("again.toml");
    assert!(export.contains("[[database]]\nname = \"shop\"\npath = \"shop.sqlite\""), "{export}");
    assert!(export.contains("database = \"shop\""), "{export}");
    let out = env.run(&["register", "check", "again.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn access_reads_the_company_database() {
    let env = shop();
    let id = env.verified("access", &["--email", SANNE]);
    let (answer, code): (Value, i32) = env.json(&["access", &id]);
    assert_eq!(code, 0, "{answer}");
    assert_eq!(answer_rows(&answer, "shop_order").len(), 2, "{answer}");
    assert_eq!(answer_rows(&answer, "order_line").len(), 3);
    assert_eq!(answer_rows(&answer, "product_review").len(), 1);
    let recipients = answer["recipients"].as_array().unwrap();
    assert!(recipients.iter().any(|r| r["code"] == "postnl"), "{recipients:?}");
    // dsr's records are in its store, none in the company's file.
    let requests: i64 = env.sql().query_row("SELECT count(*) FROM request", [], |r| r.get(0)).unwrap();
    assert_eq!(requests, 1);
    assert_eq!(shop_count(&env, "SELECT count(*) FROM request"), 0);
}

#[test]
fn rectify_changes_the_company_database() {
    let env = shop();
    let id = env.verified("rectify", &["--customer", "FO-100009", "--set", "delivery_postal_code=2312 KP"]);
    let (done, code): (Value, i32) = env.json(&["rectify", &id, "--yes"]);
    assert_eq!(code, 0, "{done}");
    assert_eq!(
        shop_count(&env, "SELECT count(*) FROM delivery_address WHERE customer_id = 109 AND postal_code = '2312 KP'"),
        1
    );
    let told: Vec<&str> =
        done["recipients"].as_array().unwrap().iter().map(|r| r["recipient"].as_str().unwrap()).collect();
    assert_eq!(told, ["postnl"]);
}

#[test]
fn erasure_deletes_in_a_company_database_in_wal_mode_and_leaves_no_byte_of_the_erased_values() {
    erase_and_scan("WAL");
}

#[test]
fn erasure_deletes_in_a_company_database_with_a_rollback_journal_and_leaves_no_byte_of_the_erased_values() {
    erase_and_scan("DELETE");
}

/// Erase Sanne with the application's database in a journal mode, then scan every file.
fn erase_and_scan(mode: &str) {
    let env = shop();
    let db = env.path("shop.sqlite");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let set: String = conn.query_row(&format!("PRAGMA journal_mode = {mode}"), [], |r| r.get(0)).unwrap();
    assert_eq!(set, mode.to_lowercase());
    drop(conn);
    // Her address, a parcel's tracking number, her review, her mail (the kept invoices carry
    // the order numbers, her name and the billing address, as the fiscal hold requires).
    let erased = ["sanne.dejong@example.nl", "3SFOOL001052019", "Na 1500 km nog geen lekke band", "Brooks-zadel"];
    for v in erased {
        assert!(holds(&db, v), "{v} is in the database before");
    }
    let id = env.verified("erase", &["--email", SANNE]);
    let (done, code): (Value, i32) = env.json(&["erase", &id, "--yes"]);
    assert_eq!(code, 0, "{done}");
    assert_eq!(shop_count(&env, "SELECT count(*) FROM person WHERE id = 1"), 0);
    assert_eq!(shop_count(&env, "SELECT count(*) FROM shop_order WHERE customer_id = 101"), 0);
    assert_eq!(
        shop_count(&env, "SELECT count(*) FROM shop_invoice WHERE invoice_number IN ('FOF-70033', 'FOF-70036') AND customer_id IS NULL"),
        2,
        "the invoices stay, detached, for the fiscal hold"
    );
    for file in ["shop.sqlite", "shop.sqlite-wal", "shop.sqlite-journal", "dsr.sqlite", "dsr.sqlite-wal"] {
        for v in erased {
            assert!(!holds(&env.path(file), v), "{file} still holds {v}");
        }
    }
    let (_, code): (Value, i32) = env.json(&["lookup", "--email", SANNE]);
    assert_eq!(code, 3);
    env.dsr().args(["audit", "verify"]).assert().success();
}

#[test]
fn a_missing_or_changed_database_is_refused_naming_it() {
    let env = shop();
    // A column the map names renamed by the application.
    let conn = rusqlite::Connection::open(env.path("shop.sqlite")).unwrap();
    conn.execute_batch("ALTER TABLE shop_order RENAME COLUMN customer_id TO klant_id").unwrap();
    let out = env.run(&["lookup", "--email", SANNE]);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert_one_line_error(&out);
    let err = stderr(&out);
    assert!(
        err.contains("company database shop") && err.contains("table shop_order has no column customer_id"),
        "{err}"
    );
    conn.execute_batch("ALTER TABLE shop_order RENAME COLUMN klant_id TO customer_id").unwrap();
    // A table the map names renamed: only the map's tables are read, and a missing one is named.
    conn.execute_batch("ALTER TABLE shop_order RENAME TO bestelling").unwrap();
    let out = env.run(&["lookup", "--email", SANNE]);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert_one_line_error(&out);
    assert!(
        stderr(&out).contains("company database shop") && stderr(&out).contains("no table shop_order"),
        "{}",
        stderr(&out)
    );
    conn.execute_batch("ALTER TABLE bestelling RENAME TO shop_order").unwrap();
    // A mapped table made a view of another, or rebuilt WITHOUT ROWID: dsr reads and removes
    // rows by rowid, so each is refused at open, naming it (an erasure failed with exit 1).
    let schema: String =
        conn.query_row("SELECT sql FROM sqlite_schema WHERE name = 'product_review'", [], |r| r.get(0)).unwrap();
    for (change, what) in [
        ("ALTER TABLE product_review RENAME TO review_data; CREATE VIEW product_review AS SELECT * FROM review_data;", "a view"),
        ("DROP VIEW product_review; ALTER TABLE review_data RENAME TO product_review;", ""),
        ("ALTER TABLE product_review RENAME TO review_data;", "a table WITHOUT ROWID"),
    ] {
        conn.execute_batch(change).unwrap();
        if what.is_empty() {
            continue;
        }
        if what.contains("WITHOUT") {
            conn.execute_batch(&format!("{}, WITHOUT ROWID; INSERT INTO product_review SELECT * FROM review_data;", schema))
                .unwrap();
        }
        let out = env.run(&["lookup", "--email", SANNE]);
        assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
        assert_one_line_error(&out);
        assert!(stderr(&out).contains(&format!("its product_review is {what}")), "{}", stderr(&out));
    }
    conn.execute_batch("DROP TABLE product_review; ALTER TABLE review_data RENAME TO product_review;").unwrap();
    // A column the map's erasure detaches made NOT NULL by the application: named at open,
    // before an erasure would fail half-way with SQLite's constraint error.
    let rebuild = |sql: &str| {
        conn.execute_batch(&format!(
            "PRAGMA foreign_keys = OFF; PRAGMA legacy_alter_table = ON;
             ALTER TABLE shop_invoice RENAME TO invoice_old; {sql};
             INSERT INTO shop_invoice SELECT * FROM invoice_old; DROP TABLE invoice_old;"
        ))
        .unwrap()
    };
    let invoice: String =
        conn.query_row("SELECT sql FROM sqlite_schema WHERE name = 'shop_invoice'", [], |r| r.get(0)).unwrap();
    assert!(invoice.contains("customer_id INTEGER REFERENCES"), "{invoice}");
    rebuild(&invoice.replace("customer_id INTEGER REFERENCES", "customer_id INTEGER NOT NULL REFERENCES"));
    let out = env.run(&["lookup", "--email", SANNE]);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert_one_line_error(&out);
    assert!(stderr(&out).contains("column shop_invoice.customer_id is NOT NULL"), "{}", stderr(&out));
    rebuild(&invoice);
    drop(conn);
    // The file gone: ATTACH would make an empty one; dsr refuses and makes none.
    std::fs::rename(env.path("shop.sqlite"), env.path("moved.sqlite")).unwrap();
    let out = env.run(&["access", "--email", SANNE]);
    assert_eq!(out.status.code(), Some(10), "{}", stderr(&out));
    assert_one_line_error(&out);
    assert!(stderr(&out).contains("company database shop"), "{}", stderr(&out));
    assert!(!env.path("shop.sqlite").exists());
    // The map pointed at the new place with `register apply`, which works without the database.
    let text = std::fs::read_to_string(env.path("company.toml")).unwrap().replace("shop.sqlite", "moved.sqlite");
    std::fs::write(env.path("moved.toml"), text).unwrap();
    let out = env.run(&["register", "apply", "moved.toml", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = env.run(&["lookup", "--email", SANNE]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn register_check_names_a_database_problem() {
    let env = shop();
    let text = std::fs::read_to_string(env.path("company.toml")).unwrap();
    std::fs::write(env.path("gone.toml"), text.replace("shop.sqlite", "nowhere.sqlite")).unwrap();
    let out = env.run(&["register", "check", "gone.toml"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("database[0].path") && stderr(&out).contains("does not exist"), "{}", stderr(&out));
    // Named in full, with where a relative path is taken from.
    let gone = std::path::absolute(env.path("nowhere.sqlite")).unwrap();
    assert!(stderr(&out).contains(&format!("({})", gone.display())), "{}", stderr(&out));
    assert!(stderr(&out).contains("taken from the directory of the store, --db"), "{}", stderr(&out));
    std::fs::write(env.path("undeclared.toml"), text.replacen("database = \"shop\"", "database = \"billing\"", 1))
        .unwrap();
    let out = env.run(&["register", "check", "undeclared.toml"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("\"billing\" is not the name of a [[database]]"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("declares no columns"), "{}", stderr(&out));
    // A table the company's database does not have: its name, or its database, is wrong.
    std::fs::write(env.path("typo.toml"), text.replacen("name = \"shipment\"", "name = \"shipments\"", 1)).unwrap();
    let out = env.run(&["register", "check", "typo.toml"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("the company database shop has no table \"shipments\""), "{}", stderr(&out));
    // A table named like one of dsr's own records.
    std::fs::write(env.path("own.toml"), text.replacen("name = \"support_mail\"", "name = \"audit_log\"", 1)).unwrap();
    let out = env.run(&["register", "check", "own.toml"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("\"audit_log\" is the name of one of dsr's own tables"), "{}", stderr(&out));
    // The same file twice, however its path is written, or dsr's own store: SQLite would open
    // the file twice in one connection, and the second handle waited 5 s for the first's lock
    // and then reported the store busy (exit 13).
    let db = "[[database]]\nname = \"shop\"\npath = \"shop.sqlite\"\n";
    std::fs::hard_link(env.path("shop.sqlite"), env.path("hard.sqlite")).unwrap();
    std::fs::hard_link(env.path("dsr.sqlite"), env.path("own.sqlite")).unwrap();
    for (path, says) in [
        ("shop.sqlite", "the same file as database \"shop\""),
        ("./shop.sqlite", "the same file as the company database shop"),
        ("hard.sqlite", "the same file as the company database shop"),
        ("dsr.sqlite", "it is dsr's own store"),
        ("own.sqlite", "it is dsr's own store"),
    ] {
        let twice = text.replacen(db, &format!("{db}\n[[database]]\nname = \"again\"\npath = \"{path}\"\n"), 1);
        assert_ne!(twice, text);
        std::fs::write(env.path("twice.toml"), twice).unwrap();
        for args in [&["register", "check", "twice.toml"][..], &["register", "apply", "twice.toml", "--yes"]] {
            let out = env.run(args);
            assert_eq!(out.status.code(), Some(2), "{args:?} {path}: {}", stderr(&out));
            assert!(stderr(&out).contains(says), "{args:?} {path}: {}", stderr(&out));
        }
    }
    // A store whose map was changed behind dsr's back is refused at open (it was exit 13).
    env.sql().execute("UPDATE map_database SET path = 'dsr.sqlite'", []).unwrap();
    let out = env.run(&["lookup", "--email", SANNE]);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert_one_line_error(&out);
    assert!(stderr(&out).contains("it is dsr's own store"), "{}", stderr(&out));
}

#[test]
fn retention_removes_in_the_company_database_what_it_removes_in_a_store_of_its_own() {
    let env = shop();
    let same = Env::with_fixture("webshop");
    let run = |e: &Env| -> Value {
        let out = e.run(&["--json", "retention", "run"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let removed = |v: &Value| -> Vec<(String, i64)> {
        v["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["rule"].as_str().unwrap().to_owned(), r["removed"].as_i64().unwrap()))
            .collect()
    };
    let (attached, own) = (removed(&run(&env)), removed(&run(&same)));
    assert_eq!(attached, own);
    assert!(attached.iter().any(|(_, n)| *n > 0), "{attached:?}");
    for table in ["person", "customer", "email_address", "consent", "shop_order", "shop_invoice", "support_mail"] {
        let theirs: i64 = same.sql().query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).unwrap();
        assert_eq!(shop_count(&env, &format!("SELECT count(*) FROM {table}")), theirs, "{table}");
    }
}

#[test]
fn a_locked_company_database_is_reported_and_nothing_is_half_done() {
    let env = shop();
    let id = env.verified("erase", &["--email", SANNE]);
    let app = rusqlite::Connection::open(env.path("shop.sqlite")).unwrap();
    app.execute_batch("BEGIN IMMEDIATE; UPDATE shop_order SET note = 'busy' WHERE id = 12;").unwrap();
    let out = env.run(&["erase", &id, "--yes"]);
    assert_eq!(out.status.code(), Some(13), "{}", stderr(&out));
    assert_one_line_error(&out);
    // SQLite says only "database is locked"; the file is named, asked of each file after.
    let named =
        format!("the company database shop ({}) stayed locked by another process", env.path("shop.sqlite").display());
    assert!(stderr(&out).contains(&named), "{}", stderr(&out));
    app.execute_batch("ROLLBACK").unwrap();
    // Neither file changed: the person is there, the request still waits for its erasure.
    assert_eq!(shop_count(&env, "SELECT count(*) FROM person WHERE id = 1"), 1);
    let state: String = env.sql().query_row("SELECT state FROM request WHERE id = ?1", [&id], |r| r.get(0)).unwrap();
    assert_eq!(state, "verified");
    // A company database in rollback-journal mode held in an exclusive transaction cannot even
    // be read: named as the company's, not as the store.
    app.execute_batch(
        "PRAGMA journal_mode = DELETE; BEGIN EXCLUSIVE; UPDATE shop_order SET note = 'busy' WHERE id = 12;",
    )
    .unwrap();
    let out = env.run(&["erase", &id, "--yes"]);
    assert_eq!(out.status.code(), Some(13), "{}", stderr(&out));
    assert_one_line_error(&out);
    assert!(stderr(&out).contains("the company database shop ("), "{}", stderr(&out));
    assert!(!stderr(&out).contains("dsr: store "), "{}", stderr(&out));
    app.execute_batch("ROLLBACK").unwrap();
    let out = env.run(&["erase", &id, "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(shop_count(&env, "SELECT count(*) FROM person WHERE id = 1"), 0);
}

#[test]
fn a_company_database_whose_trigger_refuses_the_erasure_is_reported_and_nothing_is_done() {
    let env = shop();
    let id = env.verified("erase", &["--email", SANNE]);
    let app = rusqlite::Connection::open(env.path("shop.sqlite")).unwrap();
    app.execute_batch(
        "CREATE TRIGGER keep_shipments BEFORE DELETE ON shipment BEGIN SELECT RAISE(ABORT, 'shipments are kept by the warehouse app'); END;",
    )
    .unwrap();
    // (-q: the plan shown before it is applied is a status line)
    let out = env.run(&["-q", "erase", &id, "--yes"]);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert_one_line_error(&out);
    let err = stderr(&out);
    assert!(
        err.contains("company database refused") && err.contains("shipments are kept by the warehouse app"),
        "{err}"
    );
    assert_eq!(shop_count(&env, "SELECT count(*) FROM person WHERE id = 1"), 1);
    let state: String = env.sql().query_row("SELECT state FROM request WHERE id = ?1", [&id], |r| r.get(0)).unwrap();
    assert_eq!(state, "verified");
    app.execute_batch("DROP TRIGGER keep_shipments").unwrap();
    let out = env.run(&["erase", &id, "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(shop_count(&env, "SELECT count(*) FROM person WHERE id = 1"), 0);
}

#[test]
fn a_table_the_map_does_not_name_that_refers_to_erased_rows_is_reported_and_nothing_is_done() {
    let env = shop();
    let id = env.verified("erase", &["--email", SANNE]);
    let app = rusqlite::Connection::open(env.path("shop.sqlite")).unwrap();
    app.execute_batch(
        "CREATE TABLE loyalty_card (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customer (id));
         INSERT INTO loyalty_card SELECT 1, id FROM customer WHERE person_id = 1;",
    )
    .unwrap();
    let out = env.run(&["-q", "erase", &id, "--yes"]);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert_one_line_error(&out);
    let err = stderr(&out);
    assert!(
        err.contains("loyalty_card.customer_id (1 row) still refers to them")
            && err.contains("dsr register apply FILE"),
        "{err}"
    );
    assert!(!err.contains("Error code"), "{err}");
    assert_eq!(shop_count(&env, "SELECT count(*) FROM person WHERE id = 1"), 1);
    let state: String = env.sql().query_row("SELECT state FROM request WHERE id = ?1", [&id], |r| r.get(0)).unwrap();
    assert_eq!(state, "verified");
}

#[test]
fn import_loads_into_the_company_database() {
    let env = shop();
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
        1,
        "in the company's file"
    );
    assert_eq!(
        env.count("SELECT count(*) FROM sqlite_schema WHERE name = 'delivery_address'"),
        0,
        "dsr's store has no such table"
    );
}

/// A table of dsr's store under a parent in the company's database (the shop's customers): no
/// foreign key can cross the two files, so the import checks the link itself. A row whose
/// parent is not there (an erased person's, a wrong key) is refused, naming the column.
/// The webshop's store made the shop's own file, with one table moved out of it into a new dsr
/// store beside it (the rest attached in place): that table's rows as CSV (header, lines).
fn moved_to_store(env: &Env, table: &str) -> (String, Vec<String>) {
    let rows = taken_out(env, table);
    std::fs::write(env.path("company.toml"), placed_in_shop(Some(table))).unwrap();
    let out = env.dsr().args(["init", "--register", "company.toml"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    rows
}

/// The webshop's store made the shop's own file, without one table: that table's rows as CSV
/// (header, lines).
fn taken_out(env: &Env, table: &str) -> (String, Vec<String>) {
    std::fs::rename(&env.db, env.path("shop.sqlite")).unwrap();
    let shop = rusqlite::Connection::open(env.path("shop.sqlite")).unwrap();
    let (header, rows) = {
        let mut stmt = shop.prepare(&format!("SELECT * FROM {table} ORDER BY id")).unwrap();
        let header = stmt.column_names().join(",");
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                let cells: Vec<String> = (0..n)
                    .map(|i| {
                        r.get::<_, rusqlite::types::Value>(i).map(|v| match v {
                            rusqlite::types::Value::Integer(n) => n.to_string(),
                            rusqlite::types::Value::Text(t) => format!("\"{}\"", t.replace('"', "\"\"")),
                            _ => String::new(),
                        })
                    })
                    .collect::<Result<_, _>>()?;
                Ok(cells.join(","))
            })
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        (header, rows)
    };
    // Rows of the shop's other tables may refer to it (they then refer across the two files).
    shop.execute_batch(&format!("PRAGMA foreign_keys = OFF; DROP TABLE {table}")).unwrap();
    (header, rows)
}

#[test]
fn import_refuses_a_row_whose_parent_in_the_company_database_is_gone() {
    let env = Env::with_fixture("webshop");
    // The reviews move to dsr's store: the shop's file keeps everything else.
    let (header, rows) = moved_to_store(&env, "product_review");
    std::fs::write(env.path("reviews.csv"), format!("{header}\n{}\n", rows.join("\n"))).unwrap();
    let (v, code): (Value, i32) = env.json(&["import", "product_review", "reviews.csv"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["import"]["added"], rows.len(), "{v}");
    let stray =
        rows[0].split_once(',').map(|(_, rest)| format!("999,999999{}", &rest[rest.find(',').unwrap()..])).unwrap();
    std::fs::write(env.path("stray.csv"), format!("{header}\n{stray}\n")).unwrap();
    let out = env.run(&["import", "product_review", "stray.csv"]);
    assert_eq!(out.status.code(), Some(19), "{}", stderr(&out));
    assert!(stderr(&out).contains("line 2: customer_id: no customer row has this key"), "{}", stderr(&out));
    // Sanne erased (her review in dsr's store, her customer row in the shop's file): the next
    // copy from the shop does not bring her review back.
    let id = env.verified("erase", &["--email", SANNE]);
    let out = env.run(&["erase", &id, "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let left = env.count("SELECT count(*) FROM product_review");
    assert_eq!(left, rows.len() as i64 - 1);
    let (v, code): (Value, i32) = env.json(&["import", "product_review", "reviews.csv"]);
    assert_eq!(code, 19, "{v}");
    assert_eq!(v["import"]["refused"], 1, "{v}");
    assert_eq!(env.count("SELECT count(*) FROM product_review"), left);
}

/// An erased person's row whose parent went with them is refused for the erasure (with its date
/// and request), not for the missing parent.
#[test]
fn import_names_the_erasure_of_a_row_whose_parent_went_with_the_person() {
    let env = Env::with_fixture("webshop");
    let (header, rows) = taken_out(&env, "email_address");
    // Left as dsr's built-in table, its foreign key would name the store's own (empty) person table.
    std::fs::write(env.path("company.toml"), placed_in_shop(Some("email_address"))).unwrap();
    let out = env.run(&["init", "--register", "company.toml"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("foreign key person_id to \"person\" in dsr's store"), "{}", stderr(&out));
    let mut file: toml::Table = placed_in_shop(Some("email_address")).parse().unwrap();
    let columns = [
        ("id", "integer", false),
        ("person_id", "integer", true),
        ("address", "text", true),
        ("address_norm", "text", true),
        ("is_primary", "integer", true),
        ("newsletter_opt_in", "integer", true),
        ("created_at", "text", true),
    ];
    for t in file["table"].as_array_mut().unwrap() {
        if t["name"].as_str() == Some("email_address") {
            let declared = columns.iter().map(|&(name, kind, required)| {
                let mut c = toml::Table::new();
                c.insert("name".into(), name.into());
                c.insert("type".into(), kind.into());
                c.insert("required".into(), required.into());
                toml::Value::Table(c)
            });
            t.as_table_mut().unwrap().insert("column".into(), toml::Value::Array(declared.collect()));
        }
    }
    std::fs::write(env.path("company.toml"), toml::to_string(&file).unwrap()).unwrap();
    let out = env.run(&["init", "--register", "company.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::write(env.path("emails.csv"), format!("{header}\n{}\n", rows.join("\n"))).unwrap();
    let (v, code): (Value, i32) = env.json(&["import", "email_address", "emails.csv"]);
    assert_eq!(code, 0, "{v}");
    let id = env.verified("erase", &["--email", SANNE]);
    let out = env.run(&["erase", &id, "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = env.run(&["import", "email_address", "emails.csv"]);
    assert_eq!(out.status.code(), Some(19), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("this person was erased on") && err.contains(&format!("request {id}")), "{err}");
    assert!(!err.contains("no person row has this key"), "{err}");
    assert!(!err.contains(SANNE), "the refusal does not repeat the erased address: {err}");
}

#[test]
fn a_damaged_company_database_is_named() {
    let env = shop();
    // Pages from the second on overwritten (the schema's root page stays readable or not: either
    // way SQLite says only "database disk image is malformed").
    let path = env.path("shop.sqlite");
    let mut bytes = std::fs::read(&path).unwrap();
    let page = u16::from_be_bytes([bytes[16], bytes[17]]) as usize;
    for b in bytes[page..].iter_mut() {
        *b = 0x5a;
    }
    std::fs::write(&path, bytes).unwrap();
    let out = env.run(&["lookup", "--email", SANNE]);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert_one_line_error(&out);
    assert!(stderr(&out).contains("company database shop") && stderr(&out).contains("damaged"), "{}", stderr(&out));
}

/// A reader of the company's file (its application) that keeps the erasure from folding back
/// that file's log is named: the file is the company's, not dsr's store.
#[test]
fn a_reader_of_the_company_database_that_blocks_its_log_is_named() {
    let env = shop();
    let db = env.path("shop.sqlite");
    let reader = rusqlite::Connection::open(&db).unwrap();
    let mode: String = reader.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    let id = env.verified("erase", &["--email", SANNE]);
    reader.execute_batch("BEGIN; SELECT count(*) FROM shop_order;").unwrap();
    let out = env.run(&["erase", &id, "--yes"]);
    assert_eq!(out.status.code(), Some(23), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&db.display().to_string()) && !err.contains("dsr.sqlite"), "{err}");
    reader.execute_batch("COMMIT").unwrap();
    drop(reader);
    let out = env.run(&["erase", "--due"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!holds(&env.path("shop.sqlite-wal"), SANNE));
}

/// The application removes a person itself, outside dsr: doctor names the bare row dsr keeps
/// for their records, since a new person given the same id would inherit them.
#[test]
fn a_person_the_application_removed_itself_is_found_by_doctor() {
    let env = shop();
    let (_, code): (Value, i32) = env.json(&["doctor"]);
    assert_eq!(code, 0);
    env.open("access", &["--email", SANNE]);
    let conn = rusqlite::Connection::open(env.path("shop.sqlite")).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = OFF; DELETE FROM person WHERE id = 1;").unwrap();
    drop(conn);
    let (doctor, code): (Value, i32) = env.json(&["doctor"]);
    assert_eq!(code, 24, "{doctor}");
    let gone: Vec<&Value> = doctor["findings"].as_array().unwrap().iter().filter(|f| f["check"] == "gone").collect();
    assert_eq!(gone.len(), 1, "{doctor}");
    assert_eq!((gone[0]["table"].as_str(), gone[0]["rows"].as_i64()), (Some("person"), Some(1)));
}

/// A cron run on a store whose company database is damaged stops with exit 11 and one line
/// naming it, not a failure of each erasure (exit 1) that a monitor reads as broken erasures.
#[test]
fn erase_due_on_a_damaged_company_database_stops_with_exit_11() {
    let env = shop();
    let id = env.verified("erase", &["--email", SANNE]);
    env.dsr().args(["erase", &id, "--approve"]).assert().success();
    let path = env.path("shop.sqlite");
    let mut bytes = std::fs::read(&path).unwrap();
    let page = u16::from_be_bytes([bytes[16], bytes[17]]) as usize;
    for b in bytes[page..].iter_mut() {
        *b = 0x5a;
    }
    std::fs::write(&path, bytes).unwrap();
    let out = env.run(&["erase", "--due"]);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert!(!stderr(&out).contains("failed:"), "{}", stderr(&out));
    assert!(stderr(&out).contains("damaged"), "{}", stderr(&out));
}

/// A row of dsr's store that a table of the company's database refers to (no foreign key
/// crosses the two files) is kept by --delete-missing, and said so.
#[test]
fn delete_missing_keeps_a_row_the_company_database_refers_to() {
    let env = Env::with_fixture("webshop");
    let (header, rows) = moved_to_store(&env, "shop_order");
    std::fs::write(env.path("orders.csv"), format!("{header}\n{}\n", rows.join("\n"))).unwrap();
    let (v, code): (Value, i32) = env.json(&["import", "shop_order", "orders.csv"]);
    assert_eq!(code, 0, "{v}");
    let first = rows[0].split(',').next().unwrap().to_owned();
    assert!(shop_count(&env, &format!("SELECT count(*) FROM order_line WHERE order_id = {first}")) > 0);
    std::fs::write(env.path("fewer.csv"), format!("{header}\n{}\n", rows[1..].join("\n"))).unwrap();
    let (v, code): (Value, i32) = env.json(&["import", "shop_order", "fewer.csv", "--delete-missing"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!((v["import"]["removed"].as_u64(), v["import"]["kept"].as_u64()), (Some(0), Some(1)), "{v}");
    let why = v["import"]["problems"][0]["reason"].as_str().unwrap();
    assert!(why.contains("still refer to it"), "{why}");
    assert_eq!(env.count(&format!("SELECT count(*) FROM shop_order WHERE id = {first}")), 1);
}

/// The application writes rows of an erased person back into its database without the person
/// (a table restored from a backup, a copy from another system): `dsr doctor` names the rows
/// that link to the erased person's record as erased data come back, to delete (no erasure can
/// reach them), and not as orphans to reattach; a link to another gone row stays an orphan.
#[test]
fn rows_written_back_under_an_erased_person_are_named_as_erased_data() {
    let env = shop();
    let (customer, person): (i64, i64) = rusqlite::Connection::open(env.path("shop.sqlite"))
        .unwrap()
        .query_row(
            "SELECT c.id, c.person_id FROM customer c JOIN email_address e ON e.person_id = c.person_id WHERE e.address = ?1",
            [SANNE],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let id = env.verified("erase", &["--email", SANNE]);
    let out = env.run(&["erase", &id, "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    rusqlite::Connection::open(env.path("shop.sqlite"))
        .unwrap()
        .execute_batch(&format!(
            "PRAGMA foreign_keys = OFF;
             INSERT INTO shop_order (customer_id, order_number, placed_at, status, total_cents)
                  VALUES ({customer}, 'W-99', '2026-01-01T00:00:00Z', 'paid', 100);
             INSERT INTO support_mail (person_id, thread, direction, from_address, subject, body, sent_at)
                  VALUES ({person}, 't', 'in', 'x@example.org', 'Retour', 'Mijn pomp', '2026-01-01T00:00:00Z'),
                         (9999, 't', 'in', 'y@example.org', 'Vraag', 'Wie ben ik', '2026-01-01T00:00:00Z');",
        ))
        .unwrap();
    let (v, code): (Value, i32) = env.json(&["doctor"]);
    assert_eq!(code, 24, "{v}");
    let said = |check: &str, table: &str| -> Option<i64> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == check && f["table"] == table)
            .map(|f| f["rows"].as_i64().unwrap())
    };
    assert_eq!(said("erased-back", "support_mail"), Some(1), "{v}");
    assert_eq!(said("orphan", "support_mail"), Some(1), "the other person's gone row: {v}");
    assert_eq!(said("orphan", "shop_order"), Some(1), "a gone customer row is not known as erased: {v}");
    let out = env.run(&["doctor"]);
    assert!(crate::support::stdout(&out).contains("then delete these rows"), "{}", crate::support::stdout(&out));
}

/// A company database whose table declares no foreign key for its link: an import row whose
/// parent row is not there (an erased customer's order line, or a typing error) is refused by
/// dsr, as the foreign key would have refused it, not loaded where no person reaches it.
#[test]
fn an_import_into_a_company_table_without_foreign_keys_checks_the_parent() {
    let env = shop();
    let app = rusqlite::Connection::open(env.path("shop.sqlite")).unwrap();
    app.execute_batch(
        "PRAGMA foreign_keys = OFF;
         CREATE TABLE order_line_new (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL, product TEXT NOT NULL,
                                      sku TEXT NOT NULL, quantity INTEGER NOT NULL, price_cents INTEGER NOT NULL) STRICT;
         INSERT INTO order_line_new SELECT * FROM order_line;
         DROP TABLE order_line;
         ALTER TABLE order_line_new RENAME TO order_line;
         CREATE INDEX order_line_order ON order_line (order_id);",
    )
    .unwrap();
    drop(app);
    let order: i64 = shop_count(&env, "SELECT min(id) FROM shop_order");
    let text = format!(
        "id,order_id,product,sku,quantity,price_cents\n9901,88888,Bel,SKU1,1,100\n9902,{order},Bel,SKU1,1,100\n"
    );
    std::fs::write(env.path("lines.csv"), text).unwrap();
    let (v, code): (serde_json::Value, i32) = env.json(&["import", "order_line", "lines.csv"]);
    assert_eq!(code, 19, "{v}");
    let problems = v["import"]["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{v}");
    assert_eq!(problems[0]["line"], 2);
    assert!(problems[0]["reason"].as_str().unwrap().starts_with("order_id: no shop_order row has this key"), "{v}");
    assert_eq!(shop_count(&env, "SELECT count(*) FROM order_line WHERE id IN (9901, 9902)"), 1);
}

/// A foreign key of the application's that refers to a row the erasure deletes, from a row it
/// does not (another person's record naming this one): the erasure is refused whole, and the
/// one line says which column of which table still refers to the person's rows.
#[test]
fn an_erasure_a_foreign_key_refuses_names_the_column_that_refers() {
    let env = shop();
    let sanne: i64 = shop_count(&env, &format!("SELECT person_id FROM email_address WHERE address = '{SANNE}'"));
    let app = rusqlite::Connection::open(env.path("shop.sqlite")).unwrap();
    app.execute_batch(&format!(
        "ALTER TABLE person ADD COLUMN referred_by INTEGER REFERENCES person (id);
         UPDATE person SET referred_by = {sanne} WHERE id = (SELECT min(id) FROM person WHERE id <> {sanne});"
    ))
    .unwrap();
    drop(app);
    let id = env.verified("erase", &["--email", SANNE]);
    let out = env.run(&["-q", "erase", &id, "--yes"]);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert_one_line_error(&out);
    assert!(
        stderr(&out)
            .contains("could not delete the person's rows of person: person.referred_by (1 row) still refers to them"),
        "{}",
        stderr(&out)
    );
    assert_eq!(shop_count(&env, &format!("SELECT count(*) FROM person WHERE id = {sanne}")), 1, "nothing was done");
}

/// A table of the company's database that the map leaves out but whose rows hang from a table
/// of the map (by the application's own foreign key) is named by `register apply` and `init`:
/// its rows would be missing from every answer, and its key would refuse every erasure.
#[test]
fn a_company_table_left_out_of_the_map_is_named() {
    let env = shop();
    let app = rusqlite::Connection::open(env.path("shop.sqlite")).unwrap();
    app.execute_batch(
        "CREATE TABLE sms_reminder (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES shop_order (id), phone TEXT NOT NULL);
         INSERT INTO sms_reminder (order_id, phone) SELECT id, '+31612345678' FROM shop_order LIMIT 2;",
    )
    .unwrap();
    drop(app);
    let out = env.run(&["register", "apply", "company.toml", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "\"shop.sms_reminder\" has 2 rows linked to \"shop_order\" (order_id) but is not in the data map"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_application_holding_its_database_write_lock_does_not_hold_up_what_writes_only_dsrs_store() {
    let env = shop();
    let app = rusqlite::Connection::open(env.path("shop.sqlite")).unwrap();
    app.execute_batch("BEGIN IMMEDIATE; UPDATE shop_order SET note = 'busy' WHERE id = 12;").unwrap();
    // Opening a request, its code, the answer and the archive write dsr's own records only;
    // they read the shop's database under its last commit and do not wait for its lock.
    let id = env.verified("access", &["--email", SANNE]);
    let out = env.run(&["access", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    let export = env.verified("export", &["--email", SANNE]);
    let out = env.run(&["export", &export, "--out", "sanne.zip"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let restrict = env.verified("restrict", &["--email", SANNE, "--ground", "accuracy-contested"]);
    let out = env.run(&["restrict", &restrict, "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // What changes the shop's tables still waits its turn, and says whose lock it waited for.
    let erase = env.verified("erase", &["--email", "lucas.peters@example.nl"]);
    let out = env.run(&["erase", &erase, "--yes"]);
    assert_eq!(out.status.code(), Some(13), "{}", stderr(&out));
    app.execute_batch("ROLLBACK").unwrap();
}

/// A nightly run the company database stops before it begins (the file moved away) is recorded
/// as the last run all the same: `dsr status` does not go on showing the run before as the last.
#[test]
fn a_nightly_run_a_missing_company_database_stops_is_recorded_as_the_last() {
    let env = shop();
    env.dsr().args(["retention", "run"]).assert().success();
    std::fs::rename(env.path("shop.sqlite"), env.path("moved.sqlite")).unwrap();
    for command in [&["retention", "run"][..], &["erase", "--due"]] {
        let out = env.run(command);
        assert_eq!(out.status.code(), Some(10), "{command:?}: {}", stderr(&out));
    }
    let out = env.run(&["retention", "run", "--dry-run"]);
    assert_eq!(out.status.code(), Some(10), "{}", stderr(&out));
    std::fs::rename(env.path("moved.sqlite"), env.path("shop.sqlite")).unwrap();
    let (status, _): (Value, i32) = env.json(&["status"]);
    for command in ["retention run", "erase --due"] {
        let cron = status["cron"].as_array().unwrap().iter().find(|c| c["command"] == command).unwrap();
        assert_eq!(cron["last"]["exit_code"], 10, "{command}: {status}");
        assert!(cron["last"]["summary"].as_str().unwrap().contains("shop"), "{command}: {status}");
    }
}

/// The application holding its database's write lock through a nightly retention run: the first
/// rule that must change the file waits the busy timeout, fails naming that file, is audited, and
/// stops the run (exit 13) rather than have every later rule wait in turn; `dsr status` keeps the
/// same line.
#[test]
fn a_retention_run_the_application_s_lock_stops_names_the_file_and_is_audited() {
    let mut env = shop();
    env.now = Some("2036-01-01T02:00:00Z".into());
    let app = rusqlite::Connection::open(env.path("shop.sqlite")).unwrap();
    app.execute_batch("BEGIN IMMEDIATE; UPDATE shop_order SET note = 'busy' WHERE id = 12;").unwrap();
    let out = env.run(&["retention", "run"]);
    app.execute_batch("ROLLBACK").unwrap();
    assert_eq!(out.status.code(), Some(13), "{}", stderr(&out));
    let named = format!("the company database shop ({})", env.path("shop.sqlite").display());
    let rule_line = stderr(&out).lines().find(|l| l.contains("failed")).map(str::to_owned).unwrap_or_default();
    assert!(rule_line.contains(&named) && rule_line.contains("stayed locked"), "{}", stderr(&out));
    let audited =
        env.count("SELECT count(*) FROM audit_log WHERE action = 'retention' AND details LIKE '%stayed locked%'");
    assert_eq!(audited, 1, "the failed rule is in the audit trail, once");
    let (status, _): (Value, i32) = env.json(&["status"]);
    let cron = status["cron"].as_array().unwrap().iter().find(|c| c["command"] == "retention run").unwrap();
    assert_eq!(cron["last"]["exit_code"], 13, "{status}");
    assert!(cron["last"]["summary"].as_str().unwrap().contains(&named), "{status}");
}

/// A table of the map moved to a company database while the store keeps its own table of the
/// same name, with rows linked to the map's tables: the store's table is left out of the map, and
/// `register apply` names it (before: applied, its rows out of every answer and erasure).
#[test]
fn a_table_moved_to_a_company_database_leaving_the_store_s_own_behind_is_named() {
    let env = Env::with_fixture("webshop");
    let reviews: i64 = env.count("SELECT count(*) FROM product_review");
    assert!(reviews > 0);
    let club = rusqlite::Connection::open(env.path("club.sqlite")).unwrap();
    club.execute_batch(&format!(
        "ATTACH '{}' AS store; CREATE TABLE product_review AS SELECT * FROM store.product_review WHERE 0; DETACH store;",
        env.db.display()
    ))
    .unwrap();
    drop(club);
    let text = std::fs::read_to_string(crate::support::fixture_dir("webshop").join("company.toml")).unwrap();
    let mut file: toml::Table = text.parse().unwrap();
    let mut db = toml::Table::new();
    db.insert("name".into(), "club".into());
    db.insert("path".into(), "club.sqlite".into());
    file.insert("database".into(), toml::Value::Array(vec![toml::Value::Table(db)]));
    for t in file["table"].as_array_mut().unwrap() {
        let t = t.as_table_mut().unwrap();
        if t["name"].as_str() == Some("product_review") {
            t.insert("database".into(), "club".into());
            t.remove("column");
        }
    }
    std::fs::write(env.path("moved.toml"), toml::to_string(&file).unwrap()).unwrap();
    let out = env.run(&["register", "apply", "moved.toml", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "the store's table \"product_review\" has {reviews} row{} linked to \"customer\" (customer_id) but is not in the data map",
            if reviews == 1 { "" } else { "s" }
        )),
        "{}",
        stderr(&out)
    );
}

/// A trigger the application keeps on a table of the map that copies values into a table the
/// map does not name (an address history) would keep an erased value where no right reaches:
/// doctor names it, with the table it writes.
#[test]
fn doctor_names_a_trigger_that_copies_a_mapped_table_elsewhere() {
    let env = shop();
    let conn = rusqlite::Connection::open(env.path("shop.sqlite")).unwrap();
    conn.execute_batch(
        "CREATE TABLE addr_history (id INTEGER PRIMARY KEY, old_street TEXT);
         CREATE TRIGGER keep_hist AFTER DELETE ON delivery_address BEGIN
           INSERT INTO addr_history (old_street) VALUES (old.street);
         END;",
    )
    .unwrap();
    drop(conn);
    let (v, code): (Value, i32) = env.json(&["doctor"]);
    assert_eq!(code, 24, "{v}");
    let found = v["findings"].as_array().unwrap();
    let trigger = found.iter().find(|f| f["check"] == "trigger").unwrap_or_else(|| panic!("{v}"));
    assert_eq!(trigger["table"], "delivery_address");
    let what = trigger["what"].as_str().unwrap();
    assert!(
        what.contains("keep_hist") && what.contains("addr_history") && what.contains("company database shop"),
        "{what}"
    );
}
