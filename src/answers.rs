//! The answers a person receives when a right is carried out (Art. 12(1): concise, plain language),
//! in the company's templates (docs/letters.md): what was done, the recipients told of it
//! (Art. 19), and the complaint route. Sent through the mail transport to the address on file, in the transaction that records
//! the outcome, so a person is never told of a change that did not happen.

use std::path::Path;

use crate::store::db::Db;

use serde_json::json;

use crate::clock::Clock;
use crate::letters::Vars;
use crate::mail::{self, Letter};
use crate::map::BasisKind;
use crate::notify::Notification;
use crate::register::Register;
use crate::request::Request;
use crate::rights::erase::{self, Plan};
use crate::rights::object::Answer;

/// The answer to one carried-out request: which letter it is (its template and, for the audit
/// trail, its kind) and the values its template is written with.
pub struct Reply {
    kind: &'static str,
    vars: Vars,
}

/// The recipients told of the outcome (Art. 19), each with its country when the register has one.
fn recipients(register: &Register, list: &[Notification]) -> serde_json::Value {
    let names: Vec<serde_json::Value> = list
        .iter()
        .map(|n| {
            let country = register.recipients.iter().find(|r| r.code == n.recipient).map(|r| r.country.as_str());
            json!({"name": n.name, "country": country.unwrap_or_default()})
        })
        .collect();
    serde_json::Value::Array(names)
}

/// Queue the answer of a carried-out request (in the caller's transaction), naming the
/// recipients. `on_sent`: whether its delivery completes the request (an answer does; the letter
/// saying an objection is being weighed does not). Returns whether a letter was queued (false:
/// no email address on file, the officer delivers it another way and records that).
pub fn send(
    conn: &dyn Db,
    clock: &Clock,
    store: &Path,
    register: &Register,
    req: &Request,
    reply: &Reply,
    on_sent: crate::queue::OnSent,
) -> anyhow::Result<bool> {
    let controller = register.controller.as_ref().ok_or_else(crate::error::Error::no_register)?;
    let mut vars = Vars { both: reply.vars.both.clone(), nl: reply.vars.nl.clone(), en: reply.vars.en.clone() };
    vars.both["recipients"] = recipients(register, &crate::notify::list(conn, &req.id)?);
    let letter = Letter {
        kind: reply.kind,
        subject: crate::letters::subject_of(controller, reply.kind, &req.id),
        body: crate::letters::body(controller, reply.kind, &vars)?,
    };
    Ok(mail::notify_with(conn, clock, store, controller, req, &letter, on_sent)?.is_some())
}

/// Names of fields, each as (English, Dutch).
pub type FieldNames = [(String, String)];

/// Art. 16: what was corrected (field names, not values: the letter may be read by others): the
/// fields corrected and those already as asked (each as (English, Dutch) names), and the
/// categories a supplementary statement was added to.
pub fn rectified(
    register: &Register,
    req: &Request,
    (fields, accurate): (&FieldNames, &FieldNames),
    statements: &[&str],
) -> Reply {
    let cat = |code: &str| {
        register.category(code).map(|c| (c.name_nl.clone(), c.name_en.clone())).unwrap_or((code.into(), code.into()))
    };
    let names = |f: &[(String, String)]| -> (Vec<String>, Vec<String>) {
        (f.iter().map(|(_, nl)| nl.clone()).collect(), f.iter().map(|(en, _)| en.clone()).collect())
    };
    let (st_nl, st_en): (Vec<String>, Vec<String>) = statements.iter().map(|s| cat(s)).unzip();
    let vars = Vars::new(json!({"id": req.id}))
        .pair("fields", names(fields))
        .pair("accurate", names(accurate))
        .pair("statements", (st_nl, st_en));
    Reply { kind: "rectification", vars }
}

/// Art. 18: what is restricted, on which ground, and what that means (the wording per ground
/// is in the template).
pub fn restricted(register: &Register, req: &Request, g: &str, categories: &[String]) -> Reply {
    let names = |nl: bool| -> Vec<String> {
        categories
            .iter()
            .map(|c| {
                register
                    .category(c)
                    .map(|x| if nl { x.name_nl.clone() } else { x.name_en.clone() })
                    .unwrap_or_else(|| c.clone())
            })
            .collect()
    };
    let vars = Vars::new(json!({"id": req.id, "ground": g})).pair("categories", (names(true), names(false)));
    Reply { kind: "restriction", vars }
}

/// Art. 18(3): the notice that a restriction will be lifted `at` (Amsterdam time in the letter), and why.
pub fn lift_notice(req: &Request, reason: &str, at: chrono::DateTime<chrono::Utc>) -> Vars {
    // A coded reason reads in each language; free text as the officer wrote it.
    let (reason_en, reason_nl) = crate::archive::present::reason(reason);
    // The reason stands as a sentence of the letter: it ends as one.
    let sentence = |s: String| match s.trim_end().ends_with(['.', '!', '?']) {
        true => s,
        false => format!("{}.", s.trim_end()),
    };
    Vars::new(json!({"id": req.id}))
        .pair("lift_date", crate::local_time::moment(at))
        .pair("reason", (sentence(reason_nl), sentence(reason_en)))
}

/// Art. 21 and 22: the outcome of an objection or a review, in both languages; an officer's
/// decision on a pending one is a letter of its own.
pub fn objection(register: &Register, req: &Request, a: &Answer) -> Reply {
    let p = register.purposes.iter().find(|p| p.code == a.purpose);
    let pnl = p.map(|p| p.name_nl.clone()).unwrap_or_else(|| a.purpose.clone());
    let grounds = crate::archive::present::reason(a.grounds.as_deref().unwrap_or("")).1;
    let decision = register.automated_decisions.first();
    let nl = match a.outcome.as_str() {
        "stopped" => format!(
            "We hebben de verwerking voor {pnl} (direct marketing) direct en blijvend gestopt (art. 21 lid 3 AVG){}.",
            if a.suppressed { "; je adressen staan op onze blokkeerlijst" } else { "" }
        ),
        "withdrawn" => format!("Je toestemming voor {pnl} is ingetrokken (art. 7 lid 3 AVG); de verwerking op basis daarvan is gestopt."),
        "pending" => format!("Zolang we je bezwaar tegen {pnl} beoordelen, is de verwerking daarvoor beperkt (art. 18 lid 1 onder d en art. 21 lid 1 AVG). Je hoort van ons wat we besluiten."),
        "continues" if p.and_then(|p| p.basis) == Some(BasisKind::Contract) => format!("{pnl} is nodig om de overeenkomst met jou uit te voeren (art. 6 lid 1 onder b AVG); het recht van bezwaar geldt daarvoor niet, dus de verwerking gaat door. Je kunt de overeenkomst beëindigen, of om wissing of beperking vragen."),
        "continues" if p.and_then(|p| p.basis) == Some(BasisKind::VitalInterests) => format!("{pnl} is nodig om de vitale belangen van jou of een ander te beschermen (art. 6 lid 1 onder d AVG); het recht van bezwaar geldt daarvoor niet, dus de verwerking gaat door."),
        "continues" => format!("{pnl} is wettelijk verplicht (art. 6 lid 1 onder c AVG); het recht van bezwaar geldt daarvoor niet, dus de verwerking gaat door."),
        "review-pending" => format!(
            "Een medewerker beoordeelt het geautomatiseerde besluit opnieuw (art. 22 lid 3 AVG). Tot die tijd nemen we geen verdere automatische stappen.\nHoe het werkt: {}\nGevolgen: {}",
            decision.map(|d| d.logic_nl.as_str()).unwrap_or(""),
            decision.map(|d| d.consequences_nl.as_str()).unwrap_or("")
        ),
        "upheld" => format!("Je bezwaar is toegewezen: we verwerken je gegevens niet meer voor {pnl}."),
        "overridden" => format!(
            "We zetten de verwerking voor {pnl} voort, omdat we dwingende gerechtvaardigde gronden hebben die zwaarder wegen dan jouw belangen (art. 21 lid 1 AVG): {}.{}",
            grounds.trim_end().trim_end_matches('.'),
            a.restriction_lift_at.as_deref().and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok()).map(|at| format!(
                " De beperking van de verwerking voor {pnl} zolang we besloten (art. 18 lid 1 onder d AVG) eindigt op {} (art. 18 lid 3 AVG); tot dan blijft ze gelden.",
                crate::local_time::moment(at.with_timezone(&chrono::Utc)).0
            )).unwrap_or_default()
        ),
        "decision-reversed" => "Na beoordeling door een medewerker is het geautomatiseerde besluit teruggedraaid: de blokkade is opgeheven en er volgen geen automatische stappen meer; een eventueel openstaand bedrag handelen we persoonlijk met je af.".to_owned(),
        _ => format!("Na beoordeling door een medewerker blijft het geautomatiseerde besluit staan, omdat: {grounds}. De automatische stappen gaan weer verder."),
    };
    let vars = Vars::new(json!({"id": req.id, "outcome": a.outcome, "purpose": a.purpose}))
        .pair("explanation", (nl, a.explanation_en.clone()))
        .pair("purpose_name", (pnl, p.map(|p| p.name_en.clone()).unwrap_or_else(|| a.purpose.clone())));
    match a.outcome.as_str() {
        "upheld" | "overridden" | "decision-reversed" | "decision-stands" => Reply { kind: "objection-decision", vars },
        _ => Reply { kind: "objection", vars },
    }
}

/// One line of what an erasure keeps: category, ground and until when, in Dutch then English.
type KeptLine = (String, String, String, String, String, String);

/// dsr's own records an erasure can keep, as a person reads them (Dutch, English): the
/// restriction or objection itself.
fn own_record(table: &str) -> Option<(&'static str, &'static str)> {
    match table {
        "restriction" => Some(("beperking van de verwerking die je vroeg", "restriction of processing you asked for")),
        "objection" => Some(("bezwaar dat je maakte", "objection you made")),
        _ => None,
    }
}

/// Why a step keeps rows, in Dutch and English. A claim is our interest in court, not a legal
/// duty: only the fiscal hold is called one.
fn kept_ground(ground: &str) -> (&'static str, &'static str) {
    match erase::current_ground(ground) {
        erase::GROUND_TAX => (
            "wettelijke bewaarplicht voor de administratie, art. 17 lid 3 onder b AVG en art. 52 AWR",
            "legal obligation to keep the administration, GDPR Art. 17(3)(b) and Dutch AWR art. 52",
        ),
        erase::GROUND_CLAIM => (
            "nodig om onze vordering op een onbetaalde factuur in te stellen, uit te oefenen of te verdedigen, art. 17 lid 3 onder e AVG",
            "needed to establish, exercise or defend our claim on an unpaid invoice, GDPR Art. 17(3)(e)",
        ),
        erase::GROUND_CLAIM_TAX => (
            "nodig voor onze vordering op een onbetaalde factuur (art. 17 lid 3 onder e AVG), en daarna de wettelijke bewaarplicht voor de administratie (art. 17 lid 3 onder b AVG, art. 52 AWR)",
            "needed for our claim on an unpaid invoice (GDPR Art. 17(3)(e)), and after that the legal obligation to keep the administration (Art. 17(3)(b), Dutch AWR art. 52)",
        ),
        erase::GROUND_RESTRICTED => (
            "op jouw verzoek beperkt omdat je deze gegevens nodig hebt voor een rechtsvordering, art. 18 lid 1 onder c en art. 17 lid 3 onder e AVG; we bewaren ze alleen",
            "restricted at your request because you need these data for a legal claim, GDPR Art. 18(1)(c) and 17(3)(e); we only store them",
        ),
        erase::GROUND_OWN_RECORD => (
            "je beperking of bezwaar geldt nog voor wat we bewaren, art. 18 en 21 AVG",
            "your restriction or objection still applies to what we keep, GDPR Art. 18 and 21",
        ),
        _ => ("bewaard zonder koppeling aan jou", "kept without a link to you"),
    }
}

fn kept_until(until: Option<&str>) -> (String, String) {
    match until {
        Some(erase::UNTIL_SETTLED) | None => {
            ("tot de vordering is voldaan".to_owned(), "until the claim is settled".to_owned())
        }
        Some(erase::UNTIL_LIFTED) => {
            ("tot de beperking is opgeheven".to_owned(), "until the restriction is lifted".to_owned())
        }
        Some(u) => match u.strip_prefix(erase::UNTIL_SETTLED_NOT_BEFORE) {
            Some(d) => {
                let (nl, en) = crate::local_time::day_str(d);
                (
                    format!("tot de vordering is voldaan, en ten minste tot {nl}"),
                    format!("until the claim is settled, and at least until {en}"),
                )
            }
            None => {
                let (nl, en) = crate::local_time::day_str(u);
                (format!("tot {nl}"), format!("until {en}"))
            }
        },
    }
}

/// Art. 17: what was erased, and what is kept, why and until when ("to the extent": a partial
/// erasure says what it did not erase).
pub fn erased(register: &Register, req: &Request, plan: &Plan) -> Reply {
    // One line per category, ground and date (invoices, payments and quotes share a category).
    let mut lines: Vec<(KeptLine, u64)> = Vec::new();
    for s in plan.steps.iter().filter(|s| s.action != "delete" && s.table != "request") {
        let root = register.map.root().is_some_and(|r| r.name == s.table);
        let (tnl, ten) = if root && s.action == "detach" {
            ("gegevensrecord zonder naam en adres".to_owned(), "data record without name or address".to_owned())
        } else if let Some(names) = own_record(&s.table) {
            (names.0.to_owned(), names.1.to_owned())
        } else {
            register
                .category_of_table(&s.table)
                .map(|c| (c.name_nl.clone(), c.name_en.clone()))
                .unwrap_or_else(|| (s.table.clone(), s.table.clone()))
        };
        let (gnl, gen) = kept_ground(s.ground.as_deref().unwrap_or(""));
        let (unl, uen) = kept_until(s.until.as_deref());
        let key = (tnl, gnl.to_owned(), unl, ten, gen.to_owned(), uen);
        match lines.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += s.rows,
            None => lines.push((key, s.rows)),
        }
    }
    let (mut kept_nl, mut kept_en) = (Vec::new(), Vec::new());
    for ((tnl, gnl, unl, ten, gen, uen), rows) in &lines {
        kept_nl.push(json!({"rows": rows, "category": tnl, "ground": gnl, "until": unl}));
        kept_en.push(json!({"rows": rows, "category": ten, "ground": gen, "until": uen}));
    }
    let ground = |g: &str| plan.steps.iter().any(|s| s.ground.as_deref().map(erase::current_ground) == Some(g));
    let unlinked = ground(erase::GROUND_TAX) || ground(erase::GROUND_CLAIM) || ground(erase::GROUND_CLAIM_TAX);
    let vars = Vars::new(json!({
        "id": req.id,
        "erased": plan.deleted,
        "unlinked": unlinked,
        "restricted": ground(erase::GROUND_RESTRICTED),
    }))
    .pair("kept", (kept_nl, kept_en));
    Reply { kind: "erasure", vars }
}
