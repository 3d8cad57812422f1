//! `dsr erase --due` (cron): carry out the approved plans of verified erasure requests, one
//! transaction each. A plan the data outran is made again and waits for approval; a plan on hold
//! or not approved is counted, not touched.

use serde::Serialize;

use crate::clock::Clock;
use crate::cron::RunLock;
use crate::error::Error;
use crate::request::{self, Kind};
use crate::store::db::{Conn, Db};

#[derive(Debug, Default, Serialize)]
pub struct DueSummary {
    pub format_version: u32,
    pub applied: Vec<String>,
    /// The data changed since approval: made again, waiting for the officer's approval.
    pub replanned: Vec<String>,
    /// Verified erasure requests whose plan no officer has approved (or that have no plan yet).
    pub waiting_for_approval: Vec<String>,
    /// Approved plans an officer put on hold.
    pub on_hold: Vec<String>,
    /// Approved plans held back by a request of the same person that still waits for its answer
    /// (`rights::erase::others`): (erasure, that request). They run once it is answered.
    pub waiting_for_answer: Vec<(String, String)>,
    pub failed: Vec<(String, String)>,
    /// Plans another process carried out while this run went through the list (an officer's
    /// `dsr erase R --yes`, or a run on another machine): nothing left to do.
    pub done_elsewhere: Vec<String>,
    /// The identifiers of the people erased, to look for in the backend's pages afterwards.
    #[serde(skip)]
    pub erased: Vec<String>,
    /// The store itself failed (damaged, gone, locked, full, the server lost): the run stopped
    /// there, after the erasures before it; the caller still clears the log and tells the counts.
    #[serde(skip)]
    pub stopped: Option<anyhow::Error>,
}

/// Carry out every approved plan that is due, under the store's run lock. What the plans queued
/// is delivered by the caller, after this returns.
pub fn run(_lock: &RunLock, store: &dyn Conn, clock: &Clock) -> anyhow::Result<DueSummary> {
    {
        let tx = store.begin()?;
        request::expire_stale(&*tx, clock)?;
        tx.commit()?;
    }
    let mut sum = DueSummary { format_version: 1, ..Default::default() };
    let mut ready = Vec::new();
    let db: &dyn Db = store;
    for row in db.all(
        "SELECT r.id, p.approved_at IS NOT NULL, p.held_at IS NOT NULL FROM request r
         LEFT JOIN erasure_plan p ON p.request_id = r.id
         WHERE r.kind = 'erase' AND r.state = 'verified' AND r.answered_at IS NULL AND p.applied_at IS NULL
         ORDER BY r.year, r.seq",
        &[],
        |r| Ok((r.get::<String>(0)?, r.get::<bool>(1)?, r.get::<bool>(2)?)),
    )? {
        match row {
            (id, _, true) => sum.on_hold.push(id),
            (id, true, false) => ready.push(id),
            (id, false, false) => sum.waiting_for_approval.push(id),
        }
    }
    for id in ready {
        let result = (|| -> anyhow::Result<Vec<String>> {
            let (req, s) = crate::rights::verified(store, &id, Kind::Erase)?;
            super::stored::refuse_legal_claims(store, &s)?;
            let stored = super::stored::stored(store, &id)?.ok_or_else(|| anyhow::anyhow!("no stored plan"))?;
            let values = super::values_to_look_for(store, s.person_id)?;
            super::carry_out::apply(store, clock, &req, &s, &stored.plan)?;
            Ok(values)
        })();
        match result {
            Ok(values) => {
                sum.applied.push(id);
                sum.erased.extend(values);
            }
            // The store itself failing (damaged, gone, locked, a full disk, the server lost) is
            // no failure of one erasure: the run stops with it (exit 10, 11, 13, 15), and the
            // erasures carried out before it stay done.
            Err(e) if store_fault(&e) => {
                sum.stopped = Some(e);
                break;
            }
            // Carried out by another process since the list was read: not this run's failure.
            Err(_) if !still_due(db, &id)? => sum.done_elsewhere.push(id),
            Err(e) => match e.downcast_ref::<Error>() {
                Some(Error::StalePlan(_)) => sum.replanned.push(id),
                Some(Error::AnswerOwed(other, _)) => sum.waiting_for_answer.push((id, other.clone())),
                // Told as any command tells it (a company trigger's refusal in words, not
                // SQLite's "constraint failed").
                _ => sum.failed.push((id, crate::output::message(&e, Some(&store.place())))),
            },
        }
    }
    Ok(sum)
}

/// A failure of the store or a company database itself, not of one person's erasure: a trigger
/// or foreign key refusing one person's rows, or a statement cancelled on one large person, is
/// that request's failure, and the run goes on.
pub(super) fn store_fault(e: &anyhow::Error) -> bool {
    use rusqlite::ErrorCode as C;
    crate::exit::lost(e)
        || e.chain().any(|c| {
            if let Some(e) = c.downcast_ref::<rusqlite::Error>() {
                return matches!(
                    e.sqlite_error_code(),
                    Some(
                        C::NotADatabase
                            | C::DatabaseCorrupt
                            | C::DiskFull
                            | C::SystemIoFailure
                            | C::ReadOnly
                            | C::DatabaseBusy
                            | C::DatabaseLocked
                    )
                );
            }
            if let Some(e) = c.downcast_ref::<postgres::Error>() {
                return crate::exit::read_only_on_postgres(e);
            }
            if let Some(e) = c.downcast_ref::<Error>() {
                return matches!(
                    e,
                    Error::Corrupt { .. }
                        | Error::NotAStore(_)
                        | Error::SchemaForeign { .. }
                        | Error::StoreMissing(_)
                        | Error::DatabaseMissing { .. }
                        | Error::DatabaseMismatch { .. }
                        | Error::StoreBusy(_)
                        | Error::DatabaseBusy { .. }
                        | Error::StoreReadOnly(_)
                );
            }
            c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::StorageFull)
        })
}

/// Whether a request is still an erasure to carry out: verified, unanswered, its plan not applied.
fn still_due(db: &dyn Db, id: &str) -> anyhow::Result<bool> {
    Ok(db
        .first(
            "SELECT r.state = 'verified' AND r.answered_at IS NULL AND p.applied_at IS NULL FROM request r
             LEFT JOIN erasure_plan p ON p.request_id = r.id WHERE r.id = ?1",
            &crate::vals![id]?,
            |r| r.get::<bool>(0),
        )?
        .unwrap_or(false))
}
