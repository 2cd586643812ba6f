//! New faces: an image that is not in the set, projected onto the current
//! basis (its weights by non-negative least squares with W fixed,
//! [`crate::project`]). It is projected again whenever the fit changes (at
//! most four times a second while a fit runs: one small NNLS each time).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

use super::fit::FitView;
use super::loading::Faces;
use crate::dataset::Preprocess;
use crate::project::{LoadedFace, ProjectError, Projection, Reshape, load_face_as, project_face};

/// How often a new face is projected again while a fit runs.
pub const REPROJECT_INTERVAL: Duration = Duration::from_millis(250);

/// The new face shown in the inspector.
pub struct NewFace {
    /// The image file.
    pub path: PathBuf,
    /// Its file name, for the heading.
    pub name: String,
    /// The face as loaded (the set's size and preprocessing).
    pub loaded: LoadedFace,
    /// Its projection onto the current basis (None without a fit).
    pub projection: Option<Projection>,
    /// (fit id, iteration) of the fit it was projected onto.
    pub projected_for: Option<(u64, usize)>,
    projected_at: Instant,
    /// Unique to this face in this process (opening the same file again
    /// gives a new one).
    pub id: u64,
    /// Increases with every new projection (the views rebuild on change).
    pub generation: u64,
}

impl NewFace {
    /// Loads the image at `path` at the set's size (another size brought
    /// to it by `reshape`) and projects it onto `fit`.
    pub fn open(
        path: &Path,
        faces: &Faces,
        fit: &FitView,
        preprocess: Preprocess,
        reshape: Reshape,
    ) -> Result<NewFace, ProjectError> {
        let loaded = load_face_as(path, faces.meta.width, faces.meta.height, preprocess, reshape)?;
        let projection = project_face(fit.progress.snapshot.w.view(), loaded.face.view(), path)?;
        let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        Ok(NewFace {
            path: path.to_path_buf(),
            name,
            loaded,
            projection: Some(projection),
            projected_for: Some(fit.key()),
            projected_at: Instant::now(),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            generation: 1,
        })
    }

    /// Projects again when the fit changed (at once after a k change or at
    /// the end of a fit, else at most every [`REPROJECT_INTERVAL`]). Returns
    /// the delay after which to look again when a projection is due later.
    pub fn refresh(&mut self, fit: Option<&FitView>) -> Result<Option<Duration>, ProjectError> {
        let Some(fit) = fit else {
            if self.projection.take().is_some() {
                self.projected_for = None;
                self.generation += 1;
            }
            return Ok(None);
        };
        if self.projected_for == Some(fit.key()) {
            return Ok(None);
        }
        let k_changed = self.projection.as_ref().is_none_or(|p| p.weights.len() != fit.k());
        let due = k_changed || !fit.is_running() || self.projected_at.elapsed() >= REPROJECT_INTERVAL;
        if !due {
            return Ok(Some(REPROJECT_INTERVAL.saturating_sub(self.projected_at.elapsed())));
        }
        let p = project_face(fit.progress.snapshot.w.view(), self.loaded.face.view(), &self.path)?;
        self.projection = Some(p);
        self.projected_for = Some(fit.key());
        self.projected_at = Instant::now();
        self.generation += 1;
        Ok(None)
    }
}
