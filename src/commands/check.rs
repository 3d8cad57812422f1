//! `dsr check`: the processing check other systems call, for one person or a stream of addresses.

use std::collections::VecDeque;
use std::io::{BufRead, Write};
use std::sync::mpsc;

use serde_json::json;

use crate::check::Checker;
use crate::cli::CheckArgs;
use crate::error::Error;
use crate::exit::Code;
use crate::register::Register;
use crate::store::db::Connect;
use crate::subject::{self, Identifier, Resolution};

use super::{identifier, Session};

/// `dsr check`, on either backend: `connect` gives the workers of `--stdin` connections of
/// their own.
pub fn check(ctx: &mut Session, connect: &Connect, args: &CheckArgs) -> anyhow::Result<Code> {
    if args.stdin && ctx.out.json {
        // A filter's output is the lines it lets through, not a document: a script piping it to
        // a JSON reader learns so at once rather than from a parse error later.
        return Err(Error::Usage(
            "--stdin writes the allowed addresses one a line, not JSON: leave out --json (the count goes to stderr)"
                .into(),
        )
        .into());
    }
    let register = Register::load(ctx.conn)?;
    let checker = Checker::new(ctx.conn, &register, &args.purpose)?;
    if args.stdin {
        return stream(ctx, connect, &checker);
    }
    let id = identifier(&args.subject)?;
    let conn = ctx.conn;
    let verdict = match (&id, subject::resolve(conn, &id)?) {
        // An identifier no one holds may still be on the suppression list: not allowed, not unknown.
        (_, Resolution::NotFound) => match checker.unknown(&id) {
            Some(verdict) => verdict,
            None => {
                if ctx.out.json {
                    ctx.out.json(&json!({"format_version": 1, "purpose": args.purpose, "allowed": false, "reason": "unknown-person", "detail": "no person on file matches"}))?;
                } else {
                    ctx.out.outcome(&format!("Not allowed: no person on file matches this {}.", id.kind()))?;
                }
                return Ok(Code::NotFound);
            }
        },
        // An address is checked as the address: consent to the newsletter is per address.
        (Identifier::Email(e), Resolution::Found(_) | Resolution::Ambiguous(_)) => checker.email(conn, e)?,
        (_, Resolution::Ambiguous(c)) => return Err(Error::Ambiguous { kind: id.kind(), people: c.len() }.into()),
        (_, Resolution::Found(s)) => checker.person(conn, s.person_id)?,
    };
    if ctx.out.json {
        ctx.out.json(&json!({"format_version": 1, "purpose": args.purpose, "allowed": verdict.allowed, "reason": verdict.reason, "detail": verdict.detail}))?;
    } else if verdict.allowed {
        ctx.out.outcome(&format!("Allowed: {} may be carried out for this person.", args.purpose))?;
    } else {
        ctx.out.outcome(&format!(
            "Not allowed ({}): {}.",
            verdict.reason.unwrap_or(""),
            verdict.detail.as_deref().unwrap_or("")
        ))?;
    }
    Ok(if verdict.allowed { Code::Ok } else { Code::NotAllowed })
}

/// The most of a line `check --stdin` keeps: far more than an address (254 bytes) with spaces.
const LINE_CAP: usize = 4096;

/// Read one line (with its `\n`) into `line`, keeping at most `cap` bytes of it: `None` at the
/// end of the input, else whether the line was longer (the rest is read past, not kept).
fn capped_line(input: &mut impl BufRead, line: &mut Vec<u8>, cap: usize) -> std::io::Result<Option<bool>> {
    line.clear();
    let (mut any, mut over) = (false, false);
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Ok(any.then_some(over));
        }
        any = true;
        let (n, end) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        let room = cap.saturating_sub(line.len());
        over |= n > room;
        line.extend_from_slice(&buf[..n.min(room)]);
        input.consume(n);
        if end {
            return Ok(Some(over));
        }
    }
}

/// Lines looked up together (one statement per batch).
const BATCH: usize = 1024;

/// Batches in flight per worker: the reader keeps every worker busy while it writes out the
/// verdicts of the oldest batch.
const AHEAD: usize = 2;

/// A batch of well-formed lines: as given (what goes out) and normalised (what is looked up),
/// and the verdicts once looked up.
#[derive(Default)]
struct Batch {
    given: Vec<String>,
    normalised: Vec<String>,
    allowed: Vec<bool>,
}

/// One address per line in, the allowed ones out, unchanged and in input order; streaming.
/// The lookups run on two workers per CPU (at most eight; while one waits for a page from disk,
/// another uses the core), each with its own connection reading in one read transaction
/// (writers are never blocked by the stream); this thread reads and normalises the lines, hands
/// out batches in turn and writes each batch's verdicts in order.
fn stream(ctx: &mut Session, connect: &Connect, checker: &Checker) -> anyhow::Result<Code> {
    let workers = 2 * std::thread::available_parallelism().map(usize::from).unwrap_or(1).clamp(1, 4);
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(256 * 1024, stdout.lock());
    let (mut read, mut allowed, mut malformed) = (0u64, 0u64, 0u64);
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let mut lanes = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (to_worker, batches) = mpsc::channel::<Batch>();
            let (to_reader, verdicts) = mpsc::channel::<anyhow::Result<Batch>>();
            scope.spawn(move || {
                let work = || -> anyhow::Result<()> {
                    let conn = connect()?;
                    let tx = conn.snapshot()?;
                    let mut lookup = checker.stream(&*tx)?;
                    for mut batch in batches {
                        batch.allowed = checker.emails_allowed(&*tx, &mut lookup, &batch.normalised)?;
                        if to_reader.send(Ok(batch)).is_err() {
                            break;
                        }
                    }
                    Ok(())
                };
                if let Err(e) = work() {
                    let _ = to_reader.send(Err(e));
                }
            });
            lanes.push((to_worker, verdicts));
        }
        // The lane of each batch in flight, oldest first.
        let mut in_flight: VecDeque<usize> = VecDeque::new();
        let mut next_lane = 0;
        let write_oldest = |in_flight: &mut VecDeque<usize>, out: &mut dyn Write| -> anyhow::Result<u64> {
            let Some(lane) = in_flight.pop_front() else { return Ok(0) };
            let batch = lanes[lane].1.recv().map_err(|_| anyhow::anyhow!("a check worker stopped"))??;
            let mut n = 0;
            for (address, ok) in batch.given.iter().zip(batch.allowed) {
                if ok {
                    out.write_all(address.as_bytes())?;
                    out.write_all(b"\n")?;
                    n += 1;
                }
            }
            Ok(n)
        };
        let mut send = |batch: Batch, in_flight: &mut VecDeque<usize>, out: &mut dyn Write| -> anyhow::Result<u64> {
            let mut written = 0;
            if in_flight.len() >= AHEAD * workers {
                written += write_oldest(in_flight, out)?;
            }
            let lane = next_lane;
            next_lane = (next_lane + 1) % workers;
            if lanes[lane].0.send(batch).is_err() {
                // The worker stopped: its error is the next thing it sent.
                in_flight.push_back(lane);
                while !in_flight.is_empty() {
                    write_oldest(in_flight, out)?;
                }
                anyhow::bail!("a check worker stopped");
            }
            in_flight.push_back(lane);
            Ok(written)
        };
        // Bytes, not `String` lines: a line that is not UTF-8 is one malformed line, left out and
        // counted, and the rest of the list still streams through.
        let mut line = Vec::new();
        let mut batch = Batch::default();
        while let Some(overlong) = capped_line(&mut input, &mut line, LINE_CAP)? {
            // A line longer than any address (garbage, a file without line ends) is one malformed
            // line, read past without being held whole.
            if overlong {
                read += 1;
                malformed += 1;
                continue;
            }
            let Ok(text) = std::str::from_utf8(&line) else {
                read += 1;
                malformed += 1;
                continue;
            };
            let address = text.trim();
            if address.is_empty() {
                continue;
            }
            read += 1;
            let Ok(n) = subject::normalize_email(address) else {
                malformed += 1;
                continue;
            };
            batch.given.push(address.to_owned());
            // The form the map compares (a copy only where it differs).
            let n = match checker.compared(&n) {
                std::borrow::Cow::Owned(folded) => folded,
                std::borrow::Cow::Borrowed(_) => n,
            };
            batch.normalised.push(n);
            if batch.given.len() == BATCH {
                allowed += send(std::mem::take(&mut batch), &mut in_flight, &mut out)?;
            }
        }
        if !batch.given.is_empty() {
            allowed += send(batch, &mut in_flight, &mut out)?;
        }
        while !in_flight.is_empty() {
            allowed += write_oldest(&mut in_flight, &mut out)?;
        }
        Ok(())
    })?;
    out.flush()?;
    ctx.out.status(&format!(
        "dsr check: {} read, {allowed} allowed for {}, {} not ({malformed} malformed).",
        crate::output::plural(read as i64, "address", "addresses"),
        checker.purpose.code,
        read - allowed
    ))?;
    Ok(Code::Ok)
}

#[cfg(test)]
mod tests {
    use super::capped_line;

    #[test]
    fn a_line_longer_than_the_cap_is_read_past_and_said_to_be() {
        let text = format!("a@example.nl\n{}\nb@example.nl", "x".repeat(100_000));
        let mut input = std::io::BufReader::with_capacity(64, text.as_bytes());
        let mut line = Vec::new();
        assert_eq!(capped_line(&mut input, &mut line, 4096).unwrap(), Some(false));
        assert_eq!(line, b"a@example.nl\n");
        assert_eq!(capped_line(&mut input, &mut line, 4096).unwrap(), Some(true));
        assert_eq!(line.len(), 4096, "no more than the cap is kept");
        assert_eq!(capped_line(&mut input, &mut line, 4096).unwrap(), Some(false));
        assert_eq!(line, b"b@example.nl", "the last line without its end");
        assert_eq!(capped_line(&mut input, &mut line, 4096).unwrap(), None);
    }
}
