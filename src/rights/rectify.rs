//! The right to rectification (GDPR Art. 16): typed, validated corrections of the data on file,
//! and supplementary statements that complete a category. A change is checked when the request
//! is opened and again when it is applied; an unknown field is an error listing the valid ones.
//! The fields, the rows they live in and their validators come from the store's data map (the
//! `[[table.rectify]]` entries of the company file).

use crate::store::db::Db;
use crate::vals;
use rusqlite::Connection;
use serde::Serialize;

use crate::error::Error;
use crate::map::table::{IdentifierColumn, IdentifierKind, Rectifiable, Table, Validator};
use crate::register::Register;
use crate::store::personal::DataMap;
use crate::subject::{self, Subject};

pub mod carry_out;
pub mod validate;
pub use validate::{country_code, postal_code, validate, vat};

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Change {
    pub field: String,
    pub value: String,
}

/// One change with the value it replaces.
#[derive(Debug, Clone, Serialize)]
pub struct Planned {
    pub field: String,
    pub old: Option<String>,
    pub new: String,
}

fn valid_fields(map: &DataMap) -> String {
    map.rectifiable().map(|(_, f)| f.field.as_str()).collect::<Vec<_>>().join(", ")
}

/// The fields a person may have rectified, one a line with what each is (`dsr rectify --help`).
pub fn fields_help(map: &DataMap) -> String {
    let width = map.rectifiable().map(|(_, f)| f.field.len()).max().unwrap_or(0);
    let lines: Vec<String> =
        map.rectifiable().map(|(_, f)| format!("  {:width$}  {}", f.field, f.label, width = width)).collect();
    format!("Fields (the store's data map):\n{}", lines.join("\n"))
}

/// `dsr rectify --help`'s list of fields, from the data map of the store at `path` (read-only,
/// no migration); `None` when it cannot be read or has no rectifiable field.
pub fn fields_of_store(path: &std::path::Path) -> Option<String> {
    use rusqlite::OpenFlags;
    if !path.is_file() {
        return None;
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
    let map = DataMap::load(&conn).ok()?;
    map.rectifiable().next()?;
    Some(format!("{}\n\n{MAIL_ADDRESS_NOTE}", fields_help(&map)))
}

/// What the help says of a change to the address a person is written to.
pub const MAIL_ADDRESS_NOTE: &str =
    "Changing the email address on file sends the code to the old address, and the old address is told of the change.";

/// A field of the map by the name given (case and surrounding spaces ignored).
fn field<'m>(map: &'m DataMap, name: &str) -> Option<(&'m Table, &'m Rectifiable)> {
    map.rectifiable_field(&name.trim().to_ascii_lowercase())
}

/// A field's validator; a field the map gives none is free text.
fn rule(f: &Rectifiable) -> Validator {
    f.validator.unwrap_or(Validator::Text)
}

/// Parse the `FIELD=VALUE` arguments of a new request and validate each value. A postal code is
/// checked for the country set in the same table by the same request, else as Dutch.
pub fn parse_sets(map: &DataMap, args: &[String]) -> Result<Vec<Change>, Error> {
    let split = |arg: &str| arg.split_once('=').map(|(f, v)| (f.trim().to_ascii_lowercase(), v.trim().to_owned()));
    let mut out = Vec::new();
    for arg in args {
        let (name, value) = split(arg)
            .ok_or_else(|| Error::invalid("--set", format!("expected FIELD=VALUE; fields: {}", valid_fields(map))))?;
        let (table, f) = field(map, &name)
            .ok_or_else(|| Error::invalid("--set", format!("unknown field; valid fields: {}", valid_fields(map))))?;
        let country = args.iter().filter_map(|a| split(a)).find_map(|(n, v)| {
            field(map, &n)
                .filter(|(t, c)| t.name == table.name && rule(c) == Validator::Country)
                .map(|_| v.to_ascii_uppercase())
        });
        let value = validate(rule(f), &f.field, &value, country.as_deref())?;
        if out.iter().any(|c: &Change| c.field == f.field) {
            return Err(Error::invalid("--set", format!("{} is given twice; give each field one value", f.field)));
        }
        out.push(Change { field: f.field.clone(), value });
    }
    Ok(out)
}

/// Validate the changes of a verified request again, just before they are applied: a postal
/// code against the country the row will have (set by the request, else the one on file).
pub fn revalidate(
    conn: &dyn Db,
    map: &DataMap,
    s: &Subject,
    named: Option<&str>,
    changes: &mut [Change],
) -> anyhow::Result<()> {
    let known: Vec<(String, String)> = changes.iter().map(|c| (c.field.clone(), c.value.clone())).collect();
    for c in changes.iter_mut() {
        let (table, f) = spot(map, &c.field)?;
        let is_country = |x: &Rectifiable| rule(x) == Validator::Country;
        let mut country = known
            .iter()
            .find(|(n, _)| map.rectifiable_field(n).is_some_and(|(t, x)| t.name == table.name && is_country(x)))
            .map(|(_, v)| v.clone());
        if country.is_none() {
            if let Some(x) = table.rectify.iter().find(|x| is_country(x)) {
                country = current(conn, map, table, x, s, named)?.and_then(|(_, v)| v);
            }
        }
        c.value = validate(rule(f), &f.field, &c.value, country.as_deref())?;
    }
    Ok(())
}

/// A field of the map, for a change already parsed (a request stored before the map changed may
/// name one that is gone).
fn spot<'m>(map: &'m DataMap, name: &str) -> Result<(&'m Table, &'m Rectifiable), Error> {
    map.rectifiable_field(name)
        .ok_or_else(|| Error::invalid("--set", format!("unknown field {name}; valid fields: {}", valid_fields(map))))
}

/// The row a field of the person is corrected in and the value it holds there: the address the
/// request was opened with for a table of email addresses (the one that received the code and
/// receives the notice), else the first in the field's `preferred` order. `None`: nothing on file.
fn current(
    conn: &dyn Db,
    map: &DataMap,
    table: &Table,
    f: &Rectifiable,
    s: &Subject,
    named: Option<&str>,
) -> anyhow::Result<Option<(i64, Option<String>)>> {
    let finder = map
        .field_row(table, f)
        .ok_or_else(|| anyhow::anyhow!("the data map gives table {} no way to a person", table.name))?;
    let row: Option<i64> = if finder.contains("?2") {
        let named = map.email_rule().compared(named.unwrap_or("")).into_owned();
        conn.first(&finder, &vals![s.person_id, named]?, |r| r.get(0))?
    } else {
        conn.first(&finder, &vals![s.person_id]?, |r| r.get(0))?
    };
    let Some(row) = row else { return Ok(None) };
    let sql = format!("SELECT {} FROM {} WHERE {} = ?1", f.column, table.sql_name(), table.key);
    Ok(Some((row, conn.one(&sql, &vals![row]?, |r| r.get(0))?)))
}

/// Whether a field holds the email address the person is written to (the column an email
/// identifier is `written_in`): changing it tells the old address first.
pub fn is_mail_address(map: &DataMap, name: &str) -> bool {
    map.rectifiable_field(name).is_some_and(|(t, f)| {
        t.identifier.iter().any(|i| i.kind == IdentifierKind::Email && i.written_in.as_deref() == Some(&f.column))
    })
}

/// How the answer letter names a field: (English, Dutch), from the map, else the field's name.
pub fn letter_names(map: &DataMap, name: &str) -> (String, String) {
    let plain = name.replace('_', " ");
    match map.rectifiable_field(name) {
        Some((_, f)) => {
            (f.name_en.clone().unwrap_or_else(|| plain.clone()), f.name_nl.clone().unwrap_or_else(|| plain.clone()))
        }
        None => (plain.clone(), plain),
    }
}

/// The register categories a rectification touches (Art. 19): the categories of the tables the
/// changed fields live in, and the categories that supplementary statements complete.
pub fn categories(register: &Register, map: &DataMap, fields: &[&str], statements: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    // A column of another category than its table's (an IBAN among the member's details) is told as that.
    let of_tables = fields.iter().filter_map(|f| map.rectifiable_field(f)).map(|(t, r)| t.category_of(&r.column));
    for code in of_tables.filter(|c| register.category(c).is_some()).chain(statements.iter().copied()) {
        if !out.iter().any(|x| x == code) {
            out.push(code.to_owned());
        }
    }
    out
}

/// Read the current values: old -> new. A field with nothing on file to correct is an error.
pub fn plan(
    conn: &dyn Db,
    map: &DataMap,
    s: &Subject,
    named: Option<&str>,
    changes: &[Change],
) -> anyhow::Result<Vec<Planned>> {
    let mut out = Vec::new();
    for c in changes {
        let (table, f) = spot(map, &c.field)?;
        let Some((_, old)) = current(conn, map, table, f, s, named)? else {
            return Err(Error::RequestState(format!(
                "nothing on file for {} to correct; the person has no {} record",
                c.field, table.name
            ))
            .into());
        };
        out.push(Planned { field: c.field.clone(), old, new: c.value.clone() });
    }
    Ok(out)
}

/// Where a rectification set a value: table, the row's key, column.
pub type Spot = (String, String, String);

/// What a rectification changed: where each value was set, and for a row whose source key (its
/// `[table.import] key`) a value changed, the key it had before: (table, row's key, source key).
/// The systems that copy the row know it by that key (docs/tasks.md).
#[derive(Debug, Default)]
pub struct Applied {
    pub spots: Vec<Spot>,
    pub keys_before: Vec<Spot>,
}

/// Apply the changes, in the caller's transaction. An identifier kept in normalised form beside
/// the column changed (`written_in`) follows it.
pub fn apply(
    conn: &dyn Db,
    map: &DataMap,
    s: &Subject,
    named: Option<&str>,
    changes: &[Change],
) -> anyhow::Result<Applied> {
    let mut applied = Applied::default();
    for c in changes {
        let (table, f) = spot(map, &c.field)?;
        let (row, _) = current(conn, map, table, f, s, named)?
            .ok_or_else(|| Error::RequestState(format!("nothing on file for {} to correct", c.field)))?;
        let changes_key = |k: &str| {
            k == f.column
                || table.identifier.iter().any(|i| i.column == k && i.written_in.as_deref() == Some(&f.column))
        };
        let seen = applied.keys_before.iter().any(|(t, r, _)| *t == table.name && *r == row.to_string());
        if let Some(key) = table.import.key.as_deref().filter(|k| changes_key(k) && !seen) {
            let sql = format!("SELECT CAST({key} AS TEXT) FROM {} WHERE {} = ?1", table.sql_name(), table.key);
            if let Some(before) = conn.one::<Option<String>>(&sql, &vals![row]?, |r| r.get(0))? {
                applied.keys_before.push((table.name.clone(), row.to_string(), before));
            }
        }
        let spots = &mut applied.spots;
        let set = |column: &str, value: &str| {
            let sql = format!("UPDATE {} SET {column} = ?2 WHERE {} = ?1", table.sql_name(), table.key);
            conn.run(&sql, &vals![row, value]?)
        };
        set(&f.column, &c.value)?;
        spots.push((table.name.clone(), row.to_string(), f.column.clone()));
        for i in table.identifier.iter().filter(|i| i.written_in.as_deref() == Some(&f.column)) {
            set(&i.column, &normalised(i, &c.value))?;
            spots.push((table.name.clone(), row.to_string(), i.column.clone()));
        }
    }
    Ok(applied)
}

/// The email identifiers a rectifiable field sets: its own column, or one it is written into.
fn email_identifiers<'t>(table: &'t Table, f: &'t Rectifiable) -> impl Iterator<Item = &'t IdentifierColumn> {
    table.identifier.iter().filter(|i| {
        i.kind == IdentifierKind::Email && (i.column == f.column || i.written_in.as_deref() == Some(&f.column))
    })
}

/// The first change that would give the person an email address another person of the store
/// holds: lookups by it would then find two people, and the other's mail could go to this one.
/// Returns the field.
pub fn taken_by_another(
    conn: &dyn Db,
    map: &DataMap,
    s: &Subject,
    changes: &[Change],
) -> anyhow::Result<Option<String>> {
    for c in changes {
        let Some((table, f)) = map.rectifiable_field(&c.field) else { continue };
        // (A phone number two people share, a family's landline, is theirs by right.)
        for i in email_identifiers(table, f) {
            if map.people_with(conn, i.kind, &normalised(i, &c.value))?.iter().any(|p| *p != s.person_id) {
                return Ok(Some(c.field.clone()));
            }
        }
    }
    Ok(None)
}

/// The first planned change of an email address to one the person holds already in another row
/// (their second address): two rows of one address, which a correction does not make. Returns
/// the field.
pub fn already_the_persons(
    conn: &dyn Db,
    map: &DataMap,
    s: &Subject,
    planned: &[Planned],
) -> anyhow::Result<Option<String>> {
    for p in planned {
        let Some((table, f)) = map.rectifiable_field(&p.field) else { continue };
        let Some(scope) = map.scope(&table.name) else { continue };
        for i in email_identifiers(table, f) {
            let new = normalised(i, &p.new);
            if p.old.as_deref().map(|o| normalised(i, o)) == Some(new.clone()) {
                continue;
            }
            let sql = format!("SELECT count(*) FROM {} WHERE {} AND {} = ?2", scope.from, scope.filter, i.column);
            if conn.one(&sql, &[s.person_id.into(), new.into()], |r| r.get::<i64>(0))? > 0 {
                return Ok(Some(p.field.clone()));
            }
        }
    }
    Ok(None)
}

/// A value as an identifier of its kind is compared (docs/register-file.md).
fn normalised(id: &IdentifierColumn, value: &str) -> String {
    match id.kind {
        IdentifierKind::Email => id.local_part.unwrap_or_default().of_written(value),
        IdentifierKind::Phone => subject::normalize_phone(value).unwrap_or_else(|_| value.to_owned()),
        IdentifierKind::CustomerNumber => value.to_uppercase(),
        IdentifierKind::Cookie => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::store::{personal, Store};

    /// The built-in map plus a delivery-address table of another company's: a postal code checked
    /// for its own row's country, an email kept beside its folded form, a note without validator.
    fn store_with_delivery_addresses() -> (Store, DataMap) {
        let store = Store::in_memory().unwrap();
        store
            .conn
            .execute_batch(
                "INSERT INTO person (id, created_at, source) VALUES (1, '2026-01-01T00:00:00Z', 'signup');
                 CREATE TABLE delivery_address (id INTEGER PRIMARY KEY, person_id INTEGER NOT NULL REFERENCES person(id),
                     postcode TEXT, land TEXT, mail TEXT, mail_norm TEXT, note TEXT, created_at TEXT NOT NULL) STRICT;
                 INSERT INTO delivery_address VALUES
                     (1, 1, '1012 AB', 'NL', 'Ann@Example.NL', 'ann@example.nl', NULL, '2026-01-01T00:00:00Z'),
                     (2, 1, '1000', 'BE', 'ann.b@example.be', 'ann.b@example.be', NULL, '2026-03-01T00:00:00Z');",
            )
            .unwrap();
        let preferred = "created_at DESC, id";
        let mut tables = personal::builtin();
        tables.push(
            serde_json::from_value(json!({
                "name": "delivery_address",
                "category": "identity",
                "link": {"column": "person_id", "parent": "person"},
                "identifier": [{"column": "mail_norm", "kind": "email", "written_in": "mail"}],
                "rectify": [
                    {"field": "delivery_postcode", "column": "postcode", "validator": "postal-code", "label": "postal code", "preferred": preferred},
                    {"field": "delivery_country", "column": "land", "validator": "country", "label": "country", "preferred": preferred},
                    {"field": "delivery_email", "column": "mail", "validator": "email", "label": "email", "preferred": preferred},
                    {"field": "delivery_note", "column": "note", "label": "a note for the carrier", "preferred": preferred}
                ]
            }))
            .unwrap(),
        );
        (store, DataMap { tables })
    }

    #[test]
    fn unknown_fields_list_the_valid_ones() {
        let map = DataMap { tables: personal::builtin() };
        let set = |args: &[&str]| parse_sets(&map, &args.iter().map(|a| a.to_string()).collect::<Vec<_>>());
        let e = set(&["shoe_size=44"]).unwrap_err().to_string();
        assert!(e.contains("given_name") && e.contains("iban"), "{e}");
        assert!(set(&["no-equals-sign"]).is_err());
        assert_eq!(set(&["City=Amsterdam"]).unwrap(), vec![Change { field: "city".into(), value: "Amsterdam".into() }]);
        // A postal code is checked for the country the same request sets in its table.
        assert_eq!(set(&["postal_code=1000", "country=be"]).unwrap()[0].value, "1000");
        assert!(set(&["postal_code=1000"]).is_err());
    }

    fn changes(list: &[(&str, &str)]) -> Vec<Change> {
        list.iter().map(|(f, v)| Change { field: f.to_string(), value: v.to_string() }).collect()
    }

    #[test]
    fn a_field_of_another_table_is_validated_and_corrected_where_the_map_says() {
        let (store, map) = store_with_delivery_addresses();
        let conn = &store.conn;
        let s = Subject { person_id: 1, customer_id: None };
        assert!(fields_help(&map).contains("delivery_note") && fields_help(&map).contains("a note for the carrier"));
        // Opening: a postal code is checked for the country set in its table by the same request.
        let args = |a: &[&str]| a.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(parse_sets(&map, &args(&["delivery_postcode=1050"])).is_err(), "Dutch unless said otherwise");
        assert_eq!(parse_sets(&map, &args(&["delivery_postcode=10115", "delivery_country=de"])).unwrap().len(), 2);
        // A field without a validator is free text, still without control characters.
        assert!(parse_sets(&map, &args(&["delivery_note=ring twice"])).is_ok());
        assert!(parse_sets(&map, &args(&["delivery_note=ring\u{7}"])).is_err());
        // Applying: the country on file of the row corrected (the newest, Belgian) holds.
        let mut set = changes(&[("delivery_postcode", "1050"), ("delivery_note", "ring twice")]);
        revalidate(conn, &map, &s, None, &mut set).unwrap();
        let planned = plan(conn, &map, &s, None, &set).unwrap();
        assert_eq!(planned[0].old.as_deref(), Some("1000"));
        apply(conn, &map, &s, None, &set).unwrap();
        let row = |id: i64| -> (String, Option<String>) {
            conn.query_row("SELECT postcode, note FROM delivery_address WHERE id = ?1", [id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap()
        };
        assert_eq!(row(2), ("1050".to_owned(), Some("ring twice".to_owned())));
        assert_eq!(row(1), ("1012 AB".to_owned(), None));
        // An address the person is written to: the row of the address the request named is
        // corrected, and the copy the lookups compare follows (its domain folded: this map's
        // identifier compares the local part exactly).
        assert!(is_mail_address(&map, "delivery_email") && !is_mail_address(&map, "delivery_note"));
        let set = changes(&[("delivery_email", "Ann.New@Example.NL")]);
        apply(conn, &map, &s, Some("ann@example.nl"), &set).unwrap();
        let mail: (String, String) = conn
            .query_row("SELECT mail, mail_norm FROM delivery_address WHERE id = 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!(mail, ("Ann.New@Example.NL".to_owned(), "Ann.New@example.nl".to_owned()));
    }
}
