//! Making tasks: what a right changed gives each system that copies a table it touched a task
//! with the source keys of the rows (see the module above).

use serde_json::{json, Value};

use super::Systems;
use crate::audit;
use crate::clock::Clock;
use crate::request::Request;
use crate::store::db::Db;
use crate::store::personal::DataMap;
use crate::vals;

/// What a right changed, for the tasks it gives.
pub enum Change<'a> {
    /// All the person's rows of the tables (an erasure, a restriction); read before an erasure
    /// deletes them.
    Person(i64),
    /// The person's rows of the tables that serve a purpose (an objection to it): those whose
    /// register category serves it, those whose marketing flags it covers, and the consent records.
    Purpose(i64, &'a str),
    /// Rectified values: where each was set, the new value read from the row; a row is named by
    /// its source key before the change.
    Values(&'a crate::rights::rectify::Applied),
    /// The person's rows of the tables holding these categories (a restriction of some of them).
    Categories(i64, &'a [String]),
    /// What an erasure plan deletes or detaches ([`crate::rights::erase::changes`]): the rows
    /// it deletes, and those it keeps without some columns, with `"set"` giving those columns
    /// as null; not the rows it keeps as they are. Read before the plan runs.
    Erasure(i64, &'a [(String, String, Vec<String>)]),
}

/// The tables of the map that hold one of `categories`: the table's own category, a column's, or
/// the register's category listing it.
fn holding(conn: &dyn Db, map: &DataMap, categories: &[String]) -> anyhow::Result<Vec<String>> {
    let register = crate::register::Register::load(conn)?;
    let listed =
        register.categories.iter().filter(|c| categories.contains(&c.code)).flat_map(|c| c.tables.iter().cloned());
    let mut out: Vec<String> = listed.collect();
    out.extend(
        map.tables
            .iter()
            .filter(|t| t.categories().into_iter().any(|k| categories.iter().any(|c| c == k)))
            .map(|t| t.name.clone()),
    );
    Ok(out)
}

/// The tables of the map that serve a purpose: their register category serves it, their
/// marketing flags are covered by it, or they hold the consent records.
fn serving(conn: &dyn Db, map: &DataMap, purpose: &str) -> anyhow::Result<Vec<String>> {
    let register = crate::register::Register::load(conn)?;
    let by_category = register.categories.iter().filter(|c| c.purposes.iter().any(|p| p == purpose));
    let mut out: Vec<String> = by_category.flat_map(|c| c.tables.iter().cloned()).collect();
    out.extend(
        map.tables
            .iter()
            .filter(|t| t.consent_record.is_some() || t.opt_in.iter().any(|o| o.purpose == purpose))
            .map(|t| t.name.clone()),
    );
    Ok(out)
}

/// The keys a system still knows the person's rows by when an erasure supersedes the open tasks:
/// a rectification whose task is still open changed a row's source key, and the system will not
/// apply it now. (table, key now) → the key the system has (after the tasks it acknowledged),
/// following several such changes in order (each task names the row by its key just before it).
fn known_keys(
    conn: &dyn Db,
    map: &DataMap,
    system: &str,
    person: i64,
) -> anyhow::Result<Vec<(String, String, String)>> {
    let open: Vec<String> = conn.all(
        "SELECT t.rows FROM task t JOIN request r ON r.id = t.request_id
         WHERE r.person_id = ?1 AND t.system = ?2 AND t.action = 'rectify' AND t.done_at IS NULL AND t.rows IS NOT NULL
         ORDER BY t.id",
        &vals![person, system]?,
        |r| r.get(0),
    )?;
    let mut known: Vec<(String, String, String)> = Vec::new();
    for rows in open {
        let rows: Vec<Value> = serde_json::from_str(&rows)?;
        for row in &rows {
            let (Some(table), Some(key)) = (row["table"].as_str(), row["key"].as_str()) else { continue };
            let Some(t) = map.table(table) else { continue };
            let Some(now) = t.import.key.as_deref().and_then(|k| row["set"][k].as_str()) else { continue };
            let original = match known.iter().position(|(tb, k, _)| tb == table && k == key) {
                Some(i) => known.remove(i).2,
                None => key.to_owned(),
            };
            known.push((table.to_owned(), now.to_owned(), original));
        }
    }
    Ok(known)
}

/// Give each system that copies a table the change touched a task (in the caller's
/// transaction). Returns the number of tasks made.
pub fn record(conn: &dyn Db, clock: &Clock, req: &Request, action: &str, change: Change<'_>) -> anyhow::Result<usize> {
    let systems = Systems::load(conn)?;
    if systems.list.is_empty() {
        return Ok(0);
    }
    let map = DataMap::load(conn)?;
    let serving = match change {
        Change::Purpose(_, purpose) => Some(serving(conn, &map, purpose)?),
        Change::Categories(_, categories) => Some(holding(conn, &map, categories)?),
        _ => None,
    };
    let mut made = 0;
    for sys in &systems.list {
        // An erasure supersedes the person's open tasks: its rows are named by the keys the
        // system has. (A finished erasure's request was unlinked: its person is the change's.)
        let known = match &change {
            Change::Erasure(person, _) => known_keys(conn, &map, &sys.name, *person)?,
            _ => Vec::new(),
        };
        let as_known = |table: &str, key: String| match known.iter().find(|(t, k, _)| t == table && *k == key) {
            Some((_, _, original)) => original.clone(),
            None => key,
        };
        let mut rows: Vec<Value> = Vec::new();
        for t in sys.tables.iter().filter_map(|t| map.table(t)) {
            let key = t.import.key.as_deref().unwrap_or(&t.key);
            match &change {
                Change::Purpose(..) | Change::Categories(..)
                    if !serving.as_ref().is_some_and(|s| s.contains(&t.name)) => {}
                Change::Person(person) | Change::Purpose(person, _) | Change::Categories(person, _) => {
                    let Some(scope) = map.scope(&t.name) else { continue };
                    let sql =
                        format!("SELECT CAST({key} AS TEXT) FROM {} WHERE {} ORDER BY rowid", scope.from, scope.filter);
                    // The system applies its tasks in order: an open rectification's new key
                    // is the one it has by the time it reaches this task.
                    for k in conn.all(&sql, &[(*person).into()], |r| r.get::<Option<String>>(0))?.into_iter().flatten()
                    {
                        rows.push(json!({"table": t.name, "key": k}));
                    }
                }
                Change::Erasure(person, changes) => {
                    for (_, filter, fields) in changes.iter().filter(|(table, _, _)| *table == t.name) {
                        // The map's internal columns (normalised copies) are dsr's, not the system's.
                        let set: serde_json::Map<String, Value> = fields
                            .iter()
                            .filter(|f| !t.internal.contains(f))
                            .map(|f| (f.clone(), Value::Null))
                            .collect();
                        if !fields.is_empty() && set.is_empty() {
                            continue;
                        }
                        let sql =
                            format!("SELECT CAST({key} AS TEXT) FROM {} WHERE {filter} ORDER BY rowid", t.sql_name());
                        for k in
                            conn.all(&sql, &[(*person).into()], |r| r.get::<Option<String>>(0))?.into_iter().flatten()
                        {
                            rows.push(match set.is_empty() {
                                true => json!({"table": t.name, "key": as_known(&t.name, k)}),
                                false => json!({"table": t.name, "key": as_known(&t.name, k), "set": set}),
                            });
                        }
                    }
                }
                Change::Values(applied) => {
                    // One entry a row, with every column of it that was corrected; the map's
                    // internal columns (normalised copies) are dsr's, not the system's.
                    let mut spots: Vec<(&String, Vec<&String>)> = Vec::new();
                    let values = applied.spots.iter().filter(|v| v.0 == t.name && !t.internal.contains(&v.2));
                    for (_, row, column) in values {
                        match spots.iter_mut().find(|(r, _)| *r == row) {
                            Some((_, columns)) => columns.push(column),
                            None => spots.push((row, vec![column])),
                        }
                    }
                    for (row, columns) in spots {
                        let list: Vec<&str> = columns.iter().map(|c| c.as_str()).collect();
                        let sql = format!(
                            "SELECT CAST({key} AS TEXT), {} FROM {} WHERE {} = ?1",
                            list.join(", "),
                            t.sql_name(),
                            t.key
                        );
                        let found: Option<(Option<String>, Vec<rusqlite::types::Value>)> =
                            conn.first(&sql, &vals![row]?, |r| {
                                Ok((r.get(0)?, (1..=list.len()).map(|i| r.get(i)).collect::<anyhow::Result<_>>()?))
                            })?;
                        let Some((Some(k), found)) = found else { continue };
                        // The system knows the row by the key it had just before this change
                        // (after the earlier tasks it applies first), not one the change gave it.
                        let before = applied.keys_before.iter().find(|(tb, r, _)| *tb == t.name && r == row);
                        let k = before.map_or(k, |(_, _, k)| k.clone());
                        let set: serde_json::Map<String, Value> = list
                            .iter()
                            .zip(found)
                            .map(|(column, value)| {
                                ((*column).to_owned(), crate::rights::access::value((&value).into()))
                            })
                            .collect();
                        rows.push(json!({"table": t.name, "key": k, "set": set}));
                    }
                }
            }
        }
        if rows.is_empty() {
            continue;
        }
        let task: i64 = conn.one(
            "INSERT INTO task (request_id, system, action, created_at, rows) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
            &vals![req.id, sys.name, action, clock.timestamp(), Value::Array(rows).to_string()]?,
            |r| r.get(0),
        )?;
        made += 1;
        audit::append(
            conn,
            clock,
            Some(&req.id),
            Some(&req.subject_pseudonym),
            "task-made",
            json!({"task": task, "system": sys.name, "action": action}),
        )?;
    }
    Ok(made)
}
