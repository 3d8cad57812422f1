//! The schema of dsr's records on PostgreSQL and its versions: numbered migrations
//! (`migrations/NNNN_*.sql`), each applied once, all pending ones in one transaction under an
//! advisory lock, so that two processes opening an old store at once upgrade it once. The
//! versions applied are rows of `SCHEMA.schema_migrations`; a store with a version newer than
//! this binary is refused (exit 12), and a schema of that name that dsr did not make is not a
//! store (exit 11).

use postgres::Client;

use super::Target;
use crate::error::Error;

/// The migrations, in order: (version, SQL with `{schema}` for the schema's name).
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("migrations/0001_store.sql")),
    (2, include_str!("migrations/0002_intake.sql")),
    (3, include_str!("migrations/0003_open_requests_by_deadline.sql")),
    // SQLite's migration 18: the accountability report's indexes and erasure tally.
    (4, include_str!("migrations/0004_report.sql")),
    // SQLite's migration 19: requests the officer must review first.
    (5, include_str!("migrations/0005_needs_review.sql")),
    // SQLite's migration 20: an erased person's root row on the suppression list.
    (6, include_str!("migrations/0006_suppression_record.sql")),
    // SQLite's migration 21: categories whose data goes by mail only encrypted.
    (7, include_str!("migrations/0007_category_mail_encrypted.sql")),
    // SQLite's migration 23: which basis of Art. 6(1) a legal basis is.
    (8, include_str!("migrations/0008_legal_basis_kind.sql")),
    // SQLite's migration 24: where a queued journal line is written.
    (9, include_str!("migrations/0009_queued_place.sql")),
    // SQLite's migration 25: how an email identifier compares its local part.
    (10, include_str!("migrations/0010_email_local_part.sql")),
    // SQLite's migration 26: the sender of a message read, as a keyed hash.
    (11, include_str!("migrations/0011_intake_sender_key.sql")),
    // SQLite's migration 27: the erasure a legal-claims restriction holds back.
    (12, include_str!("migrations/0012_restriction_erasure.sql")),
    // SQLite's migration 28: a lifted restriction's task for the systems.
    (13, include_str!("migrations/0013_task_lift.sql")),
    // SQLite's migration 29: the Message-ID of a message read, as a keyed hash.
    (14, include_str!("migrations/0014_intake_message_key.sql")),
    // SQLite's migration 30: an erased person's IP addresses on the suppression list.
    (15, include_str!("migrations/0015_suppression_ip.sql")),
];

/// The newest version this binary knows.
pub fn latest() -> i32 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// What is at the target's schema.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
    /// No schema of that name.
    Nothing,
    /// A schema without dsr's table of versions.
    Foreign,
    /// A dsr store at this version.
    Store(i32),
}

/// A dsr store is a schema whose `schema_migrations` has exactly dsr's two columns, and which,
/// holds a recorded version and the trail and metadata tables that migration 1 made. Another
/// tool's table of that name (golang-migrate's, Rails', Ecto's: other columns), one of dsr's
/// shape beside none of dsr's tables, or one with no version is [`Found::Foreign`]: never read
/// as a version, never migrated.
pub fn found(client: &mut impl postgres::GenericClient, schema: &str) -> Result<Found, postgres::Error> {
    let row = client.query_one(
        "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1),
                (SELECT array_agg(a.attname::text || ' ' || format_type(a.atttypid, a.atttypmod) ORDER BY a.attname)
                   FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = $1 AND c.relname = 'schema_migrations' AND c.relkind IN ('r', 'p')
                    AND a.attnum > 0 AND NOT a.attisdropped),
                (SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename IN ('store_meta', 'audit_log')) = 2",
        &[&schema],
    )?;
    if !row.get::<_, bool>(0) {
        return Ok(Found::Nothing);
    }
    let columns: Option<Vec<String>> = row.get(1);
    let ours = ["applied_at timestamp with time zone", "version integer"];
    if columns.as_deref() != Some(&ours.map(String::from)[..]) {
        return Ok(Found::Foreign);
    }
    let version: Option<i32> =
        client.query_one(&format!("SELECT max(version) FROM {schema}.schema_migrations"), &[])?.get(0);
    // Versions beside none of dsr's tables are another application's; so is the table of
    // versions empty: dsr makes a store in one transaction (`create`), which leaves no such table.
    match version {
        Some(v) if v > 0 && row.get::<_, bool>(2) => Ok(Found::Store(v)),
        _ => Ok(Found::Foreign),
    }
}

/// Make a new store: the schema, its table of versions and every migration, in one
/// transaction. An existing schema of that name is refused, store or not.
pub fn create(client: &mut Client, target: &Target) -> anyhow::Result<()> {
    let mut tx = client.transaction()?;
    create_in(&mut tx, target)?;
    tx.commit()?;
    Ok(())
}

/// [`create`] inside the caller's transaction (`dsr migrate` copies a store in the same one):
/// `tx` is a transaction, or a client in a transaction the caller began.
pub fn create_in(tx: &mut impl postgres::GenericClient, target: &Target) -> anyhow::Result<()> {
    let schema = &target.schema;
    lock(tx, schema)?;
    if found(tx, schema)? != Found::Nothing {
        return Err(Error::SchemaExists { schema: schema.clone(), database: target.shown.clone() }.into());
    }
    tx.batch_execute(&format!(
        "CREATE SCHEMA {schema};
         CREATE TABLE {schema}.schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());"
    ))?;
    apply(tx, schema, 0)?;
    seed(tx, schema)?;
    Ok(())
}

/// The rows a new store starts with: the audit trail's head (appenders lock this row, one at a
/// time) and the data map's version token (as SQLite's migration 12 seeds it). Existing ones
/// are kept (`dsr migrate` copies its own first).
pub fn seed(tx: &mut impl postgres::GenericClient, schema: &str) -> Result<(), postgres::Error> {
    tx.execute(
        &format!(
            "INSERT INTO {schema}.store_meta (key, value) VALUES ('audit-head', jsonb_build_object('t', $1::text))
             ON CONFLICT (key) DO NOTHING"
        ),
        &[&format!("0:{}", crate::audit::GENESIS)],
    )?;
    tx.execute(
        &format!(
            "INSERT INTO {schema}.map_version (one, token) VALUES (1, decode(md5(random()::text || clock_timestamp()::text), 'hex'))
             ON CONFLICT (one) DO NOTHING"
        ),
        &[],
    )?;
    Ok(())
}

/// Open a store: refuse what is not one, or is newer than this binary; apply the pending
/// migrations of an older one.
pub fn open(client: &mut Client, target: &Target) -> anyhow::Result<i32> {
    let schema = &target.schema;
    match found(client, schema)? {
        Found::Nothing => {
            return Err(Error::SchemaMissing { schema: schema.clone(), database: target.shown.clone() }.into())
        }
        Found::Foreign => {
            return Err(Error::SchemaForeign { schema: schema.clone(), database: target.shown.clone() }.into())
        }
        Found::Store(v) if v > latest() => {
            return Err(Error::StoreTooNew { path: target.path(), found: v.into(), supported: latest().into() }.into())
        }
        Found::Store(v) if v == latest() => return Ok(v),
        Found::Store(_) => {}
    }
    let mut tx = client.transaction()?;
    lock(&mut tx, schema)?;
    // Another process may have upgraded it while this one waited for the lock.
    let Found::Store(v) = found(&mut tx, schema)? else {
        return Err(Error::NotAStore(target.path()).into());
    };
    apply(&mut tx, schema, v)?;
    tx.commit()?;
    Ok(latest())
}

/// One migrator at a time per schema, until the transaction ends.
fn lock(tx: &mut impl postgres::GenericClient, schema: &str) -> Result<(), postgres::Error> {
    tx.execute("SELECT pg_advisory_xact_lock(hashtext('dsr-migrate:' || $1))", &[&schema]).map(|_| ())
}

fn apply(tx: &mut impl postgres::GenericClient, schema: &str, from: i32) -> Result<(), postgres::Error> {
    for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > from) {
        tx.batch_execute(&sql.replace("{schema}", schema))?;
        tx.execute(&format!("INSERT INTO {schema}.schema_migrations (version) VALUES ($1)"), &[version])?;
    }
    Ok(())
}
