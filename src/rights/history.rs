//! What the person asked of us and what became of it, for the access answer (GDPR Art. 15(3),
//! CJEU C-487/21: the copy is complete): their own requests with the outcome, restrictions
//! (Art. 18), objections with the grounds weighed (Art. 21), reviews of the automated decision
//! (Art. 22(3)), the recipients told of a change (Art. 19), and the fact that their identifiers
//! are on the suppression list (the list holds keyed hashes only; the hashes are not disclosed).
//!
//! Also the dunning explanation per invoice (Art. 15(1)(h), CJEU C-203/22): which invoice, which
//! threshold of the register was crossed on which day, and what would have changed the outcome.
//!
//! Values stay raw (codes, UTC, cents): the person-facing renderings translate them.

use crate::store::db::{Db, Row};
use chrono::NaiveDate;
use serde::Serialize;

use crate::keys::Keys;
use crate::register::{AutomatedDecision, Register};
use crate::subject::Subject;

#[derive(Debug, Default, Serialize)]
pub struct History {
    pub requests: Vec<RequestRecord>,
    pub restrictions: Vec<RestrictionRecord>,
    pub objections: Vec<ObjectionRecord>,
    pub decision_reviews: Vec<ReviewRecord>,
    pub notifications: Vec<NotificationRecord>,
    pub suppression: Vec<SuppressionRecord>,
}

#[derive(Debug, Serialize)]
pub struct RequestRecord {
    pub id: String,
    pub right: String,
    pub channel: String,
    pub received_on: String,
    pub due_on: String,
    pub extended_due_on: Option<String>,
    pub extension_reason: Option<String>,
    pub extension_told_on: Option<String>,
    pub state: String,
    pub rejection_reason: Option<String>,
    pub rejection_note: Option<String>,
    pub closed_at: Option<String>,
    /// How the answer reached the person (email, post, in-person, portal), once it did.
    pub delivery_channel: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RestrictionRecord {
    pub request: String,
    pub ground: String,
    /// None: all the person's data.
    pub category: Option<String>,
    pub purpose: Option<String>,
    pub started_at: String,
    pub lifted_at: Option<String>,
    pub lift_reason: Option<String>,
    pub notice_sent_at: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ObjectionRecord {
    pub request: String,
    pub purpose: String,
    pub outcome: String,
    /// The compelling grounds weighed against the objection, or why processing continues.
    pub grounds: Option<String>,
    pub created_at: String,
    pub decided_at: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ReviewRecord {
    pub request: String,
    pub decision: String,
    pub requested_at: String,
    pub outcome: Option<String>,
    pub outcome_note: Option<String>,
    pub decided_at: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct NotificationRecord {
    pub request: String,
    /// The right of that request: what the recipient was told of.
    pub right: String,
    pub recipient: String,
    pub recipient_name: String,
    pub state: String,
    pub notified_at: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct SuppressionRecord {
    /// Which identifier: email, phone or customer number.
    pub kind: String,
    /// direct-marketing or erased.
    pub reason: String,
    pub request: Option<String>,
    pub added_at: String,
}

fn all<T>(
    conn: &dyn Db,
    sql: &str,
    person: i64,
    mut f: impl FnMut(&Row) -> anyhow::Result<T>,
) -> anyhow::Result<Vec<T>> {
    let mut out = Vec::new();
    conn.each(sql, &[person.into()], &mut |r| {
        out.push(f(&r)?);
        Ok(())
    })?;
    Ok(out)
}

/// The person's requests and what the rights changed for them. A handful of rows per person,
/// each read by an indexed query.
pub fn load(conn: &dyn Db, register: &Register, s: &Subject) -> anyhow::Result<History> {
    let p = s.person_id;
    let requests = all(
        conn,
        "SELECT id, kind, channel, received_on, due_on, extended_due_on, extension_reason, extension_told_on,
                state, rejection_reason, rejection_note, closed_at, delivery_channel
         FROM request WHERE person_id = ?1 ORDER BY received_on, year, seq",
        p,
        |r| {
            Ok(RequestRecord {
                id: r.get(0)?,
                right: r.get(1)?,
                channel: r.get(2)?,
                received_on: r.get(3)?,
                due_on: r.get(4)?,
                extended_due_on: r.get(5)?,
                extension_reason: r.get(6)?,
                extension_told_on: r.get(7)?,
                state: r.get(8)?,
                rejection_reason: r.get(9)?,
                rejection_note: r.get(10)?,
                closed_at: r.get(11)?,
                delivery_channel: r.get(12)?,
            })
        },
    )?;
    let restrictions = all(
        conn,
        "SELECT request_id, ground, category, purpose, started_at, lifted_at, lift_reason, notice_sent_at
         FROM restriction WHERE person_id = ?1 ORDER BY started_at, id",
        p,
        |r| {
            Ok(RestrictionRecord {
                request: r.get(0)?,
                ground: r.get(1)?,
                category: r.get(2)?,
                purpose: r.get(3)?,
                started_at: r.get(4)?,
                lifted_at: r.get(5)?,
                lift_reason: r.get(6)?,
                notice_sent_at: r.get(7)?,
            })
        },
    )?;
    let objections = all(
        conn,
        "SELECT request_id, purpose, outcome, grounds, created_at, decided_at
         FROM objection WHERE person_id = ?1 ORDER BY created_at, id",
        p,
        |r| {
            Ok(ObjectionRecord {
                request: r.get(0)?,
                purpose: r.get(1)?,
                outcome: r.get(2)?,
                grounds: r.get(3)?,
                created_at: r.get(4)?,
                decided_at: r.get(5)?,
            })
        },
    )?;
    let decision_reviews = all(
        conn,
        "SELECT request_id, decision, requested_at, outcome, outcome_note, decided_at
         FROM decision_review WHERE person_id = ?1 ORDER BY requested_at, id",
        p,
        |r| {
            Ok(ReviewRecord {
                request: r.get(0)?,
                decision: r.get(1)?,
                requested_at: r.get(2)?,
                outcome: r.get(3)?,
                outcome_note: r.get(4)?,
                decided_at: r.get(5)?,
            })
        },
    )?;
    let notifications = all(
        conn,
        "SELECT n.request_id, q.kind, n.recipient, n.state, n.notified_at
         FROM notification n JOIN request q ON q.id = n.request_id
         WHERE q.person_id = ?1 ORDER BY q.received_on, n.request_id, n.recipient",
        p,
        |r| {
            Ok(NotificationRecord {
                request: r.get(0)?,
                right: r.get(1)?,
                recipient: r.get(2)?,
                recipient_name: String::new(),
                state: r.get(3)?,
                notified_at: r.get(4)?,
            })
        },
    )?
    .into_iter()
    .map(|mut n| {
        n.recipient_name = register
            .recipients
            .iter()
            .find(|r| r.code == n.recipient)
            .map_or_else(|| n.recipient.clone(), |r| r.name.clone());
        n
    })
    .collect();
    Ok(History {
        requests,
        restrictions,
        objections,
        decision_reviews,
        notifications,
        suppression: suppression(conn, s)?,
    })
}

/// Whether the person's identifiers are on the suppression list: their identifiers are hashed
/// with the store key and looked up (the list holds nothing else to find them by).
fn suppression(conn: &dyn Db, s: &Subject) -> anyhow::Result<Vec<SuppressionRecord>> {
    let ids = crate::store::personal::DataMap::load(conn)?.remembered_identifiers(conn, s.person_id)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let keys = Keys::load(conn)?;
    let mut out = Vec::new();
    for (kind, value) in &ids {
        let hash = crate::check::suppression_hash(&keys, kind, value);
        conn.each(
            "SELECT kind, reason, request_id, added_at FROM suppression WHERE hash = ?1 ORDER BY reason",
            &crate::vals![hash]?,
            &mut |r| {
                out.push(SuppressionRecord {
                    kind: r.get(0)?,
                    reason: r.get(1)?,
                    request: r.get(2)?,
                    added_at: r.get(3)?,
                });
                Ok(())
            },
        )?;
    }
    Ok(out)
}

/// The automated dunning decision as it applied to one invoice (Art. 15(1)(h), CJEU C-203/22).
#[derive(Debug, Serialize)]
pub struct InvoiceDunning {
    pub invoice_number: String,
    pub amount_cents: i64,
    pub currency: String,
    pub issued_at: String,
    pub due_at: String,
    pub status: String,
    pub paid_at: Option<String>,
    pub steps: Vec<DunningStep>,
    /// The last day on which paying the invoice in full would have prevented every step taken.
    pub pay_by: Option<NaiveDate>,
}

#[derive(Debug, Serialize)]
pub struct DunningStep {
    pub step: String,
    /// The register's threshold: this many days after the due date.
    pub days_after_due: Option<i64>,
    /// The day the threshold was crossed: the due date (its Dutch local date) plus the threshold.
    pub threshold_on: Option<NaiveDate>,
    pub occurred_at: String,
    pub automated: bool,
}

/// Each of the person's invoices that the dunning process touched, with its steps, in one query.
pub fn dunning(conn: &dyn Db, decision: &AutomatedDecision, s: &Subject) -> anyhow::Result<Vec<InvoiceDunning>> {
    let Some(sql) = crate::store::personal::DataMap::load(conn)?.decision_steps_sql(&decision.code) else {
        return Ok(Vec::new());
    };
    let mut out: Vec<InvoiceDunning> = Vec::new();
    conn.each(&sql, &[s.person_id.into()], &mut |r| {
        let number: String = r.get(0)?;
        if out.last().is_none_or(|i| i.invoice_number != number) {
            out.push(InvoiceDunning {
                invoice_number: number,
                amount_cents: r.get(1)?,
                currency: r.get(2)?,
                issued_at: r.get(3)?,
                due_at: r.get(4)?,
                status: r.get(5)?,
                paid_at: r.get(6)?,
                steps: Vec::new(),
                pay_by: None,
            });
        }
        let invoice = out.last_mut().expect("pushed above");
        let step: String = r.get(7)?;
        let days = decision.steps.iter().find(|x| x.step == step).map(|x| x.days_after_due);
        let due = dutch_date(&invoice.due_at);
        invoice.steps.push(DunningStep {
            threshold_on: due.zip(days).map(|(d, n)| d + chrono::Days::new(n.max(0) as u64)),
            days_after_due: days,
            step,
            occurred_at: r.get(8)?,
            automated: r.get(9)?,
        });
        Ok(())
    })?;
    for invoice in &mut out {
        // Paid on or before the day before the first threshold crossed, nothing would have followed.
        invoice.pay_by = invoice.steps.iter().filter_map(|s| s.threshold_on).min().map(|d| d - chrono::Days::new(1));
    }
    Ok(out)
}

/// The day of a stored UTC time in the Netherlands, where the billing system counts its days.
fn dutch_date(stamp: &str) -> Option<NaiveDate> {
    chrono::DateTime::parse_from_rfc3339(stamp)
        .ok()
        .map(|t| t.with_timezone(&chrono_tz::Europe::Amsterdam).date_naive())
}
