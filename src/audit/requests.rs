//! The request table against the trail. The accountability report counts requests from their
//! rows (right, channel, receipt, deadlines, state, when answered and closed); those rows are
//! not chained, the entries that recorded each of those facts are. `audit verify` replays each
//! request's entries and names the first row that says something else: a receipt moved later, a
//! deadline pushed back, an answer dated earlier, a request closed or reopened, or a request
//! no entry ever opened, all make a late answer look in time or a count look other than it was.
//!
//! A command reads the clock once, when it starts, and dates its rows with it; the entry is
//! dated then too, or later when another process wrote an entry in between. So a time in a row
//! (answered, closed) is never after its entry's and, short of a run lasting a day, not more
//! than a day before it.

use chrono::{DateTime, Duration};
use serde_json::Value;

use crate::store::db::{Db, Row};

/// The actions that set what is compared.
const ACTIONS: &str = "'request-opened', 'request-received-earlier', 'request-extended', 'request-reviewed',
                       'request-completed', 'request-rejected', 'request-expired', 'delivered'";

/// A request's row, as the report reads it.
#[derive(Default, PartialEq)]
struct Facts {
    right: String,
    channel: String,
    received_on: String,
    due_on: String,
    extended_due_on: Option<String>,
    /// The state, but only whether (and how) it is closed: an open request is `open`.
    closed: String,
    closed_at: Option<String>,
    delivered_at: Option<String>,
}

/// What the trail says of one request, entry by entry, with the entry that said it last.
#[derive(Default)]
struct Replay {
    opened: Option<i64>,
    right: (String, i64),
    channel: (String, i64),
    received_on: (String, i64),
    due_on: (String, i64),
    extended_due_on: (Option<String>, i64),
    closed: (String, i64),
    closed_at: Option<(String, i64)>,
    delivered_at: Option<(String, i64)>,
}

/// The first request whose row the trail does not bear out: (the entry it disagrees with, if
/// any; the request; why).
pub(crate) fn first_mismatch(conn: &dyn Db) -> anyhow::Result<Option<(Option<i64>, String, String)>> {
    let sql = format!(
        "SELECT r.id, r.kind, r.channel, r.received_on, r.due_on, r.extended_due_on, r.state, r.closed_at, r.delivered_at,
                a.id, a.at, a.action, a.details
         FROM request r LEFT JOIN audit_log a ON a.request_id = r.id AND a.action IN ({ACTIONS})
         ORDER BY r.id, a.id"
    );
    let mut current: Option<(String, Facts, Replay)> = None;
    let mut bad = None;
    conn.each(&sql, &[], &mut |row| {
        if bad.is_some() {
            return Ok(());
        }
        let id: String = row.get(0)?;
        if current.as_ref().is_none_or(|(c, ..)| *c != id) {
            if let Some((done, facts, replay)) = current.take() {
                bad = compare(&done, &facts, &replay);
                if bad.is_some() {
                    return Ok(());
                }
            }
            current = Some((id, facts(&row)?, Replay::default()));
        }
        let Some((_, _, replay)) = current.as_mut() else { return Ok(()) };
        if let Some(entry) = row.get::<Option<i64>>(9)? {
            let (at, action, details): (String, String, String) = (row.get(10)?, row.get(11)?, row.get(12)?);
            replay.step(entry, &at, &action, &serde_json::from_str(&details).unwrap_or(Value::Null));
        }
        Ok(())
    })?;
    if bad.is_none() {
        if let Some((done, facts, replay)) = current {
            bad = compare(&done, &facts, &replay);
        }
    }
    Ok(bad)
}

fn facts(row: &Row) -> anyhow::Result<Facts> {
    let state: String = row.get(6)?;
    Ok(Facts {
        right: row.get(1)?,
        channel: row.get(2)?,
        received_on: row.get(3)?,
        due_on: row.get(4)?,
        extended_due_on: row.get(5)?,
        closed: if matches!(state.as_str(), "completed" | "rejected" | "expired") { state } else { "open".into() },
        closed_at: row.get(7)?,
        delivered_at: row.get(8)?,
    })
}

impl Replay {
    fn step(&mut self, entry: i64, at: &str, action: &str, d: &Value) {
        let text = |key: &str| d.get(key).and_then(Value::as_str).map(str::to_owned);
        match action {
            "request-opened" => {
                self.opened = Some(entry);
                self.closed = ("open".into(), entry);
                for (field, key) in [
                    (&mut self.right, "right"),
                    (&mut self.channel, "channel"),
                    (&mut self.received_on, "received_on"),
                    (&mut self.due_on, "due_on"),
                ] {
                    *field = (text(key).unwrap_or_default(), entry);
                }
            }
            "request-received-earlier" => {
                for (field, key) in [
                    (&mut self.channel, "channel"),
                    (&mut self.received_on, "received_on"),
                    (&mut self.due_on, "due_on"),
                ] {
                    if let Some(v) = text(key) {
                        *field = (v, entry);
                    }
                }
                self.extended_due_on = (text("extended_due_on"), entry);
            }
            "request-extended" => self.extended_due_on = (text("due_on"), entry),
            "request-reviewed" => {
                if let Some(right) = text("right") {
                    self.right = (right, entry);
                }
            }
            "delivered" => {
                self.delivered_at.get_or_insert((at.to_owned(), entry));
            }
            closing => {
                let state = closing.trim_start_matches("request-");
                self.closed = (state.to_owned(), entry);
                self.closed_at = Some((at.to_owned(), entry));
                // The answer went out with the completion, unless it went out before and the
                // request waited for its systems' tasks (a `delivered` entry then), or the
                // completion records no delivery (an erasure replayed after a restore).
                if state == "completed" && d.get("delivered").is_some() && d.get("after").is_none() {
                    self.delivered_at.get_or_insert((at.to_owned(), entry));
                }
            }
        }
    }
}

/// Why a request's row is not what its entries recorded, if it is not.
fn compare(id: &str, row: &Facts, trail: &Replay) -> Option<(Option<i64>, String, String)> {
    let Some(opened) = trail.opened else {
        return Some((
            None,
            id.to_owned(),
            format!("request {id} is in the store but no entry of the trail opened it"),
        ));
    };
    let differs = |what: &str, row: &str, (trail, entry): (&str, i64)| {
        (row != trail).then(|| {
            (
                Some(entry),
                id.to_owned(),
                format!("request {id}'s {what} is {row} in the store but {trail} in entry {entry}"),
            )
        })
    };
    let none = "(none)";
    differs("right", &row.right, (&trail.right.0, trail.right.1))
        .or_else(|| differs("channel", &row.channel, (&trail.channel.0, trail.channel.1)))
        .or_else(|| differs("date of receipt", &row.received_on, (&trail.received_on.0, trail.received_on.1)))
        .or_else(|| differs("deadline", &row.due_on, (&trail.due_on.0, trail.due_on.1)))
        .or_else(|| {
            let trail_ext = (trail.extended_due_on.0.as_deref().unwrap_or(none), trail.extended_due_on.1.max(opened));
            differs("extended deadline", row.extended_due_on.as_deref().unwrap_or(none), trail_ext)
        })
        .or_else(|| differs("state", &row.closed, (&trail.closed.0, trail.closed.1)))
        .or_else(|| dated(id, "closing time", row.closed_at.as_deref(), trail.closed_at.as_ref(), opened))
        .or_else(|| {
            // A request completed before deliveries were recorded was given its closing time
            // as its delivery (migration 3): the same day the report counts either way.
            let migrated =
                row.closed == "completed" && row.delivered_at == row.closed_at && trail.delivered_at.is_none();
            let delivered = row.delivered_at.as_deref().filter(|_| !migrated);
            dated(id, "time of delivery", delivered, trail.delivered_at.as_ref(), opened)
        })
}

/// A time in a row against the entry that recorded it: not after it, at most a day before.
fn dated(
    id: &str,
    what: &str,
    row: Option<&str>,
    trail: Option<&(String, i64)>,
    opened: i64,
) -> Option<(Option<i64>, String, String)> {
    let tell = |entry: i64, why: String| Some((Some(entry), id.to_owned(), format!("request {id}'s {what} {why}")));
    match (row, trail) {
        (None, None) => None,
        (Some(row), None) => tell(opened, format!("is {row} in the store, but no entry records it")),
        (None, Some((at, entry))) => tell(*entry, format!("is gone from the store; entry {entry} recorded it at {at}")),
        (Some(row), Some((at, entry))) => {
            let (r, a) = (DateTime::parse_from_rfc3339(row).ok()?, DateTime::parse_from_rfc3339(at).ok()?);
            (r > a || a - r > Duration::days(1))
                .then(|| tell(*entry, format!("is {row} in the store but entry {entry} was written at {at}")))
                .flatten()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opened() -> Replay {
        let mut r = Replay::default();
        let d = serde_json::json!({"right": "access", "channel": "email", "received_on": "2026-01-05", "due_on": "2026-02-05"});
        r.step(3, "2026-01-05T09:00:00Z", "request-opened", &d);
        r
    }

    fn row() -> Facts {
        Facts {
            right: "access".into(),
            channel: "email".into(),
            received_on: "2026-01-05".into(),
            due_on: "2026-02-05".into(),
            closed: "open".into(),
            ..Facts::default()
        }
    }

    #[test]
    fn a_row_as_recorded_passes_and_each_change_is_named() {
        assert!(compare("R", &row(), &opened()).is_none());
        let later = Facts { received_on: "2026-01-20".into(), ..row() };
        let (entry, _, why) = compare("R", &later, &opened()).unwrap();
        assert_eq!(entry, Some(3));
        assert!(why.contains("date of receipt is 2026-01-20 in the store but 2026-01-05 in entry 3"), "{why}");
        let extended = Facts { extended_due_on: Some("2026-04-05".into()), ..row() };
        assert!(compare("R", &extended, &opened()).unwrap().2.contains("extended deadline"));
        assert!(compare("R", &row(), &Replay::default()).unwrap().2.contains("no entry of the trail opened it"));
    }

    #[test]
    fn an_answer_dated_earlier_than_its_entry_is_caught_and_the_start_of_a_run_is_not() {
        let mut trail = opened();
        trail.step(9, "2026-03-01T10:00:00Z", "request-completed", &serde_json::json!({"delivered": "email"}));
        let done = |at: &str| Facts {
            closed: "completed".into(),
            closed_at: Some(at.into()),
            delivered_at: Some(at.into()),
            ..row()
        };
        assert!(compare("R", &done("2026-03-01T10:00:00Z"), &trail).is_none());
        // The command started a few minutes before another writer's entry came in.
        assert!(compare("R", &done("2026-03-01T09:55:00Z"), &trail).is_none());
        let (entry, _, why) = compare("R", &done("2026-02-01T10:00:00Z"), &trail).unwrap();
        assert_eq!(entry, Some(9));
        assert!(why.contains("closing time"), "{why}");
        let reopened = Facts { closed: "open".into(), ..done("2026-03-01T10:00:00Z") };
        assert!(compare("R", &reopened, &trail).unwrap().2.contains("state is open in the store but completed"));
    }

    #[test]
    fn an_answer_delivered_before_its_tasks_were_done_is_dated_by_its_delivery() {
        let mut trail = opened();
        trail.step(9, "2026-03-01T10:00:00Z", "delivered", &serde_json::json!({"delivered": "email"}));
        trail.step(12, "2026-03-09T10:00:00Z", "request-completed", &serde_json::json!({"after": "tasks done"}));
        let done = Facts {
            closed: "completed".into(),
            closed_at: Some("2026-03-09T10:00:00Z".into()),
            delivered_at: Some("2026-03-01T10:00:00Z".into()),
            ..row()
        };
        assert!(compare("R", &done, &trail).is_none());
    }
}
