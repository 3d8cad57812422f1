//! Storage limitation (GDPR Art. 5(1)(e)): `dsr retention run` applies every retention rule of the
//! register, table by table, in small transactions, so it can be killed at any point and run again
//! (each batch is whole or not at all), and an officer's command waits at most one batch. Rows of a
//! person whose data is restricted for legal claims are never touched, nor are unpaid invoices.
//! Ended contracts are handled by the erasure planner (invoices stay for the tax law). After the
//! register's rules come dsr's own: used or expired codes, requests closed more than three years
//! ago, and people left with nothing but contact details.

use chrono::{DateTime, Datelike, Months, Utc};
use rusqlite::{params, Connection, TransactionBehavior};
use serde::Serialize;
use serde_json::json;

use crate::audit;
use crate::clock::{stamp, Clock};
use crate::register::{Register, RetentionRule};
use crate::rights::erase;

#[derive(Debug, Clone, Serialize)]
pub struct RuleResult {
    pub rule: String,
    pub table: String,
    pub period_months: i64,
    pub removed: u64,
    pub error: Option<String>,
    /// Time the rule took (its sweep and its audit entry).
    pub seconds: f64,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub format_version: u32,
    pub dry_run: bool,
    pub now: String,
    pub rules: Vec<RuleResult>,
    pub removed: u64,
    pub failed: usize,
    pub seconds: f64,
}

/// Which person a row of a table belongs to (SQL over the table's own columns).
fn person_of(table: &str) -> &'static str {
    match table {
        "person" => "id",
        "ip_event" | "web_session" | "payment_method" | "quote" | "invoice" | "service" | "domain" | "company" | "login_account" => {
            "(SELECT person_id FROM customer WHERE customer.id = customer_id)"
        }
        "server_log" => "(SELECT c.person_id FROM web_session s JOIN customer c ON c.id = s.customer_id WHERE s.id = session_id)",
        "dunning_event" | "payment" => "(SELECT c.person_id FROM invoice i JOIN customer c ON c.id = i.customer_id WHERE i.id = invoice_id)",
        "application_document" => "(SELECT person_id FROM application a WHERE a.id = application_id)",
        "ticket_message" => "(SELECT person_id FROM ticket t WHERE t.id = ticket_id)",
        "unsolicited_data" => "(SELECT t.person_id FROM ticket_message m JOIN ticket t ON t.id = m.ticket_id WHERE m.id = ticket_message_id)",
        _ => "person_id",
    }
}

/// Never touch a person under a legal-claims restriction (Art. 18(1)(c)). ?2 is the comma-separated
/// list of categories a sweep reaches: the rule's own and those of the child rows it clears with it
/// (a session takes its log lines along, so a hold on server logs keeps the session too); `*`
/// stands for every category (a whole profile).
fn not_held(table: &str) -> String {
    format!(
        "coalesce({}, -1) NOT IN (SELECT person_id FROM restriction WHERE ground = 'legal-claims' AND lifted_at IS NULL
           AND person_id IS NOT NULL AND (category IS NULL OR ?2 = '*' OR instr(',' || ?2 || ',', ',' || category || ',') > 0))",
        person_of(table)
    )
}

fn event_column(table: &str) -> Option<&'static str> {
    Some(match table {
        "ip_event" | "dunning_event" | "crash_report" => "occurred_at",
        "web_session" => "started_at",
        "server_log" => "logged_at",
        "disclosure" => "disclosed_at",
        "unsolicited_data" => "noted_at",
        "ticket_message" => "sent_at",
        _ => return None,
    })
}

const UNPAID: &str = "('open', 'overdue', 'collection')";

/// What expires under a rule: the condition (with ?1 = the cut-off) and child tables to clear
/// first, as (table, condition) where `{ids}` stands for the ids of the parent rows of the batch.
fn expiry(rule: &RetentionRule, now: DateTime<Utc>) -> Option<(String, Vec<(&'static str, &'static str)>)> {
    let t = rule.table.as_str();
    let cond = match (rule.starts_at.as_str(), t) {
        ("event", _) => format!("{} < ?1", event_column(t)?),
        ("fiscal-year-end", "invoice") => format!("status NOT IN {UNPAID} AND CAST(substr(issued_at, 1, 4) AS INTEGER) + {} < {}", rule.period_months / 12, now.year()),
        ("fiscal-year-end", "quote") => format!(
            "CAST(substr(created_at, 1, 4) AS INTEGER) + {} < {} AND id NOT IN (SELECT quote_id FROM invoice WHERE quote_id IS NOT NULL)",
            rule.period_months / 12,
            now.year()
        ),
        ("fiscal-year-end", "payment") => format!(
            "invoice_id IN (SELECT id FROM invoice WHERE status NOT IN {UNPAID} AND CAST(substr(issued_at, 1, 4) AS INTEGER) + {} < {})",
            rule.period_months / 12,
            now.year()
        ),
        ("decision-not-hired", "application") => "status IN ('rejected', 'withdrawn') AND decided_at < ?1".into(),
        ("decision-not-hired", "application_document") => "application_id IN (SELECT id FROM application WHERE status IN ('rejected', 'withdrawn') AND decided_at < ?1)".into(),
        ("ticket-closed", "ticket") => "closed_at < ?1".into(),
        ("last-seen", "cookie") => "last_seen_at < ?1".into(),
        ("consent-withdrawn", "consent") => "EXISTS (SELECT 1 FROM consent w WHERE w.person_id = consent.person_id AND w.purpose = consent.purpose
               AND w.granted = 0 AND w.recorded_at < ?1 AND w.recorded_at >= consent.recorded_at)"
            .into(),
        ("contract-end", "person") => return None, // the whole profile: see `ended_contracts`
        ("contract-end", _) => {
            let owner = if ["email_address", "phone_number", "supplementary_statement"].contains(&t) { "person_id IN (SELECT person_id FROM customer" } else { "customer_id IN (SELECT id FROM customer" };
            format!("{owner} WHERE ended_at IS NOT NULL AND ended_at < ?1)")
        }
        _ => return None,
    };
    let children: Vec<(&str, &str)> = match t {
        "ticket" => vec![
            ("unsolicited_data", "ticket_message_id IN (SELECT id FROM ticket_message WHERE ticket_id IN {ids})"),
            ("ticket_message", "ticket_id IN {ids}"),
        ],
        "application" => vec![("application_document", "application_id IN {ids}")],
        "invoice" => vec![("payment", "invoice_id IN {ids}"), ("dunning_event", "invoice_id IN {ids}")],
        "web_session" => vec![("server_log", "session_id IN {ids}")],
        _ => vec![],
    };
    Some((cond, children))
}

fn cutoff(now: DateTime<Utc>, months: i64) -> String {
    stamp(now.checked_sub_months(Months::new(months.max(0) as u32)).unwrap_or(now))
}

struct Runner<'a> {
    conn: &'a mut Connection,
    clock: Clock,
    batch: u64,
    dry_run: bool,
    /// Whether any legal-claims restriction is active: when none is, rows need no per-row check.
    holds: bool,
}

impl Runner<'_> {
    /// Delete (or count) the rows of `table` matching `cond`, children first, batch by batch.
    fn sweep(
        &mut self,
        rule: &str,
        table: &str,
        cond: &str,
        children: &[(&str, &str)],
        cut: &str,
        categories: &str,
    ) -> anyhow::Result<u64> {
        // Codes and requests belong to no one's data; everything else honours legal-claims holds.
        let cond = if matches!(table, "challenge" | "request") || !self.holds {
            format!("({cond}) AND ?2 = ?2")
        } else {
            format!("({cond}) AND {}", not_held(table))
        };
        if self.dry_run {
            return Ok(self.conn.query_row(
                &format!("SELECT count(*) FROM {table} WHERE {cond}"),
                params![cut, categories],
                |r| r.get::<_, i64>(0),
            )? as u64);
        }
        // Links that would block the delete are cleared: a payment keeps its record, a consent its proof.
        let unlink: &[(&str, &str)] = match table {
            "payment_method" => &[("payment", "payment_method_id")],
            "cookie" => &[("consent", "cookie_id")],
            _ => &[],
        };
        let mut total = 0;
        if children.is_empty() && unlink.is_empty() {
            // The common case (logs, IP history, crash data): one statement per batch.
            let sql = format!(
                "DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} WHERE {cond} LIMIT {})",
                self.batch
            );
            loop {
                let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let n = tx.execute(&sql, params![cut, categories])? as u64;
                progress(&tx, rule, n)?;
                tx.commit()?;
                total += n;
                if n < self.batch {
                    return Ok(total);
                }
            }
        }
        loop {
            let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute("DELETE FROM temp.retention_ids", [])?;
            let picked = tx.execute(
                &format!("INSERT INTO temp.retention_ids SELECT rowid FROM {table} WHERE {cond} LIMIT {}", self.batch),
                params![cut, categories],
            )?;
            if picked == 0 {
                break;
            }
            let ids = format!("(SELECT id FROM {table} WHERE rowid IN (SELECT id FROM temp.retention_ids))");
            for (child, link) in children {
                tx.execute(&format!("DELETE FROM {child} WHERE {}", link.replace("{ids}", &ids)), [])?;
            }
            for (other, column) in unlink {
                tx.execute(&format!("UPDATE {other} SET {column} = NULL WHERE {column} IN {ids}"), [])?;
            }
            let n = tx
                .execute(&format!("DELETE FROM {table} WHERE rowid IN (SELECT id FROM temp.retention_ids)"), [])?
                as u64;
            progress(&tx, rule, n)?;
            tx.commit()?;
            total += n;
        }
        Ok(total)
    }
}

/// A person with a pending request is left for that request to decide first.
const HAS_OPEN_REQUEST: &str =
    "SELECT EXISTS (SELECT 1 FROM request WHERE person_id = ?1 AND state IN ('awaiting-verification', 'verified'))";

/// The person ids of ended contracts past the profile's retention, one erasure each.
fn ended_contracts(r: &mut Runner<'_>, cut: &str, rule: &str) -> anyhow::Result<u64> {
    let people: Vec<i64> = r
        .conn
        .prepare(&format!(
            "SELECT person_id FROM customer WHERE ended_at IS NOT NULL AND ended_at < ?1 AND {}",
            not_held("customer").replace("customer_id", "customer.id")
        ))?
        .query_map(params![cut, "*"], |x| x.get(0))?
        .collect::<Result<_, _>>()?;
    if r.dry_run {
        let mut n = 0;
        for p in &people {
            let open: bool = r.conn.query_row(HAS_OPEN_REQUEST, [p], |x| x.get(0))?;
            n += u64::from(!open);
        }
        return Ok(n);
    }
    let keys = crate::keys::Keys::load(r.conn)?;
    let mut erased = 0;
    for p in &people {
        let s = crate::subject::subject(r.conn, *p)?;
        let tx = r.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let open: bool = tx.query_row(HAS_OPEN_REQUEST, [p], |x| x.get(0))?;
        if open {
            continue; // a pending request decides first
        }
        let plan = erase::plan(&tx, &s, &r.clock.timestamp())?;
        crate::rights::object::suppress(&tx, &r.clock, &keys, None, &s, "erased")?;
        erase::apply(&tx, &s, &plan)?;
        progress(&tx, rule, 1)?;
        tx.commit()?;
        erased += 1;
    }
    Ok(erased)
}

/// Count a batch's rows in the store, in the batch's own transaction, until the rule's audit entry
/// is written: a run killed part-way leaves what it removed there, and the next run records it.
fn progress(tx: &Connection, rule: &str, n: u64) -> rusqlite::Result<()> {
    if n > 0 {
        tx.execute(
            "INSERT INTO store_meta (key, value) VALUES ('retention-progress:' || ?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = value + excluded.value",
            params![rule, n as i64],
        )?;
    }
    Ok(())
}

/// Audit what an interrupted earlier run removed (its progress rows), once.
fn record_interrupted(conn: &mut Connection, clock: &Clock) -> anyhow::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let left: Vec<(String, i64)> = tx
        .prepare("SELECT substr(key, length('retention-progress:') + 1), value FROM store_meta WHERE key LIKE 'retention-progress:%' ORDER BY key")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    if !left.is_empty() {
        let rules: serde_json::Map<String, serde_json::Value> = left.into_iter().map(|(k, v)| (k, json!(v))).collect();
        audit::append(&tx, clock, None, None, "retention-interrupted", json!({"removed": rules}))?;
        tx.execute("DELETE FROM store_meta WHERE key LIKE 'retention-progress:%'", [])?;
    }
    tx.commit()?;
    Ok(())
}

/// Record one rule's outcome: an audit entry when rows went, the error when it failed.
fn finish(
    conn: &mut Connection,
    clock: &Clock,
    dry_run: bool,
    rule: &str,
    table: &str,
    period_months: i64,
    outcome: anyhow::Result<u64>,
) -> anyhow::Result<RuleResult> {
    let (removed, error) = match outcome {
        Ok(n) => (n, None),
        Err(e) => (0, Some(format!("{e:#}"))),
    };
    if !dry_run {
        // The entry replaces the rule's progress count, in one transaction.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if removed > 0 {
            audit::append(
                &tx,
                clock,
                None,
                None,
                "retention",
                json!({"rule": rule, "table": table, "removed": removed}),
            )?;
        }
        tx.execute("DELETE FROM store_meta WHERE key = 'retention-progress:' || ?1", [rule])?;
        tx.commit()?;
    }
    Ok(RuleResult { rule: rule.into(), table: table.into(), period_months, removed, error, seconds: 0.0 })
}

/// dsr's own rules: (code, table, condition, children, cut-off).
type OwnRule<'a> = (&'a str, &'a str, &'a str, &'a [(&'a str, &'a str)], &'a str);

pub fn run(
    conn: &mut Connection,
    clock: Clock,
    register: &Register,
    dry_run: bool,
    batch: u64,
) -> anyhow::Result<Summary> {
    let run_started = std::time::Instant::now();
    let now = clock.now();
    conn.execute_batch("CREATE TEMP TABLE IF NOT EXISTS retention_ids (id INTEGER PRIMARY KEY)")?;
    let holds: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM restriction WHERE ground = 'legal-claims' AND lifted_at IS NULL)",
        [],
        |x| x.get(0),
    )?;
    if !dry_run {
        record_interrupted(conn, &clock)?;
    }
    let mut r = Runner { conn, clock, batch, dry_run, holds };
    let mut results = Vec::new();
    // Children before parents where one rule's table is another's child: logs before sessions.
    let mut rules: Vec<&RetentionRule> = register.retention.iter().collect();
    let order = |t: &str| match t {
        "server_log" => 0,
        "web_session" => 1,
        "person" => 9,
        _ => 5,
    };
    rules.sort_by_key(|x| order(&x.table));
    for rule in rules {
        let started = std::time::Instant::now();
        let cut = cutoff(now, rule.period_months);
        let reach = |children: &[(&str, &str)]| {
            let mut cats = vec![rule.category.clone()];
            cats.extend(children.iter().filter_map(|(t, _)| register.category_of_table(t)).map(|c| c.code.clone()));
            cats.join(",")
        };
        let outcome = if rule.starts_at == "contract-end" && rule.table == "person" {
            ended_contracts(&mut r, &cut, &rule.code)
        } else {
            match expiry(rule, now) {
                Some((cond, children)) => r.sweep(&rule.code, &rule.table, &cond, &children, &cut, &reach(&children)),
                None => Ok(0),
            }
        };
        let mut result = finish(r.conn, &clock, dry_run, &rule.code, &rule.table, rule.period_months, outcome)?;
        result.seconds = started.elapsed().as_secs_f64();
        results.push(result);
    }
    // dsr's own housekeeping.
    let day = stamp(now - chrono::Duration::days(1));
    let three_years = cutoff(now, 36);
    let own: [OwnRule; 3] = [
        ("verification-codes", "challenge", "(state <> 'active' AND created_at < ?1) OR expires_at < ?1", &[], day.as_str()),
        (
            "closed-requests",
            "request",
            "state IN ('completed', 'rejected', 'expired') AND closed_at < ?1 AND id NOT IN (SELECT request_id FROM restriction)
             AND id NOT IN (SELECT request_id FROM objection) AND id NOT IN (SELECT request_id FROM decision_review)
             AND id NOT IN (SELECT request_id FROM supplementary_statement WHERE request_id IS NOT NULL)
             AND id NOT IN (SELECT request_id FROM suppression WHERE request_id IS NOT NULL)",
            &[("challenge", "request_id IN {ids}"), ("notification", "request_id IN {ids}"), ("erasure_plan", "request_id IN {ids}")],
            three_years.as_str(),
        ),
        (
            "people-without-relation",
            "person",
            "id NOT IN (SELECT person_id FROM customer) AND id NOT IN (SELECT person_id FROM application) AND id NOT IN (SELECT person_id FROM ticket)
             AND id NOT IN (SELECT person_id FROM cookie) AND id NOT IN (SELECT person_id FROM crash_report) AND id NOT IN (SELECT person_id FROM disclosure)
             AND id NOT IN (SELECT person_id FROM request WHERE person_id IS NOT NULL AND state IN ('awaiting-verification', 'verified'))",
            &[
                ("email_address", "person_id IN {ids}"),
                ("phone_number", "person_id IN {ids}"),
                ("consent", "person_id IN {ids}"),
                ("supplementary_statement", "person_id IN {ids}"),
            ],
            "",
        ),
    ];
    for (code, table, cond, children, cut) in own {
        let started = std::time::Instant::now();
        let outcome = r.sweep(code, table, cond, children, cut, "*");
        let mut result = finish(r.conn, &clock, dry_run, code, table, 0, outcome)?;
        result.seconds = started.elapsed().as_secs_f64();
        results.push(result);
    }
    Ok(Summary {
        format_version: 1,
        dry_run,
        now: clock.timestamp(),
        removed: results.iter().map(|x| x.removed).sum(),
        failed: results.iter().filter(|x| x.error.is_some()).count(),
        rules: results,
        seconds: run_started.elapsed().as_secs_f64(),
    })
}
