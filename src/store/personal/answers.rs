//! What the answers, letters, reviews and the suppression list read of a person beyond their
//! rows, generated from the map: the steps of an automated decision and how a review reverses
//! them, the categories a row says a recipient was given, the identifiers the suppression list
//! remembers, and the people count.

use rusqlite::Connection;

use super::{condition, literal, DataMap};
use crate::map::table::{IdentifierKind, OtherPeopleKind};
use crate::store::db::Dialect;

impl DataMap {
    /// Which of a table's rows (the person's, by its scope) a portability export holds: its
    /// `export.own_rows`, and not one someone else wrote (`written-by`). SQL over the row.
    pub fn provided_rows(&self, name: &str, dialect: Dialect) -> String {
        let mut out = String::from("1 = 1");
        if let Some(own) = self.table(name).and_then(|t| t.export.own_rows.as_ref()) {
            out = condition(own);
        }
        if let Some(another) = self.written_by_another(name, dialect) {
            out.push_str(&format!(" AND {another} = 0"));
        }
        out
    }

    /// For a table whose rows someone else may have written (`other_people` kind `written-by`):
    /// an SQL expression over its row, 1 when another person wrote it (among the table's own
    /// rows, an author address that is none of the person's (?1) email addresses, compared in
    /// any case; on PostgreSQL the case of ASCII letters), else 0. `None` for other tables.
    pub fn written_by_another(&self, name: &str, dialect: Dialect) -> Option<String> {
        let table = self.table(name)?;
        let author = &table.other_people.as_ref().filter(|o| o.kind == OtherPeopleKind::WrittenBy)?.column;
        let fold = |x: &str| match dialect {
            Dialect::Sqlite => format!("dsr_fold({x})"),
            Dialect::Postgres => format!("lower(CAST({x} AS text) COLLATE \"C\")"),
        };
        let mut test = match &table.export.own_rows {
            Some(own) => format!("{} AND {author} IS NOT NULL", condition(own)),
            None => format!("{author} IS NOT NULL"),
        };
        let addresses: Vec<String> = self
            .identifiers(IdentifierKind::Email)
            .filter_map(|(t, col)| {
                let filter = self.scope(&t.name)?.filter;
                Some(format!("SELECT {} FROM {} WHERE {filter} AND {col} IS NOT NULL", fold(col), t.sql_name()))
            })
            .collect();
        // A person with no address on file (a cookie visitor, or one whose only address was
        // erased) is not told apart from others: nothing is withheld from them on that account.
        if addresses.is_empty() {
            return Some("0".into());
        }
        let addresses = addresses.join(" UNION ALL ");
        test.push_str(&format!(" AND EXISTS ({addresses}) AND {} NOT IN ({addresses})", fold(author)));
        Some(format!("(CASE WHEN {test} THEN 1 ELSE 0 END)"))
    }

    /// The steps of an automated decision taken on the person's rows, with the row each was
    /// about: the columns of `DecisionSubject` then step, occurred_at, automated, in the order of
    /// the rows' due dates. None when the map records no steps of this decision.
    pub fn decision_steps_sql(&self, decision: &str) -> Option<String> {
        let t = self.tables.iter().find(|t| t.decision_steps.as_ref().is_some_and(|d| d.decision == decision))?;
        let d = t.decision_steps.as_ref()?;
        let link = t.link.as_ref()?;
        let parent = self.table(&link.parent)?;
        let scope = self.scope(&parent.name)?;
        let a = &d.about;
        Some(format!(
            "SELECT p.{}, p.{}, p.{}, p.{}, p.{}, p.{}, p.{}, d.{}, d.{}, d.{}
             FROM {} p JOIN {} d ON d.{} = p.{}
             WHERE p.{} IN (SELECT {} FROM {} WHERE {})
             ORDER BY p.{}, p.{}, d.{}, d.{}",
            a.number,
            a.amount_cents,
            a.currency,
            a.issued_at,
            a.due_at,
            a.status,
            a.paid_at,
            d.step,
            d.occurred_at,
            d.automated,
            parent.sql_name(),
            t.sql_name(),
            link.column,
            parent.key,
            parent.key,
            parent.key,
            scope.from,
            scope.filter,
            a.due_at,
            parent.key,
            d.occurred_at,
            t.key
        ))
    }

    /// The register categories the person's rows say a recipient was given (a recipient link
    /// with a `categories` column, e.g. a disclosure); None when no link of the map lists them.
    pub fn categories_given(
        &self,
        conn: &dyn crate::store::db::Db,
        person: i64,
        recipient: &str,
    ) -> anyhow::Result<Option<Vec<String>>> {
        let mut lists: Option<Vec<String>> = None;
        for t in &self.tables {
            let Some(scope) = self.scope(&t.name) else { continue };
            for link in t.recipient.iter().filter(|l| l.categories.is_some() && l.column.is_some()) {
                let (Some(list), Some(column)) = (&link.categories, &link.column) else { continue };
                let sql = format!("SELECT {list} FROM {} WHERE ({}) AND {column} = ?2", scope.from, scope.filter);
                let found = lists.get_or_insert_with(Vec::new);
                for l in
                    conn.all(&sql, &[person.into(), crate::store::db::text(recipient)], |r| r.get::<Option<String>>(0))?
                {
                    found.extend(l);
                }
            }
        }
        Ok(lists.map(|lists| {
            let mut out: Vec<String> = Vec::new();
            for c in lists.iter().flat_map(|l| l.split(',')).map(str::trim).filter(|c| !c.is_empty()) {
                if !out.iter().any(|x| x == c) {
                    out.push(c.to_owned());
                }
            }
            out
        }))
    }

    /// Rows whose list of categories given to a recipient names a category: (table.column, rows).
    pub fn rows_naming_category(
        &self,
        conn: &dyn crate::store::db::Db,
        category: &str,
    ) -> anyhow::Result<Vec<(String, i64)>> {
        let mut out = Vec::new();
        for t in &self.tables {
            for list in t.recipient.iter().filter_map(|l| l.categories.as_ref()) {
                let sql = format!(
                    "SELECT count(*) FROM {} WHERE instr(',' || replace({list}, ' ', '') || ',', ',' || ?1 || ',') > 0",
                    t.sql_name()
                );
                let n: i64 = conn.one(&sql, &[crate::store::db::text(category)], |r| r.get(0))?;
                if n > 0 {
                    out.push((format!("{}.{list}", t.name), n));
                }
            }
        }
        Ok(out)
    }

    /// How many people the store holds (rows of the root table).
    pub fn people(&self, conn: &Connection) -> rusqlite::Result<i64> {
        let Some(root) = self.root() else { return Ok(0) };
        conn.query_row(&format!("SELECT count(*) FROM {}", root.sql_name()), [], |r| r.get(0))
    }

    /// Fill every email identifier column from the address as written (in the form lookups
    /// compare), for rows loaded without it (fixture SQL).
    pub fn fold_email_identifiers(&self, conn: &Connection) -> rusqlite::Result<()> {
        for t in &self.tables {
            for id in t.identifier.iter().filter(|i| i.kind == IdentifierKind::Email) {
                let Some(written) = &id.written_in else { continue };
                let f = id.local_part.unwrap_or_default().sql_function();
                conn.execute(&format!("UPDATE {} SET {} = {f}({written})", t.sql_name(), id.column), [])?;
            }
        }
        Ok(())
    }

    /// The statements that undo an automated decision's block for a person (?1), with the time
    /// (?2) and a note (?3): first a reversing step for each row it blocked and that has none
    /// yet, then each blocked state set back. Empty when the map records no reversal.
    pub fn reversal_sql(&self, decision: &str) -> Vec<String> {
        let Some(t) = self.tables.iter().find(|t| t.decision_steps.as_ref().is_some_and(|d| d.decision == decision))
        else {
            return Vec::new();
        };
        let (Some(d), Some(link)) = (t.decision_steps.as_ref(), t.link.as_ref()) else { return Vec::new() };
        let (Some(r), Some(parent), Some(scope)) =
            (d.reversal.as_ref(), self.table(&link.parent), self.scope(&link.parent))
        else {
            return Vec::new();
        };
        let step = |value: &str| {
            format!(
                "SELECT 1 FROM {} d WHERE d.{} = p.{} AND d.{} = {}",
                t.sql_name(),
                link.column,
                parent.key,
                d.step,
                literal(value)
            )
        };
        let mut out = vec![format!(
            "INSERT INTO {} ({}, {}, {}, {}, {}) SELECT p.{}, {}, ?2, 0, ?3 FROM {} p
             WHERE p.{} IN (SELECT {} FROM {} WHERE {}) AND EXISTS ({}) AND NOT EXISTS ({})",
            t.sql_name(),
            link.column,
            d.step,
            d.occurred_at,
            d.automated,
            r.detail_column,
            parent.key,
            literal(&r.unblocked_step),
            parent.sql_name(),
            parent.key,
            parent.key,
            scope.from,
            scope.filter,
            step(&r.blocked_step),
            step(&r.unblocked_step)
        )];
        for u in &r.unblock {
            let Some(scope) = self.scope(&u.table) else { continue };
            out.push(format!(
                "UPDATE {} SET {} = {} WHERE {} = {} AND {}",
                scope.from,
                u.column,
                literal(&u.active),
                u.column,
                literal(&u.blocked),
                scope.filter
            ));
        }
        out
    }

    /// Every identifier value of the person that the suppression list remembers, with its kind.
    pub fn remembered_identifiers(
        &self,
        conn: &dyn crate::store::db::Db,
        person: i64,
    ) -> anyhow::Result<Vec<(&'static str, String)>> {
        let mut out = Vec::new();
        for t in &self.tables {
            let Some(scope) = self.scope(&t.name) else { continue };
            for id in &t.identifier {
                let Some(kind) = id.kind.suppression_kind() else { continue };
                let sql = format!(
                    "SELECT {} FROM {} WHERE {} AND {} IS NOT NULL",
                    id.column, scope.from, scope.filter, id.column
                );
                conn.each(&sql, &[person.into()], &mut |r| {
                    out.push((kind, r.get::<String>(0)?));
                    Ok(())
                })?;
            }
        }
        Ok(out)
    }

    /// Each row of the root (with `person`, only that person's), as (person id, the value under
    /// which it goes on the suppression list once erased: kind [`RECORD`], `TABLE:KEY`, KEY its
    /// source key, the root's `[table.import] key`, else its key). A copy from a source that
    /// carries no identifier (an export of the people table) is known by it.
    pub fn root_records(
        &self,
        conn: &dyn crate::store::db::Db,
        person: Option<i64>,
        mut f: impl FnMut(i64, String),
    ) -> anyhow::Result<()> {
        let Some(root) = self.root() else { return Ok(()) };
        let column = root.import.key.as_deref().unwrap_or(&root.key);
        let (filter, params) = match person {
            Some(p) => (format!("{} = ?1", root.key), vec![p.into()]),
            None => (format!("{column} IS NOT NULL"), Vec::new()),
        };
        let sql = format!("SELECT {}, CAST({column} AS TEXT) FROM {} WHERE {filter}", root.key, root.sql_name());
        conn.each(&sql, &params, &mut |r| {
            if let (Some(p), Some(key)) = (r.get::<Option<i64>>(0)?, r.get::<Option<String>>(1)?) {
                f(p, record_value(&root.name, &key));
            }
            Ok(())
        })
    }

    /// Every remembered identifier in the store: (person, kind, value), for a replay after a
    /// restore; the root's rows among them (kind [`RECORD`]).
    pub fn all_remembered_identifiers(
        &self,
        conn: &dyn crate::store::db::Db,
        mut f: impl FnMut(i64, &'static str, String),
    ) -> anyhow::Result<()> {
        self.root_records(conn, None, |person, value| f(person, RECORD, value))?;
        for t in &self.tables {
            let Some(person) = self.person_of(&t.name) else { continue };
            for id in &t.identifier {
                let Some(kind) = id.kind.suppression_kind() else { continue };
                let sql =
                    format!("SELECT {person}, {} FROM {} WHERE {} IS NOT NULL", id.column, t.sql_name(), id.column);
                conn.each(&sql, &[], &mut |r| {
                    if let Some(p) = r.get::<Option<i64>>(0)? {
                        f(p, kind, r.get(1)?);
                    }
                    Ok(())
                })?;
            }
        }
        Ok(())
    }
}

/// The suppression list's kind for an erased person's root row (migration 20).
pub const RECORD: &str = "record";

/// What is hashed for a root row on the suppression list: its table and its source key.
pub fn record_value(table: &str, key: &str) -> String {
    format!("{table}:{key}")
}
