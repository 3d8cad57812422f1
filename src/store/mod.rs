//! The store: one SQLite file. Opening sets the pragmas every command relies on, refuses files
//! that are not dsr stores, and brings older stores up to date (see [`migrate`]).

pub mod attached;
pub mod db;
pub mod fixture;
pub mod migrate;
pub mod personal;
pub mod postgres;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use rusqlite::{Connection, OpenFlags};

use crate::error::Error;

/// `PRAGMA application_id` of every dsr store ("DSR1"): tells a dsr store from any other SQLite file.
pub const APPLICATION_ID: i32 = 0x4453_5231;

/// How long a command waits for another process's write lock before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Store {
    pub conn: Connection,
    pub path: PathBuf,
}

impl Store {
    /// Open an existing store for reading and writing.
    /// Open a store without its company databases: for the commands that change or show the
    /// map itself (`register apply` repairs a map a database no longer matches).
    pub fn open_detached(path: &Path) -> anyhow::Result<Store> {
        check_header(path)?;
        crate::fsutil::protect(path);
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(|e| classify(path, e))?;
        configure(&mut conn).map_err(|e| classify(path, e))?;
        let app_id: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0)).map_err(|e| classify(path, e))?;
        if app_id != APPLICATION_ID {
            return Err(Error::NotAStore(path.to_owned()).into());
        }
        let mut store = Store { conn, path: path.to_owned() };
        migrate::upgrade(&mut store)?;
        Ok(store)
    }

    /// Open a store with the company databases its map names attached, each checked against
    /// the map (a missing one: exit 10; one without a table or column the map names: exit 11).
    pub fn open(path: &Path) -> anyhow::Result<Store> {
        let store = Store::open_detached(path)?;
        let databases = attached::listed(&store.conn)?;
        if !databases.is_empty() {
            attached::attach(&store.conn, path, &databases)?;
            attached::check(&store.conn, path, &databases, &*personal::DataMap::load(&store.conn)?)?;
        }
        Ok(store)
    }

    /// Open an in-memory store with the current schema (unit tests, and `build_in_memory`).
    pub fn in_memory() -> anyhow::Result<Store> {
        let mut conn = Connection::open_in_memory()?;
        configure(&mut conn)?;
        let mut store = Store { conn, path: PathBuf::from(":memory:") };
        migrate::create(&mut store)?;
        Ok(store)
    }
}

/// Pragmas every connection runs with: foreign keys enforced, WAL so readers never block the
/// writer, a busy timeout instead of failing at once, and secure_delete so erased values are
/// overwritten rather than left in free pages.
pub fn configure(conn: &mut Connection) -> rusqlite::Result<()> {
    // Every write transaction takes the write lock up front: a deferred one that read first
    // could not upgrade after another process wrote (SQLITE_BUSY_SNAPSHOT), and would fail
    // instead of waiting its turn.
    conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Every scope and register query is cached; the default of 16 would evict and re-prepare them.
    conn.set_prepared_statement_cache_capacity(256);
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "secure_delete", "ON")?;
    let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    crate::subject::register_functions(conn)?;
    Ok(())
}

/// Fail early, with a clear message, for a missing file or one that is not SQLite at all.
fn check_header(path: &Path) -> anyhow::Result<()> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Error::StoreMissing(path.to_owned()).into()),
        Err(e) => return Err(anyhow::Error::new(e).context(format!("cannot read store {}", path.display()))),
    };
    if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        return Err(Error::StoreIsDirectory(path.to_owned()).into());
    }
    let mut header = [0u8; 16];
    let n = file.read(&mut header).with_context(|| format!("cannot read store {}", path.display()))?;
    if n < 16 || &header != b"SQLite format 3\0" {
        return Err(Error::NotAStore(path.to_owned()).into());
    }
    Ok(())
}

/// Turn SQLite's open-time errors into the store errors users see.
pub fn classify(path: &Path, e: rusqlite::Error) -> anyhow::Error {
    use rusqlite::ErrorCode as C;
    match e.sqlite_error_code() {
        Some(C::NotADatabase) => Error::NotAStore(path.to_owned()).into(),
        Some(C::DatabaseCorrupt) => Error::Corrupt { path: path.to_owned(), detail: e.to_string() }.into(),
        Some(C::DatabaseBusy | C::DatabaseLocked) => Error::StoreBusy(path.to_owned()).into(),
        // A directory dsr may not write in (SQLITE_READONLY_DIRECTORY), or a file it may only read.
        Some(C::ReadOnly) => Error::StoreReadOnly(path.to_owned()).into(),
        _ => anyhow::Error::new(e).context(format!("cannot open store {}", path.display())),
    }
}

/// Fold the write-ahead log into the database file and truncate it, so that no byte of removed
/// rows stays in `-wal` (with `secure_delete`, the file itself is already overwritten). A reader
/// holding an old snapshot blocks this: it is retried (each try waits `busy_timeout`), then
/// reported as [`Error::WalBusy`]; the committed change stands either way.
pub fn truncate_wal(conn: &Connection, path: &Path) -> anyhow::Result<()> {
    let mut busy_file = path.to_owned();
    for attempt in 0..2u32 {
        // The store's own log (unqualified, the pragma folds every attached file's log and
        // reports any one's reader as the store's), then each company database's the same way.
        let busy: i64 = conn.query_row("PRAGMA main.wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
        let other = if busy == 0 { attached::truncate_logs(conn, path)? } else { None };
        match other {
            None if busy == 0 => return Ok(()),
            Some(file) => busy_file = file,
            None => {}
        }
        std::thread::sleep(Duration::from_millis(100 << attempt));
    }
    Err(Error::WalBusy(busy_file).into())
}

/// [`truncate_wal`] for the company's files alone, attached to a connection of their own beside a
/// PostgreSQL store (`postgres::beside`).
pub fn truncate_logs_of(conn: &Connection, place: &Path, databases: &[crate::map::Database]) -> anyhow::Result<()> {
    let mut busy = None;
    for attempt in 0..3u32 {
        busy = attached::truncate_logs_of(conn, place, databases)?;
        if busy.is_none() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100 << attempt));
    }
    Err(Error::WalBusy(busy.unwrap_or_default()).into())
}

/// Build a new store in memory (its key made, `fill` run), to be copied elsewhere (`dsr init` of
/// a PostgreSQL store): nothing of it, its key least of all, is ever written to a file.
pub fn build_in_memory(fill: impl FnOnce(&mut Store) -> anyhow::Result<()>) -> anyhow::Result<Store> {
    let mut store = Store::in_memory()?;
    crate::keys::Keys::create(&store.conn)?;
    fill(&mut store)?;
    Ok(store)
}

/// Create a new store at `path`: build it in a temporary file beside the target (mode 0600),
/// let `fill` populate it, and rename it into place only when complete. A failed or interrupted
/// init leaves no file behind; an existing file is replaced only with `force`.
pub fn create(path: &Path, force: bool, fill: impl FnOnce(&mut Store) -> anyhow::Result<()>) -> anyhow::Result<Store> {
    if path.is_dir() {
        return Err(Error::StoreIsDirectory(path.to_owned()).into());
    }
    if path.exists() && !force {
        return Err(Error::StoreExists(path.to_owned()).into());
    }
    let dir = crate::fsutil::beside(path);
    // `.dsr-<pid>-XXXXXX.sqlite` (0600): SIGINT, SIGTERM and SIGHUP remove it and SQLite's side
    // files before the process exits, and the next init in this directory removes what a SIGKILL
    // left (see `fsutil`).
    let temp = crate::fsutil::private_temp(dir, ".dsr-", ".sqlite")?.with_companions(&["-wal", "-shm", "-journal"]);
    {
        let mut conn = Connection::open(temp.path()).map_err(|e| classify(temp.path(), e))?;
        configure(&mut conn)?;
        let mut store = Store { conn, path: temp.path().to_owned() };
        migrate::create(&mut store)?;
        crate::keys::Keys::create(&store.conn)?;
        fill(&mut store)?;
        store.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
        // Dropping the last connection checkpoints and removes the -wal and -shm files.
    }
    if force {
        // A stale WAL beside the target would be replayed into the new file: remove it first.
        for suffix in ["-wal", "-shm"] {
            let mut side = path.as_os_str().to_owned();
            side.push(suffix);
            match std::fs::remove_file(&side) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(
                        anyhow::Error::new(e).context(format!("cannot remove {}", PathBuf::from(side).display()))
                    )
                }
                _ => {}
            }
        }
    }
    temp.persist(path, force)?;
    Store::open(path)
}

#[cfg(test)]
mod tests {
    /// `.cargo/config.toml` builds SQLite without the two features whose global mutexes made
    /// connections on different threads wait on each other.
    #[test]
    fn sqlite_is_built_without_global_page_cache_and_memory_statistics() {
        let store = super::Store::in_memory().unwrap();
        let options: Vec<String> = store
            .conn
            .prepare("PRAGMA compile_options")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(!options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"), "{options:?}");
        assert!(options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"), "{options:?}");
    }
}
