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
    for d in crate::store::attached::listed(conn)?.into_iter().filter(|d| d.path != crate::map::POSTGRES_SCHEMA) {
        let path = crate::store::attached::resolve(&conn.place(), &d.path);
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
        // Asked of the kernel for this account (its effective ids), without writing anything:
        // doctor only reads.
        let may_write = |p: &std::path::Path| {
            rustix::fs::accessat(rustix::fs::CWD, p, rustix::fs::Access::WRITE_OK, rustix::fs::AtFlags::EACCESS)
                .map_err(std::io::Error::from)
                .err()
        };
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
