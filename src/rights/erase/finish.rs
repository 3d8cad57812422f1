//! Art. 17 with 18(1)(c): an erasure that kept some of the person's data under a legal-claims
//! restriction ("until the restriction is lifted") is finished once the last such restriction of
//! the person is lifted. The erasure marks the restrictions that held it back
//! (`restriction.erasure_id`); after a lift, the person's plan is made anew, without the hold,
//! and carried out under the same erasure request, each in a transaction of its own: the
//! recipients of what goes now are to be told (Art. 19), the systems that keep copies get their
//! tasks, what it removes goes on the suppression list and in the erasure journal, and the
//! finishing is audited (`erasure-finished`). The person was told in the erasure's letter that
//! these data go when the restriction is lifted; no letter goes now (their address is erased).
//!
//! A request of the same person still owed an answer holds the finishing back, as it holds an
//! erasure back (`others`); it is tried again by the next `dsr retention run` or `dsr restrict`.

use serde::Serialize;

use crate::clock::Clock;
use crate::keys::Keys;
use crate::register::Register;
use crate::request::{self, Request};
use crate::store::db::{Conn, Db};
use crate::vals;

/// Mark the person's active legal-claims restrictions as holding back erasure `erasure` (in the
/// erasure's transaction).
pub(super) fn mark(tx: &dyn Db, erasure: &str, person: i64) -> anyhow::Result<usize> {
    tx.run(
        &format!("UPDATE restriction SET erasure_id = ?2 WHERE person_id = ?1 AND {}", super::keeps::HOLD),
        &vals![person, erasure]?,
    )
}

/// The erasures whose holding restrictions are all lifted: (erasure, person).
const READY: &str = "SELECT DISTINCT r.erasure_id, r.person_id FROM restriction r
     WHERE r.erasure_id IS NOT NULL AND r.person_id IS NOT NULL AND r.lifted_at IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM restriction h WHERE h.person_id = r.person_id
                         AND h.ground = 'legal-claims' AND h.lifted_at IS NULL)
     ORDER BY r.erasure_id, r.person_id";

/// [`READY`] for one erasure (?1) and person (?2).
const READY_ONE: &str =
    "SELECT 1 FROM restriction r WHERE r.erasure_id = ?1 AND r.person_id = ?2 AND r.lifted_at IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM restriction h WHERE h.person_id = r.person_id
                         AND h.ground = 'legal-claims' AND h.lifted_at IS NULL)";

/// What finishing the held erasures did.
#[derive(Debug, Default, Serialize)]
pub struct Finishing {
    /// Erasures finished.
    pub finished: Vec<Finished>,
    /// Erasures held back by a request of the same person still owed an answer, with what to
    /// do. Tried again by the next run.
    pub waiting: Vec<NotFinished>,
    /// Erasures whose rows could not be removed (a trigger or foreign key of a company
    /// database refusing), with the error. Tried again by the next run.
    pub failed: Vec<NotFinished>,
}

#[derive(Debug, Serialize)]
pub struct Finished {
    pub request: String,
    /// The rows deleted or detached.
    pub rows: u64,
}

#[derive(Debug, Serialize)]
pub struct NotFinished {
    pub request: String,
    pub why: String,
}

/// Finish every erasure whose holding restrictions are lifted, one transaction each. The store
/// itself failing stops the run with its error; one erasure's failure is reported and the
/// others go on.
pub fn run(store: &dyn Conn, clock: &Clock, register: &Register) -> anyhow::Result<Finishing> {
    let mut done = Finishing::default();
    let db: &dyn Db = store;
    let ready: Vec<(String, i64)> = db.all(READY, &[], |r| Ok((r.get(0)?, r.get(1)?)))?;
    if ready.is_empty() {
        return Ok(done);
    }
    // Noted before: the caller clears what the finishing removed after its own work (the note
    // makes the next erasure or run do it when that fails).
    store.erasing(&super::touched_by_any(&register.map))?;
    let keys = Keys::load(store)?;
    for (erasure, person) in ready {
        let tx = store.begin()?;
        // Read again in the write transaction: another process may have finished it since.
        let db: &dyn Db = &*tx;
        let still: bool = db.one(&format!("SELECT EXISTS ({READY_ONE})"), &vals![erasure, person]?, |r| r.get(0))?;
        if !still {
            continue;
        }
        let req = request::load(&*tx, &erasure)?;
        if let Some(owed) = super::others::unanswered(&*tx, &req, person)? {
            let why = format!("answer the same person's {} request {} first ({})", owed.right, owed.id, owed.command());
            done.waiting.push(NotFinished { request: erasure, why });
            continue;
        }
        match finish(&*tx, &store.place(), clock, register, &keys, &req, person) {
            Ok(rows) => {
                tx.commit()?;
                done.finished.push(Finished { request: erasure, rows });
            }
            Err(e) if super::due::store_fault(&e) => return Err(e),
            Err(e) => done.failed.push(NotFinished { request: erasure, why: format!("{e:#}") }),
        }
    }
    Ok(done)
}

/// Erase what the lifted restrictions kept of `person`, under erasure `req` (in the caller's
/// transaction). Returns the rows deleted or detached.
fn finish(
    tx: &dyn Db,
    path: &std::path::Path,
    clock: &Clock,
    register: &Register,
    keys: &Keys,
    req: &Request,
    person: i64,
) -> anyhow::Result<u64> {
    // The person's requests waiting for their code are refused, as an erasure refuses them.
    let controller = register.controller.as_ref().ok_or_else(crate::error::Error::no_register)?;
    super::others::close(tx, clock, path, controller, req, person)?;
    let s = crate::subject::subject(tx, person)?;
    let plan = super::plan_applied_at_once(tx, &s, &clock.timestamp())?;
    let since = "the restriction that kept some of this person's data for a legal claim has ended; ";
    super::carry_out::tell_recipients(tx, clock, register, (req, &s), &plan, since)?;
    super::carry_out::tasks(tx, clock, req, &s, &plan)?;
    // Tasks still open from the person's requests since (a restriction's keys) are overtaken.
    crate::tasks::supersede(tx, clock, req, person)?;
    // Every legal-claims restriction of the person is lifted now, those opened after the erasure
    // too: the journal names them all, so that a replay on a store restored from before a lift
    // lifts it and erases what this erases.
    let lifted: Vec<String> = tx.all(
        "SELECT DISTINCT request_id FROM restriction WHERE person_id = ?1 AND ground = 'legal-claims' ORDER BY request_id",
        &vals![person]?,
        |r| r.get(0),
    )?;
    let done = super::carry_out::remove(tx, clock, keys, (req, &s), &plan, "erasure-finished", lifted)?;
    crate::report::tally::finished(tx, req, &plan)?;
    Ok(done)
}
