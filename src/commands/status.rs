//! `dsr status`: the officer's screen of what is due (docs/status.md). Once, as tables (boxes on
//! a terminal, tab-separated in a pipe) or one `--json` document; with `--watch`, redrawn on a
//! terminal until Ctrl-C. Exit 25 when a request is past its deadline, whatever the output, so
//! that a monitoring check can run `dsr status` or `dsr status --json` alike.

use std::io::Write;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::cli::StatusArgs;
use crate::clock::Clock;
use crate::error::Error;
use crate::exit::Code;
use crate::status::{self, Status};

use super::Session;

mod render;

pub fn status(ctx: &mut Session, args: &StatusArgs) -> anyhow::Result<Code> {
    if let Some(seconds) = args.watch {
        return watch(ctx, args.limit, seconds);
    }
    let s = gather(ctx, ctx.clock, args.limit)?;
    if ctx.out.json {
        ctx.out.json(&s)?;
    } else {
        ctx.out.data(&render::screen(ctx.out, &s))?;
    }
    Ok(if s.overdue() { Code::Overdue } else { Code::Ok })
}

/// The screen at `clock`'s time, requests never verified in time expired first (as `request list`
/// does), so that what is shown is what the officer faces.
fn gather(ctx: &Session, clock: &Clock, limit: u32) -> anyhow::Result<Status> {
    crate::request::decide::expire(ctx.conn, clock)?;
    status::gather(ctx.conn, clock, limit)
}

/// Redraw every `seconds` on the terminal until Ctrl-C (or SIGTERM), then exit 0. A pipe or a
/// file gets no live view: the clear-screen sequences would be noise there.
fn watch(ctx: &mut Session, limit: u32, seconds: u64) -> anyhow::Result<Code> {
    if !ctx.out.stdout_tty || ctx.out.json {
        return Err(Error::invalid(
            "--watch",
            "the live view needs a terminal on stdout (and no --json); run `dsr status` once instead, piped or with --json",
        )
        .into());
    }
    let stop = crate::fsutil::stop_flag()?;
    let pause = Duration::from_secs(seconds);
    while !stop.load(Ordering::Relaxed) {
        // A new reading of the clock each time (DSR_NOW, when set, stays where it is).
        let clock = Clock::from_env()?;
        let s = gather(ctx, &clock, limit)?;
        let screen = render::screen(ctx.out, &s);
        let mut out = std::io::stdout().lock();
        // Home, clear, draw: plain ANSI, which every terminal dsr runs on understands.
        write!(out, "\x1b[H\x1b[2J{screen}\n\nRedrawn every {seconds} s; Ctrl-C quits.\n")?;
        out.flush()?;
        drop(out);
        let drawn = Instant::now();
        while drawn.elapsed() < pause && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    Ok(Code::Ok)
}
