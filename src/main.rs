//! The `kgrec` binary: parse the command line, run it, turn errors into exit codes. The
//! commands themselves live in `cli/`; the engine in the library.

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::args::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let code = error.exit_code();
            let error = anyhow::Error::from(error);
            eprintln!("error: {error:#}");
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
    }
}
