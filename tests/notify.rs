//! Art. 19: the recipients to tell follow the data concerned; `dsr request notified` records proof
//! or disproportionate effort; `dsr request list --to-notify` lists what is still open, including
//! after a restriction is lifted and after an Art. 22 review reverses the dunning decision.

use serde::Deserialize;

use crate::support::{self, Env};

#[derive(Debug, Deserialize)]
struct Notification {
    recipient: String,
    what: String,
    state: String,
    reference: Option<String>,
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Applied {
    recipients: Vec<Notification>,
}

#[derive(Debug, Deserialize)]
struct Open {
    request: String,
    right: String,
    recipient: String,
    what: String,
    state: String,
    listed_at: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ToNotify {
    to_notify: Vec<Open>,
}

fn verified(env: &Env, right: &str, args: &[&str]) -> String {
    let o = env.open(right, args);
    let code = env.code(&o.request);
    env.dsr().args(["verify", &o.request, &code]).assert().success();
    o.request
}

fn apply(env: &Env, args: &[&str]) -> Applied {
    let (v, code): (serde_json::Value, i32) = env.json(args);
    assert_eq!(code, 0, "{args:?}: {v}");
    serde_json::from_value(v).expect("an applied request with its recipients")
}

fn codes(list: &[Notification]) -> Vec<&str> {
    list.iter().map(|n| n.recipient.as_str()).collect()
}

fn to_notify(env: &Env) -> Vec<Open> {
    let (list, code): (ToNotify, i32) = env.json(&["request", "list", "--to-notify"]);
    assert_eq!(code, 0);
    list.to_notify
}

/// A customer paying by iDEAL who consented to Google Analytics: iDEAL receives payment data,
/// Google Analytics cookie and log data, the group companies name and email.
fn ideal_customer_with_analytics(env: &Env) -> String {
    env.sql()
        .query_row(
            "SELECT c.customer_number FROM customer c JOIN payment_method p ON p.customer_id = c.id
             WHERE p.provider = 'ideal' AND EXISTS (SELECT 1 FROM consent k WHERE k.person_id = c.person_id AND k.purpose = 'analytics' AND k.granted = 1)
             LIMIT 1",
            [],
            |r| r.get(0),
        )
        .expect("the fixture has an iDEAL customer with analytics consent")
}

#[test]
fn recipients_to_notify_are_those_that_received_the_categories_concerned() {
    let env = Env::with_fixture("virtio");
    let number = ideal_customer_with_analytics(&env);

    // A new city (identity) goes to the group companies, not to Google Analytics or iDEAL.
    let id = verified(&env, "rectify", &["--customer", &number, "--set", "city=Zwolle"]);
    let told = apply(&env, &["rectify", &id, "--yes"]).recipients;
    assert!(codes(&told).contains(&"group-companies"), "{:?}", codes(&told));
    assert!(!codes(&told).contains(&"google-analytics"), "a new city is not sent to Google Analytics");
    assert!(!codes(&told).contains(&"ideal"), "nor to the payment provider");

    // A corrected IBAN (payment) goes to iDEAL only.
    let id = verified(&env, "rectify", &["--customer", &number, "--set", "iban=NL91ABNA0417164300"]);
    assert_eq!(codes(&apply(&env, &["rectify", &id, "--yes"]).recipients), ["ideal"]);

    // A restriction of cookie data goes to Google Analytics only.
    let restricted =
        verified(&env, "restrict", &["--customer", &number, "--ground", "unlawful", "--category", "cookies-consents"]);
    let told = apply(&env, &["restrict", &restricted, "--yes"]).recipients;
    assert_eq!(codes(&told), ["google-analytics"]);
    assert!(told[0].what.contains("Restriction"));
}

#[test]
fn erasure_tells_the_recipients_of_the_erased_categories_only() {
    let env = Env::with_fixture("virtio");
    let number = ideal_customer_with_analytics(&env);
    // Let iDEAL receive invoice data only: the invoices are kept for the tax authorities, not erased.
    env.sql()
        .execute("DELETE FROM recipient_category WHERE recipient = 'ideal' AND category <> 'invoices'", [])
        .unwrap();
    let id = verified(&env, "erase", &["--customer", &number]);
    let told = apply(&env, &["erase", &id, "--yes"]).recipients;
    assert!(codes(&told).contains(&"google-analytics"), "cookies were erased: {:?}", codes(&told));
    assert!(!codes(&told).contains(&"ideal"), "nothing iDEAL received was erased: {:?}", codes(&told));
    assert!(told.iter().all(|n| n.what.contains("Erasure")));
}

#[test]
fn a_disclosure_counts_only_the_categories_disclosed() {
    let env = Env::with_fixture("virtio");
    let (number, disclosed): (String, String) = env
        .sql()
        .query_row(
            "SELECT c.customer_number, d.categories FROM disclosure d JOIN customer c ON c.person_id = d.person_id WHERE d.recipient = 'police' LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(!disclosed.contains("server-logs"), "the register lets the police receive logs; this demand had none");
    let id = verified(&env, "restrict", &["--customer", &number, "--ground", "unlawful", "--category", "server-logs"]);
    assert!(!codes(&apply(&env, &["restrict", &id, "--yes"]).recipients).contains(&"police"));
    let id = verified(&env, "restrict", &["--customer", &number, "--ground", "unlawful", "--category", "phone"]);
    assert!(codes(&apply(&env, &["restrict", &id, "--yes"]).recipients).contains(&"police"));
}

#[test]
fn notified_records_proof_or_disproportionate_effort_and_the_open_list_shrinks() {
    let env = Env::with_fixture("virtio");
    let number = ideal_customer_with_analytics(&env);
    let id = verified(&env, "restrict", &["--customer", &number, "--ground", "accuracy-contested"]);
    apply(&env, &["restrict", &id, "--yes"]);
    let open = to_notify(&env);
    let mine: Vec<&Open> = open.iter().filter(|o| o.request == id).collect();
    assert_eq!(mine.len(), 3, "{open:?}");
    assert!(mine.iter().all(|o| o.right == "restrict" && o.state == "to-notify" && o.listed_at.is_some()));

    // Proof is required: a reference, or --impossible with a reason.
    for bad in [
        vec!["request", "notified", &id, "--recipient", "ideal"],
        vec!["request", "notified", &id, "--recipient", "ideal", "--impossible"],
        vec!["request", "notified", &id, "--recipient", "ideal", "--ref", " "],
        vec!["request", "notified", &id, "--recipient", "nobody", "--ref", "x"],
    ] {
        let out = env.run(&bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", support::stderr(&out));
    }
    let (done, code): (serde_json::Value, i32) =
        env.json(&["request", "notified", &id, "--recipient", "ideal", "--ref", "iDEAL case 4411"]);
    assert_eq!(code, 0, "{done}");
    assert_eq!(done["still_to_notify"], 2);
    let reason = "The group companies keep no copy of the address; nothing to correct there.";
    env.dsr()
        .args(["request", "notified", &id, "--recipient", "group-companies", "--impossible", "--reason", reason])
        .assert()
        .success();
    let again = env.run(&["request", "notified", &id, "--recipient", "ideal", "--ref", "again"]);
    assert_eq!(again.status.code(), Some(9), "nothing left to tell iDEAL");
    support::assert_one_line_error(&again);

    let (shown, _): (serde_json::Value, i32) = env.json(&["request", "show", &id]);
    let list: Vec<Notification> = serde_json::from_value(shown["recipients"].clone()).unwrap();
    let ideal = list.iter().find(|n| n.recipient == "ideal").unwrap();
    assert_eq!((ideal.state.as_str(), ideal.reference.as_deref()), ("notified", Some("iDEAL case 4411")));
    let group = list.iter().find(|n| n.recipient == "group-companies").unwrap();
    assert_eq!((group.state.as_str(), group.reason.as_deref()), ("impossible", Some(reason)));
    let open: Vec<String> = to_notify(&env).into_iter().filter(|o| o.request == id).map(|o| o.recipient).collect();
    assert_eq!(open, ["google-analytics"]);

    // The table shows the same open notification.
    let out = env.run(&["request", "list", "--to-notify"]);
    assert_eq!(out.status.code(), Some(0));
    let table = support::stdout(&out);
    assert!(table.contains(&id) && table.contains("google-analytics") && !table.contains("group-companies"), "{table}");
}

#[test]
fn lifting_a_restriction_puts_its_recipients_back_on_the_list() {
    let mut env = Env::with_fixture("virtio");
    env.now = Some("2026-11-02T09:00:00Z".into());
    let number = ideal_customer_with_analytics(&env);
    let id =
        verified(&env, "restrict", &["--customer", &number, "--ground", "unlawful", "--category", "cookies-consents"]);
    apply(&env, &["restrict", &id, "--yes"]);
    env.dsr().args(["request", "notified", &id, "--recipient", "google-analytics", "--ref", "GA-1"]).assert().success();
    assert!(to_notify(&env).iter().all(|o| o.request != id), "all told");
    env.dsr()
        .args([
            "restrict",
            "--lift",
            &id,
            "--reason",
            "The processing was found lawful.",
            "--reason-nl",
            "De verwerking bleek rechtmatig.",
        ])
        .assert()
        .success();
    // The lift takes effect after the Art. 18(3) notice period; the nightly run carries it out.
    env.now = Some("2026-11-10T09:00:00Z".into());
    env.dsr().args(["retention", "run"]).assert().success();
    let open: Vec<Open> = to_notify(&env).into_iter().filter(|o| o.request == id).collect();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].recipient, "google-analytics");
    assert!(open[0].what.contains("lifted"), "{}", open[0].what);
    let (shown, _): (serde_json::Value, i32) = env.json(&["request", "show", &id]);
    let states: Vec<String> = serde_json::from_value::<Vec<Notification>>(shown["recipients"].clone())
        .unwrap()
        .into_iter()
        .map(|n| n.state)
        .collect();
    assert_eq!(states, ["notified", "to-notify"], "the restriction told, its lifting still to tell");
}

#[derive(Debug, Deserialize)]
struct RegisterRecipient {
    code: String,
    name: String,
    received_via: String,
    categories: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Register {
    recipients: Vec<RegisterRecipient>,
}

#[test]
fn a_reversed_dunning_decision_recalls_the_claim_from_the_named_collection_agency() {
    for fixture in support::FIXTURES {
        let env = Env::with_fixture(fixture);
        let (register, _): (Register, i32) = env.json(&["register"]);
        let agency = register.recipients.iter().find(|r| r.code == "collection-agency").expect("the agency is listed");
        assert_eq!(agency.received_via, "dunning-step", "{fixture}");
        assert!(agency.name.contains("B.V."), "{fixture}: named, not a category: {}", agency.name);
        for c in ["identity", "invoices", "dunning"] {
            assert!(agency.categories.iter().any(|x| x == c), "{fixture}: the agency receives {c}");
        }
        for r in &register.recipients {
            let name = r.name.to_lowercase();
            assert!(
                !["agencies", "companies", "bureaus"].iter().any(|kind| name.contains(kind)),
                "{fixture}: C-154/21 names the recipient, not a category: {}",
                r.name
            );
        }

        // Only a person whose claim was handed over reaches the agency.
        let other: String = env
            .sql()
            .query_row(
                "SELECT customer_number FROM customer c WHERE NOT EXISTS (SELECT 1 FROM dunning_event d JOIN invoice i ON i.id = d.invoice_id
                 WHERE i.customer_id = c.id AND d.step = 'collection') LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let id = verified(&env, "restrict", &["--customer", &other, "--ground", "unlawful"]);
        assert!(!codes(&apply(&env, &["restrict", &id, "--yes"]).recipients).contains(&"collection-agency"));

        let number: String = env
            .sql()
            .query_row(
                "SELECT c.customer_number FROM dunning_event d JOIN invoice i ON i.id = d.invoice_id JOIN customer c ON c.id = i.customer_id
                 WHERE d.step = 'collection' LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let id = verified(&env, "object", &["--customer", &number, "--purpose", "dunning"]);
        assert!(apply(&env, &["object", &id, "--yes"]).recipients.is_empty(), "nothing to tell while the review runs");
        let told = apply(&env, &["object", "--decide", &id, "--uphold"]).recipients;
        assert_eq!(codes(&told), ["collection-agency"], "{fixture}");
        assert!(told[0].what.contains("Recall the claim"), "{}", told[0].what);
        let open = to_notify(&env);
        assert!(
            open.iter().any(|o| o.request == id && o.right == "object" && o.recipient == "collection-agency"),
            "{fixture}: {open:?}"
        );
        let answer = env.messages(&id).into_iter().last().expect("the decision is answered");
        assert!(answer.body.contains(&agency.name), "the person learns who is told:\n{}", answer.body);
    }
}

#[test]
fn erasing_a_person_whose_claim_is_in_collection_tells_the_agency_to_keep_only_the_claim() {
    let env = Env::with_fixture("virtio");
    let number: String = env
        .sql()
        .query_row(
            "SELECT c.customer_number FROM dunning_event d JOIN invoice i ON i.id = d.invoice_id JOIN customer c ON c.id = i.customer_id
             WHERE d.step = 'collection' AND i.status IN ('open', 'overdue', 'collection') LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let id = verified(&env, "erase", &["--customer", &number]);
    let told = apply(&env, &["erase", &id, "--yes"]).recipients;
    let agency = told.iter().find(|n| n.recipient == "collection-agency").expect("the agency holds the claim");
    assert!(agency.what.contains("Art. 17(3)(e)") && agency.what.contains("until it is settled"), "{}", agency.what);
}

/// The officer's proof of telling a recipient may name the person; it goes with the person's
/// erasure like every officer's text about the person's requests. The record that the recipient
/// was told stays.
#[test]
fn an_erasure_erases_the_references_and_reasons_of_the_persons_notifications() {
    let env = Env::with_fixture("virtio");
    let number = ideal_customer_with_analytics(&env);
    let id = verified(&env, "restrict", &["--customer", &number, "--ground", "accuracy-contested"]);
    apply(&env, &["restrict", &id, "--yes"]);
    let said = "called Jansen on 0612345678 about this";
    env.dsr().args(["request", "notified", &id, "--recipient", "ideal", "--ref", said]).assert().success();
    let why = "the group companies keep nothing of Jansen";
    env.dsr()
        .args(["request", "notified", &id, "--recipient", "group-companies", "--impossible", "--reason", why])
        .assert()
        .success();
    let erase = verified(&env, "erase", &["--customer", &number]);
    let out = env.run(&["erase", &erase, "--yes"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let kept: Vec<(String, String, Option<String>, Option<String>)> = env
        .sql()
        .prepare(
            "SELECT recipient, state, reference, reason FROM notification WHERE request_id = ?1 ORDER BY recipient",
        )
        .unwrap()
        .query_map([&id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let by = |code: &str| kept.iter().find(|k| k.0 == code).unwrap().clone();
    assert_eq!(by("ideal").1, "notified");
    assert_eq!(by("ideal").2.as_deref(), Some("(erased)"));
    assert_eq!(
        (by("group-companies").1.as_str(), by("group-companies").3.as_deref()),
        ("impossible", Some("(erased)"))
    );
    let bytes = std::fs::read(&env.db).unwrap();
    for text in [said, why] {
        assert!(!bytes.windows(text.len()).any(|w| w == text.as_bytes()), "{text:?} is left in the store file");
    }
}
