//! Intake, the first step of every right (design.md §4): open a request (or find the open one
//! for the same person and right), and send the one-time code to the address on file; an email
//! address that names no one gets the Art. 15(1) negative confirmation instead. One transaction:
//! the request, its audit entries and its queued letters are recorded together; the letters go
//! out after the commit. A known and an unknown identifier look the same to whoever asks.
//! Then verification: the code checked, a new code sent, another method recorded, a lock lifted.

use serde_json::json;

use crate::clock::Clock;
use crate::error::Error;
use crate::keys::Keys;
use crate::register::{Controller, Register};
use crate::request::{self, NewRequest, Request};
use crate::store::db::{Conn, Db};
use crate::vals;
use crate::{audit, mail, subject, verify};

/// What opening did.
#[derive(Debug)]
pub struct Intake {
    pub request: Request,
    /// A new request; false when one for the same person and right was already open.
    pub fresh: bool,
    /// The open request (not verified yet) now asks what was given this time.
    pub amended: bool,
    /// Why no code went out for a new or amended request (the person's code limits or a lock):
    /// the request is recorded all the same (its deadline runs from receipt), and a code is
    /// sent later with `dsr verify --resend`.
    pub held_back: Option<Error>,
}

/// Open the request `new` describes: resolve, dedupe, and queue the code for the address on file.
pub fn open(store: &dyn Conn, clock: &Clock, new: &NewRequest<'_>) -> anyhow::Result<Intake> {
    let (keys, controller) = prepare(store)?;
    open_then(store, clock, &keys, &controller, new, &mut |_, _, _| Ok(()))
}

/// What opening requests needs from the store, read once for many (`dsr intake`): the keys,
/// and the controller the letters come from, with the mail set-up checked.
pub fn prepare(store: &dyn Conn) -> anyhow::Result<(Keys, Controller)> {
    let keys = Keys::load(store)?;
    let register = Register::load(store)?;
    let controller = register.controller.ok_or_else(crate::error::Error::no_register)?;
    mail::check_setup(&store.place(), &controller)?;
    Ok((keys, controller))
}

/// [`open`], and `then` (given the request and whether it is new) in the same transaction: a
/// message read from the mailbox is recorded with the request it opened, or with neither.
pub fn open_then(
    store: &dyn Conn,
    clock: &Clock,
    keys: &Keys,
    controller: &Controller,
    new: &NewRequest<'_>,
    then: &mut dyn FnMut(&dyn Db, &Request, bool) -> anyhow::Result<()>,
) -> anyhow::Result<Intake> {
    let tx_box = store.begin_own()?;
    let tx: &dyn Db = &*tx_box;
    request::expire_stale(tx, clock)?;
    let intake = open_in(tx, clock, keys, controller, new)?;
    then(tx, &intake.request, intake.fresh)?;
    tx_box.commit()?;
    Ok(intake)
}

/// [`open`] inside the caller's transaction, which has expired what is stale
/// ([`request::expire_stale`]): `dsr intake` opens the requests of many messages in one.
pub fn open_in(
    tx: &dyn Db,
    clock: &Clock,
    keys: &Keys,
    controller: &Controller,
    new: &NewRequest<'_>,
) -> anyhow::Result<Intake> {
    let place = tx.place();
    let asked = new.params.clone();
    let (mut req, fresh) = request::open(tx, clock, keys, new)?;
    let amended = !fresh && req.params != asked;
    if amended {
        if req.state != "awaiting-verification" {
            // Verified for what it asked: silently answering something else, or dropping what the
            // officer typed now, would both be wrong.
            return Err(Error::RequestState(format!(
                "request {id} ({right}) is already open and verified for this person with other details than these, which were not recorded; \
                 carry out or reject {id} first (`dsr request show {id}`), then open the new request",
                id = req.id,
                right = req.right
            ))
            .into());
        }
        // Not verified yet: the open request now asks what the person asks now, and the code sent
        // for what it asked before no longer approves anything.
        // With the identifier it is asked by now: a rectification of an email address corrects
        // the address the request names (the one given, of several the person has).
        let (kind, _) = request::identifier_parts(new.identifier);
        tx.run(
            "UPDATE request SET params = ?2, subject_kind = ?3, subject_given = ?4 WHERE id = ?1",
            &vals![req.id, asked.to_string(), kind, new.given]?,
        )?;
        audit::append(
            tx,
            clock,
            Some(&req.id),
            Some(&req.subject_pseudonym),
            "request-amended",
            json!({"params": "replaced"}),
        )?;
        req = request::load(tx, &req.id)?;
        verify::void(tx, clock, &req)?;
    }
    // A new code for the new details, within the limits; known and unknown people alike. A
    // request received is recorded even when no code may go out now (Art. 12(3): its month
    // runs from receipt).
    let mut held_back = None;
    if fresh || amended {
        if let Err(e) = send_code(tx, clock, &place, keys, controller, &req) {
            match e.downcast::<Error>() {
                Ok(e @ (Error::RateLimited(_) | Error::VerificationLocked(_))) => held_back = Some(e),
                Ok(e) => return Err(e.into()),
                Err(e) => return Err(e),
            }
        }
    }
    if fresh {
        negative_confirmation(tx, clock, &place, controller, &req)?;
    }
    Ok(Intake { request: req, fresh, amended, held_back })
}

/// The officer's decision on request `id`, which `dsr intake` opened in review: it asks for
/// `kind` with `params`. It becomes an ordinary request awaiting verification, received when the
/// message was (the deadline does not move), and the code goes to the address on file (or the
/// Art. 15(1) letter to an address that names no one), as when a request is opened; the messages
/// it was read from are resolved and their text emptied. One transaction.
pub fn decide_review(
    store: &dyn Conn,
    clock: &Clock,
    id: &str,
    kind: request::Kind,
    params: serde_json::Value,
) -> anyhow::Result<Intake> {
    let (keys, controller) = prepare(store)?;
    let place = store.place();
    let tx_box = store.begin_own()?;
    let tx: &dyn Db = &*tx_box;
    request::expire_stale(tx, clock)?;
    let req = request::load(tx, id)?;
    if !req.in_review() {
        return Err(Error::RequestState(format!(
            "request {} is {} ({}), not waiting for review; --review takes a request `dsr intake` opened as needs-review",
            req.id, req.state, req.right
        ))
        .into());
    }
    let other = tx.first(
        "SELECT id FROM request WHERE subject_pseudonym = ?1 AND kind = ?2 AND state IN ('awaiting-verification', 'verified')
         ORDER BY created_at LIMIT 1",
        &vals![req.subject_pseudonym, kind.as_str()]?,
        |r| r.get::<String>(0),
    )?;
    if let Some(other) = other {
        return Err(Error::RequestState(format!(
            "request {other} ({}) is already open for this person: answer the message there, and close {} with `dsr request reject {} --reason other --note TEXT --note-nl TEKST`",
            kind.as_str(),
            req.id,
            req.id
        ))
        .into());
    }
    // `created_at` becomes the decision's time: an unverified request expires only once the
    // person has had a month to relay the code ([`request::expire_stale`]), and the code goes
    // out now, not when the message was read (a late decision must not expire at the next command).
    tx.run(
        "UPDATE request SET kind = ?2, params = ?3, state = 'awaiting-verification', created_at = ?4 WHERE id = ?1",
        &vals![req.id, kind.as_str(), params.to_string(), clock.timestamp()]?,
    )?;
    audit::append(
        tx,
        clock,
        Some(&req.id),
        Some(&req.subject_pseudonym),
        "request-reviewed",
        json!({"was": req.right, "right": kind.as_str()}),
    )?;
    crate::inbox::ledger::resolve_for_request(tx, clock, &req.id, &format!("opened as {}", kind.as_str()))?;
    let req = request::load(tx, &req.id)?;
    send_code(tx, clock, &place, &keys, &controller, &req)?;
    negative_confirmation(tx, clock, &place, &controller, &req)?;
    tx_box.commit()?;
    Ok(Intake { request: req, fresh: true, amended: false, held_back: None })
}

/// Issue a code and queue it for the address on file, inside the caller's transaction (it is
/// delivered after the commit; a transport failure leaves it queued with its error). A request that names no
/// one, or a person without an email address, gets no code and the same acknowledgement.
pub fn send_code(
    tx: &dyn Db,
    clock: &Clock,
    store: &std::path::Path,
    keys: &Keys,
    controller: &Controller,
    req: &Request,
) -> anyhow::Result<bool> {
    let address = match req.person_id {
        Some(person) => subject::address_on_file(tx, person, req.named_email().as_deref())?,
        None => None,
    };
    // A stored address no mail can reach is treated as none: failing here would tell the officer
    // (and whoever asked) that the person is on file.
    let address = address.filter(|a| mail::mailable(a).is_some());
    let Some(address) = address else {
        // A code that is never sent, so that tries, limits and lock look the same as for a person on file.
        verify::issue(tx, clock, keys, req, None)?;
        return Ok(false);
    };
    // The address as the map compares it: a reply is from it when its sender is (`inbox`).
    let rule = crate::store::personal::DataMap::load(tx)?.email_rule();
    let issued = verify::issue(tx, clock, keys, req, Some(&rule.of_written(&address)))?;
    let body = mail::challenge_body(
        controller,
        &req.id,
        req.kind()?.names(),
        mail::asked_named(tx, &req.params)?,
        &issued.grouped(),
        issued.expires_at,
    )?;
    let subject_line = crate::letters::subject_of(controller, "verification-code", &req.id);
    let message = mail::message(controller, &address, &subject_line, body, clock)?;
    mail::queue_message(tx, clock, store, req, "verification-code", &message, crate::queue::OnSent::Nothing)?;
    Ok(true)
}

/// Art. 15(1): a request opened by an email address that names no one on file gets a letter at
/// that address saying no data is linked to it. Sent only to the address given (its owner learns
/// only about it), never shown differently to the officer; a person on file gets the code instead.
fn negative_confirmation(
    tx: &dyn Db,
    clock: &Clock,
    store: &std::path::Path,
    controller: &Controller,
    req: &Request,
) -> anyhow::Result<()> {
    let Some(address) = req.named_email().filter(|_| req.person_id.is_none()) else {
        return Ok(());
    };
    if mail::mailable(&address).is_none() {
        // Nothing can reach it; the officer's answer must not differ from a known person's.
        return Ok(());
    }
    let exact = crate::store::personal::DataMap::load(tx)?.email_rule() == crate::map::table::LocalPart::Exact;
    let letter = crate::letters::no_data(controller, req, &address, exact)?;
    mail::notify_address(tx, clock, store, controller, req, &address, &letter)?;
    Ok(())
}

/// A code checked: the request and what the check found.
#[derive(Debug)]
pub struct Checked {
    pub request: Request,
    pub outcome: verify::Outcome,
}

/// Check the code the person relayed for request `id`. Failures (tries, a burned code, a lock)
/// are recorded before they are reported, so the outcome is committed either way.
pub fn check(store: &dyn Conn, clock: &Clock, id: &str, code: &str) -> anyhow::Result<Checked> {
    let keys = Keys::load(store)?;
    let tx_box = store.begin_own()?;
    let tx: &dyn Db = &*tx_box;
    request::expire_stale(tx, clock)?;
    let req = request::load(tx, id)?;
    let outcome = verify::check(tx, clock, &keys, &req, code)?;
    tx_box.commit()?;
    Ok(Checked { request: req, outcome })
}

/// Send a new code for a request that awaits verification (the older one no longer works).
pub fn resend(store: &dyn Conn, clock: &Clock, id: &str) -> anyhow::Result<Request> {
    let keys = Keys::load(store)?;
    let register = Register::load(store)?;
    let controller = register.controller.ok_or_else(crate::error::Error::no_register)?;
    let place = store.place();
    mail::check_setup(&place, &controller)?;
    let tx_box = store.begin_own()?;
    let tx: &dyn Db = &*tx_box;
    request::expire_stale(tx, clock)?;
    let req = request::load(tx, id)?;
    if req.in_review() {
        return Err(req.needs_review().into());
    }
    if req.state != "awaiting-verification" {
        return Err(Error::RequestState(format!("request {} is {}; no code is needed", req.id, req.state)).into());
    }
    send_code(tx, clock, &place, &keys, &controller, &req)?;
    tx_box.commit()?;
    Ok(req)
}

/// Verify request `id` another way than by code (the officer's method, reference and reason);
/// returns the request as verified.
pub fn alternative(
    store: &dyn Conn,
    clock: &Clock,
    id: &str,
    method: &str,
    reference: &str,
    reason: &str,
) -> anyhow::Result<Request> {
    let tx_box = store.begin_own()?;
    let tx: &dyn Db = &*tx_box;
    request::expire_stale(tx, clock)?;
    let req = request::load(tx, id)?;
    let verified = verify::alternative(tx, clock, &req, method, reference, reason)?;
    tx_box.commit()?;
    Ok(verified)
}

/// Unlock verification for the person of request `id` after repeated failures, with a reason.
pub fn unlock(store: &dyn Conn, clock: &Clock, id: &str, reason: &str) -> anyhow::Result<Request> {
    let tx_box = store.begin_own()?;
    let tx: &dyn Db = &*tx_box;
    let req = request::load(tx, id)?;
    verify::unlock(tx, clock, &req, reason)?;
    tx_box.commit()?;
    Ok(req)
}
