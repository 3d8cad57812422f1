//! The register of processing (GDPR Art. 30) as the store holds it: purposes with their legal
//! basis, categories with source and retention, named recipients with country and transfer
//! safeguards, the automated dunning decision and the rights. Every answer reads it from here.

use crate::store::db::{text, Db, Row, Value};
use serde::Serialize;

pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct Register {
    pub format_version: u32,
    pub controller: Option<Controller>,
    pub purposes: Vec<Purpose>,
    pub categories: Vec<Category>,
    pub recipients: Vec<Recipient>,
    pub retention: Vec<RetentionRule>,
    pub automated_decisions: Vec<AutomatedDecision>,
    pub rights: Vec<Right>,
    /// The data map: the tables that hold personal data (not part of `dsr register --json`,
    /// which tells the register; `dsr register export` writes both).
    #[serde(skip)]
    pub map: std::sync::Arc<crate::store::personal::DataMap>,
    /// The `register.json` texts this register has given archives (see `archive::KeptTexts`).
    #[serde(skip)]
    pub archive_texts: std::sync::Arc<crate::archive::KeptTexts>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Controller {
    pub fixture: String,
    pub name: String,
    pub legal_form: Option<String>,
    pub kvk_number: Option<String>,
    pub address: Option<String>,
    pub website: Option<String>,
    pub privacy_email: String,
    pub policy_version: String,
    pub rights_contact_en: String,
    pub rights_contact_nl: String,
    pub complaint_authority: String,
    pub complaint_url: String,
    pub court_route_en: String,
    pub court_route_nl: String,
    /// How the letters are written (`[letters]` of the company file; docs/letters.md).
    #[serde(skip)]
    pub letters: std::sync::Arc<crate::letters::Settings>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Purpose {
    pub code: String,
    pub name_en: String,
    pub name_nl: String,
    pub legal_basis: String,
    /// Which basis of Art. 6(1) the purpose rests on (the basis's `kind`, or its code when that
    /// names one); None in a store whose register does not say (`register check` refuses that).
    #[serde(skip)]
    pub basis: Option<crate::map::BasisKind>,
    pub legal_basis_article: String,
    pub legal_basis_name_en: String,
    pub legal_basis_name_nl: String,
    pub direct_marketing: bool,
    pub description_en: String,
    pub description_nl: String,
    pub withdraw_how_en: Option<String>,
    pub withdraw_how_nl: Option<String>,
    /// Art. 6(1)(f): the interest weighed, in words (Art. 13(1)(d)).
    pub legitimate_interest_en: Option<String>,
    pub legitimate_interest_nl: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Category {
    pub code: String,
    pub name_en: String,
    pub name_nl: String,
    pub description_en: String,
    pub description_nl: String,
    pub provenance: String,
    pub source_en: String,
    pub source_nl: String,
    pub portable: bool,
    /// Its data goes by mail only encrypted (`mail_encrypted`).
    pub mail_encrypted: bool,
    pub tables: Vec<String>,
    pub purposes: Vec<String>,
}

/// A category's code, English name and tables ([`Register::category_tables`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryTables {
    pub code: String,
    pub name_en: String,
    pub tables: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Recipient {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub country: String,
    pub outside_eea: bool,
    pub safeguards_en: String,
    pub safeguards_nl: String,
    pub received_via: String,
    pub purpose: Option<String>,
    pub description_en: String,
    pub description_nl: String,
    pub categories: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RetentionRule {
    pub code: String,
    pub category: String,
    pub table: String,
    pub period_months: i64,
    pub starts_at: String,
    pub description_en: String,
    pub description_nl: String,
    pub set_by: String,
    pub justification: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AutomatedDecision {
    pub code: String,
    pub name_en: String,
    pub name_nl: String,
    pub purpose: String,
    pub logic_en: String,
    pub logic_nl: String,
    pub consequences_en: String,
    pub consequences_nl: String,
    pub human_review_en: String,
    pub human_review_nl: String,
    pub steps: Vec<DecisionStep>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DecisionStep {
    pub step_no: i64,
    pub step: String,
    pub days_after_due: i64,
    pub description_en: String,
    pub description_nl: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Right {
    pub code: String,
    pub article: String,
    pub name_en: String,
    pub name_nl: String,
    pub how_en: String,
    pub how_nl: String,
}

/// Every row of a query, each read by `f`.
fn all<T>(
    db: &dyn Db,
    sql: &str,
    params: &[Value],
    mut f: impl FnMut(&Row) -> anyhow::Result<T>,
) -> anyhow::Result<Vec<T>> {
    let mut out = Vec::new();
    db.each(sql, params, &mut |r| {
        out.push(f(&r)?);
        Ok(())
    })?;
    Ok(out)
}

/// Two-column rows of text: a key and a code listed under it.
fn pairs(db: &dyn Db, sql: &str) -> anyhow::Result<Vec<(String, String)>> {
    all(db, sql, &[], |r| Ok((r.get(0)?, r.get(1)?)))
}

/// Give each (key, code) row to the item whose code is the key, in the rows' order.
fn attach<T>(
    items: &mut [T],
    rows: Vec<(String, String)>,
    code: impl Fn(&T) -> &String,
    mut add: impl FnMut(&mut T, String),
) {
    for (key, value) in rows {
        if let Some(item) = items.iter_mut().find(|i| *code(i) == key) {
            add(item, value);
        }
    }
}

impl Register {
    /// Read the whole register from the store, from one snapshot.
    pub fn load(db: &dyn Db) -> anyhow::Result<Register> {
        db.reading(Register::read)
    }

    fn read(db: &dyn Db) -> anyhow::Result<Register> {
        let controller = db
            .first(
                "SELECT fixture, name, legal_form, kvk_number, address, website, privacy_email, policy_version,
                        rights_contact_en, rights_contact_nl, complaint_authority, complaint_url, court_route_en, court_route_nl
                 FROM controller WHERE id = 1",
                &[],
                |r| {
                    Ok(Controller {
                        fixture: r.get(0)?,
                        name: r.get(1)?,
                        legal_form: r.get(2)?,
                        kvk_number: r.get(3)?,
                        address: r.get(4)?,
                        website: r.get(5)?,
                        privacy_email: r.get(6)?,
                        policy_version: r.get(7)?,
                        rights_contact_en: r.get(8)?,
                        rights_contact_nl: r.get(9)?,
                        complaint_authority: r.get(10)?,
                        complaint_url: r.get(11)?,
                        court_route_en: r.get(12)?,
                        court_route_nl: r.get(13)?,
                        letters: Default::default(),
                    })
                },
            )?;
        let controller = match controller {
            Some(mut c) => {
                if let Some(section) = crate::letters::settings::load(db)? {
                    c.letters = std::sync::Arc::new(section.into());
                }
                Some(c)
            }
            None => None,
        };
        let purposes = all(
            db,
            "SELECT p.code, p.name_en, p.name_nl, p.legal_basis, b.article, b.name_en, p.direct_marketing,
                    p.description_en, p.description_nl, p.withdraw_how_en, p.withdraw_how_nl, b.name_nl,
                    p.legitimate_interest_en, p.legitimate_interest_nl, coalesce(b.kind, b.code)
             FROM purpose p JOIN legal_basis b ON b.code = p.legal_basis ORDER BY p.sort, p.code",
            &[],
            |r| {
                Ok(Purpose {
                    code: r.get(0)?,
                    name_en: r.get(1)?,
                    name_nl: r.get(2)?,
                    legal_basis: r.get(3)?,
                    basis: crate::map::BasisKind::named(&r.get::<String>(14)?),
                    legal_basis_article: r.get(4)?,
                    legal_basis_name_en: r.get(5)?,
                    legal_basis_name_nl: r.get(11)?,
                    direct_marketing: r.get(6)?,
                    description_en: r.get(7)?,
                    description_nl: r.get(8)?,
                    withdraw_how_en: r.get(9)?,
                    withdraw_how_nl: r.get(10)?,
                    legitimate_interest_en: r.get(12)?,
                    legitimate_interest_nl: r.get(13)?,
                })
            },
        )?;
        let mut categories = all(
            db,
            "SELECT code, name_en, name_nl, description_en, description_nl, provenance, source_en, source_nl, portable,
                    mail_encrypted
             FROM category ORDER BY sort, code",
            &[],
            |r| {
                Ok(Category {
                    code: r.get(0)?,
                    name_en: r.get(1)?,
                    name_nl: r.get(2)?,
                    description_en: r.get(3)?,
                    description_nl: r.get(4)?,
                    provenance: r.get(5)?,
                    source_en: r.get(6)?,
                    source_nl: r.get(7)?,
                    portable: r.get(8)?,
                    mail_encrypted: r.get(9)?,
                    tables: Vec::new(),
                    purposes: Vec::new(),
                })
            },
        )?;
        // Each category's tables (in the order the map lists them) and purposes, read in two
        // statements for all categories rather than two per category.
        let tables = pairs(db, "SELECT category, table_name FROM category_table ORDER BY rowid")?;
        attach(&mut categories, tables, |c| &c.code, |c, table| c.tables.push(table));
        let served = pairs(
            db,
            "SELECT cp.category, cp.purpose FROM category_purpose cp JOIN purpose p ON p.code = cp.purpose
             ORDER BY p.sort, p.code",
        )?;
        attach(&mut categories, served, |c| &c.code, |c, purpose| c.purposes.push(purpose));
        let mut recipients = all(
            db,
            "SELECT code, name, kind, country, outside_eea, safeguards_en, safeguards_nl, received_via, purpose,
                    description_en, description_nl FROM recipient ORDER BY rowid",
            &[],
            |r| {
                Ok(Recipient {
                    code: r.get(0)?,
                    name: r.get(1)?,
                    kind: r.get(2)?,
                    country: r.get(3)?,
                    outside_eea: r.get(4)?,
                    safeguards_en: r.get(5)?,
                    safeguards_nl: r.get(6)?,
                    received_via: r.get(7)?,
                    purpose: r.get(8)?,
                    description_en: r.get(9)?,
                    description_nl: r.get(10)?,
                    categories: Vec::new(),
                })
            },
        )?;
        let received = pairs(
            db,
            "SELECT rc.recipient, rc.category FROM recipient_category rc JOIN category c ON c.code = rc.category
             ORDER BY c.sort, c.code",
        )?;
        attach(&mut recipients, received, |r| &r.code, |r, category| r.categories.push(category));
        let retention = all(
            db,
            "SELECT r.code, r.category, r.table_name, r.period_months, r.starts_at, r.description_en, r.description_nl,
                    r.set_by, r.justification
             FROM retention_rule r JOIN category c ON c.code = r.category ORDER BY c.sort, c.code, r.rowid",
            &[],
            |r| {
                Ok(RetentionRule {
                    code: r.get(0)?,
                    category: r.get(1)?,
                    table: r.get(2)?,
                    period_months: r.get(3)?,
                    starts_at: r.get(4)?,
                    description_en: r.get(5)?,
                    description_nl: r.get(6)?,
                    set_by: r.get(7)?,
                    justification: r.get(8)?,
                })
            },
        )?;
        let mut automated_decisions = all(
            db,
            "SELECT code, name_en, name_nl, purpose, logic_en, logic_nl, consequences_en, consequences_nl,
                    human_review_en, human_review_nl FROM automated_decision ORDER BY code",
            &[],
            |r| {
                Ok(AutomatedDecision {
                    code: r.get(0)?,
                    name_en: r.get(1)?,
                    name_nl: r.get(2)?,
                    purpose: r.get(3)?,
                    logic_en: r.get(4)?,
                    logic_nl: r.get(5)?,
                    consequences_en: r.get(6)?,
                    consequences_nl: r.get(7)?,
                    human_review_en: r.get(8)?,
                    human_review_nl: r.get(9)?,
                    steps: Vec::new(),
                })
            },
        )?;
        for d in &mut automated_decisions {
            d.steps = all(
                db,
                "SELECT step_no, step, days_after_due, description_en, description_nl
                 FROM automated_decision_step WHERE decision = ?1 ORDER BY step_no",
                &[text(&*d.code)],
                |r| {
                    Ok(DecisionStep {
                        step_no: r.get(0)?,
                        step: r.get(1)?,
                        days_after_due: r.get(2)?,
                        description_en: r.get(3)?,
                        description_nl: r.get(4)?,
                    })
                },
            )?;
        }
        let rights = all(
            db,
            "SELECT code, article, name_en, name_nl, how_en, how_nl FROM data_right ORDER BY sort, code",
            &[],
            |r| {
                Ok(Right {
                    code: r.get(0)?,
                    article: r.get(1)?,
                    name_en: r.get(2)?,
                    name_nl: r.get(3)?,
                    how_en: r.get(4)?,
                    how_nl: r.get(5)?,
                })
            },
        )?;
        Ok(Register {
            format_version: FORMAT_VERSION,
            controller,
            purposes,
            categories,
            recipients,
            retention,
            automated_decisions,
            rights,
            map: crate::store::personal::DataMap::load(db)?,
            archive_texts: Default::default(),
        })
    }

    /// The categories' codes and English names with their tables, in the register's order,
    /// read in one statement: what `dsr lookup` needs of the register, without reading the rest.
    /// Categories without a table are left out (no person has records in them).
    pub fn category_tables(db: &dyn Db) -> anyhow::Result<Vec<CategoryTables>> {
        let mut out: Vec<CategoryTables> = Vec::new();
        db.each(
            "SELECT c.code, c.name_en, ct.table_name FROM category c JOIN category_table ct ON ct.category = c.code
             ORDER BY c.sort, c.code, ct.rowid",
            &[],
            &mut |r| {
                let code: String = r.get(0)?;
                let table: String = r.get(2)?;
                match out.last_mut() {
                    Some(last) if last.code == code => last.tables.push(table),
                    _ => out.push(CategoryTables { code, name_en: r.get(1)?, tables: vec![table] }),
                }
                Ok(())
            },
        )?;
        Ok(out)
    }

    pub fn category(&self, code: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.code == code)
    }

    /// The category a personal-data table belongs to.
    pub fn category_of_table(&self, table: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.tables.iter().any(|t| t == table))
    }

    pub fn retention_of_category<'a>(&'a self, code: &'a str) -> impl Iterator<Item = &'a RetentionRule> + 'a {
        self.retention.iter().filter(move |r| r.category == code)
    }
}
