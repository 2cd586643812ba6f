//! Layer 5: the eframe desktop app, the shell that joins the [`Model`] and
//! the [`Views`]. Each frame, `logic()` applies the actions the views
//! returned last frame, lets the model take in what its jobs reported, and
//! brings the views' textures up to date; `ui()` draws the views, which
//! return new actions. See ARCHITECTURE.md.

use eframe::egui;

mod profile;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::dataset::Dataset;
use crate::model::{Action, Faces, FitView, Model, Purpose};
use crate::nmf::Params;
use crate::ui::Views;

pub use crate::model::{LoadRequest, Settings, ThemeChoice, View};
pub use profile::{Profile, peak_rss_bytes};

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
    pub model: Model,
    pub views: Views,
    profile: Profile,
    /// How often the background's news (snapshots) may ask for a frame.
    pace: FramePace,
    /// What the views asked for in the last frame, applied in `logic()`.
    pending: Vec<Action>,
    /// Presentation mode as the window shows it, and the zoom it replaced.
    presenting: Option<f32>,
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
        cc.egui_ctx.set_theme(crate::ui::theme_preference(settings.theme));
        let ctx = cc.egui_ctx.clone();
        // A snapshot needs one frame: egui turns a request with no delay into
        // two frames, one with a delay into one.
        let pace = FramePace::default();
        let wake = {
            let pace = pace.clone();
            Arc::new(move || ctx.request_repaint_after(pace.delay()))
        };
        let mut model = Model::new(settings, wake);
        match (options.dataset, options.folder) {
            (Some(d), _) => model.install_dataset(d),
            (None, Some(folder)) => model.load_with(LoadRequest::Folder(folder), None),
            (None, None) => model.load_with(LoadRequest::BuiltIn, None),
        }
        FaceNmfApp {
            model,
            views: Views::default(),
            profile: Profile::from_env(),
            pace,
            pending: Vec::new(),
            presenting: None,
        }
    }

    /// The remembered settings.
    pub fn settings(&self) -> &Settings {
        &self.model.settings
    }

    /// The loaded faces, if any.
    pub fn faces(&self) -> Option<&Faces> {
        self.model.faces.as_ref()
    }

    /// The latest fit state shown.
    pub fn fit(&self) -> Option<&FitView> {
        self.model.fit()
    }

    /// True while the live fit runs (or has been asked to).
    pub fn is_fitting(&self) -> bool {
        self.model.is_fitting()
    }

    /// True while faces are being loaded.
    pub fn is_loading(&self) -> bool {
        self.model.is_loading()
    }

    pub fn selected_face(&self) -> Option<usize> {
        self.model.selected_face
    }

    /// The selected face's reconstruction as the inspector shows it: W times
    /// its weights (the edited ones, if any).
    pub fn inspected_reconstruction(&self) -> Option<ndarray::Array1<f32>> {
        self.views.inspector.reconstruction(&self.model)
    }

    pub fn error(&self) -> Option<&str> {
        self.model.error.as_deref()
    }

    /// Applies `action` as a click would (tests and the CLI use this).
    pub fn apply(&mut self, action: Action) {
        if action == Action::Run {
            self.profile.run_clicked(Instant::now());
        }
        self.model.apply(action);
    }

    /// Starts (or continues) a fit with the current settings.
    pub fn run_fit(&mut self) {
        self.apply(Action::Run);
    }

    /// Stops the fit; Run continues it.
    pub fn stop_fit(&mut self) {
        self.apply(Action::Stop);
    }

    /// Forgets the fit.
    pub fn reset_fit(&mut self) {
        self.apply(Action::Reset);
    }

    /// Sets k; with a fit, re-fits at once from a warm start.
    pub fn set_k(&mut self, k: usize) {
        self.apply(Action::SetK(k));
    }

    /// Starts loading faces in the background.
    pub fn load(&mut self, request: LoadRequest) {
        self.apply(Action::Load(request));
    }

    /// Ctrl+O, F5 (presentation mode; there Space runs or stops and →
    /// steps), and folders or images dropped on the window.
    fn input_actions(&mut self, ctx: &egui::Context) {
        let open = egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::O);
        if ctx.input_mut(|i| i.consume_shortcut(&open)) {
            self.pending.push(Action::Browse(Purpose::OpenFolder));
        }
        let present = egui::KeyboardShortcut::new(egui::Modifiers::NONE, egui::Key::F5);
        if ctx.input_mut(|i| i.consume_shortcut(&present)) {
            self.pending.push(Action::SetPresenting(!self.model.settings.presenting));
        }
        // No text field has the keys: Space and → drive the fit.
        if self.model.settings.presenting && ctx.memory(|m| m.focused().is_none()) {
            let space = egui::KeyboardShortcut::new(egui::Modifiers::NONE, egui::Key::Space);
            if ctx.input_mut(|i| i.consume_shortcut(&space)) {
                let stop = self.model.is_fitting() || self.model.live.is_paused();
                self.pending.push(if stop { Action::Stop } else { Action::Run });
            }
            let step = egui::KeyboardShortcut::new(egui::Modifiers::NONE, egui::Key::ArrowRight);
            if ctx.input_mut(|i| i.consume_shortcut(&step)) {
                self.pending.push(Action::Step);
            }
        }
        let dropped: Vec<PathBuf> = ctx.input(|i| i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect());
        if !dropped.is_empty() {
            self.pending.push(Action::Dropped(dropped));
        }
    }
}

impl FaceNmfApp {
    /// Brings the window in line with presentation mode: full screen and
    /// text half as large again while presenting, as it was after.
    fn show_presenting(&mut self, ctx: &egui::Context) {
        match (self.model.settings.presenting, self.presenting) {
            (true, None) => {
                let zoom = ctx.zoom_factor();
                self.presenting = Some(zoom);
                ctx.set_zoom_factor(zoom * PRESENTING_ZOOM);
                ctx.send_viewport_cmd(egui::ViewportCommand::Fullscreen(true));
            }
            (false, Some(zoom)) => {
                self.presenting = None;
                ctx.set_zoom_factor(zoom);
                ctx.send_viewport_cmd(egui::ViewportCommand::Fullscreen(false));
            }
            _ => {}
        }
    }

    /// True while the window is in presentation mode.
    pub fn is_presenting(&self) -> bool {
        self.presenting.is_some()
    }
}

/// Matrices of at least this many entries (13,000 faces of 64×64 have
/// 53 million; ORL 4 million) show a running fit's snapshots at most every
/// [`LARGE_SET_FRAME_INTERVAL`]: each iteration of such a fit takes tens of
/// milliseconds anyway, and without a GPU (Mesa's llvmpipe) every frame
/// costs about 25 ms of CPU that the solver would otherwise have.
const LARGE_SET_ENTRIES: usize = 20_000_000;
const LARGE_SET_FRAME_INTERVAL: Duration = Duration::from_millis(200);

/// When the background may next ask for a frame: at once for small sets,
/// at most every [`LARGE_SET_FRAME_INTERVAL`] for large ones (input still
/// draws at once; the latest snapshot is shown then).
#[derive(Clone, Default)]
struct FramePace(Arc<std::sync::Mutex<(Option<Instant>, bool)>>);

impl FramePace {
    /// A frame was drawn, for a matrix of `entries` pixels × faces.
    fn frame_drawn(&self, entries: usize) {
        if let Ok(mut p) = self.0.lock() {
            *p = (Some(Instant::now()), entries >= LARGE_SET_ENTRIES);
        }
    }

    /// How long a wake-up waits before its frame.
    fn delay(&self) -> Duration {
        let min = Duration::from_millis(1);
        match self.0.lock().map(|p| *p) {
            Ok((Some(last), true)) => LARGE_SET_FRAME_INTERVAL.saturating_sub(last.elapsed()).max(min),
            _ => min,
        }
    }
}

/// How much larger everything is drawn in presentation mode.
const PRESENTING_ZOOM: f32 = 1.5;

impl eframe::App for FaceNmfApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.profile.frame_started();
        let started = Instant::now();
        self.input_actions(ctx);
        for action in std::mem::take(&mut self.pending) {
            self.apply(action);
        }
        self.model.poll();
        self.show_presenting(ctx);
        if let Some(times) = self.views.sync(ctx, &self.model) {
            self.profile.snapshot_shown(times.derive, times.textures);
        }
        self.pace.frame_drawn(self.model.faces.as_ref().map_or(0, |f| f.matrix.pixels() * f.matrix.faces()));
        self.profile.logic_done(started.elapsed());
        if self.model.is_loading() || self.model.dialog_open().is_some() || self.model.winding_down() {
            ctx.request_repaint_after(Duration::from_millis(100));
        }
        if let Some(after) = self.model.repaint_after {
            ctx.request_repaint_after(after);
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let started = Instant::now();
        self.views.ui(ui, &self.model, &mut self.pending);
        if !self.pending.is_empty() {
            ui.ctx().request_repaint();
        }
        let iteration = self.model.fit().map(|f| f.progress.snapshot.iteration);
        self.profile.ui_done(started.elapsed(), iteration);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.model.settings);
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
