//! What the app remembers between runs (persisted with serde by the app).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::nmf::Params;

/// How many recent folders are kept.
pub const MAX_RECENT: usize = 8;

/// Light, dark, or whatever the system prefers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThemeChoice {
    #[default]
    System,
    Light,
    Dark,
}

impl ThemeChoice {
    pub const ALL: [ThemeChoice; 3] = [ThemeChoice::System, ThemeChoice::Light, ThemeChoice::Dark];

    pub fn name(self) -> &'static str {
        match self {
            ThemeChoice::System => "System",
            ThemeChoice::Light => "Light",
            ThemeChoice::Dark => "Dark",
        }
    }
}

/// The view shown in the middle of the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum View {
    /// Basis images and every face with its reconstruction, live.
    #[default]
    Explorer,
    /// NMF's parts beside PCA's eigenfaces at the same k.
    Eigenfaces,
    /// A sweep over k: NMF's error beside the SVD's optimum.
    Ranks,
    /// MU, KL-MU and HALS from the same start, error against time.
    Race,
}

impl View {
    pub const ALL: [View; 4] = [View::Explorer, View::Eigenfaces, View::Ranks, View::Race];

    pub fn name(self) -> &'static str {
        match self {
            View::Explorer => "Explorer",
            View::Eigenfaces => "Parts vs eigenfaces",
            View::Ranks => "Rank explorer",
            View::Race => "Solver race",
        }
    }

    pub fn help(self) -> &'static str {
        match self {
            View::Explorer => "Watch NMF learn: the basis images (parts) and every face beside its reconstruction.",
            View::Eigenfaces => {
                "NMF's parts beside PCA's eigenfaces at the same k (Lee & Seung 1999): additive parts versus \
                 holistic images that cancel."
            }
            View::Ranks => {
                "Fit NMF for a range of k and compare its error with the SVD's, the best any rank-k \
                            factorisation can do. Click a k to open that fit."
            }
            View::Race => "MU, KL-MU and HALS from the same start: relative error against time.",
        }
    }
}

/// How fast the live fit goes: a few iterations a second to watch each
/// one, or as fast as the machine can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pace {
    /// One iteration a second.
    One,
    /// Five iterations a second.
    Five,
    /// Twenty iterations a second.
    Twenty,
    /// As fast as possible.
    #[default]
    Fastest,
}

impl Pace {
    pub const ALL: [Pace; 4] = [Pace::One, Pace::Five, Pace::Twenty, Pace::Fastest];

    /// Iterations a second at most (None: no limit).
    pub fn per_sec(self) -> Option<f64> {
        match self {
            Pace::One => Some(1.0),
            Pace::Five => Some(5.0),
            Pace::Twenty => Some(20.0),
            Pace::Fastest => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Pace::One => "1/s",
            Pace::Five => "5/s",
            Pace::Twenty => "20/s",
            Pace::Fastest => "max",
        }
    }

    pub fn help(self) -> &'static str {
        match self {
            Pace::One => "One iteration a second: every view shows each step.",
            Pace::Five => "Five iterations a second.",
            Pace::Twenty => "Twenty iterations a second.",
            Pace::Fastest => "As fast as the machine can.",
        }
    }
}

/// The persisted settings. Unknown or missing fields fall back to defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// k, solver, init, max_iter, tol, seed and penalties.
    pub params: Params,
    pub theme: ThemeChoice,
    /// Start fitting as soon as faces are loaded.
    pub auto_run: bool,
    /// Show |face − reconstruction| instead of the reconstruction in the faces view.
    pub show_residual: bool,
    /// Most recent first.
    pub recent_folders: Vec<PathBuf>,
    pub last_folder: Option<PathBuf>,
    /// Per-face preprocessing applied when faces are loaded.
    pub preprocess: crate::dataset::Preprocess,
    /// The view in the middle of the window.
    pub view: View,
    /// How fast the live fit goes.
    pub pace: Pace,
    /// Presentation mode: full screen, larger text, controls hidden (not
    /// remembered: the app always opens in its normal layout).
    #[serde(skip)]
    pub presenting: bool,
    /// How a projected face of another size is brought to the faces' size.
    pub reshape: crate::project::Reshape,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            params: Params::default(),
            theme: ThemeChoice::System,
            auto_run: true,
            show_residual: false,
            recent_folders: Vec::new(),
            last_folder: None,
            preprocess: crate::dataset::Preprocess::None,
            view: View::Explorer,
            pace: Pace::Fastest,
            presenting: false,
            reshape: crate::project::Reshape::Crop,
        }
    }
}

impl Settings {
    /// Puts `folder` first in the recent list (without duplicates).
    pub fn remember_folder(&mut self, folder: &Path) {
        self.recent_folders.retain(|f| f != folder);
        self.recent_folders.insert(0, folder.to_path_buf());
        self.recent_folders.truncate(MAX_RECENT);
        self.last_folder = Some(folder.to_path_buf());
    }
}
