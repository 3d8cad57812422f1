//! `dsr status`: the one screen of what needs the officer today (design §12). Requests by the
//! days left to their deadline (GDPR Art. 12(3): one month, extendable by two), overdue first,
//! each with its next action as a command; codes waiting for the person; erasure plans waiting
//! for approval; recipients (Art. 19) and systems still to tell; queued mail that failed; and how
//! the last unattended runs ended. A report, printed by the command; nothing here prints.
//!
//! Every count is computed by the store and every list is capped, so the screen costs the same
//! for a year of a million requests as for ten: the queries go through indexes (the open
//! requests by deadline, the request's state, the challenge's request, the notification's state,
//! the open queue and tasks), never through every request.

use chrono::NaiveDate;
use serde::Serialize;

use crate::clock::Clock;
use crate::request::{self, Request};
use crate::store::db::Db;
use crate::vals;

mod sections;

pub use sections::{CodeWaiting, CodesSection, MailSection, NotifySection, PlanWaiting, PlansSection};
pub use sections::{Messages, SystemTasks, TasksSection, ToTell};

/// What `dsr status` shows, as `--json` writes it (`format_version` 1).
#[derive(Debug, Serialize)]
pub struct Status {
    pub format_version: u32,
    /// The clock the screen was drawn at (RFC 3339, UTC; `DSR_NOW` applies).
    pub now: String,
    pub today: NaiveDate,
    pub requests: RequestsSection,
    pub codes: CodesSection,
    pub plans: PlansSection,
    pub to_notify: NotifySection,
    pub tasks: TasksSection,
    pub mail: MailSection,
    /// The last run of each unattended command (`erase --due`, `retention run`).
    pub cron: Vec<CronRun>,
    /// Messages the intake read and left for the officer; absent until the intake keeps them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<Messages>,
}

impl Status {
    /// Whether a request is past its deadline: `dsr status` then exits 25.
    pub fn overdue(&self) -> bool {
        self.requests.overdue > 0
    }
}

/// The open requests (awaiting verification or verified), overdue first, then by days left.
#[derive(Debug, Serialize)]
pub struct RequestsSection {
    pub open: i64,
    pub overdue: i64,
    /// Open and due within the next seven days (not overdue).
    pub due_within_7_days: i64,
    /// The first `limit` open requests by deadline.
    pub shown: Vec<Due>,
    /// Open requests not shown, and the command that lists them all.
    pub more: i64,
    pub more_command: String,
}

/// One open request on the screen.
#[derive(Debug, Serialize)]
pub struct Due {
    pub request: String,
    pub right: String,
    pub state: String,
    /// The subject's pseudonymous label, as `request list` shows it.
    pub label: String,
    pub received_on: NaiveDate,
    pub deadline: NaiveDate,
    pub extended: bool,
    /// Days to the deadline: 0 is due today, negative is overdue.
    pub days_left: i64,
    pub overdue: bool,
    /// What the officer does next, with the command to copy.
    pub next_action: String,
}

/// How the last run of an unattended command ended; `last` is None when none was recorded.
#[derive(Debug, Serialize)]
pub struct CronRun {
    pub command: String,
    pub last: Option<crate::cron::LastRun>,
}

/// Gather the screen at the clock's time, listing at most `limit` items per section.
pub fn gather(conn: &dyn Db, clock: &Clock, limit: u32) -> anyhow::Result<Status> {
    let now = clock.now();
    let today = now.date_naive();
    Ok(Status {
        format_version: 1,
        now: clock.timestamp(),
        today,
        requests: requests(conn, now, limit)?,
        codes: sections::codes(conn, clock, limit)?,
        plans: sections::plans(conn, limit)?,
        to_notify: sections::to_notify(conn, limit)?,
        tasks: sections::tasks(conn, today, limit)?,
        mail: sections::mail(conn, limit)?,
        cron: crate::cron::last_runs(conn)?
            .into_iter()
            .map(|(command, last)| CronRun { command: command.to_owned(), last })
            .collect(),
        messages: sections::messages(conn, limit)?,
    })
}

/// The open states and the deadline in force, in SQL, written as the index of the open requests
/// by deadline declares them (migrations 17 and 19), so that both backends use it.
const OPEN: &str = "state IN ('needs-review', 'awaiting-verification', 'verified')";
const DEADLINE: &str = "coalesce(extended_due_on, due_on)";

fn requests(conn: &dyn Db, now: chrono::DateTime<chrono::Utc>, limit: u32) -> anyhow::Result<RequestsSection> {
    let today = now.date_naive();
    let week = today + chrono::Days::new(7);
    // Each count a range of an index: the open ones by state, the overdue and the soon due by
    // the open requests' deadline (migration 16), never by reading the requests.
    let count = |cond: &str, params: &[crate::store::db::Value]| -> anyhow::Result<i64> {
        conn.one(&format!("SELECT count(*) FROM request WHERE {OPEN}{cond}"), params, |r| r.get(0))
    };
    let open = count("", &[])?;
    let overdue = count(&format!(" AND {DEADLINE} < ?1"), &vals![today]?)?;
    let soon = count(&format!(" AND {DEADLINE} >= ?1 AND {DEADLINE} <= ?2"), &vals![today, week]?)?;
    let mut rows: Vec<Request> = Vec::new();
    conn.each(
        &format!("SELECT {} FROM request WHERE {OPEN} ORDER BY {DEADLINE}, year, seq LIMIT ?1", request::COLUMNS),
        &vals![i64::from(limit)]?,
        &mut |r| {
            rows.push(Request::from_row(&r)?);
            Ok(())
        },
    )?;
    let stamp = crate::clock::stamp(now);
    let shown = rows.iter().map(|r| due(conn, r, today, &stamp)).collect::<anyhow::Result<Vec<Due>>>()?;
    Ok(RequestsSection {
        open,
        overdue,
        due_within_7_days: soon,
        more: open - shown.len() as i64,
        shown,
        more_command: if overdue > i64::from(limit) {
            "dsr request list --overdue".to_owned()
        } else {
            "dsr request list --open".to_owned()
        },
    })
}

fn due(conn: &dyn Db, r: &Request, today: NaiveDate, now: &str) -> anyhow::Result<Due> {
    let days_left = r.days_left(today);
    let next_action = command_for(conn, r, now, request::next_action(conn, r)?)?;
    Ok(Due {
        request: r.id.clone(),
        right: r.right.clone(),
        state: r.state.clone(),
        label: r.subject_pseudonym.chars().take(8).collect(),
        received_on: r.received_on,
        deadline: r.deadline(),
        extended: r.extended_due_on.is_some(),
        days_left,
        overdue: days_left < 0,
        next_action,
    })
}

/// The next action as `request list` words it, with a command to copy where it names none: the
/// code to relay (or a new one when it expired), the plan to approve or look at, the recipients
/// to tell.
fn command_for(conn: &dyn Db, r: &Request, now: &str, action: String) -> anyhow::Result<String> {
    if action.contains("dsr ") {
        return Ok(action);
    }
    let id = &r.id;
    Ok(match action.as_str() {
        "waiting for the code" => match sections::code_state(conn, r, now)? {
            sections::CodeState::NoOne => format!("no one on file has this identifier: dsr request show {id}"),
            sections::CodeState::Waiting => format!("waiting for the code: dsr verify {id} CODE"),
            sections::CodeState::Expired => format!("code expired: dsr verify --resend {id}"),
            sections::CodeState::Burned => {
                format!("code burned by five wrong tries (someone may be guessing): dsr verify --resend {id}")
            }
        },
        "erasure plan waits for approval" => format!("{action}: dsr erase {id} --approve"),
        "erasure plan on hold" => format!("{action}: dsr erase {id}"),
        a if a.ends_with(" to tell") => format!("{a}: dsr request list --to-notify"),
        _ => format!("{action}: dsr request show {id}"),
    })
}
