//! `dsr request list|show|extend|notified|reject`.

use serde::Serialize;

use crate::audit::{self, Entry};
use crate::cli::RequestCommand;
use crate::exit::Code;
use crate::mail;
use crate::notify;
use crate::output::{sanitize, table};
use crate::request::{self, Filter, Request};

use super::{Ctx, Session};

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
    /// The messages `dsr intake` read for this request (design.md §12: its provenance).
    messages: Vec<crate::inbox::ledger::Provenance>,
    /// A request in review: the messages to read before deciding, with their text.
    to_review: Vec<crate::inbox::ledger::Waiting>,
    timeline: Vec<Entry>,
}

fn listed(conn: &dyn crate::store::db::Db, r: Request, today: chrono::NaiveDate) -> anyhow::Result<Listed> {
    let days_left = r.days_left(today);
    let progress = match (r.state.as_str(), &r.answered_at, &r.delivery_channel) {
        ("verified", Some(_), Some(channel)) => format!("delivered ({channel}), waiting for the systems' tasks"),
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
fn with_stuck(conn: &dyn crate::store::db::Db, mut all: Vec<Listed>) -> anyhow::Result<Vec<Listed>> {
    let stuck = crate::queue::stuck(conn)?;
    for l in &mut all {
        l.letters_not_sent = stuck.get(&l.request.id).copied().unwrap_or(0);
    }
    Ok(all)
}

pub fn request(ctx: &mut Ctx, cmd: RequestCommand) -> anyhow::Result<Code> {
    request_on(&mut ctx.session(), &cmd)
}

/// The request commands, on either backend.
pub fn request_on(ctx: &mut Session, cmd: &RequestCommand) -> anyhow::Result<Code> {
    request::decide::expire(ctx.conn, ctx.clock)?;
    let today = ctx.clock.now().date_naive();
    match cmd {
        RequestCommand::List { to_notify: true, .. } => return to_notify(ctx),
        RequestCommand::List { open, overdue, .. } => {
            let (open, overdue) = (*open, *overdue);
            let all: Vec<Listed> = request::list(ctx.conn, ctx.clock, Filter { open, overdue })?
                .into_iter()
                .map(|r| listed(ctx.conn, r, today))
                .collect::<anyhow::Result<_>>()?;
            let all = with_stuck(ctx.conn, all)?;
            if ctx.out.json {
                ctx.out.json(&serde_json::json!({"format_version": 1, "requests": all}))?;
                return Ok(Code::Ok);
            }
            if all.is_empty() {
                ctx.out.outcome("No requests.")?;
                return Ok(Code::Ok);
            }
            // Fits 80 columns: the state and dates are in `request show` and `--json`.
            let mut t = table::new(ctx.out, &["Request", "Subject", "Right", "Days left", "Next action"]);
            for l in &all {
                let days = if l.request.is_open() { l.days_left.to_string() } else { "-".to_owned() };
                t.add_row(vec![
                    table::cell(&l.request.id),
                    table::cell(&l.label),
                    table::cell(&l.request.right),
                    if l.overdue {
                        table::red(ctx.out, format!("{days} OVERDUE"))
                    } else {
                        comfy_table::Cell::new(days)
                    },
                    table::cell(&l.next_action),
                ]);
            }
            ctx.out.data(&t.to_string())?;
        }
        RequestCommand::Show { id } => {
            let r = request::load(ctx.conn, id)?;
            let timeline = audit::list(ctx.conn, Some(&r.id))?;
            let recipients = crate::notify::list(ctx.conn, &r.id)?;
            let queued = crate::queue::pending(ctx.conn, Some(&r.id))?;
            let mut request = listed(ctx.conn, r, today)?;
            request.letters_not_sent = queued.iter().filter(|q| q.tries > 0).count() as i64;
            let messages = crate::inbox::ledger::of_request(ctx.conn, id)?;
            // Only a request in review is decided with `--review`; a message waiting about an
            // ordinary request (other details, a follow-up) is in `messages` and `intake --list`.
            let to_review = if request.request.in_review() {
                crate::inbox::ledger::waiting_for_request(ctx.conn, &request.request.id)?
            } else {
                Vec::new()
            };
            let shown = Shown { format_version: 1, request, recipients, queued, messages, to_review, timeline };
            if ctx.out.json {
                ctx.out.json(&shown)?;
            } else {
                ctx.out.data(&render_show(ctx, &shown))?;
            }
        }
        RequestCommand::Extend { id, months, reason, reason_nl } => {
            let reason = super::in_both_languages(
                ctx.out,
                ("--reason", "--reason-nl"),
                &["complexity", "number-of-requests"],
                reason,
                reason_nl.as_deref(),
            )?;
            let told = request::decide::extend(ctx.conn, ctx.clock, id, *months, &reason)?;
            report_letter(ctx, &told.request, "extended", told.letter, told.sent)?;
        }
        RequestCommand::Delivered { id, channel, reference } => {
            return super::deliver::delivered(ctx, id, *channel, reference);
        }
        RequestCommand::Notified { id, recipient, reference, impossible: _, reason } => {
            let proof = match (reference, reason) {
                (Some(r), _) => notify::Proof::Reference(r),
                (None, reason) => notify::Proof::Impossible(reason.as_deref().unwrap_or_default()),
            };
            return super::change::notified(ctx, id, recipient, &proof);
        }
        RequestCommand::Reject { id, reason, note, note_nl } => {
            let note = super::in_both_languages(
                ctx.out,
                ("--note", "--note-nl"),
                &["number-of-requests"],
                note,
                note_nl.as_deref(),
            )?;
            let told = request::decide::reject(ctx.conn, ctx.clock, id, *reason, &note)?;
            report_letter(ctx, &told.request, "rejected", told.letter, told.sent)?;
        }
    }
    Ok(Code::Ok)
}

/// `dsr request list --to-notify`: every Art. 19 notification still to be done.
fn to_notify(ctx: &Session) -> anyhow::Result<Code> {
    let open = notify::open(ctx.conn)?;
    if ctx.out.json {
        ctx.out.json(&serde_json::json!({"format_version": 1, "to_notify": open}))?;
        return Ok(Code::Ok);
    }
    if open.is_empty() {
        ctx.out.outcome("No recipients left to notify.")?;
        return Ok(Code::Ok);
    }
    let mut t = table::new(ctx.out, &["Request", "Right", "Recipient", "Code", "Tell them", "Listed"]);
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

fn report_letter(
    ctx: &Session,
    r: &Request,
    what: &str,
    letter: String,
    sent: Option<mail::Sent>,
) -> anyhow::Result<()> {
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
    // The letter is data (the officer may post it); the sentence before it is what was done.
    ctx.out.outcome(&format!("Request {} {what}. {how}\n", r.id))?;
    ctx.out.data(&sanitize::text(&letter, true))?;
    Ok(())
}

fn render_show(ctx: &Session, s: &Shown) -> String {
    let r = &s.request.request;
    let mut t = table::new(ctx.out, &["Field", "Value"]);
    let mut row = |k: &str, v: String| {
        t.add_row(vec![table::cell(k), table::cell(&v)]);
    };
    row("Request", r.id.clone());
    row("Right", r.right.clone());
    row("State", s.request.progress.clone());
    row("Next action", s.request.next_action.clone());
    row("Subject (as given)", r.subject_given.clone().unwrap_or_else(|| "(erased)".into()));
    // An erasure detaches the person's requests (their identifier as given goes too): resolved
    // then, to someone no longer on file.
    let resolved = match (r.person_id, &r.subject_given) {
        (Some(_), _) => "yes",
        (None, None) => "yes, to a person since erased",
        (None, Some(_)) => "no one on file",
    };
    row("Resolved", resolved.into());
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
    for m in &s.messages {
        row(
            "Mail read",
            format!(
                "{} ({}): Message-ID {}, SHA-256 {}",
                m.read_at,
                m.outcome,
                m.message_id.as_deref().unwrap_or("-"),
                m.sha256
            ),
        );
    }
    if let (Some(at), Some(channel)) = (&r.delivered_at, &r.delivery_channel) {
        row("Delivered", format!("{at} by {channel} ({})", r.delivery_ref.clone().unwrap_or_default()));
    }
    for q in &s.queued {
        let state = match (&q.last_error, q.held) {
            (Some(e), _) => format!("NOT SENT after {} tries: {e}", q.tries),
            (None, true) => "held until the systems' tasks are done (dsr tasks)".to_owned(),
            (None, false) => "waiting to be sent".to_owned(),
        };
        row("Queued letter", format!("{} (#{}, queued {}): {state}", q.letter, q.queued, q.queued_at));
    }
    if let Some(reason) = &r.rejection_reason {
        // A refusal always has a note; none left means it was erased with the person.
        row("Rejected", format!("{reason}: {}", r.rejection_note.clone().unwrap_or_else(|| "(erased)".into())));
    }
    let mut tl = table::new(ctx.out, &["#", "Time", "Actor", "Event", "Details"]);
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
        let mut rt = table::new(ctx.out, &["Recipient", "Code", "Tell them", "State"]);
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
    if !s.to_review.is_empty() {
        out.push_str("To review: the message this request was read from\n");
        for w in &s.to_review {
            out.push_str(&super::intake::waiting_block(w));
        }
        out.push_str(&format!(
            "Decide with `dsr RIGHT --review {id}` (with what the right needs: --set, --ground, --purpose), or refuse with `dsr request reject {id}`\n\n",
            id = r.id
        ));
    }
    out.push_str(&format!("Timeline\n{tl}"));
    out
}
