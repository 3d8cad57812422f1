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

use std::cell::RefCell;
use std::collections::HashMap;

use postgres::types::{IsNull, ToSql, Type};
pub use rusqlite::types::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A connection or transaction of either backend.
pub trait Db {
    fn dialect(&self) -> Dialect;
    /// Run a statement; how many rows it changed.
    fn run(&self, sql: &str, params: &[Value]) -> anyhow::Result<usize>;
    /// Each row a query returns, in order. The rows are read before `f` sees them on
    /// PostgreSQL, so `f` may run statements of its own.
    fn each(&self, sql: &str, params: &[Value], f: &mut dyn FnMut(Row) -> anyhow::Result<()>) -> anyhow::Result<()>;
}

impl dyn Db + '_ {
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

/// A parameter from a Rust value.
pub fn text(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

/// An optional text parameter: NULL when absent.
pub fn opt_text(s: Option<&str>) -> Value {
    s.map_or(Value::Null, |s| Value::Text(s.to_owned()))
}

fn sqlite_each(
    conn: &rusqlite::Connection,
    sql: &str,
    params: &[Value],
    f: &mut dyn FnMut(Row) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut stmt = conn.prepare_cached(sql)?;
    let n = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
    while let Some(r) = rows.next()? {
        let values = (0..n).map(|i| r.get::<_, Value>(i)).collect::<rusqlite::Result<Vec<_>>>()?;
        f(Row(values))?;
    }
    Ok(())
}

impl Db for rusqlite::Connection {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }
    fn run(&self, sql: &str, params: &[Value]) -> anyhow::Result<usize> {
        Ok(self.prepare_cached(sql)?.execute(rusqlite::params_from_iter(params))?)
    }
    fn each(&self, sql: &str, params: &[Value], f: &mut dyn FnMut(Row) -> anyhow::Result<()>) -> anyhow::Result<()> {
        sqlite_each(self, sql, params, f)
    }
}

impl Db for rusqlite::Transaction<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }
    fn run(&self, sql: &str, params: &[Value]) -> anyhow::Result<usize> {
        (**self).run(sql, params)
    }
    fn each(&self, sql: &str, params: &[Value], f: &mut dyn FnMut(Row) -> anyhow::Result<()>) -> anyhow::Result<()> {
        sqlite_each(self, sql, params, f)
    }
}

/// A PostgreSQL connection as a [`Db`]: statements prepared once per connection, and the
/// search path set to dsr's schema.
pub struct Pg {
    client: RefCell<postgres::Client>,
    prepared: RefCell<HashMap<String, postgres::Statement>>,
}

impl Pg {
    /// Use `client` with unqualified names resolving in `schema` (a name `Target` checked).
    pub fn new(mut client: postgres::Client, schema: &str) -> anyhow::Result<Pg> {
        client.batch_execute(&format!("SET search_path TO {schema}"))?;
        Ok(Pg { client: RefCell::new(client), prepared: RefCell::new(HashMap::new()) })
    }

    /// Begin a transaction; it is rolled back unless [`PgTx::commit`] is called.
    pub fn begin(&self) -> anyhow::Result<PgTx<'_>> {
        self.client.borrow_mut().batch_execute("BEGIN")?;
        Ok(PgTx { db: self, open: true })
    }

    /// The prepared statement for `sql`. PostgreSQL infers each parameter's type from where
    /// it stands; where it cannot (`?1 IS NULL OR c = ?1`), the values' own types are given.
    fn statement(&self, sql: &str, params: &[Value]) -> anyhow::Result<postgres::Statement> {
        if let Some(s) = self.prepared.borrow().get(sql) {
            return Ok(s.clone());
        }
        let pg_sql = numbered(sql);
        let prepared = self.client.borrow_mut().prepare(&pg_sql);
        let s = match prepared {
            Ok(s) => s,
            Err(e) if e.code() == Some(&postgres::error::SqlState::AMBIGUOUS_PARAMETER) => {
                let types: Vec<Type> = params
                    .iter()
                    .map(|v| match v {
                        Value::Integer(_) => Type::INT8,
                        Value::Real(_) => Type::FLOAT8,
                        Value::Blob(_) => Type::BYTEA,
                        Value::Null | Value::Text(_) => Type::TEXT,
                    })
                    .collect();
                self.client.borrow_mut().prepare_typed(&pg_sql, &types)?
            }
            Err(e) => return Err(e.into()),
        };
        self.prepared.borrow_mut().insert(sql.to_owned(), s.clone());
        Ok(s)
    }
}

impl Db for Pg {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }
    fn run(&self, sql: &str, params: &[Value]) -> anyhow::Result<usize> {
        let stmt = self.statement(sql, params)?;
        let params: Vec<Param> = params.iter().map(Param).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        Ok(self.client.borrow_mut().execute(&stmt, &refs)? as usize)
    }
    fn each(&self, sql: &str, params: &[Value], f: &mut dyn FnMut(Row) -> anyhow::Result<()>) -> anyhow::Result<()> {
        let stmt = self.statement(sql, params)?;
        let params: Vec<Param> = params.iter().map(Param).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let rows = self.client.borrow_mut().query(&stmt, &refs)?;
        for r in rows {
            let values = (0..r.len()).map(|i| read(&r, i)).collect::<anyhow::Result<Vec<_>>>()?;
            f(Row(values))?;
        }
        Ok(())
    }
}

/// A transaction on a [`Pg`]: rolled back when dropped uncommitted.
pub struct PgTx<'a> {
    db: &'a Pg,
    open: bool,
}

impl PgTx<'_> {
    pub fn commit(mut self) -> anyhow::Result<()> {
        self.db.client.borrow_mut().batch_execute("COMMIT")?;
        self.open = false;
        Ok(())
    }
}

impl Drop for PgTx<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.db.client.borrow_mut().batch_execute("ROLLBACK");
        }
    }
}

impl Db for PgTx<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }
    fn run(&self, sql: &str, params: &[Value]) -> anyhow::Result<usize> {
        self.db.run(sql, params)
    }
    fn each(&self, sql: &str, params: &[Value], f: &mut dyn FnMut(Row) -> anyhow::Result<()>) -> anyhow::Result<()> {
        self.db.each(sql, params, f)
    }
}

/// A column's value as SQLite's kinds: integers (and booleans) as integers, text, bytes, reals.
fn read(r: &postgres::Row, i: usize) -> anyhow::Result<Value> {
    let ty = r.columns()[i].type_();
    let v = match *ty {
        Type::INT8 => r.get::<_, Option<i64>>(i).map(Value::Integer),
        Type::INT4 => r.get::<_, Option<i32>>(i).map(|v| Value::Integer(v.into())),
        Type::INT2 => r.get::<_, Option<i16>>(i).map(|v| Value::Integer(v.into())),
        Type::BOOL => r.get::<_, Option<bool>>(i).map(|v| Value::Integer(v.into())),
        Type::FLOAT8 => r.get::<_, Option<f64>>(i).map(Value::Real),
        Type::FLOAT4 => r.get::<_, Option<f32>>(i).map(|v| Value::Real(v.into())),
        Type::BYTEA => r.get::<_, Option<Vec<u8>>>(i).map(Value::Blob),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => r.get::<_, Option<String>>(i).map(Value::Text),
        _ => anyhow::bail!("column {} has type {ty}, which dsr does not read", r.columns()[i].name()),
    };
    Ok(v.unwrap_or(Value::Null))
}

/// A parameter, converted to the type PostgreSQL gives its place (also a value of a binary
/// `COPY`, whose column types are given).
#[derive(Debug)]
pub(crate) struct Param<'a>(pub(crate) &'a Value);

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl ToSql for Param<'_> {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
        match (self.0, ty) {
            (Value::Null, _) => Ok(IsNull::Yes),
            (Value::Integer(i), &Type::INT8) => i.to_sql(ty, out),
            (Value::Integer(i), &Type::INT4) => i32::try_from(*i)?.to_sql(ty, out),
            (Value::Integer(i), &Type::INT2) => i16::try_from(*i)?.to_sql(ty, out),
            (Value::Integer(i), &Type::BOOL) => (*i != 0).to_sql(ty, out),
            (Value::Integer(i), &Type::FLOAT8) => (*i as f64).to_sql(ty, out),
            (Value::Integer(i), _) => i.to_string().to_sql(&Type::TEXT, out),
            (Value::Real(f), &Type::FLOAT8) => f.to_sql(ty, out),
            (Value::Real(f), &Type::FLOAT4) => (*f as f32).to_sql(ty, out),
            (Value::Real(f), _) => f.to_string().to_sql(&Type::TEXT, out),
            (Value::Text(s), &Type::BYTEA) => s.as_bytes().to_sql(ty, out),
            (Value::Text(s), &Type::INT8) => s.parse::<i64>()?.to_sql(ty, out),
            (Value::Text(s), _) => s.as_str().to_sql(&Type::TEXT, out),
            (Value::Blob(b), &Type::BYTEA) => b.as_slice().to_sql(ty, out),
            (Value::Blob(b), _) => std::str::from_utf8(b)?.to_sql(&Type::TEXT, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// SQLite's parameters (`?1`, `?`) as PostgreSQL's (`$1`), outside quoted text and names.
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut next = 0;
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                out.push(c);
            }
            (Some(_), c) => out.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                out.push(c);
            }
            (None, '?') => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    next += 1;
                    digits = next.to_string();
                }
                out.push('$');
                out.push_str(&digits);
            }
            (None, c) => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_parameters_become_postgresql_ones_outside_quotes() {
        assert_eq!(
            numbered("SELECT a FROM t WHERE b = ?1 AND c = '?2' AND \"d?\" = ?12 OR e = ?"),
            "SELECT a FROM t WHERE b = $1 AND c = '?2' AND \"d?\" = $12 OR e = $1"
        );
        assert_eq!(numbered("INSERT INTO t VALUES (?, ?)"), "INSERT INTO t VALUES ($1, $2)");
    }

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
