//! The commands of `dsr`, defined once for two clap trees (see the comment on `commands!` below).

use std::path::PathBuf;

use clap::Subcommand;

use super::*;

// The commands, defined once for two trees: `Command` parses, with each command's arguments
// built only when it runs or shows its help (building all of them cost every dsr process about a
// millisecond); `PageCommand` has them all, for completions, man pages and the names in usage
// errors. The doc comments of argument structs are plain comments, since a deferred command
// would take such a struct's doc as its own `about`.
macro_rules! commands {
    ($(#[$attr:meta])* $name:ident) => {
        #[derive(Debug, Subcommand)]
        $(#[$attr])*
        pub enum $name {
    /// Create a new store, optionally filled from an embedded company fixture
    Init(InitArgs),
    /// Check whether the store holds data on a person: records per category (internal, not a request)
    Lookup(LookupArgs),
    /// Show the register of processing (GDPR Art. 30) held in the store, export it with the data map as a company file, check one, or apply one
    Register(RegisterArgs),
    /// Right of access (Art. 15): open a request and send the code, or answer a verified request
    Access(AccessArgs),
    /// Right to data portability (Art. 20): open an export request, write the archive of a verified one, or run a batch
    Export(ExportArgs),
    /// Right to rectification (Art. 16): open a request with the corrections, or apply a verified one
    Rectify(RectifyArgs),
    /// Right to restriction (Art. 18): open a request, apply a verified one, or lift one after notice
    Restrict(RestrictArgs),
    /// Right to object (Art. 21, and human review under Art. 22): open, apply, or decide
    Object(ObjectArgs),
    /// Right to erasure (Art. 17): open, plan (--dry-run), apply; --due for cron; --replay after a restore
    Erase(EraseArgs),
    /// Read the privacy mailbox (.eml, mbox, Maildir): open requests from mail, verify codes from replies, list the rest
    Intake(IntakeArgs),
    /// Load rows a source system exported (CSV or JSON Lines) into a table of the data map, matched on the source's key
    Import(ImportArgs),
    /// Check the store and its company databases against the data map and say what to fix (exit 24 when something is found)
    Doctor,
    /// Tasks for the systems that keep copies: list them (JSON Lines with --json) or acknowledge them
    Tasks(TasksArgs),
    /// Accountability report (Art. 5(2)): requests per right and channel, answered in time, refusals, erasures, notifications, retention, verification
    Report(ReportArgs),
    /// Storage limitation (Art. 5(1)(e)): apply every retention rule of the register
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// May purpose P be carried out for this person? Exit 0 allowed, 20 not allowed
    Check(CheckArgs),
    /// Check the code the person relays; resend a code; unlock after repeated failures
    Verify(VerifyArgs),
    /// List, show, extend or reject requests
    #[command(subcommand)]
    Request(RequestCommand),
    /// What needs the officer today: requests by days left with the next command, codes, plans, recipients and systems to tell, failed mail, cron runs (exit 25 when a request is overdue)
    Status(StatusArgs),
    /// Verify, anchor or list the hash-chained audit trail
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Deliver queued letters now, or list what is queued (letters are sent after each command's commit)
    #[command(subcommand)]
    Mail(MailCommand),
    /// The letters' templates: check a directory of the company's, or write the shipped ones out to edit
    #[command(subcommand)]
    Letters(LettersCommand),
    /// Copy a SQLite store into a new PostgreSQL store (register, people, requests, audit trail), in one transaction
    Migrate(MigrateArgs),
    /// Walk through an access request end to end on a demo store it keeps and names at the end
    Demo(DemoArgs),
    /// Build a large synthetic store for benchmarks (deterministic)
    #[command(hide = true)]
    Generate(GenerateArgs),
    /// Print a shell completion script
    #[command(hide = true)]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write a page per subcommand with --dir
    #[command(hide = true)]
    Man {
        /// Write dsr.1 and a page per subcommand (dsr-access.1, dsr-request-list.1...) into DIR
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
        }
    };
}

commands!(
    #[command(defer = true)]
    Command
);
commands!(PageCommand);
