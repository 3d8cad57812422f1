//! The difference between two registers as `dsr register apply` shows it: per section, the
//! entries removed, changed (each changed key with its old and new value) and added, and a
//! changed order. Worked out on the files' serde values, so a key added to an entry's type is
//! compared without being named here. Entries are matched by their `code`; the controller is
//! one entry that also carries the top-level `company`.

use serde::Serialize;
use serde_json::{Map, Value};

use super::CompanyFile;

/// The register's sections, in the file's order.
pub const SECTIONS: &[&str] = &[
    "controller",
    "letters",
    "legal_basis",
    "purpose",
    "category",
    "recipient",
    "retention",
    "automated_decision",
    "right",
    "database",
    "system",
    "table",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Removed,
    Changed,
    Added,
    /// The same entries in another order (the order the register shows them in).
    Reordered,
}

/// One line of the difference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub section: &'static str,
    pub change: Kind,
    /// The entry's code (none for the controller and for a new order).
    pub code: Option<String>,
    /// For a changed entry: the key that changed, as a path (`step[1].days_after_due`).
    pub key: Option<String>,
    /// The value before (a removed entry whole); null when the key was not there.
    pub old: Option<Value>,
    /// The value after (an added entry whole); null when the key is left out.
    pub new: Option<Value>,
}

/// Every change between two registers, with the number of entries added, removed and changed
/// (a section in a new order counts as one changed).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Diff {
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    pub changes: Vec<Change>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The number of changes the officer is asked about.
    pub fn total(&self) -> usize {
        self.added + self.removed + self.changed
    }
}

/// What changes when the register `before` (none: a store without one) becomes `after`.
pub fn diff(before: Option<&CompanyFile>, after: &CompanyFile) -> Diff {
    let old = before.map(sections).unwrap_or_default();
    let new = sections(after);
    let mut d = Diff::default();
    for section in SECTIONS {
        let empty = Value::Array(Vec::new());
        let (old, new) = (old.get(*section).unwrap_or(&empty), new.get(*section).unwrap_or(&empty));
        section_diff(section, old, new, &mut d);
    }
    d
}

/// Each section as its list of entries; the controller as a list of one, with `company` in it.
fn sections(file: &CompanyFile) -> Map<String, Value> {
    let Value::Object(mut doc) = serde_json::to_value(file).expect("a company file always serialises") else {
        unreachable!("a company file is a table")
    };
    let company = doc.remove("company").unwrap_or(Value::Null);
    let letter_after_tasks = doc.remove("letter_after_tasks");
    if let Some(Value::Object(c)) = doc.get_mut("controller") {
        c.insert("company".into(), company);
        if let Some(v) = letter_after_tasks {
            c.insert("letter_after_tasks".into(), v);
        }
    }
    // The company's templates are not in the file but read from its `dir`: each is compared by
    // its length and a fingerprint, so a changed template is a change to apply.
    if let (Some(Value::Object(l)), Some(letters)) = (doc.get_mut("letters"), &file.letters) {
        use sha2::Digest;
        let prints: Map<String, Value> = letters
            .templates
            .iter()
            .map(|(name, text)| {
                let hash = crate::keys::hex(&sha2::Sha256::digest(text.as_bytes()));
                (name.clone(), Value::String(format!("{} lines, sha256 {}", text.lines().count(), &hash[..12])))
            })
            .collect();
        if !prints.is_empty() {
            l.insert("templates".into(), Value::Object(prints));
        }
    }
    let mut out = Map::new();
    for section in SECTIONS {
        let entries = match doc.remove(*section) {
            Some(Value::Array(items)) => items,
            Some(Value::Null) | None => Vec::new(),
            Some(one) => vec![one],
        };
        out.insert((*section).to_owned(), Value::Array(entries));
    }
    out
}

/// What names an entry of a section: its code, or for a table of the data map or a company
/// database its name.
fn code_in(section: &str, entry: &Value) -> Option<String> {
    let key = if matches!(section, "table" | "database" | "system") { "name" } else { "code" };
    entry.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn section_diff(section: &'static str, old: &Value, new: &Value, d: &mut Diff) {
    let (old, new) =
        (old.as_array().map(Vec::as_slice).unwrap_or(&[]), new.as_array().map(Vec::as_slice).unwrap_or(&[]));
    let code = |e: &Value| code_in(section, e);
    let find = |list: &[Value], c: &Option<String>| list.iter().position(|e| code(e) == *c);
    let line = |change, code: Option<String>| Change { section, change, code, key: None, old: None, new: None };
    for o in old.iter().filter(|o| find(new, &code(o)).is_none()) {
        d.removed += 1;
        d.changes.push(Change { old: Some(o.clone()), ..line(Kind::Removed, code(o)) });
    }
    for n in new {
        let c = code(n);
        match find(old, &c) {
            Some(i) => {
                let mut keys = Vec::new();
                value_diff(String::new(), Some(&old[i]), Some(n), &mut keys);
                if !keys.is_empty() {
                    d.changed += 1;
                }
                for (key, o, n) in keys {
                    d.changes.push(Change { key: Some(key), old: o, new: n, ..line(Kind::Changed, c.clone()) });
                }
            }
            None => {
                d.added += 1;
                d.changes.push(Change { new: Some(n.clone()), ..line(Kind::Added, c) });
            }
        }
    }
    // The entries both hold, in each one's order: a different order is a change of its own.
    let kept = |list: &[Value], other: &[Value]| -> Vec<Value> {
        list.iter().filter(|e| find(other, &code(e)).is_some()).filter_map(|e| code(e).map(Value::from)).collect()
    };
    let (was, is) = (kept(old, new), kept(new, old));
    if was != is {
        d.changed += 1;
        d.changes.push(Change {
            old: Some(Value::Array(was)),
            new: Some(Value::Array(is)),
            ..line(Kind::Reordered, None)
        });
    }
}

/// The keys whose values differ, as paths: tables are walked key by key, arrays of tables of
/// the same length entry by entry; any other difference is one value.
fn value_diff(
    path: String,
    old: Option<&Value>,
    new: Option<&Value>,
    out: &mut Vec<(String, Option<Value>, Option<Value>)>,
) {
    let at = |key: &str| if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
    match (old, new) {
        (Some(Value::Object(o)), Some(Value::Object(n))) => {
            for (k, v) in o {
                value_diff(at(k), Some(v), n.get(k), out);
            }
            for (k, v) in n.iter().filter(|(k, _)| !o.contains_key(*k)) {
                value_diff(at(k), None, Some(v), out);
            }
        }
        (Some(Value::Array(o)), Some(Value::Array(n)))
            if o.len() == n.len() && o.iter().chain(n).all(Value::is_object) && o != n =>
        {
            for (i, (o, n)) in o.iter().zip(n).enumerate() {
                value_diff(format!("{path}[{i}]"), Some(o), Some(n), out);
            }
        }
        // A category's purposes are kept in the purposes' order: reordering the purposes
        // reorders them, which is no change of the category's own.
        (Some(Value::Array(o)), Some(Value::Array(n))) if path.ends_with("purposes") && same_set(o, n) => {}
        (o, n) if o != n => out.push((path, o.cloned(), n.cloned())),
        _ => {}
    }
}

/// Two lists of the same values in any order.
fn same_set(a: &[Value], b: &[Value]) -> bool {
    let sorted = |l: &[Value]| {
        let mut v: Vec<String> = l.iter().map(Value::to_string).collect();
        v.sort();
        v
    };
    a.len() == b.len() && sorted(a) == sorted(b)
}

impl std::fmt::Display for Change {
    /// One line: `~ purpose newsletter: description_en: "old" → "new"`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |v: &Option<Value>| v.as_ref().map_or("(none)".to_owned(), Value::to_string);
        let entry = match &self.code {
            Some(c) => format!("{} {c}", self.section),
            None => self.section.to_owned(),
        };
        match self.change {
            Kind::Removed => write!(f, "- {entry}{}: removed", name(self.old.as_ref())),
            Kind::Added => write!(f, "+ {entry}{}: added", name(self.new.as_ref())),
            Kind::Changed => write!(
                f,
                "~ {entry}: {}: {} → {}",
                self.key.as_deref().unwrap_or(""),
                shown(&self.old),
                shown(&self.new)
            ),
            Kind::Reordered => write!(f, "~ {entry}: order: {} → {}", shown(&self.old), shown(&self.new)),
        }
    }
}

/// ` (its name)` of an entry, for an added or removed line.
fn name(entry: Option<&Value>) -> String {
    entry
        .and_then(|e| e.get("name").or_else(|| e.get("name_en")))
        .and_then(Value::as_str)
        .map(|n| format!(" ({n})"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::store::{fixture, Store};

    fn virtio() -> CompanyFile {
        let mut store = Store::in_memory().unwrap();
        fixture::load(&mut store.conn, fixture::find("virtio").unwrap(), Clock::from_env().unwrap(), true).unwrap();
        super::super::export::export(&store.conn).unwrap().unwrap()
    }

    #[test]
    fn the_same_register_has_no_difference() {
        let f = virtio();
        assert!(diff(Some(&f), &f).is_empty());
    }

    /// Purposes reordered: one line for their order, none for a category whose purposes come
    /// in that order too.
    #[test]
    fn a_new_order_of_the_purposes_is_one_change_not_one_per_category() {
        let before = virtio();
        let mut after = before.clone();
        after.purpose.swap(0, 1);
        let (first, second) = (after.purpose[1].code.clone(), after.purpose[0].code.clone());
        for c in after.category.iter_mut() {
            let (i, j) = (c.purposes.iter().position(|p| *p == first), c.purposes.iter().position(|p| *p == second));
            if let (Some(i), Some(j)) = (i, j) {
                c.purposes.swap(i, j);
            }
        }
        let d = diff(Some(&before), &after);
        let lines: Vec<String> = d.changes.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].starts_with("~ purpose: order: ["), "{lines:?}");
    }

    #[test]
    fn a_changed_text_an_added_entry_a_removed_one_and_a_new_order_each_have_a_line() {
        let before = virtio();
        let mut after = before.clone();
        after.purpose[0].description_en = "New words".into();
        after.automated_decision[0].step[1].days_after_due += 7;
        after.company = "renamed".into();
        let gone = after.right.remove(0);
        after.legal_basis.swap(0, 1);
        let mut added = after.recipient[0].clone();
        added.code = "postnl".into();
        after.recipient.push(added);
        let d = diff(Some(&before), &after);
        assert_eq!((d.added, d.removed, d.changed), (1, 1, 4), "{:#?}", d.changes);
        let lines: Vec<String> = d.changes.iter().map(ToString::to_string).collect();
        assert!(lines.contains(&format!("~ controller: company: \"{}\" → \"renamed\"", before.company)), "{lines:?}");
        assert!(lines.contains(&format!("- right {}{}: removed", gone.code, format_args!(" ({})", gone.name_en))));
        assert!(lines.iter().any(|l| l.starts_with("+ recipient postnl (")), "{lines:?}");
        let purpose = &before.purpose[0];
        assert!(lines.contains(&format!(
            "~ purpose {}: description_en: {} → \"New words\"",
            purpose.code,
            Value::from(purpose.description_en.clone())
        )));
        let decision = &before.automated_decision[0].code;
        assert!(lines
            .iter()
            .any(|l| l.starts_with(&format!("~ automated_decision {decision}: step[1].days_after_due: "))));
        assert!(lines.iter().any(|l| l.starts_with("~ legal_basis: order: [")), "{lines:?}");
    }

    #[test]
    fn a_store_without_a_register_gets_every_entry_added() {
        let f = virtio();
        let d = diff(None, &f);
        assert_eq!(d.removed + d.changed, 0);
        assert_eq!(
            d.added,
            1 + f.legal_basis.len()
                + f.purpose.len()
                + f.category.len()
                + f.recipient.len()
                + f.retention.len()
                + f.automated_decision.len()
                + f.right.len()
                + f.table.len()
        );
    }
}
