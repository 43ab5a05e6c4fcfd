//! The model store: trained models as numbered versions in the sled tree `models`, a `current`
//! pointer that readers load, and pruning of old versions. Since model files, a version's
//! arrays live in `models/vN.arrays` beside `sled/` ([`super::model_file`]), so that pruning
//! gives their disk space back (sled kept large values as files it never removed in a
//! short-lived process); versions written before keep theirs in sled and still load.
//!
//! Key layout:
//! - `v` version (u64 big-endian) `h` → the [`ModelHeader`] (bincode 2, serde), in one of three
//!   forms told apart by the first byte:
//!   - `0xFE` (model files): the CRC-32 of everything after it (u32 little-endian), the file's
//!     length (u64 little-endian) and its header's CRC-32 (u32 little-endian), then the bincode
//!     bytes; the arrays are in the file;
//!   - `0xFF` (checksums, before model files): the CRC-32 of the bincode bytes, then them;
//!   - anything else (before checksums): the bincode bytes alone.
//!
//!   Neither `0xFE` nor `0xFF` is the first byte of a bincode 2 header: its first field is a
//!   `u64` varint, whose first byte is at most `0xFD`.
//! - before model files, `v` version `a` array (u8) chunk (u32 big-endian) → raw little-endian
//!   `f32`s of one of the model's arrays (user factors, item factors, item biases, popularity
//!   counts) then, since checksums, their CRC-32 (u32 little-endian): a chunk of exactly the
//!   floats' length was written before and is read unchecked
//! - `v` version `i` → the length in bytes of the version's approximate top-K index (u64
//!   little-endian), when it has one; `v` version `x` chunk (u32 big-endian) → its bytes
//!   (`crate::cf::ann`, which checks their digest)
//! - `m:current` → the version readers load (u64 little-endian)
//! - `m:versions` → the complete versions, ascending (u64 little-endian each)
//!
//! Writing a version writes its file whole (fsynced and renamed into place) and then its header
//! (invisible: no reader looks at a version that `versions` does not list), flushes, and only
//! then switches `current` and `versions` in one atomic batch; old versions beyond `--keep` are
//! removed afterwards (their sled keys in one batch, flushed, then their files), together with
//! any version a killed writer left half-written (sled keys, files, temporary files). A crash
//! at any moment therefore leaves the previous complete model or the new complete one.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use super::model_file::{self, FileSeal};
use super::{Result, StoreError, read_u64};

const TREE: &str = "models";
const CURRENT: &[u8] = b"m:current";
const VERSIONS: &[u8] = b"m:versions";
const VERSION: u8 = b'v';
const HEADER: u8 = b'h';
const ARRAY: u8 = b'a';
const INDEX_LEN: u8 = b'i';
const INDEX: u8 = b'x';

/// Floats per chunk (1 MiB); tests use tiny chunks so that every boundary is crossed.
#[cfg(not(test))]
const FLOATS_PER_CHUNK: usize = 1 << 18;
#[cfg(test)]
const FLOATS_PER_CHUNK: usize = 10;

pub use crate::learners::ModelKind;

/// One stored array of a model: its name and length in floats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArrayInfo {
    /// `users`, `items`, `item_bias` or `counts`.
    pub name: String,
    /// Number of floats.
    pub len: u64,
}

/// What is known about a stored model besides its numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelHeader {
    /// The version number (assigned by [`ModelStore::write`]).
    pub version: u64,
    /// The learner.
    pub kind: ModelKind,
    /// The hyper-parameters, as JSON.
    pub params: String,
    /// The seed of the fit.
    pub seed: u64,
    /// The fingerprint of the interaction store it was trained on.
    pub fingerprint: u64,
    /// Seconds since the Unix epoch when it was written.
    pub created_unix: u64,
    /// Users, items and interactions of the training data.
    pub users: u64,
    /// Items of the training data.
    pub items: u64,
    /// Interactions of the training data.
    pub interactions: u64,
    /// Latent dimension (0 for popularity).
    pub dim: u64,
    /// Epochs (iterations) run.
    pub epochs: u64,
    /// The loss after the last epoch, for learners that have one.
    pub final_loss: Option<f64>,
    /// Wall time of the fit.
    pub fit_seconds: f64,
    /// Evaluation metrics (`ndcg@10` → value) when they are known.
    pub metrics: Vec<(String, f64)>,
    /// The arrays, in storage order (assigned by [`ModelStore::write`]).
    pub arrays: Vec<ArrayInfo>,
}

/// A loaded version: its header and its named arrays, in storage order. The learner of
/// `header.kind` decodes them (`crate::learners`).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredModel {
    /// What is known about it.
    pub header: ModelHeader,
    /// `(name, values)` of every array.
    pub arrays: Vec<(String, Vec<f32>)>,
}

/// The model store: headers and the version list in sled, arrays in files.
#[derive(Debug, Clone)]
pub struct ModelStore {
    tree: sled::Tree,
    /// The folder of the model files (`models/` in the data directory; for a directory read
    /// through a copy of its database, the original directory's).
    dir: PathBuf,
}

fn version_prefix(version: u64) -> Vec<u8> {
    let mut k = vec![VERSION];
    k.extend_from_slice(&version.to_be_bytes());
    k
}

fn header_key(version: u64) -> Vec<u8> {
    let mut k = version_prefix(version);
    k.push(HEADER);
    k
}

fn array_key(version: u64, array: usize, chunk: usize) -> Vec<u8> {
    let mut k = version_prefix(version);
    k.push(ARRAY);
    k.push(array as u8);
    k.extend_from_slice(&(chunk as u32).to_be_bytes());
    k
}

fn index_len_key(version: u64) -> Vec<u8> {
    let mut k = version_prefix(version);
    k.push(INDEX_LEN);
    k
}

fn index_key(version: u64, chunk: usize) -> Vec<u8> {
    let mut k = version_prefix(version);
    k.push(INDEX);
    k.extend_from_slice(&(chunk as u32).to_be_bytes());
    k
}

/// Bytes per chunk of a stored index.
const BYTES_PER_CHUNK: usize = FLOATS_PER_CHUNK * 4;

fn bincode_config() -> impl bincode::config::Config {
    bincode::config::standard()
}

/// Most bytes a header's decoding may claim: bincode allocates a string's or sequence's length
/// as its varint says before reading it, and a header written before checksums is decoded as
/// it is (found while writing the header fuzzing: a length of 2^50 asked for 1 PiB). Headers are a
/// few hundred bytes; the limit leaves room for long parameter JSON.
const HEADER_DECODE_LIMIT: usize = 16 << 20;

/// [`bincode_config`] for decoding, with [`HEADER_DECODE_LIMIT`] (the bytes are the same).
fn bincode_decode_config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<HEADER_DECODE_LIMIT>()
}

impl ModelStore {
    /// Opens (or creates) the store inside `db`, its model files in the folder `dir` (created
    /// at the first write).
    pub fn open(db: &sled::Db, dir: &Path) -> Result<Self> {
        Ok(Self {
            tree: db.open_tree(TREE)?,
            dir: dir.to_owned(),
        })
    }

    /// The complete versions, ascending.
    pub fn versions(&self) -> Result<Vec<u64>> {
        let Some(bytes) = self.tree.get(VERSIONS)? else {
            return Ok(Vec::new());
        };
        if !bytes.len().is_multiple_of(8) {
            return Err(StoreError::corruption(
                "model version list",
                format!("{} bytes", bytes.len()),
            ));
        }
        Ok(bytes
            .chunks_exact(8)
            .map(|b| {
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                u64::from_le_bytes(a)
            })
            .collect())
    }

    /// The version readers load, if any model was written.
    pub fn current(&self) -> Result<Option<u64>> {
        Ok(match read_u64(&self.tree, CURRENT)? {
            0 => None,
            v => Some(v),
        })
    }

    /// The header of a version.
    pub fn header(&self, version: u64) -> Result<ModelHeader> {
        Ok(self.record(version)?.0)
    }

    /// The header of a version, and what it records of the version's file when its arrays are
    /// in one.
    fn record(&self, version: u64) -> Result<(ModelHeader, Option<FileSeal>)> {
        let what = || format!("model v{version} header");
        let bytes = self
            .tree
            .get(header_key(version))?
            .ok_or_else(|| StoreError::corruption(what(), "missing"))?;
        let (body, seal) = match bytes.split_first() {
            Some((&CHECKED, rest)) => (checked(rest, &what)?, None),
            Some((&IN_FILE, rest)) => {
                let sealed = checked(rest, &what)?;
                let (seal, body) = sealed
                    .split_first_chunk::<{ FileSeal::BYTES }>()
                    .ok_or_else(|| StoreError::corruption(what(), "cut short"))?;
                (body, Some(FileSeal::from_bytes(seal)))
            }
            _ => (&bytes[..], None),
        };
        let (header, used): (ModelHeader, usize) =
            bincode::serde::decode_from_slice(body, bincode_decode_config())
                .map_err(|e| StoreError::corruption(what(), e))?;
        if used != body.len() {
            return Err(StoreError::corruption(
                what(),
                format!("{} bytes after the header", body.len() - used),
            ));
        }
        if header.version != version {
            return Err(StoreError::corruption(
                what(),
                format!("it calls itself version {}", header.version),
            ));
        }
        Ok((header, seal))
    }

    /// The headers of every complete version, ascending.
    pub fn list(&self) -> Result<Vec<ModelHeader>> {
        self.versions()?
            .into_iter()
            .map(|v| self.header(v))
            .collect()
    }

    /// Loads the current model.
    pub fn load_current(&self) -> Result<StoredModel> {
        let version = self.current()?.ok_or(StoreError::NoModel)?;
        self.load(version)
    }

    /// Loads a version.
    pub fn load(&self, version: u64) -> Result<StoredModel> {
        let (header, seal) = self.record(version)?;
        if let Some(seal) = seal {
            let arrays = model_file::read(&self.dir, version, seal, &header.arrays)?;
            return Ok(StoredModel { header, arrays });
        }
        let mut arrays = Vec::with_capacity(header.arrays.len());
        for (a, info) in header.arrays.iter().enumerate() {
            let len = usize::try_from(info.len).map_err(|_| {
                StoreError::corruption(
                    format!("model v{version} {}", info.name),
                    "too long for this machine",
                )
            })?;
            // Not the length the header records: a damaged one must not allocate before the
            // chunks that would hold it are found missing.
            let mut values = Vec::with_capacity(len.min(FLOATS_PER_CHUNK));
            for c in 0..len.div_ceil(FLOATS_PER_CHUNK) {
                let what = || format!("model v{version} {} chunk {c}", info.name);
                let bytes = self
                    .tree
                    .get(array_key(version, a, c))?
                    .ok_or_else(|| StoreError::corruption(what(), "missing"))?;
                let want = (len - c * FLOATS_PER_CHUNK).min(FLOATS_PER_CHUNK);
                let floats = if bytes.len() == want * 4 + 4 {
                    let (floats, crc) = bytes.split_at(want * 4);
                    verify(floats, crc, &what)?;
                    floats
                } else if bytes.len() == want * 4 {
                    // Written before checksums.
                    &bytes[..]
                } else {
                    return Err(StoreError::corruption(
                        what(),
                        format!("{} bytes, {} expected", bytes.len(), want * 4 + 4),
                    ));
                };
                values.extend(
                    floats
                        .chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                );
            }
            arrays.push((info.name.clone(), values));
        }
        Ok(StoredModel { header, arrays })
    }

    /// The approximate top-K index stored with a version, if it has one (its bytes as
    /// written; `crate::cf::ann` checks their digest). Missing or mis-sized chunks are
    /// [`StoreError::Corruption`].
    pub fn load_index(&self, version: u64) -> Result<Option<Vec<u8>>> {
        let what = || format!("model v{version} index");
        let Some(len) = self.tree.get(index_len_key(version))? else {
            return Ok(None);
        };
        let len: [u8; 8] = len.as_ref().try_into().map_err(|_| {
            StoreError::corruption(what(), format!("length of {} bytes", len.len()))
        })?;
        let len = usize::try_from(u64::from_le_bytes(len))
            .map_err(|e| StoreError::corruption(what(), e))?;
        let mut bytes = Vec::new();
        for c in 0..len.div_ceil(BYTES_PER_CHUNK) {
            let chunk = self
                .tree
                .get(index_key(version, c))?
                .ok_or_else(|| StoreError::corruption(what(), format!("chunk {c} missing")))?;
            let want = (len - c * BYTES_PER_CHUNK).min(BYTES_PER_CHUNK);
            if chunk.len() != want {
                return Err(StoreError::corruption(
                    what(),
                    format!("chunk {c}: {} bytes, {want} expected", chunk.len()),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Some(bytes))
    }

    /// The first stored chunk of a version's approximate top-K index (enough to hold its
    /// head: `crate::cf::ann` reads the summary from it), if it has one.
    pub fn load_index_head(&self, version: u64) -> Result<Option<Vec<u8>>> {
        if self.tree.get(index_len_key(version))?.is_none() {
            return Ok(None);
        }
        let chunk = self.tree.get(index_key(version, 0))?.ok_or_else(|| {
            StoreError::corruption(format!("model v{version} index"), "chunk 0 missing")
        })?;
        Ok(Some(chunk.to_vec()))
    }

    /// Writes a new version and keeps only the newest `keep` versions of its family (at least
    /// the new one). A recommender becomes current; a graph embedding (which cannot recommend)
    /// never displaces the current recommender, and the two families are pruned separately, so
    /// embedding runs never take the served model away. Returns the new version number.
    pub fn write(
        &self,
        header: ModelHeader,
        arrays: &[(String, Vec<f32>)],
        keep: usize,
    ) -> Result<u64> {
        let recommender = !header.kind.is_graph_embedding();
        self.write_version(header, arrays, None, keep, recommender)
    }

    /// [`ModelStore::write`] that makes the new version current only when `make_current` (a
    /// recommender that another, newer fit superseded while it trained is stored beside it).
    /// Pruning keeps the newest `keep` versions of the new version's family, and the current.
    /// `index`: the bytes of the version's approximate top-K index, staged and published (and
    /// pruned) with it.
    pub fn write_version(
        &self,
        header: ModelHeader,
        arrays: &[(String, Vec<f32>)],
        index: Option<&[u8]>,
        keep: usize,
        make_current: bool,
    ) -> Result<u64> {
        let version = self.next_version()?;
        let family = header.kind.is_graph_embedding();
        self.stage(version, header, arrays, index)?;
        self.publish(version, make_current)?;
        self.prune_family(keep, Some(family))?;
        Ok(version)
    }

    /// One more than any version present, complete or not (a file included).
    fn next_version(&self) -> Result<u64> {
        let listed = self.versions()?.last().copied().unwrap_or(0);
        let filed = model_file::highest(&self.dir)?;
        let present = match self.tree.scan_prefix([VERSION]).next_back() {
            Some(entry) => {
                let (key, _) = entry?;
                let mut a = [0u8; 8];
                a.copy_from_slice(key.get(1..9).ok_or_else(|| {
                    StoreError::corruption("model key", format!("{} bytes", key.len()))
                })?);
                u64::from_be_bytes(a)
            }
            None => 0,
        };
        Ok(listed.max(present).max(filed) + 1)
    }

    /// Writes the file and then the header of `version`, without making it visible.
    pub(crate) fn stage(
        &self,
        version: u64,
        mut header: ModelHeader,
        arrays: &[(String, Vec<f32>)],
        index: Option<&[u8]>,
    ) -> Result<()> {
        if let Some(bytes) = index {
            for (c, chunk) in bytes.chunks(BYTES_PER_CHUNK).enumerate() {
                self.tree.insert(index_key(version, c), chunk)?;
            }
            self.tree
                .insert(index_len_key(version), &(bytes.len() as u64).to_le_bytes())?;
        }
        header.version = version;
        header.arrays = arrays
            .iter()
            .map(|(name, values)| ArrayInfo {
                name: name.clone(),
                len: values.len() as u64,
            })
            .collect();
        let seal = model_file::write(&self.dir, version, arrays, FLOATS_PER_CHUNK)?;
        self.put_header(&header, Some(seal))
    }

    /// Writes the sled header of `header.version`: with `seal`, one whose arrays are in a file
    /// ([`IN_FILE`]), else one whose arrays are in sled ([`CHECKED`]); then flushes.
    fn put_header(&self, header: &ModelHeader, seal: Option<FileSeal>) -> Result<()> {
        let version = header.version;
        let body = bincode::serde::encode_to_vec(header, bincode_config())
            .map_err(|e| StoreError::corruption(format!("model v{version} header"), e))?;
        let mut checked = Vec::with_capacity(FileSeal::BYTES + body.len());
        if let Some(seal) = seal {
            checked.extend_from_slice(&seal.to_bytes());
        }
        checked.extend_from_slice(&body);
        let mut bytes = Vec::with_capacity(checked.len() + 5);
        bytes.push(if seal.is_some() { IN_FILE } else { CHECKED });
        bytes.extend_from_slice(&crc32(&checked).to_le_bytes());
        bytes.extend_from_slice(&checked);
        let _watch = kgrec_kg::watchdog::watch("write of a model header");
        self.tree.insert(header_key(version), bytes)?;
        self.tree.flush()?;
        Ok(())
    }

    /// [`ModelStore::stage`] as it was before model files: every chunk in sled, for the tests
    /// of versions written then.
    #[cfg(test)]
    fn stage_in_sled(
        &self,
        version: u64,
        mut header: ModelHeader,
        arrays: &[(String, Vec<f32>)],
    ) -> Result<()> {
        header.version = version;
        header.arrays.clear();
        if arrays.len() > usize::from(u8::MAX) {
            return Err(StoreError::corruption(
                format!("model v{version}"),
                format!("{} arrays, at most 255 fit the key layout", arrays.len()),
            ));
        }
        for (a, (name, values)) in arrays.iter().enumerate() {
            for (c, chunk) in values.chunks(FLOATS_PER_CHUNK).enumerate() {
                self.tree
                    .insert(array_key(version, a, c), encode_floats(chunk))?;
            }
            header.arrays.push(ArrayInfo {
                name: name.clone(),
                len: values.len() as u64,
            });
        }
        self.put_header(&header, None)
    }

    /// Lists a staged version (and makes it current), in one atomic batch.
    pub(crate) fn publish(&self, version: u64, make_current: bool) -> Result<()> {
        let mut versions = self.versions()?;
        versions.push(version);
        let mut batch = sled::Batch::default();
        if make_current {
            batch.insert(CURRENT, &version.to_le_bytes());
        }
        batch.insert(VERSIONS, encode_versions(&versions));
        let _watch = kgrec_kg::watchdog::watch("write of the model versions");
        self.tree.apply_batch(batch)?;
        self.tree.flush()?;
        Ok(())
    }

    /// Makes a listed version the one readers load (a rollback to a stored version, or a
    /// version a newer training overtook), flushed before it returns. The caller checks that
    /// the version is a recommender; a version the store does not list is refused.
    pub(crate) fn set_current(&self, version: u64) -> Result<()> {
        if !self.versions()?.contains(&version) {
            return Err(StoreError::corruption(
                format!("model v{version}"),
                "not a stored version",
            ));
        }
        let _watch = kgrec_kg::watchdog::watch("write of the current model version");
        self.tree.insert(CURRENT, &version.to_le_bytes())?;
        self.tree.flush()?;
        Ok(())
    }

    /// Removes from `models/` what a killed writer left there: the files of versions the
    /// store does not list (a `train` killed after its file, before its publish) and temporary
    /// files (one killed while it wrote its file). Listed versions' files are never touched.
    /// Called by every writable open ([`crate::Engine`]), so that a killed `train` followed
    /// only by imports does not keep its file; the caller holds the directory's exclusive
    /// lock. Sled keys of an unlisted version stay until the next prune: they are small
    /// since the arrays live in files.
    pub fn remove_leftover_files(&self) -> Result<()> {
        model_file::remove_unlisted(&self.dir, &self.versions()?)
    }

    /// Keeps the newest `keep` complete versions of each family (recommenders, graph
    /// embeddings) and always the current one; removes the others and whatever a killed writer
    /// left of an unlisted version.
    pub fn prune(&self, keep: usize) -> Result<()> {
        self.prune_family(keep, None)
    }

    /// [`ModelStore::prune`] of one family only (`Some(true)`: graph embeddings, `Some(false)`:
    /// recommenders), the other kept whole; unlisted leftovers are removed either way.
    fn prune_family(&self, keep: usize, only: Option<bool>) -> Result<()> {
        let versions = self.versions()?;
        let current = self.current()?;
        let mut family = Vec::with_capacity(versions.len());
        for &v in &versions {
            family.push(self.header(v)?.kind.is_graph_embedding());
        }
        let mut kept: Vec<u64> = Vec::with_capacity(versions.len());
        for embeddings in [false, true] {
            let of_family: Vec<u64> = versions
                .iter()
                .zip(&family)
                .filter(|&(_, &f)| f == embeddings)
                .map(|(v, _)| *v)
                .collect();
            let cut = if only.is_none_or(|f| f == embeddings) {
                of_family.len().saturating_sub(keep.max(1))
            } else {
                0
            };
            kept.extend(
                of_family
                    .iter()
                    .enumerate()
                    .filter(|&(k, v)| k >= cut || Some(*v) == current)
                    .map(|(_, v)| *v),
            );
        }
        kept.sort_unstable();
        let mut batch = sled::Batch::default();
        let mut removed = 0usize;
        for entry in self.tree.scan_prefix([VERSION]) {
            let (key, _) = entry?;
            let version = key.get(1..9).map(|b| {
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                u64::from_be_bytes(a)
            });
            if version.is_none_or(|v| !kept.contains(&v)) {
                batch.remove(key);
                removed += 1;
            }
        }
        if removed > 0 || kept.len() != versions.len() {
            batch.insert(VERSIONS, encode_versions(&kept));
            let _watch = kgrec_kg::watchdog::watch("write of the model versions");
            self.tree.apply_batch(batch)?;
            self.tree.flush()?;
        }
        // Only once no listed version or header names them any more.
        model_file::remove_unlisted(&self.dir, &kept)
    }
}

/// The first byte of a header written with its checksum, its arrays in sled.
const CHECKED: u8 = 0xFF;
/// The first byte of a header written with its checksum, its arrays in a file.
const IN_FILE: u8 = 0xFE;

use kgrec_kg::integrity::crc32;

/// The little-endian bytes of `floats`, then their CRC-32.
pub(super) fn encode_floats(floats: &[f32]) -> Vec<u8> {
    let mut bytes: Vec<u8> = Vec::with_capacity(floats.len() * 4 + 4);
    bytes.extend(floats.iter().flat_map(|x| x.to_le_bytes()));
    let crc = crc32(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

/// Checks that `crc` (4 bytes, little-endian) is the CRC-32 of `body`.
pub(super) fn verify(body: &[u8], crc: &[u8], what: &dyn Fn() -> String) -> Result<()> {
    let stored = <[u8; 4]>::try_from(crc)
        .map(u32::from_le_bytes)
        .map_err(|_| StoreError::corruption(what(), "its checksum is cut short"))?;
    let actual = crc32(body);
    if actual != stored {
        return Err(StoreError::corruption(
            what(),
            format!("damaged: its checksum is {actual:08x}, {stored:08x} was written"),
        ));
    }
    Ok(())
}

/// The bincode bytes of a checked header (the bytes after [`CHECKED`]), once their checksum
/// holds.
fn checked<'a>(rest: &'a [u8], what: &dyn Fn() -> String) -> Result<&'a [u8]> {
    let (crc, body) = rest
        .split_at_checked(4)
        .ok_or_else(|| StoreError::corruption(what(), "its checksum is cut short"))?;
    verify(body, crc, what)?;
    Ok(body)
}

fn encode_versions(versions: &[u64]) -> Vec<u8> {
    versions.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[cfg(test)]
#[path = "models_fuzz.rs"]
mod fuzz;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn header(kind: ModelKind, users: u64, items: u64, dim: u64) -> ModelHeader {
        ModelHeader {
            version: 0,
            kind,
            params: "{}".to_owned(),
            seed: 1,
            fingerprint: 42,
            created_unix: 0,
            users,
            items,
            interactions: 3,
            dim,
            epochs: 1,
            final_loss: Some(0.5),
            fit_seconds: 0.0,
            metrics: vec![("ndcg@10".to_owned(), 0.25)],
            arrays: Vec::new(),
        }
    }

    type Arrays = Vec<(String, Vec<f32>)>;

    /// Factor-model arrays whose every number depends on `seed`, with enough floats to span
    /// chunks.
    fn factors(seed: f32, bias: bool) -> (ModelHeader, Arrays) {
        let (n, m, d) = (4usize, 6usize, 3usize);
        let mut arrays = vec![
            (
                "users".to_owned(),
                (0..n * d).map(|k| seed + k as f32).collect(),
            ),
            (
                "items".to_owned(),
                (0..m * d).map(|k| seed - k as f32 / 7.0).collect(),
            ),
        ];
        if bias {
            arrays.push((
                "item_bias".to_owned(),
                (0..m).map(|i| seed * i as f32).collect(),
            ));
        }
        (header(ModelKind::Bpr, n as u64, m as u64, d as u64), arrays)
    }

    /// A store in a temporary sled database, its files in a temporary folder.
    fn temp_store() -> (tempfile::TempDir, sled::Db, ModelStore) {
        let tmp = tempfile::tempdir().unwrap();
        let db = sled::Config::new().temporary(true).open().unwrap();
        let store = ModelStore::open(&db, &tmp.path().join("models")).unwrap();
        (tmp, db, store)
    }

    /// The model files in `store`'s folder, by name.
    fn files(store: &ModelStore) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&store.dir)
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    fn temp_db() -> (tempfile::TempDir, std::path::PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("sled");
        (tmp, path)
    }

    #[test]
    fn versions_round_trip_switch_and_prune() {
        let (_tmp, _db, store) = temp_store();
        assert!(matches!(store.load_current(), Err(StoreError::NoModel)));
        let mut written = Vec::new();
        for k in 0..5 {
            let (h, m) = factors(k as f32, k % 2 == 0);
            let v = store.write(h, &m, 3).unwrap();
            written.push((v, m));
            let loaded = store.load_current().unwrap();
            assert_eq!(loaded.header.version, v);
            assert_eq!(loaded.arrays, written.last().unwrap().1);
            assert_eq!(loaded.header.metrics, vec![("ndcg@10".to_owned(), 0.25)]);
        }
        assert_eq!(store.versions().unwrap(), [3, 4, 5]);
        assert!(store.load(1).is_err(), "pruned");
        assert_eq!(store.load(3).unwrap().arrays, written[2].1);

        let pop = vec![("counts".to_owned(), vec![3.0, 0.0, 1.0])];
        let v = store
            .write(header(ModelKind::Popularity, 2, 3, 0), &pop, 1)
            .unwrap();
        assert_eq!(store.versions().unwrap(), [v]);
        assert_eq!(store.load_current().unwrap().arrays, pop);
        assert_eq!(
            store.tree.scan_prefix([VERSION]).count(),
            1,
            "a header, the arrays in a file"
        );
        assert_eq!(
            files(&store),
            [model_file::file_name(v)],
            "pruned versions' files removed"
        );
    }

    /// Graph embeddings never become current and are pruned apart from the recommenders.
    #[test]
    fn graph_embeddings_neither_displace_nor_prune_the_recommenders() {
        let (_tmp, _db, store) = temp_store();
        let (h, m) = factors(1.0, false);
        let als = store.write(h, &m, 1).unwrap();
        let embedding = vec![("entities".to_owned(), vec![0.5; 4])];
        for _ in 0..3 {
            store
                .write(header(ModelKind::TransE, 0, 0, 2), &embedding, 1)
                .unwrap();
        }
        assert_eq!(store.current().unwrap(), Some(als));
        assert_eq!(store.versions().unwrap(), [als, 4]);
        let (h, m) = factors(2.0, false);
        let next = store.write(h, &m, 1).unwrap();
        assert_eq!(store.current().unwrap(), Some(next));
        assert_eq!(store.versions().unwrap(), [4, next]);
        // An embedding written with --keep 1 leaves the recommenders alone, and the reverse.
        store
            .write(header(ModelKind::TransE, 0, 0, 2), &embedding, 1)
            .unwrap();
        assert_eq!(store.versions().unwrap(), [next, 6]);
        let (h, m) = factors(3.0, false);
        store.write(h, &m, 5).unwrap();
        store
            .write(header(ModelKind::TransE, 0, 0, 2), &embedding, 1)
            .unwrap();
        assert_eq!(store.versions().unwrap(), [next, 7, 8]);
        // A superseded fit is stored but not made current.
        let (h, m) = factors(4.0, false);
        let beside = store.write_version(h, &m, None, 5, false).unwrap();
        assert_eq!(store.current().unwrap(), Some(7));
        assert_eq!(store.versions().unwrap(), [next, 7, 8, beside]);
    }

    #[test]
    fn a_version_written_but_not_switched_is_never_loaded_and_is_cleaned_up() {
        let (_tmp, path) = temp_db();
        let (h1, m1) = factors(1.0, true);
        {
            let db = sled::open(&path).unwrap();
            let store = ModelStore::open(&db, &path.with_file_name("models")).unwrap();
            store.write(h1, &m1, 3).unwrap();
            // A writer killed mid-way: some chunks of version 2 on disk, no switch.
            let (h2, m2) = factors(2.0, true);
            for (a, (_, values)) in m2.iter().enumerate().take(2) {
                for (c, chunk) in values.chunks(FLOATS_PER_CHUNK).enumerate().take(1) {
                    store
                        .tree
                        .insert(array_key(2, a, c), encode_floats(chunk))
                        .unwrap();
                }
            }
            // And a writer killed after staging everything but before the switch.
            store.stage(3, h2, &m2, Some(&[7u8; 95][..])).unwrap();
            db.flush().unwrap();
        }
        let db = sled::open(&path).unwrap();
        let store = ModelStore::open(&db, &path.with_file_name("models")).unwrap();
        let loaded = store.load_current().unwrap();
        assert_eq!(loaded.header.version, 1);
        assert_eq!(loaded.arrays, m1);
        assert_eq!(store.versions().unwrap(), [1]);

        let (h4, m4) = factors(4.0, false);
        let v = store.write(h4, &m4, 3).unwrap();
        assert_eq!(v, 4, "numbers of half-written versions are not reused");
        assert_eq!(store.versions().unwrap(), [1, 4]);
        for orphan in [2u64, 3] {
            assert_eq!(
                store.tree.scan_prefix(version_prefix(orphan)).count(),
                0,
                "v{orphan} left behind"
            );
        }
        assert_eq!(store.load(1).unwrap().arrays, m1);
    }

    /// The bincode 2 bytes of a header, frozen: a reordered `ModelKind` or a changed field
    /// would make every stored model unreadable, so such a change must fail here first.
    #[test]
    fn model_kind_bytes_are_frozen() {
        #[rustfmt::skip]
        let golden: Vec<u8> = [
            &[0u8][..],                 // version
            &[3],                       // kind (patched below)
            &[2, b'{', b'}'],           // params
            &[1, 42, 0],                // seed, fingerprint, created_unix
            &[2, 3, 3, 4, 1],           // users, items, interactions, dim, epochs
            &[1], &0.5f64.to_le_bytes(),   // final_loss: Some(0.5)
            &0.0f64.to_le_bytes(),      // fit_seconds
            &[1, 7], b"ndcg@10", &0.25f64.to_le_bytes(), // metrics
            &[0],                       // arrays
        ]
        .concat();
        for (kind, index) in [
            (ModelKind::Als, 0u8),
            (ModelKind::Bpr, 1),
            (ModelKind::Popularity, 2),
            (ModelKind::Cke, 3),
            (ModelKind::TransE, 4),
            (ModelKind::RotatE, 5),
            (ModelKind::TransR, 6),
            (ModelKind::Ease, 7),
            (ModelKind::KgEase, 8),
            (ModelKind::ItemKnn, 9),
            (ModelKind::UserKnn, 10),
            (ModelKind::Svd, 11),
            (ModelKind::SvdPp, 12),
            (ModelKind::Tfidf, 13),
            (ModelKind::Ncf, 14),
        ] {
            let bytes =
                bincode::serde::encode_to_vec(header(kind, 2, 3, 4), bincode_config()).unwrap();
            let mut want = golden.clone();
            want[1] = index;
            assert_eq!(bytes, want, "{kind:?}");
            let (back, _): (ModelHeader, usize) =
                bincode::serde::decode_from_slice(&want, bincode_config()).unwrap();
            assert_eq!(back.kind, kind);
        }
    }

    /// An index travels with its version: loaded as written, pruned with it, and missing or
    /// mis-sized chunks are corruption.
    #[test]
    fn an_index_is_stored_loaded_and_pruned_with_its_version() {
        let (_tmp, _db, store) = temp_store();
        let bytes: Vec<u8> = (0..(BYTES_PER_CHUNK * 2 + 3))
            .map(|i| (i * 7) as u8)
            .collect();
        let (h, m) = factors(1.0, true);
        let v1 = store.write_version(h, &m, Some(&bytes), 1, true).unwrap();
        assert_eq!(store.load_index(v1).unwrap(), Some(bytes.clone()));
        let (h, m) = factors(2.0, true);
        let v2 = store.write(h, &m, 1).unwrap();
        assert_eq!(store.load_index(v2).unwrap(), None, "no index written");
        assert_eq!(store.versions().unwrap(), [v2]);
        assert_eq!(
            store.tree.scan_prefix(version_prefix(v1)).count(),
            0,
            "the index is pruned with its version"
        );
        let (h, m) = factors(3.0, true);
        let v3 = store.write_version(h, &m, Some(&bytes), 3, true).unwrap();
        store.tree.insert(index_key(v3, 1), &[1u8; 5][..]).unwrap();
        assert!(matches!(
            store.load_index(v3),
            Err(StoreError::Corruption { .. })
        ));
        store.tree.remove(index_key(v3, 1)).unwrap();
        assert!(matches!(
            store.load_index(v3),
            Err(StoreError::Corruption { .. })
        ));
        store.tree.insert(index_len_key(v3), &[1u8; 3][..]).unwrap();
        assert!(matches!(
            store.load_index(v3),
            Err(StoreError::Corruption { .. })
        ));
    }

    /// Writes a version as kgrec did before model files (arrays in sled, checksummed) and
    /// makes it current.
    fn write_in_sled(store: &ModelStore, header: ModelHeader, arrays: &Arrays) -> u64 {
        let v = store.next_version().unwrap();
        store.stage_in_sled(v, header, arrays).unwrap();
        store.publish(v, true).unwrap();
        v
    }

    /// Flips every byte of `key`'s value in turn: each is `Corruption` naming the version.
    fn every_flip_is_corruption(store: &ModelStore, v: u64, key: &[u8]) {
        let good = store.tree.get(key).unwrap().unwrap();
        for at in 0..good.len() {
            let mut bad = good.to_vec();
            bad[at] ^= 0x10;
            store.tree.insert(key, bad).unwrap();
            match store.load(v) {
                Err(StoreError::Corruption { what, .. }) => {
                    assert!(what.starts_with(&format!("model v{v} ")), "{what}")
                }
                other => panic!("key {key:?} byte {at}: {other:?}"),
            }
        }
        store.tree.insert(key, good).unwrap();
    }

    /// Every byte of every stored array chunk, file and header is covered: changing any one of
    /// them is `Corruption` naming the value (and for a file, the file), never other numbers.
    #[test]
    fn a_changed_byte_in_any_chunk_file_or_header_is_corruption() {
        let (_tmp, _db, store) = temp_store();
        let (h, m) = factors(1.0, true);
        let old = write_in_sled(&store, h, &m);
        let keys: Vec<sled::IVec> = store
            .tree
            .scan_prefix(version_prefix(old))
            .map(|e| e.unwrap().0)
            .collect();
        assert!(keys.len() > 4, "several chunks and a header");
        for key in keys {
            every_flip_is_corruption(&store, old, &key);
        }
        assert_eq!(store.load(old).unwrap().arrays, m);

        let (h, m) = factors(2.0, true);
        let v = store.write(h, &m, 3).unwrap();
        every_flip_is_corruption(&store, v, &header_key(v));
        let path = store.dir.join(model_file::file_name(v));
        let good = std::fs::read(&path).unwrap();
        let floats: usize = m.iter().map(|(_, a)| a.len()).sum();
        assert!(good.len() > floats * 4, "{} bytes", good.len());
        let mut chunks_named = 0;
        for at in 0..good.len() {
            let mut bad = good.clone();
            bad[at] ^= 0x10;
            std::fs::write(&path, &bad).unwrap();
            match store.load(v) {
                Err(StoreError::Corruption { what, .. }) => {
                    assert!(what.starts_with(&format!("model v{v} ")), "{what}");
                    assert!(what.contains(&path.display().to_string()), "{what}");
                    chunks_named += usize::from(what.contains(" chunk "));
                }
                other => panic!("file byte {at}: {other:?}"),
            }
        }
        assert!(
            chunks_named >= floats * 4,
            "{chunks_named} flips named a chunk"
        );
        // Cut short or grown, the file is damaged too.
        for len in [0, 10, good.len() - 1] {
            std::fs::write(&path, &good[..len]).unwrap();
            assert!(
                matches!(store.load(v), Err(StoreError::Corruption { .. })),
                "{len} bytes"
            );
        }
        std::fs::write(&path, [&good[..], &[0]].concat()).unwrap();
        assert!(matches!(store.load(v), Err(StoreError::Corruption { .. })));
        // Another version's (whole, valid) file in its place.
        let (h, m3) = factors(3.0, true);
        let other = store.write(h, &m3, 3).unwrap();
        std::fs::copy(store.dir.join(model_file::file_name(other)), &path).unwrap();
        assert!(matches!(store.load(v), Err(StoreError::Corruption { .. })));
        std::fs::write(&path, &good).unwrap();
        assert_eq!(store.load(v).unwrap().arrays, m);
        assert_eq!(store.load(old).unwrap().arrays, factors(1.0, true).1);
    }

    /// Versions written before model files (arrays in sled) load beside new ones, and pruning
    /// them removes their keys.
    #[test]
    fn versions_in_sled_still_load_and_are_pruned() {
        let (_tmp, _db, store) = temp_store();
        let (h, m1) = factors(1.0, true);
        let old = write_in_sled(&store, h, &m1);
        assert_eq!(store.load_current().unwrap().arrays, m1);
        assert!(files(&store).is_empty(), "{:?}", files(&store));
        let (h, m2) = factors(2.0, false);
        let new = store.write(h, &m2, 2).unwrap();
        assert_eq!(store.versions().unwrap(), [old, new]);
        assert_eq!(store.load(old).unwrap().arrays, m1);
        assert_eq!(store.load_current().unwrap().arrays, m2);
        let (h, m3) = factors(3.0, false);
        let newest = store.write(h, &m3, 1).unwrap();
        assert_eq!(store.versions().unwrap(), [newest]);
        assert_eq!(store.tree.scan_prefix(version_prefix(old)).count(), 0);
        assert_eq!(files(&store), [model_file::file_name(newest)]);
    }

    /// Headers and chunks written before checksums (plain bincode, bare floats) still load.
    #[test]
    fn records_written_before_checksums_still_load() {
        let (_tmp, _db, store) = temp_store();
        let (h, m) = factors(2.0, true);
        let v = write_in_sled(&store, h, &m);
        for entry in store.tree.scan_prefix(version_prefix(v)) {
            let (key, value) = entry.unwrap();
            let old = if key.last() == Some(&HEADER) && key.len() == 10 {
                value[5..].to_vec()
            } else {
                value[..value.len() - 4].to_vec()
            };
            store.tree.insert(key, old).unwrap();
        }
        let loaded = store.load(v).unwrap();
        assert_eq!(loaded.arrays, m);
        assert_eq!(loaded.header.version, v);
    }

    /// What a killed `train` leaves in `models/` (a torn temporary file; a whole file whose
    /// header never reached sled) is never read, is not reused as a number, and goes at the
    /// next write; a file removed under a reader is `ModelGone`, not `Corruption`.
    #[test]
    fn leftover_files_are_ignored_and_removed_and_a_pruned_file_is_gone() {
        let (_tmp, _db, store) = temp_store();
        let (h, m1) = factors(1.0, true);
        let v1 = store.write(h, &m1, 5).unwrap();
        let torn = store
            .dir
            .join(format!(".{}.999.0.kgrec-tmp", model_file::file_name(2)));
        std::fs::write(&torn, b"KGRECMDL\x01").unwrap();
        let (h, m2) = factors(2.0, true);
        model_file::write(&store.dir, 7, &m2, FLOATS_PER_CHUNK).unwrap();
        std::fs::write(store.dir.join("notes.txt"), b"mine").unwrap();
        assert_eq!(store.versions().unwrap(), [v1]);
        assert_eq!(store.load_current().unwrap().arrays, m1);
        let v = store.write(h, &m2, 5).unwrap();
        assert_eq!(v, 8, "the number of a file without header is not reused");
        assert_eq!(
            files(&store),
            [
                "notes.txt".to_owned(),
                model_file::file_name(v1),
                model_file::file_name(v)
            ],
        );
        std::fs::remove_file(store.dir.join(model_file::file_name(v))).unwrap();
        let err = store.load_current().unwrap_err();
        assert!(
            matches!(err, StoreError::ModelGone { version, .. } if version == v),
            "{err:?}"
        );
        assert!(err.to_string().contains("run the command again"), "{err}");
    }

    #[test]
    fn undecodable_bytes_are_corruption() {
        let (_tmp, _db, store) = temp_store();
        let (h, m) = factors(1.0, true);
        let v = write_in_sled(&store, h, &m);
        store
            .tree
            .insert(array_key(v, 1, 0), &[0u8; 6][..])
            .unwrap();
        assert!(matches!(
            store.load_current(),
            Err(StoreError::Corruption { .. })
        ));
        store.tree.insert(header_key(v), &[0xff; 3][..]).unwrap();
        assert!(matches!(
            store.load_current(),
            Err(StoreError::Corruption { .. })
        ));
        store.tree.remove(header_key(v)).unwrap();
        assert!(matches!(
            store.load_current(),
            Err(StoreError::Corruption { .. })
        ));
        store.tree.insert(VERSIONS, &[1u8; 5][..]).unwrap();
        assert!(matches!(
            store.versions(),
            Err(StoreError::Corruption { .. })
        ));
    }
}
