//! Mail failures reveal nothing (issue 13): whatever the transport does (an outbox that cannot
//! be written, an SMTP server that answers 550 to RCPT or to DATA), opening a request answers the
//! same, exit code, stdout and stderr, for a known and an unknown person; the letter waits in the
//! queue and `request list`, `request show` and `mail flush` tell the officer.

use std::net::TcpListener;

use mailin_embedded::{response, Handler, Response, Server};
use serde_json::Value;

use crate::support::{self, Env};

/// An SMTP server on loopback that answers 550 to every recipient, or to DATA.
#[derive(Clone)]
struct Refusing {
    at_data: bool,
}

impl Handler for Refusing {
    fn rcpt(&mut self, _to: &str) -> Response {
        if self.at_data {
            response::OK
        } else {
            response::NO_MAILBOX
        }
    }
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, _to: &[String]) -> Response {
        response::NO_MAILBOX
    }
}

fn refusing_server(at_data: bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut server = Server::new(Refusing { at_data });
    server.with_name("test.local").with_tcp_listener(listener);
    std::thread::spawn(move || {
        let _ = server.serve();
    });
    port
}

#[derive(Clone, Copy, Debug)]
enum Fault {
    /// `outbox` beside the store is a file, so no message can be written there.
    Outbox,
    SmtpRcpt(u16),
    SmtpData(u16),
}

fn env(fault: Fault) -> Env {
    let mut env = Env::with_fixture("virtio");
    env.now = Some("2026-11-02T09:00:00Z".into());
    if let Fault::Outbox = fault {
        std::fs::write(env.outbox(), b"not a directory").unwrap();
    }
    env
}

fn run(env: &Env, fault: Fault, args: &[&str]) -> std::process::Output {
    let mut cmd = env.dsr();
    if let Fault::SmtpRcpt(port) | Fault::SmtpData(port) = fault {
        cmd.env("DSR_MAIL", "smtp").env("DSR_SMTP_URL", format!("smtp://127.0.0.1:{port}"));
    }
    cmd.args(args).output().unwrap()
}

#[test]
fn opening_answers_alike_for_known_and_unknown_people_whatever_the_transport_does() {
    let faults = [Fault::Outbox, Fault::SmtpRcpt(refusing_server(false)), Fault::SmtpData(refusing_server(true))];
    for fault in faults {
        let known_number: String = env(fault)
            .sql()
            .query_row(
                "SELECT c.customer_number FROM customer c JOIN email_address e ON e.person_id = c.person_id
                 WHERE e.address = 'jan.devries@example.nl'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let people: [(&str, &str, bool); 4] = [
            ("--email", "jan.devries@example.nl", true),
            ("--email", "nobody@example.nl", true),
            ("--customer", &known_number, false),
            ("--customer", "V999999", false),
        ];
        let mut answers = Vec::new();
        for (flag, who, by_email) in people {
            let env = env(fault);
            for json in [false, true] {
                let mut args = vec!["access", flag, who];
                if json {
                    args.insert(0, "--json");
                }
                let out = run(&env, fault, &args);
                answers.push((
                    json,
                    out.status.code(),
                    support::stdout(&out).replace("DSR-2026-0002", "DSR-2026-0001"),
                    support::stderr(&out),
                ));
            }
            assert_eq!(answers.last().unwrap().1, Some(0), "{fault:?} {who}: {:?}", answers.last());
            // An address gets one letter either way (a code, or the negative confirmation); it
            // waits in the queue and the officer's views say so.
            let queued: i64 = env
                .sql()
                .query_row("SELECT count(*) FROM queued WHERE done_at IS NULL AND tries > 0", [], |r| r.get(0))
                .unwrap();
            if by_email {
                assert_eq!(queued, 1, "{fault:?} {who}: one letter, not sent");
                let json = |args: &[&str]| -> Value {
                    serde_json::from_slice(&run(&env, fault, &[&["--json"], args].concat()).stdout).unwrap()
                };
                let list = json(&["request", "list"]);
                assert_eq!(list["requests"][0]["letters_not_sent"], 1, "{fault:?} {who}: {list}");
                let table = support::stdout(&run(&env, fault, &["request", "list"]));
                assert!(table.contains("letter not sent: dsr mail flush"), "{fault:?} {who}:\n{table}");
                let shown = json(&["request", "show", "DSR-2026-0001"]);
                assert!(shown["queued"][0]["last_error"].as_str().is_some(), "{shown}");
                assert_eq!(run(&env, fault, &["mail", "flush"]).status.code(), Some(18), "{fault:?} {who}");
            }
        }
        for pair in answers.chunks(2).collect::<Vec<_>>().windows(2) {
            assert_eq!(pair[0], pair[1], "{fault:?}: opening answers differently for known and unknown people");
        }
    }
}

#[test]
fn a_new_code_for_a_known_or_an_unknown_person_answers_alike_when_the_outbox_cannot_be_written() {
    let answers: Vec<(Option<i32>, String, String)> =
        [["--email", "jan.devries@example.nl"], ["--customer", "V999999"]]
            .iter()
            .map(|who| {
                let env = env(Fault::Outbox);
                run(&env, Fault::Outbox, &["access", who[0], who[1]]);
                let out = run(&env, Fault::Outbox, &["verify", "--resend", "DSR-2026-0001"]);
                (out.status.code(), support::stdout(&out), support::stderr(&out))
            })
            .collect();
    assert_eq!(answers[0].0, Some(0), "{answers:?}");
    assert_eq!(answers[0], answers[1]);
}

#[test]
fn a_mail_setup_that_cannot_send_is_refused_alike_for_known_and_unknown_customer_numbers() {
    let codes: Vec<Option<i32>> = ["V204117", "V999999"]
        .iter()
        .map(|who| {
            let env = Env::with_fixture("virtio");
            let out = env.dsr().env("DSR_MAIL_FROM", "not an address").args(["access", "--customer", who]).output();
            let out = out.unwrap();
            support::assert_one_line_error(&out);
            out.status.code()
        })
        .collect();
    assert_eq!(codes, vec![Some(2), Some(2)], "refused before anything is recorded, for anyone");
}

/// A letter queued for SMTP that the server refused stays for SMTP: a later command run without
/// `DSR_MAIL` (an officer's shell, where the default is the outbox folder) neither writes it to the
/// outbox nor records it as sent, and says where it waits; `mail list` only lists it, and
/// `mail flush` with SMTP tries it once.
#[test]
fn a_letter_queued_for_smtp_is_never_written_to_the_outbox_by_another_shell() {
    let fault = Fault::SmtpRcpt(refusing_server(false));
    let env = env(fault);
    run(&env, fault, &["access", "--email", "jan.devries@example.nl"]);
    let tries = || -> i64 { env.count("SELECT tries FROM queued WHERE done_at IS NULL AND transport = 'smtp'") };
    assert_eq!(tries(), 1);
    let list = support::stdout(&env.run(&["mail", "list"]));
    assert!(list.contains("verification-code") && list.contains("waits for the smtp transport"), "{list}");
    for args in [&["request", "list"][..], &["mail", "flush"]] {
        let out = env.run(args);
        assert!(
            support::stderr(&out).contains("1 letter waits for the smtp transport it was queued for"),
            "{args:?}: {}",
            support::stderr(&out)
        );
    }
    assert!(!env.outbox().exists(), "nothing written to the outbox folder");
    assert_eq!(tries(), 1, "no other transport tried it");
    let list = support::stdout(&env.run(&["request", "list"]));
    assert!(list.contains("letter not sent: dsr mail flush"), "{list}");
    // `mail flush` with SMTP tries it once: its failure said once, not again by a second flush.
    let out = run(&env, fault, &["mail", "flush"]);
    assert_eq!(out.status.code(), Some(18));
    assert_eq!(
        support::stderr(&out).matches("could not be sent and stays queued (").count(),
        1,
        "{}",
        support::stderr(&out)
    );
    assert_eq!(tries(), 2);
}
