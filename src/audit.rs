//! The audit trail (GDPR Art. 5(2), 30): every state change, code sent, code tried, disclosure,
//! extension and rejection, appended in the same transaction as the change it records. Entries
//! are hash-chained: each holds the SHA-256 of the previous entry, and the store keeps the hash
//! and count of the last one, so an edited, deleted, reordered or truncated trail is detected;
//! the head kept outside the store ([`anchor`]) also catches a trail cut short or rewritten together
//! with the recorded head.
//! People appear only as keyed pseudonyms; codes never appear at all. Time only goes forward: an
//! entry dated before its predecessor is refused when written and reported by `verify`. Free text
//! an officer types (reasons, notes, references) stays out of the chain: an entry holds a
//! reference to it and a keyed hash of it (see `free_text`), so it can be erased with the person.

use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::error::Error;
use crate::keys::hex;
use crate::store::db::{self, Db, Dialect};

mod actor;
pub mod anchor;
mod requests;
mod texts;
mod verify;
pub use actor::actor;
pub use verify::{verify, Head, Verification};

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub id: i64,
    pub at: String,
    pub clock_injected: bool,
    pub actor: String,
    pub request_id: Option<String>,
    pub subject_pseudonym: Option<String>,
    pub action: String,
    pub details: Value,
    pub prev_hash: String,
    pub hash: String,
}

/// The fields an entry's hash covers, in their fixed order.
struct Fields<'a> {
    id: i64,
    at: &'a str,
    injected: bool,
    actor: &'a str,
    request: Option<&'a str>,
    subject: Option<&'a str>,
    action: &'a str,
    details: &'a str,
    prev: &'a str,
}

impl Fields<'_> {
    fn digest(&self) -> String {
        let canonical = json!([
            self.id,
            self.at,
            self.injected,
            self.actor,
            self.request,
            self.subject,
            self.action,
            self.details,
            self.prev
        ])
        .to_string();
        hex(&Sha256::digest(canonical.as_bytes()))
    }
}

/// The recorded head (count, hash). `lock` takes the head row for the rest of the
/// transaction on PostgreSQL, where writers are not kept one at a time by the store itself:
/// the next appender waits until this one commits, then reads the new head.
pub(crate) fn head(conn: &dyn Db, lock: bool) -> anyhow::Result<(i64, String)> {
    let sql = if lock && conn.dialect() == Dialect::Postgres {
        "SELECT value FROM store_meta WHERE key = 'audit-head' FOR UPDATE"
    } else {
        "SELECT value FROM store_meta WHERE key = 'audit-head'"
    };
    let v: Option<String> = conn.first(sql, &[], |r| r.get(0))?;
    Ok(parse_head(v))
}

/// Refuse a clock behind the audit trail's last entry (exit 2), as every entry written would be:
/// an unattended run asks this before it starts, so that it neither does part of its work nor
/// records a run dated before what the store holds.
pub fn clock_not_behind(conn: &dyn Db, clock: &Clock) -> anyhow::Result<()> {
    let last: Option<String> = conn.first("SELECT at FROM audit_log ORDER BY id DESC LIMIT 1", &[], |r| r.get(0))?;
    stamp_after(clock, last.as_deref())?;
    Ok(())
}

/// The time an entry after one written at `last_at` is written at; refused when the clock is
/// behind it. The system clock was read when this command started; another writer's entry may
/// have come in since (this one waited for the lock): the entry is written now. Only a clock
/// that is behind now as well, or a moved clock (`DSR_NOW`), is refused.
fn stamp_after(clock: &Clock, last_at: Option<&str>) -> Result<String, Error> {
    let mut at = clock.timestamp();
    let Some(last_at) = last_at.filter(|last_at| at.as_str() < *last_at) else { return Ok(at) };
    if !clock.injected() {
        at = crate::clock::stamp(chrono::Utc::now());
    }
    if at.as_str() < last_at {
        return Err(Error::ClockBehind { now: at, last: last_at.to_owned() });
    }
    Ok(at)
}

/// Append one entry. Call inside the transaction that makes the change it records. Refused
/// (and so is the change) when the clock is behind the last entry: a trail that goes back in
/// time could make an expired code or a missed deadline look valid again.
pub fn append(
    conn: &dyn Db,
    clock: &Clock,
    request_id: Option<&str>,
    subject: Option<&str>,
    action: &str,
    details: Value,
) -> anyhow::Result<()> {
    // The head and the last entry as this transaction's previous append left them, where the
    // connection keeps them (a PostgreSQL write transaction), else as the store has them.
    let (head, last) = match conn.audit_tail() {
        Some((head, last)) => (head, Some(last)),
        None => (
            head(conn, true)?,
            conn.first("SELECT id, at FROM audit_log ORDER BY id DESC LIMIT 1", &[], |r| Ok((r.get(0)?, r.get(1)?)))?,
        ),
    };
    let e = NewEntry::after(head, last, clock, request_id, subject, action, &details)?;
    conn.run(
        "INSERT INTO audit_log (id, at, clock_injected, actor, request_id, subject_pseudonym, action, details, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        &[
            e.id.into(),
            db::text(&e.at),
            i64::from(e.injected).into(),
            db::text(&e.actor),
            db::opt_text(request_id),
            db::opt_text(subject),
            db::text(action),
            db::text(&e.details),
            db::text(&e.prev),
            db::text(&e.hash),
        ],
    )?;
    conn.run(
        "INSERT INTO store_meta (key, value) VALUES ('audit-head', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[db::text(e.head())],
    )?;
    conn.keep_audit_tail(((e.count, e.hash), (e.id, e.at)));
    Ok(())
}

/// The next entry of a trail, whatever stores it: its number, time, actor, the previous hash
/// and its own. Refused when the clock is behind the last entry.
pub(crate) struct NewEntry {
    pub id: i64,
    pub at: String,
    pub injected: bool,
    pub actor: String,
    pub details: String,
    pub prev: String,
    pub hash: String,
    /// How many entries the trail has with this one.
    pub count: i64,
}

impl NewEntry {
    /// `head` is the recorded (count, hash); `last` the last entry's (id, at).
    pub(crate) fn after(
        head: (i64, String),
        last: Option<(i64, String)>,
        clock: &Clock,
        request_id: Option<&str>,
        subject: Option<&str>,
        action: &str,
        details: &Value,
    ) -> Result<NewEntry, Error> {
        let (count, prev) = head;
        let at = stamp_after(clock, last.as_ref().map(|(_, at)| at.as_str()))?;
        let id = last.map_or(1, |(id, _)| id + 1);
        let actor = actor();
        let details = details.to_string();
        let hash = Fields {
            id,
            at: &at,
            injected: clock.injected(),
            actor: &actor,
            request: request_id,
            subject,
            action,
            details: &details,
            prev: &prev,
        }
        .digest();
        Ok(NewEntry { id, at, injected: clock.injected(), actor, details, prev, hash, count: count + 1 })
    }

    /// The value the store keeps as the head: `COUNT:HASH`.
    pub(crate) fn head(&self) -> String {
        format!("{}:{}", self.count, self.hash)
    }
}

/// Read a recorded head, `COUNT:HASH`; the genesis when there is none.
pub(crate) fn parse_head(v: Option<String>) -> (i64, String) {
    v.and_then(|s| {
        let (n, h) = s.split_once(':')?;
        Some((n.parse().ok()?, h.to_owned()))
    })
    .unwrap_or((0, GENESIS.to_owned()))
}

/// Entries, optionally of one request; free texts shown as they are, or "(erased)".
pub fn list(conn: &dyn Db, request: Option<&str>) -> anyhow::Result<Vec<Entry>> {
    let mut out = Vec::new();
    // One request's entries through its index (`request show` on a trail of millions).
    let (sql, params) = match request {
        Some(id) => (LIST_OF_REQUEST, vec![db::text(id)]),
        None => (LIST_ALL, Vec::new()),
    };
    conn.each(sql, &params, &mut |r| {
        let details: String = r.get(7)?;
        let mut details = serde_json::from_str(&details).unwrap_or(Value::String(details));
        crate::free_text::resolve(conn, &mut details)?;
        out.push(Entry {
            id: r.get(0)?,
            at: r.get(1)?,
            clock_injected: r.get(2)?,
            actor: r.get(3)?,
            request_id: r.get(4)?,
            subject_pseudonym: r.get(5)?,
            action: r.get(6)?,
            details,
            prev_hash: r.get(8)?,
            hash: r.get(9)?,
        });
        Ok(())
    })?;
    Ok(out)
}

const LIST_ALL: &str =
    "SELECT id, at, clock_injected, actor, request_id, subject_pseudonym, action, details, prev_hash, hash
     FROM audit_log ORDER BY id";
const LIST_OF_REQUEST: &str =
    "SELECT id, at, clock_injected, actor, request_id, subject_pseudonym, action, details, prev_hash, hash
     FROM audit_log WHERE request_id = ?1 ORDER BY id";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_request_s_entries_are_read_through_its_index() {
        let store = crate::store::Store::in_memory().unwrap();
        let plan: String =
            store.conn.query_row(&format!("EXPLAIN QUERY PLAN {LIST_OF_REQUEST}"), ["R"], |r| r.get(3)).unwrap();
        assert!(plan.contains("INDEX audit_log_request"), "{plan}");
    }

    fn entry_after(last_at: &str, clock: &Clock) -> Result<NewEntry, Error> {
        NewEntry::after((1, "0".repeat(64)), Some((1, last_at.to_owned())), clock, None, None, "test", &Value::Null)
    }

    #[test]
    fn a_command_that_waited_for_another_writer_records_its_entry_at_the_time_it_writes() {
        let started = chrono::Utc::now() - chrono::Duration::seconds(3);
        let other = crate::clock::stamp(started + chrono::Duration::seconds(1));
        let e = entry_after(&other, &Clock::system_read_at(started)).unwrap();
        assert!(e.at >= other, "{} before {other}", e.at);
        // A clock that is behind now as well is refused, and so is a moved clock.
        let future = crate::clock::stamp(chrono::Utc::now() + chrono::Duration::hours(1));
        assert!(matches!(entry_after(&future, &Clock::system_read_at(started)), Err(Error::ClockBehind { .. })));
        assert!(matches!(entry_after(&other, &Clock::fixed(started)), Err(Error::ClockBehind { .. })));
    }
}
