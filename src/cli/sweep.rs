//! `facenmf sweep`: the rank explorer, headless.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use indicatif::ProgressBar;
use serde::Serialize;

use super::Names;
use super::fit::report_skipped;
use super::{LoadArgs, SolveOptions};
use crate::dataset::{self, LoadOptions};
use crate::nmf::sweep::{CvMethod, RankSpec, SweepEvent, SweepPoint, SweepStrategy, Validation, suggest_k, sweep_with};
use crate::nmf::{FaceMatrix, StopReason};

#[derive(Debug, Clone, Args)]
pub struct SweepArgs {
    /// Folder of face images (searched recursively; any format, recognised by content).
    pub dir: PathBuf,
    /// Ranks to fit: a list (2,4,8,16) or an inclusive range A..B, which fits A, A + step, A + 2·step, … while ≤ B
    /// (so B itself only when B − A is a multiple of the step; a note says when it is not).
    #[arg(long, value_name = "LIST|A..B", allow_hyphen_values = true)]
    pub k: String,
    /// Step of a range --k A..B (default 1).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub step: Option<usize>,
    #[command(flatten)]
    pub solve: SolveOptions,
    #[command(flatten)]
    pub load: LoadArgs,
    /// Cross-validate every k on FOLDS folds of held-out data (see --cv-method), scored by the error on what was
    /// held out (cv_rel_err, cv_rel_err_sd); a k is suggested.
    #[arg(long, value_name = "FOLDS", default_value_t = 0)]
    pub cv: usize,
    /// How a fold holds data out: bicross (Owen & Perry: 1/FOLDS of the pixels of 1/FOLDS of the faces; the rest
    /// fitted by plain NMF) or holdout (disjoint random entries, each --cv-fraction of A, fitted by masked NMF).
    #[arg(long, value_name = "METHOD", default_value_t = CvMethod::default(),
          value_parser = Names::new(&CvMethod::ALL, CvMethod::name, CvMethod::description))]
    pub cv_method: CvMethod,
    /// Share of the entries each hold-out fold hides (--cv-method holdout only) [default: 0.1].
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    pub cv_fraction: Option<f64>,
    /// Fits per k from different starts (the first is the sweep's own fit, the others start from random
    /// factors); with 2 or more, the stability of the parts (1 − mean Amari distance between the restarts' W).
    #[arg(long, value_name = "R", default_value_t = 1)]
    pub restarts: usize,
    /// Fit every k independently from its own initialisation (as `fit --k K`), instead of the default: each k
    /// from the fit of the k before it, on a sketch of the faces shared by every k, then a few exact iterations
    /// (every rel_err exact). Sweeps with --cv or --restarts always fit each k independently.
    #[arg(long)]
    pub independent: bool,
    /// Print one JSON object per k (one line each, as each k finishes) instead of a table; with --cv, a last
    /// line {"suggested_k": K, "rule": "...", "min_k": K}.
    #[arg(long)]
    pub json: bool,
}

/// One `--json` line.
#[derive(Debug, Serialize)]
pub struct SweepLine {
    pub k: usize,
    /// NMF's ‖A − WH‖_F / ‖A‖_F, computed exactly.
    pub rel_err: f64,
    /// The best any rank-k factorisation can do (Eckart–Young).
    pub svd_rel_err: f64,
    /// Share of ‖A‖²_F captured by the best rank-k approximation (uncentred).
    pub explained_variance: f64,
    /// Mean Hoyer sparseness of W's columns.
    pub sparseness_w: f32,
    pub fit_secs: f64,
    pub iterations: usize,
    /// Iterations on the sweep's sketch of the faces before `iterations` exact ones (0 with --independent).
    pub sketch_iterations: usize,
    pub stop_reason: StopReason,
    /// Whether the singular values are exact (else from a randomized SVD).
    pub svd_exact: bool,
    /// Mean held-out relative error over the folds (with --cv).
    pub cv_rel_err: Option<f64>,
    /// Its standard deviation over the folds (with --cv).
    pub cv_rel_err_sd: Option<f64>,
    /// 1 − mean Amari distance between the restarts' W (with --restarts ≥ 2).
    pub stability: Option<f64>,
    /// Seconds of every fit of this k (with folds and restarts).
    pub total_secs: f64,
}

impl SweepLine {
    fn new(p: &SweepPoint, svd_exact: bool) -> Self {
        SweepLine {
            k: p.k,
            rel_err: p.rel_err,
            svd_rel_err: p.svd_rel_err,
            explained_variance: p.explained_variance,
            sparseness_w: p.sparseness_w,
            fit_secs: p.fit_secs,
            iterations: p.iterations,
            sketch_iterations: p.sketch_iterations,
            stop_reason: p.stop_reason,
            svd_exact,
            cv_rel_err: p.cv.as_ref().map(|c| c.mean),
            cv_rel_err_sd: p.cv.as_ref().map(|c| c.sd),
            stability: p.stability,
            total_secs: p.total_secs,
        }
    }
}

/// Parses `--k` and `--step` ([`RankSpec`]) before any work: errors name
/// the value typed; a range whose step misses its bound is noted on stderr.
fn parse_spec(args: &SweepArgs) -> anyhow::Result<RankSpec> {
    let given = match args.step {
        Some(s) => format!("--k {} --step {s}", args.k),
        None => format!("--k {}", args.k),
    };
    let spec = RankSpec::parse(&args.k, args.step.unwrap_or(1)).map_err(|e| anyhow::anyhow!("{given}: {e}"))?;
    if let Some(s) = args.step
        && !spec.is_range()
    {
        anyhow::bail!("--step {s} only applies to a range such as --k 2..64, not to the list {:?}", args.k);
    }
    if let Some((reached, last)) = spec.stops_short() {
        errln!("note: {given} fits ranks up to {reached}: a range takes every step from its start while ≤ {last}");
    }
    Ok(spec)
}

pub fn run(args: &SweepArgs) -> anyhow::Result<()> {
    let spec = parse_spec(args)?;
    // Every check that does not need the data's shape, before any work.
    args.solve.params(1).check(usize::MAX, usize::MAX)?;
    if let (Some(f), CvMethod::Bicross) = (args.cv_fraction, args.cv_method) {
        anyhow::bail!(
            "--cv-fraction {f} applies to --cv-method holdout only: a bicross fold holds out 1/FOLDS of the pixels of 1/FOLDS of the faces"
        );
    }
    validation(args).check().context("--cv/--cv-method/--cv-fraction/--restarts")?;
    let load_options = args.load.checked_options()?;
    let pool = args.solve.pool()?;
    pool.install(|| sweep_in_pool(args, &spec, &load_options))
}

fn validation(args: &SweepArgs) -> Validation {
    Validation {
        cv_folds: args.cv,
        cv_method: args.cv_method,
        cv_fraction: args.cv_fraction.unwrap_or(Validation::default().cv_fraction),
        restarts: args.restarts,
    }
}

/// A table cell for an optional figure.
fn cell(v: Option<f64>, width: usize, digits: usize) -> String {
    match v {
        Some(v) => format!("{v:>width$.digits$}"),
        None => format!("{:>width$}", "—"),
    }
}

fn sweep_in_pool(args: &SweepArgs, spec: &RankSpec, load_options: &LoadOptions) -> anyhow::Result<()> {
    let ds = dataset::load_folder(&args.dir, load_options)?;
    report_skipped(&ds);
    let (m, n) = (ds.pixels(), ds.faces());
    let ks = spec.ranks(m.min(n)).with_context(|| {
        format!(
            "{} holds {} of {}×{} pixels",
            dataset::display_name(&args.dir),
            dataset::count_of(n, "face"),
            ds.width,
            ds.height
        )
    })?;
    let ks = ks.as_slice();
    let dataset::Dataset { matrix, meta: ds } = ds;
    let data = Arc::new(FaceMatrix::new(matrix).context("the faces cannot be factored")?);
    let base = args.solve.params(1);
    let bar = super::progress_bar(ks.len(), "ranks", args.json);
    bar.set_message("SVD");
    let mut stdout = std::io::stdout().lock();
    let mut svd_exact = false;
    let mut last_draw = Instant::now();
    let mut write_err: Option<std::io::Error> = None;
    // Stop fitting once stdout is gone (e.g. `| head`).
    let stdout_gone = AtomicBool::new(false);
    let mut emit = |line: String, bar: &ProgressBar| {
        if write_err.is_none() {
            bar.suspend(|| {
                if let Err(e) = writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
                    write_err = Some(e);
                    stdout_gone.store(true, Ordering::Relaxed);
                }
            });
        }
    };
    let validation = validation(args);
    let (cv, restarts) = (validation.cv_folds > 0, validation.restarts > 1);
    if !args.json {
        let mut header = format!(
            "{:>5}  {:>9}  {:>11}  {:>20}  {:>12}  {:>10}  {:>9}  {:>8}",
            "k", "rel_err", "svd_rel_err", "explained(uncentred)", "sparseness_w", "iterations", "stop", "fit_secs"
        );
        if cv {
            header.push_str(&format!("  {:>10}  {:>13}", "cv_rel_err", "cv_rel_err_sd"));
        }
        if restarts {
            header.push_str(&format!("  {:>9}", "stability"));
        }
        emit(header, &bar);
    }
    let strategy = if args.independent { SweepStrategy::Independent } else { SweepStrategy::WarmStart };
    let result = sweep_with(&data, ks, &base, &validation, strategy, Some(&stdout_gone), |e| match e {
        SweepEvent::Spectrum(s) => svd_exact = s.exact,
        SweepEvent::Step { index, total, k, iteration, rel_err, phase } => {
            if last_draw.elapsed() >= Duration::from_millis(100) {
                bar.set_position(index as u64);
                bar.set_message(format!(
                    "k = {k} ({}/{total}), {phase}: iteration {iteration}, rel_err {rel_err:.5}",
                    index + 1
                ));
                last_draw = Instant::now();
            }
        }
        SweepEvent::Point { index, point: p, .. } => {
            bar.set_position(index as u64 + 1);
            let line = if args.json {
                serde_json::to_string(&SweepLine::new(p, svd_exact))
                    .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
            } else {
                let mut row = format!(
                    "{:>5}  {:>9.6}  {:>11.6}  {:>20.6}  {:>12.4}  {:>10}  {:>9}  {:>8.2}",
                    p.k,
                    p.rel_err,
                    p.svd_rel_err,
                    p.explained_variance,
                    p.sparseness_w,
                    if p.sketch_iterations > 0 {
                        format!("{}+{}", p.sketch_iterations, p.iterations)
                    } else {
                        p.iterations.to_string()
                    },
                    p.stop_reason.name(),
                    p.fit_secs
                );
                if cv {
                    row.push_str(&format!(
                        "  {}  {}",
                        cell(p.cv.as_ref().map(|c| c.mean), 10, 6),
                        cell(p.cv.as_ref().map(|c| c.sd), 13, 6)
                    ));
                }
                if restarts {
                    row.push_str(&format!("  {}", cell(p.stability, 9, 4)));
                }
                row
            };
            emit(line, &bar);
        }
    });
    bar.finish_and_clear();
    let sweep = result.with_context(|| format!("sweep over {}", dataset::display_name(&args.dir)))?;
    if let Some(e) = write_err {
        return Err(e).context("could not write to stdout");
    }
    let suggestion = if sweep.cancelled { None } else { suggest_k(&sweep.points) };
    if let Some(s) = suggestion {
        if args.json {
            outln!(
                "{}",
                serde_json::json!({"suggested_k": s.k, "rule": s.rule.name(), "min_k": s.min_k, "min_is_largest_k": s.min_is_largest})
            )?;
        } else {
            outln!("suggested {}", s.describe())?;
        }
    }
    if !args.json {
        if cv {
            match validation.cv_method {
                CvMethod::Holdout => outln!(
                    "cv_rel_err: held-out error on {} disjoint folds of {} % of the entries each (masked fits never see them)",
                    validation.cv_folds,
                    validation.cv_fraction * 100.0
                )?,
                CvMethod::Bicross => outln!(
                    "cv_rel_err: bi-cross-validation error on {} folds, each the block of 1/{} of the pixels of 1/{} of the faces, predicted from a fit of the rest",
                    validation.cv_folds,
                    validation.cv_folds,
                    validation.cv_folds
                )?,
            }
        }
        if restarts {
            outln!(
                "stability: 1 − mean Amari distance between the parts of {} fits from different starts (1 = the same parts every time)",
                validation.restarts
            )?;
        }
        outln!(
            "{} of {}×{} pixels from {}; svd_rel_err from {} singular values ({:.2} s); explained = 1 − svd_rel_err²",
            dataset::count_of(n, "face"),
            ds.width,
            ds.height,
            dataset::display_name(&args.dir),
            if sweep.spectrum.exact { "exact" } else { "randomized" },
            sweep.spectrum.secs
        )?;
        if sweep.points.iter().any(|p| p.sketch_iterations > 0) {
            outln!(
                "each k starts from the fit of the k before it; iterations A+B: A on a sketch of the faces shared by every k, then B exact ones (rel_err is exact; --independent fits each k from its own start)"
            )?;
        }
    }
    Ok(())
}
