//! Cover images for the inspector's occlusion demo: an image file the size
//! of the faces whose dark pixels are the covered ones. The inspector owns
//! the cover (it paints it too); the model reads the file, so that the
//! error of a bad file goes to the status line like every other error.

use std::path::{Path, PathBuf};

use crate::dataset::display_name;

/// Pixels darker than this (of 255, after the image is turned to grey) are
/// covered; so are all pixels of an image that is all one level below it.
pub const COVER_THRESHOLD: u8 = 128;

/// The convention, for tooltips.
pub const COVER_CONVENTION: &str = "An image file the same size as the faces: dark pixels (below mid-grey) are \
     covered, light ones are seen; fully transparent pixels are seen.";

/// What can go wrong reading a cover image; messages name the file.
#[derive(Debug, thiserror::Error)]
pub enum CoverError {
    #[error("no face is selected: select a face, then load a cover image for it")]
    NoFace,
    #[error("cannot read the cover image {}: {error}", display_name(.path))]
    Read { path: PathBuf, error: String },
    #[error(
        "the cover image {} is {got_w}×{got_h}, but the faces are {width}×{height}: a cover image must be the faces' size",
        display_name(.path)
    )]
    Size { path: PathBuf, got_w: u32, got_h: u32, width: usize, height: usize },
}

/// A cover read from a file, for the inspector to take once.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedCover {
    /// Increases with every cover loaded.
    pub n: u64,
    /// The face (and faces generation) it was loaded for.
    pub face: usize,
    pub generation: u64,
    /// The file's name.
    pub name: String,
    /// One flag per pixel (row by row, like the faces): true = covered.
    pub covered: Vec<bool>,
}

/// Reads the cover image at `path` for faces `width` × `height`: one flag
/// per pixel, true where it is covered ([`COVER_CONVENTION`]).
pub fn read_cover(path: &Path, width: usize, height: usize) -> Result<Vec<bool>, CoverError> {
    let read_err = |error: String| CoverError::Read { path: path.to_path_buf(), error };
    if path.is_dir() {
        return Err(read_err("it is a folder, not an image file".into()));
    }
    let image = image::ImageReader::open(path)
        .map_err(|e| read_err(e.to_string()))?
        .with_guessed_format()
        .map_err(|e| read_err(e.to_string()))?
        .decode()
        .map_err(|e| read_err(e.to_string()))?;
    let (got_w, got_h) = (image.width(), image.height());
    if (got_w as usize, got_h as usize) != (width, height) {
        return Err(CoverError::Size { path: path.to_path_buf(), got_w, got_h, width, height });
    }
    let gray = image.to_luma_alpha8();
    Ok(gray.pixels().map(|p| p.0[1] > 0 && p.0[0] < COVER_THRESHOLD).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dark_pixels_are_covered_and_the_size_must_match() {
        let dir = std::env::temp_dir().join(format!("facenmf-cover-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("cover.png");
        let img = image::GrayImage::from_fn(4, 3, |x, y| image::Luma([if x == 1 && y < 2 { 10 } else { 240 }]));
        img.save(&path).unwrap();
        let covered = read_cover(&path, 4, 3).unwrap();
        let expected: Vec<bool> = (0..12).map(|i| i % 4 == 1 && i / 4 < 2).collect();
        assert_eq!(covered, expected);
        let e = read_cover(&path, 5, 3).unwrap_err().to_string();
        assert!(e.contains("cover.png is 4×3, but the faces are 5×3"), "{e}");
        let e = read_cover(&dir.join("missing.png"), 4, 3).unwrap_err().to_string();
        assert!(e.starts_with("cannot read the cover image ") && e.contains("missing.png: "), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
