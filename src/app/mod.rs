//! Layer 4: the eframe desktop app. [`FaceNmfApp`] owns the settings, the
//! loaded faces, the [`Worker`] and the textures; `logic()` takes the
//! worker's latest update and updates textures, `ui()` draws the views in
//! [`crate::ui`].

use eframe::egui;

pub mod atlas;
mod export_job;
mod loading;
mod new_face;
pub mod settings;
mod state;
pub mod sweep;
pub mod teach;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::dataset::Dataset;
use crate::jobs::{CpuLease, Wake};
use crate::nmf::Params;
use crate::worker::Worker;

pub use loading::{LoadRequest, LoadedFaces};
pub use settings::{Settings, ThemeChoice, View};
pub use state::{Curve, Edits, FitView, Profile};

/// How the app starts.
#[derive(Default)]
pub struct AppOptions {
    /// Faces to open; `None` opens `folder`, or else the built-in set.
    pub dataset: Option<Dataset>,
    /// A folder to open (when no `dataset` is given).
    pub folder: Option<PathBuf>,
    /// Overrides the remembered k.
    pub k: Option<usize>,
    /// Overrides the remembered parameters (tests use fixed seeds and counts).
    pub params: Option<Params>,
    /// Overrides the remembered auto-run setting.
    pub auto_run: Option<bool>,
    /// Read the remembered settings (off in tests).
    pub restore_settings: bool,
}

/// The app. See the [module docs](self).
pub struct FaceNmfApp {
    pub settings: Settings,
    pub(crate) ctx: egui::Context,
    pub(crate) faces: Option<LoadedFaces>,
    pub(crate) worker: Option<Worker>,
    /// Leased by the heavy background jobs; the live fit pauses meanwhile.
    pub(crate) cpu: CpuLease,
    pub(crate) fit: Option<FitView>,
    pub(crate) curve: Curve,
    pub(crate) textures: state::Textures,
    pub(crate) selected_face: Option<usize>,
    pub(crate) selected_part: Option<usize>,
    pub(crate) edits: Option<Edits>,
    pub(crate) inspector_dirty: bool,
    /// The last error, shown in the status line.
    pub(crate) error: Option<String>,
    pub(crate) loading: loading::Loading,
    pub(crate) open_dialog: loading::OpenDialog,
    /// Faces of several sizes were found: offer to resize them.
    pub(crate) resize_offer: Option<loading::ResizeOffer>,
    /// What the current faces were loaded from, and their resize (to load
    /// them again when the preprocessing changes).
    pub(crate) current_load: Option<(LoadRequest, Option<(u32, u32)>)>,
    pub(crate) show_skipped: bool,
    pub(crate) profile: Profile,
    /// A fit has been asked for and has not reported its end yet.
    pub(crate) fit_requested: bool,
    /// The rank explorer's sweep.
    pub(crate) sweep: sweep::SweepState,
    /// An image outside the set, projected onto the basis.
    pub(crate) new_face: new_face::NewFaceState,
    /// The Export… window and its job.
    pub(crate) export: export_job::ExportState,
    /// The eigenfaces view's PCA and the solver race.
    pub(crate) teach: teach::Teach,
}

impl FaceNmfApp {
    /// Builds the app; with `restore_settings`, reads the remembered settings
    /// from eframe's storage.
    pub fn new(cc: &eframe::CreationContext<'_>, options: AppOptions) -> Self {
        let mut settings: Settings = if options.restore_settings {
            cc.storage.and_then(|s| eframe::get_value(s, eframe::APP_KEY)).unwrap_or_default()
        } else {
            Settings::default()
        };
        if let Some(p) = options.params {
            settings.params = p;
        }
        if let Some(k) = options.k {
            settings.params.k = k;
        }
        if let Some(a) = options.auto_run {
            settings.auto_run = a;
        }
        cc.egui_ctx.set_theme(settings.theme.preference());
        let mut app = FaceNmfApp {
            settings,
            ctx: cc.egui_ctx.clone(),
            faces: None,
            worker: None,
            cpu: CpuLease::new(),
            fit: None,
            curve: Curve::default(),
            textures: state::Textures::new(),
            selected_face: None,
            selected_part: None,
            edits: None,
            inspector_dirty: false,
            error: None,
            loading: loading::Loading::default(),
            open_dialog: loading::OpenDialog::default(),
            resize_offer: None,
            current_load: None,
            show_skipped: false,
            profile: Profile::from_env(),
            fit_requested: false,
            sweep: sweep::SweepState::default(),
            new_face: new_face::NewFaceState::default(),
            export: export_job::ExportState::default(),
            teach: teach::Teach::default(),
        };
        match (options.dataset, options.folder) {
            (Some(d), _) => app.install_dataset(d, None),
            (None, Some(folder)) => app.load(LoadRequest::Folder(folder)),
            (None, None) => app.load(LoadRequest::BuiltIn),
        }
        app
    }

    /// The loaded faces, if any.
    pub fn faces(&self) -> Option<&LoadedFaces> {
        self.faces.as_ref()
    }

    /// The latest fit state shown.
    pub fn fit(&self) -> Option<&FitView> {
        self.fit.as_ref()
    }

    /// True while a fit runs (or has been asked for).
    pub fn is_fitting(&self) -> bool {
        self.fit_requested || self.worker.as_ref().is_some_and(Worker::is_running)
    }

    /// True while faces are being loaded.
    pub fn is_loading(&self) -> bool {
        self.loading.is_busy()
    }

    pub fn selected_face(&self) -> Option<usize> {
        self.selected_face
    }

    /// The selected face's reconstruction as the inspector shows it: W times
    /// its weights (the edited ones, if any).
    pub fn inspected_reconstruction(&self) -> Option<ndarray::Array1<f32>> {
        let (fit, j) = (self.fit.as_ref()?, self.selected_face?);
        let weights = match &self.edits {
            Some(e) if e.face == j && e.weights.len() == fit.k() => ndarray::Array1::from(e.weights.clone()),
            _ => fit.weights(j),
        };
        Some(crate::nmf::reconstruct(fit.progress.snapshot.w.view(), weights.view()))
    }

    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Per-frame timings (when `FACENMF_PROFILE` is set).
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// Starts (or resumes) a fit with the current settings.
    pub fn run_fit(&mut self) {
        if let Some(w) = &mut self.worker {
            self.error = None;
            self.profile.run_clicked(Instant::now());
            w.run(self.settings.params.clone());
            self.fit_requested = true;
        }
    }

    /// Stops the fit; Run resumes it.
    pub fn stop_fit(&mut self) {
        if let Some(w) = &mut self.worker {
            w.stop();
        }
    }

    /// Forgets the fit.
    pub fn reset_fit(&mut self) {
        if let Some(w) = &mut self.worker {
            w.reset();
        }
    }

    /// Sets k; with a fit, re-fits at once from a warm start.
    pub fn set_k(&mut self, k: usize) {
        self.settings.params.k = k;
        if self.fit.is_some()
            && let Some(w) = &mut self.worker
        {
            self.error = None;
            w.set_k(self.settings.params.clone());
            self.fit_requested = true;
        }
    }

    /// Largest k the loaded faces allow: min(pixels, faces).
    pub fn max_k(&self) -> usize {
        self.faces.as_ref().map_or(1, |f| f.matrix.pixels().min(f.matrix.faces())).max(1)
    }

    /// Selects face `j` for the inspector.
    pub fn select_face(&mut self, j: usize) {
        if self.new_face.current.take().is_some() {
            self.inspector_dirty = true;
        }
        if self.selected_face != Some(j) {
            self.selected_face = Some(j);
            self.edits = None;
            self.inspector_dirty = true;
        }
    }

    /// Shows an error in the status line and logs it once.
    pub(crate) fn report_error(&mut self, err: &anyhow::Error) {
        let text = format!("{err:#}");
        if self.error.as_deref() != Some(text.as_str()) {
            log::warn!("{text}");
        }
        self.error = Some(text);
    }

    /// Takes freshly loaded faces: new worker data, textures, selection.
    pub(crate) fn install_dataset(&mut self, dataset: Dataset, folder: Option<PathBuf>) {
        let faces = match LoadedFaces::new(dataset) {
            Ok(f) => f,
            Err(e) => {
                self.report_error(&e);
                return;
            }
        };
        if let Some(folder) = &folder {
            self.settings.remember_folder(folder);
        }
        // The sweep and a new face belong to the old faces.
        self.sweep.resume_fit = false;
        self.cancel_sweep();
        self.sweep.points.clear();
        self.new_face.current = None;
        let max_k = faces.matrix.pixels().min(faces.matrix.faces());
        self.settings.params.k = self.settings.params.k.clamp(1, max_k.max(1));
        let data = Arc::clone(&faces.matrix);
        match &mut self.worker {
            // Updates about the old data are dropped by the handle.
            Some(w) => {
                w.set_data(data);
            }
            None => {
                let ctx = self.ctx.clone();
                // A snapshot needs one frame: egui turns a request with no
                // delay into two frames, one with a delay into one.
                let wake: Wake = Arc::new(move || ctx.request_repaint_after(Duration::from_millis(1)));
                match Worker::spawn(data, wake, self.cpu.clone()) {
                    Ok(w) => self.worker = Some(w),
                    Err(e) => {
                        self.report_error(&anyhow::Error::new(e).context("could not start the NMF worker thread"));
                    }
                }
            }
        }
        self.textures.set_faces(&self.ctx, &faces);
        self.faces = Some(faces);
        self.fit = None;
        self.curve = Curve::default();
        self.textures.clear_fit();
        self.selected_face = Some(0);
        self.selected_part = None;
        self.edits = None;
        self.inspector_dirty = true;
        self.error = None;
        self.fit_requested = false;
        if self.settings.auto_run {
            self.run_fit();
        }
    }

    /// Takes the worker's update; rebuilds the fit's textures at most once.
    fn drain_events(&mut self) {
        let Some(worker) = &mut self.worker else {
            return;
        };
        let update = worker.take_update();
        if !worker.is_busy() {
            self.fit_requested = false;
        }
        let Some(update) = update else {
            return;
        };
        for e in &update.errors {
            self.report_error(&anyhow::anyhow!(e.clone()));
        }
        let Some(p) = update.fit else {
            // No fit (Reset, new data, or a failed start).
            self.curve = Curve::default();
            if self.fit.take().is_some() {
                self.textures.clear_fit();
                self.edits = None;
                self.inspector_dirty = true;
            }
            return;
        };
        self.curve.update(&p, &update.history);
        if self.fit.as_ref().is_some_and(|f| Arc::ptr_eq(&f.progress, &p)) {
            // A command that changed nothing (the same snapshot).
            return;
        }
        let Some(faces) = &self.faces else {
            return;
        };
        let started = Instant::now();
        let k_changed = self.fit.as_ref().is_none_or(|f| f.k() != p.params.k);
        if k_changed {
            self.selected_part = None;
            self.edits = None;
        }
        let view = FitView::new(p, faces);
        let derived = started.elapsed();
        self.textures.set_fit(&self.ctx, faces, &view, self.settings.show_residual);
        self.fit = Some(view);
        self.inspector_dirty = true;
        self.profile.snapshot_shown(derived, started.elapsed() - derived);
    }

    /// Rebuilds the faces view's right-hand atlas when the residual toggle
    /// changed.
    fn refresh_faces_view(&mut self) {
        if let (Some(faces), Some(fit)) = (&self.faces, &self.fit)
            && self.textures.right_is_residual != self.settings.show_residual
        {
            self.textures.set_right(&self.ctx, faces, fit, self.settings.show_residual);
        }
    }

    fn refresh_inspector(&mut self) {
        if !self.inspector_dirty {
            return;
        }
        self.inspector_dirty = false;
        if let (Some(faces), Some(j)) = (&self.faces, self.selected_face) {
            let j = j.min(faces.dataset.faces().saturating_sub(1));
            self.textures.set_inspector(&self.ctx, faces, self.fit.as_ref(), j, self.edits.as_ref());
        }
    }
}

impl eframe::App for FaceNmfApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.profile.frame_started();
        let started = Instant::now();
        self.poll_loading();
        self.drain_events();
        self.poll_sweep();
        self.refresh_new_face();
        self.poll_export();
        self.refresh_inspector();
        self.refresh_faces_view();
        self.poll_teach();
        self.handle_input(ctx);
        self.profile.logic_done(started.elapsed());
        if self.loading.is_busy() {
            ctx.request_repaint_after(Duration::from_millis(100));
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let started = Instant::now();
        crate::ui::app_ui(self, ui);
        self.profile.ui_done(started.elapsed(), self.fit.as_ref().map(|f| f.progress.snapshot.iteration));
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.settings);
    }
}

/// Opens the app window (1280×800, titled "facenmf") on `dir`, or on the
/// built-in faces; `k` overrides the remembered number of parts.
pub fn run(dir: Option<PathBuf>, k: Option<usize>) -> anyhow::Result<()> {
    let viewport = egui::ViewportBuilder::default()
        .with_inner_size([1280.0, 800.0])
        .with_min_inner_size([800.0, 500.0])
        .with_title("facenmf")
        .with_drag_and_drop(true);
    // OpenGL rather than eframe's default wgpu: on a machine without a GPU
    // (Mesa's software rasteriser) a frame of this window costs about a sixth
    // of the CPU time with glow, time the solver keeps (README, Performance).
    let native = eframe::NativeOptions { viewport, renderer: eframe::Renderer::Glow, ..Default::default() };
    let options = AppOptions { folder: dir, k, restore_settings: true, ..Default::default() };
    eframe::run_native("facenmf", native, Box::new(move |cc| Ok(Box::new(FaceNmfApp::new(cc, options)))))
        .map_err(|e| anyhow::anyhow!("could not open the window: {e}"))
}
