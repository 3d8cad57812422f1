//! Whole-file checks of a parsed company file: every code that another key names exists,
//! codes are unique, values lie in the sets the store accepts, every recipient is named, every
//! category serves a purpose, the rights of Art. 15-18 and 20-22 are told, and the purposes the
//! engine relies on exist. All problems are listed, one each, named by key path
//! (`purpose[2].legal_basis`, counted from 0 as serde does).

use std::collections::HashSet;

use super::{CompanyFile, Problem};

const PROVENANCE: &[&str] = &["provided", "observed", "derived"];
const KIND: &[&str] = &["processor", "controller", "authority", "registry", "group-company"];
const RECEIVED_VIA: &[&str] =
    &["payment-method", "domain", "disclosure", "consent", "purpose", "dunning-step", "table-row"];
const STARTS_AT: &[&str] = &[
    "event",
    "contract-end",
    "fiscal-year-end",
    "decision-not-hired",
    "ticket-closed",
    "consent-withdrawn",
    "last-seen",
];
/// The longest retention period a rule may give: a hundred years.
const MAX_PERIOD_MONTHS: i64 = 1200;
const SET_BY: &[&str] = &["policy", "law", "fixture"];
const STEP: &[&str] = &["reminder", "final-reminder", "blocked", "collection", "terminated"];

/// The rights every answer tells (Art. 13(2)(b) and (f), Art. 15(1)(e)), by article. Art. 19 is
/// the controller's duty to notify recipients, told with rectification and erasure, not a right
/// of its own a company must list.
const RIGHTS: &[(u32, &str)] = &[
    (15, "access"),
    (16, "rectification"),
    (17, "erasure"),
    (18, "restriction"),
    (20, "portability"),
    (21, "objection"),
    (22, "automated decisions"),
];

/// Purposes the engine names: a restriction never blocks storage and legal claims (Art. 18(2),
/// `ALWAYS_UNDER_RESTRICTION` in src/check.rs), so `dsr check` must know them.
const ENGINE_PURPOSES: &[(&str, &str)] = &[
    ("storage", "a restriction still allows storage (Art. 18(2)) and `dsr check --purpose storage` asks for it"),
    (
        "legal-claims",
        "a restriction still allows legal claims (Art. 18(2)) and `dsr check --purpose legal-claims` asks for it",
    ),
];

/// The countries of the European Economic Area (the EU, Iceland, Liechtenstein, Norway), by their
/// ISO 3166-1 codes.
const EEA: &[&str] = &[
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT",
    "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
];

/// Keys whose text is told to the person in one form (an article, an authority, a reason):
/// never empty where they are given.
const REQUIRED_WORDS: &[&str] =
    &["article", "justification", "label", "because", "complaint_authority", "complaint_url", "policy_version"];

/// Every person-facing text comes in Dutch and English (`x_en` beside `x_nl`): one of a pair left
/// blank while the other is written is named, wherever in the file it is.
fn paired_texts(c: &mut Checker, v: &serde_json::Value, path: &str) {
    use serde_json::Value;
    match v {
        Value::Object(fields) => {
            for (key, value) in fields {
                let at = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                // One of a pair given, the other left out (an optional text such as a label).
                let other = match (key.strip_suffix("_en"), key.strip_suffix("_nl")) {
                    (Some(base), _) => Some(format!("{base}_nl")),
                    (_, Some(base)) => Some(format!("{base}_en")),
                    _ => None,
                };
                // (The letters' signature has a check of its own, with its own words.)
                if let (Some(other), Value::String(text)) = (other.filter(|_| path != "letters"), value) {
                    if !text.trim().is_empty() && !fields.contains_key(&other) {
                        let at_other = format!("{}{other}", at.strip_suffix(key.as_str()).unwrap_or_default());
                        c.say(at_other, "is missing while its other language is written: a person-facing text is told in Dutch and English".into());
                    }
                }
                if let (Some(base), Value::String(en)) = (key.strip_suffix("_en"), value) {
                    if let Some(Value::String(nl)) = fields.get(&format!("{base}_nl")) {
                        let blank = match (en.trim().is_empty(), nl.trim().is_empty()) {
                            (true, false) => Some(at.clone()),
                            (false, true) => Some(format!("{}_nl", at.strip_suffix("_en").unwrap_or(&at))),
                            _ => None,
                        };
                        if let Some(key) = blank {
                            c.say(key, "is empty while its other language is written: a person-facing text is told in Dutch and English".into());
                        }
                        if en.trim().is_empty() && nl.trim().is_empty() && path != "letters" {
                            c.say(at.clone(), format!("and {base}_nl are empty: a person is told this text, in Dutch and English (an optional text is left out, not written empty)"));
                        }
                    }
                }
                // Texts told to the person or naming the law that have no second language.
                if let (true, Value::String(text)) = (REQUIRED_WORDS.contains(&key.as_str()), value) {
                    if text.trim().is_empty() {
                        c.say(at.clone(), "is empty: write what the person is to be told".into());
                    }
                }
                paired_texts(c, value, &at);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                paired_texts(c, item, &format!("{path}[{i}]"));
            }
        }
        _ => {}
    }
}

/// The number of the article a right cites: the first number in `Art. 16 GDPR`.
fn article_number(article: &str) -> Option<u32> {
    let digits: String =
        article.chars().skip_while(|c| !c.is_ascii_digit()).take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn say(&mut self, key: String, what: String) {
        self.problems.push(Problem { line: None, key, what });
    }

    fn one_of(&mut self, key: String, value: &str, allowed: &[&str]) {
        if !allowed.contains(&value) {
            self.say(key, format!("{value:?} is not one of: {}", allowed.join(", ")));
        }
    }

    fn known(&mut self, key: String, value: &str, codes: &HashSet<&str>, section: &str) {
        if !codes.contains(value) {
            self.say(key, format!("{value:?} is not the code of a [[{section}]]"));
        }
    }

    /// The set of codes of a section, each duplicate named.
    fn codes<'a>(&mut self, section: &str, codes: impl Iterator<Item = &'a str>) -> HashSet<&'a str> {
        let mut seen = HashSet::new();
        for (i, code) in codes.enumerate() {
            if code.trim().is_empty() {
                self.say(format!("{section}[{i}].code"), "is empty".into());
            } else if !seen.insert(code) {
                self.say(format!("{section}[{i}].code"), format!("{code:?} is used twice"));
            }
        }
        seen
    }
}

pub fn check(f: &CompanyFile) -> Vec<Problem> {
    let mut c = Checker { problems: Vec::new() };
    if f.format_version != super::FORMAT_VERSION {
        c.say(
            "format_version".into(),
            format!("{} is not a version this dsr reads ({})", f.format_version, super::FORMAT_VERSION),
        );
    }
    if f.company.trim().is_empty() {
        c.say("company".into(), "is empty".into());
    }
    if f.controller.name.trim().is_empty() {
        c.say(
            "controller.name".into(),
            "is empty: every letter and answer names the controller (Art. 13(1)(a) GDPR)".into(),
        );
    }
    let url = f.controller.complaint_url.trim();
    let web = url.is_empty() || url.starts_with("https://") || url.starts_with("http://");
    if !web || url.contains(char::is_whitespace) {
        c.say(
            "controller.complaint_url".into(),
            "is not a web address (https://...): the person is told where to complain (Art. 77 GDPR)".into(),
        );
    }
    if crate::subject::normalize_email(&f.controller.privacy_email).is_err() {
        c.say(
            "controller.privacy_email".into(),
            "is not an email address: rights requests go to it and dsr's letters come from it".into(),
        );
    }
    paired_texts(&mut c, &serde_json::to_value(f).unwrap_or_default(), "");
    let bases = c.codes("legal_basis", f.legal_basis.iter().map(|b| b.code.as_str()));
    for (i, b) in f.legal_basis.iter().enumerate() {
        if let (Some(kind), Some(named)) = (b.kind, super::BasisKind::named(&b.code)) {
            if kind != named {
                c.say(
                    format!("legal_basis[{i}].kind"),
                    format!(
                        "{:?} is the name of the basis {:?}, not {:?}: use another code or leave kind out",
                        b.code,
                        named.name(),
                        kind.name()
                    ),
                );
            }
        }
        if b.meaning().is_none() {
            let names: Vec<&str> = super::BasisKind::ALL.iter().map(|k| k.name()).collect();
            c.say(
                format!("legal_basis[{i}].kind"),
                format!(
                    "say which basis of Art. 6(1) GDPR {:?} is, with kind = one of: {} (dsr acts on it: a withdrawal of consent, an objection)",
                    b.code,
                    names.join(", ")
                ),
            );
        }
    }
    let purposes = c.codes("purpose", f.purpose.iter().map(|p| p.code.as_str()));
    let categories = c.codes("category", f.category.iter().map(|x| x.code.as_str()));
    c.codes("recipient", f.recipient.iter().map(|r| r.code.as_str()));
    c.codes("retention", f.retention.iter().map(|r| r.code.as_str()));
    c.codes("automated_decision", f.automated_decision.iter().map(|d| d.code.as_str()));
    c.codes("right", f.right.iter().map(|r| r.code.as_str()));
    for (code, why) in ENGINE_PURPOSES {
        if !purposes.contains(code) {
            c.say("purpose".into(), format!("missing the purpose {code:?}: {why}"));
        }
    }
    let told: HashSet<u32> = f.right.iter().filter_map(|r| article_number(&r.article)).collect();
    for (article, right) in RIGHTS {
        if !told.contains(article) {
            c.say(
                "right".into(),
                format!("missing the right of {right} (Art. {article} GDPR): add a [[right]] with article = \"Art. {article} GDPR\""),
            );
        }
    }
    for (i, p) in f.purpose.iter().enumerate() {
        c.known(format!("purpose[{i}].legal_basis"), &p.legal_basis, &bases, "legal_basis");
        let meaning = f.legal_basis.iter().find(|b| b.code == p.legal_basis).and_then(|b| b.meaning());
        if meaning == Some(super::BasisKind::Consent) && p.withdraw_how_en.is_none() && p.withdraw_how_nl.is_none() {
            c.say(
                format!("purpose[{i}].withdraw_how_en"),
                format!("{:?} rests on consent: say how the person withdraws it (Art. 7(3), 13(2)(c) GDPR) in withdraw_how_en and withdraw_how_nl", p.code),
            );
        }
        if meaning == Some(super::BasisKind::LegitimateInterest)
            && p.legitimate_interest_en.is_none()
            && p.legitimate_interest_nl.is_none()
        {
            c.say(
                format!("purpose[{i}].legitimate_interest_en"),
                format!("{:?} rests on a legitimate interest: say which, in legitimate_interest_en and legitimate_interest_nl (Art. 13(1)(d) GDPR)", p.code),
            );
        }
        if p.withdraw_how_en.is_some() != p.withdraw_how_nl.is_some() {
            c.say(format!("purpose[{i}].withdraw_how_nl"), "withdraw_how needs both _en and _nl".into());
        }
        if p.legitimate_interest_en.is_some() != p.legitimate_interest_nl.is_some() {
            c.say(format!("purpose[{i}].legitimate_interest_nl"), "legitimate_interest needs both _en and _nl".into());
        }
    }
    let tables: HashSet<&str> = f.table.iter().map(|t| t.name.as_str()).collect();
    for (i, cat) in f.category.iter().enumerate() {
        c.one_of(format!("category[{i}].provenance"), &cat.provenance, PROVENANCE);
        if cat.purposes.iter().all(|p| p.trim().is_empty()) {
            c.say(
                format!("category[{i}].purposes"),
                format!(
                    "category {:?} serves no purpose: name at least one [[purpose]] code (Art. 30(1)(b))",
                    cat.code
                ),
            );
        }
        for (j, p) in cat.purposes.iter().enumerate() {
            c.known(format!("category[{i}].purposes[{j}]"), p, &purposes, "purpose");
        }
        // Art. 13(2)(a), 15(1)(d): the person is told how long each category held is kept.
        let held = f.table.iter().find(|t| t.categories().contains(&cat.code.as_str()));
        if let Some(t) = held.filter(|_| !f.retention.iter().any(|r| r.category == cat.code)) {
            c.say(
                format!("category[{i}]"),
                format!(
                    "category {:?} is held (table {}) but no [[retention]] rule names it, so no answer says how long it is kept (Art. 13(2)(a), 15(1)(d)): add a rule",
                    cat.code, t.name
                ),
            );
        }
    }
    for (i, r) in f.recipient.iter().enumerate() {
        if r.name.trim().is_empty() {
            c.say(
                format!("recipient[{i}].name"),
                "is empty: a person is told each recipient by name (Art. 15(1)(c), CJEU C-154/21)".into(),
            );
        }
        c.one_of(format!("recipient[{i}].kind"), &r.kind, KIND);
        c.one_of(format!("recipient[{i}].received_via"), &r.received_via, RECEIVED_VIA);
        let assigned = crate::rights::rectify::validate::country_code(&r.country).is_some_and(|c| c == r.country);
        if !assigned {
            c.say(
                format!("recipient[{i}].country"),
                format!("{:?} is not an assigned ISO 3166-1 alpha-2 code (in capitals, such as NL or US)", r.country),
            );
        } else if !r.outside_eea && !EEA.contains(&r.country.as_str()) {
            c.say(
                format!("recipient[{i}].outside_eea"),
                format!("{:?} is outside the EEA: set outside_eea = true and name the transfer's safeguards (Art. 15(2), 46 GDPR)", r.country),
            );
        }
        if r.outside_eea && r.safeguards_en.trim().is_empty() {
            c.say(
                format!("recipient[{i}].safeguards_en"),
                "a recipient outside the EEA needs the transfer's safeguards (an adequacy decision, standard contractual clauses; Art. 13(1)(f), 15(2) GDPR) in safeguards_en and safeguards_nl".into(),
            );
        }
        let needs_purpose = matches!(r.received_via.as_str(), "consent" | "purpose");
        match &r.purpose {
            Some(p) => {
                c.known(format!("recipient[{i}].purpose"), p, &purposes, "purpose");
                if !needs_purpose {
                    c.say(
                        format!("recipient[{i}].purpose"),
                        "only a recipient received_via consent or purpose names a purpose".into(),
                    );
                }
            }
            None if needs_purpose => c.say(
                format!("recipient[{i}].purpose"),
                format!("missing: received_via {:?} needs the purpose it follows", r.received_via),
            ),
            None => {}
        }
        for (j, cat) in r.categories.iter().enumerate() {
            c.known(format!("recipient[{i}].categories[{j}]"), cat, &categories, "category");
        }
    }
    for (i, r) in f.retention.iter().enumerate() {
        c.known(format!("retention[{i}].category"), &r.category, &categories, "category");
        if !tables.contains(r.table.as_str()) {
            c.say(format!("retention[{i}].table"), format!("{:?} is not a [[table]] of the data map", r.table));
        }
        if r.period_months < 0 {
            c.say(format!("retention[{i}].period_months"), "is negative".into());
        } else if r.period_months > MAX_PERIOD_MONTHS {
            c.say(
                format!("retention[{i}].period_months"),
                format!(
                    "is more than {MAX_PERIOD_MONTHS} months (100 years): keep data that long by leaving out the rule"
                ),
            );
        }
        c.one_of(format!("retention[{i}].starts_at"), &r.starts_at, STARTS_AT);
        c.one_of(format!("retention[{i}].set_by"), &r.set_by, SET_BY);
    }
    for (i, d) in f.automated_decision.iter().enumerate() {
        c.known(format!("automated_decision[{i}].purpose"), &d.purpose, &purposes, "purpose");
        let mut numbers = HashSet::new();
        for (j, s) in d.step.iter().enumerate() {
            c.one_of(format!("automated_decision[{i}].step[{j}].step"), &s.step, STEP);
            if !numbers.insert(s.step_no) {
                c.say(format!("automated_decision[{i}].step[{j}].step_no"), format!("{} is used twice", s.step_no));
            }
        }
    }
    super::check_map::check(f, &categories, &purposes, &mut c.problems);
    c.problems
}
