//! Small dense kernels on `f32` slices shared by the trainers. Sums use 8 independent accumulators
//! so the compiler can vectorise them (a single running sum is a serial dependency chain).

/// `a · b` over the common length.
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ar, br) = (ac.remainder(), bc.remainder());
    for (x, y) in ac.zip(bc) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut s = acc.iter().sum::<f32>();
    for (x, y) in ar.iter().zip(br) {
        s += x * y;
    }
    s
}

/// `y += a * x`.
#[inline]
pub(crate) fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// `out = m · v` for a row-major `d×d` matrix `m`.
#[inline]
pub(crate) fn matvec(m: &[f32], v: &[f32], out: &mut [f32]) {
    let d = v.len();
    for (o, row) in out.iter_mut().zip(m.chunks_exact(d)) {
        *o = dot(row, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_match_naive_sums() {
        let a: Vec<f32> = (0..19).map(|x| x as f32 * 0.5 - 3.0).collect();
        let b: Vec<f32> = (0..19).map(|x| (x * x) as f32 * 0.1).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-3 * naive.abs().max(1.0));
        let mut y = b.clone();
        axpy(2.0, &a, &mut y);
        assert_eq!(y[3], b[3] + 2.0 * a[3]);
        let m = [1.0, 2.0, 3.0, 4.0];
        let mut out = [0.0; 2];
        matvec(&m, &[1.0, -1.0], &mut out);
        assert_eq!(out, [-1.0, -1.0]);
    }
}
