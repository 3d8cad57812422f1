//! `dsr doctor` (design §10, docs/doctor.md): the store and the company databases it attaches
//! checked against the data map, for what the rights would get wrong without saying so: an
//! identifier not in the form lookups compare (a person not found), a time not in UTC (a
//! retention period counted wrongly), a row whose link names no row (a row no person reaches,
//! never answered for nor erased), a retention rule that can match nothing, and an identifier
//! of someone erased that is back in the data. Each finding says what to fix. Values are never
//! shown, only tables, columns and counts.

use serde::Serialize;

use crate::map::table::{EraseKind, IdentifierKind, LocalPart, Table};
use crate::register::Register;
use crate::store::db::{Db, Dialect};
use crate::store::personal::DataMap;

mod access;
mod damage;
mod drift;
mod erased;
mod triggers;

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// `damaged`, `schema`, `map`, `identifier`, `time`, `orphan`, `rule`, `erased-back`, `trigger`, `database`, `gone`, `basis`, `register`.
    pub check: &'static str,
    pub table: String,
    /// The column, or null for a finding about a whole table or file.
    pub column: Option<String>,
    pub rows: i64,
    pub what: String,
    pub fix: String,
}

/// A UTC time as dsr stores it (`2026-03-01T09:30:00Z`, fractions allowed), or a date: SQLite
/// GLOB patterns, and the same as PostgreSQL regular expressions.
const UTC_TIME: &str = "[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]*Z";
const DATE: &str = "[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]";
const UTC_TIME_RE: &str = "^[0-9]{4}-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].*Z$";
const DATE_RE: &str = "^[0-9]{4}-[0-1][0-9]-[0-3][0-9]$";

/// What the checks say differently on each backend: a GLOB on SQLite is a regular expression
/// on PostgreSQL. (dsr's Unicode lower case of an address is `dsr_fold` or `dsr_email`,
/// functions dsr gives SQLite; PostgreSQL's `lower` follows the collation and differs from
/// them, so there the addresses are read and folded by dsr itself: [`unfolded`].)
struct Sql(Dialect);

impl Sql {
    /// A column as text, as SQLite's GLOB and comparisons see it: on PostgreSQL a number is
    /// cast, and a column SQLite left untyped (`jsonb` there, each value tagged by its type,
    /// see `store::db`) gives its text, integer or real as text.
    fn text(&self, conn: &dyn Db, t: &Table, column: &str) -> anyhow::Result<String> {
        if self.0 == Dialect::Sqlite {
            return Ok(column.to_owned());
        }
        let ty: Option<String> = conn.first(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = to_regclass(?1) AND attname = ?2",
            &[crate::store::db::text(t.sql_name()), crate::store::db::text(column.to_ascii_lowercase())],
            |r| r.get(0),
        )?;
        Ok(match ty.as_deref() {
            Some("jsonb") => format!("coalesce({column}->>'t', {column}->>'i', {column}->>'r')"),
            Some("text") | None => column.to_owned(),
            Some(_) => format!("CAST({column} AS text)"),
        })
    }
    fn utc_time(&self, c: &str, date_ok: bool) -> String {
        let shape = match (self.0, date_ok) {
            (Dialect::Sqlite, true) => format!("({c} GLOB '{UTC_TIME}' OR {c} GLOB '{DATE}')"),
            (Dialect::Sqlite, false) => format!("{c} GLOB '{UTC_TIME}'"),
            (Dialect::Postgres, true) => format!("({c} ~ '{UTC_TIME_RE}' OR {c} ~ '{DATE_RE}')"),
            (Dialect::Postgres, false) => format!("{c} ~ '{UTC_TIME_RE}'"),
        };
        // The shape first (a CASE keeps that order on PostgreSQL, whose cast of a year that is
        // no number would fail the query), then the calendar: a month and day that exist
        // (2026-02-30 does not), an hour of the day.
        format!("(CASE WHEN {shape} THEN {} ELSE 1 = 0 END)", calendar(c))
    }
}

/// Whether a value shaped as a date or a UTC time names a day the calendar has, and an hour
/// of it: SQL both dialects run.
fn calendar(c: &str) -> String {
    let (m, d) = (format!("substr({c}, 6, 2)"), format!("substr({c}, 9, 2)"));
    let y = format!("CAST(substr({c}, 1, 4) AS INTEGER)");
    format!(
        "({m} BETWEEN '01' AND '12' AND {d} >= '01' AND ({d} <= '28' OR ({d} <= '30' AND {m} <> '02')
          OR ({d} = '31' AND {m} IN ('01', '03', '05', '07', '08', '10', '12'))
          OR ({m} = '02' AND {d} = '29' AND {y} % 4 = 0 AND ({y} % 100 <> 0 OR {y} % 400 = 0)))
          AND (length({c}) = 10 OR substr({c}, 12, 2) <= '23'))"
    )
}

/// Every check; `step` is told each table as it is read (a large store takes a while) and the
/// number of steps.
pub fn run(conn: &dyn Db, mut step: impl FnMut(&str, usize)) -> anyhow::Result<Vec<Finding>> {
    // A damaged file first: what the other checks read of it cannot be trusted.
    let mut damaged = Vec::new();
    damage::check(conn, &mut damaged)?;
    if !damaged.is_empty() {
        return Ok(damaged);
    }
    // One of dsr's own tables gone: the requests, the audit trail and the rest cannot be made
    // again from the data.
    let mut missing = Vec::new();
    for name in crate::map::own_tables() {
        if !crate::store::personal::table_exists(conn, name)? {
            missing.push(Finding {
                check: "schema",
                table: name.clone(),
                column: None,
                rows: 0,
                what: format!("dsr's own table {name} is missing from the store (dropped behind dsr's back); the commands that use it fail"),
                fix: "restore the store from a backup, then `dsr erase --replay` (docs/erase.md) erases again who was erased since".into(),
            });
        }
    }
    if !missing.is_empty() {
        return Ok(missing);
    }
    // A table or column of the map that is gone: the checks below read those columns, so they
    // wait until the store and its map agree again.
    let mut drifted = drift::drift(conn)?;
    if !drifted.is_empty() {
        // The checks that read no column of the map still run; a table the role may not see is
        // said as such, not as gone.
        let mut denied = Vec::new();
        access::writable(conn, &mut denied)?;
        drifted.retain(|d| !denied.iter().any(|f| f.table == d.table));
        drifted.extend(denied);
        unplaced_bases(conn, &mut drifted)?;
        return Ok(drifted);
    }
    let map = DataMap::load(conn)?;
    let steps = map.tables.len() + 2;
    let mut out = Vec::new();
    let erased = erased::Erased::load(conn)?;
    for t in &map.tables {
        step(&t.name, steps);
        identifiers(conn, t, &mut out)?;
        times(conn, t, &mut out)?;
        orphans(conn, &map, t, &erased, &mut out)?;
    }
    step("retention rules", steps);
    rules(conn, &map, &mut out)?;
    step("the suppression list", steps);
    erased.back(conn, &map, &mut out)?;
    triggers::check(conn, &map, &mut out)?;
    access::writable(conn, &mut out)?;
    gone_people(conn, &map, &mut out)?;
    unplaced_bases(conn, &mut out)?;
    Ok(out)
}

/// A legal basis the register does not place among the six of Art. 6(1) (a store made before
/// `kind`, with a basis code of its own): an objection to a purpose resting on it cannot be
/// decided (one to direct marketing is, whatever its basis: it always stops).
fn unplaced_bases(conn: &dyn Db, out: &mut Vec<Finding>) -> anyhow::Result<()> {
    let register = Register::load(conn)?;
    if register.controller.is_none() {
        out.push(Finding {
            check: "register",
            table: "register".into(),
            column: None,
            rows: 0,
            what: "the store has no register yet: no request can be opened or answered".into(),
            fix: "give it one with `dsr register apply FILE` (docs/register-file.md)".into(),
        });
        return Ok(());
    }
    let mut unplaced: Vec<(&str, Vec<&str>)> = Vec::new();
    for p in register.purposes.iter().filter(|p| p.basis.is_none() && !p.direct_marketing) {
        match unplaced.iter_mut().find(|(b, _)| *b == p.legal_basis) {
            Some((_, purposes)) => purposes.push(&p.code),
            None => unplaced.push((&p.legal_basis, vec![&p.code])),
        }
    }
    for (basis, purposes) in unplaced {
        out.push(Finding {
            check: "basis",
            table: "legal_basis".into(),
            column: None,
            rows: purposes.len() as i64,
            what: format!(
                "the legal basis {basis:?} does not say which basis of Art. 6(1) GDPR it is: an objection to {} cannot be decided",
                purposes.join(", ")
            ),
            fix: "give its [[legal_basis]] a kind (docs/register-file.md) in the file `dsr register export` writes, and run `dsr register apply FILE`".into(),
        });
    }
    Ok(())
}

/// When the people are a table of the company's (`root` not dsr's `person`), dsr keeps a bare
/// row per person for its own records ([`DataMap::anchor`]). One whose person the application
/// removed itself still carries their requests, restrictions and objections, and a new person
/// given the same id by the application would inherit them.
fn gone_people(conn: &dyn Db, map: &DataMap, out: &mut Vec<Finding>) -> anyhow::Result<()> {
    let Some(root) = map.root().filter(|r| r.sql_name() != "person") else { return Ok(()) };
    let own = if conn.dialect() == Dialect::Sqlite { "main.person" } else { "person" };
    let n = count(
        conn,
        &format!(
            "SELECT count(*) FROM {own} p WHERE NOT EXISTS (SELECT 1 FROM {} r WHERE r.{} = p.id)",
            root.sql_name(),
            root.key
        ),
    )?;
    if n > 0 {
        out.push(finding(
            "gone",
            &root.name,
            &root.key,
            n,
            "people dsr holds requests, restrictions or objections of are no longer in this table: the application removed them itself, and a new person it gave the same id would inherit those records",
            "remove people through `dsr erase`, and let the application never give an id twice (SQLite: INTEGER PRIMARY KEY AUTOINCREMENT; PostgreSQL: an identity column)",
        ));
    }
    Ok(())
}

fn finding(
    check: &'static str,
    table: &str,
    column: &str,
    rows: i64,
    what: impl Into<String>,
    fix: impl Into<String>,
) -> Finding {
    Finding {
        check,
        table: table.to_owned(),
        column: Some(column.to_owned()),
        rows,
        what: what.into(),
        fix: fix.into(),
    }
}

fn count(conn: &dyn Db, sql: &str) -> anyhow::Result<i64> {
    Ok(conn.first(sql, &[], |r| r.get(0))?.unwrap_or(0))
}

/// Identifier columns hold the form lookups compare: a folded email, an E.164 phone number, a
/// customer number in capitals.
fn identifiers(conn: &dyn Db, t: &Table, out: &mut Vec<Finding>) -> anyhow::Result<()> {
    let sql = Sql(conn.map_dialect());
    for id in &t.identifier {
        let c = &id.column;
        let (bad, form) = match (id.kind, &id.written_in) {
            (IdentifierKind::Email, w) => {
                let rule = id.local_part.unwrap_or_default();
                let form = match w {
                    Some(_) => format!("the address as written, {}", rule.described()),
                    None => rule.described().to_owned(),
                };
                let n = if sql.0 == Dialect::Postgres {
                    let source = sql.text(conn, t, w.as_deref().unwrap_or(c))?;
                    unfolded(conn, t, &sql.text(conn, t, c)?, &source, rule)?
                } else {
                    let (f, source) = (rule.sql_function(), w.as_deref().unwrap_or(c));
                    let bad = format!("{source} IS NOT NULL AND {c} IS NOT {f}({source})");
                    count(conn, &format!("SELECT count(*) FROM {} WHERE {bad}", t.sql_name()))?
                };
                if n > 0 {
                    out.push(not_compared(t, c, n, &form));
                }
                continue;
            }
            (IdentifierKind::Phone, _) => {
                // As lookups and imports write a number (a Dutch one has nine digits after
                // +31, without its trunk 0), not only its shape.
                let n = not_normalised_phones(conn, t, &sql.text(conn, t, c)?)?;
                if n > 0 {
                    out.push(not_compared(t, c, n, "E.164 as dsr writes it (+31612345678)"));
                }
                continue;
            }
            (IdentifierKind::CustomerNumber, _) => {
                let v = sql.text(conn, t, c)?;
                (format!("{c} IS NOT NULL AND {v} <> upper({v})"), "capitals")
            }
            (IdentifierKind::Cookie, _) => continue,
        };
        let n = count(conn, &format!("SELECT count(*) FROM {} WHERE {bad}", t.sql_name()))?;
        if n > 0 {
            out.push(not_compared(t, c, n, form));
        }
    }
    Ok(())
}

fn not_compared(t: &Table, c: &str, n: i64, form: &str) -> Finding {
    finding("identifier", &t.name, c, n, format!("not in the form lookups compare ({form}): these people are not found by it"), format!("load the rows again with `dsr import {} FILE`, which normalises them, or correct the column in the system that writes it", t.name))
}

/// The rows whose phone number (`c`, an SQL expression giving text) is not what
/// [`normalize_phone`](crate::subject::normalize_phone) makes of it.
fn not_normalised_phones(conn: &dyn Db, t: &Table, c: &str) -> anyhow::Result<i64> {
    let mut n = 0;
    let sql = format!("SELECT {c} FROM {} WHERE {c} IS NOT NULL", t.sql_name());
    conn.each(&sql, &[], &mut |r| {
        let number: String = r.get(0)?;
        n += i64::from(crate::subject::normalize_phone(&number).ok().as_deref() != Some(number.as_str()));
        Ok(())
    })?;
    Ok(n)
}

/// The rows whose address `c` is not the form the rule gives of `source` (the address as
/// written, or `c` itself), made here as everywhere else in dsr; both are SQL expressions giving text.
fn unfolded(conn: &dyn Db, t: &Table, c: &str, source: &str, rule: LocalPart) -> anyhow::Result<i64> {
    let mut n = 0;
    let sql = format!("SELECT {c}, {source} FROM {} WHERE {source} IS NOT NULL", t.sql_name());
    conn.each(&sql, &[], &mut |r| {
        let (column, written): (Option<String>, String) = (r.get(0)?, r.get(1)?);
        let form = rule.of_written(&written);
        n += i64::from(column.as_deref() != Some(form.as_str()));
        Ok(())
    })?;
    Ok(n)
}

/// Columns holding moments are UTC text: the import's times, the retention moment, the fiscal date.
fn times(conn: &dyn Db, t: &Table, out: &mut Vec<Finding>) -> anyhow::Result<()> {
    let mut columns: Vec<(&String, bool)> = t.import.times.iter().map(|c| (c, false)).collect();
    columns.extend(t.import.updated.iter().map(|c| (c, false)));
    columns.extend(t.import.dates.iter().map(|c| (c, true)));
    if let Some(r) = &t.retention {
        // A retention moment may be a date or a time.
        columns.extend(r.counts_from.iter().chain(&r.contract_end).map(|c| (c, true)));
    }
    columns.sort();
    columns.dedup_by(|a, b| a.0 == b.0);
    for (c, date_ok) in columns {
        let n = not_utc(conn, t, c, date_ok)?;
        if n == 0 {
            continue;
        }
        // A column of dates is asked for dates; one that may hold either, for either.
        let (what, fix) = match (t.import.dates.contains(c), date_ok) {
            (true, _) => (
                "not a date such as 2026-03-01: periods counted from it come out wrong",
                format!("write them as YYYY-MM-DD, or load the rows again with `dsr import {} FILE`, which does", t.name),
            ),
            (false, true) => (
                "neither a UTC time such as 2026-03-01T09:30:00Z nor a date such as 2026-03-01: periods counted from it come out wrong",
                format!("load the rows again with `dsr import {} FILE --source-tz ZONE`, which converts times to UTC and writes dates as YYYY-MM-DD", t.name),
            ),
            (false, false) => (
                "not a UTC time such as 2026-03-01T09:30:00Z: periods counted from it come out wrong",
                format!("load the rows again with `dsr import {} FILE --source-tz ZONE`, which converts them to UTC", t.name),
            ),
        };
        out.push(finding("time", &t.name, c, n, what, fix));
    }
    Ok(())
}

/// How many rows of `t` hold in column `c` a value that is not a UTC time (nor, with `date_ok`,
/// a date): periods counted from such a value come out wrong (text compares character by
/// character: `01-12-2026` is before any year).
pub fn not_utc(conn: &dyn Db, t: &Table, c: &str, date_ok: bool) -> anyhow::Result<i64> {
    let sql = Sql(conn.map_dialect());
    let good = sql.utc_time(&sql.text(conn, t, c)?, date_ok);
    count(conn, &format!("SELECT count(*) FROM {} WHERE {c} IS NOT NULL AND NOT {good}", t.sql_name()))
}

/// Rows whose link names a row the parent table does not have reach no one: no answer shows
/// them, no erasure removes them. A NULL link is only expected where rows may be anonymous or
/// are kept detached.
fn orphans(
    conn: &dyn Db,
    map: &DataMap,
    t: &Table,
    erased: &erased::Erased,
    out: &mut Vec<Finding>,
) -> anyhow::Result<()> {
    let (Some(link), false) = (&t.link, t.root) else { return Ok(()) };
    let Some(parent) = map.table(&link.parent) else { return Ok(()) };
    let column = &link.column;
    let mut dangling = count(
        conn,
        &format!(
            "SELECT count(*) FROM {} WHERE {column} IS NOT NULL AND {column} NOT IN (SELECT {} FROM {})",
            t.sql_name(),
            parent.key,
            parent.sql_name()
        ),
    )?;
    if dangling > 0 {
        dangling -= erased.linked(conn, map, t, out)?;
    }
    if dangling > 0 {
        out.push(finding("orphan", &t.name, column, dangling, format!("the link names no row of {}: no person is reached, so no answer shows these rows and no erasure removes them", parent.name), format!("find the {} rows they belonged to, or delete them if they are no one's", parent.name)));
    }
    let detached = t.other_people.as_ref().is_some_and(|o| o.kind == crate::map::table::OtherPeopleKind::AnonymousByIp)
        || t.erase.detach.iter().any(|d| d == column)
        || matches!(t.erase.kind, EraseKind::FiscalRecord | EraseKind::KeptIfReferenced | EraseKind::ClaimHistory);
    if !detached {
        let unlinked = count(conn, &format!("SELECT count(*) FROM {} WHERE {column} IS NULL", t.sql_name()))?;
        if unlinked > 0 {
            out.push(finding(
                "orphan",
                &t.name,
                column,
                unlinked,
                "no link: these rows reach no person, and the map keeps no rows of this table detached",
                format!("set {column} to the row of {} they belong to, or delete them", parent.name),
            ));
        }
    }
    Ok(())
}

/// A retention rule on a table with rows of which none has the moment it counts from never
/// removes anything.
fn rules(conn: &dyn Db, map: &DataMap, out: &mut Vec<Finding>) -> anyhow::Result<()> {
    for rule in &Register::load(conn)?.retention {
        let Some(t) = map.table(&rule.table) else { continue };
        let Some(moment) = t.retention.as_ref().and_then(|r| r.counts_from.as_ref().or(r.contract_end.as_ref())) else {
            continue;
        };
        if rule.starts_at != "event" && rule.starts_at != "last-seen" {
            continue;
        }
        let (rows, with): (i64, i64) = conn
            .first(&format!("SELECT count(*), count({moment}) FROM {}", t.sql_name()), &[], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .unwrap_or((0, 0));
        if rows > 0 && with == 0 {
            out.push(finding(
                "rule",
                &t.name,
                moment,
                rows,
                format!("retention rule {} counts from {moment}, which no row has: it never removes anything", rule.code),
                format!("fill {moment} in the rows (the moment the period starts), or point the rule's table at the column that has it"),
            ));
        }
    }
    Ok(())
}
