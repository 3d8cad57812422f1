//! The person's verification lock: ten failed codes in a row lock verification for the person
//! (all their requests) until an officer lifts it with a reason (design.md §4).

use serde_json::json;

use crate::audit;
use crate::clock::Clock;
use crate::error::Error;
use crate::request::Request;
use crate::store::db::Db;
use crate::vals;

/// Whether verification is locked for the person of this pseudonym.
pub(super) fn is_locked(conn: &dyn Db, pseudonym: &str) -> anyhow::Result<bool> {
    Ok(conn
        .first(
            "SELECT locked_at IS NOT NULL FROM verification_lock WHERE subject_pseudonym = ?1",
            &vals![pseudonym]?,
            |r| r.get::<bool>(0),
        )?
        .unwrap_or(false))
}

/// Lift a verification lock, with the officer's reason.
pub fn unlock(conn: &dyn Db, clock: &Clock, r: &Request, reason: &str) -> anyhow::Result<()> {
    if reason.trim().is_empty() {
        return Err(Error::invalid("--reason", "unlocking needs a reason for the audit trail").into());
    }
    crate::free_text::check("--reason", reason)?;
    if !is_locked(conn, &r.subject_pseudonym)? {
        return Err(Error::RequestState(format!("verification for request {} is not locked", r.id)).into());
    }
    conn.run(
        "UPDATE verification_lock SET locked_at = NULL, consecutive_failures = 0 WHERE subject_pseudonym = ?1",
        &vals![&r.subject_pseudonym]?,
    )?;
    let reason = crate::free_text::record(conn, clock, Some(&r.id), "--reason", reason)?;
    audit::append(
        conn,
        clock,
        Some(&r.id),
        Some(&r.subject_pseudonym),
        "verification-unlocked",
        json!({"reason": reason}),
    )?;
    Ok(())
}
