//! Opening faces: the built-in set, a folder (native dialog, a typed path,
//! or dropped on the window), or dropped image files. Loading runs on a
//! background thread; the result is picked up in `logic()`.

use eframe::egui;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::FaceNmfApp;
use super::state::Thumb;
use crate::dataset::{self, Dataset, LoadOptions};
use crate::nmf::FaceMatrix;

/// Longest side of a face thumbnail (faces view) in texels.
pub const THUMB_SIDE: usize = 32;
/// Longest side of a basis image in the gallery's texture.
pub const GALLERY_SIDE: usize = 64;

/// What to open.
#[derive(Debug, Clone)]
pub enum LoadRequest {
    BuiltIn,
    Folder(PathBuf),
    /// Image files (dropped on the window), loaded as one set.
    Files(Vec<PathBuf>),
}

/// Loaded faces and what the views precompute from them.
pub struct LoadedFaces {
    pub dataset: Dataset,
    pub matrix: Arc<FaceMatrix>,
    /// Short description: "built-in faces" or the folder's name.
    pub name: String,
    pub thumb: Thumb,
    /// Basis image size in the gallery.
    pub gallery_thumb: Thumb,
    /// Every face at thumbnail size (thumb pixels × faces).
    pub a_small: ndarray::Array2<f32>,
    /// Face indices grouped by label (stable within a label).
    pub by_label: Vec<usize>,
    /// (first position in `by_label`, label) of each label group.
    pub groups: Vec<(usize, String)>,
}

impl LoadedFaces {
    pub fn new(dataset: Dataset) -> anyhow::Result<Self> {
        let matrix = Arc::new(FaceMatrix::new(dataset.matrix.clone()).context("these faces cannot be factored")?);
        let name = match &dataset.source {
            dataset::Source::BuiltIn => "built-in faces".to_string(),
            dataset::Source::Folder(p) => {
                p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned())
            }
        };
        let thumb = Thumb::new(dataset.width, dataset.height, THUMB_SIDE);
        let gallery_thumb = Thumb::new(dataset.width, dataset.height, GALLERY_SIDE);
        let a_small = thumb.downsample(dataset.matrix.view());
        let mut by_label: Vec<usize> = (0..dataset.faces()).collect();
        // Group by first appearance of each label, keeping file order inside.
        let mut first_seen = std::collections::HashMap::new();
        for (j, l) in dataset.labels.iter().enumerate() {
            first_seen.entry(l.as_str()).or_insert(j);
        }
        by_label.sort_by_key(|&j| (dataset.labels.get(j).and_then(|l| first_seen.get(l.as_str())).copied(), j));
        let mut groups: Vec<(usize, String)> = Vec::new();
        for (pos, &j) in by_label.iter().enumerate() {
            let label = dataset.labels.get(j).cloned().unwrap_or_default();
            if groups.last().is_none_or(|(_, l)| *l != label) {
                groups.push((pos, label));
            }
        }
        Ok(LoadedFaces { dataset, matrix, name, thumb, gallery_thumb, a_small, by_label, groups })
    }

    /// "400 faces, 92×112, folder /data/orl"
    pub fn summary(&self) -> String {
        let d = &self.dataset;
        let source = match &d.source {
            dataset::Source::BuiltIn => "built-in set".to_string(),
            dataset::Source::Folder(p) => format!("folder {}", p.display()),
        };
        format!("{} faces, {}×{}, {source}", d.faces(), d.width, d.height)
    }
}

/// The request, the resize it was loaded with, and what came of it.
type LoadResult = (LoadRequest, Option<(u32, u32)>, anyhow::Result<Dataset>);

/// Faces of several sizes were found: the offer to resize them all to one
/// size (the most common, unless the user changes it) and open them.
#[derive(Debug, Clone)]
pub struct ResizeOffer {
    pub request: LoadRequest,
    pub width: u32,
    pub height: u32,
    /// The loader's message: which sizes, and which files.
    pub message: String,
}

/// A load in progress, and a native folder dialog in progress.
#[derive(Default)]
pub struct Loading {
    job: Option<(LoadRequest, Receiver<LoadResult>)>,
    dialog: Option<(Instant, Receiver<Option<PathBuf>>)>,
}

impl Loading {
    pub fn is_busy(&self) -> bool {
        self.job.is_some() || self.dialog.is_some()
    }

    /// What is being loaded, for the status line.
    pub fn describe(&self) -> Option<String> {
        self.job.as_ref().map(|(r, _)| match r {
            LoadRequest::BuiltIn => "Loading the built-in faces…".to_string(),
            LoadRequest::Folder(p) => format!("Loading {}…", p.display()),
            LoadRequest::Files(f) => format!("Loading {} files…", f.len()),
        })
    }
}

/// The "Open folder" window with a path field: used where no native dialog
/// is available, and always reachable from the menu.
#[derive(Default)]
pub struct OpenDialog {
    pub open: bool,
    pub path: String,
    /// Why the window was opened instead of the native dialog.
    pub note: Option<String>,
}

fn load(request: &LoadRequest, opts: &LoadOptions) -> anyhow::Result<Dataset> {
    match request {
        LoadRequest::BuiltIn => {
            let mut d = dataset::builtin::builtin_faces().dataset;
            dataset::preprocess(&mut d.matrix, opts.preprocess);
            Ok(d)
        }
        LoadRequest::Folder(p) => dataset::load_folder(p, opts).with_context(|| format!("cannot open {}", p.display())),
        LoadRequest::Files(files) => {
            // Copy the files into a temporary folder and load that: one set.
            let dir = tempfile::tempdir().context("cannot create a temporary folder for the dropped files")?;
            for (i, f) in files.iter().enumerate() {
                let name = f.file_name().map_or_else(|| format!("face{i}"), |n| n.to_string_lossy().into_owned());
                std::fs::copy(f, dir.path().join(format!("{i:04}_{name}")))
                    .with_context(|| format!("cannot read {}", f.display()))?;
            }
            dataset::load_folder(dir.path(), opts)
                .with_context(|| format!("cannot open the {} dropped files", files.len()))
        }
    }
}

impl FaceNmfApp {
    /// Starts loading in the background (faces keep their size).
    pub fn load(&mut self, request: LoadRequest) {
        self.load_with(request, None);
    }

    /// Starts loading in the background, resizing every face to `resize`
    /// if given, with the preprocessing of the settings.
    pub fn load_with(&mut self, request: LoadRequest, resize: Option<(u32, u32)>) {
        self.resize_offer = None;
        let (tx, rx) = mpsc::channel();
        let ctx = self.ctx.clone();
        let req = request.clone();
        let opts = LoadOptions { resize, preprocess: self.settings.preprocess, ..LoadOptions::default() };
        let spawned = std::thread::Builder::new().name("facenmf-load".into()).spawn(move || {
            let result = load(&req, &opts);
            let _ = tx.send((req, resize, result));
            ctx.request_repaint();
        });
        match spawned {
            Ok(_) => self.loading.job = Some((request, rx)),
            Err(e) => self.report_error(&anyhow::Error::new(e).context("cannot start loading")),
        }
    }

    /// Opens the native folder dialog on a background thread.
    pub fn open_folder_dialog(&mut self) {
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
            self.open_path_window(Some(
                "No native file dialog is available here (no desktop portal): type the folder's path.".into(),
            ));
            return;
        }
        let (tx, rx) = mpsc::channel();
        let ctx = self.ctx.clone();
        let start_dir = self.settings.last_folder.clone();
        let spawned = std::thread::Builder::new().name("facenmf-dialog".into()).spawn(move || {
            let mut dialog = rfd::FileDialog::new().set_title("Open a folder of faces");
            if let Some(dir) = start_dir {
                dialog = dialog.set_directory(dir);
            }
            let _ = tx.send(dialog.pick_folder());
            ctx.request_repaint();
        });
        match spawned {
            Ok(_) => self.loading.dialog = Some((Instant::now(), rx)),
            Err(_) => self.open_path_window(Some("The native file dialog could not be started.".into())),
        }
    }

    pub fn open_path_window(&mut self, note: Option<String>) {
        self.open_dialog.open = true;
        self.open_dialog.note = note;
        if self.open_dialog.path.is_empty()
            && let Some(p) = &self.settings.last_folder
        {
            self.open_dialog.path = p.display().to_string();
        }
    }

    /// Picks up finished loads and dialogs.
    pub(crate) fn poll_loading(&mut self) {
        if let Some((opened_at, rx)) = &self.loading.dialog {
            match rx.try_recv() {
                Ok(Some(folder)) => {
                    self.loading.dialog = None;
                    self.load(LoadRequest::Folder(folder));
                }
                Ok(None) => {
                    // A dialog that "answers" at once never showed: no portal.
                    let instant = opened_at.elapsed() < Duration::from_millis(300);
                    self.loading.dialog = None;
                    if instant {
                        self.open_path_window(Some(
                            "The native file dialog is not available (no desktop portal): type the folder's path."
                                .into(),
                        ));
                    }
                }
                Err(TryRecvError::Disconnected) => {
                    self.loading.dialog = None;
                    self.open_path_window(Some("The native file dialog failed: type the folder's path.".into()));
                }
                Err(TryRecvError::Empty) => {}
            }
        }
        let Some((_, rx)) = &self.loading.job else {
            return;
        };
        let (request, resize, result) = match rx.try_recv() {
            Ok(r) => r,
            Err(TryRecvError::Empty) => return,
            Err(TryRecvError::Disconnected) => {
                self.loading.job = None;
                self.report_error(&anyhow::anyhow!("loading stopped unexpectedly"));
                return;
            }
        };
        self.loading.job = None;
        match result {
            Ok(d) => {
                let folder = match &request {
                    LoadRequest::Folder(p) => Some(p.clone()),
                    _ => None,
                };
                self.current_load = Some((request, resize));
                self.install_dataset(d, folder);
            }
            Err(e) => {
                let mixed = e.chain().find_map(|c| match c.downcast_ref::<dataset::DatasetError>() {
                    Some(dataset::DatasetError::MixedSizes { most_common: (w, h), .. }) => Some((*w, *h)),
                    _ => None,
                });
                if let Some((w, h)) = mixed {
                    self.resize_offer = Some(ResizeOffer {
                        request,
                        width: u32::try_from(w).unwrap_or(u32::MAX),
                        height: u32::try_from(h).unwrap_or(u32::MAX),
                        message: format!("{e:#}"),
                    });
                }
                self.report_error(&e);
            }
        }
    }

    /// Loads the current faces again (after the preprocessing changed).
    pub fn reload(&mut self) {
        if let Some((request, resize)) = self.current_load.clone() {
            self.load_with(request, resize);
        }
    }

    /// Ctrl+O, and folders or images dropped on the window (one image, with a
    /// fit, is projected as a new face).
    pub(crate) fn handle_input(&mut self, ctx: &egui::Context) {
        let open = egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::O);
        if ctx.input_mut(|i| i.consume_shortcut(&open)) {
            self.open_folder_dialog();
        }
        let dropped: Vec<PathBuf> = ctx.input(|i| i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect());
        if !dropped.is_empty() {
            self.open_dropped(&dropped);
        }
    }

    fn open_dropped(&mut self, paths: &[PathBuf]) {
        let paths: Vec<PathBuf> = paths.iter().filter(|p| !p.as_os_str().is_empty()).cloned().collect();
        match paths.as_slice() {
            [] => {}
            [one] if one.is_dir() => self.load(LoadRequest::Folder(one.clone())),
            // One image while a fit exists: project it onto the basis.
            [one] if one.is_file() && self.fit.is_some() => self.project_new_face(one),
            many => {
                let files: Vec<PathBuf> = many.iter().filter(|p| p.is_file()).cloned().collect();
                if let Some(dir) = many.iter().find(|p| p.is_dir()) {
                    self.load(LoadRequest::Folder(dir.clone()));
                } else if files.is_empty() {
                    self.report_error(&anyhow::anyhow!("nothing to open in what was dropped"));
                } else {
                    self.load(LoadRequest::Files(files));
                }
            }
        }
    }

    /// Opens the folder typed into the path window.
    pub(crate) fn open_typed_path(&mut self) {
        let text = self.open_dialog.path.trim().to_string();
        if text.is_empty() {
            return;
        }
        let path = Path::new(&text);
        if path.is_dir() {
            self.open_dialog.open = false;
            self.load(LoadRequest::Folder(path.to_path_buf()));
        } else {
            self.report_error(&anyhow::anyhow!("{} is not a folder", path.display()));
        }
    }
}
