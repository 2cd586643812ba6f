//! State of the two teaching views: "Parts versus eigenfaces" (a PCA of the
//! same faces at the same k, see [`eigen`]) and "Solver race" (MU, KL-MU
//! and HALS from the same start, see [`race`]). Both compute on background
//! threads of their own, polled in `logic()`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;

use super::{FaceNmfApp, View};

pub mod eigen;
pub mod race;

pub use eigen::{Eigen, FaceErrors, PcaKey};
pub use race::{Outcome, Race, race_name};

/// Threads of the teaching views alive in this process.
static LIVE_THREADS: AtomicUsize = AtomicUsize::new(0);

/// Number of PCA and race threads running in this process (for tests).
pub fn live_threads() -> usize {
    LIVE_THREADS.load(Ordering::SeqCst)
}

/// Spawns a named thread counted by [`live_threads`].
fn spawn_counted(name: &str, body: impl FnOnce() + Send + 'static) -> std::io::Result<JoinHandle<()>> {
    struct Alive;
    impl Drop for Alive {
        fn drop(&mut self) {
            LIVE_THREADS.fetch_sub(1, Ordering::SeqCst);
        }
    }
    LIVE_THREADS.fetch_add(1, Ordering::SeqCst);
    let spawned = std::thread::Builder::new().name(name.into()).spawn(move || {
        let _alive = Alive;
        body();
    });
    if spawned.is_err() {
        LIVE_THREADS.fetch_sub(1, Ordering::SeqCst);
    }
    spawned
}

/// Both views' state.
#[derive(Default)]
pub struct Teach {
    pub eigen: Eigen,
    pub race: Race,
}

impl FaceNmfApp {
    /// The teaching views' state (PCA cache, race).
    pub fn teach(&self) -> &Teach {
        &self.teach
    }

    /// The k the eigenfaces view compares at: the fit's, else the chosen one.
    pub fn eigen_k(&self) -> usize {
        self.fit.as_ref().map_or(self.settings.params.k, |f| f.k()).clamp(1, self.max_k())
    }

    /// What the eigenfaces view needs a PCA of now, if faces are loaded.
    pub fn pca_key(&self) -> Option<PcaKey> {
        let faces = self.faces.as_ref()?;
        Some(PcaKey { data: Arc::clone(&faces.matrix), k: self.eigen_k(), seed: self.settings.params.seed })
    }

    /// Starts the race with the current k, init and seed. The live fit is
    /// stopped first (and run again after the race), so that the solvers
    /// have the machine to themselves.
    pub fn start_race(&mut self) {
        if self.faces.is_none() {
            self.report_error(&anyhow::anyhow!("open some faces before starting a race"));
            return;
        }
        if self.is_sweeping() {
            self.report_error(&anyhow::anyhow!("a rank sweep is running: cancel it before starting a race"));
            return;
        }
        self.teach.race.abandon("a new race started");
        if self.is_fitting() {
            self.stop_fit();
            self.teach.race.resume_fit = true;
        }
        let params = self.settings.params.clone();
        self.teach.race.prepare(params);
        self.poll_race();
    }

    /// Stops the race after the current iteration.
    pub fn stop_race(&mut self) {
        self.teach.race.stop("Stop pressed");
    }

    /// Called from `logic()`: the PCA and the race.
    pub(crate) fn poll_teach(&mut self) {
        self.poll_eigen();
        self.poll_race();
    }

    fn poll_eigen(&mut self) {
        let data = self.faces.as_ref().map(|f| Arc::clone(&f.matrix));
        self.teach.eigen.forget_other_data(data.as_ref());
        if let Some(e) = self.teach.eigen.poll(&self.ctx) {
            self.report_error(&anyhow::anyhow!(e));
        }
        if self.settings.view != View::Eigenfaces {
            return;
        }
        let (Some(key), Some(thumb)) = (self.pca_key(), self.faces.as_ref().map(|f| f.gallery_thumb)) else {
            return;
        };
        let ctx = self.ctx.clone();
        if let Err(e) = self.teach.eigen.ensure(key.clone(), thumb, move || ctx.request_repaint()) {
            self.report_error(&anyhow::Error::new(e).context("could not start the PCA thread"));
        }
        if let (Some(j), Some(faces)) = (self.selected_face, self.faces.as_ref()) {
            self.teach.eigen.refresh_face(&self.ctx, faces, self.fit.as_ref(), &key, j);
        }
    }

    fn poll_race(&mut self) {
        let race = &mut self.teach.race;
        // New faces: a race on the old ones is of no use.
        let current = self.faces.as_ref().map(|f| &f.matrix);
        if let Some(data) = race.job_data()
            && current.is_none_or(|c| !Arc::ptr_eq(c, data))
        {
            race.abandon("the faces changed");
            race.lanes.clear();
            // The paused fit was on the old faces: nothing to resume.
            race.resume_fit = false;
        }
        if race.waiting_for_fit && !self.is_fitting() {
            let Some(data) = self.faces.as_ref().map(|f| Arc::clone(&f.matrix)) else {
                self.teach.race.abandon("no faces");
                return;
            };
            let ctx = self.ctx.clone();
            if let Err(e) = self.teach.race.start(data, move || ctx.request_repaint()) {
                self.report_error(&anyhow::Error::new(e).context("could not start the race thread"));
            }
        }
        let race = &mut self.teach.race;
        if race.is_running() && self.fit_requested {
            // Run was pressed during the race: hold the live fit until after.
            race.resume_fit = true;
            self.stop_fit();
        }
        let ended = self.teach.race.drain();
        if let Some(Outcome::Failed(e)) = &self.teach.race.outcome
            && ended
        {
            let e = e.clone();
            self.report_error(&anyhow::anyhow!(e));
        }
        if !self.teach.race.is_active() && self.teach.race.resume_fit {
            self.teach.race.resume_fit = false;
            self.run_fit();
        }
    }
}
