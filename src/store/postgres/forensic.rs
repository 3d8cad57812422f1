//! What PostgreSQL keeps of a deleted value, and what dsr does about it (docs/postgresql.md,
//! "Erased values on PostgreSQL"). A `DELETE` leaves the row's bytes in its page until `VACUUM`
//! removes the dead row, and even then a page's compaction can leave the bytes in the page's
//! free space until a new row overwrites them (seen with pageinspect: the row last added to a
//! page, in the table and in its indexes); only a rewrite of the table (`VACUUM FULL`) makes new
//! files without them. `ANALYZE` copies sample values into `pg_statistic`; dsr sets the
//! statistics target of every identifier column to 0 before any value is sampled (a store it
//! makes), so none are. Samples taken before such a setting stay in `pg_statistic` until the
//! column's statistics are removed; `ANALYZE` does not remove them.

use postgres::GenericClient;

use crate::store::db::Pg;

/// dsr's own columns that hold an identifier as a person or a message gave it: a request's
/// subject, an intake message's sender.
const OWN_IDENTIFIER_COLUMNS: &[(&str, &str)] = &[("request", "subject_given"), ("intake_message", "sender")];

/// The statements that stop the planner's statistics sampling the values of the data map's
/// identifier columns (of the store's schema: a company's own schema is its application's to
/// tune) and of dsr's own columns that hold identifiers: `SET STATISTICS 0` on each. `schema` is
/// the store's schema as SQL names it.
pub fn no_statistics_sql(schema: &str, map: &crate::store::personal::DataMap) -> Vec<String> {
    let mut columns: Vec<(&str, &str)> = OWN_IDENTIFIER_COLUMNS.to_vec();
    for t in map.tables.iter().filter(|t| t.database.is_none()) {
        for id in &t.identifier {
            columns.push((&t.name, &id.column));
            if let Some(w) = &id.written_in {
                columns.push((&t.name, w));
            }
        }
    }
    columns.sort_unstable();
    columns.dedup();
    columns
        .into_iter()
        .map(|(t, c)| {
            format!("ALTER TABLE {schema}.{} ALTER COLUMN {} SET STATISTICS 0", super::ident(t), super::ident(c))
        })
        .collect()
}

/// [`no_statistics_sql`] run: sample no identifier into the planner's statistics from now on.
pub fn no_statistics_on_identifiers(
    client: &mut impl GenericClient,
    schema: &str,
    map: &crate::store::personal::DataMap,
) -> Result<usize, postgres::Error> {
    let statements = no_statistics_sql(schema, map);
    for sql in &statements {
        client.batch_execute(sql)?;
    }
    Ok(statements.len())
}

/// Before an erasure or a run: note the tables it may change ([`note_pending`]), so that a kill
/// after its commit still ends in their vacuum (`Conn::erasing`).
pub fn noting(pg: &Pg, tables: &[String]) -> anyhow::Result<()> {
    let schema = super::ident(pg.schema());
    let mut tables = tables.to_vec();
    tables.sort();
    tables.dedup();
    let tables = serde_json::to_string(&tables)?;
    pg.with_client(|c| {
        let before = c.query_opt(
            &format!("SELECT 1 FROM {schema}.store_meta WHERE key = '{PENDING}' || pg_backend_pid()"),
            &[],
        )?;
        OWN_NOTE.store(before.is_none(), std::sync::atomic::Ordering::Relaxed);
        Ok(note_pending(c, &schema, &tables, PENDING)?)
    })
}

/// Whether this process's last [`noting`] made the session's note (rather than adding to one a
/// killed session of the same process id, or an earlier erasure of this one, left): only then
/// does [`not_noted`] take it back whole.
static OWN_NOTE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// [`noting`] taken back: this session's erasure changed nothing.
pub fn not_noted(pg: &Pg) -> anyhow::Result<()> {
    if !OWN_NOTE.swap(false, std::sync::atomic::Ordering::Relaxed) {
        return Ok(());
    }
    let schema = super::ident(pg.schema());
    pg.batch(&format!("DELETE FROM {schema}.store_meta WHERE key = '{PENDING}' || pg_backend_pid()"))?;
    Ok(())
}

/// The note of tables an erasure left erased values in ([`after_erasure`]: another session's
/// transaction kept them): a later command's [`vacuum`] rewrites them (`VACUUM FULL`) once this
/// session has ended.
const REWRITE: &str = "vacuum-full:";
/// The note of tables an erasure or run will vacuum after its commit.
const PENDING: &str = "vacuum-pending:";

/// After an erasure's commit (`Conn::after_erasure`): the tables of this erasure, and those a
/// killed run noted and never vacuumed, are vacuumed; the notes go once that is done. A table
/// that cannot be vacuumed now (a lock held past `lock_timeout`) is exit 23, its note kept for
/// the next run; one a note names that is gone since has nothing left to vacuum.
///
/// The connection lost on the way (the erasure already committed) is said as such: the erasure
/// stands, and the note left makes the next command vacuum (exit 23, not "run it again").
pub fn vacuum(pg: &Pg, tables: &[String]) -> anyhow::Result<()> {
    vacuum_noted(pg, tables).map_err(|e| match crate::exit::lost(&e) {
        true => {
            let mut named: Vec<&str> = tables.iter().map(String::as_str).collect();
            named.sort_unstable();
            named.dedup();
            let what = if named.is_empty() { "the tables noted".to_owned() } else { named.join(", ") };
            crate::error::Error::NotVacuumed(format!("{what} (the connection to the server was lost)")).into()
        }
        false => e,
    })
}

fn vacuum_noted(pg: &Pg, tables: &[String]) -> anyhow::Result<()> {
    let schema = super::ident(pg.schema());
    let (notes, noted, rewrite) = pg.with_client(|c| Ok(pending(c, &schema)?))?;
    let mut names: Vec<String> = tables.iter().chain(noted.iter()).map(|t| qualified(&schema, t)).collect();
    let rewrite: Vec<String> = rewrite.iter().map(|t| qualified(&schema, t)).collect();
    names.retain(|n| !rewrite.contains(n));
    names.extend(rewrite.iter().cloned());
    names.sort();
    names.dedup();
    let there: Vec<String> = pg.with_client(|c| {
        Ok(c.query("SELECT t FROM unnest($1::text[]) AS t WHERE to_regclass(t) IS NOT NULL", &[&names])?
            .iter()
            .map(|r| r.get(0))
            .collect())
    })?;
    // VACUUM skips, with only a server warning, a table whose owner the role is not (nor a
    // member with its privileges, nor the database's owner or a superuser): said, never passed.
    let not_owned: Vec<String> = pg.with_client(|c| {
        Ok(c.query(
            "SELECT t FROM unnest($1::text[]) AS t JOIN pg_class c ON c.oid = to_regclass(t)
              WHERE NOT pg_has_role(current_user, c.relowner, 'USAGE')
                AND NOT pg_has_role(current_user, (SELECT datdba FROM pg_database WHERE datname = current_database()), 'USAGE')
                AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)",
            &[&there],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect())
    })?;
    let left = without_statement_timeout(pg, || {
        let mut failed: Vec<String> = Vec::new();
        // Each table on its own: VACUUM runs outside a transaction, one table at a time.
        for table in there.iter().filter(|t| !not_owned.contains(t)) {
            let how = if rewrite.contains(table) { "FULL, ANALYZE" } else { "INDEX_CLEANUP ON, ANALYZE" };
            if let Err(e) = pg.batch(&format!("VACUUM ({how}) {table}")) {
                failed.push(format!("{table} ({})", super::one_line_error(&e)));
            }
        }
        Ok(failed)
    })?;
    // Said once for all the tables the role does not own (their owner must vacuum them: no later
    // run of this role will), then the tables that failed this time (the next run tries again).
    let mut told = Vec::new();
    if !not_owned.is_empty() {
        let shown: Vec<&str> = not_owned.iter().take(6).map(String::as_str).collect();
        let more = if not_owned.len() > 6 { format!(" and {} more", not_owned.len() - 6) } else { String::new() };
        told.push(format!(
            "{}{more}, which the role dsr connects as does not own (VACUUM skips a table it does not own, in every run of this role): their owner must vacuum them, or connect dsr as the owner (`dsr doctor` names them)",
            shown.join(", ")
        ));
    }
    if !left.is_empty() {
        told.push(format!("{}; the next `dsr erase` or `dsr retention run` vacuums them", left.join(", ")));
    }
    if !told.is_empty() {
        return Err(crate::error::Error::NotVacuumed(told.join("; and ")).into());
    }
    pg.with_client(|c| Ok(done_pending(c, &schema, &notes)?))
}

/// After [`vacuum`] (`Conn::residue`): [`after_erasure`] on the tables an erasure touched, where
/// pageinspect is installed; nothing to look for, or no pageinspect, is nothing found.
pub fn residue_after(pg: &Pg, tables: &[String], erased: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    if erased.is_empty() {
        return Ok(Vec::new());
    }
    let mut names: Vec<String> = tables.to_vec();
    names.sort();
    names.dedup();
    let schema = pg.schema().to_owned();
    let read = without_statement_timeout(pg, || pg.with_client(|c| Ok(after_erasure(c, &schema, &names, erased)?)))?;
    // Without pageinspect nothing is read: said once, so that an exit 0 does not pass for pages
    // found clean.
    let Some(left) = read else {
        let why = "not read: the pageinspect extension is not installed in this database, so free space PostgreSQL keeps was not searched for the erased values (docs/postgresql.md: install it as a superuser, or run VACUUM FULL on these tables)";
        return Ok(vec![(names.join(", "), why.to_owned())]);
    };
    // A table that still holds an erased value is vacuumed again by the next erasure or run
    // (a note, as for a killed run), when the transaction that kept the value may have ended.
    let kept: Vec<&str> =
        left.iter().filter(|(_, why)| !why.starts_with("not read")).map(|(t, _)| t.as_str()).collect();
    if !kept.is_empty() {
        let kept = serde_json::to_string(&kept)?;
        pg.with_client(|c| Ok(note_pending(c, &super::ident(&schema), &kept, REWRITE)?))?;
    }
    Ok(left)
}

/// `f` with the session's `statement_timeout` off, set back however `f` ends: the vacuum and the
/// page check are the end of an erasure that is committed already, which a timeout the server
/// or the role sets must not cut short.
fn without_statement_timeout<T>(pg: &Pg, f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    pg.batch("SET statement_timeout = 0")?;
    let out = f();
    pg.batch("RESET statement_timeout")?;
    out
}

/// The note of this session's erasure or run (`store_meta`, key `vacuum-pending:PID`): the
/// tables (a JSON array) it will vacuum after its commit, added to what a note of that key
/// holds already (a killed session whose process id this one has now).
pub fn note_pending(
    client: &mut impl GenericClient,
    schema: &str,
    tables: &str,
    kind: &str,
) -> Result<(), postgres::Error> {
    client.execute(
        &format!(
            "INSERT INTO {schema}.store_meta (key, value)
             VALUES ('{kind}' || pg_backend_pid(), jsonb_build_object('t', $1::text))
             ON CONFLICT (key) DO UPDATE SET value = jsonb_build_object('t', (
               SELECT coalesce(jsonb_agg(DISTINCT t ORDER BY t), '[]'::jsonb)::text FROM (
                 SELECT jsonb_array_elements_text((store_meta.value->>'t')::jsonb) AS t
                 UNION SELECT jsonb_array_elements_text(($1::text)::jsonb)) u))"
        ),
        &[&tables],
    )?;
    Ok(())
}

/// The notes to act on now: this session's pending one (its caller knows which tables it
/// changed, so only the key is returned), and those of sessions that ended (a run killed between
/// its commit and its vacuum: their tables too; an erasure that left values: the tables to
/// rewrite, the third list); not those of sessions still at work.
pub fn pending(client: &mut impl GenericClient, schema: &str) -> Result<Noted, postgres::Error> {
    let rows = client.query(
        &format!(
            "SELECT key, CASE WHEN key <> '{PENDING}' || pg_backend_pid() THEN value->>'t' END FROM {schema}.store_meta m
              WHERE (key = '{PENDING}' || pg_backend_pid()
                     OR ((key LIKE '{PENDING}%' OR key LIKE '{REWRITE}%')
                         AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                                          WHERE m.key IN ('{PENDING}' || a.pid, '{REWRITE}' || a.pid))))
              ORDER BY key"
        ),
        &[],
    )?;
    let mut noted = Noted::default();
    for r in rows {
        let key = r.get::<_, String>(0);
        let named: Option<String> = r.get(1);
        let tables = named.and_then(|t| serde_json::from_str::<Vec<String>>(&t).ok()).unwrap_or_default();
        match key.starts_with(REWRITE) {
            true => noted.2.extend(tables),
            false => noted.1.extend(tables),
        }
        noted.0.push(key);
    }
    Ok(noted)
}

/// What [`pending`] finds: the notes' keys, the tables to vacuum, the tables to rewrite.
pub type Noted = (Vec<String>, Vec<String>, Vec<String>);

/// The notes acted on, gone.
pub fn done_pending(client: &mut impl GenericClient, schema: &str, keys: &[String]) -> Result<(), postgres::Error> {
    if !keys.is_empty() {
        client.execute(&format!("DELETE FROM {schema}.store_meta WHERE key = ANY($1)"), &[&keys])?;
    }
    Ok(())
}

/// Where `needle`'s bytes are still in a table's files: (relation, page) for the table, its
/// indexes and its TOAST table, read page by page with pageinspect's `get_raw_page`. `None`
/// when the pageinspect extension is not installed in the database (it needs superuser to read).
pub fn residue(
    client: &mut impl GenericClient,
    schema: &str,
    table: &str,
    needle: &[u8],
) -> Result<Option<Vec<(String, i64)>>, postgres::Error> {
    let Some(namespace) = pageinspect(client)? else {
        return Ok(None);
    };
    pages_holding(client, &namespace, schema, table, &[needle]).map(Some)
}

/// The schema pageinspect's functions were made in (they are called there, whatever the search
/// path), or `None` when it is not installed.
fn pageinspect(client: &mut impl GenericClient) -> Result<Option<String>, postgres::Error> {
    Ok(client
        .query_opt("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pageinspect'", &[])?
        .map(|r| r.get(0)))
}

/// The pages of a table, its indexes and its TOAST table that hold any of `needles`, each page
/// read once.
/// A table of the store's schema (`name`), or of a company's schema of the same database
/// (`shop.name`, a `[[database]]` of the map), as SQL.
pub fn qualified(schema: &str, table: &str) -> String {
    match table.split_once('.') {
        Some((other, name)) => format!("{}.{}", super::ident(other), super::ident(name)),
        None => format!("{schema}.{}", super::ident(table)),
    }
}

fn pages_holding(
    client: &mut impl GenericClient,
    namespace: &str,
    schema: &str,
    table: &str,
    needles: &[&[u8]],
) -> Result<Vec<(String, i64)>, postgres::Error> {
    let relations: Vec<String> = client
        .query(
            "SELECT c.oid::regclass::text FROM pg_class c
              WHERE c.oid = $1::text::regclass
                 OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = $1::text::regclass)
                 OR c.oid = (SELECT reltoastrelid FROM pg_class WHERE oid = $1::text::regclass)
                 OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = (SELECT reltoastrelid FROM pg_class WHERE oid = $1::text::regclass))",
            &[&qualified(schema, table)],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let needles: Vec<&[u8]> = needles.to_vec();
    let mut found = Vec::new();
    for rel in relations {
        let pages: Vec<i64> = client
            .query(
                &format!(
                    "SELECT p FROM generate_series(0, pg_relation_size($1::text::regclass) / current_setting('block_size')::bigint - 1) AS p
                      CROSS JOIN LATERAL (SELECT {namespace}.get_raw_page($1::text, p::int) AS page) g
                      WHERE EXISTS (SELECT 1 FROM unnest($2::bytea[]) AS n WHERE position(n IN g.page) > 0)"
                ),
                &[&rel, &needles],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        found.extend(pages.into_iter().map(|p| (rel.clone(), p)));
    }
    Ok(found)
}

/// Tables larger than this (in 8 KiB pages, 8 MiB) are not read page by page after an erasure:
/// their check would cost more than the erasure; they are named instead.
pub const CHECKED_PAGES: i64 = 1024;

/// After an erasure's VACUUM: where pageinspect is installed, read the pages of each touched table
/// (up to [`CHECKED_PAGES`]) for the erased values; a table that still holds one is rewritten
/// (`VACUUM FULL`, an exclusive lock for as long as it runs, short on such a table) and read
/// again. Returns what remains: (table, why), empty when nothing does; `None` without pageinspect.
pub fn after_erasure(
    client: &mut impl GenericClient,
    schema: &str,
    tables: &[String],
    needles: &[String],
) -> Result<Option<Vec<(String, String)>>, postgres::Error> {
    let Some(namespace) = pageinspect(client)? else {
        return Ok(None);
    };
    let erased = needles;
    let mut left = Vec::new();
    for (i, table) in tables.iter().enumerate() {
        let name = qualified(schema, table);
        let pages: i64 = client
            .query_one(
                "SELECT coalesce(pg_total_relation_size(to_regclass($1)), 0) / current_setting('block_size')::bigint",
                &[&name],
            )?
            .get(0);
        if pages > CHECKED_PAGES {
            left.push((table.clone(), format!("not read: {pages} pages")));
            continue;
        }
        // A value that rows the erasure kept still hold (a payment's reference naming the
        // customer number, kept under the fiscal hold) is no residue in that table.
        let kept: Vec<String> = client
            .query(
                &format!("SELECT n FROM unnest($1::text[]) AS n WHERE EXISTS (SELECT 1 FROM {name} t WHERE strpos(t::text, n) > 0)"),
                &[&erased],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let needles: Vec<&[u8]> = erased.iter().filter(|n| !kept.contains(n)).map(|n| n.as_bytes()).collect();
        if needles.is_empty() {
            continue;
        }
        match pages_holding(client, &namespace, schema, table, &needles) {
            Ok(found) if found.is_empty() => continue,
            Ok(_) => {}
            // Reading raw pages needs a superuser: this table and the rest are not read.
            Err(e) if e.code() == Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE) => {
                let why = "not read: this role may not read raw pages (pageinspect needs a superuser)";
                left.extend(tables[i..].iter().map(|t| (t.clone(), why.to_owned())));
                return Ok(Some(left));
            }
            Err(e) => return Err(e),
        }
        // The rewrite waits for every other session's lock on the table, `lock_timeout` at most:
        // one that holds it longer (a transaction that read the table and stays open) leaves
        // the values where they are, named, and the erasure stands.
        match client.batch_execute(&format!("VACUUM FULL {name}")) {
            Err(e) if e.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE) => {
                left.push((
                    table.clone(),
                    "an erased value is still in its pages: another session holds the table (an open transaction \
                     older than the erasure); run VACUUM FULL on it when that has ended"
                        .into(),
                ));
                continue;
            }
            other => other?,
        }
        if !pages_holding(client, &namespace, schema, table, &needles)?.is_empty() {
            left.push((
                table.clone(),
                "an erased value is still in its pages (a transaction older than the erasure is open)".into(),
            ));
        }
    }
    Ok(Some(left))
}
