//! What the views ask of the model: one enum, applied in one place
//! ([`super::Model::apply`]). No view writes the model directly.

use std::path::PathBuf;

use super::dialog::Purpose;
use super::loading::LoadRequest;
use super::picture::PictureRequest;
use super::preset::Preset;
use super::settings::{Pace, ThemeChoice, View};
use crate::dataset::Preprocess;
use crate::nmf::Params;

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Start (or continue) the live fit with the current settings.
    Run,
    /// Stop the live fit after the current iteration.
    Stop,
    /// Start over: forget the live fit (a running one starts again from
    /// the initialisation).
    Reset,
    /// Exactly one iteration of the live fit, then stopped.
    Step,
    /// How fast the live fit goes.
    SetPace(Pace),
    /// Show the live fit as it was at this kept iteration (counted across
    /// warm starts, as the loss curve counts); None: live again.
    Scrub(Option<usize>),
    /// Keep the fit shown beside the next ones, to compare.
    Pin,
    /// Forget the pinned fit.
    Unpin,
    /// Presentation mode on or off: full screen, larger text, controls
    /// hidden.
    SetPresenting(bool),
    /// Change k; with a fit, re-fit at once from a warm start.
    SetK(usize),
    /// Solver, init, stopping rules, seed, penalties (k and the sparseness
    /// are left alone).
    SetParams(Params),
    /// Hold every basis image at this Hoyer sparseness (None: plain NMF);
    /// with a fit, re-fit at once from a warm start.
    SetSparseness(Option<f32>),
    /// Apply a preset to the open faces (and fit).
    ApplyPreset(Preset),
    SetAutoRun(bool),
    SetShowResidual(bool),
    SetTheme(ThemeChoice),
    SetView(View),
    /// How a new face of another size is brought to the faces' size (the
    /// new face shown is loaded again).
    SetReshape(crate::project::Reshape),
    /// Change the preprocessing: the faces are loaded again.
    SetPreprocess(Preprocess),
    /// Open faces.
    Load(LoadRequest),
    /// Open faces of several sizes, each resized to this size.
    LoadResized {
        request: LoadRequest,
        width: u32,
        height: u32,
    },
    DismissResizeOffer,
    /// A folder typed by the user (checked before loading).
    OpenTypedFolder(PathBuf),
    /// Paths dropped on the window.
    Dropped(Vec<PathBuf>),
    /// Show the native dialog for this purpose.
    Browse(Purpose),
    SelectFace(usize),
    /// Select a part (None: no part).
    SelectPart(Option<usize>),
    /// Fit every k of `ks` with `max_iter` iterations each, cross-validated
    /// and restarted as `validation` says.
    StartSweep {
        ks: Vec<usize>,
        max_iter: usize,
        validation: crate::nmf::sweep::Validation,
    },
    CancelSweep,
    /// Save the rank explorer's table (.csv or .json by the name), replacing
    /// an existing file only when `overwrite`.
    SaveRankTable {
        path: std::path::PathBuf,
        overwrite: bool,
    },
    /// Forget the question whether to replace the table's file.
    CancelRankTableConfirm,
    /// Open rank `index` of the sweep in the explorer, exactly as fitted.
    OpenSweepPoint(usize),
    StartRace {
        budget_secs: f64,
    },
    StopRace,
    /// Project an image outside the set onto the parts.
    ProjectFace(PathBuf),
    CloseNewFace,
    /// Export the fit to a folder (`overwrite`: the user confirmed).
    Export {
        dir: PathBuf,
        overwrite: bool,
    },
    CancelExportConfirm,
    /// Read a cover image for the selected face (the inspector's occlusion
    /// demo): dark pixels are covered.
    LoadCover(PathBuf),
    /// Save a picture (a screenshot of a view, or the labelled basis
    /// montage) as PNG, replacing an existing file only when `overwrite`.
    SavePicture {
        request: PictureRequest,
        overwrite: bool,
    },
    /// Forget the question whether to replace the picture's file.
    CancelPictureConfirm,
    /// The app took the screenshot `id` asked for, cropped to the view.
    PictureTaken {
        id: u64,
        image: std::sync::Arc<image::RgbaImage>,
        pixels_per_point: f32,
    },
    /// No screenshot for request `id`, and why.
    PictureNotTaken {
        id: u64,
        why: String,
    },
    /// A view found a problem with what the user typed.
    ReportError(String),
}
