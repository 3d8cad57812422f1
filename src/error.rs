//! Errors that callers branch on. Messages are one line, name what was wrong and what to do,
//! and carry no personal data (they may end up in cron logs): an identifier the officer typed
//! is described, not repeated.
//!
//! This module knows nothing of exit codes: `exit` imports it and is the one map from these
//! errors (and every other outcome) to the numbers scripts see ([`crate::exit::Code::of_error`]).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no store at {0}; create one with `dsr init --db {0}` or point --db / DSR_DB at an existing store")]
    StoreMissing(PathBuf),
    #[error("{0} is not a dsr store; check the --db path (a new store is made with `dsr init` at a path, or in a PostgreSQL schema, where none is yet)")]
    NotAStore(PathBuf),
    #[error("{0} is a directory, not a dsr store; give --db the path of a store file (such as {0}/dsr.sqlite; `dsr init` makes a new one)")]
    StoreIsDirectory(PathBuf),
    #[error("store {path} is corrupt ({detail}); stop the commands that change it, restore it from a backup, then `dsr erase --replay` (docs/erase.md); `sqlite3 FILE .recover` saves what can still be read")]
    Corrupt { path: PathBuf, detail: String },
    #[error("store {path} does not match its data map: {detail}; run `dsr doctor`, then restore the table or describe the change in the company file and run `dsr register apply FILE`")]
    StoreUnlikeMap { path: PathBuf, detail: String },
    #[error("store {path} has schema version {found}, newer than this dsr understands ({supported}); upgrade dsr")]
    StoreTooNew { path: PathBuf, found: i64, supported: i64 },
    #[error("store {0} is read-only for the account running dsr: SQLite makes the store's -wal and -shm files in its directory, even to read it; give that account write access to the directory and the file, then run the command again")]
    StoreReadOnly(PathBuf),
    #[error("store {0} is locked by another process; try again when it has finished")]
    StoreBusy(PathBuf),
    #[error("{0} already exists; pass --force to replace it")]
    StoreExists(PathBuf),
    #[error("no dsr store in schema {schema} of {database}; make one with `dsr init` (DSR_DB the URL) or `dsr migrate --from STORE --to URL`, or set DSR_PG_SCHEMA to the store's schema")]
    SchemaMissing { schema: String, database: String },
    #[error("schema {schema} of {database} is not a dsr store (another application's, or empty); set DSR_PG_SCHEMA to the store's schema, or make a store in a schema name not in use with `dsr init` or `dsr migrate --schema NAME`")]
    SchemaForeign { schema: String, database: String },
    #[error(
        "cannot connect to {url}: {why}; check that the server runs and that the URL names it (host, port, database)"
    )]
    ServerUnreachable { url: String, why: String },
    #[error("the schema {schema} already exists in {database}; name a new one with DSR_PG_SCHEMA (`--schema` of dsr migrate), or drop it first")]
    SchemaExists { schema: String, database: String },
    #[error("the company database {name} ({path}) that the data map names does not exist (a relative path in the map is taken from the directory of the store, --db); restore it, or point the map's [[database]] at it with `dsr register apply FILE`")]
    DatabaseMissing { name: String, path: PathBuf },
    #[error("the company database {name} ({path}) does not match the data map: {detail}; correct the map with `dsr register apply FILE` or restore the database")]
    DatabaseMismatch { name: String, path: PathBuf, detail: String },
    #[error("the company database {name} ({path}) is read-only for the account running dsr, so dsr cannot change it and did not make this change; give that account write access to the file and its directory, then run the command again")]
    DatabaseReadOnly { name: String, path: PathBuf },
    #[error("the PostgreSQL role dsr connects as lacks rights on the company schema {schema}: table {schema}.{table} is there, but the role has no {lacking} (it cannot see the table); grant them to the role (GRANT USAGE ON SCHEMA, GRANT SELECT, INSERT, UPDATE, DELETE ON its tables; docs/postgresql.md), or connect as one that has them")]
    SchemaDenied { schema: String, table: String, lacking: String },
    #[error("the company database {name} ({path}) cannot be opened by the account running dsr: SQLite must make its -wal and -shm files beside a file in WAL mode, even to read it, and that directory (or the file) is read-only for this account; give it write access to the directory and the file")]
    DatabaseDirReadOnly { name: String, path: PathBuf },
    #[error("the company database {name} ({path}) is locked by another process (the application holding its write lock); nothing was changed: try again when that process has finished")]
    DatabaseBusy { name: String, path: PathBuf },
    /// A command line clap refused, rendered by `cli::usage` (one line, no typed value).
    #[error("{0}")]
    Usage(String),
    #[error("invalid {what}: {why}")]
    Invalid { what: &'static str, why: String },
    #[error(
        "this {kind} belongs to {people} people; name the person by {} instead (see `dsr lookup`)",
        instead_of(kind)
    )]
    Ambiguous { kind: &'static str, people: usize },
    #[error("no request {0}; see `dsr request list`")]
    UnknownRequest(String),
    #[error("request {0} is not verified; nothing is disclosed or changed until the person's code is entered with `dsr verify {0}`")]
    NotVerified(String),
    #[error("code refused: {0}")]
    CodeRejected(String),
    #[error("verification is locked for the person of request {0} after repeated wrong codes; an officer unlocks it with `dsr verify --unlock {0} --reason TEXT`")]
    VerificationLocked(String),
    #[error("no code sent: {0}")]
    RateLimited(String),
    #[error("{0}")]
    RequestState(String),
    /// An erasure waits for another request of the same person to be answered: (that request,
    /// the message).
    #[error("{1}")]
    AnswerOwed(String, String),
    #[error("audit trail broken{}: {why}", at_entry(*.entry))]
    AuditBroken { entry: Option<i64>, why: String },
    #[error("mail not sent: {0}")]
    Mail(String),
    #[error("{0} already exists; pass --force to replace it")]
    OutputExists(PathBuf),
    #[error("another run holds the lock {0}; this run did nothing (it is safe to run again later)")]
    RunLocked(PathBuf),
    #[error("the data changed since the erasure plan of {0} was made; the new plan is stored: review it (`dsr erase {0} --dry-run`) and confirm again")]
    StalePlan(String),
    #[error("the change is committed, but another process kept {0} open for reading, so removed values may still be in that file and its write-ahead log (the pages that overwrite them wait in the log); when that process has finished, run `dsr erase --due` (it folds the log back and truncates it) or any erasure again")]
    WalBusy(PathBuf),
    #[error("the erasure is committed, but PostgreSQL may still hold bytes of the erased values in {0}: an older transaction kept them; when it has ended, run VACUUM FULL on those tables (docs/postgresql.md)")]
    BytesRemain(String),
    #[error("the erasure is committed, but PostgreSQL could not vacuum {0}, so dead rows may still hold the erased values there (docs/postgresql.md)")]
    NotVacuumed(String),
    #[error("batch finished with {failed} failed row{} of {rows}; see the summary", if *failed == 1 { "" } else { "s" })]
    BatchFailed { failed: usize, rows: usize },
    #[error("the clock says {now}, before the last audit entry ({last}); dsr records nothing dated earlier than what it already recorded: correct the system clock or DSR_NOW")]
    ClockBehind { now: String, last: String },
}

impl Error {
    /// The error of a command that needs the register on a store that has none yet (`dsr init`
    /// without a file): exit 2, saying how to give it one.
    pub fn no_register() -> Self {
        Error::Usage(
            "this store has no register yet: give it one with `dsr register apply FILE`, or make the store with `dsr init --register FILE` or `--fixture NAME`".into(),
        )
    }

    pub fn invalid(what: &'static str, why: impl Into<String>) -> Self {
        Error::Invalid { what, why: why.into() }
    }
}

/// What names one person where an identifier of `kind` is shared (a household's landline, a
/// customer number two people share): the email address, or the customer number.
fn instead_of(kind: &str) -> &'static str {
    if kind == "customer number" {
        "email address"
    } else {
        "email address or customer number"
    }
}

/// Where a broken trail breaks, when an entry is to blame (a request row no entry opened is not).
fn at_entry(entry: Option<i64>) -> String {
    entry.map(|e| format!(" at entry {e}")).unwrap_or_default()
}
