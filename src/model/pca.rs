//! PCA (eigenfaces) of the loaded faces at the fit's k for the "Parts
//! versus eigenfaces" view, computed as a background [`Job`] (holding the
//! CPU lease) and cached.

use std::sync::Arc;
use std::time::Instant;

use ndarray::{Array2, Axis, concatenate};

use super::thumb::Thumb;
use crate::jobs::{CpuLease, Job, JobError, Retired, Wake};
use crate::nmf::FaceMatrix;
use crate::nmf::linalg::residual_sq;
use crate::nmf::svd::{Pca, pca};

/// What a PCA is computed for: the data (by identity), k and the seed.
#[derive(Clone)]
pub struct PcaKey {
    pub data: Arc<FaceMatrix>,
    pub k: usize,
    pub seed: u64,
}

impl PartialEq for PcaKey {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.data, &other.data) && self.k == other.k && self.seed == other.seed
    }
}

/// A finished PCA and what the view derives from it.
pub struct PcaResult {
    pub key: PcaKey,
    pub pca: Pca,
    /// ‖A − (mean + components·scores)‖_F / ‖A‖_F over all faces.
    pub set_rel_err: f64,
    /// The eigenfaces at the gallery's size (`thumb` pixels × k).
    pub components_small: Array2<f32>,
    pub thumb: Thumb,
    /// Seconds the computation took.
    pub secs: f64,
}

/// PCA of `key.data` with the reconstruction error over all faces and the
/// eigenfaces shrunk to `thumb`.
pub fn compute(key: PcaKey, thumb: Thumb) -> Result<PcaResult, crate::nmf::NmfError> {
    let started = Instant::now();
    let a = key.data.a();
    let p = pca(a, key.data.at(), key.k, key.seed)?;
    // A − (mean·1ᵀ + C·S) = A − [C | mean]·[S; 1ᵀ], as one residual.
    let w = concatenate(Axis(1), &[p.components.view(), p.mean.view().insert_axis(Axis(1))])
        .map_err(|e| crate::nmf::NmfError::Numerical(e.to_string()))?;
    let ones = Array2::<f32>::ones((a.ncols(), 1));
    let ht = concatenate(Axis(1), &[p.scores.t(), ones.view()])
        .map_err(|e| crate::nmf::NmfError::Numerical(e.to_string()))?;
    let set_rel_err = (residual_sq(a, w.view(), ht.view()) / key.data.norm_sq()).sqrt();
    let components_small = thumb.downsample(p.components.view());
    Ok(PcaResult { key, pca: p, set_rel_err, components_small, thumb, secs: started.elapsed().as_secs_f64() })
}

/// A PCA being computed: the result, or why it failed.
type PcaJob = Job<(), Result<PcaResult, String>>;

/// The PCA cache: the latest result, the one being computed, and a key
/// that failed (not retried until the key changes).
#[derive(Default)]
pub struct PcaState {
    job: Option<(PcaKey, PcaJob)>,
    /// The latest PCA (possibly for an older k while a new one computes).
    pub result: Option<Arc<PcaResult>>,
    failed: Option<PcaKey>,
    /// Increases with every new result.
    pub generation: u64,
}

impl PcaState {
    /// True while a PCA is being computed.
    pub fn is_computing(&self) -> bool {
        self.job.is_some()
    }

    /// The finished PCA for `key`, if that is the one cached.
    pub fn result_for(&self, key: &PcaKey) -> Option<&Arc<PcaResult>> {
        self.result.as_ref().filter(|r| r.key == *key)
    }

    /// Forgets everything computed on other data than `data`.
    pub(crate) fn forget_other_data(&mut self, data: Option<&Arc<FaceMatrix>>, retired: &mut Retired) {
        let same = |k: &PcaKey| data.is_some_and(|d| Arc::ptr_eq(d, &k.data));
        if self.result.as_ref().is_some_and(|r| !same(&r.key)) {
            self.result = None;
            self.generation += 1;
        }
        if self.failed.as_ref().is_some_and(|k| !same(k)) {
            self.failed = None;
        }
        if self.job.as_ref().is_some_and(|(k, _)| !same(k))
            && let Some((_, job)) = self.job.take()
        {
            retired.retire(job);
        }
    }

    /// Starts computing `key` unless it is cached, being computed, or
    /// failed before; one computation at a time (a newer key waits for the
    /// running one to end).
    pub(crate) fn ensure(&mut self, key: PcaKey, thumb: Thumb, wake: Wake, lease: &CpuLease) -> Result<(), JobError> {
        if self.job.is_some() || self.result_for(&key).is_some() || self.failed.as_ref() == Some(&key) {
            return Ok(());
        }
        let job_key = key.clone();
        let job = Job::spawn("pca", wake, Some(lease), move |_| {
            compute(job_key, thumb).map_err(|e| format!("PCA failed: {e}"))
        })?;
        self.job = Some((key, job));
        Ok(())
    }

    /// Takes a finished PCA; returns an error message if it failed.
    pub(crate) fn poll(&mut self) -> Option<String> {
        let (_, job) = self.job.as_mut()?;
        let received = job.poll()?;
        let (key, _) = self.job.take()?;
        match received.map_err(|e| format!("PCA failed: {e}")).and_then(|r| r) {
            Ok(result) => {
                log::info!("PCA (k = {}) took {:.0} ms", result.key.k, result.secs * 1e3);
                self.result = Some(Arc::new(result));
                self.generation += 1;
                None
            }
            Err(e) => {
                self.failed = Some(key);
                Some(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pca_whole_set_error_matches_the_reconstructions() {
        let a = Array2::from_shape_fn((50, 20), |(i, j)| (((i * 3 + j * 7) % 13) as f32 / 13.0) + 0.1);
        let data = Arc::new(FaceMatrix::new(a.clone()).unwrap());
        let key = PcaKey { data: Arc::clone(&data), k: 3, seed: 0 };
        let r = compute(key, Thumb::new(5, 10, 5)).unwrap();
        let mut sq = 0.0f64;
        for j in 0..a.ncols() {
            let rec = r.pca.reconstruct(j);
            sq += a.column(j).iter().zip(rec.iter()).map(|(&x, &y)| f64::from(x - y).powi(2)).sum::<f64>();
        }
        let expected = (sq / data.norm_sq()).sqrt();
        assert!((r.set_rel_err - expected).abs() < 1e-4, "{} vs {expected}", r.set_rel_err);
        assert!(r.set_rel_err > 0.0);
        assert_eq!(r.components_small.dim(), (3 * 5, 3));
    }
}
