//! Errors of the graph layer.
//!
//! Bad input (a file that does not parse, a missing file, an unknown format) is kept apart from
//! failures of the machine (I/O, storage) and from bad bytes on disk (`Corruption`), so that the
//! binary can map them to exit codes 2 and 1 and the user knows whose fault it was.

use std::path::PathBuf;

/// A location inside an input file. Lines and columns are 1-based, as editors show them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    pub line: u64,
    pub column: u64,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Everything that can go wrong in the graph layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KgError {
    /// A syntax error inside an input file.
    #[error("{}:{location}: {message}", file.display())]
    Syntax {
        file: PathBuf,
        location: Location,
        message: String,
    },
    /// A syntax error whose position the parser could not tell (RDF/XML).
    #[error("{}: {message}", file.display())]
    SyntaxWithoutLocation { file: PathBuf, message: String },
    /// An input that cannot be read as asked: missing, a directory, empty, unknown format, not gzip.
    #[error("{}: {message}", file.display())]
    BadInput { file: PathBuf, message: String },
    /// A bad argument that is not a file (a base IRI, a format name).
    #[error("{0}")]
    BadArgument(String),
    /// A SPARQL query that does not parse, or that the command refuses (an update).
    #[error("{0}")]
    BadQuery(String),
    /// An I/O failure of the machine while reading or writing `path`.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file that could not be written whole (see [`crate::fsutil`]).
    #[error(transparent)]
    Write(#[from] crate::fsutil::FsError),
    /// A failure of oxigraph's storage.
    #[error("graph store: {0}")]
    Store(#[from] oxigraph::store::StorageError),
    /// A failure while evaluating a SPARQL query.
    #[error("SPARQL evaluation: {0}")]
    Evaluation(#[from] oxigraph::sparql::QueryEvaluationError),
    /// A failure of the sled database.
    #[error("index database: {}", crate::integrity::sled_message(.0))]
    Sled(#[from] sled::Error),
    /// Bytes on disk that do not decode as what this version wrote.
    #[error("corrupted data directory: {what}")]
    Corruption { what: String },
}

impl KgError {
    /// Whether the error is the user's input (exit code 2) rather than a failure (exit code 1).
    pub fn is_bad_input(&self) -> bool {
        match self {
            Self::Syntax { .. }
            | Self::SyntaxWithoutLocation { .. }
            | Self::BadInput { .. }
            | Self::BadArgument(_)
            | Self::BadQuery(_) => true,
            Self::Write(e) => e.is_bad_input(),
            // What the query asked for that no store could do (a SERVICE, an unknown
            // function), not a failure of the store.
            Self::Evaluation(e) => {
                use oxigraph::sparql::QueryEvaluationError as E;
                matches!(
                    e,
                    E::Service(_)
                        | E::UnsupportedService(_)
                        | E::UnboundService
                        | E::InvalidServiceName(_)
                        | E::UnsupportedCustomFunction(_)
                        | E::UnsupportedCustomFunctionArity { .. }
                        | E::NotExistingSubstitutedVariable(_)
                )
            }
            _ => false,
        }
    }

    /// A syntax error with its location (`None` when the parser told none) and message passed
    /// through `f`, its file kept: `f` may rewrite the message, or place the error (on the line
    /// of a parser that was given one line alone). Any other error unchanged.
    pub(crate) fn map_syntax(
        self,
        f: impl FnOnce(Option<Location>, String) -> (Option<Location>, String),
    ) -> Self {
        let (file, location, message) = match self {
            Self::Syntax {
                file,
                location,
                message,
            } => (file, Some(location), message),
            Self::SyntaxWithoutLocation { file, message } => (file, None, message),
            other => return other,
        };
        match f(location, message) {
            (Some(location), message) => Self::Syntax {
                file,
                location,
                message,
            },
            (None, message) => Self::SyntaxWithoutLocation { file, message },
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn bad_input(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::BadInput {
            file: file.into(),
            message: message.into(),
        }
    }

    pub(crate) fn corruption(what: impl Into<String>) -> Self {
        Self::Corruption { what: what.into() }
    }
}

pub type Result<T, E = KgError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_syntax_rewrites_and_places_syntax_errors_only() {
        let placed = |e: KgError| {
            e.map_syntax(|at, message| {
                let column = at.map_or(1, |l| l.column);
                (Some(Location { line: 7, column }), format!("{message}!"))
            })
            .to_string()
        };
        let located = KgError::Syntax {
            file: "f.nt".into(),
            location: Location { line: 1, column: 4 },
            message: "bad".to_owned(),
        };
        assert_eq!(placed(located), "f.nt:7:4: bad!");
        let unlocated = KgError::SyntaxWithoutLocation {
            file: "f.rdf".into(),
            message: "bad".to_owned(),
        };
        assert_eq!(placed(unlocated), "f.rdf:7:1: bad!");
        // Kept without a location when `f` gives none; other errors untouched.
        let kept = KgError::SyntaxWithoutLocation {
            file: "f.rdf".into(),
            message: "bad".to_owned(),
        }
        .map_syntax(|at, message| (at, format!("{message}; why")));
        assert!(
            matches!(&kept, KgError::SyntaxWithoutLocation { .. }),
            "{kept:?}"
        );
        assert_eq!(kept.to_string(), "f.rdf: bad; why");
        assert_eq!(placed(KgError::BadArgument("x".to_owned())), "x");
    }
}
