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
