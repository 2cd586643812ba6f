//! One factor's update given the other, for each solver.
//!
//! The problem is symmetric: with A (m × n) ≈ W·Hᵀᵀ, updating W uses A and
//! Hᵀ, and updating Hᵀ uses Aᵀ and W. Every function here therefore takes
//! `x` (rows × cols: A or Aᵀ), `other` (cols × k: the fixed factor) and
//! updates `f` (rows × k) in place. Rows of `f` are independent given the
//! products, so the work is parallel over fixed chunks of rows.

use ndarray::{Array2, ArrayView2, ArrayViewMut1, Axis, Zip};
use rayon::prelude::*;

use super::linalg::par_matmul;
use super::params::Penalty;

/// Rows of the factor updated by one task.
const ROWS_PER_TASK: usize = 256;

/// Gillis & Glineur's α: inner sweeps at most 1 + α·ρ, where ρ is the cost
/// of the products relative to one sweep.
pub const HALS_ALPHA: f64 = 0.5;
/// Gillis & Glineur's ε: stop the inner sweeps once a sweep changes the
/// factor by less than ε times what the first sweep did.
pub const HALS_EPSILON: f64 = 0.1;

/// Smallest denominator of a multiplicative update (scikit-learn's choice:
/// f32's machine epsilon).
const MU_EPS: f32 = f32::EPSILON;

/// The most inner HALS sweeps worth doing on a factor with `rows` rows of
/// data with `cols` columns at rank `k` (Gillis & Glineur 2012, §3).
pub fn hals_max_inner(rows: usize, cols: usize, k: usize) -> usize {
    let (r, c, k) = (rows as f64, cols as f64, k as f64);
    let rho = 1.0 + (r * c * k + c * k * k) / (r * k * k + r * k);
    1 + (HALS_ALPHA * rho).floor() as usize
}

/// What an update computed on the way, reused by the caller.
pub struct Products {
    /// `x · other` (rows × k).
    pub p: Array2<f32>,
    /// Inner sweeps done (HALS), or 1.
    pub sweeps: usize,
}

/// Accelerated HALS: `p = x·other` once, then up to `max_inner` exact
/// coordinate sweeps over the columns of `f`, each row of `f` minimising
/// ½‖x_row − f_row·otherᵀ‖² + l1·Σf + ½·l2·‖f‖² over f ≥ 0.
///
/// `q` is `otherᵀ·other` (k × k). The gradient g = f·q − p is computed
/// once by a matrix product and kept current as entries change, so a
/// sweep costs O(k) per entry that moves, and nothing for entries that
/// stay clipped at zero.
pub fn hals(
    x: ArrayView2<f32>,
    other: ArrayView2<f32>,
    q: ArrayView2<f32>,
    f: &mut Array2<f32>,
    pen: Penalty,
    max_inner: usize,
) -> Products {
    let p = par_matmul(x, other);
    let sweeps = hals_with_products(p.view(), q, f, pen, max_inner, HALS_EPSILON);
    Products { p, sweeps }
}

/// The sweeps of [`hals`] for given `p` and `q`; returns how many ran.
/// Also the NNLS solver of `transform` (with a tight `epsilon`).
pub fn hals_with_products(
    p: ArrayView2<f32>,
    q: ArrayView2<f32>,
    f: &mut Array2<f32>,
    pen: Penalty,
    max_inner: usize,
    epsilon: f64,
) -> usize {
    let k = f.ncols();
    let mut g = par_matmul(f.view(), q);
    g -= &p;
    let q = q.as_standard_layout();
    let q = q.as_slice().unwrap_or(&[]);
    debug_assert_eq!(q.len(), k * k);
    let mut first = 0.0f64;
    let mut sweeps = 0;
    while sweeps < max_inner {
        let partials: Vec<f64> = f
            .axis_chunks_iter_mut(Axis(0), ROWS_PER_TASK)
            .into_par_iter()
            .zip(g.axis_chunks_iter_mut(Axis(0), ROWS_PER_TASK).into_par_iter())
            .map(|(mut fc, mut gc)| {
                let mut change = 0.0f64;
                Zip::from(fc.rows_mut()).and(gc.rows_mut()).for_each(|fr, gr| {
                    change += sweep_row(fr, gr, q, k, pen);
                });
                change
            })
            .collect();
        let change: f64 = partials.iter().sum();
        sweeps += 1;
        if sweeps == 1 {
            first = change;
        } else if change <= epsilon * epsilon * first {
            break;
        }
        if change == 0.0 {
            break;
        }
    }
    sweeps
}

/// One coordinate sweep over a row; returns the squared size of the change.
fn sweep_row(mut f: ArrayViewMut1<f32>, mut g: ArrayViewMut1<f32>, q: &[f32], k: usize, pen: Penalty) -> f64 {
    let (Some(f), Some(g)) = (f.as_slice_mut(), g.as_slice_mut()) else {
        return 0.0;
    };
    let mut change = 0.0f32;
    for j in 0..k {
        let qj = &q[j * k..(j + 1) * k];
        let hess = qj[j] + pen.l2;
        if hess <= 0.0 {
            continue;
        }
        let old = f[j];
        let new = (old - (g[j] + pen.l1 + pen.l2 * old) / hess).max(0.0);
        if new != old {
            let d = new - old;
            f[j] = new;
            change += d * d;
            for (gl, &ql) in g.iter_mut().zip(qj) {
                *gl += d * ql;
            }
        }
    }
    f64::from(change)
}

/// Lee & Seung's multiplicative update for the Frobenius loss:
/// f ← f ∘ (x·other) / (f·q + l1 + l2·f).
pub fn mu(
    x: ArrayView2<f32>,
    other: ArrayView2<f32>,
    q: ArrayView2<f32>,
    f: &mut Array2<f32>,
    pen: Penalty,
) -> Products {
    let p = par_matmul(x, other);
    let denom = par_matmul(f.view(), q);
    f.axis_chunks_iter_mut(Axis(0), ROWS_PER_TASK)
        .into_par_iter()
        .zip(p.axis_chunks_iter(Axis(0), ROWS_PER_TASK).into_par_iter())
        .zip(denom.axis_chunks_iter(Axis(0), ROWS_PER_TASK).into_par_iter())
        .for_each(|((mut fc, pc), dc)| {
            Zip::from(&mut fc).and(&pc).and(&dc).for_each(|fv, &pv, &dv| {
                let d = dv + pen.l1 + pen.l2 * *fv;
                *fv *= pv / d.max(MU_EPS);
            });
        });
    Products { p, sweeps: 1 }
}

/// Smallest value of W·H used in a KL ratio A / (W·H).
pub const KL_EPS: f32 = 1e-10;

/// Lee & Seung's multiplicative update for KL(x ‖ f·otherᵀ), given
/// `approx` = f·otherᵀ (rows × cols), which it overwrites with the ratio
/// x / approx: f ← f ∘ (ratio·other) / (colsum(other) + l1 + l2·f).
pub fn kl(x: ArrayView2<f32>, other: ArrayView2<f32>, approx: &mut Array2<f32>, f: &mut Array2<f32>, pen: Penalty) {
    approx
        .axis_chunks_iter_mut(Axis(0), ROWS_PER_TASK)
        .into_par_iter()
        .zip(x.axis_chunks_iter(Axis(0), ROWS_PER_TASK).into_par_iter())
        .for_each(|(mut vc, xc)| {
            Zip::from(&mut vc).and(&xc).for_each(|v, &a| *v = if a > 0.0 { a / v.max(KL_EPS) } else { 0.0 });
        });
    let numer = par_matmul(approx.view(), other);
    let colsum = other.sum_axis(Axis(0));
    f.axis_chunks_iter_mut(Axis(0), ROWS_PER_TASK)
        .into_par_iter()
        .zip(numer.axis_chunks_iter(Axis(0), ROWS_PER_TASK).into_par_iter())
        .for_each(|(mut fc, nc)| {
            Zip::from(fc.rows_mut()).and(nc.rows()).for_each(|mut fr, nr| {
                Zip::from(&mut fr).and(&nr).and(&colsum).for_each(|fv, &nv, &cs| {
                    let d = cs + pen.l1 + pen.l2 * *fv;
                    *fv *= nv / d.max(MU_EPS);
                });
            });
        });
}

/// (KL(x ‖ approx), ‖x − approx‖²), both accumulated in f64.
pub fn kl_and_residual(x: ArrayView2<f32>, approx: ArrayView2<f32>) -> (f64, f64) {
    let partials: Vec<(f64, f64)> = x
        .axis_chunks_iter(Axis(0), ROWS_PER_TASK)
        .into_par_iter()
        .zip(approx.axis_chunks_iter(Axis(0), ROWS_PER_TASK).into_par_iter())
        .map(|(xc, vc)| {
            let (mut kl, mut sq) = (0.0f64, 0.0f64);
            Zip::from(&xc).and(&vc).for_each(|&a, &v| {
                let (a, v) = (f64::from(a), f64::from(v));
                let vs = v.max(f64::from(KL_EPS));
                kl += if a > 0.0 { a * (a / vs).ln() - a + v } else { v };
                sq += (a - v) * (a - v);
            });
            (kl, sq)
        })
        .collect();
    partials.iter().fold((0.0, 0.0), |(a, b), &(c, d)| (a + c, b + d))
}
