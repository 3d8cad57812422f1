//! `dsr register check FILE` on broken data maps (`[[table]]`): tables no person reaches, roots,
//! columns a table lacks wherever the map names them, recipient links, erase kinds, tables
//! described twice, categories no table holds, names that are not plain identifiers (refused by
//! `init --register` too), and tables the built-in schema lacks, checked against their declared
//! columns. The helpers and the register part's problems are in register_check.rs.

use crate::register_check::{after, assert_problem, check, fixture, index, line_of, table};
use crate::support::{stderr, stdout, Env};

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
    // A table under one without a link: its own link is there, the chain ends short (no loop).
    let bad =
        after(&text, &table("web_session"), "[table.link]\ncolumn = \"customer_id\"\nparent = \"customer\"\n", "");
    let (s, line) = (index(&bad, "server_log"), line_of(&bad, &table("server_log"), "[table.link]"));
    assert_problem(
        &check(&bad),
        &format!("line {line}: table[{s}].link: no person is reached from table \"server_log\": its links end at table \"web_session\", which no person is reached from"),
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
    // init --register finds the same five, on the same lines, and makes no store.
    let env = Env::new();
    std::fs::write(env.path("company.toml"), &bad).unwrap();
    let init = env.run(&["init", "--register", "company.toml"]);
    assert_eq!(init.status.code(), Some(2));
    assert_eq!(problem_lines(stderr(&init)), problem_lines(stderr(&out)));
    assert!(!env.db.exists());
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

/// The reverse: a register recipient no link of the data map reaches would be told to no one.
#[test]
fn a_recipient_no_table_reaches_is_named() {
    let text = fixture("virtio");
    let bad = after(
        &text,
        &table("consent"),
        "[[table.recipient]]\nreceived_via = \"consent\"\nbecause = \"your consent to {purpose} on {recorded_at:date}\"\n",
        "",
    );
    let out = check(&bad);
    let recipients: Vec<(usize, String)> = bad
        .split("[[recipient]]\n")
        .skip(1)
        .enumerate()
        .filter(|(_, r)| r.contains("received_via = \"consent\""))
        .map(|(i, r)| (i, r.lines().next().unwrap().trim_start_matches("code = ").trim_matches('"').to_owned()))
        .collect();
    assert!(!recipients.is_empty());
    for (i, code) in recipients {
        assert!(
            stderr(&out)
                .contains(&format!("recipient[{i}].received_via: no table of the data map reaches recipient {code:?}")),
            "{code}: {}",
            stderr(&out)
        );
    }
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
fn a_second_table_of_consent_records_is_named() {
    let text = fixture("virtio");
    let record =
        "[table.consent_record]\npurpose = \"purpose\"\ngranted = \"granted\"\nrecorded_at = \"recorded_at\"\n\n";
    let bad = after(&text, &table("server_log"), "[table.link]", &format!("{record}[table.link]"));
    // The later of the two in the file is named.
    let (i, line) = (index(&bad, "consent"), line_of(&bad, &table("consent"), "[table.consent_record]"));
    assert_problem(
        &check(&bad),
        &format!("line {line}: table[{i}].consent_record: a second table of consent records: table \"server_log\" holds them already"),
    );
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

/// A name of one of dsr's own tables, or a table's name again in other letters (`Cookie` is
/// `cookie` to SQLite), is one problem, the same from `register check` and `init --register`,
/// and the entry's columns are not checked against the other table of that name.
#[test]
fn dsr_s_own_names_and_a_name_in_other_case_are_one_problem_for_check_and_init() {
    let text = fixture("voordelig-streamen");
    for (name, what) in [
        ("audit_log", "\"audit_log\" is the name of one of dsr's own tables".to_owned()),
        ("Request", "\"Request\" is the name of one of dsr's own tables".to_owned()),
        ("Cookie", "table \"Cookie\" is described twice (as \"cookie\" before: table names ignore case)".to_owned()),
    ] {
        let bad = format!(
            "{text}\n{}category = \"identity\"\n\n[table.link]\ncolumn = \"person_id\"\nparent = \"person\"\n",
            table(name)
        );
        let i = bad.matches("[[table]]\n").count() - 1;
        let line = bad.lines().count() - 5;
        let env = Env::new();
        std::fs::write(env.path("company.toml"), &bad).unwrap();
        let out = env.run(&["register", "check", "company.toml"]);
        assert_eq!(problem_lines(stderr(&out)).len(), 1, "{name}: {}", stderr(&out));
        assert!(
            stderr(&out).starts_with(&format!("dsr: company.toml: line {line}: table[{i}].name: {what}")),
            "{}",
            stderr(&out)
        );
        let init = env.run(&["init", "--register", "company.toml"]);
        assert_eq!(init.status.code(), Some(2));
        assert_eq!(problem_lines(stderr(&init)), problem_lines(stderr(&out)), "{name}");
        assert!(!env.db.exists());
    }
}

/// Declaring columns for a built-in table makes it from them: a declaration that lacks the
/// columns the map names is one line saying so, not one line for each column.
#[test]
fn a_built_in_table_declared_with_too_few_columns_is_one_line() {
    let text = fixture("voordelig-streamen");
    let bad = after(
        &text,
        &table("crash_report"),
        "[table.link]",
        "[[table.column]]\nname = \"nickname\"\ntype = \"text\"\n\n[table.link]",
    );
    let out = check(&bad);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(
        err.contains(".column: the entry declares columns ([[table.column]]), so \"crash_report\" is made from them instead of the built-in table, and it lacks "),
        "{err}"
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
fn the_columns_of_an_automated_decision_s_steps_and_its_reversal_are_checked() {
    let text = fixture("virtio");
    let bad = after(&text, &table("dunning_event"), "amount_cents = \"amount_cents\"", "amount_cents = \"amount\"");
    let bad = after(
        &bad,
        &table("dunning_event"),
        "table = \"service\"\ncolumn = \"status\"",
        "table = \"service\"\ncolumn = \"state\"",
    );
    let i = index(&bad, "dunning_event");
    let out = check(&bad);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("table[{i}].decision_steps.about.amount_cents")) && err.contains("amount"), "{err}");
    assert!(err.contains(&format!("table[{i}].decision_steps.reversal.unblock[0]")) && err.contains("state"), "{err}");
}

#[test]
fn kept_rows_that_would_still_refer_to_deleted_ones_are_named() {
    let text = fixture("virtio");
    // Invoices kept under the fiscal hold that keep their customer, whom an erasure deletes (the
    // erasure failed on the foreign key, exit 1, for every person with an invoice).
    let bad = after(&text, &table("invoice"), "detach = [\"customer_id\"]", "detach = [\"paid_at\"]");
    let i = index(&bad, "invoice");
    let line = line_of(&bad, &table("invoice"), "detach = [\"paid_at\"]");
    assert_problem(
        &check(&bad),
        &format!(
            "line {line}: table[{i}].erase.detach: the rows this erase keeps would still refer to \"customer\" (customer_id), whose rows an erasure deletes: add \"customer_id\" to detach"
        ),
    );
    // A field the store keeps NOT NULL cannot be detached.
    let bad =
        after(&text, &table("invoice"), "detach = [\"customer_id\"]", "detach = [\"customer_id\", \"billing_name\"]");
    let line = line_of(&bad, &table("invoice"), "detach = [\"customer_id\", \"billing_name\"]");
    assert_problem(
        &check(&bad),
        &format!(
            "line {line}: table[{i}].erase.detach: column \"invoice\".billing_name may not be NULL in the store, so an erasure cannot detach it"
        ),
    );
}

#[test]
fn a_name_sql_reads_as_a_keyword_is_refused() {
    // `current_date` unquoted is today's date: a retention rule counting from such a column
    // removed nothing, silently; `cast` broke the statement.
    let text = fixture("virtio");
    for name in ["current_date", "cast", "order"] {
        let bad = after(
            &text,
            &table("ticket"),
            "column = \"person_id\"\nparent = \"person\"",
            &format!("column = \"{name}\"\nparent = \"person\""),
        );
        let out = check(&bad);
        assert!(
            stderr(&out)
                .contains(&format!("\"{name}\" is an SQL keyword, which dsr's SQL would read as something else")),
            "{name}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn check_finds_what_init_finds_in_a_file_whose_tables_init_makes() {
    // The web shop declares its own tables: `register check` used to stop short of what
    // `init --register` checks as it makes them (a column declared twice passed the check).
    let text = fixture("webshop");
    let at = text.find("name = \"order_line\"").unwrap();
    let first = at + text[at..].find("[[table.column]]").unwrap();
    let second = first + 1 + text[first + 1..].find("[[table.column]]").unwrap();
    let bad = format!("{}{}{}", &text[..second], &text[first..second], &text[second..]);
    let env = Env::new();
    std::fs::write(env.path("company.toml"), &bad).unwrap();
    let out = env.run(&["register", "check", "company.toml"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("is declared twice"), "{}", stderr(&out));
    let init = env.run(&["init", "--register", "company.toml"]);
    assert_eq!(init.status.code(), Some(2));
    assert_eq!(problem_lines(stderr(&init)), problem_lines(stderr(&out)));
}

#[test]
fn a_column_declared_twice_in_another_case_is_named_before_sqlite_refuses_it() {
    let text = fixture("webshop");
    let at = text.find("name = \"order_line\"").unwrap();
    let first = at + text[at..].find("[[table.column]]\nname = \"").unwrap();
    let name_at = first + "[[table.column]]\nname = \"".len();
    let name = &text[name_at..name_at + text[name_at..].find('"').unwrap()];
    let shouted = format!("[[table.column]]\nname = {:?}\ntype = \"text\"\n\n", name.to_uppercase());
    let bad = format!("{}{}{}", &text[..first], shouted, &text[first..]);
    // A problem of another entry is listed with it, not only once this one is mended.
    let bad = bad.replacen("column = \"given_name\"", "column = \"given_name_x\"", 1);
    let env = Env::new();
    std::fs::write(env.path("company.toml"), &bad).unwrap();
    let out = env.run(&["register", "check", "company.toml"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains(&format!("is declared twice (as {:?}: SQL names ignore case)", name.to_uppercase())),
        "{said}"
    );
    assert!(!said.contains("duplicate column name"), "{said}");
    assert!(said.contains("has no column \"given_name_x\""), "{said}");
}

/// A table declared under a built-in name, linked otherwise than the built-in one (the company's
/// own email table under its customers): `register check` checks it as declared, as `init
/// --register` makes it, and both accept the file.
#[test]
fn a_declared_table_with_a_built_in_name_is_checked_as_declared() {
    let text = fixture("webshop");
    let declared = "[table.link]\ncolumn = \"customer_id\"\nparent = \"customer\"\n\n\
        [[table.column]]\nname = \"id\"\ntype = \"integer\"\n\n\
        [[table.column]]\nname = \"customer_id\"\ntype = \"integer\"\nrequired = true\n\n\
        [[table.column]]\nname = \"address\"\ntype = \"text\"\nrequired = true\n\n\
        [[table.column]]\nname = \"address_norm\"\ntype = \"text\"\n\n\
        [[table.column]]\nname = \"is_primary\"\ntype = \"integer\"\n\n\
        [[table.column]]\nname = \"newsletter_opt_in\"\ntype = \"integer\"\n\n\
        [[table.column]]\nname = \"created_at\"\ntype = \"text\"\n";
    let file =
        after(&text, &table("email_address"), "[table.link]\ncolumn = \"person_id\"\nparent = \"person\"\n", declared);
    let out = check(&file);
    assert!(out.status.success(), "{}", stderr(&out));
    let env = Env::new();
    std::fs::write(env.path("company.toml"), &file).unwrap();
    let out = env.run(&["init", "--register", "company.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let _ = stdout(&out);
}

#[test]
fn a_column_label_names_a_column_of_its_table_in_both_languages_once() {
    let text = fixture("webshop");
    let bad = after(&text, &table("shop_order"), "column = \"total_cents\"", "column = \"totaal\"");
    let i = index(&bad, "shop_order");
    let out = check(&bad);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(all.contains(&format!("table[{i}].label[")) && all.contains("totaal"), "{all}");
    let bad = after(&text, &table("shop_order"), "en = \"Total\"", "en = \" \"");
    let all = {
        let out = check(&bad);
        format!("{}{}", stdout(&out), stderr(&out))
    };
    assert!(all.contains(".en: give the column's heading in words"), "{all}");
    let bad = after(&text, &table("shop_order"), "column = \"note\"", "column = \"total_cents\"");
    let all = {
        let out = check(&bad);
        format!("{}{}", stdout(&out), stderr(&out))
    };
    assert!(all.contains("column \"total_cents\" is labelled twice"), "{all}");
    let bad = after(&text, &table("shop_order"), "column = \"note\"", "column = \"customer_id\"");
    let all = {
        let out = check(&bad);
        format!("{}{}", stdout(&out), stderr(&out))
    };
    assert!(all.contains("column \"customer_id\" is never shown in a person's copy"), "{all}");
    let bad = after(&text, &table("shop_order"), "shown_as = \"euro-cents\"", "shown_as = \"euros\"");
    let out = check(&bad);
    assert_ne!(out.status.code(), Some(0));
}

/// The problem lines of a command's stderr (`dsr: FILE: line N: key: what`), without the summary.
fn problem_lines(err: String) -> Vec<String> {
    err.lines().filter(|l| l.contains(": line ")).map(str::to_owned).collect()
}
