//! `dsr export` (Art. 20) and `dsr access --archive` (Art. 15(3)): archives, one at a time or
//! in a batch.

use std::path::Path;

use serde_json::json;

use crate::batch;
use crate::cli::{CryptArgs, ExportArgs};
use crate::error::Error;
use crate::exit::Code;
use crate::request::{Kind, Request};
pub use crate::rights::export::{archive_file, record_disclosure};
use crate::subject::Subject;

use super::{Ctx, Session};

pub fn export(ctx: &mut Ctx, args: &ExportArgs) -> anyhow::Result<Code> {
    if args.batch.is_some() {
        let connect = super::reopen(ctx.store.path.clone());
        return batch(&mut ctx.session(), &connect, args);
    }
    export_on(&mut ctx.session(), args)
}

/// `dsr export --batch FILE --out-dir DIR`, on either backend: `connect` gives each worker a
/// connection of its own to the same store.
pub fn batch(session: &mut Session, connect: &crate::store::db::Connect, args: &ExportArgs) -> anyhow::Result<Code> {
    let csv = args.batch.as_deref().expect("called with --batch");
    let dir = args.out_dir.as_deref().expect("clap requires --out-dir with --batch");
    let jobs = args
        .jobs
        .map(usize::from)
        // Twice the CPUs: a worker waiting for a page of the store or for the disk leaves its
        // core to another (archives are no longer synced one by one: 2 to 4 measured alike).
        .unwrap_or_else(|| 2 * std::thread::available_parallelism().map(usize::from).unwrap_or(1));
    run_batch(session, connect, csv, dir, &args.crypt, jobs)
}

/// `dsr export` but `--batch`: open a request, or write or send a verified one's archive; on
/// either backend.
pub fn export_on(ctx: &mut Session, args: &ExportArgs) -> anyhow::Result<Code> {
    match &args.request {
        None if args.crypt.asked() => Err(super::access::not_an_archive(&args.crypt)),
        None => super::access::open(ctx, Kind::Export, &args.subject, &args.open, json!({})),
        Some(id) => answer(ctx, id, args),
    }
}

/// `export REQUEST --out FILE.zip` or `--send`.
fn answer(session: &mut Session, id: &str, args: &ExportArgs) -> anyhow::Result<Code> {
    if args.send {
        let (req, s) = crate::rights::verified(session.conn, id, Kind::Export)?;
        return super::deliver::send(session, &req, s, &args.crypt);
    }
    let out = args.out.as_deref().ok_or_else(|| {
        Error::invalid("arguments", "name the archive to write with --out FILE.zip, or deliver it with --send")
    })?;
    let (req, s) = crate::rights::verified(session.conn, id, Kind::Export)?;
    archive_on(session, &req, s, out, args.force, &args.crypt)
}

/// Write a request's archive and report it.
pub fn archive_on(
    ctx: &mut Session,
    req: &Request,
    s: Subject,
    out: &Path,
    force: bool,
    crypt: &CryptArgs,
) -> anyhow::Result<Code> {
    let passphrase = passphrase(crypt)?;
    let register = crate::register::Register::load(ctx.conn)?;
    let text = passphrase.as_ref().map(|p| p.text.as_str());
    let manifest = archive_file(ctx.conn, ctx.clock, &register, req, s, out, force, text)?;
    if let Some(p) = passphrase.as_ref().filter(|p| p.generated) {
        // Shown once, on stderr, even with -q: without it the archive cannot be opened. Shown
        // before anything is recorded: a passphrase nobody saw means no archive and no record.
        let shown = crate::output::stderr_line(&format!(
            "dsr: archive passphrase (shown once; give it to the person separately from the archive): {}",
            p.text
        ));
        if let Err(e) = shown {
            let _ = std::fs::remove_file(out);
            return Err(anyhow::Error::new(e)
                .context(format!("the passphrase could not be shown, so {} was removed", out.display())));
        }
    }
    record_disclosure(ctx.conn, ctx.clock, req, &manifest, text.is_some(), out)?;
    if ctx.out.json {
        ctx.out.json(&json!({"format_version": 1, "request": req.id, "archive": out.display().to_string(), "encrypted": crypt.asked(), "manifest": manifest}))?;
    } else {
        let records: u64 = manifest.files.iter().filter(|f| f.path.starts_with("csv/")).map(|f| f.rows).sum();
        ctx.out.status(&format!(
            "Wrote {} ({} files, {} records in {} categories) for request {}; mode 0600.",
            out.display(),
            manifest.files.len() + 1,
            records,
            manifest.categories.len(),
            req.id
        ))?;
    }
    Ok(Code::Ok)
}

pub struct Passphrase {
    pub text: String,
    pub generated: bool,
}

/// The archive passphrase: read from --passphrase-file, or generated (20 random bytes = 160 bits).
pub fn passphrase(crypt: &CryptArgs) -> anyhow::Result<Option<Passphrase>> {
    if let Some(path) = &crypt.passphrase_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::invalid("--passphrase-file", format!("cannot read it: {e}")))?;
        let text = text.lines().next().unwrap_or_default().trim().to_owned();
        if text.chars().count() < 16 {
            return Err(Error::invalid("--passphrase-file", "the passphrase must be at least 16 characters").into());
        }
        return Ok(Some(Passphrase { text, generated: false }));
    }
    if !crypt.encrypt {
        return Ok(None);
    }
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("the OS random generator failed: {e}"))?;
    let raw = base32::encode(base32::Alphabet::Crockford, &bytes);
    let text = raw.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("-");
    Ok(Some(Passphrase { text, generated: true }))
}

fn run_batch(
    ctx: &mut Session,
    connect: &crate::store::db::Connect,
    csv: &Path,
    dir: &Path,
    crypt: &CryptArgs,
    jobs: usize,
) -> anyhow::Result<Code> {
    if crypt.encrypt && crypt.passphrase_file.is_none() {
        return Err(Error::invalid(
            "--encrypt",
            "a batch needs --passphrase-file: a generated passphrase per archive cannot be shown safely",
        )
        .into());
    }
    let passphrase = passphrase(crypt)?;
    // One batch at a time (exit 22 for a second), before anything is read or created.
    let _lock = crate::cron::batch_lock(ctx.conn)?;
    // The list is read (and refused if bad) before anything is created.
    let rows = batch::read(csv)?;
    if dir.exists() && !dir.is_dir() {
        return Err(Error::invalid(
            "--out-dir",
            format!("{} is a file, not a directory: name a directory (dsr creates it if it is missing)", dir.display()),
        )
        .into());
    }
    // A link to a directory that is not there, or a path through a file: the name is wrong.
    if let (Ok(target), false) = (std::fs::read_link(dir), dir.exists()) {
        return Err(Error::invalid(
            "--out-dir",
            format!(
                "{} is a link to {}, which does not exist: create that directory or name another",
                dir.display(),
                target.display()
            ),
        )
        .into());
    }
    std::fs::create_dir_all(dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotADirectory => Error::invalid(
            "--out-dir",
            format!("{}: a part of this path is a file, not a directory: name a directory (dsr creates it if it is missing)", dir.display()),
        )
        .into(),
        _ => anyhow::Error::new(e).context(format!("cannot create {}", dir.display())),
    })?;
    // A directory no archive can be written in is refused before the first row's request is
    // opened and verified (it was left verified, its answer never written).
    drop(crate::fsutil::private_temp(dir, ".dsr-", ".part")?);
    let bar = ctx.out.progress("{bar:40} {pos}/{len} archives, {per_sec}, eta {eta}", Some(rows.len() as u64));
    let passphrase = passphrase.as_ref().map(|p| p.text.as_str());
    let mut summary = batch::run(ctx.conn, connect, *ctx.clock, &rows, dir, passphrase, jobs, |_| {
        if let Some(b) = &bar {
            b.inc(1);
        }
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if ctx.out.json {
        ctx.out.json(&summary)?;
    } else {
        let mut text = format!(
            "Batch {}: {} done, {} skipped (already exported or same person), {} failed{}.",
            csv.display(),
            summary.done,
            summary.skipped,
            summary.failed,
            match summary.not_run {
                0 => String::new(),
                n => format!(", {n} not written (the batch stopped)"),
            }
        );
        // The failed rows and the rows of a person an earlier line already covers (not the rows
        // exported by an earlier run, nor those a stop left: the count and the stop's line say it).
        let told = |r: &&batch::RowResult| {
            r.status == "failed" || r.reason.as_deref().is_some_and(|w| w.starts_with("same person"))
        };
        for r in summary.rows.iter().filter(told) {
            text.push_str(&format!("\n  line {}: {}", r.line, r.reason.as_deref().unwrap_or("failed")));
        }
        ctx.out.data(&text)?;
    }
    // Stopped by the store or the disk: its exit code (13, 15), after what was done before it.
    if let Some(stopped) = summary.stopped.take() {
        return Err(stopped);
    }
    if summary.failed > 0 {
        return Err(Error::BatchFailed { failed: summary.failed, rows: summary.rows.len() }.into());
    }
    Ok(Code::Ok)
}
