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

/// The smallest share of a vector's entries that holds 90 % of its energy
/// Σx²: the largest entries by magnitude are taken until their squares
/// reach 0.9·Σx². From 1/n (one entry) to 0.9 (all equal, up to rounding
/// to whole entries); 0 for an all-zero vector. A basis image with
/// support90 = 0.04 draws 90 % of its energy from 4 % of the pixels.
pub fn support90(x: ArrayView1<f32>) -> f32 {
    let n = x.len();
    let mut sq: Vec<f64> = x.iter().map(|&v| f64::from(v) * f64::from(v)).collect();
    let total: f64 = sq.iter().sum();
    if n == 0 || total == 0.0 {
        return 0.0;
    }
    sq.sort_by(|a, b| b.total_cmp(a));
    let goal = 0.9 * total;
    let mut acc = 0.0;
    let mut count = n;
    for (i, &v) in sq.iter().enumerate() {
        acc += v;
        if acc >= goal {
            count = i + 1;
            break;
        }
    }
    count as f32 / n as f32
}

/// Median of [`support90`] over the columns of `w` that are not all zero
/// (the mean of the two middle ones for an even count; 0 when there are
/// none): zeroed parts ([`zeroed_parts`]) have no support to measure.
pub fn median_support90(w: ArrayView2<f32>) -> f32 {
    let mut s: Vec<f32> = w.columns().into_iter().filter(|c| c.iter().any(|&v| v != 0.0)).map(support90).collect();
    median(&mut s)
}

/// Median of `v` (reordered), 0 when empty.
fn median(v: &mut [f32]) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f32::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 { v[mid] } else { 0.5 * (v[mid - 1] + v[mid]) }
}

/// How many of a fit's k parts contribute nothing to W·H: a part whose basis
/// image (column of W) or whose weights (row of H) are all zero. An L1
/// penalty strong enough zeroes parts this way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ZeroedParts {
    /// Parts in all (k).
    pub k: usize,
    /// Columns of W that are all zero.
    pub w_columns: usize,
    /// Rows of H that are all zero.
    pub h_rows: usize,
    /// Parts with either (at most k; the part is then absent from W·H).
    pub parts: usize,
}

impl ZeroedParts {
    /// One sentence on the zeroed parts ("3 of 49 parts are zero (…); 46
    /// of 49 are left"), None when there are none.
    pub fn summary(&self) -> Option<String> {
        (self.parts > 0).then(|| {
            format!(
                "{} of {} parts are zero ({} of {} columns of W and {} of {} rows of H are all zero); {} of {} are left",
                self.parts,
                self.k,
                self.w_columns,
                self.k,
                self.h_rows,
                self.k,
                self.k - self.parts,
                self.k
            )
        })
    }
}

/// [`ZeroedParts`] of W (m × k) and H (k × n).
pub fn zeroed_parts(w: ArrayView2<f32>, h: ArrayView2<f32>) -> ZeroedParts {
    let zero_w: Vec<bool> = w.columns().into_iter().map(|c| c.iter().all(|&v| v == 0.0)).collect();
    let zero_h: Vec<bool> = h.rows().into_iter().map(|r| r.iter().all(|&v| v == 0.0)).collect();
    ZeroedParts {
        k: w.ncols(),
        w_columns: zero_w.iter().filter(|&&z| z).count(),
        h_rows: zero_h.iter().filter(|&&z| z).count(),
        parts: zero_w.iter().zip(zero_h.iter().chain(std::iter::repeat(&false))).filter(|(a, b)| **a || **b).count(),
    }
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

/// The Amari-type distance between two sets of parts W₁, W₂ (m × k each),
/// as in Wu et al. 2016 (stability NMF): with C the k × k cosines between
/// their columns, 1/(2k)·(2k − Σⱼ maxᵢ Cᵢⱼ − Σᵢ maxⱼ Cᵢⱼ). It is 0 when
/// every part of one has an identical part in the other (in any order and
/// scale), and approaches 1 when no part matches. Zero columns match
/// nothing.
pub fn amari_distance(w1: ArrayView2<f32>, w2: ArrayView2<f32>) -> f64 {
    let k = w1.ncols().max(w2.ncols());
    if k == 0 {
        return 0.0;
    }
    let c: Vec<Vec<f32>> =
        w1.columns().into_iter().map(|a| w2.columns().into_iter().map(|b| cosine(a, b)).collect()).collect();
    let rows: f64 = c.iter().map(|r| f64::from(r.iter().copied().fold(0.0f32, f32::max))).sum();
    let cols: f64 = (0..w2.ncols()).map(|j| f64::from(c.iter().map(|r| r[j]).fold(0.0f32, f32::max))).sum();
    ((2.0 * k as f64 - rows - cols) / (2.0 * k as f64)).clamp(0.0, 1.0)
}

/// Stability of parts found by restarts: 1 − the mean [`amari_distance`]
/// over every pair of `ws`; 1 for fewer than two.
pub fn stability(ws: &[ArrayView2<f32>]) -> f64 {
    let mut sum = 0.0;
    let mut pairs = 0usize;
    for (i, a) in ws.iter().enumerate() {
        for b in &ws[i + 1..] {
            sum += amari_distance(*a, *b);
            pairs += 1;
        }
    }
    if pairs == 0 { 1.0 } else { 1.0 - sum / pairs as f64 }
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
    fn support90_counts_the_entries_holding_90_percent_of_the_energy() {
        // One entry holds it all.
        assert_relative_eq!(support90(array![0.0f32, 5.0, 0.0, 0.0].view()), 0.25);
        // Equal entries: 9 of 10 hold exactly 90 %.
        assert_relative_eq!(support90(Array1::from_elem(10, 1.0f32).view()), 0.9);
        // Energies 16, 9, 1 of 26: 16 + 9 = 25 ≥ 23.4 needs two of four.
        assert_relative_eq!(support90(array![1.0f32, -4.0, 0.0, 3.0].view()), 0.5);
        assert_eq!(support90(Array1::<f32>::zeros(5).view()), 0.0);
        let w = array![[1.0f32, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 2.0], [0.0, 1.0, 0.0]];
        // Columns: 0.25, 1.0 (4 equal entries need all 4), 0.25.
        assert_relative_eq!(median_support90(w.view()), 0.25);
        assert_relative_eq!(median_support90(w.slice(ndarray::s![.., ..2]).view()), 0.625);
        // All-zero columns are left out.
        let z = array![[1.0f32, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]];
        assert_relative_eq!(median_support90(z.view()), 0.25);
    }

    #[test]
    fn zeroed_parts_count_zero_columns_of_w_and_rows_of_h() {
        let w = array![[1.0f32, 0.0, 0.0], [2.0, 0.0, 1.0]];
        let h = array![[1.0f32, 1.0], [3.0, 0.0], [0.0, 0.0]];
        let z = zeroed_parts(w.view(), h.view());
        assert_eq!(z, ZeroedParts { k: 3, w_columns: 1, h_rows: 1, parts: 2 });
        let z = zeroed_parts(w.view(), array![[1.0f32], [0.0], [2.0]].view());
        assert_eq!((z.w_columns, z.h_rows, z.parts), (1, 1, 1));
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

    #[test]
    fn amari_distance_is_zero_for_the_same_parts_and_one_for_disjoint_ones() {
        let w = ndarray::array![[1.0f32, 0.0, 0.5], [0.0, 2.0, 0.5], [0.0, 0.0, 1.0]];
        // The same parts, reordered and rescaled.
        let p = ndarray::array![[0.0f32, 1.0, 3.0], [4.0, 1.0, 0.0], [0.0, 2.0, 0.0]];
        assert!(amari_distance(w.view(), p.view()) < 1e-6);
        let a = ndarray::array![[1.0f32, 0.0], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0]];
        let b = ndarray::array![[0.0f32, 0.0], [0.0, 0.0], [1.0, 0.0], [0.0, 1.0]];
        assert!((amari_distance(a.view(), b.view()) - 1.0).abs() < 1e-9);
        assert_eq!(stability(&[w.view()]), 1.0);
        assert!((stability(&[a.view(), b.view(), a.view()]) - (1.0 - 2.0 / 3.0)).abs() < 1e-9);
    }
}
