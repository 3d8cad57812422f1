//! The company's own SQLite databases that the data map names (`[[database]]`, design §10),
//! attached to the store's connection under their names so that every right acts on their
//! tables in place, in the same transaction as dsr's own records (which stay in dsr's store).
//! At open each file must exist, be SQLite, and hold every table and column the map names in
//! it: a database that no longer matches is refused before anything is read or changed, with
//! the table and column named.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::error::Error;
use crate::map::Database;
use crate::vals;

/// The company databases a store's map names, in the file's order.
pub fn listed(db: &dyn crate::store::db::Db) -> anyhow::Result<Vec<Database>> {
    let mut out = Vec::new();
    db.each("SELECT name, path FROM map_database ORDER BY sort, name", &[], &mut |r| {
        out.push(Database { name: r.get(0)?, path: r.get(1)? });
        Ok(())
    })?;
    Ok(out)
}

/// Replace the store's list of company databases (in the caller's transaction).
pub fn save(conn: &dyn crate::store::db::Db, databases: &[Database]) -> anyhow::Result<()> {
    conn.run("DELETE FROM map_database", &[])?;
    for (i, d) in databases.iter().enumerate() {
        conn.run(
            "INSERT INTO map_database (name, sort, path) VALUES (?1, ?2, ?3)",
            &vals![d.name, (i as i64 + 1) * 10, d.path]?,
        )?;
    }
    Ok(())
}

/// After SQLite said "database is locked" (which file, it does not say): the one whose write
/// lock another process holds now, the store or a company database of its map, found by asking
/// each for that lock without waiting (and giving it back at once); `None` when none is locked
/// by now or the store cannot be read.
pub fn locked_now(store: &Path) -> Option<(String, PathBuf)> {
    let locked = |path: &Path| {
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let Ok(conn) = Connection::open_with_flags(path, flags) else { return false };
        // rusqlite gives every connection a busy timeout; this one asks once.
        if conn.busy_timeout(std::time::Duration::ZERO).is_err() {
            return false;
        }
        conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK").is_err_and(|e| {
            matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            )
        })
    };
    if locked(store) {
        return Some(("the store".into(), store.to_owned()));
    }
    let conn = Connection::open_with_flags(store, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
    let databases = listed(&conn).ok()?;
    databases
        .into_iter()
        .map(|d| (d.name, resolve(store, &d.path)))
        .find_map(|(name, path)| locked(&path).then(|| (format!("the company database {name}"), path)))
}

/// Where a database's file is: a relative path is relative to the store's directory, so a
/// store and the files beside it can move together.
pub fn resolve(store: &Path, path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() {
        return p.to_owned();
    }
    match store.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(p),
        _ => p.to_owned(),
    }
}

/// Why a database may not be attached after `earlier`, when its file, however its path is
/// written, is the store itself or one of theirs: SQLite would open the file a second time in
/// the same connection, and the second handle would wait on the first's lock until the busy
/// timeout, then report the store busy.
pub fn again(store: &Path, earlier: &[Database], d: &Database) -> Option<String> {
    // The file itself (device and inode): a symbolic or a hard link to it is the same file.
    let id = |p: &Path| std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()));
    let file = id(&resolve(store, &d.path))?;
    if id(store) == Some(file) {
        return Some("it is dsr's own store, which holds dsr's records and never the company's tables; point the map's [[database]] at the company's file".into());
    }
    let other = earlier.iter().find(|o| id(&resolve(store, &o.path)) == Some(file))?;
    Some(format!(
        "it is the same file as the company database {}; name each file once in the map and place its tables in that one",
        other.name
    ))
}

/// Attach each database under its name. A missing file is refused (ATTACH would create an
/// empty one), and so is a file that is not SQLite. The connection's `secure_delete` carries
/// over to each. A file in WAL mode stays so (the mode is the file's); any other journal mode
/// is a setting of each connection, and this one keeps SQLite's default, which deletes the
/// journal, with the old page images of an erased row, at each commit.
pub fn attach(conn: &Connection, store: &Path, databases: &[Database]) -> anyhow::Result<()> {
    for (i, d) in databases.iter().enumerate() {
        let path = resolve(store, &d.path);
        let mismatch = |detail: String| Error::DatabaseMismatch { name: d.name.clone(), path: path.clone(), detail };
        if let Some(detail) = again(store, &databases[..i], d) {
            return Err(mismatch(detail).into());
        }
        if d.path == crate::map::POSTGRES_SCHEMA {
            return Err(mismatch(
                "it names a schema of a PostgreSQL store, which a SQLite file cannot attach (on PostgreSQL, `dsr init` makes the store without it and `dsr register apply` adds it)".into(),
            )
            .into());
        }
        let mut header = [0u8; 16];
        match std::fs::File::open(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Named in full: where a relative path was looked for.
                let path = std::path::absolute(&path).unwrap_or(path);
                return Err(Error::DatabaseMissing { name: d.name.clone(), path }.into());
            }
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!("cannot read company database {}", path.display())))
            }
            Ok(mut f) => {
                use std::io::Read;
                let n = f.read(&mut header).unwrap_or(0);
                if path.is_dir() || n < 16 || &header != b"SQLite format 3\0" {
                    return Err(mismatch("the file is not an SQLite database".into()).into());
                }
            }
        }
        let Some(file) = path.to_str() else {
            return Err(mismatch("the path is not valid UTF-8".into()).into());
        };
        conn.execute(&format!("ATTACH DATABASE ?1 AS \"{}\"", d.name), [file]).map_err(|e| damaged(d, &path, e))?;
        crate::fsutil::protect(&path);
        // A file in WAL mode commits as the store does (`synchronous = NORMAL`: the log is
        // synced when it is folded back, which an erasure does at once); one in rollback-journal
        // mode keeps SQLite's FULL, which that mode needs to stay intact after a power cut.
        let mode: String = conn
            .query_row(&format!("PRAGMA \"{}\".journal_mode", d.name), [], |r| r.get(0))
            .map_err(|e| damaged(d, &path, e))?;
        if mode.eq_ignore_ascii_case("wal") {
            conn.execute_batch(&format!("PRAGMA \"{}\".synchronous = NORMAL", d.name))?;
        }
    }
    Ok(())
}

/// A company database SQLite could not read: a damaged file is named as the company's (SQLite
/// names no file); anything else as the store's errors are.
fn damaged(d: &Database, path: &Path, e: rusqlite::Error) -> anyhow::Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => Error::DatabaseMismatch {
            name: d.name.clone(),
            path: path.to_owned(),
            detail: format!("the file is damaged ({e}); restore it from a backup"),
        }
        .into(),
        // A file in WAL mode needs its -shm and -wal beside it, even to be read: in a directory
        // this account cannot write, SQLite cannot open it at all.
        Some(
            rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::PermissionDenied,
        ) => Error::DatabaseDirReadOnly { name: d.name.clone(), path: path.to_owned() }.into(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            Error::DatabaseBusy { name: d.name.clone(), path: path.to_owned() }.into()
        }
        _ => crate::store::classify(path, e),
    }
}

/// Every table the map places in a company database, and every column it names there, must be
/// in that database: the first one missing is reported, naming the table and column.
pub fn check(
    conn: &Connection,
    store: &Path,
    databases: &[Database],
    map: &crate::store::personal::DataMap,
) -> anyhow::Result<()> {
    // Each database's tables and columns in one statement, for the tables the map places there
    // only (a company's file holds many more). SQLite's names are case-insensitive, so a table's
    // name is looked up lowercased.
    // (column, NOT NULL) of each table.
    let mut found: std::collections::HashMap<(String, String), Vec<(String, bool)>> = std::collections::HashMap::new();
    // Tables dsr cannot work on as on a table: a view (rows are deleted and changed in place) and
    // a table WITHOUT ROWID (rows are read and removed by rowid).
    let mut unlike: std::collections::HashMap<(String, String), String> = std::collections::HashMap::new();
    for d in databases {
        let damaged = |e| damaged(d, &resolve(store, &d.path), e);
        let mut stmt = conn
            .prepare_cached(
                "SELECT lower(name), CASE WHEN type = 'view' THEN 'a view' ELSE 'a table WITHOUT ROWID' END
             FROM pragma_table_list WHERE schema = ?1 AND (type = 'view' OR wr = 1)",
            )
            .map_err(damaged)?;
        let mut rows = stmt.query([&d.name]).map_err(damaged)?;
        while let Some(r) = rows.next().map_err(damaged)? {
            unlike.insert((d.name.clone(), r.get(0)?), r.get(1)?);
        }
        let names: Vec<String> = map
            .tables
            .iter()
            .filter(|t| t.database.as_ref() == Some(&d.name))
            .map(|t| t.name.to_ascii_lowercase())
            .collect();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT m.name, p.name, p.\"notnull\" FROM \"{}\".sqlite_master AS m JOIN pragma_table_info(m.name, ?1) AS p
              WHERE m.type IN ('table', 'view') AND lower(m.name) IN (SELECT value FROM json_each(?2))
              ORDER BY m.name, p.cid",
                d.name
            ))
            .map_err(damaged)?;
        let mut rows = stmt.query([&d.name, &serde_json::to_string(&names)?]).map_err(damaged)?;
        while let Some(r) = rows.next().map_err(damaged)? {
            let table: String = r.get(0)?;
            found.entry((d.name.clone(), table.to_ascii_lowercase())).or_default().push((r.get(1)?, r.get(2)?));
        }
    }
    for (i, t) in map.tables.iter().enumerate() {
        let Some(db) = &t.database else { continue };
        let Some(d) = databases.iter().find(|d| &d.name == db) else {
            return Err(Error::Corrupt {
                path: store.to_owned(),
                detail: format!("the data map places table {} in a database {db} it does not list", t.name),
            }
            .into());
        };
        let path = resolve(store, &d.path);
        if let Some(what) = unlike.get(&(db.clone(), t.name.to_ascii_lowercase())) {
            return Err(Error::DatabaseMismatch {
                name: d.name.clone(),
                path,
                detail: format!(
                    "its {} is {what}, which dsr cannot read, change and delete rows of by their rowid (map the table itself, with a rowid)",
                    t.name
                ),
            }
            .into());
        }
        let Some(columns) = found.get(&(db.clone(), t.name.to_ascii_lowercase())) else {
            return Err(Error::DatabaseMismatch {
                name: d.name.clone(),
                path,
                detail: format!("it has no table {}", t.name),
            }
            .into());
        };
        for (_, column) in crate::map::own_columns(t, i) {
            if !columns.iter().any(|(c, _)| c == column) {
                return Err(Error::DatabaseMismatch {
                    name: d.name.clone(),
                    path,
                    detail: format!("table {} has no column {column}", t.name),
                }
                .into());
            }
        }
        // A column the map's erasure detaches (sets to NULL) that the database made NOT NULL
        // since: every erasure of a person with such rows would fail at that step.
        for field in &t.erase.detach {
            if columns.iter().any(|(c, required)| c == field && *required) {
                return Err(Error::DatabaseMismatch {
                    name: d.name.clone(),
                    path,
                    detail: format!(
                        "column {}.{field} is NOT NULL, but the data map's erasure detaches it (sets it to NULL): allow NULL in that column, or change the table's erase.detach with `dsr register apply`",
                        t.name
                    ),
                }
                .into());
            }
        }
    }
    Ok(())
}

/// After an erasure or a retention run: fold each attached database's write-ahead log into
/// its file and truncate it, as for the store (a database in rollback-journal mode has no log;
/// its journal is truncated after each transaction). Returns the first one a reader kept busy.
pub fn truncate_logs(conn: &Connection, store: &Path) -> anyhow::Result<Option<PathBuf>> {
    truncate_logs_of(conn, store, &listed(conn)?)
}

/// [`truncate_logs`] of the databases given, attached to `conn`.
pub fn truncate_logs_of(conn: &Connection, store: &Path, databases: &[Database]) -> anyhow::Result<Option<PathBuf>> {
    for d in databases {
        let mode: String = conn.query_row(&format!("PRAGMA \"{}\".journal_mode", d.name), [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            continue;
        }
        let busy: i64 = conn.query_row(&format!("PRAGMA \"{}\".wal_checkpoint(TRUNCATE)", d.name), [], |r| r.get(0))?;
        if busy != 0 {
            return Ok(Some(resolve(store, &d.path)));
        }
    }
    Ok(None)
}

/// Attach a company file's databases before the file is loaded or checked (`init --register`,
/// `register apply`, `register check`): a name attached already is detached first, so the
/// file's path is the one used. Outside a transaction (SQLite attaches only there).
pub fn attach_anew(conn: &Connection, store: &Path, databases: &[Database]) -> anyhow::Result<()> {
    let names: Vec<String> = conn
        .prepare("SELECT name FROM pragma_database_list")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for d in databases.iter().filter(|d| names.contains(&d.name)) {
        conn.execute(&format!("DETACH DATABASE \"{}\"", d.name), [])?;
    }
    attach(conn, store, databases)
}
