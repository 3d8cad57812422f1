//! The file's records, CSV with a header row or JSON Lines (the first object naming the
//! columns), each with its line, read through a hash of the whole file for the audit entry.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::Format;
use crate::error::Error;
use object::{json_problem, Object};

mod lines;
mod object;

/// One record of the file: its line and its fields in the header's order (None: absent).
pub(super) struct Record {
    pub(super) line: u64,
    pub(super) fields: Result<Vec<Option<String>>, String>,
    /// For a JSON line that reads as an object but is refused (a key not among the columns, an
    /// object for a value): its values that are values, so its source key still names its row.
    pub(super) readable: Option<Vec<Option<String>>>,
}

/// A reader that hashes what passes through it (the audit entry names the file by its SHA-256),
/// and for CSV keeps what the parser does not say right: the line a record starts on (the
/// parser's count is one short in a file with CRLF line ends) and whether the file ends inside a
/// quoted field (the parser ends the record there, with the rest of the file in one field).
pub(super) struct Hashing<R> {
    inner: R,
    hash: Sha256,
    read: u64,
    /// The line ends read ahead of the records passed: the offsets of their first and last byte
    /// (`\n`, `\r\n`, or a `\r` alone, as the parser takes them).
    newlines: std::collections::VecDeque<(u64, u64)>,
    /// A `\r` read last, not yet known to be a line end of its own or the start of `\r\n`.
    pending_cr: Option<u64>,
    lines_passed: u64,
    quote: Quoting,
    eof: bool,
    /// Whether the lines and the quoting are kept (CSV; JSON Lines counts its own lines).
    csv: bool,
}

/// Where CSV's quoting stands after the bytes read (RFC 4180, as the parser reads it).
#[derive(Clone, Copy, PartialEq)]
enum Quoting {
    FieldStart,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: it closes the field, or a second one makes a literal quote.
    AfterQuote,
}

impl Quoting {
    fn next(self, b: u8) -> Quoting {
        match (self, b) {
            (Quoting::Quoted, b'"') => Quoting::AfterQuote,
            (Quoting::Quoted, _) => Quoting::Quoted,
            (Quoting::AfterQuote, b'"') => Quoting::Quoted,
            (Quoting::FieldStart, b'"') => Quoting::Quoted,
            (_, b',' | b'\n' | b'\r') => Quoting::FieldStart,
            _ => Quoting::Unquoted,
        }
    }
}

/// Whether a CSV text ends inside a quoted field: a `"` that opens a field is never closed, so
/// the parser reads the rest of the file as that one field.
pub(crate) fn ends_in_an_open_quote(bytes: &[u8]) -> bool {
    !bytes.is_empty() && Quoting::FieldStart.scan(bytes) == Quoting::Quoted
}

impl Quoting {
    /// The state after `bytes`. Outside a quoted field only a quote matters, and it opens one
    /// when it starts a field (after a comma or a line end): so the scan goes from quote to
    /// quote, which in most files is straight to the end.
    fn scan(mut self, bytes: &[u8]) -> Quoting {
        let mut i = 0;
        while i < bytes.len() {
            match self {
                Quoting::Quoted => match memchr::memchr(b'"', &bytes[i..]) {
                    Some(j) => (self, i) = (Quoting::AfterQuote, i + j + 1),
                    None => return Quoting::Quoted,
                },
                Quoting::AfterQuote => (self, i) = (self.next(bytes[i]), i + 1),
                Quoting::FieldStart | Quoting::Unquoted => match memchr::memchr(b'"', &bytes[i..]) {
                    Some(j) => {
                        let at = i + j;
                        let opens = match at == i {
                            true => self == Quoting::FieldStart,
                            false => matches!(bytes[at - 1], b',' | b'\n' | b'\r'),
                        };
                        (self, i) = (if opens { Quoting::Quoted } else { Quoting::Unquoted }, at + 1);
                    }
                    None => {
                        let last = bytes[bytes.len() - 1];
                        return if matches!(last, b',' | b'\n' | b'\r') {
                            Quoting::FieldStart
                        } else {
                            Quoting::Unquoted
                        };
                    }
                },
            }
        }
        self
    }
}

impl<R: Read> Hashing<R> {
    pub(super) fn new(inner: R) -> Hashing<R> {
        Hashing {
            inner,
            hash: Sha256::new(),
            read: 0,
            newlines: std::collections::VecDeque::new(),
            pending_cr: None,
            lines_passed: 0,
            quote: Quoting::FieldStart,
            eof: false,
            csv: true,
        }
    }

    /// Whether the whole file was read and it ends inside a quoted field.
    fn ends_in_a_quote(&self) -> bool {
        self.eof && self.quote == Quoting::Quoted
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        if self.csv {
            self.line_ends(&buf[..n], self.read, n == 0 && !buf.is_empty());
            self.quote = self.quote.scan(&buf[..n]);
        }
        self.eof |= n == 0 && !buf.is_empty();
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
    pub(super) fn new(mut source: Hashing<R>, format: Format, path: &Path) -> anyhow::Result<Reader<R>> {
        let bad = |why: String| Error::invalid("import file", format!("{}: {why}", path.display()));
        match format {
            Format::Csv => {
                let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(source);
                let header: Vec<String> = reader
                    .headers()
                    .map_err(|e| match e.kind() {
                        csv::ErrorKind::Utf8 { .. } => bad(
                            "the header row is not UTF-8 text: save the file as UTF-8 (in a spreadsheet: CSV UTF-8)"
                                .into(),
                        ),
                        _ => bad(format!("the header row does not read: {e}")),
                    })?
                    .iter()
                    .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
                    .collect();
                if header.iter().all(String::is_empty) {
                    return Err(bad("the file is empty: the first row must name the columns".into()).into());
                }
                Ok(Reader::Csv { reader, header, record: csv::ByteRecord::new() })
            }
            Format::JsonLines => {
                source.csv = false;
                let mut lines = BufReader::new(source);
                let mut line = 0u64;
                let mut text = String::new();
                // The first object names the columns.
                loop {
                    text.clear();
                    let read = lines
                        .read_line(&mut text)
                        .map_err(|_| bad(format!("line {}: is not UTF-8 text: save the file as UTF-8", line + 1)))?;
                    if read == 0 {
                        return Err(bad("the file is empty: give one JSON object a line (JSON Lines cannot name the columns of a source with no rows: for one, give a CSV file with only its header row and --allow-empty)".into()).into());
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
                let first: Object = serde_json::from_str(&text)
                    .map_err(|e| bad(format!("line {line}: {}; the first line names the columns", json_problem(&e))))?;
                let header = first.0.into_iter().map(|(k, _)| k).collect();
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
                        let line = e.position().map_or(0, |p| reader.get_mut().line_at(p.byte()));
                        if let csv::ErrorKind::Io(io) = e.kind() {
                            return Err(anyhow::anyhow!("reading the import file: {io}"));
                        }
                        return Ok(Some(Record {
                            line,
                            fields: Err(format!("the row does not read as CSV: {e}")),
                            readable: None,
                        }));
                    }
                };
                if !ok {
                    return Ok(None);
                }
                let byte = record.position().map_or(0, |p| p.byte());
                let line = reader.get_mut().line_at(byte);
                if reader.get_ref().ends_in_a_quote() {
                    return Ok(Some(Record {
                        line,
                        fields: Err("a quoted field of this row is never closed (a \" opens it and the file ends inside it), so the rest of the file would be one field; close the quote and import again".into()),
                        readable: None,
                    }));
                }
                if record.len() != header.len() {
                    return Ok(Some(Record {
                        line,
                        fields: Err(format!("the row has {} fields, the header {}", record.len(), header.len())),
                        readable: None,
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
                Ok(Some(Record { line, fields, readable: None }))
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
                                    return Ok(Some(Record {
                                        line: *line,
                                        fields: Err("not UTF-8 text".into()),
                                        readable: None,
                                    }))
                                }
                            }
                        }
                    },
                };
                let mut readable = None;
                let fields = serde_json::from_str::<Object>(&text).map_err(|e| json_problem(&e)).and_then(|obj| {
                    use serde_json::Value as J;
                    let cells: Vec<Result<Option<String>, String>> = header
                        .iter()
                        .map(|h| match obj.get(h) {
                            None | Some(J::Null) => Ok(None),
                            Some(J::String(s)) => Ok(Some(s.clone())),
                            Some(J::Bool(b)) => Ok(Some(if *b { "1" } else { "0" }.to_owned())),
                            Some(J::Number(n)) => Ok(Some(n.to_string())),
                            Some(J::Object(_)) => Err(format!(
                                "{h}: a JSON object, not a value; each key holds text, a number, true, false or null"
                            )),
                            Some(J::Array(_)) => Err(format!(
                                "{h}: a JSON array, not a value; each key holds text, a number, true, false or null"
                            )),
                        })
                        .collect();
                    // The key is not repeated: it may be a person's value.
                    let stray = obj.0.iter().any(|(k, _)| !header.contains(k));
                    let refused = stray.then(|| "a key that is not among the first line's columns".to_owned());
                    match refused.or_else(|| cells.iter().find_map(|c| c.clone().err())) {
                        Some(why) => {
                            readable = Some(cells.into_iter().map(|c| c.unwrap_or(None)).collect());
                            Err(why)
                        }
                        None => Ok(cells.into_iter().map(|c| c.unwrap_or(None)).collect()),
                    }
                });
                Ok(Some(Record { line: at, fields, readable }))
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

    #[test]
    fn a_record_s_line_is_right_with_crlf_and_lf_line_ends_and_a_field_over_two_lines() {
        let lines = |bytes: &'static [u8]| records(bytes, Format::Csv).1.iter().map(|r| r.line).collect::<Vec<_>>();
        assert_eq!(lines(b"id,city\r\n11,T\r\n21,E\r\n31,U\r\n"), [2, 3, 4]);
        assert_eq!(lines(b"id,city\n11,T\n21,E\n31,U\n"), [2, 3, 4]);
        assert_eq!(lines(b"id,city\r\n11,T\r\n21,\"a\r\nb\"\r\n31,U"), [2, 3, 5]);
        assert_eq!(lines(b"id,city\n\n11,T\n"), [3]);
    }

    #[test]
    fn a_quote_never_closed_is_a_row_that_does_not_read() {
        let (_, open) = records(b"id,city\n11,T\n21,\"Utrecht\n31,U\n", Format::Csv);
        assert_eq!(open.len(), 2);
        assert_eq!(open[1].line, 3);
        assert!(open[1].fields.as_ref().unwrap_err().contains("never closed"));
        // Closed, with a quote inside, and a quoted last field without a line end: all fine.
        let (_, closed) = records(b"id,city\n11,\"T \"\"x\"\"\"\n21,\"E\"", Format::Csv);
        assert_eq!(closed.len(), 2);
        assert!(closed.iter().all(|r| r.fields.is_ok()));
    }

    #[test]
    fn the_quote_scan_skips_to_the_same_state_as_byte_by_byte() {
        let texts: [&[u8]; 10] = [
            b"a,b\n",
            b"a,\"b",
            b"\"a\"\"b\",c\r\n",
            b"x\"y,\"z\"q\n\"",
            b"\"\"",
            b"\"a,\nb\"\"\"",
            b"a\"\",\"",
            b",\"\n\"\"\r\"x",
            b"\"a\"x,\"b\"\n",
            b"ab\ncd,\"e",
        ];
        for t in texts {
            for cut in 0..=t.len() {
                let (a, b) = t.split_at(cut);
                let bytewise = t.iter().fold(Quoting::FieldStart, |q, &c| q.next(c));
                assert!(Quoting::FieldStart.scan(a).scan(b) == bytewise, "{t:?} cut at {cut}");
            }
        }
    }

    #[test]
    fn a_json_line_that_is_not_an_object_says_so_in_words() {
        let (_, records) = records(b"{\"id\": 1}\n[1, 2]\n{\"id\": 3\n{\"id\" 4}\n", Format::JsonLines);
        let why: Vec<String> = records.iter().map(|r| r.fields.as_ref().err().cloned().unwrap_or_default()).collect();
        assert_eq!(why[1], "not a JSON object: each line is one {\"column\": value, ...}");
        assert_eq!(why[2], "the JSON object is cut off: the line ends inside it");
        assert!(why[3].starts_with("not valid JSON (at character "), "{why:?}");
    }

    #[test]
    fn a_key_given_twice_refuses_its_line() {
        let (header, records) = records(
            b"{\"id\": 1, \"email\": \"a@example.nl\"}\n{\"id\": 2, \"email\": \"b@example.nl\", \"email\": \"c@example.nl\"}\n",
            Format::JsonLines,
        );
        assert_eq!(header, ["id", "email"]);
        assert_eq!(
            records[1].fields,
            Err("key \"email\" is given twice in the line; a line names each column once".into())
        );
        let mut reader = Reader::new(Hashing::new(&b"{\"id\": 1, \"id\": 2}\n"[..]), Format::JsonLines, Path::new("f"));
        let err = reader.as_mut().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("line 1: key \"id\" is given twice"), "{err}");
    }

    #[test]
    fn an_object_or_array_as_a_value_is_refused_for_what_it_is() {
        let text = b"{\"id\": 1, \"email\": \"a@example.nl\"}\n{\"id\": 2, \"email\": {\"address\": \"b@example.nl\"}}\n{\"id\": 3, \"email\": [\"c@example.nl\"]}\n{\"id\": 4.5, \"email\": true}\n";
        let (_, records) = records(text, Format::JsonLines);
        assert_eq!(records[0].fields, Ok(vec![Some("1".into()), Some("a@example.nl".into())]));
        assert_eq!(
            records[1].fields,
            Err("email: a JSON object, not a value; each key holds text, a number, true, false or null".into())
        );
        assert!(records[2].fields.as_ref().unwrap_err().starts_with("email: a JSON array, not a value"));
        assert_eq!(records[3].fields, Ok(vec![Some("4.5".into()), Some("1".into())]));
    }
}
