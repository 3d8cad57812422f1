//! The right to restriction of processing (GDPR Art. 18): the person's data (all of it, or the
//! listed categories) may only be stored, with one of the four grounds of Art. 18(1). Lifting a
//! restriction requires telling the person first (Art. 18(3)); the caller sends that notice and
//! passes when it went.

use rusqlite::{params, Connection};
use serde_json::json;

use crate::audit;
use crate::clock::Clock;
use crate::error::Error;
use crate::register::Register;
use crate::request::Request;
use crate::subject::Subject;

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
    let reason = crate::free_text::record(conn, clock, Some(&req.id), "--reason", reason)?;
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

/// Active restrictions of a request.
pub fn active(conn: &Connection, request: &str) -> rusqlite::Result<usize> {
    conn.query_row("SELECT count(*) FROM restriction WHERE request_id = ?1 AND lifted_at IS NULL", [request], |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| n as usize)
}
