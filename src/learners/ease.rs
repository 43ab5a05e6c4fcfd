//! The item-to-item learners in closed form (`crate::ease`, maths in `docs/model.md`): `ease`
//! (EASE on the interactions) and `kg-ease` (with the graph's item facts stacked under them).
//! Stored as the array `weights` (`B`, row-major) and, for `kg-ease`, `interaction_weights`
//! (plain EASE at the same `λ`, which splits a score into its interaction and graph parts).
//! Served from each user's current items: users who arrived after training are scored the same
//! way, and so is every interaction added since.

use crate::interactions::Caller;
use std::sync::atomic::AtomicBool;

use super::{
    Binding, Feedback, Knob, Learner, Loaded, ModelKind, ModelSpec, OnePass, Overrides, TrainInput,
    Trained, one_pass, params_json,
};
use crate::ease::{EaseParams, ItemToItem, ItemWeights, KgEaseParams, Placement, Regularization};
use crate::error::{Error, Result};
use crate::store::{ModelHeader, StoreError, StoredModel};

pub(super) const EASE: Learner = Learner {
    name: "ease",
    aliases: &[],
    kind: ModelKind::Ease,
    about: "EASE, the closed-form item-to-item model (default: λ = 55 × √(mean interactions of \
            an item); --reg sets λ, --reg-scale the multiple); scores any user from their items",
    knobs: &[Knob::Reg, Knob::RegScale, Knob::Neighbours],
    recommender: true,
    feedback: Feedback::Binary,
    space: super::space::EASE,
    cold_space: super::space::NONE,
    spec: ease_spec,
    load,
};

pub(super) const KG_EASE: Learner = Learner {
    name: "kg-ease",
    aliases: &["kgease"],
    kind: ModelKind::KgEase,
    about: "EASE with the graph: each linked item's facts (relation, neighbour) shared by two or \
            more items stacked under the interactions as rows weighing α × idf^p (α chosen on \
            validation rows unless --kg-weight; p = --idf-power 0.5); items nobody has \
            interacted with placed from their nearest items as validation rows choose \
            (--cold-placement); the words of each item's own text literals stacked too, at \
            --text-weight 0.5 of a fact's weight",
    knobs: &[
        Knob::Reg,
        Knob::RegScale,
        Knob::KgWeight,
        Knob::IdfPower,
        Knob::ColdPlacement,
        Knob::Neighbours,
        Knob::TwoHop,
        Knob::RelationBalance,
        Knob::GraphPrior,
        Knob::TextWeight,
    ],
    recommender: true,
    feedback: Feedback::Binary,
    space: super::space::KG_EASE,
    cold_space: super::space::NONE,
    spec: kg_ease_spec,
    load,
};

fn regularization(o: &Overrides) -> Result<Regularization> {
    match (o.reg, o.reg_scale) {
        (Some(_), Some(_)) => Err(Error::BadInput(
            "--reg sets λ and --reg-scale sets it relative to the data: give one".to_owned(),
        )),
        (Some(l), None) => Ok(Regularization::Absolute(l)),
        (None, Some(s)) => Ok(Regularization::Scaled(s)),
        (None, None) => Ok(Regularization::default()),
    }
}

fn ease_spec(o: &Overrides) -> Result<ModelSpec> {
    let p = EaseParams {
        regularization: regularization(o)?,
        neighbours: o.neighbours,
    };
    p.check().map_err(crate::cf::FitError::from)?;
    Ok(ModelSpec::Ease(p))
}

fn kg_ease_spec(o: &Overrides) -> Result<ModelSpec> {
    let defaults = KgEaseParams::default();
    let p = KgEaseParams {
        regularization: regularization(o)?,
        graph_weight: o.kg_weight.unwrap_or(defaults.graph_weight),
        idf_power: o.idf_power.unwrap_or(defaults.idf_power),
        // Without --kg-weight, the fit chooses α on validation rows; without --cold-placement
        // (or with auto) it chooses the cold-item rule too.
        choose_weight: o.kg_weight.is_none(),
        placement: match o.cold_placement.as_deref() {
            None | Some("auto") => defaults.placement,
            Some(name) => Placement::from_name(name).ok_or_else(|| {
                Error::BadInput(format!(
                    "--cold-placement {name}: expected off, mean, halfway, restored or auto"
                ))
            })?,
        },
        choose_placement: matches!(o.cold_placement.as_deref(), None | Some("auto")),
        neighbours: o.neighbours,
        two_hop_weight: o.two_hop.unwrap_or(defaults.two_hop_weight),
        relation_balance: o.relation_balance.unwrap_or(defaults.relation_balance),
        graph_prior: o.graph_prior.unwrap_or(defaults.graph_prior),
        text_weight: o.text_weight.unwrap_or(defaults.text_weight),
        ..defaults
    };
    p.check().map_err(crate::cf::FitError::from)?;
    Ok(ModelSpec::KgEase(p))
}

pub(super) fn fit_ease(
    p: &EaseParams,
    input: &TrainInput<'_>,
    seed: u64,
    cancel: &AtomicBool,
) -> Result<Trained> {
    one_pass(ModelKind::Ease, seed, input, || {
        let fitted = p.fit(input.matrix, cancel)?;
        Ok(OnePass {
            params: params_json(p)?,
            arrays: fitted.weights.to_arrays("weights"),
            notes: sparse_note(&fitted.weights, p.neighbours)
                .into_iter()
                .collect(),
        })
    })
}

/// What `train` says of a sparse `B`: how it was fitted and how much it keeps.
fn sparse_note(weights: &ItemWeights, neighbours: Option<usize>) -> Option<String> {
    let n = weights.n_items();
    match crate::ease::Solver::for_items(neighbours, n) {
        crate::ease::Solver::Sparse(m) if weights.is_sparse() => Some(format!(
            "B is the sparse approximation{}: each of the {n} items regressed on its {m} most              similar items at most ({} weights kept, against {} for the exact form)",
            match neighbours {
                Some(_) => " (--neighbours)",
                None => ", the form for catalogues of more than 10,000 items",
            },
            weights.stored_weights(),
            n * n
        )),
        _ => None,
    }
}

/// How to give kg-ease and tfidf a graph (`graph`: what of one) and links, in `caller`'s
/// commands.
pub(super) fn graph_remedies(graph: &str, caller: Caller) -> String {
    match caller {
        Caller::Import => {
            format!("import {graph} with `import kg` and links with `import interactions --link`")
        }
        Caller::Eval => format!(
            "import {graph} with {} and links with {}",
            caller.graph_remedy(),
            caller.links_remedy()
        ),
    }
}

pub(super) fn fit_kg_ease(
    p: &KgEaseParams,
    input: &TrainInput<'_>,
    seed: u64,
    cancel: &AtomicBool,
) -> Result<Trained> {
    one_pass(ModelKind::KgEase, seed, input, || {
        fit_kg_ease_arrays(p, input, seed, cancel)
    })
}

fn fit_kg_ease_arrays(
    p: &KgEaseParams,
    input: &TrainInput<'_>,
    seed: u64,
    cancel: &AtomicBool,
) -> Result<OnePass> {
    let graph = input.item_graph();
    let mut notes = Vec::new();
    let mut p = *p;
    let mut unchosen = false;
    if p.choose_weight || p.choose_placement {
        match crate::ease::choose_graph_weight(&p, input.matrix, &graph, seed, cancel)? {
            Some(choice) => {
                p.graph_weight = choice.weight;
                p.placement = choice.placement;
                notes.push(choice.note());
            }
            None => unchosen = true,
        }
    }
    let fitted = p.fit(input.matrix, &graph, true, cancel)?;
    // No choice without graph features (the note below says so) or with too few users.
    if unchosen && fitted.features > 0 {
        notes.push(format!(
            "kg-ease kept graph weight α = {} and cold-item placement {}: fewer than {} users \
             have the {} items or more that validation rows are carved from, too few to choose \
             on",
            p.graph_weight,
            p.placement.name(),
            crate::ease::MIN_VALIDATION_USERS,
            crate::ease::MIN_USER_ITEMS
        ));
    }
    if p.two_hop_weight > 0.0 {
        notes.push(format!(
            "kg-ease stacked {} graph feature rows, {} of them two-hop paths (weight β = {})",
            fitted.features, fitted.two_hop_features, p.two_hop_weight
        ));
    }
    if p.text_weight > 0.0 {
        notes.push(format!(
            "kg-ease stacked {} rows of words of the items' text (weight τ = {})",
            fitted.term_features, p.text_weight
        ));
    }
    if fitted.placed > 0 {
        notes.push(format!(
            "{} linked item(s) without interactions placed from their {} nearest items in the \
             graph (placement {})",
            fitted.placed,
            crate::ease::COLD_NEIGHBOURS,
            p.placement.name()
        ));
    }
    if fitted.features == 0 {
        notes.push(format!(
            "no graph fact is shared by two linked items: kg-ease is plain EASE here ({})",
            graph_remedies("a graph", input.caller)
        ));
    }
    notes.extend(sparse_note(&fitted.weights, p.neighbours));
    let mut arrays = fitted.weights.to_arrays("weights");
    if let Some(plain) = &fitted.interaction_weights {
        arrays.extend(plain.to_arrays("interaction_weights"));
    }
    Ok(OnePass {
        params: params_json(&p)?,
        arrays,
        notes,
    })
}

fn load(stored: StoredModel, binding: &Binding<'_>) -> Result<Loaded> {
    let StoredModel { header, mut arrays } = stored;
    let items = header.items as usize;
    let weights = decode(&header, &mut arrays, "weights")?
        .ok_or_else(|| corrupt(&header, "no weights array"))?;
    let interaction = decode(&header, &mut arrays, "interaction_weights")?;
    debug_assert_eq!(weights.n_items(), items);
    Ok(Loaded::Recommender(Box::new(ItemToItem::new(
        weights,
        interaction,
        binding.matrix,
        header.users as usize,
    ))))
}

fn corrupt(header: &ModelHeader, detail: impl std::fmt::Display) -> Error {
    StoreError::corruption(format!("model v{}", header.version), detail).into()
}

fn decode(
    header: &ModelHeader,
    arrays: &mut Vec<(String, Vec<f32>)>,
    name: &str,
) -> Result<Option<ItemWeights>> {
    ItemWeights::from_arrays(header.items as usize, arrays, name)
        .map_err(|e| corrupt(header, format!("{name}: {e}")))
}
