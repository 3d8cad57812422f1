//! Recipients to notify (GDPR Art. 19): a completed rectification, restriction or erasure is
//! passed on to every recipient that received the person's data. The list is made from the
//! register and the person's own rows (see [`crate::recipients`]), stored with the request as
//! `to-notify`, and marked `notified` by the officer once done.

use rusqlite::{params, Connection};
use serde::Serialize;
use serde_json::json;

use crate::audit;
use crate::clock::Clock;
use crate::error::Error;
use crate::recipients;
use crate::register::Register;
use crate::request::Request;
use crate::subject::Subject;

#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    pub recipient: String,
    pub name: String,
    pub what: String,
    pub state: String,
    pub notified_at: Option<String>,
    pub notified_by: Option<String>,
}

/// Store the recipients to tell of this request's outcome; `what` says what to tell them. A
/// recipient already told something else (a restriction, now its lift) is to be told again.
pub fn record(
    conn: &Connection,
    clock: &Clock,
    register: &Register,
    req: &Request,
    s: &Subject,
    what: &str,
) -> anyhow::Result<Vec<Notification>> {
    let found = recipients::for_person(conn, register, s)?;
    for r in &found {
        conn.execute(
            "INSERT INTO notification (request_id, recipient, what, state) VALUES (?1, ?2, ?3, 'to-notify')
             ON CONFLICT (request_id, recipient) DO UPDATE SET what = excluded.what,
               state = CASE WHEN what = excluded.what THEN state ELSE 'to-notify' END,
               notified_at = CASE WHEN what = excluded.what THEN notified_at END,
               notified_by = CASE WHEN what = excluded.what THEN notified_by END",
            params![req.id, r.code, what],
        )?;
    }
    audit::append(
        conn,
        clock,
        Some(&req.id),
        Some(&req.subject_pseudonym),
        "recipients-to-notify",
        json!({"recipients": found.iter().map(|r| r.code.as_str()).collect::<Vec<_>>()}),
    )?;
    Ok(list(conn, &req.id)?)
}

pub fn list(conn: &Connection, request: &str) -> rusqlite::Result<Vec<Notification>> {
    conn.prepare_cached(
        "SELECT n.recipient, r.name, n.what, n.state, n.notified_at, n.notified_by
         FROM notification n JOIN recipient r ON r.code = n.recipient WHERE n.request_id = ?1 ORDER BY r.rowid",
    )?
    .query_map([request], |r| {
        Ok(Notification {
            recipient: r.get(0)?,
            name: r.get(1)?,
            what: r.get(2)?,
            state: r.get(3)?,
            notified_at: r.get(4)?,
            notified_by: r.get(5)?,
        })
    })?
    .collect()
}

/// Record that a recipient was told.
pub fn mark(conn: &Connection, clock: &Clock, req: &Request, recipient: &str) -> anyhow::Result<()> {
    let n = conn.execute(
        "UPDATE notification SET state = 'notified', notified_at = ?3, notified_by = ?4
         WHERE request_id = ?1 AND recipient = ?2",
        params![req.id, recipient, clock.timestamp(), audit::actor()],
    )?;
    if n == 0 {
        let codes: Vec<String> = list(conn, &req.id)?.into_iter().map(|x| x.recipient).collect();
        return Err(Error::invalid(
            "--recipient",
            if codes.is_empty() {
                format!("request {} has no recipients to notify", req.id)
            } else {
                format!("request {} lists these recipients: {}", req.id, codes.join(", "))
            },
        )
        .into());
    }
    audit::append(
        conn,
        clock,
        Some(&req.id),
        Some(&req.subject_pseudonym),
        "recipient-notified",
        json!({"recipient": recipient}),
    )?;
    Ok(())
}
