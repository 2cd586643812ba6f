//! Hoyer's sparseness constraint (Hoyer, "Non-negative matrix factorization
//! with sparseness constraints", JMLR 5, 2004).
//!
//! The sparseness of a vector x of length n is
//!
//! s(x) = (√n − ‖x‖₁/‖x‖₂) / (√n − 1),
//!
//! 0 when all entries are equal, 1 when one entry is non-zero. It depends
//! only on the ratio ‖x‖₁/‖x‖₂, so holding a vector at sparseness s means
//! holding that ratio at [`ratio_for`]`(n, s)`. The core operation is
//! Hoyer's projection: the closest point to a vector t in
//!
//! S = {x ≥ 0, ‖x‖₁ = L1, ‖x‖₂ = L2}.
//!
//! # The projection
//!
//! [`project_hoyer`] is Hoyer's algorithm as published: project onto the
//! hyperplane Σx = L1, then onto the sphere ‖x‖₂ = L2 around the centre of
//! the simplex, zero the components that became negative, and repeat on the
//! components left. Every iterate is an affine function of t with positive
//! slope on the components still in play, so the result is a thresholded,
//! scaled copy of t:
//!
//! x = L2 · (t − α)₊ / ‖(t − α)₊‖₂,
//!
//! which is also what the KKT conditions of max ⟨x, t⟩ over S give (Thom &
//! Palm 2013, "Sparse activity and sparse connectivity in supervised
//! learning", JMLR 14, who prove the algorithm correct). For a given support
//! I (|I| = d, mean μ and scatter V = Σ_I (tᵢ − μ)² of t on I), the
//! threshold that gives the ratio ρ = L1/L2 solves a quadratic:
//!
//! α_I = μ − ρ·√(V / (d·(d − ρ²))).
//!
//! Hoyer's iteration is therefore the fixed-point iteration α ← α_{I(α)}
//! with I(α) = {i : tᵢ > α}, started from the whole vector (α = −∞): the
//! threshold rises and the support shrinks until no component leaves it.
//! [`project`] runs exactly that iteration on sums alone: each pass is one
//! vectorised scan of t for d, Σt and Σt² over {tᵢ > α}, instead of
//! Hoyer's update of the whole vector, and the answer is computed from the
//! sums over the final support. [`project_sorted`] finds the same threshold
//! by sorting (O(n log n)); both are checks on [`project`].
//!
//! The iteration may also start from any α below the answer, and whether a
//! guess is below is known after one pass: for α below the answer the
//! support's own threshold α_{I(α)} lies above α, for α above it lies
//! below (the ratio of (t − α)₊ falls as α rises). The solver keeps each
//! column's last threshold as the next guess (and, when the guess turns out
//! too high, tries its support's threshold once): about 3.3 passes per
//! projection on ORL at s = 0.75 instead of about 7 from −∞.
//!
//! # The update
//!
//! [`hals`] is HALS with every column projected: each column is replaced
//! by the exact minimiser of the objective over that column given the
//! others, under the constraint, so the objective never increases (see
//! there). Measured against Hoyer's own update (projected gradient on W
//! with his step control: halve the step until the objective falls, then
//! grow it by 1.2; HALS on H) on ORL at k = 49, s = 0.75, 300 iterations
//! from nndsvda: projected gradient reached rel_err 0.197 with one step per
//! iteration and 0.182 with five (in 2.4× the time of this update); this
//! update reaches 0.169 with a single sweep per iteration and 0.168 with
//! the default sweeps.
//!
//! When the maximum of t is shared by more than ρ² components no threshold
//! reaches the ratio (every point of S on those components is equally
//! close); the tie is then broken by position, deterministically: see
//! [`project`].

use std::cmp::Ordering;

use ndarray::{Array2, ArrayView2};

use super::linalg::{par_matmul, transpose_owned};
use super::params::Penalty;
use super::update::Products;

/// The ratio ‖x‖₁/‖x‖₂ of a vector of length `n` with Hoyer sparseness `s`:
/// √n − s·(√n − 1).
pub fn ratio_for(n: usize, s: f64) -> f64 {
    let r = (n as f64).sqrt();
    r - s * (r - 1.0)
}

/// What [`project`] found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projection {
    /// The threshold α: x ∝ (t − α)₊ (−∞ when x is uniform, for s = 0).
    pub threshold: f64,
    /// ⟨x, t⟩ for the unit-norm result x.
    pub dot: f64,
    /// Components of x that are non-zero.
    pub support: usize,
    /// Scans of t for the support's sums (2 when the whole vector's
    /// threshold was already final).
    pub passes: usize,
}

/// Threshold for support sums (d, Σt, Σt²) and ratio ρ, with the support's
/// ‖(t − α)₊‖₂; None when the support is too small for the ratio or flat.
fn support_threshold(d: usize, s1: f64, s2: f64, rho: f64) -> Option<(f64, f64)> {
    let df = d as f64;
    let slack = df - rho * rho;
    let mean = s1 / df;
    let scatter = (s2 - s1 * mean).max(0.0);
    if slack <= 0.0 || scatter <= 0.0 {
        return None;
    }
    let alpha = mean - rho * (scatter / (df * slack)).sqrt();
    // ‖(t − α)‖² on I = V + d(μ − α)² = V·d/(d − ρ²).
    let norm = (scatter * df / slack).sqrt();
    Some((alpha, norm))
}

/// The closest point to `t` with ‖x‖₂ = 1, ‖x‖₁ = `ratio` and x ≥ 0, written
/// to `out` (same length as `t`).
///
/// `ratio` must be in [1, √n] ([`ratio_for`]); it is clamped there. The
/// closest point to t is also the point of S with the largest ⟨x, t⟩, so
/// the best non-negative multiple of a vector of that sparseness for t is
/// `dot · x` (for `dot` > 0).
///
/// Ties: when the largest value of t is shared by ρ² components or more, no
/// threshold reaches the ratio; t is then replaced by the descending ranks
/// of its entries (ties by position), whose projection lies on those
/// components in the same order. For s = 0 (ρ = √n) the only point of S is
/// the uniform vector.
pub fn project(t: &[f32], ratio: f64, out: &mut [f32]) -> Projection {
    let n = t.len();
    debug_assert_eq!(out.len(), n);
    if n == 0 {
        return Projection { threshold: 0.0, dot: 0.0, support: 0, passes: 0 };
    }
    let sqrt_n = (n as f64).sqrt();
    let rho = ratio.clamp(1.0, sqrt_n);
    if rho >= sqrt_n * (1.0 - 1e-12) {
        let v = (1.0 / sqrt_n) as f32;
        out.fill(v);
        let dot = t.iter().map(|&x| f64::from(x)).sum::<f64>() / sqrt_n;
        return Projection { threshold: f64::NEG_INFINITY, dot, support: n, passes: 0 };
    }
    match find_support(t, rho, f64::NEG_INFINITY, None) {
        Some(sup) => write_scaled(t, &sup, out),
        None => {
            // Ties at the top: project the ranks instead.
            let ranks = descending_ranks(t);
            match find_support(&ranks, rho, f64::NEG_INFINITY, None) {
                Some(sup) => {
                    let p = write_scaled(&ranks, &sup, out);
                    let dot = out.iter().zip(t).map(|(&x, &v)| f64::from(x) * f64::from(v)).sum();
                    Projection { dot, ..p }
                }
                // Unreachable for ρ in [1, √n): the ranks are distinct.
                None => {
                    out.fill(0.0);
                    Projection { threshold: 0.0, dot: 0.0, support: 0, passes: 0 }
                }
            }
        }
    }
}

/// out = (t − α)₊ / ‖(t − α)₊‖₂; the projection's summary.
fn write_scaled(t: &[f32], sup: &Support, out: &mut [f32]) -> Projection {
    let norm = sup.norm();
    let inv = 1.0 / norm;
    let a = sup.alpha as f32;
    for (o, &v) in out.iter_mut().zip(t) {
        *o = if v > a { ((f64::from(v) - sup.alpha) * inv) as f32 } else { 0.0 };
    }
    Projection { threshold: sup.alpha, dot: sup.dot(norm), support: sup.d, passes: sup.passes }
}

/// The support of the projection and its sums: the threshold α, and d, Σt
/// and Σt² over {i : tᵢ > α}.
#[derive(Debug, Clone, Copy)]
struct Support {
    alpha: f64,
    d: usize,
    s1: f64,
    s2: f64,
    passes: usize,
}

impl Support {
    /// ‖(t − α)₊‖₂ = √(V + d(μ − α)²), V the scatter of t on the support.
    fn norm(&self) -> f64 {
        let d = self.d as f64;
        let mean = self.s1 / d;
        let scatter = (self.s2 - self.s1 * mean).max(0.0);
        (scatter + d * (mean - self.alpha).powi(2)).sqrt()
    }

    /// ⟨(t − α)₊, t⟩ / ‖(t − α)₊‖₂: ⟨x, t⟩ for the unit-norm result x
    /// (= (V + dμ(μ − α)) / norm).
    fn dot(&self, norm: f64) -> f64 {
        let d = self.d as f64;
        let mean = self.s1 / d;
        let scatter = (self.s2 - self.s1 * mean).max(0.0);
        (scatter + d * mean * (mean - self.alpha)) / norm
    }
}

/// Runs `$body` (an `#[inline(always)]` function) compiled for AVX-512 or
/// AVX2 + FMA when the CPU has them (auto-vectorised), else portably. The
/// choice is the same on every thread, and the bodies fix their order of
/// operations, so results do not depend on the thread count.
macro_rules! multiversion {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? = $body:ident) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx2,fma")]
                fn wide($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                fn narrow($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU supports AVX-512F (checked above).
                    return unsafe { wide($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU supports AVX2 and FMA (checked above).
                    return unsafe { narrow($($arg),*) };
                }
            }
            $body($($arg),*)
        }
    };
}

multiversion! {
    /// (count, Σt, Σt²) over the entries of `t` above `a` (compared in f32),
    /// summed in f64 in a fixed order (eight lanes, added up at the end), so
    /// that every pass over the same support gives the same bits.
    fn masked_sums(t: &[f32], a: f64) -> (usize, f64, f64) = masked_sums_body
}

#[inline(always)]
fn masked_sums_body(t: &[f32], a: f64) -> (usize, f64, f64) {
    let a = a as f32;
    let (mut c, mut s1, mut s2) = ([0.0f64; 8], [0.0f64; 8], [0.0f64; 8]);
    let chunks = t.chunks_exact(8);
    let rest = chunks.remainder();
    for ch in chunks {
        for l in 0..8 {
            let keep = ch[l] > a;
            let x = if keep { f64::from(ch[l]) } else { 0.0 };
            c[l] += if keep { 1.0 } else { 0.0 };
            s1[l] += x;
            s2[l] += x * x;
        }
    }
    for (l, &v) in rest.iter().enumerate() {
        if v > a {
            let x = f64::from(v);
            c[l] += 1.0;
            s1[l] += x;
            s2[l] += x * x;
        }
    }
    let sum = |v: [f64; 8]| ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
    (sum(c) as usize, sum(s1), sum(s2))
}

/// Hoyer's iteration on sums: the threshold α rises to the fixed point
/// α = α_{I(α)}, each pass one scan of `t` for the sums over the support
/// {tᵢ > α}. Started from `guess` when it is known to lie below the answer
/// (its own support's threshold is not below it: see the module docs), else
/// from the whole vector. The answer does not depend on the guess: it is
/// computed from the sums over the final support, summed in a fixed order.
/// None when ties at the top leave no threshold with ratio ρ.
fn find_support(t: &[f32], rho: f64, guess: f64, mut at_guess: Option<(usize, f64, f64)>) -> Option<Support> {
    let mut passes = 0;
    let mut start = None;
    let mut guess = guess;
    // A guess above the answer has a support too small, whose threshold is
    // below the guess: that threshold is tried next (once).
    for _ in 0..2 {
        if !guess.is_finite() {
            break;
        }
        let (d, s1, s2) = at_guess.take().unwrap_or_else(|| masked_sums(t, guess));
        passes += 1;
        match support_threshold(d, s1, s2, rho) {
            Some((alpha, _)) if alpha >= guess => {
                start = Some(Support { alpha, d, s1, s2, passes });
                break;
            }
            Some((alpha, _)) => guess = alpha,
            None => break,
        }
    }
    let mut cur = match start {
        Some(s) => s,
        None => {
            let (d, s1, s2) = masked_sums(t, f64::NEG_INFINITY);
            passes += 1;
            let (alpha, _) = support_threshold(d, s1, s2, rho)?;
            Support { alpha, d, s1, s2, passes }
        }
    };
    // At most one pass per component that can leave the support.
    for _ in 0..=t.len() {
        let (d, s1, s2) = masked_sums(t, cur.alpha);
        cur.passes += 1;
        if d >= cur.d {
            // Nothing left the support: α is the fixed point.
            return Some(cur);
        }
        let (alpha, _) = support_threshold(d, s1, s2, rho)?;
        // From below the answer the threshold only rises and never passes
        // it (module docs); a fall can only be rounding, and then the
        // threshold of this support is final.
        let done = alpha <= cur.alpha;
        cur = Support { alpha, d, s1, s2, passes: cur.passes };
        if done {
            return Some(cur);
        }
    }
    Some(cur)
}

/// Each entry's rank from the top, as a value: the largest gets n, the next
/// n − 1, …; equal entries are ranked by position.
fn descending_ranks(t: &[f32]) -> Vec<f32> {
    let mut order: Vec<usize> = (0..t.len()).collect();
    order.sort_by(|&a, &b| t[b].total_cmp(&t[a]).then(a.cmp(&b)));
    let mut ranks = vec![0.0f32; t.len()];
    for (r, &i) in order.iter().enumerate() {
        ranks[i] = (t.len() - r) as f32;
    }
    ranks
}

/// Hoyer's projection algorithm as published (his §3.2, "the projection
/// operator"): the closest x ≥ 0 to `t` with ‖x‖₁ = `l1` and ‖x‖₂ = `l2`,
/// computed in f64. Needs l2 ≤ l1 ≤ √n·l2.
///
/// 1. s = t + (L1 − Σt)/n (onto the hyperplane); Z = ∅.
/// 2. m = L1/(n − |Z|) off Z, 0 on Z (the centre of the face of the simplex).
/// 3. s ← m + β(s − m) with β ≥ 0 such that ‖s‖₂ = L2.
/// 4. If s ≥ 0, done. Else add the negative components to Z, set them to
///    0, shift the others by a constant so that Σs = L1, and go to 2.
///
/// Returns None when step 3 has no solution (s = m on the components left:
/// ties at the top that [`project`] breaks by position).
pub fn project_hoyer(t: &[f32], l1: f64, l2: f64) -> Option<Vec<f32>> {
    let n = t.len();
    if n == 0 {
        return Some(Vec::new());
    }
    let shift = (l1 - t.iter().map(|&v| f64::from(v)).sum::<f64>()) / n as f64;
    let mut s: Vec<f64> = t.iter().map(|&v| f64::from(v) + shift).collect();
    let mut zero = vec![false; n];
    for _ in 0..=n {
        let d = zero.iter().filter(|&&z| !z).count();
        let m = l1 / d as f64;
        // ‖m + β(s − m)‖² = L2²: a β² + b β + c = 0 over the components off Z.
        let (mut a, mut b, mut c) = (0.0f64, 0.0f64, 0.0f64);
        for (&si, &z) in s.iter().zip(&zero) {
            if !z {
                a += (si - m) * (si - m);
                b += 2.0 * m * (si - m);
                c += m * m;
            }
        }
        c -= l2 * l2;
        if a <= 0.0 {
            return None;
        }
        let disc = (b * b - 4.0 * a * c).max(0.0);
        let beta = (-b + disc.sqrt()) / (2.0 * a);
        for (si, &z) in s.iter_mut().zip(&zero) {
            if !z {
                *si = m + beta * (*si - m);
            }
        }
        if s.iter().all(|&v| v >= 0.0) {
            return Some(s.iter().map(|&v| v as f32).collect());
        }
        for (si, z) in s.iter_mut().zip(zero.iter_mut()) {
            if *si < 0.0 {
                *z = true;
                *si = 0.0;
            }
        }
        let left = zero.iter().filter(|&&z| !z).count();
        if left == 0 {
            return None;
        }
        let excess = (s.iter().sum::<f64>() - l1) / left as f64;
        for (si, &z) in s.iter_mut().zip(&zero) {
            if !z {
                *si -= excess;
            }
        }
    }
    None
}

/// The threshold of the projection found by sorting (O(n log n)): the d
/// largest entries form the support for the d whose threshold α_d lies
/// between the d-th and the (d+1)-th largest. For checks; None when ties at
/// the top leave no such d.
pub fn project_sorted(t: &[f32], ratio: f64) -> Option<Vec<f32>> {
    let n = t.len();
    let mut sorted: Vec<f64> = t.iter().map(|&v| f64::from(v)).collect();
    sorted.sort_by(|a, b| b.partial_cmp(a).unwrap_or(Ordering::Equal));
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for d in 1..=n {
        let v = sorted[d - 1];
        s1 += v;
        s2 += v * v;
        let Some((alpha, norm)) = support_threshold(d, s1, s2, ratio) else { continue };
        let next = if d < n { sorted[d] } else { f64::NEG_INFINITY };
        if next <= alpha && alpha < v {
            return Some(t.iter().map(|&x| ((f64::from(x) - alpha).max(0.0) / norm) as f32).collect());
        }
    }
    None
}

/// Gillis & Glineur's ε for the sparse sweeps: stop once a sweep changes
/// the factor by less than ε times what the first sweep did.
pub const EPSILON: f64 = 0.2;

/// Gillis & Glineur's α for the sparse sweeps: at most 1 + α·ρ sweeps per
/// product, ρ the cost of the product relative to one plain sweep. Tuned on
/// ORL at k = 49, s = 0.75 (`facenmf bench`): from α = 0.23 to 1.5 (3 to 14
/// sweeps) every choice ends 300 iterations at the same error (0.168);
/// more sweeps reach a given error in fewer iterations but dearer ones.
/// 0.45 (5 sweeps there) reaches 0.172 as early as 0.75 (7 sweeps) within
/// the run-to-run noise, with iterations ~20 % cheaper.
pub const ALPHA: f64 = 0.45;

/// The most sparse sweeps worth doing on a factor with `rows` rows of data
/// with `cols` columns at rank `k` (Gillis & Glineur's rule, as in
/// [`super::update::hals_max_inner`], with [`ALPHA`]).
pub fn max_inner(rows: usize, cols: usize, k: usize) -> usize {
    let (r, c, k) = (rows as f64, cols as f64, k as f64);
    let rho = 1.0 + (r * c * k + c * k * k) / (r * k * k + r * k);
    1 + (ALPHA * rho).floor() as usize
}

/// Columns of the factor whose gradients are computed by one product in
/// [`hals`] (the changes made within the block are added afterwards).
const COL_BLOCK: usize = 8;

/// Entries below this are flushed to zero (as in the plain HALS sweeps:
/// subnormal numbers slow every later product).
const FLUSH: f32 = 1e-30;

/// HALS with every column of `f` (rows × k) held at the ratio ‖·‖₁/‖·‖₂ =
/// `ratio` (a sparseness, see [`ratio_for`]): `p = x·other` once, then up to
/// `max_inner` sweeps over the columns, each column replaced by the exact
/// minimiser of the objective over its own values given the others,
///
/// min ½‖x − f·otherᵀ‖² + l1·Σf + ½·l2·‖f‖² over f_j ∈ {c·y : c ≥ 0, y ∈ S},
///
/// S the unit vectors of that ratio. With t_j the unconstrained minimiser
/// over column j, the objective is ½q_jj‖f_j − t_j‖² + l1·Σf_j + ½l2‖f_j‖²
/// plus a constant; for f_j = c·y its minimum over y is the y ∈ S with the
/// largest ⟨y, t_j⟩ — Hoyer's projection of t_j — and over c it is
/// c = (q_jj·⟨y, t_j⟩ − l1·ratio)/(q_jj + l2). So every column update
/// lowers the objective or leaves it (a column whose best multiple is not
/// positive is left as it was), and the objective never increases.
///
/// Sweeps stop early by Gillis & Glineur's rule on the whole factor (a
/// sweep that changes it by less than ε times the first sweep's change).
/// Columns are updated in order, one after another; the products that
/// feed them are split into shape-determined blocks, so the result does not
/// depend on the thread count.
#[allow(clippy::too_many_arguments)]
pub(crate) fn hals(
    x: ArrayView2<f32>,
    other: ArrayView2<f32>,
    q: ArrayView2<f32>,
    f: &mut Array2<f32>,
    pen: Penalty,
    ratio: f64,
    max_inner: usize,
    epsilon: f64,
    alphas: &mut Vec<f64>,
) -> Products {
    let p = par_matmul(x, other);
    let (rows, k) = f.dim();
    if rows == 0 || k == 0 || max_inner == 0 {
        return Products { p, sweeps: 0.0 };
    }
    let pt = transpose_owned(p.view());
    let mut ft = transpose_owned(f.view());
    let sweeps = match (pt.as_slice(), ft.as_slice_mut()) {
        (Some(pt), Some(fs)) => sweep_columns(pt, q, fs, rows, pen, ratio, max_inner, epsilon, alphas),
        _ => 0,
    };
    *f = transpose_owned(ft.view());
    Products { p, sweeps: sweeps as f64 }
}

/// The sweeps of [`hals`] on the transposed factor `ft` (k × rows, row-major)
/// with `pt` = (x·other)ᵀ (the same layout); returns the number of sweeps
/// done. `alphas` holds each column's last threshold, the next projection's
/// first guess.
///
/// Columns go in blocks of [`COL_BLOCK`]. A block's gradient products
/// g = q[block, :]·ft are taken from the factor as it is when the block
/// starts, and the changes made within the block are added column by column.
/// The part of the next block's products that does not involve this block,
/// q[next, ¬block]·ft[¬block], does not change while this block is swept,
/// so it is computed meanwhile (`rayon::join`); the rest,
/// q[next, block]·ft[block], is added once the block is done. The same
/// operations in the same order whatever the thread count.
#[allow(clippy::too_many_arguments)]
fn sweep_columns(
    pt: &[f32],
    q: ArrayView2<f32>,
    ft: &mut [f32],
    rows: usize,
    pen: Penalty,
    ratio: f64,
    max_inner: usize,
    epsilon: f64,
    alphas: &mut Vec<f64>,
) -> usize {
    let k = q.nrows();
    if rows == 0 || k == 0 || ft.len() != k * rows || pt.len() != k * rows {
        return 0;
    }
    if alphas.len() != k {
        *alphas = vec![f64::NEG_INFINITY; k];
    }
    let q = q.as_standard_layout();
    let Some(qs) = q.as_slice() else { return 0 };
    let block = COL_BLOCK.min(k);
    let blocks: Vec<(usize, usize)> = (0..k).step_by(block).map(|j0| (j0, (j0 + block).min(k))).collect();
    let mut g = vec![0.0f32; block * rows];
    let mut g_next = vec![0.0f32; block * rows];
    let mut delta = vec![0.0f32; block * rows];
    let mut work = ColumnWork { t: vec![0.0f32; rows], y: vec![0.0f32; rows] };
    let eps_sq = epsilon * epsilon;
    let mut first = 0.0f64;
    let mut done = 0;
    while done < max_inner {
        let mut change = 0.0f64;
        let (j0, j1) = blocks[0];
        gradients(qs, k, j0, j1 - j0, ft, 0, rows, &mut g, false);
        for (bi, &(j0, j1)) in blocks.iter().enumerate() {
            let (before, rest) = ft.split_at_mut(j0 * rows);
            let (own, after) = rest.split_at_mut((j1 - j0) * rows);
            let next = blocks.get(bi + 1).copied();
            let (moved, ()) = rayon::join(
                || {
                    let cols = BlockCols { j0, j1, rows, k, qs, pen, ratio };
                    cols.sweep(own, &pt[j0 * rows..j1 * rows], &g, &mut delta, &mut alphas[j0..j1], &mut work)
                },
                || {
                    if let Some((n0, n1)) = next {
                        // q[next, ¬block]·ft[¬block], from the columns before
                        // and after this block (neither changes meanwhile).
                        gradients(qs, k, n0, n1 - n0, before, 0, rows, &mut g_next, false);
                        gradients(qs, k, n0, n1 - n0, after, j1, rows, &mut g_next, true);
                    }
                },
            );
            change += moved;
            if let Some((n0, n1)) = next {
                // + q[next, block]·ft[block] with the block's new values.
                gradients(qs, k, n0, n1 - n0, &ft[j0 * rows..j1 * rows], j0, rows, &mut g_next, true);
                std::mem::swap(&mut g, &mut g_next);
            }
        }
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
    done
}

/// Scratch vectors of one column update.
struct ColumnWork {
    t: Vec<f32>,
    y: Vec<f32>,
}

/// One block of columns `j0..j1` of [`sweep_columns`].
struct BlockCols<'a> {
    j0: usize,
    j1: usize,
    rows: usize,
    k: usize,
    qs: &'a [f32],
    pen: Penalty,
    ratio: f64,
}

impl BlockCols<'_> {
    /// Updates the block's columns `own` ((j1 − j0) × rows) one after the
    /// other, given their rows of pt and their gradient products `g` from
    /// the block's start; `delta` gets each column's change. Returns the
    /// squared size of all changes.
    fn sweep(
        &self,
        own: &mut [f32],
        pt: &[f32],
        g: &[f32],
        delta: &mut [f32],
        alphas: &mut [f64],
        work: &mut ColumnWork,
    ) -> f64 {
        let (rows, k, qs) = (self.rows, self.k, self.qs);
        let mut change = 0.0;
        for u in 0..self.j1 - self.j0 {
            let j = self.j0 + u;
            let qjj = qs[j * k + j];
            let (earlier, rest) = delta.split_at_mut(u * rows);
            let du = &mut rest[..rows];
            if qjj.is_nan() || qjj <= 0.0 {
                du.fill(0.0);
                continue;
            }
            let fj = &mut own[u * rows..(u + 1) * rows];
            // t = f_j + (p_j − (f·q)_j)/q_jj, with the changes of the block's
            // earlier columns added to the product; and the sums of t above
            // the last threshold, the projection's first guess.
            let mut coef = [0.0f32; COL_BLOCK];
            for (v, c) in coef.iter_mut().enumerate().take(u) {
                *c = qs[(self.j0 + v) * k + j];
            }
            let range = u * rows..(u + 1) * rows;
            let guess = alphas[u];
            let at_guess =
                column_target(&mut work.t, &g[range.clone()], &pt[range], fj, &coef[..u], earlier, qjj, guess);
            let moved = match find_support(&work.t, self.ratio, guess, Some(at_guess)) {
                Some(sup) => {
                    alphas[u] = sup.alpha;
                    let norm = sup.norm();
                    best_scale(qjj, sup.dot(norm), self.pen, self.ratio)
                        .map(|c| update_column(&work.t, sup.alpha as f32, (c / norm) as f32, fj, du))
                }
                None => {
                    // Ties at the top: the general projection.
                    let p = project(&work.t, self.ratio, &mut work.y);
                    best_scale(qjj, p.dot, self.pen, self.ratio).map(|c| update_column(&work.y, 0.0, c as f32, fj, du))
                }
            };
            match moved {
                Some(m) => change += m,
                // The best multiple is zero: leave the column as it is (no
                // change, so the objective cannot rise).
                None => du.fill(0.0),
            }
        }
        change
    }
}

/// g[u][i] (+)= Σ_l q[n0 + u][l0 + l]·f[l][i] for u < r, over the rows f[l]
/// of `f` (rows of the transposed factor from l0 on, each `cols` long);
/// `g` is r × cols, row-major; `add` accumulates instead of overwriting.
///
/// Computed as gᵀ = fᵀ·q[n0.., l0..]ᵀ: in these layouts a product of
/// column-major matrices with the long side (cols) as its rows, the shape
/// GEMM kernels are made for (the r × cols form wastes most of a kernel's
/// rows).
#[allow(clippy::too_many_arguments)]
fn gradients(q: &[f32], k: usize, n0: usize, r: usize, f: &[f32], l0: usize, cols: usize, g: &mut [f32], add: bool) {
    let nl = f.len() / cols.max(1);
    if r == 0 || cols == 0 || g.len() < r * cols {
        return;
    }
    if nl == 0 {
        if !add {
            g[..r * cols].fill(0.0);
        }
        return;
    }
    let q_off = n0 * k + l0;
    let q_len = (r - 1) * k + nl;
    if q.len() < q_off + q_len {
        return;
    }
    let a = faer::MatRef::from_column_major_slice_with_stride(&f[..nl * cols], cols, nl, cols);
    let b = faer::MatRef::from_column_major_slice_with_stride(&q[q_off..q_off + q_len], nl, r, k);
    let c = faer::MatMut::from_column_major_slice_with_stride_mut(&mut g[..r * cols], cols, r, cols);
    let accum = if add { faer::Accum::Add } else { faer::Accum::Replace };
    faer::linalg::matmul::matmul(c, accum, a, b, 1.0f32, faer::Par::Seq);
}

/// c = (q_jj·⟨y, t⟩ − l1·ratio)/(q_jj + l2), the best multiple of the unit
/// vector y for the column subproblem; None when it is not positive.
fn best_scale(qjj: f32, dot: f64, pen: Penalty, ratio: f64) -> Option<f64> {
    let c = (f64::from(qjj) * dot - f64::from(pen.l1) * ratio) / f64::from(qjj + pen.l2);
    (c > 0.0 && c.is_finite()).then_some(c)
}

multiversion! {
    /// t = f + (p − g − Σ_v c_v·δ_v)/q_jj, with c = `coef` and δ_v the rows
    /// of `deltas` (each of t's length); returns [`masked_sums`] of the new t
    /// at `guess` (skipped, zeros, when the guess is not finite).
    #[allow(clippy::too_many_arguments)]
    fn column_target(
        t: &mut [f32],
        g: &[f32],
        p: &[f32],
        f: &[f32],
        coef: &[f32],
        deltas: &[f32],
        qjj: f32,
        guess: f64,
    ) -> (usize, f64, f64) = column_target_body
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn column_target_body(
    t: &mut [f32],
    g: &[f32],
    p: &[f32],
    f: &[f32],
    coef: &[f32],
    deltas: &[f32],
    qjj: f32,
    guess: f64,
) -> (usize, f64, f64) {
    let n = t.len();
    if g.len() < n || p.len() < n || f.len() < n || deltas.len() < coef.len() * n {
        return (0, 0.0, 0.0);
    }
    let inv = 1.0 / qjj;
    for i in 0..n {
        t[i] = g[i] - p[i];
    }
    for (v, &c) in coef.iter().enumerate() {
        let dv = &deltas[v * n..(v + 1) * n];
        for i in 0..n {
            t[i] = c.mul_add(dv[i], t[i]);
        }
    }
    for i in 0..n {
        t[i] = f[i] - t[i] * inv;
    }
    if guess.is_finite() { masked_sums_body(t, guess) } else { (0, 0.0, 0.0) }
}

multiversion! {
    /// f ← factor·(t − α)₊ (entries below [`FLUSH`] set to 0), δ ← the
    /// change; returns ‖δ‖².
    fn update_column(t: &[f32], alpha: f32, factor: f32, f: &mut [f32], delta: &mut [f32]) -> f64 =
        update_column_body
}

#[inline(always)]
fn update_column_body(t: &[f32], alpha: f32, factor: f32, f: &mut [f32], delta: &mut [f32]) -> f64 {
    let n = t.len().min(f.len()).min(delta.len());
    let (t, f, delta) = (&t[..n], &mut f[..n], &mut delta[..n]);
    let step = |tv: f32, fv: &mut f32, dv: &mut f32| {
        let x = tv - alpha;
        let new = if x > 0.0 { x * factor } else { 0.0 };
        let new = if new < FLUSH { 0.0 } else { new };
        let d = new - *fv;
        *dv = d;
        *fv = new;
        d * d
    };
    let mut lanes = [0.0f64; 16];
    let full = n - n % 16;
    for ((tc, fc), dc) in
        t[..full].chunks_exact(16).zip(f[..full].chunks_exact_mut(16)).zip(delta[..full].chunks_exact_mut(16))
    {
        let mut part = [0.0f32; 16];
        for l in 0..16 {
            part[l] = step(tc[l], &mut fc[l], &mut dc[l]);
        }
        for l in 0..16 {
            lanes[l] += f64::from(part[l]);
        }
    }
    for i in full..n {
        lanes[i - full] += f64::from(step(t[i], &mut f[i], &mut delta[i]));
    }
    lanes.iter().sum()
}

/// Replaces every column of `f` (rows × k) that is not at the ratio
/// ‖·‖₁/‖·‖₂ = `ratio` by its best multiple of that ratio (c·y, y Hoyer's
/// projection of the column, c = ⟨y, column⟩): the start of a constrained
/// fit. Columns already at the ratio (within 1e-6, e.g. a constrained fit
/// being resumed) are left exactly as they are; all-zero columns too.
pub(crate) fn project_columns(f: &mut Array2<f32>, ratio: f64) {
    let rows = f.nrows();
    let mut y = vec![0.0f32; rows];
    let mut col = vec![0.0f32; rows];
    for mut c in f.columns_mut() {
        for (o, &v) in col.iter_mut().zip(c.iter()) {
            *o = v;
        }
        let l1: f64 = col.iter().map(|&v| f64::from(v)).sum();
        let l2: f64 = col.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>().sqrt();
        if l2 == 0.0 || (l1 / l2 - ratio).abs() <= 1e-6 * ratio {
            continue;
        }
        let p = project(&col, ratio, &mut y);
        let scale = p.dot.max(0.0) as f32;
        let scale = if scale > 0.0 { scale } else { l2 as f32 };
        for (o, &v) in c.iter_mut().zip(&y) {
            let x = scale * v;
            *o = if x < FLUSH { 0.0 } else { x };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nmf::metrics::hoyer_sparseness;
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    fn norms(x: &[f32]) -> (f64, f64) {
        let l1 = x.iter().map(|&v| f64::from(v).abs()).sum();
        let l2 = x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>().sqrt();
        (l1, l2)
    }

    fn dist_sq(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2)).sum()
    }

    fn random_vec(rng: &mut Xoshiro256PlusPlus, n: usize, signed: bool) -> Vec<f32> {
        (0..n)
            .map(|_| {
                let v: f32 = rng.random();
                if signed { 2.0 * v - 1.0 } else { v * v }
            })
            .collect()
    }

    fn proj(t: &[f32], s: f64) -> (Vec<f32>, Projection) {
        let mut out = vec![0.0; t.len()];
        let p = project(t, ratio_for(t.len(), s), &mut out);
        (out, p)
    }

    /// The nearest point of S to t by brute force: for every support I, the
    /// nearest point of the (d − 2)-sphere {Σx = L1, ‖x‖ = L2} on I (the
    /// centre of the face plus the radius along t's deviation from its mean
    /// on I); the best of those that are non-negative. The true projection
    /// is one of them (on its own support it is a critical point of the
    /// distance on that sphere, the nearer of the two).
    fn brute_force(t: &[f32], l1: f64, l2: f64) -> Vec<f32> {
        let n = t.len();
        let mut best: Option<(f64, Vec<f32>)> = None;
        for mask in 1u32..(1 << n) {
            let idx: Vec<usize> = (0..n).filter(|i| mask & (1 << i) != 0).collect();
            let d = idx.len() as f64;
            let r2 = l2 * l2 - l1 * l1 / d;
            if r2 < 0.0 {
                continue;
            }
            let mean = idx.iter().map(|&i| f64::from(t[i])).sum::<f64>() / d;
            let dev: Vec<f64> = idx.iter().map(|&i| f64::from(t[i]) - mean).collect();
            let dn = dev.iter().map(|v| v * v).sum::<f64>().sqrt();
            if dn == 0.0 {
                continue;
            }
            let mut x = vec![0.0f32; n];
            let mut ok = true;
            for (&i, &dv) in idx.iter().zip(&dev) {
                let v = l1 / d + r2.sqrt() * dv / dn;
                ok &= v >= -1e-12;
                x[i] = v.max(0.0) as f32;
            }
            if ok {
                let dist = dist_sq(&x, t);
                if best.as_ref().is_none_or(|(b, _)| dist < *b) {
                    best = Some((dist, x));
                }
            }
        }
        best.map(|(_, x)| x).unwrap_or_default()
    }

    #[test]
    fn projection_has_the_exact_ratio_and_is_non_negative() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        for &n in &[2usize, 3, 10, 100, 1000, 10_304] {
            for &s in &[0.0, 0.1, 0.3, 0.5, 0.75, 0.9, 0.99] {
                for signed in [false, true] {
                    let t = random_vec(&mut rng, n, signed);
                    let (x, p) = proj(&t, s);
                    assert!(x.iter().all(|&v| v >= 0.0 && v.is_finite()), "n={n} s={s}");
                    let (l1, l2) = norms(&x);
                    assert!((l2 - 1.0).abs() < 1e-5, "n={n} s={s}: ‖x‖₂ = {l2}");
                    assert!((l1 - ratio_for(n, s)).abs() < 1e-4 * l1, "n={n} s={s}: ‖x‖₁ = {l1}");
                    let got = f64::from(hoyer_sparseness(ndarray::ArrayView1::from(&x)));
                    assert!((got - s).abs() < 1e-4, "n={n} s={s}: sparseness {got}");
                    let dot: f64 = x.iter().zip(&t).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum();
                    assert!((dot - p.dot).abs() < 1e-4 * (1.0 + dot.abs()), "n={n} s={s}: dot {dot} vs {}", p.dot);
                    assert_eq!(p.support, x.iter().filter(|&&v| v > 0.0).count());
                }
            }
        }
    }

    #[test]
    fn projection_is_the_closest_point_by_brute_force() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
        for trial in 0..400 {
            let n = 2 + trial % 7;
            let s = [0.2, 0.4, 0.6, 0.8][trial % 4];
            let t = random_vec(&mut rng, n, trial % 3 == 0);
            let rho = ratio_for(n, s);
            let (x, _) = proj(&t, s);
            let want = brute_force(&t, rho, 1.0);
            let (got_d, want_d) = (dist_sq(&x, &t), dist_sq(&want, &t));
            assert!(got_d <= want_d + 1e-6, "n={n} s={s} t={t:?}: {x:?} at {got_d}, brute force {want:?} at {want_d}");
            for (a, b) in x.iter().zip(&want) {
                assert!((a - b).abs() < 1e-4, "n={n} s={s} t={t:?}: {x:?} vs {want:?}");
            }
            // No point of S sampled at random is closer.
            for _ in 0..20 {
                let y = random_vec(&mut rng, n, false);
                let (p, _) = proj(&y, s);
                assert!(dist_sq(&p, &t) >= got_d - 1e-6, "n={n} s={s}: {p:?} is closer to {t:?} than {x:?}");
            }
        }
    }

    #[test]
    fn hoyers_algorithm_and_sorting_agree_with_the_fast_projection() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        for &n in &[5usize, 50, 500, 5000] {
            for &s in &[0.1, 0.5, 0.75, 0.95] {
                let t = random_vec(&mut rng, n, n == 50);
                let rho = ratio_for(n, s);
                let (x, _) = proj(&t, s);
                let hoyer = project_hoyer(&t, rho, 1.0).expect("no ties");
                let sorted = project_sorted(&t, rho).expect("no ties");
                for ((a, b), c) in x.iter().zip(&hoyer).zip(&sorted) {
                    assert!((a - b).abs() < 1e-5 && (a - c).abs() < 1e-5, "n={n} s={s}: {a} {b} {c}");
                }
                // Hoyer's algorithm with other norms: the same point, scaled.
                let scaled = project_hoyer(&t, 3.0 * rho, 3.0).expect("no ties");
                for (a, b) in x.iter().zip(&scaled) {
                    assert!((3.0 * a - b).abs() < 1e-4, "n={n} s={s}");
                }
            }
        }
    }

    #[test]
    fn ties_at_the_top_and_flat_vectors_still_reach_the_ratio() {
        for t in [vec![0.5f32; 100], vec![0.0f32; 100], [vec![1.0f32; 60], vec![0.2; 40]].concat()] {
            for s in [0.0, 0.3, 0.75] {
                let (x, _) = proj(&t, s);
                assert!(x.iter().all(|&v| v >= 0.0));
                let got = f64::from(hoyer_sparseness(ndarray::ArrayView1::from(&x)));
                assert!((got - s).abs() < 1e-4, "s={s}: {got}");
                // Deterministic.
                assert_eq!(x, proj(&t, s).0);
            }
        }
        // Ties below the top are no problem at all.
        let t = [vec![1.0f32, 0.9], vec![0.3; 50]].concat();
        let (x, p) = proj(&t, 0.9);
        assert!(p.passes >= 1 && x[0] > x[1] && x[1] > 0.0);
    }
}
