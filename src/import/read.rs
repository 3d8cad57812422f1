//! The file's records, CSV with a header row or JSON Lines (the first object naming the
//! columns), each with its line, read through a hash of the whole file for the audit entry.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::Format;
use crate::error::Error;

/// One record of the file: its line and its fields in the header's order (None: absent).
pub(super) struct Record {
    pub(super) line: u64,
    pub(super) fields: Result<Vec<Option<String>>, String>,
}

/// A reader that hashes what passes through it (the audit entry names the file by its SHA-256).
pub(super) struct Hashing<R> {
    inner: R,
    hash: Sha256,
    read: u64,
}

impl<R: Read> Hashing<R> {
    pub(super) fn new(inner: R) -> Hashing<R> {
        Hashing { inner, hash: Sha256::new(), read: 0 }
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}

/// The file's records, CSV or JSON Lines.
pub(super) enum Reader<R: Read> {
    Csv { reader: csv::Reader<Hashing<R>>, header: Vec<String>, record: csv::ByteRecord },
    Json { lines: BufReader<Hashing<R>>, header: Vec<String>, first: Option<(u64, String)>, line: u64, buf: Vec<u8> },
}

impl<R: Read> Reader<R> {
    pub(super) fn new(source: Hashing<R>, format: Format, path: &Path) -> anyhow::Result<Reader<R>> {
        let bad = |why: String| Error::invalid("import file", format!("{}: {why}", path.display()));
        match format {
            Format::Csv => {
                let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(source);
                let header: Vec<String> = reader
                    .headers()
                    .map_err(|e| bad(format!("the header row does not read: {e}")))?
                    .iter()
                    .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
                    .collect();
                if header.iter().all(String::is_empty) {
                    return Err(bad("the file is empty: the first row must name the columns".into()).into());
                }
                Ok(Reader::Csv { reader, header, record: csv::ByteRecord::new() })
            }
            Format::JsonLines => {
                let mut lines = BufReader::new(source);
                let mut line = 0u64;
                let mut text = String::new();
                // The first object names the columns.
                loop {
                    text.clear();
                    if lines.read_line(&mut text).map_err(|e| bad(format!("does not read as UTF-8 text: {e}")))? == 0 {
                        return Err(bad("the file is empty: give one JSON object a line".into()).into());
                    }
                    // A byte-order mark, as some Windows programs write before UTF-8, as for CSV.
                    if line == 0 && text.starts_with('\u{feff}') {
                        text.drain(..'\u{feff}'.len_utf8());
                    }
                    line += 1;
                    if !text.trim().is_empty() {
                        break;
                    }
                }
                let first: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).map_err(|e| {
                    bad(format!("line {line}: not a JSON object ({e}); the first line names the columns"))
                })?;
                let header = first.keys().cloned().collect();
                Ok(Reader::Json { lines, header, first: Some((line, text)), line, buf: Vec::new() })
            }
        }
    }

    pub(super) fn header(&self) -> &[String] {
        match self {
            Reader::Csv { header, .. } | Reader::Json { header, .. } => header,
        }
    }

    pub(super) fn next_record(&mut self) -> anyhow::Result<Option<Record>> {
        match self {
            Reader::Csv { reader, header, record } => {
                let ok = match reader.read_byte_record(record) {
                    Ok(ok) => ok,
                    Err(e) => {
                        let line = e.position().map_or(0, |p| p.line());
                        if let csv::ErrorKind::Io(io) = e.kind() {
                            return Err(anyhow::anyhow!("reading the import file: {io}"));
                        }
                        return Ok(Some(Record { line, fields: Err(format!("the row does not read as CSV: {e}")) }));
                    }
                };
                if !ok {
                    return Ok(None);
                }
                let line = record.position().map_or(0, |p| p.line());
                if record.len() != header.len() {
                    return Ok(Some(Record {
                        line,
                        fields: Err(format!("the row has {} fields, the header {}", record.len(), header.len())),
                    }));
                }
                let fields = record
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        std::str::from_utf8(f)
                            .map(|s| Some(s.to_owned()))
                            .map_err(|_| format!("{}: not UTF-8 text", header[i]))
                    })
                    .collect();
                Ok(Some(Record { line, fields }))
            }
            Reader::Json { lines, header, first, line, buf } => {
                let (at, text) = match first.take() {
                    Some(f) => f,
                    None => loop {
                        buf.clear();
                        if lines.read_until(b'\n', buf)? == 0 {
                            return Ok(None);
                        }
                        *line += 1;
                        if !buf.iter().all(u8::is_ascii_whitespace) {
                            match String::from_utf8(std::mem::take(buf)) {
                                Ok(t) => break (*line, t),
                                Err(_) => {
                                    return Ok(Some(Record { line: *line, fields: Err("not UTF-8 text".into()) }))
                                }
                            }
                        }
                    },
                };
                let fields = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&text)
                    .map_err(|e| format!("not a JSON object: {e}"))
                    .and_then(|obj| {
                        if let Some(k) = obj.keys().find(|k| !header.contains(k)) {
                            return Err(format!("key {k:?} is not among the first line's columns"));
                        }
                        Ok(header
                            .iter()
                            .map(|h| match obj.get(h) {
                                None | Some(serde_json::Value::Null) => None,
                                Some(serde_json::Value::String(s)) => Some(s.clone()),
                                Some(serde_json::Value::Bool(b)) => Some(if *b { "1" } else { "0" }.to_owned()),
                                Some(other) => Some(other.to_string()),
                            })
                            .collect())
                    });
                Ok(Some(Record { line: at, fields }))
            }
        }
    }

    pub(super) fn bytes_read(&self) -> u64 {
        match self {
            Reader::Csv { reader, .. } => reader.get_ref().read,
            Reader::Json { lines, .. } => lines.get_ref().read,
        }
    }

    /// The SHA-256 of the whole file (the rest is read through, should a run stop early).
    pub(super) fn finish(self) -> String {
        let mut source = match self {
            Reader::Csv { reader, .. } => reader.into_inner(),
            Reader::Json { lines, .. } => lines.into_inner(),
        };
        let _ = std::io::copy(&mut source, &mut std::io::sink());
        crate::keys::hex(&source.hash.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(bytes: &'static [u8], format: Format) -> (Vec<String>, Vec<Record>) {
        let mut reader = Reader::new(Hashing::new(bytes), format, Path::new("f")).unwrap();
        let header = reader.header().to_vec();
        let mut out = Vec::new();
        while let Some(r) = reader.next_record().unwrap() {
            out.push(r);
        }
        (header, out)
    }

    #[test]
    fn a_byte_order_mark_before_the_first_line_is_read_past_in_either_format() {
        for (bytes, format) in [
            (&b"\xef\xbb\xbfid,name\n7,Sanne\n"[..], Format::Csv),
            (&b"\xef\xbb\xbf{\"id\": 7, \"name\": \"Sanne\"}\n"[..], Format::JsonLines),
            (&b"\xef\xbb\xbf\n{\"id\": 7, \"name\": \"Sanne\"}\n"[..], Format::JsonLines),
        ] {
            let (header, records) = records(bytes, format);
            assert_eq!(header, ["id", "name"], "{bytes:?}");
            assert_eq!(records.len(), 1);
            assert_eq!(records[0].fields.as_ref().unwrap(), &[Some("7".to_owned()), Some("Sanne".to_owned())]);
        }
    }
}
