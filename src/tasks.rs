//! Tasks for the company's systems that keep their own copy of rows of the data map (design
//! §10, docs/tasks.md). A system is named in the company file (`[[system]]`) with the tables it
//! copies. Every rectification, erasure, restriction and objection that touches rows of those
//! tables gives the system one task with the source keys of the rows (the table's
//! `[table.import] key`, else its key) and, for a rectification, the new values. A sync script
//! reads the open tasks as JSON Lines and acknowledges each; the keys are erased then. A request
//! with open tasks is not completed, and with `letter_after_tasks` its answer letter waits for
//! them.

use crate::vals;
use serde::Serialize;
use serde_json::{json, Value};

use crate::audit;
use crate::clock::Clock;
use crate::error::Error;
use crate::map::System;
use crate::request::Request;
use crate::store::db::{text, Db};

/// The systems of a store's map and whether letters wait for their tasks.
#[derive(Debug, Default)]
pub struct Systems {
    pub list: Vec<System>,
    pub letter_after_tasks: bool,
}

impl Systems {
    pub fn load(db: &dyn crate::store::db::Db) -> anyhow::Result<Systems> {
        // An entry changed outside dsr that no longer reads is a corrupt store (exit 11), as for
        // the map's tables.
        let corrupt = |e: serde_json::Error| {
            rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
                Some(format!(
                    "a [[system]] entry of the store's map does not read ({e}); load the company file again with `dsr register apply FILE`"
                )),
            )
        };
        let mut list = Vec::new();
        db.each("SELECT spec FROM map_system ORDER BY sort, name", &[], &mut |r| {
            list.push(serde_json::from_str::<System>(&r.get::<String>(0)?).map_err(corrupt)?);
            Ok(())
        })?;
        let letter_after_tasks =
            db.first("SELECT letter_after_tasks FROM map_option WHERE one = 1", &[], |r| r.get(0))?.unwrap_or(false);
        Ok(Systems { list, letter_after_tasks })
    }

    /// Write the company file's systems and options (in the caller's transaction).
    pub fn save(conn: &dyn Db, systems: &[System], letter_after_tasks: bool) -> anyhow::Result<()> {
        conn.run("DELETE FROM map_system", &[])?;
        for (i, s) in systems.iter().enumerate() {
            let spec = serde_json::to_string(s).expect("a system always serialises");
            conn.run(
                "INSERT INTO map_system (name, sort, spec) VALUES (?1, ?2, ?3)",
                &vals![s.name, (i as i64 + 1) * 10, spec]?,
            )?;
        }
        conn.run(
            "INSERT INTO map_option (one, letter_after_tasks) VALUES (1, ?1)
             ON CONFLICT (one) DO UPDATE SET letter_after_tasks = excluded.letter_after_tasks",
            &vals![letter_after_tasks]?,
        )?;
        Ok(())
    }
}

mod record;
pub use record::{record, Change};

/// One task as a sync script reads it.
#[derive(Debug, Clone, Serialize)]
pub struct Task {
    pub task: i64,
    pub system: String,
    pub request: String,
    pub action: String,
    pub created_at: String,
    /// The rows: `{"table", "key"}` and for a rectification `"set": {column: value}`; empty once done.
    pub rows: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done_ref: Option<String>,
}

/// The statement of [`list`]: of one system (`?1`) or of all, open tasks or all of them.
fn list_sql(of_system: bool, all: bool) -> String {
    let which = if of_system { "system = ?1" } else { "true" };
    let open = if all { "" } else { " AND done_at IS NULL" };
    format!("SELECT id, system, request_id, action, created_at, rows, done_at, done_ref FROM task WHERE {which}{open} ORDER BY id")
}

/// The tasks, oldest first: open ones, or with `all` done ones too; of one system or of all.
pub fn list(db: &dyn Db, system: Option<&str>, all: bool) -> anyhow::Result<Vec<Task>> {
    let mut out = Vec::new();
    // The open tasks of a system through their partial index (a sync script's poll on a store
    // that keeps every task it was given).
    let params = system.map(text).into_iter().collect::<Vec<_>>();
    db.each(&list_sql(system.is_some(), all), &params, &mut |r| {
        let rows: Option<String> = r.get(5)?;
        out.push(Task {
            task: r.get(0)?,
            system: r.get(1)?,
            request: r.get(2)?,
            action: r.get(3)?,
            created_at: r.get(4)?,
            rows: rows.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or(Value::Array(Vec::new())),
            done_at: r.get(6)?,
            done_ref: r.get(7)?,
        });
        Ok(())
    })?;
    Ok(out)
}

/// Open tasks of a request: (count, oldest created_at, systems).
pub fn open_of(conn: &dyn Db, request: &str) -> anyhow::Result<(i64, Option<String>, Vec<String>)> {
    let (n, oldest): (i64, Option<String>) = conn
        .first(
            "SELECT count(*), min(created_at) FROM task WHERE request_id = ?1 AND done_at IS NULL",
            &[crate::store::db::text(request)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?
        .unwrap_or((0, None));
    let mut systems = Vec::new();
    conn.each(
        "SELECT DISTINCT system FROM task WHERE request_id = ?1 AND done_at IS NULL ORDER BY system",
        &[crate::store::db::text(request)],
        &mut |r| {
            systems.push(r.get(0)?);
            Ok(())
        },
    )?;
    Ok((n, oldest, systems))
}

/// What acknowledging a task did.
#[derive(Debug, Clone, Serialize)]
pub struct Done {
    pub task: i64,
    pub request: String,
    /// Tasks of the request still open.
    pub open: i64,
    /// The request is completed: by this acknowledgement (its answer delivered before, or its
    /// letter, held for the tasks, delivered now), or before it (an erasure finished after its
    /// restriction was lifted gives tasks to the request it completed).
    pub completed: bool,
    /// Letters held for the tasks were released to the queue.
    pub letters_released: usize,
    /// The task was an erasure's: its keys, and the released letter once delivered, are
    /// removed values the backend may still keep (`Conn::after_erasure`).
    #[serde(skip)]
    pub erasure: bool,
}

/// [`done`] in a transaction of its own, with its audit entry.
pub fn acknowledge(
    conn: &dyn crate::store::db::Conn,
    clock: &Clock,
    task: i64,
    reference: &str,
) -> anyhow::Result<Done> {
    let tx = conn.begin_own()?;
    let out = done(&*tx, clock, task, reference)?;
    tx.commit()?;
    Ok(out)
}

/// Acknowledge a task (in the caller's transaction): its keys and values are erased, the
/// reference kept. The last open task of a request releases its held letters and, when its
/// answer was delivered already, completes it. A task done before is refused.
pub fn done(conn: &dyn Db, clock: &Clock, task: i64, reference: &str) -> anyhow::Result<Done> {
    let reference = reference.trim();
    if reference.is_empty() || reference.chars().any(char::is_control) || reference.chars().count() > 200 {
        return Err(Error::invalid(
            "--ref",
            "give the system's reference for what it did: one line of at most 200 characters, without tabs or other control characters",
        )
        .into());
    }
    let found: Option<(String, Option<String>, Option<String>)> =
        conn.first("SELECT request_id, done_at, done_ref FROM task WHERE id = ?1", &vals![task]?, |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    let Some((request, done_at, done_ref)) = found else {
        return Err(Error::invalid("task", format!("no task {task}; `dsr tasks` lists the open ones")).into());
    };
    if let Some(at) = done_at {
        let on = &at[..at.len().min(10)];
        // A task an erasure closed says so: the erasure's own tasks tell the systems now.
        // (`--ref` is free text: the erasure it names must be one.)
        let erasure = done_ref.as_deref().and_then(|r| r.strip_prefix(SUPERSEDED)).map(str::to_owned);
        let erasure = match erasure {
            Some(id) => conn.first("SELECT id FROM request WHERE id = ?1 AND kind = 'erase'", &vals![id]?, |r| {
                r.get::<String>(0)
            })?,
            None => None,
        };
        let why = match erasure {
            Some(erasure) => format!(
                "task {task} was superseded on {on} by the erasure {erasure} of the same person, whose own tasks tell the systems (`dsr tasks` lists those still open)"
            ),
            None if done_ref.as_deref() == Some(CLOSED_BY_LIFT) => format!(
                "task {task} was closed on {on}, when the restriction it told of was lifted; the lift's own task tells the systems (`dsr tasks` lists those still open)"
            ),
            None => format!("task {task} was acknowledged on {on}; nothing more to do (`dsr tasks` lists the open ones)"),
        };
        return Err(Error::RequestState(why).into());
    }
    conn.run(
        "UPDATE task SET done_at = ?2, done_ref = ?3, rows = NULL WHERE id = ?1",
        &vals![task, clock.timestamp(), reference]?,
    )?;
    let req = crate::request::load(conn, &request)?;
    audit::append(conn, clock, Some(&req.id), Some(&req.subject_pseudonym), "task-done", json!({"task": task}))?;
    settle(conn, clock, task, req)
}

/// The reference of a task an erasure closed, before the erasure's id.
const SUPERSEDED: &str = "superseded by the erasure ";

/// The reference of a restriction's task closed by the lift of that restriction.
const CLOSED_BY_LIFT: &str = "closed by the lift of the restriction";

/// A restriction of request `req` was lifted (in the caller's transaction): its tasks still
/// open are closed (a system that has not restricted the rows yet need not now), and each
/// system the change touches gets a `lift` task for the rows, to process them again. Nothing
/// for a request that gave no task. Returns the lift tasks made.
pub fn lifted(conn: &dyn Db, clock: &Clock, req: &Request, change: Change<'_>) -> anyhow::Result<usize> {
    let given: Vec<(i64, Option<String>)> = conn.all(
        "SELECT id, done_at FROM task WHERE request_id = ?1 AND action = 'restrict' ORDER BY id",
        &vals![req.id]?,
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if given.is_empty() {
        return Ok(0);
    }
    for (task, _) in given.iter().filter(|(_, done)| done.is_none()) {
        close_superseded(conn, clock, *task, &req.id, CLOSED_BY_LIFT, "lift")?;
    }
    record(conn, clock, req, "lift", change)
}

/// When a person is erased, the open tasks of their other requests (a rectification's new
/// values, the keys a restriction or objection named) are superseded by the erasure's own tasks:
/// each is closed with the erasure as its reference and its rows emptied, in the erasure's
/// transaction, so no value of the person stays behind in them. Returns how many.
pub fn supersede(conn: &dyn Db, clock: &Clock, erasure: &Request, person: i64) -> anyhow::Result<usize> {
    let open: Vec<(i64, String)> = conn.all(
        "SELECT t.id, t.request_id FROM task t JOIN request r ON r.id = t.request_id
         WHERE r.person_id = ?1 AND t.done_at IS NULL AND t.request_id <> ?2 ORDER BY t.id",
        &vals![person, erasure.id]?,
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    for (task, request) in &open {
        close_superseded(conn, clock, *task, request, &format!("{SUPERSEDED}{}", erasure.id), &erasure.id)?;
    }
    Ok(open.len())
}

/// Close open task `task` of `request` without the system's acknowledgement: a later change
/// (`by`: an erasure's id, or "lift") made it moot. Its keys and values are emptied, `reference`
/// says why, the trail records `task-superseded`, and the request is settled as when a task is
/// acknowledged.
fn close_superseded(
    conn: &dyn Db,
    clock: &Clock,
    task: i64,
    request: &str,
    reference: &str,
    by: &str,
) -> anyhow::Result<Done> {
    conn.run(
        "UPDATE task SET done_at = ?2, done_ref = ?3, rows = NULL WHERE id = ?1",
        &vals![task, clock.timestamp(), reference]?,
    )?;
    let req = crate::request::load(conn, request)?;
    let details = json!({"task": task, "by": by});
    audit::append(conn, clock, Some(&req.id), Some(&req.subject_pseudonym), "task-superseded", details)?;
    settle(conn, clock, task, req)
}

/// After a task of a request is closed: with none left open, its held letters go out and a
/// request whose answer was delivered is completed.
fn settle(conn: &dyn Db, clock: &Clock, task: i64, req: crate::request::Request) -> anyhow::Result<Done> {
    let request = req.id.clone();
    let (open, _, _) = open_of(conn, &request)?;
    let erasure = req.right == "erase";
    let completed = req.state == "completed";
    let mut out = Done { task, request: request.clone(), open, completed, letters_released: 0, erasure };
    // A held letter waits for the tasks of the change it tells of, made with it, not for those
    // made after it was queued (an erasure finished once its restriction is lifted).
    let before: i64 = conn.one(
        "SELECT count(*) FROM task WHERE request_id = ?1 AND done_at IS NULL AND created_at <=
           (SELECT coalesce(max(queued_at), '') FROM queued WHERE request_id = ?1 AND held = 1 AND done_at IS NULL)",
        &vals![request]?,
        |r| r.get(0),
    )?;
    if before == 0 {
        out.letters_released = crate::queue::release(conn, clock, &request)?;
    }
    if open == 0 && req.state == "verified" && req.delivered_at.is_some() {
        crate::request::complete_after_tasks(conn, clock, &req)?;
        out.completed = true;
    }
    Ok(out)
}

/// The request's answer letters held until its tasks are done ([`hold_letters`]).
pub fn held_letters(conn: &dyn Db, request: &str) -> anyhow::Result<i64> {
    let sql = format!("SELECT count(*) FROM queued WHERE request_id = ?1 AND held = 1 AND {ANSWER_WAITING}");
    Ok(conn.first(&sql, &vals![request]?, |r| r.get(0))?.unwrap_or(0))
}

/// A queued letter that delivers an answer and is not sent yet.
const ANSWER_WAITING: &str = "kind = 'mail' AND done_at IS NULL AND delivers = 1";

/// Hold the request's queued answer letter until its tasks are done, when the map says so
/// (`letter_after_tasks`).
pub fn hold_letters(conn: &dyn Db, request: &str) -> anyhow::Result<usize> {
    let wait: Option<bool> =
        conn.first("SELECT letter_after_tasks FROM map_option WHERE one = 1", &[], |r| r.get(0))?;
    if wait != Some(true) {
        return Ok(0);
    }
    conn.run(&format!("UPDATE queued SET held = 1 WHERE request_id = ?1 AND {ANSWER_WAITING}"), &vals![request]?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_system_s_open_tasks_are_read_through_their_index() {
        let store = crate::store::Store::in_memory().unwrap();
        let sql = format!("EXPLAIN QUERY PLAN {}", super::list_sql(true, false));
        let plan: String = store.conn.query_row(&sql, ["shop"], |r| r.get(3)).unwrap();
        assert!(plan.contains("INDEX task_open"), "{plan}");
    }
}
