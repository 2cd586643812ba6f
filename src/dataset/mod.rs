//! Folder → pixel matrix (one face per column), and the built-in face set.
//!
//! This is layer 1 of facenmf: it knows nothing of NMF or the GUI.
//!
//! * [`load_folder`] turns a folder of face images (any format the `image`
//!   crate decodes, recognised by content, searched recursively) into a
//!   [`Dataset`]: a `pixels × faces` matrix with intensities in `[0, 1]`.
//!   It is built from two public steps, [`scan_folder`] (walk + read headers,
//!   checks sizes and memory) and [`decode_scan`] (parallel decode straight
//!   into the matrix), so benchmarks can time each.
//! * [`preprocess`] applies the optional per-face normalisation
//!   ([`Preprocess`]); the CLI and the GUI both call it.
//! * [`builtin`] generates the built-in synthetic face set whose true parts
//!   are known.
//!
//! A root that is a single image file (e.g. dropped onto the window) loads
//! as a one-face dataset; its label is the file stem and its `files` entry
//! is the file name.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use ndarray::{Array2, ArrayView1, Axis};

pub mod builtin;
mod load;
mod preprocess;

pub use load::{
    DEFAULT_MEMORY_LIMIT_FALLBACK, MAX_ALLOC_BYTES, MAX_IMAGE_SIDE, Scan, ScanEntry, decode_scan, default_memory_limit,
    load_folder, scan_folder,
};
pub use preprocess::preprocess;

/// A set of equally sized grayscale faces as one matrix, with what is known
/// of them ([`DatasetMeta`], reached through `Deref`: `dataset.width`).
#[derive(Debug, Clone)]
pub struct Dataset {
    /// pixels × faces, standard (row-major) ndarray layout; column j is face j,
    /// pixel index p = y * width + x; values in [0, 1].
    pub matrix: Array2<f32>,
    /// Size, labels, files, source and skipped files.
    pub meta: DatasetMeta,
}

/// Everything about a set of faces but the pixels: what views, reports and
/// exports read, shared without copying the matrix.
#[derive(Debug, Clone)]
pub struct DatasetMeta {
    /// Width of every face in pixels.
    pub width: usize,
    /// Height of every face in pixels.
    pub height: usize,
    /// per face: name of its folder directly below the root (ORL: "s1".."s40"), else the file stem
    pub labels: Vec<String>,
    /// per face: path relative to the root folder (built-in set: `"smile/face_0001.png"` style
    /// names, the label folder followed by the file name, exactly as
    /// [`builtin::write_folder`] writes them)
    pub files: Vec<PathBuf>,
    /// Where the faces came from.
    pub source: Source,
    /// files that were skipped, each with the reason (human-readable, names the problem)
    pub skipped: Vec<Skipped>,
}

impl DatasetMeta {
    /// Number of pixels per face (`width * height`).
    pub fn pixels(&self) -> usize {
        self.width * self.height
    }

    /// Number of faces (one label per face).
    pub fn faces(&self) -> usize {
        self.labels.len()
    }
}

impl std::ops::Deref for Dataset {
    type Target = DatasetMeta;
    fn deref(&self) -> &DatasetMeta {
        &self.meta
    }
}

impl std::ops::DerefMut for Dataset {
    fn deref_mut(&mut self) -> &mut DatasetMeta {
        &mut self.meta
    }
}

/// Where a [`Dataset`] came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// Loaded from this folder (or single image file) on disk.
    Folder(PathBuf),
    /// The generated built-in face set ([`builtin::builtin_faces`]).
    BuiltIn,
}

/// A file (or directory) that was not loaded, and why.
#[derive(Debug, Clone)]
pub struct Skipped {
    /// The path as found below the root (root joined with the relative path).
    pub path: PathBuf,
    /// Human-readable reason, e.g. "not an image (format not recognised)".
    pub reason: String,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", display_name(&self.path), self.reason)
    }
}

impl Dataset {
    /// Number of pixels per face (`width * height`), the number of matrix rows.
    pub fn pixels(&self) -> usize {
        self.matrix.nrows()
    }

    /// Number of faces, the number of matrix columns.
    pub fn faces(&self) -> usize {
        self.matrix.ncols()
    }

    /// Face `j` as a column view (`pixels()` long, pixel index `y * width + x`).
    ///
    /// Panics if `j >= faces()`, like ndarray indexing.
    pub fn face(&self, j: usize) -> ArrayView1<'_, f32> {
        self.matrix.column(j)
    }

    /// Face `j` as an 8-bit grayscale image (values rounded, clamped to [0, 255]).
    ///
    /// Panics if `j >= faces()`.
    pub fn face_image(&self, j: usize) -> image::GrayImage {
        column_to_image(self.face(j), self.width, self.height)
    }
}

/// Turns a column (`width * height` values in [0, 1], row-major) into an 8-bit image.
///
/// Missing values (a column shorter than `width * height`) are black.
pub fn column_to_image(col: ArrayView1<'_, f32>, width: usize, height: usize) -> image::GrayImage {
    let mut img = image::GrayImage::new(width as u32, height as u32);
    for (px, v) in img.as_mut().iter_mut().zip(col.iter()) {
        *px = to_u8(*v);
    }
    img
}

/// Quantises a value in [0, 1] to 0..=255 (rounding; NaN → 0).
pub(crate) fn to_u8(v: f32) -> u8 {
    if v.is_nan() { 0 } else { (v.clamp(0.0, 1.0) * 255.0).round() as u8 }
}

/// How to load a folder.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LoadOptions {
    /// Resize every face to W×H with a proper filter (Lanczos3, widened for
    /// downscaling so it averages like an area filter). Takes the place of
    /// `scale`; giving both is an error.
    pub resize: Option<(u32, u32)>,
    /// 0 < F <= 1: downsize every face by F (e.g. Yale's 320×243 photos);
    /// the new size is `round(w * F) × round(h * F)` (at least 1×1).
    pub scale: Option<f32>,
    /// Per-face normalisation applied after loading.
    pub preprocess: Preprocess,
    /// Refuse loads whose matrix would exceed this many bytes.
    /// `None` = [`default_memory_limit`]: half of `MemAvailable` from
    /// `/proc/meminfo`, or 4 GiB if that cannot be read.
    pub memory_limit_bytes: Option<u64>,
}

/// Per-face normalisation of the pixel matrix (see [`preprocess`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Preprocess {
    /// Leave intensities as loaded (8-bit / 255).
    #[default]
    None,
    /// Lee & Seung (1999): per face, set pixel mean and standard deviation to
    /// 0.25, then clip to [0, 1].
    LeeSeung,
    /// Per-face histogram equalisation (256 levels) onto [0, 1].
    Equalize,
}

impl Preprocess {
    /// All variants, in menu order.
    pub const ALL: [Preprocess; 3] = [Preprocess::None, Preprocess::LeeSeung, Preprocess::Equalize];

    /// The name used on the command line and in settings: "none", "lee-seung", "equalize".
    pub fn name(self) -> &'static str {
        match self {
            Preprocess::None => "none",
            Preprocess::LeeSeung => "lee-seung",
            Preprocess::Equalize => "equalize",
        }
    }
}

impl fmt::Display for Preprocess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Preprocess {
    type Err = DatasetError;

    /// Accepts "none", "lee-seung", "equalize" (case-insensitive; "_" or no
    /// separator instead of "-", and "equalise", are accepted too).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm: String =
            s.trim().to_ascii_lowercase().chars().filter(|c| *c != '-' && *c != '_' && *c != ' ').collect();
        match norm.as_str() {
            "none" => Ok(Preprocess::None),
            "leeseung" => Ok(Preprocess::LeeSeung),
            "equalize" | "equalise" => Ok(Preprocess::Equalize),
            _ => Err(DatasetError::UnknownPreprocess { name: s.to_string() }),
        }
    }
}

/// Everything that can go wrong in this module. Every message names the
/// file, folder or value concerned and what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// The folder to load does not exist.
    #[error("face folder not found: {} does not exist", display_name(.path))]
    NotFound {
        /// The path given.
        path: PathBuf,
    },
    /// An I/O error on a path that had to be read or written.
    #[error("cannot access {}: {source}", display_name(.path))]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The folder holds no image that could be loaded.
    #[error("no usable face images in {}: {details}", display_name(.path))]
    NoImages {
        /// The root folder (or file).
        path: PathBuf,
        /// What was found instead (counts and example skipped files).
        details: String,
    },
    /// Faces have different sizes and no resize was requested.
    #[error(
        "the images in {} have different sizes: {details}; use --resize WxH to bring every face to one size",
        display_name(.path)
    )]
    MixedSizes {
        /// The root folder.
        path: PathBuf,
        /// Sizes found with counts, and the files of the minority sizes.
        details: String,
        /// The most common size (width, height): what a resize should
        /// default to.
        most_common: (usize, usize),
    },
    /// The matrix would not fit in the memory limit.
    #[error(
        "{} of {width}×{height} pixels from {} need {} for the pixel matrix, more than the memory limit of {}; load them smaller with --scale {suggested_scale} (or --resize WxH)",
        count_of(*.faces, "face"), display_name(.path), fmt_bytes(*.needed_bytes), fmt_bytes(*.limit_bytes)
    )]
    TooLarge {
        /// The root folder.
        path: PathBuf,
        /// Number of faces found.
        faces: usize,
        /// Face width after scaling/resizing.
        width: usize,
        /// Face height after scaling/resizing.
        height: usize,
        /// Bytes the matrix would take.
        needed_bytes: u64,
        /// The limit in force.
        limit_bytes: u64,
        /// A `--scale` factor that would fit.
        suggested_scale: f32,
    },
    /// An option value is out of range or options contradict each other.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// A "WxH" size string could not be parsed.
    #[error("invalid size {input:?}: {reason} (expected WxH, e.g. 64x64)")]
    InvalidSize {
        /// The string given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An unknown preprocessing name.
    #[error("unknown preprocessing {name:?}: expected one of none, lee-seung, equalize")]
    UnknownPreprocess {
        /// The name given.
        name: String,
    },
    /// `write_folder` refuses to overwrite an existing file.
    #[error("refusing to overwrite existing file {}", display_name(.path))]
    FileExists {
        /// The existing file.
        path: PathBuf,
    },
    /// Encoding an image to write it failed.
    #[error("cannot encode {}: {source}", display_name(.path))]
    Encode {
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: image::ImageError,
    },
    /// An internal invariant was broken (a bug in facenmf).
    #[error("internal error in the dataset loader: {0}")]
    Internal(String),
}

/// A path as text for messages and reports: on one line and unambiguous
/// (distinct paths give distinct texts), whatever bytes the name holds.
///
/// Valid UTF-8 is kept as it is, except control characters (newline, tab,
/// escape…), invisible format characters (bidirectional overrides, zero
/// width spaces, U+2028/U+2029 line breaks) and the backslash, which are
/// escaped as Rust writes them (`\n`, `\u{202e}`, `\\`); each byte that is
/// not UTF-8 is written `\xNN`. A name like `x<newline>warning: y.pgm` thus
/// shows as `x\nwarning: y.pgm`, and `a<0xff>.pgm` and `a<0xfe>.pgm` as
/// `a\xff.pgm` and `a\xfe.pgm` (where `to_string_lossy` makes both
/// `a\u{fffd}.pgm`). On Windows, where the backslash separates folders and
/// cannot be part of a name, it is kept.
pub fn display_name(path: &Path) -> String {
    use std::fmt::Write as _;
    let bytes = path.as_os_str().as_encoded_bytes();
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if needs_escape(c) {
                out.extend(c.escape_debug());
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// Characters [`display_name`] escapes.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || (c == '\\' && !cfg!(windows))
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// "1 face", "2 faces", "0 faces": a count and its noun, plural unless the
/// count is 1 (nouns here take an "s": face, file, rank, pixel, fold).
pub fn count_of(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// Formats a byte count as "1.5 GiB", "300.0 MiB", ...
pub fn fmt_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} bytes") } else { format!("{v:.1} {}", UNITS[unit]) }
}

/// Parses a face size "WxH" (also "W×H" or "WXH"), e.g. "92x112", for `--resize`.
///
/// Both sides must be integers from 1 to [`MAX_IMAGE_SIDE`].
pub fn parse_size(s: &str) -> Result<(u32, u32), DatasetError> {
    let err = |reason: &str| DatasetError::InvalidSize { input: s.to_string(), reason: reason.to_string() };
    let t = s.trim();
    let mut parts = t.split(['x', 'X', '×']);
    let (Some(w), Some(h), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(err("it must be two numbers separated by 'x'"));
    };
    let parse = |v: &str, what: &str| -> Result<u32, DatasetError> {
        let n: u32 = v.trim().parse().map_err(|_| err(&format!("{what} {:?} is not a whole number", v.trim())))?;
        if n == 0 {
            return Err(err(&format!("{what} must be at least 1")));
        }
        if n > MAX_IMAGE_SIDE {
            return Err(err(&format!("{what} {n} exceeds the maximum {MAX_IMAGE_SIDE}")));
        }
        Ok(n)
    };
    Ok((parse(w, "width")?, parse(h, "height")?))
}

/// Checks `opts` for out-of-range values (scale outside (0, 1], zero resize,
/// both resize and scale).
pub fn validate_options(opts: &LoadOptions) -> Result<(), DatasetError> {
    if let Some(f) = opts.scale
        && !(f.is_finite() && f > 0.0 && f <= 1.0)
    {
        return Err(DatasetError::InvalidOption(format!("--scale must be in (0, 1] (it only downsizes), got {f}")));
    }
    if let Some((w, h)) = opts.resize {
        if w == 0 || h == 0 || w > MAX_IMAGE_SIDE || h > MAX_IMAGE_SIDE {
            return Err(DatasetError::InvalidOption(format!(
                "--resize {w}x{h}: both sides must be between 1 and {MAX_IMAGE_SIDE}"
            )));
        }
        if opts.scale.is_some() {
            return Err(DatasetError::InvalidOption("give either --resize or --scale, not both".to_string()));
        }
    }
    if opts.memory_limit_bytes == Some(0) {
        return Err(DatasetError::InvalidOption("memory limit must be more than 0 bytes".to_string()));
    }
    Ok(())
}

/// Number of faces per column block written by one parallel task.
pub(crate) const BLOCK: usize = 16;

/// Writes `buf` (faces one after another, `pixels` values each) into the
/// columns of `block` (pixels × faces, a column block of a standard-layout
/// matrix, so each of its rows is a short contiguous run).
pub(crate) fn write_block(mut block: ndarray::ArrayViewMut2<'_, f32>, buf: &[f32], pixels: usize) {
    let m = block.ncols();
    if buf.len() < pixels * m || block.nrows() != pixels {
        return;
    }
    let faces: Vec<&[f32]> = buf.chunks_exact(pixels).take(m).collect();
    for (p, mut row) in block.rows_mut().into_iter().enumerate() {
        if let Some(r) = row.as_slice_mut() {
            for (v, face) in r.iter_mut().zip(&faces) {
                *v = face[p];
            }
        } else {
            for (v, face) in row.iter_mut().zip(&faces) {
                *v = face[p];
            }
        }
    }
}

/// The face columns of `m` in blocks of [`BLOCK`], for parallel per-face work.
pub(crate) fn column_blocks(m: &mut Array2<f32>) -> ndarray::iter::AxisChunksIterMut<'_, f32, ndarray::Ix2> {
    m.axis_chunks_iter_mut(Axis(1), BLOCK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_are_one_line_and_unambiguous() {
        assert_eq!(display_name(Path::new("s1/1.pgm")), "s1/1.pgm");
        assert_eq!(display_name(Path::new("x\nwarning: fake.pgm")), "x\\nwarning: fake.pgm");
        assert_eq!(display_name(Path::new("tab\there\u{202e}gnp.exe")), "tab\\there\\u{202e}gnp.exe");
        assert_eq!(display_name(Path::new("çà/visage.png")), "çà/visage.png");
        #[cfg(unix)]
        {
            use std::ffi::OsStr;
            use std::os::unix::ffi::OsStrExt;
            let a = display_name(Path::new(OsStr::from_bytes(b"a\xff.pgm")));
            let b = display_name(Path::new(OsStr::from_bytes(b"a\xfe.pgm")));
            assert_eq!((a.as_str(), b.as_str()), ("a\\xff.pgm", "a\\xfe.pgm"));
            // A literal backslash is escaped, so it cannot pass for an escape.
            assert_eq!(display_name(Path::new("a\\xff.pgm")), "a\\\\xff.pgm");
        }
    }

    #[test]
    fn parse_sizes() {
        assert_eq!(parse_size("92x112").ok(), Some((92, 112)));
        assert_eq!(parse_size(" 64X64 ").ok(), Some((64, 64)));
        assert_eq!(parse_size("32×24").ok(), Some((32, 24)));
        for bad in ["", "64", "64x", "x64", "0x10", "10x0", "-5x5", "axb", "1x2x3", "99999x2"] {
            let e = parse_size(bad).expect_err(bad).to_string();
            assert!(e.contains(&format!("{bad:?}")), "{e}");
            assert!(e.contains("WxH"), "{e}");
        }
    }

    #[test]
    fn preprocess_names_round_trip() {
        for p in Preprocess::ALL {
            assert_eq!(p.to_string().parse::<Preprocess>().ok(), Some(p));
        }
        assert_eq!("Lee_Seung".parse::<Preprocess>().ok(), Some(Preprocess::LeeSeung));
        assert_eq!("equalise".parse::<Preprocess>().ok(), Some(Preprocess::Equalize));
        let e = "sharpen".parse::<Preprocess>().unwrap_err().to_string();
        assert!(e.contains("sharpen") && e.contains("lee-seung"), "{e}");
    }

    #[test]
    fn options_are_validated() {
        let ok = LoadOptions::default();
        assert!(validate_options(&ok).is_ok());
        for f in [0.0, -1.0, 1.5, f32::NAN, f32::INFINITY] {
            let o = LoadOptions { scale: Some(f), ..Default::default() };
            assert!(validate_options(&o).is_err(), "scale {f}");
        }
        let o = LoadOptions { scale: Some(1.0), ..Default::default() };
        assert!(validate_options(&o).is_ok());
        let o = LoadOptions { resize: Some((0, 5)), ..Default::default() };
        assert!(validate_options(&o).is_err());
    }

    #[test]
    fn bytes_formatting() {
        assert_eq!(fmt_bytes(12), "12 bytes");
        assert_eq!(fmt_bytes(1536), "1.5 KiB");
        assert_eq!(fmt_bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
    }

    #[test]
    fn counts_are_singular_for_one() {
        assert_eq!(count_of(1, "face"), "1 face");
        assert_eq!(count_of(0, "face"), "0 faces");
        assert_eq!(count_of(400, "face"), "400 faces");
        assert_eq!(count_of(1, "file"), "1 file");
    }

    #[test]
    fn face_accessors() {
        let m = Array2::from_shape_fn((6, 2), |(p, j)| (p + 10 * j) as f32 / 20.0);
        let meta = DatasetMeta {
            width: 3,
            height: 2,
            labels: vec!["a".into(), "b".into()],
            files: vec!["a.png".into(), "b.png".into()],
            source: Source::BuiltIn,
            skipped: vec![],
        };
        let ds = Dataset { matrix: m, meta };
        assert_eq!((ds.pixels(), ds.faces()), (6, 2));
        assert_eq!(ds.face(1)[0], 0.5);
        let img = ds.face_image(1);
        assert_eq!(img.dimensions(), (3, 2));
        assert_eq!(img.get_pixel(0, 0).0[0], 128);
    }
}
