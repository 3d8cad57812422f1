//! Which named recipients received one person's data (GDPR Art. 15(1)(c), Art. 19), computed
//! from the register's `received_via` and the person's own rows: their payment providers, the
//! registries of their domains, disclosures on record, recipients of purposes they consented to,
//! recipients of purposes that serve every customer, and the collection agency once the automated
//! dunning decision handed one of their invoices over (the `collection` step).

use rusqlite::Connection;
use serde::Serialize;

use crate::register::{Recipient, Register};
use crate::subject::Subject;

#[derive(Debug, Clone, Serialize)]
pub struct PersonRecipient {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub country: String,
    pub outside_eea: bool,
    pub safeguards_en: String,
    pub safeguards_nl: String,
    pub categories: Vec<String>,
    /// Why this person's data went there, e.g. "payment method", "disclosure on 2025-03-02".
    pub because: Vec<String>,
}

fn codes(conn: &Connection, sql: &str, s: &Subject) -> rusqlite::Result<Vec<(String, String)>> {
    conn.prepare_cached(sql)?.query_map([s.person_id], |r| Ok((r.get(0)?, r.get(1)?)))?.collect()
}

pub fn for_person(conn: &Connection, register: &Register, s: &Subject) -> rusqlite::Result<Vec<PersonRecipient>> {
    let mut found: Vec<(String, String)> = Vec::new();
    found.extend(codes(
        conn,
        "SELECT DISTINCT provider, 'payment method (' || kind || ')' FROM payment_method
         WHERE customer_id IN (SELECT id FROM customer WHERE person_id = ?1)",
        s,
    )?);
    found.extend(codes(
        conn,
        "SELECT registry, 'registration of domain ' || name FROM domain
         WHERE customer_id IN (SELECT id FROM customer WHERE person_id = ?1) ORDER BY name",
        s,
    )?);
    found.extend(codes(
        conn,
        "SELECT recipient, 'disclosure on ' || substr(disclosed_at, 1, 10) || ' (' || legal_ground || ')'
         FROM disclosure WHERE person_id = ?1 ORDER BY disclosed_at",
        s,
    )?);
    found.extend(codes(
        conn,
        "SELECT r.code, 'your consent to ' || c.purpose || ' on ' || substr(min(c.recorded_at), 1, 10)
         FROM recipient r JOIN consent c ON c.purpose = r.purpose
         WHERE r.received_via = 'consent' AND c.person_id = ?1 AND c.granted = 1 GROUP BY r.code",
        s,
    )?);
    found.extend(codes(
        conn,
        "SELECT r.code, 'claim handed over at the dunning step collection on ' || substr(min(d.occurred_at), 1, 10)
         FROM recipient r, dunning_event d JOIN invoice i ON i.id = d.invoice_id
         WHERE r.received_via = 'dunning-step' AND d.step = 'collection'
           AND i.customer_id IN (SELECT id FROM customer WHERE person_id = ?1) GROUP BY r.code",
        s,
    )?);
    if s.customer_id.is_some() {
        found.extend(codes(
            conn,
            "SELECT code, 'purpose ' || purpose || ' (all customers)' FROM recipient
             WHERE received_via = 'purpose' AND ?1 IS NOT NULL",
            s,
        )?);
    }
    let mut out: Vec<PersonRecipient> = Vec::new();
    for (code, why) in found {
        if let Some(existing) = out.iter_mut().find(|r| r.code == code) {
            existing.because.push(why);
            continue;
        }
        let Some(r) = register.recipients.iter().find(|r| r.code == code) else {
            continue;
        };
        out.push(from_register(r, why));
    }
    Ok(out)
}

fn from_register(r: &Recipient, why: String) -> PersonRecipient {
    PersonRecipient {
        code: r.code.clone(),
        name: r.name.clone(),
        kind: r.kind.clone(),
        country: r.country.clone(),
        outside_eea: r.outside_eea,
        safeguards_en: r.safeguards_en.clone(),
        safeguards_nl: r.safeguards_nl.clone(),
        categories: r.categories.clone(),
        because: vec![why],
    }
}
