//! The report as one self-contained page (inline CSS and SVG, no script, nothing fetched from
//! elsewhere), readable offline, in English and Dutch: each heading and explanation in both, as
//! on the archive page; every value passes its HTML escaping.

use std::fmt::Write;

use super::{svg, Line, Report};
use crate::archive::html::esc;

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem auto;max-width:76rem;padding:0 1rem;color:#1d1d1f;line-height:1.45}\
h1{font-size:1.6rem}h2{margin-top:2.2rem;border-bottom:2px solid #d0d7de;padding-bottom:.3rem}\
table{border-collapse:collapse;margin:.5rem 0 1.2rem;font-size:.85rem}th,td{border:1px solid #d0d7de;padding:.25rem .4rem;text-align:left;vertical-align:top}th{font-size:.8rem}\
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f5f7}tr:nth-child(even) td{background:#fafbfc}\
.nl{color:#57606a}.meta{color:#57606a;font-size:.9rem}.wrap{overflow-x:auto}figure{margin:1rem 0}";

fn heading(out: &mut String, level: u8, en: &str, nl: &str) {
    let _ = writeln!(out, "<h{level}>{} <span class=\"nl\" lang=\"nl\">/ {}</span></h{level}>", esc(en), esc(nl));
}

fn para(out: &mut String, en: &str, nl: &str) {
    let _ = writeln!(out, "<p>{}</p>\n<p class=\"nl\" lang=\"nl\">{}</p>", esc(en), esc(nl));
}

/// A table: header cells as (English, Dutch); cells that hold numbers are right-aligned.
fn table(out: &mut String, header: &[(&str, &str)], rows: &[Vec<String>]) {
    out.push_str("<div class=\"wrap\"><table><thead><tr>");
    for (en, nl) in header {
        let _ = write!(out, "<th>{}<br><span class=\"nl\" lang=\"nl\">{}</span></th>", esc(en), esc(nl));
    }
    out.push_str("</tr></thead><tbody>\n");
    for r in rows {
        out.push_str("<tr>");
        for c in r {
            let numeric = !c.is_empty() && c.chars().all(|ch| ch.is_ascii_digit() || ch == '.' || ch == '%');
            let _ = write!(out, "<td{}>{}</td>", if numeric { " class=\"n\"" } else { "" }, esc(c));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>\n");
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "–".into(), |v| v.to_string())
}

fn line_row(l: &Line) -> Vec<String> {
    vec![
        l.right.clone(),
        l.received.to_string(),
        l.answered.to_string(),
        l.in_time.to_string(),
        l.late.to_string(),
        l.overdue.to_string(),
        l.open.to_string(),
        l.expired.to_string(),
        l.extended.to_string(),
        l.refused.to_string(),
        opt(l.in_time_percent.map(|p| format!("{p:.1}%"))),
        opt(l.median_days),
        opt(l.p95_days),
    ]
}

/// The whole page.
pub fn page(r: &Report, controller: Option<&str>) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let title = format!("Accountability report {} – {}", r.period.from, r.period.to);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(&title)
    );
    heading(&mut out, 1, &title, &format!("Verantwoordingsrapport {} – {}", r.period.from, r.period.to));
    let who = controller.map(|c| format!("{}. ", c.trim_end_matches('.'))).unwrap_or_default();
    let _ = writeln!(
        out,
        "<p class=\"meta\">{}</p>\n<p class=\"meta nl\" lang=\"nl\">{}</p>",
        esc(&format!(
            "{who}GDPR Art. 5(2). Requests received from {} to {} (both included); their outcome as of {}.",
            r.period.from, r.period.to, r.as_of
        )),
        esc(&format!(
            "{who}Art. 5 lid 2 AVG. Verzoeken ontvangen van {} tot en met {}; de afloop per {}.",
            r.period.from, r.period.to, r.as_of
        ))
    );

    let q = &r.requests;
    heading(&mut out, 2, "Requests and answers", "Verzoeken en antwoorden");
    para(
        &mut out,
        "In time: answered on or before the deadline in force (one month after receipt, or the extended deadline; Art. 12(3)). Late: answered after it. Overdue: not answered and past the deadline. Expired: never verified, not counted as answered.",
        "Op tijd: beantwoord op of voor de geldende termijn (een maand na ontvangst, of de verlengde termijn; art. 12 lid 3). Te laat: daarna beantwoord. Over tijd: niet beantwoord en de termijn is verstreken. Vervallen: nooit bevestigd, niet als beantwoord geteld.",
    );
    let mut rows: Vec<Vec<String>> = q.by_right.iter().map(line_row).collect();
    rows.push(line_row(&q.all));
    table(
        &mut out,
        &[
            ("Right", "Recht"),
            ("Received", "Ontvangen"),
            ("Answered", "Beantwoord"),
            ("In time", "Op tijd"),
            ("Late", "Te laat"),
            ("Overdue", "Over tijd"),
            ("Open", "Open"),
            ("Expired", "Vervallen"),
            ("Extended", "Verlengd"),
            ("Refused", "Geweigerd"),
            ("In time %", "Op tijd %"),
            ("Median days", "Mediaan dagen"),
            ("95th pct. days", "95e pct. dagen"),
        ],
        &rows,
    );
    let _ = writeln!(
        out,
        "<figure>{}</figure>",
        svg::months(
            &q.by_month,
            &r.period,
            "Requests per month by right / Verzoeken per maand per recht",
            "requests / verzoeken",
            "month received / maand van ontvangst",
        )
    );
    let _ = writeln!(
        out,
        "<figure>{}</figure>",
        svg::days(
            &q.days_to_answer,
            "Days to answer / Dagen tot antwoord",
            "answers / antwoorden",
            "days from receipt to answer / dagen van ontvangst tot antwoord",
            "one month / één maand",
        )
    );
    para(
        &mut out,
        "Bars after the one-month line (orange) are answers given after one month: in time only where the deadline was extended (Art. 12(3)).",
        "Staven na de lijn van één maand (oranje) zijn antwoorden na meer dan een maand: alleen op tijd als de termijn verlengd was (art. 12 lid 3).",
    );
    heading(&mut out, 3, "By channel", "Per kanaal");
    let rows: Vec<Vec<String>> = q
        .by_right_and_channel
        .iter()
        .map(|rc| vec![rc.right.clone(), rc.channel.clone(), rc.count.to_string()])
        .collect();
    table(&mut out, &[("Right", "Recht"), ("Channel", "Kanaal"), ("Requests", "Verzoeken")], &rows);

    heading(&mut out, 2, "Refusals and unverifiable requests", "Weigeringen en niet te verifiëren verzoeken");
    let f = &r.refusals;
    let mut rows: Vec<Vec<String>> = f.by_ground.iter().map(|g| vec![g.key.clone(), g.count.to_string()]).collect();
    rows.push(vec!["expired (never verified) / vervallen".into(), f.expired.to_string()]);
    rows.push(vec!["unverifiable in all / niet te verifiëren in totaal".into(), f.unverifiable.to_string()]);
    table(&mut out, &[("Ground (Art. 12(4))", "Grond (art. 12 lid 4)"), ("Requests", "Verzoeken")], &rows);

    heading(&mut out, 2, "Erasures: what was kept and why", "Verwijderingen: wat bewaard bleef en waarom");
    let e = &r.erasures;
    para(
        &mut out,
        &format!(
            "{} erasures carried out: {} rows deleted, {} kept (Art. 17(3)).",
            e.carried_out, e.rows_deleted, e.rows_kept
        ),
        &format!(
            "{} verwijderingen uitgevoerd: {} rijen verwijderd, {} bewaard (art. 17 lid 3).",
            e.carried_out, e.rows_deleted, e.rows_kept
        ),
    );
    let rows: Vec<Vec<String>> = e
        .kept
        .iter()
        .map(|k| vec![k.ground.clone(), k.table.clone(), k.action.clone(), k.rows.to_string(), k.erasures.to_string()])
        .collect();
    table(
        &mut out,
        &[
            ("Ground", "Grond"),
            ("Table", "Tabel"),
            ("Action", "Actie"),
            ("Rows", "Rijen"),
            ("Erasures", "Verwijderingen"),
        ],
        &rows,
    );

    heading(&mut out, 2, "Recipients told (Art. 19)", "Ontvangers geïnformeerd (art. 19)");
    let n = &r.notifications;
    let mut rows: Vec<Vec<String>> = n
        .by_recipient
        .iter()
        .map(|x| vec![x.recipient.clone(), x.done.to_string(), x.open.to_string(), x.impossible.to_string()])
        .collect();
    rows.push(vec!["all / alle".into(), n.done.to_string(), n.open.to_string(), n.impossible.to_string()]);
    table(
        &mut out,
        &[("Recipient", "Ontvanger"), ("Done", "Gedaan"), ("Open", "Open"), ("Impossible", "Onmogelijk")],
        &rows,
    );

    heading(&mut out, 2, "Retention (Art. 5(1)(e))", "Bewaartermijnen (art. 5 lid 1 onder e)");
    let t = &r.retention;
    para(
        &mut out,
        &format!("{} retention runs removed {} rows.", t.runs, t.rows_removed),
        &format!("{} bewaarrondes verwijderden {} rijen.", t.runs, t.rows_removed),
    );
    let rows: Vec<Vec<String>> = t
        .by_rule
        .iter()
        .map(|x| vec![x.rule.clone(), x.table.clone(), x.runs.to_string(), x.removed.to_string()])
        .collect();
    table(
        &mut out,
        &[("Rule", "Regel"), ("Table", "Tabel"), ("Runs", "Rondes"), ("Rows removed", "Rijen verwijderd")],
        &rows,
    );

    heading(&mut out, 2, "Verification", "Verificatie");
    let v = &r.verification;
    let mut rows: Vec<Vec<String>> = v.by_result.iter().map(|c| vec![c.key.clone(), c.count.to_string()]).collect();
    rows.push(vec!["failed tries in all / mislukte pogingen totaal".into(), v.failed_tries.to_string()]);
    rows.push(vec!["codes burned / codes onbruikbaar".into(), v.codes_burned.to_string()]);
    rows.push(vec!["people locked / personen geblokkeerd".into(), v.locks.to_string()]);
    rows.push(vec![format!("locked on {} / geblokkeerd op {}", r.as_of, r.as_of), v.locked_now.to_string()]);
    table(&mut out, &[("Figure", "Cijfer"), ("Count", "Aantal")], &rows);
    out.push_str("</body>\n</html>\n");
    out
}
