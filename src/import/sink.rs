//! Where an import's rows go (`Sink`): a SQLite store through statements prepared once for the
//! run, or another backend (PostgreSQL) through the store seam, a savepoint per row.

use rusqlite::types::Value;
use rusqlite::{params, Connection};

use super::sql::Sql;
use super::{bulk, Problem, Summary};
use crate::store::db::{Conn, Db};

/// A row of the table with the key of a file's row.
pub(super) struct Existing {
    pub(super) row_id: Value,
    /// The table's own key, as text.
    pub(super) own_key: String,
    /// A consent record dsr wrote itself (`source = 'dsr'`).
    pub(super) dsr_wrote: bool,
    /// The file's columns as the row holds them.
    pub(super) values: Vec<Value>,
}

/// Where the rows go: the statements each row runs, in the run's current transaction.
pub(super) trait Sink {
    /// Note a key the file gives; the line that gave it first when it is there already.
    fn seen(&mut self, key: &Value, line: u64) -> anyhow::Result<Option<u64>>;
    /// The table's rows with the key (more than one is a problem of the table, told as such).
    fn existing(&mut self, key: &Value) -> anyhow::Result<Vec<Existing>>;
    /// Add the row, or change the row named `row_id` to it: `Err` with the reason when the
    /// database refused it (the row is then left out, the run goes on).
    fn write(&mut self, row_id: Option<&Value>, row: &[Value]) -> anyhow::Result<Result<(), String>>;
    /// The run's transaction, for the statements of its own (marks, the audit entry).
    fn db(&self) -> &dyn Db;
    /// Commit the rows so far (a first load stays in one transaction). The run holds no lock
    /// until [`Sink::resume`] begins the next transaction, when the next row has been read: an
    /// import fed slowly (from a pipe) does not keep the officer's commands waiting.
    fn pause(&mut self) -> anyhow::Result<()>;
    /// Begin the transaction the next rows are written in.
    fn resume(&mut self) -> anyhow::Result<()>;
    /// `--delete-missing`: remove the rows whose key the file did not give (never a consent
    /// record dsr wrote); a row other rows still refer to, by a foreign key or a link of the
    /// data map, is kept and reported.
    fn remove_missing(&mut self, summary: &mut Summary) -> anyhow::Result<()>;
    /// Finish a first load (its indexes) and commit.
    fn commit(self) -> anyhow::Result<()>;
    /// Whether [`Sink::pause`] commits (a first load commits once, at its end).
    fn batched(&self) -> bool {
        true
    }
}

/// A SQLite store: the statements prepared once for the run, in a transaction begun and
/// committed on the connection itself so that they outlive each batch's commit.
pub(super) struct SqliteSink<'c> {
    pub(super) conn: &'c Connection,
    pub(super) tx: Batch<'c>,
    pub(super) insert: rusqlite::Statement<'c>,
    pub(super) select: rusqlite::Statement<'c>,
    pub(super) seen: rusqlite::Statement<'c>,
    pub(super) seen_first: rusqlite::Statement<'c>,
    pub(super) sql: Sql,
    pub(super) bulk: Option<bulk::Bulk>,
    pub(super) columns: usize,
}

impl Sink for SqliteSink<'_> {
    fn seen(&mut self, key: &Value, line: u64) -> anyhow::Result<Option<u64>> {
        if self.seen.execute(params![key, line as i64])? == 1 {
            return Ok(None);
        }
        Ok(self.seen_first.query_row([key], |r| r.get::<_, i64>(0)).map(|l| Some(l as u64))?)
    }

    fn existing(&mut self, key: &Value) -> anyhow::Result<Vec<Existing>> {
        if self.bulk.is_some() {
            return Ok(Vec::new());
        }
        let n = self.columns;
        let rows = self.select.query_map([key], |r| {
            let values = (0..n).map(|i| r.get::<_, Value>(i + 3)).collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Existing {
                row_id: r.get(0)?,
                own_key: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                dsr_wrote: r.get(2)?,
                values,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn write(&mut self, row_id: Option<&Value>, row: &[Value]) -> anyhow::Result<Result<(), String>> {
        let written = match row_id {
            None => self.insert.execute(rusqlite::params_from_iter(row.iter())),
            Some(id) => {
                let p = row.iter().chain(std::iter::once(id));
                self.conn.prepare_cached(&self.sql.update)?.execute(rusqlite::params_from_iter(p))
            }
        };
        Ok(written.map(|_| ()).map_err(|e| sqlite_reason(&e)))
    }

    fn db(&self) -> &dyn Db {
        self.conn
    }

    fn batched(&self) -> bool {
        self.bulk.is_none()
    }

    fn pause(&mut self) -> anyhow::Result<()> {
        if self.bulk.is_none() {
            self.tx.commit()?;
        }
        Ok(())
    }

    fn resume(&mut self) -> anyhow::Result<()> {
        if self.bulk.is_none() {
            self.tx.resume()?;
        }
        Ok(())
    }

    fn remove_missing(&mut self, summary: &mut Summary) -> anyhow::Result<()> {
        let (from, key_column, own_key) = (&self.sql.from, &self.sql.key_column, &self.sql.own_key);
        let missing: Vec<(i64, Option<String>, i64)> = self
            .conn
            .prepare(&format!(
                "SELECT t.rowid, CAST(t.{own_key} AS TEXT), {} FROM {from} t
                 WHERE (t.{key_column} NOT IN (SELECT k FROM temp.import_seen) OR t.{key_column} IS NULL) AND {}",
                self.sql.kept_case, self.sql.own_rows
            ))?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        for (rowid, key, kept) in missing {
            if let Some(why) = self.sql.kept(kept) {
                kept_missing(summary, &format!("rowid {rowid}"), why.clone());
                continue;
            }
            match self.conn.execute(&format!("DELETE FROM {from} WHERE rowid = ?1"), [rowid]) {
                Ok(n) => {
                    summary.removed += n as u64;
                    forget_rectified(self.conn, &self.sql.name, key)?;
                }
                Err(e) => kept_missing(summary, &format!("rowid {rowid}"), sqlite_reason(&e)),
            }
        }
        Ok(())
    }

    fn commit(mut self) -> anyhow::Result<()> {
        if let Some(bulk) = self.bulk.take() {
            bulk.finish(self.conn)?;
        }
        Ok(self.tx.commit()?)
    }
}

/// The run's transaction, begun and committed on the connection itself, so that the statements
/// prepared for the run outlive each batch's commit. Rolled back when dropped unfinished.
pub(super) struct Batch<'c> {
    conn: &'c Connection,
    open: bool,
}

impl<'c> Batch<'c> {
    pub(super) fn begin(conn: &'c Connection) -> rusqlite::Result<Self> {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(Batch { conn, open: true })
    }

    fn commit(&mut self) -> rusqlite::Result<()> {
        self.conn.execute_batch("COMMIT")?;
        self.open = false;
        Ok(())
    }

    /// Go on in a new transaction after a commit.
    fn resume(&mut self) -> rusqlite::Result<()> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        self.open = true;
        Ok(())
    }
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

fn not_null(column: &str) -> String {
    format!("{column}: no value, and the table needs one (NOT NULL): give it a value in the file")
}

fn unique(columns: &str) -> String {
    format!(
        "{columns}: another row of the table has this value already (UNIQUE); two rows of the source may not share it"
    )
}

fn check(rule: &str) -> String {
    format!("a value is outside what the table allows (its CHECK: {rule})")
}

/// A constraint SQLite refused, without values (its messages name tables and columns).
fn sqlite_reason(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(_, Some(m)) if m.contains("FOREIGN KEY") => {
            "a value refers to a row the table it names does not have (FOREIGN KEY)".into()
        }
        rusqlite::Error::SqliteFailure(_, Some(m)) if m.starts_with("NOT NULL constraint failed: ") => {
            not_null(m.rsplit('.').next().unwrap_or_default())
        }
        rusqlite::Error::SqliteFailure(_, Some(m)) if m.starts_with("UNIQUE constraint failed: ") => {
            let columns: Vec<&str> = m["UNIQUE constraint failed: ".len()..]
                .split(", ")
                .map(|c| c.rsplit('.').next().unwrap_or(c))
                .collect();
            unique(&columns.join(", "))
        }
        rusqlite::Error::SqliteFailure(_, Some(m)) if m.starts_with("CHECK constraint failed: ") => {
            check(&m["CHECK constraint failed: ".len()..])
        }
        rusqlite::Error::SqliteFailure(_, Some(m)) => m.clone(),
        other => other.to_string(),
    }
}

/// A row `--delete-missing` removed takes the marks of its rectified values with it: a row the
/// source later brings under the same key is another row, not one a request corrected.
fn forget_rectified(db: &dyn Db, table: &str, key: Option<String>) -> anyhow::Result<()> {
    if let Some(key) = key {
        db.run(
            "DELETE FROM rectified WHERE table_name = ?1 AND row_key = ?2",
            &[Value::Text(table.to_owned()), Value::Text(key)],
        )?;
    }
    Ok(())
}

/// A row by its numeric id; a text key may be an identifier, so it is not shown.
fn row_named(row_id: &str, id: &Value) -> String {
    match id {
        Value::Integer(n) => format!("{row_id} {n}"),
        _ => "a row whose key is text, not shown".into(),
    }
}

/// A row `--delete-missing` would remove that the database kept (other rows refer to it),
/// named by the table's own row id (the file has no line for it; its key is not repeated).
fn kept_missing(summary: &mut Summary, row: &str, reason: String) {
    let reason = if reason.to_ascii_lowercase().contains("foreign key") {
        "rows of other tables still refer to it (FOREIGN KEY)".to_owned()
    } else {
        reason
    };
    summary.kept += 1;
    summary.problems.push(Problem {
        line: 0,
        kind: "kept",
        reason: format!("a row missing from the file was kept ({row}): {reason}"),
    });
}

/// Another backend (PostgreSQL): each statement through the store seam, in a transaction per
/// batch; each row written under a savepoint, so that a row the database refuses is left out
/// and the transaction goes on. The keys seen are kept in a temporary table of the session.
pub(super) struct DbSink<'c> {
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
    pub(super) fn begin(conn: &'c dyn Conn, sql: Sql, columns: usize) -> anyhow::Result<DbSink<'c>> {
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
            "a value refers to a row the table it names does not have (FOREIGN KEY)".into()
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
