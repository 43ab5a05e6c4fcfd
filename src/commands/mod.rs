//! The commands behind the CLI: each opens the data directory, calls the library, prints.
//!
//! Results go to stdout; progress bars go to stderr and only when stdout is a terminal, so that
//! scripts and pipes see plain output.

mod cf;
mod explain;
mod kg;
mod kge;

pub use cf::{eval, import_interactions, recommend, train};
pub use explain::explain;
pub use kg::{Output, Stats, collect_stats, demo, import_kg, sparql, stats};
pub use kge::{export_embeddings, kge_eval, kge_train};

use crate::error::{Error, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};

/// A progress bar on stderr when both streams are terminals and `--quiet` is not given.
fn progress_bar(quiet: bool, length: u64, template: &str) -> ProgressBar {
    if quiet || !std::io::stdout().is_terminal() || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(length), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Writes command output to stdout; a reader that went away (`kgrec ... | head`) is not an error.
fn emit(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        result => result.map_err(|e| Error::io("<stdout>", e)),
    }
}
