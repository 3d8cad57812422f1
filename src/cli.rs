//! The command line (clap). Flags first, then `DSR_*` environment variables, then defaults.
//! Secrets are never flags.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod changes;
mod commands;
mod intake;
mod letters;
mod records;
mod report;
mod status;
mod usage;
pub use changes::*;
pub use commands::{Command, PageCommand};
pub use intake::IntakeArgs;
pub use letters::LettersCommand;
pub use records::*;
pub use report::ReportArgs;
pub use status::StatusArgs;
pub use usage::{json_asked, parse, Parsed};

pub const ENVIRONMENT: &str = "\
Environment:
  DSR_DB                     store path (default ./dsr.sqlite), or a postgres:// URL; --db wins
  DSR_NOW                    RFC 3339 time that replaces the clock (tests, replays)
  DSR_ACTOR                  who is acting, for the audit trail (default: login name)
  DSR_MAIL                   mail transport: outbox (default: outbox/ beside the store file;
                             for PostgreSQL in the current directory) or smtp
  DSR_SMTP_URL               smtps://user@host:465 or smtp://user@host:587?tls=required
  DSR_SMTP_PASSWORD          SMTP password (never a flag)
  DSR_MAIL_FROM              sender address (default: the register's privacy address)
  DSR_CODE_LIFETIME_MINUTES  verification code lifetime, 1-1440 (default 1440 = 24 h)
  DSR_PG_SCHEMA              schema of a PostgreSQL store (default dsr)
  PGPASSWORD, PGPASSFILE     PostgreSQL password, or the password file (default ~/.pgpass)
  NO_COLOR                   disable colour when --color is auto";

/// The clap command with the environment and exit-code tables in its help.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    Cli::command().after_help(format!("{ENVIRONMENT}\n\nExit codes:\n{}", crate::exit::help_table()))
}

/// The clap command for man pages, which carry the environment and exit codes as sections.
pub fn page_command() -> clap::Command {
    use clap::CommandFactory;
    PageCli::command()
}

/// [`command`] with every command's arguments in place (see [`Command`]): for completions and
/// for the command named in a usage error.
pub fn full_command() -> clap::Command {
    page_command().after_help(format!("{ENVIRONMENT}\n\nExit codes:\n{}", crate::exit::help_table()))
}

macro_rules! cli {
    ($name:ident, $command:ident) => {
        #[derive(Debug, Parser)]
        #[command(
            name = "dsr",
            version,
            about = "Answer GDPR data-subject-rights requests on a local SQLite customer store",
            propagate_version = true
        )]
        pub struct $name {
            #[command(flatten)]
            pub global: Global,
            #[command(subcommand)]
            pub command: $command,
        }
    };
}

cli!(Cli, Command);
cli!(PageCli, PageCommand);

#[derive(Debug, Args)]
pub struct Global {
    /// Path of the store, or a postgres:// URL (docs/postgresql.md)
    #[arg(long, global = true, env = "DSR_DB", default_value = "dsr.sqlite", value_name = "PATH")]
    pub db: PathBuf,
    /// Print one JSON document on stdout instead of tables
    #[arg(long, global = true)]
    pub json: bool,
    /// When to use colour
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Silence every status line and sentence of what was done (never errors or a generated passphrase); stdout keeps only data, and a request's id when one is opened
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
#[command(after_help = "The PostgreSQL store is made new (a schema of that name must not exist) and filled in one \
transaction: the store's schema, the tables the company added to its SQLite store, every row. The audit trail is \
then verified on the copy, before the commit, and must end at the same entry and hash as on SQLite (exit 16 \
otherwise, and nothing is committed). The company's SQLite files the data map names are not copied: the new store \
works on them in place, beside the server (a relative path that would name another file from the directory dsr migrate \
runs in is written as the file's absolute path, and said). A password is never part of the URL: give it in PGPASSWORD \
or ~/.pgpass. See docs/postgresql.md.")]
pub struct MigrateArgs {
    /// The SQLite store to copy (read in one snapshot; upgraded first if older, as by every command)
    #[arg(long, value_name = "PATH")]
    pub from: PathBuf,
    /// The PostgreSQL database: postgres://user@host[:port]/dbname[?sslmode=require]
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// The schema that holds the store in that database [default: DSR_PG_SCHEMA, else dsr]
    #[arg(long, value_name = "NAME")]
    pub schema: Option<String>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Fill the store from an embedded fixture: its register and its sample people
    #[arg(long, value_enum, value_name = "NAME", conflicts_with = "register")]
    pub fixture: Option<FixtureName>,
    /// Load the register from a company file (TOML, see docs/register-file.md), making the tables of
    /// its data map that the store lacks from their declared columns; no people
    #[arg(long, value_name = "FILE")]
    pub register: Option<PathBuf>,
    /// With --fixture: load only the register, no sample people
    #[arg(long, requires = "fixture")]
    pub register_only: bool,
    /// Replace an existing file at --db (asked first on a terminal)
    #[arg(long)]
    pub force: bool,
    /// With --force: replace without asking
    #[arg(long, short = 'y', requires = "force")]
    pub yes: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RegisterArgs {
    #[command(subcommand)]
    pub command: Option<RegisterCommand>,
}

#[derive(Debug, Subcommand)]
pub enum RegisterCommand {
    /// Write the store's register and data map as a company file (TOML, see docs/register-file.md)
    Export {
        /// Write to FILE instead of stdout
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Replace an existing FILE
        #[arg(long, requires = "out")]
        force: bool,
    },
    /// Change the register of a store in use to a company file: the difference first, asked on a terminal, audited
    #[command(after_help = "The file is read and checked as `init --register` does. The difference to the store's \
register (as `register export` writes it) is shown first, one line each: + added, - removed, ~ a changed key with \
its old and new value, or a new order. Applied in one transaction with a `register-applied` audit entry; a removal \
that data in use still names is refused. Exit codes: 0 applied, or no difference (nothing written); 2 a problem in \
the file or a refused removal (one line each, nothing changed), or no --yes off a terminal; 9 declined at the \
question, or the register changed meanwhile. See docs/register-file.md.")]
    Apply(RegisterApplyArgs),
    /// Check a company file without a store: list every problem, one a line (exit 2 with any)
    ///
    /// The file is read whole and checked as `init --register` checks it, its data map against the
    /// built-in schema and the columns a [[table]] declares: codes and the references between them,
    /// a named recipient, a purpose for every category and a table holding it, the rights of
    /// Art. 15-18 and 20-22, the purposes storage and legal-claims, one root table that every table
    /// reaches, every column the map names, plain identifiers only, a validator for every
    /// rectifiable field, recipient links that reach a recipient, and the parameters of each erase
    /// kind. Each problem is one line on stderr (`dsr: FILE: line N: key: what`), then a summary;
    /// exit 2. Without problems: one line on stdout naming what the file holds, exit 0. With
    /// --json: one document with the problems. The list: docs/register-file.md, "register check".
    Check {
        /// The company file (TOML, see docs/register-file.md)
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct RegisterApplyArgs {
    /// The company file (TOML, see docs/register-file.md)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Only show the difference; change nothing
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub yes: YesArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FixtureName {
    /// Voordelig Streamen (privacy policy of 2021)
    VoordeligStreamen,
    /// Virtio ICT B.V. (privacy policy of 26 November 2024)
    Virtio,
    /// Fietsonderdelen Online B.V., a Dutch web shop (its tables made from the company file)
    Webshop,
}

impl FixtureName {
    pub fn as_str(self) -> &'static str {
        match self {
            FixtureName::VoordeligStreamen => "voordelig-streamen",
            FixtureName::Virtio => "virtio",
            FixtureName::Webshop => "webshop",
        }
    }
}

// One way to name the person.
#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct SubjectArgs {
    /// Email address (its domain matched ignoring case, its local part as the data map's
    /// local_part says; no dot or '+' folding)
    #[arg(long, value_name = "EMAIL")]
    pub email: Option<String>,
    /// Customer number (matched ignoring case)
    #[arg(long, value_name = "NUMBER")]
    pub customer: Option<String>,
    /// Phone number (E.164, or Dutch national format)
    #[arg(long, value_name = "PHONE")]
    pub phone: Option<String>,
    /// Cookie identifier (visitors known only by a cookie)
    #[arg(long, value_name = "ID")]
    pub cookie: Option<String>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 found, 3 not found, 4 ambiguous (candidates listed), 2 malformed identifier, 10-15 store errors."
)]
pub struct LookupArgs {
    #[command(flatten)]
    pub subject: SubjectArgs,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Which company's fixture to use
    #[arg(long, value_enum, default_value_t = FixtureName::Virtio, value_name = "NAME")]
    pub fixture: FixtureName,
    /// Keep the demo's store and outbox here (new or empty; default: a new directory in the temporary directory)
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Number of customers
    #[arg(long, default_value_t = 10_000)]
    pub customers: u64,
    /// Seed of the deterministic generator
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Server-log lines per customer on average
    #[arg(long, default_value_t = 200)]
    pub log_lines: u64,
    /// IP events per customer on average
    #[arg(long, default_value_t = 50)]
    pub ip_events: u64,
    /// Replace an existing file at --db (asked first on a terminal)
    #[arg(long)]
    pub force: bool,
    /// With --force: replace without asking
    #[arg(long, short = 'y', requires = "force")]
    pub yes: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Opening: `dsr access --email E` opens a request and sends a one-time code to the address on file; \
the acknowledgement is the same whether or not the address is known. Answering: `dsr access REQUEST` once \
`dsr verify REQUEST` accepted the code; exit 5 (nothing disclosed) before that. On a terminal the answer is \
the person's copy in English and Dutch: the controller, the Art. 15(1) summary, the automated decision per \
invoice, the person's requests, then the data (euros, yes/no, Dutch local time, no internal ids); --json and \
--out keep raw values (cents, codes, UTC)."
)]
pub struct AccessArgs {
    /// The request to answer (once verified)
    #[arg(value_name = "REQUEST", conflicts_with_all = ["email", "customer", "phone", "cookie", "received", "channel"])]
    pub request: Option<String>,
    #[command(flatten)]
    pub subject: SubjectArgs,
    #[command(flatten)]
    pub open: OpenArgs,
    /// Write the answer as JSON to this file (mode 0600, written atomically)
    #[arg(long, value_name = "FILE", requires = "request", conflicts_with_all = ["archive", "review", "email", "customer", "phone", "cookie"])]
    pub out: Option<PathBuf>,
    /// Write the full Art. 15(3) copy as a zip archive (see docs/archive-format.md)
    #[arg(long, value_name = "FILE.zip", requires = "request", conflicts_with_all = ["review", "email", "customer", "phone", "cookie"])]
    pub archive: Option<PathBuf>,
    /// Deliver the answer: mail the archive with a cover letter to the address on file (completes the request)
    #[arg(long, requires = "request", conflicts_with_all = ["out", "archive", "review", "email", "customer", "phone", "cookie"])]
    pub send: bool,
    #[command(flatten)]
    pub crypt: CryptArgs,
    /// Replace an existing --out or --archive file
    #[arg(long)]
    pub force: bool,
}

// Archive encryption. The passphrase is never a flag value.
#[derive(Debug, Args)]
pub struct CryptArgs {
    /// Encrypt every entry with AES-256; a generated passphrase (160 bits) is shown once on stderr
    #[arg(long)]
    pub encrypt: bool,
    /// Encrypt with the passphrase in this file (first line) instead of a generated one
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

impl CryptArgs {
    /// Whether encryption was asked for, by either flag.
    pub fn asked(&self) -> bool {
        self.encrypt || self.passphrase_file.is_some()
    }
}

#[derive(Debug, Args)]
#[command(after_help = "Batch CSV: a header row with the columns email or customer (one per row), verified_by \
(how identity was verified outside dsr, e.g. portal-session) and reference (e.g. the session id). \
A person on several rows is exported once (the later rows: same person as line N; lines are the file's own). \
Re-running the same batch skips rows already exported. Exit 19 when any row failed; exit 22 when another batch export of the store is running (one at a time).")]
pub struct ExportArgs {
    /// The request to write the archive of (once verified)
    #[arg(value_name = "REQUEST", conflicts_with_all = ["email", "customer", "phone", "cookie", "received", "channel", "batch"])]
    pub request: Option<String>,
    #[command(flatten)]
    pub subject: SubjectArgs,
    #[command(flatten)]
    pub open: OpenArgs,
    /// Where to write the archive (zip; mode 0600, written atomically)
    #[arg(long, value_name = "FILE.zip", requires = "request", conflicts_with_all = ["review", "email", "customer", "phone", "cookie", "batch"])]
    pub out: Option<PathBuf>,
    /// Deliver the answer: mail the archive with a cover letter to the address on file (completes the request)
    #[arg(long, requires = "request", conflicts_with_all = ["out", "review", "email", "customer", "phone", "cookie", "batch"])]
    pub send: bool,
    #[command(flatten)]
    pub crypt: CryptArgs,
    /// Replace an existing --out file
    #[arg(long, conflicts_with = "batch")]
    pub force: bool,
    /// Export everyone named in this CSV, verified outside dsr (see below)
    #[arg(long, value_name = "FILE.csv", requires = "out_dir", conflicts_with_all = ["email", "customer", "phone", "cookie", "review"])]
    pub batch: Option<PathBuf>,
    /// Directory for the batch's archives (one REQUEST.zip per person)
    #[arg(long, value_name = "DIR", requires = "batch")]
    pub out_dir: Option<PathBuf>,
    /// Archives written at once in a batch (default: twice the number of CPUs)
    #[arg(long, value_name = "N", requires = "batch", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: Option<u16>,
}

// How a request came in.
#[derive(Debug, Args)]
pub struct OpenArgs {
    /// Date the request was received, if earlier than today (YYYY-MM-DD)
    #[arg(long, value_name = "DATE")]
    pub received: Option<chrono::NaiveDate>,
    /// How the request came in
    #[arg(long, value_enum, value_name = "CHANNEL")]
    pub channel: Option<crate::request::Channel>,
    /// Open this right for a request `dsr intake` left as needs-review (its person, date and channel stay)
    #[arg(
        long,
        value_name = "REQUEST",
        conflicts_with_all = ["request", "email", "customer", "phone", "cookie", "received", "channel"]
    )]
    pub review: Option<String>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Another method: a person who cannot receive a code (a cookie-only visitor, a letter, a visit) \
is verified with `dsr verify REQUEST --method NAME --ref TEXT --reason TEXT`; the audit trail records the method, \
the officer, and keyed hashes of the reference and reason. Refused for a request naming no one on file (exit 9) and \
while verification is locked (exit 7). See docs/verification.md."
)]
pub struct VerifyArgs {
    /// The request the code belongs to
    #[arg(value_name = "REQUEST", required_unless_present_any = ["resend", "unlock"])]
    pub request: Option<String>,
    /// The code the person relays (asked for on a terminal when left out)
    #[arg(value_name = "CODE", requires = "request", conflicts_with = "method")]
    pub code: Option<String>,
    /// Verify without a code, by this method (e.g. in-person, account-login); needs --ref and --reason
    #[arg(long, value_name = "NAME", requires_all = ["request", "reference", "reason"], conflicts_with_all = ["resend", "unlock"])]
    pub method: Option<String>,
    /// What the other method rests on (e.g. a ticket or session id), kept out of the audit chain
    #[arg(long = "ref", id = "reference", value_name = "TEXT", requires = "method")]
    pub reference: Option<String>,
    /// Send a new code for this request (voids the older one)
    #[arg(long, value_name = "REQUEST", conflicts_with_all = ["request", "unlock"])]
    pub resend: Option<String>,
    /// Lift the lock on the person of this request
    #[arg(long, value_name = "REQUEST", requires = "reason", conflicts_with = "request")]
    pub unlock: Option<String>,
    /// Why the lock is lifted, or why another method than a code was used (at most 1000 characters)
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}
