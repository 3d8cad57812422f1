//! Rectification, the recipients of a person's data, the processing check and objection follow
//! the store's data map: a store whose map differs from the built-in one (a renamed field,
//! another validator, another recipient column, no opt-in flag) behaves as its map says. The map
//! is changed in place here (`map_table`, one entry per table); a company changes it through its
//! company file.

use rusqlite::params;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::support::{self, Env};

/// Change the map entry of `table` in the store.
fn remap(env: &Env, table: &str, change: impl FnOnce(&mut Value)) {
    let conn = env.sql();
    let spec: String =
        conn.query_row("SELECT spec FROM map_table WHERE name = ?1", [table], |r| r.get(0)).expect("a map entry");
    let mut entry: Value = serde_json::from_str(&spec).unwrap();
    change(&mut entry);
    conn.execute("UPDATE map_table SET spec = ?2 WHERE name = ?1", params![table, entry.to_string()]).unwrap();
}

fn verified(env: &Env, right: &str, args: &[&str]) -> String {
    let o = env.open(right, args);
    let code = env.code(&o.request);
    env.dsr().args(["verify", &o.request, &code]).assert().success();
    o.request
}

const JAN: &str = "jan.devries@example.nl";

#[test]
fn a_field_is_rectified_by_the_name_and_validator_the_map_gives_it() {
    let env = Env::with_fixture("virtio");
    remap(&env, "person", |t| {
        for f in t["rectify"].as_array_mut().unwrap() {
            if f["field"] == "city" {
                // No validator: free text.
                *f = json!({"field": "town", "column": "city", "label": "town or village", "name_nl": "woonplaats of dorp"});
            }
            if f["field"] == "postal_code" {
                f["validator"] = json!("text");
            }
        }
    });
    let help = support::stdout(&env.run(&["rectify", "--help"]));
    assert!(help.contains("town            town or village"), "{help}");
    assert!(!help.contains("  city "), "{help}");
    // The built-in name is unknown to this map; the error lists the map's fields.
    let out = env.run(&["rectify", "--email", JAN, "--set", "city=Amsterdam"]);
    assert_eq!(out.status.code(), Some(2));
    support::assert_one_line_error(&out);
    assert!(support::stderr(&out).contains("town"), "{}", support::stderr(&out));
    // A postal code the built-in validator refuses is text in this map.
    let id = verified(&env, "rectify", &["--email", JAN, "--set", "town=Amsterdam", "--set", "postal_code=AMS-1"]);
    let (v, code): (Value, i32) = env.json(&["rectify", &id, "--yes"]);
    assert_eq!(code, 0, "{v}");
    let fields: Vec<&str> =
        v["outcome"]["changes"].as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["town", "postal_code"]);
    let (city, postal): (String, String) = env
        .sql()
        .query_row(
            "SELECT city, postal_code FROM person p JOIN email_address e ON e.person_id = p.id WHERE e.address = ?1",
            [JAN],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((city.as_str(), postal.as_str()), ("Amsterdam", "AMS-1"));
    // The answer names the fields as the map does, in Dutch and English.
    let answer = env.messages(&id).into_iter().find(|m| m.subject.contains("Rectification")).expect("the answer");
    assert!(answer.body.contains("gecorrigeerd: woonplaats of dorp, postcode."), "{}", answer.body);
    assert!(answer.body.contains("we corrected: town, postal code."), "{}", answer.body);
}

#[derive(Debug, Deserialize)]
struct Answer {
    recipients: Vec<Recipient>,
}

#[derive(Debug, Deserialize)]
struct Recipient {
    code: String,
    because: Vec<String>,
}

fn recipients(env: &Env, customer: &str) -> Vec<Recipient> {
    let id = verified(env, "access", &["--customer", customer]);
    let (answer, code): (Answer, i32) = env.json(&["access", &id]);
    assert_eq!(code, 0);
    answer.recipients
}

#[test]
fn the_recipients_of_a_person_s_data_are_those_the_map_s_links_name() {
    let env = Env::with_fixture("virtio");
    let conn = env.sql();
    let payer = |kind: &str| -> String {
        conn.query_row(
            "SELECT c.customer_number FROM customer c JOIN payment_method p ON p.customer_id = c.id
             WHERE p.kind = ?1 AND NOT EXISTS (SELECT 1 FROM payment_method q WHERE q.customer_id = c.id AND q.kind <> ?1)
             ORDER BY c.id LIMIT 1",
            [kind],
            |r| r.get(0),
        )
        .unwrap()
    };
    let (paypal, sepa) = (payer("paypal"), payer("sepa-debit"));
    let registrant: String = conn
        .query_row("SELECT c.customer_number FROM domain d JOIN customer c ON c.id = d.customer_id LIMIT 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    // This company's payment methods name the recipient in `kind`, with the date they were set up;
    // its domains name none.
    remap(&env, "payment_method", |t| {
        t["recipient"] = json!([{"column": "kind", "because": "paid by {kind} since {created_at:date}"}]);
    });
    remap(&env, "domain", |t| {
        t.as_object_mut().unwrap().remove("recipient");
    });
    let found = recipients(&env, &paypal);
    let by_paypal = found.iter().find(|r| r.code == "paypal").expect("PayPal named through the kind column");
    assert!(by_paypal.because[0].starts_with("paid by paypal since 20"), "{:?}", by_paypal.because);
    // A direct debit handled by iDEAL: `sepa-debit` names no recipient of the register.
    assert!(!recipients(&env, &sepa).iter().any(|r| r.code == "ideal"), "the provider column is not this map's");
    let found = recipients(&env, &registrant);
    assert!(
        !found.iter().any(|r| ["sidn", "eurid", "verisign"].contains(&r.code.as_str())),
        "domains name no registry here"
    );
}

#[derive(Debug, Deserialize)]
struct Verdict {
    allowed: bool,
    reason: Option<String>,
}

#[test]
fn without_an_opt_in_flag_in_the_map_the_newsletter_rests_on_the_consent_records_alone() {
    let env = Env::with_fixture("virtio");
    remap(&env, "email_address", |t| {
        t.as_object_mut().unwrap().remove("opt_in");
    });
    // Pieter's other addresses were never opted in, but his consent covers him in this map.
    let (v, code): (Verdict, i32) = env.json(&["check", "--purpose", "newsletter", "--email", "p.vdberg@example.org"]);
    assert!(v.allowed && code == 0, "{v:?}");
    // An opted-in address without any consent record has none.
    let (v, code): (Verdict, i32) =
        env.json(&["check", "--purpose", "newsletter", "--email", "noor@vosvertalingen.example"]);
    assert_eq!((v.allowed, v.reason.as_deref(), code), (false, Some("consent-missing"), 20));
    let input = "alerts@vdberg-it.example\np.vdberg@example.org\nnoor@vosvertalingen.example\n";
    let out = env.dsr().args(["check", "--purpose", "newsletter", "--stdin"]).write_stdin(input).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
    assert_eq!(support::stdout(&out), "alerts@vdberg-it.example\np.vdberg@example.org\n");
    // An objection records the withdrawal in the consent records and leaves the column alone:
    // for this map it is no opt-in flag.
    let id = verified(&env, "object", &["--email", JAN, "--purpose", "newsletter"]);
    let (v, code): (Value, i32) = env.json(&["object", &id, "--yes"]);
    assert_eq!(code, 0, "{v}");
    let conn = env.sql();
    let flag: i64 =
        conn.query_row("SELECT newsletter_opt_in FROM email_address WHERE address = ?1", [JAN], |r| r.get(0)).unwrap();
    assert_eq!(flag, 1);
    let (granted, source): (i64, String) = conn
        .query_row(
            "SELECT c.granted, c.source FROM consent c JOIN email_address e ON e.person_id = c.person_id
             WHERE e.address = ?1 AND c.purpose = 'newsletter' ORDER BY c.recorded_at DESC, c.id DESC LIMIT 1",
            [JAN],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((granted, source.as_str()), (0, "dsr"));
    let (v, _): (Verdict, i32) = env.json(&["check", "--purpose", "newsletter", "--email", JAN]);
    assert!(!v.allowed);
}

/// Art. 19 tells each recipient of the rectification of the data it received, and of no other:
/// the carrier gets the new delivery postcode and email address, the payment provider (identity
/// and payments only) nothing, the hosting party (contact, not delivery) only the address.
#[test]
fn each_recipient_is_told_of_the_rectified_fields_of_the_categories_it_received() {
    let env = Env::with_fixture_at("webshop", "2026-11-02T09:00:00Z");
    let customer = "FO-100009";
    let id = verified(
        &env,
        "rectify",
        &["--customer", customer, "--set", "delivery_postal_code=2312 KP", "--set", "email=fleur.nieuw@example.nl"],
    );
    let out = env.run(&["rectify", &id, "--yes"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let told: Vec<(String, String)> = env
        .sql()
        .prepare("SELECT recipient, what FROM notification WHERE request_id = ?1 ORDER BY recipient")
        .unwrap()
        .query_map([&id], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let what = |code: &str| told.iter().find(|(r, _)| r == code).map(|(_, w)| w.as_str());
    let carrier = told.iter().find(|(r, _)| r == "postnl" || r == "dhl").map(|(_, w)| w.as_str());
    assert_eq!(
        carrier,
        Some("Rectification (Art. 16) of: delivery_postal_code, email. Correct the data you received from us."),
        "{told:?}"
    );
    assert_eq!(
        what("hosting"),
        Some("Rectification (Art. 16) of: email. Correct the data you received from us."),
        "{told:?}"
    );
    assert_eq!(what("mollie"), None, "the payment provider received neither: {told:?}");
}
