//! `dsr register`: the Art. 30 record, read from the store, with the differences between the
//! two controllers that design.md §2 lists.

use serde::Deserialize;

use crate::support::Env;

#[derive(Debug, Deserialize)]
struct Register {
    controller: Option<Controller>,
    purposes: Vec<Purpose>,
    categories: Vec<Category>,
    recipients: Vec<Recipient>,
    retention: Vec<Retention>,
    automated_decisions: Vec<Decision>,
    rights: Vec<Code>,
}
#[derive(Debug, Deserialize)]
struct Controller {
    name: String,
    kvk_number: Option<String>,
    complaint_authority: String,
}
#[derive(Debug, Deserialize)]
struct Purpose {
    code: String,
    name_en: String,
    legal_basis: String,
    direct_marketing: bool,
    withdraw_how_en: Option<String>,
}
#[derive(Debug, Deserialize)]
struct Category {
    code: String,
    tables: Vec<String>,
    purposes: Vec<String>,
}
#[derive(Debug, Deserialize)]
struct Recipient {
    code: String,
    country: String,
    outside_eea: bool,
    safeguards_en: String,
}
#[derive(Debug, Deserialize)]
struct Retention {
    category: String,
    period_months: i64,
    set_by: String,
    justification: String,
}
#[derive(Debug, Deserialize)]
struct Decision {
    steps: Vec<serde_json::Value>,
}
#[derive(Debug, Deserialize)]
struct Code {
    code: String,
}

fn register(fixture: &str) -> Register {
    let env = Env::with_fixture(fixture);
    let (r, code): (Register, i32) = env.json(&["register"]);
    assert_eq!(code, 0);
    r
}

#[test]
fn both_registers_describe_every_category_of_the_policies() {
    for fixture in crate::support::FIXTURES {
        let r = register(fixture);
        let c = r.controller.expect("controller");
        assert_eq!(c.complaint_authority, "Autoriteit Persoonsgegevens");
        for code in [
            "identity",
            "company",
            "email",
            "phone",
            "login",
            "ip-history",
            "payment",
            "invoices",
            "dunning",
            "services",
            "domains",
            "applications",
            "cookies-consents",
            "server-logs",
            "crash-data",
            "tickets",
            "disclosures",
        ] {
            let cat = r.categories.iter().find(|x| x.code == code).unwrap_or_else(|| panic!("{fixture}: {code}"));
            assert!(!cat.tables.is_empty() && !cat.purposes.is_empty(), "{fixture}: {code} has tables and purposes");
            assert!(r.retention.iter().any(|x| x.category == code), "{fixture}: {code} has a retention rule");
        }
        for rule in &r.retention {
            assert!(!rule.justification.is_empty());
        }
        let crash = r.retention.iter().find(|x| x.category == "crash-data").unwrap();
        assert_eq!((crash.period_months, crash.set_by.as_str()), (3, "policy"));
        let apps = r.retention.iter().find(|x| x.category == "applications").unwrap();
        assert_eq!((apps.period_months, apps.set_by.as_str()), (12, "policy"));
        let invoices = r.retention.iter().find(|x| x.category == "invoices").unwrap();
        assert_eq!((invoices.period_months, invoices.set_by.as_str()), (84, "law"));
        for code in [
            "paypal",
            "ideal",
            "police",
            "sidn",
            "google-analytics",
            "google-recaptcha",
            "research-agency",
            "group-companies",
        ] {
            assert!(r.recipients.iter().any(|x| x.code == code), "{fixture}: recipient {code}");
        }
        let ga = r.recipients.iter().find(|x| x.code == "google-analytics").unwrap();
        assert!(ga.outside_eea && ga.country == "US" && !ga.safeguards_en.is_empty());
        assert_eq!(r.automated_decisions.len(), 1);
        assert!(r.automated_decisions[0].steps.len() >= 4);
        assert!(r.rights.iter().any(|x| x.code == "complaint"));
        for p in &r.purposes {
            if p.legal_basis == "consent" {
                assert!(p.withdraw_how_en.is_some(), "{fixture}: {} says how to withdraw", p.code);
            }
        }
        for code in ["newsletter", "tailored-ads", "group-marketing"] {
            assert!(r.purposes.iter().any(|p| p.code == code && p.direct_marketing), "{fixture}: {code}");
        }
    }
}

#[test]
fn the_registers_differ_where_the_policies_do() {
    let vs = register("voordelig-streamen");
    let virtio = register("virtio");
    assert_eq!(virtio.controller.as_ref().unwrap().kvk_number.as_deref(), Some("76181553"));
    assert_eq!(vs.controller.as_ref().unwrap().name, "Voordelig Streamen");
    let crash = |r: &Register| r.purposes.iter().find(|p| p.code == "crash-analysis").unwrap().clone_fields();
    let (vs_name, vs_how) = crash(&vs);
    let (v_name, v_how) = crash(&virtio);
    assert!(vs_name.contains("streaming"), "{vs_name}");
    assert!(vs_how.contains("billing"), "{vs_how}");
    assert!(v_name.contains("interface app"), "{v_name}");
    assert!(v_how.contains("settings"), "{v_how}");
    assert!(virtio.purposes.iter().any(|p| p.code == "personalised-promotions" && p.direct_marketing));
    assert!(!vs.purposes.iter().any(|p| p.code == "personalised-promotions"));
}

impl Purpose {
    fn clone_fields(&self) -> (String, String) {
        (self.name_en.clone(), self.withdraw_how_en.clone().unwrap_or_default())
    }
}

#[test]
fn the_human_register_shows_the_art_30_parts() {
    let env = Env::with_fixture("virtio");
    let out = env.run(&["register"]);
    let text = String::from_utf8_lossy(&out.stdout);
    for part in [
        "Purposes",
        "Categories and retention",
        "Recipients",
        "Automated decision",
        "Rights",
        "Autoriteit Persoonsgegevens",
    ] {
        assert!(text.contains(part), "missing {part}");
    }
}
