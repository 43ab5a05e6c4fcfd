//! The knowledge-graph store of a data directory: oxigraph for the RDF, the sled index beside it.
//!
//! Two backends share one type, chosen at build time:
//! - default (pure Rust): oxigraph's in-memory store, persisted as an N-Quads snapshot file per
//!   generation. An import writes the new snapshot first, then switches the generation in the same
//!   sled batch that commits the index. A crash before that batch leaves the old generation (the
//!   orphan snapshot is removed at the next import); after it, the new one. Never a mix.
//! - feature `rocksdb`: oxigraph's on-disk store, loaded with its bulk loader. RocksDB commits
//!   first; a `pending` mark set before it tells the next open to re-derive the index from the
//!   store if the process died between the two commits.

use crate::error::{KgError, Result};
use crate::import::{self, FileReport, ImportOptions, ImportProgress};
use crate::index::{GraphCounts, GraphIndex, meta};
#[cfg(not(feature = "rocksdb"))]
use oxigraph::io::RdfFormat;
use oxigraph::model::Quad;
use oxigraph::sparql::{CancellationToken, QueryResults, SparqlEvaluator};
use oxigraph::store::Store;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What an import did, for the summary line.
#[derive(Clone, Debug, Default)]
pub struct ImportReport {
    pub files: Vec<FileReport>,
    /// Statements read over all files.
    pub read: u64,
    /// Statements new to the store.
    pub added: u64,
    /// Statements the store already held (or that repeated within the input).
    pub already_present: u64,
    /// Counts after the import.
    pub counts: GraphCounts,
    pub seconds: f64,
    /// Seconds spent in each phase, in order: where the time goes.
    pub phases: Vec<(&'static str, f64)>,
    /// Distinct statements read with a blank node as subject or object: the store (SPARQL)
    /// holds them, the recommendation graph, whose entities are IRIs, does not.
    pub blank_node_statements: u64,
    /// Added statements `s p _:new` where the store already held `s p _:old` (same subject,
    /// predicate and graph, another blank node): blank nodes are local to each file, so an
    /// edited or renamed file imported again adds its structures beside the earlier ones.
    /// With the first of them, as `<s> <p>`.
    pub repeated_blank_nodes: (u64, Option<String>),
}

/// Of the `fresh` statements (not yet in `store`), those `s p _:b` whose subject, predicate and
/// graph already lead to another blank node in `store`, and the first as `<s> <p>`: one indexed
/// lookup per fresh statement with a blank object, none when there is none.
fn repeated_blank_nodes(store: &Store, fresh: &[Quad]) -> Result<(u64, Option<String>)> {
    let mut count = 0;
    let mut first = None;
    for quad in fresh.iter().filter(|q| q.object.is_blank_node()) {
        let earlier = store.quads_for_pattern(
            Some(quad.subject.as_ref()),
            Some(quad.predicate.as_ref()),
            None,
            Some(quad.graph_name.as_ref()),
        );
        for other in earlier {
            if other?.object.is_blank_node() {
                count += 1;
                first.get_or_insert_with(|| format!("{} {}", quad.subject, quad.predicate));
                break;
            }
        }
    }
    Ok((count, first))
}

/// A graph's RDF store as another process opens it ([`KgStore::detached`]): the SPARQL
/// service's worker processes, which a query that runs away can be killed with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Detached {
    /// No graph imported yet: an empty store.
    Empty,
    /// An N-Quads snapshot (the default build), loaded into memory.
    Snapshot(PathBuf),
    /// A RocksDB store directory (feature `rocksdb`), opened read-only.
    RocksDb(PathBuf),
}

impl Detached {
    /// Opens the store, read-only: a snapshot is loaded into a store of the caller's own.
    pub fn open(&self) -> Result<Store> {
        match self {
            Detached::Empty => Ok(Store::new()?),
            Detached::Snapshot(path) => load_snapshot_file(path),
            #[cfg(feature = "rocksdb")]
            Detached::RocksDb(path) => Ok(Store::open_read_only(path)?),
            #[cfg(not(feature = "rocksdb"))]
            Detached::RocksDb(path) => Err(KgError::BadInput {
                file: path.clone(),
                message: "a RocksDB graph store needs a kgrec built with --features rocksdb"
                    .to_owned(),
            }),
        }
    }
}

/// The last line of a snapshot written since format version 1 gained checksums: an N-Quads
/// comment holding the CRC-32 of every byte before it, as 8 hex digits. A snapshot without it
/// (written before) is read unchecked.
const SNAPSHOT_CRC: &str = "# kgrec-crc32 ";

/// The length of a snapshot trailer: the prefix, 8 hex digits, a newline.
const SNAPSHOT_TRAILER_LEN: usize = SNAPSHOT_CRC.len() + 9;

/// Checks the CRC trailer of the snapshot at `path`, if it has one.
fn verify_snapshot(path: &Path) -> Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let unreadable = |e: std::io::Error| {
        KgError::corruption(format!("snapshot {} unreadable: {e}", path.display()))
    };
    let mut file = std::fs::File::open(path).map_err(unreadable)?;
    let size = file.metadata().map_err(unreadable)?.len();
    let Some(body) = size.checked_sub(SNAPSHOT_TRAILER_LEN as u64) else {
        return Ok(());
    };
    file.seek(SeekFrom::Start(body)).map_err(unreadable)?;
    let mut trailer = Vec::with_capacity(SNAPSHOT_TRAILER_LEN);
    file.read_to_end(&mut trailer).map_err(unreadable)?;
    let stored = std::str::from_utf8(&trailer)
        .ok()
        .and_then(|t| t.strip_prefix(SNAPSHOT_CRC))
        .and_then(|t| t.strip_suffix('\n'))
        .filter(|hex| hex.len() == 8 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .and_then(|hex| u32::from_str_radix(hex, 16).ok());
    let Some(stored) = stored else {
        return Ok(());
    };
    file.seek(SeekFrom::Start(0)).map_err(unreadable)?;
    let mut hasher = crate::integrity::CrcWriter::new(std::io::sink());
    std::io::copy(&mut (&mut file).take(body), &mut hasher).map_err(unreadable)?;
    let (actual, _) = hasher.finish();
    if actual != stored {
        return Err(KgError::corruption(format!(
            "snapshot {} is damaged: its checksum is {actual:08x}, {stored:08x} was written \
             (restore the data directory from a backup, or import the graph again)",
            path.display()
        )));
    }
    Ok(())
}

/// A new in-memory store holding the N-Quads snapshot at `path`, whose checksum is checked
/// first.
fn load_snapshot_file(path: &Path) -> Result<Store> {
    verify_snapshot(path)?;
    let store = Store::new()?;
    let file = std::fs::File::open(path)
        .map_err(|e| KgError::corruption(format!("snapshot {} unreadable: {e}", path.display())))?;
    let parser = oxigraph::io::RdfParser::from_format(oxigraph::io::RdfFormat::NQuads).lenient();
    let quads = parser
        .for_reader(std::io::BufReader::with_capacity(1 << 20, file))
        .map(|q| q.map_err(|e| KgError::corruption(format!("snapshot {}: {e}", path.display()))));
    let mut loader = store.bulk_loader();
    loader.load_ok_quads::<KgError, KgError>(quads)?;
    loader.commit()?;
    Ok(store)
}

/// Evaluates a read-only SPARQL query on `store`, stopping when `cancel` is cancelled (the
/// evaluation looks at it at every statement it reads). Updates are refused.
pub fn query_store(
    store: &Store,
    query: &str,
    cancel: CancellationToken,
) -> Result<QueryResults<'static>> {
    evaluate(query, cancel, || Ok(store.clone()))
}

/// Parses `query`, then evaluates it on the store `store` gives (called only for a query that
/// parses).
fn evaluate(
    query: &str,
    cancel: CancellationToken,
    store: impl FnOnce() -> Result<Store>,
) -> Result<QueryResults<'static>> {
    let evaluator = SparqlEvaluator::new().with_cancellation_token(cancel);
    let mut prepared = match evaluator.parse_query(query) {
        Ok(prepared) => prepared,
        Err(query_error) => {
            return Err(if SparqlEvaluator::new().parse_update(query).is_ok() {
                KgError::BadQuery(
                    "SPARQL UPDATE is refused: `kgrec sparql` is read-only; change the graph \
                     with `kgrec import kg`"
                        .to_owned(),
                )
            } else {
                KgError::BadQuery(format!("SPARQL syntax error: {query_error}"))
            });
        }
    };
    // The default graph is the union of every graph imported (N-Quads and TriG statements
    // keep their named graphs, and the recommendation graph uses them all), unless the query
    // names its own dataset with FROM.
    if prepared.dataset().is_default_dataset() {
        prepared.dataset_mut().set_default_graph_as_union();
    }
    Ok(prepared.on_store(&store()?).execute()?)
}

/// The graph half of a data directory.
pub struct KgStore {
    dir: PathBuf,
    index: GraphIndex,
    #[cfg(feature = "rocksdb")]
    store: Store,
    /// The folder of a checkpoint of `store` for other processes to open (`detached`, its
    /// `store` subfolder), made on first use, removed on drop and dropped by an import.
    #[cfg(feature = "rocksdb")]
    checkpoint: std::sync::Mutex<Option<tempfile::TempDir>>,
    /// The snapshot last loaded, by generation: a process that queries again (the HTTP
    /// service) does not parse the snapshot again until an import writes a new one.
    #[cfg(not(feature = "rocksdb"))]
    loaded: std::sync::Mutex<Option<(u64, Store)>>,
}

impl std::fmt::Debug for KgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KgStore")
            .field("dir", &self.dir)
            .field(
                "backend",
                &if cfg!(feature = "rocksdb") {
                    "rocksdb"
                } else {
                    "memory-snapshot"
                },
            )
            .finish_non_exhaustive()
    }
}

impl KgStore {
    /// Opens the graph store kept in `dir` (created if missing) with its index in `db`.
    pub fn open(dir: &Path, db: &sled::Db) -> Result<Self> {
        crate::fsutil::create_dirs(dir).map_err(|e| KgError::io(dir, e))?;
        Self::open_existing(dir, db, false)
    }

    /// Opens the graph store kept in `dir` without writing to it (the directory may be on a
    /// read-only file system); `db` may be a copy of the data directory's database.
    pub fn open_read_only(dir: &Path, db: &sled::Db) -> Result<Self> {
        Self::open_existing(dir, db, true)
    }

    fn open_existing(dir: &Path, db: &sled::Db, read_only: bool) -> Result<Self> {
        let index = GraphIndex::open(db)?;
        #[cfg(feature = "rocksdb")]
        {
            let path = dir.join("rocksdb");
            let store = if read_only {
                Store::open_read_only(&path)?
            } else {
                Store::open(&path)?
            };
            let this = Self {
                dir: dir.to_owned(),
                index,
                store,
                checkpoint: std::sync::Mutex::default(),
            };
            // An import that died between its two commits: the index is derived again from
            // the store (read-only, into `db`, which is then a copy).
            if this.index.meta(meta::PENDING)? != 0 {
                this.recover_index()?;
            }
            Ok(this)
        }
        #[cfg(not(feature = "rocksdb"))]
        {
            // The snapshot is only read when the store is loaded, for readers and writers alike.
            let _ = read_only;
            Ok(Self {
                dir: dir.to_owned(),
                index,
                loaded: std::sync::Mutex::default(),
            })
        }
    }

    /// The sled index: dictionary, edges, labels, counts.
    pub fn index(&self) -> &GraphIndex {
        &self.index
    }

    /// Counts as of the last committed import, without loading the store.
    pub fn counts(&self) -> Result<GraphCounts> {
        self.index.counts()
    }

    /// The RDF store for reading, loaded from its snapshot in the default build (once per
    /// generation: the loaded store is kept for the next reader).
    pub fn rdf_store(&self) -> Result<Store> {
        #[cfg(feature = "rocksdb")]
        {
            Ok(self.store.clone())
        }
        #[cfg(not(feature = "rocksdb"))]
        {
            let generation = self.index.meta(meta::GENERATION)?;
            // A poisoned cache is only a cache: load again.
            let mut loaded = self
                .loaded
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((g, store)) = loaded.as_ref()
                && *g == generation
            {
                return Ok(store.clone());
            }
            let store = self.load_snapshot(generation)?;
            *loaded = Some((generation, store.clone()));
            Ok(store)
        }
    }

    /// The RDF store to import into: in the default build a store of its own, loaded from the
    /// snapshot (never the readers' kept one, which an import that fails must not change).
    fn rdf_store_to_write(&self) -> Result<Store> {
        #[cfg(feature = "rocksdb")]
        {
            Ok(self.store.clone())
        }
        #[cfg(not(feature = "rocksdb"))]
        {
            self.load_snapshot(self.index.meta(meta::GENERATION)?)
        }
    }

    /// A new in-memory store holding snapshot `generation` (0: none yet, an empty store).
    #[cfg(not(feature = "rocksdb"))]
    fn load_snapshot(&self, generation: u64) -> Result<Store> {
        if generation == 0 {
            return Ok(Store::new()?);
        }
        load_snapshot_file(&self.snapshot_path(generation))
    }

    /// Where another process can open this graph's RDF store, read-only, as it is now: the
    /// current generation's snapshot file, or the RocksDB directory. It stays valid while this
    /// store is open and no import runs (an import is a write, and a data directory has one
    /// writer).
    pub fn detached(&self) -> Result<Detached> {
        #[cfg(feature = "rocksdb")]
        {
            // oxigraph: opening RocksDB read-only beside a process that writes it (the server's
            // store may compact) is undefined behaviour. A checkpoint is a store of its own,
            // made of hard links to the immutable table files when on the same file system.
            let mut kept = self
                .checkpoint
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let store_of = |folder: &tempfile::TempDir| folder.path().join("store");
            if let Some(folder) = kept.as_ref() {
                return Ok(Detached::RocksDb(store_of(folder)));
            }
            let folder = tempfile::Builder::new()
                .prefix(".worker-checkpoint-")
                .tempdir_in(&self.dir)
                .or_else(|_| {
                    tempfile::Builder::new()
                        .prefix("kgrec-checkpoint-")
                        .tempdir()
                })
                .map_err(|e| KgError::io(&self.dir, e))?;
            let path = store_of(&folder);
            self.store.backup(&path)?;
            *kept = Some(folder);
            Ok(Detached::RocksDb(path))
        }
        #[cfg(not(feature = "rocksdb"))]
        {
            Ok(match self.index.meta(meta::GENERATION)? {
                0 => Detached::Empty,
                generation => Detached::Snapshot(self.snapshot_path(generation)),
            })
        }
    }

    #[cfg(not(feature = "rocksdb"))]
    fn snapshot_path(&self, generation: u64) -> PathBuf {
        self.dir.join(format!("snapshot-{generation:06}.nq"))
    }

    /// Imports `files` all or nothing: if any file fails, store and index stay as they were.
    pub fn import(
        &mut self,
        files: &[PathBuf],
        options: &ImportOptions,
        progress: &mut dyn FnMut(ImportProgress<'_>),
    ) -> Result<ImportReport> {
        // Workers opened after this import must see it: the next `detached` checkpoints again.
        #[cfg(feature = "rocksdb")]
        self.checkpoint
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let start = Instant::now();
        let mut phases = Vec::new();
        let mut lap = Instant::now();
        let mut phase = |name: &'static str| {
            phases.push((name, lap.elapsed().as_secs_f64()));
            lap = Instant::now();
        };
        let staged = import::stage(files, options, progress)?;
        phase("parse");
        let read = staged.read();
        let blank_node_statements = staged.blank_node_statements;
        let store = self.rdf_store_to_write()?;
        phase("open store");
        progress(ImportProgress::Writing {
            statements: staged.quads.len() as u64,
        });
        // The staged set holds each statement once: into an empty store (a first import) every
        // one is new, and a lookup per statement would only cost time.
        let fresh: Vec<Quad> = if store.is_empty()? {
            staged.quads.into_iter().collect()
        } else {
            let mut fresh = Vec::new();
            for quad in staged.quads {
                if !store.contains(&quad)? {
                    fresh.push(quad);
                }
            }
            fresh
        };
        let added = fresh.len() as u64;
        let repeated_blank_nodes = repeated_blank_nodes(&store, &fresh)?;
        phase("find new");
        let mut writer = self.index.writer()?;
        for quad in &fresh {
            writer.add(quad)?;
        }
        phase("index");
        let before = self.index.counts()?;
        writer.set_meta(meta::TRIPLES, before.triples + added);
        let named = fresh
            .iter()
            .filter(|q| !q.graph_name.is_default_graph())
            .count() as u64;
        writer.set_meta(meta::NAMED, before.named_graph_statements + named);
        writer.set_meta(meta::LITERALS, before.literals + writer.new_literals());

        if added > 0 {
            self.write_store(&store, fresh, &mut writer, &mut phase)?;
        }
        writer.commit()?;
        #[cfg(not(feature = "rocksdb"))]
        self.remove_stale_snapshots()?;
        phase("commit index");
        Ok(ImportReport {
            files: staged.files,
            read,
            added,
            already_present: read.saturating_sub(added),
            counts: self.index.counts()?,
            seconds: start.elapsed().as_secs_f64(),
            phases,
            blank_node_statements,
            repeated_blank_nodes,
        })
    }

    #[cfg(not(feature = "rocksdb"))]
    fn write_store(
        &self,
        store: &Store,
        fresh: Vec<Quad>,
        writer: &mut crate::index::IndexWriter<'_>,
        phase: &mut dyn FnMut(&'static str),
    ) -> Result<()> {
        let mut loader = store.bulk_loader();
        loader.load_quads(fresh)?;
        loader.commit()?;
        phase("bulk load");
        let generation = self.index.meta(meta::GENERATION)? + 1;
        self.write_snapshot(store, generation)?;
        phase("snapshot");
        writer.set_meta(meta::GENERATION, generation);
        Ok(())
    }

    #[cfg(feature = "rocksdb")]
    fn write_store(
        &self,
        store: &Store,
        fresh: Vec<Quad>,
        _writer: &mut crate::index::IndexWriter<'_>,
        phase: &mut dyn FnMut(&'static str),
    ) -> Result<()> {
        // Mark first: if RocksDB commits and the process dies before the index batch, the next
        // open sees the mark and re-derives the index from the store.
        self.index.set_meta_now(meta::PENDING, 1)?;
        let mut loader = store.bulk_loader();
        loader.load_quads(fresh)?;
        loader.commit()?;
        phase("bulk load");
        store.flush()?;
        phase("flush");
        _writer.set_meta(meta::PENDING, 0);
        Ok(())
    }

    /// Writes the whole store as N-Quads, atomically ([`crate::fsutil::AtomicFile`]).
    #[cfg(not(feature = "rocksdb"))]
    fn write_snapshot(&self, store: &Store, generation: u64) -> Result<()> {
        let path = self.snapshot_path(generation);
        let file = crate::fsutil::AtomicFile::create(&path)?;
        let mut hashed = crate::integrity::CrcWriter::new(file);
        store
            .dump_to_writer(RdfFormat::NQuads, &mut hashed)
            .map_err(|e| match e {
                oxigraph::store::SerializerError::Io(io) => KgError::io(&path, io),
                oxigraph::store::SerializerError::Storage(s) => KgError::Store(s),
                other => KgError::io(&path, std::io::Error::other(other)),
            })?;
        let (crc, mut file) = hashed.finish();
        std::io::Write::write_all(&mut file, format!("{SNAPSHOT_CRC}{crc:08x}\n").as_bytes())
            .map_err(|e| KgError::io(&path, e))?;
        file.commit()?;
        Ok(())
    }

    /// Removes snapshots other than the current one: leftovers of replaced generations or of an
    /// import that died before its commit (a snapshot, or the temporary file of one).
    #[cfg(not(feature = "rocksdb"))]
    fn remove_stale_snapshots(&self) -> Result<()> {
        let current = self.index.meta(meta::GENERATION)?;
        let keep = self
            .snapshot_path(current)
            .file_name()
            .map(|n| n.to_owned());
        let entries = std::fs::read_dir(&self.dir).map_err(|e| KgError::io(&self.dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| KgError::io(&self.dir, e))?;
            let name = entry.file_name();
            let is_snapshot = name.to_string_lossy().starts_with("snapshot-")
                || crate::fsutil::is_leftover_temp(&name);
            if is_snapshot && Some(&name) != keep.as_ref() {
                let path = entry.path();
                std::fs::remove_file(&path).map_err(|e| KgError::io(&path, e))?;
            }
        }
        Ok(())
    }

    /// Re-derives the index from the RocksDB store after an import died between the two commits.
    #[cfg(feature = "rocksdb")]
    fn recover_index(&self) -> Result<()> {
        let mut writer = self.index.writer()?;
        let mut triples = 0u64;
        let mut literals = 0u64;
        let mut named = 0u64;
        for quad in self.store.iter() {
            let quad = quad?;
            triples += 1;
            if !quad.graph_name.is_default_graph() {
                named += 1;
            }
            if quad.object.is_literal() {
                literals += 1;
            }
            writer.add(&quad)?;
        }
        writer.set_meta(meta::TRIPLES, triples);
        writer.set_meta(meta::NAMED, named);
        writer.set_meta(meta::LITERALS, literals);
        writer.set_meta(meta::PENDING, 0);
        writer.commit()
    }

    /// Evaluates a read-only SPARQL query. Updates are refused.
    pub fn query(&self, query: &str) -> Result<QueryResults<'static>> {
        self.query_cancellable(query, CancellationToken::new())
    }

    /// [`KgStore::query`] that stops when `cancel` is cancelled: the evaluation looks at it at
    /// every statement it reads, and from then on yields `QueryEvaluationError::Cancelled`.
    pub fn query_cancellable(
        &self,
        query: &str,
        cancel: CancellationToken,
    ) -> Result<QueryResults<'static>> {
        evaluate(query, cancel, || self.rdf_store())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::ids::EntityId;
    use crate::projection::{Projection, Walk};
    use crate::source::SourceOptions;

    fn fixture_store() -> (tempfile::TempDir, KgStore) {
        let tmp = tempfile::tempdir().unwrap();
        let db = sled::open(tmp.path().join("sled")).unwrap();
        let mut kg = KgStore::open(&tmp.path().join("kg"), &db).unwrap();
        let options = ImportOptions {
            source: SourceOptions {
                format: None,
                base: None,
            },
            lenient: false,
        };
        let movies = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/movies.ttl");
        kg.import(&[movies], &options, &mut |_| {}).unwrap();
        (tmp, kg)
    }

    #[test]
    fn first_and_later_imports_count_new_and_present_statements() {
        let tmp = tempfile::tempdir().unwrap();
        let db = sled::open(tmp.path().join("sled")).unwrap();
        let mut kg = KgStore::open(&tmp.path().join("kg"), &db).unwrap();
        let write = |name: &str, lines: &[&str]| {
            let path = tmp.path().join(name);
            std::fs::write(&path, lines.join("\n")).unwrap();
            path
        };
        let (a, b, c) = (
            "<urn:x:a> <urn:x:r> <urn:x:b> .",
            "<urn:x:b> <urn:x:r> <urn:x:c> .",
            "<urn:x:c> <urn:x:r> <urn:x:a> .",
        );
        let first = write("first.nt", &[a, b, a]);
        let second = write("second.nt", &[b, c]);
        let options = ImportOptions::default();
        // Empty store: no lookups, the repeat within the file still counts as present.
        let r = kg
            .import(std::slice::from_ref(&first), &options, &mut |_| {})
            .unwrap();
        assert_eq!((r.read, r.added, r.already_present), (3, 2, 1));
        let r = kg.import(&[first], &options, &mut |_| {}).unwrap();
        assert_eq!((r.read, r.added, r.already_present), (3, 0, 3));
        let r = kg.import(&[second], &options, &mut |_| {}).unwrap();
        assert_eq!((r.read, r.added, r.already_present), (2, 1, 1));
        assert_eq!(r.counts.triples, 3);
        assert_eq!(kg.rdf_store().unwrap().len().unwrap(), 3);
    }

    /// Statements in named graphs (N-Quads, TriG) are in the default graph SPARQL sees, as
    /// they are in the recommendation graph; `GRAPH ?g` still finds their graphs.
    #[test]
    fn queries_see_named_graphs_in_the_default_graph() {
        let tmp = tempfile::tempdir().unwrap();
        let db = sled::open(tmp.path().join("sled")).unwrap();
        let mut kg = KgStore::open(&tmp.path().join("kg"), &db).unwrap();
        let nq = tmp.path().join("g.nq");
        std::fs::write(
            &nq,
            "<urn:a> <urn:p> <urn:b> <urn:g1> .\n<urn:c> <urn:p> <urn:d> .\n",
        )
        .unwrap();
        kg.import(&[nq], &ImportOptions::default(), &mut |_| {})
            .unwrap();
        let count = |query: &str| match kg.query(query).unwrap() {
            QueryResults::Solutions(mut rows) => rows
                .next()
                .unwrap()
                .unwrap()
                .get("n")
                .map(ToString::to_string),
            _ => None,
        };
        let n = |v: u32| {
            Some(format!(
                "\"{v}\"^^<http://www.w3.org/2001/XMLSchema#integer>"
            ))
        };
        assert_eq!(count("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"), n(2));
        assert_eq!(kg.counts().unwrap().named_graph_statements, 1);
        assert_eq!(
            count("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"),
            n(1)
        );
    }

    /// The store as another process opens it holds what the store holds, while the store is
    /// open (RocksDB: a read-only instance beside the writer); before any import, nothing.
    #[test]
    fn a_detached_store_answers_as_the_store_does() {
        let tmp = tempfile::tempdir().unwrap();
        let db = sled::open(tmp.path().join("sled")).unwrap();
        let empty = KgStore::open(&tmp.path().join("empty"), &db).unwrap();
        if cfg!(not(feature = "rocksdb")) {
            assert_eq!(empty.detached().unwrap(), Detached::Empty);
        }
        assert_eq!(empty.detached().unwrap().open().unwrap().len().unwrap(), 0);
        drop(empty);
        let (_tmp, kg) = fixture_store();
        let count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }";
        let n = |results: QueryResults<'static>| match results {
            QueryResults::Solutions(mut rows) => rows.next().unwrap().unwrap().get("n").cloned(),
            _ => None,
        };
        let detached = kg.detached().unwrap().open().unwrap();
        let there = n(query_store(&detached, count, CancellationToken::new()).unwrap());
        let here = n(kg.query(count).unwrap());
        assert!(here.is_some());
        assert_eq!(there, here);
        assert!(
            query_store(
                &detached,
                "INSERT DATA { <urn:a> <urn:b> <urn:c> }",
                CancellationToken::new()
            )
            .is_err()
        );
    }

    #[cfg(not(feature = "rocksdb"))]
    #[test]
    fn an_import_keeps_one_snapshot_and_removes_what_a_killed_import_left() {
        let tmp = tempfile::tempdir().unwrap();
        let db = sled::open(tmp.path().join("sled")).unwrap();
        let dir = tmp.path().join("kg");
        let mut kg = KgStore::open(&dir, &db).unwrap();
        // A snapshot written but never committed, and one killed while being written.
        std::fs::write(dir.join("snapshot-000007.nq"), "").unwrap();
        let half = dir.join(".snapshot-000001.nq.4242.0.kgrec-tmp");
        std::fs::write(&half, "<urn:x:a> <urn:x:r").unwrap();
        let nt = tmp.path().join("g.nt");
        std::fs::write(&nt, "<urn:x:a> <urn:x:r> <urn:x:b> .\n").unwrap();
        kg.import(&[nt], &ImportOptions::default(), &mut |_| {})
            .unwrap();
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["snapshot-000001.nq"]);
        let snapshot = std::fs::read_to_string(dir.join(&names[0])).unwrap();
        let lines: Vec<&str> = snapshot.lines().collect();
        assert_eq!(lines.len(), 2, "one statement and the checksum: {snapshot}");
        assert!(lines[1].starts_with(SNAPSHOT_CRC), "{snapshot}");
    }

    /// A snapshot's checksum trailer catches a changed byte anywhere before it; a snapshot
    /// without a trailer (written before checksums) still loads; a damaged trailer leaves the
    /// statements as they were.
    #[test]
    #[cfg(not(feature = "rocksdb"))]
    #[allow(clippy::panic)]
    fn a_damaged_snapshot_is_corruption_and_one_without_checksum_still_loads() {
        let (_tmp, kg) = fixture_store();
        let Detached::Snapshot(path) = kg.detached().unwrap() else {
            panic!("the default build keeps a snapshot");
        };
        let good = std::fs::read(&path).unwrap();
        let statements = |store: &Store| store.len().unwrap();
        let want = statements(&load_snapshot_file(&path).unwrap());
        let body = good.len() - SNAPSHOT_TRAILER_LEN;
        for at in [0, 1, body / 3, body / 2, body - 2] {
            let mut bad = good.clone();
            bad[at] ^= 0x20;
            std::fs::write(&path, &bad).unwrap();
            let Err(err) = load_snapshot_file(&path) else {
                panic!("byte {at}: loaded");
            };
            assert!(
                matches!(err, KgError::Corruption { .. }) && err.to_string().contains("damaged"),
                "byte {at}: {err}"
            );
        }
        std::fs::write(&path, &good[..body]).unwrap();
        assert_eq!(statements(&load_snapshot_file(&path).unwrap()), want);
        let mut bad = good.clone();
        bad[body + SNAPSHOT_CRC.len() + 3] = b'x';
        std::fs::write(&path, &bad).unwrap();
        assert_eq!(statements(&load_snapshot_file(&path).unwrap()), want);
    }

    #[test]
    fn a_cancelled_query_stops_with_cancelled() {
        let (_tmp, kg) = fixture_store();
        let cross_join = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }";
        let cancel = CancellationToken::new();
        let results = kg.query_cancellable(cross_join, cancel.clone()).unwrap();
        let QueryResults::Solutions(mut solutions) = results else {
            unreachable!("a SELECT gives solutions");
        };
        assert!(solutions.next().unwrap().is_ok(), "not cancelled yet");
        cancel.cancel();
        let stopped = solutions.find_map(Result::err);
        assert!(
            matches!(
                stopped,
                Some(oxigraph::sparql::QueryEvaluationError::Cancelled)
            ),
            "{stopped:?}"
        );
        assert!(matches!(
            kg.query("ASK { ?s ?p ?o }").unwrap(),
            QueryResults::Boolean(true)
        ));
    }

    #[test]
    fn the_fixture_projects_to_walkable_labelled_edges() {
        let (_tmp, kg) = fixture_store();
        let index = kg.index();
        let projection = Projection::from_index(index).unwrap();
        let counts = kg.counts().unwrap();
        assert_eq!(projection.n_entities() as u64, counts.entities);
        assert_eq!(projection.n_edges() as u64, counts.edges);

        let toy_story = index
            .entity_id("http://dbpedia.org/resource/Toy_Story")
            .unwrap()
            .unwrap();
        let director = index
            .relation_id("http://dbpedia.org/ontology/director")
            .unwrap()
            .unwrap();
        let lasseter = projection
            .out_edges(toy_story)
            .find(|(r, _)| *r == director)
            .map(|(_, e)| e)
            .unwrap();
        assert_eq!(
            index.label(lasseter).unwrap().as_deref(),
            Some("John Lasseter")
        );
        // Walking back along `director` from a person reaches their films.
        let films_of = |person: EntityId| -> Vec<String> {
            projection
                .steps(person)
                .filter(|s| s.walk == Walk::Inverse && s.relation == director)
                .map(|s| index.label(s.to).unwrap().unwrap_or_default())
                .collect()
        };
        assert_eq!(films_of(lasseter), vec!["Toy Story".to_owned()]);
        let spielberg = index
            .entity_id("http://dbpedia.org/resource/Steven_Spielberg")
            .unwrap()
            .unwrap();
        let films = films_of(spielberg);
        assert!(films.contains(&"Jaws".to_owned()), "{films:?}");
        assert!(films.len() >= 3, "{films:?}");
        // Every projected edge is a statement of the RDF store.
        let store = kg.rdf_store().unwrap();
        let iris = index.entity_iris().unwrap();
        let relations = index.relation_iris().unwrap();
        for t in projection.triples() {
            let node = |s: &str| oxigraph::model::NamedNode::new(s).unwrap();
            let quad = oxigraph::model::Quad::new(
                node(&iris[t.head.index()]),
                node(&relations[t.relation.index()]),
                node(&iris[t.tail.index()]),
                oxigraph::model::GraphName::DefaultGraph,
            );
            assert!(store.contains(&quad).unwrap(), "{quad}");
        }
    }
}
