//! `dsr init`: embedded fixtures from any directory, no silent overwrite, private file mode.

use std::os::unix::fs::PermissionsExt;

use serde::Deserialize;

use crate::support::{self, Env};

#[derive(Debug, Deserialize)]
struct Created {
    fixture: Option<String>,
    people: i64,
    schema_version: i64,
}

#[test]
fn both_fixtures_init_from_any_directory_with_at_least_25_people() {
    for fixture in support::FIXTURES {
        let env = Env::new();
        // Run from a directory that has no fixtures/ in sight.
        let (created, code): (Created, i32) = env.json(&["init", "--fixture", fixture]);
        assert_eq!(code, 0);
        assert_eq!(created.fixture.as_deref(), Some(*fixture));
        assert!(created.people >= 25, "{fixture}: {} people", created.people);
        assert!(created.schema_version >= 1);
        let mode = std::fs::metadata(&env.db).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "a store of personal data is private");
    }
}

#[test]
fn init_refuses_to_overwrite_without_force() {
    let env = Env::with_fixture("virtio");
    let before = std::fs::read(&env.db).unwrap();
    let out = env.run(&["init", "--fixture", "voordelig-streamen"]);
    assert_eq!(out.status.code(), Some(14));
    support::assert_one_line_error(&out);
    assert!(support::stderr(&out).contains("--force"));
    assert_eq!(std::fs::read(&env.db).unwrap(), before, "untouched");
    env.dsr().args(["init", "--fixture", "voordelig-streamen", "--force"]).assert().success();
    let name: String = env.sql().query_row("SELECT name FROM controller", [], |r| r.get(0)).unwrap();
    assert_eq!(name, "Voordelig Streamen");
}

#[test]
fn init_also_refuses_to_overwrite_a_file_that_is_not_a_store() {
    let env = Env::new();
    std::fs::write(&env.db, "precious").unwrap();
    assert_eq!(env.run(&["init"]).status.code(), Some(14));
    assert_eq!(std::fs::read_to_string(&env.db).unwrap(), "precious");
}

#[test]
fn init_without_fixture_makes_an_empty_store_and_register_says_so() {
    let env = Env::new();
    env.dsr().arg("init").assert().success();
    let out = env.run(&["register"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(support::stdout(&out).contains("no register"));
    let out = env.run(&["lookup", "--email", "a@example.nl"]);
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn register_only_loads_no_people() {
    let env = Env::new();
    let (created, _): (Created, i32) = env.json(&["init", "--fixture", "virtio", "--register-only"]);
    assert_eq!(created.people, 0);
}

#[test]
fn init_into_a_missing_directory_fails_cleanly() {
    let env = Env::new();
    let out = assert_cmd::Command::cargo_bin("dsr")
        .unwrap()
        .current_dir(env.dir.path())
        .env_remove("DSR_DB")
        .args(["--db", "no/such/dir/dsr.sqlite", "init"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(15), "{}", support::stderr(&out));
    support::assert_one_line_error(&out);
}

#[test]
fn an_unknown_fixture_is_a_usage_error() {
    let env = Env::new();
    let out = env.run(&["init", "--fixture", "acme"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!env.db.exists());
}

#[test]
fn a_failed_init_leaves_no_temporary_files() {
    let env = Env::new();
    env.dsr().args(["init", "--fixture", "virtio"]).assert().success();
    let names: Vec<String> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["dsr.sqlite".to_owned()], "only the store remains");
}

/// The names in the test directory.
fn names(env: &Env) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Start `dsr init --fixture virtio` and wait until its temporary store is on disk; `None` when
/// the process finished first (the store was built before it could be seen).
fn init_caught_building(env: &Env) -> Option<std::process::Child> {
    let _ = std::fs::remove_file(&env.db);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("dsr"))
        .current_dir(env.dir.path())
        .env_remove("DSR_NOW")
        .arg("--db")
        .arg(&env.db)
        .args(["init", "--fixture", "virtio"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    loop {
        if names(env).iter().any(|n| n.starts_with(".dsr-")) {
            return Some(child);
        }
        if child.try_wait().unwrap().is_some() {
            return None;
        }
        std::thread::yield_now();
    }
}

fn signal(child: &std::process::Child, name: &str) {
    let sent = std::process::Command::new("kill").arg(format!("-{name}")).arg(child.id().to_string()).status().unwrap();
    assert!(sent.success());
}

#[test]
fn an_init_interrupted_by_sigint_sigterm_or_sighup_leaves_nothing() {
    for (name, number) in [("INT", 2), ("TERM", 15), ("HUP", 1)] {
        let env = Env::new();
        let mut caught = false;
        for _ in 0..50 {
            let Some(mut child) = init_caught_building(&env) else { continue };
            signal(&child, name);
            let status = child.wait().unwrap();
            if env.db.exists() {
                // The signal came after the rename: the store is complete, and nothing else is left.
                assert_eq!(names(&env), vec!["dsr.sqlite".to_owned()]);
                continue;
            }
            assert_eq!(status.code(), Some(128 + number), "SIG{name}: {status:?}");
            assert_eq!(names(&env), Vec::<String>::new(), "SIG{name} during init leaves nothing");
            caught = true;
            break;
        }
        assert!(caught, "SIG{name} never reached an init in progress");
    }
}

#[test]
fn the_next_init_removes_what_an_init_killed_with_sigkill_left() {
    let env = Env::new();
    let mut left = Vec::new();
    for _ in 0..50 {
        let Some(mut child) = init_caught_building(&env) else { continue };
        signal(&child, "KILL");
        child.wait().unwrap();
        left = names(&env);
        if !env.db.exists() {
            break;
        }
    }
    assert!(
        !left.is_empty() && left.iter().all(|n| n.starts_with(".dsr-")),
        "SIGKILL leaves the temporary store: {left:?}"
    );
    env.dsr().args(["init", "--fixture", "virtio"]).assert().success();
    assert_eq!(names(&env), vec!["dsr.sqlite".to_owned()], "the leftover of the killed init is gone");
}
