//! Storage limitation (GDPR Art. 5(1)(e)): `dsr retention run` applies every retention rule of the
//! register, table by table, in small transactions, so it can be killed at any point and run again
//! (each batch is whole or not at all), and an officer's command waits at most one batch. Rows of a
//! person whose data is restricted for legal claims or instead of erasure are never touched, nor unpaid invoices, nor
//! the rows of a person with an open access, export or rectification request (the answer shows the
//! data as it was when asked). Ended contracts are handled by the erasure planner (invoices stay for
//! the tax law; a consent in force keeps the person and the address it covers). After the
//! register's rules come dsr's own: used or expired codes, requests closed more than three years
//! ago, and people left with nothing but contact details and no consent on record.

mod expiry;
mod own;
mod pages;
mod profile;
mod progress;
use progress::{finish, progress, record_interrupted};

use std::collections::HashSet;

use crate::store::db::{Conn, Db, Dialect};
use crate::vals;
use chrono::{DateTime, Months, Utc};
use serde::Serialize;

use crate::clock::{stamp, Clock};
use crate::register::{Register, RetentionRule};
use crate::store::personal::DataMap;

pub use expiry::check;
use expiry::{expiry, not_held, Expiry};
use profile::ended_contracts;

#[derive(Debug, Clone, Serialize)]
pub struct RuleResult {
    pub rule: String,
    pub table: String,
    pub period_months: i64,
    pub removed: u64,
    /// Rows of other tables removed with them (an application's documents with the application).
    pub removed_with: u64,
    /// Rows (for the whole profile: people) that had expired but were held back for an open request.
    pub held: u64,
    pub error: Option<String>,
    /// Time the rule took (its sweep and its audit entry).
    pub seconds: f64,
    /// The rule's audit entry could not be written (the store stopped the run): its committed
    /// batches' rows are in the progress row, which the next run records.
    #[serde(skip)]
    pub unaudited: bool,
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
    /// The store itself failed under the run (locked past the busy timeout, full, damaged)
    /// where a rule's outcome was to be recorded: the run stopped there, with this error.
    #[serde(skip)]
    pub stopped: Option<anyhow::Error>,
}

fn cutoff(now: DateTime<Utc>, months: i64) -> String {
    // A period longer than the calendar reaches back (a register made before periods were
    // bounded) expires nothing: a time before any row, never now.
    let months = u32::try_from(months.max(0)).unwrap_or(u32::MAX);
    match now.checked_sub_months(Months::new(months)).filter(|t| chrono::Datelike::year(t) >= 1) {
        Some(t) => stamp(t),
        None => "0001-01-01T00:00:00Z".into(),
    }
}

struct Runner<'a> {
    conn: &'a dyn Conn,
    /// The store's data map: which table is what, and how its rows reach a person.
    map: std::sync::Arc<DataMap>,
    clock: Clock,
    batch: u64,
    dry_run: bool,
    /// Whether any restriction that keeps data is active: when none is, rows need no per-row check.
    holds: bool,
    /// Whether anyone waits for an access, export or rectification answer (likewise).
    waiting: bool,
    /// The people whose expired rows were held back for their open request.
    held_persons: HashSet<i64>,
    /// Rows of other tables the current rule's sweep removed (or would remove) with its rows.
    with: u64,
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
        // Codes and requests belong to no one's data; everything else honours the restrictions
        // and the answers people wait for.
        let personal = self.map.table(table).is_some();
        let mut cond = if !personal || !self.holds {
            format!("({cond}) AND ?2 = ?2")
        } else {
            format!("({cond}) AND {}", not_held(&self.map, table))
        };
        let from = self.map.sql_name(table);
        // The map's tables' dialect is SQLite's for the company's files beside a PostgreSQL store.
        let dialect = if personal { self.conn.map_dialect() } else { self.conn.dialect() };
        let pg = dialect == Dialect::Postgres;
        // On PostgreSQL the rows held back for waiting requests are found once per rule (and again
        // when the waiting requests change), not by each batch: see `pages.rs`.
        let mut held_back = None;
        if personal && self.waiting {
            match expiry::frozen(&self.map, table, &self.clock) {
                Some(frozen) if pg && !self.dry_run && pages::has_rowid(self.conn, &from)? => held_back = Some(frozen),
                Some(frozen) => cond = format!("{cond} AND ({frozen}) IS NOT TRUE"),
                None => {}
            }
        }
        if self.dry_run {
            // The rows, and the rows of other tables the sweep removes with them (counted with
            // the rule, as a real run counts them).
            let db: &dyn Db = self.conn;
            let count = |sql: String| db.one(&sql, &vals![cut, categories]?, |r| r.get::<i64>(0));
            let ids = format!("(SELECT id FROM {from} WHERE {cond})");
            for (child, link) in children {
                let child = self.map.sql_name(child);
                self.with +=
                    count(format!("SELECT count(*) FROM {child} WHERE {}", link.replace("{ids}", &ids)))? as u64;
            }
            return Ok(count(format!("SELECT count(*) FROM {from} WHERE {cond}"))? as u64);
        }
        // References that would block the delete are cleared: a record that refers to the row keeps
        // its own rows (a payment its record, a consent its proof).
        let unlink = if personal { self.map.references_to(self.conn, table)? } else { Vec::new() };
        let mut total = 0;
        // A batch's rows by where they are: SQLite's rowid (the table's own B-tree key), or
        // PostgreSQL's ctid (a row's place, found without an index; read and deleted in one
        // transaction, so it cannot move in between).
        if pg {
            return self.sweep_blocks(rule, &from, &cond, held_back.as_deref(), children, &unlink, cut, categories);
        }
        let (place, temp) = ("rowid", "temp");
        let within = |rows: &str| format!("IN ({rows})");
        if children.is_empty() && unlink.is_empty() {
            // The common case (logs, IP history, crash data): one statement per batch.
            let sql = format!(
                "DELETE FROM {from} WHERE {place} {}",
                within(&format!("SELECT {place} FROM {from} WHERE {cond} LIMIT {}", self.batch))
            );
            loop {
                let tx = self.conn.begin()?;
                let n = tx.run(&sql, &vals![cut, categories]?)? as u64;
                progress(&*tx, rule, n, 0)?;
                tx.commit()?;
                total += n;
                if n < self.batch {
                    return Ok(total);
                }
            }
        }
        loop {
            let tx = self.conn.begin()?;
            tx.run(&format!("DELETE FROM {temp}.retention_ids"), &[])?;
            let picked = tx.run(
                &format!(
                    "INSERT INTO {temp}.retention_ids SELECT {place} FROM {from} WHERE {cond} LIMIT {}",
                    self.batch
                ),
                &vals![cut, categories]?,
            )?;
            if picked == 0 {
                break;
            }
            let batch = within(&format!("SELECT id FROM {temp}.retention_ids"));
            let ids = format!("(SELECT id FROM {from} WHERE {place} {batch})");
            // The rows of other tables removed with them: counted apart (`removed_with`).
            let mut with = 0;
            for (child, link) in children {
                let child = self.map.sql_name(child);
                with += tx.run(&format!("DELETE FROM {child} WHERE {}", link.replace("{ids}", &ids)), &[])? as u64;
            }
            for (other, column) in &unlink {
                tx.run(&format!("UPDATE {other} SET {column} = NULL WHERE {column} IN {ids}"), &[])?;
            }
            let n = tx.run(&format!("DELETE FROM {from} WHERE {place} {batch}"), &[])? as u64;
            progress(&*tx, rule, n, with)?;
            tx.commit()?;
            total += n;
            self.with += with;
        }
        Ok(total)
    }

    /// How many rows matching `cond` belong to people with an open request: counted before the
    /// sweep, so a dry run and a real run report the same.
    fn held(&mut self, table: &str, cond: &str, cut: &str) -> anyhow::Result<u64> {
        let Some(sql) = expiry::held_query(&self.map, table, cond, &self.clock).filter(|_| self.waiting) else {
            return Ok(0);
        };
        let db: &dyn Db = self.conn;
        let per_person: Vec<(i64, i64)> = db.all(&sql, &vals![cut]?, |r| Ok((r.get(0)?, r.get(1)?)))?;
        let mut rows = 0;
        for (person, n) in per_person.into_iter().filter(|(_, n)| *n > 0) {
            self.held_persons.insert(person);
            rows += n as u64;
        }
        Ok(rows)
    }
}

pub fn run(conn: &dyn Conn, clock: Clock, register: &Register, dry_run: bool, batch: u64) -> anyhow::Result<Summary> {
    run_with_progress(conn, clock, register, dry_run, batch, &mut |_, _| {})
}

/// [`run`], telling `progress` the code of each rule as it starts and how many rules there are
/// (the register's and dsr's own housekeeping), for a progress bar on a terminal.
pub fn run_with_progress(
    conn: &dyn Conn,
    clock: Clock,
    register: &Register,
    dry_run: bool,
    batch: u64,
    progress: &mut dyn FnMut(&str, usize),
) -> anyhow::Result<Summary> {
    let run_started = std::time::Instant::now();
    let now = clock.now();
    let db: &dyn Db = conn;
    // Where dsr's records are and where the map's tables are: both on PostgreSQL, or SQLite,
    // or one each (company files beside a PostgreSQL store, where `temp.` goes to the files).
    let mut dialects = vec![db.dialect(), db.map_dialect()];
    dialects.dedup();
    for dialect in dialects {
        db.run(
            match dialect {
                Dialect::Postgres => "CREATE TEMP TABLE IF NOT EXISTS retention_ids (id tid)",
                Dialect::Sqlite => "CREATE TEMP TABLE IF NOT EXISTS temp.retention_ids (id INTEGER PRIMARY KEY)",
            },
            &[],
        )?;
    }
    if db.dialect() == Dialect::Postgres {
        // The rules' `x NOT IN (SELECT ...)` over a million people: PostgreSQL hashes the
        // subquery only when the hash fits in work_mem (4 MB by default); otherwise it scans the
        // subquery's rows for every row tested (hours at 1,000,000 people). This session's own
        // setting; the server's other sessions keep theirs.
        db.run("SET work_mem = '256MB'", &[])?;
    }
    let holds: bool =
        db.one(&format!("SELECT EXISTS (SELECT 1 FROM restriction WHERE {})", expiry::KEEPING), &[], |x| x.get(0))?;
    if !dry_run {
        record_interrupted(conn, &clock)?;
    }
    // A request never verified in time is expired first (as every command that acts on requests
    // does), so that it does not hold its person's rows back; a dry run changes nothing and counts
    // such requests as expired.
    if !dry_run {
        let tx = conn.begin_own()?;
        crate::request::expire_stale(&*tx, &clock)?;
        tx.commit()?;
    }
    let waiting: bool = db.one(&format!("SELECT EXISTS ({})", expiry::waiting(&clock)), &[], |x| x.get(0))?;
    let map = DataMap::load(conn)?;
    let mut results = Vec::new();
    let mut stopped = None;
    // Children before parents where one rule's rows hang from another's, each counted from its own
    // moment; the whole profile last but for the rows that record a contract's end.
    let mut rules: Vec<&RetentionRule> = register.retention.iter().collect();
    let all = rules.clone();
    rules.sort_by_key(|x| expiry::order(&map, &all, x));
    let mut r = Runner { conn, map, clock, batch, dry_run, holds, waiting, held_persons: HashSet::new(), with: 0 };
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
        let readable = expiry::times_readable(&r.map, r.conn, rule);
        let (outcome, held) =
            match readable.and_then(|()| expiry(&r.map, rule, now).map_err(|why| anyhow::anyhow!(why))) {
                Ok(Expiry::Profile) => match ended_contracts(&mut r, &cut, &rule.code) {
                    Ok((erased, held)) => (Ok(erased), held),
                    Err(e) => (Err(e), 0),
                },
                Ok(Expiry::Rows { cond, children }) => {
                    let cond = match expiry::after_profile(&r.map, &all, rule) {
                        // The contracts of a person the profile rule left for a pending request stay
                        // with them: removed, they would leave the profile nothing to count from.
                        true => format!(
                            "({cond}) AND coalesce({}, -1) NOT IN ({})",
                            r.map.person_of(&rule.table).unwrap_or_else(|| "NULL".into()),
                            expiry::open_request_people(&clock)
                        ),
                        false => cond,
                    };
                    match r.held(&rule.table, &cond, &cut) {
                        Ok(held) => (r.sweep(&rule.code, &rule.table, &cond, &children, &cut, &reach(&children)), held),
                        Err(e) => (Err(e), 0),
                    }
                }
                // A store loaded before the engine checked its register, or moments the rule cannot
                // read: a failure, never "removed 0".
                Err(e) => (Err(e), 0),
            };
        // Without the server no later rule can run either: the run stops (exit 10), not "failed".
        let outcome = match outcome {
            Err(e) if crate::exit::lost(&e) => return Err(e),
            o => o,
        };
        let outcome = (outcome, std::mem::take(&mut r.with));
        let (mut result, stop) = finish(r.conn, &clock, dry_run, &rule.code, &rule.table, rule.period_months, outcome)?;
        result.held = held;
        result.seconds = started.elapsed().as_secs_f64();
        results.push(result);
        if stop.is_some() {
            stopped = stop;
            break;
        }
    }
    // dsr's own housekeeping.
    let own = match stopped {
        None => own::rules(&r.map, r.conn, &clock)?,
        Some(_) => Vec::new(),
    };
    for own::Rule { code, table, cond, children, cut } in own {
        progress(code, total);
        let started = std::time::Instant::now();
        let swept = match r.sweep(code, &table, &cond, &children, &cut, "*") {
            Err(e) if crate::exit::lost(&e) => return Err(e),
            o => o,
        };
        let outcome = (swept, std::mem::take(&mut r.with));
        let (mut result, stop) = finish(r.conn, &clock, dry_run, code, &table, 0, outcome)?;
        result.seconds = started.elapsed().as_secs_f64();
        results.push(result);
        if stop.is_some() {
            stopped = stop;
            break;
        }
    }
    Ok(Summary {
        format_version: 1,
        dry_run,
        now: clock.timestamp(),
        removed: results.iter().map(|x| x.removed + x.removed_with).sum(),
        held_rows: results.iter().map(|x| x.held).sum(),
        held_persons: r.held_persons.len() as u64,
        failed: results.iter().filter(|x| x.error.is_some()).count(),
        rules: results,
        seconds: run_started.elapsed().as_secs_f64(),
        stopped,
    })
}
