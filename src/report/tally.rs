//! The erasure tally (migration 18): as an erasure is carried out, its plan's steps are added
//! to the counts per day received, ground, table and action, in the erasure's transaction, so
//! that the report reads what was kept and why (Art. 17(3)) without parsing every outcome.

use std::collections::BTreeMap;

use crate::request::Request;
use crate::rights::erase::Plan;
use crate::store::db::Db;
use crate::vals;

/// Add the steps of `plan`, carried out for `req`, to the tally.
pub fn add(conn: &dyn Db, req: &Request, plan: &Plan) -> anyhow::Result<()> {
    let mut steps: BTreeMap<(&str, &str, &str), u64> = BTreeMap::new();
    for s in &plan.steps {
        *steps.entry((s.ground.as_deref().unwrap_or(""), &s.table, &s.action)).or_default() += s.rows;
    }
    for ((ground, table, action), rows) in steps {
        conn.run(
            "INSERT INTO erasure_tally (received_on, ground, table_name, action, row_count, erasures)
             VALUES (?1, ?2, ?3, ?4, ?5, 1)
             ON CONFLICT (received_on, ground, table_name, action)
             DO UPDATE SET row_count = erasure_tally.row_count + excluded.row_count, erasures = erasure_tally.erasures + 1",
            &vals![req.received_on, ground, table, action, rows as i64]?,
        )?;
    }
    Ok(())
}

/// An erasure finished after the lift of the legal-claims restriction that held some rows back
/// (`rights::erase::finish`): what its plan kept "until the restriction is lifted" no longer
/// counts as kept, and what the finishing deletes or detaches counts with the erasure. The
/// erasure is counted once in each group (`erasures`), as if it had been carried out whole.
pub fn finished(conn: &dyn Db, req: &Request, finishing: &Plan) -> anyhow::Result<()> {
    let original: Vec<crate::rights::erase::Step> =
        req.outcome.as_ref().and_then(|o| serde_json::from_value(o["steps"].clone()).ok()).unwrap_or_default();
    let key =
        |s: &crate::rights::erase::Step| (s.ground.clone().unwrap_or_default(), s.table.clone(), s.action.clone());
    let held = |s: &crate::rights::erase::Step| s.until.as_deref() == Some(crate::rights::erase::UNTIL_LIFTED);
    // (ground, table, action) -> rows to add (negative: to take away), and the groups the
    // erasure leaves and joins.
    let mut rows: BTreeMap<(String, String, String), i64> = BTreeMap::new();
    let counted: std::collections::BTreeSet<_> = original.iter().filter(|s| !held(s)).map(key).collect();
    let mut left = std::collections::BTreeSet::new();
    for s in original.iter().filter(|s| held(s)) {
        *rows.entry(key(s)).or_default() -= s.rows as i64;
        left.insert(key(s));
    }
    let mut joined = std::collections::BTreeSet::new();
    for s in &finishing.steps {
        // What is kept again (a fiscal hold) was counted when the erasure kept it first.
        if s.action == "keep" && counted.contains(&key(s)) {
            continue;
        }
        *rows.entry(key(s)).or_default() += s.rows as i64;
        if !counted.contains(&key(s)) {
            joined.insert(key(s));
        }
    }
    let change = rows.into_iter().map(|(k, n)| {
        let erasures = i64::from(joined.contains(&k)) - i64::from(left.contains(&k));
        (k, (n, erasures))
    });
    for ((ground, table, action), (rows, erasures)) in change {
        if (rows, erasures) == (0, 0) {
            continue;
        }
        conn.run(
            "INSERT INTO erasure_tally (received_on, ground, table_name, action, row_count, erasures)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (received_on, ground, table_name, action)
             DO UPDATE SET row_count = erasure_tally.row_count + excluded.row_count, erasures = erasure_tally.erasures + excluded.erasures",
            &vals![req.received_on, ground, table, action, rows, erasures]?,
        )?;
    }
    conn.run(
        "DELETE FROM erasure_tally WHERE received_on = ?1 AND row_count <= 0 AND erasures <= 0",
        &vals![req.received_on]?,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::store::migrate::MIGRATIONS;

    /// Migration 18 fills the tally from the outcomes of the erasures carried out before it.
    #[test]
    fn the_migration_tallies_the_erasures_already_stored() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let report = MIGRATIONS.iter().position(|(_, sql)| sql.contains("CREATE TABLE erasure_tally")).unwrap();
        for (_, sql) in &MIGRATIONS[..report] {
            conn.execute_batch(sql).unwrap();
        }
        let outcome = |kept: u64| {
            serde_json::json!({"deleted": 3, "kept": kept, "steps": [
                {"table": "customer", "action": "delete", "rows": 3, "ground": null},
                {"table": "invoice", "action": "detach", "rows": kept, "ground": "Art. 17(3)(b)"},
            ]})
            .to_string()
        };
        for (id, kind, outcome) in [
            ("DSR-2025-0001", "erase", Some(outcome(2))),
            ("DSR-2025-0002", "erase", Some(outcome(5))),
            ("DSR-2025-0003", "erase", None),
            ("DSR-2025-0004", "access", Some(r#"{"steps": [{"table": "x", "action": "keep", "rows": 9}]}"#.into())),
        ] {
            conn.execute(
                "INSERT INTO request (id, year, seq, kind, subject_kind, subject_pseudonym, channel, received_on, due_on,
                                      state, created_at, outcome)
                 VALUES (?1, 2025, substr(?1, 10), ?2, 'email', 'p', 'email', '2025-03-01', '2025-04-01', 'completed',
                         '2025-03-01T08:00:00Z', ?3)",
                rusqlite::params![id, kind, outcome],
            )
            .unwrap();
        }
        conn.execute_batch(MIGRATIONS[report].1).unwrap();
        let rows: Vec<(String, String, String, i64, i64)> = conn
            .prepare("SELECT ground, table_name, action, row_count, erasures FROM erasure_tally ORDER BY table_name")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            [
                ("".into(), "customer".into(), "delete".into(), 6, 2),
                ("Art. 17(3)(b)".into(), "invoice".into(), "detach".into(), 7, 2),
            ]
        );
    }
}
