//! The archive of an access or export answer (Art. 15, 20): written atomically from one read
//! snapshot of the store, then recorded as prepared in its own transaction. Shared by `dsr export`,
//! the delivery of an answer and the scripted batch, so it lives below them all.

use std::path::Path;

use serde_json::json;

use crate::archive::{self, Manifest};
use crate::request::{self, Request};
use crate::store::db::Conn;
use crate::subject::Subject;

/// Write the archive file, atomically (reads the store, writes nothing to it). The caller then
/// records the disclosure with [`record_disclosure`].
#[allow(clippy::too_many_arguments)]
pub fn archive_file(
    conn: &dyn Conn,
    clock: &crate::clock::Clock,
    register: &crate::register::Register,
    req: &Request,
    s: Subject,
    out: &Path,
    force: bool,
    passphrase: Option<&str>,
) -> anyhow::Result<Manifest> {
    let spec = archive::Spec { request: req, subject: s, generated_at: clock.timestamp(), passphrase };
    crate::fsutil::write_private(out, force, |file| write_snapshot(conn, register, &spec, file))
}

/// Write the archive into a private temporary file in `dir`, flushed but not synced: a batch
/// syncs and renames a group of them at once (`fsutil::place_synced`) before recording them.
pub fn archive_temp(
    conn: &dyn Conn,
    clock: &crate::clock::Clock,
    register: &crate::register::Register,
    req: &Request,
    s: Subject,
    dir: &Path,
    passphrase: Option<&str>,
) -> anyhow::Result<(crate::fsutil::Private, Manifest)> {
    let spec = archive::Spec { request: req, subject: s, generated_at: clock.timestamp(), passphrase };
    let mut temp = crate::fsutil::private_temp(dir, ".dsr-", ".part")?;
    let written = write_snapshot(conn, register, &spec, temp.file()).and_then(|m| temp.flush().map(|()| m));
    // A write that failed (a full disk) names the directory; the temporary file goes with `temp`.
    let manifest = written.map_err(|e| {
        crate::fsutil::writing(e, || format!("cannot write the archive of {} in {}", req.id, dir.display()))
    })?;
    Ok((temp, manifest))
}

fn write_snapshot(
    conn: &dyn Conn,
    register: &crate::register::Register,
    spec: &archive::Spec,
    file: &mut std::fs::File,
) -> anyhow::Result<Manifest> {
    // One read transaction: the archive is one consistent snapshot, and the store is locked
    // once rather than for each of its queries. Deferred, so writers are never held up.
    let snapshot = conn.snapshot()?;
    let manifest = archive::write(&*snapshot, register, spec, std::io::BufWriter::with_capacity(256 * 1024, file))?;
    snapshot.commit()?;
    Ok(manifest)
}

/// Record that an archive was prepared (it completes nothing: only its delivery does, see
/// `--send` and `dsr request delivered`); on failure the archive at `out` is removed, so there is
/// never an archive without its record.
pub fn record_disclosure(
    conn: &dyn Conn,
    clock: &crate::clock::Clock,
    req: &Request,
    manifest: &Manifest,
    encrypted: bool,
    out: &Path,
) -> anyhow::Result<()> {
    let record = || -> anyhow::Result<()> {
        let tx = conn.begin_own()?;
        record_prepared(&*tx, clock, req, manifest, encrypted)?;
        tx.commit()?;
        Ok(())
    };
    if let Err(e) = record() {
        let _ = std::fs::remove_file(out);
        return Err(e);
    }
    Ok(())
}

/// The record of a prepared archive, in the caller's transaction (a batch records a group of
/// archives in one).
pub fn record_prepared(
    conn: &dyn crate::store::db::Db,
    clock: &crate::clock::Clock,
    req: &Request,
    manifest: &Manifest,
    encrypted: bool,
) -> anyhow::Result<()> {
    request::answered(
        conn,
        clock,
        req,
        json!({"to": "archive", "files": manifest.files.len() + 1, "categories": manifest.categories, "encrypted": encrypted}),
    )
}
