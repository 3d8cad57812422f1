//! Where an import's rows go (`Sink`): a SQLite store through statements prepared once for the
//! run, or another backend (PostgreSQL) through the store seam, a savepoint per row.

use rusqlite::types::Value;
use rusqlite::{params, Connection};

use super::sql::Sql;
use super::{bulk, Problem, Summary};
use crate::store::db::Db;

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
        Ok(written.map(|_| ()).map_err(|e| match foreign_key(&e) {
            true => missing_parent(self.conn, &self.sql, row).unwrap_or_else(|| sqlite_reason(&e)),
            false => sqlite_reason(&e),
        }))
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

fn foreign_key(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(_, Some(m)) if m.contains("FOREIGN KEY"))
}

/// The column of a row SQLite refused for a foreign key (its message names none) whose value
/// names no row of the table it refers to, said without the value.
fn missing_parent(conn: &Connection, sql: &Sql, row: &[Value]) -> Option<String> {
    let list = "SELECT \"from\", \"table\", \"to\" FROM pragma_foreign_key_list(?1, ?2)";
    let mut stmt = conn.prepare(list).ok()?;
    let keys: Vec<(String, String, Option<String>)> = stmt
        .query_map([&sql.name, &sql.schema], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .ok()?
        .collect::<rusqlite::Result<_>>()
        .ok()?;
    for (from, parent, to) in keys {
        let Some(value) = sql.columns.iter().position(|c| c.eq_ignore_ascii_case(&from)).map(|i| &row[i]) else {
            continue;
        };
        if *value == Value::Null {
            continue;
        }
        let to = to.unwrap_or_else(|| "rowid".to_owned());
        let found = format!("SELECT count(*) FROM \"{}\".\"{parent}\" WHERE \"{to}\" = ?1", sql.schema);
        if conn.query_row(&found, [value], |r| r.get::<_, i64>(0)).ok()? == 0 {
            return Some(format!(
                "{from}: names no row of {parent} (FOREIGN KEY); load {parent} first, or leave the row out"
            ));
        }
    }
    None
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

mod db;
pub(super) use db::DbSink;
