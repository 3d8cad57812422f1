//! `dsr tasks [--system NAME] [--json]` and `dsr tasks done`: the open tasks of the systems
//! that keep copies (`crate::tasks`), as a table or as JSON Lines for a sync script, and their
//! acknowledgement one by one or from a file, each in a transaction of its own.

use super::Session;
use crate::cli::{TasksArgs, TasksCommand};
use crate::error::Error;
use crate::exit::Code;
use crate::output::{table, Output};
use crate::store::db::Db;
use crate::tasks;

pub fn tasks(ctx: &mut Session, args: &TasksArgs) -> anyhow::Result<Code> {
    match &args.command {
        Some(TasksCommand::Done { task, reference, file }) => match (task, reference, file) {
            (_, _, Some(file)) => done_file(ctx, file),
            (Some(task), Some(reference), None) => {
                let mut addresses = Vec::new();
                let done = done_one(ctx, *task, reference, &mut addresses)?;
                clean_after(ctx, &[&done], &addresses)?;
                if ctx.out.json {
                    ctx.out.json(&serde_json::json!({"format_version": 1, "done": [done]}))?;
                }
                Ok(Code::Ok)
            }
            _ => Err(Error::invalid("tasks done", "give TASK with --ref TEXT, or --file FILE").into()),
        },
        None => list(ctx.conn, ctx.out, args),
    }
}

/// `dsr tasks [--system NAME] [--all]`: the list, on a store of either backend.
pub fn list(db: &dyn Db, out: &Output, args: &TasksArgs) -> anyhow::Result<Code> {
    let systems = tasks::Systems::load(db)?;
    if let Some(name) = &args.system {
        if !systems.list.iter().any(|s| &s.name == name) {
            let names: Vec<&str> = systems.list.iter().map(|s| s.name.as_str()).collect();
            return Err(Error::invalid(
                "--system",
                format!(
                    "no system {name:?} in the data map; its systems: {}",
                    if names.is_empty() { "none".into() } else { names.join(", ") }
                ),
            )
            .into());
        }
    }
    let list = tasks::list(db, args.system.as_deref(), args.all)?;
    if out.json {
        // JSON Lines: one task a line, for a sync script to read as it goes.
        let mut text = String::new();
        for t in &list {
            text.push_str(&serde_json::to_string(t)?);
            text.push('\n');
        }
        if !text.is_empty() {
            out.data(&text)?;
        }
        return Ok(Code::Ok);
    }
    let mut t = table::new(out, &["Task", "System", "Request", "Action", "Made", "Rows", "Done"]);
    for task in &list {
        let rows = task.rows.as_array().map_or(0, Vec::len);
        t.add_row(vec![
            table::cell(&task.task.to_string()),
            table::cell(&task.system),
            table::cell(&task.request),
            table::cell(&task.action),
            table::cell(&task.created_at),
            table::cell(&rows.to_string()),
            table::cell(task.done_ref.as_deref().unwrap_or("")),
        ]);
    }
    if list.is_empty() {
        out.status("No open tasks.")?;
    } else {
        out.data(&t.to_string())?;
    }
    Ok(Code::Ok)
}

/// Acknowledge one task; the addresses of the letters it released go to `addresses`.
fn done_one(ctx: &mut Session, task: i64, reference: &str, addresses: &mut Vec<String>) -> anyhow::Result<tasks::Done> {
    let mut done = tasks::acknowledge(ctx.conn, ctx.clock, task, reference)?;
    // A letter held for the tasks goes out now, and its delivery completes the request: the
    // report says how the request stands after that, not before.
    if done.letters_released > 0 {
        if done.erasure {
            addresses.extend(crate::queue::addressed_to(ctx.conn, &done.request)?);
        }
        // Not again in a run of many after a delivery failed on the store (told once).
        if !super::mail::NO_FLUSH.load(std::sync::atomic::Ordering::Relaxed) {
            super::flush_committed(ctx.conn, ctx.clock, ctx.opened)?;
        }
        done.completed |= crate::request::load(ctx.conn, &done.request)?.state == "completed";
    }
    let mut note = format!("Task {task} of {} acknowledged", done.request);
    if done.open > 0 {
        note.push_str(&format!("; {} more open", done.open));
    } else if done.completed {
        note.push_str("; the request is completed");
    }
    if done.letters_released > 0 && done.completed {
        note.push_str("; its letter went out");
    } else if done.letters_released > 0 {
        note.push_str("; its letter is queued (`dsr mail list`)");
    }
    ctx.out.status(&format!("{note}."))?;
    Ok(done)
}

/// After acknowledging an erasure's tasks: their source keys, and the erasure letter they held
/// (its copy released, then its content dropped at delivery), are removed as an erasure's rows
/// are, once for a whole file: PostgreSQL's dead rows vacuumed and, where pageinspect is
/// installed, the pages read for the letters' addresses (exit 23 for a table that keeps one);
/// SQLite's log truncated.
fn clean_after(ctx: &Session, done: &[&tasks::Done], addresses: &[String]) -> anyhow::Result<()> {
    if done.iter().any(|d| d.erasure) {
        let tables = ["task".to_owned(), "queued".to_owned()];
        ctx.conn.after_erasure(&tables)?;
        super::erase::no_value_left(ctx, "dsr tasks done", &tables, addresses)?;
    }
    Ok(())
}

/// One line of an acknowledgement file: the task and the reference, or why it does not read
/// (with the task, when that much reads).
type Ack = Result<(i64, String), (Option<i64>, String)>;

/// Every acknowledgement of a file: JSON Lines `{"task": N, "ref": "..."}` or CSV `task,ref`.
/// A bad line or a refused task is reported with its line; the others are done (exit 19).
fn done_file(ctx: &mut Session, path: &std::path::Path) -> anyhow::Result<Code> {
    let text =
        std::fs::read(path).map_err(|e| Error::invalid("--file", format!("cannot read {}: {e}", path.display())))?;
    // JSON Lines by its name, or by its first character whatever its name; CSV otherwise.
    let first =
        text.iter().skip(if text.starts_with(b"\xef\xbb\xbf") { 3 } else { 0 }).find(|b| !b.is_ascii_whitespace());
    let json = path.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e, "jsonl" | "ndjson" | "json"))
        || first == Some(&b'{');
    let mut entries: Vec<(usize, Ack)> = Vec::new();
    if json {
        for (i, line) in text.split(|b| *b == b'\n').enumerate() {
            let Ok(line) = String::from_utf8(line.to_vec()) else {
                entries.push((i + 1, Err((None, "the line is not UTF-8 text".to_owned()))));
                continue;
            };
            // A byte-order mark before the first line, as some Windows programs write.
            let line = if i == 0 { line.trim_start_matches('\u{feff}').to_owned() } else { line };
            if line.trim().is_empty() {
                continue;
            }
            let value = serde_json::from_str::<serde_json::Value>(&line).ok();
            let task = value.as_ref().and_then(|v| v.get("task")?.as_i64());
            let reference = value.as_ref().and_then(|v| Some(v.get("ref")?.as_str()?.to_owned()));
            let parsed = match (task, reference) {
                (Some(t), Some(r)) => Ok((t, r)),
                (t, _) => Err((t, "expected {\"task\": N, \"ref\": \"...\"}".to_owned())),
            };
            entries.push((i + 1, parsed));
        }
    } else {
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_slice());
        let header = reader
            .headers()
            .map_err(|_| {
                Error::invalid(
                    "--file",
                    format!("{}: the header row does not read as CSV text (UTF-8)", path.display()),
                )
            })?
            .clone();
        let column = |name: &str| header.iter().position(|h| h.trim().trim_start_matches('\u{feff}') == name);
        let (Some(ti), Some(ri)) = (column("task"), column("ref")) else {
            return Err(Error::invalid(
                "--file",
                format!("{}: the header must name the columns task and ref", path.display()),
            )
            .into());
        };
        for (i, rec) in reader.records().enumerate() {
            let unreadable = "the line does not read as CSV (a quote never closed, or bytes that are not UTF-8)";
            let parsed = rec.map_err(|_| (None, unreadable.to_owned())).and_then(|r| {
                let task = r.get(ti).and_then(|t| t.trim().parse().ok());
                match (task, r.get(ri)) {
                    (Some(t), Some(reference)) => Ok((t, reference.to_owned())),
                    (None, _) => Err((None, "task: not a number".to_owned())),
                    (t, None) => Err((t, "ref: missing".to_owned())),
                }
            });
            entries.push((i + 2, parsed));
        }
    }
    let mut done = Vec::new();
    let mut addresses = Vec::new();
    let mut refused = Vec::new();
    for (line, entry) in entries {
        let task = match &entry {
            Ok((task, _)) => Some(*task),
            Err((task, _)) => *task,
        };
        // A line that does not read is a bad input (exit 2), as a bad --ref is.
        let result = entry
            .map_err(|(_, why)| Error::invalid("--file", why).into())
            .and_then(|(task, reference)| done_one(ctx, task, &reference, &mut addresses));
        match result {
            Ok(d) => done.push(d),
            Err(e) => {
                let why = crate::output::sanitize::line(&format!("{e:#}"));
                crate::output::stderr_line(&format!("dsr: {}: line {line}: {why}", path.display()))?;
                let code = Code::of_error(&e);
                refused.push(serde_json::json!({"line": line, "task": task, "error": why, "exit_code": code as u8}));
            }
        }
    }
    clean_after(ctx, &done.iter().collect::<Vec<_>>(), &addresses)?;
    if ctx.out.json {
        ctx.out.json(
            &serde_json::json!({"format_version": 1, "done": done, "failed": refused.len(), "refused": refused}),
        )?;
    }
    Ok(if refused.is_empty() { Code::Ok } else { Code::BatchFailed })
}
