//! Gradients: the TransE half's margin loss on the graph's triples, and the attention stage's
//! BPR loss with respect to the attention keys and `β`.

use rand::Rng;

use super::sampling::corrupt;
use crate::fused::{Fused, attention_weights, neighbourhood_term};
use kgrec_kg::Triple;
use kgrec_kg::numeric::kernel::{Norm, axpy, distance, distance_grad, dot, translate};

/// One chunk's sparse gradient: `(row, values)` for entities and relations, and its loss.
#[derive(Debug, Default)]
pub(super) struct KgGrad {
    pub(super) ent: Vec<(u32, Vec<f32>)>,
    pub(super) rel: Vec<(u32, Vec<f32>)>,
    pub(super) loss: f64,
}

/// The TransE half's objective on fixed embeddings: the L2 distance `‖h + r − t‖` (the
/// workspace's one TransE kernel, `kgrec_kg::numeric::kernel`), the margin loss against
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

/// The TransE half's norm.
const NORM: Norm = Norm::L2;

impl<'a> TransEHalf<'a> {
    /// The loss and gradient rows of the triples `chunk` (indices into `triples`), each against
    /// its corruptions drawn from `rng`.
    pub(super) fn chunk(&self, chunk: &[u32], rng: &mut impl Rng) -> KgGrad {
        let (d, ent, rel) = (self.d, self.entities, self.relations);
        let mut out = KgGrad::default();
        let row = |t: &'a [f32], k: u32| &t[k as usize * d..(k as usize + 1) * d];
        // Queries `h + r` of the positive and of a corruption.
        let (mut q_pos, mut q_neg) = (vec![0.0; d], vec![0.0; d]);
        for &k in chunk {
            let t = self.triples[k as usize];
            let (h, r, tl) = (t.head.0, t.relation.0, t.tail.0);
            translate(row(ent, h), row(rel, r), 1.0, &mut q_pos);
            let dp = distance(NORM, &q_pos, row(ent, tl));
            for _ in 0..self.negatives {
                let (nh, nt) = corrupt(rng, self.n_entities, h, tl);
                translate(row(ent, nh), row(rel, r), 1.0, &mut q_neg);
                let dn = distance(NORM, &q_neg, row(ent, nt));
                let l = self.margin + dp - dn;
                if l <= 0.0 {
                    continue;
                }
                out.loss += f64::from(l);
                // ∂l/∂dp = 1, ∂l/∂dn = −1; through q = h + r: ∂h = ∂r = ∂q, ∂t = −∂q.
                let (mut g_pos, mut g_tail) = (vec![0.0; d], vec![0.0; d]);
                let (mut g_neg, mut g_neg_tail) = (vec![0.0; d], vec![0.0; d]);
                distance_grad(NORM, &q_pos, row(ent, tl), dp, 1.0, &mut g_pos, &mut g_tail);
                distance_grad(
                    NORM,
                    &q_neg,
                    row(ent, nt),
                    dn,
                    -1.0,
                    &mut g_neg,
                    &mut g_neg_tail,
                );
                let g_rel = g_pos.iter().zip(&g_neg).map(|(a, b)| a + b).collect();
                out.ent.push((h, g_pos));
                out.ent.push((tl, g_tail));
                out.rel.push((r, g_rel));
                out.ent.push((nh, g_neg));
                out.ent.push((nt, g_neg_tail));
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
