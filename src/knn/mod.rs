//! Neighbourhood collaborative filtering: item-kNN and user-kNN over the interactions (maths in
//! `docs/model.md`, "Neighbourhood models").
//!
//! Both compare "documents" (items for item-kNN, users for user-kNN) by the "terms" they share
//! (the other side of the interactions), with one of three kernels: cosine, Jaccard or BM25
//! (the weighting of `implicit`'s `BM25Recommender`). A pair's similarity is multiplied by the
//! shrinkage `c / (c + s)` of its support `c` (the terms the two share), and each document keeps
//! its `K` most similar others, sparse: memory is `O(documents · K)`, never `O(n²)`. Rows are
//! computed on rayon's threads, each from its own document alone, so the result does not depend
//! on the thread count. Interactions count as present or absent (their values are not read).
//!
//! Item-kNN is served as an item-to-item model ([`crate::ease::ItemToItem`]: a history's score of
//! `i` is `Σ_{j ∈ history} S[j, i]`, row `j` holding `j`'s neighbours); user-kNN by
//! [`UserKnn`] (`Σ_{v ∈ N(u)} sim(u, v)` over the neighbours `v` who have the item).

use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::cf::{
    Basis, FitError, InteractionMatrix, ParamError, Recommender, UserRow, non_negative, positive,
    require,
};
use crate::ease::ItemWeights;
use crate::ids::UserId;

/// How two documents are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Similarity {
    /// `c / √(n_a n_b)`: shared terms over the geometric mean of the lengths.
    Cosine,
    /// `c / (n_a + n_b − c)`: shared terms over the union.
    Jaccard,
    /// `Σ_{t ∈ a ∩ b} w_a w_b idf_t²` with BM25's length-normalised document weights.
    #[default]
    Bm25,
}

impl Similarity {
    /// The `--similarity` spellings.
    pub const NAMES: [&'static str; 3] = ["cosine", "jaccard", "bm25"];

    /// The kernel a `--similarity` spelling names.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "cosine" => Some(Self::Cosine),
            "jaccard" => Some(Self::Jaccard),
            "bm25" => Some(Self::Bm25),
            _ => None,
        }
    }

    /// The `--similarity` spelling.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cosine => "cosine",
            Self::Jaccard => "jaccard",
            Self::Bm25 => "bm25",
        }
    }
}

/// BM25's term-frequency saturation `k1` (`implicit`'s default).
pub const BM25_K1: f32 = 1.2;
/// BM25's length normalisation `b` (`implicit`'s default).
pub const BM25_B: f32 = 0.75;

/// Hyper-parameters of a neighbourhood model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KnnParams {
    /// The kernel.
    pub similarity: Similarity,
    /// Neighbours kept per document.
    pub neighbours: usize,
    /// Shrinkage `s`: a similarity is multiplied by `c / (c + s)`, `c` its support (0: none).
    pub shrink: f32,
    /// BM25's `k1`.
    #[serde(default = "bm25_k1")]
    pub bm25_k1: f32,
    /// BM25's `b`.
    #[serde(default = "bm25_b")]
    pub bm25_b: f32,
}

fn bm25_k1() -> f32 {
    BM25_K1
}

fn bm25_b() -> f32 {
    BM25_B
}

impl KnnParams {
    /// Item-kNN's defaults: BM25, 300 neighbours, shrinkage 25, chosen on validation rows
    /// carved from the ml-100k folds' training files (`docs/benchmarks.md`). A fixed count, not
    /// a share of the catalogue, so that a larger catalogue keeps the same memory per item.
    pub fn item_defaults() -> Self {
        Self {
            similarity: Similarity::Bm25,
            neighbours: 300,
            shrink: 25.0,
            bm25_k1: BM25_K1,
            bm25_b: BM25_B,
        }
    }

    /// User-kNN's defaults, chosen the same way: BM25, 100 neighbours, no shrinkage (a BM25
    /// similarity is a sum over the shared items, so it already grows with its support).
    pub fn user_defaults() -> Self {
        Self {
            similarity: Similarity::Bm25,
            neighbours: 100,
            shrink: 0.0,
            bm25_k1: BM25_K1,
            bm25_b: BM25_B,
        }
    }

    /// Range checks.
    pub fn check(&self) -> Result<(), ParamError> {
        require(self.neighbours >= 1, "neighbours", self.neighbours, ">= 1")?;
        non_negative("shrink", self.shrink)?;
        positive("bm25 k1", self.bm25_k1)?;
        require(
            (0.0..=1.0).contains(&self.bm25_b),
            "bm25 b",
            self.bm25_b,
            "between 0 and 1",
        )
    }

    /// The kernel of documents of lengths `lengths` over terms of document frequencies
    /// `term_df` (`n_docs` documents in all).
    pub fn kernel(&self, lengths: Vec<u32>, term_df: &[u32]) -> Kernel {
        let n_docs = lengths.len();
        let term_weight_sq = term_df
            .iter()
            .map(|&df| match self.similarity {
                // idf = ln N − ln(1 + df), as `implicit`: only its square enters a
                // similarity, so a term in every document (idf < 0) weighs a little too.
                Similarity::Bm25 => {
                    let idf = (n_docs as f64).ln() - f64::from(df).ln_1p();
                    (idf * idf) as f32
                }
                _ => 1.0,
            })
            .collect();
        Kernel::from_parts(*self, lengths, term_weight_sq)
    }
}

/// A fitted kernel: what compares a document with the trained ones (the lengths of the trained
/// documents and each term's squared weight).
#[derive(Debug, Clone, PartialEq)]
pub struct Kernel {
    params: KnnParams,
    /// Each trained document's length (terms).
    pub lengths: Vec<u32>,
    /// Each term's squared weight (BM25: `idf²`; otherwise 1).
    pub term_weight_sq: Vec<f32>,
    mean_length: f64,
}

impl Kernel {
    /// Rebuilds a stored kernel.
    pub fn from_parts(params: KnnParams, lengths: Vec<u32>, term_weight_sq: Vec<f32>) -> Self {
        let active = lengths.iter().filter(|&&l| l > 0).count();
        let total: u64 = lengths.iter().map(|&l| u64::from(l)).sum();
        Self {
            params,
            mean_length: total as f64 / active.max(1) as f64,
            lengths,
            term_weight_sq,
        }
    }

    /// A document's own factor: cosine `1/√n`, BM25 `(k1 + 1) / (k1 · ((1 − b) + b · n / n̄) + 1)`.
    fn doc_factor(&self, length: u32) -> f64 {
        let n = f64::from(length);
        match self.params.similarity {
            Similarity::Cosine => 1.0 / n.max(1.0).sqrt(),
            Similarity::Jaccard => 1.0,
            Similarity::Bm25 => {
                let (k1, b) = (
                    f64::from(self.params.bm25_k1),
                    f64::from(self.params.bm25_b),
                );
                let norm = (1.0 - b) + b * n / self.mean_length.max(1.0);
                (k1 + 1.0) / (k1 * norm + 1.0)
            }
        }
    }

    /// The similarity of a document of length `len_a` with trained document `b`, given the
    /// weight `dot` (`Σ` of the shared terms' squared weights) and count `support` of the terms
    /// they share; shrinkage applied.
    fn similarity(&self, len_a: u32, b: usize, dot: f64, support: u32) -> f64 {
        let len_b = self.lengths.get(b).copied().unwrap_or(0);
        let raw = match self.params.similarity {
            Similarity::Jaccard => {
                let union = f64::from(len_a) + f64::from(len_b) - f64::from(support);
                if union > 0.0 {
                    f64::from(support) / union
                } else {
                    0.0
                }
            }
            _ => self.doc_factor(len_a) * self.doc_factor(len_b) * dot,
        };
        let c = f64::from(support);
        raw * c / (c + f64::from(self.params.shrink))
    }

    /// The `K` documents most similar to a document with terms `terms` (not counting `own`,
    /// the document itself when it is a trained one), by `(similarity desc, id asc)`, then
    /// returned in ascending id order. `docs_of(t)` lists the trained documents holding term
    /// `t`; `scratch` is reused between calls.
    pub fn neighbours<'a>(
        &self,
        terms: &[u32],
        own: Option<u32>,
        docs_of: impl Fn(u32) -> &'a [u32],
        scratch: &mut Scratch,
    ) -> Vec<(u32, f32)> {
        let len_a = terms.len() as u32;
        for &t in terms {
            let w = self.term_weight_sq.get(t as usize).copied().unwrap_or(0.0);
            for &d in docs_of(t) {
                if Some(d) == own {
                    continue;
                }
                let k = d as usize;
                if scratch.support[k] == 0 {
                    scratch.touched.push(d);
                }
                scratch.support[k] += 1;
                scratch.dot[k] += f64::from(w);
            }
        }
        let mut found: Vec<(u32, f32)> = Vec::with_capacity(scratch.touched.len());
        for &d in &scratch.touched {
            let k = d as usize;
            let s = self.similarity(len_a, k, scratch.dot[k], scratch.support[k]) as f32;
            if s > 0.0 && s.is_finite() {
                found.push((d, s));
            }
            scratch.dot[k] = 0.0;
            scratch.support[k] = 0;
        }
        scratch.touched.clear();
        let by_rank = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        let k = self.params.neighbours;
        if found.len() > k {
            found.select_nth_unstable_by(k - 1, by_rank);
            found.truncate(k);
        }
        found.sort_unstable_by_key(|&(d, _)| d);
        found
    }
}

/// One thread's accumulators over the trained documents.
#[derive(Debug, Clone)]
pub struct Scratch {
    dot: Vec<f64>,
    support: Vec<u32>,
    touched: Vec<u32>,
}

impl Scratch {
    /// Accumulators for `n` trained documents.
    pub fn new(n: usize) -> Self {
        Self {
            dot: vec![0.0; n],
            support: vec![0; n],
            touched: Vec::new(),
        }
    }
}

/// Sparse rows: row `d` is `cols[ptr[d]..ptr[d + 1]]` (ascending) with `vals` beside them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rows {
    /// Row offsets (`rows + 1`).
    pub ptr: Vec<usize>,
    /// Neighbour ids.
    pub cols: Vec<u32>,
    /// Similarities.
    pub vals: Vec<f32>,
}

/// The `K` nearest neighbours of every document: `doc_ptr`/`doc_terms` is the documents' CSR
/// over terms, `term_ptr`/`term_docs` the terms' CSR over documents. In parallel, deterministic.
fn all_neighbours(
    params: &KnnParams,
    (doc_ptr, doc_terms): (&[usize], &[u32]),
    (term_ptr, term_docs): (&[usize], &[u32]),
    cancel: &AtomicBool,
) -> Result<(Kernel, Rows), FitError> {
    let n_docs = doc_ptr.len().saturating_sub(1);
    let lengths: Vec<u32> = doc_ptr.windows(2).map(|w| (w[1] - w[0]) as u32).collect();
    let df: Vec<u32> = term_ptr.windows(2).map(|w| (w[1] - w[0]) as u32).collect();
    let kernel = params.kernel(lengths, &df);
    let docs_of = |t: u32| {
        let t = t as usize;
        &term_docs[term_ptr[t]..term_ptr[t + 1]]
    };
    let rows: Vec<Vec<(u32, f32)>> = (0..n_docs)
        .into_par_iter()
        .map_init(
            || Scratch::new(n_docs),
            |scratch, d| {
                if cancel.load(Ordering::Relaxed) {
                    return Vec::new();
                }
                let terms = &doc_terms[doc_ptr[d]..doc_ptr[d + 1]];
                kernel.neighbours(terms, Some(d as u32), docs_of, scratch)
            },
        )
        .collect();
    if cancel.load(Ordering::Relaxed) {
        return Err(FitError::Cancelled);
    }
    let mut out = Rows {
        ptr: Vec::with_capacity(n_docs + 1),
        ..Rows::default()
    };
    out.ptr.push(0);
    for row in rows {
        for (c, v) in row {
            out.cols.push(c);
            out.vals.push(v);
        }
        out.ptr.push(out.cols.len());
    }
    Ok((kernel, out))
}

/// A fitted item-kNN model: each item's neighbours, as an item-to-item `S`.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemKnn {
    /// Row `j`: `j`'s neighbours and their similarities.
    pub weights: ItemWeights,
}

impl KnnParams {
    /// The neighbours of every item (`by_items`) or every user of `matrix`.
    fn fit_side(
        &self,
        matrix: &InteractionMatrix,
        by_items: bool,
        cancel: &AtomicBool,
    ) -> Result<(Kernel, ItemWeights), FitError> {
        self.check()?;
        if matrix.nnz() == 0 {
            return Err(FitError::Empty);
        }
        let (item_ptr, item_users, _) = matrix.item_csr();
        let (user_ptr, user_items, _) = matrix.user_csr();
        let (items, users) = ((item_ptr, item_users), (user_ptr, user_items));
        let (docs, terms, n) = match by_items {
            true => (items, users, matrix.n_items()),
            false => (users, items, matrix.n_users()),
        };
        let (kernel, rows) = all_neighbours(self, docs, terms, cancel)?;
        let weights = ItemWeights::from_sparse_rows(n, rows.ptr, rows.cols, rows.vals);
        Ok((kernel, weights))
    }

    /// Item-kNN on `matrix`.
    pub fn fit_items(
        &self,
        matrix: &InteractionMatrix,
        cancel: &AtomicBool,
    ) -> Result<ItemKnn, FitError> {
        let (_, weights) = self.fit_side(matrix, true, cancel)?;
        Ok(ItemKnn { weights })
    }

    /// User-kNN on `matrix`.
    pub fn fit_users(
        &self,
        matrix: &InteractionMatrix,
        cancel: &AtomicBool,
    ) -> Result<UserNeighbours, FitError> {
        let (kernel, neighbours) = self.fit_side(matrix, false, cancel)?;
        Ok(UserNeighbours { kernel, neighbours })
    }
}

/// A fitted user-kNN model: each trained user's neighbours (the rows of an `n_users × n_users`
/// sparse matrix) and the kernel that places a user who arrived later.
#[derive(Debug, Clone, PartialEq)]
pub struct UserNeighbours {
    /// The kernel (trained users' lengths, items' weights).
    pub kernel: Kernel,
    /// Row `u`: `u`'s neighbours and their similarities.
    pub neighbours: ItemWeights,
}

/// User-kNN ready to serve: the neighbours and the trained users' items as the interaction
/// matrix held them when the model was bound.
#[derive(Debug)]
pub struct UserKnn {
    fitted: UserNeighbours,
    n_items: usize,
    /// CSR of the items of users `0..n_users`.
    user_ptr: Vec<usize>,
    user_items: Vec<u32>,
    /// CSR of the trained users of every item (for users folded in).
    item_ptr: Vec<usize>,
    item_users: Vec<u32>,
}

impl UserKnn {
    /// Binds `fitted` (over `n_items` items) to the items users `0..n_users` hold in `matrix`.
    pub fn new(fitted: UserNeighbours, matrix: &InteractionMatrix, n_items: usize) -> Self {
        let n_users = fitted.neighbours.n_items();
        let mut user_ptr = vec![0];
        let mut user_items = Vec::new();
        let mut counts = vec![0usize; n_items];
        for u in 0..n_users {
            for &i in UserRow::of(matrix, UserId(u as u32)).items {
                if (i as usize) < n_items {
                    user_items.push(i);
                    counts[i as usize] += 1;
                }
            }
            user_ptr.push(user_items.len());
        }
        let mut item_ptr = vec![0usize; n_items + 1];
        for (i, c) in counts.iter().enumerate() {
            item_ptr[i + 1] = item_ptr[i] + c;
        }
        let mut fill = item_ptr.clone();
        let mut item_users = vec![0u32; user_items.len()];
        for u in 0..n_users {
            for &i in &user_items[user_ptr[u]..user_ptr[u + 1]] {
                item_users[fill[i as usize]] = u as u32;
                fill[i as usize] += 1;
            }
        }
        Self {
            fitted,
            n_items,
            user_ptr,
            user_items,
            item_ptr,
            item_users,
        }
    }

    fn items_of(&self, user: usize) -> &[u32] {
        &self.user_items[self.user_ptr[user]..self.user_ptr[user + 1]]
    }

    /// `Σ_v sim(u, v) · [i ∈ items(v)]` over `neighbours`.
    fn score_from(&self, neighbours: &[(u32, f32)], out: &mut [f32]) {
        out.iter_mut().for_each(|o| *o = 0.0);
        for &(v, s) in neighbours {
            for &i in self.items_of(v as usize) {
                if let Some(o) = out.get_mut(i as usize) {
                    *o += s;
                }
            }
        }
    }

    /// The stored neighbours of trained user `u`.
    fn stored(&self, u: usize) -> Vec<(u32, f32)> {
        self.fitted.neighbours.row_entries(u)
    }

    /// The neighbours of a user with items `items`, among the trained users.
    pub fn neighbours_of(&self, items: &[u32]) -> Vec<(u32, f32)> {
        let known: Vec<u32> = items
            .iter()
            .copied()
            .filter(|&i| (i as usize) < self.n_items)
            .collect();
        let mut scratch = Scratch::new(self.n_users());
        self.fitted.kernel.neighbours(
            &known,
            None,
            |i| &self.item_users[self.item_ptr[i as usize]..self.item_ptr[i as usize + 1]],
            &mut scratch,
        )
    }
}

impl Recommender for UserKnn {
    fn n_users(&self) -> usize {
        self.user_ptr.len() - 1
    }

    fn n_items(&self) -> usize {
        self.n_items
    }

    fn score_items(&self, user: UserId, out: &mut [f32]) {
        let neighbours = if user.index() < self.n_users() {
            self.stored(user.index())
        } else {
            Vec::new()
        };
        self.score_from(&neighbours, out);
    }

    fn score_user(&self, user: UserRow<'_>, out: &mut [f32]) -> Basis {
        if user.user.index() < self.n_users() {
            self.score_items(user.user, out);
            return Basis::Trained;
        }
        let neighbours = self.neighbours_of(user.items);
        self.score_from(&neighbours, out);
        if neighbours.is_empty() {
            Basis::NoPreference
        } else {
            Basis::FoldedIn
        }
    }
}

#[cfg(test)]
mod tests;
