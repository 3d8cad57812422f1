//! The erasure's unattended paths: `dsr erase --due` (cron) carries out approved plans, and
//! `dsr erase --replay` erases again, after a restore, everyone an earlier erasure removed. The
//! work is in [`crate::rights::erase::due`] and [`crate::rights::erase::replay`]; here the run
//! lock is taken, the queue delivered, the WAL truncated and the outcome told.

use std::path::Path;

use serde_json::json;

use crate::commands::{interactive, Session};
use crate::error::Error;
use crate::exit::Code;
use crate::rights::erase;

/// `dsr erase --due`: carry out the approved plans of verified erasure requests. No prompts.
/// How the run ended is recorded for `dsr status`.
pub fn due(ctx: &mut Session, lock: &crate::cron::RunLock) -> anyhow::Result<Code> {
    let mut summary = String::new();
    let result = crate::audit::clock_not_behind(ctx.conn, ctx.clock).and_then(|()| due_run(ctx, lock, &mut summary));
    crate::cron::record_result(ctx.conn, ctx.clock, "erase --due", result, &summary)
}

fn due_run(ctx: &mut Session, lock: &crate::cron::RunLock, summary: &mut String) -> anyhow::Result<Code> {
    // A mail setup that cannot send (DSR_MAIL, DSR_SMTP_URL, the sender) stops the run before
    // any erasure (exit 2), as it does `dsr erase R --yes`, instead of failing each erasure.
    if let Some(controller) = crate::register::Register::load(ctx.conn)?.controller {
        crate::mail::check_setup(&ctx.conn.place(), &controller)?;
    }
    super::note_erasing(ctx)?;
    let mut sum = erase::due::run(lock, ctx.conn, ctx.clock)?;
    // The letters and journal lines of the erasures done: a store failing under their delivery
    // (locked, full) stops the run like one failing under an erasure, after the summary; the
    // letters wait in the queue for the next command.
    if let Err(e) = crate::commands::flush_told(ctx.conn, ctx.clock, ctx.opened)? {
        sum.stopped.get_or_insert(e);
    }
    let (wal, pages) = cleared(ctx, "dsr erase --due", !sum.applied.is_empty(), &sum.erased)?;
    // The counts, with the officer's commands on stderr and without them in the run's record.
    let counts = |approve: &str, again: &str| {
        format!(
            "{} erased, {} waiting for approval{approve}, {} re-made because the data changed{again}, {} on hold, {} waiting for an answer to another request of the same person, {} failed{}",
            sum.applied.len(),
            sum.waiting_for_approval.len(),
            sum.replanned.len(),
            sum.on_hold.len(),
            sum.waiting_for_answer.len(),
            sum.failed.len(),
            match sum.done_elsewhere.len() {
                0 => String::new(),
                n => format!(", {n} carried out by another process meanwhile"),
            }
        )
    };
    *summary = counts("", "");
    ctx.out.status(&format!("dsr erase --due: {}", counts(" (`dsr erase REQUEST --approve`)", " (approve again)")))?;
    if ctx.out.json {
        ctx.out.json(&sum)?;
    }
    for (id, other) in &sum.waiting_for_answer {
        ctx.out.status(&format!(
            "dsr erase --due: {id} waits: the same person's request {other} is not answered yet (answer it first; the next run erases)"
        ))?;
    }
    for (id, why) in &sum.failed {
        crate::output::stderr_line(&format!("dsr erase --due: {id} failed: {}", crate::output::sanitize::line(why)))?;
    }
    // Exit 21 needs an officer: each request is named, even with --quiet (a cron mail shows it).
    for id in &sum.replanned {
        crate::output::stderr_line(&format!(
            "dsr erase --due: {id}: the data changed since its plan was approved; nothing was erased, and the new plan waits for approval (`dsr erase {id}` shows it, `--approve` approves it)"
        ))?;
    }
    // The store failing stopped the run: its exit code (10, 11, 13, 15), after the counts of
    // what was erased before it and the log cleared of those erasures.
    if let Some(stopped) = sum.stopped.take() {
        return Err(stopped);
    }
    if !sum.failed.is_empty() {
        return Ok(Code::Failure);
    }
    wal?;
    pages?;
    Ok(if sum.replanned.is_empty() { Code::Ok } else { Code::StalePlan })
}

/// `dsr erase --replay`: after a restore from a backup older than some erasures, erase again
/// everyone whose identifiers match an erasure's keyed hashes (journal and suppression list). On
/// either backend; `lock` takes the store's run lock.
pub fn replay(
    ctx: &mut Session,
    lock: impl FnOnce() -> anyhow::Result<crate::cron::RunLock>,
    journal: Option<&Path>,
    yes: bool,
) -> anyhow::Result<Code> {
    if interactive(ctx.out) && !yes {
        // Cron runs it without a terminal; an officer at one confirms what cannot be undone.
        return Err(Error::Usage(
            "not confirmed: erase --replay erases people again and cannot be undone; add --yes".into(),
        )
        .into());
    }
    let lock = lock()?;
    super::note_erasing(ctx)?;
    let done = erase::replay::run(&lock, ctx.conn, ctx.clock, journal)?;
    let again = !done.replayed.is_empty() || done.anonymous_lines > 0;
    let (wal, pages) = cleared(ctx, "dsr erase --replay", again, &done.erased)?;
    ctx.out.status(&format!(
        "dsr erase --replay: {} erasure hash(es) known, {} person(s) erased again{}",
        done.known_hashes,
        done.replayed.len(),
        match done.anonymous_lines {
            0 => String::new(),
            n => format!(", {n} line(s) that reach no one deleted again for an erased person's IP address"),
        }
    ))?;
    if ctx.out.json {
        ctx.out.json(&json!({"format_version": 1, "known_hashes": done.known_hashes, "replayed": done.replayed,
            "anonymous_lines": done.anonymous_lines}))?;
    }
    wal?;
    pages?;
    Ok(Code::Ok)
}

/// After an unattended run's commits: what the backend keeps of removed rows cleared (always,
/// even when nothing was erased: on SQLite this also finishes a blocked truncation, exit 23),
/// then, where the backend can read its pages, no erased value left. Both outcomes come back
/// for the caller to report its summary first.
fn cleared(
    ctx: &Session,
    command: &str,
    erased_any: bool,
    erased: &[String],
) -> anyhow::Result<(anyhow::Result<()>, anyhow::Result<()>)> {
    let touched = match erased_any {
        true => erase::touched_by_any(&*crate::store::personal::DataMap::load(ctx.conn)?),
        false => Vec::new(),
    };
    let wal = ctx.conn.after_erasure(&touched);
    let pages = match &wal {
        Ok(()) => super::no_value_left(ctx, command, &touched, erased),
        Err(_) => Ok(()),
    };
    Ok((wal, pages))
}
