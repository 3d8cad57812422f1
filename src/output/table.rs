//! Tables for a terminal (comfy-table): one look, wrapped to the terminal width, every cell
//! sanitised.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, ContentArrangement, Table};

use super::sanitize;
use super::Output;

/// A new table with the house style and the given header.
pub fn new(out: &Output, header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.iter().map(Cell::new));
    if !out.stdout_tty {
        t.force_no_tty();
    }
    if out.color {
        t.enforce_styling();
    }
    t
}

/// A cell holding stored (untrusted) text.
pub fn cell(s: &str) -> Cell {
    Cell::new(sanitize::text(s, true))
}
