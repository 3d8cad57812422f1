//! A message that asks for a right but not clearly which (or without the details it needs):
//! a request opened in review for its sender, kept for the officer to decide (design.md §12).

use serde_json::json;

use super::{leave, received_on, Outcome, Prepared, Taken};
use crate::clock::Clock;
use crate::error::Error;
use crate::inbox::Mail;
use crate::request::{self, Channel, Kind, NewRequest};
use crate::store::db::Db;
use crate::subject::Identifier;

/// The right a message's one word for a right names (an "unsubscribe" objects to marketing).
pub(super) fn clear_right(asks: &str) -> Option<Kind> {
    match asks {
        "marketing" => Some(Kind::Object),
        other => Kind::parse(other),
    }
}

/// A message that asks for a right but not clearly which (or without the details it needs):
/// a request opened in review for its sender, received on the message's date (the month to
/// answer runs from then), with the message kept for the officer until they decide
/// (`dsr RIGHT --review REQUEST`) or refuse it. No code goes out before. A sender that is not an
/// address, or an address several people share, leaves the message alone for the officer.
#[allow(clippy::too_many_arguments)]
pub(super) fn review(
    store: &dyn Db,
    clock: &Clock,
    prepared: &Prepared,
    mail: &Mail,
    mut taken: Taken,
    asks: &str,
    right: Option<Kind>,
    reason: String,
) -> anyhow::Result<Taken> {
    let sender = mail.from.clone().unwrap_or_default();
    let Ok(identifier) = Identifier::email(&sender) else {
        let reason = format!("{reason}; its sender is not a valid email address, so no request was opened");
        return leave(store, clock, mail, taken, Outcome::NeedsReview, reason, asks);
    };
    let new = NewRequest {
        // Stored only when `right` is one (below); `unclear` otherwise.
        kind: right.unwrap_or(Kind::Access),
        identifier: &identifier,
        given: &sender,
        channel: Channel::Email,
        received_on: received_on(mail, clock),
        params: json!({"asks": asks.split(',').filter(|a| !a.is_empty()).collect::<Vec<_>>()}),
        resolved: None,
    };
    store.run("SAVEPOINT intake_review", &[])?;
    let opened = request::open_for_review(store, clock, &prepared.keys, &new, right.is_some());
    match opened {
        Ok((req, _)) if !req.in_review() => {
            // The person already has this right's request open: the message is about it (a
            // follow-up, or other details), for the officer to read, as for an amended request.
            store.run("RELEASE intake_review", &[])?;
            let reason = format!(
                "{reason}; request {id} ({right}) is already open for this person: read it, then amend or answer that request",
                id = req.id,
                right = req.right
            );
            taken.request = Some(req.id);
            leave(store, clock, mail, taken, Outcome::NeedsReview, reason, asks)
        }
        Ok((req, fresh)) => {
            store.run("RELEASE intake_review", &[])?;
            let how = if fresh { "opened as" } else { "added to the request already in review," };
            let reason = format!(
                "{reason}; {how} {id}: decide with `dsr {right} --review {id}` (or refuse it with `dsr request reject {id}`)",
                id = req.id,
                right = right.map_or("RIGHT", Kind::as_str)
            );
            taken.request = Some(req.id);
            taken.received_on = Some(req.received_on);
            leave(store, clock, mail, taken, Outcome::NeedsReview, reason, asks)
        }
        Err(e) => {
            store.run("ROLLBACK TO intake_review", &[])?;
            store.run("RELEASE intake_review", &[])?;
            match e.downcast_ref::<Error>() {
                Some(Error::Ambiguous { .. }) => {
                    let reason = format!("{reason}; {e}, so no request was opened");
                    leave(store, clock, mail, taken, Outcome::NeedsReview, reason, asks)
                }
                _ => Err(e),
            }
        }
    }
}
