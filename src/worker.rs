//! Layer 3: a background thread that drives an [`Nmf`] fit step by step.
//!
//! No egui here. The owner sends [`Command`]s through the [`Worker`] handle
//! and drains [`Event`]s; the thread wakes the owner through a closure (the
//! app passes `move || ctx.request_repaint()`).
//!
//! - Progress snapshots go out about ten times a second (time-based), plus one
//!   right after the initialisation, over a **bounded** channel with
//!   `try_send`: when the owner is slow they are dropped, never queued up.
//!   Final states (finished, stopped, reset, errors) use a blocking `send`.
//! - Every command bumps an epoch counter before it is queued; the fit loop
//!   compares the epoch between iterations, so Stop (or any other command)
//!   takes effect within one iteration.
//! - Changing k while a fit runs, or after it finished, re-fits at once from a
//!   warm start ([`Nmf::warm_start`]): components are kept, new ones are fitted
//!   to the residual, or the weakest are dropped.
//! - Dropping the [`Worker`] stops the fit and joins the thread.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::nmf::{FaceMatrix, Nmf, Params, Record, Snapshot, StopReason};

/// How often progress snapshots are sent while a fit runs.
pub const SNAPSHOT_INTERVAL: Duration = Duration::from_millis(100);

/// Capacity of the event channel. Progress beyond it is dropped.
pub const EVENT_CAPACITY: usize = 4;

/// Worker threads alive in this process (for tests and diagnostics).
static LIVE_WORKERS: AtomicUsize = AtomicUsize::new(0);

/// Number of worker threads currently running in this process.
pub fn live_workers() -> usize {
    LIVE_WORKERS.load(Ordering::SeqCst)
}

/// What the owner asks the worker to do.
#[derive(Debug, Clone)]
pub enum Command {
    /// Fit with these parameters. Resumes a fit that was stopped with the
    /// same parameters; otherwise starts afresh from the initialisation.
    Run(Params),
    /// Stop the fit (it can be resumed with `Run` and the same parameters).
    Stop,
    /// Forget the fit.
    Reset,
    /// Change k (the rest of the parameters may change too). With a fit
    /// (running or not), re-fits at once from a warm start; without one,
    /// does nothing.
    SetK(Params),
    /// Replace the data; forgets the fit.
    SetData(Arc<FaceMatrix>),
    /// Take over a finished fit made elsewhere (a rank sweep's point): W
    /// (pixels × k) and H (k × faces) with `params.k` = k are installed as
    /// they are ([`Nmf::warm_start`] with k unchanged keeps them exactly),
    /// and a snapshot is sent at once. With `run`, the fit then goes on;
    /// without, it waits stopped, and `Run` with the same parameters
    /// resumes it.
    Adopt {
        /// The parameters the factors were fitted with (k = their rank).
        params: Params,
        /// W (pixels × k).
        w: ndarray::Array2<f32>,
        /// H (k × faces).
        h: ndarray::Array2<f32>,
        /// Go on fitting after installing them.
        run: bool,
    },
    /// End the thread.
    Shutdown,
}

/// The state a [`Progress`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FitState {
    /// Still stepping.
    Running,
    /// Stopped by a stopping rule, or cancelled by the owner.
    Stopped(StopReason),
}

/// One look at a fit.
#[derive(Debug, Clone)]
pub struct Progress {
    /// Increases with every new fit (a fresh init or a warm start).
    pub fit_id: u64,
    /// True when this fit continued another one through a warm start (k
    /// changed), false when it started from an initialisation.
    pub warm_started: bool,
    pub params: Params,
    pub snapshot: Snapshot,
    /// The whole history of this fit so far (initialisation first).
    pub history: Vec<Record>,
    pub state: FitState,
    /// Wall-clock seconds since the owner's command that started this fit.
    pub wall_secs: f64,
}

/// What the worker reports.
#[derive(Debug, Clone)]
pub enum Event {
    /// A snapshot of the fit: progress (dropped when the channel is full) or
    /// a final state (always delivered).
    Progress(Box<Progress>),
    /// The fit was forgotten (after `Reset` or `SetData`).
    Cleared,
    /// A command failed (invalid parameters, numerical trouble).
    Error(String),
}

/// The owner's handle. Dropping it stops the fit and joins the thread.
pub struct Worker {
    commands: Sender<(u64, Command)>,
    events: Option<Receiver<Event>>,
    epoch: Arc<AtomicU64>,
    processed: Arc<AtomicU64>,
    running: Arc<Mutex<bool>>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts the thread on `data`. `wake` is called after every event sent.
    pub fn spawn(data: Arc<FaceMatrix>, wake: Box<dyn Fn() + Send + Sync>) -> std::io::Result<Worker> {
        let (commands, command_rx) = mpsc::channel();
        let (event_tx, events) = mpsc::sync_channel(EVENT_CAPACITY);
        let epoch = Arc::new(AtomicU64::new(0));
        let processed = Arc::new(AtomicU64::new(0));
        let running = Arc::new(Mutex::new(false));
        let state = Thread {
            data,
            commands: command_rx,
            events: event_tx,
            wake,
            epoch: Arc::clone(&epoch),
            processed: Arc::clone(&processed),
            running: Arc::clone(&running),
            fit: None,
            fit_state: None,
            fit_id: 0,
            warm_started: false,
            started: Instant::now(),
        };
        LIVE_WORKERS.fetch_add(1, Ordering::SeqCst);
        let thread = std::thread::Builder::new().name("facenmf-worker".into()).spawn(move || {
            struct Alive;
            impl Drop for Alive {
                fn drop(&mut self) {
                    LIVE_WORKERS.fetch_sub(1, Ordering::SeqCst);
                }
            }
            let _alive = Alive;
            state.main_loop();
        });
        let thread = match thread {
            Ok(t) => t,
            Err(e) => {
                LIVE_WORKERS.fetch_sub(1, Ordering::SeqCst);
                return Err(e);
            }
        };
        Ok(Worker { commands, events: Some(events), epoch, processed, running, thread: Some(thread) })
    }

    /// Queues a command; any fit in progress notices within one iteration.
    pub fn send(&self, command: Command) {
        let epoch = self.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        if self.commands.send((epoch, command)).is_err() {
            log::warn!("the NMF worker thread has ended; command ignored");
        }
    }

    pub fn run(&self, params: Params) {
        self.send(Command::Run(params));
    }

    pub fn stop(&self) {
        self.send(Command::Stop);
    }

    pub fn reset(&self) {
        self.send(Command::Reset);
    }

    pub fn set_k(&self, params: Params) {
        self.send(Command::SetK(params));
    }

    pub fn set_data(&self, data: Arc<FaceMatrix>) {
        self.send(Command::SetData(data));
    }

    /// See [`Command::Adopt`].
    pub fn adopt(&self, params: Params, w: ndarray::Array2<f32>, h: ndarray::Array2<f32>, run: bool) {
        self.send(Command::Adopt { params, w, h, run });
    }

    /// The next event, if one is waiting.
    pub fn try_recv(&self) -> Option<Event> {
        self.events.as_ref()?.try_recv().ok()
    }

    /// Waits up to `timeout` for the next event.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Event> {
        self.events.as_ref()?.recv_timeout(timeout).ok()
    }

    /// True while the thread is stepping a fit.
    pub fn is_running(&self) -> bool {
        self.running.lock().map(|r| *r).unwrap_or(false)
    }

    /// True while a fit runs or commands are still waiting to be handled.
    pub fn is_busy(&self) -> bool {
        self.processed.load(Ordering::SeqCst) != self.epoch.load(Ordering::SeqCst) || self.is_running()
    }

    /// True while the thread is alive.
    pub fn is_alive(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let epoch = self.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        let _ = self.commands.send((epoch, Command::Shutdown));
        // Dropping the receiver unblocks a thread waiting in `send`.
        self.events = None;
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            log::warn!("the NMF worker thread panicked");
        }
    }
}

/// The thread's state.
struct Thread {
    data: Arc<FaceMatrix>,
    commands: Receiver<(u64, Command)>,
    events: SyncSender<Event>,
    wake: Box<dyn Fn() + Send + Sync>,
    epoch: Arc<AtomicU64>,
    processed: Arc<AtomicU64>,
    running: Arc<Mutex<bool>>,
    fit: Option<Nmf>,
    /// None while running.
    fit_state: Option<FitState>,
    fit_id: u64,
    warm_started: bool,
    started: Instant,
}

/// Whether the thread goes on.
enum Flow {
    Continue,
    Exit,
}

impl Thread {
    fn main_loop(mut self) {
        loop {
            // Take commands: wait for one when idle, poll when running.
            let first = if self.is_running() {
                match self.commands.try_recv() {
                    Ok(c) => Some(c),
                    // The owner bumps the epoch before it queues the
                    // command: one announced but not queued yet is waited
                    // for, or the fit would go on as if it was never sent.
                    Err(TryRecvError::Empty)
                        if self.epoch.load(Ordering::SeqCst) != self.processed.load(Ordering::SeqCst) =>
                    {
                        match self.commands.recv() {
                            Ok(c) => Some(c),
                            Err(_) => return,
                        }
                    }
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => return,
                }
            } else {
                match self.commands.recv() {
                    Ok(c) => Some(c),
                    Err(_) => return,
                }
            };
            if let Some(first) = first {
                // Take whatever else is queued, and skip a k change that a
                // later one replaces (sliding k sends many).
                let mut queue = vec![first];
                queue.extend(self.commands.try_iter());
                let last = queue.len() - 1;
                for i in 0..queue.len() {
                    let superseded = i < last
                        && matches!(queue[i].1, Command::SetK(_))
                        && matches!(queue[i + 1].1, Command::SetK(_));
                    let (epoch, command) = std::mem::replace(&mut queue[i], (0, Command::Stop));
                    if !superseded && let Flow::Exit = self.handle(command) {
                        return;
                    }
                    self.set_running(self.is_running());
                    self.processed.store(epoch, Ordering::SeqCst);
                }
                continue;
            }
            if let Flow::Exit = self.run_until_interrupted() {
                return;
            }
        }
    }

    fn is_running(&self) -> bool {
        self.fit.is_some() && self.fit_state.is_none()
    }

    fn set_running(&self, running: bool) {
        if let Ok(mut r) = self.running.lock() {
            *r = running;
        }
    }

    fn handle(&mut self, command: Command) -> Flow {
        match command {
            Command::Run(params) => {
                let resume = self.fit.as_ref().is_some_and(|f| f.params() == &params)
                    && self.fit_state == Some(FitState::Stopped(StopReason::Cancelled));
                self.started = Instant::now();
                if resume {
                    self.fit_state = None;
                } else {
                    self.start(Nmf::new(Arc::clone(&self.data), params), false);
                }
            }
            Command::Stop => {
                if self.is_running() {
                    self.fit_state = Some(FitState::Stopped(StopReason::Cancelled));
                    self.send_final();
                }
            }
            Command::Reset => {
                self.fit = None;
                self.fit_state = None;
                self.send_event(Event::Cleared);
            }
            Command::SetK(params) => {
                if let Some(fit) = self.fit.take() {
                    self.started = Instant::now();
                    let (w, h) = fit.into_factors();
                    self.start(Nmf::warm_start(Arc::clone(&self.data), params, w, h), true);
                }
            }
            Command::SetData(data) => {
                self.data = data;
                self.fit = None;
                self.fit_state = None;
                self.send_event(Event::Cleared);
            }
            Command::Adopt { params, w, h, run } => {
                self.started = Instant::now();
                if w.ncols() != params.k {
                    let message = format!("cannot open a fit of rank {} as k = {}", w.ncols(), params.k);
                    self.send_event(Event::Error(message));
                } else {
                    match Nmf::warm_start(Arc::clone(&self.data), params, w, h) {
                        Ok(fit) => {
                            self.fit = Some(fit);
                            self.fit_state = if run { None } else { Some(FitState::Stopped(StopReason::Cancelled)) };
                            self.fit_id += 1;
                            self.warm_started = false;
                            self.send_progress(true);
                        }
                        Err(e) => {
                            self.send_event(Event::Error(format!("{:#}", anyhow::Error::new(e))));
                        }
                    }
                }
            }
            Command::Shutdown => return Flow::Exit,
        }
        Flow::Continue
    }

    /// Installs a new fit (or reports why it could not be made) and sends
    /// its first snapshot at once.
    fn start(&mut self, fit: Result<Nmf, crate::nmf::NmfError>, warm_started: bool) {
        match fit {
            Ok(fit) => {
                self.fit = Some(fit);
                self.fit_state = None;
                self.fit_id += 1;
                self.warm_started = warm_started;
                self.send_progress(true);
            }
            Err(e) => {
                self.fit = None;
                self.fit_state = None;
                self.send_event(Event::Error(format!("{:#}", anyhow::Error::new(e))));
            }
        }
    }

    /// Steps the fit until it stops or a command arrives (the epoch moves).
    fn run_until_interrupted(&mut self) -> Flow {
        let epoch = self.epoch.load(Ordering::SeqCst);
        let mut last_sent = Instant::now();
        loop {
            let Some(fit) = self.fit.as_mut() else {
                return Flow::Continue;
            };
            if let Some(reason) = fit.stop_reason() {
                self.fit_state = Some(FitState::Stopped(reason));
                self.set_running(false);
                self.send_final();
                return Flow::Continue;
            }
            if self.epoch.load(Ordering::SeqCst) != epoch {
                return Flow::Continue;
            }
            fit.step();
            if last_sent.elapsed() >= SNAPSHOT_INTERVAL {
                last_sent = Instant::now();
                self.send_progress(false);
            }
        }
    }

    fn progress(&self) -> Option<Progress> {
        let fit = self.fit.as_ref()?;
        Some(Progress {
            fit_id: self.fit_id,
            warm_started: self.warm_started,
            params: fit.params().clone(),
            snapshot: fit.snapshot(),
            history: fit.history().to_vec(),
            state: self.fit_state.unwrap_or(FitState::Running),
            wall_secs: self.started.elapsed().as_secs_f64(),
        })
    }

    /// A progress snapshot; dropped when the channel is full unless `must`.
    fn send_progress(&self, must: bool) {
        let Some(progress) = self.progress() else {
            return;
        };
        let event = Event::Progress(Box::new(progress));
        if must {
            self.send_event(event);
        } else {
            match self.events.try_send(event) {
                Ok(()) => (self.wake)(),
                Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {}
            }
        }
    }

    fn send_final(&self) {
        self.send_progress(true);
    }

    /// Delivers an event, waiting for room: a final state must arrive. The
    /// owner drains every frame, and dropping its receiver ends the wait.
    fn send_event(&self, event: Event) {
        // Whoever sees this event sees the running flag that goes with it.
        self.set_running(self.is_running());
        if self.events.send(event).is_ok() {
            (self.wake)();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nmf::Solver;
    use ndarray::Array2;

    fn data() -> Arc<FaceMatrix> {
        let a = Array2::from_shape_fn((64, 30), |(i, j)| (((i * 7 + j * 13) % 17) as f32 / 17.0) + 0.01);
        Arc::new(FaceMatrix::new(a).unwrap())
    }

    fn wait_final(w: &Worker) -> Progress {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(Event::Progress(p)) = w.recv_timeout(Duration::from_millis(100))
                && p.state != FitState::Running
            {
                return *p;
            }
        }
        panic!("no final state");
    }

    #[test]
    fn fit_matches_headless_and_stops() {
        let d = data();
        let params = Params::new(5).solver(Solver::Hals).max_iter(40).tol(0.0).seed(3);
        let w = Worker::spawn(Arc::clone(&d), Box::new(|| {})).unwrap();
        w.run(params.clone());
        let p = wait_final(&w);
        assert_eq!(p.state, FitState::Stopped(StopReason::MaxIter));
        let mut headless = Nmf::new(d, params).unwrap();
        headless.run(None, |_| {});
        let s = headless.snapshot();
        assert_eq!(p.snapshot.w, s.w);
        assert_eq!(p.snapshot.h, s.h);
        assert_eq!(p.history.len(), 41);
    }

    #[test]
    fn set_k_warm_starts_and_drop_joins() {
        let d = data();
        {
            let w = Worker::spawn(d, Box::new(|| {})).unwrap();
            w.run(Params::new(4).max_iter(20).tol(0.0));
            let _ = wait_final(&w);
            w.set_k(Params::new(6).max_iter(20).tol(0.0));
            let p = wait_final(&w);
            assert!(p.warm_started);
            assert_eq!(p.snapshot.w.ncols(), 6);
            w.run(Params::new(6).max_iter(1_000_000).tol(0.0));
            std::thread::sleep(Duration::from_millis(50));
            w.stop();
            let p = wait_final(&w);
            assert_eq!(p.state, FitState::Stopped(StopReason::Cancelled));
            drop(w);
        }
    }

    #[test]
    fn adopt_installs_factors_exactly_then_runs_or_waits() {
        let d = data();
        let params = Params::new(4).solver(Solver::Hals).max_iter(15).tol(0.0).seed(9);
        let mut headless = Nmf::new(Arc::clone(&d), params.clone()).unwrap();
        headless.run(None, |_| {});
        let (w0, h0) = headless.into_factors();
        let worker = Worker::spawn(Arc::clone(&d), Box::new(|| {})).unwrap();
        // Another fit of a different k is running: adopting replaces it.
        worker.run(Params::new(6).max_iter(1_000_000).tol(0.0));
        std::thread::sleep(Duration::from_millis(30));
        worker.adopt(params.clone(), w0.clone(), h0.clone(), false);
        let p = wait_final(&worker);
        assert_eq!(p.state, FitState::Stopped(StopReason::Cancelled));
        assert_eq!(p.params.k, 4);
        assert_eq!(p.snapshot.w, w0);
        assert_eq!(p.snapshot.h, h0);
        assert_eq!(p.snapshot.iteration, 0);
        assert!(!p.warm_started);
        assert!(!worker.is_running());
        // Run with the same parameters resumes from the adopted factors.
        worker.run(params.clone());
        let p = wait_final(&worker);
        assert_eq!(p.state, FitState::Stopped(StopReason::MaxIter));
        assert_eq!(p.snapshot.iteration, 15);
        assert!(p.snapshot.rel_err <= d.rel_err(w0.view(), h0.view()) + 1e-6);
        // With `run`, it goes on at once; a rank mismatch is an error.
        worker.adopt(params.clone(), w0.clone(), h0.clone(), true);
        let p = wait_final(&worker);
        assert_eq!(p.state, FitState::Stopped(StopReason::MaxIter));
        worker.adopt(Params::new(5), w0, h0, false);
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut error = None;
        while error.is_none() && Instant::now() < deadline {
            if let Some(Event::Error(e)) = worker.recv_timeout(Duration::from_millis(100)) {
                error = Some(e);
            }
        }
        assert!(error.is_some_and(|e| e.contains("rank 4")));
    }
}
