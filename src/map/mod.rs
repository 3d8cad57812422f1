//! The company file's register part (docs/register-file.md): the Art. 30 register as a typed
//! TOML document, read with serde and written back. `load` puts a file into a new store,
//! `export` reads a store's register tables back into the same shape, so a round trip gives the
//! same file. Every person-facing text has an `_en` and an `_nl` key. Order in the file is the
//! order the register shows (purposes, categories, recipients, retention rules, rights).
//! The data map (which tables hold a person's data, how their rows reach a person, what each
//! right does with them) is the `[[table]]` section of the same file ([`table`]).

pub mod apply;
mod basis;
pub use basis::BasisKind;
mod check;
mod check_columns;
pub use check_columns::{is_own_table, own_tables};
mod check_map;
mod check_places;
pub mod check_postgres;
mod check_rights;
pub mod diff;
pub mod export;
pub mod load;
mod missing;
mod problem;
pub mod table;

use problem::toml_problem;
pub use problem::{in_file_order, locate, Problem};

pub(crate) use check_map::own_columns;

pub use table::Table;

use serde::{Deserialize, Serialize};

/// The version of the file format; a file names it as `format_version` at the top.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompanyFile {
    pub format_version: u32,
    /// Short name of the company, e.g. `virtio` (stored as the controller's `fixture`).
    pub company: String,
    /// The erasure letter waits until every system that keeps a copy (`[[system]]`) has
    /// acknowledged its task (docs/tasks.md).
    #[serde(default, skip_serializing_if = "is_false")]
    pub letter_after_tasks: bool,
    pub controller: Controller,
    /// How the letters are written: languages, signature text, the company's templates
    /// (docs/letters.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub letters: Option<crate::letters::settings::Section>,
    #[serde(default)]
    pub legal_basis: Vec<LegalBasis>,
    #[serde(default)]
    pub purpose: Vec<Purpose>,
    #[serde(default)]
    pub category: Vec<Category>,
    #[serde(default)]
    pub recipient: Vec<Recipient>,
    #[serde(default)]
    pub retention: Vec<RetentionRule>,
    #[serde(default)]
    pub automated_decision: Vec<AutomatedDecision>,
    #[serde(default)]
    pub right: Vec<Right>,
    /// The company's own SQLite databases that dsr attaches and works on in place (design §10);
    /// a `[[table]]` names the one it lives in with `database`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub database: Vec<Database>,
    /// The company's systems that keep a copy of tables of the map: each change a right makes
    /// gives each of them a task (docs/tasks.md).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub system: Vec<System>,
    /// The data map: every table that holds personal data.
    #[serde(default)]
    pub table: Vec<Table>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A system that keeps its own copy of rows of the map (a mailing service, the warehouse, a CRM):
/// a rectification, erasure, restriction or objection that touches those rows gives it a task
/// with the rows' source keys, which its sync script reads and acknowledges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct System {
    /// The name tasks are listed under (`dsr tasks --system NAME`): letters, digits, `_` and `-`.
    pub name: String,
    /// What it is, for the officer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The tables of the map it keeps a copy of.
    pub tables: Vec<String>,
}

/// A database of the company's (its webshop's or billing system's SQLite file) whose tables
/// the map names: dsr attaches it under `name` and every right acts on those tables directly,
/// in the same transaction as dsr's own records, which stay in dsr's store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    /// The name the map's tables use (`database = "shop"`): letters, digits and `_`.
    pub name: String,
    /// The file; a relative path is relative to the directory of dsr's store.
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Controller {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_form: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kvk_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    pub privacy_email: String,
    pub policy_version: String,
    pub rights_contact_en: String,
    pub rights_contact_nl: String,
    pub complaint_authority: String,
    pub complaint_url: String,
    pub court_route_en: String,
    pub court_route_nl: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalBasis {
    pub code: String,
    /// Which basis of Art. 6(1) GDPR this is, when `code` is not its name: dsr acts on it (a
    /// withdrawal of consent, an objection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<BasisKind>,
    pub article: String,
    pub name_en: String,
    pub name_nl: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Purpose {
    pub code: String,
    pub name_en: String,
    pub name_nl: String,
    pub legal_basis: String,
    #[serde(default)]
    pub direct_marketing: bool,
    pub description_en: String,
    pub description_nl: String,
    /// Art. 6(1)(f): the interest weighed, in words (Art. 13(1)(d)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legitimate_interest_en: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legitimate_interest_nl: Option<String>,
    /// For consent: how the person withdraws it (Art. 7(3)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdraw_how_en: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdraw_how_nl: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub code: String,
    pub name_en: String,
    pub name_nl: String,
    pub description_en: String,
    pub description_nl: String,
    /// provided, observed or derived (Art. 15(1)(g), Art. 20).
    pub provenance: String,
    pub source_en: String,
    pub source_nl: String,
    pub portable: bool,
    /// Its data goes by mail only in an encrypted archive (payment data, job applications,
    /// special categories of Art. 9).
    #[serde(default, skip_serializing_if = "is_false")]
    pub mail_encrypted: bool,
    #[serde(default)]
    pub purposes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub country: String,
    pub outside_eea: bool,
    pub safeguards_en: String,
    pub safeguards_nl: String,
    /// How one person's data reaches this recipient (Art. 19).
    pub received_via: String,
    /// With received_via `consent` or `purpose`: which purpose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    pub description_en: String,
    pub description_nl: String,
    #[serde(default)]
    pub categories: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
    #[serde(default)]
    pub step: Vec<DecisionStep>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionStep {
    pub step_no: i64,
    pub step: String,
    /// The threshold: days after the invoice's due date.
    pub days_after_due: i64,
    pub description_en: String,
    pub description_nl: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Right {
    pub code: String,
    pub article: String,
    pub name_en: String,
    pub name_nl: String,
    pub how_en: String,
    pub how_nl: String,
}

impl CompanyFile {
    /// Parse a company file. Syntax and type errors name the key and the line (serde stops at
    /// the first); a file that parses is then checked whole, every problem reported.
    pub fn parse(text: &str) -> Result<CompanyFile, Vec<Problem>> {
        let (file, mut problems) = CompanyFile::read(text)?;
        let missing = problems.len();
        missing::add(&mut problems, missing, check::check(&file));
        locate(text, &mut problems);
        if problems.is_empty() {
            Ok(file)
        } else {
            Err(problems)
        }
    }

    /// [`parse`](Self::parse), keeping a file that reads with its problems, so that a caller can
    /// add the problems of its tables and columns to the same list.
    pub fn parse_all(text: &str) -> (Option<CompanyFile>, Vec<Problem>) {
        let (file, mut problems) = match CompanyFile::read(text) {
            Ok(read) => read,
            Err(found) => return (None, found),
        };
        let missing = problems.len();
        missing::add(&mut problems, missing, check::check(&file));
        locate(text, &mut problems);
        // A file read with stand-ins for keys it leaves out is not one to check a store against.
        (if missing == 0 { Some(file) } else { None }, problems)
    }

    /// A built-in company's file, read without the whole-file checks (which ask for the built-in
    /// map this gives); `None` if it does not read.
    pub fn read_built_in(text: &str) -> Option<CompanyFile> {
        CompanyFile::read(text).ok().filter(|(_, missing)| missing.is_empty()).map(|(file, _)| file)
    }

    /// Read a company file without checking it whole: the first syntax or type error, or each
    /// key its entries need that it leaves out (with the file as read with stand-ins for them).
    fn read(text: &str) -> Result<(CompanyFile, Vec<Problem>), Vec<Problem>> {
        let de = toml::Deserializer::parse(text).map_err(|e| vec![toml_problem(text, &e, String::new())])?;
        let first = match serde_path_to_error::deserialize(de) {
            Ok(file) => return Ok((file, Vec::new())),
            Err(e) => e,
        };
        let problem = toml_problem(text, first.inner(), first.path().to_string());
        if !first.inner().message().starts_with("missing field") {
            return Err(vec![problem]);
        }
        missing::read_filled(text).unwrap_or(Err(vec![problem])).map_err(|mut found| {
            locate(text, &mut found);
            found
        })
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a company file always serialises")
    }
}

/// Every problem of a company file (`dsr register check`): the whole-file checks of `parse`,
/// those against the tables of `conn` (a store's schema, see [`check_against`]) and, when the
/// map's tables are all in the store, those `init --register` makes while loading; each with
/// its line. The file comes back when it could be read, with or without problems.
pub fn check_all(
    text: &str,
    conn: &mut rusqlite::Connection,
    store: &std::path::Path,
) -> anyhow::Result<(Option<CompanyFile>, Vec<Problem>)> {
    let (file, mut problems) = match CompanyFile::read(text) {
        Ok(read) => read,
        Err(found) => return Ok((None, found)),
    };
    let missing = problems.len();
    // An entry with a key left out holds a stand-in there: nothing is done with it.
    let whole = |entry: &str| problems[..missing].iter().all(|p| !p.key.starts_with(entry));
    let whole_databases: Vec<bool> = (0..file.database.len()).map(|i| whole(&format!("database[{i}]"))).collect();
    missing::add(&mut problems, missing, check::check(&file));
    // The company databases are attached (relative paths from the store's directory), each
    // that can be, so the tables placed in them are checked there.
    for (i, d) in file.database.iter().enumerate() {
        let usable = whole_databases[i]
            && check_map::is_identifier(&d.name)
            && !["main", "temp"].contains(&d.name.to_ascii_lowercase().as_str());
        // A name or a path written twice is one of `check`'s problems already.
        let earlier = &file.database[..i];
        if usable && d.path == POSTGRES_SCHEMA && earlier.iter().all(|o| o.name != d.name) {
            check_places::stand_in(conn, &file, &d.name)?;
        } else if usable && earlier.iter().all(|o| o.name != d.name && o.path != d.path) {
            let attached = match crate::store::attached::again(store, earlier, d) {
                Some(why) => Err(anyhow::anyhow!(why)),
                None => crate::store::attached::attach_anew(conn, store, std::slice::from_ref(d)),
            };
            if let Err(e) = attached {
                problems.push(Problem { line: None, key: format!("database[{i}].path"), what: format!("{e:#}") });
            }
        }
    }
    // A file with keys left out comes back without its stand-ins (its counts are not told).
    let file_if_whole = |file: CompanyFile| (missing == 0).then_some(file);
    if problems.iter().any(|p| p.key.starts_with("database[")) {
        locate(text, &mut problems);
        return Ok((file_if_whole(file), problems));
    }
    // As `init --register` makes the store: the built-in tables the company does not use are left
    // out first, so a table the file declares under such a name is checked as declared (its own
    // link), not as the built-in one (a link to dsr's `person`).
    crate::store::personal::leave_out_builtin(&*conn, &file.table)?;
    let mut found = check_against(&file, conn)?;
    // The declarations of the tables init would make, listed with the rest (not only once the
    // rest is mended); a table entry with a problem already is not told again.
    let entry = |key: &str| key.split('.').next().unwrap_or(key).to_string();
    for p in load::declarations(&*conn, &file)? {
        if !problems.iter().chain(&found).any(|f| entry(&f.key) == entry(&p.key)) {
            found.push(p);
        }
    }
    missing::add(&mut problems, missing, found);
    if problems.is_empty() {
        // What init --register checks as it makes the tables the file declares and once the
        // register is written (declarations, the retention rules the engine can carry out), in
        // a transaction that is rolled back.
        let tx = conn.transaction()?;
        problems = load::load_new(&tx, &file)?;
    }
    locate(text, &mut problems);
    Ok((file_if_whole(file), problems))
}

/// A `[[database]]`'s path that names a schema of the PostgreSQL store's database.
pub const POSTGRES_SCHEMA: &str = "postgres:";

/// The checks of a file's data map against a store: every table of the map is in the store or
/// declares its columns, and every column the map names is one of its table's.
pub fn check_against(file: &CompanyFile, conn: &dyn crate::store::db::Db) -> anyhow::Result<Vec<Problem>> {
    check_columns::check(file, conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::store::{fixture, Store};

    fn loaded(file: &CompanyFile) -> Store {
        let mut store = Store::in_memory().unwrap();
        let tx = store.conn.transaction().unwrap();
        assert_eq!(load::load(&tx, file).unwrap(), vec![]);
        tx.commit().unwrap();
        store
    }

    #[test]
    fn each_fixture_register_parses_back_and_loads_to_the_same_file() {
        for f in fixture::FIXTURES {
            let mut store = Store::in_memory().unwrap();
            fixture::load(&mut store.conn, f, Clock::from_env().unwrap(), true).unwrap();
            let file = export::export(&store.conn).unwrap().unwrap();
            let text = file.to_toml();
            assert_eq!(CompanyFile::parse(&text).unwrap(), file, "{}", f.name);
            let again = export::export(&loaded(&file).conn).unwrap().unwrap();
            assert_eq!(again.to_toml(), text, "{}", f.name);
        }
    }

    #[test]
    fn a_problem_is_placed_on_the_line_of_its_key() {
        let text = "a = 1\n[[purpose]]\ncode = \"x\"\n[[purpose]]\ncode = \"y\"\ntables = [\"p\", \"q\"]\n";
        let mut problems = vec![
            Problem { line: None, key: "purpose[1].code".into(), what: String::new() },
            Problem { line: None, key: "purpose[1].tables[1]".into(), what: String::new() },
            Problem { line: None, key: "purpose[2].code".into(), what: String::new() },
        ];
        locate(text, &mut problems);
        let lines: Vec<_> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [Some(5), Some(6), None]);
    }

    #[test]
    fn an_empty_store_has_no_file() {
        assert_eq!(export::export(&Store::in_memory().unwrap().conn).unwrap(), None);
    }
}
