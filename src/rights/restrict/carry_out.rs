//! The restriction procedures (Art. 18), each in one transaction: carry out a verified request
//! (the restriction, its recipients to tell, the answer), announce a lift (the Art. 18(3) notice
//! and the scheduled lift), and carry out the lifts whose notice period has passed. Letters are
//! queued in the transaction and go out after the commit.

use serde::Serialize;
use serde_json::json;

use crate::clock::Clock;
use crate::error::Error;
use crate::mail::{self, Letter, Sent};
use crate::notify;
use crate::queue::OnSent;
use crate::register::Register;
use crate::request::{self, Kind, Request};
use crate::store::db::Conn;
use crate::subject::Subject;

/// The outcome of a restriction, as the request records it.
#[derive(Debug, Serialize)]
pub struct Restricted {
    pub ground: String,
    pub categories: Vec<String>,
    pub since: String,
}

/// A lift announced to the person and scheduled.
#[derive(Debug)]
pub struct LiftScheduled {
    pub request: String,
    /// How many restrictions of the request will be lifted.
    pub scheduled: usize,
    pub lift_at: String,
    pub notice: Sent,
}

/// Restrict the person's data as a verified request asks (`categories` empty: all of it), in one
/// transaction with the recipients to tell (Art. 19) and the answer.
pub fn apply(
    store: &dyn Conn,
    clock: &Clock,
    req: &Request,
    s: &Subject,
    ground: &str,
    categories: &[String],
) -> anyhow::Result<Restricted> {
    let register = Register::load(store)?;
    let scope = super::scope(categories);
    let tx = store.begin_own()?;
    request::still_to_carry_out(&*tx, req, "restricted")?;
    super::apply(&*tx, clock, req, s, ground, categories, None)?;
    let change = match categories.is_empty() {
        true => crate::tasks::Change::Person(s.person_id),
        false => crate::tasks::Change::Categories(s.person_id, categories),
    };
    crate::tasks::record(&*tx, clock, req, "restrict", change)?;
    let done = Restricted { ground: ground.to_owned(), categories: categories.to_vec(), since: clock.timestamp() };
    request::set_outcome(&*tx, req, &serde_json::to_value(&done)?)?;
    let what = format!("Restriction of processing (Art. 18, {ground}) of {scope}: store it only; do not use it otherwise until we tell you the restriction is lifted.");
    notify::record_for_categories(&*tx, clock, &register, req, s, categories, &what)?;
    let answer = crate::answers::restricted(&register, req, ground, categories);
    crate::answers::send(&*tx, clock, &store.place(), &register, req, &answer, OnSent::DeliversAnswer)?;
    request::answered(&*tx, clock, req, json!({"answered": "restriction"}))?;
    tx.commit()?;
    Ok(done)
}

/// Art. 18(3): tell the person now that the restriction of request `id` is lifted `days` from
/// now, and schedule the lift (carried out by [`lift_due`]). The notice must be on its way: a
/// person without an email address on file keeps the restriction until they can be told. `told`:
/// the officer told the person another way (the channel and a reference); nothing is mailed.
pub fn announce_lift(
    store: &dyn Conn,
    clock: &Clock,
    id: &str,
    reason: &str,
    days: u32,
    told: Option<(crate::request::DeliveryChannel, &str)>,
) -> anyhow::Result<LiftScheduled> {
    let req = request::load(store, id)?;
    if !matches!(req.kind(), Ok(Kind::Restrict)) {
        return Err(Error::RequestState(format!("request {} is not a restriction request", req.id)).into());
    }
    if super::active(store, &req.id)? == 0 {
        return Err(Error::RequestState(match super::lifted_at(store, &req.id)? {
            Some(at) => format!("the restriction of request {} was already lifted at {at}; nothing to lift", req.id),
            None => format!("request {} has no active restriction to lift", req.id),
        })
        .into());
    }
    if let Some(at) = super::scheduled(store, &req.id)? {
        return Err(Error::RequestState(format!(
            "the restriction of request {} is already to be lifted at {at}; the person was told",
            req.id
        ))
        .into());
    }
    let controller = Register::load(store)?.controller.ok_or_else(crate::error::Error::no_register)?;
    let lift_at = clock.now() + chrono::Duration::days(i64::from(days));
    let tx = store.begin_own()?;
    let vars = crate::answers::lift_notice(&req, reason, lift_at);
    let letter = Letter {
        kind: "restriction-lift-notice",
        subject: crate::letters::subject_of(&controller, "restriction-lift-notice", &req.id),
        body: crate::letters::body(&controller, "restriction-lift-notice", &vars)?,
    };
    let notice = match told {
        Some((channel, reference)) => {
            let recorded = crate::free_text::record(&*tx, clock, Some(&req.id), "--notice-ref", reference)?;
            crate::audit::append(
                &*tx,
                clock,
                Some(&req.id),
                Some(&req.subject_pseudonym),
                "restriction-lift-notice-given",
                serde_json::json!({"channel": channel.as_str(), "reference": recorded}),
            )?;
            Sent { transport: channel.as_str(), reference: reference.to_owned() }
        }
        None => mail::notify(&*tx, clock, &store.place(), &controller, &req, &letter)?.ok_or_else(|| {
            Error::RequestState(format!(
                "no email address on file to send the Art. 18(3) notice for {}; tell the person another way, then `dsr restrict --lift {} --reason ... --notice-by post|in-person|portal --notice-ref TEXT`",
                req.id, req.id
            ))
        })?,
    };
    let lift_at = crate::clock::stamp(lift_at);
    let scheduled = super::schedule_lift(&*tx, clock, &req, reason, &clock.timestamp(), &lift_at)?;
    tx.commit()?;
    Ok(LiftScheduled { request: req.id.clone(), scheduled, lift_at, notice })
}

/// What [`lift_due`] did.
#[derive(Debug, Default, serde::Serialize)]
pub struct Lifts {
    /// The requests whose restrictions were lifted.
    pub lifted: Vec<String>,
    /// The erasures those lifts (or earlier ones) let finish (`rights::erase::finish`).
    pub erasures: crate::rights::erase::finish::Finishing,
}

/// Carry out the lifts whose notice period has passed, in one transaction (also done by
/// `dsr retention run`); then finish each erasure whose legal-claims restrictions are now all
/// lifted, in a transaction of its own. Clearing what it removed from the store's files
/// (`Conn::after_erasure`) is the caller's, after its own work.
pub fn lift_due(store: &dyn Conn, clock: &Clock) -> anyhow::Result<Lifts> {
    let register = Register::load(store)?;
    let tx = store.begin_own()?;
    let lifted = super::lift_due(&*tx, clock, &register)?;
    tx.commit()?;
    let erasures = crate::rights::erase::finish::run(store, clock, &register)?;
    Ok(Lifts { lifted, erasures })
}
