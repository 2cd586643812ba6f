//! Headless commands over the dataset, nmf and worker layers.
//!
//! Every line a command prints goes through [`outln!`] (stdout) or
//! [`errln!`] (stderr): a stdout that is closed or full (`> /dev/full`, a
//! pipe whose reader is gone) makes the command fail with a message and
//! exit code 1, never panic as `println!` does.

/// Like `println!`, but returns an error (naming stdout) instead of
/// panicking when stdout cannot be written.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(format_args!($($arg)*), true)
    };
}

/// Like `print!` (no newline; flushed), but returns an error instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(format_args!($($arg)*), false)
    };
}

/// Like `eprintln!`, but never panics: a line that cannot be written to
/// stderr is dropped (there is nowhere left to report it).
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::cli::write_stderr(format_args!($($arg)*))
    };
}

mod bench;
mod fit;
mod sweep;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::dataset::{self, LoadOptions, Preprocess};
use crate::nmf::{Init, Params, Solver};

/// Writes `args` (and a newline if `newline`) to stdout and flushes it.
pub(crate) fn write_stdout(args: std::fmt::Arguments<'_>, newline: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_fmt(args)
        .and_then(|()| if newline { out.write_all(b"\n") } else { Ok(()) })
        .and_then(|()| out.flush())
        .context("could not write to stdout")
}

/// Writes `args` and a newline to stderr, ignoring failure.
pub(crate) fn write_stderr(args: std::fmt::Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|()| err.write_all(b"\n"));
}

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
        /// Maximum number of iterations of a fit (default: the remembered one).
        #[arg(long)]
        max_iter: Option<usize>,
        /// Stop when the objective fell by less than tol × its value 10
        /// iterations earlier; 0: never (default: the remembered one).
        #[arg(long, allow_negative_numbers = true)]
        tol: Option<f64>,
    },
    /// Factor the faces in a folder and report how well W·H fits them.
    Fit(fit::FitArgs),
    /// Fit every k of a list or range and compare each with the SVD's optimum.
    Sweep(sweep::SweepArgs),
    /// Write the built-in face set to a folder as PNG files.
    MakeFaces {
        /// Folder to write (created if missing; existing files are never overwritten).
        dir: PathBuf,
        /// How many faces to generate (the built-in set has 400; e.g. 13000
        /// or 50000 for a large set).
        #[arg(long, default_value_t = dataset::builtin::DEFAULT_FACES, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000_000))]
        count: usize,
        /// Width and height of every face in pixels.
        #[arg(long, default_value_t = dataset::builtin::DEFAULT_SIZE, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(4..=1024))]
        size: usize,
    },
    /// Measure load and solver speed on ORL (and optionally scikit-learn beside it).
    Bench(bench::BenchArgs),
    /// Load a folder and print load time and peak memory as JSON (used by `bench`).
    #[command(hide = true)]
    BenchLoad { dir: PathBuf },
    /// Load a large folder, fit it headlessly and print the figures as JSON (used by `bench --big`).
    #[command(hide = true)]
    BenchBig {
        dir: PathBuf,
        #[arg(long, default_value_t = 49)]
        k: usize,
        #[arg(long, default_value_t = 15.0)]
        secs: f64,
    },
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

    /// [`LoadArgs::options`], checked ([`dataset::validate_options`]), so a
    /// command can refuse a bad `--scale` before any work.
    pub fn checked_options(&self) -> anyhow::Result<LoadOptions> {
        let options = self.options();
        dataset::validate_options(&options)?;
        Ok(options)
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
    /// Update rule.
    #[arg(long, default_value_t = Params::default().solver, value_parser = Names::new(&Solver::ALL, Solver::name, Solver::description))]
    pub solver: Solver,
    /// Initialisation.
    #[arg(long, default_value_t = Params::default().init, value_parser = Names::new(&Init::ALL, Init::name, Init::description))]
    pub init: Init,
    /// Iterations at most.
    #[arg(long, default_value_t = Params::default().max_iter)]
    pub max_iter: usize,
    /// Stop when the objective fell by less than tol × its value 10 iterations earlier (0: never).
    #[arg(long, default_value_t = Params::default().tol, allow_negative_numbers = true)]
    pub tol: f64,
    /// Stop once ‖A − WH‖/‖A‖ is at most this.
    #[arg(long, value_name = "E", allow_negative_numbers = true)]
    pub target_rel_err: Option<f64>,
    /// Stop after this many seconds (initialisation included).
    #[arg(long, value_name = "SECS", allow_negative_numbers = true)]
    pub time_limit: Option<f64>,
    /// Seed of the randomized SVD and random inits.
    #[arg(long, default_value_t = Params::default().seed)]
    pub seed: u64,
    /// Penalty on W (scikit-learn's meaning, see the README).
    #[arg(long, default_value_t = Params::default().alpha_w, allow_negative_numbers = true)]
    pub alpha_w: f32,
    /// Penalty on H.
    #[arg(long, default_value_t = Params::default().alpha_h, allow_negative_numbers = true)]
    pub alpha_h: f32,
    /// Share of L1 in the penalties (0 = L2, 1 = L1).
    #[arg(long, default_value_t = Params::default().l1_ratio, allow_negative_numbers = true)]
    pub l1_ratio: f32,
    /// Hold every basis image (column of W) at this Hoyer sparseness, 0 ≤ S < 1 (hals only).
    #[arg(long, value_name = "S", allow_negative_numbers = true)]
    pub sparseness_w: Option<f32>,
    /// Hold every row of H (a part's weights across the faces) at this Hoyer sparseness, 0 ≤ S < 1 (hals only).
    #[arg(long, value_name = "S", allow_negative_numbers = true)]
    pub sparseness_h: Option<f32>,
    /// hals: iterate from plain points, without extrapolating along the last step (Ang & Gillis 2019).
    #[arg(long)]
    pub no_extrapolation: bool,
    /// hals from an nndsvd init: iterations on the init's sketch of A before the exact ones,
    /// where the sketch is much smaller than A (0: none).
    #[arg(long, value_name = "N", default_value_t = Params::default().sketch_warmup_iter)]
    pub sketch_warmup_iter: usize,
    /// Worker threads, 1 to 1024 (default: one per core). Results are identical for any count.
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
            .extrapolate(!self.no_extrapolation)
            .sketch_warmup_iter(self.sketch_warmup_iter)
    }

    /// A rayon pool with the requested number of threads (see [`thread_pool`]).
    pub fn pool(&self) -> anyhow::Result<rayon::ThreadPool> {
        thread_pool(self.threads)
    }
}

/// clap's parser for a type with a fixed set of names ([`Solver`],
/// [`Init`]): the names, their help and the error for an unknown one all
/// come from the type itself, so no list of names is repeated here.
#[derive(Clone)]
struct Names<T: 'static> {
    all: &'static [T],
    name: fn(T) -> &'static str,
    help: fn(T) -> &'static str,
}

impl<T: 'static> Names<T> {
    fn new(all: &'static [T], name: fn(T) -> &'static str, help: fn(T) -> &'static str) -> Self {
        Names { all, name, help }
    }
}

impl<T> clap::builder::TypedValueParser for Names<T>
where
    T: Copy + Send + Sync + std::str::FromStr + 'static,
    T::Err: std::fmt::Display,
{
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        let text = value.to_str().ok_or_else(|| clap::Error::new(clap::error::ErrorKind::InvalidUtf8).with_cmd(cmd))?;
        text.parse::<T>().map_err(|e| {
            let arg = arg.map_or_else(|| "the value".to_string(), |a| format!("--{}", a.get_id()));
            clap::Error::raw(clap::error::ErrorKind::InvalidValue, format!("{arg} {text:?}: {e}\n")).with_cmd(cmd)
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(self.all.iter().map(|&v| clap::builder::PossibleValue::new((self.name)(v)).help((self.help)(v)))))
    }
}

/// Runs the command line; the binary's `main` is just this.
pub fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Gui { dir, k, max_iter, tol }) => {
            crate::app::run(crate::app::AppOptions { folder: dir, k, max_iter, tol, ..Default::default() })
        }
        Some(Command::Fit(args)) => fit::run(&args),
        Some(Command::Sweep(args)) => sweep::run(&args),
        Some(Command::MakeFaces { dir, count, size }) => make_faces(&dir, count, size),
        Some(Command::Bench(args)) => bench::run(&args),
        Some(Command::BenchLoad { dir }) => bench::load_child(&dir),
        Some(Command::BenchBig { dir, k, secs }) => bench::big_child(&dir, k, secs),
        None => crate::app::run(crate::app::AppOptions::default()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            errln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn make_faces(dir: &std::path::Path, count: usize, size: usize) -> anyhow::Result<()> {
    let faces = dataset::builtin::generate(count, size, dataset::builtin::DEFAULT_SEED);
    dataset::builtin::write_folder(&faces, dir)?;
    outln!(
        "wrote {} ({}×{}, {} part variants) to {}",
        dataset::count_of(faces.dataset.faces(), "face"),
        faces.dataset.width,
        faces.dataset.height,
        faces.part_names.len(),
        dataset::display_name(dir)
    )
}

/// The most worker threads `--threads` accepts. Results are identical for
/// any count, and threads beyond the cores only add overhead, so a larger
/// count is a mistake (`--threads 100000000` would try to start them all);
/// the limit is a fixed number, not a multiple of this machine's cores, so
/// a command that works on one machine works on every other.
pub const MAX_THREADS: usize = 1024;

/// A rayon pool of `threads` threads (default: one per core); 0 and counts
/// above [`MAX_THREADS`] are refused, naming the value and the limit.
pub(crate) fn thread_pool(threads: Option<usize>) -> anyhow::Result<rayon::ThreadPool> {
    match threads {
        Some(0) => anyhow::bail!("--threads 0 is invalid: at least one thread is needed"),
        Some(n) if n > MAX_THREADS => {
            anyhow::bail!("--threads {n} is invalid: at most {MAX_THREADS} worker threads are allowed")
        }
        _ => {}
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()
        .context("could not start the worker threads")
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{Cli, Command};
    use crate::nmf::{Init, Params, Solver};

    #[test]
    fn defaults_are_the_library_defaults_and_names_come_from_the_types() {
        let Some(Command::Fit(args)) =
            Cli::try_parse_from(["facenmf", "fit", "faces", "--k", "3"]).ok().and_then(|c| c.command)
        else {
            panic!("fit did not parse");
        };
        assert_eq!(args.fit.params(), Params::new(3));
        for (solver, init) in Solver::ALL.into_iter().zip(Init::ALL) {
            let cli = Cli::try_parse_from([
                "facenmf",
                "fit",
                "f",
                "--k",
                "3",
                "--solver",
                solver.name(),
                "--init",
                init.name(),
            ]);
            let Some(Command::Fit(args)) = cli.ok().and_then(|c| c.command) else { panic!("{solver} {init}") };
            assert_eq!((args.fit.solve.solver, args.fit.solve.init), (solver, init));
        }
        let e = Cli::try_parse_from(["facenmf", "fit", "f", "--k", "3", "--solver", "cd"]).err().map(|e| e.to_string());
        assert!(e.as_deref().is_some_and(|e| e.contains("\"cd\"") && e.contains("hals, mu, kl")), "{e:?}");
    }
}
