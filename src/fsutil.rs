//! Files with personal data: written to a temporary file in the target directory (mode 0600),
//! synced, and renamed into place only when complete, so an interrupted or failed write leaves
//! no partial file at the target. An existing file is replaced only when asked.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::error::Error;

/// Write a private file atomically. `fill` writes the content into the temporary file; nothing
/// appears at `path` unless it succeeds.
pub fn write_private<T>(
    path: &Path,
    force: bool,
    fill: impl FnOnce(&mut std::fs::File) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    if path.exists() && !force {
        return Err(Error::OutputExists(path.to_owned()).into());
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".dsr-")
        .suffix(".part")
        .tempfile_in(&dir)
        .with_context(|| format!("cannot create a file in {}", dir.display()))?;
    temp.as_file().set_permissions(std::fs::Permissions::from_mode(0o600))?;
    let value = fill(temp.as_file_mut())?;
    let cannot = || format!("cannot write {}", path.display());
    temp.as_file_mut().flush().with_context(cannot)?;
    temp.as_file().sync_all().with_context(cannot)?;
    let persisted = if force { temp.persist(path).map(|_| ()) } else { temp.persist_noclobber(path).map(|_| ()) };
    persisted.map_err(|e| anyhow::Error::new(e.error).context(cannot()))?;
    Ok(value)
}
