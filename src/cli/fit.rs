//! `facenmf fit`: factor a folder headlessly.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use serde::Serialize;

use super::{FitOptions, LoadArgs};
use crate::dataset::{self, Dataset, LoadOptions};
use crate::export::{self, ExportInput, MontageSpec, MovieContent, MovieFrame, MovieSpec, SnapshotSchedule};
use crate::nmf::{FaceMatrix, Nmf, Params, StopReason, metrics};
use crate::project;

#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("outputs").multiple(true).args(["out", "movie", "picture"])))]
pub struct FitArgs {
    /// Folder of face images (searched recursively; any format, recognised by content).
    pub dir: PathBuf,
    #[command(flatten)]
    pub fit: FitOptions,
    #[command(flatten)]
    pub load: LoadArgs,
    /// Print one JSON object (the last line of stdout) instead of a summary.
    #[arg(long)]
    pub json: bool,
    /// After fitting, write the basis images, reconstructions, W and H (.npy and .csv) and report.json to this folder.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Let --out write into an existing, non-empty folder (only the files it writes are replaced), and --movie and --picture replace an existing file.
    #[arg(long, requires = "outputs")]
    pub force: bool,
    /// Write an animated GIF of the basis images learning (one frame per kept snapshot: iterations 0, 1, 2, 3, 4, 6, 8, 11, … and the last; at least 10 frames, each at least 200 pixels on its short side).
    #[arg(long, value_name = "FILE.gif")]
    pub movie: Option<PathBuf>,
    /// Make the movie of this face (1 to the number of faces) beside its reconstruction W·h instead of the basis images.
    #[arg(long, value_name = "N", requires = "movie")]
    pub movie_face: Option<usize>,
    /// Save the basis images with their numbers and importance and a caption (data set, k, solver, iteration, rel_err) as a PNG picture.
    #[arg(long, value_name = "FILE.png")]
    pub picture: Option<PathBuf>,
    /// Draw the --picture this many times larger (1 to 8).
    #[arg(long, value_name = "N", default_value_t = 1, requires = "picture")]
    pub picture_scale: u32,
    /// After fitting, project these images (not in the set) onto the basis with W fixed and print each one's rel_err.
    #[arg(long, value_name = "IMG", num_args = 1..)]
    pub project: Vec<PathBuf>,
    /// How a --project image of another size is brought to the faces' size: crop (its centre cropped to the faces'
    /// aspect ratio, then resized) or stretch (resized whole, aspect ratio not kept).
    #[arg(long, value_name = "crop|stretch", default_value = "crop")]
    pub project_shape: project::Reshape,
}

/// One `--project` image in the `--json` report.
#[derive(Debug, Serialize)]
pub struct ProjectedReport {
    /// The image file as given ([`dataset::display_name`]).
    pub file: String,
    /// ‖x − W·h‖ / ‖x‖ for its non-negative least-squares weights h.
    pub rel_err: f64,
    /// Its own size [width, height] when it was resized to the faces' size.
    pub resized_from: Option<(u32, u32)>,
    /// The centred crop [width, height] taken before resizing, when it was
    /// cropped (`--project-shape crop`, another aspect ratio).
    pub cropped_to: Option<(u32, u32)>,
}

/// The `--json` report.
#[derive(Debug, Serialize)]
pub struct FitReport {
    /// The face folder as given ([`dataset::display_name`]).
    pub folder: String,
    pub faces: usize,
    pub pixels: usize,
    pub width: usize,
    pub height: usize,
    pub skipped: usize,
    pub k: usize,
    pub solver: String,
    pub init: String,
    pub seed: u64,
    pub max_iter: usize,
    pub tol: f64,
    /// The sparseness every column of W was held at, if any.
    pub sparseness_w: Option<f32>,
    /// The sparseness every row of H was held at, if any.
    pub sparseness_h: Option<f32>,
    pub iterations: usize,
    /// HALS iterations the init ran on its sketch of A (part of `init_secs`).
    pub sketch_warmup_iter: usize,
    /// Extrapolated iterations undone (each redone as a plain one).
    pub extrapolation_restarts: usize,
    pub load_secs: f64,
    pub init_secs: f64,
    /// Initialisation plus iterations.
    pub fit_secs: f64,
    pub iters_per_sec: f64,
    /// ‖A − WH‖_F / ‖A‖_F, computed exactly at the end.
    pub rel_err: f64,
    pub objective: f64,
    /// Mean Hoyer sparseness of the columns of W.
    pub mean_sparseness_w: f32,
    /// The least and the most sparse column of W.
    pub sparseness_w_range: (f32, f32),
    /// Median over the columns of W of the share of pixels holding 90 % of
    /// the column's energy.
    pub median_support90_w: f32,
    /// Parts that contribute nothing (all-zero columns of W or rows of H).
    pub zeroed_parts: metrics::ZeroedParts,
    pub stop_reason: StopReason,
    pub threads: usize,
    /// The folder written by `--out`, if any ([`dataset::display_name`]).
    pub exported_to: Option<String>,
    /// The `--project` images, in the order given.
    pub projected: Vec<ProjectedReport>,
    /// The `--movie` written, if any.
    pub movie: Option<MovieJson>,
    /// The `--picture` written, if any ([`dataset::display_name`]).
    pub picture: Option<String>,
}

/// The `--movie` in the `--json` report.
#[derive(Debug, Serialize)]
pub struct MovieJson {
    /// The GIF file as given ([`dataset::display_name`]).
    pub path: String,
    /// Frames in the movie.
    pub frames: usize,
    /// Snapshots of the fit it shows (each shown in one frame or more).
    pub snapshots: usize,
    /// The iterations of those snapshots.
    pub iterations: Vec<usize>,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
}

pub fn run(args: &FitArgs) -> anyhow::Result<()> {
    let params = args.fit.params();
    // Refuse nonsense before any work: every check that does not need the
    // data's shape runs now (the shape is at most usize::MAX).
    params.check(usize::MAX, usize::MAX)?;
    let load_options = args.load.checked_options()?;
    // The export folder must be writable now, not after the fit.
    if let Some(out) = &args.out {
        export::check_destination(out, args.force)?;
    }
    if let Some(movie) = &args.movie {
        export::movie::check_movie_destination(movie, args.force).map_err(|e| refused("--movie", e))?;
    }
    if let Some(picture) = &args.picture {
        export::picture::check_new_file(picture, "png", args.force).map_err(|e| refused("--picture", e))?;
    }
    if let Some(scale) = args.picture.as_ref().map(|_| args.picture_scale) {
        export::picture::check_scale(scale).context("--picture-scale")?;
    }
    if args.movie_face == Some(0) {
        anyhow::bail!("--movie-face 0: faces are numbered from 1");
    }
    if let Some(p) = args.project.iter().find(|p| !p.is_file()) {
        anyhow::bail!("--project {}: no such image file", dataset::display_name(p));
    }
    let pool = args.fit.pool()?;
    pool.install(|| fit_in_pool(args, &load_options))
}

fn fit_in_pool(args: &FitArgs, load_options: &LoadOptions) -> anyhow::Result<()> {
    let params = args.fit.params();
    let started = Instant::now();
    let ds = dataset::load_folder(&args.dir, load_options)?;
    let load_secs = started.elapsed().as_secs_f64();
    report_skipped(&ds);
    params.check(ds.pixels(), ds.faces()).with_context(|| {
        format!(
            "{} holds {} of {}×{} pixels",
            dataset::display_name(&args.dir),
            dataset::count_of(ds.faces(), "face"),
            ds.width,
            ds.height
        )
    })?;

    // Load the faces to project now, so a bad one is refused before the fit.
    if let Some(face) = args.movie_face
        && face > ds.faces()
    {
        anyhow::bail!(
            "--movie-face {face}: {} holds {} faces (give 1 to {})",
            dataset::display_name(&args.dir),
            ds.faces(),
            ds.faces()
        );
    }
    let new_faces = args
        .project
        .iter()
        .map(|p| project::load_face_as(p, ds.width, ds.height, args.load.preprocess, args.project_shape))
        .collect::<Result<Vec<_>, _>>()?;
    let data = Arc::new(FaceMatrix::new(ds.matrix.clone()).context("the faces cannot be factored")?);
    let bar = super::progress_bar(params.max_iter, "iterations", args.json);
    bar.set_message("initialising");
    let mut nmf = Nmf::new(data, params.clone())?;
    let mut last_draw = Instant::now();
    let mut snapshots = Vec::new();
    let mut schedule = SnapshotSchedule::default();
    let mut keep = |n: &Nmf| {
        if args.movie.is_some() && schedule.keeps(n.iteration()) {
            snapshots.push(snapshot(n, n.rel_err()));
        }
    };
    keep(&nmf);
    let reason = nmf.run(None, |n| {
        keep(n);
        if last_draw.elapsed() >= Duration::from_millis(100) {
            bar.set_position(n.iteration() as u64);
            bar.set_message(format!("rel_err {:.5}", n.rel_err()));
            last_draw = Instant::now();
        }
    });
    bar.finish_and_clear();
    let fit_secs = nmf.secs();
    let rel_err = nmf.exact_rel_err();
    let zeroed = nmf.zeroed_parts();
    warn_zeroed(zeroed, &params);
    let caption = export::Caption {
        dataset: export::picture::dataset_caption_name(&ds.source),
        k: params.k,
        solver: params.solver.to_string(),
        iteration: nmf.iteration(),
        rel_err,
    };
    let movie = match &args.movie {
        Some(path) => Some(write_movie(args, &ds, &nmf, snapshots, rel_err, &caption, path)?),
        None => None,
    };
    if let Some(path) = &args.picture {
        let spec = MontageSpec { scale: args.picture_scale, caption: Some(caption.clone()), ..MontageSpec::default() };
        let img = export::basis_montage(nmf.w(), nmf.h(), ds.width, ds.height, &spec)?;
        export::save_png(path, &image::DynamicImage::ImageLuma8(img), args.force)?;
    }
    if let Some(out) = &args.out {
        let input = ExportInput {
            dataset: &ds,
            load_options: Some(load_options),
            w: nmf.w(),
            h: nmf.h(),
            params: &params,
            history: nmf.history(),
            iterations: nmf.iteration(),
            stop_reason: reason,
            load_secs: Some(load_secs),
            init_secs: nmf.init_secs(),
            fit_secs,
            rel_err,
        };
        export::export(out, &input, args.force)?;
    }
    let mut projected = Vec::with_capacity(new_faces.len());
    for (file, loaded) in args.project.iter().zip(&new_faces) {
        let p = project::project_face(nmf.w(), loaded.face.view(), file)?;
        projected.push(ProjectedReport {
            file: dataset::display_name(file),
            rel_err: p.rel_err,
            resized_from: loaded.resized_from,
            cropped_to: loaded.cropped_to,
        });
    }
    let report = FitReport {
        folder: dataset::display_name(&args.dir),
        faces: ds.faces(),
        pixels: ds.pixels(),
        width: ds.width,
        height: ds.height,
        skipped: ds.skipped.len(),
        k: params.k,
        solver: params.solver.to_string(),
        init: params.resolved_init().to_string(),
        seed: params.seed,
        max_iter: params.max_iter,
        tol: params.tol,
        sparseness_w: params.sparseness_w,
        sparseness_h: params.sparseness_h,
        iterations: nmf.iteration(),
        load_secs,
        sketch_warmup_iter: nmf.sketch_warmup_done(),
        extrapolation_restarts: nmf.extrapolation_restarts(),
        init_secs: nmf.init_secs(),
        fit_secs,
        iters_per_sec: nmf.iteration() as f64 / (fit_secs - nmf.init_secs()).max(1e-9),
        rel_err,
        objective: nmf.objective(),
        mean_sparseness_w: metrics::mean_sparseness(nmf.w()),
        sparseness_w_range: nmf
            .w()
            .columns()
            .into_iter()
            .map(metrics::hoyer_sparseness)
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v))),
        median_support90_w: metrics::median_support90(nmf.w()),
        zeroed_parts: zeroed,
        stop_reason: reason,
        threads: rayon::current_num_threads(),
        exported_to: args.out.as_deref().map(dataset::display_name),
        projected,
        movie,
        picture: args.picture.as_deref().map(dataset::display_name),
    };
    if args.json { outln!("{}", serde_json::to_string(&report)?) } else { print_summary(&report) }
}

/// `flag`'s file refused, saying how to replace an existing one.
fn refused(flag: &str, e: export::ExportError) -> anyhow::Error {
    match e {
        export::ExportError::Exists { path } => anyhow::anyhow!(
            "{flag} {}: the file already exists; choose another name or give --force to replace it",
            dataset::display_name(&path)
        ),
        e => anyhow::Error::new(e).context(flag.to_string()),
    }
}

/// A movie snapshot of the fit as it is now.
fn snapshot(n: &Nmf, rel_err: f64) -> MovieFrame {
    MovieFrame { iteration: n.iteration(), rel_err, w: Arc::new(n.w().to_owned()), h: Arc::new(n.h().to_owned()) }
}

/// Writes `--movie` from the kept snapshots and the final state (with its
/// exact rel_err).
fn write_movie(
    args: &FitArgs,
    ds: &Dataset,
    nmf: &Nmf,
    mut snapshots: Vec<MovieFrame>,
    rel_err: f64,
    caption: &export::Caption,
    path: &std::path::Path,
) -> anyhow::Result<MovieJson> {
    if snapshots.last().is_some_and(|s| s.iteration == nmf.iteration()) {
        snapshots.pop();
    }
    snapshots.push(snapshot(nmf, rel_err));
    let mut spec = MovieSpec::basis(ds.width, ds.height, caption.dataset.clone(), caption.solver.clone());
    if let Some(face) = args.movie_face {
        spec.content =
            MovieContent::Face { index: face - 1, original: Arc::new(ds.matrix.column(face - 1).to_owned()) };
    }
    if snapshots.len() < export::movie::MIN_FRAMES {
        errln!(
            "note: the fit ended after {} iterations: the movie shows every one of its {} snapshots, each for longer, in {} frames",
            nmf.iteration(),
            snapshots.len(),
            export::movie::MIN_FRAMES
        );
    }
    let report = export::write_movie(path, &snapshots, &spec, args.force)?;
    Ok(MovieJson {
        path: dataset::display_name(path),
        frames: report.frames,
        snapshots: report.snapshots,
        iterations: snapshots.iter().map(|s| s.iteration).collect(),
        width: report.width,
        height: report.height,
        bytes: report.bytes,
    })
}

/// A warning on stderr when parts of the fit are all zero (what a strong L1
/// penalty does), naming how many of k and where.
pub fn warn_zeroed(z: metrics::ZeroedParts, params: &Params) {
    if let Some(line) = zeroed_warning(z, params) {
        errln!("{line}");
    }
}

/// The text of [`warn_zeroed`], if there is anything to say.
fn zeroed_warning(z: metrics::ZeroedParts, params: &Params) -> Option<String> {
    let mut line = format!("warning: {}", z.summary()?);
    let penalised = params.l1_ratio > 0.0 && (params.alpha_w > 0.0 || params.alpha_h > 0.0);
    if penalised {
        line.push_str(&format!(
            ": the L1 penalty (alpha_w {}, alpha_h {}, l1_ratio {}) removed them; a smaller --alpha-w/--alpha-h or --l1-ratio keeps more",
            params.alpha_w, params.alpha_h, params.l1_ratio
        ));
    }
    Some(line)
}

/// Warnings for the files the loader skipped, one line each, on stderr
/// (names escaped by [`dataset::display_name`], so a name cannot start a
/// line of its own).
pub fn report_skipped(ds: &Dataset) {
    for s in &ds.skipped {
        errln!("warning: skipped {}: {}", dataset::display_name(&s.path), s.reason);
    }
}

fn print_summary(r: &FitReport) -> anyhow::Result<()> {
    outln!(
        "{} of {}×{} pixels from {} (loaded in {:.0} ms{})",
        dataset::count_of(r.faces, "face"),
        r.width,
        r.height,
        r.folder,
        r.load_secs * 1e3,
        if r.skipped > 0 { format!(", {} skipped", dataset::count_of(r.skipped, "file")) } else { String::new() }
    )?;
    let warmup = if r.sketch_warmup_iter > 0 {
        format!(" and {} on a sketch of A", dataset::count_of(r.sketch_warmup_iter, "iteration"))
    } else {
        String::new()
    };
    outln!(
        "k = {}, solver {}, init {}: {} in {:.2} s (init{warmup} {:.0} ms, {:.1} iterations/s, {} threads)",
        r.k,
        r.solver,
        r.init,
        dataset::count_of(r.iterations, "iteration"),
        r.fit_secs,
        r.init_secs * 1e3,
        r.iters_per_sec,
        r.threads
    )?;
    outln!("relative error ‖A − WH‖/‖A‖ = {:.6}; stopped by {}", r.rel_err, r.stop_reason)?;
    let held = match (r.sparseness_w, r.sparseness_h) {
        (None, None) => String::new(),
        (w, h) => {
            let show = |s: Option<f32>| s.map_or("free".to_string(), |v| format!("{v}"));
            format!(" (sparseness held: W {}, H {})", show(w), show(h))
        }
    };
    outln!(
        "basis images: mean sparseness {:.3}, median support90 {:.1} % of the pixels{held}",
        r.mean_sparseness_w,
        r.median_support90_w * 100.0
    )?;
    for p in &r.projected {
        match (p.resized_from, p.cropped_to) {
            (Some((w, h)), Some((cw, ch))) => outln!(
                "{}: rel_err {:.6} (centre cropped from {w}×{h} to {cw}×{ch}, then resized to {}×{})",
                p.file,
                p.rel_err,
                r.width,
                r.height
            )?,
            (Some((w, h)), None) => {
                outln!("{}: rel_err {:.6} (resized from {w}×{h} to {}×{})", p.file, p.rel_err, r.width, r.height)?
            }
            (None, _) => outln!("{}: rel_err {:.6}", p.file, p.rel_err)?,
        }
    }
    if let Some(out) = &r.exported_to {
        outln!("wrote images, W, H and report.json to {out}")?;
    }
    if let Some(m) = &r.movie {
        outln!(
            "wrote the movie {} ({} frames of {}×{} pixels from {} snapshots, {:.0} kB)",
            m.path,
            m.frames,
            m.width,
            m.height,
            m.snapshots,
            m.bytes as f64 / 1e3
        )?;
    }
    if let Some(p) = &r.picture {
        outln!("wrote the picture {p}")?;
    }
    Ok(())
}
