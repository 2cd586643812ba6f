//! The solver race as a background [`Job`] holding the CPU lease (the live
//! fit pauses meanwhile): MU, KL-MU and HALS one after another
//! ([`crate::nmf::race`]), each alone on the machine.
//!
//! Points go through the job's latest-value slot, merged: every point and
//! every finished lane is kept until the model takes them (a race yields a
//! few thousand points at most), so the final table misses nothing. Stop
//! sets the job's cancel flag, checked between iterations; dropping the job
//! stops the race and joins the thread.

use std::sync::Arc;
use std::time::Instant;

use crate::jobs::{CpuLease, Job, JobError, Wake};
use crate::nmf::race::{Lane, RACE_SOLVERS, RacePoint, run_lane};
use crate::nmf::{FaceMatrix, Params, Solver, StopReason};

/// Budgets the UI offers, in seconds per solver.
pub const BUDGET_RANGE_SECS: std::ops::RangeInclusive<f64> = 0.5..=30.0;
/// The default budget per solver.
pub const DEFAULT_BUDGET_SECS: f64 = 5.0;

/// What the race job has to say since the model last looked.
#[derive(Default)]
struct RaceNews {
    points: Vec<(crate::nmf::Solver, RacePoint)>,
    lanes: Vec<Lane>,
    failed: Option<String>,
}

/// The solver's name in the race: "HALS", "MU", "KL-MU".
pub fn race_name(solver: Solver) -> &'static str {
    match solver {
        Solver::Hals => "HALS",
        Solver::Mu => "MU",
        Solver::Kl => "KL-MU",
    }
}

/// How a race ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Every solver used its budget.
    Finished,
    /// Stopped by the user, or because the faces changed.
    Stopped(String),
    Failed(String),
}

/// The race as the views show it: the job and the lanes so far.
pub struct Race {
    job: Option<(Arc<FaceMatrix>, Job<RaceNews, ()>)>,
    /// The live fit was running when the race started (it paused).
    pub paused_live_fit: bool,
    /// The parameters (k, init, seed) of the race shown.
    pub params: Option<Params>,
    /// The budget per solver of the race shown.
    pub raced_budget_secs: f64,
    /// One per solver started, in race order; the last may be in progress.
    pub lanes: Vec<Lane>,
    /// The solver running now.
    pub running: Option<Solver>,
    pub outcome: Option<Outcome>,
    started: Option<Instant>,
}

impl Default for Race {
    fn default() -> Self {
        Race {
            job: None,
            paused_live_fit: false,
            params: None,
            raced_budget_secs: DEFAULT_BUDGET_SECS,
            lanes: Vec::new(),
            running: None,
            outcome: None,
            started: None,
        }
    }
}

impl Race {
    /// True while the race job runs.
    pub fn is_active(&self) -> bool {
        self.job.is_some()
    }

    /// Wall-clock seconds since the race started.
    pub fn elapsed_secs(&self) -> f64 {
        self.started.map_or(0.0, |t| t.elapsed().as_secs_f64())
    }

    /// Starts racing [`RACE_SOLVERS`] on `data` from `params`' k, init and
    /// seed, `budget_secs` each.
    pub(crate) fn start(
        &mut self,
        data: Arc<FaceMatrix>,
        params: Params,
        budget_secs: f64,
        wake: Wake,
        lease: &CpuLease,
    ) -> Result<(), JobError> {
        self.abandon("a new race started");
        let (job_data, job_params) = (Arc::clone(&data), params.clone());
        let job = Job::spawn("race", wake, Some(lease), move |ctx| {
            for solver in RACE_SOLVERS {
                if ctx.is_cancelled() {
                    break;
                }
                let on_point = |p: &RacePoint| {
                    ctx.progress_with(|slot| slot.get_or_insert_with(RaceNews::default).points.push((solver, *p)));
                };
                let lane =
                    run_lane(Arc::clone(&job_data), &job_params, solver, budget_secs, ctx.cancel_flag(), on_point);
                match lane {
                    Ok(lane) => ctx.progress_with(|slot| slot.get_or_insert_with(RaceNews::default).lanes.push(lane)),
                    Err(e) => {
                        let message = format!("the {} lane could not start: {e}", race_name(solver));
                        ctx.progress_with(|slot| slot.get_or_insert_with(RaceNews::default).failed = Some(message));
                        break;
                    }
                }
            }
        })?;
        self.job = Some((data, job));
        self.lanes.clear();
        self.outcome = None;
        self.params = Some(params);
        self.raced_budget_secs = budget_secs;
        self.running = RACE_SOLVERS.first().copied();
        self.started = Some(Instant::now());
        Ok(())
    }

    /// Stops the race after the current iteration (the lanes so far stay).
    pub(crate) fn stop(&mut self, why: &str) {
        if let Some((_, job)) = &self.job {
            job.cancel();
            self.outcome = Some(Outcome::Stopped(why.to_string()));
        }
    }

    /// Stops the race at once (joining the thread) and forgets it.
    pub(crate) fn abandon(&mut self, why: &str) {
        self.stop(why);
        self.job = None;
        self.running = None;
    }

    /// The data the race works on, while it runs.
    pub(crate) fn data(&self) -> Option<&Arc<FaceMatrix>> {
        self.job.as_ref().map(|(d, _)| d)
    }

    fn take_news(&mut self, news: RaceNews) {
        for (solver, p) in news.points {
            self.running = Some(solver);
            match self.lanes.last_mut() {
                Some(lane) if lane.solver == solver => lane.points.push(p),
                _ => self.lanes.push(Lane { solver, points: vec![p], stop: StopReason::Time, init_secs: 0.0 }),
            }
        }
        for lane in news.lanes {
            let next = RACE_SOLVERS.iter().skip_while(|&&s| s != lane.solver).nth(1).copied();
            match self.lanes.iter_mut().find(|l| l.solver == lane.solver) {
                Some(l) => *l = lane,
                None => self.lanes.push(lane),
            }
            self.running = next;
        }
        if let Some(e) = news.failed {
            self.outcome = Some(Outcome::Failed(e));
        }
    }

    /// Takes the job's news; returns the failure when the race just ended
    /// with one.
    pub(crate) fn poll(&mut self) -> Option<String> {
        let (_, job) = self.job.as_mut()?;
        let news = job.take_progress();
        let end = job.poll();
        if let Some(news) = news {
            self.take_news(news);
        }
        let end = end?;
        if let Some(news) = self.job.take().and_then(|(_, j)| j.take_progress()) {
            self.take_news(news);
        }
        self.running = None;
        if let Err(e) = end {
            self.outcome = Some(Outcome::Failed(e.to_string()));
        }
        if self.outcome.is_none() {
            let all =
                self.lanes.len() == RACE_SOLVERS.len() && self.lanes.iter().all(|l| l.stop != StopReason::Cancelled);
            self.outcome = Some(if all { Outcome::Finished } else { Outcome::Stopped("the race ended early".into()) });
        }
        match &self.outcome {
            Some(Outcome::Failed(e)) => Some(e.clone()),
            _ => None,
        }
    }
}
