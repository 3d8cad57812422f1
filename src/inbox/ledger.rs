//! The record of messages read (`intake_message`, migration 16): found again by SHA-256 or
//! Message-ID so a message is acted on once; what waits for the officer, with its text; and
//! the officer's resolution, which empties the text.

use serde::Serialize;
use serde_json::json;

use super::Mail;
use crate::audit;
use crate::clock::Clock;
use crate::error::Error;
use crate::store::db::{opt_text, text, Conn, Db};
use crate::vals;

/// What came of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Opened,
    Verified,
    CodeRefused,
    NeedsReview,
    Listed,
    Unreadable,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Opened => "opened",
            Outcome::Verified => "verified",
            Outcome::CodeRefused => "code-refused",
            Outcome::NeedsReview => "needs-review",
            Outcome::Listed => "listed",
            Outcome::Unreadable => "unreadable",
        }
    }

    /// The officer must read the message: its sender, subject and text are kept until resolved.
    pub fn waits(self) -> bool {
        matches!(self, Outcome::NeedsReview | Outcome::CodeRefused | Outcome::Listed | Outcome::Unreadable)
    }
}

/// An earlier reading of the same message: its id, outcome and request.
pub fn seen(db: &dyn Db, mail: &Mail) -> anyhow::Result<Option<(i64, String, Option<String>)>> {
    let by_hash =
        db.first("SELECT id, outcome, request_id FROM intake_message WHERE sha256 = ?1", &[text(&mail.sha256)], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    if by_hash.is_some() || mail.message_id.is_none() {
        return Ok(by_hash);
    }
    // The same message delivered twice (to an mbox and a Maildir, or resent with other
    // Received lines) has other bytes but the same Message-ID and sender. Another sender's
    // message with that Message-ID (a web form's constant one, or one copied) is another message.
    // A message read before senders were kept (no key) counts by its Message-ID alone.
    db.first(
        "SELECT id, outcome, request_id FROM intake_message
          WHERE (message_id = ?1 OR message_key = ?3) AND (sender_key IS NULL OR sender_key IS NOT DISTINCT FROM ?2)
          ORDER BY id LIMIT 1",
        &[
            opt_text(mail.message_id.as_deref()),
            opt_text(mail.sender_key.as_deref()),
            opt_text(mail.message_key.as_deref()),
        ],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
}

/// A text kept for the officer with what may be a live code shown as `****-****`: dsr's own code
/// letter read back, or forwarded by the person ("did you send this?"), must not put a code that
/// still works in the store or on the officer's screen. A code is 8 characters of Crockford's
/// alphabet, in any form a reply is read in (`7KQ2-M9XD`, `7KQ2M9XD`, `7KQ2 M9XD`), in any case;
/// masked when it has a letter and either a digit or the capitals dsr prints. Words
/// ("self-help"), numbers ("2025-2026") and the parts of longer dashed ids (`DSR-2026-0001`,
/// `INV-2026-0042`) stay. Groups of four joined by spaces overlap ("Deze 7KQ2 M9XD"): a pair
/// that looks like a code is masked together with each next group that makes a code-like pair
/// with its second half, so that half a code never stays in sight (a word or an IBAN's group
/// beside it may be masked too); a pair that is no code is passed by its first character, so
/// that the next word is looked at as a code's start.
fn masked(text: &str) -> String {
    static CODE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\b[0-9A-Za-z]{4}[- ]?[0-9A-Za-z]{4}\b").expect("a valid pattern")
    });
    static NEXT_GROUP: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"\A [0-9A-Za-z]{4}\b").expect("a valid pattern"));
    let bytes = text.as_bytes();
    // Part of a longer dashed id: a dash joined to a word before or after it.
    let joined = |at: Option<usize>, next: Option<usize>| {
        at.and_then(|i| bytes.get(i)) == Some(&b'-')
            && next.and_then(|i| bytes.get(i)).is_some_and(|b| b.is_ascii_alphanumeric())
    };
    let code_like = |candidate: &str| {
        let chars = candidate.bytes().filter(|b| b.is_ascii_alphanumeric());
        let crockford =
            chars.clone().all(|b| b.is_ascii_digit() || (b.is_ascii_alphabetic() && !b"IiLlOoUu".contains(&b)));
        let letter = chars.clone().any(|b| b.is_ascii_alphabetic());
        let digit = chars.clone().any(|b| b.is_ascii_digit());
        let capitals = !chars.clone().any(|b| b.is_ascii_lowercase());
        crockford && letter && (digit || capitals)
    };
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(found) = CODE.find_at(text, at) {
        let part = joined(found.start().checked_sub(1), found.start().checked_sub(2))
            || joined(Some(found.end()), Some(found.end() + 1));
        if code_like(found.as_str()) && !part {
            let mut end = found.end();
            if bytes[found.start() + 4] == b' ' {
                while let Some(next) = NEXT_GROUP.find(&text[end..]) {
                    if !code_like(&text[end - 4..end + next.end()]) {
                        break;
                    }
                    end += next.end();
                }
            }
            out.push_str(&text[at..found.start()]);
            out.push_str("****-****");
            at = end;
        } else {
            // The match starts with an ASCII character: one byte on is a character boundary.
            out.push_str(&text[at..=found.start()]);
            at = found.start() + 1;
        }
    }
    out.push_str(&text[at..]);
    out
}

/// Record a message read, in the caller's transaction; its id.
pub fn record(
    db: &dyn Db,
    clock: &Clock,
    mail: &Mail,
    outcome: Outcome,
    reason: Option<&str>,
    asks: &str,
    request: Option<&str>,
) -> anyhow::Result<i64> {
    let keep = outcome.waits();
    let id: i64 = db.one(
        "INSERT INTO intake_message (sha256, message_id, sent_at, read_at, outcome, reason, asks, request_id, sender, subject, excerpt, sender_key, message_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) RETURNING id",
        &vals![
            mail.sha256,
            mail.message_id,
            mail.date.map(crate::clock::stamp),
            clock.timestamp(),
            outcome.as_str(),
            reason,
            (!asks.is_empty()).then_some(asks),
            request,
            mail.from.as_deref().filter(|_| keep),
            Some(masked(&mail.subject)).filter(|_| keep),
            Some(masked(&mail.text)).filter(|_| keep),
            mail.sender_key,
            mail.message_key
        ]?,
        |r| r.get(0),
    )?;
    if let Some(request) = request {
        // Provenance of what the request rests on, in the chain: which message, by its hash
        // (its Message-ID, which may name the sender's domain, stays in `intake_message`, out of a
        // chain that can never be changed).
        audit::append(
            db,
            clock,
            Some(request),
            None,
            "mail-read",
            json!({"outcome": outcome.as_str(), "sha256": mail.sha256, "message": id}),
        )?;
    }
    Ok(id)
}

/// A message waiting for the officer.
#[derive(Debug, Serialize)]
pub struct Waiting {
    pub id: i64,
    pub outcome: String,
    pub read_at: String,
    pub sent_at: Option<String>,
    pub reason: Option<String>,
    pub asks: Option<String>,
    pub request: Option<String>,
    pub sender: Option<String>,
    pub subject: Option<String>,
    pub text: Option<String>,
    /// The SHA-256 of the message as read (of the file's bytes): how the officer finds the
    /// file of a message that did not read (`sha256sum`).
    pub sha256: String,
}

/// Messages waiting for the officer, oldest first (`needs-review` first when `review_only`).
pub fn waiting(db: &dyn Db, review_only: bool) -> anyhow::Result<Vec<Waiting>> {
    let outcomes =
        if review_only { "('needs-review')" } else { "('needs-review', 'code-refused', 'listed', 'unreadable')" };
    db.all(
        &format!(
            "SELECT id, outcome, read_at, sent_at, reason, asks, request_id, sender, subject, excerpt, sha256
             FROM intake_message WHERE outcome IN {outcomes} ORDER BY outcome <> 'needs-review', id"
        ),
        &[],
        waiting_row,
    )
}

/// How many messages wait for the officer, by outcome.
pub fn waiting_counts(db: &dyn Db) -> anyhow::Result<Vec<(String, i64)>> {
    db.all(
        "SELECT outcome, count(*) FROM intake_message WHERE outcome IN ('needs-review', 'code-refused', 'listed', 'unreadable')
         GROUP BY outcome ORDER BY outcome",
        &[],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// The officer dealt with message `id`: opened its request by hand (`request`), or found it
/// needs nothing (`note`). Its sender, subject and text are emptied; an audit entry says which.
pub fn resolve(store: &dyn Conn, clock: &Clock, id: i64, request: Option<&str>, note: &str) -> anyhow::Result<()> {
    let tx = store.begin_own()?;
    let db: &dyn Db = &*tx;
    let found: Option<(String, Option<String>)> =
        db.first("SELECT outcome, request_id FROM intake_message WHERE id = ?1", &[id.into()], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let (outcome, about) = found.unzip();
    match outcome.as_deref() {
        None => {
            return Err(Error::invalid(
                "MESSAGE",
                format!("no message {id} was read; `dsr intake --list` shows those waiting"),
            )
            .into())
        }
        Some("needs-review" | "code-refused" | "listed" | "unreadable") => {}
        Some(o) => return Err(Error::RequestState(format!("message {id} is {o}; nothing waits on it")).into()),
    }
    let in_review: Option<String> = db.first(
        "SELECT r.id FROM intake_message m JOIN request r ON r.id = m.request_id
         WHERE m.id = ?1 AND m.outcome = 'needs-review' AND r.state = 'needs-review'",
        &[id.into()],
        |r| r.get(0),
    )?;
    if let Some(r) = in_review {
        return Err(Error::RequestState(format!(
            "message {id} opened request {r}, which waits for your review: decide it with `dsr RIGHT --review {r}`, or refuse it with `dsr request reject {r}`"
        ))
        .into());
    }
    if let Some(r) = request {
        crate::request::load(db, r)?;
        // A message about a request (a reply to one) is resolved with it only: a mistyped number
        // would tie the message to someone else's request, and resolving empties it for good. A
        // message about no request may lead to any (one forwarded for another person).
        if let Some(about) = about.flatten().filter(|a| a != r) {
            return Err(Error::invalid(
                "--request",
                format!("message {id} is about request {about}, not {r}: give --request {about}, or --note TEXT"),
            )
            .into());
        }
    }
    crate::free_text::check("--note", note)?;
    db.run(
        "UPDATE intake_message SET outcome = 'resolved', resolved_at = ?2, resolution = ?3,
                request_id = coalesce(?4, request_id), sender = NULL, subject = NULL, excerpt = NULL WHERE id = ?1",
        &vals![id, clock.timestamp(), note, request]?,
    )?;
    audit::append(db, clock, request, None, "mail-resolved", json!({"message": id, "request": request}))?;
    tx.commit()
}

/// The officer decided request `id`, which was in review (opened it as a right, or refused it):
/// the messages that wait on it are resolved with `resolution`, their sender, subject and text
/// emptied, in the caller's transaction. How many.
pub fn resolve_for_request(db: &dyn Db, clock: &Clock, id: &str, resolution: &str) -> anyhow::Result<usize> {
    let ids: Vec<i64> = db.all(
        "SELECT id FROM intake_message WHERE request_id = ?1 AND outcome = 'needs-review' ORDER BY id",
        &[text(id)],
        |r| r.get(0),
    )?;
    for message in &ids {
        db.run(
            "UPDATE intake_message SET outcome = 'resolved', resolved_at = ?2, resolution = ?3,
                    sender = NULL, subject = NULL, excerpt = NULL WHERE id = ?1",
            &vals![message, clock.timestamp(), resolution]?,
        )?;
        audit::append(db, clock, Some(id), None, "mail-resolved", json!({"message": message, "request": id}))?;
    }
    Ok(ids.len())
}

/// The messages waiting on request `id` (in review): what the officer reads to decide.
pub fn waiting_for_request(db: &dyn Db, id: &str) -> anyhow::Result<Vec<Waiting>> {
    db.all(
        "SELECT id, outcome, read_at, sent_at, reason, asks, request_id, sender, subject, excerpt, sha256
         FROM intake_message WHERE request_id = ?1 AND outcome = 'needs-review' ORDER BY id",
        &[text(id)],
        waiting_row,
    )
}

fn waiting_row(r: &crate::store::db::Row) -> anyhow::Result<Waiting> {
    Ok(Waiting {
        id: r.get(0)?,
        outcome: r.get(1)?,
        read_at: r.get(2)?,
        sent_at: r.get(3)?,
        reason: r.get(4)?,
        asks: r.get(5)?,
        request: r.get(6)?,
        sender: r.get(7)?,
        subject: r.get(8)?,
        text: r.get(9)?,
        sha256: r.get(10)?,
    })
}

/// A message read for a request: what the request rests on (`dsr request show`).
#[derive(Debug, Serialize)]
pub struct Provenance {
    pub read_at: String,
    pub outcome: String,
    pub sha256: String,
    pub message_id: Option<String>,
}

/// The messages read for request `id`, in the order read.
pub fn of_request(db: &dyn Db, id: &str) -> anyhow::Result<Vec<Provenance>> {
    db.all(
        "SELECT read_at, outcome, sha256, message_id FROM intake_message WHERE request_id = ?1 ORDER BY id",
        &[text(id)],
        |r| Ok(Provenance { read_at: r.get(0)?, outcome: r.get(1)?, sha256: r.get(2)?, message_id: r.get(3)? }),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_in_a_kept_text_are_masked_and_request_ids_and_words_stay() {
        assert_eq!(
            super::masked("Uw code:\n   7KQ2-M9XD\nvoor DSR-2026-0001, code 7kq2-m9xd, ABCD-EFGH; self-help"),
            "Uw code:\n   ****-****\nvoor DSR-2026-0001, code ****-****, ****-****; self-help"
        );
        assert_eq!(
            super::masked("7KQ2M9XD; factuur INV-2026-0042, seizoen 2025-2026, order AB12-CD34-EF56"),
            "****-****; factuur INV-2026-0042, seizoen 2025-2026, order AB12-CD34-EF56"
        );
        // With a space, as a reply is read too, also after a word that could start a code.
        assert_eq!(
            super::masked("code H03M WVW5, de code is h03m wvw5; have been there 2025 2026"),
            "code ****-****, de code is ****-****; have been there 2025 2026"
        );
        // After a word that is itself a code's shape, no half of the code stays in sight.
        assert_eq!(super::masked("Deze 7KQ2 M9XD is mijn code"), "****-**** is mijn code");
        assert_eq!(super::masked("Here 7kq2 m9xd"), "****-****");
        assert_eq!(super::masked("7KQ2-M9XD ABCD"), "****-**** ABCD");
    }
}
