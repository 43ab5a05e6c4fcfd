//! The one error type of interaction and link parsing: every variant names the file, and the line
//! and column (1-based field number) where there is one, so the CLI can print `file:line:col`.

use std::path::PathBuf;

/// Why an interaction or link file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The file could not be opened or read.
    #[error("{}: cannot read: {source}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The format was not given and the extension does not name one.
    #[error(
        "{}: cannot guess the interaction format from the file name; pass --format (tsv, csv, movielens, recbole, kgat)",
        file.display()
    )]
    UnknownFormat {
        /// The file.
        file: PathBuf,
    },
    /// The file holds nothing but blank lines.
    #[error("{}: the file is empty", file.display())]
    Empty {
        /// The file.
        file: PathBuf,
    },
    /// The file holds a header and no data row.
    #[error("{}:{line}: the file has a header but no data rows", file.display())]
    HeaderOnly {
        /// The file.
        file: PathBuf,
        /// The header's line.
        line: usize,
    },
    /// The file has lines but not one interaction (e.g. KGAT lines naming a user and no item).
    #[error("{}: no interaction found in {lines} lines", file.display())]
    NoInteractions {
        /// The file.
        file: PathBuf,
        /// How many lines were read.
        lines: usize,
    },
    /// The header does not name a required column.
    #[error("{}:{line}: the header has no `{column}` column (found: {found})", file.display())]
    MissingColumn {
        /// The file.
        file: PathBuf,
        /// The header's line.
        line: usize,
        /// The required column.
        column: &'static str,
        /// The header's fields, comma-separated.
        found: String,
    },
    /// A data line has fewer fields than the column it needs.
    #[error(
        "{}:{line}:{column}: missing field `{field}` (the line has {found} fields)",
        file.display()
    )]
    MissingField {
        /// The file.
        file: PathBuf,
        /// The line.
        line: usize,
        /// The 1-based field number that is missing.
        column: usize,
        /// The field's name.
        field: &'static str,
        /// How many fields the line has.
        found: usize,
    },
    /// A required field is empty.
    #[error("{}:{line}:{column}: empty `{field}`", file.display())]
    EmptyField {
        /// The file.
        file: PathBuf,
        /// The line.
        line: usize,
        /// The 1-based field number.
        column: usize,
        /// The field's name.
        field: &'static str,
    },
    /// A numeric field does not hold a (finite) number.
    #[error("{}:{line}:{column}: `{field}` is not a number: {value:?}", file.display())]
    NotANumber {
        /// The file.
        file: PathBuf,
        /// The line.
        line: usize,
        /// The 1-based field number.
        column: usize,
        /// The field's name.
        field: &'static str,
        /// The text found.
        value: String,
    },
    /// Any other defect of one line (bad UTF-8, broken CSV quoting, a conflicting link).
    #[error("{}:{line}: {message}", file.display())]
    Malformed {
        /// The file.
        file: PathBuf,
        /// The line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl ParseError {
    /// The line the error points at, when there is one (for exit-code 2 messages and tests).
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::HeaderOnly { line, .. }
            | Self::MissingColumn { line, .. }
            | Self::MissingField { line, .. }
            | Self::EmptyField { line, .. }
            | Self::NotANumber { line, .. }
            | Self::Malformed { line, .. } => Some(*line),
            Self::Io { .. }
            | Self::UnknownFormat { .. }
            | Self::Empty { .. }
            | Self::NoInteractions { .. } => None,
        }
    }
}
