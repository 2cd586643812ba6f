//! New faces: load an image that is not in the set as a face of the set's
//! size, and compute its weights with the basis W fixed (non-negative least
//! squares, [`nmf::transform`]) and its reconstruction.
//!
//! An image is read by content (any format the loader reads), turned to
//! luma in [0, 1], and given the dataset's preprocessing. An image of
//! another size is brought to the dataset's size by [`Reshape`]: by
//! default ([`Reshape::Crop`]) its centre is cropped to the faces' aspect
//! ratio and then resized with the loader's `--resize` filter (Lanczos3),
//! so a face is not squashed; [`Reshape::Stretch`] resizes the whole image
//! without keeping its aspect ratio. [`LoadedFace::resized_from`] gives its
//! original size and [`LoadedFace::cropped_to`] the crop, so the caller can
//! say what was done.

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

/// How an image of another size than the faces' is brought to their size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reshape {
    /// The centre cropped to the faces' aspect ratio, then resized.
    #[default]
    Crop,
    /// The whole image resized, its aspect ratio not kept.
    Stretch,
}

impl Reshape {
    pub const ALL: [Reshape; 2] = [Reshape::Crop, Reshape::Stretch];

    pub fn name(self) -> &'static str {
        match self {
            Reshape::Crop => "crop",
            Reshape::Stretch => "stretch",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Reshape::Crop => {
                "Crop the image's centre to the faces' aspect ratio, then resize it: the face keeps its proportions."
            }
            Reshape::Stretch => "Resize the whole image to the faces' size: a face of another shape is squashed.",
        }
    }
}

impl std::fmt::Display for Reshape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Reshape {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "crop" => Ok(Reshape::Crop),
            "stretch" => Ok(Reshape::Stretch),
            other => Err(format!("unknown reshape {other:?}: expected crop or stretch")),
        }
    }
}

/// The centred crop of a `width`×`height` image with the aspect ratio of
/// `target` (width, height): (x, y, crop width, crop height).
pub fn centre_crop(width: u32, height: u32, target: (u32, u32)) -> (u32, u32, u32, u32) {
    let (tw, th) = (u64::from(target.0.max(1)), u64::from(target.1.max(1)));
    let (w, h) = (u64::from(width), u64::from(height));
    // Compare width/height with tw/th without rounding: w·th against h·tw.
    let (cw, ch) = if w * th > h * tw {
        // Too wide: keep the height.
        (((h * tw + th / 2) / th).clamp(1, w), h)
    } else {
        (w, ((w * th + tw / 2) / tw).clamp(1, h))
    };
    let to_u32 = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
    (to_u32((w - cw) / 2), to_u32((h - ch) / 2), to_u32(cw), to_u32(ch))
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
    /// The centred crop taken before resizing, if any ([`Reshape::Crop`]).
    pub cropped_to: Option<(u32, u32)>,
}

/// An image loaded as a face of the dataset's size.
#[derive(Debug, Clone)]
pub struct LoadedFace {
    /// The face (pixels, row-major, values in [0, 1] after preprocessing).
    pub face: Array1<f32>,
    /// The image's own size (width, height) when it was resized.
    pub resized_from: Option<(u32, u32)>,
    /// The centred crop (width, height) taken before resizing, when the
    /// image was cropped ([`Reshape::Crop`] of another aspect ratio).
    pub cropped_to: Option<(u32, u32)>,
}

/// Loads the image at `path` as a `width`×`height` face with `preprocess`
/// applied, another size cropped to the faces' aspect ratio then resized
/// (see the [module docs](self)).
pub fn load_face(path: &Path, width: usize, height: usize, preprocess: Preprocess) -> Result<LoadedFace, ProjectError> {
    load_face_as(path, width, height, preprocess, Reshape::Crop)
}

/// [`load_face`], an image of another size brought to the faces' by `reshape`.
pub fn load_face_as(
    path: &Path,
    width: usize,
    height: usize,
    preprocess: Preprocess,
    reshape: Reshape,
) -> Result<LoadedFace, ProjectError> {
    if path.is_dir() {
        return Err(ProjectError::NotAFile { path: path.to_path_buf() });
    }
    let load_err = |error| ProjectError::Load { path: path.to_path_buf(), error };
    let size = (u32::try_from(width).unwrap_or(u32::MAX).max(1), u32::try_from(height).unwrap_or(u32::MAX).max(1));
    let opts = LoadOptions { resize: Some(size), preprocess, ..LoadOptions::default() };
    let scan = dataset::scan_folder(path, &opts).map_err(load_err)?;
    let original = scan.entries.first().map(|e| (e.width, e.height));
    let resized_from = original.filter(|&o| o != size);
    let crop = match (reshape, original) {
        (Reshape::Crop, Some((ow, oh))) if resized_from.is_some() => {
            Some(centre_crop(ow, oh, size)).filter(|&(_, _, cw, ch)| (cw, ch) != (ow, oh))
        }
        _ => None,
    };
    let face = match crop {
        None => {
            let ds = dataset::decode_scan(scan, &opts).map_err(load_err)?;
            ds.matrix.index_axis_move(Axis(1), 0)
        }
        Some(rect) => {
            // At its own size, then the crop resized with the loader's filter.
            let own = LoadOptions { resize: None, ..opts.clone() };
            let scan = dataset::scan_folder(path, &own).map_err(load_err)?;
            let ds = dataset::decode_scan(scan, &own).map_err(load_err)?;
            let (ow, oh) = (ds.width, ds.height);
            let pixels = ds.matrix.index_axis_move(Axis(1), 0);
            crop_and_resize(pixels.as_slice().unwrap_or(&[]), ow, oh, rect, size)
        }
    };
    let mut column = face.insert_axis(Axis(1));
    dataset::preprocess(&mut column, preprocess);
    let face = column.index_axis_move(Axis(1), 0);
    let cropped_to = crop.map(|(_, _, cw, ch)| (cw, ch));
    Ok(LoadedFace { face, resized_from, cropped_to })
}

/// The `rect` (x, y, width, height) of a `width`×`height` row-major luma
/// image, resized to `size` with the loader's filter (Lanczos3), in [0, 1].
fn crop_and_resize(
    pixels: &[f32],
    width: usize,
    height: usize,
    rect: (u32, u32, u32, u32),
    size: (u32, u32),
) -> Array1<f32> {
    let (x0, y0, cw, ch) = rect;
    let crop = image::ImageBuffer::<image::Luma<f32>, Vec<f32>>::from_fn(cw, ch, |x, y| {
        let (px, py) = ((x0 + x) as usize, (y0 + y) as usize);
        let v = if px < width && py < height { pixels.get(py * width + px).copied().unwrap_or(0.0) } else { 0.0 };
        image::Luma([v])
    });
    let resized = image::imageops::resize(&crop, size.0, size.1, image::imageops::FilterType::Lanczos3);
    resized.as_raw().iter().map(|v| v.clamp(0.0, 1.0)).collect()
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
    Ok(Projection { face: face.to_owned(), weights, reconstruction, rel_err, resized_from: None, cropped_to: None })
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
    p.cropped_to = loaded.cropped_to;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_centre_crop_has_the_targets_aspect_ratio() {
        // Too tall for 92×112: the full width, the middle rows.
        assert_eq!(centre_crop(92, 200, (92, 112)), (0, 44, 92, 112));
        // Too wide: the full height, the middle columns.
        assert_eq!(centre_crop(48, 24, (24, 24)), (12, 0, 24, 24));
        assert_eq!(centre_crop(640, 480, (92, 112)), (123, 0, 394, 480));
        // The same shape: the whole image.
        assert_eq!(centre_crop(184, 224, (92, 112)), (0, 0, 184, 224));
        // Never empty.
        assert_eq!(centre_crop(1, 1000, (1000, 1)), (0, 499, 1, 1));
        assert_eq!("Stretch".parse::<Reshape>(), Ok(Reshape::Stretch));
        assert!("squash".parse::<Reshape>().is_err());
    }

    #[test]
    fn crop_and_resize_takes_the_rectangle() {
        // 4×2: left half 0, right half 1; the right 2×2 resized to 1×1.
        let px = [0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0];
        let out = crop_and_resize(&px, 4, 2, (2, 0, 2, 2), (1, 1));
        assert_eq!(out.len(), 1);
        assert!((out[0] - 1.0).abs() < 1e-5, "{out:?}");
    }
}
