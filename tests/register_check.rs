//! `dsr register check FILE` (docs/register-file.md, "register check"): a company file checked
//! without a store, every problem on a line of its own with the line and key that cause it,
//! exit 2; a good file gets one summary line and exit 0. Each broken file here is a built-in
//! company's file (what `register export` writes, see register_file.rs) with one thing broken.
//! The data map's problems are in register_check_map.rs.

use std::process::Output;

use crate::support::{stderr, stdout, Env};

/// A built-in company's file, as `register export` writes it.
pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(crate::support::fixture_dir(name).join("company.toml")).unwrap()
}

/// `dsr register check company.toml` on `text`, in a directory without a store.
pub fn check(text: &str) -> Output {
    let env = Env::new();
    std::fs::write(env.path("company.toml"), text).unwrap();
    let out = env.run(&["register", "check", "company.toml"]);
    assert!(!env.db.exists(), "register check makes no store");
    out
}

/// Replace the first `old` after `anchor` (which must be there, as must `old`).
pub fn after(text: &str, anchor: &str, old: &str, new: &str) -> String {
    let at = text.find(anchor).unwrap_or_else(|| panic!("no {anchor:?}"));
    let from = at + text[at..].find(old).unwrap_or_else(|| panic!("no {old:?} after {anchor:?}"));
    format!("{}{new}{}", &text[..from], &text[from + old.len()..])
}

/// The start of the `[[table]]` entry of `name`.
pub fn table(name: &str) -> String {
    format!("[[table]]\nname = \"{name}\"\n")
}

/// The index of a table's entry in the file (`table[i]`).
pub fn index(text: &str, name: &str) -> usize {
    let before = &text[..text.find(&table(name)).unwrap()];
    before.matches("[[table]]\n").count()
}

/// The line number of the first line that is `line` at or after `anchor`.
pub fn line_of(text: &str, anchor: &str, line: &str) -> usize {
    let at = text.find(anchor).unwrap();
    let before = text[..at].matches('\n').count();
    before + text[at..].lines().position(|l| l == line).unwrap_or_else(|| panic!("no line {line:?}")) + 1
}

/// Exit 2, and `problem` (`line N: key: what`) on a stderr line of its own, then the summary.
pub fn assert_problem(out: &Output, problem: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.lines().any(|l| l.starts_with(&format!("dsr: company.toml: {problem}"))), "{problem}\nin:\n{err}");
    assert!(err.lines().last().unwrap().starts_with("dsr: invalid register file: company.toml has "), "{err}");
    assert!(err.lines().all(|l| l.starts_with("dsr: ")), "{err}");
}

#[test]
fn a_built_in_company_s_file_has_no_problems() {
    for name in ["virtio", "voordelig-streamen"] {
        let out = check(&fixture(name));
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let said = stdout(&out);
        assert!(said.starts_with("company.toml: no problems (26 tables, "), "{said}");
        assert!(said.contains(" purposes, 17 categories, 12 recipients, 23 retention rules, 9 rights)"), "{said}");
        assert_eq!(stderr(&out), "");
    }
}

#[test]
fn a_category_without_purpose_is_named() {
    let text = fixture("virtio");
    let old = "purposes = [\"contract\", \"invoicing\"]\n";
    let bad = after(&text, "[[category]]", old, "purposes = []\n");
    let i = text[..text.find(old).unwrap()].matches("[[category]]\n").count() - 1;
    let line = line_of(&bad, "[[category]]", "purposes = []");
    assert_problem(&check(&bad), &format!("line {line}: category[{i}].purposes: category \""));
    assert!(stderr(&check(&bad)).contains("\" serves no purpose: name at least one [[purpose]] code (Art. 30(1)(b))"));
    // Left out entirely: the problem stands on the category's entry.
    let bad = after(&text, "[[category]]", old, "");
    let line = line_of(&bad, "purposes = [\"contract\", \"invoicing\", \"domain-registration\"", "[[category]]");
    assert_problem(&check(&bad), &format!("line {line}: category[{i}].purposes: category \""));
}

#[test]
fn a_recipient_without_a_name_is_named() {
    let text = fixture("virtio");
    let anchor = "[[recipient]]\ncode = \"paypal\"\n";
    let bad = after(&text, anchor, "name = \"PayPal (Europe) S.à r.l. et Cie, S.C.A.\"", "name = \" \"");
    let i = text[..text.find(anchor).unwrap()].matches("[[recipient]]\n").count();
    let line = line_of(&bad, anchor, "name = \" \"");
    assert_problem(
        &check(&bad),
        &format!("line {line}: recipient[{i}].name: is empty: a person is told each recipient by name (Art. 15(1)(c), CJEU C-154/21)"),
    );
}

/// A text the person is told, written empty in both languages or, without a second language,
/// empty; a complaint route that is no web address; a country code no country has: each named.
#[test]
fn texts_written_empty_and_codes_no_country_has_are_named() {
    let text = fixture("webshop");
    let mut bad = text.replace(
        "withdraw_how_en = \"Unsubscribe with the link in every newsletter, or under My account.\"",
        "withdraw_how_en = \"\"",
    );
    let nl = bad[bad.find("withdraw_how_en = \"\"").unwrap()..].lines().nth(1).unwrap().to_owned();
    assert!(nl.starts_with("withdraw_how_nl = "), "{nl}");
    bad = bad.replace(&nl, "withdraw_how_nl = \" \"");
    bad = bad.replace("complaint_authority = \"Autoriteit Persoonsgegevens\"", "complaint_authority = \"\"");
    bad = bad.replace("complaint_url = \"https://autoriteitpersoonsgegevens.nl\"", "complaint_url = \"autoriteit\"");
    bad = bad.replacen("country = \"SE\"", "country = \"XX\"", 1);
    let out = check(&bad);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for problem in [
        "withdraw_how_en: and withdraw_how_nl are empty",
        "controller.complaint_authority: is empty",
        "controller.complaint_url: is not a web address",
        "country: \"XX\" is not an assigned ISO 3166-1 alpha-2 code",
    ] {
        assert!(err.contains(problem), "{problem}\nin:\n{err}");
    }
}

/// A key an entry needs, left out, is named (on its entry's line) with every other problem of
/// the file, not only the first (serde alone stops at the first missing key).
#[test]
fn keys_left_out_are_each_named_with_the_other_problems() {
    let text = fixture("virtio");
    let anchor = "[[recipient]]\ncode = \"paypal\"\n";
    let r = text[..text.find(anchor).unwrap()].matches("[[recipient]]\n").count();
    let bad = after(&text, anchor, "name = \"PayPal (Europe) S.à r.l. et Cie, S.C.A.\"\n", "");
    let rule = text.find("[[retention]]\n").unwrap();
    let line = &text[rule..][text[rule..].find("description_nl = ").unwrap()..];
    let line = &line[..=line.find('\n').unwrap()];
    let bad = after(&bad, "[[retention]]\n", line, "");
    let bad = after(&bad, "[[category]]", "purposes = [\"contract\", \"invoicing\"]\n", "purposes = []\n");
    let out = check(&bad);
    let r_line = line_of(&bad, anchor, "[[recipient]]");
    assert_problem(&out, &format!("line {r_line}: recipient[{r}].name: missing: this entry needs it"));
    assert_problem(&out, "line ");
    let err = stderr(&out);
    assert!(err.contains(": retention[0].description_nl: missing: this entry needs it"), "{err}");
    assert!(err.contains(".purposes: category \""), "{err}");
    assert!(err.ends_with("has 3 problems\n"), "{err}");
    // The stand-in read in a missing key's place is not another problem.
    assert!(!err.contains(&format!("recipient[{r}].name: is empty")), "{err}");
    // A kind left out (a declared column's type) is named as well, with the rest.
    let shop = fixture("webshop");
    let bad = after(&shop, "[[recipient]]", "name = ", "nam_ = ").replacen("nam_ = ", "# ", 1);
    let bad = after(&bad, "[[table.column]]", "type = \"integer\"\n", "");
    let out = check(&bad);
    let err = stderr(&out);
    assert!(err.contains("recipient[0].name: missing: this entry needs it"), "{err}");
    assert!(err.contains(".column[0].type: missing: this entry needs it"), "{err}");
    assert!(err.ends_with("has 2 problems\n"), "{err}");
}

#[test]
fn a_retention_or_fiscal_date_on_a_missing_column_is_named() {
    let text = fixture("virtio");
    let bad = after(&text, &table("server_log"), "counts_from = \"logged_at\"", "counts_from = \"logged_on\"");
    let bad = after(&bad, &table("invoice"), "date_column = \"issued_at\"", "date_column = \"issue_date\"");
    let bad = after(&bad, &table("customer"), "contract_end = \"ended_at\"", "contract_end = \"end\"");
    let out = check(&bad);
    let (s, v, c) = (index(&bad, "server_log"), index(&bad, "invoice"), index(&bad, "customer"));
    assert_problem(
        &out,
        &format!(
            "line {}: table[{s}].retention.counts_from: table \"server_log\" has no column \"logged_on\"",
            line_of(&bad, &table("server_log"), "counts_from = \"logged_on\"")
        ),
    );
    assert_problem(
        &out,
        &format!(
            "line {}: table[{v}].erase.date_column: table \"invoice\" has no column \"issue_date\"",
            line_of(&bad, &table("invoice"), "date_column = \"issue_date\"")
        ),
    );
    assert_problem(
        &out,
        &format!(
            "line {}: table[{c}].retention.contract_end: table \"customer\" has no column \"end\"",
            line_of(&bad, &table("customer"), "contract_end = \"end\"")
        ),
    );
    assert!(stderr(&out).ends_with("company.toml has 3 problems\n"), "{}", stderr(&out));
}

#[test]
fn a_retention_rule_the_engine_cannot_carry_out_is_named_as_init_names_it() {
    let text = fixture("virtio");
    let anchor = "[[retention]]\ncode = \"company-data\"\n";
    let bad = after(&text, anchor, "starts_at = \"contract-end\"", "starts_at = \"last-seen\"");
    let i = text[..text.find(anchor).unwrap()].matches("[[retention]]\n").count();
    let line = line_of(&bad, anchor, "[[retention]]");
    let out = check(&bad);
    let problem = format!(
        "line {line}: retention[{i}]: retention rule company-data cannot be carried out: table company has no retention.counts_from in the data map, the column a rule starting at last-seen counts from"
    );
    assert_problem(&out, &problem);
    let env = Env::new();
    std::fs::write(env.path("company.toml"), &bad).unwrap();
    let init = env.run(&["init", "--register", "company.toml"]);
    assert!(stderr(&init).contains(&format!("dsr: company.toml: {problem}")), "{}", stderr(&init));
}

/// A rule on the consent records counted from anything but the withdrawal would remove a consent
/// in force and its proof (Art. 7(1)): refused, as a fiscal record's other rules are.
#[test]
fn a_consent_rule_counted_from_the_consent_s_own_date_is_named() {
    let text = fixture("webshop");
    let anchor = "[[retention]]\ncode = \"consents\"\n";
    let bad = after(&text, anchor, "starts_at = \"consent-withdrawn\"", "starts_at = \"event\"");
    let bad = after(
        &bad,
        "[table.consent_record]",
        "[table.consent_record]",
        "[table.retention]\ncounts_from = \"recorded_at\"\n\n[table.consent_record]",
    );
    let i = text[..text.find(anchor).unwrap()].matches("[[retention]]\n").count();
    let line = line_of(&bad, anchor, "[[retention]]");
    assert_problem(
        &check(&bad),
        &format!("line {line}: retention[{i}]: retention rule consents cannot be carried out: table consent holds consent records (consent_record): only a consent-withdrawn rule removes them"),
    );
}

#[test]
fn a_right_of_articles_15_to_22_missing_is_named() {
    let text = fixture("voordelig-streamen");
    let start = text.find("[[right]]\ncode = \"rectification\"").unwrap();
    let end = start + text[start..].find("\n\n").unwrap() + 2;
    let bad = format!("{}{}", &text[..start], &text[end..]);
    let line = line_of(&bad, "[[right]]", "[[right]]");
    assert_problem(
        &check(&bad),
        &format!("line {line}: right: missing the right of rectification (Art. 16 GDPR): add a [[right]] with article = \"Art. 16 GDPR\""),
    );
    // A right is found by its article, whatever its code.
    let renamed = after(&text, "[[right]]", "code = \"rectification\"", "code = \"correctie\"");
    assert!(check(&renamed).status.success(), "{}", stderr(&check(&renamed)));
}

#[test]
fn a_purpose_the_engine_or_the_map_needs_missing_is_named() {
    let text = fixture("virtio");
    let bad = after(&text, "[[purpose]]", "code = \"storage\"", "code = \"opslag\"");
    let line = line_of(&bad, "", "[[purpose]]");
    assert_problem(
        &check(&bad),
        &format!(
            "line {line}: purpose: missing the purpose \"storage\": a restriction still allows storage (Art. 18(2))"
        ),
    );
    // The purpose an opt-in flag is covered by.
    let bad = after(&text, &table("email_address"), "purpose = \"newsletter\"", "purpose = \"nieuwsbrief\"");
    let (i, line) = (index(&bad, "email_address"), line_of(&bad, &table("email_address"), "purpose = \"nieuwsbrief\""));
    assert_problem(
        &check(&bad),
        &format!("line {line}: table[{i}].opt_in[0].purpose: \"nieuwsbrief\" is not the code of a [[purpose]]"),
    );
}

#[test]
fn a_rectifiable_field_without_validator_is_named() {
    let text = fixture("virtio");
    let bad = after(&text, &table("company"), "validator = \"kvk\"\n", "");
    let i = index(&bad, "company");
    let line = line_of(&bad, "field = \"kvk\"", "field = \"kvk\"") - 1;
    assert_problem(
        &check(&bad),
        &format!("line {line}: table[{i}].rectify[1].validator: missing: field \"kvk\" needs a validator (email, phone, iban"),
    );
}

#[test]
fn json_gives_the_problems_as_a_document() {
    let text = fixture("virtio");
    let bad = after(&text, &table("company"), "validator = \"vat\"\n", "");
    let env = Env::new();
    std::fs::write(env.path("company.toml"), &bad).unwrap();
    let (doc, code): (serde_json::Value, i32) = env.json(&["register", "check", "company.toml"]);
    assert_eq!(code, 2);
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["file"], "company.toml");
    let problems = doc["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{doc}");
    assert_eq!(problems[0]["key"], format!("table[{}].rectify[2].validator", index(&bad, "company")));
    assert_eq!(problems[0]["line"], line_of(&bad, "field = \"vat\"", "field = \"vat\"") - 1);
    assert_eq!(doc["counts"]["tables"], 26);
    std::fs::write(env.path("company.toml"), &text).unwrap();
    let (doc, code): (serde_json::Value, i32) = env.json(&["register", "check", "company.toml"]);
    assert_eq!((code, &doc["ok"], doc["problems"].as_array().unwrap().len()), (0, &serde_json::json!(true), 0));
    // A file that cannot be read is one line and exit 2.
    let out = env.run(&["register", "check", "missing.toml"]);
    assert_eq!(out.status.code(), Some(2));
    crate::support::assert_one_line_error(&out);
}

#[test]
fn help_and_the_man_page_say_what_is_checked() {
    let env = Env::new();
    let out = env.run(&["register", "check", "--help"]);
    let help = stdout(&out).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(help.contains("the rights of Art. 15-18 and 20-22, the purposes storage and legal-claims"), "{help}");
    let out = env.run(&["man", "--dir", "man"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = std::fs::read_to_string(env.path("man/dsr-register-check.1")).unwrap();
    assert!(page.contains("plain identifiers only"), "{page}");
}

/// `init --register` and `register apply` list what `register check` lists, in one run: a problem
/// of the register (a recipient without a name) and one of the map's columns (a retention rule on
/// a missing column), in the order of their lines.
#[test]
fn init_and_apply_list_every_problem_check_lists_in_file_order() {
    let text = fixture("virtio");
    let bad = after(
        &text,
        "[[recipient]]\ncode = \"paypal\"\n",
        "name = \"PayPal (Europe) S.à r.l. et Cie, S.C.A.\"",
        "name = \" \"",
    );
    let bad = after(&bad, &table("server_log"), "counts_from = \"logged_at\"", "counts_from = \"logged_on\"");
    let lines = |out: &Output| -> Vec<String> {
        stderr(out)
            .lines()
            .filter(|l| l.contains(": line "))
            .map(|l| l.split_once(": ").unwrap().1.to_owned())
            .collect()
    };
    let checked = lines(&check(&bad));
    assert_eq!(checked.len(), 2, "{checked:?}");
    let at = |l: &String| l.split(':').nth(1).unwrap().trim().trim_start_matches("line ").parse::<usize>().unwrap();
    assert!(at(&checked[0]) < at(&checked[1]), "in file order: {checked:?}");
    let env = Env::new();
    std::fs::write(env.path("company.toml"), &bad).unwrap();
    let out = env.run(&["init", "--register", "company.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(lines(&out), checked, "init lists the same problems");
    assert!(!env.db.exists(), "nothing was written");
    let env = Env::with_fixture("virtio");
    std::fs::write(env.path("company.toml"), &bad).unwrap();
    let out = env.run(&["register", "apply", "company.toml", "--dry-run"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(lines(&out), checked, "apply lists the same problems");
}

#[test]
fn a_blank_controller_an_address_that_is_none_and_a_text_in_one_language_are_named() {
    let file = fixture("webshop");
    let out = check(&after(&file, "[controller]", "name = \"Fietsonderdelen Online B.V.\"", "name = \" \""));
    assert_problem(&out, "line 6: controller.name: is empty");
    let out = check(&after(
        &file,
        "[controller]",
        "privacy_email = \"privacy@fietsonderdelen-online.example\"",
        "privacy_email = \"privacy\"",
    ));
    assert_problem(&out, "line 11: controller.privacy_email: is not an email address");
    let out = check(&after(&file, "[[right]]\ncode = \"access\"", "name_nl = \"Inzage\"", "name_nl = \"\""));
    assert_problem(
        &out,
        &format!(
            "line {}: right[0].name_nl: is empty while its other language is written",
            line_of(&file, "[[right]]\ncode = \"access\"", "name_nl = \"Inzage\"")
        ),
    );
    // A recipient in the United States said to be inside the EEA.
    let out = check(&after(&file, "name = \"PostNL Pakketten Benelux B.V.\"", "country = \"NL\"", "country = \"US\""));
    let err = stderr(&out);
    assert!(err.contains("outside_eea: \"US\" is outside the EEA"), "{err}");
}

/// A column named as SQLite names a row's own key, or a name SQLite keeps for itself, is named
/// with the reason in words.
#[test]
fn a_column_named_rowid_and_a_sqlite_name_are_named_with_why() {
    let text = fixture("webshop");
    let at = text.find("[[table.column]]\nname = \"id\"\n").unwrap();
    let i = text[..at].matches("[[table]]\n").count() - 1;
    let broken = format!("{}[[table.column]]\nname = \"rowid\"\ntype = \"text\"\n\n{}", &text[..at], &text[at..]);
    let out = check(&broken);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("table[{i}].column[0].name: \"rowid\" is SQLite's name for a row's own key")),
        "{err}"
    );
    let out = check(&text.replacen("name = \"product_review\"", "name = \"sqlite_review\"", 1));
    let err = stderr(&out);
    assert!(err.contains("\"sqlite_review\" is not a table name: it starts with sqlite_"), "{err}");
    assert!(!err.contains("Some(") && !err.contains("None"), "{err}");
}

/// An optional text given in one language only (a table's label) is named: every person-facing
/// text is told in Dutch and English.
#[test]
fn a_text_in_one_language_only_is_named() {
    let text = fixture("webshop");
    let i = index(&text, "shop_order");
    let broken = text.replacen("label_nl = \"Bestellingen\"\n", "", 1);
    assert_ne!(broken, text);
    let out = check(&broken);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("table[{i}].label_nl: is missing while its other language is written")), "{err}");
}

/// A key written twice is a fault of the file's syntax, with no key path: the problem names the
/// key as written, on its line.
#[test]
fn a_key_written_twice_is_named_with_its_line() {
    let text = fixture("webshop");
    let broken = after(&text, &table("customer"), "name = \"customer\"\n", "name = \"customer\"\nname = \"klant\"\n");
    let line = broken[..broken.find("name = \"klant\"").unwrap()].matches('\n').count() + 1;
    let out = check(&broken);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(&format!("line {line}: `name`: duplicate key")), "{}", stderr(&out));
}

/// Mistakes a company writing its own file makes naturally, each named: a kept invoice that
/// refers to the work order an erasure deletes (every erasure would fail on the foreign key), a
/// marketing flag standing for a contract's purpose, a moment declared as a number.
#[test]
fn a_kept_row_s_reference_a_flag_for_a_contract_and_a_numeric_moment_are_named() {
    let text = fixture("webshop");
    let bad = after(
        &text,
        &table("shop_invoice"),
        "[[table.column]]\nname = \"order_number\"",
        "[[table.column]]\nname = \"order_id\"\ntype = \"integer\"\nreferences = \"shop_order\"\n\n[[table.column]]\nname = \"order_number\"",
    );
    let bad = after(&bad, "[[table.opt_in]]", "purpose = \"newsletter\"", "purpose = \"order-fulfilment\"");
    let bad = after(
        &bad,
        &table("shop_invoice"),
        "name = \"issued_at\"\ntype = \"text\"",
        "name = \"issued_at\"\ntype = \"integer\"",
    );
    let out = check(&bad);
    let (inv, cus) = (index(&bad, "shop_invoice"), index(&bad, "email_address"));
    assert_problem(
        &out,
        &format!(
            "line {}: table[{inv}].erase.detach: the rows this erase keeps would still refer to \"shop_order\" by column \"order_id\" (references)",
            line_of(&bad, &table("shop_invoice"), "detach = [\"customer_id\"]")
        ),
    );
    assert_problem(
        &out,
        &format!(
            "line {}: table[{cus}].opt_in[0].purpose: \"order-fulfilment\" neither rests on consent nor is direct marketing",
            line_of(&bad, "[[table.opt_in]]", "purpose = \"order-fulfilment\"")
        ),
    );
    assert_problem(
        &out,
        &format!(
            "line {}: table[{inv}].erase.date_column: column \"issued_at\" is declared type = \"integer\"",
            line_of(&bad, &table("shop_invoice"), "date_column = \"issued_at\"")
        ),
    );
    assert!(
        stderr(&out).contains(
            "table[{inv}].retention.counts_from: column \"issued_at\" is declared"
                .replace("{inv}", &inv.to_string())
                .as_str()
        ),
        "{}",
        stderr(&out)
    );
}
