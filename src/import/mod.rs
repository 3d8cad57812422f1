//! `dsr import TABLE FILE` (design §10, docs/import.md): rows a system dsr cannot reach exported
//! (CSV with a header row, or JSON Lines) loaded into a table of the data map, matched to the
//! table's rows on the source system's key: a new key is added, a changed row updated, the same
//! row left alone, and with `delete_missing` a row the file no longer has removed. Each field is
//! checked and normalised as rectify checks it (`values`); a bad row is reported with its line
//! and reason and the rest load. The suppression list keeps erased people out and objected
//! people's opt-ins off, and a value dsr rectified is not put back by an older source value.
//! Rows commit in batches, so a killed run keeps what it loaded and a re-run reaches the same
//! end state; one audit entry records each finished run. A first load into an empty table of
//! dsr's store is one transaction that builds the table's indexes after the rows (`bulk`).

mod bulk;
mod columns;
mod guard;
mod read;
pub mod values;

use std::path::PathBuf;

use chrono_tz::Tz;
use rusqlite::types::Value;
use rusqlite::{params, Connection};
use serde::Serialize;

use crate::clock::Clock;
use crate::error::Error;
use crate::keys::Keys;
use crate::store::personal::DataMap;
use guard::{Rectified, Suppressed, Verdict};
use read::{Hashing, Reader};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
}

pub struct Options {
    pub table: String,
    pub file: PathBuf,
    pub format: Format,
    pub source_tz: Option<Tz>,
    pub delete_missing: bool,
    pub strict: bool,
    /// Rows per transaction.
    pub batch: u64,
}

/// A row the import did not load as it stands.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// The line of the file the row starts on.
    pub line: u64,
    /// `refused` (not loaded) or `conflict` (a rectified value the row would replace; left as is).
    pub kind: &'static str,
    pub reason: String,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    pub table: String,
    pub file: String,
    pub file_sha256: String,
    pub rows: u64,
    pub added: u64,
    pub changed: u64,
    pub unchanged: u64,
    pub removed: u64,
    pub refused: u64,
    pub conflicts: u64,
    /// Rows of people who objected to direct marketing whose opt-ins were kept off.
    pub kept_unsubscribed: u64,
    /// `--delete-missing` left out because some rows could not be read (their keys unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_skipped: Option<String>,
    pub problems: Vec<Problem>,
}

/// Run an import. `progress` is told the bytes read so far.
pub fn run(
    conn: &mut Connection,
    clock: &Clock,
    opts: &Options,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<Summary> {
    let map = DataMap::load(conn)?;
    let table = map.table(&opts.table).cloned().ok_or_else(|| {
        let names: Vec<&str> = map.tables.iter().map(|t| t.name.as_str()).collect();
        Error::invalid(
            "table",
            format!("{} is not a table of the data map; choose one of: {}", opts.table, names.join(", ")),
        )
    })?;
    let file = std::fs::File::open(&opts.file)
        .map_err(|e| Error::invalid("import file", format!("cannot read {}: {e}", opts.file.display())))?;
    let mut reader = Reader::new(Hashing::new(file), opts.format, &opts.file)?;
    let plan = columns::plan(conn, &table, reader.header(), &opts.file)?;
    let keys = Keys::load(conn)?;
    let suppressed = Suppressed::load(conn)?;
    let rectified = Rectified::load(conn, &table.name)?;
    let from = table.sql_name();
    let key_column = plan.columns[plan.key].clone();
    let placeholders: Vec<String> = (1..=plan.columns.len()).map(|i| format!("?{i}")).collect();
    let select = format!(
        "SELECT rowid, CAST({} AS TEXT), {} FROM {from} WHERE {key_column} = ?1 LIMIT 2",
        table.key,
        plan.columns.join(", ")
    );
    let insert = format!("INSERT INTO {from} ({}) VALUES ({})", plan.columns.join(", "), placeholders.join(", "));
    let sets: Vec<String> = plan.columns.iter().enumerate().map(|(i, c)| format!("{c} = ?{}", i + 1)).collect();
    let update = format!("UPDATE {from} SET {} WHERE rowid = ?{}", sets.join(", "), plan.columns.len() + 1);

    let mut summary =
        Summary { table: table.name.clone(), file: opts.file.display().to_string(), ..Summary::default() };
    // The indexes of a large table take new keys all over: a page cache of 32 MiB (instead of
    // 2) keeps more of their pages in memory, and the WAL is folded back every 40 MB instead of
    // every 4 (a page the next batch changes again is copied once, not each time). This
    // connection ends with the command.
    conn.execute_batch("PRAGMA cache_size = -32768; PRAGMA wal_autocheckpoint = 10000;")?;
    conn.execute_batch("CREATE TEMP TABLE IF NOT EXISTS import_seen (k ANY PRIMARY KEY, line INTEGER NOT NULL) WITHOUT ROWID; DELETE FROM temp.import_seen;")?;
    let mut unreadable = 0u64;
    let batch = if opts.strict { u64::MAX } else { opts.batch };
    let conn: &Connection = conn;
    let mut tx = Batch::begin(conn)?;
    // An empty table holds only the rows this run adds, and `seen` refuses a key given twice,
    // so a first load looks nothing up in the table.
    let bulk = bulk::Bulk::begin(conn, &table)?;
    let mut st = Statements {
        insert: conn.prepare(&insert)?,
        select: conn.prepare(&select)?,
        seen: conn.prepare("INSERT INTO temp.import_seen (k, line) VALUES (?1, ?2) ON CONFLICT DO NOTHING")?,
        seen_first: conn.prepare("SELECT line FROM temp.import_seen WHERE k = ?1")?,
    };
    let mut in_tx = 0u64;
    while let Some(record) = reader.next_record()? {
        summary.rows += 1;
        let line = record.line;
        let refuse = |summary: &mut Summary, reason: String| -> anyhow::Result<()> {
            if opts.strict {
                return Err(Error::invalid(
                    "import file",
                    format!("{}: line {line}: {reason}; nothing was imported (--strict)", opts.file.display()),
                )
                .into());
            }
            summary.refused += 1;
            summary.problems.push(Problem { line, kind: "refused", reason });
            Ok(())
        };
        let fields = match record.fields {
            Ok(f) => f,
            Err(why) => {
                unreadable += 1;
                refuse(&mut summary, why)?;
                continue;
            }
        };
        let row = match columns::convert(&plan, &fields, opts.source_tz) {
            Ok(row) => row,
            Err(why) => {
                if let Some(Some(k)) = fields.get(plan.key) {
                    seen(&mut st, &Value::Text(k.clone()), line)?;
                } else {
                    unreadable += 1;
                }
                refuse(&mut summary, why)?;
                continue;
            }
        };
        let mut row = row;
        if row[plan.key] == Value::Null {
            unreadable += 1;
            refuse(&mut summary, format!("{key_column}: empty; every row needs the source's key"))?;
            continue;
        }
        if let Some(first) = seen(&mut st, &row[plan.key], line)? {
            refuse(&mut summary, format!("{key_column}: the same key as line {first}; a source's key names one row"))?;
            continue;
        }
        // The suppression list: an erased person stays out; an objection keeps opt-ins off.
        match suppressed.check(&keys, &plan, &row) {
            Some(Verdict::Erased(why)) => {
                refuse(&mut summary, why)?;
                continue;
            }
            Some(Verdict::Unsubscribed) => {
                let mut kept = false;
                for &i in &plan.opt_ins {
                    if row[i] != Value::Integer(0) && row[i] != Value::Null {
                        row[i] = Value::Integer(0);
                        kept = true;
                    }
                }
                summary.kept_unsubscribed += u64::from(kept);
            }
            None => {}
        }
        let existing =
            if bulk.is_some() { Vec::new() } else { existing(&mut st.select, &row[plan.key], plan.columns.len())? };
        let outcome = match existing.as_slice() {
            [] => st.insert.execute(rusqlite::params_from_iter(row.iter())).map(|_| Outcome::Added),
            [(rowid, own_key, old)] => {
                if guard::same(old, &row) {
                    Ok(Outcome::Unchanged)
                } else if let Some(why) = rectified.conflict(&plan, &table, own_key, old, &row) {
                    Ok(Outcome::Conflict(why))
                } else {
                    let mut p: Vec<&Value> = row.iter().collect();
                    let id = Value::Integer(*rowid);
                    p.push(&id);
                    conn.prepare_cached(&update)?.execute(rusqlite::params_from_iter(p)).map(|_| {
                        // A source value changed after the rectification replaced it: the mark goes.
                        Outcome::Changed(own_key.clone())
                    })
                }
            }
            _ => Ok(Outcome::Refused(format!("{key_column}: the table has more than one row with this key"))),
        };
        match outcome {
            Ok(Outcome::Added) => summary.added += 1,
            Ok(Outcome::Unchanged) => summary.unchanged += 1,
            Ok(Outcome::Changed(own_key)) => {
                summary.changed += 1;
                if plan.updated.is_some() && rectified.has_row(&own_key) {
                    conn.execute(
                        "DELETE FROM rectified WHERE table_name = ?1 AND row_key = ?2",
                        params![table.name, own_key],
                    )?;
                }
            }
            Ok(Outcome::Conflict(why)) => {
                if opts.strict {
                    refuse(&mut summary, why.clone())?;
                }
                summary.conflicts += 1;
                summary.problems.push(Problem { line, kind: "conflict", reason: why });
            }
            Ok(Outcome::Refused(why)) => refuse(&mut summary, why)?,
            Err(e) => refuse(&mut summary, sqlite_reason(&e))?,
        }
        in_tx += 1;
        if in_tx >= batch {
            if bulk.is_none() {
                tx.next()?;
            }
            progress(reader.bytes_read());
            in_tx = 0;
        }
    }
    let read = reader.bytes_read();
    summary.file_sha256 = reader.finish();
    if opts.delete_missing {
        if unreadable > 0 {
            summary.delete_skipped = Some(format!(
                "{unreadable} row(s) could not be read to their key, so rows missing from the file were not removed"
            ));
        } else {
            remove_missing(conn, &from, &key_column, &mut summary)?;
        }
    }
    if let Some(bulk) = bulk {
        bulk.finish(conn)?;
    }
    crate::audit::append(
        conn,
        clock,
        None,
        None,
        "imported",
        serde_json::json!({
            "table": summary.table,
            "file_sha256": summary.file_sha256,
            "rows": summary.rows,
            "added": summary.added,
            "changed": summary.changed,
            "unchanged": summary.unchanged,
            "removed": summary.removed,
            "refused": summary.refused,
            "conflicts": summary.conflicts,
        }),
    )?;
    tx.commit()?;
    progress(read);
    Ok(summary)
}

/// `--delete-missing`: remove the table's rows whose key the file did not give. A row other
/// rows still refer to is kept and reported.
fn remove_missing(tx: &Connection, from: &str, key_column: &str, summary: &mut Summary) -> rusqlite::Result<()> {
    let missing: Vec<i64> = tx
        .prepare(&format!(
            "SELECT rowid FROM {from} WHERE {key_column} NOT IN (SELECT k FROM temp.import_seen) OR {key_column} IS NULL"
        ))?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for rowid in missing {
        match tx.execute(&format!("DELETE FROM {from} WHERE rowid = ?1"), [rowid]) {
            Ok(n) => summary.removed += n as u64,
            Err(e) => {
                summary.refused += 1;
                summary.problems.push(Problem {
                    line: 0,
                    kind: "refused",
                    reason: format!("a row missing from the file was kept: {}", sqlite_reason(&e)),
                });
            }
        }
    }
    Ok(())
}

/// The statements every row runs, prepared once for the run.
struct Statements<'c> {
    insert: rusqlite::Statement<'c>,
    select: rusqlite::Statement<'c>,
    seen: rusqlite::Statement<'c>,
    seen_first: rusqlite::Statement<'c>,
}

/// The run's transaction, begun and committed on the connection itself, so that the statements
/// prepared for the run outlive each batch's commit. Rolled back when dropped unfinished.
struct Batch<'c> {
    conn: &'c Connection,
    open: bool,
}

impl<'c> Batch<'c> {
    fn begin(conn: &'c Connection) -> rusqlite::Result<Self> {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(Batch { conn, open: true })
    }

    fn commit(&mut self) -> rusqlite::Result<()> {
        self.conn.execute_batch("COMMIT")?;
        self.open = false;
        Ok(())
    }

    /// Commit the rows so far and go on in a new transaction.
    fn next(&mut self) -> rusqlite::Result<()> {
        self.commit()?;
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

/// Note a key the file gives; the line that gave it first when it is there already.
fn seen(st: &mut Statements, key: &Value, line: u64) -> rusqlite::Result<Option<u64>> {
    if st.seen.execute(params![key, line as i64])? == 1 {
        return Ok(None);
    }
    st.seen_first.query_row([key], |r| r.get::<_, i64>(0)).map(|l| Some(l as u64))
}

enum Outcome {
    Added,
    Unchanged,
    Changed(String),
    Conflict(String),
    Refused(String),
}

/// The table's rows with the key: (rowid, the table's own key as text, the file's columns).
fn existing(stmt: &mut rusqlite::Statement, key: &Value, n: usize) -> rusqlite::Result<Vec<(i64, String, Vec<Value>)>> {
    let rows = stmt.query_map([key], |r| {
        let values = (0..n).map(|i| r.get::<_, Value>(i + 2)).collect::<rusqlite::Result<Vec<_>>>()?;
        Ok((r.get(0)?, r.get::<_, Option<String>>(1)?.unwrap_or_default(), values))
    })?;
    rows.collect()
}

/// A constraint SQLite refused, without values (its messages name tables and columns).
fn sqlite_reason(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(_, Some(m)) if m.contains("FOREIGN KEY") => {
            "a value refers to a row the table it names does not have (FOREIGN KEY)".into()
        }
        rusqlite::Error::SqliteFailure(_, Some(m)) => m.clone(),
        other => other.to_string(),
    }
}
