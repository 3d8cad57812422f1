//! The command-line frame shared by every command: help, exit-code table, completions, man.

use clap::CommandFactory;

use crate::support::{self, stderr, stdout, Env};

#[test]
fn clap_definition_is_consistent() {
    dsr::cli::Cli::command().debug_assert();
}

#[test]
fn help_lists_every_exit_code_and_environment_variable() {
    let env = Env::new();
    let out = env.run(&["--help"]);
    assert!(out.status.success());
    let help = support::stdout(&out);
    for (code, meaning) in dsr::exit::TABLE {
        assert!(help.contains(&format!("{code:>3}  {meaning}")), "--help lacks exit code {code}: {meaning}");
    }
    for var in ["DSR_DB", "DSR_NOW", "NO_COLOR"] {
        assert!(help.contains(var), "--help lacks {var}");
    }
}

#[test]
fn readme_and_docs_list_the_same_exit_codes() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for doc in ["README.md", "docs/exit-codes.md"] {
        let text = std::fs::read_to_string(root.join(doc)).unwrap();
        for (code, meaning) in dsr::exit::TABLE {
            assert!(text.contains(&format!("| {code} | {meaning} |")), "{doc} lacks exit code {code}: {meaning}");
        }
    }
}

#[test]
fn completions_and_man_page_are_generated() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = env.run(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        assert!(support::stdout(&out).contains("lookup"), "{shell} completion names subcommands");
    }
    let out = env.run(&["man"]);
    assert!(out.status.success());
    assert!(support::stdout(&out).contains(".TH dsr"));
}

#[test]
fn a_bad_dsr_now_is_a_usage_error() {
    let env = Env::new();
    let out = env.dsr().env("DSR_NOW", "yesterday").args(["init"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    support::assert_one_line_error(&out);
    assert!(!env.db.exists());
}

#[test]
fn a_value_out_of_range_is_named_without_mangling_the_range() {
    let env = Env::new();
    let out = env.dsr().args(["import", "shop_order", "rows.csv", "--batch", "0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    support::assert_one_line_error(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the value is not in 1..=1000000"), "{err}");
}

#[test]
fn a_key_value_connection_string_is_refused_without_showing_it() {
    let env = Env::new();
    let conninfo = "host=/tmp port=5432 user=dsr password=s3cretpw dbname=postgres";
    for by_env in [false, true] {
        let mut cmd = assert_cmd::Command::cargo_bin("dsr").unwrap();
        cmd.current_dir(env.path("")).env_remove("DSR_DB");
        if by_env {
            cmd.env("DSR_DB", conninfo);
        } else {
            cmd.args(["--db", conninfo]);
        }
        let out = cmd.arg("status").output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        support::assert_one_line_error(&out);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("postgres://") && !err.contains("s3cretpw"), "{err}");
    }
}

#[test]
fn colour_is_never_used_when_not_a_terminal_unless_forced() {
    let env = Env::with_fixture("virtio");
    let plain = env.run(&["lookup", "--email", "jan.devries@example.nl"]);
    assert!(!support::stdout(&plain).contains('\x1b'));
    let json = env.run(&["--json", "--color", "always", "lookup", "--email", "jan.devries@example.nl"]);
    assert!(!support::stdout(&json).contains('\x1b'), "JSON is never coloured");
}

#[test]
fn demo_keeps_its_store_and_outbox_in_the_directory_it_names() {
    let env = Env::new();
    let tmp = tempfile::tempdir().unwrap();
    let out = env.dsr().env("TMPDIR", tmp.path()).arg("demo").output().unwrap();
    assert!(out.status.success(), "{}", support::stderr(&out));
    let text = support::stdout(&out);
    for step in ["opened", "is verified", "Access answer for request", "Audit trail verified"] {
        assert!(text.contains(step), "demo lacks step {step:?}:\n{text}");
    }
    assert_eq!(std::fs::read_dir(env.dir.path()).unwrap().count(), 0, "demo writes nothing in the working directory");
    // One directory, in the temporary directory, named at the end with the commands to look at it.
    let kept: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    let dir = &kept[0];
    let tail: String = text.lines().rev().take(8).collect::<Vec<_>>().join("\n");
    assert!(tail.contains(&format!("kept in {}", dir.display())), "{tail}");
    let db = dir.join("demo.sqlite");
    assert!(tail.contains(&format!("dsr --db {} request show DSR-2026-0001", db.display())), "{tail}");
    let show = assert_cmd::Command::cargo_bin("dsr")
        .unwrap()
        .args(["--json", "--db"])
        .arg(&db)
        .args(["request", "show", "DSR-2026-0001"])
        .output()
        .unwrap();
    assert!(show.status.success(), "{}", support::stderr(&show));
    let show: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(show["state"], "completed");
    let mails: Vec<_> = std::fs::read_dir(dir.join("outbox")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(mails.len(), 2, "the code message and the answer's letter: {mails:?}");
    let code = mails.iter().map(|p| support::Mail::parse(&std::fs::read(p).unwrap(), p.clone())).find_map(|m| m.code());
    assert!(code.is_some(), "the code message is there to read");
}

#[test]
fn demo_dir_takes_a_new_or_empty_directory() {
    let env = Env::new();
    let out = env.run(&["demo", "--dir", "walk"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    assert!(env.path("walk/demo.sqlite").is_file() && env.path("walk/outbox").is_dir());
    assert!(support::stdout(&out).contains("kept in walk"));
    let again = env.run(&["demo", "--dir", "walk"]);
    assert_eq!(again.status.code(), Some(2));
    support::assert_one_line_error(&again);
}

#[test]
fn an_option_of_answering_a_request_given_with_a_person_opens_nothing() {
    // These options act on a request named by its id; given with a person's identifier instead
    // they were ignored, and a request was opened and its code sent under a dry run.
    let env = Env::with_fixture("virtio");
    for args in [
        &["erase", "--dry-run", "--email", "jan.devries@example.nl"][..],
        &["erase", "--approve", "--email", "jan.devries@example.nl"],
        &["erase", "--hold", "--reason", "x", "--customer", "V204117"],
        &["access", "--send", "--email", "jan.devries@example.nl"],
        &["access", "--archive", "a.zip", "--email", "jan.devries@example.nl"],
        &["export", "--out", "a.zip", "--email", "jan.devries@example.nl"],
    ] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        support::assert_one_line_error(&out);
    }
    assert_eq!(env.count("SELECT count(*) FROM request"), 0);
    assert!(std::fs::read_dir(env.outbox()).map_or(0, |d| d.count()) == 0, "no letter");
}

/// A value of --db or --from that is neither a file nor a postgres:// URL is refused without
/// being repeated: it may hold a password, and errors end up in cron mail and logs.
#[test]
fn a_store_named_by_another_url_or_settings_is_refused_without_repeating_it() {
    let mut env = Env::new();
    for (db, args) in [
        ("PostgreSQL://dsr:Sup3rSecret@localhost/x", &["lookup", "--email", "a@example.nl"][..]),
        ("mysql://dsr:Sup3rSecret@localhost/x", &["--json", "lookup", "--email", "a@example.nl"]),
        ("jdbc:postgresql://dsr:Sup3rSecret@localhost/x", &["lookup", "--email", "a@example.nl"]),
        (" postgres://dsr:Sup3rSecret@localhost/x", &["lookup", "--email", "a@example.nl"]),
        (
            "dsr.sqlite",
            &["migrate", "--from", "postgres://dsr:Sup3rSecret@localhost/x", "--to", "postgres://dsr@localhost/y"],
        ),
        (
            "dsr.sqlite",
            &["migrate", "--from", "host=localhost password=Sup3rSecret", "--to", "postgres://dsr@localhost/y"],
        ),
        (
            "dsr.sqlite",
            &["migrate", "--from", "ftp://dsr:Sup3rSecret@localhost/x", "--to", "postgres://dsr@localhost/y"],
        ),
    ] {
        env.db = db.into();
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", support::stderr(&out));
        let said = format!("{}{}", support::stdout(&out), support::stderr(&out));
        assert!(!said.contains("Sup3rSecret"), "{args:?}: {said}");
        assert!(said.contains("invalid --db") || said.contains("invalid --from"), "{args:?}: {said}");
    }
}

#[test]
fn a_flag_given_twice_and_a_demo_asked_for_json_are_one_line_errors() {
    let env = Env::with_fixture("virtio");
    let out = env.run(&["report", "--from", "2026-01-01", "--from", "2026-02-01"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(support::stderr(&out).contains("--from is given more than once"), "{}", support::stderr(&out));
    let out = env.run(&["--json", "demo", "--dir", "walk"]);
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(doc["error"]["exit_code"], 2);
    assert!(!env.path("walk").exists(), "nothing made");
}

#[test]
fn quiet_leaves_the_id_of_an_opened_request_and_no_sentences() {
    let env = Env::with_fixture("virtio");
    let out = env.run(&["-q", "erase", "--email", "jan.devries@example.nl"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let id = stdout(&out);
    assert_eq!(id.trim(), "DSR-2026-0001", "only the id: {id:?}");
    let code = env.code("DSR-2026-0001");
    let out = env.run(&["-q", "verify", "DSR-2026-0001", &code]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!((stdout(&out), stderr(&out)), (String::new(), String::new()));
    // What `check` says is in its exit code; data (a table) stays.
    let out = env.run(&["-q", "check", "--purpose", "newsletter", "--email", "nobody@example.nl"]);
    assert_eq!((out.status.code(), stdout(&out)), (Some(3), String::new()));
    let out = env.run(&["-q", "request", "list"]);
    assert!(stdout(&out).contains("DSR-2026-0001"), "{}", stdout(&out));
}

#[test]
fn a_batch_export_refuses_the_flags_of_one_request() {
    let env = Env::with_fixture("virtio");
    std::fs::write(env.path("b.csv"), "customer,verified_by\nV204117,portal-session\n").unwrap();
    for extra in [&["--out", "x.zip"][..], &["--send"]] {
        let mut args = vec!["export", "--batch", "b.csv", "--out-dir", "o"];
        args.extend_from_slice(extra);
        let out = env.run(&args);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", stderr(&out));
        support::assert_one_line_error(&out);
    }
    assert!(!env.path("o").exists(), "nothing was exported");
}

/// A date flag says the form it wants, not the date library's words.
#[test]
fn a_date_that_does_not_read_names_its_form() {
    let env = Env::with_fixture("virtio");
    for day in ["01-03-2026", "2026-02-30"] {
        let out = env.run(&["access", "--email", "x@example.nl", "--received", day]);
        assert_eq!(out.status.code(), Some(2), "{day}: {}", stderr(&out));
        assert!(stderr(&out).contains("YYYY-MM-DD"), "{day}: {}", stderr(&out));
        assert!(!stderr(&out).contains(day), "the value is not repeated: {}", stderr(&out));
    }
}

/// Ctrl-C at the hidden code prompt on a terminal (a pseudo-terminal, driven by Python's pty)
/// ends the command with 130 and leaves echo on and the cursor shown.
#[test]
fn ctrl_c_at_a_prompt_leaves_the_terminal_as_it_was() {
    if support::program("python3").is_none() {
        return;
    }
    let env = Env::with_fixture("virtio");
    const DRIVE: &str = r#"
import os, pty, select, sys, termios, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
def read(seconds):
    out, end = b"", time.time() + seconds
    while time.time() < end:
        if select.select([fd], [], [], 0.1)[0]:
            try:
                out += os.read(fd, 4096)
            except OSError:
                break
    return out
seen = read(3)
os.write(fd, b"y")
seen += read(3)
hidden = not (termios.tcgetattr(fd)[3] & termios.ECHO)
os.write(fd, b"\x03")
seen += read(3)
code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
echo = bool(termios.tcgetattr(fd)[3] & termios.ECHO)
shown = seen.rfind(b"\x1b[?25h") >= seen.rfind(b"\x1b[?25l")
print(hidden, code, echo, shown)
"#;
    let out = std::process::Command::new("python3")
        .current_dir(env.dir.path())
        .arg("-c")
        .arg(DRIVE)
        .arg(env!("CARGO_BIN_EXE_dsr"))
        .args(["--db", env.db.to_str().unwrap(), "access", "--email", "lotte.jansen@example.org"])
        .env_remove("DSR_NOW")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "True 130 True True", "{}", support::stderr(&out));
}

/// A mistyped command or flag is answered with the likeliest one.
#[test]
fn a_typo_is_answered_with_the_likeliest_command() {
    let env = Env::new();
    for (typed, meant) in
        [("acess", "access"), ("exprot", "export"), ("eras", "erase"), ("verfiy", "verify"), ("stauts", "status")]
    {
        let out = env.run(&[typed]);
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains(&format!("did you mean `{meant}`?")), "{typed}: {}", stderr(&out));
    }
}

#[test]
fn errors_name_the_flag_not_the_value_typed_and_no_os_error_numbers() {
    let env = Env::with_fixture("webshop");
    for (args, typed) in [
        (&["report", "--from", "31-12-2026"][..], "31-12-2026"),
        (&["import", "shop_order", "orders.csv", "--source-tz", "Mars/Olympus"], "Mars/Olympus"),
    ] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        support::assert_one_line_error(&out);
        assert!(!support::stderr(&out).contains(typed), "{}", support::stderr(&out));
    }
    let out = env.run(&["import", "shop_order", "missing.csv"]);
    assert_eq!(out.status.code(), Some(2));
    let err = support::stderr(&out);
    assert!(err.contains("No such file or directory") && !err.contains("os error"), "{err}");
}

/// A subcommand's flag typed before the subcommand is told where it belongs (before: "unknown
/// flag --jobs; see `dsr export --help`", a help that lists it); a flag no command has is unknown.
#[test]
fn a_subcommand_s_flag_before_the_subcommand_is_told_where_it_belongs() {
    let env = Env::with_fixture("virtio");
    let out = env.run(&["--jobs", "4", "export", "--batch", "x.csv", "--out-dir", "o"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--jobs belongs after `dsr export`"), "{}", stderr(&out));
    let out = env.run(&["--bogus", "export"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("unknown flag --bogus"), "{}", stderr(&out));
}
