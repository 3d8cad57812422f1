//! `dsr access`: open an access request (and send the code), or answer a verified one.

use serde::Serialize;
use serde_json::json;

use crate::archive::{present, sections};
use crate::cli::{AccessArgs, OpenArgs, SubjectArgs};
use crate::error::Error;
use crate::exit::Code;
use crate::output::{sanitize, table, Output};
use crate::request::{Channel, Kind, NewRequest};
use crate::rights::access::{self, AccessReport, Shown};
use crate::rights::intake::{self, Intake};

use super::{given, identifier, interactive, Session};

/// `dsr access`: open a request, or answer a verified one; on either backend.
pub fn access(ctx: &mut Session, args: &AccessArgs) -> anyhow::Result<Code> {
    // Encryption is of an archive: asked for with a JSON answer or an opening, it would be
    // silently left out, and a plain file of the person's data written where one was asked not to be.
    if args.crypt.asked() && args.archive.is_none() && !args.send {
        return Err(not_an_archive(&args.crypt));
    }
    match &args.request {
        Some(id) => answer(ctx, id, args),
        None => open(ctx, Kind::Access, &args.subject, &args.open, json!({})),
    }
}

/// `--encrypt` or `--passphrase-file` where no archive is written (an opening, a JSON answer).
pub fn not_an_archive(crypt: &crate::cli::CryptArgs) -> anyhow::Error {
    let flag = if crypt.encrypt { "--encrypt" } else { "--passphrase-file" };
    Error::invalid(
        flag,
        "encrypts an archive: name one (--archive FILE.zip, export's --out) or --send; nothing else is encrypted",
    )
    .into()
}

/// The acknowledgement of an opened request: the same fields whether or not the identifier
/// named anyone, so the officer's screen never tells an impostor who is a customer.
#[derive(Debug, Serialize)]
pub struct Opened {
    pub format_version: u32,
    pub request: String,
    pub right: String,
    pub state: String,
    pub received_on: chrono::NaiveDate,
    pub due_on: chrono::NaiveDate,
    /// false when an open request for the same person and right already existed.
    pub new: bool,
    pub message: String,
    pub next: String,
}

/// Open a request for any right: resolve, dedupe, and send the code to the address on file.
pub fn open(
    s: &mut Session,
    kind: Kind,
    who: &SubjectArgs,
    how: &OpenArgs,
    params: serde_json::Value,
) -> anyhow::Result<Code> {
    if let Some(review) = &how.review {
        let decided = intake::decide_review(s.conn, s.clock, review, kind, params)?;
        *s.opened = Some(decided.request.id.clone());
        let message = format!(
            "Request {} is now a request of the right {} (received {}). If the person is on file with an email address, a one-time code was sent to that address.",
            decided.request.id,
            decided.request.right,
            decided.request.received_on
        );
        let next = format!("dsr verify {}", decided.request.id);
        return opened(s, &decided.request, true, message, true, next);
    }
    let id = identifier(who)?;
    let received_on = how.received.unwrap_or_else(|| s.clock.now().date_naive());
    let given = given(who);
    let new = NewRequest {
        kind,
        identifier: &id,
        given: &given,
        channel: how.channel.unwrap_or(Channel::Email),
        received_on,
        params,
        resolved: None,
    };
    let Intake { request: req, fresh, amended, held_back } = intake::open(s.conn, s.clock, &new)?;
    *s.opened = Some(req.id.clone());
    // A new request without its code, or one whose details were replaced and whose earlier code
    // no longer works: the exit code tells a script (7 or 8) that no code went out.
    let held = held_back.as_ref().filter(|_| fresh || amended).map(crate::Error::code);
    // Whether a code of this request is out: one sent now, or, for a request already open and
    // not changed, one sent before (a request opened at the limit has none until --resend).
    let sent = match fresh || amended {
        true => held_back.is_none(),
        false => req.person_id.is_none() || crate::request::code_sent(s.conn, &req)?,
    };
    // No code is taken while the person's verification is locked: the next step is the unlock.
    // (Known or not: what dsr answers never tells whether the address is on file.)
    let locked = crate::request::locked(s.conn, &req)?;
    let next = if locked {
        crate::request::unlock_command(&req.id)
    } else if sent {
        format!("dsr verify {}", req.id)
    } else {
        format!("dsr verify --resend {}", req.id)
    };
    let message = if let Some(why) = held_back.as_ref().filter(|_| fresh) {
        format!(
            "Request {} ({}) opened; {why}. Its deadline runs; send the code later with `dsr verify --resend {}`.",
            req.id, req.right, req.id
        )
    } else if fresh {
        format!("Request {} ({}) opened. If the person is on file with an email address, a one-time code was sent to that address.", req.id, req.right)
    } else if let Some(why) = held_back {
        format!(
            "Request {} ({}) was already open for this person; it now asks what was given here, replacing what it asked before. The earlier code no longer works, and {why}; send a new one later with `dsr verify --resend {}`.",
            req.id, req.right, req.id
        )
    } else if amended {
        format!(
            "Request {} ({}) was already open for this person; it now asks what was given here, replacing what it asked before. The earlier code no longer works; if the person is on file with an email address, a new code naming these details was sent to that address.",
            req.id, req.right
        )
    } else {
        // Its month runs from the first receipt: an earlier --received moved it there, a later
        // one leaves it.
        format!(
            "Request {} ({}) is already open for this person, received on {} (due {}); no new code was sent (use `dsr verify --resend {}`).",
            req.id,
            req.right,
            req.received_on,
            req.deadline(),
            req.id
        )
    };
    let code = opened(s, &req, fresh, message, sent && !locked, next)?;
    Ok(held.unwrap_or(code))
}

/// Tell the officer what opening did (and offer to take the code now, on a terminal).
fn opened(
    s: &mut Session,
    req: &crate::request::Request,
    fresh: bool,
    message: String,
    code_sent: bool,
    next: String,
) -> anyhow::Result<Code> {
    let opened = Opened {
        format_version: 1,
        request: req.id.clone(),
        right: req.right.clone(),
        state: req.state.clone(),
        received_on: req.received_on,
        due_on: req.due_on,
        new: fresh,
        message,
        next,
    };
    if s.out.json {
        s.out.json(&opened)?;
        return Ok(Code::Ok);
    }
    if s.out.quiet {
        // A script's `id=$(dsr -q erase --email ...)`: the request is the data.
        s.out.data(&req.id)?;
        return Ok(Code::Ok);
    }
    s.out.data(&format!(
        "{}\nReceived {}, due {}. {}: {}",
        opened.message,
        opened.received_on,
        opened.due_on,
        if code_sent { "When the person relays the code" } else { "When a code may go out" },
        opened.next
    ))?;
    if code_sent && req.state == "awaiting-verification" && interactive(s.out) {
        let now = crate::output::prompt::guarded(|| {
            dialoguer::Confirm::new().with_prompt("Enter the code now?").default(false).interact()
        })?;
        if now {
            return super::verify::check_interactively(s, &req.id);
        }
    }
    Ok(Code::Ok)
}

/// The access answer on the terminal, as JSON, in a file (`--out`) or an archive (`--archive`),
/// prepared (not delivered); or mailed (`--send`), which delivers it.
fn answer(session: &mut Session, id: &str, args: &AccessArgs) -> anyhow::Result<Code> {
    if args.send {
        let (req, s) = crate::rights::verified(session.conn, id, Kind::Access)?;
        return super::deliver::send(session, &req, s, &args.crypt);
    }
    if let Some(path) = &args.archive {
        let (req, s) = crate::rights::verified(session.conn, id, Kind::Access)?;
        return super::export::archive_on(session, &req, s, path, args.force, &args.crypt);
    }
    let to = match (&args.out, session.out.json) {
        (Some(_), _) => Shown::File,
        (None, true) => Shown::Json,
        (None, false) => Shown::Terminal,
    };
    let out = session.out;
    access::prepared(session.conn, session.clock, id, to, |req, report| {
        match &args.out {
            Some(path) => {
                crate::fsutil::write_private(path, args.force, |file| {
                    let mut w = std::io::BufWriter::new(file);
                    serde_json::to_writer_pretty(&mut w, report)?;
                    std::io::Write::write_all(&mut w, b"\n")?;
                    std::io::Write::flush(&mut w)?;
                    Ok(())
                })?;
                out.status(&format!("Wrote the access answer for {} to {} (mode 0600).", req.id, path.display()))?;
            }
            None if out.json => out.json(report)?,
            None => out.data(&render_access(report, out)?)?,
        }
        Ok(())
    })?;
    Ok(Code::Ok)
}

/// Rows per table shown on a terminal; the JSON and --out answer hold every row.
const TERMINAL_ROWS: usize = 20;

/// The answer on a terminal, as the person would read it (the same sections as `index.html`):
/// who we are, the Art. 15(1) summary, the automated decision per invoice, the person's requests,
/// then the data with euros, yes/no, Dutch local times, translated codes and no internal ids.
pub fn render_access(r: &AccessReport<'_>, out: &Output) -> anyhow::Result<String> {
    let mut s = format!(
        "Access answer for request {id} (GDPR Art. 15) / Antwoord op inzageverzoek {id} (art. 15 AVG)\n",
        id = r.request.id
    );
    for (label, value) in sections::controller_lines(&r.controller) {
        s.push_str(&format!("{label}: {}\n", sanitize::line(&value)));
    }
    s.push_str(&format!(
        "Generated / Gemaakt {}; {} records in {} categories / {} gegevens in {} categorieën.\n{}\n{}\n",
        present::when(Some(&r.generated_at)),
        r.person.records,
        r.categories.len(),
        r.person.records,
        r.categories.len(),
        present::TIME_NOTE_EN,
        present::TIME_NOTE_NL
    ));
    let copy = sections::Copy {
        controller: &r.controller,
        register: &r.register,
        held: r.categories.iter().filter_map(|c| r.register.category(&c.code).map(|cat| (cat, c.records))).collect(),
        recipients: &r.recipients,
        decisions: r.automated_decisions.iter().map(|d| (&d.decision, d.invoices.as_slice())).collect(),
        history: Some(&r.history),
    };
    let names = present::Names(&r.register);
    let all = sections::summary(&copy)
        .into_iter()
        .chain(sections::decisions(&copy))
        .chain(sections::history(&r.history, &names));
    for section in all {
        let mark = if section.level <= 2 { "==" } else { "--" };
        s.push_str(&format!("\n{mark} {}\n", sanitize::line(&present::bi(&section.en, &section.nl))));
        paragraphs(&mut s, &section.text);
        if !section.header.is_empty() {
            let header: Vec<&str> = section.header.iter().map(String::as_str).collect();
            let mut tb = table::new(out, &header);
            for row in &section.rows {
                tb.add_row(row.iter().map(|c| table::cell(c)).collect::<Vec<_>>());
            }
            s.push_str(&format!("{tb}\n"));
        }
        paragraphs(&mut s, &section.after);
    }
    s.push_str("\n== Your data / Je gegevens\n");
    for c in &r.categories {
        s.push_str(&format!("\n-- {} ({} records / gegevens)\n", present::bi(&c.name_en, &c.name_nl), c.records));
        for t in &c.tables {
            let preview = t.rows.preview(TERMINAL_ROWS)?;
            let columns: Vec<&String> =
                preview.first().map(|row| row.keys().filter(|k| !present::hidden(k)).collect()).unwrap_or_default();
            let header: Vec<String> = columns.iter().map(|k| names.heading(&t.table, k)).collect();
            let mut tb = table::new(out, &header.iter().map(String::as_str).collect::<Vec<_>>());
            for row in &preview {
                tb.add_row(
                    columns.iter().map(|k| table::cell(&names.cell(&t.table, k, &row[k.as_str()]))).collect::<Vec<_>>(),
                );
            }
            let (en, nl) = crate::archive::labels::table(&r.register.map, &t.table);
            s.push_str(&format!("{} ({} rows / rijen)\n{tb}\n", present::bi(&en, &nl), t.records));
            if t.records > TERMINAL_ROWS as u64 {
                s.push_str(&format!(
                    "... and {n} more rows (all of them with --json or --out) / ... en nog {n} rijen (allemaal met --json of --out)\n",
                    n = t.records - TERMINAL_ROWS as u64
                ));
            }
        }
    }
    Ok(s)
}

fn paragraphs(s: &mut String, text: &[(String, String)]) {
    for (en, nl) in text {
        s.push_str(&sanitize::line(en));
        s.push('\n');
        if nl != en {
            s.push_str(&sanitize::line(nl));
            s.push('\n');
        }
    }
}
