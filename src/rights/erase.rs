//! The right to erasure (GDPR Art. 17), partial where the law requires keeping something:
//! - Art. 17(3)(b): invoices, the quotes and payment records they need, are kept 7 years from the
//!   end of their fiscal year (Dutch AWR art. 52), detached from the erased profile;
//! - Art. 17(3)(e): an unpaid invoice (open, overdue, in collection) and its dunning steps are kept
//!   for the legal claim until it is settled;
//! - everything else of the person goes, including log lines of their sessions and anonymous log
//!   lines that carry their IP addresses.
//!
//! A plan lists per table what is deleted, detached (fields set to NULL) or kept, with the ground
//! and the date until which it is kept. Applying runs in one transaction exactly as planned: the
//! plan's fingerprint (SHA-256 over every row it touches) must still match, else the data changed
//! and the plan is made again. The store runs with secure_delete, and the caller checkpoints the
//! WAL afterwards, so no byte of an erased value remains in the file or its WAL.

use rusqlite::types::ValueRef;
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::keys::hex;
use crate::subject::Subject;

const C: &str = "(SELECT id FROM customer WHERE person_id = ?1)";
const UNPAID: &str = "('open', 'overdue', 'collection')";

pub const GROUND_TAX: &str =
    "Art. 17(3)(b) GDPR: legal obligation to keep the administration 7 years (Dutch AWR art. 52)";
pub const GROUND_CLAIM: &str = "Art. 17(3)(e) GDPR: needed for a legal claim (unpaid invoice)";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    pub table: String,
    /// delete, detach (the listed fields become NULL; the row is kept) or keep
    pub action: String,
    pub rows: u64,
    pub fields: Vec<String>,
    pub ground: Option<String>,
    /// Kept until this date; "until settled" for a claim.
    pub until: Option<String>,
    pub why: String,
    #[serde(skip)]
    filter: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub created_at: String,
    pub fingerprint: String,
    pub deleted: u64,
    pub kept: u64,
    pub steps: Vec<Step>,
}

fn step(table: &str, action: &str, filter: String, why: &str) -> Step {
    Step {
        table: table.into(),
        action: action.into(),
        rows: 0,
        fields: Vec::new(),
        ground: None,
        until: None,
        why: why.into(),
        filter,
    }
}

fn keep(mut s: Step, fields: &[&str], ground: &str, until: Option<String>) -> Step {
    s.fields = fields.iter().map(|f| f.to_string()).collect();
    s.ground = Some(ground.into());
    s.until = until;
    s
}

/// The steps for a person, in an order the foreign keys allow.
fn steps(conn: &Connection, s: &Subject) -> rusqlite::Result<Vec<Step>> {
    let tickets = "ticket_id IN (SELECT id FROM ticket WHERE person_id = ?1)";
    let sessions = format!("session_id IN (SELECT id FROM web_session WHERE customer_id IN {C})");
    let own_ips = format!(
        "(SELECT ip FROM ip_event WHERE customer_id IN {C} UNION SELECT ip FROM web_session WHERE customer_id IN {C})"
    );
    let invoices = format!("invoice_id IN (SELECT id FROM invoice WHERE customer_id IN {C})");
    let unpaid_invoices =
        format!("invoice_id IN (SELECT id FROM invoice WHERE customer_id IN {C} AND status IN {UNPAID})");
    let mut out = vec![
        step(
            "unsolicited_data",
            "delete",
            format!("ticket_message_id IN (SELECT id FROM ticket_message WHERE {tickets})"),
            "no ground to keep",
        ),
        step("ticket_message", "delete", tickets.into(), "no ground to keep"),
        step("ticket", "delete", "person_id = ?1".into(), "no ground to keep"),
        step(
            "application_document",
            "delete",
            "application_id IN (SELECT id FROM application WHERE person_id = ?1)".into(),
            "no ground to keep",
        ),
        step("application", "delete", "person_id = ?1".into(), "no ground to keep"),
        step("consent", "delete", "person_id = ?1".into(), "no ground to keep"),
        step("cookie", "delete", "person_id = ?1".into(), "no ground to keep"),
        step("server_log", "delete", sessions.clone(), "log lines of the person's own sessions"),
        step(
            "server_log",
            "delete",
            format!("session_id IS NULL AND ip IN {own_ips}"),
            "anonymous log lines that carry the person's IP addresses",
        ),
        step("web_session", "delete", format!("customer_id IN {C}"), "no ground to keep"),
        step("ip_event", "delete", format!("customer_id IN {C}"), "no ground to keep"),
        step(
            "dunning_event",
            "delete",
            format!("invoice_id IN (SELECT id FROM invoice WHERE customer_id IN {C} AND status NOT IN {UNPAID})"),
            "steps of settled invoices",
        ),
        keep(
            step("dunning_event", "detach", unpaid_invoices, "the history of an open debt, without free-text notes"),
            &["detail"],
            GROUND_CLAIM,
            Some("until settled".into()),
        ),
    ];
    // Paid invoices by fiscal year: each year has its own end of retention.
    let years: Vec<String> = conn
        .prepare_cached(&format!("SELECT DISTINCT substr(issued_at, 1, 4) FROM invoice WHERE customer_id IN {C} AND status NOT IN {UNPAID} ORDER BY 1"))?
        .query_map([s.person_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let latest_year = years.iter().filter_map(|y| y.parse::<i32>().ok()).max();
    out.push(keep(
        step(
            "payment",
            "detach",
            invoices.clone(),
            "payment records the invoices need; the erased payment method is unlinked",
        ),
        &["payment_method_id"],
        GROUND_TAX,
        latest_year.map(|y| format!("{}-12-31", y + 7)),
    ));
    out.push(keep(
        step(
            "invoice",
            "detach",
            format!("customer_id IN {C} AND status IN {UNPAID}"),
            "unpaid: kept for the claim, unlinked from the profile",
        ),
        &["customer_id"],
        GROUND_CLAIM,
        Some("until settled".into()),
    ));
    for y in years.iter().filter(|y| y.len() == 4 && y.chars().all(|c| c.is_ascii_digit())) {
        let until = format!("{}-12-31", y.parse::<i32>().unwrap_or(0) + 7);
        out.push(keep(
            step(
                "invoice",
                "detach",
                format!("customer_id IN {C} AND status NOT IN {UNPAID} AND substr(issued_at, 1, 4) = '{y}'"),
                &format!("invoices of fiscal year {y}, unlinked from the profile"),
            ),
            &["customer_id"],
            GROUND_TAX,
            Some(until),
        ));
    }
    out.push(keep(
        step(
            "quote",
            "detach",
            format!("customer_id IN {C} AND id IN (SELECT quote_id FROM invoice WHERE quote_id IS NOT NULL)"),
            "quotes that kept invoices refer to",
        ),
        &["customer_id"],
        GROUND_TAX,
        latest_year.map(|y| format!("{}-12-31", y + 7)),
    ));
    out.extend([
        step(
            "quote",
            "delete",
            format!("customer_id IN {C} AND id NOT IN (SELECT quote_id FROM invoice WHERE quote_id IS NOT NULL)"),
            "quotes no invoice needs",
        ),
        step("payment_method", "delete", format!("customer_id IN {C}"), "no ground to keep"),
        step("domain", "delete", format!("customer_id IN {C}"), "no ground to keep"),
        step("service", "delete", format!("customer_id IN {C}"), "no ground to keep"),
        step("login_account", "delete", format!("customer_id IN {C}"), "no ground to keep"),
        step("company", "delete", format!("customer_id IN {C}"), "no ground to keep"),
        step("crash_report", "delete", "person_id = ?1".into(), "no ground to keep"),
        step("disclosure", "delete", "person_id = ?1".into(), "no ground to keep"),
        step("supplementary_statement", "delete", "person_id = ?1".into(), "no ground to keep"),
        step("restriction", "delete", "person_id = ?1".into(), "no ground to keep"),
        step(
            "objection",
            "delete",
            "person_id = ?1".into(),
            "no ground to keep; the suppression list remembers a marketing objection",
        ),
        step("decision_review", "delete", "person_id = ?1".into(), "no ground to keep"),
        step("email_address", "delete", "person_id = ?1".into(), "no ground to keep"),
        step("phone_number", "delete", "person_id = ?1".into(), "no ground to keep"),
        step(
            "free_text",
            "delete",
            "request_id IN (SELECT id FROM request WHERE person_id = ?1)".into(),
            "officers' reasons, notes and references about the person's requests; the audit trail keeps a keyed hash",
        ),
        keep(
            step("request", "detach", "person_id = ?1".into(), "the person's requests keep only their keyed pseudonym"),
            &[
                "subject_given",
                "params",
                "outcome",
                "extension_reason",
                "rejection_note",
                "verification_ref",
                "person_id",
            ],
            "Art. 5(2) GDPR: accountability, without personal data",
            None,
        ),
        step("customer", "delete", "person_id = ?1".into(), "no ground to keep"),
        step("person", "delete", "id = ?1".into(), "no ground to keep"),
    ]);
    Ok(out)
}

/// Make the plan for a person: counts and a fingerprint of every row it touches.
pub fn plan(conn: &Connection, s: &Subject, created_at: &str) -> rusqlite::Result<Plan> {
    let mut steps = steps(conn, s)?;
    let mut hash = Sha256::new();
    for st in &mut steps {
        let mut stmt =
            conn.prepare_cached(&format!("SELECT * FROM {} WHERE {} ORDER BY rowid", st.table, st.filter))?;
        let n = stmt.column_count();
        let mut rows = stmt.query([s.person_id])?;
        let mut count = 0;
        hash.update(st.table.as_bytes());
        while let Some(r) = rows.next()? {
            count += 1;
            for i in 0..n {
                match r.get_ref(i)? {
                    ValueRef::Null => hash.update(b"\0n"),
                    ValueRef::Integer(v) => hash.update(v.to_le_bytes()),
                    ValueRef::Real(v) => hash.update(v.to_le_bytes()),
                    ValueRef::Text(t) | ValueRef::Blob(t) => {
                        hash.update((t.len() as u64).to_le_bytes());
                        hash.update(t);
                    }
                }
            }
        }
        st.rows = count;
    }
    steps.retain(|s| s.rows > 0);
    let deleted = steps.iter().filter(|s| s.action == "delete").map(|s| s.rows).sum();
    let kept = steps.iter().filter(|s| s.action != "delete" && s.table != "request").map(|s| s.rows).sum();
    Ok(Plan {
        format_version: 1,
        created_at: created_at.into(),
        fingerprint: hex(&hash.finalize()),
        deleted,
        kept,
        steps,
    })
}

/// Whether two plans would do the same (the stored plan lacks the internal filters).
pub fn same(a: &Plan, b: &Plan) -> bool {
    let key = |s: &Step| {
        (s.table.clone(), s.action.clone(), s.rows, s.fields.clone(), s.ground.clone(), s.until.clone(), s.why.clone())
    };
    a.fingerprint == b.fingerprint && a.steps.iter().map(key).eq(b.steps.iter().map(key))
}

/// Apply a plan in the caller's transaction. The caller has checked it is still current.
pub fn apply(conn: &Connection, s: &Subject, plan: &Plan) -> rusqlite::Result<u64> {
    let mut done = 0;
    let fresh = steps(conn, s)?;
    for st in
        fresh.iter().filter(|f| plan.steps.iter().any(|p| p.table == f.table && p.action == f.action && p.why == f.why))
    {
        done += match st.action.as_str() {
            "delete" => {
                conn.execute(&format!("DELETE FROM {} WHERE {}", st.table, st.filter), params![s.person_id])? as u64
            }
            "detach" => {
                let sets: Vec<String> = st
                    .fields
                    .iter()
                    .map(|f| match f.as_str() {
                        "params" => format!("{f} = '{{}}'"),
                        // An extended deadline keeps a reason (schema CHECK); its text goes.
                        "extension_reason" => format!("{f} = CASE WHEN {f} IS NULL THEN NULL ELSE '(erased)' END"),
                        _ => format!("{f} = NULL"),
                    })
                    .collect();
                conn.execute(
                    &format!("UPDATE {} SET {} WHERE {}", st.table, sets.join(", "), st.filter),
                    params![s.person_id],
                )? as u64
            }
            _ => 0,
        };
    }
    Ok(done)
}
