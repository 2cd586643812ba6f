//! TEMPORARY stand-in for the jobs module being written on branch `jobs`
//! (same API); replaced when that branch is merged.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

pub type Wake = Arc<dyn Fn() + Send + Sync>;

static LIVE: AtomicUsize = AtomicUsize::new(0);

pub fn live_threads() -> usize {
    LIVE.load(Ordering::SeqCst)
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("could not start a thread: {0}")]
    Spawn(#[from] std::io::Error),
    #[error("the job panicked: {0}")]
    Panicked(String),
}

pub struct Latest<T> {
    inner: Arc<Mutex<Option<T>>>,
}

impl<T> Clone for Latest<T> {
    fn clone(&self) -> Self {
        Latest { inner: Arc::clone(&self.inner) }
    }
}

impl<T> Default for Latest<T> {
    fn default() -> Self {
        Latest { inner: Arc::new(Mutex::new(None)) }
    }
}

impl<T> Latest<T> {
    pub fn put(&self, v: T) {
        *self.inner.lock().unwrap_or_else(|e| e.into_inner()) = Some(v);
    }
    pub fn update(&self, f: impl FnOnce(&mut Option<T>)) {
        f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()));
    }
    pub fn take(&self) -> Option<T> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

#[derive(Clone, Default)]
pub struct CpuLease {
    state: Arc<(Mutex<usize>, Condvar)>,
}

pub struct LeaseGuard {
    state: Arc<(Mutex<usize>, Condvar)>,
}

impl CpuLease {
    pub fn acquire(&self) -> LeaseGuard {
        *self.state.0.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        LeaseGuard { state: Arc::clone(&self.state) }
    }
    pub fn is_held(&self) -> bool {
        *self.state.0.lock().unwrap_or_else(|e| e.into_inner()) > 0
    }
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        let mut n = self.state.0.lock().unwrap_or_else(|e| e.into_inner());
        *n = n.saturating_sub(1);
        self.state.1.notify_all();
    }
}

pub struct JobCtx<P> {
    cancel: Arc<AtomicBool>,
    progress: Latest<P>,
    wake: Wake,
}

impl<P> JobCtx<P> {
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }
    pub fn cancel_flag(&self) -> &AtomicBool {
        &self.cancel
    }
    pub fn progress(&self, p: P) {
        self.progress.put(p);
        (self.wake)();
    }
    pub fn progress_with(&self, f: impl FnOnce(&mut Option<P>)) {
        self.progress.update(f);
        (self.wake)();
    }
}

pub struct Job<P, R> {
    name: String,
    cancel: Arc<AtomicBool>,
    progress: Latest<P>,
    result: Arc<Mutex<Option<R>>>,
    thread: Option<JoinHandle<()>>,
    done: bool,
}

impl<P: Send + 'static, R: Send + 'static> Job<P, R> {
    pub fn spawn(
        name: &str,
        wake: Wake,
        lease: Option<&CpuLease>,
        f: impl FnOnce(&JobCtx<P>) -> R + Send + 'static,
    ) -> Result<Self, JobError> {
        let cancel = Arc::new(AtomicBool::new(false));
        let progress = Latest::default();
        let result = Arc::new(Mutex::new(None));
        let ctx = JobCtx { cancel: Arc::clone(&cancel), progress: progress.clone(), wake: Arc::clone(&wake) };
        let slot = Arc::clone(&result);
        let guard = lease.map(CpuLease::acquire);
        LIVE.fetch_add(1, Ordering::SeqCst);
        let thread = std::thread::Builder::new().name(format!("facenmf-{name}")).spawn(move || {
            let _guard = guard;
            let r = f(&ctx);
            *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
            LIVE.fetch_sub(1, Ordering::SeqCst);
            wake();
        });
        let thread = match thread {
            Ok(t) => t,
            Err(e) => {
                LIVE.fetch_sub(1, Ordering::SeqCst);
                return Err(JobError::Spawn(e));
            }
        };
        Ok(Job { name: name.to_string(), cancel, progress, result, thread: Some(thread), done: false })
    }
}

impl<P, R> Job<P, R> {
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }
    pub fn take_progress(&self) -> Option<P> {
        self.progress.take()
    }
    pub fn is_finished(&self) -> bool {
        self.done || self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }
    pub fn poll(&mut self) -> Option<Result<R, JobError>> {
        if self.done || !self.thread.as_ref().is_some_and(JoinHandle::is_finished) {
            return None;
        }
        self.done = true;
        let joined = self.thread.take().map(JoinHandle::join);
        if let Some(Err(_)) = joined {
            return Some(Err(JobError::Panicked(self.name.clone())));
        }
        self.result.lock().unwrap_or_else(|e| e.into_inner()).take().map(Ok)
    }
}

impl<P, R> Drop for Job<P, R> {
    fn drop(&mut self) {
        self.cancel();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
