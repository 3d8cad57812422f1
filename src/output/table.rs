//! Tables: boxes (comfy-table, wrapped to the terminal width) when stdout is a terminal; plain
//! tab-separated values with a header row when it is piped, so `cut`, `awk` and spreadsheets read
//! them (as `gh` does). Every cell is sanitised; in TSV a cell's tab, newline, carriage return and
//! backslash are written as `\t`, `\n`, `\r` and `\\`, so one row is always one line.

use std::fmt;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, ContentArrangement};

use super::sanitize;
use super::Output;

/// A table that renders as boxes on a terminal and as TSV in a pipe.
pub struct Table {
    boxed: comfy_table::Table,
    /// Header and rows kept as text when stdout is not a terminal.
    plain: Option<Vec<Vec<String>>>,
    /// Header and rows as text on a terminal too, for a terminal too narrow for the boxes.
    text: Vec<Vec<String>>,
    /// The columns never wrapped.
    whole: Vec<usize>,
}

/// A new table with the house style and the given header.
pub fn new(out: &Output, header: &[&str]) -> Table {
    let mut t = comfy_table::Table::new();
    t.load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.iter().map(Cell::new));
    if out.color {
        t.enforce_styling();
    }
    if let Some(width) = fixed_width(t.width()) {
        t.set_width(width);
    }
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let plain = (!out.stdout_tty).then(|| vec![header.clone()]);
    Table { boxed: t, plain, text: vec![header], whole: Vec::new() }
}

/// A terminal that reports no width (a pseudo-terminal made without a size, as some job runners
/// and `script` make) or one too narrow for any table: the table is laid out for 100 columns and
/// the terminal wraps its lines, rather than each cell being cut into one-character lines.
fn fixed_width(detected: Option<u16>) -> Option<u16> {
    detected.filter(|&w| w < 20).map(|_| 100)
}

impl Table {
    /// Never wrap the cells of column `index` (commands to copy): on a terminal too narrow for
    /// the table, the other columns wrap first, then the terminal wraps the line.
    pub fn keep_whole(&mut self, index: usize) -> &mut Table {
        if let Some(column) = self.boxed.column_mut(index) {
            column.set_constraint(comfy_table::ColumnConstraint::ContentWidth);
        }
        self.whole.push(index);
        self
    }

    /// Add a row (anything comfy-table takes as a row: cells, strings).
    pub fn add_row<T: Into<comfy_table::Row>>(&mut self, row: T) -> &mut Table {
        let row = row.into();
        match &mut self.plain {
            Some(rows) => rows.push(row.cell_iter().map(Cell::content).collect()),
            None => {
                // Stored text made safe for the terminal; a cell with nothing to escape keeps its
                // style (red).
                let cells: Vec<Cell> = row
                    .cell_iter()
                    .map(|c| {
                        let content = c.content();
                        let safe = sanitize::text(&content, true);
                        if safe == content {
                            c.clone()
                        } else {
                            Cell::new(safe)
                        }
                    })
                    .collect();
                self.text.push(cells.iter().map(Cell::content).collect());
                self.boxed.add_row(cells);
            }
        }
        self
    }

    /// Whether the boxes fit the terminal without cutting a word (or a column kept whole) in
    /// two: each column needs its longest word, its padding and a border.
    fn fits(&self, width: u16) -> bool {
        if self.text.len() < 2 {
            return true;
        }
        let columns = self.text[0].len();
        let needed: usize = (0..columns)
            .map(|i| {
                let cells = self.text.iter().filter_map(|row| row.get(i));
                let widest = if self.whole.contains(&i) {
                    cells.flat_map(|c| c.lines()).map(|l| l.chars().count()).max()
                } else {
                    cells.flat_map(|c| c.split_whitespace()).map(|w| w.chars().count()).max()
                };
                widest.unwrap_or(0) + 3
            })
            .sum();
        needed < usize::from(width)
    }

    /// One block per row, a line per column (`Header: value`), for a terminal too narrow for
    /// the boxes (as `psql`'s expanded display).
    fn blocks(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some((header, rows)) = self.text.split_first() else { return Ok(()) };
        let label = header.iter().map(|h| h.chars().count()).max().unwrap_or(0) + 1;
        for (n, row) in rows.iter().enumerate() {
            if n > 0 {
                f.write_str("\n\n")?;
            }
            let lines: Vec<String> = header
                .iter()
                .zip(row)
                .map(|(h, v)| format!("{:<label$} {}", format!("{h}:"), v.replace('\n', "\n  ")).trim_end().to_owned())
                .collect();
            f.write_str(&lines.join("\n"))?;
        }
        Ok(())
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(rows) = &self.plain else {
            return match self.boxed.width() {
                Some(width) if !self.fits(width) => self.blocks(f),
                _ => self.boxed.fmt(f),
            };
        };
        for (i, row) in rows.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            let line: Vec<String> = row.iter().map(|c| tsv_field(c)).collect();
            f.write_str(&line.join("\t"))?;
        }
        Ok(())
    }
}

/// One TSV field: the characters that would break the row or the column are escaped, and what
/// acts on text (control characters, bidirectional overrides) is written as everywhere
/// (`\u{1b}`), its backslash not doubled.
fn tsv_field(s: &str) -> String {
    // A cell `red` painted for a pipe (`--color always`): its two codes stay, its text is escaped.
    if let Some(inner) = s.strip_prefix("\x1b[31m").and_then(|t| t.strip_suffix("\x1b[0m")) {
        return format!("\x1b[31m{}\x1b[0m", tsv_field(inner));
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if sanitize::acts_on_text(c) => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out
}

/// A cell holding stored (untrusted) text: made safe where the table is written (escaped for the
/// terminal, or for TSV).
pub fn cell(s: &str) -> Cell {
    Cell::new(s)
}

/// A cell shown in red when colour is on (overdue, failed). On a terminal the colour is the
/// cell's style, not escape codes in its text, so the boxes' widths count only the text; in a
/// pipe (`--color always`) the TSV field carries the codes.
pub fn red(out: &Output, text: String) -> Cell {
    match (out.color, out.stdout_tty) {
        (true, true) => Cell::new(text).fg(comfy_table::Color::Red),
        _ => Cell::new(out.paint(&text, "31")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_fields_stay_on_one_line_and_in_one_column() {
        assert_eq!(tsv_field("a\tb\nc\r\\d"), "a\\tb\\nc\\r\\\\d");
        assert_eq!(tsv_field("A\rB\u{1b}[2J\u{202e}"), "A\\rB\\u{1b}[2J\\u{202e}");
        assert_eq!(tsv_field("\u{1b}[31m-3 OVERDUE\u{1b}[0m"), "\u{1b}[31m-3 OVERDUE\u{1b}[0m");
        assert_eq!(tsv_field("Zoë"), "Zoë");
    }

    #[test]
    fn a_terminal_without_a_width_gets_tables_a_person_can_read() {
        assert_eq!(super::fixed_width(Some(0)), Some(100));
        assert_eq!(super::fixed_width(Some(12)), Some(100));
        assert_eq!(super::fixed_width(Some(80)), None, "a real width is used as it is");
        assert_eq!(super::fixed_width(None), None);
    }
}
