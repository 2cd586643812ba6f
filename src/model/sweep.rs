//! The rank explorer's sweep: [`crate::nmf::sweep::sweep`] over a list of k
//! as a background [`Job`] holding the CPU lease (the live fit pauses
//! meanwhile and goes on after, by the lease's one rule).
//!
//! Progress goes through the job's latest-value slot, merged: the newest
//! step replaces the last, finished ranks are appended until the model takes
//! them, so none is lost and nothing queues.

use std::sync::Arc;
use std::time::Instant;

use crate::jobs::{CpuLease, Job, JobError, Wake};
use crate::nmf::sweep::{SweepEvent, SweepPoint, sweep};
use crate::nmf::{FaceMatrix, Params};

/// What the sweep job has to say since the model last looked.
#[derive(Default)]
pub(crate) struct SweepNews {
    /// The singular values are ready: whether exact, and their seconds.
    spectrum: Option<(bool, f64)>,
    /// The rank being fitted: (index, k, iteration, rel_err).
    step: Option<(usize, usize, usize, f64)>,
    /// Ranks finished, in order.
    points: Vec<SweepPoint>,
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

/// How the last sweep ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SweepRun {
    pub secs: f64,
    pub cancelled: bool,
}

/// The sweep: its job, the finished ranks and what the views show of it.
#[derive(Default)]
pub struct SweepState {
    /// The finished ranks, in sweep order, and the parameters they used.
    pub points: Vec<SweepPoint>,
    pub params: Option<Params>,
    /// Whether the singular values are exact, and their seconds.
    pub spectrum: Option<(bool, f64)>,
    pub progress: SweepProgress,
    /// The ranks of the last sweep started.
    pub ranks: Vec<usize>,
    pub started: Option<Instant>,
    pub last_run: Option<SweepRun>,
    /// The k last opened from the sweep (for the status line).
    pub opened_k: Option<usize>,
    /// The live fit was running when the sweep started (it paused).
    pub paused_live_fit: bool,
    job: Option<Job<SweepNews, Result<bool, String>>>,
}

impl SweepState {
    /// True while a sweep job exists.
    pub fn is_running(&self) -> bool {
        self.job.is_some()
    }

    /// The iteration limit of the sweep's ranks.
    pub fn max_iter(&self) -> usize {
        self.params.as_ref().map_or(1, |p| p.max_iter.max(1))
    }

    /// Fraction of the sweep done, counting the current rank's iterations.
    pub fn fraction(&self) -> f32 {
        let p = &self.progress;
        if p.total == 0 {
            return 0.0;
        }
        let partial = p.current.map_or(0.0, |(_, it, _)| (it as f32 / self.max_iter() as f32).min(1.0));
        ((p.done as f32 + partial) / p.total as f32).clamp(0.0, 1.0)
    }

    /// Starts fitting every k of `ks` with `base` (its k replaced).
    pub(crate) fn start(
        &mut self,
        data: Arc<FaceMatrix>,
        ks: Vec<usize>,
        base: Params,
        wake: Wake,
        lease: &CpuLease,
    ) -> Result<(), JobError> {
        self.cancel();
        let (job_ks, job_base) = (ks.clone(), base.clone());
        let job = Job::spawn("sweep", wake, Some(lease), move |ctx| {
            let result = sweep(&data, &job_ks, &job_base, Some(ctx.cancel_flag()), |event| {
                ctx.progress_with(|slot| {
                    let news = slot.get_or_insert_with(SweepNews::default);
                    match event {
                        SweepEvent::Spectrum(s) => news.spectrum = Some((s.exact, s.secs)),
                        SweepEvent::Step { index, k, iteration, rel_err, .. } => {
                            news.step = Some((index, k, iteration, rel_err));
                        }
                        SweepEvent::Point { point, .. } => news.points.push(point.clone()),
                    }
                });
            });
            result.map(|s| s.cancelled).map_err(|e| format!("{:#}", anyhow::Error::new(e)))
        })?;
        self.job = Some(job);
        self.points.clear();
        self.spectrum = None;
        self.params = Some(base);
        self.progress = SweepProgress { done: 0, total: ks.len(), current: None };
        self.ranks = ks;
        self.started = Some(Instant::now());
        self.last_run = None;
        Ok(())
    }

    /// Stops the sweep at once (keeping the ranks already finished) and
    /// joins its thread.
    pub(crate) fn cancel(&mut self) {
        if let Some(job) = self.job.take() {
            job.cancel();
            drop(job);
            self.last_run = Some(SweepRun { secs: self.elapsed_secs(), cancelled: true });
            self.progress.current = None;
        }
    }

    fn elapsed_secs(&self) -> f64 {
        self.started.map_or(0.0, |s| s.elapsed().as_secs_f64())
    }

    /// Forgets the sweep (new faces).
    pub(crate) fn clear(&mut self) {
        self.cancel();
        self.points.clear();
        self.last_run = None;
        self.spectrum = None;
        self.opened_k = None;
    }

    fn take_news(&mut self, news: SweepNews) {
        if news.spectrum.is_some() {
            self.spectrum = news.spectrum;
        }
        let finished = !news.points.is_empty();
        self.points.extend(news.points);
        self.progress.done = self.points.len();
        match news.step {
            Some((index, k, iteration, rel_err)) if index >= self.progress.done => {
                self.progress.current = Some((k, iteration, rel_err));
            }
            _ if finished => self.progress.current = None,
            _ => {}
        }
    }

    /// Takes the job's news; returns an error message when it failed.
    pub(crate) fn poll(&mut self) -> Option<String> {
        let job = self.job.as_mut()?;
        let news = job.take_progress();
        let end = job.poll();
        if let Some(news) = news {
            self.take_news(news);
        }
        let end = end?;
        // The job has ended: what it reported last is in the slot still.
        if let Some(news) = self.job.take().and_then(|j| j.take_progress()) {
            self.take_news(news);
        }
        self.progress.current = None;
        let secs = self.elapsed_secs();
        match end.map_err(|e| e.to_string()).and_then(|r| r) {
            Ok(cancelled) => {
                self.last_run = Some(SweepRun { secs, cancelled });
                None
            }
            Err(e) => {
                self.last_run = Some(SweepRun { secs, cancelled: true });
                Some(format!("rank sweep failed: {e}"))
            }
        }
    }
}
