//! The CLI driven as a process, on real SQLite files in temporary directories. One test binary;
//! a module per command.

mod support;

mod access;
mod access_copy;
mod audit;
mod batch;
mod cli;
mod erase;
mod export;
mod init;
mod lookup;
mod register;
mod request;
mod rights;
mod smtp;
mod store;
mod verify;
