//! The batch file: a CSV with a header row naming the columns (`email` or `customer`,
//! `verified_by`, optional `reference`), one person per row, read with the file's own line
//! numbers so that every row's result names the line it came from.

use std::path::Path;

use crate::error::Error;
use crate::subject::Identifier;

/// One data row of the batch file.
#[derive(Debug, Clone)]
pub struct Row {
    pub line: u64,
    pub identifier: Result<(Identifier, String), String>,
    pub verified_by: String,
    pub reference: String,
}

/// Read the batch file. A missing header or unreadable file is an error for the whole batch;
/// a bad row becomes a row that fails with its reason.
pub fn read(path: &Path) -> anyhow::Result<Vec<Row>> {
    let bytes = std::fs::read(path).map_err(|e| Error::invalid("--batch", format!("cannot read the CSV file: {e}")))?;
    let lines = Lines::new(&bytes);
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(bytes.as_slice());
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::invalid(
            "--batch",
            "the file is empty: its first row names the columns (email or customer, verified_by, reference)",
        )
        .into());
    }
    let headers = reader
        .headers()
        .map_err(|e| Error::invalid("--batch", format!("cannot read the header row: {}", unreadable(&e))))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    for name in ["email", "customer", "verified_by", "reference"] {
        if headers.iter().filter(|h| h.eq_ignore_ascii_case(name)).count() > 1 {
            return Err(Error::invalid(
                "--batch",
                format!("the header row names the column {name} twice; name each column once"),
            )
            .into());
        }
    }
    let (email, customer, method, reference) = (col("email"), col("customer"), col("verified_by"), col("reference"));
    if email.is_none() && customer.is_none() {
        // A spreadsheet set to another separator (Dutch Excel writes `;`).
        let other = [';', '\t'].into_iter().find(|c| headers.len() == 1 && headers[0].contains(*c));
        return Err(Error::invalid(
            "--batch",
            match other {
                Some(c) => format!("the header row needs an email or a customer column; the file is separated by {c:?}, not by commas: save it as CSV with commas"),
                None => "the header row needs an email or a customer column".to_owned(),
            },
        )
        .into());
    }
    // A column dsr does not read is refused: a misspelt `reference` would drop the proof of
    // identity from every row without a word.
    let known = ["email", "customer", "verified_by", "reference"];
    if let Some(other) = headers.iter().find(|h| !h.is_empty() && !known.iter().any(|k| h.eq_ignore_ascii_case(k))) {
        return Err(Error::invalid(
            "--batch",
            format!(
                "the header row names the column {:?}, which dsr does not read (email or customer, verified_by, reference): correct its name or leave the column out",
                crate::output::sanitize::line(other)
            ),
        )
        .into());
    }
    let method = method.ok_or_else(|| {
        Error::invalid("--batch", "the header row needs a verified_by column (how identity was verified)")
    })?;
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i as u64 + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(line, |p| lines.at(p.byte()));
                rows.push(Row {
                    line,
                    identifier: Err(format!("unreadable CSV row: {}", unreadable(&e))),
                    verified_by: String::new(),
                    reference: String::new(),
                });
                continue;
            }
        };
        let line = record.position().map_or(line, |p| lines.at(p.byte()));
        if record.len() > headers.len() {
            let why = format!(
                "{} fields where the header names {}: a value with a comma must be in double quotes",
                record.len(),
                headers.len()
            );
            rows.push(Row { line, identifier: Err(why), verified_by: String::new(), reference: String::new() });
            continue;
        }
        let get = |c: Option<usize>| c.and_then(|c| record.get(c)).unwrap_or("").to_owned();
        let (e, c) = (get(email), get(customer));
        let identifier = match (e.is_empty(), c.is_empty()) {
            (false, true) => Identifier::email(&e).map(|i| (i, e)).map_err(|err| err.to_string()),
            (true, false) => Identifier::customer(&c).map(|i| (i, c)).map_err(|err| err.to_string()),
            (true, true) => Err("no email or customer number in this row".to_owned()),
            (false, false) => Err("both an email and a customer number: name the person once".to_owned()),
        };
        rows.push(Row { line, identifier, verified_by: get(Some(method)), reference: get(reference) });
    }
    // A quote never closed made the rest of the file one field of the last row: that row says so.
    if crate::import::ends_in_an_open_quote(&bytes) {
        if let Some(last) = rows.last_mut() {
            last.identifier = Err(
                "a quoted field of this row is never closed (a \" opens it and the file ends inside it), so the rest of the file was read as one field; close the quote".into(),
            );
        }
    }
    Ok(rows)
}

/// Why a row does not read, in words: text that is not UTF-8 says how to save it; otherwise the
/// CSV reader's own reason.
fn unreadable(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text: save the file as UTF-8 (CSV UTF-8 in a spreadsheet)".to_owned(),
        _ => e.to_string(),
    }
}

/// The file's own line numbers (header counted, CRLF or LF alike), from a record's byte offset:
/// the csv crate's own line count drifts on CRLF files.
struct Lines<'a> {
    bytes: &'a [u8],
    newlines: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(bytes: &'a [u8]) -> Lines<'a> {
        Lines { bytes, newlines: bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i).collect() }
    }

    /// The line a record starting at `byte` is on (a record may be reported from the line end
    /// before it).
    fn at(&self, byte: u64) -> u64 {
        let mut start = byte as usize;
        while self.bytes.get(start).is_some_and(|b| *b == b'\r' || *b == b'\n') {
            start += 1;
        }
        self.newlines.partition_point(|&n| n < start) as u64 + 1
    }
}
