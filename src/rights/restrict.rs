//! The right to restriction of processing (GDPR Art. 18): the person's data (all of it, or the
//! listed categories) may only be stored, with one of the four grounds of Art. 18(1). Lifting a
//! restriction requires telling the person first (Art. 18(3)): [`carry_out::announce_lift`] sends
//! that notice and schedules the lift a stated number of days later, so the notice can reach the
//! person before processing resumes; the restriction keeps applying until [`lift_due`] carries the
//! lift out.

use crate::store::db::Db;
use crate::vals;
use serde_json::json;

use crate::audit;
use crate::clock::Clock;
use crate::error::Error;
use crate::notify;
use crate::register::Register;
use crate::request::Request;
use crate::subject::{self, Subject};

pub mod carry_out;

pub const GROUNDS: &[(&str, &str)] = &[
    ("accuracy-contested", "Art. 18(1)(a): the person contests the accuracy of the data, while it is checked"),
    ("unlawful", "Art. 18(1)(b): the processing is unlawful and the person asks for restriction instead of erasure"),
    ("legal-claims", "Art. 18(1)(c): the person needs the data for a legal claim; it survives retention until lifted"),
    ("objection-pending", "Art. 18(1)(d): the person objected (Art. 21(1)) and the balancing is pending"),
];

/// What a restriction covers, in the officer's words: the categories, or all of the person's data.
pub fn scope(categories: &[String]) -> String {
    if categories.is_empty() {
        "all of the person's data".to_owned()
    } else {
        categories.join(", ")
    }
}

/// Check the categories named (by `flag`: `--category`, `--supplement`) against the register.
pub fn check_categories(register: &Register, categories: &[String], flag: &'static str) -> Result<(), Error> {
    for c in categories {
        if register.category(c).is_none() {
            let codes: Vec<&str> = register.categories.iter().map(|c| c.code.as_str()).collect();
            return Err(Error::invalid(flag, format!("unknown category; the register has: {}", codes.join(", "))));
        }
    }
    Ok(())
}

/// Restrict the person's data (one row per category, or one for everything).
pub fn apply(
    conn: &dyn Db,
    clock: &Clock,
    req: &Request,
    s: &Subject,
    ground: &str,
    categories: &[String],
    purpose: Option<&str>,
) -> anyhow::Result<()> {
    let targets: Vec<Option<&str>> =
        if categories.is_empty() { vec![None] } else { categories.iter().map(|c| Some(c.as_str())).collect() };
    for category in &targets {
        conn.run(
            "INSERT INTO restriction (person_id, request_id, ground, category, purpose, started_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            &vals![s.person_id, req.id, ground, category, purpose, clock.timestamp()]?)?;
    }
    audit::append(
        conn,
        clock,
        Some(&req.id),
        Some(&req.subject_pseudonym),
        "restricted",
        json!({"ground": ground, "categories": categories, "purpose": purpose}),
    )?;
    Ok(())
}

/// Days between the Art. 18(3) notice and the lift unless the officer says otherwise: time for
/// the mail to be read (a weekend, a short absence) and for the person to react before the data
/// are used again.
pub const NOTICE_DAYS: u32 = 7;

/// After the Art. 18(3) notice went out: schedule the lift of the request's active restrictions
/// at `lift_at`. Returns how many restrictions are scheduled.
pub fn schedule_lift(
    conn: &dyn Db,
    clock: &Clock,
    req: &Request,
    reason: &str,
    notice_sent_at: &str,
    lift_at: &str,
) -> anyhow::Result<usize> {
    let n = conn.run(
        "UPDATE restriction SET lift_reason = ?2, notice_sent_at = ?3, lift_at = ?4
         WHERE request_id = ?1 AND lifted_at IS NULL AND lift_at IS NULL",
        &vals![req.id, reason, notice_sent_at, lift_at]?,
    )?;
    if n == 0 {
        return Err(Error::RequestState(format!("request {} has no active restriction to lift", req.id)).into());
    }
    let reason = crate::free_text::record(conn, clock, Some(&req.id), "--reason", reason)?;
    audit::append(
        conn,
        clock,
        Some(&req.id),
        Some(&req.subject_pseudonym),
        "restriction-lift-scheduled",
        json!({"reason": reason, "notice_sent_at": notice_sent_at, "lift_at": lift_at}),
    )?;
    Ok(n)
}

/// List the recipients of the restricted categories (all, when the request named none) as ones to
/// tell that the restriction is lifted (Art. 19), in the transaction that lifts it.
pub fn notify_lifted(conn: &dyn Db, clock: &Clock, register: &Register, req: &Request) -> anyhow::Result<()> {
    let Some(person) = req.person_id else {
        return Ok(());
    };
    let s = subject::subject(conn, person)?;
    let categories: Vec<String> = serde_json::from_value(req.params["categories"].clone()).unwrap_or_default();
    // An objection's restriction (Art. 18(1)(d)) was of the processing for one purpose.
    let scope = match (req.params["purpose"].as_str(), categories.is_empty()) {
        (Some(purpose), true) => format!("processing for the purpose {purpose}"),
        (None, true) => "all of the person's data".to_owned(),
        (_, false) => categories.join(", "),
    };
    let what = format!(
        "Restriction lifted (Art. 18(3)): the restriction of {scope} we told you of has ended; you may process the data again as before."
    );
    notify::record_for_categories(conn, clock, register, req, &s, &categories, &what)?;
    Ok(())
}

/// When the last of a request's restrictions was lifted, if one was.
pub fn lifted_at(conn: &dyn Db, request: &str) -> anyhow::Result<Option<String>> {
    conn.one("SELECT max(lifted_at) FROM restriction WHERE request_id = ?1", &vals![request]?, |r| r.get(0))
}

/// When the lift of a request's restrictions is scheduled, if it is.
pub fn scheduled(conn: &dyn Db, request: &str) -> anyhow::Result<Option<String>> {
    conn.one(
        "SELECT max(lift_at) FROM restriction WHERE request_id = ?1 AND lifted_at IS NULL AND lift_at IS NOT NULL",
        &vals![request]?,
        |r| r.get(0),
    )
}

/// Carry out every scheduled lift whose time has come (in the caller's transaction): the
/// restrictions end, and the recipients of the person's data are to be told (Art. 19).
/// Returns the requests whose restrictions were lifted.
pub fn lift_due(conn: &dyn Db, clock: &Clock, register: &Register) -> anyhow::Result<Vec<String>> {
    let due: Vec<(String, Option<i64>)> = conn.all(
        "SELECT request_id, max(person_id) FROM restriction WHERE lifted_at IS NULL AND lift_at IS NOT NULL
           AND lift_at <= ?1 GROUP BY request_id ORDER BY min(lift_at), request_id",
        &vals![clock.timestamp()]?,
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mut lifted = Vec::new();
    for (id, person) in due {
        let req = crate::request::load(conn, &id)?;
        // The officer's reason is free text: it stays out of the chain (the scheduling entry holds
        // its keyed reference), so this entry names only when the person was told.
        let notice_sent_at: Option<String> = conn.one(
            "SELECT max(notice_sent_at) FROM restriction WHERE request_id = ?1 AND lifted_at IS NULL",
            &vals![&id]?,
            |r| r.get(0),
        )?;
        // What was restricted, for the systems told to restrict it: all the person's data (a
        // restriction without a category), or the categories listed.
        let categories: Vec<(Option<String>, bool)> = conn.all(
            "SELECT DISTINCT category, erasure_id IS NOT NULL FROM restriction
             WHERE request_id = ?1 AND lifted_at IS NULL AND lift_at <= ?2",
            &vals![id, clock.timestamp()]?,
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        // One that kept data from an erasure ends in that erasure's finishing, whose own tasks
        // tell the systems to erase, not to process again.
        let holds_erasure = categories.iter().any(|(_, held)| *held);
        conn.run(
            "UPDATE restriction SET lifted_at = ?2 WHERE request_id = ?1 AND lifted_at IS NULL AND lift_at <= ?2",
            &vals![id, clock.timestamp()]?,
        )?;
        if let Some(person) = person.filter(|_| !holds_erasure) {
            let listed: Option<Vec<String>> = categories.into_iter().map(|(c, _)| c).collect();
            let change = match &listed {
                Some(categories) => crate::tasks::Change::Categories(person, categories),
                None => crate::tasks::Change::Person(person),
            };
            crate::tasks::lifted(conn, clock, &req, change)?;
        }
        audit::append(
            conn,
            clock,
            Some(&req.id),
            Some(&req.subject_pseudonym),
            "restriction-lifted",
            json!({"notice_sent_at": notice_sent_at}),
        )?;
        if person.is_some() {
            notify_lifted(conn, clock, register, &req)?;
        }
        lifted.push(id);
    }
    Ok(lifted)
}

/// Active restrictions of a request.
pub fn active(conn: &dyn Db, request: &str) -> anyhow::Result<usize> {
    conn.one("SELECT count(*) FROM restriction WHERE request_id = ?1 AND lifted_at IS NULL", &vals![request]?, |r| {
        r.get::<i64>(0)
    })
    .map(|n| n as usize)
}
