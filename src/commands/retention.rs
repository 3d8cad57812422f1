//! `dsr retention run`: for cron. No prompts, a run lock, a one-line summary on stderr and
//! `--json` on stdout, non-zero exit on any failure.

use crate::cli::RetentionCommand;
use crate::exit::Code;
use crate::register::Register;
use crate::retention;

use super::Ctx;

pub fn retention(ctx: &mut Ctx, cmd: RetentionCommand) -> anyhow::Result<Code> {
    let RetentionCommand::Run { dry_run, batch, yes } = cmd;
    if !dry_run && !yes && super::interactive(&ctx.out) {
        // Cron runs it without a terminal; an officer at one confirms what cannot be undone.
        return Err(crate::error::Error::invalid(
            "--yes",
            "retention run removes data for good; see what it would remove with --dry-run, then confirm with --yes",
        )
        .into());
    }
    let _lock = super::run_lock(ctx)?;
    let register = Register::load(&ctx.store.conn)?;
    // Restrictions whose Art. 18(3) notice period has passed end first: their data then follow the rules.
    let lifted = if dry_run { Vec::new() } else { lift_due(ctx, &register)? };
    let summary = retention::run(&mut ctx.store.conn, ctx.clock, &register, dry_run, batch)?;
    // No byte of removed rows may stay in the WAL; a long reader can stop that (exit 23, after the summary).
    let wal = if dry_run { Ok(()) } else { crate::store::truncate_wal(&ctx.store.conn, &ctx.store.path) };
    let per_rule: Vec<String> =
        summary.rules.iter().filter(|r| r.removed > 0).map(|r| format!("{} {}", r.rule, r.removed)).collect();
    // An open access, export or rectification request freezes its person's rows: say how many.
    let held = match summary.held_persons {
        0 => String::new(),
        1 => format!("; {} rows of 1 person held back for open requests", summary.held_rows),
        n => format!("; {} rows of {n} people held back for open requests", summary.held_rows),
    };
    ctx.out.status(&format!(
        "dsr retention{}: {} rows {} by {} rules in {:.1} s{}{held}{}",
        if dry_run { " (dry run)" } else { "" },
        summary.removed,
        if dry_run { "would be removed" } else { "removed" },
        summary.rules.len(),
        summary.seconds,
        if per_rule.is_empty() { String::new() } else { format!(" ({})", per_rule.join(", ")) },
        if summary.failed > 0 { format!("; {} rule(s) FAILED", summary.failed) } else { String::new() }
    ))?;
    if !lifted.is_empty() {
        ctx.out.status(&format!(
            "dsr retention: restriction(s) lifted after their Art. 18(3) notice: {}",
            lifted.join(", ")
        ))?;
    }
    if ctx.out.json {
        let mut doc = serde_json::to_value(&summary)?;
        doc["restrictions_lifted"] = serde_json::json!(lifted);
        ctx.out.json(&doc)?;
    }
    for r in summary.rules.iter().filter(|r| r.error.is_some()) {
        let after = match r.removed {
            0 => String::new(),
            n => format!(" after removing {n} rows (audited)"),
        };
        crate::output::stderr_line(&format!(
            "dsr retention: rule {} failed{after}: {}",
            r.rule,
            crate::output::sanitize::line(r.error.as_deref().unwrap_or(""))
        ))?;
    }
    if summary.failed > 0 {
        return Ok(Code::Failure);
    }
    wal.map(|()| Code::Ok)
}

fn lift_due(ctx: &mut Ctx, register: &Register) -> anyhow::Result<Vec<String>> {
    let tx = ctx.store.conn.transaction()?;
    let lifted = crate::rights::restrict::lift_due(&tx, &ctx.clock, register)?;
    tx.commit()?;
    Ok(lifted)
}
