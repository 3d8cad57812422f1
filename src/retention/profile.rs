//! The profile rule (a `contract-end` rule on the people's table): each person whose contract
//! ended longer ago than the period is erased by the erasure planner, keeping what the law, a
//! consent or a restriction still keeps.

use std::collections::HashSet;

use super::expiry::not_held;
use super::{progress, Runner};
use crate::rights::erase;
use crate::store::db::Db;
use crate::vals;

/// A person with a pending request is left for that request to decide first.
const HAS_OPEN_REQUEST: &str =
    "SELECT EXISTS (SELECT 1 FROM request WHERE person_id = ?1 AND state IN ('needs-review', 'awaiting-verification', 'verified'))";

/// The person ids of ended contracts past the profile's retention, one erasure each: (erased, held
/// back for an open request).
pub(super) fn ended_contracts(r: &mut Runner<'_>, cut: &str, rule: &str) -> anyhow::Result<(u64, u64)> {
    let (Some((contract, _)), Some(ended)) = (r.map.contract_table(), r.map.contract_ended()) else {
        anyhow::bail!("the data map records no end of a contract");
    };
    let person = r.map.person_of(&contract.name).unwrap_or_else(|| "NULL".into());
    let db: &dyn Db = r.conn;
    // A restriction that keeps the data holds the whole person when it covers all of them, the
    // contract, or rows hanging from the contract (which the plan would keep with the contract
    // row, and the person would be found again every run); one of other categories keeps those
    // (the erasure plan leaves them, linked to the person, until it is lifted) and the rest of the
    // profile goes.
    let mut under_contract = vec![contract.category.clone()];
    under_contract.extend(r.map.descendants(&contract.name).into_iter().map(|(t, _)| t.category.clone()));
    let under_contract = under_contract.join(",");
    let mut people: Vec<i64> = db
        .all(
            &format!(
                "SELECT {person} FROM {} WHERE {ended} AND {}",
                contract.sql_name(),
                not_held(&r.map, &contract.name)
            ),
            &vals![cut, under_contract]?,
            |x| x.get::<Option<i64>>(0),
        )?
        .into_iter()
        .flatten()
        .collect();
    // A person with several ended contracts is erased once.
    let mut seen = HashSet::new();
    people.retain(|p| seen.insert(*p));
    // A consent on record (in force, or the proof of one withdrawn, kept for its period) or an
    // opt-in: a relationship of its own, which an ended contract does not end.
    let has_consent = format!("SELECT {}", r.map.consent_on_record());
    let mut held = 0;
    // The rows a person's erasure deletes beyond the person's own row: `removed_with`.
    let root = r.map.root().map(|t| t.name.clone()).unwrap_or_default();
    let with = |plan: &erase::Plan| -> u64 {
        let others = plan.steps.iter().filter(|st| st.action == "delete" && st.table != root);
        // The rows of the data map's tables; dsr's own records of the person are not counted.
        others.filter(|st| r.map.table(&st.table).is_some()).map(|st| st.rows).sum()
    };
    // The person's own row, when the plan deletes it: one kept for a consent (without name and
    // address) or a restriction is not removed, and not counted as such.
    let own = |plan: &erase::Plan| -> u64 {
        plan.steps.iter().filter(|st| st.action == "delete" && st.table == root).map(|st| st.rows).sum()
    };
    if r.dry_run {
        let mut n = 0;
        for p in &people {
            let open: bool = db.one(HAS_OPEN_REQUEST, &vals![p]?, |x| x.get(0))?;
            if open {
                held += 1;
                r.held_persons.insert(*p);
                continue;
            }
            let s = crate::subject::subject(r.conn, *p)?;
            let consent: bool = db.one(&has_consent, &vals![p]?, |x| x.get(0))?;
            let plan = erase::plan_for_retention(db, &s, &r.clock.timestamp(), consent)?;
            r.with += with(&plan);
            n += own(&plan);
        }
        return Ok((n, held));
    }
    let keys = crate::keys::Keys::load(r.conn)?;
    let mut erased = 0;
    for p in &people {
        let s = crate::subject::subject(r.conn, *p)?;
        let tx_box = r.conn.begin()?;
        let tx: &dyn Db = &*tx_box;
        let open: bool = tx.one(HAS_OPEN_REQUEST, &vals![p]?, |x| x.get(0))?;
        if open {
            held += 1;
            r.held_persons.insert(*p);
            continue; // a pending request decides first
        }
        let consent: bool = tx.one(&has_consent, &vals![p]?, |x| x.get(0))?;
        let plan = erase::plan_for_retention(tx, &s, &r.clock.timestamp(), consent)?;
        if consent {
            // The person stays on file for the consent, so no identifier of theirs is suppressed.
            erase::apply(tx, &s, &plan)?;
        } else {
            // Identifiers in rows the plan keeps whole come off the list again after it.
            let mut hashes = crate::rights::object::suppress(tx, &r.clock, &keys, None, &s, "erased")?;
            erase::apply(tx, &s, &plan)?;
            crate::rights::object::unsuppress_kept(tx, &keys, None, &s, &mut hashes)?;
        }
        progress(tx, rule, own(&plan), with(&plan))?;
        tx_box.commit()?;
        erased += own(&plan);
        r.with += with(&plan);
    }
    Ok((erased, held))
}
