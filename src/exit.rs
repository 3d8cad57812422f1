//! Exit codes: the one place that maps outcomes and errors to the numbers scripts see.
//! The table is repeated in `dsr --help`, README.md and docs/exit-codes.md; a test keeps
//! them in step. The dependency runs one way: this module imports `error`, never the reverse.

use crate::error::Error;

/// Every exit code `dsr` can return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Code {
    /// Success; for `lookup`, the person was found.
    Ok = 0,
    /// An unexpected failure (a bug, or an error not classified below).
    Failure = 1,
    /// Bad command line or bad input value (malformed email, phone, date...).
    Usage = 2,
    /// No person matches the identifier.
    NotFound = 3,
    /// The identifier matches more than one person.
    Ambiguous = 4,
    /// The request is not verified: nothing was disclosed or changed.
    NotVerified = 5,
    /// The code was refused: wrong, expired, already used, or from another request.
    CodeRejected = 6,
    /// Verification is locked for this person after 10 consecutive failures.
    VerificationLocked = 7,
    /// Too many codes sent to this person (3 an hour, 5 a day).
    RateLimited = 8,
    /// The request's state does not allow this (closed, rejected, expired, extension rules).
    RequestState = 9,
    /// No store at the given path, or a company database the data map names is missing.
    StoreMissing = 10,
    /// The file is not a dsr store, or it is corrupt, or a company database does not match the map.
    NotAStore = 11,
    /// The store was written by a newer dsr.
    StoreTooNew = 12,
    /// The store is locked by another process and stayed locked past the busy timeout.
    StoreBusy = 13,
    /// `init` or an output file would overwrite an existing file.
    StoreExists = 14,
    /// An operating-system I/O error: permission denied, disk full...
    Io = 15,
    /// The audit trail does not verify.
    AuditBroken = 16,
    /// No request with that id.
    UnknownRequest = 17,
    /// The mail transport failed; the letter stays queued (`dsr mail flush` tries again).
    Mail = 18,
    /// A batch finished, but some rows failed.
    BatchFailed = 19,
    /// `check`: processing for the purpose is not allowed.
    NotAllowed = 20,
    /// An erasure plan was stale: made again, waiting for confirmation.
    StalePlan = 21,
    /// Another `erase --due` or `retention run` holds the store's run lock, or another `export --batch` its batch lock.
    RunLocked = 22,
    /// Erased or removed, but a reader kept the old bytes in the WAL: the checkpoint must be redone.
    WalBusy = 23,
    /// `doctor`: the store or a company database has problems to fix (each one listed).
    Findings = 24,
    /// `status`: a request is past its deadline (GDPR Art. 12(3)).
    Overdue = 25,
    /// Output pipe closed by the reader (not reported).
    BrokenPipe = 141,
}

/// (code, meaning) pairs for help texts and docs.
pub const TABLE: &[(u8, &str)] = &[
    (0, "success (lookup: found)"),
    (1, "unexpected failure"),
    (2, "usage error or malformed input"),
    (3, "no person matches the identifier"),
    (4, "the identifier matches more than one person"),
    (5, "request not verified: nothing disclosed or changed"),
    (6, "code refused (wrong, expired, used, or another request's)"),
    (7, "verification locked after repeated failures"),
    (8, "too many codes sent to this person"),
    (9, "the request's state does not allow this"),
    (10, "no store at the --db path or server (or its connection lost), or a company database missing"),
    (11, "not a dsr store, or corrupt, or its tables or a company database unlike the map"),
    (12, "store written by a newer dsr"),
    (13, "store or an attached company database locked by another process"),
    (14, "would overwrite an existing file (use --force) or PostgreSQL schema"),
    (15, "I/O error (permission, disk full)"),
    (16, "audit trail does not verify"),
    (17, "no such request"),
    (18, "mail could not be sent (the letter stays queued; `dsr mail flush` tries again)"),
    (19, "batch finished with failed rows, or intake with messages it could not read"),
    (20, "check: processing not allowed for this purpose"),
    (21, "erasure plan was stale: made again, confirm again"),
    (22, "another erase --due, retention run or export --batch holds its lock"),
    (23, "done, but a reader kept removed bytes (WAL, PostgreSQL pages); run again when it has finished"),
    (24, "doctor: problems found, each listed with what to fix"),
    (25, "status: a request is past its deadline"),
    (141, "the reader closed the output pipe (nothing reported)"),
];

impl Code {
    /// Every code, in the order of [`TABLE`].
    pub const ALL: &[Code] = &[
        Code::Ok,
        Code::Failure,
        Code::Usage,
        Code::NotFound,
        Code::Ambiguous,
        Code::NotVerified,
        Code::CodeRejected,
        Code::VerificationLocked,
        Code::RateLimited,
        Code::RequestState,
        Code::StoreMissing,
        Code::NotAStore,
        Code::StoreTooNew,
        Code::StoreBusy,
        Code::StoreExists,
        Code::Io,
        Code::AuditBroken,
        Code::UnknownRequest,
        Code::Mail,
        Code::BatchFailed,
        Code::NotAllowed,
        Code::StalePlan,
        Code::RunLocked,
        Code::WalBusy,
        Code::Findings,
        Code::Overdue,
        Code::BrokenPipe,
    ];

    /// A stable kebab-case name for the code, the `error.kind` of a `--json` error document.
    pub fn kind(self) -> &'static str {
        match self {
            Code::Ok => "ok",
            Code::Failure => "failure",
            Code::Usage => "usage",
            Code::NotFound => "not-found",
            Code::Ambiguous => "ambiguous",
            Code::NotVerified => "not-verified",
            Code::CodeRejected => "code-rejected",
            Code::VerificationLocked => "verification-locked",
            Code::RateLimited => "rate-limited",
            Code::RequestState => "request-state",
            Code::StoreMissing => "store-missing",
            Code::NotAStore => "not-a-store",
            Code::StoreTooNew => "store-too-new",
            Code::StoreBusy => "store-busy",
            Code::StoreExists => "file-exists",
            Code::Io => "io",
            Code::AuditBroken => "audit-broken",
            Code::UnknownRequest => "unknown-request",
            Code::Mail => "mail",
            Code::BatchFailed => "batch-failed",
            Code::NotAllowed => "not-allowed",
            Code::StalePlan => "stale-plan",
            Code::RunLocked => "run-locked",
            Code::WalBusy => "wal-busy",
            Code::Findings => "findings",
            Code::Overdue => "overdue",
            Code::BrokenPipe => "broken-pipe",
        }
    }

    /// Classify an error chain: the first dsr error, SQLite error or I/O error found decides.
    pub fn of_error(err: &anyhow::Error) -> Code {
        for cause in err.chain() {
            if let Some(e) = cause.downcast_ref::<Error>() {
                return e.code();
            }
            if let Some(e) = cause.downcast_ref::<rusqlite::Error>() {
                if let Some(code) = Self::of_sqlite(e) {
                    return code;
                }
            }
            if let Some(kind) = io_kind_of(cause) {
                return if kind == std::io::ErrorKind::BrokenPipe { Code::BrokenPipe } else { Code::Io };
            }
            if let Some(code) = cause.downcast_ref::<postgres::Error>().and_then(Self::of_postgres) {
                return code;
            }
        }
        Code::Failure
    }

    /// A PostgreSQL server's refusals that have a code of their own: no right on the schema or
    /// its tables, and a full disk, as on a file (15); a lock not granted at once (13); the
    /// connection lost mid-command, as a server that cannot be reached (10).
    fn of_postgres(e: &postgres::Error) -> Option<Code> {
        use postgres::error::SqlState as S;
        if connection_lost(e) {
            return Some(Code::StoreMissing);
        }
        let code = e.code()?;
        if denied_a_right(e) || read_only_on_postgres(e) || *code == S::DISK_FULL {
            Some(Code::Io)
        } else if undefined_on_postgres(e) {
            Some(Code::NotAStore)
        } else if *code == S::LOCK_NOT_AVAILABLE || *code == S::QUERY_CANCELED {
            Some(Code::StoreBusy)
        } else {
            None
        }
    }

    fn of_sqlite(e: &rusqlite::Error) -> Option<Code> {
        use rusqlite::ErrorCode as C;
        // A trigger of a company's database refused the change (dsr's own triggers never do):
        // the database does not allow what the data map says (exit 11).
        if refused_by_trigger(e) || refused_by_foreign_key(e) || missing_table_or_column(e) {
            return Some(Code::NotAStore);
        }
        match e.sqlite_error_code()? {
            C::DatabaseBusy | C::DatabaseLocked => Some(Code::StoreBusy),
            C::NotADatabase | C::DatabaseCorrupt => Some(Code::NotAStore),
            C::DiskFull | C::SystemIoFailure | C::CannotOpen | C::PermissionDenied | C::ReadOnly => Some(Code::Io),
            _ => None,
        }
    }
}

/// The code of each dsr error: kept here, beside the table, so that `error` needs no codes.
impl Error {
    pub fn code(&self) -> Code {
        match self {
            Error::StoreMissing(_)
            | Error::SchemaMissing { .. }
            | Error::ServerUnreachable { .. }
            | Error::DatabaseMissing { .. } => Code::StoreMissing,
            Error::NotAStore(_)
            | Error::SchemaForeign { .. }
            | Error::StoreIsDirectory(_)
            | Error::Corrupt { .. }
            | Error::StoreUnlikeMap { .. }
            | Error::DatabaseMismatch { .. } => Code::NotAStore,
            Error::StoreTooNew { .. } => Code::StoreTooNew,
            Error::StoreReadOnly(_)
            | Error::DatabaseReadOnly { .. }
            | Error::DatabaseDirReadOnly { .. }
            | Error::SchemaDenied { .. } => Code::Io,
            Error::StoreBusy(_) | Error::DatabaseBusy { .. } => Code::StoreBusy,
            Error::StoreExists(_) | Error::SchemaExists { .. } => Code::StoreExists,
            Error::Invalid { .. } | Error::Usage(_) => Code::Usage,
            Error::Ambiguous { .. } => Code::Ambiguous,
            Error::UnknownRequest(_) => Code::UnknownRequest,
            Error::NotVerified(_) => Code::NotVerified,
            Error::CodeRejected(_) => Code::CodeRejected,
            Error::VerificationLocked(_) => Code::VerificationLocked,
            Error::RateLimited(_) => Code::RateLimited,
            Error::RequestState(_) | Error::AnswerOwed(..) => Code::RequestState,
            Error::AuditBroken { .. } => Code::AuditBroken,
            Error::Mail(_) => Code::Mail,
            Error::OutputExists(_) => Code::StoreExists,
            Error::BatchFailed { .. } => Code::BatchFailed,
            Error::RunLocked(_) => Code::RunLocked,
            Error::StalePlan(_) => Code::StalePlan,
            Error::WalBusy(_) | Error::BytesRemain(_) | Error::NotVacuumed(_) => Code::WalBusy,
            // A clock set back is a bad input (DSR_NOW or the system clock), not a new kind of failure.
            Error::ClockBehind { .. } => Code::Usage,
        }
    }
}

impl From<Code> for std::process::ExitCode {
    fn from(code: Code) -> Self {
        std::process::ExitCode::from(code as u8)
    }
}

/// The exit-code table as help text.
pub fn help_table() -> String {
    TABLE.iter().map(|(n, what)| format!("  {n:>3}  {what}")).collect::<Vec<_>>().join("\n")
}

/// Whether the PostgreSQL server cancelled the statement (`statement_timeout`, or an
/// administrator's `pg_cancel_backend`).
pub fn cancelled(e: &postgres::Error) -> bool {
    e.code() == Some(&postgres::error::SqlState::QUERY_CANCELED)
}

/// Whether the connection to the PostgreSQL server went during a command: closed (the server
/// stopped, the network failed) or ended by the server (a shutdown, an administrator's
/// `pg_terminate_backend`).
pub fn connection_lost(e: &postgres::Error) -> bool {
    use postgres::error::SqlState as S;
    e.is_closed()
        || e.code().is_some_and(|c| [S::ADMIN_SHUTDOWN, S::CRASH_SHUTDOWN, S::CANNOT_CONNECT_NOW].contains(c))
        || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
}

/// The kind of an I/O error, also of one that the JSON writer or the zip writer wrapped (a full
/// disk or a closed pipe under a large answer).
pub fn io_kind_of(cause: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    if let Some(e) = cause.downcast_ref::<std::io::Error>() {
        return Some(e.kind());
    }
    if let Some(e) = cause.downcast_ref::<serde_json::Error>() {
        return e.io_error_kind();
    }
    match cause.downcast_ref::<zip::result::ZipError>() {
        Some(zip::result::ZipError::Io(e)) => Some(e.kind()),
        _ => None,
    }
}

/// Whether an error comes from a connection to the PostgreSQL server lost during the command.
pub fn lost(err: &anyhow::Error) -> bool {
    err.chain().any(|c| c.downcast_ref::<postgres::Error>().is_some_and(connection_lost))
}

/// Whether the PostgreSQL server refused the role a right (on the schema or a table).
pub fn denied_a_right(e: &postgres::Error) -> bool {
    e.code() == Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE)
}

/// Whether the PostgreSQL server refused a write because the database or the session is
/// read-only (a standby, `default_transaction_read_only`).
pub fn read_only_on_postgres(e: &postgres::Error) -> bool {
    e.code() == Some(&postgres::error::SqlState::READ_ONLY_SQL_TRANSACTION)
}

/// Whether SQLite found no table or column of a name dsr's SQL uses: one renamed or dropped
/// behind dsr's back (a table of the map, or dsr's own).
pub fn missing_table_or_column(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(_, Some(m)) | rusqlite::Error::SqlInputError { msg: m, .. }
        if m.starts_with("no such table") || m.starts_with("no such column"))
}

/// Whether the PostgreSQL server found no table or column of a name dsr's SQL uses.
pub fn undefined_on_postgres(e: &postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == postgres::error::SqlState::UNDEFINED_TABLE || *c == postgres::error::SqlState::UNDEFINED_COLUMN
    })
}

/// Whether SQLite says a trigger refused the statement (`RAISE(ABORT, ...)` and the like).
pub fn refused_by_trigger(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_TRIGGER)
}

/// A foreign key refused a right's change: a table the data map does not name (or places in
/// another database) still refers to the rows (dsr's own steps go children first).
pub fn refused_by_foreign_key(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_row_and_its_kind_is_documented() {
        let numbers: Vec<u8> = Code::ALL.iter().map(|c| *c as u8).collect();
        let table: Vec<u8> = TABLE.iter().map(|(n, _)| *n).collect();
        assert_eq!(numbers, table);
        let doc = include_str!("../docs/exit-codes.md").replace('\n', " ");
        for code in Code::ALL.iter().filter(|c| !matches!(c, Code::Ok | Code::BrokenPipe)) {
            assert!(doc.contains(&format!("{} `{}`", *code as u8, code.kind())), "docs/exit-codes.md lacks {code:?}");
        }
    }
}
