//! Whole-file checks of the data map (`[[table]]`): names are plain SQL identifiers, every
//! table belongs to a category of the register and reaches a person (one root; links to
//! tables of the map, no loops), every category is held by a table, and what a table names
//! of itself or others is well formed. What each right does with a table (erase kinds,
//! rectifiable fields, recipients, opt-ins) is checked in `check_rights`.

use std::collections::HashSet;

use super::check_columns::is_own_table;
use super::table::Table;
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

/// Why `name` cannot be a `what` (table, column) of the map, in words, if it cannot.
fn identifier_problem(name: &str, what: &str) -> Option<String> {
    if is_identifier(name) {
        return None;
    }
    let why = if name.is_empty() {
        "is empty".to_owned()
    } else if name.len() > 64 {
        "is longer than 64 characters".to_owned()
    } else if name.to_ascii_lowercase().starts_with("sqlite_") {
        "starts with sqlite_, which SQLite keeps for its own tables".to_owned()
    } else {
        "has characters other than ASCII letters, digits and _, or starts with a digit".to_owned()
    };
    Some(format!("{name:?} is not a {what} name: it {why}"))
}

/// A column named as dsr names a row's own key in SQL: dsr reads, changes and removes rows by it.
fn is_rowid_alias(name: &str) -> bool {
    name.eq_ignore_ascii_case("rowid")
}

fn rowid_alias(name: &str) -> String {
    format!("{name:?} is SQLite's name for a row's own key, by which dsr reads, changes and removes rows; rename the column")
}

/// Whether a plain name means itself where generated SQL writes it unquoted, as a table and as a
/// column: not a keyword SQLite reads as something else (`current_date` is today's date, `cast`
/// and `order` break the statement). Tried on a database in memory, once a name.
pub fn means_itself(name: &str) -> bool {
    thread_local! {
        static SEEN: std::cell::RefCell<std::collections::HashMap<String, bool>> = std::cell::RefCell::default();
    }
    if let Some(known) = SEEN.with_borrow(|s| s.get(name).copied()) {
        return known;
    }
    let tried = (|| -> rusqlite::Result<bool> {
        let db = rusqlite::Connection::open_in_memory()?;
        db.execute_batch(&format!(
            "CREATE TABLE {name} (a TEXT); INSERT INTO {name} VALUES ('x'); CREATE TABLE t ({name} TEXT); INSERT INTO t VALUES ('x');"
        ))?;
        let as_table: String = db.query_row(&format!("SELECT a FROM {name} WHERE {name}.a = 'x'"), [], |r| r.get(0))?;
        let as_column: String =
            db.query_row(&format!("SELECT {name} FROM t WHERE t.{name} = 'x' AND {name} = 'x'"), [], |r| r.get(0))?;
        Ok(as_table == "x" && as_column == "x")
    })()
    .unwrap_or(false);
    SEEN.with_borrow_mut(|s| s.insert(name.to_owned(), tried));
    tried
}

/// The columns of an order such as `is_primary DESC, created_at, id`; `None` when it is anything
/// else than columns, each with an optional ASC or DESC (it stands in generated SQL as it is).
pub fn order_columns(order: &str) -> Option<Vec<&str>> {
    order
        .split(',')
        .map(|term| {
            let words: Vec<&str> = term.split_whitespace().collect();
            match words[..] {
                [column] => Some(column),
                [column, dir] if dir.eq_ignore_ascii_case("asc") || dir.eq_ignore_ascii_case("desc") => Some(column),
                _ => None,
            }
            .filter(|c| is_identifier(c))
        })
        .collect()
}

/// The columns a `because` template names: `{column}` and `{column:date}`; `None` when a brace
/// is left open or a placeholder has another form.
pub fn template_columns(template: &str) -> Option<Vec<&str>> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = open + rest[open..].find('}')?;
        let inner = &rest[open + 1..close];
        let column = match inner.split_once(':') {
            Some((column, "date")) => column,
            Some(_) => return None,
            None => inner,
        };
        out.push(column);
        rest = &rest[close + 1..];
    }
    (!rest.contains('}')).then_some(out)
}

/// Every column of its own table that a map entry names, with the key naming it. The orders and
/// templates are read for their columns; their form is checked in [`check`].
pub fn own_columns(t: &Table, i: usize) -> Vec<(String, &str)> {
    let mut out: Vec<(String, &str)> = vec![(format!("table[{i}].key"), &t.key)];
    if let Some(link) = &t.link {
        out.push((format!("table[{i}].link.column"), &link.column));
    }
    for (j, x) in t.identifier.iter().enumerate() {
        out.push((format!("table[{i}].identifier[{j}].column"), &x.column));
        if let Some(w) = &x.written_in {
            out.push((format!("table[{i}].identifier[{j}].written_in"), w));
        }
        if let Some(p) = &x.preferred {
            order_of(&mut out, format!("table[{i}].identifier[{j}].preferred"), p);
        }
    }
    for (j, x) in t.never_disclosed.iter().enumerate() {
        out.push((format!("table[{i}].never_disclosed[{j}].column"), &x.column));
    }
    for (j, x) in t.label.iter().enumerate() {
        out.push((format!("table[{i}].label[{j}].column"), &x.column));
    }
    for (j, x) in t.internal.iter().enumerate() {
        out.push((format!("table[{i}].internal[{j}]"), x));
    }
    if let Some(c) = &t.export.own_rows {
        out.push((format!("table[{i}].export.own_rows.column"), &c.column));
    }
    let im = &t.import;
    if let Some(k) = &im.key {
        out.push((format!("table[{i}].import.key"), k));
    }
    for (j, x) in im.times.iter().enumerate() {
        out.push((format!("table[{i}].import.times[{j}]"), x));
    }
    for (j, x) in im.dates.iter().enumerate() {
        out.push((format!("table[{i}].import.dates[{j}]"), x));
    }
    if let Some(u) = &im.updated {
        out.push((format!("table[{i}].import.updated"), u));
    }
    let e = &t.erase;
    for (j, x) in e.detach.iter().enumerate() {
        out.push((format!("table[{i}].erase.detach[{j}]"), x));
    }
    if let Some(d) = &e.date_column {
        out.push((format!("table[{i}].erase.date_column"), d));
    }
    if let Some(c) = &e.claim {
        out.push((format!("table[{i}].erase.claim.column"), &c.column));
    }
    for (j, x) in e.identity_fields.iter().enumerate() {
        out.push((format!("table[{i}].erase.identity_fields[{j}]"), x));
    }
    if let Some(r) = &t.retention {
        if let Some(c) = &r.counts_from {
            out.push((format!("table[{i}].retention.counts_from"), c));
        }
        if let Some(c) = &r.contract_end {
            out.push((format!("table[{i}].retention.contract_end"), c));
        }
        if let Some(c) = &r.only {
            out.push((format!("table[{i}].retention.only.column"), &c.column));
        }
    }
    for (j, x) in t.rectify.iter().enumerate() {
        out.push((format!("table[{i}].rectify[{j}].column"), &x.column));
        if let Some(p) = &x.preferred {
            order_of(&mut out, format!("table[{i}].rectify[{j}].preferred"), p);
        }
        if let Some(c) = &x.only {
            out.push((format!("table[{i}].rectify[{j}].only.column"), &c.column));
        }
    }
    for (j, x) in t.recipient.iter().enumerate() {
        if let Some(c) = &x.column {
            out.push((format!("table[{i}].recipient[{j}].column"), c));
        }
        if let Some(c) = &x.only {
            out.push((format!("table[{i}].recipient[{j}].only.column"), &c.column));
        }
        for c in template_columns(&x.because).unwrap_or_default() {
            out.push((format!("table[{i}].recipient[{j}].because"), c));
        }
        if let Some(c) = &x.categories {
            out.push((format!("table[{i}].recipient[{j}].categories"), c));
        }
        if let Some(c) = &x.order {
            out.push((format!("table[{i}].recipient[{j}].order"), c));
        }
    }
    if let Some(c) = &t.consent_record {
        out.push((format!("table[{i}].consent_record.purpose"), &c.purpose));
        out.push((format!("table[{i}].consent_record.granted"), &c.granted));
        out.push((format!("table[{i}].consent_record.recorded_at"), &c.recorded_at));
        for (j, x) in c.detach_when_kept.iter().enumerate() {
            out.push((format!("table[{i}].consent_record.detach_when_kept[{j}]"), x));
        }
    }
    for (j, x) in t.opt_in.iter().enumerate() {
        out.push((format!("table[{i}].opt_in[{j}].column"), &x.column));
    }
    if let Some(o) = &t.other_people {
        out.push((format!("table[{i}].other_people.column"), &o.column));
    }
    for (j, x) in t.shown_name.iter().enumerate() {
        out.push((format!("table[{i}].shown_name[{j}]"), x));
    }
    if let Some(c) = t.consent_record.as_ref().and_then(|c| c.source.as_ref()) {
        out.push((format!("table[{i}].consent_record.source"), c));
    }
    if let Some(a) = &t.attachment {
        out.push((format!("table[{i}].attachment.content"), &a.content));
        out.push((format!("table[{i}].attachment.media_type"), &a.media_type));
    }
    if let Some(d) = &t.decision_steps {
        let key = format!("table[{i}].decision_steps");
        out.push((format!("{key}.step"), &d.step));
        out.push((format!("{key}.occurred_at"), &d.occurred_at));
        out.push((format!("{key}.automated"), &d.automated));
        if let Some(r) = &d.reversal {
            out.push((format!("{key}.reversal.detail_column"), &r.detail_column));
        }
    }
    out
}

fn order_of<'a>(out: &mut Vec<(String, &'a str)>, key: String, order: &'a str) {
    for column in order_columns(order).unwrap_or_default() {
        out.push((key.clone(), column));
    }
}

/// The names of other tables (and their columns) that an entry names, with their keys.
pub fn other_tables(t: &Table, i: usize) -> Vec<(String, &str, Option<&str>)> {
    let mut out = Vec::new();
    if let Some(link) = &t.link {
        out.push((format!("table[{i}].link.parent"), link.parent.as_str(), None));
    }
    if let Some(r) = &t.erase.referenced_by {
        out.push((format!("table[{i}].erase.referenced_by"), r.table.as_str(), Some(r.column.as_str())));
    }
    if let Some(o) = &t.other_people {
        for (j, r) in o.ips_from.iter().enumerate() {
            out.push((format!("table[{i}].other_people.ips_from[{j}]"), r.table.as_str(), Some(r.column.as_str())));
        }
    }
    for (j, c) in t.column.iter().enumerate() {
        if let Some(r) = &c.references {
            out.push((format!("table[{i}].column[{j}].references"), r.as_str(), None));
        }
    }
    if let (Some(d), Some(link)) = (&t.decision_steps, &t.link) {
        // The columns of the row a decision was about are the parent's.
        let a = &d.about;
        for (name, column) in [
            ("number", &a.number),
            ("amount_cents", &a.amount_cents),
            ("currency", &a.currency),
            ("issued_at", &a.issued_at),
            ("due_at", &a.due_at),
            ("status", &a.status),
            ("paid_at", &a.paid_at),
        ] {
            out.push((format!("table[{i}].decision_steps.about.{name}"), link.parent.as_str(), Some(column.as_str())));
        }
        for (j, u) in d.reversal.iter().flat_map(|r| &r.unblock).enumerate() {
            out.push((
                format!("table[{i}].decision_steps.reversal.unblock[{j}]"),
                u.table.as_str(),
                Some(u.column.as_str()),
            ));
        }
    }
    out
}

fn keyword(name: &str) -> String {
    format!("{name:?} is an SQL keyword, which dsr's SQL would read as something else; rename the table or column (or give the application a view with another name)")
}

/// What is wrong with a table's name, if anything; `names` holds those seen before, in lower case.
fn name_problem<'a>(name: &'a str, names: &mut std::collections::HashMap<String, &'a str>) -> Option<String> {
    if let Some(why) = identifier_problem(name, "table") {
        return Some(why);
    }
    if !means_itself(name) {
        return Some(keyword(name));
    }
    if is_own_table(name) {
        return Some(format!(
            "{name:?} is the name of one of dsr's own tables (requests, codes, audit trail, register); a table of the data map needs another name"
        ));
    }
    match names.get(&name.to_ascii_lowercase()) {
        Some(first) if *first == name => Some(format!("table {name:?} is described twice")),
        Some(first) => {
            Some(format!("table {name:?} is described twice (as {first:?} before: table names ignore case)"))
        }
        None => {
            names.insert(name.to_ascii_lowercase(), name);
            None
        }
    }
}

pub fn check(f: &CompanyFile, categories: &HashSet<&str>, purposes: &HashSet<&str>, problems: &mut Vec<Problem>) {
    let mut say = |key: String, what: String| problems.push(Problem { line: None, key, what });
    // SQLite, like SQL, reads a table's name in any case: `Member` is `member`.
    let mut names: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
    let mut held = HashSet::new();
    for (i, t) in f.table.iter().enumerate() {
        if let Some(what) = name_problem(&t.name, &mut names) {
            say(format!("table[{i}].name"), what);
        }
        held.insert(t.category.as_str());
        if !categories.contains(t.category.as_str()) {
            say(format!("table[{i}].category"), format!("{:?} is not the code of a [[category]]", t.category));
        }
        for (key, column) in own_columns(t, i) {
            if let Some(why) = identifier_problem(column, "column") {
                say(key, why);
            } else if !means_itself(column) {
                say(key, keyword(column));
            }
        }
        let orders = t.identifier.iter().enumerate().map(|(j, x)| (format!("identifier[{j}]"), &x.preferred));
        let orders = orders.chain(t.rectify.iter().enumerate().map(|(j, x)| (format!("rectify[{j}]"), &x.preferred)));
        for (key, order) in orders {
            if let Some(order) = order.as_deref().filter(|o| order_columns(o).is_none()) {
                say(
                    format!("table[{i}].{key}.preferred"),
                    format!("{order:?} is not an order of columns (column [ASC|DESC], ...)"),
                );
            }
        }
        for (j, r) in t.recipient.iter().enumerate() {
            if template_columns(&r.because).is_none() {
                say(
                    format!("table[{i}].recipient[{j}].because"),
                    "a placeholder is {column} or {column:date}, braces closed".into(),
                );
            }
        }
        for (key, table, column) in other_tables(t, i) {
            let why =
                identifier_problem(table, "table").or_else(|| column.and_then(|c| identifier_problem(c, "column")));
            if let Some(why) = why {
                say(key, why);
            }
        }
        for (j, c) in t.column.iter().enumerate() {
            if let Some(why) = identifier_problem(&c.name, "column") {
                say(format!("table[{i}].column[{j}].name"), why);
            } else if is_rowid_alias(&c.name) {
                say(format!("table[{i}].column[{j}].name"), rowid_alias(&c.name));
            } else if !means_itself(&c.name) {
                say(format!("table[{i}].column[{j}].name"), keyword(&c.name));
            }
            if let Some(cat) = &c.category {
                held.insert(cat.as_str());
                if !categories.contains(cat.as_str()) {
                    say(
                        format!("table[{i}].column[{j}].category"),
                        format!("{cat:?} is not the code of a [[category]]"),
                    );
                }
            }
        }
    }
    if !f.table.is_empty() {
        for (i, cat) in f.category.iter().enumerate() {
            if !held.contains(cat.code.as_str()) {
                say(
                    format!("category[{i}].code"),
                    format!("no [[table]] of the data map holds category {:?}: a person would never see it", cat.code),
                );
            }
        }
    }
    let roots: Vec<usize> = f.table.iter().enumerate().filter(|(_, t)| t.root).map(|(i, _)| i).collect();
    if !f.table.is_empty() && roots.is_empty() {
        say("table".into(), "no table is the root (root = true): the table whose rows are the people".into());
    }
    let consents: Vec<usize> =
        f.table.iter().enumerate().filter(|(_, t)| t.consent_record.is_some()).map(|(i, _)| i).collect();
    for i in consents.iter().skip(1) {
        say(
            format!("table[{i}].consent_record"),
            format!(
                "a second table of consent records: table {:?} holds them already, and dsr reads one table of them (keep the consents in one table)",
                f.table[consents[0]].name
            ),
        );
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
                format!("no person is reached from table {:?}: {}", t.name, map.why_unreached(t)),
            ),
            _ => {}
        }
        // The link's parent is checked above, with the reach.
        for (key, table, _) in other_tables(t, i).into_iter().filter(|(key, ..)| !key.ends_with(".link.parent")) {
            if is_identifier(table) && map.table(table).is_none() {
                say(key, format!("{table:?} is not a [[table]] of the data map"));
            }
        }
    }
    super::check_places::databases(f, &mut say);
    super::check_places::systems(f, &mut say);
    super::check_rights::check(f, &map, purposes, &mut say);
}
