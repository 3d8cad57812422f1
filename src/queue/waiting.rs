//! What waits in the queue: the undelivered items as `mail list`, `request show` and `status`
//! show them, what a request's undelivered letters are addressed to, and its answer letter (which
//! a delivery another way withdraws).

use serde::Serialize;

use crate::store::db::{Db, Row};
use crate::vals;

/// Queued items of one request that are not delivered yet, for `request show`.
#[derive(Debug, Clone, Serialize)]
pub struct Pending {
    pub queued: i64,
    pub request: Option<String>,
    pub letter: String,
    pub queued_at: String,
    pub tries: i64,
    pub last_error: Option<String>,
    /// An erasure letter waiting for the systems' tasks (`letter_after_tasks`): no flush sends
    /// it before the last task is acknowledged.
    pub held: bool,
    /// The transport a letter was queued for (`DSR_MAIL`; only a process sending by it delivers
    /// it); null for a journal line and for a letter queued before transports were recorded.
    pub transport: Option<String>,
}

/// The columns [`Pending::from_row`] reads, in its order.
pub const COLUMNS: &str = "id, request_id, letter, queued_at, tries, last_error, held, transport";

impl Pending {
    pub fn from_row(r: &Row) -> anyhow::Result<Pending> {
        Ok(Pending {
            queued: r.get(0)?,
            request: r.get(1)?,
            letter: r.get(2)?,
            queued_at: r.get(3)?,
            tries: r.get(4)?,
            last_error: r.get(5)?,
            held: r.get(6)?,
            transport: r.get(7)?,
        })
    }
}

/// The addresses a request's undelivered letters go to (their envelopes), read before they are
/// delivered: what to look for in the pages after an erasure letter's delivery.
pub fn addressed_to(conn: &dyn Db, request: &str) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    conn.each(
        "SELECT envelope FROM queued WHERE request_id = ?1 AND done_at IS NULL AND envelope IS NOT NULL",
        &vals![request]?,
        &mut |r| {
            out.extend(crate::mail::envelope_recipients(&r.get::<String>(0)?)?);
            Ok(())
        },
    )?;
    Ok(out)
}

/// Letters that a transport has refused at least once and that are still queued, per request:
/// what `request list` marks as not sent.
pub fn stuck(conn: &dyn Db) -> anyhow::Result<std::collections::HashMap<String, i64>> {
    let mut out = std::collections::HashMap::new();
    conn.each(
        "SELECT request_id, count(*) FROM queued WHERE done_at IS NULL AND kind = 'mail' AND tries > 0
           AND request_id IS NOT NULL GROUP BY request_id",
        &[],
        &mut |r| {
            out.insert(r.get(0)?, r.get(1)?);
            Ok(())
        },
    )?;
    Ok(out)
}

/// Every item not delivered yet (of one request, or all), oldest first.
pub fn pending(conn: &dyn Db, request: Option<&str>) -> anyhow::Result<Vec<Pending>> {
    conn.all(
        &format!("SELECT {COLUMNS} FROM queued WHERE done_at IS NULL AND (?1 IS NULL OR request_id = ?1) ORDER BY id"),
        &vals![request]?,
        Pending::from_row,
    )
}

/// A request's answer letter not delivered yet (the one whose delivery completes it): its queue
/// id and how many deliveries were tried.
pub fn answer_of(conn: &dyn Db, request: &str) -> anyhow::Result<Option<(i64, i64)>> {
    conn.first(
        "SELECT id, tries FROM queued WHERE request_id = ?1 AND delivers = 1 AND done_at IS NULL ORDER BY id LIMIT 1",
        &vals![request]?,
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// Take a letter out of the queue undelivered (in the caller's transaction, under the queue's
/// lock): done, its content dropped, marked `withdrawn`.
pub fn withdraw(conn: &dyn Db, at: &str, queued: i64) -> anyhow::Result<()> {
    conn.run(
        "UPDATE queued SET done_at = ?2, payload = NULL, envelope = NULL, reference = 'withdrawn' WHERE id = ?1",
        &vals![queued, at]?,
    )?;
    Ok(())
}

/// Let request `request`'s held letters go (the tasks they waited for are done), each dated now
/// ([`crate::mail::redated`]): the next flush sends them. Returns how many.
pub fn release(conn: &dyn Db, clock: &crate::clock::Clock, request: &str) -> anyhow::Result<usize> {
    let mut held: Vec<(i64, Option<Vec<u8>>)> = Vec::new();
    conn.each(
        "SELECT id, payload FROM queued WHERE request_id = ?1 AND held = 1 AND done_at IS NULL ORDER BY id",
        &vals![request]?,
        &mut |r| {
            held.push((r.get(0)?, r.get(1)?));
            Ok(())
        },
    )?;
    for (id, payload) in &held {
        let payload = payload.as_deref().map(|p| crate::mail::redated(p, clock.now()));
        conn.run("UPDATE queued SET held = 0, payload = coalesce(?2, payload) WHERE id = ?1", &vals![id, payload]?)?;
    }
    Ok(held.len())
}
