//! BPR-MF (Rendle et al. 2009): SGD on `−ln σ(x_u·(y_i − y_j) + b_i − b_j)` over (user, positive,
//! uniformly sampled negative) triples, with L2 weight λ on every touched parameter — the model
//! `implicit` fits, item bias included (stored as an extra item column against a constant-1 user
//! column).
//!
//! Parallelism without races or `unsafe`: stratified SGD (Gemulla et al. 2011, "DSGD"). Users are
//! cut into `S` contiguous shards balanced by positives; each epoch the items are shuffled into `S`
//! equal shards; the epoch runs `S` sub-epochs, and in sub-epoch `s` shard `t` trains the positives
//! of user shard `t` whose item lies in item shard `(t + s) mod S`, drawing its negatives from that
//! item shard. The shards of a sub-epoch touch disjoint rows, so they run on disjoint `&mut`
//! slices in parallel, each with its own seeded generator: the same seed and shard count give the
//! same model on any number of threads. The shard count is fixed ([`DEFAULT_SHARDS`]) rather
//! than the thread count, so the same seed gives the same model on any machine. Reshuffling the item shards every epoch keeps each
//! positive's negatives uniform over the catalogue across epochs.

use ndarray::{Array1, Array2};
use rand::Rng;
use rand::seq::SliceRandom;
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

/// The shard count unless [`BprParams::shards`] sets one: fixed, not the thread count, so the
/// same seed gives the same model on any number of threads (up to this many run at once).
pub const DEFAULT_SHARDS: usize = 8;

use super::{
    EpochClock, EpochReport, FactorModel, FitError, InteractionMatrix, ParamError, at_least_one,
    delegate_recommender, dimension, non_negative, positive, setters,
};
use kgrec_kg::numeric::kernel::dot;
use kgrec_kg::numeric::seed::rng_for;

/// Hyper-parameters of [`Bpr`]; build with [`Bpr::params`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BprParams {
    factors: usize,
    learning_rate: f32,
    regularization: f32,
    iterations: usize,
    shards: Option<usize>,
    verify_negatives: bool,
}

/// A fitted BPR-MF model.
#[derive(Debug, Clone, PartialEq)]
pub struct Bpr {
    /// The learnt factors and item biases.
    pub model: FactorModel,
    /// The parameters it was fitted with.
    pub params: BprParams,
}

delegate_recommender!(Bpr);

impl Bpr {
    /// Default parameters (chosen on a validation split of ml-100k fold0's train, see
    /// `docs/cf-notes.md`): 64 factors, learning rate 0.02, λ = 0.02, 300 epochs,
    /// [`DEFAULT_SHARDS`] shards whatever the thread count, negatives the user already has are skipped.
    pub fn params() -> BprParams {
        BprParams {
            factors: 64,
            learning_rate: 0.02,
            regularization: 0.02,
            iterations: 300,
            shards: None,
            verify_negatives: true,
        }
    }
}

impl BprParams {
    setters! {
        /// Latent dimension.
        factors: usize,
        /// SGD step size.
        learning_rate: f32,
        /// L2 weight λ.
        regularization: f32,
        /// Epochs; an epoch draws as many triples as there are positives.
        iterations: usize,
        /// Whether a sampled negative the user already has is skipped (as `implicit` does by default).
        verify_negatives: bool,
    }

    /// Number of parallel shards (default [`DEFAULT_SHARDS`], whatever the thread count). The
    /// model depends on it; the thread count does not change the model.
    pub fn shards(mut self, s: usize) -> Self {
        self.shards = Some(s);
        self
    }

    /// Checks the ranges.
    pub fn check(&self) -> Result<(), ParamError> {
        dimension("factors", self.factors)?;
        positive("learning_rate", self.learning_rate)?;
        non_negative("regularization", self.regularization)?;
        at_least_one("iterations", self.iterations)?;
        at_least_one("shards", self.shards.unwrap_or(1))
    }

    /// Fits on `matrix`; `progress` gets the mean BPR loss of each epoch's triples.
    pub fn fit(
        &self,
        matrix: &InteractionMatrix,
        seed: u64,
        progress: impl FnMut(&EpochReport),
    ) -> Result<Bpr, FitError> {
        self.fit_cancellable(matrix, seed, progress, &AtomicBool::new(false))
    }

    /// [`Self::fit`] that stops with [`FitError::Cancelled`] at the first epoch boundary after
    /// `cancel` is raised.
    pub fn fit_cancellable(
        &self,
        matrix: &InteractionMatrix,
        seed: u64,
        mut progress: impl FnMut(&EpochReport),
        cancel: &AtomicBool,
    ) -> Result<Bpr, FitError> {
        self.check()?;
        if matrix.nnz() == 0 {
            return Err(FitError::Empty);
        }
        let mut clock = EpochClock::new(self.iterations);
        let (n, m, d) = (matrix.n_users(), matrix.n_items(), self.factors);
        let stride = d + 1;
        let shards = self
            .shards
            .unwrap_or(DEFAULT_SHARDS)
            .clamp(1, n.min(m).max(1));
        let (ptr, cols, _) = matrix.user_csr();

        // Rows start in ±0.5/d as in `implicit`; the user's last column is the constant 1 that
        // multiplies the item bias, and the item bias starts at 0.
        let mut users = init_rows(n, d, seed, 0, 1.0);
        let mut items = init_rows(m, d, seed, 1, 0.0);
        for u in 0..n {
            if ptr[u] == ptr[u + 1] {
                users[u * stride..u * stride + d].fill(0.0);
            }
        }

        let user_bounds = balanced_bounds(ptr, shards);
        let item_bounds: Vec<usize> = (0..=shards).map(|b| b * m / shards).collect();
        let mut perm: Vec<u32> = (0..m as u32).collect();
        let mut pos_of = vec![0u32; m];
        let mut shuffled = vec![0.0f32; m * stride];
        let liked = if self.verify_negatives {
            Liked::new(ptr, cols, m)
        } else {
            Liked::Sorted
        };
        let ctx = Ctx {
            params: self,
            liked: &liked,
            ptr,
            cols,
            stride,
            user_bounds: &user_bounds,
            item_bounds: &item_bounds,
        };

        for epoch in 0..self.iterations {
            perm.shuffle(&mut rng_for(seed ^ 0x5851_f42d_4c95_7f2d, epoch as u64));
            for (p, &i) in perm.iter().enumerate() {
                pos_of[i as usize] = p as u32;
                let i = i as usize;
                shuffled[p * stride..(p + 1) * stride]
                    .copy_from_slice(&items[i * stride..(i + 1) * stride]);
            }
            let (mut loss, mut count) = (0.0f64, 0usize);
            for s in 0..shards {
                let user_parts = split_rows(&mut users, &user_bounds, stride);
                let mut item_parts: Vec<Option<&mut [f32]>> =
                    split_rows(&mut shuffled, &item_bounds, stride)
                        .into_iter()
                        .map(Some)
                        .collect();
                let tasks: Vec<(usize, usize, &mut [f32], &mut [f32])> = user_parts
                    .into_iter()
                    .enumerate()
                    .filter_map(|(t, up)| {
                        let b = (t + s) % shards;
                        item_parts[b].take().map(|ip| (t, b, up, ip))
                    })
                    .collect();
                let stream_base = 2 + ((epoch * shards + s) * shards) as u64;
                let parts: Vec<(f64, usize)> = tasks
                    .into_par_iter()
                    .map(|(t, b, up, ip)| {
                        let mut rng = rng_for(seed, stream_base + t as u64);
                        ctx.train_block(t, b, up, ip, &perm, &pos_of, &mut rng)
                    })
                    .collect();
                for (l, c) in parts {
                    loss += l;
                    count += c;
                }
            }
            for (p, &i) in perm.iter().enumerate() {
                let i = i as usize;
                items[i * stride..(i + 1) * stride]
                    .copy_from_slice(&shuffled[p * stride..(p + 1) * stride]);
            }
            let loss = if count > 0 { loss / count as f64 } else { 0.0 };
            progress(&clock.report(epoch + 1, loss));
            if cancel.load(Ordering::Relaxed) {
                return Err(FitError::Cancelled);
            }
        }

        // Drop the constant user column; the item column becomes the bias vector.
        let user_f = Array2::from_shape_fn((n, d), |(r, c)| users[r * stride + c]);
        let item_f = Array2::from_shape_fn((m, d), |(r, c)| items[r * stride + c]);
        let bias = Array1::from_iter(items.chunks_exact(stride).map(|r| r[d]));
        Ok(Bpr {
            model: FactorModel {
                users: user_f,
                items: item_f,
                item_bias: Some(bias),
            },
            params: self.clone(),
        })
    }
}

/// Rows of `d` values uniform in ±0.5/d followed by one column set to `last`.
fn init_rows(rows: usize, d: usize, seed: u64, stream: u64, last: f32) -> Vec<f32> {
    let mut rng = rng_for(seed, stream);
    let mut out = Vec::with_capacity(rows * (d + 1));
    for _ in 0..rows {
        out.extend((0..d).map(|_| (rng.random::<f32>() - 0.5) / d as f32));
        out.push(last);
    }
    out
}

/// `shards + 1` user boundaries cutting the CSR into runs of about equal positives.
fn balanced_bounds(ptr: &[usize], shards: usize) -> Vec<usize> {
    let n = ptr.len() - 1;
    let nnz = ptr[n];
    let mut bounds = vec![0usize];
    let mut u = 0;
    for t in 1..shards {
        let target = nnz * t / shards;
        while u < n && ptr[u] < target {
            u += 1;
        }
        // Keep every shard non-empty so each sub-epoch has work for every thread.
        u = u.clamp(bounds[t - 1] + 1, n - (shards - t));
        bounds.push(u);
    }
    bounds.push(n);
    bounds
}

/// Disjoint mutable row blocks `bounds[k]..bounds[k + 1]` of a row-major buffer.
fn split_rows<'a>(mut rest: &'a mut [f32], bounds: &[usize], stride: usize) -> Vec<&'a mut [f32]> {
    let mut parts = Vec::with_capacity(bounds.len().saturating_sub(1));
    for w in bounds.windows(2) {
        let (head, tail) = std::mem::take(&mut rest).split_at_mut((w[1] - w[0]) * stride);
        parts.push(head);
        rest = tail;
    }
    parts
}

/// Two distinct rows of one buffer, mutably.
fn two_rows(buf: &mut [f32], a: usize, b: usize, stride: usize) -> (&mut [f32], &mut [f32]) {
    if a < b {
        let (lo, hi) = buf.split_at_mut(b * stride);
        (&mut lo[a * stride..(a + 1) * stride], &mut hi[..stride])
    } else {
        let (lo, hi) = buf.split_at_mut(a * stride);
        (&mut hi[..stride], &mut lo[b * stride..(b + 1) * stride])
    }
}

/// The reported loss is averaged over one triple in this many.
const LOSS_SAMPLE: usize = 16;

/// Largest dense (user × item) bitset used to reject sampled negatives the user already has.
const MAX_BITSET_BYTES: usize = 64 << 20;

/// Membership test of the positives. Verifying a negative is on the hot path; a binary search in
/// the user's row is a chain of dependent cache misses, a bitset lookup is one.
enum Liked {
    Bits {
        words_per_user: usize,
        bits: Vec<u64>,
    },
    Sorted,
}

impl Liked {
    fn new(ptr: &[usize], cols: &[u32], n_items: usize) -> Self {
        let n_users = ptr.len() - 1;
        let words_per_user = n_items.div_ceil(64);
        if n_users.saturating_mul(words_per_user).saturating_mul(8) > MAX_BITSET_BYTES {
            return Self::Sorted;
        }
        let mut bits = vec![0u64; n_users * words_per_user];
        for u in 0..n_users {
            for &i in &cols[ptr[u]..ptr[u + 1]] {
                bits[u * words_per_user + i as usize / 64] |= 1 << (i % 64);
            }
        }
        Self::Bits {
            words_per_user,
            bits,
        }
    }

    fn contains(&self, ctx: &Ctx<'_>, user: usize, item: u32) -> bool {
        match self {
            Self::Bits {
                words_per_user,
                bits,
            } => bits[user * words_per_user + item as usize / 64] >> (item % 64) & 1 == 1,
            Self::Sorted => ctx.cols[ctx.ptr[user]..ctx.ptr[user + 1]]
                .binary_search(&item)
                .is_ok(),
        }
    }
}

/// What every shard task reads.
struct Ctx<'a> {
    params: &'a BprParams,
    liked: &'a Liked,
    ptr: &'a [usize],
    cols: &'a [u32],
    stride: usize,
    user_bounds: &'a [usize],
    item_bounds: &'a [usize],
}

impl Ctx<'_> {
    /// SGD over user shard `t` × item shard `b`: as many triples as the block has positives.
    #[allow(clippy::too_many_arguments)]
    fn train_block(
        &self,
        t: usize,
        b: usize,
        users: &mut [f32],
        items: &mut [f32],
        perm: &[u32],
        pos_of: &[u32],
        rng: &mut rand_chacha::ChaCha8Rng,
    ) -> (f64, usize) {
        let (u0, u1) = (self.user_bounds[t], self.user_bounds[t + 1]);
        let (i0, i1) = (self.item_bounds[b], self.item_bounds[b + 1]);
        let block_items = i1 - i0;
        let mut positives: Vec<(u32, u32)> = Vec::new();
        for u in u0..u1 {
            for &i in &self.cols[self.ptr[u]..self.ptr[u + 1]] {
                let p = pos_of[i as usize] as usize;
                if (i0..i1).contains(&p) {
                    positives.push(((u - u0) as u32, (p - i0) as u32));
                }
            }
        }
        if positives.is_empty() || block_items < 2 {
            return (0.0, 0);
        }
        let (lr, reg, s) = (
            self.params.learning_rate,
            self.params.regularization,
            self.stride,
        );
        let d = s - 1;
        let (mut loss, mut count, mut trained) = (0.0f64, 0usize, 0usize);
        for _ in 0..positives.len() {
            let (ul, il) = positives[rng.random_range(0..positives.len())];
            let jl = rng.random_range(0..block_items);
            let (ul, il) = (ul as usize, il as usize);
            if jl == il {
                continue;
            }
            if self.params.verify_negatives && self.liked.contains(self, u0 + ul, perm[i0 + jl]) {
                continue;
            }
            let u = &mut users[ul * s..(ul + 1) * s];
            let (i, j) = two_rows(items, il, jl, s);
            let x = dot(u, i) - dot(u, j);
            let e = x.exp();
            let z = 1.0 / (1.0 + e);
            // The logarithm cost a seventh of the epoch when taken on every triple, so the
            // reported loss is the mean over every 16th triple: −ln σ(x) = ln(1 + eˣ) − x.
            if trained % LOSS_SAMPLE == 0 {
                loss += if x > 30.0 {
                    0.0
                } else {
                    f64::from(e.ln_1p() - x)
                };
                count += 1;
            }
            trained += 1;
            for ((uk, ik), jk) in u[..d]
                .iter_mut()
                .zip(i[..d].iter_mut())
                .zip(j[..d].iter_mut())
            {
                let (uv, iv, jv) = (*uk, *ik, *jk);
                *uk += lr * (z * (iv - jv) - reg * uv);
                *ik += lr * (z * uv - reg * iv);
                *jk += lr * (-z * uv - reg * jv);
            }
            i[d] += lr * (z - reg * i[d]);
            j[d] += lr * (-z - reg * j[d]);
        }
        (loss, count)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::cf::testutil::{held_out_scores, two_blocks};

    #[test]
    fn learns_communities_and_loss_decreases() {
        let m = two_blocks();
        let mut losses = Vec::new();
        let bpr = Bpr::params()
            .factors(8)
            .learning_rate(0.05)
            .regularization(0.001)
            .iterations(200)
            .shards(2)
            .fit(&m, 3, |r| losses.push(r.loss))
            .unwrap();
        assert_eq!(losses.len(), 200);
        assert!(
            losses[199] < 0.5 * losses[0],
            "{} -> {}",
            losses[0],
            losses[199]
        );
        let (a1, best_b) = held_out_scores(&bpr, &m);
        assert!(
            a1 > best_b,
            "held-out in-community item a1={a1} vs best other-community item {best_b}"
        );
    }

    #[test]
    fn same_seed_and_shards_give_the_same_model_on_any_thread_count() {
        let m = two_blocks();
        let p = Bpr::params().factors(5).iterations(20).shards(2);
        let fit_on = |threads: usize, seed: u64| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| p.fit(&m, seed, |_| {}).unwrap())
        };
        let a = fit_on(1, 9);
        assert_eq!(a, fit_on(2, 9));
        assert_eq!(a, fit_on(3, 9));
        assert_ne!(a.model, fit_on(2, 10).model, "the seed matters");
        assert_ne!(
            a.model,
            p.clone().shards(1).fit(&m, 9, |_| {}).unwrap().model,
            "the shard count matters"
        );
    }

    proptest::proptest! {
        #[test]
        fn bounds_are_strictly_increasing(sizes in proptest::collection::vec(0usize..30, 1..40), shards in 1usize..8) {
            let shards = shards.min(sizes.len());
            let mut ptr = vec![0];
            for s in &sizes {
                ptr.push(ptr[ptr.len() - 1] + s);
            }
            let b = balanced_bounds(&ptr, shards);
            proptest::prop_assert_eq!(b.len(), shards + 1);
            proptest::prop_assert_eq!((b[0], b[shards]), (0, sizes.len()));
            proptest::prop_assert!(b.windows(2).all(|w| w[0] < w[1]), "{:?}", b);
        }
    }

    #[test]
    fn helpers_split_rows_disjointly() {
        let ptr = [0, 5, 6, 7, 20];
        let b = balanced_bounds(&ptr, 3);
        assert_eq!(b.len(), 4);
        assert!(b.windows(2).all(|w| w[0] < w[1]), "{b:?}");
        assert_eq!((b[0], b[3]), (0, 4));
        let mut buf: Vec<f32> = (0..12).map(|x| x as f32).collect();
        let parts = split_rows(&mut buf, &[0, 1, 3], 4);
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [4, 8]);
        let (x, y) = two_rows(&mut buf, 2, 0, 4);
        assert_eq!((x[0], y[0]), (8.0, 0.0));
        assert!(Bpr::params().shards(0).check().is_err());
        assert!(Bpr::params().learning_rate(0.0).check().is_err());
    }
}
