//! Portable archives (GDPR Art. 20, and the copy of Art. 15(3)): one zip per request with
//! `manifest.json`, `data.json`, one CSV per table under `csv/`, `register.json`, a self-contained
//! `index.html`, `README.txt`/`LEESMIJ.txt`, and attachments under `files/`. Rows are streamed
//! from the store into the zip, so memory stays bounded whatever one person's data holds; each
//! entry is hashed while it is written. Which categories go in is decided by the register:
//! an export holds the categories marked portable, an access archive holds all of them.
//! docs/archive-format.md describes the format.

pub(crate) mod html;
pub mod labels;
pub mod present;
mod register_text;
mod requests;
mod rows;
pub mod sections;
mod text;
mod writer;

use std::ffi::CString;
use std::io::{Read, Write};

use rusqlite::MAIN_DB;

use crate::store::db::Db;
use serde::Serialize;
use serde_json::{json, Map, Value};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::recipients;
use crate::register::{Category, Register};
use crate::request::{Kind, Request};
use crate::subject::Subject;
use register_text::register_text;
use writer::{most_bytes, Count, Writer};

pub use register_text::KeptTexts;
pub use rows::{attachment_name, Rows};

pub const FORMAT_VERSION: u32 = 1;

/// One file of the archive, as listed in the manifest.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestFile {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
    /// Records of the person the file holds (CSV: data lines); 0 for descriptive files.
    pub rows: u64,
}

#[derive(Debug, Serialize)]
pub struct Manifest {
    pub format_version: u32,
    pub controller: String,
    pub request: String,
    pub right: String,
    pub generated_at: String,
    pub categories: Vec<String>,
    pub files: Vec<ManifestFile>,
}

/// What to put in an archive.
pub struct Spec<'a> {
    pub request: &'a Request,
    pub subject: Subject,
    pub generated_at: String,
    /// AES-256 for every entry when set.
    pub passphrase: Option<&'a str>,
}

/// The categories an archive for this right holds, with their tables: an export holds the
/// portable categories, without the tables the data map leaves out of it (`export.exclude`).
pub fn scope(register: &Register, right: Kind) -> Vec<Category> {
    if right != Kind::Export {
        return register.categories.clone();
    }
    let exported = |t: &String| register.map.table(t).is_none_or(|e| !e.export.exclude);
    let portable = register.categories.iter().filter(|c| c.portable);
    let categories =
        portable.map(|c| Category { tables: c.tables.iter().filter(|t| exported(t)).cloned().collect(), ..c.clone() });
    categories.filter(|c| !c.tables.is_empty()).collect()
}

/// Write the archive for a verified request into `out`.
pub fn write<W: Write>(conn: &dyn Db, register: &Register, spec: &Spec<'_>, out: W) -> anyhow::Result<Manifest> {
    let controller = register.controller.clone().ok_or_else(crate::error::Error::no_register)?;
    let right = spec.request.kind()?;
    let in_scope = scope(register, right);
    let categories: Vec<&Category> = in_scope.iter().collect();
    let recipients = recipients::for_person(conn, register, &spec.subject)?;
    let mut options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        // Level 1: archives are small and many (batches); speed matters more than a few percent of size.
        .compression_level(Some(1))
        .unix_permissions(0o600);
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&spec.generated_at) {
        use chrono::{Datelike, Timelike};
        let stamp = zip::DateTime::from_date_and_time(
            t.year() as u16,
            t.month() as u8,
            t.day() as u8,
            t.hour() as u8,
            t.minute() as u8,
            t.second() as u8,
        );
        if let Ok(stamp) = stamp {
            options = options.last_modified_time(stamp);
        }
    }
    // Streamed (sizes and CRCs in data descriptors after each entry): the writer never seeks
    // back, so the archive goes to the file in large sequential writes.
    let mut w = Writer { zip: ZipWriter::new_stream(out), options, passphrase: spec.passphrase, files: Vec::new() };
    let s = &spec.subject;
    let head = json!({
        "format_version": FORMAT_VERSION,
        "controller": controller.name,
        "request": spec.request.id,
        "right": spec.request.right,
        "generated_at": spec.generated_at,
    });

    // First pass: each table's rows counted, so the CSV pass knows which tables to write without
    // asking the store again, and their size in JSON at most, which bounds every entry made from
    // them (an entry whose bound reaches the ZIP64 size is measured before it is written).
    let mut counts: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    let mut json_bytes: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    let mut rows_of =
        Rows { conn, subject: *s, provided_only: right == Kind::Export, kept: Some(Default::default()), kept_rows: 0 };
    for t in categories.iter().flat_map(|c| &c.tables) {
        let (mut n, mut size) = (0u64, 0u64);
        rows_of.read(t, |row| {
            n += 1;
            size = size.saturating_add(json_bound(row));
            Ok(())
        })?;
        counts.insert(t.clone(), n);
        json_bytes.insert(t.clone(), size.saturating_add(n));
    }
    // The categories the person has records in (Art. 15(1)(b): the categories concerned); the
    // others are not in the archive, nor named in its manifest, data or register.json.
    let categories: Vec<_> =
        categories.into_iter().filter(|c| c.tables.iter().any(|t| counts.get(t).copied().unwrap_or(0) > 0)).collect();
    let mut rows_json: u64 = json_bytes.values().sum();
    // data.json's ZIP64 field follows from its bound alone: near that size, the rows' JSON is
    // measured exactly (as every archive's was before the bound), so no archive changes.
    if rows_json.saturating_add(1 << 20) >= writer::ZIP64_FROM {
        let mut exact = Count::default();
        for t in categories.iter().flat_map(|c| &c.tables) {
            rows_of.each(t, |row| Ok(serde_json::to_writer(&mut exact, row)?))?;
        }
        rows_json = exact.0 + counts.values().sum::<u64>();
    }

    // data.json: everything in scope, nested by category and table; the rows plus names and commas.
    w.entry("data.json", rows_json.saturating_add(1 << 20), |out| {
        let head = serde_json::to_string(&head)?;
        out.write_all(&head.as_bytes()[..head.len() - 1])?;
        out.write_all(b",\"categories\":{")?;
        let mut records = 0;
        for (ci, c) in categories.iter().enumerate() {
            if ci > 0 {
                out.write_all(b",")?;
            }
            write!(
                out,
                "{}:{{\"name_en\":{},\"name_nl\":{},\"tables\":{{",
                json!(c.code),
                json!(c.name_en),
                json!(c.name_nl)
            )?;
            for (ti, t) in c.tables.iter().enumerate() {
                if ti > 0 {
                    out.write_all(b",")?;
                }
                write!(out, "{}:[", json!(t))?;
                let mut n = 0u64;
                rows_of.each(t, |row| {
                    if n > 0 {
                        out.write_all(b",")?;
                    }
                    n += 1;
                    serde_json::to_writer(&mut *out, row)?;
                    Ok(())
                })?;
                records += n;
                out.write_all(b"]")?;
            }
            out.write_all(b"}}")?;
        }
        out.write_all(b"}}\n")?;
        Ok(records)
    })?;

    // One CSV per table that holds records of the person.
    for c in &categories {
        for t in &c.tables {
            if counts.get(t).copied().unwrap_or(0) == 0 {
                continue;
            }
            let fill = |out: &mut dyn Write| {
                let mut csv = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(out);
                let mut rows = 0;
                rows_of.each(t, |row| {
                    if rows == 0 {
                        csv.write_record(row.keys())?;
                    }
                    csv.write_record(row.values().map(|v| neutralise(&csv_cell(v))))?;
                    rows += 1;
                    Ok(())
                })?;
                csv.flush()?;
                Ok(rows)
            };
            // A cell is at most twice its JSON value and 3 bytes, which the JSON's key, quotes
            // and comma outweigh; the header is at most one row: 3 times the JSON bounds the CSV.
            let most = most_bytes(json_bytes[t].saturating_mul(3), |out| fill(out).map(drop))?;
            w.entry(&format!("csv/{t}.csv"), most, fill)?;
        }
    }

    // Attachments, streamed from the store: in an export, those of the rows it holds (not one
    // under a message someone else wrote, nor a row the person did not provide).
    let map = &register.map;
    let export = right == Kind::Export;
    for t in categories.iter().flat_map(|c| &c.tables) {
        let scope = match export {
            true => map.provided_scope(t, conn.map_dialect()),
            false => map.scope(t),
        };
        let (Some(entry), Some(scope)) = (map.table(t), scope) else { continue };
        let Some(a) = &entry.attachment else { continue };
        let own = match export {
            true => format!(" AND {}", map.provided_rows(t, conn.map_dialect())),
            false => String::new(),
        };
        let mut docs: Vec<(i64, i64, String)> = Vec::new();
        conn.each(
            &format!(
                "SELECT rowid, {}, {} FROM {} WHERE {} AND {} IS NOT NULL{own} ORDER BY {}",
                entry.key, a.media_type, scope.from, scope.filter, a.content, entry.key
            ),
            &[s.person_id.into()],
            &mut |r| {
                // A file without a media type is a file all the same (`.bin`).
                docs.push((r.get(0)?, r.get(1)?, r.get::<Option<String>>(2)?.unwrap_or_default()));
                Ok(())
            },
        )?;
        let Some(sqlite) = conn.sqlite() else {
            // PostgreSQL: each file is read whole (a bytea value), then written.
            for (_, id, media) in docs {
                // By the table's key (PostgreSQL's rowid column has no index); a document that
                // went since the list was read (it cannot, in this snapshot) is an error.
                let bytes: Vec<u8> = conn.one(
                    &format!("SELECT {} FROM {} WHERE {} = ?1", a.content, map.sql_name(t), entry.key),
                    &[id.into()],
                    |r| r.get(0),
                )?;
                w.entry(&attachment_name(t, id, &media), bytes.len() as u64, |out| {
                    out.write_all(&bytes)?;
                    Ok(0)
                })?;
            }
            continue;
        };
        let (table, column) = (CString::new(t.as_str())?, CString::new(a.content.as_str())?);
        // The file is read where the table lives: dsr's store, or the company database.
        let db = match &entry.database {
            Some(d) => CString::new(d.as_str())?,
            None => MAIN_DB.to_owned(),
        };
        for (rowid, id, media) in docs {
            let mut blob = sqlite.blob_open(db.as_c_str(), table.as_c_str(), column.as_c_str(), rowid, true)?;
            w.entry(&attachment_name(t, id, &media), blob.len() as u64, |out| {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = blob.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    out.write_all(&buf[..n])?;
                }
                Ok(0)
            })?;
        }
    }

    // register.json: the Art. 15 items.
    let register_text = register_text(register, &categories, &recipients)?;
    let register_bytes = register_text.len() as u64;
    w.entry("register.json", register_bytes, |out| {
        out.write_all(&register_text)?;
        Ok(0)
    })?;

    // index.html: the same, readable, offline. Markup, escaping and translated values make a cell
    // some tens of times its JSON at most (the history and dunning sections are held in memory, so
    // small): 256 times leaves room, and past that bound the page is measured before it is written.
    let page = |out: &mut dyn Write| html::write_copy(out, &rows_of, register, &categories, &counts, &recipients, spec);
    let bound = rows_json.saturating_add(register_bytes).saturating_mul(256).saturating_add(1 << 20);
    let most = most_bytes(bound, |out| page(out).map(drop))?;
    w.entry("index.html", most, page)?;
    let said = (!register.automated_decisions.is_empty(), w.files.iter().any(|f| f.path.starts_with("files/")));
    w.entry("README.txt", 1 << 20, |out| {
        out.write_all(text::readme_en(&controller.name, &spec.request.id, right, said).as_bytes())?;
        Ok(0)
    })?;
    w.entry("LEESMIJ.txt", 1 << 20, |out| {
        out.write_all(text::readme_nl(&controller.name, &spec.request.id, right, said).as_bytes())?;
        Ok(0)
    })?;

    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        controller: controller.name.clone(),
        request: spec.request.id.clone(),
        right: spec.request.right.clone(),
        generated_at: spec.generated_at.clone(),
        categories: categories.iter().map(|c| c.code.clone()).collect(),
        files: w.files.clone(),
    };
    let mut manifest_text = serde_json::to_vec_pretty(&manifest)?;
    manifest_text.push(b'\n');
    w.entry("manifest.json", manifest_text.len() as u64, |out| {
        out.write_all(&manifest_text)?;
        Ok(0)
    })?;
    // The archive's comment names its request, readable without the passphrase: a batch run
    // again knows an archive of another request put in this one's place.
    w.zip.set_comment(comment(&spec.request.id));
    // The buffered writer under the zip is flushed here, not on drop: a full disk (or any write
    // error) must fail the archive, never leave it cut short behind a success.
    w.zip.finish()?.into_inner().flush()?;
    Ok(manifest)
}

/// The comment of the archive answering `request`.
pub fn comment(request: &str) -> String {
    format!("dsr archive for request {request}")
}

/// At least the bytes of a row in compact JSON, without writing it: any byte of a string may
/// become a six-byte escape, and a number takes at most 24 characters.
fn json_bound(row: &Map<String, Value>) -> u64 {
    fn text(s: &str) -> u64 {
        2 + 6 * s.len() as u64
    }
    fn value(v: &Value) -> u64 {
        match v {
            Value::Null | Value::Bool(_) => 5,
            Value::Number(_) => 24,
            Value::String(s) => text(s),
            Value::Array(a) => 2 + a.iter().map(|x| value(x) + 1).sum::<u64>(),
            Value::Object(o) => 2 + o.iter().map(|(k, x)| text(k) + value(x) + 2).sum::<u64>(),
        }
    }
    2 + row.iter().map(|(k, x)| text(k) + value(x) + 2).sum::<u64>()
}

pub fn csv_cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Cells a spreadsheet would run as a formula get a leading apostrophe (OWASP CSV injection).
/// A plain number with its sign (a phone number in E.164, `+31612345678`; an amount, `-5`) is
/// no formula, and stays as it is: an Art. 20 copy is for machines to read too.
pub fn neutralise(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) && !signed_number(cell) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

/// A sign, digits, and at most one decimal point between digits: nothing a spreadsheet runs.
fn signed_number(cell: &str) -> bool {
    let digits = &cell[1..];
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "1"));
    let plain = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    cell.starts_with(['+', '-']) && plain(whole) && plain(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised_and_others_kept() {
        for bad in [
            "=HYPERLINK(\"http://x\")",
            "+31+cmd",
            "-1+1",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "+",
            "-.5",
            "+1.",
            "+1.2.3",
            "-1e5",
            "=1",
        ] {
            assert!(neutralise(bad).starts_with('\''), "{bad}");
        }
        for ok in ["Jan", "Zoë", "", "1+1", "jan@example.nl", "+31612345678", "-5", "-12.50"] {
            assert_eq!(neutralise(ok), ok);
        }
    }

    #[test]
    fn a_rows_json_bound_is_never_below_its_json() {
        let rows = [
            json!({}),
            json!({"id": 1, "name": "Zoë \"Z\" \u{1}\n", "at": null, "ok": true, "amount": -9223372036854775807i64}),
            json!({"x": 1.7976931348623157e308, "y": -2.2250738585072014e-308, "content": {"file": "f\\g", "bytes": 3}}),
            json!({"\u{7f}\u{1f}": ["\u{0}", 1, [], {}], "": ""}),
        ];
        for row in rows {
            let map = row.as_object().unwrap();
            let exact = serde_json::to_string(map).unwrap().len() as u64;
            assert!(json_bound(map) >= exact, "{row}: {} < {exact}", json_bound(map));
        }
    }

    #[test]
    fn attachment_names_carry_no_personal_data_or_paths() {
        assert_eq!(attachment_name("cv_file", 7, "application/pdf"), "files/cv-file-7.pdf");
        assert_eq!(attachment_name("cv_file", 8, "../../etc/passwd"), "files/cv-file-8.bin");
    }
}
