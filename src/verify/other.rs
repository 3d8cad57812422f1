//! Verification another way than by code (a portal session, a letter, a visit), recorded with
//! the officer's method, reference and reason.

use super::*;

/// What is wrong with the name of a verification method done outside dsr (`verify --method`, a
/// batch's `verified_by`), if anything: a token of lowercase letters, digits and hyphens, at most
/// 40, and not `email-code` (dsr's own check, recorded only when a code was entered).
pub fn method_problem(method: &str) -> Option<&'static str> {
    if method.is_empty() {
        Some("name the method by which identity was verified, e.g. in-person, portal-session or account-login")
    } else if method == "email-code" {
        Some("email-code is dsr's own check, recorded when the person's code is entered; name the method used instead, e.g. portal-session")
    } else if method.len() > 40 {
        Some("the method's name is longer than 40 characters; name it shortly, e.g. portal-session")
    } else if !method.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        Some("name the method in lowercase letters, digits and hyphens, e.g. in-person or portal-session")
    } else {
        None
    }
}

/// Verify a request by a method other than an email code, for a person who cannot receive one
/// (a cookie-only visitor, a letter, a visit): the officer names the method, a reference to the
/// evidence and why no code was used. Allowed whether or not a code could be sent, but never
/// for a request naming no one on file, nor while verification is locked. The reference and
/// the reason are free text (kept out of the chain); the entry names the method and the actor.
pub fn alternative(
    conn: &dyn Db,
    clock: &Clock,
    r: &Request,
    method: &str,
    reference: &str,
    reason: &str,
) -> anyhow::Result<Request> {
    let method = method.trim();
    if let Some(why) = method_problem(method) {
        return Err(Error::invalid("--method", why).into());
    }
    for (what, text) in [("--ref", reference), ("--reason", reason)] {
        if text.trim().is_empty() {
            return Err(Error::invalid(what, "verification by another method needs a reference and a reason").into());
        }
        crate::free_text::check(what, text)?;
    }
    if matches!(r.state.as_str(), "verified" | "completed") {
        return Err(Error::RequestState(format!("request {} is already verified", r.id)).into());
    }
    if r.in_review() {
        return Err(r.needs_review().into());
    }
    if r.state != "awaiting-verification" {
        return Err(Error::RequestState(format!("request {} is {}; there is nothing to verify", r.id, r.state)).into());
    }
    if r.person_id.is_none() {
        return Err(Error::RequestState(format!(
            "request {} names no one on file (or the person was erased); there is no one to verify",
            r.id
        ))
        .into());
    }
    if is_locked(conn, &r.subject_pseudonym)? {
        return Err(Error::VerificationLocked(r.id.clone()).into());
    }
    conn.run("UPDATE challenge SET state = 'superseded' WHERE request_id = ?1 AND state = 'active'", &vals![&r.id]?)?;
    crate::request::mark_verified(conn, clock, r, method, Some(reference), Some(reason))
}
