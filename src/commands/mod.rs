//! The commands behind the CLI: each opens the data directory, calls the library, prints.
//!
//! Results go to stdout; progress bars go to stderr and only when stdout is a terminal, so that
//! scripts and pipes see plain output.

mod cf;
mod kg;

pub use cf::{eval, import_interactions, recommend, train};
pub use kg::{Output, Stats, collect_stats, demo, import_kg, sparql, stats};
