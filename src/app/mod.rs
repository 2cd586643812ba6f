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
    /// Overrides the remembered max_iter.
    pub max_iter: Option<usize>,
    /// Overrides the remembered tol.
    pub tol: Option<f64>,
    /// Overrides the remembered parameters (tests use fixed seeds and counts).
    pub params: Option<Params>,
    /// Overrides the remembered auto-run setting.
    pub auto_run: Option<bool>,
    /// Read the remembered settings (off in tests).
    pub restore_settings: bool,
    /// The memory a folder's pixel matrix may take (tests set a small
    /// one); `None`: half of the memory available (room for Aᵀ beside a
    /// small A; a large one is kept once, `FaceMatrix::new_lean`).
    pub memory_limit_bytes: Option<u64>,
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
    /// The picture screenshot waited for: its number, since when, and when
    /// the window was asked for it (None: its view is not ready yet).
    shot_wait: Option<(u64, Instant, Option<Instant>)>,
    /// Where the window's screenshot callback leaves the picture (numbered
    /// as the model's [`crate::model::PendingShot`]).
    shot_slot: crate::jobs::Latest<(u64, Arc<egui::ColorImage>)>,
}

/// How long the window may take to answer a screenshot command.
const SHOT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a view may take to be ready for its picture (the PCA).
const VIEW_TIMEOUT: Duration = Duration::from_secs(120);

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
        if let Some(m) = options.max_iter {
            settings.params.max_iter = m;
        }
        if let Some(t) = options.tol {
            settings.params.tol = t;
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
        model.memory_limit = options.memory_limit_bytes;
        match (options.dataset, options.folder) {
            (Some(d), _) => model.install_dataset(d),
            (None, Some(folder)) => model.load_with(LoadRequest::Folder(folder), None),
            (None, None) => model.load_with(LoadRequest::BuiltIn, None),
        }
        // eframe's own painter clears the window to `clear_color`; the
        // test harness (no GL context) clears to transparent.
        let views = Views { cleared_background: cc.gl.is_some(), ..Views::default() };
        FaceNmfApp {
            model,
            views,
            profile: Profile::from_env(),
            pace,
            pending: Vec::new(),
            presenting: None,
            shot_wait: None,
            shot_slot: Default::default(),
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
        let picture = egui::KeyboardShortcut::new(egui::Modifiers::COMMAND | egui::Modifiers::SHIFT, egui::Key::S);
        if ctx.input_mut(|i| i.consume_shortcut(&picture)) && self.model.fit().is_some() {
            self.views.open_picture_window(&self.model);
        }
        self.take_screenshots();
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

    /// The screenshot the window took for Save picture…, if it came:
    /// cropped to the view's rectangle and handed to the model.
    fn take_screenshots(&mut self) {
        if let Some((id, image)) = self.shot_slot.take() {
            self.screenshot_taken(id, &image);
        }
    }

    /// Hands screenshot `id` of the whole window to the model, cropped to
    /// the view the pending picture shows (what the window's screenshot
    /// callback leads to; tests call it with a made-up screenshot, as the
    /// test harness takes none).
    pub fn screenshot_taken(&mut self, id: u64, image: &egui::ColorImage) {
        let Some(shot) = self.model.picture.shot.as_ref().filter(|s| s.id == id) else { return };
        self.shot_wait = None;
        let rect = self.views.regions.rect(shot.request.what);
        match rect.zip(self.views.regions.window) {
            Some((rect, window)) => {
                // Pixels per point as the screenshot has them.
                let ppp = image.size[0] as f32 / window.width().max(1.0);
                let image = Arc::new(crop_screenshot(image, rect, ppp));
                self.pending.push(Action::PictureTaken { id, image, pixels_per_point: ppp });
            }
            None => {
                let why = format!("{} is not on screen", shot.request.what.name());
                self.pending.push(Action::PictureNotTaken { id, why });
            }
        }
    }

    /// The screenshot the model waits for, if any (its number).
    pub fn pending_screenshot(&self) -> Option<u64> {
        self.model.picture.shot.as_ref().map(|s| s.id)
    }

    /// Asks the window for the screenshot the model wants (once), or gives
    /// up on it when the window does not answer.
    fn request_screenshot(&mut self, ctx: &egui::Context) {
        let Some(shot) = self.model.picture.shot.as_ref() else {
            self.shot_wait = None;
            return;
        };
        let (id, what) = (shot.id, shot.request.what);
        if self.shot_wait.map(|w| w.0) != Some(id) {
            self.shot_wait = Some((id, Instant::now(), None));
        }
        let Some((_, since, sent)) = self.shot_wait else { return };
        // The view must have been drawn (its rectangle known) and be done
        // (the eigenfaces view's PCA computed).
        let ready = self.views.regions.rect(what).is_some() && self.model.picture_ready(what);
        match sent {
            Some(at) if at.elapsed() > SHOT_TIMEOUT => {
                let why = "the window did not give a screenshot".to_string();
                self.pending.push(Action::PictureNotTaken { id, why });
                self.shot_wait = None;
            }
            Some(_) => ctx.request_repaint_after(Duration::from_millis(50)),
            None if ready => {
                let (slot, wake) = (self.shot_slot.clone(), ctx.clone());
                ctx.request_screenshot(move |image| {
                    slot.put((id, image));
                    wake.request_repaint();
                });
                self.shot_wait = Some((id, since, Some(Instant::now())));
                ctx.request_repaint();
            }
            None if since.elapsed() > VIEW_TIMEOUT => {
                let why = format!("{} was not ready after {} s", what.name(), VIEW_TIMEOUT.as_secs());
                self.pending.push(Action::PictureNotTaken { id, why });
                self.shot_wait = None;
            }
            None => ctx.request_repaint_after(Duration::from_millis(50)),
        }
    }
}

/// The part of a window screenshot inside `rect` (points; the screenshot
/// has `pixels_per_point` pixels per point), as an RGBA image. A rectangle
/// reaching outside the screenshot is cut to it.
pub fn crop_screenshot(image: &egui::ColorImage, rect: egui::Rect, pixels_per_point: f32) -> image::RgbaImage {
    let [w, h] = image.size;
    let to_px = |v: f32, max: usize| ((v * pixels_per_point).round().max(0.0) as usize).min(max);
    let (x0, x1) = (to_px(rect.min.x, w), to_px(rect.max.x, w));
    let (y0, y1) = (to_px(rect.min.y, h), to_px(rect.max.y, h));
    let (cw, ch) = (x1.saturating_sub(x0), y1.saturating_sub(y0));
    image::RgbaImage::from_fn(cw as u32, ch as u32, |x, y| {
        let c = image.pixels.get((y0 + y as usize) * w + x0 + x as usize).copied().unwrap_or_default();
        image::Rgba(c.to_srgba_unmultiplied())
    })
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
        self.request_screenshot(ui.ctx());
        if !self.pending.is_empty() {
            ui.ctx().request_repaint();
        }
        let iteration = self.model.fit().map(|f| f.progress.snapshot.iteration);
        self.profile.ui_done(started.elapsed(), iteration);
    }

    /// The panels' colour: with [`Views::cleared_background`] the clear is
    /// their fill.
    fn clear_color(&self, visuals: &egui::Visuals) -> [f32; 4] {
        visuals.panel_fill.to_normalized_gamma_f32()
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.model.settings);
    }
}

/// Opens the app window (1280×800, titled "facenmf") on `options`: the
/// command line's folder (else the built-in faces) and its overrides of
/// the remembered settings (k, max_iter, tol).
pub fn run(options: AppOptions) -> anyhow::Result<()> {
    if options.max_iter == Some(0) {
        anyhow::bail!("--max-iter must be at least 1");
    }
    if let Some(t) = options.tol
        && !(t.is_finite() && t >= 0.0)
    {
        anyhow::bail!("--tol must be a number ≥ 0, got {t}");
    }
    return_freed_blocks();
    let viewport = egui::ViewportBuilder::default()
        .with_inner_size([1280.0, 800.0])
        .with_min_inner_size([800.0, 500.0])
        .with_title("facenmf")
        .with_drag_and_drop(true);
    // OpenGL rather than eframe's default wgpu: on a machine without a GPU
    // (Mesa's software rasteriser) a frame of this window costs about a sixth
    // of the CPU time with glow, time the solver keeps (README, Performance).
    let native = eframe::NativeOptions { viewport, renderer: eframe::Renderer::Glow, ..Default::default() };
    let options = AppOptions { restore_settings: true, ..options };
    eframe::run_native("facenmf", native, Box::new(move |cc| Ok(Box::new(FaceNmfApp::new(cc, options)))))
        .map_err(|e| anyhow::anyhow!("could not open the window: {e}"))
}

/// Big blocks (from 128 KiB) get pages of their own, given back when the
/// block is freed. glibc's default raises that threshold, up to 32 MiB,
/// each time such a block is freed, and from then on keeps freed blocks of
/// that size in its arenas (one per thread): the fit's snapshots (W and H
/// copied about ten times a second, 2.5 MB of H at 13,000 faces, 9.8 MB at
/// 50,000), the thumbnails' images and the decoded files then stay resident
/// after they are freed, and count in the peak RSS beside A and Aᵀ
/// (measured: 30 MB of the peak at 13,000 faces, 59 MB at 50,000; README,
/// Large sets).
///
/// Fixing that threshold also fixes the one below which the top of the
/// main heap is kept rather than given back (128 KiB). The GL driver's
/// vertex buffers, allocated and freed every frame on the UI thread, then
/// moved it up and down about a thousand times a second (`brk`), and each
/// shrink made the kernel flush the other cores' TLBs, the solver's among
/// them (`strace -c`: 12,287 `brk` calls in 10 s of a 13,000-face fit; UI
/// thread CPU per frame 3.5 ms before, 2.4 ms after). Up to
/// [`KEPT_HEAP_TOP_BYTES`] of it is now kept.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_freed_blocks() {
    // SAFETY: mallopt only changes a setting of glibc's allocator; it is
    // called before the window and its threads exist.
    unsafe {
        let _ = libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        let _ = libc::mallopt(libc::M_TRIM_THRESHOLD, KEPT_HEAP_TOP_BYTES);
    }
}

/// Free memory at the top of a heap kept for the next allocations rather
/// than given back to the system (see [`return_freed_blocks`]).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const KEPT_HEAP_TOP_BYTES: libc::c_int = 16 << 20;

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_freed_blocks() {}
