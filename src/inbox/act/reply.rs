//! A reply about a request dsr wrote to: the code it carries checked, and a right it asks for
//! besides the request's opened in review.

use serde_json::json;

use super::{clear_right, leave, ledger, review, Kind, Mail, Outcome, Prepared, Taken};
use crate::audit;
use crate::clock::Clock;
use crate::error::Error;
use crate::request;
use crate::store::db::Db;

/// A reply about request `id`: the code it carries checked (one try per reply, however many
/// candidates), the addresses compared by their keyed hashes in the audit trail.
pub(super) fn reply(
    store: &dyn Db,
    clock: &Clock,
    prepared: &Prepared,
    mail: &Mail,
    mut taken: Taken,
    id: &str,
    (codes, asks): (&[String], &[&'static str]),
) -> anyhow::Result<Taken> {
    let (tx, keys) = (store, &prepared.keys);
    let Some(req) = known_request(tx, id)? else {
        let reason = format!("a reply naming request {id}, which does not exist");
        return leave(store, clock, mail, taken, Outcome::Listed, reason, "");
    };
    taken.request = Some(req.id.clone());
    taken.right = Some(req.right.clone());
    // A right the person asks for in the reply other than the request's is a request of its
    // own (Art. 12(3): the month runs from this message): opened in review for the sender, the
    // code it carries checked all the same.
    let other: Vec<&str> =
        asks.iter().copied().filter(|a| clear_right(a).map(Kind::as_str) != Some(req.right.as_str())).collect();
    let also = |said: String| {
        let right = match other.as_slice() {
            [one] => clear_right(one),
            _ => None,
        };
        (format!("{said}; the reply also asks for {}", other.join(", ")), right)
    };
    if codes.is_empty() {
        if !other.is_empty() {
            let (reason, right) = also(format!("a reply about request {id} without a code"));
            return review(store, clock, prepared, mail, taken, &other.join(","), right, reason);
        }
        let reason = format!("a message about request {id} without a code: read it");
        return leave(store, clock, mail, taken, Outcome::Listed, reason, "");
    }
    // Holding the code is the proof; who replied is recorded, not trusted (design.md §12).
    let rule = crate::store::personal::DataMap::load(tx)?.email_rule();
    let from = mail.from.as_deref().map(|f| rule.of_written(f)).unwrap_or_default();
    let from_mac = crate::verify::address_mac(keys, &from);
    let sent_to = crate::verify::sent_to(tx, &req)?;
    let same_address = sent_to.as_deref() == Some(from_mac.as_slice());
    // One try a reply, however many candidates: the one that is the code, else the first. A wrong
    // code counts as a try on the code whoever sent it (no one may guess without limit: five burn
    // it); toward the person's lock only from the address the code went to, so that a stranger
    // writing to the privacy address cannot lock the person out.
    let chosen = crate::verify::matching(tx, keys, &req, codes)?.unwrap_or_else(|| codes[0].clone());
    let counts = if same_address { crate::verify::Tries::CodeAndPerson } else { crate::verify::Tries::CodeOnly };
    let (outcome, reason) = match crate::verify::check_as(tx, clock, keys, &req, &chosen, counts) {
        Ok(o) if o.verified => (Outcome::Verified, None),
        Ok(o) => (Outcome::CodeRefused, Some(refusal(&o, &req.id))),
        Err(e) => match e.downcast_ref::<Error>() {
            Some(Error::CodeRejected(why) | Error::RequestState(why)) => (Outcome::CodeRefused, Some(why.clone())),
            _ => return Err(e),
        },
    };
    audit::append(
        tx,
        clock,
        Some(&req.id),
        Some(&req.subject_pseudonym),
        "code-reply",
        json!({
            "result": outcome.as_str(),
            "reply_from": crate::keys::hex(&from_mac),
            "code_sent_to": sent_to.as_deref().map(crate::keys::hex),
            "same_address": same_address,
        }),
    )?;
    if !other.is_empty() {
        let said = match &reason {
            None => format!("the code verified request {id}"),
            Some(why) => format!("the code was refused for request {id}: {why}"),
        };
        let (reason, right) = also(said);
        return review(store, clock, prepared, mail, taken, &other.join(","), right, reason);
    }
    let message = ledger::record(tx, clock, mail, outcome, reason.as_deref(), "", Some(&req.id))?;
    taken.outcome = Some(outcome);
    taken.reason = reason;
    taken.message = Some(message);
    Ok(taken)
}

/// Request `id`, or None when there is no such request (a store error is an error).
pub(super) fn known_request(db: &dyn Db, id: &str) -> anyhow::Result<Option<request::Request>> {
    match request::load(db, id) {
        Ok(r) => Ok(Some(r)),
        Err(e) if matches!(e.downcast_ref::<Error>(), Some(Error::UnknownRequest(_))) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Why a code from a reply did not verify, in the officer's words.
fn refusal(o: &crate::verify::Outcome, id: &str) -> String {
    if o.person_locked {
        return "verification is locked for this person after repeated failures (`dsr verify --unlock`)".into();
    }
    match o.refused.unwrap_or("wrong") {
        "expired" => format!("the code has expired; send a new one with `dsr verify --resend {id}`"),
        "no-code" | "malformed" => "no code is active for this request (used, burned or voided)".into(),
        _ if o.code_burned => "wrong code; after 5 wrong tries the code is void".into(),
        _ if o.older_voided => format!(
            "wrong code; {} left on this code (a newer code replaced an earlier one: a code from an older mail no longer works)",
            crate::output::plural(o.tries_left.unwrap_or(0), "try", "tries")
        ),
        _ => format!(
            "wrong code; {} left on this code",
            crate::output::plural(o.tries_left.unwrap_or(0), "try", "tries")
        ),
    }
}
