//! Errors of the engine crate, with the exit code each one deserves.

use std::path::PathBuf;

/// Everything that can go wrong above the graph layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Kg(#[from] kgrec_kg::KgError),
    /// Another process holds the data directory (still, after `waited`, when the caller waited).
    #[error(
        "data directory {} is in use by process {pid}{}",
        dir.display(),
        waited.map(|w| format!(" (still, after waiting {} s for it)", w.as_secs_f64().round())).unwrap_or_default()
    )]
    InUse {
        dir: PathBuf,
        pid: String,
        waited: Option<std::time::Duration>,
    },
    /// The directory is missing or is not a kgrec data directory.
    #[error("{}: {message}", dir.display())]
    DataDir { dir: PathBuf, message: String },
    /// A data directory written by another format version or backend.
    #[error("{}: {message}", dir.display())]
    Version { dir: PathBuf, message: String },
    /// Bad arguments or input that is not a file of triples.
    #[error("{0}")]
    BadInput(String),
    /// The request names an item the data directory does not hold.
    #[error("unknown item {item:?}: the data directory has no such item{hint}")]
    UnknownItem {
        item: String,
        /// `; did you mean "0123"? ...` when a stored id looks like it, else empty.
        hint: String,
    },
    /// Rows without their kind of event (a file without an event column, posted rows without
    /// an `"event"`) into a data directory whose strengths are event weights: stored unweighed,
    /// they would weigh as much as the top kind under `train --confidence rating`. Nothing is
    /// written.
    #[error("{}", no_events_text(input, stored, *posted))]
    NoEvents {
        /// The file (or `POST /v1/interactions: interaction N`).
        input: String,
        /// The data directory's stored event weights.
        stored: crate::interactions::EventWeights,
        /// The rows were posted (`POST /v1/interactions`), not imported from a file.
        posted: bool,
    },
    /// Models are stored, but none of them can recommend (graph embeddings only).
    #[error("{0}")]
    NoRecommender(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("index database: {}", kgrec_kg::integrity::sled_message(.0))]
    Sled(#[from] sled::Error),
    /// An interaction or link file that does not parse (names file, line and field).
    #[error(transparent)]
    Interactions(#[from] crate::interactions::ParseError),
    /// The interaction or model store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A model could not be fitted (bad hyper-parameters, nothing to learn from).
    #[error(transparent)]
    Fit(#[from] crate::cf::FitError),
    /// An explanation could not be given (unknown user or item, bad path limits, store).
    #[error(transparent)]
    Explain(#[from] crate::explain::ExplainError),
    /// A graph-fact filter that does not parse or names what the graph does not hold.
    #[error(transparent)]
    Filter(#[from] kgrec_kg::FilterError),
    /// Knowledge-graph embeddings: a benchmark folder or an export that does not read, a bad
    /// hyper-parameter, a failed fit.
    #[error(transparent)]
    Kge(#[from] kgrec_kg::embed::RunError),
    /// Fetching a graph from a SPARQL endpoint stopped (what was fetched stays in its
    /// checkpoint).
    #[error(transparent)]
    Endpoint(#[from] kgrec_kg::endpoint::EndpointError),
    /// The disk holding the data directory has too little free space for a write: refused
    /// before anything is written (sled, the index database, can hang or tear a record when a
    /// write runs out of space).
    #[error(
        "the disk holding {} is full: {} free, about {} needed for this write (free some space \
         and run it again; nothing was written)",
        dir.display(),
        indicatif::HumanBytes(*available),
        indicatif::HumanBytes(*needed)
    )]
    DiskFull {
        dir: PathBuf,
        available: u64,
        needed: u64,
    },
    /// A training was cancelled before its version was written; nothing changed.
    #[error("cancelled: nothing was written")]
    Cancelled,
    /// A broken internal invariant (a bug, not bad input or bad data on disk).
    #[error("internal error: {what}")]
    Internal { what: String },
    /// Bytes on disk that do not decode as what this version wrote.
    #[error("corrupted data directory: {what}")]
    Corruption { what: String },
    /// A write committed together with concurrent ones (one batch, one flush) failed for all
    /// of them; each caller gets the same error.
    #[error(
        "{0} (a group commit of concurrent interaction writes failed; none of them is acknowledged)"
    )]
    Shared(std::sync::Arc<Error>),
}

/// The message of [`Error::NoEvents`]: what lacks the kind, the stored weights, and how to
/// proceed (a file: add its event column; posted rows: send each one's `"event"`).
fn no_events_text(input: &str, stored: &crate::interactions::EventWeights, posted: bool) -> String {
    let (lacks, remedy) = match posted {
        true => (
            "no \"event\" given",
            format!(
                "send each interaction's \"event\" (one of {}); a new kind is added by an \
                 import with --event-weights {stored},KIND=W",
                stored.known()
            ),
        ),
        false => (
            "no column holds each row's kind of event",
            format!(
                "add that column (named {}, or any name with --event-col NAME --event-weights \
                 {stored}; e.g. a column event holding view on every row of a file of views), \
                 or import the file into a new data directory (--data NEW)",
                crate::interactions::columns::EVENT.aliases.join(", ")
            ),
        ),
    };
    format!(
        "{input}: {lacks}, but this data directory's strengths are event weights ({}): a row \
         without its kind would be stored unweighed, which `train --confidence rating` weighs as \
         much as the top kind; nothing was written. To proceed, {remedy}",
        stored.by_weight()
    )
}

impl Error {
    /// 2 for the user's input or usage, 1 for any other failure (PRODUCT.md).
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Shared(e) => e.exit_code(),
            Self::Kg(e) if e.is_bad_input() => 2,
            Self::Explain(e) if e.is_bad_input() => 2,
            Self::Filter(e) if e.is_bad_input() => 2,
            Self::Kge(e) if e.is_bad_input() => 2,
            Self::Endpoint(
                kgrec_kg::endpoint::EndpointError::BadRequest(_)
                | kgrec_kg::endpoint::EndpointError::OtherCheckpoint { .. },
            ) => 2,
            Self::Fit(crate::cf::FitError::Internal(_)) => 1,
            Self::BadInput(_)
            | Self::NoEvents { .. }
            | Self::UnknownItem { .. }
            | Self::NoRecommender(_)
            | Self::DataDir { .. }
            | Self::Interactions(_)
            | Self::Fit(_) => 2,
            Self::Store(
                crate::store::StoreError::NoModel | crate::store::StoreError::NoInteractions,
            ) => 2,
            _ => 1,
        }
    }

    /// The request names a user or an item the data directory does not hold (an adapter's
    /// "not found"; for the command line, bad input like any other).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Self::UnknownItem { .. }
                | Self::Explain(
                    crate::explain::ExplainError::UnknownUser { .. }
                        | crate::explain::ExplainError::UnknownItem { .. }
                )
        )
    }

    /// Nothing can be served yet: no model is stored, or only graph embeddings (an adapter's
    /// "unavailable": it goes away with a training, not with another request).
    pub fn is_no_model(&self) -> bool {
        matches!(
            self,
            Self::NoRecommender(_) | Self::Store(crate::store::StoreError::NoModel)
        )
    }

    /// The disk holding the data directory is too full for the write ([`Error::DiskFull`]).
    pub fn is_disk_full(&self) -> bool {
        match self {
            Self::Shared(e) => e.is_disk_full(),
            other => matches!(other, Self::DiskFull { .. }),
        }
    }

    /// An I/O failure on `path`.
    /// Whether the process may not write where it had to (a read-only mount, permissions): the
    /// environment's doing.
    pub fn is_unwritable(&self) -> bool {
        matches!(
            self,
            Self::Io { source, .. } if matches!(
                source.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
            )
        )
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
