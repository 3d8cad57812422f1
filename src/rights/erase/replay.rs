//! `dsr erase --replay`: after a restore from a backup older than some erasures, erase again
//! everyone whose identifiers match an erasure's keyed hashes (the journal beside the store and
//! the suppression list), one transaction per person.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Serialize;
use serde_json::json;

use super::carry_out::JournalEntry;
use crate::clock::Clock;
use crate::cron::RunLock;
use crate::error::Error;
use crate::keys::Keys;
use crate::request::{self, Request};
use crate::store::db::Conn;
use crate::{audit, check, vals};

/// One person erased again, under the erasure request that first erased them.
#[derive(Debug, Serialize)]
pub struct Replayed {
    pub erasure: String,
    pub deleted: u64,
    pub kept: u64,
}

#[derive(Debug, Serialize)]
pub struct Replay {
    pub known_hashes: usize,
    pub replayed: Vec<Replayed>,
    /// Lines that reach no one deleted again for carrying an erased person's IP address.
    pub anonymous_lines: u64,
    /// The identifiers of the people erased again, to look for in the backend's pages afterwards.
    #[serde(skip)]
    pub erased: Vec<String>,
}

/// Erase again, under the store's run lock, everyone an earlier erasure removed. `journal` names
/// the erasure journal when it is not beside the store (on PostgreSQL, in the directory dsr
/// runs in). On either backend.
pub fn run(_lock: &RunLock, conn: &dyn Conn, clock: &Clock, journal: Option<&Path>) -> anyhow::Result<Replay> {
    let path = journal.map(Path::to_path_buf).unwrap_or_else(|| crate::queue::journal_path(&conn.place()));
    let mut wanted: HashMap<String, String> = HashMap::new();
    // The restrictions whose lift finished an erasure, by erasure: a store restored from before
    // the lift holds them in force, and would keep what the erasure removed.
    let mut lifted: HashMap<String, Vec<String>> = HashMap::new();
    match std::fs::read_to_string(&path) {
        // Empty, it says all is well however many erasures a restore undid: a journal is made
        // with its first line.
        Ok(text) if text.trim().is_empty() => {
            return Err(Error::invalid(
                "erasure journal",
                format!(
                    "{} is empty: an erasure's line was cut off or the file replaced; name the journal kept with the store's backups with --journal FILE. Nothing was erased",
                    path.display()
                ),
            )
            .into())
        }
        Ok(text) => {
            for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                let entry: JournalEntry = serde_json::from_str(line).map_err(|e| {
                    Error::invalid(
                        "erasure journal",
                        format!(
                            "{}: line {} is not a journal line ({}): repair or remove it (a line cut short by a full disk is written again whole further on) and run again. Nothing was erased",
                            path.display(),
                            n + 1,
                            match e.classify() {
                                serde_json::error::Category::Eof => "cut short".to_owned(),
                                serde_json::error::Category::Data => "not an erasure's entry".to_owned(),
                                _ => format!("not JSON from column {}", e.column()),
                            }
                        ),
                    )
                })?;
                for (_, h) in entry.hashes {
                    wanted.insert(h, entry.request.clone());
                }
                lifted.entry(entry.request).or_default().extend(entry.lifted);
            }
        }
        Err(_) if journal.is_some() => {
            return Err(Error::invalid("--journal", format!("cannot read {}", path.display())).into())
        }
        // A restored store's suppression list lacks the erasures made after the backup: without
        // their journal a replay would find no one and say all is well.
        Err(e) => {
            return Err(Error::invalid(
                "erasure journal",
                format!(
                    "cannot read {} ({}); run `dsr erase --replay` where the erasures were made (beside a SQLite store; on PostgreSQL in the directory the erasing commands ran in) or name the journal with --journal FILE. Nothing was erased. A store that never erased anyone has no journal and nothing to replay",
                    path.display(),
                    if e.kind() == std::io::ErrorKind::NotFound { "there is none".to_owned() } else { e.to_string() }
                ),
            )
            .into())
        }
    }
    conn.each("SELECT hash, coalesce(request_id, '') FROM suppression WHERE reason = 'erased'", &[], &mut |r| {
        wanted.entry(r.get(0)?).or_insert(r.get(1)?);
        Ok(())
    })?;
    let keys = Keys::load(conn)?;
    let mut people: BTreeMap<i64, String> = BTreeMap::new();
    crate::store::personal::DataMap::load(conn)?.all_remembered_identifiers(conn, |person, kind, value| {
        if let Some(req) = wanted.get(&check::suppression_hash(&keys, kind, &value)) {
            people.insert(person, req.clone());
        }
    })?;
    let (mut replayed, mut erased) = (Vec::new(), Vec::new());
    for (person, original) in &people {
        let s = crate::subject::subject(conn, *person)?;
        // Before this erasure detaches the person's requests, which moves the id's pseudonym on.
        let pseudonym = keys.person_in(conn, *person)?;
        erased.extend(super::values_to_look_for(conn, *person)?);
        let txn = conn.begin()?;
        let tx: &dyn crate::store::db::Db = &*txn;
        // The restored store may still hold the erasure request itself as open: it was carried out.
        let open: Vec<Request> = tx
            .all(
                "SELECT id FROM request WHERE person_id = ?1 AND state IN ('awaiting-verification', 'verified') ORDER BY year, seq",
                &vals![person]?,
                |r| r.get::<String>(0),
            )?
            .iter()
            .map(|id| request::load(tx, id))
            .collect::<anyhow::Result<_>>()?;
        let mut lifts = 0;
        for restriction in lifted.get(original).into_iter().flatten() {
            lifts += tx.run(
                "UPDATE restriction SET lifted_at = ?3 WHERE person_id = ?1 AND request_id = ?2 AND lifted_at IS NULL",
                &vals![person, restriction, clock.timestamp()]?,
            )?;
        }
        let plan = super::plan(tx, &s, &clock.timestamp())?;
        let requests = super::run::detached_requests(tx, &s, &plan)?;
        super::erase_rows(tx, clock, &keys, None, &s, &plan)?;
        for r in &open {
            close(tx, clock, r, original)?;
        }
        audit::append(
            tx,
            clock,
            Some(original),
            Some(&pseudonym),
            "erasure-replayed",
            json!({"deleted": plan.deleted, "kept": plan.kept, "restrictions_lifted": lifts, "requests": requests}),
        )?;
        txn.commit()?;
        replayed.push(Replayed { erasure: original.clone(), deleted: plan.deleted, kept: plan.kept });
    }
    let anonymous_lines = anonymous_lines(conn, clock, &keys, &wanted, &mut erased)?;
    Ok(Replay { known_hashes: wanted.len(), replayed, anonymous_lines, erased })
}

/// The lines of an `anonymous-by-ip` table that reach no one and carry an IP address an erasure
/// put on the list (a server log restored or copied again without the person): deleted again as
/// the erasure deleted them, in one transaction, audited under that erasure. Returns how many.
fn anonymous_lines(
    conn: &dyn Conn,
    clock: &Clock,
    keys: &Keys,
    wanted: &HashMap<String, String>,
    erased: &mut Vec<String>,
) -> anyhow::Result<u64> {
    let map = crate::store::personal::DataMap::load(conn)?;
    let mut found: Vec<(String, String, String, String)> = Vec::new();
    for (t, ip, link) in map.anonymous_ip_tables() {
        let sql = format!("SELECT DISTINCT {ip} FROM {} WHERE {link} IS NULL AND {ip} IS NOT NULL", t.sql_name());
        conn.each(&sql, &[], &mut |r| {
            let value: String = r.get(0)?;
            if let Some(req) = wanted.get(&check::suppression_hash(keys, crate::rights::object::IP, &value)) {
                found.push((t.sql_name(), format!("{link} IS NULL AND {ip} = ?1"), value, req.clone()));
            }
            Ok(())
        })?;
    }
    if found.is_empty() {
        return Ok(0);
    }
    let txn = conn.begin()?;
    let tx: &dyn crate::store::db::Db = &*txn;
    let mut by_erasure: BTreeMap<String, u64> = BTreeMap::new();
    for (table, filter, value, req) in &found {
        let n = tx.run(&format!("DELETE FROM {table} WHERE {filter}"), &vals![value]?)? as u64;
        *by_erasure.entry(req.clone()).or_default() += n;
    }
    for (req, n) in &by_erasure {
        audit::append(tx, clock, Some(req), None, "erasure-replayed", json!({"anonymous_lines": n}))?;
    }
    txn.commit()?;
    erased.extend(found.into_iter().map(|(_, _, value, _)| value));
    Ok(by_erasure.values().sum())
}

/// A request of the person the restored store still holds open, closed as the erasure closed it
/// before the restore (no letter: the person had theirs then). The erasure request itself was
/// carried out. Another request was settled before it, since an erasure waits for the person's
/// other requests: one verified had its answer (whose record went with the restore), one still
/// waiting for its code was refused by the erasure.
fn close(tx: &dyn crate::store::db::Db, clock: &Clock, r: &Request, original: &str) -> anyhow::Result<()> {
    if r.right == "erase" {
        tx.run("UPDATE erasure_plan SET applied_at = ?2 WHERE request_id = ?1", &vals![r.id, clock.timestamp()]?)?;
        return request::set_state(
            tx,
            clock,
            r,
            "completed",
            json!({"answered": "erasure replayed after a restore", "erasure": original}),
        );
    }
    if r.state == "verified" {
        return request::set_state(
            tx,
            clock,
            r,
            "completed",
            json!({"answered": "before the erasure, which waits for the person's other requests; the record of the answer went with the restore", "erasure": original}),
        );
    }
    request::reject(
        tx,
        clock,
        r,
        request::RejectReason::Other,
        &format!("refused by erasure {original}, replayed after a restore of the store"),
    )?;
    Ok(())
}
