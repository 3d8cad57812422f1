//! The register as a company file (docs/register-file.md): `dsr register export` writes it,
//! `dsr init --register FILE` makes a store from it, and a bad file is refused, every problem
//! on a line naming its key, with exit 2 and nothing written.

use crate::support::{stderr, stdout, Env};

/// The register of a fixture store, exported.
fn exported(fixture: &str) -> (Env, String) {
    let env = Env::with_fixture(fixture);
    let out = env.run(&["register", "export"]);
    assert!(out.status.success(), "{}", stderr(&out));
    (env, stdout(&out))
}

/// `init --register` on `text` in a new store beside `env`'s; returns the new store's environment.
fn init_from(env: &Env, text: &str, name: &str) -> (Env, std::process::Output) {
    let file = env.path(&format!("{name}.toml"));
    std::fs::write(&file, text).unwrap();
    let mut other = Env::new();
    other.db = env.path(&format!("{name}.sqlite"));
    let out = other.dsr().arg("init").arg("--register").arg(&file).output().unwrap();
    (other, out)
}

#[test]
fn each_fixture_round_trips_through_its_company_file() {
    for fixture in ["virtio", "voordelig-streamen"] {
        let (env, first) = exported(fixture);
        assert!(first.starts_with("format_version = 1\n"), "{first}");
        assert!(first.contains(&format!("company = \"{fixture}\"")), "{first}");
        let (loaded, out) = init_from(&env, &first, "loaded");
        assert!(out.status.success(), "{fixture}: {}", stderr(&out));
        let again = loaded.run(&["register", "export"]);
        assert!(again.status.success(), "{}", stderr(&again));
        assert_eq!(stdout(&again), first, "{fixture}: export of the loaded store differs");
        // The loaded store answers the register as the fixture store does, and holds no people.
        let (theirs, code): (serde_json::Value, i32) = env.json(&["register"]);
        assert_eq!(code, 0);
        let (ours, code): (serde_json::Value, i32) = loaded.json(&["register"]);
        assert_eq!(code, 0);
        assert_eq!(ours, theirs, "{fixture}: register --json differs");
        let people: i64 = loaded.sql().query_row("SELECT count(*) FROM person", [], |r| r.get(0)).unwrap();
        assert_eq!(people, 0);
    }
}

#[test]
fn register_export_out_writes_the_same_file_and_keeps_an_existing_one() {
    let (env, text) = exported("virtio");
    let file = env.path("register.toml");
    let out = env.dsr().args(["register", "export", "--out"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
    std::fs::write(&file, "mine").unwrap();
    let out = env.dsr().args(["register", "export", "--out"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(14), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
}

#[test]
fn a_misspelt_key_is_named_with_its_line_and_no_store_is_made() {
    let (env, text) = exported("virtio");
    let bad = text.replacen("privacy_email = ", "privacy_mail = ", 1);
    let line = bad.lines().position(|l| l.starts_with("privacy_mail")).unwrap() + 1;
    let (other, out) = init_from(&env, &bad, "misspelt");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(err.contains(&format!("line {line}: controller.privacy_mail: unknown field `privacy_mail`")), "{err}");
    assert!(err.contains("1 problem; nothing was written"), "{err}");
    assert!(!other.db.exists(), "no store for a refused file");
}

#[test]
fn a_value_of_the_wrong_type_is_named_by_its_path() {
    let (env, text) = exported("voordelig-streamen");
    let bad = text.replacen("portable = true", "portable = \"yes\"", 1);
    let (_, out) = init_from(&env, &bad, "typed");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("category[") && err.contains("].portable: invalid type: string \"yes\", expected a boolean"),
        "{err}"
    );
}

#[test]
fn every_broken_reference_gets_a_line_of_its_own() {
    let (env, text) = exported("virtio");
    let bad = text
        .replacen("legal_basis = \"legal-obligation\"", "legal_basis = \"law\"", 1)
        .replacen("received_via = \"payment-method\"", "received_via = \"pigeon\"", 1)
        .replacen("starts_at = \"contract-end\"", "starts_at = \"whenever\"", 1);
    // A second store, replaced with --force, stays as it was when the file is refused.
    let (other, out) = init_from(&env, &text, "kept");
    assert!(out.status.success(), "{}", stderr(&out));
    let before = std::fs::read(&other.db).unwrap();
    std::fs::write(env.path("bad.toml"), &bad).unwrap();
    let out = other.dsr().args(["init", "--force", "--yes", "--register"]).arg(env.path("bad.toml")).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    let line = |needle: &str| bad.lines().position(|l| l == needle).unwrap() + 1;
    assert!(err.contains(&format!("line {}: purpose[", line("legal_basis = \"law\""))), "{err}");
    assert!(err.contains("].legal_basis: \"law\" is not the code of a [[legal_basis]]"), "{err}");
    assert!(err.contains(&format!("line {}: recipient[", line("received_via = \"pigeon\""))), "{err}");
    assert!(err.contains("].received_via: \"pigeon\" is not one of: payment-method"), "{err}");
    assert!(err.contains("].starts_at: \"whenever\" is not one of: event"), "{err}");
    assert!(err.contains("has 3 problems; nothing was written"), "{err}");
    assert_eq!(err.lines().count(), 4, "{err}");
    assert!(err.lines().all(|l| l.starts_with("dsr: ")), "{err}");
    assert_eq!(std::fs::read(&other.db).unwrap(), before, "the old store is untouched");
}

#[test]
fn a_map_table_the_store_lacks_is_refused() {
    let (env, text) = exported("virtio");
    let bad = text.replacen("name = \"unsolicited_data\"\n", "name = \"unsolicited_notes\"\n", 1);
    assert_ne!(bad, text, "the virtio file maps the unsolicited_data table");
    let (other, out) = init_from(&env, &bad, "tables");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("].name: the store has no table \"unsolicited_notes\""), "{err}");
    assert!(!other.db.exists());
}

#[test]
fn the_worked_example_loads() {
    let doc = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/register-file.md"))
        .unwrap();
    let start = doc.find("```toml\n").expect("docs/register-file.md has a toml example") + "```toml\n".len();
    let example = &doc[start..start + doc[start..].find("```").unwrap()];
    let base = Env::new();
    let (env, out) = init_from(&base, example, "ketting");
    assert!(out.status.success(), "{}", stderr(&out));
    let (register, code): (serde_json::Value, i32) = env.json(&["register"]);
    assert_eq!(code, 0);
    assert_eq!(register["controller"]["name"], "Fietsenmakerij De Ketting V.O.F.");
    assert_eq!(register["recipients"][0]["code"], "mollie");
    // Exported and loaded again, it stays the same file.
    let first = stdout(&env.run(&["register", "export"]));
    let (again, out) = init_from(&env, &first, "again");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&again.run(&["register", "export"])), first);
}

#[test]
fn register_export_json_is_the_same_document_and_an_empty_store_has_none() {
    let (env, text) = exported("voordelig-streamen");
    let (doc, code): (serde_json::Value, i32) = env.json(&["register", "export"]);
    assert_eq!(code, 0);
    assert_eq!(doc["company"], "voordelig-streamen");
    let codes = |key: &str| -> Vec<String> {
        text.lines()
            .skip_while(|l| *l != format!("[[{key}]]"))
            .filter_map(|l| l.strip_prefix("code = \"").map(|c| c.trim_end_matches('"').to_owned()))
            .take(1)
            .collect()
    };
    assert_eq!(doc["purpose"][0]["code"].as_str().map(str::to_owned), codes("purpose").pop());
    let empty = Env::new();
    empty.dsr().arg("init").assert().success();
    let out = empty.run(&["register", "export"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    crate::support::assert_one_line_error(&out);
    assert!(stderr(&out).contains("no register yet"), "{}", stderr(&out));
}

/// A store made without a file (`dsr init`) has no register: a right refuses with exit 2 and
/// says how to give it one, doctor names it, and `register apply` gives it one.
#[test]
fn a_store_without_a_register_says_how_to_give_it_one() {
    let env = Env::new();
    env.dsr().arg("init").assert().success();
    for args in [&["access", "--email", "a@example.nl"][..], &["erase", "--email", "a@example.nl"]] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        crate::support::assert_one_line_error(&out);
        assert!(
            stderr(&out).contains("no register yet: give it one with `dsr register apply FILE`"),
            "{}",
            stderr(&out)
        );
    }
    let out = env.run(&["doctor"]);
    assert_eq!(out.status.code(), Some(24), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("register: the store has no register yet"), "{}", stdout(&out));
    let file = crate::support::fixture_dir("webshop").join("company.toml");
    env.dsr().args(["register", "apply"]).arg(&file).arg("--yes").assert().success();
    env.dsr().arg("doctor").assert().success();
    // --out naming a directory: said so, not "already exists".
    let out = env.run(&["register", "export", "--out", "."]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains(". is a directory: name a file to write"), "{}", stderr(&out));
    // A directory not there yet, named with its slash: refused before anything is written.
    let out = env.run(&["register", "export", "--out", "new/"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("new/ ends with /, which names a directory"), "{}", stderr(&out));
    assert!(!env.path("new").exists());
}

#[test]
fn a_legitimate_interest_in_words_is_kept_and_needs_both_languages() {
    let (env, exported_text) = exported("virtio");
    let anchor = "legal_basis = \"legitimate-interest\"\n";
    // The first purpose on a legitimate interest, without the interest in words.
    let at = exported_text.find(anchor).unwrap();
    let (head, tail) = exported_text.split_at(at);
    let tail: Vec<&str> = tail.lines().collect();
    let end = tail.iter().position(|l| l.is_empty()).unwrap();
    let kept: Vec<&str> = tail[..end]
        .iter()
        .copied()
        .filter(|l| !l.starts_with("legitimate_interest_"))
        .chain(tail[end..].iter().copied())
        .collect();
    let text = format!("{head}{}\n", kept.join("\n"));
    let (_, out) = init_from(&env, &text, "without");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("rests on a legitimate interest: say which, in legitimate_interest_en and legitimate_interest_nl (Art. 13(1)(d) GDPR)"),
        "{}",
        stderr(&out)
    );
    let with = text.replacen(
        anchor,
        &format!("{anchor}legitimate_interest_en = \"Keeping our servers safe.\"\nlegitimate_interest_nl = \"Onze servers veilig houden.\"\n"),
        1,
    );
    let (loaded, out) = init_from(&env, &with, "interest");
    assert!(out.status.success(), "{}", stderr(&out));
    let again = stdout(&loaded.run(&["register", "export"]));
    assert!(again.contains("legitimate_interest_nl = \"Onze servers veilig houden.\""), "{again}");
    let half = text.replacen(anchor, &format!("{anchor}legitimate_interest_en = \"Keeping our servers safe.\"\n"), 1);
    let (_, out) = init_from(&env, &half, "half");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("].legitimate_interest_nl: legitimate_interest needs both _en and _nl"),
        "{}",
        stderr(&out)
    );
}

/// A legal basis coded in the company's own words says which basis of Art. 6(1) it is (`kind`),
/// and dsr acts on that: consent is withdrawn and checked, not taken for a legal obligation.
#[test]
fn a_basis_in_the_companys_own_words_is_acted_on_by_its_kind() {
    let (env, text) = exported("webshop");
    let basis = "[[legal_basis]]\ncode = \"consent\"\n";
    assert!(text.contains(basis), "{text}");
    let renamed = text.replace("legal_basis = \"consent\"", "legal_basis = \"toestemming\"");
    // Without a kind the code names no basis: refused, naming the key.
    let unknown = renamed.replacen(basis, "[[legal_basis]]\ncode = \"toestemming\"\n", 1);
    std::fs::write(env.path("unknown.toml"), &unknown).unwrap();
    let out = env.run(&["register", "check", "unknown.toml"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("].kind: say which basis of Art. 6(1) GDPR \"toestemming\" is, with kind = one of: consent,"),
        "{}",
        stderr(&out)
    );
    // A kind that contradicts a code naming another basis.
    let contradicting = text.replacen(basis, "[[legal_basis]]\ncode = \"consent\"\nkind = \"contract\"\n", 1);
    std::fs::write(env.path("contradicting.toml"), &contradicting).unwrap();
    let out = env.run(&["register", "check", "contradicting.toml"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("\"consent\" is the name of the basis \"consent\", not \"contract\""),
        "{}",
        stderr(&out)
    );
    let kinded = renamed.replacen(basis, "[[legal_basis]]\ncode = \"toestemming\"\nkind = \"consent\"\n", 1);
    std::fs::write(env.path("kinded.toml"), &kinded).unwrap();
    let out = env.run(&["register", "apply", "kinded.toml", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&env.run(&["register", "export"])), kinded, "the kind round-trips");
    // Kevin withdrew his consent to product reviews: the check refuses (exit 20).
    let out = env.run(&["check", "--purpose", "product-reviews", "--email", "kevin.degroot@example.org"]);
    assert_eq!(out.status.code(), Some(20), "{}{}", stdout(&out), stderr(&out));
    let out = env.run(&["check", "--purpose", "product-reviews", "--email", "sanne.dejong@example.nl"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    // Sanne's objection withdraws her consent.
    let id = env.verified("object", &["--email", "sanne.dejong@example.nl", "--purpose", "product-reviews"]);
    let (answer, code): (serde_json::Value, i32) = env.json(&["object", &id, "--yes"]);
    assert_eq!(code, 0, "{answer}");
    assert_eq!(answer["outcome"]["outcome"], "withdrawn", "{answer}");
    let out = env.run(&["check", "--purpose", "product-reviews", "--email", "sanne.dejong@example.nl"]);
    assert_eq!(out.status.code(), Some(20), "{}{}", stdout(&out), stderr(&out));
}
