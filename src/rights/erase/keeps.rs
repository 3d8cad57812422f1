//! What a plan keeps beyond the law's own holds: what a consent in force still needs when
//! retention erases an ended contract, and what a legal-claims restriction of some categories
//! covers (Art. 17(3)(e) with 18(1)(c)).

use crate::store::db::Db;

use super::steps::{rows, unlinked, words};
use super::{keep, step, Step, GROUND_RESTRICTED, GROUND_RESTRICTED_INSTEAD, UNTIL_LIFTED};
use crate::store::personal::DataMap;
use crate::subject::Subject;

/// Why a restriction or objection of the person outlives the erasure of an ended contract.
pub const GROUND_OWN_RECORD: &str = "Art. 18 and 21 GDPR: the person's restriction or objection";

pub const GROUND_CONSENT: &str =
    "Art. 6(1)(a) and 7(1) GDPR: a consent in force, and the proof of consent and withdrawal for the register's period";

/// Retention of an ended contract leaves what a consent still needs: the consent records (the
/// proof, unlinked from what else is erased: `consent_record.detach_when_kept`), the rows an
/// opt-in in force covers, the person they belong to (without the root's `identity_fields`),
/// and any restriction or objection.
pub(super) fn keep_consent(map: &DataMap, out: &mut Vec<Step>) {
    let root = map.root();
    for st in out.iter_mut().filter(|st| st.action == "delete") {
        let table = map.table(&st.table);
        if let Some((t, record)) = table.and_then(|t| Some((t, t.consent_record.as_ref()?))) {
            let fields = &record.detach_when_kept;
            let set: Vec<String> = fields.iter().map(|f| format!("{f} IS NOT NULL")).collect();
            *st = match set.len() {
                0 => step(&t.name, "keep", st.filter.clone(), &format!("{} stay", rows(t))),
                1 => step(&t.name, "detach", format!("{} AND {}", st.filter, set[0]), ""),
                _ => step(&t.name, "detach", format!("{} AND ({})", st.filter, set.join(" OR ")), ""),
            };
            if st.action == "detach" {
                st.why = format!("{} stay; {}", rows(t), unlinked(fields));
            }
            *st = keep(st.clone(), fields, GROUND_CONSENT, None);
        } else if st.table == "restriction" || st.table == "objection" {
            // dsr's own records: a restriction or objection still governs what may be done with what stays.
            *st = keep(
                step(
                    &st.table.clone(),
                    "keep",
                    "person_id = ?1".into(),
                    "still applies to the consent and address that stay",
                ),
                &[] as &[&str],
                GROUND_OWN_RECORD,
                None,
            )
        } else if let Some(root) = root.filter(|r| r.name == st.table) {
            *st = keep(
                step(
                    &root.name,
                    "detach",
                    st.filter.clone(),
                    &format!("the {} stays for the consent; name and postal address go", words(&root.name)),
                ),
                &root.erase.identity_fields,
                GROUND_CONSENT,
                None,
            )
        }
    }
    // The rows an opt-in in force covers stay; the others go.
    for t in map.tables.iter().filter(|t| !t.opt_in.is_empty()) {
        let (Some(in_force), Some(scope)) = (map.opt_in_in_force(&t.name), map.scope(&t.name)) else { continue };
        let covered = format!("{} AND {in_force}", scope.filter);
        let Some(at) = out.iter().position(|st| st.table == t.name && st.action == "delete") else { continue };
        out[at].filter = format!("{} AND NOT ({covered})", scope.filter);
        let purposes: Vec<&str> = t.opt_in.iter().map(|o| o.purpose.as_str()).collect();
        let why = format!("the {} the {} consent covers", rows(t), purposes.join(" or "));
        out.insert(at, keep(step(&t.name, "keep", covered, &why), &[] as &[&str], GROUND_CONSENT, None));
    }
}

/// An active legal-claims restriction (Art. 18(1)(c)).
pub(super) const HOLD: &str = "(ground = 'legal-claims' AND lifted_at IS NULL)";

/// An active restriction that keeps data from retention's erasure of an ended contract: a
/// legal-claims one, or one the person asked instead of erasure (Art. 18(1)(b)).
pub const HOLD_FROM_RETENTION: &str = "(ground IN ('legal-claims', 'unlawful') AND lifted_at IS NULL)";

/// A table a restriction of its category holds: (table, why, the ground).
pub(super) type Held = (String, String, &'static str);

/// The tables under an active restriction of one category that keeps them from this erasure:
/// the map's tables of that category, by name. A person's erasure is held by a legal-claims
/// restriction; retention's erasure of an ended contract also by one the person asked instead of
/// erasure (`unlawful`, Art. 18(1)(b)). (A restriction on all the person's data blocks the
/// erasure before a plan is made.)
pub(super) fn held_categories(conn: &dyn Db, map: &DataMap, s: &Subject, retention: bool) -> anyhow::Result<Vec<Held>> {
    let holds = if retention { HOLD_FROM_RETENTION } else { HOLD };
    let categories: Vec<(String, String)> = conn.all(
        &format!(
            "SELECT category, min(ground) FROM restriction WHERE person_id = ?1 AND {holds}
               AND category IS NOT NULL GROUP BY category"
        ),
        &[s.person_id.into()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mut out: Vec<Held> = Vec::new();
    for t in &map.tables {
        // `legal-claims` sorts first: a claim's restriction is named where both apply.
        let Some((c, ground)) = categories.iter().find(|(c, _)| *c == t.category) else { continue };
        let (why, ground) = match ground.as_str() {
            "legal-claims" => (format!("restricted for a legal claim (category {c})"), GROUND_RESTRICTED),
            _ => (format!("restricted instead of erasure (category {c})"), GROUND_RESTRICTED_INSTEAD),
        };
        out.push((t.name.clone(), why, ground));
    }
    out.sort();
    Ok(out)
}

/// Art. 17(3)(e) with 18(1)(c): what a legal-claims restriction covers is kept as it is, linked to
/// the person, until the restriction is lifted; everything else is erased. That holds for the rows
/// of a held category the plan would otherwise keep unlinked or cleared too (invoices under the
/// fiscal hold, an open claim's history): the person needs them as they are. The rows the held
/// rows hang from stay as they are too (the tables on their path to the root, e.g. the sessions of
/// held log lines, the invoices of held dunning steps), only those: a parent row with no held row
/// under it is erased or unlinked as planned. The person's row stays without the root's
/// `identity_fields` (unless it is held itself).
pub(super) fn hold(map: &DataMap, out: &mut Vec<Step>, held: &[Held]) {
    let held_by = |table: &str| held.iter().find(|(t, _, _)| t == table);
    for st in out.iter_mut().filter(|st| st.action == "delete" || st.action == "detach") {
        let (Some((_, reason, ground)), Some(t)) = (held_by(&st.table), map.table(&st.table)) else { continue };
        // Not the step's own reason to delete ("no ground to keep"): these rows are kept.
        let why = format!("{} stay as they are, linked to the person", rows(t));
        *st = keep(
            step(&st.table, "keep", st.filter.clone(), &format!("{reason}: {why}")),
            &[] as &[&str],
            ground,
            Some(UNTIL_LIFTED.into()),
        );
    }
    // A claim's ground where any held row is a claim's, for the rows kept with them.
    let ground = match held.iter().any(|(_, _, g)| *g == GROUND_RESTRICTED) {
        true => GROUND_RESTRICTED,
        false => GROUND_RESTRICTED_INSTEAD,
    };
    // The parent rows to keep, table by table: those the kept rows below them link to.
    let mut parents: Vec<(String, Vec<String>, String)> = Vec::new();
    for (table, _, _) in held {
        let (Some(path), Some(scope)) = (map.path(table), map.scope(table)) else { continue };
        let mut below = scope.filter;
        for pair in path.windows(2).filter(|pair| !pair[1].root) {
            let (child, parent) = (pair[0], pair[1]);
            let Some(link) = &child.link else { break };
            let kept = format!("{} IN (SELECT {} FROM {} WHERE {below})", parent.key, link.column, child.sql_name());
            let above_root = parent.link.as_ref().and_then(|l| map.table(&l.parent)).is_some_and(|t| t.root);
            let why = match above_root {
                true => format!("the {} record the held data belong to", words(&parent.name)),
                false => format!("{} the held {} belong to", rows(parent), rows(child)),
            };
            match parents.iter_mut().find(|(t, _, _)| *t == parent.name) {
                Some((_, conditions, _)) => conditions.push(kept.clone()),
                None => parents.push((parent.name.clone(), vec![kept.clone()], why)),
            }
            below = kept;
        }
    }
    for (table, conditions, why) in parents {
        let kept = conditions.join(" OR ");
        // Each step that deletes or unlinks the table's rows splits in two: its rows with held
        // rows under them stay as they are, still linked (a step before it), the others go as
        // planned. From the last, so that the positions hold.
        let at: Vec<usize> = (0..out.len())
            .filter(|&i| out[i].table == table && (out[i].action == "delete" || out[i].action == "detach"))
            .collect();
        for i in at.into_iter().rev() {
            let filter = out[i].filter.clone();
            out[i].filter = format!("{filter} AND NOT ({kept})");
            let stays = step(&table, "keep", format!("{filter} AND ({kept})"), &why);
            out.insert(i, keep(stays, &[] as &[&str], ground, Some(UNTIL_LIFTED.into())));
        }
    }
    let Some(root) = map.root() else { return };
    let why = format!("the {} record the held data belong to, without name and address", words(&root.name));
    for st in out.iter_mut().filter(|st| st.table == root.name && st.action == "delete") {
        st.action = "detach".into();
        st.fields = root.erase.identity_fields.clone();
        st.ground = Some(ground.into());
        st.until = Some(UNTIL_LIFTED.into());
        st.why = why.clone();
    }
}

/// Rows a restriction keeps as they are may still name rows the plan erases that no restriction
/// holds (a held payment its payment method, when only invoices are restricted): the database
/// would refuse the delete. Those kept rows lose that reference, and only it, before the delete:
/// their own data stay as they are.
pub(super) fn unlink_kept(conn: &dyn Db, map: &DataMap, out: &mut Vec<Step>) -> anyhow::Result<()> {
    let mut x = 0;
    while x < out.len() {
        let Some(target) = map.table(&out[x].table).filter(|_| out[x].action == "delete") else {
            x += 1;
            continue;
        };
        for (sql_name, column) in map.references_to(conn, &target.name)? {
            let Some(referrer) = map.tables.iter().find(|t| t.sql_name() == sql_name) else { continue };
            let named = format!(
                "{column} IS NOT NULL AND {column} IN (SELECT {} FROM {} WHERE {})",
                target.key,
                target.sql_name(),
                out[x].filter
            );
            let held = |st: &Step| {
                st.table == referrer.name && st.action == "keep" && st.until.as_deref() == Some(UNTIL_LIFTED)
            };
            while let Some(k) = out.iter().position(|st| held(st) && !st.filter.contains(&named)) {
                // The kept step in two: the rows that name erased rows lose that link (before the
                // delete), the others stay as they were.
                let mut unlinked = out[k].clone();
                unlinked.action = "detach".into();
                unlinked.fields = vec![column.clone()];
                unlinked.filter = format!("{} AND {named}", out[k].filter);
                unlinked.why =
                    format!("{}; the {} they name are erased, the link to them goes", out[k].why, rows(target));
                out[k].filter = format!("{} AND NOT ({named})", out[k].filter);
                out.insert(k.min(x), unlinked);
                x += 1;
            }
        }
        x += 1;
    }
    Ok(())
}
