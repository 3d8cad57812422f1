//! `index.html`: one self-contained page (inline CSS, no scripts, no remote resources) that shows
//! the person their data and the register in readable tables, with Dutch and English headings.
//! Rows are streamed like everywhere else in the archive; every value is HTML-escaped.

use std::io::Write;

use serde_json::{Map, Value};

use super::{csv_cell, Spec};

use crate::recipients::PersonRecipient;
use crate::register::{Category, Controller, Register};

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1d1d1f;line-height:1.45}\
h1{font-size:1.6rem}h2{margin-top:2.2rem;border-bottom:2px solid #d0d7de;padding-bottom:.3rem}h3{margin-bottom:.3rem}\
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.2rem;font-size:.9rem}th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}\
th{background:#f3f5f7}tr:nth-child(even) td{background:#fafbfc}.nl{color:#57606a}.meta{color:#57606a;font-size:.9rem}\
.wrap{overflow-x:auto}";

/// Escape text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push_str(&format!("&#{};", c as u32)),
            c => out.push(c),
        }
    }
    out
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
            write!(out, "<td>{}</td>", esc(c))?;
        }
        out.write_all(b"</tr>\n")?;
    }
    out.write_all(b"</tbody></table></div>\n")
}

pub fn write(
    out: &mut dyn Write,
    rows: &super::Rows<'_>,
    register: &Register,
    categories: &[&Category],
    recipients: &[PersonRecipient],
    spec: &Spec<'_>,
    controller: &Controller,
) -> anyhow::Result<u64> {
    let title = format!("{} – {}", controller.name, spec.request.id);
    writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"nl\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>",
        esc(&title)
    )?;
    heading(out, 1, "Your personal data", "Jouw persoonsgegevens")?;
    writeln!(
        out,
        "<p class=\"meta\">{} · request / verzoek {} ({}) · generated / gemaakt {}</p>",
        esc(&controller.name),
        esc(&spec.request.id),
        esc(&spec.request.right),
        esc(&spec.generated_at)
    )?;
    let mut records = 0;
    for c in categories {
        heading(out, 2, &c.name_en, &c.name_nl)?;
        writeln!(out, "<p>{} <span class=\"nl\">{}</span></p>", esc(&c.description_en), esc(&c.description_nl))?;
        let mut any = false;
        for t in &c.tables {
            let mut open = false;
            rows.each(t, |row: Map<String, Value>| {
                if !open {
                    write!(out, "<h3>{}</h3>\n<div class=\"wrap\"><table><thead><tr>", esc(&t.replace('_', " ")))?;
                    for k in row.keys() {
                        write!(out, "<th>{}</th>", esc(&super::labels::column(k)))?;
                    }
                    out.write_all(b"</tr></thead><tbody>\n")?;
                    open = true;
                }
                out.write_all(b"<tr>")?;
                for v in row.values() {
                    write!(out, "<td>{}</td>", esc(&csv_cell(v)))?;
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

    heading(out, 2, "Why we process your data", "Waarom we je gegevens verwerken")?;
    let rows: Vec<Vec<String>> = categories
        .iter()
        .map(|c| {
            let purposes: Vec<String> = c
                .purposes
                .iter()
                .filter_map(|p| register.purposes.iter().find(|x| &x.code == p))
                .map(|p| format!("{} ({}, {})", p.name_en, p.legal_basis_name_en, p.legal_basis_article))
                .collect();
            let retention: Vec<&str> =
                register.retention_of_category(&c.code).map(|r| r.description_en.as_str()).collect();
            vec![
                format!("{} / {}", c.name_en, c.name_nl),
                purposes.join("; "),
                retention.join(" "),
                c.source_en.clone(),
            ]
        })
        .collect();
    simple_table(
        out,
        &[
            "Category / Categorie",
            "Purposes and legal basis / Doelen en grondslag",
            "Retention / Bewaartermijn",
            "Source / Bron",
        ],
        &rows,
    )?;

    heading(out, 2, "Who received your data", "Wie je gegevens ontving")?;
    let rows: Vec<Vec<String>> = recipients
        .iter()
        .map(|r| vec![r.name.clone(), r.country.clone(), r.because.join("; "), r.safeguards_en.clone()])
        .collect();
    simple_table(out, &["Recipient / Ontvanger", "Country / Land", "Why / Waarom", "Safeguards / Waarborgen"], &rows)?;

    for d in &register.automated_decisions {
        heading(out, 2, &d.name_en, &d.name_nl)?;
        writeln!(out, "<p>{}</p>\n<p class=\"nl\">{}</p>", esc(&d.logic_en), esc(&d.logic_nl))?;
        writeln!(out, "<p>{}</p>\n<p class=\"nl\">{}</p>", esc(&d.consequences_en), esc(&d.consequences_nl))?;
        writeln!(out, "<p>{}</p>\n<p class=\"nl\">{}</p>", esc(&d.human_review_en), esc(&d.human_review_nl))?;
    }

    heading(out, 2, "Your rights", "Jouw rechten")?;
    let rows: Vec<Vec<String>> = register
        .rights
        .iter()
        .map(|r| vec![format!("{} / {}", r.name_en, r.name_nl), r.article.clone(), r.how_en.clone(), r.how_nl.clone()])
        .collect();
    simple_table(out, &["Right / Recht", "Article / Artikel", "How", "Hoe"], &rows)?;
    writeln!(
        out,
        "<p>{} <a href=\"{}\">{}</a>. {}</p>\n<p class=\"nl\">{}</p>",
        esc("Complaints:"),
        esc(&controller.complaint_url),
        esc(&controller.complaint_authority),
        esc(&controller.court_route_en),
        esc(&controller.court_route_nl)
    )?;
    out.write_all(b"</body>\n</html>\n")?;
    Ok(records)
}
