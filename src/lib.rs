//! `dsr` answers GDPR data-subject-rights requests on a local SQLite customer store.
//!
//! Data flows one way: [`cli`] (clap types) → a command function here → domain logic in
//! [`subject`], [`register`], [`lookup`] ... (returns a `Serialize` report, prints nothing) →
//! [`output`] (tables for a terminal, JSON for scripts). [`exit`] is the one place that maps
//! outcomes and errors to exit codes.
//!
//! `commands` depends on the domain, never the reverse: a piece two commands share moves down
//! into the domain (e.g. [`rights::export`], [`rights::erase`]), and `error` does not import
//! `exit`. `tests/layers.rs` scans the sources for a way back.

pub mod answers;
pub mod archive;
pub mod audit;
pub mod batch;
pub mod check;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod cron;
pub mod doctor;
pub mod error;
pub mod exit;
pub mod free_text;
pub mod fsutil;
pub mod generate;
pub mod import;
pub mod inbox;
pub mod keys;
pub mod letters;
pub mod local_time;
pub mod lookup;
pub mod mail;
pub mod map;
pub mod notify;
pub mod output;
pub mod queue;
pub mod recipients;
pub mod register;
pub mod report;
pub mod request;
pub mod retention;
pub mod rights;
pub mod status;
pub mod store;
pub mod subject;
pub mod tasks;
pub mod verify;

pub use error::Error;

/// Run one parsed command line. Returns the exit code for outcomes that are answers rather than
/// failures (e.g. "not found" from `lookup`); failures come back as errors.
pub fn run(cli: cli::Cli) -> anyhow::Result<exit::Code> {
    commands::dispatch(cli)
}
