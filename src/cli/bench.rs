//! `facenmf bench`: the figures in the README's performance section.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::dataset::{self, LoadOptions};
use crate::nmf::linalg::{Kernel, par_matmul_with};
use crate::nmf::{FaceMatrix, Nmf, Params, Solver, StopReason, metrics};

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// The ORL face database (400 PGMs, 92×112).
    #[arg(long, default_value = "../shared/datasets/orl_faces")]
    pub orl: PathBuf,
    /// Ranks to measure.
    #[arg(long, value_delimiter = ',', default_value = "16,49")]
    pub k: Vec<usize>,
    /// Iterations timed per solver.
    #[arg(long, default_value_t = 30)]
    pub iters: usize,
    /// Also run scikit-learn's NMF (cd, 200 iterations) through this script and
    /// race to its error.
    #[arg(long)]
    pub sklearn: bool,
    /// scikit-learn baseline script.
    #[arg(long, default_value = "../shared/bench/sklearn_baseline.py")]
    pub sklearn_script: PathBuf,
    /// Python interpreter for the scikit-learn baseline.
    #[arg(long, default_value = "python3")]
    pub python: PathBuf,
    /// Also generate 13,000 built-in faces to a temporary folder and time loading them.
    #[arg(long)]
    pub large_load: bool,
    /// Worker threads, 1 to 1024 (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Rank of the sparse-parts row (Hoyer's constraint on W beside a plain fit).
    #[arg(long, default_value_t = 49)]
    pub sparse_k: usize,
    /// Sparseness every basis image is held at in the sparse-parts row.
    #[arg(long, default_value_t = 0.75)]
    pub sparseness: f32,
    /// Iterations of both fits of the sparse-parts row.
    #[arg(long, default_value_t = 300)]
    pub sparse_iters: usize,
    /// Error whose time the sparse-parts row reports.
    #[arg(long, default_value_t = 0.172)]
    pub sparse_target: f64,
    /// Rank of the KL row (scikit-learn's beta_loss='kullback-leibler', solver mu, beside facenmf's kl).
    #[arg(long, default_value_t = 49)]
    pub kl_k: usize,
    /// scikit-learn iterations of the KL row (its error is facenmf's target).
    #[arg(long, default_value_t = 200)]
    pub kl_iters: usize,
    /// Generated faces (64×64) of the large-set row of --sklearn (0: no such row).
    #[arg(long, default_value_t = 13_000)]
    pub large_faces: usize,
    /// scikit-learn cd iterations of the large-set row, at k = 49.
    #[arg(long, default_value_t = 100)]
    pub large_iters: usize,
    /// Also time the default rank sweep (ORL 2..64 step 4, 200 iterations) plain and with --cv 5 --restarts 3 by each --cv-method,
    /// one after the other, and a masked iteration beside a plain one (takes minutes).
    #[arg(long)]
    pub rank_cv: bool,
    /// Only measure a large set: generate this many built-in faces of 64×64
    /// (e.g. 13000 or 50000) and, in a fresh process, load them, time
    /// headless HALS iterations at --big-k (after the first 5 s), take the
    /// peak RSS against the sizes of A and Aᵀ, and time Aᵀ·W from the
    /// stored Aᵀ against A's transposed view. The ORL figures are skipped.
    #[arg(long, value_name = "FACES")]
    pub big: Option<usize>,
    /// k of the large set's fit.
    #[arg(long, default_value_t = 49)]
    pub big_k: usize,
    /// Seconds of the large set's fit (at least 10).
    #[arg(long, default_value_t = 20.0)]
    pub big_secs: f64,
    /// Write the large set here and keep it (to open it in the app beside
    /// the bench, `.ci/profile-big`), instead of a temporary folder; an
    /// existing set of the same size there is reused.
    #[arg(long, value_name = "DIR")]
    pub big_dir: Option<PathBuf>,
    /// Only time the default rank sweep (ORL 2..64 step 4, 200 iterations, tol 1e-4) beside one fit at k = 49
    /// with the same settings, and compare each k's rel_err with an independent fit's (`sweep --independent`).
    #[arg(long)]
    pub sweep: bool,
}

/// What `bench-big` prints.
#[derive(Debug, Serialize, Deserialize)]
pub struct BigFigures {
    pub faces: usize,
    pub pixels: usize,
    pub k: usize,
    pub load_secs: f64,
    /// Bytes of A (and as many of the stored Aᵀ).
    pub matrix_bytes: u64,
    /// Iterations a second after the first 5 s.
    pub iters_per_sec: f64,
    pub iterations: usize,
    pub rel_err: f64,
    /// Peak RSS of the load and the fit.
    pub peak_rss_bytes: u64,
    /// Whether the fit had Aᵀ stored ([`FaceMatrix::new_lean`]'s choice).
    #[serde(default)]
    pub stores_transpose: bool,
    /// Aᵀ·W from the stored Aᵀ, and from A's transposed view (best of 5).
    pub at_w_stored_ms: f64,
    pub at_w_view_ms: f64,
}

/// What `bench-load` prints.
#[derive(Debug, Serialize, Deserialize)]
pub struct LoadFigures {
    pub faces: usize,
    pub pixels: usize,
    pub load_secs: f64,
    pub matrix_bytes: u64,
    pub peak_rss_bytes: u64,
}

/// scikit-learn's errors after 200 cd iterations on ORL (float32), used as
/// targets when `--sklearn` is not given.
fn default_target(k: usize) -> Option<f64> {
    match k {
        16 => Some(0.2012),
        49 => Some(0.1559),
        _ => None,
    }
}

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let pool = super::thread_pool(args.threads)?;
    pool.install(|| bench(args))
}

fn bench(args: &BenchArgs) -> anyhow::Result<()> {
    outln!("facenmf bench: {} threads", rayon::current_num_threads())?;
    if let Some(faces) = args.big {
        return big_row(args, faces);
    }
    // 1. Matrix-multiply rate.
    let mut rate = 0.0f64;
    for kernel in [Kernel::Faer, Kernel::MatrixMultiply] {
        let gflops = gemm_rate(kernel, 1536);
        outln!("GEMM {kernel:?}: {gflops:.1} GFLOP/s (1536³ f32)")?;
        if kernel == crate::nmf::linalg::DEFAULT_KERNEL {
            rate = gflops;
        }
    }

    // 2. Loading ORL, in a fresh process each time (cold heap, own peak RSS).
    if !args.orl.is_dir() {
        bail!("ORL face database not found at {} (give --orl DIR)", args.orl.display());
    }
    let mut loads: Vec<LoadFigures> = (0..7).map(|_| load_in_child(&args.orl)).collect::<Result<_, _>>()?;
    loads.sort_by(|a, b| a.load_secs.total_cmp(&b.load_secs));
    outln!(
        "load ORL ({} faces): best {:.1} ms, median {:.1} ms, peak RSS {:.1} MB",
        loads[0].faces,
        loads[0].load_secs * 1e3,
        loads[loads.len() / 2].load_secs * 1e3,
        loads[0].peak_rss_bytes as f64 / 1e6
    )?;
    let ds = dataset::load_folder(&args.orl, &LoadOptions::default())?;
    let data = Arc::new(FaceMatrix::new(ds.matrix.clone())?);
    let (m, n) = (data.pixels(), data.faces());
    if args.sweep {
        return sweep_row(&data);
    }

    // 3. scikit-learn, if asked.
    let sk = if args.sklearn { sklearn(args)? } else { Vec::new() };
    let mut goals: Vec<Goal> = Vec::new();

    // 4. Per-iteration cost and the race to scikit-learn's error.
    for &k in &args.k {
        let flops = 2.0 * 2.0 * (m * n * k) as f64;
        let bound_ms = flops / (rate * 1e9) * 1e3;
        let a_ht = time_ms(|| {
            par_matmul_with(crate::nmf::linalg::DEFAULT_KERNEL, data.a(), Array2::<f32>::ones((n, k)).view());
        });
        let at_w = time_ms(|| {
            par_matmul_with(crate::nmf::linalg::DEFAULT_KERNEL, data.at(), Array2::<f32>::ones((m, k)).view());
        });
        outln!(
            "\nk = {k}: GEMM bound {bound_ms:.2} ms/iteration (2 products with A at {rate:.0} GFLOP/s); \
             measured A·Hᵀ {a_ht:.2} ms, Aᵀ·W {at_w:.2} ms"
        )?;
        for solver in Solver::ALL {
            let params = Params::new(k).solver(solver).tol(0.0).max_iter(args.iters);
            let mut nmf = Nmf::new(Arc::clone(&data), params)?;
            nmf.run(None, |_| {});
            let median_ms = median_step_ms(&nmf);
            let sweeps = nmf.mean_inner_sweeps();
            outln!(
                "  {:<4} {median_ms:7.2} ms/iteration ({:.2}× bound), init {:.0} ms, rel_err {:.4} after {} iterations{}",
                solver.name(),
                median_ms / bound_ms,
                nmf.init_secs() * 1e3,
                nmf.rel_err(),
                nmf.iteration(),
                if solver == Solver::Hals {
                    format!(", inner sweeps W {:.1} H {:.1}", sweeps.0, sweeps.1)
                } else {
                    String::new()
                }
            )?;
        }
        let sk_cd = sk.iter().find(|r| r.k == k && r.solver == "cd");
        let target = sk_cd.map(|r| r.rel_err).or(default_target(k));
        if let Some(target) = target {
            let params =
                Params::new(k).tol(0.0).max_iter(100_000).target_rel_err(Some(target)).time_limit_secs(Some(60.0));
            let race = Race::run(&data, &params)?;
            out!("  hals to rel_err {target:.4}: {}", race.describe())?;
            match sk_cd {
                Some(r) => {
                    outln!(
                        "; scikit-learn cd: {:.3} s for {} iterations → {}",
                        r.seconds,
                        r.n_iter,
                        race.ratio_text(r.seconds)
                    )?;
                    goals.push(Goal {
                        work: format!("ORL k = {k}, to cd's {}-iteration rel_err {target:.4}", r.n_iter),
                        sklearn_secs: r.seconds,
                        facenmf_secs: race.median_secs(),
                    });
                }
                None => outln!("")?,
            }
        }
    }

    // 5. KL: scikit-learn's beta_loss='kullback-leibler' beside facenmf's kl.
    if args.sklearn {
        goals.push(kl_row(args, &data)?);
    }

    // 6. Sparse parts: Hoyer's constraint on W beside a plain fit.
    sparse_row(args, &data)?;
    if args.rank_cv {
        rank_cv_row(&data)?;
    }

    // 7. A large folder: loading it, and (with --sklearn) the race on it.
    let large = args.large_load || (args.sklearn && args.large_faces > 0);
    let dir = tempfile::tempdir().context("could not create a temporary folder")?;
    if large {
        let faces = dataset::builtin::generate(if args.sklearn { args.large_faces } else { 13_000 }, 64, 1);
        dataset::builtin::write_folder(&faces, dir.path())?;
    }
    if args.sklearn && args.large_faces > 0 {
        goals.push(large_row(args, dir.path())?);
    }
    if args.large_load {
        let mut runs: Vec<LoadFigures> = (0..3).map(|_| load_in_child(dir.path())).collect::<Result<_, _>>()?;
        runs.sort_by(|a, b| a.load_secs.total_cmp(&b.load_secs));
        let r = &runs[0];
        outln!(
            "\nload {} generated faces (64×64 PNG): best {:.2} s, peak RSS {:.0} MB = {:.2}× the matrix ({:.0} MB)",
            r.faces,
            r.load_secs,
            r.peak_rss_bytes as f64 / 1e6,
            r.peak_rss_bytes as f64 / r.matrix_bytes as f64,
            r.matrix_bytes as f64 / 1e6
        )?;
    }
    if !goals.is_empty() {
        outln!(
            "\ngoals (side by side, same command; init included; hals rows: facenmf's median over seeds 0–{}): ≥ 10× scikit-learn",
            RACE_SEEDS - 1
        )?;
        outln!("  {:<58} {:>12} {:>10} {:>7}", "work", "scikit-learn", "facenmf", "ratio")?;
        for g in &goals {
            match g.facenmf_secs {
                Some(f) => outln!(
                    "  {:<58} {:>10.3} s {:>8.3} s {:>6.1}× {}",
                    g.work,
                    g.sklearn_secs,
                    f,
                    g.sklearn_secs / f,
                    if g.sklearn_secs >= 10.0 * f { "met" } else { "NOT met" }
                )?,
                None => outln!("  {:<58} {:>10.3} s   not reached", g.work, g.sklearn_secs)?,
            }
        }
    }
    Ok(())
}

/// One row of the goals table.
struct Goal {
    work: String,
    sklearn_secs: f64,
    /// None when facenmf did not reach scikit-learn's error in its time limit.
    facenmf_secs: Option<f64>,
}

/// The KL row: scikit-learn's KL (mu) for `args.kl_iters` iterations, then
/// facenmf's kl until its KL divergence is at most scikit-learn's.
fn kl_row(args: &BenchArgs, data: &Arc<FaceMatrix>) -> anyhow::Result<Goal> {
    let k = args.kl_k;
    let script_dir = args.sklearn_script.parent().unwrap_or(Path::new("."));
    let mut cmd = python(args);
    cmd.arg("-c").arg(SKLEARN_KL).arg(script_dir).arg(&args.orl).arg(k.to_string()).arg(args.kl_iters.to_string());
    let runs = run_python(args, cmd)?;
    let Some(sk) = runs.first() else { bail!("the scikit-learn KL run printed no result") };
    let Some(target) = sk.kl else { bail!("the scikit-learn KL run printed no KL divergence") };
    outln!(
        "\nKL, ORL k = {k}: scikit-learn mu (beta_loss='kullback-leibler') {:.3} s for {} iterations, KL {target:.1}, rel_err {:.4}",
        sk.seconds,
        sk.n_iter,
        sk.rel_err
    )?;
    let params = Params::new(k).solver(Solver::Kl).tol(0.0).max_iter(100_000).time_limit_secs(Some(60.0));
    let mut nmf = Nmf::new(Arc::clone(data), params.clone())?;
    let warm = nmf.init_secs();
    let reached = loop {
        if nmf.objective() <= target {
            break true;
        }
        if nmf.stop_reason().is_some() {
            break false;
        }
        nmf.step();
    };
    outln!(
        "  facenmf kl to KL {target:.1}: {} in {:.3} s (init and {}-iteration HALS warm-up {:.3} s, then {} KL iterations), KL {:.1}, rel_err {:.4} → {:.1}× faster",
        if reached { "reached" } else { "NOT reached" },
        nmf.secs(),
        params.kl_warmup_iter,
        warm,
        nmf.iteration(),
        nmf.objective(),
        nmf.exact_rel_err(),
        sk.seconds / nmf.secs()
    )?;
    let mut plain = Nmf::new(Arc::clone(data), params.kl_warmup_iter(0).max_iter(30))?;
    plain.run(None, |_| {});
    outln!(
        "  KL iteration {:.2} ms (median of 30; HALS {:.2} ms at this k is in the rows above)",
        median_step_ms(&plain),
        {
            let mut h = Nmf::new(Arc::clone(data), Params::new(k).tol(0.0).max_iter(30))?;
            h.run(None, |_| {});
            median_step_ms(&h)
        }
    )?;
    Ok(Goal {
        work: format!("ORL k = {k}, KL, to mu's {}-iteration KL {target:.0}", sk.n_iter),
        sklearn_secs: sk.seconds,
        facenmf_secs: reached.then(|| nmf.secs()),
    })
}

/// The large-set row: `args.large_faces` generated 64×64 faces in `dir`,
/// scikit-learn cd for `args.large_iters` iterations at k = 49, then
/// facenmf's default solver to its error.
fn large_row(args: &BenchArgs, dir: &Path) -> anyhow::Result<Goal> {
    let k = 49;
    let mut cmd = python(args);
    cmd.arg(&args.sklearn_script).arg(dir).args(["--k", "49", "--solver", "cd", "--dtype", "float32", "--max-iter"]);
    cmd.arg(args.large_iters.to_string());
    let runs = run_python(args, cmd)?;
    let Some(sk) = runs.first() else { bail!("the scikit-learn run on the generated faces printed no result") };
    let ds = dataset::load_folder(dir, &LoadOptions::default())?;
    let data = Arc::new(FaceMatrix::new(ds.matrix)?);
    outln!(
        "\n{} generated faces (64×64), k = {k}: scikit-learn cd {:.3} s for {} iterations, rel_err {:.4}",
        data.faces(),
        sk.seconds,
        sk.n_iter,
        sk.rel_err
    )?;
    let params = Params::new(k).tol(0.0).max_iter(100_000).target_rel_err(Some(sk.rel_err)).time_limit_secs(Some(60.0));
    // With the iterations on the sketch asked for, beside (not in the goal).
    let mut sketched = Nmf::new(Arc::clone(&data), params.clone().sketch_warmup_iter(10))?;
    let sketched_reached = sketched.run(None, |_| {}) == StopReason::Target;
    let race = Race::run(&data, &params)?;
    outln!("  hals to rel_err {:.4}: {} → {}", sk.rel_err, race.describe(), race.ratio_text(sk.seconds))?;
    outln!(
        "  hals --sketch-warmup-iter 10 (seed 0) to rel_err {:.4}: {} in {:.3} s ({}) → {:.1}× faster",
        sk.rel_err,
        if sketched_reached { "reached" } else { "NOT reached" },
        sketched.secs(),
        hals_work(&sketched),
        sk.seconds / sketched.secs()
    )?;
    Ok(Goal {
        work: format!(
            "{} faces 64×64, k = {k}, to cd's {}-iteration rel_err {:.4}",
            data.faces(),
            sk.n_iter,
            sk.rel_err
        ),
        sklearn_secs: sk.seconds,
        facenmf_secs: race.median_secs(),
    })
}

/// Seeds a race to scikit-learn's error is run with. The seed draws the
/// init's random sketch, and the iterations to a given error vary with it
/// (ORL k = 49: 31 to 38), so a goal takes the median time of these.
const RACE_SEEDS: u64 = 5;

/// One HALS fit to a target per seed 0..[`RACE_SEEDS`], one after the other.
struct Race {
    /// (fit, whether it reached the target), by seed.
    fits: Vec<(Nmf, bool)>,
}

impl Race {
    fn run(data: &Arc<FaceMatrix>, params: &Params) -> anyhow::Result<Self> {
        let mut fits = Vec::new();
        for seed in 0..RACE_SEEDS {
            let mut nmf = Nmf::new(Arc::clone(data), params.clone().seed(seed))?;
            let reached = nmf.run(None, |_| {}) == StopReason::Target;
            fits.push((nmf, reached));
        }
        Ok(Self { fits })
    }

    /// The median time over the seeds, if every seed reached the target.
    fn median_secs(&self) -> Option<f64> {
        if !self.fits.iter().all(|(_, reached)| *reached) {
            return None;
        }
        let mut secs: Vec<f64> = self.fits.iter().map(|(nmf, _)| nmf.secs()).collect();
        secs.sort_by(f64::total_cmp);
        secs.get(secs.len() / 2).copied()
    }

    fn describe(&self) -> String {
        let reached = self.fits.iter().filter(|(_, r)| *r).count();
        let secs = self.fits.iter().map(|(nmf, _)| nmf.secs());
        let (lo, hi) = secs.fold((f64::MAX, 0.0f64), |(lo, hi), s| (lo.min(s), hi.max(s)));
        let iters = self.fits.iter().map(|(nmf, _)| nmf.iteration());
        let (ilo, ihi) = iters.fold((usize::MAX, 0), |(lo, hi), i| (lo.min(i), hi.max(i)));
        let median = match self.median_secs() {
            Some(m) => format!("median {m:.3} s"),
            None => format!("NOT reached by {} of {RACE_SEEDS} seeds", self.fits.len() - reached),
        };
        let first = &self.fits[0].0;
        format!(
            "{median} over seeds 0–{} ({lo:.3}–{hi:.3} s, {ilo}–{ihi} iterations); seed 0 {:.3} s ({})",
            RACE_SEEDS - 1,
            first.secs(),
            hals_work(first)
        )
    }

    fn ratio_text(&self, sklearn_secs: f64) -> String {
        match self.median_secs() {
            Some(m) => format!("{:.1}× faster (median)", sklearn_secs / m),
            None => "not reached".into(),
        }
    }
}

/// What a HALS fit to a target did: its init (with the iterations on the
/// sketch, if any), its exact iterations and the extrapolated ones undone.
fn hals_work(nmf: &Nmf) -> String {
    let warmup = match nmf.sketch_warmup_done() {
        0 => String::new(),
        n => format!(" with {n} iterations on a sketch of A"),
    };
    let restarts = match nmf.extrapolation_restarts() {
        0 => String::new(),
        n => format!(", {} undone and redone by extrapolation restarts", dataset::count_of(n, "iteration")),
    };
    format!("init{warmup} {:.3} s, then {} exact iterations{restarts}; init included", nmf.init_secs(), nmf.iteration())
}

/// The sparse-parts row: a plain HALS fit and one with every basis image
/// held at `args.sparseness`, the same number of iterations each (tol 0),
/// one after the other: time per iteration, total time, the errors and the
/// parts' sparseness and support, and when the sparse fit reached
/// `args.sparse_target`.
fn sparse_row(args: &BenchArgs, data: &Arc<FaceMatrix>) -> anyhow::Result<()> {
    let (k, s, iters) = (args.sparse_k, args.sparseness, args.sparse_iters);
    outln!(
        "\nsparse parts, k = {k}: every basis image at sparseness {s} beside a plain fit ({iters} iterations each):"
    )?;
    let base = Params::new(k).tol(0.0).max_iter(iters);
    let mut plain = Nmf::new(Arc::clone(data), base.clone())?;
    plain.run(None, |_| {});
    let mut sparse = Nmf::new(Arc::clone(data), base.sparseness_w(Some(s)))?;
    sparse.run(None, |_| {});
    let (plain_ms, sparse_ms) = (median_step_ms(&plain), median_step_ms(&sparse));
    let describe = |n: &Nmf| {
        let sp: Vec<f32> = n.w().columns().into_iter().map(metrics::hoyer_sparseness).collect();
        let lo = sp.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = sp.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        format!(
            "rel_err {:.4}, sparseness {lo:.4}–{hi:.4}, median support90 {:.1} %",
            n.exact_rel_err(),
            metrics::median_support90(n.w()) * 100.0
        )
    };
    outln!("  plain  {plain_ms:6.2} ms/iteration, {:.2} s in all: {}", plain.secs(), describe(&plain))?;
    outln!(
        "  sparse {sparse_ms:6.2} ms/iteration ({:.2}× plain), {:.2} s in all ({:.2}× plain): {}",
        sparse_ms / plain_ms,
        sparse.secs(),
        sparse.secs() / plain.secs(),
        describe(&sparse)
    )?;
    let reached = |n: &Nmf| n.history().iter().find(|r| r.rel_err <= args.sparse_target).copied();
    let show = |r: Option<crate::nmf::Record>| match r {
        Some(r) => format!("{:.2} s ({} iterations)", r.secs, r.iteration),
        None => "not reached".to_string(),
    };
    outln!(
        "  to rel_err {:.4} (init included): sparse {}, plain {}",
        args.sparse_target,
        show(reached(&sparse)),
        show(reached(&plain))
    )?;
    Ok(())
}

/// The rank sweep plain and cross-validated with restarts, one after the
/// other on the same data; and the cost of a masked iteration at k = 49.
fn rank_cv_row(data: &Arc<FaceMatrix>) -> anyhow::Result<()> {
    use crate::nmf::mask::Mask;
    use crate::nmf::sweep::{CvMethod, Phase, SweepEvent, Validation, suggest_k, sweep_validated};
    let ks: Vec<usize> = (2..=64).step_by(4).collect();
    let base = Params::new(1).max_iter(200);
    let validation = Validation { cv_folds: 5, cv_fraction: 0.1, restarts: 3, ..Validation::default() };
    outln!(
        "
rank sweep, ORL k = 2..64 step 4, 200 iterations (tol {}):",
        base.tol
    )?;
    let p = Params::new(49).tol(0.0).max_iter(30);
    let mut plain_fit = Nmf::new(Arc::clone(data), p.clone())?;
    plain_fit.run(None, |_| {});
    let mask = Arc::new(Mask::folds(data.pixels(), data.faces(), 1, 0.1, 0)?.remove(0));
    let mut masked = Nmf::new_masked(Arc::clone(data), p, mask)?;
    masked.run(None, |_| {});
    let (a, b) = (median_step_ms(&plain_fit), median_step_ms(&masked));
    let (sa, sb) = (plain_fit.mean_inner_sweeps(), masked.mean_inner_sweeps());
    outln!(
        "  k = 49 iteration: plain {a:.2} ms, masked (10 % held out) {b:.2} ms ({:.2}×); inner sweeps W/H plain {:.1}/{:.1}, masked {:.1}/{:.1}",
        b / a,
        sa.0,
        sa.1,
        sb.0,
        sb.1
    )?;
    let started = std::time::Instant::now();
    sweep_validated(data, &ks, &base, &Validation::default(), None, |_| {})?;
    let plain = started.elapsed().as_secs_f64();
    outln!("  plain                     {plain:7.1} s")?;
    for cv_method in CvMethod::ALL {
        let validation = Validation { cv_method, ..validation };
        let started = std::time::Instant::now();
        // Iterations per kind of fit: [own, restarts, folds].
        let mut iterations = [0usize; 3];
        let s = sweep_validated(data, &ks, &base, &validation, None, |e| {
            if let SweepEvent::Step { phase, .. } = e {
                iterations[match phase {
                    Phase::Fit => 0,
                    Phase::Restart { .. } => 1,
                    Phase::Fold { .. } => 2,
                }] += 1;
            }
        })?;
        let cv = started.elapsed().as_secs_f64();
        let suggestion = suggest_k(&s.points).map_or_else(|| "none".to_string(), |s| s.describe());
        outln!(
            "  --cv 5 --cv-method {:<8} --restarts 3  {cv:7.1} s ({:.2}× plain, {} fits per k); suggested {suggestion}",
            cv_method.name(),
            cv / plain,
            validation.fits_per_rank()
        )?;
        let own: f64 = s.points.iter().map(|p| p.fit_secs).sum();
        let all: f64 = s.points.iter().map(|p| p.total_secs).sum();
        outln!("    of which the plain fits {own:.1} s, the restarts and folds {:.1} s", all - own)?;
        let fits = ks.len();
        outln!(
            "    iterations per fit: own {:.0}, restart {:.0}, fold {:.0}",
            iterations[0] as f64 / fits as f64,
            iterations[1] as f64 / (fits * (validation.restarts - 1)).max(1) as f64,
            iterations[2] as f64 / (fits * validation.cv_folds).max(1) as f64
        )?;
    }
    Ok(())
}

/// The default rank sweep beside one 200-iteration fit at k = 49 (one after
/// the other; the fit with tol 0, so that it makes its 200 iterations: with
/// the sweep's tol, extrapolated HALS stops sooner, and the line says
/// when), then the same sweep by independent fits, and every k's rel_err
/// in both.
fn sweep_row(data: &Arc<FaceMatrix>) -> anyhow::Result<()> {
    use crate::nmf::sweep::{SweepStrategy, Validation, sweep_with};
    let ks: Vec<usize> = (2..=64).step_by(4).collect();
    let base = Params::new(1).max_iter(200);
    outln!("\nrank sweep, ORL k = 2..64 step 4 ({} ranks), max_iter {}, tol {}:", ks.len(), base.max_iter, base.tol)?;
    // The machine may be shared: one fit and the default sweep alternate,
    // three times, and the ratio is taken of the medians.
    let (mut fits, mut sweeps) = (Vec::new(), Vec::new());
    let mut warm = None;
    for round in 1..=3 {
        let mut one = Nmf::new(Arc::clone(data), Params { k: 49, tol: 0.0, ..base.clone() })?;
        let reason = one.run(None, |_| {});
        // Where the sweep's tol would have stopped it (the rule of
        // `Nmf::stop_reason`, on its history).
        let h = one.history();
        let by_tol = (10..h.len())
            .step_by(10)
            .find(|&i| (h[i - 10].objective - h[i].objective) / h[i - 10].objective < base.tol)
            .map_or(String::new(), |i| format!(", tol {} would stop it at {i} in {:.2} s", base.tol, h[i].secs));
        let started = Instant::now();
        let s = sweep_with(data, &ks, &base, &Validation::default(), SweepStrategy::WarmStart, None, |_| {})?;
        let secs = started.elapsed().as_secs_f64();
        let iterations: usize = s.points.iter().map(|p| p.iterations).sum();
        let sketched: usize = s.points.iter().map(|p| p.sketch_iterations).sum();
        outln!(
            "  round {round}: one fit, k = 49: {:.2} s ({} iterations, stopped by {}, rel_err {:.5}{by_tol}); \
             default sweep {secs:.2} s = {:.2}× ({iterations} iterations on A and {sketched} on the sketch; its SVD {:.2} s)",
            one.secs(),
            one.iteration(),
            reason.name(),
            one.exact_rel_err(),
            secs / one.secs(),
            s.spectrum.secs
        )?;
        fits.push(one.secs());
        sweeps.push(secs);
        warm = Some(s);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (one_secs, sweep_secs) = (median(&mut fits), median(&mut sweeps));
    outln!(
        "  median: one fit {one_secs:.2} s, default sweep {sweep_secs:.2} s = {:.2}× one fit ({} the goal ≤ 2×)",
        sweep_secs / one_secs,
        if sweep_secs <= 2.0 * one_secs { "meets" } else { "MISSES" }
    )?;
    let started = Instant::now();
    let independent = sweep_with(data, &ks, &base, &Validation::default(), SweepStrategy::Independent, None, |_| {})?;
    let secs = started.elapsed().as_secs_f64();
    let iterations: usize = independent.points.iter().map(|p| p.iterations).sum();
    outln!(
        "  sweep --independent {secs:.2} s = {:.2}× the median fit ({iterations} iterations on A)",
        secs / one_secs
    )?;
    let Some(warm) = warm else { bail!("no sweep ran") };
    let independent = &independent;
    outln!(
        "  {:>3}  {:>10}  {:>11}  {:>10}  {:>10}  {:>11}  {:>8}  {:>11}",
        "k",
        "warm-start",
        "independent",
        "difference",
        "iterations",
        "independent",
        "fit_secs",
        "independent"
    )?;
    let mut worst: Option<(f64, usize)> = None;
    for (a, b) in warm.points.iter().zip(&independent.points) {
        let d = a.rel_err - b.rel_err;
        if worst.is_none_or(|(w, _)| d > w) {
            worst = Some((d, a.k));
        }
        outln!(
            "  {:>3}  {:>10.5}  {:>11.5}  {:>+10.5}  {:>10}  {:>11}  {:>8.3}  {:>11.3}",
            a.k,
            a.rel_err,
            b.rel_err,
            d,
            a.iterations,
            b.iterations,
            a.fit_secs,
            b.fit_secs
        )?;
    }
    if let Some((d, k)) = worst {
        outln!(
            "  largest difference (warm-start − independent): {d:+.5} at k = {k} ({} the goal ≤ +0.001)",
            if d <= 1e-3 { "meets" } else { "MISSES" }
        )?;
    }
    Ok(())
}

/// The median time of one iteration of a fit, in milliseconds.
fn median_step_ms(nmf: &Nmf) -> f64 {
    let mut steps: Vec<f64> = nmf.history().windows(2).map(|w| w[1].secs - w[0].secs).collect();
    steps.sort_by(f64::total_cmp);
    steps.get(steps.len() / 2).map_or(0.0, |s| s * 1e3)
}

/// GFLOP/s of `par_matmul` on an s×s×s product (best of three).
fn gemm_rate(kernel: Kernel, s: usize) -> f64 {
    let a = Array2::from_shape_fn((s, s), |(i, j)| ((i * 7 + j) % 13) as f32 * 0.1);
    let b = Array2::from_shape_fn((s, s), |(i, j)| ((i + 3 * j) % 11) as f32 * 0.1);
    let best = (0..3).map(|_| time_ms(|| drop(par_matmul_with(kernel, a.view(), b.view())))).fold(f64::MAX, f64::min);
    2.0 * (s as f64).powi(3) / (best / 1e3) / 1e9
}

/// Best of five wall-clock times of `f`, in milliseconds.
fn time_ms(mut f: impl FnMut()) -> f64 {
    (0..5)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .fold(f64::MAX, f64::min)
}

fn load_in_child(dir: &Path) -> anyhow::Result<LoadFigures> {
    let exe = std::env::current_exe().context("cannot find the facenmf executable")?;
    let out = Command::new(exe).arg("bench-load").arg(dir).output().context("could not run bench-load")?;
    if !out.status.success() {
        bail!("bench-load {} failed: {}", dir.display(), String::from_utf8_lossy(&out.stderr).trim());
    }
    let line = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(line.trim()).with_context(|| format!("bench-load printed {line:?}"))
}

/// `facenmf bench-load DIR`: load once, print [`LoadFigures`] as JSON.
pub fn load_child(dir: &Path) -> anyhow::Result<()> {
    let t = Instant::now();
    let ds = dataset::load_folder(dir, &LoadOptions::default())?;
    let load_secs = t.elapsed().as_secs_f64();
    let figures = LoadFigures {
        faces: ds.faces(),
        pixels: ds.pixels(),
        load_secs,
        matrix_bytes: (ds.matrix.len() * std::mem::size_of::<f32>()) as u64,
        peak_rss_bytes: peak_rss_bytes().unwrap_or(0),
    };
    outln!("{}", serde_json::to_string(&figures)?)?;
    Ok(())
}

/// VmHWM of this process (Linux; getrusage elsewhere).
fn peak_rss_bytes() -> Option<u64> {
    crate::app::peak_rss_bytes()
}

/// `bench --big N`: generates (or reuses) N faces of 64×64 and measures
/// them in a child process.
fn big_row(args: &BenchArgs, faces: usize) -> anyhow::Result<()> {
    if faces < 2 {
        bail!("--big {faces}: at least 2 faces are needed");
    }
    if !(args.big_secs.is_finite() && args.big_secs >= 10.0) {
        bail!("--big-secs {}: at least 10 seconds are needed (the first 5 are not counted)", args.big_secs);
    }
    let temp;
    let dir = match &args.big_dir {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::tempdir().context("could not create a temporary folder")?;
            temp.path().to_path_buf()
        }
    };
    let written = dataset::scan_folder(&dir, &LoadOptions::default()).map(|s| s.entries.len()).unwrap_or(0);
    if written == 0 {
        let t = Instant::now();
        let set = dataset::builtin::generate(faces, 64, dataset::builtin::DEFAULT_SEED);
        dataset::builtin::write_folder(&set, &dir)?;
        outln!(
            "wrote {faces} faces of 64×64 to {} in {:.1} s",
            dataset::display_name(&dir),
            t.elapsed().as_secs_f64()
        )?;
    } else if written != faces {
        bail!("{} holds {written} faces, not {faces}: give another --big-dir", dataset::display_name(&dir));
    }
    let exe = std::env::current_exe().context("cannot find the facenmf executable")?;
    let out = Command::new(exe)
        .arg("bench-big")
        .arg(&dir)
        .args(["--k", &args.big_k.to_string(), "--secs", &args.big_secs.to_string()])
        .output()
        .context("could not run bench-big")?;
    if !out.status.success() {
        bail!("bench-big {} failed: {}", dir.display(), String::from_utf8_lossy(&out.stderr).trim());
    }
    let line = String::from_utf8_lossy(&out.stdout);
    let r: BigFigures = serde_json::from_str(line.trim()).with_context(|| format!("bench-big printed {line:?}"))?;
    let mb = |b: u64| b as f64 / 1e6;
    outln!(
        "{} faces of 64×64 (A {:.0} MB; Aᵀ {}), k = {}: load {:.2} s; headless HALS {:.1} it/s after the first 5 s \
         ({} iterations, rel_err {:.4}); peak RSS {:.0} MB = size(A) + {:.0} MB (goal: ≤ size(A) + size(Aᵀ) + 150 MB = {:.0} MB); \
         Aᵀ·W {:.1} ms from a stored Aᵀ, {:.1} ms from A's transposed view",
        r.faces,
        mb(r.matrix_bytes),
        if r.stores_transpose { format!("stored, {:.0} MB", mb(r.matrix_bytes)) } else { "not stored".into() },
        r.k,
        r.load_secs,
        r.iters_per_sec,
        r.iterations,
        r.rel_err,
        mb(r.peak_rss_bytes),
        mb(r.peak_rss_bytes) - mb(r.matrix_bytes),
        2.0 * mb(r.matrix_bytes) + 150.0,
        r.at_w_stored_ms,
        r.at_w_view_ms
    )?;
    outln!("{}", serde_json::to_string(&r)?)?;
    Ok(())
}

/// `facenmf bench-big DIR --k K --secs S`: load, time Aᵀ·W both ways, fit
/// for S seconds, print [`BigFigures`] as JSON.
pub fn big_child(dir: &Path, k: usize, secs: f64) -> anyhow::Result<()> {
    let t = Instant::now();
    let ds = dataset::load_folder(dir, &LoadOptions::default())?;
    let load_secs = t.elapsed().as_secs_f64();
    // As the app keeps it (a large A without its transpose).
    let data = Arc::new(FaceMatrix::new_lean(ds.matrix)?);
    let (m, n) = (data.pixels(), data.faces());
    let params = Params::new(k).tol(0.0).max_iter(10_000_000).time_limit_secs(Some(secs));
    let mut nmf = Nmf::new(Arc::clone(&data), params)?;
    nmf.run(None, |nmf| crate::jobs::log_iteration(nmf.iteration()));
    let history = nmf.history();
    let from = history.iter().find(|r| r.secs >= 5.0).or(history.first());
    let to = history.last();
    let iters_per_sec = match (from, to) {
        (Some(a), Some(b)) if b.secs > a.secs => (b.iteration - a.iteration) as f64 / (b.secs - a.secs),
        _ => 0.0,
    };
    // The peak of the fit, before a stored Aᵀ is made below to time it.
    let peak_rss_bytes = peak_rss_bytes().unwrap_or(0);
    let w = Array2::<f32>::from_elem((m, k), 0.01);
    let kernel = crate::nmf::linalg::DEFAULT_KERNEL;
    let at_w_view_ms = time_ms(|| drop(par_matmul_with(kernel, data.a().t(), w.view())));
    let at_w_stored_ms = {
        let stored;
        let at = if data.stores_transpose() {
            data.at()
        } else {
            stored = crate::nmf::linalg::transpose_owned(data.a());
            stored.view()
        };
        time_ms(|| drop(par_matmul_with(kernel, at, w.view())))
    };
    let figures = BigFigures {
        faces: n,
        pixels: m,
        k,
        load_secs,
        matrix_bytes: (m * n * std::mem::size_of::<f32>()) as u64,
        iters_per_sec,
        iterations: nmf.iteration(),
        rel_err: nmf.rel_err(),
        peak_rss_bytes,
        stores_transpose: data.stores_transpose(),
        at_w_stored_ms,
        at_w_view_ms,
    };
    outln!("{}", serde_json::to_string(&figures)?)?;
    Ok(())
}

/// One line of the scikit-learn baseline's output.
#[derive(Debug, Deserialize)]
struct SkRun {
    solver: String,
    k: usize,
    seconds: f64,
    n_iter: usize,
    rel_err: f64,
    dtype: String,
    /// The KL divergence of the fit (the KL run only).
    #[serde(default)]
    kl: Option<f64>,
}

fn sklearn(args: &BenchArgs) -> anyhow::Result<Vec<SkRun>> {
    let ks: Vec<String> = args.k.iter().map(|k| k.to_string()).collect();
    let mut cmd = python(args);
    cmd.arg(&args.sklearn_script)
        .arg(&args.orl)
        .arg("--k")
        .args(&ks)
        .args(["--solver", "cd", "mu", "--dtype", "float32"]);
    let runs = run_python(args, cmd)?;
    outln!("\nscikit-learn (same machine, same run):")?;
    for r in &runs {
        outln!(
            "  {} {:<2} k={:<3} {:7.3} s, {:3} iterations, rel_err {:.4}",
            r.dtype,
            r.solver,
            r.k,
            r.seconds,
            r.n_iter,
            r.rel_err
        )?;
    }
    Ok(runs)
}

/// The Python interpreter for scikit-learn, with OpenBLAS choosing its own
/// kernel for this CPU: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed
/// from its environment only (with them set, numpy is 10–20 % slower here).
fn python(args: &BenchArgs) -> Command {
    let mut cmd = Command::new(&args.python);
    cmd.env_remove("OPENBLAS_CORETYPE").env_remove("OPENBLAS_L2_SIZE");
    cmd
}

/// Runs `cmd` (a scikit-learn script) and parses its JSON lines.
fn run_python(args: &BenchArgs, mut cmd: Command) -> anyhow::Result<Vec<SkRun>> {
    let out = cmd
        .output()
        .with_context(|| format!("could not run {} {}", args.python.display(), args.sklearn_script.display()))?;
    if !out.status.success() {
        bail!(
            "the scikit-learn baseline failed (pip install numpy scikit-learn pillow?): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
}

/// scikit-learn's NMF with beta_loss='kullback-leibler' (solver mu), run by
/// `python -c`: the faces loaded by the baseline script's own loader, and
/// the generalised KL divergence of its fit computed in float64.
const SKLEARN_KL: &str = r#"
import json, sys, time, warnings
import numpy as np
sys.path.insert(0, sys.argv[1])
from sklearn_baseline import load_faces
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning
A, shape = load_faces(sys.argv[2])
k, iters = int(sys.argv[3]), int(sys.argv[4])
X = np.ascontiguousarray(A.T.astype("float32"))
model = NMF(n_components=k, solver="mu", beta_loss="kullback-leibler", init="nndsvda",
            tol=1e-4, max_iter=iters, random_state=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    t0 = time.perf_counter()
    Ht = model.fit_transform(X)
    secs = time.perf_counter() - t0
Y = (Ht @ model.components_).T.astype(np.float64)
pos = A > 0
kl = float(np.sum(A[pos] * np.log(A[pos] / Y[pos])) - A.sum() + Y.sum())
err = np.linalg.norm(A - Y) / np.linalg.norm(A)
print(json.dumps({"solver": "kl-mu", "k": k, "dtype": "float32", "seconds": round(secs, 4),
                  "n_iter": int(model.n_iter_), "rel_err": round(float(err), 6), "kl": kl}), flush=True)
"#;
