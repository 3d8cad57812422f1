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

/// The longest line of an acknowledgement file read whole: a task number and a reference of at
/// most 200 characters fit many times over.
const LONGEST_LINE: u64 = 64 * 1024;

/// The refused lines kept for `--json` and told on stderr one by one; the rest are counted.
const REFUSED_TOLD: usize = 1000;

/// A JSON line as derived serde reads it: a key given twice is an error, not the last one.
#[derive(serde::Deserialize)]
struct JsonAck {
    task: i64,
    #[serde(rename = "ref")]
    reference: String,
}

/// One JSON line of an acknowledgement file.
fn json_ack(line: &str) -> Ack {
    if !line.trim_start().starts_with('{') {
        return Err((None, "expected {\"task\": N, \"ref\": \"...\"}".to_owned()));
    }
    serde_json::from_str::<JsonAck>(line).map(|a| (a.task, a.reference)).map_err(|e| {
        let e = e.to_string();
        let task = serde_json::from_str::<serde_json::Value>(line).ok().and_then(|v| v.get("task")?.as_i64());
        let why = if e.starts_with("duplicate field") {
            "a key is given twice; which value was meant cannot be known".to_owned()
        } else if e.starts_with("missing field `ref`") {
            "ref: missing".to_owned()
        } else if e.starts_with("missing field `task`") {
            "task: missing".to_owned()
        } else if e.starts_with("control character") {
            "a string holds a tab, line break or other control character as it is: JSON writes it escaped (\\t, \\n)"
                .to_owned()
        } else if e.starts_with("invalid type") || e.starts_with("invalid value") {
            // Which key had the wrong type: the one serde was reading.
            let task_ok = serde_json::from_str::<serde_json::Value>(line).ok().is_some_and(|v| v["task"].is_i64());
            if task_ok { "ref: not a string" } else { "task: not a whole number" }.to_owned()
        } else {
            // Not JSON at all: serde's words, without its "at line 1 column N".
            let what = e.split(" at line ").next().unwrap_or(&e);
            format!("does not read as JSON ({what}); expected {{\"task\": N, \"ref\": \"...\"}}")
        };
        (task.filter(|_| !e.starts_with("duplicate field")), why)
    })
}

/// The next line of `reader` (without its newline), at most [`LONGEST_LINE`] bytes of it:
/// `Some(Err(()))` for a longer one, read past without holding it.
fn next_line(reader: &mut impl std::io::BufRead, buf: &mut Vec<u8>) -> std::io::Result<Option<Result<(), ()>>> {
    use std::io::{BufRead, Read};
    buf.clear();
    let n = reader.by_ref().take(LONGEST_LINE + 1).read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        return Ok(Some(Ok(())));
    }
    if (buf.len() as u64) <= LONGEST_LINE {
        return Ok(Some(Ok(()))); // the last line, without a newline
    }
    // Past the limit: skip to the end of the line, a buffer at a time.
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => {
                reader.consume(i + 1);
                break;
            }
            None => {
                let len = chunk.len();
                reader.consume(len);
            }
        }
    }
    buf.clear();
    Ok(Some(Err(())))
}

/// Every acknowledgement of a file: JSON Lines `{"task": N, "ref": "..."}` or CSV `task,ref`.
/// A bad line or a refused task is reported with its line; the others are done (exit 19). The
/// file is read as it goes, so its size does not matter.
fn done_file(ctx: &mut Session, path: &std::path::Path) -> anyhow::Result<Code> {
    use std::io::BufRead;
    let unreadable = |e: std::io::Error| Error::invalid("--file", format!("cannot read {}: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut reader = std::io::BufReader::with_capacity(64 * 1024, file);
    // JSON Lines by its name, or by its first character whatever its name; CSV otherwise.
    let head = reader.fill_buf().map_err(unreadable)?;
    let first =
        head.iter().skip(if head.starts_with(b"\xef\xbb\xbf") { 3 } else { 0 }).find(|b| !b.is_ascii_whitespace());
    let json = path.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e, "jsonl" | "ndjson" | "json"))
        || first == Some(&b'{');
    let mut run = FileRun { path, done: Vec::new(), addresses: Vec::new(), refused: Vec::new(), failed: 0 };
    // Each line as it is read, in lines of at most LONGEST_LINE bytes (a CSV field is one line:
    // a task's reference is).
    let mut columns: Option<(usize, usize)> = None;
    let mut buf = Vec::new();
    let mut line = 0;
    let read = loop {
        let next = match next_line(&mut reader, &mut buf) {
            Ok(Some(next)) => next,
            Ok(None) => break Ok(()),
            Err(e) => break Err(anyhow::Error::from(unreadable(e))),
        };
        line += 1;
        let text = match next.map(|()| std::str::from_utf8(&buf)) {
            Err(()) => Err(format!("the line is longer than {} KiB", LONGEST_LINE / 1024)),
            Ok(Err(_)) => Err("the line is not UTF-8 text".to_owned()),
            // A byte-order mark before the first line, as some Windows programs write.
            Ok(Ok(text)) => Ok(if line == 1 { text.trim_start_matches('\u{feff}') } else { text }),
        };
        if text.as_ref().is_ok_and(|t| t.trim().is_empty()) {
            continue;
        }
        let entry = match (json, columns, text) {
            (false, None, Err(_)) => {
                break Err(Error::invalid(
                    "--file",
                    format!("{}: the header row does not read as CSV text (UTF-8, one line)", path.display()),
                )
                .into())
            }
            (_, _, Err(why)) => Err((None, why)),
            (true, _, Ok(text)) => json_ack(text),
            (false, None, Ok(text)) => match csv_header(text) {
                Some(found) => {
                    columns = Some(found);
                    continue;
                }
                None => {
                    break Err(Error::invalid(
                        "--file",
                        format!("{}: the header must name the columns task and ref", path.display()),
                    )
                    .into())
                }
            },
            (false, Some(columns), Ok(text)) => csv_ack(text, columns),
        };
        if let Err(e) = run.handle(ctx, line, entry) {
            break Err(e);
        }
    };
    // What was acknowledged before a failure is cleaned up and told all the same.
    let code = run.finish(ctx)?;
    read.map(|()| code)
}

/// The places of `task` and `ref` in a CSV header line.
fn csv_header(text: &str) -> Option<(usize, usize)> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(text.as_bytes());
    let header = reader.records().next()?.ok()?;
    let column = |name: &str| header.iter().position(|h| h.trim() == name);
    Some((column("task")?, column("ref")?))
}

/// One CSV line of an acknowledgement file.
fn csv_ack(text: &str, (ti, ri): (usize, usize)) -> Ack {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let unreadable = "the line does not read as CSV (a quote never closed)";
    // A field is one line: quotes open and close on it (a quote inside is doubled), so an odd
    // count is one never closed, which the reader would take as ending with the line.
    if text.matches('"').count() % 2 == 1 {
        return Err((None, unreadable.to_owned()));
    }
    let r = match reader.records().next() {
        Some(Ok(r)) => r,
        _ => return Err((None, unreadable.to_owned())),
    };
    let task = r.get(ti).and_then(|t| t.trim().parse().ok());
    match (task, r.get(ri)) {
        (Some(t), Some(reference)) => Ok((t, reference.to_owned())),
        (None, _) => Err((None, "task: not a number".to_owned())),
        (t, None) => Err((t, "ref: missing".to_owned())),
    }
}

/// An acknowledgement file being worked through.
struct FileRun<'p> {
    path: &'p std::path::Path,
    done: Vec<tasks::Done>,
    addresses: Vec<String>,
    /// The first [`REFUSED_TOLD`] refused lines, for `--json`.
    refused: Vec<serde_json::Value>,
    failed: usize,
}

impl FileRun<'_> {
    /// Acknowledge a line's task, or tell why not.
    fn handle(&mut self, ctx: &mut Session, line: usize, entry: Ack) -> anyhow::Result<()> {
        let task = match &entry {
            Ok((task, _)) => Some(*task),
            Err((task, _)) => *task,
        };
        // A line that does not read is a bad input (exit 2), as a bad --ref is.
        let result = entry
            .map_err(|(_, why)| Error::invalid("--file", why).into())
            .and_then(|(task, reference)| done_one(ctx, task, &reference, &mut self.addresses));
        match result {
            Ok(d) => self.done.push(d),
            Err(e) => {
                self.failed += 1;
                if self.refused.len() < REFUSED_TOLD {
                    let why = crate::output::sanitize::line(&format!("{e:#}"));
                    crate::output::stderr_line(&format!("dsr: {}: line {line}: {why}", self.path.display()))?;
                    let code = Code::of_error(&e);
                    self.refused
                        .push(serde_json::json!({"line": line, "task": task, "error": why, "exit_code": code as u8}));
                }
            }
        }
        Ok(())
    }

    fn finish(self, ctx: &mut Session) -> anyhow::Result<Code> {
        let FileRun { path, done, addresses, refused, failed } = self;
        if failed > refused.len() {
            crate::output::stderr_line(&format!(
                "dsr: {}: {} more lines refused, not told one by one",
                path.display(),
                failed - refused.len()
            ))?;
        }
        clean_after(ctx, &done.iter().collect::<Vec<_>>(), &addresses)?;
        if ctx.out.json {
            ctx.out
                .json(&serde_json::json!({"format_version": 1, "done": done, "failed": failed, "refused": refused}))?;
        }
        Ok(if failed == 0 { Code::Ok } else { Code::BatchFailed })
    }
}
