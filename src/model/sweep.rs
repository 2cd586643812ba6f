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
use crate::nmf::sweep::{Phase, SweepEvent, SweepPoint, Validation, sweep_validated};
use crate::nmf::{FaceMatrix, Params};

/// What the sweep job has to say since the model last looked.
#[derive(Default)]
pub(crate) struct SweepNews {
    /// The singular values are ready: whether exact, and their seconds.
    spectrum: Option<(bool, f64)>,
    /// The rank being fitted: (index, k, iteration, rel_err, which fit).
    step: Option<(usize, usize, usize, f64, Phase)>,
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
    /// Which of that rank's fits is running.
    pub phase: Option<Phase>,
    /// Ranks taken from an earlier sweep with the same settings.
    pub reused: usize,
    /// Ranks the job has finished (of those it was given).
    job_done: usize,
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
    /// The finished ranks, by k, and the parameters they used.
    pub points: Vec<SweepPoint>,
    pub params: Option<Params>,
    /// The cross-validation and restarts of the sweep.
    pub validation: Validation,
    /// Every rank computed on these faces with the settings of `cache_for`
    /// (the last ones used), reused by a sweep with the same settings.
    cache: Vec<SweepPoint>,
    cache_for: Option<(Params, Validation)>,
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
    /// A table file that exists: the question whether to replace it.
    pub table_confirm: Option<std::path::PathBuf>,
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

    /// Fraction of the sweep done, counting the current rank's fits and
    /// iterations.
    pub fn fraction(&self) -> f32 {
        let p = &self.progress;
        if p.total == 0 {
            return 0.0;
        }
        let fits = self.validation.fits_per_rank() as f32;
        let before = match p.phase {
            Some(Phase::Restart { restart, .. }) => restart,
            Some(Phase::Fold { fold, .. }) => self.validation.restarts.max(1) + fold,
            _ => 0,
        } as f32;
        let partial = p.current.map_or(0.0, |(_, it, _)| (it as f32 / self.max_iter() as f32).min(1.0));
        ((p.done as f32 + (before + partial) / fits) / p.total as f32).clamp(0.0, 1.0)
    }

    /// The settings a cached rank must have been computed with to be reused.
    fn cache_key(base: &Params, validation: &Validation) -> (Params, Validation) {
        (Params { k: 1, ..base.clone() }, *validation)
    }

    /// Starts fitting every k of `ks` with `base` (its k replaced) and
    /// `validation`. Ranks already computed on these faces with the same
    /// settings are taken as they are; only the others are fitted.
    pub(crate) fn start(
        &mut self,
        data: Arc<FaceMatrix>,
        ks: Vec<usize>,
        base: Params,
        validation: Validation,
        wake: Wake,
        lease: &CpuLease,
    ) -> Result<(), JobError> {
        self.cancel();
        let key = Self::cache_key(&base, &validation);
        if self.cache_for.as_ref() != Some(&key) {
            self.cache.clear();
            self.cache_for = Some(key);
        }
        let reused: Vec<SweepPoint> = self.cache.iter().filter(|p| ks.contains(&p.k)).cloned().collect();
        let job_ks: Vec<usize> = ks.iter().copied().filter(|k| !reused.iter().any(|p| p.k == *k)).collect();
        let job_base = base.clone();
        let job = Job::spawn("sweep", wake, Some(lease), move |ctx| {
            let result = sweep_validated(&data, &job_ks, &job_base, &validation, Some(ctx.cancel_flag()), |event| {
                ctx.progress_with(|slot| {
                    let news = slot.get_or_insert_with(SweepNews::default);
                    match event {
                        SweepEvent::Spectrum(s) => news.spectrum = Some((s.exact, s.secs)),
                        SweepEvent::Step { index, k, iteration, rel_err, phase, .. } => {
                            news.step = Some((index, k, iteration, rel_err, phase));
                        }
                        SweepEvent::Point { point, .. } => news.points.push(point.clone()),
                    }
                });
            });
            result.map(|s| s.cancelled).map_err(|e| format!("{:#}", anyhow::Error::new(e)))
        })?;
        self.job = Some(job);
        self.points = reused;
        self.spectrum = None;
        self.params = Some(base);
        self.validation = validation;
        self.progress = SweepProgress {
            done: self.points.len(),
            total: ks.len(),
            current: None,
            phase: None,
            reused: self.points.len(),
            job_done: 0,
        };
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
            self.progress.phase = None;
        }
    }

    fn elapsed_secs(&self) -> f64 {
        self.started.map_or(0.0, |s| s.elapsed().as_secs_f64())
    }

    /// Forgets the sweep (new faces).
    pub(crate) fn clear(&mut self) {
        self.cancel();
        self.points.clear();
        self.cache.clear();
        self.cache_for = None;
        self.last_run = None;
        self.spectrum = None;
        self.opened_k = None;
        self.progress = SweepProgress::default();
        self.ranks.clear();
        self.table_confirm = None;
        self.paused_live_fit = false;
    }

    fn take_news(&mut self, news: SweepNews) {
        if news.spectrum.is_some() {
            self.spectrum = news.spectrum;
        }
        let finished = !news.points.is_empty();
        self.progress.job_done += news.points.len();
        self.cache.extend(news.points.iter().cloned());
        self.points.extend(news.points);
        self.points.sort_by_key(|p| p.k);
        self.progress.done = self.points.len();
        match news.step {
            Some((index, k, iteration, rel_err, phase)) if index >= self.progress.job_done => {
                self.progress.current = Some((k, iteration, rel_err));
                self.progress.phase = Some(phase);
            }
            _ if finished => {
                self.progress.current = None;
                self.progress.phase = None;
            }
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
        self.progress.phase = None;
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
