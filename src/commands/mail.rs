//! `dsr mail flush|list`: the queue of letters (and journal lines) waiting for delivery.

use crate::cli::MailCommand;
use crate::error::Error;
use crate::exit::Code;
use crate::output::table;

use super::Session;
use crate::clock::Clock;

pub fn mail(s: &mut Session, cmd: &MailCommand) -> anyhow::Result<Code> {
    NO_FLUSH.store(true, std::sync::atomic::Ordering::Relaxed);
    match cmd {
        MailCommand::Flush => {
            let flushed = flush(s.conn, s.clock, s.opened)?;
            // Letters no flush sends yet: an erasure letter waiting for the systems' tasks.
            let held = crate::queue::pending(s.conn, None)?.into_iter().filter(|p| p.held).count();
            if s.out.json {
                s.out.json(&serde_json::json!({"format_version": 1, "delivered": flushed.delivered, "failed": flushed.failed, "held": held, "busy": flushed.busy, "other_transport": flushed.other_transport}))?;
            } else if flushed.busy {
                s.out.outcome("Another dsr process is delivering the queue now; nothing done here.")?;
            } else {
                let held = match held {
                    0 => String::new(),
                    n => format!(", {n} held until the systems' tasks are done (`dsr tasks`)"),
                };
                s.out.outcome(&format!(
                    "{} delivered, {} still queued after a failure{held}.",
                    flushed.delivered.len(),
                    flushed.failed.len()
                ))?;
            }
            if !flushed.failed.is_empty() {
                let letters = match flushed.failed.len() {
                    1 => "1 letter could not be sent and stays".to_owned(),
                    n => format!("{n} letters could not be sent and stay"),
                };
                return Err(Error::Mail(format!("{letters} queued; see `dsr mail list`")).into());
            }
            Ok(Code::Ok)
        }
        MailCommand::List => {
            let pending = crate::queue::pending(s.conn, None)?;
            if s.out.json {
                s.out.json(&serde_json::json!({"format_version": 1, "queued": pending}))?;
                return Ok(Code::Ok);
            }
            if pending.is_empty() {
                s.out.outcome("Nothing queued.")?;
                return Ok(Code::Ok);
            }
            let sending = crate::mail::transport_name().ok();
            let mut t = table::new(s.out, &["#", "Request", "Letter", "Queued", "Tries", "Why still queued"]);
            for p in &pending {
                t.add_row(vec![
                    table::cell(&p.queued.to_string()),
                    table::cell(p.request.as_deref().unwrap_or("")),
                    table::cell(&p.letter),
                    table::cell(&p.queued_at),
                    table::cell(&p.tries.to_string()),
                    table::cell(&format!(
                        "{}{}",
                        match (&p.last_error, p.held) {
                            (Some(e), _) => e,
                            (None, true) => "held until the systems' tasks are done (dsr tasks)",
                            (None, false) => "not sent yet",
                        },
                        match p.transport.as_deref() {
                            Some(t) if Some(t) != sending => format!(
                                "; it waits for the {t} transport it was queued for: `DSR_MAIL={t} dsr mail flush`"
                            ),
                            _ => String::new(),
                        }
                    )),
                ]);
            }
            s.out.data(&t.to_string())?;
            Ok(Code::Ok)
        }
    }
}

/// Set by `dsr mail flush` (which delivered already) and `dsr mail list` (which shows the queue
/// as it is): no delivery after the command.
pub static NO_FLUSH: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Letters whose delivery failed in a flush a command made itself (an erasure's letter, `mail
/// flush`): the flush after the command does not try them again, so each is tried and told once
/// a command. The next command tries them.
static FAILED_HERE: std::sync::Mutex<Option<std::collections::HashSet<i64>>> = std::sync::Mutex::new(None);

/// A command's own flush, on either backend: everything queued is tried.
pub fn flush(
    conn: &dyn crate::store::db::Conn,
    clock: &Clock,
    opened: &Option<String>,
) -> anyhow::Result<crate::queue::Flushed> {
    let flushed = deliver(conn, clock, opened, &Default::default(), false)?;
    let mut failed = FAILED_HERE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    failed.get_or_insert_with(Default::default).extend(flushed.failed.iter().map(|f| f.queued));
    Ok(flushed)
}

/// A command's own flush after its commit (an answer sent, a change applied, an erasure, a task
/// acknowledged): the store failing under it (locked, full) or a queue that cannot be read is
/// told on stderr once, and the letters wait in the queue for the next command or `dsr mail
/// flush`. The committed change stands and the command goes on (its report, an erasure's log
/// truncated); nothing says it was rolled back, and no flush follows the command. The failure
/// comes back as the inner `Err` for a run that stops on it (`erase --due`); a server lost is
/// the command's error.
pub fn flush_told(
    conn: &dyn crate::store::db::Conn,
    clock: &Clock,
    opened: &Option<String>,
) -> anyhow::Result<Result<crate::queue::Flushed, anyhow::Error>> {
    match flush(conn, clock, opened) {
        Err(e) if !crate::exit::lost(&e) => {
            NO_FLUSH.store(true, std::sync::atomic::Ordering::Relaxed);
            crate::output::stderr_line(&format!(
                "dsr: queued letters were not delivered: {}; what was done is committed, and the letters wait in the queue for the next command or `dsr mail flush`",
                crate::output::sanitize::line(&crate::output::words(&e))
            ))?;
            Ok(Err(e))
        }
        Err(e) => Err(e),
        Ok(flushed) => Ok(Ok(flushed)),
    }
}

/// [`flush_told`] for a command that goes on whatever the delivery: nothing delivered when it
/// failed.
pub fn flush_committed(
    conn: &dyn crate::store::db::Conn,
    clock: &Clock,
    opened: &Option<String>,
) -> anyhow::Result<crate::queue::Flushed> {
    Ok(flush_told(conn, clock, opened)?.unwrap_or_default())
}

/// [`super::Ctx::flush`], the flush after a command, on either backend: what the command's own
/// flush tried and could not send is left for the next command, and so is a letter the SMTP
/// server failed minutes ago (`dsr mail flush` tries it at once).
pub fn flush_after(
    conn: &dyn crate::store::db::Conn,
    clock: &Clock,
    opened: &Option<String>,
) -> anyhow::Result<crate::queue::Flushed> {
    // Taken: a process that runs several commands (`dsr demo`) tries them again after the next.
    let tried = FAILED_HERE.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take().unwrap_or_default();
    deliver(conn, clock, opened, &tried, true)
}

fn deliver(
    conn: &dyn crate::store::db::Conn,
    clock: &Clock,
    opened: &Option<String>,
    tried: &std::collections::HashSet<i64>,
    paused: bool,
) -> anyhow::Result<crate::queue::Flushed> {
    let flushed = crate::queue::flush(conn, clock, tried, paused)?;
    for request in &flushed.journal_waiting {
        crate::output::stderr_line(&format!(
            "dsr: the erasure journal line of {request} waits in the queue (another dsr process held it); `dsr mail flush` run in this directory on this machine writes it"
        ))?;
    }
    for other in &flushed.other_transport {
        let (letters, they) = match other.letters {
            1 => ("1 letter waits".to_owned(), "it was"),
            n => (format!("{n} letters wait"), "they were"),
        };
        let transport = crate::output::sanitize::line(&other.transport);
        crate::output::stderr_line(&format!(
            "dsr: {letters} for the {transport} transport {they} queued for, not this process's (DSR_MAIL); `DSR_MAIL={transport} dsr mail flush` sends them"
        ))?;
    }
    for f in flushed.failed.iter().filter(|f| opened.is_none() || f.request != *opened) {
        // The letter that answers an opening (a code, or "we hold nothing") would tell whoever
        // watches the officer's screen whether the person is on file: named as a letter only.
        let letter = match f.letter.as_str() {
            "verification-code" | "no-data" => "a".to_owned(),
            kind => format!("the {kind}"),
        };
        crate::output::stderr_line(&format!(
            "dsr: {letter} letter{} could not be sent and stays queued ({}); `dsr mail flush` tries again",
            f.request.as_ref().map(|r| format!(" of {r}")).unwrap_or_default(),
            crate::output::sanitize::line(&f.error)
        ))?;
    }
    Ok(flushed)
}

/// A command's result after the flush that follows it: a failed delivery is told on stderr and
/// does not change the command's answer (its own failure comes first).
pub(super) fn after_flush(
    result: anyhow::Result<Code>,
    flushed: anyhow::Result<crate::queue::Flushed>,
) -> anyhow::Result<Code> {
    if let Err(e) = flushed {
        // A command that lost its server tells that (exit 10); the queue, which could not even
        // be read, is no news of its own.
        // Nor after a command whose own error says the erasure is committed and the connection
        // lost (its letters went before it vacuumed).
        let told_already = result.as_ref().err().is_some_and(|r| {
            crate::exit::lost(r)
                || matches!(r.downcast_ref::<crate::error::Error>(), Some(crate::error::Error::NotVacuumed(_)))
        });
        if told_already && crate::exit::lost(&e) {
            return result;
        }
        let told = crate::output::stderr_line(&format!(
            "dsr: queued letters were not delivered: {}",
            crate::output::sanitize::line(&crate::output::words(&e))
        ));
        // A warning that could not be written is exit 15.
        if let (Ok(_), Err(w)) = (&result, told) {
            return Err(w.into());
        }
    }
    result
}
