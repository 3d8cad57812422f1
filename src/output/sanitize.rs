//! Stored strings are attacker-controlled (a name typed into a sign-up form, a ticket body):
//! before they reach a terminal, control characters and bidirectional overrides are shown as
//! escapes so they cannot move the cursor, recolour the screen or reorder the text.

/// Escape everything that could act on a terminal; keeps newlines and tabs when `multiline`.
pub fn text(s: &str, multiline: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\t' if multiline => out.push(c),
            c if acts_on_text(c) => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out
}

/// One line: also escapes newlines and tabs.
pub fn line(s: &str) -> String {
    text(s, false)
}

fn is_bidi(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A character that does something to text rather than being part of it: a control character,
/// a bidirectional mark or override, an invisible space (U+200B, U+2060, U+FEFF; the joiners
/// U+200C and U+200D are part of Persian and Indic spellings and of emoji), or a line or
/// paragraph separator (U+2028, U+2029), which some programs take for a
/// line end. Shown escaped, and refused in a value typed for a person's data.
pub fn acts_on_text(c: char) -> bool {
    // Invisible: zero-width space, word joiner and the invisible operators, byte-order mark, soft
    // hyphen, Mongolian vowel separator; line and paragraph separators. (The zero-width joiner
    // and non-joiner shape letters in Persian and Indic names, and are kept.)
    c.is_control()
        || is_bidi(c)
        || matches!(
            c,
            '\u{200b}' | '\u{2060}'..='\u{2064}' | '\u{feff}' | '\u{00ad}' | '\u{180e}' | '\u{2028}' | '\u{2029}'
        )
}

/// `text` with anything shaped like an email address written as `<address>` (a mail server's
/// refusal that names the recipient, kept and told where logs read it).
pub fn without_addresses(text: &str) -> String {
    static ADDRESS: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"<?[^\s<>"'(),;:@\[\]]+@[^\s<>"'(),;:@\[\]]+>?"#).expect("a valid pattern")
    });
    ADDRESS.replace_all(text, "<address>").into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_controls_and_bidi() {
        assert_eq!(line("a\x1b[31mb"), "a\\u{1b}[31mb");
        assert_eq!(line("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(line("two\nlines"), "two\\u{a}lines");
        assert_eq!(text("two\nlines", true), "two\nlines");
        assert_eq!(line("Zoë Çelik"), "Zoë Çelik");
    }

    #[test]
    fn addresses_in_a_server_refusal_are_left_out() {
        assert_eq!(
            super::without_addresses(
                "550 5.1.1 <bram.willems@example.com>: Recipient address rejected (zoë@bücher.de)"
            ),
            "550 5.1.1 <address>: Recipient address rejected (<address>)"
        );
        assert_eq!(super::without_addresses("connection refused (os error 111)"), "connection refused (os error 111)");
    }
}
