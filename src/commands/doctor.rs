//! `dsr doctor`: the findings of `crate::doctor`, one line each with what to fix (or one JSON
//! document); exit 24 when there is any.

use super::Ctx;
use crate::exit::Code;
use crate::output::Output;
use crate::store::db::Db;

pub fn doctor(ctx: &mut Ctx) -> anyhow::Result<Code> {
    on(&ctx.store.conn, &ctx.out)
}

/// `dsr doctor` on a store of either backend.
pub fn on(db: &dyn Db, out: &Output) -> anyhow::Result<Code> {
    // On a terminal, a bar: a large store takes a while (every row of every table is read).
    let bar = out.progress("dsr doctor [{bar:30}] {pos}/{len} {msg}", None);
    let findings = crate::doctor::run(db, |what, steps| {
        if let Some(bar) = &bar {
            bar.set_length(steps as u64);
            bar.set_message(what.to_owned());
            bar.inc(1);
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let findings = findings?;
    if out.json {
        out.json(&serde_json::json!({"format_version": 1, "ok": findings.is_empty(), "findings": findings}))?;
    } else if findings.is_empty() {
        out.outcome("No problems found: the store and its company databases fit the data map.")?;
    } else {
        let mut text = String::new();
        for f in &findings {
            let at = match &f.column {
                Some(c) => format!("{}.{c}", f.table),
                None => f.table.clone(),
            };
            // A finding about a whole database, the register or the map's tables counts no rows.
            let rows = match (f.check, f.rows) {
                ("damaged" | "schema" | "database" | "register" | "map", _) => String::new(),
                (_, 1) => "1 row: ".into(),
                (_, n) => format!("{n} rows: "),
            };
            text.push_str(&format!("{at}: {rows}{}\n    fix: {}\n", f.what, f.fix));
        }
        text.push_str(&format!("{} problem{} to fix.", findings.len(), if findings.len() == 1 { "" } else { "s" }));
        out.data(&crate::output::sanitize::text(&text, true))?;
    }
    Ok(if findings.is_empty() { Code::Ok } else { Code::Findings })
}
