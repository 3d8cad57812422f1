//! The officer's decisions on a request that the person is told of by letter: more time
//! (Art. 12(3)) and a refusal (Art. 12(4), (5)). Each is recorded in one transaction with its
//! audit entries and the queued letter (sent after the commit). Also the expiry of stale
//! requests, run before the commands that list or act on requests.

use super::{RejectReason, Request};
use crate::clock::Clock;
use crate::letters::Vars;
use crate::mail::{self, Letter, Sent};
use crate::register::{Controller, Register};
use crate::store::db::{Conn, Db};
use crate::vals;
use serde_json::json;

/// A decision the person is told of: the request afterwards, the letter, and where it was
/// queued (None: no email address on file, the officer sends the letter by other means).
#[derive(Debug)]
pub struct Told {
    pub request: Request,
    pub letter: String,
    pub sent: Option<Sent>,
}

/// Expire the requests the person never verified in time ([`super::expire_stale`]). Asked first
/// outside a write transaction: with nothing to expire, a command that only reads (`status` as a
/// monitoring check, `request list`) takes no write lock, and runs while another process holds it.
pub fn expire(conn: &dyn Conn, clock: &Clock) -> anyhow::Result<()> {
    let db: &dyn Db = conn;
    let any: bool =
        db.one(&format!("SELECT EXISTS (SELECT 1 FROM request WHERE {})", super::stale_at(clock)), &[], |r| r.get(0))?;
    if !any {
        return Ok(());
    }
    let tx = conn.begin_own()?;
    super::expire_stale(&*tx, clock)?;
    tx.commit()?;
    Ok(())
}

/// Extend the deadline of request `id` by `months` with a reason, and tell the person.
pub fn extend(store: &dyn Conn, clock: &Clock, id: &str, months: u32, reason: &str) -> anyhow::Result<Told> {
    let controller = controller(store)?;
    let tx = store.begin_own()?;
    let r = super::load(&*tx, id)?;
    let r = super::extend(&*tx, clock, &r, months, reason)?;
    let letter = Letter {
        kind: "extension",
        subject: crate::letters::subject_of(&controller, "extension", &r.id),
        body: extension_letter(&controller, &r)?,
    };
    let sent = mail::notify(&*tx, clock, &store.place(), &controller, &r, &letter)?;
    tx.commit()?;
    Ok(Told { request: r, letter: letter.body, sent })
}

/// Refuse request `id` with a reason and a note, and tell the person why and how to complain.
pub fn reject(store: &dyn Conn, clock: &Clock, id: &str, reason: RejectReason, note: &str) -> anyhow::Result<Told> {
    let controller = controller(store)?;
    let tx = store.begin_own()?;
    let r = super::load(&*tx, id)?;
    let told = reject_in(&*tx, clock, &store.place(), &controller, &r, reason, note)?;
    tx.commit()?;
    Ok(told)
}

/// [`reject`] in the caller's transaction: the refusal recorded, the request's codes voided, and
/// the letter queued (`store`: the store's place, beside which the outbox is).
pub fn reject_in(
    tx: &dyn Db,
    clock: &Clock,
    store: &std::path::Path,
    controller: &Controller,
    r: &Request,
    reason: RejectReason,
    note: &str,
) -> anyhow::Result<Told> {
    let was_in_review = r.in_review();
    // (Its code in force is voided with it.)
    let r = super::reject(tx, clock, r, reason, note)?;
    if was_in_review {
        // The messages it was read from no longer wait for the officer.
        crate::inbox::ledger::resolve_for_request(tx, clock, &r.id, "refused")?;
    }
    let earlier = earlier_requests(tx, &r)?;
    let letter = Letter {
        kind: "rejection",
        subject: crate::letters::subject_of(controller, "rejection", &r.id),
        body: rejection_letter(controller, &r, &earlier)?,
    };
    let sent = mail::notify(tx, clock, store, controller, &r, &letter)?;
    Ok(Told { request: r, letter: letter.body, sent })
}

fn controller(conn: &dyn Db) -> anyhow::Result<Controller> {
    Register::load(conn)?.controller.ok_or_else(|| crate::error::Error::no_register().into())
}

fn extension_letter(c: &Controller, r: &Request) -> anyhow::Result<String> {
    let reason = crate::archive::present::reason(r.extension_reason.as_deref().unwrap_or_default());
    let vars = Vars::new(json!({"id": r.id}))
        .pair("right", swap(r.right_names()))
        .pair("deadline", crate::local_time::day(r.deadline()))
        .pair("reason", swap(reason));
    crate::letters::body(c, "extension", &vars)
}

/// (English, Dutch) as (Dutch, English).
fn swap<A, B>((en, nl): (A, B)) -> (B, A) {
    (nl, en)
}

/// The person's earlier requests for the same right (ids, oldest first): what makes a request
/// repetitive (Art. 12(5)). Matched by person, or by the keyed pseudonym when no one was resolved.
fn earlier_requests(conn: &dyn Db, r: &Request) -> anyhow::Result<Vec<String>> {
    let (year, seq): (i64, i64) = conn
        .first("SELECT year, seq FROM request WHERE id = ?1", &vals![r.id]?, |x| Ok((x.get(0)?, x.get(1)?)))?
        .ok_or_else(|| crate::error::Error::UnknownRequest(r.id.clone()))?;
    let mut out = Vec::new();
    conn.each(
        "SELECT id FROM request WHERE kind = ?1 AND id <> ?2 AND (year < ?3 OR (year = ?3 AND seq < ?4))
           AND (person_id = ?5 OR subject_pseudonym = ?6) ORDER BY year, seq",
        &vals![r.right, r.id, year, seq, r.person_id, r.subject_pseudonym]?,
        &mut |x| {
            out.push(x.get(0)?);
            Ok(())
        },
    )?;
    Ok(out)
}

/// Art. 12(4): the reasons for not acting, and the right to complain and to go to court.
/// A refusal as manifestly unfounded or excessive names Art. 12(5) and, when repetitiveness is
/// the reason, the earlier requests; one for want of identification cites Art. 11(2) and 12(2)
/// and says how the person can still be identified (the wording per reason is in the template).
fn rejection_letter(c: &Controller, r: &Request, earlier: &[String]) -> anyhow::Result<String> {
    let note = crate::archive::present::reason(r.rejection_note.as_deref().unwrap_or_default());
    let reason = r.rejection_reason.as_deref().unwrap_or("other");
    let vars = Vars::new(json!({"id": r.id, "reason": reason, "earlier": earlier}))
        .pair("right", swap(r.right_names()))
        .pair("note", swap(note))
        .pair("rights_contact", (c.rights_contact_nl.as_str(), c.rights_contact_en.as_str()));
    crate::letters::body(c, "rejection", &vars)
}
