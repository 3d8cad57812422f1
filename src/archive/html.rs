//! `index.html`: one self-contained page (inline CSS, no scripts, no remote resources) that shows
//! the person who we are, the Art. 15(1) summary first and their data after, in readable tables in
//! English and Dutch (see [`super::sections`] and [`super::present`]). Rows are streamed like
//! everywhere else in the archive; every value is HTML-escaped.

use std::io::Write;

use serde_json::{Map, Value};

use super::present::{code_or, hidden, when, Names, TIME_NOTE_EN, TIME_NOTE_NL};
use super::sections::{self, Copy, Section};
use super::Spec;

use std::collections::HashMap;

use crate::recipients::PersonRecipient;
use crate::register::{Category, Register};
use crate::request::Kind;
use crate::rights::history;

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1d1d1f;line-height:1.45}\
h1{font-size:1.6rem}h2{margin-top:2.2rem;border-bottom:2px solid #d0d7de;padding-bottom:.3rem}h3{margin-bottom:.3rem}\
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.2rem;font-size:.9rem}th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}\
th{background:#f3f5f7}tr:nth-child(even) td{background:#fafbfc}.nl{color:#57606a}.meta{color:#57606a;font-size:.9rem}\
.wrap{overflow-x:auto}table.controller{width:auto}";

/// Escape text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escaped(s, |part| {
        out.push_str(part);
        Ok(())
    })
    .expect("writing to a string cannot fail");
    out
}

/// [`esc`] written straight into `out`: a table cell's text, with no string of its own.
fn write_esc(out: &mut dyn Write, s: &str) -> std::io::Result<()> {
    escaped(s, |part| out.write_all(part.as_bytes()))
}

/// `s` in parts for the page: runs of text that stand as themselves, the entities of `&`, `<`,
/// `>` and quotes, and what acts on text rather than being part of it (control characters but
/// tab and newline, bidirectional overrides, invisible spaces: `output::sanitize::acts_on_text`)
/// written as the terminal copy writes it, `\u{202e}`: an entity of a C0 character is a parse
/// error, and an override would turn the text around on the page. Read byte by byte: ASCII
/// stands for itself, and a character of more bytes is looked at whole.
fn escaped(s: &str, mut put: impl FnMut(&str) -> std::io::Result<()>) -> std::io::Result<()> {
    let bytes = s.as_bytes();
    let (mut plain, mut i) = (0, 0);
    while i < bytes.len() {
        let b = bytes[i];
        let entity = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            b'\n' | b'\t' => "",
            _ if b < 0x20 || b == 0x7f => "",
            _ if b < 0x80 => {
                i += 1;
                continue;
            }
            _ => "",
        };
        let c = s[i..].chars().next().expect("i is at a character's start");
        if entity.is_empty() && !(c != '\n' && c != '\t' && crate::output::sanitize::acts_on_text(c)) {
            i += c.len_utf8();
            continue;
        }
        put(&s[plain..i])?;
        match entity {
            "" => put(&c.escape_unicode().to_string())?,
            entity => put(entity)?,
        }
        i += c.len_utf8();
        plain = i;
    }
    put(&s[plain..])
}

fn heading(out: &mut dyn Write, level: u8, en: &str, nl: &str) -> std::io::Result<()> {
    writeln!(out, "<h{level}>{} <span class=\"nl\">/ {}</span></h{level}>", esc(en), esc(nl))
}

fn simple_table(out: &mut dyn Write, header: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    out.write_all(b"<div class=\"wrap\"><table><thead><tr>")?;
    for h in header {
        write!(out, "<th>{}</th>", esc(h))?;
    }
    out.write_all(b"</tr></thead><tbody>\n")?;
    for r in rows {
        out.write_all(b"<tr>")?;
        for c in r {
            write!(out, "<td>{}</td>", esc(c).replace('\n', "<br>"))?;
        }
        out.write_all(b"</tr>\n")?;
    }
    out.write_all(b"</tbody></table></div>\n")
}

fn paragraphs(out: &mut dyn Write, text: &[(String, String)]) -> std::io::Result<()> {
    for (en, nl) in text {
        if en == nl {
            writeln!(out, "<p>{}</p>", esc(en))?;
        } else {
            writeln!(out, "<p>{}</p>\n<p class=\"nl\">{}</p>", esc(en), esc(nl))?;
        }
    }
    Ok(())
}

fn section(out: &mut dyn Write, s: &Section) -> std::io::Result<()> {
    heading(out, s.level, &s.en, &s.nl)?;
    paragraphs(out, &s.text)?;
    if !s.header.is_empty() {
        let header: Vec<&str> = s.header.iter().map(String::as_str).collect();
        simple_table(out, &header, &s.rows)?;
    }
    paragraphs(out, &s.after)
}

/// The page for an archive: an access copy adds the person's requests (Art. 15(3)); both explain
/// the automated decision per invoice (Art. 15(1)(h)).
pub fn write_copy(
    out: &mut dyn Write,
    rows: &super::Rows<'_>,
    register: &Register,
    categories: &[&Category],
    counts: &HashMap<String, u64>,
    recipients: &[PersonRecipient],
    spec: &Spec<'_>,
) -> anyhow::Result<u64> {
    let controller = register.controller.as_ref().ok_or_else(crate::error::Error::no_register)?;
    let (conn, s) = (rows.conn, &rows.subject);
    let history = match spec.request.kind()? {
        Kind::Export => None,
        _ => Some(history::load(conn, register, s)?),
    };
    let dunning =
        register.automated_decisions.iter().map(|d| history::dunning(conn, d, s)).collect::<Result<Vec<_>, _>>()?;
    let copy = Copy {
        controller,
        register,
        held: categories
            .iter()
            .map(|c| (*c, c.tables.iter().map(|t| counts.get(t).copied().unwrap_or(0)).sum()))
            .filter(|(_, n)| *n > 0)
            .collect(),
        recipients,
        decisions: register.automated_decisions.iter().zip(dunning.iter().map(Vec::as_slice)).collect(),
        history: history.as_ref(),
    };
    write(out, rows, &copy, categories, spec)
}

/// The page: who we are, the Art. 15(1) summary, the automated decision per invoice, the
/// person's requests, and then every record, table by table.
pub fn write(
    out: &mut dyn Write,
    rows: &super::Rows<'_>,
    copy: &Copy<'_>,
    categories: &[&Category],
    spec: &Spec<'_>,
) -> anyhow::Result<u64> {
    let controller = copy.controller;
    let names = Names(copy.register);
    let title = format!("{} – {}", controller.name, spec.request.id);
    writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"nl\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>",
        esc(&title)
    )?;
    heading(out, 1, "Your personal data", "Jouw persoonsgegevens")?;
    out.write_all(b"<table class=\"controller\"><tbody>\n")?;
    for (label, value) in sections::controller_lines(controller) {
        writeln!(out, "<tr><th>{}</th><td>{}</td></tr>", esc(&label), esc(&value))?;
    }
    out.write_all(b"</tbody></table>\n")?;
    writeln!(
        out,
        "<p class=\"meta\">request / verzoek {} ({}) · generated / gemaakt {}</p>\n<p class=\"meta\">{} <span class=\"nl\">{}</span></p>",
        esc(&spec.request.id),
        esc(&code_or("right", &spec.request.right)),
        esc(&when(Some(&spec.generated_at))),
        esc(TIME_NOTE_EN),
        esc(TIME_NOTE_NL)
    )?;
    for s in sections::summary(copy).iter().chain(&sections::decisions(copy)) {
        section(out, s)?;
    }
    if let Some(h) = copy.history {
        for s in sections::history(h, &names) {
            section(out, &s)?;
        }
    }

    let mut records = 0;
    for c in categories {
        heading(out, 2, &c.name_en, &c.name_nl)?;
        writeln!(out, "<p>{}</p>\n<p class=\"nl\">{}</p>", esc(&c.description_en), esc(&c.description_nl))?;
        let mut any = false;
        for t in &c.tables {
            let mut open = false;
            rows.each(t, |row: &Map<String, Value>| {
                if !open {
                    let (en, nl) = super::labels::table(&copy.register.map, t);
                    heading(out, 3, &en, &nl)?;
                    out.write_all(b"<div class=\"wrap\"><table><thead><tr>")?;
                    for k in row.keys().filter(|k| !hidden(k)) {
                        write!(out, "<th>{}</th>", esc(&names.heading(t, k)))?;
                    }
                    out.write_all(b"</tr></thead><tbody>\n")?;
                    open = true;
                }
                out.write_all(b"<tr>")?;
                for (k, v) in row.iter().filter(|(k, _)| !hidden(k)) {
                    out.write_all(b"<td>")?;
                    write_esc(out, &names.cell(t, k, v))?;
                    out.write_all(b"</td>")?;
                }
                out.write_all(b"</tr>\n")?;
                records += 1;
                Ok(())
            })?;
            if open {
                out.write_all(b"</tbody></table></div>\n")?;
                any = true;
            }
        }
        if !any {
            out.write_all("<p class=\"meta\">No records. <span class=\"nl\">Geen gegevens.</span></p>\n".as_bytes())?;
        }
    }
    out.write_all(b"</body>\n</html>\n")?;
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Character by character, as the page was escaped before `escaped` read bytes.
    fn by_char(s: &str) -> String {
        let mut out = String::new();
        for c in s.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#39;"),
                c if c != '\n' && c != '\t' && crate::output::sanitize::acts_on_text(c) => {
                    out.extend(c.escape_unicode())
                }
                c => out.push(c),
            }
        }
        out
    }

    #[test]
    fn text_is_escaped_byte_by_byte_as_character_by_character() {
        let mut samples: Vec<String> = [
            "",
            "Jan",
            "a & b <c> \"d\" 'e'",
            "Zoë\u{7}\u{85}\n\t",
            "a\u{202e}b\u{200b}c\u{feff}\u{2028}",
            "&",
            "\u{0}x\u{9f}\u{a0}",
            "€ 1.234,56",
            "\u{7f}\u{80}ÿ",
        ]
        .map(String::from)
        .to_vec();
        // Every character up to U+0800 (every one-byte and two-byte UTF-8 sequence), after text.
        samples.push((0..0x800u32).filter_map(char::from_u32).map(|c| format!("x{c}")).collect());
        for s in &samples {
            let mut out = Vec::new();
            write_esc(&mut out, s).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), by_char(s), "{s:?}");
            assert_eq!(esc(s), by_char(s), "{s:?}");
        }
        assert_eq!(esc("<a href='x'>\u{1b}"), "&lt;a href=&#39;x&#39;&gt;\\u{1b}");
        assert_eq!(esc("@evil\u{202e}exe.txt\u{0}"), "@evil\\u{202e}exe.txt\\u{0}");
    }
}
