//! The privacy mailbox (design.md §12): messages read from `.eml` files, mbox files and Maildir
//! folders, each reduced to what intake needs (who sent it, when, its Message-ID and SHA-256,
//! its subject and text, the marks of automatic mail) and then classified
//! ([`classify`]). Reading never panics on malformed mail and never drops a message: a message
//! that cannot be read becomes a [`Mail`] with `unreadable` set, for the officer to see.

mod act;
pub mod classify;
pub mod ledger;
mod mbox;
mod sources;

use chrono::{DateTime, Utc};
use mail_parser::{HeaderValue, MessageParser, MimeHeaders};
use sha2::{Digest, Sha256};

pub use act::{Batch, Prepared, Taken};
pub use sources::{file_sources, folder_listing, is_maildir, one_message, read_sources, Source};

/// The most text of a message intake looks at and keeps for the officer: a request is in its
/// first lines; a 50 MB message is still hashed whole.
const TEXT_LIMIT: usize = 64 * 1024;

/// One message, as intake sees it.
#[derive(Debug, Clone)]
pub struct Mail {
    /// Where it was read (file, or mbox file and message number), for the officer.
    pub origin: String,
    /// SHA-256 of the message's bytes, hex.
    pub sha256: String,
    pub message_id: Option<String>,
    /// The Date header, when it has a valid one.
    pub date: Option<DateTime<Utc>>,
    /// When the receiving mail server took the message in: the date of its topmost `Received`
    /// header (the last hop, the company's own server), when it has a valid one. Unlike `Date`,
    /// which the sender's program writes, the receipt the deadline runs from (Art. 12(3)).
    pub received: Option<DateTime<Utc>>,
    /// The first From address, when it is one.
    pub from: Option<String>,
    /// The only Reply-To address, when there is exactly one: a privacy address that is a mailing
    /// list (a Google Group) rewrites the writer's From to its own and names the writer here.
    pub reply_to: Option<String>,
    /// A keyed hash of `from` (folded), set when the message is acted on: the same Message-ID
    /// is the same message only from the same sender.
    pub sender_key: Option<String>,
    /// A keyed hash of the Message-ID (set by intake): what tells the message read again once
    /// an erasure cleared the Message-ID itself.
    pub message_key: Option<String>,
    /// An HTML-only message's text without its `<blockquote>`s: the person's own words.
    pub unquoted: Option<String>,
    pub subject: String,
    /// The text (the plain part, or the HTML part as text), at most [`TEXT_LIMIT`] bytes.
    pub text: String,
    /// Why it is automatic mail (a bounce, an auto-reply, spam, a list), if it is.
    pub automatic: Option<&'static str>,
    /// The addresses of the mailing list it came through (`List-Post`'s mailto, `List-Id`'s
    /// identifier), lower case: a privacy address that is itself a list (a Google Group, say)
    /// marks every message it passes on.
    pub list: Vec<String>,
    /// The message references another (In-Reply-To or References).
    pub is_reply: bool,
    /// Why it could not be read as mail at all, if so.
    pub unreadable: Option<String>,
}

/// Read one message from its bytes. Never fails: what cannot be read is marked `unreadable`.
pub fn parse(origin: String, raw: &[u8]) -> Mail {
    let sha256 = crate::keys::hex(&Sha256::digest(raw));
    let mut mail = Mail {
        origin,
        sha256,
        message_id: None,
        date: None,
        received: None,
        from: None,
        reply_to: None,
        sender_key: None,
        message_key: None,
        unquoted: None,
        subject: String::new(),
        text: String::new(),
        automatic: None,
        list: Vec::new(),
        is_reply: false,
        unreadable: None,
    };
    if raw.iter().all(|b| b.is_ascii_whitespace()) {
        mail.unreadable = Some("the file is empty".into());
        return mail;
    }
    let raw = separated(raw);
    let Some(msg) = MessageParser::default().parse(&raw[..]) else {
        mail.unreadable = Some("not a mail message (no header could be read)".into());
        return mail;
    };
    if msg.headers().is_empty() {
        mail.unreadable = Some("not a mail message (no header could be read)".into());
        return mail;
    }
    mail.message_id = msg.message_id().map(|m| m.trim().to_owned()).filter(|m| !m.is_empty());
    mail.date = msg.date().filter(|d| d.is_valid()).and_then(|d| DateTime::from_timestamp(d.to_timestamp(), 0));
    mail.received = msg
        .received_all()
        .next()
        .and_then(|r| r.date())
        .filter(|d| d.is_valid())
        .and_then(|d| DateTime::from_timestamp(d.to_timestamp(), 0));
    mail.from = msg.from().and_then(|a| a.first()).and_then(|a| a.address()).map(|a| a.trim().to_owned());
    mail.reply_to = msg
        .reply_to()
        .filter(|a| a.iter().count() == 1)
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .map(|a| a.trim().to_owned());
    mail.subject = clip(msg.subject().unwrap_or_default().trim());
    // Line ends as one `\n`: a CRLF message's text is kept and shown without a `\r` on every line.
    mail.text = clip(&msg.body_text(0).unwrap_or_default().replace("\r\n", "\n"));
    // An HTML-only message: its quoted earlier messages (`<blockquote>`) are not the person's
    // words, as `>` lines are not in plain text (what it asks is read without them; its codes
    // and the officer's excerpt keep them).
    if let Some(mail_parser::PartType::Html(html)) = msg.text_bodies().next().map(|p| &p.body) {
        let own = mail_parser::decoders::html::html_to_text(&unquoted(html));
        mail.unquoted = Some(clip(&own.replace("\r\n", "\n")));
    }
    // A NUL (mislabelled UTF-16, spam) is no character of text: PostgreSQL refuses it in a
    // text column, which would stop every later run at this message. Kept as U+FFFD on both.
    for text in [&mut mail.subject, &mut mail.text]
        .into_iter()
        .chain([&mut mail.message_id, &mut mail.from, &mut mail.reply_to].into_iter().flat_map(Option::as_mut))
    {
        if text.contains('\0') {
            *text = text.replace('\0', "\u{fffd}");
        }
    }
    mail.is_reply = !matches!(msg.in_reply_to(), HeaderValue::Empty) || !matches!(msg.references(), HeaderValue::Empty);
    mail.automatic = automatic(&msg, mail.from.as_deref().unwrap_or_default(), &mail.subject);
    mail.list = list_addresses(&msg);
    if mail.from.is_none() && mail.unreadable.is_none() && msg.text_body_count() + msg.html_body_count() == 0 {
        mail.unreadable = Some("no sender and no text".into());
    }
    mail
}

/// The message with the blank line between its header and its text where the writer left it
/// out: the first line that is neither a field (`Name: value`) nor a field's continuation
/// (starting with a space or a tab) starts the text, as Python's and most mail clients' parsers
/// read it (RFC 5322 §2.1 wants the blank line; a hand-written or badly exported message lacks
/// it, and its text would otherwise be taken for a damaged header and lost). A first line
/// `From ...` (an mbox separator an export kept) is no text.
fn separated(raw: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let mut at = 0;
    while at < raw.len() {
        let end = raw[at..].iter().position(|&b| b == b'\n').map_or(raw.len(), |i| at + i + 1);
        let line = &raw[at..end];
        let content = line.strip_suffix(b"\n").map(|l| l.strip_suffix(b"\r").unwrap_or(l)).unwrap_or(line);
        if content.is_empty() {
            return std::borrow::Cow::Borrowed(raw);
        }
        let name = content.iter().position(|&b| b == b':').map(|i| &content[..i]);
        let field = name.is_some_and(|n| !n.is_empty() && n.iter().all(|b| (33..=126).contains(b)));
        let continued = at > 0 && matches!(content[0], b' ' | b'\t');
        let separator = at == 0 && content.starts_with(b"From ");
        if !(field || continued || separator) {
            if at == 0 {
                return std::borrow::Cow::Borrowed(raw);
            }
            let eol: &[u8] = if raw[..at].ends_with(b"\r\n") { b"\r\n" } else { b"\n" };
            return std::borrow::Cow::Owned([&raw[..at], eol, &raw[at..]].concat());
        }
        at = end;
    }
    std::borrow::Cow::Borrowed(raw)
}

/// HTML without its `<blockquote>` elements (nested ones within them too).
fn unquoted(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let mut out = String::with_capacity(html.len());
    let (mut at, mut depth, mut kept_from) = (0, 0usize, 0);
    while let Some(i) = lower[at..].find("blockquote").map(|i| at + i) {
        let closing = lower[..i].ends_with("</");
        let opening = lower[..i].ends_with('<');
        let end = lower[i..].find('>').map_or(html.len(), |j| i + j + 1);
        if opening && !closing {
            if depth == 0 {
                out.push_str(&html[kept_from..i - 1]);
            }
            depth += 1;
        } else if closing && depth > 0 {
            depth -= 1;
            if depth == 0 {
                kept_from = end;
            }
        }
        at = end.max(i + 1);
    }
    if depth == 0 {
        out.push_str(&html[kept_from..]);
    }
    out
}

/// At most [`TEXT_LIMIT`] bytes, cut at a character boundary.
fn clip(s: &str) -> String {
    if s.len() <= TEXT_LIMIT {
        return s.to_owned();
    }
    let mut end = TEXT_LIMIT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

/// Mail no person wrote to ask something: delivery reports (RFC 3464), automatic replies
/// (RFC 3834 `Auto-Submitted`, and the headers and subjects of common out-of-office replies),
/// mail a filter marked as spam, and list mail.
fn automatic(msg: &mail_parser::Message, from: &str, subject: &str) -> Option<&'static str> {
    let header = |name: &str| msg.header_raw(name).map(|v| v.trim().to_ascii_lowercase());
    let report = msg.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct.attribute("report-type").is_some_and(|r| r.eq_ignore_ascii_case("delivery-status"))
    });
    let local = from.split('@').next().unwrap_or_default().to_ascii_lowercase();
    let subject = subject.to_lowercase();
    if report
        || local == "mailer-daemon"
        || local == "postmaster"
        || ["undelivered mail", "delivery status notification", "mail delivery failed", "onbestelbaar"]
            .iter()
            .any(|s| subject.starts_with(s))
    {
        return Some("a delivery failure report (bounce)");
    }
    if header("Auto-Submitted").is_some_and(|v| v.starts_with("auto-generated")) {
        return Some("mail a program sent (Auto-Submitted: auto-generated), such as a letter of dsr's own");
    }
    if header("Auto-Submitted").is_some_and(|v| v != "no")
        || header("X-Autoreply").is_some()
        || header("X-Autorespond").is_some()
        || header("Precedence").is_some_and(|v| v == "auto_reply")
        || [
            "out of office",
            "automatic reply",
            "autoreply",
            "auto:",
            "afwezig",
            "automatisch antwoord",
            "niet aanwezig",
        ]
        .iter()
        .any(|s| subject.starts_with(s))
    {
        return Some("an automatic reply (out of office)");
    }
    if header("X-Spam-Flag").is_some_and(|v| v == "yes")
        || header("X-Spam-Status").is_some_and(|v| v.starts_with("yes"))
    {
        return Some("marked as spam by the mail filter");
    }
    if header("List-Id").is_some() || header("Precedence").is_some_and(|v| v == "bulk" || v == "list" || v == "junk") {
        return Some(LIST_MAIL);
    }
    None
}

/// Why list mail is automatic mail.
pub const LIST_MAIL: &str = "list or bulk mail";

/// The list's addresses: `List-Post: <mailto:privacy@example.nl>` (RFC 2369) and `List-Id:
/// Name <privacy.example.nl>` (RFC 2919), lower case.
fn list_addresses(msg: &mail_parser::Message) -> Vec<String> {
    let inside = |v: &str| -> Option<String> {
        let start = v.find('<')? + 1;
        let end = v[start..].find('>')? + start;
        Some(v[start..end].trim().to_ascii_lowercase())
    };
    let mut out = Vec::new();
    if let Some(post) = msg.header_raw("List-Post").and_then(inside) {
        if let Some(address) = post.strip_prefix("mailto:") {
            out.push(address.split('?').next().unwrap_or_default().to_owned());
        }
    }
    if let Some(id) = msg.header_raw("List-Id").and_then(inside) {
        out.push(id);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_html_reply_s_quoted_message_is_not_its_text() {
        let m = parse(
            "x".into(),
            b"From: jan@example.nl\r\nSubject: Re: verzoek\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Thanks!</p><BLOCKQUOTE type=\"cite\">Subject access request. <blockquote>Please delete my data.</blockquote> more</BLOCKQUOTE><p>Jan</p>\r\n",
        );
        let own = m.unquoted.as_deref().unwrap();
        assert!(own.contains("Thanks!") && own.contains("Jan"), "{own}");
        assert!(!own.contains("access") && !own.contains("delete") && !own.contains("more"), "{own}");
        assert!(m.text.contains("Please delete my data"), "the whole text is kept: {}", m.text);
        assert_eq!(unquoted("a<blockquote>b</blockquote>c<blockquote>d"), "ac");
    }

    #[test]
    fn a_text_without_the_blank_line_before_it_is_kept() {
        let m = parse(
            "x".into(),
            b"From: Jan <jan@example.nl>\r\nSubject: verzoek\r\nMessage-ID: <a@b>\r\n X-Folded: yes\r\nVerwijder mijn gegevens: alles.\r\nDank.\r\n",
        );
        assert_eq!(m.from.as_deref(), Some("jan@example.nl"));
        assert_eq!(m.message_id.as_deref(), Some("a@b"));
        assert_eq!(m.text.trim_end(), "Verwijder mijn gegevens: alles.\nDank.");
        let m = parse(
            "x".into(),
            b"From jan@example.nl Mon Nov 30 10:00:00 2026\nFrom: jan@example.nl\nSubject: s\nIk wil inzage.\n",
        );
        assert_eq!((m.from.as_deref(), m.text.trim_end()), (Some("jan@example.nl"), "Ik wil inzage."));
    }

    #[test]
    fn reads_a_plain_message() {
        let m = parse(
            "x".into(),
            b"From: Jan <jan@example.nl>\r\nTo: privacy@example.com\r\nSubject: Inzage\r\nDate: Mon, 30 Nov 2026 10:00:00 +0100\r\nMessage-ID: <a@b>\r\n\r\nIk wil inzage.\r\n",
        );
        assert_eq!(m.from.as_deref(), Some("jan@example.nl"));
        assert_eq!(m.message_id.as_deref(), Some("a@b"));
        assert_eq!(m.date.unwrap().to_rfc3339(), "2026-11-30T09:00:00+00:00");
        assert!(m.text.contains("inzage"));
        assert!(m.automatic.is_none() && m.unreadable.is_none() && !m.is_reply);
    }

    #[test]
    fn garbage_is_unreadable_not_a_panic() {
        assert!(parse("x".into(), b"").unreadable.is_some());
        let m = parse("x".into(), &[0xff; 300]);
        assert_eq!(m.sha256.len(), 64);
    }

    /// Every corpus message cut short at many points, and with bytes flipped, is read without a
    /// panic and classified: malformed mail is an outcome, never a crash.
    #[test]
    fn cut_and_damaged_messages_never_panic() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mail");
        let mut seed = 17u64;
        for entry in std::fs::read_dir(dir).unwrap() {
            let raw = std::fs::read(entry.unwrap().path()).unwrap();
            for cut in (0..raw.len()).step_by(raw.len() / 40 + 1) {
                let m = parse("cut".into(), &raw[..cut]);
                let _ = classify::classify(&m);
            }
            let mut damaged = raw.clone();
            for _ in 0..damaged.len() / 20 + 1 {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let at = (seed >> 33) as usize % damaged.len().max(1);
                if let Some(b) = damaged.get_mut(at) {
                    *b = (seed >> 24) as u8;
                }
            }
            let _ = classify::classify(&parse("damaged".into(), &damaged));
        }
    }

    #[test]
    fn marks_automatic_mail() {
        let ooo = parse("x".into(), b"From: a@b.nl\r\nAuto-Submitted: auto-replied\r\nSubject: Re: x\r\n\r\nweg\r\n");
        assert!(ooo.automatic.unwrap().contains("automatic"));
        let bounce = parse(
            "x".into(),
            b"From: MAILER-DAEMON@mx.example\r\nSubject: Undelivered Mail Returned to Sender\r\n\r\nx\r\n",
        );
        assert!(bounce.automatic.unwrap().contains("bounce"));
        let spam = parse("x".into(), b"From: a@b.nl\r\nX-Spam-Flag: YES\r\nSubject: win\r\n\r\nx\r\n");
        assert!(spam.automatic.unwrap().contains("spam"));
    }
}
