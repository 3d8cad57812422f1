//! `dsr completions SHELL` and `dsr man`: the command line described for shells and for `man`.
//! Completions offer the codes of the store's register (purposes, categories, recipients) when
//! the store can be read; man pages carry EXIT STATUS and ENVIRONMENT sections.

use std::path::Path;

use clap::builder::PossibleValuesParser;
use roff::{bold, roman, Roff};

use crate::exit::Code;
use crate::output::Output;
use crate::register::Register;

/// Print a completion script; the register's codes are offered where a flag takes one.
pub fn completions(db: &Path, shell: clap_complete::Shell, out: &Output) -> anyhow::Result<Code> {
    let mut cmd = crate::cli::full_command();
    if let Some(register) = read_register(db) {
        cmd = with_codes(cmd, &register);
    }
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "dsr", &mut buf);
    out.data(&String::from_utf8_lossy(&buf))?;
    Ok(Code::Ok)
}

/// The register, read without changing the store (no migration); none when it cannot be read.
fn read_register(db: &Path) -> Option<Register> {
    use rusqlite::{Connection, OpenFlags};
    if !db.is_file() {
        return None;
    }
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
    Register::load(&conn).ok().filter(|r| r.controller.is_some())
}

/// The command with the register's codes as the values of `--purpose`, `--category` and
/// `--recipient` (only for completion: parsing keeps taking any text and checks it in the store).
fn with_codes(cmd: clap::Command, r: &Register) -> clap::Command {
    let purposes: Vec<String> = r.purposes.iter().map(|p| p.code.clone()).collect();
    let categories: Vec<String> = r.categories.iter().map(|c| c.code.clone()).collect();
    let recipients: Vec<String> = r.recipients.iter().map(|c| c.code.clone()).collect();
    // Leaked: clap's values are 'static, and the process ends after printing the script.
    let values =
        |codes: &[String]| PossibleValuesParser::new(codes.iter().map(|c| &*Box::leak(c.clone().into_boxed_str())));
    cmd.mut_subcommand("check", |c| c.mut_arg("purpose", |a| a.value_parser(values(&purposes))))
        .mut_subcommand("object", |c| c.mut_arg("purpose", |a| a.value_parser(values(&purposes))))
        .mut_subcommand("restrict", |c| c.mut_arg("category", |a| a.value_parser(values(&categories))))
        .mut_subcommand("request", |c| {
            c.mut_subcommand("notified", |c| c.mut_arg("recipient", |a| a.value_parser(values(&recipients))))
        })
}

/// `dsr man`: the top page on stdout, or with `--dir` a page per subcommand written there.
pub fn man(dir: Option<&Path>, out: &Output) -> anyhow::Result<Code> {
    let mut cmd = crate::cli::page_command().disable_help_subcommand(true);
    cmd.build();
    let Some(dir) = dir else {
        let mut buf = Vec::new();
        render(&cmd, &mut buf)?;
        out.data(&String::from_utf8_lossy(&buf))?;
        return Ok(Code::Ok);
    };
    std::fs::create_dir_all(dir)?;
    let mut written = 0;
    write_pages(&cmd, dir, &mut written)?;
    out.status(&format!("Wrote {written} man pages to {}.", dir.display()))?;
    Ok(Code::Ok)
}

/// Write the page of `cmd` and of every subcommand that is not hidden (the pages that `SEE
/// ALSO` and the subcommand list of a page name are exactly these).
fn write_pages(cmd: &clap::Command, dir: &Path, written: &mut usize) -> anyhow::Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir, written)?;
    }
    let name = cmd.get_display_name().unwrap_or_else(|| cmd.get_name());
    let mut file = Vec::new();
    render(cmd, &mut file)?;
    std::fs::write(dir.join(format!("{name}.1")), &file)?;
    *written += 1;
    Ok(())
}

/// One page: clap_mangen's sections, then EXIT STATUS and ENVIRONMENT.
fn render(cmd: &clap::Command, w: &mut Vec<u8>) -> std::io::Result<()> {
    let source = format!("dsr {}", env!("CARGO_PKG_VERSION"));
    clap_mangen::Man::new(cmd.clone()).source(source).manual("dsr manual").render(w)?;
    let mut roff = Roff::default();
    roff.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in crate::exit::TABLE {
        roff.control("TP", []).text([bold(code.to_string())]).text([roman(*meaning)]);
    }
    roff.control("SH", ["ENVIRONMENT"]);
    for line in crate::cli::ENVIRONMENT.lines().skip(1) {
        let (name, what) = line.trim().split_once(' ').unwrap_or((line.trim(), ""));
        roff.control("TP", []).text([bold(name)]).text([roman(what.trim())]);
    }
    roff.to_writer(w)
}
