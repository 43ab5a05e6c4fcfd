//! The neighbourhood learners (`crate::knn`, maths in `docs/model.md`): `itemknn`, stored as
//! the sparse arrays `neighbours.{ptr,cols,vals}` (row `j`: item `j`'s neighbours) and served as
//! an item-to-item model (so explanations weigh paths by `S[j, i]` and `similar` lists an item's
//! neighbours); `userknn`, stored as the users' neighbour rows, `user_lengths` and
//! `item_weights` (what places a user who arrived after training among the trained ones).

use std::sync::atomic::AtomicBool;

use super::{
    Binding, Knob, Learner, Loaded, ModelKind, ModelSpec, OnePass, Overrides, TrainInput, Trained,
    one_pass, params_json, take,
};
use crate::ease::{ItemToItem, ItemWeights};
use crate::error::{Error, Result};
use crate::knn::{Kernel, KnnParams, Similarity, UserKnn, UserNeighbours};
use crate::store::{ModelHeader, StoreError, StoredModel};

const KNOBS: &[Knob] = &[Knob::Similarity, Knob::Neighbours, Knob::Shrink];

pub(super) const ITEM_KNN: Learner = Learner {
    name: "itemknn",
    aliases: &["item-knn"],
    kind: ModelKind::ItemKnn,
    about: "Item-kNN: a history's score of an item is the sum of its similarities to the \
            history's items, each item keeping its --neighbours most similar (default: bm25, \
            300 neighbours, --shrink 25)",
    knobs: KNOBS,
    recommender: true,
    feedback: super::Feedback::Binary,
    space: super::space::KNN,
    cold_space: super::space::NONE,
    spec: item_spec,
    load: load_items,
};

pub(super) const USER_KNN: Learner = Learner {
    name: "userknn",
    aliases: &["user-knn"],
    kind: ModelKind::UserKnn,
    about: "User-kNN: an item's score is the summed similarity of the user's --neighbours most \
            similar users who have it (default: bm25, 100 neighbours, --shrink 0); no item \
            neighbours, so no `similar`",
    knobs: KNOBS,
    recommender: true,
    feedback: super::Feedback::Binary,
    space: super::space::KNN,
    cold_space: super::space::NONE,
    spec: user_spec,
    load: load_users,
};

fn params(o: &Overrides, defaults: KnnParams) -> Result<KnnParams> {
    let similarity = match o.similarity.as_deref() {
        None => defaults.similarity,
        Some(name) => Similarity::from_name(name).ok_or_else(|| {
            Error::BadInput(format!(
                "--similarity {name}: expected {}",
                Similarity::NAMES.join(", ")
            ))
        })?,
    };
    let p = KnnParams {
        similarity,
        neighbours: o.neighbours.unwrap_or(defaults.neighbours),
        shrink: o.shrink.unwrap_or(defaults.shrink),
        ..defaults
    };
    p.check().map_err(crate::cf::FitError::from)?;
    Ok(p)
}

fn item_spec(o: &Overrides) -> Result<ModelSpec> {
    Ok(ModelSpec::ItemKnn(params(o, KnnParams::item_defaults())?))
}

fn user_spec(o: &Overrides) -> Result<ModelSpec> {
    Ok(ModelSpec::UserKnn(params(o, KnnParams::user_defaults())?))
}

/// Fits `kind` (`ItemKnn` or `UserKnn`) with `p` on `input`.
pub(super) fn fit(
    kind: ModelKind,
    p: &KnnParams,
    input: &TrainInput<'_>,
    seed: u64,
    cancel: &AtomicBool,
) -> Result<Trained> {
    one_pass(kind, seed, input, || {
        Ok(OnePass {
            params: params_json(p)?,
            arrays: fit_arrays(kind, p, input, cancel)?,
            notes: Vec::new(),
        })
    })
}

/// The arrays of `kind` fitted with `p`: the neighbour rows (and, for user-kNN, the lengths
/// and weights that score with them).
fn fit_arrays(
    kind: ModelKind,
    p: &KnnParams,
    input: &TrainInput<'_>,
    cancel: &AtomicBool,
) -> Result<Vec<(String, Vec<f32>)>> {
    Ok(if kind == ModelKind::ItemKnn {
        p.fit_items(input.matrix, cancel)?
            .weights
            .to_arrays("neighbours")
    } else {
        let fitted = p.fit_users(input.matrix, cancel)?;
        let mut arrays = fitted.neighbours.to_arrays("neighbours");
        let lengths = fitted.kernel.lengths.iter().map(|&l| f32::from_bits(l));
        arrays.push(("user_lengths".to_owned(), lengths.collect()));
        arrays.push(("item_weights".to_owned(), fitted.kernel.term_weight_sq));
        arrays
    })
}

fn corrupt(header: &ModelHeader, detail: impl std::fmt::Display) -> Error {
    StoreError::corruption(format!("model v{}", header.version), detail).into()
}

fn neighbours(
    header: &ModelHeader,
    arrays: &mut Vec<(String, Vec<f32>)>,
    n: u64,
) -> Result<ItemWeights> {
    ItemWeights::from_arrays(n as usize, arrays, "neighbours")
        .map_err(|e| corrupt(header, format!("neighbours: {e}")))?
        .ok_or_else(|| corrupt(header, "no neighbours arrays"))
}

fn stored_params(header: &ModelHeader) -> Result<KnnParams> {
    serde_json::from_str(&header.params)
        .map_err(|e| corrupt(header, format!("its hyper-parameters do not read: {e}")))
}

/// Item-kNN's loader, `tfidf`'s too: the `neighbours` rows served as an item-to-item model.
pub(super) fn load_items(stored: StoredModel, binding: &Binding<'_>) -> Result<Loaded> {
    let StoredModel { header, mut arrays } = stored;
    let weights = neighbours(&header, &mut arrays, header.items)?;
    Ok(Loaded::Recommender(Box::new(ItemToItem::neighbourhood(
        weights,
        binding.matrix,
        header.users as usize,
    ))))
}

/// `tfidf`'s loader: stored as item-kNN is, its weights the graph text's cosines, so a score
/// is all `kg` ([`ItemToItem::from_graph`]).
pub(super) fn load_content(stored: StoredModel, binding: &Binding<'_>) -> Result<Loaded> {
    let StoredModel { header, mut arrays } = stored;
    let weights = neighbours(&header, &mut arrays, header.items)?;
    Ok(Loaded::Recommender(Box::new(
        ItemToItem::neighbourhood(weights, binding.matrix, header.users as usize).from_graph(),
    )))
}

fn load_users(stored: StoredModel, binding: &Binding<'_>) -> Result<Loaded> {
    let StoredModel { header, mut arrays } = stored;
    let params = stored_params(&header)?;
    let neighbours = neighbours(&header, &mut arrays, header.users)?;
    let lengths: Vec<u32> = take(&mut arrays, "user_lengths")
        .ok_or_else(|| corrupt(&header, "no user_lengths array"))?
        .iter()
        .map(|v| v.to_bits())
        .collect();
    let weights = take(&mut arrays, "item_weights")
        .ok_or_else(|| corrupt(&header, "no item_weights array"))?;
    if lengths.len() as u64 != header.users || weights.len() as u64 != header.items {
        return Err(corrupt(
            &header,
            "user_lengths or item_weights of the wrong length",
        ));
    }
    let fitted = UserNeighbours {
        kernel: Kernel::from_parts(params, lengths, weights),
        neighbours,
    };
    Ok(Loaded::Recommender(Box::new(UserKnn::new(
        fitted,
        binding.matrix,
        header.items as usize,
    ))))
}
