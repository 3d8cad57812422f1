//! The right to rectification (GDPR Art. 16): typed, validated corrections of the data on file,
//! and supplementary statements that complete a category. A change is checked when the request
//! is opened and again when it is applied; an unknown field is an error listing the valid ones.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::error::Error;
use crate::subject::{self, Subject};

/// Field name, what it is, where it lives.
pub const FIELDS: &[(&str, &str)] = &[
    ("given_name", "given name"),
    ("family_name", "family name (with tussenvoegsel)"),
    ("street", "street"),
    ("house_number", "house number"),
    ("postal_code", "postal code (checked for the country)"),
    ("city", "city"),
    ("country", "country, ISO 3166 code such as NL"),
    ("email", "primary email address"),
    ("phone", "contact phone number, E.164"),
    ("iban", "IBAN of the direct-debit account (checksum verified)"),
    ("account_holder", "name of the account holder"),
    ("company_name", "company name"),
    ("kvk", "KvK number (8 digits)"),
    ("vat", "VAT number, e.g. NL123456789B01"),
];

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Change {
    pub field: String,
    pub value: String,
}

/// One change with the value it replaces.
#[derive(Debug, Clone, Serialize)]
pub struct Planned {
    pub field: String,
    pub old: Option<String>,
    pub new: String,
}

fn valid_fields() -> String {
    FIELDS.iter().map(|(f, _)| *f).collect::<Vec<_>>().join(", ")
}

/// Parse `FIELD=VALUE` and validate the value.
pub fn parse_set(arg: &str, country: Option<&str>) -> Result<Change, Error> {
    let (field, value) = arg
        .split_once('=')
        .ok_or_else(|| Error::invalid("--set", format!("expected FIELD=VALUE; fields: {}", valid_fields())))?;
    let field = field.trim().to_ascii_lowercase();
    if !FIELDS.iter().any(|(f, _)| *f == field) {
        return Err(Error::invalid("--set", format!("unknown field; valid fields: {}", valid_fields())));
    }
    let value = validate(&field, value.trim(), country)?;
    Ok(Change { field, value })
}

/// Validate and normalise a value for a field.
pub fn validate(field: &str, value: &str, country: Option<&str>) -> Result<String, Error> {
    let bad = |why: &str| Error::invalid("--set", format!("{field}: {why}"));
    if value.is_empty() {
        return Err(bad("a value is required"));
    }
    if value.chars().any(char::is_control) || value.chars().count() > 200 {
        return Err(bad("no control characters, at most 200 characters"));
    }
    match field {
        "email" => {
            subject::normalize_email(value).map_err(|_| bad("not a valid email address"))?;
            Ok(value.to_owned())
        }
        "phone" => {
            if !value.starts_with('+') {
                return Err(bad("give it in E.164 form, such as +31612345678"));
            }
            subject::normalize_phone(value).map_err(|_| bad("not a valid E.164 number such as +31612345678"))
        }
        "postal_code" => postal_code(value, country.unwrap_or("NL"))
            .ok_or_else(|| bad("not a valid postal code for the country (NL: 1234 AB; BE: 1234; DE: 12345)")),
        "country" => {
            let c = value.to_ascii_uppercase();
            (c.len() == 2 && c.chars().all(|ch| ch.is_ascii_uppercase()))
                .then_some(c)
                .ok_or_else(|| bad("expected a two-letter ISO 3166 code such as NL"))
        }
        "iban" => {
            use iban::IbanLike;
            let iban: iban::Iban =
                value.parse().map_err(|_| bad("not a valid IBAN (country, check digits and checksum)"))?;
            Ok(iban.electronic_str().to_owned())
        }
        "kvk" => {
            let v: String = value.chars().filter(|c| !c.is_whitespace()).collect();
            (v.len() == 8 && v.chars().all(|c| c.is_ascii_digit()))
                .then_some(v)
                .ok_or_else(|| bad("a KvK number has 8 digits"))
        }
        "vat" => vat(value).ok_or_else(|| bad("not a valid VAT number (NL: NL + 9 digits + B + 2 digits)")),
        "house_number" => (value.chars().next().is_some_and(|c| c.is_ascii_digit()) && value.len() <= 12)
            .then(|| value.to_owned())
            .ok_or_else(|| bad("starts with a digit, e.g. 12 or 12-A")),
        _ => Ok(value.to_owned()),
    }
}

/// Postal code per country, normalised (NL: '1234 AB').
pub fn postal_code(value: &str, country: &str) -> Option<String> {
    let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
    match country {
        "NL" => {
            let (digits, letters) = compact.split_at_checked(4)?;
            let ok = digits.chars().all(|c| c.is_ascii_digit())
                && !digits.starts_with('0')
                && letters.len() == 2
                && letters.chars().all(|c| c.is_ascii_uppercase())
                && !["SA", "SD", "SS"].contains(&letters);
            ok.then(|| format!("{digits} {letters}"))
        }
        "BE" | "LU" | "AT" | "DK" | "CH" => {
            (compact.len() == 4 && compact.chars().all(|c| c.is_ascii_digit())).then_some(compact)
        }
        "DE" | "FR" | "ES" | "IT" | "FI" => {
            (compact.len() == 5 && compact.chars().all(|c| c.is_ascii_digit())).then_some(compact)
        }
        _ => (!compact.is_empty()
            && compact.len() <= 10
            && compact.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .then(|| value.trim().to_owned()),
    }
}

/// VAT numbers: the Dutch form exactly, others by the EU shape (two letters and 2-12 characters).
pub fn vat(value: &str) -> Option<String> {
    let v: String = value.chars().filter(|c| !c.is_whitespace() && *c != '.').collect::<String>().to_ascii_uppercase();
    if let Some(rest) = v.strip_prefix("NL") {
        let ok = rest.len() == 12
            && rest[..9].chars().all(|c| c.is_ascii_digit())
            && &rest[9..10] == "B"
            && rest[10..].chars().all(|c| c.is_ascii_digit());
        return ok.then_some(v);
    }
    let ok = v.len() >= 4
        && v.len() <= 14
        && v[..2].chars().all(|c| c.is_ascii_uppercase())
        && v[2..].chars().all(|c| c.is_ascii_alphanumeric());
    ok.then_some(v)
}

/// Where a field lives for this person: (row finder with ?1 = person id and ?2 = the address the
/// request was opened with, column, table). The email corrected is the address the request named
/// (the one that received the code and receives the notice), else the primary one.
fn location(field: &str) -> (&'static str, &'static str, &'static str) {
    match field {
        "given_name" | "family_name" | "street" | "house_number" | "postal_code" | "city" | "country" => ("SELECT id FROM person WHERE id = ?1", field_column(field), "person"),
        "email" => ("SELECT id FROM email_address WHERE person_id = ?1 ORDER BY (address_norm = ?2) DESC, is_primary DESC, created_at, id LIMIT 1", "address", "email_address"),
        "phone" => ("SELECT id FROM phone_number WHERE person_id = ?1 ORDER BY use_contact DESC, created_at, id LIMIT 1", "number", "phone_number"),
        "iban" | "account_holder" => (
            "SELECT id FROM payment_method WHERE customer_id IN (SELECT id FROM customer WHERE person_id = ?1) AND kind IN ('sepa-debit', 'ideal') ORDER BY created_at DESC, id LIMIT 1",
            field_column(field),
            "payment_method",
        ),
        _ => ("SELECT id FROM company WHERE customer_id IN (SELECT id FROM customer WHERE person_id = ?1) ORDER BY id LIMIT 1", field_column(field), "company"),
    }
}

fn field_column(field: &str) -> &'static str {
    match field {
        "given_name" => "given_name",
        "family_name" => "family_name",
        "street" => "street",
        "house_number" => "house_number",
        "postal_code" => "postal_code",
        "city" => "city",
        "country" => "country",
        "iban" => "iban",
        "account_holder" => "account_holder",
        "company_name" => "name",
        "kvk" => "kvk_number",
        _ => "vat_number",
    }
}

/// Read the current values: old -> new. A field with nothing on file to correct is an error.
pub fn plan(conn: &Connection, s: &Subject, named: Option<&str>, changes: &[Change]) -> anyhow::Result<Vec<Planned>> {
    let mut out = Vec::new();
    for c in changes {
        let (finder, column, table) = location(&c.field);
        let row: Option<i64> = conn.query_row(finder, params![s.person_id, named.unwrap_or("")], |r| r.get(0)).optional()?;
        let Some(row) = row else {
            return Err(Error::RequestState(format!(
                "nothing on file for {} to correct; the person has no {table} record",
                c.field
            ))
            .into());
        };
        let old: Option<String> =
            conn.query_row(&format!("SELECT {column} FROM {table} WHERE id = ?1"), [row], |r| r.get(0))?;
        out.push(Planned { field: c.field.clone(), old, new: c.value.clone() });
    }
    Ok(out)
}

/// Apply the changes, in the caller's transaction.
pub fn apply(conn: &Connection, s: &Subject, named: Option<&str>, changes: &[Change]) -> anyhow::Result<()> {
    for c in changes {
        let (finder, column, table) = location(&c.field);
        let row: i64 = conn.query_row(finder, params![s.person_id, named.unwrap_or("")], |r| r.get(0))?;
        conn.execute(&format!("UPDATE {table} SET {column} = ?2 WHERE id = ?1"), params![row, c.value])?;
        if c.field == "email" {
            conn.execute(
                "UPDATE email_address SET address_norm = ?2 WHERE id = ?1",
                params![row, subject::fold(&c.value)],
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_accepts_good_values_and_refuses_bad_ones() {
        for (field, good, normal) in [
            ("email", "Jan.Nieuw@Example.NL", "Jan.Nieuw@Example.NL"),
            ("phone", "+31 6 1234 5678", "+31612345678"),
            ("postal_code", "1012ab", "1012 AB"),
            ("iban", "NL91 ABNA 0417 1643 00", "NL91ABNA0417164300"),
            ("kvk", "7618 1553", "76181553"),
            ("vat", "nl123456789b01", "NL123456789B01"),
            ("country", "be", "BE"),
            ("house_number", "12-A", "12-A"),
        ] {
            assert_eq!(validate(field, good, None).unwrap(), normal, "{field}");
        }
        for (field, bad) in [
            ("email", "jan@"),
            ("phone", "0612345678"),
            ("phone", "+31 6 abc"),
            ("postal_code", "0123 AB"),
            ("postal_code", "1234 SS"),
            ("postal_code", "12345"),
            ("iban", "NL91ABNA0417164301"),
            ("kvk", "1234567"),
            ("vat", "NL123456789X01"),
            ("country", "NLD"),
            ("given_name", ""),
            ("city", "Utrecht\u{1b}[2J"),
        ] {
            assert!(validate(field, bad, None).is_err(), "{field}={bad} accepted");
        }
        assert_eq!(postal_code("1000", "BE").as_deref(), Some("1000"));
        assert_eq!(postal_code("10115", "DE").as_deref(), Some("10115"));
        assert!(postal_code("1000 AB", "BE").is_none());
    }

    #[test]
    fn unknown_fields_list_the_valid_ones() {
        let e = parse_set("shoe_size=44", None).unwrap_err().to_string();
        assert!(e.contains("given_name") && e.contains("iban"), "{e}");
        assert!(parse_set("no-equals-sign", None).is_err());
        assert_eq!(
            parse_set("City=Amsterdam", None).unwrap(),
            Change { field: "city".into(), value: "Amsterdam".into() }
        );
    }
}
