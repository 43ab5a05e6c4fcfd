//! Gradients: the two losses of one positive and its negatives, and the analytic gradients of a
//! chunk of positives back through the distance, the query (translation, rotation or projection)
//! and TransR's soft projection-norm penalty, returned as sparse rows.

use rand_chacha::ChaCha8Rng;

use super::params::{KgeParams, Loss};
use super::sampling::{corrupted_side, draw_negatives, usable_negative};
use crate::embed::dataset::Dataset;
use crate::embed::eval::FilterIndex;
use crate::embed::model::{KgeModel, Matrix, ModelKind, Side, rotate_cs};
use crate::ids::{EntityId, RelationId};

/// What every chunk of a fit reads besides the model.
pub(super) struct Ctx<'a> {
    pub(super) p: &'a KgeParams,
    /// Per relation, the probability of corrupting the head.
    pub(super) head_prob: &'a [f32],
    /// The training triples, when sampled negatives that are training triples are dropped.
    pub(super) train_filter: Option<&'a FilterIndex>,
    pub(super) num_entities: usize,
}

/// Gradient rows of one parameter matrix; a row may appear several times.
#[derive(Debug, Default)]
pub(super) struct SparseGrad {
    pub(super) rows: Vec<u32>,
    pub(super) data: Vec<f32>,
}

impl SparseGrad {
    fn push(&mut self, row: u32, g: &[f32]) {
        self.rows.push(row);
        self.data.extend_from_slice(g);
    }
}

/// One chunk's loss and gradients.
#[derive(Debug, Default)]
pub(super) struct ChunkGrad {
    pub(super) loss: f64,
    pub(super) entity: SparseGrad,
    pub(super) relation: SparseGrad,
    pub(super) projection: SparseGrad,
}

/// Per-thread buffers, reused across chunks so the inner loops never allocate.
pub(super) struct Scratch {
    q: Vec<f32>,
    gq: Vec<f32>,
    anchor_space: Vec<f32>,
    g_anchor: Vec<f32>,
    g_target: Vec<f32>,
    g_rel: Vec<f32>,
    g_proj: Vec<f32>,
    gc: Vec<f32>,
    target_space: Vec<f32>,
    cand_space: Vec<f32>,
    neg_grad: Vec<f32>,
    dist: Vec<f32>,
    coef: Vec<f32>,
    valid: Vec<bool>,
    pub(super) negs: Vec<u32>,
}

impl Scratch {
    pub(super) fn new(model: &KgeModel, p: &KgeParams) -> Self {
        let (w, ew) = (model.space_dim(), model.entity.cols());
        let pw = model.projection.as_ref().map_or(0, Matrix::cols);
        Self {
            q: vec![0.0; w],
            gq: vec![0.0; w],
            anchor_space: vec![0.0; w],
            g_anchor: vec![0.0; ew],
            g_target: vec![0.0; ew],
            g_rel: vec![0.0; model.relation.cols()],
            g_proj: vec![0.0; pw],
            gc: vec![0.0; w],
            target_space: vec![0.0; w],
            cand_space: vec![0.0; if pw > 0 { w * p.negatives } else { 0 }],
            neg_grad: vec![0.0; ew * p.negatives],
            dist: vec![0.0; p.negatives],
            coef: vec![0.0; p.negatives],
            valid: vec![true; p.negatives],
            negs: vec![0; p.negatives],
        }
    }
}

fn log_sigmoid(x: f32) -> f32 {
    // -softplus(-x), stable for large |x|.
    x.min(0.0) - (-x.abs()).exp().ln_1p()
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// The loss of one positive and `∂loss/∂d` for it and its negatives (`coef`; 0 for masked ones).
pub(super) fn loss_and_coefs(
    loss: Loss,
    d_pos: f32,
    dist: &[f32],
    valid: &[bool],
    coef: &mut [f32],
) -> (f32, f32) {
    let n_valid = valid.iter().filter(|v| **v).count();
    coef.iter_mut().for_each(|c| *c = 0.0);
    if n_valid == 0 {
        return (0.0, 0.0);
    }
    match loss {
        Loss::MarginRanking { margin } => {
            let w = 1.0 / n_valid as f32;
            let (mut l, mut c_pos) = (0.0, 0.0);
            for ((d, v), c) in dist.iter().zip(valid).zip(coef.iter_mut()) {
                let m = margin + d_pos - d;
                if *v && m > 0.0 {
                    l += w * m;
                    c_pos += w;
                    *c = -w;
                }
            }
            (l, c_pos)
        }
        Loss::SelfAdversarial { gamma, temperature } => {
            let max = dist
                .iter()
                .zip(valid)
                .filter(|(_, v)| **v)
                .map(|(d, _)| temperature * (gamma - d))
                .fold(f32::NEG_INFINITY, f32::max);
            let mut z = 0.0;
            for ((d, v), c) in dist.iter().zip(valid).zip(coef.iter_mut()) {
                if *v {
                    *c = (temperature * (gamma - d) - max).exp();
                    z += *c;
                }
            }
            let mut l = -log_sigmoid(gamma - d_pos);
            for ((d, v), c) in dist.iter().zip(valid).zip(coef.iter_mut()) {
                if *v {
                    let p = *c / z;
                    // log σ(d - γ) = ln(1 - σ(γ - d)): one exp and one log per negative.
                    let s = sigmoid(gamma - d);
                    l -= p * (-s).ln_1p();
                    *c = -p * s;
                }
            }
            (l, sigmoid(d_pos - gamma))
        }
    }
}

/// The loss and gradients of the positives `chunk` (indices into `data.train`), each against the
/// chunk's shared negatives on its corrupted side, scaled by `scale`.
#[allow(clippy::too_many_arguments)]
pub(super) fn chunk_gradient(
    ctx: &Ctx<'_>,
    model: &KgeModel,
    rot: &[f32],
    data: &Dataset,
    chunk: &[u32],
    scale: f32,
    rng: &mut ChaCha8Rng,
    s: &mut Scratch,
) -> ChunkGrad {
    let p = ctx.p;
    let (w, ew) = (model.space_dim(), model.entity.cols());
    let mut out = ChunkGrad::default();
    // Sized up front: growing by doubling showed up as reallocation copies in profiles.
    let ent_rows = 2 * chunk.len() + s.negs.len();
    out.entity.rows.reserve_exact(ent_rows);
    out.entity.data.reserve_exact(ent_rows * ew);
    out.relation.rows.reserve_exact(chunk.len());
    out.relation
        .data
        .reserve_exact(chunk.len() * model.relation.cols());
    draw_negatives(rng, ctx.num_entities, &mut s.negs);
    s.neg_grad.iter_mut().for_each(|v| *v = 0.0);
    let proj = model.projection.as_ref();
    for &i in chunk {
        let t = data.train[i as usize];
        let r = t.relation;
        let side = corrupted_side(rng, ctx.head_prob[r.index()]);
        let (anchor, target) = match side {
            Side::Tail => (t.head, t.tail),
            Side::Head => (t.tail, t.head),
        };
        // Query and candidates in the scoring space.
        let anchor_vec = model.candidate(anchor, r, &mut s.anchor_space);
        let cs = rot
            .get(2 * model.dim * r.index()..2 * model.dim * (r.index() + 1))
            .unwrap_or(&[]);
        if cs.is_empty() {
            model.query_from(side, anchor_vec, r, &mut s.q);
        } else {
            rotate_cs(anchor_vec, cs, side, &mut s.q);
        }
        let target_vec = model.candidate(target, r, &mut s.target_space);
        let d_pos = model.dist(&s.q, target_vec);
        for (j, &e) in s.negs.iter().enumerate() {
            let c: &[f32] = match s.cand_space.get_mut(j * w..(j + 1) * w) {
                Some(buf) => model.candidate(EntityId(e), r, buf),
                None => model.entity.row(e as usize),
            };
            s.dist[j] = model.dist(&s.q, c);
            s.valid[j] = usable_negative(t, side, e, ctx.train_filter);
        }
        let (l, c_pos) = loss_and_coefs(p.loss, d_pos, &s.dist, &s.valid, &mut s.coef);
        out.loss += f64::from(l);

        s.gq.iter_mut().for_each(|v| *v = 0.0);
        s.g_target.iter_mut().for_each(|v| *v = 0.0);
        s.g_proj.iter_mut().for_each(|v| *v = 0.0);
        let target_vec: &[f32] = match proj {
            Some(_) => &s.target_space,
            None => model.entity.row(target.index()),
        };
        if c_pos != 0.0 {
            match proj {
                Some(_) => {
                    s.gc.iter_mut().for_each(|v| *v = 0.0);
                    model.dist_grad(&s.q, target_vec, d_pos, c_pos * scale, &mut s.gq, &mut s.gc);
                }
                None => model.dist_grad(
                    &s.q,
                    target_vec,
                    d_pos,
                    c_pos * scale,
                    &mut s.gq,
                    &mut s.g_target,
                ),
            }
            if let Some(m) = proj {
                backprop_projection(
                    m.row(r.index()),
                    model.entity.row(target.index()),
                    &s.gc,
                    &mut s.g_target,
                    &mut s.g_proj,
                );
            }
        }
        for j in 0..s.negs.len() {
            let coef = s.coef[j] * scale;
            if coef == 0.0 {
                continue;
            }
            let e = s.negs[j] as usize;
            match proj {
                Some(m) => {
                    s.gc.iter_mut().for_each(|v| *v = 0.0);
                    let c = &s.cand_space[j * w..(j + 1) * w];
                    model.dist_grad(&s.q, c, s.dist[j], coef, &mut s.gq, &mut s.gc);
                    backprop_projection(
                        m.row(r.index()),
                        model.entity.row(e),
                        &s.gc,
                        &mut s.neg_grad[j * ew..(j + 1) * ew],
                        &mut s.g_proj,
                    );
                }
                None => {
                    let c = model.entity.row(e);
                    model.dist_grad(
                        &s.q,
                        c,
                        s.dist[j],
                        coef,
                        &mut s.gq,
                        &mut s.neg_grad[j * ew..(j + 1) * ew],
                    );
                }
            }
        }
        // Back through the query to the anchor entity and the relation.
        s.g_anchor.iter_mut().for_each(|v| *v = 0.0);
        s.g_rel.iter_mut().for_each(|v| *v = 0.0);
        backprop_query(
            model,
            side,
            anchor,
            r,
            cs,
            &s.q,
            &s.gq,
            &mut s.g_anchor,
            &mut s.g_rel,
            &mut s.g_proj,
        );
        if let Some(m) = proj {
            // Lin et al.'s ‖M_r h‖ ≤ 1, ‖M_r t‖ ≤ 1 as the soft penalty of their code:
            // max(0, ‖M_r e‖² - 1) for every entity of the positive and of its negatives.
            let mrow = m.row(r.index());
            let w = model.space_dim();
            let penalise = |e: usize,
                            projected: &[f32],
                            g_e: &mut [f32],
                            g_proj: &mut [f32],
                            gc: &mut [f32]| {
                let (l, active) = projection_penalty(projected);
                if active {
                    for (g, v) in gc.iter_mut().zip(projected) {
                        *g = 2.0 * PROJECTION_PENALTY * scale * v;
                    }
                    backprop_projection(mrow, model.entity.row(e), gc, g_e, g_proj);
                }
                l
            };
            let mut penalty = penalise(
                anchor.index(),
                &s.anchor_space,
                &mut s.g_anchor,
                &mut s.g_proj,
                &mut s.gc,
            );
            penalty += penalise(
                target.index(),
                &s.target_space,
                &mut s.g_target,
                &mut s.g_proj,
                &mut s.gc,
            );
            for (j, &e) in s.negs.iter().enumerate() {
                penalty += penalise(
                    e as usize,
                    &s.cand_space[j * w..(j + 1) * w],
                    &mut s.neg_grad[j * ew..(j + 1) * ew],
                    &mut s.g_proj,
                    &mut s.gc,
                );
            }
            out.loss += f64::from(penalty);
        }
        out.entity.push(anchor.0, &s.g_anchor);
        out.entity.push(target.0, &s.g_target);
        out.relation.push(r.0, &s.g_rel);
        if proj.is_some() {
            out.projection.push(r.0, &s.g_proj);
        }
    }
    for (j, &e) in s.negs.iter().enumerate() {
        out.entity.push(e, &s.neg_grad[j * ew..(j + 1) * ew]);
    }
    out
}

/// For `c = M e`: `g_e += Mᵀ g_c`, `g_M += g_c eᵀ`.
fn backprop_projection(m: &[f32], e: &[f32], gc: &[f32], g_e: &mut [f32], g_m: &mut [f32]) {
    let d = e.len();
    for (k, &g) in gc.iter().enumerate() {
        if g == 0.0 {
            continue;
        }
        let row = &m[k * d..(k + 1) * d];
        let grow = &mut g_m[k * d..(k + 1) * d];
        for ((ge, mv), (gm, ev)) in g_e.iter_mut().zip(row).zip(grow.iter_mut().zip(e)) {
            *ge += g * mv;
            *gm += g * ev;
        }
    }
}

/// Weight of TransR's soft projection-norm penalty.
const PROJECTION_PENALTY: f32 = 1.0;

/// `PROJECTION_PENALTY · max(0, ‖v‖² - 1)` and whether it is active.
pub(super) fn projection_penalty(v: &[f32]) -> (f32, bool) {
    let excess = v.iter().map(|x| x * x).sum::<f32>() - 1.0;
    (PROJECTION_PENALTY * excess.max(0.0), excess > 0.0)
}

#[allow(clippy::too_many_arguments)]
fn backprop_query(
    model: &KgeModel,
    side: Side,
    anchor: EntityId,
    r: RelationId,
    cs: &[f32],
    q: &[f32],
    gq: &[f32],
    g_anchor: &mut [f32],
    g_rel: &mut [f32],
    g_proj: &mut [f32],
) {
    let sign = match side {
        Side::Tail => 1.0,
        Side::Head => -1.0,
    };
    match model.kind {
        ModelKind::TransE { .. } => {
            for ((ga, gr), g) in g_anchor.iter_mut().zip(g_rel.iter_mut()).zip(gq) {
                *ga += g;
                *gr += sign * g;
            }
        }
        ModelKind::TransR { .. } => {
            for (gr, g) in g_rel.iter_mut().zip(gq) {
                *gr += sign * g;
            }
            if let Some(m) = &model.projection {
                backprop_projection(
                    m.row(r.index()),
                    model.entity.row(anchor.index()),
                    gq,
                    g_anchor,
                    g_proj,
                );
            }
        }
        ModelKind::RotatE => {
            // q = a ∘ e^{iσθ}: ∂a = conj-rotated ∂q; ∂θ_k = σ (q_re ∂q_im - q_im ∂q_re).
            let d = model.dim;
            let (qre, qim) = (&q[..d], &q[d..2 * d]);
            let (gre, gim) = (&gq[..d], &gq[d..2 * d]);
            let (cos, sin) = (&cs[..d], &cs[d..2 * d]);
            let (are, aim) = g_anchor.split_at_mut(d);
            let (aim, g_rel) = (&mut aim[..d], &mut g_rel[..d]);
            for k in 0..d {
                let (c, sn) = (cos[k], sign * sin[k]);
                are[k] += gre[k] * c + gim[k] * sn;
                aim[k] += -gre[k] * sn + gim[k] * c;
                g_rel[k] += sign * (qre[k] * gim[k] - qim[k] * gre[k]);
            }
        }
    }
}
