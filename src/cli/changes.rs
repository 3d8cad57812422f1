//! The arguments of the rights that change data (rectify, restrict, object, erase), of `check`,
//! and of the cron command `retention run`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::{OpenArgs, SubjectArgs};

// Confirmation for changes: asked on a terminal; scripts pass --yes.
#[derive(Debug, Args)]
pub struct YesArgs {
    /// Apply without asking (required when stdin is not a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Fields: those of the store's data map (the company file's [[table.rectify]] entries), listed \
here with what each is when --db names a store; the built-in companies have given_name family_name street \
house_number postal_code city country email phone iban account_holder company_name kvk vat. Changing the email \
address on file sends the code to the old address, and the old address is told of the change.")]
pub struct RectifyArgs {
    /// The verified request to apply
    #[arg(value_name = "REQUEST", conflicts_with_all = ["email", "customer", "phone", "cookie", "set", "supplement"])]
    pub request: Option<String>,
    #[command(flatten)]
    pub subject: SubjectArgs,
    #[command(flatten)]
    pub open: OpenArgs,
    /// A correction, FIELD=VALUE (repeatable)
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub set: Vec<String>,
    /// A supplementary statement completing a category, CATEGORY=TEXT (Art. 16)
    #[arg(long, value_name = "CATEGORY=TEXT")]
    pub supplement: Vec<String>,
    #[command(flatten)]
    pub yes: YesArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Ground {
    /// Art. 18(1)(a): accuracy contested
    AccuracyContested,
    /// Art. 18(1)(b): unlawful, restriction instead of erasure
    Unlawful,
    /// Art. 18(1)(c): needed for legal claims
    LegalClaims,
    /// Art. 18(1)(d): objection pending
    ObjectionPending,
}

impl Ground {
    pub fn as_str(self) -> &'static str {
        match self {
            Ground::AccuracyContested => "accuracy-contested",
            Ground::Unlawful => "unlawful",
            Ground::LegalClaims => "legal-claims",
            Ground::ObjectionPending => "objection-pending",
        }
    }
}

#[derive(Debug, Args)]
pub struct RestrictArgs {
    /// The verified request to apply
    #[arg(value_name = "REQUEST", conflicts_with_all = ["email", "customer", "phone", "cookie", "ground", "category", "lift"])]
    pub request: Option<String>,
    #[command(flatten)]
    pub subject: SubjectArgs,
    #[command(flatten)]
    pub open: OpenArgs,
    /// The Art. 18(1) ground
    #[arg(long, value_enum)]
    pub ground: Option<Ground>,
    /// Restrict only this category (repeatable; default: all the person's data)
    #[arg(long, value_name = "CATEGORY")]
    pub category: Vec<String>,
    /// Send the person the Art. 18(3) notice and lift the restriction of this request --notice-days later
    #[arg(long, value_name = "REQUEST", requires = "reason", conflicts_with = "review")]
    pub lift: Option<String>,
    /// Why the restriction is lifted (told to the person): `accuracy-verified` or `claim-settled` gives it in Dutch and English; other text needs --reason-nl
    #[arg(long, value_name = "CODE|TEXT")]
    pub reason: Option<String>,
    /// The Dutch text of a free-text --reason (asked on a terminal when left out)
    #[arg(long = "reason-nl", value_name = "TEKST", requires = "reason")]
    pub reason_nl: Option<String>,
    /// With --lift: days between the Art. 18(3) notice and the lift; until then the restriction applies
    #[arg(long, value_name = "DAYS", default_value_t = crate::rights::restrict::NOTICE_DAYS, requires = "lift", conflicts_with = "review",
          value_parser = clap::value_parser!(u32).range(1..=90))]
    pub notice_days: u32,
    /// With --lift: the person was told the Art. 18(3) notice another way (no email address on file, or by choice); nothing is mailed
    #[arg(long = "notice-by", value_enum, value_name = "CHANNEL", requires_all = ["lift", "notice_ref"])]
    pub notice_by: Option<crate::request::DeliveryChannel>,
    /// With --notice-by: a reference to trace how the person was told (a letter's tracking number, who told them)
    #[arg(long = "notice-ref", value_name = "TEXT", requires = "notice_by")]
    pub notice_ref: Option<String>,
    #[command(flatten)]
    pub yes: YesArgs,
}

#[derive(Debug, Args)]
#[command(after_help = "By legal basis: direct marketing stops for good and the person's identifiers are suppressed; \
consent is withdrawn; legitimate interest is restricted until `--decide REQUEST --uphold` or `--override --grounds TEXT`; \
contract and legal obligation continue, with the reason. `--purpose dunning` asks for human review of the automated decision.")]
pub struct ObjectArgs {
    /// The verified request to apply
    #[arg(value_name = "REQUEST", conflicts_with_all = ["email", "customer", "phone", "cookie", "purpose", "decide"])]
    pub request: Option<String>,
    #[command(flatten)]
    pub subject: SubjectArgs,
    #[command(flatten)]
    pub open: OpenArgs,
    /// The purpose objected to (a code from `dsr register`)
    #[arg(long, value_name = "PURPOSE")]
    pub purpose: Option<String>,
    /// Record the decision on a pending objection or review of this request
    #[arg(long, value_name = "REQUEST", conflicts_with = "review")]
    pub decide: Option<String>,
    /// The objection is upheld (processing for the purpose stops; a reviewed decision is reversed)
    #[arg(long, requires = "decide", conflicts_with_all = ["override_", "request", "grounds"])]
    pub uphold: bool,
    /// Processing continues on compelling legitimate grounds, which --grounds states
    #[arg(long = "override", id = "override_", requires_all = ["decide", "grounds"], conflicts_with = "request")]
    pub override_: bool,
    /// The compelling grounds (told to the person): `legal-claims`, `network-security` or `fraud-prevention` gives them in Dutch and English; other text needs --grounds-nl
    #[arg(long, value_name = "CODE|TEXT", requires = "override_")]
    pub grounds: Option<String>,
    /// The Dutch text of free-text --grounds (asked on a terminal when left out)
    #[arg(long = "grounds-nl", value_name = "TEKST", requires = "grounds")]
    pub grounds_nl: Option<String>,
    #[command(flatten)]
    pub yes: YesArgs,
}

#[derive(Debug, Args)]
#[command(after_help = "Exit codes: 0 allowed; 20 not allowed (restricted, objected, consent missing or withdrawn, \
suppressed, review pending); 3 no such person. With --stdin: reads one email per line and writes only the allowed ones; \
a malformed line (not an address, not UTF-8) is left out and counted. \
The newsletter is consented to per address: only an address that was itself opted in, and not withdrawn, is allowed.")]
pub struct CheckArgs {
    #[command(flatten)]
    pub subject: SubjectArgs,
    /// The purpose (a code from `dsr register`)
    #[arg(long, value_name = "PURPOSE")]
    pub purpose: String,
    /// Read email addresses from stdin, one per line; write the allowed ones to stdout
    #[arg(long, conflicts_with_all = ["email", "customer", "phone", "cookie"])]
    pub stdin: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Plans: `dsr erase REQUEST --dry-run` shows and stores the plan and approves nothing; \
`--yes` (or yes at the prompt) erases now; `--approve` approves the plan for the next `dsr erase --due`; \
`--hold --reason` / `--release --reason` pause an approved plan without a letter to the person. \
Cron: `dsr erase --due` carries out approved plans of verified erasure requests, without prompts, under a lock \
(exit 22 when another run holds it), and reports plans waiting for approval and on hold. Exit 21: the data \
changed since a plan was approved; the new plan is stored and needs approving again. `--replay` needs --yes on \
a terminal. See docs/erase.md and docs/cron.md.")]
pub struct EraseArgs {
    /// The verified request to plan or carry out
    #[arg(value_name = "REQUEST", conflicts_with_all = ["email", "customer", "phone", "cookie", "due", "replay"])]
    pub request: Option<String>,
    #[command(flatten)]
    pub subject: SubjectArgs,
    #[command(flatten)]
    pub open: OpenArgs,
    /// Show and store the plan; erase nothing and approve nothing
    // `due` and `replay` named too: clap takes a requirement as met when an argument that
    // conflicts with it is given (`--due --dry-run` would otherwise erase for real).
    #[arg(long, requires = "request", conflicts_with_all = ["approve", "hold", "release", "review", "email", "customer", "phone", "cookie", "due", "replay"])]
    pub dry_run: bool,
    /// Approve the plan shown for the next `dsr erase --due` (recorded with who approved it); erase nothing now
    #[arg(long, requires = "request", conflicts_with_all = ["hold", "release", "review", "email", "customer", "phone", "cookie", "due", "replay"])]
    pub approve: bool,
    /// Put the request's plan on hold, so that `erase --due` leaves it (needs --reason; no letter to the person)
    #[arg(long, requires_all = ["request", "reason"], conflicts_with_all = ["release", "review", "email", "customer", "phone", "cookie", "due", "replay"])]
    pub hold: bool,
    /// Take the request's plan off hold (needs --reason)
    #[arg(long, requires_all = ["request", "reason"], conflicts_with_all = ["review", "email", "customer", "phone", "cookie", "due", "replay"])]
    pub release: bool,
    /// Why the plan is put on or taken off hold (recorded in the audit trail)
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Carry out the approved plans of all verified erasure requests (for cron); report those waiting for approval or on hold
    #[arg(long, conflicts_with_all = ["email", "customer", "phone", "cookie", "replay", "review"])]
    pub due: bool,
    /// Erase again, after a restore from a backup, everyone an earlier erasure removed
    #[arg(long, conflicts_with_all = ["email", "customer", "phone", "cookie", "review"])]
    pub replay: bool,
    /// The erasure journal to replay (default: STORE.erasures beside the store)
    #[arg(long, value_name = "FILE", requires = "replay")]
    pub journal: Option<PathBuf>,
    #[command(flatten)]
    pub yes: YesArgs,
}

#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Remove what is past its retention period, rule by rule, in small transactions (for cron).
    /// Every row of a person with an open access, export or rectification request is held back,
    /// and so are a consent in force (with its person and address) and the proof of a withdrawal
    Run {
        /// Count what would be removed; remove nothing
        #[arg(long)]
        dry_run: bool,
        /// Rows per transaction (an officer's command waits at most one batch)
        #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
        batch: u64,
        /// Remove without asking (on a terminal dsr shows what would go and asks; cron is never asked)
        #[arg(long, short = 'y', conflicts_with = "dry_run")]
        yes: bool,
    },
}

// `dsr import TABLE FILE` (docs/import.md).
#[derive(Debug, Args)]
#[command(after_help = "Rows are matched on the source's key (the table's [table.import] key, else its key): a new \
key is added, a changed row updated, the same row left alone. Fields are checked and normalised as rectify \
checks them; a bad row is reported with its line and the rest load (exit 19). A person on the suppression list \
as erased is not brought back; one who objected keeps their opt-ins off. A value dsr rectified is not replaced by \
an older source value (a conflict). Re-running the same file changes nothing.")]
pub struct ImportArgs {
    /// The table of the data map to load
    #[arg(value_name = "TABLE")]
    pub table: String,
    /// CSV with a header row naming the columns, or JSON Lines (one object a line)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The file's format [default: jsonl for .jsonl and .ndjson files, else csv]
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<ImportFormat>,
    /// The time zone of times without an offset in the file, e.g. Europe/Amsterdam
    #[arg(long, value_name = "ZONE")]
    pub source_tz: Option<String>,
    /// Remove the table's rows whose key the file does not have
    #[arg(long)]
    pub delete_missing: bool,
    /// With --delete-missing, let a file without rows empty the table (refused otherwise: a
    /// failed export that wrote only its header would remove every row)
    #[arg(long, requires = "delete_missing")]
    pub allow_empty: bool,
    /// Stop at the first bad row and load nothing
    #[arg(long)]
    pub strict: bool,
    /// Rows per transaction, 1 to 1,000,000; default 50,000, on PostgreSQL 5,000 (a killed run
    /// keeps the batches it committed; run it again)
    #[arg(long, allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub batch: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportFormat {
    Csv,
    Jsonl,
}

// `dsr tasks` (docs/tasks.md).
#[derive(Debug, Args)]
#[command(after_help = "Every rectification, erasure, restriction and objection gives each system of the company \
file ([[system]]) that keeps a copy of a touched table one task, with the source keys of the rows (and for a \
rectification the new values). A sync script reads them (--json: one JSON object a line) and acknowledges each \
with `dsr tasks done`; the keys are erased then. A request is completed only when its tasks are done.")]
pub struct TasksArgs {
    #[command(subcommand)]
    pub command: Option<TasksCommand>,
    /// Only the tasks of this system
    #[arg(long, value_name = "NAME")]
    pub system: Option<String>,
    /// Acknowledged tasks too (their keys are gone)
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Subcommand)]
pub enum TasksCommand {
    /// Acknowledge a task the system has carried out, or every line of a file a sync script wrote
    #[command(group(clap::ArgGroup::new("acknowledged").required(true).args(["task", "file"])))]
    Done {
        /// The task's number
        #[arg(value_name = "TASK", conflicts_with = "file", allow_negative_numbers = true)]
        task: Option<i64>,
        /// The system's reference for what it did (a ticket, a log line), one line
        #[arg(long = "ref", value_name = "TEXT", required_unless_present = "file")]
        reference: Option<String>,
        /// A file of acknowledgements: JSON Lines {"task": N, "ref": "..."} or CSV with a header task,ref
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
    },
}
