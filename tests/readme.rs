//! README.md's Use section runs as written: every command in order, in an empty directory, with
//! `dsr` on the PATH; the codes a person would relay are read from the outbox.

use std::process::Command;

use crate::support::{self, Env};

/// The commands of the `sh` block under "## Use", without their comments.
fn use_section() -> Vec<String> {
    let readme = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = &readme[readme.find("## Use").expect("a Use section")..];
    let block = &section[section.find("```sh\n").expect("a sh block") + 6..];
    let block = &block[..block.find("```").expect("the block ends")];
    block
        .lines()
        .map(|l| l.split(" # ").next().unwrap().trim().to_owned())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

#[test]
fn the_use_section_of_the_readme_runs_as_written() {
    let env = Env::new();
    let bin = assert_cmd::cargo::cargo_bin("dsr");
    let path = format!("{}:{}", bin.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    let commands = use_section();
    assert!(commands.len() > 30, "{commands:?}");
    for line in commands {
        if line.starts_with("cargo install") {
            continue;
        }
        let line = match line.strip_prefix("dsr verify ").and_then(|rest| rest.split_once(" 7KQ2-M9XD")) {
            Some((id, rest)) => format!("dsr verify {id} {}{rest}", env.code(id)),
            None => line,
        };
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(&line).current_dir(env.dir.path()).env("PATH", &path);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("DSR_") || key == "NO_COLOR" {
                cmd.env_remove(&key);
            }
        }
        // One moment for the whole walk-through, so that the request ids carry the README's year.
        let out = cmd.env("DSR_NOW", "2026-12-01T10:00:00Z").output().unwrap();
        assert!(out.status.success(), "`{line}` exited {:?}:\n{}", out.status.code(), support::stderr(&out));
    }
    let state = |id: &str| -> String {
        env.sql().query_row("SELECT state FROM request WHERE id = ?1", [id], |r| r.get(0)).unwrap()
    };
    assert_eq!(state("DSR-2026-0001"), "completed", "delivered by mail");
    assert_eq!(state("DSR-2026-0002"), "completed", "handed over in person");
    assert_eq!(state("DSR-2026-0003"), "rejected");
    assert_eq!(state("DSR-2026-0009"), "completed", "erased from cron, the letter delivered");
    assert!(env.path("allowed.txt").exists() && env.path("out/DSR-2026-0005.zip").exists());
}

fn readme() -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

#[test]
fn the_readme_installs_the_locked_versions_and_says_where_a_code_comes_from() {
    let commands = use_section();
    let install = commands.iter().find(|l| l.starts_with("cargo install")).expect("an install line");
    assert_eq!(install, "cargo install --locked --path .");
    let readme = readme();
    let verify = readme.lines().find(|l| l.starts_with("dsr verify DSR-2026-0001 7KQ2-M9XD")).expect("a verify line");
    assert!(verify.contains("# the code from the message in outbox/"), "{verify}");
}

#[test]
fn docs_portal_csv_is_the_readme_batch_and_runs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let shipped = std::fs::read_to_string(root.join("docs/portal.csv")).expect("docs/portal.csv");
    let readme = readme();
    let line =
        readme.lines().find(|l| l.starts_with("printf ") && l.contains("> portal.csv")).expect("the printf line");
    let written = line.split('\'').nth(1).expect("the quoted text").replace("\\n", "\n");
    assert_eq!(shipped, written, "docs/portal.csv and the README's walk-through differ");
    let env = Env::with_fixture("virtio");
    let out = env
        .dsr()
        .args(["export", "--batch"])
        .arg(root.join("docs/portal.csv"))
        .args(["--out-dir", "out"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", support::stderr(&out));
    assert!(env.path("out/DSR-2026-0001.zip").is_file());
}
