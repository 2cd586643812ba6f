//! Faces with covered (missing) pixels: the weights of a face from its
//! observed pixels only, and the error inside and outside the cover.
//!
//! With a mask M (true = observed), the weights are
//! h = argmin over h ≥ 0 of ‖M ⊙ (x − W·h)‖², the same NNLS as
//! [`super::transform`] on the observed rows of W and x only (Gram
//! Wᵀ·diag(M)·W, products Wᵀ·(M ⊙ x)). W·h then fills the hole from the
//! parts: what the face's visible pixels say about the parts it is made of.
//!
//! ```
//! use facenmf::nmf::occlusion::{hole_errors, transform_observed};
//! let w = ndarray::Array2::from_shape_fn((6, 2), |(i, c)| if i % 2 == c { 1.0 } else { 0.2 });
//! let x = w.dot(&ndarray::arr1(&[0.5f32, 1.0]));
//! let observed = [true, true, true, true, false, false];
//! let h = transform_observed(w.view(), x.view(), &observed).unwrap();
//! let r = w.dot(&h);
//! let e = hole_errors(x.view(), r.view(), &observed).unwrap();
//! assert_eq!(e.hole_pixels, 2);
//! assert!(e.inside < 1e-3 && e.outside < 1e-3);
//! ```

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

use super::linalg::gram;
use super::params::Penalty;
use super::update::hals_with_products;

/// The most coordinate sweeps of the NNLS (it stops earlier once a sweep
/// changes h by less than [`EPSILON`] times what the first one did).
const MAX_SWEEPS: usize = 1000;
/// Tight, as in [`super::transform`]: one face, so converging is cheap.
const EPSILON: f64 = 1e-4;

/// What can be wrong with a face and its cover.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OcclusionError {
    /// The basis has no column.
    #[error("the basis W has no parts (shape {rows} × 0)")]
    NoParts { rows: usize },
    /// The face or the mask does not have one entry per pixel of W.
    #[error("{what} has {got} pixels, but the basis W has {expected}")]
    Length { what: &'static str, got: usize, expected: usize },
    /// Every pixel is covered: nothing is left to find the weights from.
    #[error("every one of the {pixels} pixels is covered: no observed pixel is left to find the weights from")]
    NoObserved { pixels: usize },
    /// An entry that is not a finite number (or, in W, negative).
    #[error("{what} has an invalid entry {value} at pixel {pixel}: {need}")]
    Invalid { what: &'static str, pixel: usize, value: f32, need: &'static str },
}

/// The weights h ≥ 0 of face `x` (m pixels) with the basis `w` (m × k)
/// fixed, minimising ‖M ⊙ (x − W·h)‖² over the `observed` pixels only
/// (M: `observed`, one flag per pixel). The values of `x` under the cover
/// are never read (they may even be NaN).
pub fn transform_observed(
    w: ArrayView2<f32>,
    x: ArrayView1<f32>,
    observed: &[bool],
) -> Result<Array1<f32>, OcclusionError> {
    let (m, k) = w.dim();
    if k == 0 {
        return Err(OcclusionError::NoParts { rows: m });
    }
    if x.len() != m {
        return Err(OcclusionError::Length { what: "the face", got: x.len(), expected: m });
    }
    if observed.len() != m {
        return Err(OcclusionError::Length { what: "the cover mask", got: observed.len(), expected: m });
    }
    if let Some(((pixel, _), &value)) = w.indexed_iter().find(|(_, v)| !(v.is_finite() && **v >= 0.0)) {
        return Err(OcclusionError::Invalid { what: "the basis W", pixel, value, need: "it must be finite and ≥ 0" });
    }
    let rows: Vec<usize> = (0..m).filter(|&i| observed[i]).collect();
    if rows.is_empty() {
        return Err(OcclusionError::NoObserved { pixels: m });
    }
    if let Some(&pixel) = rows.iter().find(|&&i| !x[i].is_finite()) {
        return Err(OcclusionError::Invalid {
            what: "the face",
            pixel,
            value: x[pixel],
            need: "observed pixels must be finite",
        });
    }
    let w_obs = w.select(Axis(0), &rows);
    let q = gram(w_obs.view());
    // p = (M ⊙ x)ᵀ·W, accumulated in f64 (one row: k dot products).
    let mut p = Array2::<f32>::zeros((1, k));
    for c in 0..k {
        let col = w_obs.column(c);
        p[[0, c]] = rows.iter().zip(col.iter()).map(|(&i, &wv)| f64::from(x[i]) * f64::from(wv)).sum::<f64>() as f32;
    }
    let mut h = Array2::<f32>::zeros((1, k));
    hals_with_products(p.view(), q.view(), &mut h, Penalty::default(), MAX_SWEEPS, EPSILON);
    Ok(h.index_axis_move(Axis(0), 0))
}

/// The relative error of a reconstruction inside the cover (the hole) and
/// outside it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HoleErrors {
    /// ‖x − r‖ / ‖x‖ over the covered pixels (0 when none is covered).
    pub inside: f64,
    /// ‖x − r‖ / ‖x‖ over the observed pixels.
    pub outside: f64,
    /// Covered pixels.
    pub hole_pixels: usize,
}

/// [`HoleErrors`] of the reconstruction `r` of face `x`, with `observed`
/// (one flag per pixel; false = covered). Where ‖x‖ is 0 over a region the
/// error there is ‖x − r‖ itself.
pub fn hole_errors(x: ArrayView1<f32>, r: ArrayView1<f32>, observed: &[bool]) -> Result<HoleErrors, OcclusionError> {
    let m = x.len();
    if r.len() != m {
        return Err(OcclusionError::Length { what: "the reconstruction", got: r.len(), expected: m });
    }
    if observed.len() != m {
        return Err(OcclusionError::Length { what: "the cover mask", got: observed.len(), expected: m });
    }
    // [outside, inside] × [‖x − r‖², ‖x‖²].
    let mut sums = [[0.0f64; 2]; 2];
    let mut hole_pixels = 0;
    for ((&a, &b), &seen) in x.iter().zip(r.iter()).zip(observed) {
        let s = &mut sums[usize::from(!seen)];
        s[0] += f64::from(a - b).powi(2);
        s[1] += f64::from(a).powi(2);
        hole_pixels += usize::from(!seen);
    }
    let rel = |[d, n]: [f64; 2]| if n > 0.0 { (d / n).sqrt() } else { d.sqrt() };
    Ok(HoleErrors { inside: rel(sums[1]), outside: rel(sums[0]), hole_pixels })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// A non-negative basis of `k` smooth, overlapping parts on `m` pixels.
    fn basis(m: usize, k: usize) -> Array2<f32> {
        Array2::from_shape_fn((m, k), |(i, c)| {
            let centre = (c as f32 + 0.5) * m as f32 / k as f32;
            let d = (i as f32 - centre) / (m as f32 / k as f32);
            (-d * d).exp() + 0.05 * ((i * 7 + c * 13) % 5) as f32 / 5.0
        })
    }

    fn hole(m: usize, from: usize, to: usize) -> Vec<bool> {
        (0..m).map(|i| !(from..to).contains(&i)).collect()
    }

    #[test]
    fn the_weights_do_not_depend_on_the_pixels_under_the_hole() {
        let (m, k) = (120, 6);
        let w = basis(m, k);
        let x = Array1::from_shape_fn(m, |i| ((i * 31) % 17) as f32 / 17.0);
        let observed = hole(m, 40, 70);
        let h = transform_observed(w.view(), x.view(), &observed).unwrap();
        let mut y = x.clone();
        for i in 40..70 {
            y[i] = if i % 2 == 0 { 1e3 } else { f32::NAN };
        }
        let h2 = transform_observed(w.view(), y.view(), &observed).unwrap();
        assert_eq!(h, h2);
        // Without the cover, those pixels do count.
        let all = vec![true; m];
        let y = y.mapv(|v| if v.is_finite() { v } else { 0.0 });
        assert_ne!(transform_observed(w.view(), y.view(), &all).unwrap(), h);
    }

    #[test]
    fn a_face_made_of_the_parts_is_filled_exactly_inside_the_hole() {
        let (m, k) = (200, 5);
        let w = basis(m, k);
        let h0 = ndarray::arr1(&[0.8f32, 0.0, 1.3, 0.4, 0.9]);
        let x = w.dot(&h0);
        let observed = hole(m, 80, 125);
        let h = transform_observed(w.view(), x.view(), &observed).unwrap();
        let r = w.dot(&h);
        let e = hole_errors(x.view(), r.view(), &observed).unwrap();
        assert_eq!(e.hole_pixels, 45);
        assert!(e.inside < 1e-3, "{e:?}");
        assert!(e.outside < 1e-3, "{e:?}");
        // f32 sweeps on a basis the hole makes less well conditioned.
        for (a, b) in h.iter().zip(h0.iter()) {
            assert!((a - b).abs() < 1e-2, "{h} vs {h0}");
        }
    }

    #[test]
    fn with_nothing_covered_it_is_the_plain_projection() {
        let (m, k) = (90, 4);
        let w = basis(m, k);
        let x = Array1::from_shape_fn(m, |i| ((i * 11) % 9) as f32 / 9.0);
        let h = transform_observed(w.view(), x.view(), &vec![true; m]).unwrap();
        let plain = super::super::transform(w.view(), x.view().insert_axis(Axis(1))).unwrap();
        for (a, b) in h.iter().zip(plain.column(0).iter()) {
            assert!((a - b).abs() < 1e-4, "{h} vs {plain}");
        }
        let e = hole_errors(x.view(), w.dot(&h).view(), &vec![true; m]).unwrap();
        assert_eq!((e.hole_pixels, e.inside), (0, 0.0));
    }

    #[test]
    fn bad_input_is_an_error_that_names_it() {
        let (m, k) = (30, 3);
        let w = basis(m, k);
        let x = Array1::from_elem(m, 0.5f32);
        let e = transform_observed(w.view(), x.view(), &vec![false; m]).unwrap_err();
        assert_eq!(e, OcclusionError::NoObserved { pixels: 30 });
        assert!(e.to_string().contains("no observed pixel"), "{e}");
        let e = transform_observed(w.view(), x.view(), &[true; 29]).unwrap_err();
        assert_eq!(e.to_string(), "the cover mask has 29 pixels, but the basis W has 30");
        let short = Array1::from_elem(m - 1, 0.5f32);
        let e = transform_observed(w.view(), short.view(), &vec![true; m]).unwrap_err();
        assert!(e.to_string().starts_with("the face has 29 pixels"), "{e}");
        let mut bad = x.clone();
        bad[3] = f32::INFINITY;
        let e = transform_observed(w.view(), bad.view(), &vec![true; m]).unwrap_err();
        assert!(e.to_string().contains("invalid entry inf at pixel 3"), "{e}");
        let mut wn = w.clone();
        wn[[5, 1]] = f32::NAN;
        let e = transform_observed(wn.view(), x.view(), &vec![true; m]).unwrap_err();
        assert!(e.to_string().contains("the basis W has an invalid entry NaN at pixel 5"), "{e}");
        let e = transform_observed(Array2::<f32>::zeros((m, 0)).view(), x.view(), &vec![true; m]).unwrap_err();
        assert!(matches!(e, OcclusionError::NoParts { rows: 30 }));
        let e = hole_errors(x.view(), short.view(), &vec![true; m]).unwrap_err();
        assert!(e.to_string().contains("the reconstruction has 29 pixels"), "{e}");
    }
}
