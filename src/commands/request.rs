//! `dsr request list|show|extend|reject`.

use serde::Serialize;

use crate::audit::{self, Entry};
use crate::cli::RequestCommand;
use crate::exit::Code;
use crate::mail;
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
}

#[derive(Debug, Serialize)]
struct Shown {
    format_version: u32,
    #[serde(flatten)]
    request: Listed,
    /// Art. 19: recipients to tell of the outcome, and whether it was done.
    recipients: Vec<crate::notify::Notification>,
    timeline: Vec<Entry>,
}

fn listed(r: Request, today: chrono::NaiveDate) -> Listed {
    let days_left = r.days_left(today);
    Listed { deadline: r.deadline(), overdue: r.is_open() && days_left < 0, days_left, request: r }
}

pub fn request(ctx: &mut Ctx, cmd: RequestCommand) -> anyhow::Result<Code> {
    {
        let tx = ctx.store.conn.transaction()?;
        request::expire_stale(&tx, &ctx.clock)?;
        tx.commit()?;
    }
    let today = ctx.clock.now().date_naive();
    match cmd {
        RequestCommand::List { open, overdue } => {
            let all: Vec<Listed> = request::list(&ctx.store.conn, &ctx.clock, Filter { open, overdue })?
                .into_iter()
                .map(|r| listed(r, today))
                .collect();
            if ctx.out.json {
                ctx.out.json(&serde_json::json!({"format_version": 1, "requests": all}))?;
                return Ok(Code::Ok);
            }
            if all.is_empty() {
                ctx.out.data("No requests.")?;
                return Ok(Code::Ok);
            }
            let mut t = table::new(&ctx.out, &["Request", "Right", "State", "Received", "Due", "Days left"]);
            for l in &all {
                let days = if l.request.is_open() { l.days_left.to_string() } else { "-".to_owned() };
                let days = if l.overdue { ctx.out.paint(&format!("{days} OVERDUE"), "31") } else { days };
                t.add_row(vec![
                    table::cell(&l.request.id),
                    table::cell(&l.request.right),
                    table::cell(&l.request.state),
                    table::cell(&l.request.received_on.to_string()),
                    table::cell(&l.deadline.to_string()),
                    comfy_table::Cell::new(days),
                ]);
            }
            ctx.out.data(&t.to_string())?;
        }
        RequestCommand::Show { id } => {
            let r = request::load(&ctx.store.conn, &id)?;
            let timeline = audit::list(&ctx.store.conn, Some(&r.id))?;
            let recipients = crate::notify::list(&ctx.store.conn, &r.id)?;
            let shown = Shown { format_version: 1, request: listed(r, today), recipients, timeline };
            if ctx.out.json {
                ctx.out.json(&shown)?;
            } else {
                ctx.out.data(&render_show(ctx, &shown))?;
            }
        }
        RequestCommand::Extend { id, months, reason } => {
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
        RequestCommand::Notified { id, recipient } => {
            return super::change::notified(ctx, &id, &recipient);
        }
        RequestCommand::Reject { id, reason, note } => {
            let controller = controller(ctx)?;
            let tx = ctx.store.conn.transaction()?;
            let r = request::load(&tx, &id)?;
            let r = request::reject(&tx, &ctx.clock, &r, reason, &note)?;
            let letter = mail::Letter {
                kind: "rejection",
                subject: format!("Weigering / Refusal ({})", r.id),
                body: rejection_letter(&controller, &r),
            };
            let sent = mail::notify(&tx, &ctx.clock, &ctx.store.path, &controller, &r, &letter)?;
            tx.commit()?;
            report_letter(ctx, &r, "rejected", letter.body, sent)?;
        }
    }
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
        Some(s) => format!("The letter below was sent to the address on file ({} {}).", s.transport, s.reference),
        None => "No email address on file: send the letter below by other means.".to_owned(),
    };
    ctx.out.data(&format!("Request {} {what}. {how}\n\n{}", r.id, sanitize::text(&letter, true)))?;
    Ok(())
}

fn extension_letter(c: &crate::register::Controller, r: &Request) -> String {
    let (right_en, right_nl) = r.kind().names();
    let (reason_en, reason_nl) = crate::archive::present::reason(r.extension_reason.as_deref().unwrap_or_default());
    let due = r.deadline();
    format!(
        "(English below)\n\nHallo,\n\nWe hebben meer tijd nodig voor je verzoek {id} om {right_nl}. \
Wij beantwoorden het uiterlijk op {due} (art. 12(3) AVG). Reden: {reason_nl}\n\n----------------------------------------\n\n\
Hello,\n\nWe need more time for your request {id} for {right_en}. We will answer it by {due} at the latest \
(GDPR Art. 12(3)). Reason: {reason_en}\n\n{name}, {email}\n",
        id = r.id,
        name = c.name,
        email = c.privacy_email
    )
}

/// Art. 12(4): the reasons for not acting, and the right to complain and to go to court.
fn rejection_letter(c: &crate::register::Controller, r: &Request) -> String {
    let (right_en, right_nl) = r.kind().names();
    let (why_en, why_nl) = match r.rejection_reason.as_deref() {
        Some("unfounded") => (
            "because the request is manifestly unfounded (GDPR Art. 12(5))",
            "omdat het verzoek kennelijk ongegrond is (art. 12 lid 5 AVG)",
        ),
        Some("excessive") => (
            "because the request is manifestly excessive, in particular because of its repetitive character (GDPR Art. 12(5))",
            "omdat het verzoek buitensporig is, met name door het herhalende karakter (art. 12 lid 5 AVG)",
        ),
        Some("identity-not-confirmed") => (
            "because we could not confirm that you are the person concerned (GDPR Art. 12(6))",
            "omdat we niet konden vaststellen dat jij de betrokkene bent (art. 12 lid 6 AVG)",
        ),
        _ => ("for the reasons below", "om de redenen hieronder"),
    };
    let (note_en, note_nl) = crate::archive::present::reason(r.rejection_note.as_deref().unwrap_or_default());
    let body = crate::answers::Text {
        nl: format!("We voeren je verzoek {id} om {right_nl} niet uit, {why_nl}.\nToelichting: {note_nl}", id = r.id),
        en: format!(
            "We will not act on your request {id} for {right_en}, {why_en}.\nExplanation: {note_en}",
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
    row("State", r.state.clone());
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
        row("Verified", format!("{v} by {}", r.verification_method.clone().unwrap_or_default()));
    }
    if let Some(reason) = &r.rejection_reason {
        row("Rejected", format!("{reason}: {}", r.rejection_note.clone().unwrap_or_default()));
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
            let state = match &n.notified_at {
                Some(at) => format!("{} {at}", n.state),
                None => n.state.clone(),
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
