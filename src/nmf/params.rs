//! Solver parameters: a builder checked against the data before any work.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::NmfError;

/// The update rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Solver {
    /// Hierarchical alternating least squares (coordinate descent on whole
    /// columns), accelerated as in Gillis & Glineur 2012. Frobenius loss.
    #[default]
    Hals,
    /// Lee & Seung's multiplicative updates for the Frobenius loss.
    Mu,
    /// Lee & Seung's multiplicative updates for the (generalised)
    /// Kullback–Leibler divergence, the loss of their 1999 face experiment.
    Kl,
}

impl Solver {
    /// Every solver, in the order the UI lists them.
    pub const ALL: [Solver; 3] = [Solver::Hals, Solver::Mu, Solver::Kl];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Solver::Hals => "hals",
            Solver::Mu => "mu",
            Solver::Kl => "kl",
        }
    }

    /// One line on what the solver does, for tooltips and help.
    pub fn description(self) -> &'static str {
        match self {
            Solver::Hals => {
                "Hierarchical ALS: updates one part at a time exactly (least squares, clipped at 0). Fast; the default."
            }
            Solver::Mu => {
                "Lee & Seung's multiplicative updates for squared error: simple, never negative, but slow to converge."
            }
            Solver::Kl => {
                "Lee & Seung's multiplicative updates for the KL divergence, the loss of their 1999 faces experiment."
            }
        }
    }

    /// The name of the loss this solver minimises.
    pub fn loss_name(self) -> &'static str {
        match self {
            Solver::Hals | Solver::Mu => "squared error",
            Solver::Kl => "KL divergence",
        }
    }
}

/// How W and H start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Init {
    /// By solver ([`Init::resolve`]): nndsvd for hals, nndsvda for mu and
    /// kl (scikit-learn's `init=None` is nndsvda for both its solvers).
    #[default]
    Auto,
    /// NNDSVD with zeros filled by the mean of A (scikit-learn's default for
    /// dense data; what multiplicative updates need).
    Nndsvda,
    /// Nonnegative double SVD (Boutsidis & Gallopoulos 2008): sparse start.
    Nndsvd,
    /// NNDSVD with zeros filled by small random values.
    Nndsvdar,
    /// Scaled absolute Gaussian noise: √(mean(A)/k)·|N(0, 1)|.
    Random,
}

impl Init {
    /// Every initialisation, in the order the UI lists them.
    pub const ALL: [Init; 5] = [Init::Auto, Init::Nndsvda, Init::Nndsvd, Init::Nndsvdar, Init::Random];

    /// The initialisation `solver` starts from: [`Init::Auto`] is nndsvd
    /// for hals, nndsvda for mu and kl; the others are themselves.
    ///
    /// HALS moves zeros freely, and the mean that nndsvda puts in place of
    /// NNDSVD's zeros is a haze it must first clear: from nndsvd it reaches
    /// scikit-learn cd's error in fewer iterations (seeds 0–4: ORL at
    /// k = 49, 27–34 against 31–38; at k = 16, 11–16 against 15–18; 13,000
    /// faces at k = 49, 9 against 10–11; 2,000 faces of 32×32 at k = 21, the
    /// same), and ends at the same error (ORL k = 49 after 300 iterations:
    /// 0.15444 against 0.15443). A multiplicative update never moves a zero,
    /// so mu and kl need nndsvda's filled start.
    pub fn resolve(self, solver: Solver) -> Init {
        match (self, solver) {
            (Init::Auto, Solver::Hals) => Init::Nndsvd,
            (Init::Auto, Solver::Mu | Solver::Kl) => Init::Nndsvda,
            (init, _) => init,
        }
    }

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Init::Auto => "auto",
            Init::Nndsvda => "nndsvda",
            Init::Nndsvd => "nndsvd",
            Init::Nndsvdar => "nndsvdar",
            Init::Random => "random",
        }
    }

    /// One line on what the initialisation does, for tooltips and help.
    pub fn description(self) -> &'static str {
        match self {
            Init::Auto => "nndsvd for hals, nndsvda for mu and kl (they cannot move a zero). Default.",
            Init::Nndsvda => "Start from the SVD's parts made non-negative; zeros filled with the mean pixel.",
            Init::Nndsvd => "Start from the SVD's parts made non-negative, keeping their zeros (sparse start).",
            Init::Nndsvdar => "Like nndsvd, with zeros filled by small random values.",
            Init::Random => "Start from random noise (scaled to the data): parts emerge from nothing.",
        }
    }
}

macro_rules! name_traits {
    ($t:ty, $err:ident) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl FromStr for $t {
            type Err = NmfError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let wanted = s.trim().to_ascii_lowercase();
                Self::ALL.into_iter().find(|v| v.name() == wanted).ok_or_else(|| NmfError::$err(s.to_string()))
            }
        }
    };
}
name_traits!(Solver, UnknownSolver);

/// "hals, mu, kl": the names of `all`, for messages.
pub(super) fn name_list<T: fmt::Display>(all: &[T]) -> String {
    all.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}
name_traits!(Init, UnknownInit);

/// Why a fit stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The objective's relative decrease over the last 10 iterations fell
    /// below `tol`.
    Tol,
    /// `max_iter` iterations were run.
    MaxIter,
    /// The relative error reached `target_rel_err`.
    Target,
    /// The time limit was reached.
    Time,
    /// Somebody asked it to stop.
    Cancelled,
}

impl StopReason {
    /// The name used in JSON reports.
    pub fn name(self) -> &'static str {
        match self {
            StopReason::Tol => "tol",
            StopReason::MaxIter => "max_iter",
            StopReason::Target => "target",
            StopReason::Time => "time",
            StopReason::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything that defines a fit. Build with [`Params::new`] and the
/// builder methods; [`Params::check`] validates it against the data's shape.
///
/// Penalties follow scikit-learn's meaning: with ρ = `l1_ratio`, the
/// objective is
///
/// ½‖A − WH‖² + n·α_W·(ρ‖W‖₁ + ½(1−ρ)‖W‖²) + m·α_H·(ρ‖H‖₁ + ½(1−ρ)‖H‖²)
///
/// for A with m pixels and n faces: each factor's penalty is scaled by the
/// size of the other side of A, so its strength does not depend on the data's
/// size. (scikit-learn factors Aᵀ, so its `alpha_W` is our `alpha_h`.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Params {
    /// Number of parts (the rank of the factorisation).
    pub k: usize,
    pub solver: Solver,
    pub init: Init,
    /// Iterations at most (one iteration updates W, then H).
    pub max_iter: usize,
    /// Stop when, over the last 10 iterations, the objective decreased by
    /// less than `tol` times its value 10 iterations before (checked every
    /// 10 iterations). 0 disables it. (Relative to the recent objective,
    /// not the starting one: nndsvda starts far off — a relative error of
    /// ~8 on ORL at k = 49, as in scikit-learn — and would make any
    /// start-relative rule stop almost at once.)
    pub tol: f64,
    /// Stop as soon as ‖A − WH‖_F / ‖A‖_F ≤ this.
    pub target_rel_err: Option<f64>,
    /// Stop after this many seconds (initialisation included).
    pub time_limit_secs: Option<f64>,
    /// Seed of every random draw (randomized SVD, random inits).
    pub seed: u64,
    /// Penalty strength on W (the basis images).
    pub alpha_w: f32,
    /// Penalty strength on H (the weights).
    pub alpha_h: f32,
    /// Share of L1 in the penalties: 0 = pure L2 (ridge), 1 = pure L1 (lasso).
    pub l1_ratio: f32,
    /// Hoyer sparseness, in [0, 1), at which every column of W (every basis
    /// image) is held after every step (see [`super::sparse`]); None: free.
    pub sparseness_w: Option<f32>,
    /// The same for every row of H (each part's weights across the faces).
    pub sparseness_h: Option<f32>,
    /// kl only: accelerated HALS iterations on the squared error run as
    /// part of the initialisation, before the first multiplicative KL
    /// update (0: start the KL updates from `init` itself). A few cheap
    /// HALS iterations reach a lower KL divergence than hundreds of Lee &
    /// Seung updates from NNDSVD; the KL updates then refine it, never
    /// increasing the divergence.
    pub kl_warmup_iter: usize,
    /// hals only (not under a sparseness constraint or a mask): start each
    /// iteration from the factors extrapolated along the last step, with
    /// restarts that keep the objective from ever rising (Ang & Gillis
    /// 2019; see [`super::Nmf::step`]). It reaches a given error in fewer
    /// iterations; false gives Gillis & Glineur's accelerated HALS alone.
    pub extrapolate: bool,
    /// hals only, from an NNDSVD init, without penalties or sparseness
    /// constraints: HALS iterations run as part of the initialisation on
    /// the sketch A ≈ Q·B that the init's randomized SVD made (rank k + 10),
    /// where they cost a small part of exact ones (13,000 faces of 64×64:
    /// a thirteenth); the exact iterations then finish the fit. (Default:
    /// [`SKETCH_WARMUP_ITER`].) Skipped
    /// where the sketch is not much cheaper than A (ORL's 400 faces at
    /// k = 49); see [`super::Nmf::sketch_warmup_iters`]. 0: none.
    pub sketch_warmup_iter: usize,
}

/// The one set of defaults: the engine's, the command line's and the app's
/// settings. k = 25 leaves room for the built-in faces' 21 true parts; tol
/// and max_iter follow scikit-learn's meaning (its tol is 1e-4 too).
impl Default for Params {
    fn default() -> Self {
        Params {
            k: 25,
            solver: Solver::Hals,
            init: Init::Auto,
            max_iter: 500,
            tol: 1e-4,
            target_rel_err: None,
            time_limit_secs: None,
            seed: 0,
            alpha_w: 0.0,
            alpha_h: 0.0,
            l1_ratio: 0.0,
            sparseness_w: None,
            sparseness_h: None,
            kl_warmup_iter: KL_WARMUP_ITER,
            extrapolate: true,
            sketch_warmup_iter: SKETCH_WARMUP_ITER,
        }
    }
}

/// The default [`Params::sketch_warmup_iter`]: none. Where it pays depends
/// on the faces, not only on the shapes: on 13,000 generated faces of 64×64
/// at k = 49, 10 iterations on the sketch took scikit-learn's 100-iteration
/// error from 11 exact iterations to 7 (30: to 4); on 2,000 of 32×32 at
/// their 21 parts, they took the 20-iteration error from 20 exact
/// iterations to 46 (at k = 30: 22, k = 40: 21), and 20 or 30 of them end
/// in another local minimum (rel_err 0.04055 after 150 iterations instead
/// of 0.04006).
pub const SKETCH_WARMUP_ITER: usize = 0;

/// The default [`Params::kl_warmup_iter`] (tuned on ORL at k = 49:
/// `facenmf bench --sklearn`).
pub const KL_WARMUP_ITER: usize = 10;

impl Params {
    /// These parameters with `other`'s stopping rules (max_iter, tol, the
    /// target and the time limit) and its warm-ups (which only the
    /// initialisation uses): equal to `other` when the two differ only in
    /// when to stop or in how a fit began — a fit made with these goes on
    /// as one made with `other` would.
    pub fn with_stopping_of(&self, other: &Params) -> Params {
        Params {
            max_iter: other.max_iter,
            tol: other.tol,
            target_rel_err: other.target_rel_err,
            time_limit_secs: other.time_limit_secs,
            kl_warmup_iter: other.kl_warmup_iter,
            sketch_warmup_iter: other.sketch_warmup_iter,
            ..self.clone()
        }
    }

    /// Defaults with `k` parts.
    pub fn new(k: usize) -> Self {
        Params { k, ..Params::default() }
    }
    pub fn solver(mut self, solver: Solver) -> Self {
        self.solver = solver;
        self
    }
    pub fn init(mut self, init: Init) -> Self {
        self.init = init;
        self
    }

    /// The initialisation this fit starts from ([`Init::resolve`]).
    pub fn resolved_init(&self) -> Init {
        self.init.resolve(self.solver)
    }
    pub fn max_iter(mut self, max_iter: usize) -> Self {
        self.max_iter = max_iter;
        self
    }
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }
    pub fn target_rel_err(mut self, target: Option<f64>) -> Self {
        self.target_rel_err = target;
        self
    }
    pub fn time_limit_secs(mut self, secs: Option<f64>) -> Self {
        self.time_limit_secs = secs;
        self
    }
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    pub fn alpha_w(mut self, alpha: f32) -> Self {
        self.alpha_w = alpha;
        self
    }
    pub fn alpha_h(mut self, alpha: f32) -> Self {
        self.alpha_h = alpha;
        self
    }
    pub fn l1_ratio(mut self, ratio: f32) -> Self {
        self.l1_ratio = ratio;
        self
    }
    pub fn sparseness_w(mut self, s: Option<f32>) -> Self {
        self.sparseness_w = s;
        self
    }
    pub fn sparseness_h(mut self, s: Option<f32>) -> Self {
        self.sparseness_h = s;
        self
    }

    pub fn kl_warmup_iter(mut self, iters: usize) -> Self {
        self.kl_warmup_iter = iters;
        self
    }
    pub fn sketch_warmup_iter(mut self, iters: usize) -> Self {
        self.sketch_warmup_iter = iters;
        self
    }
    pub fn extrapolate(mut self, on: bool) -> Self {
        self.extrapolate = on;
        self
    }

    /// Whether either factor is held at a sparseness.
    pub fn is_sparse(&self) -> bool {
        self.sparseness_w.is_some() || self.sparseness_h.is_some()
    }

    /// Checks every parameter against data with `pixels` rows and `faces`
    /// columns; the first problem found is returned, naming the value.
    pub fn check(&self, pixels: usize, faces: usize) -> Result<(), NmfError> {
        let max_k = pixels.min(faces);
        if self.k == 0 || self.k > max_k {
            return Err(NmfError::InvalidK { k: self.k, max: max_k, pixels, faces });
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(NmfError::InvalidTol(self.tol));
        }
        if self.max_iter == 0 {
            return Err(NmfError::ZeroMaxIter);
        }
        if let Some(t) = self.target_rel_err
            && !(t.is_finite() && t >= 0.0)
        {
            return Err(NmfError::InvalidTarget(t));
        }
        if let Some(t) = self.time_limit_secs
            && !(t.is_finite() && t > 0.0)
        {
            return Err(NmfError::InvalidTimeLimit(t));
        }
        for (name, v) in [("alpha_w", self.alpha_w), ("alpha_h", self.alpha_h)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(NmfError::InvalidAlpha { name, value: v });
            }
        }
        if !(self.l1_ratio.is_finite() && (0.0..=1.0).contains(&self.l1_ratio)) {
            return Err(NmfError::InvalidL1Ratio(self.l1_ratio));
        }
        for (name, s) in [("sparseness_w", self.sparseness_w), ("sparseness_h", self.sparseness_h)] {
            if let Some(value) = s {
                if !(value.is_finite() && (0.0..1.0).contains(&value)) {
                    return Err(NmfError::InvalidSparseness { name, value });
                }
                if self.solver != Solver::Hals {
                    return Err(NmfError::SparsenessNeedsHals { name, solver: self.solver });
                }
            }
        }
        Ok(())
    }

    /// The (L1, L2) penalty weights on W and on H for data of this shape.
    pub(crate) fn penalties(&self, pixels: usize, faces: usize) -> (Penalty, Penalty) {
        let w = Penalty::new(self.alpha_w * faces as f32, self.l1_ratio);
        let h = Penalty::new(self.alpha_h * pixels as f32, self.l1_ratio);
        (w, h)
    }
}

/// L1 and L2 weights of one factor's penalty.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Penalty {
    pub l1: f32,
    pub l2: f32,
}

impl Penalty {
    fn new(scaled_alpha: f32, l1_ratio: f32) -> Self {
        Penalty { l1: scaled_alpha * l1_ratio, l2: scaled_alpha * (1.0 - l1_ratio) }
    }

    pub fn is_zero(&self) -> bool {
        self.l1 == 0.0 && self.l2 == 0.0
    }
}
