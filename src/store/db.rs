//! One way to run SQL on either backend (design §11; docs/postgresql.md): the store layer's
//! seam, through which the code that owns an aggregate (the audit chain first) runs the same
//! statements on a SQLite store and on a PostgreSQL one. Statements are written with SQLite's
//! numbered parameters (`?1`); on PostgreSQL they become `$1`, unqualified table names resolve
//! in dsr's schema (`search_path`), and values convert to and from the column types each side
//! has (an integer to `integer`, `bigint` or `boolean`; text to `text` or `bytea`).
//! Where the dialects differ (a row lock, say), the caller asks [`Db::dialect`].
//!
//! On SQLite a [`Db`] is the connection (or transaction) itself, and statements are prepared
//! once per connection as before.

pub use rusqlite::types::Value;

// PostgreSQL behind the same trait: the connection, its transactions, and the values' conversions.
mod pg;
mod read_only;
// Parameters from Rust values.
mod param;
pub use param::{opt_text, text, value};

pub(crate) use pg::Param;
pub use pg::{Pg, PgTx};
use read_only::read_only_company;
pub use read_only::read_only_databases;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A connection or transaction of either backend.
pub trait Db {
    fn dialect(&self) -> Dialect;
    /// The dialect the map's tables are read in: the store's, but SQLite's for company files
    /// beside a PostgreSQL store (`postgres::beside`).
    fn map_dialect(&self) -> Dialect {
        self.dialect()
    }
    /// The connection a company database named `database` is read through when it is not this
    /// one's (a SQLite file beside a PostgreSQL store), for statements that name it only in a
    /// parameter (a pragma's schema).
    fn file_side(&self, _database: &str) -> Option<&dyn Db> {
        None
    }
    /// Run a statement; how many rows it changed.
    fn run(&self, sql: &str, params: &[Value]) -> anyhow::Result<usize>;
    /// Each row a query returns, in order. The rows are read before `f` sees them on
    /// PostgreSQL, so `f` may run statements of its own.
    fn each(&self, sql: &str, params: &[Value], f: &mut dyn FnMut(Row) -> anyhow::Result<()>) -> anyhow::Result<()>;
    /// Where dsr keeps the files that go with this store (the outbox, the erasure journal):
    /// a SQLite store's own path, beside which they lie; for a PostgreSQL store, a name in the
    /// directory dsr runs in (see [`Pg::new`]).
    fn place(&self) -> std::path::PathBuf;
    /// The names of the columns a query returns, in order.
    fn column_names(&self, sql: &str, params: &[Value]) -> anyhow::Result<Vec<String>>;
    /// Each row a query returns, handed to `f` as it arrives, for a read of many rows (a
    /// person's log lines into an answer): `f` must not run statements of its own on this
    /// connection. SQLite reads row by row in either method; PostgreSQL's `each` reads all
    /// rows first.
    fn stream(&self, sql: &str, params: &[Value], f: &mut dyn FnMut(Row) -> anyhow::Result<()>) -> anyhow::Result<()> {
        self.each(sql, params, f)
    }
    /// The data map's token (`map_version`), which every change of the map renews: the parsed
    /// map is used again while it stays the same (`DataMap::load`).
    fn map_token(&self) -> anyhow::Result<Option<Vec<u8>>> {
        let mut token = None;
        self.each("SELECT token FROM map_version", &[], &mut |r| {
            if token.is_none() {
                token = Some(r.get(0)?);
            }
            Ok(())
        })?;
        Ok(token)
    }
    /// The SQLite connection itself, for the paths that stream many rows without copying them
    /// (the person's rows of a large table); None on PostgreSQL.
    fn sqlite(&self) -> Option<&rusqlite::Connection> {
        None
    }
    /// The audit trail's head and last entry as this transaction's last append left them, where
    /// the connection keeps them (a PostgreSQL write transaction, see `Pg`); None elsewhere.
    fn audit_tail(&self) -> Option<AuditTail> {
        None
    }
    fn keep_audit_tail(&self, _: AuditTail) {}
}

/// The audit trail's recorded head (count, hash) and its last entry (id, time).
pub type AuditTail = ((i64, String), (i64, String));

impl dyn Db + '_ {
    /// Run `f`, whose statements only read, in one read transaction where a SQLite connection is
    /// not in one already: its reads see one snapshot, and the store is locked once for all of
    /// them rather than for each statement. In a transaction, or on PostgreSQL, `f` runs as it is.
    pub fn reading<T>(&self, f: impl FnOnce(&dyn Db) -> anyhow::Result<T>) -> anyhow::Result<T> {
        match self.sqlite() {
            Some(conn) if conn.is_autocommit() => {
                // Rolled back if `f` fails.
                let snapshot = Conn::snapshot(conn)?;
                let out = f(self)?;
                snapshot.commit()?;
                Ok(out)
            }
            _ => f(self),
        }
    }

    /// The one row a query returns, read by `f`; no row is an error (as SQLite's `query_row`).
    pub fn one<T>(&self, sql: &str, params: &[Value], f: impl FnOnce(&Row) -> anyhow::Result<T>) -> anyhow::Result<T> {
        self.first(sql, params, f)?.ok_or_else(|| anyhow::anyhow!("the query returned no row: {sql}"))
    }

    /// Every row a query returns, each read by `f`.
    pub fn all<T>(
        &self,
        sql: &str,
        params: &[Value],
        mut f: impl FnMut(&Row) -> anyhow::Result<T>,
    ) -> anyhow::Result<Vec<T>> {
        let mut out = Vec::new();
        self.each(sql, params, &mut |r| {
            out.push(f(&r)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The first row of a query, if any, read by `f`.
    pub fn first<T>(
        &self,
        sql: &str,
        params: &[Value],
        f: impl FnOnce(&Row) -> anyhow::Result<T>,
    ) -> anyhow::Result<Option<T>> {
        let mut row = None;
        self.each(sql, params, &mut |r| {
            if row.is_none() {
                row = Some(r);
            }
            Ok(())
        })?;
        row.as_ref().map(f).transpose()
    }
}

/// One row's values.
pub struct Row(Vec<Value>);

impl Row {
    pub fn get<T: FromValue>(&self, i: usize) -> anyhow::Result<T> {
        let v = self.0.get(i).ok_or_else(|| anyhow::anyhow!("the query has no column {i}"))?;
        T::from_value(v).ok_or_else(|| anyhow::anyhow!("column {i} holds {v:?}, not the type asked for"))
    }
}

/// A Rust value read from a column, whichever backend's type held it.
pub trait FromValue: Sized {
    fn from_value(v: &Value) -> Option<Self>;
}

impl FromValue for Value {
    fn from_value(v: &Value) -> Option<Self> {
        Some(v.clone())
    }
}

impl FromValue for i64 {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Integer(i) => Some(*i),
            _ => None,
        }
    }
}

impl FromValue for bool {
    fn from_value(v: &Value) -> Option<Self> {
        i64::from_value(v).map(|i| i != 0)
    }
}

impl FromValue for String {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Text(s) => Some(s.clone()),
            Value::Blob(b) => String::from_utf8(b.clone()).ok(),
            _ => None,
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Blob(b) => Some(b.clone()),
            Value::Text(s) => Some(s.clone().into_bytes()),
            _ => None,
        }
    }
}

/// A date as dsr writes it (`YYYY-MM-DD`, text on both backends).
impl FromValue for chrono::NaiveDate {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Text(s) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
            _ => None,
        }
    }
}

impl FromValue for f64 {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Real(f) => Some(*f),
            Value::Integer(i) => Some(*i as f64),
            _ => None,
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Null => Some(None),
            v => T::from_value(v).map(Some),
        }
    }
}

/// A store's connection on either backend, which begins write transactions (on SQLite with
/// the write lock taken up front, as every dsr connection does; on PostgreSQL at read
/// committed, see [`Pg::begin`]). Dropped uncommitted, a transaction rolls back.
pub trait Conn: Db {
    fn begin(&self) -> anyhow::Result<Box<dyn Tx + '_>>;
    /// A write transaction of dsr's own records only (requests, codes, answers, plans, mail,
    /// tasks), which reads the company's databases but does not change them: the store's write
    /// lock is taken up front as [`Conn::begin`] takes it, a company database's not at all, so
    /// an application holding its own database's write lock does not hold up an officer's
    /// request, code or answer (SQLite's `BEGIN IMMEDIATE` takes every attached file's lock).
    fn begin_own(&self) -> anyhow::Result<Box<dyn Tx + '_>> {
        self.begin()
    }
    /// A transaction that reads one snapshot throughout and never holds up a writer (an
    /// archive read in several queries).
    fn snapshot(&self) -> anyhow::Result<Box<dyn Tx + '_>>;
    /// After an erasure's commit, what the backend keeps of removed rows is cleared as far as
    /// dsr can: SQLite folds its write-ahead log back into the file and truncates it (the file
    /// itself is overwritten by `secure_delete`); PostgreSQL vacuums `tables` (dead rows out of
    /// the pages and of every index, `INDEX_CLEANUP ON`) and analyzes them (none when nothing
    /// was removed: SQLite still truncates, which also finishes a truncation a reader blocked
    /// earlier). See docs/postgresql.md for what PostgreSQL still keeps.
    fn after_erasure(&self, tables: &[String]) -> anyhow::Result<()>;
    /// Before an erasure or a retention run: note the tables it will need cleared after its
    /// commit, so that a run killed before [`Conn::after_erasure`] has it done by the next one
    /// (PostgreSQL's note in `store_meta`; SQLite folds its log back at any close: none).
    fn erasing(&self, _tables: &[String]) -> anyhow::Result<()> {
        Ok(())
    }
    /// [`Conn::erasing`] taken back: the erasure changed nothing (refused, or its plan stale).
    fn not_erased(&self) -> anyhow::Result<()> {
        Ok(())
    }
    /// After [`Conn::after_erasure`], where the backend can tell: the tables that may still hold
    /// bytes of `erased` values, each with why. SQLite's `secure_delete` and the truncated log
    /// leave none; PostgreSQL is read with pageinspect where it is installed
    /// (`store::postgres::forensic::after_erasure`).
    fn residue(&self, _tables: &[String], _erased: &[String]) -> anyhow::Result<Vec<(String, String)>> {
        Ok(Vec::new())
    }
}

/// A new connection to the same store, for a worker thread (a SQLite store opened again, or a
/// new PostgreSQL session).
pub type Connect<'a> = dyn Fn() -> anyhow::Result<Box<dyn Conn>> + Sync + 'a;

/// A write transaction of either backend.
pub trait Tx: Db {
    fn commit(self: Box<Self>) -> anyhow::Result<()>;
}

impl Conn for rusqlite::Connection {
    fn begin(&self) -> anyhow::Result<Box<dyn Tx + '_>> {
        Ok(Box::new(self.unchecked_transaction()?))
    }
    fn begin_own(&self) -> anyhow::Result<Box<dyn Tx + '_>> {
        let tx = rusqlite::Transaction::new_unchecked(self, rusqlite::TransactionBehavior::Deferred)?;
        // A write that changes nothing takes the store's write lock (waiting the busy timeout
        // for it) before anything is read, as IMMEDIATE would, for the store alone.
        tx.execute("UPDATE main.store_meta SET key = key WHERE 0", [])?;
        Ok(Box::new(tx))
    }
    fn snapshot(&self) -> anyhow::Result<Box<dyn Tx + '_>> {
        Ok(Box::new(rusqlite::Transaction::new_unchecked(self, rusqlite::TransactionBehavior::Deferred)?))
    }
    fn after_erasure(&self, _: &[String]) -> anyhow::Result<()> {
        crate::store::truncate_wal(self, &self.place())
    }
}

impl Tx for rusqlite::Transaction<'_> {
    fn commit(self: Box<Self>) -> anyhow::Result<()> {
        Ok((*self).commit()?)
    }
}

/// A SQLite store as its connection, but with the files that go with it beside the path it was
/// opened by (SQLite's own name for the file resolves symbolic links).
impl Db for crate::store::Store {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }
    fn run(&self, sql: &str, params: &[Value]) -> anyhow::Result<usize> {
        self.conn.run(sql, params)
    }
    fn each(&self, sql: &str, params: &[Value], f: &mut dyn FnMut(Row) -> anyhow::Result<()>) -> anyhow::Result<()> {
        self.conn.each(sql, params, f)
    }
    fn place(&self) -> std::path::PathBuf {
        self.path.clone()
    }
    fn column_names(&self, sql: &str, params: &[Value]) -> anyhow::Result<Vec<String>> {
        self.conn.column_names(sql, params)
    }
    fn sqlite(&self) -> Option<&rusqlite::Connection> {
        Some(&self.conn)
    }
}

impl Conn for crate::store::Store {
    fn begin(&self) -> anyhow::Result<Box<dyn Tx + '_>> {
        self.conn.begin()
    }
    fn begin_own(&self) -> anyhow::Result<Box<dyn Tx + '_>> {
        self.conn.begin_own()
    }
    fn snapshot(&self) -> anyhow::Result<Box<dyn Tx + '_>> {
        self.conn.snapshot()
    }
    fn after_erasure(&self, _: &[String]) -> anyhow::Result<()> {
        crate::store::truncate_wal(&self.conn, &self.path)
    }
}

impl Conn for Pg {
    fn begin(&self) -> anyhow::Result<Box<dyn Tx + '_>> {
        Ok(Box::new(Pg::begin(self)?))
    }
    fn snapshot(&self) -> anyhow::Result<Box<dyn Tx + '_>> {
        Ok(Box::new(Pg::snapshot(self)?))
    }
    // What PostgreSQL keeps of removed rows, and dsr's notes of it: store::postgres::forensic.
    fn not_erased(&self) -> anyhow::Result<()> {
        crate::store::postgres::forensic::not_noted(self)
    }
    fn erasing(&self, tables: &[String]) -> anyhow::Result<()> {
        crate::store::postgres::forensic::noting(self, tables)
    }
    fn after_erasure(&self, tables: &[String]) -> anyhow::Result<()> {
        crate::store::postgres::forensic::vacuum(self, tables)
    }
    fn residue(&self, tables: &[String], erased: &[String]) -> anyhow::Result<Vec<(String, String)>> {
        crate::store::postgres::forensic::residue_after(self, tables, erased)
    }
}

impl Tx for PgTx<'_> {
    fn commit(self: Box<Self>) -> anyhow::Result<()> {
        PgTx::commit(*self)
    }
}

fn sqlite_each(
    conn: &rusqlite::Connection,
    sql: &str,
    params: &[Value],
    f: &mut dyn FnMut(Row) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let ours = |e| read_only_company(conn, e);
    let mut stmt = conn.prepare_cached(sql)?;
    let n = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(params)).map_err(ours)?;
    while let Some(r) = rows.next().map_err(ours)? {
        let values = (0..n).map(|i| r.get::<_, Value>(i)).collect::<rusqlite::Result<Vec<_>>>()?;
        f(Row(values))?;
    }
    Ok(())
}

impl Db for rusqlite::Connection {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }
    fn place(&self) -> std::path::PathBuf {
        std::path::PathBuf::from(self.path().unwrap_or_default())
    }
    fn column_names(&self, sql: &str, _: &[Value]) -> anyhow::Result<Vec<String>> {
        Ok(self.prepare_cached(sql)?.column_names().iter().map(|c| c.to_string()).collect())
    }
    fn sqlite(&self) -> Option<&rusqlite::Connection> {
        Some(self)
    }
    fn run(&self, sql: &str, params: &[Value]) -> anyhow::Result<usize> {
        self.prepare_cached(sql)?.execute(rusqlite::params_from_iter(params)).map_err(|e| read_only_company(self, e))
    }
    fn each(&self, sql: &str, params: &[Value], f: &mut dyn FnMut(Row) -> anyhow::Result<()>) -> anyhow::Result<()> {
        sqlite_each(self, sql, params, f)
    }
}

impl Db for rusqlite::Transaction<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }
    fn place(&self) -> std::path::PathBuf {
        (**self).place()
    }
    fn column_names(&self, sql: &str, params: &[Value]) -> anyhow::Result<Vec<String>> {
        (**self).column_names(sql, params)
    }
    fn sqlite(&self) -> Option<&rusqlite::Connection> {
        Some(self)
    }
    fn run(&self, sql: &str, params: &[Value]) -> anyhow::Result<usize> {
        (**self).run(sql, params)
    }
    fn each(&self, sql: &str, params: &[Value], f: &mut dyn FnMut(Row) -> anyhow::Result<()>) -> anyhow::Result<()> {
        sqlite_each(self, sql, params, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sqlite_connection_reads_rows_as_values() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let db: &dyn Db = &conn;
        db.run("CREATE TABLE t (i INTEGER, s TEXT, b BLOB)", &[]).unwrap();
        db.run("INSERT INTO t VALUES (?1, ?2, ?3)", &[Value::Integer(7), text("x"), Value::Blob(vec![1, 2])]).unwrap();
        let (i, s, b) = db
            .first("SELECT i, s, b FROM t", &[], |r| Ok((r.get::<i64>(0)?, r.get::<String>(1)?, r.get::<Vec<u8>>(2)?)))
            .unwrap()
            .unwrap();
        assert_eq!((i, s.as_str(), b), (7, "x", vec![1, 2]));
        assert!(db.first("SELECT i FROM t WHERE i = 8", &[], |r| r.get::<i64>(0)).unwrap().is_none());
    }
}
