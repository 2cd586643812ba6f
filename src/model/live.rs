//! The live fit: the [`Worker`] and what the model keeps of its reports
//! (the latest snapshot as a [`FitView`], the loss curve).

use std::sync::Arc;

use crate::jobs::{CpuLease, Wake};
use crate::nmf::{FaceMatrix, Params, Record};
use crate::worker::{Event, FitState, Worker};

use super::fit::{Curve, FitView};

/// The live fit and its worker thread.
#[derive(Default)]
pub struct LiveFit {
    worker: Option<Worker>,
    /// The latest snapshot shown.
    pub fit: Option<FitView>,
    pub curve: Curve,
    /// A fit has been asked for and has not reported its end yet.
    requested: bool,
    /// New data was sent to the worker: its events are about the old data
    /// until it confirms with `Cleared`.
    awaiting_clear: bool,
    /// The fit shown was opened from elsewhere and has not moved since.
    adopted: bool,
}

impl LiveFit {
    /// True while the fit runs or has been asked to.
    pub fn is_fitting(&self) -> bool {
        self.requested || self.worker.as_ref().is_some_and(Worker::is_running)
    }

    /// True while the fit waits for the CPU lease.
    pub fn is_paused(&self) -> bool {
        false
    }

    /// True while the fit shown is one opened from the sweep, not moved yet.
    pub fn adopted(&self) -> bool {
        self.adopted
    }

    /// The fit's history, initialisation first.
    pub fn history(&self) -> &[Record] {
        self.fit.as_ref().map_or(&[], |f| &f.progress.history)
    }

    /// New faces: the fit is forgotten; the worker starts on first use.
    pub fn set_data(&mut self, data: Arc<FaceMatrix>, wake: Wake, _lease: &CpuLease) -> std::io::Result<()> {
        self.fit = None;
        self.curve = Curve::default();
        self.requested = false;
        self.adopted = false;
        match &self.worker {
            Some(w) => {
                w.set_data(data);
                self.awaiting_clear = true;
            }
            None => self.worker = Some(Worker::spawn(data, Box::new(move || wake()))?),
        }
        Ok(())
    }

    pub fn run(&mut self, params: Params) {
        if let Some(w) = &self.worker {
            w.run(params);
            self.requested = true;
        }
    }

    pub fn stop(&mut self) {
        if let Some(w) = &self.worker {
            w.stop();
        }
    }

    pub fn reset(&mut self) {
        if let Some(w) = &self.worker {
            w.reset();
        }
    }

    pub fn set_k(&mut self, params: Params) {
        if let Some(w) = &self.worker {
            w.set_k(params);
            self.requested = true;
        }
    }

    /// Installs a fit made elsewhere, stopped, as it was.
    pub fn adopt(&mut self, params: Params, w: ndarray::Array2<f32>, h: ndarray::Array2<f32>, history: Vec<Record>) {
        let _ = history;
        if let Some(worker) = &self.worker {
            worker.adopt(params, w, h, false);
            self.requested = true;
            self.adopted = true;
        }
    }

    /// Takes the worker's reports; returns the errors among them.
    pub fn poll(&mut self) -> Vec<String> {
        let Some(worker) = &self.worker else {
            return Vec::new();
        };
        let mut latest = None;
        let mut errors = Vec::new();
        let mut cleared = false;
        while let Some(event) = worker.try_recv() {
            match event {
                Event::Progress(p) => {
                    if !self.awaiting_clear {
                        self.curve.update(&p);
                        latest = Some(p);
                    }
                }
                Event::Cleared => {
                    latest = None;
                    cleared = true;
                    self.awaiting_clear = false;
                    self.curve = Curve::default();
                }
                Event::Error(e) => errors.push(e),
            }
        }
        let busy = worker.is_busy();
        if cleared {
            self.fit = None;
        }
        if !errors.is_empty() {
            self.requested = busy;
        }
        if let Some(p) = latest {
            if p.state != FitState::Running && !busy {
                self.requested = false;
            }
            if self.fit.as_ref().is_some_and(|f| f.progress.snapshot.iteration != p.snapshot.iteration) {
                self.adopted = false;
            }
            self.fit = Some(FitView::new(*p));
        } else if !busy {
            self.requested = false;
        }
        errors
    }
}
