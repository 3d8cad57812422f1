//! The arguments of the commands about dsr's own records: requests, the mail queue, and the
//! audit trail.

use std::path::PathBuf;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum RequestCommand {
    /// Requests with the subject's pseudonymous label, the days left and the next action (state and dates: show, --json)
    List {
        /// Only open requests (awaiting verification or verified)
        #[arg(long)]
        open: bool,
        /// Only open requests past their deadline
        #[arg(long)]
        overdue: bool,
        /// List the Art. 19 notifications still open, across all requests, instead of requests
        #[arg(long, conflicts_with_all = ["open", "overdue"])]
        to_notify: bool,
    },
    /// One request: details and timeline
    Show {
        #[arg(value_name = "REQUEST")]
        id: String,
    },
    /// Extend the deadline by one or two months (Art. 12(3)), within the first month, with a reason
    Extend {
        #[arg(value_name = "REQUEST")]
        id: String,
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=2))]
        months: u32,
        /// Why (told to the person): `complexity` or `number-of-requests` gives the reason in Dutch and English; other text needs --reason-nl
        #[arg(long, value_name = "CODE|TEXT")]
        reason: String,
        /// The Dutch text of a free-text --reason (asked on a terminal when left out)
        #[arg(long = "reason-nl", value_name = "TEKST")]
        reason_nl: Option<String>,
    },
    /// Record that the answer reached the person another way than by `--send` (completes the request)
    Delivered {
        #[arg(value_name = "REQUEST")]
        id: String,
        /// How it was handed over
        #[arg(long, value_enum)]
        channel: crate::request::DeliveryChannel,
        /// A reference to trace it (tracking number, portal message id, who handed it over)
        #[arg(long = "ref", value_name = "TEXT")]
        reference: String,
    },
    /// Record that a recipient was told of the request's outcome, with proof (Art. 19)
    #[command(group = clap::ArgGroup::new("proof").required(true).args(["reference", "impossible"]))]
    Notified {
        #[arg(value_name = "REQUEST")]
        id: String,
        /// The recipient's code, as listed by `dsr request show`
        #[arg(long, value_name = "CODE")]
        recipient: String,
        /// Proof that the recipient was told: their ticket number, a letter, a mail id
        #[arg(long = "ref", value_name = "TEXT")]
        reference: Option<String>,
        /// Telling this recipient is impossible or involves disproportionate effort (Art. 19)
        #[arg(long, requires = "reason")]
        impossible: bool,
        /// With --impossible: why
        #[arg(long, value_name = "TEXT", requires = "impossible")]
        reason: Option<String>,
    },
    /// Refuse a request (Art. 12(4)/(5)); the answer states the reasons and the complaint route
    Reject {
        #[arg(value_name = "REQUEST")]
        id: String,
        #[arg(long, value_enum)]
        reason: crate::request::RejectReason,
        /// The reasons in detail (told to the person; `number-of-requests` is given in Dutch and English, other text needs --note-nl)
        #[arg(long, value_name = "CODE|TEXT")]
        note: String,
        /// The Dutch text of a free-text --note (asked on a terminal when left out)
        #[arg(long = "note-nl", value_name = "TEKST")]
        note_nl: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Deliver every queued letter and journal line; exit 18 when any stays queued after a failure
    Flush,
    /// Letters not yet delivered, with their last error
    List,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chain and print its head (newest entry and hash), then check the request rows against it;
    /// exit 16 naming the first bad entry or request
    Verify {
        /// Also fail (exit 16) unless the trail still holds the entry and hash of this anchor file
        #[arg(long, value_name = "FILE")]
        anchor: Option<PathBuf>,
    },
    /// Keep the head of the verified trail elsewhere: write it to a file and/or mail it (for the DPO)
    #[command(group = clap::ArgGroup::new("to").required(true).multiple(true))]
    Anchor {
        /// Write the anchor (JSON) to this file, atomically
        #[arg(long, value_name = "FILE", group = "to")]
        out: Option<PathBuf>,
        /// Replace an existing file at --out
        #[arg(long, requires = "out")]
        force: bool,
        /// Mail the anchor to this address (queued, sent after the command like every letter)
        #[arg(long, value_name = "ADDRESS", group = "to")]
        mail: Option<String>,
    },
    /// List entries
    Log {
        /// Only the entries of this request
        #[arg(long, value_name = "REQUEST")]
        request: Option<String>,
    },
}
