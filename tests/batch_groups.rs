//! Batch exports in groups: archives are synced and put in place a group at a time and recorded
//! only after that, in one transaction per group; a batch stopped by a signal (one it can handle
//! or SIGKILL) leaves only complete archives, and a re-run completes the rest without a second
//! request or record.

use std::io::Read;
use std::process::{Command, Stdio};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::support::Env;

/// Archives settled at once (`GROUP` in src/batch/mod.rs).
const GROUP: usize = 64;

#[derive(Debug, Deserialize)]
struct Summary {
    done: usize,
    skipped: usize,
    failed: usize,
}

/// A generated store of `people` customers and a clean batch naming each of them once.
fn setup(people: usize) -> Env {
    let env = Env::new();
    env.dsr()
        .env("DSR_NOW", "2026-11-01T00:00:00Z")
        .args(["generate", "--customers", &people.to_string(), "--log-lines", "4", "--ip-events", "4"])
        .assert()
        .success();
    let mut csv = String::from("customer,verified_by,reference\n");
    for i in 1..=people {
        csv.push_str(&format!("G{i:08},portal-session,s{i}\n"));
    }
    std::fs::write(env.path("b.csv"), csv).unwrap();
    env
}

fn count(env: &Env, sql: &str) -> usize {
    env.sql().query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap() as usize
}

/// The names of the files in `out` that end in `suffix`.
fn files(env: &Env, suffix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(env.path("out"))
        .map(|d| d.filter_map(|e| e.ok()?.file_name().into_string().ok()).filter(|n| n.ends_with(suffix)).collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// The archives of the requests whose answer is recorded as prepared.
fn recorded(env: &Env) -> Vec<String> {
    let conn = env.sql();
    let mut stmt = conn.prepare("SELECT id || '.zip' FROM request WHERE answered_at IS NOT NULL ORDER BY 1").unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

/// A whole archive: a zip whose every file has the size and SHA-256 its manifest gives.
fn assert_complete(env: &Env, name: &str) {
    let file = std::fs::File::open(env.path("out").join(name)).unwrap();
    let mut zip = zip::ZipArchive::new(file).unwrap_or_else(|e| panic!("{name} is not a whole zip: {e}"));
    let mut text = String::new();
    zip.by_name("manifest.json").unwrap().read_to_string(&mut text).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
    let listed = manifest["files"].as_array().unwrap();
    assert_eq!(zip.len(), listed.len() + 1, "{name}: every file and the manifest");
    for f in listed {
        let mut bytes = Vec::new();
        zip.by_name(f["path"].as_str().unwrap()).unwrap().read_to_end(&mut bytes).unwrap();
        assert_eq!(bytes.len() as u64, f["bytes"].as_u64().unwrap(), "{name}: {}", f["path"]);
        let sha: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(sha, f["sha256"].as_str().unwrap(), "{name}: {}", f["path"]);
    }
}

/// Start the batch, wait until archives beyond `before` appear in `out` (or it ends), and send
/// it `signal`.
fn stop_batch(env: &Env, before: usize, signal: &str) -> std::process::ExitStatus {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("dsr"))
        .args(["--db", env.db.to_str().unwrap(), "-q", "export", "--batch", "b.csv", "--out-dir", "out"])
        .current_dir(env.dir.path())
        .env("DSR_NOW", "2026-11-01T00:00:00Z")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    while child.try_wait().unwrap().is_none() && files(env, ".zip").len() <= before {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    Command::new("kill").args([&format!("-{signal}"), &child.id().to_string()]).status().unwrap();
    child.wait().unwrap()
}

#[test]
fn a_batch_records_its_archives_a_group_at_a_time() {
    let people = 3 * GROUP + 8;
    let env = setup(people);
    let (summary, code): (Summary, i32) = env.json(&["export", "--batch", "b.csv", "--out-dir", "out"]);
    assert_eq!((code, summary.done, summary.skipped, summary.failed), (0, people, 0, 0));
    // The audit trail as runs of records (answer prepared) and of openings (request opened and
    // verified). A group's records are one transaction, after its archives are synced, so every
    // run of records is whole groups, and only the last group, the rest of the batch, is smaller.
    // A group's rows are opened in one transaction too: two entries per row, whole groups but one.
    let conn = env.sql();
    let mut stmt = conn
        .prepare(
            "SELECT action = 'answer-prepared' FROM audit_log
             WHERE action IN ('request-opened', 'request-verified', 'answer-prepared') ORDER BY id",
        )
        .unwrap();
    let records: Vec<bool> = stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    let mut runs: Vec<(bool, usize)> = Vec::new();
    for record in records {
        match runs.last_mut() {
            Some((kind, n)) if *kind == record => *n += 1,
            _ => runs.push((record, 1)),
        }
    }
    let of = |kind: bool| runs.iter().filter(|r| r.0 == kind).map(|r| r.1).collect::<Vec<_>>();
    let (recorded_runs, opened_runs) = (of(true), of(false));
    assert_eq!(recorded_runs.iter().sum::<usize>(), people);
    let (last, whole) = recorded_runs.split_last().unwrap();
    assert!(whole.iter().all(|r| r % GROUP == 0), "records in groups of {GROUP}: {recorded_runs:?}");
    assert_eq!(last % GROUP, people % GROUP, "{recorded_runs:?}");
    assert_eq!(opened_runs.iter().sum::<usize>(), 2 * people);
    let partial: Vec<usize> = opened_runs.iter().copied().filter(|r| r % (2 * GROUP) != 0).collect();
    assert_eq!(partial.len(), 1, "openings in groups of {GROUP}: {opened_runs:?}");
    assert_eq!(partial[0] % (2 * GROUP), 2 * (people % GROUP), "{opened_runs:?}");
    assert_eq!(files(&env, ".zip"), recorded(&env));
    assert!(files(&env, ".part").is_empty());
    env.dsr().args(["audit", "verify"]).assert().success();
}

#[test]
fn a_batch_stopped_by_signals_leaves_only_complete_recorded_archives_and_resumes() {
    let people = 600;
    let env = setup(people);
    // SIGTERM, as soon as archives appear, again and again: a handled signal removes what is
    // not recorded, so what is on disk and what is recorded stay the same set.
    for round in 0..3 {
        let before = files(&env, ".zip").len();
        let status = stop_batch(&env, before, "TERM");
        assert!(status.success() || status.code() == Some(143), "round {round}: {status:?}");
        assert_eq!(files(&env, ".zip"), recorded(&env), "after SIGTERM in round {round}");
        assert!(files(&env, ".part").is_empty(), "after SIGTERM in round {round}");
    }
    // SIGKILL cannot be handled: archives of the group being recorded may stay without their
    // record, but every archive there is complete and every record has its archive.
    for round in 0..3 {
        let before = files(&env, ".zip").len();
        stop_batch(&env, before, "KILL");
        let on_disk = files(&env, ".zip");
        for name in recorded(&env) {
            assert!(on_disk.contains(&name), "after SIGKILL in round {round}: {name} recorded without its archive");
        }
        for name in &on_disk {
            assert_complete(&env, name);
        }
    }
    // A re-run writes and records the rest, and what a killed run left without a record, with no
    // second request and no second record.
    let (done, code): (Summary, i32) = env.json(&["export", "--batch", "b.csv", "--out-dir", "out"]);
    assert_eq!(code, 0);
    assert_eq!((done.done + done.skipped, done.failed), (people, 0), "the last run completes the batch");
    assert_eq!(files(&env, ".zip"), recorded(&env));
    assert_eq!(files(&env, ".zip").len(), people);
    assert!(files(&env, ".part").is_empty(), "the killed runs' temporary files are swept");
    assert_eq!(count(&env, "SELECT count(*) FROM request"), people);
    assert_eq!(count(&env, "SELECT count(*) FROM audit_log WHERE action = 'answer-prepared'"), people);
    for name in files(&env, ".zip") {
        assert_complete(&env, &name);
    }
    env.dsr().args(["audit", "verify"]).assert().success();
}
