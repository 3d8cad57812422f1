//! What a power loss could undo: a file dsr puts in place (a new store, a letter in the outbox,
//! an archive) is synced, renamed to its name and its directory synced before dsr records it or
//! reports it written. A rename is a change of the directory; until the directory is synced it
//! can be lost while the record of the file stands. Checked on the system calls (`strace`).

use std::path::Path;

use crate::support::{self, Env};

/// The file-system calls of `dsr --db DB ARGS` that matter here, one a line, file descriptors
/// shown with their paths (`-y`).
fn traced(env: &Env, strace: &Path, db: &Path, args: &[&str]) -> String {
    let log = env.path("strace.log");
    let mut cmd = std::process::Command::new(strace);
    cmd.args(["-f", "-qq", "-y", "-e", "trace=fsync,fdatasync,rename,renameat,renameat2,link,linkat", "-o"])
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_dsr"))
        .arg("--db")
        .arg(db)
        .args(args)
        .current_dir(env.dir.path());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("DSR_") {
            cmd.env_remove(&key);
        }
    }
    let out = cmd.output().expect("run strace");
    assert!(out.status.success(), "dsr {args:?} under strace: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::read_to_string(&log).expect("strace log")
}

/// The file at `target` came into place by a rename (or link) of a file whose data was synced
/// before, and its directory was synced after it.
fn placed_durably(trace: &str, target: &Path) {
    let name = target.to_str().unwrap();
    let dir = target.parent().unwrap().to_str().unwrap();
    let lines: Vec<&str> = trace.lines().collect();
    let renamed = lines
        .iter()
        .position(|l| {
            (l.contains("rename") || l.contains("link")) && l.contains(&format!("\"{name}\"")) && l.ends_with("= 0")
        })
        .unwrap_or_else(|| panic!("no rename to {name} in:\n{trace}"));
    let data_synced =
        lines[..renamed].iter().any(|l| l.contains("sync") && l.contains(&format!("/{}", temp_prefix(lines[renamed]))));
    assert!(data_synced, "the data of {name} was not synced before its rename:\n{trace}");
    let dir_synced = lines[renamed..].iter().any(|l| l.contains("fsync(") && l.contains(&format!("<{dir}>)")));
    assert!(dir_synced, "{dir} was not synced after the rename to {name}:\n{trace}");
}

/// The temporary file's name (its last path component) in a rename or link line.
fn temp_prefix(line: &str) -> String {
    let from = line.split('"').nth(1).expect("a quoted source path");
    Path::new(from).file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn a_store_a_letter_and_an_archive_are_on_disk_under_their_names_before_they_count_as_written() {
    let Some(strace) = support::program("strace") else { return };
    // A sandbox that forbids ptrace lets strace start but not trace: said, and not counted.
    let probe = std::process::Command::new(&strace).args(["-o", "/dev/null", "true"]).output().expect("run strace");
    if !probe.status.success() {
        eprintln!("skipped: strace cannot trace here ({})", String::from_utf8_lossy(&probe.stderr).trim());
        return;
    }
    let env = Env::with_fixture("virtio");
    let root = env.dir.path().canonicalize().unwrap();

    // A new store.
    let new = root.join("new.sqlite");
    let trace = traced(&env, &strace, &new, &["init", "--fixture", "virtio"]);
    placed_durably(&trace, &new);

    // A letter: the code of a new request, delivered to the outbox and recorded as sent.
    let trace = traced(&env, &strace, &env.db, &["access", "--email", "jan.devries@example.nl"]);
    let letter = std::fs::read_dir(root.join("outbox")).unwrap().next().unwrap().unwrap().path();
    placed_durably(&trace, &letter);

    // An archive written with --out, then recorded as prepared.
    let req = env.verified("export", &["--email", "jan.devries@example.nl"]);
    let zip = root.join("jan.zip");
    let trace = traced(&env, &strace, &env.db, &["export", &req, "--out", zip.to_str().unwrap()]);
    placed_durably(&trace, &zip);
}
