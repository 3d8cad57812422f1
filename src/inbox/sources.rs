//! Where messages are read from: a file holding one message (`.eml`), an mbox file (messages
//! after `From ` separator lines), or a Maildir folder (its `new/` and `cur/` files, or a plain folder's files, oldest
//! first by their names, which start with the delivery time). Messages are read one at a time,
//! so a mailbox of any size is read in little memory.

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use crate::error::Error;

/// One message's bytes and where they came from.
pub struct Source {
    pub origin: String,
    pub bytes: std::io::Result<Vec<u8>>,
}

/// The largest message read whole; a larger one is reported, not read (a mail server refuses
/// far smaller ones).
const MAX_MESSAGE: u64 = 256 * 1024 * 1024;

/// The messages of every path, in order. A path that is neither a file nor a Maildir is an
/// error before anything is read. A folder (or a Maildir's `new/` or `cur/`) that cannot be
/// listed is one source that could not be read, not an empty one.
pub fn read_sources(paths: &[PathBuf]) -> Result<impl Iterator<Item = Source>, Error> {
    let mut kinds = Vec::new();
    for p in paths {
        kinds.push(kind_of(p)?);
    }
    Ok(kinds.into_iter().flat_map(|k| -> Box<dyn Iterator<Item = Source>> {
        match k {
            Kind::File(p) => file_sources(p),
            Kind::Folder(p) => {
                let (files, unlisted) = folder_listing(&p, std::time::Duration::ZERO);
                let unlisted =
                    unlisted.into_iter().map(|(dir, e)| Source { origin: dir.display().to_string(), bytes: Err(e) });
                // A Maildir holds one message a file (its bodies are not `>From`-quoted, so no
                // file of it is read as an mbox); a plain folder may hold mbox files.
                let maildir = is_maildir(&p);
                Box::new(unlisted.chain(files.into_iter().flat_map(move |f| match maildir {
                    true => one_message(f),
                    false => file_sources(f),
                })))
            }
        }
    }))
}

enum Kind {
    /// An `.eml` file or an mbox file, told apart by their first line ([`mbox_start`]).
    File(PathBuf),
    /// A Maildir, or a folder of `.eml` (or mbox) files.
    Folder(PathBuf),
}

fn kind_of(p: &Path) -> Result<Kind, Error> {
    let meta = std::fs::metadata(p).map_err(|e| {
        Error::invalid("FILE", format!("{}: {e}; name .eml files, mbox files or Maildir folders", p.display()))
    })?;
    if meta.is_dir() {
        return Ok(Kind::Folder(p.to_owned()));
    }
    std::fs::File::open(p).map_err(|e| Error::invalid("FILE", format!("{}: {e}", p.display())))?;
    Ok(Kind::File(p.to_owned()))
}

/// The messages of one file: one, or each of an mbox's.
pub fn file_sources(p: PathBuf) -> Box<dyn Iterator<Item = Source>> {
    match mbox_start(&p) {
        Ok(Some(start)) => mbox(p, start),
        Ok(None) => one_message(p),
        Err(e) => Box::new(std::iter::once(Source { origin: p.display().to_string(), bytes: Err(e) })),
    }
}

/// A file that holds one message (`.eml`, a Maildir's file).
pub fn one_message(p: PathBuf) -> Box<dyn Iterator<Item = Source>> {
    Box::new(std::iter::once(Source { origin: p.display().to_string(), bytes: read_file(&p) }))
}

/// Whether a folder is a Maildir (it has `new/` or `cur/`).
pub fn is_maildir(dir: &Path) -> bool {
    dir.join("new").is_dir() || dir.join("cur").is_dir()
}

/// Where an mbox file's first `From ` line starts, or `None` for a file that is one message:
/// an mbox is known by that line, after a UTF-8 byte order mark and blank lines an editor or a
/// copy may have put before it (read as one message, its people's mails would be one).
fn mbox_start(p: &Path) -> std::io::Result<Option<u64>> {
    let mut head = Vec::with_capacity(4096);
    std::fs::File::open(p)?.take(4096).read_to_end(&mut head)?;
    let mut at = if head.starts_with(b"\xef\xbb\xbf") { 3 } else { 0 };
    while let Some(b'\r' | b'\n' | b' ' | b'\t') = head.get(at) {
        at += 1;
    }
    Ok(head[at..].starts_with(b"From ").then_some(at as u64))
}

pub fn read_file(p: &Path) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(p)?;
    let len = file.metadata()?.len();
    if len > MAX_MESSAGE {
        return Err(std::io::Error::other(format!(
            "the message is {} MB, more than dsr reads ({} MB)",
            len >> 20,
            MAX_MESSAGE >> 20
        )));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    BufReader::new(file).read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn mbox(p: PathBuf, start: u64) -> Box<dyn Iterator<Item = Source>> {
    use std::io::{Seek, SeekFrom};
    let name = p.display().to_string();
    let opened = std::fs::File::open(&p).and_then(|mut f| f.seek(SeekFrom::Start(start)).map(|_| f));
    match opened {
        Err(e) => Box::new(std::iter::once(Source { origin: name, bytes: Err(e) })),
        Ok(f) => Box::new({
            // A file no one wrote for a while is complete, even when its last line lacks its
            // newline; one written just now may still be growing.
            let settled = f
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > std::time::Duration::from_secs(2)));
            super::mbox::Messages::new(BufReader::new(f), MAX_MESSAGE as usize)
                .settled(settled)
                .enumerate()
                .map(move |(i, bytes)| Source { origin: format!("{name} message {}", i + 1), bytes })
        }),
    }
}

/// The messages of a folder, by name: a Maildir's `new/` and `cur/` files (whose names start
/// with the delivery time), or the files of a plain folder. Files whose name starts with a dot
/// are not messages (nor is a Maildir's `tmp/`, where a message is still being written). With a
/// `settle`, files of a plain folder changed less than that ago are left out: a mail client may
/// still be writing them (a Maildir's writers use `tmp/` for that). Also the folders that could
/// not be listed (no read access), with why: said, never taken as empty.
pub fn folder_listing(dir: &Path, settle: std::time::Duration) -> (Vec<PathBuf>, Vec<(PathBuf, std::io::Error)>) {
    let maildir = is_maildir(dir);
    let subs: Vec<PathBuf> = if maildir { vec![dir.join("new"), dir.join("cur")] } else { vec![dir.to_owned()] };
    let mut unlisted = Vec::new();
    let mut files: Vec<(String, PathBuf)> = subs
        .iter()
        .filter(|sub| !maildir || sub.exists())
        .filter_map(|sub| std::fs::read_dir(sub).map_err(|e| unlisted.push((sub.clone(), e))).ok())
        .flatten()
        .filter_map(|e| e.ok())
        // A link is read as what it points to; one that leads nowhere is read, so that it is
        // reported as a message that could not be read rather than passed over.
        .filter(|e| {
            e.file_type().is_ok_and(|t| {
                t.is_file() || t.is_symlink() && std::fs::metadata(e.path()).map_or(true, |m| m.is_file())
            })
        })
        .filter(|e| {
            maildir
                || settle.is_zero()
                || std::fs::metadata(e.path())
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t.elapsed().is_ok_and(|age| age >= settle))
        })
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (!name.starts_with('.')).then(|| (name, e.path()))
        })
        .collect();
    files.sort();
    (files.into_iter().map(|(_, p)| p).collect(), unlisted)
}
