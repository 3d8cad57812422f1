//! `dsr lookup`: the officer's internal check "do we hold data on this person?". Per category,
//! the tables and how many records each holds for the person; an ambiguous identifier lists the
//! candidates instead. Discloses nothing but counts, and is not a request.

use crate::store::db::Db;
use serde::Serialize;

use crate::map::table::{IdentifierKind, LocalPart};
use crate::register::Register;
use crate::store::personal::DataMap;
use crate::subject::{self, Candidate, Identifier, Resolution, Subject};

pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
pub struct LookupReport {
    pub format_version: u32,
    pub identifier: Identifier,
    /// "found", "ambiguous" or "not-found".
    pub status: &'static str,
    pub person: Option<PersonSummary>,
    pub categories: Vec<CategoryCount>,
    pub total_records: u64,
    pub candidates: Vec<Candidate>,
    /// An email address that names no one, in a store whose map compares the local part
    /// exactly: how many people hold the address with its local part in another case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_another_case: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct PersonSummary {
    pub person_id: i64,
    pub customer_number: Option<String>,
    pub roles: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct CategoryCount {
    pub category: String,
    pub name: String,
    pub records: u64,
    pub tables: Vec<TableCount>,
}

#[derive(Debug, Serialize)]
pub struct TableCount {
    pub table: String,
    pub records: u64,
}

pub fn lookup(conn: &dyn Db, identifier: Identifier) -> anyhow::Result<LookupReport> {
    let mut report = LookupReport {
        format_version: FORMAT_VERSION,
        identifier,
        status: "not-found",
        person: None,
        categories: Vec::new(),
        total_records: 0,
        candidates: Vec::new(),
        in_another_case: None,
    };
    match subject::resolve(conn, &report.identifier)? {
        Resolution::NotFound => {
            let map = DataMap::load(conn)?;
            if let (Identifier::Email(address), LocalPart::Exact) = (&report.identifier, map.email_rule()) {
                report.in_another_case = Some(map.people_with_address_in_any_case(conn, address)?.len());
            }
        }
        Resolution::Ambiguous(candidates) => {
            report.status = "ambiguous";
            report.candidates = candidates;
        }
        Resolution::Found(subject) => {
            report.status = "found";
            report.person = Some(summary(conn, &subject)?);
            report.categories = counts(conn, &subject)?;
            report.total_records = report.categories.iter().map(|c| c.records).sum();
        }
    }
    Ok(report)
}

fn summary(conn: &dyn Db, s: &Subject) -> anyhow::Result<PersonSummary> {
    let map = DataMap::load(conn)?;
    let customer_number = map.identifier_of(conn, IdentifierKind::CustomerNumber, s.person_id)?;
    Ok(PersonSummary { person_id: s.person_id, customer_number, roles: subject::roles(conn, s.person_id)? })
}

/// Per category of the register, the person's record count in each of its tables; categories
/// and tables without records are left out.
pub fn counts(conn: &dyn Db, s: &Subject) -> anyhow::Result<Vec<CategoryCount>> {
    let map = DataMap::load(conn)?;
    let mut out = Vec::new();
    for category in Register::category_tables(conn)? {
        let mut tables = Vec::new();
        for table in &category.tables {
            let scope = map.scope(table).ok_or_else(|| {
                anyhow::anyhow!("the register names table {table}, which no person reaches in the data map")
            })?;
            let records = subject::count(conn, &scope, s)?;
            if records > 0 {
                tables.push(TableCount { table: table.clone(), records });
            }
        }
        if !tables.is_empty() {
            out.push(CategoryCount {
                category: category.code,
                name: category.name_en,
                records: tables.iter().map(|t| t.records).sum(),
                tables,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::register::{CategoryTables, Register};

    #[test]
    fn the_categories_lookup_reads_are_the_registers_in_its_order() {
        for fixture in crate::store::fixture::FIXTURES {
            let mut store = crate::store::Store::in_memory().unwrap();
            let clock = crate::clock::Clock::parse("2026-11-01T00:00:00Z").unwrap();
            crate::store::fixture::load(&mut store.conn, fixture, clock, true).unwrap();
            let whole: Vec<CategoryTables> = Register::load(&store.conn)
                .unwrap()
                .categories
                .into_iter()
                .filter(|c| !c.tables.is_empty())
                .map(|c| CategoryTables { code: c.code, name_en: c.name_en, tables: c.tables })
                .collect();
            assert!(!whole.is_empty(), "{}", fixture.name);
            assert_eq!(Register::category_tables(&store.conn).unwrap(), whole, "{}", fixture.name);
        }
    }
}
