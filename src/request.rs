//! Requests (GDPR Art. 12): a readable id, the right asked for, who asked and who that turned
//! out to be, the deadline of one calendar month (extendable by two more, with reasons, within
//! the first month), and the state. A second request for the same person and right while one is
//! open is the same request. The timeline of a request is its entries in the audit trail.

use chrono::{Months, NaiveDate};
use serde::Serialize;

use crate::clock::Clock;
use crate::error::Error;
use crate::store::db::{Db, Row};
use crate::vals;

pub mod decide;
mod next;
mod open;
mod transitions;

pub use next::{code_sent, locked, next_action, unlock_command};
pub use open::{earliest_receipt, identifier_parts, next_number, open, open_for_review, NewRequest};
pub use transitions::*;

/// The rights a request can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Access,
    Export,
    Rectify,
    Erase,
    Restrict,
    Object,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Access => "access",
            Kind::Export => "export",
            Kind::Rectify => "rectify",
            Kind::Erase => "erase",
            Kind::Restrict => "restrict",
            Kind::Object => "object",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        [Kind::Access, Kind::Export, Kind::Rectify, Kind::Erase, Kind::Restrict, Kind::Object]
            .into_iter()
            .find(|k| k.as_str() == s)
    }

    /// (English, Dutch) name of the right, for letters.
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            Kind::Access => {
                ("access to your personal data (GDPR Art. 15)", "inzage in je persoonsgegevens (art. 15 AVG)")
            }
            Kind::Export => (
                "a copy of your data to take elsewhere (GDPR Art. 20)",
                "een kopie van je gegevens om mee te nemen (art. 20 AVG)",
            ),
            Kind::Rectify => {
                ("correction of your personal data (GDPR Art. 16)", "correctie van je persoonsgegevens (art. 16 AVG)")
            }
            Kind::Erase => {
                ("erasure of your personal data (GDPR Art. 17)", "verwijdering van je persoonsgegevens (art. 17 AVG)")
            }
            Kind::Restrict => ("restriction of processing (GDPR Art. 18)", "beperking van de verwerking (art. 18 AVG)"),
            Kind::Object => ("objection to processing (GDPR Art. 21)", "bezwaar tegen de verwerking (art. 21 AVG)"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Channel {
    Email,
    Letter,
    Portal,
    Phone,
    InPerson,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Letter => "letter",
            Channel::Portal => "portal",
            Channel::Phone => "phone",
            Channel::InPerson => "in-person",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RejectReason {
    Unfounded,
    Excessive,
    IdentityNotConfirmed,
    Other,
}

impl RejectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::Unfounded => "unfounded",
            RejectReason::Excessive => "excessive",
            RejectReason::IdentityNotConfirmed => "identity-not-confirmed",
            RejectReason::Other => "other",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Request {
    pub id: String,
    pub right: String,
    pub subject_kind: String,
    pub subject_given: Option<String>,
    pub person_id: Option<i64>,
    pub subject_pseudonym: String,
    pub channel: String,
    pub received_on: NaiveDate,
    pub due_on: NaiveDate,
    pub extended_due_on: Option<NaiveDate>,
    pub extension_reason: Option<String>,
    pub extension_told_on: Option<NaiveDate>,
    pub state: String,
    pub verified_at: Option<String>,
    pub verification_method: Option<String>,
    pub verification_ref: Option<String>,
    pub rejection_reason: Option<String>,
    pub rejection_note: Option<String>,
    /// What the request asks (fields to correct, ground, purpose...).
    pub params: serde_json::Value,
    /// The substance of the answer, once completed.
    pub outcome: Option<serde_json::Value>,
    pub created_at: String,
    pub closed_at: Option<String>,
    /// When the answer was prepared (viewed, written to a file, carried out); not yet delivered.
    pub answered_at: Option<String>,
    /// When the answer reached the person, how, and the proof (outbox file, SMTP id, a post reference).
    pub delivered_at: Option<String>,
    pub delivery_channel: Option<String>,
    pub delivery_ref: Option<String>,
}

/// The states of a request still to be answered: its deadline runs.
pub const OPEN_STATES: &[&str] = &["needs-review", "awaiting-verification", "verified"];

/// The kind of a request read from mail whose right is not clear (state `needs-review`).
pub const UNCLEAR: &str = "unclear";

impl Request {
    /// The email address the request was opened with (its domain folded), when it was opened by
    /// email: the address on file that codes, letters and an email correction go to.
    pub fn named_email(&self) -> Option<String> {
        (self.subject_kind == "email")
            .then(|| self.subject_given.as_deref().map(crate::subject::domain_folded))
            .flatten()
    }

    /// The right asked. A request read from mail that asks for none dsr can name (kind
    /// `unclear`, state `needs-review`) has none until the officer decides which.
    pub fn kind(&self) -> Result<Kind, Error> {
        Kind::parse(&self.right).ok_or_else(|| self.needs_review())
    }

    /// The right's (English, Dutch) name for letters; while unclear, a right not yet named.
    pub fn right_names(&self) -> (&'static str, &'static str) {
        Kind::parse(&self.right).map_or(
            (
                "a right under the GDPR (your message did not make clear which)",
                "een recht onder de AVG (uit je bericht bleek niet welk)",
            ),
            Kind::names,
        )
    }

    /// Waiting for the officer's review: nothing is sent, verified or carried out before it.
    pub fn in_review(&self) -> bool {
        self.state == "needs-review"
    }

    /// The refusal of anything but a review or a rejection for a request in review.
    pub fn needs_review(&self) -> Error {
        Error::RequestState(format!(
            "request {id} needs the officer's review first (`dsr request show {id}` shows the message): open it as the right it asks with `dsr RIGHT --review {id}`, or refuse it with `dsr request reject {id}`",
            id = self.id
        ))
    }

    /// The deadline in force: the extended one if any.
    pub fn deadline(&self) -> NaiveDate {
        self.extended_due_on.unwrap_or(self.due_on)
    }

    /// Whether the right was already carried out (answer prepared or delivered).
    pub fn carried_out(&self) -> bool {
        self.answered_at.is_some() || self.state == "completed"
    }

    pub fn is_open(&self) -> bool {
        OPEN_STATES.contains(&self.state.as_str())
    }

    pub fn days_left(&self, today: NaiveDate) -> i64 {
        (self.deadline() - today).num_days()
    }

    /// A request from a row of [`COLUMNS`], on either backend.
    pub fn from_row(r: &Row) -> anyhow::Result<Request> {
        Ok(Request {
            id: r.get(0)?,
            right: r.get(1)?,
            subject_kind: r.get(2)?,
            subject_given: r.get(3)?,
            person_id: r.get(4)?,
            subject_pseudonym: r.get(5)?,
            channel: r.get(6)?,
            received_on: r.get(7)?,
            due_on: r.get(8)?,
            extended_due_on: r.get(9)?,
            extension_reason: r.get(10)?,
            extension_told_on: r.get(11)?,
            state: r.get(12)?,
            verified_at: r.get(13)?,
            verification_method: r.get(14)?,
            verification_ref: r.get(15)?,
            rejection_reason: r.get(16)?,
            rejection_note: r.get(17)?,
            params: serde_json::from_str(&r.get::<String>(18)?).unwrap_or_default(),
            outcome: r.get::<Option<String>>(19)?.and_then(|o| serde_json::from_str(&o).ok()),
            created_at: r.get(20)?,
            closed_at: r.get(21)?,
            answered_at: r.get(22)?,
            delivered_at: r.get(23)?,
            delivery_channel: r.get(24)?,
            delivery_ref: r.get(25)?,
        })
    }
}

/// The columns [`Request::from_row`] reads, in its order (`SELECT *` would also read the
/// `rowid` column a PostgreSQL store adds).
pub const COLUMNS: &str = "id, kind, subject_kind, subject_given, person_id, subject_pseudonym, channel, received_on, due_on, extended_due_on, extension_reason, extension_told_on, state, verified_at, verification_method, verification_ref, rejection_reason, rejection_note, params, outcome, created_at, closed_at, answered_at, delivered_at, delivery_channel, delivery_ref";

/// One calendar month after receipt; a day that does not exist falls on the month's last day
/// (31 Jan -> 28/29 Feb, 31 Mar -> 30 Apr).
pub fn due_date(received: NaiveDate, months: u32) -> NaiveDate {
    received.checked_add_months(Months::new(months)).expect("date in range")
}

/// Check the shape of a request id: DSR-YYYY-NNNN.
pub fn parse_id(raw: &str) -> Result<String, Error> {
    let id = raw.trim().to_ascii_uppercase();
    let ok = id.len() >= 13
        && id.starts_with("DSR-")
        && id[4..8].chars().all(|c| c.is_ascii_digit())
        && &id[8..9] == "-"
        && id[9..].chars().all(|c| c.is_ascii_digit());
    if ok {
        Ok(id)
    } else {
        Err(Error::invalid("request id", "expected an id such as DSR-2026-0042"))
    }
}

pub fn load(conn: &dyn Db, id: &str) -> anyhow::Result<Request> {
    let id = parse_id(id)?;
    conn.first(&format!("SELECT {COLUMNS} FROM request WHERE id = ?1"), &vals![id]?, Request::from_row)?
        .ok_or_else(|| Error::UnknownRequest(id).into())
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Filter {
    pub open: bool,
    pub overdue: bool,
}

pub fn list(conn: &dyn Db, clock: &Clock, filter: Filter) -> anyhow::Result<Vec<Request>> {
    let today = clock.now().date_naive();
    let mut all: Vec<Request> = Vec::new();
    conn.each(&format!("SELECT {COLUMNS} FROM request ORDER BY year, seq"), &[], &mut |r| {
        all.push(Request::from_row(&r)?);
        Ok(())
    })?;
    Ok(all
        .into_iter()
        .filter(|r| !filter.open || r.is_open())
        .filter(|r| !filter.overdue || (r.is_open() && r.deadline() < today))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn due_date_is_one_calendar_month_with_month_end_clamping() {
        for (received, due) in [
            ("2026-01-31", "2026-02-28"),
            ("2028-01-31", "2028-02-29"),
            ("2028-01-30", "2028-02-29"),
            ("2026-03-31", "2026-04-30"),
            ("2026-05-31", "2026-06-30"),
            ("2026-08-31", "2026-09-30"),
            ("2026-10-31", "2026-11-30"),
            ("2026-12-31", "2027-01-31"),
            ("2026-02-28", "2026-03-28"),
            ("2026-06-15", "2026-07-15"),
            ("2100-01-31", "2100-02-28"),
            ("2000-01-31", "2000-02-29"),
        ] {
            assert_eq!(due_date(d(received), 1), d(due), "{received}");
        }
        // Every day of a leap and a common year lands in the next month.
        let mut day = d("2027-12-01");
        while day < d("2029-01-01") {
            let due = due_date(day, 1);
            assert!(due > day);
            assert_eq!((due.year_ce().1 * 12 + due.month0()) - (day.year_ce().1 * 12 + day.month0()), 1);
            day = day.succ_opt().unwrap();
        }
    }

    #[test]
    fn request_ids_are_checked() {
        assert_eq!(parse_id("dsr-2026-0042").unwrap(), "DSR-2026-0042");
        assert_eq!(parse_id("DSR-2026-12345").unwrap(), "DSR-2026-12345");
        for bad in ["", "DSR-26-1", "REQ-2026-0001", "DSR-2026-00a1", "DSR-2026-0001; DROP TABLE request"] {
            assert!(parse_id(bad).is_err(), "{bad}");
        }
    }

    use chrono::Datelike;
}
