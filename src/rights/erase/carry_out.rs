//! Carry out an approved erasure plan (Art. 17) in one transaction: the recipients to tell
//! (Art. 19), the answer to the person, the suppression hashes, the rows, the audit entry and the
//! request's completion. The letter and the journal line are queued in the same transaction and
//! go out after the commit.

use crate::store::db::{Conn, Db};
use crate::vals;
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
use crate::subject::Subject;

/// One line of the erasure journal beside the store: keyed hashes only, for `--replay`.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct JournalEntry {
    pub(super) request: String,
    pub(super) erased_at: String,
    pub(super) hashes: Vec<(String, String)>,
    /// An erasure finished once its legal-claims restrictions were lifted (`finish`): those
    /// restrictions' requests, for a replay on a store restored from before the lift.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) lifted: Vec<String>,
}

/// Apply a plan in one transaction, after checking inside it that the plan is still current (if
/// not, the new plan is stored, not approved, and the error is [`Error::StalePlan`]).
/// Returns the number of rows deleted or detached.
pub fn apply(store: &dyn Conn, clock: &Clock, req: &Request, s: &Subject, plan: &Plan) -> anyhow::Result<u64> {
    let keys = Keys::load(store)?;
    let register = Register::load(store)?;
    let tx = store.begin()?;
    request::still_to_carry_out(&*tx, req, "erased")?;
    super::others::refuse_while_unanswered(&*tx, req, s.person_id)?;
    let now = super::plan(&*tx, s, &plan.created_at)?;
    if !super::same(&now, plan) {
        drop(tx);
        super::stored::store(store, clock, req, &now)?;
        return Err(Error::StalePlan(req.id.clone()).into());
    }
    // The plan made now is the stored one (checked), with each step's filter: its steps run as
    // they are, not made again for the systems' tasks and again to apply them.
    let done = carry(&*tx, &store.place(), clock, req, s, &now, &keys, &register)?;
    tx.commit()?;
    Ok(done)
}

/// What `erase REQ --yes` did.
pub enum Confirmed {
    /// The plan was applied: the plan, and the rows deleted or detached.
    Applied(Plan, u64),
    /// A plan stored before (and perhaps shown to an officer) no longer matches the data: the
    /// new plan is stored, not approved, and nothing is erased.
    Stale(Plan),
}

/// `erase REQ --yes`: the plan is made, stored, approved and applied in one write transaction,
/// so the plan applied is the plan made and shown (`show` is called with it inside the
/// transaction, before anything is erased), and the person's rows are read once for it. As in
/// the two-step path, a plan stored earlier that the data no longer match is not applied.
pub fn confirmed(
    store: &dyn Conn,
    clock: &Clock,
    req: &Request,
    s: &Subject,
    show: impl FnOnce(&Plan) -> anyhow::Result<()>,
) -> anyhow::Result<Confirmed> {
    let keys = Keys::load(store)?;
    let register = Register::load(store)?;
    let tx = store.begin()?;
    // Refused before the plan is shown: the officer is not asked to confirm what cannot run.
    request::still_to_carry_out(&*tx, req, "erased")?;
    super::others::refuse_while_unanswered(&*tx, req, s.person_id)?;
    let super::stored::Refreshed { plan, had_plan, changed } = super::stored::refresh_to_apply(&*tx, clock, req, s)?;
    if had_plan && changed {
        tx.commit()?;
        return Ok(Confirmed::Stale(plan));
    }
    show(&plan)?;
    super::decide::approve_in(&*tx, clock, req)?;
    let done = carry(&*tx, &store.place(), clock, req, s, &plan, &keys, &register)?;
    tx.commit()?;
    Ok(Confirmed::Applied(plan, done))
}

/// The erasure itself, in the caller's write transaction, once the plan is known current.
#[allow(clippy::too_many_arguments)]
fn carry(
    tx: &dyn Db,
    path: &std::path::Path,
    clock: &Clock,
    req: &Request,
    s: &Subject,
    plan: &Plan,
    keys: &Keys,
    register: &Register,
) -> anyhow::Result<u64> {
    // The person's requests waiting for their code are refused, each with a letter to the address
    // on file while it is there (both callers refused first to erase while an answer is owed).
    let controller = register.controller.as_ref().ok_or_else(crate::error::Error::no_register)?;
    let refused = super::others::close(tx, clock, path, controller, req, s.person_id)?;
    // Before anything is deleted: the recipients to tell, the answer to the person, the hashes.
    tell_recipients(tx, clock, register, (req, s), plan, "")?;
    // The systems that keep copies get their tasks while the rows (and their keys) are there.
    let tasks = tasks(tx, clock, req, s, plan)?;
    crate::tasks::supersede(tx, clock, req, s.person_id)?;
    let answer = crate::answers::erased(register, req, plan);
    crate::answers::send(tx, clock, path, register, req, &answer, OnSent::DeliversAnswer)?;
    if tasks > 0 {
        crate::tasks::hold_letters(tx, &req.id)?;
    }
    let done = remove(tx, clock, keys, (req, s), plan, "erased", Vec::new())?;
    // What a legal-claims restriction keeps goes when it is lifted (`finish`).
    if plan.steps.iter().any(|st| st.until.as_deref() == Some(super::UNTIL_LIFTED)) {
        super::finish::mark(tx, &req.id, s.person_id)?;
    }
    tx.run("UPDATE erasure_plan SET applied_at = ?2 WHERE request_id = ?1", &vals![req.id, clock.timestamp()]?)?;
    let outcome = json!({"deleted": plan.deleted, "kept": plan.kept, "steps": plan.steps, "refused": refused});
    request::set_outcome(tx, req, &outcome)?;
    // The accountability report's counts of what erasures kept and why (Art. 5(2), 17(3)).
    crate::report::tally::add(tx, req, plan)?;
    request::answered(tx, clock, req, json!({"answered": "erasure"}))?;
    Ok(done)
}

/// The recipients of the categories the plan erases are to be told (Art. 19), `since` (the
/// reason it happens now, if any) before what to do; an unpaid claim the plan keeps is excepted.
pub(super) fn tell_recipients(
    tx: &dyn Db,
    clock: &Clock,
    register: &Register,
    (req, s): (&Request, &Subject),
    plan: &Plan,
    since: &str,
) -> anyhow::Result<()> {
    let erased = super::categories(register, plan);
    if erased.is_empty() {
        return Ok(());
    }
    let claim = plan.steps.iter().any(|st| st.rows > 0 && st.ground.as_deref() == Some(super::GROUND_CLAIM));
    let kept = super::kept_categories(register, plan, &erased);
    notify::record_by_received(tx, clock, register, req, s, &erased, |received| {
        if !received.iter().any(|c| erased.contains(c)) {
            return None;
        }
        let mut what = format!("Erasure (Art. 17): {since}erase the data of this person you received from us");
        if claim {
            what += ", except what an unpaid claim you collect for us needs; we keep that claim until it is settled (Art. 17(3)(e))";
        }
        // What the plan keeps, of what the recipient received: it is not told to destroy records
        // the law has both of us keep.
        for k in kept.iter().filter(|k| received.contains(&k.code)) {
            what += &format!(
                "; we keep their {} {}, under {}: keep what you hold of them for that only, and no longer",
                k.name,
                k.until.as_deref().map_or("as the law requires".to_owned(), |u| match u.starts_with("until") {
                    true => u.to_owned(),
                    false => format!("until {u}"),
                }),
                k.ground
            );
        }
        Some(what + ".")
    })?;
    Ok(())
}

/// The systems that keep copies get their tasks for what the plan deletes or detaches, while
/// the rows (and their keys) are there. Returns the number of tasks made.
pub(super) fn tasks(tx: &dyn Db, clock: &Clock, req: &Request, s: &Subject, plan: &Plan) -> anyhow::Result<usize> {
    if crate::tasks::Systems::load(tx)?.list.is_empty() {
        return Ok(0);
    }
    let changes = super::changes(tx, &*crate::store::personal::DataMap::load(tx)?, s, plan)?;
    crate::tasks::record(tx, clock, req, "erase", crate::tasks::Change::Erasure(s.person_id, &changes))
}

/// The rows go (in the caller's transaction, `erase_rows`: the suppression list first, the plan
/// applied, what it keeps off the list again), the audit entry `action` with the
/// steps, and the journal line for `--replay`, which (as the letters) goes out after the commit:
/// a kill before it writes nothing. Returns the rows deleted or detached.
pub(super) fn remove(
    tx: &dyn Db,
    clock: &Clock,
    keys: &Keys,
    (req, s): (&Request, &Subject),
    plan: &Plan,
    action: &str,
    lifted: Vec<String>,
) -> anyhow::Result<u64> {
    let requests = super::run::detached_requests(tx, s, plan)?;
    let (hashes, done) = super::erase_rows(tx, clock, keys, Some(&req.id), s, plan)?;
    let summary: Vec<_> = plan
        .steps
        .iter()
        .map(|st| json!({"table": st.table, "action": st.action, "rows": st.rows, "until": st.until}))
        .collect();
    let details = json!({"steps": summary, "requests": requests});
    audit::append(tx, clock, Some(&req.id), Some(&req.subject_pseudonym), action, details)?;
    let entry = JournalEntry { request: req.id.clone(), erased_at: clock.timestamp(), hashes, lifted };
    let line = serde_json::to_string(&entry)?;
    crate::queue::journal(tx, clock, &req.id, &line)?;
    Ok(done)
}
