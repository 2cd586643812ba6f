//! What the views show: the latest fit (with what is derived from it), the
//! loss curve, edited weights, the textures, and frame timings.

use eframe::egui;

use std::sync::Arc;
use std::time::{Duration, Instant};

use egui::{Color32, ColorImage, TextureOptions};
use ndarray::{Array1, Array2};

use super::LoadedFaces;
use super::atlas::{Atlas, Picture, gray_into, min_max, residual_into, viridis};
use crate::worker::{FitState, HistoryDelta, Progress};

/// The latest fit snapshot and what the views derive from it.
pub struct FitView {
    pub progress: Arc<Progress>,
    /// Components (columns of W) by decreasing importance.
    pub order: Vec<usize>,
    /// rank[c]: position of component c in `order`.
    pub rank: Vec<usize>,
    /// Each component's share of the total weight.
    pub importance: Vec<f32>,
    /// Hoyer sparseness of each basis image.
    pub sparseness: Vec<f32>,
    /// Each basis image's total intensity (column sums of W).
    pub w_sums: Vec<f32>,
    /// Reconstructions of all faces at thumbnail size (thumb pixels × faces).
    pub recon_small: Array2<f32>,
    /// W at the gallery's size (gallery pixels × k).
    pub w_gallery: Array2<f32>,
}

impl FitView {
    pub fn new(progress: Arc<Progress>, faces: &LoadedFaces) -> Self {
        let (w, h) = (progress.snapshot.w.view(), progress.snapshot.h.view());
        // One pass over W's rows (contiguous) for the column sums and sums
        // of squares: importance and Hoyer sparseness without strided reads.
        let k = w.ncols();
        let (mut l1, mut sq) = (vec![0.0f64; k], vec![0.0f64; k]);
        for row in w.rows() {
            for ((a, b), &v) in l1.iter_mut().zip(sq.iter_mut()).zip(row.iter()) {
                *a += f64::from(v);
                *b += f64::from(v) * f64::from(v);
            }
        }
        let mass: Vec<f64> =
            h.rows().into_iter().zip(&l1).map(|(r, &l)| l * r.iter().map(|&v| f64::from(v)).sum::<f64>()).collect();
        let total: f64 = mass.iter().sum();
        let importance: Vec<f32> = mass.iter().map(|&m| if total > 0.0 { (m / total) as f32 } else { 0.0 }).collect();
        let mut order: Vec<usize> = (0..k).collect();
        order.sort_by(|&a, &b| importance[b].total_cmp(&importance[a]).then(a.cmp(&b)));
        let mut rank = vec![0; k];
        for (r, &c) in order.iter().enumerate() {
            rank[c] = r;
        }
        let root_m = (w.nrows() as f64).sqrt();
        let sparseness = l1
            .iter()
            .zip(&sq)
            .map(|(&a, &b)| {
                let l2 = b.sqrt();
                if w.nrows() < 2 || l2 == 0.0 {
                    0.0
                } else {
                    ((root_m - a / l2) / (root_m - 1.0)).clamp(0.0, 1.0) as f32
                }
            })
            .collect();
        // Downsampling is linear: thumbnail(W·H) = thumbnail(W)·H.
        let w_small = faces.thumb.downsample(w);
        let recon_small = w_small.dot(&h);
        let w_gallery = faces.gallery_thumb.downsample(w);
        let w_sums = l1.iter().map(|&v| v as f32).collect();
        FitView { progress, order, rank, importance, sparseness, w_sums, recon_small, w_gallery }
    }

    pub fn k(&self) -> usize {
        self.progress.params.k
    }

    pub fn is_running(&self) -> bool {
        self.progress.state == FitState::Running
    }

    /// Face `j`'s fitted weights (k).
    pub fn weights(&self, j: usize) -> Array1<f32> {
        self.progress.snapshot.h.column(j).to_owned()
    }

    /// The faces that use component `c` most, by decreasing weight.
    pub fn top_faces(&self, c: usize, count: usize) -> Vec<usize> {
        let row = self.progress.snapshot.h.row(c);
        let mut idx: Vec<usize> = (0..row.len()).collect();
        idx.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
        idx.truncate(count);
        idx
    }
}

/// Weights of one face changed by hand in the inspector.
#[derive(Debug, Clone)]
pub struct Edits {
    pub face: usize,
    pub weights: Vec<f32>,
}

/// rel_err over the whole session's fits: k changes continue the curve.
#[derive(Debug, Default)]
pub struct Curve {
    /// (iteration, seconds, rel_err), iteration and seconds cumulative across
    /// warm starts.
    pub points: Vec<[f64; 3]>,
    /// Where each warm start began: (iteration, new k).
    pub k_marks: Vec<(f64, usize)>,
    /// Where the current fit's points start: (iteration, seconds).
    base: (f64, f64),
}

impl Curve {
    /// Appends a history delta of fit `p` (a new fit restarts the curve, or
    /// continues it after a warm start).
    pub fn update(&mut self, p: &Progress, delta: &HistoryDelta) {
        let mut records = &delta.records[..];
        if delta.reset {
            match self.points.last() {
                Some(&last) if p.warm_started => {
                    self.base = (last[0], last[1]);
                    self.k_marks.push((last[0], p.params.k));
                    // The warm start's record 0 is where the last fit ended.
                    records = records.get(1..).unwrap_or_default();
                }
                _ => *self = Curve::default(),
            }
        }
        let (i0, s0) = self.base;
        self.points.extend(records.iter().map(|r| [i0 + r.iteration as f64, s0 + r.secs, r.rel_err]));
    }
}

/// Thumbnail geometry: faces shrunk by an integer factor (block means).
#[derive(Debug, Clone, Copy)]
pub struct Thumb {
    pub width: usize,
    pub height: usize,
    pub src_width: usize,
    pub src_height: usize,
    pub factor: usize,
}

impl Thumb {
    /// Thumbnails at most about `side` texels on the longer side.
    pub fn new(src_width: usize, src_height: usize, side: usize) -> Self {
        let factor = src_width.max(src_height).div_ceil(side.max(1)).max(1);
        Thumb { width: src_width.div_ceil(factor), height: src_height.div_ceil(factor), src_width, src_height, factor }
    }

    pub fn pixels(&self) -> usize {
        self.width * self.height
    }

    /// Block means of the columns of `m` (pixels × c) → (thumb pixels × c).
    pub fn downsample(&self, m: ndarray::ArrayView2<f32>) -> Array2<f32> {
        let c = m.ncols();
        if self.factor == 1 {
            return m.to_owned();
        }
        let m = m.as_standard_layout();
        let src = m.as_slice().unwrap_or(&[]);
        let mut out = vec![0.0f32; self.pixels() * c];
        let mut counts = vec![0u32; self.pixels()];
        for y in 0..self.src_height {
            let qy = (y / self.factor) * self.width;
            for x in 0..self.src_width {
                let q = qy + x / self.factor;
                let p = y * self.src_width + x;
                let (dst, row) = (&mut out[q * c..(q + 1) * c], &src[p * c..(p + 1) * c]);
                for (d, &v) in dst.iter_mut().zip(row) {
                    *d += v;
                }
                counts[q] += 1;
            }
        }
        for (q, &n) in counts.iter().enumerate() {
            if n > 1 {
                let inv = 1.0 / n as f32;
                out[q * c..(q + 1) * c].iter_mut().for_each(|v| *v *= inv);
            }
        }
        Array2::from_shape_vec((self.pixels(), c), out).unwrap_or_else(|_| Array2::zeros((self.pixels(), c)))
    }
}

/// Every texture the views draw. Each is created once and updated in place.
pub struct Textures {
    /// The k basis images, in importance order, auto-contrasted.
    pub basis: Atlas,
    /// Every face at thumbnail size (set once per data set).
    pub faces: Atlas,
    /// Every face's reconstruction, or its residual (face − reconstruction),
    /// at thumbnail size: only what the faces view shows is computed.
    pub right: Atlas,
    /// True when `right` holds residuals.
    pub right_is_residual: bool,
    /// H as a heat map: one row per component (importance order), one
    /// column per face (grouped by label).
    pub weights: Picture,
    /// The inspected face, its reconstruction and residual (full size).
    pub face: Picture,
    pub face_recon: Picture,
    pub face_residual: Picture,
    /// Which face the inspector textures show.
    pub inspected: Option<usize>,
    /// ||face - reconstruction|| / ||face|| of the inspected face.
    pub inspected_rel_err: Option<f32>,
}

const IMAGE: TextureOptions = TextureOptions::LINEAR;

impl Textures {
    pub fn new() -> Self {
        Textures {
            basis: Atlas::new("basis", IMAGE),
            faces: Atlas::new("faces", IMAGE),
            right: Atlas::new("reconstructions", IMAGE),
            right_is_residual: false,
            weights: Picture::new("weights"),
            face: Picture::new("face"),
            face_recon: Picture::new("face reconstruction"),
            face_residual: Picture::new("face residual"),
            inspected: None,
            inspected_rel_err: None,
        }
    }

    pub fn clear_fit(&mut self) {
        self.basis.clear();
        self.right.clear();
        self.weights.clear();
        self.face_recon.clear();
        self.face_residual.clear();
    }

    pub fn set_faces(&mut self, ctx: &egui::Context, faces: &LoadedFaces) {
        let t = faces.thumb;
        let a = &faces.a_small;
        self.faces.update(ctx, a.ncols(), [t.width, t.height], |j, out| gray_into(a.column(j), 0.0, 1.0, out));
        self.inspected = None;
    }

    pub fn set_fit(&mut self, ctx: &egui::Context, faces: &LoadedFaces, fit: &FitView, show_residual: bool) {
        let g = faces.gallery_thumb;
        let w = &fit.w_gallery;
        self.basis.update(ctx, fit.order.len(), [g.width, g.height], |i, out| {
            let col = w.column(fit.order[i]);
            let (lo, hi) = min_max(col);
            gray_into(col, lo, hi, out);
        });
        self.set_right(ctx, faces, fit, show_residual);
        self.set_weights(ctx, faces, fit);
    }

    /// The faces view's right-hand atlas: reconstructions or residuals.
    pub fn set_right(&mut self, ctx: &egui::Context, faces: &LoadedFaces, fit: &FitView, show_residual: bool) {
        let t = faces.thumb;
        let (a, r) = (&faces.a_small, &fit.recon_small);
        if show_residual {
            let mut diff = vec![0.0f32; t.pixels()];
            self.right.update(ctx, r.ncols(), [t.width, t.height], |j, out| {
                for ((d, &x), &y) in diff.iter_mut().zip(a.column(j).iter()).zip(r.column(j).iter()) {
                    *d = x - y;
                }
                residual_into(ndarray::ArrayView1::from(&diff[..]), 0.5, out);
            });
        } else {
            self.right.update(ctx, r.ncols(), [t.width, t.height], |j, out| gray_into(r.column(j), 0.0, 1.0, out));
        }
        self.right_is_residual = show_residual;
    }

    fn set_weights(&mut self, ctx: &egui::Context, faces: &LoadedFaces, fit: &FitView) {
        // Heat map: rows = components by importance, columns = faces by label.
        let h = &fit.progress.snapshot.h;
        let (k, n) = (fit.order.len(), faces.by_label.len());
        let mut pixels = Vec::with_capacity(k * n);
        for &c in &fit.order {
            let row = h.row(c);
            let max = row.iter().fold(0.0f32, |m, &v| m.max(v));
            let scale = if max > 0.0 { 1.0 / max } else { 0.0 };
            pixels.extend(faces.by_label.iter().map(|&j| viridis(row[j] * scale)));
        }
        self.weights.set(ctx, ColorImage::new([n, k], pixels), TextureOptions::NEAREST);
    }

    /// The inspector's three images of face `j`; `edits` replace its weights.
    pub fn set_inspector(
        &mut self,
        ctx: &egui::Context,
        faces: &LoadedFaces,
        fit: Option<&FitView>,
        j: usize,
        edits: Option<&Edits>,
    ) {
        let (width, height) = (faces.dataset.width, faces.dataset.height);
        let face = faces.dataset.face(j);
        if self.inspected != Some(j) || self.face.texture().is_none() {
            let mut px = vec![Color32::BLACK; width * height];
            gray_into(face, 0.0, 1.0, &mut px);
            self.face.set(ctx, ColorImage::new([width, height], px), IMAGE);
            self.inspected = Some(j);
        }
        let Some(fit) = fit else {
            self.face_recon.clear();
            self.face_residual.clear();
            self.inspected_rel_err = None;
            return;
        };
        let weights = match edits {
            Some(e) if e.face == j && e.weights.len() == fit.k() => Array1::from(e.weights.clone()),
            _ => fit.weights(j),
        };
        let recon = crate::nmf::reconstruct(fit.progress.snapshot.w.view(), weights.view());
        let mut px = vec![Color32::BLACK; width * height];
        gray_into(recon.view(), 0.0, 1.0, &mut px);
        self.face_recon.set(ctx, ColorImage::new([width, height], px.clone()), IMAGE);
        let diff = &face - &recon;
        let norm = face.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        self.inspected_rel_err = Some(diff.iter().map(|v| v * v).sum::<f32>().sqrt() / norm);
        residual_into(diff.view(), 0.5, &mut px);
        self.face_residual.set(ctx, ColorImage::new([width, height], px), IMAGE);
    }
}

impl Default for Textures {
    fn default() -> Self {
        Self::new()
    }
}

/// Frame timings, printed to stderr once a second when the environment
/// variable `FACENMF_PROFILE` is set: the UI's own work per frame (logic +
/// ui), the time from Run to the first basis images, and iterations per
/// second.
#[derive(Debug, Default)]
pub struct Profile {
    pub enabled: bool,
    /// CPU time of the UI thread at the start of the frame's `logic()`.
    frame_cpu_start: Option<Duration>,
    cpu_total: Duration,
    cpu_max: Duration,
    run_at: Option<Instant>,
    /// Milliseconds from the last Run to the first basis images shown.
    pub first_basis_ms: Option<f64>,
    logic: Duration,
    frames: u32,
    work_total: Duration,
    work_max: Duration,
    ui_total: Duration,
    snapshots: u32,
    derive_total: Duration,
    textures_total: Duration,
    window_start: Option<Instant>,
    iter_start: Option<usize>,
    last_iter: Option<usize>,
    /// The last second's figures: mean and max UI ms per frame, frames,
    /// iterations per second.
    pub last_report: Option<(f64, f64, u32, f64)>,
}

impl Profile {
    pub fn from_env() -> Self {
        Profile { enabled: std::env::var_os("FACENMF_PROFILE").is_some(), ..Default::default() }
    }

    pub fn run_clicked(&mut self, at: Instant) {
        self.run_at = Some(at);
        self.first_basis_ms = None;
    }

    /// A snapshot was turned into views: `derive` (importance, thumbnails'
    /// reconstructions) and `textures` (atlases filled and set).
    pub fn snapshot_shown(&mut self, derive: Duration, textures: Duration) {
        self.snapshots += 1;
        self.derive_total += derive;
        self.textures_total += textures;
        if let Some(at) = self.run_at.take() {
            let ms = at.elapsed().as_secs_f64() * 1e3;
            self.first_basis_ms = Some(ms);
            if self.enabled {
                eprintln!("[profile] first basis images {ms:.0} ms after Run");
            }
        }
    }

    /// Called at the start of `logic()`.
    pub fn frame_started(&mut self) {
        if self.enabled {
            self.frame_cpu_start = thread_cpu_time();
        }
    }

    pub fn logic_done(&mut self, spent: Duration) {
        self.logic = spent;
    }

    pub fn ui_done(&mut self, spent: Duration, iteration: Option<usize>) {
        let work = self.logic + spent;
        if let (Some(start), Some(now)) = (self.frame_cpu_start.take(), thread_cpu_time()) {
            let cpu = now.saturating_sub(start);
            self.cpu_total += cpu;
            self.cpu_max = self.cpu_max.max(cpu);
        }
        self.frames += 1;
        self.work_total += work;
        self.ui_total += spent;
        self.work_max = self.work_max.max(work);
        self.last_iter = iteration.or(self.last_iter);
        let now = Instant::now();
        let start = *self.window_start.get_or_insert(now);
        if self.iter_start.is_none() {
            self.iter_start = self.last_iter;
        }
        let secs = now.duration_since(start).as_secs_f64();
        if secs >= 1.0 {
            let ms = |d: Duration, n: u32| d.as_secs_f64() * 1e3 / f64::from(n.max(1));
            let mean_ms = ms(self.work_total, self.frames);
            let max_ms = self.work_max.as_secs_f64() * 1e3;
            let its = match (self.iter_start, self.last_iter) {
                (Some(a), Some(b)) if b >= a => (b - a) as f64 / secs,
                _ => 0.0,
            };
            self.last_report = Some((mean_ms, max_ms, self.frames, its));
            if self.enabled {
                eprintln!(
                    "[profile] ui work per frame: mean {mean_ms:.2} ms, max {max_ms:.2} ms wall; cpu mean {:.2} ms, max {:.2} ms; over {} frames (drawing {:.2} ms/frame; {} snapshots: derive {:.2} ms, textures {:.2} ms each); solver {its:.1} it/s",
                    ms(self.cpu_total, self.frames),
                    self.cpu_max.as_secs_f64() * 1e3,
                    self.frames,
                    ms(self.ui_total, self.frames),
                    self.snapshots,
                    ms(self.derive_total, self.snapshots),
                    ms(self.textures_total, self.snapshots),
                );
            }
            self.window_start = Some(now);
            self.frames = 0;
            self.snapshots = 0;
            self.work_total = Duration::ZERO;
            self.ui_total = Duration::ZERO;
            self.derive_total = Duration::ZERO;
            self.textures_total = Duration::ZERO;
            self.work_max = Duration::ZERO;
            self.cpu_total = Duration::ZERO;
            self.cpu_max = Duration::ZERO;
            self.iter_start = self.last_iter;
        }
    }
}

/// CPU time used so far by the calling thread (Linux and other unixes).
#[cfg(unix)]
fn thread_cpu_time() -> Option<Duration> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; the call only writes it.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| Duration::new(ts.tv_sec.max(0) as u64, ts.tv_nsec.clamp(0, 999_999_999) as u32))
}

#[cfg(not(unix))]
fn thread_cpu_time() -> Option<Duration> {
    None
}
