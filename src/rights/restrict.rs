//! The right to restriction of processing (GDPR Art. 18): the person's data (all of it, or the
//! listed categories) may only be stored, with one of the four grounds of Art. 18(1). Lifting a
//! restriction requires telling the person first (Art. 18(3)); the caller sends that notice and
//! passes when it went.

use rusqlite::{params, Connection};
use serde_json::json;

use crate::audit;
use crate::clock::Clock;
use crate::error::Error;
use crate::notify;
use crate::register::Register;
use crate::request::Request;
use crate::subject::{self, Subject};

pub const GROUNDS: &[(&str, &str)] = &[
    ("accuracy-contested", "Art. 18(1)(a): the person contests the accuracy of the data, while it is checked"),
    ("unlawful", "Art. 18(1)(b): the processing is unlawful and the person asks for restriction instead of erasure"),
    ("legal-claims", "Art. 18(1)(c): the person needs the data for a legal claim; it survives retention until lifted"),
    ("objection-pending", "Art. 18(1)(d): the person objected (Art. 21(1)) and the balancing is pending"),
];

/// Check the categories named for a restriction against the register.
pub fn check_categories(register: &Register, categories: &[String]) -> Result<(), Error> {
    for c in categories {
        if register.category(c).is_none() {
            let codes: Vec<&str> = register.categories.iter().map(|c| c.code.as_str()).collect();
            return Err(Error::invalid(
                "--category",
                format!("unknown category; the register has: {}", codes.join(", ")),
            ));
        }
    }
    Ok(())
}

/// Restrict the person's data (one row per category, or one for everything).
pub fn apply(
    conn: &Connection,
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
        conn.execute(
            "INSERT INTO restriction (person_id, request_id, ground, category, purpose, started_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![s.person_id, req.id, ground, category, purpose, clock.timestamp()],
        )?;
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

/// Lift the active restrictions of a request, after the Art. 18(3) notice went out.
pub fn lift(
    conn: &Connection,
    clock: &Clock,
    req: &Request,
    reason: &str,
    notice_sent_at: &str,
) -> anyhow::Result<usize> {
    let n = conn.execute(
        "UPDATE restriction SET lifted_at = ?2, lift_reason = ?3, notice_sent_at = ?4 WHERE request_id = ?1 AND lifted_at IS NULL",
        params![req.id, clock.timestamp(), reason, notice_sent_at],
    )?;
    if n == 0 {
        return Err(Error::RequestState(format!("request {} has no active restriction to lift", req.id)).into());
    }
    audit::append(
        conn,
        clock,
        Some(&req.id),
        Some(&req.subject_pseudonym),
        "restriction-lifted",
        json!({"reason": reason, "notice_sent_at": notice_sent_at}),
    )?;
    Ok(n)
}

/// List the recipients of the restricted categories (all, when the request named none) as ones to
/// tell that the restriction is lifted (Art. 19), in the transaction that lifts it.
pub fn notify_lifted(conn: &Connection, clock: &Clock, register: &Register, req: &Request) -> anyhow::Result<()> {
    let Some(person) = req.person_id else {
        return Ok(());
    };
    let s = subject::subject(conn, person)?;
    let categories: Vec<String> = serde_json::from_value(req.params["categories"].clone()).unwrap_or_default();
    let scope = if categories.is_empty() { "all of the person's data".to_owned() } else { categories.join(", ") };
    let what = format!(
        "Restriction lifted (Art. 18(3)): the restriction of {scope} we told you of has ended; you may process the data again as before."
    );
    notify::record_for_categories(conn, clock, register, req, &s, &categories, &what)?;
    Ok(())
}

/// Active restrictions of a request.
pub fn active(conn: &Connection, request: &str) -> rusqlite::Result<usize> {
    conn.query_row("SELECT count(*) FROM restriction WHERE request_id = ?1 AND lifted_at IS NULL", [request], |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| n as usize)
}
