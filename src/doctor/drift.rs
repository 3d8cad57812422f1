//! The store's tables against its own data map: a table or column the map names that is no longer
//! there (renamed or dropped behind dsr's back) breaks the rights that use it, each when it runs
//! (a lookup, a rectification, a retention rule). The map is exported as a company file and
//! checked as `dsr register check` checks one against a store.

use super::Finding;
use crate::store::db::Db;

/// One finding for each table or column of the map the store lacks, with the table it is in.
pub(super) fn drift(conn: &dyn Db) -> anyhow::Result<Vec<Finding>> {
    let Some(file) = crate::map::export::export(conn)? else {
        return Ok(Vec::new());
    };
    let mut problems = crate::map::check_against(&file, conn)?;
    // Only what is gone: the file's other checks (recipient codes in rows, tables the map leaves
    // out) are about data, not about the tables the map names.
    problems.retain(|p| p.what.contains("has no column") || p.what.contains("has no table"));
    // A table made from the entry's own columns (`[[table.column]]`) is checked against those
    // by the file's checks: that it is still there is looked at here.
    let map = crate::store::personal::DataMap::load(conn)?;
    for (i, t) in map.tables.iter().enumerate() {
        if crate::store::personal::columns_of_table(conn, t)?.is_none()
            && !problems.iter().any(|p| p.key.starts_with(&format!("table[{i}]")))
        {
            problems.push(crate::map::Problem {
                line: None,
                key: format!("table[{i}].name"),
                what: format!("the store has no table {:?}", t.name),
            });
        }
    }
    // A column the map names twice (a rectifiable field, a retention column) is one finding.
    let mut said = std::collections::HashSet::new();
    problems.retain(|p| said.insert(p.what.clone()));
    Ok(problems
        .into_iter()
        .map(|p| {
            // `table[3].erase[0].column`: the entry the problem is in names its table.
            let table = p
                .key
                .strip_prefix("table[")
                .and_then(|k| k.split(']').next())
                .and_then(|i| i.parse::<usize>().ok())
                .and_then(|i| file.table.get(i))
                .map(|t| t.name.clone())
                .unwrap_or_default();
            // `table "consent" has no column "source"`: the column, for `--json`.
            let column = p.what.split("has no column \"").nth(1).and_then(|c| c.split('"').next()).map(str::to_owned);
            Finding {
                check: "map",
                table,
                column,
                rows: 0,
                what: p.what,
                fix: "restore it, or describe the change in the company file (`dsr register export`, edit, `dsr register apply FILE`)".into(),
            }
        })
        .collect())
}
