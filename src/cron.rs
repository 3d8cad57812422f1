//! What unattended runs share: one lock per store, so that a second `erase --due` or
//! `retention run` exits at once instead of running alongside the first.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use crate::error::Error;

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

pub fn lock_path(store: &Path) -> PathBuf {
    let mut p = store.as_os_str().to_owned();
    p.push(".run.lock");
    PathBuf::from(p)
}

/// Take the store's run lock, or fail at once with [`Error::RunLocked`].
pub fn lock(store: &Path) -> anyhow::Result<RunLock> {
    let path = lock_path(store);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
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
