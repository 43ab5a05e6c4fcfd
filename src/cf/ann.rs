//! Approximate top-K for large catalogues: an HNSW graph (`hnsw_rs`) over a dot-product model's
//! item vectors, built at train time, checked against exact scoring, and stored beside the
//! model version.
//!
//! Maximum inner product becomes nearest neighbour by cosine through norm augmentation
//! ([`AnnMetric::Augmented`], the default): an item vector `v` (with its bias `b` appended, when
//! the model has item biases) is divided by `R`, the largest such norm, and gets one more
//! coordinate `sqrt(1 − |v/R|²)`, so every item is a unit vector; a user vector (with `1`
//! appended for the bias) is divided by its norm and gets `0`. The cosine between the two is
//! then the model's score divided by `R·|u|`: the same order, so the exact nearest neighbours are
//! the exact best items. The price is the geometry: items of small norm all sit near the extra
//! axis, close to one another whatever their direction, and every query is far from every item.
//! A graph search then needs many more candidates (`ef`) than on the raw vectors, more the
//! larger the catalogue; a fixed `ef` loses recall as the catalogue grows.
//!
//! Norm-range partitioning (Yan et al., "Norm-Ranging LSH for Maximum Inner Product Search",
//! NeurIPS 2018, here on HNSW graphs) removes most of that crowding: the items, sorted by the
//! norm of `[v, b]`, are split into [`AnnBands`] bands of equal size, and each band gets its own
//! graph and its own augmentation, `R_b` its largest norm. Inside a band the norms are close to
//! `R_b`, so the added coordinate is small and items spread by direction. A request visits the
//! bands by descending `R_b`, takes `ef` candidates from each, rescores them exactly and keeps the
//! best `k`; a band whose bound `R_b·|u, 1|` (Cauchy–Schwarz: no item in it can score more)
//! cannot beat the current `k`-th best is skipped with every later one.
//!
//! The alternative, [`AnnMetric::Ip`] (ip-NSW, Morozov & Babenko 2018), builds the graph on inner
//! product directly: the same scaled vectors without the extra coordinate, the distance
//! `1 − ⟨u, v⟩` (never negative, as `hnsw_rs` asserts; the same order as the score). It is no
//! metric (an item is not its own nearest point; large-norm items are near everything), so link
//! selection keeps the candidates HNSW's diversity heuristic prunes. Measured, it needed no
//! fewer candidates than augmented for the same recall, its graph is twice the size, and some
//! items are never reached (docs/scale.md).
//!
//! So the index is calibrated when it is built ([`AnnIndex::calibrate`]): on a seeded sample of
//! the model's users, the index's top-`k` is compared with exact scoring, and `ef` is doubled
//! until recall@k reaches the target, up to a cap. The chosen `ef` and the measured recall are
//! stored with the index; a training that cannot reach the target keeps exact top-K.
//!
//! A request takes the `ef` nearest items of each band it visits, rescores them exactly by the
//! model, drops the
//! user's own and excluded items (and items outside a filter), and returns the best `k`. When
//! fewer than `k` survive, the caller falls back to exact scoring ([`AnnIndex::top_k`] returns
//! `None`), so exclusions and filters never shorten a list.
//!
//! Determinism: `hnsw_rs` draws each point's layer from its graph's own generator with a fixed
//! seed (no seed can be passed) as each insertion starts; concurrent insertions into one graph
//! (its `parallel_insert`) would draw layers and see each other in a different order on every
//! run. So each band's points are inserted one after another in item order, and only the bands
//! are built in parallel (each graph has its own generator): the same model gives the same
//! index, byte for byte, whatever the thread count (calibration, which only reads the graphs,
//! runs in parallel too).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};

use hnsw_rs::api::AnnT;
use hnsw_rs::hnsw::Hnsw;
use hnsw_rs::hnswio::HnswIo;
use ndarray::ArrayView1;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
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

/// The space the graph is built in (both give the model's order exactly; they differ in how
/// many candidates a search needs for the same recall).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnnMetric {
    /// Cosine after norm augmentation (one more coordinate makes every item a unit vector).
    #[default]
    Augmented,
    /// Inner product directly (ip-NSW, Morozov & Babenko 2018): item vectors (bias appended)
    /// divided by the largest norm, the user vector (1 appended) by its own; the distance is
    /// `1 − ⟨u, v⟩`, which orders items as the model's score does and is never negative. Link
    /// selection keeps the pruned candidates (HNSW's diversity heuristic assumes a metric).
    /// Measured no better than augmented (docs/scale.md), and on small catalogues some items
    /// are never reached even with `ef` the whole catalogue.
    Ip,
}

impl AnnMetric {
    /// Its name in notes and flags.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ip => "ip",
            Self::Augmented => "augmented",
        }
    }
}

/// How many norm bands (each its own graph) the items are split into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnnBands {
    /// From the catalogue's size ([`AnnBands::resolve`]): one graph up to
    /// [`AUTO_ONE_GRAPH_ITEMS`] items, above that bands of about [`AUTO_BAND_ITEMS`] items.
    #[default]
    Auto,
    /// This many (at least 1; at most one per item).
    Count(usize),
}

impl AnnBands {
    /// The band count for a catalogue of `n_items` (at least 1, at most `n_items`).
    pub fn resolve(self, n_items: usize) -> usize {
        let wanted = match self {
            Self::Auto if n_items <= AUTO_ONE_GRAPH_ITEMS => 1,
            Self::Auto => n_items.div_ceil(AUTO_BAND_ITEMS),
            Self::Count(b) => b,
        };
        wanted.clamp(1, n_items.max(1))
    }
}

impl std::fmt::Display for AnnBands {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Count(b) => write!(f, "{b}"),
        }
    }
}

impl std::str::FromStr for AnnBands {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("auto") {
            return Ok(Self::Auto);
        }
        match s.parse::<usize>() {
            Ok(b) if b >= 1 => Ok(Self::Count(b)),
            _ => Err(format!(
                "`{s}`: a band count of at least 1, or `auto`, is expected"
            )),
        }
    }
}

/// How the graph is built.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnnParams {
    /// Links kept per point and layer (HNSW's `M`; layer 0 keeps twice as many).
    pub connections: usize,
    /// Candidates kept per insertion (HNSW's `efConstruction`).
    pub ef_construction: usize,
    /// The space searched.
    pub metric: AnnMetric,
    /// The norm bands, one graph each.
    pub bands: AnnBands,
}

impl Default for AnnParams {
    fn default() -> Self {
        Self {
            connections: 24,
            ef_construction: 200,
            metric: AnnMetric::default(),
            bands: AnnBands::default(),
        }
    }
}

/// How the index's `ef` is chosen: the smallest of `ef_start`, `2·ef_start`, … (at most
/// `ef_max`) whose recall@`k` against exact scoring, on `sample_users` users drawn with `seed`,
/// is at least `target`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    /// The first `ef` tried (below `k`, no list can be filled: recall 0).
    pub ef_start: usize,
    /// The largest `ef` tried.
    pub ef_max: usize,
    /// The recall@`k` wanted.
    pub target: f64,
    /// The list length whose recall is measured.
    pub k: usize,
    /// Users sampled (all of them when the model has fewer).
    pub sample_users: usize,
    /// Seed of the sample.
    pub seed: u64,
}

impl Default for Calibration {
    fn default() -> Self {
        Self {
            ef_start: DEFAULT_EF_START,
            ef_max: DEFAULT_EF_MAX,
            target: DEFAULT_TARGET_RECALL,
            k: 10,
            sample_users: DEFAULT_SAMPLE_USERS,
            seed: 0,
        }
    }
}

/// Catalogues above this many items get an index under [`AnnMode::Auto`].
pub const DEFAULT_THRESHOLD: usize = 100_000;
/// The first `ef` calibration tries.
pub const DEFAULT_EF_START: usize = 32;
/// The largest `ef` calibration tries.
pub const DEFAULT_EF_MAX: usize = 2048;
/// The recall@10 an index must reach to be used.
pub const DEFAULT_TARGET_RECALL: f64 = 0.95;
/// Insertions between two calls of [`AnnIndex::build_observed`]'s progress.
pub const PROGRESS_EVERY: usize = 50_000;
/// Users whose lists calibration compares.
pub const DEFAULT_SAMPLE_USERS: usize = 200;
/// [`AnnBands::Auto`] builds one graph for catalogues of at most this many items.
pub const AUTO_ONE_GRAPH_ITEMS: usize = 50_000;
/// [`AnnBands::Auto`]'s band size above [`AUTO_ONE_GRAPH_ITEMS`]: `ceil(items / this)` bands.
pub const AUTO_BAND_ITEMS: usize = 25_000;

/// [`AnnBands::Auto`], above [`AUTO_ONE_GRAPH_ITEMS`]: a band holds items whose norms span at
/// most this ratio (largest over smallest), or [`AUTO_MIN_BAND_ITEMS`] items. Inside one band the
/// augmentation divides every item by the band's largest norm, so items far below it crowd near
/// the added axis whatever their direction, and the graph search loses them: on an ALS model of
/// 1,085,347 items (a power-law synthetic catalogue, 64 factors) the top one of 44 equal-count
/// bands spanned a ratio of 70 (norms 8.6 down to 0.12), and calibration reached only recall@10
/// 0.919 at ef 2048 (docs/scale.md).
pub const AUTO_BAND_NORM_RATIO: f32 = 2.0;
/// The fewest items a band cut by [`AUTO_BAND_NORM_RATIO`] holds (a smaller graph is searched
/// whole at any `ef` above its size).
pub const AUTO_MIN_BAND_ITEMS: usize = 64;

/// The bands of items sorted by descending norm (`sorted`: their norms), as index ranges, first
/// the largest norms: `bands.resolve(n)` bands of equal size, and under [`AnnBands::Auto`] with
/// more than one of them, every band also cut where its norms would span more than
/// [`AUTO_BAND_NORM_RATIO`] (once it holds [`AUTO_MIN_BAND_ITEMS`]).
pub fn norm_bands(sorted: &[f32], bands: AnnBands) -> Vec<std::ops::Range<usize>> {
    let n = sorted.len();
    let count = bands.resolve(n);
    let equal = (0..count).map(|j| j * n / count..(j + 1) * n / count);
    if bands != AnnBands::Auto || count == 1 {
        return equal.collect();
    }
    let mut out = Vec::with_capacity(count);
    for range in equal {
        let mut start = range.start;
        for i in range.clone() {
            if i - start >= AUTO_MIN_BAND_ITEMS && sorted[i] * AUTO_BAND_NORM_RATIO < sorted[start]
            {
                out.push(start..i);
                start = i;
            }
        }
        out.push(start..range.end);
    }
    out
}

/// What a training asks of the approximate index.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnnSettings {
    /// Whether to build one.
    pub mode: AnnMode,
    /// [`AnnMode::Auto`] builds one for catalogues of more items than this.
    pub threshold: usize,
    /// The first `ef` calibration tries.
    pub ef_search: usize,
    /// The largest `ef` calibration tries.
    pub ef_max: usize,
    /// The recall@10 against exact scoring the index must reach on the sampled users, or
    /// top-K stays exact.
    pub target_recall: f64,
    /// Candidates kept per insertion.
    pub ef_construction: usize,
    /// Links per point and layer (HNSW's `M`).
    pub connections: usize,
    /// The space the graph is built in.
    pub metric: AnnMetric,
    /// The norm bands, one graph each.
    pub bands: AnnBands,
}

impl Default for AnnSettings {
    fn default() -> Self {
        let p = AnnParams::default();
        Self {
            mode: AnnMode::Auto,
            threshold: DEFAULT_THRESHOLD,
            ef_search: DEFAULT_EF_START,
            ef_max: DEFAULT_EF_MAX,
            target_recall: DEFAULT_TARGET_RECALL,
            ef_construction: p.ef_construction,
            connections: p.connections,
            metric: p.metric,
            bands: p.bands,
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

    /// The build parameters.
    pub fn params(&self) -> AnnParams {
        AnnParams {
            connections: self.connections,
            ef_construction: self.ef_construction,
            metric: self.metric,
            bands: self.bands,
        }
    }

    /// The calibration, its sample drawn with the training's seed.
    pub fn calibration(&self, seed: u64) -> Calibration {
        Calibration {
            ef_start: self.ef_search,
            ef_max: self.ef_max,
            target: self.target_recall,
            seed,
            ..Calibration::default()
        }
    }
}

/// Why an index could not be built or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnnError {
    /// The model cannot be indexed (no factors, non-finite numbers, all-zero item vectors), or
    /// the parameters are out of range.
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
    /// The scratch files through which `hnsw_rs` writes and reads a graph.
    #[error("approximate index: {detail}")]
    Io {
        /// What failed.
        detail: String,
    },
}

/// `1 − ⟨a, b⟩` between vectors of norm at most 1, never below zero (`hnsw_rs` asserts that
/// no distance is negative, which rounding in `f32` does not guarantee).
#[derive(Debug, Clone, Copy, Default)]
pub struct UnitDot;

impl hnsw_rs::anndists::dist::Distance<f32> for UnitDot {
    fn eval(&self, va: &[f32], vb: &[f32]) -> f32 {
        (1.0 - dot(va, vb)).max(0.0)
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// What the stored index was built for and how it was calibrated: the head of the stored
/// bytes, readable without the graph ([`AnnIndex::summary`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AnnSummary {
    /// Items indexed.
    pub n_items: u64,
    /// Factors per item.
    pub dim: u64,
    /// Whether item biases are part of the vectors.
    pub bias: bool,
    /// Candidates taken per band (of those visited) and request.
    pub ef: u64,
    /// Recall@`recall_k` against exact scoring measured at `ef` (`None`: not calibrated).
    pub recall: Option<f64>,
    /// The list length of `recall`.
    pub recall_k: u64,
    /// Users the recall was measured on.
    pub recall_users: u64,
    /// HNSW's `M`.
    pub connections: u64,
    /// HNSW's `efConstruction`.
    pub ef_construction: u64,
    /// The space the graph was built in.
    pub metric: AnnMetric,
    /// Norm bands (one graph each).
    pub bands: u64,
}

/// The head of the stored form.
#[derive(Serialize, Deserialize)]
struct Head {
    format: u32,
    summary: AnnSummary,
    /// One per band, by descending radius: its graph and data dumps follow in this order.
    bands: Vec<BandHead>,
}

/// One band in the stored head (its item ids are the graph's points' ids).
#[derive(Serialize, Deserialize)]
struct BandHead {
    /// The largest norm of its items' `[v, b]` (`R_b`).
    radius: f32,
    /// Items in it.
    items: u64,
    graph_len: u64,
    data_len: u64,
}

const FORMAT: u32 = 4;
const DIGEST: usize = 32;
const BASENAME: &str = "index";

/// The approximate top-K index of one model version.
pub struct AnnIndex {
    /// By descending radius.
    bands: Vec<Band>,
    summary: AnnSummary,
}

/// One norm band: the graph of its items, augmented with its own radius.
struct Band {
    hnsw: Hnsw<'static, f32, UnitDot>,
    /// The largest norm of its items' `[v, b]` (`R_b`): no item in it scores more than
    /// `R_b·|u, 1|` for user vector `u`.
    radius: f32,
    /// Items in it.
    items: usize,
}

impl std::fmt::Debug for AnnIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnnIndex")
            .field("summary", &self.summary)
            .finish_non_exhaustive()
    }
}

/// What [`AnnIndex::calibrate`] found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibrated {
    /// The `ef` chosen (the last tried, when the target was not reached).
    pub ef: usize,
    /// Recall@k at that `ef`.
    pub recall: f64,
    /// Users measured.
    pub users: usize,
    /// Whether the recall reached the target.
    pub reached: bool,
}

impl AnnIndex {
    /// Builds the index of `factors`' items (uncalibrated: `ef` is 64 until
    /// [`AnnIndex::calibrate`] or [`AnnIndex::set_ef`]).
    pub fn build(factors: &FactorView<'_>, params: &AnnParams) -> Result<Self, AnnError> {
        Self::build_observed(factors, params, &|_| {})
    }

    /// [`AnnIndex::build`], calling `progress` with the number of items inserted so far (over
    /// all bands, which are built in parallel) after every [`PROGRESS_EVERY`] insertions.
    pub fn build_observed(
        factors: &FactorView<'_>,
        params: &AnnParams,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<Self, AnnError> {
        let unsuitable = |reason: String| AnnError::Unsuitable { reason };
        let items = factors.items;
        let n = items.nrows();
        if n == 0 || n >= u32::MAX as usize {
            return Err(unsuitable(format!("{n} items")));
        }
        if !(2..=256).contains(&params.connections) {
            return Err(unsuitable(format!(
                "{} links per point; 2 to 256 are possible",
                params.connections
            )));
        }
        if params.ef_construction == 0 {
            return Err(unsuitable("efConstruction must be at least 1".to_owned()));
        }
        if params.bands == AnnBands::Count(0) {
            return Err(unsuitable("0 bands; at least 1 is needed".to_owned()));
        }
        let bias = factors.item_bias;
        // `[v, b]` of item `i`.
        let vector = |i: usize| -> Vec<f32> {
            let mut v: Vec<f32> = items.row(i).to_vec();
            if let Some(b) = bias {
                v.push(b.get(i).copied().unwrap_or(0.0));
            }
            v
        };
        let mut norms: Vec<f32> = Vec::with_capacity(n);
        for i in 0..n {
            let v = vector(i);
            if v.iter().any(|x| !x.is_finite()) {
                return Err(unsuitable(format!("item {i} has a non-finite factor")));
            }
            let norm = dot(&v, &v).sqrt();
            if !norm.is_finite() {
                return Err(unsuitable(format!("item {i}'s norm overflows")));
            }
            norms.push(norm);
        }
        if norms.iter().all(|&r| r == 0.0) {
            return Err(unsuitable("every item vector is zero".to_owned()));
        }
        // Items by descending norm (ties by id), cut into bands of equal size; under
        // `AnnBands::Auto` with several bands, also wherever a band's norms would span more
        // than `AUTO_BAND_NORM_RATIO` ([`norm_bands`]).
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_unstable_by(|&a, &b| {
            norms[b as usize]
                .total_cmp(&norms[a as usize])
                .then(a.cmp(&b))
        });
        let sorted: Vec<f32> = order.iter().map(|&i| norms[i as usize]).collect();
        let slices: Vec<&[u32]> = norm_bands(&sorted, params.bands)
            .into_iter()
            .map(|r| &order[r])
            .collect();
        let n_bands = slices.len();
        let inserted = AtomicUsize::new(0);
        let bands: Vec<Band> = slices
            .par_iter()
            .map(|ids| {
                let radius = ids
                    .iter()
                    .map(|&i| norms[i as usize])
                    .fold(0.0f32, f32::max);
                // A band of zero vectors: every point the same, `[0, …, 0, 1]`.
                let scale = if radius > 0.0 { radius } else { 1.0 };
                let mut ids = ids.to_vec();
                ids.sort_unstable();
                let mut hnsw = Hnsw::new(
                    params.connections,
                    ids.len(),
                    16,
                    params.ef_construction,
                    UnitDot,
                );
                if params.metric == AnnMetric::Ip {
                    hnsw.set_keeping_pruned(true);
                }
                // One insertion after another, in item order: `hnsw_rs` draws each point's
                // layer from the graph's generator as insertions start, and concurrent
                // insertions would see each other in a different order on every run.
                for &i in &ids {
                    let mut v = vector(i as usize);
                    v.iter_mut().for_each(|x| *x /= scale);
                    if params.metric == AnnMetric::Augmented {
                        let norm2 = dot(&v, &v);
                        v.push((1.0 - norm2).max(0.0).sqrt());
                    }
                    hnsw.insert_slice((v.as_slice(), i as usize));
                    let done = inserted.fetch_add(1, Ordering::Relaxed) + 1;
                    if done.is_multiple_of(PROGRESS_EVERY) {
                        progress(done);
                    }
                }
                hnsw.set_searching_mode(true);
                Band {
                    hnsw,
                    radius,
                    items: ids.len(),
                }
            })
            .collect();
        Ok(Self {
            bands,
            summary: AnnSummary {
                n_items: n as u64,
                dim: items.ncols() as u64,
                bias: bias.is_some(),
                ef: 64,
                recall: None,
                recall_k: 0,
                recall_users: 0,
                connections: params.connections as u64,
                ef_construction: params.ef_construction as u64,
                metric: params.metric,
                bands: n_bands as u64,
            },
        })
    }

    /// Candidates taken per band (of those visited) and request.
    pub fn ef(&self) -> usize {
        self.summary.ef as usize
    }

    /// Sets the candidates taken per request (at least 1), forgetting any measured recall.
    pub fn set_ef(&mut self, ef: usize) {
        self.summary.ef = ef.max(1) as u64;
        self.summary.recall = None;
    }

    /// Items indexed.
    pub fn n_items(&self) -> usize {
        self.summary.n_items as usize
    }

    /// What the index was built for and how it was calibrated.
    pub fn summary(&self) -> &AnnSummary {
        &self.summary
    }

    /// Norm bands (one graph each).
    pub fn n_bands(&self) -> usize {
        self.bands.len()
    }

    /// The query for `user`: `[u, 1]` (the `1` when the model has item biases) divided by its
    /// norm, then `0` in the augmented space; and that norm. `None` for a user vector of zeros
    /// or non-finite numbers (no direction to search in).
    fn query(&self, user: ArrayView1<'_, f32>) -> Option<(Vec<f32>, f32)> {
        let mut q: Vec<f32> = user.to_vec();
        if self.summary.bias {
            q.push(1.0);
        }
        let norm = dot(&q, &q).sqrt();
        if norm == 0.0 || !norm.is_finite() {
            return None;
        }
        q.iter_mut().for_each(|x| *x /= norm);
        if self.summary.metric == AnnMetric::Augmented {
            q.push(0.0);
        }
        Some((q, norm))
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
        self.top_k_at(factors, user, k, exclude, only, self.ef())
    }

    fn top_k_at(
        &self,
        factors: &FactorView<'_>,
        user: usize,
        k: usize,
        exclude: &[u32],
        only: Option<&[u32]>,
        ef: usize,
    ) -> Option<Vec<Scored>> {
        if factors.items.nrows() != self.n_items() || user >= factors.users.nrows() {
            return None;
        }
        let u = factors.users.row(user);
        let (q, norm) = self.query(u)?;
        let mut best: Vec<Scored> = Vec::new();
        // Every band's candidates were its whole band: exactly what exact scoring leaves.
        let mut whole = true;
        for band in &self.bands {
            // No item of this band (nor of a later one, of smaller radius) scores more than
            // `R_b·|u, 1|`; the margin covers rounding in the radius and the scores.
            if k > 0 && best.len() >= k {
                let bound = f64::from(band.radius) * f64::from(norm) * (1.0 + 1e-5);
                if bound < f64::from(best[k - 1].score) {
                    break;
                }
            }
            let found = band.hnsw.search(&q, ef, ef);
            whole &= found.len() >= band.items;
            best.extend(
                found
                    .into_iter()
                    .filter_map(|n| u32::try_from(n.d_id).ok())
                    .filter(|i| exclude.binary_search(i).is_err())
                    .filter(|i| only.is_none_or(|o| o.binary_search(i).is_ok()))
                    .map(|i| Scored {
                        item: ItemId(i),
                        score: score(factors, u, i as usize),
                    }),
            );
            best = select(&mut best, k);
        }
        if best.len() < k && !whole {
            return None;
        }
        Some(best)
    }

    /// Chooses `ef` ([`Calibration`]): recall@k of the index's lists against exact scoring on
    /// a seeded sample of `factors`' users (those with a non-zero vector), `ef` doubled from
    /// `ef_start` until the recall reaches the target or `ef_max` is tried. Keeps the last
    /// `ef` tried and its recall either way; the caller decides what a miss means.
    pub fn calibrate(&mut self, factors: &FactorView<'_>, cal: &Calibration) -> Calibrated {
        let n_users = factors.users.nrows();
        let mut rng = ChaCha8Rng::seed_from_u64(cal.seed);
        let mut sample: Vec<usize> = if n_users <= cal.sample_users {
            (0..n_users).collect()
        } else {
            rand::seq::index::sample(&mut rng, n_users, cal.sample_users).into_vec()
        };
        sample.sort_unstable();
        let k = cal.k.max(1);
        let exact: Vec<(usize, Vec<u32>)> = sample
            .par_iter()
            .filter(|&&u| {
                let row = factors.users.row(u);
                row.iter().all(|x| x.is_finite()) && row.iter().any(|&x| x != 0.0)
            })
            .map(|&u| (u, exact_top_k(factors, u, k)))
            .collect();
        let mut ef = cal.ef_start.max(1);
        loop {
            let hits: usize = exact
                .par_iter()
                .map(|(u, want)| {
                    self.top_k_at(factors, *u, k, &[], None, ef)
                        .map_or(0, |got| {
                            got.iter().filter(|s| want.contains(&s.item.0)).count()
                        })
                })
                .sum();
            let wanted: usize = exact.iter().map(|(_, w)| w.len()).sum();
            let recall = if wanted == 0 {
                1.0
            } else {
                hits as f64 / wanted as f64
            };
            let reached = recall >= cal.target;
            if reached || ef >= cal.ef_max {
                self.summary.ef = ef as u64;
                self.summary.recall = Some(recall);
                self.summary.recall_k = k as u64;
                self.summary.recall_users = exact.len() as u64;
                return Calibrated {
                    ef,
                    recall,
                    users: exact.len(),
                    reached,
                };
            }
            ef = (ef * 2).min(cal.ef_max);
        }
    }

    /// The stored form: the SHA-256 of the head, the head's length (u32 little-endian), the
    /// head (bincode: [`AnnSummary`], then per band its radius, item count and the lengths of
    /// its dumps), the SHA-256 of the rest, and the rest: each band's `hnsw_rs` graph dump, then
    /// its data dump (which holds the band's item ids), band after band.
    pub fn to_bytes(&self) -> Result<Vec<u8>, AnnError> {
        let io = |e: String| AnnError::Io { detail: e };
        let dir = tempfile::tempdir().map_err(|e| io(format!("scratch directory: {e}")))?;
        let mut heads = Vec::with_capacity(self.bands.len());
        let mut dumps: Vec<Vec<u8>> = Vec::with_capacity(2 * self.bands.len());
        for (j, band) in self.bands.iter().enumerate() {
            let name = format!("{BASENAME}{j}");
            // `hnsw_rs` panics when it cannot create its files.
            let dumped = catch_unwind(AssertUnwindSafe(|| band.hnsw.file_dump(dir.path(), &name)))
                .map_err(|_| io("writing the graph's scratch files failed".to_owned()))?
                .map_err(|e| io(format!("writing the graph: {e}")))?;
            let read = |ext: &str| {
                std::fs::read(dir.path().join(format!("{dumped}.hnsw.{ext}")))
                    .map_err(|e| io(format!("reading the graph's {ext} dump: {e}")))
            };
            let graph = read("graph")?;
            let data = read("data")?;
            heads.push(BandHead {
                radius: band.radius,
                items: band.items as u64,
                graph_len: graph.len() as u64,
                data_len: data.len() as u64,
            });
            dumps.push(graph);
            dumps.push(data);
        }
        let head = Head {
            format: FORMAT,
            summary: self.summary,
            bands: heads,
        };
        let head = bincode::serde::encode_to_vec(&head, bincode::config::standard())
            .map_err(|e| io(format!("encoding: {e}")))?;
        let head_len = u32::try_from(head.len()).map_err(|e| io(e.to_string()))?;
        let mut body = Sha256::new();
        dumps.iter().for_each(|d| body.update(d));
        let body_len: usize = dumps.iter().map(Vec::len).sum();
        let mut out = Vec::with_capacity(2 * DIGEST + 4 + head.len() + body_len);
        out.extend_from_slice(&Sha256::digest(&head));
        out.extend_from_slice(&head_len.to_le_bytes());
        out.extend_from_slice(&head);
        out.extend_from_slice(&body.finalize());
        for d in dumps {
            out.extend_from_slice(&d);
        }
        Ok(out)
    }

    /// The summary at the start of [`AnnIndex::to_bytes`]' bytes (`prefix` needs to hold only
    /// the head), its own digest checked.
    pub fn read_summary(prefix: &[u8]) -> Result<AnnSummary, AnnError> {
        Ok(split_head(prefix)?.0.summary)
    }

    /// Reads [`AnnIndex::to_bytes`]' bytes for a model of `n_items` items of `dim` factors
    /// (`bias`: with item biases); bytes that fail their digests, do not decode or do not fit
    /// the model are [`AnnError::Corruption`].
    pub fn from_bytes(
        bytes: &[u8],
        n_items: usize,
        dim: usize,
        bias: bool,
    ) -> Result<Self, AnnError> {
        let bad = |detail: String| AnnError::Corruption { detail };
        let (head, rest) = split_head(bytes)?;
        let s = head.summary;
        let (digest, body) = rest
            .split_at_checked(DIGEST)
            .ok_or_else(|| bad(format!("{} bytes after the head", rest.len())))?;
        if Sha256::digest(body).as_slice() != digest {
            return Err(bad("checksum mismatch".to_owned()));
        }
        let fits = s.n_items == n_items as u64
            && s.dim == dim as u64
            && s.bias == bias
            && s.ef > 0
            && (2..=256).contains(&s.connections);
        if !fits {
            return Err(bad(format!(
                "built for {} items of {} factors{}, the model has {n_items} of {dim}{}",
                s.n_items,
                s.dim,
                if s.bias { " with biases" } else { "" },
                if bias { " with biases" } else { "" },
            )));
        }
        let n_bands = head.bands.len();
        if n_bands == 0 || s.bands != n_bands as u64 {
            return Err(bad(format!(
                "{} bands recorded, {n_bands} described",
                s.bands
            )));
        }
        let ordered = head.bands.windows(2).all(|w| w[0].radius >= w[1].radius);
        if !ordered
            || head
                .bands
                .iter()
                .any(|b| !(b.radius >= 0.0 && b.radius.is_finite()))
        {
            return Err(bad("band radii not finite and descending".to_owned()));
        }
        let mut lens = Vec::with_capacity(2 * n_bands);
        for b in &head.bands {
            for len in [b.graph_len, b.data_len] {
                lens.push(usize::try_from(len).map_err(|e| bad(e.to_string()))?);
            }
        }
        let total = lens.iter().try_fold(0usize, |acc, &l| acc.checked_add(l));
        if total != Some(body.len()) {
            return Err(bad(format!(
                "{} bytes of graphs and data, {} recorded",
                body.len(),
                total.map_or("more than can be addressed".to_owned(), |t| t.to_string())
            )));
        }
        let io = |e: String| AnnError::Io { detail: e };
        let dir = tempfile::tempdir().map_err(|e| io(format!("scratch directory: {e}")))?;
        let width = dim + usize::from(bias) + usize::from(s.metric == AnnMetric::Augmented);
        let mut seen = vec![false; n_items];
        let mut points = 0usize;
        let mut rest = body;
        let mut bands = Vec::with_capacity(n_bands);
        for (j, (b, len)) in head.bands.iter().zip(lens.chunks_exact(2)).enumerate() {
            let (graph, after) = rest.split_at(len[0]);
            let (data, after) = after.split_at(len[1]);
            rest = after;
            let name = format!("{BASENAME}{j}");
            for (ext, part) in [("graph", graph), ("data", data)] {
                std::fs::write(dir.path().join(format!("{name}.hnsw.{ext}")), part)
                    .map_err(|e| io(format!("writing the graph's {ext} scratch file: {e}")))?;
            }
            // The graph borrows its reader for as long as it lives: the reader (a few hundred
            // bytes; the points are copied out of the files, which are removed below) is kept
            // for the life of the process, once per band of each index loaded.
            let reader: &'static mut HnswIo = Box::leak(Box::new(HnswIo::new(dir.path(), &name)));
            // `hnsw_rs` asserts on what it reads; the digest has already vouched for the bytes.
            let hnsw: Hnsw<'static, f32, UnitDot> = catch_unwind(AssertUnwindSafe(move || {
                let reader = reader;
                reader.load_hnsw::<f32, UnitDot>()
            }))
            .map_err(|_| bad(format!("band {j}'s graph does not decode")))?
            .map_err(|e| bad(format!("band {j}'s graph does not decode: {e}")))?;
            let mut in_band = 0usize;
            for p in hnsw.get_point_indexation() {
                if p.get_v().len() != width {
                    return Err(bad(format!(
                        "a point of {} numbers, {width} expected",
                        p.get_v().len()
                    )));
                }
                match seen.get_mut(p.get_origin_id()) {
                    Some(s) if !*s => *s = true,
                    _ => {
                        return Err(bad(format!(
                            "item {} indexed twice or out of range",
                            p.get_origin_id()
                        )));
                    }
                }
                in_band += 1;
            }
            if in_band as u64 != b.items {
                return Err(bad(format!(
                    "band {j}: {in_band} points, {} recorded",
                    b.items
                )));
            }
            points += in_band;
            let mut hnsw = hnsw;
            hnsw.set_searching_mode(true);
            bands.push(Band {
                hnsw,
                radius: b.radius,
                items: in_band,
            });
        }
        if points != n_items {
            return Err(bad(format!("{points} points for {n_items} items")));
        }
        Ok(Self { bands, summary: s })
    }
}

/// The head of stored index bytes (its digest checked) and the bytes after it.
fn split_head(bytes: &[u8]) -> Result<(Head, &[u8]), AnnError> {
    let bad = |detail: String| AnnError::Corruption { detail };
    let short = || bad(format!("{} bytes", bytes.len()));
    let (digest, rest) = bytes.split_at_checked(DIGEST).ok_or_else(short)?;
    let (len, rest) = rest.split_at_checked(4).ok_or_else(short)?;
    let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
    let (head, rest) = rest.split_at_checked(len).ok_or_else(short)?;
    if Sha256::digest(head).as_slice() != digest {
        return Err(bad("checksum mismatch in the head".to_owned()));
    }
    let (head, used): (Head, usize) =
        bincode::serde::decode_from_slice(head, bincode::config::standard())
            .map_err(|e| bad(e.to_string()))?;
    if used != len {
        return Err(bad(format!("{} trailing bytes in the head", len - used)));
    }
    if head.format != FORMAT {
        return Err(bad(format!("format {}, {FORMAT} expected", head.format)));
    }
    Ok((head, rest))
}

/// The model's score of item `i` for user vector `u`.
fn score(factors: &FactorView<'_>, u: ArrayView1<'_, f32>, i: usize) -> f32 {
    let mut s = u.dot(&factors.items.row(i));
    if let Some(b) = factors.item_bias {
        s += b[i];
    }
    s
}

/// The `k` best items of user row `user`, every item scored (by [`score`], as the index's
/// candidates are, so that ties fall the same way).
fn exact_top_k(factors: &FactorView<'_>, user: usize, k: usize) -> Vec<u32> {
    let u = factors.users.row(user);
    let mut buf: Vec<Scored> = (0..factors.items.nrows())
        .map(|i| Scored {
            item: ItemId(i as u32),
            score: score(factors, u, i),
        })
        .collect();
    select(&mut buf, k).iter().map(|s| s.item.0).collect()
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
        build_in(m, ef, AnnMetric::default())
    }

    fn build_in(m: &FactorModel, ef: usize, metric: AnnMetric) -> AnnIndex {
        build_banded(m, ef, metric, AnnBands::Auto)
    }

    fn build_banded(m: &FactorModel, ef: usize, metric: AnnMetric, bands: AnnBands) -> AnnIndex {
        let params = AnnParams {
            connections: 16,
            ef_construction: 100,
            metric,
            bands,
        };
        let mut index = AnnIndex::build(&m.factors().unwrap(), &params).unwrap();
        index.set_ef(ef);
        index
    }

    use crate::cf::Recommender;

    /// Recall@10 of `index`'s lists against exact scoring over the first `users` users.
    fn recall_over(m: &FactorModel, index: &AnnIndex, users: u32) -> f64 {
        let f = m.factors().unwrap();
        let hits: usize = (0..users)
            .map(|u| {
                let exact = top_k(&user_scores(m, crate::ids::UserId(u)), 10, &[]);
                let approx = index.top_k(&f, u as usize, 10, &[], None).unwrap();
                approx
                    .iter()
                    .filter(|s| exact.iter().any(|e| e.item == s.item))
                    .count()
            })
            .sum();
        hits as f64 / (10 * users) as f64
    }

    /// Both spaces order items as the model does: either graph finds the exact lists, in one
    /// band or in several.
    #[test]
    fn recall_at_10_against_exact_is_high_in_either_space() {
        let m = model(200, 3000, 16, 1);
        for metric in [AnnMetric::Ip, AnnMetric::Augmented] {
            for bands in [1, 4] {
                let index = build_banded(&m, 64, metric, AnnBands::Count(bands));
                assert_eq!(index.summary().metric, metric);
                assert_eq!(index.n_bands(), bands);
                assert_eq!(index.summary().bands, bands as u64);
                let recall = recall_over(&m, &index, 200);
                assert!(
                    recall >= 0.95,
                    "{metric:?}, {bands} bands: recall@10 {recall}"
                );
            }
        }
    }

    /// Bands of equal size by descending norm; the bound skips bands that cannot hold a better
    /// item, so a band count of one per item still gives the exact list at `ef` 1.
    /// Auto bands above one graph's size are also cut where the norms would span more than
    /// the ratio (once a band holds the minimum), never below the equal-count cuts; a given
    /// count is that count.
    #[test]
    fn auto_bands_are_cut_where_the_norms_spread() {
        let n = AUTO_ONE_GRAPH_ITEMS * 2 + 10;
        // Norms falling from 1000 (fast at the top, as a power law's) to 1, sorted descending.
        let sorted: Vec<f32> = (0..n)
            .map(|i| 1000.0 * (1.0 + i as f32 / 10.0).powf(-0.9))
            .collect();
        let bands = norm_bands(&sorted, AnnBands::Auto);
        assert!(bands.len() > AnnBands::Auto.resolve(n), "{}", bands.len());
        assert_eq!(bands.first().map(|r| r.start), Some(0));
        assert_eq!(bands.last().map(|r| r.end), Some(n));
        assert!(bands.windows(2).all(|w| w[0].end == w[1].start));
        for r in &bands {
            let (top, low) = (sorted[r.start], sorted[r.end - 1]);
            assert!(
                r.len() <= AUTO_MIN_BAND_ITEMS + 1 || top <= AUTO_BAND_NORM_RATIO * low,
                "{r:?}: {top} / {low}"
            );
        }
        // Equal norms: only the equal-count cuts.
        let flat = vec![1.0f32; n];
        assert_eq!(
            norm_bands(&flat, AnnBands::Auto).len(),
            AnnBands::Auto.resolve(n)
        );
        assert_eq!(norm_bands(&sorted, AnnBands::Count(3)).len(), 3);
        // One graph: no cut.
        assert_eq!(norm_bands(&sorted[..1000], AnnBands::Auto).len(), 1);
    }

    #[test]
    fn bands_split_by_norm_and_the_bound_keeps_lists_exact() {
        assert_eq!(AnnBands::Auto.resolve(10), 1);
        assert_eq!(AnnBands::Auto.resolve(AUTO_ONE_GRAPH_ITEMS), 1);
        assert_eq!(
            AnnBands::Auto.resolve(1_000_000),
            1_000_000usize.div_ceil(AUTO_BAND_ITEMS)
        );
        assert_eq!(AnnBands::Count(8).resolve(5), 5);
        assert_eq!("auto".parse::<AnnBands>(), Ok(AnnBands::Auto));
        assert_eq!("12".parse::<AnnBands>(), Ok(AnnBands::Count(12)));
        assert!("0".parse::<AnnBands>().is_err() && "x".parse::<AnnBands>().is_err());
        let m = model(20, 60, 4, 7);
        let f = m.factors().unwrap();
        let index = build_banded(&m, 1, AnnMetric::Augmented, AnnBands::Count(60));
        assert_eq!(index.n_bands(), 60);
        let radii: Vec<f32> = index.bands.iter().map(|b| b.radius).collect();
        assert!(radii.windows(2).all(|w| w[0] >= w[1]), "{radii:?}");
        for u in 0..20 {
            let exact: Vec<u32> = top_k(&user_scores(&m, crate::ids::UserId(u)), 5, &[])
                .iter()
                .map(|s| s.item.0)
                .collect();
            let got: Vec<u32> = index
                .top_k(&f, u as usize, 5, &[], None)
                .unwrap()
                .iter()
                .map(|s| s.item.0)
                .collect();
            assert_eq!(got, exact, "user {u}");
        }
        let params = AnnParams {
            bands: AnnBands::Count(0),
            ..AnnParams::default()
        };
        assert!(matches!(
            AnnIndex::build(&f, &params),
            Err(AnnError::Unsuitable { .. })
        ));
    }

    #[test]
    fn rescored_lists_have_exact_scores() {
        let m = model(200, 3000, 16, 1);
        let index = build(&m, 64);
        let f = m.factors().unwrap();
        let mut hits = 0usize;
        for u in 0..200 {
            let exact = top_k(&user_scores(&m, crate::ids::UserId(u)), 10, &[]);
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
            top_k(&user_scores(&small, crate::ids::UserId(0)), 10, &exclude)
                .iter()
                .map(|s| s.item.0)
                .collect::<Vec<_>>()
        );
    }

    /// The same model gives the same bytes whatever the thread count (insertions run in item
    /// order within a band, the bands in parallel); another model gives other bytes, so the
    /// comparison can fail.
    #[test]
    fn the_same_model_gives_the_same_index_on_any_thread_count() {
        let m = model(20, 2000, 8, 3);
        for bands in [1, 5] {
            let built_on = |m: &FactorModel, threads: usize| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                pool.install(|| {
                    build_banded(m, 32, AnnMetric::Augmented, AnnBands::Count(bands))
                        .to_bytes()
                        .unwrap()
                })
            };
            let bytes = built_on(&m, 1);
            for threads in [1, 2, 2, 4] {
                assert!(
                    built_on(&m, threads) == bytes,
                    "{bands} bands, {threads} threads: another graph"
                );
            }
            assert!(built_on(&model(20, 2000, 8, 4), 2) != bytes);
        }
    }

    /// Stored bytes read back as written; every damage is caught.
    #[test]
    fn stored_bytes_round_trip_and_are_checked() {
        let m = model(20, 400, 8, 3);
        let f = m.factors().unwrap();
        let a = build_banded(&m, 32, AnnMetric::Augmented, AnnBands::Count(3));
        let bytes = a.to_bytes().unwrap();
        let back = AnnIndex::from_bytes(&bytes, 400, 8, true).unwrap();
        assert_eq!(back.summary(), a.summary());
        assert_eq!(back.n_bands(), 3);
        for (x, y) in back.bands.iter().zip(&a.bands) {
            assert_eq!((x.radius, x.items), (y.radius, y.items));
        }
        assert_eq!(AnnIndex::read_summary(&bytes[..200]).unwrap(), *a.summary());
        for u in 0..20 {
            assert_eq!(
                back.top_k(&f, u, 10, &[], None),
                a.top_k(&f, u, 10, &[], None)
            );
        }
        // A flipped byte anywhere is caught by the digest; a model of another shape is refused.
        for at in [
            0,
            33,
            40,
            80,
            bytes.len() / 3,
            bytes.len() / 2,
            bytes.len() - 1,
        ] {
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

    /// Calibration raises `ef` until the sampled users' recall@10 reaches the target, and
    /// records what it measured; a target the cap cannot reach is reported as missed.
    #[test]
    fn calibration_raises_ef_to_the_target_or_reports_a_miss() {
        let m = model(300, 4000, 16, 6);
        let f = m.factors().unwrap();
        let mut index = build_in(&m, 1, AnnMetric::Augmented);
        let cal = Calibration {
            ef_start: 10,
            ef_max: 4000,
            target: 0.99,
            k: 10,
            sample_users: 100,
            seed: 3,
        };
        let got = index.calibrate(&f, &cal);
        assert!(got.reached, "{got:?}");
        assert!(got.recall >= 0.99);
        assert_eq!(got.users, 100);
        assert_eq!(index.ef(), got.ef);
        assert_eq!(index.summary().recall, Some(got.recall));
        assert_eq!(index.summary().recall_users, 100);
        // The recall claimed holds on users outside the sample too (all 300, within noise).
        let all = recall_over(&m, &index, 300);
        assert!(all >= 0.95, "recall {all}");
        // A target no index can reach: every doubling tried, a miss at the cap.
        let mut index = build_in(&m, 1, AnnMetric::Augmented);
        let miss = index.calibrate(
            &f,
            &Calibration {
                ef_start: 10,
                ef_max: 40,
                target: 1.01,
                ..cal
            },
        );
        assert!(!miss.reached && miss.ef == 40, "{miss:?}");
        assert_eq!(index.summary().recall, Some(miss.recall));
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
