//! Explicit rating prediction: biased matrix factorisation (`svd`, Funk / Koren's "SVD")
//!
//! `r̂_ui = μ + b_u + b_i + q_i · p_u`
//!
//! and SVD++ (`svdpp`, Koren 2008), whose user vector adds the items the user rated:
//!
//! `r̂_ui = μ + b_u + b_i + q_i · (p_u + |N(u)|^-½ Σ_{j ∈ N(u)} y_j)`,
//!
//! both fitted by SGD on the squared error with L2 weight λ on every parameter touched. `svd`
//! visits the ratings in a fresh seeded order each epoch. `svdpp` visits users in a seeded
//! order and a user's ratings together: the implicit sum is computed once per user per epoch,
//! each rating steps `b_u`, `b_i`, `p_u` and `q_i`, and the `y_j` take the user's summed
//! gradient once at the end (`y_j += η (|N(u)|^-½ Σ e_ui q_i − λ y_j)`). That is what makes it
//! fast: Surprise recomputes the sum for every rating. Both fits are serial, so a seed gives
//! the same model on any number of threads.
//!
//! The fitted model ([`RatingModel`]) ranks like any dot-product model: its stored user rows
//! are `[p_u (+ implicit sum), μ + b_u]`, its item rows `[q_i, 1]` and its item bias `b_i`, so a
//! score is the predicted rating itself and batch top-K uses blocked products.

use std::sync::atomic::{AtomicBool, Ordering};

use ndarray::{Array1, Array2};
use rand::Rng;
use rand::seq::SliceRandom;

use super::{
    EpochClock, EpochReport, FactorModel, FitError, InteractionMatrix, ParamError, Recommender,
    at_least_one, dimension, non_negative, require, setters,
};
use crate::ids::{ItemId, UserId};
use crate::interactions::RatingScale;
use kgrec_kg::numeric::kernel::dot;
use kgrec_kg::numeric::seed::rng_for;

/// Hyper-parameters of [`RatingModel`]'s fit; build with [`SvdParams::svd`] or
/// [`SvdParams::svdpp`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SvdParams {
    factors: usize,
    epochs: usize,
    learning_rate: f32,
    regularization: f32,
    /// L2 weight of the biases.
    bias_regularization: f32,
    /// Standard deviation of the factors' starting values.
    init_std: f32,
    /// SVD++: the implicit-feedback term.
    implicit: bool,
}

/// Where a prediction comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PredictionBasis {
    /// The model was trained with the user and the item.
    Trained,
    /// The user is unknown to the model: the global mean plus the item's bias.
    UnknownUser,
    /// The item is unknown to the model: the global mean plus the user's bias.
    UnknownItem,
    /// Neither is known: the global mean.
    Unknown,
}

/// A predicted rating, on the data's scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    /// The rating, clipped to the scale; never NaN.
    pub rating: f32,
    /// What it rests on.
    pub basis: PredictionBasis,
}

/// A fitted rating model: the factors as a dot-product model (see the module's notes), the
/// global mean and the scale predictions are clipped to.
#[derive(Debug, Clone, PartialEq)]
pub struct RatingModel {
    /// Users `[p_u, μ + b_u]`, items `[q_i, 1]`, item bias `b_i`.
    pub model: FactorModel,
    /// The global mean μ.
    pub mean: f32,
    /// The scale predictions are clipped to.
    pub scale: RatingScale,
    /// The last epoch's root mean squared training error.
    pub train_rmse: f64,
}

impl SvdParams {
    /// Biased MF's defaults, chosen on validation rows carved from ml-100k fold0's train (see
    /// `docs/benchmarks.md`): 50 factors, 40 epochs, η 0.01, λ 0.1 (Surprise's defaults, 100
    /// factors, 20 epochs, η 0.005, λ 0.02, overfit there).
    pub fn svd() -> Self {
        Self {
            factors: 50,
            epochs: 40,
            learning_rate: 0.01,
            regularization: 0.1,
            bias_regularization: 0.1,
            init_std: 0.1,
            implicit: false,
        }
    }

    /// SVD++'s defaults, chosen on the same validation rows: 20 factors, 20 epochs, η 0.007, λ
    /// 0.1 (Surprise's, but λ 0.02 overfits there).
    pub fn svdpp() -> Self {
        Self {
            factors: 20,
            epochs: 20,
            learning_rate: 0.007,
            regularization: 0.1,
            bias_regularization: 0.1,
            init_std: 0.1,
            implicit: true,
        }
    }

    setters! {
        /// Latent dimension.
        factors: usize,
        /// Epochs over the ratings.
        epochs: usize,
        /// SGD step size η.
        learning_rate: f32,
        /// L2 weight λ of the factors (and of the biases, unless set apart).
        regularization: f32,
        /// L2 weight of the biases.
        bias_regularization: f32,
    }

    /// Whether this is SVD++.
    pub fn is_implicit(&self) -> bool {
        self.implicit
    }

    /// The latent dimension.
    pub fn dim(&self) -> usize {
        self.factors
    }

    /// Checks the ranges.
    pub fn check(&self) -> Result<(), ParamError> {
        dimension("factors", self.factors)?;
        at_least_one("epochs", self.epochs)?;
        require(
            self.learning_rate.is_finite() && self.learning_rate > 0.0 && self.learning_rate < 1.0,
            "learning_rate",
            self.learning_rate,
            "finite, > 0 and < 1",
        )?;
        non_negative("regularization", self.regularization)?;
        non_negative("bias_regularization", self.bias_regularization)?;
        require(
            self.init_std.is_finite() && self.init_std >= 0.0,
            "init_std",
            self.init_std,
            "finite and >= 0",
        )
    }

    /// Fits on the ratings `matrix` carries ([`InteractionMatrix::user_ratings`]); `scale` is the
    /// data's (predictions are clipped to it); `progress` hears each epoch's training RMSE.
    pub fn fit(
        &self,
        matrix: &InteractionMatrix,
        scale: RatingScale,
        seed: u64,
        mut progress: impl FnMut(&EpochReport),
        cancel: &AtomicBool,
    ) -> Result<RatingModel, FitError> {
        self.check()?;
        let (n, m, d) = (matrix.n_users(), matrix.n_items(), self.factors);
        // The rated entries by user: (item, rating), and every item of the user for N(u).
        let mut rated: Vec<Vec<(u32, f32)>> = Vec::with_capacity(n);
        let (mut sum, mut count) = (0.0f64, 0usize);
        for u in 0..n {
            let user = UserId(u as u32);
            let (items, _) = matrix.user_row(user);
            let row: Vec<(u32, f32)> = items
                .iter()
                .zip(matrix.user_ratings(user))
                .filter(|(_, r)| r.is_finite())
                .map(|(&i, &r)| (i, r))
                .collect();
            sum += row.iter().map(|&(_, r)| f64::from(r)).sum::<f64>();
            count += row.len();
            rated.push(row);
        }
        if count == 0 {
            return Err(FitError::NoRatings);
        }
        let mean = (sum / count as f64) as f32;
        let mut state = State {
            p: init(n, d, self.init_std, seed, 1),
            q: init(m, d, self.init_std, seed, 2),
            y: if self.implicit {
                vec![0.0; m * d]
            } else {
                Vec::new()
            },
            bu: vec![0.0; n],
            bi: vec![0.0; m],
            d,
            mean,
        };
        let mut clock = EpochClock::new(self.epochs);
        let mut order: Vec<(u32, u32)> = rated
            .iter()
            .enumerate()
            .flat_map(|(u, row)| (0..row.len()).map(move |k| (u as u32, k as u32)))
            .collect();
        let mut users: Vec<u32> = (0..n as u32)
            .filter(|&u| !rated[u as usize].is_empty())
            .collect();
        let mut rmse = 0.0;
        for epoch in 0..self.epochs {
            if cancel.load(Ordering::Relaxed) {
                return Err(FitError::Cancelled);
            }
            let mut rng = rng_for(seed, 16 + epoch as u64);
            let sse = if self.implicit {
                users.shuffle(&mut rng);
                self.epoch_svdpp(&mut state, matrix, &mut rated, &users, &mut rng)
            } else {
                order.shuffle(&mut rng);
                self.epoch_svd(&mut state, &rated, &order)
            };
            rmse = (sse / count as f64).sqrt();
            progress(&clock.report(epoch + 1, rmse));
        }
        if !rmse.is_finite() {
            return Err(FitError::Diverged {
                learning_rate: self.learning_rate,
            });
        }
        Ok(state.into_model(matrix, scale, rmse, self.implicit))
    }

    /// η, λ and the biases' λ.
    fn rates(&self) -> (f32, f32, f32) {
        (
            self.learning_rate,
            self.regularization,
            self.bias_regularization,
        )
    }

    fn epoch_svd(&self, s: &mut State, rated: &[Vec<(u32, f32)>], order: &[(u32, u32)]) -> f64 {
        let ((lr, reg, breg), d) = (self.rates(), s.d);
        let mut sse = 0.0f64;
        for &(u, k) in order {
            let (u, (i, r)) = (u as usize, rated[u as usize][k as usize]);
            let i = i as usize;
            let (pu, qi) = (&mut s.p[u * d..(u + 1) * d], &mut s.q[i * d..(i + 1) * d]);
            let err = r - (s.mean + s.bu[u] + s.bi[i] + dot(pu, qi));
            sse += f64::from(err * err);
            s.bu[u] += lr * (err - breg * s.bu[u]);
            s.bi[i] += lr * (err - breg * s.bi[i]);
            for (pf, qf) in pu.iter_mut().zip(qi.iter_mut()) {
                let (p0, q0) = (*pf, *qf);
                *pf += lr * (err * q0 - reg * p0);
                *qf += lr * (err * p0 - reg * q0);
            }
        }
        sse
    }

    fn epoch_svdpp(
        &self,
        s: &mut State,
        matrix: &InteractionMatrix,
        rated: &mut [Vec<(u32, f32)>],
        users: &[u32],
        rng: &mut impl Rng,
    ) -> f64 {
        let ((lr, reg, breg), d) = (self.rates(), s.d);
        let mut sse = 0.0f64;
        let (mut z, mut pz, mut acc) = (vec![0.0f32; d], vec![0.0f32; d], vec![0.0f32; d]);
        for &u in users {
            let (implicit, _) = matrix.user_row(UserId(u));
            let u = u as usize;
            let norm = (implicit.len() as f32).sqrt().recip();
            s.implicit_sum(implicit, norm, &mut z);
            acc.fill(0.0);
            let row = &mut rated[u];
            row.shuffle(rng);
            for &(i, r) in row.iter() {
                let i = i as usize;
                let (pu, qi) = (&mut s.p[u * d..(u + 1) * d], &mut s.q[i * d..(i + 1) * d]);
                for ((e, p), zf) in pz.iter_mut().zip(pu.iter()).zip(&z) {
                    *e = p + zf;
                }
                let err = r - (s.mean + s.bu[u] + s.bi[i] + dot(&pz, qi));
                sse += f64::from(err * err);
                s.bu[u] += lr * (err - breg * s.bu[u]);
                s.bi[i] += lr * (err - breg * s.bi[i]);
                for f in 0..d {
                    let (p0, q0) = (pu[f], qi[f]);
                    pu[f] += lr * (err * q0 - reg * p0);
                    qi[f] += lr * (err * pz[f] - reg * q0);
                    acc[f] += err * q0;
                }
            }
            for &j in implicit {
                let yj = &mut s.y[j as usize * d..(j as usize + 1) * d];
                for (y, a) in yj.iter_mut().zip(&acc) {
                    *y += lr * (norm * a - reg * *y);
                }
            }
        }
        sse
    }
}

/// The parameters during a fit, row-major.
struct State {
    p: Vec<f32>,
    q: Vec<f32>,
    y: Vec<f32>,
    bu: Vec<f32>,
    bi: Vec<f32>,
    d: usize,
    mean: f32,
}

impl State {
    /// `out = norm · Σ_{j ∈ items} y_j`.
    fn implicit_sum(&self, items: &[u32], norm: f32, out: &mut [f32]) {
        out.fill(0.0);
        let d = self.d;
        for &j in items {
            for (o, y) in out
                .iter_mut()
                .zip(&self.y[j as usize * d..(j as usize + 1) * d])
            {
                *o += y;
            }
        }
        out.iter_mut().for_each(|o| *o *= norm);
    }

    /// The servable model: users `[p_u (+ implicit sum), μ + b_u]`, items `[q_i, 1]`.
    fn into_model(
        self,
        matrix: &InteractionMatrix,
        scale: RatingScale,
        train_rmse: f64,
        implicit: bool,
    ) -> RatingModel {
        let (n, m, d) = (self.bu.len(), self.bi.len(), self.d);
        let mut users = Array2::<f32>::zeros((n, d + 1));
        let mut z = vec![0.0f32; d];
        for (u, mut row) in users.outer_iter_mut().enumerate() {
            let (items, _) = matrix.user_row(UserId(u as u32));
            if implicit && !items.is_empty() {
                self.implicit_sum(items, (items.len() as f32).sqrt().recip(), &mut z);
            } else {
                z.fill(0.0);
            }
            for f in 0..d {
                row[f] = self.p[u * d + f] + z[f];
            }
            row[d] = self.mean + self.bu[u];
        }
        let mut items = Array2::<f32>::zeros((m, d + 1));
        for (i, mut row) in items.outer_iter_mut().enumerate() {
            for f in 0..d {
                row[f] = self.q[i * d + f];
            }
            row[d] = 1.0;
        }
        RatingModel {
            model: FactorModel {
                users,
                items,
                item_bias: Some(Array1::from(self.bi)),
            },
            mean: self.mean,
            scale,
            train_rmse,
        }
    }
}

/// `rows × d` values drawn uniformly with standard deviation `std` from stream `stream`.
fn init(rows: usize, d: usize, std: f32, seed: u64, stream: u64) -> Vec<f32> {
    let mut rng = rng_for(seed, stream);
    let a = std * 3.0f32.sqrt();
    if a == 0.0 {
        return vec![0.0; rows * d];
    }
    (0..rows * d).map(|_| rng.random_range(-a..a)).collect()
}

impl RatingModel {
    /// The rating predicted for `user` and `item` (either may be unknown to the model: `None`
    /// or outside its rows), clipped to the scale; never NaN.
    pub fn predict(&self, user: Option<UserId>, item: Option<ItemId>) -> Prediction {
        let d = self.model.items.ncols().saturating_sub(1);
        let user = user.and_then(|u| self.model.users.outer_iter().nth(u.index()));
        let item = item.filter(|i| i.index() < self.model.items.nrows());
        let bias = |i: ItemId| self.model.item_bias.as_ref().map_or(0.0, |b| b[i.index()]);
        let (raw, basis) = match (user, item) {
            (Some(u), Some(i)) => {
                let q = self.model.items.row(i.index());
                let u_row: Vec<f32> = u.iter().copied().collect();
                let q_row: Vec<f32> = q.iter().copied().collect();
                (dot(&u_row, &q_row) + bias(i), PredictionBasis::Trained)
            }
            (None, Some(i)) => (self.mean + bias(i), PredictionBasis::UnknownUser),
            (Some(u), None) => (u[d], PredictionBasis::UnknownItem),
            (None, None) => (self.mean, PredictionBasis::Unknown),
        };
        let rating = match raw.is_finite() {
            true => self.scale.clip(raw),
            false => self.scale.clip(self.mean),
        };
        Prediction { rating, basis }
    }
}

impl Recommender for RatingModel {
    fn n_users(&self) -> usize {
        self.model.n_users()
    }

    fn n_items(&self) -> usize {
        self.model.n_items()
    }

    /// The predicted rating of every item (unclipped, so that ties at the top of the scale
    /// keep their order); an unknown user gets `b_i`, the global mean's order.
    fn score_items(&self, user: UserId, out: &mut [f32]) {
        self.model.score_items(user, out)
    }

    fn factors(&self) -> Option<super::FactorView<'_>> {
        self.model.factors()
    }

    fn rating_model(&self) -> Option<&RatingModel> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::cf::{IdMap, PairFeedback};

    /// Users rate items `r = 1 + (u + i) mod 5` on a 1:5 scale, every third pair missing.
    fn ratings(n: u32, m: u32) -> InteractionMatrix {
        let names =
            |p: &str, k: u32| IdMap::from_names((0..k).map(|x| format!("{p}{x}")).collect());
        let mut entries = Vec::new();
        let mut pairs = Vec::new();
        let mut stored = Vec::new();
        for u in 0..n {
            for i in 0..m {
                if (u * 7 + i) % 3 == 0 {
                    continue;
                }
                entries.push((UserId(u), ItemId(i), 1.0));
                pairs.push((UserId(u), ItemId(i)));
                let r = if u % 2 == 0 { 1 + i % 5 } else { 5 - i % 5 };
                stored.push(PairFeedback {
                    rating: Some(r as f32),
                    count: 1,
                });
            }
        }
        InteractionMatrix::from_ids(names("u", n).unwrap(), names("i", m).unwrap(), &entries)
            .unwrap()
            .with_feedback(&pairs, &stored)
            .unwrap()
    }

    fn scale() -> RatingScale {
        RatingScale::new(1.0, 5.0).unwrap()
    }

    #[test]
    fn both_learn_the_ratings_deterministically() {
        let m = ratings(30, 20);
        for params in [
            SvdParams::svd().factors(8).epochs(60).learning_rate(0.02),
            SvdParams::svdpp().factors(8).epochs(60).learning_rate(0.02),
        ] {
            let cancel = AtomicBool::new(false);
            let mut losses = Vec::new();
            let a = params
                .fit(&m, scale(), 7, |r| losses.push(r.loss), &cancel)
                .unwrap();
            let b = params.fit(&m, scale(), 7, |_| {}, &cancel).unwrap();
            assert_eq!(a, b, "same seed, same model");
            assert!(
                losses.last().unwrap() < &(losses[0] * 0.5),
                "the training error falls: {losses:?}"
            );
            // A known pair is predicted near its rating: user 0 rates item 1 as 2.
            let p = a.predict(Some(UserId(0)), Some(ItemId(1)));
            assert_eq!(p.basis, PredictionBasis::Trained);
            assert!((p.rating - 2.0).abs() < 0.6, "{p:?}");
            // Scores rank by the predicted rating.
            let mut out = vec![0.0; 20];
            a.score_items(UserId(0), &mut out);
            let raw = |i: u32| a.predict(Some(UserId(0)), Some(ItemId(i))).rating;
            assert!((out[1].clamp(1.0, 5.0) - raw(1)).abs() < 1e-4);
        }
    }

    #[test]
    fn unknown_users_and_items_are_flagged_and_never_nan() {
        let m = ratings(10, 8);
        let model = SvdParams::svd()
            .factors(4)
            .epochs(5)
            .fit(&m, scale(), 1, |_| {}, &AtomicBool::new(false))
            .unwrap();
        let p = model.predict(None, Some(ItemId(0)));
        assert_eq!(p.basis, PredictionBasis::UnknownUser);
        let bias = model.model.item_bias.as_ref().unwrap()[0];
        assert!((p.rating - scale().clip(model.mean + bias)).abs() < 1e-6);
        let p = model.predict(Some(UserId(0)), Some(ItemId(99)));
        assert_eq!(p.basis, PredictionBasis::UnknownItem);
        assert!(p.rating.is_finite() && scale().contains(p.rating));
        let p = model.predict(Some(UserId(99)), None);
        assert_eq!(p.basis, PredictionBasis::Unknown);
        assert!(p.rating.is_finite());
    }

    #[test]
    fn refuses_matrices_without_ratings_and_bad_params() {
        let m = InteractionMatrix::from_pairs([("u", "a"), ("v", "b")]).unwrap();
        let err = SvdParams::svd()
            .fit(&m, scale(), 1, |_| {}, &AtomicBool::new(false))
            .unwrap_err();
        assert_eq!(err, FitError::NoRatings);
        assert!(SvdParams::svd().learning_rate(0.0).check().is_err());
        assert!(SvdParams::svd().factors(0).check().is_err());
    }
}
