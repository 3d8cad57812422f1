//! Acting on one message: a request opened (received on the message's date, by the channel
//! `email`, the sender's address as the identifier given; the code goes to the address on file,
//! as for every request), a code from a reply checked, or the message left for the officer.
//! Each message is recorded in the same transaction as what it did, so a message read again
//! (by its SHA-256 or Message-ID) does nothing new, and a crash leaves it unread, not half-done.
//! Messages are acted on in groups ([`Batch`]): one transaction for many, each message under a
//! savepoint of its own, so a commit (and its sync) is paid once a group.

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;

use super::classify::{classify, Verdict};
use super::ledger::{self, Outcome};
use super::Mail;
use crate::clock::Clock;
use crate::error::Error;
use crate::keys::Keys;
use crate::request::{self, Channel, Kind, NewRequest};
use crate::rights::intake;
use crate::store::db::{Conn, Db, Tx};
use crate::subject::Identifier;

mod reply;
mod review;
use reply::{known_request, reply};
use review::{clear_right, review};

/// What came of one message, for the officer's screen and `--json`.
#[derive(Debug, Serialize)]
pub struct Taken {
    pub origin: String,
    pub sha256: String,
    /// None when the message had been read before (`seen`).
    pub outcome: Option<Outcome>,
    /// The earlier reading's outcome, for a message read before.
    pub seen: Option<String>,
    pub request: Option<String>,
    pub right: Option<String>,
    pub received_on: Option<NaiveDate>,
    pub reason: Option<String>,
    /// The waiting message's number, for `dsr intake --resolve`.
    pub message: Option<i64>,
}

/// What acting on messages reads from the store once per run: the keys, the controller the
/// letters come from (the mail set-up checked), and the register's direct-marketing purposes,
/// which an "unsubscribe" objects to.
pub struct Prepared {
    keys: Keys,
    controller: crate::register::Controller,
    marketing: Vec<String>,
    /// The addresses dsr's letters come from (folded).
    own: Vec<String>,
}

impl Prepared {
    pub fn load(store: &dyn Conn) -> anyhow::Result<Prepared> {
        let (keys, controller) = intake::prepare(store)?;
        let register = crate::register::Register::load(store)?;
        let marketing = register.purposes.iter().filter(|p| p.direct_marketing).map(|p| p.code.clone()).collect();
        let own = [Some(controller.privacy_email.clone()), std::env::var("DSR_MAIL_FROM").ok()]
            .into_iter()
            .flatten()
            .map(|a| crate::subject::fold(a.trim()))
            .collect();
        Ok(Prepared { keys, controller, marketing, own })
    }

    /// Whether a list address (`List-Post`'s or `List-Id`'s, lower case) is the privacy address
    /// itself: `privacy@example.nl`, or as a list identifier `privacy.example.nl`.
    fn is_own_list(&self, list: &str) -> bool {
        self.own.iter().any(|a| a.to_ascii_lowercase() == list || a.to_ascii_lowercase().replacen('@', ".", 1) == list)
    }
}

/// The purpose an objection to direct marketing is about: the register's only one, or its
/// newsletter when the message is about a newsletter; otherwise the officer chooses.
fn marketing_purpose<'a>(mail: &Mail, purposes: &'a [String]) -> Option<&'a str> {
    if let [one] = purposes {
        return Some(one);
    }
    let text = format!("{} {}", mail.subject, mail.text).to_lowercase();
    if text.contains("nieuwsbrief") || text.contains("newsletter") {
        let mut letters = purposes.iter().filter(|p| p.contains("newsletter") || p.contains("nieuwsbrief"));
        if let (Some(p), None) = (letters.next(), letters.next()) {
            return Some(p);
        }
    }
    None
}

/// Messages acted on in one transaction. Nothing is done until [`Batch::commit`]: what a run
/// reports is reported after it is committed.
pub struct Batch<'s> {
    store: &'s dyn Conn,
    tx: Option<Box<dyn Tx + 's>>,
}

impl<'s> Batch<'s> {
    pub fn new(store: &'s dyn Conn) -> Batch<'s> {
        Batch { store, tx: None }
    }

    /// Act on `mail` (see [`take`]) in this batch's transaction, under a savepoint. A store error
    /// is returned: the run stops, and the batch's uncommitted messages stay unread.
    pub fn take(&mut self, clock: &Clock, prepared: &Prepared, mail: &Mail) -> anyhow::Result<Taken> {
        if self.tx.is_none() {
            let tx = self.store.begin_own()?;
            request::expire_stale(&*tx, clock)?;
            self.tx = Some(tx);
        }
        let tx: &dyn Db = &**self.tx.as_ref().expect("begun above");
        tx.run("SAVEPOINT intake_message", &[])?;
        match take(tx, clock, prepared, mail) {
            Ok(t) => {
                tx.run("RELEASE intake_message", &[])?;
                Ok(t)
            }
            Err(e) => {
                tx.run("ROLLBACK TO intake_message", &[])?;
                tx.run("RELEASE intake_message", &[])?;
                Err(e)
            }
        }
    }

    /// Commit what the batch did.
    pub fn commit(&mut self) -> anyhow::Result<()> {
        match self.tx.take() {
            Some(tx) => tx.commit(),
            None => Ok(()),
        }
    }
}

/// Act on `mail` in the caller's transaction (which has expired what is stale). Errors are those
/// of the store; everything about the message itself is an outcome.
fn take(store: &dyn Db, clock: &Clock, prepared: &Prepared, mail: &Mail) -> anyhow::Result<Taken> {
    let (keys, marketing) = (&prepared.keys, prepared.marketing.as_slice());
    let own = |a: &str| prepared.own.contains(&crate::subject::fold(a));
    // A privacy address that is itself a list (a Google Group) passes a message on with its own
    // address in From (so that the writer's domain's DMARC policy holds) and the writer in
    // Reply-To: the writer is the sender.
    let from = match (&mail.from, &mail.reply_to) {
        (Some(f), Some(r)) if own(f) && !own(r) && mail.list.iter().any(|l| prepared.is_own_list(l)) => Some(r.clone()),
        (f, _) => f.clone(),
    };
    let keyed = Mail {
        // A message without a sender has a key too ("no sender"): a NULL key means read before
        // senders were kept, and matches any.
        sender_key: Some(keys.identifier("sender", &crate::subject::fold(from.as_deref().unwrap_or_default()))),
        message_key: mail.message_id.as_deref().map(|m| keys.identifier("message-id", m)),
        from,
        ..mail.clone()
    };
    let mail = &keyed;
    let mut taken = Taken {
        origin: mail.origin.clone(),
        sha256: mail.sha256.clone(),
        outcome: None,
        seen: None,
        request: None,
        right: None,
        received_on: None,
        reason: None,
        message: None,
    };
    if let Some((id, outcome, request)) = ledger::seen(store, mail)? {
        taken.seen = Some(outcome);
        taken.request = request;
        taken.message = Some(id);
        return Ok(taken);
    }
    if let Some(why) = &mail.unreadable {
        return leave(store, clock, mail, taken, Outcome::Unreadable, why.clone(), "");
    }
    // dsr's own letters read back (a Sent folder fetched into the mailbox): they carry a code
    // and a request id, and verify nothing.
    if mail.from.as_deref().is_some_and(own) {
        let reason = "a letter from the privacy address itself (dsr's own mail read back)".to_owned();
        return leave(store, clock, mail, taken, Outcome::Listed, reason, "");
    }
    // A privacy address that is itself a mailing list (a Google Group, say) marks every message it
    // passes on as list mail; that says nothing of the person who wrote it.
    let unlisted;
    let mail = if mail.automatic == Some(super::LIST_MAIL) && mail.list.iter().any(|l| prepared.is_own_list(l)) {
        unlisted = Mail { automatic: None, ..mail.clone() };
        &unlisted
    } else {
        mail
    };
    match classify(mail) {
        Verdict::Nothing { reason } => leave(store, clock, mail, taken, Outcome::Listed, reason, ""),
        Verdict::Review { asks, reason, forwarded: true } => {
            leave(store, clock, mail, taken, Outcome::NeedsReview, reason, &asks.join(","))
        }
        Verdict::Review { asks, reason, forwarded: false } => {
            let right = match asks.as_slice() {
                [one] => clear_right(one),
                _ => None,
            };
            review(store, clock, prepared, mail, taken, &asks.join(","), right, reason)
        }
        Verdict::Reply { request, codes, asks } => {
            reply(store, clock, prepared, mail, taken, &request, (&codes, &asks))
        }
        Verdict::AboutRequest { request, reason } => {
            if let Some(r) = known_request(store, &request)? {
                taken.request = Some(r.id);
                taken.right = Some(r.right);
            }
            leave(store, clock, mail, taken, Outcome::Listed, reason, "")
        }
        Verdict::Open { right, marketing: false } => open(store, clock, prepared, mail, taken, right, json!({})),
        Verdict::Open { right, marketing: true } => match marketing_purpose(mail, marketing) {
            Some(purpose) => open(store, clock, prepared, mail, taken, right, json!({"purpose": purpose})),
            None => {
                let reason = format!(
                    "an objection to direct marketing; the register has {} direct-marketing purposes ({}): it needs the purpose objected to (`--purpose`)",
                    marketing.len(),
                    marketing.join(", ")
                );
                review(store, clock, prepared, mail, taken, "object", Some(Kind::Object), reason)
            }
        },
    }
}

/// Record the message for the officer, with why.
fn leave(
    store: &dyn Db,
    clock: &Clock,
    mail: &Mail,
    mut taken: Taken,
    outcome: Outcome,
    reason: String,
    asks: &str,
) -> anyhow::Result<Taken> {
    let id = ledger::record(store, clock, mail, outcome, Some(&reason), asks, taken.request.as_deref())?;
    taken.outcome = Some(outcome);
    taken.reason = Some(reason);
    taken.message = Some(id);
    if !asks.is_empty() {
        taken.right = Some(asks.to_owned());
    }
    Ok(taken)
}

/// The day the request was received (UTC, as every received date dsr keeps): when the company's
/// mail server took it in (its topmost `Received` header), else the message's `Date`, else
/// today; a date in the future or before the GDPR applied (2018-05-25) is not believed and
/// today is taken (a sender's wrong clock cannot move the deadline).
fn received_on(mail: &Mail, clock: &Clock) -> NaiveDate {
    let today = clock.now().date_naive();
    let earliest = crate::request::earliest_receipt();
    mail.received.or(mail.date).map(|d| d.date_naive()).filter(|d| *d <= today && *d >= earliest).unwrap_or(today)
}

fn open(
    store: &dyn Db,
    clock: &Clock,
    prepared: &Prepared,
    mail: &Mail,
    mut taken: Taken,
    right: Kind,
    params: serde_json::Value,
) -> anyhow::Result<Taken> {
    let sender = mail.from.clone().unwrap_or_default();
    let identifier = match Identifier::email(&sender) {
        Ok(i) => i,
        Err(_) => {
            let reason = "it asks for a right, but its sender is not a valid email address".to_owned();
            return leave(store, clock, mail, taken, Outcome::NeedsReview, reason, right.as_str());
        }
    };
    let received = received_on(mail, clock);
    let new = NewRequest {
        kind: right,
        identifier: &identifier,
        given: &sender,
        channel: Channel::Email,
        received_on: received,
        params,
        resolved: None,
    };
    // What stops this one request (the person's code limits, a lock, an address shared by
    // several people, a verified request for other details) is the message's outcome, not the
    // run's: undone, and left for the officer to open by hand.
    store.run("SAVEPOINT intake_open", &[])?;
    let opened = match intake::open_in(store, clock, &prepared.keys, &prepared.controller, &new) {
        // A code held back for a new request: as before such a request was recorded, the
        // officer opens it by hand (as below).
        Ok(o) if o.fresh && o.held_back.is_some() => {
            store.run("ROLLBACK TO intake_open", &[])?;
            store.run("RELEASE intake_open", &[])?;
            let e = o.held_back.unwrap_or_else(|| unreachable!("checked above"));
            let reason = not_opened(right.as_str(), &e, &received.to_string());
            return leave(store, clock, mail, taken, Outcome::NeedsReview, reason, right.as_str());
        }
        // A message never changes what an open request asks (its code then approves other
        // details): the officer decides.
        Ok(o) if o.amended => {
            store.run("ROLLBACK TO intake_open", &[])?;
            store.run("RELEASE intake_open", &[])?;
            let reason = format!(
                "asks for {} with other details than request {}, already open for this person: read it, then amend or answer that request",
                right.as_str(),
                o.request.id
            );
            taken.request = Some(o.request.id.clone());
            return leave(store, clock, mail, taken, Outcome::NeedsReview, reason, right.as_str());
        }
        Ok(o) => {
            store.run("RELEASE intake_open", &[])?;
            o
        }
        Err(e) => {
            store.run("ROLLBACK TO intake_open", &[])?;
            store.run("RELEASE intake_open", &[])?;
            match e.downcast_ref::<Error>() {
                Some(
                    Error::RateLimited(_)
                    | Error::VerificationLocked(_)
                    | Error::Ambiguous { .. }
                    | Error::RequestState(_),
                ) => {
                    let reason = not_opened(right.as_str(), &e, &received.to_string());
                    return leave(store, clock, mail, taken, Outcome::NeedsReview, reason, right.as_str());
                }
                _ => return Err(e),
            }
        }
    };
    let reason = (!opened.fresh).then_some("a request for this right was already open for this person");
    let id = ledger::record(store, clock, mail, Outcome::Opened, reason, right.as_str(), Some(&opened.request.id))?;
    taken.outcome = Some(Outcome::Opened);
    taken.request = Some(opened.request.id.clone());
    taken.right = Some(right.as_str().to_owned());
    taken.received_on = Some(opened.request.received_on);
    taken.message = Some(id);
    if !opened.fresh {
        taken.reason = Some("already open for this person; nothing new was opened".into());
    }
    Ok(taken)
}

/// Why a message's request was not opened, and how the officer opens it by hand.
fn not_opened(right: &str, why: &dyn std::fmt::Display, received: &str) -> String {
    format!(
        "asks for {right}, but the request could not be opened: {why}; open it with `dsr {right} --email ADDRESS --received {received} --channel email`"
    )
}
