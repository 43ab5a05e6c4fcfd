//! Trained embedding models (TransE, RotatE, TransR): parameter storage, the distance kernels
//! over `&[f32]` rows, and the query/candidate decomposition that training and ranking share.
//!
//! Every model here scores a triple by a distance `d(q, c)` between a *query* built from the known
//! side and the relation, and a *candidate* row for the missing side:
//! - TransE: tail query `q = h + r`, head query `q = t - r`, candidates are entity rows, `‖q - c‖_p`.
//! - RotatE: tail query `q = h ∘ e^{iθ}`, head query `q = t ∘ e^{-iθ}` (equal distance because every
//!   relation has modulus 1), candidates are complex entity rows, `Σ_k |q_k - c_k|`.
//! - TransR: like TransE in the relation space, with candidates projected by `M_r`.
//!
//! Scores are negative distances; ranking compares distances directly. The translation, the
//! L1/L2 distance and its gradient, and `dot`/`matvec` are the workspace's one TransE kernel in
//! [`crate::numeric::kernel`]; RotatE's complex distance is here.

use ndarray::Array2;
use rand::Rng;

use crate::ids::{EntityId, RelationId, Triple};
pub use crate::numeric::kernel::Norm;
use crate::numeric::kernel::{self, LANES, matvec};

/// Which scoring function a model uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ModelKind {
    /// Bordes et al. 2013.
    TransE { norm: Norm },
    /// Sun et al. 2019: `dim` complex coordinates per entity, one phase per coordinate per relation.
    RotatE,
    /// Lin et al. 2015: entities in `dim`, relations in `rel_dim`, one `rel_dim × dim` matrix per relation.
    TransR { norm: Norm, rel_dim: usize },
}

impl ModelKind {
    /// The lowercase name used in `meta.json` and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::TransE { .. } => "transe",
            ModelKind::RotatE => "rotate",
            ModelKind::TransR { .. } => "transr",
        }
    }
}

/// Which side of a triple a query leaves open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    Head,
    Tail,
}

/// A dense row-major `f32` matrix; rows are handed out as slices for the inner loops.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f32>,
}

impl Matrix {
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Self {
            rows,
            cols,
            data: vec![0.0; rows * cols],
        }
    }

    /// `None` unless `data.len() == rows * cols`.
    pub fn from_vec(rows: usize, cols: usize, data: Vec<f32>) -> Option<Self> {
        (rows.checked_mul(cols)? == data.len()).then_some(Self { rows, cols, data })
    }

    pub(crate) fn uniform(rows: usize, cols: usize, bound: f32, rng: &mut impl Rng) -> Self {
        let data = (0..rows * cols)
            .map(|_| rng.random_range(-bound..=bound))
            .collect();
        Self { rows, cols, data }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    pub fn row_mut(&mut self, i: usize) -> &mut [f32] {
        &mut self.data[i * self.cols..(i + 1) * self.cols]
    }

    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// A copy as an ndarray matrix, for the BLAS-style products of ranking.
    pub fn to_array(&self) -> Array2<f32> {
        let c = self.cols;
        Array2::from_shape_fn((self.rows, c), |(i, j)| self.data[i * c + j])
    }

    pub fn from_array(a: Array2<f32>) -> Self {
        let (rows, cols) = a.dim();
        Self {
            rows,
            cols,
            data: a.iter().copied().collect(),
        }
    }
}

/// A trained (or loaded) embedding model.
#[derive(Clone, Debug, PartialEq)]
pub struct KgeModel {
    pub(crate) kind: ModelKind,
    pub(crate) dim: usize,
    /// TransE/TransR: `n_e × dim`; RotatE: `n_e × 2·dim`, real parts then imaginary parts.
    pub(crate) entity: Matrix,
    /// TransE: `n_r × dim`; RotatE: `n_r × dim` phases; TransR: `n_r × rel_dim`.
    pub(crate) relation: Matrix,
    /// TransR only: `n_r × (rel_dim·dim)`, each row a row-major `rel_dim × dim` matrix.
    pub(crate) projection: Option<Matrix>,
}

impl KgeModel {
    /// Assembles a model from its matrices, checking their shapes against `kind` and `dim`.
    pub fn from_parts(
        kind: ModelKind,
        dim: usize,
        entity: Matrix,
        relation: Matrix,
        projection: Option<Matrix>,
    ) -> Option<Self> {
        let (ent_cols, rel_cols) = match kind {
            ModelKind::TransE { .. } => (dim, dim),
            ModelKind::RotatE => (2 * dim, dim),
            ModelKind::TransR { rel_dim, .. } => (dim, rel_dim),
        };
        let proj_ok = match (kind, &projection) {
            (ModelKind::TransR { rel_dim, .. }, Some(p)) => {
                p.rows == relation.rows && p.cols == rel_dim * dim
            }
            (ModelKind::TransR { .. }, None) => false,
            (_, p) => p.is_none(),
        };
        (dim > 0 && entity.cols == ent_cols && relation.cols == rel_cols && proj_ok).then_some(
            Self {
                kind,
                dim,
                entity,
                relation,
                projection,
            },
        )
    }

    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn num_entities(&self) -> usize {
        self.entity.rows
    }

    pub fn num_relations(&self) -> usize {
        self.relation.rows
    }

    pub fn entity_matrix(&self) -> &Matrix {
        &self.entity
    }

    pub fn relation_matrix(&self) -> &Matrix {
        &self.relation
    }

    pub fn projection_matrix(&self) -> Option<&Matrix> {
        self.projection.as_ref()
    }

    /// The width of query and candidate vectors.
    pub(crate) fn space_dim(&self) -> usize {
        match self.kind {
            ModelKind::TransE { .. } => self.dim,
            ModelKind::RotatE => 2 * self.dim,
            ModelKind::TransR { rel_dim, .. } => rel_dim,
        }
    }

    /// `d(h, r, t)`: lower is more plausible.
    pub fn distance(&self, t: Triple) -> f32 {
        let mut q = vec![0.0; self.space_dim()];
        let mut c = vec![0.0; self.space_dim()];
        self.query(Side::Tail, t.head, t.relation, &mut q);
        let cand = self.candidate(t.tail, t.relation, &mut c);
        self.dist(&q, cand)
    }

    /// `-d(h, r, t)`.
    pub fn score(&self, t: Triple) -> f32 {
        -self.distance(t)
    }

    /// The candidate vector of entity `e` for relation `r`: the entity row itself, or for TransR
    /// its projection `M_r e` written into `buf`.
    pub(crate) fn candidate<'a>(
        &'a self,
        e: EntityId,
        r: RelationId,
        buf: &'a mut [f32],
    ) -> &'a [f32] {
        match (&self.projection, self.kind) {
            (Some(p), ModelKind::TransR { .. }) => {
                matvec(p.row(r.index()), self.entity.row(e.index()), buf);
                buf
            }
            _ => self.entity.row(e.index()),
        }
    }

    /// Writes into `q` the query for the open `side` given the known entity `anchor` and `r`.
    pub(crate) fn query(&self, side: Side, anchor: EntityId, r: RelationId, q: &mut [f32]) {
        match (&self.projection, self.kind) {
            (Some(p), ModelKind::TransR { .. }) => {
                let mut projected = vec![0.0; q.len()];
                matvec(
                    p.row(r.index()),
                    self.entity.row(anchor.index()),
                    &mut projected,
                );
                self.query_from(side, &projected, r, q);
            }
            _ => self.query_from(side, self.entity.row(anchor.index()), r, q),
        }
    }

    /// Like [`Self::query`] from the anchor's candidate vector (for TransR, already projected).
    pub(crate) fn query_from(&self, side: Side, anchor: &[f32], r: RelationId, q: &mut [f32]) {
        let rel = self.relation.row(r.index());
        match self.kind {
            ModelKind::TransE { .. } | ModelKind::TransR { .. } => translate(anchor, rel, side, q),
            ModelKind::RotatE => rotate(anchor, rel, side, q),
        }
    }

    /// RotatE: `[cos θ.., sin θ..]` of every relation, row after row (empty for other models);
    /// training rotates by the same phases many times per step.
    pub(crate) fn rotation_table(&self) -> Vec<f32> {
        if self.kind != ModelKind::RotatE {
            return Vec::new();
        }
        let d = self.relation.cols();
        let mut table = vec![0.0; 2 * d * self.relation.rows()];
        for (r, cs) in table.chunks_exact_mut(2 * d).enumerate() {
            cos_sin(self.relation.row(r), cs);
        }
        table
    }

    pub(crate) fn dist(&self, q: &[f32], c: &[f32]) -> f32 {
        match self.kind {
            ModelKind::TransE { norm } | ModelKind::TransR { norm, .. } => {
                kernel::distance(norm, q, c)
            }
            ModelKind::RotatE => complex_l1(q, c),
        }
    }

    /// With `x = coef · ∂d(q, c)/∂(q - c)`: `gq += x`, `gc -= x` (`d` is `d(q, c)`).
    pub(crate) fn dist_grad(
        &self,
        q: &[f32],
        c: &[f32],
        d: f32,
        coef: f32,
        gq: &mut [f32],
        gc: &mut [f32],
    ) {
        match self.kind {
            ModelKind::TransE { norm } | ModelKind::TransR { norm, .. } => {
                kernel::distance_grad(norm, q, c, d, coef, gq, gc)
            }
            ModelKind::RotatE => complex_l1_grad(q, c, coef, gq, gc),
        }
    }
}

/// `q = e + r` (tail query) or `q = e - r` (head query).
fn translate(e: &[f32], r: &[f32], side: Side, q: &mut [f32]) {
    let sign = match side {
        Side::Tail => 1.0,
        Side::Head => -1.0,
    };
    kernel::translate(e, r, sign, q);
}

/// `q = e ∘ e^{±iθ}` with `e` laid out as real parts then imaginary parts.
fn rotate(e: &[f32], phase: &[f32], side: Side, q: &mut [f32]) {
    let mut cs = vec![0.0; 2 * phase.len()];
    cos_sin(phase, &mut cs);
    rotate_cs(e, &cs, side, q);
}

/// Writes `[cos θ_1.., sin θ_1..]`.
pub(crate) fn cos_sin(phase: &[f32], cs: &mut [f32]) {
    let (c, s) = cs.split_at_mut(phase.len());
    for ((c, s), p) in c.iter_mut().zip(s.iter_mut()).zip(phase) {
        (*s, *c) = p.sin_cos();
    }
}

/// [`rotate`] with precomputed `cs = [cos θ.., sin θ..]`.
pub(crate) fn rotate_cs(e: &[f32], cs: &[f32], side: Side, q: &mut [f32]) {
    let d = cs.len() / 2;
    let sign = match side {
        Side::Tail => 1.0,
        Side::Head => -1.0,
    };
    let (ere, eim) = (&e[..d], &e[d..2 * d]);
    let (cos, sin) = (&cs[..d], &cs[d..2 * d]);
    let (qre, qim) = q.split_at_mut(d);
    let qim = &mut qim[..d];
    for k in 0..d {
        let (c, s) = (cos[k], sign * sin[k]);
        qre[k] = ere[k] * c - eim[k] * s;
        qim[k] = ere[k] * s + eim[k] * c;
    }
}

/// `Σ_k |a_k - b_k|` over complex coordinates laid out as real parts then imaginary parts.
pub(crate) fn complex_l1(a: &[f32], b: &[f32]) -> f32 {
    let d = a.len() / 2;
    let (are, aim) = a.split_at(d);
    let (bre, bim) = b.split_at(d);
    let (arc, arr) = are.as_chunks::<LANES>();
    let (aic, _) = aim.as_chunks::<LANES>();
    let (brc, _) = bre.as_chunks::<LANES>();
    let (bic, _) = bim.as_chunks::<LANES>();
    let mut acc = [0.0f32; LANES];
    for (((xr, xi), yr), yi) in arc.iter().zip(aic).zip(brc).zip(bic) {
        for l in 0..LANES {
            let (dr, di) = (xr[l] - yr[l], xi[l] - yi[l]);
            acc[l] += (dr * dr + di * di).sqrt();
        }
    }
    let mut tail = 0.0;
    for k in d - arr.len()..d {
        let (dr, di) = (are[k] - bre[k], aim[k] - bim[k]);
        tail += (dr * dr + di * di).sqrt();
    }
    acc.iter().sum::<f32>() + tail
}

fn complex_l1_grad(q: &[f32], c: &[f32], coef: f32, gq: &mut [f32], gc: &mut [f32]) {
    let d = q.len().min(c.len()).min(gq.len()).min(gc.len()) / 2;
    let (qre, qim) = (&q[..d], &q[d..2 * d]);
    let (cre, cim) = (&c[..d], &c[d..2 * d]);
    let (gqre, gqim) = gq.split_at_mut(d);
    let (gcre, gcim) = gc.split_at_mut(d);
    let (gqim, gcim) = (&mut gqim[..d], &mut gcim[..d]);
    for k in 0..d {
        let (dr, di) = (qre[k] - cre[k], qim[k] - cim[k]);
        let m = (dr * dr + di * di).sqrt();
        // A zero modulus has no direction; its subgradient is taken as 0.
        let s = if m > f32::EPSILON { coef / m } else { 0.0 };
        let (xr, xi) = (s * dr, s * di);
        gqre[k] += xr;
        gqim[k] += xi;
        gcre[k] -= xr;
        gcim[k] -= xi;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn t(h: u32, r: u32, tl: u32) -> Triple {
        Triple::new(EntityId(h), RelationId(r), EntityId(tl))
    }

    fn m(rows: usize, cols: usize, data: &[f32]) -> Matrix {
        Matrix::from_vec(rows, cols, data.to_vec()).unwrap()
    }

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() < 1e-5
    }

    #[test]
    fn transe_l1_and_l2_by_hand() {
        // h = (1, 0), r = (0, 1), t = (0, 0): h + r - t = (1, 1).
        let ent = m(2, 2, &[1.0, 0.0, 0.0, 0.0]);
        let rel = m(1, 2, &[0.0, 1.0]);
        for (norm, want) in [(Norm::L1, 2.0), (Norm::L2, 2f32.sqrt())] {
            let model = KgeModel::from_parts(
                ModelKind::TransE { norm },
                2,
                ent.clone(),
                rel.clone(),
                None,
            )
            .unwrap();
            assert!(close(model.distance(t(0, 0, 1)), want));
            assert!(close(model.score(t(0, 0, 1)), -want));
            // Head query: q = t - r = (0, -1); ‖h - q‖ is the same distance.
            let mut q = [0.0; 2];
            model.query(Side::Head, EntityId(1), RelationId(0), &mut q);
            assert_eq!(q, [0.0, -1.0]);
            assert!(close(model.dist(&q, model.entity.row(0)), want));
        }
    }

    #[test]
    fn rotate_by_hand() {
        // dim 1: e0 = 1, e1 = i, e2 = 1 + i; relation phase π/2 rotates 1 onto i.
        let ent = m(3, 2, &[1.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
        let rel = m(1, 1, &[std::f32::consts::FRAC_PI_2]);
        let model = KgeModel::from_parts(ModelKind::RotatE, 1, ent, rel, None).unwrap();
        assert!(close(model.distance(t(0, 0, 1)), 0.0));
        // |i - 1| = √2, |i - (1 + i)| = 1.
        assert!(close(model.distance(t(0, 0, 0)), 2f32.sqrt()));
        assert!(close(model.distance(t(0, 0, 2)), 1.0));
        // The head query t ∘ e^{-iθ} gives the same distances.
        let mut q = [0.0; 2];
        model.query(Side::Head, EntityId(2), RelationId(0), &mut q);
        assert!(close(model.dist(&q, model.entity.row(0)), 1.0));
    }

    #[test]
    fn rotate_sums_moduli_over_coordinates() {
        // dim 2, phases 0: distance is Σ_k |h_k - t_k| = |3 + 4i| + |1| = 6.
        let ent = m(2, 4, &[3.0, 1.0, 4.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        let rel = m(1, 2, &[0.0, 0.0]);
        let model = KgeModel::from_parts(ModelKind::RotatE, 2, ent, rel, None).unwrap();
        assert!(close(model.distance(t(0, 0, 1)), 6.0));
    }

    #[test]
    fn transr_by_hand() {
        // dim 2 → rel_dim 1 with M = [1 2]: M h = 3, M t = 1, r = 0.5: |3 + 0.5 - 1| = 2.5.
        let ent = m(2, 2, &[1.0, 1.0, 1.0, 0.0]);
        let rel = m(1, 1, &[0.5]);
        let proj = m(1, 2, &[1.0, 2.0]);
        let kind = ModelKind::TransR {
            norm: Norm::L1,
            rel_dim: 1,
        };
        let model = KgeModel::from_parts(kind, 2, ent, rel, Some(proj)).unwrap();
        assert!(close(model.distance(t(0, 0, 1)), 2.5));
        assert!(close(model.distance(t(1, 0, 0)), 1.5));
    }

    #[test]
    fn from_parts_rejects_bad_shapes() {
        let kind = ModelKind::TransE { norm: Norm::L1 };
        assert!(
            KgeModel::from_parts(kind, 2, Matrix::zeros(3, 2), Matrix::zeros(1, 3), None).is_none()
        );
        assert!(
            KgeModel::from_parts(
                ModelKind::RotatE,
                2,
                Matrix::zeros(3, 2),
                Matrix::zeros(1, 2),
                None
            )
            .is_none()
        );
        let transr = ModelKind::TransR {
            norm: Norm::L2,
            rel_dim: 1,
        };
        assert!(
            KgeModel::from_parts(transr, 2, Matrix::zeros(3, 2), Matrix::zeros(1, 1), None)
                .is_none()
        );
    }
}
