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

    /// A syntax error with its message passed through `f`, its file and location kept; any
    /// other error unchanged.
    pub(crate) fn with_message(self, f: impl FnOnce(String) -> String) -> Self {
        match self {
            Self::Syntax {
                file,
                location,
                message,
            } => Self::Syntax {
                file,
                location,
                message: f(message),
            },
            Self::SyntaxWithoutLocation { file, message } => Self::SyntaxWithoutLocation {
                file,
                message: f(message),
            },
            other => other,
        }
    }

    /// A syntax error placed on `line` of its file (its column kept, or column 1 when the
    /// parser told none): for a parser that was given one line alone. Other errors unchanged.
    pub(crate) fn at_line(self, line: u64) -> Self {
        match self {
            Self::Syntax {
                file,
                location,
                message,
            } => Self::Syntax {
                file,
                location: Location {
                    line,
                    column: location.column,
                },
                message,
            },
            Self::SyntaxWithoutLocation { file, message } => Self::Syntax {
                file,
                location: Location { line, column: 1 },
                message,
            },
            other => other,
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
