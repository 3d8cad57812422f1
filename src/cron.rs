//! What unattended runs share: one lock per store, so that a second `erase --due` or
//! `retention run` exits at once instead of running alongside the first; and the record of each
//! one's last run (when, its exit code, its one-line summary), which `dsr status` shows. The
//! audit trail records what a run removed, not a run that removed nothing or failed before it
//! began: the record of the last run is a row of `store_meta` per command, read in one lookup.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::error::Error;
use crate::store::db::{text, Db};

/// Held for the whole run; released when dropped (or when the process dies).
pub struct RunLock {
    _held: Held,
}

// The fields are held, never read: dropping them releases the lock.
#[allow(dead_code)]
enum Held {
    /// An exclusive `flock` on `STORE.run.lock` (a SQLite store).
    File(File),
    /// A session-level advisory lock on a connection of its own (a PostgreSQL store): the
    /// server releases it when the session ends, a killed run's included.
    Session(Box<postgres::Client>),
    /// A session-level advisory lock on the command's own connection, released when the
    /// command's session ends.
    OnSession,
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Held::Session(client) = self {
            // Released now, not when the server notices that the connection closed: a run that
            // starts right after this one ends finds the lock free.
            let _ = client.batch_execute("SELECT pg_advisory_unlock_all()");
        }
    }
}

/// `STORE.NAME.lock`: the file of one of a SQLite store's locks.
fn lock_path(store: &Path, name: &str) -> PathBuf {
    let mut p = store.as_os_str().to_owned();
    p.push(format!(".{name}.lock"));
    PathBuf::from(p)
}

/// Take the store's run lock, or fail at once with [`Error::RunLocked`].
pub fn lock(store: &Path) -> anyhow::Result<RunLock> {
    lock_file(lock_path(store, "run"))
}

/// Take the lock of the store's batch exports (`export --batch`), or fail at once with
/// [`Error::RunLocked`]: two batches at once would each prepare the same people's answers, and
/// record them twice. A SQLite store's is the file `STORE.batch.lock`; a PostgreSQL store's an
/// advisory lock of the command's own session, keyed by the schema of dsr's records.
pub fn batch_lock(db: &dyn Db) -> anyhow::Result<RunLock> {
    if db.dialect() == crate::store::db::Dialect::Sqlite {
        return lock_file(lock_path(&db.place(), "batch"));
    }
    let (got, schema): (bool, String) = db.one(
        "SELECT pg_try_advisory_lock(hashtext('dsr-batch:' || current_schema())), current_schema()::text",
        &[],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    match got {
        true => Ok(RunLock { _held: Held::OnSession }),
        false => {
            Err(Error::RunLocked(PathBuf::from(format!("dsr-batch:{schema} (an advisory lock of the server)"))).into())
        }
    }
}

fn lock_file(path: PathBuf) -> anyhow::Result<RunLock> {
    use std::os::unix::fs::OpenOptionsExt;
    // Private like the store beside it and the queue's lock.
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| anyhow::Error::new(e).context(format!("cannot open the lock file {}", path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(RunLock { _held: Held::File(file) }),
        Err(TryLockError::WouldBlock) => Err(Error::RunLocked(path).into()),
        Err(TryLockError::Error(e)) => Err(anyhow::Error::new(e).context(format!("cannot lock {}", path.display()))),
    }
}

/// Take a PostgreSQL store's run lock, or fail at once with [`Error::RunLocked`] (the store's
/// URL and `#run-lock` named). The lock is `pg_try_advisory_lock` on a connection held for the
/// run, keyed by the schema of dsr's records, so two stores in one database do not share it.
pub fn lock_postgres(target: &crate::store::postgres::Target) -> anyhow::Result<RunLock> {
    let mut client = target.connect()?;
    let got: bool =
        client.query_one("SELECT pg_try_advisory_lock(hashtext('dsr-run:' || $1))", &[&target.schema])?.get(0);
    if !got {
        return Err(Error::RunLocked(PathBuf::from(format!("{}#run-lock", target.shown))).into());
    }
    Ok(RunLock { _held: Held::Session(Box::new(client)) })
}

/// The unattended commands whose last run is recorded, in the order `dsr status` shows them.
pub const COMMANDS: &[&str] = &["erase --due", "retention run"];

/// How an unattended run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastRun {
    /// `erase --due` or `retention run`.
    pub command: String,
    /// When it ended (RFC 3339, UTC).
    pub at: String,
    /// Its exit code (0 done; see docs/cron.md for the others).
    pub exit_code: u8,
    /// The code's name (`ok`, `failure`, `stale-plan`, `wal-busy`...), as in a `--json` error.
    pub outcome: String,
    /// Its one-line summary, or the error that ended it.
    pub summary: String,
}

fn key(command: &str) -> String {
    format!("last-run:{command}")
}

/// Record how a run of `run.command` ended, replacing the record of its run before.
pub fn record_run(conn: &dyn Db, run: &LastRun) -> anyhow::Result<()> {
    conn.run(
        "INSERT INTO store_meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[text(key(&run.command)), text(serde_json::to_string(run)?)],
    )?;
    Ok(())
}

/// The last run of each of [`COMMANDS`]: None for one that never ran since runs were recorded.
pub fn last_runs(conn: &dyn Db) -> anyhow::Result<Vec<(&'static str, Option<LastRun>)>> {
    COMMANDS
        .iter()
        .map(|c| {
            let raw: Option<String> =
                conn.first("SELECT value FROM store_meta WHERE key = ?1", &[text(key(c))], |r| r.get(0))?;
            Ok((*c, raw.and_then(|r| serde_json::from_str(&r).ok())))
        })
        .collect()
}

/// A record of a run ending now.
pub fn ended(clock: &Clock, command: &str, exit_code: u8, outcome: &str, summary: &str) -> LastRun {
    LastRun {
        command: command.to_owned(),
        at: clock.timestamp(),
        exit_code,
        outcome: outcome.to_owned(),
        summary: summary.to_owned(),
    }
}

/// Record how a run that ended now with `result` went: its code, and `summary` (or, when it
/// failed, the error). A record that cannot be written fails a run that succeeded (the store
/// is in trouble); a failed run keeps its own error.
pub fn record_result(
    conn: &dyn Db,
    clock: &Clock,
    command: &str,
    result: anyhow::Result<crate::exit::Code>,
    summary: &str,
) -> anyhow::Result<crate::exit::Code> {
    let (code, summary) = match &result {
        Ok(code) => (*code, summary.to_owned()),
        // A clock behind the store's records dates nothing, a run's record neither.
        Err(e) if e.chain().any(|c| matches!(c.downcast_ref(), Some(crate::error::Error::ClockBehind { .. }))) => {
            return result;
        }
        // The line the run told on stderr, the locked file named.
        Err(e) => (crate::exit::Code::of_error(e), crate::output::message(e, Some(&conn.place()))),
    };
    let recorded = record_run(conn, &ended(clock, command, code as u8, code.kind(), &summary));
    match (result, recorded) {
        (Ok(_), Err(e)) => Err(e.context(format!("the record of this {command} run could not be written"))),
        (result, _) => result,
    }
}

/// An unattended run (`erase --due`, `retention run`) on the SQLite store `db` that stopped
/// before it began because a company database is missing or no longer what the map says (exit
/// 10, 11, 15): recorded as its last run all the same, through the store alone, so that `dsr
/// status` does not go on showing the run before as the last. Any other error was recorded by
/// the run itself, or concerns the store, which is then not written.
pub fn record_stopped(db: &Path, command: Option<&str>, e: &anyhow::Error) {
    let Some(command) = command else { return };
    let at_open = e.chain().any(|c| {
        matches!(
            c.downcast_ref::<Error>(),
            Some(Error::DatabaseMissing { .. } | Error::DatabaseMismatch { .. } | Error::DatabaseDirReadOnly { .. })
        )
    });
    if !at_open {
        return;
    }
    if let (Ok(store), Ok(clock)) = (crate::store::Store::open_detached(db), Clock::from_env()) {
        let code = crate::exit::Code::of_error(e);
        // The run's own error is what it reports; a record that cannot be written adds none.
        let told = crate::output::message(e, Some(db));
        let _ = record_run(&store, &ended(&clock, command, code as u8, code.kind(), &told));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_run_of_each_command_is_kept_and_replaced() {
        let store = crate::store::Store::in_memory().unwrap();
        assert_eq!(last_runs(&store).unwrap(), vec![("erase --due", None), ("retention run", None)]);
        let clock = Clock::parse("2026-03-01T02:15:00Z").unwrap();
        record_run(&store, &ended(&clock, "retention run", 1, "failure", "rule x failed")).unwrap();
        let later = Clock::parse("2026-03-02T02:15:00Z").unwrap();
        record_run(&store, &ended(&later, "retention run", 0, "ok", "3 rows removed")).unwrap();
        let runs = last_runs(&store).unwrap();
        assert_eq!(runs[0], ("erase --due", None));
        let (_, Some(run)) = &runs[1] else { panic!("{runs:?}") };
        assert_eq!(
            (run.at.as_str(), run.exit_code, run.summary.as_str()),
            ("2026-03-02T02:15:00Z", 0, "3 rows removed")
        );
    }
}
