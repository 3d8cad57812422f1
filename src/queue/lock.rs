//! One process flushes the queue at a time.

use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use crate::store::db::{Db, Dialect};

/// The lock of one flushing process: on SQLite a lock file beside the store; on PostgreSQL an
/// advisory lock of this session, keyed by the schema (processes on other machines share it),
/// released when the flush ends or the session does.
pub enum FlushLock<'a> {
    File(#[allow(dead_code)] File),
    Advisory(&'a dyn Db),
}

impl Drop for FlushLock<'_> {
    fn drop(&mut self) {
        if let FlushLock::Advisory(db) = self {
            let _ = db.run("SELECT pg_advisory_unlock(hashtext('dsr-queue:' || current_schema()))", &[]);
        }
    }
}

pub(super) fn lock(db: &dyn Db) -> anyhow::Result<Option<FlushLock<'_>>> {
    if db.dialect() == Dialect::Postgres {
        let got: bool = db
            .first("SELECT pg_try_advisory_lock(hashtext('dsr-queue:' || current_schema()))", &[], |r| r.get(0))?
            .unwrap_or(false);
        return Ok(got.then_some(FlushLock::Advisory(db)));
    }
    let mut p = db.place().into_os_string();
    p.push(".queue.lock");
    let file = OpenOptions::new().create(true).truncate(false).write(true).mode(0o600).open(PathBuf::from(p))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(FlushLock::File(file))),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(e.into()),
    }
}

/// The queue's lock for a change to a queued letter (withdrawing it): no flush sends it
/// meanwhile. Another process delivering now is exit 13: run the command again in a moment.
pub fn hold(db: &dyn Db) -> anyhow::Result<FlushLock<'_>> {
    lock(db)?.ok_or_else(|| crate::error::Error::StoreBusy(db.place()).into())
}
