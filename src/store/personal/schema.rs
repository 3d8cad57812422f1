//! Tables of a company's map made from their `[[table.column]]` declarations, and what the
//! store's own schema says (columns, foreign keys, rows), for `init --register` and the checks.

use rusqlite::Connection;

use super::DataMap;
use crate::map::table::{ColumnType, Table};

/// The statements that create a table of the map from its `[[table.column]]` declarations: STRICT,
/// the declared key column as primary key (an integer one is SQLite's rowid), a foreign key for
/// the link to the parent's key and for every `references` column, and an index on the link, on
/// every `references` column and on every identifier column (a unique or key column has its own).
pub fn create_table_sql(map: &DataMap, table: &Table) -> Vec<String> {
    let key_of = |name: &str| map.table(name).map_or("id", |t| t.key.as_str()).to_owned();
    let link = table.link.as_ref();
    let mut columns: Vec<String> = Vec::new();
    let mut indexed: Vec<&str> = Vec::new();
    for c in &table.column {
        let mut def = format!("{} {}", c.name, column_type(c.kind));
        let parent = match link {
            Some(l) if l.column == c.name => Some(l.parent.as_str()),
            _ => c.references.as_deref(),
        };
        if c.name == table.key {
            def.push_str(" PRIMARY KEY");
            if c.kind != ColumnType::Integer {
                def.push_str(" NOT NULL");
            }
        } else {
            if c.required {
                def.push_str(" NOT NULL");
            }
            if c.unique {
                def.push_str(" UNIQUE");
            }
            let identifier = table.identifier.iter().any(|i| i.column == c.name);
            if (parent.is_some() || identifier) && !c.unique {
                indexed.push(&c.name);
            }
        }
        if let Some(parent) = parent {
            def.push_str(&format!(" REFERENCES {parent} ({})", key_of(parent)));
        }
        columns.push(def);
    }
    let mut out = vec![format!("CREATE TABLE {} (\n    {}\n) STRICT", table.name, columns.join(",\n    "))];
    out.extend(indexed.iter().map(|c| format!("CREATE INDEX {t}_{c} ON {t} ({c})", t = table.name)));
    out
}

fn column_type(kind: ColumnType) -> &'static str {
    match kind {
        ColumnType::Text => "TEXT",
        ColumnType::Integer => "INTEGER",
        ColumnType::Real => "REAL",
        ColumnType::Blob => "BLOB",
    }
}

/// Create the tables of a map that the store does not have and whose columns the map declares
/// (`dsr init --register`), parents first; a table that exists is left as it is. Returns the
/// tables SQLite refused (their index in `tables`, and its message), e.g. for a name that is an
/// SQL keyword; the caller's transaction then holds whatever was created before.
pub fn create_missing(conn: &Connection, tables: &[Table]) -> rusqlite::Result<Vec<(usize, String)>> {
    let map = DataMap { tables: tables.to_vec() };
    let mut refused = Vec::new();
    for table in map.parents_first() {
        if table.column.is_empty() || table.database.is_some() || table_exists(conn, &table.name)? {
            continue;
        }
        for sql in create_table_sql(&map, table) {
            if let Err(e) = conn.execute_batch(&sql) {
                let i = tables.iter().position(|t| t.name == table.name).unwrap_or(0);
                refused.push((i, e.to_string()));
                break;
            }
        }
    }
    Ok(refused)
}

/// Whether the store has a table of this name.
pub fn table_exists(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row("SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1)", [name], |r| {
        r.get(0)
    })
}

/// The columns of a table of the store, in order; `None` when the store has no such table.
pub fn columns_of(conn: &Connection, table: &str) -> rusqlite::Result<Option<Vec<String>>> {
    columns_in(conn, "main", table)
}

/// The columns of a table of one attached database (`main` for the store), in order; `None`
/// when it has no such table.
pub fn columns_in(conn: &Connection, schema: &str, table: &str) -> rusqlite::Result<Option<Vec<String>>> {
    let attached: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM pragma_database_list WHERE name = ?1)")?
        .query_row([schema], |r| r.get(0))?;
    if !attached {
        return Ok(None);
    }
    let mut stmt = conn.prepare_cached("SELECT name FROM pragma_table_info(?1, ?2) ORDER BY cid")?;
    let columns: Vec<String> = stmt.query_map([table, schema], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    Ok((!columns.is_empty()).then_some(columns))
}

/// The columns of a table of the map where it lives: its company database or the store.
pub fn columns_of_table(conn: &Connection, table: &Table) -> rusqlite::Result<Option<Vec<String>>> {
    columns_in(conn, table.database.as_deref().unwrap_or("main"), &table.name)
}

/// The distinct values a column holds, NULL left out (e.g. the recipient codes rows name).
/// `table` and `column` must be names `map::check` accepted.
pub fn distinct_values(conn: &Connection, table: &str, column: &str) -> rusqlite::Result<Vec<String>> {
    let sql = format!("SELECT DISTINCT CAST({column} AS TEXT) FROM {table} WHERE {column} IS NOT NULL ORDER BY 1");
    let mut stmt = conn.prepare(&sql)?;
    let values = stmt.query_map([], |r| r.get(0))?.collect();
    values
}

/// The foreign keys of the store's tables: (table, column, the table it refers to).
pub fn foreign_keys(conn: &Connection) -> rusqlite::Result<Vec<(String, String, String)>> {
    let mut stmt = conn.prepare(
        "SELECT m.name, f.\"from\", f.\"table\" FROM sqlite_schema m, pragma_foreign_key_list(m.name) f
         WHERE m.type = 'table' ORDER BY m.name, f.id, f.seq",
    )?;
    let keys = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect();
    keys
}

/// How many rows of a table refer to a row (`column` not NULL). `table` and `column` are names
/// of the store's own schema.
pub fn rows_linked(conn: &Connection, table: &str, column: &str) -> rusqlite::Result<i64> {
    let quote = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
    conn.query_row(&format!("SELECT count(*) FROM {} WHERE {} IS NOT NULL", quote(table), quote(column)), [], |r| {
        r.get(0)
    })
}
