//! The access flow over SMTP against a real SMTP server started by the test on loopback.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use mailin_embedded::{response, Handler, Response, Server};

use crate::support::{Env, Mail};

/// (envelope recipients, raw message)
type Received = (Vec<String>, Vec<u8>);

#[derive(Clone, Default)]
struct Inbox {
    current: Arc<Mutex<Vec<u8>>>,
    received: Arc<Mutex<Vec<Received>>>,
    to: Arc<Mutex<Vec<String>>>,
}

impl Handler for Inbox {
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        *self.to.lock().unwrap() = to.to_vec();
        self.current.lock().unwrap().clear();
        response::OK
    }
    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.lock().unwrap().extend_from_slice(buf);
        Ok(())
    }
    fn data_end(&mut self) -> Response {
        let body = std::mem::take(&mut *self.current.lock().unwrap());
        let to = self.to.lock().unwrap().clone();
        self.received.lock().unwrap().push((to, body));
        response::OK
    }
}

/// `dsr ARGS` sending by SMTP to the server on loopback at `port`.
fn by_smtp(env: &Env, port: u16, args: &[&str]) -> std::process::Output {
    env.dsr()
        .env("DSR_MAIL", "smtp")
        .env("DSR_SMTP_URL", format!("smtp://127.0.0.1:{port}"))
        .args(args)
        .output()
        .unwrap()
}

fn start() -> (u16, Inbox) {
    start_on(TcpListener::bind("127.0.0.1:0").unwrap())
}

fn start_on(listener: TcpListener) -> (u16, Inbox) {
    let inbox = Inbox::default();
    (serve(listener, inbox.clone()), inbox)
}

/// A real SMTP server with `handler` on `listener`, in a thread of its own; its port.
fn serve(listener: TcpListener, handler: impl Handler + Clone + Send + 'static) -> u16 {
    let port = listener.local_addr().unwrap().port();
    let mut server = Server::new(handler);
    server.with_name("test.local").with_tcp_listener(listener);
    std::thread::spawn(move || {
        let _ = server.serve();
    });
    port
}

#[test]
fn the_code_arrives_over_smtp_and_verifies() {
    let (port, inbox) = start();
    let env = Env::with_fixture("virtio");
    let smtp = |args: &[&str]| by_smtp(&env, port, args);
    let out = smtp(&["--json", "access", "--email", "Jan.DeVries@Example.NL"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let opened: crate::support::Opened = serde_json::from_slice(&out.stdout).unwrap();
    let received = inbox.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    let (to, raw) = &received[0];
    assert_eq!(to, &vec!["jan.devries@example.nl".to_owned()], "envelope recipient is the address on file");
    let mail = Mail::parse(raw, "smtp".into());
    assert_eq!(mail.to, vec!["jan.devries@example.nl".to_owned()]);
    let code = mail.code().expect("code in the SMTP message");
    assert!(!env.outbox().exists(), "nothing in the outbox when SMTP is used");
    let out = smtp(&["verify", &opened.request, &code]);
    assert!(out.status.success());
    env.dsr().args(["--json", "access", &opened.request]).assert().success();
}

#[test]
fn smtp_refuses_clear_text_to_a_remote_host_and_passwords_in_the_url() {
    let env = Env::with_fixture("virtio");
    for url in ["smtp://mail.example.nl:25", "smtps://dsr:secret@mail.example.nl:465"] {
        let out = env
            .dsr()
            .env("DSR_MAIL", "smtp")
            .env("DSR_SMTP_URL", url)
            .args(["access", "--email", "jan.devries@example.nl"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{url}");
        assert!(!String::from_utf8_lossy(&out.stderr).contains("secret"));
    }
    // A URL that is no mail server's, or names no host, says so (not "use smtps://").
    for (url, told) in [
        ("http://mail.example.nl", "http:// is no mail server's scheme"),
        ("smtp://", "it names no host"),
        ("smtp://mail.example.nl:99999", "invalid port number"),
    ] {
        let mut out = env.dsr();
        let out = out.env("DSR_MAIL", "smtp").env("DSR_SMTP_URL", url);
        let out = out.args(["access", "--email", "jan.devries@example.nl"]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!((out.status.code(), err.lines().count()), (Some(2), 1), "{url}: {err}");
        assert!(err.contains(&format!("invalid DSR_SMTP_URL: {told}")), "{url}: {err}");
    }
    let count: i64 = env.sql().query_row("SELECT count(*) FROM request", [], |r| r.get(0)).unwrap();
    assert_eq!(count, 0, "a failed send records nothing");
}

#[test]
fn a_code_for_an_unreachable_smtp_server_stays_queued_and_is_sent_once_it_is_back() {
    let env = Env::with_fixture("virtio");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let smtp = |args: &[&str]| by_smtp(&env, port, args);
    let out = smtp(&["--json", "access", "--email", "jan.devries@example.nl"]);
    // The acknowledgement is what it is for anyone; the failed transport is the officer's to see.
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    // Not even on stderr: an unknown customer number would queue nothing to fail.
    assert!(!String::from_utf8_lossy(&out.stderr).contains("stays queued"));
    let opened: crate::support::Opened = serde_json::from_slice(&out.stdout).unwrap();
    let shown: serde_json::Value =
        serde_json::from_slice(&smtp(&["--json", "request", "show", &opened.request]).stdout).unwrap();
    assert_eq!(shown["queued"][0]["letter"], "verification-code");
    assert!(shown["queued"][0]["last_error"].as_str().unwrap().contains("SMTP"), "{shown}");
    let out = smtp(&["mail", "flush"]);
    assert_eq!(out.status.code(), Some(18), "still down: {}", String::from_utf8_lossy(&out.stderr));
    // The server is back on the same port.
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let inbox = Inbox::default();
    let mut server = Server::new(inbox.clone());
    server.with_name("test.local").with_tcp_listener(listener);
    std::thread::spawn(move || {
        let _ = server.serve();
    });
    let out = smtp(&["mail", "flush"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    smtp(&["mail", "flush"]);
    smtp(&["request", "list"]);
    let received = inbox.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "delivered exactly once");
    let code = Mail::parse(&received[0].1, "smtp".into()).code().unwrap();
    assert!(smtp(&["verify", &opened.request, &code]).status.success());
}

#[test]
fn a_relay_named_by_its_ipv6_address_is_reached() {
    let Ok(listener) = TcpListener::bind("[::1]:0") else {
        eprintln!("no IPv6 loopback on this machine: nothing to test");
        return;
    };
    let (port, inbox) = start_on(listener);
    let env = Env::with_fixture("virtio");
    let out = env
        .dsr()
        .env("DSR_MAIL", "smtp")
        .env("DSR_SMTP_URL", format!("smtp://[::1]:{port}"))
        .args(["access", "--email", "jan.devries@example.nl"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("not"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(inbox.received.lock().unwrap().len(), 1, "the code letter went to [::1]:{port}");
}

/// A server that refuses every recipient, naming the address as real servers do.
#[derive(Clone)]
struct Refusing;

impl Handler for Refusing {
    fn rcpt(&mut self, to: &str) -> Response {
        Response::custom(550, format!("5.1.1 <{to}>: Recipient address rejected"))
    }
}

#[test]
fn a_refusal_naming_the_recipient_is_kept_and_told_without_the_address() {
    let port = serve(TcpListener::bind("127.0.0.1:0").unwrap(), Refusing);
    let env = Env::with_fixture("virtio");
    let smtp = |args: &[&str]| by_smtp(&env, port, args);
    let opened = smtp(&["access", "--customer", "V204117"]);
    assert!(opened.status.success(), "{}", String::from_utf8_lossy(&opened.stderr));
    let later = smtp(&["--json", "mail", "flush"]);
    assert_eq!(later.status.code(), Some(18));
    let listed = smtp(&["mail", "list"]);
    let stored: String = env.sql().query_row("SELECT last_error FROM queued", [], |r| r.get(0)).unwrap();
    assert!(stored.contains("Recipient address rejected") && stored.contains("<address>"), "{stored}");
    for text in [
        String::from_utf8_lossy(&later.stderr),
        String::from_utf8_lossy(&later.stdout),
        String::from_utf8_lossy(&listed.stdout),
        stored.as_str().into(),
    ] {
        assert!(!text.contains('@'), "no address in what logs read: {text}");
    }
}

/// A server that takes its time to accept a message (a content filter at work).
#[derive(Clone, Default)]
struct Slow(Inbox);

impl Handler for Slow {
    fn data_start(&mut self, domain: &str, from: &str, is8bit: bool, to: &[String]) -> Response {
        self.0.data_start(domain, from, is8bit, to)
    }
    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.0.data(buf)
    }
    fn data_end(&mut self) -> Response {
        std::thread::sleep(std::time::Duration::from_secs(25));
        self.0.data_end()
    }
}

#[test]
fn a_server_slow_to_accept_a_letter_gets_it_once() {
    // dsr waited 20 s for the answer to the message's end, recorded a failure, and the next
    // flush sent the letter the server had meanwhile accepted a second time (probe).
    let env = Env::with_fixture("virtio");
    let slow = Slow::default();
    let port = serve(TcpListener::bind("127.0.0.1:0").unwrap(), slow.clone());
    let out = by_smtp(&env, port, &["access", "--email", "jan.devries@example.nl"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("stays queued"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(by_smtp(&env, port, &["mail", "flush"]).status.success());
    assert_eq!(slow.0.received.lock().unwrap().len(), 1, "delivered exactly once");
}

#[test]
fn a_server_that_cannot_be_reached_holds_up_one_try_a_run_and_commands_leave_it_minutes() {
    let env = Env::with_fixture("virtio");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let tries = || -> Vec<i64> {
        let conn = env.sql();
        let mut stmt = conn.prepare("SELECT tries FROM queued WHERE kind = 'mail' ORDER BY id").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    // Three code letters, each tried once by the command that queued it; the earlier ones wait
    // (a letter the server failed minutes ago is not tried by every command).
    for who in ["jan.devries@example.nl", "fenna.mulder@example.nl", "kees.smit@example.nl"] {
        assert_eq!(by_smtp(&env, port, &["access", "--email", who]).status.code(), Some(0));
    }
    assert_eq!(tries(), [1, 1, 1]);
    assert_eq!(by_smtp(&env, port, &["request", "list"]).status.code(), Some(0));
    assert_eq!(tries(), [1, 1, 1], "a reading command leaves them for now");
    // `mail flush` tries at once; the server down, the first failure ends the run's tries.
    let out = by_smtp(&env, port, &["mail", "flush"]);
    assert_eq!(out.status.code(), Some(18), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(tries(), [2, 1, 1]);
    // Back: all three go, once.
    let (port2, inbox) = start_on(TcpListener::bind(("127.0.0.1", port)).unwrap());
    assert_eq!(port2, port);
    assert!(by_smtp(&env, port, &["mail", "flush"]).status.success());
    assert_eq!(inbox.received.lock().unwrap().len(), 3);
}
