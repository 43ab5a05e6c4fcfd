//! Item popularity (`pop`): score = the item's training positives. Stored as the array `counts`.

use super::{
    Binding, Feedback, Learner, Loaded, ModelKind, ModelSpec, OnePass, Overrides, TrainInput,
    Trained, one_pass, take,
};
use crate::cf::Popularity;
use crate::error::Result;
use crate::store::{StoreError, StoredModel};

pub(super) const LEARNER: Learner = Learner {
    name: "pop",
    aliases: &["popularity"],
    kind: ModelKind::Popularity,
    about: "Item popularity",
    knobs: &[],
    recommender: true,
    feedback: Feedback::Binary,
    space: super::space::NONE,
    cold_space: super::space::NONE,
    spec,
    load,
};

fn spec(_: &Overrides) -> Result<ModelSpec> {
    Ok(ModelSpec::Pop)
}

pub(super) fn fit(input: &TrainInput<'_>, seed: u64) -> Result<Trained> {
    one_pass(ModelKind::Popularity, seed, input, || {
        let model = Popularity::fit(input.matrix);
        Ok(OnePass {
            params: "{}".to_owned(),
            arrays: vec![("counts".to_owned(), model.counts().to_vec())],
            notes: Vec::new(),
        })
    })
}

fn load(stored: StoredModel, _: &Binding<'_>) -> Result<Loaded> {
    let StoredModel { header, mut arrays } = stored;
    let counts = take(&mut arrays, "counts").ok_or_else(|| {
        StoreError::corruption(format!("model v{}", header.version), "no counts array")
    })?;
    Ok(Loaded::Recommender(Box::new(Popularity::from_counts(
        header.users as usize,
        counts,
    ))))
}
