//! `dsr audit verify`: the chain recomputed from the first entry to the recorded head, each
//! entry's hash, order and time checked, and the head kept outside the store compared.

use serde::Serialize;
use serde_json::Value;

use super::texts::{Gone, Removals};
use super::{anchor, head, Fields, GENESIS};
use crate::free_text::Altered;
use crate::keys::Keys;
use crate::store::db::Db;

/// The result of `audit verify`.
#[derive(Debug, Serialize)]
pub struct Verification {
    pub format_version: u32,
    pub entries: i64,
    pub ok: bool,
    /// The first entry that does not fit the chain, and why.
    pub first_bad_entry: Option<i64>,
    /// The request whose row the trail does not bear out (its right, channel, dates or state).
    pub first_bad_request: Option<String>,
    pub problem: Option<String>,
    /// The newest entry, when the chain verifies: what `dsr audit anchor` keeps elsewhere.
    pub head: Option<Head>,
    /// The anchor checked against the trail (`audit verify --anchor FILE`).
    pub anchor: Option<anchor::Checked>,
}

/// The newest entry of the trail: its sequence number and hash.
#[derive(Debug, Clone, Serialize)]
pub struct Head {
    pub entry: i64,
    pub hash: String,
    pub at: Option<String>,
}

/// Recompute the chain from the first entry to the recorded head.
pub fn verify(conn: &dyn Db) -> anyhow::Result<Verification> {
    // Read at the first entry with a free text: without the key no text could be checked, so a
    // store that lost it is refused then, not passed.
    let mut keys: Option<Keys> = None;
    let mut walk = Walk::default();
    let mut removals = Removals::new(conn);
    let mut bad = None;
    conn.each(
        "SELECT id, at, clock_injected, actor, request_id, subject_pseudonym, action, details, prev_hash, hash
         FROM audit_log ORDER BY id",
        &[],
        &mut |r| {
            if bad.is_some() {
                return Ok(());
            }
            let e = Stored {
                id: r.get(0)?,
                at: r.get(1)?,
                injected: r.get(2)?,
                actor: r.get(3)?,
                request: r.get(4)?,
                subject: r.get(5)?,
                action: r.get(6)?,
                details: r.get(7)?,
                prev_hash: r.get(8)?,
                hash: r.get(9)?,
            };
            if let Err(b) = walk.step(&e) {
                bad = Some(*b);
                return Ok(());
            }
            removals.see(e.id, &e.at, &e.action, e.subject.as_deref(), &e.details);
            if !e.details.contains("\"free_text\"") {
                return Ok(());
            }
            let keys = match &mut keys {
                Some(k) => k,
                none => none.insert(Keys::load(conn)?),
            };
            let parsed: Value = serde_json::from_str(&e.details).unwrap_or(Value::Null);
            match crate::free_text::altered(conn, keys, &parsed)? {
                Some(Altered::Changed(text)) => {
                    bad = Some(walk.fail(
                        e.id,
                        format!("the free text {text} of entry {} was changed after it was written", e.id),
                    ));
                }
                // Whether an erasure or retention removed it, the rest of the trail says.
                Some(Altered::Removed(text)) => removals.gone.push(Gone {
                    entry: e.id,
                    text,
                    request: e.request.clone(),
                    subject: e.subject.clone(),
                }),
                None => {}
            }
            Ok(())
        },
    )?;
    if let Some(bad) = bad {
        return Ok(bad);
    }
    if let Some((entry, why)) = removals.unaccounted(conn)? {
        return Ok(walk.fail(entry, why));
    }
    let mut v = walk.finish(head(conn, false)?);
    // A chain that holds is then the measure of the request rows the report counts.
    if v.ok {
        if let Some((entry, request, why)) = super::requests::first_mismatch(conn)? {
            (v.ok, v.head, v.first_bad_entry, v.first_bad_request) = (false, None, entry, Some(request));
            v.problem = Some(format!("{why}: the request table was changed outside dsr"));
        }
    }
    Ok(v)
}

/// An entry as a store holds it.
pub(crate) struct Stored {
    pub id: i64,
    pub at: String,
    pub injected: bool,
    pub actor: String,
    pub request: Option<String>,
    pub subject: Option<String>,
    pub action: String,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The check of a trail, fed its entries in order by whichever store holds them.
pub(crate) struct Walk {
    prev: String,
    prev_at: String,
    entries: i64,
}

impl Default for Walk {
    fn default() -> Self {
        Walk { prev: GENESIS.to_owned(), prev_at: String::new(), entries: 0 }
    }
}

impl Walk {
    pub(crate) fn fail(&self, id: i64, why: String) -> Verification {
        Verification {
            format_version: 1,
            entries: self.entries,
            ok: false,
            first_bad_entry: Some(id),
            first_bad_request: None,
            problem: Some(why),
            head: None,
            anchor: None,
        }
    }

    /// The next entry: it must follow the previous one, hash to what it holds, and not be dated
    /// before it.
    pub(crate) fn step(&mut self, e: &Stored) -> Result<(), Box<Verification>> {
        self.entries += 1;
        let expected = self.entries;
        let id = e.id;
        if id != expected {
            return Err(Box::new(self.fail(expected, format!("entry {expected} is missing (next is {id})"))));
        }
        if e.prev_hash != self.prev {
            return Err(Box::new(self.fail(
                id,
                format!("entry {id} does not follow entry {}: an entry was removed, reordered or edited", id - 1),
            )));
        }
        let computed = Fields {
            id,
            at: &e.at,
            injected: e.injected,
            actor: &e.actor,
            request: e.request.as_deref(),
            subject: e.subject.as_deref(),
            action: &e.action,
            details: &e.details,
            prev: &self.prev,
        }
        .digest();
        if computed != e.hash {
            return Err(Box::new(self.fail(id, format!("entry {id} was changed after it was written"))));
        }
        if e.at < self.prev_at {
            return Err(Box::new(self.fail(
                id,
                format!(
                    "entry {id} is dated {}, before entry {} ({}): the clock was set back",
                    e.at,
                    id - 1,
                    self.prev_at
                ),
            )));
        }
        self.prev = e.hash.clone();
        self.prev_at = e.at.clone();
        Ok(())
    }

    /// The end of the trail against the recorded head (count, hash).
    pub(crate) fn finish(self, (count, head_hash): (i64, String)) -> Verification {
        let entries = self.entries;
        if count != entries || head_hash != self.prev {
            let (at, why) = if count == 0 {
                (
                    entries.max(1),
                    format!("the trail holds {entries} entries but the record of its head is gone or unreadable"),
                )
            } else if count > entries {
                (entries + 1, format!("the trail ends at entry {entries} but {count} entries were written: the last entries were removed"))
            } else if count < entries {
                (
                    count + 1,
                    format!("the trail holds {entries} entries but only {count} were written by dsr: entries were added after entry {count}"),
                )
            } else {
                (
                    entries,
                    format!("entry {entries} is not the last entry dsr wrote (its recorded head has another hash): the last entry or the record of the head was changed"),
                )
            };
            return self.fail(at, why);
        }
        let head = Head { entry: entries, hash: self.prev, at: (!self.prev_at.is_empty()).then_some(self.prev_at) };
        Verification {
            format_version: 1,
            entries,
            ok: true,
            first_bad_entry: None,
            first_bad_request: None,
            problem: None,
            head: Some(head),
            anchor: None,
        }
    }
}
