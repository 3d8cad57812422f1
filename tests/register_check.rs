//! `dsr register check FILE` (docs/register-file.md, "register check"): a company file checked
//! without a store, every problem on a line of its own with the line and key that cause it,
//! exit 2; a good file gets one summary line and exit 0. Each broken file here is a built-in
//! company's file (what `register export` writes, see register_file.rs) with one thing broken.

use std::process::Output;

use crate::support::{stderr, stdout, Env};

/// A built-in company's file, as `register export` writes it.
fn fixture(name: &str) -> String {
    std::fs::read_to_string(crate::support::fixture_dir(name).join("company.toml")).unwrap()
}

/// `dsr register check company.toml` on `text`, in a directory without a store.
fn check(text: &str) -> Output {
    let env = Env::new();
    std::fs::write(env.path("company.toml"), text).unwrap();
    let out = env.run(&["register", "check", "company.toml"]);
    assert!(!env.db.exists(), "register check makes no store");
    out
}

/// Replace the first `old` after `anchor` (which must be there, as must `old`).
fn after(text: &str, anchor: &str, old: &str, new: &str) -> String {
    let at = text.find(anchor).unwrap_or_else(|| panic!("no {anchor:?}"));
    let from = at + text[at..].find(old).unwrap_or_else(|| panic!("no {old:?} after {anchor:?}"));
    format!("{}{new}{}", &text[..from], &text[from + old.len()..])
}

/// The start of the `[[table]]` entry of `name`.
fn table(name: &str) -> String {
    format!("[[table]]\nname = \"{name}\"\n")
}

/// The index of a table's entry in the file (`table[i]`).
fn index(text: &str, name: &str) -> usize {
    let before = &text[..text.find(&table(name)).unwrap()];
    before.matches("[[table]]\n").count()
}

/// The line number of the first line that is `line` at or after `anchor`.
fn line_of(text: &str, anchor: &str, line: &str) -> usize {
    let at = text.find(anchor).unwrap();
    let before = text[..at].matches('\n').count();
    before + text[at..].lines().position(|l| l == line).unwrap_or_else(|| panic!("no line {line:?}")) + 1
}

/// Exit 2, and `problem` (`line N: key: what`) on a stderr line of its own, then the summary.
fn assert_problem(out: &Output, problem: &str) {
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
fn a_table_no_person_reaches_is_named() {
    let text = fixture("virtio");
    // No link at all.
    let bad =
        after(&text, &table("server_log"), "[table.link]\ncolumn = \"session_id\"\nparent = \"web_session\"\n", "");
    let i = index(&bad, "server_log");
    let line = line_of(&bad, &table("server_log"), "[[table]]");
    assert_problem(
        &check(&bad),
        &format!("line {}: table[{i}].link: missing: no person is reached from table \"server_log\"", line),
    );
    // A link to a table that is not in the map.
    let bad = after(&text, &table("server_log"), "parent = \"web_session\"", "parent = \"sessions\"");
    let line = line_of(&bad, &table("server_log"), "parent = \"sessions\"");
    assert_problem(
        &check(&bad),
        &format!("line {line}: table[{i}].link.parent: \"sessions\" is not a [[table]] of the data map"),
    );
    // A loop: ticket hangs from its own messages' unsolicited data.
    let bad = after(
        &text,
        &table("ticket"),
        "column = \"person_id\"\nparent = \"person\"",
        "column = \"id\"\nparent = \"unsolicited_data\"",
    );
    let t = index(&bad, "ticket");
    let line = line_of(&bad, &table("ticket"), "[table.link]");
    assert_problem(
        &check(&bad),
        &format!(
            "line {line}: table[{t}].link: no person is reached from table \"ticket\": its links go round in a loop"
        ),
    );
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
    let line =
        line_of(&bad, &format!("purposes = [\"contract\", \"invoicing\", \"domain-registration\""), "[[category]]");
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
fn a_column_the_table_does_not_have_is_named_wherever_the_map_names_it() {
    let text = fixture("virtio");
    let bad = after(&text, &table("customer"), "column = \"customer_number\"", "column = \"customer_no\"");
    let bad = after(
        &bad,
        &table("domain"),
        "because = \"registration of domain {name}\"",
        "because = \"registration of domain {domain_name}\"",
    );
    let bad = after(&bad, &table("login_account"), "column = \"password_hash\"", "column = \"password\"");
    let bad = after(&bad, &table("ticket_message"), "column = \"direction\"", "column = \"way\"");
    let bad = after(
        &bad,
        &table("email_address"),
        "preferred = \"is_primary DESC, created_at, id\"",
        "preferred = \"is_primary DESC, made_at, id\"",
    );
    let out = check(&bad);
    let cases = [
        ("customer", "column = \"customer_no\"", "identifier[0].column", "customer_no"),
        ("domain", "because = \"registration of domain {domain_name}\"", "recipient[0].because", "domain_name"),
        ("login_account", "column = \"password\"", "never_disclosed[0].column", "password"),
        ("ticket_message", "column = \"way\"", "export.own_rows.column", "way"),
        ("email_address", "preferred = \"is_primary DESC, made_at, id\"", "identifier[0].preferred", "made_at"),
    ];
    for (t, line, key, column) in cases {
        let (i, line) = (index(&bad, t), line_of(&bad, &table(t), line));
        assert_problem(&out, &format!("line {line}: table[{i}].{key}: table \"{t}\" has no column \"{column}\""));
    }
    assert!(stderr(&out).ends_with("company.toml has 5 problems\n"), "{}", stderr(&out));
}

#[test]
fn an_unknown_identifier_kind_and_a_wrong_number_of_roots_are_named() {
    let text = fixture("virtio");
    let bad = after(&text, &table("phone_number"), "kind = \"phone\"", "kind = \"passport\"");
    let line = line_of(&bad, &table("phone_number"), "kind = \"passport\"");
    let out = check(&bad);
    assert_problem(
        &out,
        &format!("line {line}: table[{}].identifier[0].kind: unknown variant `passport`", index(&bad, "phone_number")),
    );
    let two = after(&text, &table("customer"), "category = \"login\"\n", "category = \"login\"\nroot = true\n");
    let i = index(&two, "customer");
    let line = line_of(&two, &table("customer"), "root = true");
    let out = check(&two);
    assert_problem(&out, &format!("line {line}: table[{i}].root: a second root: exactly one table holds the people"));
    let link = line_of(&two, &table("customer"), "[table.link]");
    assert_problem(&out, &format!("line {link}: table[{i}].link: the root table has no link"));
    let none = after(&text, &table("person"), "root = true\n", "");
    assert_problem(
        &check(&none),
        &format!("line {}: table: no table is the root (root = true)", line_of(&none, "", "[[table]]")),
    );
}

#[test]
fn a_recipient_link_that_reaches_no_recipient_is_named() {
    let text = fixture("virtio");
    // The register's one dunning-step recipient is reached another way now.
    let bad = after(
        &text,
        "code = \"collection-agency\"",
        "received_via = \"dunning-step\"",
        "received_via = \"disclosure\"",
    );
    let bad = after(&bad, &table("disclosure"), "column = \"recipient\"", "column = \"recipient_code\"");
    let out = check(&bad);
    let (d, line) =
        (index(&bad, "dunning_event"), line_of(&bad, &table("dunning_event"), "received_via = \"dunning-step\""));
    assert_problem(&out, &format!("line {line}: table[{d}].recipient[0].received_via: no [[recipient]] is received_via \"dunning-step\": the link reaches no one"));
    let (i, line) = (index(&bad, "disclosure"), line_of(&bad, &table("disclosure"), "column = \"recipient_code\""));
    assert_problem(
        &out,
        &format!("line {line}: table[{i}].recipient[0].column: table \"disclosure\" has no column \"recipient_code\""),
    );
}

#[test]
fn an_erase_kind_without_its_parameters_is_named() {
    let text = fixture("virtio");
    let bad = after(&text, &table("invoice"), "years = 7\n", "");
    let bad =
        after(&bad, &table("quote"), "[table.erase.referenced_by]\ntable = \"invoice\"\ncolumn = \"quote_id\"\n", "");
    let bad = after(
        &bad,
        &table("ticket_message"),
        "[table.export.own_rows]",
        "[table.erase]\nkind = \"kept-with-parent\"\n\n[table.export.own_rows]",
    );
    let bad = after(
        &bad,
        &table("unsolicited_data"),
        "[table.retention]",
        "[table.erase]\nkind = \"claim-history\"\n\n[table.retention]",
    );
    let out = check(&bad);
    let entry = |t: &str, l: &str| (index(&bad, t), line_of(&bad, &table(t), l));
    let (i, line) = entry("invoice", "[table.erase]");
    assert_problem(
        &out,
        &format!("line {line}: table[{i}].erase.years: missing: kind \"fiscal-record\" needs the years"),
    );
    let (i, line) = entry("quote", "[table.erase]");
    assert_problem(&out, &format!("line {line}: table[{i}].erase.referenced_by: missing: kind \"kept-if-referenced\" needs the table and column"));
    let (i, line) = entry("ticket_message", "kind = \"kept-with-parent\"");
    assert_problem(&out, &format!("line {line}: table[{i}].erase.kind: kept-with-parent needs a parent (link.parent) whose erase kind is fiscal-record"));
    let (i, line) = entry("unsolicited_data", "kind = \"claim-history\"");
    assert_problem(
        &out,
        &format!(
            "line {line}: table[{i}].erase.kind: claim-history needs a parent (link.parent) whose erase has a claim"
        ),
    );
    assert!(stderr(&out).ends_with("company.toml has 4 problems\n"), "{}", stderr(&out));
}

#[test]
fn a_table_twice_and_a_category_no_table_holds_are_named() {
    let text = fixture("voordelig-streamen");
    let twice = format!(
        "{text}\n{}category = \"identity\"\n\n[table.link]\ncolumn = \"person_id\"\nparent = \"person\"\n",
        table("cookie")
    );
    let i = twice.matches("[[table]]\n").count() - 1;
    let line = twice.lines().count() - 5;
    assert_problem(&check(&twice), &format!("line {line}: table[{i}].name: table \"cookie\" is described twice"));
    let before = &text[..text.find("[[recipient]]").unwrap()];
    let c = before.matches("[[category]]\n").count();
    let orphan = format!(
        "{before}[[category]]\ncode = \"shoe-size\"\nname_en = \"Shoe size\"\nname_nl = \"Schoenmaat\"\ndescription_en = \"d\"\ndescription_nl = \"d\"\nprovenance = \"provided\"\nsource_en = \"you\"\nsource_nl = \"jij\"\nportable = true\npurposes = [\"contract\"]\n\n{}",
        &text[before.len()..]
    );
    let line = line_of(&orphan, "[[category]]\ncode = \"shoe-size\"", "code = \"shoe-size\"");
    assert_problem(
        &check(&orphan),
        &format!("line {line}: category[{c}].code: no [[table]] of the data map holds category \"shoe-size\""),
    );
}

#[test]
fn a_name_that_is_not_a_plain_identifier_is_refused_by_check_and_by_init() {
    let text = fixture("virtio");
    let bad = after(&text, &table("crash_report"), "name = \"crash_report\"", "name = \"x; DROP TABLE audit_log\"");
    let bad = after(&bad, &table("cookie"), "column = \"cookie_id\"", "column = \"cookie_id = '' OR 1=1 --\"");
    let bad = after(
        &bad,
        &table("phone_number"),
        "preferred = \"use_contact DESC, created_at, id\"",
        "preferred = \"(SELECT 1)\"",
    );
    let x = bad[..bad.find("name = \"x; DROP").unwrap()].matches("[[table]]\n").count() - 1;
    let (k, p) = (index(&bad, "cookie"), index(&bad, "phone_number"));
    let lines = [
        (
            line_of(&bad, "", "name = \"x; DROP TABLE audit_log\""),
            format!("table[{x}].name: \"x; DROP TABLE audit_log\" is not a table name"),
        ),
        (
            line_of(&bad, &table("cookie"), "column = \"cookie_id = '' OR 1=1 --\""),
            format!("table[{k}].identifier[0].column: \"cookie_id = '' OR 1=1 --\" is not a column name"),
        ),
        (
            line_of(&bad, &table("phone_number"), "preferred = \"(SELECT 1)\""),
            format!("table[{p}].rectify[0].preferred: \"(SELECT 1)\" is not an order of columns"),
        ),
    ];
    let out = check(&bad);
    for (line, problem) in &lines {
        assert_problem(&out, &format!("line {line}: {problem}"));
    }
    // init --register refuses the same file, each problem on its line, and makes no store.
    let env = Env::new();
    std::fs::write(env.path("company.toml"), &bad).unwrap();
    let out = env.run(&["init", "--register", "company.toml"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    for (line, problem) in &lines {
        assert!(stderr(&out).contains(&format!("dsr: company.toml: line {line}: {problem}")), "{}", stderr(&out));
    }
    assert!(!env.db.exists());
}

#[test]
fn a_table_of_its_own_is_checked_against_the_columns_it_declares() {
    let text = fixture("virtio");
    let review = "\n[[table]]\nname = \"review\"\ncategory = \"tickets\"\n\n[table.link]\ncolumn = \"person_id\"\nparent = \"person\"\n\n\
[table.retention]\ncounts_from = \"written_on\"\n\n[[table.column]]\nname = \"id\"\ntype = \"integer\"\n\n\
[[table.column]]\nname = \"person_id\"\ntype = \"integer\"\nreferences = \"person\"\n\n[[table.column]]\nname = \"written_at\"\ntype = \"text\"\n";
    let good = format!("{text}{}", review.replace("written_on", "written_at"));
    let out = check(&good);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("company.toml: no problems (27 tables, "), "{}", stdout(&out));
    let bad = format!("{text}{review}");
    let i = bad.matches("[[table]]\n").count() - 1;
    let line = line_of(&bad, &table("review"), "counts_from = \"written_on\"");
    assert_problem(
        &check(&bad),
        &format!("line {line}: table[{i}].retention.counts_from: table \"review\" has no column \"written_on\""),
    );
    // Without declared columns, a table the built-in schema lacks cannot be made.
    let bare = format!(
        "{text}\n{}category = \"tickets\"\n\n[table.link]\ncolumn = \"person_id\"\nparent = \"person\"\n",
        table("review")
    );
    let line = line_of(&bare, &table("review"), "name = \"review\"");
    assert_problem(
        &check(&bare),
        &format!("line {line}: table[{i}].name: the store has no table \"review\", and the entry declares no columns"),
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
