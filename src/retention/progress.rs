//! A rule's progress while it runs, and its outcome: each committed batch adds its rows to the
//! rule's progress row, which a run killed part-way leaves for the next run to audit; the rule's
//! audit entry replaces it when the rule ends.

use serde_json::json;

use super::RuleResult;
use crate::audit;
use crate::clock::Clock;
use crate::store::db::{Conn, Db, Dialect};
use crate::vals;

/// Count a batch's rows in the store, in the batch's own transaction, until the rule's audit entry
/// is written: a run killed part-way leaves what it removed there, and the next run records it.
/// The sum is made by the statement, under the row's lock, without reading the row first.
/// The rows of other tables a batch removed with the rule's (`with`: a ticket's messages, an
/// order's lines) are counted the same way, in a row of their own.
pub(super) fn progress(tx: &dyn Db, rule: &str, n: u64, with: u64) -> anyhow::Result<()> {
    for (key, n) in [(OWN, n), (WITH, with)] {
        if n == 0 {
            continue;
        }
        let sql = match tx.dialect() {
            // store_meta's values are tagged jsonb there: `{"i": 42}`.
            Dialect::Postgres => {
                "INSERT INTO store_meta (key, value) VALUES (CAST(?3 AS TEXT) || CAST(?1 AS TEXT), ?2)
                 ON CONFLICT (key) DO UPDATE
                 SET value = jsonb_build_object('i', (store_meta.value ->> 'i')::bigint + (excluded.value ->> 'i')::bigint)"
            }
            Dialect::Sqlite => {
                "INSERT INTO store_meta (key, value) VALUES (CAST(?3 AS TEXT) || CAST(?1 AS TEXT), ?2)
                 ON CONFLICT (key) DO UPDATE SET value = value + excluded.value"
            }
        };
        tx.run(sql, &vals![rule, n as i64, key]?)?;
    }
    Ok(())
}

/// The progress rows' keys, before the rule's code: its own rows, and those removed with them.
const OWN: &str = "retention-progress:";
const WITH: &str = "retention-progress-with:";

/// The time of the run that began last (`store_meta`), for the entry of a run killed part-way:
/// the rules that run finished have entries at that time, and `report` counts it once.
const RUN_AT: &str = "retention-run";

/// Audit what an interrupted earlier run removed (its progress rows), once, with that run's time;
/// then note this run's time.
pub(super) fn record_interrupted(conn: &dyn Conn, clock: &Clock) -> anyhow::Result<()> {
    let tx_box = conn.begin_own()?;
    let tx: &dyn Db = &*tx_box;
    let left = |prefix: &str| -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
        let rows: Vec<(String, i64)> = tx.all(
            "SELECT substr(key, length(CAST(?1 AS TEXT)) + 1), value FROM store_meta
             WHERE substr(key, 1, length(CAST(?1 AS TEXT))) = CAST(?1 AS TEXT) ORDER BY key",
            &vals![prefix]?,
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(rows.into_iter().map(|(k, v)| (k, json!(v))).collect())
    };
    let (rules, with) = (left(OWN)?, left(WITH)?);
    if !rules.is_empty() || !with.is_empty() {
        let mut details = json!({"removed": rules});
        // The rows removed with the rules' own (counted in the report as a finished rule's).
        if !with.is_empty() {
            details["removed_with"] = json!(with);
        }
        let run_at: Option<String> =
            tx.first("SELECT value FROM store_meta WHERE key = ?1", &vals![RUN_AT]?, |r| r.get(0))?;
        if let Some(at) = run_at {
            details["run_at"] = json!(at);
        }
        audit::append(tx, clock, None, None, "retention-interrupted", details)?;
        for prefix in [OWN, WITH] {
            tx.run(
                "DELETE FROM store_meta WHERE substr(key, 1, length(CAST(?1 AS TEXT))) = CAST(?1 AS TEXT)",
                &vals![prefix]?,
            )?;
        }
    }
    tx.run(
        "INSERT INTO store_meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &vals![RUN_AT, clock.timestamp()]?,
    )?;
    tx_box.commit()?;
    Ok(())
}

/// Why a rule failed, in words: a table or column its rule reads that is gone is named with what
/// to do (not as the SQL text and SQLite's code).
fn failure(e: &anyhow::Error, table: &str, place: &std::path::Path) -> String {
    let code = crate::exit::Code::of_error(e);
    if code == crate::exit::Code::StoreBusy {
        // SQLite does not say which file: asked of each file now, as for a command (exit 13).
        let which = crate::store::attached::locked_now(place)
            .map_or("the store or one of its company databases".to_owned(), |(n, p)| format!("{n} ({})", p.display()));
        return format!(
            "{which} stayed locked by another process past the busy timeout: what the rule removed before stands, and the next run removes the rest (or run `dsr retention run` again when that process has finished)"
        );
    }
    if code == crate::exit::Code::Io {
        // A full disk, a file that cannot be written: said as for any command (exit 15).
        return format!("{}; what the rule removed before stands", crate::output::message(e, Some(place)));
    }
    let gone = e.chain().find_map(|c| {
        if let Some(e) = c.downcast_ref::<rusqlite::Error>().filter(|e| crate::exit::missing_table_or_column(e)) {
            return match e {
                rusqlite::Error::SqliteFailure(_, Some(m)) | rusqlite::Error::SqlInputError { msg: m, .. } => {
                    Some(m.clone())
                }
                _ => None,
            };
        }
        let pg = c.downcast_ref::<postgres::Error>().filter(|e| crate::exit::undefined_on_postgres(e))?;
        pg.as_db_error().map(|d| d.message().to_owned())
    });
    match gone {
        Some(what) => format!(
            "{what}: the table {table} is not what the data map says (a table or column renamed or dropped behind dsr's back); run `dsr doctor`, then restore it or describe the change in the company file and run `dsr register apply FILE`"
        ),
        None => format!("{e:#}"),
    }
}

/// What a rule's committed batches removed, as its progress row counted them.
fn counted(db: &dyn Db, rule: &str) -> anyhow::Result<u64> {
    let n = db.first(
        "SELECT value FROM store_meta WHERE key = CAST(?2 AS TEXT) || CAST(?1 AS TEXT)",
        &vals![rule, OWN]?,
        |r| r.get::<i64>(0),
    )?;
    Ok(n.unwrap_or(0) as u64)
}

/// Record one rule's outcome: an audit entry when rows went, the error when it failed.
/// `outcome` is the sweep's (the rule's rows removed) and the rows of other tables its committed
/// batches removed with them. When the outcome cannot be recorded (the store locked past the
/// busy timeout, full, damaged), the rule's result says so with what its committed batches
/// removed (read outside any transaction: a reader is not held up by another process's write
/// lock), its progress row stays for the next run to record as `retention-interrupted`, and the
/// error comes back beside it to stop the run. A server lost is the run's error.
pub(super) fn finish(
    conn: &dyn Conn,
    clock: &Clock,
    dry_run: bool,
    rule: &str,
    table: &str,
    period_months: i64,
    outcome: (anyhow::Result<u64>, u64),
) -> anyhow::Result<(RuleResult, Option<anyhow::Error>)> {
    let (outcome, removed_with) = outcome;
    // A file locked past the busy timeout stops the run (exit 13) once the rule's outcome is
    // recorded: the next rules would each wait for the same lock.
    let (swept, error, locked) = match outcome {
        Ok(n) => (Some(n), None, None),
        Err(e) => {
            let told = failure(&e, table, &conn.place());
            // So does a file that cannot be written (a full disk, a read-only file): every later
            // rule would fail alike (exit 15).
            let code = crate::exit::Code::of_error(&e);
            let locked = matches!(code, crate::exit::Code::StoreBusy | crate::exit::Code::Io).then_some(e);
            (None, Some(told), locked)
        }
    };
    let mut result = RuleResult {
        rule: rule.into(),
        table: table.into(),
        period_months,
        removed: swept.unwrap_or(0),
        removed_with,
        held: 0,
        error,
        seconds: 0.0,
        unaudited: false,
    };
    if dry_run {
        return Ok((result, None));
    }
    match record(conn, clock, &result) {
        Ok(removed) => {
            result.removed = removed;
            Ok((result, locked))
        }
        Err(e) if crate::exit::lost(&e) => Err(e),
        Err(e) => {
            let db: &dyn Db = conn;
            let removed = counted(db, rule);
            let count = match &removed {
                Ok(_) => String::new(),
                Err(_) => " (how many rows its committed batches removed could not be read either)".to_owned(),
            };
            result.removed = removed.unwrap_or(result.removed);
            result.unaudited = true;
            let unrecorded = format!(
                "its outcome could not be recorded ({}){count}; the next run records the rows its committed batches removed in the audit trail (retention-interrupted)",
                crate::output::message(&e, Some(&conn.place()))
            );
            result.error = Some(match result.error.take() {
                Some(own) => format!("{own}; {unrecorded}"),
                None => unrecorded,
            });
            Ok((result, Some(e)))
        }
    }
}

/// The audit entry of a rule's outcome, replacing its progress count, in one transaction; the
/// rows removed (for a rule that failed part-way, what its committed batches removed).
fn record(conn: &dyn Conn, clock: &Clock, result: &RuleResult) -> anyhow::Result<u64> {
    // dsr's records only: a company database the application holds locked (which may be why
    // the rule failed) does not keep its outcome out of the audit trail.
    let tx_box = conn.begin_own()?;
    let tx: &dyn Db = &*tx_box;
    let (rule, table, removed_with) = (&result.rule, &result.table, result.removed_with);
    // A rule that failed part-way (a lock, a full disk) removed what its committed batches
    // removed: the progress row counted exactly those.
    let removed = if result.error.is_some() { counted(tx, rule)? } else { result.removed };
    if removed + removed_with > 0 || result.error.is_some() {
        let mut details = json!({"rule": rule, "table": table, "removed": removed});
        if removed_with > 0 {
            details["removed_with"] = json!(removed_with);
        }
        if let Some(e) = &result.error {
            details["error"] = json!(e);
        }
        audit::append(tx, clock, None, None, "retention", details)?;
    }
    for prefix in [OWN, WITH] {
        tx.run("DELETE FROM store_meta WHERE key = CAST(?2 AS TEXT) || CAST(?1 AS TEXT)", &vals![rule, prefix]?)?;
    }
    tx_box.commit()?;
    Ok(removed)
}
