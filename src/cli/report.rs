//! `dsr report`'s arguments: the period and the forms of the accountability report.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
#[command(after_help = "The period selects requests by the day they were received, both ends included; \
their outcome is counted as of today (DSR_NOW). Without --from and --to: the twelve months before \
today's month. --json writes one document; --csv one table of section,item,detail,figure,value rows; \
--html FILE a page with charts that needs nothing else to show (see docs/report.md).")]
pub struct ReportArgs {
    /// First day of the period, YYYY-MM-DD (default: twelve months before --to, or the first day of the month a year ago)
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Last day of the period, YYYY-MM-DD, included (default: today with --from, else the last day of last month)
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
    /// Print the figures as CSV (section,item,detail,figure,value) instead of tables
    #[arg(long, conflicts_with = "html")]
    pub csv: bool,
    /// Write the report as a self-contained HTML page (English and Dutch, SVG charts) to FILE
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Replace FILE if it exists
    #[arg(long, requires = "html")]
    pub force: bool,
}
