//! Letters for the outbox folder, written as a group and synced at once, then recorded.

use std::io::Write;

use anyhow::Context;

use super::{delivered, failed, record_delivery, record_in, Flushed, Item};
use crate::clock::Clock;
use crate::mail::Transport;
use crate::store::db::Conn;

/// Write a group of letters to the outbox (one `TAG-NNNNNN.eml` each, named as
/// [`crate::mail::outbox_slot`] says; one a run that died before recording it left there is not
/// written again), sync them at once, and record their
/// deliveries in one transaction: no letter is recorded sent before it is on disk.
pub(super) fn deliver_to_outbox(
    conn: &dyn Conn,
    clock: &Clock,
    dir: &std::path::Path,
    group: Vec<Item>,
    out: &mut Flushed,
) -> anyhow::Result<()> {
    if group.is_empty() {
        return Ok(());
    }
    // One letter (a command's answer): its own file synced, as `send_raw` writes it; a sync of
    // the whole file system (`place_synced`) pays off only for many.
    if group.len() == 1 {
        let item = group.into_iter().next().expect("one item");
        let tag = item.request.as_deref().unwrap_or("dsr");
        return match Transport::Outbox(dir.to_owned()).send_raw(&item.payload, None, tag, item.id) {
            Ok(sent) => {
                record_delivery(conn, clock, &item, sent.transport, &sent.reference)?;
                out.delivered.push(delivered(item, sent.transport.to_owned(), sent.reference));
                Ok(())
            }
            Err(e) => failed(conn, clock, item, &e, out),
        };
    }
    let mut names = Vec::with_capacity(group.len());
    let written = (|| -> anyhow::Result<crate::fsutil::Placed> {
        crate::mail::outbox_ready(dir)?;
        let mut files = Vec::new();
        for item in &group {
            let (name, new) = crate::mail::outbox_slot(dir, &outbox_name(item), &item.payload)?;
            if new {
                let mut temp = crate::fsutil::private_temp(dir, ".msg-", "")?;
                temp.file().write_all(&item.payload)?;
                files.push((temp, dir.join(&name)));
            }
            names.push(name);
        }
        crate::fsutil::place_synced(dir, files)
    })()
    .with_context(|| format!("cannot write to the outbox {}", dir.display()));
    let placed = match written {
        Ok(p) => p,
        Err(e) => {
            for item in group {
                failed(conn, clock, item, &e, out)?;
            }
            return Ok(());
        }
    };
    placed.keep(|| {
        let tx_box = conn.begin_own()?;
        for (item, name) in group.iter().zip(&names) {
            record_in(&*tx_box, clock, item, "outbox", name)?;
        }
        tx_box.commit()
    })?;
    for (item, name) in group.into_iter().zip(names) {
        out.delivered.push(delivered(item, "outbox".into(), name));
    }
    Ok(())
}

/// The outbox file of a queued letter, as [`Transport::send_raw`] names it.
fn outbox_name(item: &Item) -> String {
    format!("{}-{:06}.eml", item.request.as_deref().unwrap_or("dsr"), item.id)
}
