//! Item cold start for the item-to-item models: a linked item nobody has interacted with gets
//! its column of `B` (what every history item adds to its score) from its nearest warm items
//! in the graph, found as `cke` finds them (`fused/nearest.rs`): the similarity-weighted mean of
//! their columns ([`Placement::Mean`]), that mean scaled up to their weighted mean norm
//! ([`Placement::Restored`]: a mean is smaller than its parts, so `Mean` keeps a new item below
//! the items it resembles and `Restored` ranks it among them), or halfway between the two
//! ([`Placement::Halfway`]). Which one, or none, is chosen with the graph weight on validation
//! rows (`choose.rs`), since it trades warm accuracy for new items' reach; how many of the
//! catalogue's items without interactions are new rather than rare ([`new_items`]) sets how
//! many new items the validation holds.

use rand::Rng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::ItemWeights;
use crate::cf::InteractionMatrix;
use crate::fused::ItemGraph;
use crate::fused::nearest::NearestItems;
use crate::ids::ItemId;

/// How many nearest warm items place a cold item (`cke`'s default).
pub const COLD_NEIGHBOURS: usize = 5;

/// How a linked item without interactions gets its column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// Its column stays what the fit gave it (the graph rows alone).
    #[default]
    Off,
    /// The similarity-weighted mean of its nearest warm items' columns.
    Mean,
    /// That mean halfway (geometrically) between its own norm and theirs.
    Halfway,
    /// That mean at their weighted mean norm.
    Restored,
}

impl Placement {
    /// Every rule, in the order the choice tries them (ties keep the earlier).
    pub const ALL: [Placement; 4] = [
        Placement::Off,
        Placement::Mean,
        Placement::Halfway,
        Placement::Restored,
    ];

    /// The rule a `--cold-placement` name gives.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The name notes and `--help` use.
    pub fn name(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Mean => "mean",
            Self::Halfway => "halfway",
            Self::Restored => "restored",
        }
    }
}

/// A cold item's placed column, before a [`Placement`] scales it.
#[derive(Debug, Clone)]
pub(crate) struct ColdColumn {
    /// The item.
    pub item: usize,
    /// The weighted mean of its nearest warm items' columns (`n` values, its own entry 0).
    pub mean: Vec<f32>,
    /// The factor that brings `mean` to their weighted mean norm.
    pub restore: f32,
}

impl ColdColumn {
    /// The factor `placement` applies to `mean`; `None` for [`Placement::Off`].
    pub fn scale(&self, placement: Placement) -> Option<f32> {
        match placement {
            Placement::Off => None,
            Placement::Mean => Some(1.0),
            Placement::Halfway => Some(self.restore.sqrt()),
            Placement::Restored => Some(self.restore),
        }
    }
}

/// The linked items without interactions in `matrix` and their nearest warm items in the
/// graph (which a weight choice's candidate fits share).
pub(crate) fn cold_neighbours(matrix: &InteractionMatrix, graph: &ItemGraph) -> Vec<ColdItem> {
    let n = matrix.n_items();
    let warm: Vec<bool> = (0..n)
        .map(|i| !matrix.item_row(ItemId(i as u32)).0.is_empty())
        .collect();
    let cold: Vec<bool> = (0..n)
        .map(|i| !warm[i] && graph.entity_of(i).is_some())
        .collect();
    if !cold.contains(&true) {
        return Vec::new();
    }
    let nearest = NearestItems::build(graph, &warm, &cold, COLD_NEIGHBOURS);
    (0..n)
        .filter(|&i| cold[i])
        .map(|i| ColdItem {
            item: i,
            nearest: nearest.of(i).to_vec(),
        })
        .collect()
}

/// A linked item without interactions and up to [`COLD_NEIGHBOURS`] `(similarity, warm item)`.
#[derive(Debug, Clone)]
pub(crate) struct ColdItem {
    item: usize,
    nearest: Vec<(f32, u32)>,
}

/// The columns of the cold items `cold` ([`cold_neighbours`]) that have warm items near them.
pub(crate) fn cold_columns(weights: &ItemWeights, cold: &[ColdItem]) -> Vec<ColdColumn> {
    let n = weights.n;
    // The sparse approximation places nothing (`check_placement` refuses a rule with it).
    let Some(b) = weights.dense() else {
        return Vec::new();
    };
    cold.iter()
        .filter_map(|ColdItem { item, nearest }| {
            let (i, list) = (*item, nearest);
            let total: f32 = list.iter().map(|&(w, _)| w).sum();
            if list.is_empty() || total <= 0.0 {
                return None;
            }
            let mut mean = vec![0.0f32; n];
            let mut norm = 0.0f32;
            for &(w, j) in list {
                let share = w / total;
                let mut sq = 0.0f32;
                for (r, m) in mean.iter_mut().enumerate() {
                    let v = b[r * n + j as usize];
                    *m += share * v;
                    sq += v * v;
                }
                norm += share * sq.sqrt();
            }
            mean[i] = 0.0;
            let length = mean.iter().map(|v| v * v).sum::<f32>().sqrt();
            let restore = if length > 0.0 { norm / length } else { 0.0 };
            Some(ColdColumn {
                item: i,
                mean,
                restore,
            })
        })
        .collect()
}

/// Writes the columns `placement` gives into `weights`; returns how many items were placed.
pub(crate) fn place(
    weights: &mut ItemWeights,
    columns: &[ColdColumn],
    placement: Placement,
) -> usize {
    let n = weights.n;
    let Some(b) = weights.dense_mut() else {
        return 0;
    };
    let mut placed = 0;
    for column in columns {
        let Some(scale) = column.scale(placement) else {
            continue;
        };
        for (r, m) in column.mean.iter().enumerate() {
            b[r * n + column.item] = m * scale;
        }
        placed += 1;
    }
    placed
}

/// The estimated number of the catalogue's linked items (`linked`, by item) without
/// interactions in `matrix` that are new (as popular as any, waiting for their first
/// interactions) rather than rare (too unpopular to have drawn one yet), and how many lack
/// interactions. Rarity explains about `f₁(f₁ − 1) / (2(f₂ + 1))` of them (Chao's
/// bias-corrected estimate of the unseen, from the `f₁` linked items with one interaction and
/// the `f₂` with two); the new ones are what the observed count `f₀` has beyond that.
pub(crate) fn new_items(matrix: &InteractionMatrix, linked: &[bool]) -> (f64, usize) {
    let mut counts = [0usize; 3];
    for (i, &d) in matrix.item_degrees().iter().enumerate() {
        if d < 3 && linked.get(i).copied().unwrap_or(false) {
            counts[d as usize] += 1;
        }
    }
    let [f0, f1, f2] = counts.map(|c| c as f64);
    let rare = f1 * (f1 - 1.0).max(0.0) / (2.0 * (f2 + 1.0));
    ((f0 - rare).max(0.0), counts[0])
}

/// Which items a validation holds out whole ([`hold_out_whole`]), and why that many.
#[derive(Debug, Clone)]
pub struct WholeItems {
    /// By item: held out whole.
    pub whole: Vec<bool>,
    /// How many are.
    pub count: usize,
    /// The catalogue's linked items without interactions.
    pub unplaced: usize,
    /// How many of them are estimated new ([`new_items`]).
    pub new_items: f64,
}

/// Chooses the linked items with interactions (`linked`, by item) a validation holds out whole
/// so that it mimics the catalogue: as large a share of them as the catalogue's linked items
/// estimated new ([`new_items`]) are of its linked items (none when no item is new), drawn
/// evenly along popularity with `rng`.
pub fn hold_out_whole(
    matrix: &InteractionMatrix,
    linked: &[bool],
    rng: &mut impl Rng,
) -> WholeItems {
    let n_linked = (0..matrix.n_items())
        .filter(|&i| linked.get(i).copied().unwrap_or(false))
        .count();
    let (new, unplaced) = new_items(matrix, linked);
    let (whole, count) = hold_out_share(matrix, linked, new / n_linked.max(1) as f64, rng);
    WholeItems {
        whole,
        count,
        unplaced,
        new_items: new,
    }
}

/// `share` of the linked items with interactions (`linked`, by item), drawn evenly along
/// popularity with `rng` (as [`hold_out_whole`] draws them), and how many that is.
pub fn hold_out_share(
    matrix: &InteractionMatrix,
    linked: &[bool],
    share: f64,
    rng: &mut impl Rng,
) -> (Vec<bool>, usize) {
    let n = matrix.n_items();
    let degrees = matrix.item_degrees();
    let is_linked = |i: usize| linked.get(i).copied().unwrap_or(false);
    let mut warm_linked: Vec<usize> = (0..n)
        .filter(|&i| is_linked(i) && degrees.get(i).is_some_and(|&d| d > 0))
        .collect();
    let count = ((warm_linked.len() as f64 * share).round() as usize).min(warm_linked.len());
    let mut whole = vec![false; n];
    if count > 0 {
        // New items are typical items: every popularity alike. So they are drawn evenly along
        // the items ordered by interactions (ties shuffled), one from each of `count` equal
        // runs, which keeps a few of the most popular items from making or breaking a draw.
        warm_linked.shuffle(rng);
        warm_linked.sort_by_key(|&i| degrees[i]);
        let step = warm_linked.len() as f64 / count as f64;
        for k in 0..count {
            let at = ((k as f64 + rng.random::<f64>()) * step) as usize;
            whole[warm_linked[at.min(warm_linked.len() - 1)]] = true;
        }
    }
    (whole, count)
}
