//! Recipients to notify (GDPR Art. 19): a rectification, restriction or erasure is passed on to
//! every recipient that received the data concerned, and only to those: a new city is not sent to
//! a recipient that gets only cookie and log data. The list is made from the register and the
//! person's own rows (see [`crate::recipients`]), stored with the request as `to-notify`, and
//! closed by the officer with proof (`notified`, with a reference) or with the reason telling is
//! impossible or would take disproportionate effort (`impossible`, Art. 19 first sentence).
//! A request may list a recipient more than once: a restriction and, later, its lifting; the
//! recall of a claim after a reversed automated decision (Art. 22(3)).

use crate::store::db::Db;
use crate::vals;
use serde::Serialize;
use serde_json::json;

use crate::audit;
use crate::clock::Clock;
use crate::error::Error;
use crate::recipients::{self, PersonRecipient};
use crate::register::Register;
use crate::request::Request;
use crate::subject::Subject;

#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    pub recipient: String,
    pub name: String,
    pub what: String,
    /// to-notify, notified or impossible
    pub state: String,
    pub listed_at: Option<String>,
    pub notified_at: Option<String>,
    pub notified_by: Option<String>,
    /// Proof that the recipient was told (their ticket, a letter, a mail id).
    pub reference: Option<String>,
    /// Why telling the recipient is impossible or would take disproportionate effort.
    pub reason: Option<String>,
}

/// A notification still to be done, with its request (`dsr request list --to-notify`).
#[derive(Debug, Clone, Serialize)]
pub struct Open {
    pub request: String,
    pub right: String,
    #[serde(flatten)]
    pub notification: Notification,
}

/// How the officer closes a notification.
pub enum Proof<'a> {
    /// The recipient was told; the reference proves it.
    Reference(&'a str),
    /// Telling is impossible or involves disproportionate effort (Art. 19), for this reason.
    Impossible(&'a str),
}

/// Store every recipient of the person's data as one to tell of this request's outcome.
pub fn record(
    conn: &dyn Db,
    clock: &Clock,
    register: &Register,
    req: &Request,
    s: &Subject,
    what: &str,
) -> anyhow::Result<Vec<Notification>> {
    record_for_categories(conn, clock, register, req, s, &[], what)
}

/// Store the recipients that received any of `categories` of the person's data (all of them
/// when `categories` is empty) as ones to tell `what`. Recording the same text twice for a
/// recipient of a request lists it once.
pub fn record_for_categories(
    conn: &dyn Db,
    clock: &Clock,
    register: &Register,
    req: &Request,
    s: &Subject,
    categories: &[String],
    what: &str,
) -> anyhow::Result<Vec<Notification>> {
    record_by_received(conn, clock, register, req, s, categories, |received| {
        let told = categories.is_empty() || received.iter().any(|c| categories.contains(c));
        told.then(|| what.to_owned())
    })
}

/// Store the recipients that received the category of any of `items` (each a category and what
/// of it changed, e.g. a rectified field) as ones to tell `what` of the items of the categories
/// they received, and of no other: a carrier that got the delivery address is not sent a new
/// date of birth.
pub fn record_items(
    conn: &dyn Db,
    clock: &Clock,
    register: &Register,
    req: &Request,
    s: &Subject,
    items: &[(String, String)],
    what: impl Fn(&[&str]) -> String,
) -> anyhow::Result<Vec<Notification>> {
    let categories: Vec<String> = items.iter().map(|(c, _)| c.clone()).collect();
    record_by_received(conn, clock, register, req, s, &categories, |received| {
        let told: Vec<&str> =
            items.iter().filter(|(c, _)| received.contains(c)).map(|(_, item)| item.as_str()).collect();
        (!told.is_empty()).then(|| what(&told))
    })
}

/// Store each recipient of the person's data as one to tell what `what` makes of the categories
/// it received (`None`: nothing to tell it); `categories` are the change's, for the record.
pub fn record_by_received(
    conn: &dyn Db,
    clock: &Clock,
    register: &Register,
    req: &Request,
    s: &Subject,
    categories: &[String],
    what: impl Fn(&[String]) -> Option<String>,
) -> anyhow::Result<Vec<Notification>> {
    let mut found = Vec::new();
    for r in recipients::for_person(conn, register, s)? {
        if let Some(text) = what(&received(conn, register, s, &r)?) {
            found.push((r, text));
        }
    }
    insert(conn, clock, req, &found, json!(categories))
}

/// Store the recipients that hold a claim on the person handed over by the automated dunning
/// decision (`received_via = 'dunning-step'`, the collection agency) as ones to tell `what`:
/// after a reversed decision, that the claim is recalled.
pub fn record_claim_recall(
    conn: &dyn Db,
    clock: &Clock,
    register: &Register,
    req: &Request,
    s: &Subject,
    what: &str,
) -> anyhow::Result<Vec<Notification>> {
    let found: Vec<PersonRecipient> = recipients::for_person(conn, register, s)?
        .into_iter()
        .filter(|r| register.recipients.iter().any(|x| x.code == r.code && x.received_via == "dunning-step"))
        .collect();
    if found.is_empty() {
        return list(conn, &req.id);
    }
    let found: Vec<(PersonRecipient, String)> = found.into_iter().map(|r| (r, what.to_owned())).collect();
    insert(conn, clock, req, &found, json!("claim handed over at the dunning step"))
}

/// The categories a recipient received of this person: what the register says it receives,
/// narrowed for a disclosure (a police demand) to the categories actually disclosed.
fn received(conn: &dyn Db, register: &Register, s: &Subject, r: &PersonRecipient) -> anyhow::Result<Vec<String>> {
    let given = register.map.categories_given(conn, s.person_id, &r.code)?;
    Ok(given.filter(|g| !g.is_empty()).unwrap_or_else(|| r.categories.clone()))
}

fn insert(
    conn: &dyn Db,
    clock: &Clock,
    req: &Request,
    found: &[(PersonRecipient, String)],
    concerning: serde_json::Value,
) -> anyhow::Result<Vec<Notification>> {
    for (r, what) in found {
        conn.run(
            "INSERT INTO notification (request_id, recipient, what, state, listed_at) VALUES (?1, ?2, ?3, 'to-notify', ?4)
             ON CONFLICT (request_id, recipient, what) DO NOTHING",
            &vals![req.id, r.code, what, clock.timestamp()]?)?;
    }
    audit::append(
        conn,
        clock,
        Some(&req.id),
        Some(&req.subject_pseudonym),
        "recipients-to-notify",
        json!({"recipients": found.iter().map(|(r, _)| r.code.as_str()).collect::<Vec<_>>(), "concerning": concerning}),
    )?;
    list(conn, &req.id)
}

const COLUMNS: &str =
    "n.recipient, r.name, n.what, n.state, n.listed_at, n.notified_at, n.notified_by, n.reference, n.reason";

fn row(r: &crate::store::db::Row, at: usize) -> anyhow::Result<Notification> {
    Ok(Notification {
        recipient: r.get(at)?,
        name: r.get(at + 1)?,
        what: r.get(at + 2)?,
        state: r.get(at + 3)?,
        listed_at: r.get(at + 4)?,
        notified_at: r.get(at + 5)?,
        notified_by: r.get(at + 6)?,
        reference: r.get(at + 7)?,
        reason: r.get(at + 8)?,
    })
}

/// The notifications of one request, in register order.
pub fn list(conn: &dyn crate::store::db::Db, request: &str) -> anyhow::Result<Vec<Notification>> {
    let mut out = Vec::new();
    conn.each(
        &format!(
            "SELECT {COLUMNS} FROM notification n JOIN recipient r ON r.code = n.recipient
             WHERE n.request_id = ?1 ORDER BY r.rowid, n.id"
        ),
        &[crate::store::db::text(request)],
        &mut |r| {
            out.push(row(&r, 0)?);
            Ok(())
        },
    )?;
    Ok(out)
}

/// Every notification still to be done, oldest first.
pub fn open(conn: &dyn crate::store::db::Db) -> anyhow::Result<Vec<Open>> {
    let mut out = Vec::new();
    conn.each(
        &format!(
            "SELECT q.id, q.kind, {COLUMNS} FROM notification n JOIN recipient r ON r.code = n.recipient
             JOIN request q ON q.id = n.request_id
             WHERE n.state = 'to-notify' ORDER BY n.listed_at, q.received_on, q.id, r.rowid, n.id"
        ),
        &[],
        &mut |r| {
            out.push(Open { request: r.get(0)?, right: r.get(1)?, notification: row(&r, 2)? });
            Ok(())
        },
    )?;
    Ok(out)
}

/// Close every open notification of a recipient on a request, with its proof.
pub fn mark(conn: &dyn Db, clock: &Clock, req: &Request, recipient: &str, proof: &Proof) -> anyhow::Result<()> {
    let (state, reference, reason, flag) = match proof {
        Proof::Reference(r) => ("notified", Some(r.trim()), None, "--ref"),
        Proof::Impossible(r) => ("impossible", None, Some(r.trim()), "--reason"),
    };
    let text = reference.or(reason).unwrap_or_default();
    if text.is_empty() || text.chars().any(char::is_control) {
        return Err(Error::invalid(flag, "needs text without control characters").into());
    }
    let n = conn.run(
        "UPDATE notification SET state = ?3, notified_at = ?4, notified_by = ?5, reference = ?6, reason = ?7
         WHERE request_id = ?1 AND recipient = ?2 AND state = 'to-notify'",
        &vals![req.id, recipient, state, clock.timestamp(), audit::actor(), reference, reason]?,
    )?;
    if n == 0 {
        let listed = list(conn, &req.id)?;
        if listed.iter().any(|x| x.recipient == recipient) {
            return Err(Error::RequestState(format!(
                "request {} has nothing left to tell {recipient}; see `dsr request show {}`",
                req.id, req.id
            ))
            .into());
        }
        let mut codes: Vec<String> = Vec::new();
        for x in listed {
            if !codes.contains(&x.recipient) {
                codes.push(x.recipient);
            }
        }
        return Err(Error::invalid(
            "--recipient",
            if codes.is_empty() {
                format!("request {} has no recipients to notify", req.id)
            } else {
                format!("request {} lists these recipients: {}", req.id, codes.join(", "))
            },
        )
        .into());
    }
    // The reference and reason stay in the notification row: free text may name the person, and
    // the audit trail outlives an erasure.
    audit::append(
        conn,
        clock,
        Some(&req.id),
        Some(&req.subject_pseudonym),
        if state == "notified" { "recipient-notified" } else { "recipient-not-notifiable" },
        json!({"recipient": recipient, "notifications": n}),
    )?;
    Ok(())
}

/// A recipient's notifications closed: the request and how many of its notifications are open.
#[derive(Debug)]
pub struct Closed {
    pub request: String,
    pub still_to_notify: usize,
}

/// `dsr request notified`: close a recipient's notifications of request `id` ([`mark`]) in one
/// transaction with the audit entry.
pub fn close(
    conn: &dyn crate::store::db::Conn,
    clock: &Clock,
    id: &str,
    recipient: &str,
    proof: &Proof,
) -> anyhow::Result<Closed> {
    let tx = conn.begin_own()?;
    let req = crate::request::load(&*tx, id)?;
    mark(&*tx, clock, &req, recipient, proof)?;
    tx.commit()?;
    let still_to_notify = list(conn, &req.id)?.into_iter().filter(|n| n.state == "to-notify").count();
    Ok(Closed { request: req.id, still_to_notify })
}
