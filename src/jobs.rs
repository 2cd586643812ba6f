//! Layer 3: one type for every background task, and what they share.
//!
//! No egui here. A task runs on its own named thread ([`Job::spawn`]); it
//! reports through a latest-value slot ([`Latest`]) and wakes the owner
//! through a closure ([`Wake`]; the app passes one that requests a repaint).
//!
//! - **Progress never queues.** [`Latest::put`] replaces the value the owner
//!   has not taken yet; [`Latest::update`] merges into it instead, for what
//!   must not be lost (history deltas, errors, finished items).
//! - **No detached threads.** Dropping a [`Job`] cancels it and joins its
//!   thread. A panic in a job becomes [`JobError::Panicked`].
//! - **One count of live threads**, [`live_threads`]: every job thread and the
//!   fit worker's thread (tests check it returns to zero).
//! - **One CPU lease**, [`CpuLease`]: the heavy jobs hold it while they run,
//!   and the live fit does not step while anyone holds it. It resumes when the
//!   last holder lets go, if (and only if) it was running when it paused.

use std::any::Any;
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Wakes the owner (the app: `ctx.request_repaint_after(1 ms)`).
pub type Wake = Arc<dyn Fn() + Send + Sync>;

/// A wake that does nothing (headless owners that poll).
pub fn no_wake() -> Wake {
    Arc::new(|| {})
}

/// Locks, recovering the data of a mutex a panicking thread left poisoned:
/// every value guarded here is valid after any partial update.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The environment variable naming the iteration log, see [`log_iteration`].
pub const ITERATION_LOG_VAR: &str = "FACENMF_ITERATION_LOG";

/// With `FACENMF_ITERATION_LOG=FILE`, appends `ITERATION UNIX_SECS` to FILE
/// for each iteration a fit completes: the app's worker and
/// `facenmf bench-big` call it. `.ci/interleave-big` pauses and resumes
/// the app and a headless fit in turns and reads their logs, so that both
/// rates are taken at the same moments. One `write` per iteration (a line
/// survives the process being killed); a file that cannot be opened is
/// reported once and the log is off.
pub fn log_iteration(iteration: usize) {
    use std::io::Write;
    static LOG: std::sync::OnceLock<Option<Mutex<std::fs::File>>> = std::sync::OnceLock::new();
    let log = LOG.get_or_init(|| {
        let path = std::env::var_os(ITERATION_LOG_VAR)?;
        match std::fs::OpenOptions::new().create(true).append(true).open(&path) {
            Ok(f) => Some(Mutex::new(f)),
            Err(e) => {
                log::warn!("{ITERATION_LOG_VAR}: cannot open {}: {e}", std::path::Path::new(&path).display());
                None
            }
        }
    });
    if let Some(file) = log {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let line = format!("{iteration} {:.6}\n", now.as_secs_f64());
        if let Err(e) = lock(file).write_all(line.as_bytes()) {
            log::warn!("{ITERATION_LOG_VAR}: {e}");
        }
    }
}

// ---------------------------------------------------------------------------
// Live threads

/// Threads alive in this process, by name (without the `facenmf-` prefix).
static LIVE: Mutex<BTreeMap<String, usize>> = Mutex::new(BTreeMap::new());
static LIVE_TOTAL: AtomicUsize = AtomicUsize::new(0);

/// Job and worker threads alive in this process.
pub fn live_threads() -> usize {
    LIVE_TOTAL.load(Ordering::SeqCst)
}

/// Threads alive in this process under `name` (as given to [`Job::spawn`]):
/// a count a test can own while other tests run in parallel.
pub fn live_threads_named(name: &str) -> usize {
    lock(&LIVE).get(name).copied().unwrap_or(0)
}

/// Counts one live thread until dropped (moved into the thread it counts, so
/// it is dropped when the thread's closure ends, panics included).
pub(crate) struct ThreadGuard {
    name: String,
}

impl ThreadGuard {
    pub(crate) fn new(name: &str) -> Self {
        *lock(&LIVE).entry(name.to_owned()).or_insert(0) += 1;
        LIVE_TOTAL.fetch_add(1, Ordering::SeqCst);
        ThreadGuard { name: name.to_owned() }
    }
}

impl Drop for ThreadGuard {
    fn drop(&mut self) {
        let mut live = lock(&LIVE);
        if let Some(n) = live.get_mut(&self.name) {
            *n -= 1;
            if *n == 0 {
                live.remove(&self.name);
            }
        }
        LIVE_TOTAL.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Spawns a thread named `facenmf-{name}` that is counted by
/// [`live_threads`] while it runs. The count is down again by the time a
/// `join` on the handle returns.
pub(crate) fn spawn_counted<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<JoinHandle<T>> {
    let guard = ThreadGuard::new(name);
    // If the spawn fails, the closure (and the guard) is dropped here.
    std::thread::Builder::new().name(format!("facenmf-{name}")).spawn(move || {
        let _guard = guard;
        f()
    })
}

// ---------------------------------------------------------------------------
// Latest

/// A latest-value slot shared by a writer (a background thread) and a reader
/// (the owner). It never queues: [`put`](Latest::put) replaces what was not
/// taken, [`update`](Latest::update) merges into it.
pub struct Latest<T>(Arc<Mutex<Option<T>>>);

impl<T> Latest<T> {
    pub fn new() -> Self {
        Latest(Arc::new(Mutex::new(None)))
    }

    /// Replaces the value not taken yet.
    pub fn put(&self, value: T) {
        *lock(&self.0) = Some(value);
    }

    /// Merges into the value not taken yet (`None` when the reader took it).
    pub fn update(&self, f: impl FnOnce(&mut Option<T>)) {
        f(&mut lock(&self.0));
    }

    /// Takes the value, leaving the slot empty.
    pub fn take(&self) -> Option<T> {
        lock(&self.0).take()
    }

    /// True when a value waits to be taken.
    pub fn is_full(&self) -> bool {
        lock(&self.0).is_some()
    }
}

impl<T> Clone for Latest<T> {
    fn clone(&self) -> Self {
        Latest(Arc::clone(&self.0))
    }
}

impl<T> Default for Latest<T> {
    fn default() -> Self {
        Latest::new()
    }
}

impl<T> std::fmt::Debug for Latest<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Latest").field("full", &self.is_full()).finish()
    }
}

// ---------------------------------------------------------------------------
// CPU lease

/// The cores, leased by the heavy jobs (sweep, race, PCA, export). While any
/// [`LeaseGuard`] lives, the live fit does not step; see the
/// [module docs](self). Clones share the same lease.
#[derive(Clone, Default)]
pub struct CpuLease(Arc<(Mutex<usize>, Condvar)>);

impl CpuLease {
    pub fn new() -> Self {
        CpuLease::default()
    }

    /// Holds the lease until the guard is dropped (holders add up).
    pub fn acquire(&self) -> LeaseGuard {
        *lock(&self.0.0) += 1;
        LeaseGuard(self.clone())
    }

    /// True while someone holds the lease.
    pub fn is_held(&self) -> bool {
        self.holders() > 0
    }

    /// How many guards are alive.
    pub fn holders(&self) -> usize {
        *lock(&self.0.0)
    }

    /// Waits until nobody holds the lease, at most `timeout`; true when free.
    pub fn wait_free_timeout(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let (mutex, freed) = &*self.0;
        let mut holders = lock(mutex);
        while *holders > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            holders = freed.wait_timeout(holders, left).unwrap_or_else(PoisonError::into_inner).0;
        }
        true
    }
}

impl std::fmt::Debug for CpuLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CpuLease").field("holders", &self.holders()).finish()
    }
}

/// One hold on a [`CpuLease`]; dropping it lets go.
pub struct LeaseGuard(CpuLease);

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        let (mutex, freed) = &*(self.0).0;
        let mut holders = lock(mutex);
        *holders = holders.saturating_sub(1);
        if *holders == 0 {
            freed.notify_all();
        }
    }
}

impl std::fmt::Debug for LeaseGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LeaseGuard")
    }
}

// ---------------------------------------------------------------------------
// Job

/// Why a job gave no result.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The thread could not be started.
    #[error("could not start a background thread")]
    Spawn(#[source] std::io::Error),
    /// The job panicked; the panic's message.
    #[error("the background job panicked: {0}")]
    Panicked(String),
    /// The thread ended without storing a result (cannot happen unless the
    /// result itself panicked while being dropped).
    #[error("the background job ended without a result")]
    Lost,
}

/// What a job's closure sees: its cancel flag and its progress slot.
pub struct JobCtx<P> {
    cancel: Arc<AtomicBool>,
    progress: Latest<P>,
    wake: Wake,
}

impl<P> JobCtx<P> {
    /// True once the owner cancelled (or dropped) the job.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    /// The cancel flag, for solvers that take `Option<&AtomicBool>`.
    pub fn cancel_flag(&self) -> &AtomicBool {
        &self.cancel
    }

    /// Replaces the progress not taken yet, and wakes the owner.
    pub fn progress(&self, p: P) {
        self.progress.put(p);
        (self.wake)();
    }

    /// Merges into the progress not taken yet (`None` when taken), and wakes
    /// the owner.
    pub fn progress_with(&self, f: impl FnOnce(&mut Option<P>)) {
        self.progress.update(f);
        (self.wake)();
    }

    /// Wakes the owner.
    pub fn wake(&self) {
        (self.wake)();
    }
}

/// A background task on its own thread, with latest-value progress `P` and
/// a result `R`. Dropping it cancels the task and joins the thread.
pub struct Job<P, R> {
    name: String,
    cancel: Arc<AtomicBool>,
    progress: Latest<P>,
    result: Latest<Result<R, JobError>>,
    thread: Option<JoinHandle<()>>,
}

impl<P: Send + 'static, R: Send + 'static> Job<P, R> {
    /// Runs `f` on a thread named `facenmf-{name}`. With a lease, it is
    /// acquired before this returns and released when `f` ends (panics
    /// included), before the result is stored. `wake` is called by
    /// [`JobCtx::progress`] and once more after the result is stored.
    pub fn spawn(
        name: &str,
        wake: Wake,
        lease: Option<&CpuLease>,
        f: impl FnOnce(&JobCtx<P>) -> R + Send + 'static,
    ) -> Result<Job<P, R>, JobError> {
        let cancel = Arc::new(AtomicBool::new(false));
        let progress = Latest::new();
        let result = Latest::new();
        let guard = lease.map(CpuLease::acquire);
        let ctx = JobCtx { cancel: Arc::clone(&cancel), progress: progress.clone(), wake };
        let slot = result.clone();
        let thread = spawn_counted(name, move || {
            let outcome =
                catch_unwind(AssertUnwindSafe(|| f(&ctx))).map_err(|p| JobError::Panicked(panic_message(&*p)));
            drop(guard);
            slot.put(outcome);
            (ctx.wake)();
        })
        .map_err(JobError::Spawn)?;
        Ok(Job { name: name.to_owned(), cancel, progress, result, thread: Some(thread) })
    }
}

impl<P, R> Job<P, R> {
    /// Asks the job to stop (it sees [`JobCtx::is_cancelled`]).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    /// True once [`cancel`](Job::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    /// The latest progress not taken yet.
    pub fn take_progress(&self) -> Option<P> {
        self.progress.take()
    }

    /// The result, once, when the job has finished (the thread is joined
    /// then); `None` before, and after it was returned.
    pub fn poll(&mut self) -> Option<Result<R, JobError>> {
        let stored = self.result.take();
        if stored.is_none() && !self.thread.as_ref().is_some_and(JoinHandle::is_finished) {
            return None;
        }
        // The result is stored just before the thread's closure returns:
        // this join waits for nothing but that tail.
        let joined = self.thread.take().map(JoinHandle::join);
        let late = self.result.take();
        match (stored.or(late), joined) {
            (Some(r), _) => Some(r),
            (None, Some(Err(p))) => Some(Err(JobError::Panicked(panic_message(&*p)))),
            (None, Some(Ok(()))) => Some(Err(JobError::Lost)),
            // Already returned.
            (None, None) => None,
        }
    }

    /// True once the job's thread has ended (or its result was taken).
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// The name given to [`Job::spawn`].
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl<P, R> Drop for Job<P, R> {
    fn drop(&mut self) {
        self.cancel();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            log::warn!("the {} job's thread panicked", self.name);
        }
    }
}

/// Jobs whose results are no longer wanted (a load or a PCA overtaken by
/// new faces), cancelled and kept until their threads end, so the owner
/// never waits for one on the UI thread and none is detached. Dropping the
/// bin joins what is left.
#[derive(Default)]
pub struct Retired {
    jobs: Vec<Box<dyn Finishes>>,
}

/// A job of any progress and result type, as [`Retired`] keeps it.
trait Finishes: Send {
    fn finished(&self) -> bool;
}

impl<P: Send, R: Send> Finishes for Job<P, R> {
    fn finished(&self) -> bool {
        self.is_finished()
    }
}

impl Retired {
    /// Cancels `job` and keeps it until its thread has ended.
    pub fn retire<P: Send + 'static, R: Send + 'static>(&mut self, job: Job<P, R>) {
        job.cancel();
        self.jobs.push(Box::new(job));
    }

    /// Drops (joins at once) the jobs whose threads have ended.
    pub fn reap(&mut self) {
        self.jobs.retain(|j| !j.finished());
    }

    /// Jobs still winding down.
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }
}

impl<P, R> std::fmt::Debug for Job<P, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("name", &self.name).field("finished", &self.is_finished()).finish()
    }
}

/// The text of a panic's payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Polls until the job's result comes, at most 10 s.
    fn wait<P: Send + 'static, R: Send + 'static>(job: &mut Job<P, R>) -> Result<R, JobError> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(r) = job.poll() {
                return r;
            }
            assert!(Instant::now() < deadline, "the job did not finish");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn cancel_is_seen_by_the_job() {
        let mut job: Job<(), usize> = Job::spawn("test-cancel", no_wake(), None, |ctx| {
            let mut spins = 0;
            while !ctx.is_cancelled() {
                spins += 1;
                std::thread::sleep(Duration::from_millis(1));
            }
            assert!(ctx.cancel_flag().load(Ordering::SeqCst));
            spins
        })
        .unwrap();
        assert_eq!(job.name(), "test-cancel");
        std::thread::sleep(Duration::from_millis(20));
        assert!(job.poll().is_none(), "still running");
        assert!(!job.is_finished());
        job.cancel();
        assert!(wait(&mut job).is_ok());
        assert!(job.is_finished());
        assert!(job.poll().is_none(), "the result comes once");
        assert_eq!(live_threads_named("test-cancel"), 0);
    }

    #[test]
    fn drop_cancels_and_joins() {
        let saw_cancel = Arc::new(AtomicBool::new(false));
        let started = Arc::new(AtomicBool::new(false));
        let (saw, go) = (Arc::clone(&saw_cancel), Arc::clone(&started));
        let job: Job<(), ()> = Job::spawn("test-drop", no_wake(), None, move |ctx| {
            go.store(true, Ordering::SeqCst);
            while !ctx.is_cancelled() {
                std::thread::sleep(Duration::from_millis(1));
            }
            // Slow to end: drop must still wait for it.
            std::thread::sleep(Duration::from_millis(30));
            saw.store(true, Ordering::SeqCst);
        })
        .unwrap();
        while !started.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(live_threads_named("test-drop"), 1);
        assert!(live_threads() >= 1);
        drop(job);
        assert!(saw_cancel.load(Ordering::SeqCst), "drop returned before the job saw the cancel");
        assert_eq!(live_threads_named("test-drop"), 0);
    }

    #[test]
    fn progress_is_the_latest_value_and_update_merges() {
        let woken = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&woken);
        let wake: Wake = Arc::new(move || {
            count.fetch_add(1, Ordering::SeqCst);
        });
        let mut job: Job<usize, ()> = Job::spawn("test-progress", wake, None, |ctx| {
            for i in 0..=1000 {
                ctx.progress(i);
            }
        })
        .unwrap();
        wait(&mut job).unwrap();
        assert_eq!(job.take_progress(), Some(1000));
        assert_eq!(job.take_progress(), None);
        // 1001 progress wakes and one for the result.
        assert_eq!(woken.load(Ordering::SeqCst), 1002);

        // Merged items are all kept until taken.
        let mut job: Job<Vec<usize>, ()> = Job::spawn("test-progress", no_wake(), None, |ctx| {
            for i in 0..10 {
                ctx.progress_with(|slot| slot.get_or_insert_with(Vec::new).push(i));
            }
        })
        .unwrap();
        wait(&mut job).unwrap();
        assert_eq!(job.take_progress(), Some((0..10).collect()));

        let slot = Latest::new();
        slot.put(1);
        slot.put(2);
        slot.update(|v| *v = v.map(|v| v * 10));
        assert!(slot.is_full());
        assert_eq!(slot.take(), Some(20));
        assert_eq!(slot.take(), None);
        slot.update(|v| assert!(v.is_none()));
    }

    #[test]
    fn a_panic_becomes_an_error_and_leaves_no_thread() {
        let lease = CpuLease::new();
        let mut job: Job<(), ()> =
            Job::spawn("test-panic", no_wake(), Some(&lease), |_| panic!("solver blew up")).unwrap();
        match wait(&mut job) {
            Err(JobError::Panicked(m)) => assert!(m.contains("solver blew up"), "{m}"),
            other => panic!("expected a panic, got {other:?}"),
        }
        assert_eq!(live_threads_named("test-panic"), 0);
        assert!(!lease.is_held(), "the lease is released on panic");
        // A poisoned slot is still usable.
        let slot = Latest::new();
        let writer = slot.clone();
        let _ = std::thread::spawn(move || {
            writer.update(|v| {
                *v = Some(5);
                panic!("poison");
            })
        })
        .join();
        assert_eq!(slot.take(), Some(5));
    }

    #[test]
    fn lease_is_held_while_jobs_run_and_freed_by_the_last() {
        let lease = CpuLease::new();
        assert!(!lease.is_held());
        assert!(lease.wait_free_timeout(Duration::ZERO));
        let a: Job<(), ()> = Job::spawn("test-lease", no_wake(), Some(&lease), |ctx| {
            while !ctx.is_cancelled() {
                std::thread::sleep(Duration::from_millis(1));
            }
        })
        .unwrap();
        // Held as soon as spawn returns.
        assert!(lease.is_held());
        let mut b: Job<(), ()> = Job::spawn("test-lease", no_wake(), Some(&lease), |_| {
            std::thread::sleep(Duration::from_millis(20));
        })
        .unwrap();
        assert_eq!(lease.holders(), 2);
        wait(&mut b).unwrap();
        // Released before the result was stored.
        assert_eq!(lease.holders(), 1);
        assert!(!lease.wait_free_timeout(Duration::from_millis(20)));
        let freer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            drop(a);
        });
        assert!(lease.wait_free_timeout(Duration::from_secs(10)), "freed when the last holder ends");
        assert!(!lease.is_held());
        freer.join().unwrap();
        assert_eq!(live_threads_named("test-lease"), 0);
        // A loop that steps only while the lease is free (as the live fit
        // does) stands still while a job holds it and goes on after.
        let steps = Arc::new(AtomicUsize::new(0));
        let (count, free) = (Arc::clone(&steps), lease.clone());
        let stepper: Job<(), ()> = Job::spawn("test-lease", no_wake(), None, move |ctx| {
            while !ctx.is_cancelled() {
                if free.is_held() {
                    free.wait_free_timeout(Duration::from_millis(5));
                    continue;
                }
                count.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_micros(200));
            }
        })
        .unwrap();
        while steps.load(Ordering::SeqCst) == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let mut heavy: Job<(), ()> = Job::spawn("test-lease", no_wake(), Some(&lease), |_| {
            std::thread::sleep(Duration::from_millis(60));
        })
        .unwrap();
        // At most the step in flight finishes after the lease was taken.
        std::thread::sleep(Duration::from_millis(5));
        let held_at = steps.load(Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(steps.load(Ordering::SeqCst), held_at, "stepped while the lease was held");
        wait(&mut heavy).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while steps.load(Ordering::SeqCst) == held_at {
            assert!(Instant::now() < deadline, "did not resume after the lease was freed");
            std::thread::sleep(Duration::from_millis(1));
        }
        drop(stepper);
        assert_eq!(live_threads_named("test-lease"), 0);
        // Guards add up and the last one frees.
        let (g1, g2) = (lease.acquire(), lease.acquire());
        drop(g1);
        assert!(lease.is_held());
        drop(g2);
        assert!(!lease.is_held());
    }

    #[test]
    fn retired_jobs_are_cancelled_and_reaped_without_waiting() {
        let mut bin = Retired::default();
        let job: Job<(), bool> = Job::spawn("retire-test", no_wake(), None, |ctx| {
            while !ctx.is_cancelled() {
                std::thread::sleep(Duration::from_millis(1));
            }
            true
        })
        .unwrap();
        bin.retire(job);
        assert_eq!(bin.len(), 1);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !bin.is_empty() {
            assert!(std::time::Instant::now() < deadline, "the retired job never ended");
            bin.reap();
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(live_threads_named("retire-test"), 0);
    }
}
