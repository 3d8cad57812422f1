//! `dsr erase`: open, plan, apply; `--due` for cron; `--replay` after a restore.

use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit;
use crate::cli::EraseArgs;
use crate::error::Error;
use crate::exit::Code;
use crate::keys::Keys;
use crate::notify;
use crate::output::table;
use crate::queue::OnSent;
use crate::register::Register;
use crate::request::{self, Kind, Request};
use crate::rights::erase::{self, Plan};
use crate::rights::object::suppress;
use crate::subject::Subject;

use super::access::{open, verified};
use super::{interactive, Ctx};

mod cron;
use cron::{due, replay};

pub fn erase(ctx: &mut Ctx, args: &EraseArgs) -> anyhow::Result<Code> {
    if args.due {
        return due(ctx);
    }
    if args.replay {
        return replay(ctx, args.journal.as_deref(), args.yes.yes);
    }
    let Some(id) = &args.request else {
        return open(ctx, Kind::Erase, &args.subject, &args.open, json!({}));
    };
    let (req, s) = verified(ctx, id, Kind::Erase)?;
    if req.carried_out() {
        return Err(Error::RequestState(format!("request {} is already carried out", req.id)).into());
    }
    if args.hold || args.release {
        let reason = args.reason.as_deref().unwrap_or_default().trim();
        if reason.is_empty() {
            return Err(Error::invalid("--reason", "say why the plan is put on or taken off hold").into());
        }
        return hold(ctx, &req, args.hold, reason);
    }
    refuse_legal_claims(ctx, &s)?;
    let fresh = erase::plan(&ctx.store.conn, &s, &ctx.clock.timestamp())?;
    let stored = stored_plan(ctx, &req.id)?;
    let changed = stored.as_ref().is_none_or(|p| !erase::same(&p.plan, &fresh));
    if changed {
        // A plan is approved as it was shown: a new one waits for the officer's word again.
        store_plan(ctx, &req, &fresh)?;
    }
    if args.dry_run {
        show(ctx, &req, &fresh, "Erasure plan (stored, not approved; nothing erased)")?;
        return Ok(Code::Ok);
    }
    if stored.is_some() && changed && !args.approve {
        show(ctx, &req, &fresh, "The data changed since the plan was made; the new plan")?;
        return Err(Error::StalePlan(req.id).into());
    }
    if args.approve {
        approve(ctx, &req)?;
        show(ctx, &req, &fresh, "Erasure plan approved; `dsr erase --due` carries it out")?;
        return Ok(Code::Ok);
    }
    if !ctx.out.json {
        ctx.out.status(&render(ctx, &fresh))?;
    }
    if !args.yes.yes {
        if !interactive(&ctx.out) {
            return Err(Error::invalid(
                "--yes",
                "erasure cannot be undone; confirm with --yes, or approve the plan for cron with --approve (the plan is stored, not approved)",
            )
            .into());
        }
        if !dialoguer::Confirm::new().with_prompt("Erase as planned?").default(false).interact()? {
            return Err(Error::RequestState(
                "not erased: the officer declined; the plan is stored but not approved, so no cron run carries it out"
                    .into(),
            )
            .into());
        }
    }
    approve(ctx, &req)?;
    let done = apply(ctx, &req, &s, &fresh)?;
    ctx.flush()?;
    report(ctx, &req, &fresh, done)?;
    // No byte of an erased value may remain in the WAL: fold it into the file and truncate it.
    crate::store::truncate_wal(&ctx.store.conn, &ctx.store.path)?;
    Ok(Code::Ok)
}

/// Record the officer's approval of the stored plan (the actor is in the audit entry).
fn approve(ctx: &mut Ctx, req: &Request) -> anyhow::Result<()> {
    let tx = ctx.store.conn.transaction()?;
    let actor = audit::actor();
    tx.execute(
        "UPDATE erasure_plan SET approved_at = ?2, approved_by = ?3, reviewed_at = coalesce(reviewed_at, ?2)
         WHERE request_id = ?1 AND applied_at IS NULL",
        params![req.id, ctx.clock.timestamp(), actor],
    )?;
    audit::append(
        &tx,
        &ctx.clock,
        Some(&req.id),
        Some(&req.subject_pseudonym),
        "erasure-approved",
        json!({"by": actor}),
    )?;
    tx.commit()?;
    Ok(())
}

/// Put a plan on hold (`on`) or take it off hold, with the officer's reason. The person gets no
/// letter: a hold is the officer's pause, not a refusal.
fn hold(ctx: &mut Ctx, req: &Request, on: bool, reason: &str) -> anyhow::Result<Code> {
    let plan = stored_plan(ctx, &req.id)?.ok_or_else(|| {
        Error::RequestState(format!(
            "request {} has no stored plan; make one with `dsr erase {} --dry-run`",
            req.id, req.id
        ))
    })?;
    let tx = ctx.store.conn.transaction()?;
    if on == plan.held {
        let now = if on { "already on hold" } else { "not on hold" };
        return Err(Error::RequestState(format!("the erasure plan of {} is {now}", req.id)).into());
    }
    tx.execute(
        "UPDATE erasure_plan SET held_at = ?2 WHERE request_id = ?1",
        params![req.id, on.then(|| ctx.clock.timestamp())],
    )?;
    let action = if on { "erasure-held" } else { "erasure-released" };
    // The reason may name the person: kept out of the audit chain, erased with them.
    let reason = crate::free_text::record(&tx, &ctx.clock, Some(&req.id), "--reason", reason)?;
    audit::append(&tx, &ctx.clock, Some(&req.id), Some(&req.subject_pseudonym), action, json!({"reason": reason}))?;
    tx.commit()?;
    let state = if on {
        "on hold"
    } else if plan.approved {
        "approved"
    } else {
        "waiting for approval"
    };
    if ctx.out.json {
        ctx.out.json(&json!({"format_version": 1, "request": req.id, "plan": state}))?;
    } else {
        ctx.out.data(&format!("The erasure plan of {} is now {state}.", req.id))?;
    }
    Ok(Code::Ok)
}

/// A legal-claims restriction on all the person's data blocks the erasure (Art. 17(3)(e), 18(1)(c));
/// one on some categories does not: the plan keeps those and erases the rest.
fn refuse_legal_claims(ctx: &Ctx, s: &Subject) -> anyhow::Result<()> {
    let held: bool = ctx.store.conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM restriction WHERE person_id = ?1 AND ground = 'legal-claims' AND lifted_at IS NULL AND category IS NULL)",
        [s.person_id],
        |r| r.get(0),
    )?;
    if held {
        return Err(Error::RequestState("all of the person's data is restricted for legal claims (Art. 18(1)(c), 17(3)(e)); lift that restriction before erasing".into()).into());
    }
    Ok(())
}

/// A stored plan that is not applied yet, with the officer's decisions on it.
struct Stored {
    plan: Plan,
    approved: bool,
    held: bool,
}

/// The stored, not yet applied plan of a request.
fn stored_plan(ctx: &Ctx, request: &str) -> anyhow::Result<Option<Stored>> {
    let row: Option<(String, bool, bool)> = ctx
        .store
        .conn
        .query_row(
            "SELECT plan, approved_at IS NOT NULL, held_at IS NOT NULL FROM erasure_plan WHERE request_id = ?1 AND applied_at IS NULL",
            [request],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    Ok(row.and_then(|(t, approved, held)| Some(Stored { plan: serde_json::from_str(&t).ok()?, approved, held })))
}

/// Store a plan with the request, not approved: a plan runs from cron only after an officer
/// approved exactly this plan (`--approve`, or `--yes` / "yes" at the prompt).
fn store_plan(ctx: &mut Ctx, req: &Request, plan: &Plan) -> anyhow::Result<()> {
    let tx = ctx.store.conn.transaction()?;
    let now = ctx.clock.timestamp();
    tx.execute(
        "INSERT INTO erasure_plan (request_id, plan, fingerprint, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (request_id) DO UPDATE SET plan = excluded.plan, fingerprint = excluded.fingerprint,
           created_at = excluded.created_at, reviewed_at = NULL, approved_at = NULL, approved_by = NULL",
        params![req.id, serde_json::to_string(plan)?, plan.fingerprint, now],
    )?;
    audit::append(
        &tx,
        &ctx.clock,
        Some(&req.id),
        Some(&req.subject_pseudonym),
        "erasure-planned",
        json!({"deleted": plan.deleted, "kept": plan.kept, "approved": false}),
    )?;
    tx.commit()?;
    Ok(())
}

fn render(ctx: &Ctx, plan: &Plan) -> String {
    let mut t = table::new(&ctx.out, &["Table", "Action", "Rows", "Ground", "Kept until", "Why"]);
    for s in &plan.steps {
        let action = if s.fields.is_empty() {
            s.action.clone()
        } else {
            format!("{} ({} -> NULL)", s.action, s.fields.join(", "))
        };
        t.add_row(vec![
            table::cell(&s.table),
            table::cell(&action),
            table::cell(&s.rows.to_string()),
            table::cell(s.ground.as_deref().unwrap_or("")),
            table::cell(s.until.as_deref().unwrap_or("")),
            table::cell(&s.why),
        ]);
    }
    format!("Erasure plan: delete {} rows, keep {} rows detached from the profile.\n{t}", plan.deleted, plan.kept)
}

fn show(ctx: &Ctx, req: &Request, plan: &Plan, title: &str) -> anyhow::Result<()> {
    if ctx.out.json {
        ctx.out.json(&json!({"format_version": 1, "request": req.id, "state": req.state, "plan": plan}))?;
    } else {
        ctx.out.data(&format!("{title} for request {}:\n{}", req.id, render(ctx, plan)))?;
    }
    Ok(())
}

/// One line of the erasure journal beside the store: keyed hashes only, for `--replay`.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct JournalEntry {
    request: String,
    erased_at: String,
    hashes: Vec<(String, String)>,
}

pub use crate::queue::journal_path;

/// Apply a plan in one transaction, after checking inside it that the plan is still current.
/// Returns the number of rows deleted or detached.
pub fn apply(ctx: &mut Ctx, req: &Request, s: &Subject, plan: &Plan) -> anyhow::Result<u64> {
    let keys = Keys::load(&ctx.store.conn)?;
    let register = Register::load(&ctx.store.conn)?;
    let tx = ctx.store.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = erase::plan(&tx, s, &plan.created_at)?;
    if !erase::same(&now, plan) {
        drop(tx);
        store_plan(ctx, req, &now)?;
        return Err(Error::StalePlan(req.id.clone()).into());
    }
    // Before anything is deleted: the recipients to tell, the answer to the person, the hashes.
    let erased = erase::categories(&register, plan);
    if !erased.is_empty() {
        let claim = plan.steps.iter().any(|st| st.rows > 0 && st.ground.as_deref() == Some(erase::GROUND_CLAIM));
        let what = if claim {
            "Erasure (Art. 17): erase the data of this person you received from us, except what an unpaid claim you collect for us needs; we keep that claim until it is settled (Art. 17(3)(e))."
        } else {
            "Erasure (Art. 17): erase the data of this person you received from us."
        };
        notify::record_for_categories(&tx, &ctx.clock, &register, req, s, &erased, what)?;
    }
    let answer = crate::answers::erased(&register, req, plan);
    crate::answers::send(&tx, &ctx.clock, &ctx.store.path, &register, req, &answer, OnSent::DeliversAnswer)?;
    let hashes = suppress(&tx, &ctx.clock, &keys, Some(&req.id), s, "erased")?;
    let done = erase::apply(&tx, s, plan)?;
    let summary: Vec<_> = plan
        .steps
        .iter()
        .map(|st| json!({"table": st.table, "action": st.action, "rows": st.rows, "until": st.until}))
        .collect();
    audit::append(&tx, &ctx.clock, Some(&req.id), Some(&req.subject_pseudonym), "erased", json!({"steps": summary}))?;
    tx.execute(
        "UPDATE erasure_plan SET applied_at = ?2 WHERE request_id = ?1",
        params![req.id, ctx.clock.timestamp()],
    )?;
    let outcome = json!({"deleted": plan.deleted, "kept": plan.kept, "steps": plan.steps});
    request::set_outcome(&tx, req, &outcome)?;
    request::answered(&tx, &ctx.clock, req, json!({"answered": "erasure"}))?;
    // The letter and the journal line go out after the commit (a kill before it sends nothing).
    let line =
        serde_json::to_string(&JournalEntry { request: req.id.clone(), erased_at: ctx.clock.timestamp(), hashes })?;
    crate::queue::journal(&tx, &ctx.clock, &req.id, &line)?;
    tx.commit()?;
    Ok(done)
}

fn report(ctx: &Ctx, req: &Request, plan: &Plan, done: u64) -> anyhow::Result<Code> {
    let recipients = notify::list(&ctx.store.conn, &req.id)?;
    if ctx.out.json {
        ctx.out.json(&json!({"format_version": 1, "request": req.id, "state": "completed", "rows_changed": done, "plan": plan, "recipients": recipients}))?;
    } else {
        let mut t = table::new(&ctx.out, &["Recipient", "Code", "State"]);
        for n in &recipients {
            t.add_row(vec![table::cell(&n.name), table::cell(&n.recipient), table::cell(&n.state)]);
        }
        ctx.out.data(&format!(
            "Request {} carried out: {} rows deleted, {} kept detached from the profile. Recipients to tell (Art. 19; `dsr request notified {} --recipient CODE --ref TEXT`):\n{t}",
            req.id, plan.deleted, plan.kept, req.id
        ))?;
    }
    Ok(Code::Ok)
}
