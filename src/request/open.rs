//! Opening a request: resolve who the identifier names (unless the caller did), find the open
//! request for the same person and right (a second request is the same request), or number and
//! record a new one with its deadline, in the caller's transaction.

use chrono::NaiveDate;
use serde_json::json;

use super::{due_date, Channel, Kind, Request, COLUMNS, UNCLEAR};
use crate::audit;
use crate::clock::Clock;
use crate::error::Error;
use crate::keys::Keys;
use crate::store::db::Db;
use crate::store::personal::DataMap;
use crate::subject::{self, Identifier, Resolution};
use crate::vals;

/// What to open a request with.
pub struct NewRequest<'a> {
    pub kind: Kind,
    pub identifier: &'a Identifier,
    pub given: &'a str,
    pub channel: Channel,
    pub received_on: NaiveDate,
    /// What the request asks (fields to correct, ground, purpose...).
    pub params: serde_json::Value,
    /// The person `subject::resolve` found for `identifier` in the caller's transaction (a batch
    /// row), which is not resolved again; it must be that `Found` person. None: the identifier is
    /// resolved here.
    pub resolved: Option<i64>,
}

/// Open a request, or return the open one for the same person and right; `true` when it is new.
/// An identifier that names no one still opens a request (with no person).
pub fn open(conn: &dyn Db, clock: &Clock, keys: &Keys, new: &NewRequest<'_>) -> anyhow::Result<(Request, bool)> {
    open_as(conn, clock, keys, new, new.kind.as_str(), "awaiting-verification")
}

/// Open a request the officer must review before anything is sent (`dsr intake`: a message that
/// asks for a right but not clearly which, or without the details it needs): state
/// `needs-review`, received on the message's date, its kind `new.kind` when `clear`, else
/// `unclear`. A request in review already open for the same person and kind is the same request;
/// for a clear right, so is an ordinary request of that right still open (returned as it is, not
/// in review: the caller leaves the message for the officer with it).
pub fn open_for_review(
    conn: &dyn Db,
    clock: &Clock,
    keys: &Keys,
    new: &NewRequest<'_>,
    clear: bool,
) -> anyhow::Result<(Request, bool)> {
    open_as(conn, clock, keys, new, if clear { new.kind.as_str() } else { UNCLEAR }, "needs-review")
}

fn open_as(
    conn: &dyn Db,
    clock: &Clock,
    keys: &Keys,
    new: &NewRequest<'_>,
    kind: &str,
    state: &str,
) -> anyhow::Result<(Request, bool)> {
    let today = clock.now().date_naive();
    if new.received_on > today {
        return Err(Error::invalid("--received", "the date of receipt cannot be in the future").into());
    }
    if new.received_on < earliest_receipt() {
        return Err(Error::invalid(
            "--received",
            "the date of receipt cannot be before 2018-05-25, when the GDPR began to apply; give the day the request came in (YYYY-MM-DD)",
        )
        .into());
    }
    let person = match new.resolved {
        Some(p) => Some(p),
        None => match subject::resolve(conn, new.identifier)? {
            Resolution::Found(s) => Some(s.person_id),
            Resolution::NotFound => None,
            Resolution::Ambiguous(c) => {
                return Err(Error::Ambiguous { kind: new.identifier.kind(), people: c.len() }.into())
            }
        },
    };
    let (kind_name, value) = identifier_parts(new.identifier);
    let pseudonym = match person {
        Some(p) => keys.person_in(conn, p)?,
        // An email address in the form the map compares, as the columns hold it.
        None if kind_name == "email" => keys.identifier(kind_name, &DataMap::load(conn)?.email_rule().compared(value)),
        None => keys.identifier(kind_name, value),
    };
    // A request in review is found only by another message in review: the officer's own
    // opening of a right is an ordinary request. A message in review for a right the person
    // already has an ordinary request open for finds that request (first), so that a follow-up
    // message opens no second request the officer could only close by refusing it. A request
    // whose answer reached the person (it waits only for its systems' tasks) was answered: a new
    // one is a new request.
    let states = match (state, kind) {
        ("needs-review", UNCLEAR) => "('needs-review')",
        ("needs-review", _) => "('needs-review', 'awaiting-verification', 'verified')",
        _ => "('awaiting-verification', 'verified')",
    };
    let existing = conn.first(
        &format!(
            "SELECT {COLUMNS} FROM request WHERE subject_pseudonym = ?1 AND kind = ?2
             AND state IN {states} AND delivered_at IS NULL ORDER BY state = 'needs-review', created_at LIMIT 1"
        ),
        &vals![pseudonym, kind]?,
        Request::from_row,
    )?;
    if let Some(r) = existing {
        if new.received_on < r.received_on {
            return Ok((received_earlier(conn, clock, &r, new)?, false));
        }
        return Ok((r, false));
    }
    let year = today.format("%Y").to_string().parse::<i64>()?;
    let (seq, id) = next_number(conn, year)?;
    let due = due_date(new.received_on, 1);
    if let Some(p) = person {
        crate::store::personal::DataMap::load(conn)?.anchor(conn, p, &clock.timestamp())?;
    }
    // The new row as `load` would read it, from the insert itself.
    let opened = conn.one(
        &format!(
            "INSERT INTO request (id, year, seq, kind, subject_kind, subject_given, person_id, subject_pseudonym, channel,
                                  received_on, due_on, state, created_at, params)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?14, ?12, ?13) RETURNING {COLUMNS}"
        ),
        &vals![
            id,
            year,
            seq,
            kind,
            kind_name,
            new.given,
            person,
            pseudonym,
            new.channel.as_str(),
            new.received_on,
            due,
            clock.timestamp(),
            new.params.to_string(),
            state
        ]?,
        Request::from_row,
    )?;
    audit::append(
        conn,
        clock,
        Some(&id),
        Some(&pseudonym),
        "request-opened",
        if state == "needs-review" {
            json!({"right": kind, "state": state, "channel": new.channel.as_str(), "received_on": new.received_on, "due_on": due, "identifier_kind": kind_name, "resolved": person.is_some()})
        } else {
            json!({"right": kind, "channel": new.channel.as_str(), "received_on": new.received_on, "due_on": due, "identifier_kind": kind_name, "resolved": person.is_some()})
        },
    )?;
    Ok((opened, true))
}

/// The request open for the person and right, asked for again with an earlier date of receipt
/// (the officer finds the letter that came first): the month runs from the first receipt (Art.
/// 12(3)), so its receipt, channel and deadline (and an extension's, by the same months) move to
/// that date, audited with both dates.
fn received_earlier(conn: &dyn Db, clock: &Clock, r: &Request, new: &NewRequest<'_>) -> anyhow::Result<Request> {
    use chrono::Datelike;
    let due = due_date(new.received_on, 1);
    let months = |d: NaiveDate| d.year() * 12 + d.month0() as i32;
    let extended =
        r.extended_due_on.map(|e| due_date(new.received_on, (1 + months(e) - months(r.due_on)).max(1) as u32));
    conn.run(
        "UPDATE request SET received_on = ?2, due_on = ?3, extended_due_on = ?4, channel = ?5 WHERE id = ?1",
        &vals![r.id, new.received_on, due, extended, new.channel.as_str()]?,
    )?;
    audit::append(
        conn,
        clock,
        Some(&r.id),
        Some(&r.subject_pseudonym),
        "request-received-earlier",
        json!({"received_on": new.received_on, "due_on": due, "extended_due_on": extended, "channel": new.channel.as_str(),
               "was": {"received_on": r.received_on, "due_on": r.due_on, "extended_due_on": r.extended_due_on, "channel": r.channel}}),
    )?;
    super::load(conn, &r.id)
}

/// The next request number of `year` and its id (`DSR-YEAR-NNNN`), inside the transaction
/// that opens the request. Numbers have no gaps: a request that is rolled back gives its number
/// to the next. SQLite lets one writer in at a time; on PostgreSQL the transaction first locks
/// the audit trail's head row, which it would lock anyway to record the opening, so two
/// officers (or an officer and cron) take numbers one after the other. A row lock, not an
/// advisory one: PostgreSQL-compatible distributed engines support `SELECT ... FOR UPDATE`.
/// A transaction whose last append is kept ([`Db::audit_tail`]) holds that lock already.
///
/// [`Db::audit_tail`]: crate::store::db::Db::audit_tail
pub fn next_number(conn: &dyn crate::store::db::Db, year: i64) -> anyhow::Result<(i64, String)> {
    if conn.dialect() == crate::store::db::Dialect::Postgres && conn.audit_tail().is_none() {
        conn.run("SELECT 1 FROM store_meta WHERE key = 'audit-head' FOR UPDATE", &[])?;
    }
    let seq: i64 = conn
        .first("SELECT coalesce(max(seq), 0) + 1 FROM request WHERE year = ?1", &[year.into()], |r| r.get(0))?
        .unwrap_or(1);
    Ok((seq, format!("DSR-{year}-{seq:04}")))
}

/// An identifier's kind as a request records it (`subject_kind`), and its value.
pub fn identifier_parts(id: &Identifier) -> (&'static str, &str) {
    match id {
        Identifier::Email(v) => ("email", v),
        Identifier::Customer(v) => ("customer", v),
        Identifier::Phone(v) => ("phone", v),
        Identifier::Cookie(v) => ("cookie", v),
    }
}

/// The first day a GDPR request could be received (the regulation applies from 25 May 2018): an
/// earlier date of receipt is a typo (`0026-04-06`) or a sender's made-up `Date:` header.
pub fn earliest_receipt() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2018, 5, 25).expect("a valid date")
}
