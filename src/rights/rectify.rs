//! The right to rectification (GDPR Art. 16): typed, validated corrections of the data on file,
//! and supplementary statements that complete a category. A change is checked when the request
//! is opened and again when it is applied; an unknown field is an error listing the valid ones.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::error::Error;
use crate::register::Register;
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
        "country" => country_code(value).ok_or_else(|| bad("expected an assigned two-letter ISO 3166 code such as NL")),
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
        "vat" => vat(value).ok_or_else(|| {
            bad("not a valid VAT number for its country (NL: NL + 9 digits + B + 2 digits; DE: DE + 9 digits)")
        }),
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

/// VAT identification numbers of the EU member states (and Northern Ireland) by their VIES formats:
/// prefix, then the shape of the rest (`9` a digit, `A` a letter, `X` a letter or digit; a
/// shape is one alternative of several). Other countries: two letters and 2-12 letters or digits.
const VAT_FORMATS: &[(&str, &[&str])] = &[
    ("AT", &["U99999999"]),
    ("BE", &["9999999999"]),
    ("BG", &["999999999", "9999999999"]),
    ("CY", &["99999999A"]),
    ("CZ", &["99999999", "999999999", "9999999999"]),
    ("DE", &["999999999"]),
    ("DK", &["99999999"]),
    ("EE", &["999999999"]),
    ("EL", &["999999999"]),
    ("ES", &["X9999999X"]),
    ("FI", &["99999999"]),
    ("FR", &["XX999999999"]),
    ("HR", &["99999999999"]),
    ("HU", &["99999999"]),
    ("IE", &["9X99999A", "9999999A", "9999999AA"]),
    ("IT", &["99999999999"]),
    ("LT", &["999999999", "999999999999"]),
    ("LU", &["99999999"]),
    ("LV", &["99999999999"]),
    ("MT", &["99999999"]),
    ("NL", &["999999999B99"]),
    ("PL", &["9999999999"]),
    ("PT", &["999999999"]),
    ("RO", &["99", "999", "9999", "99999", "999999", "9999999", "99999999", "999999999", "9999999999"]),
    ("SE", &["999999999901"]),
    ("SI", &["99999999"]),
    ("SK", &["9999999999"]),
    ("XI", &["999999999", "999999999999", "GD999", "HA999"]),
];

fn shape_matches(shape: &str, value: &str) -> bool {
    shape.len() == value.len()
        && shape.chars().zip(value.chars()).all(|(s, c)| match s {
            '9' => c.is_ascii_digit(),
            'A' => c.is_ascii_uppercase(),
            'X' => c.is_ascii_uppercase() || c.is_ascii_digit(),
            literal => literal == c,
        })
}

/// A VAT number, normalised (upper case, no spaces or dots), checked against its country's format.
pub fn vat(value: &str) -> Option<String> {
    let v: String = value.chars().filter(|c| !c.is_whitespace() && *c != '.').collect::<String>().to_ascii_uppercase();
    let (prefix, rest) = v.split_at_checked(2)?;
    if let Some((_, shapes)) = VAT_FORMATS.iter().find(|(p, _)| *p == prefix) {
        return shapes.iter().any(|s| shape_matches(s, rest)).then_some(v);
    }
    let ok = (2..=12).contains(&rest.len())
        && prefix.chars().all(|c| c.is_ascii_uppercase())
        && rest.chars().all(|c| c.is_ascii_alphanumeric());
    ok.then_some(v)
}

/// The officially assigned ISO 3166-1 alpha-2 country codes.
const ISO_3166: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI \
GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI \
LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF \
PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL \
TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

pub fn country_code(value: &str) -> Option<String> {
    let c = value.trim().to_ascii_uppercase();
    (c.len() == 2 && ISO_3166.split_ascii_whitespace().any(|k| k == c)).then_some(c)
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

/// The register categories a rectification touches (Art. 19): the categories of the tables the
/// changed fields live in, and the categories that supplementary statements complete.
pub fn categories(register: &Register, fields: &[&str], statements: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let tables = fields.iter().map(|f| location(f).2);
    let of_tables = tables.filter_map(|t| register.categories.iter().find(|c| c.tables.iter().any(|x| x == t)));
    for code in of_tables.map(|c| c.code.as_str()).chain(statements.iter().copied()) {
        if !out.iter().any(|x| x == code) {
            out.push(code.to_owned());
        }
    }
    out
}

/// Run a row finder: ?1 is the person; ?2, where the finder uses it, the address named.
fn find_row(conn: &Connection, finder: &str, s: &Subject, named: Option<&str>) -> rusqlite::Result<i64> {
    if finder.contains("?2") {
        conn.query_row(finder, params![s.person_id, named.unwrap_or("")], |r| r.get(0))
    } else {
        conn.query_row(finder, [s.person_id], |r| r.get(0))
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
        let row: Option<i64> = find_row(conn, finder, s, named).optional()?;
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
        let row: i64 = find_row(conn, finder, s, named)?;
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
            ("vat", "DE 123 456 789", "DE123456789"),
            ("vat", "ATU12345678", "ATU12345678"),
            ("vat", "FR1A123456789", "FR1A123456789"),
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
            ("country", "XX"),
            ("vat", "DE123"),
            ("vat", "ATU1234567"),
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
