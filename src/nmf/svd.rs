//! Truncated SVD by randomized range finding (Halko, Martinsson & Tropp
//! 2011), and PCA (eigenfaces) on top of it.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis, s};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use super::NmfError;
use super::linalg::{par_matmul, transpose_owned};

/// A truncated SVD A ≈ U·diag(s)·Vᵀ.
#[derive(Debug, Clone)]
pub struct Svd {
    /// m × k, orthonormal columns (left singular vectors).
    pub u: Array2<f32>,
    /// k singular values, largest first.
    pub s: Vec<f32>,
    /// k × n, orthonormal rows (right singular vectors).
    pub vt: Array2<f32>,
}

/// Extra random directions sampled beyond k (scikit-learn's default).
pub const OVERSAMPLES: usize = 10;

/// scikit-learn's `n_iter='auto'`: 7 power iterations for a small rank,
/// else 4.
pub fn auto_power_iters(k: usize, m: usize, n: usize) -> usize {
    if (k as f64) < 0.1 * m.min(n) as f64 { 7 } else { 4 }
}

/// The top-`k` singular triplets of `a` (m × n), with `at` its row-major
/// transpose. Power iterations run on the shorter side, whose
/// orthonormalisations are cheap; the result is deterministic for a seed.
pub fn randomized_svd(
    a: ArrayView2<f32>,
    at: ArrayView2<f32>,
    k: usize,
    power_iters: usize,
    seed: u64,
) -> Result<Svd, NmfError> {
    sketch_svd(Op { a, at, mean: None, transposed: false }, k, power_iters, seed, false)
}

/// [`randomized_svd`] with every triplet it computed: the top k + p, where
/// p = [`OVERSAMPLES`] (fewer when a side of A is shorter). Its first k
/// triplets are [`randomized_svd`]'s, bit for bit; all of them make a
/// sketch A ≈ U·diag(s)·Vᵀ ([`super::compress::Sketch::from_svd`]).
pub fn randomized_svd_oversampled(
    a: ArrayView2<f32>,
    at: ArrayView2<f32>,
    k: usize,
    power_iters: usize,
    seed: u64,
) -> Result<Svd, NmfError> {
    sketch_svd(Op { a, at, mean: None, transposed: false }, k, power_iters, seed, true)
}

/// A − μ·1ᵀ (or its transpose) as an operator, through products with A and
/// Aᵀ only: PCA centres the faces without a centred copy of A.
#[derive(Clone, Copy)]
struct Op<'a> {
    a: ArrayView2<'a, f32>,
    at: ArrayView2<'a, f32>,
    /// μ (m), subtracted from every column of A.
    mean: Option<ArrayView1<'a, f32>>,
    transposed: bool,
}

impl Op<'_> {
    fn dim(&self) -> (usize, usize) {
        let (m, n) = self.a.dim();
        if self.transposed { (n, m) } else { (m, n) }
    }

    fn t(self) -> Self {
        Op { transposed: !self.transposed, ..self }
    }

    /// (A − μ1ᵀ)·X = A·X − μ·(1ᵀX).
    fn a_times(&self, x: ArrayView2<f32>) -> Array2<f32> {
        let mut y = par_matmul(self.a, x);
        if let Some(mu) = self.mean {
            let sums = x.sum_axis(Axis(0));
            y -= &(mu.insert_axis(Axis(1)).to_owned() * &sums.insert_axis(Axis(0)));
        }
        y
    }

    /// (A − μ1ᵀ)ᵀ·Y = Aᵀ·Y − 1·(μᵀY).
    fn at_times(&self, y: ArrayView2<f32>) -> Array2<f32> {
        let mut z = par_matmul(self.at, y);
        if let Some(mu) = self.mean {
            let row = mu.dot(&y);
            z -= &row.insert_axis(Axis(0));
        }
        z
    }

    /// This operator times X.
    fn mul(&self, x: ArrayView2<f32>) -> Array2<f32> {
        if self.transposed { self.at_times(x) } else { self.a_times(x) }
    }

    /// Its transpose times Y.
    fn mul_t(&self, y: ArrayView2<f32>) -> Array2<f32> {
        if self.transposed { self.a_times(y) } else { self.at_times(y) }
    }
}

/// [`randomized_svd`] of an operator.
/// With `oversampled`, every triplet computed is kept, not only the top k.
fn sketch_svd(op: Op<'_>, k: usize, power_iters: usize, seed: u64, oversampled: bool) -> Result<Svd, NmfError> {
    let (m, n) = op.dim();
    if m < n {
        // Work on the transpose and swap the factors back.
        let t = sketch_svd(op.t(), k, power_iters, seed, oversampled)?;
        return Ok(Svd { u: t.vt.reversed_axes_owned(), s: t.s, vt: t.u.reversed_axes_owned() });
    }
    // Here n ≤ m: the row space (n-dimensional) is the short side.
    let k = k.min(n);
    let l = (k + OVERSAMPLES).min(n);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let omega = Array2::from_shape_simple_fn((n, l), || StandardNormal.sample(&mut rng));
    let mut z = orthonormalize(omega.view())?;
    for _ in 0..power_iters {
        let y = op.mul(z.view()); // m × l
        let zz = op.mul_t(y.view()); // n × l
        z = orthonormalize(zz.view())?;
    }
    // A ≈ (A Z) Zᵀ; the SVD of the tall A·Z gives U, Σ and V = Z·X.
    let c = op.mul(z.view()); // m × l
    let (uc, sc, xc) = thin_svd(c.view())?;
    let k = if oversampled { sc.len().min(l) } else { k };
    let u = uc.slice(s![.., ..k]).to_owned();
    let v = par_matmul(z.view(), xc.slice(s![.., ..k])); // n × k
    let vt = transpose_owned(v.view());
    Ok(Svd { u, s: sc[..k].to_vec(), vt })
}

trait ReversedOwned {
    fn reversed_axes_owned(self) -> Array2<f32>;
}

impl ReversedOwned for Array2<f32> {
    fn reversed_axes_owned(self) -> Array2<f32> {
        transpose_owned(self.view())
    }
}

fn to_faer(x: ArrayView2<f32>) -> faer::Mat<f32> {
    faer::Mat::from_fn(x.nrows(), x.ncols(), |i, j| x[(i, j)])
}

fn from_faer(x: faer::MatRef<f32>) -> Array2<f32> {
    Array2::from_shape_fn((x.nrows(), x.ncols()), |(i, j)| x[(i, j)])
}

/// An orthonormal basis (Q of a thin QR) of the columns of `x`.
fn orthonormalize(x: ArrayView2<f32>) -> Result<Array2<f32>, NmfError> {
    faer::set_global_parallelism(faer::Par::Seq);
    let q = to_faer(x).qr().compute_thin_Q();
    let q = from_faer(q.as_ref());
    if q.iter().all(|v| v.is_finite()) {
        Ok(q)
    } else {
        Err(NmfError::Numerical("QR of the sketch produced non-finite values".into()))
    }
}

/// (U, s, V) of a thin SVD.
type ThinSvd = (Array2<f32>, Vec<f32>, Array2<f32>);

/// Thin SVD (U, s, V) of a tall matrix, singular values descending.
fn thin_svd(x: ArrayView2<f32>) -> Result<ThinSvd, NmfError> {
    faer::set_global_parallelism(faer::Par::Seq);
    let svd = to_faer(x).thin_svd().map_err(|e| NmfError::Numerical(format!("SVD did not converge: {e:?}")))?;
    let s: Vec<f32> = (0..svd.S().dim()).map(|i| svd.S()[i]).collect();
    Ok((from_faer(svd.U()), s, from_faer(svd.V())))
}

/// Principal component analysis of faces (the columns of A): eigenfaces.
#[derive(Debug, Clone)]
pub struct Pca {
    /// The mean face (m).
    pub mean: Array1<f32>,
    /// m × k eigenfaces (orthonormal, signed), most variance first.
    pub components: Array2<f32>,
    /// k × n coordinates of each centred face on the eigenfaces.
    pub scores: Array2<f32>,
    /// Share of the total variance each component explains.
    pub explained_variance_ratio: Vec<f32>,
}

impl Pca {
    /// Reconstruction of face `j`: mean + Σ scores·eigenfaces.
    pub fn reconstruct(&self, j: usize) -> Array1<f32> {
        &self.mean + &self.components.dot(&self.scores.column(j))
    }
}

/// PCA of the columns of `a` (with `at` its row-major transpose) with `k`
/// components. The faces are centred implicitly (products with A and Aᵀ
/// corrected by the mean), never copied. Each eigenface's sign is fixed so
/// that its largest-magnitude pixel is positive.
pub fn pca(a: ArrayView2<f32>, at: ArrayView2<f32>, k: usize, seed: u64) -> Result<Pca, NmfError> {
    let (m, n) = a.dim();
    if k == 0 || k > m.min(n) {
        return Err(NmfError::InvalidK { k, max: m.min(n), pixels: m, faces: n });
    }
    if at.dim() != (n, m) {
        return Err(NmfError::Shape { what: "Aᵀ", got: at.dim(), expected: (n, m) });
    }
    let mean = a.mean_axis(Axis(1)).unwrap_or_else(|| Array1::zeros(m));
    // ‖A − μ1ᵀ‖², one row (pixel) at a time.
    let total: f64 = a
        .outer_iter()
        .into_par_iter()
        .zip(mean.as_slice().unwrap_or(&[]).par_iter())
        .map(|(row, &mu)| row.iter().map(|&v| (f64::from(v) - f64::from(mu)).powi(2)).sum::<f64>())
        .sum();
    let op = Op { a, at, mean: Some(mean.view()), transposed: false };
    let svd = sketch_svd(op, k, auto_power_iters(k, m, n), seed, false)?;
    let mut components = svd.u;
    let mut vt = svd.vt;
    for j in 0..components.ncols() {
        let col = components.column(j);
        let peak = col.iter().copied().fold(0.0f32, |best, v| if v.abs() > best.abs() { v } else { best });
        if peak < 0.0 {
            components.column_mut(j).mapv_inplace(|v| -v);
            vt.row_mut(j).mapv_inplace(|v| -v);
        }
    }
    let mut scores = vt;
    for (j, mut row) in scores.rows_mut().into_iter().enumerate() {
        row *= svd.s[j];
    }
    let explained_variance_ratio =
        svd.s.iter().map(|&s| if total > 0.0 { (f64::from(s).powi(2) / total) as f32 } else { 0.0 }).collect();
    Ok(Pca { mean, components, scores, explained_variance_ratio })
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    fn low_rank(m: usize, n: usize, r: usize) -> Array2<f32> {
        let u = Array2::from_shape_fn((m, r), |(i, j)| ((i * 7 + j * 13) as f32 * 0.11).sin());
        let v = Array2::from_shape_fn((r, n), |(i, j)| ((i * 5 + j * 3) as f32 * 0.07).cos() * (r - i) as f32);
        u.dot(&v)
    }

    #[test]
    fn recovers_singular_values_of_a_low_rank_matrix() {
        for (m, n) in [(300, 80), (60, 200)] {
            let a = low_rank(m, n, 5);
            let at = transpose_owned(a.view());
            let svd = randomized_svd(a.view(), at.view(), 5, 4, 1).expect("svd");
            let approx = svd.u.dot(&Array2::from_diag(&Array1::from(svd.s.clone()))).dot(&svd.vt);
            let err = (&a - &approx).mapv(|v| v * v).sum().sqrt() / a.mapv(|v| v * v).sum().sqrt();
            assert!(err < 1e-4, "{m}x{n}: rel err {err}");
            assert!(svd.s.windows(2).all(|w| w[0] >= w[1]));
            // Orthonormal columns.
            let g = svd.u.t().dot(&svd.u);
            for i in 0..5 {
                assert_relative_eq!(g[(i, i)], 1.0, epsilon = 1e-4);
            }
        }
    }

    #[test]
    fn pca_centres_without_a_copy_like_an_explicitly_centred_matrix() {
        let a = low_rank(90, 40, 6).mapv(|v| v.abs() + 0.5);
        let at = transpose_owned(a.view());
        let p = pca(a.view(), at.view(), 5, 3).expect("pca");
        let mean = a.mean_axis(Axis(1)).unwrap();
        let centred = &a - &mean.view().insert_axis(Axis(1));
        let ct = transpose_owned(centred.view());
        let svd = randomized_svd(centred.view(), ct.view(), 5, auto_power_iters(5, 90, 40), 3).expect("svd");
        let total = centred.mapv(|v| f64::from(v).powi(2)).sum();
        for (j, &sv) in svd.s.iter().enumerate() {
            assert_relative_eq!(p.explained_variance_ratio[j], (f64::from(sv).powi(2) / total) as f32, epsilon = 1e-4);
            // The same eigenface up to the sign convention.
            let dot: f32 = p.components.column(j).dot(&svd.u.column(j));
            assert_relative_eq!(dot.abs(), 1.0, epsilon = 1e-3);
        }
        assert!(pca(a.view(), a.view(), 5, 3).is_err(), "Aᵀ of the wrong shape is refused");
    }

    #[test]
    fn pca_reconstructs_with_full_rank() {
        let a = low_rank(120, 30, 4).mapv(|v| v + 10.0);
        let at = transpose_owned(a.view());
        let p = pca(a.view(), at.view(), 4, 0).expect("pca");
        let ratio: f32 = p.explained_variance_ratio.iter().sum();
        assert_relative_eq!(ratio, 1.0, epsilon = 1e-3);
        let face = p.reconstruct(3);
        for (x, y) in face.iter().zip(a.column(3).iter()) {
            assert_relative_eq!(x, y, epsilon = 1e-3);
        }
    }
}
