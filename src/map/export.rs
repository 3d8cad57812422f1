//! A store's register tables back into a company file (`dsr register export`). Every column
//! is read; orders follow the register's own (`sort`, then code), so exporting a store loaded
//! from an exported file gives the same file again.

use rusqlite::{Connection, OptionalExtension, Row};

use super::*;

fn all<T>(conn: &Connection, sql: &str, f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>) -> rusqlite::Result<Vec<T>> {
    conn.prepare(sql)?.query_map([], f)?.collect()
}

fn codes(conn: &Connection, sql: &str, key: &str) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached(sql)?.query_map([key], |r| r.get(0))?.collect()
}

/// The store's register as a company file; `None` when the store has no register yet.
pub fn export(conn: &Connection) -> rusqlite::Result<Option<CompanyFile>> {
    let Some((company, controller)) = conn
        .query_row(
            "SELECT fixture, name, legal_form, kvk_number, address, website, privacy_email, policy_version,
                    rights_contact_en, rights_contact_nl, complaint_authority, complaint_url, court_route_en,
                    court_route_nl
             FROM controller WHERE id = 1",
            [],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    Controller {
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
                    },
                ))
            },
        )
        .optional()?
    else {
        return Ok(None);
    };
    let legal_basis = all(conn, "SELECT code, article, name_en, name_nl FROM legal_basis ORDER BY rowid", |r| {
        Ok(LegalBasis { code: r.get(0)?, article: r.get(1)?, name_en: r.get(2)?, name_nl: r.get(3)? })
    })?;
    let purpose = all(
        conn,
        "SELECT code, name_en, name_nl, legal_basis, direct_marketing, description_en, description_nl,
                legitimate_interest_en, legitimate_interest_nl, withdraw_how_en, withdraw_how_nl
         FROM purpose ORDER BY sort, code",
        |r| {
            Ok(Purpose {
                code: r.get(0)?,
                name_en: r.get(1)?,
                name_nl: r.get(2)?,
                legal_basis: r.get(3)?,
                direct_marketing: r.get(4)?,
                description_en: r.get(5)?,
                description_nl: r.get(6)?,
                legitimate_interest_en: r.get(7)?,
                legitimate_interest_nl: r.get(8)?,
                withdraw_how_en: r.get(9)?,
                withdraw_how_nl: r.get(10)?,
            })
        },
    )?;
    let mut category = all(
        conn,
        "SELECT code, name_en, name_nl, description_en, description_nl, provenance, source_en, source_nl, portable
         FROM category ORDER BY sort, code",
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
                tables: Vec::new(),
                purposes: Vec::new(),
            })
        },
    )?;
    for c in &mut category {
        c.tables = codes(conn, "SELECT table_name FROM category_table WHERE category = ?1 ORDER BY rowid", &c.code)?;
        c.purposes = codes(
            conn,
            "SELECT cp.purpose FROM category_purpose cp JOIN purpose p ON p.code = cp.purpose
             WHERE cp.category = ?1 ORDER BY p.sort, p.code",
            &c.code,
        )?;
    }
    let mut recipient = all(
        conn,
        "SELECT code, name, kind, country, outside_eea, safeguards_en, safeguards_nl, received_via, purpose,
                description_en, description_nl FROM recipient ORDER BY rowid",
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
    for rc in &mut recipient {
        rc.categories = codes(
            conn,
            "SELECT rc.category FROM recipient_category rc JOIN category c ON c.code = rc.category
             WHERE rc.recipient = ?1 ORDER BY c.sort, c.code",
            &rc.code,
        )?;
    }
    let retention = all(
        conn,
        "SELECT r.code, r.category, r.table_name, r.period_months, r.starts_at, r.description_en, r.description_nl,
                r.set_by, r.justification
         FROM retention_rule r JOIN category c ON c.code = r.category ORDER BY c.sort, c.code, r.rowid",
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
    let mut automated_decision = all(
        conn,
        "SELECT code, name_en, name_nl, purpose, logic_en, logic_nl, consequences_en, consequences_nl,
                human_review_en, human_review_nl FROM automated_decision ORDER BY code",
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
                step: Vec::new(),
            })
        },
    )?;
    for d in &mut automated_decision {
        d.step = conn
            .prepare_cached(
                "SELECT step_no, step, days_after_due, description_en, description_nl
                 FROM automated_decision_step WHERE decision = ?1 ORDER BY step_no",
            )?
            .query_map([&d.code], |r| {
                Ok(DecisionStep {
                    step_no: r.get(0)?,
                    step: r.get(1)?,
                    days_after_due: r.get(2)?,
                    description_en: r.get(3)?,
                    description_nl: r.get(4)?,
                })
            })?
            .collect::<Result<_, _>>()?;
    }
    let right =
        all(conn, "SELECT code, article, name_en, name_nl, how_en, how_nl FROM data_right ORDER BY sort, code", |r| {
            Ok(Right {
                code: r.get(0)?,
                article: r.get(1)?,
                name_en: r.get(2)?,
                name_nl: r.get(3)?,
                how_en: r.get(4)?,
                how_nl: r.get(5)?,
            })
        })?;
    Ok(Some(CompanyFile {
        format_version: FORMAT_VERSION,
        company,
        controller,
        legal_basis,
        purpose,
        category,
        recipient,
        retention,
        automated_decision,
        right,
    }))
}
