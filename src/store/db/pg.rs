//! PostgreSQL as a [`Db`]: a connection and its transactions, SQLite's numbered parameters
//! rewritten for it, and values converted to and from its column types where nothing is lost.

use std::cell::RefCell;
use std::collections::HashMap;

use postgres::types::{ToSql, Type};

use super::{Db, Dialect, Row, Value};

mod values;
use values::read;
pub(crate) use values::Param;

/// A PostgreSQL connection as a [`Db`]: statements prepared once per connection, and the
/// search path set to dsr's schema.
pub struct Pg {
    client: RefCell<postgres::Client>,
    prepared: RefCell<HashMap<String, postgres::Statement>>,
    /// Inside a transaction a failed statement aborts it: a preparation that may fail is then
    /// tried under a savepoint.
    in_transaction: std::cell::Cell<bool>,
    /// The data map's token as this transaction read it (see [`Db::map_token`]).
    map_token: RefCell<Option<Vec<u8>>>,
    /// The audit trail's head and last entry as this write transaction's last append left them
    /// ([`Db::audit_tail`]): the transaction holds the store's writer lock and the head's row
    /// lock, so no one else appends until it ends. Forgotten at the transaction's end, at a
    /// rollback to a savepoint (which may undo the append and release the row lock), and at
    /// any other statement that writes to the audit trail or the store's metadata.
    audit_tail: RefCell<Option<super::AuditTail>>,
    /// See [`Db::place`].
    place: std::path::PathBuf,
    /// The schema of dsr's records.
    schema: String,
}

impl Pg {
    /// Use `client` with unqualified names resolving in `schema` (a name `Target` checked).
    /// The files that go with the store (the outbox, the erasure journal) are in the directory
    /// dsr runs in, named after the schema as if it were a store file there: `outbox/`,
    /// `SCHEMA.erasures`.
    pub fn new(mut client: postgres::Client, schema: &str) -> anyhow::Result<Pg> {
        client.batch_execute(&format!("SET search_path TO {schema}"))?;
        let place = Pg::place_of(schema)?;
        Ok(Pg {
            client: RefCell::new(client),
            prepared: RefCell::new(HashMap::new()),
            in_transaction: false.into(),
            map_token: RefCell::new(None),
            audit_tail: RefCell::new(None),
            place,
            schema: schema.to_owned(),
        })
    }

    /// Begin a write transaction (read committed, whatever the server's default), one writer
    /// of the store at a time, as SQLite's `BEGIN IMMEDIATE` gives: the transaction first takes
    /// a transaction-level advisory lock keyed by the schema, which the server releases at the
    /// commit or rollback (or when the session ends), so what it reads and then writes (the open
    /// request for a person, a plan checked before it is applied, a code's tries) is not changed
    /// by another writer in between. It is rolled back unless [`PgTx::commit`] is called.
    pub fn begin(&self) -> anyhow::Result<PgTx<'_>> {
        let begun = self.client.borrow_mut().batch_execute(
            "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock(hashtext('dsr-write:' || current_schema()))",
        );
        if let Err(e) = begun {
            // The lock not given in time (`lock_timeout`) leaves the transaction begun and
            // aborted: ended here, so that what runs after (the queue's delivery) is not refused.
            let _ = self.client.borrow_mut().batch_execute("ROLLBACK");
            return Err(e.into());
        }
        self.in_transaction.set(true);
        self.forget();
        Ok(PgTx { db: self, open: true })
    }

    /// Begin a read-only transaction that sees one snapshot throughout (a check that reads
    /// several tables, such as the audit trail's verification, while others write).
    pub fn snapshot(&self) -> anyhow::Result<PgTx<'_>> {
        self.client.borrow_mut().batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
        self.in_transaction.set(true);
        self.forget();
        Ok(PgTx { db: self, open: true })
    }

    /// Forget what was kept for the transaction: the map's token, the audit trail's tail.
    fn forget(&self) {
        self.map_token.replace(None);
        self.audit_tail.replace(None);
    }

    /// Forget the audit trail's tail before a statement that may write to the trail or to
    /// `store_meta` (any but a `SELECT` naming either, in any case).
    fn forget_tail_if_written(&self, sql: &str) {
        let sql = sql.trim_start();
        if sql.get(..6).is_some_and(|w| w.eq_ignore_ascii_case("SELECT")) {
            return;
        }
        let lower = sql.to_ascii_lowercase();
        if lower.contains("audit_log") || lower.contains("store_meta") {
            self.audit_tail.replace(None);
        }
    }

    /// Run statements as they are (no parameters): transaction control, DDL.
    pub fn batch(&self, sql: &str) -> anyhow::Result<()> {
        self.forget();
        Ok(self.client.borrow_mut().batch_execute(sql)?)
    }

    /// Where the files of the store in `schema` go (see [`Pg::new`]).
    pub fn place_of(schema: &str) -> std::io::Result<std::path::PathBuf> {
        Ok(std::env::current_dir()?.join(schema))
    }

    /// The schema of dsr's records.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// The client itself, for what the interface does not cover (a `COPY`).
    pub fn with_client<T>(&self, f: impl FnOnce(&mut postgres::Client) -> anyhow::Result<T>) -> anyhow::Result<T> {
        self.forget();
        f(&mut self.client.borrow_mut())
    }

    /// The prepared statement for `sql`. PostgreSQL infers each parameter's type from where
    /// it stands; where it cannot (`?1 IS NULL OR c = ?1`), the values' own types are given.
    fn statement(&self, sql: &str, params: &[Value]) -> anyhow::Result<postgres::Statement> {
        if let Some(s) = self.prepared.borrow().get(sql) {
            return Ok(s.clone());
        }
        let pg_sql = numbered(sql);
        let guarded = self.in_transaction.get();
        if guarded {
            self.client.borrow_mut().batch_execute("SAVEPOINT dsr_prepare")?;
        }
        let prepared = self.client.borrow_mut().prepare(&pg_sql);
        if guarded {
            let end =
                if prepared.is_ok() { "RELEASE SAVEPOINT dsr_prepare" } else { "ROLLBACK TO SAVEPOINT dsr_prepare" };
            self.client.borrow_mut().batch_execute(end)?;
        }
        let s = match prepared {
            Ok(s) => s,
            Err(e)
                if e.code() == Some(&postgres::error::SqlState::AMBIGUOUS_PARAMETER)
                    || e.code() == Some(&postgres::error::SqlState::INDETERMINATE_DATATYPE) =>
            {
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
    /// Read once per transaction, and again after this transaction changed the map: a snapshot
    /// sees one token throughout, and a write transaction holds the store's writer lock, which
    /// another `register apply` needs to change it. Outside a transaction every statement sees
    /// the latest, so it is read each time.
    fn map_token(&self) -> anyhow::Result<Option<Vec<u8>>> {
        if self.in_transaction.get() {
            if let Some(t) = self.map_token.borrow().clone() {
                return Ok(Some(t));
            }
        }
        let db: &dyn Db = self;
        let token = db.first("SELECT token FROM map_version", &[], |r| r.get(0))?;
        if self.in_transaction.get() {
            self.map_token.replace(token.clone());
        }
        Ok(token)
    }
    fn audit_tail(&self) -> Option<super::AuditTail> {
        self.audit_tail.borrow().clone()
    }
    fn keep_audit_tail(&self, tail: super::AuditTail) {
        if self.in_transaction.get() {
            self.audit_tail.replace(Some(tail));
        }
    }
    fn place(&self) -> std::path::PathBuf {
        self.place.clone()
    }
    fn column_names(&self, sql: &str, params: &[Value]) -> anyhow::Result<Vec<String>> {
        Ok(self.statement(sql, params)?.columns().iter().map(|c| c.name().to_owned()).collect())
    }
    fn run(&self, sql: &str, params: &[Value]) -> anyhow::Result<usize> {
        // A savepoint's statements go as they are: `ROLLBACK TO` must run in a transaction a
        // failed statement aborted, where nothing can be prepared.
        if params.is_empty() && is_savepoint_statement(sql) {
            self.client.borrow_mut().batch_execute(sql)?;
            // A rollback to a savepoint may undo a change of the map, or an append (and release
            // the head's row lock); a savepoint or its release changes neither.
            if sql.trim_start().to_ascii_uppercase().starts_with("ROLLBACK") {
                self.forget();
            }
            return Ok(0);
        }
        self.forget_tail_if_written(sql);
        // A change of the map renews its token (a trigger): read it again after one.
        if sql.contains("map_table") {
            self.map_token.replace(None);
        }
        let stmt = self.statement(sql, params)?;
        let params: Vec<Param> = params.iter().map(Param).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        Ok(self.client.borrow_mut().execute(&stmt, &refs)? as usize)
    }
    fn stream(&self, sql: &str, params: &[Value], f: &mut dyn FnMut(Row) -> anyhow::Result<()>) -> anyhow::Result<()> {
        use postgres::fallible_iterator::FallibleIterator;
        self.forget_tail_if_written(sql);
        let stmt = self.statement(sql, params)?;
        let params: Vec<Param> = params.iter().map(Param).collect();
        let mut client = self.client.borrow_mut();
        let mut rows = client.query_raw(&stmt, params.iter().map(|p| p as &dyn ToSql))?;
        while let Some(r) = rows.next()? {
            let values = (0..r.len()).map(|i| read(&r, i)).collect::<anyhow::Result<Vec<_>>>()?;
            f(Row(values))?;
        }
        Ok(())
    }
    fn each(&self, sql: &str, params: &[Value], f: &mut dyn FnMut(Row) -> anyhow::Result<()>) -> anyhow::Result<()> {
        self.forget_tail_if_written(sql);
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
        self.db.in_transaction.set(false);
        self.db.forget();
        Ok(())
    }
}

impl Drop for PgTx<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.db.client.borrow_mut().batch_execute("ROLLBACK");
            self.db.in_transaction.set(false);
            self.db.forget();
        }
    }
}

impl Db for PgTx<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }
    fn place(&self) -> std::path::PathBuf {
        self.db.place()
    }
    fn column_names(&self, sql: &str, params: &[Value]) -> anyhow::Result<Vec<String>> {
        self.db.column_names(sql, params)
    }
    fn run(&self, sql: &str, params: &[Value]) -> anyhow::Result<usize> {
        self.db.run(sql, params)
    }
    fn stream(&self, sql: &str, params: &[Value], f: &mut dyn FnMut(Row) -> anyhow::Result<()>) -> anyhow::Result<()> {
        self.db.stream(sql, params, f)
    }
    fn map_token(&self) -> anyhow::Result<Option<Vec<u8>>> {
        self.db.map_token()
    }
    fn audit_tail(&self) -> Option<super::AuditTail> {
        self.db.audit_tail()
    }
    fn keep_audit_tail(&self, tail: super::AuditTail) {
        self.db.keep_audit_tail(tail)
    }
    fn each(&self, sql: &str, params: &[Value], f: &mut dyn FnMut(Row) -> anyhow::Result<()>) -> anyhow::Result<()> {
        self.db.each(sql, params, f)
    }
}

/// `SAVEPOINT x`, `RELEASE x`, `ROLLBACK TO x`.
fn is_savepoint_statement(sql: &str) -> bool {
    let first = sql.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
    matches!(first.as_str(), "SAVEPOINT" | "RELEASE")
        || sql.trim_start().to_ascii_uppercase().starts_with("ROLLBACK TO")
}

/// SQLite's parameters (`?1`, `?`) as PostgreSQL's (`$1`), outside quoted text, names and
/// comments. A bare `?` is one more than the largest number given so far, as in SQLite.
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut largest = 0u32;
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
            (None, '-') if chars.peek() == Some(&'-') => {
                // A comment, to the end of the line: copied as it is.
                out.push(c);
                for n in chars.by_ref() {
                    out.push(n);
                    if n == '\n' {
                        break;
                    }
                }
            }
            (None, '/') if chars.peek() == Some(&'*') => {
                out.push(c);
                let mut last = ' ';
                for n in chars.by_ref() {
                    out.push(n);
                    if last == '*' && n == '/' {
                        break;
                    }
                    last = n;
                }
            }
            (None, '?') => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                let n = match digits.parse::<u32>() {
                    Ok(n) => n,
                    Err(_) => largest + 1,
                };
                largest = largest.max(n);
                out.push('$');
                out.push_str(&n.to_string());
            }
            // SQLite's planner hints, which PostgreSQL does not have: `AND +column ...` (a unary
            // plus keeps SQLite off an index on the column) and `... NOT INDEXED`.
            (None, '+')
                if out.ends_with(" AND ") && chars.peek().is_some_and(|n| n.is_ascii_alphabetic() || *n == '_') => {}
            // A function PostgreSQL spells differently: SQLite's instr(haystack, needle) is strpos.
            (None, '(')
                if out.ends_with("instr")
                    && !out[..out.len() - 5].ends_with(|c: char| c.is_alphanumeric() || c == '_') =>
            {
                out.truncate(out.len() - 5);
                out.push_str("strpos(");
            }
            (None, c) => {
                out.push(c);
                if c == 'D' && out.ends_with(" NOT INDEXED") && chars.peek().is_none_or(|n| n.is_whitespace()) {
                    out.truncate(out.len() - " NOT INDEXED".len());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::db::text;

    #[test]
    fn sqlites_planner_hints_are_left_out_outside_quotes() {
        assert_eq!(
            numbered("SELECT * FROM (SELECT * FROM t WHERE a = ?1 AND +step IN ('x')) x CROSS JOIN recipient r NOT INDEXED\n WHERE 1"),
            "SELECT * FROM (SELECT * FROM t WHERE a = $1 AND step IN ('x')) x CROSS JOIN recipient r\n WHERE 1"
        );
        assert_eq!(numbered("SELECT 'a AND +b NOT INDEXED' + 1, x + y"), "SELECT 'a AND +b NOT INDEXED' + 1, x + y");
        assert_eq!(
            numbered("SELECT instr(',' || ?2, 'x'), myinstr(a), 'instr(b)'"),
            "SELECT strpos(',' || $2, 'x'), myinstr(a), 'instr(b)'"
        );
    }

    #[test]
    fn sqlite_parameters_become_postgresql_ones_outside_quotes() {
        assert_eq!(
            numbered("SELECT a FROM t WHERE b = ?1 AND c = '?2' AND \"d?\" = ?12 OR e = ?"),
            "SELECT a FROM t WHERE b = $1 AND c = '?2' AND \"d?\" = $12 OR e = $13"
        );
        assert_eq!(
            numbered("SELECT 1 -- the store's head?\nWHERE a = ?1 /* it's ? */ AND b = ?2"),
            "SELECT 1 -- the store's head?\nWHERE a = $1 /* it's ? */ AND b = $2"
        );
        assert_eq!(numbered("INSERT INTO t VALUES (?, ?)"), "INSERT INTO t VALUES ($1, $2)");
    }

    #[test]
    fn text_goes_into_an_integer_column_only_as_the_number_it_writes_exactly() {
        let put = |v: Value, ty: &Type| Param(&v).to_sql(ty, &mut bytes::BytesMut::new()).is_ok();
        assert!(put(text("42"), &Type::INT8) && put(text("-7"), &Type::INT4));
        for bad in ["042", "4.2e1", "+42", " 42", "x", "99999999999999999999"] {
            assert!(!put(text(bad), &Type::INT8), "{bad:?}");
        }
        assert!(!put(text("70000"), &Type::INT2));
        assert!(!put(text("1"), &Type::BOOL), "text is not a boolean");
    }
}
