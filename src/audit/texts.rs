//! Free texts that are gone, against the trail. An officer's text (a reason, a note, a
//! reference) leaves the store in two ways only: with its person, when an erasure is carried out
//! (the person's requests are detached then), or with its request, when retention removes a
//! request closed more than three years before. Both leave entries in the chain; a row of the
//! request table does not count as proof, since anyone who could delete the text could blank
//! the row too.

use std::collections::HashSet;

use crate::store::db::Db;

/// The entries that carry out an erasure of the person they name.
const ERASING: [&str; 3] = ["erased", "erasure-finished", "erasure-replayed"];

/// A text an entry refers to that is gone.
pub(super) struct Gone {
    pub entry: i64,
    pub text: i64,
    pub request: Option<String>,
    pub subject: Option<String>,
}

/// What the trail says removed texts, gathered while it is walked.
#[derive(Default)]
pub(super) struct Removals {
    /// The people an erasure was carried out for (their pseudonyms), and the requests it
    /// detached (named since erasures name them: one made under an address before it was the
    /// person's has a pseudonym of its own).
    erased: HashSet<String>,
    detached: HashSet<String>,
    /// The retention entries that erased people (a rule over the person table), by entry.
    profile_runs: Vec<i64>,
    /// When retention removed closed requests.
    request_sweeps: Vec<String>,
    /// The person table of the data map, whose retention rules erase whole people.
    root: Option<String>,
    pub gone: Vec<Gone>,
}

impl Removals {
    pub fn new(conn: &dyn Db) -> Removals {
        let root = crate::store::personal::DataMap::load(conn).ok().and_then(|m| m.root().map(|t| t.name.clone()));
        Removals { root, ..Removals::default() }
    }

    /// Take note of an entry of the chain.
    pub fn see(&mut self, id: i64, at: &str, action: &str, subject: Option<&str>, details: &str) {
        if ERASING.contains(&action) {
            if let Some(s) = subject {
                self.erased.insert(s.to_owned());
            }
            if details.contains("\"requests\"") {
                let named = serde_json::from_str::<serde_json::Value>(details).ok();
                let ids = named.as_ref().and_then(|d| d["requests"].as_array()).into_iter().flatten();
                self.detached.extend(ids.filter_map(|r| r.as_str().map(str::to_owned)));
            }
        } else if action == "retention" || action == "retention-interrupted" {
            if details.contains("\"closed-requests\"") {
                self.request_sweeps.push(at.to_owned());
            }
            let root = self.root.as_deref().map(|t| format!("\"table\":{}", serde_json::Value::from(t)));
            if action == "retention" && root.is_some_and(|r| details.contains(&r)) {
                self.profile_runs.push(id);
            }
        }
    }

    /// The first text gone that no erasure or retention in the trail removed: (entry, why).
    pub fn unaccounted(&self, conn: &dyn Db) -> anyhow::Result<Option<(i64, String)>> {
        for g in &self.gone {
            if self.accounted(conn, g)? {
                continue;
            }
            let why = format!(
                "the free text {} of entry {} is gone, and neither an erasure of the person nor the retention of closed requests removed it",
                g.text, g.entry
            );
            return Ok(Some((g.entry, why)));
        }
        Ok(None)
    }

    fn accounted(&self, conn: &dyn Db, g: &Gone) -> anyhow::Result<bool> {
        let Some(request) = g.request.as_deref() else { return Ok(false) };
        if self.detached.contains(request) || g.subject.as_deref().is_some_and(|s| self.erased.contains(s)) {
            return Ok(true);
        }
        let detached: Option<bool> =
            conn.first("SELECT subject_given IS NULL FROM request WHERE id = ?1", &crate::vals![request]?, |r| {
                r.get(0)
            })?;
        match detached {
            // Detached by retention's erasure of the person (no entry of its own names them):
            // a run that erased people after the text was written.
            Some(true) => Ok(self.profile_runs.iter().any(|&run| run > g.entry)),
            Some(false) => Ok(false),
            // The request went: retention removes it three years after it was closed.
            None => {
                let closed: Option<Option<String>> = conn.first(
                    "SELECT min(at) FROM audit_log WHERE request_id = ?1
                     AND action IN ('request-completed', 'request-rejected', 'request-expired')",
                    &crate::vals![request]?,
                    |r| r.get(0),
                )?;
                let Some(closed) = closed.flatten().and_then(|c| chrono::DateTime::parse_from_rfc3339(&c).ok()) else {
                    return Ok(false);
                };
                // A day's margin: the row's closing time, which the rule counts from, is read
                // when its command started, its entry's when it was written.
                let due = closed + chrono::Months::new(36) - chrono::Duration::days(1);
                let due = crate::clock::stamp(due.with_timezone(&chrono::Utc));
                Ok(self.request_sweeps.iter().any(|at| *at >= due))
            }
        }
    }
}
