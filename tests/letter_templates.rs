//! Letters are the company's (issue 17, docs/letters.md): the shipped templates write the
//! letters as before; a company's `[letters]` section changes the texts, the languages and the
//! signature; a template that drops an element the law requires, does not parse, or uses a
//! variable its letter does not have is refused, naming the file and the element; stored values
//! print as they are, never as template syntax.

use std::path::{Path, PathBuf};

use crate::support::{self, Env, Mail};

const JAN: &str = "jan.devries@example.nl";
const NOW: &str = "2026-11-02T09:00:00Z";

/// The templates shipped, written out by `dsr letters export` into the test's directory.
fn exported(env: &Env, dir: &str) -> PathBuf {
    let out = env.run(&["letters", "export", dir]);
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
    env.path(dir)
}

fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains(from), "{} has no {from:?}", file.display());
    std::fs::write(file, text.replace(from, to)).unwrap();
}

/// The store's register as a company file with a `[letters]` section, applied to the store.
fn apply_letters(env: &Env, section: &str) -> std::process::Output {
    let out = env.run(&["register", "export", "--out", "company.toml", "--force"]);
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
    let path = env.path("company.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text}\n[letters]\n{section}\n")).unwrap();
    env.dsr().args(["register", "apply", "--yes", "company.toml"]).output().unwrap()
}

fn applied(env: &Env, section: &str) {
    let out = apply_letters(env, section);
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
}

fn mail(env: &Env, request: &str, subject: &str) -> Mail {
    env.messages(request)
        .into_iter()
        .find(|m| m.subject.contains(subject))
        .unwrap_or_else(|| panic!("no {subject} letter for {request}"))
}

fn extend(env: &Env, id: &str) {
    let args = ["request", "extend", id, "--months", "1", "--reason", "Many systems.", "--reason-nl", "Veel systemen."];
    let out = env.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
}

/// `dsr letters check DIR`'s problems (exit 2, one stderr line each before the summary).
fn problems(env: &Env, dir: &str) -> Vec<String> {
    let out = env.run(&["letters", "check", dir]);
    let err = support::stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let lines: Vec<String> = err.lines().map(str::to_owned).collect();
    assert!(lines.last().unwrap().starts_with("dsr: invalid letter templates: "), "{err}");
    lines[..lines.len() - 1].to_vec()
}

#[test]
fn the_shipped_extension_letter_reads_as_before_byte_for_byte() {
    let env = Env::with_fixture_at("virtio", NOW);
    let id = env.open("access", &["--email", JAN]).request;
    extend(&env, &id);
    let m = mail(&env, &id, "Extension");
    assert_eq!(m.subject, format!("Verlenging / Extension ({id})"));
    let sig = |adres: &str, kvk: &str, contact: &str| {
        format!("Virtio ICT B.V.\n{adres}: Nederland\n{kvk}: 76181553\n{contact}: support@virtio.nl")
    };
    let expected = format!(
        "(English below)\n\nHallo,\n\nWe hebben meer tijd nodig voor je verzoek {id} om inzage in je persoonsgegevens \
(art. 15 AVG). Wij beantwoorden het uiterlijk op 2 januari 2027 (art. 12(3) AVG). Reden: Veel systemen.\n\n{}\n\n\
----------------------------------------\n\nHello,\n\nWe need more time for your request {id} for access to your \
personal data (GDPR Art. 15). We will answer it by 2 January 2027 at the latest (GDPR Art. 12(3)). Reason: Many \
systems.\n\n{}\n",
        sig("Adres", "KvK-nummer", "Privacycontact"),
        sig("Address", "Chamber of Commerce (KvK) number", "Privacy contact"),
    );
    assert_eq!(m.body.replace("\r\n", "\n"), expected);
    // The code letter keeps its code line and now says a reply with the code will do.
    let code = mail(&env, &id, "Verification code");
    assert!(code.code().is_some(), "{}", code.body);
    assert!(code.body.contains("Je mag ook op dit bericht antwoorden met de code erin"), "{}", code.body);
    assert!(code.body.contains("You may also reply to this message with the code in it"), "{}", code.body);
}

#[test]
fn a_company_template_changes_the_letter_sent_and_its_signature_text_closes_each_half() {
    let env = Env::with_fixture_at("virtio", NOW);
    let dir = exported(&env, "letters");
    edit(&dir.join("nl/extension.txt"), "Hallo,", "Beste klant,");
    edit(&dir.join("en/extension.txt"), "Hello,", "Dear customer,");
    // Only the changed files need to be there: the rest stay the shipped ones.
    for kind in ["erasure", "answer", "rejection"] {
        std::fs::remove_file(dir.join(format!("nl/{kind}.txt"))).unwrap();
    }
    applied(&env, "dir = \"letters\"\nsignature_nl = \"Met vriendelijke groet,\"\nsignature_en = \"Kind regards,\"");
    let id = env.open("access", &["--email", JAN]).request;
    extend(&env, &id);
    let body = mail(&env, &id, "Extension").body.replace("\r\n", "\n");
    assert!(body.starts_with("(English below)\n\nBeste klant,\n\nWe hebben meer tijd nodig"), "{body}");
    assert!(body.contains("\n\nDear customer,\n\nWe need more time"), "{body}");
    assert!(body.contains("Met vriendelijke groet,\nVirtio ICT B.V.\nAdres: Nederland"), "{body}");
    assert!(body.contains("Kind regards,\nVirtio ICT B.V.\nAddress: Nederland"), "{body}");
    // The round trip: export gives the section back as written.
    let out = env.run(&["register", "export"]);
    assert!(support::stdout(&out).contains("[letters]\ndir = \"letters\"\nsignature_nl = \"Met vriendelijke groet,\""));
    // A template changed on disk is a change `register apply` shows and applies.
    edit(&dir.join("nl/extension.txt"), "Beste klant,", "Geachte klant,");
    let out = env.dsr().args(["register", "apply", "--dry-run", "company.toml"]).output().unwrap();
    assert!(support::stdout(&out).contains("~ letters: templates.nl/extension.txt: "), "{}", support::stdout(&out));
}

#[test]
fn dutch_only_and_english_only_letters_carry_one_language_and_its_subject() {
    for (languages, subject, has, lacks) in
        [("nl", "Verificatiecode (", "Hallo,", "Hello,"), ("en", "Verification code (", "Hello,", "Hallo,")]
    {
        let env = Env::with_fixture_at("virtio", NOW);
        applied(&env, &format!("languages = \"{languages}\""));
        let id = env.open("erase", &["--email", JAN]).request;
        let m = mail(&env, &id, subject);
        assert_eq!(m.subject, format!("{subject}{id})"));
        assert!(m.body.starts_with(has) && !m.body.contains(lacks), "{languages}: {}", m.body);
        assert!(!m.body.contains("(English below)") && !m.body.contains("-----"), "{}", m.body);
        assert!(m.code().is_some(), "the code line stays: {}", m.body);
        // The answer carries the complaint route in the one language.
        let code = env.code(&id);
        env.dsr().args(["verify", &id, &code]).assert().success();
        env.dsr().args(["erase", &id, "--yes"]).assert().success();
        let erasure = if languages == "nl" { "Wissing (" } else { "Erasure (" };
        let body = mail(&env, &id, erasure).body;
        let complaint =
            if languages == "nl" { "Je kunt een klacht indienen bij de" } else { "you may lodge a complaint" };
        assert!(body.contains(complaint) && body.contains("Autoriteit Persoonsgegevens"), "{body}");
        strict(&env);
    }
}

/// One template with `from` replaced by `to`, checked by `dsr letters check`.
fn refused(file: &str, from: &str, to: &str) -> Vec<String> {
    let env = Env::new();
    let dir = exported(&env, "letters");
    edit(&dir.join(file), from, to);
    problems(&env, "letters")
}

#[test]
fn a_template_without_the_complaint_route_is_refused_naming_it() {
    assert_eq!(
        refused("nl/erasure.txt", "{{ complaint }}", ""),
        ["dsr: letters/nl/erasure.txt: the complaint route ({{ complaint }}) is missing; the erasure letter must \
tell the person they can complain to the supervisory authority (Art. 12(4), 77 GDPR)"]
    );
    let p = refused("en/no-data.txt", "{{ complaint }}", "the authority");
    assert!(
        p.len() == 1 && p[0].contains("the complaint route ({{ complaint }}) is missing; the no-data letter"),
        "{p:?}"
    );
}

/// A template that cuts an element short keeps it from the person however long the cut it keeps:
/// the route to complain cut to 15 or 500 characters is refused as missing.
#[test]
fn a_template_that_cuts_the_complaint_route_short_is_refused() {
    for cut in ["{{ complaint[:15] }}", "{{ complaint[:500] }}", "{{ complaint[3:] }}"] {
        let p = refused("nl/rejection.txt", "{{ complaint }}", cut);
        assert!(p.len() == 1 && p[0].contains("the complaint route ({{ complaint }}) is missing"), "{cut}: {p:?}");
    }
}

/// A letter is plain text: an escape sequence or a form feed in a template is refused with its line.
#[test]
fn a_template_with_a_control_character_is_refused_with_its_line() {
    for (odd, code) in [("\u{1b}[31m", "U+001B"), ("\u{c}", "U+000C"), ("\u{202e}", "U+202E")] {
        let p = refused("en/extension.txt", "Hello,", &format!("Hello,{odd}"));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains(&format!("line 1: a control or invisible character ({code})")), "{p:?}");
    }
    // Written out onto a file, `letters export` says so (exit 2) and writes nothing.
    let env = Env::new();
    std::fs::write(env.path("company.toml"), "x").unwrap();
    let out = env.run(&["letters", "export", "company.toml"]);
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    assert!(support::stderr(&out).contains("company.toml is a file, not a directory"), "{}", support::stderr(&out));
}

#[test]
fn a_refusal_without_the_court_route_is_refused_naming_it() {
    let p = refused("en/rejection.txt", "{{ court }}", "");
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].starts_with("dsr: letters/en/rejection.txt: the court route ({{ court }}) is missing; the rejection letter must tell the person they can go to court"), "{p:?}");
    let p = refused("nl/objection-decision.txt", "{{ court }}", "");
    assert!(p[0].contains("the court route ({{ court }}) is missing; the objection-decision letter"), "{p:?}");
}

#[test]
fn a_letter_without_the_request_id_is_refused_naming_it() {
    let p = refused("nl/extension.txt", "{{ id }}", "");
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].starts_with("dsr: letters/nl/extension.txt: the request id ({{ id }}) is missing; the extension letter must name the request"), "{p:?}");
    let p = refused("en/expired.txt", "{{ id }}", "");
    assert!(p[0].contains("the request id ({{ id }}) is missing; the expired letter"), "{p:?}");
}

#[test]
fn deadlines_and_the_code_must_stay_in_their_letters() {
    let p = refused("en/extension.txt", "{{ deadline }}", "soon");
    assert!(p[0].ends_with("the new deadline ({{ deadline }}) is missing; the extension letter must give the new deadline (Art. 12(3) GDPR)"), "{p:?}");
    let p = refused("nl/restriction-lift-notice.txt", "{{ lift_date }}", "binnenkort");
    assert!(p[0].contains("the date the restriction ends ({{ lift_date }}) is missing; the restriction-lift-notice letter must tell the person when the restriction is lifted"), "{p:?}");
    let p = refused("nl/verification-code.txt", "{{ valid_until }}", "morgen");
    assert!(p[0].contains("the code's validity ({{ valid_until }}) is missing"), "{p:?}");
    let p = refused("en/verification-code.txt", "    {{ code }}", "    (see the website)");
    assert!(
        p[0].contains("the code ({{ code }}) is missing; the verification-code letter must carry the one-time code"),
        "{p:?}"
    );
    // An element kept only in a branch the letter may not take is still missing.
    let p = refused("nl/erasure.txt", "{{ complaint }}", "{% if recipients %}{{ complaint }}{% endif %}");
    assert!(p[0].contains("the complaint route ({{ complaint }}) is missing"), "{p:?}");
}

#[test]
fn a_template_that_does_not_parse_or_names_an_unknown_variable_or_file_is_refused() {
    let p = refused("nl/answer.txt", "{{ file }}", "{{ file ");
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].starts_with("dsr: letters/nl/answer.txt: does not read as a template: line 5: syntax error"), "{p:?}");
    let p = refused("en/extension.txt", "{{ reason }}", "{{ reason }} {{ customer_name }}");
    assert!(p[0].starts_with("dsr: letters/en/extension.txt: uses {{ customer_name }}, which the extension letter does not have; it has: "), "{p:?}");
    let p = refused("nl/expired.txt", "{{ id }}", "{{ id }}{% for x in 1 %}{% endfor %}");
    assert!(p[0].contains("cannot be written"), "{p:?}");
    let env = Env::new();
    let dir = exported(&env, "letters");
    std::fs::write(dir.join("nl/erasue.txt"), "x").unwrap();
    std::fs::write(dir.join("de.txt"), "x").unwrap();
    let p = problems(&env, "letters");
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(p.iter().all(|l| l.contains("is not a letter template")), "{p:?}");
}

#[test]
fn the_company_file_with_a_bad_template_is_refused_by_check_init_and_apply() {
    let env = Env::with_fixture_at("virtio", NOW);
    let dir = exported(&env, "letters");
    edit(&dir.join("nl/rejection.txt"), "{{ complaint }}", "");
    let out = apply_letters(&env, "dir = \"letters\"");
    let err = support::stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let line = err.lines().next().unwrap();
    assert!(line.starts_with("dsr: company.toml: line "), "{err}");
    assert!(line.contains(": letters.dir: letters/nl/rejection.txt: the complaint route ({{ complaint }}) is missing; the rejection letter"), "{err}");
    let out = env.run(&["register", "export"]);
    assert!(!support::stdout(&out).contains("[letters]"), "nothing was applied");
    let out = env.dsr().args(["register", "check", "company.toml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        support::stderr(&out).contains("letters/nl/rejection.txt: the complaint route"),
        "{}",
        support::stderr(&out)
    );
    let out = env.dsr().args(["--db", "new.sqlite", "init", "--register", "company.toml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    assert!(!env.path("new.sqlite").exists(), "a refused file leaves no store");
    // A directory that is not there, and a signature in one language of two.
    let out = apply_letters(&env, "dir = \"nowhere\"\nsignature_nl = \"Groet,\"");
    let err = support::stderr(&out);
    assert!(err.contains("letters.signature_en: a signature text in one language only"), "{err}");
    assert!(err.contains("letters.dir: nowhere: cannot read the directory of letter templates"), "{err}");
}

#[test]
fn stored_values_print_as_they_are_never_as_template_syntax_or_headers() {
    let env = Env::with_fixture_at("virtio", NOW);
    env.sql().execute("UPDATE controller SET name = '{{ code }} {% raw %} B.V.'", []).unwrap();
    applied(&env, "signature_nl = \"{{ code }}\\r\\nBcc: x@example.com\"\nsignature_en = \"{{ id }}\"");
    let id = env.open("rectify", &["--email", JAN, "--set", "City={{ code }} {{ signature }}"]).request;
    let m = mail(&env, &id, "Verification code");
    let body = m.body.replace("\r\n", "\n");
    assert!(body.contains("  - woonplaats wordt: {{ code }} {{ signature }}\n"), "{body}");
    assert!(body.contains("Er is bij {{ code }} {% raw %} B.V. een verzoek gedaan"), "{body}");
    assert!(body.contains("{{ code }}\nBcc: x@example.com\n{{ code }} {% raw %} B.V.\nAdres:"), "{body}");
    assert!(body.contains("\n{{ id }}\n{{ code }} {% raw %} B.V.\nAddress:"), "{body}");
    // One code line per half, and the Bcc stays text in the body, never a header.
    assert_eq!(
        body.lines().filter(|l| l.len() == 13 && l.starts_with("    ") && l.as_bytes()[8] == b'-').count(),
        2,
        "{body}"
    );
    let raw = String::from_utf8_lossy(&m.raw);
    let headers = raw.split("\r\n\r\n").next().unwrap();
    assert!(!headers.to_ascii_lowercase().contains("bcc"), "{headers}");
    strict(&env);
}

/// Every letter in the outbox passes Python's strict parser (tests/mail_valid.rs).
fn strict(env: &Env) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(env.outbox()).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    crate::mail_valid::strict(&files);
}

#[test]
fn a_postgresql_store_keeps_the_section_and_writes_its_letters_from_it() {
    let Some(url) = support::postgres() else { return };
    let env = Env::with_fixture_at("virtio", NOW);
    let schema = format!("t_letters_{}", std::process::id());
    let target = dsr::store::postgres::Target::parse(&url, &schema).unwrap();
    let drop_schema = || {
        if let Ok(mut c) = target.connect() {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    };
    drop_schema();
    let out = env.run(&["migrate", "--from", env.db.to_str().unwrap(), "--to", &url, "--schema", &schema]);
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
    let pg = |args: &[&str]| {
        let mut cmd = assert_cmd::Command::cargo_bin("dsr").unwrap();
        cmd.current_dir(env.dir.path()).env("DSR_PG_SCHEMA", &schema).env("DSR_NOW", NOW).arg("--db").arg(&url);
        cmd.args(args).output().unwrap()
    };
    let dir = exported(&env, "letters");
    edit(&dir.join("nl/verification-code.txt"), "Hallo,", "Beste klant,");
    pg(&["register", "export", "--out", "company.toml"]);
    let text = std::fs::read_to_string(env.path("company.toml")).unwrap();
    std::fs::write(env.path("company.toml"), format!("{text}\n[letters]\nlanguages = \"nl\"\ndir = \"letters\"\n"))
        .unwrap();
    let out = pg(&["register", "apply", "--yes", "company.toml"]);
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
    assert!(support::stdout(&pg(&["register", "export"])).contains("[letters]\nlanguages = \"nl\"\ndir = \"letters\""));
    let out = pg(&["access", "--email", JAN]);
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
    let m = mail(&env, "DSR-2026-0001", "Verificatiecode (");
    assert!(m.body.starts_with("Beste klant,") && !m.body.contains("Hello,"), "{}", m.body);
    drop_schema();
}

#[derive(serde::Deserialize)]
struct Checked {
    format_version: u32,
    ok: bool,
    templates: Vec<String>,
    problems: Vec<CheckedProblem>,
}

#[derive(serde::Deserialize)]
struct CheckedProblem {
    file: String,
    what: String,
}

#[test]
fn letters_check_answers_in_json_and_export_keeps_edited_files_without_force() {
    let env = Env::new();
    let dir = exported(&env, "letters");
    let (c, code): (Checked, i32) = env.json(&["letters", "check", "letters"]);
    assert_eq!((code, c.format_version, c.ok, c.templates.len()), (0, 1, true, 26));
    assert!(c.templates.contains(&"nl/erasure.txt".to_owned()) && c.problems.is_empty());
    edit(&dir.join("en/answer.txt"), "{{ court }}", "");
    let (c, code): (Checked, i32) = env.json(&["letters", "check", "letters"]);
    assert_eq!((code, c.ok, c.problems.len()), (2, false, 1));
    assert_eq!(c.problems[0].file, "letters/en/answer.txt");
    assert!(c.problems[0].what.starts_with("the court route ({{ court }}) is missing; the answer letter"));
    // An edited template is not overwritten by a second export without --force (exit 14).
    let out = env.run(&["letters", "export", "letters"]);
    assert_eq!(out.status.code(), Some(14), "{}", support::stderr(&out));
    assert!(!std::fs::read_to_string(dir.join("en/answer.txt")).unwrap().contains("{{ court }}"));
    env.dsr().args(["letters", "export", "letters", "--force"]).assert().success();
    assert!(std::fs::read_to_string(dir.join("en/answer.txt")).unwrap().contains("{{ court }}"));
}

/// A rectification that only adds a supplementary statement is a branch of its own: a template
/// that tells the routes only when fields were corrected is refused.
#[test]
fn a_rectification_of_statements_only_is_tried_too() {
    let env = Env::new();
    std::fs::create_dir_all(env.path("L/en")).unwrap();
    std::fs::write(
        env.path("L/en/rectification.txt"),
        "Hello {{ id }}\n{% if fields %}{{ complaint }} {{ court }}{% endif %}\n{{ signature }}\n",
    )
    .unwrap();
    let found = problems(&env, "L");
    assert!(found.iter().any(|p| p.contains("the complaint route ({{ complaint }}) is missing")), "{found:?}");
}

/// A template an editor saved with a byte order mark: the mark is no part of the letter. A
/// sub-folder in a language's folder is named as a folder.
#[test]
fn a_byte_order_mark_is_left_out_and_a_sub_folder_is_named() {
    let env = Env::with_fixture_at("virtio", NOW);
    let dir = exported(&env, "letters");
    let file = dir.join("nl/extension.txt");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("\u{feff}{text}")).unwrap();
    applied(&env, "dir = \"letters\"");
    let id = env.open("access", &["--email", JAN]).request;
    extend(&env, &id);
    let body = mail(&env, &id, "Extension").body;
    assert!(!body.contains('\u{feff}'), "{body:?}");
    std::fs::create_dir_all(dir.join("en/old")).unwrap();
    let found = problems(&env, "letters");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("letters/en/old: is a folder"), "{found:?}");
}
