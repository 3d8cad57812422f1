//! What an erasure leaves for the backend to clean after it: the tables it changed, and the
//! values to search the backend's pages for.

use super::Plan;
use crate::store::db::Db;
use crate::store::personal::DataMap;

/// A person's identifiers (addresses, numbers, cookie ids), read before their erasure so that
/// the backend's pages can be searched for them afterwards (`Conn::residue`; PostgreSQL only: on
/// SQLite `secure_delete` overwrites them and nothing is read): as compared, as the rows wrote
/// them (`written_in`), and as given in dsr's own records (a request's identifier as the officer
/// typed it, a message's sender and Message-ID).
pub fn values_to_look_for(conn: &dyn Db, person_id: i64) -> anyhow::Result<Vec<String>> {
    if conn.sqlite().is_some() {
        return Ok(Vec::new());
    }
    let map = DataMap::load(conn)?;
    let mut out: Vec<String> = map.remembered_identifiers(conn, person_id)?.into_iter().map(|(_, v)| v).collect();
    let mut read = |sql: &str| {
        conn.each(sql, &[person_id.into()], &mut |r| {
            out.extend(r.get::<Option<String>>(0)?);
            Ok(())
        })
    };
    for t in &map.tables {
        let Some(scope) = map.scope(&t.name) else { continue };
        for written in t.identifier.iter().filter_map(|i| i.written_in.as_deref()) {
            read(&format!("SELECT CAST({written} AS TEXT) FROM {} WHERE {}", scope.from, scope.filter))?;
        }
    }
    read(
        "SELECT subject_given FROM request WHERE person_id = ?1
         UNION SELECT sender FROM intake_message WHERE request_id IN (SELECT id FROM request WHERE person_id = ?1)
         UNION SELECT message_id FROM intake_message WHERE request_id IN (SELECT id FROM request WHERE person_id = ?1)",
    )?;
    out.sort();
    out.dedup();
    Ok(out)
}

/// The tables an applied plan removed or changed rows in, with dsr's own records of the person
/// (their notes, corrections, requests and queued letters), for [`crate::store::db::Conn::after_erasure`].
pub fn touched(map: &DataMap, plan: &Plan) -> Vec<String> {
    let mut out: Vec<String> =
        plan.steps.iter().filter(|st| st.rows > 0 && st.action != "keep").map(|st| map.sql_name(&st.table)).collect();
    out.extend(OWN_TOUCHED.iter().map(|t| (*t).to_owned()));
    out
}

/// Every table an erasure can change: the map's tables (as SQL names them: `shop.orders` in a
/// company database) and dsr's records of people.
pub fn touched_by_any(map: &DataMap) -> Vec<String> {
    let mut out: Vec<String> = map.tables.iter().map(|t| t.sql_name()).collect();
    out.extend(OWN_TOUCHED.iter().map(|t| (*t).to_owned()));
    out
}

const OWN_TOUCHED: &[&str] = &[
    "free_text",
    "rectified",
    "request",
    "intake_message",
    "queued",
    "restriction",
    "objection",
    "decision_review",
    "person",
    "task",
];
