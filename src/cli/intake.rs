//! The arguments of `dsr intake`: the privacy mailbox read into requests (docs/intake.md).

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
#[command(
    after_help = "Each message that asks for a right (Dutch or English: inzage, verwijder mijn gegevens, access \
request, unsubscribe...) opens a request received on the message's date, by the channel email, with the sender's \
address as the identifier given; the code goes to the address on file, as for every request. A reply that carries \
a request's code (quoted or not, any case, with or without the dash) verifies it: holding the code is the proof, \
the sender's address is recorded (as keyed hashes), not trusted. A message whose right is unclear is kept as \
needs-review with its text; one that asks for nothing (out-of-office, bounce, spam, a question) is listed; one that \
is not mail is kept as unreadable. A message read again (same SHA-256 or Message-ID) does nothing new. \
Exit codes: 0 every message read; 19 some could not be read (each named; the rest were); 2 a path that is neither \
a file nor a folder. See docs/intake.md."
)]
pub struct IntakeArgs {
    /// Messages to read: .eml files, mbox files, Maildir folders, or folders of .eml files
    #[arg(value_name = "FILE", required_unless_present_any = ["watch", "list", "resolve"], conflicts_with_all = ["watch", "list", "resolve"])]
    pub files: Vec<PathBuf>,
    /// Keep reading this Maildir (or folder of .eml files) as a mail client or fetchmail fills it, until interrupted
    #[arg(long, value_name = "DIR", conflicts_with_all = ["list", "resolve"])]
    pub watch: Option<PathBuf>,
    /// With --watch: seconds between two looks
    #[arg(long, value_name = "SECONDS", default_value_t = 5, requires = "watch", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub every: u64,
    /// List the messages waiting for the officer (needs-review first, then listed and unreadable), with their text
    #[arg(long, conflicts_with = "resolve")]
    pub list: bool,
    /// Mark waiting message N as dealt with: --request names the request opened for it, or --note says why none is
    #[arg(long, value_name = "N")]
    pub resolve: Option<i64>,
    /// With --resolve: the request the officer opened for the message
    #[arg(long, value_name = "REQUEST", requires = "resolve", conflicts_with_all = ["files", "watch", "list"])]
    pub request: Option<String>,
    /// With --resolve: what was done, for the record (e.g. "spam", "answered by phone")
    #[arg(long, value_name = "TEXT", requires = "resolve", conflicts_with_all = ["files", "watch", "list"])]
    pub note: Option<String>,
}
