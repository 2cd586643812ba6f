//! New faces: an image that is not in the set, projected onto the current
//! basis (its weights by non-negative least squares with W fixed,
//! [`crate::project`]) and shown in the inspector beside its
//! reconstruction. It is projected again whenever the fit changes (at most
//! four times a second while a fit runs: one small NNLS each time).

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::{Duration, Instant};

use eframe::egui;
use egui::{Color32, ColorImage, TextureOptions};

use super::FaceNmfApp;
use super::atlas::{Picture, gray_into, residual_into};
use crate::project::{LoadedFace, Projection, load_face, project_face};

/// How often a new face is projected again while a fit runs.
const REPROJECT_INTERVAL: Duration = Duration::from_millis(250);

/// Image files offered by the native file dialog.
pub const IMAGE_EXTENSIONS: [&str; 11] =
    ["png", "pgm", "pnm", "ppm", "pbm", "jpg", "jpeg", "bmp", "gif", "tif", "tiff"];

/// The new face shown in the inspector.
pub struct NewFace {
    /// The image file.
    pub path: PathBuf,
    /// Its file name, for the heading.
    pub name: String,
    /// The face as loaded (the set's size and preprocessing).
    pub loaded: LoadedFace,
    /// Its projection onto the current basis (None without a fit).
    pub projection: Option<Projection>,
    /// (fit id, iteration) of the fit it was projected onto.
    projected_for: Option<(u64, usize)>,
    projected_at: Instant,
}

/// A native file or folder dialog running on its own thread.
pub(crate) type NativeDialog = (Instant, Receiver<Option<PathBuf>>);

/// The "Project a face" window, the new face, and its textures.
pub struct NewFaceState {
    pub current: Option<NewFace>,
    /// The window with the path field.
    pub window_open: bool,
    pub path: String,
    /// Why the native dialog is not available, when it is not.
    pub note: Option<String>,
    pub(crate) dialog: Option<NativeDialog>,
    pub face: Picture,
    pub recon: Picture,
    pub residual: Picture,
}

impl Default for NewFaceState {
    fn default() -> Self {
        NewFaceState {
            current: None,
            window_open: false,
            path: String::new(),
            note: None,
            dialog: None,
            face: Picture::new("new face"),
            recon: Picture::new("new face reconstruction"),
            residual: Picture::new("new face residual"),
        }
    }
}

/// Runs a native file dialog on a background thread (so the window keeps
/// drawing); `None` when no desktop portal is reachable.
pub(crate) fn spawn_native_dialog(
    ctx: &egui::Context,
    pick: impl FnOnce() -> Option<PathBuf> + Send + 'static,
) -> Option<NativeDialog> {
    std::env::var_os("DBUS_SESSION_BUS_ADDRESS")?;
    let (tx, rx) = mpsc::channel();
    let ctx = ctx.clone();
    std::thread::Builder::new()
        .name("facenmf-dialog".into())
        .spawn(move || {
            let _ = tx.send(pick());
            ctx.request_repaint();
        })
        .ok()?;
    Some((Instant::now(), rx))
}

/// What a native dialog answered: `Ok(Some(path))`, `Ok(None)` (cancelled
/// or still open: check `done`), or `Err(note)` when it could not show.
pub(crate) fn poll_native_dialog(dialog: &mut Option<NativeDialog>) -> Result<Option<PathBuf>, String> {
    let Some((opened_at, rx)) = dialog else {
        return Ok(None);
    };
    match rx.try_recv() {
        Ok(Some(path)) => {
            *dialog = None;
            Ok(Some(path))
        }
        Ok(None) => {
            // A dialog that "answers" at once never showed: no portal.
            let instant = opened_at.elapsed() < Duration::from_millis(300);
            *dialog = None;
            if instant { Err("The native file dialog is not available (no desktop portal).".into()) } else { Ok(None) }
        }
        Err(TryRecvError::Disconnected) => {
            *dialog = None;
            Err("The native file dialog failed.".into())
        }
        Err(TryRecvError::Empty) => Ok(None),
    }
}

impl FaceNmfApp {
    /// Opens the "Project a face" window.
    pub fn open_project_window(&mut self) {
        self.new_face.window_open = true;
        if self.new_face.dialog.is_none() && std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
            self.new_face.note = Some("No native file dialog here (no desktop portal): type the image's path.".into());
        }
    }

    /// Opens the native dialog to choose an image to project.
    pub(crate) fn browse_new_face(&mut self) {
        let start = self.settings.last_folder.clone();
        let dialog = spawn_native_dialog(&self.ctx, move || {
            let mut d = rfd::FileDialog::new().set_title("Project a face").add_filter("Images", &IMAGE_EXTENSIONS);
            if let Some(dir) = start {
                d = d.set_directory(dir);
            }
            d.pick_file()
        });
        match dialog {
            Some(d) => self.new_face.dialog = Some(d),
            None => {
                self.new_face.note =
                    Some("No native file dialog here (no desktop portal): type the image's path.".into());
            }
        }
    }

    /// Projects the image at `path` onto the current basis and shows it in
    /// the inspector. Errors go to the status line.
    pub fn project_new_face(&mut self, path: &Path) {
        let (Some(faces), Some(fit)) = (&self.faces, &self.fit) else {
            self.report_error(&anyhow::anyhow!("fit the faces first: a new face is projected onto the basis W"));
            return;
        };
        let (width, height) = (faces.dataset.width, faces.dataset.height);
        let loaded = match load_face(path, width, height, self.settings.preprocess) {
            Ok(l) => l,
            Err(e) => {
                self.report_error(&anyhow::Error::new(e));
                return;
            }
        };
        let projection = match project_face(fit.progress.snapshot.w.view(), loaded.face.view(), path) {
            Ok(p) => p,
            Err(e) => {
                self.report_error(&anyhow::Error::new(e));
                return;
            }
        };
        let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        let key = (fit.progress.fit_id, fit.progress.snapshot.iteration);
        let mut px = vec![Color32::BLACK; width * height];
        gray_into(loaded.face.view(), 0.0, 1.0, &mut px);
        self.new_face.face.set(&self.ctx, ColorImage::new([width, height], px), TextureOptions::LINEAR);
        self.new_face.current = Some(NewFace {
            path: path.to_path_buf(),
            name,
            loaded,
            projection: None,
            projected_for: Some(key),
            projected_at: Instant::now(),
        });
        self.set_projection(projection);
        self.new_face.window_open = false;
        self.error = None;
    }

    /// Leaves the new face: the inspector shows the set's selected face.
    pub fn close_new_face(&mut self) {
        self.new_face.current = None;
        self.inspector_dirty = true;
    }

    /// The new face shown in the inspector, if any.
    pub fn new_face(&self) -> Option<&NewFace> {
        self.new_face.current.as_ref()
    }

    fn set_projection(&mut self, projection: Projection) {
        let Some((faces, current)) = self.faces.as_ref().zip(self.new_face.current.as_mut()) else {
            return;
        };
        let (width, height) = (faces.dataset.width, faces.dataset.height);
        let mut px = vec![Color32::BLACK; width * height];
        gray_into(projection.reconstruction.view(), 0.0, 1.0, &mut px);
        self.new_face.recon.set(&self.ctx, ColorImage::new([width, height], px.clone()), TextureOptions::LINEAR);
        let diff = &current.loaded.face - &projection.reconstruction;
        residual_into(diff.view(), 0.5, &mut px);
        self.new_face.residual.set(&self.ctx, ColorImage::new([width, height], px), TextureOptions::LINEAR);
        current.projection = Some(projection);
    }

    /// Picks up the native dialog's answer, and projects the new face again
    /// when the fit changed (in `logic()`).
    pub(crate) fn refresh_new_face(&mut self) {
        match poll_native_dialog(&mut self.new_face.dialog) {
            Ok(Some(path)) => {
                self.new_face.path = path.display().to_string();
                self.project_new_face(&path);
            }
            Ok(None) => {}
            Err(note) => {
                self.new_face.window_open = true;
                self.new_face.note = Some(format!("{note} Type the image's path."));
            }
        }
        let Some(current) = &self.new_face.current else {
            return;
        };
        let Some(fit) = &self.fit else {
            if current.projection.is_some() {
                if let Some(c) = self.new_face.current.as_mut() {
                    c.projection = None;
                }
                self.new_face.recon.clear();
                self.new_face.residual.clear();
            }
            return;
        };
        let key = (fit.progress.fit_id, fit.progress.snapshot.iteration);
        let k_changed = current.projection.as_ref().is_none_or(|p| p.weights.len() != fit.k());
        let due = k_changed || !fit.is_running() || current.projected_at.elapsed() >= REPROJECT_INTERVAL;
        if current.projected_for == Some(key) || !due {
            if current.projected_for != Some(key) {
                self.ctx.request_repaint_after(REPROJECT_INTERVAL);
            }
            return;
        }
        match project_face(fit.progress.snapshot.w.view(), current.loaded.face.view(), &current.path) {
            Ok(p) => {
                if let Some(c) = self.new_face.current.as_mut() {
                    c.projected_for = Some(key);
                    c.projected_at = Instant::now();
                }
                self.set_projection(p);
            }
            Err(e) => {
                self.new_face.current = None;
                self.report_error(&anyhow::Error::new(e));
            }
        }
    }
}
