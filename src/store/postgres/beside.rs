//! The company's SQLite files beside a PostgreSQL store (design §10 and §11, docs/postgresql.md):
//! dsr's records stay on the server, and the tables the map places in a `[[database]]` file are
//! read and changed in that file, attached to a SQLite connection of dsr's own (an empty database
//! in memory, the files under their names) with the same pragmas as on a SQLite store
//! (`secure_delete`, foreign keys, the write lock taken up front).
//!
//! Each statement goes to the side whose tables it names: one that names a table of a file
//! (`shop.orders`, as `Table::sql_name` writes it) to the files' connection, any other to the
//! server. A statement cannot join the two; a map on such a store places all of its tables in
//! the files or none (`map::check_beside`), so a person's rows, their parents and the people
//! are on one side.
//!
//! A write transaction is one on each side, the server's begun first (its writer lock, as on any
//! PostgreSQL store), then the files' (their write lock). It commits the files first, then the
//! server: a crash or a lost server between the two commits leaves the company's rows changed and
//! dsr's record of it not made, so the request stays open (verified) and running the command again
//! finds nothing left to change and records it. The opposite order could leave a request recorded
//! as done, and a letter saying so, with the rows still there.

use std::path::PathBuf;

use crate::map::Database;
use crate::store::db::{AuditTail, Conn, Db, Dialect, Pg, PgTx, Row, Tx, Value};

/// A PostgreSQL store with the company's SQLite files attached beside it.
pub struct Beside {
    pg: Pg,
    files: rusqlite::Connection,
    databases: Vec<Database>,
    /// The names the files are attached under (as the map's tables name them).
    names: Vec<String>,
    /// The map's tables in the files, lowercase.
    tables: Vec<String>,
}

impl Beside {
    /// The store as a connection: `pg` itself when its map names no SQLite file, else with
    /// the files attached and checked against the map (a missing file: exit 10; one without a
    /// table or column the map names: exit 11). With `attach` false (the register commands,
    /// which show, export and repair the map itself) the files are not opened.
    pub fn open(pg: Pg, attach: bool) -> anyhow::Result<Box<dyn Conn>> {
        let databases: Vec<Database> = crate::store::attached::listed(&pg)?
            .into_iter()
            .filter(|d| d.path != crate::map::POSTGRES_SCHEMA)
            .collect();
        if databases.is_empty() || !attach {
            return Ok(Box::new(pg));
        }
        let files = Beside::attach(&pg.place(), &databases)?;
        let map = crate::store::personal::DataMap::load(&pg)?;
        crate::store::attached::check(&files, &pg.place(), &databases, &map)?;
        let tables = map.tables.iter().filter(|t| t.database.is_some()).map(|t| t.name.as_str());
        Ok(Beside::made(pg, files, databases, tables))
    }

    /// The store with the files of `databases` attached (those that are files), as a company
    /// file names them (`register apply`, before its map is the store's): their tables are
    /// checked against the file's map when it is loaded.
    pub fn open_for(pg: Pg, databases: &[Database], tables: &[String]) -> anyhow::Result<Box<dyn Conn>> {
        let databases: Vec<Database> =
            databases.iter().filter(|d| d.path != crate::map::POSTGRES_SCHEMA).cloned().collect();
        if databases.is_empty() {
            return Ok(Box::new(pg));
        }
        let files = Beside::attach(&pg.place(), &databases)?;
        Ok(Beside::made(pg, files, databases, tables.iter().map(String::as_str)))
    }

    fn made<'t>(
        pg: Pg,
        files: rusqlite::Connection,
        databases: Vec<Database>,
        tables: impl Iterator<Item = &'t str>,
    ) -> Box<dyn Conn> {
        let names = databases.iter().map(|d| d.name.clone()).collect();
        let tables = tables.map(str::to_ascii_lowercase).collect();
        Box::new(Beside { pg, files, databases, names, tables })
    }

    /// dsr's own SQLite connection with the files attached: a relative path is read from the
    /// directory dsr runs in, where a PostgreSQL store's other files are (`Pg::place`).
    pub fn attach(place: &std::path::Path, databases: &[Database]) -> anyhow::Result<rusqlite::Connection> {
        let mut files = rusqlite::Connection::open_in_memory()?;
        crate::store::configure(&mut files)?;
        crate::store::attached::attach(&files, place, databases)?;
        Ok(files)
    }

    fn route(&self) -> Route<'_> {
        Route { pg: &self.pg, files: &self.files, names: &self.names, tables: &self.tables }
    }
}

/// A write or read transaction on both sides (see the module's text for the order).
struct BesideTx<'a> {
    pg: PgTx<'a>,
    files: rusqlite::Transaction<'a>,
    names: &'a [String],
    tables: &'a [String],
}

impl BesideTx<'_> {
    fn route(&self) -> Route<'_> {
        Route { pg: &self.pg, files: &self.files, names: self.names, tables: self.tables }
    }
}

impl Tx for BesideTx<'_> {
    fn commit(self: Box<Self>) -> anyhow::Result<()> {
        let BesideTx { pg, files, .. } = *self;
        // The company's files first: dropped, the server's transaction rolls back.
        files.commit()?;
        pg.commit()
    }
}

/// Where each statement goes.
struct Route<'a> {
    pg: &'a dyn Db,
    files: &'a dyn Db,
    names: &'a [String],
    /// The map's tables in the files, lowercase.
    tables: &'a [String],
}

impl Route<'_> {
    /// The side `sql` goes to: the files when it names one of their tables (`shop.orders`: a
    /// database's name, then a table of the map) or a temporary table made for their statements
    /// (SQLite's `temp.`; PostgreSQL's is `pg_temp.`), else the server. Before a statement over
    /// the files that reads one of dsr's records ([`MIRRORED`]), that record's rows are copied
    /// from the server into a temporary table of the same name on the files' connection, in this
    /// transaction; a statement there that would change one is refused.
    fn side(&self, sql: &str) -> anyhow::Result<&dyn Db> {
        let words = words(sql);
        if !self.names_files(&words) {
            return Ok(self.pg);
        }
        let bare = |w: &&Word| !w.qualifies && !w.qualified;
        // The table a change writes to: `INSERT [OR ...] INTO t`, `DELETE FROM t`, `UPDATE [OR ...] t`.
        let verb = words.first().map(|w| w.text.to_ascii_uppercase());
        let mut rest = words.iter().skip(1).filter(|w| {
            !matches!(
                w.text.to_ascii_uppercase().as_str(),
                "OR" | "IGNORE" | "REPLACE" | "ABORT" | "FAIL" | "ROLLBACK" | "INTO" | "FROM"
            )
        });
        let changed = match verb.as_deref() {
            Some("INSERT" | "DELETE" | "REPLACE" | "UPDATE") => rest.next(),
            _ => None,
        };
        for table in MIRRORED {
            if changed.filter(bare).is_some_and(|w| w.text.eq_ignore_ascii_case(table)) {
                anyhow::bail!("a change of dsr's {table} would be made in the copy beside the company's files: {sql}");
            }
            if words.iter().filter(bare).any(|w| w.text.eq_ignore_ascii_case(table)) {
                self.mirror(table, &copied_rows(table))?;
            }
        }
        Ok(self.files)
    }

    /// Whether the words name a table of the files or a temporary table of their connection.
    fn names_files(&self, words: &[Word]) -> bool {
        let is = |w: &Word, names: &[String]| names.iter().any(|n| n.eq_ignore_ascii_case(w.text));
        words.windows(2).any(|p| {
            p[0].qualifies
                && !p[0].qualified
                && p[1].qualified
                && (p[0].text.eq_ignore_ascii_case("temp") || (is(&p[0], self.names) && is(&p[1], self.tables)))
        })
    }

    fn mirror(&self, table: &str, rows: &str) -> anyhow::Result<()> {
        let select = format!("SELECT * FROM {table} WHERE {rows}");
        let columns: Vec<String> = self.pg.column_names(&select, &[])?.iter().map(|c| format!("\"{c}\"")).collect();
        self.files.run(&format!("CREATE TEMP TABLE IF NOT EXISTS {table} ({})", columns.join(", ")), &[])?;
        self.files.run(&format!("DELETE FROM temp.{table}"), &[])?;
        let insert = format!("INSERT INTO temp.{table} VALUES ({})", vec!["?"; columns.len()].join(", "));
        self.pg.each(&select, &[], &mut |r| {
            let values = (0..columns.len()).map(|i| r.get::<Value>(i)).collect::<anyhow::Result<Vec<_>>>()?;
            self.files.run(&insert, &values).map(|_| ())
        })
    }
}

/// dsr's records that statements over the map's tables read, each with the rows copied: a
/// retention rule leaves out the people whose restriction keeps their data or who wait for an
/// answer, an answer names the recipients a row reached, an import keeps an objector's opt-in
/// off, `dsr doctor` looks for people the application removed. Of the requests only the open
/// ones are copied: no statement over the map's tables reads another.
const MIRRORED: [&str; 5] = ["request", "restriction", "objection", "recipient", "person"];

/// Which rows of a [`MIRRORED`] table are copied.
fn copied_rows(table: &str) -> String {
    if table != "request" {
        return "TRUE".into();
    }
    let open: Vec<String> = crate::request::OPEN_STATES.iter().map(|s| format!("'{s}'")).collect();
    format!("state IN ({})", open.join(", "))
}

/// The [`Db`] of both sides, each statement sent where its tables are.
macro_rules! routed {
    ($t:ty) => {
        impl Db for $t {
            fn dialect(&self) -> Dialect {
                Dialect::Postgres
            }
            fn map_dialect(&self) -> Dialect {
                Dialect::Sqlite
            }
            fn run(&self, sql: &str, params: &[Value]) -> anyhow::Result<usize> {
                self.route().side(sql)?.run(sql, params)
            }
            fn each(
                &self,
                sql: &str,
                params: &[Value],
                f: &mut dyn FnMut(Row) -> anyhow::Result<()>,
            ) -> anyhow::Result<()> {
                self.route().side(sql)?.each(sql, params, f)
            }
            fn stream(
                &self,
                sql: &str,
                params: &[Value],
                f: &mut dyn FnMut(Row) -> anyhow::Result<()>,
            ) -> anyhow::Result<()> {
                self.route().side(sql)?.stream(sql, params, f)
            }
            fn place(&self) -> PathBuf {
                self.route().pg.place()
            }
            fn column_names(&self, sql: &str, params: &[Value]) -> anyhow::Result<Vec<String>> {
                self.route().side(sql)?.column_names(sql, params)
            }
            fn map_token(&self) -> anyhow::Result<Option<Vec<u8>>> {
                self.route().pg.map_token()
            }
            fn file_side(&self, database: &str) -> Option<&dyn Db> {
                let route = self.route();
                route.names.iter().any(|n| n.eq_ignore_ascii_case(database)).then_some(route.files)
            }
            fn audit_tail(&self) -> Option<AuditTail> {
                self.route().pg.audit_tail()
            }
            fn keep_audit_tail(&self, tail: AuditTail) {
                self.route().pg.keep_audit_tail(tail)
            }
        }
    };
}

routed!(Beside);
routed!(BesideTx<'_>);

impl Conn for Beside {
    fn begin(&self) -> anyhow::Result<Box<dyn Tx + '_>> {
        let pg = self.pg.begin()?;
        let files = self.files.unchecked_transaction()?;
        Ok(Box::new(BesideTx { pg, files, names: &self.names, tables: &self.tables }))
    }
    fn begin_own(&self) -> anyhow::Result<Box<dyn Tx + '_>> {
        let pg = self.pg.begin()?;
        let files = rusqlite::Transaction::new_unchecked(&self.files, rusqlite::TransactionBehavior::Deferred)?;
        Ok(Box::new(BesideTx { pg, files, names: &self.names, tables: &self.tables }))
    }
    fn snapshot(&self) -> anyhow::Result<Box<dyn Tx + '_>> {
        let pg = self.pg.snapshot()?;
        let files = rusqlite::Transaction::new_unchecked(&self.files, rusqlite::TransactionBehavior::Deferred)?;
        Ok(Box::new(BesideTx { pg, files, names: &self.names, tables: &self.tables }))
    }
    fn not_erased(&self) -> anyhow::Result<()> {
        self.pg.not_erased()
    }
    fn erasing(&self, tables: &[String]) -> anyhow::Result<()> {
        self.pg.erasing(&self.on_server(tables))
    }
    /// The files' logs folded back and truncated, as a SQLite store's (their pages were
    /// overwritten by `secure_delete`), then the server's tables vacuumed.
    fn after_erasure(&self, tables: &[String]) -> anyhow::Result<()> {
        crate::store::truncate_logs_of(&self.files, &self.pg.place(), &self.databases)?;
        self.pg.after_erasure(&self.on_server(tables))
    }
    fn residue(&self, tables: &[String], erased: &[String]) -> anyhow::Result<Vec<(String, String)>> {
        self.pg.residue(&self.on_server(tables), erased)
    }
}

impl Beside {
    /// The tables of `tables` that are the server's.
    fn on_server(&self, tables: &[String]) -> Vec<String> {
        // (as a statement is routed: `shop.orders` is the files')
        tables.iter().filter(|t| !self.route().names_files(&words(t))).cloned().collect()
    }
}

/// A name in a statement: whether a dot follows it (a database's or a table's name before a
/// column's or a table's) or comes before it.
#[derive(Debug, PartialEq)]
struct Word<'a> {
    text: &'a str,
    qualifies: bool,
    qualified: bool,
}

/// The names in `sql` (bare, or in double quotes), outside quoted text and comments.
fn words(sql: &str) -> Vec<Word<'_>> {
    let b = sql.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$';
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let (start, end, next) = match b[i] {
            b'\'' => {
                i += b[i + 1..].iter().position(|&c| c == b'\'').map_or(b.len(), |p| p + 2);
                continue;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i += b[i..].iter().position(|&c| c == b'\n').unwrap_or(b.len());
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += sql[i + 2..].find("*/").map_or(b.len(), |p| p + 4);
                continue;
            }
            b'"' => {
                let end = b[i + 1..].iter().position(|&c| c == b'"').map_or(b.len(), |p| i + 1 + p);
                (i + 1, end, end + 1)
            }
            c if word(c) => {
                let end = b[i..].iter().position(|&c| !word(c)).map_or(b.len(), |p| i + p);
                (i, end, end)
            }
            _ => {
                i += 1;
                continue;
            }
        };
        // A number (`1.5`) is no name.
        if b[i] == b'"' || !b[start].is_ascii_digit() {
            out.push(Word {
                text: &sql[start..end],
                qualifies: b.get(next) == Some(&b'.'),
                qualified: i > 0 && b[i - 1] == b'.',
            });
        }
        i = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::words;

    fn names_a_file(sql: &str, names: &[String]) -> bool {
        words(sql).iter().any(|w| w.qualifies && !w.qualified && names.iter().any(|n| n.eq_ignore_ascii_case(w.text)))
    }

    #[test]
    fn a_statement_is_sent_to_the_files_when_it_names_one_of_their_tables() {
        let names = ["shop".to_owned()];
        assert!(names_a_file("SELECT * FROM shop.orders WHERE id = ?1", &names));
        assert!(names_a_file("DELETE FROM \"SHOP\".orders", &names));
        assert!(names_a_file("SELECT x FROM a WHERE y IN (SELECT id FROM Shop.customer)", &names));
        assert!(!names_a_file("SELECT * FROM orders WHERE shop = 1", &names));
        assert!(!names_a_file("SELECT 'shop.orders', shop_x.orders, myshop.orders FROM request", &names));
        assert!(!names_a_file("SELECT a.shop.x -- shop.orders\n FROM request /* shop.y */", &names));
        assert!(!names_a_file("SELECT 'it''s shop.orders' FROM request", &names));
        assert!(names_a_file("SELECT 'it''s' FROM shop.orders", &names));
        let bare: Vec<&str> = words("SELECT r.person_id FROM request r, shop.x WHERE 1.5 > \"Request\".a")
            .into_iter()
            .filter(|w| !w.qualifies && !w.qualified)
            .map(|w| w.text)
            .collect();
        assert_eq!(bare, ["SELECT", "FROM", "request", "r", "WHERE"]);
    }
}
