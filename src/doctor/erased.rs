//! What an erasure removed, back in the data: the rows of the data map's root and the
//! identifiers of people on the suppression list as erased, and rows that link to such a root
//! row that is gone (a restored or re-synced table of the company's database).

use std::collections::HashSet;

use super::{finding, Finding};
use crate::check::suppression_hash;
use crate::keys::Keys;
use crate::map::table::Table;
use crate::store::db::Db;
use crate::store::personal::{record_value, DataMap, RECORD};

/// The keyed hashes of the suppression list's erased entries, and the key that made them.
pub(super) struct Erased {
    hashes: HashSet<String>,
    keys: Option<Keys>,
}

impl Erased {
    pub(super) fn load(conn: &dyn Db) -> anyhow::Result<Erased> {
        let mut hashes = HashSet::new();
        conn.each("SELECT hash FROM suppression WHERE reason = 'erased'", &[], &mut |r| {
            hashes.insert(r.get::<String>(0)?);
            Ok(())
        })?;
        let keys = if hashes.is_empty() { None } else { Some(Keys::load(conn)?) };
        Ok(Erased { hashes, keys })
    }

    fn is_erased(&self, kind: &str, value: &str) -> bool {
        self.keys.as_ref().is_some_and(|k| self.hashes.contains(&suppression_hash(k, kind, value)))
    }

    /// An identifier of a person erased (on the suppression list) that is in the data again: the
    /// application wrote it back, or the company database lost the erasure's commit.
    pub(super) fn back(&self, conn: &dyn Db, map: &DataMap, out: &mut Vec<Finding>) -> anyhow::Result<()> {
        if self.keys.is_none() {
            return Ok(());
        }
        // The rows of the root that an erasure deleted, back by their source key.
        let mut back = 0;
        map.root_records(conn, None, |_, value| {
            back += i64::from(self.is_erased(RECORD, &value));
        })?;
        if let (Some(root), true) = (map.root(), back > 0) {
            out.push(finding(
                "erased-back",
                &root.name,
                root.import.key.as_deref().unwrap_or(&root.key),
                back,
                "rows of people who were erased are in the data again",
                "find what wrote them back (an application, a copy from a source) and stop it; then erase those people again (`dsr erase --replay`)",
            ));
        }
        for (t, ip, link) in map.anonymous_ip_tables() {
            let sql = format!(
                "SELECT {ip}, count(*) FROM {} WHERE {link} IS NULL AND {ip} IS NOT NULL GROUP BY {ip}",
                t.sql_name()
            );
            let mut n = 0;
            conn.each(&sql, &[], &mut |r| {
                if self.is_erased(crate::rights::object::IP, &r.get::<String>(0)?) {
                    n += r.get::<i64>(1)?;
                }
                Ok(())
            })?;
            if n > 0 {
                out.push(finding(
                    "erased-back",
                    &t.name,
                    ip,
                    n,
                    "lines that reach no one carry the IP address of a person who was erased: the erasure removed such lines",
                    "find what wrote them back (a log restored or copied again from its source) and stop it; then `dsr erase --replay` deletes them again",
                ));
            }
        }
        for t in &map.tables {
            for id in &t.identifier {
                let Some(kind) = id.kind.suppression_kind() else { continue };
                let mut n = 0;
                let sql = format!("SELECT {} FROM {} WHERE {} IS NOT NULL", id.column, t.sql_name(), id.column);
                conn.each(&sql, &[], &mut |r| {
                    n += i64::from(self.is_erased(kind, &r.get::<String>(0)?));
                    Ok(())
                })?;
                if n > 0 {
                    out.push(finding(
                        "erased-back",
                        &t.name,
                        &id.column,
                        n,
                        "identifiers of people who were erased are in the data again",
                        "find what wrote them back (an application, a copy from a source) and stop it; then erase those people again (`dsr erase --replay`, which finds them by these identifiers)",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Of the rows of `t` whose link names no row of its parent, those that name a row of the
    /// data map's root on the suppression list as erased: the person's data, come back without
    /// the person (a table restored or copied again from a source). Said as `erased-back` with
    /// what to do (deleted; no person is reached, so no erasure can); returns how many, which
    /// are no orphans of unknown origin.
    pub(super) fn linked(
        &self,
        conn: &dyn Db,
        map: &DataMap,
        t: &Table,
        out: &mut Vec<Finding>,
    ) -> anyhow::Result<i64> {
        let (Some(link), Some(root)) = (&t.link, map.root()) else { return Ok(0) };
        // The root's record on the list is hashed from its source key: only when the link names it.
        let named = root.import.key.as_deref().unwrap_or(&root.key) == root.key;
        if self.keys.is_none() || link.parent != root.name || !named {
            return Ok(0);
        }
        let column = &link.column;
        let sql = format!(
            "SELECT CAST({column} AS TEXT), count(*) FROM {} WHERE {column} IS NOT NULL AND {column} NOT IN (SELECT {} FROM {}) GROUP BY {column}",
            t.sql_name(),
            root.key,
            root.sql_name()
        );
        let mut n = 0;
        conn.each(&sql, &[], &mut |r| {
            if self.is_erased(RECORD, &record_value(&root.name, &r.get::<String>(0)?)) {
                n += r.get::<i64>(1)?;
            }
            Ok(())
        })?;
        if n > 0 {
            out.push(finding(
                "erased-back",
                &t.name,
                column,
                n,
                format!("rows of people who were erased are in the data again, linked to {} rows that are gone", root.name),
                "find what wrote them back (a restored table, a copy from a source) and stop it; then delete these rows: no person is reached, so no erasure (not `dsr erase --replay` either) removes them",
            ));
        }
        Ok(n)
    }
}
