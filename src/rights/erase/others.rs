//! The person's other open requests when their data are erased.
//!
//! - A verified access or export request whose answer has not reached the person yet holds the
//!   erasure back: the answer covers the data held when it was asked, and the erasure would leave
//!   nothing to answer it with. The officer delivers it first (or refuses it); `erase --due`
//!   leaves the plan waiting until then.
//! - Any other open request of the person (one still waiting for its code, or a verified
//!   rectification, restriction or objection) has nothing left to act on once the data are gone:
//!   it is refused in the erasure's transaction, and the person is told why in a letter queued
//!   to the address on file before that address is erased. Left open, it could never be verified
//!   or answered, and would wait in the officer's list until it went overdue.

use crate::clock::Clock;
use crate::error::Error;
use crate::register::Controller;
use crate::request::{self, RejectReason, Request};
use crate::store::db::Db;
use crate::vals;

/// A verified access or export request of the same person, not yet delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unanswered {
    pub id: String,
    pub right: String,
}

impl Unanswered {
    /// What the officer runs to answer it.
    pub fn command(&self) -> String {
        format!("dsr {} {} --send", self.right, self.id)
    }
}

/// The first verified access or export request of the person (other than `req`) whose answer
/// has not been delivered.
pub fn unanswered(conn: &dyn Db, req: &Request, person_id: i64) -> anyhow::Result<Option<Unanswered>> {
    conn.first(
        "SELECT id, kind FROM request WHERE person_id = ?1 AND id <> ?2 AND kind IN ('access', 'export')
           AND state = 'verified' ORDER BY year, seq LIMIT 1",
        &vals![person_id, req.id]?,
        |r| Ok(Unanswered { id: r.get(0)?, right: r.get(1)? }),
    )
}

/// Refuse to erase while [`unanswered`] finds a request (exit 9, request-state).
pub fn refuse_while_unanswered(conn: &dyn Db, req: &Request, person_id: i64) -> anyhow::Result<()> {
    if let Some(u) = unanswered(conn, req, person_id)? {
        return Err(Error::RequestState(format!(
            "not erased: the same person's {} request {} is verified and not yet answered, and the erasure would leave nothing to answer it with; deliver it first ({}) or refuse it (dsr request reject {}), then erase",
            u.right,
            u.id,
            u.command(),
            u.id
        ))
        .into());
    }
    Ok(())
}

/// Refuse the person's other open requests (see the module's text) in the erasure's transaction,
/// each with its letter queued; before the person's rows are deleted. Returns their ids.
pub fn close(
    tx: &dyn Db,
    clock: &Clock,
    store: &std::path::Path,
    controller: &Controller,
    req: &Request,
    person_id: i64,
) -> anyhow::Result<Vec<String>> {
    let ids: Vec<String> = tx.all(
        "SELECT id FROM request WHERE person_id = ?1 AND id <> ?2 AND state IN ('awaiting-verification', 'verified')
           ORDER BY year, seq",
        &vals![person_id, req.id]?,
        |r| r.get(0),
    )?;
    let note = note(&req.id);
    for id in &ids {
        let other = request::load(tx, id)?;
        request::decide::reject_in(tx, clock, store, controller, &other, RejectReason::Other, &note)?;
    }
    Ok(ids)
}

/// The requests an erasure refused ([`close`]), from its recorded outcome.
pub fn refused(conn: &dyn Db, erasure: &str) -> anyhow::Result<Vec<String>> {
    let outcome = request::load(conn, erasure)?.outcome;
    Ok(outcome
        .as_ref()
        .and_then(|o| o.get("refused"))
        .and_then(|r| serde_json::from_value(r.clone()).ok())
        .unwrap_or_default())
}

/// The reason given to the person, in English and Dutch.
fn note(erasure: &str) -> String {
    format!(
        "Your personal data were erased at your request {erasure} before this request was completed, so we no longer hold them (apart from what the erasure letter lists as kept) and nothing is left to act on.{}Je persoonsgegevens zijn op je verzoek {erasure} gewist voordat dit verzoek was afgehandeld; we hebben ze dus niet meer (behalve wat de brief over het wissen noemt als bewaard) en er is niets meer om op te handelen.",
        crate::archive::present::BILINGUAL
    )
}
