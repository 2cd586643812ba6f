//! Layer 4: the app's model, apart from the views and free of egui. It owns
//! the settings, the loaded faces, the live fit and every background job
//! (loading, dialogs, sweep, race, PCA, export), all through
//! [`crate::jobs`]. Views read it and return [`Action`]s; [`Model::apply`]
//! carries them out and [`Model::poll`] takes in what the jobs report, once
//! per frame. The model never imports a view.

pub mod action;
pub mod cover;
pub mod dialog;
pub mod export;
pub mod fit;
pub mod live;
pub mod loading;
pub mod new_face;
pub mod pca;
pub mod picture;
pub mod pin;
pub mod preset;
pub mod race;
pub mod settings;
pub mod sweep;
pub mod thumb;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use action::Action;
pub use dialog::{Answer, Purpose};
pub use fit::{Curve, FitView};
pub use live::LiveFit;
pub use loading::{Faces, LoadRequest, ResizeOffer};
pub use new_face::NewFace;
pub use pca::{PcaKey, PcaResult, PcaState};
pub use picture::{PendingShot, PictureRequest, PictureState, PictureWhat};
pub use pin::Pinned;
pub use preset::Preset;
pub use race::{Outcome, Race, race_name};
pub use settings::{Pace, Settings, ThemeChoice, View};
pub use sweep::SweepState;

use crate::dataset::{Dataset, LoadOptions};
use crate::jobs::{CpuLease, Retired, Wake};
use crate::nmf::{Params, Solver};
use crate::worker::FitState;
use loading::{LoadJob, Loaded};

/// The model. See the [module docs](self).
pub struct Model {
    pub settings: Settings,
    wake: Wake,
    /// Held by the sweep, the race, the PCA and exports; the live fit pauses
    /// while it is held and goes on after.
    lease: CpuLease,
    pub faces: Option<Faces>,
    pub live: LiveFit,
    pub selected_face: Option<usize>,
    pub selected_part: Option<usize>,
    /// An image outside the set, projected onto the basis.
    pub new_face: Option<NewFace>,
    /// A fit kept beside the live one, to compare.
    pub pinned: Option<Pinned>,
    /// The last cover image read, for the inspector to take once.
    pub cover: Option<cover::LoadedCover>,
    /// The last error, shown in the status line.
    pub error: Option<String>,
    /// A note for the status line (something the app changed on its own).
    pub note: Option<String>,
    /// The status line's warning that parts of the fit are all zero.
    pub zeroed_warning: Option<String>,
    /// The fit (id) whose zeroed parts were last logged.
    zeroed_logged: Option<u64>,
    loading: Option<(String, LoadJob)>,
    /// Faces of several sizes were found, or too many for memory: offer to
    /// resize them.
    pub resize_offer: Option<ResizeOffer>,
    /// The memory a folder's pixel matrix and its transpose may take
    /// together; `None`: half of the memory available (tests set a small
    /// one).
    pub memory_limit: Option<u64>,
    /// What the current faces were loaded from, and their resize (to load
    /// them again when the preprocessing changes).
    current_load: Option<(LoadRequest, Option<(u32, u32)>)>,
    dialog: Option<dialog::Dialog>,
    /// The last answer of a native dialog, numbered (views take what is
    /// theirs once).
    pub dialog_answer: Option<(u64, Purpose, Answer)>,
    pub sweep: SweepState,
    pub race: Race,
    pub pca: PcaState,
    pub export: export::ExportState,
    /// Save picture…: a screenshot to take, the file being written.
    pub picture: PictureState,
    /// Ask for a frame after this delay (a projection due later).
    pub repaint_after: Option<Duration>,
    /// Loads and PCAs overtaken by newer ones, winding down.
    retired: Retired,
}

impl Model {
    /// A model with `settings`; `wake` is called from background threads
    /// when they have news.
    pub fn new(settings: Settings, wake: Wake) -> Self {
        Model {
            settings,
            wake,
            lease: CpuLease::default(),
            faces: None,
            live: LiveFit::default(),
            selected_face: None,
            selected_part: None,
            new_face: None,
            pinned: None,
            cover: None,
            error: None,
            note: None,
            zeroed_warning: None,
            zeroed_logged: None,
            loading: None,
            resize_offer: None,
            memory_limit: None,
            current_load: None,
            dialog: None,
            dialog_answer: None,
            sweep: SweepState::default(),
            race: Race::default(),
            pca: PcaState::default(),
            export: export::ExportState::default(),
            picture: PictureState::default(),
            repaint_after: None,
            retired: Retired::default(),
        }
    }

    /// The fit the views show: the latest snapshot of the live fit, or the
    /// kept one the timeline was scrubbed to.
    pub fn fit(&self) -> Option<&FitView> {
        self.live.shown()
    }

    /// True while the views show a kept snapshot, not the live fit.
    pub fn is_replaying(&self) -> bool {
        self.live.scrub.is_some()
    }

    /// The pinned fit, if it belongs to the faces open.
    pub fn pinned(&self) -> Option<&Pinned> {
        let generation = self.faces.as_ref()?.generation;
        self.pinned.as_ref().filter(|p| p.faces_generation == generation)
    }

    /// True while the live fit runs or has been asked to (not while paused).
    pub fn is_fitting(&self) -> bool {
        self.live.is_fitting()
    }

    /// True while faces are being loaded.
    pub fn is_loading(&self) -> bool {
        self.loading.is_some()
    }

    /// What is being loaded, for the status line.
    pub fn loading_what(&self) -> Option<&str> {
        self.loading.as_ref().map(|(what, _)| what.as_str())
    }

    /// True while overtaken jobs are still ending (polled until they have).
    pub fn winding_down(&self) -> bool {
        !self.retired.is_empty()
    }

    /// True while a native dialog is open.
    pub fn dialog_open(&self) -> Option<Purpose> {
        self.dialog.as_ref().map(|d| d.purpose)
    }

    /// Largest k the loaded faces allow: min(pixels, faces).
    pub fn max_k(&self) -> usize {
        self.faces.as_ref().map_or(1, Faces::max_k)
    }

    /// The k the eigenfaces view compares at: the fit's, else the chosen one.
    pub fn eigen_k(&self) -> usize {
        self.fit().map_or(self.settings.params.k, FitView::k).clamp(1, self.max_k())
    }

    /// What the eigenfaces view needs a PCA of now, if faces are loaded.
    pub fn pca_key(&self) -> Option<PcaKey> {
        let faces = self.faces.as_ref()?;
        Some(PcaKey { data: Arc::clone(&faces.matrix), k: self.eigen_k(), seed: self.settings.params.seed })
    }

    /// Shows an error in the status line and logs it once.
    pub fn report_error(&mut self, err: &anyhow::Error) {
        let text = format!("{err:#}");
        if self.error.as_deref() != Some(text.as_str()) {
            log::warn!("{text}");
        }
        self.error = Some(text);
    }

    fn fail(&mut self, message: impl std::fmt::Display) {
        self.report_error(&anyhow::anyhow!("{message}"));
    }

    /// Carries out what a view asked for.
    pub fn apply(&mut self, action: Action) {
        match action {
            Action::Run => self.run_fit(),
            Action::Stop => self.live.stop(),
            Action::Reset => self.reset_fit(),
            Action::Step => {
                if self.faces.is_some() {
                    self.error = None;
                    self.live.step(self.settings.params.clone());
                }
            }
            Action::SetPace(pace) => {
                self.settings.pace = pace;
                self.live.set_pace(pace.per_sec());
            }
            Action::Scrub(at) => self.live.scrub(at),
            Action::Pin => self.pin(),
            Action::Unpin => self.pinned = None,
            Action::SetPresenting(on) => self.settings.presenting = on,
            Action::SetK(k) => self.set_k(k),
            Action::SetParams(p) => self.set_params(p),
            Action::SetSparseness(s) => self.set_sparseness(s),
            Action::ApplyPreset(preset) => self.apply_preset(preset),
            Action::SetAutoRun(on) => self.settings.auto_run = on,
            Action::SetShowResidual(on) => self.settings.show_residual = on,
            Action::SetTheme(t) => self.settings.theme = t,
            Action::SetView(v) => self.settings.view = v,
            Action::SetPreprocess(p) => {
                if p != self.settings.preprocess {
                    self.settings.preprocess = p;
                    if let Some((request, resize)) = self.current_load.clone() {
                        self.load_with(request, resize);
                    }
                }
            }
            Action::SetReshape(r) => {
                if r != self.settings.reshape {
                    self.settings.reshape = r;
                    if let Some(path) =
                        self.new_face.as_ref().filter(|f| f.loaded.resized_from.is_some()).map(|f| f.path.clone())
                    {
                        self.project_new_face(&path);
                    }
                }
            }
            Action::Load(request) => self.load_with(request, None),
            Action::LoadResized { request, width, height } => self.load_with(request, Some((width, height))),
            Action::DismissResizeOffer => self.resize_offer = None,
            Action::OpenTypedFolder(path) => {
                if path.is_dir() {
                    self.load_with(LoadRequest::Folder(path), None);
                } else {
                    self.fail(format_args!("{} is not a folder", crate::dataset::display_name(&path)));
                }
            }
            Action::Dropped(paths) => self.open_dropped(&paths),
            Action::Browse(purpose) => self.browse(purpose),
            Action::SelectFace(j) => self.select_face(j),
            Action::SelectPart(c) => self.selected_part = c.filter(|&c| self.fit().is_some_and(|f| c < f.k())),
            Action::StartSweep { ks, max_iter, validation } => self.start_sweep(ks, max_iter, validation),
            Action::CancelSweep => self.sweep.cancel(),
            Action::SaveRankTable { path, overwrite } => self.save_rank_table(&path, overwrite),
            Action::CancelRankTableConfirm => self.sweep.table_confirm = None,
            Action::OpenSweepPoint(i) => self.open_sweep_point(i),
            Action::StartRace { budget_secs } => self.start_race(budget_secs),
            Action::StopRace => self.race.stop("Stop pressed"),
            Action::ProjectFace(path) => self.project_new_face(&path),
            Action::CloseNewFace => self.new_face = None,
            Action::Export { dir, overwrite } => self.export_to(&dir, overwrite),
            Action::CancelExportConfirm => self.export.confirm = None,
            Action::LoadCover(path) => self.load_cover(&path),
            Action::SavePicture { request, overwrite } => self.save_picture(request, overwrite),
            Action::CancelPictureConfirm => self.picture.confirm = None,
            Action::PictureTaken { id, image, pixels_per_point } => self.picture_taken(id, image, pixels_per_point),
            Action::PictureNotTaken { id, why } => {
                if self.picture.shot.as_ref().is_some_and(|s| s.id == id) {
                    self.picture.shot = None;
                    self.fail(format_args!("{why}; the picture was not saved"));
                }
            }
            Action::ReportError(e) => self.fail(e),
        }
    }

    /// Takes in what the background jobs report (once per frame).
    pub fn poll(&mut self) {
        self.repaint_after = None;
        self.retired.reap();
        self.poll_loading();
        self.poll_dialog();
        for e in self.live.poll() {
            self.fail(e);
        }
        self.check_zeroed();
        if let Some(fit) = self.live.fit.as_ref()
            && self.selected_part.is_some_and(|c| c >= fit.k())
        {
            self.selected_part = None;
        }
        if let Some(e) = self.sweep.poll() {
            self.fail(e);
        }
        self.poll_race();
        self.poll_pca();
        if let Some(e) = self.export.poll() {
            self.fail(e);
        }
        if let Some(e) = self.picture.poll() {
            self.fail(e);
        }
        if self.export.notice.is_some() && self.live.fit.as_ref().map(|f| f.progress.fit_id) != self.export.notice_fit {
            self.export.notice = None;
        }
        self.refresh_new_face();
    }

    /// Starts (or continues) the live fit with the current settings.
    pub fn run_fit(&mut self) {
        self.error = None;
        self.live.run(self.settings.params.clone());
    }

    /// Starts over: forgets the fit; one that was running starts again
    /// from the initialisation.
    pub fn reset_fit(&mut self) {
        let running = self.is_fitting();
        self.live.reset();
        if running {
            self.run_fit();
        }
    }

    /// Pins the fit shown, to compare the next ones with it.
    fn pin(&mut self) {
        let (Some(faces), Some(fit)) = (&self.faces, self.fit()) else {
            return self.fail("nothing to pin: run a fit first");
        };
        self.pinned = Some(Pinned::new(fit, &self.live.curve, faces.generation));
        self.note = Some("pinned: now change the settings and fit again to compare".into());
    }

    /// Sets k; with a fit, re-fits at once from a warm start.
    pub fn set_k(&mut self, k: usize) {
        if k == 0 || k > self.max_k() {
            self.fail(format_args!("k = {k} is out of range: these faces allow k from 1 to {}", self.max_k()));
            return;
        }
        self.settings.params.k = k;
        self.refit_now();
    }

    /// Keeps [`Self::zeroed_warning`] up to date with the fit shown; logs it
    /// once per fit, when the fit stops.
    fn check_zeroed(&mut self) {
        let Some(fit) = self.live.fit.as_ref() else {
            self.zeroed_warning = None;
            return;
        };
        if fit.zeroed.parts == 0 {
            self.zeroed_warning = None;
            return;
        }
        self.zeroed_warning = fit.zeroed_warning();
        let id = fit.progress.fit_id;
        if fit.progress.state.is_stopped()
            && self.zeroed_logged != Some(id)
            && let Some(w) = &self.zeroed_warning
        {
            log::warn!("{w}");
            self.zeroed_logged = Some(id);
        }
    }

    /// Solver, init, stopping rules, seed and penalties, applied on the next
    /// Run; k and the sparseness are left alone (they apply at once), except
    /// that a solver other than HALS turns the sparseness off, with a note.
    fn set_params(&mut self, p: Params) {
        let kept = &self.settings.params;
        let mut p = Params { k: kept.k, sparseness_w: kept.sparseness_w, sparseness_h: kept.sparseness_h, ..p };
        if p.solver != Solver::Hals && p.is_sparse() {
            p.sparseness_w = None;
            p.sparseness_h = None;
            self.note = Some(format!("sparseness of parts needs the HALS solver: turned off for {}", p.solver));
        }
        self.settings.params = p;
    }

    /// Holds every basis image at Hoyer sparseness `s` (None: plain NMF);
    /// with a fit, re-fits at once from a warm start. Needs HALS.
    pub fn set_sparseness(&mut self, s: Option<f32>) {
        if let Some(v) = s
            && !(v.is_finite() && (0.0..1.0).contains(&v))
        {
            self.fail(format_args!("sparseness {v} is out of range: it must be at least 0 and below 1"));
            return;
        }
        if s.is_some() && self.settings.params.solver != Solver::Hals {
            let solver = self.settings.params.solver;
            self.fail(format_args!("sparseness of parts needs the HALS solver, not {solver}: choose hals first"));
            return;
        }
        if s == self.settings.params.sparseness_w {
            return;
        }
        self.settings.params.sparseness_w = s;
        self.refit_now();
    }

    /// Applies `preset` to the open faces: continues the fit from a warm
    /// start, or starts one.
    pub fn apply_preset(&mut self, preset: Preset) {
        let max_k = self.max_k();
        self.settings.params = preset.params(&self.settings.params, max_k);
        self.note = (self.settings.params.k < preset.k()).then(|| {
            format!("{}: these faces allow k up to {max_k}, so k = {max_k} instead of {}", preset.name(), preset.k())
        });
        if self.faces.is_none() {
            return;
        }
        if self.live.fit.is_some() {
            self.refit_now();
        } else {
            self.run_fit();
        }
    }

    /// With a fit, re-fits at once from its factors with the current
    /// settings.
    fn refit_now(&mut self) {
        if self.live.fit.is_some() {
            self.error = None;
            self.live.warm_start(self.settings.params.clone());
        }
    }

    /// Selects face `j` for the inspector (and leaves a new face).
    pub fn select_face(&mut self, j: usize) {
        let n = self.faces.as_ref().map_or(0, Faces::count);
        if j < n {
            self.new_face = None;
            self.selected_face = Some(j);
        }
    }

    /// Takes faces: new worker data, selection; what belonged to the old
    /// faces (sweep, race, new face) is dropped.
    pub fn install_faces(&mut self, faces: Faces, folder: Option<PathBuf>) {
        if let Some(folder) = &folder {
            self.settings.remember_folder(folder);
        }
        self.sweep.clear();
        if self.race.is_active() {
            self.race.abandon("the faces changed");
        }
        self.race.lanes.clear();
        self.new_face = None;
        self.export.confirm = None;
        self.export.notice = None;
        let max_k = faces.max_k();
        self.note = None;
        if self.settings.params.k > max_k {
            self.note = Some(format!(
                "k = {} is more than these faces allow (min(pixels, faces) = {max_k}): k set to {max_k}",
                self.settings.params.k
            ));
            self.settings.params.k = max_k;
        }
        if let Err(e) = self.live.set_data(Arc::clone(&faces.matrix), Arc::clone(&self.wake), &self.lease) {
            self.report_error(&anyhow::Error::new(e).context("could not start the NMF worker thread"));
        }
        self.live.set_pace(self.settings.pace.per_sec());
        self.pinned = None;
        self.faces = Some(faces);
        self.selected_face = Some(0);
        self.selected_part = None;
        self.error = None;
        if self.settings.auto_run {
            self.run_fit();
        }
    }

    /// Takes a data set made elsewhere (tests, the CLI's `gui DIR` with a
    /// built set).
    pub fn install_dataset(&mut self, dataset: Dataset) {
        match Faces::new(dataset) {
            Ok(faces) => self.install_faces(faces, None),
            Err(e) => self.report_error(&e),
        }
    }

    /// Starts loading in the background, resizing every face to `resize`
    /// if given, with the preprocessing of the settings.
    pub fn load_with(&mut self, request: LoadRequest, resize: Option<(u32, u32)>) {
        self.resize_offer = None;
        let what = request.describe();
        match loading::spawn_load(request, resize, self.settings.preprocess, self.memory_limit, Arc::clone(&self.wake))
        {
            Ok(job) => {
                // A load still running is overtaken: it ends on its own.
                if let Some((_, old)) = self.loading.replace((what, job)) {
                    self.retired.retire(old);
                }
            }
            Err(e) => self.report_error(&anyhow::Error::new(e).context("cannot start loading")),
        }
    }

    fn poll_loading(&mut self) {
        let Some((_, job)) = self.loading.as_mut() else {
            return;
        };
        let Some(end) = job.poll() else {
            return;
        };
        self.loading = None;
        let Loaded { request, resize, result } = match end {
            Ok(loaded) => loaded,
            Err(e) => return self.report_error(&anyhow::Error::new(e).context("loading failed")),
        };
        match result {
            Ok(faces) => {
                let folder = match &request {
                    LoadRequest::Folder(p) => Some(p.clone()),
                    _ => None,
                };
                self.current_load = Some((request, resize));
                self.install_faces(faces, folder);
            }
            Err(e) => {
                let message = format!("{e:#}");
                if let Some((width, height)) = loading::mixed_sizes(&e) {
                    self.resize_offer =
                        Some(ResizeOffer { too_large: false, scale: None, request, width, height, message });
                } else if let Some((width, height)) = loading::fitting_size(&e) {
                    let scale = loading::suggested_scale(&e);
                    self.resize_offer = Some(ResizeOffer { too_large: true, scale, request, width, height, message });
                }
                self.report_error(&e);
            }
        }
    }

    fn browse(&mut self, purpose: Purpose) {
        if self.dialog.is_some() {
            return;
        }
        let start = self.settings.last_folder.clone();
        match dialog::Dialog::open(purpose, start, Arc::clone(&self.wake)) {
            Ok(d) => self.dialog = Some(d),
            Err(answer) => self.answer_dialog(purpose, answer),
        }
    }

    fn poll_dialog(&mut self) {
        let Some(d) = self.dialog.as_mut() else {
            return;
        };
        let Some(answer) = d.poll() else {
            return;
        };
        let purpose = d.purpose;
        self.dialog = None;
        self.answer_dialog(purpose, answer);
    }

    /// A dialog's answer: folders open and images are projected at once;
    /// the views see every answer (to fill their path fields or say why
    /// they must be typed).
    fn answer_dialog(&mut self, purpose: Purpose, answer: Answer) {
        if let Answer::Picked(path) = &answer {
            match purpose {
                Purpose::OpenFolder => self.load_with(LoadRequest::Folder(path.clone()), None),
                Purpose::ProjectImage => self.project_new_face(path),
                Purpose::CoverImage => self.load_cover(path),
                Purpose::ExportFolder | Purpose::SavePicture => {}
            }
        }
        let n = self.dialog_answer.as_ref().map_or(0, |(n, _, _)| n + 1);
        self.dialog_answer = Some((n, purpose, answer));
    }

    /// Folders or images dropped on the window (one image, with a fit, is
    /// projected as a new face).
    fn open_dropped(&mut self, paths: &[PathBuf]) {
        let paths: Vec<PathBuf> = paths.iter().filter(|p| !p.as_os_str().is_empty()).cloned().collect();
        match paths.as_slice() {
            [] => {}
            [one] if one.is_dir() => self.load_with(LoadRequest::Folder(one.clone()), None),
            [one] if one.is_file() && self.fit().is_some() => self.project_new_face(one),
            many => {
                let files: Vec<PathBuf> = many.iter().filter(|p| p.is_file()).cloned().collect();
                if let Some(dir) = many.iter().find(|p| p.is_dir()) {
                    self.load_with(LoadRequest::Folder(dir.clone()), None);
                } else if files.is_empty() {
                    self.fail("nothing to open in what was dropped");
                } else {
                    self.load_with(LoadRequest::Files(files), None);
                }
            }
        }
    }

    fn start_sweep(&mut self, ks: Vec<usize>, max_iter: usize, validation: crate::nmf::sweep::Validation) {
        let Some(faces) = &self.faces else {
            return self.fail("open faces before sweeping over k");
        };
        if self.race.is_active() {
            return self.fail("a solver race is running: stop it before sweeping over k");
        }
        if let Some(&k) = ks.iter().find(|&&k| k == 0 || k > faces.max_k()) {
            return self.fail(format_args!("k = {k} is out of range: these faces allow k up to {}", faces.max_k()));
        }
        let data = Arc::clone(&faces.matrix);
        let base = Params { max_iter: max_iter.max(1), ..self.settings.params.clone() };
        if let Err(e) = validation.check() {
            return self.fail(format_args!("cannot start the sweep: {e}"));
        }
        if validation.cv_folds > 0 && base.solver == crate::nmf::Solver::Kl {
            return self.fail(
                "cross-validation needs a squared-error solver (hals or mu): set the folds to 0 or pick another solver",
            );
        }
        self.sweep.paused_live_fit = self.is_fitting();
        match self.sweep.start(data, ks, base, validation, Arc::clone(&self.wake), &self.lease) {
            Ok(()) => self.error = None,
            Err(e) => self.report_error(&anyhow::Error::new(e).context("could not start the sweep")),
        }
    }

    /// Saves the rank table; an existing file is kept, and the question
    /// whether to replace it asked, unless `overwrite`.
    fn save_rank_table(&mut self, path: &std::path::Path, overwrite: bool) {
        self.sweep.table_confirm = None;
        if self.sweep.points.is_empty() {
            return self.fail("the rank table is empty: run a sweep first");
        }
        let rows: Vec<crate::export::RankRow> = self.sweep.points.iter().map(crate::export::RankRow::new).collect();
        let suggestion = crate::nmf::sweep::suggest_k(&self.sweep.points);
        match crate::export::save_rank_table(path, &rows, suggestion.as_ref(), overwrite) {
            Ok(()) => {
                self.error = None;
                self.note = Some(format!(
                    "Saved the rank table ({}) to {}",
                    crate::dataset::count_of(rows.len(), "rank"),
                    crate::dataset::display_name(path)
                ));
            }
            Err(crate::export::ExportError::Exists { path }) => self.sweep.table_confirm = Some(path),
            Err(e) => self.report_error(&anyhow::Error::new(e)),
        }
    }

    /// Opens rank `index` of the sweep in the explorer, exactly as the sweep
    /// left it: its W, H and iteration count, stopped.
    fn open_sweep_point(&mut self, index: usize) {
        let (Some(point), Some(params)) = (self.sweep.points.get(index), &self.sweep.params) else {
            return;
        };
        // The sweep's own iteration limit stays the sweep's: the live fit
        // keeps the max_iter of the settings.
        let params = Params { k: point.k, max_iter: self.settings.params.max_iter, ..params.clone() };
        self.live.adopt(params.clone(), point.w.clone(), point.h.clone(), point.history.clone());
        self.sweep.opened_k = Some(params.k);
        self.settings.params.k = params.k;
        self.settings.view = View::Explorer;
        self.error = None;
    }

    fn start_race(&mut self, budget_secs: f64) {
        let Some(faces) = &self.faces else {
            return self.fail("open some faces before starting a race");
        };
        if self.sweep.is_running() {
            return self.fail("a rank sweep is running: cancel it before starting a race");
        }
        let (lo, hi) = (*race::BUDGET_RANGE_SECS.start(), *race::BUDGET_RANGE_SECS.end());
        if !(lo..=hi).contains(&budget_secs) {
            return self.fail(format_args!("a race budget of {budget_secs} s is out of range ({lo} to {hi} s)"));
        }
        let data = Arc::clone(&faces.matrix);
        self.race.paused_live_fit = self.is_fitting();
        let params = self.settings.params.clone();
        if let Err(e) = self.race.start(data, params, budget_secs, Arc::clone(&self.wake), &self.lease) {
            self.report_error(&anyhow::Error::new(e).context("could not start the race"));
        }
    }

    fn poll_race(&mut self) {
        let current = self.faces.as_ref().map(|f| &f.matrix);
        if let Some(data) = self.race.data()
            && current.is_none_or(|c| !Arc::ptr_eq(c, data))
        {
            self.race.abandon("the faces changed");
            self.race.lanes.clear();
        }
        if let Some(e) = self.race.poll() {
            self.fail(e);
        }
    }

    fn poll_pca(&mut self) {
        let data = self.faces.as_ref().map(|f| Arc::clone(&f.matrix));
        self.pca.forget_other_data(data.as_ref(), &mut self.retired);
        if let Some(e) = self.pca.poll() {
            self.fail(e);
        }
        if self.settings.view != View::Eigenfaces {
            return;
        }
        let (Some(key), Some(meta)) = (self.pca_key(), self.faces.as_ref().map(|f| Arc::clone(&f.meta))) else {
            return;
        };
        let thumb = thumb::Thumb::new(meta.width, meta.height, thumb::GALLERY_SIDE);
        if let Err(e) = self.pca.ensure(key, thumb, Arc::clone(&self.wake), &self.lease) {
            self.report_error(&anyhow::Error::new(e).context("could not start the PCA"));
        }
    }

    /// Projects the image at `path` onto the current basis.
    pub fn project_new_face(&mut self, path: &Path) {
        let (Some(faces), Some(fit)) = (&self.faces, self.live.fit.as_ref()) else {
            return self.fail("fit the faces first: a new face is projected onto the basis W");
        };
        match NewFace::open(path, faces, fit, self.settings.preprocess, self.settings.reshape) {
            Ok(face) => {
                self.new_face = Some(face);
                self.error = None;
            }
            Err(e) => self.report_error(&anyhow::Error::new(e)),
        }
    }

    /// Reads a cover image for the selected face ([`cover::read_cover`]).
    pub fn load_cover(&mut self, path: &Path) {
        let (Some(faces), Some(face)) = (&self.faces, self.selected_face) else {
            return self.report_error(&anyhow::Error::new(cover::CoverError::NoFace));
        };
        match cover::read_cover(path, faces.meta.width, faces.meta.height) {
            Ok(covered) => {
                let n = self.cover.as_ref().map_or(1, |c| c.n + 1);
                let name = crate::dataset::display_name(path.file_name().map_or(path, Path::new));
                self.cover = Some(cover::LoadedCover { n, face, generation: faces.generation, name, covered });
                self.error = None;
            }
            Err(e) => self.report_error(&anyhow::Error::new(e)),
        }
    }

    fn refresh_new_face(&mut self) {
        let Some(face) = self.new_face.as_mut() else {
            return;
        };
        match face.refresh(self.live.fit.as_ref()) {
            Ok(later) => self.repaint_after = later,
            Err(e) => {
                self.new_face = None;
                self.report_error(&anyhow::Error::new(e));
            }
        }
    }

    fn export_to(&mut self, dir: &Path, overwrite: bool) {
        let (Some(faces), Some(fit)) = (&self.faces, self.live.fit.as_ref()) else {
            return self.fail("nothing to export: run a fit first");
        };
        let p = &fit.progress;
        let fit_id = p.fit_id;
        let load_options = match &self.current_load {
            Some((LoadRequest::Folder(_), resize)) => {
                Some(LoadOptions { resize: *resize, preprocess: self.settings.preprocess, ..LoadOptions::default() })
            }
            _ => None,
        };
        let work = export::ExportWork {
            meta: Arc::clone(&faces.meta),
            load_options,
            data: Arc::clone(&faces.matrix),
            w: Arc::clone(&p.snapshot.w),
            h: Arc::clone(&p.snapshot.h),
            params: p.params.clone(),
            history: self.live.history().to_vec(),
            iterations: p.snapshot.iteration,
            stop_reason: match p.state {
                FitState::Stopped(r) => r,
                // A running (or paused) fit is exported as it is now.
                _ => crate::nmf::StopReason::Cancelled,
            },
        };
        match self.export.request(dir, overwrite, work, Arc::clone(&self.wake), &self.lease) {
            Ok(export::Requested::Started) => self.export.notice_fit = Some(fit_id),
            Ok(export::Requested::Confirm) => {}
            Err(e) => self.report_error(&e),
        }
    }

    /// What a picture of the fit shown says about it.
    pub fn caption(&self) -> Option<crate::export::Caption> {
        let (faces, fit) = (self.faces.as_ref()?, self.fit()?);
        let p = &fit.progress;
        Some(crate::export::Caption {
            dataset: faces.name.clone(),
            k: p.params.k,
            solver: p.params.solver.to_string(),
            iteration: p.snapshot.iteration,
            rel_err: p.snapshot.rel_err,
        })
    }

    /// Whether the view a picture shows is done drawing: the eigenfaces
    /// view once its PCA is computed (or failed, which the status line says).
    pub fn picture_ready(&self, what: PictureWhat) -> bool {
        match what {
            PictureWhat::Eigenfaces => {
                self.pca_key().is_some_and(|key| self.pca.result_for(&key).is_some()) || !self.pca.is_computing()
            }
            _ => true,
        }
    }

    /// A movie of the snapshots kept for replay: the basis images, or the
    /// selected face beside its reconstruction. Only the snapshots at the
    /// last one's k (a change of k changes the parts shown).
    fn movie_source(&self, request: &PictureRequest) -> Result<picture::PictureSource, String> {
        let what = request.what;
        let (Some(faces), Some(last)) = (&self.faces, self.live.replay.last()) else {
            return Err("no snapshots kept yet: run a fit first".into());
        };
        let k = last.progress.params.k;
        let kept = &self.live.replay;
        let first = kept.iter().rposition(|s| s.progress.params.k != k).map_or(0, |i| i + 1);
        let frames = kept[first..]
            .iter()
            .map(|s| crate::export::MovieFrame {
                iteration: s.iteration,
                rel_err: s.progress.snapshot.rel_err,
                w: Arc::clone(&s.progress.snapshot.w),
                h: Arc::clone(&s.progress.snapshot.h),
            })
            .collect();
        let (width, height) = (faces.meta.width, faces.meta.height);
        let mut spec =
            crate::export::MovieSpec::basis(width, height, faces.name.clone(), last.progress.params.solver.name());
        spec.scale = (request.scale > 0).then_some(request.scale);
        if what == PictureWhat::FaceMovie {
            let Some(j) = self.selected_face else {
                return Err("select a face first: the movie shows it beside its reconstruction".into());
            };
            let original = Arc::new(faces.face(j).to_owned());
            spec.content = crate::export::MovieContent::Face { index: j, original };
        }
        Ok(picture::PictureSource::Movie { frames, spec })
    }

    fn save_picture(&mut self, request: PictureRequest, overwrite: bool) {
        let Some(caption) = self.caption() else {
            return self.fail("nothing to picture yet: run a fit first");
        };
        let source = match (&self.faces, self.fit()) {
            _ if request.what.is_movie() => match self.movie_source(&request) {
                Ok(source) => source,
                Err(e) => return self.fail(e),
            },
            (Some(faces), Some(fit)) => picture::PictureSource::Montage {
                w: Arc::clone(&fit.progress.snapshot.w),
                h: Arc::clone(&fit.progress.snapshot.h),
                width: faces.meta.width,
                height: faces.meta.height,
            },
            _ => return self.fail("nothing to picture yet: run a fit first"),
        };
        if self.picture.is_busy() {
            return self.fail("a picture is already being saved");
        }
        match self.picture.request(request.clone(), overwrite) {
            Err(e) => self.report_error(&anyhow::Error::new(e)),
            // Asked to replace, or a screenshot for the app to take.
            Ok(_) if self.picture.confirm.is_some() || self.picture.shot.is_some() => self.error = None,
            Ok(_) => {
                self.error = None;
                if let Err(e) =
                    self.picture.start(request, overwrite, source, caption, Arc::clone(&self.wake), &self.lease)
                {
                    self.report_error(&e);
                }
            }
        }
    }

    fn picture_taken(&mut self, id: u64, image: Arc<image::RgbaImage>, pixels_per_point: f32) {
        let Some(shot) = self.picture.shot.take_if(|s| s.id == id) else { return };
        let Some(caption) = self.caption() else {
            return self.fail("nothing to picture yet: run a fit first");
        };
        let source = picture::PictureSource::Shot { image, pixels_per_point };
        if let Err(e) =
            self.picture.start(shot.request, shot.overwrite, source, caption, Arc::clone(&self.wake), &self.lease)
        {
            self.report_error(&e);
        }
    }
}
