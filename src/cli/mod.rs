//! Headless commands over the dataset, nmf and worker layers.

mod bench;
mod fit;
mod sweep;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::dataset::{self, LoadOptions, Preprocess};
use crate::nmf::{Init, Params, Solver};

/// Watch non-negative matrix factorization learn the parts of faces.
///
/// With no command, opens the app on the built-in faces.
#[derive(Debug, Parser)]
#[command(name = "facenmf", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the app on a folder of faces (or on the built-in faces).
    Gui {
        /// Folder of face images; without it, the built-in faces.
        dir: Option<PathBuf>,
        /// Number of parts to start with (default: the remembered one).
        #[arg(long)]
        k: Option<usize>,
    },
    /// Factor the faces in a folder and report how well W·H fits them.
    Fit(fit::FitArgs),
    /// Fit every k of a list or range and compare each with the SVD's optimum.
    Sweep(sweep::SweepArgs),
    /// Write the built-in face set to a folder as PNG files.
    MakeFaces {
        /// Folder to write (created if missing; existing files are never overwritten).
        dir: PathBuf,
    },
    /// Measure load and solver speed on ORL (and optionally scikit-learn beside it).
    Bench(bench::BenchArgs),
    /// Load a folder and print load time and peak memory as JSON (used by `bench`).
    #[command(hide = true)]
    BenchLoad { dir: PathBuf },
}

/// How to read a folder of faces: shared by every command that loads one.
#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    /// Resize every face to WIDTHxHEIGHT (e.g. 92x112) instead of refusing mixed sizes.
    #[arg(long, value_name = "WxH", value_parser = parse_size)]
    pub resize: Option<(u32, u32)>,
    /// Downsize every face by this factor (0 < F ≤ 1), for large photos.
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    pub scale: Option<f32>,
    /// Per-face preprocessing: none, lee-seung (mean 0.25, std 0.25, clipped) or equalize.
    #[arg(long, default_value = "none")]
    pub preprocess: Preprocess,
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    dataset::parse_size(s).map_err(|e| e.to_string())
}

impl LoadArgs {
    pub fn options(&self) -> LoadOptions {
        LoadOptions { resize: self.resize, scale: self.scale, preprocess: self.preprocess, ..LoadOptions::default() }
    }
}

/// The fit options of `fit`: the rank and everything else.
#[derive(Debug, Clone, Args)]
pub struct FitOptions {
    /// Number of parts (rank of the factorisation), 1 ≤ k ≤ min(pixels, faces).
    #[arg(long)]
    pub k: usize,
    #[command(flatten)]
    pub solve: SolveOptions,
}

impl FitOptions {
    pub fn params(&self) -> Params {
        self.solve.params(self.k)
    }

    /// A rayon pool with the requested number of threads.
    pub fn pool(&self) -> anyhow::Result<rayon::ThreadPool> {
        self.solve.pool()
    }
}

/// The fit options other than the rank, shared by `fit` and `sweep`.
#[derive(Debug, Clone, Args)]
pub struct SolveOptions {
    /// Update rule: hals (default), mu (multiplicative, Frobenius) or kl (multiplicative, KL divergence).
    #[arg(long, default_value = "hals")]
    pub solver: Solver,
    /// Initialisation: nndsvda (default), nndsvd, nndsvdar or random.
    #[arg(long, default_value = "nndsvda")]
    pub init: Init,
    /// Iterations at most.
    #[arg(long, default_value_t = 500)]
    pub max_iter: usize,
    /// Stop when the objective fell by less than tol × its value 10 iterations earlier (0: never).
    #[arg(long, default_value_t = 1e-4, allow_negative_numbers = true)]
    pub tol: f64,
    /// Stop once ‖A − WH‖/‖A‖ is at most this.
    #[arg(long, value_name = "E", allow_negative_numbers = true)]
    pub target_rel_err: Option<f64>,
    /// Stop after this many seconds (initialisation included).
    #[arg(long, value_name = "SECS", allow_negative_numbers = true)]
    pub time_limit: Option<f64>,
    /// Seed of the randomized SVD and random inits.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Penalty on W (scikit-learn's meaning, see the README).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub alpha_w: f32,
    /// Penalty on H.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub alpha_h: f32,
    /// Share of L1 in the penalties (0 = L2, 1 = L1).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub l1_ratio: f32,
    /// Hold every basis image (column of W) at this Hoyer sparseness, 0 ≤ S < 1 (hals only).
    #[arg(long, value_name = "S", allow_negative_numbers = true)]
    pub sparseness_w: Option<f32>,
    /// Hold every row of H (a part's weights across the faces) at this Hoyer sparseness, 0 ≤ S < 1 (hals only).
    #[arg(long, value_name = "S", allow_negative_numbers = true)]
    pub sparseness_h: Option<f32>,
    /// Worker threads (default: one per core). Results are identical for any count.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

impl SolveOptions {
    /// These options with `k` parts.
    pub fn params(&self, k: usize) -> Params {
        Params::new(k)
            .solver(self.solver)
            .init(self.init)
            .max_iter(self.max_iter)
            .tol(self.tol)
            .target_rel_err(self.target_rel_err)
            .time_limit_secs(self.time_limit)
            .seed(self.seed)
            .alpha_w(self.alpha_w)
            .alpha_h(self.alpha_h)
            .l1_ratio(self.l1_ratio)
            .sparseness_w(self.sparseness_w)
            .sparseness_h(self.sparseness_h)
    }

    /// A rayon pool with the requested number of threads.
    pub fn pool(&self) -> anyhow::Result<rayon::ThreadPool> {
        if self.threads == Some(0) {
            anyhow::bail!("--threads 0 is invalid: at least one thread is needed");
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads.unwrap_or(0))
            .build()
            .context("could not start the worker threads")
    }
}

/// Runs the command line; the binary's `main` is just this.
pub fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Gui { dir, k }) => crate::app::run(dir, k),
        Some(Command::Fit(args)) => fit::run(&args),
        Some(Command::Sweep(args)) => sweep::run(&args),
        Some(Command::MakeFaces { dir }) => make_faces(&dir),
        Some(Command::Bench(args)) => bench::run(&args),
        Some(Command::BenchLoad { dir }) => bench::load_child(&dir),
        None => crate::app::run(None, None),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn make_faces(dir: &std::path::Path) -> anyhow::Result<()> {
    let faces = dataset::builtin::builtin_faces();
    dataset::builtin::write_folder(&faces, dir)?;
    println!(
        "wrote {} faces ({}×{}, {} part variants) to {}",
        faces.dataset.faces(),
        faces.dataset.width,
        faces.dataset.height,
        faces.part_names.len(),
        dir.display()
    );
    Ok(())
}

/// A progress bar on stderr counting `unit`s, hidden when `quiet` or when
/// stderr is not a terminal.
pub(crate) fn progress_bar(len: usize, unit: &str, quiet: bool) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    let template = format!("{{spinner}} [{{bar:30}}] {{pos}}/{{len}} {unit}, {{msg}} ({{elapsed}})");
    if let Ok(style) = indicatif::ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(100));
    bar
}
