//! The solver race on a background thread of its own (not the app's fit
//! worker): MU, KL-MU and HALS one after another ([`crate::nmf::race`]),
//! each alone on the machine, with points streamed to the UI.
//!
//! Points go over a bounded channel with `try_send` (dropped when the UI is
//! slow; each finished lane is then sent whole with a blocking `send`, so
//! the final table misses nothing). Stop sets a flag checked between
//! iterations; dropping the [`RaceJob`] stops the race and joins the thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::thread::JoinHandle;
use std::time::Instant;

use crate::nmf::race::{Lane, RACE_SOLVERS, RacePoint, run_lane};
use crate::nmf::{FaceMatrix, Params, Solver, StopReason};

/// Capacity of the race's channel; progress points beyond it are dropped.
const CHANNEL_CAPACITY: usize = 64;

/// Budgets the UI offers, in seconds per solver.
pub const BUDGET_RANGE_SECS: std::ops::RangeInclusive<f64> = 0.5..=30.0;
/// The default budget per solver.
pub const DEFAULT_BUDGET_SECS: f64 = 5.0;

/// What the race thread reports.
#[derive(Debug, Clone)]
enum Message {
    /// A point of the lane now running (may be dropped).
    Point(Solver, RacePoint),
    /// A lane ended: all its points.
    Lane(Lane),
    /// A lane could not start (invalid parameters, numerical trouble).
    Failed(String),
}

/// The race thread's handle. Dropping it stops the race and joins the
/// thread.
pub struct RaceJob {
    data: Arc<FaceMatrix>,
    cancel: Arc<AtomicBool>,
    messages: Option<Receiver<Message>>,
    thread: Option<JoinHandle<()>>,
}

impl RaceJob {
    /// Starts racing [`RACE_SOLVERS`] on `data` from `params`' k, init and
    /// seed, `budget_secs` each; `wake` is called after every message.
    pub fn spawn(
        data: Arc<FaceMatrix>,
        params: Params,
        budget_secs: f64,
        wake: impl Fn() + Send + 'static,
    ) -> std::io::Result<Self> {
        let cancel = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::sync_channel(CHANNEL_CAPACITY);
        let (flag, thread_data) = (Arc::clone(&cancel), Arc::clone(&data));
        let thread = super::spawn_counted("facenmf-race", move || {
            for solver in RACE_SOLVERS {
                if flag.load(Ordering::Relaxed) {
                    break;
                }
                let on_point = |p: &RacePoint| {
                    if tx.try_send(Message::Point(solver, *p)).is_ok() {
                        wake();
                    }
                };
                let message = match run_lane(Arc::clone(&thread_data), &params, solver, budget_secs, &flag, on_point) {
                    Ok(lane) => Message::Lane(lane),
                    Err(e) => Message::Failed(format!("the {} lane could not start: {e}", race_name(solver))),
                };
                let failed = matches!(message, Message::Failed(_));
                // A blocking send: the UI must get every finished lane. It
                // fails only when the handle (the receiver) is gone.
                if tx.send(message).is_err() || failed {
                    break;
                }
                wake();
            }
            drop(tx);
            wake();
        })?;
        Ok(RaceJob { data, cancel, messages: Some(rx), thread: Some(thread) })
    }

    /// The data being raced on.
    pub fn data(&self) -> &Arc<FaceMatrix> {
        &self.data
    }

    /// Asks the race to stop after the current iteration.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    fn try_recv(&self) -> Result<Message, TryRecvError> {
        self.messages.as_ref().map_or(Err(TryRecvError::Disconnected), Receiver::try_recv)
    }
}

impl Drop for RaceJob {
    fn drop(&mut self) {
        self.cancel();
        // Dropping the receiver unblocks a thread waiting in `send`.
        self.messages = None;
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            log::warn!("the solver race thread panicked");
        }
    }
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

/// The race as the view shows it: settings, the job, and the lanes so far.
pub struct Race {
    /// Seconds of work each solver gets.
    pub budget_secs: f64,
    job: Option<RaceJob>,
    /// Start was pressed; the race starts once the live fit has stopped.
    pub(crate) waiting_for_fit: bool,
    /// The live fit was running when the race started: run it again after.
    pub(crate) resume_fit: bool,
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
            budget_secs: DEFAULT_BUDGET_SECS,
            job: None,
            waiting_for_fit: false,
            resume_fit: false,
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
    /// True from Start until the race ends (including the wait for the live
    /// fit to stop).
    pub fn is_active(&self) -> bool {
        self.waiting_for_fit || self.job.is_some()
    }

    /// True while the race thread runs.
    pub fn is_running(&self) -> bool {
        self.job.is_some()
    }

    /// Wall-clock seconds since the race thread started.
    pub fn elapsed_secs(&self) -> f64 {
        self.started.map_or(0.0, |t| t.elapsed().as_secs_f64())
    }

    /// Forgets the lanes and prepares a race with `params`.
    pub(crate) fn prepare(&mut self, params: Params) {
        self.lanes.clear();
        self.outcome = None;
        self.running = None;
        self.params = Some(params);
        self.raced_budget_secs = self.budget_secs;
        self.waiting_for_fit = true;
    }

    pub(crate) fn start(&mut self, data: Arc<FaceMatrix>, wake: impl Fn() + Send + 'static) -> std::io::Result<()> {
        self.waiting_for_fit = false;
        let params = self.params.clone().unwrap_or_default();
        self.job = Some(RaceJob::spawn(data, params, self.raced_budget_secs, wake)?);
        self.running = RACE_SOLVERS.first().copied();
        self.started = Some(Instant::now());
        Ok(())
    }

    /// Stops the race after the current iteration (the lanes so far stay).
    pub(crate) fn stop(&mut self, why: &str) {
        if self.waiting_for_fit {
            self.waiting_for_fit = false;
            self.outcome = Some(Outcome::Stopped(why.to_string()));
        }
        if let Some(job) = &self.job {
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

    /// The data the race thread works on, if it runs.
    pub(crate) fn job_data(&self) -> Option<&Arc<FaceMatrix>> {
        self.job.as_ref().map(RaceJob::data)
    }

    /// Takes the thread's messages; returns true when the race just ended.
    pub(crate) fn drain(&mut self) -> bool {
        let Some(job) = &self.job else {
            return false;
        };
        let mut ended = false;
        let mut failure = None;
        loop {
            match job.try_recv() {
                Ok(Message::Point(solver, p)) => {
                    self.running = Some(solver);
                    match self.lanes.last_mut() {
                        Some(lane) if lane.solver == solver => lane.points.push(p),
                        _ => self.lanes.push(Lane { solver, points: vec![p], stop: StopReason::Time, init_secs: 0.0 }),
                    }
                }
                Ok(Message::Lane(lane)) => {
                    let next = RACE_SOLVERS.iter().skip_while(|&&s| s != lane.solver).nth(1).copied();
                    match self.lanes.iter_mut().find(|l| l.solver == lane.solver) {
                        Some(l) => *l = lane,
                        None => self.lanes.push(lane),
                    }
                    self.running = next;
                }
                Ok(Message::Failed(e)) => failure = Some(e),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    ended = true;
                    break;
                }
            }
        }
        if let Some(e) = failure {
            self.outcome = Some(Outcome::Failed(e));
        }
        if ended {
            self.job = None;
            self.running = None;
            if self.outcome.is_none() {
                let all = self.lanes.len() == RACE_SOLVERS.len()
                    && self.lanes.iter().all(|l| l.stop != StopReason::Cancelled);
                self.outcome =
                    Some(if all { Outcome::Finished } else { Outcome::Stopped("the race ended early".to_string()) });
            }
        }
        ended
    }
}
