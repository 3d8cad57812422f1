//! Scripted batch exports: a CSV of people whose identity was verified outside dsr (e.g. by an
//! authenticated portal session), one archive per person. A bad row is reported with its line
//! number and does not stop the others. Re-running the same batch skips what is done: a row is
//! done when an export request of that person, verified by the same method and reference, has
//! its answer prepared and its archive exists, so a batch killed half-way resumes where it stopped.
//!
//! Work goes in groups of [`GROUP`]: the rows of a group are opened in one transaction; their
//! archives are written by workers to temporary files that are not synced one by one; a group of
//! finished archives is synced at once, renamed into place, and only then recorded, in one
//! transaction. Nothing is reported or recorded as written before it is on disk.

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Mutex};

use serde::Serialize;

use crate::archive::Manifest;
use crate::clock::Clock;
use crate::error::Error;
use crate::fsutil::Private;
use crate::request;
use crate::store::db::{Conn, Connect};
use crate::subject;

mod file;
mod prepare;
pub use file::{read, Row};
use prepare::{prepare, Seen};

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
    /// Rows the batch did not get to, or whose archives were not yet recorded when it stopped
    /// (status `not-run`).
    pub not_run: usize,
    /// Why and where the batch stopped, for a script: the first line not written and the error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<Stop>,
    /// The store or the disk failed under the batch (locked, full): it stopped there, with this
    /// error, after the rows above (the archives whole on disk and recorded). Re-run to resume.
    #[serde(skip)]
    pub stopped: Option<anyhow::Error>,
}

/// Where a batch stopped, in its JSON summary.
#[derive(Debug, Serialize)]
pub struct Stop {
    pub line: Option<u64>,
    pub error: String,
    pub exit_code: u8,
}

/// Rows opened in one transaction, and finished archives synced at once (one `syncfs`, one
/// directory sync) and recorded in one transaction. Peak memory grows with it (the workers'
/// archives in flight): 64 keeps a batch well under 64 MiB.
const GROUP: usize = 64;

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

/// What a worker hands back: the job and its archive, in a temporary file not yet synced.
type Written = (Job, anyhow::Result<(Private, Manifest)>);

/// Whether an error stops the whole batch (the store is locked, the disk is full...) rather than
/// failing one row. A stopped batch is resumable: run it again.
fn stops(e: &anyhow::Error) -> bool {
    crate::exit::Code::of_error(e) != crate::exit::Code::Failure
        && !matches!(e.downcast_ref::<Error>(), Some(Error::Invalid { .. } | Error::Ambiguous { .. }))
}

fn failed_row(line: u64, e: &anyhow::Error) -> RowResult {
    RowResult { line, status: "failed", request: None, file: None, reason: Some(format!("{e:#}")) }
}

/// Run a batch: the rows are resolved and their requests opened and marked verified, in file
/// order, a group per transaction (one writer, this thread, on `conn`), while `jobs` workers,
/// each with its own connection from `connect`, write the archives of the rows opened so far, so
/// one archive's compression overlaps another's reads and the next rows' opening. Finished
/// archives are settled in groups (see [`settle`]). The same on either backend.
#[allow(clippy::too_many_arguments)]
pub fn run(
    conn: &dyn Conn,
    connect: &Connect,
    clock: Clock,
    rows: &[Row],
    dir: &Path,
    passphrase: Option<&str>,
    jobs: usize,
    mut progress: impl FnMut(&RowResult),
) -> anyhow::Result<Summary> {
    let keys = crate::keys::Keys::load(conn)?;
    let register = crate::register::Register::load(conn)?;
    let mut results = Vec::with_capacity(rows.len());
    let stop: Mutex<Option<(u64, anyhow::Error)>> = Mutex::new(None);
    let (register, stop) = (&register, &stop);
    let stopped = move || stop.lock().map(|s| s.is_some()).unwrap_or(true);
    // Archives to write go to the workers as soon as their group is open (a bounded queue);
    // their results come back to this thread, which settles them and reports progress.
    let (job_sender, job_receiver) = mpsc::sync_channel::<Job>(2 * GROUP);
    let job_receiver = Mutex::new(job_receiver);
    let job_receiver = &job_receiver;
    // Workers only read the store; every write (opening, recording) is on this thread, so no two
    // connections ever wait on each other's write lock.
    let (sender, receiver) = mpsc::channel::<Written>();
    // The request each row's archive was to answer, opened and committed: a row not written
    // still names it (a re-run answers that request, opening no second one).
    let mut opened_for: std::collections::HashMap<u64, String> = std::collections::HashMap::new();
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
                // A worker that cannot open the store stops the batch but still takes its share
                // of the queue, so the thread opening rows is never left waiting on a full queue.
                let store = connect().map_err(|e| halt(0, e)).ok();
                loop {
                    let next = job_receiver.lock().map(|r| r.recv());
                    let Ok(Ok(job)) = next else { return };
                    let (Some(store), false) = (&store, stopped()) else {
                        continue; // drain the queue without writing
                    };
                    let written = crate::rights::export::archive_temp(
                        &**store,
                        &clock,
                        register,
                        &job.request,
                        job.person,
                        dir,
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
        let mut report = |r: RowResult| {
            progress(&r);
            results.push(r);
        };
        let encrypted = passphrase.is_some();
        // No `?` in this loop: a failure must still reach the drain below, which removes the
        // archives the workers wrote that can no longer be recorded.
        let mut outcome = Ok(());
        let mut seen = Seen::new();
        let mut group: Vec<Written> = Vec::with_capacity(2 * GROUP);
        'rows: for chunk in rows.chunks(GROUP) {
            group.extend(receiver.try_iter());
            while group.len() >= GROUP {
                if let Err(e) = settle(conn, &clock, dir, encrypted, &mut group, &mut report) {
                    outcome = Err(e);
                    break 'rows;
                }
            }
            if stopped() {
                break;
            }
            match open(conn, &clock, &keys, chunk, (dir, passphrase.is_some()), &mut seen) {
                Ok(prepared) => {
                    for p in prepared {
                        match p {
                            Prepared::Archive(job) => {
                                opened_for.insert(job.line, job.request.id.clone());
                                if job_sender.send(*job).is_err() {
                                    break 'rows;
                                }
                            }
                            Prepared::Settled(r) => report(r),
                        }
                    }
                }
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        drop(job_sender);
        for done in receiver {
            // Once stopping, an archive that cannot be recorded does not stay: its temporary file
            // is removed as it drops, and it goes again on a re-run.
            if outcome.is_ok() {
                group.push(done);
                if group.len() >= GROUP {
                    outcome = settle(conn, &clock, dir, encrypted, &mut group, &mut report);
                }
            }
        }
        while outcome.is_ok() && !group.is_empty() {
            outcome = settle(conn, &clock, dir, encrypted, &mut group, &mut report);
        }
        group.clear();
        outcome
    });
    let mut stopped = opened.err();
    if let Some((_, e)) = stop.lock().ok().and_then(|mut s| s.take()) {
        stopped.get_or_insert(e);
    }
    // Stopped, every row without a result is named: not written, to be done by a re-run.
    let mut stop = None;
    if let Some(e) = stopped.take() {
        let reported: std::collections::HashSet<u64> = results.iter().map(|r| r.line).collect();
        let left: Vec<u64> = rows.iter().map(|r| r.line).filter(|l| !reported.contains(l)).collect();
        for &line in &left {
            let reason = "not written: the batch stopped before this row's archive was recorded; run the batch again";
            let request = opened_for.get(&line).cloned();
            results.push(RowResult { line, status: "not-run", request, file: None, reason: Some(reason.into()) });
        }
        let at = left.first().map(|l| format!(" at line {l}")).unwrap_or_default();
        let e = e.context(format!("batch stopped{at}; re-run it to resume"));
        let error = crate::output::sanitize::line(&crate::output::words(&e));
        stop = Some(Stop { line: left.first().copied(), error, exit_code: crate::exit::Code::of_error(&e) as u8 });
        stopped = Some(e);
    }
    results.sort_by_key(|r| r.line);
    let count = |s: &str| results.iter().filter(|r| r.status == s).count();
    Ok(Summary {
        format_version: 1,
        done: count("done"),
        skipped: count("skipped"),
        failed: count("failed"),
        not_run: count("not-run"),
        rows: results,
        stop,
        stopped,
    })
}

/// Open the requests of a group of rows in one transaction, each row in a savepoint: a row that
/// fails leaves nothing, and a batch killed here loses at most this group's opening (a re-run
/// opens them again).
fn open(
    conn: &dyn Conn,
    clock: &Clock,
    keys: &crate::keys::Keys,
    chunk: &[Row],
    dir: (&Path, bool),
    seen: &mut Seen,
) -> anyhow::Result<Vec<Prepared>> {
    let tx = conn.begin_own()?;
    let mut prepared = Vec::with_capacity(chunk.len());
    for row in chunk {
        tx.run("SAVEPOINT batch_row", &[])?;
        match prepare(&*tx, clock, keys, row, dir, seen) {
            Ok(p) => prepared.push(p),
            Err(e) if stops(&e) => return Err(e),
            Err(e) => {
                // The row leaves nothing (on PostgreSQL, this also makes the transaction usable
                // again after the row's failed statement).
                tx.run("ROLLBACK TO batch_row", &[])?;
                prepared.push(Prepared::Settled(failed_row(row.line, &e)));
            }
        }
        tx.run("RELEASE batch_row", &[])?;
    }
    tx.commit()?;
    Ok(prepared)
}

/// Settle the first [`GROUP`] written archives (or all, when fewer): a failed one fails its row; the others are synced to disk
/// at once, renamed into place and the directory synced (`fsutil::place_synced`), and only then
/// recorded (answer prepared; the portal's delivery completes it), all in one transaction. A
/// failure there removes the group's archives and stops the batch; a signal either comes before
/// the record is committed and removes them, or waits until it is.
fn settle(
    conn: &dyn Conn,
    clock: &Clock,
    dir: &Path,
    encrypted: bool,
    group: &mut Vec<Written>,
    report: &mut impl FnMut(RowResult),
) -> anyhow::Result<()> {
    let mut files = Vec::with_capacity(group.len());
    let mut ready = Vec::with_capacity(group.len());
    for (job, written) in group.drain(..GROUP.min(group.len())) {
        match written {
            Ok((temp, manifest)) => {
                files.push((temp, job.file.clone()));
                ready.push((job, manifest));
            }
            Err(e) => report(RowResult { request: Some(job.request.id.clone()), ..failed_row(job.line, &e) }),
        }
    }
    if ready.is_empty() {
        return Ok(());
    }
    let placed = crate::fsutil::place_synced(dir, files)?;
    placed.keep(|| {
        let tx = conn.begin_own()?;
        for (job, manifest) in &ready {
            crate::rights::export::record_prepared(&*tx, clock, &job.request, manifest, encrypted)?;
        }
        tx.commit()?;
        Ok(())
    })?;
    for (job, _) in ready {
        report(RowResult {
            line: job.line,
            status: "done",
            request: Some(job.request.id),
            file: Some(job.file.display().to_string()),
            reason: None,
        });
    }
    Ok(())
}
