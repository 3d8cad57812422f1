//! The person's rows as an archive reads them: streamed per table from the store, attachments
//! replaced by a reference to their file, and a small cache for the renderings that read a
//! table twice.

use serde_json::{json, Map, Value};

use crate::rights::access;
use crate::store::db::Db;
use crate::store::personal::DataMap;
use crate::subject::Subject;

/// The name an attachment gets inside the archive: generated from the table and the row's key,
/// no personal data, no path.
pub fn attachment_name(table: &str, id: i64, media_type: &str) -> String {
    let ext = match media_type {
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        "text/markdown" => "md",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "application/msword" => "doc",
        "application/vnd.oasis.opendocument.text" => "odt",
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "application/zip" => "zip",
        _ => "bin",
    };
    format!("files/{}-{id}.{ext}", table.replace('_', "-"))
}

/// Stream a table's rows for the person, with attachments replaced by a reference to their file.
fn each_row(
    conn: &dyn Db,
    table: &str,
    s: &Subject,
    provided_only: bool,
    mut f: impl FnMut(Map<String, Value>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let map = DataMap::load(conn)?;
    let entry = map.table(table);
    let attachment = entry.and_then(|t| t.attachment.as_ref().map(|a| (a, t.key.as_str())));
    access::each_row_of(conn, table, s, provided_only, |mut row| {
        // A row without a file (its content empty) keeps an empty cell, and names no file.
        if let Some((a, key)) = attachment.filter(|(a, _)| row.get(&a.content).is_some_and(|c| !c.is_null())) {
            let id = row.get(key).and_then(Value::as_i64).unwrap_or_default();
            let media = row.get(&a.media_type).and_then(Value::as_str).unwrap_or_default().to_owned();
            let bytes = row.get(&a.content).and_then(|c| c.get("bytes")).cloned().unwrap_or(Value::Null);
            row.insert(a.content.clone(), json!({"file": attachment_name(table, id, &media), "bytes": bytes}));
        }
        f(row)
    })
}

/// The person's rows, read once for `data.json` and kept for the CSV files and `index.html` while
/// they are few (most people); past [`KEEP_ROWS`] they are read again for each, so memory stays
/// bounded whatever a person has.
pub struct Rows<'c> {
    pub(super) conn: &'c dyn Db,
    pub(super) subject: Subject,
    /// A portability export: only rows the person provided (see `access::each_row_of`).
    pub(super) provided_only: bool,
    pub(super) kept: Option<std::collections::HashMap<String, Vec<Map<String, Value>>>>,
    pub(super) kept_rows: usize,
}

const KEEP_ROWS: usize = 5_000;

impl Rows<'_> {
    /// Call `f` for each row of `table`, from memory when kept (lent, not copied: each row is
    /// read three times, for `data.json`, its CSV file and `index.html`).
    pub fn each(
        &self,
        table: &str,
        mut f: impl FnMut(&Map<String, Value>) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        match &self.kept {
            Some(kept) => kept.get(table).into_iter().flatten().try_for_each(f),
            None => each_row(self.conn, table, &self.subject, self.provided_only, |row| f(&row)),
        }
    }

    /// The first pass: read from the store, keeping rows while there are few.
    pub(super) fn read(
        &mut self,
        table: &str,
        mut f: impl FnMut(&Map<String, Value>) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut rows = Vec::new();
        let keep = self.kept.is_some();
        let mut count = self.kept_rows;
        each_row(self.conn, table, &self.subject, self.provided_only, |row| {
            f(&row)?;
            count += 1;
            if keep && count <= KEEP_ROWS {
                rows.push(row);
            }
            Ok(())
        })?;
        self.kept_rows = count;
        match &mut self.kept {
            Some(_) if count > KEEP_ROWS => self.kept = None,
            Some(kept) => {
                kept.insert(table.to_owned(), rows);
            }
            None => {}
        }
        Ok(())
    }
}
