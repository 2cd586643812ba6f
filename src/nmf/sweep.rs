//! The rank explorer: NMF fits over a range of k beside the best any rank-k
//! factorisation can do. Pure computation: no I/O, no printing; progress and
//! results go to a callback, and a flag cancels.
//!
//! For every k, [`sweep`] fits NMF with the base parameters and that k —
//! by default from the fit of the k before it on a shared sketch of A
//! ([`SweepStrategy::WarmStart`]), or as an independent fit, the same fit
//! `facenmf fit --k K` runs ([`SweepStrategy::Independent`]) — and reports
//! its exact relative error beside the SVD's. By Eckart–Young, the truncated SVD is the
//! best rank-k approximation in the Frobenius norm, so
//!
//! svd_rel_err(k) = √(max(0, ‖A‖² − Σ_{i≤k} σᵢ²)) / ‖A‖ ≤ NMF's rel_err(k).
//!
//! One set of singular values, of A itself (uncentred: no mean face is
//! removed, as NMF removes none), serves every k: [`spectrum`] computes them
//! exactly in f64 when the short side of A is at most
//! [`EXACT_SVD_MAX_SIDE`], else by a randomized SVD of rank max k (plus
//! oversampling, with [`SWEEP_POWER_ITERS`] power iterations). A randomized
//! SVD slightly underestimates the σᵢ, so its svd_rel_err is slightly too
//! high; the exact path has no such bias, which is why it is used whenever
//! it is affordable.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::bicross::{BicrossFold, bicross_folds, check_bicross_folds};
use super::compress::Sketch;
use super::linalg;
use super::mask::{Mask, check_folds};
use super::svd::randomized_svd;
use super::{FaceMatrix, Init, Nmf, NmfError, Params, StopReason, metrics};

/// Largest short side (min(pixels, faces)) for which [`spectrum`] computes
/// every singular value exactly (an f64 SVD of A); beyond it, a randomized
/// SVD of rank max k is used.
pub const EXACT_SVD_MAX_SIDE: usize = 1000;

/// Power iterations of the randomized SVD used beyond [`EXACT_SVD_MAX_SIDE`]
/// (more than the usual 4, for accurate σᵢ).
pub const SWEEP_POWER_ITERS: usize = 7;

/// Directions the sweep's sketch ([`Sketch`]) takes beyond the largest k.
pub const SKETCH_OVERSAMPLES: usize = 10;

/// HALS iterations on the sketch per rank of a [`SweepStrategy::WarmStart`]
/// sweep (`facenmf bench --sweep`: 25 left ORL's k = 54 0.0007 above an
/// independent fit, 40 cost 1.8× one k = 49 fit; 30 is between).
pub const SKETCH_ITERS: usize = 30;

/// The exact HALS iterations on A that follow them run by chunks of this
/// many (the sweep's `tol` may stop them sooner) ...
pub const EXACT_CHUNK: usize = 10;

/// ... until, at the end of a chunk, the last `.0` iterations lowered
/// rel_err by less than `.1` in all (or `max_iter` is reached). (A fixed
/// 10 left a generated 21-part problem 0.0027 above an independent fit at
/// k = 18, where the error falls steeply; this rule, 0.0009. A stall of
/// 5e-5 brings that to 0.0003 but made ORL's sweep 2.2× one fit.)
pub const EXACT_STALL: (usize, f64) = (5, 1e-4);

/// Singular values of A and what follows from them for every rank.
#[derive(Debug, Clone)]
pub struct Spectrum {
    /// Singular values of A, largest first (all of them when `exact`, else
    /// the top max-k of a randomized SVD).
    pub singular_values: Vec<f64>,
    /// ‖A‖²_F.
    pub norm_sq: f64,
    /// Whether the singular values are exact (f64 SVD) rather than randomized.
    pub exact: bool,
    /// Seconds the SVD took.
    pub secs: f64,
}

impl Spectrum {
    /// Eckart–Young: √(max(0, ‖A‖² − Σ_{i≤k} σᵢ²)) / ‖A‖, the smallest
    /// ‖A − X‖_F / ‖A‖_F of any X of rank ≤ k. For k beyond the computed
    /// values, the values available are used (an upper bound).
    pub fn svd_rel_err(&self, k: usize) -> f64 {
        let captured: f64 = self.singular_values.iter().take(k).map(|s| s * s).sum();
        ((self.norm_sq - captured).max(0.0) / self.norm_sq).sqrt()
    }

    /// Σ_{i≤k} σᵢ² / ‖A‖² = 1 − svd_rel_err(k)²: the share of ‖A‖²_F (the
    /// uncentred "energy" of the faces, not the variance about the mean face)
    /// captured by the best rank-k approximation.
    pub fn explained_variance(&self, k: usize) -> f64 {
        let e = self.svd_rel_err(k);
        1.0 - e * e
    }
}

/// The singular values of `data`'s A needed for ranks up to `k_max` (see the
/// [module docs](self)). `seed` seeds the randomized SVD, when used.
pub fn spectrum(data: &FaceMatrix, k_max: usize, seed: u64) -> Result<Spectrum, NmfError> {
    let started = Instant::now();
    let (m, n) = (data.pixels(), data.faces());
    let short = m.min(n);
    if k_max == 0 || k_max > short {
        return Err(NmfError::InvalidK { k: k_max, max: short, pixels: m, faces: n });
    }
    let (singular_values, exact) = if short <= EXACT_SVD_MAX_SIDE {
        // Tall orientation (rows ≥ columns), in f64.
        let a = data.a();
        let tall = if m >= n {
            faer::Mat::<f64>::from_fn(m, n, |i, j| f64::from(a[(i, j)]))
        } else {
            faer::Mat::<f64>::from_fn(n, m, |i, j| f64::from(a[(j, i)]))
        };
        let mut s = tall
            .singular_values()
            .map_err(|e| NmfError::Numerical(format!("SVD of the faces did not converge: {e:?}")))?;
        s.sort_by(|x, y| y.total_cmp(x));
        (s, true)
    } else {
        let svd = randomized_svd(data.a(), data.at(), k_max, SWEEP_POWER_ITERS, seed)?;
        (svd.s.iter().map(|&v| f64::from(v)).collect(), false)
    };
    if singular_values.iter().any(|v| !v.is_finite()) {
        return Err(NmfError::Numerical("the SVD of the faces produced non-finite values".into()));
    }
    Ok(Spectrum { singular_values, norm_sq: data.norm_sq(), exact, secs: started.elapsed().as_secs_f64() })
}

/// Why a rank spec ([`RankSpec::parse`], [`parse_ranks`]) was refused. Every
/// message names the value typed and, where there is one, the limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RankSpecError {
    /// Nothing but blanks and commas.
    #[error("no ranks given: type the ranks to fit, e.g. 2..64 or 2,4,8")]
    Empty,
    /// A rank that is not a whole number.
    #[error("k = {value:?} is not a whole number (ranks are typed as 2..64 or 2,4,8)")]
    NotANumber {
        /// The text typed for it.
        value: String,
    },
    /// A rank of 0 or less.
    #[error("k = {value} is invalid: k must be at least 1")]
    BelowOne {
        /// The text typed for it.
        value: String,
    },
    /// A rank above what the data (or a `usize`) allows.
    #[error("k = {value} is too large: k can be at most min(pixels, faces) = {max_k} here")]
    TooLarge {
        /// The text typed for it.
        value: String,
        /// The largest rank allowed.
        max_k: usize,
    },
    /// A rank beyond any data's limit (more than `usize::MAX`).
    #[error("k = {value} is too large: no data has that many faces and pixels")]
    Overflow {
        /// The text typed for it.
        value: String,
    },
    /// A range whose first rank is above its last.
    #[error("the range {first}..{last} is empty ({first} > {last})")]
    EmptyRange {
        /// Its first rank.
        first: usize,
        /// Its last rank.
        last: usize,
    },
    /// A range with step 0.
    #[error("step 0 is invalid: the step of a range must be at least 1")]
    ZeroStep,
}

/// The ranks of a sweep as typed, checked but not expanded: a comma list
/// (`2,4,8`; blanks and empty items are ignored) or a range
/// `first..last` (also written `first..=last`; both bounds inclusive) taken
/// every `step`.
///
/// A range with step s yields first, first + s, first + 2s, … up to the
/// largest of them ≤ last: `2..10` step 4 is 2, 6, 10, but `2..64` step 4 is
/// 2, 6, …, 62 — `last` itself is included only when last − first is a
/// multiple of s ([`RankSpec::stops_short`] says when it is not).
///
/// Parsing never allocates more than the text typed; [`RankSpec::ranks`]
/// checks the spec against the largest rank the data allows before
/// expanding it, so a spec such as `2..99999999999` is an error, not an
/// allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RankSpec {
    /// The ranks of a list, sorted, without repeats (never empty).
    List(Vec<usize>),
    /// A range, `1 ≤ first ≤ last`, `step ≥ 1`.
    Range {
        /// The first rank.
        first: usize,
        /// The bound typed after `..` (yielded only if reached, see above).
        last: usize,
        /// The step.
        step: usize,
    },
}

impl RankSpec {
    /// Parses `spec` (see the [type docs](RankSpec)); `step` is the step of a
    /// range (a list ignores it).
    pub fn parse(spec: &str, step: usize) -> Result<RankSpec, RankSpecError> {
        if let Some((a, b)) = spec.split_once("..") {
            let (first, last) = (parse_rank(a)?, parse_rank(b.strip_prefix('=').unwrap_or(b))?);
            if first > last {
                return Err(RankSpecError::EmptyRange { first, last });
            }
            if step == 0 {
                return Err(RankSpecError::ZeroStep);
            }
            return Ok(RankSpec::Range { first, last, step });
        }
        let mut ks = spec.split(',').filter(|s| !s.trim().is_empty()).map(parse_rank).collect::<Result<Vec<_>, _>>()?;
        if ks.is_empty() {
            return Err(RankSpecError::Empty);
        }
        ks.sort_unstable();
        ks.dedup();
        Ok(RankSpec::List(ks))
    }

    /// Whether this is a range (which a step applies to).
    pub fn is_range(&self) -> bool {
        matches!(self, RankSpec::Range { .. })
    }

    /// The largest rank typed (a range's `last`, whether reached or not).
    pub fn max_typed(&self) -> usize {
        match self {
            RankSpec::List(ks) => ks.last().copied().unwrap_or(1),
            RankSpec::Range { last, .. } => *last,
        }
    }

    /// For a range whose step does not reach `last`: (the last rank it
    /// yields, `last`). `None` for a list or a range that ends on `last`.
    pub fn stops_short(&self) -> Option<(usize, usize)> {
        match *self {
            RankSpec::Range { first, last, step } => {
                let reached = first + (last - first) / step * step;
                (reached != last).then_some((reached, last))
            }
            RankSpec::List(_) => None,
        }
    }

    /// The ranks, ascending and distinct, after checking every one of them
    /// is at most `max_k` (min(pixels, faces) of the data) — before the
    /// range is expanded.
    pub fn ranks(&self, max_k: usize) -> Result<Vec<usize>, RankSpecError> {
        let top = self.max_typed();
        if top > max_k {
            return Err(RankSpecError::TooLarge { value: top.to_string(), max_k });
        }
        Ok(match *self {
            RankSpec::List(ref ks) => ks.clone(),
            RankSpec::Range { first, last, step } => (first..=last).step_by(step).collect(),
        })
    }
}

/// [`RankSpec::parse`] then [`RankSpec::ranks`]: the ranks `spec` asks for
/// (a range taken every `step`), each checked to be between 1 and `max_k`.
pub fn parse_ranks(spec: &str, step: usize, max_k: usize) -> Result<Vec<usize>, RankSpecError> {
    RankSpec::parse(spec, step)?.ranks(max_k)
}

/// One rank as typed: a whole number ≥ 1 that fits a `usize`.
fn parse_rank(s: &str) -> Result<usize, RankSpecError> {
    let t = s.trim();
    match t.parse::<usize>() {
        Ok(0) => Err(RankSpecError::BelowOne { value: t.to_string() }),
        Ok(k) => Ok(k),
        Err(_) => {
            let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                Err(RankSpecError::NotANumber { value: t.to_string() })
            } else if t.starts_with('-') {
                Err(RankSpecError::BelowOne { value: t.to_string() })
            } else {
                Err(RankSpecError::Overflow { value: t.to_string() })
            }
        }
    }
}

/// One rank of a sweep.
#[derive(Debug, Clone)]
pub struct SweepPoint {
    /// The rank.
    pub k: usize,
    /// NMF's ‖A − WH‖_F / ‖A‖_F, computed exactly at the end of the fit.
    pub rel_err: f64,
    /// The best any rank-k factorisation can do ([`Spectrum::svd_rel_err`]).
    pub svd_rel_err: f64,
    /// Share of ‖A‖²_F captured by the best rank-k approximation
    /// ([`Spectrum::explained_variance`]; uncentred).
    pub explained_variance: f64,
    /// Mean Hoyer sparseness of the columns of W ([`metrics::mean_sparseness`]).
    pub sparseness_w: f32,
    /// Seconds of the fit, initialisation included.
    pub fit_secs: f64,
    /// Iterations run on A (for a [`SweepStrategy::WarmStart`] sweep of a
    /// plain HALS fit, those after the iterations on the sketch).
    pub iterations: usize,
    /// Iterations run on the sweep's sketch A ≈ Q·B before them (0 when
    /// none, see [`SweepStrategy::WarmStart`]).
    pub sketch_iterations: usize,
    /// Why the fit stopped.
    pub stop_reason: StopReason,
    /// The fitted W (pixels × k), so the fit can be opened.
    pub w: Array2<f32>,
    /// The fitted H (k × faces).
    pub h: Array2<f32>,
    /// The fit's history (initialisation first), so an opened fit reports
    /// and continues from its true iteration count.
    pub history: Vec<super::Record>,
    /// Held-out error over the cross-validation folds, when asked for.
    pub cv: Option<CvScore>,
    /// Stability of the parts over the restarts ([`metrics::stability`]),
    /// when more than one restart was asked for.
    pub stability: Option<f64>,
    /// Seconds of every fit of this rank (the fit, folds and restarts).
    pub total_secs: f64,
}

/// Cross-validation and restarts for each rank of a sweep: how R's NMF
/// package (`nmfEstimateRank`: restarts and their consensus) and
/// hold-out cross-validation (Wold 1978; Owen & Perry 2009) choose k.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Validation {
    /// Folds (0: no cross-validation), the same for every k.
    pub cv_folds: usize,
    /// How each fold holds data out and scores it.
    pub cv_method: CvMethod,
    /// Share of the entries each fold hides ([`CvMethod::Holdout`] only).
    pub cv_fraction: f64,
    /// Fits per rank from different starts (1: no stability). The first is
    /// the sweep's own fit; the others start from random factors
    /// (seeds seed + 1, seed + 2, …).
    pub restarts: usize,
}

impl Default for Validation {
    fn default() -> Self {
        Validation { cv_folds: 0, cv_method: CvMethod::default(), cv_fraction: 0.1, restarts: 1 }
    }
}

/// How a cross-validation fold holds data out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CvMethod {
    /// Wold-style hold-out: fold f hides its own random `cv_fraction` of the
    /// entries (the folds are disjoint); a masked fit
    /// ([`Nmf::new_masked`]) that never sees them is scored on them.
    Holdout,
    /// Owen & Perry's bi-cross-validation ([`super::bicross`]): fold f
    /// holds out 1/F of the pixels of 1/F of the faces, fits the rest of A
    /// by plain NMF and predicts the block from the fit. The default: no
    /// masking and a smaller matrix, so half the cost of the hold-out.
    #[default]
    Bicross,
}

impl CvMethod {
    /// Every method.
    pub const ALL: [CvMethod; 2] = [CvMethod::Bicross, CvMethod::Holdout];

    /// One line on the method, for tooltips and help.
    pub fn description(self) -> &'static str {
        match self {
            CvMethod::Holdout => {
                "Hide random entries of A (cv_fraction each fold), fit the rest with a masked NMF, score the hidden ones."
            }
            CvMethod::Bicross => {
                "Owen & Perry's bi-cross-validation: hold out some pixels of some faces, fit the rest, predict the block."
            }
        }
    }

    /// The name the CLI and the tables use.
    pub fn name(self) -> &'static str {
        match self {
            CvMethod::Holdout => "holdout",
            CvMethod::Bicross => "bicross",
        }
    }
}

impl std::str::FromStr for CvMethod {
    type Err = NmfError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        CvMethod::ALL
            .into_iter()
            .find(|m| m.name() == wanted)
            .ok_or_else(|| NmfError::Mask(format!("unknown cross-validation method {s:?}: use holdout or bicross")))
    }
}

impl std::fmt::Display for CvMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Validation {
    /// Checks the design: restarts ≥ 1; folds × fraction ≤ 1 with a
    /// fraction in (0, 1) when there are folds.
    pub fn check(&self) -> Result<(), NmfError> {
        if self.restarts == 0 {
            return Err(NmfError::Mask("0 restarts: at least 1 fit per rank is needed".into()));
        }
        if self.cv_folds > 0 {
            match self.cv_method {
                CvMethod::Holdout => check_folds(self.cv_folds, self.cv_fraction)?,
                CvMethod::Bicross => check_bicross_folds(self.cv_folds)?,
            }
        }
        Ok(())
    }

    /// Fits made per rank.
    pub fn fits_per_rank(&self) -> usize {
        self.restarts.max(1) + self.cv_folds
    }
}

/// The held-out error of one rank over the folds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvScore {
    /// Mean over the folds of the held-out relative error
    /// √(Σ (A − WH)² / Σ A²) on the entries each fold hid.
    pub mean: f64,
    /// Sample standard deviation over the folds (0 for one fold).
    pub sd: f64,
    /// One held-out error per fold.
    pub folds: Vec<f64>,
}

impl CvScore {
    /// Mean and sample standard deviation of `folds`.
    pub fn new(folds: Vec<f64>) -> Self {
        let n = folds.len().max(1) as f64;
        let mean = folds.iter().sum::<f64>() / n;
        let sd = if folds.len() > 1 {
            (folds.iter().map(|e| (e - mean) * (e - mean)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        CvScore { mean, sd, folds }
    }

    /// Standard error of the mean: sd / √folds.
    pub fn se(&self) -> f64 {
        self.sd / (self.folds.len().max(1) as f64).sqrt()
    }
}

/// How a suggested rank was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SuggestRule {
    /// The smallest k whose held-out error is within one standard error of
    /// the minimum's (Breiman et al. 1984; Hastie et al. §7.10).
    OneStandardError,
    /// The k of the smallest held-out error (one fold: no spread known).
    Minimum,
}

impl SuggestRule {
    /// The name used in the CLI's JSON and on the plot.
    pub fn name(self) -> &'static str {
        match self {
            SuggestRule::OneStandardError => "one-standard-error",
            SuggestRule::Minimum => "minimum",
        }
    }
}

/// A rank suggested by the held-out errors of a sweep.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    /// The suggested rank.
    pub k: usize,
    /// How it was chosen.
    pub rule: SuggestRule,
    /// The rank of the smallest held-out error.
    pub min_k: usize,
    /// Whether the held-out error still falls at the largest k swept, so
    /// that more parts may do better: `min_k` is the largest k and, with
    /// folds, every smaller k's error is more than a standard error above
    /// it (a minimum at the end of a plateau, within the folds' noise of
    /// smaller ranks, is not flagged).
    pub min_is_largest: bool,
}

impl Suggestion {
    /// One line for the table and the plot.
    pub fn describe(&self) -> String {
        let line = self.rule_text();
        if self.min_is_largest {
            format!("{line}; the minimum is at the largest k swept, so a larger k may do better")
        } else {
            line
        }
    }

    fn rule_text(&self) -> String {
        match self.rule {
            SuggestRule::OneStandardError if self.k == self.min_k => {
                format!("k = {} (smallest held-out error; one-standard-error rule)", self.k)
            }
            SuggestRule::OneStandardError => format!(
                "k = {} (one-standard-error rule: the smallest k within one standard error of the minimum at k = {})",
                self.k, self.min_k
            ),
            SuggestRule::Minimum => format!("k = {} (smallest held-out error)", self.k),
        }
    }
}

/// The rank the held-out errors of `points` suggest, if they have any:
/// the one-standard-error rule with two or more folds, else the minimum.
pub fn suggest_k(points: &[SweepPoint]) -> Option<Suggestion> {
    let scored: Vec<(usize, &CvScore)> = points.iter().filter_map(|p| p.cv.as_ref().map(|c| (p.k, c))).collect();
    let &(min_k, best) = scored.iter().min_by(|a, b| a.1.mean.total_cmp(&b.1.mean).then(a.0.cmp(&b.0)))?;
    let at_largest = scored.len() > 1 && scored.iter().all(|(k, _)| *k <= min_k);
    if best.folds.len() < 2 {
        return Some(Suggestion { k: min_k, rule: SuggestRule::Minimum, min_k, min_is_largest: at_largest });
    }
    let bound = best.mean + best.se();
    let k = scored.iter().filter(|(_, c)| c.mean <= bound).map(|(k, _)| *k).min().unwrap_or(min_k);
    // Still falling: no smaller k within a standard error of the minimum.
    let min_is_largest = at_largest && k == min_k;
    Some(Suggestion { k, rule: SuggestRule::OneStandardError, min_k, min_is_largest })
}

/// Which fit of a rank is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The rank's own fit (the one reported as rel_err).
    Fit,
    /// A cross-validation fold's fit (from 0, of `folds`).
    Fold {
        /// Which fold.
        fold: usize,
        /// How many.
        folds: usize,
    },
    /// A restart from random factors (from 1, of `restarts`).
    Restart {
        /// Which restart (the rank's own fit is restart 0).
        restart: usize,
        /// How many fits in all, the own fit included.
        restarts: usize,
    },
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Phase::Fit => f.write_str("fit"),
            Phase::Fold { fold, folds } => write!(f, "fold {}/{folds}", fold + 1),
            Phase::Restart { restart, restarts } => write!(f, "restart {}/{restarts}", restart + 1),
        }
    }
}

/// What a running sweep reports.
#[derive(Debug, Clone, Copy)]
pub enum SweepEvent<'a> {
    /// The singular values are ready (before any fit).
    Spectrum(&'a Spectrum),
    /// A fit made one iteration. `index` counts ranks from 0 (of `total`).
    Step {
        /// Position of this rank in the sweep.
        index: usize,
        /// Number of ranks in the sweep.
        total: usize,
        /// The rank being fitted.
        k: usize,
        /// Iterations done in this fit.
        iteration: usize,
        /// The fit's current relative error (over the observed entries,
        /// for a fold).
        rel_err: f64,
        /// Which of the rank's fits this is.
        phase: Phase,
    },
    /// A rank is done.
    Point {
        /// Position of this rank in the sweep.
        index: usize,
        /// Number of ranks in the sweep.
        total: usize,
        /// Its result.
        point: &'a SweepPoint,
    },
}

/// The outcome of [`sweep`].
#[derive(Debug, Clone)]
pub struct Sweep {
    /// The singular values used for `svd_rel_err`.
    pub spectrum: Spectrum,
    /// One point per finished rank, in the order of `ks`.
    pub points: Vec<SweepPoint>,
    /// Whether the sweep was cancelled (`points` then holds the ranks
    /// finished before; the fit in progress is dropped).
    pub cancelled: bool,
}

/// How a sweep fits its ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SweepStrategy {
    /// Every k from the fit of the k before it: its parts kept (or the
    /// weakest dropped, going down), the new ones from NNDSVD of what they
    /// leave unexplained; the first k from `base.init`.
    ///
    /// For plain HALS (no penalty, no sparseness constraint), the sweep
    /// first makes one sketch A ≈ Q·B of rank max k + [`SKETCH_OVERSAMPLES`]
    /// ([`Sketch`], shared by every k): each k then runs [`SKETCH_ITERS`]
    /// HALS iterations on the sketch, which cost a fraction of an exact one,
    /// then exact ones on A until they stall ([`EXACT_STALL`]); its rel_err is exact on
    /// A. On ORL (2..64 step 4, 200 iterations) that is about 1.6× the
    /// time of one k = 49 fit instead of 10–16×, every k within 0.00053 of
    /// an independent fit's rel_err (`facenmf bench --sweep`). Other solvers
    /// and settings warm-start on A with the stopping rules of an
    /// independent fit ([`Nmf::warm_start`]).
    ///
    /// A sweep with cross-validation or restarts fits its ranks
    /// independently whatever this says: its restarts are compared with
    /// the rank's own fit.
    #[default]
    WarmStart,
    /// Every k from its own initialisation, exactly as `facenmf fit --k K`.
    Independent,
}

impl SweepStrategy {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            SweepStrategy::WarmStart => "warm-start",
            SweepStrategy::Independent => "independent",
        }
    }
}

/// Fits NMF with `base` at every k of `ks` (in that order; `base.k` is
/// ignored) and compares each with the SVD's optimum. Every k and the other
/// parameters are checked before any work; the error names the first bad
/// value. `on_event` gets the spectrum, every iteration and every finished
/// rank. Setting `cancel` stops the sweep after the current iteration.
pub fn sweep(
    data: &Arc<FaceMatrix>,
    ks: &[usize],
    base: &Params,
    cancel: Option<&AtomicBool>,
    on_event: impl FnMut(SweepEvent<'_>),
) -> Result<Sweep, NmfError> {
    sweep_validated(data, ks, base, &Validation::default(), cancel, on_event)
}

/// [`sweep`] with cross-validation and restarts at every rank
/// ([`Validation`]): each point then also has its held-out error over the
/// folds and the stability of its parts over the restarts.
pub fn sweep_validated(
    data: &Arc<FaceMatrix>,
    ks: &[usize],
    base: &Params,
    validation: &Validation,
    cancel: Option<&AtomicBool>,
    on_event: impl FnMut(SweepEvent<'_>),
) -> Result<Sweep, NmfError> {
    sweep_with(data, ks, base, validation, SweepStrategy::default(), cancel, on_event)
}

/// [`sweep_validated`] with the [`SweepStrategy`] given (the others use
/// its default, [`SweepStrategy::WarmStart`]).
pub fn sweep_with(
    data: &Arc<FaceMatrix>,
    ks: &[usize],
    base: &Params,
    validation: &Validation,
    strategy: SweepStrategy,
    cancel: Option<&AtomicBool>,
    mut on_event: impl FnMut(SweepEvent<'_>),
) -> Result<Sweep, NmfError> {
    let (m, n) = (data.pixels(), data.faces());
    for &k in ks {
        Params { k, ..base.clone() }.check(m, n)?;
    }
    validation.check()?;
    if validation.cv_folds > 0 && base.solver == super::Solver::Kl {
        return Err(NmfError::MaskNeedsSquaredLoss(base.solver));
    }
    let (masks, blocks): (Vec<Arc<Mask>>, Vec<BicrossFold>) = match validation.cv_method {
        _ if validation.cv_folds == 0 => (Vec::new(), Vec::new()),
        CvMethod::Holdout => (
            Mask::folds(m, n, validation.cv_folds, validation.cv_fraction, base.seed)?
                .into_iter()
                .map(Arc::new)
                .collect(),
            Vec::new(),
        ),
        CvMethod::Bicross => (Vec::new(), bicross_folds(m, n, validation.cv_folds, base.seed)?),
    };
    for block in &blocks {
        let (pixels, faces) = block.train_dim();
        if let Some(&k) = ks.iter().find(|&&k| k > pixels.min(faces)) {
            return Err(NmfError::Mask(format!(
                "k = {k} is too large for {} bi-cross-validation folds: each fits {faces} of the {}, so k must be at most {}",
                validation.cv_folds,
                crate::dataset::count_of(n, "face"),
                pixels.min(faces)
            )));
        }
    }
    let folds = masks.len() + blocks.len();
    let cancelled = || cancel.is_some_and(|c| c.load(Ordering::Relaxed));
    let k_max = ks.iter().copied().max().unwrap_or(1);
    let spectrum = spectrum(data, k_max, base.seed)?;
    on_event(SweepEvent::Spectrum(&spectrum));
    let total = ks.len();
    let chained = strategy == SweepStrategy::WarmStart && validation.cv_folds == 0 && validation.restarts <= 1;
    let mut points: Vec<SweepPoint> = Vec::with_capacity(total);
    let plain = base.solver == super::Solver::Hals
        && base.alpha_w == 0.0
        && base.alpha_h == 0.0
        && base.sparseness_w.is_none()
        && base.sparseness_h.is_none();
    let sketch = if chained && plain { Some(Sketch::new(data, k_max + SKETCH_OVERSAMPLES, base.seed)?) } else { None };
    for (index, &k) in ks.iter().enumerate() {
        if cancelled() {
            return Ok(Sweep { spectrum, points, cancelled: true });
        }
        let params = Params { k, ..base.clone() };
        let started = Instant::now();
        let mut nmf = match (points.last(), &sketch) {
            (prev, Some(sk)) => {
                let (mut w, mut ht) = match prev {
                    Some(prev) => {
                        let order = metrics::order_by_importance(prev.w.view(), prev.h.view());
                        sk.grow(&prev.w, &linalg::transpose_owned(prev.h.view()), k, &order)?
                    }
                    None => {
                        // (The sweep's own sketch iterations follow.)
                        let p = params.clone().sketch_warmup_iter(0);
                        let (w, h) = Nmf::new(Arc::clone(data), p)?.into_factors();
                        (w, linalg::transpose_owned(h.view()))
                    }
                };
                sk.iterate(&mut w, &mut ht, SKETCH_ITERS);
                let p = Params { max_iter: params.max_iter.min(EXACT_CHUNK), ..params.clone() };
                Nmf::warm_start(Arc::clone(data), p, w, linalg::transpose_owned(ht.view()))?
            }
            (Some(prev), None) if chained => {
                Nmf::warm_start(Arc::clone(data), params.clone(), prev.w.clone(), prev.h.clone())?
            }
            _ => Nmf::new(Arc::clone(data), params.clone())?,
        };
        let pre_secs = started.elapsed().as_secs_f64() - nmf.secs();
        let stop_reason = loop {
            let reason = nmf.run(cancel, |f| {
                on_event(SweepEvent::Step {
                    index,
                    total,
                    k,
                    iteration: f.iteration(),
                    rel_err: f.rel_err(),
                    phase: Phase::Fit,
                });
            });
            // After the sketch: the exact iterations go on by chunks while
            // they still lower rel_err (see `EXACT_STALL`).
            let done = nmf.iteration();
            if sketch.is_none() || reason != StopReason::MaxIter || done >= params.max_iter {
                break reason;
            }
            let h = nmf.history();
            let fall = h.get(h.len().saturating_sub(1 + EXACT_STALL.0)).map_or(0.0, |r| r.rel_err) - nmf.rel_err();
            if fall < EXACT_STALL.1 {
                break StopReason::Tol;
            }
            nmf.continue_run(&Params { max_iter: EXACT_CHUNK.min(params.max_iter - done), ..params.clone() }, true)?;
        };
        if stop_reason == StopReason::Cancelled {
            return Ok(Sweep { spectrum, points, cancelled: true });
        }
        let mut total_secs = nmf.secs();
        // Restarts from random factors, for the stability of the parts.
        let mut others = Vec::new();
        for restart in 1..validation.restarts {
            let p = Params { init: Init::Random, seed: base.seed.wrapping_add(restart as u64), ..params.clone() };
            let mut fit = Nmf::new(Arc::clone(data), p)?;
            let phase = Phase::Restart { restart, restarts: validation.restarts };
            let reason = fit.run(cancel, |f| {
                on_event(SweepEvent::Step { index, total, k, iteration: f.iteration(), rel_err: f.rel_err(), phase });
            });
            if reason == StopReason::Cancelled {
                return Ok(Sweep { spectrum, points, cancelled: true });
            }
            total_secs += fit.secs();
            others.push(fit.into_factors().0);
        }
        // Masked fits, each scored on the entries its fold hid.
        let mut fold_errs = Vec::with_capacity(masks.len());
        for (fold, mask) in masks.iter().enumerate() {
            let mut fit = Nmf::new_masked(Arc::clone(data), params.clone(), Arc::clone(mask))?;
            let phase = Phase::Fold { fold, folds };
            let reason = fit.run(cancel, |f| {
                on_event(SweepEvent::Step { index, total, k, iteration: f.iteration(), rel_err: f.rel_err(), phase });
            });
            if reason == StopReason::Cancelled {
                return Ok(Sweep { spectrum, points, cancelled: true });
            }
            total_secs += fit.secs();
            fold_errs.push(fit.heldout_rel_err().unwrap_or(f64::NAN));
        }
        // Bi-cross-validation folds: a plain fit of A without the block,
        // then the block predicted from it.
        for (fold, block) in blocks.iter().enumerate() {
            let started = Instant::now();
            let mut fit = Nmf::new(block.train(data)?, params.clone())?;
            let phase = Phase::Fold { fold, folds };
            let reason = fit.run(cancel, |f| {
                on_event(SweepEvent::Step { index, total, k, iteration: f.iteration(), rel_err: f.rel_err(), phase });
            });
            if reason == StopReason::Cancelled {
                return Ok(Sweep { spectrum, points, cancelled: true });
            }
            let (w, h) = fit.into_factors();
            fold_errs.push(block.score(data, w.view(), h.view())?);
            total_secs += started.elapsed().as_secs_f64();
        }
        let rel_err = nmf.exact_rel_err();
        let (fit_secs, iterations) = (pre_secs + nmf.secs(), nmf.iteration());
        let history = nmf.history().to_vec();
        let (w, h) = nmf.into_factors();
        let point = SweepPoint {
            k,
            rel_err,
            svd_rel_err: spectrum.svd_rel_err(k),
            explained_variance: spectrum.explained_variance(k),
            sparseness_w: metrics::mean_sparseness(w.view()),
            fit_secs,
            iterations,
            sketch_iterations: if sketch.is_some() { SKETCH_ITERS } else { 0 },
            stop_reason,
            stability: (validation.restarts > 1).then(|| {
                let mut ws = vec![w.view()];
                ws.extend(others.iter().map(|o| o.view()));
                metrics::stability(&ws)
            }),
            cv: (!fold_errs.is_empty()).then(|| CvScore::new(fold_errs)),
            total_secs,
            w,
            h,
            history,
        };
        on_event(SweepEvent::Point { index, total, point: &point });
        points.push(point);
    }
    Ok(Sweep { spectrum, points, cancelled: false })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_specs_parse() {
        let p = |spec: &str, step: usize| parse_ranks(spec, step, 400);
        assert_eq!(p("2,4,8", 1), Ok(vec![2, 4, 8]));
        assert_eq!(p(" 8, 2,4,2, ", 3), Ok(vec![2, 4, 8]));
        assert_eq!(p("2..10", 4), Ok(vec![2, 6, 10]));
        assert_eq!(p("2..7", 2), Ok(vec![2, 4, 6]));
        assert_eq!(p("2..=5", 1), Ok(vec![2, 3, 4, 5]));
        assert_eq!(p("3..3", 1), Ok(vec![3]));
        assert_eq!(p("400", 1), Ok(vec![400]));
        for (spec, step, needle) in [
            ("0,2", 1, "k = 0 is invalid"),
            ("2,-1", 1, "k = -1 is invalid"),
            ("-3", 1, "k = -3"),
            ("2,x", 1, "\"x\""),
            ("2,four", 1, "\"four\""),
            ("", 1, "no ranks given"),
            (" , ", 1, "no ranks given"),
            ("2..1", 1, "2 > 1"),
            ("9..2", 1, "empty"),
            ("2..8", 0, "step 0"),
            ("2,401", 1, "k = 401 is too large"),
            ("2..401", 1, "k = 401"),
        ] {
            let e = p(spec, step).expect_err(spec).to_string();
            assert!(e.contains(needle), "{spec}: {e}");
        }
    }

    #[test]
    fn huge_ranges_are_refused_before_they_are_expanded() {
        // Once "memory allocation of 799999999984 bytes failed".
        let e = parse_ranks("2..99999999999", 1, 400).expect_err("too large");
        assert_eq!(e, RankSpecError::TooLarge { value: "99999999999".into(), max_k: 400 });
        let msg = e.to_string();
        assert!(msg.contains("99999999999") && msg.contains("400"), "{msg}");
        let e = parse_ranks("1..18446744073709551616", 1, 400).expect_err("beyond usize");
        assert!(e.to_string().contains("18446744073709551616"), "{e}");
        // A huge range that fits the limit is not expanded until asked.
        let spec = RankSpec::parse("1..18446744073709551615", 1).expect("parses");
        assert_eq!(spec.max_typed(), usize::MAX);
        assert!(spec.ranks(400).is_err());
    }

    #[test]
    fn a_step_that_misses_the_bound_is_reported() {
        let spec = RankSpec::parse("2..64", 4).expect("parses");
        assert_eq!(spec.stops_short(), Some((62, 64)));
        assert_eq!(spec.ranks(400).expect("ranks").last(), Some(&62));
        assert_eq!(RankSpec::parse("2..10", 4).expect("parses").stops_short(), None);
        assert_eq!(RankSpec::parse("2,64", 4).expect("parses").stops_short(), None);
        assert!(!RankSpec::parse("2,64", 4).expect("parses").is_range());
    }

    #[test]
    fn eckart_young_from_singular_values() {
        let s = Spectrum { singular_values: vec![3.0, 2.0, 1.0], norm_sq: 14.0, exact: true, secs: 0.0 };
        assert!((s.svd_rel_err(0) - 1.0).abs() < 1e-12);
        assert!((s.svd_rel_err(1) - (5.0f64 / 14.0).sqrt()).abs() < 1e-12);
        assert_eq!(s.svd_rel_err(3), 0.0);
        assert!((s.explained_variance(2) - 13.0 / 14.0).abs() < 1e-12);
    }
}
