//! Identity verification by email challenge (GDPR Art. 12(6); design.md §4). A one-time code of
//! 8 Crockford base32 characters (40 bits from the OS RNG) goes to the address on file. The store
//! keeps only an HMAC of it, bound to the request, right, person and address; a check recomputes
//! the HMAC and compares in constant time. A code is single use, lives 24 hours by default, burns
//! after 5 wrong tries, and is voided by a newer one. 10 consecutive failures for one person lock
//! verification until an officer unlocks it with a reason; at most 3 codes per person per hour
//! and 5 per day. The code itself is never printed, logged or put in the audit trail.

use crate::store::db::Db;
use crate::vals;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;

use crate::audit;
use crate::clock::{stamp, Clock};
use crate::error::Error;
use crate::keys::Keys;
use crate::request::Request;

mod lock;
mod other;
mod reply;
use lock::is_locked;
pub use lock::unlock;
pub use other::{alternative, method_problem};
pub use reply::{address_mac, matching, sent_to};

/// id, code MAC, address MAC, expiry, failed tries, when first refused as expired.
type ActiveChallenge = (i64, Vec<u8>, Vec<u8>, String, i64, Option<String>);

pub const MAX_TRIES_PER_CODE: i64 = 5;
pub const LOCK_AFTER_FAILURES: i64 = 10;
pub const CODES_PER_HOUR: i64 = 3;
pub const CODES_PER_DAY: i64 = 5;
pub const DEFAULT_LIFETIME_MINUTES: i64 = 24 * 60;

/// A freshly issued code: only ever handed to the mail transport.
pub struct Issued {
    code: String,
    pub expires_at: DateTime<Utc>,
}

impl Issued {
    /// The code as shown to the person: `7KQ2-M9XD`.
    pub fn grouped(&self) -> String {
        format!("{}-{}", &self.code[..4], &self.code[4..])
    }
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued").field("code", &"<secret>").field("expires_at", &self.expires_at).finish()
    }
}

/// Code lifetime: `DSR_CODE_LIFETIME_MINUTES` (1 to 1440), default 24 hours.
pub fn lifetime() -> Result<Duration, Error> {
    match std::env::var("DSR_CODE_LIFETIME_MINUTES") {
        Ok(v) => {
            let m: i64 = v
                .trim()
                .parse()
                .map_err(|_| Error::invalid("DSR_CODE_LIFETIME_MINUTES", "expected whole minutes from 1 to 1440"))?;
            if !(1..=DEFAULT_LIFETIME_MINUTES).contains(&m) {
                return Err(Error::invalid(
                    "DSR_CODE_LIFETIME_MINUTES",
                    "expected whole minutes from 1 to 1440 (24 hours at most)",
                ));
            }
            Ok(Duration::minutes(m))
        }
        Err(_) => Ok(Duration::minutes(DEFAULT_LIFETIME_MINUTES)),
    }
}

/// 40 bits from the OS RNG as 8 Crockford base32 characters.
fn new_code() -> anyhow::Result<String> {
    let mut bytes = [0u8; 5];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("the OS random generator failed: {e}"))?;
    Ok(base32::encode(base32::Alphabet::Crockford, &bytes))
}

/// The canonical form of what the person relayed: case-insensitive, separator optional (any
/// dash a word processor or phone makes of `-`, any white space, a line end pasted with it),
/// Crockford's look-alikes (I, L -> 1; O -> 0) accepted. None when it cannot be a code.
pub fn canonical(input: &str) -> Option<String> {
    let compact: String = input
        .chars()
        .filter(|c| !(c.is_whitespace() || matches!(c, '-' | '\u{2010}'..='\u{2015}' | '\u{2212}')))
        .collect();
    if compact.len() != 8 {
        return None;
    }
    let bytes = base32::decode(base32::Alphabet::Crockford, &compact)?;
    (bytes.len() == 5).then(|| base32::encode(base32::Alphabet::Crockford, &bytes))
}

/// What a code is bound to: the request, its right, the person, the address it went to and what
/// the request asks (its params), so a code never approves details it was not sent for.
fn code_parts<'a>(r: &'a Request, asks: &'a str, address_mac: &'a [u8], code: &'a str) -> [&'a [u8]; 7] {
    [
        b"code",
        r.id.as_bytes(),
        r.right.as_bytes(),
        r.subject_pseudonym.as_bytes(),
        asks.as_bytes(),
        address_mac,
        code.as_bytes(),
    ]
}

/// Issue a code for a request, to be sent to `address` (the address on file, normalised).
/// Voids the request's older code. Call inside the transaction that sends the message.
///
/// With no address (the identifier names no one, or the person has no email address) a code is
/// issued all the same and never sent: its tries, burning, rate limits and lock then behave
/// exactly as for a real person, so nothing the officer sees tells a known person from an unknown
/// one (`dsr lookup` remains the officer's check). The audit trail records that it was not sent.
pub fn issue(conn: &dyn Db, clock: &Clock, keys: &Keys, r: &Request, address: Option<&str>) -> anyhow::Result<Issued> {
    if r.in_review() {
        return Err(r.needs_review().into());
    }
    if r.state != "awaiting-verification" {
        return Err(Error::RequestState(format!("request {} is {}; no code is needed", r.id, r.state)).into());
    }
    if is_locked(conn, &r.subject_pseudonym)? {
        return Err(Error::VerificationLocked(r.id.clone()).into());
    }
    let now = clock.now();
    let count_since = |since: DateTime<Utc>| -> anyhow::Result<i64> {
        Ok(conn
            .first(
                "SELECT count(*) FROM challenge WHERE subject_pseudonym = ?1 AND created_at > ?2",
                &vals![r.subject_pseudonym, stamp(since)]?,
                |row| row.get(0),
            )?
            .unwrap_or(0))
    };
    if count_since(now - Duration::hours(1))? >= CODES_PER_HOUR {
        return Err(Error::RateLimited(format!(
            "{CODES_PER_HOUR} codes were sent to this person in the last hour; try again later"
        ))
        .into());
    }
    if count_since(now - Duration::days(1))? >= CODES_PER_DAY {
        return Err(Error::RateLimited(format!(
            "{CODES_PER_DAY} codes were sent to this person in the last 24 hours; try again tomorrow"
        ))
        .into());
    }
    let code = new_code()?;
    let address_mac = address_mac(keys, address.unwrap_or(""));
    let code_mac = keys.mac(&code_parts(r, &r.params.to_string(), &address_mac, &code));
    let expires_at = now + lifetime()?;
    let superseded = conn
        .run("UPDATE challenge SET state = 'superseded' WHERE request_id = ?1 AND state = 'active'", &vals![&r.id]?)?;
    conn.run(
        "INSERT INTO challenge (request_id, subject_pseudonym, code_mac, address_mac, created_at, expires_at, state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'active')",
        &vals![r.id, r.subject_pseudonym, code_mac, address_mac, clock.timestamp(), stamp(expires_at)]?,
    )?;
    audit::append(
        conn,
        clock,
        Some(&r.id),
        Some(&r.subject_pseudonym),
        "code-sent",
        json!({"expires_at": stamp(expires_at), "voided_older": superseded > 0,
               "to": if address.is_some() { "address on file" } else { "nobody: no address on file, the code is not sent" }}),
    )?;
    Ok(Issued { code, expires_at })
}

#[derive(Debug, Serialize)]
pub struct Outcome {
    pub verified: bool,
    /// Why a code was refused: wrong, expired, used, no-code, malformed, locked.
    pub refused: Option<&'static str>,
    pub tries_left: Option<i64>,
    pub code_burned: bool,
    pub person_locked: bool,
    /// A wrong code while the code in force replaced an earlier one (a resend, or the request's
    /// details changed): the person may have relayed the older code.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub older_voided: bool,
}

/// Check a relayed code against the request's active code. Failures are recorded (and committed
/// by the caller) before the caller reports them.
pub fn check(conn: &dyn Db, clock: &Clock, keys: &Keys, r: &Request, input: &str) -> anyhow::Result<Outcome> {
    check_as(conn, clock, keys, r, input, Tries::CodeAndPerson)
}

/// What a wrong code counts toward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tries {
    /// The code's tries (five burn it) and the person's consecutive failures (ten lock them):
    /// a code relayed by the officer, or a reply from the address the code went to.
    CodeAndPerson,
    /// The code's tries only: a reply from another address. Its guesses burn the code as anyone's
    /// do (no one may guess without limit), but a stranger writing to the privacy address cannot
    /// lock the person out of verification.
    CodeOnly,
}

/// [`check`], with what a wrong code counts toward.
pub fn check_as(
    conn: &dyn Db,
    clock: &Clock,
    keys: &Keys,
    r: &Request,
    input: &str,
    counts: Tries,
) -> anyhow::Result<Outcome> {
    if matches!(r.state.as_str(), "verified" | "completed") {
        return Err(Error::CodeRejected(format!("request {} is already verified; a code works only once", r.id)).into());
    }
    if r.in_review() {
        return Err(r.needs_review().into());
    }
    if r.state != "awaiting-verification" {
        return Err(Error::RequestState(format!("request {} is {}; there is nothing to verify", r.id, r.state)).into());
    }
    if is_locked(conn, &r.subject_pseudonym)? {
        // Refused without looking at the code, but recorded: tries against a lock are worth knowing.
        audit::append(conn, clock, Some(&r.id), Some(&r.subject_pseudonym), "code-tried", json!({"result": "locked"}))?;
        return Ok(Outcome {
            verified: false,
            refused: Some("locked"),
            tries_left: None,
            code_burned: false,
            person_locked: true,
            older_voided: false,
        });
    }
    let active: Option<ActiveChallenge> = conn.first(
        "SELECT id, code_mac, address_mac, expires_at, failed_tries, expired_at FROM challenge
         WHERE request_id = ?1 AND state = 'active'",
        &vals![r.id]?,
        |x| Ok((x.get(0)?, x.get(1)?, x.get(2)?, x.get(3)?, x.get(4)?, x.get(5)?)),
    )?;
    let canonical = canonical(input);
    let Some((challenge, code_mac, address_mac, expires_at, tries, expired_at)) = active else {
        // No live code (never sent, used, burned or voided): still a failed try for the person.
        return fail(conn, clock, r, None, 0, if canonical.is_none() { "malformed" } else { "no-code" }, counts);
    };
    let asks = r.params.to_string();
    let matches =
        canonical.as_deref().is_some_and(|code| keys.verify(&code_parts(r, &asks, &address_mac, code), &code_mac));
    // Once refused as expired, a code stays expired whatever the clock says later.
    if matches && (expired_at.is_some() || clock.timestamp() > expires_at) {
        conn.run(
            "UPDATE challenge SET expired_at = coalesce(expired_at, ?2) WHERE id = ?1",
            &vals![challenge, clock.timestamp()]?,
        )?;
        audit::append(
            conn,
            clock,
            Some(&r.id),
            Some(&r.subject_pseudonym),
            "code-tried",
            json!({"result": "expired"}),
        )?;
        return Ok(Outcome {
            verified: false,
            refused: Some("expired"),
            tries_left: None,
            code_burned: false,
            person_locked: false,
            older_voided: false,
        });
    }
    if !matches {
        let mut outcome = fail(
            conn,
            clock,
            r,
            Some(challenge),
            tries + 1,
            if canonical.is_none() { "malformed" } else { "wrong" },
            counts,
        )?;
        outcome.older_voided = conn.one(
            "SELECT count(*) FROM challenge WHERE request_id = ?1 AND state = 'superseded'",
            &vals![r.id]?,
            |x| x.get::<i64>(0),
        )? > 0;
        return Ok(outcome);
    }
    conn.run("UPDATE challenge SET state = 'used' WHERE id = ?1", &vals![challenge]?)?;
    conn.run(
        "INSERT INTO verification_lock (subject_pseudonym, consecutive_failures) VALUES (?1, 0)
         ON CONFLICT (subject_pseudonym) DO UPDATE SET consecutive_failures = 0",
        &vals![&r.subject_pseudonym]?,
    )?;
    conn.run(
        "UPDATE request SET state = 'verified', verified_at = ?2, verification_method = 'email-code' WHERE id = ?1",
        &vals![r.id, clock.timestamp()]?,
    )?;
    audit::append(conn, clock, Some(&r.id), Some(&r.subject_pseudonym), "code-tried", json!({"result": "correct"}))?;
    audit::append(
        conn,
        clock,
        Some(&r.id),
        Some(&r.subject_pseudonym),
        "request-verified",
        json!({"method": "email-code"}),
    )?;
    Ok(Outcome {
        verified: true,
        refused: None,
        tries_left: None,
        code_burned: false,
        person_locked: false,
        older_voided: false,
    })
}

fn fail(
    conn: &dyn Db,
    clock: &Clock,
    r: &Request,
    challenge: Option<i64>,
    tries: i64,
    why: &'static str,
    counts: Tries,
) -> anyhow::Result<Outcome> {
    let mut burned = false;
    if let Some(id) = challenge {
        burned = tries >= MAX_TRIES_PER_CODE;
        conn.run(
            "UPDATE challenge SET failed_tries = ?2, state = CASE WHEN ?3 THEN 'burned' ELSE state END WHERE id = ?1",
            &vals![id, tries, burned]?,
        )?;
    }
    let failures: i64 = if counts == Tries::CodeOnly {
        conn.first(
            "SELECT consecutive_failures FROM verification_lock WHERE subject_pseudonym = ?1",
            &vals![r.subject_pseudonym]?,
            |x| x.get(0),
        )?
        .unwrap_or(0)
    } else {
        conn.first(
            "INSERT INTO verification_lock (subject_pseudonym, consecutive_failures) VALUES (?1, 1)
             ON CONFLICT (subject_pseudonym) DO UPDATE SET consecutive_failures = verification_lock.consecutive_failures + 1
             RETURNING consecutive_failures",
            &vals![r.subject_pseudonym]?,
            |x| x.get(0),
        )?
        .unwrap_or(1)
    };
    let locked = counts == Tries::CodeAndPerson && failures >= LOCK_AFTER_FAILURES;
    if locked {
        conn.run(
            "UPDATE verification_lock SET locked_at = ?2 WHERE subject_pseudonym = ?1 AND locked_at IS NULL",
            &vals![r.subject_pseudonym, clock.timestamp()]?,
        )?;
        conn.run(
            "UPDATE challenge SET state = 'burned' WHERE subject_pseudonym = ?1 AND state = 'active'",
            &vals![&r.subject_pseudonym]?,
        )?;
    }
    audit::append(
        conn,
        clock,
        Some(&r.id),
        Some(&r.subject_pseudonym),
        "code-tried",
        json!({"result": why, "tries_on_code": tries, "code_burned": burned, "consecutive_failures": failures, "person_locked": locked}),
    )?;
    Ok(Outcome {
        verified: false,
        refused: Some(why),
        tries_left: challenge.map(|_| (MAX_TRIES_PER_CODE - tries).max(0)),
        code_burned: burned,
        person_locked: locked,
        older_voided: false,
    })
}

/// Void the request's live code because what the request asks changed: the code was sent for
/// the old details and must not approve the new ones. Returns whether a code was voided.
pub fn void(conn: &dyn Db, clock: &Clock, r: &Request) -> anyhow::Result<bool> {
    let voided = conn
        .run("UPDATE challenge SET state = 'superseded' WHERE request_id = ?1 AND state = 'active'", &vals![&r.id]?)?;
    if voided > 0 {
        audit::append(
            conn,
            clock,
            Some(&r.id),
            Some(&r.subject_pseudonym),
            "code-voided",
            json!({"why": "the request's details changed after the code was sent"}),
        )?;
    }
    Ok(voided > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_8_crockford_characters_and_canonicalise() {
        for _ in 0..100 {
            let c = new_code().unwrap();
            assert_eq!(c.len(), 8);
            assert!(c.chars().all(|ch| "0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(ch)), "{c}");
            assert_eq!(canonical(&c).as_deref(), Some(c.as_str()));
            assert_eq!(canonical(&c.to_lowercase()).as_deref(), Some(c.as_str()));
            assert_eq!(canonical(&format!("{}-{}", &c[..4], &c[4..])).as_deref(), Some(c.as_str()));
        }
        assert_eq!(canonical("7kq2-m9xd").as_deref(), Some("7KQ2M9XD"));
        for pasted in ["7KQ2\u{2013}M9XD", "7KQ2\u{2014}M9XD", "7KQ2\u{2212}M9XD", "7KQ2-M9XD\n", "\u{a0}7KQ2 M9XD\r\n"]
        {
            assert_eq!(canonical(pasted).as_deref(), Some("7KQ2M9XD"), "{pasted:?}");
        }
        assert_eq!(canonical("OIL0-0000").as_deref(), Some("0110-0000".replace('-', "").as_str()));
        for bad in ["", "1234567", "123456789", "7KQ2-M9XU", "7KQ2_M9XD"] {
            assert_eq!(canonical(bad), None, "{bad}");
        }
    }
}
