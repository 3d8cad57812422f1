//! The objection procedures (Art. 21, 22(3)), each in one transaction: carry out a verified
//! objection, and record the officer's decision on a pending one. The answer to the person is
//! queued in the transaction and goes out after the commit.

use serde_json::json;

use super::Answer;
use crate::clock::Clock;
use crate::error::Error;
use crate::keys::Keys;
use crate::queue::OnSent;
use crate::register::Register;
use crate::request::{self, Kind, Request};
use crate::store::db::Conn;
use crate::subject::Subject;

/// A decision recorded on an objection: the request it was about and the answer.
#[derive(Debug)]
pub struct Decided {
    pub request: String,
    pub answer: Answer,
}

/// Carry out a verified objection to `purpose`, with its outcome and the answer to the person.
/// An objection that waits for the officer's decision is answered when it is decided.
pub fn apply(store: &dyn Conn, clock: &Clock, req: &Request, s: &Subject, purpose: &str) -> anyhow::Result<Answer> {
    let register = Register::load(store)?;
    let keys = Keys::load(store)?;
    let tx = store.begin()?;
    request::still_to_carry_out(&*tx, req, "changed")?;
    let answer = super::apply(&*tx, clock, &keys, &register, req, s, purpose)?;
    request::set_outcome(&*tx, req, &serde_json::to_value(&answer)?)?;
    let letter = crate::answers::objection(&register, req, &answer);
    let on_sent = if answer.decided { OnSent::DeliversAnswer } else { OnSent::Nothing };
    crate::answers::send(&*tx, clock, &store.place(), &register, req, &letter, on_sent)?;
    if answer.decided {
        request::answered(&*tx, clock, req, json!({"answered": "objection"}))?;
    }
    tx.commit()?;
    Ok(answer)
}

/// Record the officer's decision on the pending objection or review of request `id`: uphold it,
/// or override it with compelling grounds; a reversed automated decision recalls its claim.
pub fn decide(
    store: &dyn Conn,
    clock: &Clock,
    id: &str,
    uphold: bool,
    grounds: Option<&str>,
) -> anyhow::Result<Decided> {
    let req = request::load(store, id)?;
    if !matches!(req.kind(), Ok(Kind::Object)) {
        return Err(Error::RequestState(format!("request {} is not an objection", req.id)).into());
    }
    let register = Register::load(store)?;
    let tx = store.begin()?;
    let answer = super::decide(&*tx, clock, &req, uphold, grounds)?;
    super::recall_claim(&*tx, clock, &register, &req, &answer)?;
    request::set_outcome(&*tx, &req, &serde_json::to_value(&answer)?)?;
    let letter = crate::answers::objection(&register, &req, &answer);
    crate::answers::send(&*tx, clock, &store.place(), &register, &req, &letter, OnSent::DeliversAnswer)?;
    if req.state == "verified" {
        request::answered(&*tx, clock, &req, json!({"answered": "objection decided"}))?;
    }
    tx.commit()?;
    Ok(Decided { request: req.id, answer })
}
