//! `dsr register apply FILE`: a store in use gets the register of a company file. The register
//! tables are emptied and loaded from the file (`load::load`, with its checks) in one
//! transaction, so that `register export` afterwards gives the file; foreign keys are deferred
//! to the commit, where they must hold again. A removal that data in use still names (a
//! purpose a consent is for, a recipient a payment method goes to, a category a disclosure or
//! an open request names, a table with rows that no category would hold) is refused, one
//! problem each. The change and its `register-applied` audit entry commit together.

use std::collections::BTreeSet;

use serde_json::json;

use super::diff::{self, Diff};
use super::{export, load, CompanyFile, Problem};
use crate::clock::Clock;
use crate::error::Error;
use crate::store::db::{text, Conn, Db, Dialect};
use crate::store::personal::table_exists;

/// The tables the register is kept in (what `load` fills), the referring ones first.
const REGISTER_TABLES: &[&str] = &[
    "map_system",
    "map_option",
    "map_database",
    "map_table",
    "automated_decision_step",
    "automated_decision",
    "retention_rule",
    "recipient_category",
    "recipient",
    "category_purpose",
    "category_table",
    "category",
    "purpose",
    "legal_basis",
    "data_right",
    "controller",
];

/// The register before and after, and the difference between them.
#[derive(Debug)]
pub struct Outcome {
    pub before: Option<CompanyFile>,
    pub after: CompanyFile,
    pub diff: Diff,
}

/// What the file would change, worked out in a transaction that is rolled back: the store is
/// left as it was. `Err` holds the problems that refuse the file.
pub fn trial(conn: &dyn Conn, file: &CompanyFile) -> anyhow::Result<Result<Outcome, Vec<Problem>>> {
    let tx = conn.begin()?;
    let outcome = replace(&*tx, file)?;
    // Dropped uncommitted: rolled back.
    drop(tx);
    Ok(outcome)
}

/// Apply the file, as `shown` to the officer: refused (nothing changed) when the store's
/// register changed in between. Audited as `register-applied` with the file's SHA-256 and the
/// counts; no difference writes nothing.
pub fn apply(
    conn: &dyn Conn,
    clock: &Clock,
    file: &CompanyFile,
    sha256: &str,
    shown: &Diff,
) -> anyhow::Result<Result<Outcome, Vec<Problem>>> {
    let tx = conn.begin()?;
    let outcome = match replace(&*tx, file)? {
        Ok(o) => o,
        Err(problems) => return Ok(Err(problems)),
    };
    if outcome.diff != *shown {
        return Err(Error::RequestState(
            "the register changed since the difference was shown; nothing was applied: run the command again".into(),
        )
        .into());
    }
    if outcome.diff.is_empty() {
        return Ok(Ok(outcome));
    }
    crate::audit::append(
        &*tx,
        clock,
        None,
        None,
        "register-applied",
        json!({
            "file_sha256": sha256,
            "added": outcome.diff.added,
            "removed": outcome.diff.removed,
            "changed": outcome.diff.changed,
        }),
    )?;
    tx.commit()?;
    Ok(Ok(outcome))
}

/// Empty the register tables and load `file` into them, inside `tx`.
fn replace(tx: &dyn Db, file: &CompanyFile) -> anyhow::Result<Result<Outcome, Vec<Problem>>> {
    if tx.dialect() == Dialect::Postgres {
        let mut problems = super::check_postgres::beside(file);
        problems.extend(super::check_postgres::check(file));
        if !problems.is_empty() {
            return Ok(Err(problems));
        }
    }
    // Rows outside the register name its codes; they must hold again by the commit, not at each
    // delete (PostgreSQL's foreign keys of a store are deferrable for this).
    match tx.dialect() {
        Dialect::Sqlite => tx.run("PRAGMA defer_foreign_keys = ON", &[])?,
        Dialect::Postgres => tx.run("SET CONSTRAINTS ALL DEFERRED", &[])?,
    };
    // A data map that no longer reads (changed outside dsr) is replaced whole: the difference is
    // shown against no register, and the file must still pass every check before it is loaded.
    let before = match export::export(tx) {
        Err(e)
            if e.downcast_ref::<rusqlite::Error>().and_then(rusqlite::Error::sqlite_error_code)
                == Some(rusqlite::ErrorCode::DatabaseCorrupt) =>
        {
            None
        }
        read => read?,
    };
    let references = references(tx)?;
    let mut held = Vec::new();
    for r in &references {
        held.push(keys(tx, &r.parent, &r.key)?);
    }
    for table in REGISTER_TABLES {
        tx.run(&format!("DELETE FROM {}", ident(table)), &[])?;
    }
    let problems = load::load(tx, file)?;
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    let mut problems = Vec::new();
    for (r, before) in references.iter().zip(held) {
        let after = keys(tx, &r.parent, &r.key)?;
        for code in before.difference(&after) {
            let rows: i64 = tx.one(
                &format!("SELECT count(*) FROM {} WHERE {} = ?1", ident(&r.child), ident(&r.column)),
                &[text(code)],
                |row| row.get(0),
            )?;
            if rows > 0 {
                problems.push(in_use(&r.parent, code, rows, &format!("{}.{}", r.child, r.column)));
            }
        }
    }
    if let Some(before) = &before {
        still_named(tx, before, file, &mut problems)?;
        problems.extend(local_part_changed(before, file));
    }
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    let after = export::export(tx)?.expect("a register was just loaded");
    let diff = diff::diff(before.as_ref(), &after);
    Ok(Ok(Outcome { before, after, diff }))
}

/// A foreign key from a table outside the register to a register table.
struct Reference {
    child: String,
    column: String,
    parent: String,
    key: String,
}

/// Every foreign key into the register from the rest of the store, read from the schema, so
/// that a table added later is covered without being named here.
fn references(conn: &dyn Db) -> anyhow::Result<Vec<Reference>> {
    Ok(crate::store::personal::references(conn)?
        .into_iter()
        .map(|(child, column, parent, key)| Reference { child, column, parent, key })
        .filter(|r| REGISTER_TABLES.contains(&r.parent.as_str()) && !REGISTER_TABLES.contains(&r.child.as_str()))
        .collect())
}

fn keys(conn: &dyn Db, table: &str, column: &str) -> anyhow::Result<BTreeSet<String>> {
    Ok(conn
        .all(&format!("SELECT DISTINCT {} FROM {}", ident(column), ident(table)), &[], |r| r.get(0))?
        .into_iter()
        .collect())
}

/// A name from the schema or the register as an SQL identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The section of the file a register table is written in.
fn section(table: &str) -> &str {
    match table {
        "retention_rule" => "retention",
        "category_table" | "category_purpose" => "category",
        "data_right" => "right",
        "automated_decision_step" => "automated_decision",
        t => t,
    }
}

fn in_use(table: &str, code: &str, rows: i64, by: &str) -> Problem {
    Problem {
        line: None,
        key: format!("{} {code:?}", section(table)),
        what: format!(
            "cannot be removed: {rows} row{} of {by} name{} it",
            plural(rows),
            if rows == 1 { "s" } else { "" }
        ),
    }
}

fn plural(n: i64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// References that are not foreign keys: the categories a disclosure lists, the purpose or
/// categories an open request names, and the tables whose rows a category describes.
fn still_named(
    tx: &dyn Db,
    before: &CompanyFile,
    after: &CompanyFile,
    problems: &mut Vec<Problem>,
) -> anyhow::Result<()> {
    let gone = |old: Vec<&str>, new: Vec<&str>| -> Vec<String> {
        old.into_iter().filter(|c| !new.contains(c)).map(str::to_owned).collect()
    };
    let categories = gone(
        before.category.iter().map(|c| c.code.as_str()).collect(),
        after.category.iter().map(|c| c.code.as_str()).collect(),
    );
    let purposes = gone(
        before.purpose.iter().map(|p| p.code.as_str()).collect(),
        after.purpose.iter().map(|p| p.code.as_str()).collect(),
    );
    let open = crate::request::OPEN_STATES.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ");
    // Rows that list the categories a recipient was given (a disclosure) still name them.
    let map = crate::store::personal::DataMap::load(tx)?;
    for code in &categories {
        for (column, rows) in map.rows_naming_category(tx, code)? {
            problems.push(in_use("category", code, rows, &column));
        }
        let named = match tx.dialect() {
            Dialect::Sqlite => {
                "EXISTS (SELECT 1 FROM json_each(params, '$.categories') WHERE value = ?1)
                 OR EXISTS (SELECT 1 FROM json_each(params, '$.supplement') WHERE json_extract(value, '$.category') = ?1)"
            }
            Dialect::Postgres => {
                "EXISTS (SELECT 1 FROM jsonb_array_elements_text(CAST(params AS jsonb) -> 'categories') v WHERE v = ?1)
                 OR EXISTS (SELECT 1 FROM jsonb_array_elements(CAST(params AS jsonb) -> 'supplement') v WHERE v ->> 'category' = ?1)"
            }
        };
        let requests: Vec<String> = tx.all(
            &format!("SELECT id FROM request WHERE state IN ({open}) AND ({named}) ORDER BY seq"),
            &[text(code)],
            |r| r.get(0),
        )?;
        if !requests.is_empty() {
            problems.push(open_request("category", code, &requests));
        }
    }
    for code in &purposes {
        let purpose = match tx.dialect() {
            Dialect::Sqlite => "json_extract(params, '$.purpose')",
            Dialect::Postgres => "CAST(params AS jsonb) ->> 'purpose'",
        };
        let requests: Vec<String> = tx.all(
            &format!("SELECT id FROM request WHERE state IN ({open}) AND {purpose} = ?1 ORDER BY seq"),
            &[text(code)],
            |r| r.get(0),
        )?;
        if !requests.is_empty() {
            problems.push(open_request("purpose", code, &requests));
        }
    }
    // A system's open tasks wait for its acknowledgement (and hold their requests open); once
    // the system is gone from the map its sync script could no longer list them.
    let systems = gone(
        before.system.iter().map(|s| s.name.as_str()).collect(),
        after.system.iter().map(|s| s.name.as_str()).collect(),
    );
    for name in &systems {
        let open: i64 =
            tx.one("SELECT count(*) FROM task WHERE system = ?1 AND done_at IS NULL", &[text(name)], |r| r.get(0))?;
        if open > 0 {
            problems.push(Problem {
                line: None,
                key: format!("system {name:?}"),
                what: format!(
                    "cannot be removed: {open} open task{} wait{} for it; acknowledge {} first (`dsr tasks --system {name}`, then `dsr tasks done`)",
                    plural(open),
                    if open == 1 { "s" } else { "" },
                    if open == 1 { "it" } else { "them" }
                ),
            });
        }
    }
    let tables = |f: &'_ CompanyFile| -> Vec<String> { f.table.iter().map(|t| t.name.clone()).collect() };
    let kept = tables(after);
    for table in tables(before).iter().filter(|t| !kept.contains(t)) {
        let holds = table_exists(tx, table)?
            && tx.one(&format!("SELECT EXISTS (SELECT 1 FROM {})", ident(table)), &[], |r| r.get::<bool>(0))?;
        if holds {
            problems.push(Problem {
                line: None,
                key: format!("table {table:?}"),
                what:
                    "holds rows and would belong to no category, so the register would not tell of them (Art. 15(1)(b))"
                        .into(),
            });
        }
    }
    Ok(())
}

/// An entry open requests name: which ones (the first five), to answer or reject first.
fn open_request(section: &str, code: &str, ids: &[String]) -> Problem {
    let n = ids.len() as i64;
    let shown = match ids.len() {
        0..=5 => ids.join(", "),
        more => format!("{} and {} more", ids[..5].join(", "), more - 5),
    };
    Problem {
        line: None,
        key: format!("{section} {code:?}"),
        what: format!(
            "cannot be removed: {n} open request{} name{} it ({shown}); answer or reject {} first",
            plural(n),
            if n == 1 { "s" } else { "" },
            if n == 1 { "it" } else { "them" }
        ),
    }
}

/// The first email identifier of a file, with its key, and how it compares the local part.
fn email_rule(f: &CompanyFile) -> Option<(String, super::table::LocalPart)> {
    f.table.iter().enumerate().find_map(|(i, t)| {
        let (j, id) = t.identifier.iter().enumerate().find(|(_, id)| id.kind == super::table::IdentifierKind::Email)?;
        Some((format!("table[{i}].identifier[{j}].local_part"), id.local_part.unwrap_or_default()))
    })
}

/// A file that compares email addresses otherwise than the store does: the identifier columns
/// hold addresses in the store's form, and would no longer find the people (a file written
/// before `local_part`, applied to an upgraded store, is the usual case).
fn local_part_changed(before: &CompanyFile, file: &CompanyFile) -> Option<Problem> {
    let ((_, was), (key, now)) = (email_rule(before)?, email_rule(file)?);
    (was != now).then(|| Problem {
        line: None,
        key,
        what: format!(
            "the store's email identifiers compare the local part {:?} and hold their addresses in that form; this file says {:?}: {} (as `dsr register export` writes it); dsr does not rewrite the addresses in another form",
            was.name(),
            now.name(),
            match was {
                super::table::LocalPart::Exact => "leave local_part out".to_owned(),
                other => format!("write local_part = {:?}", other.name()),
            }
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{fixture, Store};

    fn virtio() -> (Store, CompanyFile) {
        let mut store = Store::in_memory().unwrap();
        fixture::load(&mut store.conn, fixture::find("virtio").unwrap(), Clock::from_env().unwrap(), false).unwrap();
        let file = export::export(&store.conn).unwrap().unwrap();
        (store, file)
    }

    #[test]
    fn the_references_into_the_register_are_read_from_the_schema() {
        let (store, _) = virtio();
        let found: Vec<String> = references(&store.conn)
            .unwrap()
            .iter()
            .map(|r| format!("{}.{} -> {}.{}", r.child, r.column, r.parent, r.key))
            .collect();
        for expected in [
            "consent.purpose -> purpose.code",
            "payment_method.provider -> recipient.code",
            "restriction.category -> category.code",
            "decision_review.decision -> automated_decision.code",
        ] {
            assert!(found.iter().any(|f| f == expected), "{expected} missing from {found:?}");
        }
        assert!(
            !found.iter().any(|f| f.starts_with("category_purpose.")),
            "the register's own links are the file's to check"
        );
    }

    #[test]
    fn a_register_changed_since_the_difference_was_shown_is_not_applied() {
        let (store, mut file) = virtio();
        file.right[0].how_en = "Ask us.".into();
        let shown = trial(&store.conn, &file).unwrap().unwrap().diff;
        assert_eq!((shown.added, shown.removed, shown.changed), (0, 0, 1));
        // Someone else changed another text in between.
        store.conn.execute("UPDATE data_right SET how_nl = 'Vraag het ons.' WHERE sort = 10", []).unwrap();
        let clock = Clock::from_env().unwrap();
        let err = apply(&store.conn, &clock, &file, "00", &shown).unwrap_err();
        assert!(err.to_string().contains("the register changed since the difference was shown"), "{err}");
        let entries: i64 = store.conn.query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0)).unwrap();
        let again = trial(&store.conn, &file).unwrap().unwrap().diff;
        let applied = apply(&store.conn, &clock, &file, "00", &again);
        assert!(applied.unwrap().is_ok());
        let after: i64 = store.conn.query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0)).unwrap();
        assert_eq!(after, entries + 1, "one register-applied entry");
        assert_eq!(export::export(&store.conn).unwrap().unwrap(), file);
    }
}
