//! A test environment: a temporary directory, a `dsr` command whose environment is scrubbed of
//! DSR_* and NO_COLOR, and helpers that parse `--json` output into typed structs.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde::de::DeserializeOwned;

pub struct Env {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    pub now: Option<String>,
    /// The schema of a PostgreSQL store (`db` then its URL), given as `DSR_PG_SCHEMA`.
    pub pg_schema: Option<String>,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("dsr.sqlite");
        Env { dir, db, now: None, pg_schema: None }
    }

    /// A store built from an embedded fixture, whose later commands run at `now` (`DSR_NOW`).
    pub fn with_fixture_at(fixture: &str, now: &str) -> Env {
        let mut env = Env::with_fixture(fixture);
        env.now = Some(now.into());
        env
    }

    /// A store built from an embedded fixture.
    pub fn with_fixture(fixture: &str) -> Env {
        let env = Env::new();
        env.dsr().args(["init", "--fixture", fixture]).assert().success();
        env
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `dsr --db <store>` with a clean environment, run in the temp dir.
    pub fn dsr(&self) -> Command {
        let mut cmd = Command::cargo_bin("dsr").expect("dsr binary");
        for (key, _) in std::env::vars_os() {
            let k = key.to_string_lossy();
            if k.starts_with("DSR_") || k == "NO_COLOR" {
                cmd.env_remove(&key);
            }
        }
        cmd.current_dir(self.dir.path()).arg("--db").arg(&self.db);
        if let Some(now) = &self.now {
            cmd.env("DSR_NOW", now);
        }
        if let Some(schema) = &self.pg_schema {
            cmd.env("DSR_PG_SCHEMA", schema);
        }
        cmd
    }

    /// Run with `--json` and parse stdout; returns the parsed value and the exit code.
    pub fn json<T: DeserializeOwned>(&self, args: &[&str]) -> (T, i32) {
        let out = self.dsr().arg("--json").args(args).output().expect("run dsr");
        let value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "dsr {args:?}: stdout is not the expected JSON ({e}):\n{}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (value, out.status.code().expect("exit code"))
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.dsr().args(args).output().expect("run dsr")
    }

    pub fn sql(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.db).expect("open store")
    }
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Exactly one line on stderr, starting with the program name.
pub fn assert_one_line_error(out: &Output) {
    let err = stderr(out);
    assert_eq!(err.lines().count(), 1, "expected one line on stderr, got:\n{err}");
    assert!(err.starts_with("dsr: "), "error should start with 'dsr: ': {err}");
    assert!(!err.contains("panicked"), "{err}");
}

pub fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

pub const FIXTURES: &[&str] = &["virtio", "voordelig-streamen"];

/// The acknowledgement of an opened request (`--json`).
#[derive(Debug, serde::Deserialize, PartialEq)]
pub struct Opened {
    pub request: String,
    pub right: String,
    pub state: String,
    pub received_on: String,
    pub due_on: String,
    pub new: bool,
    pub message: String,
}

impl Env {
    /// Open a request for `right` with the given identifier flags; returns the acknowledgement.
    pub fn open(&self, right: &str, who: &[&str]) -> Opened {
        let mut args = vec![right];
        args.extend_from_slice(who);
        let (opened, code): (Opened, i32) = self.json(&args);
        assert_eq!(code, 0, "opening {right} {who:?}");
        opened
    }

    /// Open a request and verify it with the code from the outbox; returns its id.
    pub fn verified(&self, right: &str, who: &[&str]) -> String {
        let o = self.open(right, who);
        let code = self.code(&o.request);
        self.dsr().args(["verify", &o.request, &code]).assert().success();
        o.request
    }

    /// Write the store's `register export` beside it as FILE, make another store in the same
    /// directory from it, and return the export, which the other store must give back whole.
    pub fn export_round_trip(&self, file: &str) -> String {
        let out = self.run(&["register", "export"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let export = stdout(&out);
        std::fs::write(self.path(file), &export).unwrap();
        let mut other = Env::new();
        other.db = self.path("round-trip.sqlite");
        let out = other.dsr().arg("init").arg("--register").arg(self.path(file)).output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(stdout(&other.run(&["register", "export"])), export, "the file made a store that exports it again");
        export
    }

    /// One number from the store.
    pub fn count(&self, sql: &str) -> i64 {
        self.sql().query_row(sql, [], |r| r.get(0)).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    pub fn outbox(&self) -> PathBuf {
        self.dir.path().join("outbox")
    }

    /// The messages in the outbox for a request, oldest first, parsed as mail.
    pub fn messages(&self, request: &str) -> Vec<Mail> {
        let Ok(dir) = std::fs::read_dir(self.outbox()) else {
            return Vec::new();
        };
        let mut paths: Vec<PathBuf> = dir
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name().unwrap().to_string_lossy().starts_with(request)
                    && p.extension().is_some_and(|x| x == "eml")
            })
            .collect();
        paths.sort();
        paths.iter().map(|p| Mail::parse(&std::fs::read(p).unwrap(), p.clone())).collect()
    }

    /// The code of the newest message for a request, as the person reads it.
    pub fn code(&self, request: &str) -> String {
        let mails = self.messages(request);
        let mail = mails.last().unwrap_or_else(|| panic!("no message for {request} in the outbox"));
        mail.code().expect("a code in the message")
    }
}

/// A message parsed with a real mail parser.
pub struct Mail {
    pub path: PathBuf,
    pub to: Vec<String>,
    pub from: Vec<String>,
    pub subject: String,
    pub body: String,
    pub raw: Vec<u8>,
}

impl Mail {
    pub fn parse(raw: &[u8], path: PathBuf) -> Mail {
        let msg = mail_parser::MessageParser::default().parse(raw).expect("an RFC 5322 message");
        let addrs = |a: Option<&mail_parser::Address>| -> Vec<String> {
            a.map(|a| a.iter().filter_map(|x| x.address().map(str::to_owned)).collect()).unwrap_or_default()
        };
        Mail {
            path,
            to: addrs(msg.to()),
            from: addrs(msg.from()),
            subject: msg.subject().unwrap_or_default().to_owned(),
            body: msg.body_text(0).map(|b| b.into_owned()).unwrap_or_default(),
            raw: raw.to_vec(),
        }
    }

    /// The grouped code `XXXX-XXXX` in the body.
    pub fn code(&self) -> Option<String> {
        self.body
            .lines()
            .map(str::trim)
            .find(|l| {
                l.len() == 9 && l.as_bytes()[4] == b'-' && l.chars().all(|c| c == '-' || c.is_ascii_alphanumeric())
            })
            .map(str::to_owned)
    }
}

/// A wrong code that is still a well-formed code.
pub fn wrong_code(right: &str) -> String {
    let mut chars: Vec<char> = right.chars().collect();
    chars[0] = if chars[0] == '0' { '1' } else { '0' };
    chars.into_iter().collect()
}

/// An outside program a test needs (7z, unzip, zipdetails, chromium, a PostgreSQL server): its
/// path from `PATH`. When it is absent the test prints a one-line notice and should return,
/// passing as skipped; with `DSR_TEST_REQUIRE=all` (or a comma-separated list naming it, as
/// `.ci/run` sets) an absent program fails the test instead.
pub fn program(name: &str) -> Option<PathBuf> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
    });
    if found.is_none() {
        let required = std::env::var("DSR_TEST_REQUIRE")
            .is_ok_and(|v| v.split(',').any(|w| w.trim() == "all" || w.trim() == name));
        assert!(
            !required,
            "{name} is not installed and DSR_TEST_REQUIRE={} asks for it",
            std::env::var("DSR_TEST_REQUIRE").unwrap_or_default()
        );
        // Past the test harness's capture, so the skip shows in `cargo test`'s output.
        let _ = writeln!(
            std::io::stderr(),
            "skipped: {name} is not installed ({})",
            std::thread::current().name().unwrap_or("test")
        );
    }
    found
}

/// A PostgreSQL server for the tests: the URL in `DSR_TEST_PG` (`.ci/run` starts a throw-away
/// cluster with `tests/pg-cluster.sh` and sets it). Without it the test prints a one-line notice
/// and should return; with `DSR_TEST_REQUIRE=all` (or naming `postgres`) it fails instead.
pub fn postgres() -> Option<String> {
    use std::io::Write;
    let url = std::env::var("DSR_TEST_PG").ok().filter(|u| !u.is_empty());
    if url.is_none() {
        let required = postgres_required();
        assert!(!required, "DSR_TEST_PG is not set and DSR_TEST_REQUIRE asks for PostgreSQL (see tests/pg-cluster.sh)");
        let _ = writeln!(
            std::io::stderr(),
            "skipped: no PostgreSQL server (set DSR_TEST_PG; tests/pg-cluster.sh starts one) ({})",
            std::thread::current().name().unwrap_or("test")
        );
    }
    url
}

/// Whether `DSR_TEST_REQUIRE` asks for the PostgreSQL tests (CI): then none may skip.
fn postgres_required() -> bool {
    std::env::var("DSR_TEST_REQUIRE").is_ok_and(|v| v.split(',').any(|w| w.trim() == "all" || w.trim() == "postgres"))
}

/// The test server's URL over TCP with TLS and the file of its CA (`tests/pg-cluster.sh` gives
/// both where openssl is installed); None, said on stderr, without them. With a server but no
/// TLS, `DSR_TEST_REQUIRE` asking for PostgreSQL fails the test: on CI it must run.
pub fn postgres_tls() -> Option<(String, String)> {
    postgres()?;
    let tls = std::env::var("DSR_TEST_PG_TLS").ok().filter(|u| !u.is_empty());
    let ca = std::env::var("DSR_TEST_PG_CA").ok().filter(|u| !u.is_empty());
    let (Some(tls), Some(ca)) = (tls, ca) else {
        let required = postgres_required();
        assert!(
            !required,
            "DSR_TEST_PG_TLS and DSR_TEST_PG_CA are not set (tests/pg-cluster.sh sets them where openssl is installed)"
        );
        eprintln!("skipped: no PostgreSQL server with TLS (DSR_TEST_PG_TLS, DSR_TEST_PG_CA)");
        return None;
    };
    Some((tls, ca))
}

/// Run `dsr ARGS` on a terminal 100 columns wide (`script` gives it one, as an officer at a prompt
/// has); once `prompt` is on the screen, type `input` (an empty prompt types nothing). Returns the
/// exit code and the screen (stdout and stderr).
pub fn at_terminal(env: &Env, args: &str, prompt: &str, input: &str) -> (Option<i32>, String) {
    at_terminal_after(env, args, prompt, || (), input)
}

/// Like [`at_terminal`], running `meanwhile` once the question is on the screen, before typing.
pub fn at_terminal_after(
    env: &Env,
    args: &str,
    prompt: &str,
    meanwhile: impl FnOnce(),
    input: &str,
) -> (Option<i32>, String) {
    use std::io::{Read, Write};
    let bin = assert_cmd::cargo::cargo_bin("dsr");
    // `exec`: the shell `script` starts (dash where SHELL is unset) would otherwise stay in the
    // terminal's foreground group and die of a Ctrl-C that dsr itself handles.
    let cmd = format!("stty cols 100; exec {} --db {} {args}", bin.display(), env.db.display());
    let mut child = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env_remove("DSR_NOW")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    // Typed only once the question is on the screen, however slow the machine.
    while !String::from_utf8_lossy(&seen).contains(prompt) {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "dsr ended without asking {prompt:?}: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    meanwhile();
    stdin.write_all(input.as_bytes()).unwrap();
    stdout.read_to_end(&mut seen).unwrap();
    let status = child.wait().unwrap();
    drop(stdin);
    (status.code(), String::from_utf8_lossy(&seen).into_owned())
}

/// What dsr prints on a terminal `cols` columns wide (the env's clock, nothing typed).
pub fn terminal(env: &Env, cols: u16, args: &str) -> String {
    let bin = assert_cmd::cargo::cargo_bin("dsr");
    let cmd = format!("stty cols {cols}; exec {} --db {} {args}", bin.display(), env.db.display());
    let mut script = std::process::Command::new("script");
    script.args(["-qec", &cmd, "/dev/null"]).env_remove("DSR_NOW").env_remove("NO_COLOR");
    if let Some(now) = &env.now {
        script.env("DSR_NOW", now);
    }
    let out = script.stdin(std::process::Stdio::null()).output().unwrap();
    String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n")
}

/// The rows of one table in an access answer (`--json`).
pub fn answer_rows<'a>(answer: &'a serde_json::Value, table: &str) -> Vec<&'a serde_json::Value> {
    answer["categories"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["tables"].as_array().unwrap())
        .filter(|t| t["table"] == table)
        .flat_map(|t| t["rows"].as_array().unwrap())
        .collect()
}
