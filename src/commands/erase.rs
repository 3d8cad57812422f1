//! `dsr erase`: open, plan, apply; `--due` for cron; `--replay` after a restore. Parses, prompts
//! and renders; the procedures and their transactions are in [`crate::rights::erase`].

use serde_json::json;

use crate::cli::EraseArgs;
use crate::error::Error;
use crate::exit::Code;
use crate::notify;
use crate::output::table;
use crate::request::{Kind, Request};
use crate::rights::erase::{self, Plan};

use super::access::open;
use super::{interactive, Ctx, Session};

mod cron;
pub use cron::{due, replay};

pub fn erase(ctx: &mut Ctx, args: &EraseArgs) -> anyhow::Result<Code> {
    if args.due {
        let lock = super::run_lock(ctx)?;
        return due(&mut ctx.session(), &lock);
    }
    if args.replay {
        let path = ctx.store.path.clone();
        return replay(&mut ctx.session(), || crate::cron::lock(&path), args.journal.as_deref(), args.yes.yes);
    }
    erase_on(&mut ctx.session(), args)
}

/// Open, plan, approve, hold or carry out one request's erasure, on either backend.
pub fn erase_on(ctx: &mut Session, args: &EraseArgs) -> anyhow::Result<Code> {
    let Some(id) = &args.request else {
        return open(ctx, Kind::Erase, &args.subject, &args.open, json!({}));
    };
    let (req, s) = crate::rights::verified(ctx.conn, id, Kind::Erase)?;
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
    if args.yes.yes && !args.dry_run && !args.approve {
        return confirmed(ctx, &req, &s);
    }
    // A plan is approved as it was shown: a new one is stored and waits for the officer's word again.
    let erase::stored::Refreshed { plan: fresh, had_plan, changed } =
        erase::stored::refresh(ctx.conn, ctx.clock, &req, &s)?;
    let unanswered = erase::others::unanswered(ctx.conn, &req, s.person_id)?;
    if let Some(u) = &unanswered {
        ctx.out.status(&format!(
            "Note: the same person's {} request {} is not answered yet; the erasure waits until it is ({}).",
            u.right,
            u.id,
            u.command()
        ))?;
    }
    if args.dry_run {
        show(ctx, &req, &fresh, "Erasure plan (stored, not approved; nothing erased)")?;
        return Ok(Code::Ok);
    }
    if had_plan && changed && !args.approve {
        show(ctx, &req, &fresh, "The data changed since the plan was made; the new plan")?;
        return Err(Error::StalePlan(req.id).into());
    }
    if args.approve {
        erase::decide::approve(ctx.conn, ctx.clock, &req)?;
        show(ctx, &req, &fresh, "Erasure plan approved; `dsr erase --due` carries it out")?;
        return Ok(Code::Ok);
    }
    if let Some(u) = unanswered {
        return Err(u.refusal().into());
    }
    if !ctx.out.json {
        ctx.out.status(&render(ctx.out, &fresh))?;
    }
    if !args.yes.yes {
        if !interactive(ctx.out) {
            return Err(Error::Usage(
                "not confirmed: erasure cannot be undone; add --yes, or approve the plan for cron with --approve (the plan is stored, not approved)".into(),
            )
            .into());
        }
        if !crate::output::prompt::guarded(|| {
            dialoguer::Confirm::new().with_prompt("Erase as planned?").default(false).interact()
        })? {
            return Err(Error::RequestState(
                "not erased: the officer declined; the plan is stored but not approved, so no cron run carries it out"
                    .into(),
            )
            .into());
        }
    }
    erase::decide::approve(ctx.conn, ctx.clock, &req)?;
    let erased = erase::values_to_look_for(ctx.conn, s.person_id)?;
    note_erasing(ctx)?;
    let done = erase::carry_out::apply(ctx.conn, ctx.clock, &req, &s, &fresh).inspect_err(|_| not_erased(ctx))?;
    finish(ctx, &req, &fresh, done, &erased)
}

/// `erase REQ --yes`: the plan made, shown and applied in one transaction (see
/// [`erase::carry_out::confirmed`]); a stored plan the data no longer match is refused as above.
fn confirmed(ctx: &mut Session, req: &Request, s: &crate::subject::Subject) -> anyhow::Result<Code> {
    let erased = erase::values_to_look_for(ctx.conn, s.person_id)?;
    let out = ctx.out;
    let shown = |plan: &Plan| -> anyhow::Result<()> {
        if !out.json {
            out.status(&render(out, plan))?;
        }
        Ok(())
    };
    note_erasing(ctx)?;
    match erase::carry_out::confirmed(ctx.conn, ctx.clock, req, s, shown).inspect_err(|_| not_erased(ctx))? {
        erase::carry_out::Confirmed::Applied(plan, done) => finish(ctx, req, &plan, done, &erased),
        erase::carry_out::Confirmed::Stale(plan) => {
            not_erased(ctx);
            show(ctx, req, &plan, "The data changed since the plan was made; the new plan")?;
            Err(Error::StalePlan(req.id.clone()).into())
        }
    }
}

/// Before an erasure's transaction: the tables it may change noted where the backend needs it
/// ([`crate::store::db::Conn::erasing`]), so that a kill after its commit still ends in their
/// vacuum.
pub(crate) fn note_erasing(ctx: &Session) -> anyhow::Result<()> {
    ctx.conn.erasing(&erase::touched_by_any(&*crate::store::personal::DataMap::load(ctx.conn)?))
}

/// An erasure that changed nothing: its note taken back (on a failure of its own, the erasure's
/// error is what is told; a note left only costs the next command a vacuum).
fn not_erased(ctx: &Session) {
    let _ = ctx.conn.not_erased();
}

/// After the erasure's commit: the letter and journal line out, the report, and no byte of an
/// erased value left in the WAL (folded into the file and truncated).
fn finish(ctx: &mut Session, req: &Request, plan: &Plan, done: u64, erased: &[String]) -> anyhow::Result<Code> {
    super::flush_committed(ctx.conn, ctx.clock, ctx.opened)?;
    report(ctx, req, plan, done)?;
    let touched = erase::touched(&*crate::store::personal::DataMap::load(ctx.conn)?, plan);
    ctx.conn.after_erasure(&touched)?;
    no_value_left(ctx, "dsr erase", &touched, erased)?;
    Ok(Code::Ok)
}

/// Where the backend can read its pages (PostgreSQL with pageinspect): no erased value left in
/// `touched` after [`crate::store::db::Conn::after_erasure`]. Each table that was not read or
/// still holds one is told on stderr; one that holds one is exit 23.
pub(crate) fn no_value_left(ctx: &Session, command: &str, touched: &[String], erased: &[String]) -> anyhow::Result<()> {
    let left = ctx.conn.residue(touched, erased)?;
    for (table, why) in &left {
        ctx.out.status(&format!("{command}: {table}: {why}"))?;
    }
    let kept: Vec<&str> =
        left.iter().filter(|(_, why)| !why.starts_with("not read")).map(|(t, _)| t.as_str()).collect();
    if !kept.is_empty() {
        return Err(Error::BytesRemain(kept.join(", ")).into());
    }
    Ok(())
}

/// Put the plan on or off hold and say what state it is in now.
fn hold(ctx: &mut Session, req: &Request, on: bool, reason: &str) -> anyhow::Result<Code> {
    let state = erase::decide::hold(ctx.conn, ctx.clock, req, on, reason)?;
    if ctx.out.json {
        ctx.out.json(&json!({"format_version": 1, "request": req.id, "plan": state}))?;
    } else {
        ctx.out.outcome(&format!("The erasure plan of {} is now {state}.", req.id))?;
    }
    Ok(Code::Ok)
}

fn render(out: &crate::output::Output, plan: &Plan) -> String {
    let mut t = table::new(out, &["Table", "Action", "Rows", "Ground", "Kept until", "Why"]);
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
    // dsr's own records of the person's requests are detached too, counted apart from their data.
    let own: u64 = plan.steps.iter().filter(|s| s.action != "delete" && s.table == "request").map(|s| s.rows).sum();
    let own = match own {
        0 => String::new(),
        1 => "; dsr's record of the person's 1 request is detached too".to_owned(),
        n => format!("; dsr's records of the person's {n} requests are detached too"),
    };
    format!("Erasure plan: delete {} rows, keep {} rows {}{own}.\n{t}", plan.deleted, plan.kept, plan.kept_how())
}

fn show(ctx: &Session, req: &Request, plan: &Plan, title: &str) -> anyhow::Result<()> {
    if ctx.out.json {
        ctx.out.json(&json!({"format_version": 1, "request": req.id, "state": req.state, "plan": plan}))?;
    } else {
        ctx.out.data(&format!("{title} for request {}:\n{}", req.id, render(ctx.out, plan)))?;
    }
    Ok(())
}

fn report(ctx: &Session, req: &Request, plan: &Plan, done: u64) -> anyhow::Result<Code> {
    let recipients = notify::list(ctx.conn, &req.id)?;
    let refused = erase::others::refused(ctx.conn, &req.id)?;
    if ctx.out.json {
        // The request's state now, after the letter's delivery: completed, or still `verified`
        // while a letter waits or systems that keep copies have tasks open.
        let state = crate::request::load(ctx.conn, &req.id)?.state;
        ctx.out.json(&json!({"format_version": 1, "request": req.id, "state": state, "rows_changed": done, "plan": plan, "recipients": recipients, "refused": refused}))?;
    } else {
        let mut t = table::new(ctx.out, &["Recipient", "Code", "State"]);
        for n in &recipients {
            t.add_row(vec![table::cell(&n.name), table::cell(&n.recipient), table::cell(&n.state)]);
        }
        let told = match recipients.is_empty() {
            true => "No recipient to tell (Art. 19).".to_owned(),
            false => format!(
                "Recipients to tell (Art. 19; `dsr request notified {} --recipient CODE --ref TEXT`):\n{t}",
                req.id
            ),
        };
        ctx.out.outcome(&format!(
            "Request {} carried out: {} rows deleted, {} kept {}. {told}",
            req.id,
            plan.deleted,
            plan.kept,
            plan.kept_how()
        ))?;
        if !refused.is_empty() {
            ctx.out.outcome(&format!(
                "The person's requests still waiting for their code can no longer be verified and are refused (the person is told by mail): {}",
                refused.join(", ")
            ))?;
        }
    }
    Ok(Code::Ok)
}
