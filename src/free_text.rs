//! Free text an officer types about a request (extension reasons, rejection notes, unlock and
//! lifting reasons, verification references) kept out of the hash-chained audit trail, because
//! it may name the person (Art. 5(1)(c), 17). The text lives in `free_text`, tied to its request;
//! an audit entry holds only `{"free_text": id, "hmac": ...}`, an HMAC with the store key over the
//! id and the text. Erasing the person deletes the texts of their requests; the chain still
//! verifies, and `audit verify` checks every text that remains against its HMAC.

use serde_json::{json, Value};

use crate::clock::Clock;
use crate::error::Error;
use crate::keys::{hex, Keys};
use crate::store::db::Db;

/// The longest free text stored, in characters.
pub const MAX_CHARS: usize = 1000;

/// What an erased text shows as.
pub const ERASED: &str = "(erased)";

/// A text a flag must give: trimmed, not empty (`needed` says what to write), and within
/// [`check`]'s length.
pub fn required<'t>(what: &'static str, text: &'t str, needed: &str) -> Result<&'t str, Error> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::invalid(what, needed));
    }
    check(what, text)?;
    Ok(text)
}

/// Check a text before anything is recorded: at most `MAX_CHARS` characters once trimmed (a
/// text in English and Dutch: both, with the separator between them).
pub fn check(what: &'static str, text: &str) -> Result<(), Error> {
    let n = text.trim().chars().count();
    if n > MAX_CHARS {
        return Err(Error::invalid(what, format!("at most {MAX_CHARS} characters are stored; this text has {n}")));
    }
    Ok(())
}

fn mac(keys: &Keys, id: i64, text: &str) -> String {
    hex(&keys.mac(&[b"free-text", id.to_string().as_bytes(), text.as_bytes()]))
}

/// Store a text of a request (trimmed) and return the reference to put in an audit entry.
pub fn record(
    conn: &dyn Db,
    clock: &Clock,
    request: Option<&str>,
    what: &'static str,
    text: &str,
) -> anyhow::Result<Value> {
    check(what, text)?;
    let text = text.trim();
    let keys = Keys::load(conn)?;
    let id: i64 = conn.one(
        "INSERT INTO free_text (request_id, text, created_at) VALUES (?1, ?2, ?3) RETURNING id",
        &crate::vals![request, text, clock.timestamp()]?,
        |r| r.get(0),
    )?;
    Ok(json!({"free_text": id, "hmac": mac(&keys, id, text)}))
}

/// The id of a reference object, if `v` is one.
fn reference(v: &Value) -> Option<i64> {
    let o = v.as_object()?;
    (o.len() == 2 && o.contains_key("hmac")).then(|| o.get("free_text")?.as_i64()).flatten()
}

fn text(conn: &dyn Db, id: i64) -> anyhow::Result<Option<String>> {
    conn.first("SELECT text FROM free_text WHERE id = ?1", &[id.into()], |r| r.get(0))
}

/// Replace every reference in audit details by its text, or by "(erased)".
pub fn resolve(conn: &dyn Db, details: &mut Value) -> anyhow::Result<()> {
    if let Some(id) = reference(details) {
        *details = Value::String(text(conn, id)?.unwrap_or_else(|| ERASED.to_owned()));
        return Ok(());
    }
    match details {
        Value::Object(map) => map.values_mut().try_for_each(|v| resolve(conn, v)),
        Value::Array(items) => items.iter_mut().try_for_each(|v| resolve(conn, v)),
        _ => Ok(()),
    }
}

/// A referenced text that does not fit the audit trail.
#[derive(Debug, PartialEq, Eq)]
pub enum Altered {
    /// It no longer matches its HMAC: edited in the store.
    Changed(i64),
    /// It is gone, and its request was not erased with its person (whose requests an erasure
    /// detaches: `subject_given` cleared): deleted in the store.
    Removed(i64),
}

/// The first referenced text of an entry that does not fit, if any. A text that is gone is
/// reported as such: whether an erasure or retention removed it is for the whole trail to say
/// (`audit::verify`).
pub fn altered(conn: &dyn Db, keys: &Keys, details: &Value) -> anyhow::Result<Option<Altered>> {
    if let Some(id) = reference(details) {
        let expected = details["hmac"].as_str().unwrap_or_default();
        return Ok(match text(conn, id)? {
            Some(t) if mac(keys, id, &t) != expected => Some(Altered::Changed(id)),
            Some(_) => None,
            None => Some(Altered::Removed(id)),
        });
    }
    let children: Vec<&Value> = match details {
        Value::Object(map) => map.values().collect(),
        Value::Array(items) => items.iter().collect(),
        _ => Vec::new(),
    };
    for v in children {
        if let Some(found) = altered(conn, keys, v)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_is_shown_until_erased_and_an_edit_is_caught() {
        let store = crate::store::Store::in_memory().unwrap();
        let conn = &store.conn;
        Keys::create(conn).unwrap();
        let keys = Keys::load(conn).unwrap();
        let clock = Clock::fixed(chrono::Utc::now());
        let reference = record(conn, &clock, None, "--note", "  called jan@example.nl back  ").unwrap();
        let mut details = json!({"note": reference.clone(), "months": 1});
        assert_eq!(altered(conn, &keys, &details).unwrap(), None);
        resolve(conn, &mut details).unwrap();
        assert_eq!(details, json!({"note": "called jan@example.nl back", "months": 1}));
        conn.execute("UPDATE free_text SET text = 'called someone else'", []).unwrap();
        let wrapped = json!({"note": reference.clone()});
        let id = reference["free_text"].as_i64().unwrap();
        assert_eq!(altered(conn, &keys, &wrapped).unwrap(), Some(Altered::Changed(id)));
        conn.execute("DELETE FROM free_text", []).unwrap();
        assert_eq!(altered(conn, &keys, &wrapped).unwrap(), Some(Altered::Removed(id)));
        let mut shown = wrapped;
        resolve(conn, &mut shown).unwrap();
        assert_eq!(shown, json!({"note": ERASED}));
        assert!(record(conn, &clock, None, "--note", &"x".repeat(MAX_CHARS + 1)).is_err());
        assert!(record(conn, &clock, None, "--note", &"é".repeat(MAX_CHARS)).is_ok(), "characters, not bytes");
    }
}
