//! The third company, a Dutch web shop (`dsr init --fixture webshop`): a company that is neither
//! built-in schema nor built-in register. Its own tables (orders, shipments, invoices, reviews,
//! support mail...) are made from the `[[table.column]]` declarations of its company file, its
//! carriers and payment providers are recipients reached through a column of a row, and every
//! right is expected to follow its data map.

use std::collections::BTreeMap;
use std::io::Read;

use serde_json::Value;

use crate::support::{answer_rows, stderr, stdout, Env};

/// Sanne de Jong (person 1): two orders delivered by PostNL and paid through Mollie, a review,
/// the newsletter, a question to customer service.
const SANNE: &str = "sanne.dejong@example.nl";

/// The webshop's own tables, made by `init` from the company file.
const SHOP_TABLES: &[&str] = &[
    "delivery_address",
    "shop_order",
    "order_line",
    "shipment",
    "shop_invoice",
    "shop_payment",
    "product_review",
    "support_mail",
];

fn count(env: &Env, sql: &str) -> i64 {
    env.sql().query_row(sql, [], |r| r.get(0)).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn verified(env: &Env, right: &str, who: &[&str]) -> String {
    let o = env.open(right, who);
    let code = env.code(&o.request);
    env.dsr().args(["verify", &o.request, &code]).assert().success();
    o.request
}

#[test]
fn init_fixture_webshop_makes_its_tables_and_loads_its_people() {
    let env = Env::with_fixture("webshop");
    assert_eq!(count(&env, "SELECT count(*) FROM person"), 30);
    for table in SHOP_TABLES {
        let strict =
            count(&env, &format!("SELECT count(*) FROM pragma_table_list WHERE name = '{table}' AND strict = 1"));
        assert_eq!(strict, 1, "{table} is made STRICT");
        assert!(count(&env, &format!("SELECT count(*) FROM {table}")) > 0, "{table} has rows");
    }
    // Rows reach their person through the declared foreign keys, and none dangles.
    let fk = count(
        &env,
        "SELECT count(*) FROM pragma_foreign_key_list('shipment') WHERE \"from\" = 'order_id' AND \"table\" = 'shop_order'",
    );
    assert_eq!(fk, 1);
    assert_eq!(count(&env, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    // Newsletter-only subscribers: a person with an address and a consent, and nothing else.
    let subscribers = count(
        &env,
        "SELECT count(*) FROM person p WHERE NOT EXISTS (SELECT 1 FROM customer c WHERE c.person_id = p.id)
           AND EXISTS (SELECT 1 FROM email_address e WHERE e.person_id = p.id AND e.newsletter_opt_in = 1)",
    );
    assert!(subscribers >= 2, "{subscribers}");
    let (register, code): (Value, i32) = env.json(&["register"]);
    assert_eq!(code, 0);
    assert_eq!(register["controller"]["name"], "Fietsonderdelen Online B.V.");
    let recipients: Vec<&str> =
        register["recipients"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect();
    for carrier in ["postnl", "dhl", "mollie", "klarna"] {
        assert!(recipients.contains(&carrier), "{recipients:?}");
    }
}

#[test]
fn the_webshop_company_file_round_trips() {
    let env = Env::with_fixture("webshop");
    let out = env.run(&["register", "export"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let shipped = std::fs::read_to_string(crate::support::fixture_dir("webshop").join("company.toml")).unwrap();
    assert_eq!(text, shipped, "register export of the fixture store is fixtures/webshop/company.toml");
    // The file makes a new store for the company: its tables made, no people, the same file back.
    let file = env.path("webshop.toml");
    std::fs::write(&file, &text).unwrap();
    let mut other = Env::new();
    other.db = env.path("mine.sqlite");
    let out = other.dsr().arg("init").arg("--register").arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    for table in SHOP_TABLES {
        assert_eq!(count(&other, &format!("SELECT count(*) FROM {table}")), 0, "{table} made, empty");
    }
    assert_eq!(stdout(&other.run(&["register", "export"])), text);
}

#[test]
fn access_holds_orders_shipments_and_reviews_and_names_the_carrier() {
    let env = Env::with_fixture("webshop");
    let id = verified(&env, "access", &["--email", SANNE]);
    let (answer, code): (Value, i32) = env.json(&["access", &id]);
    assert_eq!(code, 0, "{answer}");
    let orders = answer_rows(&answer, "shop_order");
    assert_eq!(orders.len(), 2, "{answer}");
    assert!(orders.iter().any(|o| o["order_number"] == "FO-240077"), "{orders:?}");
    assert_eq!(answer_rows(&answer, "order_line").len(), 3);
    let shipments = answer_rows(&answer, "shipment");
    assert_eq!(shipments.len(), 2);
    assert!(shipments.iter().all(|s| s["carrier"] == "postnl"), "{shipments:?}");
    assert_eq!(answer_rows(&answer, "product_review").len(), 1);
    assert_eq!(answer_rows(&answer, "support_mail").len(), 2, "access shows both sides of the mail");
    // The carrier that delivered is named, with the shipment that took the data there; the
    // carrier that did not deliver to this person is not.
    let recipients = answer["recipients"].as_array().unwrap();
    let postnl = recipients.iter().find(|r| r["code"] == "postnl").expect("PostNL is named");
    let because = postnl["because"].to_string();
    assert!(because.contains("shipment 3SFOOL001052019"), "{because}");
    assert!(recipients.iter().any(|r| r["code"] == "mollie"), "the payment provider is named");
    assert!(!recipients.iter().any(|r| r["code"] == "dhl" || r["code"] == "klarna"), "{recipients:?}");
    // The terminal answer names them too (an answer prepared is not yet delivered: the same
    // request is answered again).
    let out = env.run(&["access", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("PostNL Pakketten Benelux B.V."), "{text}");
    assert!(text.contains("Shipments / Zendingen") && text.contains("3SFOOL001052019"), "{text}");
    // The company's own columns in the person's words (`[[table.label]]`): an amount in cents
    // in euros, a 0/1 flag as yes or no; the JSON answer keeps the column and the raw value.
    for words in ["Total / Totaal", "€ 131,88", "Price each / Prijs per stuk", "€ 59,99", "Published / Gepubliceerd"]
    {
        assert!(text.contains(words), "the terminal answer lacks {words:?}: {text}");
    }
    assert!(!text.contains("total cents") && !text.contains("13188"), "{text}");
    assert!(orders.iter().any(|o| o["total_cents"] == 13188), "{orders:?}");
    // index.html says the same.
    let file = env.path("copy.zip");
    let out = env.run(&["access", &id, "--archive", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&file).unwrap()).unwrap();
    let mut html = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("index.html").unwrap(), &mut html).unwrap();
    for words in ["Total / Totaal", "131,88", "Article number / Artikelnummer"] {
        assert!(html.contains(words), "index.html lacks {words:?}");
    }
    // The shop's codes in words: an order's status, a payment's method.
    let status: String =
        env.sql().query_row("SELECT status FROM shop_order WHERE total_cents = 13188", [], |r| r.get(0)).unwrap();
    let words = match status.as_str() {
        "delivered" => "delivered / bezorgd",
        "paid" => "paid / betaald",
        "returned" => "returned / geretourneerd",
        other => panic!("status {other}"),
    };
    assert!(html.contains(words), "index.html lacks {words:?}");
    assert!(
        html.contains("iDEAL") || html.contains("credit card / creditcard") || html.contains("pay later"),
        "a payment method in words"
    );
    assert!(!html.contains(">ideal<") && !html.contains(">creditcard<"), "no raw method code");
}

#[test]
fn export_holds_what_the_person_provided() {
    let env = Env::with_fixture("webshop");
    let id = verified(&env, "export", &["--email", SANNE]);
    let out = env.run(&["export", &id, "--out", "sanne.zip"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut zip = zip::ZipArchive::new(std::fs::File::open(env.path("sanne.zip")).unwrap()).unwrap();
    let mut manifest = String::new();
    zip.by_name("manifest.json").unwrap().read_to_string(&mut manifest).unwrap();
    let manifest: Value = serde_json::from_str(&manifest).unwrap();
    let csv_rows: BTreeMap<String, u64> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| {
            let table = f["path"].as_str()?.strip_prefix("csv/")?.strip_suffix(".csv")?;
            Some((table.to_owned(), f["rows"].as_u64()?))
        })
        .collect();
    for (table, n) in [("shop_order", 2), ("order_line", 3), ("delivery_address", 1), ("product_review", 1)] {
        assert_eq!(csv_rows.get(table), Some(&n), "{table}: {csv_rows:?}");
    }
    // Of the mail, only what she wrote; the invoices are ours (derived), not hers to port.
    assert_eq!(csv_rows.get("support_mail"), Some(&1), "{csv_rows:?}");
    assert!(!csv_rows.contains_key("shop_invoice"), "{csv_rows:?}");
    // The web shop takes no automated decisions: the guide to the archive does not say it does.
    for (name, word) in [("README.txt", "automated"), ("LEESMIJ.txt", "geautomatiseerd")] {
        let mut text = String::new();
        zip.by_name(name).unwrap().read_to_string(&mut text).unwrap();
        assert!(text.contains("register.json") && !text.contains(word) && !text.contains("files/"), "{text}");
    }
}

#[test]
fn erasure_deletes_the_profile_and_keeps_invoices_detached_for_the_fiscal_hold() {
    let env = Env::with_fixture("webshop");
    let invoices = count(&env, "SELECT count(*) FROM shop_invoice WHERE customer_id = 101");
    assert_eq!(invoices, 2);
    let year: i64 =
        count(&env, "SELECT max(CAST(substr(issued_at, 1, 4) AS INTEGER)) FROM shop_invoice WHERE customer_id = 101");
    let id = verified(&env, "erase", &["--email", SANNE]);
    let (plan, code): (Value, i32) = env.json(&["erase", &id, "--dry-run"]);
    assert_eq!(code, 0, "{plan}");
    let steps = plan["plan"]["steps"].as_array().unwrap();
    let kept: Vec<&Value> = steps.iter().filter(|s| s["table"] == "shop_invoice").collect();
    assert!(kept.iter().all(|s| s["action"] == "detach"), "{kept:?}");
    assert!(kept.iter().any(|s| s["until"] == format!("{}-12-31", year + 7)), "{kept:?}");
    let (done, code): (Value, i32) = env.json(&["erase", &id, "--yes"]);
    assert_eq!(code, 0, "{done}");
    // The profile and everything hanging from it is gone; the invoices stay, detached.
    let (_, code): (Value, i32) = env.json(&["lookup", "--email", SANNE]);
    assert_eq!(code, 3, "no one is found by the address any more");
    assert_eq!(count(&env, "SELECT count(*) FROM person WHERE id = 1"), 0);
    for table in ["shop_order", "delivery_address", "product_review"] {
        assert_eq!(count(&env, &format!("SELECT count(*) FROM {table} WHERE customer_id = 101")), 0, "{table}");
    }
    assert_eq!(count(&env, "SELECT count(*) FROM support_mail WHERE person_id = 1"), 0);
    assert_eq!(count(&env, "SELECT count(*) FROM shop_invoice WHERE invoice_number IN ('FOF-70033', 'FOF-70036') AND customer_id IS NULL"), 2);
    assert_eq!(
        count(&env, "SELECT count(*) FROM shop_payment WHERE invoice_id IN (11, 12)"),
        2,
        "the payments stay with them"
    );
    // Art. 19: the payment provider, which received payments the plan keeps, is not told to
    // destroy them; the carrier, which received nothing kept, is told to erase.
    let (shown, _): (Value, i32) = env.json(&["request", "show", &id]);
    let told = |code: &str| {
        let r = shown["recipients"].as_array().unwrap().iter().find(|r| r["recipient"] == code);
        r.unwrap_or_else(|| panic!("{code}: {shown}"))["what"].as_str().unwrap().to_owned()
    };
    assert_eq!(told("postnl"), "Erasure (Art. 17): erase the data of this person you received from us.");
    let mollie = told("mollie");
    assert!(
        mollie.contains(&format!("we keep their payments until {}-12-31, under Art. 17(3)(b)", year + 7)),
        "{mollie}"
    );
    assert!(mollie.contains("keep what you hold of them for that only"), "{mollie}");
    env.dsr().args(["audit", "verify"]).assert().success();
}

/// An invoice whose fiscal hold ended before the erasure (31 December of its year plus seven)
/// keeps nothing: it goes, with its payments, and no ground is claimed for it; an unpaid one
/// stays for the claim alone.
#[test]
fn an_invoice_past_its_fiscal_hold_goes_with_the_erasure() {
    let mut env = Env::with_fixture("webshop");
    let year: i64 =
        count(&env, "SELECT max(CAST(substr(issued_at, 1, 4) AS INTEGER)) FROM shop_invoice WHERE customer_id = 101");
    env.now = Some(format!("{}-01-02T09:00:00Z", year + 8));
    let id = verified(&env, "erase", &["--email", SANNE]);
    let (plan, code): (Value, i32) = env.json(&["erase", &id, "--dry-run"]);
    assert_eq!(code, 0, "{plan}");
    let steps = plan["plan"]["steps"].as_array().unwrap();
    for table in ["shop_invoice", "shop_payment"] {
        let of: Vec<&Value> = steps.iter().filter(|s| s["table"] == table && s["rows"].as_u64() > Some(0)).collect();
        assert!(!of.is_empty() && of.iter().all(|s| s["action"] == "delete"), "{table}: {of:?}");
        assert!(of.iter().all(|s| s["why"].as_str().unwrap().contains("fiscal hold has ended")), "{of:?}");
    }
    let (done, code): (Value, i32) = env.json(&["erase", &id, "--yes"]);
    assert_eq!(code, 0, "{done}");
    assert_eq!(count(&env, "SELECT count(*) FROM shop_invoice WHERE invoice_number IN ('FOF-70033', 'FOF-70036')"), 0);
    assert_eq!(count(&env, "SELECT count(*) FROM shop_payment WHERE invoice_id IN (11, 12)"), 0);
    let letter = env.messages(&id).into_iter().find(|m| m.subject.contains("Erasure")).expect("erasure letter");
    assert!(!letter.body.contains("AWR"), "no fiscal obligation is claimed:\n{}", letter.body);
    // Noor Hendriks's overdue invoice stays for the claim, no longer for the tax authority.
    let id = verified(&env, "erase", &["--email", "noor.hendriks@example.org"]);
    let (plan, _): (Value, i32) = env.json(&["erase", &id, "--dry-run"]);
    let unpaid: Vec<&Value> = plan["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["table"] == "shop_invoice" && s["action"] == "detach")
        .collect();
    assert!(!unpaid.is_empty(), "{plan}");
    for s in unpaid {
        assert_eq!(s["until"], "until settled", "{s}");
        assert!(!s["ground"].as_str().unwrap().contains("17(3)(b)"), "{s}");
    }
    env.dsr().args(["audit", "verify"]).assert().success();
}

#[test]
fn an_unpaid_invoice_is_kept_for_the_claim() {
    let env = Env::with_fixture("webshop");
    // Noor Hendriks (3) has an overdue invoice.
    let id = verified(&env, "erase", &["--email", "noor.hendriks@example.org"]);
    let (plan, code): (Value, i32) = env.json(&["erase", &id, "--dry-run"]);
    assert_eq!(code, 0, "{plan}");
    let steps = plan["plan"]["steps"].as_array().unwrap();
    let grounds: Vec<String> =
        steps.iter().filter(|s| s["table"] == "shop_invoice").map(|s| s["ground"].to_string()).collect();
    assert!(grounds.iter().any(|g| g.contains("17(3)(e)")), "{grounds:?}");
}

#[test]
fn a_rectified_delivery_address_is_told_to_the_carrier_only() {
    let env = Env::with_fixture("webshop");
    // Fleur Maas (9): parcels by PostNL to her default delivery address, paid through Mollie; its
    // postal code has two digits swapped.
    let id = verified(&env, "rectify", &["--customer", "FO-100009", "--set", "delivery_postal_code=2312 KP"]);
    let (done, code): (Value, i32) = env.json(&["rectify", &id, "--yes"]);
    assert_eq!(code, 0, "{done}");
    let told: Vec<&str> =
        done["recipients"].as_array().unwrap().iter().map(|r| r["recipient"].as_str().unwrap()).collect();
    assert_eq!(told, ["postnl"], "the carrier that has the address, not the payment provider nor another carrier");
    let postal: Vec<String> = env
        .sql()
        .prepare("SELECT postal_code FROM delivery_address WHERE customer_id = 109 ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(postal, ["2311 CW", "2312 KP"], "the default delivery address is corrected, the other kept");
}

#[test]
fn newsletter_only_subscribers_with_a_valid_consent_survive_retention() {
    let env = Env::with_fixture("webshop");
    let out = env.run(&["--json", "retention", "run"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(out.status.code(), Some(0), "{v}\n{}", stderr(&out));
    assert_eq!(v["failed"], 0, "{v}");
    // Emma Bos (5) and Julia Smits (7) signed up 3 and 6 years ago and never unsubscribed.
    for email in ["emma.bos@example.com", "julia.smits@example.nl"] {
        let (found, code): (Value, i32) = env.json(&["lookup", "--email", email]);
        assert_eq!(code, 0, "{email}: {found}");
        let consents = count(
            &env,
            &format!(
                "SELECT count(*) FROM consent c JOIN email_address e ON e.person_id = c.person_id
                 WHERE e.address = '{email}' AND c.purpose = 'newsletter' AND c.granted = 1"
            ),
        );
        assert_eq!(consents, 1, "{email}: the proof of consent stays while it is in force");
    }
    // The subscriber who unsubscribed 4 years ago: the proof of the withdrawal is kept 3 years.
    assert_eq!(count(&env, "SELECT count(*) FROM consent WHERE person_id = 6"), 0);
    // Retention did run: the profile of the account closed 3 years ago is gone, its invoices
    // (4 years old) stay under the fiscal hold, detached.
    assert_eq!(count(&env, "SELECT count(*) FROM person WHERE id = 4"), 0);
    assert_eq!(count(&env, "SELECT count(*) FROM shop_invoice WHERE id = 41 AND customer_id IS NULL"), 1);
}

#[test]
fn the_demo_runs_on_the_webshop_with_one_of_its_people() {
    let env = Env::new();
    let out = env.run(&["demo", "--fixture", "webshop", "--dir", "walk"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Sanne de Jong writes in") && text.contains("Audit trail verified"), "{text}");
    let db = env.path("walk/demo.sqlite");
    let conn = rusqlite::Connection::open(db).unwrap();
    let state: String =
        conn.query_row("SELECT state FROM request WHERE id = 'DSR-2026-0001'", [], |r| r.get(0)).unwrap();
    assert_eq!(state, "completed");
}

/// A company may give its own table the name of a built-in one (`invoice`): its store gets the
/// table as the file declares it, and none of the built-in tables the company does not use.
#[test]
fn a_table_of_its_own_named_like_a_built_in_one_is_made_as_declared() {
    let text = crate::register_check::fixture("webshop").replace("shop_invoice", "invoice");
    assert!(text.contains("name = \"invoice\""));
    let env = Env::new();
    std::fs::write(env.path("company.toml"), &text).unwrap();
    let out = env.run(&["register", "check", "company.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = env.run(&["init", "--register", "company.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let has = |table: &str, column: &str| {
        count(&env, &format!("SELECT count(*) FROM pragma_table_info('{table}') WHERE name = '{column}'")) == 1
    };
    assert!(has("invoice", "order_number"), "the declared invoice table, not the built-in one");
    assert!(!has("invoice", "quote_id"));
    let tables = |names: &str| {
        count(&env, &format!("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ({names})"))
    };
    assert_eq!(
        tables("'server_log', 'web_session', 'ticket', 'payment', 'dunning_event'"),
        0,
        "built-in tables it does not use are left out"
    );
    assert_eq!(
        tables("'person', 'customer', 'email_address', 'supplementary_statement'"),
        4,
        "those it uses, and dsr's own, stay"
    );
    assert_eq!(count(&env, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    // The map is the file, and the store fits it.
    assert_eq!(stdout(&env.run(&["register", "export"])), text);
    env.dsr().args(["doctor"]).assert().success();
}

/// The web shop with the delivery address's `city` declared of another category than its table;
/// with `notes`, that is a category of its own, going by mail only encrypted or not (payments
/// then do not).
fn with_city_of(category: &str, notes: Option<bool>) -> Env {
    let env = Env::with_fixture("webshop");
    let mut text = stdout(&env.run(&["register", "export"]));
    if let Some(encrypted) = notes {
        text = text.replacen("mail_encrypted = true\n", "", 1);
        let flag = if encrypted { "mail_encrypted = true\n" } else { "" };
        let notes = format!("[[category]]\ncode = \"notes\"\nname_en = \"Notes\"\nname_nl = \"Notities\"\ndescription_en = \"Notes.\"\ndescription_nl = \"Notities.\"\nprovenance = \"provided\"\nsource_en = \"You.\"\nsource_nl = \"Jijzelf.\"\nportable = true\n{flag}purposes = [\"delivery\"]\n\n");
        let first = text.find("[[category]]").unwrap();
        text = format!("{}{notes}{}", &text[..first], &text[first..]);
        // How long it is kept, as every category held must say (Art. 15(1)(d)).
        let rule = "[[retention]]\ncode = \"notes\"\ncategory = \"notes\"\ntable = \"delivery_address\"\nperiod_months = 24\nstarts_at = \"contract-end\"\ndescription_en = \"With the address.\"\ndescription_nl = \"Met het adres.\"\nset_by = \"fixture\"\njustification = \"As the address.\"\n\n";
        let first = text.find("[[retention]]").unwrap();
        text = format!("{}{rule}{}", &text[..first], &text[first..]);
    }
    let at = text.find("name = \"delivery_address\"").unwrap();
    let column = "name = \"city\"\ntype = \"text\"\nrequired = true\n";
    let from = at + text[at..].find(column).unwrap() + column.len();
    let changed = format!("{}category = \"{category}\"\n{}", &text[..from], &text[from..]);
    std::fs::write(env.path("changed.toml"), changed).unwrap();
    let out = env.run(&["register", "apply", "changed.toml", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    env
}

/// A column of a category that is not portable is left out of an Art. 20 export (not out of
/// an access answer); one of a category that goes by mail only encrypted makes the mailed
/// archive encrypted, as a table of that category does.
#[test]
fn a_column_s_own_category_decides_its_export_and_its_mail() {
    let env = with_city_of("invoices", None);
    let id = verified(&env, "export", &["--email", SANNE]);
    let out = env.run(&["export", &id, "--out", "sanne.zip"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut zip = zip::ZipArchive::new(std::fs::File::open(env.path("sanne.zip")).unwrap()).unwrap();
    let mut csv = String::new();
    zip.by_name("csv/delivery_address.csv").unwrap().read_to_string(&mut csv).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(header.contains("street") && !header.contains("city"), "{header}");
    let (answer, _): (Value, i32) = env.json(&["access", &verified(&env, "access", &["--email", SANNE])]);
    assert!(answer.to_string().contains("\"city\""), "an access answer holds it: {answer}");
    let env = with_city_of("notes", Some(false));
    let id = verified(&env, "export", &["--email", SANNE]);
    let out = env.run(&["export", &id, "--send"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("archive passphrase"), "nothing asks for encryption: {}", stderr(&out));
    let env = with_city_of("notes", Some(true));
    let id = verified(&env, "export", &["--email", SANNE]);
    let out = env.run(&["export", &id, "--send"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("archive passphrase"), "the column's category asks for it: {}", stderr(&out));
}

/// A newsletter-only subscriber's access answer: her address serves the newsletter she consented
/// to, not the handling of orders she never placed, and the order purposes' recipients (the
/// hosting of the shop, the carriers) are not named as having received her data.
#[test]
fn a_newsletter_only_subscriber_is_told_only_the_purposes_that_serve_her() {
    let env = Env::with_fixture("webshop");
    let id = verified(&env, "access", &["--email", "emma.bos@example.com"]);
    let (v, code): (Value, i32) = env.json(&["access", &id]);
    assert_eq!(code, 0, "{v}");
    let purposes: Vec<&str> = v["categories"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["purposes"].as_array().unwrap().iter().map(|p| p["code"].as_str().unwrap()))
        .collect();
    assert!(purposes.contains(&"newsletter"), "{purposes:?}");
    assert!(!purposes.iter().any(|p| ["order-fulfilment", "delivery"].contains(p)), "{purposes:?}");
    let because: Vec<String> = v["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["because"].as_array().unwrap().iter().map(|b| b.as_str().unwrap().to_owned()))
        .collect();
    assert!(!because.iter().any(|b| b.contains("order-fulfilment") || b.contains("delivery")), "{because:?}");
    assert!(because.iter().any(|b| b.contains("your consent to newsletter")), "{because:?}");
}

/// The run's `removed` is every row it removed, no more: a subscriber whose contract ended keeps
/// her person row for her consent (blanked, not removed), which is not counted as removed.
#[test]
fn retention_counts_the_rows_it_removed_and_not_a_subscriber_it_kept() {
    let env = Env::with_fixture("webshop");
    let tables: Vec<String> = {
        let conn = env.sql();
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    };
    let personal: Vec<&String> =
        tables.iter().filter(|t| !["audit_log", "store_meta", "suppression"].contains(&t.as_str())).collect();
    let rows =
        |env: &Env| -> i64 { personal.iter().map(|t| count(env, &format!("SELECT count(*) FROM \"{t}\""))).sum() };
    let before = rows(&env);
    let out = env.dsr().args(["--json", "retention", "run"]).env("DSR_NOW", "2028-01-10T02:00:00Z").output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(out.status.code(), Some(0), "{v}\n{}", stderr(&out));
    assert_eq!(v["removed"].as_i64(), Some(before - rows(&env)), "{v}");
}
