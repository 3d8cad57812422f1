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

mod words;
use words::{AGENTS, CITIES, DOMAINS, FAMILY, GIVEN, PATHS, STREETS};

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

/// The generator's statements for the built-in company's tables, by the kind of row they write:
/// the company's data, kept beside its company file (`fixtures/virtio/generate.toml`).
fn recipe(kind: &str) -> &'static str {
    static RECIPES: std::sync::OnceLock<std::collections::HashMap<String, String>> = std::sync::OnceLock::new();
    RECIPES
        .get_or_init(|| toml::from_str(include_str!("../fixtures/virtio/generate.toml")).expect("the recipes parse"))
        .get(kind)
        .map(String::as_str)
        .unwrap_or_else(|| unreachable!("no recipe {kind} in fixtures/virtio/generate.toml"))
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
        stats.people = crate::store::personal::DataMap::load(&s.conn)?.people(&s.conn)? as u64;
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
    tx.prepare_cached(recipe("person"))?.execute(params![
        id,
        given,
        family,
        street,
        house,
        postal,
        city,
        named.then_some("NL"),
        ts(created),
        source
    ])?;
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
    tx.prepare_cached(recipe("email"))?.execute(params![person_id, address, norm, primary, optin, ts(created)])?;
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
    tx.prepare_cached(recipe("consent"))?.execute(params![person_id, purpose, granted, ts(at), source, cookie])?;
    g.rows += 1;
    Ok(())
}

/// Person ids: customers 1..=N, applicants and visitors above N.
fn customer(tx: &Transaction<'_>, g: &mut Gen, i: u64, args: &GenerateArgs) -> rusqlite::Result<()> {
    let pid = i as i64 + 1;
    let created = g.ago(3 * 365);
    person(tx, g, pid, "signup", created, true)?;
    let ended = g.chance(0.1).then(|| created + (g.now - created) / 2);
    tx.prepare_cached(recipe("customer"))?.execute(params![
        pid,
        format!("G{:08}", i + 1),
        ts(created),
        ended.map(ts),
        if ended.is_some() { "ended" } else { "active" }
    ])?;
    g.rows += 1;
    let local = format!("customer{}", i + 1);
    email(tx, g, pid, &local, true, created)?;
    for k in 0..g.range(0, 2) {
        email(tx, g, pid, &format!("{local}.alt{k}"), false, created)?;
    }
    for k in 0..g.range(1, 2) {
        let number = format!("+316{:08}", (i * 2 + k) % 100_000_000);
        tx.prepare_cached(recipe("phone"))?.execute(params![pid, number, k == 1, g.chance(0.2), ts(created)])?;
        g.rows += 1;
    }
    tx.prepare_cached(recipe("login"))?.execute(params![
        pid,
        local,
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$generatedgeneratedgenerated",
        if g.chance(0.4) { "totp" } else { "none" },
        ts(created),
        ts(g.ago(30))
    ])?;
    g.rows += 1;
    let ips: Vec<String> =
        (0..3).map(|k| format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, (i + k) & 255)).collect();
    for _ in 0..g.range(args.ip_events / 2, args.ip_events * 3 / 2) {
        let ip = &ips[g.range(0, 2) as usize];
        let event = if g.chance(0.9) { "login" } else { "change" };
        tx.prepare_cached(recipe("ip-event"))?.execute(params![pid, ip, event, ts(g.ago(400))])?;
        g.rows += 1;
    }
    let lines = g.range(args.log_lines / 2, args.log_lines * 3 / 2);
    let mut session = 0i64;
    let mut at = 0i64;
    for n in 0..lines {
        if n % 10 == 0 {
            at = g.ago(210);
            let ip = &ips[g.range(0, 2) as usize];
            tx.prepare_cached(recipe("session"))?.execute(params![pid, ip, g.pick(AGENTS), ts(at), ts(at + 1800)])?;
            session = tx.last_insert_rowid();
            g.rows += 1;
        }
        at += g.range(1, 120) as i64;
        tx.prepare_cached(recipe("log-line"))?.execute(params![
            ts(at),
            ips[0],
            AGENTS[0],
            if n % 7 == 0 { "POST" } else { "GET" },
            g.pick(PATHS),
            session
        ])?;
        g.rows += 1;
    }
    // Anonymous traffic from the same addresses: never attributed to the customer.
    for _ in 0..lines / 10 {
        tx.prepare_cached(recipe("anonymous-log-line"))?.execute(params![ts(g.ago(210)), ips[1], AGENTS[1]])?;
        g.rows += 1;
    }
    let paypal = g.chance(0.5);
    if paypal {
        tx.prepare_cached(recipe("paypal"))?.execute(params![pid, format!("{local}@paypal.example"), ts(created)])?;
    } else {
        tx.prepare_cached(recipe("sepa-debit"))?.execute(params![pid, local, ts(created)])?;
    }
    let method = tx.last_insert_rowid();
    g.rows += 1;
    tx.prepare_cached(recipe("service"))?.execute(params![
        pid,
        "VPS Medium 4GB",
        format!("vps{}.virtio.example", i + 1),
        ts(created),
        ended.map(ts),
        if ended.is_some() { "ended" } else { "active" }
    ])?;
    g.rows += 1;
    if g.chance(0.3) {
        tx.prepare_cached(recipe("domain"))?.execute(params![
            pid,
            format!("customer{}.nl", i + 1),
            local,
            format!("{local}@example.nl"),
            ts(created),
            ts(g.now + 200 * DAY)
        ])?;
        g.rows += 1;
    }
    for q in 0..g.range(1, 3) {
        tx.prepare_cached(recipe("quote"))?.execute(params![
            pid,
            format!("Q{:09}-{q}", i + 1),
            ts(created),
            g.range(500, 50_000) as i64
        ])?;
        g.rows += 1;
    }
    for k in 0..g.range(5, 15) {
        let issued = g.ago(3 * 365).max(created);
        let unpaid = g.chance(0.02);
        let status = if unpaid { "overdue" } else { "paid" };
        let amount = g.range(500, 20_000) as i64;
        tx.prepare_cached(recipe("invoice"))?.execute(params![
            pid,
            format!("F{:09}-{k:02}", i + 1),
            ts(issued),
            ts(issued + 14 * DAY),
            amount,
            local,
            "Kerkstraat 1, Utrecht",
            status,
            (!unpaid).then(|| ts(issued + 7 * DAY))
        ])?;
        let invoice = tx.last_insert_rowid();
        g.rows += 1;
        if unpaid {
            tx.prepare_cached(recipe("reminder"))?.execute(params![invoice, ts(issued + 21 * DAY)])?;
        } else {
            tx.prepare_cached(recipe("payment"))?.execute(params![invoice, method, ts(issued + 7 * DAY), amount])?;
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
        tx.prepare_cached(recipe("ticket"))?.execute(params![pid, ts(opened), ts(opened + 2 * DAY)])?;
        let ticket = tx.last_insert_rowid();
        g.rows += 1;
        for (dir, body) in
            [("in", "My VPS does not boot after the update."), ("out", "We restarted the host; it runs again.")]
        {
            tx.prepare_cached(recipe("message"))?.execute(params![ticket, ts(opened), dir, body])?;
            g.rows += 1;
        }
    }
    if g.chance(0.1) {
        for _ in 0..g.range(1, 3) {
            tx.prepare_cached(recipe("crash"))?.execute(params![pid, ts(g.ago(180))])?;
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
    tx.prepare_cached(recipe("application"))?.execute(params![
        pid,
        ts(applied),
        if hired { "hired" } else { "rejected" },
        ts(applied + 30 * DAY)
    ])?;
    let application = tx.last_insert_rowid();
    tx.prepare_cached(recipe("cv"))?.execute(params![
        application,
        b"Curriculum vitae\nExperience: Linux, networking.\n".as_slice(),
        ts(applied)
    ])?;
    g.rows += 2;
    Ok(())
}

fn visitor(tx: &Transaction<'_>, g: &mut Gen, i: u64) -> rusqlite::Result<()> {
    let pid = 3_000_000_000 + i as i64;
    let seen = g.ago(500);
    person(tx, g, pid, "cookie", seen, false)?;
    tx.prepare_cached(recipe("cookie"))?.execute(params![
        pid,
        format!("_vid.{:016x}", i.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        ts(seen),
        ts(seen + 20 * DAY),
        AGENTS[2]
    ])?;
    let cookie = tx.last_insert_rowid();
    g.rows += 1;
    let granted = g.chance(0.6);
    consent(tx, g, pid, "analytics", granted, seen, Some(cookie))
}
