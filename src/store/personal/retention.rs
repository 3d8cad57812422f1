//! The SQL a retention sweep runs over personal data, generated from the data map like the rest
//! of [`super`]: what a period counts from, what an ended contract, a fiscal year past its hold, a
//! withdrawn consent or a claim still open means for a table's rows, the rows that hang from an
//! expiring row, and who is left without any relation. Each condition is over the table's own
//! columns, with the cut-off as `?1`; `{ids}` in a child's filter stands for keys of the parent.

use crate::store::db::text;

use super::{condition, DataMap};
use crate::map::table::{Condition, EraseKind, Table};

/// The columns of table ?1 in database ?3 that refer to table ?2 (in database ?4), from SQLite's pragma.
const SQLITE_REFERENCES: &str = r#"SELECT "from" FROM pragma_foreign_key_list(?1, ?3) WHERE "table" = ?2 AND ?4 = ?4"#;

impl DataMap {
    /// The rows whose moment (`retention.counts_from`) is before ?1, of those `retention.only` names.
    pub fn counted_before(&self, name: &str) -> Option<String> {
        let retention = self.table(name)?.retention.as_ref()?;
        let before = format!("{} < ?1", retention.counts_from.as_ref()?);
        Some(match &retention.only {
            Some(only) => format!("{before} AND {}", condition(only)),
            None => before,
        })
    }

    /// The rows whose parent row matches `parent_filter` (a condition over the parent's columns).
    pub fn under(&self, name: &str, parent_filter: &str) -> Option<String> {
        let (link, parent) = self.parent_of(name)?;
        Some(format!("{} IN (SELECT {} FROM {} WHERE {parent_filter})", link, parent.key, parent.sql_name()))
    }

    /// The rows whose parent is not an open claim (the parent's `erase.claim`); None when the
    /// parent has no claim.
    pub fn not_under_claim(&self, name: &str) -> Option<String> {
        let (link, parent) = self.parent_of(name)?;
        let claim = parent.erase.claim.as_ref()?;
        Some(format!("{link} NOT IN (SELECT {} FROM {} WHERE {})", parent.key, parent.sql_name(), condition(claim)))
    }

    /// The records past `years` fiscal years in `year` (by `erase.date_column`, else the
    /// retention's `counts_from`), never one that is an open claim (`erase.claim`).
    pub fn fiscal_years_past(&self, name: &str, years: i64, year: i32) -> Option<String> {
        let t = self.table(name)?;
        let counts_from = t.retention.as_ref().and_then(|r| r.counts_from.as_ref());
        let date = t.erase.date_column.as_ref().or(counts_from)?;
        let past = format!("CAST(substr({date}, 1, 4) AS INTEGER) + {years} < {year}");
        Some(match &t.erase.claim {
            Some(claim) => format!("{} AND {past}", condition(&Condition { not: !claim.not, ..claim.clone() })),
            None => past,
        })
    }

    /// The rows no record refers to (`erase.referenced_by`); None when nothing may refer to them.
    pub fn not_referenced(&self, name: &str) -> Option<String> {
        let t = self.table(name)?;
        let by = t.erase.referenced_by.as_ref()?;
        let from = self.sql_name(&by.table);
        Some(format!("{} NOT IN (SELECT {c} FROM {from} WHERE {c} IS NOT NULL)", t.key, c = by.column))
    }

    /// The table that records the end of a person's contract, and its column.
    pub fn contract_table(&self) -> Option<(&Table, &str)> {
        self.tables.iter().find_map(|t| Some((t, t.retention.as_ref()?.contract_end.as_deref()?)))
    }

    /// The contracts ended before ?1 (over the contract table's columns).
    pub fn contract_ended(&self) -> Option<String> {
        let (_, end) = self.contract_table()?;
        Some(format!("{end} IS NOT NULL AND {end} < ?1"))
    }

    /// The rows of a table linked to the person directly whose contract ended before ?1.
    pub fn person_contract_ended(&self, name: &str) -> Option<String> {
        let (link, parent) = self.parent_of(name)?;
        let (contract, _) = self.contract_table()?;
        parent.root.then_some(())?;
        let person = self.person_of(&contract.name)?;
        Some(format!("{link} IN (SELECT {person} FROM {} WHERE {})", contract.sql_name(), self.contract_ended()?))
    }

    /// Consent records (`consent_record`) of a purpose withdrawn before ?1, at or after them: the
    /// proof of a consent and of its withdrawal go together (Art. 7(1)); one in force never does.
    pub fn withdrawn_before(&self, name: &str) -> Option<String> {
        let t = self.table(name)?;
        let c = t.consent_record.as_ref()?;
        let (link, n) = (&t.link.as_ref()?.column, &t.name);
        Some(format!(
            "EXISTS (SELECT 1 FROM {from} w WHERE w.{link} = {n}.{link} AND w.{p} = {n}.{p}
               AND w.{g} = 0 AND w.{r} < ?1 AND w.{r} >= {n}.{r})",
            from = t.sql_name(),
            p = c.purpose,
            g = c.granted,
            r = c.recorded_at
        ))
    }

    /// The tables hanging from `name`, to any depth, each after the tables hanging from it, with
    /// a filter over its rows where `{ids}` stands for a set of keys of `name`.
    pub fn descendants(&self, name: &str) -> Vec<(&Table, String)> {
        let mut out = Vec::new();
        let mut todo = vec![(name.to_owned(), "{ids}".to_owned())];
        while let Some((parent, keys)) = todo.pop() {
            for child in
                self.tables.iter().filter(|t| t.link.as_ref().is_some_and(|l| l.parent == parent && t.name != parent))
            {
                if out.iter().any(|(t, _): &(&Table, String)| t.name == child.name) || child.name == name {
                    continue; // a loop, refused by map::check
                }
                let filter = format!("{} IN {keys}", child.link.as_ref().map_or("", |l| l.column.as_str()));
                todo.push((
                    child.name.clone(),
                    format!("(SELECT {} FROM {} WHERE {filter})", child.key, child.sql_name()),
                ));
                out.push((child, filter));
            }
        }
        out.reverse();
        out
    }

    /// Columns of the map's tables that refer to rows of `name` (the store's foreign keys) other
    /// than the links rows hang by and the references that keep a row (`erase.referenced_by`):
    /// set to NULL when the rows go, so that a record keeps its own rows. Each table as the SQL
    /// names it.
    pub fn references_to(&self, conn: &dyn crate::store::db::Db, name: &str) -> anyhow::Result<Vec<(String, String)>> {
        let keeps = self.table(name).and_then(|t| t.erase.referenced_by.as_ref());
        let mut out = Vec::new();
        // The foreign keys of a table that point at `name`: SQLite's pragma, PostgreSQL's catalog
        // (in the order of the constraints' columns).
        let sql = match conn.dialect() {
            crate::store::db::Dialect::Sqlite => SQLITE_REFERENCES,
            crate::store::db::Dialect::Postgres => {
                "SELECT a.attname::text FROM pg_constraint c
                   JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
                  WHERE c.contype = 'f'
                    AND c.conrelid = to_regclass(quote_ident(CASE WHEN ?3 = 'main' THEN current_schema() ELSE ?3 END) || '.' || quote_ident(?1))
                    AND c.confrelid = to_regclass(quote_ident(CASE WHEN ?4 = 'main' THEN current_schema() ELSE ?4 END) || '.' || quote_ident(?2))
                  ORDER BY c.conname, a.attnum"
            }
        };
        // On PostgreSQL a company database is a schema of the same database.
        let target = self.table(name).and_then(|t| t.database.as_deref()).unwrap_or("main");
        for t in &self.tables {
            let schema = t.database.as_deref().unwrap_or("main");
            // A SQLite file's foreign keys stay in that file: one naming a table of the same
            // name there (an application's own `request`) does not refer to this one.
            if schema != target && conn.map_dialect() == crate::store::db::Dialect::Sqlite {
                continue;
            }
            let params = [text(&t.name), text(name), text(schema), text(target)];
            // A company's SQLite file beside a PostgreSQL store is asked with SQLite's pragma.
            let (conn, sql) = match conn.file_side(schema) {
                Some(files) => (files, SQLITE_REFERENCES),
                None => (conn, sql),
            };
            for column in conn.all(sql, &params, |r| r.get::<String>(0))? {
                let link = t.link.as_ref().is_some_and(|l| l.column == column && l.parent == name);
                let kept = keeps.is_some_and(|k| k.table == t.name && k.column == column);
                if !link && !kept {
                    out.push((t.sql_name(), column));
                }
            }
        }
        Ok(out)
    }

    /// The tables that only describe a person (hanging from the person directly, no role, no
    /// retention moment, no consent records, nothing hanging from them, and either in the
    /// person's own category or holding an email address or phone number): what is left of
    /// someone with no relation to the company.
    pub fn contact_tables(&self) -> Vec<&Table> {
        use crate::map::table::IdentifierKind::{Email, Phone};
        let Some(root) = self.root() else { return Vec::new() };
        self.tables
            .iter()
            .filter(|t| t.link.as_ref().is_some_and(|l| l.parent == root.name))
            .filter(|t| t.role.is_none() && t.retention.is_none() && t.consent_record.is_none())
            // Rows an erasure keeps (a fiscal record, a detached history) are a relation of their
            // own: they keep the person until their own rule or hold ends.
            .filter(|t| t.erase.kind == EraseKind::Delete && t.erase.detach.is_empty())
            .filter(|t| !self.tables.iter().any(|c| c.link.as_ref().is_some_and(|l| l.parent == t.name)))
            .filter(|t| t.category == root.category || t.identifier.iter().any(|i| matches!(i.kind, Email | Phone)))
            .collect()
    }

    /// The people (over the root's columns) with no relation: no row in a table that hangs from
    /// the person directly other than [`contact_tables`](Self::contact_tables), and no opt-in set there.
    pub fn without_relation(&self) -> Option<String> {
        let root = self.root()?;
        let contact = self.contact_tables();
        let mut parts = Vec::new();
        for t in self.tables.iter().filter(|t| t.link.as_ref().is_some_and(|l| l.parent == root.name)) {
            let link = &t.link.as_ref()?.column;
            if !contact.iter().any(|c| c.name == t.name) {
                parts.push(format!(
                    "{} NOT IN (SELECT {link} FROM {} WHERE {link} IS NOT NULL)",
                    root.key,
                    t.sql_name()
                ));
            }
            for o in t.opt_in.iter().filter(|_| contact.iter().any(|c| c.name == t.name)) {
                parts.push(format!("{} NOT IN (SELECT {link} FROM {} WHERE {} = 1)", root.key, t.sql_name(), o.column));
            }
        }
        Some(if parts.is_empty() { "1 = 1".into() } else { parts.join(" AND ") })
    }

    /// Whether the person ?1 has a consent on record (`consent_record`, in force or the proof of
    /// one withdrawn) or an opt-in set: an SQL expression.
    pub fn consent_on_record(&self) -> String {
        let mut parts = Vec::new();
        for t in &self.tables {
            let Some(scope) = self.scope(&t.name) else { continue };
            if t.consent_record.is_some() {
                parts.push(format!("EXISTS (SELECT 1 FROM {} WHERE {})", scope.from, scope.filter));
            }
            for o in &t.opt_in {
                parts
                    .push(format!("EXISTS (SELECT 1 FROM {} WHERE {} AND {} = 1)", scope.from, scope.filter, o.column));
            }
        }
        if parts.is_empty() {
            "0".into()
        } else {
            parts.join(" OR ")
        }
    }

    /// Whether erasure keeps rows of this table beyond the person's profile (fiscal records and
    /// the rows they refer to).
    pub fn kept_by_law(&self, name: &str) -> bool {
        self.table(name).is_some_and(|t| matches!(t.erase.kind, EraseKind::FiscalRecord | EraseKind::KeptIfReferenced))
    }

    /// A table's link column and its parent table.
    fn parent_of(&self, name: &str) -> Option<(&str, &Table)> {
        let link = self.table(name)?.link.as_ref()?;
        Some((link.column.as_str(), self.table(&link.parent)?))
    }
}

#[cfg(test)]
mod tests {
    use crate::store::personal::{builtin, DataMap};

    #[test]
    fn an_opt_in_in_force_means_what_the_newsletter_check_means() {
        let store = crate::store::Store::in_memory().unwrap();
        store
            .conn
            .execute_batch(
                "PRAGMA foreign_keys = OFF;
                 INSERT INTO person (id, created_at, source) VALUES (1, 'x', 'signup'), (2, 'x', 'signup'), (3, 'x', 'signup'), (4, 'x', 'signup');
                 INSERT INTO email_address (id, person_id, address, newsletter_opt_in, created_at)
                     VALUES (1, 1, 'a', 1, 'x'), (2, 2, 'b', 1, 'x'), (3, 3, 'c', 1, 'x'), (4, 4, 'd', 0, 'x'), (5, 1, 'e', 0, 'x');
                 INSERT INTO consent (id, person_id, purpose, granted, recorded_at, source) VALUES
                     (1, 2, 'newsletter', 1, '2024-01-01', 'signup'), (2, 2, 'newsletter', 0, '2025-01-01', 'dsr'),
                     (3, 3, 'newsletter', 0, '2024-01-01', 'dsr'), (4, 3, 'newsletter', 1, '2025-01-01', 'signup'),
                     (5, 1, 'marketing', 0, '2025-01-01', 'dsr');",
            )
            .unwrap();
        let map = DataMap { tables: builtin() };
        let generated = map.opt_in_in_force("email_address").unwrap();
        let ids = |cond: &str| -> Vec<i64> {
            let sql = format!("SELECT id FROM email_address WHERE {cond} ORDER BY id");
            store.conn.prepare(&sql).unwrap().query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
        };
        assert_eq!(ids(&generated), [1, 3]);
        // The condition the engine used before the map, written by hand.
        let by_hand = "(email_address.newsletter_opt_in = 1 AND coalesce((SELECT c.granted FROM consent c
             WHERE c.person_id = email_address.person_id AND c.purpose = 'newsletter' ORDER BY c.recorded_at DESC, c.id DESC LIMIT 1), 1) = 1)";
        assert_eq!(ids(&generated), ids(by_hand));
        assert_eq!(map.opt_in_in_force("phone_number"), None);
    }

    #[test]
    fn the_people_without_relation_are_left_with_their_contact_rows_only() {
        let map = DataMap { tables: builtin() };
        let contact: Vec<&str> = map.contact_tables().iter().map(|t| t.name.as_str()).collect();
        assert_eq!(contact, ["email_address", "phone_number", "supplementary_statement"]);
        let none = map.without_relation().unwrap();
        for t in ["customer", "application", "ticket", "cookie", "crash_report", "disclosure", "consent"] {
            assert!(
                none.contains(&format!("id NOT IN (SELECT person_id FROM {t} WHERE person_id IS NOT NULL)")),
                "{t}: {none}"
            );
        }
        assert!(none.contains("id NOT IN (SELECT person_id FROM email_address WHERE newsletter_opt_in = 1)"), "{none}");
        let store = crate::store::Store::in_memory().unwrap();
        store.conn.query_row(&format!("SELECT count(*) FROM person WHERE {none}"), [], |_| Ok(())).unwrap();
        let consent = map.consent_on_record();
        store.conn.query_row(&format!("SELECT {consent}"), [1], |_| Ok(())).unwrap();
    }
}
