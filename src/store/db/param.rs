//! Statement parameters from Rust values, the same on both backends.

use super::Value;

/// A parameter from anything rusqlite binds, converted as rusqlite converts it (a date as
/// `YYYY-MM-DD`, a bool as 0 or 1), so both backends store what SQLite stored before.
pub fn value(v: &dyn rusqlite::ToSql) -> anyhow::Result<Value> {
    use rusqlite::types::ToSqlOutput;
    Ok(match v.to_sql()? {
        ToSqlOutput::Borrowed(r) => match r {
            rusqlite::types::ValueRef::Null => Value::Null,
            rusqlite::types::ValueRef::Integer(i) => Value::Integer(i),
            rusqlite::types::ValueRef::Real(f) => Value::Real(f),
            rusqlite::types::ValueRef::Text(t) => Value::Text(String::from_utf8(t.to_vec())?),
            rusqlite::types::ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        },
        ToSqlOutput::Owned(v) => v,
        other => anyhow::bail!("a parameter dsr does not bind: {other:?}"),
    })
}

/// Parameters for [`Db::run`] and [`Db::each`] from Rust values: `vals![id, name, when]?`.
#[macro_export]
macro_rules! vals {
    ($($v:expr),* $(,)?) => {
        (|| -> anyhow::Result<Vec<$crate::store::db::Value>> { Ok(vec![$($crate::store::db::value(&$v)?),*]) })()
    };
}

/// A parameter from a Rust value.
pub fn text(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

/// An optional text parameter: NULL when absent.
pub fn opt_text(s: Option<&str>) -> Value {
    s.map_or(Value::Null, |s| Value::Text(s.to_owned()))
}
