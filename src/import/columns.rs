//! The file's columns checked against the table (every one the table's, the key among them) and
//! what each is converted as (`values`), with the columns made from others (an email folded for
//! lookups) and those the suppression list and rectified values are checked on.

use std::path::Path;

use crate::store::db::{text, Db, Dialect};
use jiff::tz::TimeZone as Tz;
use rusqlite::types::Value;

use super::values::{self, Conv};
use crate::error::Error;
use crate::map::table::{IdentifierKind, Table, Validator};

/// The columns the file gives, checked against the table, and what each is converted as.
pub(super) struct Plan {
    /// The table's columns the statements write: the file's, then derived ones (a folded email).
    pub(super) columns: Vec<String>,
    pub(super) convs: Vec<Conv>,
    /// For a derived column: the index of the column it is made from.
    pub(super) derived_from: Vec<Option<usize>>,
    /// Index of the key column in `columns`.
    pub(super) key: usize,
    /// Index of `[table.import] updated` (when the source last changed the row), if the file gives it.
    pub(super) updated: Option<usize>,
    pub(super) country: Option<usize>,
    /// Identifier columns the suppression list is checked with: (index, suppression kind).
    pub(super) remembered: Vec<(usize, &'static str)>,
    /// Opt-in columns (kept off for someone who objected to direct marketing).
    pub(super) opt_ins: Vec<usize>,
    /// For a table whose lines reaching no one are matched by IP address (`anonymous-by-ip`):
    /// the IP column's index, and the link column's when the file gives it.
    pub(super) anonymous_ip: Option<(usize, Option<usize>)>,
}

/// The file's header checked against the table: every column is the table's, the key is there.
pub(super) fn plan(conn: &dyn Db, table: &Table, header: &[String], file: &Path) -> anyhow::Result<Plan> {
    let bad = |why: String| Error::invalid("import file", format!("{}: {why}", file.display()));
    let schema = table.database.as_deref().unwrap_or("main");
    if let Some(files) = conn.file_side(schema) {
        return plan(files, table, header, file);
    }
    // Each column's declared type; on PostgreSQL, as the SQLite type it was translated from
    // (`store::postgres::translate`): bytea held BLOB, jsonb a value of any type.
    let sql = match conn.dialect() {
        Dialect::Sqlite => "SELECT name, type FROM pragma_table_info(?1, ?2) ORDER BY cid",
        Dialect::Postgres => {
            "SELECT column_name::text, CASE data_type WHEN 'bytea' THEN 'BLOB' WHEN 'jsonb' THEN 'ANY' ELSE data_type::text END
             FROM information_schema.columns
             WHERE table_schema = CASE WHEN ?2 = 'main' THEN current_schema() ELSE ?2 END AND table_name = ?1
               AND column_name <> 'rowid'
             ORDER BY ordinal_position"
        }
    };
    let declared: Vec<(String, String)> =
        conn.all(sql, &[text(&table.name), text(schema)], |r| Ok((r.get(0)?, r.get(1)?)))?;
    // A table no longer as the map describes it (a column renamed or dropped behind dsr's back):
    // said before any row is read (a company file is checked as it is attached too; a company
    // schema on PostgreSQL only here).
    {
        let missing = match declared.is_empty() {
            true => Some(format!("it has no table {}", table.name)),
            false => crate::map::own_columns(table, 0)
                .into_iter()
                .find(|(_, c)| !declared.iter().any(|(n, _)| n == c))
                .map(|(_, c)| format!("table {} has no column {c}", table.name)),
        };
        if let Some(detail) = missing {
            return Err(
                Error::StoreUnlikeMap { path: conn.place(), detail: format!("{detail}, which the map names") }.into()
            );
        }
    }
    let mut columns = Vec::new();
    let mut convs = Vec::new();
    for (i, h) in header.iter().enumerate() {
        let Some((_, ty)) = declared.iter().find(|(n, _)| n == h) else {
            let names: Vec<&str> = declared.iter().map(|(n, _)| n.as_str()).collect();
            // Never repeated: a file without its header row has a person's values there.
            // One field with semicolons: a spreadsheet's export in a locale whose separator is ';'.
            let why = match header.len() == 1 && h.contains(';') {
                true => {
                    "the header has no commas: is the file separated by semicolons? dsr reads comma-separated files"
                }
                false => "is the header row missing, or a name misspelt?",
            };
            let which = format!("the header's field {} is no column of table {} ({why})", i + 1, table.name);
            return Err(bad(format!("{which} ({})", names.join(", "))).into());
        };
        if columns.contains(h) {
            return Err(bad(format!("column {h:?} is in the header twice")).into());
        }
        let Some(sql) = values::of_declared(ty) else {
            return Err(bad(format!("column {h:?} holds files (BLOB), which import does not load")).into());
        };
        columns.push(h.clone());
        convs.push(values::of_column(table, h, sql));
    }
    let mut derived_from = vec![None; columns.len()];
    // An email identifier kept in its compared form beside the address as written: made from it.
    for id in table.identifier.iter().filter(|i| i.kind == IdentifierKind::Email) {
        let Some(written) = &id.written_in else { continue };
        if columns.contains(&id.column) && !columns.contains(written) {
            // Alone, it would point the row at an address other than the one it holds.
            return Err(bad(format!(
                "column {:?} is made by dsr from {written:?} (the address as written): give {written:?} in the file instead",
                id.column
            ))
            .into());
        }
        if let Some(src) = columns.iter().position(|c| c == written) {
            if let Some(at) = columns.iter().position(|c| c == &id.column) {
                derived_from[at] = Some(src);
            } else {
                columns.push(id.column.clone());
                convs.push(Conv::EmailCompared(id.local_part.unwrap_or_default()));
                derived_from.push(Some(src));
            }
        }
    }
    let key_name = table.import.key.clone().unwrap_or_else(|| table.key.clone());
    let key = columns.iter().position(|c| c == &key_name).ok_or_else(|| {
        bad(format!(
            "the header has no column {key_name:?}, the source's key that rows of {} are matched on",
            table.name
        ))
    })?;
    let updated = table.import.updated.as_ref().and_then(|u| columns.iter().position(|c| c == u));
    let country = table
        .rectify
        .iter()
        .find(|f| f.validator == Some(Validator::Country))
        .and_then(|f| columns.iter().position(|c| c == &f.column));
    let remembered = table
        .identifier
        .iter()
        .filter_map(|i| Some((columns.iter().position(|c| c == &i.column)?, i.kind.suppression_kind()?)))
        .collect();
    let opt_ins = table.opt_in.iter().filter_map(|o| columns.iter().position(|c| c == &o.column)).collect();
    let anonymous_ip = table
        .other_people
        .as_ref()
        .filter(|o| o.kind == crate::map::table::OtherPeopleKind::AnonymousByIp)
        .and_then(|o| columns.iter().position(|c| c == &o.column))
        .map(|ip| (ip, table.link.as_ref().and_then(|l| columns.iter().position(|c| c == &l.column))));
    Ok(Plan { columns, convs, derived_from, key, updated, country, remembered, opt_ins, anonymous_ip })
}

/// The row's key alone, converted as `convert` converts it: `None` when the row has none or it
/// does not convert (the row cannot then stand for a row of the table).
pub(super) fn key(plan: &Plan, fields: &[Option<String>], tz: Option<&Tz>) -> Option<Value> {
    let raw = fields.get(plan.derived_from[plan.key].unwrap_or(plan.key))?.as_deref()?;
    values::convert(plan.convs[plan.key], raw, tz, None).ok().filter(|v| *v != Value::Null)
}

/// The row's values, each converted; the first bad field refuses the row.
pub(super) fn convert(plan: &Plan, fields: &[Option<String>], tz: Option<&Tz>) -> Result<Vec<Value>, String> {
    let country = plan.country.and_then(|i| fields.get(i)?.as_deref()).map(str::trim).filter(|c| !c.is_empty());
    let country = country.map(|c| c.to_ascii_uppercase());
    let mut out = Vec::with_capacity(plan.columns.len());
    for (i, conv) in plan.convs.iter().enumerate() {
        let raw = match plan.derived_from[i] {
            Some(src) => fields.get(src).and_then(Option::as_deref),
            None => fields.get(i).and_then(Option::as_deref),
        };
        let v = match raw {
            None => Value::Null,
            Some(raw) => values::convert(*conv, raw, tz, country.as_deref())
                .map_err(|why| format!("{}: {why}", plan.columns[i]))?,
        };
        out.push(v);
    }
    Ok(out)
}
