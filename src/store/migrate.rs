//! Schema versions. `PRAGMA user_version` holds the number of migrations applied; the list
//! below is append-only. Migration 1 is `schema.sql` at the top of the repository; every later
//! change is a new numbered file in `migrations/`. All pending migrations run in one exclusive transaction,
//! so a store is never left half-upgraded, and a store newer than this binary is refused.

use anyhow::Context;
use rusqlite::TransactionBehavior;

use super::{Store, APPLICATION_ID};
use crate::error::Error;

/// The migrations, in order. Never edit or reorder a released entry; append a new one. A store
/// may lack the built-in company tables its company does not use (`personal::leave_out_builtin`):
/// a new migration that touches one checks that it is there.
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
    ("requests the officer must review first", include_str!("migrations/0019_needs_review.sql")),
    ("an erased person's root row on the suppression list", include_str!("migrations/0020_suppression_record.sql")),
    ("categories whose data goes by mail only encrypted", include_str!("migrations/0021_category_mail_encrypted.sql")),
    ("a free text's id is never given again", include_str!("migrations/0022_free_text_ids_never_reused.sql")),
    ("which basis of Art. 6(1) a legal basis is", include_str!("migrations/0023_legal_basis_kind.sql")),
    ("where a queued journal line is written", include_str!("migrations/0024_queued_place.sql")),
    ("how an email identifier compares its local part", include_str!("migrations/0025_email_local_part.sql")),
    ("the sender of a message read, as a keyed hash", include_str!("migrations/0026_intake_sender_key.sql")),
    ("the erasure a legal-claims restriction holds back", include_str!("migrations/0027_restriction_erasure.sql")),
    ("a lifted restriction's task for the systems", include_str!("migrations/0028_task_lift.sql")),
    ("the Message-ID of a message read, as a keyed hash", include_str!("migrations/0029_intake_message_key.sql")),
    ("an erased person's IP addresses on the suppression list", include_str!("migrations/0030_suppression_ip.sql")),
];

/// The migration that added the data map: a store older than it gets the built-in map.
const DATA_MAP: usize = 10;

/// The migration that lets a request need the officer's review (its kind `unclear`, its state
/// `needs-review`): the request table's checks are widened before its file runs.
const NEEDS_REVIEW: usize = 19;

/// The migration that lets the suppression list hold an erased person's root row (kind
/// `record`): the suppression table's check is widened before its file runs.
const SUPPRESSION_RECORD: usize = 20;

/// The migration that lets a task tell a system a restriction was lifted (action `lift`): the
/// task table's check is widened before its file runs.
const TASK_LIFT: usize = 28;

/// The migration that lets the suppression list hold an erased person's IP address (kind `ip`):
/// the suppression table's check is widened again before its file runs.
const SUPPRESSION_IP: usize = 30;

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
        if i + 1 == NEEDS_REVIEW {
            widen_checks(&tx, "request", &REQUEST_CHECKS).context("migration 19: the request table's checks")?;
        }
        if i + 1 == SUPPRESSION_RECORD {
            widen_checks(&tx, "suppression", &SUPPRESSION_CHECKS)
                .context("migration 20: the suppression table's check")?;
        }
        if i + 1 == TASK_LIFT {
            widen_checks(&tx, "task", &TASK_CHECKS).context("migration 28: the task table's check")?;
        }
        if i + 1 == SUPPRESSION_IP {
            widen_checks(&tx, "suppression", &SUPPRESSION_IP_CHECKS)
                .context("migration 30: the suppression table's check")?;
        }
        tx.execute_batch(sql).with_context(|| format!("migration {} ({name}) failed", i + 1))?;
        if i + 1 == DATA_MAP && from > 0 {
            super::personal::install_builtin(&tx).context("migration 10: the built-in data map")?;
        }
    }
    tx.pragma_update(None, "user_version", latest())?;
    tx.commit()?;
    Ok(())
}

/// The checks of the request table, as `schema.sql` wrote them and as migration 19 widens them.
const REQUEST_CHECKS: [(&str, &str); 2] = [
    (
        "CHECK (kind IN ('access', 'export', 'rectify', 'erase', 'restrict', 'object'))",
        "CHECK (kind IN ('access', 'export', 'rectify', 'erase', 'restrict', 'object', 'unclear'))",
    ),
    (
        "CHECK (state IN ('awaiting-verification', 'verified', 'completed', 'rejected', 'expired'))",
        "CHECK (state IN ('needs-review', 'awaiting-verification', 'verified', 'completed', 'rejected', 'expired'))",
    ),
];

/// The check of the suppression table's kinds, as `schema.sql` wrote it and as migration 20 widens it.
const SUPPRESSION_CHECKS: [(&str, &str); 1] =
    [("CHECK (kind IN ('email', 'phone', 'customer'))", "CHECK (kind IN ('email', 'phone', 'customer', 'record'))")];

/// The check of the suppression table's kinds as migration 20 left it and as migration 30 widens it.
const SUPPRESSION_IP_CHECKS: [(&str, &str); 1] = [(
    "CHECK (kind IN ('email', 'phone', 'customer', 'record'))",
    "CHECK (kind IN ('email', 'phone', 'customer', 'record', 'ip'))",
)];

const TASK_CHECKS: [(&str, &str); 1] = [(
    "CHECK (action IN ('rectify', 'erase', 'restrict', 'object'))",
    "CHECK (action IN ('rectify', 'erase', 'restrict', 'object', 'lift'))",
)];

/// Widen a table's checks in its stored definition (migration 19: the request table's kind and
/// state; 20: the suppression table's kind; 28: the task table's action), inside the migrations' transaction. Every row valid
/// before is valid after, so no row is rewritten: this is the procedure sqlite.org gives for such
/// a change (lang_altertable.html, section 7:
/// `writable_schema`, then a new schema version so that every connection reads the definition
/// again). A definition already widened is left; one that is neither is refused, naming why.
fn widen_checks(tx: &rusqlite::Transaction<'_>, table: &str, checks: &[(&str, &str)]) -> anyhow::Result<()> {
    let sql: String =
        tx.query_row("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1", [table], |r| r.get(0))?;
    let mut widened = sql.clone();
    for &(old, new) in checks {
        // Widened already, by this migration or a later one (which appends to the list).
        if widened.contains(new.trim_end_matches("))")) {
            continue;
        }
        anyhow::ensure!(
            widened.contains(old),
            "the {table} table's definition lacks `{old}`: it was changed outside dsr"
        );
        widened = widened.replacen(old, new, 1);
    }
    if widened == sql {
        return Ok(());
    }
    let version: i64 = tx.query_row("PRAGMA schema_version", [], |r| r.get(0))?;
    tx.pragma_update(None, "writable_schema", true)?;
    let changed =
        tx.execute("UPDATE sqlite_schema SET sql = ?1 WHERE type = 'table' AND name = ?2", [widened.as_str(), table]);
    tx.pragma_update(None, "schema_version", version + 1)?;
    tx.pragma_update(None, "writable_schema", false)?;
    anyhow::ensure!(changed? == 1, "the {table} table's definition was not found");
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

    #[test]
    fn migration_19_widens_the_request_checks_and_nothing_else() {
        let mut store = Store::in_memory().unwrap();
        let insert = |kind: &str, state: &str, seq: i64| {
            store.conn.execute(
                "INSERT INTO request (id, year, seq, kind, subject_kind, subject_pseudonym, channel, received_on, due_on, state, created_at)
                 VALUES ('DSR-2026-' || ?3, 2026, ?3, ?1, 'email', 'p', 'email', '2026-01-01', '2026-02-01', ?2, 't')",
                rusqlite::params![kind, state, seq],
            )
        };
        insert("unclear", "needs-review", 1).unwrap();
        insert("access", "needs-review", 2).unwrap();
        assert!(insert("anything", "needs-review", 3).is_err(), "other kinds are still refused");
        assert!(insert("access", "reviewing", 4).is_err(), "other states are still refused");
        let ok: String = store.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(ok, "ok");
        // Run again on a widened table: left as it is.
        let before: String =
            store.conn.query_row("SELECT sql FROM sqlite_schema WHERE name = 'request'", [], |r| r.get(0)).unwrap();
        let tx = store.conn.transaction().unwrap();
        widen_checks(&tx, "request", &REQUEST_CHECKS).unwrap();
        tx.commit().unwrap();
        let after: String =
            store.conn.query_row("SELECT sql FROM sqlite_schema WHERE name = 'request'", [], |r| r.get(0)).unwrap();
        assert_eq!(before, after);
    }

    #[test]
    fn migration_20_lets_the_suppression_list_hold_a_record() {
        let store = Store::in_memory().unwrap();
        let insert = |kind: &str| {
            store.conn.execute(
                "INSERT INTO suppression (hash, kind, reason, added_at) VALUES (?1, ?1, 'erased', 't')",
                [kind],
            )
        };
        insert("record").unwrap();
        insert("email").unwrap();
        assert!(insert("anything").is_err(), "other kinds are still refused");
    }
}
