//! Opening faces: the built-in set, a folder (native dialog, a typed path,
//! or dropped on the window), or dropped image files. Loading runs as a
//! background [`Job`]: the pixel matrix is checked and shared
//! ([`FaceMatrix`] in an `Arc`) on that thread, never copied on the UI's.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context as _;

use crate::dataset::{self, Dataset, DatasetMeta, LoadOptions};
use crate::jobs::{Job, JobError, Wake};
use crate::nmf::FaceMatrix;

/// What to open.
#[derive(Debug, Clone, PartialEq)]
pub enum LoadRequest {
    BuiltIn,
    Folder(PathBuf),
    /// Image files (dropped on the window), loaded as one set.
    Files(Vec<PathBuf>),
}

impl LoadRequest {
    /// What is being loaded, for the status line.
    pub fn describe(&self) -> String {
        match self {
            LoadRequest::BuiltIn => "Loading the built-in faces…".to_string(),
            LoadRequest::Folder(p) => format!("Loading {}…", dataset::display_name(p)),
            LoadRequest::Files(f) => format!("Loading {}…", dataset::count_of(f.len(), "file")),
        }
    }
}

/// Loaded faces: the pixels once (checked, shared by the fit, the sweep,
/// the race, the PCA, projections and exports), what is known of them, and
/// the labels grouped for the views.
pub struct Faces {
    /// Size, labels, files, source, skipped files.
    pub meta: Arc<DatasetMeta>,
    pub matrix: Arc<FaceMatrix>,
    /// Short description: "built-in faces" or the folder's name.
    pub name: String,
    /// Face indices grouped by label (stable within a label).
    pub by_label: Arc<[usize]>,
    /// (first position in `by_label`, label) of each label group.
    pub groups: Vec<(usize, String)>,
    /// Increases with every set of faces loaded in this process.
    pub generation: u64,
}

impl Faces {
    /// Checks the matrix and takes it out of the dataset (no copy).
    pub fn new(dataset: Dataset) -> anyhow::Result<Self> {
        static GENERATION: AtomicU64 = AtomicU64::new(0);
        let Dataset { matrix: a, meta: dataset } = dataset;
        // A large set is kept once: products with Aᵀ read A in place.
        let matrix = Arc::new(FaceMatrix::new_lean(a).context("these faces cannot be factored")?);
        let generation = GENERATION.fetch_add(1, Ordering::Relaxed) + 1;
        let name = match &dataset.source {
            dataset::Source::BuiltIn => "built-in faces".to_string(),
            dataset::Source::Folder(p) => {
                dataset::display_name(p.file_name().map_or(p.as_path(), std::path::Path::new))
            }
        };
        let mut by_label: Vec<usize> = (0..dataset.labels.len()).collect();
        // Group by first appearance of each label, keeping file order inside.
        let mut first_seen = std::collections::HashMap::new();
        for (j, l) in dataset.labels.iter().enumerate() {
            first_seen.entry(l.as_str()).or_insert(j);
        }
        by_label.sort_by_key(|&j| (dataset.labels.get(j).and_then(|l| first_seen.get(l.as_str())).copied(), j));
        let mut groups: Vec<(usize, String)> = Vec::new();
        for (pos, &j) in by_label.iter().enumerate() {
            let label = dataset.labels.get(j).cloned().unwrap_or_default();
            if groups.last().is_none_or(|(_, l)| *l != label) {
                groups.push((pos, label));
            }
        }
        Ok(Faces { meta: Arc::new(dataset), matrix, name, by_label: by_label.into(), groups, generation })
    }

    /// Number of faces.
    pub fn count(&self) -> usize {
        self.matrix.faces()
    }

    /// Face `j` (pixels, row-major image).
    pub fn face(&self, j: usize) -> ndarray::ArrayView1<'_, f32> {
        self.matrix.a().index_axis_move(ndarray::Axis(1), j)
    }

    /// Largest k these faces allow: min(pixels, faces).
    pub fn max_k(&self) -> usize {
        self.matrix.pixels().min(self.matrix.faces()).max(1)
    }

    /// The label of face `j` ("" when it has none).
    pub fn label(&self, j: usize) -> &str {
        self.meta.labels.get(j).map_or("", String::as_str)
    }

    /// "400 faces, 92×112, folder /data/orl"
    pub fn summary(&self) -> String {
        let d = &self.meta;
        let source = match &d.source {
            dataset::Source::BuiltIn => "built-in set".to_string(),
            dataset::Source::Folder(p) => format!("folder {}", dataset::display_name(p)),
        };
        let n = self.count();
        format!("{}, {}×{}, {source}", dataset::count_of(n, "face"), d.width, d.height)
    }
}

/// Faces of several sizes were found, or too many to hold: the offer to
/// resize them all to one size (the most common, or the largest that fits
/// in memory, unless the user changes it) and open them.
#[derive(Debug, Clone)]
pub struct ResizeOffer {
    /// Why: faces of several sizes, or a folder too large for memory.
    pub too_large: bool,
    /// Too large: the loader's scale that fits (each side multiplied by it).
    pub scale: Option<f32>,
    pub request: LoadRequest,
    pub width: u32,
    pub height: u32,
    /// The loader's message: which sizes, and which files.
    pub message: String,
}

/// What a load job gives back.
pub(crate) struct Loaded {
    pub request: LoadRequest,
    pub resize: Option<(u32, u32)>,
    pub result: anyhow::Result<Faces>,
}

/// A load in progress.
pub(crate) type LoadJob = Job<(), Loaded>;

fn load(request: &LoadRequest, opts: &LoadOptions) -> anyhow::Result<Dataset> {
    match request {
        LoadRequest::BuiltIn => {
            let mut d = dataset::builtin::builtin_faces().dataset;
            dataset::preprocess(&mut d.matrix, opts.preprocess);
            Ok(d)
        }
        LoadRequest::Folder(p) => {
            dataset::load_folder(p, opts).with_context(|| format!("cannot open {}", dataset::display_name(p)))
        }
        LoadRequest::Files(files) => {
            // Copy the files into a temporary folder and load that: one set.
            let dir = tempfile::tempdir().context("cannot create a temporary folder for the dropped files")?;
            for (i, f) in files.iter().enumerate() {
                let name = f.file_name().map_or_else(|| format!("face{i}"), |n| n.to_string_lossy().into_owned());
                std::fs::copy(f, dir.path().join(format!("{i:04}_{name}")))
                    .with_context(|| format!("cannot read {}", dataset::display_name(f)))?;
            }
            dataset::load_folder(dir.path(), opts)
                .with_context(|| format!("cannot open the {} dropped files", files.len()))
        }
    }
}

/// Starts loading `request` in the background.
pub(crate) fn spawn_load(
    request: LoadRequest,
    resize: Option<(u32, u32)>,
    preprocess: dataset::Preprocess,
    memory_limit: Option<u64>,
    wake: Wake,
) -> Result<LoadJob, JobError> {
    // The app keeps A and its transpose: both must fit in the share of
    // memory the loader allows one matrix (`memory_limit`, or half of the
    // memory available).
    let limit = (memory_limit.unwrap_or_else(dataset::default_memory_limit) / 2).max(1);
    let opts = LoadOptions { resize, preprocess, memory_limit_bytes: Some(limit), ..LoadOptions::default() };
    Job::spawn("load", wake, None, move |_| {
        let result = load(&request, &opts).and_then(Faces::new);
        Loaded { request, resize, result }
    })
}

/// The size that fits when the faces are too many for memory: each side
/// scaled by the loader's suggested factor.
pub(crate) fn fitting_size(e: &anyhow::Error) -> Option<(u32, u32)> {
    e.chain().find_map(|c| match c.downcast_ref::<dataset::DatasetError>() {
        Some(dataset::DatasetError::TooLarge { width, height, suggested_scale, .. }) => {
            let side =
                |v: usize| u32::try_from(((v as f64) * f64::from(*suggested_scale)).floor().max(1.0) as u64).ok();
            Some((side(*width)?, side(*height)?))
        }
        _ => None,
    })
}

/// The scale the loader proposes when the faces are too many for memory.
pub(crate) fn suggested_scale(e: &anyhow::Error) -> Option<f32> {
    e.chain().find_map(|c| match c.downcast_ref::<dataset::DatasetError>() {
        Some(dataset::DatasetError::TooLarge { suggested_scale, .. }) => Some(*suggested_scale),
        _ => None,
    })
}

/// The size the loader proposes when faces of several sizes were found.
pub(crate) fn mixed_sizes(e: &anyhow::Error) -> Option<(u32, u32)> {
    e.chain().find_map(|c| match c.downcast_ref::<dataset::DatasetError>() {
        Some(dataset::DatasetError::MixedSizes { most_common: (w, h), .. }) => {
            Some((u32::try_from(*w).unwrap_or(u32::MAX), u32::try_from(*h).unwrap_or(u32::MAX)))
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_too_large_is_offered_the_size_that_fits() {
        let e = anyhow::Error::new(dataset::DatasetError::TooLarge {
            path: PathBuf::from("/data/celeba"),
            faces: 200_000,
            width: 178,
            height: 218,
            needed_bytes: 31_043_200_000,
            limit_bytes: 6_000_000_000,
            suggested_scale: 0.41,
        })
        .context("cannot open celeba");
        assert_eq!(fitting_size(&e), Some((72, 89)));
        assert_eq!(suggested_scale(&e), Some(0.41));
        assert_eq!(mixed_sizes(&e), None);
        assert_eq!(fitting_size(&anyhow::anyhow!("something else")), None);
    }
}
