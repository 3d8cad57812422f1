//! A full disk under the archives: a small tmpfs mounted in a mount namespace of the test's own
//! (`unshare --user --map-root-user --mount`, no root needed). Nothing cut short is reported
//! done, recorded as prepared or handed over.

use std::process::Command;

use crate::support::{self, Env};

/// Run `script` (sh) with a `SIZE` tmpfs mounted at `full/` in the test's directory, and what the
/// tmpfs held copied to `kept/` before it goes. `None` when this machine cannot make such a
/// mount (no unshare, or user namespaces turned off): the test is then skipped.
fn on_full_disk(env: &Env, size: &str, script: &str) -> Option<(i32, String)> {
    support::program("unshare")?;
    let dsr = env!("CARGO_BIN_EXE_dsr");
    let whole = format!(
        "set -u; mkdir -p full kept && mount -t tmpfs -o size={size} tmpfs full || exit 99
         DB='{db}'
         dsr() {{ '{dsr}' --db \"$DB\" \"$@\"; }}
         {script}
         rc=$?; cp -a full/. kept/; exit $rc",
        db = env.db.display()
    );
    let mut cmd = Command::new("unshare");
    cmd.args(["--user", "--map-root-user", "--mount", "sh", "-c", &whole]).current_dir(env.dir.path());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("DSR_") {
            cmd.env_remove(&key);
        }
    }
    let out = cmd.env("DSR_MAIL", "outbox").output().expect("run unshare");
    let code = out.status.code().unwrap_or(-1);
    if code == 99 || String::from_utf8_lossy(&out.stderr).contains("unshare:") {
        eprintln!("skipped: this machine cannot mount a tmpfs in a user namespace ({})", support::stderr(&out).trim());
        return None;
    }
    Some((code, support::stderr(&out)))
}

/// Every `.zip` in `dir` read whole by a zip reader (each entry's bytes against its CRC).
fn all_whole(dir: &std::path::Path) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "zip") {
            let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            for i in 0..zip.len() {
                let mut f = zip.by_index(i).unwrap();
                std::io::copy(&mut f, &mut std::io::sink()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            }
            n += 1;
        }
    }
    n
}

#[test]
fn a_batch_on_a_full_disk_stops_and_records_only_the_archives_on_disk() {
    let env = Env::with_fixture("webshop");
    let mut csv = String::from("customer,verified_by,reference\n");
    for n in 1..=12 {
        csv.push_str(&format!("FO-1000{n:02},portal-session,s{n}\n"));
    }
    std::fs::write(env.path("many.csv"), csv).unwrap();
    let Some((code, err)) =
        on_full_disk(&env, "200k", "dsr -q --json export --batch many.csv --out-dir full > summary.json")
    else {
        return;
    };
    assert_eq!(code, 15, "{err}");
    assert!(err.contains("the disk is full: make room"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let whole = all_whole(&env.path("kept"));
    assert!(whole < 12, "a 200 KiB disk holds all twelve archives: make it smaller");
    // Each archive recorded as prepared is one on disk, whole; no other request is answered.
    let prepared = env.count("SELECT count(*) FROM audit_log WHERE action = 'answer-prepared'");
    assert!(prepared as usize <= whole, "{prepared} recorded, {whole} on disk");
    // The summary reports those archives done, before the error.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(env.path("summary.json")).unwrap()).expect("the summary");
    assert_eq!(summary["done"].as_i64(), Some(prepared), "{summary}");
    // Every row is in it: those not finished as `not-run`, and where and why it stopped.
    let rows = summary["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 12, "{summary}");
    let not_run: Vec<i64> =
        rows.iter().filter(|r| r["status"] == "not-run").map(|r| r["line"].as_i64().unwrap()).collect();
    assert_eq!(not_run.len() as i64, 12 - prepared - summary["failed"].as_i64().unwrap(), "{summary}");
    assert_eq!(summary["not_run"].as_i64(), Some(not_run.len() as i64), "{summary}");
    // Each names the request opened for it, which a re-run answers.
    let unnamed: Vec<&serde_json::Value> =
        rows.iter().filter(|r| r["status"] == "not-run" && !r["request"].is_string()).collect();
    assert!(unnamed.is_empty(), "{unnamed:?}");
    assert_eq!(
        (summary["stop"]["line"].as_i64(), summary["stop"]["exit_code"].as_i64()),
        (not_run.first().copied(), Some(15))
    );
    assert!(err.contains(&format!("batch stopped at line {}", not_run[0])), "{err}");
}

#[test]
fn an_archive_or_an_answer_sent_on_a_full_disk_fails_and_leaves_the_request_open() {
    let env = Env::with_fixture("virtio");
    let export = env.verified("export", &["--email", "jan.devries@example.nl"]);
    let access = env.verified("access", &["--email", "jan.devries@example.nl"]);
    // The store itself on the small disk too (`access --send` builds its attachment beside the
    // store), with about 120 KiB left: room for the store's own writes, not for the archive.
    let script = format!(
        "cp '{db}' full/s.sqlite && cd full || exit 98
         dd if=/dev/zero of=filler bs=1k count=$(( $(df -k . | tail -1 | awk '{{print $4}}') - 120 )) 2>/dev/null
         DB=s.sqlite
         dsr export {export} --out jan.zip; e=$?
         dsr access {access} --send; a=$?
         rm filler; cd ..
         echo \"export=$e access=$a\" >&2; [ $e = 15 ] && [ $a = 15 ]",
        db = env.db.display()
    );
    let Some((code, err)) = on_full_disk(&env, "3m", &script) else {
        return;
    };
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("cannot write") && err.contains("the disk is full"), "{err}");
    assert!(!env.path("kept/jan.zip").exists(), "no archive cut short at the name asked for");
    let kept = rusqlite::Connection::open(env.path("kept/s.sqlite")).unwrap();
    let count = |sql: &str| -> i64 { kept.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM audit_log WHERE action IN ('answer-prepared', 'disclosed')"), 0);
    assert_eq!(
        count("SELECT count(*) FROM request WHERE state = 'verified'"),
        2,
        "both requests wait for their answer"
    );
}

#[test]
fn an_import_that_fills_the_disk_stops_with_its_batches_in_the_trail() {
    let env = Env::with_fixture("webshop");
    let customers = env.count("SELECT min(id) FROM customer");
    let mut csv = String::from(
        "id,customer_id,recipient_name,street,house_number,postal_code,city,country,is_default,created_at\n",
    );
    for i in 0..40_000 {
        csv.push_str(&format!(
            "{},{customers},Naam {i},Straat,{},1234 AB,Plaats,NL,0,2026-01-05T10:00:00Z\n",
            50_000 + i,
            i % 300 + 1
        ));
    }
    std::fs::write(env.path("many.csv"), csv).unwrap();
    // The table has rows: the import loads in batches (not as one first load).
    assert!(env.count("SELECT count(*) FROM delivery_address") > 0);
    let script = format!(
        "cp '{db}' full/s.sqlite || exit 98
         DB=full/s.sqlite
         dsr -q import delivery_address many.csv --source-tz UTC --batch 1000",
        db = env.db.display()
    );
    let size = std::fs::metadata(&env.db).unwrap().len() / 1024 + 400;
    let Some((code, err)) = on_full_disk(&env, &format!("{size}k"), &script) else {
        return;
    };
    assert_eq!(code, 15, "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("the disk holding the store full/s.sqlite") && err.contains("is full"), "{err}");
    assert!(!err.contains("Error code"), "{err}");
    let kept = env.path("kept/s.sqlite");
    let rows: i64 = rusqlite::Connection::open(&kept)
        .unwrap()
        .query_row("SELECT count(*) FROM delivery_address WHERE id >= 50000", [], |r| r.get(0))
        .unwrap();
    assert!(rows > 0 && rows < 40_000, "some batches are in: {rows}");
    let started: i64 = rusqlite::Connection::open(&kept)
        .unwrap()
        .query_row("SELECT count(*) FROM audit_log WHERE action = 'import-started'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(started, 1, "the batches on disk are in the trail");
    let verify = Command::new(env!("CARGO_BIN_EXE_dsr"))
        .args(["--db", kept.to_str().unwrap(), "audit", "verify"])
        .env_remove("DSR_DB")
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", support::stderr(&verify));
}

/// A full disk under a JSON answer (`--out`) or an archive (`--archive`) that the JSON or zip
/// writer meets: exit 15 with what to do, as any other write (it was exit 1, the system's words).
#[test]
fn an_answer_written_by_the_json_or_zip_writer_on_a_full_disk_is_exit_15() {
    let env = Env::with_fixture("virtio");
    let access = env.verified("access", &["--email", "jan.devries@example.nl"]);
    let script = format!(
        "dd if=/dev/zero of=full/filler bs=1k 2>/dev/null
         dsr access {access} --out full/a.json; j=$?
         dsr access {access} --archive full/a.zip; z=$?
         rm full/filler
         echo \"json=$j zip=$z\" >&2; [ $j = 15 ] && [ $z = 15 ]"
    );
    let Some((code, err)) = on_full_disk(&env, "1m", &script) else {
        return;
    };
    assert_eq!(code, 0, "{err}");
    assert_eq!(err.matches("the disk is full: make room").count(), 2, "{err}");
    assert!(!env.path("kept/a.json").exists() && !env.path("kept/a.zip").exists());
}

/// The erasure journal on a disk that fills during its line: nothing of the line stays (the
/// queue keeps it), and once there is room the line is written whole, after the lines before it:
/// every line reads back for `erase --replay`.
#[test]
fn an_erasure_journal_line_cut_by_a_full_disk_leaves_no_half_line() {
    let env = Env::with_fixture("webshop");
    let request = env.verified("erase", &["--email", "sanne.dejong@example.nl"]);
    // Lines that fill the journal's first page but for some bytes: the next line crosses it.
    let filler: String = (0..52)
        .map(|i| format!("{{\"request\":\"DSR-2020-{i:04}\",\"erased_at\":\"2020-01-01T00:00:00Z\",\"hashes\":[]}}\n"))
        .collect();
    assert!(filler.len() < 4096 && filler.len() > 3800, "{}", filler.len());
    std::fs::write(env.path("journal.seed"), &filler).unwrap();
    let script = format!(
        "cp journal.seed full/j && ln -s \"$PWD/full/j\" '{db}.erasures' || exit 98
         dsr erase {request} --yes; e=$?
         wc -c < full/j >&2
         mount -o remount,size=64k full || exit 97
         dsr mail flush; m=$?
         echo \"erase=$e flush=$m\" >&2; [ $m = 0 ]",
        db = env.db.display()
    );
    let Some((code, err)) = on_full_disk(&env, "4k", &script) else {
        return;
    };
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(&format!("{}\n", filler.len())), "the line cut short was taken back: {err}");
    let journal = std::fs::read_to_string(env.path("kept/j")).unwrap();
    assert!(journal.starts_with(&filler), "the lines before stay");
    for line in journal.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("{line}: {e}"));
    }
    assert_eq!(journal.lines().count(), 53, "{journal}");
    assert!(journal.lines().last().unwrap().contains(&request), "{journal}");
}

/// A retention run whose store fills the disk stops at the first rule that cannot write, with the
/// store's exit code for it (15) and a line that says to make room, not SQLite's words for every
/// rule after it.
#[test]
fn a_retention_run_on_a_full_disk_stops_with_exit_15() {
    let env = Env::with_fixture("virtio");
    let script = format!(
        "cp '{db}' full/s.sqlite && cd full || exit 98
         DB=s.sqlite
         dd if=/dev/zero of=filler bs=1k count=$(( $(df -k . | tail -1 | awk '{{print $4}}') - 4 )) 2>/dev/null
         dsr status >/dev/null; o=$?
         rm filler
         dd if=/dev/zero of=filler bs=1k count=$(( $(df -k . | tail -1 | awk '{{print $4}}') - 48 )) 2>/dev/null
         DSR_NOW=2031-01-01T00:00:00Z dsr retention run; r=$?
         rm filler; cd ..
         echo \"open=$o retention=$r\" >&2; [ $o = 15 ] && [ $r = 15 ]",
        db = env.db.display()
    );
    let Some((code, err)) = on_full_disk(&env, "3m", &script) else {
        return;
    };
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("is full") && err.contains("make room"), "{err}");
    assert!(!err.contains("Error code"), "{err}");
}
