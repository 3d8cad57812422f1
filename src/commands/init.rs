//! `dsr init` and the hidden `dsr generate`.

use anyhow::Context;

use crate::cli::{GenerateArgs, InitArgs};
use crate::clock::Clock;
use crate::exit::Code;
use crate::output::Output;
use crate::store::{self, fixture};

pub fn init(db: &std::path::Path, args: &InitArgs, out: &Output) -> anyhow::Result<Code> {
    let clock = Clock::from_env()?;
    let fixture = args.fixture.map(|f| fixture::find(f.as_str())).transpose()?;
    if args.force && !args.yes && db.exists() && super::interactive(out) {
        // Replacing a store loses its requests, audit trail and people: an officer confirms.
        let question = format!("Replace the store at {}? Everything in it is lost", db.display());
        if !dialoguer::Confirm::new().with_prompt(question).default(false).interact()? {
            return Err(crate::error::Error::RequestState("store not replaced: the officer declined".into()).into());
        }
    }
    let store = store::create(db, args.force, |s| match fixture {
        Some(f) => fixture::load(&mut s.conn, f, clock, args.register_only),
        None => Ok(()),
    })?;
    let people: i64 = store.conn.query_row("SELECT count(*) FROM person", [], |r| r.get(0))?;
    #[derive(serde::Serialize)]
    struct Created<'a> {
        format_version: u32,
        store: String,
        fixture: Option<&'a str>,
        schema_version: i64,
        people: i64,
    }
    let report = Created {
        format_version: 1,
        store: db.display().to_string(),
        fixture: fixture.map(|f| f.name),
        schema_version: store::migrate::latest(),
        people,
    };
    if out.json {
        out.json(&report)?;
    } else {
        match fixture {
            Some(f) => out.status(&format!(
                "Created {} from fixture {} ({}): {people} people.",
                db.display(),
                f.name,
                f.company
            ))?,
            None => out.status(&format!("Created an empty store at {}; it has no register yet.", db.display()))?,
        }
    }
    Ok(Code::Ok)
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
