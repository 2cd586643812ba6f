//! The faces view's thumbnails, built off the UI thread for a window of
//! faces (the visible rows and a margin): the faces themselves, their
//! reconstructions (or residuals) by the fit shown, and by the pinned fit.
//! Nothing is built for a face outside the window, and the UI thread only
//! sets the finished images into its textures (created once, then set).

use std::sync::Arc;

use eframe::egui;
use egui::Color32;
use ndarray::{Array2, Axis};

use super::atlas::{TileGrid, gray_into, residual_into};
use crate::jobs::{Job, JobError, Wake};
use crate::model::thumb::Thumb;
use crate::nmf::FaceMatrix;

/// A fit's factors, to reconstruct the window's faces with.
#[derive(Clone)]
pub(super) struct Factors {
    pub w: Arc<Array2<f32>>,
    pub h: Arc<Array2<f32>>,
}

/// What to build: the window's faces (in order), and which images of them.
pub(super) struct TileWork {
    pub data: Arc<FaceMatrix>,
    pub thumb: Thumb,
    pub max_side: usize,
    pub faces: Arc<[usize]>,
    /// The faces' own thumbnails.
    pub originals: bool,
    /// Reconstructions by this fit (residuals when the flag is set).
    pub right: Option<(Factors, bool)>,
    /// Reconstructions by the pinned fit.
    pub pinned: Option<Factors>,
}

/// The images built for one window.
#[derive(Default)]
pub(super) struct Built {
    pub originals: Option<TileGrid>,
    pub right: Option<TileGrid>,
    pub pinned: Option<TileGrid>,
}

/// A build in progress.
pub(super) type TileJob = Job<(), Built>;

impl TileWork {
    /// Starts building on a background thread; `wake` asks for a frame
    /// when it is done.
    pub fn spawn(self, wake: Wake) -> Result<TileJob, JobError> {
        Job::spawn("thumbnails", wake, None, move |ctx| self.build(|| ctx.is_cancelled()))
    }

    /// The images (on the calling thread); stops early, with what it has,
    /// when `cancelled` says so.
    pub fn build(&self, cancelled: impl Fn() -> bool) -> Built {
        let (t, n) = (self.thumb, self.faces.len());
        let tp = t.pixels();
        let tile = [t.width, t.height];
        let mut built = Built::default();
        if n == 0 || tp == 0 {
            return built;
        }
        let residual = self.right.as_ref().is_some_and(|(_, r)| *r);
        // The faces' thumbnails (thumb pixels × window), from Aᵀ's rows
        // when it is stored (each face contiguous there), else gathered
        // from A's column.
        let small = (self.originals || residual).then(|| {
            let at = self.data.at();
            let mut face = vec![0.0f32; self.data.pixels()];
            let mut small = Array2::<f32>::zeros((n, tp));
            for (mut out, &j) in small.outer_iter_mut().zip(self.faces.iter()) {
                let src = match at.row(j).to_slice() {
                    Some(src) => src,
                    None => {
                        self.data.face_into(j, &mut face);
                        &face
                    }
                };
                if let Some(dst) = out.as_slice_mut() {
                    t.downsample_one(src, dst);
                }
            }
            small
        });
        if self.originals
            && let Some(small) = &small
        {
            built.originals =
                TileGrid::compose(n, tile, self.max_side, |i, out| gray_into(small.row(i), 0.0, 1.0, out));
        }
        if cancelled() {
            return built;
        }
        if let Some((f, residual)) = &self.right {
            let r = self.reconstruct(f);
            built.right = match (residual, &small) {
                (true, Some(small)) => {
                    let mut diff = vec![0.0f32; tp];
                    TileGrid::compose(n, tile, self.max_side, |i, out| {
                        for ((d, &x), &y) in diff.iter_mut().zip(small.row(i)).zip(r.column(i)) {
                            *d = x - y;
                        }
                        residual_into(ndarray::ArrayView1::from(&diff[..]), 0.5, out);
                    })
                }
                _ => TileGrid::compose(n, tile, self.max_side, |i, out| gray_into(r.column(i), 0.0, 1.0, out)),
            };
        }
        if cancelled() {
            return built;
        }
        if let Some(f) = &self.pinned {
            let r = self.reconstruct(f);
            built.pinned = TileGrid::compose(n, tile, self.max_side, |i, out| gray_into(r.column(i), 0.0, 1.0, out));
        }
        built
    }

    /// The window's reconstructions at thumbnail size (thumb pixels ×
    /// window). Downsampling is linear: thumbnail(W·h) = thumbnail(W)·h.
    fn reconstruct(&self, f: &Factors) -> Array2<f32> {
        let w_small = self.thumb.downsample(f.w.view());
        let cols: Vec<usize> = self.faces.iter().copied().filter(|&j| j < f.h.ncols()).collect();
        if cols.len() != self.faces.len() {
            // Factors of other faces (cannot happen: keys hold the faces'
            // generation); show nothing rather than the wrong faces.
            return Array2::zeros((self.thumb.pixels(), self.faces.len()));
        }
        let h = f.h.select(Axis(1), &cols);
        w_small.dot(&h)
    }
}

/// A grey tile for a face whose thumbnail is not built yet.
pub(super) fn placeholder(ui: &egui::Ui) -> Color32 {
    ui.visuals().faint_bg_color
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_only_the_window_and_matches_the_full_reconstruction() {
        let (w, h, n, k) = (8usize, 6usize, 30usize, 3usize);
        let a = Array2::from_shape_fn((w * h, n), |(p, j)| ((p * 3 + j * 5) % 17) as f32 / 17.0 + 0.01);
        let data = Arc::new(FaceMatrix::new(a).unwrap());
        let wm = Arc::new(Array2::from_shape_fn((w * h, k), |(p, c)| ((p + c) % 5) as f32 / 10.0));
        let hm = Arc::new(Array2::from_shape_fn((k, n), |(c, j)| ((c * 7 + j) % 4) as f32 / 4.0));
        let thumb = Thumb::new(w, h, 4);
        let faces: Arc<[usize]> = vec![29, 3, 17].into();
        let work = TileWork {
            data,
            thumb,
            max_side: 2048,
            faces: Arc::clone(&faces),
            originals: true,
            right: Some((Factors { w: Arc::clone(&wm), h: Arc::clone(&hm) }, false)),
            pinned: None,
        };
        let built = work.build(|| false);
        let right = built.right.unwrap();
        assert_eq!(right.count, 3);
        assert!(built.pinned.is_none());
        assert_eq!(built.originals.unwrap().count, 3);
        // Tile 0 is face 29's reconstruction: thumbnail(W)·h₂₉.
        let full = thumb.downsample(wm.view()).dot(&hm.column(29));
        let mut want = vec![Color32::BLACK; thumb.pixels()];
        gray_into(full.view(), 0.0, 1.0, &mut want);
        let got: Vec<Color32> = (0..thumb.height)
            .flat_map(|y| (0..thumb.width).map(move |x| (x, y)))
            .map(|(x, y)| right.image[(x, y)])
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn thumbnails_are_the_same_whether_or_not_a_transpose_is_stored() {
        let (w, h, n) = (8usize, 6usize, 12usize);
        let a = Array2::from_shape_fn((w * h, n), |(p, j)| ((p * 7 + j * 3) % 13) as f32 / 13.0 + 0.02);
        let thumb = Thumb::new(w, h, 4);
        let build = |keep: bool| {
            let data = Arc::new(FaceMatrix::with_transpose(a.clone(), keep).unwrap());
            assert_eq!(data.stores_transpose(), keep);
            TileWork {
                data,
                thumb,
                max_side: 2048,
                faces: vec![11, 0, 5].into(),
                originals: true,
                right: None,
                pinned: None,
            }
            .build(|| false)
            .originals
            .unwrap()
            .image
        };
        let (stored, gathered) = (build(true), build(false));
        assert_eq!(stored.pixels, gathered.pixels);
        assert!(stored.pixels.iter().any(|c| *c != Color32::BLACK), "the faces are drawn");
    }
}
