//! How an email address identifies a person (issue 14: the domain in any case, the local part
//! exactly; issue 2: the two example companies' maps compare the local part in any case too):
//! the map's `local_part`, checked by `register check`, kept by an import, told by a lookup that
//! finds no one, and never a way back for an erased person.

use serde_json::Value;

use crate::register_check::{after, assert_problem, check, fixture, index, line_of, table};
use crate::support::{stderr, stdout, Env};

#[test]
fn the_webshop_compares_the_domain_in_any_case_and_the_local_part_exactly() {
    let env = Env::with_fixture("webshop");
    let (found, code): (Value, i32) = env.json(&["lookup", "--email", "sanne.dejong@EXAMPLE.NL"]);
    assert_eq!(code, 0, "{found}");
    // Another case of the local part is another address: not found, and the officer is told
    // that someone holds it in another case.
    let (v, code): (Value, i32) = env.json(&["lookup", "--email", "Sanne.DeJong@example.nl"]);
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["in_another_case"], 1, "{v}");
    let out = env.run(&["lookup", "--email", "Sanne.DeJong@example.nl"]);
    assert!(stdout(&out).contains("1 person holds the address with its local part (before the @) in another case"));
    // An address no one holds in any case: no such line.
    let (v, _): (Value, i32) = env.json(&["lookup", "--email", "nobody@example.nl"]);
    assert_eq!(v["in_another_case"], 0, "{v}");
}

#[test]
fn the_example_companies_compare_the_local_part_in_any_case() {
    let env = Env::with_fixture("virtio");
    let (v, code): (Value, i32) = env.json(&["lookup", "--email", "JAN.DEVRIES@EXAMPLE.NL"]);
    assert_eq!(code, 0, "{v}");
    assert!(v.get("in_another_case").is_none(), "{v}");
}

#[test]
fn local_part_is_said_of_email_identifiers_only_and_alike_for_all() {
    let text = fixture("virtio");
    // On a customer number.
    let bad = after(
        &text,
        &table("customer"),
        "kind = \"customer-number\"",
        "kind = \"customer-number\"\nlocal_part = \"exact\"",
    );
    let (i, line) = (index(&bad, "customer"), line_of(&bad, &table("customer"), "local_part = \"exact\""));
    let j = 0;
    assert_problem(
        &check(&bad),
        &format!(
            "line {line}: table[{i}].identifier[{j}].local_part: is said of an email identifier only: leave it out"
        ),
    );
    // Two email identifiers, one exact (unsaid), one in any case.
    let bad = after(
        &text,
        &table("email_address"),
        "local_part = \"any-case\"\n",
        "local_part = \"any-case\"\n\n[[table.identifier]]\ncolumn = \"address\"\nkind = \"email\"\n",
    );
    let i = index(&bad, "email_address");
    let out = check(&bad);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        all.contains(&format!("table[{i}].identifier[1].local_part: every email identifier compares the local part the same way, and table[{i}].identifier[0] says \"any-case\"")),
        "{all}"
    );
    // A rule dsr does not know.
    let bad = after(&text, &table("email_address"), "local_part = \"any-case\"", "local_part = \"lower\"");
    let out = check(&bad);
    assert_ne!(out.status.code(), Some(0));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(all.contains("local_part") && all.contains("any-case"), "{all}");
}

/// In a store that compares the local part exactly, `Sanne.DeJong@` is someone else than the
/// erased `sanne.dejong@`: not refused, not reported as erased; the same address with its domain
/// in capitals is refused.
#[test]
fn an_erased_address_is_refused_as_the_map_compares_it() {
    let env = Env::with_fixture("webshop");
    let id = env.verified("erase", &["--email", "sanne.dejong@example.nl"]);
    env.dsr().args(["erase", &id, "--yes"]).assert().success();
    std::fs::write(
        env.path("emails.csv"),
        "id,person_id,address,is_primary,newsletter_opt_in,created_at\n\
         990,2,sanne.dejong@Example.NL,0,1,2026-11-01T09:00:00Z\n\
         991,2,Sanne.DeJong@example.nl,0,1,2026-11-01T09:00:00Z\n",
    )
    .unwrap();
    let out = env.run(&["--json", "import", "email_address", "emails.csv"]);
    assert_eq!(out.status.code(), Some(19), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains(&format!("request {id}")), "{}", stdout(&out));
    assert_eq!(env.count("SELECT count(*) FROM email_address WHERE id = 990"), 0);
    assert_eq!(env.count("SELECT count(*) FROM email_address WHERE id = 991"), 1, "another address");
    let (v, _): (Value, i32) = env.json(&["doctor"]);
    assert!(!v.to_string().contains("erased-back"), "{v}");
}

/// A file that compares the local part otherwise than the store (one written before
/// `local_part`, applied to an upgraded store) is refused: the columns hold the store's form.
#[test]
fn register_apply_does_not_change_how_addresses_compare() {
    let env = Env::with_fixture("virtio");
    let file = stdout(&env.run(&["register", "export"])).replace("local_part = \"any-case\"\n", "");
    std::fs::write(env.path("old.toml"), file).unwrap();
    let out = env.run(&["register", "apply", "old.toml", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("local_part = \"any-case\""), "{}", stderr(&out));
    let (v, code): (Value, i32) = env.json(&["lookup", "--email", "JAN.DEVRIES@example.nl"]);
    assert_eq!(code, 0, "{v}");
}
