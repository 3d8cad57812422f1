//! The report's SQL: each figure one GROUP BY over an index of migration 18, valid on SQLite
//! and on PostgreSQL (the JSON of an erasure's outcome is the one place the dialects differ).
//! Only groups come back, never a row per request.

use std::collections::BTreeMap;

use chrono::Days as DayCount;

use super::figures::Group;
use super::{Count, Erasures, Kept, Notifications, Period, Recipient, Retention, Rule, Verification};
use crate::store::db::Db;
use crate::vals;

/// The day a request was answered: the delivery of the answer, or the closing of a completed
/// (answered before deliveries were recorded, or replayed) or refused request. The same
/// expression as the third key of the `request_report` index, so that SQLite groups along it.
const ANSWERED: &str =
    "substr(CASE WHEN state IN ('completed', 'rejected') THEN coalesce(delivered_at, closed_at) ELSE delivered_at END, 1, 10)";

/// The day after the period, as the exclusive end for timestamps (`at < ?2`).
fn end(period: Period) -> String {
    (period.to + DayCount::new(1)).to_string()
}

/// The requests received in the period, grouped by day, right, day answered, state, refusal
/// ground and deadlines (the keys of the `request_report` index, in its order), with the count
/// per channel.
pub(super) fn request_groups(conn: &dyn Db, period: Period) -> anyhow::Result<Vec<Group>> {
    let channels: Vec<String> =
        super::CHANNELS.iter().map(|c| format!("sum(CASE WHEN channel = '{c}' THEN 1 ELSE 0 END)")).collect();
    let sql = format!(
        "SELECT received_on, kind, {ANSWERED}, state, rejection_reason, due_on, extended_due_on, count(*), {}
         FROM request WHERE received_on >= ?1 AND received_on <= ?2
         GROUP BY received_on, kind, {ANSWERED}, state, rejection_reason, due_on, extended_due_on",
        channels.join(", ")
    );
    let n = |r: &crate::store::db::Row, i: usize| -> anyhow::Result<u64> { Ok(r.get::<i64>(i)? as u64) };
    conn.all(&sql, &vals![period.from, period.to]?, |r| {
        Ok(Group {
            received: r.get(0)?,
            right: r.get(1)?,
            answered: r.get(2)?,
            state: r.get(3)?,
            ground: r.get(4)?,
            due: r.get(5)?,
            extended: r.get(6)?,
            count: n(r, 7)?,
            channels: [n(r, 8)?, n(r, 9)?, n(r, 10)?, n(r, 11)?, n(r, 12)?],
        })
    })
}

/// What the erasures of requests received in the period deleted and kept, by ground, table and
/// action, from the erasure tally. `carried_out` is filled from the requests.
pub(super) fn erasures(conn: &dyn Db, period: Period) -> anyhow::Result<Erasures> {
    let mut e = Erasures::default();
    conn.each(
        "SELECT ground, table_name, action, CAST(sum(row_count) AS BIGINT), CAST(sum(erasures) AS BIGINT) FROM erasure_tally
         WHERE received_on >= ?1 AND received_on <= ?2 GROUP BY ground, table_name, action",
        &vals![period.from, period.to]?,
        &mut |r| {
            let (ground, table, action): (String, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
            let (rows, erasures) = (r.get::<i64>(3)? as u64, r.get::<i64>(4)? as u64);
            if action == "delete" {
                e.rows_deleted += rows;
            } else {
                e.rows_kept += rows;
                // An erasure of an earlier version worded a ground differently: counted with it.
                let ground = match ground.is_empty() {
                    true => "(none given)".to_owned(),
                    false => crate::rights::erase::current_ground(&ground).to_owned(),
                };
                match e.kept.iter_mut().find(|k| (&k.ground, &k.table, &k.action) == (&ground, &table, &action)) {
                    Some(k) => (k.rows, k.erasures) = (k.rows + rows, k.erasures + erasures),
                    None => e.kept.push(Kept { ground, table, action, rows, erasures }),
                }
            }
            Ok(())
        },
    )?;
    e.kept.sort_by(|a, b| b.rows.cmp(&a.rows).then_with(|| (&a.ground, &a.table).cmp(&(&b.ground, &b.table))));
    Ok(e)
}

/// Art. 19 notifications listed in the period, by recipient and state (as of now).
pub(super) fn notifications(conn: &dyn Db, period: Period) -> anyhow::Result<Notifications> {
    let mut n = Notifications::default();
    let mut by: BTreeMap<String, Recipient> = BTreeMap::new();
    conn.each(
        "SELECT recipient, state, count(*) FROM notification
         WHERE listed_at IS NOT NULL AND listed_at >= ?1 AND listed_at < ?2 GROUP BY recipient, state",
        &vals![period.from, end(period)]?,
        &mut |r| {
            let (recipient, state, count): (String, String, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
            let count = count as u64;
            let line = by.entry(recipient.clone()).or_insert_with(|| Recipient { recipient, ..Recipient::default() });
            n.listed += count;
            match state.as_str() {
                "notified" => (line.done += count, n.done += count),
                "impossible" => (line.impossible += count, n.impossible += count),
                _ => (line.open += count, n.open += count),
            };
            Ok(())
        },
    )?;
    n.by_recipient = by.into_values().collect();
    Ok(n)
}

/// The retention runs' entries of the period: rows removed per rule (with the rows of other tables
/// removed with them, as `retention run` counts them). A rule that removed nothing
/// writes no entry; an interrupted run's entry lists what its finished batches removed.
pub(super) fn retention(conn: &dyn Db, period: Period) -> anyhow::Result<Retention> {
    let mut rules: BTreeMap<String, Rule> = BTreeMap::new();
    // A run's rule entries share its time; a killed run is its `retention-interrupted` entry,
    // written by the next run (at that run's time) with the killed run's own time: counted by
    // itself unless the rules it finished have entries of that time.
    let mut times = std::collections::BTreeSet::new();
    let mut interrupted: Vec<Option<String>> = Vec::new();
    conn.each(
        "SELECT action, details, at FROM audit_log
         WHERE action IN ('retention', 'retention-interrupted') AND at >= ?1 AND at < ?2",
        &vals![period.from, end(period)]?,
        &mut |r| {
            let (action, details, at): (String, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
            let d: serde_json::Value = serde_json::from_str(&details).unwrap_or_default();
            let removed: Vec<(String, String, u64)> = if action == "retention" {
                let s = |k: &str| d[k].as_str().unwrap_or_default().to_owned();
                // The rule's rows and the rows of other tables removed with them (a ticket's
                // messages), as the run's own summary counts them.
                let n = d["removed"].as_u64().unwrap_or(0) + d["removed_with"].as_u64().unwrap_or(0);
                vec![(s("rule"), s("table"), n)]
            } else {
                let map = d["removed"].as_object().cloned().unwrap_or_default();
                let with = |rule: &str| d["removed_with"][rule].as_u64().unwrap_or(0);
                map.into_iter()
                    .map(|(rule, n)| (rule.clone(), String::new(), n.as_u64().unwrap_or(0) + with(&rule)))
                    .collect()
            };
            for (rule, table, n) in removed {
                let line = rules.entry(rule.clone()).or_insert_with(|| Rule { rule, ..Rule::default() });
                if line.table.is_empty() {
                    line.table = table;
                }
                line.runs += 1;
                line.removed += n;
            }
            if action == "retention" {
                times.insert(at);
            } else {
                interrupted.push(d["run_at"].as_str().map(str::to_owned));
            }
            Ok(())
        },
    )?;
    // A rule only a killed run applied: its table from the register (the entry names none).
    for line in rules.values_mut().filter(|l| l.table.is_empty()) {
        line.table = conn
            .first("SELECT table_name FROM retention_rule WHERE code = ?1", &vals![line.rule]?, |r| r.get(0))?
            .unwrap_or_default();
    }
    let by_rule: Vec<Rule> = rules.into_values().collect();
    let killed = interrupted.iter().filter(|at| at.as_ref().is_none_or(|at| !times.contains(at))).count();
    let runs = (times.len() + killed) as u64;
    Ok(Retention { runs, rows_removed: by_rule.iter().map(|r| r.removed).sum(), by_rule })
}

/// Failed code checks of the period (every `code-tried` entry but a correct code), grouped by
/// their recorded details, which take few distinct values; and the people locked today.
pub(super) fn verification(conn: &dyn Db, period: Period) -> anyhow::Result<Verification> {
    let mut v = Verification::default();
    let mut by: BTreeMap<String, u64> = BTreeMap::new();
    conn.each(
        "SELECT details, count(*) FROM audit_log
         WHERE action = 'code-tried' AND details <> '{\"result\":\"correct\"}' AND at >= ?1 AND at < ?2
         GROUP BY details",
        &vals![period.from, end(period)]?,
        &mut |r| {
            let (details, count): (String, i64) = (r.get(0)?, r.get(1)?);
            let count = count as u64;
            let d: serde_json::Value = serde_json::from_str(&details).unwrap_or_default();
            let result = d["result"].as_str().unwrap_or("unknown").to_owned();
            if result == "correct" {
                return Ok(());
            }
            v.failed_tries += count;
            if d["code_burned"] == true {
                v.codes_burned += count;
            }
            // The try that locked the person; later tries are refused as "locked".
            if d["person_locked"] == true && result != "locked" {
                v.locks += count;
            }
            *by.entry(result).or_default() += count;
            Ok(())
        },
    )?;
    v.by_result = by.into_iter().map(|(key, count)| Count { key, count }).collect();
    v.locked_now = conn
        .one("SELECT count(*) FROM verification_lock WHERE locked_at IS NOT NULL", &[], |r| r.get::<i64>(0))?
        as u64;
    Ok(v)
}
