//! The arguments of `dsr status`, the officer's screen of what is due.

use clap::Args;

#[derive(Debug, Args)]
#[command(after_help = "The screen lists the open requests (awaiting verification or verified), overdue first, \
then by days left to the deadline in force (an extension counts), each with its next action as a command to \
copy; the first --limit of them, then how many more and the command that lists them all. Then the codes that \
wait for the person, the erasure plans that wait for approval, the recipients (Art. 19) and systems still to \
tell, the queued mail that failed, and how the last `erase --due` and `retention run` ended. Every count is the \
store's; nothing is left out of a count. Piped, the tables are tab-separated; with --json, one document \
(format_version 1). Exit codes: 0 nothing overdue; 25 a request is past its deadline (with or without --json, so \
a monitoring check can run either); --watch ends with 0 at Ctrl-C. See docs/status.md.")]
pub struct StatusArgs {
    /// Redraw every SECONDS (default 5) on a terminal until Ctrl-C; refused when stdout is not a terminal, or with --json
    #[arg(long, value_name = "SECONDS", num_args = 0..=1, default_missing_value = "5",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub watch: Option<u64>,
    /// List at most N items per section (the counts are always whole)
    #[arg(long, value_name = "N", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub limit: u32,
}
