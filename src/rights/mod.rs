//! The rights, one module each: domain logic over the store that returns a `Serialize` report
//! and prints nothing.

pub mod access;
pub mod erase;
pub mod export;
pub mod history;
pub mod object;
pub mod rectify;
pub mod restrict;
