//! Rating learners: biased MF (`svd`) and SVD++ (`svdpp`), fitted on the stored ratings
//! (explicit targets). Stored as the arrays `users` (`[p_u, μ + b_u]` rows), `items`
//! (`[q_i, 1]`), `item_bias` and `rating` (`[μ, scale min, scale max]`); they rank by the
//! predicted rating and answer `predict`.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use super::{
    Binding, Feedback, Knob, Learner, Loaded, ModelKind, ModelSpec, Overrides, TrainInput, Trained,
    apply, params_json, take, trained_header,
};
use crate::cf::{EpochReport, FactorModel, FactorParts, FitError, RatingModel, SvdParams};
use crate::error::Result;
use crate::interactions::RatingScale;
use crate::store::{StoreError, StoredModel};

const KNOBS: &[Knob] = &[Knob::Dim, Knob::Epochs, Knob::Lr, Knob::Reg];

pub(super) const SVD: Learner = Learner {
    name: "svd",
    aliases: &["biased-mf"],
    kind: ModelKind::Svd,
    about: "Biased MF on the ratings, r = mu + b_u + b_i + p_u.q_i by SGD (default: 50 factors, \
            40 epochs, lr 0.01, reg 0.1); predicts ratings, ranks by them",
    knobs: KNOBS,
    recommender: true,
    feedback: Feedback::Explicit,
    space: super::space::RATING,
    cold_space: super::space::NONE,
    spec: svd_spec,
    load,
};

pub(super) const SVDPP: Learner = Learner {
    name: "svdpp",
    aliases: &["svd++"],
    kind: ModelKind::SvdPp,
    about: "SVD++ on the ratings (svd plus the items a user rated; default: 20 factors, 20 \
            epochs, lr 0.007, reg 0.1); predicts ratings, ranks by them",
    knobs: KNOBS,
    recommender: true,
    feedback: Feedback::Explicit,
    space: super::space::RATING,
    cold_space: super::space::NONE,
    spec: svdpp_spec,
    load,
};

fn with_knobs(mut p: SvdParams, o: &Overrides) -> Result<SvdParams> {
    p = apply(p, o.dim, SvdParams::factors);
    p = apply(p, o.epochs, SvdParams::epochs);
    p = apply(p, o.lr, SvdParams::learning_rate);
    p = apply(p, o.reg, SvdParams::regularization);
    if let Some(reg) = o.reg {
        p = p.bias_regularization(reg);
    }
    p.check().map_err(FitError::from)?;
    Ok(p)
}

fn svd_spec(o: &Overrides) -> Result<ModelSpec> {
    Ok(ModelSpec::Svd(with_knobs(SvdParams::svd(), o)?))
}

fn svdpp_spec(o: &Overrides) -> Result<ModelSpec> {
    Ok(ModelSpec::Svdpp(with_knobs(SvdParams::svdpp(), o)?))
}

pub(super) fn fit(
    p: &SvdParams,
    input: &TrainInput<'_>,
    seed: u64,
    progress: &mut dyn FnMut(&EpochReport),
    cancel: &AtomicBool,
) -> Result<Trained> {
    let start = Instant::now();
    let kind = match p.is_implicit() {
        true => ModelKind::SvdPp,
        false => ModelKind::Svd,
    };
    let Some((scale, declared)) = input.snapshot.rating_scale() else {
        if let Some(value) = input.snapshot.single_rating() {
            return Err(FitError::OneRating { value }.into());
        }
        return Err(FitError::NoRatings.into());
    };
    let mut last = None;
    let model = p.fit(
        input.matrix,
        scale,
        seed,
        |r: &EpochReport| {
            last = Some(*r);
            progress(r);
        },
        cancel,
    )?;
    let header = trained_header(kind, params_json(p)?, seed, input, last, start, p.dim());
    let parts = model.model.to_parts();
    let mut notes = Vec::new();
    if !declared {
        notes.push(format!(
            "predictions are clipped to the rating scale {scale}, inferred from the stored \
             ratings (declare it with --rating-scale MIN:MAX on `import interactions` or `eval`)"
        ));
    }
    let unrated = input.matrix.nnz() - input.matrix.rated();
    if unrated > 0 {
        notes.push(format!(
            "{unrated} interaction(s) without a rating: {} learns from the {} rated ones",
            kind.name(),
            input.matrix.rated()
        ));
    }
    Ok(Trained {
        header,
        arrays: vec![
            ("users".to_owned(), parts.users),
            ("items".to_owned(), parts.items),
            ("item_bias".to_owned(), parts.item_bias.unwrap_or_default()),
            (
                "rating".to_owned(),
                vec![model.mean, scale.min(), scale.max()],
            ),
        ],
        notes,
    })
}

fn load(stored: StoredModel, _: &Binding<'_>) -> Result<Loaded> {
    let header = &stored.header;
    let bad = |detail: &str| StoreError::corruption(format!("model v{}", header.version), detail);
    let mut arrays = stored.arrays;
    let rating = take(&mut arrays, "rating").ok_or_else(|| bad("no rating scale"))?;
    let [mean, lo, hi] = rating[..] else {
        return Err(bad("the rating array is not [mean, min, max]").into());
    };
    let scale = RatingScale::new(lo, hi).ok_or_else(|| bad("bad rating scale"))?;
    let parts = FactorParts {
        dim: header.dim as usize + 1,
        users: take(&mut arrays, "users").ok_or_else(|| bad("no user factors"))?,
        items: take(&mut arrays, "items").ok_or_else(|| bad("no item factors"))?,
        item_bias: take(&mut arrays, "item_bias"),
    };
    let model = FactorModel::from_parts(parts).map_err(|e| bad(&e.to_string()))?;
    if model.users.nrows() as u64 != header.users || model.items.nrows() as u64 != header.items {
        return Err(bad("factor rows do not match the header's counts").into());
    }
    Ok(Loaded::Recommender(Box::new(RatingModel {
        model,
        mean,
        scale,
        train_rmse: header.final_loss.unwrap_or(f64::NAN),
    })))
}
