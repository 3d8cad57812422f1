//! `dsr request list|show|extend|notified|reject`.

use serde::Serialize;

use crate::audit::{self, Entry};
use crate::cli::RequestCommand;
use crate::exit::Code;
use crate::mail;
use crate::notify;
use crate::output::{sanitize, table};
use crate::register::Register;
use crate::request::{self, Filter, Request};

use super::Ctx;

#[derive(Debug, Serialize)]
struct Listed {
    #[serde(flatten)]
    request: Request,
    deadline: chrono::NaiveDate,
    days_left: i64,
    overdue: bool,
    /// Where the request stands, in words: "answer prepared, not delivered" between the answer
    /// and its delivery.
    progress: String,
    /// What the officer does next, with the command where there is one ("answer: dsr access R
    /// --send", "erasure plan waits for approval", "2 recipients to tell").
    next_action: String,
    /// The subject's pseudonymous label (the start of the keyed pseudonym the audit trail uses).
    label: String,
    /// Letters of this request the transport refused and that wait in the queue (`dsr mail flush`).
    letters_not_sent: i64,
}

#[derive(Debug, Serialize)]
struct Shown {
    format_version: u32,
    #[serde(flatten)]
    request: Listed,
    /// Art. 19: recipients to tell of the outcome, and whether it was done.
    recipients: Vec<crate::notify::Notification>,
    /// Letters queued for this request and not delivered yet, with the transport's last error.
    queued: Vec<crate::queue::Pending>,
    timeline: Vec<Entry>,
}

fn listed(conn: &rusqlite::Connection, r: Request, today: chrono::NaiveDate) -> anyhow::Result<Listed> {
    let days_left = r.days_left(today);
    let progress = match (r.state.as_str(), &r.answered_at, &r.delivery_channel) {
        ("verified", Some(_), _) => "answer prepared, not delivered".to_owned(),
        ("completed", _, Some(channel)) => format!("completed (delivered: {channel})"),
        (state, _, _) => state.to_owned(),
    };
    let next_action = request::next_action(conn, &r)?;
    let label = r.subject_pseudonym.chars().take(8).collect();
    Ok(Listed {
        deadline: r.deadline(),
        overdue: r.is_open() && days_left < 0,
        days_left,
        request: r,
        progress,
        next_action,
        label,
        letters_not_sent: 0,
    })
}

/// Mark the requests whose letters a transport refused (they wait in the queue).
fn with_stuck(conn: &rusqlite::Connection, mut all: Vec<Listed>) -> rusqlite::Result<Vec<Listed>> {
    let stuck = crate::queue::stuck(conn)?;
    for l in &mut all {
        l.letters_not_sent = stuck.get(&l.request.id).copied().unwrap_or(0);
    }
    Ok(all)
}

pub fn request(ctx: &mut Ctx, cmd: RequestCommand) -> anyhow::Result<Code> {
    {
        let tx = ctx.store.conn.transaction()?;
        request::expire_stale(&tx, &ctx.clock)?;
        tx.commit()?;
    }
    let today = ctx.clock.now().date_naive();
    match cmd {
        RequestCommand::List { to_notify: true, .. } => return to_notify(ctx),
        RequestCommand::List { open, overdue, .. } => {
            let all: Vec<Listed> = request::list(&ctx.store.conn, &ctx.clock, Filter { open, overdue })?
                .into_iter()
                .map(|r| listed(&ctx.store.conn, r, today))
                .collect::<anyhow::Result<_>>()?;
            let all = with_stuck(&ctx.store.conn, all)?;
            if ctx.out.json {
                ctx.out.json(&serde_json::json!({"format_version": 1, "requests": all}))?;
                return Ok(Code::Ok);
            }
            if all.is_empty() {
                ctx.out.data("No requests.")?;
                return Ok(Code::Ok);
            }
            // Fits 80 columns: the state and dates are in `request show` and `--json`.
            let mut t = table::new(&ctx.out, &["Request", "Subject", "Right", "Days left", "Next action"]);
            for l in &all {
                let days = if l.request.is_open() { l.days_left.to_string() } else { "-".to_owned() };
                let days = if l.overdue { ctx.out.paint(&format!("{days} OVERDUE"), "31") } else { days };
                t.add_row(vec![
                    table::cell(&l.request.id),
                    table::cell(&l.label),
                    table::cell(&l.request.right),
                    comfy_table::Cell::new(days),
                    table::cell(&l.next_action),
                ]);
            }
            ctx.out.data(&t.to_string())?;
        }
        RequestCommand::Show { id } => {
            let r = request::load(&ctx.store.conn, &id)?;
            let timeline = audit::list(&ctx.store.conn, Some(&r.id))?;
            let recipients = crate::notify::list(&ctx.store.conn, &r.id)?;
            let queued = crate::queue::pending(&ctx.store.conn, Some(&r.id))?;
            let mut request = listed(&ctx.store.conn, r, today)?;
            request.letters_not_sent = queued.iter().filter(|q| q.tries > 0).count() as i64;
            let shown = Shown { format_version: 1, request, recipients, queued, timeline };
            if ctx.out.json {
                ctx.out.json(&shown)?;
            } else {
                ctx.out.data(&render_show(ctx, &shown))?;
            }
        }
        RequestCommand::Extend { id, months, reason, reason_nl } => {
            let reason = super::in_both_languages(&ctx.out, "--reason", "--reason-nl", &reason, reason_nl.as_deref())?;
            let controller = controller(ctx)?;
            let tx = ctx.store.conn.transaction()?;
            let r = request::load(&tx, &id)?;
            let r = request::extend(&tx, &ctx.clock, &r, months, &reason)?;
            let letter = mail::Letter {
                kind: "extension",
                subject: format!("Verlenging / Extension ({})", r.id),
                body: extension_letter(&controller, &r),
            };
            let sent = mail::notify(&tx, &ctx.clock, &ctx.store.path, &controller, &r, &letter)?;
            tx.commit()?;
            report_letter(ctx, &r, "extended", letter.body, sent)?;
        }
        RequestCommand::Delivered { id, channel, reference } => {
            return super::deliver::delivered(ctx, &id, channel, &reference);
        }
        RequestCommand::Notified { id, recipient, reference, impossible: _, reason } => {
            let proof = match (&reference, &reason) {
                (Some(r), _) => notify::Proof::Reference(r),
                (None, reason) => notify::Proof::Impossible(reason.as_deref().unwrap_or_default()),
            };
            return super::change::notified(ctx, &id, &recipient, &proof);
        }
        RequestCommand::Reject { id, reason, note, note_nl } => {
            let note = super::in_both_languages(&ctx.out, "--note", "--note-nl", &note, note_nl.as_deref())?;
            let controller = controller(ctx)?;
            let tx = ctx.store.conn.transaction()?;
            let r = request::load(&tx, &id)?;
            let r = request::reject(&tx, &ctx.clock, &r, reason, &note)?;
            let earlier = earlier_requests(&tx, &r)?;
            let letter = mail::Letter {
                kind: "rejection",
                subject: format!("Weigering / Refusal ({})", r.id),
                body: rejection_letter(&controller, &r, &earlier),
            };
            let sent = mail::notify(&tx, &ctx.clock, &ctx.store.path, &controller, &r, &letter)?;
            tx.commit()?;
            report_letter(ctx, &r, "rejected", letter.body, sent)?;
        }
    }
    Ok(Code::Ok)
}

/// `dsr request list --to-notify`: every Art. 19 notification still to be done.
fn to_notify(ctx: &Ctx) -> anyhow::Result<Code> {
    let open = notify::open(&ctx.store.conn)?;
    if ctx.out.json {
        ctx.out.json(&serde_json::json!({"format_version": 1, "to_notify": open}))?;
        return Ok(Code::Ok);
    }
    if open.is_empty() {
        ctx.out.data("No recipients left to notify.")?;
        return Ok(Code::Ok);
    }
    let mut t = table::new(&ctx.out, &["Request", "Right", "Recipient", "Code", "Tell them", "Listed"]);
    for o in &open {
        let n = &o.notification;
        t.add_row(vec![
            table::cell(&o.request),
            table::cell(&o.right),
            table::cell(&n.name),
            table::cell(&n.recipient),
            table::cell(&n.what),
            table::cell(n.listed_at.as_deref().unwrap_or("")),
        ]);
    }
    ctx.out.data(&format!(
        "{t}\nRecord each with `dsr request notified REQUEST --recipient CODE --ref TEXT` (or `--impossible --reason TEXT`)."
    ))?;
    Ok(Code::Ok)
}

fn controller(ctx: &Ctx) -> anyhow::Result<crate::register::Controller> {
    Register::load(&ctx.store.conn)?.controller.ok_or_else(|| anyhow::anyhow!("the store has no register"))
}

fn report_letter(ctx: &Ctx, r: &Request, what: &str, letter: String, sent: Option<mail::Sent>) -> anyhow::Result<()> {
    if ctx.out.json {
        ctx.out.json(&serde_json::json!({"format_version": 1, "request": r, "letter": letter, "sent": sent}))?;
        return Ok(());
    }
    let how = match &sent {
        Some(s) => {
            format!("The letter below is {} for the address on file; it is sent after this command.", s.reference)
        }
        None => "No email address on file: send the letter below by other means.".to_owned(),
    };
    ctx.out.data(&format!("Request {} {what}. {how}\n\n{}", r.id, sanitize::text(&letter, true)))?;
    Ok(())
}

fn extension_letter(c: &crate::register::Controller, r: &Request) -> String {
    let (right_en, right_nl) = r.kind().names();
    let (reason_en, reason_nl) = crate::archive::present::reason(r.extension_reason.as_deref().unwrap_or_default());
    let (due_nl, due_en) = crate::local_time::day(r.deadline());
    let sig = crate::answers::signature(c);
    format!(
        "(English below)\n\nHallo,\n\nWe hebben meer tijd nodig voor je verzoek {id} om {right_nl}. \
Wij beantwoorden het uiterlijk op {due_nl} (art. 12(3) AVG). Reden: {reason_nl}\n\n{sig_nl}\n\n----------------------------------------\n\n\
Hello,\n\nWe need more time for your request {id} for {right_en}. We will answer it by {due_en} at the latest \
(GDPR Art. 12(3)). Reason: {reason_en}\n\n{sig_en}\n",
        id = r.id,
        sig_nl = sig.nl,
        sig_en = sig.en
    )
}

/// The person's earlier requests for the same right (ids, oldest first): what makes a request
/// repetitive (Art. 12(5)). Matched by person, or by the keyed pseudonym when no one was resolved.
fn earlier_requests(conn: &rusqlite::Connection, r: &Request) -> rusqlite::Result<Vec<String>> {
    let (year, seq): (i64, i64) =
        conn.query_row("SELECT year, seq FROM request WHERE id = ?1", [&r.id], |x| Ok((x.get(0)?, x.get(1)?)))?;
    conn.prepare(
        "SELECT id FROM request WHERE kind = ?1 AND id <> ?2 AND (year < ?3 OR (year = ?3 AND seq < ?4))
           AND (person_id = ?5 OR subject_pseudonym = ?6) ORDER BY year, seq",
    )?
    .query_map(rusqlite::params![r.right, r.id, year, seq, r.person_id, r.subject_pseudonym], |x| x.get(0))?
    .collect()
}

/// Art. 12(4): the reasons for not acting, and the right to complain and to go to court.
/// A refusal as manifestly unfounded or excessive names Art. 12(5) and, when repetitiveness is
/// the reason, the earlier requests; one for want of identification cites Art. 11(2) and 12(2)
/// and says how the person can still be identified.
fn rejection_letter(c: &crate::register::Controller, r: &Request, earlier: &[String]) -> String {
    let (right_en, right_nl) = r.kind().names();
    let art_12_5 = (
        "Under GDPR Art. 12(5) we may refuse to act on requests that are manifestly unfounded or excessive.",
        "Op grond van art. 12 lid 5 AVG mogen we weigeren gevolg te geven aan verzoeken die kennelijk ongegrond of buitensporig zijn.",
    );
    let (why_en, why_nl, more_en, more_nl) = match r.rejection_reason.as_deref() {
        Some("unfounded") => (
            "because it is manifestly unfounded".to_owned(),
            "omdat het kennelijk ongegrond is".to_owned(),
            art_12_5.0.to_owned(),
            art_12_5.1.to_owned(),
        ),
        Some("excessive") => {
            let (list_en, list_nl) = if earlier.is_empty() {
                (String::new(), String::new())
            } else {
                (
                    format!(" Your earlier requests for {right_en}: {}.", earlier.join(", ")),
                    format!(" Je eerdere verzoeken om {right_nl}: {}.", earlier.join(", ")),
                )
            };
            (
                "because it is manifestly excessive, in particular because of its repetitive character".to_owned(),
                "omdat het kennelijk buitensporig is, met name vanwege het repetitieve karakter".to_owned(),
                format!("{}{list_en}", art_12_5.0),
                format!("{}{list_nl}", art_12_5.1),
            )
        }
        Some("identity-not-confirmed") => (
            "because we could not identify you as the person whose data it concerns (GDPR Art. 11(2) and 12(2))"
                .to_owned(),
            "omdat we je niet konden identificeren als de persoon om wiens gegevens het gaat (art. 11 lid 2 en art. 12 lid 2 AVG)"
                .to_owned(),
            format!(
                "How you can still be identified: make the request again; we send a one-time code to the email \
address we hold for you, and you pass that code on to us. You may also give us additional information that lets us \
identify you, such as your customer number (Art. 11(2)). We never ask for a copy of an identity document. {}",
                c.rights_contact_en
            ),
            format!(
                "Zo kun je je alsnog identificeren: doe je verzoek opnieuw; we sturen dan een eenmalige code naar het \
e-mailadres dat we van je hebben, en die code geef je aan ons door. Je kunt ons ook aanvullende gegevens geven \
waarmee we je kunnen identificeren, zoals je klantnummer (art. 11 lid 2 AVG). Om een kopie van je identiteitsbewijs \
vragen we nooit. {}",
                c.rights_contact_nl
            ),
        ),
        _ => ("for the reasons below".to_owned(), "om de redenen hieronder".to_owned(), String::new(), String::new()),
    };
    let (note_en, note_nl) = crate::archive::present::reason(r.rejection_note.as_deref().unwrap_or_default());
    let lead = |more: String| if more.is_empty() { more } else { format!(" {more}") };
    let (more_nl, more_en) = (lead(more_nl), lead(more_en));
    let body = crate::answers::Text {
        nl: format!(
            "We voeren je verzoek {id} om {right_nl} niet uit, {why_nl}.{more_nl}\nToelichting: {note_nl}",
            id = r.id
        ),
        en: format!(
            "We will not act on your request {id} for {right_en}, {why_en}.{more_en}\nExplanation: {note_en}",
            id = r.id
        ),
    };
    crate::answers::compose(c, &body, &crate::answers::Text { nl: String::new(), en: String::new() })
}

fn render_show(ctx: &Ctx, s: &Shown) -> String {
    let r = &s.request.request;
    let mut t = table::new(&ctx.out, &["Field", "Value"]);
    let mut row = |k: &str, v: String| {
        t.add_row(vec![table::cell(k), table::cell(&v)]);
    };
    row("Request", r.id.clone());
    row("Right", r.right.clone());
    row("State", s.request.progress.clone());
    row("Next action", s.request.next_action.clone());
    row("Subject (as given)", r.subject_given.clone().unwrap_or_else(|| "(erased)".into()));
    row("Resolved", if r.person_id.is_some() { "yes".into() } else { "no one on file".into() });
    row("Channel", r.channel.clone());
    row("Received", r.received_on.to_string());
    row("Due", r.due_on.to_string());
    if let Some(d) = r.extended_due_on {
        row(
            "Extended to",
            format!(
                "{d} ({}; told {})",
                r.extension_reason.clone().unwrap_or_default(),
                r.extension_told_on.map(|x| x.to_string()).unwrap_or_default()
            ),
        );
    }
    row("Days left", if r.is_open() { s.request.days_left.to_string() } else { "-".into() });
    if let Some(v) = &r.verified_at {
        let reference = r.verification_ref.as_deref().map(|x| format!(" ({x})")).unwrap_or_default();
        row("Verified", format!("{v} by {}{reference}", r.verification_method.clone().unwrap_or_default()));
    }
    if let (Some(at), Some(channel)) = (&r.delivered_at, &r.delivery_channel) {
        row("Delivered", format!("{at} by {channel} ({})", r.delivery_ref.clone().unwrap_or_default()));
    }
    for q in &s.queued {
        let state = match &q.last_error {
            Some(e) => format!("NOT SENT after {} tries: {e}", q.tries),
            None => "waiting to be sent".to_owned(),
        };
        row("Queued letter", format!("{} (#{}, queued {}): {state}", q.letter, q.queued, q.queued_at));
    }
    if let Some(reason) = &r.rejection_reason {
        // A refusal always has a note; none left means it was erased with the person.
        row("Rejected", format!("{reason}: {}", r.rejection_note.clone().unwrap_or_else(|| "(erased)".into())));
    }
    let mut tl = table::new(&ctx.out, &["#", "Time", "Actor", "Event", "Details"]);
    for e in &s.timeline {
        tl.add_row(vec![
            table::cell(&e.id.to_string()),
            table::cell(&format!("{}{}", e.at, if e.clock_injected { " (DSR_NOW)" } else { "" })),
            table::cell(&e.actor),
            table::cell(&e.action),
            table::cell(&e.details.to_string()),
        ]);
    }
    let mut out = format!("{t}\n");
    if !s.recipients.is_empty() {
        let mut rt = table::new(&ctx.out, &["Recipient", "Code", "Tell them", "State"]);
        for n in &s.recipients {
            let state = match (&n.notified_at, n.reference.as_ref().or(n.reason.as_ref())) {
                (Some(at), Some(proof)) => format!("{} {at}: {proof}", n.state),
                (Some(at), None) => format!("{} {at}", n.state),
                _ => n.state.clone(),
            };
            rt.add_row(vec![
                table::cell(&n.name),
                table::cell(&n.recipient),
                table::cell(&n.what),
                table::cell(&state),
            ]);
        }
        out.push_str(&format!("Recipients to notify (Art. 19)\n{rt}\n"));
    }
    out.push_str(&format!("Timeline\n{tl}"));
    out
}
