//! The steps of a plan for the tables of the data map, children before parents so that the
//! foreign keys allow each delete and each filter still reaches the person through the rows
//! above it. What a step does comes from the table's `[table.erase]` kind; its texts name the
//! rows by the map's `rows_called`.

use crate::store::db::Db;

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

/// "the erased billing account is unlinked" for the fields a kept row loses.
pub(super) fn unlinked(fields: &[String]) -> String {
    let names: Vec<String> = fields.iter().map(|f| words(f)).collect();
    format!("the erased {} {} unlinked", names.join(" and "), if names.len() == 1 { "is" } else { "are" })
}

/// The steps for the map's tables other than the root, in the order they run.
pub(super) fn map_steps(conn: &dyn Db, map: &DataMap, s: &Subject, on: &str) -> anyhow::Result<Vec<Step>> {
    let mut out = Vec::new();
    // Anonymous rows first, while the tables with the person's IP addresses still hold them.
    for t in &map.tables {
        if let Some(filter) = map.anonymous_by_ip(&t.name) {
            let mut anonymous =
                step(&t.name, "delete", filter, &format!("anonymous {} that carry the person's IP addresses", rows(t)));
            anonymous.shared = true;
            out.push(anonymous);
        }
    }
    let mut fiscal = Vec::new();
    for t in map.tables.iter().filter(|t| t.erase.kind == EraseKind::FiscalRecord) {
        fiscal.extend(Fiscal::read(conn, map, t, s, on)?);
    }
    let fiscal_end = |t: &Table| fiscal.iter().find(|f| f.table.name == t.name).and_then(Fiscal::latest_end);
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
            EraseKind::FiscalRecord => {
                if let Some(f) = fiscal.iter().find(|f| f.table.name == t.name) {
                    f.steps(&mut out);
                }
            }
            EraseKind::KeptWithParent => {
                let Some(p) = parent else { continue };
                let why = match t.erase.detach.is_empty() {
                    true => format!("{} the {} need", rows(t), rows(p)),
                    false => format!("{} the {} need; {}", rows(t), rows(p), unlinked(&t.erase.detach)),
                };
                let until = fiscal_end(p);
                // Those of parent rows whose hold has ended go with them.
                let ended = fiscal.iter().find(|f| f.table.name == p.name).and_then(Fiscal::ended_filter);
                let filter = match (ended, &t.link) {
                    (Some(ended), Some(link)) => {
                        let under =
                            format!("{} IN (SELECT {} FROM {} WHERE {ended})", link.column, p.key, p.sql_name());
                        let why = format!("{} of {} whose fiscal hold has ended", rows(t), rows(p));
                        out.push(step(&t.name, "delete", format!("{} AND {under}", scope.filter), &why));
                        format!("{} AND NOT ({under})", scope.filter)
                    }
                    _ => scope.filter,
                };
                // Under a fiscal parent none of whose years is held any more, what stays is under
                // its unpaid rows: kept for the claim.
                let (ground, until) = match (until, fiscal.iter().any(|f| f.table.name == p.name)) {
                    (None, true) => (GROUND_CLAIM, Some(UNTIL_SETTLED.to_owned())),
                    (until, _) => (GROUND_TAX, until),
                };
                out.push(keep(step(&t.name, "detach", filter, &why), &t.erase.detach, ground, until));
            }
            EraseKind::KeptIfReferenced => {
                let Some(by) = &t.erase.referenced_by else { continue };
                let Some(referrer) = map.table(&by.table) else { continue };
                let (Some(mut kept), Some(mut gone)) =
                    (map.scope_referenced(&t.name, by, true), map.scope_referenced(&t.name, by, false))
                else {
                    continue;
                };
                // The referring rows this plan deletes (a year whose hold has ended) keep nothing.
                if let Some(ended) =
                    fiscal.iter().find(|f| f.table.name == referrer.name).and_then(Fiscal::ended_filter)
                {
                    let live = format!(
                        "SELECT {c} FROM {} WHERE {c} IS NOT NULL AND ({ended}) IS NOT TRUE",
                        referrer.sql_name(),
                        c = by.column
                    );
                    kept = format!("{} AND {} IN ({live})", scope.filter, t.key);
                    gone = format!("{} AND {} NOT IN ({live})", scope.filter, t.key);
                }
                let until = fiscal_end(referrer);
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
    // A kept row with no field to clear is kept as it is.
    for st in out.iter_mut().filter(|st| st.action == "detach" && st.fields.is_empty()) {
        st.action = "keep".into();
    }
    Ok(out)
}

/// A fiscal-record table's rows of the person by fiscal year: the filters of its open claims
/// (with a `claim`) and of its other rows, and the years each has rows in.
struct Fiscal<'m> {
    table: &'m Table,
    open: Option<(String, Vec<String>)>,
    settled: (String, Vec<String>),
    /// The day the plan is made (`YYYY-MM-DD`): a year whose hold ended before it keeps nothing.
    today: String,
}

impl<'m> Fiscal<'m> {
    /// Read once per plan: the years decide the steps and the end of what the records need.
    fn read(conn: &dyn Db, map: &DataMap, t: &'m Table, s: &Subject, on: &str) -> anyhow::Result<Option<Fiscal<'m>>> {
        let years = |filter: String| -> anyhow::Result<(String, Vec<String>)> {
            let y = map.fiscal_years(conn, &t.name, &filter, s.person_id)?;
            Ok((filter, y))
        };
        let (open, settled) = match (&t.erase.claim, map.scope(&t.name)) {
            (_, None) => return Ok(None),
            (None, Some(scope)) => (None, scope.filter),
            (Some(claim), Some(_)) => (
                map.scope_where(&t.name, claim, true).map(&years).transpose()?,
                map.scope_where(&t.name, claim, false).unwrap_or_default(),
            ),
        };
        let today = on.get(..10).unwrap_or(on).to_owned();
        Ok(Some(Fiscal { table: t, open, settled: years(settled)?, today }))
    }

    /// Whether the hold of a fiscal year has ended (31 December plus the years kept, before today).
    fn ended(&self, year: &str) -> bool {
        self.end(year) < self.today
    }

    /// The person's settled rows of the years whose hold has ended, as a filter (none without).
    fn ended_filter(&self) -> Option<String> {
        let date = self.table.erase.date_column.as_deref()?;
        let (filter, years) = &self.settled;
        let ended: Vec<String> = years.iter().filter(|y| self.ended(y)).map(|y| in_year(date, y)).collect();
        (!ended.is_empty()).then(|| format!("{filter} AND ({})", ended.join(" OR ")))
    }

    /// 31 December of a fiscal year plus the years kept.
    fn end(&self, year: &str) -> String {
        format!("{}-12-31", year.parse::<i64>().unwrap_or(0) + self.table.erase.years.unwrap_or(0))
    }

    /// The end of the hold of the person's latest record (none without records).
    fn latest_end(&self) -> Option<String> {
        let open = self.open.iter().flat_map(|(_, y)| y);
        open.chain(&self.settled.1).filter(|y| !self.ended(y)).max().map(|y| self.end(y))
    }

    /// Art. 17(3)(b), and (e) for unpaid rows: per fiscal year, detached, kept `years` after the
    /// end of that year; an unpaid row until settled, not before then.
    fn steps(&self, out: &mut Vec<Step>) {
        let t = self.table;
        let Some(date) = &t.erase.date_column else { return };
        if let Some((filter, years)) = &self.open {
            for y in years {
                let why =
                    format!("unpaid {} of fiscal year {y}: kept for the claim, unlinked from the profile", rows(t));
                // The claim outlives the fiscal hold: kept for it alone once that has ended.
                let (ground, until) = match self.ended(y) {
                    true => (GROUND_CLAIM, UNTIL_SETTLED.to_owned()),
                    false => (GROUND_CLAIM_TAX, format!("{UNTIL_SETTLED_NOT_BEFORE}{}", self.end(y))),
                };
                out.push(keep(
                    step(&t.name, "detach", format!("{filter} AND {}", in_year(date, y)), &why),
                    &t.erase.detach,
                    ground,
                    Some(until),
                ));
            }
        }
        if let Some(ended) = self.ended_filter() {
            let why = format!("{} whose fiscal hold has ended", rows(t));
            out.push(step(&t.name, "delete", ended, &why));
        }
        let (filter, years) = &self.settled;
        for y in years.iter().filter(|y| !self.ended(y)) {
            out.push(keep(
                step(
                    &t.name,
                    "detach",
                    format!("{filter} AND {}", in_year(date, y)),
                    &format!("{} of fiscal year {y}, unlinked from the profile", rows(t)),
                ),
                &t.erase.detach,
                GROUND_TAX,
                Some(self.end(y)),
            ));
        }
    }
}
