//! The sparse approximation of the closed form, for catalogues whose `n × n` inverse does not
//! fit: each item's column of `B` is the ridge regression of the item on its `m` strongest
//! co-occurring items only.
//!
//! EASE's column `i` (off the diagonal) is exactly the ridge regression of column `i` of `A`
//! (the interaction rows, and for `kg-ease` the weighted feature rows) on all the other columns:
//! `B[−i, i] = (G[−i, −i] + λI)⁻¹ G[−i, i]` with `G = AᵀA`. Restricting the regressors to the
//! set `S_i` of the `m` items with the largest `G[i, j] / √G[j, j]` (the cosine of the two
//! columns, up to `i`'s own norm) gives
//!
//! ```text
//! B[S_i, i] = (G[S_i, S_i] + λI)⁻¹ G[S_i, i],   B[j, i] = 0 for j ∉ S_i
//! ```
//!
//! which is exact when `m ≥ n − 1`. Each column is one `m × m` Cholesky solve (`f64`), the
//! columns are independent and run on rayon's threads, and `G`'s entries are summed from the
//! sparse rows as each column needs them: memory is `O(n·m)` for `B` and `O(n + rows)` per
//! thread, never `O(n²)`. A column's result does not depend on the thread that computes it.

use std::sync::atomic::{AtomicBool, Ordering};

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::{LltRegularization, cholesky_in_place_scratch};
use faer::{MatMut, Par};
use rayon::prelude::*;

use super::gram::WeightedRows;
use crate::cf::FitError;

/// `B` kept sparse, by row: row `j` (what item `j` in a history adds) holds
/// `cols[ptr[j]..ptr[j + 1]]` (ascending) with `vals` beside them.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct SparseWeights {
    pub(crate) ptr: Vec<usize>,
    pub(crate) cols: Vec<u32>,
    pub(crate) vals: Vec<f32>,
}

/// One thread's scratch: a dense accumulator over the items with the list of those touched,
/// each item's position in the current neighbour set, and a mark per row of each row set.
struct Scratch {
    acc: Vec<f64>,
    touched: Vec<u32>,
    position: Vec<u32>,
    row_seen: Vec<Vec<u32>>,
    stamp: u32,
}

const ABSENT: u32 = u32::MAX;

impl Scratch {
    fn new(n: usize, sets: &[WeightedRows<'_>]) -> Self {
        Self {
            acc: vec![0.0; n],
            touched: Vec::new(),
            position: vec![ABSENT; n],
            row_seen: sets
                .iter()
                .map(|s| vec![0; s.row_ptr.len().saturating_sub(1)])
                .collect(),
            stamp: 0,
        }
    }
}

fn row_weight(set: &WeightedRows<'_>, r: usize) -> f64 {
    set.weight_sq.map_or(1.0, |w| w[r])
}

fn row_items<'a>(set: &WeightedRows<'a>, r: usize) -> &'a [u32] {
    &set.row_items[set.row_ptr[r]..set.row_ptr[r + 1]]
}

fn item_rows<'a>(set: &WeightedRows<'a>, i: usize) -> &'a [u32] {
    match (set.item_ptr.get(i), set.item_ptr.get(i + 1)) {
        (Some(&lo), Some(&hi)) => &set.item_rows[lo..hi],
        _ => &[],
    }
}

/// Column `i` of `B`: its neighbour set (ascending) and weights.
fn column(
    i: usize,
    sets: &[WeightedRows<'_>],
    lambda: f64,
    m: usize,
    diag: &[f64],
    s: &mut Scratch,
) -> Result<(Vec<u32>, Vec<f32>), FitError> {
    // G[·, i], over the items that share a row with i.
    for set in sets {
        for &r in item_rows(set, i) {
            let w = row_weight(set, r as usize);
            if w == 0.0 {
                continue;
            }
            for &b in row_items(set, r as usize) {
                if s.acc[b as usize] == 0.0 {
                    s.touched.push(b);
                }
                s.acc[b as usize] += w;
            }
        }
    }
    // Ranked by G[i, j] / √G[j, j] (the cosine, up to i's own norm): raw co-occurrence would
    // fill every set with the most popular items.
    let mut candidates: Vec<(f64, u32, f64)> = s
        .touched
        .iter()
        .filter(|&&b| b as usize != i)
        .map(|&b| {
            let g = s.acc[b as usize];
            (g / diag[b as usize].max(f64::MIN_POSITIVE).sqrt(), b, g)
        })
        .collect();
    for &b in &s.touched {
        s.acc[b as usize] = 0.0;
    }
    s.touched.clear();
    // The m strongest, ties to the smaller item: the same set on any thread.
    let strongest =
        |a: &(f64, u32, f64), b: &(f64, u32, f64)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    if candidates.len() > m {
        candidates.select_nth_unstable_by(m, strongest);
        candidates.truncate(m);
    }
    candidates.sort_unstable_by_key(|&(_, b, _)| b);
    let k = candidates.len();
    if k == 0 {
        return Ok((Vec::new(), Vec::new()));
    }
    for (a, &(_, j, _)) in candidates.iter().enumerate() {
        s.position[j as usize] = a as u32;
    }
    // G[S, S]: every row that touches S once, its members in S paired.
    let mut g = vec![0.0f64; k * k];
    s.stamp = s.stamp.wrapping_add(1);
    if s.stamp == 0 {
        s.row_seen.iter_mut().for_each(|seen| seen.fill(0));
        s.stamp = 1;
    }
    let mut members: Vec<usize> = Vec::new();
    for (set, seen) in sets.iter().zip(s.row_seen.iter_mut()) {
        for &(_, j, _) in &candidates {
            for &r in item_rows(set, j as usize) {
                let r = r as usize;
                if seen[r] == s.stamp {
                    continue;
                }
                seen[r] = s.stamp;
                let w = row_weight(set, r);
                if w == 0.0 {
                    continue;
                }
                members.clear();
                members.extend(
                    row_items(set, r)
                        .iter()
                        .map(|&b| s.position[b as usize])
                        .filter(|&p| p != ABSENT)
                        .map(|p| p as usize),
                );
                for &a in &members {
                    for &b in &members {
                        g[a * k + b] += w;
                    }
                }
            }
        }
    }
    for &(_, j, _) in &candidates {
        s.position[j as usize] = ABSENT;
    }
    for a in 0..k {
        g[a * k + a] += lambda;
    }
    let mut rhs: Vec<f64> = candidates.iter().map(|&(_, _, g)| g).collect();
    solve_spd(&mut g, &mut rhs, k).map_err(|e| {
        FitError::Internal(format!(
            "G[S, S] + λI of item {i} is not positive definite ({e}); λ = {lambda}"
        ))
    })?;
    Ok((
        candidates.iter().map(|&(_, j, _)| j).collect(),
        rhs.iter().map(|&v| v as f32).collect(),
    ))
}

/// Solves `A x = rhs` in place for the symmetric positive definite `k × k` `a` (consumed), on
/// the calling thread.
fn solve_spd(a: &mut [f64], rhs: &mut [f64], k: usize) -> Result<(), String> {
    let par = Par::Seq;
    let mut buffer = MemBuffer::new(cholesky_in_place_scratch::<f64>(k, par, Default::default()));
    faer::linalg::cholesky::llt::factor::cholesky_in_place(
        MatMut::from_column_major_slice_mut(a, k, k),
        LltRegularization::default(),
        par,
        MemStack::new(&mut buffer),
        Default::default(),
    )
    .map_err(|e| e.to_string())?;
    faer::linalg::cholesky::llt::solve::solve_in_place(
        faer::MatRef::from_column_major_slice(a, k, k),
        MatMut::from_column_major_slice_mut(rhs, k, 1),
        par,
        MemStack::new(&mut MemBuffer::new(faer::dyn_stack::StackReq::EMPTY)),
    );
    Ok(())
}

/// `B` by the sparse approximation, from the row sets `sets` (interactions, and the weighted
/// feature rows for `kg-ease`) over `n` items: each column regressed on its `neighbours`
/// strongest co-occurring items at ridge `lambda`.
pub(crate) fn local_closed_form(
    sets: &[WeightedRows<'_>],
    n: usize,
    lambda: f64,
    neighbours: usize,
    cancel: &AtomicBool,
) -> Result<SparseWeights, FitError> {
    let mut diag = vec![0.0f64; n];
    for set in sets {
        for (i, d) in diag.iter_mut().enumerate() {
            *d += item_rows(set, i)
                .iter()
                .map(|&r| row_weight(set, r as usize))
                .sum::<f64>();
        }
    }
    let columns: Vec<(Vec<u32>, Vec<f32>)> = (0..n)
        .into_par_iter()
        .map_init(
            || Scratch::new(n, sets),
            |scratch, i| {
                if cancel.load(Ordering::Relaxed) {
                    return Err(FitError::Cancelled);
                }
                column(i, sets, lambda, neighbours.max(1), &diag, scratch)
            },
        )
        .collect::<Result<_, _>>()?;
    // Column lists → rows: B[j, i] for every j in S_i, rows ascending by i.
    let mut counts = vec![0usize; n + 1];
    for (rows, _) in &columns {
        for &j in rows {
            counts[j as usize + 1] += 1;
        }
    }
    for j in 0..n {
        counts[j + 1] += counts[j];
    }
    let ptr = counts.clone();
    let mut next = counts;
    let total = ptr[n];
    let mut cols = vec![0u32; total];
    let mut vals = vec![0.0f32; total];
    for (i, (rows, weights)) in columns.iter().enumerate() {
        for (&j, &w) in rows.iter().zip(weights) {
            let at = next[j as usize];
            cols[at] = i as u32;
            vals[at] = w;
            next[j as usize] += 1;
        }
    }
    Ok(SparseWeights { ptr, cols, vals })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::gram::{add_gram, closed_form};
    use super::*;

    /// Random 0/1 rows over `n` items, both directions of access.
    fn random_rows(
        users: usize,
        n: usize,
        density: u64,
        seed: u64,
    ) -> (Vec<usize>, Vec<u32>, Vec<usize>, Vec<u32>) {
        let mut state = seed;
        let mut row_ptr = vec![0];
        let mut row_items = Vec::new();
        for _ in 0..users {
            for i in 0..n as u32 {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                if (state >> 33) % 100 < density {
                    row_items.push(i);
                }
            }
            row_ptr.push(row_items.len());
        }
        let (item_ptr, item_rows) = super::super::features::transpose(&row_ptr, &row_items, n);
        (row_ptr, row_items, item_ptr, item_rows)
    }

    fn weight(b: &SparseWeights, from: usize, to: usize) -> f32 {
        let (lo, hi) = (b.ptr[from], b.ptr[from + 1]);
        match b.cols[lo..hi].binary_search(&(to as u32)) {
            Ok(k) => b.vals[lo + k],
            Err(_) => 0.0,
        }
    }

    #[test]
    fn with_every_item_as_a_neighbour_it_is_the_exact_closed_form() {
        let n = 40;
        // Dense enough that every pair of items shares a row: then every item is a candidate.
        let (rp, ri, ip, ir) = random_rows(120, n, 50, 3);
        let weights: Vec<f64> = (0..120).map(|r| 0.5 + (r % 3) as f64).collect();
        let set = WeightedRows {
            row_ptr: &rp,
            row_items: &ri,
            item_ptr: &ip,
            item_rows: &ir,
            weight_sq: Some(&weights),
        };
        let mut g = vec![0.0f64; n * n];
        add_gram(&mut g, n, set);
        let exact = closed_form(g, n, 5.0).unwrap();
        let go = AtomicBool::new(false);
        let sparse = local_closed_form(&[set], n, 5.0, n, &go).unwrap();
        for from in 0..n {
            for to in 0..n {
                let want = exact[from * n + to];
                let got = weight(&sparse, from, to);
                assert!(
                    (want - got).abs() < 1e-5,
                    "B[{from},{to}] {got} against {want}"
                );
            }
        }
        // Fewer neighbours: at most that many weights per column, rows ascending.
        let pruned = local_closed_form(&[set], n, 5.0, 6, &go).unwrap();
        let mut per_column = vec![0; n];
        for from in 0..n {
            let row = &pruned.cols[pruned.ptr[from]..pruned.ptr[from + 1]];
            assert!(row.windows(2).all(|w| w[0] < w[1]));
            assert!(!row.contains(&(from as u32)), "a zero diagonal");
            for &to in row {
                per_column[to as usize] += 1;
            }
        }
        assert!(per_column.iter().all(|&c| c <= 6), "{per_column:?}");
        // The same on one thread and on two.
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| local_closed_form(&[set], n, 5.0, 6, &go).unwrap())
        };
        assert_eq!(run(1), run(2));
        // Cancelled: stops with that error.
        let stop = AtomicBool::new(true);
        assert!(matches!(
            local_closed_form(&[set], n, 5.0, 6, &stop),
            Err(FitError::Cancelled)
        ));
    }
}
