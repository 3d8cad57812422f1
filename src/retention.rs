//! Storage limitation (GDPR Art. 5(1)(e)): `dsr retention run` applies every retention rule of the
//! register, table by table, in small transactions, so it can be killed at any point and run again
//! (each batch is whole or not at all), and an officer's command waits at most one batch. Rows of a
//! person whose data is restricted for legal claims are never touched, nor are unpaid invoices, nor
//! the rows of a person with an open access, export or rectification request (the answer shows the
//! data as it was when asked). Ended contracts are handled by the erasure planner (invoices stay for
//! the tax law; a consent in force keeps the person and the address it covers). After the
//! register's rules come dsr's own: used or expired codes, requests closed more than three years
//! ago, and people left with nothing but contact details and no consent on record.

mod expiry;
mod own;

use std::collections::HashSet;

use chrono::{DateTime, Months, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use serde_json::json;

use crate::audit;
use crate::clock::{stamp, Clock};
use crate::register::{Register, RetentionRule};
use crate::rights::erase;
use crate::store::personal::DataMap;

pub use expiry::check;
use expiry::{expiry, not_held, Expiry};

#[derive(Debug, Clone, Serialize)]
pub struct RuleResult {
    pub rule: String,
    pub table: String,
    pub period_months: i64,
    pub removed: u64,
    /// Rows (for the whole profile: people) that had expired but were held back for an open request.
    pub held: u64,
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
    /// Expired rows held back because their person has an open request, and how many people.
    pub held_rows: u64,
    pub held_persons: u64,
    pub failed: usize,
    pub seconds: f64,
}

fn cutoff(now: DateTime<Utc>, months: i64) -> String {
    stamp(now.checked_sub_months(Months::new(months.max(0) as u32)).unwrap_or(now))
}

struct Runner<'a> {
    conn: &'a mut Connection,
    /// The store's data map: which table is what, and how its rows reach a person.
    map: std::sync::Arc<DataMap>,
    clock: Clock,
    batch: u64,
    dry_run: bool,
    /// Whether any legal-claims restriction is active: when none is, rows need no per-row check.
    holds: bool,
    /// Whether anyone waits for an access, export or rectification answer (likewise).
    waiting: bool,
    /// The people whose expired rows were held back for their open request.
    held_persons: HashSet<i64>,
}

impl Runner<'_> {
    /// Delete (or count) the rows of `table` matching `cond`, children first, batch by batch.
    fn sweep(
        &mut self,
        rule: &str,
        table: &str,
        cond: &str,
        children: &[(String, String)],
        cut: &str,
        categories: &str,
    ) -> anyhow::Result<u64> {
        // Codes and requests belong to no one's data; everything else honours legal-claims holds
        // and the answers people wait for.
        let personal = self.map.table(table).is_some();
        let mut cond = if !personal || !self.holds {
            format!("({cond}) AND ?2 = ?2")
        } else {
            format!("({cond}) AND {}", not_held(&self.map, table))
        };
        if personal && self.waiting {
            if let Some(frozen) = expiry::not_frozen(&self.map, table) {
                cond = format!("{cond} AND {frozen}");
            }
        }
        let from = self.map.sql_name(table);
        if self.dry_run {
            return Ok(self.conn.query_row(
                &format!("SELECT count(*) FROM {from} WHERE {cond}"),
                params![cut, categories],
                |r| r.get::<_, i64>(0),
            )? as u64);
        }
        // References that would block the delete are cleared: a record that refers to the row keeps
        // its own rows (a payment its record, a consent its proof).
        let unlink = if personal { self.map.references_to(self.conn, table)? } else { Vec::new() };
        let mut total = 0;
        if children.is_empty() && unlink.is_empty() {
            // The common case (logs, IP history, crash data): one statement per batch.
            let sql = format!(
                "DELETE FROM {from} WHERE rowid IN (SELECT rowid FROM {from} WHERE {cond} LIMIT {})",
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
                &format!("INSERT INTO temp.retention_ids SELECT rowid FROM {from} WHERE {cond} LIMIT {}", self.batch),
                params![cut, categories],
            )?;
            if picked == 0 {
                break;
            }
            let ids = format!("(SELECT id FROM {from} WHERE rowid IN (SELECT id FROM temp.retention_ids))");
            for (child, link) in children {
                let child = self.map.sql_name(child);
                tx.execute(&format!("DELETE FROM {child} WHERE {}", link.replace("{ids}", &ids)), [])?;
            }
            for (other, column) in &unlink {
                tx.execute(&format!("UPDATE {other} SET {column} = NULL WHERE {column} IN {ids}"), [])?;
            }
            let n = tx.execute(&format!("DELETE FROM {from} WHERE rowid IN (SELECT id FROM temp.retention_ids)"), [])?
                as u64;
            progress(&tx, rule, n)?;
            tx.commit()?;
            total += n;
        }
        Ok(total)
    }

    /// How many rows matching `cond` belong to people with an open request: counted before the
    /// sweep, so a dry run and a real run report the same.
    fn held(&mut self, table: &str, cond: &str, cut: &str) -> anyhow::Result<u64> {
        let Some(sql) = expiry::held_query(&self.map, table, cond).filter(|_| self.waiting) else {
            return Ok(0);
        };
        let per_person: Vec<(i64, i64)> =
            self.conn.prepare(&sql)?.query_map([cut], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
        let mut rows = 0;
        for (person, n) in per_person.into_iter().filter(|(_, n)| *n > 0) {
            self.held_persons.insert(person);
            rows += n as u64;
        }
        Ok(rows)
    }
}

/// A person with a pending request is left for that request to decide first.
const HAS_OPEN_REQUEST: &str =
    "SELECT EXISTS (SELECT 1 FROM request WHERE person_id = ?1 AND state IN ('awaiting-verification', 'verified'))";

/// The person ids of ended contracts past the profile's retention, one erasure each: (erased, held
/// back for an open request).
fn ended_contracts(r: &mut Runner<'_>, cut: &str, rule: &str) -> anyhow::Result<(u64, u64)> {
    let (Some((contract, _)), Some(ended)) = (r.map.contract_table(), r.map.contract_ended()) else {
        anyhow::bail!("the data map records no end of a contract");
    };
    let person = r.map.person_of(&contract.name).unwrap_or_else(|| "NULL".into());
    let mut people: Vec<i64> = r
        .conn
        .prepare(&format!(
            "SELECT {person} FROM {} WHERE {ended} AND {}",
            contract.sql_name(),
            not_held(&r.map, &contract.name)
        ))?
        .query_map(params![cut, "*"], |x| x.get::<_, Option<i64>>(0))?
        .filter_map(Result::transpose)
        .collect::<Result<_, _>>()?;
    // A person with several ended contracts is erased once.
    let mut seen = HashSet::new();
    people.retain(|p| seen.insert(*p));
    // A consent on record (in force, or the proof of one withdrawn, kept for its period) or an
    // opt-in: a relationship of its own, which an ended contract does not end.
    let has_consent = format!("SELECT {}", r.map.consent_on_record());
    let mut held = 0;
    if r.dry_run {
        let mut n = 0;
        for p in &people {
            let open: bool = r.conn.query_row(HAS_OPEN_REQUEST, [p], |x| x.get(0))?;
            if open {
                held += 1;
                r.held_persons.insert(*p);
            }
            n += u64::from(!open);
        }
        return Ok((n, held));
    }
    let keys = crate::keys::Keys::load(r.conn)?;
    let mut erased = 0;
    for p in &people {
        let s = crate::subject::subject(r.conn, *p)?;
        let tx = r.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let open: bool = tx.query_row(HAS_OPEN_REQUEST, [p], |x| x.get(0))?;
        if open {
            held += 1;
            r.held_persons.insert(*p);
            continue; // a pending request decides first
        }
        let consent: bool = tx.query_row(&has_consent, [p], |x| x.get(0))?;
        let plan = if consent {
            // The person stays on file for the consent, so no identifier of theirs is suppressed.
            erase::plan_keeping_consent(&tx, &s, &r.clock.timestamp())?
        } else {
            let plan = erase::plan(&tx, &s, &r.clock.timestamp())?;
            crate::rights::object::suppress(&tx, &r.clock, &keys, None, &s, "erased")?;
            plan
        };
        erase::apply(&tx, &s, &plan)?;
        progress(&tx, rule, 1)?;
        tx.commit()?;
        erased += 1;
    }
    Ok((erased, held))
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
    let (mut removed, error) = match outcome {
        Ok(n) => (n, None),
        Err(e) => (0, Some(format!("{e:#}"))),
    };
    if !dry_run {
        // The entry replaces the rule's progress count, in one transaction.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if error.is_some() {
            // A rule that failed part-way (a lock, a full disk) removed what its committed batches
            // removed: the progress row counted exactly those.
            removed = tx
                .query_row("SELECT value FROM store_meta WHERE key = 'retention-progress:' || ?1", [rule], |r| {
                    r.get::<_, i64>(0)
                })
                .optional()?
                .unwrap_or(0) as u64;
        }
        if removed > 0 {
            let mut details = json!({"rule": rule, "table": table, "removed": removed});
            if let Some(e) = &error {
                details["error"] = json!(e);
            }
            audit::append(&tx, clock, None, None, "retention", details)?;
        }
        tx.execute("DELETE FROM store_meta WHERE key = 'retention-progress:' || ?1", [rule])?;
        tx.commit()?;
    }
    Ok(RuleResult { rule: rule.into(), table: table.into(), period_months, removed, held: 0, error, seconds: 0.0 })
}

pub fn run(
    conn: &mut Connection,
    clock: Clock,
    register: &Register,
    dry_run: bool,
    batch: u64,
) -> anyhow::Result<Summary> {
    run_with_progress(conn, clock, register, dry_run, batch, &mut |_, _| {})
}

/// [`run`], telling `progress` the code of each rule as it starts and how many rules there are
/// (the register's and dsr's own housekeeping), for a progress bar on a terminal.
pub fn run_with_progress(
    conn: &mut Connection,
    clock: Clock,
    register: &Register,
    dry_run: bool,
    batch: u64,
    progress: &mut dyn FnMut(&str, usize),
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
    // A request never verified in time is expired first (as every command that acts on requests
    // does), in a dry run too, so that it does not hold its person's rows back.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    crate::request::expire_stale(&tx, &clock)?;
    tx.commit()?;
    let waiting: bool = conn.query_row(&format!("SELECT EXISTS ({})", expiry::WAITING), [], |x| x.get(0))?;
    let map = DataMap::load(conn)?;
    let mut results = Vec::new();
    // Children before parents where one rule's rows hang from another's, each counted from its own
    // moment; the whole profile last.
    let mut rules: Vec<&RetentionRule> = register.retention.iter().collect();
    let all = rules.clone();
    rules.sort_by_key(|x| expiry::order(&map, &all, x));
    let mut r = Runner { conn, map, clock, batch, dry_run, holds, waiting, held_persons: HashSet::new() };
    let total = rules.len() + 3;
    for rule in rules {
        progress(&rule.code, total);
        let started = std::time::Instant::now();
        let cut = cutoff(now, rule.period_months);
        let reach = |children: &[(String, String)]| {
            let mut cats = vec![rule.category.clone()];
            cats.extend(children.iter().filter_map(|(t, _)| register.category_of_table(t)).map(|c| c.code.clone()));
            cats.join(",")
        };
        let (outcome, held) = match expiry(&r.map, rule, now) {
            Ok(Expiry::Profile) => match ended_contracts(&mut r, &cut, &rule.code) {
                Ok((erased, held)) => (Ok(erased), held),
                Err(e) => (Err(e), 0),
            },
            Ok(Expiry::Rows { cond, children }) => match r.held(&rule.table, &cond, &cut) {
                Ok(held) => (r.sweep(&rule.code, &rule.table, &cond, &children, &cut, &reach(&children)), held),
                Err(e) => (Err(e), 0),
            },
            // A store loaded before the engine checked its register: a failure, never "removed 0".
            Err(why) => (Err(anyhow::anyhow!(why)), 0),
        };
        let mut result = finish(r.conn, &clock, dry_run, &rule.code, &rule.table, rule.period_months, outcome)?;
        result.held = held;
        result.seconds = started.elapsed().as_secs_f64();
        results.push(result);
    }
    // dsr's own housekeeping.
    let own = own::rules(&r.map, r.conn, now)?;
    for own::Rule { code, table, cond, children, cut } in own {
        progress(code, total);
        let started = std::time::Instant::now();
        let outcome = r.sweep(code, &table, &cond, &children, &cut, "*");
        let mut result = finish(r.conn, &clock, dry_run, code, &table, 0, outcome)?;
        result.seconds = started.elapsed().as_secs_f64();
        results.push(result);
    }
    Ok(Summary {
        format_version: 1,
        dry_run,
        now: clock.timestamp(),
        removed: results.iter().map(|x| x.removed).sum(),
        held_rows: results.iter().map(|x| x.held).sum(),
        held_persons: r.held_persons.len() as u64,
        failed: results.iter().filter(|x| x.error.is_some()).count(),
        rules: results,
        seconds: run_started.elapsed().as_secs_f64(),
    })
}
