//! Triggers on the map's tables that write elsewhere. A trigger an application keeps (an
//! address history, an audit table of its own) copies a row's values into a table the data map
//! does not name: no answer shows that copy and no erasure removes it, so an erased value
//! survives there. dsr cannot read the intent of a trigger; it names each one on a table of the
//! map that writes to a table outside it.

use regex::Regex;

use super::Finding;
use crate::store::db::{Db, Dialect};
use crate::store::personal::DataMap;

pub(super) fn check(conn: &dyn Db, map: &DataMap, out: &mut Vec<Finding>) -> anyhow::Result<()> {
    if conn.dialect() != Dialect::Sqlite {
        return Ok(());
    }
    let mapped = |name: &str| map.tables.iter().any(|t| t.name.eq_ignore_ascii_case(name));
    // The statements that write a table: INSERT / REPLACE INTO name, UPDATE name SET.
    let writes = writes();
    let mut schemas = vec!["main".to_owned()];
    schemas.extend(map.tables.iter().filter_map(|t| t.database.clone()));
    schemas.sort();
    schemas.dedup();
    for schema in schemas {
        let sql = format!(
            "SELECT name, tbl_name, sql FROM \"{}\".sqlite_schema WHERE type = 'trigger'",
            schema.replace('"', "\"\"")
        );
        let triggers: Vec<(String, String, Option<String>)> =
            conn.all(&sql, &[], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        for (name, table, body) in triggers {
            if !mapped(&table) {
                continue;
            }
            let body = body.unwrap_or_default();
            let mut elsewhere: Vec<String> =
                writes.captures_iter(&body).map(|c| unquote(&c[1])).filter(|target| !mapped(target)).collect();
            elsewhere.sort();
            elsewhere.dedup();
            if elsewhere.is_empty() {
                continue;
            }
            let place = if schema == "main" { "the store".to_owned() } else { format!("company database {schema}") };
            out.push(Finding {
                check: "trigger",
                table: table.clone(),
                column: None,
                rows: 0,
                what: format!(
                    "trigger {name} on {table} ({place}) writes to {}, which the data map does not name: values copied there are in no answer and no erasure removes them",
                    elsewhere.join(", ")
                ),
                fix: format!(
                    "add {} to the data map with its link to the person (`dsr register apply FILE`), or drop the trigger if the copy is not needed",
                    elsewhere.join(", ")
                ),
            });
        }
    }
    Ok(())
}

/// The statements that write a table (INSERT / REPLACE INTO, UPDATE), the table's name (after
/// its schema, if one is given) captured.
fn writes() -> Regex {
    const NAME: &str = r#"(?:"[^"]+"|`[^`]+`|\[[^\]]+\]|[\w$]+)"#;
    let statement = r"(?is)\b(?:(?:insert|replace)(?:\s+or\s+\w+)?\s+into|update(?:\s+or\s+\w+)?)\s+";
    Regex::new(&format!("{statement}(?:{NAME}\\s*\\.\\s*)?({NAME})")).expect("a valid pattern")
}

fn unquote(name: &str) -> String {
    let name = name.trim();
    let inner = name
        .strip_prefix('"')
        .and_then(|n| n.strip_suffix('"'))
        .or_else(|| name.strip_prefix('`').and_then(|n| n.strip_suffix('`')))
        .or_else(|| name.strip_prefix('[').and_then(|n| n.strip_suffix(']')))
        .unwrap_or(name);
    inner.to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_tables_a_trigger_writes_are_read_from_its_statements() {
        let store = crate::store::Store::in_memory().unwrap();
        let conn = &store.conn;
        conn.execute_batch(
            "CREATE TABLE addr (id INTEGER PRIMARY KEY, street TEXT);
             CREATE TABLE \"Addr History\" (street TEXT);
             CREATE TRIGGER keep AFTER DELETE ON addr BEGIN
               INSERT OR IGNORE INTO \"Addr History\" (street) VALUES (old.street);
               UPDATE addr SET street = NULL WHERE 0;
             END;",
        )
        .unwrap();
        let sql: String =
            conn.query_row("SELECT sql FROM sqlite_schema WHERE name = 'keep'", [], |r| r.get(0)).unwrap();
        let targets: Vec<String> = super::writes().captures_iter(&sql).map(|c| super::unquote(&c[1])).collect();
        assert_eq!(targets, ["Addr History", "addr"]);
    }
}
