//! Loading a folder of face images into a [`Dataset`].

use std::cmp::Ordering;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageError, ImageFormat, ImageReader, Limits};
use ndarray::Array2;
use rayon::prelude::*;

use super::{
    BLOCK, Dataset, DatasetError, DatasetMeta, LoadOptions, Skipped, Source, column_blocks, preprocess,
    validate_options, write_block,
};

/// Largest accepted image width or height, in pixels (a bogus header beyond
/// this is skipped without allocating anything).
pub const MAX_IMAGE_SIDE: u32 = 16_384;
/// Largest allocation one decoder may make (`image::Limits::max_alloc`).
pub const MAX_ALLOC_BYTES: u64 = 512 * 1024 * 1024;
/// Memory limit used when `/proc/meminfo` cannot be read.
pub const DEFAULT_MEMORY_LIMIT_FALLBACK: u64 = 4 * 1024 * 1024 * 1024;

/// The default memory limit for the pixel matrix: half of `MemAvailable`
/// (leaving the other half for the NMF's own work), or
/// [`DEFAULT_MEMORY_LIMIT_FALLBACK`] where `/proc/meminfo` is not available.
pub fn default_memory_limit() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                let rest = l.strip_prefix("MemAvailable:")?;
                let kib: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
                Some(kib.saturating_mul(1024) / 2)
            })
        })
        .filter(|&b| b > 0)
        .unwrap_or(DEFAULT_MEMORY_LIMIT_FALLBACK)
}

/// One image found by [`scan_folder`], with its header dimensions.
#[derive(Debug, Clone)]
pub struct ScanEntry {
    /// Path to open (root joined with `rel`, or the root itself).
    pub path: PathBuf,
    /// Path relative to the root (for a root that is a file: its file name).
    pub rel: PathBuf,
    /// Name of the top folder below the root, else the file stem.
    pub label: String,
    /// Width from the header.
    pub width: u32,
    /// Height from the header.
    pub height: u32,
}

/// Result of the first loading step: the images found (headers read, in
/// natural order), the files skipped so far, and the face size to load to.
#[derive(Debug, Clone)]
pub struct Scan {
    /// The root that was scanned.
    pub root: PathBuf,
    /// Images to decode, in natural order of their relative paths.
    pub entries: Vec<ScanEntry>,
    /// Files skipped while scanning, with reasons.
    pub skipped: Vec<Skipped>,
    /// Face width every image will be brought to.
    pub width: usize,
    /// Face height every image will be brought to.
    pub height: usize,
}

impl Scan {
    /// Bytes the `pixels × faces` f32 matrix will take.
    pub fn matrix_bytes(&self) -> u64 {
        matrix_bytes(self.width, self.height, self.entries.len())
    }
}

fn matrix_bytes(width: usize, height: usize, faces: usize) -> u64 {
    (width as u64)
        .saturating_mul(height as u64)
        .saturating_mul(faces as u64)
        .saturating_mul(std::mem::size_of::<f32>() as u64)
}

/// Loads every image below `root` (see the [module docs](super)) into a
/// [`Dataset`], then applies `opts.preprocess`.
///
/// Equivalent to [`scan_folder`] followed by [`decode_scan`] and [`preprocess`].
pub fn load_folder(root: &Path, opts: &LoadOptions) -> Result<Dataset, DatasetError> {
    let scan = scan_folder(root, opts)?;
    let mut ds = decode_scan(scan, opts)?;
    preprocess(&mut ds.matrix, opts.preprocess);
    Ok(ds)
}

/// Step 1 of loading: walks `root` recursively (following symlinks; loops,
/// hidden files and folders, and unreadable entries are reported as
/// skipped), reads only the header of every file in parallel, orders the
/// images naturally by relative path, decides the face size (checking that
/// all sizes agree unless `opts.resize` is given) and checks the matrix
/// against the memory limit. Nothing is decoded.
pub fn scan_folder(root: &Path, opts: &LoadOptions) -> Result<Scan, DatasetError> {
    validate_options(opts)?;
    let meta = std::fs::metadata(root).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            DatasetError::NotFound { path: root.to_path_buf() }
        } else {
            DatasetError::Io { path: root.to_path_buf(), source: e }
        }
    })?;

    let mut skipped = Vec::new();
    let mut candidates: Vec<(PathBuf, PathBuf)> = Vec::new();
    if meta.is_dir() {
        walk(root, &mut candidates, &mut skipped);
    } else {
        // A single image file: a one-face dataset.
        let rel = root.file_name().map(PathBuf::from).unwrap_or_else(|| root.to_path_buf());
        candidates.push((root.to_path_buf(), rel));
    }
    candidates.sort_by(|a, b| natural_path_cmp(&a.1, &b.1));

    let probed: Vec<Result<ScanEntry, Skipped>> =
        candidates.into_par_iter().map(|(path, rel)| probe(path, rel)).collect();
    let mut entries = Vec::with_capacity(probed.len());
    for p in probed {
        match p {
            Ok(e) => entries.push(e),
            Err(s) => skipped.push(s),
        }
    }
    skipped.sort_by(|a, b| natural_path_cmp(&a.path, &b.path));
    for s in &skipped {
        log::debug!("skipping {s}");
    }

    if entries.is_empty() {
        return Err(no_images(root, &skipped));
    }

    let (width, height) = target_size(root, &entries, opts)?;
    let scan = Scan { root: root.to_path_buf(), entries, skipped, width, height };
    let limit = opts.memory_limit_bytes.unwrap_or_else(default_memory_limit);
    let needed = scan.matrix_bytes();
    if needed > limit {
        // Scaling by F shrinks the matrix by about F²; leave a little slack.
        let f = ((limit as f64 / needed as f64).sqrt() * 0.95 * 100.0).floor() / 100.0;
        return Err(DatasetError::TooLarge {
            path: root.to_path_buf(),
            faces: scan.entries.len(),
            width,
            height,
            needed_bytes: needed,
            limit_bytes: limit,
            suggested_scale: f.max(0.01) as f32,
        });
    }
    Ok(scan)
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.as_encoded_bytes().first() == Some(&b'.')
}

/// Collects the regular files below `root` (as (path, relative path)).
fn walk(root: &Path, out: &mut Vec<(PathBuf, PathBuf)>, skipped: &mut Vec<Skipped>) {
    let mut it = walkdir::WalkDir::new(root).follow_links(true).into_iter();
    while let Some(res) = it.next() {
        let entry = match res {
            Ok(e) => e,
            Err(e) => {
                let path = e.path().unwrap_or(root).to_path_buf();
                let reason = if let Some(anc) = e.loop_ancestor() {
                    format!("symlink loop: points back to {} (not followed)", super::display_name(anc))
                } else if let Some(io) = e.io_error() {
                    if io.kind() == std::io::ErrorKind::NotFound
                        && std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink())
                    {
                        format!("cannot read: broken symlink ({io})")
                    } else {
                        format!("cannot read: {io}")
                    }
                } else {
                    format!("cannot read: {e}")
                };
                skipped.push(Skipped { path, reason });
                continue;
            }
        };
        if entry.depth() == 0 {
            continue;
        }
        let path = entry.path().to_path_buf();
        let is_dir = entry.file_type().is_dir();
        if is_hidden(entry.file_name()) {
            if is_dir {
                it.skip_current_dir();
                skipped.push(Skipped { path, reason: "hidden folder (not searched)".to_string() });
            } else {
                skipped.push(Skipped { path, reason: "hidden file".to_string() });
            }
            continue;
        }
        if is_dir {
            continue;
        }
        if !entry.file_type().is_file() {
            skipped.push(Skipped { path, reason: "not a regular file".to_string() });
            continue;
        }
        let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
        out.push((path, rel));
    }
}

/// Natural order of relative paths, component by component
/// (`s2/9.pgm` < `s2/10.pgm` < `s10/1.pgm`).
pub fn natural_path_cmp(a: &Path, b: &Path) -> Ordering {
    let mut ca = a.components();
    let mut cb = b.components();
    loop {
        match (ca.next(), cb.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let xs = x.as_os_str().to_string_lossy();
                let ys = y.as_os_str().to_string_lossy();
                // Last, the raw names: two names that differ only in bytes
                // that are not UTF-8 look the same lossily.
                let o = natord::compare(&xs, &ys).then_with(|| xs.cmp(&ys)).then_with(|| x.cmp(&y));
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

fn label_of(rel: &Path) -> String {
    let mut comps = rel.components();
    match (comps.next(), comps.next()) {
        (Some(first), Some(_)) => first.as_os_str().to_string_lossy().into_owned(),
        _ => rel.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
    }
}

fn decode_limits() -> Limits {
    let mut l = Limits::default();
    l.max_image_width = Some(MAX_IMAGE_SIDE);
    l.max_image_height = Some(MAX_IMAGE_SIDE);
    l.max_alloc = Some(MAX_ALLOC_BYTES);
    l
}

/// Opens `path` and guesses its format from content (falling back to the extension).
fn open_reader(path: &Path) -> Result<ImageReader<std::io::BufReader<std::fs::File>>, String> {
    let reader = ImageReader::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let reader = reader.with_guessed_format().map_err(|e| format!("cannot read: {e}"))?;
    if reader.format().is_none() {
        return Err(NOT_AN_IMAGE.to_string());
    }
    Ok(reader)
}

const NOT_AN_IMAGE: &str = "not an image (format not recognised)";

fn image_error_reason(e: &ImageError) -> String {
    match e {
        ImageError::Unsupported(u) => match u.format_hint() {
            image::error::ImageFormatHint::Unknown => NOT_AN_IMAGE.to_string(),
            image::error::ImageFormatHint::PathExtension(_) => NOT_AN_IMAGE.to_string(),
            _ => format!("unsupported image: {e}"),
        },
        ImageError::Limits(_) => format!(
            "image too large: {e} (limits: {MAX_IMAGE_SIDE}×{MAX_IMAGE_SIDE} pixels, {} per decode)",
            super::fmt_bytes(MAX_ALLOC_BYTES)
        ),
        ImageError::IoError(io) => format!("truncated or unreadable image: {io}"),
        _ => format!("corrupt image: {e}"),
    }
}

/// Reads the header of one candidate file.
fn probe(path: PathBuf, rel: PathBuf) -> Result<ScanEntry, Skipped> {
    let skip = |reason: String| Skipped { path: path.clone(), reason };
    match std::fs::metadata(&path) {
        Ok(m) if m.len() == 0 => return Err(skip("empty file (0 bytes)".to_string())),
        Ok(_) => {}
        Err(e) => return Err(skip(format!("cannot read: {e}"))),
    }
    let mut reader = open_reader(&path).map_err(&skip)?;
    // Read the header with only the allocation limit, so a huge claimed size
    // can be reported with its numbers; it is checked right after.
    let mut limits = decode_limits();
    limits.max_image_width = None;
    limits.max_image_height = None;
    reader.limits(limits);
    let (width, height) = reader.into_dimensions().map_err(|e| skip(image_error_reason(&e)))?;
    if width == 0 || height == 0 {
        return Err(skip(format!("image has no pixels ({width}×{height})")));
    }
    if width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE {
        return Err(skip(format!(
            "image too large: header claims {width}×{height} pixels, more than the {MAX_IMAGE_SIDE}×{MAX_IMAGE_SIDE} limit"
        )));
    }
    let label = label_of(&rel);
    Ok(ScanEntry { path, rel, label, width, height })
}

fn scaled(w: u32, h: u32, f: f32) -> (usize, usize) {
    let s = |v: u32| ((v as f64 * f as f64).round() as usize).max(1);
    (s(w), s(h))
}

/// Decides the face size: `resize`, or the common (scaled) size of all entries.
fn target_size(root: &Path, entries: &[ScanEntry], opts: &LoadOptions) -> Result<(usize, usize), DatasetError> {
    if let Some((w, h)) = opts.resize {
        return Ok((w as usize, h as usize));
    }
    let f = opts.scale.unwrap_or(1.0);
    let mut sizes: HashMap<(usize, usize), Vec<usize>> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        sizes.entry(scaled(e.width, e.height, f)).or_default().push(i);
    }
    if sizes.len() == 1 {
        return Ok(sizes.into_keys().next().unwrap_or((1, 1)));
    }
    let mut groups: Vec<((usize, usize), Vec<usize>)> = sizes.into_iter().collect();
    // Most common first; ties by size for a stable message.
    groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    let counts: Vec<String> = groups
        .iter()
        .map(|((w, h), v)| {
            let noun = if v.len() == 1 { "file" } else { "files" };
            format!("{w}×{h} ({} {noun})", v.len())
        })
        .collect();
    let minority: Vec<&ScanEntry> = groups[1..].iter().flat_map(|(_, v)| v.iter().map(|&i| &entries[i])).collect();
    const MAX_NAMES: usize = 10;
    let mut names: Vec<String> = minority
        .iter()
        .take(MAX_NAMES)
        .map(|e| format!("{} ({}×{})", super::display_name(&e.rel), e.width, e.height))
        .collect();
    if minority.len() > MAX_NAMES {
        names.push(format!("and {} more", minority.len() - MAX_NAMES));
    }
    let scaled_note = if opts.scale.is_some() { " after --scale" } else { "" };
    let (mw, mh) = groups[0].0;
    Err(DatasetError::MixedSizes {
        path: root.to_path_buf(),
        details: format!("{}{scaled_note}; files not {mw}×{mh}: {}", counts.join(", "), names.join(", ")),
        most_common: (mw, mh),
    })
}

fn no_images(root: &Path, skipped: &[Skipped]) -> DatasetError {
    let details = if skipped.is_empty() {
        "the folder is empty".to_string()
    } else {
        const MAX: usize = 5;
        let mut list: Vec<String> = skipped.iter().take(MAX).map(|s| s.to_string()).collect();
        if skipped.len() > MAX {
            list.push(format!("and {} more", skipped.len() - MAX));
        }
        let noun = if skipped.len() == 1 { "entry" } else { "entries" };
        format!("{} {noun} skipped: {}", skipped.len(), list.join("; "))
    };
    DatasetError::NoImages { path: root.to_path_buf(), details }
}

/// Step 2 of loading: decodes every image of `scan` in parallel, each one
/// straight into its column of the matrix (in blocks of a few faces, so
/// there is no second full copy). Files that fail to decode now (truncated,
/// corrupt) are added to `skipped` and their columns dropped in place.
/// Does not apply `opts.preprocess` (see [`preprocess`]).
pub fn decode_scan(scan: Scan, opts: &LoadOptions) -> Result<Dataset, DatasetError> {
    let Scan { root, entries, mut skipped, width, height } = scan;
    let pixels = width * height;
    let n = entries.len();
    let mut matrix = Array2::<f32>::zeros((pixels, n));
    let failures: Vec<Option<String>> = column_blocks(&mut matrix)
        .into_par_iter()
        .zip(entries.par_chunks(BLOCK))
        .flat_map_iter(|(block, chunk)| {
            let m = chunk.len();
            let mut buf = vec![0f32; pixels * m];
            let res: Vec<Option<String>> = chunk
                .iter()
                .zip(buf.chunks_exact_mut(pixels))
                .map(|(e, out)| decode_into(&e.path, width, height, opts, out).err())
                .collect();
            write_block(block, &buf, pixels);
            res
        })
        .collect();

    let mut keep = vec![true; n];
    let mut files = Vec::with_capacity(n);
    let mut labels = Vec::with_capacity(n);
    let mut new_skips = Vec::new();
    for (i, (e, f)) in entries.into_iter().zip(failures).enumerate() {
        match f {
            Some(reason) => {
                keep[i] = false;
                new_skips.push(Skipped { path: e.path, reason });
            }
            None => {
                files.push(e.rel);
                labels.push(e.label);
            }
        }
    }
    if !new_skips.is_empty() {
        for s in &new_skips {
            log::debug!("skipping {s}");
        }
        skipped.extend(new_skips);
        skipped.sort_by(|a, b| natural_path_cmp(&a.path, &b.path));
        if files.is_empty() {
            return Err(no_images(&root, &skipped));
        }
        matrix = drop_columns(matrix, &keep)?;
    }
    let meta = DatasetMeta { width, height, labels, files, source: Source::Folder(root), skipped };
    Ok(Dataset { matrix, meta })
}

/// Removes the columns whose `keep` flag is false, compacting in place.
fn drop_columns(matrix: Array2<f32>, keep: &[bool]) -> Result<Array2<f32>, DatasetError> {
    let (rows, n) = matrix.dim();
    let m = keep.iter().filter(|&&k| k).count();
    let matrix = if matrix.is_standard_layout() { matrix } else { matrix.as_standard_layout().into_owned() };
    let (mut v, offset) = matrix.into_raw_vec_and_offset();
    if offset.unwrap_or(0) != 0 {
        return Err(DatasetError::Internal("matrix buffer does not start at its first element".to_string()));
    }
    let mut w = 0;
    for r in 0..rows {
        for (c, &k) in keep.iter().enumerate() {
            if k {
                v[w] = v[r * n + c];
                w += 1;
            }
        }
    }
    v.truncate(rows * m);
    v.shrink_to_fit();
    Array2::from_shape_vec((rows, m), v).map_err(|e| DatasetError::Internal(e.to_string()))
}

/// Lookup table 8-bit → [0, 1], so `k` always maps to exactly `k as f32 / 255.0`.
fn lut8() -> &'static [f32; 256] {
    static LUT: std::sync::OnceLock<[f32; 256]> = std::sync::OnceLock::new();
    LUT.get_or_init(|| std::array::from_fn(|k| k as f32 / 255.0))
}

/// Decodes one image file into `out` (`width * height` values in [0, 1]),
/// converting to luma and resizing as needed. Errors are skip reasons.
pub fn decode_into(
    path: &Path,
    width: usize,
    height: usize,
    opts: &LoadOptions,
    out: &mut [f32],
) -> Result<(), String> {
    let mut reader = open_reader(path)?;
    let img = if reader.format() == Some(ImageFormat::Jpeg) {
        // The JPEG decoder fills what is missing of a truncated file with
        // grey and says nothing, so check the stream's structure first.
        drop(reader);
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
        if let Some(reason) = jpeg_truncation(&bytes) {
            return Err(reason);
        }
        let mut reader = ImageReader::with_format(std::io::Cursor::new(bytes), ImageFormat::Jpeg);
        reader.limits(decode_limits());
        reader.decode()
    } else {
        reader.limits(decode_limits());
        reader.decode()
    }
    .map_err(|e| image_error_reason(&e))?;
    let (w, h) = (img.width() as usize, img.height() as usize);
    if out.len() != width * height {
        return Err(format!("internal error: buffer of {} for {width}×{height}", out.len()));
    }
    if (w, h) == (width, height) {
        write_luma(img, out);
        return Ok(());
    }
    if opts.resize.is_none() && opts.scale.is_none() {
        return Err(format!("changed while loading: now {w}×{h}, expected {width}×{height}"));
    }
    let luma = img.to_luma32f();
    let resized = image::imageops::resize(&luma, width as u32, height as u32, image::imageops::FilterType::Lanczos3);
    for (o, v) in out.iter_mut().zip(resized.as_raw()) {
        *o = v.clamp(0.0, 1.0);
    }
    Ok(())
}

/// Why the JPEG stream `data` is cut short, if it is: the segments are
/// walked from the start-of-image marker (each header by its length, each
/// scan's entropy-coded data up to the next marker that is not a restart
/// marker or a stuffed 0xFF00) and must reach the end-of-image marker
/// 0xFFD9. Bytes after it are ignored; data that does not start with the
/// start-of-image marker is left to the decoder.
pub(crate) fn jpeg_truncation(data: &[u8]) -> Option<String> {
    const CUT: &str = "truncated JPEG: the file ends before its end-of-image marker (0xFFD9)";
    if !data.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut i = 2;
    loop {
        // Up to the next marker (decoders skip stray bytes between segments).
        let rest = data.get(i..).unwrap_or_default();
        i += rest.iter().position(|&b| b == 0xFF).unwrap_or(rest.len());
        while data.get(i) == Some(&0xFF) {
            i += 1;
        }
        let Some(&marker) = data.get(i) else { return Some(CUT.to_string()) };
        i += 1;
        match marker {
            0xD9 => return None,
            // Markers without a length.
            0x00 | 0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let Some(len) = data.get(i..i + 2).map(|b| usize::from(u16::from_be_bytes([b[0], b[1]]))) else {
            return Some(CUT.to_string());
        };
        if i + len > data.len() {
            return Some(format!("{CUT}: it ends inside the segment of marker 0xFF{marker:02X}"));
        }
        i += len.max(2);
        if marker == 0xDA {
            // Entropy-coded data: runs to the first 0xFF that starts a
            // marker other than a restart marker or a stuffed zero.
            loop {
                let Some(j) = data[i..].iter().position(|&b| b == 0xFF).map(|j| i + j) else {
                    return Some(format!("{CUT}: it ends inside the image data"));
                };
                match data.get(j + 1) {
                    None => return Some(format!("{CUT}: it ends inside the image data")),
                    Some(0x00 | 0xD0..=0xD7) => i = j + 2,
                    Some(0xFF) => i = j + 1,
                    Some(_) => {
                        i = j;
                        break;
                    }
                }
            }
        }
    }
}

/// Writes the luma of `img` (same size as `out`) into `out`, scaled to [0, 1].
fn write_luma(img: DynamicImage, out: &mut [f32]) {
    let lut = lut8();
    match img {
        DynamicImage::ImageLuma8(g) => {
            for (o, &v) in out.iter_mut().zip(g.as_raw()) {
                *o = lut[v as usize];
            }
        }
        img @ (DynamicImage::ImageLumaA8(_) | DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_)) => {
            let g = img.into_luma8();
            for (o, &v) in out.iter_mut().zip(g.as_raw()) {
                *o = lut[v as usize];
            }
        }
        img @ (DynamicImage::ImageLuma16(_)
        | DynamicImage::ImageLumaA16(_)
        | DynamicImage::ImageRgb16(_)
        | DynamicImage::ImageRgba16(_)) => {
            let g = img.into_luma16();
            for (o, &v) in out.iter_mut().zip(g.as_raw()) {
                *o = v as f32 / 65535.0;
            }
        }
        img => {
            let g = img.to_luma32f();
            for (o, &v) in out.iter_mut().zip(g.as_raw()) {
                *o = if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_of_paths() {
        let mut v: Vec<PathBuf> =
            ["s10/1.pgm", "s2/10.pgm", "s2/9.pgm", "s1/1.pgm", "a.png"].iter().map(PathBuf::from).collect();
        v.sort_by(|a, b| natural_path_cmp(a, b));
        let got: Vec<String> = v.iter().map(|p| p.display().to_string()).collect();
        assert_eq!(got, ["a.png", "s1/1.pgm", "s2/9.pgm", "s2/10.pgm", "s10/1.pgm"]);
    }

    #[test]
    fn labels() {
        assert_eq!(label_of(Path::new("s1/1.pgm")), "s1");
        assert_eq!(label_of(Path::new("s1/deep/1.pgm")), "s1");
        assert_eq!(label_of(Path::new("subject01.happy")), "subject01");
        assert_eq!(label_of(Path::new("face.png")), "face");
    }

    #[test]
    fn drop_columns_compacts() {
        let m = Array2::from_shape_fn((3, 4), |(r, c)| (r * 10 + c) as f32);
        let d = drop_columns(m, &[true, false, true, false]).unwrap();
        assert_eq!(d.dim(), (3, 2));
        assert_eq!(d.column(0).to_vec(), vec![0.0, 10.0, 20.0]);
        assert_eq!(d.column(1).to_vec(), vec![2.0, 12.0, 22.0]);
    }

    #[test]
    fn truncated_jpegs_are_found() {
        let img = image::GrayImage::from_fn(40, 48, |x, y| image::Luma([((x * 7 + y * 3) % 256) as u8]));
        let mut jpeg = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut jpeg), ImageFormat::Jpeg).expect("encode");
        assert_eq!(jpeg_truncation(&jpeg), None);
        let mut trailing = jpeg.clone();
        trailing.extend_from_slice(b"trailing bytes");
        assert_eq!(jpeg_truncation(&trailing), None);
        for cut in [3, 20, jpeg.len() / 2, jpeg.len() - 2, jpeg.len() - 1] {
            let why =
                jpeg_truncation(&jpeg[..cut]).unwrap_or_else(|| panic!("cut at {cut} of {} not found", jpeg.len()));
            assert!(why.contains("truncated JPEG"), "{why}");
        }
        assert_eq!(jpeg_truncation(b"P5 not a jpeg"), None);
    }

    #[test]
    fn lut_is_exact() {
        for k in 0..=255u8 {
            assert_eq!(lut8()[k as usize], k as f32 / 255.0);
        }
    }
}
