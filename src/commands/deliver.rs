//! Delivery, the step that completes a request (design.md §4): `dsr access|export REQUEST --send`
//! mails the person the archive with a bilingual cover letter, and `dsr request delivered`
//! records an answer handed over another way. Viewing, printing or writing a file only prepares
//! an answer.

use anyhow::Context;
use lettre::message::{header::ContentType, Attachment};
use serde_json::json;

use crate::answers::Text;
use crate::cli::CryptArgs;
use crate::error::Error;
use crate::exit::Code;
use crate::queue::OnSent;
use crate::register::Register;
use crate::request::{self, DeliveryChannel, Request};
use crate::subject::Subject;
use crate::{audit, mail};

use super::Ctx;

/// The largest archive sent as an attachment: 10 MiB (about 13.5 MiB once base64-encoded, under
/// the 20-25 MiB most mail servers accept). A larger answer is handed over another way.
pub const MAX_ATTACHMENT: u64 = 10 * 1024 * 1024;

/// Categories whose data goes by mail only encrypted: payment data (IBAN, card digits) and job
/// applications (CVs and letters may hold special categories of data, Art. 9).
const ENCRYPTED_BY_MAIL: &[&str] = &["payment", "applications"];

/// `--send`: write the archive, queue it with the cover letter to the address on file (in one
/// transaction with the record that the answer is prepared), then deliver. The request is
/// completed when the mail is delivered.
pub fn send(ctx: &mut Ctx, req: &Request, s: Subject, crypt: &CryptArgs) -> anyhow::Result<Code> {
    if req.state != "verified" {
        return Err(Error::RequestState(format!(
            "request {} is {}; its answer was delivered already",
            req.id, req.state
        ))
        .into());
    }
    let register = Register::load(&ctx.store.conn)?;
    let controller = register.controller.clone().ok_or_else(|| anyhow::anyhow!("the store has no register"))?;
    let named = req.named_email();
    let address = crate::subject::address_on_file(&ctx.store.conn, s.person_id, named.as_deref())?.ok_or_else(|| {
        Error::RequestState(format!(
            "the person of {} has no email address on file; write the answer with --archive/--out, hand it over, then `dsr request delivered {} --channel post|in-person|portal --ref TEXT`",
            req.id, req.id
        ))
    })?;
    let dir = tempfile::Builder::new()
        .prefix(".dsr-send-")
        .tempdir_in(crate::mail::outbox_dir(&ctx.store.path).parent().unwrap_or(std::path::Path::new(".")))?;
    let path = dir.path().join("answer.zip");
    let write = |passphrase: Option<&super::export::Passphrase>| {
        let text = passphrase.map(|p| p.text.as_str());
        super::export::archive_file(&ctx.store.conn, &ctx.clock, &register, req, s, &path, true, text)
    };
    // Encrypted when asked, or when the archive holds data that must not travel in clear text.
    let mut passphrase = super::export::passphrase(crypt)?;
    let mut manifest = write(passphrase.as_ref())?;
    let sensitive: Vec<String> =
        manifest.categories.iter().filter(|c| ENCRYPTED_BY_MAIL.contains(&c.as_str())).cloned().collect();
    if passphrase.is_none() && !sensitive.is_empty() {
        passphrase = super::export::passphrase(&CryptArgs { encrypt: true, passphrase_file: None })?;
        manifest = write(passphrase.as_ref())?;
    }
    let bytes = std::fs::read(&path)?;
    if bytes.len() as u64 > MAX_ATTACHMENT {
        return Err(Error::invalid(
            "--send",
            format!(
                "the archive is {:.1} MiB, more than the {} MiB mail carries; write it with --archive/--out, hand it over, then `dsr request delivered {} --channel portal|post|in-person --ref TEXT`",
                bytes.len() as f64 / 1048576.0,
                MAX_ATTACHMENT / 1048576,
                req.id
            ),
        )
        .into());
    }
    let encrypted = passphrase.is_some();
    let name = format!("{}.zip", req.id);
    let letter = cover_letter(&register, req, &name, encrypted);
    let subject = match req.kind() {
        request::Kind::Export => format!("Je gegevens / Your data ({})", req.id),
        _ => format!("Inzage in je gegevens / Access to your data ({})", req.id),
    };
    let message = mail::message_with_attachment(
        &controller,
        &address,
        &subject,
        letter,
        Attachment::new(name.clone()).body(bytes, ContentType::parse("application/zip")?),
        &ctx.clock,
    )?;
    let tx = ctx.store.conn.transaction()?;
    mail::queue_message(&tx, &ctx.clock, &ctx.store.path, req, "answer", &message, OnSent::DeliversAnswer)?;
    request::answered(
        &tx,
        &ctx.clock,
        req,
        json!({"to": "mail", "files": manifest.files.len() + 1, "categories": manifest.categories, "encrypted": encrypted}),
    )?;
    if let Some(p) = passphrase.as_ref().filter(|p| p.generated) {
        audit::append(
            &tx,
            &ctx.clock,
            Some(&req.id),
            Some(&req.subject_pseudonym),
            "passphrase-given",
            json!({"to": "officer", "passes_it_on": "by phone, never in the same message", "why": if sensitive.is_empty() { "asked" } else { "payment or special data" }}),
        )?;
        // Shown once, on stderr, even with -q: the person cannot open the archive without it.
        // Before the commit: if it cannot be shown, the transaction (the queued letter, the
        // record) is rolled back and the archive removed with its temporary directory.
        crate::output::stderr_line(&format!(
            "dsr: archive passphrase (shown once; give it to the person by phone, never by the same mail): {}",
            p.text
        ))
        .context("the passphrase could not be shown, so nothing was sent or recorded")?;
    }
    tx.commit()?;
    drop(dir);
    let flushed = ctx.flush()?;
    let delivered = flushed.delivered.iter().any(|d| d.request.as_deref() == Some(&req.id) && d.letter == "answer");
    let state = request::load(&ctx.store.conn, &req.id)?.state;
    if ctx.out.json {
        ctx.out.json(&json!({"format_version": 1, "request": req.id, "state": state, "delivered": delivered, "encrypted": encrypted, "manifest": manifest}))?;
    } else if delivered {
        ctx.out.data(&format!(
            "The answer to {} was mailed to the address on file ({}); the request is completed.",
            req.id,
            if encrypted { "encrypted" } else { "not encrypted" }
        ))?;
    } else {
        ctx.out.data(&format!("The answer to {} is queued for the address on file but not delivered yet; see `dsr request show {}` and `dsr mail flush`.", req.id, req.id))?;
    }
    Ok(Code::Ok)
}

/// The cover letter (Art. 12(1), 15): what is enclosed, how to open it, the rights, the contact
/// and the complaint route.
fn cover_letter(register: &Register, req: &Request, file: &str, encrypted: bool) -> String {
    let c = register.controller.as_ref().expect("checked by the caller");
    let (right_en, right_nl) = req.kind().names();
    let (lock_nl, lock_en) = if encrypted {
        (
            "Het archief is versleuteld (AES-256). Het wachtwoord krijg je apart, telefonisch van onze privacyfunctionaris; het staat nooit in dit bericht. Open het met 7-Zip (Windows), Keka (macOS) of WinZip; de uitpakker die in Windows en macOS zit, opent het niet.",
            "The archive is encrypted (AES-256). You receive the passphrase separately, by phone from our privacy officer; it is never in this message. Open it with 7-Zip (Windows), Keka (macOS) or WinZip; the unzipping built into Windows and macOS does not open it.",
        )
    } else {
        ("Open het met een programma voor zip-bestanden.", "Open it with any zip program.")
    };
    let rights_nl: Vec<String> =
        register.rights.iter().map(|r| format!("  - {} ({}): {}", r.name_nl, r.article, r.how_nl)).collect();
    let rights_en: Vec<String> =
        register.rights.iter().map(|r| format!("  - {} ({}): {}", r.name_en, r.article, r.how_en)).collect();
    let body = Text {
        nl: format!(
            "Hierbij ons antwoord op je verzoek {id} om {right_nl}.\n\n\
In de bijlage {file}:\n  - index.html: een overzicht om te lezen in je browser, eerst wat we van je hebben, waarom, wie het kreeg en hoe lang we het bewaren;\n  - data.json en de map csv/: dezelfde gegevens in een vorm die een ander programma kan lezen;\n  - register.json en LEESMIJ.txt: de doelen, grondslagen en ontvangers, en hoe het archief is opgebouwd.\n{lock_nl}\n\n\
Je rechten:\n{rights}\nVragen? Mail {contact}.",
            id = req.id,
            rights = rights_nl.join("\n"),
            contact = c.privacy_email
        ),
        en: format!(
            "Here is our answer to your request {id} for {right_en}.\n\n\
Attached, {file}:\n  - index.html: an overview to read in your browser, first what we hold on you, why, who received it and how long we keep it;\n  - data.json and the csv/ folder: the same data in a form another program can read;\n  - register.json and README.txt: the purposes, legal bases and recipients, and how the archive is built.\n{lock_en}\n\n\
Your rights:\n{rights}\nQuestions? Write to {contact}.",
            id = req.id,
            rights = rights_en.join("\n"),
            contact = c.privacy_email
        ),
    };
    crate::answers::compose(c, &body, &Text { nl: String::new(), en: String::new() })
}

/// `dsr request delivered REQUEST --channel post|in-person|portal --ref TEXT`.
pub fn delivered(ctx: &mut Ctx, id: &str, channel: DeliveryChannel, reference: &str) -> anyhow::Result<Code> {
    let reference = reference.trim();
    if reference.is_empty() {
        return Err(Error::invalid(
            "--ref",
            "say how the hand-over can be traced (a tracking number, a portal message id)",
        )
        .into());
    }
    let tx = ctx.store.conn.transaction()?;
    let req = request::load(&tx, id)?;
    request::deliver(&tx, &ctx.clock, &req, channel.as_str(), Some(reference))?;
    tx.commit()?;
    if ctx.out.json {
        ctx.out.json(
            &json!({"format_version": 1, "request": req.id, "state": "completed", "channel": channel.as_str()}),
        )?;
    } else {
        ctx.out.data(&format!(
            "Recorded: the answer to {} was delivered ({}); the request is completed.",
            req.id,
            channel.as_str()
        ))?;
    }
    Ok(Code::Ok)
}
