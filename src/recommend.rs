//! Serving recommendations from a stored model: top-K lists for users named by external id, the
//! popularity fallback for users the model does not know, and the item details (IRI, label) that
//! the JSON output and the batch file show.

use kgrec_kg::{EntityId, GraphIndex};

use crate::cf::{
    FactorModel, InteractionMatrix, Popularity, Recommender, Scored, recommend_all, top_k,
};
use crate::fused::{Fused, FusedParams, ItemGraph};
use crate::ids::{ItemId, UserId};
use crate::store::{Model, ModelHeader, Snapshot, StoreError, StoredModel};

/// One user's list.
#[derive(Debug, Clone, PartialEq)]
pub struct RankedList {
    /// Best first; never an item the user has in `train`.
    pub items: Vec<Scored>,
    /// The model does not know the user: the list is the most popular items.
    pub fallback: bool,
}

/// Top-`k` lists for `users` (dense ids of `train`, or `None` for a user `train` does not know),
/// in the given order. Users the model was trained on are scored by it; the others (new since
/// training, or unknown) get `train`'s most popular items, flagged as a fallback. Every list
/// excludes the user's items in `train`.
pub fn rank_users(
    model: &dyn Recommender,
    train: &InteractionMatrix,
    users: &[Option<UserId>],
    k: usize,
) -> Vec<RankedList> {
    let known: Vec<UserId> = users
        .iter()
        .flatten()
        .copied()
        .filter(|u| u.index() < model.n_users())
        .collect();
    let mut scored = recommend_all(model, train, &known, k).into_iter();
    let popularity = Popularity::fit(train);
    let cold_known: Vec<UserId> = users
        .iter()
        .flatten()
        .copied()
        .filter(|u| u.index() >= model.n_users())
        .collect();
    let mut cold_scored = recommend_all(&popularity, train, &cold_known, k).into_iter();
    let cold = top_k(popularity.counts(), k, &[], &mut Vec::new());
    users
        .iter()
        .map(|user| match user {
            Some(u) if u.index() < model.n_users() => RankedList {
                items: scored.next().unwrap_or_default(),
                fallback: false,
            },
            Some(_) => RankedList {
                items: cold_scored.next().unwrap_or_default(),
                fallback: true,
            },
            None => RankedList {
                items: cold.clone(),
                fallback: true,
            },
        })
        .collect()
}

/// A stored model ready to score: the plain kinds as loaded, the fused model bound to the data
/// directory's graph and links.
#[derive(Debug)]
pub struct Serving {
    /// What the store records about the model.
    pub header: ModelHeader,
    model: ServingModel,
}

#[derive(Debug)]
enum ServingModel {
    Factors(FactorModel),
    Popularity(Popularity),
    Fused(Box<Fused>),
}

impl Serving {
    /// The model as a recommender.
    pub fn recommender(&self) -> &dyn Recommender {
        match &self.model {
            ServingModel::Factors(m) => m,
            ServingModel::Popularity(m) => m,
            ServingModel::Fused(m) => m.as_ref(),
        }
    }

    /// The fused model, when that is what is served.
    pub fn fused(&self) -> Option<&Fused> {
        match &self.model {
            ServingModel::Fused(f) => Some(f),
            _ => None,
        }
    }
}

/// Makes a stored model servable. A fused model is bound to the graph index as it is now: the
/// items' links (an IRI the graph did not hold at import is looked up again) and the triples;
/// entities the graph gained after training are left out of its neighbourhoods.
pub fn bind(
    stored: StoredModel,
    snapshot: &Snapshot,
    index: &GraphIndex,
) -> Result<Serving, crate::Error> {
    let StoredModel { header, model } = stored;
    let model = match model {
        Model::Fused(parts) => {
            let params: FusedParams = serde_json::from_str(&header.params).map_err(|e| {
                StoreError::corruption(format!("model v{} parameters", header.version), e)
            })?;
            let d = parts.dim.max(1);
            let (n_entities, n_relations) = (parts.entities.len() / d, parts.relations.len() / d);
            let counts = index.counts()?;
            let triples = index.triples()?;
            let mut item_entity = Vec::with_capacity(header.items as usize);
            for i in 0..header.items as usize {
                let entity = match snapshot.links.get(i) {
                    Some(Some(link)) => match link.entity {
                        Some(e) => Some(e),
                        None => index.resolve_entity(&link.iri)?.map(|(_, e)| e),
                    },
                    _ => None,
                };
                item_entity.push(entity);
            }
            let graph = ItemGraph::new(
                n_entities.min(counts.entities as usize),
                n_relations.min(counts.relations as usize),
                triples,
                item_entity,
            );
            let fused = Fused::from_parts(parts, params, graph)
                .map_err(|e| StoreError::corruption(format!("model v{}", header.version), e))?;
            ServingModel::Fused(Box::new(fused))
        }
        Model::Factors(m) => ServingModel::Factors(m),
        Model::Popularity(m) => ServingModel::Popularity(m),
        Model::Kge(_) => {
            return Err(crate::Error::BadInput(format!(
                "current model {} is a graph embedding; train a recommender (cke, als, bpr, pop) \
                 first",
                header.kind.name()
            )));
        }
    };
    Ok(Serving { header, model })
}

/// What a list shows about an item besides its id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemDetails {
    /// The linked IRI.
    pub iri: Option<String>,
    /// The entity's label (or the IRI's local name when the graph gives none).
    pub label: Option<String>,
}

/// The IRI and label of an item, from its stored link and the graph index. A link whose IRI the
/// graph did not hold at import is looked up again (the graph may have been imported since).
pub fn item_details(
    snapshot: &Snapshot,
    index: &GraphIndex,
    item: ItemId,
) -> Result<ItemDetails, crate::Error> {
    let Some(Some(link)) = snapshot.links.get(item.index()) else {
        return Ok(ItemDetails::default());
    };
    let entity: Option<EntityId> = match link.entity {
        Some(e) => Some(e),
        None => index.resolve_entity(&link.iri)?.map(|(_, e)| e),
    };
    let label = match entity {
        Some(e) => index.label(e)?,
        None => None,
    }
    .unwrap_or_else(|| local_name(&link.iri).to_owned());
    Ok(ItemDetails {
        iri: Some(link.iri.clone()),
        label: Some(label),
    })
}

/// The last segment of an IRI (after `/`, `#` or `:`), as labels fall back to.
pub fn local_name(iri: &str) -> &str {
    let trimmed = iri.trim_end_matches(['/', '#']);
    trimmed.rsplit(['/', '#', ':']).next().unwrap_or(trimmed)
}

/// The external name of an item, for output; a dense id outside the store is corruption.
pub fn item_name(snapshot: &Snapshot, item: ItemId) -> Result<&str, StoreError> {
    snapshot
        .items
        .get(item.index())
        .map(String::as_str)
        .ok_or_else(|| {
            StoreError::corruption(
                "model",
                format!("item {} is not in the item dictionary", item.0),
            )
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::cf::FactorModel;
    use ndarray::array;

    #[test]
    fn model_users_new_users_and_unknown_users() {
        let train = InteractionMatrix::from_pairs([
            ("a", "x"),
            ("a", "y"),
            ("b", "y"),
            ("c", "z"),
            ("c", "y"),
        ])
        .unwrap();
        // Trained when only a and b existed: c arrived later.
        let model = FactorModel {
            users: array![[1.0, 0.0], [0.0, 1.0]],
            items: array![[0.0, 1.0], [1.0, 1.0], [2.0, 0.0]],
            item_bias: None,
        };
        let lists = rank_users(
            &model,
            &train,
            &[Some(UserId(1)), Some(UserId(2)), None, Some(UserId(0))],
            2,
        );
        let ids = |l: &RankedList| l.items.iter().map(|s| s.item.0).collect::<Vec<_>>();
        assert_eq!(ids(&lists[0]), [0, 2], "b: x scores 1, z 0; y is b's own");
        assert!(!lists[0].fallback);
        assert_eq!(ids(&lists[1]), [0], "c: popularity without c's own y and z");
        assert!(lists[1].fallback);
        assert_eq!(ids(&lists[2]), [1, 0], "unknown: the most popular items");
        assert!(lists[2].fallback);
        assert_eq!(ids(&lists[3]), [2]);
    }

    #[test]
    fn local_names() {
        assert_eq!(
            local_name("http://dbpedia.org/resource/Star_Wars_(film)"),
            "Star_Wars_(film)"
        );
        assert_eq!(local_name("http://e.org/o#Thing"), "Thing");
        assert_eq!(local_name("urn:kgrec:m.0abc"), "m.0abc");
        assert_eq!(local_name("http://e.org/x/"), "x");
    }
}
