//! Interaction files: parsing only. This module owns reading the contract's interaction formats
//! (`tsv`, `csv`, `movielens`, `recbole`, `kgat`) and the item→IRI link file into raw rows whose
//! user and item ids are the file's own strings, plus the two row-level clean-ups the import offers
//! (`--min-rating` and duplicate merging). Dense ids and matrices live in [`crate::cf`].
//!
//! Any input may be `-` (standard input) and gzip-compressed (recognised by its magic bytes). A
//! format not given is guessed ([`guess`]) and the guess is reported; headed files find their
//! columns by accepted names or by `--user-col`-like flags ([`columns`]) and report the columns
//! they ignore. What a reader noticed comes back as [`RawInteractions::notes`]; nothing prints.

mod clean;
pub mod columns;
mod datetime;
mod error;
mod format;
pub mod guess;
mod link;
pub mod parse;
pub mod source;

pub use clean::{filter_min_rating, merge_duplicates};
pub use columns::{ColumnMap, ColumnRef, Delimiter};
pub use error::ParseError;
pub use format::{Format, UnknownFormatName};
pub use guess::{Guess, GuessBasis};
pub use link::{ItemLink, parse_link_file, parse_link_reader, strip_angle_brackets};
pub use parse::{ReadOptions, parse_file, parse_reader, read_file, read_reader};

use std::path::PathBuf;

/// One interaction as the file states it.
#[derive(Debug, Clone, PartialEq)]
pub struct RawInteraction {
    /// The external user id, exactly as written.
    pub user: String,
    /// The external item id, exactly as written.
    pub item: String,
    /// The explicit rating, when the format has one.
    pub rating: Option<f32>,
    /// Seconds since the epoch, when the format has one.
    pub timestamp: Option<i64>,
    /// How many rows of the file this row stands for (1 until [`merge_duplicates`] folds repeats).
    pub count: u32,
}

/// The rows of one interaction file.
#[derive(Debug, Clone, PartialEq)]
pub struct RawInteractions {
    /// The source file, for messages.
    pub file: PathBuf,
    /// The format it was read as.
    pub format: Format,
    /// The rows, in file order.
    pub rows: Vec<RawInteraction>,
    /// How the format was guessed, when `--format` did not give it.
    pub guess: Option<Guess>,
    /// The stream was gzip-compressed.
    pub gzip: bool,
    /// ... and its name did not end in `.gz`.
    pub gzip_unannounced: bool,
    /// The header's line, for headed formats.
    pub header_line: Option<usize>,
    /// The delimiter, when it was detected from the header rather than the format's own.
    pub delimiter: Option<Delimiter>,
    /// Header columns nothing reads (names, or `N (unnamed)`).
    pub ignored_columns: Vec<String>,
}

impl RawInteractions {
    /// What the reader chose or noticed without being told, one sentence each, each starting
    /// with the file's name: the guessed format, gzip found by its bytes, a detected delimiter,
    /// ignored columns. The CLI prints them as notes.
    pub fn notes(&self) -> Vec<String> {
        let file = self.file.display();
        let at = match self.header_line {
            Some(line) => format!("{file}:{line}"),
            None => file.to_string(),
        };
        let mut notes = Vec::new();
        if let Some(guess) = self.guess.as_ref().filter(|g| g.is_worth_a_note()) {
            notes.push(format!("{file}: {guess}"));
        }
        if self.gzip_unannounced {
            notes.push(format!(
                "{file}: gzip-compressed (recognised by its first bytes)"
            ));
        }
        if let Some(d) = self.delimiter {
            let own = match self.format {
                Format::Csv => Delimiter::COMMA,
                _ => Delimiter::TAB,
            };
            notes.push(format!(
                "{at}: the header is split by {d}, not by {own}: the file is read with {d} \
                 (--delimiter overrides)"
            ));
        }
        match self.ignored_columns.as_slice() {
            [] => {}
            [one] => notes.push(format!("{at}: column {one} ignored")),
            many => notes.push(format!("{at}: columns {} ignored", many.join(", "))),
        }
        notes
    }
}

#[cfg(test)]
mod tests;
