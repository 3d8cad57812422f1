//! The audit chain on PostgreSQL (src/audit.rs holds the chain's rules; this is its storage).
//! SQLite lets one writer in at a time for the whole file; PostgreSQL does not, so two officers
//! or an officer and cron appending at once would read the same previous entry and fork the
//! chain. Here the appending transaction first locks the head row (`SELECT ... FOR UPDATE`):
//! the next appender waits until the first commits or rolls back, then reads the new head.

use postgres::GenericClient;
use serde_json::Value;

use crate::audit::{parse_head, NewEntry, Stored, Verification, Walk};
use crate::clock::Clock;

/// Append one entry, inside the caller's transaction (the change it records commits with it).
pub fn append(
    tx: &mut impl GenericClient,
    schema: &str,
    clock: &Clock,
    request_id: Option<&str>,
    subject: Option<&str>,
    action: &str,
    details: Value,
) -> anyhow::Result<()> {
    let head: Option<String> = tx
        .query_opt(&format!("SELECT value FROM {schema}.store_meta WHERE key = 'audit-head' FOR UPDATE"), &[])?
        .map(|r| r.get(0));
    let last: Option<(i64, String)> = tx
        .query_opt(&format!("SELECT id, at FROM {schema}.audit_log ORDER BY id DESC LIMIT 1"), &[])?
        .map(|r| (r.get(0), r.get(1)));
    let e = NewEntry::after(parse_head(head), last, clock, request_id, subject, action, &details)?;
    tx.execute(
        &format!(
            "INSERT INTO {schema}.audit_log (id, at, clock_injected, actor, request_id, subject_pseudonym, action, details, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ),
        &[&e.id, &e.at, &e.injected, &e.actor, &request_id, &subject, &action, &e.details, &e.prev, &e.hash],
    )?;
    tx.execute(
        &format!(
            "INSERT INTO {schema}.store_meta (key, value) VALUES ('audit-head', $1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        ),
        &[&e.head()],
    )?;
    Ok(())
}

/// Recompute the chain from the first entry to the recorded head, in one snapshot.
pub fn verify(client: &mut postgres::Client, schema: &str) -> anyhow::Result<Verification> {
    let mut tx =
        client.build_transaction().read_only(true).isolation_level(postgres::IsolationLevel::RepeatableRead).start()?;
    let sql = format!(
        "SELECT id, at, clock_injected, actor, request_id, subject_pseudonym, action, details, prev_hash, hash
         FROM {schema}.audit_log ORDER BY id"
    );
    let mut walk = Walk::default();
    let mut rows = tx.query_raw(sql.as_str(), std::iter::empty::<&str>())?;
    use postgres::fallible_iterator::FallibleIterator;
    while let Some(r) = rows.next()? {
        let e = Stored {
            id: r.get(0),
            at: r.get(1),
            injected: r.get(2),
            actor: r.get(3),
            request: r.get(4),
            subject: r.get(5),
            action: r.get(6),
            details: r.get(7),
            prev_hash: r.get(8),
            hash: r.get(9),
        };
        if let Err(bad) = walk.step(&e) {
            return Ok(*bad);
        }
    }
    drop(rows);
    let head: Option<String> = tx
        .query_opt(&format!("SELECT value FROM {schema}.store_meta WHERE key = 'audit-head'"), &[])?
        .map(|r| r.get(0));
    tx.commit()?;
    Ok(walk.finish(parse_head(head)))
}
