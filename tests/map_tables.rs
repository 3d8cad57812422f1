//! `dsr init --register FILE` makes the tables of the data map that the store lacks from their
//! `[[table.column]]` declarations: STRICT, a foreign key for the link and every `references`,
//! an index on every link, reference and identifier column; a bad declaration is refused, exit 2,
//! with no store left behind.

use crate::support::{stderr, stdout, Env};

/// Two new tables on top of the virtio map: a loyalty card of a person (found by its number,
/// referring to the customer who recommended it) and the stamps on a card.
const LOYALTY: &str = r#"
[[table]]
name = "loyalty_card"
category = "identity"

[table.link]
column = "person_id"
parent = "person"

[[table.identifier]]
column = "card_number"
kind = "customer-number"

[[table.column]]
name = "id"
type = "integer"

[[table.column]]
name = "person_id"
type = "integer"
required = true

[[table.column]]
name = "card_number"
type = "text"
required = true

[[table.column]]
name = "recommended_by"
type = "integer"
references = "customer"

[[table.column]]
name = "issued_at"
type = "text"
required = true

[[table]]
name = "loyalty_stamp"
category = "identity"

[table.link]
column = "card_id"
parent = "loyalty_card"

[[table.column]]
name = "id"
type = "integer"

[[table.column]]
name = "card_id"
type = "integer"
required = true

[[table.column]]
name = "stamp_code"
type = "text"
required = true
unique = true

[[table.column]]
name = "amount_cents"
type = "integer"
"#;

/// The virtio company file with `extra` appended (its `[[table]]` entries come last).
fn virtio_with(extra: &str) -> (Env, String) {
    let env = Env::with_fixture("virtio");
    let out = env.run(&["register", "export"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = format!("{}{extra}", stdout(&out));
    (env, text)
}

fn init_from(env: &Env, text: &str) -> (Env, std::process::Output) {
    let file = env.path("company.toml");
    std::fs::write(&file, text).unwrap();
    let mut other = Env::new();
    other.db = env.path("made.sqlite");
    let out = other.dsr().arg("init").arg("--register").arg(&file).output().unwrap();
    (other, out)
}

fn strings(conn: &rusqlite::Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn.prepare(sql).unwrap();
    let rows = stmt.query_map([], |r| r.get::<_, String>(0)).unwrap();
    rows.collect::<Result<Vec<_>, _>>().unwrap()
}

#[test]
fn init_register_creates_the_map_s_new_tables_strict_with_foreign_keys_and_indexes() {
    let (env, text) = virtio_with(LOYALTY);
    let (made, out) = init_from(&env, &text);
    assert!(out.status.success(), "{}", stderr(&out));
    let conn = made.sql();
    let strict = strings(
        &conn,
        "SELECT name FROM pragma_table_list WHERE name IN ('loyalty_card', 'loyalty_stamp') AND strict = 1 ORDER BY name",
    );
    assert_eq!(strict, ["loyalty_card", "loyalty_stamp"]);
    let fks = |t: &str| {
        strings(
            &conn,
            &format!("SELECT \"from\" || ' -> ' || \"table\" || '.' || \"to\" FROM pragma_foreign_key_list('{t}') ORDER BY 1"),
        )
    };
    assert_eq!(fks("loyalty_card"), ["person_id -> person.id", "recommended_by -> customer.id"]);
    assert_eq!(fks("loyalty_stamp"), ["card_id -> loyalty_card.id"]);
    let indexed = |t: &str| {
        strings(
            &conn,
            &format!("SELECT ii.name FROM pragma_index_list('{t}') il, pragma_index_info(il.name) ii ORDER BY ii.name"),
        )
    };
    assert_eq!(indexed("loyalty_card"), ["card_number", "person_id", "recommended_by"]);
    assert_eq!(indexed("loyalty_stamp"), ["card_id", "stamp_code"], "the link, and the unique column's own index");
    let key: Vec<String> =
        strings(&conn, "SELECT name || ' ' || type FROM pragma_table_info('loyalty_card') WHERE pk = 1");
    assert_eq!(key, ["id INTEGER"]);
    let required =
        strings(&conn, "SELECT name FROM pragma_table_info('loyalty_card') WHERE \"notnull\" = 1 ORDER BY name");
    assert_eq!(required, ["card_number", "issued_at", "person_id"]);
    // The foreign keys hold: a stamp on a card that does not exist is refused by the store.
    let orphan = conn.execute("INSERT INTO loyalty_stamp (card_id, stamp_code) VALUES (7, 'S1')", []);
    assert!(orphan.is_err(), "a foreign key refuses an unknown card");
    // The declarations are part of the map, exported as they were written.
    assert_eq!(stdout(&made.run(&["register", "export"])), text);
}

#[test]
fn a_declared_column_the_store_s_table_lacks_is_refused() {
    let (env, text) = virtio_with(LOYALTY);
    // The built-in customer table (which the map's other tables refer to, so it stays), declared
    // with a column it does not have: not made again, and the file is refused naming the column.
    let text = text.replacen(
        "[table.retention]\ncontract_end = \"ended_at\"\n",
        "[table.retention]\ncontract_end = \"ended_at\"\n\n[[table.column]]\nname = \"nickname\"\ntype = \"text\"\n",
        1,
    );
    assert!(text.contains("name = \"nickname\""));
    let (made, out) = init_from(&env, &text);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let line = text.lines().position(|l| l == "name = \"nickname\"").unwrap() + 1;
    assert!(
        stderr(&out).contains(&format!(
            "line {line}: table[1].column[0].name: the store's table \"customer\" has no column \"nickname\""
        )),
        "{}",
        stderr(&out)
    );
    assert!(!made.db.exists(), "nothing was written");
}

#[test]
fn a_column_of_an_unknown_type_is_refused_with_its_line_and_a_known_type_is_made() {
    let declared =
        LOYALTY.replacen("name = \"amount_cents\"\ntype = \"integer\"", "name = \"amount\"\ntype = \"decimal\"", 1);
    let (env, text) = virtio_with(&declared);
    let line = text.lines().position(|l| l == "type = \"decimal\"").unwrap() + 1;
    let (made, out) = init_from(&env, &text);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&format!("line {line}: table[")), "{err}");
    assert!(err.contains("].column[3].type: unknown variant `decimal`, expected one of"), "{err}");
    assert!(!made.db.exists(), "no store for a refused file");
    let (made, out) = init_from(&env, &text.replace("type = \"decimal\"", "type = \"real\""));
    assert!(out.status.success(), "{}", stderr(&out));
    let typed = strings(&made.sql(), "SELECT type FROM pragma_table_info('loyalty_stamp') WHERE name = 'amount'");
    assert_eq!(typed, ["REAL"]);
}

#[test]
fn bad_column_names_and_references_are_refused_each_on_a_line() {
    let bad = LOYALTY.replacen("name = \"recommended_by\"", "name = \"recommended by\"", 1).replacen(
        "references = \"customer\"",
        "references = \"client\"",
        1,
    );
    let (env, text) = virtio_with(&bad);
    let (made, out) = init_from(&env, &text);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    let line = |needle: &str| text.lines().position(|l| l == needle).unwrap() + 1;
    assert!(err.contains(&format!("line {}: table[", line("name = \"recommended by\""))), "{err}");
    assert!(err.contains("].column[3].name: \"recommended by\" is not a column name"), "{err}");
    assert!(err.contains(&format!("line {}: table[", line("references = \"client\""))), "{err}");
    assert!(err.contains("].column[3].references: \"client\" is not a [[table]] of the data map"), "{err}");
    assert!(err.contains("has 2 problems; nothing was written"), "{err}");
    assert!(!made.db.exists());
}

#[test]
fn a_table_to_make_declares_its_key_and_link_columns() {
    let bad = LOYALTY.replacen("name = \"card_id\"\ntype", "name = \"card\"\ntype", 1).replacen(
        "[[table.column]]\nname = \"id\"\ntype = \"integer\"\n\n",
        "",
        1,
    );
    let (env, text) = virtio_with(&bad);
    let (made, out) = init_from(&env, &text);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("].column: the key \"id\" is not among the declared columns"), "{err}");
    assert!(
        err.contains("].link.column: \"card_id\" is not one of the table's [[table.column]] declarations"),
        "{err}"
    );
    assert!(!made.db.exists());
}

#[test]
fn a_table_sqlite_cannot_make_is_refused_and_nothing_is_written() {
    // `order` is an SQL keyword: refused before SQLite is asked to make the table.
    let (env, text) = virtio_with(&LOYALTY.replace("loyalty_stamp", "order"));
    let (made, out) = init_from(&env, &text);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("].name: \"order\" is an SQL keyword"), "{err}");
    assert!(!made.db.exists());
}
