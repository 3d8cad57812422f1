//! The report as one CSV table for a spreadsheet: `section,item,detail,figure,value`, one figure
//! a row, so that a pivot table or a filter on `section` and `figure` gives any breakdown
//! (docs/report.md lists the sections). Values are numbers but in the `report` section (the
//! period's dates).

use super::{Line, Report};

/// One row: section, item, detail, figure, value.
type Row = [String; 5];

fn row(section: &str, item: &str, detail: &str, figure: &str, value: impl ToString) -> Row {
    [section.into(), item.into(), detail.into(), figure.into(), value.to_string()]
}

fn line(rows: &mut Vec<Row>, l: &Line) {
    let r = &l.right;
    for (figure, v) in [
        ("received", l.received),
        ("answered", l.answered),
        ("in_time", l.in_time),
        ("late", l.late),
        ("overdue", l.overdue),
        ("open", l.open),
        ("expired", l.expired),
        ("extended", l.extended),
        ("refused", l.refused),
    ] {
        rows.push(row("requests", r, "", figure, v));
    }
    if let Some(p) = l.in_time_percent {
        rows.push(row("requests", r, "", "in_time_percent", p));
    }
    if let Some(d) = l.median_days {
        rows.push(row("requests", r, "", "median_days", d));
    }
    if let Some(d) = l.p95_days {
        rows.push(row("requests", r, "", "p95_days", d));
    }
}

/// Every row of the report, in the order of the page.
pub fn rows(r: &Report) -> Vec<Row> {
    let mut rows = vec![
        row("report", "period", "", "from", r.period.from),
        row("report", "period", "", "to", r.period.to),
        row("report", "as_of", "", "date", r.as_of),
    ];
    let q = &r.requests;
    for l in q.by_right.iter().chain([&q.all]) {
        line(&mut rows, l);
    }
    for c in &q.by_channel {
        rows.push(row("channel", &c.key, "", "received", c.count));
    }
    for rc in &q.by_right_and_channel {
        rows.push(row("right_channel", &rc.right, &rc.channel, "received", rc.count));
    }
    for m in &q.by_month {
        rows.push(row("month", &m.month, &m.right, "received", m.count));
    }
    for d in &q.days_to_answer {
        rows.push(row("days_to_answer", &d.days.to_string(), "", "answered", d.count));
    }
    for g in &r.refusals.by_ground {
        rows.push(row("refusals", &g.key, "", "refused", g.count));
    }
    rows.push(row("refusals", "all", "", "expired", r.refusals.expired));
    rows.push(row("refusals", "all", "", "unverifiable", r.refusals.unverifiable));
    let e = &r.erasures;
    rows.push(row("erasures", "all", "", "carried_out", e.carried_out));
    rows.push(row("erasures", "all", "", "rows_deleted", e.rows_deleted));
    rows.push(row("erasures", "all", "", "rows_kept", e.rows_kept));
    for k in &e.kept {
        let detail = format!("{} ({})", k.table, k.action);
        rows.push(row("erasures_kept", &k.ground, &detail, "rows", k.rows));
        rows.push(row("erasures_kept", &k.ground, &detail, "erasures", k.erasures));
    }
    let n = &r.notifications;
    for x in &n.by_recipient {
        rows.push(row("notifications", &x.recipient, "", "done", x.done));
        rows.push(row("notifications", &x.recipient, "", "open", x.open));
        rows.push(row("notifications", &x.recipient, "", "impossible", x.impossible));
    }
    rows.push(row("notifications", "all", "", "done", n.done));
    rows.push(row("notifications", "all", "", "open", n.open));
    rows.push(row("notifications", "all", "", "impossible", n.impossible));
    let t = &r.retention;
    for x in &t.by_rule {
        rows.push(row("retention", &x.rule, &x.table, "runs", x.runs));
        rows.push(row("retention", &x.rule, &x.table, "removed", x.removed));
    }
    rows.push(row("retention", "all", "", "runs", t.runs));
    rows.push(row("retention", "all", "", "removed", t.rows_removed));
    let v = &r.verification;
    for c in &v.by_result {
        rows.push(row("verification", &c.key, "", "failed_tries", c.count));
    }
    rows.push(row("verification", "all", "", "failed_tries", v.failed_tries));
    rows.push(row("verification", "all", "", "codes_burned", v.codes_burned));
    rows.push(row("verification", "all", "", "locks", v.locks));
    rows.push(row("verification", "all", "", "locked_now", v.locked_now));
    rows
}

/// The CSV text, with its header row. A cell a spreadsheet would run as a formula (`=`, `+`,
/// `-`, `@` first; stored strings such as a rule's code reach it) is prefixed with `'`.
pub fn write(r: &Report, out: impl std::io::Write) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["section", "item", "detail", "figure", "value"])?;
    for mut record in rows(r) {
        for (i, cell) in record.iter_mut().enumerate() {
            // Values are numbers (negative days stay numbers); text columns are guarded.
            if i < 4 && cell.starts_with(['=', '+', '-', '@']) {
                cell.insert(0, '\'');
            }
            *cell = crate::output::sanitize::text(cell, false);
        }
        w.write_record(&record)?;
    }
    w.flush()?;
    Ok(())
}
