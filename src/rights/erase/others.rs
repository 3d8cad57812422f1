//! The person's other open requests when their data are erased.
//!
//! - A request of the person the officer still owes an answer holds the erasure back: a
//!   verified access or export request whose answer has not been delivered (the answer covers
//!   the data held when it was asked), a verified rectification, restriction or objection not yet
//!   carried out, and a message read from the mailbox that waits for review. The erasure would
//!   leave nothing to answer it with, or decide it on. The officer answers it first (or refuses
//!   it); `erase --due` leaves the plan waiting until then.
//! - A request of the person still waiting for its code can never be verified once the data are
//!   gone: it is refused in the erasure's transaction, and the person is told why in a letter
//!   queued to the address on file before that address is erased (the same as for a request
//!   that expires: none where no address is on file). Left open, it would wait in the officer's
//!   list until it went overdue.

use crate::clock::Clock;
use crate::error::Error;
use crate::register::Controller;
use crate::request::{self, RejectReason, Request};
use crate::store::db::Db;
use crate::vals;

/// A request of the same person that the officer still owes an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unanswered {
    pub id: String,
    pub right: String,
    pub state: String,
}

impl Unanswered {
    /// What the officer runs to answer it.
    pub fn command(&self) -> String {
        match (self.state.as_str(), self.right.as_str()) {
            ("needs-review", _) => format!("review it: dsr request show {}", self.id),
            (_, "access" | "export") => format!("dsr {} {} --send", self.right, self.id),
            (_, "object") => format!("dsr object {} (or dsr object --decide {})", self.id, self.id),
            (_, right) => format!("dsr {right} {}", self.id),
        }
    }

    /// The refusal to erase while it waits (exit 9, request-state).
    pub fn refusal(&self) -> Error {
        Error::AnswerOwed(
            self.id.clone(),
            format!(
                "not erased: the same person's {} request {} is not answered yet, and the erasure would leave nothing to answer it with; answer it first ({}) or refuse it (dsr request reject {}), then erase",
                self.right,
                self.id,
                self.command(),
                self.id
            ),
        )
    }
}

/// The first request of the person (other than `req`) that the officer still owes an answer:
/// verified and not delivered (access, export) or not carried out (any other right), or waiting
/// for review.
pub fn unanswered(conn: &dyn Db, req: &Request, person_id: i64) -> anyhow::Result<Option<Unanswered>> {
    conn.first(
        "SELECT id, kind, state FROM request WHERE person_id = ?1 AND id <> ?2
           AND ((state = 'verified' AND (kind IN ('access', 'export') OR answered_at IS NULL)) OR state = 'needs-review')
         ORDER BY year, seq LIMIT 1",
        &vals![person_id, req.id]?,
        |r| Ok(Unanswered { id: r.get(0)?, right: r.get(1)?, state: r.get(2)? }),
    )
}

/// Refuse to erase while [`unanswered`] finds a request ([`Unanswered::refusal`]).
pub fn refuse_while_unanswered(conn: &dyn Db, req: &Request, person_id: i64) -> anyhow::Result<()> {
    match unanswered(conn, req, person_id)? {
        Some(u) => Err(u.refusal().into()),
        None => Ok(()),
    }
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
    let waiting: Vec<Request> = tx.all(
        &format!(
            "SELECT {} FROM request WHERE person_id = ?1 AND id <> ?2 AND state = 'awaiting-verification'
               ORDER BY year, seq",
            request::COLUMNS
        ),
        &vals![person_id, req.id]?,
        Request::from_row,
    )?;
    let note = note(&req.id);
    for other in &waiting {
        request::decide::reject_in(tx, clock, store, controller, other, RejectReason::Other, &note)?;
    }
    Ok(waiting.into_iter().map(|r| r.id).collect())
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
        "You asked us to erase your personal data (request {erasure}), and we are doing so. This request had not been confirmed with the code we sent, and once your data are erased nothing is left to act on.{}Je hebt ons gevraagd je persoonsgegevens te wissen (verzoek {erasure}) en dat doen we. Dit verzoek was nog niet bevestigd met de code die we stuurden, en als je gegevens gewist zijn, is er niets meer om op te handelen.",
        crate::archive::present::BILINGUAL
    )
}
