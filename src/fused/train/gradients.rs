//! Gradients: the TransE half's margin loss on the graph's triples, and the attention stage's
//! BPR loss with respect to the attention keys and `β`.

use rand::Rng;

use super::sampling::corrupt;
use crate::cf::linalg::{axpy, dot};
use crate::fused::{Fused, attention_weights, neighbourhood_term};
use kgrec_kg::Triple;

/// One chunk's sparse gradient: `(row, values)` for entities and relations, and its loss.
#[derive(Debug, Default)]
pub(super) struct KgGrad {
    pub(super) ent: Vec<(u32, Vec<f32>)>,
    pub(super) rel: Vec<(u32, Vec<f32>)>,
    pub(super) loss: f64,
}

/// The TransE half's objective on fixed embeddings: the L2 distance, the margin loss against
/// `negatives` corruptions per triple.
#[derive(Debug, Clone, Copy)]
pub(super) struct TransEHalf<'a> {
    /// `n_entities × d`, row-major.
    pub(super) entities: &'a [f32],
    /// `n_relations × d`, row-major.
    pub(super) relations: &'a [f32],
    pub(super) triples: &'a [Triple],
    pub(super) d: usize,
    pub(super) n_entities: usize,
    pub(super) negatives: usize,
    pub(super) margin: f32,
}

impl TransEHalf<'_> {
    /// The loss and gradient rows of the triples `chunk` (indices into `triples`), each against
    /// its corruptions drawn from `rng`.
    pub(super) fn chunk(&self, chunk: &[u32], rng: &mut impl Rng) -> KgGrad {
        let (d, ent, rel) = (self.d, self.entities, self.relations);
        let mut out = KgGrad::default();
        let row = |t: &[f32], k: u32| t[k as usize * d..(k as usize + 1) * d].to_vec();
        for &k in chunk {
            let t = self.triples[k as usize];
            let (h, r, tl) = (t.head.0, t.relation.0, t.tail.0);
            let pos = diff(&row(ent, h), &row(rel, r), &row(ent, tl));
            let dp = norm(&pos);
            for _ in 0..self.negatives {
                let (nh, nt) = corrupt(rng, self.n_entities, h, tl);
                let neg = diff(&row(ent, nh), &row(rel, r), &row(ent, nt));
                let dn = norm(&neg);
                let l = self.margin + dp - dn;
                if l <= 0.0 {
                    continue;
                }
                out.loss += f64::from(l);
                let gp: Vec<f32> = pos.iter().map(|v| v / dp.max(1e-9)).collect();
                let gn: Vec<f32> = neg.iter().map(|v| -v / dn.max(1e-9)).collect();
                // ∂d/∂h = u, ∂d/∂r = u, ∂d/∂t = −u with u = (h + r − t)/d.
                out.ent.push((h, gp.clone()));
                out.ent.push((tl, gp.iter().map(|v| -v).collect()));
                out.rel
                    .push((r, gp.iter().zip(&gn).map(|(a, b)| a + b).collect()));
                out.ent.push((nh, gn.clone()));
                out.ent.push((nt, gn.iter().map(|v| -v).collect()));
            }
        }
        out
    }
}

/// Adds the gradient of `−ln σ(s_ui − s_uj)` (w.r.t. the keys and `β`, the last entry) to `grad`;
/// returns the loss. Only the neighbourhood term depends on them.
pub(super) fn attention_pair(
    model: &Fused,
    u: usize,
    i: usize,
    j: usize,
    learn_keys: bool,
    grad: &mut [f32],
) -> f64 {
    let d = model.users.ncols();
    let x = model.users.row(u).to_vec();
    let weights = attention_weights(&x, &model.keys);
    let base = |k: usize| dot(&x, &model.items.row(k).to_vec());
    let term =
        |k: usize| neighbourhood_term(&x, &weights, model.graph.neighbourhood(k), &model.entities);
    let (ai, aj) = (term(i), term(j));
    let diff = base(i) - base(j) + model.beta * (ai - aj);
    let sig = 1.0 / (1.0 + (-diff).exp());
    let loss = -f64::from(sig.max(1e-12)).ln();
    // d(−ln σ(diff))/d diff = −(1 − σ)
    let coef = -(1.0 - sig);
    let g = weights.len();
    grad[g * d] += coef * (ai - aj);
    if learn_keys && model.beta != 0.0 {
        for (k, sign) in [(i, 1.0f32), (j, -1.0f32)] {
            key_gradient(
                model,
                &x,
                &weights,
                k,
                coef * sign * model.beta,
                &mut grad[..g * d],
            );
        }
    }
    loss
}

/// Adds `scale · ∂(x·agg(item))/∂ρ_g` for every group: `w_g (q_g − c_g a)/B · x` where
/// `q_g = Σ_{n∈g} x·η_n`, `c_g` the group's size, `B = Σ_g w_g c_g` and `a` the term itself.
fn key_gradient(
    model: &Fused,
    x: &[f32],
    weights: &[f32],
    item: usize,
    scale: f32,
    grad: &mut [f32],
) {
    let d = x.len();
    let nb = model.graph.neighbourhood(item);
    if nb.is_empty() {
        return;
    }
    let (mut num, mut den) = (0.0f32, 0.0f32);
    // Groups are contiguous (sorted): (group, q_g, c_g).
    let mut groups: Vec<(u32, f32, f32)> = Vec::new();
    for &(g, n) in nb {
        let z = dot(x, &model.entities.row(n as usize).to_vec());
        let w = weights[g as usize];
        num += w * z;
        den += w;
        match groups.last_mut() {
            Some(last) if last.0 == g => {
                last.1 += z;
                last.2 += 1.0;
            }
            _ => groups.push((g, z, 1.0)),
        }
    }
    if den <= 0.0 {
        return;
    }
    let a = num / den;
    for (g, q, c) in groups {
        let w = weights[g as usize];
        let coef = scale * w * (q - c * a) / den;
        axpy(coef, x, &mut grad[g as usize * d..(g as usize + 1) * d]);
    }
}

fn diff(h: &[f32], r: &[f32], t: &[f32]) -> Vec<f32> {
    h.iter()
        .zip(r)
        .zip(t)
        .map(|((h, r), t)| h + r - t)
        .collect()
}

fn norm(v: &[f32]) -> f32 {
    dot(v, v).sqrt()
}

/// [`attention_pair`] with learnt keys, for the gradient check.
#[cfg(test)]
pub(in crate::fused) fn attention_pair_for_tests(
    model: &Fused,
    u: usize,
    i: usize,
    j: usize,
    grad: &mut [f32],
) -> f64 {
    attention_pair(model, u, i, j, true, grad)
}
