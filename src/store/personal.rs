//! The SQL over personal data, generated from the store's data map in one place. The map
//! (`map_table`, written from the company file's `[[table]]` entries) says how each table's rows
//! reach a person; from it come the filters that select one person's rows, the expression that
//! names a row's person, and the lookups by identifier. Table and column names in this SQL come
//! only from the map, which `map::check` has validated as plain identifiers.

use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OptionalExtension};

use crate::map::table::{Condition, IdentifierKind, Table};

mod erasure;
pub use erasure::in_year;

/// The store's data map, in the order of the company file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataMap {
    pub tables: Vec<Table>,
}

/// Which rows of one table belong to a person: `filter` is a WHERE clause over that table with
/// the person id as `?1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub table: String,
    pub filter: String,
}

impl DataMap {
    /// Read the map of a store; empty for a store without a register.
    pub fn load(conn: &Connection) -> rusqlite::Result<DataMap> {
        let mut stmt = conn.prepare_cached("SELECT spec FROM map_table ORDER BY sort, name")?;
        let tables = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .map(|spec| {
                let spec = spec?;
                serde_json::from_str(&spec)
                    .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
            })
            .collect::<rusqlite::Result<_>>()?;
        Ok(DataMap { tables })
    }

    /// The map as `load` reads it, parsed again only when the entries differ from those last
    /// parsed in this process: one command makes and applies an erasure plan several times.
    pub fn load_shared(conn: &Connection) -> rusqlite::Result<Arc<DataMap>> {
        static LAST: Mutex<Option<(Vec<String>, Arc<DataMap>)>> = Mutex::new(None);
        let specs: Vec<String> = conn
            .prepare_cached("SELECT spec FROM map_table ORDER BY sort, name")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, map)) = last.as_ref().filter(|(seen, _)| *seen == specs) {
            return Ok(map.clone());
        }
        let map = Arc::new(DataMap { tables: specs.iter().map(|s| parse(s)).collect::<rusqlite::Result<_>>()? });
        *last = Some((specs, map.clone()));
        Ok(map)
    }

    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// The table whose rows are the people.
    pub fn root(&self) -> Option<&Table> {
        self.tables.iter().find(|t| t.root)
    }

    /// The tables from `name` up to the root, `name` first; `None` when the chain breaks or
    /// loops (a map `map::check` refuses).
    pub fn path(&self, name: &str) -> Option<Vec<&Table>> {
        let mut out = vec![self.table(name)?];
        while let Some(link) = &out.last()?.link {
            let parent = self.table(&link.parent)?;
            if out.iter().any(|t| t.name == parent.name) {
                return None;
            }
            out.push(parent);
        }
        out.last()?.root.then_some(out)
    }

    /// The person's rows of a table: a filter over its own columns with the person id as ?1.
    pub fn scope(&self, name: &str) -> Option<Scope> {
        let path = self.path(name)?;
        let mut filter = format!("{} = ?1", path.last()?.key);
        // From the root down: each table's link column is a key of the rows selected above it.
        for pair in path.windows(2).rev() {
            let (child, parent) = (pair[0], pair[1]);
            let column = &child.link.as_ref()?.column;
            filter = if parent.root {
                format!("{column} = ?1")
            } else {
                format!("{column} IN (SELECT {} FROM {} WHERE {filter})", parent.key, parent.name)
            };
        }
        Some(Scope { table: name.to_owned(), filter })
    }

    /// An SQL expression over a row of `name` (its columns qualified by the table name) that
    /// gives the id of the person the row belongs to, NULL for a row that reaches no one.
    pub fn person_of(&self, name: &str) -> Option<String> {
        let path = self.path(name)?;
        let table = path[0];
        if table.root {
            return Some(format!("{}.{}", table.name, table.key));
        }
        let link = table.link.as_ref()?;
        let parent = path[1];
        if parent.root {
            return Some(format!("{}.{}", table.name, link.column));
        }
        Some(format!(
            "(SELECT {} FROM {} WHERE {}.{} = {}.{})",
            self.person_of(&parent.name)?,
            parent.name,
            parent.name,
            parent.key,
            table.name,
            link.column
        ))
    }

    /// The tables holding identifiers of a kind, with the column.
    pub fn identifiers(&self, kind: IdentifierKind) -> impl Iterator<Item = (&Table, &str)> {
        self.tables
            .iter()
            .flat_map(move |t| t.identifier.iter().filter(move |i| i.kind == kind).map(move |i| (t, i.column.as_str())))
    }

    /// The people an identifier names, in id order.
    pub fn people_with(&self, conn: &Connection, kind: IdentifierKind, value: &str) -> rusqlite::Result<Vec<i64>> {
        let mut out: Vec<i64> = Vec::new();
        for (table, column) in self.identifiers(kind) {
            let Some(person) = self.person_of(&table.name) else { continue };
            let sql = format!("SELECT DISTINCT {person} FROM {} WHERE {column} = ?1", table.name);
            for p in conn.prepare_cached(&sql)?.query_map([value], |r| r.get::<_, Option<i64>>(0))? {
                if let Some(p) = p? {
                    out.push(p);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// Whether the person has a row in a table.
    pub fn has_rows(&self, conn: &Connection, name: &str, person: i64) -> rusqlite::Result<bool> {
        let Some(scope) = self.scope(name) else { return Ok(false) };
        let sql = format!("SELECT EXISTS (SELECT 1 FROM {} WHERE {})", scope.table, scope.filter);
        conn.prepare_cached(&sql)?.query_row([person], |r| r.get(0))
    }

    /// The tables ordered so that every table comes after the tables its rows hang from.
    pub fn parents_first(&self) -> Vec<&Table> {
        let mut out: Vec<&Table> = Vec::new();
        while out.len() < self.tables.len() {
            let before = out.len();
            for t in &self.tables {
                let placed = out.iter().any(|o| o.name == t.name);
                let parent_placed =
                    t.link.as_ref().is_none_or(|l| out.iter().any(|o| o.name == l.parent) || l.parent == t.name);
                if !placed && parent_placed {
                    out.push(t);
                }
            }
            if out.len() == before {
                // A loop or a missing parent (refused by map::check): keep the rest in file order.
                let rest: Vec<&Table> = self.tables.iter().filter(|t| !out.iter().any(|o| o.name == t.name)).collect();
                out.extend(rest);
            }
        }
        out
    }
}

/// One `map_table` entry (as `load` reads each).
fn parse(spec: &str) -> rusqlite::Result<Table> {
    serde_json::from_str(spec)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

/// A condition as SQL over the table's own columns; values are bound as literals, quoted.
pub fn condition(c: &Condition) -> String {
    let values: Vec<String> = c.values.iter().map(|v| format!("'{}'", v.replace('\'', "''"))).collect();
    format!("{} {}IN ({})", c.column, if c.not { "NOT " } else { "" }, values.join(", "))
}

/// Write a map into a store (in the caller's transaction): `map_table` and `category_table`.
pub fn save(conn: &Connection, tables: &[Table]) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM map_table", [])?;
    conn.execute("DELETE FROM category_table WHERE table_name NOT IN (SELECT table_name FROM retention_rule)", [])?;
    for (i, t) in tables.iter().enumerate() {
        conn.execute(
            "INSERT INTO category_table (table_name, category) VALUES (?1, ?2)
             ON CONFLICT (table_name) DO UPDATE SET category = excluded.category",
            params![t.name, t.category],
        )?;
        let spec = serde_json::to_string(t).expect("a map entry always serialises");
        conn.execute(
            "INSERT INTO map_table (name, sort, spec) VALUES (?1, ?2, ?3)",
            params![t.name, (i as i64 + 1) * 10, spec],
        )?;
    }
    Ok(())
}

/// The map of the built-in schema (`schema.sql`), as the two built-in companies' files give it.
pub fn builtin() -> Vec<Table> {
    let file = crate::store::fixture::FIXTURES[0].company_file;
    crate::map::CompanyFile::parse(file).map(|f| f.table).unwrap_or_default()
}

/// Upgrade: a store made before the data map existed has the built-in schema; when it has a
/// register, its map is the built-in one.
pub fn install_builtin(conn: &Connection) -> rusqlite::Result<()> {
    let has_register = conn.query_row("SELECT 1 FROM controller WHERE id = 1", [], |_| Ok(())).optional()?.is_some();
    let has_map: bool = conn.query_row("SELECT EXISTS (SELECT 1 FROM map_table)", [], |r| r.get(0))?;
    if has_register && !has_map {
        save(conn, &builtin())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_filters_are_the_person_s_rows_through_every_link() {
        let map = DataMap { tables: builtin() };
        assert!(map.tables.len() >= 20);
        let scope = |t: &str| map.scope(t).unwrap().filter;
        assert_eq!(scope("person"), "id = ?1");
        assert_eq!(scope("customer"), "person_id = ?1");
        assert_eq!(scope("company"), "customer_id IN (SELECT id FROM customer WHERE person_id = ?1)");
        assert_eq!(
            scope("server_log"),
            "session_id IN (SELECT id FROM web_session WHERE customer_id IN (SELECT id FROM customer WHERE person_id = ?1))"
        );
        assert_eq!(map.person_of("cookie").unwrap(), "cookie.person_id");
        assert_eq!(
            map.person_of("payment").unwrap(),
            "(SELECT (SELECT customer.person_id FROM customer WHERE customer.id = invoice.customer_id) FROM invoice WHERE invoice.id = payment.invoice_id)"
        );
        let order: Vec<&str> = map.parents_first().iter().map(|t| t.name.as_str()).collect();
        assert!(order.iter().position(|t| *t == "ticket") < order.iter().position(|t| *t == "unsolicited_data"));
        assert_eq!(order[0], "person");
    }

    #[test]
    fn every_generated_filter_runs_on_the_schema() {
        let store = crate::store::Store::in_memory().unwrap();
        let map = DataMap { tables: builtin() };
        for t in &map.tables {
            let scope = map.scope(&t.name).unwrap_or_else(|| panic!("{} reaches no person", t.name));
            store
                .conn
                .query_row(&format!("SELECT count(*) FROM {} WHERE {}", t.name, scope.filter), [1], |_| Ok(()))
                .unwrap();
            let person = map.person_of(&t.name).unwrap();
            store.conn.query_row(&format!("SELECT count({person}) FROM {}", t.name), [], |_| Ok(())).unwrap();
        }
    }
}
