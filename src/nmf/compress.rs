//! Compressed HALS: iterations on a sketch A ≈ Q·B of the data (Halko,
//! Martinsson & Tropp 2011's range finder, as in Tepper & Sapiro's
//! compressed NMF, 2016), shared by every rank of a sweep.
//!
//! Q (m × l) has orthonormal columns spanning A's top l singular
//! directions, B = Qᵀ·A (l × n). The products HALS needs, A·Hᵀ and Aᵀ·W,
//! become Q·(B·Hᵀ) and Bᵀ·(Qᵀ·W): they stream Q (m × l) and B instead of A
//! (m × n), so an iteration at a small k costs a fraction of an exact one.
//! The factors stay full-sized and non-negative; only the data is
//! approximated, so a few exact iterations on A follow
//! ([`super::sweep::SweepStrategy::WarmStart`]) and every error reported is
//! exact on A.

use ndarray::{Array2, Axis, s};

use super::init::dominant_signed_part;
use super::linalg::{gram, par_matmul, transpose_owned};
use super::params::Penalty;
use super::svd::{Svd, randomized_svd};
use super::{FaceMatrix, NmfError, update};

/// Power iterations of the sketch's range finder.
pub const SKETCH_POWER_ITERS: usize = 4;

/// The largest share of an exact iteration's product work at which
/// [`Sketch::pays`]: 1/8. (On ORL at k = 49 a sketch of rank 59 streams 15 %
/// of A and its iterations took half an exact one's time, the sweeps over W
/// unchanged: 30 of them saved 5 exact iterations, no time. On 13,000 faces
/// of 64×64, 2 %: an iteration on it took a thirteenth of an exact one.)
pub const SKETCH_COST_SHARE: f64 = 0.125;

/// A ≈ Q·B.
#[derive(Debug, Clone)]
pub struct Sketch {
    /// m × l, orthonormal columns.
    q: Array2<f32>,
    /// Qᵀ (l × m), stored contiguously.
    qt: Array2<f32>,
    /// l × n.
    b: Array2<f32>,
    /// Bᵀ (n × l).
    bt: Array2<f32>,
}

impl Sketch {
    /// The rank-`l` sketch of `data`'s A (a randomized SVD: Q its left
    /// singular vectors, B = Σ·Vᵀ), deterministic for a seed.
    pub fn new(data: &FaceMatrix, l: usize, seed: u64) -> Result<Self, NmfError> {
        let l = l.min(data.pixels().min(data.faces()));
        Ok(Self::from_svd(randomized_svd(data.a(), data.at(), l, SKETCH_POWER_ITERS, seed)?))
    }

    /// The sketch Q = U, B = diag(s)·Vᵀ of a truncated SVD of A.
    pub fn from_svd(svd: Svd) -> Self {
        let mut b = svd.vt;
        for (mut row, &s) in b.rows_mut().into_iter().zip(&svd.s) {
            row *= s;
        }
        let qt = transpose_owned(svd.u.view());
        let bt = transpose_owned(b.view());
        Sketch { q: svd.u, qt, b, bt }
    }

    /// Whether HALS iterations on a sketch of rank `l` cost a small part of
    /// exact ones on A (m × n) at rank k: their products stream (m + n)·l
    /// numbers instead of m·n, at most [`SKETCH_COST_SHARE`] of them.
    pub fn pays(m: usize, n: usize, l: usize) -> bool {
        ((m + n) * l) as f64 <= SKETCH_COST_SHARE * (m * n) as f64
    }

    /// Its rank l.
    pub fn rank(&self) -> usize {
        self.q.ncols()
    }

    /// `iters` unpenalised accelerated HALS iterations on ½‖Q·B − W·Hᵀᵀ‖²
    /// (`w`: m × k, `ht`: n × k).
    pub fn iterate(&self, w: &mut Array2<f32>, ht: &mut Array2<f32>, iters: usize) {
        let (m, n, k, l) = (w.nrows(), ht.nrows(), w.ncols(), self.rank());
        for _ in 0..iters {
            let p = par_matmul(self.q.view(), par_matmul(self.b.view(), ht.view()).view());
            let g = gram(ht.view());
            update::hals_with_products(
                p.view(),
                g.view(),
                w,
                Penalty::default(),
                update::hals_max_inner(m, l, k),
                update::HALS_EPSILON,
            );
            self.refit_ht(w, ht, update::hals_max_inner(n, l, k), update::HALS_EPSILON);
        }
    }

    /// Hᵀ given W by `sweeps` HALS sweeps on the sketch (at most; stopped at
    /// `epsilon` as in [`update::hals_with_products`]).
    fn refit_ht(&self, w: &Array2<f32>, ht: &mut Array2<f32>, sweeps: usize, epsilon: f64) {
        let p = par_matmul(self.bt.view(), par_matmul(self.qt.view(), w.view()).view());
        let g = gram(w.view());
        update::hals_with_products(p.view(), g.view(), ht, Penalty::default(), sweeps, epsilon);
    }

    /// Factors of rank `k` from those of rank k₀ = `w.ncols()`: the k₀
    /// parts kept and k − k₀ new ones from NNDSVD of the sketch's residual
    /// Q·(B − Qᵀ·W·Hᵀᵀ) (the new parts' weights refit with the others'), or,
    /// for k < k₀, the weakest parts dropped. The weights are then refit.
    pub fn grow(
        &self,
        w: &Array2<f32>,
        ht: &Array2<f32>,
        k: usize,
        importance: &[usize],
    ) -> Result<(Array2<f32>, Array2<f32>), NmfError> {
        let (m, n, k0) = (w.nrows(), ht.nrows(), w.ncols());
        let (mut w, mut ht) = if k <= k0 {
            let mut keep = importance[..k].to_vec();
            keep.sort_unstable();
            (w.select(Axis(1), &keep), ht.select(Axis(1), &keep))
        } else {
            let extra = k - k0;
            // The residual in the sketch's coordinates (l × n).
            let qw = par_matmul(self.qt.view(), w.view());
            let mut r = self.b.clone();
            r -= &par_matmul(qw.view(), ht.t());
            let rt = transpose_owned(r.view());
            let faer_rt = faer::Mat::<f32>::from_fn(rt.nrows(), rt.ncols(), |i, j| rt[(i, j)]);
            faer::set_global_parallelism(faer::Par::Seq);
            let svd = faer_rt
                .thin_svd()
                .map_err(|e| NmfError::Numerical(format!("SVD of the sketch's residual did not converge: {e:?}")))?;
            // rt = U Σ Vᵀ: U (n × ·) the faces' side, V (l × ·) the sketch's.
            let (u, v) = (svd.U(), svd.V());
            let mut wn = Array2::<f32>::zeros((m, extra));
            let mut hn = Array2::<f32>::zeros((n, extra));
            for j in 0..extra.min(u.ncols()) {
                let yc = ndarray::Array1::from_shape_fn(n, |i| u[(i, j)]);
                let xc = Array2::from_shape_fn((v.nrows(), 1), |(i, _)| v[(i, j)]);
                let x = par_matmul(self.q.view(), xc.view());
                let (xp, yp, mass) = dominant_signed_part(x.column(0), yc.view());
                let lambda = (svd.S()[j] * mass).max(0.0).sqrt();
                wn.column_mut(j).assign(&(xp * lambda));
                hn.column_mut(j).assign(&(yp * lambda));
            }
            (
                ndarray::concatenate(Axis(1), &[w.view(), wn.view()])
                    .map_err(|e| NmfError::Numerical(e.to_string()))?
                    .as_standard_layout()
                    .into_owned(),
                ndarray::concatenate(Axis(1), &[ht.view(), hn.view()])
                    .map_err(|e| NmfError::Numerical(e.to_string()))?
                    .as_standard_layout()
                    .into_owned(),
            )
        };
        ht.slice_mut(s![.., ..]).mapv_inplace(|v| if v.is_finite() { v.max(0.0) } else { 0.0 });
        w.mapv_inplace(|v| if v.is_finite() { v.max(0.0) } else { 0.0 });
        self.refit_ht(&w, &mut ht, 25, 0.01);
        Ok((w, ht))
    }
}
