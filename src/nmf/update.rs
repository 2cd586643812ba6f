//! One factor's update given the other, for each solver.
//!
//! The problem is symmetric: with A (m × n) ≈ W·Hᵀᵀ, updating W uses A and
//! Hᵀ, and updating Hᵀ uses Aᵀ and W. Every function here therefore takes
//! `x` (rows × cols: A or Aᵀ), `other` (cols × k: the fixed factor) and
//! updates `f` (rows × k) in place. Rows of `f` are independent given the
//! products, so the work is parallel over fixed chunks of rows.

use ndarray::{Array2, ArrayView2, Axis, Zip};
use rayon::prelude::*;

use super::linalg::{DEFAULT_KERNEL, par_matmul, par_matmul_into};
use super::params::Penalty;

/// Rows of the factor updated by one task.
const ROWS_PER_TASK: usize = 256;

/// Gillis & Glineur's α: inner sweeps at most 1 + α·ρ, where ρ is the cost
/// of the products relative to one sweep. (They suggest 0.5 and ε = 0.1;
/// on ORL at k = 49, α = 0.75 with ε = 0.2 reaches scikit-learn's 200-
/// iteration error with a third less work: `facenmf bench`.)
pub const HALS_ALPHA: f64 = 0.75;
/// Gillis & Glineur's ε: stop the inner sweeps once a sweep changes the
/// factor by less than ε times what the first sweep did.
pub const HALS_EPSILON: f64 = 0.2;

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
    /// Inner sweeps done (HALS: the mean over blocks of rows), or 1.
    pub sweeps: f64,
}

/// Accelerated HALS: `p = x·other` once, then up to `max_inner` exact
/// coordinate sweeps over the columns of `f`, each row of `f` minimising
/// ½‖x_row − f_row·otherᵀ‖² + l1·Σf + ½·l2·‖f‖² over f ≥ 0.
///
/// `q` is `otherᵀ·other` (k × k). Each coordinate's gradient
/// (f·q − p)ⱼ is computed from the current row when it is needed: k
/// multiply-adds, vectorised across 16 rows at a time.
pub fn hals(
    x: ArrayView2<f32>,
    other: ArrayView2<f32>,
    q: ArrayView2<f32>,
    f: &mut Array2<f32>,
    pen: Penalty,
    max_inner: usize,
) -> Products {
    let mut p = Array2::zeros((0, 0));
    let sweeps = hals_in(x, other, q, f, pen, max_inner, &mut p, false);
    Products { p, sweeps }
}

/// [`hals`] with its product `x·other` made in `p`, a buffer the caller
/// keeps from one update to the next (reallocated only when its shape
/// differs) — or, with `p_ready`, taken from `p` as it is. Returns the
/// mean number of sweeps.
#[allow(clippy::too_many_arguments)]
pub fn hals_in(
    x: ArrayView2<f32>,
    other: ArrayView2<f32>,
    q: ArrayView2<f32>,
    f: &mut Array2<f32>,
    pen: Penalty,
    max_inner: usize,
    p: &mut Array2<f32>,
    p_ready: bool,
) -> f64 {
    if !p_ready {
        let shape = (x.nrows(), other.ncols());
        if p.dim() != shape {
            *p = Array2::zeros(shape);
        }
        par_matmul_into(DEFAULT_KERNEL, x, other, p.view_mut());
    }
    hals_with_products(p.view(), q, f, pen, max_inner, HALS_EPSILON)
}

/// The sweeps of [`hals`] for given `p` and `q`; returns the mean number
/// of sweeps per block of rows. Also the NNLS solver of `transform` (with a
/// tight `epsilon`).
///
/// Rows are independent given the products, so each block of [`LANES`]
/// rows is swept on its own, in a buffer that stays in L1 cache, until its
/// own sweeps stop paying: Gillis & Glineur's rule (stop once a sweep
/// changes the block by less than ε times what its first sweep did)
/// applied per block, so rows that converged early stop early. Blocks are
/// fixed by the shape, so the result does not depend on the thread count.
pub fn hals_with_products(
    p: ArrayView2<f32>,
    q: ArrayView2<f32>,
    f: &mut Array2<f32>,
    pen: Penalty,
    max_inner: usize,
    epsilon: f64,
) -> f64 {
    let (rows, k) = f.dim();
    if k == 0 || rows == 0 || max_inner == 0 {
        return 0.0;
    }
    let q = q.as_standard_layout();
    let q = q.as_slice().unwrap_or(&[]);
    debug_assert_eq!(q.len(), k * k);
    let inv_hess: Vec<f32> = (0..k)
        .map(|j| {
            let hess = q[j * k + j] + pen.l2;
            if hess > 0.0 { 1.0 / hess } else { 0.0 }
        })
        .collect();
    let sweep_block = sweep_block_fn();
    let eps_sq = epsilon * epsilon;
    let sweeps: usize = f
        .axis_chunks_iter_mut(Axis(0), ROWS_PER_TASK)
        .into_par_iter()
        .zip(p.axis_chunks_iter(Axis(0), ROWS_PER_TASK).into_par_iter())
        .map(|(mut f_task, p_task)| {
            // F and P of one block, stored [j][lane] (one row per lane).
            let mut fb = vec![0.0f32; k * LANES];
            let mut pb = vec![0.0f32; k * LANES];
            let mut sweeps = 0;
            for (mut f_rows, p_rows) in
                f_task.axis_chunks_iter_mut(Axis(0), LANES).zip(p_task.axis_chunks_iter(Axis(0), LANES))
            {
                to_lanes(f_rows.view(), &mut fb);
                to_lanes(p_rows, &mut pb);
                let mut first = 0.0f64;
                let mut done = 0;
                while done < max_inner {
                    let change = f64::from(sweep_block(&mut fb, &pb, q, &inv_hess, pen));
                    done += 1;
                    if done == 1 {
                        first = change;
                    } else if change <= eps_sq * first {
                        break;
                    }
                    if change == 0.0 {
                        break;
                    }
                }
                from_lanes(&fb, &mut f_rows);
                sweeps += done;
            }
            sweeps
        })
        .sum();
    sweeps as f64 / rows.div_ceil(LANES) as f64
}

/// Rows swept together, one per SIMD lane (16 f32 = one AVX-512 vector).
const LANES: usize = 16;

/// Copies up to LANES rows of `x` (rows × k) into `out`, stored [j][lane];
/// lanes past the last row are zero (a sweep leaves zero rows at zero).
fn to_lanes(x: ArrayView2<f32>, out: &mut [f32]) {
    let (rows, k) = x.dim();
    if rows < LANES {
        out.fill(0.0);
    }
    match x.as_slice() {
        Some(xs) if rows == LANES && out.len() == k * LANES => {
            for (j, lane) in out.chunks_exact_mut(LANES).enumerate() {
                for (r, o) in lane.iter_mut().enumerate() {
                    *o = xs[r * k + j];
                }
            }
        }
        _ => {
            for (r, row) in x.rows().into_iter().enumerate() {
                for (o, &v) in out.iter_mut().skip(r).step_by(LANES).zip(row) {
                    *o = v;
                }
            }
        }
    }
}

/// Writes lanes made by [`to_lanes`] back into the rows of `x`.
fn from_lanes(lanes: &[f32], x: &mut ndarray::ArrayViewMut2<f32>) {
    for (r, mut row) in x.rows_mut().into_iter().enumerate() {
        match row.as_slice_mut() {
            Some(row) => {
                for (v, &l) in row.iter_mut().zip(lanes.iter().skip(r).step_by(LANES)) {
                    *v = l;
                }
            }
            None => {
                for (v, &l) in row.iter_mut().zip(lanes.iter().skip(r).step_by(LANES)) {
                    *v = l;
                }
            }
        }
    }
}

/// Factor entries (and changes) below this are flushed to zero, keeping all
/// arithmetic clear of subnormal numbers (f32's smallest normal is 1.2e-38),
/// which would slow every later product with them by ~100×.
pub(crate) const FLUSH: f32 = 1e-30;

/// `v`, or 0 when it is below [`FLUSH`].
#[inline]
fn flush(v: f32) -> f32 {
    if v < FLUSH { 0.0 } else { v }
}

/// One coordinate sweep over a block of LANES rows of F, with the same
/// rows of P (both stored [j][lane]); returns the squared size of the change.
type SweepBlock = fn(&mut [f32], &[f32], &[f32], &[f32], Penalty) -> f32;

/// The fastest [`SweepBlock`] this CPU runs. Chosen the same way on every
/// thread, so results do not depend on the thread count.
fn sweep_block_fn() -> SweepBlock {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return |f, p, q, inv, pen| {
                // SAFETY: the CPU supports AVX-512F (checked above).
                unsafe { sweep_block_avx512(f, p, q, inv, pen) }
            };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            return |f, p, q, inv, pen| {
                // SAFETY: the CPU supports AVX2 and FMA (checked above).
                unsafe { sweep_block_avx2(f, p, q, inv, pen) }
            };
        }
    }
    sweep_block_portable
}

/// Columns whose gradients are accumulated together in the SIMD sweeps.
///
/// A coordinate's gradient depends on every column before it in the sweep,
/// so computing them one by one is a chain of dependent reductions. Instead
/// the gradients of COL_BLOCK columns are accumulated at once from the
/// block's values at its start (independent FMA chains, each value of F
/// loaded once for all of them), and the changes made within the block are
/// added in afterwards: the same exact coordinate updates, in a different
/// order of additions.
const COL_BLOCK: usize = 8;

/// `f::<B>(args)` with the const generic B = `cols` (1 to [`COL_BLOCK`]).
#[cfg(target_arch = "x86_64")]
macro_rules! with_cols {
    ($cols:expr, $f:ident($($arg:expr),*)) => {
        match $cols {
            8 => $f::<8>($($arg),*),
            7 => $f::<7>($($arg),*),
            6 => $f::<6>($($arg),*),
            5 => $f::<5>($($arg),*),
            4 => $f::<4>($($arg),*),
            3 => $f::<3>($($arg),*),
            2 => $f::<2>($($arg),*),
            _ => $f::<1>($($arg),*),
        }
    };
}

/// [`sweep_block_portable`] with AVX-512: one 16-lane vector per column.
///
/// # Safety
/// The CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn sweep_block_avx512(f: &mut [f32], p: &[f32], q: &[f32], inv_hess: &[f32], pen: Penalty) -> f32 {
    use std::arch::x86_64::*;
    let k = inv_hess.len();
    if f.len() != k * LANES || p.len() != k * LANES || q.len() != k * k {
        return 0.0;
    }
    let mut change = _mm512_setzero_ps();
    let mut j0 = 0;
    while j0 < k {
        let cols = (k - j0).min(COL_BLOCK);
        // SAFETY: j0 + cols ≤ k and the lengths were checked above.
        change = unsafe { with_cols!(cols, cols_avx512(f, p, q, inv_hess, pen, j0, change)) };
        j0 += cols;
    }
    _mm512_reduce_add_ps(change)
}

/// Columns `j0..j0 + B` of [`sweep_block_avx512`]; returns `change` plus
/// the squared changes made.
///
/// # Safety
/// The CPU must support AVX-512F; `j0 + B ≤ k` with `f`, `p` of length
/// k·LANES and `q` of length k².
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn cols_avx512<const B: usize>(
    f: &mut [f32],
    p: &[f32],
    q: &[f32],
    inv_hess: &[f32],
    pen: Penalty,
    j0: usize,
    mut change: std::arch::x86_64::__m512,
) -> std::arch::x86_64::__m512 {
    use std::arch::x86_64::*;
    let k = inv_hess.len();
    let (fp, pp, qp) = (f.as_mut_ptr(), p.as_ptr(), q.as_ptr());
    let zero = _mm512_setzero_ps();
    let flush_v = _mm512_set1_ps(FLUSH);
    let (l1, l2) = (_mm512_set1_ps(pen.l1), _mm512_set1_ps(pen.l2));
    // SAFETY (all pointer arithmetic below): l < k, j0 + u < k, and the
    // caller guarantees the lengths.
    unsafe {
        // (f·q)ⱼ for the B columns from the values at the block's start.
        let mut acc = [zero; B];
        for l in 0..k {
            let fl = _mm512_loadu_ps(fp.add(l * LANES));
            let ql = qp.add(l * k + j0);
            for (u, a) in acc.iter_mut().enumerate() {
                *a = _mm512_fmadd_ps(fl, _mm512_set1_ps(*ql.add(u)), *a);
            }
        }
        let mut moved_by = [zero; B];
        for u in 0..B {
            let j = j0 + u;
            let inv = *inv_hess.get_unchecked(j);
            if inv == 0.0 {
                continue;
            }
            // Add what the block's earlier columns changed.
            let mut fq = acc[u];
            for (v, d) in moved_by.iter().enumerate().take(u) {
                fq = _mm512_fmadd_ps(*d, _mm512_set1_ps(*qp.add((j0 + v) * k + j)), fq);
            }
            let old = _mm512_loadu_ps(fp.add(j * LANES));
            let grad = _mm512_add_ps(
                _mm512_add_ps(_mm512_sub_ps(fq, _mm512_loadu_ps(pp.add(j * LANES))), l1),
                _mm512_mul_ps(l2, old),
            );
            let new = _mm512_max_ps(zero, _mm512_sub_ps(old, _mm512_mul_ps(grad, _mm512_set1_ps(inv))));
            let new = _mm512_mask_blend_ps(_mm512_cmp_ps_mask::<_CMP_LT_OQ>(new, flush_v), new, zero);
            let d = _mm512_sub_ps(new, old);
            let moved = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(_mm512_abs_ps(d), flush_v);
            let d = _mm512_maskz_mov_ps(moved, d);
            _mm512_storeu_ps(fp.add(j * LANES), _mm512_mask_blend_ps(moved, old, new));
            change = _mm512_fmadd_ps(d, d, change);
            moved_by[u] = d;
        }
    }
    change
}

/// Columns whose gradients the AVX2 sweep accumulates together: with both
/// 8-lane halves of a block in one pass, 2·6 accumulators, two values of F
/// and a broadcast fill 15 of the 16 registers, and each step of the
/// accumulation loads 8 numbers for 12 FMAs (one half at a time with 8
/// columns: 9 loads for 8 FMAs, load-bound).
const COL_BLOCK_AVX2: usize = 6;

/// [`sweep_block_portable`] with AVX2 and FMA: two 8-lane vectors per
/// column, columns in blocks as in [`sweep_block_avx512`].
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn sweep_block_avx2(f: &mut [f32], p: &[f32], q: &[f32], inv_hess: &[f32], pen: Penalty) -> f32 {
    use std::arch::x86_64::*;
    let k = inv_hess.len();
    if f.len() != k * LANES || p.len() != k * LANES || q.len() != k * k {
        return 0.0;
    }
    let mut change = _mm256_setzero_ps();
    let mut j0 = 0;
    while j0 < k {
        let cols = (k - j0).min(COL_BLOCK_AVX2);
        // SAFETY: j0 + cols ≤ k and the lengths were checked.
        change = unsafe {
            match cols {
                6 => cols_avx2::<6>(f, p, q, inv_hess, pen, j0, change),
                5 => cols_avx2::<5>(f, p, q, inv_hess, pen, j0, change),
                4 => cols_avx2::<4>(f, p, q, inv_hess, pen, j0, change),
                3 => cols_avx2::<3>(f, p, q, inv_hess, pen, j0, change),
                2 => cols_avx2::<2>(f, p, q, inv_hess, pen, j0, change),
                _ => cols_avx2::<1>(f, p, q, inv_hess, pen, j0, change),
            }
        };
        j0 += cols;
    }
    let mut lanes = [0.0f32; 8];
    // SAFETY: `lanes` holds 8 f32.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), change) };
    lanes.iter().sum()
}

/// Columns `j0..j0 + B` of [`sweep_block_avx2`], both 8-lane halves.
///
/// # Safety
/// The CPU must support AVX2 and FMA; `j0 + B ≤ k`, with `f`, `p` of
/// length k·LANES and `q` of length k².
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn cols_avx2<const B: usize>(
    f: &mut [f32],
    p: &[f32],
    q: &[f32],
    inv_hess: &[f32],
    pen: Penalty,
    j0: usize,
    mut change: std::arch::x86_64::__m256,
) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    let k = inv_hess.len();
    let (fp, pp, qp) = (f.as_mut_ptr(), p.as_ptr(), q.as_ptr());
    let zero = _mm256_setzero_ps();
    let flush_v = _mm256_set1_ps(FLUSH);
    let sign = _mm256_set1_ps(-0.0);
    let (l1, l2) = (_mm256_set1_ps(pen.l1), _mm256_set1_ps(pen.l2));
    // SAFETY (all pointer arithmetic below): l < k, j0 + u < k, the
    // offsets 0 and 8 stay inside a row of LANES, and the caller
    // guarantees the lengths.
    unsafe {
        // (f·q)ⱼ for the B columns from the values at the block's start.
        let mut acc = [[zero; B]; 2];
        for l in 0..k {
            let f0 = _mm256_loadu_ps(fp.add(l * LANES));
            let f1 = _mm256_loadu_ps(fp.add(l * LANES + 8));
            let ql = qp.add(l * k + j0);
            let [acc0, acc1] = &mut acc;
            for (u, (a0, a1)) in acc0.iter_mut().zip(acc1.iter_mut()).enumerate() {
                let c = _mm256_set1_ps(*ql.add(u));
                *a0 = _mm256_fmadd_ps(f0, c, *a0);
                *a1 = _mm256_fmadd_ps(f1, c, *a1);
            }
        }
        let mut moved_by = [[zero; B]; 2];
        for u in 0..B {
            let j = j0 + u;
            let inv = *inv_hess.get_unchecked(j);
            if inv == 0.0 {
                continue;
            }
            let inv_v = _mm256_set1_ps(inv);
            for half in 0..2 {
                // Add what the block's earlier columns changed.
                let mut fq = acc[half][u];
                for (v, d) in moved_by[half].iter().enumerate().take(u) {
                    fq = _mm256_fmadd_ps(*d, _mm256_set1_ps(*qp.add((j0 + v) * k + j)), fq);
                }
                let at = fp.add(j * LANES + 8 * half);
                let old = _mm256_loadu_ps(at);
                let grad = _mm256_add_ps(
                    _mm256_add_ps(_mm256_sub_ps(fq, _mm256_loadu_ps(pp.add(j * LANES + 8 * half))), l1),
                    _mm256_mul_ps(l2, old),
                );
                let new = _mm256_max_ps(zero, _mm256_sub_ps(old, _mm256_mul_ps(grad, inv_v)));
                let new = _mm256_blendv_ps(new, zero, _mm256_cmp_ps::<_CMP_LT_OQ>(new, flush_v));
                let delta = _mm256_sub_ps(new, old);
                let moved = _mm256_cmp_ps::<_CMP_GT_OQ>(_mm256_andnot_ps(sign, delta), flush_v);
                let delta = _mm256_and_ps(delta, moved);
                _mm256_storeu_ps(at, _mm256_blendv_ps(old, new, moved));
                change = _mm256_fmadd_ps(delta, delta, change);
                moved_by[half][u] = delta;
            }
        }
    }
    change
}

/// The sweep in portable code (the SIMD variants do the same per lane).
/// For each column j, every row r minimises over f[j][r] ≥ 0 exactly:
/// f ← max(0, f − (g + l1 + l2·f) / (q[j][j] + l2)) with the gradient
/// g = Σₗ f[l][r]·q[l][j] − p[j][r] from the row's current values.
/// `inv_hess[j]` is 1 / (q[j][j] + l2), or 0 to skip column j.
fn sweep_block_portable(f: &mut [f32], p: &[f32], q: &[f32], inv_hess: &[f32], pen: Penalty) -> f32 {
    let k = inv_hess.len();
    if f.len() != k * LANES || p.len() != k * LANES || q.len() != k * k {
        return 0.0;
    }
    let mut change = 0.0f32;
    for (j, &inv) in inv_hess.iter().enumerate() {
        if inv == 0.0 {
            continue;
        }
        let mut fq = [0.0f32; LANES];
        for l in 0..k {
            let c = q[j * k + l];
            for (acc, &fl) in fq.iter_mut().zip(&f[l * LANES..(l + 1) * LANES]) {
                *acc += fl * c;
            }
        }
        for r in 0..LANES {
            let old = f[j * LANES + r];
            let grad = fq[r] - p[j * LANES + r] + pen.l1 + pen.l2 * old;
            let new = flush((old - grad * inv).max(0.0));
            let delta = new - old;
            if delta.abs() > FLUSH {
                f[j * LANES + r] = new;
                change += delta * delta;
            }
        }
    }
    change
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
                *fv = flush(*fv * (pv / d.max(MU_EPS)));
            });
        });
    Products { p, sweeps: 1.0 }
}

/// Smallest value of W·H used in a KL ratio A / (W·H).
pub const KL_EPS: f32 = 1e-10;

/// The ratio of a KL update: `approx` (rows × cols, = f·otherᵀ) is
/// overwritten with x / approx (0 where x is 0).
pub fn kl_ratio(x: ArrayView2<f32>, approx: &mut Array2<f32>) {
    approx
        .axis_chunks_iter_mut(Axis(0), ROWS_PER_TASK)
        .into_par_iter()
        .zip(x.axis_chunks_iter(Axis(0), ROWS_PER_TASK).into_par_iter())
        .for_each(|(mut vc, xc)| {
            Zip::from(&mut vc).and(&xc).for_each(|v, &a| *v = if a > 0.0 { a / v.max(KL_EPS) } else { 0.0 });
        });
}

/// Lee & Seung's multiplicative update for KL(x ‖ f·otherᵀ), given
/// `ratio` = x / (f·otherᵀ) (rows × cols, from [`kl_ratio`] or
/// [`kl_loss_and_ratio`]): f ← f ∘ (ratio·other) / (colsum(other) + l1 + l2·f).
pub fn kl_update(ratio: ArrayView2<f32>, other: ArrayView2<f32>, f: &mut Array2<f32>, pen: Penalty) {
    let numer = par_matmul(ratio, other);
    let colsum = other.sum_axis(Axis(0));
    f.axis_chunks_iter_mut(Axis(0), ROWS_PER_TASK)
        .into_par_iter()
        .zip(numer.axis_chunks_iter(Axis(0), ROWS_PER_TASK).into_par_iter())
        .for_each(|(mut fc, nc)| {
            Zip::from(fc.rows_mut()).and(nc.rows()).for_each(|mut fr, nr| {
                Zip::from(&mut fr).and(&nr).and(&colsum).for_each(|fv, &nv, &cs| {
                    let d = cs + pen.l1 + pen.l2 * *fv;
                    *fv = flush(*fv * (nv / d.max(MU_EPS)));
                });
            });
        });
}

/// Natural logarithm of a positive, finite f32, branch-free so that loops
/// over it vectorise (Cephes' `logf`: within 2 ulp on normal numbers). For
/// x = 0 or subnormal x it returns a large negative number, not −∞.
#[inline(always)]
pub fn ln_f32(x: f32) -> f32 {
    const SQRT_HALF: f32 = std::f32::consts::FRAC_1_SQRT_2;
    let bits = x.to_bits();
    // x = m · 2^e with m in [0.5, 1).
    let mut e = ((bits >> 23) & 0xff) as i32 - 126;
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f00_0000);
    let small = m < SQRT_HALF;
    e -= i32::from(small);
    m = if small { m + m - 1.0 } else { m - 1.0 };
    let z = m * m;
    let mut y = 7.037_683_6e-2f32;
    y = y * m - 1.151_461e-1;
    y = y * m + 1.167_699_9e-1;
    y = y * m - 1.242_014_1e-1;
    y = y * m + 1.424_932_3e-1;
    y = y * m - 1.666_805_8e-1;
    y = y * m + 2.000_071_4e-1;
    y = y * m - 2.499_999_4e-1;
    y = y * m + 3.333_333e-1;
    y *= m * z;
    let ef = e as f32;
    y += -2.121_944_4e-4 * ef;
    y += -0.5 * z;
    m + y + 0.693_359_4 * ef
}

/// (KL(x ‖ approx), ‖x − approx‖²), both accumulated in f64, in one pass
/// that also overwrites `approx` with the ratio x / approx of the next KL
/// update ([`kl_ratio`]).
pub fn kl_loss_and_ratio(x: ArrayView2<f32>, approx: &mut Array2<f32>) -> (f64, f64) {
    let partials: Vec<(f64, f64)> = approx
        .axis_chunks_iter_mut(Axis(0), ROWS_PER_TASK)
        .into_par_iter()
        .zip(x.axis_chunks_iter(Axis(0), ROWS_PER_TASK).into_par_iter())
        .map(|(mut vc, xc)| {
            let (mut kl, mut sq) = (0.0f64, 0.0f64);
            Zip::from(xc.rows()).and(vc.rows_mut()).for_each(|xr, mut vr| {
                // Per row in f32 (ln in f32 is ~4× faster than in f64), then
                // accumulated in f64.
                let (mut kl_row, mut sq_row) = (0.0f32, 0.0f32);
                if let (Some(xs), Some(vs)) = (xr.as_slice(), vr.as_slice_mut()) {
                    // Sixteen independent partial sums, so the loop vectorises.
                    let (mut kl_lanes, mut sq_lanes) = ([0.0f32; 16], [0.0f32; 16]);
                    let mut xc = xs.chunks_exact(16);
                    let mut vc = vs.chunks_exact_mut(16);
                    for (x16, v16) in (&mut xc).zip(&mut vc) {
                        for l in 0..16 {
                            let (a, v) = (x16[l], v16[l]);
                            let r = a / v.max(KL_EPS);
                            let term = a * ln_f32(r) - a + v;
                            kl_lanes[l] += if a > 0.0 { term } else { v };
                            sq_lanes[l] += (a - v) * (a - v);
                            v16[l] = if a > 0.0 { r } else { 0.0 };
                        }
                    }
                    for (&a, v) in xc.remainder().iter().zip(vc.into_remainder()) {
                        let r = a / v.max(KL_EPS);
                        kl_row += if a > 0.0 { a * ln_f32(r) - a + *v } else { *v };
                        sq_row += (a - *v) * (a - *v);
                        *v = if a > 0.0 { r } else { 0.0 };
                    }
                    kl_row += kl_lanes.iter().sum::<f32>();
                    sq_row += sq_lanes.iter().sum::<f32>();
                } else {
                    Zip::from(&xr).and(&mut vr).for_each(|&a, v| {
                        let r = a / v.max(KL_EPS);
                        kl_row += if a > 0.0 { a * r.ln() - a + *v } else { *v };
                        sq_row += (a - *v) * (a - *v);
                        *v = if a > 0.0 { r } else { 0.0 };
                    });
                }
                kl += f64::from(kl_row);
                sq += f64::from(sq_row);
            });
            (kl, sq)
        })
        .collect();
    let (kl, sq) = partials.iter().fold((0.0, 0.0), |(a, b), &(c, d)| (a + c, b + d));
    // Every term a·ln(a/v) − a + v is ≥ 0 (ln t ≤ t − 1), so a negative sum
    // can only be the f32 logarithm's rounding on a near-exact fit: it is 0.
    (kl.max(0.0), sq)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_ln_matches_std() {
        let mut x = 1e-30f32;
        while x < 1e30 {
            let (got, want) = (ln_f32(x), x.ln());
            assert!((got - want).abs() <= 2e-7 * want.abs().max(1.0), "ln({x}) = {got}, want {want}");
            x *= 1.0137;
        }
        assert_eq!(ln_f32(1.0), 0.0);
    }

    /// The SIMD sweep this CPU uses agrees with the portable one.
    #[test]
    fn simd_sweep_matches_portable_sweep() {
        for k in [1usize, 3, 4, 7, 8, 9, 16, 49] {
            let x = Array2::from_shape_fn((40, k), |(i, j)| ((i * 13 + j * 7) % 11) as f32 / 11.0 + 0.05);
            let q = x.t().dot(&x);
            let q = q.as_slice().expect("standard layout").to_vec();
            let f0: Vec<f32> = (0..k * LANES).map(|i| ((i * 37) % 17) as f32 / 17.0).collect();
            let p: Vec<f32> = (0..k * LANES).map(|i| ((i * 29) % 23) as f32 / 5.0).collect();
            let inv: Vec<f32> = (0..k).map(|j| 1.0 / q[j * k + j]).collect();
            for pen in [Penalty::default(), Penalty { l1: 0.1, l2: 0.2 }] {
                let mut b = f0.clone();
                let cb = sweep_block_portable(&mut b, &p, &q, &inv, pen);
                let mut kernels: Vec<(&str, SweepBlock)> = vec![("fastest", sweep_block_fn())];
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU supports AVX2 and FMA (checked above).
                    kernels.push(("avx2", |f, p, q, inv, pen| unsafe { sweep_block_avx2(f, p, q, inv, pen) }));
                }
                for (name, kernel) in kernels {
                    let mut a = f0.clone();
                    let ca = kernel(&mut a, &p, &q, &inv, pen);
                    for (x, y) in a.iter().zip(&b) {
                        assert!((x - y).abs() <= 1e-4 * (1.0 + y.abs()), "{name}, k={k}: {x} vs {y}");
                    }
                    assert!((ca - cb).abs() <= 1e-3 * (1.0 + cb.abs()), "{name}, k={k}: change {ca} vs {cb}");
                    assert!(a.iter().all(|&v| v >= 0.0));
                }
            }
        }
    }
}
