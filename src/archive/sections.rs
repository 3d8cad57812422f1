//! The person's copy (GDPR Art. 15), section by section, as plain text tables in English and
//! Dutch: who we are, then the Art. 15(1) summary (what we hold, why, who received it, how long,
//! your rights, contact and complaint route), the automated decision explained per invoice
//! (Art. 15(1)(h), CJEU C-203/22), and what became of the person's requests. `index.html` and the
//! terminal answer render the same sections, so both say the same thing.

use crate::recipients::PersonRecipient;
use crate::register::{AutomatedDecision, Category, Controller, Register};
use crate::rights::history::{History, InvoiceDunning};

pub use super::requests::history;

use super::present::{bi, code_or, code_pair, date, euros, local_date, when, yes_no};

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
    pub(super) fn new(level: u8, en: impl Into<String>, nl: impl Into<String>) -> Section {
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
    pub(super) fn then(mut self, en: impl Into<String>, nl: impl Into<String>) -> Section {
        self.after.push((en.into(), nl.into()));
        self
    }
    pub(super) fn say(mut self, en: impl Into<String>, nl: impl Into<String>) -> Section {
        self.text.push((en.into(), nl.into()));
        self
    }
    pub(super) fn table(mut self, header: &[(&str, &str)], rows: Vec<Vec<String>>) -> Section {
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
            .say(
                "The tables further down show every record; this is the overview (Art. 15(1)(b),(g)).",
                "De tabellen verderop tonen elk gegeven; dit is het overzicht (art. 15 lid 1 b en g AVG).",
            )
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
            .say(
                "Purposes and legal basis per category (Art. 15(1)(a)).",
                "Doelen en grondslag per categorie (art. 15 lid 1 a AVG).",
            )
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
            // Why this person's data went there (a parcel shipped, a payment method), as the
            // data map words it.
            let why = p.because.iter().filter(|b| !b.is_empty()).cloned().collect::<Vec<_>>().join("; ");
            vec![p.name.clone(), p.country.clone(), bi(en, nl), why, bi(&p.safeguards_en, &p.safeguards_nl)]
        })
        .collect();
    let mut recipients = Section::new(2, "Who received your data", "Wie je gegevens ontving")
        .say("Named recipients of your data, and the safeguards of transfers outside the EEA (Art. 15(1)(c), 15(2)).", "De ontvangers van jouw gegevens bij naam, en de waarborgen bij doorgifte buiten de EER (art. 15 lid 1 c en lid 2 AVG).");
    if who.is_empty() {
        recipients = recipients.say("No one received your data.", "Niemand ontving je gegevens.");
    } else {
        recipients = recipients.table(
            &[
                ("Recipient", "Ontvanger"),
                ("Country", "Land"),
                ("What they do", "Wat ze doen"),
                ("Why yours went there", "Waarom de jouwe daar kwamen"),
                ("Safeguards", "Waarborgen"),
            ],
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
    let rights: Vec<Vec<String>> = r
        .rights
        .iter()
        .map(|x| vec![bi(&x.name_en, &x.name_nl), x.article.clone(), bi(&x.how_en, &x.how_nl)])
        .collect();
    out.push(
        Section::new(2, "Your rights", "Jouw rechten")
            .say("Art. 15(1)(e),(f).", "Art. 15 lid 1 e en f AVG.")
            .table(&[("Right", "Recht"), ("Article", "Artikel"), ("How", "Hoe")], rights),
    );
    out.push(
        Section::new(2, "Contact and complaints", "Contact en klachten")
            .say(c.rights_contact_en.clone(), c.rights_contact_nl.clone())
            .say(format!("Privacy contact: {}.", c.privacy_email), format!("Privacycontact: {}.", c.privacy_email))
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
            .map(|s| {
                vec![code_or("step", &s.step), s.days_after_due.to_string(), bi(&s.description_en, &s.description_nl)]
            })
            .collect();
        let mut s = Section::new(
            2,
            format!("Automated decision: {}", d.name_en),
            format!("Geautomatiseerd besluit: {}", d.name_nl),
        )
        .say(d.logic_en.clone(), d.logic_nl.clone())
        .say(d.consequences_en.clone(), d.consequences_nl.clone())
        .say(d.human_review_en.clone(), d.human_review_nl.clone())
        .say(
            "The thresholds: each step is taken when an invoice is still unpaid this many days after its due date.",
            "De drempels: elke stap volgt als een factuur dit aantal dagen na de vervaldatum nog niet is betaald.",
        )
        .table(
            &[
                ("Step", "Stap"),
                ("Days after the due date", "Dagen na de vervaldatum"),
                ("What happens", "Wat er gebeurt"),
            ],
            thresholds,
        );
        if invoices.is_empty() {
            s = s.say(
                "None of your invoices went through this process.",
                "Geen van je facturen heeft dit proces doorlopen.",
            );
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
