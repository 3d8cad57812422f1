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
use rusqlite::Connection;

use crate::store::db::{Db, Value};
use serde::Serialize;

use crate::error::Error;
use crate::map::table::IdentifierKind;
use crate::store::personal::DataMap;
pub use crate::store::personal::Scope;

/// What the officer typed to name a person, already validated and normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum Identifier {
    /// The address with its domain in Unicode lowercase ([`normalize_email`]); a map whose
    /// email identifiers compare the local part in any case compares its fold.
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
        // Letters and digits that look like plain ones (fullwidth, Cyrillic, other scripts' digits)
        // would name a second customer: a customer number is plain ASCII.
        if !v.is_ascii() {
            return Err(Error::invalid(
                "customer number",
                "it holds characters other than plain letters, digits and signs (fullwidth, another script's, invisible); write it as on the invoice, such as V204117",
            ));
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

/// Validate an email address and return it with its domain in Unicode lowercase: the local part
/// is kept exactly (no dot or '+' folding), and a map's `local_part = "any-case"` folds it too
/// ([`LocalPart::compared`](crate::map::table::LocalPart::compared)).
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
    if v.chars().any(|c| crate::output::sanitize::acts_on_text(c) || c == '\u{ad}') {
        return Err(bad("it contains invisible characters (a zero-width space, a soft hyphen, a direction mark)"));
    }
    if !v.contains('@') {
        return Err(bad("it has no '@'"));
    }
    // A quoted local part (`"a b"@example.nl`, with its escapes) is valid in RFC 5322, but the
    // mail library refuses it in an envelope, so no letter could ever reach it.
    if v.starts_with('"') || v.contains('\\') {
        return Err(bad("its part before the '@' is quoted or escaped, which dsr cannot send mail to"));
    }
    let address = lettre::Address::from_str(v).map_err(|e| {
        use lettre::address::AddressError as A;
        bad(match e {
            A::InvalidUser => "its part before the '@' is not a valid mailbox name",
            A::InvalidDomain => "its domain is not a valid domain name",
            A::MissingParts => "it lacks the part before or after the '@'",
            A::Unbalanced => "it has an unbalanced angle bracket",
            _ => "it is not a valid address",
        })
    })?;
    // A domain of one label (`a@b`) reaches no one on the internet; an address literal may.
    let domain = address.domain();
    if !domain.contains('.') && !domain.starts_with('[') {
        return Err(bad("its domain has no dot"));
    }
    // A host name's labels are letters, digits and hyphens (RFC 1123): `exa_mple.nl` names no
    // host mail can reach.
    let host = !domain.starts_with('[');
    if host
        && domain.split('.').filter(|l| l.is_ascii()).any(|l| !l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    {
        return Err(bad(
            "its domain has a character no host name has (only letters, digits and hyphens between the dots)",
        ));
    }
    // Mail reads a domain in its IDNA form, which maps fullwidth and other compatibility forms to
    // plain letters: such a spelling would be a second name of one mailbox, compared apart (and
    // past the suppression list of an erased person).
    let other_form = domain.split('.').filter(|l| !l.is_ascii()).any(|label| {
        let (mapped, result) = idna::domain_to_unicode(label);
        result.is_err() || mapped != label.to_lowercase()
    });
    if other_form {
        return Err(bad("its domain is written with characters mail reads as others (fullwidth, compatibility or decomposed forms); write it as typed on a keyboard"));
    }
    if domain
        .split('.')
        .any(|l| l.to_ascii_lowercase().starts_with("xn--") && a_label_decoded(&l.to_ascii_lowercase()).is_none())
    {
        return Err(bad("its domain has a label starting with xn-- that is no valid encoded name"));
    }
    Ok(domain_folded(v))
}

/// Unicode lowercase, the one folding applied to email addresses everywhere.
pub fn fold(s: &str) -> String {
    s.to_lowercase()
}

/// An address with the part after its last `@` (the domain: a quoted local part may hold an
/// `@`, a domain never does) in Unicode lowercase, each label in its ASCII-compatible form
/// (`xn--bcher-kva`) written as the Unicode label it stands for (`bücher`): mail delivers both
/// spellings to one mailbox, so they are one address, compared (and suppressed) as one.
pub fn domain_folded(s: &str) -> String {
    let Some(at) = s.rfind('@') else { return s.to_owned() };
    let domain = fold(&s[at + 1..]);
    if !domain.contains("xn--") {
        return format!("{}@{domain}", &s[..at]);
    }
    let labels: Vec<String> =
        domain.split('.').map(|label| a_label_decoded(label).unwrap_or_else(|| label.to_owned())).collect();
    format!("{}@{}", &s[..at], labels.join("."))
}

/// The Unicode label an ASCII-compatible label (`xn--...`) stands for; `None` for another
/// label, or one that decodes to nothing valid.
fn a_label_decoded(label: &str) -> Option<String> {
    if !label.starts_with("xn--") {
        return None;
    }
    let (decoded, result) = idna::domain_to_unicode(label);
    (result.is_ok() && !decoded.is_empty() && !decoded.contains('.') && !decoded.starts_with("xn--")).then_some(decoded)
}

/// Normalise a phone number to E.164. A national number (leading 0) is taken as Dutch (+31). The
/// trunk prefix some write in an international number (`+31 (0)6 ...`) is left out. A Dutch
/// number has nine digits after +31 (a service number of 08xx or 09xx seven to ten), so a
/// number with its trunk 0 kept or a digit short is refused rather than stored in a form no
/// lookup of the person's number finds.
pub fn normalize_phone(raw: &str) -> Result<String, Error> {
    let bad =
        || Error::invalid("phone number", "expected E.164 such as +31612345678 or a Dutch number such as 06-12345678");
    let raw = raw.trim();
    let international = raw.starts_with('+') || raw.starts_with("00");
    let raw = if international { raw.replacen("(0)", "", 1) } else { raw.to_owned() };
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
    if let Some(national) = digits.strip_prefix("31") {
        let service = national.starts_with('8') || national.starts_with('9');
        let fits = if service { (7..=10).contains(&national.len()) } else { national.len() == 9 };
        if !fits || national.starts_with('0') {
            return Err(bad());
        }
    }
    Ok(e164)
}

/// SQL functions every dsr connection has: `dsr_fold(text)` is [`fold`] and `dsr_email(text)`
/// is [`domain_folded`], so SQL and Rust give email addresses the same forms.
pub fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("dsr_fold", 1, flags, |ctx| Ok(ctx.get::<Option<String>>(0)?.map(|s| fold(&s))))?;
    conn.create_scalar_function("dsr_email", 1, flags, |ctx| {
        Ok(ctx.get::<Option<String>>(0)?.map(|s| domain_folded(&s)))
    })
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
    pub roles: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum Resolution {
    Found(Subject),
    Ambiguous(Vec<Candidate>),
    NotFound,
}

impl Identifier {
    /// The map's kind of identifier and the normalised value lookups compare.
    fn mapped(&self) -> (IdentifierKind, &str) {
        match self {
            Identifier::Email(v) => (IdentifierKind::Email, v),
            Identifier::Customer(v) => (IdentifierKind::CustomerNumber, v),
            Identifier::Phone(v) => (IdentifierKind::Phone, v),
            Identifier::Cookie(v) => (IdentifierKind::Cookie, v),
        }
    }
}

/// Resolve an identifier to the people it names, through the identifier columns of the map.
pub fn resolve(db: &dyn Db, id: &Identifier) -> anyhow::Result<Resolution> {
    let map = DataMap::load(db)?;
    let (kind, value) = id.mapped();
    let compared = match kind {
        IdentifierKind::Email => map.email_rule().compared(value),
        _ => std::borrow::Cow::Borrowed(value),
    };
    let people = map.people_with(db, kind, &compared)?;
    match people.as_slice() {
        [] => Ok(Resolution::NotFound),
        [one] => Ok(Resolution::Found(subject_in(db, &map, *one)?)),
        many => Ok(Resolution::Ambiguous(many.iter().map(|&p| candidate(db, &map, p)).collect::<Result<_, _>>()?)),
    }
}

/// The subject for a known person id.
pub fn subject(db: &dyn Db, person_id: i64) -> anyhow::Result<Subject> {
    subject_in(db, &*DataMap::load(db)?, person_id)
}

fn subject_in(db: &dyn Db, map: &DataMap, person_id: i64) -> anyhow::Result<Subject> {
    Ok(Subject { person_id, customer_id: map.contract_of(db, person_id)? })
}

fn candidate(db: &dyn Db, map: &DataMap, person_id: i64) -> anyhow::Result<Candidate> {
    let customer_number = map.identifier_of(db, IdentifierKind::CustomerNumber, person_id)?;
    Ok(Candidate {
        person_id,
        customer_number,
        name: map.name_of(db, person_id)?,
        roles: roles_in(db, map, person_id)?,
    })
}

/// What a person is to the company: the roles of the map's tables they have rows in
/// (customer, applicant, ticket sender, visitor, ...).
pub fn roles(db: &dyn Db, person_id: i64) -> anyhow::Result<Vec<String>> {
    roles_in(db, &*DataMap::load(db)?, person_id)
}

fn roles_in(db: &dyn Db, map: &DataMap, person_id: i64) -> anyhow::Result<Vec<String>> {
    roles_counted(db, map, person_id, |_| None)
}

/// The roles, where `counted` already knows, for some tables, how many of the person's rows they
/// hold (an access answer has counted them): only the tables it does not know are looked at.
pub fn roles_counted(
    db: &dyn Db,
    map: &DataMap,
    person_id: i64,
    counted: impl Fn(&str) -> Option<u64>,
) -> anyhow::Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for t in &map.tables {
        let Some(role) = &t.role else { continue };
        if out.contains(role) {
            continue;
        }
        let has = match counted(&t.name) {
            Some(n) => n > 0,
            None => map.has_rows(db, &t.name, person_id)?,
        };
        if has {
            out.push(role.clone());
        }
    }
    Ok(out)
}

/// How many rows of `scope.table` belong to the subject.
pub fn count(db: &dyn Db, scope: &Scope, subject: &Subject) -> anyhow::Result<u64> {
    // Table and filter come from the checked map; only the person id is a value.
    let sql = format!("SELECT count(*) FROM {} WHERE {}", scope.from, scope.filter);
    Ok(db.first(&sql, &[Value::Integer(subject.person_id)], |r| r.get::<i64>(0))?.unwrap_or(0) as u64)
}

/// The address on file to send a person's code to: the stored address the identifier named
/// (as the person wrote it), else their preferred address (the map's order). Never an address
/// the requester supplies.
pub fn address_on_file(conn: &dyn Db, person_id: i64, named: Option<&str>) -> anyhow::Result<Option<String>> {
    DataMap::load(conn)?.address_on_file(conn, person_id, named)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_has_its_domain_folded_and_is_never_otherwise_changed() {
        assert_eq!(normalize_email("Jan.DeVries@Example.NL").unwrap(), "Jan.DeVries@example.nl");
        assert_eq!(normalize_email(" Zoë.Çelik@Voorbeeld.NL ").unwrap(), "Zoë.Çelik@voorbeeld.nl");
        assert_eq!(normalize_email("a+b@example.nl").unwrap(), "a+b@example.nl");
        // Quoted or escaped local parts are valid RFC 5322, but no letter could be sent to them.
        for quoted in ["\"A@B\"@Example.NL", "\"a\\\"b\"@example.com", "\"k\\d\"@example.org"] {
            assert!(normalize_email(quoted).is_err_and(|e| e.to_string().contains("quoted or escaped")), "{quoted}");
        }
        use crate::map::table::LocalPart;
        assert_eq!(LocalPart::AnyCase.compared("Jan.DeVries@example.nl"), "jan.devries@example.nl");
        assert_eq!(LocalPart::Exact.compared("Jan.DeVries@example.nl"), "Jan.DeVries@example.nl");
        for bad in [
            "",
            "plain",
            "a@",
            "@example.nl",
            "a b@example.nl",
            "a@exa mple.nl",
            "a@b@c",
            "a@b",
            "jan@localhost",
            "a@exa_mple.nl",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?} accepted");
        }
        // Second spellings of one mailbox: invisible characters, and a domain in forms IDNA maps
        // to plain letters. A domain in Unicode as it is meant, in any case, is an address.
        for other in [
            "sanne@exa\u{200b}mple.nl",
            "sanne@exam\u{ad}ple.nl",
            "sanne@\u{ff45}xample.nl",
            "san\u{ad}ne@example.nl",
            "sanne\u{202e}@example.nl",
        ] {
            assert!(normalize_email(other).is_err(), "{other:?} accepted");
        }
        assert_eq!(normalize_email("Jan@Bücher.NL").unwrap(), "Jan@bücher.nl");
        assert_eq!(normalize_email("Jan@BÜCHER.nl").unwrap(), "Jan@bücher.nl");
        // The encoded spelling of a domain is the same mailbox, compared as one.
        assert_eq!(normalize_email("jan@xn--bcher-kva.nl").unwrap(), "jan@bücher.nl");
        assert_eq!(normalize_email("jan@XN--BCHER-KVA.NL").unwrap(), "jan@bücher.nl");
        assert_eq!(domain_folded("Jan@mail.XN--BCHER-KVA.nl"), "Jan@mail.bücher.nl");
        assert_eq!(normalize_email("jan@xn--n3h.example").unwrap(), "jan@☃.example");
        for bad in ["jan@xn--a.nl", "jan@xn--ab-.nl", "jan@xn--xn--bcher-kva-.nl"] {
            assert!(normalize_email(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Identifier::customer("\u{ff26}\u{ff2f}-100001").is_err(), "fullwidth FO");
        assert!(Identifier::customer("FO-100001").is_ok());
    }

    #[test]
    fn phones_become_e164() {
        assert_eq!(normalize_phone("06-12345678").unwrap(), "+31612345678");
        assert_eq!(normalize_phone("+31 6 1234 5678").unwrap(), "+31612345678");
        assert_eq!(normalize_phone("0031 20 123 4567").unwrap(), "+31201234567");
        assert_eq!(normalize_phone("(020) 123 45 67").unwrap(), "+31201234567");
        assert_eq!(normalize_phone("+31 (0)6 2244 6688").unwrap(), "+31622446688");
        assert_eq!(normalize_phone("0800-1234").unwrap(), "+318001234");
        assert_eq!(normalize_phone("+44 20 7946 0958").unwrap(), "+442079460958");
        for bad in
            ["", "12345", "+0612345678", "06-1234abcd", "+1234567890123456", "0612345", "+310622446688", "06-123456789"]
        {
            assert!(normalize_phone(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn every_table_of_each_company_reaches_a_person() {
        for fixture in crate::store::fixture::FIXTURES {
            let mut store = crate::store::Store::in_memory().unwrap();
            crate::store::fixture::load(&mut store.conn, fixture, crate::clock::Clock::from_env().unwrap(), true)
                .unwrap();
            let map = DataMap::load(&store.conn).unwrap();
            let register = crate::register::Register::load(&store.conn).unwrap();
            for c in &register.categories {
                for t in &c.tables {
                    let scope = map.scope(t).unwrap_or_else(|| panic!("{}: {t} reaches no person", fixture.name));
                    count(&store.conn, &scope, &Subject { person_id: 1, customer_id: None }).unwrap();
                }
            }
        }
    }
}
