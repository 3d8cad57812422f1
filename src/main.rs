//! The `dsr` binary: parse the command line, run it, turn the outcome into an exit code.

use std::process::ExitCode;

use dsr::cli::Parsed;

// mimalloc: a batch export's workers allocate and free many small rows and the compressor's
// large buffers on every archive; glibc's allocator spent a fifth of the batch's time on that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let (json, result) = match dsr::cli::parse() {
        Ok(Parsed::Run(cli)) => (cli.global.json, dsr::run(*cli)),
        Ok(Parsed::Shown) => return ExitCode::SUCCESS,
        Err(err) => (dsr::cli::json_asked(), Err(err)),
    };
    match result {
        Ok(code) => code.into(),
        Err(err) => dsr::output::failure(&err, json).into(),
    }
}
