//! Retention on PostgreSQL: a rule's rows deleted range by range of the table's pages.

use super::progress::progress;
use super::Runner;
use crate::store::db::Db;
use crate::vals;

impl Runner<'_> {
    /// [`Runner::sweep`] on PostgreSQL: the table is walked once, in ranges of its pages (a
    /// `ctid` range, read by a TID range scan), each range's matching rows deleted in a
    /// transaction of their own, children first. A range holds about `batch` rows (the table's
    /// rows per page from its statistics). Rows a batch deleted stay in their pages as dead
    /// tuples until VACUUM: a batch that looked for its rows from the table's start (`LIMIT`)
    /// would read all the earlier batches' dead rows again, each time.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn sweep_blocks(
        &mut self,
        rule: &str,
        from: &str,
        cond: &str,
        held_back: Option<&str>,
        children: &[(String, String)],
        unlink: &[(String, String)],
        cut: &str,
        categories: &str,
    ) -> anyhow::Result<u64> {
        let db: &dyn Db = self.conn;
        let regclass = format!("to_regclass('{}')", from.replace('\'', "''"));
        let (pages, per_page): (i64, f64) = db.one(
            &format!(
                "SELECT pg_relation_size({regclass}) / current_setting('block_size')::bigint,
                        coalesce((SELECT CASE WHEN relpages > 0 AND reltuples > 0 THEN reltuples / relpages END
                                  FROM pg_class WHERE oid = {regclass}), 100)::float8"
            ),
            &[],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let step = ((self.batch as f64 / per_page.max(1.0)).ceil() as i64).max(1);
        // Each range planned with its own bounds (a TID range scan), not one generic plan.
        db.run("SET plan_cache_mode = force_custom_plan", &[])?;
        let range = "ctid >= format('(%s,0)', ?3::bigint)::tid AND ctid < format('(%s,0)', ?4::bigint)::tid";
        // The rows held back for people waiting for an answer (`expiry::frozen`), by their rowid,
        // found once and again only when the waiting requests change: as a condition of every
        // batch, PostgreSQL built the whole set again for each (46 of a batch's 50 ms with 3,000
        // people waiting). A rowid does not change when a row is updated; new rows are not expired.
        let mut waiting_seen: Option<String> = None;
        // Whether the waiting requests may have changed is asked of the audit chain's head first
        // (one row): a request opened, resolved to a person or closed appends its audit entry in
        // the same transaction, and this rule appends none until its last batch. Only when the
        // head moved is the count of waiting requests taken (about 1 ms with 3,000 of them, once
        // for every batch before).
        let mut audit_seen: Option<(i64, String)> = None;
        // Each batch compares its rows with the held rows of its own rowids only (those between
        // the least and greatest rowid in its pages, an index range of the set): against the
        // whole set, every batch hashed all of it again, and the time per batch grew with the
        // number of people waiting. A held row that moved is still found: the bounds are taken
        // from the rows the pages hold now, both in one pass over them (one subquery).
        let cond = match held_back {
            Some(_) => {
                db.run("CREATE TEMP TABLE IF NOT EXISTS retention_held (rowid bigint PRIMARY KEY)", &[])?;
                let pages = range.replace("ctid", "r.ctid");
                format!(
                    "({cond}) AND {from}.rowid NOT IN (SELECT h.rowid FROM pg_temp.retention_held h,
                     (SELECT min(r.rowid) AS lo, max(r.rowid) AS hi FROM {from} r WHERE {pages}) b
                     WHERE h.rowid BETWEEN b.lo AND b.hi)"
                )
            }
            None => cond.to_owned(),
        };
        let cond = cond.as_str();
        let mut total = 0;
        let mut start = 0i64;
        // Pages added while the run goes are walked too (their rows are new, rarely expired).
        let mut end = pages;
        while start < end {
            let params = vals![cut, categories, start, start + step]?;
            let tx = self.conn.begin()?;
            // Not waiting for each batch's log flush: a batch is whole or not at all either way
            // (its progress count with it), and one lost to a crash is deleted again by the next
            // run. The rule's audit entry, committed as usual after its last batch (`finish`),
            // flushes the log up to it, these batches included.
            tx.run("SET LOCAL synchronous_commit = off", &[])?;
            let head = held_back.map(|_| crate::audit::head(&*tx, false)).transpose()?;
            if let Some(frozen) = held_back.filter(|_| head != audit_seen) {
                audit_seen = head;
                let now: String = (&*tx as &dyn Db).one(super::expiry::WAITING_NOW, &[], |r| r.get(0))?;
                if waiting_seen.as_deref() != Some(now.as_str()) {
                    tx.run("DELETE FROM pg_temp.retention_held", &[])?;
                    tx.run(
                        &format!(
                            "INSERT INTO pg_temp.retention_held SELECT rowid FROM {from} WHERE {frozen} ON CONFLICT DO NOTHING"
                        ),
                        &[],
                    )?;
                    tx.run("ANALYZE pg_temp.retention_held", &[])?;
                    waiting_seen = Some(now);
                }
            }
            let mut with = 0;
            let n = if children.is_empty() && unlink.is_empty() {
                tx.run(&format!("DELETE FROM {from} WHERE ({cond}) AND {range}"), &params)? as u64
            } else {
                tx.run("DELETE FROM pg_temp.retention_ids", &[])?;
                tx.run(
                    &format!("INSERT INTO pg_temp.retention_ids SELECT ctid FROM {from} WHERE ({cond}) AND {range}"),
                    &params,
                )?;
                let ids =
                    format!("(SELECT id FROM {from} WHERE ctid = ANY(ARRAY(SELECT id FROM pg_temp.retention_ids)))");
                // The rows of other tables removed with them: counted apart (`removed_with`).
                for (child, link) in children {
                    let child = self.map.sql_name(child);
                    with += tx.run(&format!("DELETE FROM {child} WHERE {}", link.replace("{ids}", &ids)), &[])? as u64;
                }
                for (other, column) in unlink {
                    tx.run(&format!("UPDATE {other} SET {column} = NULL WHERE {column} IN {ids}"), &[])?;
                }
                tx.run(
                    &format!("DELETE FROM {from} WHERE ctid = ANY(ARRAY(SELECT id FROM pg_temp.retention_ids))"),
                    &[],
                )? as u64
            };
            progress(&*tx, rule, n, with)?;
            tx.commit()?;
            total += n;
            self.with += with;
            start += step;
            if start >= end {
                end = db.one(
                    &format!("SELECT pg_relation_size({regclass}) / current_setting('block_size')::bigint"),
                    &[],
                    |r| r.get(0),
                )?;
            }
        }
        db.run("SET plan_cache_mode = auto", &[])?;
        Ok(total)
    }
}

/// Whether a PostgreSQL table has dsr's `rowid` column (every table dsr made does; a company's own
/// table in place need not).
pub(super) fn has_rowid(db: &dyn Db, from: &str) -> anyhow::Result<bool> {
    db.one(
        "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(?1) AND attname = 'rowid' AND NOT attisdropped)",
        &vals![from]?,
        |r| r.get(0),
    )
}
