//! Masked NMF: fits that ignore chosen entries of A (0/1 weights), for
//! held-out cross-validation and faces with missing pixels.
//!
//! A masked fit minimises ½‖M ⊙ (A − W·H)‖² over the observed entries
//! (M = 1) only. It is solved by expectation–maximisation (Zhang, Wang,
//! Massart & Schölkopf 1996; Kim & Choi 2009): the hidden entries are filled
//! with the current W·H, and one ordinary HALS or MU iteration is made on
//! the filled matrix Ã. Since ‖Ã − X‖² ≥ ‖M ⊙ (A − X)‖² for every X, with
//! equality at the current W·H, each iteration lowers the masked objective:
//! the same monotone descent as the unmasked solvers, at the cost of
//! refilling the hidden entries (k multiply-adds each) once per iteration.
//!
//! The hidden entries of A are never read (except by
//! [`super::Nmf::heldout_rel_err`], which scores them): the start is made
//! from A with every hidden entry replaced by the mean of its face's
//! observed pixels, so changing them changes nothing in the fit.

use ndarray::{Array2, ArrayView2, Axis};
use rayon::prelude::*;

use super::NmfError;

/// The entries of A (m × n) a fit must not see: distinct (pixel, face)
/// pairs, sorted by pixel then face.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mask {
    pixels: usize,
    faces: usize,
    entries: Vec<(u32, u32)>,
}

/// Rows of Ã (pixels) and of Ãᵀ (faces) refilled by one task (fixed, so
/// results do not depend on the thread count).
const PIXELS_PER_TASK: usize = 128;
const FACES_PER_TASK: usize = 8;

impl Mask {
    /// A mask hiding `entries` (pixel, face) of an m × n matrix; repeats
    /// are merged. Errors name the first entry out of range.
    pub fn new(
        pixels: usize,
        faces: usize,
        entries: impl IntoIterator<Item = (usize, usize)>,
    ) -> Result<Self, NmfError> {
        if pixels > u32::MAX as usize || faces > u32::MAX as usize {
            return Err(NmfError::Mask(format!("a {pixels} × {faces} matrix is too large to mask")));
        }
        let mut list = Vec::new();
        for (i, j) in entries {
            if i >= pixels || j >= faces {
                return Err(NmfError::Mask(format!(
                    "entry (pixel {i}, face {j}) is outside the {pixels} × {faces} matrix"
                )));
            }
            list.push((i as u32, j as u32));
        }
        list.sort_unstable();
        list.dedup();
        Ok(Mask { pixels, faces, entries: list })
    }

    /// `folds` disjoint masks of an m × n matrix, each hiding a random
    /// `fraction` of its entries (Wold-style hold-out): entry (i, j) goes to
    /// fold f when a hash of (seed, i, j), uniform in [0, 1), falls in
    /// [f·fraction, (f + 1)·fraction). The same seed gives the same folds.
    pub fn folds(pixels: usize, faces: usize, folds: usize, fraction: f64, seed: u64) -> Result<Vec<Self>, NmfError> {
        check_folds(folds, fraction)?;
        if pixels > u32::MAX as usize || faces > u32::MAX as usize {
            return Err(NmfError::Mask(format!("a {pixels} × {faces} matrix is too large to mask")));
        }
        let per_row: Vec<Vec<Vec<(u32, u32)>>> = (0..pixels)
            .into_par_iter()
            .map(|i| {
                let mut out = vec![Vec::new(); folds];
                for j in 0..faces {
                    let u = unit_hash(seed, i as u64, j as u64);
                    let f = (u / fraction) as usize;
                    if f < folds {
                        out[f].push((i as u32, j as u32));
                    }
                }
                out
            })
            .collect();
        let mut masks: Vec<Mask> = (0..folds).map(|_| Mask { pixels, faces, entries: Vec::new() }).collect();
        for row in per_row {
            for (mask, part) in masks.iter_mut().zip(row) {
                mask.entries.extend(part);
            }
        }
        if let Some(f) = masks.iter().position(|m| m.entries.is_empty()) {
            return Err(NmfError::Mask(format!(
                "fold {} of {folds} hides no entry: {pixels} × {faces} entries are too few for a hold-out of {fraction}",
                f + 1
            )));
        }
        Ok(masks)
    }

    /// Pixels (rows) of the matrix masked.
    pub fn pixels(&self) -> usize {
        self.pixels
    }

    /// Faces (columns) of the matrix masked.
    pub fn faces(&self) -> usize {
        self.faces
    }

    /// The hidden entries, (pixel, face), sorted.
    pub fn entries(&self) -> &[(u32, u32)] {
        &self.entries
    }

    /// Number of hidden entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is hidden.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Share of the entries hidden.
    pub fn fraction(&self) -> f64 {
        self.entries.len() as f64 / (self.pixels as f64 * self.faces as f64)
    }
}

/// Checks a cross-validation design: at least 1 fold, a hold-out fraction
/// in (0, 1), and disjoint folds (folds × fraction ≤ 1).
pub fn check_folds(folds: usize, fraction: f64) -> Result<(), NmfError> {
    if folds == 0 {
        return Err(NmfError::Mask("0 folds: cross-validation needs at least 1 fold".into()));
    }
    if !(fraction.is_finite() && fraction > 0.0 && fraction < 1.0) {
        return Err(NmfError::Mask(format!(
            "hold-out fraction {fraction} is invalid: it must be between 0 and 1 (e.g. 0.1 hides 10 % of the entries)"
        )));
    }
    if folds as f64 * fraction > 1.0 + 1e-9 {
        return Err(NmfError::Mask(format!(
            "{folds} folds of {fraction} each would hide more than every entry: folds × fraction must be at most 1"
        )));
    }
    Ok(())
}

/// splitmix64 of (seed, i, j), as a number in [0, 1).
fn unit_hash(seed: u64, i: u64, j: u64) -> f64 {
    let mut z = seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ j.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// A masked fit's working copy of A: the observed entries of A, the hidden
/// ones holding the last W·H (see the [module docs](self)).
#[derive(Debug, Clone)]
pub(crate) struct Filled {
    pub mask: std::sync::Arc<Mask>,
    /// Ã (m × n) and Ãᵀ.
    pub a: Array2<f32>,
    pub at: Array2<f32>,
    /// ‖M ⊙ A‖², the observed part.
    pub observed_sq: f64,
    /// Σ of the hidden entries' current values squared.
    pub hidden_sq: f64,
    /// Where each pixel's hidden entries start in `mask.entries` (m + 1).
    pixel_starts: Vec<usize>,
    /// The hidden pixels of each face, face by face, and where each face's
    /// start (n + 1): Ãᵀ is written row by row from them.
    by_face: Vec<u32>,
    face_starts: Vec<usize>,
}

/// What a refill measured.
pub(crate) struct Refill {
    /// Σ (old − new)² over the hidden entries.
    pub moved_sq: f64,
}

impl Filled {
    /// Ã from `a` with every hidden entry replaced by the mean of its face's
    /// observed entries (0 for a face with none).
    pub fn start(a: ArrayView2<f32>, mask: std::sync::Arc<Mask>) -> Result<Self, NmfError> {
        let (m, n) = a.dim();
        if (mask.pixels, mask.faces) != (m, n) {
            return Err(NmfError::Shape { what: "mask", got: (mask.pixels, mask.faces), expected: (m, n) });
        }
        let mut filled = a.as_standard_layout().into_owned();
        // Hidden entries are zeroed before anything is summed, so no
        // rounding depends on their values.
        let mut hidden_per_face = vec![0usize; n];
        for &(i, j) in &mask.entries {
            hidden_per_face[j as usize] += 1;
            filled[(i as usize, j as usize)] = 0.0;
        }
        let observed_sq = super::linalg::sum_sq(filled.view());
        if observed_sq <= 0.0 {
            return Err(NmfError::Mask("every observed entry is zero: there is nothing to factor".into()));
        }
        let mut total = vec![0.0f64; n];
        for row in filled.rows() {
            for (t, &v) in total.iter_mut().zip(row) {
                *t += f64::from(v);
            }
        }
        let means: Vec<f32> = (0..n)
            .map(|j| {
                let seen = m - hidden_per_face[j];
                if seen == 0 { 0.0 } else { (total[j] / seen as f64) as f32 }
            })
            .collect();
        let mut hidden_sq = 0.0;
        for &(i, j) in &mask.entries {
            let v = means[j as usize];
            filled[(i as usize, j as usize)] = v;
            hidden_sq += f64::from(v) * f64::from(v);
        }
        let at = super::linalg::transpose_owned(filled.view());
        let mut pixel_starts = vec![0usize; m + 1];
        let mut face_starts = vec![0usize; n + 1];
        for &(i, j) in &mask.entries {
            pixel_starts[i as usize + 1] += 1;
            face_starts[j as usize + 1] += 1;
        }
        for v in 0..m {
            pixel_starts[v + 1] += pixel_starts[v];
        }
        for v in 0..n {
            face_starts[v + 1] += face_starts[v];
        }
        let mut pairs: Vec<(u32, u32)> = mask.entries.iter().map(|&(i, j)| (j, i)).collect();
        pairs.sort_unstable();
        let by_face = pairs.into_iter().map(|(_, i)| i).collect();
        Ok(Filled { mask, a: filled, at, observed_sq, hidden_sq, pixel_starts, by_face, face_starts })
    }

    /// Sets every hidden entry of Ã (and Ãᵀ) to (W·Hᵀᵀ)ᵢⱼ = wᵢ·htⱼ.
    ///
    /// Ã is refilled row by row (pixels) and Ãᵀ row by row (faces), each in
    /// parallel over fixed blocks of rows, so every write is in memory order
    /// and the result does not depend on the thread count; each value is
    /// computed the same way for both.
    pub fn refill(&mut self, w: ArrayView2<f32>, ht: ArrayView2<f32>) -> Refill {
        let k = w.ncols();
        let (w, ht) = (w.as_standard_layout(), ht.as_standard_layout());
        let (ws, hs) = (w.as_slice().unwrap_or(&[]), ht.as_slice().unwrap_or(&[]));
        let value = |i: usize, j: usize| dot_slices(&ws[i * k..(i + 1) * k], &hs[j * k..(j + 1) * k]).max(0.0);
        let entries = &self.mask.entries;
        let starts = &self.pixel_starts;
        let sums: Vec<(f64, f64)> = self
            .a
            .axis_chunks_iter_mut(Axis(0), PIXELS_PER_TASK)
            .into_par_iter()
            .enumerate()
            .map(|(c, mut rows)| {
                let (mut moved, mut new_sq) = (0.0f64, 0.0f64);
                for (r, mut row) in rows.rows_mut().into_iter().enumerate() {
                    let i = c * PIXELS_PER_TASK + r;
                    for &(_, j) in &entries[starts[i]..starts[i + 1]] {
                        let x = value(i, j as usize);
                        let old = &mut row[j as usize];
                        let d = f64::from(*old) - f64::from(x);
                        moved += d * d;
                        new_sq += f64::from(x) * f64::from(x);
                        *old = x;
                    }
                }
                (moved, new_sq)
            })
            .collect();
        let (by_face, face_starts) = (&self.by_face, &self.face_starts);
        self.at.axis_chunks_iter_mut(Axis(0), FACES_PER_TASK).into_par_iter().enumerate().for_each(|(c, mut rows)| {
            for (r, mut row) in rows.rows_mut().into_iter().enumerate() {
                let j = c * FACES_PER_TASK + r;
                for &i in &by_face[face_starts[j]..face_starts[j + 1]] {
                    row[i as usize] = value(i as usize, j);
                }
            }
        });
        let (mut moved_sq, mut new_sq) = (0.0, 0.0);
        for (moved, sq) in sums {
            moved_sq += moved;
            new_sq += sq;
        }
        self.hidden_sq = new_sq;
        Refill { moved_sq }
    }

    /// ‖Ã‖²: the observed part plus the hidden entries' current values.
    pub fn norm_sq(&self) -> f64 {
        self.observed_sq + self.hidden_sq
    }

    /// √(Σ (A − Ã)² / Σ A²) over the hidden entries: how well the current
    /// W·H (held in Ã there) predicts the entries the fit never saw.
    pub fn heldout_rel_err(&self, a: ArrayView2<f32>) -> f64 {
        let (mut num, mut den) = (0.0f64, 0.0f64);
        for &(i, j) in &self.mask.entries {
            let (i, j) = (i as usize, j as usize);
            let (x, y) = (f64::from(a[(i, j)]), f64::from(self.a[(i, j)]));
            num += (x - y) * (x - y);
            den += x * x;
        }
        if den > 0.0 { (num / den).sqrt() } else { num.sqrt() }
    }
}

/// wᵢ·htⱼ in eight independent f32 lanes (so it vectorises; no `mul_add`,
/// which without FMA enabled is a library call), summed in a fixed order.
#[inline]
fn dot_slices(x: &[f32], y: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if *HAS_AVX2_FMA {
        // SAFETY: the CPU supports AVX2 and FMA (checked once, the same
        // answer on every thread, so results do not depend on the threads).
        return unsafe { dot_avx2(x, y) };
    }
    dot_portable(x, y)
}

#[cfg(target_arch = "x86_64")]
static HAS_AVX2_FMA: std::sync::LazyLock<bool> = std::sync::LazyLock::new(|| {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
});

/// [`dot_portable`] with 8-lane FMAs.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_avx2(x: &[f32], y: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let len = x.len().min(y.len());
    let chunks = len / 8;
    let mut acc = _mm256_setzero_ps();
    // SAFETY: every load reads 8 floats at offset 8c + 8 ≤ len.
    unsafe {
        for c in 0..chunks {
            let a = _mm256_loadu_ps(x.as_ptr().add(8 * c));
            let b = _mm256_loadu_ps(y.as_ptr().add(8 * c));
            acc = _mm256_fmadd_ps(a, b, acc);
        }
    }
    let mut lanes = [0.0f32; 8];
    // SAFETY: `lanes` holds 8 floats.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), acc) };
    let mut s = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
    for (a, b) in x[8 * chunks..len].iter().zip(&y[8 * chunks..len]) {
        s += a * b;
    }
    s
}

/// The portable dot product of the refill.
#[inline]
fn dot_portable(x: &[f32], y: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (xc, yc) = (x.chunks_exact(8), y.chunks_exact(8));
    let (xr, yr) = (xc.remainder(), yc.remainder());
    for (a, b) in xc.zip(yc) {
        for l in 0..8 {
            acc[l] += a[l] * b[l];
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (a, b) in xr.iter().zip(yr) {
        s += a * b;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_are_disjoint_seeded_and_about_the_fraction() {
        let folds = Mask::folds(50, 40, 5, 0.1, 7).expect("folds");
        assert_eq!(folds.len(), 5);
        let mut all: Vec<(u32, u32)> = folds.iter().flat_map(|f| f.entries().to_vec()).collect();
        let total = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), total, "folds overlap");
        for f in &folds {
            assert!((f.fraction() - 0.1).abs() < 0.03, "{}", f.fraction());
        }
        assert_eq!(folds, Mask::folds(50, 40, 5, 0.1, 7).expect("folds"));
        assert_ne!(folds, Mask::folds(50, 40, 5, 0.1, 8).expect("folds"));
    }

    #[test]
    fn bad_designs_are_refused_with_the_value() {
        for (folds, fraction, needle) in
            [(0, 0.1, "0 folds"), (5, 0.0, "fraction 0"), (5, 1.5, "1.5"), (11, 0.1, "11 folds"), (2, f64::NAN, "NaN")]
        {
            let e = Mask::folds(10, 10, folds, fraction, 0).expect_err("refused").to_string();
            assert!(e.contains(needle), "{e}");
        }
        let e = Mask::new(3, 4, [(1, 1), (3, 0)]).expect_err("outside").to_string();
        assert!(e.contains("pixel 3") && e.contains("3 × 4"), "{e}");
        assert_eq!(Mask::new(3, 4, [(1, 1), (1, 1), (0, 2)]).expect("mask").entries(), &[(0, 2), (1, 1)]);
    }

    #[test]
    fn the_start_ignores_hidden_values_and_refill_puts_w_h_there() {
        let a = Array2::from_shape_fn((6, 4), |(i, j)| (i + 2 * j) as f32 / 10.0);
        let mask = std::sync::Arc::new(Mask::new(6, 4, [(0, 0), (5, 3)]).expect("mask"));
        let mut b = a.clone();
        b[(0, 0)] = 9.0;
        b[(5, 3)] = f32::MAX;
        let fa = Filled::start(a.view(), mask.clone()).expect("start");
        let fb = Filled::start(b.view(), mask).expect("start");
        assert_eq!(fa.a, fb.a);
        assert_eq!(fa.observed_sq, fb.observed_sq);
        // Face 0's hidden pixel is the mean of its other five.
        let mean = (1..6).map(|i| i as f32 / 10.0).sum::<f32>() / 5.0;
        approx::assert_abs_diff_eq!(fa.a[(0, 0)], mean, epsilon = 1e-6);
        let mut f = fa;
        let w = Array2::from_elem((6, 2), 0.5f32);
        let ht = Array2::from_elem((4, 2), 0.25f32);
        f.refill(w.view(), ht.view());
        assert_eq!(f.a[(0, 0)], 0.25);
        assert_eq!(f.at[(3, 5)], 0.25);
        approx::assert_abs_diff_eq!(f.hidden_sq, 2.0 * 0.0625, epsilon = 1e-9);
    }

    #[test]
    fn the_simd_dot_agrees_with_the_portable_one() {
        for len in [1usize, 7, 8, 9, 49, 64, 100] {
            let x: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin().abs()).collect();
            let y: Vec<f32> = (0..len).map(|i| (i as f32 * 0.11).cos().abs()).collect();
            let exact: f64 = x.iter().zip(&y).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum();
            approx::assert_relative_eq!(f64::from(dot_slices(&x, &y)), exact, max_relative = 1e-5);
            approx::assert_relative_eq!(f64::from(dot_portable(&x, &y)), exact, max_relative = 1e-5);
        }
    }
}
