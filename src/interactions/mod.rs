//! Interaction files: parsing only. This module owns reading the contract's interaction formats
//! (`tsv`, `csv`, `movielens`, `recbole`, `kgat`) and the item→IRI link file into raw rows whose
//! user and item ids are the file's own strings, plus the two row-level clean-ups the import offers
//! (`--min-rating` and duplicate merging). Dense ids and matrices live in [`crate::cf`].

mod clean;
mod error;
mod format;
mod link;
pub mod parse;

pub use clean::{filter_min_rating, merge_duplicates};
pub use error::ParseError;
pub use format::{Format, UnknownFormatName};
pub use link::{ItemLink, parse_link_file, parse_link_reader};
pub use parse::{parse_file, parse_reader};

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
}

#[cfg(test)]
mod tests;
