//! One row of a batch made ready: its person resolved, its export request opened (or found from
//! an earlier run) and marked verified, or the row settled as failed or skipped; and the archive
//! already on disk for it told whole, encrypted or not.

use std::path::{Path, PathBuf};

use super::{Job, Prepared, Row, RowResult};
use crate::clock::Clock;
use crate::request::{self, Channel, Kind, NewRequest};
use crate::store::db::Db;
use crate::subject::{self, Resolution};
use crate::vals;

pub(super) fn failed(line: u64, reason: impl Into<String>) -> anyhow::Result<Prepared> {
    Ok(Prepared::Settled(RowResult { line, status: "failed", request: None, file: None, reason: Some(reason.into()) }))
}

/// The people this batch has handled so far: person id → the row that handled them (line, request).
pub(super) type Seen = std::collections::HashMap<i64, (u64, String)>;

/// Resolve one row and open its request, marked verified, in the caller's transaction. A person
/// already handled by an earlier row gets no second request, archive or disclosure record.
pub(super) fn prepare(
    conn: &dyn Db,
    clock: &Clock,
    keys: &crate::keys::Keys,
    row: &Row,
    (dir, encrypted): (&Path, bool),
    seen: &mut Seen,
) -> anyhow::Result<Prepared> {
    let (identifier, given) = match &row.identifier {
        Ok(x) => x,
        Err(reason) => return failed(row.line, reason.clone()),
    };
    if let Some(why) = crate::verify::method_problem(&row.verified_by) {
        return failed(row.line, format!("verified_by: {why}"));
    }
    let person = match subject::resolve(conn, identifier)? {
        Resolution::Found(s) => s,
        Resolution::NotFound => return failed(row.line, format!("no person matches this {}", identifier.kind())),
        Resolution::Ambiguous(c) => {
            return failed(
                row.line,
                format!("this {} belongs to {} people; use the customer number", identifier.kind(), c.len()),
            )
        }
    };
    if let Some((line, id)) = seen.get(&person.person_id) {
        return Ok(Prepared::Settled(RowResult {
            line: row.line,
            status: "skipped",
            request: Some(id.clone()),
            file: Some(archive_path(dir, id).display().to_string()),
            reason: Some(format!("same person as line {line}")),
        }));
    }
    let existing = conn.first(
        "SELECT id, answered_at IS NOT NULL OR state = 'completed' FROM request WHERE kind = 'export' AND person_id = ?1
         AND verification_method = ?2 AND coalesce(verification_ref, '') = ?3 AND state IN ('verified', 'completed')
         ORDER BY created_at DESC LIMIT 1",
        &vals![person.person_id, row.verified_by, row.reference]?,
        |r| Ok((r.get::<String>(0)?, r.get::<bool>(1)?)),
    )?;
    let request = match existing {
        Some((id, prepared)) => {
            let file = archive_path(dir, &id);
            if prepared && file.exists() && !readable_archive(&file, &id) {
                return failed(
                    row.line,
                    format!(
                        "already exported, but its archive {} does not read as the one written for {id} (cut off, changed, or another request's): remove it and run the batch again to write it anew",
                        file.display()
                    ),
                );
            }
            // An archive written plain, when this run asks for encryption, is written again
            // encrypted (an encrypted one stays as it is when a run does not ask).
            let plain_but_asked = encrypted && prepared && file.exists() && !encrypted_archive(&file);
            if prepared && file.exists() && !plain_but_asked {
                seen.insert(person.person_id, (row.line, id.clone()));
                return Ok(Prepared::Settled(RowResult {
                    line: row.line,
                    status: "skipped",
                    request: Some(id),
                    file: Some(file.display().to_string()),
                    reason: Some("already exported: the answer is prepared and its archive is there".into()),
                }));
            }
            request::load(conn, &id)?
        }
        None => {
            let new = NewRequest {
                kind: Kind::Export,
                identifier,
                given,
                channel: Channel::Portal,
                received_on: clock.now().date_naive(),
                params: serde_json::json!({}),
                resolved: Some(person.person_id),
            };
            let (req, _) = request::open(conn, clock, keys, &new)?;
            if req.state == "awaiting-verification" {
                request::mark_verified(
                    conn,
                    clock,
                    &req,
                    &row.verified_by,
                    Some(row.reference.as_str()).filter(|r| !r.is_empty()),
                    None,
                )?
            } else {
                // The person's export request was open and verified already: this row's
                // verification is what the archive now made rests on.
                let reference = Some(row.reference.as_str()).filter(|r| !r.is_empty());
                request::verified_again(conn, clock, &req, &row.verified_by, reference)?;
                req
            }
        }
    };
    let id = request.id.clone();
    seen.insert(person.person_id, (row.line, id.clone()));
    Ok(Prepared::Archive(Box::new(Job { line: row.line, request, person, file: archive_path(dir, &id) })))
}

/// Whether a file reads as the archive dsr wrote for `request`: a zip whose directory lists
/// `manifest.json` (an archive cut short by a full disk or a copy loses its directory at the
/// end) and whose comment names the request (another request's archive copied in its place
/// does not); a plain one also reads whole, each entry against its CRC, with a manifest naming
/// the request. (An encrypted one cannot be read without its passphrase; one written before
/// archives named their request in the comment is taken by its directory.)
fn readable_archive(path: &Path, request: &str) -> bool {
    let Ok(file) = std::fs::File::open(path) else { return false };
    let Ok(mut zip) = zip::ZipArchive::new(std::io::BufReader::new(file)) else { return false };
    let Some(manifest) = zip.index_for_name("manifest.json") else { return false };
    let comment = String::from_utf8_lossy(zip.comment()).into_owned();
    if !comment.is_empty() && comment != crate::archive::comment(request) {
        return false;
    }
    if zip.by_index_raw(manifest).is_ok_and(|f| f.encrypted()) {
        return true;
    }
    let named = zip.by_index(manifest).ok().and_then(|f| serde_json::from_reader::<_, serde_json::Value>(f).ok());
    if !named.is_some_and(|m| m["request"] == request) {
        return false;
    }
    (0..zip.len()).all(|i| zip.by_index(i).is_ok_and(|mut f| std::io::copy(&mut f, &mut std::io::sink()).is_ok()))
}

/// Whether an archive's entries are encrypted (its manifest is).
fn encrypted_archive(path: &Path) -> bool {
    let Ok(file) = std::fs::File::open(path) else { return false };
    let Ok(mut zip) = zip::ZipArchive::new(std::io::BufReader::new(file)) else { return false };
    zip.index_for_name("manifest.json").and_then(|i| zip.by_index_raw(i).ok().map(|f| f.encrypted())).unwrap_or(false)
}

fn archive_path(dir: &Path, request: &str) -> PathBuf {
    dir.join(format!("{request}.zip"))
}
