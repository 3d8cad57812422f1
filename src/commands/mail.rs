//! `dsr mail flush|list`: the queue of letters (and journal lines) waiting for delivery.

use crate::cli::MailCommand;
use crate::error::Error;
use crate::exit::Code;
use crate::output::table;

use super::Session;

pub fn mail(s: &mut Session, cmd: &MailCommand) -> anyhow::Result<Code> {
    match cmd {
        MailCommand::Flush => {
            let flushed = super::flush(s.conn, s.clock, s.opened)?;
            // Letters no flush sends yet: an erasure letter waiting for the systems' tasks.
            let held = crate::queue::pending(s.conn, None)?.into_iter().filter(|p| p.held).count();
            if s.out.json {
                s.out.json(&serde_json::json!({"format_version": 1, "delivered": flushed.delivered, "failed": flushed.failed, "held": held, "busy": flushed.busy}))?;
            } else if flushed.busy {
                s.out.data("Another dsr process is delivering the queue now; nothing done here.")?;
            } else {
                let held = match held {
                    0 => String::new(),
                    n => format!(", {n} held until the systems' tasks are done (`dsr tasks`)"),
                };
                s.out.data(&format!(
                    "{} delivered, {} still queued after a failure{held}.",
                    flushed.delivered.len(),
                    flushed.failed.len()
                ))?;
            }
            if !flushed.failed.is_empty() {
                return Err(Error::Mail(format!(
                    "{} letter(s) could not be sent and stay queued; see `dsr mail list`",
                    flushed.failed.len()
                ))
                .into());
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
                s.out.data("Nothing queued.")?;
                return Ok(Code::Ok);
            }
            let mut t = table::new(s.out, &["#", "Request", "Letter", "Queued", "Tries", "Why still queued"]);
            for p in &pending {
                t.add_row(vec![
                    table::cell(&p.queued.to_string()),
                    table::cell(p.request.as_deref().unwrap_or("")),
                    table::cell(&p.letter),
                    table::cell(&p.queued_at),
                    table::cell(&p.tries.to_string()),
                    table::cell(match (&p.last_error, p.held) {
                        (Some(e), _) => e,
                        (None, true) => "held until the systems' tasks are done (dsr tasks)",
                        (None, false) => "not sent yet",
                    }),
                ]);
            }
            s.out.data(&t.to_string())?;
            Ok(Code::Ok)
        }
    }
}
