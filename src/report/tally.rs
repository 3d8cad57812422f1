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
