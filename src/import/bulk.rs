//! A first load: an import into a table of dsr's own store that has no rows yet runs as one
//! transaction that sets the table's secondary indexes aside while the rows go in and builds them
//! again, from their own `CREATE INDEX` text, before it commits. SQLite then builds each index
//! from sorted keys once, instead of placing every row's key at a random page of a growing
//! B-tree. Other connections see the table before the load or after it, with the same indexes;
//! a killed run rolls back to the empty table, so a re-run reaches the same end state.
//!
//! A company's database attached in place (`[[database]]`) is never changed this way: its own
//! application may hold statements on those indexes. Unique indexes stay: they are constraints.

use rusqlite::{Connection, OptionalExtension};

use crate::map::table::Table;

/// The indexes a first load set aside: (name, the SQL that made it).
pub struct Bulk {
    indexes: Vec<(String, String)>,
}

impl Bulk {
    /// Begin a first load when `table` is in dsr's store and empty: drop its non-unique indexes
    /// inside `tx`. `None` when the load must go row by row into the indexes as they are.
    pub fn begin(tx: &Connection, table: &Table) -> rusqlite::Result<Option<Bulk>> {
        if table.database.is_some() {
            return Ok(None);
        }
        let name = &table.name;
        let any: Option<i64> =
            tx.query_row(&format!("SELECT 1 FROM main.\"{}\" LIMIT 1", quoted(name)), [], |r| r.get(0)).optional()?;
        if any.is_some() {
            return Ok(None);
        }
        let indexes: Vec<(String, String)> = tx
            .prepare(
                "SELECT l.name, m.sql FROM pragma_index_list(?1, 'main') AS l
                   JOIN main.sqlite_master AS m ON m.type = 'index' AND m.name = l.name
                  WHERE l.\"unique\" = 0 AND l.origin = 'c' AND m.sql IS NOT NULL ORDER BY l.name",
            )?
            .query_map([name], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (index, _) in &indexes {
            tx.execute_batch(&format!("DROP INDEX main.\"{}\"", quoted(index)))?;
        }
        // Rows go in at the table's end: a small page cache does, and leaves room for the sort.
        tx.pragma_update(None, "cache_size", -8192)?;
        Ok(Some(Bulk { indexes }))
    }

    /// Build the indexes again, in the same transaction, from the text that made them.
    pub fn finish(self, tx: &Connection) -> rusqlite::Result<()> {
        // SQLite sorts an index's keys in runs of up to the page cache's size, one per helper
        // thread: 8 MiB runs and one helper keep the build under 32 MiB.
        let threads = std::thread::available_parallelism().map_or(0, |n| n.get().min(2) - 1);
        tx.pragma_update(None, "threads", threads as i64)?;
        for (_, sql) in &self.indexes {
            tx.execute_batch(sql)?;
        }
        Ok(())
    }
}

fn quoted(name: &str) -> String {
    name.replace('"', "\"\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::table::Table;

    fn table(name: &str) -> Table {
        serde_json::from_value(serde_json::json!({"name": name, "category": "c", "label_en": "T", "label_nl": "T"}))
            .unwrap()
    }

    fn schema(conn: &Connection) -> Vec<String> {
        conn.prepare("SELECT coalesce(sql, name) FROM sqlite_master WHERE tbl_name = 't' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn sets_aside_and_rebuilds_non_unique_indexes_of_an_empty_table() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT UNIQUE);
             CREATE INDEX t_a ON t(a) WHERE a IS NOT NULL;",
        )
        .unwrap();
        let before = schema(&conn);
        let tx = conn.transaction().unwrap();
        let bulk = Bulk::begin(&tx, &table("t")).unwrap().expect("an empty table loads in bulk");
        assert_eq!(schema(&tx).len(), before.len() - 1, "the index on a is set aside, b's unique one stays");
        tx.execute("INSERT INTO t (a, b) VALUES ('x', 'y')", []).unwrap();
        bulk.finish(&tx).unwrap();
        tx.commit().unwrap();
        assert_eq!(schema(&conn), before);
        // A table with rows keeps its indexes.
        let tx = conn.transaction().unwrap();
        assert!(Bulk::begin(&tx, &table("t")).unwrap().is_none());
        assert_eq!(schema(&tx), before);
    }
}
