//! When a foreign key refuses an erasure's delete: which columns still refer to the rows, so
//! that the officer is told what to change rather than only that something does.

use crate::store::db::{Db, Dialect, Value};
use crate::store::personal::DataMap;

/// An erasure's delete refused by a foreign key, with the columns that refer to the rows (the
/// database's error its source, which sets the exit code), read by `output` for the one-line
/// message.
#[derive(Debug)]
pub struct ReferredBy(pub String, anyhow::Error);

impl std::fmt::Display for ReferredBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReferredBy {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.1.as_ref())
    }
}

/// The columns of the table's database that refer to the rows of `table` the filter (`?1` the
/// person) selects, with how many rows of theirs do: (table.column, rows). On SQLite only (a
/// PostgreSQL store says which constraint refused in its own error).
fn referrers(
    conn: &dyn Db,
    map: &DataMap,
    table: &str,
    filter: &str,
    person: i64,
) -> anyhow::Result<Vec<(String, i64)>> {
    let Some(t) = map.table(table) else { return Ok(Vec::new()) };
    if conn.map_dialect() != Dialect::Sqlite {
        return Ok(Vec::new());
    }
    let schema = t.database.as_deref().unwrap_or("main");
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let keys: Vec<(String, String, Option<String>)> = conn.all(
        &format!(
            "SELECT m.name, f.\"from\", f.\"to\" FROM {}.sqlite_schema m, pragma_foreign_key_list(m.name, ?2) f
             WHERE m.type = 'table' AND f.\"table\" = ?1 ORDER BY m.name, f.\"from\"",
            quote(schema)
        ),
        &[Value::Text(table.to_owned()), Value::Text(schema.to_owned())],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let mut out = Vec::new();
    for (child, column, to) in keys {
        let to = to.unwrap_or_else(|| t.key.clone());
        let n: i64 = conn.one(
            &format!(
                "SELECT count(*) FROM {schema}.{child} WHERE {column} IN (SELECT {to} FROM {from} WHERE {filter})",
                schema = quote(schema),
                child = quote(&child),
                column = quote(&column),
                to = quote(&to),
                from = map.sql_name(table),
            ),
            &[Value::Integer(person)],
            |r| r.get(0),
        )?;
        if n > 0 {
            out.push((format!("{child}.{column}"), n));
        }
    }
    Ok(out)
}

/// The error of a delete a foreign key refused, with what refers to the rows when that can be
/// found (and the search itself does not fail).
pub(super) fn refused(
    conn: &dyn Db,
    map: &DataMap,
    table: &str,
    filter: &str,
    person: i64,
    e: anyhow::Error,
) -> anyhow::Error {
    let found = referrers(conn, map, table, filter, person).unwrap_or_default();
    if found.is_empty() {
        return e;
    }
    let named: Vec<String> =
        found.iter().map(|(c, n)| format!("{c} ({n} row{})", if *n == 1 { "" } else { "s" })).collect();
    anyhow::Error::new(ReferredBy(format!(
        "the erasure could not delete the person's rows of {table}: {} still refer{} to them, and the plan neither deletes nor detaches those rows; everything was rolled back and nothing was done: where that table is one of the map, say in its [table.erase] entry what goes with the person (docs/register-file.md), where it is not, describe it in the company file (`dsr register apply FILE`); a reference from another person's row (a parent named on a child's record) is the application's to clear first",
        named.join(", "),
        if found.len() == 1 && found[0].1 == 1 { "s" } else { "" }
    ), e))
}
