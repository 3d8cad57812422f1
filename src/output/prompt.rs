//! A question on the officer's terminal that leaves the terminal as it found it when Ctrl-C
//! ends the command there: a hidden code prompt turns echo off and a yes/no question hides the
//! cursor, and a signal would otherwise end the process before the prompt puts them back.

use std::io::{IsTerminal, Write};
use std::os::fd::AsFd;

/// Ask with `ask` (a dialoguer prompt): on SIGINT, SIGTERM or SIGHUP while it waits, the
/// terminal's settings are restored, the cursor shown, and the command ends with 128 + signal.
pub fn guarded<T, E>(ask: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let stdin = std::io::stdin();
    let saved = stdin.is_terminal().then(|| rustix::termios::tcgetattr(stdin.as_fd()).ok()).flatten();
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return ask();
    };
    let handle = signals.handle();
    let watcher = std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            if let Some(t) = &saved {
                let _ = rustix::termios::tcsetattr(std::io::stdin().as_fd(), rustix::termios::OptionalActions::Now, t);
            }
            let mut err = std::io::stderr();
            if err.is_terminal() {
                let _ = err.write_all(b"\x1b[?25h\n");
            }
            std::process::exit(128 + signal);
        }
    });
    let answer = ask();
    handle.close();
    let _ = watcher.join();
    answer
}
