//! What an import is asked (the table, the file, its format and the options) and what it
//! reports (the counts and the rows it did not load as they stand).

use std::path::PathBuf;

use jiff::tz::TimeZone as Tz;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
}

pub struct Options {
    pub table: String,
    pub file: PathBuf,
    pub format: Format,
    pub source_tz: Option<Tz>,
    pub delete_missing: bool,
    /// With `delete_missing`, a file without rows empties the table (else it is refused).
    pub allow_empty: bool,
    pub strict: bool,
    /// Rows per transaction.
    pub batch: u64,
}

/// A row the import did not load as it stands.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// The line of the file the row starts on.
    pub line: u64,
    /// `refused` (not loaded), `conflict` (a rectified value the row would replace; left as is)
    /// or `kept` (a row `--delete-missing` would remove that other rows still refer to, by a
    /// foreign key or a link of the data map).
    pub kind: &'static str,
    pub reason: String,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    pub table: String,
    pub file: String,
    pub file_sha256: String,
    pub rows: u64,
    pub added: u64,
    pub changed: u64,
    pub unchanged: u64,
    pub removed: u64,
    pub refused: u64,
    pub conflicts: u64,
    /// Rows missing from the file that `--delete-missing` kept: other rows still refer to them.
    /// (A consent record dsr wrote is never missing: no source has it.)
    pub kept: u64,
    /// Rows of people who objected to direct marketing whose opt-ins were kept off.
    pub kept_unsubscribed: u64,
    /// `--delete-missing` left out because some rows could not be read (their keys unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_skipped: Option<String>,
    pub problems: Vec<Problem>,
}
