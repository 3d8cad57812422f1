//! `check --stdin`'s lookups: a batch of addresses at a time, in one statement, then the people
//! the batch allows against the suppression list, in one more.

use std::collections::HashSet;

use super::{Checker, Latest};
use crate::store::db::Db;
use crate::vals;

impl Checker {
    /// The lookup of a stream of addresses (`check --stdin`), prepared once (on SQLite, read row
    /// by row; on PostgreSQL, a statement the server prepares): for a batch of addresses at a time
    /// (a JSON array), each address's rows with each person's latest consent record for the
    /// purpose, in one statement, so the per-statement cost is paid per batch.
    pub fn stream<'c>(&self, conn: &'c dyn Db) -> anyhow::Result<Stream<'c>> {
        let lookup = match (&self.sql.batch, conn.sqlite()) {
            (Some(sql), Some(sqlite)) => Some(sqlite.prepare(sql)?),
            _ => None,
        };
        Ok(Stream { lookup, rows: Vec::new(), people: Vec::new() })
    }

    /// Whether each address (normalised) is allowed: the same verdicts as [`Checker::email`],
    /// looked up for the whole batch at once.
    pub fn emails_allowed(
        &self,
        conn: &dyn Db,
        stream: &mut Stream<'_>,
        normalised: &[String],
    ) -> anyhow::Result<Vec<bool>> {
        let on_consent = self.purpose.needs_consent();
        let rows = &mut stream.rows;
        rows.clear();
        let batch = serde_json::to_string(normalised)?;
        // The newsletter is denied to an address not opted in whatever its consent says, so the
        // consent of such a row is not looked up (the verdict is only allowed or not here).
        let opt_in = self.sql.opt_in;
        let consent_of = |granted: Option<bool>, at: &dyn Fn() -> anyhow::Result<String>| -> anyhow::Result<Latest> {
            Ok(match granted {
                Some(g) if on_consent => Some(Some((g, at()?))),
                _ if on_consent => Some(None),
                _ => None,
            })
        };
        match (stream.lookup.as_mut(), &self.sql.batch) {
            (Some(l), _) => {
                let mut found = l.query(rusqlite::params![batch, self.purpose.code, opt_in])?;
                while let Some(r) = found.next()? {
                    let consent = consent_of(r.get(3)?, &|| Ok(r.get(4)?))?;
                    rows.push((r.get::<_, i64>(0)? as usize, r.get(1)?, r.get(2)?, consent));
                }
            }
            (None, Some(sql)) => conn.each(sql, &vals![batch, self.purpose.code, opt_in]?, &mut |r| {
                let consent = consent_of(r.get(3)?, &|| r.get(4))?;
                rows.push((r.get::<i64>(0)? as usize, r.get(1)?, r.get(2)?, consent));
                Ok(())
            })?,
            (None, None) => {}
        }
        // By address, then one person holding the address twice: opted in if either row is
        // (true sorts first), people in the order `email` takes them.
        rows.sort_unstable_by(|a, b| (a.0, b.1, b.2).cmp(&(b.0, a.1, a.2)));
        rows.dedup_by_key(|r| (r.0, r.1));
        // The verdicts without the suppression list first; the people they allow are then looked
        // up on it together, with one statement for the batch.
        let mut allowed = Vec::with_capacity(normalised.len());
        let to_check = &mut stream.people;
        to_check.clear();
        let mut rows = rows.drain(..).peekable();
        for (i, address) in normalised.iter().enumerate() {
            let (mut ok, mut known) = (true, false);
            let first = to_check.len();
            while let Some((_, person, opted_in, consent)) = rows.next_if(|r| r.0 == i) {
                known = true;
                if ok && self.judge_unsuppressed(conn, person, opted_in, consent)?.allowed {
                    to_check.push((i, person));
                } else {
                    ok = false;
                }
            }
            // The keyed hash is made only for an address that would otherwise be allowed: the
            // verdict is the same, and most addresses are denied before it is needed.
            let ok = ok && known && self.address_suppressed(address).is_none();
            if !ok {
                to_check.truncate(first);
            }
            allowed.push(ok);
        }
        let blocked = self.people_suppressed(conn, to_check.iter().map(|(_, p)| *p))?;
        for (i, p) in to_check.iter() {
            if blocked.contains(p) {
                allowed[*i] = false;
            }
        }
        Ok(allowed)
    }

    /// Of these people, those with an identifier on the suppression list, when it blocks the
    /// purpose (direct marketing): their identifiers read in one statement.
    fn people_suppressed(&self, conn: &dyn Db, people: impl Iterator<Item = i64>) -> anyhow::Result<HashSet<i64>> {
        let mut blocked = HashSet::new();
        if !self.purpose.direct_marketing || self.suppressed.is_empty() {
            return Ok(blocked);
        }
        let people: Vec<i64> = people.collect();
        let Some(sql) = &self.sql.identifiers_of_many else {
            // No statement for many people from this map: each person's identifiers on their own.
            for p in people {
                if self.person_suppressed(conn, p)?.is_some() {
                    blocked.insert(p);
                }
            }
            return Ok(blocked);
        };
        if people.is_empty() {
            return Ok(blocked);
        }
        conn.each(sql, &vals![serde_json::to_string(&people)?]?, &mut |r| {
            let person: i64 = r.get(0)?;
            if !blocked.contains(&person) && self.value_suppressed(&r.get::<String>(2)?, &r.get::<String>(1)?).is_some()
            {
                blocked.insert(person);
            }
            Ok(())
        })?;
        Ok(blocked)
    }
}

/// A stream's prepared lookup and its reused buffer of rows: (address's place in the batch,
/// person, opted in, latest consent).
pub struct Stream<'c> {
    lookup: Option<rusqlite::Statement<'c>>,
    rows: Vec<(usize, i64, Option<bool>, Latest)>,
    /// The people allowed before the suppression list is read: (address's place, person).
    people: Vec<(usize, i64)>,
}
