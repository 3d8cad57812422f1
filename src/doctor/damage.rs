//! Whether the store's files read whole: SQLite's `quick_check` of the store and of each company
//! database it attaches. A damaged page can hide rows without an error (a person's row that no
//! query returns, so an erasure finds nothing to delete), so the other checks would say all is
//! well on a file that is not.

use super::Finding;
use crate::store::db::{Db, Dialect};

/// The first problems SQLite names for a file, at most this many.
const SHOWN: i64 = 3;

/// A finding per damaged file; none on PostgreSQL (the server keeps its own pages).
pub fn check(conn: &dyn Db, out: &mut Vec<Finding>) -> anyhow::Result<()> {
    if conn.dialect() != Dialect::Sqlite {
        return Ok(());
    }
    let databases: Vec<(String, String)> =
        conn.all("SELECT name, file FROM pragma_database_list WHERE name <> 'temp'", &[], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    for (name, file) in databases {
        let said: Vec<String> = conn.all(&format!("PRAGMA \"{name}\".quick_check({SHOWN})"), &[], |r| r.get(0))?;
        if said.len() == 1 && said[0] == "ok" {
            continue;
        }
        let what = if name == "main" { "the store".to_owned() } else { format!("the company database {name}") };
        // One line: SQLite's lines without its heading ("*** in database main ***").
        let problems: Vec<&str> =
            said.iter().flat_map(|s| s.lines()).filter(|l| !l.starts_with("***") && !l.trim().is_empty()).collect();
        out.push(Finding {
            check: "damaged",
            table: name,
            column: None,
            rows: 0,
            what: format!("{what} ({file}) is damaged: {}", problems.join("; ")),
            fix: "stop the commands that change it; restore the file from a backup, then `dsr erase --replay` (docs/erase.md) erases again who was erased since; `sqlite3 FILE .recover` saves what can still be read".into(),
        });
    }
    Ok(())
}
