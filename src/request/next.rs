//! The next thing an officer does for a request, in words and as a command to run: what
//! `request list` shows beside each request so that the list reads as a to-do list.

use crate::store::db::{text, Db};

use super::Request;

/// Whether a code was sent for the request as it stands (one for details it asked before and
/// replaced is void), or its person's verification is locked (then the lock, not a missing
/// code, is what `dsr status` names).
pub fn code_sent(conn: &dyn Db, r: &Request) -> anyhow::Result<bool> {
    conn.one(
        "SELECT EXISTS (SELECT 1 FROM challenge WHERE request_id = ?1 AND state <> 'superseded')",
        &[text(&r.id)],
        |row| row.get(0),
    )
}

/// Whether the request names a person with no address on file to send a code to.
fn no_address(conn: &dyn Db, r: &Request) -> anyhow::Result<bool> {
    Ok(match r.person_id {
        Some(p) => crate::subject::address_on_file(conn, p, None)?.is_none(),
        None => false,
    })
}

/// Whether verification is locked for the request's person (after too many wrong codes): no
/// code goes out and none is accepted until an officer unlocks it.
pub fn locked(conn: &dyn Db, r: &Request) -> anyhow::Result<bool> {
    conn.one(
        "SELECT EXISTS (SELECT 1 FROM verification_lock WHERE subject_pseudonym = ?1 AND locked_at IS NOT NULL)",
        &[text(&r.subject_pseudonym)],
        |row| row.get(0),
    )
}

/// The command that lets a person's verification go on after too many wrong codes.
pub fn unlock_command(id: &str) -> String {
    format!("dsr verify --unlock {id} --reason TEXT")
}

/// The next action for `r`: a short phrase, with the command to run where there is one.
pub fn next_action(conn: &dyn Db, r: &Request) -> anyhow::Result<String> {
    let id = &r.id;
    let unsent = crate::queue::pending(conn, Some(id))?.iter().any(|p| p.last_error.is_some());
    if unsent && r.is_open() {
        return Ok("letter not sent: dsr mail flush".to_owned());
    }
    let undecided: bool = conn
        .first(
            "SELECT EXISTS (SELECT 1 FROM objection WHERE request_id = ?1 AND outcome = 'pending')
             OR EXISTS (SELECT 1 FROM decision_review WHERE request_id = ?1 AND decided_at IS NULL)",
            &[text(id)],
            |row| row.get(0),
        )?
        .unwrap_or(false);
    if undecided && r.state != "rejected" && r.state != "expired" {
        // Art. 21(1) and 22(3): the officer decides on the objection or the reviewed decision.
        return Ok(format!("decide: dsr object --decide {id}"));
    }
    // The company's systems that keep copies have tasks left (docs/tasks.md): the request is
    // completed, and a held letter sent, when the last is acknowledged.
    let (tasks, oldest, systems) = crate::tasks::open_of(conn, id)?;
    // (An erasure finished after its restriction was lifted gives tasks to a completed request.)
    if tasks > 0 && r.answered_at.is_some() && (r.is_open() || r.state == "completed") {
        let age = oldest
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| {
                let now = crate::clock::Clock::from_env().map_or_else(|_| chrono::Utc::now(), |c| c.now());
                // Calendar days in UTC, as `dsr status` counts them.
                (now.date_naive() - t.with_timezone(&chrono::Utc).date_naive()).num_days().max(0)
            })
            .unwrap_or(0);
        return Ok(format!(
            "{tasks} task{} open for {} (oldest {age} day{}): dsr tasks",
            if tasks == 1 { "" } else { "s" },
            systems.join(", "),
            if age == 1 { "" } else { "s" }
        ));
    }
    Ok(match r.state.as_str() {
        "needs-review" => match r.kind() {
            Ok(kind) => format!("review the message: dsr request show {id}, then dsr {} --review {id}", kind.as_str()),
            Err(_) => format!("review the message: dsr request show {id}, then dsr RIGHT --review {id}"),
        },
        // (Known or not: the lock is on the identifier, and the answer reads the same for both.)
        "awaiting-verification" if locked(conn, r)? => {
            format!("verification locked after failed codes: {}", unlock_command(id))
        }
        "awaiting-verification" if r.person_id.is_some() && !code_sent(conn, r)? => {
            // Opened at the limit of codes an hour: none went out, and waiting would wait for
            // nothing.
            format!("no code sent yet: dsr verify --resend {id}")
        }
        "awaiting-verification" if no_address(conn, r)? => {
            // A visitor known by a cookie alone: no code went anywhere (docs/verification.md).
            format!("no address on file to send a code to: verify by another method: dsr verify {id} --method NAME --ref TEXT --reason TEXT")
        }
        "awaiting-verification" => "waiting for the code".to_owned(),
        // No address to mail the answer to (a visitor known by a cookie): an archive, handed
        // over another way and recorded.
        "verified" if matches!(r.right.as_str(), "access" | "export") && no_address(conn, r)? => {
            match (r.right.as_str(), r.answered_at.is_some()) {
                ("access", false) => format!("no address on file to mail to: dsr access {id} --archive FILE, hand it over, then dsr request delivered {id} --channel CHANNEL --ref TEXT"),
                ("export", false) => format!("no address on file to mail to: dsr export {id} --out FILE, hand it over, then dsr request delivered {id} --channel CHANNEL --ref TEXT"),
                _ => format!("answer prepared, not delivered: dsr request delivered {id} --channel CHANNEL --ref TEXT"),
            }
        }
        "verified" => match (r.right.as_str(), r.answered_at.is_some()) {
            ("access" | "export", false) => format!("answer: dsr {} {id} --send", r.right),
            ("access" | "export", true) => format!("answer prepared, not delivered: dsr {} {id} --send", r.right),
            ("erase", false) => {
                match r.person_id.map(|p| crate::rights::erase::others::unanswered(conn, r, p)).transpose()?.flatten() {
                    Some(u) => format!("{} ({}) first: {}", u.id, u.right, u.command()),
                    None => erasure(conn, id)?,
                }
            }
            (_, false) => format!("answer: dsr {} {id}", r.right),
            (_, true) => format!("answer prepared, not delivered: dsr request delivered {id}"),
        },
        state => {
            let to_tell: i64 = conn
                .first(
                    "SELECT count(*) FROM notification WHERE request_id = ?1 AND state = 'to-notify'",
                    &[text(id)],
                    |row| row.get(0),
                )?
                .unwrap_or(0);
            match to_tell {
                0 => format!("none ({state})"),
                1 => "1 recipient to tell".to_owned(),
                n => format!("{n} recipients to tell"),
            }
        }
    })
}

/// A verified erasure: plan it, approve the plan, or wait for cron (or for the hold to end).
fn erasure(conn: &dyn Db, id: &str) -> anyhow::Result<String> {
    let plan: Option<(bool, bool)> = conn.first(
        "SELECT approved_at IS NOT NULL, held_at IS NOT NULL FROM erasure_plan
         WHERE request_id = ?1 AND applied_at IS NULL",
        &[text(id)],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    Ok(match plan {
        None => format!("plan: dsr erase {id} --dry-run"),
        Some((_, true)) => "erasure plan on hold".to_owned(),
        Some((false, false)) => "erasure plan waits for approval".to_owned(),
        Some((true, false)) => "approved: runs at dsr erase --due".to_owned(),
    })
}
