//! The screen of `dsr status` as text: a headline, then one block per section, a count line and,
//! when there is something to list, a table (boxes on a terminal, tab-separated in a pipe). Every
//! stored string goes through the table's sanitising cells or [`sanitize::line`].

use crate::output::plural;
use crate::output::{sanitize, table, Output};
use crate::status::Status;

pub fn screen(out: &Output, s: &Status) -> String {
    let mut blocks = vec![headline(out, s), requests(out, s)];
    // Messages needing review (the intake's), first among the things to do when present.
    if let Some(m) = &s.messages {
        blocks.push(match m.waiting {
            0 => "Messages needing review: none".to_owned(),
            n => format!("Messages needing review: {n}: {}", m.command),
        });
    }
    blocks.extend([codes(out, s), plans(out, s), to_notify(out, s), tasks(out, s), mail(out, s), cron(out, s)]);
    blocks.join("\n\n")
}

fn headline(out: &Output, s: &Status) -> String {
    let r = &s.requests;
    let overdue = match r.overdue {
        0 => "none overdue".to_owned(),
        n => out.paint(&format!("{n} OVERDUE"), "31"),
    };
    format!(
        "dsr status at {} (today {}): {} open, {overdue}, {} due within 7 days",
        sanitize::line(&s.now),
        s.today,
        plural(r.open, "request", "requests"),
        r.due_within_7_days
    )
}

fn requests(out: &Output, s: &Status) -> String {
    let r = &s.requests;
    if r.shown.is_empty() {
        return "Open requests: none".to_owned();
    }
    // Narrow enough that the command to copy stays on one line in most terminals: the subject's
    // label is in `request list`, the dates in `--json` and `request show`.
    let mut t = table::new(out, &["Request", "Right", "Days", "Next action"]);
    for d in &r.shown {
        let days = if d.overdue { format!("{} OVERDUE", d.days_left) } else { d.days_left.to_string() };
        let days = if d.extended { format!("{days} (ext.)") } else { days };
        t.add_row(vec![
            table::cell(&d.request),
            table::cell(&d.right),
            if d.overdue { table::red(out, days) } else { comfy_table::Cell::new(days) },
            table::cell(&d.next_action),
        ]);
    }
    t.keep_whole(0).keep_whole(3);
    let mut text = format!("Open requests, overdue first\n{t}");
    if r.more > 0 {
        text.push_str(&format!("\n{} more: {}", r.more, r.more_command));
    }
    text
}

fn codes(out: &Output, s: &Status) -> String {
    let c = &s.codes;
    let mut text = format!(
        "Codes waiting for the person: {} in force, {} expired ({} awaiting verification)",
        c.active,
        c.expired,
        plural(c.awaiting_verification, "request", "requests")
    );
    if !c.shown.is_empty() {
        let mut t = table::new(out, &["Request", "Expires", "Wrong tries", "Then"]);
        for w in &c.shown {
            let then = if w.expired {
                format!("dsr verify --resend {}", w.request)
            } else {
                format!("dsr verify {} CODE", w.request)
            };
            t.add_row(vec![
                table::cell(&w.request),
                table::cell(&if w.expired { format!("{} (expired)", w.expires_at) } else { w.expires_at.clone() }),
                table::cell(&w.failed_tries.to_string()),
                table::cell(&then),
            ]);
        }
        t.keep_whole(0).keep_whole(3);
        text.push_str(&format!("\n{t}"));
    }
    text
}

fn plans(out: &Output, s: &Status) -> String {
    let p = &s.plans;
    let mut text = format!("Erasure plans waiting for approval: {} ({} on hold)", p.waiting, p.on_hold);
    if !p.shown.is_empty() {
        let mut t = table::new(out, &["Request", "Planned", "Approve with"]);
        for w in &p.shown {
            t.add_row(vec![table::cell(&w.request), table::cell(&w.planned_at), table::cell(&w.command)]);
        }
        t.keep_whole(0).keep_whole(2);
        text.push_str(&format!("\n{t}"));
    }
    text
}

fn to_notify(out: &Output, s: &Status) -> String {
    let n = &s.to_notify;
    if n.open == 0 {
        return "Recipients to tell (Art. 19): none".to_owned();
    }
    let mut t = table::new(out, &["Request", "Right", "Recipient", "Code", "Tell them"]);
    for o in &n.shown {
        t.add_row(vec![
            table::cell(&o.request),
            table::cell(&o.right),
            table::cell(&o.name),
            table::cell(&o.recipient),
            table::cell(&o.what),
        ]);
    }
    format!("Recipients to tell (Art. 19): {}: {}\n{t}", n.open, n.command)
}

fn tasks(out: &Output, s: &Status) -> String {
    let k = &s.tasks;
    if k.open == 0 {
        return "Systems to tell: none".to_owned();
    }
    let mut t = table::new(out, &["System", "Open tasks", "Oldest", "Days"]);
    for y in &k.systems {
        t.add_row(vec![
            table::cell(&y.system),
            table::cell(&y.open.to_string()),
            table::cell(&y.oldest),
            table::cell(&y.oldest_days.to_string()),
        ]);
    }
    format!("Systems to tell: {}: {}\n{t}", plural(k.open, "open task", "open tasks"), k.command)
}

fn mail(out: &Output, s: &Status) -> String {
    let m = &s.mail;
    let head = format!("{} waiting to be sent, {} held for the systems' tasks", m.waiting, m.held);
    if m.failed == 0 {
        return format!("Queued mail that failed: none ({head})");
    }
    let mut t = table::new(out, &["Queued", "Request", "Letter", "Tries", "Last error"]);
    for f in &m.shown {
        t.add_row(vec![
            table::cell(&format!("#{} {}", f.queued, f.queued_at)),
            table::cell(f.request.as_deref().unwrap_or("-")),
            table::cell(&f.letter),
            table::cell(&f.tries.to_string()),
            table::cell(&sanitize::line(f.last_error.as_deref().unwrap_or(""))),
        ]);
    }
    let failed = out.paint(&m.failed.to_string(), "31");
    format!("Queued mail that failed: {failed} ({head}): {}\n{t}", m.command)
}

fn cron(out: &Output, s: &Status) -> String {
    let mut t = table::new(out, &["Cron", "Last run", "Exit", "Summary"]);
    for c in &s.cron {
        let (at, exit, summary) = match &c.last {
            None => ("never recorded".to_owned(), comfy_table::Cell::new("-"), String::new()),
            Some(l) => {
                let exit = format!("{} {}", l.exit_code, l.outcome);
                let exit = if l.exit_code == 0 { comfy_table::Cell::new(exit) } else { table::red(out, exit) };
                (l.at.clone(), exit, l.summary.clone())
            }
        };
        t.add_row(vec![
            table::cell(&format!("dsr {}", c.command)),
            table::cell(&at),
            exit,
            table::cell(&sanitize::line(&summary)),
        ]);
    }
    format!("Last unattended runs\n{t}")
}
