//! The model's side of the optimiser: one lazy table of the shared core
//! ([`crate::numeric::optim`]) per parameter matrix, the global step and learning-rate scale, the
//! RotatE phase step and the norm constraints after every update.

use super::gradients::{ChunkGrad, SparseGrad};
use super::init::constrain;
use super::params::{KgeParams, Loss, Optimizer, RowConstraint};
use crate::embed::model::{KgeModel, Matrix, ModelKind};
use crate::numeric::optim::{LazyTable, Rule};

/// The optimiser state of a model: one [`LazyTable`] per parameter matrix and the global step.
#[derive(Debug)]
pub(super) struct OptState {
    step: u64,
    /// Every plateau decay divides it by [`LR_DECAY`](super::LR_DECAY).
    pub(super) lr_scale: f32,
    entity: LazyTable,
    relation: LazyTable,
    projection: Option<LazyTable>,
}

impl OptState {
    pub(super) fn new(model: &KgeModel, opt: Optimizer) -> Self {
        let adam = matches!(opt, Optimizer::Adam { .. });
        let table = |m: &Matrix| LazyTable::new(m.rows(), m.cols(), adam);
        Self {
            step: 0,
            lr_scale: 1.0,
            entity: table(&model.entity),
            relation: table(&model.relation),
            projection: model.projection.as_ref().map(table),
        }
    }

    /// The update rule of this step for a learning rate scaled by `lr_scale`: Adagrad (ε 1e-10)
    /// or Adam with the global step's bias corrections folded into the step size (ε 1e-8).
    fn rule(&self, opt: Optimizer, lr_scale: f32) -> Rule {
        match opt {
            Optimizer::Adagrad { lr } => Rule::adagrad(lr * lr_scale, 1e-10),
            Optimizer::Adam { lr, beta1, beta2 } => {
                let t = i32::try_from(self.step).unwrap_or(i32::MAX);
                Rule::adam_folded(lr * lr_scale, beta1, beta2, 1e-8, t)
            }
        }
    }

    /// Sums the chunks' gradients row by row in chunk order (so the sum is the same for any
    /// thread count) and updates every touched row once.
    pub(super) fn apply(&mut self, model: &mut KgeModel, grads: &[ChunkGrad], p: &KgeParams) {
        self.step += 1;
        let (ent_c, rel_c, rel_scale) = match (p.kind, p.loss) {
            (ModelKind::RotatE, Loss::SelfAdversarial { gamma, .. }) => {
                // The RotatE code learns phases as θ·range/π with range = (γ + 2)/d; with an
                // adaptive optimiser that is a phase step π/range times the entity step.
                let range = (gamma + 2.0) / p.dim as f32;
                (
                    RowConstraint::None,
                    RowConstraint::None,
                    std::f32::consts::PI / range,
                )
            }
            (ModelKind::RotatE, _) => (RowConstraint::None, RowConstraint::None, 1.0),
            (ModelKind::TransR { .. }, _) => (p.entity_constraint, RowConstraint::UnitBall, 1.0),
            (ModelKind::TransE { .. }, _) => (p.entity_constraint, RowConstraint::None, 1.0),
        };
        let ent_rule = self.rule(p.optimizer, self.lr_scale);
        let rel_rule = self.rule(p.optimizer, rel_scale * self.lr_scale);
        step_table(
            &mut self.entity,
            &mut model.entity,
            grads,
            |g| &g.entity,
            ent_rule,
            ent_c,
        );
        step_table(
            &mut self.relation,
            &mut model.relation,
            grads,
            |g| &g.relation,
            rel_rule,
            rel_c,
        );
        if let (Some(state), Some(proj)) = (&mut self.projection, &mut model.projection) {
            let none = RowConstraint::None;
            step_table(state, proj, grads, |g| &g.projection, ent_rule, none);
        }
    }
}

/// One step of one parameter matrix: its part of every chunk's gradient, in chunk order, then
/// the update of every touched row and its norm constraint.
fn step_table(
    state: &mut LazyTable,
    params: &mut Matrix,
    grads: &[ChunkGrad],
    part: fn(&ChunkGrad) -> &SparseGrad,
    rule: Rule,
    constraint: RowConstraint,
) {
    for g in grads {
        let g = part(g);
        state.add(&g.rows, &g.data);
    }
    state.step(rule, params.as_mut_slice(), |row| {
        constrain(row, constraint)
    });
}
