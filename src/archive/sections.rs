//! The person's copy (GDPR Art. 15), section by section, as plain text tables in English and
//! Dutch: who we are, then the Art. 15(1) summary (what we hold, why, who received it, how long,
//! your rights, contact and complaint route), the automated decision explained per invoice
//! (Art. 15(1)(h), CJEU C-203/22), and what became of the person's requests. `index.html` and the
//! terminal answer render the same sections, so both say the same thing.

use crate::recipients::PersonRecipient;
use crate::register::{AutomatedDecision, Category, Controller, Register};
use crate::rights::history::{History, InvoiceDunning};

use super::present::{bi, code_or, code_pair, date, euros, local_date, reason_bi, when, yes_no, Names};

/// A heading, paragraphs (English, Dutch) and an optional table.
pub struct Section {
    /// 2: a section; 3: a part of the one before.
    pub level: u8,
    pub en: String,
    pub nl: String,
    pub text: Vec<(String, String)>,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Paragraphs after the table.
    pub after: Vec<(String, String)>,
}

impl Section {
    fn new(level: u8, en: impl Into<String>, nl: impl Into<String>) -> Section {
        Section {
            level,
            en: en.into(),
            nl: nl.into(),
            text: Vec::new(),
            header: Vec::new(),
            rows: Vec::new(),
            after: Vec::new(),
        }
    }
    fn then(mut self, en: impl Into<String>, nl: impl Into<String>) -> Section {
        self.after.push((en.into(), nl.into()));
        self
    }
    fn say(mut self, en: impl Into<String>, nl: impl Into<String>) -> Section {
        self.text.push((en.into(), nl.into()));
        self
    }
    fn table(mut self, header: &[(&str, &str)], rows: Vec<Vec<String>>) -> Section {
        self.header = header.iter().map(|(en, nl)| bi(en, nl)).collect();
        self.rows = rows;
        self
    }
}

/// What the copy is made of.
pub struct Copy<'a> {
    pub controller: &'a Controller,
    pub register: &'a Register,
    /// The categories the person has records in, with the number of records.
    pub held: Vec<(&'a Category, u64)>,
    pub recipients: &'a [PersonRecipient],
    /// Each automated decision of the register with the person's invoices it touched.
    pub decisions: Vec<(&'a AutomatedDecision, &'a [InvoiceDunning])>,
    /// The person's requests; None in a portability export.
    pub history: Option<&'a History>,
}

/// Who answers: the controller's name, address, KvK number and privacy contact (Art. 13(1)(a), 15).
pub fn controller_lines(c: &Controller) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let name = match &c.legal_form {
        Some(form) => format!("{} ({form})", c.name),
        None => c.name.clone(),
    };
    out.push((bi("Controller", "Verwerkingsverantwoordelijke"), name));
    if let Some(a) = &c.address {
        out.push((bi("Address", "Adres"), a.clone()));
    }
    if let Some(k) = &c.kvk_number {
        out.push((bi("KvK number", "KvK-nummer"), k.clone()));
    }
    out.push((bi("Privacy contact", "Privacycontact"), c.privacy_email.clone()));
    if let Some(w) = &c.website {
        out.push(("Website".to_owned(), w.clone()));
    }
    out
}

/// The Art. 15(1) summary, in the order a person asks: what, why, who, how long, rights, contact.
pub fn summary(copy: &Copy<'_>) -> Vec<Section> {
    let r = copy.register;
    let c = copy.controller;
    let mut out = Vec::new();
    let held: Vec<Vec<String>> = copy
        .held
        .iter()
        .map(|(cat, n)| vec![bi(&cat.name_en, &cat.name_nl), n.to_string(), bi(&cat.source_en, &cat.source_nl)])
        .collect();
    out.push(
        Section::new(2, "What we hold about you", "Wat we van je hebben")
            .say("The tables further down show every record; this is the overview (Art. 15(1)(b),(g)).", "De tabellen verderop tonen elk gegeven; dit is het overzicht (art. 15 lid 1 b en g AVG).")
            .table(&[("Category", "Categorie"), ("Records", "Gegevens"), ("Source", "Bron")], held),
    );
    let why: Vec<Vec<String>> = copy
        .held
        .iter()
        .map(|(cat, _)| {
            let purposes: Vec<String> = cat
                .purposes
                .iter()
                .filter_map(|p| r.purposes.iter().find(|x| &x.code == p))
                .map(|p| {
                    format!(
                        "{}: {} ({})",
                        bi(&p.name_en, &p.name_nl),
                        bi(&p.legal_basis_name_en, &p.legal_basis_name_nl),
                        p.legal_basis_article
                    )
                })
                .collect();
            vec![bi(&cat.name_en, &cat.name_nl), purposes.join("\n")]
        })
        .collect();
    out.push(
        Section::new(2, "Why we process it", "Waarom we het verwerken")
            .say("Purposes and legal basis per category (Art. 15(1)(a)).", "Doelen en grondslag per categorie (art. 15 lid 1 a AVG).")
            .table(&[("Category", "Categorie"), ("Purposes: legal basis", "Doelen: grondslag")], why),
    );
    let who: Vec<Vec<String>> = copy
        .recipients
        .iter()
        .map(|p| {
            let (en, nl) = r
                .recipients
                .iter()
                .find(|x| x.code == p.code)
                .map(|x| (x.description_en.as_str(), x.description_nl.as_str()))
                .unwrap_or_default();
            vec![p.name.clone(), p.country.clone(), bi(en, nl), bi(&p.safeguards_en, &p.safeguards_nl)]
        })
        .collect();
    let mut recipients = Section::new(2, "Who received your data", "Wie je gegevens ontving")
        .say("Named recipients of your data, and the safeguards of transfers outside the EEA (Art. 15(1)(c), 15(2)).", "De ontvangers van jouw gegevens bij naam, en de waarborgen bij doorgifte buiten de EER (art. 15 lid 1 c en lid 2 AVG).");
    if who.is_empty() {
        recipients = recipients.say("No one received your data.", "Niemand ontving je gegevens.");
    } else {
        recipients = recipients.table(
            &[("Recipient", "Ontvanger"), ("Country", "Land"), ("What they do", "Wat ze doen"), ("Safeguards", "Waarborgen")],
            who,
        );
    }
    out.push(recipients);
    let retention: Vec<Vec<String>> = copy
        .held
        .iter()
        .flat_map(|(cat, _)| {
            r.retention_of_category(&cat.code)
                .map(|x| vec![bi(&cat.name_en, &cat.name_nl), bi(&x.description_en, &x.description_nl)])
        })
        .collect();
    out.push(
        Section::new(2, "How long we keep it", "Hoe lang we het bewaren")
            .say("Retention per category (Art. 15(1)(d)).", "Bewaartermijn per categorie (art. 15 lid 1 d AVG).")
            .table(&[("Category", "Categorie"), ("Retention", "Bewaartermijn")], retention),
    );
    let rights: Vec<Vec<String>> =
        r.rights.iter().map(|x| vec![bi(&x.name_en, &x.name_nl), x.article.clone(), bi(&x.how_en, &x.how_nl)]).collect();
    out.push(
        Section::new(2, "Your rights", "Jouw rechten")
            .say("Art. 15(1)(e),(f).", "Art. 15 lid 1 e en f AVG.")
            .table(&[("Right", "Recht"), ("Article", "Artikel"), ("How", "Hoe")], rights),
    );
    out.push(
        Section::new(2, "Contact and complaints", "Contact en klachten")
            .say(c.rights_contact_en.clone(), c.rights_contact_nl.clone())
            .say(
                format!("Privacy contact: {}.", c.privacy_email),
                format!("Privacycontact: {}.", c.privacy_email),
            )
            .say(
                format!("You may complain to the {} ({}).", c.complaint_authority, c.complaint_url),
                format!("Je kunt een klacht indienen bij de {} ({}).", c.complaint_authority, c.complaint_url),
            )
            .say(c.court_route_en.clone(), c.court_route_nl.clone()),
    );
    out
}

/// Each automated decision: its logic, its thresholds, and what it did to each of the person's
/// invoices (which data, which threshold was crossed on which day, what would have changed it).
pub fn decisions(copy: &Copy<'_>) -> Vec<Section> {
    let mut out = Vec::new();
    for (d, invoices) in &copy.decisions {
        let thresholds: Vec<Vec<String>> = d
            .steps
            .iter()
            .map(|s| vec![code_or("step", &s.step), s.days_after_due.to_string(), bi(&s.description_en, &s.description_nl)])
            .collect();
        let mut s = Section::new(2, format!("Automated decision: {}", d.name_en), format!("Geautomatiseerd besluit: {}", d.name_nl))
            .say(d.logic_en.clone(), d.logic_nl.clone())
            .say(d.consequences_en.clone(), d.consequences_nl.clone())
            .say(d.human_review_en.clone(), d.human_review_nl.clone())
            .say("The thresholds: each step is taken when an invoice is still unpaid this many days after its due date.", "De drempels: elke stap volgt als een factuur dit aantal dagen na de vervaldatum nog niet is betaald.")
            .table(&[("Step", "Stap"), ("Days after the due date", "Dagen na de vervaldatum"), ("What happens", "Wat er gebeurt")], thresholds);
        if invoices.is_empty() {
            s = s.say("None of your invoices went through this process.", "Geen van je facturen heeft dit proces doorlopen.");
        }
        out.push(s);
        for i in invoices.iter() {
            out.push(invoice(i));
        }
    }
    out
}

fn invoice(i: &InvoiceDunning) -> Section {
    let amount = euros(i.amount_cents);
    let due = local_date(&i.due_at).map(date).unwrap_or_default();
    let (status_en, status_nl) = code_pair("status", &i.status).unwrap_or((&i.status, &i.status));
    let (paid_en, paid_nl) = match &i.paid_at {
        Some(p) => (format!("paid on {}", when(Some(p))), format!("betaald op {}", when(Some(p)))),
        None => ("no payment received".to_owned(), "geen betaling ontvangen".to_owned()),
    };
    let rows = i
        .steps
        .iter()
        .map(|s| {
            vec![
                code_or("step", &s.step),
                s.days_after_due.map(|n| format!("{n}")).unwrap_or_default(),
                s.threshold_on.map(date).unwrap_or_default(),
                when(Some(&s.occurred_at)),
                yes_no(s.automated).to_owned(),
            ]
        })
        .collect();
    let mut s = Section::new(3, format!("Invoice {}", i.invoice_number), format!("Factuur {}", i.invoice_number))
        .say(
            format!("The data the decision used: invoice {} of {amount}, due on {due}; {paid_en}; status now: {status_en}.", i.invoice_number),
            format!("De gegevens die het besluit gebruikte: factuur {} van {amount}, te betalen uiterlijk {due}; {paid_nl}; status nu: {status_nl}.", i.invoice_number),
        )
        .table(
            &[
                ("Step", "Stap"),
                ("Threshold: days after due date", "Drempel: dagen na vervaldatum"),
                ("Threshold crossed on", "Drempel overschreden op"),
                ("Step taken on", "Stap genomen op"),
                ("Automated", "Automatisch"),
            ],
            rows,
        );
    if let Some(by) = i.pay_by {
        s = s.then(
            format!("What would have changed the outcome: had this invoice been paid in full by {}, none of these steps would have been taken. Paying now stops the next steps; asking for a human review pauses them.", date(by)),
            format!("Wat de uitkomst had veranderd: was deze factuur uiterlijk {} volledig betaald, dan was geen van deze stappen genomen. Nu betalen stopt de volgende stappen; een menselijke beoordeling vragen pauzeert ze.", date(by)),
        );
    }
    s
}

/// What became of the person's requests, and what the rights changed (Art. 15(3)).
pub fn history(h: &History, names: &Names<'_>) -> Vec<Section> {
    let mut out = Vec::new();
    let requests = h
        .requests
        .iter()
        .map(|q| {
            let mut outcome = code_or("state", &q.state);
            if let Some(r) = &q.rejection_reason {
                outcome = format!("{outcome}: {}", code_or("rejection_reason", r));
            }
            if let Some(n) = &q.rejection_note {
                outcome = format!("{outcome} ({})", reason_bi(n));
            }
            let mut due = when(Some(&q.due_on));
            if let Some(x) = &q.extended_due_on {
                due = format!(
                    "{} ({}: {})",
                    when(Some(x)),
                    bi("extended", "verlengd"),
                    reason_bi(q.extension_reason.as_deref().unwrap_or_default())
                );
            }
            vec![
                q.id.clone(),
                code_or("right", &q.right),
                when(Some(&q.received_on)),
                due,
                outcome,
                when(q.closed_at.as_deref()),
            ]
        })
        .collect();
    out.push(
        Section::new(2, "Your requests and what became of them", "Je verzoeken en wat ermee gebeurde").table(
            &[
                ("Request", "Verzoek"),
                ("Right", "Recht"),
                ("Received", "Ontvangen"),
                ("Due", "Uiterlijk"),
                ("Outcome", "Uitkomst"),
                ("Closed", "Afgesloten"),
            ],
            requests,
        ),
    );
    if !h.restrictions.is_empty() {
        let rows = h
            .restrictions
            .iter()
            .map(|x| {
                vec![
                    x.request.clone(),
                    code_or("ground", &x.ground),
                    x.category.as_deref().map_or_else(|| bi("all your data", "al je gegevens"), |c| names.category(c)),
                    when(Some(&x.started_at)),
                    when(x.lifted_at.as_deref()),
                    x.lift_reason.as_deref().map(reason_bi).unwrap_or_default(),
                ]
            })
            .collect();
        out.push(Section::new(3, "Restrictions (Art. 18)", "Beperkingen (art. 18)").table(
            &[("Request", "Verzoek"), ("Ground", "Grond"), ("Data", "Gegevens"), ("Since", "Sinds"), ("Lifted", "Opgeheven"), ("Why lifted", "Waarom opgeheven")],
            rows,
        ));
    }
    if !h.objections.is_empty() {
        let rows = h
            .objections
            .iter()
            .map(|x| {
                vec![
                    x.request.clone(),
                    names.purpose(&x.purpose),
                    code_or("outcome", &x.outcome),
                    x.grounds.as_deref().map(reason_bi).unwrap_or_default(),
                    when(x.decided_at.as_deref()),
                ]
            })
            .collect();
        out.push(Section::new(3, "Objections (Art. 21)", "Bezwaren (art. 21)").table(
            &[("Request", "Verzoek"), ("Purpose", "Doel"), ("Outcome", "Uitkomst"), ("Grounds weighed", "Gewogen gronden"), ("Decided", "Besloten")],
            rows,
        ));
    }
    if !h.decision_reviews.is_empty() {
        let rows = h
            .decision_reviews
            .iter()
            .map(|x| {
                vec![
                    x.request.clone(),
                    names.decision(&x.decision),
                    when(Some(&x.requested_at)),
                    x.outcome.as_deref().map_or_else(|| code_or("outcome", "pending"), |o| code_or("outcome", o)),
                    x.outcome_note.as_deref().map(reason_bi).unwrap_or_default(),
                    when(x.decided_at.as_deref()),
                ]
            })
            .collect();
        out.push(Section::new(3, "Human reviews of the automated decision (Art. 22(3))", "Menselijke beoordelingen van het geautomatiseerde besluit (art. 22 lid 3)").table(
            &[("Request", "Verzoek"), ("Decision", "Besluit"), ("Asked", "Gevraagd"), ("Outcome", "Uitkomst"), ("Why", "Waarom"), ("Decided", "Besloten")],
            rows,
        ));
    }
    if !h.notifications.is_empty() {
        let rows = h
            .notifications
            .iter()
            .map(|x| {
                vec![
                    x.request.clone(),
                    code_or("right", &x.right),
                    x.recipient_name.clone(),
                    code_or("notification", &x.state),
                    when(x.notified_at.as_deref()),
                ]
            })
            .collect();
        out.push(
            Section::new(3, "Recipients told of a change (Art. 19)", "Ontvangers geïnformeerd over een wijziging (art. 19)")
                .table(&[("Request", "Verzoek"), ("About", "Over"), ("Recipient", "Ontvanger"), ("Status", "Status"), ("When", "Wanneer")], rows),
        );
    }
    let mut suppression = Section::new(3, "Suppression list", "Blokkeerlijst");
    if h.suppression.is_empty() {
        suppression = suppression.say("None of your identifiers is on our suppression list.", "Geen van je gegevens staat op onze blokkeerlijst.");
    } else {
        let rows = h
            .suppression
            .iter()
            .map(|x| vec![code_or("kind", &x.kind), code_or("reason", &x.reason), when(Some(&x.added_at))])
            .collect();
        suppression = suppression
            .say("These identifiers of yours are on our suppression list, kept only as a one-way code, so that they are never used for direct marketing again.", "Deze gegevens van jou staan op onze blokkeerlijst, alleen als onomkeerbare code, zodat ze nooit meer voor direct marketing worden gebruikt.")
            .table(&[("Identifier", "Gegeven"), ("Why", "Waarom"), ("Since", "Sinds")], rows);
    }
    out.push(suppression);
    out
}
