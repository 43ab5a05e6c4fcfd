//! The `kgrec` binary: parse the command line, run it, turn errors into exit codes. The
//! commands themselves live in `cli/`, the HTTP service (`kgrec serve`) in `server/`; the
//! engine in the library.

mod cli;
mod server;

use std::process::ExitCode;

fn main() -> ExitCode {
    // A sled write stuck on a disk another program filled ends the process with the full-disk
    // error rather than hanging it (`kgrec_kg::watchdog`).
    kgrec_kg::watchdog::arm();
    let args = cli::args::parse(cli::args::with_bare_wait(std::env::args_os()));
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let code = error.exit_code();
            let hint = match &error {
                kgrec::Error::InUse { pid, waited, .. } => Some(cli::in_use_hint(pid, *waited)),
                _ => None,
            };
            eprintln!("error: {}", cli::error_text(&error));
            if let Some(hint) = hint {
                eprintln!("{hint}");
            }
            if let Some(note) = cli::data_from_env_note(&error) {
                eprintln!("{note}");
            }
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
    }
}
