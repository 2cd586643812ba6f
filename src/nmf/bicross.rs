//! Bi-cross-validation of the rank (Owen & Perry 2009, "Bi-cross-validation
//! of the SVD and the nonnegative matrix factorization", Ann. Appl. Stat.).
//!
//! A fold holds out a block of A: some pixels I of some faces J. With the
//! rows and columns of A ordered so that block comes first,
//!
//! ```text
//!     A = ⎡ A_IJ   A_I,−J  ⎤      fit   A_−I,−J ≈ W_D · H_D   (rank k NMF)
//!         ⎣ A_−I,J A_−I,−J ⎦      then  A_I,−J  ≈ W_I · H_D   (NNLS for W_I)
//!                                       A_−I,J  ≈ W_D · H_J   (NNLS for H_J)
//! ```
//!
//! and the held-out block is predicted as W_I · H_J: the held-out pixels'
//! rows of the parts are learnt from the other faces, the held-out faces'
//! weights from their other pixels, and neither ever sees A_IJ. The fit is
//! a plain NMF of a submatrix — no masking, no refill — so a fold costs
//! less than a fit of A (a fold of F hides 1/F of the pixels and 1/F of the
//! faces, and fits the remaining ((F − 1)/F)² of A).
//!
//! The pixels and the faces are each split into F random groups (seeded,
//! the same for every k); fold f holds out pixel group f of face group f.

use std::sync::Arc;

use ndarray::{Array2, ArrayView2, Axis};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::linalg::{par_matmul, sum_sq};
use super::{FaceMatrix, NmfError, transform};

/// One fold: the pixels and faces whose block is held out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BicrossFold {
    /// Held-out pixels I (sorted).
    pub rows: Vec<usize>,
    /// Held-out faces J (sorted).
    pub cols: Vec<usize>,
    /// The other pixels (sorted).
    kept_rows: Vec<usize>,
    /// The other faces (sorted).
    kept_cols: Vec<usize>,
}

/// Checks a bi-cross-validation design on an m × n matrix: at least 2
/// folds, and no more than there are faces or pixels.
pub fn check_bicross(pixels: usize, faces: usize, folds: usize) -> Result<(), NmfError> {
    check_bicross_folds(folds)?;
    if folds > faces.min(pixels) {
        return Err(NmfError::Mask(format!(
            "{folds} bi-cross-validation folds but only {} and {}: at most {} folds",
            crate::dataset::count_of(faces, "face"),
            crate::dataset::count_of(pixels, "pixel"),
            faces.min(pixels)
        )));
    }
    Ok(())
}

/// Checks the number of bi-cross-validation folds alone: at least 2.
pub fn check_bicross_folds(folds: usize) -> Result<(), NmfError> {
    if folds < 2 {
        return Err(NmfError::Mask(format!(
            "{folds} bi-cross-validation fold{}: at least 2 are needed (each holds out 1/folds of the pixels of 1/folds of the faces)",
            if folds == 1 { "" } else { "s" }
        )));
    }
    Ok(())
}

/// The F folds of an m × n matrix (see the module docs), seeded.
pub fn bicross_folds(pixels: usize, faces: usize, folds: usize, seed: u64) -> Result<Vec<BicrossFold>, NmfError> {
    check_bicross(pixels, faces, folds)?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0xb1c2_0550);
    let groups = |len: usize, rng: &mut Xoshiro256PlusPlus| {
        let mut order: Vec<usize> = (0..len).collect();
        order.shuffle(rng);
        // Group g gets positions [g·len/F, (g+1)·len/F) of the shuffle.
        (0..folds)
            .map(|g| {
                let mut group = order[g * len / folds..(g + 1) * len / folds].to_vec();
                group.sort_unstable();
                group
            })
            .collect::<Vec<_>>()
    };
    let row_groups = groups(pixels, &mut rng);
    let col_groups = groups(faces, &mut rng);
    let complement = |held: &[usize], len: usize| {
        let mut keep = vec![true; len];
        for &i in held {
            keep[i] = false;
        }
        (0..len).filter(|&i| keep[i]).collect::<Vec<_>>()
    };
    Ok(row_groups
        .into_iter()
        .zip(col_groups)
        .map(|(rows, cols)| BicrossFold {
            kept_rows: complement(&rows, pixels),
            kept_cols: complement(&cols, faces),
            rows,
            cols,
        })
        .collect())
}

impl BicrossFold {
    /// Pixels and faces of the matrix the fold fits, A_−I,−J.
    pub fn train_dim(&self) -> (usize, usize) {
        (self.kept_rows.len(), self.kept_cols.len())
    }

    /// A_−I,−J, the matrix the fold's NMF fits.
    pub fn train(&self, data: &FaceMatrix) -> Result<Arc<FaceMatrix>, NmfError> {
        let d = data.a().select(Axis(0), &self.kept_rows).select(Axis(1), &self.kept_cols);
        Ok(Arc::new(FaceMatrix::new(d)?))
    }

    /// The held-out block's relative error, ‖A_IJ − W_I·H_J‖ / ‖A_IJ‖, from
    /// the fold's fit `w_d` (kept pixels × k) and `h_d` (k × kept faces).
    pub fn score(&self, data: &FaceMatrix, w_d: ArrayView2<f32>, h_d: ArrayView2<f32>) -> Result<f64, NmfError> {
        let a = data.a();
        // A_I,−J ≈ W_I·H_D: NNLS of its transpose, Hᵀ_D fixed.
        let b = a.select(Axis(0), &self.rows).select(Axis(1), &self.kept_cols);
        let w_i = transform(h_d.t(), b.t())?; // k × |I|
        // A_−I,J ≈ W_D·H_J.
        let c = a.select(Axis(0), &self.kept_rows).select(Axis(1), &self.cols);
        let h_j = transform(w_d, c.view())?; // k × |J|
        let predicted: Array2<f32> = par_matmul(w_i.t(), h_j.view());
        let block = a.select(Axis(0), &self.rows).select(Axis(1), &self.cols);
        let (err, norm) = (sum_sq((&block - &predicted).view()), sum_sq(block.view()));
        if norm == 0.0 {
            // An all-black block: score the error itself, relative to A.
            return Ok((err / data.norm_sq()).sqrt());
        }
        Ok((err / norm).sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_partition_pixels_and_faces() {
        let folds = bicross_folds(103, 40, 5, 7).expect("folds");
        assert_eq!(folds.len(), 5);
        let mut rows: Vec<usize> = folds.iter().flat_map(|f| f.rows.clone()).collect();
        let mut cols: Vec<usize> = folds.iter().flat_map(|f| f.cols.clone()).collect();
        rows.sort_unstable();
        cols.sort_unstable();
        assert_eq!(rows, (0..103).collect::<Vec<_>>());
        assert_eq!(cols, (0..40).collect::<Vec<_>>());
        for f in &folds {
            assert_eq!(f.train_dim(), (103 - f.rows.len(), 40 - f.cols.len()));
            assert!(f.cols.len() == 8 && (20..=21).contains(&f.rows.len()), "{:?}", (f.rows.len(), f.cols.len()));
        }
        assert_eq!(folds, bicross_folds(103, 40, 5, 7).expect("same seed"));
        assert_ne!(folds, bicross_folds(103, 40, 5, 8).expect("other seed"));
    }

    #[test]
    fn bad_designs_are_refused() {
        for (m, n, f, needle) in [(10, 10, 1, "at least 2"), (10, 10, 0, "at least 2"), (100, 4, 5, "only 4 faces")] {
            let e = bicross_folds(m, n, f, 0).expect_err("refused").to_string();
            assert!(e.contains(needle), "{e}");
        }
    }
}
