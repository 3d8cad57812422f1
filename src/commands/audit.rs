//! `dsr audit verify|anchor|log`.

use std::io::Write;
use std::path::Path;

use crate::audit::{self, anchor::Anchor};
use crate::error::Error;
use crate::exit::Code;
use crate::output::{table, Output};
use crate::queue::OnSent;
use crate::store::db::Db;

use super::Session;

/// `dsr audit verify` on either backend's store.
pub fn verify(db: &dyn Db, out: &Output, anchor: Option<&Path>) -> anyhow::Result<Code> {
    // A file that is not an anchor is a usage error, whatever the trail holds.
    let anchor = anchor.map(|p| Anchor::read(p).map(|a| (a, p))).transpose()?;
    let mut v = audit::verify(db)?;
    if let Some((a, path)) = anchor.filter(|_| v.ok) {
        let checked = audit::anchor::check(db, &a, path)?;
        if !checked.ok {
            v.ok = false;
            v.first_bad_entry = Some(a.entries);
            v.problem.clone_from(&checked.problem);
        }
        v.anchor = Some(checked);
    }
    if out.json {
        out.json(&v)?;
    } else if v.ok {
        let mut text = format!("Audit trail verified: {} entries, chain intact.", v.entries);
        if let Some(h) = &v.head {
            let written = h.at.as_deref().map(|at| format!(", written {at}")).unwrap_or_default();
            text.push_str(&format!("\nHead: entry {}, SHA-256 {}{written}.", h.entry, h.hash));
        }
        if let Some(a) = &v.anchor {
            text.push_str(&format!(
                "\nAnchor {} (entry {}, taken {}): the trail still holds that entry with that hash.",
                a.file, a.entries, a.at
            ));
        }
        out.data(&text)?;
    }
    match (v.ok, v.first_bad_entry) {
        (true, _) => Ok(Code::Ok),
        (false, entry) => {
            // What to do, by what failed: the chain itself, or only the anchor's entry.
            let advice = match &v.anchor {
                Some(a) if !a.ok => "the store was changed outside dsr since the anchor was taken: keep it as evidence and restore the last backup that verifies with this anchor",
                _ => CHANGED_OUTSIDE,
            };
            let why = format!("{}; {advice}", v.problem.unwrap_or_default());
            Err(Error::AuditBroken { entry, why }.into())
        }
    }
}

/// What to do about a broken chain.
const CHANGED_OUTSIDE: &str = "the store was changed outside dsr: keep it as evidence, compare it with your last anchor (`dsr audit verify --anchor FILE`) and restore the last backup that verifies";

/// `dsr audit anchor`: the head of a verified trail, written to a file (atomically, 0600) and/or
/// queued as a letter to an address (sent after the command, like every letter).
pub fn anchor(ctx: &mut Session, out: Option<&Path>, force: bool, to: Option<&str>) -> anyhow::Result<Code> {
    // An anchor taken before the entry it anchors, and a letter whose delivery could never be
    // recorded, under a clock behind the trail: refused before anything is written (exit 2).
    audit::clock_not_behind(ctx.conn, ctx.clock)?;
    // The chain verified and its head read in one snapshot, whoever writes meanwhile.
    let anchor = {
        let snapshot = ctx.conn.snapshot()?;
        let anchor = anchored(&*snapshot, ctx.clock)?;
        snapshot.commit()?;
        anchor
    };
    let message = match to {
        Some(to) => Some(anchor_message(ctx, to, &anchor)?),
        None => None,
    };
    if let Some(path) = out {
        crate::fsutil::write_private(path, force, |f| Ok(f.write_all(anchor.to_json().as_bytes())?))?;
    }
    let queued = match &message {
        Some(m) => Some(crate::queue::mail(ctx.conn, ctx.clock, None, "audit-anchor", m, OnSent::Nothing)?),
        None => None,
    };
    tell_anchored(ctx.out, &anchor, out, queued)
}

/// The anchor of a chain that verifies (a broken chain is not anchored: exit 16).
fn anchored(db: &dyn Db, clock: &crate::clock::Clock) -> anyhow::Result<Anchor> {
    let v = audit::verify(db)?;
    match (v.ok, v.head) {
        (true, Some(head)) => Ok(Anchor::of(&head, clock.timestamp())),
        _ => {
            let entry = v.first_bad_entry;
            let why = format!("{}; nothing was anchored; {CHANGED_OUTSIDE}", v.problem.unwrap_or_default());
            Err(Error::AuditBroken { entry, why }.into())
        }
    }
}

fn tell_anchored(output: &Output, anchor: &Anchor, out: Option<&Path>, queued: Option<i64>) -> anyhow::Result<Code> {
    if output.json {
        let file = out.map(|p| p.display().to_string());
        output.json(&serde_json::json!({"format_version": 1, "anchor": anchor, "file": file, "queued": queued}))?;
        return Ok(Code::Ok);
    }
    let mut text = format!("Anchored entry {} (SHA-256 {}).", anchor.entries, anchor.hash);
    if let Some(path) = out {
        text.push_str(&format!("\nWritten to {}.", path.display()));
    }
    if let Some(id) = queued {
        text.push_str(&format!("\nQueued as letter #{id} to the address given; it is sent after this command."));
    }
    // The anchor went to a file or a letter: this is a status line, which `-q` silences (the
    // nightly cron line then mails no output).
    output.status(&text)?;
    Ok(Code::Ok)
}

/// The anchor's letter, with the anchor attached. The transport is checked now, so a
/// misconfigured one is refused before anything is written.
fn anchor_message(ctx: &Session, to: &str, anchor: &Anchor) -> anyhow::Result<lettre::Message> {
    use lettre::message::{header::ContentType, Attachment};
    if to.trim().parse::<lettre::Address>().is_err() {
        return Err(Error::invalid("--mail", "give one email address, such as dpo@example.nl").into());
    }
    crate::mail::Transport::from_env(&ctx.conn.place())?;
    let controller =
        crate::register::Register::load(ctx.conn)?.controller.ok_or_else(crate::error::Error::no_register)?;
    let (subject, body) = audit::anchor::letter(&controller, anchor);
    let attachment = Attachment::new(audit::anchor::attachment_name(anchor))
        .body(anchor.to_json(), ContentType::parse("application/json")?);
    crate::mail::message_with_attachment(&controller, to.trim(), &subject, body, attachment, ctx.clock)
}

/// `dsr audit log` on either backend's store.
pub fn log(db: &dyn Db, out: &Output, request: Option<&str>) -> anyhow::Result<Code> {
    let request = request.map(crate::request::parse_id).transpose()?;
    let entries = audit::list(db, request.as_deref())?;
    if let Some(id) = request.as_deref().filter(|_| entries.is_empty()) {
        // A request leaves entries from the moment it is opened; none means no such request.
        return Err(crate::Error::UnknownRequest(id.to_owned()).into());
    }
    if out.json {
        out.json(&serde_json::json!({"format_version": 1, "entries": entries}))?;
        return Ok(Code::Ok);
    }
    let mut t = table::new(out, &["#", "Time", "Actor", "Request", "Person", "Event", "Details"]);
    for e in &entries {
        t.add_row(vec![
            table::cell(&e.id.to_string()),
            table::cell(&format!("{}{}", e.at, if e.clock_injected { " (DSR_NOW)" } else { "" })),
            table::cell(&e.actor),
            table::cell(e.request_id.as_deref().unwrap_or("")),
            table::cell(e.subject_pseudonym.as_deref().map(|p| &p[..8.min(p.len())]).unwrap_or("")),
            table::cell(&e.action),
            table::cell(&e.details.to_string()),
        ]);
    }
    out.data(&t.to_string())?;
    Ok(Code::Ok)
}
