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

/// The script of README.md's "A nightly sync" section, with `/srv/...` moved to `dir`.
fn sync_script(dir: &std::path::Path) -> String {
    let readme = readme();
    let section = &readme[readme.find("## A nightly sync").expect("a nightly sync section")..];
    let block = &section[section.find("```sh\n").expect("a sh block") + 6..];
    block[..block.find("```").expect("the block ends")].replace("/srv", &dir.display().to_string())
}

#[test]
fn the_nightly_sync_script_of_the_readme_imports_erases_and_acknowledges() {
    let env = Env::with_fixture("webshop");
    let srv = env.path("srv");
    for d in ["dsr", "webshop/bin", "mailer/bin"] {
        std::fs::create_dir_all(srv.join(d)).unwrap();
    }
    // The company: a web shop whose mailing service keeps its own copy of the subscribers.
    let text = support::stdout(&env.run(&["register", "export"]));
    let file = format!("{text}\n[[system]]\nname = \"mailer\"\ntables = [\"email_address\"]\n");
    std::fs::write(env.path("company.toml"), file).unwrap();
    env.dsr().args(["register", "apply", "company.toml", "--yes"]).assert().success();
    // Sanne was erased last week; Fleur's erasure an officer approved for tonight's cron.
    let sanne = env.verified("erase", &["--email", "sanne.dejong@example.nl"]);
    env.dsr().args(["erase", &sanne, "--yes"]).assert().success();
    env.dsr().args(["tasks", "done", "1", "--ref", "by hand"]).assert().success();
    let id = env.verified("erase", &["--customer", "FO-100009"]);
    env.dsr().args(["erase", &id, "--approve"]).assert().success();
    std::fs::rename(&env.db, srv.join("dsr/dsr.sqlite")).unwrap();
    std::fs::rename(env.path("outbox"), srv.join("dsr/outbox")).unwrap();
    // The shop's export (a new subscriber, and one of the erased person's addresses) and the
    // mailing service's tool (acknowledges each task it reads).
    let export = srv.join("webshop/bin/export-subscribers");
    std::fs::write(
        &export,
        "#!/bin/sh\nprintf 'id,person_id,address,is_primary,newsletter_opt_in,created_at\\n950,2,nieuw@example.nl,0,1,2026-11-30 20:15\\n951,1,sanne.dejong@example.nl,1,1,2026-11-30 20:16\\n'\n",
    )
    .unwrap();
    let tool = srv.join("mailer/bin/apply-dsr-tasks");
    std::fs::write(
        &tool,
        "#!/bin/sh\nsed -n 's/^{\"task\":\\([0-9]*\\),.*/{\"task\": \\1, \"ref\": \"mailer nightly\"}/p'\n",
    )
    .unwrap();
    for f in [&export, &tool] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let script = env.path("dsr-sync");
    std::fs::write(&script, sync_script(&srv)).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("dsr");
    let path = format!("{}:{}", bin.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    let mut cmd = Command::new("sh");
    cmd.arg(&script).env("PATH", &path);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("DSR_") || key == "NO_COLOR" {
            cmd.env_remove(&key);
        }
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "the script exited {:?}:\n{}", out.status.code(), support::stderr(&out));
    assert!(support::stderr(&out).contains("line 3: address: this person was erased on"), "{}", support::stderr(&out));
    let conn = rusqlite::Connection::open(srv.join("dsr/dsr.sqlite")).unwrap();
    let one = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(one("SELECT count(*) FROM email_address WHERE address_norm = 'nieuw@example.nl'"), 1, "imported");
    assert_eq!(one("SELECT count(*) FROM email_address WHERE address_norm = 'sanne.dejong@example.nl'"), 0, "kept out");
    assert_eq!(one("SELECT count(*) FROM person WHERE id = 9"), 0, "erased by erase --due");
    assert_eq!(
        one("SELECT count(*) FROM task WHERE done_ref = 'mailer nightly' AND rows IS NULL"),
        1,
        "told and acknowledged"
    );
    assert_eq!(one("SELECT count(*) FROM task WHERE done_at IS NULL"), 0);
    let state: String = conn.query_row("SELECT state FROM request WHERE id = ?1", [&id], |r| r.get(0)).unwrap();
    assert_eq!(state, "completed");
}
