//! Scripted batch exports: a CSV of people whose identity was verified outside dsr (e.g. by an
//! authenticated portal session), one archive per person. A bad row is reported with its line
//! number and does not stop the others. Re-running the same batch skips what is done: a row is
//! done when an export request of that person, verified by the same method and reference, is
//! completed and its archive exists, so a batch killed half-way resumes where it stopped.

use std::path::{Path, PathBuf};

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use crate::clock::Clock;
use crate::error::Error;
use crate::request::{self, Channel, Kind, NewRequest};
use crate::store::Store;
use crate::subject::{self, Identifier, Resolution};

/// One data row of the batch file.
#[derive(Debug, Clone)]
pub struct Row {
    pub line: u64,
    pub identifier: Result<(Identifier, String), String>,
    pub verified_by: String,
    pub reference: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RowResult {
    pub line: u64,
    /// done, skipped or failed
    pub status: &'static str,
    pub request: Option<String>,
    pub file: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub format_version: u32,
    pub done: usize,
    pub skipped: usize,
    pub failed: usize,
    pub rows: Vec<RowResult>,
}

/// Read the batch file. A missing header or unreadable file is an error for the whole batch;
/// a bad row becomes a row that fails with its reason.
pub fn read(path: &Path) -> anyhow::Result<Vec<Row>> {
    let bytes = std::fs::read(path).map_err(|e| Error::invalid("--batch", format!("cannot read the CSV file: {e}")))?;
    let lines = Lines::new(&bytes);
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(bytes.as_slice());
    let headers =
        reader.headers().map_err(|e| Error::invalid("--batch", format!("cannot read the header row: {e}")))?.clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (email, customer, method, reference) = (col("email"), col("customer"), col("verified_by"), col("reference"));
    if email.is_none() && customer.is_none() {
        return Err(Error::invalid("--batch", "the header row needs an email or a customer column").into());
    }
    let method = method.ok_or_else(|| {
        Error::invalid("--batch", "the header row needs a verified_by column (how identity was verified)")
    })?;
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i as u64 + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(line, |p| lines.at(p.byte()));
                rows.push(Row {
                    line,
                    identifier: Err(format!("unreadable CSV row: {e}")),
                    verified_by: String::new(),
                    reference: String::new(),
                });
                continue;
            }
        };
        let line = record.position().map_or(line, |p| lines.at(p.byte()));
        let get = |c: Option<usize>| c.and_then(|c| record.get(c)).unwrap_or("").to_owned();
        let (e, c) = (get(email), get(customer));
        let identifier = match (e.is_empty(), c.is_empty()) {
            (false, true) => Identifier::email(&e).map(|i| (i, e)).map_err(|err| err.to_string()),
            (true, false) => Identifier::customer(&c).map(|i| (i, c)).map_err(|err| err.to_string()),
            (true, true) => Err("no email or customer number in this row".to_owned()),
            (false, false) => Err("both an email and a customer number: name the person once".to_owned()),
        };
        rows.push(Row { line, identifier, verified_by: get(Some(method)), reference: get(reference) });
    }
    Ok(rows)
}

/// The file's own line numbers (header counted, CRLF or LF alike), from a record's byte offset:
/// the csv crate's own line count drifts on CRLF files.
struct Lines<'a> {
    bytes: &'a [u8],
    newlines: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(bytes: &'a [u8]) -> Lines<'a> {
        Lines { bytes, newlines: bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i).collect() }
    }

    /// The line a record starting at `byte` is on (a record may be reported from the line end
    /// before it).
    fn at(&self, byte: u64) -> u64 {
        let mut start = byte as usize;
        while self.bytes.get(start).is_some_and(|b| *b == b'\r' || *b == b'\n') {
            start += 1;
        }
        self.newlines.partition_point(|&n| n < start) as u64 + 1
    }
}

fn valid_method(m: &str) -> bool {
    !m.is_empty()
        && m.len() <= 40
        && m.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && m != "email-code"
}

/// An archive to write: the row it came from, its verified request, the person, the file.
struct Job {
    line: u64,
    request: request::Request,
    person: subject::Subject,
    file: PathBuf,
}

/// A row is either settled while reading the list (failed, skipped) or becomes an archive to write.
enum Prepared {
    Settled(RowResult),
    Archive(Box<Job>),
}

/// Whether an error stops the whole batch (the store is locked, the disk is full...) rather than
/// failing one row. A stopped batch is resumable: run it again.
fn stops(e: &anyhow::Error) -> bool {
    crate::exit::Code::of_error(e) != crate::exit::Code::Failure
        && !matches!(e.downcast_ref::<Error>(), Some(Error::Invalid { .. } | Error::Ambiguous { .. }))
}

/// A store-level failure that stops the batch at a line.
fn stopped_at(e: anyhow::Error, line: u64) -> anyhow::Error {
    e.context(format!("batch stopped at line {line}; re-run it to resume"))
}

fn failed_row(line: u64, e: &anyhow::Error) -> RowResult {
    RowResult { line, status: "failed", request: None, file: None, reason: Some(format!("{e:#}")) }
}

/// Run a batch: every row is resolved and its request opened and marked verified, in file order
/// (one writer, this thread), while `jobs` workers, each with its own connection, write the
/// archives of the rows opened so far, so one archive's fsync or compression overlaps another's
/// reads and the next rows' opening.
pub fn run(
    store: &mut Store,
    clock: Clock,
    rows: &[Row],
    dir: &Path,
    passphrase: Option<&str>,
    jobs: usize,
    mut progress: impl FnMut(&RowResult),
) -> anyhow::Result<Summary> {
    let keys = crate::keys::Keys::load(&store.conn)?;
    let register = crate::register::Register::load(&store.conn)?;
    let mut results = Vec::with_capacity(rows.len());
    let stop: std::sync::Mutex<Option<(u64, anyhow::Error)>> = std::sync::Mutex::new(None);
    let path = store.path.clone();
    let (register, stop, path) = (&register, &stop, path.as_path());
    let stopped = move || stop.lock().map(|s| s.is_some()).unwrap_or(true);
    // Archives to write go to the workers as soon as their request is open (a bounded queue);
    // their results come back to this thread, which reports progress.
    let (job_sender, job_receiver) = std::sync::mpsc::sync_channel::<Job>(64);
    let job_receiver = std::sync::Mutex::new(job_receiver);
    let job_receiver = &job_receiver;
    // Workers only read the store; every write (opening, recording a disclosure) is on this
    // thread, so no two connections ever wait on each other's write lock.
    let (sender, receiver) = std::sync::mpsc::channel::<(Job, anyhow::Result<crate::archive::Manifest>)>();
    let opened = std::thread::scope(|scope| -> anyhow::Result<()> {
        // Owned here, so that however this closure ends the queue closes and the workers finish.
        let job_sender = job_sender;
        for _ in 0..jobs.clamp(1, 64).min(rows.len().max(1)) {
            let sender = sender.clone();
            scope.spawn(move || {
                let halt = |line: u64, e: anyhow::Error| {
                    if let Ok(mut s) = stop.lock() {
                        s.get_or_insert((line, e));
                    }
                };
                let store = match crate::store::Store::open(path) {
                    Ok(s) => s,
                    Err(e) => return halt(0, e),
                };
                loop {
                    let next = job_receiver.lock().map(|r| r.recv());
                    let Ok(Ok(job)) = next else { return };
                    if stopped() {
                        continue; // drain the queue without writing
                    }
                    let written = crate::rights::export::archive_file(
                        &store.conn,
                        &clock,
                        register,
                        &job.request,
                        job.person,
                        &job.file,
                        true,
                        passphrase,
                    );
                    match written {
                        Err(e) if stops(&e) => halt(job.line, e),
                        written => {
                            if sender.send((job, written)).is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
        drop(sender);
        let mut report = |r: RowResult, results: &mut Vec<RowResult>| {
            progress(&r);
            results.push(r);
        };
        // A written archive is recorded (answer prepared; the portal's delivery completes it) here.
        let record = |conn: &mut rusqlite::Connection,
                      (job, written): (Job, anyhow::Result<crate::archive::Manifest>)|
         -> anyhow::Result<RowResult> {
            let manifest = match written {
                Ok(m) => m,
                Err(e) => return Ok(failed_row(job.line, &e)),
            };
            match crate::rights::export::record_disclosure(
                conn,
                &clock,
                &job.request,
                &manifest,
                passphrase.is_some(),
                &job.file,
            ) {
                Ok(()) => Ok(RowResult {
                    line: job.line,
                    status: "done",
                    request: Some(job.request.id.clone()),
                    file: Some(job.file.display().to_string()),
                    reason: None,
                }),
                Err(e) if stops(&e) => Err(stopped_at(e, job.line)),
                Err(e) => Ok(failed_row(job.line, &e)),
            }
        };
        // One transaction per row (measured faster than larger ones with a savepoint per row): a
        // row that fails leaves nothing, and a batch killed here loses at most the row it was at.
        let mut outcome = Ok(());
        let mut seen = Seen::new();
        for row in rows {
            while let Ok(done) = receiver.try_recv() {
                match record(&mut store.conn, done) {
                    Ok(r) => report(r, &mut results),
                    Err(e) => {
                        outcome = Err(e);
                        break;
                    }
                }
            }
            if outcome.is_err() {
                break;
            }
            if stopped() {
                break;
            }
            // No `?` in this loop: a failure must still reach the drain below, which removes the
            // archives the workers wrote that can no longer be recorded.
            let tx = match store.conn.transaction() {
                Ok(tx) => tx,
                Err(e) => {
                    outcome = Err(stopped_at(e.into(), row.line));
                    break;
                }
            };
            match prepare(&tx, &clock, &keys, row, dir, &mut seen) {
                Ok(prepared) => {
                    if let Err(e) = tx.commit() {
                        outcome = Err(stopped_at(e.into(), row.line));
                        break;
                    }
                    match prepared {
                        Prepared::Archive(job) => {
                            if job_sender.send(*job).is_err() {
                                break;
                            }
                        }
                        Prepared::Settled(r) => report(r, &mut results),
                    }
                }
                Err(e) if stops(&e) => {
                    outcome = Err(stopped_at(e, row.line));
                    break;
                }
                Err(e) => {
                    drop(tx);
                    report(failed_row(row.line, &e), &mut results);
                }
            }
        }
        drop(job_sender);
        for done in receiver {
            if outcome.is_err() {
                // Stopping: an archive that cannot be recorded must not stay (it goes again on a re-run).
                if done.1.is_ok() {
                    let _ = std::fs::remove_file(&done.0.file);
                }
                continue;
            }
            match record(&mut store.conn, done) {
                Ok(r) => report(r, &mut results),
                Err(e) => outcome = Err(e),
            }
        }
        outcome
    });
    opened?;
    if let Some((line, e)) = stop.lock().ok().and_then(|mut s| s.take()) {
        let at = if line > 0 { format!(" at line {line}") } else { String::new() };
        return Err(e.context(format!("batch stopped{at}; re-run it to resume")));
    }
    results.sort_by_key(|r| r.line);
    let count = |s: &str| results.iter().filter(|r| r.status == s).count();
    Ok(Summary {
        format_version: 1,
        done: count("done"),
        skipped: count("skipped"),
        failed: count("failed"),
        rows: results,
    })
}

fn failed(line: u64, reason: impl Into<String>) -> anyhow::Result<Prepared> {
    Ok(Prepared::Settled(RowResult { line, status: "failed", request: None, file: None, reason: Some(reason.into()) }))
}

/// The people this batch has handled so far: person id → the row that handled them (line, request).
type Seen = std::collections::HashMap<i64, (u64, String)>;

/// Resolve one row and open its request, marked verified, in the caller's transaction. A person
/// already handled by an earlier row gets no second request, archive or disclosure record.
fn prepare(
    conn: &rusqlite::Connection,
    clock: &Clock,
    keys: &crate::keys::Keys,
    row: &Row,
    dir: &Path,
    seen: &mut Seen,
) -> anyhow::Result<Prepared> {
    let (identifier, given) = match &row.identifier {
        Ok(x) => x,
        Err(reason) => return failed(row.line, reason.clone()),
    };
    if !valid_method(&row.verified_by) {
        return failed(
            row.line,
            "verified_by must name how identity was verified, e.g. portal-session (lowercase letters, digits, dashes)",
        );
    }
    let person = match subject::resolve(conn, identifier)? {
        Resolution::Found(s) => s,
        Resolution::NotFound => return failed(row.line, format!("no person matches this {}", identifier.kind())),
        Resolution::Ambiguous(c) => {
            return failed(
                row.line,
                format!("this {} belongs to {} people; use the customer number", identifier.kind(), c.len()),
            )
        }
    };
    if let Some((line, id)) = seen.get(&person.person_id) {
        return Ok(Prepared::Settled(RowResult {
            line: row.line,
            status: "skipped",
            request: Some(id.clone()),
            file: Some(archive_path(dir, id).display().to_string()),
            reason: Some(format!("same person as line {line}")),
        }));
    }
    let existing = conn
        .prepare_cached(
            "SELECT id, answered_at IS NOT NULL OR state = 'completed' FROM request WHERE kind = 'export' AND person_id = ?1
             AND verification_method = ?2 AND coalesce(verification_ref, '') = ?3 AND state IN ('verified', 'completed')
             ORDER BY created_at DESC LIMIT 1",
        )?
        .query_row(params![person.person_id, row.verified_by, row.reference], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?)))
        .optional()?;
    let id = match existing {
        Some((id, prepared)) => {
            let file = archive_path(dir, &id);
            if prepared && file.exists() {
                seen.insert(person.person_id, (row.line, id.clone()));
                return Ok(Prepared::Settled(RowResult {
                    line: row.line,
                    status: "skipped",
                    request: Some(id),
                    file: Some(file.display().to_string()),
                    reason: None,
                }));
            }
            id
        }
        None => {
            let new = NewRequest {
                kind: Kind::Export,
                identifier,
                given,
                channel: Channel::Portal,
                received_on: clock.now().date_naive(),
                params: serde_json::json!({}),
            };
            let (req, _) = request::open(conn, clock, keys, &new)?;
            if req.state == "awaiting-verification" {
                request::mark_verified(
                    conn,
                    clock,
                    &req,
                    &row.verified_by,
                    Some(row.reference.as_str()).filter(|r| !r.is_empty()),
                    None,
                )?;
            }
            req.id
        }
    };
    let request = request::load(conn, &id)?;
    seen.insert(person.person_id, (row.line, id.clone()));
    Ok(Prepared::Archive(Box::new(Job { line: row.line, request, person, file: archive_path(dir, &id) })))
}

fn archive_path(dir: &Path, request: &str) -> PathBuf {
    dir.join(format!("{request}.zip"))
}
