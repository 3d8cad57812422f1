//! Delivery, the step that completes a request (design.md §4): `dsr access|export REQUEST --send`
//! mails the person the archive with a bilingual cover letter, and `dsr request delivered`
//! records an answer handed over another way. Viewing, printing or writing a file only prepares
//! an answer. Writes the archive, asks for the passphrase and renders; the delivery rules, the
//! cover letter and the transactions are in [`crate::rights::deliver`].

use anyhow::Context;
use lettre::message::{header::ContentType, Attachment};
use serde_json::json;

use crate::cli::CryptArgs;
use crate::error::Error;
use crate::exit::Code;
use crate::mail;
use crate::register::Register;
use crate::request::{self, DeliveryChannel, Request};
use crate::rights::deliver;
use crate::subject::Subject;

use super::Session;

/// `--send`: write the archive, queue it with the cover letter to the address on file (in one
/// transaction with the record that the answer is prepared), then deliver. The request is
/// completed when the mail is delivered.
pub fn send(ctx: &mut Session, req: &Request, s: Subject, crypt: &CryptArgs) -> anyhow::Result<Code> {
    // Before an archive is written and a passphrase shown; asked again in the transaction.
    request::answer_still_to_give(ctx.conn, &req.id)?;
    let register = Register::load(ctx.conn)?;
    let controller = register.controller.clone().ok_or_else(crate::error::Error::no_register)?;
    let named = req.named_email();
    let address = crate::subject::address_on_file(ctx.conn, s.person_id, named.as_deref())?.ok_or_else(|| {
        Error::RequestState(format!(
            "the person of {} has no email address on file; write the answer with --archive/--out, hand it over, then `dsr request delivered {} --channel post|in-person|portal --ref TEXT`",
            req.id, req.id
        ))
    })?;
    let dir = tempfile::Builder::new()
        .prefix(".dsr-send-")
        .tempdir_in(crate::mail::outbox_dir(&ctx.conn.place()).parent().unwrap_or(std::path::Path::new(".")))?;
    let path = dir.path().join("answer.zip");
    let write = |passphrase: Option<&super::export::Passphrase>| {
        let text = passphrase.map(|p| p.text.as_str());
        super::export::archive_file(ctx.conn, ctx.clock, &register, req, s, &path, true, text)
    };
    // Encrypted when asked, or when the archive holds data that must not travel in clear text.
    let mut passphrase = super::export::passphrase(crypt)?;
    let mut manifest = write(passphrase.as_ref())?;
    let sensitive = deliver::sensitive(&register, &manifest);
    if passphrase.is_none() && !sensitive.is_empty() {
        passphrase = super::export::passphrase(&CryptArgs { encrypt: true, passphrase_file: None })?;
        manifest = write(passphrase.as_ref())?;
    }
    let bytes = std::fs::read(&path)?;
    if bytes.len() as u64 > deliver::MAX_ATTACHMENT {
        return Err(Error::invalid(
            "--send",
            format!(
                "the archive is {:.1} MiB, more than the {} MiB mail carries; write it with --archive/--out, hand it over, then `dsr request delivered {} --channel portal|post|in-person --ref TEXT`",
                bytes.len() as f64 / 1048576.0,
                deliver::MAX_ATTACHMENT / 1048576,
                req.id
            ),
        )
        .into());
    }
    let encrypted = passphrase.is_some();
    let name = format!("{}.zip", req.id);
    let letter = deliver::cover_letter(&register, req, &name, encrypted)?;
    let subject = match req.kind()? {
        request::Kind::Export => crate::letters::render::subject(&controller, ("Je gegevens", "Your data"), &req.id),
        _ => crate::letters::render::subject(&controller, ("Inzage in je gegevens", "Access to your data"), &req.id),
    };
    let message = mail::message_with_attachment(
        &controller,
        &address,
        &subject,
        letter,
        Attachment::new(name.clone()).body(bytes, ContentType::parse("application/zip")?),
        ctx.clock,
    )?;
    let generated = passphrase.as_ref().filter(|p| p.generated).map(|p| deliver::Generated {
        why: if sensitive.is_empty() { "asked" } else { "payment or special data" },
        // Shown once, on stderr, even with -q: the person cannot open the archive without it.
        // Before the commit: if it cannot be shown, the transaction (the queued letter, the
        // record) is rolled back and the archive removed with its temporary directory.
        show: || {
            crate::output::stderr_line(&format!(
                "dsr: archive passphrase (shown once; give it to the person by phone, never by the same mail): {}",
                p.text
            ))
            .context("the passphrase could not be shown, so nothing was sent or recorded")
        },
    });
    deliver::queue_answer(ctx.conn, ctx.clock, req, &message, &manifest, encrypted, generated)?;
    drop(dir);
    let flushed = super::flush_committed(ctx.conn, ctx.clock, ctx.opened)?;
    let delivered = flushed.delivered.iter().any(|d| d.request.as_deref() == Some(&req.id) && d.letter == "answer");
    let state = request::load(ctx.conn, &req.id)?.state;
    if ctx.out.json {
        ctx.out.json(&json!({"format_version": 1, "request": req.id, "state": state, "delivered": delivered, "encrypted": encrypted, "manifest": manifest}))?;
    } else if delivered {
        ctx.out.outcome(&format!(
            "The answer to {} was mailed to the address on file ({}); the request is completed.",
            req.id,
            if encrypted { "encrypted" } else { "not encrypted" }
        ))?;
    } else {
        ctx.out.outcome(&format!("The answer to {} is queued for the address on file but not delivered yet; see `dsr request show {}` and `dsr mail flush`.", req.id, req.id))?;
    }
    Ok(Code::Ok)
}

/// `dsr request delivered REQUEST --channel post|in-person|portal --ref TEXT`.
pub fn delivered(ctx: &mut Session, id: &str, channel: DeliveryChannel, reference: &str) -> anyhow::Result<Code> {
    let reference = crate::free_text::required(
        "--ref",
        reference,
        "say how the hand-over can be traced (a tracking number, a portal message id)",
    )?;
    let (id, open) = deliver::delivered(ctx.conn, ctx.clock, id, channel, reference)?;
    let state = if open > 0 { "verified" } else { "completed" };
    if ctx.out.json {
        ctx.out.json(
            &json!({"format_version": 1, "request": id, "state": state, "channel": channel.as_str(), "tasks_open": open}),
        )?;
    } else if open > 0 {
        ctx.out.outcome(&format!(
            "Recorded: the answer to {id} was delivered ({}); the request stays open until its systems' {} acknowledged (dsr tasks).",
            channel.as_str(),
            crate::output::plural(open, "open task is", "open tasks are")
        ))?;
    } else {
        ctx.out.outcome(&format!(
            "Recorded: the answer to {} was delivered ({}); the request is completed.",
            id,
            channel.as_str()
        ))?;
    }
    Ok(Code::Ok)
}
