//! Save picture…: the window or one of its views as a PNG for slides (egui's
//! own screenshot, cropped by the app to the view, a caption strip added
//! here), the labelled basis montage drawn by [`crate::export::picture`]
//! at any scale, or a movie (an animated GIF, [`crate::export::movie`]) of
//! the basis images or of the selected face over the snapshots the live
//! fit kept for replay. The file is written by a background [`Job`] holding the CPU
//! lease; an existing file is never replaced without the user's "Replace".
//!
//! A screenshot takes three steps: [`Action::SavePicture`] leaves a
//! [`PendingShot`] here; the app (which knows egui) asks the window for a
//! screenshot, crops it to the view's rectangle and hands it back with
//! [`Action::PictureTaken`]; the job adds the caption and writes the file.
//!
//! [`Action::SavePicture`]: super::Action::SavePicture
//! [`Action::PictureTaken`]: super::Action::PictureTaken

use std::path::PathBuf;
use std::sync::Arc;

use crate::dataset::display_name;
use crate::export::ExportError;
use crate::export::picture::{Caption, MontageSpec, add_caption, basis_montage, check_new_file, save_png};
use crate::jobs::{CpuLease, Job, JobError, Wake};

/// What a picture shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PictureWhat {
    /// The whole window as it is.
    #[default]
    Window,
    /// The explorer's basis gallery.
    Gallery,
    /// The explorer's faces and their reconstructions.
    Faces,
    /// The eigenfaces view (NMF parts beside PCA's eigenfaces).
    Eigenfaces,
    /// Every basis image, labelled, drawn at any scale (not a screenshot).
    Montage,
    /// The basis images over the kept snapshots, as an animated GIF.
    Movie,
    /// The selected face beside its reconstruction over the kept
    /// snapshots, as an animated GIF.
    FaceMovie,
}

impl PictureWhat {
    pub const ALL: [PictureWhat; 7] = [
        PictureWhat::Window,
        PictureWhat::Gallery,
        PictureWhat::Faces,
        PictureWhat::Eigenfaces,
        PictureWhat::Montage,
        PictureWhat::Movie,
        PictureWhat::FaceMovie,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PictureWhat::Window => "The whole window",
            PictureWhat::Gallery => "The basis gallery",
            PictureWhat::Faces => "The faces",
            PictureWhat::Eigenfaces => "The eigenfaces comparison",
            PictureWhat::Montage => "Basis montage (labelled)",
            PictureWhat::Movie => "Movie of the basis images (GIF)",
            PictureWhat::FaceMovie => "Movie of the selected face (GIF)",
        }
    }

    pub fn help(self) -> &'static str {
        match self {
            PictureWhat::Window => "Everything on screen, as it is now.",
            PictureWhat::Gallery => "The basis images as the gallery shows them (Explorer view).",
            PictureWhat::Faces => "The faces and their reconstructions as the Explorer shows them.",
            PictureWhat::Eigenfaces => "NMF's parts beside PCA's eigenfaces (Eigenfaces view).",
            PictureWhat::Montage => {
                "Every basis image, most important first, each with its number and share, drawn pixel by pixel at \
                 any scale (sharp on a projector)."
            }
            PictureWhat::Movie => {
                "An animated GIF of the basis images at every snapshot kept for replay (log-spaced iterations), \
                 each frame captioned with its iteration and rel_err; the parts stay in the last one's order."
            }
            PictureWhat::FaceMovie => {
                "An animated GIF of the selected face beside its reconstruction at every snapshot kept for replay."
            }
        }
    }

    /// True for the pictures taken from the screen.
    pub fn is_screenshot(self) -> bool {
        matches!(self, PictureWhat::Window | PictureWhat::Gallery | PictureWhat::Faces | PictureWhat::Eigenfaces)
    }

    /// True for the movies.
    pub fn is_movie(self) -> bool {
        matches!(self, PictureWhat::Movie | PictureWhat::FaceMovie)
    }

    /// The file's extension.
    pub fn extension(self) -> &'static str {
        if self.is_movie() { "gif" } else { "png" }
    }
}

/// A picture to save.
#[derive(Debug, Clone, PartialEq)]
pub struct PictureRequest {
    /// The PNG file.
    pub path: PathBuf,
    pub what: PictureWhat,
    /// 1 or 2 for screenshots (2: every pixel doubled); 1 to 8 for the
    /// montage; 1 to 8 for movies, or 0 for the smallest scale that makes
    /// frames 200 px on their short side.
    pub scale: u32,
    /// Write the caption (data set, k, solver, iteration, rel_err) under or above it.
    pub caption: bool,
    /// The montage's labels (number and importance under each image).
    pub labels: bool,
}

/// A screenshot asked for and not yet taken.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingShot {
    /// Numbers the request (the app tags its screenshot command with it).
    pub id: u64,
    pub request: PictureRequest,
    /// The user confirmed replacing the file.
    pub overwrite: bool,
}

/// The picture being saved, its confirmation and its outcome.
#[derive(Default)]
pub struct PictureState {
    /// A file that exists, waiting for "Replace" or "Cancel".
    pub confirm: Option<PictureRequest>,
    /// A screenshot the app is to take.
    pub shot: Option<PendingShot>,
    /// The last picture's outcome.
    pub notice: Option<String>,
    job: Option<(PathBuf, PictureJob)>,
    next_id: u64,
}

/// A picture being written: nothing, or why it failed.
type PictureJob = Job<(), Result<(), String>>;

/// What the job draws: the montage from W and H, or a screenshot.
pub(crate) enum PictureSource {
    Montage {
        w: Arc<ndarray::Array2<f32>>,
        h: Arc<ndarray::Array2<f32>>,
        width: usize,
        height: usize,
    },
    /// A screenshot cropped to the view, and the screen's pixels per point.
    Shot {
        image: Arc<image::RgbaImage>,
        pixels_per_point: f32,
    },
    /// The snapshots of a movie and how to draw them.
    Movie {
        frames: Vec<crate::export::MovieFrame>,
        spec: crate::export::MovieSpec,
    },
}

impl PictureState {
    /// True while a picture is being taken or written.
    pub fn is_busy(&self) -> bool {
        self.job.is_some() || self.shot.is_some()
    }

    /// Starts saving `request`: asks first when the file exists (unless
    /// `overwrite`); a screenshot is left for the app to take.
    pub(crate) fn request(
        &mut self,
        request: PictureRequest,
        overwrite: bool,
    ) -> Result<Option<PendingShot>, ExportError> {
        self.confirm = None;
        match check_new_file(&request.path, request.what.extension(), overwrite) {
            Ok(()) => {}
            Err(ExportError::Exists { .. }) => {
                self.confirm = Some(request);
                return Ok(None);
            }
            Err(e) => return Err(e),
        }
        // A movie's scale 0 is "the smallest that makes 200 px frames".
        if !(request.what.is_movie() && request.scale == 0) {
            crate::export::picture::check_scale(request.scale)?;
        }
        self.notice = None;
        if request.what.is_screenshot() {
            self.next_id += 1;
            let shot = PendingShot { id: self.next_id, request, overwrite };
            self.shot = Some(shot.clone());
            return Ok(Some(shot));
        }
        Ok(None)
    }

    /// Writes `request`'s picture of `source` with `caption` on a job.
    pub(crate) fn start(
        &mut self,
        request: PictureRequest,
        overwrite: bool,
        source: PictureSource,
        caption: Caption,
        wake: Wake,
        lease: &CpuLease,
    ) -> anyhow::Result<()> {
        if self.job.is_some() {
            anyhow::bail!("a picture is already being saved");
        }
        let path = request.path.clone();
        let job = Job::spawn("picture", wake, Some(lease), move |_| {
            let written = match source {
                PictureSource::Movie { frames, spec } => {
                    crate::export::write_movie(&request.path, &frames, &spec, overwrite).map(drop)
                }
                source => {
                    draw(&request, source, &caption).and_then(|img| save_png(&request.path, &img, overwrite)).map(drop)
                }
            };
            written.map_err(|e| e.to_string())
        })
        .map_err(|e: JobError| anyhow::Error::new(e).context("could not start saving the picture"))?;
        self.job = Some((path, job));
        Ok(())
    }

    /// Takes the job's end; returns an error message when it failed.
    pub(crate) fn poll(&mut self) -> Option<String> {
        let (_, job) = self.job.as_mut()?;
        let end = job.poll()?;
        let (path, _) = self.job.take()?;
        match end.map_err(|e| e.to_string()).and_then(|r| r) {
            Ok(()) => {
                let what =
                    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gif")) { "movie" } else { "picture" };
                self.notice = Some(format!("Saved the {what} {}", display_name(&path)));
                None
            }
            Err(e) => Some(format!("saving the picture failed: {e}")),
        }
    }
}

/// The picture `request` asks for.
fn draw(
    request: &PictureRequest,
    source: PictureSource,
    caption: &Caption,
) -> Result<image::DynamicImage, ExportError> {
    let lines = if request.caption { caption.lines().to_vec() } else { Vec::new() };
    match source {
        PictureSource::Montage { w, h, width, height } => {
            let spec = MontageSpec {
                scale: request.scale,
                per_row: None,
                labels: request.labels,
                caption: request.caption.then(|| caption.clone()),
            };
            Ok(image::DynamicImage::ImageLuma8(basis_montage(w.view(), h.view(), width, height, &spec)?))
        }
        PictureSource::Shot { image, pixels_per_point } => {
            let scaled = if request.scale > 1 {
                image::imageops::resize(
                    image.as_ref(),
                    image.width() * request.scale,
                    image.height() * request.scale,
                    image::imageops::FilterType::Nearest,
                )
            } else {
                image.as_ref().clone()
            };
            // The caption's text as large as the window's text.
            let text_scale = (pixels_per_point * request.scale as f32).round().clamp(1.0, 8.0) as u32;
            Ok(image::DynamicImage::ImageRgba8(add_caption(&scaled, &lines, text_scale)?))
        }
        // Movies are written by `write_movie`, not drawn here.
        PictureSource::Movie { .. } => Err(ExportError::NoFrames),
    }
}
