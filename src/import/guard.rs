//! What keeps a row of the file out, or a stored value as it is: the suppression list (an erased
//! person is refused, an objected person's opt-ins stay off) and the values dsr rectified (not
//! replaced by an older source value).

use std::collections::{HashMap, HashSet};

use crate::store::db::{text, Db};
use rusqlite::types::Value;

use super::columns::Plan;
use crate::keys::Keys;
use crate::map::table::Table;
use crate::store::personal::DataMap;

pub(super) enum Verdict {
    Erased(String),
    Unsubscribed,
}

/// The suppression list, read once: erased people's hashes with when and by which request, and
/// the hashes of those who objected to direct marketing.
pub(super) struct Suppressed {
    erased: HashMap<String, (String, Option<String>)>,
    objected: HashSet<String>,
}

impl Suppressed {
    pub(super) fn load(conn: &dyn Db) -> anyhow::Result<Suppressed> {
        let mut erased = HashMap::new();
        let mut objected = HashSet::new();
        conn.each("SELECT hash, reason, added_at, request_id FROM suppression", &[], &mut |r| {
            let (hash, reason): (String, String) = (r.get(0)?, r.get(1)?);
            if reason == "erased" {
                erased.insert(hash, (r.get(2)?, r.get(3)?));
            } else {
                objected.insert(hash);
            }
            Ok(())
        })?;
        Ok(Suppressed { erased, objected })
    }

    /// The verdict on a row: its identifiers, and for a row of the data map's root (`root` names
    /// that table), its source key (an erased person's row goes on the list by it).
    pub(super) fn check(&self, keys: &Keys, plan: &Plan, row: &[Value], root: Option<&str>) -> Option<Verdict> {
        if self.erased.is_empty() && self.objected.is_empty() {
            return None;
        }
        let said = |i: usize, hash: &str, what: &str| {
            let (at, request) = self.erased.get(hash)?;
            // A derived column (a folded email) is named by the file's column it is made from.
            let column = plan.derived_from.get(i).copied().flatten().unwrap_or(i);
            Some(Verdict::Erased(format!(
                "{}: {what} erased on {}{}; the row was not loaded (the suppression list keeps them out)",
                plan.columns[column],
                &at[..at.len().min(10)],
                request.as_deref().map(|r| format!(", request {r}")).unwrap_or_default()
            )))
        };
        let erased = |i: usize, hash: &str| said(i, hash, "this person was");
        // A line that reaches no one and carries an erased person's IP address: the erasure
        // removed such lines as the person's (Art. 17), a copy from the source does not bring them back.
        if let Some((ip, link)) = plan.anonymous_ip {
            if let (true, Value::Text(v)) = (link.is_none_or(|l| row[l] == Value::Null), &row[ip]) {
                let hash = crate::check::suppression_hash(keys, crate::rights::object::IP, v);
                if let Some(verdict) = said(ip, &hash, "a line that reaches no one, with the IP address of a person") {
                    return Some(verdict);
                }
            }
        }
        if let (Some(table), Some(key)) = (root, text_of(&row[plan.key])) {
            let value = crate::store::personal::record_value(table, &key);
            let hash = crate::check::suppression_hash(keys, crate::store::personal::RECORD, &value);
            if let Some(verdict) = erased(plan.key, &hash) {
                return Some(verdict);
            }
        }
        let mut unsubscribed = false;
        for &(i, kind) in &plan.remembered {
            let Value::Text(v) = &row[i] else { continue };
            let hash = crate::check::suppression_hash(keys, kind, v);
            if let Some(verdict) = erased(i, &hash) {
                return Some(verdict);
            }
            unsubscribed |= self.objected.contains(&hash);
        }
        unsubscribed.then_some(Verdict::Unsubscribed)
    }
}

/// A consent record of the file that says dsr wrote it (`source = 'dsr'`, the mark of a
/// withdrawal through a request, Art. 7(3)): refused, since such a record is evidence of what the
/// person asked dsr (Art. 7(1)), which a source's copy cannot make, and `--delete-missing` never
/// removes it.
pub(super) fn claims_dsr(table: &Table, plan: &Plan, row: &[Value]) -> Option<String> {
    let source = table.consent_record.as_ref()?.source.as_ref()?;
    let i = plan.columns.iter().position(|c| c == source)?;
    (row[i] == Value::Text("dsr".into())).then(|| {
        format!("{source}: \"dsr\" marks a consent record dsr wrote itself (a withdrawal through a request); a source's record cannot say it: give the source's own value")
    })
}

/// How far ahead of dsr's clock a source's time of change may be ([`changed_later_than`]).
const CLOCK_AHEAD_MINUTES: i64 = 5;

/// The latest time of change a row may carry: now, and a few minutes for a source whose clock
/// runs ahead.
pub(super) fn latest_change(clock: &crate::clock::Clock) -> String {
    crate::clock::stamp(clock.now() + chrono::Duration::minutes(CLOCK_AHEAD_MINUTES))
}

/// Why a row is refused whose time of change (`[table.import] updated`) is in the future: that
/// time decides whether the source's value replaces one dsr rectified, so a wrong clock or time
/// zone would let an older value win.
pub(super) fn changed_later_than(plan: &Plan, row: &[Value], latest: &str) -> Option<String> {
    let i = plan.updated?;
    let Value::Text(at) = &row[i] else { return None };
    (at.as_str() > latest).then(|| {
        format!(
            "{}: {at} is in the future (dsr's clock allows up to {latest}); the source's clock or time zone is off: correct it, or name the zone with --source-tz",
            plan.columns[i]
        )
    })
}

/// Whether the stored values are the row's (a number stored as text in a table that is not
/// STRICT compares by its text).
pub(super) fn same(old: &[Value], new: &[Value]) -> bool {
    old.iter().zip(new).all(|(a, b)| a == b || text_of(a).is_some_and(|x| Some(x) == text_of(b)))
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Integer(i) => Some(i.to_string()),
        Value::Real(f) => Some(f.to_string()),
        Value::Text(t) => Some(t.clone()),
        Value::Blob(_) => None,
    }
}

/// The values dsr rectified in one table, read once per run.
#[derive(Default)]
pub(super) struct Rectified {
    /// (row key, column) → (when, request).
    cells: HashMap<(String, String), (String, String)>,
    /// The row keys among them.
    rows: HashSet<String>,
}

impl Rectified {
    pub(super) fn load(conn: &dyn Db, table: &str) -> anyhow::Result<Rectified> {
        let mut out = Rectified::default();
        conn.each(
            "SELECT row_key, column_name, rectified_at, request_id FROM rectified WHERE table_name = ?1",
            &[text(table)],
            &mut |r| {
                let (cell, mark): ((String, String), (String, String)) =
                    ((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?));
                out.rows.insert(cell.0.clone());
                out.cells.insert(cell, mark);
                Ok(())
            },
        )?;
        Ok(out)
    }

    /// Whether a value of the row was rectified.
    pub(super) fn has_row(&self, own_key: &str) -> bool {
        self.rows.contains(own_key)
    }

    /// A changed column of the row that dsr rectified, where the source's change is not later
    /// than the rectification (or the file does not say when the source changed the row).
    pub(super) fn conflict(
        &self,
        plan: &Plan,
        table: &Table,
        own_key: &str,
        old: &[Value],
        new: &[Value],
    ) -> Option<String> {
        if !self.has_row(own_key) {
            return None;
        }
        // Every rectified column the source's row would change back, named at once, so that the
        // source is corrected in one go.
        let mut found: Vec<(&String, &str, &String)> = Vec::new();
        for (i, c) in plan.columns.iter().enumerate() {
            let Some((at, request)) = self.cells.get(&(own_key.to_owned(), c.clone())) else { continue };
            if same(&old[i..=i], &new[i..=i]) {
                continue;
            }
            let source_later = plan.updated.and_then(|u| text_of(&new[u])).is_some_and(|t| t.as_str() > at.as_str());
            if !source_later {
                found.push((c, &at[..at.len().min(10)], request));
            }
        }
        // The row says when it changed only with a time in its `updated` column.
        let dated = plan.updated.and_then(|u| text_of(&new[u])).is_some_and(|t| !t.trim().is_empty());
        let why = if dated { " with an older change" } else { " (the file does not say when it changed)" };
        match found.as_slice() {
            [] => None,
            [(c, at, request)] => Some(format!(
                "{c}: the value in {} was rectified on {at} (request {request}) and the source's differs{why}; it was left as it is: correct it at the source",
                table.name
            )),
            many => {
                let names: Vec<&str> = many.iter().map(|(c, _, _)| c.as_str()).collect();
                let when: Vec<String> = many.iter().map(|(c, at, r)| format!("{c} on {at}, request {r}")).collect();
                Some(format!(
                    "{}: the values in {} were rectified ({}) and the source's differ{why}; they were left as they are: correct them at the source",
                    names.join(", "),
                    table.name,
                    when.join("; ")
                ))
            }
        }
    }
}

/// A row's links to other tables that no foreign key checks: a parent in another database (a
/// table of dsr's store under a company database's, where no foreign key can hold) or in a
/// company database whose table declares no foreign key for the link (so that a copy of an
/// erased person's rows, whose parent went, stays out), and the columns that name a
/// register recipient (`[[table.recipient]] column`: a code the register lacks would leave the
/// recipient out of the person's answer).
pub(super) struct Links {
    /// The link column's index, the statement that finds the parent row, the parent's name.
    parent: Option<(usize, String, String)>,
    /// The columns that name a recipient, and the register's codes.
    recipients: Vec<usize>,
    codes: HashSet<String>,
    /// For a table linked to the people themselves: the link column's index, the email
    /// identifier columns, and the statements that find who holds an address (as rectify
    /// refuses an address another person holds: lookups by it would find two people, and the
    /// other's mail could reach this one).
    addresses: Option<Addresses>,
}

/// See [`Links::addresses`]: where the row's person is (the link column in the file, else the
/// row already loaded under the file's key), its email columns, and who holds an address.
pub(super) struct Addresses {
    link: Option<usize>,
    loaded: String,
    emails: Vec<usize>,
    /// (table, statement) for each email identifier column of the map.
    holders: Vec<(String, String)>,
    /// For a table under another than the people's: the person of a parent row (?1 its key).
    through: Option<String>,
}

impl Links {
    pub(super) fn load(
        conn: &dyn Db,
        map: &crate::store::personal::DataMap,
        table: &Table,
        plan: &Plan,
    ) -> anyhow::Result<Links> {
        // Checked here where no foreign key checks it: across databases, or in a company
        // database whose table declares none for the link.
        let enforced = |column: &str, parent: &str| -> anyhow::Result<bool> {
            let declared = crate::store::personal::schema::links_declared(conn, table)?;
            Ok(declared.iter().any(|(c, p, _)| c == column && p == parent))
        };
        let mut parent = None;
        if let Some(link) = &table.link {
            let column = plan.columns.iter().position(|c| *c == link.column);
            if let (Some(p), Some(i)) = (map.table(&link.parent), column) {
                if p.database != table.database || !enforced(&link.column, &p.name)? {
                    parent = Some((i, format!("SELECT 1 FROM {} WHERE {} = ?1", p.sql_name(), p.key), p.name.clone()));
                }
            }
        }
        let recipients: Vec<usize> = table
            .recipient
            .iter()
            .filter_map(|r| plan.columns.iter().position(|c| Some(c.as_str()) == r.column.as_deref()))
            .collect();
        let codes: HashSet<String> = match recipients.is_empty() {
            true => HashSet::new(),
            false => conn.all("SELECT code FROM recipient", &[], |r| r.get(0))?.into_iter().collect(),
        };
        let emails: Vec<usize> = plan.remembered.iter().filter(|(_, k)| *k == "email").map(|(i, _)| *i).collect();
        // The row's person: its link's value under the people's table, or the person of the
        // parent row it names, at any depth.
        let linked = table.link.as_ref().and_then(|l| {
            let p = map.table(&l.parent)?;
            let through = match p.root {
                true => None,
                false => Some(format!("SELECT {} FROM {} WHERE {} = ?1", map.person_of(&p.name)?, p.sql_name(), p.key)),
            };
            Some((l, through))
        });
        let addresses = match (linked, emails.is_empty()) {
            (Some((l, through)), false) => {
                let holders = map
                    .identifiers(crate::map::table::IdentifierKind::Email)
                    .filter_map(|(t, c)| {
                        let sql = format!("SELECT {} FROM {} WHERE {c} = ?1", map.person_of(&t.name)?, t.sql_name());
                        Some((t.name.clone(), sql))
                    })
                    .collect();
                let loaded =
                    format!("SELECT {} FROM {} WHERE {} = ?1", l.column, table.sql_name(), plan.columns[plan.key]);
                Some(Addresses {
                    link: plan.columns.iter().position(|c| *c == l.column),
                    loaded,
                    emails,
                    holders,
                    through,
                })
            }
            _ => None,
        };
        Ok(Links { parent, recipients, codes, addresses })
    }

    /// A first load (`bulk`: the table was empty, its indexes set aside): the table itself holds
    /// only the file's rows and cannot be searched by address row by row, so addresses are
    /// compared with the other tables only.
    pub(super) fn first_load(&mut self, table: &str) {
        if let Some(a) = &mut self.addresses {
            a.holders.retain(|(t, _)| t != table);
        }
    }

    /// Why the row is refused, if it is.
    pub(super) fn refusal(&self, db: &dyn Db, plan: &Plan, row: &[Value]) -> anyhow::Result<Option<String>> {
        if let Some((i, sql, parent)) = &self.parent {
            if row[*i] != Value::Null && db.first(sql, &[row[*i].clone()], |_| Ok(()))?.is_none() {
                return Ok(Some(format!(
                    "{}: no {parent} row has this key (erased, or not loaded yet); the row was not loaded",
                    plan.columns[*i]
                )));
            }
        }
        if let Some(a) = &self.addresses {
            let linked = match a.link {
                Some(link) => Some(row[link].clone()).filter(|v| *v != Value::Null),
                None => db.first(&a.loaded, &[row[plan.key].clone()], |r| r.get::<Value>(0))?,
            };
            let person = match (&a.through, linked) {
                (_, None) => None,
                (None, Some(Value::Integer(p))) => Some(p),
                (None, Some(_)) => None,
                (Some(sql), Some(parent)) => db.first(sql, &[parent], |r| r.get::<Option<i64>>(0))?.flatten(),
            };
            for &i in &a.emails {
                let (Some(person), Value::Text(address)) = (person, &row[i]) else { continue };
                for (_, sql) in &a.holders {
                    let people: Vec<Option<i64>> = db.all(sql, &[Value::Text(address.clone())], |r| r.get(0))?;
                    if people.iter().flatten().any(|p| *p != person) {
                        // A derived column (a folded email) is named by the file's column it is made from.
                        let column = plan.derived_from.get(i).copied().flatten().unwrap_or(i);
                        return Ok(Some(format!(
                            "{}: this address is on file for another person: lookups by it would find two people, and their mail could reach this one; the row was not loaded",
                            plan.columns[column]
                        )));
                    }
                }
            }
        }
        let unknown = self.recipients.iter().find(|&&i| matches!(&row[i], Value::Text(c) if !self.codes.contains(c)));
        Ok(unknown.map(|i| {
            format!(
                "{}: not a recipient of the register (Art. 15(1)(c) and 19 name each one); add it as a [[recipient]] with `dsr register apply FILE`, or correct the row",
                plan.columns[*i]
            )
        }))
    }
}

/// Keys of the rows written per statement that keeps objectors' opt-ins off.
pub(super) const KEEP_OFF_CHUNK: usize = 500;

/// The statements of [`Run::keep_off`]: the person of a row is found through the data map, so a
/// new address of someone who objected stays opted out, not only a known one (the suppression
/// list only knows the hashes of the addresses they had).
pub(super) fn keep_off_statements(
    conn: &dyn Db,
    map: &DataMap,
    table: &crate::map::table::Table,
    key_column: &str,
) -> anyhow::Result<Vec<String>> {
    if table.opt_in.is_empty() {
        return Ok(Vec::new());
    }
    let stopped: Vec<String> =
        conn.all("SELECT DISTINCT purpose FROM objection WHERE outcome = 'stopped'", &[], |r| r.get(0))?;
    let Some(person) = map.person_of(&table.name) else { return Ok(Vec::new()) };
    Ok(table
        .opt_in
        .iter()
        .filter(|o| stopped.contains(&o.purpose))
        .map(|o| {
            format!(
                "UPDATE {} SET {col} = 0 WHERE {col} <> 0 AND {person} IN (SELECT person_id FROM objection WHERE purpose = {} AND outcome = 'stopped') AND {key_column} IN ",
                table.sql_name(),
                crate::store::personal::literal(&o.purpose),
                col = o.column,
            )
        })
        .collect())
}
