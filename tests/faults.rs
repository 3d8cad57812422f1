//! Streams that cannot be written and command lines that are wrong: every command ends with an
//! exit code from the documented table (never a panic's 101), usage errors are one line that
//! never repeats what was typed, and `--json` failures print an error document.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::support::{self, Env};

/// Where the fault is.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// stderr on /dev/full: every write fails with ENOSPC.
    StderrFull,
    /// stdout a pipe whose reader is gone: every write fails with EPIPE.
    StdoutClosed,
}

/// `dsr --db DB ARGS` as a plain process with one stream broken.
fn run_with(env: &Env, db: &Path, args: &[&str], fault: Fault) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dsr"));
    for (key, _) in std::env::vars_os() {
        let k = key.to_string_lossy();
        if k.starts_with("DSR_") || k == "NO_COLOR" {
            cmd.env_remove(&key);
        }
    }
    // `dsr demo` makes its directory in TMPDIR: keep it in the test's own directory.
    cmd.env("TMPDIR", env.dir.path());
    cmd.current_dir(env.dir.path()).arg("--db").arg(db).args(args).stdin(Stdio::null());
    match fault {
        Fault::StderrFull => {
            let full = std::fs::File::options().write(true).open("/dev/full").expect("/dev/full");
            cmd.stderr(full).stdout(Stdio::piped());
        }
        Fault::StdoutClosed => {
            let (reader, writer) = std::io::pipe().expect("a pipe");
            drop(reader);
            cmd.stdout(writer).stderr(Stdio::piped());
        }
    }
    let out = cmd.output().expect("run dsr");
    drop(cmd);
    out
}

fn documented(code: Option<i32>) -> bool {
    code.is_some_and(|c| dsr::exit::TABLE.iter().any(|(n, _)| i32::from(*n) == c))
}

/// An opened request, and one verified (its code relayed).
fn verified(env: &Env, right: &str, who: &str) -> String {
    let o = env.open(right, &["--email", who]);
    let code = env.code(&o.request);
    env.dsr().args(["verify", &o.request, &code]).assert().success();
    o.request
}

#[test]
fn no_command_panics_when_stderr_is_full_or_stdout_is_closed() {
    let env = Env::with_fixture("virtio");
    let access = env.open("access", &["--email", "jan.devries@example.nl"]).request;
    let export = verified(&env, "export", "jan.devries@example.nl");
    let erase = verified(&env, "erase", "jan.devries@example.nl");
    let cases: &[&[&str]] = &[
        &["lookup", "--email", "jan.devries@example.nl"],
        &["lookup", "jan@example.nl"],
        &["register"],
        &["access", "--email", "not-an-address"],
        &["access", "--email", "jan.devries@example.nl"],
        &["access", &access],
        &["export", &export, "--out", "x.zip", "--encrypt"],
        &["export", &export, "--send"],
        &["export", "--email", "jan.devries@example.nl"],
        &["rectify", "--email", "jan.devries@example.nl", "--set", "City=Utrecht"],
        &["restrict", "--email", "jan.devries@example.nl"],
        &["object", "--email", "jan.devries@example.nl", "--purpose", "account-access"],
        &["erase", &erase, "--dry-run"],
        &["erase", "--due"],
        &["erase", "--replay", "--yes"],
        &["retention", "run"],
        &["retention", "run", "--dry-run"],
        &["check", "--purpose", "account-access", "--email", "jan.devries@example.nl"],
        &["check", "--purpose", "account-access", "--stdin"],
        &["verify", &access, "AAAA-BBBB"],
        &["verify", "--resend", &access],
        &["verify", "--unlock", &access, "--reason", "called back"],
        &["request", "list"],
        &["request", "list", "--to-notify"],
        &["request", "show", &access],
        &["request", "extend", &access, "--months", "1", "--reason", "complexity"],
        &["request", "notified", &erase, "--recipient", "x", "--impossible", "--reason", "gone"],
        &["request", "delivered", &export, "--channel", "post", "--ref", "T1"],
        &["request", "reject", &access, "--reason", "excessive", "--note", "number-of-requests"],
        &["audit", "verify"],
        &["audit", "log"],
        &["mail", "list"],
        &["mail", "flush"],
        &["demo"],
        &["completions", "bash"],
        &["man"],
        &["--help"],
        &["--version"],
        &["request"],
        &["--json", "lookup", "--email", "nobody@example.nl"],
    ];
    for fault in [Fault::StderrFull, Fault::StdoutClosed] {
        for args in cases {
            let out = run_with(&env, &env.db, args, fault);
            assert!(
                documented(out.status.code()),
                "{fault:?} dsr {args:?}: exit {:?} is not in the table\nstderr: {}",
                out.status.code(),
                support::stderr(&out)
            );
            assert!(!support::stderr(&out).contains("panicked"), "{fault:?} dsr {args:?}: {}", support::stderr(&out));
        }
        for args in [&["init", "--fixture", "virtio"][..], &["generate", "--customers", "20"][..]] {
            let db = env.path(&format!("{fault:?}-{}.sqlite", args[0]));
            let out = run_with(&env, &db, args, fault);
            assert!(documented(out.status.code()), "{fault:?} dsr {args:?}: exit {:?}", out.status.code());
        }
    }
}

#[test]
fn a_demo_that_cannot_say_where_its_store_is_leaves_no_store_behind() {
    let env = Env::new();
    let out = run_with(&env, &env.db, &["demo"], Fault::StdoutClosed);
    assert!(documented(out.status.code()), "exit {:?}", out.status.code());
    let left: Vec<_> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("dsr-demo-"))
        .collect();
    assert!(left.is_empty(), "a demo directory nobody was told of: {left:?}");
}

#[test]
fn a_status_line_that_cannot_be_written_is_an_io_error() {
    let env = Env::with_fixture("virtio");
    let out = run_with(&env, &env.db, &["retention", "run"], Fault::StderrFull);
    assert_eq!(out.status.code(), Some(15));
    let out = run_with(&env, &env.db, &["access", "--email", "not-an-address"], Fault::StderrFull);
    assert_eq!(out.status.code(), Some(2), "the failure's own code, though it could not be told");
    let out = run_with(&env, &env.db, &["register"], Fault::StdoutClosed);
    assert_eq!(out.status.code(), Some(141), "a closed pipe ends quietly");
    assert_eq!(support::stderr(&out), "");
}

#[test]
fn a_passphrase_that_cannot_be_shown_leaves_no_archive_and_no_record() {
    let env = Env::with_fixture("virtio");
    let id = verified(&env, "export", "jan.devries@example.nl");
    let prepared = |env: &Env| -> i64 {
        env.sql()
            .query_row(
                "SELECT count(*) FROM audit_log WHERE request_id = ?1 AND action = 'answer-prepared'",
                [&id],
                |r| r.get(0),
            )
            .unwrap()
    };
    let out = run_with(&env, &env.db, &["export", &id, "--out", "x.zip", "--encrypt"], Fault::StderrFull);
    assert_eq!(out.status.code(), Some(15));
    assert!(!env.path("x.zip").exists(), "the archive is removed");
    assert_eq!(prepared(&env), 0, "nothing recorded");
    let out = run_with(&env, &env.db, &["export", &id, "--send", "--encrypt"], Fault::StderrFull);
    assert_eq!(out.status.code(), Some(15));
    assert_eq!(prepared(&env), 0, "nothing recorded");
    assert!(env.messages(&id).iter().all(|m| !m.subject.contains("Your data")), "nothing sent");
    let state: String = env.sql().query_row("SELECT state FROM request WHERE id = ?1", [&id], |r| r.get(0)).unwrap();
    assert_eq!(state, "verified");
    // Shown, the same command writes the archive and records it.
    let out = env.run(&["export", &id, "--out", "x.zip", "--encrypt"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    assert!(env.path("x.zip").exists());
    assert_eq!(prepared(&env), 1);
}

#[test]
fn usage_errors_are_one_line_that_never_repeat_what_was_typed() {
    let env = Env::with_fixture("virtio");
    let cases: &[(&[&str], &str)] = &[
        (&["lookup", "jan@example.nl"], "dsr lookup --help"),
        (&["lookup", "--emial=jan@example.nl"], "--emial"),
        (&["lookup", "--email", "jan@example.nl", "--phone", "0612345678"], "--phone"),
        (&["access", "--email", "jan@example.nl", "--channel", "jan@example.nl"], "--channel"),
        (&["request", "extend", "DSR-2026-0001", "--months", "7", "--reason", "x"], "--months"),
        (&["request", "extend", "DSR-2026-0001", "--months", "7", "--reason", "x"], "1..=2"),
        (&["access", "--email", "jan@example.nl", "--received", "jan@example.nl"], "--received"),
        (&["request", "show"], "REQUEST"),
        (&["request"], "dsr request --help"),
        (&["jan@example.nl"], "dsr --help"),
        (&["init", "--fixture", "jan@example.nl"], "virtio"),
    ];
    for (args, names) in cases {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(2), "dsr {args:?}: {}", support::stderr(&out));
        support::assert_one_line_error(&out);
        let err = support::stderr(&out);
        assert!(err.contains(names), "dsr {args:?} should name {names}: {err}");
        for typed in ["jan@example.nl", "0612345678"] {
            assert!(!err.contains(typed), "dsr {args:?} repeats what was typed: {err}");
        }
        assert!(!err.contains("Usage") && !err.contains('\x1b'), "{err}");
    }
}

#[derive(Debug, serde::Deserialize)]
struct Failure {
    format_version: u32,
    error: FailureError,
}

#[derive(Debug, serde::Deserialize)]
struct FailureError {
    kind: String,
    exit_code: i32,
    message: String,
}

#[test]
fn with_json_a_failure_prints_an_error_document() {
    let env = Env::with_fixture("virtio");
    let cases: &[(&[&str], i32, &str)] = &[
        (&["access", "--email", "not-an-address"], 2, "usage"),
        (&["lookup", "jan@example.nl"], 2, "usage"),
        (&["request", "show", "DSR-2020-9999"], 17, "unknown-request"),
        (&["lookup", "--email", "nobody@example.nl"], 3, "not-found"),
    ];
    for (args, code, kind) in cases {
        let out = env.dsr().arg("--json").args(*args).output().unwrap();
        assert_eq!(out.status.code(), Some(*code), "dsr --json {args:?}: {}", support::stderr(&out));
        if *code == 3 {
            // Not found is lookup's answer, not a failure: its own document.
            continue;
        }
        let doc: Failure = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("dsr --json {args:?}: {e}: {}", support::stdout(&out)));
        assert_eq!(doc.format_version, 1);
        assert_eq!((doc.error.exit_code, doc.error.kind.as_str()), (*code, *kind));
        assert!(support::stderr(&out).contains(&doc.error.message), "the same message on stderr");
        support::assert_one_line_error(&out);
    }
    let out = Command::new(env!("CARGO_BIN_EXE_dsr"))
        .current_dir(env.dir.path())
        .args(["--db", "missing.sqlite", "--json", "register"])
        .output()
        .unwrap();
    let doc: Failure = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((doc.error.exit_code, doc.error.kind.as_str()), (10, "store-missing"));
}

#[test]
fn color_never_covers_help_and_errors_and_quiet_silences_status() {
    let env = Env::with_fixture("virtio");
    let coloured = env.run(&["--color", "always", "--help"]);
    assert!(support::stdout(&coloured).contains('\x1b'), "--color always colours help");
    for args in [&["--color", "never", "--help"][..], &["--color=never", "lookup", "--help"][..]] {
        let out = env.run(args);
        assert!(out.status.success());
        assert!(!support::stdout(&out).contains('\x1b'), "dsr {args:?}");
    }
    let out = env.dsr().env("NO_COLOR", "1").args(["--color", "auto", "--help"]).output().unwrap();
    assert!(!support::stdout(&out).contains('\x1b'));
    let out = env.run(&["--color", "never", "lookup", "--frob"]);
    assert!(!support::stderr(&out).contains('\x1b'));
    // -q: no status line, from any command, the cron summaries included.
    for args in [&["-q", "retention", "run"][..], &["-q", "erase", "--due"][..], &["-q", "init", "--force"][..]] {
        let out = env.run(args);
        assert!(out.status.success(), "dsr {args:?}: {}", support::stderr(&out));
        assert_eq!(support::stderr(&out), "", "dsr {args:?} wrote a status line");
    }
}
