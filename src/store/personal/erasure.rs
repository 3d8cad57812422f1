//! The SQL of erasure plans (`rights::erase`), generated from the data map: which of a person's
//! rows each kind of `[table.erase]` keeps or deletes, the fiscal years they are kept for, and
//! the rows an opt-in in force covers (kept when retention erases an ended contract).

use super::{condition, DataMap};
use crate::map::table::{ColumnRef, Condition, OtherPeopleKind};

impl DataMap {
    /// The person's rows of a table that meet a condition (with `meets` false: that do not).
    pub fn scope_where(&self, name: &str, c: &Condition, meets: bool) -> Option<String> {
        Some(format!("{} AND {}", self.scope(name)?.filter, condition(&toward(c, meets))))
    }

    /// The person's rows of a table whose parent row meets a condition (or does not).
    pub fn under_parents_where(&self, name: &str, c: &Condition, meets: bool) -> Option<String> {
        let link = self.table(name)?.link.as_ref()?;
        let parent = self.table(&link.parent)?;
        let parents = self.scope_where(&parent.name, c, meets)?;
        Some(format!("{} IN (SELECT {} FROM {} WHERE {parents})", link.column, parent.key, parent.sql_name()))
    }

    /// The person's rows of a table that rows of another refer to (`referenced`) or that none do.
    pub fn scope_referenced(&self, name: &str, by: &ColumnRef, referenced: bool) -> Option<String> {
        let table = self.table(name)?;
        Some(format!(
            "{} AND {} {}IN (SELECT {col} FROM {} WHERE {col} IS NOT NULL)",
            self.scope(name)?.filter,
            table.key,
            if referenced { "" } else { "NOT " },
            self.sql_name(&by.table),
            col = by.column
        ))
    }

    /// Rows of a table with `other_people` kind `anonymous-by-ip` that reach no one (the link is
    /// NULL) and carry one of the person's IP addresses (from `ips_from`, each through its scope).
    pub fn anonymous_by_ip(&self, name: &str) -> Option<String> {
        let table = self.table(name)?;
        let others = table.other_people.as_ref().filter(|o| o.kind == OtherPeopleKind::AnonymousByIp)?;
        let ips: Vec<String> = others
            .ips_from
            .iter()
            .map(|f| {
                let scope = self.scope(&f.table)?;
                Some(format!("SELECT {} FROM {} WHERE {}", f.column, scope.from, scope.filter))
            })
            .collect::<Option<_>>()?;
        Some(format!("{} IS NULL AND {} IN ({})", table.link.as_ref()?.column, others.column, ips.join(" UNION ")))
    }

    /// The tables whose rows reaching no one are matched to a person by IP address (`other_people`
    /// kind `anonymous-by-ip`): each with its IP column and its link column.
    pub fn anonymous_ip_tables(&self) -> Vec<(&crate::map::table::Table, &str, &str)> {
        self.tables
            .iter()
            .filter_map(|t| {
                let o = t.other_people.as_ref().filter(|o| o.kind == OtherPeopleKind::AnonymousByIp)?;
                Some((t, o.column.as_str(), t.link.as_ref()?.column.as_str()))
            })
            .collect()
    }

    /// The person's IP addresses that lines reaching no one are matched on (every `ips_from` of
    /// the anonymous-by-ip tables), each once, but those rows of another person hold too (a
    /// household's address): on the suppression list such an address would keep the other's
    /// lines out of an import.
    pub fn own_ips(&self, conn: &dyn crate::store::db::Db, person: i64) -> anyhow::Result<Vec<String>> {
        let mut sources: Vec<(&str, &str)> = Vec::new();
        for (t, _, _) in self.anonymous_ip_tables() {
            for f in &t.other_people.as_ref().expect("anonymous-by-ip").ips_from {
                if !sources.contains(&(f.table.as_str(), f.column.as_str())) {
                    sources.push((&f.table, &f.column));
                }
            }
        }
        let mut ips: Vec<String> = Vec::new();
        for (table, column) in &sources {
            let Some(scope) = self.scope(table) else { continue };
            let sql =
                format!("SELECT DISTINCT {column} FROM {} WHERE {} AND {column} IS NOT NULL", scope.from, scope.filter);
            for ip in conn.all(&sql, &[person.into()], |r| r.get::<String>(0))? {
                if !ips.contains(&ip) {
                    ips.push(ip);
                }
            }
        }
        let mut own = Vec::new();
        'ip: for ip in ips {
            for (table, column) in &sources {
                let (Some(t), Some(of)) = (self.table(table), self.person_of(table)) else { continue };
                let sql = format!("SELECT count(*) FROM {} WHERE {column} = ?1 AND ({of}) <> ?2", t.sql_name());
                if conn.one(&sql, &[ip.clone().into(), person.into()], |r| r.get::<i64>(0))? > 0 {
                    continue 'ip;
                }
            }
            own.push(ip);
        }
        Ok(own)
    }

    /// The fiscal years (the first four characters of `erase.date_column`) of the rows of a table
    /// a filter selects, in order; `person` is ?1. Values that are not a year are left out.
    pub fn fiscal_years(
        &self,
        conn: &dyn crate::store::db::Db,
        name: &str,
        filter: &str,
        person: i64,
    ) -> anyhow::Result<Vec<String>> {
        let Some(date) = self.table(name).and_then(|t| t.erase.date_column.as_ref()) else { return Ok(Vec::new()) };
        let sql =
            format!("SELECT DISTINCT substr({date}, 1, 4) FROM {} WHERE {filter} ORDER BY 1", self.sql_name(name));
        let mut out = Vec::new();
        for y in conn.all(&sql, &[person.into()], |r| r.get::<Option<String>>(0))? {
            match y {
                Some(y) if y.len() == 4 && y.chars().all(|c| c.is_ascii_digit()) => out.push(y),
                _ => {}
            }
        }
        Ok(out)
    }
}

/// The condition, or (with `meets` false) its opposite.
fn toward(c: &Condition, meets: bool) -> Condition {
    Condition { not: c.not == meets, ..c.clone() }
}

/// Rows of one fiscal year: `date_column` starts with `year` (four digits, checked by the caller).
pub fn in_year(date_column: &str, year: &str) -> String {
    format!("substr({date_column}, 1, 4) = '{year}'")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::personal::builtin;

    #[test]
    fn an_opt_in_in_force_is_the_flag_and_no_later_withdrawal() {
        let store = crate::store::Store::in_memory().unwrap();
        let map = DataMap { tables: builtin() };
        let in_force = map.opt_in_in_force("email_address").unwrap();
        assert_eq!(
            in_force,
            "(email_address.newsletter_opt_in = 1 AND coalesce((SELECT consent.granted FROM consent \
             WHERE consent.person_id = email_address.person_id AND consent.purpose = 'newsletter' \
             ORDER BY consent.recorded_at DESC, consent.id DESC LIMIT 1), 1) = 1)"
        );
        assert_eq!(map.opt_in_in_force("phone_number"), None);
        // Person 1 opted in, 2 opted in and withdrew, 3 withdrew and consented again, 4 never opted in.
        store
            .conn
            .execute_batch(
                "PRAGMA foreign_keys = OFF;
                 INSERT INTO email_address (id, person_id, address, newsletter_opt_in, created_at) VALUES
                   (1, 1, 'a@x.nl', 1, '2026'), (2, 2, 'b@x.nl', 1, '2026'), (3, 3, 'c@x.nl', 1, '2026'), (4, 4, 'd@x.nl', 0, '2026');
                 INSERT INTO consent (person_id, purpose, granted, recorded_at, source) VALUES
                   (2, 'newsletter', 1, '2026-01-01', 'signup'), (2, 'newsletter', 0, '2026-02-01', 'dsr'),
                   (3, 'newsletter', 0, '2026-01-01', 'dsr'), (3, 'newsletter', 1, '2026-02-01', 'signup'),
                   (4, 'newsletter', 1, '2026-01-01', 'signup');",
            )
            .unwrap();
        let covered: String = store
            .conn
            .query_row(&format!("SELECT group_concat(id) FROM email_address WHERE {in_force}"), [], |r| r.get(0))
            .unwrap();
        assert_eq!(covered, "1,3");
    }

    #[test]
    fn the_erasure_filters_of_the_built_in_map_run_on_the_schema() {
        let store = crate::store::Store::in_memory().unwrap();
        let map = DataMap { tables: builtin() };
        let claim = map.table("invoice").unwrap().erase.claim.clone().unwrap();
        let by = map.table("quote").unwrap().erase.referenced_by.clone().unwrap();
        let filters = [
            ("invoice", map.scope_where("invoice", &claim, false).unwrap()),
            ("dunning_event", map.under_parents_where("dunning_event", &claim, true).unwrap()),
            ("quote", map.scope_referenced("quote", &by, false).unwrap()),
            ("server_log", map.anonymous_by_ip("server_log").unwrap()),
        ];
        assert_eq!(filters[0].1, "customer_id IN (SELECT id FROM customer WHERE person_id = ?1) AND status NOT IN ('open', 'overdue', 'collection')");
        for (table, filter) in filters {
            store.conn.query_row(&format!("SELECT count(*) FROM {table} WHERE {filter}"), [1], |_| Ok(())).unwrap();
        }
        assert_eq!(map.fiscal_years(&store.conn, "invoice", "customer_id = ?1", 1).unwrap(), Vec::<String>::new());
    }
}
