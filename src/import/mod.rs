//! `dsr import TABLE FILE` (design §10, docs/import.md): rows a system dsr cannot reach exported
//! (CSV with a header row, or JSON Lines) loaded into a table of the data map, matched to the
//! table's rows on the source system's key: a new key is added, a changed row updated, the same
//! row left alone, and with `delete_missing` a row the file no longer has removed. Each field is
//! checked and normalised as rectify checks it (`values`); a bad row is reported with its line
//! and reason and the rest load. The suppression list keeps erased people out and objected
//! people's opt-ins off, and a value dsr rectified is not put back by an older source value.
//! Rows commit in batches, so a killed run keeps what it loaded and a re-run reaches the same
//! end state; one audit entry records each finished run.

pub mod values;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use rusqlite::types::Value;
use rusqlite::{params, Connection, TransactionBehavior};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::error::Error;
use crate::keys::Keys;
use crate::map::table::{IdentifierKind, Table, Validator};
use crate::store::personal::DataMap;
use values::Conv;

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

/// One record of the file: its line and its fields in the header's order (None: absent).
struct Record {
    line: u64,
    fields: Result<Vec<Option<String>>, String>,
}

/// The columns the file gives, checked against the table, and what each is converted as.
struct Plan {
    /// The table's columns the statements write: the file's, then derived ones (a folded email).
    columns: Vec<String>,
    convs: Vec<Conv>,
    /// For a derived column: the index of the column it is made from.
    derived_from: Vec<Option<usize>>,
    /// Index of the key column in `columns`.
    key: usize,
    /// Index of the table's own key (for rectified rows), if the file gives it... else read back.
    updated: Option<usize>,
    country: Option<usize>,
    /// Identifier columns the suppression list is checked with: (index, suppression kind).
    remembered: Vec<(usize, &'static str)>,
    /// Opt-in columns (kept off for someone who objected to direct marketing).
    opt_ins: Vec<usize>,
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
    let hashing = Hashing { inner: file, hash: Sha256::new(), read: 0 };
    let mut reader = Reader::new(hashing, opts.format, &opts.file)?;
    let plan = plan(conn, &table, reader.header(), &opts.file)?;
    let keys = Keys::load(conn)?;
    let suppressed = Suppressed::load(conn)?;
    let rectified = rectified(conn, &table.name)?;
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
    let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
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
        let row = match convert(&plan, &fields, opts.source_tz) {
            Ok(row) => row,
            Err(why) => {
                if let Some(Some(k)) = fields.get(plan.key) {
                    seen(&tx, &Value::Text(k.clone()), line)?;
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
        if let Some(first) = seen(&tx, &row[plan.key], line)? {
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
        let existing = existing(&tx, &select, &row[plan.key], plan.columns.len())?;
        let outcome = match existing.as_slice() {
            [] => tx.prepare_cached(&insert)?.execute(rusqlite::params_from_iter(row.iter())).map(|_| Outcome::Added),
            [(rowid, own_key, old)] => {
                if same(old, &row) {
                    Ok(Outcome::Unchanged)
                } else if let Some(why) = conflict(&plan, &table, &rectified, own_key, old, &row) {
                    Ok(Outcome::Conflict(why))
                } else {
                    let mut p: Vec<&Value> = row.iter().collect();
                    let id = Value::Integer(*rowid);
                    p.push(&id);
                    tx.prepare_cached(&update)?.execute(rusqlite::params_from_iter(p)).map(|_| {
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
                if plan.updated.is_some() && rectified.keys().any(|(k, _)| *k == own_key) {
                    tx.execute(
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
            tx.commit()?;
            progress(reader.bytes_read());
            tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
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
            let missing: Vec<(i64, Option<String>)> = tx
                .prepare(&format!("SELECT rowid, CAST({key_column} AS TEXT) FROM {from} WHERE {key_column} NOT IN (SELECT k FROM temp.import_seen) OR {key_column} IS NULL"))?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            for (rowid, _) in missing {
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
        }
    }
    crate::audit::append(
        &tx,
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

/// Note a key the file gives; the line that gave it first when it is there already.
fn seen(tx: &Connection, key: &Value, line: u64) -> rusqlite::Result<Option<u64>> {
    let added = tx
        .prepare_cached("INSERT INTO temp.import_seen (k, line) VALUES (?1, ?2) ON CONFLICT DO NOTHING")?
        .execute(params![key, line as i64])?;
    if added == 1 {
        return Ok(None);
    }
    tx.prepare_cached("SELECT line FROM temp.import_seen WHERE k = ?1")?
        .query_row([key], |r| r.get::<_, i64>(0))
        .map(|l| Some(l as u64))
}

enum Outcome {
    Added,
    Unchanged,
    Changed(String),
    Conflict(String),
    Refused(String),
}

/// The table's rows with the key: (rowid, the table's own key as text, the file's columns).
fn existing(tx: &Connection, select: &str, key: &Value, n: usize) -> rusqlite::Result<Vec<(i64, String, Vec<Value>)>> {
    let mut stmt = tx.prepare_cached(select)?;
    let rows = stmt.query_map([key], |r| {
        let values = (0..n).map(|i| r.get::<_, Value>(i + 2)).collect::<rusqlite::Result<Vec<_>>>()?;
        Ok((r.get(0)?, r.get::<_, Option<String>>(1)?.unwrap_or_default(), values))
    })?;
    rows.collect()
}

/// Whether the stored values are the row's (a number stored as text in a table that is not
/// STRICT compares by its text).
fn same(old: &[Value], new: &[Value]) -> bool {
    old.iter().zip(new).all(|(a, b)| a == b || text_of(a).is_some_and(|x| Some(x) == text_of(b)))
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Integer(i) => Some(i.to_string()),
        Value::Real(f) => Some(f.to_string()),
        Value::Text(t) => Some(t.clone()),
        Value::Blob(_) => None,
    }
}

/// A changed column that dsr rectified, where the source's change is not later than the
/// rectification (or the file does not say when the source changed the row).
fn conflict(
    plan: &Plan,
    table: &Table,
    rectified: &HashMap<(String, String), (String, String)>,
    own_key: &str,
    old: &[Value],
    new: &[Value],
) -> Option<String> {
    if rectified.is_empty() {
        return None;
    }
    for (i, c) in plan.columns.iter().enumerate() {
        let Some((at, request)) = rectified.get(&(own_key.to_owned(), c.clone())) else { continue };
        if same(&old[i..=i], &new[i..=i]) {
            continue;
        }
        let source_later = plan.updated.and_then(|u| text_of(&new[u])).is_some_and(|t| t.as_str() > at.as_str());
        if !source_later {
            return Some(format!(
                "{c}: the value in {} was rectified on {} (request {request}) and the source's differs{}; it was left as it is: correct it at the source",
                table.name,
                &at[..at.len().min(10)],
                if plan.updated.is_some() { " with an older change" } else { " (the file does not say when it changed)" }
            ));
        }
    }
    None
}

/// The rectified values of a table: (row key, column) → (when, request).
fn rectified(conn: &Connection, table: &str) -> rusqlite::Result<HashMap<(String, String), (String, String)>> {
    let mut stmt =
        conn.prepare("SELECT row_key, column_name, rectified_at, request_id FROM rectified WHERE table_name = ?1")?;
    let rows = stmt.query_map([table], |r| Ok(((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?))))?;
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

/// The file's header checked against the table: every column is the table's, the key is there.
fn plan(conn: &Connection, table: &Table, header: &[String], file: &Path) -> anyhow::Result<Plan> {
    let bad = |why: String| Error::invalid("import file", format!("{}: {why}", file.display()));
    let schema = table.database.as_deref().unwrap_or("main");
    let declared: Vec<(String, String)> = conn
        .prepare("SELECT name, type FROM pragma_table_info(?1, ?2) ORDER BY cid")?
        .query_map([table.name.as_str(), schema], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut columns = Vec::new();
    let mut convs = Vec::new();
    for h in header {
        let Some((_, ty)) = declared.iter().find(|(n, _)| n == h) else {
            let names: Vec<&str> = declared.iter().map(|(n, _)| n.as_str()).collect();
            return Err(
                bad(format!("column {h:?} is not a column of table {} ({})", table.name, names.join(", "))).into()
            );
        };
        if columns.contains(h) {
            return Err(bad(format!("column {h:?} is in the header twice")).into());
        }
        let Some(sql) = values::of_declared(ty) else {
            return Err(bad(format!("column {h:?} holds files (BLOB), which import does not load")).into());
        };
        columns.push(h.clone());
        convs.push(values::of_column(table, h, sql));
    }
    let mut derived_from = vec![None; columns.len()];
    // An email identifier kept folded beside the address as written: made from it.
    for id in table.identifier.iter().filter(|i| i.kind == IdentifierKind::Email) {
        let Some(written) = &id.written_in else { continue };
        if let Some(src) = columns.iter().position(|c| c == written) {
            if let Some(at) = columns.iter().position(|c| c == &id.column) {
                derived_from[at] = Some(src);
            } else {
                columns.push(id.column.clone());
                convs.push(Conv::EmailFolded);
                derived_from.push(Some(src));
            }
        }
    }
    let key_name = table.import.key.clone().unwrap_or_else(|| table.key.clone());
    let key = columns.iter().position(|c| c == &key_name).ok_or_else(|| {
        bad(format!(
            "the header has no column {key_name:?}, the source's key that rows of {} are matched on",
            table.name
        ))
    })?;
    let updated = table.import.updated.as_ref().and_then(|u| columns.iter().position(|c| c == u));
    let country = table
        .rectify
        .iter()
        .find(|f| f.validator == Some(Validator::Country))
        .and_then(|f| columns.iter().position(|c| c == &f.column));
    let remembered = table
        .identifier
        .iter()
        .filter_map(|i| Some((columns.iter().position(|c| c == &i.column)?, i.kind.suppression_kind()?)))
        .collect();
    let opt_ins = table.opt_in.iter().filter_map(|o| columns.iter().position(|c| c == &o.column)).collect();
    Ok(Plan { columns, convs, derived_from, key, updated, country, remembered, opt_ins })
}

/// The row's values, each converted; the first bad field refuses the row.
fn convert(plan: &Plan, fields: &[Option<String>], tz: Option<Tz>) -> Result<Vec<Value>, String> {
    let country = plan.country.and_then(|i| fields.get(i)?.as_deref()).map(str::trim).filter(|c| !c.is_empty());
    let country = country.map(|c| c.to_ascii_uppercase());
    let mut out = Vec::with_capacity(plan.columns.len());
    for (i, conv) in plan.convs.iter().enumerate() {
        let raw = match plan.derived_from[i] {
            Some(src) => fields.get(src).and_then(Option::as_deref),
            None => fields.get(i).and_then(Option::as_deref),
        };
        let v = match raw {
            None => Value::Null,
            Some(raw) => values::convert(*conv, raw, tz, country.as_deref())
                .map_err(|why| format!("{}: {why}", plan.columns[i]))?,
        };
        out.push(v);
    }
    Ok(out)
}

enum Verdict {
    Erased(String),
    Unsubscribed,
}

/// The suppression list, read once: erased people's hashes with when and by which request, and
/// the hashes of those who objected to direct marketing.
struct Suppressed {
    erased: HashMap<String, (String, Option<String>)>,
    objected: HashSet<String>,
}

impl Suppressed {
    fn load(conn: &Connection) -> rusqlite::Result<Suppressed> {
        let mut erased = HashMap::new();
        let mut objected = HashSet::new();
        let mut stmt = conn.prepare("SELECT hash, reason, added_at, request_id FROM suppression")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let (hash, reason): (String, String) = (r.get(0)?, r.get(1)?);
            if reason == "erased" {
                erased.insert(hash, (r.get(2)?, r.get(3)?));
            } else {
                objected.insert(hash);
            }
        }
        Ok(Suppressed { erased, objected })
    }

    fn check(&self, keys: &Keys, plan: &Plan, row: &[Value]) -> Option<Verdict> {
        if self.erased.is_empty() && self.objected.is_empty() {
            return None;
        }
        let mut unsubscribed = false;
        for &(i, kind) in &plan.remembered {
            let Value::Text(v) = &row[i] else { continue };
            let hash = crate::check::suppression_hash(keys, kind, v);
            if let Some((at, request)) = self.erased.get(&hash) {
                return Some(Verdict::Erased(format!(
                    "{}: this person was erased on {}{}; the row was not loaded (the suppression list keeps them out)",
                    plan.columns[i],
                    &at[..at.len().min(10)],
                    request.as_deref().map(|r| format!(", request {r}")).unwrap_or_default()
                )));
            }
            unsubscribed |= self.objected.contains(&hash);
        }
        unsubscribed.then_some(Verdict::Unsubscribed)
    }
}

/// A reader that hashes what passes through it (the audit entry names the file by its SHA-256).
struct Hashing<R> {
    inner: R,
    hash: Sha256,
    read: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}

/// The file's records, CSV or JSON Lines.
enum Reader<R: Read> {
    Csv { reader: csv::Reader<Hashing<R>>, header: Vec<String>, record: csv::ByteRecord },
    Json { lines: BufReader<Hashing<R>>, header: Vec<String>, first: Option<(u64, String)>, line: u64, buf: Vec<u8> },
}

impl<R: Read> Reader<R> {
    fn new(source: Hashing<R>, format: Format, path: &Path) -> anyhow::Result<Reader<R>> {
        let bad = |why: String| Error::invalid("import file", format!("{}: {why}", path.display()));
        match format {
            Format::Csv => {
                let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(source);
                let header: Vec<String> = reader
                    .headers()
                    .map_err(|e| bad(format!("the header row does not read: {e}")))?
                    .iter()
                    .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
                    .collect();
                if header.iter().all(String::is_empty) {
                    return Err(bad("the file is empty: the first row must name the columns".into()).into());
                }
                Ok(Reader::Csv { reader, header, record: csv::ByteRecord::new() })
            }
            Format::JsonLines => {
                let mut lines = BufReader::new(source);
                let mut line = 0u64;
                let mut text = String::new();
                // The first object names the columns.
                loop {
                    text.clear();
                    if lines.read_line(&mut text).map_err(|e| bad(format!("does not read as UTF-8 text: {e}")))? == 0 {
                        return Err(bad("the file is empty: give one JSON object a line".into()).into());
                    }
                    line += 1;
                    if !text.trim().is_empty() {
                        break;
                    }
                }
                let first: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).map_err(|e| {
                    bad(format!("line {line}: not a JSON object ({e}); the first line names the columns"))
                })?;
                let header = first.keys().cloned().collect();
                Ok(Reader::Json { lines, header, first: Some((line, text)), line, buf: Vec::new() })
            }
        }
    }

    fn header(&self) -> &[String] {
        match self {
            Reader::Csv { header, .. } | Reader::Json { header, .. } => header,
        }
    }

    fn next_record(&mut self) -> anyhow::Result<Option<Record>> {
        match self {
            Reader::Csv { reader, header, record } => {
                let ok = match reader.read_byte_record(record) {
                    Ok(ok) => ok,
                    Err(e) => {
                        let line = e.position().map_or(0, |p| p.line());
                        if let csv::ErrorKind::Io(io) = e.kind() {
                            return Err(anyhow::anyhow!("reading the import file: {io}"));
                        }
                        return Ok(Some(Record { line, fields: Err(format!("the row does not read as CSV: {e}")) }));
                    }
                };
                if !ok {
                    return Ok(None);
                }
                let line = record.position().map_or(0, |p| p.line());
                if record.len() != header.len() {
                    return Ok(Some(Record {
                        line,
                        fields: Err(format!("the row has {} fields, the header {}", record.len(), header.len())),
                    }));
                }
                let fields = record
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        std::str::from_utf8(f)
                            .map(|s| Some(s.to_owned()))
                            .map_err(|_| format!("{}: not UTF-8 text", header[i]))
                    })
                    .collect();
                Ok(Some(Record { line, fields }))
            }
            Reader::Json { lines, header, first, line, buf } => {
                let (at, text) = match first.take() {
                    Some(f) => f,
                    None => loop {
                        buf.clear();
                        if lines.read_until(b'\n', buf)? == 0 {
                            return Ok(None);
                        }
                        *line += 1;
                        if !buf.iter().all(u8::is_ascii_whitespace) {
                            match String::from_utf8(std::mem::take(buf)) {
                                Ok(t) => break (*line, t),
                                Err(_) => {
                                    return Ok(Some(Record { line: *line, fields: Err("not UTF-8 text".into()) }))
                                }
                            }
                        }
                    },
                };
                let fields = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&text)
                    .map_err(|e| format!("not a JSON object: {e}"))
                    .and_then(|obj| {
                        if let Some(k) = obj.keys().find(|k| !header.contains(k)) {
                            return Err(format!("key {k:?} is not among the first line's columns"));
                        }
                        Ok(header
                            .iter()
                            .map(|h| match obj.get(h) {
                                None | Some(serde_json::Value::Null) => None,
                                Some(serde_json::Value::String(s)) => Some(s.clone()),
                                Some(serde_json::Value::Bool(b)) => Some(if *b { "1" } else { "0" }.to_owned()),
                                Some(other) => Some(other.to_string()),
                            })
                            .collect())
                    });
                Ok(Some(Record { line: at, fields }))
            }
        }
    }

    fn bytes_read(&self) -> u64 {
        match self {
            Reader::Csv { reader, .. } => reader.get_ref().read,
            Reader::Json { lines, .. } => lines.get_ref().read,
        }
    }

    /// The SHA-256 of the whole file (the rest is read through, should a run stop early).
    fn finish(self) -> String {
        let mut source = match self {
            Reader::Csv { reader, .. } => reader.into_inner(),
            Reader::Json { lines, .. } => lines.into_inner(),
        };
        let _ = std::io::copy(&mut source, &mut std::io::sink());
        crate::keys::hex(&source.hash.finalize())
    }
}
