//! The scoring network of `ncf`: a head over a user vector `p_u`, an item vector `q_i`, the
//! item's graph vector `e_i` and its bias `b_i` (maths in `docs/model.md`, "Neural scoring"):
//!
//! - `dot`:   `s = p_u·q_i + b_i`
//! - `gmf`:   `s = h_g·(p_u ⊙ q_i) + b_i`
//! - `mlp`:   `s = h_m·z_L + b_i`, `z_0 = [p_u; q_i; e_i]`, `z_l = ReLU(W_l z_{l−1} + c_l)`
//! - `neumf`: `s = h_g·(p_u ⊙ q_i) + h_m·z_L + b_i` (the two parts share `p_u` and `q_i`)
//!
//! The network's weights live in one flat vector `θ` (layer by layer `W_l` row-major then `c_l`,
//! then `h_g`, then `h_m`), so that one optimiser state, one stored array and one finite-difference
//! test cover all of them. Rows are scored in blocks with ndarray matrix products; the backward
//! pass of a block gives the gradients of `θ` and of every row's `p`, `q` and `b`.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis, s};
use serde::{Deserialize, Serialize};

/// Which scoring head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Head {
    /// `p_u·q_i + b_i`: BPR-MF through the same trainer (the control).
    Dot,
    /// Generalised MF: a learnt weight per dimension of `p_u ⊙ q_i`.
    Gmf,
    /// An MLP over `[p_u; q_i; e_i]`.
    Mlp,
    /// GMF and MLP side by side, one output layer over both.
    Neumf,
}

impl Head {
    /// The `--head` spellings.
    pub const NAMES: [&'static str; 4] = ["dot", "gmf", "mlp", "neumf"];

    /// The head a `--head` spelling names.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "dot" => Some(Self::Dot),
            "gmf" => Some(Self::Gmf),
            "mlp" => Some(Self::Mlp),
            "neumf" => Some(Self::Neumf),
            _ => None,
        }
    }

    /// The `--head` spelling.
    pub fn name(self) -> &'static str {
        match self {
            Self::Dot => "dot",
            Self::Gmf => "gmf",
            Self::Mlp => "mlp",
            Self::Neumf => "neumf",
        }
    }

    /// Whether the score has the GMF part `h_g·(p ⊙ q)`.
    pub fn has_gmf(self) -> bool {
        matches!(self, Self::Gmf | Self::Neumf)
    }

    /// Whether the score has the MLP part (the only one that reads `e_i`).
    pub fn has_mlp(self) -> bool {
        matches!(self, Self::Mlp | Self::Neumf)
    }
}

/// One dense layer's place in `θ`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layer {
    /// Offset of `W` (`out × inp`, row-major).
    w: usize,
    /// Offset of `c` (`out`).
    c: usize,
    inp: usize,
    out: usize,
}

/// The network's shape: where each weight sits in `θ`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    /// Width of `p`, `q` and `e`.
    pub dim: usize,
    /// The head.
    pub head: Head,
    layers: Vec<Layer>,
    /// Offset of `h_g` (`dim` values) when the head has a GMF part.
    gmf_out: Option<usize>,
    /// Offset and length of `h_m` when the head has an MLP part.
    mlp_out: Option<(usize, usize)>,
    len: usize,
}

impl Shape {
    /// The shape of `head` over vectors of `dim` with hidden layers of `hidden` units (the
    /// MLP heads only; `dot` and `gmf` ignore them).
    pub fn new(head: Head, dim: usize, hidden: &[usize]) -> Self {
        let mut len = 0;
        let mut layers = Vec::new();
        if head.has_mlp() {
            let mut inp = 3 * dim;
            for &out in hidden {
                layers.push(Layer {
                    w: len,
                    c: len + out * inp,
                    inp,
                    out,
                });
                len += out * inp + out;
                inp = out;
            }
        }
        let gmf_out = head.has_gmf().then(|| {
            len += dim;
            len - dim
        });
        let mlp_out = head.has_mlp().then(|| {
            let k = layers.last().map_or(3 * dim, |l| l.out);
            len += k;
            (len - k, k)
        });
        Self {
            dim,
            head,
            layers,
            gmf_out,
            mlp_out,
            len,
        }
    }

    /// Length of `θ`.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether `θ` is empty (the `dot` head).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Units of the first hidden layer (0 without one).
    pub fn first_width(&self) -> usize {
        self.layers.first().map_or(0, |l| l.out)
    }

    /// A starting `θ`: layers uniform in `±√(6/inp)` (He), `c = 0`, `h_g = 1` (the GMF part
    /// starts as the dot product), `h_m` uniform in `±√(3/k)`; `uniform` draws in `[0, 1)`.
    pub fn init(&self, mut uniform: impl FnMut() -> f32) -> Vec<f32> {
        let mut theta = vec![0.0f32; self.len];
        for l in &self.layers {
            let a = (6.0 / l.inp as f32).sqrt();
            for v in &mut theta[l.w..l.w + l.out * l.inp] {
                *v = (2.0 * uniform() - 1.0) * a;
            }
        }
        if let Some(g) = self.gmf_out {
            theta[g..g + self.dim].fill(1.0);
        }
        if let Some((m, k)) = self.mlp_out {
            let a = (3.0 / k as f32).sqrt();
            for v in &mut theta[m..m + k] {
                *v = (2.0 * uniform() - 1.0) * a;
            }
        }
        theta
    }

    /// `W_l` as a matrix (θ's length was checked against the shape by [`Net::new`]).
    fn w<'a>(&self, theta: &'a [f32], l: &Layer) -> ArrayView2<'a, f32> {
        let values = theta.get(l.w..l.w + l.out * l.inp).unwrap_or(&[]);
        ArrayView2::from_shape((l.out, l.inp), values)
            .unwrap_or_else(|_| ArrayView2::from(&EMPTY[..]))
    }
}

const EMPTY: [[f32; 0]; 0] = [];

/// A network: its shape and weights `θ`.
#[derive(Debug, Clone, PartialEq)]
pub struct Net {
    /// The shape.
    pub shape: Shape,
    /// The weights.
    pub theta: Vec<f32>,
}

/// Rows to score: one `(p, q, e, b)` per row, as matrices.
#[derive(Debug, Clone)]
pub struct Rows {
    /// `R × dim` user vectors.
    pub p: Array2<f32>,
    /// `R × dim` item vectors.
    pub q: Array2<f32>,
    /// `R × dim` graph vectors (may have 0 columns when the head has no MLP part).
    pub e: Array2<f32>,
    /// `R` item biases.
    pub b: Array1<f32>,
}

/// What the forward pass keeps for the backward one.
#[derive(Debug)]
pub struct Forward {
    /// The scores.
    pub s: Array1<f32>,
    /// `z_0 … z_L` of the MLP part (empty without one).
    z: Vec<Array2<f32>>,
}

/// Gradients of a block of rows.
#[derive(Debug)]
pub struct Grads {
    /// Of `θ`.
    pub theta: Vec<f32>,
    /// Of each row's `p`.
    pub p: Array2<f32>,
    /// Of each row's `q`.
    pub q: Array2<f32>,
}

impl Net {
    /// A network of `shape` with weights `theta`; `None` when the lengths disagree.
    pub fn new(shape: Shape, theta: Vec<f32>) -> Option<Self> {
        (theta.len() == shape.len()).then_some(Self { shape, theta })
    }

    /// Scores `rows`, keeping what [`Net::backward`] needs.
    pub fn forward(&self, rows: &Rows) -> Forward {
        let sh = &self.shape;
        let mut s = rows.b.clone();
        match sh.head {
            Head::Dot => s += &(&rows.p * &rows.q).sum_axis(Axis(1)),
            _ => {
                if let Some(g) = sh.gmf_out {
                    let h = ArrayView1::from(&self.theta[g..g + sh.dim]);
                    s += &(&rows.p * &rows.q).dot(&h);
                }
            }
        }
        let mut z = Vec::new();
        if let Some((m, k)) = sh.mlp_out {
            let r = rows.p.nrows();
            let mut z0 = Array2::<f32>::zeros((r, 3 * sh.dim));
            z0.slice_mut(s![.., ..sh.dim]).assign(&rows.p);
            z0.slice_mut(s![.., sh.dim..2 * sh.dim]).assign(&rows.q);
            if rows.e.ncols() == sh.dim {
                z0.slice_mut(s![.., 2 * sh.dim..]).assign(&rows.e);
            }
            z.push(z0);
            for l in &sh.layers {
                let prev = z
                    .last()
                    .map_or_else(|| Array2::zeros((r, l.inp)), Clone::clone);
                let mut a = prev.dot(&sh.w(&self.theta, l).t());
                a += &ArrayView1::from(&self.theta[l.c..l.c + l.out]);
                a.mapv_inplace(|v| v.max(0.0));
                z.push(a);
            }
            let h = ArrayView1::from(&self.theta[m..m + k]);
            if let Some(last) = z.last() {
                s += &last.dot(&h);
            }
        }
        Forward { s, z }
    }

    /// The gradients of `Σ_r delta[r]·s_r` for the rows of `fwd` (`delta`: `∂loss/∂s`).
    pub fn backward(&self, rows: &Rows, fwd: &Forward, delta: &Array1<f32>) -> Grads {
        let sh = &self.shape;
        let d = sh.dim;
        let mut theta = vec![0.0f32; sh.len];
        let dcol = delta.view().insert_axis(Axis(1));
        let (mut gp, mut gq) = match sh.head {
            Head::Dot => (&rows.q * &dcol, &rows.p * &dcol),
            _ => (Array2::zeros(rows.p.dim()), Array2::zeros(rows.q.dim())),
        };
        if let Some(g) = sh.gmf_out {
            let h = ArrayView1::from(&self.theta[g..g + d]);
            // ∂/∂h_g = Σ_r δ_r (p_r ⊙ q_r); ∂/∂p_r = δ_r h_g ⊙ q_r; ∂/∂q_r = δ_r h_g ⊙ p_r.
            let pq = &rows.p * &rows.q;
            let gh = pq.t().dot(delta);
            theta[g..g + d].copy_from_slice(gh.as_slice().unwrap_or(&[]));
            let dh = &dcol * &h.insert_axis(Axis(0));
            gp += &(&dh * &rows.q);
            gq += &(&dh * &rows.p);
        }
        if let Some((m, k)) = sh.mlp_out {
            let h = ArrayView1::from(&self.theta[m..m + k]);
            let Some(last) = fwd.z.last() else {
                return Grads {
                    theta,
                    p: gp,
                    q: gq,
                };
            };
            let gh = last.t().dot(delta);
            theta[m..m + k].copy_from_slice(gh.as_slice().unwrap_or(&[]));
            // dz_L = δ ⊗ h_m, then back through each layer.
            let mut dz = dcol.dot(&h.insert_axis(Axis(0)));
            for (n, l) in sh.layers.iter().enumerate().rev() {
                let out = &fwd.z[n + 1];
                let mut da = dz;
                da.zip_mut_with(out, |g, &z| {
                    if z <= 0.0 {
                        *g = 0.0;
                    }
                });
                let gw = da.t().dot(&fwd.z[n]);
                for (t, v) in theta[l.w..l.w + l.out * l.inp].iter_mut().zip(gw.iter()) {
                    *t = *v;
                }
                let gc = da.sum_axis(Axis(0));
                for (t, v) in theta[l.c..l.c + l.out].iter_mut().zip(gc.iter()) {
                    *t = *v;
                }
                dz = da.dot(&sh.w(&self.theta, l));
            }
            gp += &dz.slice(s![.., ..d]);
            gq += &dz.slice(s![.., d..2 * d]);
        }
        Grads {
            theta,
            p: gp,
            q: gq,
        }
    }
}

/// The network's item side, precomputed once for scoring every item: the GMF weights, the
/// first layer's item part `W_q q_i + W_e e_i` of every item, and the layers above.
#[derive(Debug, Clone)]
pub struct ItemSide {
    /// `m × h_1`: the first layer's item part (empty without an MLP part).
    first: Array2<f32>,
    /// `m × dim` item vectors.
    items: Array2<f32>,
    /// `m` biases.
    bias: Array1<f32>,
}

impl ItemSide {
    /// The item side of `net` for item vectors `items`, graph vectors `graph` and `bias`.
    pub fn new(net: &Net, items: Array2<f32>, graph: &Array2<f32>, bias: Array1<f32>) -> Self {
        let sh = &net.shape;
        let d = sh.dim;
        let first = match sh.layers.first() {
            Some(l) => {
                let w = sh.w(&net.theta, l);
                let mut a = items.dot(&w.slice(s![.., d..2 * d]).t());
                if graph.ncols() == d && graph.nrows() == items.nrows() {
                    a += &graph.dot(&w.slice(s![.., 2 * d..]).t());
                }
                a
            }
            None => Array2::zeros((items.nrows(), 0)),
        };
        Self { first, items, bias }
    }

    /// Writes the score of every item for user vector `p` into `out`.
    pub fn score(&self, net: &Net, p: ArrayView1<'_, f32>, out: &mut [f32]) {
        let sh = &net.shape;
        let d = sh.dim;
        let mut s = self.bias.clone();
        match sh.head {
            Head::Dot => s += &self.items.dot(&p),
            _ => {
                if let Some(g) = sh.gmf_out {
                    let w = &p * &ArrayView1::from(&net.theta[g..g + d]);
                    s += &self.items.dot(&w);
                }
            }
        }
        if let (Some((m, k)), Some(l0)) = (sh.mlp_out, sh.layers.first()) {
            // The first layer's user part, once: W_p p + c_1.
            let w0 = sh.w(&net.theta, l0);
            let mut a_u = w0.slice(s![.., ..d]).dot(&p);
            a_u += &ArrayView1::from(&net.theta[l0.c..l0.c + l0.out]);
            let mut z = &self.first + &a_u.insert_axis(Axis(0));
            z.mapv_inplace(|v| v.max(0.0));
            for l in &sh.layers[1..] {
                let mut a = z.dot(&sh.w(&net.theta, l).t());
                a += &ArrayView1::from(&net.theta[l.c..l.c + l.out]);
                a.mapv_inplace(|v| v.max(0.0));
                z = a;
            }
            s += &z.dot(&ArrayView1::from(&net.theta[m..m + k]));
        }
        for (o, v) in out.iter_mut().zip(s.iter()) {
            *o = *v;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use rand::Rng;

    fn rows(r: usize, d: usize, seed: u64) -> Rows {
        let mut rng = kgrec_kg::numeric::seed::rng_for(seed, 0);
        let mut m = |c: usize| Array2::from_shape_fn((r, c), |_| rng.random::<f32>() - 0.5);
        let (p, q, e) = (m(d), m(d), m(d));
        let b = Array1::from_iter((0..r).map(|k| 0.1 * k as f32));
        Rows { p, q, e, b }
    }

    /// `Σ_r w_r s_r` as a function of everything, for finite differences.
    fn objective(net: &Net, rows: &Rows, w: &Array1<f32>) -> f64 {
        let f = net.forward(rows);
        f.s.iter().zip(w).map(|(s, w)| f64::from(s * w)).sum()
    }

    #[test]
    fn gradients_match_finite_differences_for_every_head() {
        let d = 3;
        for head in [Head::Dot, Head::Gmf, Head::Mlp, Head::Neumf] {
            let shape = Shape::new(head, d, &[4, 3]);
            let mut rng = kgrec_kg::numeric::seed::rng_for(7, 1);
            let mut theta = shape.init(|| rng.random::<f32>());
            // Move c off zero so that few pre-activations sit at a ReLU kink.
            for t in theta.iter_mut() {
                *t += 0.05;
            }
            let net = Net::new(shape, theta).unwrap();
            let rows = rows(5, d, 3);
            let w = Array1::from(vec![0.7, -1.1, 0.4, 1.3, -0.6]);
            let fwd = net.forward(&rows);
            let g = net.backward(&rows, &fwd, &w);
            let eps = 1e-3f32;
            // Central differences, unless the step crosses a ReLU kink (the one-sided slopes
            // disagree): then the analytic gradient must be one of the two one-sided slopes.
            let close = |f: &dyn Fn(f32) -> f64, ana: f32, what: &str| {
                let (lo, mid, hi) = (f(-eps), f(0.0), f(eps));
                let e = f64::from(eps);
                let (left, right) = ((mid - lo) / e, (hi - mid) / e);
                let tol = 2e-3 + 1e-2 * f64::from(ana.abs());
                let near = |num: f64| (num - f64::from(ana)).abs() <= tol;
                let kink = (left - right).abs() > tol;
                assert!(
                    near((hi - lo) / (2.0 * e)) || (kink && (near(left) || near(right))),
                    "{head:?} {what}: numeric {left}/{right} vs analytic {ana}"
                );
            };
            for k in 0..net.theta.len() {
                let f = |h: f32| {
                    let mut a = net.clone();
                    a.theta[k] += h;
                    objective(&a, &rows, &w)
                };
                close(&f, g.theta[k], &format!("theta[{k}]"));
            }
            for r in 0..5 {
                for c in 0..d {
                    for (which, grad) in [("p", &g.p), ("q", &g.q)] {
                        let f = |h: f32| {
                            let mut a = rows.clone();
                            match which {
                                "p" => a.p[[r, c]] += h,
                                _ => a.q[[r, c]] += h,
                            }
                            objective(&net, &a, &w)
                        };
                        close(&f, grad[[r, c]], &format!("{which}[{r},{c}]"));
                    }
                }
            }
            // The graph vector reaches the score exactly when the head has an MLP part.
            let mut other = rows.clone();
            other.e.mapv_inplace(|v| v + 0.5);
            let moved = (net.forward(&other).s - &fwd.s).mapv(f32::abs).sum();
            assert_eq!(moved > 0.0, head.has_mlp(), "{head:?}");
        }
    }

    #[test]
    fn the_item_side_scores_as_the_forward_pass() {
        let d = 4;
        for head in [Head::Dot, Head::Gmf, Head::Mlp, Head::Neumf] {
            let shape = Shape::new(head, d, &[6, 3]);
            let mut rng = kgrec_kg::numeric::seed::rng_for(5, 2);
            let net = Net::new(shape.clone(), shape.init(|| rng.random::<f32>())).unwrap();
            let items = rows(7, d, 11);
            let user = rows(1, d, 12).p.row(0).to_owned();
            let side = ItemSide::new(&net, items.q.clone(), &items.e, items.b.clone());
            let mut out = vec![0.0; 7];
            side.score(&net, user.view(), &mut out);
            let mut batch = items.clone();
            for mut r in batch.p.outer_iter_mut() {
                r.assign(&user);
            }
            let direct = net.forward(&batch).s;
            for (a, b) in out.iter().zip(direct.iter()) {
                assert!((a - b).abs() < 1e-4, "{head:?}: {a} vs {b}");
            }
        }
    }
}
