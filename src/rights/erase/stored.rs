//! The plan stored with an erasure request (Art. 17), and the check that blocks a plan outright.
//! A plan is stored unapproved whenever it is made anew: an officer approves a plan as it was
//! shown, so a new plan waits for their word again. Each change shares a transaction with its
//! audit entry.

use crate::store::db::{Conn, Db};
use crate::vals;
use serde_json::json;

use super::Plan;
use crate::audit;
use crate::clock::Clock;
use crate::error::Error;
use crate::request::Request;
use crate::subject::Subject;

/// A stored plan that is not applied yet, with the officer's decisions on it.
pub struct Stored {
    pub plan: Plan,
    pub approved: bool,
    pub held: bool,
}

/// The stored, not yet applied plan of a request.
pub fn stored(conn: &dyn Db, request: &str) -> anyhow::Result<Option<Stored>> {
    let row: Option<(String, bool, bool)> = conn
        .first(
            "SELECT plan, approved_at IS NOT NULL, held_at IS NOT NULL FROM erasure_plan WHERE request_id = ?1 AND applied_at IS NULL",
            &vals![request]?,
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(row.and_then(|(t, approved, held)| {
        let mut plan: Plan = serde_json::from_str(&t).ok()?;
        // A plan an earlier version stored may word a ground as it did then: the same plan.
        for step in &mut plan.steps {
            if let Some(g) = step.ground.as_mut() {
                *g = super::current_ground(g).to_owned();
            }
        }
        Some(Stored { plan, approved, held })
    }))
}

/// Store a plan with the request, not approved: a plan runs from cron only after an officer
/// approved exactly this plan (`--approve`, or `--yes` / "yes" at the prompt).
pub fn store(conn: &dyn Conn, clock: &Clock, req: &Request, plan: &Plan) -> anyhow::Result<()> {
    let tx = conn.begin_own()?;
    store_in(&*tx, clock, req, plan)?;
    tx.commit()?;
    Ok(())
}

/// [`store`], in the caller's transaction.
fn store_in(tx: &dyn Db, clock: &Clock, req: &Request, plan: &Plan) -> anyhow::Result<()> {
    let now = clock.timestamp();
    tx.run(
        "INSERT INTO erasure_plan (request_id, plan, fingerprint, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (request_id) DO UPDATE SET plan = excluded.plan, fingerprint = excluded.fingerprint,
           created_at = excluded.created_at, reviewed_at = NULL, approved_at = NULL, approved_by = NULL",
        &vals![req.id, serde_json::to_string(plan)?, plan.fingerprint, now]?,
    )?;
    audit::append(
        tx,
        clock,
        Some(&req.id),
        Some(&req.subject_pseudonym),
        "erasure-planned",
        json!({"deleted": plan.deleted, "kept": plan.kept, "approved": false}),
    )?;
    Ok(())
}

/// A legal-claims restriction on all the person's data blocks the erasure (Art. 17(3)(e), 18(1)(c));
/// one on some categories does not: the plan keeps those and erases the rest.
pub fn refuse_legal_claims(conn: &dyn Db, s: &Subject) -> anyhow::Result<()> {
    let held: bool = conn.one(
        "SELECT EXISTS (SELECT 1 FROM restriction WHERE person_id = ?1 AND ground = 'legal-claims' AND lifted_at IS NULL AND category IS NULL)",
        &vals![s.person_id]?,
        |r| r.get(0))?;
    if held {
        return Err(Error::RequestState("all of the person's data is restricted for legal claims (Art. 18(1)(c), 17(3)(e)); lift that restriction before erasing".into()).into());
    }
    Ok(())
}

/// The plan as the data stand now, compared with the stored one.
pub struct Refreshed {
    pub plan: Plan,
    /// The request had a stored plan before.
    pub had_plan: bool,
    /// The plan differs from the stored one (or there was none): it was stored, not approved.
    pub changed: bool,
}

/// Make the plan anew (refused under a legal-claims restriction on all data) and store it when
/// it differs from the stored one.
pub fn refresh(conn: &dyn Conn, clock: &Clock, req: &Request, s: &Subject) -> anyhow::Result<Refreshed> {
    let tx = conn.begin_own()?;
    let refreshed = refresh_in(&*tx, clock, req, s)?;
    tx.commit()?;
    Ok(refreshed)
}

/// [`refresh`], in the caller's transaction.
pub(super) fn refresh_in(conn: &dyn Db, clock: &Clock, req: &Request, s: &Subject) -> anyhow::Result<Refreshed> {
    refresh_with(conn, clock, req, s, super::plan)
}

/// [`refresh_in`] for a plan applied in this transaction (`erase REQ --yes`): with no plan
/// stored before, nothing can differ between the plan made and the plan applied, so it is
/// fingerprinted by its steps and counts without reading the person's rows; a stored plan is
/// compared with a full one, as in [`refresh_in`].
pub(super) fn refresh_to_apply(conn: &dyn Db, clock: &Clock, req: &Request, s: &Subject) -> anyhow::Result<Refreshed> {
    if stored(conn, &req.id)?.is_some() {
        return refresh_in(conn, clock, req, s);
    }
    refresh_with(conn, clock, req, s, super::plan_applied_at_once)
}

fn refresh_with(
    conn: &dyn Db,
    clock: &Clock,
    req: &Request,
    s: &Subject,
    make: fn(&dyn Db, &Subject, &str) -> anyhow::Result<Plan>,
) -> anyhow::Result<Refreshed> {
    refuse_legal_claims(conn, s)?;
    let fresh = make(conn, s, &clock.timestamp())?;
    let before = stored(conn, &req.id)?;
    let changed = before.as_ref().is_none_or(|p| !super::same(&p.plan, &fresh));
    if changed {
        store_in(conn, clock, req, &fresh)?;
    }
    Ok(Refreshed { plan: fresh, had_plan: before.is_some(), changed })
}
