//! Output: stdout carries data (a table for people, one JSON document for scripts); status,
//! prompts and errors go to stderr. Colour follows `--color`, `NO_COLOR` and whether the stream
//! is a terminal. Every stored string passes [`sanitize`] before it reaches a terminal.

pub mod prompt;
pub mod sanitize;
pub mod table;

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::cli::ColorChoice;

/// Whether this process wrote its JSON document already: a command that fails after its report
/// (a batch with failed rows, a WAL left busy) keeps that report as its one document.
static JSON_WRITTEN: AtomicBool = AtomicBool::new(false);

#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
    pub quiet: bool,
    pub color: bool,
    pub stdout_tty: bool,
    pub stderr_tty: bool,
    /// Whether questions may be asked (on a terminal, not in JSON mode).
    pub prompts: bool,
}

impl Output {
    pub fn new(json: bool, quiet: bool, choice: ColorChoice) -> Output {
        let stdout_tty = std::io::stdout().is_terminal();
        let stderr_tty = std::io::stderr().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = !json
            && match choice {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => stdout_tty && !no_color,
            };
        let prompts = !json && stderr_tty && std::io::stdin().is_terminal();
        Output { json, quiet, color, stdout_tty, stderr_tty, prompts }
    }

    /// Write data to stdout. A closed pipe surfaces as an io::Error that main exits on quietly.
    pub fn data(&self, text: &str) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        if !text.ends_with('\n') {
            out.write_all(b"\n")?;
        }
        out.flush()
    }

    /// A sentence on stdout saying what a command did ("Request R is verified."), left out with
    /// `-q`: the exit code says it, and stdout keeps only data (tables, letters, documents).
    pub fn outcome(&self, text: &str) -> std::io::Result<()> {
        if self.quiet {
            return Ok(());
        }
        self.data(text)
    }

    /// Write one JSON document to stdout, streamed (a large answer is never held in memory).
    pub fn json<T: Serialize>(&self, value: &T) -> anyhow::Result<()> {
        JSON_WRITTEN.store(true, Ordering::Relaxed);
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
        if let Err(e) = serde_json::to_writer_pretty(&mut out, value) {
            return Err(match e.io_error_kind() {
                Some(kind) => std::io::Error::from(kind).into(),
                None => e.into(),
            });
        }
        out.write_all(b"\n")?;
        Ok(out.flush()?)
    }

    /// A progress bar on stderr for a long run, drawn from `template` (indicatif's syntax), when
    /// stderr is a terminal and `-q` is not given; `len` may be set later.
    pub fn progress(&self, template: &str, len: Option<u64>) -> Option<indicatif::ProgressBar> {
        use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
        (self.stderr_tty && !self.quiet).then(|| {
            let style = ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            ProgressBar::with_draw_target(len, ProgressDrawTarget::stderr()).with_style(style)
        })
    }

    /// Status on stderr, silenced by `-q`. A stderr that cannot be written is an error (exit 15),
    /// never a panic.
    pub fn status(&self, msg: &str) -> std::io::Result<()> {
        if self.quiet {
            return Ok(());
        }
        stderr_line(&sanitize::text(msg, true))
    }

    /// Wrap `text` in an ANSI colour when colour is on.
    pub fn paint(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

/// A count with its noun: "1 open task", "2 open tasks".
pub fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// One line on stderr (errors, warnings, a passphrase shown once). Unlike `eprintln!`, a stderr
/// that cannot be written (a full disk, `2>/dev/full`) comes back as an error instead of a panic.
pub fn stderr_line(line: &str) -> std::io::Result<()> {
    let mut err = std::io::stderr().lock();
    err.write_all(line.as_bytes())?;
    err.write_all(b"\n")?;
    err.flush()
}

/// The message of a company database's trigger that refused a change, if that is the error.
fn trigger_refusal(err: &anyhow::Error) -> Option<String> {
    err.chain().find_map(|c| match c.downcast_ref::<rusqlite::Error>()? {
        e @ rusqlite::Error::SqliteFailure(_, message) if crate::exit::refused_by_trigger(e) => {
            Some(message.clone().unwrap_or_else(|| "no reason given".into()))
        }
        _ => None,
    })
}

/// Whether SQLite refused a write to a file dsr may only read (an error that names no path;
/// the store's open names it, [`crate::error::Error::StoreReadOnly`]).
fn read_only(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<rusqlite::Error>().and_then(rusqlite::Error::sqlite_error_code)
            == Some(rusqlite::ErrorCode::ReadOnly)
    })
}

/// What to do about a failed file operation whose message is the system's alone ("No space left
/// on device (os error 28)"): a full disk, a read-only file system, no access. `None` when dsr's
/// own words already say it, or for any other error.
fn io_hint(err: &anyhow::Error) -> Option<&'static str> {
    use std::io::ErrorKind as K;
    let kind = match err.chain().find_map(|c| c.downcast_ref::<std::io::Error>()) {
        // dsr's own words (an error made without an OS code) say what to do already.
        Some(io) => io.raw_os_error().map(|_| io.kind())?,
        // One the JSON or zip writer wrapped came from the system.
        None => err.chain().find_map(crate::exit::io_kind_of)?,
    };
    match kind {
        K::StorageFull => Some("the disk is full: make room, then run the command again"),
        K::ReadOnlyFilesystem => Some("that file system is read-only: name a place on a writable one"),
        K::PermissionDenied => Some("give the account running dsr access to it, or name another path"),
        _ => None,
    }
}

/// The store as an error names it: its path, or what it may be when dsr does not know which file.
fn store_named(store: Option<&std::path::Path>) -> String {
    match store.map(|p| p.to_string_lossy()).filter(|p| !crate::store::postgres::is_url(p)) {
        Some(p) => format!("the store {p} (or a company database it works on)"),
        None => "the store or a company database it works on".to_owned(),
    }
}

/// A full disk or a damaged file, as SQLite reports them mid-command ("database or disk is
/// full", "database disk image is malformed"): said with the file and what to do.
fn sqlite_fault(err: &anyhow::Error, store: Option<&std::path::Path>) -> Option<String> {
    use rusqlite::ErrorCode as C;
    let code = err.chain().find_map(|c| c.downcast_ref::<rusqlite::Error>()?.sqlite_error_code())?;
    let store_path = store;
    let store = store_named(store);
    match code {
        C::DiskFull => Some(format!(
            "the disk holding {store} or SQLite's temporary files is full, and the change under way was rolled back; make room, then run the command again"
        )),
        // SQLite says "disk I/O error" when it cannot grow its shared-memory or log file: on a
        // disk with no room left that is what it is.
        C::SystemIoFailure if no_room(store_path) => Some(format!(
            "the disk holding {store} is full (SQLite: {}); make room, then run the command again",
            sqlite_text(err)
        )),
        C::DatabaseCorrupt | C::NotADatabase => Some(format!(
            "{store} is damaged or not a SQLite file (SQLite: {}); stop using it: run `dsr doctor` to see what is readable, and restore the file from a backup",
            sqlite_text(err)
        )),
        _ => None,
    }
}

/// Whether the file system of the store (a path) has less than a page left for an ordinary
/// account. (No path, or no answer: no.)
fn no_room(store: Option<&std::path::Path>) -> bool {
    let Some(path) = store.filter(|p| !crate::store::postgres::is_url(&p.to_string_lossy())) else { return false };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    rustix::fs::statvfs(dir).is_ok_and(|s| s.f_bavail.saturating_mul(s.f_frsize) < 64 * 1024)
}

/// SQLite's own words for the error, once (rusqlite adds its code and the same words again).
fn sqlite_text(err: &anyhow::Error) -> String {
    let text = err.chain().find_map(|c| match c.downcast_ref::<rusqlite::Error>()? {
        rusqlite::Error::SqliteFailure(_, Some(m)) => Some(m.clone()),
        rusqlite::Error::SqliteFailure(e, None) => Some(e.to_string()),
        _ => None,
    });
    text.unwrap_or_default()
}

/// Whether the PostgreSQL server refused the role a right (on the schema or a table).
fn denied_on_postgres(err: &anyhow::Error) -> bool {
    err.chain().any(|c| c.downcast_ref::<postgres::Error>().is_some_and(crate::exit::denied_a_right))
}

/// An error's chain in words, each link once: a PostgreSQL server's refusal as its message (not
/// `db error: ERROR: ...` with its DETAIL on lines of their own, then the same again as the
/// cause), a system error without its `(os error N)`.
pub fn words(err: &anyhow::Error) -> String {
    static OS_ERROR: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r" \(os error \d+\)").expect("a valid pattern"));
    let mut parts: Vec<String> = Vec::new();
    let mut after_server = false;
    for link in err.chain() {
        if after_server && link.downcast_ref::<postgres::error::DbError>().is_some() {
            continue;
        }
        let server = link.downcast_ref::<postgres::Error>();
        after_server = server.is_some();
        let text = server.map_or_else(|| link.to_string(), crate::store::postgres::one_line);
        parts.push(OS_ERROR.replace_all(&text, "").into_owned());
        // A client error's words end with its causes already.
        if server.is_some_and(|s| s.as_db_error().is_none()) {
            break;
        }
    }
    parts.join(": ")
}

/// Report a failure and return its exit code: one line on stderr (`dsr: ...`) and, with
/// `--json`, one document on stdout (`format_version`, `error.kind`, `error.exit_code`,
/// `error.message`) unless the command wrote its report already. A closed pipe is not reported. A stream that cannot be written is passed
/// over: the exit code already tells what failed.
/// `store` is the `--db` the command was given, named when SQLite's own message names no file.
pub fn failure(err: &anyhow::Error, json: bool, store: Option<&std::path::Path>) -> crate::exit::Code {
    let code = crate::exit::Code::of_error(err);
    if code == crate::exit::Code::BrokenPipe {
        return code;
    }
    let message = message(err, store);
    if json && !JSON_WRITTEN.load(Ordering::Relaxed) {
        let doc = serde_json::json!({
            "format_version": 1,
            "error": {"kind": code.kind(), "exit_code": code as u8, "message": message},
        });
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{doc:#}").and_then(|()| out.flush());
    }
    let _ = stderr_line(&format!("dsr: {message}"));
    code
}

/// The line a failure is told in (without `dsr: `): what went wrong and what to do, in words
/// (also what an unattended run's record keeps, `cron::record_result`). `store` as for
/// [`failure`].
pub fn message(err: &anyhow::Error, store: Option<&std::path::Path>) -> String {
    let code = crate::exit::Code::of_error(err);
    let raw_busy = code == crate::exit::Code::StoreBusy
        && !err.chain().any(|c| {
            matches!(
                c.downcast_ref::<crate::error::Error>(),
                Some(crate::error::Error::StoreBusy(_) | crate::error::Error::DatabaseBusy { .. })
            )
        });
    let cancelled = err.chain().any(|c| c.downcast_ref::<postgres::Error>().is_some_and(crate::exit::cancelled));
    let lost = crate::exit::lost(err);
    // The server, named when --db gave it (`dsr migrate` names it with --to, not --db).
    let server = store
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| crate::store::postgres::is_url(s))
        .map(|s| format!(" {s}"))
        .unwrap_or_default();
    if lost {
        sanitize::line(&format!(
            "the connection to the PostgreSQL server{server} was lost during the command (the server stopped or restarted, an administrator ended the session, or the network failed); the server rolls back what it had not committed: run the command again when the server is back"
        ))
    } else if cancelled {
        "the PostgreSQL server cancelled a statement (its statement_timeout, or an administrator), and the change under way was rolled back; run the command again, and if it keeps happening raise statement_timeout for dsr's role (ALTER ROLE ... SET statement_timeout = ...)".to_owned()
    } else if raw_busy && err.chain().any(|c| c.downcast_ref::<postgres::Error>().is_some()) {
        // A lock of the server's not granted in time (`lock_timeout`): another dsr process on the
        // same schema holds it (a second `dsr migrate` into it, a change of the map).
        "the PostgreSQL store stayed locked by another process (another dsr command on the same schema, such as a second `dsr migrate` into it, or a session holding a lock on one of its tables: see pg_locks), and the command stopped waiting for it: what it had under way was rolled back (a read changes nothing); try again when that process has finished".to_owned()
    } else if raw_busy {
        // SQLite says only "database is locked": the write lock of the store, or of a company
        // database it attaches (`[[database]]`), stayed taken past the busy timeout.
        // Which file it was is asked of the files themselves, now.
        let which = match store.filter(|p| !crate::store::postgres::is_url(&p.to_string_lossy())) {
            Some(path) => match crate::store::attached::locked_now(path) {
                Some((what, file)) => format!("{what} ({})", file.display()),
                None => format!("the store {} or a company database it attaches", path.display()),
            },
            None => "the store or a company database it works on".to_owned(),
        };
        sanitize::line(&format!(
            "{which} stayed locked by another process for {} s, and the change under way was rolled back; try again when that process has finished",
            crate::store::BUSY_TIMEOUT.as_secs()
        ))
    } else if err.chain().any(|c| c.downcast_ref::<postgres::Error>().is_some_and(crate::exit::read_only_on_postgres)) {
        sanitize::line(&format!(
            "the PostgreSQL database{server} takes no writes (a standby, or default_transaction_read_only is on), and nothing was changed; point dsr at the primary server, or turn the setting off for dsr's role or database"
        ))
    } else if let Some(what) = sqlite_fault(err, store) {
        sanitize::line(&what)
    } else if read_only(err) {
        // A store dsr may read but not write (its file's mode): the first write of a command
        // fails, inside its transaction. SQLite made its -wal and -shm files with the store's
        // mode, so they need the access too.
        sanitize::line(&format!(
            "{} is read-only for the account running dsr, and nothing was changed; give that account write access to the file, its -wal and -shm files and its directory, then run the command again",
            store_named(store)
        ))
    } else if let Some(why) = trigger_refusal(err) {
        sanitize::line(&format!(
            "a company database refused the change with a trigger of its own ({why}); everything was rolled back and nothing was done: make the data map say what that database allows (keep or detach those rows rather than delete them, docs/register-file.md), or change its trigger"
        ))
    } else if let Some(r) = err.chain().find_map(|c| c.downcast_ref::<crate::rights::erase::referred::ReferredBy>()) {
        sanitize::line(&r.0)
    } else if err.chain().any(|c| c.downcast_ref::<rusqlite::Error>().is_some_and(crate::exit::refused_by_foreign_key))
    {
        "a foreign key refused the change: a table the data map does not name (or places in another database) still refers to the rows; everything was rolled back and nothing was done: describe that table in the company file and run `dsr register apply FILE`, so that the rights reach its rows".to_owned()
    } else if let Some(own) = missing_own_table(err) {
        sanitize::line(&format!(
            "{}; dsr's own table {own} is missing from the store (dropped behind dsr's back): its records cannot be made again from the data; restore the store from a backup, then `dsr erase --replay` (docs/erase.md)",
            words(err)
        ))
    } else if err.chain().any(|c| {
        c.downcast_ref::<rusqlite::Error>().is_some_and(crate::exit::missing_table_or_column)
            || c.downcast_ref::<postgres::Error>().is_some_and(crate::exit::undefined_on_postgres)
    }) {
        sanitize::line(&format!(
            "{}; the store's tables are not what dsr and its data map expect (a table or column renamed or dropped behind dsr's back): restore it, or describe the change in the company file and run `dsr register apply FILE`",
            words(err)
        ))
    } else if denied_on_postgres(err) {
        sanitize::line(&format!(
            "{}; connect as a role that has the rights on dsr's schema and the company's tables (their owner, or one granted USAGE and the table rights, docs/postgresql.md)",
            words(err)
        ))
    } else if let Some(what_to_do) = io_hint(err) {
        sanitize::line(&format!("{}; {what_to_do}", words(err)))
    } else {
        sanitize::line(&words(err))
    }
}

/// The one of dsr's own tables an error says is missing (SQLite's "no such table: main.audit_log",
/// PostgreSQL's `relation "dsr.audit_log" does not exist`), if it is one of them.
fn missing_own_table(err: &anyhow::Error) -> Option<String> {
    let text = err.chain().map(|c| c.to_string()).collect::<Vec<_>>().join(": ");
    let named = match (text.find("no such table: "), text.find("relation \"")) {
        (Some(at), _) => text[at + "no such table: ".len()..].split([' ', ',', ';', ')', ':']).next()?.to_owned(),
        (None, Some(at)) if text[at..].contains("\" does not exist") => {
            text[at + "relation \"".len()..].split('"').next()?.to_owned()
        }
        _ => return None,
    };
    let name = named.rsplit('.').next()?.trim_matches('"');
    crate::map::is_own_table(name).then(|| name.to_owned())
}
