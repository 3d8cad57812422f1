//! The access flow end to end: open, code to the address on file, verify, answer (Art. 15).

use std::os::unix::fs::PermissionsExt;

use serde::Deserialize;
use serde_json::Value;

use crate::support::{self, Env};

#[derive(Debug, Deserialize)]
struct Answer {
    format_version: u32,
    request: AnswerRequest,
    controller: Value,
    person: Value,
    categories: Vec<Category>,
    recipients: Vec<Recipient>,
    transfers_outside_eea: Vec<Value>,
    automated_decisions: Vec<Decision>,
    rights: Vec<Value>,
    complaint: Complaint,
}
#[derive(Debug, Deserialize)]
struct AnswerRequest {
    id: String,
    right: String,
}
#[derive(Debug, Deserialize)]
struct Category {
    code: String,
    purposes: Vec<Value>,
    retention: Vec<Value>,
    source_en: String,
    tables: Vec<Table>,
}
#[derive(Debug, Deserialize)]
struct Table {
    table: String,
    rows: Vec<serde_json::Map<String, Value>>,
}
#[derive(Debug, Deserialize)]
struct Recipient {
    code: String,
    country: String,
    because: Vec<String>,
}
#[derive(Debug, Deserialize)]
struct Decision {
    logic_en: String,
    consequences_en: String,
    applied_to_you: u64,
}
#[derive(Debug, Deserialize)]
struct Complaint {
    authority: String,
}

impl Answer {
    fn table(&self, name: &str) -> Vec<&serde_json::Map<String, Value>> {
        self.categories.iter().flat_map(|c| &c.tables).filter(|t| t.table == name).flat_map(|t| &t.rows).collect()
    }
}

/// Open, read the code from the outbox, verify, answer.
fn verified_answer(env: &Env, who: &[&str]) -> (String, Answer) {
    let opened = env.open("access", who);
    let code = env.code(&opened.request);
    env.dsr().args(["verify", &opened.request, &code]).assert().success();
    let (answer, code): (Answer, i32) = env.json(&["access", &opened.request]);
    assert_eq!(code, 0);
    (opened.request, answer)
}

#[test]
fn the_full_access_flow_through_the_outbox() {
    let env = Env::with_fixture("virtio");
    let opened = env.open("access", &["--email", "Jan.DeVries@Example.NL"]);
    assert!(opened.request.starts_with("DSR-") && opened.new);
    assert_eq!(opened.state, "awaiting-verification");
    // The message: to the address on file, in Dutch and English, naming the controller and the right.
    let mails = env.messages(&opened.request);
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.to, vec!["jan.devries@example.nl".to_owned()]);
    assert_eq!(mail.from, vec!["support@virtio.nl".to_owned()]);
    for text in [
        "Virtio ICT B.V.",
        "inzage",
        "access to your personal data",
        "Art. 15",
        "niet gedaan",
        "not make this request",
        "(Nederlandse tijd, CE",
        "(Amsterdam time, CE",
    ] {
        assert!(mail.body.contains(text), "message lacks {text:?}:\n{}", mail.body);
    }
    let mode = std::fs::metadata(&mail.path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let code = mail.code().unwrap();
    // The code is relayed case-insensitively and without the separator.
    env.dsr().args(["verify", &opened.request, &code.replace('-', "").to_lowercase()]).assert().success();
    let (answer, exit): (Answer, i32) = env.json(&["access", &opened.request]);
    assert_eq!(exit, 0);
    assert_eq!(answer.format_version, 1);
    assert_eq!(answer.request.id, opened.request);
    assert_eq!(answer.request.right, "access");
    assert_eq!(answer.controller["name"], "Virtio ICT B.V.");
    assert!(answer.person["records"].as_u64().unwrap() > 5);
    let emails = answer.table("email_address");
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0]["address"], "jan.devries@example.nl");
    assert!(emails[0].get("address_norm").is_none());
    for c in &answer.categories {
        assert!(
            !c.purposes.is_empty() && !c.retention.is_empty() && !c.source_en.is_empty(),
            "{} lacks Art. 15 items",
            c.code
        );
    }
    assert!(!answer.rights.is_empty());
    assert_eq!(answer.complaint.authority, "Autoriteit Persoonsgegevens");
    assert!(answer.automated_decisions[0].logic_en.contains("reminder"));
    assert!(!answer.automated_decisions[0].consequences_en.is_empty());
    // Prepared, not delivered: only --send (or a recorded hand-over) completes it.
    let (shown, _): (Value, i32) = env.json(&["request", "show", &opened.request]);
    assert_eq!(shown["state"], "verified");
    env.dsr().args(["access", &opened.request, "--send"]).assert().success();
    let (shown, _): (Value, i32) = env.json(&["request", "show", &opened.request]);
    assert_eq!(shown["state"], "completed");
    let actions: Vec<&str> =
        shown["timeline"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for a in
        ["request-opened", "code-sent", "mail-sent", "code-tried", "request-verified", "disclosed", "request-completed"]
    {
        assert!(actions.contains(&a), "timeline lacks {a}: {actions:?}");
    }
    env.dsr().args(["audit", "verify"]).assert().success();
}

#[test]
fn a_password_hash_is_never_disclosed_only_its_existence() {
    let env = Env::with_fixture("virtio");
    let stored: String = env
        .sql()
        .query_row("SELECT password_hash FROM login_account WHERE customer_id = (SELECT id FROM customer WHERE customer_number = 'V204117')", [], |r| r.get(0))
        .unwrap();
    let (id, answer) = verified_answer(&env, &["--customer", "V204117"]);
    let logins = answer.table("login_account");
    assert_eq!(logins.len(), 1);
    assert!(logins[0]["password_hash"].as_str().unwrap().contains("never disclosed"));
    let json = env.run(&["--json", "access", &id]);
    assert!(!support::stdout(&json).contains(&stored));
    let human = env.run(&["access", &id]);
    assert!(!support::stdout(&human).contains(&stored));
    assert!(support::stdout(&human).contains("never disclosed"));
}

#[test]
fn an_unverified_request_discloses_nothing_and_exits_5() {
    let env = Env::with_fixture("virtio");
    let opened = env.open("access", &["--email", "jan.devries@example.nl"]);
    for args in [vec!["access", opened.request.as_str()], vec!["--json", "access", opened.request.as_str()]] {
        let out = env.run(&args);
        assert_eq!(out.status.code(), Some(5));
        if args[0] == "--json" {
            // Only the error document: no data.
            let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(doc["error"]["kind"], "not-verified");
            assert_eq!(doc.as_object().unwrap().len(), 2, "format_version and error only: {doc}");
        } else {
            assert!(out.stdout.is_empty(), "nothing on stdout");
        }
        support::assert_one_line_error(&out);
    }
    let out = env.run(&["access", &opened.request, "--out", "answer.json"]);
    assert_eq!(out.status.code(), Some(5));
    assert!(!env.path("answer.json").exists());
    let disclosed: i64 =
        env.sql().query_row("SELECT count(*) FROM audit_log WHERE action = 'disclosed'", [], |r| r.get(0)).unwrap();
    assert_eq!(disclosed, 0);
}

#[test]
fn the_acknowledgement_is_the_same_whether_or_not_the_address_is_known() {
    let env = Env::with_fixture("virtio");
    let known = env.open("access", &["--email", "jan.devries@example.nl"]);
    let unknown = env.open("access", &["--email", "nobody.here@example.nl"]);
    let strip = |o: &support::Opened| {
        (
            o.right.clone(),
            o.state.clone(),
            o.received_on.clone(),
            o.due_on.clone(),
            o.new,
            o.message.replace(&o.request, "ID"),
        )
    };
    assert_eq!(strip(&known), strip(&unknown));
    // The unknown address gets no code, only the Art. 15(1) negative confirmation, at that address.
    let sent = env.messages(&unknown.request);
    assert_eq!(sent.len(), 1, "one letter to an unknown address");
    assert_eq!(sent[0].to, vec!["nobody.here@example.nl".to_owned()]);
    assert_eq!(sent[0].code(), None, "no code for an unknown address");
    let h1 = env.run(&["access", "--email", "sanne@bakkerwebdesign.example"]);
    let h2 = env.run(&["access", "--email", "nobody.else@example.nl"]);
    assert_eq!(h1.status.code(), h2.status.code());
    // The unknown request can never be verified, and every later response reads the same for both: wrong codes, resends, the hourly limit.
    let same = |args: &[&str]| {
        let run = |id: &str| {
            let argv: Vec<&str> = args.iter().map(|a| if *a == "ID" { id } else { a }).collect();
            let out = env.run(&argv);
            (out.status.code(), support::stderr(&out).replace(id, "ID"), support::stdout(&out).replace(id, "ID"))
        };
        let (k, u) = (run(&known.request), run(&unknown.request));
        assert_eq!(k, u, "{args:?} tells a known person from an unknown one");
        k.0
    };
    assert_eq!(same(&["verify", "ID", "ABCD-EFGH"]), Some(6));
    assert_eq!(same(&["verify", "--resend", "ID"]), Some(0));
    assert_eq!(same(&["verify", "ID", "ABCD-EFGH"]), Some(6));
    assert_eq!(same(&["verify", "--resend", "ID"]), Some(0));
    assert_eq!(same(&["verify", "--resend", "ID"]), Some(8), "three codes an hour, known or not");
}

#[test]
fn a_second_request_for_the_same_person_and_right_is_the_open_one() {
    let env = Env::with_fixture("virtio");
    let first = env.open("access", &["--email", "jan.devries@example.nl"]);
    let again = env.open("access", &["--email", "JAN.DEVRIES@EXAMPLE.NL"]);
    assert_eq!(again.request, first.request);
    assert!(!again.new);
    let by_number = env.open("access", &["--customer", "V204117"]);
    assert_eq!(by_number.request, first.request, "same person by another identifier");
    assert_eq!(env.messages(&first.request).len(), 1, "no second code without --resend");
    let count: i64 = env.sql().query_row("SELECT count(*) FROM request", [], |r| r.get(0)).unwrap();
    assert_eq!(count, 1);
}

#[test]
fn received_dates_set_the_deadline_and_cannot_be_in_the_future() {
    let mut env = Env::with_fixture("virtio");
    env.now = Some("2028-02-10T09:00:00Z".into());
    let o =
        env.open("access", &["--email", "jan.devries@example.nl", "--received", "2028-01-31", "--channel", "letter"]);
    assert_eq!((o.received_on.as_str(), o.due_on.as_str()), ("2028-01-31", "2028-02-29"));
    let out = env.run(&["access", "--email", "sanne@bakkerwebdesign.example", "--received", "2028-03-01"]);
    assert_eq!(out.status.code(), Some(2));
    let out = env.run(&["access", "--email", "sanne@bakkerwebdesign.example", "--received", "31-01-2028"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_answer_can_be_written_to_a_private_file_once() {
    let env = Env::with_fixture("virtio");
    let opened = env.open("access", &["--email", "jan.devries@example.nl"]);
    let code = env.code(&opened.request);
    env.dsr().args(["verify", &opened.request, &code]).assert().success();
    env.dsr().args(["access", &opened.request, "--out", "answer.json"]).assert().success();
    let path = env.path("answer.json");
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    let parsed: Answer = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(parsed.request.id, opened.request);
    let out = env.run(&["access", &opened.request, "--out", "answer.json"]);
    assert_eq!(out.status.code(), Some(14));
    env.dsr().args(["access", &opened.request, "--out", "answer.json", "--force"]).assert().success();
}

#[test]
fn the_answer_holds_no_log_line_of_a_shared_ip_outside_the_persons_sessions() {
    let env = Env::with_fixture("virtio");
    let conn = env.sql();
    let number: String = conn
        .query_row(
            "SELECT c.customer_number FROM ip_event e JOIN customer c ON c.id = e.customer_id
             WHERE e.ip IN (SELECT ip FROM ip_event GROUP BY ip HAVING count(DISTINCT customer_id) > 1) ORDER BY c.id LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let own: Vec<i64> = conn
        .prepare("SELECT s.id FROM web_session s JOIN customer c ON c.id = s.customer_id WHERE c.customer_number = ?1")
        .unwrap()
        .query_map([&number], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let (_, answer) = verified_answer(&env, &["--customer", &number]);
    let logs = answer.table("server_log");
    assert!(!logs.is_empty());
    for line in logs {
        let session = line["session_id"].as_i64().expect("every disclosed line has a session");
        assert!(own.contains(&session), "line {line:?} is not from this person's sessions");
    }
}

#[test]
fn named_recipients_follow_the_persons_own_data() {
    let env = Env::with_fixture("virtio");
    let conn = env.sql();
    let police_person: String = conn
        .query_row("SELECT c.customer_number FROM disclosure d JOIN customer c ON c.person_id = d.person_id WHERE d.recipient = 'police' LIMIT 1", [], |r| r.get(0))
        .unwrap();
    let (_, answer) = verified_answer(&env, &["--customer", &police_person]);
    let police = answer.recipients.iter().find(|r| r.code == "police").expect("police named");
    assert!(police.because[0].contains("disclosure"));
    let domain_person: String = conn
        .query_row("SELECT c.customer_number FROM domain d JOIN customer c ON c.id = d.customer_id GROUP BY c.id HAVING count(*) >= 2 LIMIT 1", [], |r| r.get(0))
        .unwrap();
    let (_, answer) = verified_answer(&env, &["--customer", &domain_person]);
    assert!(answer.recipients.iter().any(|r| r.code == "sidn" && r.country == "NL"));
    // A consent to analytics means Google Analytics, outside the EEA, with its safeguards.
    let ga_person: String = conn
        .query_row(
            "SELECT c.customer_number FROM consent k JOIN customer c ON c.person_id = k.person_id WHERE k.purpose = 'analytics' AND k.granted = 1 LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let (_, answer) = verified_answer(&env, &["--customer", &ga_person]);
    assert!(answer.recipients.iter().any(|r| r.code == "google-analytics"));
    assert!(!answer.transfers_outside_eea.is_empty());
    // The dunning decision applied to a blocked customer is counted.
    let blocked: String = conn
        .query_row("SELECT customer_number FROM customer WHERE status = 'blocked' LIMIT 1", [], |r| r.get(0))
        .unwrap();
    let (_, answer) = verified_answer(&env, &["--customer", &blocked]);
    assert!(answer.automated_decisions[0].applied_to_you > 0);
}

#[test]
fn stored_control_characters_are_escaped_on_a_terminal() {
    let env = Env::with_fixture("virtio");
    env.sql()
        .execute("UPDATE person SET given_name = 'Jan' || char(27) || '[2J' || char(8238) WHERE id = (SELECT person_id FROM customer WHERE customer_number = 'V204117')", [])
        .unwrap();
    let (id, _) = verified_answer(&env, &["--customer", "V204117"]);
    let human = support::stdout(&env.run(&["access", &id]));
    assert!(!human.contains('\x1b') && !human.contains('\u{202e}'), "raw control characters reached the terminal");
    assert!(human.contains("\\u{1b}[2J"));
}

#[test]
fn a_request_naming_no_one_gets_a_negative_confirmation_at_its_own_address() {
    let env = Env::with_fixture("virtio");
    let unknown = env.open("access", &["--email", "Nobody.Here@example.nl"]);
    let mails = env.messages(&unknown.request);
    assert_eq!(mails.len(), 1, "Art. 15(1): everyone gets an answer");
    let letter = &mails[0];
    assert_eq!(letter.to, vec!["Nobody.Here@example.nl".to_owned()], "only to the address the request came from");
    assert_eq!(letter.code(), None);
    // Virtio compares an address's local part in any case: no line on how it is written.
    assert!(!letter.body.contains("capitals"), "{}", letter.body);
    for text in [
        "We hold no personal data linked to this email address",
        "Aan dit e-mailadres zijn bij ons geen persoonsgegevens gekoppeld",
        "Art. 15(1)",
    ] {
        assert!(letter.body.contains(text), "missing {text:?}:\n{}", letter.body);
    }
    // A person on file gets the code and no such letter; requests by other identifiers have no address to answer.
    let known = env.open("access", &["--email", "jan.devries@example.nl"]);
    let mails = env.messages(&known.request);
    assert_eq!(mails.len(), 1);
    assert!(mails[0].code().is_some() && !mails[0].body.contains("no personal data"));
    let phone = env.open("access", &["--phone", "+31600000001"]);
    let cookie = env.open("access", &["--cookie", "vt_0000000000000000"]);
    assert_eq!(env.messages(&phone.request).len() + env.messages(&cookie.request).len(), 0);
    // Asking again is the same open request: no second letter.
    env.open("access", &["--email", "nobody.here@example.nl"]);
    assert_eq!(env.messages(&unknown.request).len(), 1);
}

/// The counts of an answer are those of the rows it holds, whether the rows were few enough to
/// be read once and held (up to 5,000 in all) or so many that each table is counted and then
/// streamed while the answer is written.
#[test]
fn the_counts_are_the_rows_held_whether_few_or_many() {
    for extra in [10u32, 5_001] {
        let env = Env::with_fixture("virtio");
        env.sql()
            .execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
                 INSERT INTO server_log (logged_at, ip, user_agent, method, path, status, session_id)
                 SELECT '2026-10-01T10:00:00Z', '192.0.2.1', 'agent ' || i, 'GET', '/panel/' || i, 200,
                        (SELECT s.id FROM web_session s JOIN customer c ON c.id = s.customer_id
                         JOIN email_address e ON e.person_id = c.person_id
                         WHERE e.address = 'jan.devries@example.nl' LIMIT 1)
                 FROM n",
                [extra],
            )
            .unwrap();
        let request = env.verified("access", &["--email", "jan.devries@example.nl"]);
        let (answer, code): (Value, i32) = env.json(&["access", &request]);
        assert_eq!(code, 0);
        let mut total = 0;
        for c in answer["categories"].as_array().unwrap() {
            // Both languages of what the category is, as of its name.
            for key in ["description_en", "description_nl", "name_en", "name_nl"] {
                assert!(c[key].as_str().is_some_and(|s| !s.is_empty()), "{key} of {}", c["code"]);
            }
            let mut in_category = 0;
            for t in c["tables"].as_array().unwrap() {
                let rows = t["rows"].as_array().unwrap().len() as u64;
                assert!(rows > 0, "{extra}: table {} is listed without rows", t["table"]);
                assert_eq!(t["records"].as_u64(), Some(rows), "{extra}: table {}", t["table"]);
                in_category += rows;
            }
            assert_eq!(c["records"].as_u64(), Some(in_category), "{extra}: category {}", c["code"]);
            total += in_category;
        }
        assert_eq!(answer["person"]["records"].as_u64(), Some(total), "{extra}");
        let logs = answer["categories"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["tables"].as_array().unwrap())
            .find(|t| t["table"] == "server_log")
            .expect("the log lines are in the answer");
        assert!(logs["records"].as_u64().unwrap() >= u64::from(extra), "{extra}");
    }
}

/// A recipient of a purpose (`received_via = "purpose"`) is in the answer of everyone whose
/// data serves the purpose, whatever the role of their table (a club's "member", not only a
/// "customer").
#[test]
fn a_purpose_recipient_is_listed_for_a_person_whose_data_serves_the_purpose_whatever_the_role() {
    let env = Env::with_fixture("webshop");
    let file = support::stdout(&env.run(&["register", "export"])).replace("role = \"customer\"", "role = \"member\"");
    std::fs::write(env.path("members.toml"), file).unwrap();
    env.dsr().args(["register", "apply", "members.toml", "--yes"]).assert().success();
    let id = env.verified("access", &["--email", "sanne.dejong@example.nl"]);
    let (answer, code): (Value, i32) = env.json(&["access", &id]);
    assert_eq!(code, 0, "{answer}");
    let codes: Vec<&str> = answer["recipients"].as_array().unwrap().iter().filter_map(|r| r["code"].as_str()).collect();
    assert!(codes.contains(&"hosting"), "{codes:?}");
}

/// In a store that compares the local part exactly (the web shop), the negative confirmation
/// says that the same address written otherwise may be how the person is known: to everyone, so
/// that it tells no one who is on file.
#[test]
fn a_negative_confirmation_of_an_exact_store_says_how_the_address_is_compared() {
    let env = Env::with_fixture("webshop");
    for who in ["Sanne.DeJong@example.nl", "nobody.here@example.nl"] {
        let opened = env.open("access", &["--email", who]);
        let mails = env.messages(&opened.request);
        assert_eq!(mails.len(), 1, "{who}");
        let body = &mails[0].body;
        assert!(body.contains("capitals included") && body.contains("hoofdletters meegeteld"), "{body}");
    }
}

/// `--encrypt` and `--passphrase-file` encrypt an archive: asked for with a JSON answer or an
/// opening (access or export), they are refused, nothing is written and no request is opened.
#[test]
fn encryption_without_an_archive_is_refused_not_ignored() {
    let env = Env::with_fixture("virtio");
    let jan = ["--email", "jan.devries@example.nl"];
    let request = env.verified("access", &jan);
    std::fs::write(env.path("pp.txt"), "a passphrase of some length\n").unwrap();
    for extra in [&["--encrypt"][..], &["--passphrase-file", "pp.txt"]] {
        let mut args = vec!["access", request.as_str(), "--out", "a.json"];
        args.extend_from_slice(extra);
        let out = env.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        support::assert_one_line_error(&out);
        assert!(support::stderr(&out).contains(extra[0]), "{}", support::stderr(&out));
        assert!(!env.path("a.json").exists(), "no plain file where encryption was asked for");
    }
    let requests = env.count("SELECT count(*) FROM request");
    for right in ["access", "export"] {
        let out = env.run(&[right, "--email", "jan.devries@example.nl", "--encrypt"]);
        assert_eq!(out.status.code(), Some(2), "{right}");
        support::assert_one_line_error(&out);
    }
    assert_eq!(env.count("SELECT count(*) FROM request"), requests, "no request opened");
}
