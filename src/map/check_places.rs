//! Where a company's data lives besides the tables of the map: the company databases
//! (`[[database]]`) the map's tables are placed in, and the systems (`[[system]]`) that keep
//! copies and get a task for each change.

use super::check_map::is_identifier;
use super::CompanyFile;

/// The systems that keep copies (`[[system]]`): a name each once, tables of the map.
pub(super) fn systems(f: &CompanyFile, say: &mut impl FnMut(String, String)) {
    for (i, sys) in f.system.iter().enumerate() {
        let named = !sys.name.is_empty() && sys.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !named {
            say(format!("system[{i}].name"), format!("{:?} is not a system name (letters, digits, _ and -)", sys.name));
        } else if f.system[..i].iter().any(|o| o.name == sys.name) {
            say(format!("system[{i}].name"), format!("system {:?} is listed twice", sys.name));
        }
        if sys.tables.is_empty() {
            say(format!("system[{i}].tables"), "empty: name the tables of the map the system keeps a copy of".into());
        }
        for (j, t) in sys.tables.iter().enumerate() {
            if !f.table.iter().any(|m| &m.name == t) {
                say(format!("system[{i}].tables[{j}]"), format!("{t:?} is not a [[table]] of the data map"));
            }
        }
    }
    if f.letter_after_tasks && f.system.is_empty() {
        say("letter_after_tasks".into(), "no [[system]] is named, so there are no tasks to wait for".into());
    }
}

/// The company databases (`[[database]]`): names SQL can use for an attached file, each once,
/// a path, and every table placed in one of them; dsr does not create tables in a company's
/// database, so such a table declares no columns.
pub(super) fn databases(f: &CompanyFile, say: &mut impl FnMut(String, String)) {
    for (i, d) in f.database.iter().enumerate() {
        if !is_identifier(&d.name) || ["main", "temp"].contains(&d.name.to_ascii_lowercase().as_str()) {
            say(
                format!("database[{i}].name"),
                format!("{:?} is not a database name (letters, digits and _; not main or temp)", d.name),
            );
        } else if f.database[..i].iter().any(|o| o.name == d.name) {
            say(format!("database[{i}].name"), format!("database {:?} is listed twice", d.name));
        }
        if d.path.trim().is_empty() {
            say(format!("database[{i}].path"), "empty: give the path of the database file".into());
        } else if let Some(o) = f.database[..i].iter().find(|o| o.path == d.path && d.path != super::POSTGRES_SCHEMA) {
            say(
                format!("database[{i}].path"),
                format!(
                    "the same file as database {:?}: name each file once, and place its tables in that one",
                    o.name
                ),
            );
        }
    }
    for (i, t) in f.table.iter().enumerate() {
        let Some(db) = &t.database else { continue };
        if !f.database.iter().any(|d| &d.name == db) {
            say(format!("table[{i}].database"), format!("{db:?} is not the name of a [[database]]"));
        }
        if !t.column.is_empty() {
            say(
                format!("table[{i}].column"),
                format!(
                    "table {:?} is in database {db:?}: dsr does not create tables in a company's database, so it declares no columns",
                    t.name
                ),
            );
        }
    }
}

/// For `register check`, which has no store: a schema of a PostgreSQL store (`path =
/// "postgres:"`) cannot be looked into, so an empty database stands in for it, with each of its
/// tables holding the columns the map names (`register apply --dry-run` on the store checks the
/// real ones). The rest of the map is checked as usual against it.
pub(super) fn stand_in(conn: &rusqlite::Connection, file: &CompanyFile, database: &str) -> anyhow::Result<()> {
    conn.execute("ATTACH DATABASE ':memory:' AS ?1", [database])?;
    let quote = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
    for (i, t) in file.table.iter().enumerate().filter(|(_, t)| t.database.as_deref() == Some(database)) {
        let mut columns: Vec<&str> = super::check_map::own_columns(t, i).into_iter().map(|(_, c)| c).collect();
        for (j, other) in file.table.iter().enumerate() {
            let named = super::check_map::other_tables(other, j).into_iter().filter(|(_, table, _)| *table == t.name);
            columns.extend(named.filter_map(|(_, _, column)| column));
        }
        columns.retain(|c| super::check_map::is_identifier(c));
        columns.sort_unstable();
        columns.dedup();
        if !super::check_map::is_identifier(&t.name) || columns.is_empty() {
            continue;
        }
        let list: Vec<String> = columns.iter().map(|c| quote(c)).collect();
        conn.execute_batch(&format!("CREATE TABLE {}.{} ({})", quote(database), quote(&t.name), list.join(", ")))?;
    }
    Ok(())
}
