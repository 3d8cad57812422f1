//! Templates into letters, and templates checked before they are stored. A letter is one
//! template per language (minijinja: strict about undefined variables, no escaping, so a stored
//! value prints as it is and is never read as template syntax), in the languages the company
//! chose: both, Dutch first, under "(English below)" as before templates existed; or one.
//! What every letter shares comes from the register: the controller's name and contact, the
//! signature block, and in an answer the complaint and court routes (Art. 12(4), 77, 79).

use std::collections::BTreeMap;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde_json::Value;

use super::kinds::{self, Kind};
use super::settings::{Languages, Settings};
use crate::register::Controller;

/// The line between the Dutch and the English half.
const BETWEEN: &str = "\n----------------------------------------\n\n";

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // A block tag alone on its line leaves no line behind; the file's last newline stays.
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env
}

/// The template in use for a file name: the company's, or the shipped one.
fn source<'a>(settings: &'a Settings, file: &str) -> &'a str {
    settings.templates.get(file).map(String::as_str).or_else(|| kinds::shipped(file)).unwrap_or_default()
}

/// Who writes, closing each half: an extra text of the company's, then the controller's name,
/// address, KvK number and privacy contact (Art. 13(1)(a), 12(1)); a field the register leaves
/// empty is left out.
pub fn signature(c: &Controller, lang: &str) -> String {
    let nl = lang == "nl";
    let extra = if nl { &c.letters.signature_nl } else { &c.letters.signature_en };
    let mut s =
        extra.as_deref().filter(|e| !e.trim().is_empty()).map(|e| format!("{}\n", e.trim_end())).unwrap_or_default();
    s.push_str(&c.name);
    if let Some(a) = c.address.as_deref().filter(|a| !a.trim().is_empty()) {
        s.push_str(&if nl { format!("\nAdres: {a}") } else { format!("\nAddress: {a}") });
    }
    if let Some(k) = c.kvk_number.as_deref().filter(|k| !k.trim().is_empty()) {
        s.push_str(&if nl { format!("\nKvK-nummer: {k}") } else { format!("\nChamber of Commerce (KvK) number: {k}") });
    }
    s.push_str(&if nl {
        format!("\nPrivacycontact: {}", c.privacy_email)
    } else {
        format!("\nPrivacy contact: {}", c.privacy_email)
    });
    s
}

/// The variables every letter of `kind` has in `lang`, from the register.
fn shared(c: &Controller, kind: &Kind, lang: &str) -> Value {
    let mut v = serde_json::json!({
        "controller": c.name,
        "contact": c.privacy_email,
        "signature": signature(c, lang),
    });
    if kind.frame {
        let (auth, url) = (&c.complaint_authority, &c.complaint_url);
        if lang == "nl" {
            v["complaint"] = format!("Je kunt een klacht indienen bij de {auth} ({url}).").into();
            v["court"] = format!(
                "{} Een verzoekschrift aan de rechtbank dien je in binnen zes weken na ontvangst van deze brief (art. 35 lid 2 UAVG).",
                c.court_route_nl
            )
            .into();
        } else {
            v["complaint"] = format!("you may lodge a complaint with the {auth} ({url}).").into();
            v["court"] = format!(
                "{} A petition to the district court must be filed within six weeks of receiving this letter (art. 35(2) UAVG, the Dutch GDPR Implementation Act).",
                c.court_route_en
            )
            .into();
        }
    }
    v
}

/// The values of one letter: those the same in both languages, and each language's own.
pub struct Vars {
    pub both: Value,
    pub nl: Value,
    pub en: Value,
}

impl Vars {
    pub fn new(both: Value) -> Vars {
        Vars { both, nl: Value::Object(Default::default()), en: Value::Object(Default::default()) }
    }

    /// Add a value per language (Dutch, English).
    pub fn pair(mut self, key: &str, (nl, en): (impl Into<Value>, impl Into<Value>)) -> Vars {
        self.nl[key] = nl.into();
        self.en[key] = en.into();
        self
    }
}

/// The body of a letter of `kind` in the languages the company chose.
pub fn body(c: &Controller, kind: &str, vars: &Vars) -> anyhow::Result<String> {
    let kind = kinds::kind(kind).ok_or_else(|| anyhow::anyhow!("no letter kind {kind}"))?;
    let half = |lang: &str| -> anyhow::Result<String> {
        let mut ctx = shared(c, kind, lang);
        for part in [&vars.both, if lang == "nl" { &vars.nl } else { &vars.en }] {
            for (k, v) in part.as_object().into_iter().flatten() {
                ctx[k] = v.clone();
            }
        }
        let file = format!("{lang}/{}.txt", kind.name);
        environment().render_str(source(&c.letters, &file), ctx).map_err(|e| {
            anyhow::anyhow!("the letter template {file} cannot be written: {e}; check it with `dsr letters check`")
        })
    };
    Ok(match c.letters.languages {
        Languages::Both => format!("(English below)\n\n{}{BETWEEN}{}", half("nl")?, half("en")?),
        Languages::Nl => half("nl")?,
        Languages::En => half("en")?,
    })
}

/// The subject line of a letter: its words in the chosen languages, then the request id.
pub fn subject(c: &Controller, (nl, en): (&str, &str), id: &str) -> String {
    match c.letters.languages {
        Languages::Both => format!("{nl} / {en} ({id})"),
        Languages::Nl => format!("{nl} ({id})"),
        Languages::En => format!("{en} ({id})"),
    }
}

/// The subject line of a kind of letter about request `id`.
pub fn subject_of(c: &Controller, kind: &str, id: &str) -> String {
    let k = kinds::kind(kind).map(|k| k.subject).unwrap_or((kind, kind));
    subject(c, k, id)
}

/// What is wrong with one template file (`nl/erasure.txt`), one line each; empty when nothing.
pub fn check_one(file: &str, text: &str) -> Vec<String> {
    let Some((lang, name)) = file.split_once('/') else { return vec![not_a_template()] };
    let kind = name.strip_suffix(".txt").and_then(kinds::kind);
    let (Some(kind), true) = (kind, kinds::LANGUAGES.contains(&lang)) else { return vec![not_a_template()] };
    // A letter is plain text: an escape sequence, a form feed or a lone carriage return would
    // reach the person's mail client as it is (a line end may be CRLF; a tab is text).
    let odd = text.lines().enumerate().find_map(|(n, line)| {
        line.chars().find(|c| *c != '\t' && crate::output::sanitize::acts_on_text(*c)).map(|c| (n + 1, c))
    });
    if let Some((line, c)) = odd {
        return vec![format!(
            "line {line}: a control or invisible character (U+{:04X}); a letter is plain text: remove it",
            c as u32
        )];
    }
    let env = environment();
    let template = match env.template_from_str(text) {
        Ok(t) => t,
        Err(e) => return vec![format!("does not read as a template: {}", one_line(&e))],
    };
    let samples = kinds::samples(kind);
    let known: std::collections::BTreeSet<&str> =
        samples.iter().flat_map(|s| s.as_object().into_iter().flatten().map(|(k, _)| k.as_str())).collect();
    let mut problems = Vec::new();
    let mut unknown: Vec<String> =
        template.undeclared_variables(false).into_iter().filter(|v| !known.contains(v.as_str())).collect();
    unknown.sort();
    for v in unknown {
        let list: Vec<&str> = known.iter().copied().collect();
        problems.push(format!(
            "uses {{{{ {v} }}}}, which the {} letter does not have; it has: {}",
            kind.name,
            list.join(", ")
        ));
    }
    if !problems.is_empty() {
        return problems;
    }
    for sample in &samples {
        let out = match template.render(sample) {
            Ok(out) => out,
            Err(e) => return vec![format!("cannot be written: {}", one_line(&e))],
        };
        for e in kind.required {
            let mark = kinds::mark(e.var);
            let given = sample.get(e.var).is_some_and(|v| v.to_string().contains(&mark));
            let said = format!("{} ({{{{ {} }}}}) is missing; the {} letter must {}", e.what, e.var, kind.name, e.must);
            if given && !out.contains(&mark) && !problems.contains(&said) {
                problems.push(said);
            }
        }
    }
    problems
}

fn not_a_template() -> String {
    let names: Vec<&str> = kinds::KINDS.iter().map(|k| k.name).collect();
    format!("is not a letter template: expected nl/KIND.txt or en/KIND.txt, KIND one of: {}", names.join(", "))
}

/// A template error as one line: where, what kind, and the detail.
fn one_line(e: &minijinja::Error) -> String {
    let detail = e.detail().map(|d| format!(": {d}")).unwrap_or_default();
    let said = format!("{}{detail}", e.kind()).replace('\n', " ");
    match e.line() {
        Some(line) => format!("line {line}: {said}"),
        None => said,
    }
}

/// Every problem of a set of templates, as (file, problem).
pub fn check(templates: &BTreeMap<String, String>) -> Vec<(String, String)> {
    templates.iter().flat_map(|(f, t)| check_one(f, t).into_iter().map(move |p| (f.clone(), p))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_template_passes_its_own_check() {
        for (file, text) in kinds::SHIPPED {
            assert_eq!(check_one(file, text), Vec::<String>::new(), "{file}");
        }
        assert_eq!(kinds::SHIPPED.len(), kinds::KINDS.len() * 2);
    }

    #[test]
    fn a_dropped_element_an_unknown_variable_and_bad_syntax_are_named() {
        let erasure = kinds::shipped("nl/erasure.txt").unwrap().replace("{{ complaint }}", "");
        let p = check_one("nl/erasure.txt", &erasure);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("the complaint route ({{ complaint }}) is missing; the erasure letter must"), "{p:?}");
        assert!(check_one("en/extension.txt", "{{ id }} {{ signatur }}")[0].starts_with("uses {{ signatur }}"));
        assert!(
            check_one("en/extension.txt", "{{ id ")[0].starts_with("does not read as a template: line 1: syntax error")
        );
        assert!(check_one("de/extension.txt", "x")[0].starts_with("is not a letter template"));
    }
}
