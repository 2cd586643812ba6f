//! The rank explorer's background job: [`crate::nmf::sweep::sweep`] over a
//! list of k on its own thread (not the fit worker), streaming each finished
//! rank to the UI.
//!
//! - Progress (every iteration) goes over a **bounded** channel with
//!   `try_send` (dropped when the UI is behind); finished ranks and the end
//!   use a blocking `send`, so none is lost. Every message wakes the UI.
//! - Cancel (the button, new faces, or dropping the app) sets a flag the
//!   solver checks between iterations, and dropping the [`SweepJob`] joins the
//!   thread: no thread is left behind.
//! - The live fit is stopped while a sweep runs (both would share the same
//!   cores) and resumed afterwards if it was running.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, TryRecvError, TrySendError};
use std::thread::JoinHandle;
use std::time::Instant;

use crate::nmf::sweep::{SweepEvent, SweepPoint, parse_ranks, sweep};
use crate::nmf::{FaceMatrix, Params};

use super::{FaceNmfApp, View};

/// Capacity of the sweep's channel.
const CHANNEL_CAPACITY: usize = 8;

/// Sweep threads alive in this process (for tests and diagnostics).
static LIVE_SWEEPS: AtomicUsize = AtomicUsize::new(0);

/// Number of sweep threads currently running in this process.
pub fn live_sweep_threads() -> usize {
    LIVE_SWEEPS.load(Ordering::SeqCst)
}

/// What the sweep thread reports.
enum Message {
    /// The singular values are ready; `exact` unless from a randomized SVD.
    Spectrum { exact: bool, secs: f64 },
    /// One iteration of the rank being fitted.
    Step { index: usize, k: usize, iteration: usize, rel_err: f64 },
    /// A rank is done.
    Point(Box<SweepPoint>),
    /// The sweep ended (finished, cancelled, or failed).
    Done(Result<bool, String>),
}

/// A sweep running on its own thread. Dropping it cancels and joins.
pub struct SweepJob {
    cancel: Arc<AtomicBool>,
    alive: Arc<AtomicBool>,
    messages: Option<Receiver<Message>>,
    thread: Option<JoinHandle<()>>,
}

impl SweepJob {
    fn spawn(
        data: Arc<FaceMatrix>,
        ks: Vec<usize>,
        base: Params,
        wake: impl Fn() + Send + 'static,
    ) -> std::io::Result<SweepJob> {
        let (tx, rx) = mpsc::sync_channel(CHANNEL_CAPACITY);
        let cancel = Arc::new(AtomicBool::new(false));
        let alive = Arc::new(AtomicBool::new(true));
        let (flag, alive_flag) = (Arc::clone(&cancel), Arc::clone(&alive));
        LIVE_SWEEPS.fetch_add(1, Ordering::SeqCst);
        let thread = std::thread::Builder::new().name("facenmf-sweep".into()).spawn(move || {
            struct Alive(Arc<AtomicBool>);
            impl Drop for Alive {
                fn drop(&mut self) {
                    self.0.store(false, Ordering::SeqCst);
                    LIVE_SWEEPS.fetch_sub(1, Ordering::SeqCst);
                }
            }
            let _alive = Alive(alive_flag);
            let result = sweep(&data, &ks, &base, Some(&flag), |event| {
                let message = match event {
                    SweepEvent::Spectrum(s) => Message::Spectrum { exact: s.exact, secs: s.secs },
                    SweepEvent::Step { index, k, iteration, rel_err, .. } => {
                        match tx.try_send(Message::Step { index, k, iteration, rel_err }) {
                            Ok(()) => wake(),
                            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {}
                        }
                        return;
                    }
                    SweepEvent::Point { point, .. } => Message::Point(Box::new(point.clone())),
                };
                if tx.send(message).is_ok() {
                    wake();
                }
            });
            let end = result.map(|s| s.cancelled).map_err(|e| format!("{:#}", anyhow::Error::new(e)));
            if tx.send(Message::Done(end)).is_ok() {
                wake();
            }
        });
        let thread = match thread {
            Ok(t) => t,
            Err(e) => {
                alive.store(false, Ordering::SeqCst);
                LIVE_SWEEPS.fetch_sub(1, Ordering::SeqCst);
                return Err(e);
            }
        };
        Ok(SweepJob { cancel, alive, messages: Some(rx), thread: Some(thread) })
    }

    /// Asks the thread to stop after the current iteration.
    fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }
}

impl Drop for SweepJob {
    fn drop(&mut self) {
        self.cancel();
        // Dropping the receiver unblocks a thread waiting in `send`.
        self.messages = None;
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            log::warn!("the sweep thread panicked");
        }
    }
}

/// Where a running sweep is.
#[derive(Debug, Clone, Copy, Default)]
pub struct SweepProgress {
    /// Ranks finished.
    pub done: usize,
    /// Ranks asked for.
    pub total: usize,
    /// The rank being fitted, and its iteration and current error.
    pub current: Option<(usize, usize, f64)>,
}

/// The rank explorer's state: its inputs, the running job, and the points.
pub struct SweepState {
    /// The ranks as typed: a list (2,4,8) or a range (2..62).
    pub spec: String,
    /// Step of a range.
    pub step: usize,
    /// Filled in from the data once faces are loaded.
    pub spec_for: Option<usize>,
    /// The finished ranks, in sweep order, and the parameters they used.
    pub points: Vec<SweepPoint>,
    pub params: Option<Params>,
    /// Whether the singular values are exact, and their seconds.
    pub spectrum: Option<(bool, f64)>,
    pub progress: SweepProgress,
    /// The iteration limit of the running sweep's ranks.
    max_iter: usize,
    /// max_iter of each rank in the next sweep (the rest of the parameters
    /// are the app's).
    pub max_iter_per_k: usize,
    pub started: Option<Instant>,
    /// Seconds the last sweep took, and whether it was cancelled.
    pub last_run: Option<(f64, bool)>,
    /// The k last opened from the sweep (for the status line).
    pub opened_k: Option<usize>,
    /// The live fit was running when the sweep started: resume it after.
    pub(crate) resume_fit: bool,
    /// The last sweep paused the live fit.
    pub paused_live_fit: bool,
    job: Option<SweepJob>,
}

impl Default for SweepState {
    fn default() -> Self {
        SweepState {
            spec: String::new(),
            step: 4,
            spec_for: None,
            points: Vec::new(),
            params: None,
            spectrum: None,
            progress: SweepProgress::default(),
            max_iter: 1,
            max_iter_per_k: 200,
            started: None,
            last_run: None,
            opened_k: None,
            resume_fit: false,
            paused_live_fit: false,
            job: None,
        }
    }
}

impl SweepState {
    /// True while a sweep thread is working (or winding down).
    pub fn is_running(&self) -> bool {
        self.job.is_some()
    }

    /// The iteration limit of the running sweep's ranks.
    pub fn max_iter(&self) -> usize {
        self.max_iter
    }

    /// The k axis of the plots: the ranks asked for (or found).
    pub fn x_range(&self, max_k: usize) -> (f64, f64) {
        let asked = self.ranks(max_k).ok().and_then(|ks| Some((*ks.first()?, *ks.last()?)));
        let found = self
            .points
            .iter()
            .map(|p| p.k)
            .fold(None, |r: Option<(usize, usize)>, k| Some(r.map_or((k, k), |(a, b)| (a.min(k), b.max(k)))));
        let (lo, hi) = match (asked, found) {
            (Some(a), Some(f)) => (a.0.min(f.0), a.1.max(f.1)),
            (Some(r), None) | (None, Some(r)) => r,
            (None, None) => (1, 2),
        };
        (lo as f64 - 0.5, hi as f64 + 0.5)
    }

    /// Fraction of the sweep done, counting the current rank's iterations.
    pub fn fraction(&self) -> f32 {
        let p = &self.progress;
        if p.total == 0 {
            return 0.0;
        }
        let partial = p.current.map_or(0.0, |(_, it, _)| (it as f32 / self.max_iter.max(1) as f32).min(1.0));
        ((p.done as f32 + partial) / p.total as f32).clamp(0.0, 1.0)
    }

    /// The ranks the spec asks for, or why it is invalid.
    pub fn ranks(&self, max_k: usize) -> Result<Vec<usize>, String> {
        parse_ranks(&self.spec, self.step, max_k).map_err(|e| e.to_string())
    }

    /// A default range for faces that allow k up to `max_k`: 2..min(64,
    /// max_k) in steps of 4 (fewer for tiny sets).
    pub fn default_for(&mut self, max_k: usize) {
        let top = max_k.min(64);
        if top < 2 {
            self.spec = "1".into();
        } else {
            self.step = if top >= 16 { 4 } else { 1 };
            self.spec = format!("2..{top}");
        }
        self.spec_for = Some(max_k);
    }
}

impl FaceNmfApp {
    /// Starts a sweep over the ranks of the spec with the current
    /// parameters, stopping the live fit meanwhile.
    pub fn start_sweep(&mut self) {
        let Some(faces) = &self.faces else {
            self.report_error(&anyhow::anyhow!("open faces before sweeping over k"));
            return;
        };
        if self.teach.race.is_active() {
            self.report_error(&anyhow::anyhow!("a solver race is running: stop it before sweeping over k"));
            return;
        }
        let ks = match self.sweep.ranks(self.max_k()) {
            Ok(ks) => ks,
            Err(e) => {
                self.report_error(&anyhow::anyhow!("rank explorer: {e}"));
                return;
            }
        };
        let data = Arc::clone(&faces.matrix);
        self.cancel_sweep();
        let base = Params { max_iter: self.sweep.max_iter_per_k.max(1), ..self.settings.params.clone() };
        let ctx = self.ctx.clone();
        match SweepJob::spawn(data, ks.clone(), base.clone(), move || ctx.request_repaint()) {
            Ok(job) => {
                self.error = None;
                self.sweep.resume_fit = self.is_fitting();
                self.sweep.paused_live_fit = self.sweep.resume_fit;
                self.stop_fit();
                self.sweep.job = Some(job);
                self.sweep.points.clear();
                self.sweep.spectrum = None;
                self.sweep.max_iter = base.max_iter;
                self.sweep.params = Some(base);
                self.sweep.progress = SweepProgress { done: 0, total: ks.len(), current: None };
                self.sweep.started = Some(Instant::now());
                self.sweep.last_run = None;
            }
            Err(e) => self.report_error(&anyhow::Error::new(e).context("could not start the sweep thread")),
        }
    }

    /// Stops the sweep at once (keeping the ranks already finished) and
    /// joins its thread.
    pub fn cancel_sweep(&mut self) {
        if let Some(job) = self.sweep.job.take() {
            job.cancel();
            drop(job);
            self.sweep.last_run = Some((self.sweep.started.map_or(0.0, |s| s.elapsed().as_secs_f64()), true));
            self.sweep.progress.current = None;
            self.resume_after_sweep();
        }
    }

    /// True while the sweep thread exists (tests check none is left).
    pub fn is_sweeping(&self) -> bool {
        self.sweep.job.as_ref().is_some_and(|j| j.alive.load(Ordering::SeqCst))
    }

    /// max_iter of each rank in the next sweep.
    pub fn sweep_iterations_per_k(&self) -> usize {
        self.sweep.max_iter_per_k
    }

    /// The sweep's finished ranks.
    pub fn sweep_points(&self) -> &[SweepPoint] {
        &self.sweep.points
    }

    fn resume_after_sweep(&mut self) {
        if std::mem::take(&mut self.sweep.resume_fit) && self.fit.is_some() {
            self.run_fit();
        }
    }

    /// Opens rank `index` of the sweep in the explorer: k is set and the fit
    /// worker takes over that rank's W and H.
    pub fn open_sweep_point(&mut self, index: usize) {
        let (Some(point), Some(params)) = (self.sweep.points.get(index), &self.sweep.params) else {
            return;
        };
        let params = Params { k: point.k, ..params.clone() };
        let (w, h) = (point.w.clone(), point.h.clone());
        let Some(worker) = &self.worker else {
            return;
        };
        // Fitting on while the sweep still runs would halve both.
        let run = self.settings.auto_run && self.sweep.job.is_none();
        worker.adopt(params.clone(), w, h, run);
        self.sweep.opened_k = Some(params.k);
        self.settings.params = params;
        self.settings.view = View::Explorer;
        self.sweep.resume_fit = false;
        self.fit_requested = true;
        self.error = None;
    }

    /// Takes the sweep thread's messages (in `logic()`).
    pub(crate) fn poll_sweep(&mut self) {
        if let Some(max_k) = self.faces.as_ref().map(|f| f.matrix.pixels().min(f.matrix.faces()))
            && self.sweep.spec_for != Some(max_k)
        {
            self.sweep.default_for(max_k);
        }
        let Some(rx) = self.sweep.job.as_ref().and_then(|j| j.messages.as_ref()) else {
            return;
        };
        if self.fit_requested {
            // Run was pressed during the sweep: hold the live fit until after.
            self.sweep.resume_fit = true;
            if let Some(w) = &self.worker {
                w.stop();
            }
        }
        let mut end = None;
        loop {
            match rx.try_recv() {
                Ok(Message::Spectrum { exact, secs }) => self.sweep.spectrum = Some((exact, secs)),
                Ok(Message::Step { index, k, iteration, rel_err }) => {
                    if index >= self.sweep.progress.done {
                        self.sweep.progress.current = Some((k, iteration, rel_err));
                    }
                }
                Ok(Message::Point(p)) => {
                    self.sweep.points.push(*p);
                    self.sweep.progress.done = self.sweep.points.len();
                    self.sweep.progress.current = None;
                }
                Ok(Message::Done(result)) => {
                    end = Some(result);
                    break;
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    end = Some(Err("the sweep stopped unexpectedly".into()));
                    break;
                }
            }
        }
        if let Some(result) = end {
            // The thread has sent its last message: joining is immediate.
            self.sweep.job = None;
            self.sweep.progress.current = None;
            let secs = self.sweep.started.map_or(0.0, |s| s.elapsed().as_secs_f64());
            match result {
                Ok(cancelled) => self.sweep.last_run = Some((secs, cancelled)),
                Err(e) => self.report_error(&anyhow::anyhow!("rank sweep failed: {e}")),
            }
            self.resume_after_sweep();
        }
    }
}
