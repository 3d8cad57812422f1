//! `dsr migrate`: a SQLite store copied into a new PostgreSQL store. Both sides are read and
//! written in one transaction each: the SQLite store in one read snapshot (a cron run writing
//! meanwhile is not half in the copy), the PostgreSQL store in one transaction that also
//! verifies the copy's audit trail before it commits, so a copy that fails anywhere, or does not
//! verify, leaves nothing behind. The store's schema comes from its migrations, the tables the
//! company added to its SQLite store are translated from SQLite's catalog, every row goes by
//! binary `COPY`, and identity columns are set past the copied numbers.

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use serde::Serialize;

use super::{ident, migrate, translate, Target};
use crate::audit::Verification;
use crate::error::Error;
use crate::store::db::{Param, Pg, Value};
use crate::store::Store;

#[derive(Debug, Serialize)]
pub struct TableCopy {
    pub table: String,
    pub rows: u64,
}

#[derive(Debug, Serialize)]
pub struct Copied {
    pub schema: String,
    pub tables: Vec<TableCopy>,
    pub rows: u64,
    /// The tables the SQLite store had beyond the store's schema (a company's own), made here.
    pub tables_added: Vec<String>,
    /// The audit trail verified on the copy.
    pub audit: Verification,
    /// The company's SQLite files whose relative path names another file from the directory
    /// dsr runs in (where a PostgreSQL store's files are) than from the SQLite store's: the copy
    /// names them by the absolute path of the file the store used (database, path).
    pub repointed: Vec<(String, String)>,
}

/// Copy `from` into a new store at `target`; `progress` is told the rows copied and the total.
pub fn copy(from: &Store, target: &Target, progress: impl FnMut(u64, u64)) -> anyhow::Result<Copied> {
    let conn = &from.conn;
    // A map naming a table or column PostgreSQL reserves would be copied, and then misread; one
    // with tables both in the company's SQLite files and in the store could not be worked on.
    if let Some(file) = crate::map::export::export(conn)? {
        let mut problems = crate::map::check_postgres::beside(&file);
        problems.extend(crate::map::check_postgres::check(&file));
        if let Some(p) = problems.first() {
            return Err(Error::invalid("--from", format!("the store's data map, {}: {}", p.key, p.what)).into());
        }
    }
    // One read snapshot of the SQLite store for the whole copy.
    conn.execute_batch("BEGIN DEFERRED")?;
    let copied = copy_in_snapshot(from, target, progress);
    conn.execute_batch("ROLLBACK")?;
    copied
}

/// PostgreSQL's limit on an index entry (about 2,700 bytes in a B-tree, 8,191 at most) refuses
/// a value SQLite keeps in a key or an indexed column: said as a problem of the SQLite store to
/// mend (exit 2), naming the table, column and row, not in the server's words (exit 1).
fn too_long_for_an_index(conn: &rusqlite::Connection, tables: &[String], e: anyhow::Error) -> anyhow::Error {
    let limit = postgres::error::SqlState::PROGRAM_LIMIT_EXCEEDED;
    if !e.chain().any(|c| c.downcast_ref::<postgres::Error>().and_then(postgres::Error::code) == Some(&limit)) {
        return e;
    }
    let mut longest: Option<(i64, String, String, i64)> = None;
    for t in tables {
        let quoted = t.replace('"', "\"\"");
        let Ok(columns) = conn
            .prepare(&format!(
                "SELECT DISTINCT ii.name FROM pragma_index_list('{}') il, pragma_index_info(il.name) ii WHERE ii.name IS NOT NULL",
                t.replace('\'', "''")
            ))
            .and_then(|mut q| q.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>())
        else {
            continue;
        };
        for column in columns {
            let sql = format!(
                "SELECT length(CAST(\"{0}\" AS BLOB)) AS n, rowid FROM \"{quoted}\" ORDER BY n DESC LIMIT 1",
                column.replace('"', "\"\"")
            );
            if let Ok((n, row)) =
                conn.query_row(&sql, [], |r| Ok((r.get::<_, Option<i64>>(0)?.unwrap_or(0), r.get(1)?)))
            {
                if n > 2000 && longest.as_ref().is_none_or(|l| n > l.0) {
                    longest = Some((n, t.clone(), column, row));
                }
            }
        }
    }
    match longest {
        Some((n, table, column, row)) => Error::invalid(
            "--from",
            format!(
                "table {table}, column {column}, the row with rowid {row}: its value is {n} bytes, too long for PostgreSQL's index on that column (about 2,700 bytes at most); shorten it in the SQLite store, then migrate again (nothing was copied)"
            ),
        )
        .into(),
        None => e,
    }
}

fn copy_in_snapshot(from: &Store, target: &Target, mut progress: impl FnMut(u64, u64)) -> anyhow::Result<Copied> {
    let conn = &from.conn;
    let on_sqlite = crate::audit::verify(conn)?;
    if !on_sqlite.ok {
        return Err(Error::AuditBroken {
            entry: on_sqlite.first_bad_entry,
            why: format!("{} (in the SQLite store; nothing was copied)", on_sqlite.problem.unwrap_or_default()),
        }
        .into());
    }
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut total = 0u64;
    for t in &tables {
        total += conn.query_row(&format!("SELECT count(*) FROM \"{t}\""), [], |r| r.get::<_, i64>(0))? as u64;
    }
    let map = crate::store::personal::DataMap::load(conn)?;

    let schema = target.schema.clone();
    let repointed = repointed(from, &super::super::db::Pg::place_of(&schema)?)?;
    let pg = Pg::new(target.connect()?, &schema)?;
    let tx = pg.begin()?;
    let (copied, tables_added, done) = pg.with_client(|c| {
        migrate::create_in(c, target)?;
        // The copy brings its own head and map version.
        c.batch_execute(&format!(
            "SET CONSTRAINTS ALL DEFERRED; DELETE FROM {schema}.store_meta; DELETE FROM {schema}.map_version;"
        ))?;
        // The new schema has every built-in table (its first migration); a store made for a
        // company that leaves some out (`personal::leave_out_builtin`), or declares a table of
        // its own under such a name, has not: those go, and the store's own are made below.
        for builtin in crate::store::personal::builtin() {
            let name = builtin.name.to_ascii_lowercase();
            let ours = match tables.iter().find(|t| t.eq_ignore_ascii_case(&name)) {
                Some(t) => crate::store::personal::columns_of(conn, t)?.unwrap_or_default(),
                None => Vec::new(),
            };
            let theirs: Vec<String> = c
                .query(
                    "SELECT column_name::text FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2",
                    &[&schema, &name],
                )?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let same = !ours.is_empty() && ours.iter().all(|col| theirs.iter().any(|h| h.eq_ignore_ascii_case(col)));
            if !same {
                c.batch_execute(&format!("DROP TABLE IF EXISTS {schema}.{} CASCADE", super::ident(&name)))?;
            }
        }
        let mut later = Vec::new();
        let mut tables_added = Vec::new();
        for t in &tables {
            let exists: bool = c
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = $2)",
                    &[&schema, &t.to_ascii_lowercase()],
                )?
                .get(0);
            if !exists {
                let tr = translate::table(conn, t, &schema)?;
                c.batch_execute(&tr.create)?;
                later.extend(tr.indexes);
                later.extend(tr.foreign_keys);
                tables_added.push(t.clone());
            }
        }
        // The planner's statistics sample no identifier (an email, a phone number) of the copy.
        super::forensic::no_statistics_on_identifiers(c, &schema, &map)?;

        let mut copied = Vec::new();
        let mut done = 0u64;
        for t in &tables {
            let mut columns: Vec<String> = conn
                .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")?
                .query_map([t], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            // A rowid of its own (not the key's) keeps SQLite's numbers, so the order rows were
            // added in stays the same.
            let own_rowid: bool = c
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM information_schema.columns
                      WHERE table_schema = $1 AND table_name = $2 AND column_name = 'rowid' AND is_identity = 'YES')",
                    &[&schema, &t.to_ascii_lowercase()],
                )?
                .get(0);
            if own_rowid && !columns.iter().any(|c| c.eq_ignore_ascii_case("rowid")) {
                columns.push("rowid".into());
            }
            let list = columns.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", ");
            let table = ident(t);
            let types: Vec<Type> = c
                .prepare(&format!("SELECT {list} FROM {schema}.{table} LIMIT 0"))?
                .columns()
                .iter()
                .map(|c| c.type_().clone())
                .collect();
            let sink = c.copy_in(&format!("COPY {schema}.{table} ({list}) FROM STDIN BINARY"))?;
            let mut writer = BinaryCopyInWriter::new(sink, &types);
            let sqlite_list =
                columns.iter().map(|c| format!("\"{}\"", c.replace('"', "\"\""))).collect::<Vec<_>>().join(", ");
            let mut stmt = conn.prepare(&format!("SELECT {sqlite_list} FROM \"{}\"", t.replace('"', "\"\"")))?;
            let mut rows = stmt.query([])?;
            let mut n = 0u64;
            while let Some(r) = rows.next()? {
                let values = (0..columns.len()).map(|i| r.get::<_, Value>(i)).collect::<rusqlite::Result<Vec<_>>>()?;
                // PostgreSQL's text holds no NUL character; said before the server refuses the
                // whole copy in its own words.
                if let Some(i) = values.iter().position(|v| matches!(v, Value::Text(x) if x.contains('\0'))) {
                    return Err(crate::error::Error::invalid(
                        "--from",
                        format!(
                            "table {t}, column {}, row {}: a text holds a NUL character, which PostgreSQL cannot store; remove it in the SQLite store, then migrate again (nothing was copied)",
                            columns[i],
                            n + 1
                        ),
                    )
                    .into());
                }
                let params: Vec<Param> = values.iter().map(Param).collect();
                let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
                // The server's error kept as it is (a connection lost is exit 10), the table named.
                writer.write(&refs).map_err(|e| anyhow::Error::new(e).context(format!("table {t}")))?;
                n += 1;
                if n.is_multiple_of(10_000) {
                    progress(done + n, total);
                }
            }
            writer.finish()?;
            done += n;
            progress(done, total);
            copied.push(TableCopy { table: t.clone(), rows: n });
        }
        for sql in &later {
            c.batch_execute(sql)?;
        }
        // The next number an identity column gives is past the copied ones.
        let identities: Vec<(String, String)> = c
            .query(
                "SELECT table_name::text, column_name::text FROM information_schema.columns
                  WHERE table_schema = $1 AND is_identity = 'YES'",
                &[&schema],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        for (t, col) in identities {
            let copied: i64 = c
                .query_one(&format!("SELECT coalesce(max({}), 0) FROM {schema}.{}", ident(&col), ident(&t)), &[])?
                .get(0);
            // A table whose ids SQLite never gives again (AUTOINCREMENT: a free text, which audit
            // entries name by id) goes on past the last id ever used, also one since deleted.
            let used: i64 = conn
                .query_row("SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = ?1", [&t], |r| r.get(0))?;
            let max = copied.max(used);
            c.execute(
                "SELECT setval(pg_get_serial_sequence($1::text, $2::text), $3::bigint + 1, false)",
                &[&format!("{schema}.{}", ident(&t)), &col, &max],
            )?;
        }
        migrate::seed(c, &schema)?;
        for (name, path) in &repointed {
            c.execute(&format!("UPDATE {schema}.map_database SET path = $1 WHERE name = $2"), &[path, name])?;
        }
        c.batch_execute("SET CONSTRAINTS ALL IMMEDIATE")?;
        // The planner's statistics of the copy now, not when autovacuum gets to it: until then
        // it takes every table for nearly empty and reads a person's rows by scanning a child
        // table whole (identifier columns stay unsampled, above). One statement for all of them.
        let all: Vec<String> = tables.iter().map(|t| format!("{schema}.{}", ident(t))).collect();
        c.batch_execute(&format!("ANALYZE {}", all.join(", ")))?;
        Ok((copied, tables_added, done))
    })
    .map_err(|e| too_long_for_an_index(conn, &tables, e))?;

    // The copy's audit trail, read in the same transaction, must end where the SQLite one does.
    let audit = crate::audit::verify(&tx)?;
    let same = audit.ok && audit.head.as_ref().map(|h| &h.hash) == on_sqlite.head.as_ref().map(|h| &h.hash);
    if !same {
        return Err(Error::AuditBroken {
            entry: audit.first_bad_entry,
            why: format!(
                "the copy's audit trail does not end where the SQLite store's does ({}); nothing was copied",
                audit.problem.clone().unwrap_or_else(|| "another head".into())
            ),
        }
        .into());
    }
    tx.commit()?;
    Ok(Copied { schema, rows: done, tables: copied, tables_added, audit, repointed })
}

/// The company's SQLite files of `from` whose relative path would name another file from
/// `place` (the new store's, see `Pg::place_of`): each with the absolute path of its file.
fn repointed(from: &Store, place: &std::path::Path) -> anyhow::Result<Vec<(String, String)>> {
    use crate::store::attached::resolve;
    let absolute = |p: std::path::PathBuf| -> anyhow::Result<std::path::PathBuf> {
        Ok(std::fs::canonicalize(&p).or_else(|_| std::env::current_dir().map(|d| d.join(&p)))?)
    };
    let mut out = Vec::new();
    for d in crate::store::attached::listed(&from.conn)? {
        if d.path == crate::map::POSTGRES_SCHEMA || std::path::Path::new(&d.path).is_absolute() {
            continue;
        }
        let used = absolute(resolve(&from.path, &d.path))?;
        if absolute(resolve(place, &d.path))? != used {
            let Some(path) = used.to_str() else {
                return Err(Error::invalid(
                    "--from",
                    format!(
                        "the path of company database {} is not UTF-8; run dsr migrate in the store's directory",
                        d.name
                    ),
                )
                .into());
            };
            out.push((d.name, path.to_owned()));
        }
    }
    Ok(out)
}
