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
/// error before anything is read.
pub fn read_sources(paths: &[PathBuf]) -> Result<impl Iterator<Item = Source>, Error> {
    let mut kinds = Vec::new();
    for p in paths {
        kinds.push(kind_of(p)?);
    }
    Ok(kinds.into_iter().flat_map(|k| -> Box<dyn Iterator<Item = Source>> {
        match k {
            Kind::Eml(p) => Box::new(std::iter::once(Source { origin: p.display().to_string(), bytes: read_file(&p) })),
            Kind::Mbox(p) => mbox(p),
            Kind::Folder(p) => Box::new(
                folder_files(&p).into_iter().map(|f| Source { origin: f.display().to_string(), bytes: read_file(&f) }),
            ),
        }
    }))
}

enum Kind {
    Eml(PathBuf),
    Mbox(PathBuf),
    /// A Maildir, or a folder of `.eml` files.
    Folder(PathBuf),
}

fn kind_of(p: &Path) -> Result<Kind, Error> {
    let meta = std::fs::metadata(p).map_err(|e| {
        Error::invalid("FILE", format!("{}: {e}; name .eml files, mbox files or Maildir folders", p.display()))
    })?;
    if meta.is_dir() {
        return Ok(Kind::Folder(p.to_owned()));
    }
    let mut head = [0u8; 5];
    let n = std::fs::File::open(p)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| Error::invalid("FILE", format!("{}: {e}", p.display())))?;
    Ok(if &head[..n] == b"From " { Kind::Mbox(p.to_owned()) } else { Kind::Eml(p.to_owned()) })
}

pub fn read_file(p: &Path) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(p)?;
    let len = file.metadata()?.len();
    if len > MAX_MESSAGE {
        return Err(std::io::Error::other(format!("the message is {} MB, more than dsr reads (256 MB)", len >> 20)));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    BufReader::new(file).read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn mbox(p: PathBuf) -> Box<dyn Iterator<Item = Source>> {
    let name = p.display().to_string();
    match std::fs::File::open(&p) {
        Err(e) => Box::new(std::iter::once(Source { origin: name, bytes: Err(e) })),
        Ok(f) => Box::new(mail_parser::mailbox::mbox::MessageIterator::new(BufReader::new(f)).enumerate().map(
            move |(i, m)| Source { origin: format!("{name} message {}", i + 1), bytes: m.map(|m| m.unwrap_contents()) },
        )),
    }
}

/// The messages of a folder, by name: a Maildir's `new/` and `cur/` files (whose names start
/// with the delivery time), or the files of a plain folder. Files whose name starts with a dot
/// are not messages (nor is a Maildir's `tmp/`, where a message is still being written).
pub fn folder_files(dir: &Path) -> Vec<PathBuf> {
    folder_files_settled(dir, std::time::Duration::ZERO)
}

/// [`folder_files`], leaving out, in a plain folder, files changed less than `settle` ago: a
/// mail client may still be writing them (a Maildir's writers use `tmp/` for that).
pub fn folder_files_settled(dir: &Path, settle: std::time::Duration) -> Vec<PathBuf> {
    let maildir = dir.join("new").is_dir() || dir.join("cur").is_dir();
    let subs: Vec<PathBuf> = if maildir { vec![dir.join("new"), dir.join("cur")] } else { vec![dir.to_owned()] };
    let mut files: Vec<(String, PathBuf)> = subs
        .iter()
        .filter_map(|sub| std::fs::read_dir(sub).ok())
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| {
            maildir
                || settle.is_zero()
                || e.metadata().and_then(|m| m.modified()).is_ok_and(|t| t.elapsed().is_ok_and(|age| age >= settle))
        })
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (!name.starts_with('.')).then(|| (name, e.path()))
        })
        .collect();
    files.sort();
    files.into_iter().map(|(_, p)| p).collect()
}
