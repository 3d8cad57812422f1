//! Scripted batch exports: a CSV of people whose identity was verified outside dsr (e.g. by an
//! authenticated portal session), one archive per person. A bad row is reported with its line
//! number and does not stop the others. Re-running the same batch skips what is done: a row is
//! done when an export request of that person, verified by the same method and reference, is
//! completed and its archive exists, so a batch killed half-way resumes where it stopped.

use std::path::{Path, PathBuf};

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use crate::commands::Ctx;
use crate::error::Error;
use crate::request::{self, Channel, Kind, NewRequest};
use crate::subject::{self, Identifier, Resolution};

/// One data row of the batch file.
#[derive(Debug, Clone)]
pub struct Row {
    pub line: u64,
    pub identifier: Result<(Identifier, String), String>,
    pub verified_by: String,
    pub reference: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RowResult {
    pub line: u64,
    /// done, skipped or failed
    pub status: &'static str,
    pub request: Option<String>,
    pub file: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub format_version: u32,
    pub done: usize,
    pub skipped: usize,
    pub failed: usize,
    pub rows: Vec<RowResult>,
}

/// Read the batch file. A missing header or unreadable file is an error for the whole batch;
/// a bad row becomes a row that fails with its reason.
pub fn read(path: &Path) -> anyhow::Result<Vec<Row>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| Error::invalid("--batch", format!("cannot read the CSV file: {e}")))?;
    let headers =
        reader.headers().map_err(|e| Error::invalid("--batch", format!("cannot read the header row: {e}")))?.clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (email, customer, method, reference) = (col("email"), col("customer"), col("verified_by"), col("reference"));
    if email.is_none() && customer.is_none() {
        return Err(Error::invalid("--batch", "the header row needs an email or a customer column").into());
    }
    let method = method.ok_or_else(|| {
        Error::invalid("--batch", "the header row needs a verified_by column (how identity was verified)")
    })?;
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i as u64 + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(line, |p| p.line());
                rows.push(Row {
                    line,
                    identifier: Err(format!("unreadable CSV row: {e}")),
                    verified_by: String::new(),
                    reference: String::new(),
                });
                continue;
            }
        };
        let line = record.position().map_or(line, |p| p.line());
        let get = |c: Option<usize>| c.and_then(|c| record.get(c)).unwrap_or("").to_owned();
        let (e, c) = (get(email), get(customer));
        let identifier = match (e.is_empty(), c.is_empty()) {
            (false, true) => Identifier::email(&e).map(|i| (i, e)).map_err(|err| err.to_string()),
            (true, false) => Identifier::customer(&c).map(|i| (i, c)).map_err(|err| err.to_string()),
            (true, true) => Err("no email or customer number in this row".to_owned()),
            (false, false) => Err("both an email and a customer number: name the person once".to_owned()),
        };
        rows.push(Row { line, identifier, verified_by: get(Some(method)), reference: get(reference) });
    }
    Ok(rows)
}

fn valid_method(m: &str) -> bool {
    !m.is_empty()
        && m.len() <= 40
        && m.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && m != "email-code"
}

pub fn run(
    ctx: &mut Ctx,
    rows: &[Row],
    dir: &Path,
    passphrase: Option<&str>,
    mut progress: impl FnMut(&RowResult),
) -> anyhow::Result<Summary> {
    let keys = ctx.keys()?;
    let register = crate::register::Register::load(&ctx.store.conn)?;
    let mut results = Vec::with_capacity(rows.len());
    for row in rows {
        let result = match one(ctx, &keys, &register, row, dir, passphrase) {
            Ok(r) => r,
            Err(e) => {
                // A store-level failure (locked, full disk) stops the batch; it is resumable.
                if crate::exit::Code::of_error(&e) != crate::exit::Code::Failure
                    && !matches!(e.downcast_ref::<Error>(), Some(Error::Invalid { .. } | Error::Ambiguous { .. }))
                {
                    return Err(e.context(format!("batch stopped at line {}; re-run it to resume", row.line)));
                }
                RowResult {
                    line: row.line,
                    status: "failed",
                    request: None,
                    file: None,
                    reason: Some(format!("{e:#}")),
                }
            }
        };
        progress(&result);
        results.push(result);
    }
    let count = |s: &str| results.iter().filter(|r| r.status == s).count();
    Ok(Summary {
        format_version: 1,
        done: count("done"),
        skipped: count("skipped"),
        failed: count("failed"),
        rows: results,
    })
}

fn failed(line: u64, reason: impl Into<String>) -> anyhow::Result<RowResult> {
    Ok(RowResult { line, status: "failed", request: None, file: None, reason: Some(reason.into()) })
}

fn one(
    ctx: &mut Ctx,
    keys: &crate::keys::Keys,
    register: &crate::register::Register,
    row: &Row,
    dir: &Path,
    passphrase: Option<&str>,
) -> anyhow::Result<RowResult> {
    let (identifier, given) = match &row.identifier {
        Ok(x) => x,
        Err(reason) => return failed(row.line, reason.clone()),
    };
    if !valid_method(&row.verified_by) {
        return failed(
            row.line,
            "verified_by must name how identity was verified, e.g. portal-session (lowercase letters, digits, dashes)",
        );
    }
    let person = match subject::resolve(&ctx.store.conn, identifier)? {
        Resolution::Found(s) => s,
        Resolution::NotFound => return failed(row.line, format!("no person matches this {}", identifier.kind())),
        Resolution::Ambiguous(c) => {
            return failed(
                row.line,
                format!("this {} belongs to {} people; use the customer number", identifier.kind(), c.len()),
            )
        }
    };
    let existing = ctx
        .store
        .conn
        .prepare_cached(
            "SELECT id, state FROM request WHERE kind = 'export' AND person_id = ?1 AND verification_method = ?2
             AND coalesce(verification_ref, '') = ?3 AND state IN ('verified', 'completed') ORDER BY created_at DESC LIMIT 1",
        )?
        .query_row(params![person.person_id, row.verified_by, row.reference], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .optional()?;
    let id = match existing {
        Some((id, state)) => {
            let file = archive_path(dir, &id);
            if state == "completed" && file.exists() {
                return Ok(RowResult {
                    line: row.line,
                    status: "skipped",
                    request: Some(id),
                    file: Some(file.display().to_string()),
                    reason: None,
                });
            }
            id
        }
        None => {
            let tx = ctx.store.conn.transaction()?;
            let new = NewRequest {
                kind: Kind::Export,
                identifier,
                given,
                channel: Channel::Portal,
                received_on: ctx.clock.now().date_naive(),
                params: serde_json::json!({}),
            };
            let (req, _) = request::open(&tx, &ctx.clock, keys, &new)?;
            if req.state == "awaiting-verification" {
                request::mark_verified(
                    &tx,
                    &ctx.clock,
                    &req,
                    &row.verified_by,
                    Some(row.reference.as_str()).filter(|r| !r.is_empty()),
                )?;
            }
            tx.commit()?;
            req.id
        }
    };
    let req = request::load(&ctx.store.conn, &id)?;
    let file = archive_path(dir, &id);
    crate::commands::write_archive(ctx, register, &req, person, &file, true, passphrase)?;
    Ok(RowResult {
        line: row.line,
        status: "done",
        request: Some(id),
        file: Some(file.display().to_string()),
        reason: None,
    })
}

fn archive_path(dir: &Path, request: &str) -> PathBuf {
    dir.join(format!("{request}.zip"))
}
