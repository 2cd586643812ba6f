//! Per-face normalisation of the pixel matrix.

use ndarray::{Array2, ArrayViewMut1};
use rayon::prelude::*;

use super::{Preprocess, column_blocks};

/// Applies `p` to every face (column) of `matrix` in place, in parallel.
///
/// * [`Preprocess::None`] leaves it unchanged.
/// * [`Preprocess::LeeSeung`] works as in Lee & Seung (1999): each face's
///   pixel mean and standard deviation are set to 0.25, then values are
///   clipped to the range 0..=1. A constant face becomes 0.25 everywhere.
/// * [`Preprocess::Equalize`] histogram-equalises each face over 256 levels:
///   level `v` maps to `(cdf(v) - cdf_min) / (n - cdf_min)`, so the darkest
///   level present becomes 0 and the brightest 1. A constant face is left
///   unchanged.
///
/// The same function is used by the CLI and the GUI.
pub fn preprocess(matrix: &mut Array2<f32>, p: Preprocess) {
    if p == Preprocess::None || matrix.is_empty() {
        return;
    }
    column_blocks(matrix).into_par_iter().for_each(|mut block| {
        for col in block.columns_mut() {
            match p {
                Preprocess::None => {}
                Preprocess::LeeSeung => lee_seung(col),
                Preprocess::Equalize => equalize(col),
            }
        }
    });
}

fn lee_seung(mut col: ArrayViewMut1<'_, f32>) {
    let n = col.len() as f64;
    let mean = col.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = col.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    let std = var.sqrt();
    let gain = if std > 1e-12 { 0.25 / std } else { 0.0 };
    col.mapv_inplace(|v| ((v as f64 - mean) * gain + 0.25).clamp(0.0, 1.0) as f32);
}

fn level(v: f32) -> usize {
    if v.is_nan() { 0 } else { (v.clamp(0.0, 1.0) * 255.0).round() as usize }
}

fn equalize(mut col: ArrayViewMut1<'_, f32>) {
    let mut hist = [0u32; 256];
    for &v in col.iter() {
        hist[level(v)] += 1;
    }
    let n = col.len() as u64;
    let mut cdf = [0u64; 256];
    let mut acc = 0u64;
    for (c, &h) in cdf.iter_mut().zip(hist.iter()) {
        acc += h as u64;
        *c = acc;
    }
    let cdf_min = cdf.iter().copied().find(|&c| c > 0).unwrap_or(0);
    if n <= cdf_min {
        return; // constant face
    }
    let denom = (n - cdf_min) as f32;
    let map: [f32; 256] = std::array::from_fn(|l| (cdf[l].saturating_sub(cdf_min) as f32 / denom).clamp(0.0, 1.0));
    col.mapv_inplace(|v| map[level(v)]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn sample() -> Array2<f32> {
        // 100 pixels × 20 faces with varied contents, one constant face.
        Array2::from_shape_fn((100, 20), |(p, j)| {
            if j == 3 { 0.7 } else { ((p * (j + 1)) % 97) as f32 / 96.0 * (0.2 + 0.04 * j as f32) }
        })
    }

    #[test]
    fn none_is_identity() {
        let mut m = sample();
        let orig = m.clone();
        preprocess(&mut m, Preprocess::None);
        assert_eq!(m, orig);
    }

    #[test]
    fn lee_seung_sets_mean_and_std() {
        let mut m = sample();
        preprocess(&mut m, Preprocess::LeeSeung);
        for (j, col) in m.columns().into_iter().enumerate() {
            assert!(col.iter().all(|&v| (0.0..=1.0).contains(&v)));
            let mean = col.mean().unwrap();
            if j == 3 {
                assert!(col.iter().all(|&v| (v - 0.25).abs() < 1e-6));
                continue;
            }
            // Before clipping mean is exactly 0.25; clipping moves it a little.
            assert!((mean - 0.25).abs() < 0.03, "face {j}: mean {mean}");
            let std = col.std(0.0);
            assert!((std - 0.25).abs() < 0.05, "face {j}: std {std}");
        }
    }

    #[test]
    fn equalize_spreads_levels() {
        let mut m = sample();
        preprocess(&mut m, Preprocess::Equalize);
        for (j, col) in m.columns().into_iter().enumerate() {
            if j == 3 {
                assert!(col.iter().all(|&v| v == 0.7));
                continue;
            }
            let min = col.iter().cloned().fold(f32::INFINITY, f32::min);
            let max = col.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            assert_eq!(min, 0.0, "face {j}");
            assert_eq!(max, 1.0, "face {j}");
            // Roughly uniform: mean near 0.5.
            let mean = col.mean().unwrap();
            assert!((mean - 0.5).abs() < 0.1, "face {j}: mean {mean}");
        }
    }
}
