//! `dsr migrate`: a SQLite store copied into a new PostgreSQL store, all of it in one
//! PostgreSQL transaction (a failed or killed copy leaves nothing behind): the store's schema by
//! its migrations, the tables the company added to its SQLite store translated from SQLite's
//! catalog, every row by binary `COPY`, the identity columns set past the copied numbers. The
//! audit trail is then verified on the copy and must end at the same head as on SQLite.

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use serde::Serialize;

use super::{migrate, translate, Target};
use crate::audit::Verification;
use crate::error::Error;
use crate::store::db::{Param, Pg, Value};
use crate::store::Store;

#[derive(Debug, Serialize)]
pub struct TableCopy {
    pub table: String,
    pub rows: u64,
}

#[derive(Debug, Serialize)]
pub struct Copied {
    pub schema: String,
    pub tables: Vec<TableCopy>,
    pub rows: u64,
    /// The tables the SQLite store had beyond the store's schema (a company's own), made here.
    pub tables_added: Vec<String>,
    /// The audit trail verified on the copy.
    pub audit: Verification,
}

/// Copy `from` into a new store at `target`; `progress` is told the rows copied and the total.
pub fn copy(from: &Store, target: &Target, mut progress: impl FnMut(u64, u64)) -> anyhow::Result<Copied> {
    let conn = &from.conn;
    if !crate::store::attached::listed(conn)?.is_empty() {
        return Err(Error::invalid(
            "--from",
            "the store's data map names company databases ([[database]]); dsr migrate copies a store whose tables are all in it",
        )
        .into());
    }
    let on_sqlite = crate::audit::verify(conn)?;
    if !on_sqlite.ok {
        return Err(Error::AuditBroken {
            entry: on_sqlite.first_bad_entry.unwrap_or(0),
            why: format!("{} (in the SQLite store; nothing was copied)", on_sqlite.problem.unwrap_or_default()),
        }
        .into());
    }
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut total = 0u64;
    for t in &tables {
        total += conn.query_row(&format!("SELECT count(*) FROM \"{t}\""), [], |r| r.get::<_, i64>(0))? as u64;
    }

    let schema = target.schema.clone();
    let mut client = target.connect()?;
    let mut tx = client.transaction()?;
    migrate::create_in(&mut tx, target)?;
    tx.batch_execute(&format!("SET CONSTRAINTS ALL DEFERRED; DELETE FROM {schema}.store_meta;"))?;
    let mut later = Vec::new();
    let mut tables_added = Vec::new();
    for t in &tables {
        let exists: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = $2)",
                &[&schema, t],
            )?
            .get(0);
        if !exists {
            let tr = translate::table(conn, t, &schema)?;
            tx.batch_execute(&tr.create)?;
            later.extend(tr.indexes);
            later.extend(tr.foreign_keys);
            tables_added.push(t.clone());
        }
    }

    // The planner's statistics sample no identifier (an email, a phone number) of the copy.
    let map = crate::store::personal::DataMap::load(conn)?;
    super::forensic::no_statistics_on_identifiers(&mut tx, &schema, &map)?;

    let mut copied = Vec::new();
    let mut done = 0u64;
    for t in &tables {
        let columns: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")?
            .query_map([t], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let list = columns.join(", ");
        let types: Vec<Type> = tx
            .prepare(&format!("SELECT {list} FROM {schema}.{t} LIMIT 0"))?
            .columns()
            .iter()
            .map(|c| c.type_().clone())
            .collect();
        let sink = tx.copy_in(&format!("COPY {schema}.{t} ({list}) FROM STDIN BINARY"))?;
        let mut writer = BinaryCopyInWriter::new(sink, &types);
        let mut stmt = conn.prepare(&format!("SELECT {list} FROM \"{t}\""))?;
        let mut rows = stmt.query([])?;
        let mut n = 0u64;
        while let Some(r) = rows.next()? {
            let values = (0..columns.len()).map(|i| r.get::<_, Value>(i)).collect::<rusqlite::Result<Vec<_>>>()?;
            let params: Vec<Param> = values.iter().map(Param).collect();
            let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
            writer.write(&refs)?;
            n += 1;
            if n.is_multiple_of(10_000) {
                progress(done + n, total);
            }
        }
        writer.finish()?;
        done += n;
        progress(done, total);
        copied.push(TableCopy { table: t.clone(), rows: n });
    }
    for sql in &later {
        tx.batch_execute(sql)?;
    }
    // The next number an identity column gives is past the copied ones.
    let identities: Vec<(String, String)> = tx
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns
              WHERE table_schema = $1 AND is_identity = 'YES'",
            &[&schema],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for (t, c) in identities {
        tx.execute(
            &format!(
                "SELECT setval(pg_get_serial_sequence('{schema}.{t}', '{c}'), coalesce((SELECT max({c}) FROM {schema}.{t}), 0) + 1, false)"
            ),
            &[],
        )?;
    }
    tx.execute(
        &format!(
            "INSERT INTO {schema}.store_meta (key, value) VALUES ('audit-head', convert_to($1, 'UTF8')) ON CONFLICT (key) DO NOTHING"
        ),
        &[&format!("0:{}", crate::audit::GENESIS)],
    )?;
    tx.commit()?;

    let audit = crate::audit::verify(&Pg::new(target.connect()?, &schema)?)?;
    let same = audit.ok && audit.head.as_ref().map(|h| &h.hash) == on_sqlite.head.as_ref().map(|h| &h.hash);
    if !same {
        return Err(Error::AuditBroken {
            entry: audit.first_bad_entry.unwrap_or(0),
            why: format!(
                "the copy's audit trail does not end where the SQLite store's does ({}); the copy in schema {schema} is left for inspection",
                audit.problem.clone().unwrap_or_else(|| "another head".into())
            ),
        }
        .into());
    }
    Ok(Copied { schema, rows: done, tables: copied, tables_added, audit })
}
