//! `dsr letters`: the company's letter templates (docs/letters.md).

use std::path::PathBuf;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum LettersCommand {
    /// Check a directory of letter templates without a store: list every problem, one a line (exit 2 with any)
    ///
    /// DIR holds nl/KIND.txt and en/KIND.txt (KIND: verification-code, extension, rejection,
    /// rectification, email-changed, restriction, restriction-lift-notice, objection,
    /// objection-decision, erasure, answer, no-data, expired); a kind left out keeps the shipped
    /// text. Each file must read as a template, use only the variables of its kind, and keep the
    /// elements the law requires of it (the request id, the complaint and court routes, the
    /// deadline...). Each problem is one line on stderr (`dsr: DIR/nl/erasure.txt: what`).
    Check {
        /// The directory of templates
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Write the shipped templates into DIR (nl/ and en/) to edit, then name DIR in the company file's [letters] dir
    Export {
        /// The directory to write into (made when missing)
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Replace template files that exist already
        #[arg(long)]
        force: bool,
    },
}
