//! `dsr retention run`: for cron. No prompts, a run lock, a one-line summary on stderr and
//! `--json` on stdout, non-zero exit on any failure. On a terminal, a progress bar on stderr and
//! a question before anything is removed (`--yes` skips it).

use crate::cli::RetentionCommand;
use crate::exit::Code;
use crate::register::Register;
use crate::retention;

use super::{Ctx, Session};

pub fn retention(ctx: &mut Ctx, cmd: &RetentionCommand) -> anyhow::Result<Code> {
    let lock = super::run_lock(ctx)?;
    retention_on(&mut ctx.session(), cmd, &lock)
}

/// `retention run` on either backend, under the store's run lock. How a run that was not a dry
/// run ended is recorded for `dsr status`.
pub fn retention_on(ctx: &mut Session, cmd: &RetentionCommand, lock: &crate::cron::RunLock) -> anyhow::Result<Code> {
    let RetentionCommand::Run { dry_run, .. } = *cmd;
    let mut summary = String::new();
    let result = match dry_run {
        true => retention_run(ctx, cmd, lock, &mut summary),
        false => crate::audit::clock_not_behind(ctx.conn, ctx.clock)
            .and_then(|()| retention_run(ctx, cmd, lock, &mut summary)),
    };
    match dry_run {
        true => result,
        false => crate::cron::record_result(ctx.conn, ctx.clock, "retention run", result, &summary),
    }
}

fn retention_run(
    ctx: &mut Session,
    cmd: &RetentionCommand,
    _lock: &crate::cron::RunLock,
    recorded: &mut String,
) -> anyhow::Result<Code> {
    let RetentionCommand::Run { dry_run, batch, yes } = *cmd;
    let register = Register::load(ctx.conn)?;
    if !dry_run && !yes && super::interactive(ctx.out) {
        // Cron runs it without a terminal; an officer at one sees what would go and confirms.
        confirm(ctx, &register, batch)?;
    }
    // Restrictions whose Art. 18(3) notice period has passed end first: their data then follow the rules.
    let lifts = match dry_run {
        true => Default::default(),
        false => crate::rights::restrict::carry_out::lift_due(ctx.conn, ctx.clock)?,
    };
    if !dry_run {
        ctx.conn.erasing(&crate::rights::erase::touched_by_any(&register.map))?;
    }
    let mut summary = run(ctx, &register, dry_run, batch)?;
    // No byte of removed rows may stay in the WAL; a long reader can stop that (exit 23, after the summary).
    // A run the store stopped leaves the log to the next run (it would wait on the same lock).
    // (An erasure the lifts let finish removed rows too.)
    let removed = summary.removed + lifts.erasures.finished.iter().map(|f| f.rows).sum::<u64>();
    let wal = match (dry_run || summary.stopped.is_some(), removed) {
        (true, _) => Ok(()),
        (false, 0) => ctx.conn.after_erasure(&[]),
        (false, _) => ctx.conn.after_erasure(&crate::rights::erase::touched_by_any(&register.map)),
    };
    let per_rule: Vec<String> = summary
        .rules
        .iter()
        .filter(|r| r.removed + r.removed_with > 0)
        .map(|r| match r.removed_with {
            0 => format!("{} {}", r.rule, r.removed),
            with => format!("{} {} and {with} with them", r.rule, r.removed),
        })
        .collect();
    // An open access, export or rectification request freezes its person's rows: say how many.
    let held = match summary.held_persons {
        0 => String::new(),
        people => {
            let rows = match summary.held_rows {
                1 => "1 row".to_owned(),
                n => format!("{n} rows"),
            };
            let of = if people == 1 { "1 person".to_owned() } else { format!("{people} people") };
            format!("; {rows} of {of} held back for open requests")
        }
    };
    // Without the seconds: the record says what the run did, the same on either backend.
    *recorded = format!(
        "{} rows removed by {} rules{}{held}{}",
        summary.removed,
        summary.rules.len(),
        if per_rule.is_empty() { String::new() } else { format!(" ({})", per_rule.join(", ")) },
        if summary.failed > 0 { format!("; {} rule(s) FAILED", summary.failed) } else { String::new() }
    );
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
    super::change::tell_lifts(ctx.out, "dsr retention: ", &lifts)?;
    if ctx.out.json {
        let mut doc = serde_json::to_value(&summary)?;
        doc["restrictions_lifted"] = serde_json::json!(lifts.lifted);
        doc["erasures_finished"] = serde_json::to_value(&lifts.erasures)?;
        ctx.out.json(&doc)?;
    }
    for r in summary.rules.iter().filter(|r| r.error.is_some()) {
        let after = match (r.removed, r.unaudited) {
            (0, _) => String::new(),
            (n, false) => format!(" after removing {n} rows (audited)"),
            (n, true) => format!(" after removing {n} rows"),
        };
        crate::output::stderr_line(&format!(
            "dsr retention: rule {} failed{after}: {}",
            r.rule,
            crate::output::sanitize::line(r.error.as_deref().unwrap_or(""))
        ))?;
    }
    // The store stopped the run (its exit code, 13 or 15), after the counts of what it removed.
    if let Some(stopped) = summary.stopped.take() {
        return Err(stopped);
    }
    if summary.failed > 0 || !lifts.erasures.failed.is_empty() {
        return Ok(Code::Failure);
    }
    wal.map(|()| Code::Ok)
}

/// The sweep, with a progress bar on stderr when it is a terminal (one step per rule).
fn run(ctx: &mut Session, register: &Register, dry_run: bool, batch: u64) -> anyhow::Result<retention::Summary> {
    let template = if dry_run {
        "dsr retention (dry run) [{bar:30}] {pos}/{len} {msg}"
    } else {
        "dsr retention [{bar:30}] {pos}/{len} {msg}"
    };
    let bar = ctx.out.progress(template, None);
    let mut step = |code: &str, total: usize| {
        if let Some(bar) = &bar {
            bar.set_length(total as u64);
            bar.set_message(code.to_owned());
            bar.inc(1);
        }
    };
    let summary = retention::run_with_progress(ctx.conn, *ctx.clock, register, dry_run, batch, &mut step);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    summary
}

/// On a terminal: count what would be removed, show it, and ask. "No" removes nothing (exit 9).
fn confirm(ctx: &mut Session, register: &Register, batch: u64) -> anyhow::Result<()> {
    let preview = run(ctx, register, true, batch)?;
    let per_rule: Vec<String> =
        preview.rules.iter().filter(|r| r.removed > 0).map(|r| format!("{} {}", r.rule, r.removed)).collect();
    crate::output::stderr_line(&format!(
        "dsr retention: {} rows are past their retention period{}.",
        preview.removed,
        if per_rule.is_empty() { String::new() } else { format!(" ({})", per_rule.join(", ")) }
    ))?;
    let question = "Remove them for good (restrictions past their notice are lifted too)?";
    if crate::output::prompt::guarded(|| dialoguer::Confirm::new().with_prompt(question).default(false).interact())? {
        return Ok(());
    }
    Err(crate::error::Error::RequestState("nothing removed: the officer declined".into()).into())
}
