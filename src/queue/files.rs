//! What the queue keeps on disk beside the store: the erasure journal (`STORE.erasures`, one
//! line per erasure, read by `erase --replay` after a restore), and the sync of the stores'
//! write-ahead logs before a letter tells of what they committed.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::store::db::Db;

/// The erasure journal beside a store: `STORE.erasures`.
pub fn journal_path(store: &Path) -> PathBuf {
    let mut p = store.as_os_str().to_owned();
    p.push(".erasures");
    PathBuf::from(p)
}

pub(super) fn journal_name(store: &Path) -> String {
    journal_path(store).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Make the commits that queued these letters durable before any letter tells of them. A SQLite
/// store (and a company database attached to it) in WAL mode with `synchronous = NORMAL` syncs its
/// log only at the next checkpoint: a commit there survives a crash of dsr, but a power loss
/// could still undo it, after the letter saying it was done had gone. Syncing the log files' data
/// (the pages are the kernel's, whichever descriptor syncs them) closes that window: one
/// `fdatasync` a flush. PostgreSQL's commits are durable when they return. Returns the logs synced.
pub(super) fn sync_logs(db: &dyn Db) -> anyhow::Result<Vec<String>> {
    let mut synced = Vec::new();
    let files: Vec<String> = match db.dialect() {
        crate::store::db::Dialect::Sqlite => {
            db.all("SELECT file FROM pragma_database_list WHERE file <> ''", &[], |r| r.get(0))?
        }
        // The company's SQLite files beside a PostgreSQL store (`store::postgres::beside`).
        crate::store::db::Dialect::Postgres => {
            let mut files = Vec::new();
            for d in crate::store::attached::listed(db)?.iter().filter(|d| db.file_side(&d.name).is_some()) {
                files.push(crate::store::attached::resolve(&db.place(), &d.path).to_string_lossy().into_owned());
            }
            files
        }
    };
    for file in files {
        let log = format!("{file}-wal");
        match File::open(&log) {
            Ok(f) => f.sync_data().with_context(|| format!("cannot sync {log}"))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(anyhow::Error::new(e).context(format!("cannot sync {log}"))),
        }
        synced.push(log);
    }
    Ok(synced)
}

/// Append a line to the journal unless a run that died after writing it already did.
pub(super) fn append_journal(store: &Path, line: &[u8]) -> anyhow::Result<()> {
    let path = journal_path(store);
    if has_line(&journal_tail(&path)?, line) {
        return Ok(());
    }
    // (Read too: the last byte tells whether a line an older run left was ended.)
    let mut f = OpenOptions::new().create(true).read(true).append(true).mode(0o600).open(&path)?;
    let before = f.metadata()?.len();
    // A line an older run left cut short (a full disk) is ended first, so that this one stays
    // a line of its own that `erase --replay` reads.
    let cut = before > 0 && !ends_a_line(&mut f, before)?;
    // One write: the line and its end together.
    let written = f.write_all(&[if cut { &b"\n"[..] } else { b"" }, line, b"\n"].concat()).and_then(|()| f.sync_data());
    if let Err(e) = written {
        // Nothing of the line stays behind when it could not be written whole: the queue keeps
        // it, and delivers it again once there is room.
        let _ = f.set_len(before).and_then(|()| f.sync_data());
        return Err(e.into());
    }
    Ok(())
}

/// Whether the file's last byte (of `len`) ends a line.
fn ends_a_line(f: &mut File, len: u64) -> std::io::Result<bool> {
    use std::os::unix::fs::FileExt;
    let mut last = [0u8];
    f.read_exact_at(&mut last, len - 1)?;
    Ok(last[0] == b'\n')
}

/// Whether `text` holds `line` as one whole line (a byte search: no copy, no UTF-8 check).
fn has_line(text: &[u8], line: &[u8]) -> bool {
    memchr::memmem::find_iter(text, line).any(|at| {
        let end = at + line.len();
        (at == 0 || text[at - 1] == b'\n') && (end == text.len() || text[end] == b'\n' || text[end] == b'\r')
    })
}

/// The journal's last 64 KiB (hundreds of lines): where a line written by a run that died
/// before recording it stands, since the next run delivers the queue in order, that line
/// first. Reading the whole journal would cost every erasure more as the years' lines grow.
fn journal_tail(path: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    const TAIL: u64 = 64 * 1024;
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let len = f.metadata()?.len();
    let from = len.saturating_sub(TAIL);
    f.seek(SeekFrom::Start(from))?;
    let mut bytes = Vec::with_capacity(TAIL.min(len) as usize);
    f.read_to_end(&mut bytes)?;
    if from > 0 {
        // The first line, cut by the seek, is left out.
        let whole = bytes.iter().position(|&b| b == b'\n').map_or(bytes.len(), |i| i + 1);
        bytes.drain(..whole);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A journal line counts as written only as a whole line of the journal.
    #[test]
    fn a_line_is_found_only_whole() {
        let journal = b"{\"request\":\"DSR-2026-0001\"}\n{\"request\":\"DSR-2026-0002\"}\r\n";
        assert!(has_line(journal, b"{\"request\":\"DSR-2026-0001\"}"));
        assert!(has_line(journal, b"{\"request\":\"DSR-2026-0002\"}"));
        assert!(!has_line(journal, b"\"request\":\"DSR-2026-0001\"}"));
        assert!(!has_line(journal, b"{\"request\":\"DSR-2026-000"));
        assert!(!has_line(b"", b"x"));
        assert!(has_line(b"x", b"x"));
    }

    /// The store's log and an attached company database's log are both synced before letters go.
    #[test]
    fn the_logs_of_the_store_and_its_company_database_are_synced() {
        let dir = tempfile::tempdir().unwrap();
        let company = dir.path().join("company.sqlite");
        let c = rusqlite::Connection::open(&company).unwrap();
        c.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)).unwrap();
        c.execute_batch("CREATE TABLE t (x INTEGER) STRICT").unwrap();
        let store = crate::store::create(&dir.path().join("dsr.sqlite"), false, |_| Ok(())).unwrap();
        store.conn.execute("ATTACH DATABASE ?1 AS company", [company.to_str().unwrap()]).unwrap();
        store
            .conn
            .execute_batch("INSERT INTO company.t VALUES (1); INSERT INTO store_meta (key, value) VALUES ('x', 'y')")
            .unwrap();
        let synced = sync_logs(&store.conn).unwrap();
        let names: Vec<String> =
            synced.iter().map(|p| Path::new(p).file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["dsr.sqlite-wal", "company.sqlite-wal"]);
    }
}
