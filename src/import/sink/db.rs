//! The rows of an import into another backend (PostgreSQL) through the store seam, a
//! savepoint per row.

use rusqlite::types::Value;

use super::super::sql::Sql;
use super::super::Summary;
use super::{check, forget_rectified, kept_missing, not_null, row_named, unique, Existing, Sink};
use crate::store::db::{Conn, Db};

/// Another backend (PostgreSQL): each statement through the store seam, in a transaction per
/// batch; each row written under a savepoint, so that a row the database refuses is left out
/// and the transaction goes on. The keys seen are kept in a temporary table of the session.
pub(in crate::import) struct DbSink<'c> {
    conn: &'c dyn Conn,
    tx: Option<Box<dyn crate::store::db::Tx + 'c>>,
    sql: Sql,
    columns: usize,
    /// The temporary table of the keys seen.
    seen: &'static str,
    /// Rows added by this run, and the count at which the table's statistics are taken next
    /// (PostgreSQL; `None` on SQLite): see [`DbSink::added`].
    added: u64,
    analyze_at: Option<u64>,
}

/// Rows added before a PostgreSQL table's statistics are first taken again ([`DbSink::added`]).
const FIRST_ANALYZE: u64 = 1_000;

impl<'c> DbSink<'c> {
    pub(in crate::import) fn begin(conn: &'c dyn Conn, sql: Sql, columns: usize) -> anyhow::Result<DbSink<'c>> {
        let tx = conn.begin()?;
        // Where the table is: the keys seen join its rows (`remove_missing`). Beside a PostgreSQL
        // store, a company's SQLite file's statements go to its connection by SQLite's `temp.`.
        let seen = match conn.map_dialect() {
            crate::store::db::Dialect::Postgres => {
                tx.run("CREATE TEMP TABLE IF NOT EXISTS import_seen (k text PRIMARY KEY, line bigint NOT NULL)", &[])?;
                "pg_temp.import_seen"
            }
            crate::store::db::Dialect::Sqlite => {
                tx.run(
                    "CREATE TEMP TABLE IF NOT EXISTS temp.import_seen (k TEXT PRIMARY KEY, line INTEGER NOT NULL)",
                    &[],
                )?;
                "temp.import_seen"
            }
        };
        tx.run(&format!("DELETE FROM {seen}"), &[])?;
        let analyze_at = matches!(conn.map_dialect(), crate::store::db::Dialect::Postgres).then_some(FIRST_ANALYZE);
        Ok(DbSink { conn, tx: Some(tx), sql, columns, seen, added: 0, analyze_at })
    }

    /// A row was added. On PostgreSQL, a table that grows during the run (a first load into an
    /// empty table) has its statistics taken again as it passes 1,000 rows added, then 4,000,
    /// 16,000...: the plan of the key lookup, made once for the run from the statistics of an
    /// almost empty table, scans the whole table for every row (200,000 rows took minutes
    /// before their first batch committed); `ANALYZE` counts the rows the run's own
    /// transaction added and makes the lookup use the key's index.
    fn added(&mut self) -> anyhow::Result<()> {
        self.added += 1;
        if self.analyze_at.is_some_and(|at| self.added >= at) {
            self.tx().run(&format!("ANALYZE {}", self.sql.from), &[])?;
            self.analyze_at = Some(self.added * 4);
        }
        Ok(())
    }

    fn tx(&self) -> &dyn Db {
        self.tx.as_deref().expect("a transaction is open while the run goes")
    }

    /// Run a statement under a savepoint: `Err` with the database's reason when it refused it.
    fn guarded(&self, sql: &str, params: &[Value]) -> anyhow::Result<Result<usize, String>> {
        let tx = self.tx();
        tx.run("SAVEPOINT import_row", &[])?;
        let done = tx.run(sql, params);
        if done.is_err() {
            tx.run("ROLLBACK TO import_row", &[])?;
        }
        tx.run("RELEASE import_row", &[])?;
        Ok(done.map_err(|e| db_reason(&e)))
    }
}

/// A key as the text the temporary table of keys holds.
fn key_text(key: &Value) -> Value {
    match key {
        Value::Integer(i) => Value::Text(i.to_string()),
        Value::Real(r) => Value::Text(r.to_string()),
        other => other.clone(),
    }
}

impl Sink for DbSink<'_> {
    fn seen(&mut self, key: &Value, line: u64) -> anyhow::Result<Option<u64>> {
        let tx = self.tx();
        let k = key_text(key);
        let added = tx.run(
            &format!("INSERT INTO {} (k, line) VALUES (?1, ?2) ON CONFLICT DO NOTHING", self.seen),
            &[k.clone(), Value::Integer(line as i64)],
        )?;
        if added == 1 {
            return Ok(None);
        }
        let sql = format!("SELECT line FROM {} WHERE k = ?1", self.seen);
        Ok(Some(tx.one(&sql, &[k], |r| r.get::<i64>(0))? as u64))
    }

    fn existing(&mut self, key: &Value) -> anyhow::Result<Vec<Existing>> {
        let n = self.columns;
        self.tx().all(&self.sql.select, std::slice::from_ref(key), |r| {
            let values = (0..n).map(|i| r.get::<Value>(i + 3)).collect::<anyhow::Result<Vec<_>>>()?;
            Ok(Existing {
                row_id: r.get(0)?,
                own_key: r.get::<Option<String>>(1)?.unwrap_or_default(),
                dsr_wrote: r.get(2)?,
                values,
            })
        })
    }

    fn write(&mut self, row_id: Option<&Value>, row: &[Value]) -> anyhow::Result<Result<(), String>> {
        Ok(match row_id {
            None => {
                let done = self.guarded(&self.sql.insert, row)?;
                if done.is_ok() {
                    self.added()?;
                }
                done
            }
            Some(id) => {
                let mut params = row.to_vec();
                params.push(id.clone());
                self.guarded(&self.sql.update, &params)?
            }
        }
        .map(|_| ()))
    }

    fn db(&self) -> &dyn Db {
        self.tx()
    }

    fn pause(&mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.tx.take() {
            tx.commit()?;
        }
        Ok(())
    }

    fn resume(&mut self) -> anyhow::Result<()> {
        self.tx = Some(self.conn.begin()?);
        Ok(())
    }

    fn remove_missing(&mut self, summary: &mut Summary) -> anyhow::Result<()> {
        let (from, key_column, row_id) = (&self.sql.from, &self.sql.key_column, &self.sql.row_id);
        // NOT EXISTS, an anti-join: `NOT IN (SELECT ...)` of millions of keys is hashed only
        // when the hash fits in work_mem.
        let missing: Vec<(Value, Option<String>, i64)> = self.tx().all(
            &format!(
                "SELECT t.{row_id}, CAST(t.{} AS TEXT), {} FROM {from} t WHERE (t.{key_column} IS NULL
                 OR NOT EXISTS (SELECT 1 FROM {} s WHERE s.k = CAST(t.{key_column} AS TEXT))) AND {}",
                self.sql.own_key, self.sql.kept_case, self.seen, self.sql.own_rows
            ),
            &[],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        for (id, key, kept) in missing {
            if let Some(why) = self.sql.kept(kept) {
                kept_missing(summary, &row_named(row_id, &id), why.clone());
                continue;
            }
            match self.guarded(&format!("DELETE FROM {from} WHERE {row_id} = ?1"), std::slice::from_ref(&id))? {
                Ok(n) => {
                    summary.removed += n as u64;
                    forget_rectified(self.tx(), &self.sql.name, key)?;
                }
                Err(why) => kept_missing(summary, &row_named(row_id, &id), why),
            }
        }
        Ok(())
    }

    fn commit(mut self) -> anyhow::Result<()> {
        match self.tx.take() {
            Some(tx) => tx.commit(),
            None => Ok(()),
        }
    }
}

/// A constraint PostgreSQL refused, said as [`sqlite_reason`] says SQLite's.
fn db_reason(e: &anyhow::Error) -> String {
    let db = e.chain().find_map(|c| c.downcast_ref::<postgres::Error>()).and_then(|p| p.as_db_error());
    match db {
        Some(d) if *d.code() == postgres::error::SqlState::FOREIGN_KEY_VIOLATION => {
            // Its detail: `Key (column)=(value) is not present in table "parent".` (the value left out).
            let detail = d.detail().unwrap_or_default();
            let column = detail.strip_prefix("Key (").and_then(|r| r.split_once(")=(")).map(|(c, _)| c);
            let parent = detail.rsplit_once("in table \"").and_then(|(_, r)| r.split_once('"')).map(|(t, _)| t);
            match (column, parent) {
                (Some(column), Some(parent)) => format!(
                    "{column}: names no row of {parent} (FOREIGN KEY); load {parent} first, or leave the row out"
                ),
                _ => "a value refers to a row the table it names does not have (FOREIGN KEY)".into(),
            }
        }
        Some(d) if *d.code() == postgres::error::SqlState::NOT_NULL_VIOLATION => {
            not_null(d.column().unwrap_or("a column"))
        }
        Some(d) if *d.code() == postgres::error::SqlState::UNIQUE_VIOLATION => {
            unique(d.constraint().unwrap_or("a unique column"))
        }
        Some(d) if *d.code() == postgres::error::SqlState::CHECK_VIOLATION => {
            check(d.constraint().unwrap_or("a check"))
        }
        Some(d) => d.message().to_owned(),
        None => format!("{e:#}"),
    }
}
