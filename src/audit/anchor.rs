//! The trail's anchor: the head of the audit trail (the newest entry's number and hash) kept
//! outside the store, by the DPO or on another machine. The chain alone cannot show that someone
//! with write access removed the last entries and rewrote the recorded head, or rewrote every
//! entry with recomputed hashes; an anchor can. Each hash covers the one before it, so a trail
//! that still holds entry N with hash H holds every entry up to N unchanged (GDPR Art. 5(2)).

use std::path::Path;

use crate::store::db::Db;
use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::{Head, GENESIS};
use crate::error::Error;
use crate::register::Controller;

/// What an anchor file says it is.
pub const KIND: &str = "dsr-audit-anchor";

/// An anchor file: small, versioned, human-readable JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Anchor {
    pub format_version: u32,
    pub kind: String,
    /// The newest entry's sequence number, which is also the number of entries.
    pub entries: i64,
    /// That entry's SHA-256.
    pub hash: String,
    /// When the anchor was taken.
    pub at: String,
    /// When the anchored entry was written.
    #[serde(default)]
    pub entry_at: Option<String>,
}

impl Anchor {
    pub fn of(head: &Head, at: String) -> Anchor {
        Anchor {
            format_version: 1,
            kind: KIND.to_owned(),
            entries: head.entry,
            hash: head.hash.clone(),
            at,
            entry_at: head.at.clone(),
        }
    }

    /// The file's content: pretty JSON and a final newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("an anchor serialises");
        s.push('\n');
        s
    }

    /// Read an anchor file; a file that is not one is a usage error (exit 2).
    pub fn read(path: &Path) -> anyhow::Result<Anchor> {
        let text = std::fs::read(path).with_context(|| format!("cannot read the anchor {}", path.display()))?;
        let not_one =
            |why: String| Error::invalid("--anchor", format!("{} is not a dsr audit anchor: {why}", path.display()));
        let value: serde_json::Value = serde_json::from_slice(&text).map_err(|e| not_one(format!("not JSON ({e})")))?;
        if value["kind"] != KIND {
            return Err(not_one(format!("it has no \"kind\": \"{KIND}\"")).into());
        }
        if value["format_version"] != 1 {
            return Err(Error::invalid(
                "--anchor",
                format!("{} has a format_version this dsr does not know; upgrade dsr", path.display()),
            )
            .into());
        }
        let anchor: Anchor = serde_json::from_value(value).map_err(|e| not_one(e.to_string()))?;
        let hex = anchor.hash.len() == 64 && anchor.hash.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex || anchor.entries < 0 {
            return Err(not_one("its entries or hash are not an entry number and a SHA-256".to_owned()).into());
        }
        Ok(anchor)
    }
}

/// An anchor compared with the trail, for `audit verify --anchor`.
#[derive(Debug, Clone, Serialize)]
pub struct Checked {
    pub file: String,
    pub entries: i64,
    pub hash: String,
    pub at: String,
    /// The trail still holds the anchored entry with the anchored hash.
    pub ok: bool,
    pub problem: Option<String>,
}

/// Whether the trail still holds the anchored entry with the anchored hash. Call after the chain
/// itself verified: then entry N's hash vouches for every entry before it.
pub fn check(conn: &dyn Db, anchor: &Anchor, file: &Path) -> anyhow::Result<Checked> {
    let n = anchor.entries;
    let found: Option<String> = if n == 0 {
        Some(GENESIS.to_owned())
    } else {
        conn.first("SELECT hash FROM audit_log WHERE id = ?1", &[n.into()], |r| r.get(0))?
    };
    let last: i64 = conn.first("SELECT coalesce(max(id), 0) FROM audit_log", &[], |r| r.get(0))?.unwrap_or(0);
    let at = &anchor.at;
    let problem = match found {
        None => Some(format!(
            "the trail ends at entry {last}, but the anchor taken {at} holds entry {n}: the last entries were removed"
        )),
        Some(h) if !h.eq_ignore_ascii_case(&anchor.hash) => Some(format!(
            "entry {n} is not the one anchored {at} (its hash differs): the trail was rewritten up to that entry"
        )),
        Some(_) => None,
    };
    Ok(Checked {
        file: file.display().to_string(),
        entries: n,
        hash: anchor.hash.clone(),
        at: anchor.at.clone(),
        ok: problem.is_none(),
        problem,
    })
}

/// The anchor's letter to the DPO, Dutch first, then English: (subject, body).
pub fn letter(controller: &Controller, anchor: &Anchor) -> (String, String) {
    let (c, n, h, at) = (&controller.name, anchor.entries, &anchor.hash, &anchor.at);
    let file = attachment_name(anchor);
    let subject = format!("Anker van het auditspoor / Audit trail anchor: {c}, entry {n}");
    let body = format!(
        "(English below)\n\n\
Dit is het anker van het auditspoor van dsr bij {c}: de stand van het spoor op {at} (UTC).\n\n\
\x20   nieuwste vermelding: {n}\n    hash (SHA-256): {h}\n\n\
Bewaar dit bericht of de bijlage {file} buiten het systeem van dsr. Later toont\n\
`dsr audit verify --anchor {file}` of het spoor deze vermelding met deze hash nog bevat;\n\
een spoor dat is ingekort of herschreven faalt (exit 16).\n\n\
----------------------------------------\n\n\
This is the anchor of dsr's audit trail at {c}: the trail as it stood at {at} (UTC).\n\n\
\x20   newest entry: {n}\n    hash (SHA-256): {h}\n\n\
Keep this message or the attachment {file} outside dsr's system. Later,\n\
`dsr audit verify --anchor {file}` shows whether the trail still holds this entry with this hash;\n\
a trail that was cut short or rewritten fails (exit 16).\n\n\
{json}",
        json = anchor.to_json()
    );
    (subject, body)
}

/// The name of the anchor attached to its letter.
pub fn attachment_name(anchor: &Anchor) -> String {
    format!("dsr-audit-anchor-{}.json", anchor.entries)
}
