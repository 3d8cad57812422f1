//! `dsr intake`: read the privacy mailbox into requests ([`crate::inbox`]), list what waits for
//! the officer, and resolve it; on either backend. Messages are acted on in groups of
//! [`GROUP`], one transaction each (a message with its record), so an interrupted run leaves
//! every message read or unread, and a second run picks up where the first stopped.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use serde::Serialize;

use super::Session;
use crate::cli::IntakeArgs;
use crate::error::Error;
use crate::exit::Code;
use crate::inbox::{self, ledger, Taken};
use crate::output::sanitize;

/// The run's counts, as the summary says them.
#[derive(Debug, Default, Serialize)]
struct Summary {
    read: usize,
    opened: usize,
    /// Messages asking for a right whose request was open already: nothing new opened.
    already_open: usize,
    verified: usize,
    code_refused: usize,
    needs_review: usize,
    listed: usize,
    unreadable: usize,
    seen_before: usize,
    not_read: usize,
}

impl Summary {
    fn add(&mut self, t: &Taken) {
        self.read += 1;
        let counter = match t.outcome {
            None => &mut self.seen_before,
            Some(ledger::Outcome::Opened) if t.reason.is_some() => &mut self.already_open,
            Some(ledger::Outcome::Opened) => &mut self.opened,
            Some(ledger::Outcome::Verified) => &mut self.verified,
            Some(ledger::Outcome::CodeRefused) => &mut self.code_refused,
            Some(ledger::Outcome::NeedsReview) => &mut self.needs_review,
            Some(ledger::Outcome::Listed) => &mut self.listed,
            Some(ledger::Outcome::Unreadable) => &mut self.unreadable,
        };
        *counter += 1;
    }

    fn line(&self) -> String {
        format!(
            "{} message{} read: {} opened{}, {} verified, {} code refused, {} needs review, {} listed, {} unreadable, {} read before{}",
            self.read,
            if self.read == 1 { "" } else { "s" },
            self.opened,
            match self.already_open {
                0 => String::new(),
                n => format!(" ({n} more for a request already open)"),
            },
            self.verified,
            self.code_refused,
            self.needs_review,
            self.listed,
            self.unreadable,
            self.seen_before,
            if self.not_read > 0 { format!("; {} could not be read", self.not_read) } else { String::new() }
        )
    }
}

/// A message that could not be read from its file (it stays where it is, unread).
#[derive(Debug, Serialize)]
struct NotRead {
    origin: String,
    error: String,
}

pub fn intake(s: &mut Session, args: &IntakeArgs) -> anyhow::Result<Code> {
    if let Some(id) = args.resolve {
        return resolve(s, id, args.request.as_deref(), args.note.as_deref());
    }
    if args.list {
        return list(s);
    }
    if let Some(dir) = &args.watch {
        return watch(s, dir, args.every);
    }
    let prepared = inbox::Prepared::load(s.conn)?;
    let sources = inbox::read_sources(&args.files)?;
    let mut summary = Summary::default();
    // The group in hand; with --json every message, for the one document at the end.
    let (mut group, mut all, mut not_read) = (Vec::new(), Vec::new(), Vec::new());
    let mut batch = inbox::Batch::new(s.conn);
    for source in sources {
        match one(&mut batch, s.clock, &prepared, source)? {
            Ok(t) => {
                summary.add(&t);
                group.push(t);
                if group.len() == GROUP {
                    commit(s, &mut batch, &group)?;
                    keep(s, &mut group, &mut all);
                }
            }
            Err(n) => {
                summary.not_read += 1;
                crate::output::stderr_line(&format!(
                    "dsr: {}: could not be read: {}",
                    sanitize::line(&n.origin),
                    sanitize::line(&n.error)
                ))?;
                not_read.push(n);
            }
        }
    }
    commit(s, &mut batch, &group)?;
    keep(s, &mut group, &mut all);
    if s.out.json {
        s.out.json(
            &serde_json::json!({"format_version": 1, "messages": all, "not_read": not_read, "summary": summary}),
        )?;
    } else {
        s.out.status(&summary.line())?;
        if summary.needs_review + summary.listed + summary.unreadable > 0 {
            s.out.status("Messages waiting for you: dsr intake --list")?;
        }
    }
    Ok(if summary.not_read > 0 { Code::BatchFailed } else { Code::Ok })
}

/// Messages acted on in one transaction: a commit (and its sync) a group, not a message; small
/// enough that what is reported follows the mailbox closely and other officers wait little.
const GROUP: usize = 200;

/// Commit the batch, then tell what its messages did.
fn commit(s: &Session, batch: &mut inbox::Batch, taken: &[Taken]) -> anyhow::Result<()> {
    batch.commit()?;
    if !s.out.json {
        for t in taken {
            s.out.data(&describe(t))?;
        }
    }
    Ok(())
}

/// After a group is told: kept for the `--json` document, or let go.
fn keep(s: &Session, group: &mut Vec<Taken>, all: &mut Vec<Taken>) {
    if s.out.json {
        all.append(group);
    } else {
        group.clear();
    }
}

/// Read, parse and act on one source; its bytes unreadable is the message's outcome, not the run's.
fn one(
    batch: &mut inbox::Batch,
    clock: &crate::clock::Clock,
    prepared: &inbox::Prepared,
    source: inbox::Source,
) -> anyhow::Result<Result<Taken, NotRead>> {
    let bytes = match source.bytes {
        Ok(b) => b,
        Err(e) => return Ok(Err(NotRead { origin: source.origin, error: e.to_string() })),
    };
    let mail = inbox::parse(source.origin, &bytes);
    drop(bytes);
    Ok(Ok(batch.take(clock, prepared, &mail)?))
}

/// One line for the officer about one message.
fn describe(t: &Taken) -> String {
    let origin = sanitize::line(&t.origin);
    let request = t.request.as_deref().unwrap_or("-");
    let reason = t.reason.as_deref().map(sanitize::line).unwrap_or_default();
    let number = t.message.map(|n| format!("#{n}")).unwrap_or_default();
    match (t.outcome, &t.seen) {
        (None, Some(before)) => format!(
            "read before ({before}{}): {origin}",
            t.request.as_deref().map(|r| format!(", {r}")).unwrap_or_default()
        ),
        (Some(ledger::Outcome::Opened), _) => format!(
            "opened {request} ({}, received {}){}: {origin}",
            t.right.as_deref().unwrap_or_default(),
            t.received_on.map(|d| d.to_string()).unwrap_or_default(),
            if reason.is_empty() { String::new() } else { format!("; {reason}") }
        ),
        (Some(ledger::Outcome::Verified), _) => format!("verified {request} by a reply carrying its code: {origin}"),
        (Some(ledger::Outcome::CodeRefused), _) => format!("code refused for {request}: {reason}: {origin}"),
        (Some(o), _) => format!("{} {number}: {reason}: {origin}", o.as_str()),
        (None, None) => format!("?: {origin}"),
    }
}

/// `dsr intake --watch DIR`: look at DIR every `every` seconds and read what is new, until
/// interrupted: Ctrl-C or SIGTERM stops it between two messages; a second one (a round that
/// hangs on a mail server) ends it at once through the signal handler of `fsutil`, which removes
/// an unrecorded letter file, and the uncommitted group is undone. Files are remembered by name
/// within the run; a new run reads them again and finds them read (by SHA-256).
fn watch(s: &mut Session, dir: &Path, every: u64) -> anyhow::Result<Code> {
    if !dir.is_dir() {
        return Err(Error::invalid(
            "--watch",
            format!("{} is not a folder; name a Maildir or a folder of .eml files", dir.display()),
        )
        .into());
    }
    let stop = crate::fsutil::stop_flag()?;
    let prepared = inbox::Prepared::load(s.conn)?;
    let mut done = std::collections::HashSet::<PathBuf>::new();
    let mut unlisted_said = std::collections::HashSet::<PathBuf>::new();
    let maildir = inbox::is_maildir(dir);
    let mut summary = Summary::default();
    s.out.status(&format!("Watching {} every {every} s; Ctrl-C stops.", sanitize::line(&dir.display().to_string())))?;
    while !stop.load(Ordering::Relaxed) {
        let mut round = Vec::new();
        // In a plain folder, a file changed in the last two seconds may still be being written.
        let (settled, unlisted) = inbox::folder_listing(dir, std::time::Duration::from_secs(2));
        for (folder, e) in unlisted {
            // Said once, not at every look.
            if unlisted_said.insert(folder.clone()) {
                crate::output::stderr_line(&format!(
                    "dsr: {}: could not be read: {}",
                    sanitize::line(&folder.display().to_string()),
                    sanitize::line(&e.to_string())
                ))?;
            }
        }
        let new: Vec<PathBuf> = settled.into_iter().filter(|f| !done.contains(f)).collect();
        let mut batch = inbox::Batch::new(s.conn);
        for file in new {
            if stop.load(Ordering::Relaxed) || round.len() == GROUP {
                break;
            }
            // A file is done once each of its messages is read (an mbox file may hold several;
            // those read before a failure are `read before` when the file is looked at again).
            let mut whole = true;
            let sources = if maildir { inbox::one_message(file.clone()) } else { inbox::file_sources(file.clone()) };
            for source in sources {
                match one(&mut batch, s.clock, &prepared, source)? {
                    Ok(t) => {
                        summary.add(&t);
                        round.push(t);
                    }
                    // A file still being written, or gone: looked at again next time.
                    Err(n) => {
                        whole = false;
                        crate::output::stderr_line(&format!(
                            "dsr: {}: could not be read: {}",
                            sanitize::line(&n.origin),
                            sanitize::line(&n.error)
                        ))?
                    }
                }
            }
            if whole {
                done.insert(file);
            }
        }
        batch.commit()?;
        for t in &round {
            if s.out.json {
                println!("{}", serde_json::to_string(t)?);
            } else {
                s.out.data(&describe(t))?;
            }
        }
        if !round.is_empty() {
            super::flush_committed(s.conn, s.clock, s.opened)?;
        }
        // A full group: the rest of the folder at once, not after a pause.
        if round.len() == GROUP {
            continue;
        }
        for _ in 0..every * 10 {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    s.out.status(&summary.line())?;
    Ok(Code::Ok)
}

/// `dsr intake --list`: what waits for the officer, with the text to read.
fn list(s: &mut Session) -> anyhow::Result<Code> {
    let waiting = ledger::waiting(s.conn, false)?;
    if s.out.json {
        s.out.json(&serde_json::json!({"format_version": 1, "waiting": waiting}))?;
        return Ok(Code::Ok);
    }
    if waiting.is_empty() {
        s.out.outcome("No message waits for you.")?;
        return Ok(Code::Ok);
    }
    for w in &waiting {
        s.out.data(&waiting_block(w))?;
    }
    s.out.status(
        "When done: dsr RIGHT --review REQUEST for a message in review, or dsr intake --resolve N --request REQUEST (the request you opened for it), or --note TEXT",
    )?;
    Ok(Code::Ok)
}

/// A waiting message as the officer reads it: number, outcome, dates, sender, subject, why, and
/// the first lines of its text (escape sequences and controls made visible; a long line cut),
/// and the SHA-256 it is known by.
pub fn waiting_block(w: &ledger::Waiting) -> String {
    let mut block = format!(
        "#{} {}{} (read {}{}){}\n  from: {}\n  subject: {}\n  why: {}\n  sha256: {}\n",
        w.id,
        w.outcome,
        w.request.as_deref().map(|r| format!(" {r}")).unwrap_or_default(),
        &w.read_at[..10.min(w.read_at.len())],
        w.sent_at.as_deref().map(|d| format!(", sent {}", &d[..10.min(d.len())])).unwrap_or_default(),
        w.asks.as_deref().map(|a| format!(", asks: {a}")).unwrap_or_default(),
        sanitize::line(w.sender.as_deref().unwrap_or("-")),
        sanitize::line(w.subject.as_deref().unwrap_or("-")),
        sanitize::line(w.reason.as_deref().unwrap_or("-")),
        w.sha256,
    );
    let text = sanitize::text(w.text.as_deref().unwrap_or_default(), true);
    for line in text.lines().filter(|l| !l.trim().is_empty()).take(15) {
        match line.char_indices().nth(LINE_CHARS) {
            Some((cut, _)) => block.push_str(&format!("  | {} [...]\n", &line[..cut])),
            None => block.push_str(&format!("  | {line}\n")),
        }
    }
    block
}

/// The characters of a text line `--list` shows; the rest is cut.
const LINE_CHARS: usize = 200;

/// `dsr intake --resolve N`: the officer dealt with a waiting message.
fn resolve(s: &mut Session, id: i64, request: Option<&str>, note: Option<&str>) -> anyhow::Result<Code> {
    let note = note.map(str::trim).unwrap_or_default();
    if request.is_none() && note.is_empty() {
        return Err(Error::invalid(
            "--resolve",
            "say what was done: --request REQUEST (the request opened for it) or --note TEXT",
        )
        .into());
    }
    ledger::resolve(s.conn, s.clock, id, request, note)?;
    if s.out.json {
        s.out.json(&serde_json::json!({"format_version": 1, "message": id, "resolved": true, "request": request}))?;
    } else {
        s.out.outcome(&format!("Message #{id} is resolved; its sender, subject and text are no longer kept."))?;
    }
    Ok(Code::Ok)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_waiting_message_shows_its_hash_and_a_long_line_cut() {
        let w = super::ledger::Waiting {
            id: 27,
            outcome: "listed".into(),
            read_at: "2026-12-07T08:00:00Z".into(),
            sent_at: None,
            reason: Some("asks for no right".into()),
            asks: None,
            request: None,
            sender: Some("sophie.smit@example.org".into()),
            subject: Some("hallo".into()),
            text: Some(format!("{}\nshort line", "bla ".repeat(30_000))),
            sha256: "ab".repeat(32),
        };
        let block = super::waiting_block(&w);
        assert!(block.contains(&format!("  sha256: {}\n", "ab".repeat(32))), "{block}");
        assert!(block.lines().all(|l| l.chars().count() <= super::LINE_CHARS + 10), "{block}");
        assert!(block.contains(" [...]\n  | short line\n"), "{block}");
    }
}
