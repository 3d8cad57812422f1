//! What expires under a retention rule, as SQL over the rule's own table, and what never does:
//! rows of a person restricted for legal claims, rows of a person waiting for an answer, unpaid
//! claims, and a consent in force. The kinds of rule the engine can carry out are listed here
//! once ([`SUPPORTED`]); a register with any other rule is refused when it is loaded ([`check`]).

use chrono::{DateTime, Datelike, Utc};

use crate::check::NEWSLETTER_IN_FORCE;
use crate::register::RetentionRule;

/// The tables each kind of starting moment can be applied to. `contract-end` on `person` is the
/// whole profile, erased with the erasure planner.
pub const SUPPORTED: &[(&str, &[&str])] = &[
    (
        "event",
        &[
            "ip_event",
            "web_session",
            "server_log",
            "dunning_event",
            "crash_report",
            "disclosure",
            "unsolicited_data",
            "ticket_message",
        ],
    ),
    (
        "contract-end",
        &[
            "person",
            "email_address",
            "phone_number",
            "supplementary_statement",
            "company",
            "login_account",
            "payment_method",
            "service",
            "domain",
        ],
    ),
    ("fiscal-year-end", &["invoice", "quote", "payment"]),
    ("decision-not-hired", &["application", "application_document"]),
    ("ticket-closed", &["ticket"]),
    ("last-seen", &["cookie"]),
    ("consent-withdrawn", &["consent"]),
];

/// Tables that hang from the person directly; the rest of the contract's tables from the customer.
const PERSON_OWNED: &[&str] = &["email_address", "phone_number", "supplementary_statement"];

/// Whether the engine can carry out a rule: a register that has a rule it cannot is refused when
/// it is loaded, rather than reported as "removed 0" every night.
pub fn check(rule: &RetentionRule) -> Result<(), String> {
    let tables = SUPPORTED.iter().find(|(kind, _)| *kind == rule.starts_at).map(|(_, t)| *t).unwrap_or(&[]);
    if tables.contains(&rule.table.as_str()) && builtin_map().scope(&rule.table).is_some() {
        return Ok(());
    }
    Err(format!(
        "retention rule {} cannot be carried out: the engine does not delete {} rows counted from {} (for {} it can: {})",
        rule.code,
        rule.table,
        rule.starts_at,
        rule.starts_at,
        if tables.is_empty() { "no table".to_string() } else { tables.join(", ") }
    ))
}

/// The map of the built-in tables, which this module's rule kinds are written for.
fn builtin_map() -> crate::store::personal::DataMap {
    crate::store::personal::DataMap { tables: crate::store::personal::builtin() }
}

/// Which person a row of a table belongs to (SQL over the table's own columns).
fn person_of(table: &str) -> &'static str {
    match table {
        "person" => "id",
        "ip_event" | "web_session" | "payment_method" | "quote" | "invoice" | "service" | "domain" | "company" | "login_account" => {
            "(SELECT person_id FROM customer WHERE customer.id = customer_id)"
        }
        "server_log" => "(SELECT c.person_id FROM web_session s JOIN customer c ON c.id = s.customer_id WHERE s.id = session_id)",
        "dunning_event" | "payment" => "(SELECT c.person_id FROM invoice i JOIN customer c ON c.id = i.customer_id WHERE i.id = invoice_id)",
        "application_document" => "(SELECT person_id FROM application a WHERE a.id = application_id)",
        "ticket_message" => "(SELECT person_id FROM ticket t WHERE t.id = ticket_id)",
        "unsolicited_data" => "(SELECT t.person_id FROM ticket_message m JOIN ticket t ON t.id = m.ticket_id WHERE m.id = ticket_message_id)",
        _ => "person_id",
    }
}

/// Never touch a person under a legal-claims restriction (Art. 18(1)(c)). ?2 is the comma-separated
/// list of categories a sweep reaches: the rule's own and those of the child rows it clears with it
/// (a session takes its log lines along, so a hold on server logs keeps the session too); `*`
/// stands for every category (a whole profile).
pub(super) fn not_held(table: &str) -> String {
    format!(
        "coalesce({}, -1) NOT IN (SELECT person_id FROM restriction WHERE ground = 'legal-claims' AND lifted_at IS NULL
           AND person_id IS NOT NULL AND (category IS NULL OR ?2 = '*' OR instr(',' || ?2 || ',', ',' || category || ',') > 0))",
        person_of(table)
    )
}

/// People waiting for an answer that shows their data as it was when they asked: an open access,
/// export or rectification request (a verified request stays open until its answer is delivered).
pub(super) const WAITING: &str = "SELECT person_id FROM request WHERE state IN ('awaiting-verification', 'verified')
     AND kind IN ('access', 'export', 'rectify') AND person_id IS NOT NULL";

/// The rows of `table` that are not frozen by a waiting request. The person's scope (the rows an
/// answer shows) turned around: one small set of keys per statement, looked up per row, no join.
pub(super) fn not_frozen(table: &str) -> Option<String> {
    let scope = builtin_map().scope(table)?;
    Some(format!("({}) IS NOT 1", scope.filter.replace("= ?1", &format!("IN ({WAITING})"))))
}

/// Per waiting person, how many rows matching `cond` (with ?1 the cut-off) were held back.
pub(super) fn held_query(table: &str, cond: &str) -> Option<String> {
    let scope = builtin_map().scope(table)?;
    Some(format!(
        "SELECT waiting.person_id, (SELECT count(*) FROM {table} WHERE ({cond}) AND ({}) AND ?1 = ?1)
         FROM (SELECT DISTINCT person_id FROM ({WAITING})) waiting",
        scope.filter.replace("= ?1", "= waiting.person_id")
    ))
}

fn event_column(table: &str) -> Option<&'static str> {
    Some(match table {
        "ip_event" | "dunning_event" | "crash_report" => "occurred_at",
        "web_session" => "started_at",
        "server_log" => "logged_at",
        "disclosure" => "disclosed_at",
        "unsolicited_data" => "noted_at",
        "ticket_message" => "sent_at",
        _ => return None,
    })
}

pub(super) const UNPAID: &str = "('open', 'overdue', 'collection')";

/// What expires under a rule: the condition (with ?1 = the cut-off) and child tables to clear
/// first, as (table, condition) where `{ids}` stands for the ids of the parent rows of the batch.
/// None for a rule [`check`] refuses, and for the whole profile (see `ended_contracts`).
pub(super) fn expiry(rule: &RetentionRule, now: DateTime<Utc>) -> Option<(String, Vec<(&'static str, &'static str)>)> {
    check(rule).ok()?;
    let t = rule.table.as_str();
    let cond = match (rule.starts_at.as_str(), t) {
        // The steps of an unpaid invoice are the history of an open claim (Art. 17(3)(e)).
        ("event", "dunning_event") => format!("occurred_at < ?1 AND invoice_id NOT IN (SELECT id FROM invoice WHERE status IN {UNPAID})"),
        ("event", _) => format!("{} < ?1", event_column(t)?),
        ("fiscal-year-end", "invoice") => format!("status NOT IN {UNPAID} AND CAST(substr(issued_at, 1, 4) AS INTEGER) + {} < {}", rule.period_months / 12, now.year()),
        ("fiscal-year-end", "quote") => format!(
            "CAST(substr(created_at, 1, 4) AS INTEGER) + {} < {} AND id NOT IN (SELECT quote_id FROM invoice WHERE quote_id IS NOT NULL)",
            rule.period_months / 12,
            now.year()
        ),
        ("fiscal-year-end", "payment") => format!(
            "invoice_id IN (SELECT id FROM invoice WHERE status NOT IN {UNPAID} AND CAST(substr(issued_at, 1, 4) AS INTEGER) + {} < {})",
            rule.period_months / 12,
            now.year()
        ),
        ("decision-not-hired", "application") => "status IN ('rejected', 'withdrawn') AND decided_at < ?1".into(),
        ("decision-not-hired", "application_document") => "application_id IN (SELECT id FROM application WHERE status IN ('rejected', 'withdrawn') AND decided_at < ?1)".into(),
        ("ticket-closed", "ticket") => "closed_at < ?1".into(),
        ("last-seen", "cookie") => "last_seen_at < ?1".into(),
        // Proof of consent and of its withdrawal (Art. 7(1)): the records of a purpose go together,
        // the period after the withdrawal; a consent in force never expires.
        ("consent-withdrawn", "consent") => "EXISTS (SELECT 1 FROM consent w WHERE w.person_id = consent.person_id AND w.purpose = consent.purpose
               AND w.granted = 0 AND w.recorded_at < ?1 AND w.recorded_at >= consent.recorded_at)"
            .into(),
        ("contract-end", "person") => return None, // the whole profile: see `ended_contracts`
        // An address the newsletter consent covers stays while that consent is in force.
        ("contract-end", "email_address") => format!(
            "person_id IN (SELECT person_id FROM customer WHERE ended_at IS NOT NULL AND ended_at < ?1) AND NOT {NEWSLETTER_IN_FORCE}"
        ),
        ("contract-end", _) if PERSON_OWNED.contains(&t) => {
            "person_id IN (SELECT person_id FROM customer WHERE ended_at IS NOT NULL AND ended_at < ?1)".into()
        }
        ("contract-end", _) => "customer_id IN (SELECT id FROM customer WHERE ended_at IS NOT NULL AND ended_at < ?1)".into(),
        _ => return None,
    };
    let children: Vec<(&str, &str)> = match t {
        "ticket" => vec![
            ("unsolicited_data", "ticket_message_id IN (SELECT id FROM ticket_message WHERE ticket_id IN {ids})"),
            ("ticket_message", "ticket_id IN {ids}"),
        ],
        "application" => vec![("application_document", "application_id IN {ids}")],
        "invoice" => vec![("payment", "invoice_id IN {ids}"), ("dunning_event", "invoice_id IN {ids}")],
        "web_session" => vec![("server_log", "session_id IN {ids}")],
        _ => vec![],
    };
    Some((cond, children))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(table: &str, starts_at: &str) -> RetentionRule {
        RetentionRule {
            code: "test-rule".into(),
            category: "identity".into(),
            table: table.into(),
            period_months: 12,
            starts_at: starts_at.into(),
            description_en: String::new(),
            description_nl: String::new(),
            set_by: "fixture".into(),
            justification: String::new(),
        }
    }

    #[test]
    fn every_supported_rule_has_a_condition_and_no_other_has() {
        let now = Utc::now();
        for (kind, tables) in SUPPORTED {
            for t in *tables {
                assert!(check(&rule(t, kind)).is_ok(), "{kind} on {t}");
                assert_eq!(expiry(&rule(t, kind), now).is_some(), *t != "person", "{kind} on {t}");
            }
        }
        for (kind, table) in
            [("event", "customer"), ("last-seen", "invoice"), ("contract-end", "invoice"), ("event", "nowhere")]
        {
            let err = check(&rule(table, kind)).unwrap_err();
            assert!(err.contains("test-rule") && err.contains(table) && err.contains(kind), "{err}");
            assert!(expiry(&rule(table, kind), now).is_none());
        }
    }
}
