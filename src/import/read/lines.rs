//! Where a CSV record starts: the line ends read ahead of the parser, and the line a record the
//! parser reports starts on.

use super::Hashing;

impl<R> Hashing<R> {
    /// The line of a CSV record that the parser says starts at `byte`: after the line ends before
    /// it, the one it starts inside (the `\n` of a `\r\n` the parser stopped before), and the
    /// blank lines the parser skipped.
    pub(super) fn line_at(&mut self, byte: u64) -> u64 {
        let mut cursor = byte;
        while let Some(&(start, end)) = self.newlines.front() {
            if end < byte || (start <= cursor && cursor <= end) {
                cursor = cursor.max(end + 1);
            } else {
                break;
            }
            self.newlines.pop_front();
            self.lines_passed += 1;
        }
        self.lines_passed + 1
    }

    /// Note the line ends of `buf`, read at offset `at` (`eof`: nothing follows it).
    pub(super) fn line_ends(&mut self, buf: &[u8], at: u64, eof: bool) {
        for i in memchr::memchr2_iter(b'\n', b'\r', buf) {
            let offset = at + i as u64;
            let cr = self.pending_cr.take();
            if buf[i] == b'\n' {
                match cr {
                    Some(p) if p + 1 == offset => self.newlines.push_back((p, offset)),
                    Some(p) => self.newlines.extend([(p, p), (offset, offset)]),
                    None => self.newlines.push_back((offset, offset)),
                }
            } else {
                if let Some(p) = cr {
                    self.newlines.push_back((p, p));
                }
                self.pending_cr = Some(offset);
            }
        }
        // A `\r` that is not the last byte read is followed by something other than `\n`.
        let last = at + buf.len() as u64;
        if let Some(p) = self.pending_cr.filter(|&p| eof || p + 1 < last) {
            self.newlines.push_back((p, p));
            self.pending_cr = None;
        }
    }
}
