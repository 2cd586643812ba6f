//! PCA (eigenfaces) of the loaded faces at the fit's k, computed on a
//! background thread and cached, with the textures of the "Parts versus
//! eigenfaces" view: the eigenfaces in a diverging colour map, and the
//! selected face with its PCA and NMF reconstructions.

use eframe::egui;

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::thread::JoinHandle;
use std::time::Instant;

use egui::{Color32, ColorImage, TextureOptions};
use ndarray::{Array1, Array2, ArrayView1, Axis, concatenate};

use crate::app::LoadedFaces;
use crate::app::atlas::{Atlas, Picture, gray_into};
use crate::app::state::{FitView, Thumb};
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
    let p = pca(a, key.k, key.seed)?;
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

type JobResult = Result<PcaResult, String>;

/// A PCA being computed.
struct PcaJob {
    key: PcaKey,
    result: Option<Receiver<JobResult>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for PcaJob {
    fn drop(&mut self) {
        self.result = None;
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            log::warn!("the PCA thread panicked");
        }
    }
}

/// The errors the view shows for the selected face.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceErrors {
    /// Which face (0-based).
    pub face: usize,
    /// ‖face − PCA reconstruction‖ / ‖face‖.
    pub pca: f64,
    /// ‖face − W·h‖ / ‖face‖, when there is a fit.
    pub nmf: Option<f64>,
}

/// What the selected-face images show, to rebuild them only on change.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ShownFace {
    face: usize,
    pca_generation: u64,
    fit: Option<(u64, usize, usize)>,
}

/// The PCA cache and the view's textures.
pub struct Eigen {
    job: Option<PcaJob>,
    /// The latest PCA (possibly for an older k while a new one computes).
    pub result: Option<PcaResult>,
    /// A key whose computation failed (not retried until the key changes).
    failed: Option<PcaKey>,
    generation: u64,
    /// The eigenfaces, each in the diverging map scaled by its max |value|.
    pub atlas: Atlas,
    /// The selected face (full size, grey).
    pub original: Picture,
    /// Its PCA reconstruction: the mean plus k eigenfaces.
    pub pca_recon: Picture,
    /// Its NMF reconstruction: W times its weights.
    pub nmf_recon: Picture,
    shown: Option<ShownFace>,
    pub face_errors: Option<FaceErrors>,
}

impl Default for Eigen {
    fn default() -> Self {
        Eigen {
            job: None,
            result: None,
            failed: None,
            generation: 0,
            atlas: Atlas::new("eigenfaces", TextureOptions::LINEAR),
            original: Picture::new("eigen view: face"),
            pca_recon: Picture::new("eigen view: PCA reconstruction"),
            nmf_recon: Picture::new("eigen view: NMF reconstruction"),
            shown: None,
            face_errors: None,
        }
    }
}

impl Eigen {
    /// True while a PCA is being computed.
    pub fn is_computing(&self) -> bool {
        self.job.is_some()
    }

    /// The k of the PCA being computed.
    pub fn computing_k(&self) -> Option<usize> {
        self.job.as_ref().map(|j| j.key.k)
    }

    /// The finished PCA for `key`, if that is the one cached.
    pub fn result_for(&self, key: &PcaKey) -> Option<&PcaResult> {
        self.result.as_ref().filter(|r| r.key == *key)
    }

    /// Forgets everything computed on other data than `data`.
    pub(crate) fn forget_other_data(&mut self, data: Option<&Arc<FaceMatrix>>) {
        let same = |k: &PcaKey| data.is_some_and(|d| Arc::ptr_eq(d, &k.data));
        if self.result.as_ref().is_some_and(|r| !same(&r.key)) {
            self.result = None;
            self.atlas.clear();
            self.shown = None;
            self.face_errors = None;
        }
        if self.failed.as_ref().is_some_and(|k| !same(k)) {
            self.failed = None;
        }
    }

    /// Starts computing `key` unless it is cached, being computed, or
    /// failed before; one computation at a time (a newer key waits for the
    /// running one to end).
    pub(crate) fn ensure(
        &mut self,
        key: PcaKey,
        thumb: Thumb,
        wake: impl Fn() + Send + 'static,
    ) -> std::io::Result<()> {
        if self.job.is_some() || self.result_for(&key).is_some() || self.failed.as_ref() == Some(&key) {
            return Ok(());
        }
        let (tx, rx) = mpsc::channel();
        let job_key = key.clone();
        let thread = super::spawn_counted("facenmf-pca", move || {
            let result = compute(job_key, thumb).map_err(|e| format!("PCA failed: {e}"));
            let _ = tx.send(result);
            wake();
        })?;
        self.job = Some(PcaJob { key, result: Some(rx), thread: Some(thread) });
        Ok(())
    }

    /// Takes a finished PCA; returns an error message if it failed.
    pub(crate) fn poll(&mut self, ctx: &egui::Context) -> Option<String> {
        let job = self.job.as_ref()?;
        let received = match job.result.as_ref().map(Receiver::try_recv) {
            Some(Ok(r)) => r,
            Some(Err(TryRecvError::Empty)) => return None,
            _ => Err("the PCA thread ended without a result".to_string()),
        };
        let key = job.key.clone();
        self.job = None;
        match received {
            Ok(result) => {
                self.set_result(ctx, result);
                None
            }
            Err(e) => {
                self.failed = Some(key);
                Some(e)
            }
        }
    }

    fn set_result(&mut self, ctx: &egui::Context, result: PcaResult) {
        let (c, t) = (&result.components_small, result.thumb);
        self.atlas.update(ctx, c.ncols(), [t.width, t.height], |i, out| diverging_into(c.column(i), out));
        log::info!("PCA (k = {}) took {:.0} ms", result.key.k, result.secs * 1e3);
        self.result = Some(result);
        self.generation += 1;
        self.shown = None;
    }
}

/// The diverging colour map (ColorBrewer's RdBu): −1 dark blue, 0 near
/// white, +1 dark red; lightness falls equally on both sides. Values beyond
/// ±1 are clamped; NaN is 0.
pub fn diverging(t: f32) -> Color32 {
    // From 0 outwards: white, then the red side (the blue side mirrors it).
    const RED: [[f32; 3]; 6] = [
        [247.0, 247.0, 247.0],
        [253.0, 219.0, 199.0],
        [244.0, 165.0, 130.0],
        [214.0, 96.0, 77.0],
        [178.0, 24.0, 43.0],
        [103.0, 0.0, 31.0],
    ];
    const BLUE: [[f32; 3]; 6] = [
        [247.0, 247.0, 247.0],
        [209.0, 229.0, 240.0],
        [146.0, 197.0, 222.0],
        [67.0, 147.0, 195.0],
        [33.0, 102.0, 172.0],
        [5.0, 48.0, 97.0],
    ];
    let t = if t.is_finite() { t.clamp(-1.0, 1.0) } else { 0.0 };
    let stops = if t >= 0.0 { &RED } else { &BLUE };
    let [r, g, b] = crate::app::atlas::lerp_stops(stops, t.abs());
    Color32::from_rgb(r.round() as u8, g.round() as u8, b.round() as u8)
}

/// Writes a signed image into `out` with [`diverging`], scaled by its own
/// max |value| (so ±max are the map's ends and 0 is white).
pub fn diverging_into(col: ArrayView1<f32>, out: &mut [Color32]) {
    let max = col.iter().fold(0.0f32, |m, &v| m.max(v.abs()));
    let scale = if max > 1e-12 { 1.0 / max } else { 0.0 };
    for (o, &v) in out.iter_mut().zip(col.iter()) {
        *o = diverging(v * scale);
    }
}

/// A full-size grey image of a face-shaped column (0..1 as black..white).
fn gray_image(col: ArrayView1<f32>, width: usize, height: usize) -> ColorImage {
    let mut px = vec![Color32::BLACK; width * height];
    gray_into(col, 0.0, 1.0, &mut px);
    ColorImage::new([width, height], px)
}

impl Eigen {
    /// Rebuilds the selected face's three images and its errors when the
    /// face, the PCA or the fit changed.
    pub(crate) fn refresh_face(
        &mut self,
        ctx: &egui::Context,
        faces: &LoadedFaces,
        fit: Option<&FitView>,
        key: &PcaKey,
        face: usize,
    ) {
        // A field borrow (not `result_for`), so the pictures can be set.
        let Some(result) = self.result.as_ref().filter(|r| r.key == *key) else {
            return;
        };
        let j = face.min(faces.dataset.faces().saturating_sub(1));
        let fit = fit.filter(|f| f.k() == key.k);
        let shown = ShownFace {
            face: j,
            pca_generation: self.generation,
            fit: fit.map(|f| (f.progress.fit_id, f.progress.snapshot.iteration, f.k())),
        };
        if self.shown == Some(shown) {
            return;
        }
        let (width, height) = (faces.dataset.width, faces.dataset.height);
        let a = key.data.a();
        let original = a.column(j);
        // The face and its PCA reconstruction change only with the face or
        // the PCA; the NMF reconstruction with every snapshot of the fit.
        let previous =
            self.face_errors.filter(|_| self.shown.is_some_and(|s| s.face == j && s.pca_generation == self.generation));
        let pca_err = match previous {
            Some(e) => e.pca,
            None => {
                let pca_recon = result.pca.reconstruct(j);
                let err = crate::nmf::metrics::rel_err(original, pca_recon.view());
                self.original.set(ctx, gray_image(original, width, height), TextureOptions::LINEAR);
                self.pca_recon.set(ctx, gray_image(pca_recon.view(), width, height), TextureOptions::LINEAR);
                err
            }
        };
        let nmf = fit.map(|f| crate::nmf::reconstruct(f.progress.snapshot.w.view(), f.progress.snapshot.h.column(j)));
        let nmf_err = nmf.as_ref().map(|r: &Array1<f32>| crate::nmf::metrics::rel_err(original, r.view()));
        match &nmf {
            Some(r) => self.nmf_recon.set(ctx, gray_image(r.view(), width, height), TextureOptions::LINEAR),
            None => self.nmf_recon.clear(),
        }
        self.face_errors = Some(FaceErrors { face: j, pca: pca_err, nmf: nmf_err });
        self.shown = Some(shown);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lightness(c: Color32) -> f32 {
        // Relative luminance of sRGB, then CIE L*.
        let lin = |v: u8| {
            let v = f32::from(v) / 255.0;
            if v <= 0.04045 { v / 12.92 } else { ((v + 0.055) / 1.055).powf(2.4) }
        };
        let y = 0.2126 * lin(c.r()) + 0.7152 * lin(c.g()) + 0.0722 * lin(c.b());
        if y > 0.008856 { 116.0 * y.cbrt() - 16.0 } else { 903.3 * y }
    }

    #[test]
    fn diverging_map_is_neutral_at_zero_and_symmetric() {
        let zero = diverging(0.0);
        assert_eq!(zero, diverging(-0.0));
        assert!(zero.r() == zero.g() && zero.g() == zero.b(), "0 is a neutral grey: {zero:?}");
        assert!(lightness(zero) > 95.0);
        assert_eq!(diverging(f32::NAN), zero);
        assert_eq!(diverging(5.0), diverging(1.0));
        assert_eq!(diverging(-5.0), diverging(-1.0));
        let mut last = lightness(zero);
        for i in 1..=20 {
            let t = i as f32 / 20.0;
            let (pos, neg) = (diverging(t), diverging(-t));
            assert!(pos.r() > pos.b(), "+{t} is red: {pos:?}");
            assert!(neg.b() > neg.r(), "−{t} is blue: {neg:?}");
            let (lp, ln) = (lightness(pos), lightness(neg));
            assert!((lp - ln).abs() < 6.0, "±{t}: lightness {lp} vs {ln}");
            assert!(lp < last, "lightness falls with |t|");
            last = lp;
        }
    }

    #[test]
    fn diverging_images_scale_by_their_own_max_magnitude() {
        let col = Array1::from(vec![-2.0f32, 0.0, 1.0, 2.0]);
        let mut out = vec![Color32::BLACK; 4];
        diverging_into(col.view(), &mut out);
        assert_eq!(out, vec![diverging(-1.0), diverging(0.0), diverging(0.5), diverging(1.0)]);
        let zeros = Array1::<f32>::zeros(3);
        diverging_into(zeros.view(), &mut out[..3]);
        assert!(out[..3].iter().all(|&c| c == diverging(0.0)));
    }

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
