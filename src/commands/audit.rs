//! `dsr audit verify|log`.

use crate::audit;
use crate::error::Error;
use crate::exit::Code;
use crate::output::table;

use super::Ctx;

pub fn verify(ctx: &Ctx) -> anyhow::Result<Code> {
    let v = audit::verify(&ctx.store.conn)?;
    if ctx.out.json {
        ctx.out.json(&v)?;
    } else if v.ok {
        ctx.out.data(&format!("Audit trail verified: {} entries, chain intact.", v.entries))?;
    }
    match (v.ok, v.first_bad_entry) {
        (true, _) => Ok(Code::Ok),
        (false, entry) => {
            Err(Error::AuditBroken { entry: entry.unwrap_or(0), why: v.problem.unwrap_or_default() }.into())
        }
    }
}

pub fn log(ctx: &Ctx, request: Option<&str>) -> anyhow::Result<Code> {
    let request = request.map(crate::request::parse_id).transpose()?;
    let entries = audit::list(&ctx.store.conn, request.as_deref())?;
    if let Some(id) = request.as_deref().filter(|_| entries.is_empty()) {
        // A request leaves entries from the moment it is opened; none means no such request.
        return Err(crate::Error::UnknownRequest(id.to_owned()).into());
    }
    if ctx.out.json {
        ctx.out.json(&serde_json::json!({"format_version": 1, "entries": entries}))?;
        return Ok(Code::Ok);
    }
    let mut t = table::new(&ctx.out, &["#", "Time", "Actor", "Request", "Person", "Event", "Details"]);
    for e in &entries {
        t.add_row(vec![
            table::cell(&e.id.to_string()),
            table::cell(&format!("{}{}", e.at, if e.clock_injected { " (DSR_NOW)" } else { "" })),
            table::cell(&e.actor),
            table::cell(e.request_id.as_deref().unwrap_or("")),
            table::cell(e.subject_pseudonym.as_deref().map(|p| &p[..8.min(p.len())]).unwrap_or("")),
            table::cell(&e.action),
            table::cell(&e.details.to_string()),
        ]);
    }
    ctx.out.data(&t.to_string())?;
    Ok(Code::Ok)
}
