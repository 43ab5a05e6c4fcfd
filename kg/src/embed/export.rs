//! The embedding export of PRODUCT.md ("Embedding export"): `entities.tsv`, `relations.tsv`
//! (`token<TAB>v1<TAB>v2...`, no header) and `meta.json`, and loading it back.
//!
//! Row layouts: TransE rows are the vectors; RotatE entity rows hold the `dim` real parts then the
//! `dim` imaginary parts and relation rows the `dim` phases; TransR relation rows hold the
//! `rel_dim` relation vector followed by the row-major `rel_dim × dim` projection matrix.
//! For TransE the same two tables are also written as `entity_embeddings.tsv` and
//! `relation_embeddings.tsv`, the names the independent checker
//! `shared/peers/check_kge_export.py` (and PyKEEN's peer export) use. Values are written in Rust's
//! shortest round-trip form, so a reloaded model ranks exactly like the one that was written.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::dataset::Vocab;
use super::model::{KgeModel, Matrix, ModelKind, Norm};
use crate::fsutil::write_output;

/// Why an export could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}: {message}", path.display())]
    Meta { path: PathBuf, message: String },
    /// A file of the export that could not be written whole.
    #[error(transparent)]
    Write(#[from] crate::fsutil::FsError),
    #[error("the {what} vocabulary has {vocab} tokens but the model has {rows} rows")]
    VocabMismatch {
        what: &'static str,
        vocab: usize,
        rows: usize,
    },
    /// A file of the folder that an export would replace, and must not.
    #[error("{}: {reason}", path.display())]
    Refused { path: PathBuf, reason: String },
}

/// The files an export writes (the last two: TransE's copies under the peers' names).
pub const EXPORT_FILES: [&str; 5] = [
    "entities.tsv",
    "relations.tsv",
    "meta.json",
    "entity_embeddings.tsv",
    "relation_embeddings.tsv",
];

/// What an export into `dir` would replace, checked before anything is trained or written: the
/// names of [`EXPORT_FILES`] already in `dir`. A name that is a symbolic link or not a regular
/// file is refused: an export writes its own files and never writes through a link into
/// another file. Regular files are refused too, unless `dir` holds the `meta.json` of an
/// earlier export (then they are that export's) or `force`.
pub fn check_export_dir(dir: &Path, force: bool) -> Result<Vec<&'static str>, ExportError> {
    let mut present = Vec::new();
    for name in EXPORT_FILES {
        let path = dir.join(name);
        let meta = match fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io(&path)(e)),
        };
        let refuse = |what: &str| ExportError::Refused {
            path: path.clone(),
            reason: format!(
                "{what}: an export writes its own files, never through it; remove it or export \
                 into another folder"
            ),
        };
        if meta.file_type().is_symlink() {
            return Err(refuse("a symbolic link"));
        }
        if !meta.is_file() {
            return Err(refuse("not a regular file"));
        }
        present.push(name);
    }
    if !present.is_empty() && !force && !is_export_dir(dir) {
        return Err(ExportError::Refused {
            path: dir.to_owned(),
            reason: format!(
                "holds {} but no meta.json of an earlier embedding export, so they may be \
                 someone's own files: export into another folder, or pass --force to replace them",
                present.join(", ")
            ),
        });
    }
    Ok(present)
}

/// Whether `dir` holds the `meta.json` of an earlier embedding export (a model kgrec knows).
pub fn is_export_dir(dir: &Path) -> bool {
    fs::read_to_string(dir.join("meta.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<Meta>(&text).ok())
        .is_some_and(|meta| meta.kind().is_some())
}

/// `meta.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub model: String,
    pub dim: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub norm: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rel_dim: Option<usize>,
}

impl Meta {
    pub fn of(model: &KgeModel) -> Self {
        let (norm, rel_dim) = match model.kind() {
            ModelKind::TransE { norm } => (Some(norm.p()), None),
            ModelKind::RotatE => (None, None),
            ModelKind::TransR { norm, rel_dim } => (Some(norm.p()), Some(rel_dim)),
        };
        Self {
            model: model.kind().name().to_owned(),
            dim: model.dim(),
            norm,
            rel_dim,
        }
    }

    /// The scoring function `meta.json` describes; `None` for an unknown model, norm or a TransR
    /// without `rel_dim`.
    pub fn kind(&self) -> Option<ModelKind> {
        let norm = || Norm::from_p(u64::from(self.norm.unwrap_or(1)));
        match self.model.as_str() {
            "transe" => Some(ModelKind::TransE { norm: norm()? }),
            "rotate" => Some(ModelKind::RotatE),
            "transr" => Some(ModelKind::TransR {
                norm: norm()?,
                rel_dim: self.rel_dim?,
            }),
            _ => None,
        }
    }
}

/// Writes the export of `model` into `dir` (created if missing). Each file is written whole or
/// not at all, by the output rules of [`crate::fsutil::write_output`]; callers check the
/// folder first with [`check_export_dir`], which refuses links and files of someone else's.
pub fn write_export(
    dir: &Path,
    model: &KgeModel,
    entities: &Vocab,
    relations: &Vocab,
) -> Result<(), ExportError> {
    for (what, vocab, rows) in [
        ("entity", entities, model.num_entities()),
        ("relation", relations, model.num_relations()),
    ] {
        if vocab.len() != rows {
            return Err(ExportError::VocabMismatch {
                what,
                vocab: vocab.len(),
                rows,
            });
        }
    }
    // Written whole into a temporary folder beside `dir`, then moved into place in one step
    // that an interrupt cannot split: a failure or a Ctrl-C leaves the earlier export as it was.
    let dir = match fs::canonicalize(dir) {
        Ok(real) if real.is_dir() => real,
        _ => dir.to_owned(),
    };
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::fsutil::create_dirs(parent).map_err(io(parent))?;
    }
    let (stage, _registered) = crate::fsutil::temp_sibling_dir(&dir)?;
    let placed = write_files(&stage, model, entities, relations)
        .and_then(|written| put_in_place(&stage, &dir, &written));
    if stage.exists() {
        let _ = fs::remove_dir_all(&stage);
    }
    placed
}

/// Writes the files of the export into `dir` (an empty folder) and returns their names.
fn write_files(
    dir: &Path,
    model: &KgeModel,
    entities: &Vocab,
    relations: &Vocab,
) -> Result<Vec<&'static str>, ExportError> {
    let rel_rows = |r: usize, buf: &mut Vec<f32>| {
        buf.clear();
        buf.extend_from_slice(model.relation_matrix().row(r));
        if let Some(p) = model.projection_matrix() {
            buf.extend_from_slice(p.row(r));
        }
    };
    let mut ent_names = vec!["entities.tsv"];
    let mut rel_names = vec!["relations.tsv"];
    if let ModelKind::TransE { .. } = model.kind() {
        ent_names.push("entity_embeddings.tsv");
        rel_names.push("relation_embeddings.tsv");
    }
    for name in &ent_names {
        write_table(&dir.join(name), entities, |e, buf| {
            buf.clear();
            buf.extend_from_slice(model.entity_matrix().row(e));
        })?;
    }
    for name in &rel_names {
        write_table(&dir.join(name), relations, rel_rows)?;
    }
    let path = dir.join("meta.json");
    let json = serde_json::to_string(&Meta::of(model)).map_err(|e| ExportError::Meta {
        path: path.clone(),
        message: e.to_string(),
    })?;
    write_output(&path, |w| w.write_all((json + "\n").as_bytes()))?;
    Ok(ent_names
        .into_iter()
        .chain(rel_names)
        .chain(["meta.json"])
        .collect())
}

/// Puts the finished export in `stage` at `dir`: a new `dir` is the renamed `stage`; an existing
/// one gets each file renamed over its own, and loses the export files this one does not write
/// (an earlier TransE export's copies must not sit beside a meta.json naming another model),
/// keeping any other file of its owner's. Either way in one commit section
/// ([`crate::fsutil::commit_section`]), so that a Ctrl-C finds the old export or the new one.
fn put_in_place(stage: &Path, dir: &Path, written: &[&str]) -> Result<(), ExportError> {
    let exists = fs::symlink_metadata(dir).is_ok();
    crate::fsutil::commit_section(|| {
        if !exists {
            return fs::rename(stage, dir).map_err(io(dir));
        }
        for name in written {
            let target = dir.join(name);
            fs::rename(stage.join(name), &target).map_err(io(&target))?;
        }
        for stale in EXPORT_FILES.iter().filter(|name| !written.contains(name)) {
            let path = dir.join(stale);
            match fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&path)(e)),
                _ => {}
            }
        }
        Ok(())
    })?;
    #[cfg(unix)]
    for synced in [
        Some(dir),
        dir.parent().filter(|p| !p.as_os_str().is_empty()),
    ]
    .into_iter()
    .flatten()
    {
        File::open(synced)
            .and_then(|d| d.sync_all())
            .map_err(io(synced))?;
    }
    Ok(())
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Io {
        path: path.to_owned(),
        source,
    }
}

fn write_table(
    path: &Path,
    vocab: &Vocab,
    mut row: impl FnMut(usize, &mut Vec<f32>),
) -> Result<(), ExportError> {
    write_output(path, |w| {
        let (mut line, mut values) = (String::new(), Vec::new());
        for (i, token) in vocab.tokens().iter().enumerate() {
            line.clear();
            line.push_str(token);
            row(i, &mut values);
            for v in &values {
                let _ = write!(line, "\t{v}");
            }
            line.push('\n');
            w.write_all(line.as_bytes())?;
        }
        Ok(())
    })?;
    Ok(())
}

fn read_table(path: &Path, width: usize) -> Result<(Vec<String>, Vec<f32>), ExportError> {
    let reader = BufReader::new(File::open(path).map_err(io(path))?);
    let (mut tokens, mut data) = (Vec::new(), Vec::new());
    for (n, line) in reader.lines().enumerate() {
        let line = line.map_err(io(path))?;
        if line.is_empty() {
            continue;
        }
        let parse = |message: String| ExportError::Parse {
            path: path.to_owned(),
            line: n + 1,
            message,
        };
        let mut fields = line.split('\t');
        let token = fields.next().unwrap_or_default();
        let before = data.len();
        for f in fields {
            data.push(
                f.parse::<f32>()
                    .map_err(|e| parse(format!("bad number {f:?}: {e}")))?,
            );
        }
        if data.len() - before != width {
            return Err(parse(format!(
                "expected {width} values, found {}",
                data.len() - before
            )));
        }
        tokens.push(token.to_owned());
    }
    Ok((tokens, data))
}

/// Loads an export written by [`write_export`]: the model and its entity and relation dictionaries.
pub fn read_export(dir: &Path) -> Result<(KgeModel, Vocab, Vocab), ExportError> {
    let meta_path = dir.join("meta.json");
    let meta_err = |message: String| ExportError::Meta {
        path: meta_path.clone(),
        message,
    };
    let text = fs::read_to_string(&meta_path).map_err(io(&meta_path))?;
    let meta: Meta = serde_json::from_str(&text).map_err(|e| meta_err(e.to_string()))?;
    let kind = meta
        .kind()
        .ok_or_else(|| meta_err(format!("unsupported model/norm/rel_dim in {text:?}")))?;
    let d = meta.dim;
    // Checked: a damaged `meta.json` may hold any number (found while writing the export fuzzing: `dim`
    // 0 panicked on zero-width rows, a huge one overflowed).
    let widths = match kind {
        ModelKind::TransE { .. } => Some((d, d, 0)),
        ModelKind::RotatE => d.checked_mul(2).map(|w| (w, d, 0)),
        ModelKind::TransR { rel_dim, .. } => rel_dim
            .checked_mul(d)
            .filter(|p| p.checked_add(rel_dim).is_some())
            .map(|p| (d, rel_dim, p)),
    };
    let (ent_w, rel_w, proj_w) = widths
        .filter(|&(ent_w, rel_w, _)| ent_w > 0 && rel_w > 0)
        .ok_or_else(|| meta_err(format!("dimensions out of range in {text:?}")))?;
    let ent_path = dir.join("entities.tsv");
    let rel_path = dir.join("relations.tsv");
    let (ent_tokens, ent_data) = read_table(&ent_path, ent_w)?;
    let (rel_tokens, rel_data) = read_table(&rel_path, rel_w + proj_w)?;
    let duplicate = |path: &Path| ExportError::Parse {
        path: path.to_owned(),
        line: 0,
        message: "a token appears twice".into(),
    };
    let entities = Vocab::from_tokens(ent_tokens).ok_or_else(|| duplicate(&ent_path))?;
    let relations = Vocab::from_tokens(rel_tokens).ok_or_else(|| duplicate(&rel_path))?;
    let (ne, nr) = (entities.len(), relations.len());
    let mut rel = Vec::with_capacity(nr * rel_w);
    let mut proj = Vec::with_capacity(nr * proj_w);
    for row in rel_data.chunks_exact(rel_w + proj_w) {
        rel.extend_from_slice(&row[..rel_w]);
        proj.extend_from_slice(&row[rel_w..]);
    }
    let shape = || meta_err("matrix shapes do not match meta.json".into());
    let entity = Matrix::from_vec(ne, ent_w, ent_data).ok_or_else(shape)?;
    let relation = Matrix::from_vec(nr, rel_w, rel).ok_or_else(shape)?;
    let projection = match proj_w {
        0 => None,
        w => Some(Matrix::from_vec(nr, w, proj).ok_or_else(shape)?),
    };
    let model = KgeModel::from_parts(kind, d, entity, relation, projection).ok_or_else(shape)?;
    Ok((model, entities, relations))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::embed::dataset::Dataset;
    use crate::embed::eval::{FilterIndex, evaluate};
    use crate::embed::run::evaluate_export;
    use crate::embed::train::{KgeParams, RotatE, TransE, TransR};

    const TRAIN: &str = "a\tlikes\tb\nb\tlikes\tc\nc\tknows\ta\nd\tknows\tb\na\tknows\td\n";

    fn dataset_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("train.txt"), TRAIN).unwrap();
        std::fs::write(dir.path().join("valid.txt"), "a\tlikes\tc\n").unwrap();
        std::fs::write(dir.path().join("test.txt"), "b\tknows\ta\nd\tlikes\tc\n").unwrap();
        dir
    }

    fn fit(params: KgeParams, data: &Dataset) -> KgeModel {
        params
            .dim(6)
            .epochs(2)
            .batch_size(4)
            .check()
            .unwrap()
            .fit(data, &mut ChaCha8Rng::seed_from_u64(9), &mut |_| {})
            .unwrap()
            .model
    }

    #[test]
    fn round_trip_every_model() {
        let ds = dataset_dir();
        let data = Dataset::load(ds.path()).unwrap();
        for params in [
            TransE::params(),
            RotatE::params(),
            TransR::params().rel_dim(3),
        ] {
            let model = fit(params, &data);
            let out = tempfile::tempdir().unwrap();
            write_export(out.path(), &model, &data.entities, &data.relations).unwrap();
            let (back, ents, rels) = read_export(out.path()).unwrap();
            assert_eq!(back, model);
            assert_eq!(ents, data.entities);
            assert_eq!(rels, data.relations);
            let ent_tsv = std::fs::read_to_string(out.path().join("entities.tsv")).unwrap();
            let first: Vec<&str> = ent_tsv.lines().next().unwrap().split('\t').collect();
            assert_eq!(first[0], "a");
            let rel_tsv = std::fs::read_to_string(out.path().join("relations.tsv")).unwrap();
            let rel_width = rel_tsv.lines().next().unwrap().split('\t').count() - 1;
            let meta: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(out.path().join("meta.json")).unwrap(),
            )
            .unwrap();
            let peer_copy = out.path().join("entity_embeddings.tsv").exists();
            match model.kind() {
                ModelKind::TransE { .. } => {
                    assert_eq!(
                        meta,
                        serde_json::json!({"model": "transe", "dim": 6, "norm": 1})
                    );
                    assert_eq!((first.len() - 1, rel_width), (6, 6));
                    assert!(peer_copy);
                }
                ModelKind::RotatE => {
                    assert_eq!(meta, serde_json::json!({"model": "rotate", "dim": 6}));
                    // Real parts then imaginary parts; one phase per coordinate.
                    assert_eq!((first.len() - 1, rel_width), (12, 6));
                    assert!(!peer_copy);
                }
                ModelKind::TransR { .. } => {
                    assert_eq!(meta["rel_dim"], 3);
                    assert_eq!((first.len() - 1, rel_width), (6, 3 + 18));
                }
            }
        }
    }

    #[test]
    fn evaluate_export_matches_in_memory_evaluation() {
        let ds = dataset_dir();
        let data = Dataset::load(ds.path()).unwrap();
        let model = fit(TransE::params(), &data);
        let out = tempfile::tempdir().unwrap();
        write_export(out.path(), &model, &data.entities, &data.relations).unwrap();
        let from_disk = evaluate_export(ds.path(), out.path()).unwrap();
        let in_memory = evaluate(&model, &data.test, &FilterIndex::new(data.all_triples()));
        assert_eq!(from_disk, in_memory);
        assert_eq!(from_disk.both.count, 4);
    }

    #[test]
    fn bad_rows_name_file_and_line() {
        let out = tempfile::tempdir().unwrap();
        std::fs::write(
            out.path().join("meta.json"),
            r#"{"model":"transe","dim":2,"norm":1}"#,
        )
        .unwrap();
        std::fs::write(out.path().join("entities.tsv"), "a\t1\t2\nb\t1\n").unwrap();
        std::fs::write(out.path().join("relations.tsv"), "r\t1\t2\n").unwrap();
        match read_export(out.path()) {
            Err(ExportError::Parse { path, line, .. }) => {
                assert!(path.ends_with("entities.tsv"));
                assert_eq!(line, 2);
            }
            other => panic!("unexpected {other:?}"),
        }
        std::fs::write(
            out.path().join("meta.json"),
            r#"{"model":"distmult","dim":2}"#,
        )
        .unwrap();
        assert!(matches!(
            read_export(out.path()),
            Err(ExportError::Meta { .. })
        ));
    }

    /// Regression (found while writing the export fuzzing): `dim` 0 made rows of no values, and the
    /// relation rows were cut into chunks of width 0, a panic; a huge `dim` or `rel_dim`
    /// overflowed the widths. Each is now an error naming `meta.json`.
    #[test]
    fn dimensions_out_of_range_in_meta_are_an_error() {
        let out = tempfile::tempdir().unwrap();
        std::fs::write(out.path().join("entities.tsv"), "a\nb\n").unwrap();
        std::fs::write(out.path().join("relations.tsv"), "r\n").unwrap();
        let huge = usize::MAX / 2 + 1;
        for meta in [
            r#"{"model":"transe","dim":0,"norm":1}"#.to_owned(),
            r#"{"model":"transr","dim":0,"norm":1,"rel_dim":0}"#.to_owned(),
            format!(r#"{{"model":"rotate","dim":{huge}}}"#),
            format!(r#"{{"model":"transr","dim":4,"norm":1,"rel_dim":{huge}}}"#),
        ] {
            std::fs::write(out.path().join("meta.json"), &meta).unwrap();
            match read_export(out.path()) {
                Err(e @ ExportError::Meta { .. }) => {
                    assert!(e.to_string().contains("meta.json"), "{e}")
                }
                other => panic!("{meta}: {other:?}"),
            }
        }
    }
}
