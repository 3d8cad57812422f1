//! The right to erasure (GDPR Art. 17), partial where the law requires keeping something. What
//! is kept comes from the data map's erase kinds (`steps.rs`), each implemented once:
//! - Art. 17(3)(b): fiscal records, and the rows they need, are kept `years` from the end of
//!   their fiscal year (Dutch AWR art. 52), detached from the erased profile;
//! - Art. 17(3)(e): an unpaid claim and its history are kept for the legal claim until settled;
//! - everything else of the person goes, including other people's rows that carry the person's
//!   IP addresses (anonymous log lines).
//!
//! A plan lists per table what is deleted, detached (fields set to NULL) or kept, with the ground
//! and the date until which it is kept. Applying runs in one transaction exactly as planned: the
//! plan's fingerprint (SHA-256 over every row it touches) must still match, else the data changed
//! and the plan is made again. The store runs with secure_delete, and the caller checkpoints the
//! WAL afterwards, so no byte of an erased value remains in the file or its WAL.

use rusqlite::types::ValueRef;

use crate::store::db::{Db, Value};
use crate::vals;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::keys::hex;
use crate::store::personal::DataMap;
use crate::subject::Subject;

mod keeps;
mod own;
pub mod referred;
mod steps;
mod touched;
// The procedures over a request's plan, each owning its transactions.
pub mod carry_out;
pub mod decide;
pub mod due;
pub mod finish;
pub mod others;
pub mod replay;
mod run;
mod same;
pub mod stored;
use keeps::{held_categories, hold, keep_consent};
pub use keeps::{GROUND_CONSENT, GROUND_OWN_RECORD, HOLD_FROM_RETENTION};
pub use run::{apply, changes};
pub use same::same;
use same::FORMAT;
use steps::NO_GROUND;
pub use touched::{touched, touched_by_any, values_to_look_for};

/// The fiscal hold; its years are the data map's (`erase.years`), shown in the plan's "until".
pub const GROUND_TAX: &str = "Art. 17(3)(b) GDPR: legal obligation to keep the administration (Dutch AWR art. 52)";
pub const GROUND_CLAIM: &str = "Art. 17(3)(e) GDPR: needed for a legal claim (unpaid invoice)";
pub const GROUND_CLAIM_TAX: &str = "Art. 17(3)(e) GDPR: needed for a legal claim (unpaid invoice); and Art. 17(3)(b): \
the administration is kept as Dutch AWR art. 52 requires, whichever ends later";
/// The same grounds as plans stored before the hold's years came from the map worded them.
pub const LEGACY_GROUNDS: [(&str, &str); 2] = [
    ("Art. 17(3)(b) GDPR: legal obligation to keep the administration 7 years (Dutch AWR art. 52)", GROUND_TAX),
    (
        "Art. 17(3)(e) GDPR: needed for a legal claim (unpaid invoice); and Art. 17(3)(b): \
the administration is kept 7 years (Dutch AWR art. 52), whichever ends later",
        GROUND_CLAIM_TAX,
    ),
];

/// A stored plan's ground as this version words it.
pub fn current_ground(ground: &str) -> &str {
    LEGACY_GROUNDS.iter().find(|(old, _)| *old == ground).map_or(ground, |(_, new)| new)
}
pub const GROUND_RESTRICTED: &str =
    "Art. 17(3)(e) and 18(1)(c) GDPR: restricted because the person needs these data for a legal claim";
/// Kept by retention's erasure of an ended contract: the person asked restriction instead of
/// erasure of these data (processing unlawful, Art. 18(1)(b)).
pub const GROUND_RESTRICTED_INSTEAD: &str = "Art. 18(1)(b) GDPR: restricted at the person's request instead of erased";
/// The end of a claim: "until settled", or, for an invoice that is also part of the administration,
/// [`UNTIL_SETTLED_NOT_BEFORE`] followed by the end of its fiscal hold.
pub const UNTIL_SETTLED: &str = "until settled";
pub const UNTIL_SETTLED_NOT_BEFORE: &str = "until settled, not before ";
pub const UNTIL_LIFTED: &str = "until the restriction is lifted";
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    pub table: String,
    /// delete, detach (the listed fields become NULL; the row is kept) or keep
    pub action: String,
    pub rows: u64,
    pub fields: Vec<String>,
    pub ground: Option<String>,
    /// Kept until this date; "until settled" for a claim.
    pub until: Option<String>,
    pub why: String,
    #[serde(skip)]
    filter: String,
    /// Rows of no one in particular (anonymous log lines that carry the person's IP addresses):
    /// counted, not fingerprinted. Another erasure over a shared address, retention, or a new
    /// anonymous visit changes them without changing what the officer approved for the person.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    shared: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub created_at: String,
    pub fingerprint: String,
    pub deleted: u64,
    pub kept: u64,
    pub steps: Vec<Step>,
    /// Made by retention for an ended contract of a person with a consent on record.
    #[serde(skip)]
    keeps_consent: bool,
    /// Made by retention for an ended contract: restrictions asked instead of erasure hold too.
    #[serde(skip)]
    retention: bool,
}

impl Plan {
    /// Of the rows kept, those that stay linked to the person: what their legal-claims
    /// restriction holds, and their restriction or objection itself.
    pub fn kept_linked(&self) -> u64 {
        let linked =
            |g: Option<&str>| matches!(g, Some(GROUND_RESTRICTED | GROUND_RESTRICTED_INSTEAD | GROUND_OWN_RECORD));
        self.steps.iter().filter(|s| s.action != "delete" && linked(s.ground.as_deref())).map(|s| s.rows).sum()
    }

    /// How the kept rows stay, for the officer: detached from the profile, or some linked to
    /// the person under their restriction or objection.
    pub fn kept_how(&self) -> String {
        match (self.kept_linked(), self.kept) {
            (0, _) => "detached from the profile".to_owned(),
            (l, k) if l >= k => "linked to the person, under their restriction or objection".to_owned(),
            (l, k) => format!(
                "({l} linked to the person under their restriction or objection, {} detached from the profile)",
                k - l
            ),
        }
    }
}

impl Step {
    /// The same table, action and reason: the same step, perhaps over other rows.
    fn same_kind(&self, other: &Step) -> bool {
        self.table == other.table && self.action == other.action && self.why == other.why
    }
}

fn step(table: &str, action: &str, filter: String, why: &str) -> Step {
    Step {
        table: table.into(),
        action: action.into(),
        rows: 0,
        fields: Vec::new(),
        ground: None,
        until: None,
        why: why.into(),
        filter,
        shared: false,
    }
}

/// The rows of the plan go (in the caller's transaction). First the person goes on the
/// suppression list: their identifiers, and their row of the data map's root when the plan
/// deletes it (not when it keeps it without name and address, under a restriction or for a
/// consent). Then the plan is applied, and what it keeps comes off the list again. Returns the
/// hashes (for the journal) and the rows deleted or detached.
fn erase_rows(
    tx: &dyn Db,
    clock: &crate::clock::Clock,
    keys: &crate::keys::Keys,
    request: Option<&str>,
    s: &Subject,
    plan: &Plan,
) -> anyhow::Result<(Vec<(String, String)>, u64)> {
    use crate::rights::object::{suppress, suppress_record, unsuppress_kept, ERASED};
    let mut hashes = suppress(tx, clock, keys, request, s, ERASED)?;
    let map = DataMap::load(tx)?;
    let deletes = |root: &crate::map::table::Table| {
        plan.steps.iter().any(|st| st.table == root.name && st.action == "delete" && st.rows > 0)
    };
    if map.root().is_some_and(deletes) {
        hashes.extend(suppress_record(tx, clock, keys, request, s)?);
    }
    let done = apply(tx, s, plan)?;
    unsuppress_kept(tx, keys, request, s, &mut hashes)?;
    Ok((hashes, done))
}

fn keep<F: AsRef<str>>(mut s: Step, fields: &[F], ground: &str, until: Option<String>) -> Step {
    s.fields = fields.iter().map(|f| f.as_ref().to_owned()).collect();
    s.ground = Some(ground.into());
    s.until = until;
    s
}

/// The steps for a person, in an order the foreign keys allow: the map's tables children first,
/// then dsr's own records of the person, then the person's row.
fn steps(
    conn: &dyn Db,
    map: &DataMap,
    s: &Subject,
    on: &str,
    (keeps_consent, retention): (bool, bool),
) -> anyhow::Result<Vec<Step>> {
    let mut out = steps::map_steps(conn, map, s, on)?;
    out.extend(own::records(&own::requests_of(conn, map, s)?, retention));
    if let Some(scope) = map.root().and_then(|root| map.scope(&root.name)) {
        out.push(step(&scope.table, "delete", scope.filter, NO_GROUND));
    }
    if keeps_consent {
        keep_consent(map, &mut out);
    }
    let held = held_categories(conn, map, s, retention)?;
    if !held.is_empty() {
        hold(map, &mut out, &held);
        keeps::unlink_kept(conn, map, &mut out)?;
    }
    Ok(out)
}

/// What a plan's fingerprint covers.
#[derive(Clone, Copy, PartialEq)]
enum Covers {
    /// Every row the plan touches: a plan stored now and applied later is checked against it.
    Rows,
    /// Each step and its count: for a plan applied in the transaction that makes it (`erase REQ
    /// --yes` with no plan stored before), where nothing can change between the two.
    Counts,
}

/// Make the plan for a person: counts and a fingerprint of every row it touches.
pub fn plan(conn: &dyn Db, s: &Subject, created_at: &str) -> anyhow::Result<Plan> {
    make_plan(conn, s, created_at, (false, false), Covers::Rows)
}

/// The plan for a person, made in the write transaction that applies it: counts, and a
/// fingerprint of each step and its count (the person's rows are not read for it).
pub fn plan_applied_at_once(conn: &dyn Db, s: &Subject, created_at: &str) -> anyhow::Result<Plan> {
    make_plan(conn, s, created_at, (false, false), Covers::Counts)
}

/// The plan retention makes for an ended contract: what a consent on record still needs stays
/// (`keeps_consent`), and so do the categories the person asked restricted instead of erased.
/// Counted, not fingerprinted: it is applied in the transaction that makes it (or, in a dry
/// run, only counted).
pub fn plan_for_retention(conn: &dyn Db, s: &Subject, created_at: &str, keeps_consent: bool) -> anyhow::Result<Plan> {
    make_plan(conn, s, created_at, (keeps_consent, true), Covers::Counts)
}

fn make_plan(
    conn: &dyn Db,
    s: &Subject,
    created_at: &str,
    (keeps_consent, retention): (bool, bool),
    covers: Covers,
) -> anyhow::Result<Plan> {
    let map = DataMap::load(conn)?;
    let mut steps = steps(conn, &map, s, created_at, (keeps_consent, retention))?;
    let counts = match covers {
        Covers::Counts => Some(count_steps(conn, &map, s, &steps)?),
        Covers::Rows => None,
    };
    let mut hash = Sha256::new();
    for (i, st) in steps.iter_mut().enumerate() {
        let from = map.sql_name(&st.table);
        hash.update(st.table.as_bytes());
        if let Some(counts) = &counts {
            st.rows = counts[i];
            hash.update(st.action.as_bytes());
            if !st.shared && st.table != "request" {
                hash.update(st.rows.to_le_bytes());
            }
            continue;
        }
        // dsr's own request records are counted, not fingerprinted: every request of the person
        // is detached when the erasure runs, and one the person makes after the approval (an
        // access request, answered first) leaves the plan as approved.
        let mut hash = if st.shared || st.table == "request" { None } else { Some(&mut hash) };
        let columns = if st.table == "request" { "id" } else { "*" };
        let sql =
            format!("SELECT {columns} FROM {from} WHERE {} ORDER BY {}", st.filter, map.row_order(conn, &st.table));
        st.rows = match conn.sqlite() {
            Some(sqlite) => {
                let mut stmt = sqlite.prepare_cached(&sql)?;
                let n = stmt.column_count();
                let mut rows = stmt.query([s.person_id])?;
                let mut count = 0;
                while let Some(r) = rows.next()? {
                    count += 1;
                    for i in 0..n {
                        if let Some(hash) = hash.as_deref_mut() {
                            fingerprint(hash, r.get_ref(i)?);
                        }
                    }
                }
                count
            }
            None => {
                // The same columns as SQLite's `SELECT *`: without the `rowid` column that stands
                // in for SQLite's own on PostgreSQL, so a plan made on either store is the same.
                let param = [Value::Integer(s.person_id)];
                let names = conn.column_names(&sql, &param)?;
                let mut count = 0;
                conn.stream(&sql, &param, &mut |r| {
                    count += 1;
                    for (i, _) in names.iter().enumerate().filter(|(_, n)| n.as_str() != "rowid") {
                        if let Some(hash) = hash.as_deref_mut() {
                            fingerprint(hash, ValueRef::from(&r.get::<Value>(i)?));
                        }
                    }
                    Ok(())
                })?;
                count
            }
        };
    }
    // The person's own row (the map's root) is always in the plan, deleted or kept: a person
    // named by other rows whose own row cannot be read is a damaged table (a page SQLite skips
    // without error) or a record removed behind the rows that name it. Erasing what can be read
    // and telling the person it is gone would leave the rest where no one looks.
    if let Some(root) = map.root() {
        let own = steps.iter().filter(|st| st.table == root.name);
        if own.clone().next().is_some() && own.map(|st| st.rows).sum::<u64>() == 0 {
            return Err(Error::Corrupt {
                path: conn.place(),
                detail: format!(
                    "person {} is named by the store's records but has no row in {} that can be read: a damaged page, or a row removed behind the rows that name it; nothing was erased, run `dsr doctor`",
                    s.person_id, root.name
                ),
            }
            .into());
        }
    }
    steps.retain(|s| s.rows > 0);
    let deleted = steps.iter().filter(|s| s.action == "delete").map(|s| s.rows).sum();
    let kept = steps.iter().filter(|s| s.action != "delete" && s.table != "request").map(|s| s.rows).sum();
    Ok(Plan {
        format_version: FORMAT,
        created_at: created_at.into(),
        fingerprint: hex(&hash.finalize()),
        deleted,
        kept,
        steps,
        keeps_consent,
        retention,
    })
}

/// Each step's rows, counted parents first (the steps run children first). A step over the
/// whole of a table's rows of the person that counts none means the person has no rows there;
/// the whole-table steps of its child tables, whose rows reach the person only through it,
/// count none either and are not queried (a person without tickets has no ticket messages).
/// Any other step is counted.
fn count_steps(conn: &dyn Db, map: &DataMap, s: &Subject, steps: &[Step]) -> anyhow::Result<Vec<u64>> {
    let mut counts = vec![0; steps.len()];
    let mut empty: Vec<&str> = Vec::new();
    for (i, st) in steps.iter().enumerate().rev() {
        let whole = map.scope(&st.table).is_some_and(|scope| scope.filter == st.filter);
        let parent = map.table(&st.table).and_then(|t| t.link.as_ref()).map(|l| l.parent.as_str());
        if whole && parent.is_some_and(|p| empty.contains(&p)) {
            empty.push(&st.table);
            continue;
        }
        let sql = format!("SELECT count(*) FROM {} WHERE {}", map.sql_name(&st.table), st.filter);
        let n: i64 = conn.one(&sql, &vals![s.person_id]?, |r| r.get(0))?;
        counts[i] = u64::try_from(n)?;
        if whole && n == 0 {
            empty.push(&st.table);
        }
    }
    Ok(counts)
}

/// One value of a row the plan touches, into its fingerprint.
fn fingerprint(hash: &mut Sha256, v: ValueRef<'_>) {
    match v {
        ValueRef::Null => hash.update(b"\0n"),
        ValueRef::Integer(v) => hash.update(v.to_le_bytes()),
        ValueRef::Real(v) => hash.update(v.to_le_bytes()),
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            hash.update((t.len() as u64).to_le_bytes());
            hash.update(t);
        }
    }
}

/// The register categories a plan erases (Art. 19): those of the tables it deletes rows from.
/// Rows it keeps, whole or detached from the profile, are not erased and concern no recipient.
pub fn categories(register: &crate::register::Register, plan: &Plan) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for st in plan.steps.iter().filter(|st| st.rows > 0 && st.action == "delete") {
        let Some(c) = register.categories.iter().find(|c| c.tables.contains(&st.table)) else {
            continue;
        };
        // With the rows go the categories their columns declare.
        let declared = register.map.table(&st.table).map(|t| t.categories()).unwrap_or_default();
        for code in std::iter::once(c.code.as_str()).chain(declared) {
            if register.category(code).is_some() && !out.iter().any(|x| x == code) {
                out.push(code.to_owned());
            }
        }
    }
    out
}

/// A category an erasure keeps rows of (held or detached), with the ground and end of the hold.
pub struct Kept {
    pub code: String,
    pub name: String,
    pub ground: String,
    pub until: Option<String>,
}

/// The categories of the tables whose rows the plan keeps (held, or detached and held), but
/// for those it erases (`erased`, [`categories`]): what a recipient of them is told to keep.
pub fn kept_categories(register: &crate::register::Register, plan: &Plan, erased: &[String]) -> Vec<Kept> {
    let mut out: Vec<Kept> = Vec::new();
    for st in plan.steps.iter().filter(|st| st.rows > 0 && st.action != "delete") {
        let Some(c) = register.categories.iter().find(|c| c.tables.contains(&st.table)) else { continue };
        if erased.contains(&c.code) || out.iter().any(|k| k.code == c.code) {
            continue;
        }
        let ground = st.ground.clone().unwrap_or_else(|| st.why.clone());
        out.push(Kept { code: c.code.clone(), name: c.name_en.to_lowercase(), ground, until: st.until.clone() });
    }
    out
}

#[cfg(test)]
mod tests;
