//! The starting model and the row norm constraints kept after every update.

use rand_chacha::ChaCha8Rng;

use super::params::{KgeParams, Loss, RowConstraint};
use crate::embed::model::{KgeModel, Matrix, ModelKind};

/// The starting model: uniform rows (RotatE phases in ±π), TransR projections at the identity,
/// every row within its norm constraint.
pub(super) fn init_model(p: &KgeParams, ne: usize, nr: usize, rng: &mut ChaCha8Rng) -> KgeModel {
    let d = p.dim;
    // Self-adversarial training follows the RotatE code's range (γ + 2) / d; margin training
    // follows Bordes' 6 / √d.
    let bound = match p.loss {
        Loss::SelfAdversarial { gamma, .. } => (gamma + 2.0) / d as f32,
        Loss::MarginRanking { .. } => 6.0 / (d as f32).sqrt(),
    };
    let (entity, relation, projection) = match p.kind {
        ModelKind::TransE { .. } => {
            let mut rel = Matrix::uniform(nr, d, bound, rng);
            if let Loss::MarginRanking { .. } = p.loss {
                for r in 0..nr {
                    constrain(rel.row_mut(r), RowConstraint::UnitSphere);
                }
            }
            (Matrix::uniform(ne, d, bound, rng), rel, None)
        }
        ModelKind::RotatE => (
            Matrix::uniform(ne, 2 * d, bound, rng),
            Matrix::uniform(nr, d, std::f32::consts::PI, rng),
            None,
        ),
        ModelKind::TransR { rel_dim, .. } => {
            let mut rel = Matrix::uniform(nr, rel_dim, bound, rng);
            for r in 0..nr {
                constrain(rel.row_mut(r), RowConstraint::UnitBall);
            }
            // Lin et al. start from the identity (their TransE-initialised runs keep it).
            let mut proj = Matrix::zeros(nr, rel_dim * d);
            for r in 0..nr {
                let row = proj.row_mut(r);
                for i in 0..rel_dim.min(d) {
                    row[i * d + i] = 1.0;
                }
            }
            (Matrix::uniform(ne, d, bound, rng), rel, Some(proj))
        }
    };
    let mut model = KgeModel {
        kind: p.kind,
        dim: d,
        entity,
        relation,
        projection,
    };
    if p.kind != ModelKind::RotatE {
        for e in 0..ne {
            constrain(model.entity.row_mut(e), p.entity_constraint);
        }
    }
    model
}

/// Re-imposes `c` on one row.
pub(super) fn constrain(x: &mut [f32], c: RowConstraint) {
    let n = x.iter().map(|v| v * v).sum::<f32>().sqrt();
    let rescale = match c {
        RowConstraint::None => false,
        RowConstraint::UnitBall => n > 1.0,
        RowConstraint::UnitSphere => n > 0.0,
    };
    if rescale {
        x.iter_mut().for_each(|v| *v /= n);
    }
}
