//! The statements of an import run, made once from the data map's table and the file's columns.

use super::columns;
use crate::store::personal::DataMap;

/// The statements of an import, made from the table and the file's columns.
pub(super) struct Sql {
    /// The table's name in the data map, and its own key (what `rectified` names a row by).
    pub(super) name: String,
    pub(super) own_key: String,
    pub(super) from: String,
    pub(super) key_column: String,
    /// What names one row of the table: SQLite's rowid (and the `rowid` column of a PostgreSQL
    /// store's own tables), or the table's key in a company's schema on PostgreSQL.
    pub(super) row_id: String,
    pub(super) select: String,
    pub(super) insert: String,
    pub(super) update: String,
    /// What `--delete-missing` never removes, as `CASE` arms over the table aliased `t`: the
    /// index of the reason in [`Sql::kept_why`] (0 for none).
    pub(super) kept_case: String,
    pub(super) kept_why: Vec<String>,
    /// The rows `--delete-missing` looks at (over `t`): not those dsr wrote itself.
    pub(super) own_rows: String,
    /// The columns `insert` and `update` write, in order, and the schema and name of the table
    /// (a refused foreign key is told by its column).
    pub(super) columns: Vec<String>,
    pub(super) schema: String,
}

impl Sql {
    /// The reason [`Sql::kept_case`] gave for a row, if any.
    pub(super) fn kept(&self, case: i64) -> Option<&String> {
        usize::try_from(case).ok()?.checked_sub(1).and_then(|i| self.kept_why.get(i))
    }

    pub(super) fn new(
        map: &DataMap,
        table: &crate::map::table::Table,
        plan: &columns::Plan,
        row_id: &str,
        held: &[i64],
    ) -> Sql {
        let from = table.sql_name();
        // Rows a source's copy cannot remove: those of a person a restriction keeps them for
        // (`held`), and those rows of another table of the map refer to (in a company database
        // no foreign key of the store guards them).
        let mut kept: Vec<(String, String)> = Vec::new();
        if let (false, Some(person)) = (held.is_empty(), map.person_of(&table.name)) {
            let ids: Vec<String> = held.iter().map(i64::to_string).collect();
            kept.push((
                format!("t.{key} IN (SELECT {key} FROM {from} WHERE {person} IN ({}))", ids.join(", "), key = table.key),
                "the person's data is restricted (legal claims, or kept instead of erased): it is stored, not removed, until the restriction is lifted (Art. 18(1) GDPR)".into(),
            ));
        }

        for child in &map.tables {
            let Some(link) = child.link.as_ref().filter(|l| l.parent == table.name) else { continue };
            kept.push((
                format!("EXISTS (SELECT 1 FROM {} c WHERE c.{} = t.{})", child.sql_name(), link.column, table.key),
                format!("rows of {} still refer to it", child.name),
            ));
        }
        let kept_case = match kept.is_empty() {
            true => "0".to_owned(),
            false => {
                let arms: Vec<String> =
                    kept.iter().enumerate().map(|(i, (cond, _))| format!("WHEN {cond} THEN {}", i + 1)).collect();
                format!("CASE {} ELSE 0 END", arms.join(" "))
            }
        };
        let kept_why = kept.into_iter().map(|(_, why)| why).collect();
        // A consent record dsr wrote (a withdrawal) is in no source's file: never missing from it.
        let own_rows = match table.consent_record.as_ref().and_then(|c| c.source.as_ref()) {
            Some(source) => format!("coalesce(t.{source}, '') <> 'dsr'"),
            None => "1 = 1".to_owned(),
        };
        let key_column = plan.columns[plan.key].clone();
        let placeholders: Vec<String> = (1..=plan.columns.len()).map(|i| format!("?{i}")).collect();
        // Whether the row is a consent record dsr wrote: a source's row with its key is refused.
        let dsr_wrote = match table.consent_record.as_ref().and_then(|c| c.source.as_ref()) {
            Some(source) => format!("coalesce({source}, '') = 'dsr'"),
            None => "0 = 1".to_owned(),
        };
        let select = format!(
            "SELECT {row_id}, CAST({} AS TEXT), {dsr_wrote}, {} FROM {from} WHERE {key_column} = ?1 LIMIT 2",
            table.key,
            plan.columns.join(", ")
        );
        let insert = format!("INSERT INTO {from} ({}) VALUES ({})", plan.columns.join(", "), placeholders.join(", "));
        let sets: Vec<String> = plan.columns.iter().enumerate().map(|(i, c)| format!("{c} = ?{}", i + 1)).collect();
        let update = format!("UPDATE {from} SET {} WHERE {row_id} = ?{}", sets.join(", "), plan.columns.len() + 1);
        Sql {
            name: table.name.clone(),
            own_key: table.key.clone(),
            from,
            key_column,
            row_id: row_id.to_owned(),
            select,
            insert,
            update,
            kept_case,
            kept_why,
            own_rows,
            columns: plan.columns.clone(),
            schema: table.database.clone().unwrap_or_else(|| "main".to_owned()),
        }
    }
}
