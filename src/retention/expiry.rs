//! What expires under a retention rule, and what never does: rows of a person restricted for
//! legal claims, rows of a person waiting for an answer, unpaid claims, fiscal records before
//! their hold ends, and a consent in force. A rule is carried out on its table with what the data
//! map says about that table (the SQL comes from `store::personal`); a rule the map cannot carry
//! out is refused when the register is loaded ([`check`]), naming what is missing.

use chrono::{DateTime, Datelike, Utc};

use crate::clock::Clock;
use crate::map::table::{EraseKind, Table};
use crate::register::RetentionRule;
use crate::store::personal::DataMap;

/// The moments a rule counts from that are a moment of the row itself: the register's words for
/// the person; the engine counts from the table's `retention.counts_from`.
pub const OWN_MOMENT: &[&str] = &["event", "decision-not-hired", "ticket-closed", "last-seen"];

/// What a rule removes.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Expiry {
    /// The rows matching `cond` (with ?1 the cut-off), after the rows hanging from them
    /// (`children`: table and filter, `{ids}` standing for the keys of the batch's rows).
    Rows { cond: String, children: Vec<(String, String)> },
    /// The whole profile of a person whose contract ended: erased with the erasure planner.
    Profile,
}

/// Whether the engine can carry out a rule with the store's data map: a register that has a rule
/// it cannot is refused when it is loaded, rather than reported as "removed 0" every night.
pub fn check(map: &DataMap, rule: &RetentionRule) -> Result<(), String> {
    expiry(map, rule, Utc::now()).map(|_| ())
}

/// What expires under a rule at `now`, or why the map cannot carry it out.
pub(super) fn expiry(map: &DataMap, rule: &RetentionRule, now: DateTime<Utc>) -> Result<Expiry, String> {
    let refuse = |why: String| format!("retention rule {} cannot be carried out: {why}", rule.code);
    let (t, kind) = (rule.table.as_str(), rule.starts_at.as_str());
    let table = map.table(t).ok_or_else(|| refuse(format!("the data map has no table {t} for a {kind} rule")))?;
    if map.path(t).is_none() {
        return Err(refuse(format!("table {t} reaches no person in the data map")));
    }
    if table.root {
        if kind != "contract-end" {
            return Err(refuse(format!("table {t} holds the people themselves: only a contract-end rule (the whole profile) applies to it, not {kind}")));
        }
        map.contract_table().ok_or_else(|| refuse(no_contract_end()))?;
        return Ok(Expiry::Profile);
    }
    let cond = rows(map, table, kind, rule.period_months / 12, now.year()).map_err(refuse)?;
    let children = map.descendants(t);
    if let Some((kept, _)) = children.iter().find(|(d, _)| map.kept_by_law(&d.name)) {
        return Err(refuse(format!(
            "removing rows of table {t} ({kind}) would remove rows of {}, which erasure keeps (erase.kind {}): remove this rule; the rows of {t} go with the person under the profile's contract-end rule (on the root table), whose erasure keeps the rows of {} as the law asks, detached",
            kept.name,
            kind_name(kept.erase.kind),
            kept.name
        )));
    }
    if let Some((records, _)) = children.iter().find(|(d, _)| d.consent_record.is_some()) {
        return Err(refuse(format!(
            "removing rows of table {t} ({kind}) would remove the consent records of table {} hanging from them, a consent in force and its proof with them: link {} to the person (its link.parent the root table), so that only its consent-withdrawn rule removes them",
            records.name, records.name
        )));
    }
    Ok(Expiry::Rows { cond, children: children.into_iter().map(|(d, f)| (d.name.clone(), f)).collect() })
}

/// A rule counts from moments stored as UTC text (`2026-03-01T09:30:00Z`, or a date): a value
/// in another form (`01-12-2026`, a Unix time, a leading space) compares as text before or after
/// every cut-off, so the rule would remove recent rows or keep old ones for ever. Such values in
/// the columns the rule reads (its table's moment and fiscal date, the contracts' end) stop the
/// rule before it removes anything, naming the table, the column and how many.
pub(super) fn times_readable(map: &DataMap, db: &dyn crate::store::db::Db, rule: &RetentionRule) -> anyhow::Result<()> {
    let mut columns: Vec<(&Table, &str)> = Vec::new();
    if let Some(t) = map.table(&rule.table) {
        let r = t.retention.as_ref();
        let own = r.and_then(|r| r.counts_from.as_deref()).into_iter().chain(r.and_then(|r| r.contract_end.as_deref()));
        columns.extend(own.chain(t.erase.date_column.as_deref()).map(|c| (t, c)));
    }
    if rule.starts_at == "contract-end" {
        columns.extend(map.contract_table());
    }
    columns.sort_by(|a, b| (&a.0.name, a.1).cmp(&(&b.0.name, b.1)));
    columns.dedup_by(|a, b| a.0.name == b.0.name && a.1 == b.1);
    for (t, c) in columns {
        let n = crate::doctor::not_utc(db, t, c, true)?;
        if n > 0 {
            anyhow::bail!(
                "table {} column {c} holds {n} value(s) that are not UTC times such as 2026-03-01T09:30:00Z, which the rule cannot count a period from (they would be removed early or kept for ever); the rule removed nothing: correct them (`dsr doctor` lists them; `dsr import --source-tz ZONE` converts them), then run again",
                t.name
            );
        }
    }
    Ok(())
}

/// Whether `rule` removes the rows that record a contract's end while a profile rule counts from
/// them: it runs after the profile rule, and leaves the contracts of a person that rule left for
/// a pending request.
pub(super) fn after_profile(map: &DataMap, rules: &[&RetentionRule], rule: &RetentionRule) -> bool {
    rules.iter().any(|r| map.table(&r.table).is_some_and(|t| t.root))
        && map.contract_table().is_some_and(|(t, _)| t.name == rule.table)
}

/// The condition on the rows of `table` (not the root) that expire under a rule of `kind`.
fn rows(map: &DataMap, table: &Table, kind: &str, years: i64, year: i32) -> Result<String, String> {
    let t = table.name.as_str();
    let fiscal = table.erase.kind == EraseKind::FiscalRecord;
    if fiscal && kind != "fiscal-year-end" {
        return Err(format!("table {t} holds fiscal records (erase.kind fiscal-record): only a fiscal-year-end rule removes them, not {kind}"));
    }
    // A consent in force is never removed, and its proof is kept the consent rule's period after
    // the withdrawal (Art. 7(1)): a rule counted from anything else would remove both.
    if table.consent_record.is_some() && kind != "consent-withdrawn" {
        return Err(format!("table {t} holds consent records (consent_record): only a consent-withdrawn rule removes them, so that a consent in force stays with its proof (Art. 7(1) GDPR), not {kind}"));
    }
    let with_parent = table.retention.as_ref().is_some_and(|r| r.with_parent);
    let mut cond = match (kind, &table.link) {
        // The rows go with the parent they hang from.
        (_, Some(link)) if with_parent => {
            let parent = map.table(&link.parent).ok_or_else(|| format!("table {t}'s parent {} is not in the data map", link.parent))?;
            let of_parent = rows(map, parent, kind, years, year).map_err(|why| format!("table {t} goes with its parent: {why}"))?;
            map.under(t, &of_parent).ok_or_else(|| format!("table {t} has no parent to go with"))?
        }
        (k, _) if OWN_MOMENT.contains(&k) => map
            .counted_before(t)
            .ok_or_else(|| format!("table {t} has no retention.counts_from in the data map, the column a rule starting at {kind} counts from"))?,
        ("fiscal-year-end", _) => match table.erase.kind {
            EraseKind::FiscalRecord | EraseKind::KeptIfReferenced => map
                .fiscal_years_past(t, years, year)
                .ok_or_else(|| format!("table {t} has no erase.date_column (nor retention.counts_from) to read its fiscal year from"))?,
            _ => return Err(format!("table {t} is not a fiscal record (erase.kind fiscal-record or kept-if-referenced, or retention.with_parent), which a fiscal-year-end rule needs")),
        },
        ("consent-withdrawn", _) => map
            .withdrawn_before(t)
            .ok_or_else(|| format!("table {t} has no consent_record in the data map, which a consent-withdrawn rule needs"))?,
        ("contract-end", _) => contract_ended(map, table)?,
        _ => return Err(format!("{kind} is not a moment a rule counts from (table {t})")),
    };
    // What never expires: the history of an open claim (Art. 17(3)(e)), a record a fiscal record
    // refers to, and a row an opt-in in force covers (a relationship of its own).
    if table.erase.kind == EraseKind::ClaimHistory {
        if let Some(open) = map.not_under_claim(t) {
            cond = format!("{cond} AND {open}");
        }
    }
    if table.erase.kind == EraseKind::KeptIfReferenced {
        if let Some(free) = map.not_referenced(t) {
            cond = format!("{cond} AND {free}");
        }
    }
    if let Some(in_force) = map.opt_in_in_force(t) {
        cond = format!("{cond} AND NOT {in_force}");
    }
    Ok(cond)
}

/// The rows of `table` whose person's contract ended before ?1: the contract table's own rows,
/// rows hanging from it (to any depth), or rows linked to the person directly.
fn contract_ended(map: &DataMap, table: &Table) -> Result<String, String> {
    let t = table.name.as_str();
    let (contract, _) = map.contract_table().ok_or_else(no_contract_end)?;
    if contract.name == t {
        return map.contract_ended().ok_or_else(no_contract_end);
    }
    let path = map.path(t).unwrap_or_default();
    if path.iter().any(|p| p.name == contract.name) {
        let parent = path[1];
        return map.under(t, &contract_ended(map, parent)?).ok_or_else(no_contract_end);
    }
    map.person_contract_ended(t).ok_or_else(|| {
        format!(
            "a contract-end rule needs the end of a contract, but table {t} hangs neither from the person directly nor from table {}, which records it",
            contract.name
        )
    })
}

fn no_contract_end() -> String {
    "no table of the data map records the end of a contract (retention.contract_end), which a contract-end rule counts from".into()
}

fn kind_name(kind: EraseKind) -> String {
    serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// The restrictions that keep a person's data beyond its retention period, until lifted: the
/// person needs it for legal claims (Art. 18(1)(c)), or asked for restriction instead of the
/// erasure of unlawfully processed data (Art. 18(1)(b)). Either way the person wants it kept, and
/// only storage is allowed (Art. 18(2)). A contested accuracy or a pending objection does not
/// ask for the data to be kept.
pub(super) const KEEPING: &str = crate::rights::erase::HOLD_FROM_RETENTION;

/// Never touch a person under a restriction that keeps their data ([`KEEPING`]). ?2 is the comma-separated
/// list of categories a sweep reaches: the rule's own and those of the child rows it clears with it
/// (a row takes the rows hanging from it along, so a hold on those keeps their parent too); `*`
/// stands for every category (a whole profile).
pub(super) fn not_held(map: &DataMap, table: &str) -> String {
    format!(
        "coalesce({}, -1) NOT IN (SELECT person_id FROM restriction WHERE {KEEPING}
           AND person_id IS NOT NULL AND (category IS NULL OR ?2 = '*' OR instr(',' || ?2 || ',', ',' || category || ',') > 0))",
        map.person_of(table).unwrap_or_else(|| "NULL".into())
    )
}

/// People with any request still open (in review, awaiting its code, verified): the request
/// decides first, so rules that would end the person's relation leave them.
/// A request the run's start expired (never verified in time) holds nothing: in a dry run, which
/// expires nothing, such a request counts as the real run would find it.
pub(super) fn open_request_people(clock: &Clock) -> String {
    format!(
        "SELECT person_id FROM request WHERE person_id IS NOT NULL
         AND state IN ('needs-review', 'awaiting-verification', 'verified') AND NOT {}",
        crate::request::stale_at(clock)
    )
}

/// People waiting for an answer that shows their data as it was when they asked: an open access,
/// export or rectification request (a verified request stays open until its answer is delivered),
/// or one read from mail that the officer has yet to review (it may be any of them).
pub(super) fn waiting(clock: &Clock) -> String {
    format!(
        "SELECT person_id FROM request WHERE state IN ('needs-review', 'awaiting-verification', 'verified')
         AND kind IN ('access', 'export', 'rectify', 'unclear') AND person_id IS NOT NULL AND NOT {}",
        crate::request::stale_at(clock)
    )
}

/// The rows of `table` frozen by a waiting request: the person's scope (the rows an answer shows)
/// turned around, one small set of keys per statement, looked up per row, no join. Retention
/// keeps the rows for which it is not true (`(...) IS NOT TRUE`).
pub(super) fn frozen(map: &DataMap, table: &str, clock: &Clock) -> Option<String> {
    let scope = map.scope(table)?;
    Some(scope.filter.replace("= ?1", &format!("IN ({})", waiting(clock))))
}

/// What changes when a request starts or stops holding rows back: how many wait, and the
/// newest's opening (one closed and another opened in between still changes the second).
pub(super) const WAITING_NOW: &str =
    "SELECT count(*) || '/' || coalesce(max(created_at), '') FROM request WHERE state IN ('needs-review', 'awaiting-verification', 'verified')
     AND kind IN ('access', 'export', 'rectify', 'unclear') AND person_id IS NOT NULL";

/// Per waiting person, how many rows matching `cond` (with ?1 the cut-off) were held back.
pub(super) fn held_query(map: &DataMap, table: &str, cond: &str, clock: &Clock) -> Option<String> {
    let scope = map.scope(table)?;
    Some(format!(
        "SELECT waiting.person_id, (SELECT count(*) FROM {} WHERE ({cond}) AND ({}) AND ?1 = ?1)
         FROM (SELECT DISTINCT person_id FROM ({}) w) waiting",
        scope.from,
        scope.filter.replace("= ?1", "= waiting.person_id"),
        waiting(clock)
    ))
}

/// The order rules run in: a rule on rows with a moment of their own that hang from rows of another
/// such rule runs before it (deepest first), so each counts its own rows; the whole profile last,
/// but for a rule on the rows that record a contract's end ([`after_profile`]).
pub(super) fn order(map: &DataMap, rules: &[&RetentionRule], rule: &RetentionRule) -> (u8, usize) {
    let own = |r: &RetentionRule| {
        OWN_MOMENT.contains(&r.starts_at.as_str())
            && map.table(&r.table).is_some_and(|t| !t.retention.as_ref().is_some_and(|x| x.with_parent))
    };
    let path: Vec<String> = map.path(&rule.table).unwrap_or_default().iter().map(|t| t.name.clone()).collect();
    let depth = path.len();
    if map.table(&rule.table).is_some_and(|t| t.root) {
        return (9, 0);
    }
    // The rows that record a contract's end go after the profile rule, which counts from them:
    // removed first, they would leave it nothing to count from, and the profile would stay for
    // good. A profile the rule removes takes its contracts with it.
    if after_profile(map, rules, rule) {
        return (10, 0);
    }
    if own(rule) {
        let ruled = |name: &str| rules.iter().any(|r| r.table == name && own(r));
        if path.iter().skip(1).any(|p| ruled(p)) {
            return (0, usize::MAX - depth);
        }
        if map.descendants(&rule.table).iter().any(|(d, _)| ruled(&d.name)) {
            return (1, usize::MAX - depth);
        }
    }
    (5, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(table: &str, starts_at: &str) -> RetentionRule {
        RetentionRule {
            code: "test-rule".into(),
            category: "identity".into(),
            table: table.into(),
            period_months: 84,
            starts_at: starts_at.into(),
            description_en: String::new(),
            description_nl: String::new(),
            set_by: "fixture".into(),
            justification: String::new(),
        }
    }

    fn builtin() -> DataMap {
        DataMap { tables: crate::store::personal::builtin() }
    }

    /// The rows that record a contract's end are removed after the profile rule has counted from
    /// them: removed first, the profile would have stayed for good.
    #[test]
    fn the_rows_recording_a_contracts_end_go_after_the_profile() {
        let map = builtin();
        let (profile, accounts, logs) =
            (rule("person", "contract-end"), rule("customer", "contract-end"), rule("server_log", "event"));
        let all = [&profile, &accounts, &logs];
        assert!(order(&map, &all, &accounts) > order(&map, &all, &profile));
        assert!(order(&map, &all, &logs) < order(&map, &all, &profile));
        // Without a profile rule there is nothing to wait for.
        assert!(order(&map, &[&accounts, &logs], &accounts) < (9, 0));
    }

    #[test]
    fn the_built_in_rules_keep_their_sql() {
        let map = builtin();
        let now = "2031-01-01T00:00:00Z".parse().unwrap();
        let cond = |t: &str, k: &str| match expiry(&map, &rule(t, k), now).unwrap() {
            Expiry::Rows { cond, .. } => cond,
            Expiry::Profile => "profile".into(),
        };
        assert_eq!(cond("person", "contract-end"), "profile");
        assert_eq!(cond("server_log", "event"), "logged_at < ?1");
        assert_eq!(
            cond("dunning_event", "event"),
            "occurred_at < ?1 AND invoice_id NOT IN (SELECT id FROM invoice WHERE status IN ('open', 'overdue', 'collection'))"
        );
        assert_eq!(
            cond("invoice", "fiscal-year-end"),
            "status NOT IN ('open', 'overdue', 'collection') AND CAST(substr(issued_at, 1, 4) AS INTEGER) + 7 < 2031"
        );
        assert_eq!(
            cond("quote", "fiscal-year-end"),
            "CAST(substr(created_at, 1, 4) AS INTEGER) + 7 < 2031 AND id NOT IN (SELECT quote_id FROM invoice WHERE quote_id IS NOT NULL)"
        );
        assert_eq!(
            cond("payment", "fiscal-year-end"),
            "invoice_id IN (SELECT id FROM invoice WHERE status NOT IN ('open', 'overdue', 'collection') AND CAST(substr(issued_at, 1, 4) AS INTEGER) + 7 < 2031)"
        );
        assert_eq!(
            cond("application_document", "decision-not-hired"),
            "application_id IN (SELECT id FROM application WHERE decided_at < ?1 AND status IN ('rejected', 'withdrawn'))"
        );
        assert_eq!(
            cond("company", "contract-end"),
            "customer_id IN (SELECT id FROM customer WHERE ended_at IS NOT NULL AND ended_at < ?1)"
        );
        assert!(cond("email_address", "contract-end").starts_with(
            "person_id IN (SELECT customer.person_id FROM customer WHERE ended_at IS NOT NULL AND ended_at < ?1) AND NOT (email_address.newsletter_opt_in = 1"
        ));
        let Expiry::Rows { children, .. } = expiry(&map, &rule("ticket", "ticket-closed"), now).unwrap() else {
            panic!()
        };
        assert_eq!(
            children,
            [
                (
                    "unsolicited_data".to_owned(),
                    "ticket_message_id IN (SELECT id FROM ticket_message WHERE ticket_id IN {ids})".to_owned()
                ),
                ("ticket_message".to_owned(), "ticket_id IN {ids}".to_owned())
            ]
        );
    }

    #[test]
    fn a_rule_the_map_cannot_carry_out_is_refused_naming_what_is_missing() {
        let map = builtin();
        for (kind, table, missing) in [
            ("event", "customer", "no retention.counts_from"),
            ("last-seen", "invoice", "fiscal records"),
            ("contract-end", "invoice", "fiscal records"),
            ("contract-end", "customer", "would remove rows of"),
            ("event", "nowhere", "no table nowhere"),
            ("fiscal-year-end", "cookie", "not a fiscal record"),
            ("consent-withdrawn", "cookie", "no consent_record"),
            ("contract-end", "ticket_message", "hangs neither from the person directly"),
            ("event", "person", "only a contract-end rule"),
        ] {
            let err = check(&map, &rule(table, kind)).unwrap_err();
            assert!(err.contains("test-rule") && err.contains(table) && err.contains(kind), "{err}");
            assert!(err.contains(missing), "{err}");
        }
    }
}
