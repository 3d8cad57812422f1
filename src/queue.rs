//! Side effects after the commit (the transactional outbox pattern, design.md §4). Every letter
//! and every journal line that reports a change is queued in the store, in the same transaction
//! as the change; [`flush`] delivers what is queued once that transaction has committed. A run
//! that dies between commit and delivery leaves the item queued, and the next dsr command (or
//! `dsr mail flush`) delivers it; on PostgreSQL a journal line, the next one run on the same
//! machine in the same directory (its `place`). A transport that fails keeps the item queued with its error,
//! for `request show` and `mail list`; it never changes what the command that queued it answers.
//!
//! Delivered exactly once: one process flushes at a time (a lock file beside the store); an
//! outbox file is named after its queue entry, so a file written by a run that died before it
//! could record the delivery is recognised and not written twice; a journal line already in the
//! journal is not appended again. Over SMTP a crash between the server's acceptance and the
//! record is the one window that can repeat a message (with the same Message-ID).

use std::collections::HashSet;

use crate::store::db::{Conn, Db, Dialect};
use crate::vals;
use serde::Serialize;
use serde_json::json;

mod files;
mod lock;
mod outbox;
mod waiting;

pub use files::journal_path;
use files::{append_journal, journal_name, sync_logs};
use lock::lock;
pub use lock::{hold, FlushLock};
use outbox::deliver_to_outbox;
pub use waiting::{addressed_to, answer_of, pending, release, stuck, withdraw, Pending, COLUMNS as PENDING_COLUMNS};

use crate::audit;
use crate::clock::Clock;
use crate::mail::Transport;

/// What a queued letter does once delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnSent {
    /// Only a record that it was sent.
    Nothing,
    /// Sending it delivers the answer: the request is completed (delivery channel email).
    DeliversAnswer,
}

/// Queue a mail message in the caller's transaction. Returns the queue entry's id.
pub fn mail(
    conn: &dyn Db,
    clock: &Clock,
    request: Option<&str>,
    letter: &str,
    message: &lettre::Message,
    on_sent: OnSent,
) -> anyhow::Result<i64> {
    conn.one(
        "INSERT INTO queued (kind, request_id, letter, payload, envelope, delivers, queued_at, transport)
         VALUES ('mail', ?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
        &vals![
            request,
            letter,
            message.formatted(),
            crate::mail::envelope_json(message.envelope()),
            on_sent == OnSent::DeliversAnswer,
            clock.timestamp(),
            crate::mail::transport_name()?
        ]?,
        |r| r.get(0),
    )
}

/// Queue one line for the erasure journal beside the store.
pub fn journal(conn: &dyn Db, clock: &Clock, request: &str, line: &str) -> anyhow::Result<i64> {
    conn.one(
        "INSERT INTO queued (kind, request_id, letter, payload, queued_at, place)
         VALUES ('journal', ?1, 'erasure-journal', ?2, ?3, ?4) RETURNING id",
        &vals![request, line.as_bytes(), clock.timestamp(), place(conn)]?,
        |r| r.get(0),
    )
}

/// Where this process writes journal lines, when that is not the same for every process: on
/// PostgreSQL the journal is a file in the directory dsr runs in, so a line is bound to this
/// machine and that file (`HOST:PATH`), and only a dsr process there writes it. None on SQLite,
/// whose journal lies beside the store for every process.
fn place(db: &dyn Db) -> Option<String> {
    (db.dialect() == Dialect::Postgres)
        .then(|| format!("{}:{}", crate::fsutil::host_name(), journal_path(&db.place()).display()))
}

/// The queued items this process delivers: all but the journal lines bound to another place
/// (its place the statement's parameter `?n`), and the letters queued for another transport
/// (the transport this process sends by the parameter `?n+1`): a letter queued while `DSR_MAIL=smtp`
/// is sent by SMTP, never written to the outbox folder of a shell without `DSR_MAIL`, where
/// no one would receive it. A letter queued before transports were recorded goes by any.
fn mine(n: usize) -> String {
    format!("(place IS NULL OR place = ?{n}) AND (kind <> 'mail' OR transport IS NULL OR transport = ?{})", n + 1)
}

/// The result of one flush, for the officer and `mail flush --json`.
#[derive(Debug, Default, Serialize)]
pub struct Flushed {
    pub delivered: Vec<Delivered>,
    pub failed: Vec<Failed>,
    /// Another dsr process was delivering at the same time; it delivers the rest, but for the
    /// journal lines bound to this process's place (below).
    pub busy: bool,
    /// The requests whose erasure-journal lines, bound to this machine and directory (PostgreSQL),
    /// are still queued because another process held the queue: a dsr command run here writes them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub journal_waiting: Vec<String>,
    /// Letters left for the transport they were queued for (`DSR_MAIL`), which is not this
    /// process's: a `dsr mail flush` with that transport sends them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_transport: Vec<OtherTransport>,
}

#[derive(Debug, Serialize)]
pub struct OtherTransport {
    pub transport: String,
    pub letters: i64,
}

#[derive(Debug, Serialize)]
pub struct Delivered {
    pub queued: i64,
    pub request: Option<String>,
    pub letter: String,
    pub transport: String,
    pub reference: String,
}

#[derive(Debug, Serialize)]
pub struct Failed {
    pub queued: i64,
    pub request: Option<String>,
    pub letter: String,
    pub tries: i64,
    pub error: String,
}

struct Item {
    id: i64,
    kind: String,
    request: Option<String>,
    letter: String,
    payload: Vec<u8>,
    envelope: Option<String>,
    delivers: bool,
    tries: i64,
    last_try_at: Option<String>,
}

/// When the SMTP server last could not be reached or did not answer in this process: for
/// [`SMTP_PAUSE_MINUTES`] no later flush of the same process (a command's own and the one after
/// it, intake's rounds) waits for it again.
static SMTP_DOWN: std::sync::Mutex<Option<std::time::Instant>> = std::sync::Mutex::new(None);

/// How long a letter the SMTP server could not take waits before a command's own flush tries
/// it again (`dsr mail flush` tries at once): a server that is down or silent must not hold up
/// every command of the officer's session or of cron for its timeout.
const SMTP_PAUSE_MINUTES: i64 = 5;

/// Deliver everything queued, oldest first. Each delivery is recorded (and its content dropped)
/// in a transaction of its own; a failure is recorded with its error and the rest go on, but
/// over SMTP a server that could not be reached or did not answer ends the run's SMTP
/// deliveries (the others stay queued, untried). With `paused`, a letter the SMTP server failed
/// in the last [`SMTP_PAUSE_MINUTES`] minutes is left for later.
pub fn flush(conn: &dyn Conn, clock: &Clock, tried: &HashSet<i64>, paused: bool) -> anyhow::Result<Flushed> {
    let mut out = Flushed::default();
    let db: &dyn Db = conn;
    let here = place(db);
    // An unknown DSR_MAIL is an error as soon as a letter waits (a typo in a cron line must not
    // pass as "nothing to send").
    let sending = match crate::mail::transport_name() {
        Ok(name) => name,
        Err(e) => match db.first(
            "SELECT 1 FROM queued WHERE done_at IS NULL AND held = 0 AND kind = 'mail' LIMIT 1",
            &[],
            |r| r.get::<i64>(0),
        )? {
            Some(_) => return Err(e),
            None => "?",
        },
    };
    out.other_transport = db.all(
        "SELECT transport, count(*) FROM queued WHERE done_at IS NULL AND held = 0 AND kind = 'mail' AND transport <> ?1
          GROUP BY transport ORDER BY transport",
        &vals![sending]?,
        |r| Ok(OtherTransport { transport: r.get(0)?, letters: r.get(1)? }),
    )?;
    let pending = |only_bound: bool| -> anyhow::Result<bool> {
        let bound = if only_bound { " AND place IS NOT NULL" } else { "" };
        Ok(db
            .first(
                &format!(
                    "SELECT EXISTS (SELECT 1 FROM queued WHERE done_at IS NULL AND held = 0 AND {}{bound})",
                    mine(1)
                ),
                &vals![here, sending]?,
                |r| r.get(0),
            )?
            .unwrap_or(false))
    };
    if !pending(false)? {
        return Ok(out);
    }
    let store = &conn.place();
    let mut transport: Option<Transport> = None;
    // What this run has tried, delivered or not: each item once; and what failed already in
    // this process (`tried`), which the next command's run tries again, not this one.
    let mut seen: HashSet<i64> = tried.clone();
    let pause_from = crate::clock::stamp(clock.now() - chrono::Duration::minutes(SMTP_PAUSE_MINUTES));
    let pause = std::time::Duration::from_secs(60 * SMTP_PAUSE_MINUTES as u64);
    let down_at = *SMTP_DOWN.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut server_down = down_at.is_some_and(|t| t.elapsed() < pause);
    // Another process delivering delivers what it may; journal lines bound to this place (on
    // PostgreSQL) are this process's to write, so it waits its turn for them (up to 5 s).
    let mut waits = 0;
    loop {
        let Some(lock) = lock(db)? else {
            if waits < 100 && pending(true)? {
                waits += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
                continue;
            }
            out.busy = true;
            if here.is_some() {
                out.journal_waiting = db.all(
                    "SELECT coalesce(request_id, '') FROM queued WHERE done_at IS NULL AND held = 0 AND place = ?1 ORDER BY id",
                    &vals![here]?,
                    |r| r.get::<String>(0),
                )?;
            }
            return Ok(out);
        };
        sync_logs(db)?;
        let mut after = 0i64;
        // Letters for the outbox are written as a group and synced at once (`fsutil::place_synced`),
        // then recorded in one transaction: a run that queued many (`dsr intake`) pays one sync a
        // group, not one a letter. SMTP and the journal deliver one by one.
        let mut group: Vec<Item> = Vec::new();
        while let Some(item) = next(conn, after, &here, sending)? {
            after = item.id;
            if !seen.insert(item.id) {
                continue;
            }
            let smtp = item.kind == "mail" && sending == "smtp";
            let resting = paused && item.last_try_at.as_ref().is_some_and(|t| *t > pause_from);
            if smtp && (server_down || resting) {
                continue;
            }
            if item.kind == "mail" {
                if transport.is_none() {
                    transport = Some(Transport::from_env(store)?);
                }
                if let Some(Transport::Outbox(dir)) = &transport {
                    group.push(item);
                    if group.len() == GROUP {
                        deliver_to_outbox(conn, clock, dir, std::mem::take(&mut group), &mut out)?;
                    }
                    continue;
                }
            }
            if let Some(Transport::Outbox(dir)) = &transport {
                deliver_to_outbox(conn, clock, dir, std::mem::take(&mut group), &mut out)?;
            }
            let result = match item.kind.as_str() {
                "journal" => append_journal(store, &item.payload).map(|()| ("journal".to_owned(), journal_name(store))),
                _ => {
                    let t = transport.as_ref().expect("set above");
                    let tag = item.request.as_deref().unwrap_or("dsr");
                    t.send_raw(&item.payload, item.envelope.as_deref(), tag, item.id)
                        .map(|s| (s.transport.to_owned(), s.reference))
                }
            };
            match result {
                Ok((transport_name, reference)) => {
                    record_delivery(conn, clock, &item, &transport_name, &reference)?;
                    out.delivered.push(delivered(item, transport_name, reference));
                }
                Err(e) => {
                    if smtp && crate::mail::server_unavailable(&e) {
                        server_down = true;
                        *SMTP_DOWN.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
                            Some(std::time::Instant::now());
                    }
                    failed(conn, clock, item, &e, &mut out)?
                }
            }
        }
        if let Some(Transport::Outbox(dir)) = &transport {
            deliver_to_outbox(conn, clock, dir, group, &mut out)?;
        }
        drop(lock);
        // A process that queued a letter while this one held the lock left it to this one; on
        // PostgreSQL it may have got a lower id than one already delivered (ids are given at
        // insert, not at commit), so the pass above went past it. Looked for once the lock is
        // released: a process that found the lock taken had committed its letter before.
        let unseen = db.all(
            &format!("SELECT id FROM queued WHERE done_at IS NULL AND held = 0 AND {}", mine(1)),
            &vals![here, sending]?,
            |r| r.get::<i64>(0),
        )?;
        if unseen.iter().all(|id| seen.contains(id)) {
            return Ok(out);
        }
    }
}

/// Letters written to the outbox and synced at once.
const GROUP: usize = 64;

fn delivered(item: Item, transport: String, reference: String) -> Delivered {
    Delivered { queued: item.id, request: item.request, letter: item.letter, transport, reference }
}

/// A delivery that failed: recorded with its error, the letter stays queued. A mail server's
/// refusal often names the recipient ("550 <jan@example.nl>: Recipient address rejected"): the
/// error is kept and told with every address in it as `<address>`, because it reaches stderr
/// of later commands (cron mails, logs), `mail list` and `request show`.
fn failed(conn: &dyn Conn, clock: &Clock, item: Item, e: &anyhow::Error, out: &mut Flushed) -> anyhow::Result<()> {
    let error = crate::output::sanitize::without_addresses(&format!("{e:#}"));
    conn.run(
        "UPDATE queued SET tries = tries + 1, last_error = ?2, last_try_at = ?3 WHERE id = ?1",
        &vals![item.id, error, clock.timestamp()]?,
    )?;
    out.failed.push(Failed {
        queued: item.id,
        request: item.request,
        letter: item.letter,
        tries: item.tries + 1,
        error,
    });
    Ok(())
}

fn next(conn: &dyn Db, after: i64, here: &Option<String>, sending: &str) -> anyhow::Result<Option<Item>> {
    conn.first(
        &format!(
            "SELECT id, kind, request_id, letter, payload, envelope, delivers, tries, last_try_at FROM queued
             WHERE done_at IS NULL AND held = 0 AND id > ?1 AND {} ORDER BY id LIMIT 1",
            mine(2)
        ),
        &vals![after, here, sending]?,
        |r| {
            Ok(Item {
                id: r.get(0)?,
                kind: r.get(1)?,
                request: r.get(2)?,
                letter: r.get(3)?,
                payload: r.get::<Option<Vec<u8>>>(4)?.unwrap_or_default(),
                envelope: r.get(5)?,
                delivers: r.get(6)?,
                tries: r.get(7)?,
                last_try_at: r.get(8)?,
            })
        },
    )
}

/// Record a delivery: the item is done and loses its content; a letter that delivers an answer
/// completes its request.
fn record_delivery(
    conn: &dyn Conn,
    clock: &Clock,
    item: &Item,
    transport: &str,
    reference: &str,
) -> anyhow::Result<()> {
    let tx_box = conn.begin_own()?;
    record_in(&*tx_box, clock, item, transport, reference)?;
    tx_box.commit()
}

/// [`record_delivery`] in the caller's transaction.
fn record_in(tx: &dyn Db, clock: &Clock, item: &Item, transport: &str, reference: &str) -> anyhow::Result<()> {
    tx.run(
        "UPDATE queued SET done_at = ?2, transport = ?3, reference = ?4, payload = NULL, envelope = NULL, last_error = NULL WHERE id = ?1",
        &vals![item.id, clock.timestamp(), transport, reference]?,
    )?;
    if item.kind == "mail" {
        let subject: Option<String> = match &item.request {
            Some(r) => tx.first("SELECT subject_pseudonym FROM request WHERE id = ?1", &vals![r]?, |x| x.get(0))?,
            None => None,
        };
        audit::append(
            tx,
            clock,
            item.request.as_deref(),
            subject.as_deref(),
            "mail-sent",
            json!({"letter": item.letter, "transport": transport, "reference": reference, "queued": item.id}),
        )?;
        if item.delivers {
            if let Some(id) = &item.request {
                let req = crate::request::load(tx, id)?;
                // A request closed meanwhile (replayed, rejected) keeps its state.
                if req.state == "verified" && req.answered_at.is_some() {
                    crate::request::deliver(tx, clock, &req, "email", Some(reference))?;
                }
            }
        }
    }
    Ok(())
}
