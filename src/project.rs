//! New faces: load an image that is not in the set as a face of the set's
//! size, and compute its weights with the basis W fixed (non-negative least
//! squares, [`nmf::transform`]) and its reconstruction.
//!
//! An image is read by content (any format the loader reads), turned to
//! luma in [0, 1], and given the dataset's preprocessing. An image of
//! another size is resized to the dataset's size with the loader's
//! `--resize` filter (Lanczos3, widened when shrinking), without keeping
//! its aspect ratio; [`Projection::resized_from`] then gives its original
//! size so the caller can say so.

use std::path::{Path, PathBuf};

use ndarray::{Array1, ArrayView1, ArrayView2, Axis};

use crate::dataset::{self, DatasetError, LoadOptions, Preprocess, display_name};
use crate::nmf::{self, NmfError};

/// Everything that can go wrong projecting a face; messages name the file.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// The path is a folder, not an image file.
    #[error("cannot project {}: it is a folder, not an image file", display_name(.path))]
    NotAFile {
        /// The path given.
        path: PathBuf,
    },
    /// The image could not be loaded.
    #[error("cannot load {} as a face: {error}", display_name(.path))]
    Load {
        /// The image file.
        path: PathBuf,
        /// The loader's error.
        error: DatasetError,
    },
    /// The face does not fit the basis (or the basis is invalid).
    #[error("cannot project {}: {error}", display_name(.path))]
    Nmf {
        /// The image file (or a label for an in-memory face).
        path: PathBuf,
        /// The solver's error.
        error: NmfError,
    },
}

/// A face projected onto a basis.
#[derive(Debug, Clone)]
pub struct Projection {
    /// The face as loaded (pixels, row-major, values in [0, 1] after preprocessing).
    pub face: Array1<f32>,
    /// Its weights (k), non-negative.
    pub weights: Array1<f32>,
    /// W · weights (pixels).
    pub reconstruction: Array1<f32>,
    /// ‖face − reconstruction‖ / ‖face‖ (0 for an all-black face).
    pub rel_err: f64,
    /// The image's own size (width, height) when it was resized to the
    /// dataset's; `None` when it already had that size.
    pub resized_from: Option<(u32, u32)>,
}

/// An image loaded as a face of the dataset's size.
#[derive(Debug, Clone)]
pub struct LoadedFace {
    /// The face (pixels, row-major, values in [0, 1] after preprocessing).
    pub face: Array1<f32>,
    /// The image's own size (width, height) when it was resized.
    pub resized_from: Option<(u32, u32)>,
}

/// Loads the image at `path` as a `width`×`height` face with `preprocess`
/// applied (see the [module docs](self)).
pub fn load_face(path: &Path, width: usize, height: usize, preprocess: Preprocess) -> Result<LoadedFace, ProjectError> {
    if path.is_dir() {
        return Err(ProjectError::NotAFile { path: path.to_path_buf() });
    }
    let load_err = |error| ProjectError::Load { path: path.to_path_buf(), error };
    let size = (u32::try_from(width).unwrap_or(u32::MAX).max(1), u32::try_from(height).unwrap_or(u32::MAX).max(1));
    let opts = LoadOptions { resize: Some(size), preprocess, ..LoadOptions::default() };
    let scan = dataset::scan_folder(path, &opts).map_err(load_err)?;
    let original = scan.entries.first().map(|e| (e.width, e.height));
    let mut ds = dataset::decode_scan(scan, &opts).map_err(load_err)?;
    dataset::preprocess(&mut ds.matrix, preprocess);
    let face = ds.matrix.index_axis_move(Axis(1), 0);
    let resized_from = original.filter(|&o| o != size);
    Ok(LoadedFace { face, resized_from })
}

/// Projects `face` (pixels) onto the basis `w` (pixels × k). `label` names
/// the face in errors.
pub fn project_face(
    w: ArrayView2<'_, f32>,
    face: ArrayView1<'_, f32>,
    label: &Path,
) -> Result<Projection, ProjectError> {
    let x = face.insert_axis(Axis(1));
    let h = nmf::transform(w, x).map_err(|error| ProjectError::Nmf { path: label.to_path_buf(), error })?;
    let weights = h.index_axis_move(Axis(1), 0);
    let reconstruction = nmf::reconstruct(w, weights.view());
    let rel_err = nmf::metrics::rel_err(face, reconstruction.view());
    Ok(Projection { face: face.to_owned(), weights, reconstruction, rel_err, resized_from: None })
}

/// [`load_face`] then [`project_face`]: the image at `path` projected onto
/// `w`, a basis of `width`×`height` faces loaded with `preprocess`.
pub fn project_file(
    path: &Path,
    w: ArrayView2<'_, f32>,
    width: usize,
    height: usize,
    preprocess: Preprocess,
) -> Result<Projection, ProjectError> {
    let loaded = load_face(path, width, height, preprocess)?;
    let mut p = project_face(w, loaded.face.view(), path)?;
    p.resized_from = loaded.resized_from;
    Ok(p)
}
