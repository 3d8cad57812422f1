//! Whole-file checks of the data map (`[[table]]`): names are plain SQL identifiers, every
//! table belongs to a category of the register and reaches a person (one root; links to
//! tables of the map, no loops), and what a table names of itself or others exists.

use std::collections::HashSet;

use super::{CompanyFile, Problem};
use crate::store::personal::DataMap;

/// A name that can stand in generated SQL as it is: ASCII letters, digits and '_', not
/// starting with a digit, not a `sqlite_` name.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 64
        && !name.to_ascii_lowercase().starts_with("sqlite_")
}

pub fn check(f: &CompanyFile, categories: &HashSet<&str>, problems: &mut Vec<Problem>) {
    let mut say = |key: String, what: String| problems.push(Problem { line: None, key, what });
    let mut names = HashSet::new();
    for (i, t) in f.table.iter().enumerate() {
        if !is_identifier(&t.name) {
            say(format!("table[{i}].name"), format!("{:?} is not a table name (letters, digits and _)", t.name));
        } else if !names.insert(t.name.as_str()) {
            say(format!("table[{i}].name"), format!("table {:?} is described twice", t.name));
        }
        if !categories.contains(t.category.as_str()) {
            say(format!("table[{i}].category"), format!("{:?} is not the code of a [[category]]", t.category));
        }
        let mut columns: Vec<(String, &str)> = vec![(format!("table[{i}].key"), &t.key)];
        if let Some(link) = &t.link {
            columns.push((format!("table[{i}].link.column"), &link.column));
        }
        columns.extend(
            t.identifier
                .iter()
                .enumerate()
                .map(|(j, x)| (format!("table[{i}].identifier[{j}].column"), x.column.as_str())),
        );
        columns.extend(
            t.rectify.iter().enumerate().map(|(j, x)| (format!("table[{i}].rectify[{j}].column"), x.column.as_str())),
        );
        columns.extend(
            t.erase.detach.iter().enumerate().map(|(j, x)| (format!("table[{i}].erase.detach[{j}]"), x.as_str())),
        );
        for (key, column) in columns {
            if !is_identifier(column) {
                say(key, format!("{column:?} is not a column name (letters, digits and _)"));
            }
        }
    }
    let roots: Vec<usize> = f.table.iter().enumerate().filter(|(_, t)| t.root).map(|(i, _)| i).collect();
    if !f.table.is_empty() && roots.is_empty() {
        say("table".into(), "no table is the root (root = true): the table whose rows are the people".into());
    }
    for i in roots.iter().skip(1) {
        say(format!("table[{i}].root"), "a second root: exactly one table holds the people".into());
    }
    let map = DataMap { tables: f.table.clone() };
    for (i, t) in f.table.iter().enumerate() {
        match (&t.link, t.root) {
            (Some(_), true) => {
                say(format!("table[{i}].link"), "the root table has no link: its rows are the people".into())
            }
            (None, false) => say(
                format!("table[{i}].link"),
                format!("missing: no person is reached from table {:?} (give link = {{ column, parent }})", t.name),
            ),
            (Some(link), false) if map.table(&link.parent).is_none() => {
                say(format!("table[{i}].link.parent"), format!("{:?} is not a [[table]] of the data map", link.parent))
            }
            (Some(_), false) if roots.len() == 1 && map.path(&t.name).is_none() => say(
                format!("table[{i}].link"),
                format!("no person is reached from table {:?}: its links go round in a loop", t.name),
            ),
            _ => {}
        }
    }
}
