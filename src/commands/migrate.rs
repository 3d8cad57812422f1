//! `dsr migrate --from STORE --to URL`: a SQLite store copied into a new PostgreSQL store
//! (`crate::store::postgres::copy`), with a progress bar on a terminal and a summary.

use crate::cli::MigrateArgs;
use crate::error::Error;
use crate::exit::Code;
use crate::output::Output;
use crate::store::postgres::{copy, Target};
use crate::store::Store;

pub fn migrate(args: &MigrateArgs, out: &Output) -> anyhow::Result<Code> {
    let from = args.from.to_string_lossy();
    if crate::store::postgres::is_url(&from) {
        return Err(crate::Error::invalid(
            "--from",
            "names the SQLite store to copy (a file's path); the PostgreSQL URL goes in --to",
        )
        .into());
    }
    crate::store::postgres::refuse_unreadable("--from", &from)?;
    let schema = args.schema.clone().unwrap_or_else(crate::store::postgres::schema_from_env);
    let target = Target::parse_option("--to", &args.to, &schema)?;
    // The store to copy is --from here, not --db: a missing or foreign file is said so.
    let from = Store::open_detached(&args.from).map_err(|e| match e.downcast_ref::<Error>() {
        Some(Error::StoreMissing(p)) => {
            Error::invalid("--from", format!("no store at {}: give the SQLite store to copy", p.display())).into()
        }
        Some(Error::NotAStore(p) | Error::StoreIsDirectory(p)) => Error::invalid(
            "--from",
            format!("{} is not a dsr store: give the SQLite store to copy (its --db path)", p.display()),
        )
        .into(),
        _ => e,
    })?;
    // The journal first: a copy killed after its commit still has it beside it (a restore of
    // the new store replays it); a copy that fails takes back the one it wrote.
    let journal = journal(&args.from, &target.schema)?;
    let bar = out.progress("dsr migrate [{bar:30}] {pos}/{len} rows", None);
    let copied = copy::copy(&from, &target, |done, total| {
        if let Some(bar) = &bar {
            bar.set_length(total);
            bar.set_position(done);
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let copied = match copied {
        Err(e) => {
            if let Some((to, _, true)) = &journal {
                let _ = std::fs::remove_file(to);
            }
            return Err(e);
        }
        Ok(c) => c,
    };
    if out.json {
        out.json(&serde_json::json!({
            "format_version": 1,
            "from": args.from.display().to_string(),
            "to": target.shown,
            "copy": copied,
            "journal": journal.as_ref().map(|(to, copied, _)| serde_json::json!({"path": to.display().to_string(), "copied": copied})),
        }))?;
    } else {
        let head = copied.audit.head.as_ref().map(|h| format!(", head {}", h.hash)).unwrap_or_default();
        out.outcome(&format!(
            "Copied {} rows of {} tables from {} into {} (schema {}){}. The audit trail verifies on the copy: {} entries{head}.",
            copied.rows,
            copied.tables.len(),
            args.from.display(),
            target.shown,
            copied.schema,
            if copied.tables_added.is_empty() {
                String::new()
            } else {
                format!("; tables the company added, made there: {}", copied.tables_added.join(", "))
            },
            copied.audit.entries,
        ))?;
        match &journal {
            Some((to, true, _)) => out.status(&format!(
                "The erasure journal {} was copied to {}, where `dsr erase --replay` reads it on the PostgreSQL store (run from this directory).",
                crate::queue::journal_path(&args.from).display(),
                to.display()
            ))?,
            Some((to, false, _)) => out.status(&format!(
                "The erasure journal {} was not copied: {} is there already. Add its lines to that file by hand, or `dsr erase --replay` on the PostgreSQL store misses them.",
                crate::queue::journal_path(&args.from).display(),
                to.display()
            ))?,
            None => {}
        }
        for (name, path) in &copied.repointed {
            out.status(&format!(
                "The company database {name} is named by its absolute path {path} in the copy: its relative path is read from the directory dsr runs in on a PostgreSQL store."
            ))?;
        }
    }
    Ok(Code::Ok)
}

/// The SQLite store's erasure journal (`STORE.erasures`, read by `erase --replay` after a
/// restore), copied to where the PostgreSQL store reads its own (`SCHEMA.erasures` in the
/// directory dsr runs in): (that path, whether it is copied: not when another file is there
/// already, but yes when it is this copy, one a killed migration wrote; whether this run wrote
/// it). `None` when the store has none.
fn journal(from: &std::path::Path, schema: &str) -> anyhow::Result<Option<(std::path::PathBuf, bool, bool)>> {
    let source = crate::queue::journal_path(from);
    if !source.exists() {
        return Ok(None);
    }
    let to = crate::queue::journal_path(&crate::store::db::Pg::place_of(schema)?);
    if std::fs::symlink_metadata(&to).is_ok() {
        let same = std::fs::read(&to).ok() == Some(std::fs::read(&source)?);
        return Ok(Some((to, same, false)));
    }
    crate::fsutil::write_private(&to, false, |file| {
        std::io::copy(&mut std::fs::File::open(&source)?, file)?;
        Ok(())
    })?;
    Ok(Some((to, true, true)))
}
