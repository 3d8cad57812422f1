//! Carry out an approved erasure plan (Art. 17) in one transaction: the recipients to tell
//! (Art. 19), the answer to the person, the suppression hashes, the rows, the audit entry and the
//! request's completion. The letter and the journal line are queued in the same transaction and
//! go out after the commit.

use rusqlite::{params, TransactionBehavior};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Plan;
use crate::audit;
use crate::clock::Clock;
use crate::error::Error;
use crate::keys::Keys;
use crate::notify;
use crate::queue::OnSent;
use crate::register::Register;
use crate::request::{self, Request};
use crate::rights::object::suppress;
use crate::store::Store;
use crate::subject::Subject;

/// One line of the erasure journal beside the store: keyed hashes only, for `--replay`.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct JournalEntry {
    pub(super) request: String,
    pub(super) erased_at: String,
    pub(super) hashes: Vec<(String, String)>,
}

/// Apply a plan in one transaction, after checking inside it that the plan is still current (if
/// not, the new plan is stored, not approved, and the error is [`Error::StalePlan`]).
/// Returns the number of rows deleted or detached.
pub fn apply(store: &mut Store, clock: &Clock, req: &Request, s: &Subject, plan: &Plan) -> anyhow::Result<u64> {
    let keys = Keys::load(&store.conn)?;
    let register = Register::load(&store.conn)?;
    let tx = store.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = super::plan(&tx, s, &plan.created_at)?;
    if !super::same(&now, plan) {
        drop(tx);
        super::stored::store(&mut store.conn, clock, req, &now)?;
        return Err(Error::StalePlan(req.id.clone()).into());
    }
    // Before anything is deleted: the recipients to tell, the answer to the person, the hashes.
    let erased = super::categories(&register, plan);
    if !erased.is_empty() {
        let claim = plan.steps.iter().any(|st| st.rows > 0 && st.ground.as_deref() == Some(super::GROUND_CLAIM));
        let what = if claim {
            "Erasure (Art. 17): erase the data of this person you received from us, except what an unpaid claim you collect for us needs; we keep that claim until it is settled (Art. 17(3)(e))."
        } else {
            "Erasure (Art. 17): erase the data of this person you received from us."
        };
        notify::record_for_categories(&tx, clock, &register, req, s, &erased, what)?;
    }
    let answer = crate::answers::erased(&register, req, plan);
    crate::answers::send(&tx, clock, &store.path, &register, req, &answer, OnSent::DeliversAnswer)?;
    let hashes = suppress(&tx, clock, &keys, Some(&req.id), s, "erased")?;
    let done = super::apply(&tx, s, plan)?;
    let summary: Vec<_> = plan
        .steps
        .iter()
        .map(|st| json!({"table": st.table, "action": st.action, "rows": st.rows, "until": st.until}))
        .collect();
    audit::append(&tx, clock, Some(&req.id), Some(&req.subject_pseudonym), "erased", json!({"steps": summary}))?;
    tx.execute("UPDATE erasure_plan SET applied_at = ?2 WHERE request_id = ?1", params![req.id, clock.timestamp()])?;
    let outcome = json!({"deleted": plan.deleted, "kept": plan.kept, "steps": plan.steps});
    request::set_outcome(&tx, req, &outcome)?;
    request::answered(&tx, clock, req, json!({"answered": "erasure"}))?;
    // The letter and the journal line go out after the commit (a kill before it sends nothing).
    let line = serde_json::to_string(&JournalEntry { request: req.id.clone(), erased_at: clock.timestamp(), hashes })?;
    crate::queue::journal(&tx, clock, &req.id, &line)?;
    tx.commit()?;
    Ok(done)
}
