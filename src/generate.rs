//! The deterministic benchmark generator (`dsr generate`, hidden): a store of N customers with
//! realistic related rows in every table, the same rows for the same seed and clock. On average
//! per customer: 2 emails, 1.5 phones, 10 invoices, 50 IP events, 200 server-log lines (in
//! sessions of 10), a ticket or two, consents; plus applicants (1 per 100 customers), cookie-only
//! visitors (1 per 10) and crash reports (1 customer in 10). Times spread over the three years
//! before the clock (`DSR_NOW`, truncated to midnight), server logs over the last 7 months so that
//! a retention run has several million expired lines to remove.

use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rusqlite::{params, Transaction};
use serde::Serialize;

use crate::cli::GenerateArgs;
use crate::clock::{stamp, Clock};
use crate::output::Output;
use crate::store::{self, fixture};

#[derive(Debug, Default, Serialize)]
pub struct Stats {
    pub customers: u64,
    pub people: u64,
    pub rows: u64,
}

const GIVEN: &[&str] = &[
    "Jan",
    "Piet",
    "Sanne",
    "Emma",
    "Daan",
    "Lotte",
    "Sem",
    "Julia",
    "Lucas",
    "Tess",
    "Noah",
    "Anouk",
    "Bram",
    "Fleur",
    "Ruben",
    "Iris",
    "Thijs",
    "Zoë",
    "Sébastien",
    "Eva",
    "Milan",
    "Femke",
    "Jesse",
    "Mila",
    "Luuk",
    "Noor",
];
const FAMILY: &[&str] = &[
    "de Vries",
    "Jansen",
    "van den Berg",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "de Groot",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "van Leeuwen",
    "Dekker",
    "Brouwer",
    "de Wit",
    "Dijkstra",
    "Çelik",
    "Müller",
];
const STREETS: &[&str] = &[
    "Kerkstraat",
    "Schoolstraat",
    "Dorpsstraat",
    "Molenweg",
    "Stationsweg",
    "Julianastraat",
    "Beatrixlaan",
    "Lindelaan",
];
const CITIES: &[&str] = &[
    "Amsterdam",
    "Rotterdam",
    "Utrecht",
    "Eindhoven",
    "Groningen",
    "Tilburg",
    "Almere",
    "Breda",
    "Nijmegen",
    "Zwolle",
];
const DOMAINS: &[&str] = &["example.nl", "example.com", "example.org"];
const AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/131.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0.0.0",
];
const PATHS: &[&str] = &["/", "/login", "/panel", "/panel/services", "/panel/invoices", "/api/v1/status", "/panel/dns"];

const DAY: i64 = 86_400;

struct Gen {
    rng: StdRng,
    now: i64,
    rows: u64,
}

impl Gen {
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        self.rng.random_range(lo..=hi)
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.rng.random_range(0..xs.len())]
    }
    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }
    /// A time in the `days` days before now.
    fn ago(&mut self, days: i64) -> i64 {
        self.now - self.rng.random_range(0..days.max(1) * DAY)
    }
}

fn ts(secs: i64) -> String {
    stamp(DateTime::<Utc>::from_timestamp(secs, 0).expect("time in range"))
}

pub fn generate(db: &Path, args: &GenerateArgs, out: &Output) -> anyhow::Result<Stats> {
    let clock = Clock::from_env()?;
    let now = clock.now().timestamp() / DAY * DAY;
    let mut stats = Stats::default();
    let register = fixture::find("virtio")?;
    store::create(db, args.force, |s| {
        fixture::load(&mut s.conn, register, clock, true)?;
        // Bulk load: durability of a half-built benchmark store does not matter.
        s.conn.pragma_update(None, "synchronous", "OFF")?;
        s.conn.pragma_update(None, "secure_delete", "OFF")?;
        s.conn.pragma_update(None, "cache_size", -256_000)?;
        // Indexes are built once at the end: much faster than updating them row by row.
        let indexes: Vec<(String, String)> = s
            .conn
            .prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (name, _) in &indexes {
            s.conn.execute_batch(&format!("DROP INDEX \"{name}\""))?;
        }
        let mut g = Gen { rng: StdRng::seed_from_u64(args.seed), now, rows: 0 };
        let chunk = 5_000;
        let mut next = 0;
        while next < args.customers {
            let end = (next + chunk).min(args.customers);
            let tx = s.conn.transaction()?;
            for i in next..end {
                customer(&tx, &mut g, i, args).with_context(|| format!("customer {i}"))?;
                if i % 100 == 0 {
                    applicant(&tx, &mut g, i)?;
                }
                if i % 10 == 0 {
                    visitor(&tx, &mut g, i)?;
                }
            }
            tx.commit()?;
            next = end;
            if out.stderr_tty && !out.quiet {
                use std::io::Write;
                let mut err = std::io::stderr().lock();
                write!(err, "\r{next}/{} customers, {} rows", args.customers, g.rows)?;
                err.flush()?;
            }
        }
        if out.stderr_tty && !out.quiet {
            crate::output::stderr_line("")?;
        }
        for (_, sql) in &indexes {
            s.conn.execute_batch(sql)?;
        }
        // No ANALYZE: sqlite_stat4 would keep samples of index keys (emails, IPs) that an
        // erasure could not reach, and the lookups here need no statistics.
        stats.customers = args.customers;
        stats.rows = g.rows;
        stats.people = s.conn.query_row("SELECT count(*) FROM person", [], |r| r.get::<_, i64>(0))? as u64;
        Ok(())
    })?;
    Ok(stats)
}

fn person(tx: &Transaction<'_>, g: &mut Gen, id: i64, source: &str, created: i64, named: bool) -> rusqlite::Result<()> {
    let (given, family) = if named { (Some(g.pick(GIVEN)), Some(g.pick(FAMILY))) } else { (None, None) };
    let street = named.then(|| g.pick(STREETS));
    let city = named.then(|| g.pick(CITIES));
    let house = named.then(|| g.range(1, 250).to_string());
    let postal = named.then(|| {
        format!(
            "{} {}{}",
            g.range(1000, 9999),
            (b'A' + g.range(0, 25) as u8) as char,
            (b'A' + g.range(0, 25) as u8) as char
        )
    });
    tx.prepare_cached(
        "INSERT INTO person (id, given_name, family_name, street, house_number, postal_code, city, country, created_at, source)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![id, given, family, street, house, postal, city, named.then_some("NL"), ts(created), source])?;
    g.rows += 1;
    Ok(())
}

fn email(
    tx: &Transaction<'_>,
    g: &mut Gen,
    person_id: i64,
    local: &str,
    primary: bool,
    created: i64,
) -> rusqlite::Result<()> {
    let address = format!("{local}@{}", g.pick(DOMAINS));
    let norm = crate::subject::fold(&address);
    let optin = g.chance(0.3);
    tx.prepare_cached(
        "INSERT INTO email_address (person_id, address, address_norm, is_primary, newsletter_opt_in, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![person_id, address, norm, primary, optin, ts(created)])?;
    g.rows += 1;
    Ok(())
}

fn consent(
    tx: &Transaction<'_>,
    g: &mut Gen,
    person_id: i64,
    purpose: &str,
    granted: bool,
    at: i64,
    cookie: Option<i64>,
) -> rusqlite::Result<()> {
    let source = if cookie.is_some() { "cookie-banner" } else { "control-panel" };
    tx.prepare_cached("INSERT INTO consent (person_id, purpose, granted, recorded_at, source, cookie_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
        .execute(params![person_id, purpose, granted, ts(at), source, cookie])?;
    g.rows += 1;
    Ok(())
}

/// Person ids: customers 1..=N, applicants and visitors above N.
fn customer(tx: &Transaction<'_>, g: &mut Gen, i: u64, args: &GenerateArgs) -> rusqlite::Result<()> {
    let pid = i as i64 + 1;
    let created = g.ago(3 * 365);
    person(tx, g, pid, "signup", created, true)?;
    let ended = g.chance(0.1).then(|| created + (g.now - created) / 2);
    tx.prepare_cached("INSERT INTO customer (id, person_id, customer_number, created_at, ended_at, status) VALUES (?1, ?1, ?2, ?3, ?4, ?5)")?
        .execute(params![pid, format!("G{:08}", i + 1), ts(created), ended.map(ts), if ended.is_some() { "ended" } else { "active" }])?;
    g.rows += 1;
    let local = format!("customer{}", i + 1);
    email(tx, g, pid, &local, true, created)?;
    for k in 0..g.range(0, 2) {
        email(tx, g, pid, &format!("{local}.alt{k}"), false, created)?;
    }
    for k in 0..g.range(1, 2) {
        let number = format!("+316{:08}", (i * 2 + k) % 100_000_000);
        tx.prepare_cached("INSERT INTO phone_number (person_id, number, use_contact, use_2fa, use_monitoring, created_at) VALUES (?1, ?2, 1, ?3, ?4, ?5)")?
            .execute(params![pid, number, k == 1, g.chance(0.2), ts(created)])?;
        g.rows += 1;
    }
    tx.prepare_cached("INSERT INTO login_account (customer_id, username, password_hash, two_factor, created_at, last_login_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
        .execute(params![pid, local, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$generatedgeneratedgenerated", if g.chance(0.4) { "totp" } else { "none" }, ts(created), ts(g.ago(30))])?;
    g.rows += 1;
    let ips: Vec<String> =
        (0..3).map(|k| format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, (i + k) & 255)).collect();
    for _ in 0..g.range(args.ip_events / 2, args.ip_events * 3 / 2) {
        let ip = &ips[g.range(0, 2) as usize];
        let event = if g.chance(0.9) { "login" } else { "change" };
        tx.prepare_cached(
            "INSERT INTO ip_event (customer_id, ip, event, detail, occurred_at) VALUES (?1, ?2, ?3, NULL, ?4)",
        )?
        .execute(params![pid, ip, event, ts(g.ago(400))])?;
        g.rows += 1;
    }
    let lines = g.range(args.log_lines / 2, args.log_lines * 3 / 2);
    let mut session = 0i64;
    let mut at = 0i64;
    for n in 0..lines {
        if n % 10 == 0 {
            at = g.ago(210);
            let ip = &ips[g.range(0, 2) as usize];
            tx.prepare_cached("INSERT INTO web_session (customer_id, ip, user_agent, started_at, ended_at) VALUES (?1, ?2, ?3, ?4, ?5)")?
                .execute(params![pid, ip, g.pick(AGENTS), ts(at), ts(at + 1800)])?;
            session = tx.last_insert_rowid();
            g.rows += 1;
        }
        at += g.range(1, 120) as i64;
        tx.prepare_cached("INSERT INTO server_log (logged_at, ip, user_agent, method, path, status, session_id) VALUES (?1, ?2, ?3, ?4, ?5, 200, ?6)")?
            .execute(params![ts(at), ips[0], AGENTS[0], if n % 7 == 0 { "POST" } else { "GET" }, g.pick(PATHS), session])?;
        g.rows += 1;
    }
    // Anonymous traffic from the same addresses: never attributed to the customer.
    for _ in 0..lines / 10 {
        tx.prepare_cached("INSERT INTO server_log (logged_at, ip, user_agent, method, path, status, session_id) VALUES (?1, ?2, ?3, 'GET', '/', 200, NULL)")?
            .execute(params![ts(g.ago(210)), ips[1], AGENTS[1]])?;
        g.rows += 1;
    }
    let paypal = g.chance(0.5);
    if paypal {
        tx.prepare_cached("INSERT INTO payment_method (customer_id, kind, provider, paypal_email, created_at) VALUES (?1, 'paypal', 'paypal', ?2, ?3)")?
            .execute(params![pid, format!("{local}@paypal.example"), ts(created)])?;
    } else {
        tx.prepare_cached("INSERT INTO payment_method (customer_id, kind, provider, iban, account_holder, created_at) VALUES (?1, 'sepa-debit', 'ideal', 'NL91ABNA0417164300', ?2, ?3)")?
            .execute(params![pid, local, ts(created)])?;
    }
    let method = tx.last_insert_rowid();
    g.rows += 1;
    tx.prepare_cached("INSERT INTO service (customer_id, product, hostname, started_at, ended_at, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
        .execute(params![pid, "VPS Medium 4GB", format!("vps{}.virtio.example", i + 1), ts(created), ended.map(ts), if ended.is_some() { "ended" } else { "active" }])?;
    g.rows += 1;
    if g.chance(0.3) {
        tx.prepare_cached("INSERT INTO domain (customer_id, name, registry, registrant_name, registrant_email, registered_at, expires_at) VALUES (?1, ?2, 'sidn', ?3, ?4, ?5, ?6)")?
            .execute(params![pid, format!("customer{}.nl", i + 1), local, format!("{local}@example.nl"), ts(created), ts(g.now + 200 * DAY)])?;
        g.rows += 1;
    }
    for q in 0..g.range(1, 3) {
        tx.prepare_cached("INSERT INTO quote (customer_id, quote_number, created_at, description, amount_cents, status) VALUES (?1, ?2, ?3, 'VPS', ?4, 'accepted')")?
            .execute(params![pid, format!("Q{:09}-{q}", i + 1), ts(created), g.range(500, 50_000) as i64])?;
        g.rows += 1;
    }
    for k in 0..g.range(5, 15) {
        let issued = g.ago(3 * 365).max(created);
        let unpaid = g.chance(0.02);
        let status = if unpaid { "overdue" } else { "paid" };
        let amount = g.range(500, 20_000) as i64;
        tx.prepare_cached("INSERT INTO invoice (customer_id, invoice_number, issued_at, due_at, amount_cents, billing_name, billing_address, status, paid_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")?
            .execute(params![pid, format!("F{:09}-{k:02}", i + 1), ts(issued), ts(issued + 14 * DAY), amount, local, "Kerkstraat 1, Utrecht", status, (!unpaid).then(|| ts(issued + 7 * DAY))])?;
        let invoice = tx.last_insert_rowid();
        g.rows += 1;
        if unpaid {
            tx.prepare_cached(
                "INSERT INTO dunning_event (invoice_id, step, occurred_at, automated) VALUES (?1, 'reminder', ?2, 1)",
            )?
            .execute(params![invoice, ts(issued + 21 * DAY)])?;
        } else {
            tx.prepare_cached("INSERT INTO payment (invoice_id, payment_method_id, paid_at, amount_cents, reference) VALUES (?1, ?2, ?3, ?4, NULL)")?
                .execute(params![invoice, method, ts(issued + 7 * DAY), amount])?;
        }
        g.rows += 1;
    }
    for purpose in ["analytics", "newsletter", "crash-analysis"] {
        if g.chance(0.5) {
            let at = g.ago(700);
            consent(tx, g, pid, purpose, true, at, None)?;
            if g.chance(0.2) {
                consent(tx, g, pid, purpose, false, at + 30 * DAY, None)?;
            }
        }
    }
    for _ in 0..g.range(0, 2) {
        let opened = g.ago(700);
        tx.prepare_cached("INSERT INTO ticket (person_id, subject, channel, department, opened_at, closed_at) VALUES (?1, 'Question about my VPS', 'portal', 'support', ?2, ?3)")?
            .execute(params![pid, ts(opened), ts(opened + 2 * DAY)])?;
        let ticket = tx.last_insert_rowid();
        g.rows += 1;
        for (dir, body) in
            [("in", "My VPS does not boot after the update."), ("out", "We restarted the host; it runs again.")]
        {
            tx.prepare_cached("INSERT INTO ticket_message (ticket_id, sent_at, direction, from_address, body) VALUES (?1, ?2, ?3, NULL, ?4)")?
                .execute(params![ticket, ts(opened), dir, body])?;
            g.rows += 1;
        }
    }
    if g.chance(0.1) {
        for _ in 0..g.range(1, 3) {
            tx.prepare_cached("INSERT INTO crash_report (person_id, app, app_version, device, os, stack, occurred_at) VALUES (?1, 'Virtio Interface app', '3.2.1', 'Pixel 8', 'Android 15', 'java.lang.NullPointerException at ui.Panel.render', ?2)")?
                .execute(params![pid, ts(g.ago(180))])?;
            g.rows += 1;
        }
    }
    Ok(())
}

fn applicant(tx: &Transaction<'_>, g: &mut Gen, i: u64) -> rusqlite::Result<()> {
    let pid = 2_000_000_000 + i as i64;
    let applied = g.ago(700);
    person(tx, g, pid, "application", applied, true)?;
    email(tx, g, pid, &format!("applicant{}", i + 1), true, applied)?;
    let hired = g.chance(0.1);
    tx.prepare_cached("INSERT INTO application (person_id, vacancy, applied_at, status, decided_at) VALUES (?1, 'System administrator', ?2, ?3, ?4)")?
        .execute(params![pid, ts(applied), if hired { "hired" } else { "rejected" }, ts(applied + 30 * DAY)])?;
    let application = tx.last_insert_rowid();
    tx.prepare_cached("INSERT INTO application_document (application_id, kind, filename, media_type, content, received_at) VALUES (?1, 'cv', 'cv.txt', 'text/plain', ?2, ?3)")?
        .execute(params![application, b"Curriculum vitae\nExperience: Linux, networking.\n".as_slice(), ts(applied)])?;
    g.rows += 2;
    Ok(())
}

fn visitor(tx: &Transaction<'_>, g: &mut Gen, i: u64) -> rusqlite::Result<()> {
    let pid = 3_000_000_000 + i as i64;
    let seen = g.ago(500);
    person(tx, g, pid, "cookie", seen, false)?;
    tx.prepare_cached("INSERT INTO cookie (person_id, cookie_id, first_seen_at, last_seen_at, user_agent) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![pid, format!("_vid.{:016x}", i.wrapping_mul(0x9E37_79B9_7F4A_7C15)), ts(seen), ts(seen + 20 * DAY), AGENTS[2]])?;
    let cookie = tx.last_insert_rowid();
    g.rows += 1;
    let granted = g.chance(0.6);
    consent(tx, g, pid, "analytics", granted, seen, Some(cookie))
}
