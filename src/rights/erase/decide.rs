//! The officer's decisions on a stored erasure plan: approve it (then `dsr erase --due` or the
//! confirmed command carries it out), put it on hold or take it off hold with a reason. The
//! decision and its audit entry share one transaction.

use crate::store::db::{Conn, Db};
use crate::vals;
use serde_json::json;

use super::stored::stored;
use crate::audit;
use crate::clock::Clock;
use crate::error::Error;
use crate::request::Request;

/// Record the officer's approval of the stored plan (the actor is in the audit entry).
pub fn approve(conn: &dyn Conn, clock: &Clock, req: &Request) -> anyhow::Result<()> {
    let tx = conn.begin_own()?;
    approve_in(&*tx, clock, req)?;
    tx.commit()?;
    Ok(())
}

/// [`approve`], in the caller's transaction.
pub(super) fn approve_in(tx: &dyn Db, clock: &Clock, req: &Request) -> anyhow::Result<()> {
    let actor = audit::actor();
    tx.run(
        "UPDATE erasure_plan SET approved_at = ?2, approved_by = ?3, reviewed_at = coalesce(reviewed_at, ?2)
         WHERE request_id = ?1 AND applied_at IS NULL",
        &vals![req.id, clock.timestamp(), actor]?,
    )?;
    audit::append(tx, clock, Some(&req.id), Some(&req.subject_pseudonym), "erasure-approved", json!({"by": actor}))?;
    Ok(())
}

/// Put a plan on hold (`on`) or take it off hold, with the officer's reason. The person gets no
/// letter: a hold is the officer's pause, not a refusal. Returns the plan's state afterwards:
/// "on hold", "approved" or "waiting for approval".
pub fn hold(conn: &dyn Conn, clock: &Clock, req: &Request, on: bool, reason: &str) -> anyhow::Result<&'static str> {
    let plan = stored(conn, &req.id)?.ok_or_else(|| {
        Error::RequestState(format!(
            "request {} has no stored plan; make one with `dsr erase {} --dry-run`",
            req.id, req.id
        ))
    })?;
    let tx = conn.begin_own()?;
    if on == plan.held {
        let now = if on { "already on hold" } else { "not on hold" };
        return Err(Error::RequestState(format!("the erasure plan of {} is {now}", req.id)).into());
    }
    tx.run(
        "UPDATE erasure_plan SET held_at = ?2 WHERE request_id = ?1",
        &vals![req.id, on.then(|| clock.timestamp())]?,
    )?;
    let action = if on { "erasure-held" } else { "erasure-released" };
    // The reason may name the person: kept out of the audit chain, erased with them.
    let reason = crate::free_text::record(&*tx, clock, Some(&req.id), "--reason", reason)?;
    audit::append(&*tx, clock, Some(&req.id), Some(&req.subject_pseudonym), action, json!({"reason": reason}))?;
    tx.commit()?;
    Ok(if on {
        "on hold"
    } else if plan.approved {
        "approved"
    } else {
        "waiting for approval"
    })
}
