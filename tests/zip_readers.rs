//! Archives are valid zips for the readers people use: 7-Zip tests them with no warning (plain and
//! encrypted), `zipdetails` reads every record to the end, Info-ZIP `unzip -t` and Python's
//! `zipfile` accept the plain ones. The same writer makes the archive that goes out by mail.
//! With DSR_TEST_ARCHIVES=DIR the archives are also copied there (`.ci/run` checks them again).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mail_parser::MimeHeaders;

use crate::support::{self, Env};

/// A verified request answered with an archive; returns its path and the passphrase, if any.
fn archive(env: &Env, right: &str, file: &str, extra: &[&str]) -> (PathBuf, Option<String>) {
    let o = env.open(right, &["--email", "jan.devries@example.nl"]);
    let code = env.code(&o.request);
    env.dsr().args(["verify", &o.request, &code]).assert().success();
    let flag = if right == "export" { "--out" } else { "--archive" };
    let mut args = vec![right, o.request.as_str(), flag, file];
    args.extend_from_slice(extra);
    let out = env.run(&args);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let passphrase =
        support::stderr(&out).lines().find_map(|l| l.split("archive): ").nth(1)).map(|p| p.trim().to_owned());
    let path = env.path(file);
    keep_for_ci(&path, passphrase.as_deref());
    (path, passphrase)
}

/// A copy for `.ci/run`, with the passphrase of an encrypted one beside it in `NAME.zip.pass`.
fn keep_for_ci(path: &Path, passphrase: Option<&str>) {
    if let Some(dir) = std::env::var_os("DSR_TEST_ARCHIVES") {
        let copy = Path::new(&dir).join(path.file_name().unwrap());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(path, &copy).unwrap();
        if let Some(p) = passphrase {
            std::fs::write(copy.with_extension("zip.pass"), p).unwrap();
        }
    }
}

fn text(out: &Output) -> String {
    format!("{}{}", support::stdout(out), support::stderr(out))
}

/// `7z t` passes with nothing to warn about, not only with exit code 0.
fn assert_7z_clean(sevenzip: &Path, path: &Path, passphrase: Option<&str>) {
    let mut cmd = Command::new(sevenzip);
    cmd.arg("t").arg(format!("-p{}", passphrase.unwrap_or(""))).arg(path);
    let out = cmd.output().unwrap();
    let said = text(&out);
    assert!(out.status.success(), "7z t {}:\n{said}", path.display());
    for bad in ["Warning", "WARNING", "Headers Error", "ERROR", "Error"] {
        assert!(!said.contains(bad), "7z t {} says {bad:?}:\n{said}", path.display());
    }
    assert!(said.contains("Everything is Ok"), "7z t {}:\n{said}", path.display());
}

#[test]
fn seven_zip_tests_plain_and_encrypted_archives_without_a_warning() {
    let Some(sevenzip) = support::program("7z") else { return };
    let env = Env::with_fixture("virtio");
    let (plain, _) = archive(&env, "access", "access-plain.zip", &[]);
    assert_7z_clean(&sevenzip, &plain, None);
    let (encrypted, passphrase) = archive(&env, "export", "export-aes.zip", &["--encrypt"]);
    assert_7z_clean(&sevenzip, &encrypted, Some(&passphrase.expect("the passphrase on stderr")));
    let env = Env::with_fixture("voordelig-streamen");
    let (export, _) = archive(&env, "export", "export-plain.zip", &[]);
    assert_7z_clean(&sevenzip, &export, None);
}

/// `zipdetails` walks every record of the file, local headers, data descriptors and the central
/// directory, to its end.
fn assert_zipdetails_to_the_end(zipdetails: &Path, path: &Path) {
    let out = Command::new(zipdetails).arg(path).output().unwrap();
    let said = text(&out);
    assert!(out.status.success(), "zipdetails {}:\n{said}", path.display());
    assert!(!said.contains("Unexpected") && !said.contains("Error"), "zipdetails {}:\n{said}", path.display());
    assert!(
        said.contains("END CENTRAL HEADER") && said.trim_end().ends_with("Done"),
        "zipdetails {}:\n{said}",
        path.display()
    );
}

#[test]
fn zipdetails_reads_plain_and_encrypted_to_the_end_unzip_and_python_the_plain() {
    let env = Env::with_fixture("virtio");
    let (path, _) = archive(&env, "access", "access-readers.zip", &[]);
    let (encrypted, _) = archive(&env, "export", "export-readers-aes.zip", &["--encrypt"]);
    if let Some(zipdetails) = support::program("zipdetails") {
        assert_zipdetails_to_the_end(&zipdetails, &path);
        assert_zipdetails_to_the_end(&zipdetails, &encrypted);
    }
    if let Some(unzip) = support::program("unzip") {
        let out = Command::new(unzip).arg("-t").arg(&path).output().unwrap();
        let said = text(&out);
        assert!(out.status.success(), "unzip -t:\n{said}");
        assert!(said.contains("No errors detected"), "unzip -t:\n{said}");
        assert!(!said.contains("warning"), "unzip -t:\n{said}");
    }
    if let Some(python) = support::program("python3") {
        let script = "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nbad = z.testzip()\nassert bad is None, bad\nprint(len(z.namelist()))";
        let out = Command::new(python).args(["-W", "error", "-c", script]).arg(&path).output().unwrap();
        assert!(out.status.success(), "python3 zipfile:\n{}", text(&out));
    }
}

#[test]
fn the_archive_sent_by_mail_passes_seven_zip_without_a_warning() {
    let Some(sevenzip) = support::program("7z") else { return };
    let env = Env::with_fixture("virtio");
    let o = env.open("access", &["--email", "jan.devries@example.nl"]);
    let code = env.code(&o.request);
    env.dsr().args(["verify", &o.request, &code]).assert().success();
    std::fs::write(env.path("pass.txt"), "correct horse battery staple\n").unwrap();
    env.dsr().args(["access", &o.request, "--send", "--passphrase-file", "pass.txt"]).assert().success();
    let mails = env.messages(&o.request);
    let zip = mails
        .iter()
        .find_map(|m| {
            let msg = mail_parser::MessageParser::default().parse(&m.raw)?;
            let found = msg.attachments().find(|a| a.attachment_name().is_some_and(|n| n.ends_with(".zip")));
            found.map(|a| a.contents().to_vec())
        })
        .expect("a zip attached to the answer");
    // The letter names programs that read AES zips, not the unzip built into Windows or macOS.
    let letter = mails.iter().find(|m| m.body.contains("AES-256")).expect("the cover letter");
    for named in ["7-Zip", "Keka"] {
        assert!(letter.body.contains(named), "{named}:\n{}", letter.body);
    }
    for wrong in ["Archive Utility", "Archiefhulpprogramma"] {
        assert!(!letter.body.contains(wrong), "{wrong} does not open AES entries:\n{}", letter.body);
    }
    let path = env.path("mailed.zip");
    std::fs::write(&path, zip).unwrap();
    keep_for_ci(&path, Some("correct horse battery staple"));
    assert_7z_clean(&sevenzip, &path, Some("correct horse battery staple"));
}

/// A test whose outside program is missing (a fresh machine with only cargo) passes as skipped with
/// a one-line notice, and fails when DSR_TEST_REQUIRE asks for every program (CI).
#[test]
fn a_test_whose_program_is_absent_passes_as_skipped_unless_required() {
    let empty = tempfile::tempdir().unwrap();
    let run = |require: Option<&str>| {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args(["export::an_encrypted_archive_opens_with_7z_and_the_passphrase_only", "--exact", "--test-threads=1"]);
        cmd.env("PATH", empty.path()).env_remove("DSR_TEST_REQUIRE").env_remove("DSR_TEST_ARCHIVES");
        if let Some(r) = require {
            cmd.env("DSR_TEST_REQUIRE", r);
        }
        cmd.output().unwrap()
    };
    let out = run(None);
    assert!(out.status.success(), "skipped, not failed:\n{}", text(&out));
    assert!(support::stdout(&out).contains("1 passed"), "{}", text(&out));
    let err = support::stderr(&out);
    let notice: Vec<&str> = err.lines().filter(|l| l.contains("7z")).collect();
    assert_eq!(notice.len(), 1, "one line says why:\n{}", text(&out));
    assert!(notice[0].starts_with("skipped: 7z is not installed"), "{}", notice[0]);
    for require in ["all", "chromium,7z"] {
        let out = run(Some(require));
        assert!(!out.status.success(), "DSR_TEST_REQUIRE={require} fails on a missing 7z:\n{}", text(&out));
        assert!(text(&out).contains("7z is not installed"), "{}", text(&out));
    }
    let out = run(Some("chromium"));
    assert!(out.status.success(), "only the programs named are required:\n{}", text(&out));
}
