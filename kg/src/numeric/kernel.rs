//! The dense kernels on `f32` rows that every trainer of the workspace shares: one `dot`, `axpy`
//! and `matvec`, and the TransE kernel (the translation `h + r`, the L1/L2 distance `‖q − c‖_p`
//! and its gradient). The graph embeddings (`embed`: TransE, TransR) and `kgrec`'s fused model
//! (its TransE half and its explanation scorer) call these, so a trained distance means the same
//! thing everywhere.
//!
//! Sums run in [`LANES`] independent accumulators so LLVM can vectorise them (it may not reorder
//! a single running sum); the few elements past the last full group of lanes are summed apart and
//! added at the end. Every function works over the common length of its slices.

/// The `p` of a Minkowski distance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Norm {
    L1,
    L2,
}

impl Norm {
    pub fn p(self) -> u8 {
        match self {
            Norm::L1 => 1,
            Norm::L2 => 2,
        }
    }

    pub fn from_p(p: u64) -> Option<Self> {
        match p {
            1 => Some(Norm::L1),
            2 => Some(Norm::L2),
            _ => None,
        }
    }
}

/// Independent partial sums of every reduction (RotatE's complex distance uses as many).
pub(crate) const LANES: usize = 8;

/// `Σ_i f(a_i, b_i)` in `LANES` partial sums.
#[inline(always)]
fn lane_sum(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    let n = a.len().min(b.len());
    let (ac, ar) = a[..n].as_chunks::<LANES>();
    let (bc, br) = b[..n].as_chunks::<LANES>();
    let mut acc = [0.0f32; LANES];
    for (x, y) in ac.iter().zip(bc) {
        for l in 0..LANES {
            acc[l] += f(x[l], y[l]);
        }
    }
    let tail: f32 = ar.iter().zip(br).map(|(x, y)| f(*x, *y)).sum();
    acc.iter().sum::<f32>() + tail
}

/// `a · b`.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    lane_sum(a, b, |x, y| x * y)
}

/// `y += a · x`.
#[inline]
pub fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// `out = M x` with `M` row-major `out.len() × x.len()`. Compiled for the baseline x86-64 and
/// for AVX2, chosen at run time (ALS's conjugate gradient spends half its time here); the
/// lanes and the order of every sum are the same on both, so are the bits.
#[multiversion::multiversion(targets("x86_64+avx2"))]
pub fn matvec(m: &[f32], x: &[f32], out: &mut [f32]) {
    if x.is_empty() {
        out.iter_mut().for_each(|o| *o = 0.0);
        return;
    }
    for (o, row) in out.iter_mut().zip(m.chunks_exact(x.len())) {
        *o = dot(row, x);
    }
}

/// The translation of TransE (and TransR in the relation space): `q = e + sign · r`, the tail
/// query `h + r` with `sign = 1`, the head query `t − r` with `sign = −1`.
#[inline]
pub fn translate(e: &[f32], r: &[f32], sign: f32, q: &mut [f32]) {
    for ((qi, ei), ri) in q.iter_mut().zip(e).zip(r) {
        *qi = ei + sign * ri;
    }
}

/// `‖q − c‖_p`.
#[inline]
pub fn distance(norm: Norm, q: &[f32], c: &[f32]) -> f32 {
    match norm {
        Norm::L1 => lane_sum(q, c, |x, y| (x - y).abs()),
        Norm::L2 => lane_sum(q, c, |x, y| (x - y) * (x - y)).sqrt(),
    }
}

/// With `x = coef · ∂‖q − c‖_p/∂(q − c)`: `gq += x`, `gc -= x`. `d` is [`distance`]`(norm, q, c)`
/// (L2 divides by it). Where the distance has no gradient the subgradient taken is: for L1, the
/// sign of an exact tie as +1; for L2, 0 at `d ≤ f32::EPSILON`.
#[inline]
pub fn distance_grad(
    norm: Norm,
    q: &[f32],
    c: &[f32],
    d: f32,
    coef: f32,
    gq: &mut [f32],
    gc: &mut [f32],
) {
    match norm {
        Norm::L1 => l1_grad(q, c, coef, gq, gc),
        Norm::L2 => l2_grad(q, c, d, coef, gq, gc),
    }
}

/// TransE's `‖h + r − t‖_p` of one triple's rows.
pub fn transe_distance(norm: Norm, h: &[f32], r: &[f32], t: &[f32]) -> f32 {
    let mut q = vec![0.0; h.len().min(r.len())];
    translate(h, r, 1.0, &mut q);
    distance(norm, &q, t)
}

// The gradient kernels index equal-length re-slices so LLVM drops the bounds checks and
// vectorises the selects.
#[inline]
fn l1_grad(q: &[f32], c: &[f32], coef: f32, gq: &mut [f32], gc: &mut [f32]) {
    let n = q.len().min(c.len()).min(gq.len()).min(gc.len());
    let (q, c, gq, gc) = (&q[..n], &c[..n], &mut gq[..n], &mut gc[..n]);
    for i in 0..n {
        // sign(0) is taken as +1: exact ties are measure-zero and a branch-free copysign vectorises.
        let x = coef * 1.0f32.copysign(q[i] - c[i]);
        gq[i] += x;
        gc[i] -= x;
    }
}

#[inline]
fn l2_grad(q: &[f32], c: &[f32], d: f32, coef: f32, gq: &mut [f32], gc: &mut [f32]) {
    if d <= f32::EPSILON {
        return;
    }
    let k = coef / d;
    let n = q.len().min(c.len()).min(gq.len()).min(gc.len());
    let (q, c, gq, gc) = (&q[..n], &c[..n], &mut gq[..n], &mut gc[..n]);
    for i in 0..n {
        let x = k * (q[i] - c[i]);
        gq[i] += x;
        gc[i] -= x;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn rows(n: usize) -> (Vec<f32>, Vec<f32>) {
        let a = (0..n).map(|i| i as f32 * 0.5 - 3.0).collect();
        let b = (0..n).map(|i| (i * i) as f32 * 0.1).collect();
        (a, b)
    }

    #[test]
    fn reductions_match_naive_sums_at_every_tail_length() {
        for n in [0, 1, 7, 8, 9, 11, 16, 19, 64] {
            let (a, b) = rows(n);
            let dot_ref: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            let l1_ref: f32 = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).sum();
            let l2_ref = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (x - y) * (x - y))
                .sum::<f32>()
                .sqrt();
            let tol = |r: f32| 1e-5 * r.abs().max(1.0);
            assert!((dot(&a, &b) - dot_ref).abs() < tol(dot_ref), "dot, n = {n}");
            assert!((distance(Norm::L1, &a, &b) - l1_ref).abs() < tol(l1_ref));
            assert!((distance(Norm::L2, &a, &b) - l2_ref).abs() < tol(l2_ref));
        }
    }

    #[test]
    fn axpy_matvec_and_translate_by_hand() {
        let mut y = [1.0, 2.0, 3.0];
        axpy(2.0, &[1.0, -1.0, 0.5], &mut y);
        assert_eq!(y, [3.0, 0.0, 4.0]);
        let mut out = [0.0; 2];
        matvec(&[1.0, 2.0, 3.0, 4.0], &[1.0, -1.0], &mut out);
        assert_eq!(out, [-1.0, -1.0]);
        let mut q = [0.0; 2];
        translate(&[1.0, 2.0], &[0.5, -1.0], -1.0, &mut q);
        assert_eq!(q, [0.5, 3.0]);
        matvec(&[], &[], &mut out);
        assert_eq!(out, [0.0, 0.0]);
    }

    #[test]
    fn transe_distance_by_hand() {
        // h + r − t = (1, 1).
        let (h, r, t) = ([1.0, 0.0], [0.0, 1.0], [0.0, 0.0]);
        assert_eq!(transe_distance(Norm::L1, &h, &r, &t), 2.0);
        assert!((transe_distance(Norm::L2, &h, &r, &t) - 2f32.sqrt()).abs() < 1e-6);
    }

    /// The analytic gradient against central differences of the distance, both norms, at a
    /// length with a tail past the lanes.
    #[test]
    fn gradient_matches_finite_differences() {
        let q: Vec<f32> = (0..11).map(|i| (i as f32 * 0.7).sin()).collect();
        let c: Vec<f32> = (0..11).map(|i| (i as f32 * 1.3).cos()).collect();
        for norm in [Norm::L1, Norm::L2] {
            let d = distance(norm, &q, &c);
            let (mut gq, mut gc) = (vec![0.0; 11], vec![0.0; 11]);
            distance_grad(norm, &q, &c, d, 2.0, &mut gq, &mut gc);
            for i in 0..11 {
                let h = 1e-3;
                let (mut up, mut down) = (q.clone(), q.clone());
                up[i] += h;
                down[i] -= h;
                let num = 2.0 * (distance(norm, &up, &c) - distance(norm, &down, &c)) / (2.0 * h);
                assert!((gq[i] - num).abs() < 1e-2, "{norm:?} coordinate {i}");
                assert_eq!(gc[i], -gq[i]);
            }
        }
    }

    #[test]
    fn l2_gradient_is_zero_at_zero_distance() {
        let q = [0.25f32; 5];
        let (mut gq, mut gc) = ([0.0; 5], [0.0; 5]);
        distance_grad(Norm::L2, &q, &q, 0.0, 1.0, &mut gq, &mut gc);
        assert_eq!(gq, [0.0; 5]);
        assert_eq!(gc, [0.0; 5]);
    }
}
