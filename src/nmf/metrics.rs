//! Measures of factors: importance, sparseness, similarity.

use ndarray::{ArrayView1, ArrayView2, Axis};

/// Each component's share of the reconstruction's total intensity:
/// (Σᵢ Wᵢⱼ)(Σₜ Hⱼₜ) / Σⱼ (…). Sums to 1 (all zeros for an all-zero fit).
pub fn importance(w: ArrayView2<f32>, h: ArrayView2<f32>) -> Vec<f32> {
    let wsum = w.sum_axis(Axis(0));
    let hsum = h.sum_axis(Axis(1));
    let mass: Vec<f64> = wsum.iter().zip(hsum.iter()).map(|(&a, &b)| f64::from(a) * f64::from(b)).collect();
    let total: f64 = mass.iter().sum();
    mass.iter().map(|&v| if total > 0.0 { (v / total) as f32 } else { 0.0 }).collect()
}

/// Component indices ordered by decreasing importance (ties by index).
pub fn order_by_importance(w: ArrayView2<f32>, h: ArrayView2<f32>) -> Vec<usize> {
    order_by_importance_of(&importance(w, h))
}

/// Indices ordered by decreasing `share` (ties by index): the order of
/// [`order_by_importance`] from importances already computed.
pub fn order_by_importance_of(share: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..share.len()).collect();
    order.sort_by(|&a, &b| share[b].total_cmp(&share[a]).then(a.cmp(&b)));
    order
}

/// Hoyer's sparseness of a vector: (√n − ‖x‖₁/‖x‖₂)/(√n − 1), from 0 (all
/// entries equal) to 1 (a single non-zero). 0 for an all-zero vector.
pub fn hoyer_sparseness(x: ArrayView1<f32>) -> f32 {
    let n = x.len();
    if n < 2 {
        return 0.0;
    }
    let l1: f64 = x.iter().map(|&v| f64::from(v).abs()).sum();
    let l2: f64 = x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>().sqrt();
    if l2 == 0.0 {
        return 0.0;
    }
    let sn = (n as f64).sqrt();
    ((sn - l1 / l2) / (sn - 1.0)).clamp(0.0, 1.0) as f32
}

/// Hoyer sparseness of every column of `w`, in one pass over its rows (no
/// strided reads of a row-major matrix; equal to [`hoyer_sparseness`] of
/// each column).
pub fn column_sparseness(w: ArrayView2<f32>) -> Vec<f32> {
    let k = w.ncols();
    let (mut l1, mut sq) = (vec![0.0f64; k], vec![0.0f64; k]);
    for row in w.rows() {
        for ((a, b), &v) in l1.iter_mut().zip(sq.iter_mut()).zip(row.iter()) {
            *a += f64::from(v).abs();
            *b += f64::from(v) * f64::from(v);
        }
    }
    let n = w.nrows();
    let sn = (n as f64).sqrt();
    l1.iter()
        .zip(&sq)
        .map(|(&a, &b)| {
            let l2 = b.sqrt();
            if n < 2 || l2 == 0.0 { 0.0 } else { ((sn - a / l2) / (sn - 1.0)).clamp(0.0, 1.0) as f32 }
        })
        .collect()
}

/// Mean Hoyer sparseness of the columns of `w`.
pub fn mean_sparseness(w: ArrayView2<f32>) -> f32 {
    let k = w.ncols().max(1);
    column_sparseness(w).iter().sum::<f32>() / k as f32
}

/// Cosine similarity of two vectors (0 if either is zero).
pub fn cosine(a: ArrayView1<f32>, b: ArrayView1<f32>) -> f32 {
    let dot: f64 = a.iter().zip(b.iter()).map(|(&x, &y)| f64::from(x) * f64::from(y)).sum();
    let na: f64 = a.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 { 0.0 } else { (dot / (na * nb)) as f32 }
}

/// For each column of `truth`, the best cosine with any column of `found`.
pub fn best_matches(truth: ArrayView2<f32>, found: ArrayView2<f32>) -> Vec<f32> {
    truth
        .columns()
        .into_iter()
        .map(|t| found.columns().into_iter().map(|f| cosine(t, f)).fold(0.0f32, f32::max))
        .collect()
}

/// ‖x − y‖ / ‖x‖ for one face and its reconstruction, in f64 (‖y‖ when x
/// is all zero).
pub fn rel_err(x: ArrayView1<f32>, y: ArrayView1<f32>) -> f64 {
    let (mut d, mut n) = (0.0f64, 0.0f64);
    for (&a, &b) in x.iter().zip(y.iter()) {
        d += f64::from(a - b).powi(2);
        n += f64::from(a).powi(2);
    }
    if n > 0.0 { (d / n).sqrt() } else { d.sqrt() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use ndarray::{Array1, array};

    #[test]
    fn sparseness_extremes() {
        assert_relative_eq!(hoyer_sparseness(Array1::from_elem(9, 2.0f32).view()), 0.0, epsilon = 1e-6);
        assert_relative_eq!(hoyer_sparseness(array![0.0f32, 0.0, 3.0, 0.0].view()), 1.0, epsilon = 1e-6);
        assert_eq!(hoyer_sparseness(Array1::<f32>::zeros(4).view()), 0.0);
    }

    #[test]
    fn column_sparseness_matches_each_column() {
        let w =
            ndarray::Array2::from_shape_fn((30, 4), |(i, j)| if (i + j) % (j + 1) == 0 { (i + 1) as f32 } else { 0.0 });
        let fast = column_sparseness(w.view());
        for (j, col) in w.columns().into_iter().enumerate() {
            assert!((fast[j] - hoyer_sparseness(col)).abs() < 1e-6, "column {j}");
        }
    }

    #[test]
    fn importance_sums_to_one_and_orders() {
        let w = array![[1.0f32, 0.0, 2.0], [1.0, 1.0, 2.0]];
        let h = array![[1.0f32, 1.0], [0.5, 0.5], [1.0, 2.0]];
        let s = importance(w.view(), h.view());
        assert_relative_eq!(s.iter().sum::<f32>(), 1.0, epsilon = 1e-6);
        assert_eq!(order_by_importance(w.view(), h.view()), vec![2, 0, 1]);
        assert_relative_eq!(cosine(array![1.0f32, 0.0].view(), array![1.0f32, 1.0].view()), 0.70710677, epsilon = 1e-6);
    }
}
