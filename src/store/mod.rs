//! What the engine keeps in the data directory's sled database beside the graph index: the
//! interaction store ([`interactions`]: user and item dictionaries, interactions, item→entity
//! links), the model store ([`models`]: versioned trained models and the `current` pointer) and
//! the catalogue's retired items ([`retired`]: never recommended, read at query time).
//!
//! Both follow the graph index's rules (`kg/src/index.rs`): append-mostly data lives in a few large
//! chunked values rather than millions of tiny keys, every change that readers can see is one
//! atomic `sled::Batch` together with the counts (or pointer) that make it visible, and bytes that
//! do not decode are a [`StoreError::Corruption`], never a panic.

pub mod interactions;
mod model_file;
pub mod models;
pub mod retired;
pub mod tuning;

pub use interactions::{
    ImportReport, InteractionCounts, InteractionStore, Link, Record, Relink, RemoveReport,
    SharedIri, Snapshot, StoreState, StoredLink,
};
pub use models::{ModelHeader, ModelKind, ModelStore, StoredModel};
pub use retired::{RetiredChange, RetiredStore};
pub use tuning::{TrialRecord, TunedLearner, TuningStore};

/// Why the interaction or model store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The sled database failed.
    #[error("database: {}", kgrec_kg::integrity::sled_message(.0))]
    Sled(#[from] sled::Error),
    /// Bytes on disk that do not decode as what this version wrote.
    #[error("corrupted {what}: {detail}")]
    Corruption {
        /// Which value (e.g. `"user dictionary chunk 3"`).
        what: String,
        /// What is wrong with it.
        detail: String,
    },
    /// More distinct users or items than a dense `u32` id holds.
    #[error("more than {} distinct {what}", u32::MAX)]
    TooMany {
        /// `"users"` or `"items"`.
        what: &'static str,
    },
    /// A model file (`models/vN.arrays`) could not be read or written.
    #[error("{}: {source}", path.display())]
    ModelFile {
        /// The file.
        path: std::path::PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// A model file could not be written whole ([`kgrec_kg::fsutil`]).
    #[error(transparent)]
    Fs(#[from] kgrec_kg::fsutil::FsError),
    /// The file of a listed model version is missing: a `kgrec train` running meanwhile pruned
    /// the version after this command read the list (a reader of a directory it may not write
    /// reads the list from its copy of the database, and the files from the directory).
    #[error(
        "model v{version}: its file {} is gone: a `kgrec train` running meanwhile may have \
         pruned it; run the command again (if this repeats, the data directory lost the file)",
        path.display()
    )]
    ModelGone {
        /// The version.
        version: u64,
        /// Its file.
        path: std::path::PathBuf,
    },
    /// No model has been trained in this data directory.
    #[error("no trained model in this data directory (run `kgrec train`)")]
    NoModel,
    /// The store holds no interactions to train on.
    #[error("no interactions in this data directory (run `kgrec import interactions FILE`)")]
    NoInteractions,
}

impl StoreError {
    pub(crate) fn corruption(what: impl Into<String>, detail: impl std::fmt::Display) -> Self {
        Self::Corruption {
            what: what.into(),
            detail: detail.to_string(),
        }
    }
}

/// Results of this module.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The key of chunk `n` of the run under `prefix`: the prefix then `n` big-endian, so a prefix
/// scan returns chunks in order.
pub(crate) fn chunk_key(prefix: &[u8], n: usize) -> Vec<u8> {
    let mut key = prefix.to_vec();
    key.extend_from_slice(&(n as u32).to_be_bytes());
    key
}

/// A `u64` bookkeeping value (0 when absent).
pub(crate) fn read_u64(tree: &sled::Tree, key: &[u8]) -> Result<u64> {
    decode_u64(key, tree.get(key)?)
}

/// The values of `keys` as one consistent view: a sled transaction waits for any batch being
/// applied, so counts written together in one batch are read together (separate `get`s could
/// see a user count from before a batch and an interaction count from after it).
pub(crate) fn read_u64s<const N: usize>(tree: &sled::Tree, keys: [&[u8]; N]) -> Result<[u64; N]> {
    let values = tree
        .transaction(|tx| {
            let mut values: [Option<sled::IVec>; N] = std::array::from_fn(|_| None);
            for (value, key) in values.iter_mut().zip(keys) {
                *value = tx.get(key)?;
            }
            Ok(values)
        })
        .map_err(|e: sled::transaction::TransactionError<()>| match e {
            sled::transaction::TransactionError::Storage(e) => StoreError::from(e),
            sled::transaction::TransactionError::Abort(()) => {
                StoreError::corruption("counts", "the read was aborted")
            }
        })?;
    let mut out = [0u64; N];
    for ((slot, key), value) in out.iter_mut().zip(keys).zip(values) {
        *slot = decode_u64(key, value)?;
    }
    Ok(out)
}

fn decode_u64(key: &[u8], value: Option<sled::IVec>) -> Result<u64> {
    match value {
        None => Ok(0),
        Some(v) => {
            let bytes: [u8; 8] = v.as_ref().try_into().map_err(|_| {
                StoreError::corruption(
                    String::from_utf8_lossy(key),
                    format!("expected 8 bytes, found {}", v.len()),
                )
            })?;
            Ok(u64::from_le_bytes(bytes))
        }
    }
}

/// The first `count` entries of the string run under `prefix` (chunks of `per_chunk` entries in
/// `kgrec_kg::chunk`'s codec).
pub(crate) fn read_run(
    tree: &sled::Tree,
    prefix: &[u8],
    count: usize,
    per_chunk: usize,
    what: &str,
) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::with_capacity(count);
    for c in 0..count.div_ceil(per_chunk) {
        let name = || format!("{what} chunk {c}");
        let bytes = tree
            .get(chunk_key(prefix, c))?
            .ok_or_else(|| StoreError::corruption(name(), "missing"))?;
        let entries =
            kgrec_kg::chunk::entries(&bytes).map_err(|e| StoreError::corruption(name(), e))?;
        let want = (count - c * per_chunk).min(per_chunk);
        if entries.len() < want {
            return Err(StoreError::corruption(
                name(),
                format!("{} entries, {want} expected", entries.len()),
            ));
        }
        out.extend(entries[..want].iter().map(|e| e.to_vec()));
    }
    Ok(out)
}

/// Puts chunks `first_chunk..` of `entries` (the whole run) into `batch`.
pub(crate) fn write_run<T: AsRef<[u8]>>(
    batch: &mut sled::Batch,
    prefix: &[u8],
    entries: &[T],
    first_chunk: usize,
    per_chunk: usize,
    what: &str,
) -> Result<()> {
    for (c, chunk) in entries.chunks(per_chunk).enumerate().skip(first_chunk) {
        write_chunk(batch, prefix, c, chunk, what)?;
    }
    Ok(())
}

/// Puts chunk `c` of a run, whose entries are `chunk`, into `batch`.
pub(crate) fn write_chunk<T: AsRef<[u8]>>(
    batch: &mut sled::Batch,
    prefix: &[u8],
    c: usize,
    chunk: &[T],
    what: &str,
) -> Result<()> {
    let bytes = kgrec_kg::chunk::encode(chunk.iter().map(AsRef::as_ref))
        .map_err(|e| StoreError::corruption(format!("{what} chunk {c}"), e))?;
    batch.insert(chunk_key(prefix, c), bytes);
    Ok(())
}

/// Decodes UTF-8 read from the store.
pub(crate) fn utf8(bytes: Vec<u8>, what: &str) -> Result<String> {
    String::from_utf8(bytes).map_err(|_| StoreError::corruption(what, "not UTF-8"))
}

/// FNV-1a, 64 bits: a stable content hash (std's hasher may change between Rust releases, and
/// the fingerprint is stored with every model).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// Hashes a length-prefixed field, so that `("ab", "c")` and `("a", "bc")` differ.
    pub(crate) fn field(&mut self, bytes: &[u8]) {
        self.bytes(&(bytes.len() as u64).to_le_bytes());
        self.bytes(bytes);
    }

    pub(crate) fn finish(self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn runs_round_trip_across_chunks_and_report_missing_chunks() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("t").unwrap();
        let entries: Vec<Vec<u8>> = (0..11).map(|i| format!("e{i}").into_bytes()).collect();
        let mut batch = sled::Batch::default();
        write_run(&mut batch, b"P", &entries, 0, 4, "test").unwrap();
        tree.apply_batch(batch).unwrap();
        assert_eq!(read_run(&tree, b"P", 11, 4, "test").unwrap(), entries);
        assert_eq!(read_run(&tree, b"P", 5, 4, "test").unwrap(), entries[..5]);
        let err = read_run(&tree, b"P", 13, 4, "test").unwrap_err();
        assert!(matches!(err, StoreError::Corruption { .. }), "{err}");
        tree.insert(chunk_key(b"P", 1), &b"\x09\x00"[..]).unwrap();
        let err = read_run(&tree, b"P", 11, 4, "test").unwrap_err();
        assert!(matches!(err, StoreError::Corruption { .. }), "{err}");
    }

    #[test]
    fn fnv_separates_fields() {
        let hash = |parts: &[&str]| {
            let mut h = Fnv::default();
            parts.iter().for_each(|p| h.field(p.as_bytes()));
            h.finish()
        };
        assert_ne!(hash(&["ab", "c"]), hash(&["a", "bc"]));
        assert_eq!(hash(&["ab", "c"]), hash(&["ab", "c"]));
    }
}
