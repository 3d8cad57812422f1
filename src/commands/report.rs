//! `dsr report`: the accountability report (`crate::report`) of a period, as tables, one JSON
//! document, CSV, or a self-contained HTML page written atomically (mode 0600).

use std::io::Write;

use crate::cli::ReportArgs;
use crate::clock::Clock;
use crate::exit::Code;
use crate::output::{table, Output};
use crate::report::{self, Report};
use crate::store::db::Db;

/// The report on a store of either backend: `make` builds it for the period (in one snapshot).
pub fn run(
    db: &dyn Db,
    out: &Output,
    args: &ReportArgs,
    make: impl FnOnce(report::Period, chrono::NaiveDate) -> anyhow::Result<Report>,
) -> anyhow::Result<Code> {
    let today = Clock::from_env()?.now().date_naive();
    let period = report::period(args.from.as_deref(), args.to.as_deref(), today)?;
    let r = make(period, today)?;
    if let Some(path) = &args.html {
        let controller: Option<String> = db.first("SELECT name FROM controller", &[], |row| row.get(0))?;
        let page = report::html::page(&r, controller.as_deref());
        crate::fsutil::write_private(path, args.force, |f| Ok(f.write_all(page.as_bytes())?))?;
        if out.json {
            out.json(&r)?;
        }
        out.status(&format!(
            "Wrote the report (requests received {} to {}: {}) to {}.",
            r.period.from,
            r.period.to,
            r.requests.total,
            path.display()
        ))?;
    } else if args.csv {
        report::csv::write(&r, std::io::stdout().lock())?;
    } else if out.json {
        out.json(&r)?;
    } else {
        out.data(&tables(&r, out))?;
    }
    Ok(Code::Ok)
}

fn num(n: u64) -> comfy_table::Cell {
    table::cell(&n.to_string())
}

fn opt<T: ToString>(v: Option<T>) -> comfy_table::Cell {
    table::cell(&v.map_or_else(|| "-".into(), |v| v.to_string()))
}

/// The report as text tables, one per section, each under a heading line.
fn tables(r: &Report, out: &Output) -> String {
    let mut text =
        format!("Accountability report: requests received {} to {}, as of {}\n\n", r.period.from, r.period.to, r.as_of);
    let q = &r.requests;
    let mut t = table::new(
        out,
        &[
            "Right",
            "Received",
            "Answered",
            "In time",
            "Late",
            "Overdue",
            "Open",
            "Expired",
            "Extended",
            "Refused",
            "In time %",
            "Median d",
            "P95 d",
        ],
    );
    for l in q.by_right.iter().chain([&q.all]) {
        t.add_row(vec![
            table::cell(&l.right),
            num(l.received),
            num(l.answered),
            num(l.in_time),
            num(l.late),
            num(l.overdue),
            num(l.open),
            num(l.expired),
            num(l.extended),
            num(l.refused),
            opt(l.in_time_percent.map(|p| format!("{p:.1}"))),
            opt(l.median_days),
            opt(l.p95_days),
        ]);
    }
    section(&mut text, "Requests by right", &t);
    let mut t = table::new(out, &["Channel", "Received"]);
    for c in &q.by_channel {
        t.add_row(vec![table::cell(&c.key), num(c.count)]);
    }
    section(&mut text, "Requests by channel", &t);
    let mut t = table::new(out, &["Ground", "Refused"]);
    for g in &r.refusals.by_ground {
        t.add_row(vec![table::cell(&g.key), num(g.count)]);
    }
    t.add_row(vec![table::cell("expired (never verified)"), num(r.refusals.expired)]);
    t.add_row(vec![table::cell("unverifiable in all"), num(r.refusals.unverifiable)]);
    section(&mut text, "Refusals (Art. 12(4)) and unverifiable requests", &t);
    let e = &r.erasures;
    let mut t = table::new(out, &["Ground", "Table", "Action", "Rows", "Erasures"]);
    for k in &e.kept {
        t.add_row(vec![
            table::cell(&k.ground),
            table::cell(&k.table),
            table::cell(&k.action),
            num(k.rows),
            num(k.erasures),
        ]);
    }
    section(
        &mut text,
        &format!(
            "Erasures: {} carried out, {} rows deleted, {} kept; kept and why",
            e.carried_out, e.rows_deleted, e.rows_kept
        ),
        &t,
    );
    let n = &r.notifications;
    let mut t = table::new(out, &["Recipient", "Done", "Open", "Impossible"]);
    for x in &n.by_recipient {
        t.add_row(vec![table::cell(&x.recipient), num(x.done), num(x.open), num(x.impossible)]);
    }
    t.add_row(vec![table::cell("all"), num(n.done), num(n.open), num(n.impossible)]);
    section(&mut text, "Art. 19 notifications listed in the period", &t);
    let rt = &r.retention;
    let mut t = table::new(out, &["Rule", "Table", "Runs", "Removed"]);
    for x in &rt.by_rule {
        t.add_row(vec![table::cell(&x.rule), table::cell(&x.table), num(x.runs), num(x.removed)]);
    }
    section(&mut text, &format!("Retention: {} runs, {} rows removed", rt.runs, rt.rows_removed), &t);
    let v = &r.verification;
    let mut t = table::new(out, &["Figure", "Count"]);
    for c in &v.by_result {
        t.add_row(vec![table::cell(&format!("failed: {}", c.key)), num(c.count)]);
    }
    for (what, n) in [
        ("failed tries in all", v.failed_tries),
        ("codes burned", v.codes_burned),
        ("people locked", v.locks),
        ("locked today", v.locked_now),
    ] {
        t.add_row(vec![table::cell(what), num(n)]);
    }
    section(&mut text, "Verification", &t);
    text
}

fn section(text: &mut String, title: &str, t: &table::Table) {
    text.push_str(title);
    text.push('\n');
    text.push_str(&t.to_string());
    text.push_str("\n\n");
}
