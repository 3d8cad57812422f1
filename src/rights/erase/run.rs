//! Running a plan: the steps with their filters, what they change for the systems that keep
//! copies, and the plan applied.

use super::{own, steps, Plan, Step};
use crate::store::db::Db;
use crate::store::personal::DataMap;
use crate::subject::Subject;
use crate::vals;

/// The steps to run for a plan, with their filters. A plan made by this process carries each
/// step's filter (a stored plan does not: they are internal): its steps are the ones to run, in
/// its order, which is the map's. Otherwise the steps are made again and those of the plan's
/// kinds run.
fn runnable(conn: &dyn Db, map: &DataMap, s: &Subject, plan: &Plan) -> anyhow::Result<Vec<Step>> {
    if plan.steps.iter().all(|st| !st.filter.is_empty()) {
        return Ok(plan.steps.clone());
    }
    let fresh = steps(conn, map, s, &plan.created_at, (plan.keeps_consent, plan.retention))?;
    Ok(fresh.into_iter().filter(|f| plan.steps.iter().any(|p| p.same_kind(f))).collect())
}

/// What a plan does to the rows of the data map's tables, for the systems that keep copies:
/// (table, the rows as a filter with `?1` the person, the fields it empties: none where it
/// deletes the rows). The rows it keeps as they are (a fiscal hold, a claim, a legal-claims
/// restriction) are not in it.
pub fn changes(
    conn: &dyn Db,
    map: &DataMap,
    s: &Subject,
    plan: &Plan,
) -> anyhow::Result<Vec<(String, String, Vec<String>)>> {
    let run = runnable(conn, map, s, plan)?;
    let changing = run.into_iter().filter(|st| st.action == "delete" || st.action == "detach");
    Ok(changing.filter(|st| map.table(&st.table).is_some()).map(|st| (st.table, st.filter, st.fields)).collect())
}

/// The person's requests as the plan's step found them (a stored plan has no filters: again),
/// as a condition over `request` with ?1 the person.
fn requests(conn: &dyn Db, map: &DataMap, s: &Subject, plan: &Plan) -> anyhow::Result<String> {
    let step = plan.steps.iter().find(|st| st.table == "request" && st.action == "detach" && !st.filter.is_empty());
    match step {
        Some(st) => Ok(st.filter.clone()),
        None => own::requests_of(conn, map, s),
    }
}

/// The ids of the requests the plan detaches, whose officer's texts go with the erasure: its
/// audit entry names them, so `audit verify` knows why those texts are gone.
pub fn detached_requests(conn: &dyn Db, s: &Subject, plan: &Plan) -> anyhow::Result<Vec<String>> {
    let map = DataMap::load(conn)?;
    let sql = format!("SELECT id FROM request WHERE {} ORDER BY id", requests(conn, &map, s, plan)?);
    conn.all(&sql, &vals![s.person_id]?, |r| r.get(0))
}

/// Apply a plan in the caller's transaction. The caller has checked it is still current.
pub fn apply(conn: &dyn Db, s: &Subject, plan: &Plan) -> anyhow::Result<u64> {
    // Officers' reasons, notes and references about the person's requests go first (the audit
    // trail keeps only a keyed hash of them). They are dsr's own notes, not part of the plan: an
    // officer holding or releasing a plan adds one without making the plan stale.
    let map = DataMap::load(conn)?;
    let requests = requests(conn, &map, s, plan)?;
    let mut done = conn.run(
        &format!("DELETE FROM free_text WHERE request_id IN (SELECT id FROM request WHERE {requests})"),
        &vals![s.person_id]?,
    )? as u64;
    // The officers' proof of telling a recipient (Art. 19: a reference, or why it was
    // impossible) is their free text too; the row stays as the record that the recipient was told.
    conn.run(
        &format!(
            "UPDATE notification SET reference = CASE WHEN reference IS NULL THEN NULL ELSE '(erased)' END,
                    reason = CASE WHEN reason IS NULL THEN NULL ELSE '(erased)' END
              WHERE request_id IN (SELECT id FROM request WHERE {requests}) AND (reference IS NOT NULL OR reason IS NOT NULL)"
        ),
        &vals![s.person_id]?,
    )?;
    // Where their rectifications set values: the rows go, and so does the note.
    conn.run(
        &format!("DELETE FROM rectified WHERE request_id IN (SELECT id FROM request WHERE {requests})"),
        &vals![s.person_id]?,
    )?;
    for st in &runnable(conn, &map, s, plan)? {
        done += match st.action.as_str() {
            "delete" => {
                let from = map.sql_name(&st.table);
                match conn.run(&format!("DELETE FROM {from} WHERE {}", st.filter), &vals![s.person_id]?) {
                    Ok(n) => n as u64,
                    Err(e) if foreign_key(&e) => {
                        return Err(super::referred::refused(conn, &map, &st.table, &st.filter, s.person_id, e))
                    }
                    Err(e) => return Err(e),
                }
            }
            "detach" => {
                let sets: Vec<String> = st
                    .fields
                    .iter()
                    .map(|f| match f.as_str() {
                        "params" => format!("{f} = '{{}}'"),
                        // An extended deadline keeps a reason (schema CHECK); its text goes.
                        "extension_reason" => format!("{f} = CASE WHEN {f} IS NULL THEN NULL ELSE '(erased)' END"),
                        _ => format!("{f} = NULL"),
                    })
                    .collect();
                conn.run(
                    &format!("UPDATE {} SET {} WHERE {}", map.sql_name(&st.table), sets.join(", "), st.filter),
                    &vals![s.person_id]?,
                )? as u64
            }
            _ => 0,
        };
    }
    map.drop_anchor(conn, s.person_id)?;
    Ok(done)
}

/// Whether a foreign key refused the statement.
fn foreign_key(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<rusqlite::Error>().is_some_and(crate::exit::refused_by_foreign_key))
}
