//! The live fit: the [`Worker`] handle and what the model keeps of its
//! updates (the latest snapshot as a [`FitView`], the loss curve, the
//! snapshots kept for replay and the one being looked at).

use std::sync::Arc;

use crate::jobs::{CpuLease, JobError, Wake};
use crate::nmf::{FaceMatrix, Params, Record};
use crate::replay::Kept;
use crate::worker::{FitState, Worker};

use super::fit::{Curve, FitView};

/// The live fit and its worker thread.
#[derive(Default)]
pub struct LiveFit {
    worker: Option<Worker>,
    /// The latest snapshot shown.
    pub fit: Option<FitView>,
    pub curve: Curve,
    /// An adopt was sent with this generation, not answered yet.
    adopt_sent: Option<u64>,
    /// The adopted fit: (fit id, iteration it was opened at).
    adopted: Option<(u64, usize)>,
    /// The snapshots kept for replay, oldest first.
    pub replay: Arc<Vec<Kept>>,
    /// The kept snapshot shown instead of the live fit (scrubbing the
    /// timeline): its iteration across warm starts, and its view.
    pub scrub: Option<(usize, FitView)>,
}

impl LiveFit {
    /// True while the fit runs or has been asked to (a command not yet
    /// answered); not while it is paused under the CPU lease.
    pub fn is_fitting(&self) -> bool {
        self.worker.as_ref().is_some_and(|w| w.is_busy())
    }

    /// True while the fit waits for the CPU lease.
    pub fn is_paused(&self) -> bool {
        self.worker.as_ref().and_then(Worker::state) == Some(FitState::Paused)
    }

    /// True while the fit shown is one opened from the sweep, not moved yet.
    pub fn adopted(&self) -> bool {
        self.fit.as_ref().is_some_and(|f| Some((f.progress.fit_id, f.progress.snapshot.iteration)) == self.adopted)
    }

    /// The fit's history, initialisation first.
    pub fn history(&self) -> &[Record] {
        self.worker.as_ref().map_or(&[], Worker::history)
    }

    /// New faces: the fit is forgotten (the worker is started on the first
    /// faces, and pauses whenever `lease` is held).
    pub fn set_data(&mut self, data: Arc<FaceMatrix>, wake: Wake, lease: &CpuLease) -> Result<(), JobError> {
        self.fit = None;
        self.curve = Curve::default();
        self.adopted = None;
        self.replay = Arc::default();
        self.scrub = None;
        match &mut self.worker {
            Some(w) => {
                w.set_data(data);
            }
            None => self.worker = Some(Worker::spawn(data, wake, lease.clone())?),
        }
        Ok(())
    }

    pub fn run(&mut self, params: Params) {
        if let Some(w) = &mut self.worker {
            w.run(params);
        }
    }

    /// Exactly one iteration, then stopped.
    pub fn step(&mut self, params: Params) {
        if let Some(w) = &mut self.worker {
            w.step(params);
        }
    }

    /// Iterations a second at most (None: as fast as possible).
    pub fn set_pace(&mut self, per_sec: Option<f64>) {
        if let Some(w) = &mut self.worker {
            w.set_pace(per_sec);
        }
    }

    /// Shows the kept snapshot nearest `iteration` (across warm starts)
    /// instead of the live fit; None: the live fit again. The fit itself
    /// goes on undisturbed.
    pub fn scrub(&mut self, iteration: Option<usize>) {
        self.scrub = iteration.and_then(|t| {
            let kept = self.replay.iter().min_by_key(|k| k.iteration.abs_diff(t))?;
            match &self.scrub {
                Some((at, view)) if *at == kept.iteration && Arc::ptr_eq(&view.progress, &kept.progress) => {
                    self.scrub.take()
                }
                _ => Some((kept.iteration, FitView::new(Arc::clone(&kept.progress)))),
            }
        });
    }

    /// The fit the views show: the kept snapshot scrubbed to, else the
    /// latest.
    pub fn shown(&self) -> Option<&FitView> {
        self.scrub.as_ref().map(|(_, v)| v).or(self.fit.as_ref())
    }

    pub fn stop(&mut self) {
        if let Some(w) = &mut self.worker {
            w.stop();
        }
    }

    /// Forgets the fit, at once (the worker drops every update from before
    /// the reset, so none of this fit comes back).
    pub fn reset(&mut self) {
        if let Some(w) = &mut self.worker {
            w.reset();
            self.fit = None;
            self.curve = Curve::default();
            self.replay = Arc::default();
            self.scrub = None;
            self.adopted = None;
        }
    }

    /// Re-fits from the current factors with new parameters (k, a
    /// sparseness), at once.
    pub fn warm_start(&mut self, params: Params) {
        if let Some(w) = &mut self.worker {
            w.warm_start(params);
        }
    }

    /// Installs a fit made elsewhere, stopped, exactly as it was (its
    /// factors, iteration count and history).
    pub fn adopt(&mut self, params: Params, w: ndarray::Array2<f32>, h: ndarray::Array2<f32>, history: Vec<Record>) {
        if let Some(worker) = &mut self.worker {
            self.adopt_sent = Some(worker.adopt(params, w, h, history, false));
        }
    }

    /// Takes the worker's newest update; returns the errors in it.
    pub fn poll(&mut self) -> Vec<String> {
        let Some(worker) = &mut self.worker else {
            return Vec::new();
        };
        let Some(update) = worker.take_update() else {
            return Vec::new();
        };
        if let Some(replay) = &update.replay {
            self.replay = Arc::clone(replay);
        }
        if update.history.reset && update.fit.as_ref().is_none_or(|p| !p.warm_started) {
            // A new fit (not one continuing this one): the past looked at
            // is gone.
            self.scrub = None;
        }
        match &update.fit {
            None => {
                self.fit = None;
                self.curve = Curve::default();
            }
            Some(p) => {
                self.curve.update(p, &update.history);
                if self.adopt_sent.is_some_and(|g| update.generation >= g) {
                    self.adopt_sent = None;
                    self.adopted = Some((p.fit_id, p.snapshot.iteration));
                }
                if self.fit.as_ref().is_none_or(|f| !Arc::ptr_eq(&f.progress, p)) {
                    self.fit = Some(FitView::new(Arc::clone(p)));
                }
            }
        }
        update.errors
    }
}
