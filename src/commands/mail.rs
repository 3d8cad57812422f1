//! `dsr mail flush|list`: the queue of letters (and journal lines) waiting for delivery.

use crate::cli::MailCommand;
use crate::error::Error;
use crate::exit::Code;
use crate::output::table;

use super::Ctx;

pub fn mail(ctx: &mut Ctx, cmd: MailCommand) -> anyhow::Result<Code> {
    match cmd {
        MailCommand::Flush => {
            let flushed = ctx.flush()?;
            if ctx.out.json {
                ctx.out.json(&serde_json::json!({"format_version": 1, "delivered": flushed.delivered, "failed": flushed.failed, "busy": flushed.busy}))?;
            } else if flushed.busy {
                ctx.out.data("Another dsr process is delivering the queue now; nothing done here.")?;
            } else {
                ctx.out.data(&format!(
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
            let pending = crate::queue::pending(&ctx.store.conn, None)?;
            if ctx.out.json {
                ctx.out.json(&serde_json::json!({"format_version": 1, "queued": pending}))?;
                return Ok(Code::Ok);
            }
            if pending.is_empty() {
                ctx.out.data("Nothing queued.")?;
                return Ok(Code::Ok);
            }
            let mut t = table::new(&ctx.out, &["#", "Request", "Letter", "Queued", "Tries", "Last error"]);
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
            ctx.out.data(&t.to_string())?;
            Ok(Code::Ok)
        }
    }
}
