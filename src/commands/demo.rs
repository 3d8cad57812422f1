//! `dsr demo`: one access request end to end on a demo store built from an embedded fixture:
//! open it (a code goes to the outbox), read the code from the outbox as the person would, verify
//! it, answer, deliver the answer, and check the audit trail. Runs the same code paths as the real
//! commands. Mail always goes to the demo's outbox, whatever DSR_MAIL says. Everything stays in
//! one new directory (`--dir`, else a new one in the system's temporary directory), which the demo
//! keeps and names at the end, so that what it says can be looked at.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use clap::FromArgMatches;

use crate::cli::Cli;
use crate::exit::Code;
use crate::output::Output;

/// The demo's directory: `dir` when given (new, or empty), else a new one in the temporary
/// directory; mode 0700 either way, and kept.
fn directory(dir: Option<&Path>) -> anyhow::Result<PathBuf> {
    use anyhow::Context;
    let Some(dir) = dir else {
        return Ok(tempfile::Builder::new().prefix("dsr-demo-").tempdir()?.keep());
    };
    if dir.exists() {
        if std::fs::read_dir(dir)?.next().is_some() {
            return Err(crate::Error::invalid("--dir", "name a directory that is empty or does not exist yet").into());
        }
    } else {
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    Ok(dir.to_owned())
}

/// The person of the demo, a sample person of the fixture: full name, first name, pronoun, and
/// the address as they write it.
fn persona(fixture: &str) -> [&'static str; 4] {
    match fixture {
        // The webshop's map compares an address's local part exactly, its domain in any case.
        "webshop" => ["Sanne de Jong", "Sanne", "her", "sanne.dejong@Example.NL"],
        _ => ["Jan de Vries", "Jan", "him", "Jan.DeVries@Example.NL"],
    }
}

pub fn run(fixture: &str, dir: Option<&Path>, out: &Output) -> anyhow::Result<Code> {
    if out.json {
        // Its steps are several commands, each with its own answer: no one document to print.
        return Err(crate::Error::invalid(
            "--json",
            "dsr demo walks through its steps for a person reading them; run the commands it shows with --json",
        )
        .into());
    }
    let [full_name, name, pronoun, email] = persona(fixture);
    let made_here = dir.is_none();
    let dir = directory(dir)?;
    let db = dir.join("demo.sqlite");
    let db_arg = db.to_string_lossy().into_owned();
    // SAFETY of intent: the demo is single-threaded and must never send real mail.
    std::env::set_var("DSR_MAIL", "outbox");
    let run = |args: &[&str]| -> anyhow::Result<Code> {
        let mut argv = vec!["dsr", "--db", db_arg.as_str()];
        argv.extend_from_slice(args);
        let matches = crate::cli::command().try_get_matches_from(argv)?;
        let cli = Cli::from_arg_matches(&matches)?;
        super::dispatch_with(cli, Output { prompts: false, ..*out })
    };
    let say = |s: &str| -> anyhow::Result<()> { Ok(out.data(&format!("\n>>> {s}"))?) };
    let named = say(&format!(
        "A demo store is built in {} from the {fixture} fixture: the company's register and about 30 fictitious people.",
        dir.display()
    ));
    if let Err(e) = named {
        // A directory nobody was told of would stay behind in the temporary directory unseen.
        if made_here {
            let _ = std::fs::remove_dir_all(&dir);
        }
        return Err(e);
    }
    run(&["init", "--fixture", fixture])?;
    say(&format!("{full_name} writes in asking what is held about {pronoun}. The officer opens an access request; a one-time code goes to the address on file:\n    dsr access --email {email}"))?;
    run(&["access", "--email", email])?;
    let conn = rusqlite::Connection::open(&db)?;
    let id: String = conn.query_row("SELECT id FROM request ORDER BY created_at DESC LIMIT 1", [], |r| r.get(0))?;
    let outbox = crate::mail::outbox_dir(&db);
    let mut messages: Vec<_> = std::fs::read_dir(&outbox)?.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    messages.sort();
    let message = messages.last().ok_or_else(|| anyhow::anyhow!("no message in the demo outbox"))?;
    let text = std::fs::read_to_string(message)?;
    let code = text
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 9 && l.as_bytes()[4] == b'-' && crate::verify::canonical(l).is_some())
        .ok_or_else(|| anyhow::anyhow!("no code in the demo message"))?
        .to_owned();
    say(&format!(
        "The message waits in the outbox ({}), in Dutch and English. {name} reads it and tells the officer the code.",
        message.file_name().unwrap_or_default().to_string_lossy()
    ))?;
    say(&format!("The officer enters it:\n    dsr verify {id} <code>"))?;
    run(&["verify", &id, &code])?;
    say(&format!(
        "Now the answer (GDPR Art. 15) can be produced; looking at it prepares it, nothing more:\n    dsr access {id}"
    ))?;
    run(&["access", &id])?;
    say(&format!(
        "Only a delivery completes the request: the archive goes to {name}'s address with a cover letter, encrypted \
because it holds payment data (the passphrase is shown once, for the officer to give by phone):\n    dsr access {id} --send"
    ))?;
    run(&["access", &id, "--send"])?;
    say("Every step is in the hash-chained audit trail:\n    dsr audit verify")?;
    run(&["audit", "verify"])?;
    run(&["request", "show", &id])?;
    say(&format!(
        "The demo's store and outbox are kept in {dir} for you to look at:\n    \
dsr --db {db} request show {id}\n    \
dsr --db {db} audit log\n    \
ls {outbox}      # the code message and the answer's letter, as .eml files\n\
Remove the directory when done: rm -r {dir}",
        dir = dir.display(),
        db = db.display(),
        outbox = outbox.display()
    ))?;
    say("Next: `dsr init --fixture virtio` makes a store of your own; `dsr --help` lists every command.")?;
    Ok(Code::Ok)
}
