//! Layer 3: a background thread that drives an [`Nmf`] fit step by step.
//!
//! No egui here. The owner sends [`Command`]s through the [`Worker`] handle
//! and takes [`Update`]s; the thread wakes the owner through a [`Wake`]
//! closure (the app passes one that requests a repaint).
//!
//! - **Generations.** [`Worker::send`] tags every command with a number that
//!   increases. After handling each command the thread publishes its whole
//!   state tagged with that command's generation, so the owner knows what
//!   its view reflects: [`Worker::is_busy`] is "a command I sent has not been
//!   answered yet, or the fit runs". Updates older than the last `SetData` or
//!   `Reset` sent are dropped by the handle: the owner never sees a fit of
//!   the old data after sending new data.
//! - **One latest-value slot, no queue.** Commands arrive over a channel the
//!   fit loop polls between iterations (it blocks on it when idle). Updates
//!   go to a [`Latest`] slot: progress snapshots (about ten a second while
//!   running, plus one right after the initialisation and one at every end)
//!   replace what the owner has not taken, while the history (as deltas) and
//!   errors are merged into it, so nothing of those is lost when the owner is
//!   slow, and nothing blocks the thread.
//! - **The CPU lease.** While a heavy job holds the [`CpuLease`], the fit
//!   does not step (its state is [`FitState::Paused`]); it goes on when the
//!   lease is free, unless a command stopped it meanwhile. Commands act at
//!   once while paused.
//! - Changing k while a fit runs, or after it finished, re-fits at once from a
//!   warm start ([`Nmf::warm_start`]): components are kept, new ones are fitted
//!   to the residual, or the weakest are dropped. Consecutive queued k changes
//!   coalesce (only the last runs).
//! - **Continue, step, pace.** `Run` after a stop goes on from where the fit
//!   is (past a stopping rule too, with a fresh budget of iterations);
//!   `Step` does exactly one iteration and stops; a pace slows the fit to a
//!   number of iterations a second, and then every iteration is published.
//! - **Replay.** The thread keeps snapshots at log-spaced iterations
//!   ([`Replay`]) and publishes them when they change.
//! - W and H are behind [`Arc`]s in a snapshot, so the owner can hand them to
//!   its own jobs without copying.
//! - Dropping the [`Worker`] stops the fit and joins the thread.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::time::{Duration, Instant};

use ndarray::Array2;

use crate::jobs::{CpuLease, Job, JobError, Latest, Wake};
use crate::nmf::{AlphaLimits, FaceMatrix, Nmf, Params, Record, StopReason};
use crate::replay::{Kept, Replay};

/// How often progress snapshots are published while a fit runs.
pub const SNAPSHOT_INTERVAL: Duration = Duration::from_millis(100);

/// How often an idle worker looks whether the owner has released the
/// factors of old snapshots, to free them on this thread.
const RELEASE_POLL: Duration = Duration::from_millis(200);

/// How often a paused fit looks whether the lease is free (commands are
/// taken at once regardless).
const LEASE_POLL: Duration = Duration::from_millis(10);

/// What the owner asks the worker to do.
#[derive(Debug, Clone)]
pub enum Command {
    /// Fit with these parameters. A fit goes on from where it is, with
    /// these stopping rules: stopped by the owner, counting as before (up
    /// to `max_iter` in all); stopped by a rule, from here (another
    /// `max_iter` at most). With other solver settings it goes on from a
    /// warm start. Without a fit, or with another init or seed, a fit starts
    /// afresh from the initialisation.
    Run(Params),
    /// Exactly one iteration, as `Run` would go on, then stopped (a fit
    /// running is stopped first).
    Step(Params),
    /// Iterations a second at most (None: as fast as possible). While
    /// paced, every iteration is published.
    SetPace(Option<f64>),
    /// Stop the fit (`Run` continues it).
    Stop,
    /// Forget the fit.
    Reset,
    /// New parameters applied at once (k, a sparseness): with a fit
    /// (running or not), re-fits from a warm start at its current factors;
    /// without one, does nothing.
    WarmStart(Params),
    /// Replace the data; forgets the fit.
    SetData(Arc<FaceMatrix>),
    /// Take over a finished fit made elsewhere (a rank sweep's point): W
    /// (pixels × k) and H (k × faces) with `params.k` = k are installed as
    /// they are ([`Nmf::warm_start`] with k unchanged keeps them exactly),
    /// and a snapshot is published at once. With `run`, the fit then goes on;
    /// without, it waits stopped, and `Run` with the same parameters
    /// resumes it.
    Adopt {
        /// The parameters the factors were fitted with (k = their rank).
        params: Params,
        /// W (pixels × k).
        w: Array2<f32>,
        /// H (k × faces).
        h: Array2<f32>,
        /// The history of the fit they come from (initialisation first):
        /// the fit goes on from its iteration count and seconds. Empty: a
        /// fit of its own from iteration 0.
        history: Vec<Record>,
        /// Go on fitting after installing them.
        run: bool,
    },
    /// End the thread.
    Shutdown,
}

/// The state a [`Progress`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FitState {
    /// Stepping.
    Running,
    /// Would be stepping, but a job holds the [`CpuLease`]; goes on when it
    /// is free.
    Paused,
    /// Stopped by a stopping rule, or cancelled by the owner.
    Stopped(StopReason),
}

impl FitState {
    pub fn is_stopped(self) -> bool {
        matches!(self, FitState::Stopped(_))
    }
}

/// A copy of a fit's factors and figures.
#[derive(Debug, Clone)]
pub struct FitSnapshot {
    /// m × k basis images.
    pub w: Arc<Array2<f32>>,
    /// k × n weights.
    pub h: Arc<Array2<f32>>,
    pub iteration: usize,
    pub objective: f64,
    pub rel_err: f64,
    /// Seconds of work since the fit started, initialisation included.
    pub secs: f64,
}

/// One look at a fit (cheap to clone: the factors are shared).
#[derive(Debug, Clone)]
pub struct Progress {
    /// Increases with every new fit (a fresh init, a warm start, an adopt).
    pub fit_id: u64,
    /// True when this fit continued another one through a warm start (k
    /// changed), false when it started from an initialisation.
    pub warm_started: bool,
    pub params: Params,
    pub snapshot: FitSnapshot,
    pub state: FitState,
    /// Wall-clock seconds since the owner's command that started this fit.
    pub wall_secs: f64,
    /// Seconds the initialisation took (the first record's).
    pub init_secs: f64,
    /// The penalties that would zero every part, measured once the fit has
    /// stopped (None while it runs).
    pub alpha_limits: Option<AlphaLimits>,
}

/// The records of a fit's history appended since the last update taken.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryDelta {
    /// The fit they belong to (0 without a fit).
    pub fit_id: u64,
    /// A new fit began (or the fit was forgotten): drop the records kept so
    /// far; `records` then starts at the new fit's initialisation.
    pub reset: bool,
    pub records: Vec<Record>,
}

impl HistoryDelta {
    /// Appends a later delta (or replaces this one by it, if it resets).
    pub fn merge(&mut self, later: HistoryDelta) {
        if later.reset {
            *self = later;
        } else {
            self.fit_id = later.fit_id;
            self.records.extend(later.records);
        }
    }
}

/// A fit's whole history, kept from [`HistoryDelta`]s.
#[derive(Debug, Clone, Default)]
pub struct History {
    fit_id: u64,
    records: Vec<Record>,
}

impl History {
    pub fn apply(&mut self, delta: &HistoryDelta) {
        if delta.reset {
            self.records.clear();
        }
        self.fit_id = delta.fit_id;
        self.records.extend_from_slice(&delta.records);
    }

    /// The records (initialisation first).
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The fit they belong to (0 without a fit).
    pub fn fit_id(&self) -> u64 {
        self.fit_id
    }
}

/// The worker's state, published after every command and with progress.
/// Updates not taken yet are merged: the latest fit, every history record,
/// every error.
#[derive(Debug, Clone)]
pub struct Update {
    /// The generation of the last command handled.
    pub generation: u64,
    /// The fit now, or `None` when there is none (after `Reset`, `SetData`,
    /// or a failed start).
    pub fit: Option<Arc<Progress>>,
    /// The history since the last update taken.
    pub history: HistoryDelta,
    /// The snapshots kept for replay, when they changed since the last
    /// update taken (oldest first; empty after a new fit).
    pub replay: Option<Arc<Vec<Kept>>>,
    /// Commands that failed (invalid parameters, numerical trouble), oldest
    /// first.
    pub errors: Vec<String>,
}

impl Update {
    /// The fit's state; `None` without a fit.
    pub fn state(&self) -> Option<FitState> {
        self.fit.as_ref().map(|p| p.state)
    }

    /// Merges a later update into this one.
    fn merge(&mut self, later: Update) {
        self.generation = later.generation;
        self.fit = later.fit;
        self.history.merge(later.history);
        if later.replay.is_some() {
            self.replay = later.replay;
        }
        self.errors.extend(later.errors);
    }
}

/// The owner's handle. Dropping it stops the fit and joins the thread.
pub struct Worker {
    commands: Sender<(u64, Command)>,
    updates: Latest<Update>,
    /// The generation of the last command sent.
    last_sent: u64,
    /// The generation of the last `SetData` or `Reset` sent.
    last_clear: u64,
    /// The generation of the last update taken.
    answered: u64,
    /// The state in the last update taken.
    state: Option<FitState>,
    history: History,
    /// Errors of updates dropped as stale, for the next update delivered.
    held_errors: Vec<String>,
    job: Job<(), ()>,
}

impl Worker {
    /// Starts the thread on `data`. `wake` is called after every update
    /// published. The fit pauses while anyone holds `lease`.
    pub fn spawn(data: Arc<FaceMatrix>, wake: Wake, lease: CpuLease) -> Result<Worker, JobError> {
        Worker::spawn_named("worker", data, wake, lease)
    }

    /// [`Worker::spawn`] with the thread named `facenmf-{name}` (tests count
    /// their own threads by name).
    pub(crate) fn spawn_named(
        name: &str,
        data: Arc<FaceMatrix>,
        wake: Wake,
        lease: CpuLease,
    ) -> Result<Worker, JobError> {
        let (commands, command_rx) = mpsc::channel();
        let updates = Latest::new();
        let replay = Replay::for_set(data.pixels(), data.faces());
        let state = Thread {
            data,
            commands: command_rx,
            updates: updates.clone(),
            wake: Arc::clone(&wake),
            lease,
            generation: 0,
            fit: None,
            stopped: None,
            paused: false,
            fit_id: 0,
            warm_started: false,
            started: Instant::now(),
            last: None,
            dirty: false,
            published: 0,
            history_reset: false,
            errors: Vec::new(),
            last_publish: Instant::now(),
            pace: None,
            next_step_at: Instant::now(),
            replay,
            replay_changed: false,
            iteration_base: 0,
            made: Vec::new(),
        };
        let job = Job::spawn(name, wake, None, move |_| state.main_loop())?;
        Ok(Worker {
            commands,
            updates,
            last_sent: 0,
            last_clear: 0,
            answered: 0,
            state: None,
            history: History::default(),
            held_errors: Vec::new(),
            job,
        })
    }

    /// Queues a command and returns its generation; a fit in progress takes
    /// it within one iteration.
    pub fn send(&mut self, command: Command) -> u64 {
        self.last_sent += 1;
        let generation = self.last_sent;
        if matches!(command, Command::SetData(_) | Command::Reset) {
            self.last_clear = generation;
        }
        if self.commands.send((generation, command)).is_err() {
            log::warn!("the NMF worker thread has ended; command ignored");
        }
        generation
    }

    pub fn run(&mut self, params: Params) -> u64 {
        self.send(Command::Run(params))
    }

    pub fn stop(&mut self) -> u64 {
        self.send(Command::Stop)
    }

    pub fn reset(&mut self) -> u64 {
        self.send(Command::Reset)
    }

    /// See [`Command::Step`].
    pub fn step(&mut self, params: Params) -> u64 {
        self.send(Command::Step(params))
    }

    /// See [`Command::SetPace`].
    pub fn set_pace(&mut self, per_sec: Option<f64>) -> u64 {
        self.send(Command::SetPace(per_sec))
    }

    /// See [`Command::WarmStart`].
    pub fn warm_start(&mut self, params: Params) -> u64 {
        self.send(Command::WarmStart(params))
    }

    pub fn set_data(&mut self, data: Arc<FaceMatrix>) -> u64 {
        self.send(Command::SetData(data))
    }

    /// See [`Command::Adopt`].
    pub fn adopt(&mut self, params: Params, w: Array2<f32>, h: Array2<f32>, history: Vec<Record>, run: bool) -> u64 {
        self.send(Command::Adopt { params, w, h, history, run })
    }

    /// The update published since the last call, if any (stale ones, from
    /// before the last `SetData` or `Reset` sent, are dropped; their errors
    /// come with the next one). Keeps [`Worker::history`] and
    /// [`Worker::is_busy`] up to date.
    pub fn take_update(&mut self) -> Option<Update> {
        let Some(mut update) = self.updates.take() else {
            return self.exit_update();
        };
        self.answered = self.answered.max(update.generation);
        if update.generation < self.last_clear {
            self.held_errors.append(&mut update.errors);
            return None;
        }
        if !self.held_errors.is_empty() {
            self.held_errors.append(&mut update.errors);
            update.errors = std::mem::take(&mut self.held_errors);
        }
        self.state = update.state();
        self.history.apply(&update.history);
        Some(update)
    }

    /// When the thread has ended on its own (a panic), one last update that
    /// says so and forgets the fit.
    fn exit_update(&mut self) -> Option<Update> {
        let error = match self.job.poll()? {
            Ok(()) => "the NMF worker thread ended".to_owned(),
            Err(e) => format!("the NMF worker thread stopped: {e}"),
        };
        self.answered = self.last_sent;
        self.state = None;
        let history = HistoryDelta { fit_id: 0, reset: true, records: Vec::new() };
        self.history.apply(&history);
        Some(Update {
            generation: self.last_sent,
            fit: None,
            history,
            replay: Some(Arc::new(Vec::new())),
            errors: vec![error],
        })
    }

    /// The generation of the last command sent.
    pub fn last_sent_generation(&self) -> u64 {
        self.last_sent
    }

    /// The generation of the last command answered (in the updates taken).
    pub fn answered_generation(&self) -> u64 {
        self.answered
    }

    /// The fit's state in the last update taken (`None` without a fit).
    pub fn state(&self) -> Option<FitState> {
        self.state
    }

    /// True while the fit steps (as of the last update taken).
    pub fn is_running(&self) -> bool {
        self.state == Some(FitState::Running)
    }

    /// True while a command sent is not answered in the updates taken, or
    /// the fit steps. A fit paused by the lease is not busy.
    pub fn is_busy(&self) -> bool {
        self.answered < self.last_sent || self.is_running()
    }

    /// The current fit's history, from the updates taken.
    pub fn history(&self) -> &[Record] {
        self.history.records()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.commands.send((self.last_sent + 1, Command::Shutdown));
        // Dropping `job` (after this) joins the thread.
    }
}

/// The thread's state.
struct Thread {
    data: Arc<FaceMatrix>,
    commands: Receiver<(u64, Command)>,
    updates: Latest<Update>,
    wake: Wake,
    lease: CpuLease,
    /// The generation of the last command handled.
    generation: u64,
    fit: Option<Nmf>,
    /// None while running (or paused).
    stopped: Option<StopReason>,
    /// The lease was held at the last look (meaningful while running).
    paused: bool,
    fit_id: u64,
    warm_started: bool,
    started: Instant,
    /// The last progress published (reused while the fit has not changed).
    last: Option<Arc<Progress>>,
    /// The fit stepped since `last` was made.
    dirty: bool,
    /// History records of the current fit already published.
    published: usize,
    /// The fit changed (or was forgotten) since the last publish.
    history_reset: bool,
    /// Errors for the next publish.
    errors: Vec<String>,
    last_publish: Instant,
    /// Iterations a second at most (None: as fast as possible).
    pace: Option<f64>,
    /// When a paced fit takes its next step.
    next_step_at: Instant,
    /// Snapshots kept for replay.
    replay: Replay,
    /// The replay changed since the last publish.
    replay_changed: bool,
    /// Iterations of the fits before this one that it continues (warm
    /// starts): the replay's and the loss curve's count goes on from there.
    iteration_base: usize,
    /// The factors of every snapshot made, held until this thread is their
    /// last owner, then freed here ([`Thread::free_released`]), not on the
    /// UI thread: a block this big is given back to the system when freed
    /// (the app sets glibc so), and unmapping H of 50,000 faces (9.8 MB)
    /// costs the thread that frees it milliseconds.
    made: Vec<Arc<Array2<f32>>>,
}

/// A copy of `src` shared, with a handle kept in `made` (see
/// [`Thread::made`]): in the buffer of an earlier snapshot of its shape
/// that no one else holds any more, if there is one (a running fit's
/// snapshots then allocate nothing), else in a new one.
fn held_copy(made: &mut Vec<Arc<Array2<f32>>>, src: ndarray::ArrayView2<f32>) -> Arc<Array2<f32>> {
    let spare = made.iter().position(|a| a.dim() == src.dim() && Arc::strong_count(a) == 1 && Arc::weak_count(a) == 0);
    if let Some(i) = spare
        && let Some(buf) = Arc::get_mut(&mut made[i])
    {
        buf.assign(&src);
        return Arc::clone(&made[i]);
    }
    let a = Arc::new(src.as_standard_layout().into_owned());
    made.push(Arc::clone(&a));
    a
}

/// Released snapshot buffers of one shape kept for the next snapshots
/// while a fit runs ([`held_copy`]); the others are freed.
const SPARE_SNAPSHOT_BUFFERS: usize = 2;

/// Whether the thread goes on.
enum Flow {
    Continue,
    Exit,
}

impl Thread {
    fn main_loop(mut self) {
        loop {
            let command = if !self.is_running() {
                self.free_released();
                if self.holds_others() {
                    // Idle, with factors another thread still holds: look
                    // again shortly, to free them here once released.
                    match self.commands.recv_timeout(RELEASE_POLL) {
                        Ok(c) => Some(c),
                        Err(RecvTimeoutError::Timeout) => continue,
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                } else {
                    match self.commands.recv() {
                        Ok(c) => Some(c),
                        Err(_) => return,
                    }
                }
            } else {
                if self.lease.is_held() != self.paused {
                    // Paused or resumed: say so (publish looks again).
                    self.publish();
                }
                let wait = if self.paused {
                    Some(LEASE_POLL)
                } else {
                    self.pace.map(|_| self.next_step_at.saturating_duration_since(Instant::now()))
                };
                if let Some(wait) = wait.filter(|w| !w.is_zero()) {
                    match self.commands.recv_timeout(wait) {
                        Ok(c) => Some(c),
                        Err(RecvTimeoutError::Timeout) => None,
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                } else {
                    match self.commands.try_recv() {
                        Ok(c) => Some(c),
                        Err(TryRecvError::Empty) => None,
                        Err(TryRecvError::Disconnected) => return,
                    }
                }
            };
            match command {
                Some(first) => {
                    if let Flow::Exit = self.handle_queued(first) {
                        return;
                    }
                }
                None if !self.paused && self.next_step_at <= Instant::now() => self.step(),
                None => {}
            }
        }
    }

    /// Handles `first` and whatever else is queued, skipping a warm start that
    /// the next one replaces (sliding k or the sparseness sends many); publishes after each.
    fn handle_queued(&mut self, first: (u64, Command)) -> Flow {
        let mut queue: Vec<(u64, Command)> = std::iter::once(first).chain(self.commands.try_iter()).collect();
        let last = queue.len() - 1;
        for i in 0..queue.len() {
            let superseded = i < last
                && matches!(queue[i].1, Command::WarmStart(_))
                && matches!(queue[i + 1].1, Command::WarmStart(_));
            let (generation, command) = std::mem::replace(&mut queue[i], (0, Command::Stop));
            if superseded {
                continue;
            }
            self.generation = generation;
            if let Flow::Exit = self.handle(command) {
                return Flow::Exit;
            }
            self.publish();
        }
        Flow::Continue
    }

    /// Running or paused: not stopped.
    fn is_running(&self) -> bool {
        self.fit.is_some() && self.stopped.is_none()
    }

    fn handle(&mut self, command: Command) -> Flow {
        match command {
            Command::Run(params) => {
                self.started = Instant::now();
                self.go_on(params, false);
            }
            Command::Step(params) => {
                if self.fit.is_none() {
                    self.started = Instant::now();
                }
                if self.go_on(params, true)
                    && let Some(fit) = self.fit.as_mut()
                {
                    fit.step();
                    self.dirty = true;
                    self.stopped = Some(StopReason::Cancelled);
                    self.keep_for_replay(true);
                }
            }
            Command::SetPace(pace) => {
                self.pace = pace.filter(|p| p.is_finite() && *p > 0.0);
                self.next_step_at = Instant::now();
            }
            Command::Stop => {
                if self.is_running() {
                    self.stopped = Some(StopReason::Cancelled);
                    self.keep_for_replay(true);
                }
            }
            Command::Reset => self.forget(),
            Command::WarmStart(params) => {
                if let Some(fit) = self.fit.take() {
                    self.started = Instant::now();
                    self.warm_start_from(fit, params);
                }
            }
            Command::SetData(data) => {
                self.replay = Replay::for_set(data.pixels(), data.faces());
                self.data = data;
                self.forget();
            }
            Command::Adopt { params, w, h, history, run } => {
                if w.ncols() != params.k {
                    self.errors.push(format!("cannot open a fit of rank {} as k = {}", w.ncols(), params.k));
                } else {
                    self.started = Instant::now();
                    let data = Arc::clone(&self.data);
                    let fit = if history.is_empty() {
                        Nmf::warm_start(data, params, w, h)
                    } else {
                        Nmf::resume(data, params, w, h, history)
                    };
                    self.start(fit, false);
                    if !run && self.fit.is_some() {
                        self.stopped = Some(StopReason::Cancelled);
                    }
                }
            }
            Command::Shutdown => return Flow::Exit,
        }
        Flow::Continue
    }

    /// Makes the fit ready to go on with `params` (see [`Command::Run`])
    /// and marks it running; false when no fit could be made (the error is
    /// reported).
    ///
    /// A new fit made to be watched iteration by iteration — when paced, or
    /// for `stepping` — starts without the init's iterations on the sketch
    /// of A ([`Params::sketch_warmup_iter`]), so that every iteration from
    /// the initialisation on is seen.
    fn go_on(&mut self, params: Params, stepping: bool) -> bool {
        let watched = stepping || self.pace.is_some();
        let fresh = |p: Params| if watched { p.sketch_warmup_iter(0) } else { p };
        let Some(fit) = self.fit.as_mut() else {
            self.start(Nmf::new(Arc::clone(&self.data), fresh(params)), false);
            return self.fit.is_some();
        };
        let current = fit.params().clone();
        // Stopped by the owner (or running): the rules count on as before;
        // stopped by a rule: from here, or it would stop again at once.
        let by_rule = self.stopped.is_some_and(|r| r != StopReason::Cancelled);
        if current == params && !by_rule {
            // The same run goes on.
        } else if current.with_stopping_of(&params) == params {
            if let Err(e) = fit.continue_run(&params, by_rule) {
                self.errors.push(format!("{:#}", anyhow::Error::new(e)));
                return false;
            }
            self.last = None;
        } else if current.init != params.init || current.seed != params.seed {
            // Another start asked for: a new fit.
            self.start(Nmf::new(Arc::clone(&self.data), fresh(params)), false);
            return self.fit.is_some();
        } else if let Some(fit) = self.fit.take() {
            // Another solver, penalties or k: from the current factors.
            self.warm_start_from(fit, params);
            return self.fit.is_some();
        }
        self.stopped = None;
        true
    }

    /// Replaces `fit` by a warm start from its factors with `params`.
    fn warm_start_from(&mut self, fit: Nmf, params: Params) {
        let done = fit.iteration();
        let (w, h) = fit.into_factors();
        let warm = Nmf::warm_start(Arc::clone(&self.data), params, w, h);
        if warm.is_ok() {
            // Counted on from where the last fit ended (before `start`
            // keeps the warm start's first snapshot).
            self.iteration_base += done;
        }
        self.start(warm, true);
    }

    /// Installs a new fit (running), or forgets the fit and reports why it
    /// could not be made. A fit that does not continue another (not a warm
    /// start) starts the replay and the iteration count over.
    fn start(&mut self, fit: Result<Nmf, crate::nmf::NmfError>, warm_started: bool) {
        match fit {
            Ok(fit) => {
                self.fit = Some(fit);
                self.stopped = None;
                self.fit_id += 1;
                self.warm_started = warm_started;
                self.last = None;
                self.published = 0;
                self.history_reset = true;
                self.dirty = true;
                if !warm_started {
                    self.iteration_base = 0;
                    self.replay.clear();
                }
                self.keep_for_replay(true);
                if let Some(pace) = self.pace {
                    // Paced, the start is shown for a step's time too.
                    self.next_step_at = Instant::now() + Duration::from_secs_f64(1.0 / pace);
                }
            }
            Err(e) => {
                self.forget();
                self.errors.push(format!("{:#}", anyhow::Error::new(e)));
            }
        }
    }

    fn forget(&mut self) {
        self.fit = None;
        self.stopped = None;
        self.last = None;
        self.published = 0;
        self.history_reset = true;
        self.iteration_base = 0;
        self.replay.clear();
        self.replay_changed = true;
    }

    /// Keeps the current factors for replay when their iteration is due
    /// (or `always`).
    fn keep_for_replay(&mut self, always: bool) {
        let Some(fit) = self.fit.as_ref() else {
            return;
        };
        let iteration = self.iteration_base + fit.iteration();
        if (always || self.replay.is_due(iteration))
            && let Some(progress) = self.progress()
        {
            self.replay.keep(iteration, progress);
            self.replay_changed = true;
        }
    }

    /// One iteration, or the end when a stopping rule says so; publishes
    /// about ten times a second, and at the end.
    fn step(&mut self) {
        let Some(fit) = self.fit.as_mut() else {
            return;
        };
        if let Some(reason) = fit.stop_reason() {
            self.stopped = Some(reason);
            self.keep_for_replay(true);
            self.publish();
            return;
        }
        fit.step();
        crate::jobs::log_iteration(fit.iteration());
        self.dirty = true;
        self.keep_for_replay(false);
        if let Some(pace) = self.pace {
            // Paced: every iteration is shown.
            self.next_step_at = Instant::now() + Duration::from_secs_f64(1.0 / pace);
            self.publish();
        } else if self.last_publish.elapsed() >= SNAPSHOT_INTERVAL {
            self.publish();
        }
    }

    fn state(&self) -> FitState {
        match self.stopped {
            Some(reason) => FitState::Stopped(reason),
            None if self.paused => FitState::Paused,
            None => FitState::Running,
        }
    }

    /// [`Nmf::alpha_limits`] of a stopped fit (two products: measured on
    /// this thread, once per snapshot, never while the fit runs).
    fn limits_if_stopped(fit: &Nmf, state: FitState) -> Option<AlphaLimits> {
        state.is_stopped().then(|| fit.alpha_limits())
    }

    /// The current fit as published: the last one when nothing changed, a
    /// copy with the new state when only that changed, else a new snapshot.
    fn progress(&mut self) -> Option<Arc<Progress>> {
        let fit = self.fit.as_ref()?;
        let state = self.state();
        let progress = match &self.last {
            Some(last) if !self.dirty && last.state == state => return Some(Arc::clone(last)),
            Some(last) if !self.dirty => Progress {
                state,
                wall_secs: self.started.elapsed().as_secs_f64(),
                alpha_limits: last
                    .alpha_limits
                    .filter(|_| last.state.is_stopped())
                    .or_else(|| Self::limits_if_stopped(fit, state)),
                ..Progress::clone(last)
            },
            _ => Progress {
                fit_id: self.fit_id,
                warm_started: self.warm_started,
                params: fit.params().clone(),
                snapshot: FitSnapshot {
                    w: held_copy(&mut self.made, fit.w()),
                    h: held_copy(&mut self.made, fit.h()),
                    iteration: fit.iteration(),
                    objective: fit.objective(),
                    rel_err: fit.rel_err(),
                    secs: fit.secs(),
                },
                state,
                wall_secs: self.started.elapsed().as_secs_f64(),
                init_secs: fit.init_secs(),
                alpha_limits: Self::limits_if_stopped(fit, state),
            },
        };
        self.dirty = false;
        let progress = Arc::new(progress);
        self.last = Some(Arc::clone(&progress));
        Some(progress)
    }

    /// Frees the factors of the snapshots no one else holds any more;
    /// while a fit runs, keeps [`SPARE_SNAPSHOT_BUFFERS`] of each shape for
    /// its next snapshots.
    fn free_released(&mut self) {
        let keep = if self.is_running() { SPARE_SNAPSHOT_BUFFERS } else { 0 };
        let mut kept: Vec<(usize, usize)> = Vec::new();
        self.made.retain(|a| {
            if Arc::strong_count(a) > 1 {
                return true;
            }
            let spare = kept.iter().filter(|&&d| d == a.dim()).count() < keep;
            if spare {
                kept.push(a.dim());
            }
            spare
        });
    }

    /// True when some factors made are held by others than this thread's
    /// last snapshot and replay (the owner, a job): they will be released.
    fn holds_others(&self) -> bool {
        let own: Vec<*const Array2<f32>> = self
            .last
            .iter()
            .chain(self.replay.kept().iter().map(|k| &k.progress))
            .flat_map(|p| [Arc::as_ptr(&p.snapshot.w), Arc::as_ptr(&p.snapshot.h)])
            .collect();
        self.made.iter().any(|a| !own.contains(&Arc::as_ptr(a)))
    }

    /// Merges the current state into the slot and wakes the owner.
    fn publish(&mut self) {
        self.free_released();
        self.paused = self.lease.is_held();
        let fit = self.progress();
        let records = match &self.fit {
            Some(f) => f.history().get(self.published..).unwrap_or_default().to_vec(),
            None => Vec::new(),
        };
        self.published += records.len();
        let history = HistoryDelta {
            fit_id: if self.fit.is_some() { self.fit_id } else { 0 },
            reset: std::mem::take(&mut self.history_reset),
            records,
        };
        let replay = std::mem::take(&mut self.replay_changed).then(|| Arc::new(self.replay.kept().to_vec()));
        let update =
            Update { generation: self.generation, fit, history, replay, errors: std::mem::take(&mut self.errors) };
        self.updates.update(|slot| match slot {
            Some(waiting) => waiting.merge(update),
            None => *slot = Some(update),
        });
        self.last_publish = Instant::now();
        (self.wake)();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::{live_threads, live_threads_named, no_wake};
    use crate::nmf::Solver;

    #[test]
    fn a_snapshot_reuses_a_released_buffer_of_its_shape_and_never_one_still_held() {
        let mut made = Vec::new();
        let x = Array2::from_shape_fn((4, 3), |(i, j)| (i * 3 + j) as f32);
        let first = held_copy(&mut made, x.view());
        let ptr = first.as_ptr();
        // Still held (by `first`): a second copy gets a buffer of its own.
        let second = held_copy(&mut made, x.t());
        assert_ne!(second.as_ptr(), ptr);
        assert_eq!(*second, x.t());
        let held = held_copy(&mut made, x.view());
        assert_ne!(held.as_ptr(), ptr);
        drop(first);
        // Released: the next copy of that shape is written into it.
        let y = x.mapv(|v| v + 1.0);
        let third = held_copy(&mut made, y.view());
        assert_eq!(third.as_ptr(), ptr);
        assert_eq!(*third, y);
        assert_eq!(*held, x, "a held snapshot is never overwritten");
        assert_eq!(made.len(), 3);
    }

    fn matrix(m: usize, n: usize) -> Arc<FaceMatrix> {
        let a = Array2::from_shape_fn((m, n), |(i, j)| (((i * 7 + j * 13) % 17) as f32 / 17.0) + 0.01);
        Arc::new(FaceMatrix::new(a).unwrap())
    }

    fn data() -> Arc<FaceMatrix> {
        matrix(64, 30)
    }

    fn spawn(d: Arc<FaceMatrix>) -> Worker {
        Worker::spawn(d, no_wake(), CpuLease::new()).unwrap()
    }

    /// Takes updates until `done` holds for the worker and the latest fit,
    /// at most 30 s; returns that fit.
    fn wait_for(
        w: &mut Worker,
        what: &str,
        mut done: impl FnMut(&Worker, Option<&Progress>) -> bool,
    ) -> Option<Arc<Progress>> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut latest = None;
        loop {
            while let Some(u) = w.take_update() {
                latest = u.fit;
            }
            if done(w, latest.as_deref()) {
                return latest;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// The fit once it has stopped and every command was answered.
    fn wait_final(w: &mut Worker) -> Arc<Progress> {
        wait_for(w, "a final state", |w, p| !w.is_busy() && p.is_some_and(|p| matches!(p.state, FitState::Stopped(_))))
            .unwrap()
    }

    /// Takes updates until `done` holds for one.
    fn wait_update(w: &mut Worker, what: &str, mut done: impl FnMut(&Update) -> bool) -> Update {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(u) = w.take_update()
                && done(&u)
            {
                return u;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn fit_matches_headless_and_stops() {
        let d = data();
        let params = Params::new(5).solver(Solver::Hals).max_iter(40).tol(0.0).seed(3);
        let mut w = spawn(Arc::clone(&d));
        w.run(params.clone());
        let p = wait_final(&mut w);
        assert_eq!(p.state, FitState::Stopped(StopReason::MaxIter));
        let mut headless = Nmf::new(d, params).unwrap();
        headless.run(None, |_| {});
        let s = headless.snapshot();
        assert_eq!(*p.snapshot.w, s.w);
        assert_eq!(*p.snapshot.h, s.h);
        assert_eq!(p.snapshot.iteration, 40);
        assert_eq!(w.history().len(), 41);
    }

    #[test]
    fn history_deltas_add_up_to_the_headless_history() {
        let d = data();
        let params = Params::new(4).solver(Solver::Mu).max_iter(3000).tol(0.0).seed(5);
        let mut w = spawn(Arc::clone(&d));
        w.run(params.clone());
        // Take updates slowly: deltas merge while the owner sleeps.
        let mut records = Vec::new();
        let mut resets = 0;
        let mut updates = 0;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(u) = w.take_update() {
                updates += 1;
                if u.history.reset {
                    resets += 1;
                    records.clear();
                }
                records.extend(u.history.records);
            }
            if !w.is_busy() && matches!(w.state(), Some(FitState::Stopped(_))) {
                break;
            }
            assert!(Instant::now() < deadline, "the fit did not finish");
            std::thread::sleep(Duration::from_millis(7));
        }
        assert_eq!(resets, 1, "one fit, one reset");
        assert!(updates >= 1);
        let mut headless = Nmf::new(d, params).unwrap();
        headless.run(None, |_| {});
        let expected = headless.history();
        assert_eq!(records.len(), expected.len());
        for (got, want) in records.iter().zip(expected) {
            assert_eq!((got.iteration, got.objective, got.rel_err), (want.iteration, want.objective, want.rel_err));
        }
        assert_eq!(w.history(), &records[..], "the handle keeps the same history");
    }

    #[test]
    fn warm_start_measures_stopped_fits_and_drop_joins() {
        let d = data();
        {
            let mut w = Worker::spawn_named("worker-test-drop", d, no_wake(), CpuLease::new()).unwrap();
            assert_eq!(live_threads_named("worker-test-drop"), 1);
            assert!(live_threads() >= 1);
            w.run(Params::new(4).max_iter(20).tol(0.0));
            let first = wait_final(&mut w);
            w.warm_start(Params::new(6).max_iter(20).tol(0.0));
            let p = wait_final(&mut w);
            assert!(p.warm_started);
            assert!(p.fit_id > first.fit_id);
            assert_eq!(p.snapshot.w.ncols(), 6);
            assert!(p.alpha_limits.is_some(), "a stopped fit is measured");
            w.run(Params::new(6).max_iter(1_000_000).tol(0.0));
            let running = wait_for(&mut w, "running", |w, p| w.is_running() && p.is_some()).unwrap();
            assert!(running.alpha_limits.is_none(), "a running fit is not");
            w.stop();
            let p = wait_final(&mut w);
            assert_eq!(p.state, FitState::Stopped(StopReason::Cancelled));
            assert!(p.alpha_limits.is_some());
            // Still stepping when dropped: drop stops and joins.
            w.run(Params::new(6).max_iter(1_000_000).tol(0.0));
            wait_for(&mut w, "running again", |w, _| w.is_running());
            drop(w);
        }
        assert_eq!(live_threads_named("worker-test-drop"), 0, "the worker thread is still running");
    }

    #[test]
    fn queued_warm_starts_coalesce() {
        // A larger matrix and k: the Run's initialisation takes long enough
        // for all the k changes sent after it to be queued behind it.
        let d = matrix(1500, 300);
        let mut w = spawn(d);
        w.run(Params::new(40).max_iter(5).tol(0.0));
        for k in 41..=46 {
            w.warm_start(Params::new(k).max_iter(5).tol(0.0));
        }
        let p = wait_final(&mut w);
        assert_eq!(p.params.k, 46);
        assert!(p.warm_started);
        // One fit for the Run, one for the last k change.
        assert_eq!(p.fit_id, 2, "queued k changes were not coalesced");
    }

    #[test]
    fn a_stop_right_after_run_is_never_lost() {
        let d = data();
        let mut w = spawn(d);
        let params = Params::new(4).max_iter(1_000_000).tol(0.0).seed(1);
        for round in 0..200 {
            w.run(params.clone());
            let stop = w.stop();
            let p = wait_for(&mut w, "the stop to be answered", |w, _| !w.is_busy());
            assert!(w.answered_generation() >= stop);
            assert_eq!(w.state(), Some(FitState::Stopped(StopReason::Cancelled)), "round {round}");
            assert_eq!(p.map(|p| p.state), Some(FitState::Stopped(StopReason::Cancelled)), "round {round}");
        }
        // A Stop with nothing running is answered too.
        w.reset();
        let stop = w.stop();
        wait_for(&mut w, "an idle stop", |w, _| !w.is_busy());
        assert_eq!(w.answered_generation(), stop);
        assert_eq!(w.state(), None);
    }

    #[test]
    fn no_update_of_the_old_data_after_set_data() {
        // Iterations of about a millisecond: the worker takes a command a
        // little after it was sent, while the owner looks at once.
        let shapes = [(400, 200), (300, 150)];
        let sets = [matrix(shapes[0].0, shapes[0].1), matrix(shapes[1].0, shapes[1].1)];
        let mut w = spawn(Arc::clone(&sets[0]));
        let params = Params::new(10).max_iter(1_000_000).tol(0.0).seed(2);
        w.run(params.clone());
        let mut checked = 0;
        for round in 0..20 {
            // Leave a snapshot of the current fit untaken in the slot.
            std::thread::sleep(SNAPSHOT_INTERVAL + Duration::from_millis(20));
            let i = (round + 1) % 2;
            w.set_data(Arc::clone(&sets[i]));
            w.run(params.clone());
            let (m, n) = shapes[i];
            let deadline = Instant::now() + Duration::from_secs(30);
            // Look at every update until the new fit has stepped a little.
            loop {
                if let Some(u) = w.take_update() {
                    assert!(u.errors.is_empty(), "{:?}", u.errors);
                    if let Some(p) = &u.fit {
                        let shape = (p.snapshot.w.nrows(), p.snapshot.h.ncols());
                        assert_eq!(shape, (m, n), "round {round}: a snapshot of the old data");
                        checked += 1;
                        if p.snapshot.iteration > 0 {
                            break;
                        }
                    }
                }
                assert!(Instant::now() < deadline, "round {round}: the new fit did not run");
            }
        }
        assert!(checked >= 20);
    }

    #[test]
    fn the_lease_pauses_the_fit_and_commands_still_act() {
        let d = data();
        let lease = CpuLease::new();
        let mut w = Worker::spawn(Arc::clone(&d), no_wake(), lease.clone()).unwrap();
        let params = Params::new(4).solver(Solver::Hals).max_iter(200).tol(0.0).seed(4);

        // Held before Run: the fit is initialised, then waits.
        let guard = lease.acquire();
        w.run(params.clone());
        let p = wait_for(&mut w, "paused", |w, _| !w.is_busy() && w.state() == Some(FitState::Paused)).unwrap();
        assert_eq!(p.snapshot.iteration, 0);
        std::thread::sleep(Duration::from_millis(150));
        while let Some(u) = w.take_update() {
            assert_eq!(u.fit.map(|p| p.snapshot.iteration), Some(0), "stepped while the lease was held");
        }
        assert_eq!(w.state(), Some(FitState::Paused));
        // Released: it goes on to the end, exactly as a headless run.
        drop(guard);
        let p = wait_final(&mut w);
        assert_eq!(p.state, FitState::Stopped(StopReason::MaxIter));
        let mut headless = Nmf::new(Arc::clone(&d), params).unwrap();
        headless.run(None, |_| {});
        assert_eq!(*p.snapshot.w, headless.snapshot().w);

        // Held mid-run: the iteration count stands still.
        let long = Params::new(4).max_iter(1_000_000).tol(0.0);
        w.run(long.clone());
        wait_for(&mut w, "iterations", |w, p| w.is_running() && p.is_some_and(|p| p.snapshot.iteration > 0));
        let guard = lease.acquire();
        let p = wait_for(&mut w, "paused mid-run", |w, _| w.state() == Some(FitState::Paused)).unwrap();
        let at = p.snapshot.iteration;
        assert!(!w.is_busy(), "a paused fit is not busy");
        std::thread::sleep(Duration::from_millis(150));
        while let Some(u) = w.take_update() {
            assert_eq!(u.fit.map(|p| p.snapshot.iteration), Some(at));
        }
        // Stop acts at once while paused, and the fit stays stopped when
        // the lease is freed (it was not running when it was freed).
        w.stop();
        let p = wait_final(&mut w);
        assert_eq!(p.state, FitState::Stopped(StopReason::Cancelled));
        assert_eq!(p.snapshot.iteration, at);
        drop(guard);
        std::thread::sleep(Duration::from_millis(100));
        assert!(w.take_update().is_none(), "nothing happens when a stopped fit's lease is freed");
        assert_eq!(w.state(), Some(FitState::Stopped(StopReason::Cancelled)));

        // Run while held resumes into Paused; a second holder keeps it
        // paused until the last lets go.
        let (g1, g2) = (lease.acquire(), lease.acquire());
        w.run(long.clone());
        let p = wait_for(&mut w, "resumed paused", |w, _| !w.is_busy() && w.state() == Some(FitState::Paused)).unwrap();
        assert_eq!(p.snapshot.iteration, at, "resumed, not restarted");
        drop(g1);
        std::thread::sleep(Duration::from_millis(50));
        while w.take_update().is_some() {}
        assert_eq!(w.state(), Some(FitState::Paused));
        drop(g2);
        wait_for(&mut w, "running after the last holder", |_, p| {
            p.is_some_and(|p| p.state == FitState::Running && p.snapshot.iteration > at)
        });

        // WarmStart and Reset act while paused.
        let _g = lease.acquire();
        wait_for(&mut w, "paused again", |w, _| w.state() == Some(FitState::Paused));
        w.warm_start(Params::new(6).max_iter(1_000_000).tol(0.0));
        let p = wait_for(&mut w, "k = 6", |w, p| !w.is_busy() && p.is_some_and(|p| p.params.k == 6)).unwrap();
        assert_eq!(p.state, FitState::Paused);
        assert!(p.warm_started);
        w.reset();
        wait_for(&mut w, "the reset", |w, p| !w.is_busy() && p.is_none());
        assert_eq!(w.state(), None);
    }

    #[test]
    fn adopt_installs_factors_exactly_then_runs_or_waits() {
        let d = data();
        let params = Params::new(4).solver(Solver::Hals).max_iter(15).tol(0.0).seed(9);
        let mut headless = Nmf::new(Arc::clone(&d), params.clone()).unwrap();
        headless.run(None, |_| {});
        let history = headless.history().to_vec();
        let (w0, h0) = headless.into_factors();
        let mut worker = spawn(Arc::clone(&d));
        // With its history, the fit goes on from where it stopped: its
        // iteration count and error as they were, then more iterations.
        worker.adopt(params.clone(), w0.clone(), h0.clone(), history.clone(), false);
        let p = wait_final(&mut worker);
        assert_eq!(p.snapshot.iteration, 15);
        assert_eq!(*p.snapshot.w, w0);
        assert!((p.snapshot.rel_err - d.rel_err(w0.view(), h0.view())).abs() < 1e-6);
        assert_eq!(worker.history().len(), history.len());
        worker.run(params.clone().max_iter(25));
        let p = wait_final(&mut worker);
        assert_eq!((p.snapshot.iteration, p.state), (25, FitState::Stopped(StopReason::MaxIter)));
        // Another fit of a different k is running: adopting replaces it.
        worker.run(Params::new(6).max_iter(1_000_000).tol(0.0));
        std::thread::sleep(Duration::from_millis(30));
        worker.adopt(params.clone(), w0.clone(), h0.clone(), Vec::new(), false);
        let p = wait_final(&mut worker);
        assert_eq!(p.state, FitState::Stopped(StopReason::Cancelled));
        assert_eq!(p.params.k, 4);
        assert_eq!(*p.snapshot.w, w0);
        assert_eq!(*p.snapshot.h, h0);
        assert_eq!(p.snapshot.iteration, 0);
        assert!(!p.warm_started);
        assert!(!worker.is_running());
        // Run with the same parameters resumes from the adopted factors.
        worker.run(params.clone());
        let p = wait_final(&mut worker);
        assert_eq!(p.state, FitState::Stopped(StopReason::MaxIter));
        assert_eq!(p.snapshot.iteration, 15);
        assert!(p.snapshot.rel_err <= d.rel_err(w0.view(), h0.view()) + 1e-6);
        // With `run`, it goes on at once; a rank mismatch is an error.
        worker.adopt(params.clone(), w0.clone(), h0.clone(), Vec::new(), true);
        let p = wait_final(&mut worker);
        assert_eq!(p.state, FitState::Stopped(StopReason::MaxIter));
        worker.adopt(Params::new(5), w0, h0, Vec::new(), false);
        let u = wait_update(&mut worker, "the error", |u| !u.errors.is_empty());
        assert!(u.errors[0].contains("rank 4"), "{:?}", u.errors);
        // The fit is kept.
        assert_eq!(u.fit.map(|p| p.params.k), Some(4));
    }

    #[test]
    fn errors_are_kept_until_taken() {
        let d = data();
        let mut w = spawn(d);
        // k above min(pixels, faces) is refused; progress after it must not
        // overwrite the error.
        w.run(Params::new(500));
        w.run(Params::new(3).max_iter(50).tol(0.0));
        let p = wait_final(&mut w);
        assert_eq!(p.state, FitState::Stopped(StopReason::MaxIter));
        // wait_final took the update with the error; run again and check
        // the merge directly on a slow owner.
        w.run(Params::new(500));
        w.run(Params::new(3).max_iter(50).tol(0.0).seed(8));
        std::thread::sleep(Duration::from_millis(200));
        let u = w.take_update().expect("an update");
        assert_eq!(u.errors.len(), 1, "{:?}", u.errors);
        assert_eq!(u.state(), Some(FitState::Stopped(StopReason::MaxIter)));
        assert!(u.history.reset);
        assert_eq!(u.history.records.len(), 51);
    }

    #[test]
    fn run_after_a_rule_continues_as_one_longer_fit() {
        let d = data();
        let params = Params::new(5).solver(Solver::Hals).max_iter(12).tol(0.0).seed(3);
        let mut w = spawn(Arc::clone(&d));
        w.run(params.clone());
        let p = wait_final(&mut w);
        assert_eq!((p.snapshot.iteration, p.state), (12, FitState::Stopped(StopReason::MaxIter)));
        let fit_id = p.fit_id;
        // Past max_iter: another 12 iterations of the same fit.
        w.run(params.clone());
        let p = wait_for(&mut w, "the continued fit", |w, p| {
            !w.is_busy() && p.is_some_and(|p| p.state.is_stopped() && p.snapshot.iteration > 12)
        })
        .unwrap();
        assert_eq!((p.snapshot.iteration, p.fit_id), (24, fit_id));
        let mut straight = Nmf::new(Arc::clone(&d), params.clone().max_iter(24)).unwrap();
        straight.run(None, |_| {});
        assert_eq!(*p.snapshot.w, straight.w());
        assert_eq!(*p.snapshot.h, straight.h().as_standard_layout().into_owned());
        assert_eq!(w.history().len(), 25);
        // Another seed starts a new fit; another solver goes on from the parts.
        w.run(params.clone().seed(4));
        let p = wait_final(&mut w);
        assert!(p.fit_id > fit_id && !p.warm_started);
        assert_eq!(p.snapshot.iteration, 12);
        w.run(params.clone().seed(4).solver(Solver::Mu));
        let p = wait_final(&mut w);
        assert!(p.warm_started);
        assert_eq!(p.params.solver, Solver::Mu);
    }

    #[test]
    fn step_does_one_iteration_and_the_replay_keeps_every_early_one() {
        let d = data();
        let params = Params::new(4).solver(Solver::Hals).max_iter(1_000).tol(0.0).seed(1);
        let mut w = spawn(Arc::clone(&d));
        let mut headless = Nmf::new(Arc::clone(&d), params.clone()).unwrap();
        let mut replay = Vec::new();
        for expected in 1..=5 {
            w.step(params.clone());
            let u = wait_update(&mut w, "a step", |u| {
                u.fit.as_ref().is_some_and(|p| p.snapshot.iteration == expected && p.state.is_stopped())
            });
            if let Some(r) = u.replay {
                replay = r.iter().map(|k| k.iteration).collect();
            }
            headless.step();
            assert_eq!(*u.fit.unwrap().snapshot.w, headless.w());
        }
        while let Some(u) = w.take_update() {
            if let Some(r) = u.replay {
                replay = r.iter().map(|k| k.iteration).collect();
            }
        }
        assert_eq!(replay, vec![0, 1, 2, 3, 4, 5]);
        // A warm start (another k) goes on counting: the past is kept.
        w.warm_start(Params { k: 6, max_iter: 3, ..params.clone() });
        let u = wait_update(&mut w, "the warm start", |u| {
            u.fit.as_ref().is_some_and(|p| p.params.k == 6 && p.state.is_stopped())
        });
        let mut replay: Vec<usize> = u.replay.map(|r| r.iter().map(|k| k.iteration).collect()).unwrap_or(replay);
        while let Some(u) = w.take_update() {
            if let Some(r) = u.replay {
                replay = r.iter().map(|k| k.iteration).collect();
            }
        }
        assert_eq!(replay, vec![0, 1, 2, 3, 4, 5, 6, 7, 8], "the warm start's iterations follow the first fit's");
        // A paced fit still stops when told, and Reset empties the replay.
        w.set_pace(Some(2.0));
        w.run(params.clone());
        w.stop();
        wait_final(&mut w);
        w.reset();
        let u = wait_update(&mut w, "the reset", |u| u.fit.is_none());
        assert!(u.replay.is_some_and(|r| r.is_empty()));
    }

    #[test]
    fn a_paced_fit_publishes_every_iteration_and_keeps_the_pace() {
        let d = data();
        let wakes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = Arc::clone(&wakes);
        let wake: Wake = Arc::new(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        });
        let mut w = Worker::spawn(Arc::clone(&d), wake, CpuLease::new()).unwrap();
        w.set_pace(Some(50.0));
        let params = Params::new(4).solver(Solver::Hals).max_iter(10).tol(0.0).seed(2);
        let started = Instant::now();
        w.run(params);
        let p = wait_final(&mut w);
        assert_eq!(p.snapshot.iteration, 10);
        // Each of the 10 iterations waited a fiftieth of a second (the start
        // is shown for one too): at least 10 × 20 ms.
        assert!(started.elapsed() >= Duration::from_millis(200), "{:?}", started.elapsed());
        // One publish per command (two) and per iteration (ten), and the end.
        assert!(wakes.load(std::sync::atomic::Ordering::Relaxed) >= 12);
    }

    #[test]
    fn a_watched_fit_starts_without_the_sketch_warm_up_and_a_full_speed_one_with_it() {
        // 1,600 faces of 400 pixels at k = 6: the sketch pays.
        let d = matrix(400, 1_600);
        let params = Params::new(6).solver(Solver::Hals).max_iter(3).tol(0.0).seed(4).sketch_warmup_iter(10);
        assert!(Nmf::sketch_warmup_iters(&params, 400, 1_600) > 0);
        let headless = |p: Params| {
            let mut fit = Nmf::new(Arc::clone(&d), p).unwrap();
            fit.run(None, |_| {});
            fit.snapshot()
        };
        let watched = headless(params.clone().sketch_warmup_iter(0).max_iter(1));
        // A Step from nothing: the init, then one exact iteration.
        let mut w = spawn(Arc::clone(&d));
        w.step(params.clone());
        let p = wait_final(&mut w);
        assert_eq!(p.snapshot.iteration, 1);
        assert_eq!(*p.snapshot.w, watched.w, "stepped from the init itself");
        // The same fit continued at full speed is the same fit, not a new one.
        w.run(params.clone());
        let p = wait_final(&mut w);
        assert_eq!(p.snapshot.iteration, 3);
        assert_eq!(*p.snapshot.w, headless(params.clone().sketch_warmup_iter(0)).w);
        // Paced: from the init itself too.
        let mut w = spawn(Arc::clone(&d));
        w.set_pace(Some(1000.0));
        w.run(params.clone());
        assert_eq!(*wait_final(&mut w).snapshot.w, headless(params.clone().sketch_warmup_iter(0)).w);
        // At full speed: after the warm-up, as headless.
        let mut w = spawn(Arc::clone(&d));
        w.run(params.clone());
        let full = headless(params.clone());
        assert_eq!(*wait_final(&mut w).snapshot.w, full.w);
        assert_ne!(full.w, headless(params.sketch_warmup_iter(0)).w);
    }
}
