//! The `dsr` binary: parse the command line, run it, turn the outcome into an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = dsr::cli::parse();
    match dsr::run(cli) {
        Ok(code) => code.into(),
        Err(err) => {
            let code = dsr::exit::Code::of_error(&err);
            if code != dsr::exit::Code::BrokenPipe {
                eprintln!("dsr: {}", dsr::output::sanitize::line(&format!("{err:#}")));
            }
            code.into()
        }
    }
}
