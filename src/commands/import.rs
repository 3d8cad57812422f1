//! `dsr import TABLE FILE`: parse the options, run the import (`crate::import`) with a progress
//! bar on a terminal, and report: a summary on stdout (or `--json`), each refused or conflicting
//! row on stderr with its line. Exit 0 when every row loaded, 19 when some did not.

use super::Session;
use crate::cli::{ImportArgs, ImportFormat};
use crate::error::Error;
use crate::exit::Code;
use crate::import::{self, Format, Options};

/// `dsr import`, on either backend.
pub fn import(ctx: &mut Session, args: &ImportArgs) -> anyhow::Result<Code> {
    let format = match args.format {
        Some(ImportFormat::Csv) => Format::Csv,
        Some(ImportFormat::Jsonl) => Format::JsonLines,
        None => match args.file.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("jsonl" | "ndjson") => Format::JsonLines,
            _ => Format::Csv,
        },
    };
    let source_tz = args
        .source_tz
        .as_deref()
        .map(|z| {
            jiff::tz::TimeZone::get(z).map_err(|_| {
                Error::invalid(
                    "--source-tz",
                    "not a time zone of the tz database; give one such as Europe/Amsterdam, UTC or America/New_York",
                )
            })
        })
        .transpose()?;
    let opts = Options {
        table: args.table.clone(),
        file: args.file.clone(),
        format,
        source_tz,
        delete_missing: args.delete_missing,
        allow_empty: args.allow_empty,
        strict: args.strict,
        // On PostgreSQL a row is some round trips to the server: a batch of 50,000 held the
        // write lock for some 15 s, longer than an officer's command waits for it.
        batch: args.batch.unwrap_or(match ctx.conn.dialect() {
            crate::store::db::Dialect::Postgres => 5_000,
            crate::store::db::Dialect::Sqlite => 50_000,
        }),
    };
    let size = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);
    let bar = ctx.out.progress("dsr import [{bar:30}] {bytes}/{total_bytes} {eta}", Some(size));
    let summary = import::run(ctx.conn, ctx.clock, &opts, |read| {
        if let Some(bar) = &bar {
            bar.set_position(read);
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let summary = summary?;
    let failed = summary.refused + summary.conflicts;
    if ctx.out.json {
        ctx.out.json(&serde_json::json!({"format_version": 1, "import": summary}))?;
    } else {
        for p in &summary.problems {
            let at = if p.line > 0 { format!("line {}: ", p.line) } else { String::new() };
            crate::output::stderr_line(&format!(
                "dsr: {}: {at}{}{}",
                summary.file,
                match p.kind {
                    "conflict" => "conflict: ",
                    "kept" => "note: ",
                    _ => "",
                },
                crate::output::sanitize::line(&p.reason)
            ))?;
        }
        if let Some(why) = &summary.delete_skipped {
            crate::output::stderr_line(&format!("dsr: --delete-missing: {why}"))?;
        }
        ctx.out.status(&format!(
            "Imported {} into {}: {} read, {} added, {} changed, {} unchanged, {} removed{}, {} refused, {} conflicts{}.",
            summary.file,
            summary.table,
            if summary.rows == 1 { "1 row".to_owned() } else { format!("{} rows", summary.rows) },
            summary.added,
            summary.changed,
            summary.unchanged,
            summary.removed,
            match summary.kept {
                0 => String::new(),
                n => format!(" ({n} kept: see the notes above)"),
            },
            summary.refused,
            summary.conflicts,
            match summary.kept_unsubscribed {
                0 => String::new(),
                1 => "; opt-ins kept off for 1 row of a person who objected".to_owned(),
                n => format!("; opt-ins kept off for {n} rows of people who objected"),
            }
        ))?;
    }
    Ok(if failed > 0 { Code::BatchFailed } else { Code::Ok })
}
