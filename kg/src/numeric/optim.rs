//! Adagrad and Adam: the one implementation every trainer of the workspace uses.
//!
//! Both keep per-element state ([`Moments`]) beside a row-major parameter table and are *lazy*: a
//! step updates only the rows it has gradients for, and untouched rows keep their moments (the
//! usual sparse variant for embedding tables). Two ways to drive them:
//! - [`Moments::update_row`]: one gradient row, applied at once (the fused recommender's TransE
//!   half applies every gradient row as it comes; its attention stage is a single row holding all
//!   of its parameters);
//! - [`LazyTable`]: a step's sparse gradient rows summed row by row in the order given, then one
//!   update per touched row, rows in parallel (the graph-embedding trainer, whose chunk order
//!   fixes the sum, so the result does not depend on the thread count).
//!
//! [`Rule`] is the arithmetic of one update with the step's constants folded in. Its two Adam
//! variants are the same maths in a different floating-point evaluation order; models trained
//! with one are reproduced bit for bit only by the same one.

use rayon::prelude::*;

/// One update rule, with everything that is constant over a step folded in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rule {
    /// `v += g²`, `p -= lr·g / (√v + eps)`.
    Adagrad { lr: f32, eps: f32 },
    /// Adam; build with [`Rule::adam_folded`] or [`Rule::adam_corrected`].
    Adam(AdamStep),
}

/// One Adam step: `m = β₁m + (1−β₁)g`, `v = β₂v + (1−β₂)g²`, then a step of `lr` corrected as
/// `bias` says.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamStep {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub bias: BiasCorrection,
}

/// Where Adam's bias corrections `c₁ = 1−β₁ᵗ`, `c₂ = 1−β₂ᵗ` enter: the same maths, a different
/// floating-point evaluation order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BiasCorrection {
    /// Folded into the step size (Kingma & Ba, end of section 2): `lr` already holds `√c₂ / c₁`
    /// and the step is `lr·m / (√v + eps)`.
    InStepSize,
    /// On the moments: `lr·(m / c₁) / (√(v / c₂) + eps)`.
    OfMoments { c1: f32, c2: f32 },
}

impl Rule {
    /// Adagrad.
    pub fn adagrad(lr: f32, eps: f32) -> Self {
        Rule::Adagrad { lr, eps }
    }

    /// Adam at step `t` (1-based), bias corrections [`BiasCorrection::InStepSize`].
    pub fn adam_folded(lr: f32, beta1: f32, beta2: f32, eps: f32, t: i32) -> Self {
        let (c1, c2) = bias_corrections(beta1, beta2, t);
        Self::adam(
            lr * c2.sqrt() / c1,
            beta1,
            beta2,
            eps,
            BiasCorrection::InStepSize,
        )
    }

    /// Adam at step `t` (1-based), bias corrections [`BiasCorrection::OfMoments`].
    pub fn adam_corrected(lr: f32, beta1: f32, beta2: f32, eps: f32, t: i32) -> Self {
        let (c1, c2) = bias_corrections(beta1, beta2, t);
        Self::adam(lr, beta1, beta2, eps, BiasCorrection::OfMoments { c1, c2 })
    }

    fn adam(lr: f32, beta1: f32, beta2: f32, eps: f32, bias: BiasCorrection) -> Self {
        Rule::Adam(AdamStep {
            lr,
            beta1,
            beta2,
            eps,
            bias,
        })
    }

    /// Whether the rule keeps first moments (Adam) besides second ones.
    pub fn has_momentum(&self) -> bool {
        matches!(self, Rule::Adam { .. })
    }

    /// Updates the parameters `p` and their moments `m` (first; ignored by Adagrad, which may pass
    /// an empty slice) and `v` (second) by the gradient `g`, over their common length.
    pub fn update(&self, p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32]) {
        // Equal-length re-slices (here and in `adam`) let LLVM drop the bounds checks and
        // vectorise.
        match *self {
            Rule::Adagrad { lr, eps } => {
                let n = p.len().min(g.len()).min(v.len());
                let (p, g, v) = (&mut p[..n], &g[..n], &mut v[..n]);
                for i in 0..n {
                    v[i] += g[i] * g[i];
                    p[i] -= lr * g[i] / (v[i].sqrt() + eps);
                }
            }
            Rule::Adam(step) => step.update(p, m, v, g),
        }
    }
}

impl AdamStep {
    fn update(&self, p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32]) {
        let (lr, eps, b1, b2) = (self.lr, self.eps, self.beta1, self.beta2);
        match self.bias {
            BiasCorrection::InStepSize => {
                adam(p, m, v, g, b1, b2, |m, v| lr * m / (v.sqrt() + eps))
            }
            BiasCorrection::OfMoments { c1, c2 } => adam(p, m, v, g, b1, b2, |m, v| {
                lr * (m / c1) / ((v / c2).sqrt() + eps)
            }),
        }
    }
}

/// Adam's moment updates over equal-length slices, then `p -= step(m, v)`.
#[inline(always)]
fn adam(
    p: &mut [f32],
    m: &mut [f32],
    v: &mut [f32],
    g: &[f32],
    beta1: f32,
    beta2: f32,
    step: impl Fn(f32, f32) -> f32,
) {
    let n = p.len().min(m.len()).min(v.len()).min(g.len());
    let (p, m, v, g) = (&mut p[..n], &mut m[..n], &mut v[..n], &g[..n]);
    for i in 0..n {
        m[i] = beta1 * m[i] + (1.0 - beta1) * g[i];
        v[i] = beta2 * v[i] + (1.0 - beta2) * g[i] * g[i];
        p[i] -= step(m[i], v[i]);
    }
}

/// `(1 − β₁ᵗ, 1 − β₂ᵗ)`.
fn bias_corrections(beta1: f32, beta2: f32, t: i32) -> (f32, f32) {
    (1.0 - beta1.powi(t), 1.0 - beta2.powi(t))
}

/// The optimiser state beside one row-major parameter table with rows of `width`: the second
/// moments (Adagrad's sums of squares, Adam's `v`) and, with momentum, Adam's first moments.
#[derive(Clone, Debug, PartialEq)]
pub struct Moments {
    width: usize,
    m: Vec<f32>,
    v: Vec<f32>,
}

impl Moments {
    /// State for `len` parameters in rows of `width`, all moments 0; `momentum` keeps first
    /// moments too (needed by the Adam rules).
    pub fn new(len: usize, width: usize, momentum: bool) -> Self {
        Self {
            width,
            m: if momentum { vec![0.0; len] } else { Vec::new() },
            v: vec![0.0; len],
        }
    }

    pub fn width(&self) -> usize {
        self.width
    }

    /// Applies `rule` with the gradient `g` to row `row` of `table` and to its moments; every
    /// other row and its moments stay as they are. A row outside the table is ignored.
    pub fn update_row(&mut self, rule: Rule, table: &mut [f32], row: usize, g: &[f32]) {
        let w = self.width;
        let range = row * w..(row + 1) * w;
        let (Some(p), Some(v)) = (table.get_mut(range.clone()), self.v.get_mut(range.clone()))
        else {
            return;
        };
        let m = self.m.get_mut(range).unwrap_or(&mut []);
        rule.update(p, m, v, g);
    }
}

const NO_SLOT: u32 = u32::MAX;

/// Lazy updates of one parameter table from a step's sparse gradient rows. [`LazyTable::add`]
/// sums the gradients row by row in the order they are added (so the sum does not depend on how
/// they were computed); [`LazyTable::step`] then updates every touched row once, rows in
/// parallel, and clears the sums.
#[derive(Debug)]
pub struct LazyTable {
    moments: Moments,
    /// Per table row, its place in `touched` and `acc` this step, or [`NO_SLOT`].
    slot: Vec<u32>,
    touched: Vec<u32>,
    acc: Vec<f32>,
}

impl LazyTable {
    /// State for a table of `rows × width`; `momentum` as in [`Moments::new`].
    pub fn new(rows: usize, width: usize, momentum: bool) -> Self {
        Self {
            moments: Moments::new(rows * width, width, momentum),
            slot: vec![NO_SLOT; rows],
            touched: Vec::new(),
            acc: Vec::new(),
        }
    }

    /// Adds gradient rows: `data` holds `width` values for each of `rows` (a row may repeat).
    /// Rows outside the table are ignored.
    pub fn add(&mut self, rows: &[u32], data: &[f32]) {
        let width = self.moments.width;
        if width == 0 {
            return;
        }
        for (&row, gr) in rows.iter().zip(data.chunks_exact(width)) {
            let Some(slot) = self.slot.get_mut(row as usize) else {
                continue;
            };
            if *slot == NO_SLOT {
                *slot = self.touched.len() as u32;
                self.touched.push(row);
                self.acc.extend_from_slice(gr);
            } else {
                let s = *slot as usize * width;
                for (a, b) in self.acc[s..s + width].iter_mut().zip(gr) {
                    *a += b;
                }
            }
        }
    }

    /// Updates every row of `table` that has a summed gradient by `rule`, then hands the row to
    /// `after` (a norm constraint, say); clears the sums for the next step.
    pub fn step(&mut self, rule: Rule, table: &mut [f32], after: impl Fn(&mut [f32]) + Sync) {
        let width = self.moments.width;
        if width > 0 && !self.touched.is_empty() {
            let (slot, acc) = (&self.slot, &self.acc);
            let update = |i: usize, p: &mut [f32], m: &mut [f32], v: &mut [f32]| {
                let Some(&s) = slot.get(i) else {
                    return;
                };
                if s == NO_SLOT {
                    return;
                }
                let Some(g) = acc.get(s as usize * width..(s as usize + 1) * width) else {
                    return;
                };
                rule.update(p, m, v, g);
                after(p);
            };
            let rows = table.par_chunks_mut(width);
            let Moments { m, v, .. } = &mut self.moments;
            if m.is_empty() {
                rows.zip(v.par_chunks_mut(width))
                    .enumerate()
                    .for_each(|(i, (p, v))| update(i, p, &mut [], v));
            } else {
                rows.zip(m.par_chunks_mut(width))
                    .zip(v.par_chunks_mut(width))
                    .enumerate()
                    .for_each(|(i, ((p, m), v))| update(i, p, m, v));
            }
        }
        for &r in &self.touched {
            if let Some(s) = self.slot.get_mut(r as usize) {
                *s = NO_SLOT;
            }
        }
        self.touched.clear();
        self.acc.clear();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn adagrad_and_adam_by_hand() {
        // Adagrad: v = 4, p = 1 - 0.5·2/(2 + 0) = 0.5.
        let (mut p, mut v) = ([1.0f32], [0.0f32]);
        Rule::adagrad(0.5, 0.0).update(&mut p, &mut [], &mut v, &[2.0]);
        assert_eq!((p, v), ([0.5], [4.0]));
        // Adam, first step: m/c1 = g and v/c2 = g², so the step is lr·sign(g) (eps 0).
        for rule in [
            Rule::adam_folded(0.1, 0.9, 0.999, 0.0, 1),
            Rule::adam_corrected(0.1, 0.9, 0.999, 0.0, 1),
        ] {
            let (mut p, mut m, mut v) = ([1.0f32, 1.0], [0.0f32; 2], [0.0f32; 2]);
            rule.update(&mut p, &mut m, &mut v, &[3.0, -0.25]);
            assert!(
                (p[0] - 0.9).abs() < 1e-5 && (p[1] - 1.1).abs() < 1e-5,
                "{rule:?}"
            );
            assert!((m[0] - 0.3).abs() < 1e-6 && (v[0] - 0.009).abs() < 1e-6);
        }
    }

    #[test]
    fn update_row_touches_one_row() {
        let mut table = vec![1.0f32; 6];
        let mut moments = Moments::new(6, 2, true);
        let rule = Rule::adam_corrected(0.1, 0.9, 0.999, 1e-8, 1);
        moments.update_row(rule, &mut table, 1, &[1.0, 1.0]);
        assert_eq!(&table[..2], &[1.0, 1.0]);
        assert_eq!(&table[4..], &[1.0, 1.0]);
        assert!(table[2] < 1.0 && table[3] < 1.0);
        assert_eq!(moments.v[..2], [0.0, 0.0]);
        // Out of range: nothing happens.
        moments.update_row(rule, &mut table, 3, &[1.0, 1.0]);
        assert_eq!(table.len(), 6);
    }

    /// A step of the lazy table equals summing each row's gradients in order and updating the
    /// touched rows one by one; untouched rows and their moments do not move.
    #[test]
    fn lazy_table_sums_rows_then_updates_once() {
        let rule = Rule::adam_folded(0.01, 0.9, 0.999, 1e-8, 3);
        let mut table: Vec<f32> = (0..8).map(|i| i as f32 * 0.1).collect();
        let mut lazy = LazyTable::new(4, 2, true);
        lazy.add(&[2, 0], &[0.5, -1.0, 0.25, 0.25]);
        lazy.add(&[2, 9], &[0.125, 2.0, 7.0, 7.0]);
        let mut want = table.clone();
        let mut moments = Moments::new(8, 2, true);
        moments.update_row(rule, &mut want, 2, &[0.5 + 0.125, -1.0 + 2.0]);
        moments.update_row(rule, &mut want, 0, &[0.25, 0.25]);
        let clamp = |p: &mut [f32]| p.iter_mut().for_each(|x| *x = x.min(0.15));
        lazy.step(rule, &mut table, clamp);
        clamp(&mut want[0..2]);
        clamp(&mut want[4..6]);
        assert_eq!(table, want);
        assert_eq!(lazy.moments, moments);
        // The sums are cleared: an empty step changes nothing.
        lazy.step(rule, &mut table, |_| {});
        assert_eq!(table, want);
    }
}
