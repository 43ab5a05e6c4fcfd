//! Dot-product learners: implicit ALS (`als`, which folds new users in) and BPR-MF (`bpr`).
//! Stored as the arrays `users`, `items` and (BPR) `item_bias`.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use super::{
    Binding, Feedback, Knob, Learner, Loaded, ModelKind, ModelSpec, Overrides, TrainInput, Trained,
    apply, params_json, take, trained_header,
};
use crate::cf::{
    Als, AlsParams, Basis, Bpr, BprParams, EpochReport, FactorModel, FactorParts, FactorView,
    FoldIn, Recommender, UserRow,
};
use crate::error::Result;
use crate::ids::{ItemId, UserId};
use crate::store::{ModelHeader, StoreError, StoredModel};

pub(super) const ALS: Learner = Learner {
    name: "als",
    aliases: &[],
    kind: ModelKind::Als,
    about: "Implicit ALS (default: 16 factors, 15 iterations, reg 30, alpha 4, confidence from \
            the ratings); folds in users who arrive after training",
    knobs: &[
        Knob::Dim,
        Knob::Epochs,
        Knob::Reg,
        Knob::Alpha,
        Knob::Confidence,
    ],
    recommender: true,
    feedback: Feedback::Confidence,
    space: super::space::ALS,
    cold_space: super::space::NONE,
    spec: als_spec,
    load: load_als,
};

pub(super) const BPR: Learner = Learner {
    name: "bpr",
    aliases: &[],
    kind: ModelKind::Bpr,
    about: "BPR-MF (default: 64 factors, 300 epochs, lr 0.02, reg 0.02; 8 shards whatever the thread count, so the same --seed gives the same model on any machine)",
    knobs: &[Knob::Dim, Knob::Epochs, Knob::Reg, Knob::Lr],
    recommender: true,
    feedback: Feedback::Binary,
    space: super::space::BPR,
    cold_space: super::space::NONE,
    spec: bpr_spec,
    load: load_bpr,
};

fn als_spec(o: &Overrides) -> Result<ModelSpec> {
    let mut p = Als::params();
    p = apply(p, o.dim, AlsParams::factors);
    p = apply(p, o.epochs, AlsParams::iterations);
    p = apply(p, o.reg, AlsParams::regularization);
    p = apply(p, o.alpha, AlsParams::alpha);
    p = apply(p, super::confidence(o)?, AlsParams::confidence);
    // Refused when asked for (an HTTP rebuild answers 400), not when the fit starts.
    p.check().map_err(crate::cf::FitError::from)?;
    Ok(ModelSpec::Als(p))
}

fn bpr_spec(o: &Overrides) -> Result<ModelSpec> {
    let mut p = Bpr::params();
    p = apply(p, o.dim, BprParams::factors);
    p = apply(p, o.epochs, BprParams::iterations);
    p = apply(p, o.reg, BprParams::regularization);
    p = apply(p, o.lr, BprParams::learning_rate);
    p.check().map_err(crate::cf::FitError::from)?;
    Ok(ModelSpec::Bpr(p))
}

/// Fits a dot-product model with `fit` (which reports epochs to the hook it is given and
/// returns the model and its parameters as JSON) and stores it as `users`, `items` and, when
/// the model has one, `item_bias`.
fn fit_factors(
    kind: ModelKind,
    input: &TrainInput<'_>,
    seed: u64,
    progress: &mut dyn FnMut(&EpochReport),
    fit: impl FnOnce(&mut dyn FnMut(&EpochReport)) -> Result<(FactorModel, String)>,
) -> Result<Trained> {
    let start = Instant::now();
    let mut last = None;
    let (model, params) = fit(&mut |r: &EpochReport| {
        last = Some(*r);
        progress(r);
    })?;
    let dim = model.items.ncols();
    let header = trained_header(kind, params, seed, input, last, start, dim);
    let parts = model.to_parts();
    let mut arrays = vec![
        ("users".to_owned(), parts.users),
        ("items".to_owned(), parts.items),
    ];
    if let Some(bias) = parts.item_bias {
        arrays.push(("item_bias".to_owned(), bias));
    }
    Ok(Trained {
        header,
        arrays,
        notes: Vec::new(),
    })
}

pub(super) fn fit_als(
    p: &AlsParams,
    input: &TrainInput<'_>,
    seed: u64,
    progress: &mut dyn FnMut(&EpochReport),
    cancel: &AtomicBool,
) -> Result<Trained> {
    let (weighting, matrix) = super::weigh(p.weighing().value, input);
    let p = p.clone().weighting(weighting);
    fit_factors(ModelKind::Als, input, seed, progress, |hook| {
        let fitted = p.fit_cancellable(&matrix, seed, hook, cancel)?;
        Ok((fitted.model, params_json(&fitted.params)?))
    })
}

pub(super) fn fit_bpr(
    p: &BprParams,
    input: &TrainInput<'_>,
    seed: u64,
    progress: &mut dyn FnMut(&EpochReport),
    cancel: &AtomicBool,
) -> Result<Trained> {
    fit_factors(ModelKind::Bpr, input, seed, progress, |hook| {
        let fitted = p.fit_cancellable(input.matrix, seed, hook, cancel)?;
        Ok((fitted.model, params_json(&fitted.params)?))
    })
}

/// The factor model of a stored ALS or BPR version.
pub(super) fn decode(
    header: &ModelHeader,
    mut arrays: Vec<(String, Vec<f32>)>,
) -> Result<FactorModel> {
    let bad = |detail: &str| StoreError::corruption(format!("model v{}", header.version), detail);
    let parts = FactorParts {
        dim: header.dim as usize,
        users: take(&mut arrays, "users").ok_or_else(|| bad("no user factors"))?,
        items: take(&mut arrays, "items").ok_or_else(|| bad("no item factors"))?,
        item_bias: take(&mut arrays, "item_bias"),
    };
    let model = FactorModel::from_parts(parts).map_err(|e| bad(&e.to_string()))?;
    if model.users.nrows() as u64 != header.users || model.items.nrows() as u64 != header.items {
        return Err(bad("factor rows do not match the header's counts").into());
    }
    Ok(model)
}

fn load_bpr(stored: StoredModel, _: &Binding<'_>) -> Result<Loaded> {
    let model = decode(&stored.header, stored.arrays)?;
    Ok(Loaded::Recommender(Box::new(model)))
}

fn load_als(stored: StoredModel, _: &Binding<'_>) -> Result<Loaded> {
    let params: AlsParams = serde_json::from_str(&stored.header.params).map_err(|e| {
        StoreError::corruption(format!("model v{} parameters", stored.header.version), e)
    })?;
    let model = decode(&stored.header, stored.arrays)?;
    let fold = FoldIn::new(&params, &model.items);
    Ok(Loaded::Recommender(Box::new(ServedAls { model, fold })))
}

/// An ALS model as served: scores as the factor model, and folds in users who arrived after
/// training (the user half-step against the item factors, [`FoldIn`]).
#[derive(Debug)]
struct ServedAls {
    model: FactorModel,
    fold: FoldIn,
}

impl Recommender for ServedAls {
    fn n_users(&self) -> usize {
        self.model.n_users()
    }

    fn n_items(&self) -> usize {
        self.model.n_items()
    }

    fn score_items(&self, user: UserId, out: &mut [f32]) {
        self.model.score_items(user, out);
    }

    fn score_user(&self, user: UserRow<'_>, out: &mut [f32]) -> Basis {
        self.fold.score(
            self.n_users(),
            user,
            out,
            |u, o| self.model.score_items(u, o),
            |x, o| self.model.score_vector(x, o),
        )
    }

    fn factors(&self) -> Option<FactorView<'_>> {
        self.model.factors()
    }

    fn score_parts(&self, user: UserId, item: ItemId) -> crate::cf::ScoreParts {
        self.model.score_parts(user, item)
    }
}
