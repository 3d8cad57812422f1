//! Company databases attached read-only: SQLite attaches a file this account cannot write
//! without a word, and its refusal of a change names no file. Both are said here, naming the
//! company's database.

/// A write SQLite refused as read-only while the store itself is writable: a company database
/// attached in place that this user cannot write (SQLite attaches such a file read-only without
/// a word, and its refusal names no file). Named as the company's file; anything else as it is.
pub(super) fn read_only_company(conn: &rusqlite::Connection, e: rusqlite::Error) -> anyhow::Error {
    if e.sqlite_error_code() != Some(rusqlite::ErrorCode::ReadOnly) {
        return e.into();
    }
    read_only_databases(conn, None).into_iter().next().map_or_else(|| e.into(), anyhow::Error::from)
}

/// The company databases attached read-only to a writable store (all, or the one named), as
/// the error each would give a change.
pub fn read_only_databases(conn: &rusqlite::Connection, only: Option<&str>) -> Vec<crate::error::Error> {
    let mut found = Vec::new();
    if conn.is_readonly("main").unwrap_or(true) {
        return found;
    }
    let _ = conn.pragma_query(None, "database_list", |r| {
        let (name, file): (String, String) = (r.get(1)?, r.get(2)?);
        let asked = only.is_none_or(|o| o.eq_ignore_ascii_case(&name));
        if asked && name != "main" && name != "temp" && conn.is_readonly(name.as_str()).unwrap_or(false) {
            found.push(crate::error::Error::DatabaseReadOnly { name, path: std::path::PathBuf::from(file) });
        }
        Ok(())
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_to_a_read_only_company_database_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let shop = dir.path().join("shop.sqlite");
        rusqlite::Connection::open(&shop).unwrap().execute_batch("CREATE TABLE t (i INTEGER)").unwrap();
        use rusqlite::OpenFlags as F;
        let flags = F::SQLITE_OPEN_READ_WRITE | F::SQLITE_OPEN_CREATE | F::SQLITE_OPEN_URI;
        let conn = rusqlite::Connection::open_with_flags(dir.path().join("dsr.sqlite"), flags).unwrap();
        conn.execute("ATTACH DATABASE ?1 AS shop", [format!("file:{}?mode=ro", shop.display())]).unwrap();
        let db: &dyn crate::store::db::Db = &conn;
        let err = db.run("INSERT INTO shop.t VALUES (1)", &[]).unwrap_err();
        match err.downcast_ref::<crate::error::Error>() {
            Some(crate::error::Error::DatabaseReadOnly { name, path }) => {
                assert_eq!((name.as_str(), path.file_name().unwrap()), ("shop", std::ffi::OsStr::new("shop.sqlite")))
            }
            _ => panic!("{err:#}"),
        }
        assert_eq!(crate::exit::Code::of_error(&err), crate::exit::Code::Io);
        // Asked before a change (import): the read-only one is named, the store itself is not.
        assert_eq!(read_only_databases(&conn, Some("shop")).len(), 1);
        assert!(read_only_databases(&conn, Some("main")).is_empty());
        // The store's own tables are written as ever; reads of the company's are not refused.
        db.run("CREATE TABLE own (i INTEGER)", &[]).unwrap();
        db.run("INSERT INTO own SELECT i FROM shop.t", &[]).unwrap();
    }
}
