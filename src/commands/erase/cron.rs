//! The erasure's unattended paths: `dsr erase --due` (cron) carries out approved plans, and
//! `dsr erase --replay` erases again, after a restore, everyone an earlier erasure removed.

use std::path::Path;

use rusqlite::{params, TransactionBehavior};
use serde::Serialize;
use serde_json::json;

use super::{apply, journal_path, refuse_legal_claims, stored_plan, verified, JournalEntry};
use crate::commands::{interactive, Ctx};
use crate::error::Error;
use crate::exit::Code;
use crate::keys::Keys;
use crate::request::{self, Kind, Request};
use crate::rights::erase;
use crate::rights::object::suppress;
use crate::{audit, check};

#[derive(Debug, Default, Serialize)]
struct DueSummary {
    format_version: u32,
    applied: Vec<String>,
    /// The data changed since approval: made again, waiting for the officer's approval.
    replanned: Vec<String>,
    /// Verified erasure requests whose plan no officer has approved (or that have no plan yet).
    waiting_for_approval: Vec<String>,
    /// Approved plans an officer put on hold.
    on_hold: Vec<String>,
    failed: Vec<(String, String)>,
}

/// `dsr erase --due`: carry out the approved plans of verified erasure requests. No prompts.
pub(super) fn due(ctx: &mut Ctx) -> anyhow::Result<Code> {
    let _lock = crate::commands::run_lock(ctx)?;
    {
        let tx = ctx.store.conn.transaction()?;
        request::expire_stale(&tx, &ctx.clock)?;
        tx.commit()?;
    }
    let mut sum = DueSummary { format_version: 1, ..Default::default() };
    let mut ready = Vec::new();
    for row in ctx
        .store
        .conn
        .prepare(
            "SELECT r.id, p.approved_at IS NOT NULL, p.held_at IS NOT NULL FROM request r
             LEFT JOIN erasure_plan p ON p.request_id = r.id
             WHERE r.kind = 'erase' AND r.state = 'verified' AND r.answered_at IS NULL AND p.applied_at IS NULL
             ORDER BY r.year, r.seq",
        )?
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?, r.get::<_, bool>(2)?)))?
    {
        match row? {
            (id, _, true) => sum.on_hold.push(id),
            (id, true, false) => ready.push(id),
            (id, false, false) => sum.waiting_for_approval.push(id),
        }
    }
    for id in ready {
        let result = (|| -> anyhow::Result<()> {
            let (req, s) = verified(ctx, &id, Kind::Erase)?;
            refuse_legal_claims(ctx, &s)?;
            let stored = stored_plan(ctx, &id)?.ok_or_else(|| anyhow::anyhow!("no stored plan"))?;
            apply(ctx, &req, &s, &stored.plan)?;
            Ok(())
        })();
        match result {
            Ok(()) => sum.applied.push(id),
            Err(e) if matches!(e.downcast_ref::<Error>(), Some(Error::StalePlan(_))) => sum.replanned.push(id),
            Err(e) => sum.failed.push((id, format!("{e:#}"))),
        }
    }
    ctx.flush()?;
    // Always, even with nothing due: this is also how a blocked truncation (exit 23) is finished.
    let wal = crate::store::truncate_wal(&ctx.store.conn, &ctx.store.path);
    ctx.out.status(&format!(
        "dsr erase --due: {} erased, {} waiting for approval (`dsr erase REQUEST --approve`), {} re-made because the data changed (approve again), {} on hold, {} failed",
        sum.applied.len(),
        sum.waiting_for_approval.len(),
        sum.replanned.len(),
        sum.on_hold.len(),
        sum.failed.len()
    ))?;
    if ctx.out.json {
        ctx.out.json(&sum)?;
    }
    for (id, why) in &sum.failed {
        crate::output::stderr_line(&format!("dsr erase --due: {id} failed: {}", crate::output::sanitize::line(why)))?;
    }
    if !sum.failed.is_empty() {
        return Ok(Code::Failure);
    }
    wal?;
    Ok(if sum.replanned.is_empty() { Code::Ok } else { Code::StalePlan })
}

/// `dsr erase --replay`: after a restore from a backup older than some erasures, erase again
/// everyone whose identifiers match an erasure's keyed hashes (journal and suppression list).
pub(super) fn replay(ctx: &mut Ctx, journal: Option<&Path>, yes: bool) -> anyhow::Result<Code> {
    if interactive(&ctx.out) && !yes {
        // Cron runs it without a terminal; an officer at one confirms what cannot be undone.
        return Err(Error::invalid(
            "--yes",
            "erase --replay erases people again and cannot be undone; confirm with --yes",
        )
        .into());
    }
    let _lock = crate::commands::run_lock(ctx)?;
    let path = journal.map(Path::to_path_buf).unwrap_or_else(|| journal_path(&ctx.store.path));
    let mut wanted: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    if let Ok(text) = std::fs::read_to_string(&path) {
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let entry: JournalEntry = serde_json::from_str(line)
                .map_err(|e| Error::invalid("erasure journal", format!("{}: {e}", path.display())))?;
            for (_, h) in entry.hashes {
                wanted.insert(h, entry.request.clone());
            }
        }
    } else if journal.is_some() {
        return Err(Error::invalid("--journal", format!("cannot read {}", path.display())).into());
    }
    for h in ctx
        .store
        .conn
        .prepare("SELECT hash, coalesce(request_id, '') FROM suppression WHERE reason = 'erased'")?
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
    {
        let (h, r) = h?;
        wanted.entry(h).or_insert(r);
    }
    let keys = Keys::load(&ctx.store.conn)?;
    let mut people: std::collections::BTreeMap<i64, String> = std::collections::BTreeMap::new();
    for (sql, kind) in [
        ("SELECT person_id, address_norm FROM email_address", "email"),
        ("SELECT person_id, number FROM phone_number", "phone"),
        ("SELECT person_id, customer_number FROM customer", "customer"),
    ] {
        let mut stmt = ctx.store.conn.prepare(sql)?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let value: String = r.get(1)?;
            if let Some(req) = wanted.get(&check::suppression_hash(&keys, kind, &value)) {
                people.insert(r.get(0)?, req.clone());
            }
        }
    }
    let mut replayed = Vec::new();
    for (person, original) in &people {
        let s = crate::subject::subject(&ctx.store.conn, *person)?;
        let tx = ctx.store.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // The restored store may still hold the erasure request itself as open: it was carried out.
        let open: Vec<Request> = tx
            .prepare("SELECT id FROM request WHERE person_id = ?1 AND kind = 'erase' AND state IN ('awaiting-verification', 'verified')")?
            .query_map([person], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?
            .iter()
            .map(|id| request::load(&tx, id))
            .collect::<anyhow::Result<_>>()?;
        let plan = erase::plan(&tx, &s, &ctx.clock.timestamp())?;
        suppress(&tx, &ctx.clock, &keys, None, &s, "erased")?;
        erase::apply(&tx, &s, &plan)?;
        for r in &open {
            tx.execute(
                "UPDATE erasure_plan SET applied_at = ?2 WHERE request_id = ?1",
                params![r.id, ctx.clock.timestamp()],
            )?;
            request::set_state(
                &tx,
                &ctx.clock,
                r,
                "completed",
                json!({"answered": "erasure replayed after a restore", "erasure": original}),
            )?;
        }
        audit::append(
            &tx,
            &ctx.clock,
            Some(original),
            Some(&keys.person(*person)),
            "erasure-replayed",
            json!({"deleted": plan.deleted, "kept": plan.kept}),
        )?;
        tx.commit()?;
        replayed.push(json!({"erasure": original, "deleted": plan.deleted, "kept": plan.kept}));
    }
    let wal = crate::store::truncate_wal(&ctx.store.conn, &ctx.store.path);
    ctx.out.status(&format!(
        "dsr erase --replay: {} erasure hash(es) known, {} person(s) erased again",
        wanted.len(),
        replayed.len()
    ))?;
    if ctx.out.json {
        ctx.out.json(&json!({"format_version": 1, "known_hashes": wanted.len(), "replayed": replayed}))?;
    }
    wal?;
    Ok(Code::Ok)
}
