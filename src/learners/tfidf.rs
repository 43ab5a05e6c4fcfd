//! The content-only learner `tfidf` (`crate::content`, maths in `docs/model.md`): TF-IDF
//! vectors of the items' text in the graph (their own literals and their neighbours' labels),
//! each item keeping its most similar items by cosine. A user's profile is the mean of their
//! history's unit vectors, and an item's score the cosine between the two; over a sparse
//! top-`K` similarity this ranks as `Σ_{j ∈ history} cos(j, i)`, which is how it is stored and
//! served: the sparse arrays `neighbours.{ptr,cols,vals}` of an item-to-item model
//! ([`crate::ease::ItemToItem`]), so `recommend`, `eval`, `similar` and `explain` (graph paths
//! weighed by `S[j, i]`) work as for `itemknn`. An item without interactions but with text has
//! neighbours all the same: the content model places new items.

use std::sync::atomic::AtomicBool;

use super::{
    Feedback, Knob, Learner, ModelKind, ModelSpec, OnePass, Overrides, TrainInput, Trained,
    one_pass, params_json,
};
use crate::content::{TfidfParams, TfidfVectors, documents};
use crate::error::{Error, Result};

pub(super) const TFIDF: Learner = Learner {
    name: "tfidf",
    aliases: &["content"],
    kind: ModelKind::Tfidf,
    about: "Content only: TF-IDF (sublinear tf, stop words of each literal's language) over \
            each linked item's text literals and its graph neighbours' labels; a user's score \
            of an item is the sum of its cosines with the user's items (up to the history's \
            length; ranked as the cosine with the mean of their items' vectors), each item \
            keeping its --neighbours most similar (default 100); items without interactions \
            are recommended from their text",
    knobs: &[Knob::Neighbours],
    recommender: true,
    feedback: Feedback::Binary,
    space: super::space::TFIDF,
    cold_space: super::space::NONE,
    spec,
    // Stored and served as item-kNN is: sparse neighbour rows of an item-to-item model, whose
    // score parts are all `kg` (the rows are the graph text's cosines).
    load: super::knn::load_content,
};

fn spec(o: &Overrides) -> Result<ModelSpec> {
    let defaults = TfidfParams::default();
    let p = TfidfParams {
        neighbours: o.neighbours.unwrap_or(defaults.neighbours),
        ..defaults
    };
    p.check().map_err(crate::cf::FitError::from)?;
    Ok(ModelSpec::Tfidf(p))
}

pub(super) fn fit(
    p: &TfidfParams,
    input: &TrainInput<'_>,
    seed: u64,
    cancel: &AtomicBool,
) -> Result<Trained> {
    one_pass(ModelKind::Tfidf, seed, input, || {
        fit_vectors(p, input, cancel)
    })
}

fn fit_vectors(p: &TfidfParams, input: &TrainInput<'_>, cancel: &AtomicBool) -> Result<OnePass> {
    p.check().map_err(crate::cf::FitError::from)?;
    let n = input.matrix.n_items();
    let graph = input.item_graph();
    let docs = documents(
        &graph,
        n,
        &input.graph.item_texts,
        &input.graph.labels,
        p.neighbour_labels,
    );
    if docs.iter().all(Vec::is_empty) {
        return Err(Error::BadInput(format!(
            "tfidf needs text: labels, abstracts or other string literals on the items' \
             entities (or labels on their neighbours), and no item has any, so it would \
             recommend nothing (nothing was trained). Check with `kgrec \
             sparql 'SELECT ?s ?p ?o WHERE {{ ?s ?p ?o FILTER(isLiteral(?o)) }} LIMIT 5'`, then \
             {}",
            super::ease::graph_remedies("a graph with labels or abstracts", input.caller)
        )));
    }
    let vectors = TfidfVectors::new(&docs, p.min_df);
    let weights = vectors.neighbours(p.neighbours, cancel)?;
    let mut notes = vec![format!(
        "tfidf: {} of {n} items have text ({} terms held by {} or more items); an item without \
         text is never recommended by it",
        vectors.with_terms(),
        vectors.n_terms(),
        p.min_df
    )];
    if vectors.with_terms() == 0 {
        notes.push(format!(
            "no item has text in the graph: tfidf recommends nothing ({})",
            super::ease::graph_remedies("a graph with labels or abstracts", input.caller)
        ));
    }
    Ok(OnePass {
        params: params_json(p)?,
        arrays: weights.to_arrays("neighbours"),
        notes,
    })
}
