//! Files with personal data: written to a temporary file in the target directory (mode 0600),
//! synced, and renamed into place only when complete, so an interrupted or failed write leaves
//! no partial file at the target. An existing file is replaced only when asked.
//!
//! A batch writes many files unsynced and puts them in place as a group (`place_synced`): one
//! sync of the file system for the whole group, then the renames and one sync of the directory.
//!
//! Temporary files are named `.dsr-<pid>-XXXXXX.part`. While one exists, SIGINT, SIGTERM and
//! SIGHUP remove it before the process exits (with 128 + the signal number); a file left by a
//! process that could not clean up (SIGKILL, power loss) is removed by the next write into the
//! same directory, once its process no longer runs.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once};

use anyhow::Context;

use crate::error::Error;

/// Temporary files of this process that a signal must not leave behind.
static IN_PROGRESS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
static HANDLER: Once = Once::new();
/// Set by a command that stops by itself at a signal ([`stop_flag`]): the first SIGINT or SIGTERM
/// then only asks it to stop, and the files it writes are finished or removed by its own code.
static GRACEFUL: AtomicBool = AtomicBool::new(false);

/// A flag raised by SIGINT or SIGTERM, for a command that runs until stopped (a `--watch` loop)
/// and ends cleanly by itself between two rounds, exit 0. Its first signal no longer ends the
/// process from the temporary files' handler; a second one does (removing unfinished files,
/// exit 130 or 143), for a round that hangs (a mail server that never answers): the handler is
/// installed now, not at the first temporary file.
pub fn stop_flag() -> anyhow::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    GRACEFUL.store(true, Ordering::SeqCst);
    install_cleanup();
    Ok(stop)
}

/// Start, once, a thread that removes unfinished files on a signal: at the first temporary file,
/// or when a command that runs until stopped takes its [`stop_flag`]. (Installed lazily:
/// commands that write no file keep the default signal behaviour.)
fn install_cleanup() {
    HANDLER.call_once(|| {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
            return;
        };
        std::thread::spawn(move || {
            let mut asked = false;
            for signal in signals.forever() {
                // A command that stops by itself is asked once (its flag is already raised).
                if GRACEFUL.load(Ordering::SeqCst) && !asked && signal != SIGHUP {
                    asked = true;
                    continue;
                }
                // Held until the exit: files being recorded (`Placed::keep`) are either recorded
                // before this and left, or removed here and never recorded.
                let files = IN_PROGRESS.lock().unwrap_or_else(|e| e.into_inner());
                for f in files.iter() {
                    let _ = std::fs::remove_file(f);
                }
                std::process::exit(128 + signal);
            }
        });
    });
}

/// A registered temporary file, unregistered when dropped (renamed into place by `persist`, or
/// deleted by `tempfile`).
pub struct Private {
    file: Option<tempfile::NamedTempFile>,
    path: PathBuf,
    /// Files beside it that a signal must remove too (a SQLite file's `-wal`, `-shm`, `-journal`).
    companions: Vec<PathBuf>,
}

impl Private {
    pub fn file(&mut self) -> &mut std::fs::File {
        self.file.as_mut().expect("a temporary file until persisted").as_file_mut()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Register the files named like this one plus each suffix (they share its `.dsr-<pid>-`
    /// prefix, so a sweep after SIGKILL finds them too) for removal on a signal and on drop.
    pub fn with_companions(mut self, suffixes: &[&str]) -> Private {
        let mut list = IN_PROGRESS.lock().unwrap_or_else(|e| e.into_inner());
        for suffix in suffixes {
            let mut side = self.path.as_os_str().to_owned();
            side.push(suffix);
            list.push(PathBuf::from(&side));
            self.companions.push(side.into());
        }
        self
    }

    /// Sync, rename into place and sync the directory, so that the file is on disk under its
    /// name before anything records it there; with `replace` false an existing file at `to` is
    /// an error.
    pub fn persist(mut self, to: &Path, replace: bool) -> anyhow::Result<()> {
        let mut file = self.file.take().expect("a temporary file until persisted");
        let cannot = || format!("cannot write {}", to.display());
        file.as_file_mut().flush().with_context(cannot)?;
        // The data (and the size it needs to be read back), not the file's times.
        file.as_file().sync_data().with_context(cannot)?;
        let done = if replace { file.persist(to).map(|_| ()) } else { file.persist_noclobber(to).map(|_| ()) };
        done.map_err(|e| match e.error.kind() {
            // Made there since it was looked for (another process, a link): as found before.
            std::io::ErrorKind::AlreadyExists if !replace => Error::OutputExists(to.to_owned()).into(),
            _ => anyhow::Error::new(e.error).context(cannot()),
        })?;
        // The rename is the directory's change: until the directory is synced, a power loss can
        // undo it while the record of the file (a letter sent, an archive prepared) stands.
        std::fs::File::open(beside(to)).and_then(|d| d.sync_all()).with_context(cannot)
    }

    /// Flush without syncing: the file is synced with the others of its group by `place_synced`.
    pub fn flush(&mut self) -> anyhow::Result<()> {
        let path = self.path.clone();
        self.file().flush().with_context(|| format!("cannot write {}", path.display()))
    }
}

/// A group of files put in place by [`place_synced`]: on disk under their names, and still removed
/// on a signal, on a failed record, or when dropped, until [`Placed::keep`] records them.
pub struct Placed {
    paths: Vec<PathBuf>,
    settled: bool,
}

impl Placed {
    /// Run `record` (the store's record of these files, one transaction); the files stay only if
    /// it succeeds. A signal cannot come in between: it waits until the record is committed and
    /// the files are settled, or it comes first and removes them, which are then never recorded.
    pub fn keep<T>(mut self, record: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
        let mut list = IN_PROGRESS.lock().unwrap_or_else(|e| e.into_inner());
        let recorded = record();
        if recorded.is_err() {
            for p in &self.paths {
                let _ = std::fs::remove_file(p);
            }
        }
        list.retain(|p| !self.paths.contains(p));
        self.settled = true;
        recorded
    }
}

impl Drop for Placed {
    fn drop(&mut self) {
        if !self.settled {
            let mut list = IN_PROGRESS.lock().unwrap_or_else(|e| e.into_inner());
            for p in &self.paths {
                let _ = std::fs::remove_file(p);
            }
            list.retain(|p| !self.paths.contains(p));
        }
    }
}

/// Put a group of finished temporary files of `dir` in place with one sync for all: the file
/// system's dirty data is written at once (`syncfs`), each file is renamed to its target
/// (replacing one that exists), and the directory is synced, so the renames are on disk too.
/// Nothing is under its target name before its content is on disk; a failure removes the group.
pub fn place_synced(dir: &Path, files: Vec<(Private, PathBuf)>) -> anyhow::Result<Placed> {
    let cannot = || format!("cannot write in {}", dir.display());
    let handle = std::fs::File::open(dir).with_context(cannot)?;
    rustix::fs::syncfs(&handle).map_err(std::io::Error::from).with_context(cannot)?;
    let mut placed = Placed { paths: Vec::with_capacity(files.len()), settled: false };
    for (mut private, to) in files {
        let file = private.file.take().expect("a temporary file until persisted");
        // Registered before the rename, so a signal removes it from the moment it is there.
        IN_PROGRESS.lock().unwrap_or_else(|e| e.into_inner()).push(to.clone());
        placed.paths.push(to);
        let to = placed.paths.last().expect("just pushed");
        file.persist(to).map_err(|e| anyhow::Error::new(e.error).context(cannot()))?;
    }
    handle.sync_all().with_context(cannot)?;
    Ok(placed)
}

impl Drop for Private {
    fn drop(&mut self) {
        let unfinished = self.file.is_some();
        drop(self.file.take());
        for side in &self.companions {
            // Left only by a file that was never persisted (a persisted store's connection is
            // closed by then, and SQLite removed them).
            if unfinished {
                let _ = std::fs::remove_file(side);
            }
        }
        if let Ok(mut l) = IN_PROGRESS.lock() {
            l.retain(|p| *p != self.path && !self.companions.contains(p));
        }
    }
}

/// Remove `.dsr-<pid>-*.part` (and `.msg-<pid>-*`) files in `dir` whose process is gone.
/// Returns how many were removed.
pub fn sweep_stale(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let rest = name.strip_prefix(".dsr-").or_else(|| name.strip_prefix(".msg-"));
        let Some(pid) = rest.and_then(|r| r.split_once('-')).and_then(|(pid, _)| pid.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id()
            && !Path::new("/proc").join(pid.to_string()).exists()
            && std::fs::remove_file(e.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

/// Directories already swept by this process (a batch writes thousands of files into one).
static SWEPT: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Create a private (0600) temporary file in `dir`, registered for removal on a signal.
pub fn private_temp(dir: &Path, prefix: &str, suffix: &str) -> anyhow::Result<Private> {
    if let Ok(mut swept) = SWEPT.lock() {
        if !swept.iter().any(|d| d == dir) {
            sweep_stale(dir);
            swept.push(dir.to_owned());
        }
    }
    install_cleanup();
    // Registered before it exists, so no moment is left in which a signal would miss it.
    let mut list = IN_PROGRESS.lock().map_err(|_| anyhow::anyhow!("internal: temp-file registry poisoned"))?;
    let file = tempfile::Builder::new()
        .prefix(&format!("{prefix}{}-", std::process::id()))
        .suffix(suffix)
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(|e| unwritable(dir, e))?;
    let path = file.path().to_owned();
    list.push(path.clone());
    drop(list);
    Ok(Private { file: Some(file), path, companions: Vec::new() })
}

/// A directory dsr cannot create a file in, said in words with what to do (the temporary file's
/// name is dsr's own business); the I/O error's kind stays for the exit code (15).
fn unwritable(dir: &Path, e: std::io::Error) -> anyhow::Error {
    use std::io::ErrorKind as K;
    let why = match e.kind() {
        K::PermissionDenied | K::ReadOnlyFilesystem => format!(
            "{}; give the account running dsr write access to it, or name another directory",
            if e.kind() == K::ReadOnlyFilesystem { "a read-only file system" } else { "no write access" }
        ),
        K::StorageFull => "the disk is full; make room, then run the command again".to_owned(),
        K::NotFound => "no such directory".to_owned(),
        _ => e.to_string().split(" at path ").next().unwrap_or_default().to_owned(),
    };
    anyhow::Error::new(std::io::Error::new(e.kind(), why)).context(format!("cannot create a file in {}", dir.display()))
}

/// Write a private file atomically. `fill` writes the content into the temporary file; nothing
/// appears at `path` unless it succeeds.
pub fn write_private<T>(
    path: &Path,
    force: bool,
    fill: impl FnOnce(&mut std::fs::File) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    if path.is_dir() {
        return Err(Error::invalid(
            "output file",
            format!("{} is a directory: name a file to write (in it, or elsewhere)", path.display()),
        )
        .into());
    }
    // `new/` names a directory, there or not: refused before anything is written.
    if std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()).ends_with(b"/") {
        return Err(Error::invalid(
            "output file",
            format!("{} ends with /, which names a directory: name a file to write", path.display()),
        )
        .into());
    }
    if let Some(store) = protected(path) {
        return Err(Error::invalid(
            "output file",
            format!(
                "{} would write over the store or company database {} (or its -wal, -shm or -journal file): name another file",
                path.display(),
                store.display()
            ),
        )
        .into());
    }
    // What is there, the link itself when it is one (a dangling link is there too).
    if let Ok(there) = std::fs::symlink_metadata(path) {
        if !force {
            return Err(Error::OutputExists(path.to_owned()).into());
        }
        let kind = there.file_type();
        if !kind.is_file() && !kind.is_symlink() {
            return Err(Error::invalid(
                "output file",
                format!(
                    "{} is not a regular file (a device, a pipe or a socket): --force replaces only a file; name one",
                    path.display()
                ),
            )
            .into());
        }
    }
    let mut temp = private_temp(beside(path), ".dsr-", ".part")?;
    let value = fill(temp.file()).map_err(|e| writing(e, || format!("cannot write {}", path.display())))?;
    temp.persist(path, force)?;
    Ok(value)
}

/// The files no output may be written over: the store and the company databases, registered
/// as they are opened.
static PROTECTED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Keep `--out`, `--archive` and the like from writing over this file (a store, a company
/// database) or its `-wal`, `-shm` and `-journal` files.
pub fn protect(path: &Path) {
    PROTECTED.lock().unwrap_or_else(|e| e.into_inner()).push(path.to_owned());
}

/// The protected file `target` would replace, if any: the target by its directory's real path
/// (a link there is replaced itself, never what it names), a protected file by its own real path
/// (a store opened through a link is the file the link names).
fn protected(target: &Path) -> Option<PathBuf> {
    let beside_real =
        |p: &Path| -> Option<PathBuf> { Some(std::fs::canonicalize(beside(p)).ok()?.join(p.file_name()?)) };
    let target = beside_real(target)?;
    let list = PROTECTED.lock().unwrap_or_else(|e| e.into_inner());
    list.iter()
        .find(|p| {
            std::fs::canonicalize(p).ok().or_else(|| beside_real(p)).is_some_and(|file| {
                // The erasure journal beside a store is what `erase --replay` needs after a restore.
                ["", "-wal", "-shm", "-journal", ".erasures"].iter().any(|suffix| {
                    let mut name = file.clone().into_os_string();
                    name.push(suffix);
                    name == target.as_os_str()
                })
            })
        })
        .cloned()
}

/// A failed write (an I/O error in `e`, such as a full disk) with the file or place it was for;
/// any other error (a database's) as it is.
pub fn writing(e: anyhow::Error, place: impl FnOnce() -> String) -> anyhow::Error {
    match e.chain().any(|c| crate::exit::io_kind_of(c).is_some()) {
        true => e.context(place()),
        false => e,
    }
}

/// The directory a file is in, which its relative paths start from: `.` for a bare file name.
pub fn beside(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// This machine's name (gethostname(2)), for what is bound to one machine; `localhost` if it
/// has none.
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let name = match rc {
        0 => String::from_utf8_lossy(buf.split(|&b| b == 0).next().unwrap_or_default()).into_owned(),
        _ => String::new(),
    };
    if name.is_empty() {
        "localhost".into()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Error, ErrorKind};
    use std::path::Path;

    #[test]
    fn a_directory_dsr_cannot_write_in_is_said_in_words_without_the_temporary_name() {
        let raw = Error::new(
            ErrorKind::ReadOnlyFilesystem,
            "Read-only file system (os error 30) at path \"/x/.dsr-1-AB.part\"",
        );
        let e = super::unwritable(Path::new("/x"), raw);
        let text = format!("{e:#}");
        assert_eq!(
            text,
            "cannot create a file in /x: a read-only file system; give the account running dsr write access to it, or name another directory"
        );
        assert_eq!(crate::exit::Code::of_error(&e), crate::exit::Code::Io);
        let e = super::unwritable(Path::new("/x"), Error::other("odd (os error 5) at path \"/x/.dsr-1-AB.part\""));
        assert_eq!(format!("{e:#}"), "cannot create a file in /x: odd (os error 5)");
    }
}
