//! Values between dsr's [`Value`] (SQLite's kinds) and PostgreSQL's column types, where nothing
//! is lost: read from a row, written as a parameter.

use postgres::types::{IsNull, ToSql, Type};

use crate::store::db::Value;

/// A column's value as SQLite's kinds: integers (and booleans) as integers, text, bytes, reals.
pub(super) fn read(r: &postgres::Row, i: usize) -> anyhow::Result<Value> {
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
        Type::JSONB => match r.get::<_, Option<Tagged>>(i) {
            Some(t) => Some(t.0),
            None => None,
        },
        _ => anyhow::bail!("column {} has type {ty}, which dsr does not read", r.columns()[i].name()),
    };
    Ok(v.unwrap_or(Value::Null))
}

/// A value of a column SQLite declares `ANY` (it keeps each value's own type, e.g. `store_meta`'s
/// secret key as bytes and its counters as integers), kept on PostgreSQL as `jsonb` tagged with
/// the type: `{"i": 42}`, `{"r": 1.5}`, `{"t": "text"}`, `{"b": "00ff"}` (hex).
struct Tagged(Value);

impl Tagged {
    fn json(v: &Value) -> serde_json::Value {
        match v {
            Value::Null => serde_json::Value::Null,
            Value::Integer(i) => serde_json::json!({"i": i}),
            Value::Real(f) => serde_json::json!({"r": f}),
            Value::Text(t) => serde_json::json!({"t": t}),
            Value::Blob(b) => serde_json::json!({"b": crate::keys::hex(b)}),
        }
    }
}

impl<'a> postgres::types::FromSql<'a> for Tagged {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        // jsonb's binary form: a version byte (1), then the JSON text.
        let text = raw.strip_prefix(&[1u8]).ok_or("unknown jsonb version")?;
        let j: serde_json::Value = serde_json::from_slice(text)?;
        let o = j.as_object().filter(|o| o.len() == 1).ok_or("not a tagged dsr value")?;
        let v = match o.iter().next() {
            Some((k, v)) if k == "i" => Value::Integer(v.as_i64().ok_or("not an integer")?),
            Some((k, v)) if k == "r" => Value::Real(v.as_f64().ok_or("not a real")?),
            Some((k, v)) if k == "t" => Value::Text(v.as_str().ok_or("not a text")?.to_owned()),
            Some((k, v)) if k == "b" => {
                let hex = v.as_str().ok_or("not hex")?;
                let bytes = (0..hex.len())
                    .step_by(2)
                    .map(|i| hex.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
                    .collect::<Option<Vec<u8>>>()
                    .ok_or("not hex")?;
                Value::Blob(bytes)
            }
            _ => return Err("not a tagged dsr value".into()),
        };
        Ok(Tagged(v))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSONB
    }
}

/// A parameter, converted to the type PostgreSQL gives its place (also a value of a binary
/// `COPY`, whose column types are given).
#[derive(Debug)]
pub(crate) struct Param<'a>(pub(crate) &'a Value);

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl ToSql for Param<'_> {
    /// The value in the type PostgreSQL gives its place, converted only where nothing is lost;
    /// any other pairing is an error, never a reinterpretation of the bytes.
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
        let text_like = matches!(*ty, Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN);
        match (self.0, ty) {
            (Value::Null, _) => Ok(IsNull::Yes),
            (v, &Type::JSONB) => {
                // jsonb's binary form: a version byte, then the JSON text.
                out.extend_from_slice(&[1]);
                out.extend_from_slice(Tagged::json(v).to_string().as_bytes());
                Ok(IsNull::No)
            }
            (Value::Integer(i), &Type::INT8) => i.to_sql(ty, out),
            (Value::Integer(i), &Type::INT4) => i32::try_from(*i)?.to_sql(ty, out),
            (Value::Integer(i), &Type::INT2) => i16::try_from(*i)?.to_sql(ty, out),
            (Value::Integer(i @ (0 | 1)), &Type::BOOL) => (*i == 1).to_sql(ty, out),
            (Value::Integer(i), &Type::FLOAT8) if i.unsigned_abs() < (1 << 53) => (*i as f64).to_sql(ty, out),
            (Value::Integer(i), _) if text_like => i.to_string().as_str().to_sql(&Type::TEXT, out),
            (Value::Real(f), &Type::FLOAT8) => f.to_sql(ty, out),
            (Value::Real(f), _) if text_like => f.to_string().as_str().to_sql(&Type::TEXT, out),
            (Value::Text(s), _) if text_like => s.as_str().to_sql(&Type::TEXT, out),
            // An identifier typed by a person (a customer number) compared with an integer
            // column: the number it writes exactly ("42", not "042" or "4.2e1").
            (Value::Text(s), &Type::INT8 | &Type::INT4 | &Type::INT2)
                if s.parse::<i64>().is_ok_and(|i| i.to_string() == *s) =>
            {
                Param(&Value::Integer(s.parse()?)).to_sql(ty, out)
            }
            (Value::Blob(b), &Type::BYTEA) => b.as_slice().to_sql(ty, out),
            (Value::Blob(b), _) if text_like => std::str::from_utf8(b)?.to_sql(&Type::TEXT, out),
            (v, ty) => Err(format!("a {} value does not go into a column of type {ty}", kind(v)).into()),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "NULL",
        Value::Integer(_) => "integer",
        Value::Real(_) => "real",
        Value::Text(_) => "text",
        Value::Blob(_) => "blob",
    }
}
