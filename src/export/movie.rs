//! Movies: an animated GIF of a fit learning, one frame per kept snapshot.
//!
//! Each frame shows either the basis montage ([`super::picture`]: every
//! basis image auto-contrasted, labelled with its number and importance) or
//! one face beside its reconstruction W·h, under a caption (data set, k,
//! solver, iteration, rel_err). The basis images keep their places for the
//! whole movie: they are ordered by importance in the last frame, so the
//! parts can be watched forming. Frames are at least [`MIN_SHORT_SIDE_PX`]
//! pixels on their short side (the scale is raised until they are), there
//! are at least [`MIN_FRAMES`] of them (fewer snapshots are shown longer:
//! each is repeated), and the movie loops forever, the last frame held
//! longer. The frames are grey, so each one's palette is exact (the `gif`
//! encoder inside `image` builds an exact palette for up to 256 colours).
//!
//! [`write_movie`] writes atomically (temporary file and rename), refuses an
//! existing file unless `overwrite`, and names the file in every error.
//! Nothing here knows the app or the live fit: the CLI keeps snapshots with
//! [`SnapshotSchedule`], the app passes its replay snapshots.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, GrayImage, Luma, Rgba, RgbaImage};
use ndarray::{Array1, Array2};

use super::picture::{self, Caption, PAGE, Tile, check_new_file, render_tiles};
use super::{ExportError, write_atomic};
use crate::nmf::metrics;

/// A movie has at least this many frames.
pub const MIN_FRAMES: usize = 10;
/// Every frame is at least this many pixels on its short side.
pub const MIN_SHORT_SIDE_PX: u32 = 200;
/// At most this many frames are kept (more snapshots are thinned evenly,
/// the first and last always kept).
pub const MAX_FRAMES: usize = 240;

/// One snapshot of a fit: what a frame shows.
#[derive(Debug, Clone)]
pub struct MovieFrame {
    /// Iterations done (0: the initialisation).
    pub iteration: usize,
    /// ‖A − WH‖_F / ‖A‖_F at this iteration.
    pub rel_err: f64,
    /// W (pixels × k).
    pub w: Arc<Array2<f32>>,
    /// H (k × faces).
    pub h: Arc<Array2<f32>>,
}

/// What the frames show.
#[derive(Debug, Clone, PartialEq)]
pub enum MovieContent {
    /// Every basis image, labelled, in the last frame's importance order.
    Basis,
    /// One face (column `index` of A, whose pixels are `original`) beside
    /// its reconstruction W·h.
    Face {
        /// The face's column in A (and H).
        index: usize,
        /// Its pixels, row by row, in [0, 1].
        original: Arc<Array1<f32>>,
    },
}

/// How to draw a movie.
#[derive(Debug, Clone, PartialEq)]
pub struct MovieSpec {
    /// Width of a face in pixels.
    pub width: usize,
    /// Height of a face in pixels.
    pub height: usize,
    /// What each frame shows.
    pub content: MovieContent,
    /// The data set's name in the caption.
    pub dataset: String,
    /// The solver's name in the caption.
    pub solver: String,
    /// How long each frame is shown, in milliseconds (GIF counts in 10 ms).
    pub frame_ms: u32,
    /// How long the last frame is shown before the movie starts again.
    pub last_frame_ms: u32,
    /// The scale (1 to [`picture::MAX_SCALE`]); None: the smallest that
    /// makes the frames [`MIN_SHORT_SIDE_PX`] on their short side.
    pub scale: Option<u32>,
}

impl MovieSpec {
    /// A movie of the basis images of faces `width` × `height`, 0.2 s a
    /// frame, the last held 2 s, scaled to the minimum size.
    pub fn basis(width: usize, height: usize, dataset: impl Into<String>, solver: impl Into<String>) -> Self {
        MovieSpec {
            width,
            height,
            content: MovieContent::Basis,
            dataset: dataset.into(),
            solver: solver.into(),
            frame_ms: 200,
            last_frame_ms: 2000,
            scale: None,
        }
    }
}

/// What [`write_movie`] wrote.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MovieReport {
    /// The GIF file.
    pub path: PathBuf,
    /// Frames in the movie (at least [`MIN_FRAMES`]).
    pub frames: usize,
    /// Snapshots shown (fewer than `frames` when each was repeated).
    pub snapshots: usize,
    /// Frame size in pixels.
    pub width: u32,
    pub height: u32,
    /// The scale the frames were drawn at.
    pub scale: u32,
    /// Size of the file in bytes.
    pub bytes: u64,
}

/// Which iterations of a fit to keep for a movie: 0, 1, 2, 3, 4, 6, 8,
/// 11, 15, 20, 26, … (each about 1.3 times the one before), so the early
/// iterations, where the most happens, get the most frames, and a long fit
/// a few dozen at most (about 50 for a million iterations). The last
/// iteration is kept too: call [`SnapshotSchedule::keeps`] for every
/// iteration, then keep the final state if the last kept is not it.
#[derive(Debug, Clone, Default)]
pub struct SnapshotSchedule {
    next: usize,
}

impl SnapshotSchedule {
    /// Whether to keep iteration `iteration` (asked in increasing order).
    pub fn keeps(&mut self, iteration: usize) -> bool {
        if iteration < self.next {
            return false;
        }
        self.next = (iteration + 1).max(iteration.saturating_mul(13).div_ceil(10));
        true
    }
}

/// Checks that a movie may be written to `path` (a name ending in .gif,
/// in a folder that exists; not an existing file unless `overwrite`).
pub fn check_movie_destination(path: &Path, overwrite: bool) -> Result<(), ExportError> {
    check_new_file(path, "gif", overwrite)
}

/// The caption of a frame.
fn caption(frame: &MovieFrame, spec: &MovieSpec) -> Caption {
    Caption {
        dataset: spec.dataset.clone(),
        k: frame.w.ncols(),
        solver: spec.solver.clone(),
        iteration: frame.iteration,
        rel_err: frame.rel_err,
    }
}

/// Checks the frames against the spec: same k, W's rows the face's pixels,
/// the face a column of H.
fn check_frames(frames: &[MovieFrame], spec: &MovieSpec) -> Result<(), ExportError> {
    let first = frames.first().ok_or(ExportError::NoFrames)?;
    let (m, k) = (spec.width * spec.height, first.w.ncols());
    for f in frames {
        if f.w.dim() != (m, k) || k == 0 {
            return Err(ExportError::Shape { what: "W", got: f.w.dim(), expected: (m, k.max(1)) });
        }
        if f.h.nrows() != k {
            return Err(ExportError::Shape { what: "H", got: f.h.dim(), expected: (k, f.h.ncols()) });
        }
        if let MovieContent::Face { index, original } = &spec.content {
            if *index >= f.h.ncols() {
                return Err(ExportError::FaceIndex { index: *index, faces: f.h.ncols() });
            }
            if original.len() != m {
                return Err(ExportError::Shape { what: "the face", got: (original.len(), 1), expected: (m, 1) });
            }
        }
    }
    Ok(())
}

/// Draws one frame at `scale`; `order` is the basis images' order.
fn render_frame(frame: &MovieFrame, spec: &MovieSpec, order: &[usize], scale: u32) -> Result<GrayImage, ExportError> {
    let lines = caption(frame, spec).lines();
    match &spec.content {
        MovieContent::Basis => {
            let share = metrics::importance(frame.w.view(), frame.h.view());
            let tiles: Vec<Tile<'_>> = order
                .iter()
                .enumerate()
                .map(|(i, &c)| Tile {
                    pixels: frame.w.column(c),
                    normalize: true,
                    label: Some((format!("{} · {:.1}%", i + 1, share[c] * 100.0), format!("{}", i + 1))),
                })
                .collect();
            render_tiles(&tiles, spec.width, spec.height, None, scale, &lines)
        }
        MovieContent::Face { index, original } => {
            let recon = frame.w.dot(&frame.h.column(*index));
            let tiles = [
                Tile { pixels: original.view(), normalize: false, label: Some(two(format!("face {}", index + 1))) },
                Tile { pixels: recon.view(), normalize: false, label: Some(two("W·h".to_string())) },
            ];
            render_tiles(&tiles, spec.width, spec.height, Some(2), scale, &lines)
        }
    }
}

fn two(s: String) -> (String, String) {
    (s.clone(), s)
}

/// The movie's frames as pictures (at least [`MIN_FRAMES`], all the same
/// size), and the scale they were drawn at. See the [module docs](self).
pub fn render_movie(frames: &[MovieFrame], spec: &MovieSpec) -> Result<(Vec<GrayImage>, u32), ExportError> {
    check_frames(frames, spec)?;
    let frames = thin(frames);
    let last = frames.last().ok_or(ExportError::NoFrames)?;
    let order = metrics::order_by_importance(last.w.view(), last.h.view());
    let scale = match spec.scale {
        Some(s) => {
            picture::check_scale(s)?;
            s
        }
        None => {
            // The smallest scale whose frames are large enough (the first
            // frame's size stands for all: only the caption's width varies).
            let mut s = 1;
            loop {
                let img = render_frame(frames[0], spec, &order, s)?;
                if img.width().min(img.height()) >= MIN_SHORT_SIDE_PX || s == picture::MAX_SCALE {
                    break s;
                }
                s += 1;
            }
        }
    };
    let mut images = frames.iter().map(|f| render_frame(f, spec, &order, scale)).collect::<Result<Vec<_>, _>>()?;
    // One canvas for all: the captions' widths differ by a digit or two.
    let (w, h) = images.iter().fold((0, 0), |(w, h), i| (i.width().max(w), i.height().max(h)));
    for img in &mut images {
        if img.dimensions() != (w, h) {
            let mut canvas = GrayImage::from_pixel(w, h, Luma([PAGE]));
            image::imageops::replace(&mut canvas, img, 0, 0);
            *img = canvas;
        }
    }
    // Too few snapshots: show each one longer, so there are MIN_FRAMES.
    if images.len() < MIN_FRAMES {
        let n = images.len();
        images = (0..MIN_FRAMES).map(|i| images[i * n / MIN_FRAMES].clone()).collect();
    }
    Ok((images, scale))
}

/// At most [`MAX_FRAMES`] of `frames`, evenly spread, first and last kept.
fn thin(frames: &[MovieFrame]) -> Vec<&MovieFrame> {
    let n = frames.len();
    if n <= MAX_FRAMES {
        return frames.iter().collect();
    }
    (0..MAX_FRAMES).map(|i| &frames[i * (n - 1) / (MAX_FRAMES - 1)]).collect()
}

/// Writes the movie of `frames` to `path` (a .gif file) as `spec` says;
/// an existing file is replaced only when `overwrite`. See the
/// [module docs](self).
pub fn write_movie(
    path: &Path,
    frames: &[MovieFrame],
    spec: &MovieSpec,
    overwrite: bool,
) -> Result<MovieReport, ExportError> {
    check_movie_destination(path, overwrite)?;
    let (images, scale) = render_movie(frames, spec)?;
    let (width, height) = images.first().map_or((0, 0), |i| i.dimensions());
    if width > u32::from(u16::MAX) || height > u32::from(u16::MAX) {
        return Err(ExportError::TooLarge { width: width as usize, height: height as usize });
    }
    let count = images.len();
    let encode_err = |e| ExportError::Encode { path: path.to_path_buf(), error: e };
    write_atomic(path, |out| {
        let mut encoder = GifEncoder::new_with_speed(&mut *out, 10);
        encoder.set_repeat(Repeat::Infinite).map_err(encode_err)?;
        for (i, img) in images.iter().enumerate() {
            let ms = if i + 1 == count { spec.last_frame_ms.max(spec.frame_ms) } else { spec.frame_ms };
            let rgba = RgbaImage::from_fn(width, height, |x, y| {
                let g = img.get_pixel(x, y).0[0];
                Rgba([g, g, g, 255])
            });
            let frame = image::Frame::from_parts(rgba, 0, 0, Delay::from_numer_denom_ms(ms.max(10), 1));
            encoder.encode_frame(frame).map_err(encode_err)?;
        }
        // Dropping the encoder writes the GIF's trailer.
        drop(encoder);
        Ok(())
    })?;
    let bytes = std::fs::metadata(path).map_err(|e| ExportError::Io { path: path.to_path_buf(), error: e })?.len();
    Ok(MovieReport {
        path: path.to_path_buf(),
        frames: count,
        snapshots: frames.len().min(MAX_FRAMES),
        width,
        height,
        scale,
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_is_log_spaced() {
        let mut s = SnapshotSchedule::default();
        let kept: Vec<usize> = (0..=200).filter(|&i| s.keeps(i)).collect();
        assert_eq!(&kept[..12], &[0, 1, 2, 3, 4, 6, 8, 11, 15, 20, 26, 34]);
        assert!(kept.len() < 30, "{kept:?}");
        let mut s = SnapshotSchedule::default();
        assert!((0..1_000_000).filter(|&i| s.keeps(i)).count() < 60);
    }
}
