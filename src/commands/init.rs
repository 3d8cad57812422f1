//! `dsr init` and the hidden `dsr generate`.

use std::path::Path;

use anyhow::Context;

use crate::cli::{GenerateArgs, InitArgs};
use crate::clock::Clock;
use crate::error::Error;
use crate::exit::Code;
use crate::map::CompanyFile;
use crate::output::Output;
use crate::store::{self, fixture};

pub fn init(db: &std::path::Path, args: &InitArgs, out: &Output) -> anyhow::Result<Code> {
    let clock = Clock::from_env()?;
    let fixture = args.fixture.map(|f| fixture::find(f.as_str())).transpose()?;
    if args.force && !args.yes && db.exists() && super::interactive(out) {
        // Replacing a store loses its requests, audit trail and people: an officer confirms.
        let question = format!("Replace the store at {}? Everything in it is lost", db.display());
        if !crate::output::prompt::guarded(|| {
            dialoguer::Confirm::new().with_prompt(question).default(false).interact()
        })? {
            return Err(crate::error::Error::RequestState("store not replaced: the officer declined".into()).into());
        }
    }
    // With problems in the register, those of the map's tables and columns are listed too, as
    // `register check` lists them (against a new store's tables).
    // The company's files are found from the store's place (a PostgreSQL store's is the directory
    // dsr runs in).
    let place = match db.to_str().filter(|d| store::postgres::is_url(d)) {
        Some(_) => store::db::Pg::place_of(&store::postgres::schema_from_env())?,
        None => db.to_owned(),
    };
    let columns = |_: &CompanyFile, text: &str| -> anyhow::Result<Vec<crate::map::Problem>> {
        let mut store = store::Store::in_memory()?;
        Ok(crate::map::check_all(text, &mut store.conn, &place)?.1)
    };
    let company = args.register.as_deref().map(|p| read_company_file(p, columns)).transpose()?;
    let fill = |s: &mut store::Store| match (fixture, &company) {
        (Some(f), _) => fixture::load(&mut s.conn, f, clock, args.register_only),
        (None, Some((path, text, file))) => load_company_file(&mut s.conn, &s.path, path, text, file),
        (None, None) => Ok(()),
    };
    let (shown, people) = match db.to_str().filter(|d| store::postgres::is_url(d)) {
        // A PostgreSQL store is made as `dsr migrate` makes one: the store is built in an
        // in-memory SQLite database, then copied into a new schema in one transaction that verifies
        // the copy (nothing is left behind when anything fails).
        Some(url) => {
            if args.force {
                return Err(Error::invalid(
                    "--force",
                    "dsr does not drop a PostgreSQL store's schema; drop it yourself (DROP SCHEMA ... CASCADE) if you mean to start again",
                )
                .into());
            }
            if let Some((path, text, file)) = &company {
                let mut problems = on_postgres(&file.database);
                problems.extend(crate::map::check_postgres::beside(file));
                problems.extend(crate::map::check_postgres::check(file));
                if !problems.is_empty() {
                    crate::map::locate(text, &mut problems);
                    return Err(refused(path, &problems));
                }
            }
            let schema = store::postgres::schema_from_env();
            let target = store::postgres::Target::parse(url, &schema)?;
            // Built in memory: no file with the new store's key is left behind by a killed init.
            let built = store::build_in_memory(fill)?;
            let people = crate::store::personal::DataMap::load(&built.conn)?.people(&built.conn)?;
            store::postgres::copy::copy(&built, &target, |_, _| {})?;
            (format!("{} (schema {})", target.shown, target.schema), people)
        }
        None => {
            let store = store::create(db, args.force, fill)?;
            let people = crate::store::personal::DataMap::load(&store.conn)?.people(&store.conn)?;
            (db.display().to_string(), people)
        }
    };
    #[derive(serde::Serialize)]
    struct Created<'a> {
        format_version: u32,
        store: String,
        fixture: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        register: Option<String>,
        schema_version: i64,
        people: i64,
    }
    let report = Created {
        format_version: 1,
        store: shown.clone(),
        fixture: fixture.map(|f| f.name),
        register: args.register.as_ref().map(|p| p.display().to_string()),
        schema_version: store::migrate::latest(),
        people,
    };
    if out.json {
        out.json(&report)?;
    } else {
        match (fixture, &company) {
            (Some(f), _) => {
                out.status(&format!("Created {} from fixture {} ({}): {people} people.", shown, f.name, f.company))?
            }
            (None, Some((path, _, file))) => out.status(&format!(
                "Created {} with the register of {} from {}: {people} people.",
                shown,
                file.controller.name,
                path.display()
            ))?,
            (None, None) => out.status(&format!(
                "Created an empty store at {}; it has no register yet: give it one with `dsr register apply FILE`.",
                shown
            ))?,
        }
    }
    Ok(Code::Ok)
}

/// Read and check a company file before any store is made: every problem on a line of its own.
/// When the register has problems, `columns` gives those of the map's tables and columns, so
/// that one run lists them all.
pub(super) fn read_company_file(
    path: &Path,
    columns: impl FnOnce(&CompanyFile, &str) -> anyhow::Result<Vec<crate::map::Problem>>,
) -> anyhow::Result<(&Path, String, CompanyFile)> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::invalid("register file", format!("cannot read {}: {e}", path.display())))?;
    let (file, mut problems) = CompanyFile::parse_all(&text);
    let mut file = match file {
        Some(file) if problems.is_empty() => file,
        Some(file) => {
            for p in columns(&file, &text).unwrap_or_default() {
                if !problems.iter().any(|q| q.key == p.key && q.what == p.what) {
                    problems.push(p);
                }
            }
            crate::map::locate(&text, &mut problems);
            return Err(refused(path, &problems));
        }
        None => return Err(refused(path, &problems)),
    };
    // The company's letter templates, beside the file (docs/letters.md).
    let mut problems = crate::letters::settings::read_into(file.letters.as_mut(), crate::fsutil::beside(path));
    if !problems.is_empty() {
        crate::map::locate(&text, &mut problems);
        return Err(refused(path, &problems));
    }
    Ok((path, text, file))
}

fn load_company_file(
    conn: &mut rusqlite::Connection,
    store: &Path,
    path: &Path,
    text: &str,
    file: &CompanyFile,
) -> anyhow::Result<()> {
    if let Err(e) = crate::store::attached::attach_anew(conn, store, &file.database) {
        return Err(refused(
            path,
            &[crate::map::Problem { line: None, key: "database".into(), what: format!("{e:#}") }],
        ));
    }
    let tx = conn.transaction()?;
    let mut problems = crate::map::load::load_new(&tx, file)
        .with_context(|| format!("loading the register from {}", path.display()))?;
    if !problems.is_empty() {
        crate::map::locate(text, &mut problems);
        return Err(refused(path, &problems));
    }
    tx.commit()?;
    Ok(())
}

/// One stderr line per problem, then the error (exit 2): nothing was created.
/// What a company file's `[[database]]` entries cannot be on a new PostgreSQL store: a schema
/// of the server (`dsr init` builds the store in an in-memory SQLite database first; `dsr
/// register apply` adds it). The company's SQLite files are attached as on a SQLite store.
fn on_postgres(databases: &[crate::map::Database]) -> Vec<crate::map::Problem> {
    databases
        .iter()
        .enumerate()
        .filter(|(_, d)| d.path == crate::map::POSTGRES_SCHEMA)
        .map(|(i, d)| crate::map::Problem {
            line: None,
            key: format!("database[{i}].path"),
            what: format!(
                "company database {:?}: `dsr init` makes a PostgreSQL store without its company schemas; init it from the file without this [[database]] and the tables placed in it, then add them with `dsr register apply FILE`",
                d.name
            ),
        })
        .collect()
}

pub(super) fn refused(path: &Path, problems: &[crate::map::Problem]) -> anyhow::Error {
    let mut problems = problems.to_vec();
    crate::map::in_file_order(&mut problems);
    for p in &problems {
        // A stderr that cannot be written still ends in the refusal below.
        let _ = crate::output::stderr_line(&format!(
            "dsr: {}: {}",
            path.display(),
            crate::output::sanitize::line(&p.to_string())
        ));
    }
    let n = problems.len();
    Error::invalid(
        "register file",
        format!("{} has {n} problem{}; nothing was written", path.display(), if n == 1 { "" } else { "s" }),
    )
    .into()
}

pub fn generate(db: &std::path::Path, args: &GenerateArgs, out: &Output) -> anyhow::Result<Code> {
    let started = std::time::Instant::now();
    let stats = crate::generate::generate(db, args, out).context("generating the benchmark store")?;
    let secs = started.elapsed().as_secs_f64();
    if out.json {
        out.json(&stats)?;
    } else {
        out.status(&format!(
            "Generated {} customers, {} rows in {:.1} s ({:.0} rows/s) at {}.",
            stats.customers,
            stats.rows,
            secs,
            stats.rows as f64 / secs,
            db.display()
        ))?;
    }
    Ok(Code::Ok)
}
