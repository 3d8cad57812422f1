//! The right of access (GDPR Art. 15): every record of the person per category, and the
//! Art. 15(1)(a)-(h) items read from the register: purposes, categories, the named recipients
//! that received this person's data, retention, the rights, the complaint route, the source of
//! data not collected from the person, the automated dunning decision with its logic and
//! consequences, and the safeguards of transfers outside the EEA (Art. 15(2)).
//! The copy is complete (Art. 15(3), CJEU C-487/21): it also holds the person's own requests and
//! what the rights changed ([`history`]), and the dunning decision explained per invoice.
//! A password hash is never disclosed; that one exists is. Values stay raw here (cents, codes,
//! UTC); the person-facing renderings translate them (`archive::present`).

use serde::Serialize;

use crate::clock::Clock;
use crate::recipients::{self, PersonRecipient};
use crate::register::{AutomatedDecision, Controller, Register, Right};
use crate::request::Request;
use crate::rights::history::{self, History, InvoiceDunning};
use crate::store::db::{Conn, Db};
use crate::subject::{self, Subject};

mod rows;
pub use rows::{each_row, each_row_of, value, RowStream, HELD_ROWS};

pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
pub struct AccessReport<'c> {
    pub format_version: u32,
    pub generated_at: String,
    pub request: RequestSummary,
    pub controller: Controller,
    pub person: PersonSummary,
    pub categories: Vec<CategoryData<'c>>,
    pub recipients: Vec<PersonRecipient>,
    pub transfers_outside_eea: Vec<Transfer>,
    pub automated_decisions: Vec<DecisionAnswer>,
    pub rights: Vec<Right>,
    pub complaint: Complaint,
    /// The person's own requests and what the rights changed (Art. 15(3), C-487/21).
    pub history: History,
    /// The register the answer was read from, for the person-facing renderings.
    #[serde(skip)]
    pub register: Register,
}

#[derive(Debug, Serialize)]
pub struct RequestSummary {
    pub id: String,
    pub right: String,
    pub received_on: chrono::NaiveDate,
    pub deadline: chrono::NaiveDate,
    pub verified_at: Option<String>,
    pub verification_method: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PersonSummary {
    pub roles: Vec<String>,
    pub records: u64,
}

#[derive(Debug, Serialize)]
pub struct CategoryData<'c> {
    pub code: String,
    pub name_en: String,
    pub name_nl: String,
    pub description_en: String,
    pub description_nl: String,
    pub provenance: String,
    pub source_en: String,
    pub source_nl: String,
    pub purposes: Vec<PurposeRef>,
    pub retention: Vec<RetentionRef>,
    pub records: u64,
    pub tables: Vec<TableData<'c>>,
}

#[derive(Debug, Serialize)]
pub struct PurposeRef {
    pub code: String,
    pub name_en: String,
    pub name_nl: String,
    pub legal_basis: String,
    pub article: String,
}

#[derive(Debug, Serialize)]
pub struct RetentionRef {
    pub table: String,
    pub period_months: i64,
    pub starts_at: String,
    pub description_en: String,
    pub description_nl: String,
}

#[derive(Debug, Serialize)]
pub struct TableData<'c> {
    pub table: String,
    pub records: u64,
    /// Streamed from the store while the answer is written: memory stays bounded.
    pub rows: RowStream<'c>,
}

#[derive(Debug, Serialize)]
pub struct Transfer {
    pub recipient: String,
    pub country: String,
    pub safeguards_en: String,
    pub safeguards_nl: String,
}

#[derive(Debug, Serialize)]
pub struct DecisionAnswer {
    #[serde(flatten)]
    pub decision: AutomatedDecision,
    /// Steps taken on this person's invoices.
    pub applied_to_you: u64,
    /// Per invoice: the data used, the thresholds crossed and when, what would have changed the outcome.
    pub invoices: Vec<InvoiceDunning>,
}

#[derive(Debug, Serialize)]
pub struct Complaint {
    pub authority: String,
    pub url: String,
    pub court_route_en: String,
    pub court_route_nl: String,
}

pub fn build<'c>(conn: &'c dyn Db, clock: &Clock, request: &Request, s: &Subject) -> anyhow::Result<AccessReport<'c>> {
    let register = Register::load(conn)?;
    let controller = register.controller.clone().ok_or_else(crate::error::Error::no_register)?;
    let map = &register.map;
    // The rows of a person with few are read once, here, and counted as read; those of a person
    // with many are counted here and read while the answer is written.
    let all: Vec<&String> = register.categories.iter().flat_map(|c| &c.tables).collect();
    let mut held = rows::held(conn, &all, s)?.map(Vec::into_iter);
    let mut categories = Vec::new();
    let mut serving = recipients::Serving::default();
    for c in &register.categories {
        let mut tables = Vec::new();
        for t in &c.tables {
            let scope = map.scope(t).ok_or_else(|| anyhow::anyhow!("table {t} reaches no person in the data map"))?;
            let (records, rows) = match held.as_mut().and_then(Iterator::next) {
                Some(read) => (read.len() as u64, RowStream::held(conn, t, *s, read)),
                None => (subject::count(conn, &scope, s)?, RowStream::streamed(conn, t, *s)),
            };
            if records > 0 {
                tables.push(TableData { table: t.clone(), records, rows });
            }
        }
        if tables.is_empty() {
            continue;
        }
        let mut purposes = Vec::new();
        for code in &c.purposes {
            // A purpose that cannot serve this person (a contract's without one, a consent's
            // without consent) is not one their data is processed for.
            if serving.serves(conn, &register, s, code)? {
                purposes.extend(register.purposes.iter().find(|p| &p.code == code));
            }
        }
        let purposes = purposes
            .into_iter()
            .map(|p| PurposeRef {
                code: p.code.clone(),
                name_en: p.name_en.clone(),
                name_nl: p.name_nl.clone(),
                legal_basis: p.legal_basis_name_en.clone(),
                article: p.legal_basis_article.clone(),
            })
            .collect();
        let retention = register
            .retention_of_category(&c.code)
            .map(|r| RetentionRef {
                table: r.table.clone(),
                period_months: r.period_months,
                starts_at: r.starts_at.clone(),
                description_en: r.description_en.clone(),
                description_nl: r.description_nl.clone(),
            })
            .collect();
        categories.push(CategoryData {
            code: c.code.clone(),
            name_en: c.name_en.clone(),
            name_nl: c.name_nl.clone(),
            description_en: c.description_en.clone(),
            description_nl: c.description_nl.clone(),
            provenance: c.provenance.clone(),
            source_en: c.source_en.clone(),
            source_nl: c.source_nl.clone(),
            purposes,
            retention,
            records: tables.iter().map(|t| t.records).sum(),
            tables,
        });
    }
    let recipients = recipients::for_person(conn, &register, s)?;
    let transfers_outside_eea = recipients
        .iter()
        .filter(|r| r.outside_eea)
        .map(|r| Transfer {
            recipient: r.name.clone(),
            country: r.country.clone(),
            safeguards_en: r.safeguards_en.clone(),
            safeguards_nl: r.safeguards_nl.clone(),
        })
        .collect();
    let mut automated_decisions = Vec::new();
    for d in &register.automated_decisions {
        let invoices = history::dunning(conn, d, s)?;
        let applied_to_you = invoices.iter().map(|i| i.steps.len() as u64).sum();
        automated_decisions.push(DecisionAnswer { decision: d.clone(), applied_to_you, invoices });
    }
    let history = history::load(conn, &register, s)?;
    Ok(AccessReport {
        format_version: FORMAT_VERSION,
        generated_at: clock.timestamp(),
        request: RequestSummary {
            id: request.id.clone(),
            right: request.right.clone(),
            received_on: request.received_on,
            deadline: request.deadline(),
            verified_at: request.verified_at.clone(),
            verification_method: request.verification_method.clone(),
        },
        person: PersonSummary {
            roles: subject::roles_counted(conn, map, s.person_id, |table| {
                // Every table of a category was counted; those with no rows were left out.
                let listed = register.categories.iter().any(|c| c.tables.iter().any(|t| t == table));
                let rows = categories.iter().flat_map(|c| &c.tables).find(|t| t.table == table);
                listed.then(|| rows.map_or(0, |t| t.records))
            })?,
            records: categories.iter().map(|c| c.records).sum(),
        },
        categories,
        recipients,
        transfers_outside_eea,
        automated_decisions,
        rights: register.rights.clone(),
        complaint: Complaint {
            authority: controller.complaint_authority.clone(),
            url: controller.complaint_url.clone(),
            court_route_en: controller.court_route_en.clone(),
            court_route_nl: controller.court_route_nl.clone(),
        },
        controller,
        history,
        register,
    })
}

/// Where a prepared access answer went: a file, JSON on stdout, or the officer's terminal.
#[derive(Debug, Clone, Copy)]
pub enum Shown {
    File,
    Json,
    Terminal,
}

/// Build the answer to verified access request `id`, record it as prepared and hand it over
/// with `hand_over` (write the file, print it), all in one transaction: the answer is read from
/// one snapshot (the counts it reports are those of the rows it holds), and if it cannot be
/// handed over, nothing is recorded. Prepared, not delivered: viewing or writing a file completes
/// nothing (`--send` or `dsr request delivered` does).
pub fn prepared(
    conn: &dyn Conn,
    clock: &Clock,
    id: &str,
    to: Shown,
    hand_over: impl FnOnce(&Request, &AccessReport<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let tx = conn.begin_own()?;
    let (req, s) = super::verified(&*tx, id, crate::request::Kind::Access)?;
    let report = build(&*tx, clock, &req, &s)?;
    let to = match to {
        Shown::File => "file",
        Shown::Json => "json",
        Shown::Terminal => "terminal",
    };
    crate::request::answered(
        &*tx,
        clock,
        &req,
        serde_json::json!({"categories": report.categories.len(), "records": report.person.records, "to": to}),
    )?;
    hand_over(&req, &report)?;
    drop(report); // it reads through the transaction
    tx.commit()?;
    Ok(())
}
