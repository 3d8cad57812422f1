//! Mail to the person: the challenge code, notices of an extension or a refusal, later the
//! Art. 18(3) notice. Always to the address on file, never to one the requester supplies; no
//! display name, so nothing stored can reach a header. Transports: `outbox` (default: one
//! RFC 5322 `.eml` file per message in `outbox/` beside the store, mode 0600, written atomically)
//! and `smtp` (lettre; `DSR_SMTP_URL`, password only from `DSR_SMTP_PASSWORD`).

use std::io::Write;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use lettre::message::{header::ContentType, Mailbox};
use lettre::{Address, Message, SmtpTransport, Transport as _};

use crate::error::Error;
use crate::register::Controller;
use serde_json::Value;

mod asked;
// The SMTP transport from DSR_SMTP_URL.
mod smtp;
pub use asked::{asked, asked_named};
pub use smtp::server_unavailable;
use smtp::smtp_from_env;

pub enum Transport {
    Outbox(PathBuf),
    Smtp(Box<SmtpTransport>),
}

/// Where a message went, for the officer and the audit trail (no personal data).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Sent {
    pub transport: &'static str,
    /// The outbox file name, or the SMTP message id.
    pub reference: String,
}

/// The transport `DSR_MAIL` names: `outbox` (the default) or `smtp`. A letter is queued for it,
/// and only a process sending by it delivers that letter.
pub fn transport_name() -> anyhow::Result<&'static str> {
    match std::env::var("DSR_MAIL").unwrap_or_default().trim() {
        "" | "outbox" => Ok("outbox"),
        "smtp" => Ok("smtp"),
        _ => Err(Error::invalid("DSR_MAIL", "expected outbox or smtp").into()),
    }
}

impl Transport {
    /// `DSR_MAIL=outbox|smtp` (default outbox, in `outbox/` beside the store).
    pub fn from_env(store: &Path) -> anyhow::Result<Transport> {
        match transport_name()? {
            "smtp" => Ok(Transport::Smtp(Box::new(smtp_from_env()?))),
            _ => Ok(Transport::Outbox(outbox_dir(store))),
        }
    }

    /// Send one queued message: the RFC 5322 bytes and the envelope recorded when it was queued.
    /// The outbox file is named after the queue entry (`TAG-NNNNNN.eml`, see [`outbox_slot`]).
    pub fn send_raw(&self, raw: &[u8], envelope: Option<&str>, tag: &str, queued: i64) -> anyhow::Result<Sent> {
        match self {
            Transport::Outbox(dir) => write_outbox(dir, raw, &format!("{tag}-{queued:06}.eml")),
            Transport::Smtp(smtp) => {
                let envelope = parse_envelope(envelope.unwrap_or_default())?;
                smtp.send_raw(&envelope, raw).map_err(smtp::unsent)?;
                Ok(Sent { transport: "smtp", reference: format!("{tag}-{queued:06}") })
            }
        }
    }
}

/// The envelope of a message as stored with it in the queue: `[from, [to, ...]]`.
pub fn envelope_json(e: &lettre::address::Envelope) -> String {
    let to: Vec<String> = e.to().iter().map(ToString::to_string).collect();
    serde_json::json!([e.from().map(ToString::to_string), to]).to_string()
}

/// The recipients of a stored envelope ([`envelope_json`]).
pub fn envelope_recipients(text: &str) -> anyhow::Result<Vec<String>> {
    Ok(envelope_parts(text)?.1)
}

fn envelope_parts(text: &str) -> anyhow::Result<(Option<String>, Vec<String>)> {
    serde_json::from_str(text).map_err(|_| anyhow::anyhow!("a queued message has no envelope"))
}

fn parse_envelope(text: &str) -> anyhow::Result<lettre::address::Envelope> {
    let (from, to) = envelope_parts(text)?;
    let from = from.map(|f| f.parse::<Address>()).transpose()?;
    let to = to.iter().map(|t| t.parse::<Address>()).collect::<Result<Vec<_>, _>>()?;
    Ok(lettre::address::Envelope::new(from, to)?)
}

/// The outbox beside a store: `<store dir>/outbox`.
pub fn outbox_dir(store: &Path) -> PathBuf {
    match store.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.join("outbox"),
        _ => PathBuf::from("outbox"),
    }
}

/// The outbox folder, made (mode 0700) when it is not there yet.
pub fn outbox_ready(dir: &Path) -> anyhow::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create the outbox {}", dir.display()))
}

fn write_outbox(dir: &Path, raw: &[u8], name: &str) -> anyhow::Result<Sent> {
    outbox_ready(dir)?;
    let (name, new) = outbox_slot(dir, name, raw)?;
    if new {
        let mut temp = crate::fsutil::private_temp(dir, ".msg-", "")
            .with_context(|| format!("cannot write to the outbox {}", dir.display()))?;
        temp.file().write_all(raw)?;
        temp.persist(&dir.join(&name), false).context("cannot write to the outbox")?;
    }
    Ok(Sent { transport: "outbox", reference: name })
}

/// The outbox file a message goes to, and whether it is still to be written: `TAG-NNNNNN.eml`,
/// or `TAG-NNNNNN-2.eml` (and so on) when a file of that name holds another message (an outbox
/// kept beside a store restored from a backup, or made anew, whose queue numbers again from 1:
/// that message must neither be lost nor replace the other). A file with these very bytes was
/// written by a run that died before recording it, and is not written again.
pub fn outbox_slot(dir: &Path, name: &str, raw: &[u8]) -> anyhow::Result<(String, bool)> {
    let stem = name.strip_suffix(".eml").unwrap_or(name);
    let mut n = 1;
    loop {
        let candidate = if n == 1 { name.to_owned() } else { format!("{stem}-{n}.eml") };
        let path = dir.join(&candidate);
        // The name itself, not what a link there points to: anything but a file (a link, a
        // folder) holds the name, and is neither followed nor replaced.
        match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((candidate, true)),
            Err(e) => return Err(anyhow::Error::new(e).context(format!("cannot read the outbox file {candidate}"))),
            Ok(m) if m.is_file() => {
                let bytes = std::fs::read(&path).with_context(|| format!("cannot read the outbox file {candidate}"))?;
                if bytes == raw {
                    return Ok((candidate, false));
                }
            }
            Ok(_) => {}
        }
        n += 1;
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("u={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_owned())
}

/// A plain-text message from the controller to one address, dated by the clock (so `DSR_NOW`
/// applies to the Date header too).
pub fn message(
    controller: &Controller,
    to: &str,
    subject: &str,
    body: String,
    clock: &crate::clock::Clock,
) -> anyhow::Result<Message> {
    Ok(builder(controller, to, subject, clock)?.header(ContentType::TEXT_PLAIN).body(body)?)
}

/// The same with one attachment (an answer's archive) after the text.
pub fn message_with_attachment(
    controller: &Controller,
    to: &str,
    subject: &str,
    body: String,
    attachment: lettre::message::SinglePart,
    clock: &crate::clock::Clock,
) -> anyhow::Result<Message> {
    use lettre::message::{MultiPart, SinglePart};
    let parts = MultiPart::mixed().singlepart(SinglePart::plain(body)).singlepart(attachment);
    Ok(builder(controller, to, subject, clock)?.multipart(parts)?)
}

/// A formatted message (as [`message`] made it) dated `at` instead: a letter held until its
/// systems' tasks are done is complete when it is let go, and its `Date` (RFC 5322 §3.6.1: when
/// it was ready to enter the mail system) says so. A message without a `Date` is given back as
/// it is.
pub fn redated(formatted: &[u8], at: chrono::DateTime<chrono::Utc>) -> Vec<u8> {
    let head = formatted.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(formatted.len());
    let date = (0..head)
        .filter(|&i| i == 0 || i >= 2 && formatted[i - 2..i] == *b"\r\n")
        .find(|&i| formatted[i..head].starts_with(b"Date: "));
    let Some(start) = date else { return formatted.to_vec() };
    let end = formatted[start..].windows(2).position(|w| w == b"\r\n").map_or(formatted.len(), |n| start + n);
    let mut out = formatted[..start].to_vec();
    out.extend_from_slice(format!("Date: {}", at.to_rfc2822()).as_bytes());
    out.extend_from_slice(&formatted[end..]);
    out
}

/// The sender: `DSR_MAIL_FROM`, or the register's privacy address.
fn sender(controller: &Controller) -> Result<Address, Error> {
    let from = std::env::var("DSR_MAIL_FROM").unwrap_or_else(|_| controller.privacy_email.clone());
    from.parse().map_err(|_| {
        Error::invalid("sender address", "DSR_MAIL_FROM or the register's privacy_email is not an email address")
    })
}

/// Refuse a mail setup that cannot send (transport, sender) before anything is recorded, whether
/// or not this command has a letter to queue: opening a request must fail, or not, alike for
/// known and unknown people.
pub fn check_setup(store: &Path, controller: &Controller) -> anyhow::Result<()> {
    Transport::from_env(store)?;
    sender(controller)?;
    Ok(())
}

/// The address as dsr's letters reach it: a domain name, not an address literal
/// (`x@[127.0.0.1]`, which no envelope takes). With a local part in ASCII, a domain in Unicode is
/// written in its IDNA form (`xn--...`), so the letter is plain RFC 5322 mail; a local part in
/// Unicode (`zoë@...`) can only be reached as RFC 6532 mail (SMTPUTF8), and is kept as it is.
/// `None` for an address no letter of dsr's can reach.
pub fn mailable(address: &str) -> Option<Address> {
    let parsed: Address = address.parse().ok()?;
    if parsed.domain().starts_with('[') {
        return None;
    }
    if !parsed.user().is_ascii() {
        return Some(parsed);
    }
    let domain = idna::domain_to_ascii(parsed.domain()).ok()?;
    Address::new(parsed.user(), domain).ok()
}

fn builder(
    controller: &Controller,
    to: &str,
    subject: &str,
    clock: &crate::clock::Clock,
) -> anyhow::Result<lettre::message::MessageBuilder> {
    let from = sender(controller)?;
    let to = mailable(to).ok_or_else(|| {
        Error::invalid(
            "address on file",
            "the stored email address cannot receive dsr's mail (an address literal such as x@[127.0.0.1]); correct it first",
        )
    })?;
    let message_id = message_id(&from)?;
    Ok(Message::builder()
        .from(Mailbox::new(Some(controller.name.replace(['\r', '\n'], " ")), from))
        .to(Mailbox::new(None, to))
        .subject(subject)
        .message_id(Some(message_id))
        .date(std::time::SystemTime::from(clock.now()))
        .header(lettre::message::header::MIME_VERSION_1_0)
        .header(AutoSubmitted))
}

/// `Auto-Submitted: auto-generated` (RFC 3834): every letter is sent by a program, so the
/// person's out-of-office replies are not sent back to it, and a letter read back into the
/// privacy mailbox is known as dsr's own (`dsr intake`).
#[derive(Clone)]
struct AutoSubmitted;

impl lettre::message::header::Header for AutoSubmitted {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), "auto-generated".into())
    }
}

/// `<random@sender-domain>`: the sender's domain, not this machine's host name (which means
/// nothing to the person's mail server and tells it about our network).
fn message_id(from: &Address) -> anyhow::Result<String> {
    let mut bytes = [0u8; 18];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("the OS random generator failed: {e}"))?;
    let local = base32::encode(base32::Alphabet::Rfc4648Lower { padding: false }, &bytes);
    Ok(format!("<{local}@{}>", from.domain()))
}

/// The challenge (template `verification-code`). `asked` is what the code approves, in Dutch and
/// English (see [`asked_named`]).
pub fn challenge_body(
    controller: &Controller,
    request_id: &str,
    right: (&str, &str),
    asked: (Value, Value),
    code: &str,
    expires: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<String> {
    let (right_en, right_nl) = right;
    let vars = crate::letters::Vars::new(serde_json::json!({"id": request_id, "code": code}))
        .pair("asked", asked)
        .pair("right", (right_nl, right_en))
        .pair("valid_until", crate::local_time::moment(expires));
    crate::letters::body(controller, "verification-code", &vars)
}

/// A letter to the person about their request.
pub struct Letter {
    /// What it is, for the audit trail: "extension", "rejection", ...
    pub kind: &'static str,
    pub subject: String,
    pub body: String,
}

/// Queue a letter about a request to the person's address on file, in the caller's transaction
/// (delivered after the commit, see [`crate::queue`]). Returns None when the request names no
/// one or the person has no email address; the letter text is then for the officer to send by
/// other means.
pub fn notify(
    conn: &dyn crate::store::db::Db,
    clock: &crate::clock::Clock,
    store: &Path,
    controller: &Controller,
    request: &crate::request::Request,
    letter: &Letter,
) -> anyhow::Result<Option<Sent>> {
    notify_with(conn, clock, store, controller, request, letter, crate::queue::OnSent::Nothing)
}

/// [`notify`], saying what the letter's delivery does (an answer's letter completes the request).
pub fn notify_with(
    conn: &dyn crate::store::db::Db,
    clock: &crate::clock::Clock,
    store: &Path,
    controller: &Controller,
    request: &crate::request::Request,
    letter: &Letter,
    on_sent: crate::queue::OnSent,
) -> anyhow::Result<Option<Sent>> {
    let Some(person) = request.person_id else {
        return Ok(None);
    };
    let named = request.named_email();
    // An address no letter can reach (an address literal) is no address: as for a person with none.
    let on_file = crate::subject::address_on_file(conn, person, named.as_deref())?;
    let Some(address) = on_file.filter(|a| mailable(a).is_some()) else {
        return Ok(None);
    };
    let message = message(controller, &address, &letter.subject, letter.body.clone(), clock)?;
    queue_message(conn, clock, store, request, letter.kind, &message, on_sent).map(Some)
}

/// Queue a built message for a request; the transport is checked now (a misconfigured one is
/// refused before anything is recorded), the sending happens after the commit.
pub fn queue_message(
    conn: &dyn crate::store::db::Db,
    clock: &crate::clock::Clock,
    store: &Path,
    request: &crate::request::Request,
    letter: &str,
    message: &Message,
    on_sent: crate::queue::OnSent,
) -> anyhow::Result<Sent> {
    Transport::from_env(store)?;
    let id = crate::queue::mail(conn, clock, Some(&request.id), letter, message, on_sent)?;
    Ok(Sent { transport: "queued", reference: format!("queued #{id}") })
}

/// Send a letter about a request to an address that is not the person's address on file: the
/// address a request naming no one came from (the negative confirmation). Recorded in the audit
/// trail like `notify` (in the caller's transaction); the address itself is not.
pub fn notify_address(
    conn: &dyn crate::store::db::Db,
    clock: &crate::clock::Clock,
    store: &Path,
    controller: &Controller,
    request: &crate::request::Request,
    address: &str,
    letter: &Letter,
) -> anyhow::Result<Sent> {
    let message = message(controller, address, &letter.subject, letter.body.clone(), clock)?;
    queue_message(conn, clock, store, request, letter.kind, &message, crate::queue::OnSent::Nothing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn controller(name: &str) -> Controller {
        Controller {
            fixture: "t".into(),
            name: name.into(),
            legal_form: None,
            kvk_number: None,
            address: None,
            website: None,
            privacy_email: "privacy@example.nl".into(),
            policy_version: "1".into(),
            rights_contact_en: String::new(),
            rights_contact_nl: String::new(),
            complaint_authority: String::new(),
            complaint_url: String::new(),
            court_route_en: String::new(),
            court_route_nl: String::new(),
            letters: Default::default(),
        }
    }

    #[test]
    fn a_held_letter_is_dated_when_it_is_let_go() {
        let queued = chrono::DateTime::parse_from_rfc3339("2026-03-10T11:00:00Z").unwrap().to_utc();
        let m = message(
            &controller("Shop"),
            "jan@example.nl",
            "Date: in the subject",
            "Date: 1 April".into(),
            &crate::clock::Clock::fixed(queued),
        )
        .unwrap()
        .formatted();
        let sent = chrono::DateTime::parse_from_rfc3339("2026-04-20T12:00:00Z").unwrap().to_utc();
        let text = String::from_utf8(redated(&m, sent)).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let dates: Vec<&str> = head.split("\r\n").filter(|l| l.starts_with("Date:")).collect();
        assert_eq!(dates, ["Date: Mon, 20 Apr 2026 12:00:00 +0000"], "{head}");
        assert!(head.contains("Subject: Date: in the subject"), "{head}");
        assert_eq!(body.trim_end(), "Date: 1 April");
        assert_eq!(text.len(), m.len(), "only the date changed");
    }

    #[test]
    fn stored_text_cannot_inject_headers() {
        let c = controller("Evil\r\nBcc: attacker@example.com");
        let m = message(&c, "jan@example.nl", "Code", "body".into(), &crate::clock::Clock::fixed(chrono::Utc::now()))
            .unwrap();
        let text = String::from_utf8(m.formatted()).unwrap();
        let headers = text.split("\r\n\r\n").next().unwrap();
        assert!(!headers.lines().any(|l| l.to_ascii_lowercase().starts_with("bcc:")), "{headers}");
        assert!(message(
            &c,
            "jan@example.nl\r\nBcc: x@example.com",
            "Code",
            "b".into(),
            &crate::clock::Clock::fixed(chrono::Utc::now())
        )
        .is_err());
    }
}
