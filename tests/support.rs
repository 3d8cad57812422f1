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
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("dsr.sqlite");
        Env { dir, db, now: None }
    }

    /// A store built from an embedded fixture.
    pub fn with_fixture(fixture: &str) -> Env {
        let env = Env::new();
        env.dsr()
            .args(["init", "--fixture", fixture])
            .assert()
            .success();
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
        cmd
    }

    /// Run with `--json` and parse stdout; returns the parsed value and the exit code.
    pub fn json<T: DeserializeOwned>(&self, args: &[&str]) -> (T, i32) {
        let out = self
            .dsr()
            .arg("--json")
            .args(args)
            .output()
            .expect("run dsr");
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
    assert_eq!(
        err.lines().count(),
        1,
        "expected one line on stderr, got:\n{err}"
    );
    assert!(
        err.starts_with("dsr: "),
        "error should start with 'dsr: ': {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

pub fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

pub const FIXTURES: &[&str] = &["virtio", "voordelig-streamen"];
