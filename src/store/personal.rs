//! The SQL over personal data, generated from the store's data map in one place. The map
//! (`map_table`, written from the company file's `[[table]]` entries) says how each table's rows
//! reach a person; from it come the filters that select one person's rows, the expression that
//! names a row's person, and the lookups by identifier. Table and column names in this SQL come
//! only from the map, which `map::check` has validated as plain identifiers.

use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension};

use crate::map::table::{Condition, Table};
use crate::store::db::{Db, Dialect};
use crate::vals;

mod retention;

mod rights;

mod erasure;
// What answers, letters, reviews and the suppression list read beyond a person's rows.
mod answers;
pub use answers::{record_value, RECORD};
// Tables made from declarations, and what the store's schema says.
pub(crate) mod schema;
// One person: found by an identifier, named, mailed, and anchored for dsr's records.
mod people;
pub use erasure::in_year;
pub use schema::{
    columns_in, columns_of, columns_of_table, create_missing, create_table_sql, distinct_values, foreign_keys,
    leave_out_builtin, links_declared, references, required_columns, rights_lacking, rows_linked, table_exists,
    WRITTEN_BY_DSR,
};

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
    /// The table as the SQL names it (`shop.orders` for a company database's table).
    pub from: String,
    pub filter: String,
}

impl DataMap {
    /// Read the map of a store; empty for a store without a register. The entries are parsed
    /// once per thread while the store's map token stays the same (every right reads the map,
    /// often per table): the token is one row, given a new random value by a trigger on any
    /// change of `map_table` (migration 12), so the map is read again after any change, by this
    /// process or another, and two stores never share a cached map.
    pub fn load(db: &dyn Db) -> anyhow::Result<Arc<DataMap>> {
        thread_local! {
            static PARSED: std::cell::RefCell<Option<(Vec<u8>, Arc<DataMap>)>> = const { std::cell::RefCell::new(None) };
        }
        let token: Vec<u8> = db
            .map_token()?
            .ok_or_else(|| anyhow::anyhow!("the store has no map version (table map_version is empty)"))?;
        if let Some(map) = PARSED.with_borrow(|p| p.as_ref().filter(|(t, _)| *t == token).map(|(_, m)| m.clone())) {
            return Ok(map);
        }
        let mut tables = Vec::new();
        db.each("SELECT name, spec FROM map_table ORDER BY sort, name", &[], &mut |r| {
            tables.push(parse(&r.get::<String>(0)?, &r.get::<String>(1)?)?);
            Ok(())
        })?;
        let map = Arc::new(DataMap { tables });
        PARSED.set(Some((token, map.clone())));
        Ok(map)
    }

    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// A table as SQL names it: a table of the map in a company database qualified by that
    /// database (`shop.orders`), any other (the map's in the store, dsr's own) by its name.
    pub fn sql_name(&self, name: &str) -> String {
        self.table(name).map_or_else(|| name.to_owned(), Table::sql_name)
    }

    /// The order a table's rows are read in: SQLite's rowid (and the `rowid` column a PostgreSQL
    /// store's own tables carry); a table in a company's schema of a PostgreSQL store has no
    /// rowid, and is read in the order of its key.
    pub fn row_order(&self, db: &dyn Db, name: &str) -> String {
        match self.table(name) {
            Some(t) if t.database.is_some() && db.map_dialect() == crate::store::db::Dialect::Postgres => t.key.clone(),
            _ => "rowid".into(),
        }
    }

    /// How the map's email identifiers compare an address's local part (`map::check` has them
    /// all say the same); exactly when none says.
    pub fn email_rule(&self) -> crate::map::table::LocalPart {
        let mut ids = self.tables.iter().flat_map(|t| &t.identifier);
        ids.find(|i| i.kind == crate::map::table::IdentifierKind::Email).and_then(|i| i.local_part).unwrap_or_default()
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

    /// Why a table's links reach no person: they go round in a loop, or they end at a table that
    /// reaches no one itself (no link, or a link to a table not in the map).
    pub fn why_unreached(&self, t: &Table) -> String {
        let mut seen = vec![t.name.as_str()];
        let mut at = t;
        while let Some(link) = &at.link {
            let Some(parent) = self.table(&link.parent) else { break };
            if parent.name == t.name {
                return "its links go round in a loop".into();
            }
            if seen.contains(&parent.name.as_str()) {
                return format!("its links lead into a loop (through table {:?})", parent.name);
            }
            seen.push(&parent.name);
            at = parent;
        }
        format!("its links end at table {:?}, which no person is reached from", at.name)
    }

    /// The person's rows of a table: a filter over its own columns with the person id as ?1.
    pub fn scope(&self, name: &str) -> Option<Scope> {
        self.scope_of(name, None)
    }

    /// [`DataMap::scope`] for a portability export: a row that hangs from a row the person did
    /// not provide (a note on a staff reply in their ticket) is not theirs to port either, so
    /// every table above it keeps only its `export.own_rows`, and the rows the person wrote
    /// themselves (`other_people` kind `written-by`). (The table's own rows are the caller's.)
    pub fn provided_scope(&self, name: &str, dialect: Dialect) -> Option<Scope> {
        self.scope_of(name, Some(dialect))
    }

    /// The person's rows of a table; with a dialect, those a portability export holds.
    fn scope_of(&self, name: &str, provided: Option<Dialect>) -> Option<Scope> {
        let path = self.path(name)?;
        let mut filter = format!("{} = ?1", path.last()?.key);
        // From the root down: each table's link column is a key of the rows selected above it.
        for pair in path.windows(2).rev() {
            let (child, parent) = (pair[0], pair[1]);
            let column = &child.link.as_ref()?.column;
            filter = if parent.root {
                format!("{column} = ?1")
            } else {
                let own = match provided {
                    Some(dialect) => format!(" AND {}", self.provided_rows(&parent.name, dialect)),
                    None => String::new(),
                };
                format!("{column} IN (SELECT {} FROM {} WHERE {filter}{own})", parent.key, parent.sql_name())
            };
        }
        Some(Scope { table: name.to_owned(), from: path[0].sql_name(), filter })
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
            parent.sql_name(),
            parent.name,
            parent.key,
            table.name,
            link.column
        ))
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

/// A text value as an SQL literal.
pub fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// One `map_table` entry (as `load` reads each).
/// One stored entry of the map. An entry that no longer reads (changed by hand, or written by a
/// newer dsr) is reported as a corrupt store (exit 11), naming the table and what to do.
fn parse(name: &str, spec: &str) -> rusqlite::Result<Table> {
    serde_json::from_str(spec).map_err(|e| {
        rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
            Some(format!(
                "the data map's entry for table {name} in the store does not read ({e}); the map was changed outside dsr: load the company file again with `dsr register apply FILE`, or restore the store from a backup"
            )),
        )
    })
}

/// A condition as SQL over the table's own columns; values are bound as literals, quoted.
pub fn condition(c: &Condition) -> String {
    let values: Vec<String> = c.values.iter().map(|v| literal(v)).collect();
    format!("{} {}IN ({})", c.column, if c.not { "NOT " } else { "" }, values.join(", "))
}

/// Write a map into a store (in the caller's transaction): `map_table` and `category_table`.
pub fn save(conn: &dyn Db, tables: &[Table]) -> anyhow::Result<()> {
    conn.run("DELETE FROM map_table", &[])?;
    conn.run("DELETE FROM category_table WHERE table_name NOT IN (SELECT table_name FROM retention_rule)", &[])?;
    for (i, t) in tables.iter().enumerate() {
        conn.run(
            "INSERT INTO category_table (table_name, category) VALUES (?1, ?2)
             ON CONFLICT (table_name) DO UPDATE SET category = excluded.category",
            &vals![t.name, t.category]?,
        )?;
        let spec = serde_json::to_string(t).expect("a map entry always serialises");
        conn.run(
            "INSERT INTO map_table (name, sort, spec) VALUES (?1, ?2, ?3)",
            &vals![t.name, (i as i64 + 1) * 10, spec]?,
        )?;
    }
    Ok(())
}

/// The map of the built-in schema (`schema.sql`), as the two built-in companies' files give it.
pub fn builtin() -> Vec<Table> {
    builtin_of(crate::store::fixture::FIXTURES[0].name)
}

/// The map in a built-in company's file (the first company's for a name that is none of them).
fn builtin_of(company: &str) -> Vec<Table> {
    let fixtures = crate::store::fixture::FIXTURES;
    let fixture = fixtures.iter().find(|f| f.name == company).unwrap_or(&fixtures[0]);
    // Read, not checked: the check asks which tables are dsr's own, which asks this map (the
    // built-in companies' files are checked whole by their tests).
    crate::map::CompanyFile::read_built_in(fixture.company_file).map(|f| f.table).unwrap_or_default()
}

/// Upgrade: a store made before the data map existed has the built-in schema; when it has a
/// register, its map is the one in its company's file (`controller.fixture`), or for a register
/// loaded from another file, the built-in companies' map of that schema.
pub fn install_builtin(conn: &Connection) -> anyhow::Result<()> {
    let company: Option<String> =
        conn.query_row("SELECT fixture FROM controller WHERE id = 1", [], |r| r.get(0)).optional()?;
    let has_map: bool = conn.query_row("SELECT EXISTS (SELECT 1 FROM map_table)", [], |r| r.get(0))?;
    if let (Some(company), false) = (company, has_map) {
        save(conn, &builtin_of(&company))?;
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
    fn a_declared_table_is_made_strict_with_its_keys_and_indexes_and_an_existing_one_is_left() {
        let webshop = crate::store::fixture::find("webshop").unwrap();
        let tables = crate::map::CompanyFile::parse(webshop.company_file).unwrap().table;
        let map = DataMap { tables: tables.clone() };
        let sql = create_table_sql(&map, map.table("shipment").unwrap());
        assert!(sql[0].starts_with("CREATE TABLE shipment (\n    id INTEGER PRIMARY KEY,\n"), "{}", sql[0]);
        assert!(sql[0].contains("order_id INTEGER NOT NULL REFERENCES shop_order (id)"), "{}", sql[0]);
        assert!(sql[0].contains("tracking_code TEXT NOT NULL UNIQUE,") && sql[0].ends_with(") STRICT"), "{}", sql[0]);
        assert_eq!(sql[1..], ["CREATE INDEX shipment_order_id ON shipment (order_id)"]);
        let store = crate::store::Store::in_memory().unwrap();
        store.conn.execute_batch("CREATE TABLE product_review (id INTEGER PRIMARY KEY, stars INTEGER) STRICT").unwrap();
        assert_eq!(create_missing(&store.conn, &tables).unwrap(), vec![]);
        for t in
            ["delivery_address", "shop_order", "order_line", "shipment", "shop_invoice", "shop_payment", "support_mail"]
        {
            assert!(table_exists(&store.conn, t).unwrap(), "{t}");
        }
        let columns: i64 =
            store.conn.query_row("SELECT count(*) FROM pragma_table_info('product_review')", [], |r| r.get(0)).unwrap();
        assert_eq!(columns, 2, "a table the store has is left as it is");
        // Every generated filter runs on the tables made.
        for t in &map.tables {
            let scope = map.scope(&t.name).unwrap();
            let sql = format!("SELECT count(*) FROM {} WHERE {}", t.name, scope.filter);
            if t.name != "product_review" {
                store.conn.query_row(&sql, [1], |_| Ok(())).unwrap();
            }
        }
    }

    #[test]
    fn the_cached_map_is_read_again_after_any_change_of_map_table() {
        // No register here: the categories the map names are not checked.
        let store = crate::store::Store::in_memory().unwrap();
        let conn = &store.conn;
        conn.pragma_update(None, "foreign_keys", "OFF").unwrap();
        save(conn, &builtin()).unwrap();
        let before = DataMap::load(conn).unwrap();
        assert!(Arc::ptr_eq(&before, &DataMap::load(conn).unwrap()), "unchanged: parsed once");
        // A change by plain SQL, as another program would make it: the trigger renews the token.
        conn.execute("DELETE FROM map_table WHERE name = 'cookie'", []).unwrap();
        let after = DataMap::load(conn).unwrap();
        assert_eq!(after.tables.len(), before.tables.len() - 1);
        assert!(after.table("cookie").is_none());
        // Another store with the same map never shares the cache: its token is its own.
        let other = crate::store::Store::in_memory().unwrap();
        other.conn.pragma_update(None, "foreign_keys", "OFF").unwrap();
        save(&other.conn, &builtin()).unwrap();
        assert!(DataMap::load(&other.conn).unwrap().table("cookie").is_some());
        assert!(DataMap::load(conn).unwrap().table("cookie").is_none());
    }

    #[test]
    fn a_damaged_map_entry_is_a_corrupt_store_naming_the_table() {
        let store = crate::store::Store::in_memory().unwrap();
        let conn = &store.conn;
        conn.pragma_update(None, "foreign_keys", "OFF").unwrap();
        save(conn, &builtin()).unwrap();
        conn.execute("UPDATE map_table SET spec = '{\"name\": \"cookie\", \"bogus\": 1}' WHERE name = 'cookie'", [])
            .unwrap();
        let e = DataMap::load(conn).unwrap_err();
        assert_eq!(
            e.downcast_ref::<rusqlite::Error>().and_then(rusqlite::Error::sqlite_error_code),
            Some(rusqlite::ErrorCode::DatabaseCorrupt)
        );
        let text = e.to_string();
        assert!(
            text.contains("table cookie") && text.contains("bogus") && text.contains("restore the store"),
            "{text}"
        );
        let code = crate::exit::Code::of_error(&e);
        assert_eq!(code as i32, 11);
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
