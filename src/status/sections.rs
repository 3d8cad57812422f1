//! The sections of `dsr status` after the requests: each one a count the store computes and the
//! first items, through an index (the request's state, the challenge's request, the
//! notification's state, the open queue, the open tasks), so that none reads every row.

use serde::Serialize;

use crate::clock::Clock;
use crate::request::Request;
use crate::store::db::Db;
use crate::vals;

/// Codes sent and not yet relayed (requests awaiting verification).
#[derive(Debug, Serialize)]
pub struct CodesSection {
    /// Requests awaiting verification.
    pub awaiting_verification: i64,
    /// Of those, with a code in force, and with a code that expired (`dsr verify --resend`).
    pub active: i64,
    pub expired: i64,
    /// The codes, the first to expire first.
    pub shown: Vec<CodeWaiting>,
}

#[derive(Debug, Serialize)]
pub struct CodeWaiting {
    pub request: String,
    pub right: String,
    pub sent_at: String,
    pub expires_at: String,
    pub failed_tries: i64,
    pub expired: bool,
}

/// Erasure plans made (`dsr erase REQUEST --dry-run`) that no officer approved yet.
#[derive(Debug, Serialize)]
pub struct PlansSection {
    pub waiting: i64,
    /// Plans an officer put on hold.
    pub on_hold: i64,
    pub shown: Vec<PlanWaiting>,
}

#[derive(Debug, Serialize)]
pub struct PlanWaiting {
    pub request: String,
    pub planned_at: String,
    pub command: String,
}

/// Art. 19: recipients still to tell of a rectification, erasure or restriction.
#[derive(Debug, Serialize)]
pub struct NotifySection {
    pub open: i64,
    pub shown: Vec<ToTell>,
    pub command: String,
}

#[derive(Debug, Serialize)]
pub struct ToTell {
    pub request: String,
    pub right: String,
    pub recipient: String,
    pub name: String,
    pub what: String,
    pub listed_at: Option<String>,
}

/// The company's systems that keep copies, with tasks not yet acknowledged (docs/tasks.md).
#[derive(Debug, Serialize)]
pub struct TasksSection {
    pub open: i64,
    pub systems: Vec<SystemTasks>,
    pub command: String,
}

#[derive(Debug, Serialize)]
pub struct SystemTasks {
    pub system: String,
    pub open: i64,
    pub oldest: String,
    pub oldest_days: i64,
}

/// The queue of letters (and erasure journal lines): what failed, what waits.
#[derive(Debug, Serialize)]
pub struct MailSection {
    /// Queued items a transport refused at least once; `dsr mail flush` tries again.
    pub failed: i64,
    /// Queued and not tried yet (sent after the command that queued them).
    pub waiting: i64,
    /// Held until the systems' tasks are acknowledged.
    pub held: i64,
    pub shown: Vec<crate::queue::Pending>,
    pub command: String,
}

/// Messages needing review: what `dsr intake` read and left for the officer (a message that asks
/// for nothing, a request whose right is unclear), from [`messages`].
#[derive(Debug, Serialize)]
pub struct Messages {
    pub waiting: i64,
    pub shown: Vec<serde_json::Value>,
    pub command: String,
}

pub fn codes(conn: &dyn Db, clock: &Clock, limit: u32) -> anyhow::Result<CodesSection> {
    let now = clock.timestamp();
    let awaiting: i64 =
        conn.one("SELECT count(*) FROM request WHERE state = 'awaiting-verification'", &[], |r| r.get(0))?;
    // Each request awaiting verification, then its newest code in force by the index on the
    // challenge's request; never through every code sent (a join would let SQLite scan them all
    // to build a Bloom filter). A request whose identifier named no one on file has a code no one
    // was sent (kept so that the answer is the same for anyone): not a code waiting for a person.
    const CODES: &str = "SELECT r.id AS request, r.kind AS kind,
                                (SELECT c.id FROM challenge c WHERE c.request_id = r.id AND c.state = 'active'
                                 ORDER BY c.id DESC LIMIT 1) AS code
                         FROM request r WHERE r.state = 'awaiting-verification' AND r.person_id IS NOT NULL";
    const EXPIRED: &str = "(c.expired_at IS NOT NULL OR c.expires_at < ?1)";
    let (active, expired): (i64, i64) = conn.one(
        &format!(
            "SELECT count(*), coalesce(sum(CASE WHEN {EXPIRED} THEN 1 ELSE 0 END), 0)
             FROM ({CODES}) w JOIN challenge c ON c.id = w.code"
        ),
        &vals![now]?,
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let shown = conn.all(
        &format!(
            "SELECT w.request, w.kind, c.created_at, c.expires_at, c.failed_tries, {EXPIRED}
             FROM ({CODES}) w JOIN challenge c ON c.id = w.code ORDER BY c.expires_at, w.request LIMIT ?2"
        ),
        &vals![now, i64::from(limit)]?,
        |r| {
            Ok(CodeWaiting {
                request: r.get(0)?,
                right: r.get(1)?,
                sent_at: r.get(2)?,
                expires_at: r.get(3)?,
                failed_tries: r.get(4)?,
                expired: r.get(5)?,
            })
        },
    )?;
    Ok(CodesSection { awaiting_verification: awaiting, active: active - expired, expired, shown })
}

/// Where a request awaiting verification stands with its code.
#[derive(Debug, PartialEq, Eq)]
pub enum CodeState {
    /// The identifier named no one on file: no code was sent.
    NoOne,
    /// A code in force waits for the person.
    Waiting,
    /// The code expired (or none is in force): a new one is needed.
    Expired,
    /// The last code was burned by five wrong tries (someone may be guessing): a new one is
    /// needed, and the officer should know why.
    Burned,
}

/// `now` is the clock's timestamp (RFC 3339), against which a code's expiry is read. (A locked
/// person's request is named by [`crate::request::next_action`] before it asks.)
pub fn code_state(conn: &dyn Db, r: &Request, now: &str) -> anyhow::Result<CodeState> {
    if r.person_id.is_none() {
        return Ok(CodeState::NoOne);
    }
    // (A person's lock burns their codes too, without tries: that is told as the lock.)
    let last: Option<(String, bool, bool)> = conn.first(
        "SELECT state, expired_at IS NOT NULL OR expires_at < ?2, failed_tries >= ?3 FROM challenge
         WHERE request_id = ?1 ORDER BY id DESC LIMIT 1",
        &vals![r.id, now, crate::verify::MAX_TRIES_PER_CODE]?,
        |x| Ok((x.get(0)?, x.get(1)?, x.get(2)?)),
    )?;
    Ok(match last {
        Some((state, false, _)) if state == "active" => CodeState::Waiting,
        Some((state, _, true)) if state == "burned" => CodeState::Burned,
        _ => CodeState::Expired,
    })
}

pub fn plans(conn: &dyn Db, limit: u32) -> anyhow::Result<PlansSection> {
    // As `erase --due` finds them: verified erasure requests not yet carried out, each with its
    // plan by the plan's key; never through every plan kept since (a join would let SQLite scan
    // them all to build a Bloom filter, and a year's applied plans are many and large).
    const PLANS: &str = "SELECT r.id AS request,
                                (SELECT CASE WHEN p.applied_at IS NOT NULL THEN NULL
                                             WHEN p.held_at IS NOT NULL THEN 'on-hold'
                                             WHEN p.approved_at IS NULL THEN 'waiting' END
                                 FROM erasure_plan p WHERE p.request_id = r.id) AS stage,
                                (SELECT p.created_at FROM erasure_plan p WHERE p.request_id = r.id) AS planned_at
                         FROM request r
                         WHERE r.state = 'verified' AND r.kind = 'erase' AND r.answered_at IS NULL";
    let (waiting, on_hold): (i64, i64) = conn.one(
        &format!(
            "SELECT coalesce(sum(CASE WHEN stage = 'waiting' THEN 1 ELSE 0 END), 0),
                    coalesce(sum(CASE WHEN stage = 'on-hold' THEN 1 ELSE 0 END), 0) FROM ({PLANS}) w"
        ),
        &[],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let shown = conn.all(
        &format!(
            "SELECT request, planned_at FROM ({PLANS}) w WHERE stage = 'waiting' ORDER BY planned_at, request LIMIT ?1"
        ),
        &vals![i64::from(limit)]?,
        |r| {
            let request: String = r.get(0)?;
            Ok(PlanWaiting { command: format!("dsr erase {request} --approve"), request, planned_at: r.get(1)? })
        },
    )?;
    Ok(PlansSection { waiting, on_hold, shown })
}

/// The oldest first: notifications are numbered as they are listed, so the first `limit` of the
/// index on their state are read, not every one still open.
pub fn to_notify(conn: &dyn Db, limit: u32) -> anyhow::Result<NotifySection> {
    let open: i64 = conn.one("SELECT count(*) FROM notification WHERE state = 'to-notify'", &[], |r| r.get(0))?;
    let shown = conn.all(
        "SELECT q.id, q.kind, n.recipient, r.name, n.what, n.listed_at
         FROM notification n JOIN recipient r ON r.code = n.recipient JOIN request q ON q.id = n.request_id
         WHERE n.state = 'to-notify' ORDER BY n.id LIMIT ?1",
        &vals![i64::from(limit)]?,
        |r| {
            Ok(ToTell {
                request: r.get(0)?,
                right: r.get(1)?,
                recipient: r.get(2)?,
                name: r.get(3)?,
                what: r.get(4)?,
                listed_at: r.get(5)?,
            })
        },
    )?;
    Ok(NotifySection { open, shown, command: "dsr request list --to-notify".to_owned() })
}

pub fn tasks(conn: &dyn Db, today: chrono::NaiveDate, limit: u32) -> anyhow::Result<TasksSection> {
    let systems = conn.all(
        "SELECT system, count(*), min(created_at) FROM task WHERE done_at IS NULL
         GROUP BY system ORDER BY min(created_at), system LIMIT ?1",
        &vals![i64::from(limit)]?,
        |r| {
            let oldest: String = r.get(2)?;
            let day = chrono::DateTime::parse_from_rfc3339(&oldest).map(|t| t.date_naive()).unwrap_or(today);
            Ok(SystemTasks { system: r.get(0)?, open: r.get(1)?, oldest_days: (today - day).num_days().max(0), oldest })
        },
    )?;
    let open = conn.one("SELECT count(*) FROM task WHERE done_at IS NULL", &[], |r| r.get(0))?;
    Ok(TasksSection { open, systems, command: "dsr tasks".to_owned() })
}

pub fn mail(conn: &dyn Db, limit: u32) -> anyhow::Result<MailSection> {
    let (failed, waiting, held): (i64, i64, i64) = conn.one(
        "SELECT coalesce(sum(CASE WHEN tries > 0 THEN 1 ELSE 0 END), 0),
                coalesce(sum(CASE WHEN tries = 0 AND held = 0 THEN 1 ELSE 0 END), 0),
                coalesce(sum(CASE WHEN tries = 0 AND held = 1 THEN 1 ELSE 0 END), 0)
         FROM queued WHERE done_at IS NULL",
        &[],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let shown = conn.all(
        &format!(
            "SELECT {} FROM queued WHERE done_at IS NULL AND tries > 0 ORDER BY id LIMIT ?1",
            crate::queue::PENDING_COLUMNS
        ),
        &vals![i64::from(limit)]?,
        crate::queue::Pending::from_row,
    )?;
    Ok(MailSection { failed, waiting, held, shown, command: "dsr mail flush".to_owned() })
}

/// Messages needing review: how many `dsr intake` left for the officer (needs-review, listed,
/// unreadable) and the first `limit` (needs-review first; number, outcome, when read, why; no
/// sender or text on this screen), with the command that shows them whole.
pub fn messages(conn: &dyn Db, limit: u32) -> anyhow::Result<Option<Messages>> {
    let waiting: i64 = crate::inbox::ledger::waiting_counts(conn)?.iter().map(|(_, n)| n).sum();
    let shown = conn.all(
        "SELECT id, outcome, read_at, reason FROM intake_message
         WHERE outcome IN ('needs-review', 'code-refused', 'listed', 'unreadable')
         ORDER BY outcome <> 'needs-review', id LIMIT ?1",
        &[i64::from(limit).into()],
        |r| {
            Ok(serde_json::json!({
                "message": r.get::<i64>(0)?,
                "outcome": r.get::<String>(1)?,
                "read_at": r.get::<String>(2)?,
                "reason": r.get::<Option<String>>(3)?,
            }))
        },
    )?;
    Ok(Some(Messages { waiting, shown, command: "dsr intake --list".into() }))
}
