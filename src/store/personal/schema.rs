//! Tables of a company's map made from their `[[table.column]]` declarations, and what the
//! store's own schema says (columns, foreign keys, rows), for `init --register` and the checks.

use rusqlite::Connection;

use super::DataMap;
use crate::map::table::{ColumnType, Table};
use crate::store::db::{text, Db, Dialect};

/// The statements that create a table of the map from its `[[table.column]]` declarations: STRICT,
/// the declared key column as primary key (an integer one is SQLite's rowid), a foreign key for
/// the link to the parent's key and for every `references` column (a parent in the same
/// database), and an index on the link, on every `references` column and on every identifier
/// column (a unique or key column has its own).
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
        // A foreign key cannot name a table of another database (a company database's): such a
        // link is checked by the import and followed by the rights without one.
        let same_database = |p: &str| map.table(p).is_none_or(|p| p.database == table.database);
        if let Some(parent) = parent.filter(|p| same_database(p)) {
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
/// (`dsr init --register`, `register apply`), parents first; a table that exists is left as it
/// is. Returns the tables the database refused (their index in `tables`, and its message),
/// e.g. for a name that is an SQL keyword; the caller's transaction then holds whatever was
/// created before. On PostgreSQL a table is made as SQLite would make it and translated as
/// `dsr migrate` translates a company's own tables (`store::postgres::translate`).
pub fn create_missing(conn: &dyn Db, tables: &[Table]) -> anyhow::Result<Vec<(usize, String)>> {
    let map = DataMap { tables: tables.to_vec() };
    let mut refused = Vec::new();
    for table in map.parents_first() {
        if table.column.is_empty() || table.database.is_some() || table_exists(conn, &table.name)? {
            continue;
        }
        let statements = match conn.dialect() {
            Dialect::Sqlite => Ok(create_table_sql(&map, table)),
            Dialect::Postgres => translated(conn, &map, table)?,
        };
        let refusal = match statements {
            Err(why) => Some(why),
            Ok(statements) => statements.iter().find_map(|sql| conn.run(sql, &[]).err().map(|e| e.to_string())),
        };
        if let Some(why) = refusal {
            let i = tables.iter().position(|t| t.name == table.name).unwrap_or(0);
            refused.push((i, why));
        }
    }
    Ok(refused)
}

/// The table of the built-in schema that dsr itself writes (Art. 16 statements, by `rectify`):
/// kept in every store, mapped or not.
pub const WRITTEN_BY_DSR: &str = "supplementary_statement";

/// Leave out of a new store the built-in tables (`schema.sql`, which every store is made with)
/// that the company of `tables` does not use: those its map leaves out, and those it declares a
/// table of its own for (`[[table.column]]`), which is then made as declared instead of being
/// left as the built-in one. Kept, with every table they refer to: the built-in tables the map
/// uses as they are, the tables a declared one refers to, the tables dsr's own records refer to
/// (`person`), and the one dsr writes itself. Only an empty table is dropped (a new store's
/// are). For a new store on SQLite (`map::load::load_new`; a PostgreSQL store is built in SQLite
/// first); a store in use keeps its tables.
pub fn leave_out_builtin(conn: &dyn Db, tables: &[Table]) -> anyhow::Result<()> {
    if conn.dialect() != Dialect::Sqlite {
        return Ok(());
    }
    let builtin: Vec<String> = super::builtin().into_iter().map(|t| t.name).collect();
    let references = foreign_keys(conn)?;
    let mut keep: std::collections::BTreeSet<String> = std::collections::BTreeSet::from([WRITTEN_BY_DSR.to_owned()]);
    let in_store = || tables.iter().filter(|t| t.database.is_none());
    let declared: Vec<&str> = in_store().filter(|t| !t.column.is_empty()).map(|t| t.name.as_str()).collect();
    for t in in_store() {
        if t.column.is_empty() {
            keep.insert(t.name.clone());
        } else {
            let parents = t.link.iter().map(|l| &l.parent).chain(t.column.iter().filter_map(|c| c.references.as_ref()));
            keep.extend(parents.filter(|p| !declared.contains(&p.as_str())).cloned());
        }
    }
    // What dsr's own tables refer to (a request to its person, ...).
    keep.extend(references.iter().filter(|(t, _, _)| !builtin.contains(t)).map(|(_, _, parent)| parent.clone()));
    // And the parents of everything kept, to any depth.
    loop {
        let parents: Vec<String> = references
            .iter()
            .filter(|(t, _, parent)| keep.contains(t) && !keep.contains(parent))
            .map(|(_, _, parent)| parent.clone())
            .collect();
        if parents.is_empty() {
            break;
        }
        keep.extend(parents);
    }
    for name in builtin.iter().filter(|name| !keep.contains(*name)) {
        if !table_exists(conn, name)? {
            continue;
        }
        let empty: bool = conn.one(&format!("SELECT NOT EXISTS (SELECT 1 FROM main.\"{name}\")"), &[], |r| r.get(0))?;
        if empty {
            conn.run(&format!("DROP TABLE main.\"{name}\""), &[])?;
        }
    }
    Ok(())
}

/// A declared table's statements for PostgreSQL: made in a SQLite database in memory, then
/// translated into the connection's schema. Foreign keys are made deferrable, as the store's own.
/// A table SQLite refuses to make is refused with SQLite's message, before PostgreSQL sees it.
fn translated(conn: &dyn Db, map: &DataMap, table: &Table) -> anyhow::Result<Result<Vec<String>, String>> {
    let scratch = Connection::open_in_memory()?;
    for sql in create_table_sql(map, table) {
        if let Err(e) = scratch.execute_batch(&sql) {
            return Ok(Err(e.to_string()));
        }
    }
    let schema: String = conn.one("SELECT current_schema()::text", &[], |r| r.get(0))?;
    let t = crate::store::postgres::translate::table(&scratch, &table.name, &crate::store::postgres::ident(&schema))?;
    let mut out = vec![t.create];
    out.extend(t.indexes);
    out.extend(t.foreign_keys);
    Ok(Ok(out))
}

/// Whether the store has a table of this name (on PostgreSQL, in the store's schema).
pub fn table_exists(conn: &dyn Db, name: &str) -> anyhow::Result<bool> {
    let sql = match conn.dialect() {
        Dialect::Sqlite => "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1)",
        Dialect::Postgres => {
            "SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?1)"
        }
    };
    conn.one(sql, &[text(name)], |r| r.get(0))
}

/// The columns of a table of the store, in order; `None` when the store has no such table.
pub fn columns_of(conn: &dyn Db, table: &str) -> anyhow::Result<Option<Vec<String>>> {
    columns_in(conn, "main", table)
}

/// The columns of a table of one attached database (`main` for the store), in order; `None`
/// when it has no such table. On PostgreSQL `main` is the store's schema and a company database
/// is a schema of the same database; the `rowid` column the translation adds is not the table's own.
pub fn columns_in(conn: &dyn Db, schema: &str, table: &str) -> anyhow::Result<Option<Vec<String>>> {
    if let Some(files) = conn.file_side(schema) {
        return columns_in(files, schema, table);
    }
    let columns: Vec<String> = match conn.dialect() {
        Dialect::Sqlite => {
            let attached: bool =
                conn.one("SELECT EXISTS (SELECT 1 FROM pragma_database_list WHERE name = ?1)", &[text(schema)], |r| {
                    r.get(0)
                })?;
            if !attached {
                return Ok(None);
            }
            conn.all("SELECT name FROM pragma_table_info(?1, ?2) ORDER BY cid", &[text(table), text(schema)], |r| {
                r.get(0)
            })?
        }
        Dialect::Postgres => conn.all(
            "SELECT column_name::text FROM information_schema.columns
             WHERE table_schema = CASE WHEN ?2 = 'main' THEN current_schema() ELSE ?2 END AND table_name = ?1
               AND column_name <> 'rowid'
             ORDER BY ordinal_position",
            &[text(table), text(schema)],
            |r| r.get(0),
        )?,
    };
    Ok((!columns.is_empty()).then_some(columns))
}

/// The columns of a table of the map where it lives: its company database or the store.
pub fn columns_of_table(conn: &dyn Db, table: &Table) -> anyhow::Result<Option<Vec<String>>> {
    columns_in(conn, table.database.as_deref().unwrap_or("main"), &table.name)
}

/// On PostgreSQL, for a table of a company's schema the role cannot see: what it lacks, when the
/// table is there (the catalog shows every table, whatever the role's rights; the information
/// schema only those it has rights on). `None` when the table is not there, or not on PostgreSQL.
/// With `writes`, also the rights the rights' changes need (INSERT, UPDATE, DELETE); without,
/// only those to see it (USAGE, SELECT): a role may be meant to only read some tables.
pub fn rights_lacking(conn: &dyn Db, table: &Table, writes: bool) -> anyhow::Result<Option<String>> {
    let Some(schema) = table.database.as_deref().filter(|_| conn.dialect() == Dialect::Postgres) else {
        return Ok(None);
    };
    if conn.file_side(schema).is_some() {
        return Ok(None);
    }
    conn.first(
        "SELECT concat_ws(', ',
                CASE WHEN NOT has_schema_privilege(n.oid, 'USAGE') THEN 'USAGE on the schema' END,
                CASE WHEN NOT has_table_privilege(c.oid, 'SELECT') THEN 'SELECT' END,
                CASE WHEN ?3 AND NOT has_table_privilege(c.oid, 'INSERT') THEN 'INSERT' END,
                CASE WHEN ?3 AND NOT has_table_privilege(c.oid, 'UPDATE') THEN 'UPDATE' END,
                CASE WHEN ?3 AND NOT has_table_privilege(c.oid, 'DELETE') THEN 'DELETE' END)
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = ?1 AND c.relname = ?2 AND c.relkind IN ('r', 'p')",
        &[text(schema), text(&table.name), writes.into()],
        |r| r.get::<String>(0),
    )
    .map(|lacking| lacking.filter(|l| !l.is_empty()))
}

/// The columns of one table of the map, where it lives, that may not be NULL.
pub fn required_columns(conn: &dyn Db, table: &Table) -> anyhow::Result<Vec<String>> {
    let schema = table.database.as_deref().unwrap_or("main");
    if let Some(files) = conn.file_side(schema) {
        return required_columns(files, table);
    }
    match conn.dialect() {
        Dialect::Sqlite => conn.all(
            "SELECT name FROM pragma_table_info(?1, ?2) WHERE \"notnull\" = 1",
            &[text(&table.name), text(schema)],
            |r| r.get(0),
        ),
        Dialect::Postgres => conn.all(
            "SELECT column_name::text FROM information_schema.columns
             WHERE table_schema = CASE WHEN ?2 = 'main' THEN current_schema() ELSE ?2 END AND table_name = ?1
               AND is_nullable = 'NO'",
            &[text(&table.name), text(schema)],
            |r| r.get(0),
        ),
    }
}

/// The foreign keys of one table of the map where it lives (its company database or the
/// store): (column, the table it refers to, the column there; `None` for that table's primary
/// key). Only single-column keys: a link is one column.
pub fn links_declared(conn: &dyn Db, table: &Table) -> anyhow::Result<Vec<(String, String, Option<String>)>> {
    let schema = table.database.as_deref().unwrap_or("main");
    if let Some(files) = conn.file_side(schema) {
        return links_declared(files, table);
    }
    match conn.dialect() {
        Dialect::Sqlite => conn.all(
            "SELECT \"from\", \"table\", \"to\" FROM pragma_foreign_key_list(?1, ?2) f
             WHERE (SELECT count(*) FROM pragma_foreign_key_list(?1, ?2) g WHERE g.id = f.id) = 1",
            &[text(&table.name), text(schema)],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        ),
        Dialect::Postgres => conn.all(
            "SELECT a.attname::text, pr.relname::text, pa.attname::text
             FROM pg_constraint c
             JOIN pg_class cr ON cr.oid = c.conrelid
             JOIN pg_namespace n ON n.oid = cr.relnamespace
             JOIN pg_class pr ON pr.oid = c.confrelid
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
             JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = c.confkey[1]
             WHERE c.contype = 'f' AND cardinality(c.conkey) = 1 AND cr.relname = ?1
               AND n.nspname = CASE WHEN ?2 = 'main' THEN current_schema() ELSE ?2 END",
            &[text(&table.name), text(schema)],
            |r| Ok((r.get(0)?, r.get(1)?, Some(r.get(2)?))),
        ),
    }
}

/// The distinct values a column holds, NULL left out (e.g. the recipient codes rows name).
/// `table` and `column` must be names `map::check` accepted.
pub fn distinct_values(conn: &dyn Db, table: &str, column: &str) -> anyhow::Result<Vec<String>> {
    let sql = format!("SELECT DISTINCT CAST({column} AS TEXT) FROM {table} WHERE {column} IS NOT NULL ORDER BY 1");
    conn.all(&sql, &[], |r| r.get(0))
}

/// The foreign keys of the store's tables: (table, column, the table it refers to).
pub fn foreign_keys(conn: &dyn Db) -> anyhow::Result<Vec<(String, String, String)>> {
    Ok(references(conn)?.into_iter().map(|(t, c, p, _)| (t, c, p)).collect())
}

/// The foreign keys of the store's tables: (table, column, the table it refers to, the column
/// there). From SQLite's pragma, or PostgreSQL's catalog for the store's schema.
pub fn references(conn: &dyn Db) -> anyhow::Result<Vec<(String, String, String, String)>> {
    let sql = match conn.dialect() {
        Dialect::Sqlite => {
            "SELECT m.name, f.\"from\", f.\"table\", coalesce(f.\"to\", 'code') FROM sqlite_schema m, pragma_foreign_key_list(m.name) f
             WHERE m.type = 'table' ORDER BY m.name, f.id, f.seq"
        }
        Dialect::Postgres => {
            "SELECT cr.relname::text, a.attname::text, pr.relname::text, pa.attname::text
             FROM pg_constraint c
             JOIN pg_class cr ON cr.oid = c.conrelid
             JOIN pg_class pr ON pr.oid = c.confrelid
             JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(col, pcol, n) ON true
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.col
             JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = k.pcol
             WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace
             ORDER BY cr.relname, c.conname, k.n"
        }
    };
    conn.all(sql, &[], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
}

/// How many rows of a table refer to a row (`column` not NULL). `table` and `column` are names
/// of the store's own schema.
pub fn rows_linked(conn: &dyn Db, table: &str, column: &str) -> anyhow::Result<i64> {
    let quote = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
    conn.one(&format!("SELECT count(*) FROM {} WHERE {} IS NOT NULL", quote(table), quote(column)), &[], |r| r.get(0))
}
