//! The person's copy (issue 12): complete (their own requests and what the rights changed),
//! intelligible (euros, yes/no, Dutch local time, translated codes, no internal ids, the Art. 15(1)
//! summary first), the dunning decision explained per invoice, and the controller named in full.

use std::collections::BTreeMap;
use std::io::Read;

use chrono::{DateTime, Days, NaiveDate};
use chrono_tz::Europe::Amsterdam;
use serde::Deserialize;
use serde_json::Value;

use crate::support::{self, Env};

const KEES: [&str; 2] = ["--email", "kees.smit@example.nl"];

/// A virtio store whose clock stands still at `now` (summer time: UTC+2), so that fixture times
/// and the rate limit on codes are predictable.
fn env_at(now: &str) -> Env {
    let mut env = Env::new();
    env.now = Some(now.to_owned());
    env.dsr().args(["init", "--fixture", "virtio"]).assert().success();
    env
}

fn verified(env: &Env, right: &str, args: &[&str]) -> String {
    let o = env.open(right, args);
    let code = env.code(&o.request);
    env.dsr().args(["verify", &o.request, &code]).assert().success();
    o.request
}

fn apply(env: &Env, right: &str, id: &str) {
    let out = env.run(&["--json", right, id, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{right} {id}: {}", support::stderr(&out));
}

fn zip_entries(path: &std::path::Path) -> BTreeMap<String, Vec<u8>> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).expect("a zip archive");
    let mut out = BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let mut buf = Vec::new();
        f.read_to_end(&mut buf).unwrap();
        out.insert(f.name().to_owned(), buf);
    }
    out
}

/// index.html of an access archive for a verified request, as text without tags.
fn index_text(env: &Env, request: &str) -> (String, String) {
    let file = env.path(&format!("{request}.zip"));
    let out = env.run(&["access", request, "--archive", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let html = String::from_utf8(zip_entries(&file)["index.html"].clone()).unwrap();
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text.replace("&#39;", "'").replace("&amp;", "&");
    (html, text.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[derive(Debug, Deserialize)]
struct Answer {
    history: History,
    automated_decisions: Vec<Decision>,
    categories: Vec<Category>,
}
#[derive(Debug, Deserialize)]
struct History {
    requests: Vec<Value>,
    restrictions: Vec<Value>,
    objections: Vec<Value>,
    decision_reviews: Vec<Value>,
    notifications: Vec<Value>,
    suppression: Vec<Value>,
}
#[derive(Debug, Deserialize)]
struct Decision {
    steps: Vec<Step>,
    invoices: Vec<Invoice>,
}
#[derive(Debug, Deserialize)]
struct Step {
    step: String,
    days_after_due: i64,
}
#[derive(Debug, Deserialize)]
struct Invoice {
    invoice_number: String,
    amount_cents: i64,
    due_at: String,
    steps: Vec<InvoiceStep>,
    pay_by: Option<NaiveDate>,
}
#[derive(Debug, Deserialize)]
struct InvoiceStep {
    step: String,
    days_after_due: Option<i64>,
    threshold_on: Option<NaiveDate>,
}
#[derive(Debug, Deserialize)]
struct Category {
    tables: Vec<Table>,
}
#[derive(Debug, Deserialize)]
struct Table {
    table: String,
    rows: Vec<serde_json::Map<String, Value>>,
}

fn dutch_date(stamp: &str) -> NaiveDate {
    DateTime::parse_from_rfc3339(stamp).unwrap().with_timezone(&Amsterdam).date_naive()
}

#[test]
fn the_copy_holds_the_persons_requests_restrictions_objections_reviews_notifications_and_suppression() {
    let mut env = env_at("2026-07-01T08:00:00Z");
    let objection = verified(&env, "object", &[&KEES[..], &["--purpose", "newsletter"]].concat());
    apply(&env, "object", &objection);
    let restriction = verified(&env, "restrict", &[&KEES[..], &["--ground", "accuracy-contested"]].concat());
    apply(&env, "restrict", &restriction);
    let review = verified(&env, "object", &[&KEES[..], &["--purpose", "dunning"]].concat());
    apply(&env, "object", &review);
    // At most 3 codes an hour: the access request comes later that day.
    env.now = Some("2026-07-01T12:00:00Z".into());
    let access = verified(&env, "access", &KEES);

    let (a, code): (Answer, i32) = env.json(&["access", &access]);
    assert_eq!(code, 0);
    let h = &a.history;
    let ids: Vec<&str> = h.requests.iter().map(|r| r["id"].as_str().unwrap()).collect();
    for id in [&objection, &restriction, &review, &access] {
        assert!(ids.contains(&id.as_str()), "request {id} is in the copy: {ids:?}");
    }
    let right_of = |id: &str| h.requests.iter().find(|r| r["id"] == id).unwrap()["right"].clone();
    assert_eq!(right_of(&restriction), "restrict");
    assert_eq!(h.restrictions[0]["ground"], "accuracy-contested");
    assert!(h.objections.iter().any(|o| o["purpose"] == "newsletter" && o["outcome"] == "stopped"));
    assert_eq!(h.decision_reviews[0]["decision"], "dunning");
    assert!(h.notifications.iter().any(|n| n["request"] == restriction.as_str() && n["state"] == "to-notify"));
    assert!(h.suppression.iter().any(|s| s["reason"] == "direct-marketing" && s["kind"] == "email"));
    assert!(h.suppression.iter().all(|s| s.get("hash").is_none()), "the keyed hashes are not disclosed");

    // The person's copy says the same, in both languages.
    let (_, text) = index_text(&env, &access);
    for expected in [
        "Your requests and what became of them / Je verzoeken en wat ermee gebeurde",
        "Restrictions (Art. 18) / Beperkingen (art. 18)",
        "you contest the accuracy (Art. 18(1)(a)) / je betwist de juistheid (art. 18 lid 1 a)",
        "Objections (Art. 21) / Bezwaren (art. 21)",
        "Newsletter / Nieuwsbrief",
        "processing stopped / verwerking gestopt",
        "Human reviews of the automated decision",
        "Recipients told of a change (Art. 19)",
        "still to be told / moet nog worden geïnformeerd",
        "no direct marketing, ever again (Art. 21(3)) / nooit meer direct marketing (art. 21 lid 3)",
    ] {
        assert!(text.contains(expected), "index.html lacks {expected:?}");
    }
    assert!(text.contains(&restriction) && text.contains(&objection));
}

#[test]
fn the_persons_copy_reads_in_euros_yes_no_dutch_time_and_codes_without_internal_ids() {
    let env = env_at("2026-07-01T08:00:00Z");
    let access = verified(&env, "access", &KEES);
    // Machine-readable: raw cents, codes and UTC.
    let (a, _): (Answer, i32) = env.json(&["access", &access]);
    let invoices: Vec<&serde_json::Map<String, Value>> =
        a.categories.iter().flat_map(|c| &c.tables).filter(|t| t.table == "invoice").flat_map(|t| &t.rows).collect();
    let first = invoices[0];
    assert_eq!(first["amount_cents"], 1870);
    let issued = first["issued_at"].as_str().unwrap().to_owned();
    assert!(issued.ends_with('Z'), "UTC in --json");
    let local =
        DateTime::parse_from_rfc3339(&issued).unwrap().with_timezone(&Amsterdam).format("%d-%m-%Y %H:%M").to_string();

    let (html, text) = index_text(&env, &access);
    assert!(text.contains("€ 18,70"), "amounts in euros");
    assert!(!html.contains(">1870<"), "no cents");
    assert!(text.contains(&local), "times in Dutch local time: {local}");
    assert!(!html.contains(&format!(">{issued}<")), "no UTC stamps");
    assert!(html.contains("<td>yes / ja</td>") && html.contains("<td>no / nee</td>"), "yes/no, not 1/0");
    assert!(text.contains("with the collection agency / bij het incassobureau"), "status codes translated");
    assert!(text.contains("to us / aan ons") && text.contains("from us / van ons"), "message direction translated");
    assert!(text.contains("direct debit / automatische incasso"), "payment kind translated");
    assert!(text.contains("iDEAL (Currence iDEAL B.V.) and your bank"), "provider code as the register names it");
    for internal in [
        "<th>Record / Record</th>",
        "<th>Customer / Klant</th>",
        "<th>Invoice / Factuur</th>",
        "<th>Session / Sessie</th>",
    ] {
        assert!(!html.contains(internal), "internal id column {internal} shown");
    }
    // The Art. 15(1) summary first, the tables after.
    let at = |s: &str| text.find(s).unwrap_or_else(|| panic!("{s:?} missing"));
    let summary = [
        "What we hold about you / Wat we van je hebben",
        "Why we process it / Waarom we het verwerken",
        "Who received your data / Wie je gegevens ontving",
        "How long we keep it / Hoe lang we het bewaren",
        "Your rights / Jouw rechten",
        "Contact and complaints / Contact en klachten",
    ];
    let first_table = at("Given name / Voornaam");
    for s in summary {
        assert!(at(s) < first_table, "{s} comes before the data");
    }
    // The Dutch layer uses the register's Dutch texts.
    assert!(text.contains("Uitvoering van een overeenkomst"), "legal basis in Dutch");
    assert!(text.contains("Verwerkt iDEAL-betalingen"), "recipient description in Dutch");
    assert!(text.contains("Binnen de EU."), "safeguards in Dutch");

    // The terminal answer too.
    let out = env.run(&["access", &access]);
    assert!(out.status.success());
    let terminal = support::stdout(&out);
    assert!(terminal.contains("€ 18,70") && terminal.contains(&local) && terminal.contains("yes / ja"));
    assert!(!terminal.contains("1870") && !terminal.contains(&issued));
    assert!(terminal.find("What we hold about you").unwrap() < terminal.find("Given name / Voornaam").unwrap());
}

#[test]
fn the_dunning_decision_is_explained_per_invoice_with_its_thresholds() {
    let env = env_at("2026-07-01T08:00:00Z");
    let access = verified(&env, "access", &KEES);
    let (a, _): (Answer, i32) = env.json(&["access", &access]);
    let d = &a.automated_decisions[0];
    let threshold = |step: &str| d.steps.iter().find(|s| s.step == step).unwrap().days_after_due;
    let inv = d.invoices.iter().find(|i| i.invoice_number == "VF-307388").expect("the invoice that went to collection");
    assert_eq!(inv.amount_cents, 1870);
    let steps: Vec<&str> = inv.steps.iter().map(|s| s.step.as_str()).collect();
    assert_eq!(steps, ["reminder", "final-reminder", "blocked", "collection"]);
    let due = dutch_date(&inv.due_at);
    for s in &inv.steps {
        assert_eq!(s.days_after_due, Some(threshold(&s.step)));
        assert_eq!(s.threshold_on, Some(due + Days::new(threshold(&s.step) as u64)), "{}", s.step);
    }
    let pay_by = due + Days::new(threshold("reminder") as u64 - 1);
    assert_eq!(inv.pay_by, Some(pay_by));
    assert!(d.invoices.iter().all(|i| i.invoice_number != "VF-290733"), "a paid invoice without dunning is not listed");

    let (_, text) = index_text(&env, &access);
    assert!(text.contains("Invoice VF-307388 / Factuur VF-307388"));
    assert!(text.contains("Days after the due date / Dagen na de vervaldatum"), "the thresholds are in index.html");
    for (step, days) in [("final reminder / laatste herinnering", 21), ("services blocked / diensten geblokkeerd", 35)]
    {
        assert!(text.contains(&format!("{step} {days}")), "threshold of {step}");
    }
    let blocked_on = (due + Days::new(35)).format("%d-%m-%Y").to_string();
    assert!(text.contains(&blocked_on), "the day the block threshold was crossed");
    let by = pay_by.format("%d-%m-%Y").to_string();
    assert!(text.contains(&format!("had this invoice been paid in full by {by}")), "what would have changed it");
    assert!(text.contains(&format!("was deze factuur uiterlijk {by} volledig betaald")));
    assert!(text.contains(&format!("due on {}", due.format("%d-%m-%Y"))), "the data the decision used");
}

#[test]
fn index_html_and_the_terminal_answer_name_the_controller_in_full() {
    let env = env_at("2026-07-01T08:00:00Z");
    let access = verified(&env, "access", &KEES);
    let (address, kvk, contact): (String, String, String) = env
        .sql()
        .query_row("SELECT address, kvk_number, privacy_email FROM controller", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    let (_, text) = index_text(&env, &access);
    for expected in [
        "Controller / Verwerkingsverantwoordelijke Virtio ICT B.V.".to_owned(),
        format!("Address / Adres {address}"),
        format!("KvK number / KvK-nummer {kvk}"),
        format!("Privacy contact / Privacycontact {contact}"),
    ] {
        assert!(text.contains(&expected), "index.html lacks {expected:?}");
    }
    let terminal = support::stdout(&env.run(&["access", &access]));
    for expected in [
        format!("KvK number / KvK-nummer: {kvk}"),
        format!("Privacy contact / Privacycontact: {contact}"),
        format!("Address / Adres: {address}"),
    ] {
        assert!(terminal.contains(&expected), "terminal answer lacks {expected:?}");
    }
}

#[test]
fn coded_reasons_reach_the_person_in_dutch_and_english() {
    let env = env_at("2026-07-01T08:00:00Z");
    let objection = verified(&env, "object", &[&KEES[..], &["--purpose", "debugging"]].concat());
    apply(&env, "object", &objection);
    let out = env.run(&["object", "--decide", &objection, "--override", "--grounds", "network-security"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let access = verified(&env, "access", &KEES);
    let out = env.run(&["request", "extend", &access, "--months", "1", "--reason", "complexity"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let letter = env.messages(&access).pop().expect("the extension letter");
    assert!(letter.body.contains("Reden: het verzoek is complex (art. 12 lid 3 AVG)"), "{}", letter.body);
    assert!(letter.body.contains("Reason: the request is complex (Art. 12(3) GDPR)"), "{}", letter.body);

    let (_, text) = index_text(&env, &access);
    assert!(
        text.contains("the request is complex (Art. 12(3) GDPR) / het verzoek is complex (art. 12 lid 3 AVG)"),
        "extension reason"
    );
    assert!(
        text.contains("de verwerking is nodig om ons netwerk en je gegevens te beveiligen (overweging 49 AVG)"),
        "the grounds weighed, in Dutch"
    );
    assert!(
        text.contains("your objection was upheld")
            || text.contains("we decided on your objection / we hebben over je bezwaar besloten")
    );
    assert!(!text.contains("network-security") && !text.contains(" complexity"), "no codes");
}

/// A column the data map declares as a recipient's code (`[[table.recipient]] column`, the
/// web shop's carrier of a shipment) is shown by the recipient's name in the person's copy.
#[test]
fn a_recipient_code_in_the_person_s_rows_reads_as_the_recipient_s_name() {
    let env = Env::with_fixture_at("webshop", "2026-11-02T09:00:00Z");
    let email: String = env
        .sql()
        .query_row(
            "SELECT e.address FROM shipment s JOIN shop_order o ON o.id = s.order_id JOIN customer c ON c.id = o.customer_id
             JOIN email_address e ON e.person_id = c.person_id WHERE s.carrier = 'postnl' ORDER BY e.is_primary DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let access = verified(&env, "access", &["--email", &email]);
    let (html, text) = index_text(&env, &access);
    assert!(text.contains("PostNL Pakketten Benelux B.V."), "{text}");
    assert!(!html.contains("<td>postnl</td>"), "the carrier's code is not shown as it is stored");
    let out = env.run(&["access", &access]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    assert!(!support::stdout(&out).contains(" postnl "), "{}", support::stdout(&out));
}
