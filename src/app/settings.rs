//! What the app remembers between runs (eframe persistence, serde).

use eframe::egui;

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

    pub fn preference(self) -> egui::ThemePreference {
        match self {
            ThemeChoice::System => egui::ThemePreference::System,
            ThemeChoice::Light => egui::ThemePreference::Light,
            ThemeChoice::Dark => egui::ThemePreference::Dark,
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
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            params: crate::nmf::Params { k: 25, max_iter: 500, tol: 0.0, ..crate::nmf::Params::default() },
            theme: ThemeChoice::System,
            auto_run: true,
            show_residual: false,
            recent_folders: Vec::new(),
            last_folder: None,
            preprocess: crate::dataset::Preprocess::None,
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
