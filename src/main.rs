//! The `kgrec` binary: parse the command line, run it, turn errors into exit codes.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = kgrec::cli::Cli::parse();
    match kgrec::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let code = error.exit_code();
            let error = anyhow::Error::from(error);
            eprintln!("error: {error:#}");
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
    }
}
