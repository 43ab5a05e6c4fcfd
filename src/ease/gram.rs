//! The dense linear algebra of the closed form: the Gram matrix of weighted sparse rows and
//! `B = I − P·diag(1/diag P)` with `P = (G + λI)⁻¹`, through faer's Cholesky factorisation.
//! Knows nothing of users, graphs or the store.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::{LltRegularization, cholesky_in_place_scratch};
use faer::linalg::matmul::triangular::BlockStructure;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

use crate::cf::FitError;

/// Sparse 0/1 rows over the items in both directions, each row with a weight: the rows of
/// `A` in `G = AᵀA = Σ_r w_r² a_r a_rᵀ`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WeightedRows<'a> {
    /// CSR by row: row `r`'s items are `row_items[row_ptr[r]..row_ptr[r + 1]]`.
    pub(crate) row_ptr: &'a [usize],
    pub(crate) row_items: &'a [u32],
    /// CSR by item: item `i`'s rows are `item_rows[item_ptr[i]..item_ptr[i + 1]]`.
    pub(crate) item_ptr: &'a [usize],
    pub(crate) item_rows: &'a [u32],
    /// `w_r²` per row; `None`: every row weighs 1.
    pub(crate) weight_sq: Option<&'a [f64]>,
}

/// The floating-point types the Gram matrix and the closed form can run in. The models use
/// `f32`: twice as fast as `f64` and half the memory, and `B`'s fifth significant digit does
/// not change a ranking (on the ml-100k folds the lists score the same to the fourth decimal);
/// `f64` is the tests' reference.
pub(crate) trait Scalar:
    faer::traits::ComplexField + Copy + Send + Sync + std::ops::AddAssign + Into<f64>
{
    /// `value`, rounded to this type.
    fn of(value: f64) -> Self;
}

impl Scalar for f64 {
    fn of(value: f64) -> Self {
        value
    }
}

impl Scalar for f32 {
    fn of(value: f64) -> Self {
        value as f32
    }
}

/// Adds `Σ_r w_r² a_r a_rᵀ` to the column-major `n × n` matrix `gram`. Each column is summed by
/// one task in a fixed order, so the result does not depend on the thread count.
pub(crate) fn add_gram<T: Scalar>(gram: &mut [T], n: usize, rows: WeightedRows<'_>) {
    gram.par_chunks_mut(n.max(1))
        .enumerate()
        .for_each(|(a, column)| {
            let (lo, hi) = match (rows.item_ptr.get(a), rows.item_ptr.get(a + 1)) {
                (Some(&lo), Some(&hi)) => (lo, hi),
                _ => return,
            };
            for &r in &rows.item_rows[lo..hi] {
                let r = r as usize;
                let w = T::of(rows.weight_sq.map_or(1.0, |w| w[r]));
                for &b in &rows.row_items[rows.row_ptr[r]..rows.row_ptr[r + 1]] {
                    column[b as usize] += w;
                }
            }
        });
}

/// A sparse prior `S` for `B`, by column: column `j` holds `(rows[k], values[k])` for `k` in
/// `ptr[j]..ptr[j + 1]`, never `j` itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Prior {
    pub(crate) ptr: Vec<usize>,
    pub(crate) rows: Vec<u32>,
    pub(crate) values: Vec<f32>,
}

/// [`closed_form`] with `B` pulled towards `prior`: the minimum of `‖X − XB‖² + λ‖B − S‖²` with
/// `diag(B) = 0` is `B_EASE + λ·(P·S − P·diag(d))`, `d_j = (P·S)[j, j] / P[j, j]`.
pub(crate) fn closed_form_with_prior<T: Scalar>(
    mut gram: Vec<T>,
    n: usize,
    lambda: f64,
    prior: Option<&Prior>,
) -> Result<Vec<f32>, FitError> {
    let Some(prior) = prior else {
        return closed_form(gram, n, lambda);
    };
    if gram.len() != n * n || prior.ptr.len() != n + 1 {
        return Err(FitError::Internal(format!(
            "a Gram matrix of {} values and a prior of {} columns for {n} items",
            gram.len(),
            prior.ptr.len().saturating_sub(1)
        )));
    }
    for i in 0..n {
        gram[i * n + i] += T::of(lambda);
    }
    let mut p = inverse_lower(gram, n).map_err(|e| {
        FitError::Internal(format!(
            "G + λI is not positive definite ({e}); λ = {lambda}"
        ))
    })?;
    let mut b = weights_of_inverse(&p, n);
    // P whole (its upper triangle from the lower), so that its columns are contiguous.
    for k in 0..n {
        for i in 0..k {
            p[k * n + i] = p[i * n + k];
        }
    }
    let p = &p;
    // Column j of λ·(P·S − P·diag(d)), empty where S's column is.
    let updates: Vec<Vec<f32>> = (0..n)
        .into_par_iter()
        .map(|j| {
            let (lo, hi) = (prior.ptr[j], prior.ptr[j + 1]);
            if lo == hi {
                return Vec::new();
            }
            // In single precision, as the models' closed form runs: S has a few terms a column.
            let mut ps = vec![0.0f32; n];
            for (&k, &s) in prior.rows[lo..hi].iter().zip(&prior.values[lo..hi]) {
                let column = &p[k as usize * n..(k as usize + 1) * n];
                for (o, &v) in ps.iter_mut().zip(column) {
                    *o += s * (v.into() as f32);
                }
            }
            let pj = &p[j * n..(j + 1) * n];
            let d = ps[j] / (pj[j].into() as f32);
            let lambda = lambda as f32;
            ps.iter()
                .zip(pj)
                .map(|(&ps, &pij)| lambda * (ps - (pij.into() as f32) * d))
                .collect()
        })
        .collect();
    b.par_chunks_mut(n).enumerate().for_each(|(i, row)| {
        for (j, w) in row.iter_mut().enumerate() {
            if let Some(u) = updates[j].get(i).filter(|_| i != j) {
                *w += u;
            }
        }
    });
    Ok(b)
}

/// The EASE weights from the Gram matrix `gram` (column-major `n × n`, consumed): `P = (G +
/// λI)⁻¹`, `B[i, j] = −P[i, j] / P[j, j]` off the diagonal, `0` on it. Returned row-major as
/// `f32` (row `i` holds what item `i` in a history adds to every item's score). The
/// factorisation, inverse and products run on rayon's threads (faer), in `T`'s precision.
pub(crate) fn closed_form<T: Scalar>(
    mut gram: Vec<T>,
    n: usize,
    lambda: f64,
) -> Result<Vec<f32>, FitError> {
    if gram.len() != n * n {
        return Err(FitError::Internal(format!(
            "a Gram matrix of {} values for {n} items",
            gram.len()
        )));
    }
    if n == 0 {
        return Ok(Vec::new());
    }
    for i in 0..n {
        gram[i * n + i] += T::of(lambda);
    }
    let p = inverse_lower(gram, n).map_err(|e| {
        FitError::Internal(format!(
            "G + λI is not positive definite ({e}); λ = {lambda}"
        ))
    })?;
    Ok(weights_of_inverse(&p, n))
}

/// `A⁻¹` of the symmetric positive definite column-major `a` (consumed), through its Cholesky
/// factor `L`: `A⁻¹ = L⁻ᵀ L⁻¹`. Only the lower triangle of the result is written.
fn inverse_lower<T: Scalar>(mut a: Vec<T>, n: usize) -> Result<Vec<T>, String> {
    let par = Par::rayon(0);
    {
        let g = MatMut::from_column_major_slice_mut(&mut a, n, n);
        let mut buffer = MemBuffer::new(cholesky_in_place_scratch::<T>(n, par, Default::default()));
        faer::linalg::cholesky::llt::factor::cholesky_in_place(
            g,
            LltRegularization::default(),
            par,
            MemStack::new(&mut buffer),
            Default::default(),
        )
        .map_err(|e| e.to_string())?;
    }
    let mut l_inv: Vec<T> = vec![T::of(0.0); n * n];
    faer::linalg::triangular_inverse::invert_lower_triangular(
        MatMut::from_column_major_slice_mut(&mut l_inv, n, n),
        MatRef::from_column_major_slice(&a, n, n),
        par,
    );
    {
        let l_inv = MatRef::from_column_major_slice(&l_inv, n, n);
        faer::linalg::matmul::triangular::matmul(
            MatMut::from_column_major_slice_mut(&mut a, n, n),
            BlockStructure::TriangularLower,
            Accum::Replace,
            l_inv.transpose(),
            BlockStructure::TriangularUpper,
            l_inv,
            BlockStructure::TriangularLower,
            faer::traits::math_utils::one(),
            par,
        );
    }
    Ok(a)
}

/// `B` (row-major f32) from `P`, of which only the lower triangle is written.
fn weights_of_inverse<T: Scalar>(p: &[T], n: usize) -> Vec<f32> {
    // P is symmetric: P[i, j] for i ≥ j is at j·n + i.
    let at =
        |i: usize, j: usize| -> f64 { if i >= j { p[j * n + i] } else { p[i * n + j] }.into() };
    let mut b = vec![0.0f32; n * n];
    b.par_chunks_mut(n).enumerate().for_each(|(i, row)| {
        for (j, w) in row.iter_mut().enumerate() {
            if i != j {
                *w = (-at(i, j) / at(j, j)) as f32;
            }
        }
    });
    b
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// `(G + λI)⁻¹` by Gauss-Jordan elimination: the reference for small matrices.
    fn inverse(g: &[f64], n: usize, lambda: f64) -> Vec<f64> {
        let mut a: Vec<f64> = g.to_vec();
        for i in 0..n {
            a[i * n + i] += lambda;
        }
        let mut inv: Vec<f64> = (0..n * n)
            .map(|k| if k / n == k % n { 1.0 } else { 0.0 })
            .collect();
        for c in 0..n {
            let pivot = a[c * n + c];
            for k in 0..n {
                a[c * n + k] /= pivot;
                inv[c * n + k] /= pivot;
            }
            for r in 0..n {
                if r != c {
                    let f = a[r * n + c];
                    for k in 0..n {
                        a[r * n + k] -= f * a[c * n + k];
                        inv[r * n + k] -= f * inv[c * n + k];
                    }
                }
            }
        }
        inv
    }

    fn rows_of(sets: &[&[u32]], n: usize) -> (Vec<usize>, Vec<u32>, Vec<usize>, Vec<u32>) {
        let mut row_ptr = vec![0];
        let mut row_items = Vec::new();
        for s in sets {
            row_items.extend_from_slice(s);
            row_ptr.push(row_items.len());
        }
        let mut item_ptr = vec![0];
        let mut item_rows = Vec::new();
        for i in 0..n as u32 {
            for (r, s) in sets.iter().enumerate() {
                if s.contains(&i) {
                    item_rows.push(r as u32);
                }
            }
            item_ptr.push(item_rows.len());
        }
        (row_ptr, row_items, item_ptr, item_rows)
    }

    /// `G = Σ_r w_r² a_r a_rᵀ` of the 0/1 rows `sets` over `n` items (`w_r² = 1` without
    /// `weight_sq`).
    fn gram_of(sets: &[&[u32]], n: usize, weight_sq: Option<&[f64]>) -> Vec<f64> {
        let (rp, ri, ip, ir) = rows_of(sets, n);
        let mut g = vec![0.0; n * n];
        add_gram(
            &mut g,
            n,
            WeightedRows {
                row_ptr: &rp,
                row_items: &ri,
                item_ptr: &ip,
                item_rows: &ir,
                weight_sq,
            },
        );
        g
    }

    #[test]
    fn gram_and_closed_form_match_a_direct_computation() {
        let n = 5;
        let sets: [&[u32]; 4] = [&[0, 1, 2], &[1, 2], &[2, 3, 4], &[0, 4]];
        let g = gram_of(&sets, n, Some(&[1.0, 4.0, 0.25, 1.0]));
        // G[1, 2]: rows 0 (w² 1) and 1 (w² 4) hold both.
        assert_eq!(g[2 * n + 1], 5.0);
        assert_eq!(g[n + 2], 5.0);
        assert_eq!(g[0], 2.0);
        let lambda = 0.7;
        let p = inverse(&g, n, lambda);
        let b = closed_form(g.clone(), n, lambda).unwrap();
        for i in 0..n {
            assert_eq!(b[i * n + i], 0.0);
            for j in 0..n {
                if i != j {
                    let want = -p[i * n + j] / p[j * n + j];
                    assert!((f64::from(b[i * n + j]) - want).abs() < 1e-6, "B[{i},{j}]");
                }
            }
        }
        // In single precision, to f32's few digits.
        let single: Vec<f32> = g.iter().map(|&v| v as f32).collect();
        let single = closed_form(single, n, lambda).unwrap();
        for (k, (s, d)) in single.iter().zip(&b).enumerate() {
            assert!((s - d).abs() < 1e-4, "B[{}] {s} against {d}", k);
        }
    }

    #[test]
    fn a_prior_on_b_is_the_constrained_ridge_solution_column_by_column() {
        let n = 5;
        let g = gram_of(
            &[&[0, 1, 2], &[1, 2], &[2, 3, 4], &[0, 4], &[1, 3]],
            n,
            None,
        );
        // S: column 0 holds items 3 (0.5) and 4 (0.25); column 3 holds item 0 (1.0).
        let prior = Prior {
            ptr: vec![0, 2, 2, 2, 3, 3],
            rows: vec![3, 4, 0],
            values: vec![0.5, 0.25, 1.0],
        };
        let s = |k: usize, j: usize| match (k, j) {
            (3, 0) => 0.5,
            (4, 0) => 0.25,
            (0, 3) => 1.0,
            _ => 0.0,
        };
        let lambda = 0.7;
        let b = closed_form_with_prior(g.clone(), n, lambda, Some(&prior)).unwrap();
        for j in 0..n {
            // Column j without item j: (G₋ⱼ + λI) b = XᵀX[₋ⱼ, j] + λ S[₋ⱼ, j].
            let others: Vec<usize> = (0..n).filter(|&k| k != j).collect();
            let m = others.len();
            let sub: Vec<f64> = others
                .iter()
                .flat_map(|&r| others.iter().map(move |&c| (r, c)))
                .map(|(r, c)| g[r * n + c])
                .collect();
            let inv = inverse(&sub, m, lambda);
            let rhs: Vec<f64> = others
                .iter()
                .map(|&k| g[k * n + j] + lambda * s(k, j))
                .collect();
            assert_eq!(b[j * n + j], 0.0);
            for (r, &k) in others.iter().enumerate() {
                let want: f64 = (0..m).map(|c| inv[r * m + c] * rhs[c]).sum();
                assert!(
                    (f64::from(b[k * n + j]) - want).abs() < 1e-5,
                    "B[{k},{j}] {} against {want}",
                    b[k * n + j]
                );
            }
        }
        let empty = Prior {
            ptr: vec![0; n + 1],
            ..Prior::default()
        };
        assert_eq!(
            closed_form_with_prior(g.clone(), n, lambda, Some(&empty)).unwrap(),
            closed_form(g.clone(), n, lambda).unwrap()
        );
        assert_ne!(b, closed_form(g, n, lambda).unwrap());
    }

    #[test]
    fn closed_form_is_the_same_on_one_thread_and_on_two() {
        let n = 600;
        let mut state = 7u64;
        let sets: Vec<Vec<u32>> = (0..200)
            .map(|_| {
                (0..n as u32)
                    .filter(|_| {
                        state = state
                            .wrapping_mul(6_364_136_223_846_793_005)
                            .wrapping_add(1_442_695_040_888_963_407);
                        (state >> 33).is_multiple_of(10)
                    })
                    .collect()
            })
            .collect();
        let refs: Vec<&[u32]> = sets.iter().map(Vec::as_slice).collect();
        let g = gram_of(&refs, n, None);
        let single: Vec<f32> = g.iter().map(|&v| v as f32).collect();
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
                    (
                        closed_form(g.clone(), n, 3.0).unwrap(),
                        closed_form(single.clone(), n, 3.0).unwrap(),
                    )
                })
        };
        assert_eq!(run(1), run(2));
    }

    #[test]
    fn a_gram_of_the_wrong_size_is_an_internal_error() {
        assert!(matches!(
            closed_form(vec![0.0f64; 3], 2, 1.0),
            Err(FitError::Internal(_))
        ));
        assert!(closed_form(Vec::<f64>::new(), 0, 1.0).unwrap().is_empty());
    }
}
