//! Finding a person: turn an identifier into exactly one data subject, and know which rows of
//! every personal-data table belong to them, and nothing that doesn't.
//!
//! Two rules carry the weight (GDPR Art. 15(4): never disclose another person's data):
//! - an identifier that belongs to more than one person (a shared phone line) is *ambiguous*,
//!   never silently merged;
//! - a server-log line belongs to a person only through one of their authenticated sessions,
//!   never through an IP address alone, because an IP can be shared.

use std::str::FromStr;

use rusqlite::functions::FunctionFlags;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::error::Error;

/// What the officer typed to name a person, already validated and normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum Identifier {
    /// Full Unicode lowercase of the address; no dot or '+' folding.
    Email(String),
    /// Customer number, exact.
    Customer(String),
    /// E.164, e.g. '+31612345678'.
    Phone(String),
    /// Cookie identifier, exact.
    Cookie(String),
}

impl Identifier {
    pub fn email(raw: &str) -> Result<Identifier, Error> {
        Ok(Identifier::Email(normalize_email(raw)?))
    }

    pub fn customer(raw: &str) -> Result<Identifier, Error> {
        let v = raw.trim();
        if v.is_empty() || v.len() > 64 || v.chars().any(char::is_control) {
            return Err(Error::invalid("customer number", "expected a customer number such as V204117"));
        }
        // Stored in capitals (the fixtures, `generate`): `v204117` names the same customer, and the
        // lookup stays an exact match on the unique index.
        Ok(Identifier::Customer(v.to_uppercase()))
    }

    pub fn phone(raw: &str) -> Result<Identifier, Error> {
        Ok(Identifier::Phone(normalize_phone(raw)?))
    }

    pub fn cookie(raw: &str) -> Result<Identifier, Error> {
        let v = raw.trim();
        if v.is_empty() || v.len() > 200 || v.chars().any(char::is_control) {
            return Err(Error::invalid("cookie id", "expected the cookie identifier as stored"));
        }
        Ok(Identifier::Cookie(v.to_owned()))
    }

    /// The kind, for messages that must not repeat the value.
    pub fn kind(&self) -> &'static str {
        match self {
            Identifier::Email(_) => "email address",
            Identifier::Customer(_) => "customer number",
            Identifier::Phone(_) => "phone number",
            Identifier::Cookie(_) => "cookie id",
        }
    }
}

/// Validate an email address and return the form lookups compare: the whole address in
/// Unicode lowercase. The local part is otherwise kept exactly (no dot or '+' folding).
pub fn normalize_email(raw: &str) -> Result<String, Error> {
    let v = raw.trim();
    let bad =
        |why: &str| Error::invalid("email address", format!("{why}; expected an address such as name@example.nl"));
    if v.is_empty() {
        return Err(bad("it is empty"));
    }
    if v.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad("it contains spaces or control characters"));
    }
    if !v.contains('@') {
        return Err(bad("it has no '@'"));
    }
    lettre::Address::from_str(v).map_err(|e| bad(&e.to_string()))?;
    Ok(fold(v))
}

/// Unicode lowercase, the one folding applied to email addresses everywhere.
pub fn fold(s: &str) -> String {
    s.to_lowercase()
}

/// Normalise a phone number to E.164. A national number (leading 0) is taken as Dutch (+31).
pub fn normalize_phone(raw: &str) -> Result<String, Error> {
    let bad =
        || Error::invalid("phone number", "expected E.164 such as +31612345678 or a Dutch number such as 06-12345678");
    let compact: String = raw.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '/')).collect();
    let e164 = if let Some(rest) = compact.strip_prefix("00") {
        format!("+{rest}")
    } else if compact.starts_with('+') {
        compact
    } else if let Some(rest) = compact.strip_prefix('0') {
        format!("+31{rest}")
    } else {
        return Err(bad());
    };
    let digits = &e164[1..];
    if !(7..=15).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) || digits.starts_with('0') {
        return Err(bad());
    }
    Ok(e164)
}

/// SQL functions every dsr connection has: `dsr_fold(text)` is [`fold`], so SQL and Rust fold
/// email addresses the same way.
pub fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        "dsr_fold",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| Ok(ctx.get::<Option<String>>(0)?.map(|s| fold(&s))),
    )
}

/// One data subject in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Subject {
    pub person_id: i64,
    pub customer_id: Option<i64>,
}

/// A person an ambiguous identifier could mean, for the officer to choose from.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub person_id: i64,
    pub customer_number: Option<String>,
    pub name: Option<String>,
    pub roles: Vec<&'static str>,
}

#[derive(Debug, Clone)]
pub enum Resolution {
    Found(Subject),
    Ambiguous(Vec<Candidate>),
    NotFound,
}

/// Resolve an identifier to the people it names.
pub fn resolve(conn: &Connection, id: &Identifier) -> rusqlite::Result<Resolution> {
    let (sql, value) = match id {
        Identifier::Email(v) => {
            ("SELECT DISTINCT person_id FROM email_address WHERE address_norm = ?1 ORDER BY person_id", v)
        }
        Identifier::Customer(v) => ("SELECT person_id FROM customer WHERE customer_number = ?1", v),
        Identifier::Phone(v) => ("SELECT DISTINCT person_id FROM phone_number WHERE number = ?1 ORDER BY person_id", v),
        Identifier::Cookie(v) => ("SELECT person_id FROM cookie WHERE cookie_id = ?1", v),
    };
    let people: Vec<i64> = conn.prepare_cached(sql)?.query_map([value], |r| r.get(0))?.collect::<Result<_, _>>()?;
    match people.as_slice() {
        [] => Ok(Resolution::NotFound),
        [one] => Ok(Resolution::Found(subject(conn, *one)?)),
        many => Ok(Resolution::Ambiguous(many.iter().map(|&p| candidate(conn, p)).collect::<Result<_, _>>()?)),
    }
}

/// The subject for a known person id.
pub fn subject(conn: &Connection, person_id: i64) -> rusqlite::Result<Subject> {
    let customer_id = conn
        .prepare_cached("SELECT id FROM customer WHERE person_id = ?1")?
        .query_row([person_id], |r| r.get(0))
        .optional()?;
    Ok(Subject { person_id, customer_id })
}

fn candidate(conn: &Connection, person_id: i64) -> rusqlite::Result<Candidate> {
    let (name, customer_number): (Option<String>, Option<String>) = conn
        .prepare_cached(
            "SELECT nullif(trim(coalesce(p.given_name, '') || ' ' || coalesce(p.family_name, '')), ''), c.customer_number
             FROM person p LEFT JOIN customer c ON c.person_id = p.id WHERE p.id = ?1",
        )?
        .query_row([person_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(Candidate { person_id, customer_number, name, roles: roles(conn, person_id)? })
}

/// What a person is to the company: customer, applicant, ticket sender, visitor.
pub fn roles(conn: &Connection, person_id: i64) -> rusqlite::Result<Vec<&'static str>> {
    const CHECKS: &[(&str, &str)] = &[
        ("customer", "SELECT EXISTS (SELECT 1 FROM customer WHERE person_id = ?1)"),
        ("applicant", "SELECT EXISTS (SELECT 1 FROM application WHERE person_id = ?1)"),
        ("ticket-sender", "SELECT EXISTS (SELECT 1 FROM ticket WHERE person_id = ?1)"),
        ("visitor", "SELECT EXISTS (SELECT 1 FROM cookie WHERE person_id = ?1)"),
    ];
    let mut out = Vec::new();
    for (role, sql) in CHECKS {
        if conn.prepare_cached(sql)?.query_row([person_id], |r| r.get::<_, bool>(0))? {
            out.push(*role);
        }
    }
    Ok(out)
}

/// Which rows of one table belong to a person: `filter` is a WHERE clause over that table with
/// the person id as `?1`. Every personal-data table of the schema has exactly one scope (a test
/// holds this against the register's category_table).
#[derive(Debug, Clone, Copy)]
pub struct Scope {
    pub table: &'static str,
    pub filter: &'static str,
}

macro_rules! via_customer {
    ($inner:literal) => {
        concat!($inner, " IN (SELECT id FROM customer WHERE person_id = ?1)")
    };
}

pub const SCOPES: &[Scope] = &[
    Scope { table: "person", filter: "id = ?1" },
    Scope { table: "customer", filter: "person_id = ?1" },
    Scope { table: "company", filter: via_customer!("customer_id") },
    Scope { table: "email_address", filter: "person_id = ?1" },
    Scope { table: "phone_number", filter: "person_id = ?1" },
    Scope { table: "login_account", filter: via_customer!("customer_id") },
    Scope { table: "ip_event", filter: via_customer!("customer_id") },
    Scope { table: "web_session", filter: via_customer!("customer_id") },
    Scope {
        table: "server_log",
        filter: "session_id IN (SELECT id FROM web_session WHERE customer_id IN (SELECT id FROM customer WHERE person_id = ?1))",
    },
    Scope { table: "payment_method", filter: via_customer!("customer_id") },
    Scope { table: "quote", filter: via_customer!("customer_id") },
    Scope { table: "invoice", filter: via_customer!("customer_id") },
    Scope {
        table: "payment",
        filter: "invoice_id IN (SELECT id FROM invoice WHERE customer_id IN (SELECT id FROM customer WHERE person_id = ?1))",
    },
    Scope {
        table: "dunning_event",
        filter: "invoice_id IN (SELECT id FROM invoice WHERE customer_id IN (SELECT id FROM customer WHERE person_id = ?1))",
    },
    Scope { table: "service", filter: via_customer!("customer_id") },
    Scope { table: "domain", filter: via_customer!("customer_id") },
    Scope { table: "application", filter: "person_id = ?1" },
    Scope { table: "application_document", filter: "application_id IN (SELECT id FROM application WHERE person_id = ?1)" },
    Scope { table: "cookie", filter: "person_id = ?1" },
    Scope { table: "consent", filter: "person_id = ?1" },
    Scope { table: "crash_report", filter: "person_id = ?1" },
    Scope { table: "ticket", filter: "person_id = ?1" },
    Scope { table: "ticket_message", filter: "ticket_id IN (SELECT id FROM ticket WHERE person_id = ?1)" },
    Scope {
        table: "unsolicited_data",
        filter: "ticket_message_id IN (SELECT id FROM ticket_message WHERE ticket_id IN (SELECT id FROM ticket WHERE person_id = ?1))",
    },
    Scope { table: "disclosure", filter: "person_id = ?1" },
    Scope { table: "supplementary_statement", filter: "person_id = ?1" },
];

/// The scope of one table, if it holds personal data.
pub fn scope(table: &str) -> Option<&'static Scope> {
    SCOPES.iter().find(|s| s.table == table)
}

/// How many rows of `scope.table` belong to the subject.
pub fn count(conn: &Connection, scope: &Scope, subject: &Subject) -> rusqlite::Result<u64> {
    // Table and filter are compile-time constants; only the person id is a value.
    let sql = format!("SELECT count(*) FROM {} WHERE {}", scope.table, scope.filter);
    conn.prepare_cached(&sql)?.query_row(params![subject.person_id], |r| r.get::<_, i64>(0)).map(|n| n as u64)
}

/// The address on file to send a person's code to: the stored address the identifier named
/// (as the person wrote it), else their primary address, else their oldest. Never an address
/// the requester supplies.
pub fn address_on_file(conn: &Connection, person_id: i64, named: Option<&str>) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached(
        "SELECT address FROM email_address WHERE person_id = ?1
         ORDER BY (address_norm = ?2) DESC, is_primary DESC, created_at, id LIMIT 1",
    )?
    .query_row(params![person_id, named.unwrap_or("")], |r| r.get(0))
    .optional()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_folded_whole_but_never_otherwise_changed() {
        assert_eq!(normalize_email("Jan.DeVries@Example.NL").unwrap(), "jan.devries@example.nl");
        assert_eq!(normalize_email(" Zoë.Çelik@Voorbeeld.NL ").unwrap(), "zoë.çelik@voorbeeld.nl");
        assert_eq!(normalize_email("a+b@example.nl").unwrap(), "a+b@example.nl");
        for bad in ["", "plain", "a@", "@example.nl", "a b@example.nl", "a@exa mple.nl", "a@b@c"] {
            assert!(normalize_email(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn phones_become_e164() {
        assert_eq!(normalize_phone("06-12345678").unwrap(), "+31612345678");
        assert_eq!(normalize_phone("+31 6 1234 5678").unwrap(), "+31612345678");
        assert_eq!(normalize_phone("0031 20 123 4567").unwrap(), "+31201234567");
        assert_eq!(normalize_phone("(020) 123 45 67").unwrap(), "+31201234567");
        for bad in ["", "12345", "+0612345678", "06-1234abcd", "+1234567890123456"] {
            assert!(normalize_phone(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn every_personal_data_table_has_exactly_one_scope() {
        let store = crate::store::Store::in_memory().unwrap();
        let tables: Vec<String> = store
            .conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for scope in SCOPES {
            assert!(tables.iter().any(|t| t == scope.table), "scope for unknown table {}", scope.table);
            assert_eq!(SCOPES.iter().filter(|s| s.table == scope.table).count(), 1, "{}", scope.table);
            // Every filter is valid SQL against the schema.
            count(&store.conn, scope, &Subject { person_id: 1, customer_id: None }).unwrap();
        }
        // The webshop's own tables are reached through the data map only (issue 14), not SCOPES.
        for fixture in crate::store::fixture::FIXTURES.iter().filter(|f| f.name != "webshop") {
            let mut store = crate::store::Store::in_memory().unwrap();
            crate::store::fixture::load(&mut store.conn, fixture, crate::clock::Clock::from_env().unwrap(), true)
                .unwrap();
            let mapped: Vec<String> = store
                .conn
                .prepare("SELECT table_name FROM category_table")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let mut scoped: Vec<&str> = SCOPES.iter().map(|s| s.table).collect();
            let mut mapped_sorted: Vec<&str> = mapped.iter().map(String::as_str).collect();
            scoped.sort_unstable();
            mapped_sorted.sort_unstable();
            assert_eq!(scoped, mapped_sorted, "register of {} and scopes disagree", fixture.name);
        }
    }
}
