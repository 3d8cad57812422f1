//! The data map checked against a store's tables: every `[[table]]` is a table of the store or
//! declares its columns (`[[table.column]]`, created by `init --register`), and every column the
//! map names (links, identifiers, withheld and internal columns, erase and retention columns,
//! rectifiable fields, recipient columns and the `{column}`s of a `because`, conditions) is one
//! of its table's. Where the store holds rows already, the recipient codes they name must be
//! the register's, and no table whose rows hang from a table of the map may be left out of it. `dsr register check` runs this on a new in-memory store (the built-in
//! schema); `init --register` on the store it is making.

use std::collections::{HashMap, HashSet};

use super::check_map::{is_identifier, other_tables, own_columns};
use super::{CompanyFile, Problem};
use crate::store::db::Db;
use crate::store::personal;

pub fn check(f: &CompanyFile, conn: &dyn Db) -> anyhow::Result<Vec<Problem>> {
    let mut problems = Vec::new();
    let mut say = |key: String, what: String| problems.push(Problem { line: None, key, what });
    // The columns of each table of the map: the store's, else the ones the entry declares.
    let mut columns: HashMap<&str, HashSet<String>> = HashMap::new();
    let mut in_store = HashSet::new();
    // A table described again, or named like one of dsr's own, is a problem of the file already
    // (check_map); its columns are not checked against the first entry's table.
    let mut seen = HashSet::new();
    for (i, t) in f.table.iter().enumerate() {
        if !is_identifier(&t.name) || !seen.insert(t.name.to_ascii_lowercase()) || is_own_table(&t.name) {
            continue;
        }
        match personal::columns_of_table(conn, t)? {
            Some(cols) => {
                in_store.insert(t.name.as_str());
                columns.insert(&t.name, cols.into_iter().collect());
            }
            None if !t.column.is_empty() => {
                columns.insert(&t.name, t.column.iter().map(|c| c.name.clone()).collect());
            }
            // A database the file does not declare is a problem of its own (check_places).
            None if t.database.as_ref().is_some_and(|db| !f.database.iter().any(|d| &d.name == db)) => {}
            None => say(
                format!("table[{i}].name"),
                match &t.database {
                    // dsr makes no table in a company's database: the name is wrong, or the database.
                    Some(db) => format!(
                        "the company database {db} has no table {:?}: name a table it has, or the [[database]] that has it",
                        t.name
                    ),
                    None => format!(
                        "the store has no table {:?}, and the entry declares no columns ([[table.column]]) to create it with",
                        t.name
                    ),
                },
            ),
        }
    }
    let has = |table: &str, column: &str| columns.get(table).is_some_and(|c| c.contains(column));
    // Built-in tables the entry declares anew without the columns the map names: said once.
    let mut remade: HashSet<&str> = HashSet::new();
    for (i, t) in f.table.iter().enumerate() {
        if !columns.contains_key(t.name.as_str()) {
            continue;
        }
        let lacks: Vec<(String, &str)> =
            own_columns(t, i).into_iter().filter(|(_, c)| is_identifier(c) && !has(&t.name, c)).collect();
        if !lacks.is_empty()
            && !in_store.contains(t.name.as_str())
            && personal::builtin().iter().any(|b| b.name == t.name)
        {
            // Declaring columns makes the table from them instead of the built-in one: one line,
            // not one for each column the built-in table had.
            remade.insert(&t.name);
            let names: Vec<&str> = lacks.iter().map(|(_, c)| *c).collect();
            say(
                format!("table[{i}].column"),
                format!(
                    "the entry declares columns ([[table.column]]), so {:?} is made from them instead of the built-in table, and it lacks {} that the map names: declare every column it needs, or leave out the [[table.column]] entries to keep the built-in table",
                    t.name,
                    names.join(", ")
                ),
            );
        } else {
            for (key, column) in lacks {
                say(key, format!("table {:?} has no column {column:?}", t.name));
            }
        }
        for (key, table, column) in other_tables(t, i) {
            let Some(column) = column else { continue };
            if columns.contains_key(table) && is_identifier(column) && !has(table, column) {
                say(format!("{key}.column"), format!("table {table:?} has no column {column:?}"));
            }
        }
        if let Some(parent) = t.link.as_ref().and_then(|l| f.table.iter().find(|p| p.name == l.parent)) {
            if columns.contains_key(parent.name.as_str())
                && !remade.contains(parent.name.as_str())
                && is_identifier(&parent.key)
                && !has(&parent.name, &parent.key)
            {
                say(
                    format!("table[{i}].link.parent"),
                    format!("table {:?} has no column {:?} (its key)", parent.name, parent.key),
                );
            }
        }
        if in_store.contains(t.name.as_str()) && !t.erase.detach.is_empty() {
            let required = personal::required_columns(conn, t)?;
            for field in t.erase.detach.iter().filter(|f| required.contains(f)) {
                say(
                    format!("table[{i}].erase.detach"),
                    format!(
                        "column {:?}.{field} may not be NULL in {}, so an erasure cannot detach it",
                        t.name,
                        t.database.as_ref().map_or("the store".to_owned(), |d| format!("company database {d}"))
                    ),
                );
            }
        }
        if let Some(link) = &t.link {
            // A link that follows another table than the column's foreign key does would give
            // each row to the person of some other row (Art. 15(4)).
            let declared: Vec<(String, String, Option<String>)> = if in_store.contains(t.name.as_str()) {
                personal::links_declared(conn, t)?
            } else {
                t.column.iter().filter_map(|c| c.references.clone().map(|p| (c.name.clone(), p, None))).collect()
            };
            let parent_key = f.table.iter().find(|p| p.name == link.parent).map(|p| p.key.as_str());
            let follows = |(_, parent, to): &&(String, String, Option<String>)| {
                parent.eq_ignore_ascii_case(&link.parent)
                    && to.as_deref().zip(parent_key).is_none_or(|(to, key)| to.eq_ignore_ascii_case(key))
            };
            // A foreign key in dsr's store to a table the map places in a company database
            // names the store's own table of that name, which holds none of the parent's rows:
            // no row could be written (an import refused every one).
            if t.database.is_none() && in_store.contains(t.name.as_str()) {
                for (column, parent, _) in &declared {
                    let Some(db) = f
                        .table
                        .iter()
                        .find(|p| p.name.eq_ignore_ascii_case(parent))
                        .and_then(|p| p.database.as_deref())
                    else {
                        continue;
                    };
                    say(
                        format!("table[{i}].database"),
                        format!(
                            "the store's table {:?} (dsr's built-in one, where the entry declares no columns) has a foreign key {column} to {parent:?} in dsr's store, but the map places {parent:?} in database {db:?}, so no row could be written: declare its columns ([[table.column]]) so that it is made without that key, or place it in {db:?} too",
                            t.name
                        ),
                    );
                }
            }
            let on_link: Vec<_> = declared.iter().filter(|(c, _, _)| c.eq_ignore_ascii_case(&link.column)).collect();
            if let Some((_, parent, to)) = on_link.first().filter(|_| !on_link.iter().any(follows)) {
                say(
                    format!("table[{i}].link.parent"),
                    format!(
                        "the foreign key of {:?}.{} refers to {parent:?}{}, but the link names {:?}: each row would be given to the person of another row; make the link's parent {parent:?} (with its own link to the person)",
                        t.name,
                        link.column,
                        to.as_deref().map(|c| format!(" ({c})")).unwrap_or_default(),
                        link.parent
                    ),
                );
            }
        }
    }
    // Rows already in the store name recipients by code: each code must be the register's (Art. 19).
    let codes: HashSet<&str> = f.recipient.iter().map(|r| r.code.as_str()).collect();
    for (i, t) in f.table.iter().enumerate().filter(|(_, t)| in_store.contains(t.name.as_str())) {
        for (j, r) in t.recipient.iter().enumerate() {
            let Some(column) = r.column.as_deref().filter(|c| is_identifier(c) && has(&t.name, c)) else { continue };
            let unknown: Vec<String> = personal::distinct_values(conn, &t.sql_name(), column)?
                .into_iter()
                .filter(|v| !codes.contains(v.as_str()))
                .collect();
            if !unknown.is_empty() {
                say(
                    format!("table[{i}].recipient[{j}].column"),
                    format!("rows of {:?} name recipients the register lacks: {}", t.name, unknown.join(", ")),
                );
            }
        }
    }
    if !f.table.is_empty() {
        for (table, column, parent, rows) in left_out(f, conn)? {
            say(
                "table".into(),
                format!(
                    "{} {table:?} has {rows} row{} linked to {parent:?} ({column}) but is not in the data map: \
                     they would be left out of every answer and erasure",
                    if table.contains('.') { "the company database's table" } else { "the store's table" },
                    if rows == 1 { "" } else { "s" }
                ),
            );
        }
    }
    Ok(problems)
}

/// Whether `name` is that of one of dsr's own tables, in any case: the SQL over dsr's records
/// would take a company's table of that name for its own.
pub fn is_own_table(name: &str) -> bool {
    own_tables().iter().any(|t| t.eq_ignore_ascii_case(name))
}

/// dsr's own tables: those of a new store's schema that the built-in data map does not hold.
pub fn own_tables() -> &'static [String] {
    static OWN: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    OWN.get_or_init(|| {
        let builtin = personal::builtin();
        let store = crate::store::Store::in_memory().expect("a new in-memory store");
        let names: Vec<String> = store
            .conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("the schema of a new store");
        names.into_iter().filter(|n| !builtin.iter().any(|t| &t.name == n)).collect()
    })
}

/// Tables of the store that hold rows hanging from a table of the map but are not in it
/// themselves, each with its first such link and the rows that use it. dsr's own records (the
/// requests, and what refers to them) are not the company's data.
fn left_out(f: &CompanyFile, conn: &dyn Db) -> anyhow::Result<Vec<(String, String, String, i64)>> {
    // The map's tables in the store itself: one of the same name in a company database is
    // another table (moved there, the store's own copy would be left out of every right).
    let mapped: HashSet<&str> = f.table.iter().filter(|t| t.database.is_none()).map(|t| t.name.as_str()).collect();
    let keys = personal::foreign_keys(conn)?;
    let mut own: HashSet<&str> = keys.iter().filter(|k| k.2 == "request").map(|k| k.0.as_str()).collect();
    own.insert("request");
    let mut out: Vec<(String, String, String, i64)> = Vec::new();
    for (table, column, parent) in &keys {
        let candidate =
            mapped.contains(parent.as_str()) && !mapped.contains(table.as_str()) && !own.contains(table.as_str());
        if candidate && !out.iter().any(|o| &o.0 == table) {
            let rows = personal::rows_linked(conn, table, column)?;
            if rows > 0 {
                out.push((table.clone(), column.clone(), parent.clone(), rows));
            }
        }
    }
    // A company database's tables, by the foreign keys its application declares (SQLite files
    // attached to the store; tables named "database.table").
    for db in &f.database {
        // Beside a PostgreSQL store, the file is read through a SQLite connection of its own.
        let conn: &dyn Db = conn.file_side(&db.name).unwrap_or(conn);
        if conn.dialect() != crate::store::db::Dialect::Sqlite {
            continue;
        }
        let attached: Vec<String> = conn.all("SELECT name FROM pragma_database_list", &[], |r| r.get(0))?;
        if attached.contains(&db.name) {
            let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
            let in_db: HashSet<&str> = f
                .table
                .iter()
                .filter(|t| t.database.as_deref() == Some(db.name.as_str()))
                .map(|t| t.name.as_str())
                .collect();
            let keys: Vec<(String, String, String)> = conn.all(
                &format!(
                    "SELECT m.name, f.\"from\", f.\"table\" FROM {}.sqlite_schema m, pragma_foreign_key_list(m.name, ?1) f
                     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, f.id",
                    quote(&db.name)
                ),
                &[crate::store::db::Value::Text(db.name.clone())],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            for (table, column, parent) in keys {
                let named = format!("{}.{table}", db.name);
                if !in_db.contains(parent.as_str())
                    || in_db.contains(table.as_str())
                    || out.iter().any(|o| o.0 == named)
                {
                    continue;
                }
                let rows: i64 = conn.one(
                    &format!(
                        "SELECT count(*) FROM {}.{} WHERE {} IS NOT NULL",
                        quote(&db.name),
                        quote(&table),
                        quote(&column)
                    ),
                    &[],
                    |r| r.get(0),
                )?;
                if rows > 0 {
                    out.push((named, column, parent, rows));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::clock::Clock;
    use crate::store::{fixture, Store};

    #[test]
    fn a_fixture_store_with_its_people_fits_its_own_file() {
        for f in fixture::FIXTURES {
            let mut store = Store::in_memory().unwrap();
            fixture::load(&mut store.conn, f, Clock::from_env().unwrap(), false).unwrap();
            let file = crate::map::export::export(&store.conn).unwrap().unwrap();
            assert_eq!(super::check(&file, &store.conn).unwrap(), vec![], "{}", f.name);
        }
    }

    #[test]
    fn rows_naming_a_recipient_the_file_drops_are_named() {
        let mut store = Store::in_memory().unwrap();
        fixture::load(&mut store.conn, &fixture::FIXTURES[0], Clock::from_env().unwrap(), false).unwrap();
        let mut file = crate::map::export::export(&store.conn).unwrap().unwrap();
        file.recipient.retain(|r| r.code != "paypal");
        let problems = super::check(&file, &store.conn).unwrap();
        let i = file.table.iter().position(|t| t.name == "payment_method").unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].key, format!("table[{i}].recipient[0].column"));
        assert_eq!(problems[0].what, "rows of \"payment_method\" name recipients the register lacks: paypal");
    }

    #[test]
    fn a_table_with_rows_of_mapped_people_left_out_of_the_map_is_named() {
        let mut store = Store::in_memory().unwrap();
        fixture::load(&mut store.conn, &fixture::FIXTURES[0], Clock::from_env().unwrap(), false).unwrap();
        let mut file = crate::map::export::export(&store.conn).unwrap().unwrap();
        file.table.retain(|t| t.name != "crash_report");
        let rows: i64 = store.conn.query_row("SELECT count(*) FROM crash_report", [], |r| r.get(0)).unwrap();
        assert!(rows > 0);
        let problems = super::check(&file, &store.conn).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].key, "table");
        assert!(
            problems[0].what.starts_with(&format!(
                "the store's table \"crash_report\" has {rows} rows linked to \"person\" (person_id) but is not in the data map"
            )),
            "{problems:?}"
        );
        // The same file against an empty store (register check, init --register): nothing to lose.
        let empty = Store::in_memory().unwrap();
        assert_eq!(super::check(&file, &empty.conn).unwrap(), vec![]);
    }
}
