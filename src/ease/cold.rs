//! Item cold start for the item-to-item models: a linked item nobody has interacted with gets
//! its column of `B` (what every history item adds to its score) from its nearest warm items
//! in the graph, as `cke` places its vector (`fused/nearest.rs`): the similarity-weighted mean of
//! their columns, scaled to their weighted mean norm, since a plain mean is smaller than any of
//! its parts and would rank the new item below every item it resembles.

use super::ItemWeights;
use crate::cf::InteractionMatrix;
use crate::fused::ItemGraph;
use crate::fused::nearest::NearestItems;
use crate::ids::ItemId;

/// How many nearest warm items place a cold item (`cke`'s default).
pub const COLD_NEIGHBOURS: usize = 5;

/// Gives every linked item without interactions in `matrix` the column its nearest warm items
/// mark; returns how many items were placed.
pub fn place_cold_items(
    weights: &mut ItemWeights,
    matrix: &InteractionMatrix,
    graph: &ItemGraph,
) -> usize {
    let n = weights.n;
    let warm: Vec<bool> = (0..n)
        .map(|i| !matrix.item_row(ItemId(i as u32)).0.is_empty())
        .collect();
    let cold: Vec<bool> = (0..n)
        .map(|i| !warm[i] && graph.entity_of(i).is_some())
        .collect();
    if !cold.contains(&true) {
        return 0;
    }
    let nearest = NearestItems::build(graph, &warm, &cold, COLD_NEIGHBOURS);
    let mut placed = 0;
    for i in (0..n).filter(|&i| cold[i]) {
        let list = nearest.of(i);
        let total: f32 = list.iter().map(|&(w, _)| w).sum();
        if list.is_empty() || total <= 0.0 {
            continue;
        }
        let b = &weights.weights;
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
        let scale = if length > 0.0 { norm / length } else { 0.0 };
        for (r, m) in mean.iter().enumerate() {
            weights.weights[r * n + i] = m * scale;
        }
        placed += 1;
    }
    placed
}
