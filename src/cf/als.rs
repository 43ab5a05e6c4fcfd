//! Implicit-feedback ALS (Hu, Koren & Volinsky 2008): minimise
//! `Σ_ui c_ui (p_ui − x_u·y_i)² + λ(Σ|x_u|² + Σ|y_i|²)` with `p_ui = 1` on positives, 0 elsewhere,
//! and confidence `c_ui = 1 + α·r_ui`. Each half-step solves every row's normal equations
//! `(YᵀY + Yᵀ(C_u − I)Y + λI) x_u = Yᵀ C_u p_u` by a few warm-started conjugate-gradient steps
//! (Takács et al. 2011, as `implicit` does with `cg_steps = 3`): `YᵀY` is formed once per half-step
//! and only the user's own positives add to it, so a step costs O(d² + n_u·d).

use ndarray::{Array2, ArrayView2};
use rand::Rng;
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{
    EpochClock, EpochReport, FactorModel, FitError, InteractionMatrix, ParamError, Value,
    Weighting, at_least_one, delegate_recommender, dimension, non_negative, setters,
};
use crate::ids::ItemId;
use kgrec_kg::numeric::kernel::{axpy, dot, matvec};
use kgrec_kg::numeric::seed::rng_for;

/// Hyper-parameters of [`Als`]; build with [`Als::params`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AlsParams {
    factors: usize,
    regularization: f32,
    alpha: f32,
    iterations: usize,
    cg_steps: usize,
    /// Which stored value makes `r` in `c = 1 + α·r` (`--confidence`; binary in models stored
    /// before it existed).
    #[serde(default)]
    confidence: Value,
    /// The rating range the fit resolved ([`Weighting::range`]), so that a user folded in
    /// later is weighed as the training data was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rating_range: Option<(f32, f32)>,
}

/// A per-row Gaussian prior for [`AlsParams::half_step_with_prior`]: row `r` is pulled towards
/// `means[r·d..(r+1)·d]` with weight `weights[r]` (0: no prior). A row with a prior and no
/// positives takes the mean itself: a row nobody interacted with (an item new to the catalogue)
/// carries no evidence, not even the implicit zeros.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowPrior<'a> {
    pub(crate) means: &'a [f32],
    pub(crate) weights: &'a [f32],
}

/// A fitted implicit ALS model.
#[derive(Debug, Clone, PartialEq)]
pub struct Als {
    /// The learnt factors (no item bias).
    pub model: FactorModel,
    /// The parameters it was fitted with.
    pub params: AlsParams,
}

delegate_recommender!(Als);

impl Als {
    /// Default parameters: 16 factors, λ = 30, α = 4, 15 iterations, 3 CG steps — the best of a
    /// grid on a validation split of ml-100k fold0's train (see `docs/cf-notes.md`) — and
    /// rating-valued confidence (better than binary on validation carved from ml-100k folds
    /// 0-2 and a synthetic catalogue, `docs/benchmarks.md`; data without ratings, or with one
    /// rating value, weighs as binary).
    pub fn params() -> AlsParams {
        AlsParams {
            factors: 16,
            regularization: 30.0,
            alpha: 4.0,
            iterations: 15,
            cg_steps: 3,
            confidence: Value::Rating,
            rating_range: None,
        }
    }

    /// Factors for a user the model was not fitted on, from their positives `(item, r)` against
    /// the learnt item factors: the least-squares problem of a user half-step, solved to
    /// convergence (CG from zero, 2·d steps), so a user who arrives after training can be served
    /// without refitting. Costs O(m·d² + n_u·d²); repeated items add up, unknown items are ignored.
    /// Score with [`crate::cf::FactorModel::score_vector`]. A server folding in many users
    /// computes [`FoldIn::new`] once instead.
    pub fn fold_in(&self, positives: &[(ItemId, f32)]) -> Vec<f32> {
        FoldIn::new(&self.params, &self.model.items).solve(positives)
    }
}

/// A user half-step against fixed item rows, prepared once: `YᵀY + λI` is computed at
/// construction, so each user costs O(n_u·d² + d³) (CG to convergence).
#[derive(Debug, Clone, PartialEq)]
pub struct FoldIn {
    solver: AlsParams,
    y: Vec<f32>,
    gram: Vec<f32>,
    m: usize,
}

impl FoldIn {
    /// Prepares the fold-in of users against `items` (one row per item) with the parameters
    /// the rows were fitted with (λ, α).
    pub fn new(params: &AlsParams, items: &ndarray::Array2<f32>) -> Self {
        let (m, d) = items.dim();
        let y: Vec<f32> = items.iter().copied().collect();
        let mut gram = gram(&y, d);
        for k in 0..d {
            gram[k * d + k] += params.regularization;
        }
        let solver = AlsParams {
            cg_steps: 2 * d,
            ..params.clone()
        };
        Self { solver, y, gram, m }
    }

    /// Scores every item for `user` with a model of `n_users` trained users that folds in the
    /// others: a trained user through `trained`, a user with items but no row of the model
    /// through `vector` of their folded-in factors, anyone else (no items) through `trained`
    /// (the model's user-independent part).
    pub fn score(
        &self,
        n_users: usize,
        user: super::UserRow<'_>,
        out: &mut [f32],
        trained: impl Fn(super::UserId, &mut [f32]),
        vector: impl Fn(&[f32], &mut [f32]),
    ) -> super::Basis {
        if user.user.index() < n_users {
            trained(user.user, out);
            return super::Basis::Trained;
        }
        if user.items.is_empty() {
            trained(user.user, out);
            return super::Basis::NoPreference;
        }
        vector(&self.solve(&self.positives(user)), out);
        super::Basis::FoldedIn
    }

    /// The row's positives weighed as the model's training data was (`--confidence`).
    pub fn positives(&self, user: super::UserRow<'_>) -> Vec<(ItemId, f32)> {
        user.weighed(&self.solver.weighing())
    }

    /// The factors of a user with these positives `(item, r)`; repeated items add up, items
    /// outside the rows are ignored.
    pub fn solve(&self, positives: &[(ItemId, f32)]) -> Vec<f32> {
        let d = self.y.len().checked_div(self.m).unwrap_or(0);
        let mut row: Vec<(u32, f32)> = positives
            .iter()
            .filter(|(i, _)| i.index() < self.m)
            .map(|&(i, v)| (i.0, v))
            .collect();
        row.sort_unstable_by_key(|&(i, _)| i);
        row.dedup_by(|later, first| {
            let same = later.0 == first.0;
            if same {
                first.1 += later.1;
            }
            same
        });
        let (cols, vals): (Vec<u32>, Vec<f32>) = row.into_iter().unzip();
        let mut x = vec![0.0f32; d];
        self.solver.cg_row(
            &mut x,
            &self.y,
            &self.gram,
            &cols,
            &vals,
            &mut vec![0.0f32; 3 * d],
        );
        x
    }
}

impl AlsParams {
    setters! {
        /// Latent dimension.
        factors: usize,
        /// L2 weight λ.
        regularization: f32,
        /// Confidence slope α in `c = 1 + α·r`.
        alpha: f32,
        /// Number of alternating (user, item) sweeps.
        iterations: usize,
        /// Conjugate-gradient steps per row solve (warm-started from the previous sweep).
        cg_steps: usize,
        /// Which stored value makes the confidence values (the learner weighs the matrix).
        confidence: Value,
    }

    /// These parameters with `weighting`'s value and resolved rating range: what a fit on a
    /// matrix weighed by it stores, and what its fold-in weighs new users by.
    pub fn weighting(mut self, weighting: Weighting) -> Self {
        self.confidence = weighting.value;
        self.rating_range = weighting.range;
        self
    }

    /// How the positives were weighed ([`Self::weighting`]).
    pub fn weighing(&self) -> Weighting {
        Weighting {
            value: self.confidence,
            range: self.rating_range,
        }
    }

    /// Checks the ranges.
    pub fn check(&self) -> Result<(), ParamError> {
        dimension("factors", self.factors)?;
        non_negative("regularization", self.regularization)?;
        non_negative("alpha", self.alpha)?;
        at_least_one("iterations", self.iterations)?;
        at_least_one("cg_steps", self.cg_steps)
    }

    /// Fits on `matrix`. Same seed ⇒ same model, whatever the thread count (rows are solved
    /// independently). `progress` gets the normalised loss after every iteration.
    pub fn fit(
        &self,
        matrix: &InteractionMatrix,
        seed: u64,
        progress: impl FnMut(&EpochReport),
    ) -> Result<Als, FitError> {
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
    ) -> Result<Als, FitError> {
        self.check()?;
        if matrix.nnz() == 0 {
            return Err(FitError::Empty);
        }
        let mut clock = EpochClock::new(self.iterations);
        let d = self.factors;
        let (n, m) = (matrix.n_users(), matrix.n_items());
        // Small positive start, as `implicit` does; users are solved first, so only Y's start matters much.
        let init = |rows: usize, stream: u64| -> Vec<f32> {
            let mut rng = rng_for(seed, stream);
            (0..rows * d).map(|_| rng.random::<f32>() * 0.01).collect()
        };
        let mut x = init(n, 0);
        let mut y = init(m, 1);
        for it in 0..self.iterations {
            self.half_step(&mut x, &y, d, matrix.user_csr());
            self.half_step(&mut y, &x, d, matrix.item_csr());
            let loss = self.loss(&x, &y, d, matrix);
            progress(&clock.report(it + 1, loss));
            if cancel.load(Ordering::Relaxed) {
                return Err(FitError::Cancelled);
            }
        }
        let users = Array2::from_shape_fn((n, d), |(r, c)| x[r * d + c]);
        let items = Array2::from_shape_fn((m, d), |(r, c)| y[r * d + c]);
        Ok(Als {
            model: FactorModel {
                users,
                items,
                item_bias: None,
            },
            params: self.clone(),
        })
    }

    /// Re-solves every row of `x` against the fixed `y`.
    fn half_step(&self, x: &mut [f32], y: &[f32], d: usize, csr: (&[usize], &[u32], &[f32])) {
        self.half_step_with_prior(x, y, d, csr, None);
    }

    /// Re-solves every row of `x` against the fixed `y`, pulling the rows that have a prior
    /// towards its mean: row `r` minimises `Σ c (p − x·y)² + λ|x|² + w|x − μ_r|²`. A row with a
    /// prior and no positives at all takes the prior's mean (see [`RowPrior`]).
    pub(crate) fn half_step_with_prior(
        &self,
        x: &mut [f32],
        y: &[f32],
        d: usize,
        (ptr, cols, vals): (&[usize], &[u32], &[f32]),
        prior: Option<&RowPrior<'_>>,
    ) {
        let mut gram = gram(y, d);
        for k in 0..d {
            gram[k * d + k] += self.regularization;
        }
        let gram = &gram;
        // Rows are solved a block at a time (`YᵀY·p` of the whole block is one matrix
        // product); a block's rows are fixed by their index, so the thread count changes
        // nothing.
        x.par_chunks_mut(d * CG_BLOCK).enumerate().for_each_init(
            || BlockScratch::new(d),
            |scratch, (b, xs)| {
                let rows = CgBlock {
                    first: b * CG_BLOCK,
                    d,
                    x: xs,
                    y,
                    gram,
                    csr: (ptr, cols, vals),
                    prior,
                };
                cg_block(self.alpha, self.cg_steps, rows, scratch);
            },
        );
    }

    /// Warm-started CG on one row's normal equations, never forming `YᵀC_uY`.
    fn cg_row(
        &self,
        x: &mut [f32],
        y: &[f32],
        gram: &[f32],
        cols: &[u32],
        vals: &[f32],
        scratch: &mut [f32],
    ) {
        self.cg_row_prior(x, y, gram, cols, vals, None, scratch);
    }

    /// [`Self::cg_row`] with an optional prior `(μ, w)`: `w·I` joins the matrix and `w·μ` the
    /// right-hand side.
    #[allow(clippy::too_many_arguments)]
    fn cg_row_prior(
        &self,
        x: &mut [f32],
        y: &[f32],
        gram: &[f32],
        cols: &[u32],
        vals: &[f32],
        prior: Option<(&[f32], f32)>,
        scratch: &mut [f32],
    ) {
        cg_solve(
            self.alpha,
            self.cg_steps,
            CgRow {
                x,
                y,
                gram,
                cols,
                vals,
                prior,
                scratch,
            },
        );
    }

    /// The objective divided by the total confidence `Σ_ui c_ui`, computed through `YᵀY` in
    /// O((n + m)·d² + nnz·d) instead of over all n·m cells.
    pub(crate) fn loss(&self, x: &[f32], y: &[f32], d: usize, matrix: &InteractionMatrix) -> f64 {
        let gram = gram(y, d);
        let (ptr, cols, vals) = matrix.user_csr();
        let (err, conf) = x
            .par_chunks(d * CG_BLOCK)
            .enumerate()
            .map(|(b, xs)| {
                // xᵀ(YᵀY)x of every row of the block from one product X·YᵀY.
                let xg = rows_times(xs, &gram, d);
                let mut err = 0.0f64;
                let mut conf = 0.0f64;
                for (j, (xu, gx)) in xs.chunks_exact(d).zip(xg.chunks_exact(d)).enumerate() {
                    let u = b * CG_BLOCK + j;
                    err += f64::from(dot(xu, gx));
                    for k in ptr[u]..ptr[u + 1] {
                        let i = cols[k] as usize;
                        let c = f64::from(1.0 + self.alpha * vals[k]);
                        let s = f64::from(dot(xu, &y[i * d..(i + 1) * d]));
                        // The cell's c(1 − s)² replaces the 1·s² counted in xᵀYᵀYx.
                        err += c * (1.0 - s) * (1.0 - s) - s * s;
                        conf += c - 1.0;
                    }
                }
                (err, conf)
            })
            .reduce(|| (0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
        let norms: f64 = x.iter().chain(y).map(|v| f64::from(v * v)).sum();
        let cells = (matrix.n_users() * matrix.n_items()) as f64;
        (err + f64::from(self.regularization) * norms) / (cells + conf)
    }
}

/// One row's conjugate-gradient problem ([`AlsParams::cg_row_prior`]).
struct CgRow<'a> {
    x: &'a mut [f32],
    y: &'a [f32],
    gram: &'a [f32],
    cols: &'a [u32],
    vals: &'a [f32],
    prior: Option<(&'a [f32], f32)>,
    scratch: &'a mut [f32],
}

/// The CG steps of [`AlsParams::cg_row_prior`], compiled twice: for the baseline x86-64 and for
/// AVX2, chosen at run time (the fit spends most of its time here, in `d × d` and `n_u × d`
/// products). The kernels sum in the same fixed lanes on either, with no fused multiply-add,
/// so both give the same bits.
#[multiversion::multiversion(targets("x86_64+avx2"))]
fn cg_solve<'a>(alpha: f32, cg_steps: usize, row: CgRow<'a>) {
    let CgRow {
        x,
        y,
        gram,
        cols,
        vals,
        prior,
        scratch,
    } = row;
    let d = x.len();
    let (r, rest) = scratch.split_at_mut(d);
    let (p, ap) = rest.split_at_mut(d);
    // r = b − A x = Σ c_i y_i − (YᵀY + λI) x − Σ (c_i − 1)(y_i·x) y_i (+ w(μ − x))
    matvec(gram, x, r);
    let start = Residual {
        x: &*x,
        y,
        cols,
        vals,
        prior,
        r: &mut *r,
        p: &mut *p,
    };
    let mut rs = residual(alpha, start);
    if rs < 1e-20 {
        return;
    }
    for _ in 0..cg_steps {
        matvec(gram, p, ap);
        let step = Step {
            x: &mut *x,
            y,
            cols,
            vals,
            w: prior.map(|(_, w)| w),
            r: &mut *r,
            p: &mut *p,
            ap: &mut *ap,
        };
        match cg_step(alpha, rs, step) {
            Some(next) => rs = next,
            None => break,
        }
    }
}

/// Rows solved together by [`cg_block`]: one `CG_BLOCK × d` by `d × d` matrix product per CG
/// step instead of a matrix-vector product per row.
const CG_BLOCK: usize = 64;

/// `rows · m` for the row-major `n × d` block `rows` and the row-major `d × d` matrix `m`, as a
/// row-major `n × d` buffer (`matrixmultiply`'s sgemm through ndarray).
fn rows_times(rows: &[f32], m: &[f32], d: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; rows.len()];
    rows_times_into(rows, m, d, &mut out);
    out
}

/// [`rows_times`] into `out` (same length as `rows`).
fn rows_times_into(rows: &[f32], m: &[f32], d: usize, out: &mut [f32]) {
    let n = rows.len().checked_div(d).unwrap_or(0);
    let views = (
        ArrayView2::from_shape((n, d), rows),
        ArrayView2::from_shape((d, d), m),
        ndarray::ArrayViewMut2::from_shape((n, d), out),
    );
    if let (Ok(a), Ok(b), Ok(mut c)) = views {
        ndarray::linalg::general_mat_mul(1.0, &a, &b, 0.0, &mut c);
    }
}

/// A block of consecutive rows for [`cg_block`]: row `first + j` is `x[j·d..(j+1)·d]`.
struct CgBlock<'a> {
    first: usize,
    d: usize,
    x: &'a mut [f32],
    y: &'a [f32],
    gram: &'a [f32],
    csr: (&'a [usize], &'a [u32], &'a [f32]),
    prior: Option<&'a RowPrior<'a>>,
}

/// The buffers of [`cg_block`], kept per thread.
struct BlockScratch {
    r: Vec<f32>,
    p: Vec<f32>,
    ap: Vec<f32>,
    rs: Vec<f32>,
    active: Vec<bool>,
}

impl BlockScratch {
    fn new(d: usize) -> Self {
        Self {
            r: vec![0.0; CG_BLOCK * d],
            p: vec![0.0; CG_BLOCK * d],
            ap: vec![0.0; CG_BLOCK * d],
            rs: vec![0.0; CG_BLOCK],
            active: vec![false; CG_BLOCK],
        }
    }
}

/// The CG steps of [`cg_solve`] for a block of rows in lockstep: `YᵀY·x` and every step's
/// `YᵀY·p` of the whole block are one matrix product each; the rest (the rows' own positives,
/// the prior, the step sizes) is per row, and each row stops at its own convergence as
/// [`cg_solve`] does. A row with a prior and no positives takes the prior's mean.
fn cg_block(alpha: f32, cg_steps: usize, block: CgBlock<'_>, s: &mut BlockScratch) {
    let CgBlock {
        first,
        d,
        x,
        y,
        gram,
        csr: (ptr, cols, vals),
        prior,
    } = block;
    let n = x.len().checked_div(d).unwrap_or(0);
    let row = |j: usize| {
        let u = first + j;
        let (a, b) = (ptr[u], ptr[u + 1]);
        let mean = prior.and_then(|p| {
            let w = p.weights.get(u).copied().unwrap_or(0.0);
            (w > 0.0).then(|| (&p.means[u * d..(u + 1) * d], w))
        });
        (&cols[a..b], &vals[a..b], mean, a == b)
    };
    let (r, p, ap) = (&mut s.r[..n * d], &mut s.p[..n * d], &mut s.ap[..n * d]);
    // (YᵀY + λI) x for the whole block, then each row's own terms make r = b − A x.
    rows_times_into(x, gram, d, r);
    for j in 0..n {
        let (cols, vals, mean, empty) = row(j);
        let xj = &mut x[j * d..(j + 1) * d];
        if let (Some((mu, _)), true) = (mean, empty) {
            xj.copy_from_slice(mu);
            s.active[j] = false;
            continue;
        }
        let rs = residual(
            alpha,
            Residual {
                x: xj,
                y,
                cols,
                vals,
                prior: mean,
                r: &mut r[j * d..(j + 1) * d],
                p: &mut p[j * d..(j + 1) * d],
            },
        );
        s.rs[j] = rs;
        s.active[j] = rs >= 1e-20;
    }
    for _ in 0..cg_steps {
        if !s.active[..n].contains(&true) {
            break;
        }
        rows_times_into(p, gram, d, ap);
        for j in 0..n {
            if !s.active[j] {
                continue;
            }
            let (cols, vals, mean, _) = row(j);
            let span = j * d..(j + 1) * d;
            let step = Step {
                x: &mut x[span.clone()],
                y,
                cols,
                vals,
                w: mean.map(|(_, w)| w),
                r: &mut r[span.clone()],
                p: &mut p[span.clone()],
                ap: &mut ap[span],
            };
            match cg_step(alpha, s.rs[j], step) {
                Some(rs) => s.rs[j] = rs,
                None => s.active[j] = false,
            }
        }
    }
}

/// One row's start of [`cg_block`]: `r` holds `(YᵀY + λI) x` on entry.
struct Residual<'a> {
    x: &'a [f32],
    y: &'a [f32],
    cols: &'a [u32],
    vals: &'a [f32],
    prior: Option<(&'a [f32], f32)>,
    r: &'a mut [f32],
    p: &'a mut [f32],
}

/// Completes a row's residual `r = b − A x` (its positives, its prior), sets `p = r` and
/// returns `r·r`. AVX2 at run time, as [`cg_solve`].
#[multiversion::multiversion(targets("x86_64+avx2"))]
fn residual<'a>(alpha: f32, row: Residual<'a>) -> f32 {
    let Residual {
        x,
        y,
        cols,
        vals,
        prior,
        r,
        p,
    } = row;
    let d = x.len();
    r.iter_mut().for_each(|v| *v = -*v);
    if let Some((mu, w)) = prior {
        for ((rk, mk), xk) in r.iter_mut().zip(mu).zip(x.iter()) {
            *rk += w * (mk - xk);
        }
    }
    for (&i, &v) in cols.iter().zip(vals) {
        let yi = &y[i as usize * d..(i as usize + 1) * d];
        let c = 1.0 + alpha * v;
        axpy(c - (c - 1.0) * dot(yi, x), yi, r);
    }
    p.copy_from_slice(r);
    dot(r, r)
}

/// One row's CG step of [`cg_block`]: `ap` holds `(YᵀY + λI) p` on entry.
struct Step<'a> {
    x: &'a mut [f32],
    y: &'a [f32],
    cols: &'a [u32],
    vals: &'a [f32],
    w: Option<f32>,
    r: &'a mut [f32],
    p: &'a mut [f32],
    ap: &'a mut [f32],
}

/// Completes `A p` with the row's positives and prior, steps `x`, `r` and `p`, and returns the
/// new `r·r`, or `None` where [`cg_solve`] would stop. AVX2 at run time, as [`cg_solve`].
#[multiversion::multiversion(targets("x86_64+avx2"))]
fn cg_step<'a>(alpha: f32, rs_old: f32, row: Step<'a>) -> Option<f32> {
    let Step {
        x,
        y,
        cols,
        vals,
        w,
        r,
        p,
        ap,
    } = row;
    let d = x.len();
    if let Some(w) = w {
        axpy(w, p, ap);
    }
    for (&i, &v) in cols.iter().zip(vals) {
        let yi = &y[i as usize * d..(i as usize + 1) * d];
        axpy(alpha * v * dot(yi, p), yi, ap);
    }
    let pap = dot(p, ap);
    if pap <= 0.0 {
        return None;
    }
    let step = rs_old / pap;
    axpy(step, p, x);
    axpy(-step, ap, r);
    let rs_new = dot(r, r);
    if rs_new < 1e-20 {
        return None;
    }
    let beta = rs_new / rs_old;
    for (pk, rk) in p.iter_mut().zip(r.iter()) {
        *pk = rk + beta * *pk;
    }
    Some(rs_new)
}

/// `YᵀY` of a row-major `rows×d` matrix, as a row-major `d×d` buffer.
fn gram(y: &[f32], d: usize) -> Vec<f32> {
    let rows = y.len() / d.max(1);
    match ArrayView2::from_shape((rows, d), y) {
        Ok(v) => v.t().dot(&v).iter().copied().collect(),
        Err(_) => vec![0.0; d * d],
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::cf::Recommender;
    use crate::cf::testutil::{held_out_scores, two_blocks};
    use crate::ids::{ItemId, UserId};

    #[test]
    fn recovers_communities_and_loss_decreases() {
        let m = two_blocks();
        let mut losses = Vec::new();
        let als = Als::params()
            .factors(2)
            .regularization(1.0)
            .alpha(10.0)
            .iterations(10)
            .fit(&m, 7, |r| losses.push(r.loss))
            .unwrap();
        assert_eq!(losses.len(), 10);
        assert!(losses[9] < losses[0], "{losses:?}");
        let (a1, best_b) = held_out_scores(&als, &m);
        assert!(
            a1 > 0.5 && best_b < 0.1,
            "held-out in-community item a1={a1} vs best other-community item {best_b}"
        );
    }

    /// With as many CG steps as dimensions, every row must satisfy its normal equations
    /// `(YᵀY + λI + Σ (c_i − 1) y_i y_iᵀ) x = Σ c_i y_i`.
    #[test]
    fn cg_solves_the_normal_equations() {
        let m = two_blocks();
        let d = 3;
        let p = Als::params()
            .factors(d)
            .regularization(0.5)
            .alpha(2.0)
            .cg_steps(12);
        let y: Vec<f32> = (0..m.n_items() * d)
            .map(|k| ((k * 7919) % 13) as f32 / 13.0 - 0.4)
            .collect();
        let mut x = vec![0.0f32; m.n_users() * d];
        p.half_step(&mut x, &y, d, m.user_csr());
        let (ptr, cols, vals) = m.user_csr();
        for u in 0..m.n_users() {
            let xu = &x[u * d..(u + 1) * d];
            let mut lhs = vec![0.0f32; d];
            let mut rhs = vec![0.0f32; d];
            for i in 0..m.n_items() {
                let yi = &y[i * d..(i + 1) * d];
                let k = cols[ptr[u]..ptr[u + 1]]
                    .iter()
                    .position(|&c| c as usize == i);
                let c = k.map_or(1.0, |k| 1.0 + 2.0 * vals[ptr[u] + k]);
                axpy(c * dot(yi, xu), yi, &mut lhs);
                if k.is_some() {
                    axpy(c, yi, &mut rhs);
                }
            }
            axpy(0.5, xu, &mut lhs);
            for (l, r) in lhs.iter().zip(&rhs) {
                assert!((l - r).abs() < 1e-3, "user {u}: {lhs:?} vs {rhs:?}");
            }
        }
    }

    /// The blocked half-step (one matrix product per CG step for a block of rows, each row
    /// stopping on its own) gives the per-row solver's rows, with and without a prior, over
    /// full blocks, a partial one, and rows without positives.
    #[test]
    fn blocked_half_step_matches_the_per_row_solver() {
        let (d, n_users, n_items) = (8, 2 * CG_BLOCK + 17, 40);
        let names = |p: &str, n: usize| {
            crate::cf::IdMap::from_names((0..n).map(|k| format!("{p}{k}")).collect()).unwrap()
        };
        let entries: Vec<(UserId, ItemId, f32)> = (0..n_users)
            .flat_map(|u| {
                (0..u % 6).map(move |t| {
                    let i = (u * 7 + t * 13) % n_items;
                    (UserId(u as u32), ItemId(i as u32), 1.0 + (t % 3) as f32)
                })
            })
            .collect();
        let m = InteractionMatrix::from_ids(names("u", n_users), names("i", n_items), &entries)
            .unwrap();
        let p = Als::params()
            .factors(d)
            .regularization(0.7)
            .alpha(3.0)
            .cg_steps(3);
        let y: Vec<f32> = (0..n_items * d)
            .map(|k| ((k * 7919) % 17) as f32 / 17.0 - 0.4)
            .collect();
        let x0: Vec<f32> = (0..n_users * d)
            .map(|k| ((k * 104_729) % 23) as f32 / 230.0)
            .collect();
        let means: Vec<f32> = (0..n_users * d)
            .map(|k| (k % 11) as f32 / 11.0 - 0.5)
            .collect();
        let weights: Vec<f32> = (0..n_users)
            .map(|u| if u % 4 == 0 { 0.5 } else { 0.0 })
            .collect();
        let prior = RowPrior {
            means: &means,
            weights: &weights,
        };
        let mut gram = gram(&y, d);
        for k in 0..d {
            gram[k * d + k] += 0.7;
        }
        let (ptr, cols, vals) = m.user_csr();
        for with_prior in [None, Some(&prior)] {
            let mut blocked = x0.clone();
            p.half_step_with_prior(&mut blocked, &y, d, m.user_csr(), with_prior);
            assert_ne!(blocked, x0, "the half-step moved the rows");
            for u in 0..n_users {
                let (a, b) = (ptr[u], ptr[u + 1]);
                let mean = with_prior
                    .filter(|_| weights[u] > 0.0)
                    .map(|p| (&p.means[u * d..(u + 1) * d], weights[u]));
                let mut row = x0[u * d..(u + 1) * d].to_vec();
                match mean {
                    Some((mu, _)) if a == b => row.copy_from_slice(mu),
                    _ => p.cg_row_prior(
                        &mut row,
                        &y,
                        &gram,
                        &cols[a..b],
                        &vals[a..b],
                        mean,
                        &mut vec![0.0; 3 * d],
                    ),
                }
                let got = &blocked[u * d..(u + 1) * d];
                for (r, g) in row.iter().zip(got) {
                    assert!(
                        (r - g).abs() < 1e-4,
                        "row {u} (prior {}): per-row {row:?} vs blocked {got:?}",
                        with_prior.is_some()
                    );
                }
            }
        }
    }

    #[test]
    fn folding_in_a_user_serves_them_like_a_trained_one() {
        let m = two_blocks();
        let als = Als::params()
            .factors(2)
            .regularization(1.0)
            .alpha(10.0)
            .iterations(10)
            .fit(&m, 7, |_| {})
            .unwrap();
        let u1 = m.user_id("u1").unwrap();
        let (items, vals) = m.user_row(u1);
        let mut positives: Vec<(ItemId, f32)> = items
            .iter()
            .zip(vals)
            .map(|(&i, &v)| (ItemId(i), v))
            .collect();
        positives.push((ItemId(999), 1.0));
        let x = als.fold_in(&positives);
        let trained = als.model.users.row(u1.index());
        for (a, b) in x.iter().zip(trained.iter()) {
            assert!(
                (a - b).abs() < 0.05,
                "folded-in {x:?} vs trained {trained:?}"
            );
        }
        let mut s = vec![0.0; m.n_items()];
        als.model.score_vector(&x, &mut s);
        let best_b = ["b0", "b1", "b2", "b3"]
            .map(|n| s[m.item_id(n).unwrap().index()])
            .into_iter()
            .fold(f32::MIN, f32::max);
        assert!(s[m.item_id("a1").unwrap().index()] > best_b + 0.3);
        assert!(
            als.fold_in(&[]).iter().all(|&v| v == 0.0),
            "no history, no preference"
        );
    }

    #[test]
    fn the_fold_in_weighs_a_row_as_the_fit_weighed_its_matrix() {
        let m = two_blocks();
        let als = Als::params()
            .factors(2)
            .regularization(1.0)
            .iterations(5)
            .fit(&m, 7, |_| {})
            .unwrap();
        let items = [0u32, 1, 2];
        let values = [1.0f32; 3];
        let ratings = [5.0f32, 1.0, f32::NAN];
        let row = crate::cf::UserRow {
            user: UserId(999),
            items: &items,
            values: &values,
            ratings: &ratings,
            counts: &[],
        };
        let rating = Weighting {
            value: Value::Rating,
            range: Some((0.0, 5.0)),
        };
        let fold = FoldIn::new(&als.params.clone().weighting(rating), &als.model.items);
        let expected = [(ItemId(0), 1.0), (ItemId(1), 0.2), (ItemId(2), 1.0)];
        assert_eq!(fold.positives(row), expected);
        assert_eq!(fold.solve(&fold.positives(row)), fold.solve(&expected));
        // A binary model reads the row's values, whatever its ratings.
        let binary = FoldIn::new(
            &als.params.clone().weighting(Weighting::default()),
            &als.model.items,
        );
        assert!(binary.positives(row).iter().all(|&(_, v)| v == 1.0));
        assert_ne!(binary.solve(&binary.positives(row)), fold.solve(&expected));
        // The weighting is stored with the parameters, so a loaded model folds in alike.
        let json = serde_json::to_string(&als.params.clone().weighting(rating)).unwrap();
        let back: AlsParams = serde_json::from_str(&json).unwrap();
        assert_eq!(back.weighing(), rating);
        // Parameters stored before the knob existed read as binary.
        let old: AlsParams = serde_json::from_str(
            r#"{"factors":2,"regularization":1.0,"alpha":4.0,"iterations":5,"cg_steps":3}"#,
        )
        .unwrap();
        assert_eq!(old.weighing(), Weighting::default());
    }

    #[test]
    fn same_seed_same_model_and_params_checked() {
        let m = two_blocks();
        let p = Als::params().factors(3).iterations(3);
        let a = p.fit(&m, 1, |_| {}).unwrap();
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            assert_eq!(
                a,
                pool.install(|| p.fit(&m, 1, |_| {}).unwrap()),
                "rows are solved independently"
            );
        }
        assert_ne!(a.model, p.fit(&m, 2, |_| {}).unwrap().model);
        assert!(
            matches!(Als::params().factors(0).fit(&m, 1, |_| {}), Err(FitError::Params(e)) if e.name == "factors")
        );
        assert!(Als::params().alpha(f32::NAN).check().is_err());
        let empty = InteractionMatrix::from_pairs([]).unwrap();
        assert_eq!(p.fit(&empty, 1, |_| {}), Err(FitError::Empty));
        let mut s = vec![1.0; m.n_items()];
        a.score_items(UserId(999), &mut s);
        assert!(
            s.iter().all(|&v| v == 0.0),
            "an unknown user has no factors"
        );
    }
}
