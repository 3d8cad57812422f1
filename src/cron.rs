//! What unattended runs share: one lock per store, so that a second `erase --due` or
//! `retention run` exits at once instead of running alongside the first.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use crate::error::Error;

/// Held for the whole run; released when dropped (or when the process dies).
pub struct RunLock {
    _file: File,
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
        Ok(()) => Ok(RunLock { _file: file }),
        Err(TryLockError::WouldBlock) => Err(Error::RunLocked(path).into()),
        Err(TryLockError::Error(e)) => Err(anyhow::Error::new(e).context(format!("cannot lock {}", path.display()))),
    }
}
