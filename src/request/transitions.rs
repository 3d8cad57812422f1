//! A request's state changes, each recorded in the audit trail in the caller's transaction: the
//! answer prepared, then delivered (the only thing that completes a request); verification by
//! another means than a code; an extension of the deadline (Art. 12(3)); a refusal (Art. 12(4),
//! (5)); the expiry of a request never verified.

use crate::store::db::Db;
use crate::vals;
use chrono::NaiveDate;
use serde_json::json;

use super::{due_date, load, Kind, RejectReason, Request, COLUMNS};
use crate::audit;
use crate::clock::Clock;
use crate::error::Error;

/// Record the substance of the answer.
pub fn set_outcome(conn: &dyn Db, r: &Request, outcome: &serde_json::Value) -> anyhow::Result<()> {
    conn.run("UPDATE request SET outcome = ?2 WHERE id = ?1", &vals![r.id, outcome.to_string()]?)?;
    Ok(())
}

/// The request as the write transaction sees it, not as it was read before: two officers (or an
/// officer and cron) carrying out the same request at once, the second waits for the first's
/// write lock and then finds it carried out (exit 9), rather than carrying it out twice (two
/// audit entries, two letters). `done` says what was not done: "erased", "changed".
pub fn still_to_carry_out(tx: &dyn Db, req: &Request, done: &str) -> anyhow::Result<()> {
    let now = load(tx, &req.id)?;
    if now.carried_out() || now.outcome.is_some() && req.outcome.is_none() {
        return Err(Error::RequestState(format!(
            "request {} was carried out by another dsr process meanwhile; nothing more to do",
            req.id
        ))
        .into());
    }
    if now.state != "verified" {
        return Err(Error::RequestState(format!(
            "request {} is {} now (another dsr process changed it meanwhile); nothing was {done}",
            req.id, now.state
        ))
        .into());
    }
    Ok(())
}

/// Whether an answer letter of request `id` is queued and not delivered yet: it completes the
/// request when it goes out (`dsr mail flush`), so the answer is on its way.
pub fn answer_queued(db: &dyn Db, id: &str) -> anyhow::Result<bool> {
    Ok(crate::queue::answer_of(db, id)?.is_some())
}

/// In the transaction that would mail or hand over an access or export answer: the request as
/// it is now must still wait for its answer (another dsr process may have sent, delivered or
/// rejected it since it was read), and no answer of it may be queued already.
pub fn answer_still_to_give(tx: &dyn Db, id: &str) -> anyhow::Result<Request> {
    let now = load(tx, id)?;
    if now.state != "verified" || now.delivered_at.is_some() {
        return Err(Error::RequestState(format!(
            "request {} is {}; its answer was delivered already or it was closed (by another dsr process meanwhile, or before); nothing was sent",
            now.id, now.state
        ))
        .into());
    }
    if answer_queued(tx, id)? {
        return Err(Error::RequestState(format!(
            "the answer to {} is queued already and completes the request when it goes out (`dsr mail list`, `dsr mail flush`); nothing more was sent (if it cannot be delivered, hand the answer over another way and record it with `dsr request delivered`, which withdraws it)",
            now.id
        ))
        .into());
    }
    Ok(now)
}

/// Set a request's state and record it.
pub fn set_state(
    conn: &dyn Db,
    clock: &Clock,
    r: &Request,
    state: &str,
    details: serde_json::Value,
) -> anyhow::Result<()> {
    let closing = matches!(state, "completed" | "rejected" | "expired");
    conn.run(
        "UPDATE request SET state = ?2, closed_at = CASE WHEN ?3 THEN ?4 ELSE closed_at END WHERE id = ?1",
        &vals![r.id, state, closing, clock.timestamp()]?,
    )?;
    audit::append(conn, clock, Some(&r.id), Some(&r.subject_pseudonym), &format!("request-{state}"), details)?;
    Ok(())
}

/// Record that the answer of a verified request is prepared (viewed, written, carried out). The
/// request stays open until the answer is delivered ([`deliver`]): viewing never completes it.
pub fn answered(conn: &dyn Db, clock: &Clock, r: &Request, details: serde_json::Value) -> anyhow::Result<()> {
    conn.run(
        "UPDATE request SET answered_at = coalesce(answered_at, ?2) WHERE id = ?1",
        &vals![r.id, clock.timestamp()]?,
    )?;
    audit::append(conn, clock, Some(&r.id), Some(&r.subject_pseudonym), "answer-prepared", details)?;
    Ok(())
}

/// How an answer reached the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DeliveryChannel {
    Post,
    InPerson,
    Portal,
}

impl DeliveryChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryChannel::Post => "post",
            DeliveryChannel::InPerson => "in-person",
            DeliveryChannel::Portal => "portal",
        }
    }
}

/// Record that the answer reached the person: the only thing that completes a request. For an
/// access or export request this is also the moment of disclosure, and is audited as such.
pub fn deliver(
    conn: &dyn Db,
    clock: &Clock,
    r: &Request,
    channel: &str,
    reference: Option<&str>,
) -> anyhow::Result<()> {
    if r.state != "verified" {
        return Err(Error::RequestState(format!(
            "request {} is {}; only a verified request's answer can be delivered",
            r.id, r.state
        ))
        .into());
    }
    if r.answered_at.is_none() {
        return Err(Error::RequestState(format!(
            "request {} has no prepared answer yet; prepare it first (`dsr {} {}`)",
            r.id, r.right, r.id
        ))
        .into());
    }
    // The officer's reference may name the person: out of the audit chain, erased with them.
    // (A mail's reference is the outbox file or SMTP message name, no free text.)
    let noted = match reference {
        Some(t) if channel != "email" => crate::free_text::record(conn, clock, Some(&r.id), "--ref", t)?,
        other => json!(other),
    };
    conn.run(
        "UPDATE request SET delivered_at = ?2, delivery_channel = ?3, delivery_ref = ?4 WHERE id = ?1",
        &vals![r.id, clock.timestamp(), channel, reference]?,
    )?;
    if matches!(r.kind(), Ok(Kind::Access | Kind::Export)) {
        audit::append(
            conn,
            clock,
            Some(&r.id),
            Some(&r.subject_pseudonym),
            "disclosed",
            json!({"to": "the person", "channel": channel, "reference": noted}),
        )?;
    }
    // A request whose systems still have open tasks (docs/tasks.md) is completed by the last
    // acknowledgement instead.
    let (open, _, systems) = crate::tasks::open_of(conn, &r.id)?;
    if open > 0 {
        return audit::append(
            conn,
            clock,
            Some(&r.id),
            Some(&r.subject_pseudonym),
            "delivered",
            json!({"delivered": channel, "reference": noted, "waiting_for_tasks": open, "systems": systems}),
        );
    }
    set_state(conn, clock, r, "completed", json!({"delivered": channel, "reference": noted}))
}

/// Complete a request whose answer was delivered once the last task of its systems is done.
pub fn complete_after_tasks(conn: &dyn Db, clock: &Clock, r: &Request) -> anyhow::Result<()> {
    set_state(conn, clock, r, "completed", json!({"delivered": r.delivery_channel, "after": "tasks done"}))
}

/// Record a verification by a means other than an email code: a portal session (batches), or an
/// officer's recorded method with its reason (`dsr verify --method`). Returns the request as it
/// now is.
pub fn mark_verified(
    conn: &dyn Db,
    clock: &Clock,
    r: &Request,
    method: &str,
    reference: Option<&str>,
    reason: Option<&str>,
) -> anyhow::Result<Request> {
    let reference = reference.map(str::trim);
    let noted = reference.map(|t| crate::free_text::record(conn, clock, Some(&r.id), "reference", t)).transpose()?;
    let verified = conn.one(
        &format!(
            "UPDATE request SET state = 'verified', verified_at = ?2, verification_method = ?3, verification_ref = ?4
             WHERE id = ?1 RETURNING {COLUMNS}"
        ),
        &vals![r.id, clock.timestamp(), method, reference]?,
        Request::from_row,
    )?;
    let details = match reason {
        // An officer's alternative to the code, with why (audited as such).
        Some(why) => {
            let why = crate::free_text::record(conn, clock, Some(&r.id), "--reason", why)?;
            json!({"method": method, "alternative": true, "reference": noted, "reason": why})
        }
        None => json!({"method": method, "reference": noted}),
    };
    audit::append(conn, clock, Some(&r.id), Some(&r.subject_pseudonym), "request-verified", details)?;
    Ok(verified)
}

/// A request verified already, verified again by another method or reference (a batch export's
/// row with a new portal session for the person's open request): the request keeps its first
/// verification, and the trail records this one, on which the answer prepared now rests.
pub fn verified_again(
    conn: &dyn Db,
    clock: &Clock,
    r: &Request,
    method: &str,
    reference: Option<&str>,
) -> anyhow::Result<()> {
    let noted = reference
        .map(str::trim)
        .map(|t| crate::free_text::record(conn, clock, Some(&r.id), "reference", t))
        .transpose()?;
    let details = json!({"method": method, "reference": noted, "again": true});
    audit::append(conn, clock, Some(&r.id), Some(&r.subject_pseudonym), "request-verified", details)
}

/// Extend the deadline (Art. 12(3)): by one or two further months, with a reason, decided within
/// the first month; recorded as told to the person today.
pub fn extend(conn: &dyn Db, clock: &Clock, r: &Request, months: u32, reason: &str) -> anyhow::Result<Request> {
    let today = clock.now().date_naive();
    if r.in_review() {
        // Nothing is sent for a request in review: the officer decides it first.
        return Err(r.needs_review().into());
    }
    if !r.is_open() {
        return Err(Error::RequestState(format!(
            "request {} is {}; only an open request can be extended",
            r.id, r.state
        ))
        .into());
    }
    if !(1..=2).contains(&months) {
        return Err(Error::invalid(
            "--months",
            "an extension is 1 or 2 months (Art. 12(3) allows two further months at most)",
        )
        .into());
    }
    if reason.trim().is_empty() {
        return Err(Error::invalid("--reason", "an extension needs a reason to tell the person").into());
    }
    if today > r.due_on {
        return Err(Error::RequestState(format!(
            "request {} was due on {}; an extension must be decided and told within the first month",
            r.id, r.due_on
        ))
        .into());
    }
    let already = r.extended_due_on.map_or(0, |d| months_between(r.received_on, d));
    if already + months > 2 {
        return Err(Error::RequestState(format!(
            "request {} is already extended to {}; at most two further months in all",
            r.id,
            r.deadline()
        ))
        .into());
    }
    let new_due = due_date(r.received_on, 1 + already + months);
    // The chain keeps a keyed hash of what was typed now; the text is erased with the person.
    let typed = crate::free_text::record(conn, clock, Some(&r.id), "--reason", reason)?;
    let reason = match &r.extension_reason {
        // The same reason given again (one month, then another) is told once.
        Some(prev) if prev.lines().any(|l| l == reason.trim()) => prev.clone(),
        // One line per extension: each reason keeps its own languages.
        Some(prev) => format!("{prev}\n{}", reason.trim()),
        None => reason.trim().to_owned(),
    };
    conn.run(
        "UPDATE request SET extended_due_on = ?2, extension_reason = ?3, extension_told_on = ?4 WHERE id = ?1",
        &vals![r.id, new_due, reason, today]?,
    )?;
    audit::append(
        conn,
        clock,
        Some(&r.id),
        Some(&r.subject_pseudonym),
        "request-extended",
        json!({"months": months, "due_on": new_due, "reason": typed, "told_on": today}),
    )?;
    load(conn, &r.id)
}

/// How many further months an extended deadline adds to the first month after `received`.
fn months_between(received: NaiveDate, extended: NaiveDate) -> u32 {
    (1..=2).find(|&m| due_date(received, 1 + m) >= extended).unwrap_or(2)
}

/// Refuse a request (Art. 12(4)/(5)) with a reason and a note; the answer names the complaint route.
pub fn reject(conn: &dyn Db, clock: &Clock, r: &Request, reason: RejectReason, note: &str) -> anyhow::Result<Request> {
    if !r.is_open() {
        return Err(Error::RequestState(format!(
            "request {} is {}; only an open request can be rejected",
            r.id, r.state
        ))
        .into());
    }
    if reason == RejectReason::IdentityNotConfirmed && r.state == "verified" {
        return Err(Error::RequestState(format!(
            "request {} is verified ({}): its requester's identity was confirmed; refuse it on another ground (--reason unfounded, excessive or other)",
            r.id,
            r.verification_method.as_deref().unwrap_or("email-code")
        ))
        .into());
    }
    if let Some(refused) = carried_out_already(r) {
        return Err(Error::RequestState(refused).into());
    }
    if answer_queued(conn, &r.id)? {
        return Err(Error::RequestState(format!(
            "the answer to {} is queued to be mailed (`dsr mail list`); a request whose answer is on its way cannot be rejected",
            r.id
        ))
        .into());
    }
    if note.trim().is_empty() {
        return Err(Error::invalid("--note", "a refusal must state its reasons (Art. 12(4))").into());
    }
    let typed = crate::free_text::record(conn, clock, Some(&r.id), "--note", note)?;
    conn.run(
        "UPDATE request SET rejection_reason = ?2, rejection_note = ?3 WHERE id = ?1",
        &vals![r.id, reason.as_str(), note.trim()]?,
    )?;
    set_state(conn, clock, r, "rejected", json!({"reason": reason.as_str(), "note": typed}))?;
    void_codes(conn, &r.id)?;
    load(conn, &r.id)
}

/// A closed request's code in force no longer verifies anything.
fn void_codes(conn: &dyn Db, request: &str) -> anyhow::Result<()> {
    conn.run("UPDATE challenge SET state = 'superseded' WHERE request_id = ?1 AND state = 'active'", &vals![request]?)?;
    Ok(())
}

/// Why request `r` cannot be refused any more, if it cannot: its answer reached the person, or
/// the change it asked for was made (a refusal letter would contradict both). Such a request
/// stays open only for its systems' tasks, or for the decision on an objection being weighed.
fn carried_out_already(r: &Request) -> Option<String> {
    if let (Some(at), Some(channel)) = (&r.delivered_at, &r.delivery_channel) {
        return Some(format!(
            "the answer to {} was delivered ({channel}, {}); it waits only for its systems' tasks (`dsr tasks`), and cannot be rejected any more",
            r.id,
            at.get(..10).unwrap_or(at)
        ));
    }
    let changes = matches!(r.right.as_str(), "rectify" | "erase" | "restrict" | "object");
    if !changes || r.outcome.is_none() {
        return None;
    }
    Some(match r.right.as_str() {
        "object" => format!(
            "request {} was carried out already; an objection being weighed is decided (`dsr object --decide {} --uphold`, or `--override --grounds TEXT`), not rejected",
            r.id, r.id
        ),
        _ => format!(
            "request {} was carried out already (`dsr request show {}`); its answer goes out as it is, and it cannot be rejected any more",
            r.id, r.id
        ),
    })
}

/// The requests [`expire_stale`] expires at `clock`'s time, as a condition on `request` (its dates
/// written in, for a dry run that counts as if they had expired without expiring them).
pub fn stale_at(clock: &Clock) -> String {
    let now = clock.now();
    let today = now.date_naive();
    let month_ago = crate::clock::stamp(now.checked_sub_months(chrono::Months::new(1)).unwrap_or(now));
    format!(
        "(state = 'awaiting-verification' AND coalesce(extended_due_on, due_on) < '{today}' AND created_at < '{month_ago}')"
    )
}

/// Requests the person never verified expire once their deadline has passed and the person has
/// had a month since the request was opened in dsr to relay the code: a letter logged late
/// (`--received` long ago) stays open, and overdue, rather than expiring before the person could
/// answer. Runs before commands that list or act on requests, so the state is current without a
/// daemon.
pub fn expire_stale(conn: &dyn Db, clock: &Clock) -> anyhow::Result<usize> {
    let mut stale: Vec<Request> = Vec::new();
    conn.each(
        &format!("SELECT {} FROM request WHERE {} ORDER BY year, seq", super::COLUMNS, stale_at(clock)),
        &[],
        &mut |row| {
            stale.push(Request::from_row(&row)?);
            Ok(())
        },
    )?;
    for r in &stale {
        conn.run(
            "UPDATE request SET state = 'expired', closed_at = ?2 WHERE id = ?1",
            &vals![r.id, clock.timestamp()]?,
        )?;
        void_codes(conn, &r.id)?;
        audit::append(
            conn,
            clock,
            Some(&r.id),
            Some(&r.subject_pseudonym),
            "request-expired",
            json!({"deadline": r.deadline()}),
        )?;
    }
    // Art. 12(4), 11(2): each person on file hears why nothing was done and how to identify.
    crate::letters::tell_expired(conn, clock, &stale)?;
    Ok(stale.len())
}
