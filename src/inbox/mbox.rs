//! An mbox file's messages, one at a time. A message starts at a `From ` line of the shape its
//! writer gives it (`From SENDER Www Mmm dd hh:mm[:ss] [zone] yyyy`); a line of a body that
//! starts with `From ` ("From what I can see, ...") is part of its message, also in an mbox whose
//! writer did not quote such lines as `>From `. A quoted line loses one `>` (mboxrd). A message's
//! bytes are otherwise as in the file (the blank line before the next separator too), so each
//! message hashes as it did when read before.

use std::io::BufRead;

pub struct Messages<R> {
    reader: R,
    /// The largest message kept whole; the lines of a larger one are read past, not kept.
    max: usize,
    /// Whether the file's first separator line has been read.
    started: bool,
    done: bool,
    /// Whether the file is complete (not written to for a while): its last line may then lack
    /// its newline. Otherwise a message that ends mid-line is not read.
    settled: bool,
}

impl<R: BufRead> Messages<R> {
    /// The messages of a reader positioned at the file's first `From ` line.
    pub fn new(reader: R, max: usize) -> Self {
        Messages { reader, max, started: false, done: false, settled: false }
    }

    /// The file is complete: a last line without its newline ends its message.
    pub fn settled(mut self, settled: bool) -> Self {
        self.settled = settled;
        self
    }
}

impl<R: BufRead> Iterator for Messages<R> {
    type Item = std::io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut message = Vec::new();
        let mut size = 0;
        let mut line = Vec::with_capacity(128);
        if !self.started {
            // The first line, a separator whatever its shape: the file is known as an mbox by it.
            match self.reader.read_until(b'\n', &mut line) {
                Ok(0) => {
                    self.done = true;
                    return None;
                }
                Ok(_) => self.started = true,
                Err(e) => return self.fail(e),
            }
        }
        // Whether the last line read ended with its newline: a writer ends every message so, and
        // a file that stops mid-line is still being written (or was cut).
        let mut ended = true;
        loop {
            line.clear();
            // At most what the message may still hold (and a separator's length) is kept of a line:
            // one line without an end in a huge file is read past, not into memory.
            let room = self.max.saturating_sub(size).max(256);
            match read_line_within(&mut self.reader, &mut line, room) {
                Ok((0, _)) => {
                    self.done = true;
                    if !ended && !self.settled {
                        return Some(Err(std::io::Error::other(
                            "the file ends in the middle of this message's last line (still being written, or cut short); it was not read: run again when the mbox is complete",
                        )));
                    }
                    return Some(self.whole(message, size));
                }
                Ok((read, _)) if read > line.len() => {
                    size += read;
                    continue;
                }
                Ok(_) => {}
                Err(e) => return self.fail(e),
            }
            if is_separator(&line) {
                return Some(self.whole(message, size));
            }
            ended = line.ends_with(b"\n");
            size += line.len();
            if size <= self.max {
                let quoted =
                    line.iter().position(|&b| b != b'>').is_some_and(|i| i > 0 && line[i..].starts_with(b"From "));
                message.extend_from_slice(if quoted { &line[1..] } else { &line });
            }
        }
    }
}

/// One line (with its `\n`) into `line`, at most `limit` bytes of it; the rest of a longer line is
/// read past. Returns the bytes read in all and whether the line is whole in `line`.
fn read_line_within<R: BufRead>(reader: &mut R, line: &mut Vec<u8>, limit: usize) -> std::io::Result<(usize, bool)> {
    let read = std::io::Read::take(&mut *reader, limit as u64).read_until(b'\n', line)?;
    if read < limit || line.ends_with(b"\n") {
        return Ok((read, true));
    }
    let mut skipped = 0;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok((read + skipped, false));
        }
        let (n, end) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        reader.consume(n);
        skipped += n;
        if end {
            return Ok((read + skipped, false));
        }
    }
}

impl<R> Messages<R> {
    fn whole(&self, message: Vec<u8>, size: usize) -> std::io::Result<Vec<u8>> {
        match size <= self.max {
            true => Ok(message),
            false => Err(std::io::Error::other(format!(
                "the message is {} MB, more than dsr reads ({} MB)",
                size >> 20,
                self.max >> 20
            ))),
        }
    }

    fn fail(&mut self, e: std::io::Error) -> Option<std::io::Result<Vec<u8>>> {
        self.done = true;
        Some(Err(e))
    }
}

/// Whether a line is an mbox separator: `From `, a sender without spaces, then a date as
/// `asctime` writes it, with a zone before the year or after it as some writers put it.
fn is_separator(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"From ") else { return false };
    let Ok(rest) = std::str::from_utf8(rest) else { return false };
    let mut words = rest.split_ascii_whitespace().skip(1);
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let named = |w: Option<&str>, names: &[&str]| w.is_some_and(|w| names.iter().any(|n| n.eq_ignore_ascii_case(w)));
    let digits =
        |w: &str, min: usize, max: usize| (min..=max).contains(&w.len()) && w.bytes().all(|b| b.is_ascii_digit());
    let time = |w: Option<&str>| {
        w.is_some_and(|w| {
            let parts: Vec<&str> = w.split(':').collect();
            (2..=3).contains(&parts.len()) && parts.iter().all(|p| digits(p, 2, 2))
        })
    };
    named(words.next(), &DAYS)
        && named(words.next(), &MONTHS)
        && words.next().is_some_and(|d| digits(d, 1, 2))
        && time(words.next())
        && words.take(2).any(|w| digits(w, 4, 4))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(mbox: &str) -> Vec<String> {
        Messages::new(mbox.as_bytes(), 1000).map(|m| String::from_utf8(m.unwrap()).unwrap()).collect()
    }

    #[test]
    fn separators_have_the_shape_of_a_from_line() {
        for line in [
            "From a@b Mon Nov 30 10:00:00 2026\n",
            "From - Tue Jan  5 09:03 2027\r\n",
            "From 1789@xxx Mon Nov 30 10:00:00 +0000 2026\n",
            "From MAILER-DAEMON Fri Jul  8 12:08:34 2011 +0200\n",
        ] {
            assert!(is_separator(line.as_bytes()), "{line}");
        }
        for line in [
            "From what I can see, my data is wrong.\n",
            "From 10:00 to 12:00 on Mon Nov 30\n",
            "From: a@b\n",
            "From a@b Mon Nov 30 10:00:00\n",
            "from a@b Mon Nov 30 10:00:00 2026\n",
        ] {
            assert!(!is_separator(line.as_bytes()), "{line}");
        }
    }

    #[test]
    fn a_body_line_starting_with_from_stays_in_its_message() {
        let mbox = "From a@b Mon Nov 30 10:00:00 2026\nFrom: a@b\n\nHello,\n\nFrom what I see you hold my data.\n>From quoted\n\nFrom c@d Mon Nov 30 11:00:00 2026\nFrom: c@d\n\nErase me.\n";
        assert_eq!(
            split(mbox),
            ["From: a@b\n\nHello,\n\nFrom what I see you hold my data.\nFrom quoted\n\n", "From: c@d\n\nErase me.\n"]
        );
        assert_eq!(split(""), Vec::<String>::new());
        assert_eq!(split("From a@b Mon Nov 30 10:00:00 2026\n"), [""]);
        let big = format!(
            "From a@b Mon Nov 30 10:00:00 2026\n{}\nFrom c@d Mon Nov 30 11:00:00 2026\nFrom: c@d\n",
            "x".repeat(2000)
        );
        let read: Vec<_> = Messages::new(big.as_bytes(), 1000).collect();
        assert!(read[0].as_ref().is_err_and(|e| e.to_string().contains("more than dsr reads")));
        assert_eq!(read[1].as_ref().unwrap(), b"From: c@d\n");
    }

    #[test]
    fn a_last_message_cut_mid_line_is_not_read() {
        let mbox = "From a@b Mon Nov 30 10:00:00 2026\nFrom: a@b\n\nHello\n\nFrom c@d Mon Nov 30 11:00:00 2026\nFrom: c@d\n\nOok wil";
        let read: Vec<_> = Messages::new(mbox.as_bytes(), 1000).collect();
        assert_eq!(read[0].as_ref().unwrap(), b"From: a@b\n\nHello\n\n");
        assert!(read[1].as_ref().is_err_and(|e| e.to_string().contains("middle of this message's last line")));
        let read: Vec<_> = Messages::new(mbox.as_bytes(), 1000).settled(true).collect();
        assert_eq!(read[1].as_ref().unwrap(), b"From: c@d\n\nOok wil");
    }
}
