//! Rating learners: biased MF (`svd`) and SVD++ (`svdpp`), fitted on the stored ratings
//! (explicit targets). Stored as the arrays `users` (`[p_u, μ + b_u]` rows), `items`
//! (`[q_i, 1]`), `item_bias` and `rating` (`[μ, scale min, scale max]`); they rank by the
//! predicted rating and answer `predict`. With a graph and links (and `--kg-weight` > 0) linked
//! items are pulled towards their nearest rated items in the graph (`crate::fused::nearest`,
//! the machinery of `cke`'s nearest-items prior) and unrated linked items are placed there;
//! the array `item_basis` says per item which (0 rated, 1 placed from the graph, 2 unrated).

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use super::{
    Binding, Feedback, Knob, Learner, Loaded, ModelKind, ModelSpec, Overrides, TrainInput, Trained,
    apply, params_json, take, trained_header,
};
use crate::cf::{
    EpochReport, FactorModel, FactorParts, FitError, ItemBasis, RatingModel, SvdParams,
};
use crate::error::Result;
use crate::fused::ItemGraph;
use crate::interactions::RatingScale;
use crate::store::{StoreError, StoredModel};

const KNOBS: &[Knob] = &[
    Knob::Dim,
    Knob::Epochs,
    Knob::Lr,
    Knob::Reg,
    Knob::KgWeight,
    Knob::Neighbours,
];

pub(super) const SVD: Learner = Learner {
    name: "svd",
    aliases: &["biased-mf"],
    kind: ModelKind::Svd,
    about: "Biased MF on the ratings, r = mu + b_u + b_i + p_u.q_i by SGD (default: 50 factors, \
            40 epochs, lr 0.01, reg 0.1); with a graph and links, linked items' q_i and b_i are \
            pulled towards their nearest rated items in the graph (--kg-weight 3, 0 off; \
            --neighbours 10) and unrated linked items placed there; predicts ratings, ranks by them",
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
            epochs, lr 0.007, reg 0.1; graph prior as svd's, --kg-weight 10, 0 off); predicts \
            ratings, ranks by them",
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
    p = apply(p, o.kg_weight, SvdParams::kg_weight);
    p = apply(p, o.neighbours, SvdParams::neighbours);
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
    let rated = input.matrix.rated();
    // A handful of ratings among many rows: a tiny catalogue all rated is fitted (its notes
    // say it is tiny).
    if (1..MIN_RATED).contains(&rated) && rated * 2 < input.matrix.nnz() {
        return Err(FitError::TooFewRatings {
            rated,
            interactions: input.matrix.nnz(),
            needed: MIN_RATED,
        }
        .into());
    }
    let Some((scale, declared)) = input.snapshot.rating_scale() else {
        if let Some(value) = input.snapshot.single_rating() {
            return Err(FitError::OneRating { value }.into());
        }
        return Err(FitError::NoRatings.into());
    };
    let graph = match p.graph_weight() > 0.0 {
        true => input.item_graph(),
        false => ItemGraph::default(),
    };
    let mut last = None;
    let model = p.fit(
        input.matrix,
        &graph,
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
    if p.graph_weight() > 0.0 && (graph.n_linked() == 0 || graph.triples().is_empty()) {
        notes.push(format!(
            "{}; {} trains without its graph prior",
            super::cke::graph_absence(
                input.snapshot.links.iter().flatten().count(),
                graph.triples().is_empty(),
                input.caller
            ),
            kind.name()
        ));
    }
    let placed = model
        .item_basis
        .iter()
        .filter(|b| **b == ItemBasis::Graph)
        .count();
    if placed > 0 {
        notes.push(format!(
            "{placed} linked item(s) without ratings are placed at their nearest rated items in \
             the graph (predictions for them are flagged graph_neighbours)"
        ));
    }
    let unrated = input.matrix.nnz() - input.matrix.rated();
    if unrated > 0 {
        // Most rows unrated: the model's lists rest on a small part of the data, a warning
        // that stays under --quiet.
        let few = (input.matrix.rated() as f64) < FEW_RATED_SHARE * input.matrix.nnz() as f64;
        notes.push(format!(
            "{}{unrated} interaction(s) without a rating: {} learns from the {} rated ones{}",
            match few {
                true => "warning: ",
                false => "",
            },
            kind.name(),
            input.matrix.rated(),
            match few {
                true => format!(
                    " ({:.1}% of the interactions; a model of likes learns from all of them: \
                     als, cke, ease, ...)",
                    100.0 * input.matrix.rated() as f64 / input.matrix.nnz().max(1) as f64
                ),
                false => String::new(),
            }
        ));
    }
    Ok(Trained {
        header,
        arrays: vec![
            ("users".to_owned(), parts.users),
            ("items".to_owned(), parts.items),
            ("item_bias".to_owned(), parts.item_bias.unwrap_or_default()),
            (
                "item_basis".to_owned(),
                model.item_basis.iter().map(|b| b.code()).collect(),
            ),
            (
                "rating".to_owned(),
                vec![model.mean, scale.min(), scale.max()],
            ),
        ],
        notes,
    })
}

/// The fewest rated interactions a rating learner fits on when most rows are unrated: fewer
/// give no scale, mean or item offsets worth serving (three ratings among 1,255 rows inferred
/// a scale of 7:10 and tied every list).
const MIN_RATED: usize = 20;

/// Below this share of rated interactions the note that the learner ignores the rest is a
/// warning.
const FEW_RATED_SHARE: f64 = 0.1;

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
    // Models stored before it was kept have none: every item counts as rated.
    let item_basis = match take(&mut arrays, "item_basis") {
        None => Vec::new(),
        Some(codes) => codes
            .iter()
            .map(|&c| ItemBasis::from_code(c))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad("an item basis code is not 0, 1 or 2"))?,
    };
    let model = FactorModel::from_parts(parts).map_err(|e| bad(&e.to_string()))?;
    if model.users.nrows() as u64 != header.users || model.items.nrows() as u64 != header.items {
        return Err(bad("factor rows do not match the header's counts").into());
    }
    if !item_basis.is_empty() && item_basis.len() != model.items.nrows() {
        return Err(bad("the item basis does not match the item rows").into());
    }
    Ok(Loaded::Recommender(Box::new(RatingModel {
        model,
        mean,
        scale,
        train_rmse: header.final_loss.unwrap_or(f64::NAN),
        item_basis,
    })))
}
