//! A store's register back into a company file (`dsr register export`): the register as
//! `Register::load` reads it, every column; orders follow the register's own (`sort`, then code), so exporting a store loaded
//! from an exported file gives the same file again.

use crate::store::db::Db;

use super::*;

/// The store's register as a company file; `None` when the store has no register yet. Read with
/// [`crate::register::Register::load`], the one reader of the register tables, in its order.
pub fn export(conn: &dyn Db) -> anyhow::Result<Option<CompanyFile>> {
    let reg = crate::register::Register::load(conn)?;
    let Some(c) = reg.controller else {
        return Ok(None);
    };
    let systems = crate::tasks::Systems::load(conn)?;
    let mut legal_basis = Vec::new();
    conn.each("SELECT code, article, name_en, name_nl, kind FROM legal_basis ORDER BY rowid", &[], &mut |r| {
        let kind: Option<String> = r.get(4)?;
        legal_basis.push(LegalBasis {
            code: r.get(0)?,
            kind: kind.as_deref().and_then(crate::map::BasisKind::named),
            article: r.get(1)?,
            name_en: r.get(2)?,
            name_nl: r.get(3)?,
        });
        Ok(())
    })?;
    let controller = Controller {
        name: c.name,
        legal_form: c.legal_form,
        kvk_number: c.kvk_number,
        address: c.address,
        website: c.website,
        privacy_email: c.privacy_email,
        policy_version: c.policy_version,
        rights_contact_en: c.rights_contact_en,
        rights_contact_nl: c.rights_contact_nl,
        complaint_authority: c.complaint_authority,
        complaint_url: c.complaint_url,
        court_route_en: c.court_route_en,
        court_route_nl: c.court_route_nl,
    };
    let purpose = reg
        .purposes
        .into_iter()
        .map(|p| Purpose {
            code: p.code,
            name_en: p.name_en,
            name_nl: p.name_nl,
            legal_basis: p.legal_basis,
            direct_marketing: p.direct_marketing,
            description_en: p.description_en,
            description_nl: p.description_nl,
            legitimate_interest_en: p.legitimate_interest_en,
            legitimate_interest_nl: p.legitimate_interest_nl,
            withdraw_how_en: p.withdraw_how_en,
            withdraw_how_nl: p.withdraw_how_nl,
        })
        .collect();
    let category = reg
        .categories
        .into_iter()
        .map(|c| Category {
            code: c.code,
            name_en: c.name_en,
            name_nl: c.name_nl,
            description_en: c.description_en,
            description_nl: c.description_nl,
            provenance: c.provenance,
            source_en: c.source_en,
            source_nl: c.source_nl,
            portable: c.portable,
            mail_encrypted: c.mail_encrypted,
            purposes: c.purposes,
        })
        .collect();
    let recipient = reg
        .recipients
        .into_iter()
        .map(|r| Recipient {
            code: r.code,
            name: r.name,
            kind: r.kind,
            country: r.country,
            outside_eea: r.outside_eea,
            safeguards_en: r.safeguards_en,
            safeguards_nl: r.safeguards_nl,
            received_via: r.received_via,
            purpose: r.purpose,
            description_en: r.description_en,
            description_nl: r.description_nl,
            categories: r.categories,
        })
        .collect();
    let retention = reg
        .retention
        .into_iter()
        .map(|r| RetentionRule {
            code: r.code,
            category: r.category,
            table: r.table,
            period_months: r.period_months,
            starts_at: r.starts_at,
            description_en: r.description_en,
            description_nl: r.description_nl,
            set_by: r.set_by,
            justification: r.justification,
        })
        .collect();
    let automated_decision = reg
        .automated_decisions
        .into_iter()
        .map(|d| AutomatedDecision {
            code: d.code,
            name_en: d.name_en,
            name_nl: d.name_nl,
            purpose: d.purpose,
            logic_en: d.logic_en,
            logic_nl: d.logic_nl,
            consequences_en: d.consequences_en,
            consequences_nl: d.consequences_nl,
            human_review_en: d.human_review_en,
            human_review_nl: d.human_review_nl,
            step: d
                .steps
                .into_iter()
                .map(|s| DecisionStep {
                    step_no: s.step_no,
                    step: s.step,
                    days_after_due: s.days_after_due,
                    description_en: s.description_en,
                    description_nl: s.description_nl,
                })
                .collect(),
        })
        .collect();
    let right = reg
        .rights
        .into_iter()
        .map(|r| Right {
            code: r.code,
            article: r.article,
            name_en: r.name_en,
            name_nl: r.name_nl,
            how_en: r.how_en,
            how_nl: r.how_nl,
        })
        .collect();
    Ok(Some(CompanyFile {
        format_version: FORMAT_VERSION,
        company: c.fixture,
        controller,
        letters: crate::letters::settings::load(conn)?,
        legal_basis,
        purpose,
        category,
        recipient,
        retention,
        automated_decision,
        right,
        database: crate::store::attached::listed(conn)?,
        system: systems.list,
        letter_after_tasks: systems.letter_after_tasks,
        table: crate::store::personal::DataMap::load(conn)?.tables.clone(),
    }))
}
