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
pub(crate) use read::ends_in_an_open_quote;
mod sink;
mod sql;
mod terms;
pub mod values;

use rusqlite::types::Value;

use crate::store::db::{text, Conn, Db};

use crate::clock::Clock;
use crate::error::Error;
use crate::keys::Keys;
use crate::store::personal::DataMap;
use guard::{keep_off_statements, Links, Rectified, Suppressed, Verdict, KEEP_OFF_CHUNK};
use read::{Hashing, Reader};
use sink::{Batch, DbSink, Existing, Sink, SqliteSink};
use sql::Sql;
pub use terms::{Format, Options, Problem, Summary};

/// Run an import, on either backend. `progress` is told the bytes read so far.
pub fn run(conn: &dyn Conn, clock: &Clock, opts: &Options, progress: impl FnMut(u64)) -> anyhow::Result<Summary> {
    let map = DataMap::load(conn)?;
    let table = map.table(&opts.table).cloned().ok_or_else(|| {
        let names: Vec<&str> = map.tables.iter().map(|t| t.name.as_str()).collect();
        Error::invalid(
            "table",
            format!("{} is not a table of the data map; choose one of: {}", opts.table, names.join(", ")),
        )
    })?;
    // A company database this account cannot write: said once, before any row is read.
    if let (Some(c), Some(db)) = (conn.sqlite(), table.database.as_deref()) {
        if let Some(e) = crate::store::db::read_only_databases(c, Some(db)).into_iter().next() {
            return Err(e.into());
        }
    }
    let file = std::fs::File::open(&opts.file)
        .map_err(|e| Error::invalid("import file", format!("cannot read {}: {e}", opts.file.display())))?;
    let reader = Reader::new(Hashing::new(file), opts.format, &opts.file)?;
    let plan = columns::plan(conn, &table, reader.header(), &opts.file)?;
    // What names the row a change or removal is for: SQLite's rowid; on PostgreSQL the table's
    // key, its index (the `rowid` column there is generated, unindexed: an update by it read the
    // whole table for every row of the file).
    let row_id = match conn.map_dialect() {
        crate::store::db::Dialect::Postgres => table.key.clone(),
        crate::store::db::Dialect::Sqlite => map.row_order(conn, &table.name),
    };
    // People a restriction keeps this table's data for (legal claims, or kept instead of erased,
    // Art. 18(1)(b)/(c)): their rows are never removed as missing from a source's copy.
    let db: &dyn Db = conn;
    let held: Vec<i64> = db.all(
        &format!(
            "SELECT DISTINCT person_id FROM restriction WHERE {} AND person_id IS NOT NULL
               AND (category IS NULL OR category = ?1) ORDER BY 1",
            crate::rights::erase::HOLD_FROM_RETENTION
        ),
        &[crate::store::db::Value::Text(table.category.clone())],
        |r| r.get(0),
    )?;
    let sql = Sql::new(&map, &table, &plan, &row_id, &held);
    let mut run = Run {
        opts,
        map: &map,
        table: &table,
        plan: &plan,
        keys: Keys::load(conn)?,
        suppressed: Suppressed::load(conn)?,
        rectified: Rectified::load(conn, &table.name)?,
        keep_off: keep_off_statements(conn, &map, &table, &plan.columns[plan.key])?,
        links: Links::load(conn, &map, &table, &plan)?,
        clock,
        audit_seen: crate::audit::head(conn, false)?,
    };
    match conn.sqlite() {
        Some(sqlite) => {
            // The indexes of a large table take new keys all over: a page cache of 32 MiB
            // (instead of 2) keeps more of their pages in memory, and the WAL is folded back
            // every 40 MB instead of every 4 (a page the next batch changes again is copied
            // once, not each time). This connection ends with the command.
            sqlite.execute_batch("PRAGMA cache_size = -32768; PRAGMA wal_autocheckpoint = 10000;")?;
            sqlite.execute_batch("CREATE TEMP TABLE IF NOT EXISTS import_seen (k ANY PRIMARY KEY, line INTEGER NOT NULL) WITHOUT ROWID; DELETE FROM temp.import_seen;")?;
            let tx = Batch::begin(sqlite)?;
            // An empty table holds only the rows this run adds, and `seen` refuses a key given
            // twice, so a first load looks nothing up in the table.
            let bulk = bulk::Bulk::begin(sqlite, &table)?;
            if bulk.is_some() {
                run.links.first_load(&table.name);
            }
            let sink = SqliteSink {
                conn: sqlite,
                tx,
                insert: sqlite.prepare(&sql.insert)?,
                select: sqlite.prepare(&sql.select)?,
                seen: sqlite
                    .prepare("INSERT INTO temp.import_seen (k, line) VALUES (?1, ?2) ON CONFLICT DO NOTHING")?,
                seen_first: sqlite.prepare("SELECT line FROM temp.import_seen WHERE k = ?1")?,
                sql,
                bulk,
                columns: plan.columns.len(),
            };
            run.rows(sink, reader, progress)
        }
        None => run.rows(DbSink::begin(conn, sql, plan.columns.len())?, reader, progress),
    }
}

/// What every row of a run is checked against.
struct Run<'a> {
    opts: &'a Options,
    map: &'a DataMap,
    table: &'a crate::map::table::Table,
    plan: &'a columns::Plan,
    keys: Keys,
    suppressed: Suppressed,
    rectified: Rectified,
    /// For each opt-in column of the table whose purpose someone objected to (processing
    /// stopped, Art. 21(3)): the start of the statement that turns it off for the rows written
    /// whose person objected, completed by the rows' keys.
    keep_off: Vec<String>,
    links: Links,
    clock: &'a Clock,
    /// The audit trail's head when the suppression list and the objections were read: an
    /// erasure or objection committed between two batches changes it, and they are read again.
    audit_seen: (i64, String),
}

impl Run<'_> {
    /// Read the suppression list, the objections and the rectified values again when the trail
    /// moved since they were read: in the transaction the next rows are written in, so that a person erased or objecting
    /// while the import runs is kept out of (or opted out in) every batch after it.
    fn refresh(&mut self, db: &dyn Db) -> anyhow::Result<()> {
        let head = crate::audit::head(db, false)?;
        if head != self.audit_seen {
            self.suppressed = Suppressed::load(db)?;
            self.rectified = Rectified::load(db, &self.table.name)?;
            self.keep_off = keep_off_statements(db, self.map, self.table, &self.plan.columns[self.plan.key])?;
            self.audit_seen = head;
        }
        Ok(())
    }

    fn rows(
        &mut self,
        mut sink: impl Sink,
        mut reader: Reader<std::fs::File>,
        mut progress: impl FnMut(u64),
    ) -> anyhow::Result<Summary> {
        let (opts, plan, table) = (self.opts, self.plan, self.table);
        let key_column = &plan.columns[plan.key];
        let mut summary =
            Summary { table: table.name.clone(), file: opts.file.display().to_string(), ..Summary::default() };
        let mut unreadable = 0u64;
        let latest = guard::latest_change(self.clock);
        let batch = if opts.strict { u64::MAX } else { opts.batch };
        let mut in_tx = 0u64;
        let mut started = false;
        let mut written: Vec<Value> = Vec::new();
        self.refresh(sink.db())?;
        let mut paused = false;
        while let Some(record) = reader.next_record()? {
            if paused {
                sink.resume()?;
                self.refresh(sink.db())?;
                paused = false;
            }
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
                    // A JSON line refused for another column than its key still marks its row
                    // as in the file; one whose key cannot be read names no row.
                    match record.readable.and_then(|r| columns::key(plan, &r, opts.source_tz.as_ref())) {
                        Some(k) => drop(sink.seen(&k, line)?),
                        None => unreadable += 1,
                    }
                    refuse(&mut summary, why)?;
                    continue;
                }
            };
            let mut row = match columns::convert(plan, &fields, opts.source_tz.as_ref()) {
                Ok(row) => row,
                Err(why) => {
                    // The key as the table holds it marks its row as in the file; a key that
                    // does not convert names no row, and `--delete-missing` removes none.
                    match columns::key(plan, &fields, opts.source_tz.as_ref()) {
                        Some(k) => drop(sink.seen(&k, line)?),
                        None => unreadable += 1,
                    }
                    refuse(&mut summary, why)?;
                    continue;
                }
            };
            if row[plan.key] == Value::Null {
                unreadable += 1;
                refuse(&mut summary, format!("{key_column}: empty; every row needs the source's key"))?;
                continue;
            }
            if let Some(first) = sink.seen(&row[plan.key], line)? {
                refuse(
                    &mut summary,
                    format!("{key_column}: the same key as line {first}; a source's key names one row"),
                )?;
                continue;
            }
            // The suppression list (an erased person stays out, an objection keeps opt-ins off)
            // speaks before a missing parent: an erased person's parent row went with them.
            let verdict = self.suppressed.check(&self.keys, plan, &row, table.root.then_some(table.name.as_str()));
            let why = match (&verdict, guard::changed_later_than(plan, &row, &latest)) {
                (Some(Verdict::Erased(why)), _) => Some(why.clone()),
                (_, Some(future)) => Some(future),
                _ => self.links.refusal(sink.db(), plan, &row)?,
            };
            if let Some(why) = why {
                refuse(&mut summary, why)?;
                continue;
            }
            if let Some(Verdict::Unsubscribed) = verdict {
                let mut kept = false;
                for &i in &plan.opt_ins {
                    if row[i] != Value::Integer(0) && row[i] != Value::Null {
                        row[i] = Value::Integer(0);
                        kept = true;
                    }
                }
                summary.kept_unsubscribed += u64::from(kept);
            }
            let existing = sink.existing(&row[plan.key])?;
            // A record saying dsr wrote it is one only dsr writes: the file may repeat such a
            // record as it is, not add or change one.
            let claims_dsr = guard::claims_dsr(table, plan, &row);
            let outcome = match existing.as_slice() {
                [] if claims_dsr.is_some() => Ok(Outcome::Refused(claims_dsr.unwrap_or_default())),
                [] => sink.write(None, &row)?.map(|_| Outcome::Added),
                [e] if e.dsr_wrote && !guard::same(&e.values, &row) => Ok(Outcome::Refused(format!(
                    "{key_column}: this key names a consent record dsr wrote (a withdrawal, Art. 7(3)), which no source replaces; give the source's record a key of its own"
                ))),
                [Existing { row_id: rowid, own_key, values: old, .. }] => {
                    if guard::same(old, &row) {
                        Ok(Outcome::Unchanged)
                    } else if let Some(why) = claims_dsr {
                        Ok(Outcome::Refused(why))
                    } else if let Some(why) = self.rectified.conflict(plan, table, own_key, old, &row) {
                        Ok(Outcome::Conflict(why))
                    } else {
                        // A source value changed after the rectification replaced it: the mark goes.
                        sink.write(Some(rowid), &row)?.map(|_| Outcome::Changed(own_key.clone()))
                    }
                }
                _ => Ok(Outcome::Refused(format!("{key_column}: the table has more than one row with this key"))),
            };
            if matches!(outcome, Ok(Outcome::Added | Outcome::Changed(_))) && !self.keep_off.is_empty() {
                written.push(row[plan.key].clone());
            }
            match outcome {
                Ok(Outcome::Added) => summary.added += 1,
                Ok(Outcome::Unchanged) => summary.unchanged += 1,
                Ok(Outcome::Changed(own_key)) => {
                    summary.changed += 1;
                    if plan.updated.is_some() && self.rectified.has_row(&own_key) {
                        sink.db().run(
                            "DELETE FROM rectified WHERE table_name = ?1 AND row_key = ?2",
                            &[text(&table.name), text(&own_key)],
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
                Ok(Outcome::Refused(why)) | Err(why) => refuse(&mut summary, why)?,
            }
            in_tx += 1;
            if in_tx >= batch {
                self.keep_objectors_off(sink.db(), &mut written, &mut summary)?;
                if !started && sink.batched() {
                    // Rows commit before the run ends: the trail says so with the first of them,
                    // so that a run killed before its `imported` entry left none unrecorded.
                    started = true;
                    crate::audit::append(
                        sink.db(),
                        self.clock,
                        None,
                        None,
                        "import-started",
                        serde_json::json!({"table": table.name, "batch": batch}),
                    )?;
                }
                sink.pause()?;
                paused = true;
                progress(reader.bytes_read());
                in_tx = 0;
            }
        }
        if paused {
            sink.resume()?;
            self.refresh(sink.db())?;
        }
        self.keep_objectors_off(sink.db(), &mut written, &mut summary)?;
        let read = reader.bytes_read();
        summary.file_sha256 = reader.finish();
        if opts.delete_missing && summary.rows == 0 && !opts.allow_empty {
            // A source whose export failed after its header would otherwise empty the table.
            return Err(Error::invalid(
                "import file",
                format!(
                    "{} has no rows, and with --delete-missing every row of {} would be removed; nothing was changed. Check the source's export, or add --allow-empty if the source really holds none",
                    opts.file.display(),
                    table.name
                ),
            )
            .into());
        }
        if opts.delete_missing {
            if unreadable > 0 {
                summary.delete_skipped = Some(format!(
                    "{unreadable} row(s) could not be read to their key, so rows missing from the file were not removed"
                ));
            } else {
                sink.remove_missing(&mut summary)?;
            }
        }
        crate::audit::append(
            sink.db(),
            self.clock,
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
                "kept": summary.kept,
            }),
        )?;
        sink.commit()?;
        progress(read);
        Ok(summary)
    }

    /// Turn off the opt-ins of the rows just written whose person objected to their purpose,
    /// in the same transaction as the rows, and count them as kept unsubscribed.
    fn keep_objectors_off(&self, db: &dyn Db, written: &mut Vec<Value>, summary: &mut Summary) -> anyhow::Result<()> {
        for keys in written.chunks(KEEP_OFF_CHUNK) {
            let marks: Vec<String> = (1..=keys.len()).map(|i| format!("?{i}")).collect();
            for start in &self.keep_off {
                let n = db.run(&format!("{start}({})", marks.join(", ")), keys)?;
                summary.kept_unsubscribed += n as u64;
            }
        }
        written.clear();
        Ok(())
    }
}

enum Outcome {
    Added,
    Unchanged,
    Changed(String),
    Conflict(String),
    Refused(String),
}
