//! Whether dsr may change what the data map names: the company's SQLite files (this account's
//! write access) and, on PostgreSQL, the role's rights on the company's schemas.

use super::Finding;
use crate::store::db::{Db, Dialect};

/// A company database this account cannot write: SQLite attaches it read-only without a word,
/// and every erasure, rectification and retention rule on its tables then fails.
pub(super) fn writable(conn: &dyn Db, out: &mut Vec<Finding>) -> anyhow::Result<()> {
    // (the company's SQLite files, of a SQLite store or beside a PostgreSQL one; on PostgreSQL,
    // the role's rights on the company's schemas)
    if conn.map_dialect() != Dialect::Sqlite {
        return rights(conn, out);
    }
    // Asked of the kernel for this account (its effective ids), without writing anything:
    // doctor only reads.
    let may_write = |p: &std::path::Path| {
        rustix::fs::accessat(rustix::fs::CWD, p, rustix::fs::Access::WRITE_OK, rustix::fs::AtFlags::EACCESS)
            .map_err(std::io::Error::from)
            .err()
    };
    // The store itself, its directory and its -wal and -shm files: SQLite opens a file it may
    // not write read-only without a word, and the first command that records something fails.
    let store = conn.place();
    if conn.dialect() == Dialect::Sqlite && store.is_file() {
        let dir = store.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
        let side = |suffix: &str| {
            let mut p = store.clone().into_os_string();
            p.push(suffix);
            std::path::PathBuf::from(p)
        };
        let files = [store.clone(), dir.to_path_buf(), side("-wal"), side("-shm")];
        if let Some((path, e)) = files.iter().filter(|p| p.exists()).find_map(|p| may_write(p).map(|e| (p, e))) {
            out.push(Finding {
                check: "database",
                table: "main".into(),
                column: None,
                rows: 0,
                what: format!(
                    "the store's {} cannot be written by this account ({e}): every command that records something (a request, a code, an answer, the audit trail) fails with exit 15",
                    path.display()
                ),
                fix: "give the account that runs dsr write access to the store, its -wal and -shm files and its directory".into(),
            });
        }
    }
    for d in crate::store::attached::listed(conn)?.into_iter().filter(|d| d.path != crate::map::POSTGRES_SCHEMA) {
        let path = crate::store::attached::resolve(&conn.place(), &d.path);
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
        let denied = may_write(&path).or_else(|| may_write(dir));
        if let Some(e) = denied {
            out.push(Finding {
                check: "database",
                table: d.name.clone(),
                column: None,
                rows: 0,
                what: format!(
                    "the company database {} cannot be written by this account ({e}): erasures, rectifications and retention rules on its tables fail",
                    path.display()
                ),
                fix: "give the account that runs dsr write access to the file and its directory (SQLite writes its journal there)"
                    .into(),
            });
        }
    }
    Ok(())
}

/// On PostgreSQL, each table of a company's schema that the role dsr connects as may not use
/// whole (no USAGE on the schema, or one of SELECT, INSERT, UPDATE, DELETE on the table): the
/// rights on its rows fail when they run, or the table looks gone to the checks above.
fn rights(conn: &dyn Db, out: &mut Vec<Finding>) -> anyhow::Result<()> {
    if conn.dialect() == Dialect::Postgres {
        own_schema(conn, out)?;
    }
    let map = crate::store::personal::DataMap::load(conn)?;
    for t in map.tables.iter().filter(|t| t.database.is_some()) {
        let Some(lacking) = crate::store::personal::rights_lacking(conn, t, true)? else { continue };
        let schema = t.database.as_deref().unwrap_or_default();
        out.push(Finding {
            check: "database",
            table: t.name.clone(),
            column: None,
            rows: 0,
            what: format!(
                "the role dsr connects as has no {lacking} on {schema}.{}: access, erasure, rectification and retention on its rows fail",
                t.name
            ),
            fix: format!(
                "grant them to the role (GRANT USAGE ON SCHEMA {schema}; GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.{}), or connect as one that has them",
                t.name
            ),
        });
    }
    Ok(())
}

/// On PostgreSQL, the tables of the store's own schema (dsr's records, and the map's tables made
/// there) that the role may read but not change: every request, code, answer and audit entry
/// is written there, so a role that only reads opens the store and fails at its first write.
/// One finding for each set of rights lacking, naming the tables.
fn own_schema(conn: &dyn Db, out: &mut Vec<Finding>) -> anyhow::Result<()> {
    let lacking: Vec<(String, String, String, i64, String)> = conn.all(
        "SELECT current_schema()::text, current_user::text, l.lacking, count(*),
                array_to_string((array_agg(l.relname::text ORDER BY l.relname))[1:6], ', ')
         FROM (SELECT c.relname, concat_ws(', ',
                      CASE WHEN NOT has_table_privilege(c.oid, 'SELECT') THEN 'SELECT' END,
                      CASE WHEN NOT has_table_privilege(c.oid, 'INSERT') THEN 'INSERT' END,
                      CASE WHEN NOT has_table_privilege(c.oid, 'UPDATE') THEN 'UPDATE' END,
                      CASE WHEN NOT has_table_privilege(c.oid, 'DELETE') THEN 'DELETE' END) AS lacking
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')) l
         WHERE l.lacking <> '' GROUP BY l.lacking ORDER BY l.lacking",
        &[],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )?;
    // The tables the role does not own: an erasure's VACUUM skips them (a server warning only),
    // so every erasure that touches them ends with exit 23.
    let (role, count, first): (String, i64, Option<String>) = conn.one(
        "SELECT current_user::text, count(*), array_to_string((array_agg(n.nspname || '.' || c.relname ORDER BY n.nspname, c.relname))[1:6], ', ')
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p') AND (n.nspname = current_schema()
                OR n.nspname IN (SELECT schema_name FROM information_schema.schemata WHERE schema_name <> current_schema()
                                   AND schema_name = ANY (string_to_array(?1, ','))))
           AND NOT pg_has_role(current_user, c.relowner, 'USAGE')
           AND NOT pg_has_role(current_user, (SELECT datdba FROM pg_database WHERE datname = current_database()), 'USAGE')
           AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)",
        &[crate::store::db::Value::Text(company_schemas(conn)?.join(","))],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    if count > 0 {
        let shown = if count > 6 { format!("{}, ...", first.unwrap_or_default()) } else { first.unwrap_or_default() };
        out.push(Finding {
            check: "database",
            table: String::new(),
            column: None,
            rows: 0,
            what: format!(
                "the role {role} dsr connects as does not own {} ({shown}): VACUUM skips a table it does not own, so every erasure touching them ends with exit 23 and dead rows may keep erased values",
                crate::output::plural(count, "table", "tables")
            ),
            fix: format!("connect dsr as their owner, or make {role} their owner (ALTER TABLE ... OWNER TO {role})"),
        });
    }
    for (schema, role, rights, count, first) in lacking {
        // The first six tables, by name.
        let shown = if count > 6 { format!("{first}, ...") } else { first };
        out.push(Finding {
            check: "database",
            table: schema.clone(),
            column: None,
            rows: 0,
            what: format!(
                "the role {role} dsr connects as has no {rights} on {} of the store's schema {schema} ({shown}): every command that records something (a request, a code, an answer, the audit trail) fails",
                crate::output::plural(count, "table", "tables")
            ),
            fix: format!(
                "grant them (GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}), or connect as the role that made the store"
            ),
        });
    }
    Ok(())
}

/// The company schemas the data map places tables in (on PostgreSQL a company database is a
/// schema of the same database).
fn company_schemas(conn: &dyn Db) -> anyhow::Result<Vec<String>> {
    let map = crate::store::personal::DataMap::load(conn)?;
    let mut out: Vec<String> = map.tables.iter().filter_map(|t| t.database.clone()).collect();
    out.sort();
    out.dedup();
    Ok(out)
}
