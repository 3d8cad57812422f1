//! The person's copy in words a person reads (GDPR Art. 12(1), 15(3), CJEU C-487/21): amounts in
//! euros, yes/no instead of 1/0, times in Dutch local time (Europe/Amsterdam), codes translated
//! into English and Dutch (register codes into the register's own names), and no internal record
//! numbers. Used by `index.html` and the terminal answer; data.json, the CSV files and `--json`
//! keep the raw values (cents, codes, UTC) for machines.

use chrono::{DateTime, NaiveDate};
use chrono_tz::Europe::Amsterdam;
use serde_json::Value;

use crate::map::table::{ColumnLabel, ShownAs};
use crate::register::Register;

/// How the person's copy names the time zone it shows.
pub const TIME_NOTE_EN: &str = "Times are Dutch local time (Europe/Amsterdam); amounts are in euros.";
pub const TIME_NOTE_NL: &str = "Tijden zijn Nederlandse tijd (Europe/Amsterdam); bedragen zijn in euro.";

/// `English / Nederlands`.
pub fn bi(en: &str, nl: &str) -> String {
    if en == nl {
        en.to_owned()
    } else {
        format!("{en} / {nl}")
    }
}

/// Internal record numbers that mean nothing to the person: left out of their copy. The cookie
/// identifier (on their own device) and request references (in our letters) are theirs, and stay.
pub fn hidden(column: &str) -> bool {
    column == "id" || (column.ends_with("_id") && !matches!(column, "cookie_id" | "request_id"))
}

/// The heading of a column in the person's copy, where the map gives it none.
fn heading(column: &str) -> String {
    match column {
        "amount_cents" => bi("Amount", "Bedrag"),
        other => super::labels::column(other),
    }
}

/// A stored UTC time (RFC 3339) as Dutch local time, `dd-mm-yyyy hh:mm`.
pub fn local(stamp: &str) -> Option<String> {
    // The format parsed once: a person's copy formats every time of every row.
    static FORMAT: std::sync::LazyLock<Vec<chrono::format::Item<'static>>> =
        std::sync::LazyLock::new(|| chrono::format::StrftimeItems::new("%d-%m-%Y %H:%M").collect());
    let t = DateTime::parse_from_rfc3339(stamp).ok()?;
    Some(t.with_timezone(&Amsterdam).format_with_items(FORMAT.iter()).to_string())
}

/// The Dutch local date of a stored UTC time (or of a plain date).
pub fn local_date(stamp: &str) -> Option<NaiveDate> {
    match DateTime::parse_from_rfc3339(stamp) {
        Ok(t) => Some(t.with_timezone(&Amsterdam).date_naive()),
        Err(_) => NaiveDate::parse_from_str(stamp, "%Y-%m-%d").ok(),
    }
}

/// A date as the Dutch write it: `dd-mm-yyyy`.
pub fn date(d: NaiveDate) -> String {
    d.format("%d-%m-%Y").to_string()
}

/// A stored time or date (or nothing) for the person: local time, or the date.
pub fn when(stamp: Option<&str>) -> String {
    match stamp {
        None => String::new(),
        // Neither a time nor a date without a dash: most text is told apart without parsing.
        Some(s) if !s.contains('-') => s.to_owned(),
        Some(s) => {
            local(s).or_else(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().map(date)).unwrap_or_else(|| s.to_owned())
        }
    }
}

/// Cents as euros the Dutch way: `€ 1.234,56`.
pub fn euros(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let whole = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(c);
    }
    format!("{sign}€ {grouped},{:02}", abs % 100)
}

pub fn yes_no(v: bool) -> &'static str {
    if v {
        "yes / ja"
    } else {
        "no / nee"
    }
}

/// Columns that hold 0/1.
const FLAGS: &[&str] =
    &["is_primary", "newsletter_opt_in", "use_contact", "use_2fa", "use_monitoring", "automated", "granted", "needed"];

/// A code of the schema or of a request, in English and Dutch; `None` for a value it does not know.
pub fn code(column: &str, value: &str) -> Option<String> {
    code_pair(column, value).map(|(en, nl)| bi(en, nl))
}

/// A code as (English, Dutch), for sentences that are written once in each language.
pub fn code_pair<'v>(column: &str, value: &'v str) -> Option<(&'v str, &'v str)> {
    CODES.iter().find(|(c, v, _, _)| *c == column && *v == value).map(|(_, _, en, nl)| (*en, *nl))
}

/// A code translated, or the value itself when it is not a known code.
pub fn code_or(column: &str, value: &str) -> String {
    code(column, value).unwrap_or_else(|| value.to_owned())
}

/// Register codes in the register's own names.
pub struct Names<'r>(pub &'r Register);

impl Names<'_> {
    pub fn recipient(&self, code: &str) -> String {
        self.0.recipients.iter().find(|r| r.code == code).map_or_else(|| code.to_owned(), |r| r.name.clone())
    }
    pub fn purpose(&self, code: &str) -> String {
        self.0.purposes.iter().find(|p| p.code == code).map_or_else(|| code.to_owned(), |p| bi(&p.name_en, &p.name_nl))
    }
    pub fn category(&self, code: &str) -> String {
        self.0.category(code).map_or_else(|| code.to_owned(), |c| bi(&c.name_en, &c.name_nl))
    }
    pub fn decision(&self, code: &str) -> String {
        self.0
            .automated_decisions
            .iter()
            .find(|d| d.code == code)
            .map_or_else(|| code.to_owned(), |d| bi(&d.name_en, &d.name_nl))
    }

    /// Whether a column of a table holds the code of a register recipient (`[[table.recipient]]
    /// column`): the copy names the recipient.
    fn names_recipient(&self, table: &str, column: &str) -> bool {
        self.0.map.table(table).is_some_and(|t| t.recipient.iter().any(|r| r.column.as_deref() == Some(column)))
    }

    /// What the map says of a column in the person's copy (`[[table.label]]`).
    fn label(&self, table: &str, column: &str) -> Option<&ColumnLabel> {
        self.0.map.table(table)?.label.iter().find(|l| l.column == column)
    }

    /// The heading of a table's column in the person's copy: the map's label, else dsr's own
    /// words for the built-in columns, else the name with spaces.
    pub fn heading(&self, table: &str, column: &str) -> String {
        match self.label(table, column) {
            Some(l) => bi(&l.en, &l.nl),
            None => heading(column),
        }
    }

    /// One value of a table's row of the person's data as the person's copy shows it.
    pub fn cell(&self, table: &str, column: &str, v: &Value) -> String {
        // The map's word first; a value that is no whole number (or, for yes-no, not 0 or 1)
        // is shown as it is.
        let whole = match v {
            Value::Number(n) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        match (self.label(table, column).and_then(|l| l.shown_as), whole) {
            (Some(ShownAs::EuroCents), Some(cents)) => return euros(cents),
            (Some(ShownAs::YesNo), Some(b @ (0 | 1))) => return yes_no(b == 1).to_owned(),
            (Some(_), _) if !v.is_null() => return v.as_str().map_or_else(|| v.to_string(), str::to_owned),
            _ => {}
        }
        match v {
            Value::Null => String::new(),
            Value::Bool(b) => yes_no(*b).to_owned(),
            Value::Number(n) if column == "amount_cents" => n.as_i64().map(euros).unwrap_or_else(|| n.to_string()),
            Value::Number(n) if FLAGS.contains(&column) => yes_no(n.as_i64() == Some(1)).to_owned(),
            Value::Number(n) => n.to_string(),
            Value::String(_) if column == "password_hash" => {
                bi("set (a one-way hash; never disclosed)", "ingesteld (een onomkeerbare hash; nooit verstrekt)")
            }
            Value::String(s) => match column {
                _ if self.names_recipient(table, column) => self.recipient(s),
                "purpose" => self.purpose(s),
                "category" => self.category(s),
                "categories" => s.split(',').map(|c| self.category(c.trim())).collect::<Vec<_>>().join("; "),
                _ => code(column, s).unwrap_or_else(|| when(Some(s))),
            },
            Value::Object(o) => {
                let bytes = o.get("bytes").and_then(Value::as_u64).unwrap_or(0);
                match o.get("file").and_then(Value::as_str) {
                    Some(file) => format!("{file} ({bytes} bytes)"),
                    None => format!("{bytes} bytes"),
                }
            }
            Value::Array(_) => v.to_string(),
        }
    }
}

/// Coded reasons an officer can give instead of free text (`request extend --reason`, `object
/// --decide --override --grounds`, `restrict --lift --reason`, `request reject --note`), so the
/// person reads the reason in both languages. Other text is shown as the officer wrote it.
pub const REASONS: &[(&str, &str, &str)] = &[
    ("complexity", "the request is complex (Art. 12(3) GDPR)", "het verzoek is complex (art. 12 lid 3 AVG)"),
    (
        "number-of-requests",
        "we received a large number of requests",
        "we hebben een groot aantal verzoeken ontvangen",
    ),
    (
        "legal-claims",
        "the data are needed to establish, exercise or defend legal claims (Art. 21(1) GDPR)",
        "de gegevens zijn nodig om een rechtsvordering in te stellen, uit te oefenen of te onderbouwen (art. 21 lid 1 AVG)",
    ),
    (
        "network-security",
        "the processing is needed to keep our network and your data secure (recital 49 GDPR)",
        "de verwerking is nodig om ons netwerk en je gegevens te beveiligen (overweging 49 AVG)",
    ),
    (
        "fraud-prevention",
        "the processing is needed to prevent fraud (recital 47 GDPR)",
        "de verwerking is nodig om fraude te voorkomen (overweging 47 AVG)",
    ),
    (
        "accuracy-verified",
        "we checked the data and they are accurate",
        "we hebben de gegevens gecontroleerd en ze zijn juist",
    ),
    ("claim-settled", "the legal claim is settled", "de rechtsvordering is afgehandeld"),
    // Recorded by dsr itself when an objection is decided (the restriction while it was weighed ends).
    ("objection upheld", "your objection was upheld", "je bezwaar is toegewezen"),
    ("objection overridden", "we decided on your objection", "we hebben over je bezwaar besloten"),
];

/// A reason as (English, Dutch): coded reasons in both languages, parts joined by `; ` (an
/// extension given twice) each on their own; free text as written, in both places.
pub fn reason(text: &str) -> (String, String) {
    let (en, nl): (Vec<String>, Vec<String>) = text.split('\n').map(entry).unzip();
    (en.join("; "), nl.join("; "))
}

/// One reason as the officer gave it: English and Dutch free text (`EN ‖ NL`), or codes.
fn entry(text: &str) -> (String, String) {
    if let Some((en, nl)) = text.split_once(BILINGUAL) {
        return (en.trim().to_owned(), nl.trim().to_owned());
    }
    let (en, nl): (Vec<&str>, Vec<&str>) = text
        .split("; ")
        .map(|part| match REASONS.iter().find(|(code, _, _)| *code == part.trim()) {
            Some((_, en, nl)) => (*en, *nl),
            None => (part, part),
        })
        .unzip();
    (en.join("; "), nl.join("; "))
}

/// Between the English and the Dutch text of a free-text reason as it is stored.
pub const BILINGUAL: &str = " ‖ ";

/// A reason as `English / Nederlands`.
pub fn reason_bi(text: &str) -> String {
    let (en, nl) = reason(text);
    bi(&en, &nl)
}

const CODES: &[(&str, &str, &str, &str)] = &[
    // The person's data.
    ("source", "signup", "signed up", "aangemeld"),
    ("source", "application", "job application", "sollicitatie"),
    ("source", "ticket", "support ticket", "supportticket"),
    ("source", "cookie", "cookie on our website", "cookie op onze website"),
    ("source", "import", "imported", "geïmporteerd"),
    ("source", "cookie-banner", "cookie banner", "cookiebanner"),
    ("source", "control-panel", "control panel", "controlepaneel"),
    ("source", "app-settings", "app settings", "app-instellingen"),
    ("source", "dsr", "your rights request", "je verzoek over je rechten"),
    ("status", "active", "active", "actief"),
    ("status", "blocked", "blocked", "geblokkeerd"),
    ("status", "ended", "ended", "beëindigd"),
    ("status", "open", "open", "open"),
    ("status", "accepted", "accepted", "geaccepteerd"),
    ("status", "declined", "declined", "afgewezen"),
    ("status", "expired", "expired", "verlopen"),
    ("status", "paid", "paid", "betaald"),
    ("status", "overdue", "overdue", "achterstallig"),
    ("status", "collection", "with the collection agency", "bij het incassobureau"),
    ("status", "written-off", "written off", "afgeboekt"),
    ("status", "received", "received", "ontvangen"),
    ("status", "interviewing", "interviewing", "in gesprek"),
    ("status", "rejected", "not hired", "afgewezen"),
    ("status", "hired", "hired", "aangenomen"),
    ("status", "withdrawn", "withdrawn", "ingetrokken"),
    ("status", "delivered", "delivered", "bezorgd"),
    ("status", "returned", "returned", "geretourneerd"),
    ("status", "cancelled", "cancelled", "geannuleerd"),
    ("two_factor", "none", "off", "uit"),
    ("two_factor", "sms", "by SMS", "via sms"),
    ("two_factor", "totp", "authenticator app", "authenticator-app"),
    ("event", "login", "login", "inlog"),
    ("event", "login-failed", "failed login", "mislukte inlog"),
    ("event", "change", "change", "wijziging"),
    ("kind", "paypal", "PayPal", "PayPal"),
    ("kind", "card", "credit card", "creditcard"),
    ("kind", "sepa-debit", "direct debit", "automatische incasso"),
    ("kind", "ideal", "iDEAL", "iDEAL"),
    ("method", "ideal", "iDEAL", "iDEAL"),
    ("method", "creditcard", "credit card", "creditcard"),
    ("method", "bancontact", "Bancontact", "Bancontact"),
    ("method", "pay-later", "pay later", "achteraf betalen"),
    ("kind", "cv", "CV", "cv"),
    ("kind", "motivation-letter", "motivation letter", "motivatiebrief"),
    ("kind", "portfolio", "portfolio", "portfolio"),
    ("kind", "assignment", "assignment", "opdracht"),
    ("kind", "email", "email address", "e-mailadres"),
    ("kind", "phone", "phone number", "telefoonnummer"),
    ("kind", "customer", "customer number", "klantnummer"),
    ("step", "reminder", "reminder", "herinnering"),
    ("step", "final-reminder", "final reminder", "laatste herinnering"),
    ("step", "blocked", "services blocked", "diensten geblokkeerd"),
    ("step", "collection", "handed to a collection agency", "overgedragen aan een incassobureau"),
    ("step", "terminated", "services terminated", "diensten beëindigd"),
    ("step", "unblocked", "services unblocked", "blokkade opgeheven"),
    // A message to the company in the person's ticket may be someone else's (a colleague writing in):
    // it is said as received, not as written by the person.
    ("direction", "in", "to us", "aan ons"),
    ("direction", "out", "from us", "van ons"),
    ("channel", "email", "email", "e-mail"),
    ("channel", "letter", "letter", "brief"),
    ("channel", "portal", "customer portal", "klantportaal"),
    ("channel", "phone", "phone", "telefoon"),
    ("channel", "in-person", "in person", "persoonlijk"),
    ("channel", "post", "post", "post"),
    ("channel", "social-media", "social media", "sociale media"),
    ("department", "support", "support", "support"),
    ("department", "billing", "billing", "facturatie"),
    ("department", "sales", "sales", "verkoop"),
    ("department", "abuse", "abuse", "misbruik"),
    // Requests and what the rights changed.
    ("right", "access", "access (Art. 15)", "inzage (art. 15)"),
    ("right", "export", "data portability (Art. 20)", "overdraagbaarheid (art. 20)"),
    ("right", "rectify", "rectification (Art. 16)", "correctie (art. 16)"),
    ("right", "erase", "erasure (Art. 17)", "verwijdering (art. 17)"),
    ("right", "restrict", "restriction (Art. 18)", "beperking (art. 18)"),
    ("right", "object", "objection (Art. 21)", "bezwaar (art. 21)"),
    ("right", "unclear", "not yet clear which right", "nog niet duidelijk welk recht"),
    ("state", "needs-review", "being read: which right you ask", "wordt gelezen: welk recht je vraagt"),
    ("state", "awaiting-verification", "waiting for your confirmation", "wacht op je bevestiging"),
    ("state", "verified", "being handled", "in behandeling"),
    ("state", "completed", "answered", "beantwoord"),
    ("state", "rejected", "refused", "geweigerd"),
    ("state", "expired", "lapsed: not confirmed in time", "vervallen: niet op tijd bevestigd"),
    ("rejection_reason", "unfounded", "manifestly unfounded (Art. 12(5))", "kennelijk ongegrond (art. 12 lid 5)"),
    ("rejection_reason", "excessive", "excessive (Art. 12(5))", "buitensporig (art. 12 lid 5)"),
    ("rejection_reason", "identity-not-confirmed", "identity not confirmed", "identiteit niet bevestigd"),
    ("rejection_reason", "other", "other reason", "andere reden"),
    (
        "ground",
        "accuracy-contested",
        "you contest the accuracy (Art. 18(1)(a))",
        "je betwist de juistheid (art. 18 lid 1 a)",
    ),
    (
        "ground",
        "unlawful",
        "unlawful processing, restricted instead of erased (Art. 18(1)(b))",
        "onrechtmatige verwerking, beperkt in plaats van verwijderd (art. 18 lid 1 b)",
    ),
    (
        "ground",
        "legal-claims",
        "you need the data for legal claims (Art. 18(1)(c))",
        "je hebt de gegevens nodig voor een rechtsvordering (art. 18 lid 1 c)",
    ),
    (
        "ground",
        "objection-pending",
        "your objection is being weighed (Art. 18(1)(d))",
        "je bezwaar wordt beoordeeld (art. 18 lid 1 d)",
    ),
    ("outcome", "stopped", "processing stopped", "verwerking gestopt"),
    ("outcome", "withdrawn", "consent withdrawn", "toestemming ingetrokken"),
    ("outcome", "pending", "being weighed", "wordt beoordeeld"),
    ("outcome", "upheld", "objection upheld: processing stopped", "bezwaar toegewezen: verwerking gestopt"),
    (
        "outcome",
        "overridden",
        "processing continues on compelling grounds",
        "verwerking gaat door op dwingende gronden",
    ),
    (
        "outcome",
        "continues",
        "processing continues (contract or legal obligation)",
        "verwerking gaat door (overeenkomst of wettelijke plicht)",
    ),
    ("outcome", "decision-stands", "the decision stands", "het besluit blijft staan"),
    ("outcome", "decision-reversed", "the decision was reversed", "het besluit is teruggedraaid"),
    ("notification", "to-notify", "still to be told", "moet nog worden geïnformeerd"),
    ("notification", "notified", "told", "geïnformeerd"),
    (
        "reason",
        "direct-marketing",
        "no direct marketing, ever again (Art. 21(3))",
        "nooit meer direct marketing (art. 21 lid 3)",
    ),
    ("reason", "erased", "erased earlier (Art. 17)", "eerder verwijderd (art. 17)"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn euros_times_and_codes_read_the_dutch_way() {
        assert_eq!(euros(1870), "€ 18,70");
        assert_eq!(euros(123456789), "€ 1.234.567,89");
        assert_eq!(euros(-5), "-€ 0,05");
        // Summer time (UTC+2) and winter time (UTC+1).
        assert_eq!(local("2026-07-01T10:00:00Z").unwrap(), "01-07-2026 12:00");
        assert_eq!(local("2026-01-01T23:30:00Z").unwrap(), "02-01-2026 00:30");
        assert_eq!(when(Some("2026-03-02")), "02-03-2026");
        assert_eq!(code_or("step", "blocked"), "services blocked / diensten geblokkeerd");
        assert!(hidden("customer_id") && hidden("id") && !hidden("cookie_id") && !hidden("request_id"));
        assert_eq!(reason("complexity; Extra checks").1, "het verzoek is complex (art. 12 lid 3 AVG); Extra checks");
    }
}
