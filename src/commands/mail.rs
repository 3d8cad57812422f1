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
            if s.out.json {
                s.out.json(&serde_json::json!({"format_version": 1, "delivered": flushed.delivered, "failed": flushed.failed, "busy": flushed.busy}))?;
            } else if flushed.busy {
                s.out.data("Another dsr process is delivering the queue now; nothing done here.")?;
            } else {
                s.out.data(&format!(
                    "{} delivered, {} still queued after a failure.",
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
            let mut t = table::new(s.out, &["#", "Request", "Letter", "Queued", "Tries", "Last error"]);
            for p in &pending {
                t.add_row(vec![
                    table::cell(&p.queued.to_string()),
                    table::cell(p.request.as_deref().unwrap_or("")),
                    table::cell(&p.letter),
                    table::cell(&p.queued_at),
                    table::cell(&p.tries.to_string()),
                    table::cell(p.last_error.as_deref().unwrap_or("")),
                ]);
            }
            s.out.data(&t.to_string())?;
            Ok(Code::Ok)
        }
    }
}
