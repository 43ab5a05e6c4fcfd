//! Approximate top-K for large catalogues: an HNSW graph (`instant-distance`) over a dot-product
//! model's item vectors, built at train time and stored beside the model version.
//!
//! Maximum inner product becomes nearest neighbour by cosine through norm augmentation: an item
//! vector `v` (with its bias `b` appended, when the model has item biases) gets one more
//! coordinate `sqrt(R² − |v|²)`, `R` the largest such norm, so every item vector has norm `R`;
//! a user vector (with `1` appended for the bias) gets `0`. The cosine between the two is then
//! the model's score divided by `R·|u|`: the same order. Items and queries are stored as unit
//! vectors and the distance is `1 − cos`.
//!
//! The graph gives `ef` candidates per query (`ef` is fixed when the index is built); they are
//! rescored exactly by the model, the user's own and excluded items (and items outside a
//! filter) dropped, and the best `k` returned. When fewer than `k` survive, the caller falls
//! back to exact scoring ([`AnnIndex::top_k`] returns `None`), so exclusions and filters never
//! shorten a list.
//!
//! The layer of every point comes from a seeded generator. Insertion runs on rayon's threads:
//! with one thread the graph (and its bytes) is the same for the same seed; with more, the
//! order in which concurrent insertions see each other may change a few edges between runs.

use std::sync::Mutex;

use instant_distance::{Builder, Hnsw, Point, Search};
use ndarray::ArrayView1;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::FactorView;
use super::topk::{Scored, select};
use crate::ids::ItemId;

/// Whether to build (and use) an approximate index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnnMode {
    /// Build one when the catalogue has more items than the threshold.
    #[default]
    Auto,
    /// Always build one (for a dot-product model).
    On,
    /// Never: exact top-K.
    Off,
}

/// How the index is built.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnnParams {
    /// Candidates kept per query (HNSW's `ef` at search time); fixed when the index is built.
    pub ef_search: usize,
    /// Candidates kept per insertion (HNSW's `efConstruction`).
    pub ef_construction: usize,
    /// Seed of the layer assignment.
    pub seed: u64,
}

impl Default for AnnParams {
    fn default() -> Self {
        Self {
            ef_search: 128,
            ef_construction: 100,
            seed: 0,
        }
    }
}

/// Catalogues above this many items get an index under [`AnnMode::Auto`].
pub const DEFAULT_THRESHOLD: usize = 100_000;

/// What a training asks of the approximate index.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnnSettings {
    /// Whether to build one.
    pub mode: AnnMode,
    /// [`AnnMode::Auto`] builds one for catalogues of more items than this.
    pub threshold: usize,
    /// Candidates kept per query, fixed in the index.
    pub ef_search: usize,
    /// Candidates kept per insertion.
    pub ef_construction: usize,
}

impl Default for AnnSettings {
    fn default() -> Self {
        let p = AnnParams::default();
        Self {
            mode: AnnMode::Auto,
            threshold: DEFAULT_THRESHOLD,
            ef_search: p.ef_search,
            ef_construction: p.ef_construction,
        }
    }
}

impl AnnSettings {
    /// Whether a catalogue of `n_items` gets an index.
    pub fn wanted(&self, n_items: usize) -> bool {
        match self.mode {
            AnnMode::On => true,
            AnnMode::Off => false,
            AnnMode::Auto => n_items > self.threshold,
        }
    }

    /// The build parameters, with the training's seed.
    pub fn params(&self, seed: u64) -> AnnParams {
        AnnParams {
            ef_search: self.ef_search,
            ef_construction: self.ef_construction,
            seed,
        }
    }
}

/// Why an index could not be built or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnnError {
    /// The model cannot be indexed (no factors, non-finite numbers, all-zero item vectors).
    #[error("no approximate index: {reason}")]
    Unsuitable {
        /// Why.
        reason: String,
    },
    /// Stored index bytes that do not decode, or that do not fit the model.
    #[error("corrupted approximate index: {detail}")]
    Corruption {
        /// What is wrong.
        detail: String,
    },
}

/// A unit vector of the augmented space.
#[derive(Clone, Serialize, Deserialize)]
struct Unit(Box<[f32]>);

impl Point for Unit {
    fn distance(&self, other: &Self) -> f32 {
        1.0 - dot(&self.0, &other.0)
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The stored form: what the index was built for, and the graph.
#[derive(Serialize, Deserialize)]
struct Stored {
    format: u32,
    n_items: u64,
    dim: u64,
    bias: bool,
    ef_search: u64,
    /// Item id of every point of the graph, by point id.
    items: Vec<u32>,
    hnsw: Hnsw<Unit>,
}

const FORMAT: u32 = 1;
const DIGEST: usize = 32;

/// The approximate top-K index of one model version.
pub struct AnnIndex {
    stored: Stored,
    /// Search scratch (a visited map as large as the catalogue), reused across requests.
    pool: Mutex<Vec<Search>>,
}

impl std::fmt::Debug for AnnIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnnIndex")
            .field("n_items", &self.stored.n_items)
            .field("dim", &self.stored.dim)
            .field("bias", &self.stored.bias)
            .field("ef_search", &self.stored.ef_search)
            .finish_non_exhaustive()
    }
}

impl AnnIndex {
    /// Builds the index of `factors`' items.
    pub fn build(factors: &FactorView<'_>, params: &AnnParams) -> Result<Self, AnnError> {
        let unsuitable = |reason: String| AnnError::Unsuitable { reason };
        let items = factors.items;
        let n = items.nrows();
        if n == 0 || n >= u32::MAX as usize {
            return Err(unsuitable(format!("{n} items")));
        }
        if params.ef_search == 0 || params.ef_construction == 0 {
            return Err(unsuitable("ef must be at least 1".to_owned()));
        }
        let bias = factors.item_bias;
        let mut augmented: Vec<Vec<f32>> = Vec::with_capacity(n);
        let mut radius = 0.0f32;
        for (i, row) in items.outer_iter().enumerate() {
            let mut v: Vec<f32> = row.to_vec();
            if let Some(b) = bias {
                v.push(b.get(i).copied().unwrap_or(0.0));
            }
            if v.iter().any(|x| !x.is_finite()) {
                return Err(unsuitable(format!("item {i} has a non-finite factor")));
            }
            radius = radius.max(dot(&v, &v).sqrt());
            augmented.push(v);
        }
        if radius == 0.0 || !radius.is_finite() {
            return Err(unsuitable("every item vector is zero".to_owned()));
        }
        let points: Vec<Unit> = augmented
            .into_iter()
            .map(|mut v| {
                let norm2 = dot(&v, &v);
                v.push((radius * radius - norm2).max(0.0).sqrt());
                v.iter_mut().for_each(|x| *x /= radius);
                Unit(v.into_boxed_slice())
            })
            .collect();
        let (hnsw, ids) = Builder::default()
            .ef_search(params.ef_search)
            .ef_construction(params.ef_construction)
            .seed(params.seed)
            .build_hnsw(points);
        // `ids[item]` is the item's point; the search answers in points.
        let mut by_point = vec![0u32; n];
        for (item, pid) in ids.iter().enumerate() {
            if let Some(slot) = by_point.get_mut(pid.into_inner() as usize) {
                *slot = item as u32;
            }
        }
        Ok(Self::from_stored(Stored {
            format: FORMAT,
            n_items: n as u64,
            dim: items.ncols() as u64,
            bias: bias.is_some(),
            ef_search: params.ef_search as u64,
            items: by_point,
            hnsw,
        }))
    }

    fn from_stored(stored: Stored) -> Self {
        Self {
            stored,
            pool: Mutex::new(Vec::new()),
        }
    }

    /// Candidates kept per query.
    pub fn ef(&self) -> usize {
        self.stored.ef_search as usize
    }

    /// Items indexed.
    pub fn n_items(&self) -> usize {
        self.stored.n_items as usize
    }

    /// The `ef` items nearest to `user` in the augmented space (best first), or `None` for a
    /// user vector of zeros or non-finite numbers (no direction to search in).
    pub fn candidates(&self, user: ArrayView1<'_, f32>) -> Option<Vec<u32>> {
        let mut q: Vec<f32> = user.to_vec();
        if self.stored.bias {
            q.push(1.0);
        }
        let norm = dot(&q, &q).sqrt();
        if norm == 0.0 || !norm.is_finite() {
            return None;
        }
        q.iter_mut().for_each(|x| *x /= norm);
        q.push(0.0);
        let query = Unit(q.into_boxed_slice());
        let mut search = self
            .pool
            .lock()
            .ok()
            .and_then(|mut p| p.pop())
            .unwrap_or_default();
        let found: Vec<u32> = self
            .stored
            .hnsw
            .search(&query, &mut search)
            .filter_map(|item| {
                self.stored
                    .items
                    .get(item.pid.into_inner() as usize)
                    .copied()
            })
            .collect();
        if let Ok(mut p) = self.pool.lock() {
            p.push(search);
        }
        Some(found)
    }

    /// The `k` best items for user row `user` of `factors` (the model the index was built
    /// from), rescored exactly, never one of the sorted ids `exclude`, and among the sorted ids
    /// `only` when given. `None` when the candidates do not hold `k` such items and are not
    /// the whole catalogue (or the user has no direction): the caller scores exactly.
    pub fn top_k(
        &self,
        factors: &FactorView<'_>,
        user: usize,
        k: usize,
        exclude: &[u32],
        only: Option<&[u32]>,
    ) -> Option<Vec<Scored>> {
        if factors.items.nrows() != self.n_items() || user >= factors.users.nrows() {
            return None;
        }
        let u = factors.users.row(user);
        let candidates = self.candidates(u)?;
        // Candidates that are the whole catalogue leave exactly what exact scoring would.
        let whole = candidates.len() >= self.n_items();
        let mut buf: Vec<Scored> = candidates
            .into_iter()
            .filter(|i| exclude.binary_search(i).is_err())
            .filter(|i| only.is_none_or(|o| o.binary_search(i).is_ok()))
            .map(|i| {
                let mut score = u.dot(&factors.items.row(i as usize));
                if let Some(b) = factors.item_bias {
                    score += b[i as usize];
                }
                Scored {
                    item: ItemId(i),
                    score,
                }
            })
            .collect();
        if buf.len() < k && !whole {
            return None;
        }
        Some(select(&mut buf, k))
    }

    /// The stored form: a SHA-256 digest, then the bincode bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, AnnError> {
        let body = bincode::serde::encode_to_vec(&self.stored, bincode::config::standard())
            .map_err(|e| AnnError::Corruption {
                detail: format!("encoding: {e}"),
            })?;
        let mut out = Vec::with_capacity(DIGEST + body.len());
        out.extend_from_slice(&Sha256::digest(&body));
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Reads [`AnnIndex::to_bytes`]' bytes for a model of `n_items` items of `dim` factors
    /// (`bias`: with item biases); bytes that fail their digest, do not decode or do not fit
    /// the model are [`AnnError::Corruption`].
    pub fn from_bytes(
        bytes: &[u8],
        n_items: usize,
        dim: usize,
        bias: bool,
    ) -> Result<Self, AnnError> {
        let bad = |detail: String| AnnError::Corruption { detail };
        let (digest, body) = bytes
            .split_at_checked(DIGEST)
            .ok_or_else(|| bad(format!("{} bytes", bytes.len())))?;
        if Sha256::digest(body).as_slice() != digest {
            return Err(bad("checksum mismatch".to_owned()));
        }
        let (stored, used): (Stored, usize) =
            bincode::serde::decode_from_slice(body, bincode::config::standard())
                .map_err(|e| bad(e.to_string()))?;
        if used != body.len() {
            return Err(bad(format!("{} trailing bytes", body.len() - used)));
        }
        if stored.format != FORMAT {
            return Err(bad(format!("format {}, {FORMAT} expected", stored.format)));
        }
        let fits = stored.n_items == n_items as u64
            && stored.dim == dim as u64
            && stored.bias == bias
            && stored.items.len() == n_items
            && stored.ef_search > 0;
        if !fits {
            return Err(bad(format!(
                "built for {} items of {} factors{}, the model has {n_items} of {dim}{}",
                stored.n_items,
                stored.dim,
                if stored.bias { " with biases" } else { "" },
                if bias { " with biases" } else { "" },
            )));
        }
        let width = dim + usize::from(bias) + 1;
        let mut seen = vec![false; n_items];
        for &i in &stored.items {
            match seen.get_mut(i as usize) {
                Some(s) if !*s => *s = true,
                _ => return Err(bad(format!("item {i} indexed twice or out of range"))),
            }
        }
        let mut points = 0usize;
        for (_, p) in stored.hnsw.iter() {
            if p.0.len() != width {
                return Err(bad(format!(
                    "a point of {} numbers, {width} expected",
                    p.0.len()
                )));
            }
            points += 1;
        }
        if points != n_items {
            return Err(bad(format!("{points} points for {n_items} items")));
        }
        Ok(Self::from_stored(stored))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::cf::{FactorModel, top_k, user_scores};
    use ndarray::{Array1, Array2};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Users and items around a few shared directions, items with uneven norms and biases.
    fn model(users: usize, items: usize, dim: usize, seed: u64) -> FactorModel {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let centres: Vec<Vec<f32>> = (0..8)
            .map(|_| (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect())
            .collect();
        let mut draw = |n: usize| {
            let mut a = Array2::<f32>::zeros((n, dim));
            for mut row in a.outer_iter_mut() {
                let c = &centres[rng.random_range(0..centres.len())];
                let scale: f32 = rng.random_range(0.5..2.0);
                for (x, &m) in row.iter_mut().zip(c) {
                    *x = scale * (m + rng.random_range(-0.5..0.5));
                }
            }
            a
        };
        let users = draw(users);
        let items = draw(items);
        let item_bias = Some(Array1::from_iter(
            (0..items.nrows()).map(|i| (i % 7) as f32 * 0.1),
        ));
        FactorModel {
            users,
            items,
            item_bias,
        }
    }

    fn build(m: &FactorModel, ef: usize) -> AnnIndex {
        let params = AnnParams {
            ef_search: ef,
            ef_construction: 100,
            seed: 7,
        };
        AnnIndex::build(&m.factors().unwrap(), &params).unwrap()
    }

    use crate::cf::Recommender;

    #[test]
    fn recall_at_10_against_exact_is_high() {
        let m = model(200, 3000, 16, 1);
        let index = build(&m, 64);
        let f = m.factors().unwrap();
        let mut hits = 0usize;
        for u in 0..200 {
            let exact = top_k(
                &user_scores(&m, crate::ids::UserId(u)),
                10,
                &[],
                &mut Vec::new(),
            );
            let approx = index.top_k(&f, u as usize, 10, &[], None).unwrap();
            // Scores may differ in the last bits (a matrix product against one dot product).
            hits += approx
                .iter()
                .filter(|s| exact.iter().any(|e| e.item == s.item))
                .count();
            // Rescored exactly: an item found has its exact score.
            for s in &approx {
                let want = exact.iter().find(|e| e.item == s.item);
                if let Some(e) = want {
                    assert!((e.score - s.score).abs() < 1e-4);
                }
            }
        }
        let recall = hits as f64 / 2000.0;
        assert!(recall >= 0.95, "recall@10 {recall}");
    }

    #[test]
    fn exclusions_and_filters_hold_and_too_few_survivors_fall_back() {
        let m = model(10, 500, 8, 2);
        let index = build(&m, 40);
        let f = m.factors().unwrap();
        let first = index.top_k(&f, 3, 5, &[], None).unwrap();
        let mut exclude: Vec<u32> = first.iter().map(|s| s.item.0).collect();
        exclude.sort_unstable();
        let next = index.top_k(&f, 3, 5, &exclude, None).unwrap();
        assert!(next.iter().all(|s| !exclude.contains(&s.item.0)));
        let only: Vec<u32> = (0..500).filter(|i| i % 2 == 0).collect();
        if let Some(list) = index.top_k(&f, 3, 5, &[], Some(&only)) {
            assert!(list.iter().all(|s| s.item.0 % 2 == 0));
        }
        // Excluding every candidate leaves nothing: the caller must score exactly.
        let all: Vec<u32> = (0..500).collect();
        assert_eq!(index.top_k(&f, 3, 1, &all, None), None);
        assert_eq!(index.top_k(&f, 3, 41, &[], None), None, "k above ef");
        assert_eq!(index.top_k(&f, 99, 1, &[], None), None, "unknown user");
        // Candidates that cover the catalogue give the short list exact scoring gives.
        let small = model(2, 20, 4, 5);
        let whole = build(&small, 64);
        let f = small.factors().unwrap();
        let exclude: Vec<u32> = (0..15).collect();
        let list = whole.top_k(&f, 0, 10, &exclude, None).unwrap();
        assert_eq!(
            list.iter().map(|s| s.item.0).collect::<Vec<_>>(),
            top_k(
                &user_scores(&small, crate::ids::UserId(0)),
                10,
                &exclude,
                &mut Vec::new()
            )
            .iter()
            .map(|s| s.item.0)
            .collect::<Vec<_>>()
        );
    }

    #[test]
    fn stored_bytes_round_trip_are_deterministic_single_threaded_and_checked() {
        let m = model(20, 400, 8, 3);
        let f = m.factors().unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let (a, b) = pool.install(|| (build(&m, 32), build(&m, 32)));
        let bytes = a.to_bytes().unwrap();
        assert_eq!(
            bytes,
            b.to_bytes().unwrap(),
            "same seed, one thread: same graph"
        );
        let back = AnnIndex::from_bytes(&bytes, 400, 8, true).unwrap();
        for u in 0..20 {
            assert_eq!(
                back.top_k(&f, u, 10, &[], None),
                a.top_k(&f, u, 10, &[], None)
            );
        }
        // A flipped byte anywhere is caught by the digest; a model of another shape is refused.
        for at in [0, 40, bytes.len() / 2, bytes.len() - 1] {
            let mut bad = bytes.clone();
            bad[at] ^= 0x10;
            assert!(matches!(
                AnnIndex::from_bytes(&bad, 400, 8, true),
                Err(AnnError::Corruption { .. })
            ));
        }
        assert!(matches!(
            AnnIndex::from_bytes(&bytes[..20], 400, 8, true),
            Err(AnnError::Corruption { .. })
        ));
        for (n, d, bias) in [(401, 8, true), (400, 9, true), (400, 8, false)] {
            assert!(matches!(
                AnnIndex::from_bytes(&bytes, n, d, bias),
                Err(AnnError::Corruption { .. })
            ));
        }
    }

    #[test]
    fn models_that_cannot_be_indexed_are_refused() {
        let mut m = model(2, 10, 4, 4);
        m.items.fill(0.0);
        m.item_bias = None;
        assert!(matches!(
            AnnIndex::build(&m.factors().unwrap(), &AnnParams::default()),
            Err(AnnError::Unsuitable { .. })
        ));
        m.items[[3, 1]] = f32::NAN;
        assert!(matches!(
            AnnIndex::build(&m.factors().unwrap(), &AnnParams::default()),
            Err(AnnError::Unsuitable { .. })
        ));
    }
}
