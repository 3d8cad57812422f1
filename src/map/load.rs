//! A company file into a store: the register tables filled in one transaction, checked
//! against the store (every table named exists or is created from its declared columns, every
//! retention rule can be carried out) before it commits. Used by `dsr init --register FILE` inside `store::create`, so a file
//! that fails leaves no store behind.

use super::check_map::is_identifier;
use super::{CompanyFile, Problem};
use crate::store::db::Db;
use crate::store::personal;
use crate::vals;

/// [`load`] into a store being made (`init --register`, `init --fixture`, the store `register
/// check` loads into): first the built-in tables its company does not use are left out
/// ([`personal::leave_out_builtin`]), so that a table the file declares under such a name is made
/// as declared.
pub fn load_new(tx: &dyn Db, file: &CompanyFile) -> anyhow::Result<Vec<Problem>> {
    personal::leave_out_builtin(tx, &file.table)?;
    load(tx, file)
}

/// Fill the register tables from `file`. Problems found against the store come back as a list.
pub fn load(tx: &dyn Db, file: &CompanyFile) -> anyhow::Result<Vec<Problem>> {
    // Tables the store lacks are made from their declared columns; a table without columns
    // must exist already.
    let mut problems = declarations(tx, file)?;
    if !problems.is_empty() {
        return Ok(problems);
    }
    let refused = personal::create_missing(tx, &file.table)?;
    for (i, why) in &refused {
        let i = *i;
        problems.push(Problem {
            line: None,
            key: format!("table[{i}].name"),
            what: format!("table {:?} cannot be created: {why}", file.table[i].name),
        });
    }
    problems.extend(undeclared_columns(tx, file, &refused)?);
    for (i, t) in file.table.iter().enumerate() {
        if let Some(db) = &t.database {
            if let Some(lacking) = personal::rights_lacking(tx, t, false)? {
                return Err(
                    crate::error::Error::SchemaDenied { schema: db.clone(), table: t.name.clone(), lacking }.into()
                );
            }
            if personal::columns_of_table(tx, t)?.is_none() {
                problems.push(Problem {
                    line: None,
                    key: format!("table[{i}].database"),
                    what: format!("the company database {db:?} has no table {:?}", t.name),
                });
            }
            continue;
        }
        if !refused.iter().any(|(r, _)| *r == i) && !personal::table_exists(tx, &t.name)? {
            problems.push(Problem {
                line: None,
                key: format!("table[{i}].name"),
                what: format!(
                    "the store has no table {:?} and the map declares no [[table.column]] to make it from",
                    t.name
                ),
            });
        }
    }
    if problems.is_empty() {
        // The columns the map names are its tables' (map/check_columns.rs).
        problems = super::check_against(file, tx)?;
    }
    if !problems.is_empty() {
        return Ok(problems);
    }
    insert(tx, file)?;
    if tx.dialect() == crate::store::db::Dialect::Postgres {
        // A table or identifier the file adds is sampled no more than those `dsr migrate` made.
        let schema: String = tx.one("SELECT current_schema()::text", &[], |r| r.get(0))?;
        let map = personal::DataMap { tables: file.table.clone() };
        for sql in crate::store::postgres::forensic::no_statistics_sql(&crate::store::postgres::ident(&schema), &map) {
            tx.run(&sql, &[])?;
        }
    }
    // A retention rule the engine cannot carry out is refused here, not reported as "removed 0" nightly.
    let map = crate::store::personal::DataMap { tables: file.table.clone() };
    for rule in &crate::register::Register::load(tx)?.retention {
        if let Err(why) = crate::retention::check(&map, rule) {
            let i = file.retention.iter().position(|r| r.code == rule.code).unwrap_or(0);
            problems.push(Problem { line: None, key: format!("retention[{i}]"), what: why });
        }
    }
    Ok(problems)
}

/// A table of the store that the map declares columns for is not made again: each declared
/// column it lacks is a problem (the company's table would not be the one it describes).
fn undeclared_columns(tx: &dyn Db, file: &CompanyFile, refused: &[(usize, String)]) -> anyhow::Result<Vec<Problem>> {
    let mut problems = Vec::new();
    for (i, t) in file.table.iter().enumerate() {
        if t.database.is_some() || t.column.is_empty() || refused.iter().any(|(r, _)| *r == i) {
            continue;
        }
        let Some(has) = personal::columns_of(tx, &t.name)? else { continue };
        for (j, c) in t.column.iter().enumerate() {
            // PostgreSQL keeps names in lower case (`store::postgres::ident`).
            if !has.iter().any(|h| h.eq_ignore_ascii_case(&c.name)) {
                problems.push(Problem {
                    line: None,
                    key: format!("table[{i}].column[{j}].name"),
                    what: format!(
                        "the store's table {:?} has no column {:?}, and a table the store has is not made again from its [[table.column]] entries; declare only the columns it has, or give the company's table another name",
                        t.name, c.name
                    ),
                });
            }
        }
    }
    Ok(problems)
}

/// The `[[table.column]]` declarations of the tables `init` is to create: names that can stand
/// in SQL, each once, `references` naming a table of the map, and the key and link columns among
/// them.
pub(super) fn declarations(tx: &dyn Db, file: &CompanyFile) -> anyhow::Result<Vec<Problem>> {
    let mut problems = Vec::new();
    let mut say = |key: String, what: String| problems.push(Problem { line: None, key, what });
    for (i, t) in file.table.iter().enumerate() {
        if t.column.is_empty() || t.database.is_some() || personal::table_exists(tx, &t.name)? {
            continue;
        }
        for (j, c) in t.column.iter().enumerate() {
            if !is_identifier(&c.name) {
                say(
                    format!("table[{i}].column[{j}].name"),
                    format!("{:?} is not a column name (letters, digits and _)", c.name),
                );
            } else if let Some(o) = t.column[..j].iter().find(|o| o.name.eq_ignore_ascii_case(&c.name)) {
                // SQL names are case-insensitive: "Email" and "email" are one column.
                let also =
                    if o.name == c.name { String::new() } else { format!(" (as {:?}: SQL names ignore case)", o.name) };
                say(format!("table[{i}].column[{j}].name"), format!("column {:?} is declared twice{also}", c.name));
            }
            if let Some(r) = &c.references {
                if !file.table.iter().any(|o| &o.name == r) {
                    say(
                        format!("table[{i}].column[{j}].references"),
                        format!("{r:?} is not a [[table]] of the data map"),
                    );
                }
            }
        }
        if !t.column.iter().any(|c| c.name == t.key) {
            say(
                format!("table[{i}].column"),
                format!(
                    "the key {:?} is not among the declared columns (e.g. name = {:?}, type = \"integer\")",
                    t.key, t.key
                ),
            );
        }
        if let Some(link) = &t.link {
            if !t.column.iter().any(|c| c.name == link.column) {
                say(
                    format!("table[{i}].link.column"),
                    format!("{:?} is not one of the table's [[table.column]] declarations", link.column),
                );
            }
        }
    }
    Ok(problems)
}

fn insert(tx: &dyn Db, f: &CompanyFile) -> anyhow::Result<()> {
    let c = &f.controller;
    tx.run(
        "INSERT INTO controller (id, fixture, name, legal_form, kvk_number, address, website, privacy_email,
             policy_version, rights_contact_en, rights_contact_nl, complaint_authority, complaint_url,
             court_route_en, court_route_nl)
         VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        &vals![
            f.company,
            c.name,
            c.legal_form,
            c.kvk_number,
            c.address,
            c.website,
            c.privacy_email,
            c.policy_version,
            c.rights_contact_en,
            c.rights_contact_nl,
            c.complaint_authority,
            c.complaint_url,
            c.court_route_en,
            c.court_route_nl
        ]?,
    )?;
    for b in &f.legal_basis {
        tx.run(
            "INSERT INTO legal_basis (code, article, name_en, name_nl, kind) VALUES (?1, ?2, ?3, ?4, ?5)",
            &vals![b.code, b.article, b.name_en, b.name_nl, b.kind.map(|k| k.name())]?,
        )?;
    }
    // The order in the file is the register's order: `sort` counts in tens.
    for (i, p) in f.purpose.iter().enumerate() {
        tx.run(
            "INSERT INTO purpose (code, name_en, name_nl, legal_basis, direct_marketing, description_en,
                 description_nl, legitimate_interest_en, legitimate_interest_nl, withdraw_how_en, withdraw_how_nl, sort)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            &vals![
                p.code,
                p.name_en,
                p.name_nl,
                p.legal_basis,
                p.direct_marketing,
                p.description_en,
                p.description_nl,
                p.legitimate_interest_en,
                p.legitimate_interest_nl,
                p.withdraw_how_en,
                p.withdraw_how_nl,
                (i as i64 + 1) * 10
            ]?,
        )?;
    }
    for (i, x) in f.category.iter().enumerate() {
        tx.run(
            "INSERT INTO category (code, name_en, name_nl, description_en, description_nl, provenance, source_en,
                 source_nl, portable, sort, mail_encrypted)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            &vals![
                x.code,
                x.name_en,
                x.name_nl,
                x.description_en,
                x.description_nl,
                x.provenance,
                x.source_en,
                x.source_nl,
                x.portable,
                (i as i64 + 1) * 10,
                x.mail_encrypted
            ]?,
        )?;
        for p in &x.purposes {
            tx.run("INSERT INTO category_purpose (category, purpose) VALUES (?1, ?2)", &vals![x.code, p]?)?;
        }
    }
    // The data map, with the index of which category each table belongs to.
    crate::store::personal::save(tx, &f.table)?;
    crate::store::attached::save(tx, &f.database)?;
    crate::tasks::Systems::save(tx, &f.system, f.letter_after_tasks)?;
    crate::letters::settings::save(tx, f.letters.as_ref())?;
    for r in &f.recipient {
        tx.run(
            "INSERT INTO recipient (code, name, kind, country, outside_eea, safeguards_en, safeguards_nl, received_via,
                 purpose, description_en, description_nl)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            &vals![
                r.code,
                r.name,
                r.kind,
                r.country,
                r.outside_eea,
                r.safeguards_en,
                r.safeguards_nl,
                r.received_via,
                r.purpose,
                r.description_en,
                r.description_nl
            ]?,
        )?;
        for cat in &r.categories {
            tx.run("INSERT INTO recipient_category (recipient, category) VALUES (?1, ?2)", &vals![r.code, cat]?)?;
        }
    }
    for r in &f.retention {
        tx.run(
            "INSERT INTO retention_rule (code, category, table_name, period_months, starts_at, description_en,
                 description_nl, set_by, justification)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            &vals![
                r.code,
                r.category,
                r.table,
                r.period_months,
                r.starts_at,
                r.description_en,
                r.description_nl,
                r.set_by,
                r.justification
            ]?,
        )?;
    }
    for d in &f.automated_decision {
        tx.run(
            "INSERT INTO automated_decision (code, name_en, name_nl, purpose, logic_en, logic_nl, consequences_en,
                 consequences_nl, human_review_en, human_review_nl)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            &vals![
                d.code,
                d.name_en,
                d.name_nl,
                d.purpose,
                d.logic_en,
                d.logic_nl,
                d.consequences_en,
                d.consequences_nl,
                d.human_review_en,
                d.human_review_nl
            ]?,
        )?;
        for s in &d.step {
            tx.run(
                "INSERT INTO automated_decision_step (decision, step_no, step, days_after_due, description_en,
                     description_nl)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                &vals![d.code, s.step_no, s.step, s.days_after_due, s.description_en, s.description_nl]?,
            )?;
        }
    }
    for (i, r) in f.right.iter().enumerate() {
        tx.run(
            "INSERT INTO data_right (code, article, name_en, name_nl, how_en, how_nl, sort)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            &vals![r.code, r.article, r.name_en, r.name_nl, r.how_en, r.how_nl, (i as i64 + 1) * 10]?,
        )?;
    }
    Ok(())
}
