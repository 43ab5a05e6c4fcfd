//! Link-prediction data sets: the token dictionaries and the train/valid/test triples of a
//! benchmark folder (`train.txt`, `valid.txt`, `test.txt`, `head<TAB>relation<TAB>tail`, or in
//! a line without tabs three blank-separated tokens), or the
//! same shape built from in-memory triples.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::ids::{EntityId, RelationId, Triple};

/// Why a data set could not be loaded or built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatasetError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{}:{line}:{column}: expected 3 tab-separated fields (head, relation, tail), or in a \
         line without tabs 3 tokens separated by blanks; found {found} {}{hint}",
        path.display(),
        if *found == 1 { "field" } else { "fields" }
    )]
    BadLine {
        path: PathBuf,
        line: usize,
        /// Where the line goes wrong: its end when it has too few fields, else the 4th field.
        column: usize,
        found: usize,
        /// What the line is split by, when it is neither tabs nor blanks (`; it is split by
        /// commas ...`), else nothing.
        hint: String,
    },
    #[error("{}:{line}: empty token in field {field}", path.display())]
    EmptyToken {
        path: PathBuf,
        line: usize,
        field: usize,
    },
    #[error("too many distinct {kind} tokens for 32-bit ids")]
    TooManyTokens { kind: &'static str },
    #[error("{split} triple {index} uses {kind} id {id}, but there are only {count}")]
    IdOutOfRange {
        split: &'static str,
        index: usize,
        kind: &'static str,
        id: u32,
        count: u32,
    },
    #[error("the training split is empty")]
    EmptyTrain,
}

/// A dense token dictionary: id `n` is the `n`-th distinct token seen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Vocab {
    tokens: Vec<String>,
    index: HashMap<String, u32>,
}

impl Vocab {
    /// A dictionary whose tokens are the decimal ids `0..count`, for graphs that come without names.
    pub fn numbered(count: u32) -> Self {
        let mut v = Self::default();
        for n in 0..count {
            v.tokens.push(n.to_string());
            v.index.insert(n.to_string(), n);
        }
        v
    }

    /// Builds a dictionary from tokens in id order; `None` if a token repeats.
    pub fn from_tokens(tokens: Vec<String>) -> Option<Self> {
        let mut index = HashMap::with_capacity(tokens.len());
        for (n, t) in tokens.iter().enumerate() {
            let id = u32::try_from(n).ok()?;
            if index.insert(t.clone(), id).is_some() {
                return None;
            }
        }
        Some(Self { tokens, index })
    }

    fn intern(&mut self, token: &str, kind: &'static str) -> Result<u32, DatasetError> {
        if let Some(&id) = self.index.get(token) {
            return Ok(id);
        }
        let id =
            u32::try_from(self.tokens.len()).map_err(|_| DatasetError::TooManyTokens { kind })?;
        self.tokens.push(token.to_owned());
        self.index.insert(token.to_owned(), id);
        Ok(id)
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    pub fn get(&self, token: &str) -> Option<u32> {
        self.index.get(token).copied()
    }

    pub fn token(&self, id: u32) -> Option<&str> {
        self.tokens.get(id as usize).map(String::as_str)
    }

    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }
}

/// A link-prediction benchmark: dictionaries and three splits of triples.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub entities: Vocab,
    pub relations: Vocab,
    pub train: Vec<Triple>,
    pub valid: Vec<Triple>,
    pub test: Vec<Triple>,
}

impl Dataset {
    /// Loads `dir/{train,valid,test}.txt`. Ids are dense and given in first-seen order over train,
    /// then valid, then test, so every entity of every split has a vector (the OpenKE convention;
    /// PyKEEN instead drops valid/test triples whose tokens are absent from train).
    pub fn load(dir: &Path) -> Result<Self, DatasetError> {
        let mut entities = Vocab::default();
        let mut relations = Vocab::default();
        let mut splits: [Vec<Triple>; 3] = Default::default();
        for (split, name) in splits
            .iter_mut()
            .zip(["train.txt", "valid.txt", "test.txt"])
        {
            *split = read_split(&dir.join(name), &mut entities, &mut relations)?;
        }
        let [train, valid, test] = splits;
        Self::with_vocabs(entities, relations, train, valid, test)
    }

    /// Builds a data set from id triples (e.g. the data directory's graph); tokens are the decimal
    /// ids. Every id must be below its count.
    pub fn from_triples(
        num_entities: u32,
        num_relations: u32,
        train: Vec<Triple>,
        valid: Vec<Triple>,
        test: Vec<Triple>,
    ) -> Result<Self, DatasetError> {
        Self::with_vocabs(
            Vocab::numbered(num_entities),
            Vocab::numbered(num_relations),
            train,
            valid,
            test,
        )
    }

    /// Builds a data set from id triples and named dictionaries; every id must have a token.
    pub fn with_vocabs(
        entities: Vocab,
        relations: Vocab,
        train: Vec<Triple>,
        valid: Vec<Triple>,
        test: Vec<Triple>,
    ) -> Result<Self, DatasetError> {
        if train.is_empty() {
            return Err(DatasetError::EmptyTrain);
        }
        let (ne, nr) = (count_u32(entities.len()), count_u32(relations.len()));
        for (split, triples) in [("train", &train), ("valid", &valid), ("test", &test)] {
            for (index, t) in triples.iter().enumerate() {
                for (kind, id, count) in [
                    ("entity", t.head.0, ne),
                    ("relation", t.relation.0, nr),
                    ("entity", t.tail.0, ne),
                ] {
                    if id >= count {
                        return Err(DatasetError::IdOutOfRange {
                            split,
                            index,
                            kind,
                            id,
                            count,
                        });
                    }
                }
            }
        }
        Ok(Self {
            entities,
            relations,
            train,
            valid,
            test,
        })
    }

    pub fn num_entities(&self) -> usize {
        self.entities.len()
    }

    pub fn num_relations(&self) -> usize {
        self.relations.len()
    }

    /// Every known true triple (train, valid and test): the filter of the Bordes protocol.
    pub fn all_triples(&self) -> impl Iterator<Item = &Triple> {
        self.train.iter().chain(&self.valid).chain(&self.test)
    }
}

impl Dataset {
    /// The test triples whose head, relation or tail never occurs in `train` (their vectors
    /// were never trained: the OpenKE convention gives them ids and ranks them anyway), in
    /// file order.
    pub fn test_unseen_in_train(&self) -> Vec<&Triple> {
        let mut entities = vec![false; self.entities.len()];
        let mut relations = vec![false; self.relations.len()];
        for t in &self.train {
            for e in [t.head.0, t.tail.0] {
                if let Some(seen) = entities.get_mut(e as usize) {
                    *seen = true;
                }
            }
            if let Some(seen) = relations.get_mut(t.relation.0 as usize) {
                *seen = true;
            }
        }
        let seen = |v: &[bool], id: u32| v.get(id as usize).copied().unwrap_or(false);
        self.test
            .iter()
            .filter(|t| {
                !(seen(&entities, t.head.0)
                    && seen(&entities, t.tail.0)
                    && seen(&relations, t.relation.0))
            })
            .collect()
    }
}

/// The first line of the split file `path` when [`Dataset::load`] skips it as a header
/// (`head relation tail`, `subject predicate object`, RecBole's typed names), its fields
/// joined by tabs; `None` when it is a triple or the file cannot be read.
pub fn header_line(path: &Path) -> Option<String> {
    let file = File::open(path).ok()?;
    let mut line = String::new();
    BufReader::new(file).read_line(&mut line).ok()?;
    let line = line.trim_end_matches(['\n', '\r']);
    let joined = split_fields(line).join("\t");
    crate::source::is_tsv_header(&joined).then_some(joined)
}

/// A split line's fields: tab-separated, or (as KGAT's and some OpenKE files) in a line
/// without tabs, blank-separated tokens, as `import kg` reads them.
fn split_fields(line: &str) -> Vec<&str> {
    match line.contains('\t') {
        true => line.split('\t').collect(),
        false => line.split_whitespace().collect(),
    }
}

fn count_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn read_split(
    path: &Path,
    entities: &mut Vocab,
    relations: &mut Vocab,
) -> Result<Vec<Triple>, DatasetError> {
    let io = |source| DatasetError::Io {
        path: path.to_owned(),
        source,
    };
    let reader = BufReader::new(File::open(path).map_err(io)?);
    let mut out = Vec::new();
    for (n, line) in reader.lines().enumerate() {
        let line = line.map_err(io)?;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let fields = split_fields(line);
        // A first line naming the columns (`head relation tail`, ...) is skipped as `import kg`
        // skips it; [`header_line`] lets a caller say so.
        if n == 0 && crate::source::is_tsv_header(&fields.join("\t")) {
            continue;
        }
        if fields.len() != 3 {
            return Err(bad_line(path, n + 1, line, &fields));
        }
        if let Some(field) = fields.iter().position(|f| f.is_empty()) {
            return Err(DatasetError::EmptyToken {
                path: path.to_owned(),
                line: n + 1,
                field: field + 1,
            });
        }
        let head = entities.intern(fields[0], "entity")?;
        let relation = relations.intern(fields[1], "relation")?;
        let tail = entities.intern(fields[2], "entity")?;
        out.push(Triple::new(
            EntityId(head),
            RelationId(relation),
            EntityId(tail),
        ));
    }
    Ok(out)
}

/// The error of a line of `fields` that is not three: located at its end (too few fields) or
/// at its 4th field, naming the delimiter it seems split by when that is neither tabs nor blanks.
fn bad_line(path: &Path, line: usize, text: &str, fields: &[&str]) -> DatasetError {
    let column = match fields.get(3) {
        // The 4th field's first character: fields are slices of `text`.
        Some(fourth) => {
            let at = fourth.as_ptr() as usize - text.as_ptr() as usize;
            text[..at].chars().count() + 1
        }
        None => text.chars().count() + 1,
    };
    let delimiter = [
        (',', "commas (`,`)"),
        (';', "semicolons (`;`)"),
        ('|', "bars (`|`)"),
    ]
    .into_iter()
    .find(|(c, _)| fields.len() < 3 && text.matches(*c).count() >= 2);
    let hint = match delimiter {
        Some((c, name)) => format!(
            "; the line is split by {name}, which a data set's triples are not: write \
             `head<TAB>relation<TAB>tail` lines (when no token holds a {c:?}, `tr '{c}' '\\t' \
             < IN > OUT` does it)"
        ),
        None => String::new(),
    };
    DatasetError::BadLine {
        path: path.to_owned(),
        line,
        column,
        found: fields.len(),
        hint,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn loads_first_seen_order_over_splits() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "train.txt", "a\tr\tb\nb\ts\tc\n");
        write(dir.path(), "valid.txt", "c\tr\td\n");
        write(dir.path(), "test.txt", "\ne\tt\ta\n");
        let d = Dataset::load(dir.path()).unwrap();
        assert_eq!(d.entities.tokens(), ["a", "b", "c", "d", "e"]);
        assert_eq!(d.relations.tokens(), ["r", "s", "t"]);
        assert_eq!(d.train.len(), 2);
        assert_eq!(
            d.test,
            vec![Triple::new(EntityId(4), RelationId(2), EntityId(0))]
        );
        assert_eq!(d.all_triples().count(), 4);
    }

    #[test]
    fn bad_line_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "train.txt", "a\tr\tb\n");
        write(dir.path(), "valid.txt", "a\tr\tb\nx\ty\n");
        write(dir.path(), "test.txt", "");
        match Dataset::load(dir.path()) {
            Err(DatasetError::BadLine {
                path,
                line,
                column,
                found,
                ..
            }) => {
                assert!(path.ends_with("valid.txt"));
                assert_eq!((line, column, found), (2, 4, 2));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            Dataset::load(&dir.path().join("missing")),
            Err(DatasetError::Io { .. })
        ));
    }

    #[test]
    fn blank_separated_lines_are_triples_and_commas_are_named() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "train.txt", "a r b\nb  r\tc\n");
        write(dir.path(), "valid.txt", "a r  c\n");
        write(dir.path(), "test.txt", "");
        // Line 2 has a tab, so it is split by tabs only: 2 fields.
        let err = Dataset::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("train.txt:2:7:"), "{err}");
        write(dir.path(), "train.txt", "a r b\nb\tr\tc\n");
        let d = Dataset::load(dir.path()).unwrap();
        assert_eq!((d.train.len(), d.valid.len(), d.entities.len()), (2, 1, 3));
        write(dir.path(), "train.txt", "a,r,b\n");
        let err = Dataset::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("train.txt:1:6:"), "{err}");
        assert!(err.contains("found 1 field;"), "{err}");
        assert!(err.contains("split by commas"), "{err}");
        write(dir.path(), "train.txt", "a r b c\n");
        let err = Dataset::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("train.txt:1:7:"), "{err}");
        assert!(err.contains("found 4 fields"), "{err}");
    }

    #[test]
    fn from_triples_checks_ids() {
        let t = |h, r, t| Triple::new(EntityId(h), RelationId(r), EntityId(t));
        let ok = Dataset::from_triples(3, 1, vec![t(0, 0, 1)], vec![], vec![t(2, 0, 0)]).unwrap();
        assert_eq!(ok.entities.token(2), Some("2"));
        let err = Dataset::from_triples(3, 1, vec![t(0, 0, 1)], vec![t(0, 1, 1)], vec![]);
        assert!(matches!(
            err,
            Err(DatasetError::IdOutOfRange {
                split: "valid",
                kind: "relation",
                id: 1,
                ..
            })
        ));
    }
}
