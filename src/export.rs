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
//! The export is built in a hidden staging folder inside the destination
//! (`.facenmf-export-…`), then moved into place file by file, `report.json`
//! last, so a reader never sees a half-written file, and a failed export
//! (a full disk, an encoding error) leaves the folder as it was. Files get
//! the usual modes for new files (0666 less the umask on unix).
//!
//! `report.json`'s `written` is the export's manifest: the files it owns.
//! An existing, non-empty folder is refused unless `overwrite` is given;
//! with it, the files this export writes are replaced and the files the
//! previous export's manifest lists that this one does not write (e.g.
//! `basis/basis_20.png` of an export with k = 20 when k is now 16) are
//! removed, so the folder holds one export, never a mix. Nothing else in
//! the folder is touched: a file is removed only if the previous manifest
//! lists it and its name is one an export writes. (Were the process killed
//! during the final moves, the folder could hold files of both exports
//! until the next export to it.)
//!
//! [`check_destination`] refuses a destination that cannot be written
//! before any work: the CLI calls it before fitting.
//!
//! No printing: the CLI and the GUI report progress through the callback of
//! [`export_with_progress`].
//!
//! Pictures for slides (the labelled basis montage, a caption under a
//! screenshot) are in [`picture`], movies of a fit (animated GIFs) in
//! [`movie`]; both write one file atomically and never replace one unless
//! asked to.

pub mod movie;
pub mod picture;
mod text;

pub use movie::{MovieContent, MovieFrame, MovieReport, MovieSpec, SnapshotSchedule, write_movie};
pub use picture::{Caption, MontageSpec, basis_montage, save_png};

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use ndarray::{Array2, ArrayView2};
use serde::Serialize;

use crate::dataset::{self, DatasetMeta, LoadOptions, Source, display_name};
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
        display_name(.dir)
    )]
    NotEmpty {
        /// The folder.
        dir: PathBuf,
    },
    /// The export path exists but is not a folder.
    #[error("cannot export to {}: it exists and is not a folder", display_name(.path))]
    NotAFolder {
        /// The path.
        path: PathBuf,
    },
    /// The folder (or, when it does not exist yet, the folder it would be
    /// created in) does not let us create files.
    #[error("cannot export to {}: cannot create files in {}: {error}", display_name(.dir), display_name(.folder))]
    NotWritable {
        /// The export folder asked for.
        dir: PathBuf,
        /// The folder that was probed.
        folder: PathBuf,
        /// The underlying error (shown in the message, not chained).
        error: std::io::Error,
    },
    /// Reading or writing a file or folder failed.
    #[error("cannot write {}: {error}", display_name(.path))]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error (shown in the message, not chained).
        error: std::io::Error,
    },
    /// Encoding a PNG failed.
    #[error("cannot encode {}: {error}", display_name(.path))]
    Encode {
        /// The file.
        path: PathBuf,
        /// The underlying error (shown in the message, not chained).
        error: image::ImageError,
    },
    /// Writing a `.npy` file failed.
    #[error("cannot write {}: {error}", display_name(.path))]
    Npy {
        /// The file.
        path: PathBuf,
        /// The underlying error (shown in the message, not chained).
        error: ndarray_npy::WriteNpyError,
    },
    /// Serialising `report.json` failed.
    #[error("cannot write {}: {error}", display_name(.path))]
    Json {
        /// The file.
        path: PathBuf,
        /// The underlying error (shown in the message, not chained).
        error: serde_json::Error,
    },
    /// The file exists, and replacing it was not allowed.
    #[error("{} already exists; choose another name or allow replacing it", display_name(.path))]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// A table can be saved as .csv or .json only.
    #[error("cannot save the table as {}: give a file name ending in .csv or .json", display_name(.path))]
    TableFormat {
        /// The file name given.
        path: PathBuf,
    },
    /// A picture must be a .png file, a movie a .gif file.
    #[error("cannot write {}: give a file name ending in .{ext}", display_name(.path))]
    Extension {
        /// The file name given.
        path: PathBuf,
        /// The extension it needs.
        ext: &'static str,
    },
    /// The folder a file is to be written in does not exist.
    #[error("cannot write {}: there is no folder {}", display_name(.path), display_name(.folder))]
    NoFolder {
        /// The file.
        path: PathBuf,
        /// Its folder.
        folder: PathBuf,
    },
    /// A file was asked for where a folder is.
    #[error("cannot write {}: it is a folder", display_name(.path))]
    IsAFolder {
        /// The path.
        path: PathBuf,
    },
    /// A picture's or movie's scale is out of range.
    #[error("scale {scale} is out of range: give 1 to {}", picture::MAX_SCALE)]
    Scale {
        /// The scale asked for.
        scale: u32,
    },
    /// The picture would be too large to write.
    #[error("the picture would be {width}×{height} pixels, too large to write; choose a smaller scale")]
    TooLarge {
        /// Its width in pixels.
        width: usize,
        /// Its height in pixels.
        height: usize,
    },
    /// A movie needs at least one snapshot.
    #[error("no snapshots to make a movie of")]
    NoFrames,
    /// The face chosen for a movie is not in the set.
    #[error("face {} is not in the set: it has {faces} faces (give 1 to {faces})", .index + 1)]
    FaceIndex {
        /// The face's column (0-based).
        index: usize,
        /// Faces in the set.
        faces: usize,
    },
    /// The font for labels and captions could not be read.
    #[error("cannot read the font for labels: {error}")]
    Font {
        /// What is wrong with it.
        error: String,
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
    /// The dataset folder as an absolute path ([`display_name`]: names that
    /// are not UTF-8 are escaped); `null` for the built-in faces.
    pub folder: Option<String>,
    /// Face width in pixels.
    pub width: usize,
    /// Face height in pixels.
    pub height: usize,
    /// Number of faces (columns of A and of H).
    pub faces: usize,
    /// Pixels per face (rows of A and of W).
    pub pixels: usize,
    /// The input files in column order, relative to `folder`, each as
    /// [`display_name`] writes it: control characters, backslashes and bytes
    /// that are not UTF-8 escaped, so distinct files have distinct entries.
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
    /// Every file this export wrote, relative to the export folder: the
    /// export's manifest (a forced export to the same folder removes the
    /// files listed here that it does not write itself).
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

/// Checks that `dir` may be exported to: it is missing (and the folder it
/// would be created in is writable), or an empty writable folder, or
/// `overwrite` is given and it is a writable folder. Writability is probed
/// by creating (and removing) a temporary file. Cheap; the CLI calls it
/// before fitting so a refusal comes before any work.
pub fn check_destination(dir: &Path, overwrite: bool) -> Result<(), ExportError> {
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // create_dir_all will create it (and any missing parents) in
            // the nearest folder that exists.
            for ancestor in dir.ancestors().skip(1) {
                let folder = if ancestor.as_os_str().is_empty() { Path::new(".") } else { ancestor };
                match std::fs::metadata(folder) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(ExportError::Io { path: folder.to_path_buf(), error: e }),
                    Ok(m) if !m.is_dir() => return Err(ExportError::NotAFolder { path: folder.to_path_buf() }),
                    Ok(_) => return probe_writable(dir, folder),
                }
            }
            Ok(())
        }
        Err(e) => Err(ExportError::Io { path: dir.to_path_buf(), error: e }),
        Ok(m) if !m.is_dir() => Err(ExportError::NotAFolder { path: dir.to_path_buf() }),
        Ok(_) => {
            probe_writable(dir, dir)?;
            if overwrite {
                return Ok(());
            }
            let mut entries =
                std::fs::read_dir(dir).map_err(|e| ExportError::Io { path: dir.to_path_buf(), error: e })?;
            if entries.next().is_some() { Err(ExportError::NotEmpty { dir: dir.to_path_buf() }) } else { Ok(()) }
        }
    }
}

/// Creates and removes a temporary file in `folder`, the folder `dir` is
/// or will be created in.
fn probe_writable(dir: &Path, folder: &Path) -> Result<(), ExportError> {
    tempfile::Builder::new()
        .prefix(".facenmf-probe-")
        .tempfile_in(folder)
        .map(drop)
        .map_err(|error| ExportError::NotWritable { dir: dir.to_path_buf(), folder: folder.to_path_buf(), error })
}

/// The files the export in `dir` owns, from its `report.json`'s `written`
/// (empty when there is none, or it cannot be read): only names an export
/// writes ([`is_export_file`]), so a manifest can never name anything else.
fn previous_manifest(dir: &Path) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string(dir.join(REPORT_FILE)) else { return Vec::new() };
    let Ok(report) = serde_json::from_str::<serde_json::Value>(&text) else { return Vec::new() };
    let Some(written) = report.get("written").and_then(|w| w.as_array()) else { return Vec::new() };
    written.iter().filter_map(|v| v.as_str()).filter(|f| is_export_file(f)).map(PathBuf::from).collect()
}

/// The report file, written last.
const REPORT_FILE: &str = "report.json";

/// The files every export writes besides the basis images and the report.
const FIXED_FILES: [&str; 6] = ["basis_montage.png", "reconstructions.png", "W.npy", "H.npy", "W.csv", "H.csv"];

/// Whether `name` (relative, `/`-separated) is a file an export writes:
/// one of the fixed names, `report.json`, or `basis/basis_<digits>.png`.
fn is_export_file(name: &str) -> bool {
    if FIXED_FILES.contains(&name) || name == REPORT_FILE {
        return true;
    }
    name.strip_prefix("basis/basis_")
        .and_then(|r| r.strip_suffix(".png"))
        .is_some_and(|d| d.len() >= 2 && d.bytes().all(|b| b.is_ascii_digit()))
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
    std::fs::create_dir_all(dir).map_err(|e| ExportError::Io { path: dir.to_path_buf(), error: e })?;
    let previous = if overwrite { previous_manifest(dir) } else { Vec::new() };
    let staging = tempfile::Builder::new()
        .prefix(".facenmf-export-")
        .tempdir_in(dir)
        .map_err(|e| ExportError::Io { path: dir.to_path_buf(), error: e })?;
    let stage = staging.path();
    let stage_basis = stage.join("basis");
    std::fs::create_dir(&stage_basis).map_err(|e| ExportError::Io { path: stage_basis.clone(), error: e })?;

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

    let mut files: Vec<PathBuf> = FIXED_FILES.iter().map(PathBuf::from).collect();
    files.extend(basis.iter().map(|b| PathBuf::from(&b.file)));
    files.push(REPORT_FILE.into());
    let total = files.len();
    let mut done = 0;
    let mut progress = |file: &Path| {
        done += 1;
        on_progress(ExportProgress { done, total, file });
    };

    // Basis images, most important first.
    let ordered = w.select(ndarray::Axis(1), &order);
    let per_row = (k as f64).sqrt().ceil() as usize;
    write_png(stage, &files[0], &dataset::builtin::montage(ordered.view(), ds.width, ds.height, per_row, true))?;
    progress(&files[0]);
    let recon = nmf::reconstruct_faces(w.view(), h.view(), 0, shown);
    let per_row = (shown as f64).sqrt().ceil() as usize;
    write_png(stage, &files[1], &dataset::builtin::montage(recon.view(), ds.width, ds.height, per_row, false))?;
    progress(&files[1]);
    write_npy(stage, &files[2], &w)?;
    progress(&files[2]);
    write_npy(stage, &files[3], &h)?;
    progress(&files[3]);
    write_csv(stage, &files[4], w.view())?;
    progress(&files[4]);
    write_csv(stage, &files[5], h.view())?;
    progress(&files[5]);
    for (i, b) in basis.iter().enumerate() {
        let col = ordered.column(i);
        let max = col.iter().copied().fold(0.0f32, f32::max).max(1e-12);
        let scaled = col.mapv(|v| v / max);
        let img = dataset::column_to_image(scaled.view(), ds.width, ds.height);
        let rel = PathBuf::from(&b.file);
        write_png(stage, &rel, &img)?;
        progress(&rel);
    }

    let folder = match &ds.source {
        Source::Folder(p) => {
            let abs = std::fs::canonicalize(p).or_else(|_| std::path::absolute(p)).unwrap_or_else(|_| p.clone());
            Some(display_name(&abs))
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
        files: ds.files.iter().map(|f| display_name(f)).collect(),
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
    let staged_report = stage.join(report_rel);
    write_file(&staged_report, |out| {
        serde_json::to_writer_pretty(&mut *out, &report)
            .map_err(|e| ExportError::Json { path: staged_report.clone(), error: e })?;
        out.write_all(b"\n").map_err(|e| ExportError::Io { path: staged_report.clone(), error: e })
    })?;

    // Everything is written: move it into place, then remove what the
    // previous export owned and this one does not write, then the report.
    let basis_dir = dir.join("basis");
    std::fs::create_dir_all(&basis_dir).map_err(|e| ExportError::Io { path: basis_dir.clone(), error: e })?;
    let (report_file, data_files) = files.split_last().unwrap_or((report_rel, &[]));
    for rel in data_files {
        move_into_place(stage, dir, rel)?;
    }
    for stale in previous.iter().filter(|p| !files.contains(p)) {
        let path = dir.join(stale);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(ExportError::Io { path, error: e }),
            _ => {}
        }
    }
    move_into_place(stage, dir, report_file)?;
    progress(report_rel);
    staging.close().map_err(|e| ExportError::Io { path: dir.to_path_buf(), error: e })?;
    Ok(ExportSummary { dir: dir.to_path_buf(), files })
}

/// Renames `stage/rel` to `dir/rel` (replacing a file there).
fn move_into_place(stage: &Path, dir: &Path, rel: &Path) -> Result<(), ExportError> {
    let target = dir.join(rel);
    std::fs::rename(stage.join(rel), &target).map_err(|e| ExportError::Io { path: target, error: e })
}

/// `basis/basis_01.png` …, zero-padded to at least two digits (more for k ≥ 100).
fn basis_name(i: usize, k: usize) -> String {
    let digits = k.to_string().len().max(2);
    format!("basis/basis_{:0digits$}.png", i + 1)
}

/// Writes `target` atomically: the bytes go to a temporary file in the same
/// folder, which is then renamed over `target` (replacing any file there).
/// The file gets the mode of any new file (0666 less the umask on unix),
/// not the temporary file's 0600. `write` fills the file; its errors are
/// passed through.
pub fn write_atomic(
    target: &Path,
    write: impl FnOnce(&mut BufWriter<&mut File>) -> Result<(), ExportError>,
) -> Result<(), ExportError> {
    let folder = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let io_err = |e: std::io::Error| ExportError::Io { path: target.to_path_buf(), error: e };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".facenmf-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Created with open(2)'s mode 0666, which the umask then narrows.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(folder).map_err(io_err)?;
    {
        let mut out = BufWriter::new(tmp.as_file_mut());
        write(&mut out)?;
        out.flush().map_err(io_err)?;
    }
    tmp.persist(target).map_err(|e| io_err(e.error))?;
    Ok(())
}

/// Creates `target` (a new file in the staging folder, so with the usual
/// mode) and fills it with `write`.
fn write_file(
    target: &Path,
    write: impl FnOnce(&mut BufWriter<&mut File>) -> Result<(), ExportError>,
) -> Result<(), ExportError> {
    let io_err = |e: std::io::Error| ExportError::Io { path: target.to_path_buf(), error: e };
    let mut file = File::create(target).map_err(io_err)?;
    let mut out = BufWriter::new(&mut file);
    write(&mut out)?;
    out.flush().map_err(io_err)
}

fn write_png(dir: &Path, rel: &Path, img: &image::GrayImage) -> Result<(), ExportError> {
    let target = dir.join(rel);
    write_file(&target, |out| {
        img.write_to(out, image::ImageFormat::Png).map_err(|e| ExportError::Encode { path: target.clone(), error: e })
    })
}

fn write_npy(dir: &Path, rel: &Path, a: &Array2<f32>) -> Result<(), ExportError> {
    use ndarray_npy::WriteNpyExt;
    let target = dir.join(rel);
    write_file(&target, |out| a.write_npy(out).map_err(|e| ExportError::Npy { path: target.clone(), error: e }))
}

fn write_csv(dir: &Path, rel: &Path, a: ArrayView2<'_, f32>) -> Result<(), ExportError> {
    let target = dir.join(rel);
    write_file(&target, |out| {
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
    fn only_export_names_are_owned() {
        for ok in ["W.npy", "H.csv", "report.json", "basis_montage.png", "basis/basis_01.png", "basis/basis_120.png"] {
            assert!(is_export_file(ok), "{ok}");
        }
        for bad in ["notes.txt", "../W.npy", "/etc/passwd", "basis/basis_1.png", "basis/basis_0a.png", "basis/x.png"] {
            assert!(!is_export_file(bad), "{bad}");
        }
        assert!(is_export_file(&basis_name(0, 3)) && is_export_file(&basis_name(119, 120)));
    }

    #[test]
    fn basis_names_sort_in_order() {
        assert_eq!(basis_name(0, 9), "basis/basis_01.png");
        assert_eq!(basis_name(48, 49), "basis/basis_49.png");
        assert_eq!(basis_name(4, 120), "basis/basis_005.png");
    }
}

/// One row of the rank explorer's table, as saved.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RankRow {
    pub k: usize,
    pub rel_err: f64,
    pub svd_rel_err: f64,
    /// Uncentred: share of ‖A‖² captured by the best rank-k approximation.
    pub explained_variance: f64,
    pub sparseness_w: f32,
    pub cv_rel_err: Option<f64>,
    pub cv_rel_err_sd: Option<f64>,
    pub stability: Option<f64>,
    pub iterations: usize,
    pub fit_secs: f64,
    pub total_secs: f64,
}

impl RankRow {
    /// The row of a sweep's rank.
    pub fn new(p: &crate::nmf::sweep::SweepPoint) -> Self {
        RankRow {
            k: p.k,
            rel_err: p.rel_err,
            svd_rel_err: p.svd_rel_err,
            explained_variance: p.explained_variance,
            sparseness_w: p.sparseness_w,
            cv_rel_err: p.cv.as_ref().map(|c| c.mean),
            cv_rel_err_sd: p.cv.as_ref().map(|c| c.sd),
            stability: p.stability,
            iterations: p.iterations,
            fit_secs: p.fit_secs,
            total_secs: p.total_secs,
        }
    }
}

/// The rank table as CSV: a header, one line per rank (empty cells for
/// figures not computed).
pub fn rank_table_csv(rows: &[RankRow]) -> String {
    let opt = |v: Option<f64>| v.map_or_else(String::new, |v| format!("{v}"));
    let mut out = String::from(
        "k,rel_err,svd_rel_err,explained_variance_uncentred,sparseness_w,cv_rel_err,cv_rel_err_sd,stability,iterations,fit_secs,total_secs\n",
    );
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{}\n",
            r.k,
            r.rel_err,
            r.svd_rel_err,
            r.explained_variance,
            r.sparseness_w,
            opt(r.cv_rel_err),
            opt(r.cv_rel_err_sd),
            opt(r.stability),
            r.iterations,
            r.fit_secs,
            r.total_secs
        ));
    }
    out
}

/// The rank table as JSON: `{"ranks": [...], "suggested_k": K, "rule": "..."}`.
pub fn rank_table_json(rows: &[RankRow], suggestion: Option<&crate::nmf::sweep::Suggestion>) -> String {
    let v = serde_json::json!({
        "ranks": rows,
        "suggested_k": suggestion.map(|s| s.k),
        "rule": suggestion.map(|s| s.rule.name()),
        "min_k": suggestion.map(|s| s.min_k),
    });
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

/// Saves the rank table to `path`, as CSV or JSON by its extension,
/// atomically; an existing file is replaced only when `overwrite`.
pub fn save_rank_table(
    path: &Path,
    rows: &[RankRow],
    suggestion: Option<&crate::nmf::sweep::Suggestion>,
    overwrite: bool,
) -> Result<(), ExportError> {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let text = match ext.as_deref() {
        Some("csv") => rank_table_csv(rows),
        Some("json") => rank_table_json(rows, suggestion),
        _ => return Err(ExportError::TableFormat { path: path.to_path_buf() }),
    };
    if !overwrite && path.exists() {
        return Err(ExportError::Exists { path: path.to_path_buf() });
    }
    write_atomic(path, |out| {
        out.write_all(text.as_bytes()).map_err(|e| ExportError::Io { path: path.to_path_buf(), error: e })
    })
}
