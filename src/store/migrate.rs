//! Schema versions. `PRAGMA user_version` holds the number of migrations applied; the list
//! below is append-only. Migration 1 is `schema.sql` at the top of the repository; every later
//! change is a new numbered file in `migrations/`. All pending migrations run in one exclusive transaction,
//! so a store is never left half-upgraded, and a store newer than this binary is refused.

use anyhow::Context;
use rusqlite::TransactionBehavior;

use super::{Store, APPLICATION_ID};
use crate::error::Error;

/// The migrations, in order. Never edit or reorder a released entry; append a new one.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("initial schema", include_str!("../../schema.sql")),
    ("erasure plans reviewed by an officer", include_str!("migrations/0002_erasure_plan_reviewed.sql")),
    (
        "delivery, the outbox of side effects, approved erasure plans",
        include_str!("migrations/0003_delivery_outbox_approval.sql"),
    ),
    (
        "Art. 19: collection agency via the dunning step, notifications with proof",
        include_str!("migrations/0004_art19_recipients.sql"),
    ),
    (
        "restriction lifts scheduled after the Art. 18(3) notice",
        include_str!("migrations/0005_restriction_lift_at.sql"),
    ),
    ("free text out of the chain; codes stay expired", include_str!("migrations/0006_free_text_and_expired_codes.sql")),
    ("indexes for the person's restrictions and reviews", include_str!("migrations/0007_access_history_indexes.sql")),
    ("a purpose's legitimate interest in words", include_str!("migrations/0008_purpose_legitimate_interest.sql")),
    ("the address index covers the processing check", include_str!("migrations/0009_check_address_index.sql")),
    ("the data map", include_str!("migrations/0010_data_map.sql")),
    ("a recipient reached through a row of the data map", include_str!("migrations/0011_recipient_via_table_row.sql")),
    ("a token that changes with the data map", include_str!("migrations/0012_map_version.sql")),
    ("the company's databases the data map names", include_str!("migrations/0013_map_database.sql")),
    ("the values a rectification set", include_str!("migrations/0014_rectified.sql")),
    ("tasks for the systems that keep copies", include_str!("migrations/0015_tasks.sql")),
    ("messages read from the privacy mailbox", include_str!("migrations/0016_intake.sql")),
    ("the open requests by their deadline", include_str!("migrations/0017_open_requests_by_deadline.sql")),
    ("indexes and the erasure tally of the accountability report", include_str!("migrations/0018_report.sql")),
];

/// The migration that added the data map: a store older than it gets the built-in map.
const DATA_MAP: usize = 10;

/// The schema version this binary writes.
pub fn latest() -> i64 {
    MIGRATIONS.len() as i64
}

fn version(store: &Store) -> rusqlite::Result<i64> {
    store.conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Bring an opened store up to the latest version, or refuse one that is newer.
pub fn upgrade(store: &mut Store) -> anyhow::Result<()> {
    let found = version(store).map_err(|e| super::classify(&store.path, e))?;
    if found > latest() {
        return Err(Error::StoreTooNew { path: store.path.clone(), found, supported: latest() }.into());
    }
    if found == latest() {
        return Ok(());
    }
    if found == 0 {
        // application_id matched but no schema: an init that never finished.
        return Err(Error::NotAStore(store.path.clone()).into());
    }
    apply(store, found as usize)
}

/// Create the full schema in an empty database.
pub fn create(store: &mut Store) -> anyhow::Result<()> {
    store.conn.pragma_update(None, "application_id", APPLICATION_ID)?;
    apply(store, 0)
}

fn apply(store: &mut Store, from: usize) -> anyhow::Result<()> {
    let tx = store
        .conn
        .transaction_with_behavior(TransactionBehavior::Exclusive)
        .map_err(|e| super::classify(&store.path, e))?;
    for (i, (name, sql)) in MIGRATIONS.iter().enumerate().skip(from) {
        tx.execute_batch(sql).with_context(|| format!("migration {} ({name}) failed", i + 1))?;
        if i + 1 == DATA_MAP && from > 0 {
            super::personal::install_builtin(&tx).context("migration 10: the built-in data map")?;
        }
    }
    tx.pragma_update(None, "user_version", latest())?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_store_is_at_latest_version_with_clean_foreign_keys() {
        let store = Store::in_memory().unwrap();
        assert_eq!(version(&store).unwrap(), latest());
        let bad: i64 = store.conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
        assert_eq!(bad, 0);
    }

    #[test]
    fn every_table_is_strict() {
        let store = Store::in_memory().unwrap();
        let loose: Vec<String> = store
            .conn
            .prepare("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%' AND strict = 0")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(loose.is_empty(), "tables not STRICT: {loose:?}");
    }
}
