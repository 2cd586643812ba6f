//! Writing a fit to a folder: images, factors and a JSON report.
//!
//! [`export`] writes, into one folder:
//!
//! | file | what |
//! | --- | --- |
//! | `basis_montage.png` | every basis image (column of W), each auto-contrasted (its maximum is white), most important first ([`metrics::order_by_importance`]) |
//! | `basis/basis_01.png` … | the same images one per file, in the same order (`report.json`'s `basis` says which component of W each file is) |
//! | `reconstructions.png` | the reconstructions W·H of the first [`MAX_MONTAGE_FACES`] faces (all of them for a smaller set), in column order, values as they are (0 black, 1 white) |
//! | `W.npy`, `H.npy` | W (pixels × k) and H (k × faces) as float32, C order, in the fit's own component order |
//! | `W.csv`, `H.csv` | the same matrices as plain CSV (one matrix row per line, no header), each value written so that it parses back to the same f32 |
//! | `report.json` | see [`Report`] |
//!
//! Every file is written to a temporary file in its destination folder and
//! then renamed over the target, so a reader never sees a half-written
//! file. An existing, non-empty folder is refused unless `overwrite` is
//! given; with it, only the files listed above are replaced (files of an
//! earlier export that this one does not write, e.g. `basis_20.png` after
//! an export with k = 20 when k is now 16, are left as they were;
//! `report.json` lists the files that belong to this export).
//!
//! No printing: the CLI and the GUI report progress through the callback of
//! [`export_with_progress`].

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use ndarray::{Array2, ArrayView2};
use serde::Serialize;

use crate::dataset::{self, DatasetMeta, LoadOptions, Source};
use crate::nmf::{self, Params, Record, StopReason, metrics};

/// Version of the `report.json` layout.
pub const REPORT_VERSION: u32 = 1;

/// At most this many faces are shown in `reconstructions.png` (the first
/// ones in column order).
pub const MAX_MONTAGE_FACES: usize = 400;

/// Everything that can go wrong while exporting. Every message names the
/// file or folder and what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The folder exists and holds files, and overwriting was not allowed.
    #[error(
        "export folder {} already exists and is not empty; choose another folder or allow overwriting (--force)",
        .dir.display()
    )]
    NotEmpty {
        /// The folder.
        dir: PathBuf,
    },
    /// The export path exists but is not a folder.
    #[error("cannot export to {}: it exists and is not a folder", .path.display())]
    NotAFolder {
        /// The path.
        path: PathBuf,
    },
    /// Reading or writing a file or folder failed.
    #[error("cannot write {}: {error}", .path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error (shown in the message, not chained).
        error: std::io::Error,
    },
    /// Encoding a PNG failed.
    #[error("cannot encode {}: {error}", .path.display())]
    Encode {
        /// The file.
        path: PathBuf,
        /// The underlying error (shown in the message, not chained).
        error: image::ImageError,
    },
    /// Writing a `.npy` file failed.
    #[error("cannot write {}: {error}", .path.display())]
    Npy {
        /// The file.
        path: PathBuf,
        /// The underlying error (shown in the message, not chained).
        error: ndarray_npy::WriteNpyError,
    },
    /// Serialising `report.json` failed.
    #[error("cannot write {}: {error}", .path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The underlying error (shown in the message, not chained).
        error: serde_json::Error,
    },
    /// W or H does not fit the dataset.
    #[error("{what} has shape {got:?}, expected {expected:?} for this dataset")]
    Shape {
        /// "W" or "H".
        what: &'static str,
        /// Its shape.
        got: (usize, usize),
        /// The shape the dataset needs.
        expected: (usize, usize),
    },
}

/// A finished (or stopped) fit and where its faces came from.
#[derive(Debug, Clone)]
pub struct ExportInput<'a> {
    /// The faces that were fitted (for the folder, file names, sizes).
    pub dataset: &'a DatasetMeta,
    /// How the faces were loaded, when known.
    pub load_options: Option<&'a LoadOptions>,
    /// W (pixels × k).
    pub w: ArrayView2<'a, f32>,
    /// H (k × faces).
    pub h: ArrayView2<'a, f32>,
    /// The fit's parameters.
    pub params: &'a Params,
    /// One record per iteration, the initialisation first ([`nmf::Nmf::history`]).
    pub history: &'a [Record],
    /// Iterations run.
    pub iterations: usize,
    /// Why the fit stopped.
    pub stop_reason: StopReason,
    /// Seconds the faces took to load, when known.
    pub load_secs: Option<f64>,
    /// Seconds of the initialisation.
    pub init_secs: f64,
    /// Seconds of the whole fit (initialisation plus iterations).
    pub fit_secs: f64,
    /// ‖A − WH‖_F / ‖A‖_F, computed exactly ([`nmf::Nmf::exact_rel_err`]).
    pub rel_err: f64,
}

/// One basis image file and the component of W it shows.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct BasisFile {
    /// Path relative to the export folder, e.g. `basis/basis_01.png`.
    pub file: String,
    /// Column of W (0-based).
    pub component: usize,
    /// Share of the reconstruction's total intensity ([`metrics::importance`]).
    pub importance: f32,
}

/// The contents of `report.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// [`REPORT_VERSION`].
    pub version: u32,
    /// The version of facenmf that wrote it.
    pub facenmf_version: &'static str,
    /// Every parameter of the fit.
    pub parameters: Params,
    /// The dataset folder as an absolute path; `null` for the built-in faces.
    pub folder: Option<String>,
    /// Face width in pixels.
    pub width: usize,
    /// Face height in pixels.
    pub height: usize,
    /// Number of faces (columns of A and of H).
    pub faces: usize,
    /// Pixels per face (rows of A and of W).
    pub pixels: usize,
    /// The input files in column order, relative to `folder`.
    pub files: Vec<String>,
    /// How the faces were loaded, when known.
    pub load_options: Option<LoadOptions>,
    /// Iterations run.
    pub iterations: usize,
    /// Why the fit stopped.
    pub stop_reason: StopReason,
    /// Seconds to load the faces, when known.
    pub load_secs: Option<f64>,
    /// Seconds of the initialisation.
    pub init_secs: f64,
    /// Seconds of the fit, initialisation included.
    pub fit_secs: f64,
    /// ‖A − WH‖_F / ‖A‖_F, computed exactly.
    pub rel_err: f64,
    /// Mean Hoyer sparseness of the basis images ([`metrics::mean_sparseness`];
    /// `parameters.sparseness_w` says whether it was held).
    pub mean_sparseness_w: f32,
    /// Median share of pixels holding 90 % of a basis image's energy
    /// ([`metrics::median_support90`]).
    pub median_support90_w: f32,
    /// Parts that contribute nothing: all-zero columns of W or rows of H.
    pub zeroed_parts: metrics::ZeroedParts,
    /// The basis image files, most important first.
    pub basis: Vec<BasisFile>,
    /// `reconstructions.png` shows the first this-many faces.
    pub reconstructions_faces: usize,
    /// Every file this export wrote, relative to the export folder.
    pub written: Vec<String>,
    /// Per-iteration history: iteration, objective, rel_err, secs.
    pub history: Vec<Record>,
}

/// What [`export`] wrote.
#[derive(Debug, Clone)]
pub struct ExportSummary {
    /// The export folder.
    pub dir: PathBuf,
    /// Every file written, relative to `dir`, `report.json` last.
    pub files: Vec<PathBuf>,
}

/// Progress of an export: `done` of `total` files written, `file` the last one.
#[derive(Debug, Clone, Copy)]
pub struct ExportProgress<'a> {
    /// Files written so far.
    pub done: usize,
    /// Files to write in all.
    pub total: usize,
    /// The file just written (relative to the export folder).
    pub file: &'a Path,
}

/// Writes the fit to `dir` (created if missing). See the [module docs](self).
pub fn export(dir: &Path, input: &ExportInput<'_>, overwrite: bool) -> Result<ExportSummary, ExportError> {
    export_with_progress(dir, input, overwrite, |_| {})
}

/// Checks that `dir` may be exported to: it is missing, an empty folder, or
/// `overwrite` is given and it is a folder. Cheap; the CLI calls it before
/// fitting so a refusal comes before any work.
pub fn check_destination(dir: &Path, overwrite: bool) -> Result<(), ExportError> {
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ExportError::Io { path: dir.to_path_buf(), error: e }),
        Ok(m) if !m.is_dir() => Err(ExportError::NotAFolder { path: dir.to_path_buf() }),
        Ok(_) if overwrite => Ok(()),
        Ok(_) => {
            let mut entries =
                std::fs::read_dir(dir).map_err(|e| ExportError::Io { path: dir.to_path_buf(), error: e })?;
            if entries.next().is_some() { Err(ExportError::NotEmpty { dir: dir.to_path_buf() }) } else { Ok(()) }
        }
    }
}

/// [`export`], calling `on_progress` after every file.
pub fn export_with_progress(
    dir: &Path,
    input: &ExportInput<'_>,
    overwrite: bool,
    mut on_progress: impl FnMut(ExportProgress<'_>),
) -> Result<ExportSummary, ExportError> {
    let ds = input.dataset;
    let (m, n) = (ds.pixels(), ds.faces());
    let k = input.w.ncols();
    if input.w.nrows() != m || k == 0 {
        return Err(ExportError::Shape { what: "W", got: input.w.dim(), expected: (m, k.max(1)) });
    }
    if input.h.dim() != (k, n) {
        return Err(ExportError::Shape { what: "H", got: input.h.dim(), expected: (k, n) });
    }
    check_destination(dir, overwrite)?;
    let basis_dir = dir.join("basis");
    std::fs::create_dir_all(&basis_dir).map_err(|e| ExportError::Io { path: basis_dir.clone(), error: e })?;

    let w = input.w.as_standard_layout().into_owned();
    let h = input.h.as_standard_layout().into_owned();
    let order = metrics::order_by_importance(w.view(), h.view());
    let share = metrics::importance(w.view(), h.view());
    let basis: Vec<BasisFile> = order
        .iter()
        .enumerate()
        .map(|(i, &c)| BasisFile { file: basis_name(i, k), component: c, importance: share[c] })
        .collect();
    let shown = n.min(MAX_MONTAGE_FACES);

    let mut files: Vec<PathBuf> = vec![
        "basis_montage.png".into(),
        "reconstructions.png".into(),
        "W.npy".into(),
        "H.npy".into(),
        "W.csv".into(),
        "H.csv".into(),
    ];
    files.extend(basis.iter().map(|b| PathBuf::from(&b.file)));
    files.push("report.json".into());
    let total = files.len();
    let mut done = 0;
    let mut progress = |file: &Path| {
        done += 1;
        on_progress(ExportProgress { done, total, file });
    };

    // Basis images, most important first.
    let ordered = w.select(ndarray::Axis(1), &order);
    let per_row = (k as f64).sqrt().ceil() as usize;
    write_png(dir, &files[0], &dataset::builtin::montage(ordered.view(), ds.width, ds.height, per_row, true))?;
    progress(&files[0]);
    let recon = nmf::reconstruct_faces(w.view(), h.view(), 0, shown);
    let per_row = (shown as f64).sqrt().ceil() as usize;
    write_png(dir, &files[1], &dataset::builtin::montage(recon.view(), ds.width, ds.height, per_row, false))?;
    progress(&files[1]);
    write_npy(dir, &files[2], &w)?;
    progress(&files[2]);
    write_npy(dir, &files[3], &h)?;
    progress(&files[3]);
    write_csv(dir, &files[4], w.view())?;
    progress(&files[4]);
    write_csv(dir, &files[5], h.view())?;
    progress(&files[5]);
    for (i, b) in basis.iter().enumerate() {
        let col = ordered.column(i);
        let max = col.iter().copied().fold(0.0f32, f32::max).max(1e-12);
        let scaled = col.mapv(|v| v / max);
        let img = dataset::column_to_image(scaled.view(), ds.width, ds.height);
        let rel = PathBuf::from(&b.file);
        write_png(dir, &rel, &img)?;
        progress(&rel);
    }

    let folder = match &ds.source {
        Source::Folder(p) => {
            let abs = std::fs::canonicalize(p).or_else(|_| std::path::absolute(p)).unwrap_or_else(|_| p.clone());
            Some(abs.to_string_lossy().into_owned())
        }
        Source::BuiltIn => None,
    };
    let report = Report {
        version: REPORT_VERSION,
        facenmf_version: env!("CARGO_PKG_VERSION"),
        parameters: input.params.clone(),
        folder,
        width: ds.width,
        height: ds.height,
        faces: n,
        pixels: m,
        files: ds.files.iter().map(|f| f.to_string_lossy().into_owned()).collect(),
        load_options: input.load_options.cloned(),
        iterations: input.iterations,
        stop_reason: input.stop_reason,
        load_secs: input.load_secs,
        init_secs: input.init_secs,
        fit_secs: input.fit_secs,
        rel_err: input.rel_err,
        mean_sparseness_w: metrics::mean_sparseness(w.view()),
        median_support90_w: metrics::median_support90(w.view()),
        zeroed_parts: metrics::zeroed_parts(w.view(), h.view()),
        basis,
        reconstructions_faces: shown,
        written: files.iter().map(|f| f.to_string_lossy().into_owned()).collect(),
        history: input.history.to_vec(),
    };
    let report_rel = &files[total - 1];
    let target = dir.join(report_rel);
    write_atomic(&target, |out| {
        serde_json::to_writer_pretty(&mut *out, &report)
            .map_err(|e| ExportError::Json { path: target.clone(), error: e })?;
        out.write_all(b"\n").map_err(|e| ExportError::Io { path: target.clone(), error: e })
    })?;
    progress(report_rel);
    Ok(ExportSummary { dir: dir.to_path_buf(), files })
}

/// `basis/basis_01.png` …, zero-padded to at least two digits (more for k ≥ 100).
fn basis_name(i: usize, k: usize) -> String {
    let digits = k.to_string().len().max(2);
    format!("basis/basis_{:0digits$}.png", i + 1)
}

/// Writes `target` atomically: the bytes go to a temporary file in the same
/// folder, which is then renamed over `target` (replacing any file there).
/// `write` fills the file; its errors are passed through.
pub fn write_atomic(
    target: &Path,
    write: impl FnOnce(&mut BufWriter<&mut File>) -> Result<(), ExportError>,
) -> Result<(), ExportError> {
    let folder = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let io_err = |e: std::io::Error| ExportError::Io { path: target.to_path_buf(), error: e };
    let mut tmp = tempfile::Builder::new().prefix(".facenmf-").suffix(".tmp").tempfile_in(folder).map_err(io_err)?;
    {
        let mut out = BufWriter::new(tmp.as_file_mut());
        write(&mut out)?;
        out.flush().map_err(io_err)?;
    }
    tmp.persist(target).map_err(|e| io_err(e.error))?;
    Ok(())
}

fn write_png(dir: &Path, rel: &Path, img: &image::GrayImage) -> Result<(), ExportError> {
    let target = dir.join(rel);
    write_atomic(&target, |out| {
        img.write_to(out, image::ImageFormat::Png).map_err(|e| ExportError::Encode { path: target.clone(), error: e })
    })
}

fn write_npy(dir: &Path, rel: &Path, a: &Array2<f32>) -> Result<(), ExportError> {
    use ndarray_npy::WriteNpyExt;
    let target = dir.join(rel);
    write_atomic(&target, |out| a.write_npy(out).map_err(|e| ExportError::Npy { path: target.clone(), error: e }))
}

fn write_csv(dir: &Path, rel: &Path, a: ArrayView2<'_, f32>) -> Result<(), ExportError> {
    let target = dir.join(rel);
    write_atomic(&target, |out| {
        let io_err = |e: std::io::Error| ExportError::Io { path: target.clone(), error: e };
        let mut line = String::new();
        for row in a.rows() {
            line.clear();
            for (j, v) in row.iter().enumerate() {
                if j > 0 {
                    line.push(',');
                }
                // `{}` of an f32 is the shortest text that parses back to it.
                line.push_str(&v.to_string());
            }
            line.push('\n');
            out.write_all(line.as_bytes()).map_err(io_err)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basis_names_sort_in_order() {
        assert_eq!(basis_name(0, 9), "basis/basis_01.png");
        assert_eq!(basis_name(48, 49), "basis/basis_49.png");
        assert_eq!(basis_name(4, 120), "basis/basis_005.png");
    }
}
