//! The steps of a plan for the tables of the data map, children before parents so that the
//! foreign keys allow each delete and each filter still reaches the person through the rows
//! above it. What a step does comes from the table's `[table.erase]` kind; its texts name the
//! rows by the map's `rows_called`.

use rusqlite::Connection;

use super::{keep, step, Step, GROUND_CLAIM, GROUND_CLAIM_TAX, GROUND_TAX, UNTIL_SETTLED, UNTIL_SETTLED_NOT_BEFORE};
use crate::map::table::{EraseKind, Table};
use crate::store::personal::{in_year, DataMap};
use crate::subject::Subject;

pub(super) const NO_GROUND: &str = "no ground to keep";

/// What a table's rows are called in a plan, in the plural.
pub(super) fn rows(t: &Table) -> String {
    t.rows_called.clone().unwrap_or_else(|| format!("{} rows", words(&t.name)))
}

/// A name as words: `billing_account_id` → "billing account".
pub(super) fn words(name: &str) -> String {
    name.strip_suffix("_id").unwrap_or(name).replace('_', " ")
}

/// "the erased payment method is unlinked" for the fields a kept row loses.
pub(super) fn unlinked(fields: &[String]) -> String {
    let names: Vec<String> = fields.iter().map(|f| words(f)).collect();
    format!("the erased {} {} unlinked", names.join(" and "), if names.len() == 1 { "is" } else { "are" })
}

/// The steps for the map's tables other than the root, in the order they run.
pub(super) fn map_steps(conn: &Connection, map: &DataMap, s: &Subject) -> rusqlite::Result<Vec<Step>> {
    let mut out = Vec::new();
    // Anonymous rows first, while the tables with the person's IP addresses still hold them.
    for t in &map.tables {
        if let Some(filter) = map.anonymous_by_ip(&t.name) {
            out.push(step(
                &t.name,
                "delete",
                filter,
                &format!("anonymous {} that carry the person's IP addresses", rows(t)),
            ));
        }
    }
    for t in map.parents_first().into_iter().rev().filter(|t| !t.root) {
        let Some(scope) = map.scope(&t.name) else { continue };
        let parent = t.link.as_ref().and_then(|l| map.table(&l.parent));
        match t.erase.kind {
            EraseKind::Delete => {
                let why = match (&t.other_people, parent) {
                    (Some(_), Some(p)) => format!("{} of the person's own {}", rows(t), rows(p)),
                    _ => NO_GROUND.into(),
                };
                out.push(step(&t.name, "delete", scope.filter, &why));
            }
            EraseKind::Detach => {
                let why = format!("{} stay; {}", rows(t), unlinked(&t.erase.detach));
                let mut st = step(&t.name, "detach", scope.filter, &why);
                st.fields = t.erase.detach.clone();
                out.push(st);
            }
            EraseKind::FiscalRecord => fiscal_record(conn, map, t, s, scope.filter, &mut out)?,
            EraseKind::KeptWithParent => {
                let Some(p) = parent else { continue };
                let why = match t.erase.detach.is_empty() {
                    true => format!("{} the {} need", rows(t), rows(p)),
                    false => format!("{} the {} need; {}", rows(t), rows(p), unlinked(&t.erase.detach)),
                };
                let until = fiscal_end(conn, map, p, s)?;
                out.push(keep(step(&t.name, "detach", scope.filter, &why), &t.erase.detach, GROUND_TAX, until));
            }
            EraseKind::KeptIfReferenced => {
                let Some(by) = &t.erase.referenced_by else { continue };
                let Some(referrer) = map.table(&by.table) else { continue };
                let (Some(kept), Some(gone)) =
                    (map.scope_referenced(&t.name, by, true), map.scope_referenced(&t.name, by, false))
                else {
                    continue;
                };
                let until = fiscal_end(conn, map, referrer, s)?;
                let why = format!("{} that kept {} refer to", rows(t), rows(referrer));
                out.push(keep(step(&t.name, "detach", kept, &why), &t.erase.detach, GROUND_TAX, until));
                out.push(step(&t.name, "delete", gone, &format!("{} no {} needs", rows(t), words(&referrer.name))));
            }
            EraseKind::ClaimHistory => {
                let claim = parent.and_then(|p| Some((p, p.erase.claim.as_ref()?)));
                let filters = claim.and_then(|(p, c)| {
                    Some((p, map.under_parents_where(&t.name, c, false)?, map.under_parents_where(&t.name, c, true)?))
                });
                let Some((p, settled, open)) = filters else {
                    out.push(step(&t.name, "delete", scope.filter, NO_GROUND));
                    continue;
                };
                out.push(step(&t.name, "delete", settled, &format!("{} of settled {}", rows(t), rows(p))));
                let why = match t.erase.detach.is_empty() {
                    true => "the history of an open debt",
                    false => "the history of an open debt, without free-text notes",
                };
                out.push(keep(
                    step(&t.name, "detach", open, why),
                    &t.erase.detach,
                    GROUND_CLAIM,
                    Some(UNTIL_SETTLED.into()),
                ));
            }
        }
    }
    Ok(out)
}

/// Art. 17(3)(b), and (e) for unpaid rows: per fiscal year, detached, kept `years` after the end
/// of that year; an unpaid row until settled, not before then.
fn fiscal_record(
    conn: &Connection,
    map: &DataMap,
    t: &Table,
    s: &Subject,
    scope: String,
    out: &mut Vec<Step>,
) -> rusqlite::Result<()> {
    let Some(date) = &t.erase.date_column else { return Ok(()) };
    let end = |y: &str| format!("{}-12-31", y.parse::<i64>().unwrap_or(0) + t.erase.years.unwrap_or(0));
    let settled = match &t.erase.claim {
        Some(claim) => {
            let open = map.scope_where(&t.name, claim, true).unwrap_or_default();
            for y in map.fiscal_years(conn, &t.name, &open, s.person_id)? {
                out.push(keep(
                    step(
                        &t.name,
                        "detach",
                        format!("{open} AND {}", in_year(date, &y)),
                        &format!(
                            "unpaid {} of fiscal year {y}: kept for the claim, unlinked from the profile",
                            rows(t)
                        ),
                    ),
                    &t.erase.detach,
                    GROUND_CLAIM_TAX,
                    Some(format!("{UNTIL_SETTLED_NOT_BEFORE}{}", end(&y))),
                ));
            }
            map.scope_where(&t.name, claim, false).unwrap_or_default()
        }
        None => scope,
    };
    for y in map.fiscal_years(conn, &t.name, &settled, s.person_id)? {
        out.push(keep(
            step(
                &t.name,
                "detach",
                format!("{settled} AND {}", in_year(date, &y)),
                &format!("{} of fiscal year {y}, unlinked from the profile", rows(t)),
            ),
            &t.erase.detach,
            GROUND_TAX,
            Some(end(&y)),
        ));
    }
    Ok(())
}

/// The end of the fiscal hold of a person's latest fiscal record in a table (none when the table
/// is not one, or the person has no record there).
fn fiscal_end(conn: &Connection, map: &DataMap, t: &Table, s: &Subject) -> rusqlite::Result<Option<String>> {
    if t.erase.kind != EraseKind::FiscalRecord {
        return Ok(None);
    }
    let Some(scope) = map.scope(&t.name) else { return Ok(None) };
    let latest = map.fiscal_years(conn, &t.name, &scope.filter, s.person_id)?.pop();
    Ok(latest.and_then(|y| y.parse::<i64>().ok()).map(|y| format!("{}-12-31", y + t.erase.years.unwrap_or(0))))
}
