//! The CLI driven as a process, on real SQLite files in temporary directories. One test binary;
//! a module per command.

mod support;

mod access;
mod access_copy;
mod anchor;
mod audit;
mod batch;
mod batch_groups;
mod check;
mod cli;
mod erase;
mod export;
mod faults;
mod holds;
mod init;
mod layers;
mod letters;
mod lifecycle;
mod lookup;
mod mail_failures;
mod mail_valid;
mod notify;
mod officer_view;
mod readme;
mod register;
mod register_file;
mod request;
mod retention;
mod rights;
mod smtp;
mod store;
mod verify;
mod zip_readers;
