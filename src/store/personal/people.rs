//! One person in the data map's tables: the people an identifier names, whether they have rows
//! in a table, their contract, first identifier of a kind, name and address on file, and the
//! anchor row that lets dsr's own records refer to them when the people are not the store's
//! `person` table.

use crate::store::db::{text, Db, Dialect, Value};

use super::DataMap;
use crate::map::table::{IdentifierKind, Table};

impl DataMap {
    /// dsr's own records (requests, restrictions, objections, reviews) refer to `person(id)` in
    /// the store. When the people are another table (one of a company database, or of another
    /// name), a bare row there with the person's id lets those references hold: it carries no
    /// data of theirs, and goes when they are erased ([`Self::drop_anchor`]).
    pub fn anchor(&self, conn: &dyn Db, person: i64, now: &str) -> anyhow::Result<()> {
        if self.root().is_none_or(|r| r.sql_name() == "person") {
            return Ok(());
        }
        // `main.`: a company database attached to a SQLite store may have a table of that name.
        let person_table = if conn.dialect() == Dialect::Sqlite { "main.person" } else { "person" };
        conn.run(
            &format!(
                "INSERT INTO {person_table} (id, created_at, source) VALUES (?1, ?2, 'import') ON CONFLICT DO NOTHING"
            ),
            &[person.into(), text(now)],
        )?;
        Ok(())
    }

    /// Remove the person's anchor row (see [`Self::anchor`]) once their row among the people is
    /// gone; dsr's records that refer to it go or lose the reference as the foreign keys say.
    pub fn drop_anchor(&self, conn: &dyn Db, person: i64) -> anyhow::Result<usize> {
        let Some(root) = self.root().filter(|r| r.sql_name() != "person") else { return Ok(0) };
        // Two statements: the people may be in a company's file beside a PostgreSQL store.
        let there = format!("SELECT EXISTS (SELECT 1 FROM {} WHERE {} = ?1)", root.sql_name(), root.key);
        if conn.one(&there, &[person.into()], |r| r.get::<bool>(0))? {
            return Ok(0);
        }
        let person_table = if conn.dialect() == Dialect::Sqlite { "main.person" } else { "person" };
        conn.run(&format!("DELETE FROM {person_table} WHERE id = ?1"), &[person.into()])
    }

    /// The tables holding identifiers of a kind, with the column.
    pub fn identifiers(&self, kind: IdentifierKind) -> impl Iterator<Item = (&Table, &str)> {
        self.tables
            .iter()
            .flat_map(move |t| t.identifier.iter().filter(move |i| i.kind == kind).map(move |i| (t, i.column.as_str())))
    }

    /// The people an identifier names, in id order.
    pub fn people_with(&self, db: &dyn Db, kind: IdentifierKind, value: &str) -> anyhow::Result<Vec<i64>> {
        self.people_where(db, kind, value, |column| format!("{column} = ?1"))
    }

    /// The people who hold an email address with its local part in another case (for a map
    /// that compares it exactly): each table read through, for the officer's lookup of an
    /// address that named no one. On PostgreSQL the case of ASCII letters only.
    pub fn people_with_address_in_any_case(&self, db: &dyn Db, address: &str) -> anyhow::Result<Vec<i64>> {
        let fold = |x: &str| match db.map_dialect() {
            Dialect::Sqlite => format!("dsr_fold({x})"),
            Dialect::Postgres => format!("lower(CAST({x} AS text) COLLATE \"C\")"),
        };
        self.people_where(db, IdentifierKind::Email, address, |column| {
            format!("{} = {} AND {column} <> ?1", fold(column), fold("?1"))
        })
    }

    /// The people whose identifier columns of a kind hold a row where `matches(column)`, a
    /// condition on the value ?1, in id order.
    fn people_where(
        &self,
        db: &dyn Db,
        kind: IdentifierKind,
        value: &str,
        matches: impl Fn(&str) -> String,
    ) -> anyhow::Result<Vec<i64>> {
        let mut out: Vec<i64> = Vec::new();
        for (table, column) in self.identifiers(kind) {
            let Some(person) = self.person_of(&table.name) else { continue };
            let sql = format!("SELECT DISTINCT {person} FROM {} WHERE {}", table.sql_name(), matches(column));
            db.each(&sql, &[text(value)], &mut |r| {
                out.extend(r.get::<Option<i64>>(0)?);
                Ok(())
            })?;
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// Whether the person has a row in a table.
    pub fn has_rows(&self, db: &dyn Db, name: &str, person: i64) -> anyhow::Result<bool> {
        let Some(scope) = self.scope(name) else { return Ok(false) };
        let sql = format!("SELECT EXISTS (SELECT 1 FROM {} WHERE {})", scope.from, scope.filter);
        Ok(db.first(&sql, &[Value::Integer(person)], |r| r.get(0))?.unwrap_or(false))
    }

    /// The key of the person's row in the table that records their contract (the one whose
    /// retention counts from `contract_end`), if they have one.
    pub fn contract_of(&self, db: &dyn Db, person: i64) -> anyhow::Result<Option<i64>> {
        let Some(t) = self.tables.iter().find(|t| t.retention.as_ref().is_some_and(|r| r.contract_end.is_some()))
        else {
            return Ok(None);
        };
        let Some(scope) = self.scope(&t.name) else { return Ok(None) };
        let sql = format!(
            "SELECT {} FROM {} WHERE {} ORDER BY {} LIMIT 1",
            t.key,
            scope.from,
            scope.filter,
            self.row_order(db, &t.name)
        );
        db.first(&sql, &[Value::Integer(person)], |r| r.get(0))
    }

    /// The person's first identifier of a kind (e.g. their customer number).
    pub fn identifier_of(&self, db: &dyn Db, kind: IdentifierKind, person: i64) -> anyhow::Result<Option<String>> {
        for (table, column) in self.identifiers(kind) {
            let Some(scope) = self.scope(&table.name) else { continue };
            let order = self.row_order(db, &table.name);
            let sql = format!("SELECT {column} FROM {} WHERE {} ORDER BY {order} LIMIT 1", scope.from, scope.filter);
            if let Some(v) = db.first(&sql, &[Value::Integer(person)], |r| r.get(0))? {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    /// The person's name: the root's `shown_name` columns joined by spaces; None when empty.
    pub fn name_of(&self, db: &dyn Db, person: i64) -> anyhow::Result<Option<String>> {
        let Some(root) = self.root().filter(|r| !r.shown_name.is_empty()) else { return Ok(None) };
        let parts: Vec<String> = root.shown_name.iter().map(|c| format!("coalesce({c}, '')")).collect();
        let sql = format!(
            "SELECT nullif(trim({}), '') FROM {} WHERE {} = ?1",
            parts.join(" || ' ' || "),
            root.sql_name(),
            root.key
        );
        Ok(db.first(&sql, &[Value::Integer(person)], |r| r.get::<Option<String>>(0))?.flatten())
    }

    /// The address to mail a person at: the address the identifier named (as the person wrote
    /// it), else the first in the email identifier's `preferred` order.
    pub fn address_on_file(&self, conn: &dyn Db, person: i64, named: Option<&str>) -> anyhow::Result<Option<String>> {
        for t in &self.tables {
            let Some(id) = t.identifier.iter().find(|i| i.kind == IdentifierKind::Email) else { continue };
            let Some(scope) = self.scope(&t.name) else { continue };
            let shown = id.written_in.as_deref().unwrap_or(&id.column);
            let order = id.preferred.clone().unwrap_or_else(|| self.row_order(conn, &t.name));
            let sql = format!(
                "SELECT {shown} FROM {} WHERE {} ORDER BY ({} = ?2) DESC, {order} LIMIT 1",
                scope.from, scope.filter, id.column
            );
            let named = self.email_rule().compared(named.unwrap_or("")).into_owned();
            let found = conn.first(&sql, &[person.into(), text(named)], |r| r.get(0))?;
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }
}
