//! The `dsr` binary: parse the command line, run it, turn the outcome into an exit code.

use dsr::cli::Parsed;

// mimalloc: a batch export's workers allocate and free many small rows and the compressor's
// large buffers on every archive; glibc's allocator spent a fifth of the batch's time on that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// SQLite allocates through the same allocator: preparing a statement makes and frees hundreds
// of small parse nodes, and glibc's malloc and free were a sixth of a one-person command's
// instructions (docs/benchmarks.md, session 38).
mod sqlite_alloc {
    use std::ffi::{c_int, c_void};

    use libmimalloc_sys as mi;
    use rusqlite::ffi;

    unsafe extern "C" fn malloc(n: c_int) -> *mut c_void {
        // SAFETY: SQLite never asks for a negative size (it checks before calling).
        unsafe { mi::mi_malloc(n as usize) }
    }
    unsafe extern "C" fn free(p: *mut c_void) {
        // SAFETY: SQLite frees only what `malloc` or `realloc` above returned.
        unsafe { mi::mi_free(p) }
    }
    unsafe extern "C" fn realloc(p: *mut c_void, n: c_int) -> *mut c_void {
        // SAFETY: as for `malloc` and `free`.
        unsafe { mi::mi_realloc(p, n as usize) }
    }
    unsafe extern "C" fn size(p: *mut c_void) -> c_int {
        // SAFETY: `p` came from `malloc` or `realloc` above.
        unsafe { mi::mi_usable_size(p).min(c_int::MAX as usize) as c_int }
    }
    unsafe extern "C" fn roundup(n: c_int) -> c_int {
        // SAFETY: a pure function of its argument.
        unsafe { mi::mi_good_size(n as usize).min(c_int::MAX as usize) as c_int }
    }
    unsafe extern "C" fn init(_: *mut c_void) -> c_int {
        ffi::SQLITE_OK
    }
    unsafe extern "C" fn shutdown(_: *mut c_void) {}

    /// Hands SQLite's memory to mimalloc. Called first thing, before any connection opens
    /// (SQLite takes a new allocator only before it initialises); if it is refused, SQLite keeps
    /// its own and nothing else changes.
    pub fn install() {
        let methods = ffi::sqlite3_mem_methods {
            xMalloc: Some(malloc),
            xFree: Some(free),
            xRealloc: Some(realloc),
            xSize: Some(size),
            xRoundup: Some(roundup),
            xInit: Some(init),
            xShutdown: Some(shutdown),
            pAppData: std::ptr::null_mut(),
        };
        // SAFETY: SQLITE_CONFIG_MALLOC takes a pointer to a sqlite3_mem_methods, which SQLite
        // copies; no connection is open yet in this process.
        unsafe {
            ffi::sqlite3_config(ffi::SQLITE_CONFIG_MALLOC, &methods as *const ffi::sqlite3_mem_methods);
        }
    }
}

fn main() {
    sqlite_alloc::install();
    let code: u8 = match dsr::cli::parse() {
        Ok(Parsed::Run(cli)) => {
            let (json, store) = (cli.global.json, cli.global.db.clone());
            match dsr::run(*cli) {
                Ok(code) => code as u8,
                Err(err) => dsr::output::failure(&err, json, Some(&store)) as u8,
            }
        }
        Ok(Parsed::Shown) => 0,
        Err(err) => dsr::output::failure(&err, dsr::cli::json_asked(), None) as u8,
    };
    exit(code)
}

/// Ends the process once every destructor of dsr's has run (the store closed and its log folded
/// back, temporary files removed). What the C library's exit handlers would still do is mimalloc
/// handing each freed page back to the kernel, one `madvise` call at a time: about 70 calls after
/// an erasure, for memory the end of the process frees at once (an erasure took about 8% less
/// time without them; docs/benchmarks.md, session 38).
fn exit(code: u8) -> ! {
    use std::io::Write;
    // What Rust's runtime does when main returns: the buffered output goes out first.
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: _exit(2) ends the process; no destructor of dsr's is pending.
    unsafe { libc::_exit(code.into()) }
}
