//! The person's rows of each table of an access answer: read while the answer is built when
//! they are few (counted as read, written from memory), else streamed from the store while the
//! answer is written (a person with a million log lines), so that memory stays bounded.

use rusqlite::types::ValueRef;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::store::db::Db;
use crate::store::personal::DataMap;
use crate::subject::Subject;

/// The most rows an answer holds in memory. Up to this many in all, each table is read once
/// while the answer is built, and its count is the rows read; above it, each table is counted
/// first and its rows are read again while the answer is written.
pub const HELD_ROWS: usize = 5_000;

/// One table's rows, as JSON objects.
pub type TableRows = Vec<Map<String, Value>>;

/// The person's rows of each of `tables`, in order, when they come to at most [`HELD_ROWS`] in
/// all; `None` when there are more (no table is read beyond `HELD_ROWS + 1` rows to find out, so
/// that at most about twice `HELD_ROWS` rows are in memory before giving up).
pub fn held(conn: &dyn Db, tables: &[&String], s: &Subject) -> anyhow::Result<Option<Vec<TableRows>>> {
    let mut out = Vec::with_capacity(tables.len());
    let mut total = 0;
    for table in tables {
        let mut rows = Vec::new();
        each_row_up_to(conn, table, s, false, Some(HELD_ROWS + 1), |row| {
            rows.push(row);
            Ok(())
        })?;
        total += rows.len();
        if total > HELD_ROWS {
            return Ok(None);
        }
        out.push(rows);
    }
    Ok(Some(out))
}

/// The person's rows of one table: held in memory ([`held`]), or read from the store when
/// serialised or previewed.
pub struct RowStream<'c> {
    conn: &'c dyn Db,
    table: String,
    subject: Subject,
    held: Option<TableRows>,
}

impl std::fmt::Debug for RowStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RowStream({})", self.table)
    }
}

impl<'c> RowStream<'c> {
    /// Rows read from the store when they are written.
    pub fn streamed(conn: &'c dyn Db, table: &str, subject: Subject) -> Self {
        RowStream { conn, table: table.to_owned(), subject, held: None }
    }

    /// Rows already read.
    pub fn held(conn: &'c dyn Db, table: &str, subject: Subject, rows: TableRows) -> Self {
        RowStream { conn, table: table.to_owned(), subject, held: Some(rows) }
    }

    /// The first `limit` rows, for a terminal.
    pub fn preview(&self, limit: usize) -> anyhow::Result<Vec<Map<String, Value>>> {
        if let Some(rows) = &self.held {
            return Ok(rows.iter().take(limit).cloned().collect());
        }
        let mut out = Vec::new();
        each_row_up_to(self.conn, &self.table, &self.subject, false, Some(limit), |row| {
            out.push(row);
            Ok(())
        })?;
        Ok(out)
    }
}

impl Serialize for RowStream<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeSeq};
        if let Some(rows) = &self.held {
            return serializer.collect_seq(rows);
        }
        let mut seq = serializer.serialize_seq(None)?;
        let mut failure = None;
        let result = each_row(self.conn, &self.table, &self.subject, |row| {
            seq.serialize_element(&row).map_err(|e| {
                failure = Some(e.to_string());
                anyhow::anyhow!("a row could not be written")
            })
        });
        if let Err(e) = result {
            return Err(S::Error::custom(failure.unwrap_or_else(|| format!("{e:#}"))));
        }
        seq.end()
    }
}

/// Stream the person's rows of one table, one JSON object at a time (memory stays bounded
/// whatever the number of rows). Withheld columns carry a statement instead of their value;
/// internal columns are left out.
pub fn each_row(
    conn: &dyn Db,
    table: &str,
    s: &Subject,
    f: impl FnMut(Map<String, Value>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    each_row_of(conn, table, s, false, f)
}

/// Like [`each_row`]; with `provided_only`, rows the person did not provide are left out of a
/// portability export (Art. 20(1): data "provided by" the person; the map's `export.own_rows`,
/// e.g. the person's own messages in a ticket, not the staff's replies). Columns the map marks
/// never disclosed carry its statement instead of their value; internal columns are left out.
pub fn each_row_of(
    conn: &dyn Db,
    table: &str,
    s: &Subject,
    provided_only: bool,
    f: impl FnMut(Map<String, Value>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    each_row_up_to(conn, table, s, provided_only, None, f)
}

/// [`each_row_of`], at most `limit` rows when one is given.
fn each_row_up_to(
    conn: &dyn Db,
    table: &str,
    s: &Subject,
    provided_only: bool,
    limit: Option<usize>,
    mut f: impl FnMut(Map<String, Value>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let map = DataMap::load(conn)?;
    let dialect = conn.map_dialect();
    let scope = if provided_only { map.provided_scope(table, dialect) } else { map.scope(table) };
    let (Some(entry), Some(scope)) = (map.table(table), scope) else {
        anyhow::bail!("table {table} is not in the data map");
    };
    // A row someone else wrote (Art. 15(4)): left out of a portability export; in an answer,
    // its author's address is withheld (the flag, selected last, says which rows).
    let another = map.written_by_another(table, dialect);
    let (extra, flag) = match (provided_only, &another) {
        (true, _) => (map.provided_rows(table, dialect), String::new()),
        (false, Some(a)) => ("1 = 1".to_owned(), format!(", {a}")),
        (false, None) => ("1 = 1".to_owned(), String::new()),
    };
    let author = another.as_ref().and(entry.other_people.as_ref()).map(|o| o.column.as_str());
    let mut sql = format!(
        "SELECT *{flag} FROM {} WHERE ({}) AND {extra} ORDER BY {}",
        scope.from,
        scope.filter,
        map.row_order(conn, table)
    );
    if let Some(n) = limit {
        sql.push_str(&format!(" LIMIT {n}"));
    }
    // In a portability export, a column of a category that is not portable (an IBAN among the
    // member's details) is left out, as its category's tables are.
    let withheld: Vec<&str> = match provided_only && entry.column.iter().any(|c| c.category.is_some()) {
        true => {
            let register = crate::register::Register::load(conn)?;
            let portable = |code: &str| register.category(code).is_some_and(|c| c.portable);
            let declared = entry.column.iter().filter(|c| c.category.as_deref().is_some_and(|k| !portable(k)));
            declared.map(|c| c.name.as_str()).collect()
        }
        false => Vec::new(),
    };
    // What a column shows: nothing for an internal one, the map's statement for one never
    // disclosed (or the author of a row another person wrote), else its value.
    let shown = |name: &str, by_another: bool| -> Option<Option<Value>> {
        if entry.internal.iter().any(|c| c == name) || withheld.contains(&name) {
            return None;
        }
        if by_another && author == Some(name) {
            return Some(Some(Value::String(ANOTHER_AUTHOR.into())));
        }
        Some(entry.never_disclosed.iter().find(|w| w.column == name).map(|w| Value::String(w.shown_as.clone())))
    };
    let Some(sqlite) = conn.sqlite() else {
        // PostgreSQL: the same row as SQLite's `SELECT *`, without the `rowid` column that
        // stands in for SQLite's own.
        let param = [crate::store::db::Value::Integer(s.person_id)];
        // Streamed as the server sends the rows: a person may have a million log lines.
        let mut names = conn.column_names(&sql, &param)?;
        if !flag.is_empty() {
            names.pop();
        }
        return conn.stream(&sql, &param, &mut |r| {
            let by_another = !flag.is_empty() && r.get::<i64>(names.len())? == 1;
            let mut obj = Map::with_capacity(names.len());
            for (i, name) in names.iter().enumerate().filter(|(_, n)| n.as_str() != "rowid") {
                match shown(name, by_another) {
                    None => {}
                    Some(Some(statement)) => {
                        obj.insert(name.clone(), statement);
                    }
                    Some(None) => {
                        obj.insert(name.clone(), value(ValueRef::from(&r.get::<crate::store::db::Value>(i)?)));
                    }
                }
            }
            f(obj)
        });
    };
    let mut stmt = sqlite.prepare_cached(&sql)?;
    let mut names: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
    if !flag.is_empty() {
        names.pop();
    }
    let mut rows = stmt.query([s.person_id])?;
    while let Some(r) = rows.next()? {
        let by_another = !flag.is_empty() && r.get::<_, i64>(names.len())? == 1;
        let mut obj = Map::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            match shown(name, by_another) {
                None => {}
                Some(Some(statement)) => {
                    obj.insert(name.clone(), statement);
                }
                Some(None) => {
                    obj.insert(name.clone(), value(r.get_ref(i)?));
                }
            }
        }
        f(obj)?;
    }
    Ok(())
}

/// What an answer shows instead of the address of a message another person wrote in the
/// person's ticket (Art. 15(4) GDPR: the copy must not adversely affect the rights of others).
pub const ANOTHER_AUTHOR: &str = "withheld: written by someone else (Art. 15(4) GDPR)";

/// A SQLite value as JSON; a BLOB becomes its size (attachments go into archives as files).
pub fn value(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => Value::from(f),
        ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => serde_json::json!({ "bytes": b.len() }),
    }
}
