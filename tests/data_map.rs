//! The data map drives what a person is shown: a map entry changed on a store in use (`dsr
//! register apply`) changes lookups and answers accordingly, with no code naming the tables.

use crate::support::{stderr, stdout, Env};

/// The store's company file, edited, applied to the store.
fn apply(env: &Env, edit: impl Fn(String) -> String) {
    let text = stdout(&env.run(&["register", "export"]));
    let edited = edit(text.clone());
    assert_ne!(edited, text, "the edit changed the file");
    let path = env.path("company.toml");
    std::fs::write(&path, &edited).unwrap();
    let out = env.dsr().args(["register", "apply", "--yes"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

fn verified_access(env: &Env, who: &[&str]) -> String {
    let opened = env.open("access", who);
    let code = env.code(&opened.request);
    env.dsr().args(["verify", &opened.request, &code]).assert().success();
    opened.request
}

#[test]
fn a_table_s_label_in_the_map_is_the_heading_of_the_person_s_copy() {
    let env = Env::with_fixture("virtio");
    apply(&env, |t| t.replacen("label_nl = \"Facturen\"", "label_nl = \"Rekeningen\"", 1));
    let request = verified_access(&env, &["--email", "jan.devries@example.nl"]);
    let out = env.run(&["access", &request]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Invoices / Rekeningen ("), "{text}");
    assert!(!text.contains("Facturen ("), "{text}");
}

#[test]
fn a_column_the_map_marks_never_disclosed_is_withheld_and_an_identifier_column_finds_the_person() {
    let env = Env::with_fixture("virtio");
    // The user name becomes a withheld column; the customer number stops being an identifier.
    apply(&env, |t| {
        t.replacen(
            "[[table.never_disclosed]]\ncolumn = \"password_hash\"",
            "[[table.never_disclosed]]\ncolumn = \"username\"\nshown_as = \"kept to yourself\"\n\n[[table.never_disclosed]]\ncolumn = \"password_hash\"",
            1,
        )
        .replacen("[[table.identifier]]\ncolumn = \"customer_number\"\nkind = \"customer-number\"\n", "", 1)
    });
    let (found, code): (serde_json::Value, i32) = env.json(&["lookup", "--customer", "V204117"]);
    assert_eq!((code, found["status"].as_str()), (3, Some("not-found")), "{found}");
    let request = verified_access(&env, &["--email", "jan.devries@example.nl"]);
    let (answer, code): (serde_json::Value, i32) = env.json(&["access", &request]);
    assert_eq!(code, 0);
    let logins: Vec<&serde_json::Value> = answer["categories"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["tables"].as_array().unwrap())
        .filter(|t| t["table"] == "login_account")
        .flat_map(|t| t["rows"].as_array().unwrap())
        .collect();
    assert!(!logins.is_empty(), "{answer}");
    for row in logins {
        assert_eq!(row["username"], "kept to yourself", "{row}");
    }
}
