//! The CLI driven as a process, on real SQLite files in temporary directories. One test binary;
//! a module per command.

mod support;

mod cli;
mod init;
mod lookup;
mod register;
mod store;
