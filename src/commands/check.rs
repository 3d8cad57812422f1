//! `dsr check`: the processing check other systems call, for one person or a stream of addresses.

use std::io::{BufRead, Write};

use serde_json::json;

use crate::check::Checker;
use crate::cli::CheckArgs;
use crate::error::Error;
use crate::exit::Code;
use crate::register::Register;
use crate::subject::{self, Identifier, Resolution};

use super::{identifier, Ctx};

pub fn check(ctx: &mut Ctx, args: &CheckArgs) -> anyhow::Result<Code> {
    let register = Register::load(&ctx.store.conn)?;
    let checker = Checker::new(&ctx.store.conn, &register, &args.purpose)?;
    if args.stdin {
        return stream(ctx, &checker);
    }
    let id = identifier(&args.subject)?;
    let conn = &ctx.store.conn;
    let verdict = match (&id, subject::resolve(conn, &id)?) {
        (_, Resolution::NotFound) => {
            if ctx.out.json {
                ctx.out.json(&json!({"format_version": 1, "purpose": args.purpose, "allowed": false, "reason": "unknown-person", "detail": "no person on file matches"}))?;
            } else {
                ctx.out.data(&format!("Not allowed: no person on file matches this {}.", id.kind()))?;
            }
            return Ok(Code::NotFound);
        }
        // An address is checked as the address: consent to the newsletter is per address.
        (Identifier::Email(e), Resolution::Found(_) | Resolution::Ambiguous(_)) => checker.email(conn, e)?,
        (_, Resolution::Ambiguous(c)) => return Err(Error::Ambiguous { kind: id.kind(), people: c.len() }.into()),
        (_, Resolution::Found(s)) => checker.person(conn, s.person_id)?,
    };
    if ctx.out.json {
        ctx.out.json(&json!({"format_version": 1, "purpose": args.purpose, "allowed": verdict.allowed, "reason": verdict.reason, "detail": verdict.detail}))?;
    } else if verdict.allowed {
        ctx.out.data(&format!("Allowed: {} may be carried out for this person.", args.purpose))?;
    } else {
        ctx.out.data(&format!(
            "Not allowed ({}): {}.",
            verdict.reason.unwrap_or(""),
            verdict.detail.as_deref().unwrap_or("")
        ))?;
    }
    Ok(if verdict.allowed { Code::Ok } else { Code::NotAllowed })
}

/// Lines looked up together (one statement per batch).
const BATCH: usize = 1024;

/// One address per line in, the allowed ones out, unchanged; streaming, in one read transaction.
fn stream(ctx: &mut Ctx, checker: &Checker) -> anyhow::Result<Code> {
    // A read transaction: one consistent view, and writers are never blocked by the stream.
    let tx = ctx.store.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Deferred)?;
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(256 * 1024, stdout.lock());
    let (mut read, mut allowed, mut malformed) = (0u64, 0u64, 0u64);
    // Bytes, not `String` lines: a line that is not UTF-8 is one malformed line, left out and
    // counted, and the rest of the list still streams through.
    let mut line = Vec::new();
    let mut lookup = checker.stream(&tx)?;
    // A batch of well-formed lines: as given (what goes out), and normalised (what is looked up).
    let (mut given, mut normalised): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    let mut flush =
        |given: &mut Vec<String>, normalised: &mut Vec<String>, out: &mut dyn Write| -> anyhow::Result<u64> {
            let verdicts = checker.emails_allowed(&tx, &mut lookup, normalised)?;
            let mut n = 0;
            for (address, ok) in given.iter().zip(verdicts) {
                if ok {
                    out.write_all(address.as_bytes())?;
                    out.write_all(b"\n")?;
                    n += 1;
                }
            }
            given.clear();
            normalised.clear();
            Ok(n)
        };
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
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
        given.push(address.to_owned());
        normalised.push(n);
        if given.len() == BATCH {
            allowed += flush(&mut given, &mut normalised, &mut out)?;
        }
    }
    allowed += flush(&mut given, &mut normalised, &mut out)?;
    out.flush()?;
    drop(lookup);
    drop(tx);
    ctx.out.status(&format!(
        "dsr check: {read} addresses read, {allowed} allowed for {}, {} not ({malformed} malformed).",
        checker.purpose.code,
        read - allowed
    ))?;
    Ok(Code::Ok)
}
