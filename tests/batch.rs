//! Batch exports: many people verified outside dsr, one archive each, bad rows reported by line.

use serde::Deserialize;

use crate::support::{self, Env};

#[derive(Debug, Deserialize)]
struct Summary {
    format_version: u32,
    done: usize,
    skipped: usize,
    failed: usize,
    rows: Vec<Row>,
}
#[derive(Debug, Deserialize)]
struct Row {
    line: u64,
    status: String,
    request: Option<String>,
    file: Option<String>,
    reason: Option<String>,
}

/// A generated store of 1,000 customers, and a batch of 1,000 rows of which 4 are bad.
fn setup() -> (Env, String) {
    let env = Env::new();
    env.dsr()
        .env("DSR_NOW", "2026-11-01T00:00:00Z")
        .args(["generate", "--customers", "1000", "--log-lines", "4", "--ip-events", "4"])
        .assert()
        .success();
    // Two people sharing one address make that address ambiguous.
    env.sql()
        .execute_batch(
            "INSERT INTO email_address (person_id, address, address_norm, created_at) VALUES
               (10, 'family@example.nl', 'family@example.nl', '2026-01-01T00:00:00Z'),
               (11, 'family@example.nl', 'family@example.nl', '2026-01-01T00:00:00Z');",
        )
        .unwrap();
    let mut csv = String::from("email,customer,verified_by,reference\n");
    for i in 1..=996 {
        if i % 2 == 0 {
            csv.push_str(&format!(",G{i:08},portal-session,sess-{i}\n"));
        } else {
            csv.push_str(&format!("customer{i}@{},,portal-session,sess-{i}\n", "DOMAIN"));
        }
    }
    csv.push_str(",G99999999,portal-session,sess-x\n"); // line 998: unknown person
    csv.push_str("not-an-email,,portal-session,sess-y\n"); // line 999: malformed email
    csv.push_str("family@example.nl,,portal-session,sess-z\n"); // line 1000: ambiguous
    csv.push_str(",G00000997,,sess-w\n"); // line 1001: no verification method
    (env, csv)
}

#[test]
fn a_batch_of_a_thousand_with_bad_rows_and_an_idempotent_rerun() {
    let (env, template) = setup();
    // Customers' primary addresses use one of three domains; look each up.
    let conn = env.sql();
    let mut csv = String::new();
    for line in template.lines() {
        if let Some(rest) = line.strip_prefix("customer").filter(|_| line.contains("@DOMAIN")) {
            let n: i64 = rest.split('@').next().unwrap().parse().unwrap();
            let address: String = conn
                .query_row("SELECT address FROM email_address WHERE person_id = ?1 AND is_primary = 1", [n], |r| {
                    r.get(0)
                })
                .unwrap();
            csv.push_str(&line.replace(&format!("customer{n}@DOMAIN"), &address));
        } else {
            csv.push_str(line);
        }
        csv.push('\n');
    }
    std::fs::write(env.path("batch.csv"), &csv).unwrap();
    let (summary, code): (Summary, i32) = env.json(&["export", "--batch", "batch.csv", "--out-dir", "out"]);
    assert_eq!(code, 19, "non-zero when any row failed");
    assert_eq!(summary.format_version, 1);
    assert_eq!((summary.done, summary.skipped, summary.failed), (996, 0, 4));
    let failed: Vec<(u64, &str)> =
        summary.rows.iter().filter(|r| r.status == "failed").map(|r| (r.line, r.reason.as_deref().unwrap())).collect();
    assert_eq!(failed.iter().map(|f| f.0).collect::<Vec<_>>(), vec![998, 999, 1000, 1001]);
    assert!(failed[0].1.contains("no person"), "{}", failed[0].1);
    assert!(failed[1].1.contains("email"), "{}", failed[1].1);
    assert!(failed[2].1.contains("2 people"), "{}", failed[2].1);
    assert!(failed[3].1.contains("verified_by"), "{}", failed[3].1);
    let archives = std::fs::read_dir(env.path("out"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "zip"))
        .count();
    assert_eq!(archives, 996);
    // Each done row is its own request, verified by the stated method and reference.
    let row = summary.rows.iter().find(|r| r.line == 2).unwrap();
    let id = row.request.clone().unwrap();
    let (method, reference, state): (String, String, String) = env
        .sql()
        .query_row("SELECT verification_method, verification_ref, state FROM request WHERE id = ?1", [&id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    // Prepared for the portal to hand over; the portal's delivery (`request delivered`) completes it.
    assert_eq!((method.as_str(), reference.as_str(), state.as_str()), ("portal-session", "sess-1", "verified"));
    assert!(env.path(row.file.as_ref().unwrap()).exists());
    let audit: i64 = env
        .sql()
        .query_row(
            "SELECT count(*) FROM audit_log WHERE request_id = ?1 AND details LIKE '%portal-session%'",
            [&id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audit, 1, "the trail shows how identity was verified");

    // Re-run: everything done is skipped; the bad rows fail again; nothing new is written.
    let (again, code): (Summary, i32) = env.json(&["export", "--batch", "batch.csv", "--out-dir", "out"]);
    assert_eq!(code, 19);
    assert_eq!((again.done, again.skipped, again.failed), (0, 996, 4));
    // A lost archive (a run killed before it was written, or deleted) is written again.
    std::fs::remove_file(env.path(row.file.as_ref().unwrap())).unwrap();
    let (third, _): (Summary, i32) = env.json(&["export", "--batch", "batch.csv", "--out-dir", "out"]);
    assert_eq!((third.done, third.skipped), (1, 995));
    let requests: i64 = env.sql().query_row("SELECT count(*) FROM request", [], |r| r.get(0)).unwrap();
    assert_eq!(requests, 996, "re-runs open no new requests");
    env.dsr().args(["audit", "verify"]).assert().success();
}

#[test]
fn a_clean_batch_exits_zero_and_prints_a_summary() {
    let env = Env::with_fixture("virtio");
    std::fs::write(env.path("b.csv"), "email,verified_by,reference\njan.devries@example.nl,portal-session,s1\n")
        .unwrap();
    let out = env.run(&["export", "--batch", "b.csv", "--out-dir", "out"]);
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
    assert!(support::stdout(&out).contains("1 done, 0 skipped"));
    assert!(!support::stderr(&out).contains('\r'), "no progress bar off a terminal");
}

#[test]
fn a_batch_file_without_the_needed_columns_is_refused() {
    let env = Env::with_fixture("virtio");
    std::fs::write(env.path("b.csv"), "name,reference\nJan,s1\n").unwrap();
    let out = env.run(&["export", "--batch", "b.csv", "--out-dir", "out"]);
    assert_eq!(out.status.code(), Some(2));
    support::assert_one_line_error(&out);
    let out = env.run(&["export", "--batch", "missing.csv", "--out-dir", "out"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!env.path("out").exists(), "a refused list creates nothing");
}

#[test]
fn one_person_on_several_rows_gets_one_request_and_lines_are_the_files_own() {
    let env = Env::with_fixture("virtio");
    // CRLF, a blank line and a quoted field across two lines: line numbers count them all.
    let rows = [
        "email,customer,verified_by,reference",         // 1
        "jan.devries@example.nl,,portal-session,s1",    // 2
        "",                                             // 3
        ",V204117,portal-session,s2",                   // 4: Jan again, by customer number, another session
        "\"nobody\r\n@example.nl\",,portal-session,s3", // 5-6: malformed
        "nobody@example.nl,,portal-session,s4",         // 7: unknown
        "JAN.DEVRIES@example.nl,,portal-session,s1",    // 8: Jan again, the same session
    ];
    std::fs::write(env.path("b.csv"), rows.join("\r\n") + "\r\n").unwrap();
    let people_rows = |s: &Summary| -> Vec<(u64, String, Option<String>)> {
        s.rows.iter().map(|r| (r.line, r.status.clone(), r.reason.clone())).collect()
    };
    let (first, code): (Summary, i32) = env.json(&["export", "--batch", "b.csv", "--out-dir", "out"]);
    assert_eq!(code, 19);
    let same = Some("same person as line 2".to_owned());
    let got = people_rows(&first);
    assert_eq!(
        got.iter().map(|(l, s, _)| (*l, s.as_str())).collect::<Vec<_>>(),
        vec![(2, "done"), (4, "skipped"), (5, "failed"), (7, "failed"), (8, "skipped")],
        "{got:?}"
    );
    assert_eq!(got[1].2, same);
    assert_eq!(got[4].2, same);
    let request = first.rows[0].request.clone().unwrap();
    assert_eq!(first.rows[1].request.as_deref(), Some(request.as_str()));
    assert_eq!(first.rows[4].request.as_deref(), Some(request.as_str()));
    let count = |sql: &str| -> i64 { env.sql().query_row(sql, [], |r| r.get(0)).unwrap() };
    let requests = "SELECT count(*) FROM request";
    let prepared = "SELECT count(*) FROM audit_log WHERE action = 'answer-prepared'";
    assert_eq!(count(requests), 1, "one request for Jan");
    assert_eq!(count(prepared), 1, "one answer, one disclosure record");
    assert_eq!(std::fs::read_dir(env.path("out")).unwrap().count(), 1, "one archive");
    // The text summary names the rows of the same person.
    let out = env.run(&["export", "--batch", "b.csv", "--out-dir", "out"]);
    assert!(support::stdout(&out).contains("line 4: same person as line 2"), "{}", support::stdout(&out));
    // A re-run opens nothing new.
    let (again, _): (Summary, i32) = env.json(&["export", "--batch", "b.csv", "--out-dir", "out"]);
    let got = people_rows(&again);
    assert_eq!(
        got[0],
        (2, "skipped".to_owned(), Some("already exported: the answer is prepared and its archive is there".to_owned()))
    );
    assert_eq!((got[1].0, got[1].2.clone()), (4, same.clone()));
    assert_eq!((got[4].0, got[4].2.clone()), (8, same));
    assert_eq!(count(requests), 1);
    assert_eq!(count(prepared), 1);
    assert_eq!(std::fs::read_dir(env.path("out")).unwrap().count(), 1);
    // An archive cut short since is not taken for one: the row fails, saying what to do, and
    // once it is removed the re-run writes it anew.
    let archive = env.path("out").join(format!("{request}.zip"));
    std::fs::OpenOptions::new().write(true).open(&archive).unwrap().set_len(100).unwrap();
    let (cut, code): (Summary, i32) = env.json(&["export", "--batch", "b.csv", "--out-dir", "out"]);
    let got = people_rows(&cut);
    assert_eq!((code, got[0].0, got[0].1.as_str()), (19, 2, "failed"), "{got:?}");
    assert!(got[0].2.as_deref().unwrap().contains("does not read as the one written for"), "{got:?}");
    std::fs::remove_file(&archive).unwrap();
    let (again, code): (Summary, i32) = env.json(&["export", "--batch", "b.csv", "--out-dir", "out"]);
    assert_eq!((code, people_rows(&again)[0].1.as_str()), (19, "done"), "the other rows fail as before");
    assert!(zip::ZipArchive::new(std::fs::File::open(&archive).unwrap()).is_ok());
}

/// A re-run does not take a damaged archive, or another request's put in its place, for the
/// one it wrote: the row fails, naming the file, and nothing of the other archive is handed on.
#[test]
fn a_re_run_knows_a_damaged_archive_and_another_request_s() {
    let env = Env::with_fixture("virtio");
    let csv = "email,verified_by,reference\njan.devries@example.nl,portal-session,s1\nsanne@bakkerwebdesign.example,portal-session,s2\n";
    std::fs::write(env.path("b.csv"), csv).unwrap();
    let (first, code): (Summary, i32) = env.json(&["export", "--batch", "b.csv", "--out-dir", "out"]);
    assert_eq!(code, 0, "{:?}", first.rows);
    let file = |i: usize| env.path("out").join(format!("{}.zip", first.rows[i].request.as_deref().unwrap()));
    let (a, b) = (file(0), file(1));
    let good = std::fs::read(&a).unwrap();
    for (what, bytes) in [
        ("a byte changed inside an entry", {
            let mut x = good.clone();
            x[120] ^= 0x55;
            x
        }),
        ("the other request's archive", std::fs::read(&b).unwrap()),
    ] {
        std::fs::write(&a, &bytes).unwrap();
        let (again, code): (Summary, i32) = env.json(&["export", "--batch", "b.csv", "--out-dir", "out"]);
        assert_eq!((code, again.rows[0].status.as_str()), (19, "failed"), "{what}: {:?}", again.rows);
        let reason = again.rows[0].reason.clone().unwrap_or_default();
        assert!(reason.contains("does not read as the one written for"), "{what}: {reason}");
        assert_eq!(again.rows[1].status, "skipped", "{what}: the intact one stays");
    }
    std::fs::write(&a, &good).unwrap();
    let (again, code): (Summary, i32) = env.json(&["export", "--batch", "b.csv", "--out-dir", "out"]);
    assert_eq!((code, again.rows[0].status.as_str()), (0, "skipped"), "{:?}", again.rows);
}

/// Two batch exports at once do not both prepare the same answers: the second finds the lock
/// taken and does nothing (exit 22), and a lock left by a run that ended is no obstacle.
#[test]
fn a_second_batch_export_at_the_same_time_waits_its_turn() {
    let env = Env::with_fixture("virtio");
    let mut csv = String::from("email,verified_by,reference\n");
    let addresses: Vec<String> = env
        .sql()
        .prepare("SELECT address FROM email_address WHERE is_primary = 1 ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (i, a) in addresses.iter().enumerate() {
        csv.push_str(&format!("{a},portal-session,k{i}\n"));
    }
    std::fs::write(env.path("all.csv"), csv).unwrap();
    // A run under way holds the lock: this one does nothing.
    let held = std::fs::File::create(format!("{}.batch.lock", env.db.display())).unwrap();
    held.try_lock().unwrap();
    let (v, code): (serde_json::Value, i32) = env.json(&["export", "--batch", "all.csv", "--out-dir", "out"]);
    assert_eq!(code, 22, "{v}");
    assert_eq!(v["error"]["kind"], "run-locked", "{v}");
    assert!(!env.path("out").exists(), "nothing was written");
    assert_eq!(env.count("SELECT count(*) FROM request"), 0);
    drop(held);
    // Two at once: one runs, the other runs after it or is turned away; each answer prepared once.
    let start = || {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("dsr"))
            .args(["--db", env.db.to_str().unwrap(), "--json", "export", "--batch", "all.csv", "--out-dir", "out"])
            .current_dir(env.dir.path())
            .env_remove("DSR_DB")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (start(), start());
    let codes: Vec<i32> = [a, b].into_iter().map(|c| c.wait_with_output().unwrap().status.code().unwrap()).collect();
    assert!(codes.contains(&0) && codes.iter().all(|c| [0, 22].contains(c)), "{codes:?}");
    let requests = env.count("SELECT count(*) FROM request WHERE kind = 'export'");
    assert!(requests > 0);
    assert_eq!(env.count("SELECT count(*) FROM audit_log WHERE action = 'answer-prepared'"), requests);
}

/// A header that names a column twice, an empty file, a row with more fields than the header and
/// a row that is not UTF-8 are each named for what they are.
#[test]
fn a_batch_file_s_shape_and_encoding_are_named() {
    let env = Env::with_fixture("virtio");
    let run = |name: &str, bytes: &[u8]| {
        std::fs::write(env.path(name), bytes).unwrap();
        env.run(&["export", "--batch", name, "--out-dir", "out"])
    };
    let out = run("twice.csv", b"email,email,verified_by\njan.devries@example.nl,eva@example.nl,portal-session\n");
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    support::assert_one_line_error(&out);
    assert!(support::stderr(&out).contains("names the column email twice"), "{}", support::stderr(&out));
    // A misspelt reference column would drop every row's proof: refused, named.
    let out = run(
        "typo.csv",
        b"email,verified_by,refrence
jan.devries@example.nl,portal-session,q77
",
    );
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    support::assert_one_line_error(&out);
    assert!(
        support::stderr(&out).contains("names the column \"refrence\", which dsr does not read"),
        "{}",
        support::stderr(&out)
    );
    std::fs::write(env.path("a-file"), "").unwrap();
    std::fs::write(env.path("one.csv"), "email,verified_by\njan.devries@example.nl,portal-session\n").unwrap();
    let out = env.run(&["export", "--batch", "one.csv", "--out-dir", "a-file"]);
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    assert!(support::stderr(&out).contains("a-file is a file, not a directory"), "{}", support::stderr(&out));
    let out = env.run(&["export", "--batch", "one.csv", "--out-dir", "a-file/sub"]);
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    assert!(support::stderr(&out).contains("a part of this path is a file"), "{}", support::stderr(&out));
    std::os::unix::fs::symlink(env.path("gone"), env.path("dangling")).unwrap();
    let out = env.run(&["export", "--batch", "one.csv", "--out-dir", "dangling"]);
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    assert!(support::stderr(&out).contains("which does not exist: create that directory"), "{}", support::stderr(&out));
    let out = run("empty.csv", b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(support::stderr(&out).contains("the file is empty"), "{}", support::stderr(&out));
    assert!(!env.path("out").exists(), "a refused list creates nothing");
    let out = run(
        "rows.csv",
        b"email,verified_by,reference\njan.devries@example.nl,portal-session,s1,extra\nm\xe9lanie@example.nl,portal-session,s2\njan.devries@example.nl,email-code,s3\njan.devries@example.nl,verified-at-the-counter-of-our-shop-in-utrecht,s4\n",
    );
    assert_eq!(out.status.code(), Some(19), "{}", support::stderr(&out));
    let summary = support::stdout(&out);
    assert!(summary.contains("line 2: 4 fields where the header names 3"), "{summary}");
    assert!(summary.contains("line 3: unreadable CSV row: not UTF-8 text: save the file as UTF-8"), "{summary}");
    assert!(summary.contains("line 4: verified_by: email-code is dsr's own check"), "{summary}");
    assert!(summary.contains("line 5: verified_by: the method's name is longer than 40 characters"), "{summary}");
}

/// A second batch row for a person whose export request is open and verified already, with
/// another portal session: the archive is made again and the trail records that session's
/// verification too.
#[test]
fn a_new_verification_for_a_reused_request_is_recorded() {
    let env = Env::with_fixture("virtio");
    std::fs::write(env.path("a.csv"), "email,verified_by,reference\njan.devries@example.nl,portal-session,sess-82\n")
        .unwrap();
    std::fs::write(env.path("b.csv"), "email,verified_by,reference\njan.devries@example.nl,portal-session,sess-99\n")
        .unwrap();
    for (file, dir) in [("a.csv", "out1"), ("b.csv", "out2")] {
        let out = env.run(&["export", "--batch", file, "--out-dir", dir]);
        assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
    }
    let verified: Vec<String> = {
        let conn = env.sql();
        let mut stmt =
            conn.prepare("SELECT details FROM audit_log WHERE action = 'request-verified' ORDER BY id").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    assert_eq!(verified.len(), 2, "{verified:?}");
    assert!(verified[1].contains("\"again\":true"), "{verified:?}");
    let refs: Vec<String> = {
        let conn = env.sql();
        let mut stmt = conn.prepare("SELECT text FROM free_text ORDER BY id").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    assert_eq!(refs, ["sess-82", "sess-99"]);
}

/// An unclosed quote is named as such on the row it opens in (not as a bad email address), and a
/// file separated by semicolons (a Dutch spreadsheet) is told to use commas.
#[test]
fn an_unclosed_quote_and_a_semicolon_file_are_named() {
    let env = Env::with_fixture("virtio");
    std::fs::write(
        env.path("u.csv"),
        "email,verified_by\njan.devries@example.nl,portal-session\n\"kees.smit@example.nl,portal-session\n",
    )
    .unwrap();
    let (summary, code): (Summary, i32) = env.json(&["export", "--batch", "u.csv", "--out-dir", "o"]);
    assert_eq!((code, summary.done, summary.failed), (19, 1, 1));
    let bad = summary.rows.iter().find(|r| r.status == "failed").unwrap();
    assert_eq!(bad.line, 3);
    assert!(bad.reason.as_deref().unwrap().contains("never closed"), "{bad:?}");
    std::fs::write(env.path("s.csv"), "email;verified_by\njan.devries@example.nl;portal-session\n").unwrap();
    let out = env.run(&["export", "--batch", "s.csv", "--out-dir", "o2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(support::stderr(&out).contains("not by commas"), "{}", support::stderr(&out));
}

/// A batch run again with `--passphrase-file` writes again, encrypted, the archives an earlier run
/// wrote plain (before: skipped as "already exported", left plain); a later run without it leaves
/// the encrypted ones as they are. `--force` is no batch flag.
#[test]
fn a_re_run_that_asks_for_encryption_encrypts_the_archives_written_plain() {
    let env = Env::with_fixture("virtio");
    std::fs::write(env.path("one.csv"), "email,verified_by,reference\njan.devries@example.nl,portal-session,s1\n")
        .unwrap();
    std::fs::write(env.path("pp.txt"), "correct horse battery staple\n").unwrap();
    let encrypted = |env: &Env| {
        let dir = std::fs::read_dir(env.path("out")).unwrap();
        let path = dir.map(|e| e.unwrap().path()).find(|p| p.extension().is_some_and(|x| x == "zip")).unwrap();
        let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
        let i = zip.index_for_name("manifest.json").unwrap();
        let encrypted = zip.by_index_raw(i).unwrap().encrypted();
        encrypted
    };
    env.dsr().args(["export", "--batch", "one.csv", "--out-dir", "out"]).assert().success();
    assert!(!encrypted(&env));
    let (v, code): (serde_json::Value, i32) =
        env.json(&["export", "--batch", "one.csv", "--out-dir", "out", "--passphrase-file", "pp.txt"]);
    assert_eq!((code, v["done"].as_i64()), (0, Some(1)), "{v}");
    assert!(encrypted(&env));
    let (v, code): (serde_json::Value, i32) = env.json(&["export", "--batch", "one.csv", "--out-dir", "out"]);
    assert_eq!((code, v["skipped"].as_i64()), (0, Some(1)), "{v}");
    assert!(encrypted(&env), "an encrypted archive is not written again plain");
    let out = env.run(&["export", "--batch", "one.csv", "--out-dir", "out", "--force"]);
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
}
