//! The code's dependencies run one way: `commands` (parse, call, render) uses the domain, and
//! no domain module uses `commands`; `exit` maps `error` to codes, and `error` knows no codes.
//! A text scan of `src/`, so that an import circle cannot come back unnoticed.

use std::path::{Path, PathBuf};

fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The file's code without its comment lines (doc comments may name `commands` freely).
fn code(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether the code names the crate's module `module`: `crate::module`, or inside a
/// `crate::{...}` group.
fn uses(code: &str, module: &str) -> bool {
    if code.contains(&format!("crate::{module}")) {
        return true;
    }
    code.match_indices("crate::{").any(|(at, _)| {
        let group = &code[at..];
        let group = &group[..group.find('}').unwrap_or(group.len())];
        group.split(|c: char| !c.is_alphanumeric() && c != '_').any(|w| w == module)
    })
}

#[test]
fn no_module_outside_commands_imports_commands() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let offenders: Vec<_> = files
        .iter()
        .filter(|f| !f.starts_with(src.join("commands")) && *f != &src.join("lib.rs"))
        .filter(|f| uses(&code(f), "commands"))
        .map(|f| f.strip_prefix(&src).unwrap().display().to_string())
        .collect();
    assert!(files.len() > 20, "the scan found too few source files: {files:?}");
    assert!(offenders.is_empty(), "these modules import crate::commands (move the shared piece down): {offenders:?}");
}

#[test]
fn error_knows_no_exit_codes() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    assert!(
        !uses(&code(&src.join("error.rs")), "exit"),
        "src/error.rs imports crate::exit; map errors to codes in exit.rs"
    );
}

#[test]
fn the_scan_sees_an_import() {
    assert!(uses("use crate::commands::Ctx;", "commands"));
    assert!(uses("use crate::{audit, commands::Ctx};", "commands"));
    assert!(!uses("use crate::{audit, check};", "commands"));
}

#[test]
fn the_erase_command_holds_no_sql_and_no_transaction() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for file in ["commands/erase.rs", "commands/erase/cron.rs"] {
        let text = code(&src.join(file));
        for sign in ["transaction(", "transaction_with_behavior(", ".execute(", ".prepare(", ".query_row("] {
            assert!(!text.contains(sign), "src/{file} calls {sign}: the erasure's procedures belong in rights::erase");
        }
    }
}

/// The command files that still open a transaction themselves, and why. Every other file under
/// `src/commands/` parses, asks and renders: the procedures, each owning its transaction, are in
/// `rights::<right>` (and `notify`, `rights::intake`, `rights::deliver`).
const COMMANDS_WITH_TRANSACTIONS: &[(&str, &str)] = &[
    ("audit.rs", "a read-only snapshot: audit anchor verifies the chain and reads its head in one"),
    ("check.rs", "a read-only snapshot per worker of the streaming check --stdin (nothing is written)"),
    ("init.rs", "creating a store and loading its company file, before any right applies"),
    ("mod.rs", "a read-only snapshot for the commands that only read a PostgreSQL store"),
];

/// Whether the code begins a transaction (checked, unchecked, with a behaviour, or by hand; on
/// either backend through the store seam).
fn opens_transaction(code: &str) -> bool {
    ["transaction(", "transaction_with_behavior(", "Transaction::new", ".begin()", ".snapshot()"]
        .iter()
        .any(|sign| code.contains(sign))
}

#[test]
fn commands_open_no_transactions_but_the_listed_ones() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src.join("commands"), &mut files);
    let mut offenders = Vec::new();
    for file in &files {
        let name = file.strip_prefix(src.join("commands")).unwrap().display().to_string();
        if COMMANDS_WITH_TRANSACTIONS.iter().any(|(allowed, _)| *allowed == name) {
            continue;
        }
        if opens_transaction(&code(file)) {
            offenders.push(name);
        }
    }
    assert!(files.len() > 10, "the scan found too few command files: {files:?}");
    assert!(
        offenders.is_empty(),
        "these command files open a transaction: move the procedure to rights::<right> (or list the file with its reason): {offenders:?}"
    );
}

#[test]
fn the_listed_command_files_exist_and_still_need_it() {
    let commands = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/commands");
    for (file, why) in COMMANDS_WITH_TRANSACTIONS {
        assert!(
            opens_transaction(&code(&commands.join(file))),
            "src/commands/{file} is listed as opening a transaction ({why}) but opens none: take it off the list"
        );
    }
}

/// Command files that run SQL themselves, and why; the others reach the store only through the
/// domain modules.
const COMMANDS_WITH_SQL: &[(&str, &str)] = &[("demo.rs", "the demo's walk-through picks the request it just opened")];

#[test]
fn commands_run_no_sql_but_the_listed_ones() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/commands");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let offenders: Vec<String> = files
        .iter()
        .map(|f| f.strip_prefix(&src).unwrap().display().to_string())
        .filter(|name| !COMMANDS_WITH_SQL.iter().any(|(allowed, _)| allowed == name))
        .filter(|name| {
            let text = code(&src.join(name));
            [".execute(", ".prepare(", ".prepare_cached(", ".query_row("].iter().any(|sign| text.contains(sign))
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "these command files run SQL: move it to the domain (or list the file with its reason): {offenders:?}"
    );
}
