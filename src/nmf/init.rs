//! Initial W and H: NNDSVD and its variants (Boutsidis & Gallopoulos 2008),
//! and random, with scikit-learn's meanings.

use ndarray::{Array2, ArrayView1, ArrayView2};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::compress::{SKETCH_POWER_ITERS, Sketch};
use super::svd::{auto_power_iters, randomized_svd_oversampled};
use super::{Init, NmfError};

/// Power iterations of the init's randomized SVD. scikit-learn's
/// `n_iter='auto'` makes 7 at small ranks (k below a tenth of the shorter
/// side) and 4 above. NNDSVD only needs rough singular vectors, and each
/// power iteration costs two products with A, about one HALS iteration.
/// Measured over seeds 0–4 (`fit --target-rel-err` to scikit-learn cd's
/// error, README *Faster HALS*), more power iterations bought no HALS
/// iterations: 13,000 faces of 64×64 at k = 49 took 10.4 iterations on
/// average with 1, 11.6 with 2 and 12.6 with 4 (whole fit 1.36 s against
/// 2.09 s); ORL at k = 49, 35.6 / 33.4 / 32.4 (0.61 / 0.61 / 0.62 s); ORL
/// at k = 16, 16.2 / 14.2 / 13.2 (0.13 s with each). So 1.
pub const INIT_POWER_ITERS: usize = 1;

/// Entries below this are set to zero after NNDSVD (as scikit-learn does).
const NNDSVD_EPS: f32 = 1e-6;

/// Initial factors for `a` (m × n, with `at` its transpose): W (m × k) and
/// Hᵀ (n × k).
pub fn initialize(
    a: ArrayView2<f32>,
    at: ArrayView2<f32>,
    k: usize,
    init: Init,
    seed: u64,
) -> Result<(Array2<f32>, Array2<f32>), NmfError> {
    initialize_sketched(a, at, k, init, seed, false).map(|(w, ht, _)| (w, ht))
}

/// W (m × k), Hᵀ (n × k) and, if asked for and made, a sketch of A.
pub type Sketched = (Array2<f32>, Array2<f32>, Option<Sketch>);

/// [`initialize`], and with `sketch` (for an NNDSVD init), the sketch
/// A ≈ Q·B of rank k + [`super::svd::OVERSAMPLES`] made of every triplet its
/// randomized SVD computed (at no extra cost).
pub fn initialize_sketched(
    a: ArrayView2<f32>,
    at: ArrayView2<f32>,
    k: usize,
    init: Init,
    seed: u64,
    sketch: bool,
) -> Result<Sketched, NmfError> {
    let (m, n) = a.dim();
    let mean = mean_of(a);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x5eed_1417);
    if init == Init::Random {
        let scale = (mean / k as f32).sqrt();
        let mut draw = || scale * abs_normal(&mut rng);
        let w = Array2::from_shape_simple_fn((m, k), &mut draw);
        let ht = Array2::from_shape_simple_fn((n, k), &mut draw);
        return Ok((w, ht, None));
    }
    // A sketch to iterate on must hold A's leading subspace well: it gets
    // the power iterations of [`Sketch::new`].
    let power_iters = if sketch { SKETCH_POWER_ITERS } else { INIT_POWER_ITERS }.min(auto_power_iters(k, m, n));
    let svd = randomized_svd_oversampled(a, at, k, power_iters, seed)?;
    let mut w = Array2::<f32>::zeros((m, k));
    let mut ht = Array2::<f32>::zeros((n, k));
    for j in 0..svd.s.len().min(k) {
        let x = svd.u.column(j);
        let y = svd.vt.row(j);
        let (u, v, sigma) = if j == 0 { (x.mapv(f32::abs), y.mapv(f32::abs), 1.0) } else { dominant_signed_part(x, y) };
        let lambda = (svd.s[j] * sigma).sqrt();
        w.column_mut(j).assign(&(u * lambda));
        ht.column_mut(j).assign(&(v * lambda));
    }
    for f in [&mut w, &mut ht] {
        f.mapv_inplace(|v| if v < NNDSVD_EPS { 0.0 } else { v });
    }
    match init {
        Init::Nndsvd | Init::Random => {}
        // Callers resolve Auto by solver (`Params::resolved_init`); on its
        // own it is nndsvda, the start every solver can use.
        Init::Nndsvda | Init::Auto => {
            for f in [&mut w, &mut ht] {
                f.mapv_inplace(|v| if v == 0.0 { mean } else { v });
            }
        }
        Init::Nndsvdar => {
            for f in [&mut w, &mut ht] {
                f.mapv_inplace(|v| if v == 0.0 { (mean * abs_normal(&mut rng) / 100.0).abs() } else { v });
            }
        }
    }
    Ok((w, ht, sketch.then(|| Sketch::from_svd(svd))))
}

/// |N(0, 1)| in f32.
fn abs_normal(rng: &mut Xoshiro256PlusPlus) -> f32 {
    let z: f32 = StandardNormal.sample(rng);
    z.abs()
}

/// Mean of all entries, accumulated in f64.
pub(crate) fn mean_of(a: ArrayView2<f32>) -> f32 {
    let len = a.len().max(1) as f64;
    (super::linalg::par_rows_sum(a, |row| row.iter().map(|&v| f64::from(v)).sum()) / len) as f32
}

/// NNDSVD's choice for one singular pair: the positive or the negative
/// parts of (x, y), whichever carries more of the pair's mass, normalised,
/// with the product of their norms.
pub(crate) fn dominant_signed_part(
    x: ArrayView1<f32>,
    y: ArrayView1<f32>,
) -> (ndarray::Array1<f32>, ndarray::Array1<f32>, f32) {
    let xp = x.mapv(|v| v.max(0.0));
    let yp = y.mapv(|v| v.max(0.0));
    let xn = x.mapv(|v| (-v).max(0.0));
    let yn = y.mapv(|v| (-v).max(0.0));
    let norm = |v: &ndarray::Array1<f32>| v.iter().map(|&e| f64::from(e) * f64::from(e)).sum::<f64>().sqrt() as f32;
    let (xpn, ypn, xnn, ynn) = (norm(&xp), norm(&yp), norm(&xn), norm(&yn));
    let (mp, mn) = (xpn * ypn, xnn * ynn);
    let unit = |v: ndarray::Array1<f32>, nrm: f32| if nrm > 0.0 { v / nrm } else { v };
    if mp > mn { (unit(xp, xpn), unit(yp, ypn), mp) } else { (unit(xn, xnn), unit(yn, ynn), mn) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nmf::linalg::transpose_owned;

    #[test]
    fn every_init_is_non_negative_and_shaped() {
        let a = Array2::from_shape_fn((50, 30), |(i, j)| ((i + 2 * j) as f32 * 0.3).sin().abs());
        let at = transpose_owned(a.view());
        for init in Init::ALL {
            let (w, ht) = initialize(a.view(), at.view(), 6, init, 3).expect("init");
            assert_eq!(w.dim(), (50, 6));
            assert_eq!(ht.dim(), (30, 6));
            assert!(w.iter().chain(ht.iter()).all(|&v| v >= 0.0 && v.is_finite()), "{init}");
            if init == Init::Nndsvda {
                assert!(w.iter().all(|&v| v > 0.0), "nndsvda fills zeros");
            }
            if init == Init::Nndsvd {
                assert!(w.iter().any(|&v| v == 0.0), "nndsvd keeps zeros");
            }
        }
    }
}
