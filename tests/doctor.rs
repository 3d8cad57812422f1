//! `dsr doctor`: what the data map says the data is, checked; each problem named with its fix.

use serde_json::Value;

use crate::support::{self, stderr, stdout, Env};

fn findings(env: &Env) -> (Vec<Value>, i32) {
    let (v, code): (Value, i32) = env.json(&["doctor"]);
    (v["findings"].as_array().unwrap().clone(), code)
}

#[test]
fn a_fixture_store_is_healthy() {
    for fixture in ["virtio", "voordelig-streamen", "webshop"] {
        let env = Env::with_fixture(fixture);
        let (found, code) = findings(&env);
        assert_eq!((code, found.len()), (0, 0), "{fixture}: {found:#?}");
        let out = env.run(&["doctor"]);
        assert!(stdout(&out).starts_with("No problems found"), "{}", stdout(&out));
    }
}

#[test]
fn each_kind_of_problem_is_named_with_its_fix() {
    let env = Env::with_fixture("webshop");
    let conn = env.sql();
    conn.execute_batch(
        "UPDATE email_address SET address_norm = 'Emma.Bos@Example.com' WHERE address = 'emma.bos@example.com';
         UPDATE customer SET customer_number = lower(customer_number) WHERE id = 101;
         UPDATE delivery_address SET created_at = '2024-05-01 10:00' WHERE id = 11;
         UPDATE phone_number SET number = '+310612345678' WHERE id = (SELECT min(id) FROM phone_number);
         UPDATE product_review SET posted_at = '2026-02-30' WHERE id = (SELECT min(id) FROM product_review);
         UPDATE product_review SET posted_at = '2025-02-29T10:00:00Z' WHERE id = (SELECT max(id) FROM product_review);
         PRAGMA foreign_keys = OFF;
         UPDATE shop_order SET customer_id = 99999 WHERE id = 11;",
    )
    .unwrap();
    let (found, code) = findings(&env);
    assert_eq!(code, 24, "{found:#?}");
    let at = |check: &str, table: &str, column: &str| {
        found
            .iter()
            .find(|f| f["check"] == check && f["table"] == table && f["column"] == column)
            .unwrap_or_else(|| panic!("{check} {table}.{column}: {found:#?}"))
    };
    assert_eq!(at("identifier", "email_address", "address_norm")["rows"], 1);
    assert_eq!(at("identifier", "customer", "customer_number")["rows"], 1);
    assert_eq!(at("time", "delivery_address", "created_at")["rows"], 1);
    // A Dutch number with its trunk 0 after +31 has the shape of E.164, but no lookup finds it.
    assert_eq!(at("identifier", "phone_number", "number")["rows"], 1);
    // Days the calendar does not have: 30 February, 29 February of a year that is not leap.
    assert_eq!(at("time", "product_review", "posted_at")["rows"], 2);
    assert!(at("orphan", "shop_order", "customer_id")["fix"].as_str().unwrap().contains("customer"));
    let out = env.run(&["doctor"]);
    assert_eq!(out.status.code(), Some(24), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("email_address.address_norm: 1 row: not in the form lookups compare"), "{text}");
    assert!(text.contains("fix: load the rows again with `dsr import email_address FILE`"), "{text}");
    assert!(!text.contains("Emma.Bos@Example.com"), "values are not shown: {text}");
}

#[test]
fn an_erased_person_written_back_into_a_company_database_is_found() {
    let env = Env::with_fixture("webshop");
    let id = env.verified("erase", &["--email", "sanne.dejong@example.nl"]);
    env.dsr().args(["erase", &id, "--yes"]).assert().success();
    env.sql()
        .execute_batch(
            "INSERT INTO email_address (id, person_id, address, address_norm, is_primary, newsletter_opt_in, created_at)
             VALUES (990, 2, 'Sanne.deJong@example.nl', 'sanne.dejong@example.nl', 0, 0, '2026-12-01T00:00:00Z')",
        )
        .unwrap();
    let (found, code) = findings(&env);
    assert_eq!(code, 24);
    assert!(
        found.iter().any(|f| f["check"] == "erased-back" && f["table"] == "email_address" && f["rows"] == 1),
        "{found:#?}"
    );
    // The fix it gives works as written: the replay finds her by the address and erases her again.
    let fix = found.iter().find(|f| f["check"] == "erased-back").unwrap()["fix"].as_str().unwrap().to_owned();
    assert!(fix.contains("`dsr erase --replay`"), "{fix}");
    let out = env.run(&["erase", "--replay"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(env.count("SELECT count(*) FROM email_address WHERE id = 990"), 0);
    let (_, code) = findings(&env);
    assert_eq!(code, 0);
}

/// A store made before `[[legal_basis]] kind` with a basis code of its own: doctor names the
/// basis and the purposes resting on it, and an objection to one of them is refused (exit 9)
/// saying what to do, with nothing recorded.
#[test]
fn a_legal_basis_the_register_does_not_place_is_named() {
    let env = Env::with_fixture("virtio");
    env.sql()
        .execute_batch(
            "PRAGMA foreign_keys = OFF;
             UPDATE legal_basis SET code = 'own-interest', kind = NULL WHERE code = 'legitimate-interest';
             UPDATE purpose SET legal_basis = 'own-interest' WHERE legal_basis = 'legitimate-interest';",
        )
        .unwrap();
    let (found, code) = findings(&env);
    assert_eq!(code, 24, "{found:#?}");
    let basis: Vec<&Value> = found.iter().filter(|f| f["check"] == "basis").collect();
    assert_eq!(basis.len(), 1, "{found:#?}");
    let what = basis[0]["what"].as_str().unwrap();
    assert!(what.contains("\"own-interest\"") && what.contains("debugging"), "{what}");
    assert!(basis[0]["fix"].as_str().unwrap().contains("kind"), "{}", basis[0]["fix"]);
    let id = env.verified("object", &["--customer", "V204117", "--purpose", "debugging"]);
    let out = env.run(&["object", &id, "--yes"]);
    assert_eq!(out.status.code(), Some(9), "{}", stderr(&out));
    assert!(stderr(&out).contains("give its [[legal_basis]] a kind"), "{}", stderr(&out));
    assert_eq!(env.count("SELECT count(*) FROM objection"), 0);
}

#[test]
fn a_column_of_the_map_dropped_behind_dsrs_back_is_named_before_anything_else() {
    let env = Env::with_fixture("webshop");
    env.sql().execute_batch("ALTER TABLE person DROP COLUMN city").unwrap();
    let (found, code) = findings(&env);
    assert_eq!(code, 24, "{found:?}");
    assert_eq!(found.len(), 1, "one finding for the column, however often the map names it: {found:?}");
    assert_eq!(found[0]["check"], "map");
    assert_eq!(found[0]["table"], "person");
    assert!(found[0]["what"].as_str().unwrap().contains("\"city\""), "{found:?}");
    assert_eq!(found[0]["column"], "city", "{found:?}");
    assert!(found[0]["fix"].as_str().unwrap().contains("register apply"), "{found:?}");
}

/// One of dsr's own tables dropped: doctor names it as dsr's own, to restore from a backup (not
/// "describe it in the company file"), and so does the command that needs it.
#[test]
fn one_of_dsrs_own_tables_dropped_is_named_as_such() {
    let env = Env::with_fixture("webshop");
    env.sql().execute_batch("PRAGMA foreign_keys = OFF; DROP TABLE request").unwrap();
    let (found, code) = findings(&env);
    assert_eq!(code, 24, "{found:?}");
    assert_eq!(
        (found.len(), found[0]["check"].as_str(), found[0]["table"].as_str()),
        (1, Some("schema"), Some("request")),
        "{found:?}"
    );
    assert!(found[0].get("column").is_some_and(Value::is_null), "a whole table's finding has column null: {found:?}");
    assert!(found[0]["fix"].as_str().unwrap().contains("restore the store from a backup"), "{found:?}");
    let out = env.run(&["status"]);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert!(stderr(&out).contains("dsr's own table request is missing from the store"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("company file"), "{}", stderr(&out));
}

/// A store file this account may only read: doctor names it (every command that records
/// something fails with exit 15). As root the file's mode does not apply, so the check runs
/// as another account (`setpriv`), as the commands do.
#[test]
fn a_store_the_account_may_not_write_is_named() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::with_fixture("webshop");
    crate::store::as_unprivileged(&env, &["status"]); // hands the directory over, when root
    std::fs::set_permissions(&env.db, std::fs::Permissions::from_mode(0o444)).unwrap();
    let out = crate::store::as_unprivileged(&env, &["--json", "doctor"]);
    assert_eq!(out.status.code(), Some(24), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &v["findings"][0];
    assert_eq!((f["check"].as_str(), f["table"].as_str()), (Some("database"), Some("main")), "{v}");
    assert!(f["what"].as_str().unwrap().contains("cannot be written by this account"), "{v}");
}

#[test]
fn a_table_of_the_map_made_from_its_own_columns_and_dropped_is_named() {
    let env = Env::with_fixture("webshop");
    env.sql().execute_batch("PRAGMA foreign_keys = OFF; DROP TABLE product_review;").unwrap();
    let (found, code) = findings(&env);
    assert_eq!(code, 24, "{found:?}");
    assert!(
        found
            .iter()
            .any(|f| f["check"] == "map" && f["what"].as_str().unwrap().contains("no table \"product_review\"")),
        "{found:?}"
    );
}

/// An erasure that keeps rows under a legal-claims restriction keeps their identifiers by right:
/// they are not "erased people back in the data", and the customer number stays off the
/// suppression list (an import may update the kept row's source copy by it).
#[test]
fn rows_an_erasure_keeps_for_a_legal_claim_are_not_found_as_erased_back() {
    let env = Env::with_fixture("virtio");
    let who = ["--email", "jan.devries@example.nl"];
    let mut restrict = who.to_vec();
    restrict.extend(["--ground", "legal-claims", "--category", "login"]);
    let id = env.verified("restrict", &restrict);
    env.dsr().args(["restrict", &id, "--yes"]).assert().success();
    let id = env.verified("erase", &who);
    let out = env.run(&["erase", &id, "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // A kept row does not say "no ground to keep".
    assert!(!stdout(&out).contains("(category login): no ground to keep"), "{}", stdout(&out));
    let (found, code) = findings(&env);
    assert_eq!(code, 0, "{found:?}");
    assert_eq!(env.count("SELECT count(*) FROM suppression WHERE kind = 'customer'"), 0);
    assert_eq!(env.count("SELECT count(*) FROM suppression WHERE kind = 'email'"), 1, "what went is still remembered");
}

/// A damaged page of the people's table hides a person's row without an error: doctor names the
/// damage (exit 24) before its other checks, and an erasure of that person stops (exit 11) with
/// nothing erased and no letter saying the data are gone.
#[test]
fn a_damaged_page_is_found_and_an_erasure_that_cannot_read_the_person_stops() {
    let env = Env::with_fixture("webshop");
    let request = env.verified("erase", &["--email", "sanne.dejong@example.nl"]);
    let (page, size): (i64, i64) = env
        .sql()
        .query_row(
            "SELECT (SELECT rootpage FROM sqlite_schema WHERE name = 'person'), (SELECT page_size FROM pragma_page_size)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let mut bytes = std::fs::read(&env.db).unwrap();
    let at = ((page - 1) * size + 8) as usize;
    bytes[at..at + 400].fill(0xff);
    std::fs::write(&env.db, bytes).unwrap();
    let out = env.run(&["doctor"]);
    assert_eq!(out.status.code(), Some(24), "{}", support::stderr(&out));
    let said = support::stdout(&out);
    assert!(said.contains("is damaged") && said.contains("erase --replay") && said.contains("1 problem"), "{said}");
    let letters = env.messages(&request).len();
    let out = env.run(&["erase", &request, "--yes"]);
    assert_eq!(out.status.code(), Some(11), "{}", support::stderr(&out));
    support::assert_one_line_error(&out);
    assert!(support::stderr(&out).contains("nothing was erased"), "{}", support::stderr(&out));
    assert_eq!(env.messages(&request).len(), letters, "no letter");
    assert_eq!(env.count(&format!("SELECT count(*) FROM request WHERE id = '{request}' AND state = 'verified'")), 1);
}
