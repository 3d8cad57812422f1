//! The answers a person receives when a right is carried out (Art. 12(1): concise, plain language),
//! in Dutch and English: what was done, the recipients told of it (Art. 19), and the complaint
//! route. Sent through the mail transport to the address on file, in the transaction that records
//! the outcome, so a person is never told of a change that did not happen.

use std::path::Path;

use crate::store::db::Db;

use crate::clock::Clock;
use crate::mail::{self, Letter};
use crate::notify::Notification;
use crate::register::{Controller, Register};
use crate::request::Request;
use crate::rights::erase::{self, Plan};
use crate::rights::object::Answer;

/// Dutch and English text of one part of an answer.
pub struct Text {
    pub nl: String,
    pub en: String,
}

fn recipients(register: &Register, list: &[Notification]) -> Text {
    if list.is_empty() {
        return Text { nl: String::new(), en: String::new() };
    }
    let names: Vec<String> = list
        .iter()
        .map(|n| {
            let country = register.recipients.iter().find(|r| r.code == n.recipient).map(|r| r.country.as_str());
            match country {
                Some(c) if !c.is_empty() => format!("  - {} ({c})", n.name),
                _ => format!("  - {}", n.name),
            }
        })
        .collect();
    let names = names.join("\n");
    Text {
        nl: format!(
            "Deze ontvangers hebben je gegevens van ons gekregen; we laten hen dit weten (art. 19 AVG):\n{names}\n\n"
        ),
        en: format!(
            "These recipients received your data from us; we are telling them of this (GDPR Art. 19):\n{names}\n\n"
        ),
    }
}

/// Who writes: the controller's name, address, KvK number and privacy contact (Art. 13(1)(a),
/// 12(1)), closing each half of every letter. A field the register leaves empty is left out.
pub fn signature(c: &Controller) -> Text {
    let mut nl = c.name.clone();
    let mut en = c.name.clone();
    if let Some(a) = c.address.as_deref().filter(|a| !a.trim().is_empty()) {
        nl.push_str(&format!("\nAdres: {a}"));
        en.push_str(&format!("\nAddress: {a}"));
    }
    if let Some(k) = c.kvk_number.as_deref().filter(|k| !k.trim().is_empty()) {
        nl.push_str(&format!("\nKvK-nummer: {k}"));
        en.push_str(&format!("\nChamber of Commerce (KvK) number: {k}"));
    }
    nl.push_str(&format!("\nPrivacycontact: {}", c.privacy_email));
    en.push_str(&format!("\nPrivacy contact: {}", c.privacy_email));
    Text { nl, en }
}

/// The whole letter around the substance: Dutch first, then English, each ending with the
/// complaint route, the way to court with its six-week term (Art. 12(4), 77, 79 GDPR; art. 35
/// UAVG) and the controller's details.
pub fn compose(c: &Controller, body: &Text, to_tell: &Text) -> String {
    let sig = signature(c);
    format!(
        "(English below)\n\nHallo,\n\n{nl}\n\n{rnl}Ben je het hier niet mee eens? Je kunt een klacht indienen bij de {auth} ({url}). {court_nl} \
Een verzoekschrift aan de rechtbank dien je in binnen zes weken na ontvangst van deze brief (art. 35 lid 2 UAVG).\n\n\
{sig_nl}\n\n----------------------------------------\n\n\
Hello,\n\n{en}\n\n{ren}If you disagree, you may lodge a complaint with the {auth} ({url}). {court_en} \
A petition to the district court must be filed within six weeks of receiving this letter (art. 35(2) UAVG, \
the Dutch GDPR Implementation Act).\n\n{sig_en}\n",
        nl = body.nl.trim_end(),
        en = body.en.trim_end(),
        rnl = to_tell.nl,
        ren = to_tell.en,
        auth = c.complaint_authority,
        url = c.complaint_url,
        court_nl = c.court_route_nl,
        court_en = c.court_route_en,
        sig_nl = sig.nl,
        sig_en = sig.en,
    )
}

/// The answer to one carried-out request: which letter it is (for the audit trail), its subject
/// line, and what it says.
pub struct Reply {
    kind: &'static str,
    subject: &'static str,
    body: Text,
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
    let controller = register.controller.as_ref().ok_or_else(|| anyhow::anyhow!("the store has no register"))?;
    let to_tell = recipients(register, &crate::notify::list(conn, &req.id)?);
    let letter = Letter {
        kind: reply.kind,
        subject: format!("{} ({})", reply.subject, req.id),
        body: compose(controller, &reply.body, &to_tell),
    };
    Ok(mail::notify_with(conn, clock, store, controller, req, &letter, on_sent)?.is_some())
}

/// Art. 16: what was corrected (field names, not values: the letter may be read by others);
/// `fields` are the names of the fields corrected, (English, Dutch).
pub fn rectified(register: &Register, req: &Request, fields: &[(String, String)], statements: &[&str]) -> Reply {
    let cat = |code: &str| {
        register.category(code).map(|c| (c.name_nl.clone(), c.name_en.clone())).unwrap_or((code.into(), code.into()))
    };
    let mut nl = String::new();
    let mut en = String::new();
    if !fields.is_empty() {
        let n: Vec<&str> = fields.iter().map(|(_, nl)| nl.as_str()).collect();
        let e: Vec<&str> = fields.iter().map(|(en, _)| en.as_str()).collect();
        nl.push_str(&format!(
            "Op je verzoek {} (art. 16 AVG) hebben we deze gegevens gecorrigeerd: {}.\n",
            req.id,
            n.join(", ")
        ));
        en.push_str(&format!("At your request {} (GDPR Art. 16) we corrected: {}.\n", req.id, e.join(", ")));
    }
    for s in statements {
        let (cn, ce) = cat(s);
        nl.push_str(&format!("Je aanvullende verklaring is opgenomen bij: {cn}.\n"));
        en.push_str(&format!("Your supplementary statement is now kept with: {ce}.\n"));
    }
    Reply { kind: "rectification", subject: "Correctie / Rectification", body: Text { nl, en } }
}

fn ground(ground: &str) -> (&'static str, &'static str) {
    match ground {
        "accuracy-contested" => (
            "je de juistheid van de gegevens betwist (art. 18 lid 1 onder a AVG); de beperking geldt tot we de juistheid hebben gecontroleerd",
            "you contest the accuracy of the data (Art. 18(1)(a)); it lasts until we have verified it",
        ),
        "unlawful" => (
            "de verwerking onrechtmatig is en je beperking wilt in plaats van wissing (art. 18 lid 1 onder b AVG)",
            "the processing is unlawful and you chose restriction instead of erasure (Art. 18(1)(b))",
        ),
        "legal-claims" => (
            "je de gegevens nodig hebt voor een rechtsvordering (art. 18 lid 1 onder c AVG); we bewaren ze ook na hun gewone bewaartermijn",
            "you need the data for a legal claim (Art. 18(1)(c)); we keep them past their usual retention period",
        ),
        _ => (
            "je bezwaar hebt gemaakt en we beoordelen of onze gronden zwaarder wegen dan jouw belangen (art. 18 lid 1 onder d AVG)",
            "you objected and we are weighing whether our grounds override yours (Art. 18(1)(d))",
        ),
    }
}

/// Art. 18: what is restricted, on which ground, and what that means.
pub fn restricted(register: &Register, req: &Request, g: &str, categories: &[String]) -> Reply {
    let (scope_nl, scope_en) = if categories.is_empty() {
        ("al je gegevens".to_owned(), "all your data".to_owned())
    } else {
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
        (names(true).join(", "), names(false).join(", "))
    };
    let (gnl, gen) = ground(g);
    let body = Text {
        nl: format!(
            "Op je verzoek {id} hebben we de verwerking van {scope_nl} beperkt, omdat {gnl}.\n\
Zolang de beperking geldt, bewaren we deze gegevens alleen: we gebruiken ze niet, behalve met je toestemming \
of voor een rechtsvordering. Voordat we de beperking opheffen, laten we het je weten.",
            id = req.id
        ),
        en: format!(
            "At your request {id} we restricted the processing of {scope_en}, because {gen}.\n\
While the restriction lasts we only store these data: we do not use them, except with your consent or for \
legal claims. We will tell you before the restriction is lifted.",
            id = req.id
        ),
    };
    Reply { kind: "restriction", subject: "Beperking / Restriction", body }
}

/// Art. 18(3): the notice that a restriction will be lifted `at` (Amsterdam time in the letter), and why.
pub fn lift_notice(req: &Request, reason: &str, at: chrono::DateTime<chrono::Utc>) -> Text {
    let (date_nl, date_en) = crate::local_time::moment(at);
    // A coded reason reads in each language; free text as the officer wrote it.
    let (reason_en, reason_nl) = crate::archive::present::reason(reason);
    Text {
        nl: format!(
            "We heffen de beperking van de verwerking van je gegevens (verzoek {id}) op per {date_nl} (art. 18 lid 3 AVG). \
Reden: {reason_nl}\nTot die datum blijft de beperking gelden. Heb je vragen of bezwaar, laat het ons dan voor die datum weten.",
            id = req.id
        ),
        en: format!(
            "We will lift the restriction of processing of your data (request {id}) on {date_en} (GDPR Art. 18(3)). \
Reason: {reason_en}\nUntil that date the restriction still applies. If you have questions or objections, tell us before that date.",
            id = req.id
        ),
    }
}

/// Art. 21 and 22: the outcome of an objection or a review, in both languages; an officer's
/// decision on a pending one is a letter of its own.
pub fn objection(register: &Register, req: &Request, a: &Answer) -> Reply {
    let p = register.purposes.iter().find(|p| p.code == a.purpose);
    let pnl = p.map(|p| p.name_nl.clone()).unwrap_or_else(|| a.purpose.clone());
    let grounds = crate::archive::present::reason(a.grounds.as_deref().unwrap_or("")).1;
    let decision = register.automated_decisions.first();
    let nl = match a.outcome.as_str() {
        "stopped" => format!("We hebben de verwerking voor {pnl} (direct marketing) direct en blijvend gestopt (art. 21 lid 3 AVG); je adressen staan op onze blokkeerlijst."),
        "withdrawn" => format!("Je toestemming voor {pnl} is ingetrokken (art. 7 lid 3 AVG); de verwerking op basis daarvan is gestopt."),
        "pending" => format!("Zolang we je bezwaar tegen {pnl} beoordelen, is de verwerking daarvoor beperkt (art. 18 lid 1 onder d en art. 21 lid 1 AVG). Je hoort van ons wat we besluiten."),
        "continues" if a.legal_basis == "contract" => format!("{pnl} is nodig om de overeenkomst met jou uit te voeren (art. 6 lid 1 onder b AVG); het recht van bezwaar geldt daarvoor niet, dus de verwerking gaat door. Je kunt de overeenkomst beëindigen, of om wissing of beperking vragen."),
        "continues" => format!("{pnl} is wettelijk verplicht (art. 6 lid 1 onder c AVG); het recht van bezwaar geldt daarvoor niet, dus de verwerking gaat door."),
        "review-pending" => format!(
            "Een medewerker beoordeelt het geautomatiseerde besluit opnieuw (art. 22 lid 3 AVG). Tot die tijd nemen we geen verdere automatische stappen.\nHoe het werkt: {}\nGevolgen: {}",
            decision.map(|d| d.logic_nl.as_str()).unwrap_or(""),
            decision.map(|d| d.consequences_nl.as_str()).unwrap_or("")
        ),
        "upheld" => format!("Je bezwaar is toegewezen: we verwerken je gegevens niet meer voor {pnl}."),
        "overridden" => format!("We zetten de verwerking voor {pnl} voort, omdat we dwingende gerechtvaardigde gronden hebben die zwaarder wegen dan jouw belangen (art. 21 lid 1 AVG): {grounds}"),
        "decision-reversed" => "Na beoordeling door een medewerker is het geautomatiseerde besluit teruggedraaid: de blokkade is opgeheven en er volgen geen automatische stappen meer; een eventueel openstaand bedrag handelen we persoonlijk met je af.".to_owned(),
        _ => format!("Na beoordeling door een medewerker blijft het geautomatiseerde besluit staan, omdat: {grounds}. De automatische stappen gaan weer verder."),
    };
    let body = Text {
        nl: format!("Over je verzoek {}:\n{nl}", req.id),
        en: format!("About your request {}:\n{}", req.id, a.explanation_en),
    };
    match a.outcome.as_str() {
        "upheld" | "overridden" | "decision-reversed" | "decision-stands" => {
            Reply { kind: "objection-decision", subject: "Besluit op bezwaar / Decision on objection", body }
        }
        _ => Reply { kind: "objection", subject: "Bezwaar / Objection", body },
    }
}

/// One line of what an erasure keeps: category, ground and until when, in Dutch then English.
type KeptLine = (String, String, String, String, String, String);

/// Why a step keeps rows, in Dutch and English. A claim is our interest in court, not a legal
/// duty: only the fiscal hold is called one.
fn kept_ground(ground: &str) -> (&'static str, &'static str) {
    match ground {
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
    let mut kept_nl = String::new();
    let mut kept_en = String::new();
    for ((tnl, gnl, unl, ten, gen, uen), rows) in &lines {
        kept_nl.push_str(&format!("  - {rows} x {tnl} ({gnl}), {unl}\n"));
        kept_en.push_str(&format!("  - {rows} x {ten} ({gen}), {uen}\n"));
    }
    if kept_nl.is_empty() {
        kept_nl.push_str("  - niets\n");
        kept_en.push_str("  - nothing\n");
    }
    let ground = |g: &str| plan.steps.iter().any(|s| s.ground.as_deref() == Some(g));
    if ground(erase::GROUND_TAX) || ground(erase::GROUND_CLAIM) || ground(erase::GROUND_CLAIM_TAX) {
        kept_nl.push_str("Wat we bewaren voor de administratie of onze vordering (facturen, offertes, betalingen, incassostappen), is losgekoppeld van je profiel.\n");
        kept_en.push_str("What we keep for the administration or our claim (invoices, quotes, payments, dunning steps) is unlinked from your profile.\n");
    }
    if ground(erase::GROUND_RESTRICTED) {
        kept_nl.push_str("Wat beperkt is, bewaren we zoals het is en gebruiken we niet; voordat we de beperking opheffen, laten we het je weten (art. 18 lid 3 AVG).\n");
        kept_en.push_str("What is restricted we keep as it is and do not use; we will tell you before the restriction is lifted (GDPR Art. 18(3)).\n");
    }
    let body = Text {
        nl: format!(
            "Op je verzoek {id} (art. 17 AVG) hebben we je gegevens gewist: {n} records.\nWat we bewaren, waarom en tot wanneer:\n{kept_nl}",
            id = req.id,
            n = plan.deleted
        ),
        en: format!(
            "At your request {id} (GDPR Art. 17) we erased your data: {n} records.\nWhat we keep, why, and until when:\n{kept_en}",
            id = req.id,
            n = plan.deleted
        ),
    };
    Reply { kind: "erasure", subject: "Wissing / Erasure", body }
}
