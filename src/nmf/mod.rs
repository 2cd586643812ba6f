//! NMF solvers, initialisations, losses and SVD/PCA. Pure ndarray + rayon:
//! no I/O, no GUI.
//!
//! A (m pixels × n faces, non-negative) is factored as A ≈ W·H with W ≥ 0
//! (m × k, the basis images) and H ≥ 0 (k × n, the weights). The solver is
//! step-wise: build an [`Nmf`] (which runs the initialisation), then call
//! [`Nmf::step`] — or [`Nmf::run`] — and read W, H, the objective and the
//! relative error at any time. The CLI and the GUI's worker drive the same
//! code.
//!
//! ```
//! use std::sync::Arc;
//! use facenmf::nmf::{FaceMatrix, Nmf, Params, Solver};
//! let a = ndarray::Array2::from_shape_fn((40, 30), |(i, j)| ((i * j) % 7) as f32 / 7.0);
//! let data = Arc::new(FaceMatrix::new(a).unwrap());
//! let mut fit = Nmf::new(data, Params::new(4).solver(Solver::Hals).max_iter(50)).unwrap();
//! let reason = fit.run(None, |_| {});
//! assert!(fit.rel_err() < 0.5, "{reason}");
//! ```

pub mod bicross;
pub mod compress;
pub mod init;
pub mod linalg;
pub mod mask;
pub mod metrics;
pub mod occlusion;
mod params;
pub mod race;
pub mod sparse;
pub mod svd;
pub mod sweep;
pub(crate) mod update;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use ndarray::{Array2, ArrayView2, Axis, s};
use serde::{Deserialize, Serialize};

use params::Penalty;
pub use params::{Init, Params, Solver, StopReason};

use linalg::{dot2, gram, par_matmul, residual_sq, sum_sq, transpose_owned};

/// Everything that can go wrong in this module.
#[derive(Debug, thiserror::Error)]
pub enum NmfError {
    /// k is 0, or above min(pixels, faces) = `max`.
    #[error("{}", invalid_k(*.k, *.max, *.pixels, *.faces))]
    InvalidK { k: usize, max: usize, pixels: usize, faces: usize },
    #[error("tol = {0} is invalid: it must be a finite number ≥ 0")]
    InvalidTol(f64),
    #[error("max_iter = 0 is invalid: at least one iteration is needed")]
    ZeroMaxIter,
    #[error("target relative error {0} is invalid: it must be a finite number ≥ 0")]
    InvalidTarget(f64),
    #[error("time limit {0} s is invalid: it must be a finite number of seconds > 0")]
    InvalidTimeLimit(f64),
    #[error("{name} = {value} is invalid: penalties must be finite and ≥ 0")]
    InvalidAlpha { name: &'static str, value: f32 },
    #[error("l1_ratio = {0} is invalid: it must be between 0 and 1")]
    InvalidL1Ratio(f32),
    #[error("{name} = {value} is invalid: a sparseness must be at least 0 and below 1")]
    InvalidSparseness { name: &'static str, value: f32 },
    #[error("{name} needs the hals solver (the {solver} solver has no sparseness constraint)")]
    SparsenessNeedsHals { name: &'static str, solver: Solver },
    #[error("unknown solver '{0}': expected one of {names}", names = params::name_list(&Solver::ALL))]
    UnknownSolver(String),
    #[error("unknown init '{0}': expected one of {names}", names = params::name_list(&Init::ALL))]
    UnknownInit(String),
    #[error("the data matrix is empty ({rows} × {cols})")]
    EmptyData { rows: usize, cols: usize },
    #[error("the data matrix has an invalid entry {value} at pixel {row}, face {col}: NMF needs finite values ≥ 0")]
    InvalidEntry { row: usize, col: usize, value: f32 },
    #[error("the data matrix is all zeros: there is nothing to factor")]
    ZeroData,
    #[error("{what} has shape {got:?}, expected {expected:?}")]
    Shape { what: &'static str, got: (usize, usize), expected: (usize, usize) },
    #[error("{what} has an invalid entry {value}: factors must be finite and ≥ 0")]
    InvalidFactor { what: &'static str, value: f32 },
    #[error("numerical failure: {0}")]
    Numerical(String),
    /// A mask or a cross-validation design that cannot be used.
    #[error("{0}")]
    Mask(String),
    #[error("masked fits need a squared-error solver (hals or mu), not {0}")]
    MaskNeedsSquaredLoss(Solver),
    #[error("a fit continues with other stopping rules only; other settings need a warm start or a new fit")]
    NotContinuable,
}

/// The message of [`NmfError::InvalidK`]: k = 0 is wrong whatever the data,
/// so its message names no shape (callers check it before they know one).
fn invalid_k(k: usize, max: usize, pixels: usize, faces: usize) -> String {
    if k == 0 {
        "k = 0 is invalid: k must be at least 1".to_string()
    } else {
        format!(
            "k = {k} is out of range: it must be between 1 and min(pixels, faces) = {max} ({}, {})",
            crate::dataset::count_of(pixels, "pixel"),
            crate::dataset::count_of(faces, "face")
        )
    }
}

/// The data matrix A (m × n) and what the solvers precompute from it,
/// shared (through an `Arc`) by every fit on the same faces.
#[derive(Debug, Clone)]
pub struct FaceMatrix {
    a: Array2<f32>,
    /// A row-major copy of Aᵀ, when kept ([`FaceMatrix::new_lean`]).
    at: Option<Array2<f32>>,
    norm_sq: f64,
}

/// The largest A whose transpose [`FaceMatrix::new_lean`] keeps: 64 MiB.
/// A stored Aᵀ makes the products with it (half of a HALS iteration's)
/// read contiguous rows: on 13,000 faces of 64×64 at k = 49, Aᵀ·W takes
/// 41 ms from a stored Aᵀ against 47–48 ms from A's transposed view, about
/// 5 % of an iteration, for 213 MB more memory (`facenmf bench --big`). ORL
/// (16.5 MB) keeps it; a large set in the app does not.
pub const LEAN_TRANSPOSE_MAX_BYTES: usize = 64 << 20;

impl FaceMatrix {
    /// Checks that `a` is non-empty, finite, non-negative and not all zero;
    /// keeps a copy of Aᵀ beside A (the fastest products, twice the memory).
    pub fn new(a: Array2<f32>) -> Result<Self, NmfError> {
        Self::with_transpose(a, true)
    }

    /// [`FaceMatrix::new`], keeping Aᵀ only when A is at most
    /// [`LEAN_TRANSPOSE_MAX_BYTES`]; above, products with Aᵀ read A in
    /// place. What the app uses: a large face set costs its size once.
    pub fn new_lean(a: Array2<f32>) -> Result<Self, NmfError> {
        let keep = a.len().saturating_mul(std::mem::size_of::<f32>()) <= LEAN_TRANSPOSE_MAX_BYTES;
        Self::with_transpose(a, keep)
    }

    /// The checks of [`FaceMatrix::new`], with Aᵀ kept or not.
    pub fn with_transpose(a: Array2<f32>, keep_transpose: bool) -> Result<Self, NmfError> {
        let (rows, cols) = a.dim();
        if rows == 0 || cols == 0 {
            return Err(NmfError::EmptyData { rows, cols });
        }
        if let Some(((row, col), &value)) = a.indexed_iter().find(|(_, v)| !(v.is_finite() && **v >= 0.0)) {
            return Err(NmfError::InvalidEntry { row, col, value });
        }
        // Kept as it is when already row-major (`as_standard_layout` of a
        // standard array borrows it, and `into_owned` would copy it).
        let a = if a.is_standard_layout() { a } else { a.as_standard_layout().into_owned() };
        let norm_sq = sum_sq(a.view());
        if norm_sq == 0.0 {
            return Err(NmfError::ZeroData);
        }
        let at = keep_transpose.then(|| transpose_owned(a.view()));
        Ok(FaceMatrix { a, at, norm_sq })
    }

    /// A (pixels × faces).
    pub fn a(&self) -> ArrayView2<'_, f32> {
        self.a.view()
    }

    /// Aᵀ (faces × pixels): the stored copy, or A's transposed view.
    pub fn at(&self) -> ArrayView2<'_, f32> {
        match &self.at {
            Some(at) => at.view(),
            None => self.a.t(),
        }
    }

    /// Whether Aᵀ is stored (rows of [`FaceMatrix::at`] contiguous).
    pub fn stores_transpose(&self) -> bool {
        self.at.is_some()
    }

    /// Face `j` (column j of A) into `out` (length m).
    pub fn face_into(&self, j: usize, out: &mut [f32]) {
        // A row of Aᵀ: contiguous when stored, A's strided column if not.
        for (o, &v) in out.iter_mut().zip(self.at().row(j)) {
            *o = v;
        }
    }

    /// ‖A‖²_F.
    pub fn norm_sq(&self) -> f64 {
        self.norm_sq
    }

    pub fn pixels(&self) -> usize {
        self.a.nrows()
    }

    pub fn faces(&self) -> usize {
        self.a.ncols()
    }

    /// ‖A − W·H‖_F / ‖A‖_F computed exactly (W: m × k, H: k × n).
    pub fn rel_err(&self, w: ArrayView2<f32>, h: ArrayView2<f32>) -> f64 {
        (residual_sq(self.a(), w, h.t()) / self.norm_sq).sqrt()
    }
}

/// One row of a fit's history.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// 0 is the initialisation.
    pub iteration: usize,
    /// The solver's objective (with penalties).
    pub objective: f64,
    /// ‖A − WH‖_F / ‖A‖_F.
    pub rel_err: f64,
    /// Seconds of work since the fit started, initialisation included.
    pub secs: f64,
}

/// A copy of a fit's state, cheap enough to send ten times a second.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// m × k basis images.
    pub w: Array2<f32>,
    /// k × n weights.
    pub h: Array2<f32>,
    pub iteration: usize,
    pub objective: f64,
    pub rel_err: f64,
    /// Seconds of work since the fit started, initialisation included.
    pub secs: f64,
}

/// Below this share of ‖A‖², the squared residual of hals and mu is
/// computed directly from A instead of from the solver's products (see
/// [`Nmf::step`]): 1e-3 of ‖A‖² is a relative error below 3.2 %, and about
/// 10⁴ times the products' rounding error.
const SHORTCUT_MIN_RESIDUAL: f64 = 1e-3;

/// The rounding error of the objective computed from the products, as a
/// share of ‖A‖² (above). An extrapolated iteration is kept only when it
/// lowers the objective by more than this; one whose change is within it
/// may have raised the true objective, so it is made again plainly, and
/// from then on the fit's iterations are plain: its gains are down to the
/// noise, where extrapolation cannot be told to help. (Tried instead:
/// redoing such iterations and going on extrapolating made every late
/// iteration at 13,000 faces a restart, twice the work.)
const OBJECTIVE_ROUNDING: f64 = 1e-7;

/// β of the first extrapolated iteration (Ang & Gillis's β₀).
pub const EXTRAPOLATION_START: f32 = 0.5;
/// β is divided by this when an extrapolated iteration fails (their η).
pub const EXTRAPOLATION_SHRINK: f32 = 1.5;
/// β is multiplied by this after a success (their γ) ...
pub const EXTRAPOLATION_GROW: f32 = 1.05;
/// ... up to a bound multiplied by this after a success (their γ̄), at most 1.
pub const EXTRAPOLATION_GROW_BOUND: f32 = 1.01;

/// The state of [`Nmf::extrapolated_step`].
#[derive(Debug, Clone)]
struct Extrapolation {
    beta: f32,
    beta_max: f32,
    /// Iterations undone so far (an extrapolated iteration that raised the
    /// objective).
    restarts: usize,
    /// The gains came down to the objective's rounding: plain iterations
    /// from now on.
    settled: bool,
    /// The last W update's W, before it was extrapolated (m × k).
    w: Array2<f32>,
    /// Buffers (m × k) of an extrapolated iteration: the W it started from,
    /// and its W update's W before extrapolation.
    w_saved: Array2<f32>,
    w_new: Array2<f32>,
    /// The last H update's Hᵀ (n × k) and its extrapolation, the next W
    /// update's Hᵀ.
    ht: Array2<f32>,
    ht_hat: Array2<f32>,
}

impl Extrapolation {
    fn new(w: Array2<f32>, ht: Array2<f32>) -> Self {
        Extrapolation {
            beta: EXTRAPOLATION_START,
            beta_max: 1.0,
            restarts: 0,
            settled: false,
            w_saved: w.clone(),
            w_new: w.clone(),
            w,
            ht_hat: ht.clone(),
            ht,
        }
    }

    fn succeeded(&mut self) {
        self.beta = (self.beta * EXTRAPOLATION_GROW).min(self.beta_max);
        self.beta_max = (self.beta_max * EXTRAPOLATION_GROW_BOUND).min(1.0);
    }

    fn failed(&mut self) {
        self.beta_max = self.beta;
        self.beta /= EXTRAPOLATION_SHRINK;
        self.restarts += 1;
    }
}

/// f ← max(0, f + β·(f − previous)), entries below [`update::FLUSH`] set to 0.
fn extrapolate(f: &mut Array2<f32>, previous: &Array2<f32>, beta: f32) {
    ndarray::Zip::from(f).and(previous).par_for_each(|v, &p| {
        let e = *v + beta * (*v - p);
        *v = if e < update::FLUSH { 0.0 } else { e };
    });
}

/// A fit in progress. See the [module docs](self).
pub struct Nmf {
    data: Arc<FaceMatrix>,
    params: Params,
    pen_w: Penalty,
    pen_h: Penalty,
    /// ‖·‖₁/‖·‖₂ every column of W (of Hᵀ) is held at, when constrained.
    ratio_w: Option<f64>,
    ratio_h: Option<f64>,
    /// The last projection thresholds of the columns of W and of Hᵀ: the
    /// next projections' first guesses (they change only the work done).
    alphas: (Vec<f64>, Vec<f64>),
    /// m × k.
    w: Array2<f32>,
    /// n × k (H transposed, so both factors update row by row).
    ht: Array2<f32>,
    /// htᵀ·ht for the current ht.
    gram_ht: Array2<f32>,
    /// KL only: A / (W·Hᵀᵀ) (m × n) for the current factors (the ratio of
    /// the next W update, made by the pass that computed the loss), and a
    /// scratch n × m buffer.
    kl_approx: Option<(Array2<f32>, Array2<f32>)>,
    /// Extrapolating fits only, after their first iteration
    /// ([`Nmf::extrapolated_step`]).
    extrapolation: Option<Extrapolation>,
    /// HALS iterations the init ran on its sketch of A.
    sketch_warmup: usize,
    /// HALS's products, A·Hᵀ (m × k) and Aᵀ·W (n × k), in buffers kept from
    /// one iteration to the next (0 × 0 until first used): a fit allocates
    /// nothing of the size of a factor per iteration.
    p_w: Array2<f32>,
    p_h: Array2<f32>,
    /// `p_w` holds A·Hᵀ for the factors as initialised (computed for the
    /// init's exact error): the first W update uses it. Cleared by the
    /// first iteration, so it can never be stale.
    p_w_fresh: bool,
    /// Masked fits only: A with its hidden entries holding the current W·H
    /// ([`mask`]).
    filled: Option<mask::Filled>,
    iteration: usize,
    objective: f64,
    rel_err: f64,
    history: Vec<Record>,
    init_secs: f64,
    step_secs: f64,
    inner_sweeps: (f64, f64),
    /// Where the stopping rules count from: (iteration, seconds) when the
    /// fit began or was last continued past a rule ([`Nmf::continue_run`]).
    run_start: (usize, f64),
}

impl Nmf {
    /// Checks `params` against the data and runs the initialisation: the
    /// init, then kl's HALS warm-up ([`Params::kl_warmup_iter`]) or hals's
    /// iterations on the init's sketch of A ([`Nmf::sketch_warmup_iters`]).
    /// The first record (iteration 0) has the exact error of the result.
    pub fn new(data: Arc<FaceMatrix>, params: Params) -> Result<Self, NmfError> {
        params.check(data.pixels(), data.faces())?;
        let started = Instant::now();
        let warmup = Self::sketch_warmup_iters(&params, data.pixels(), data.faces());
        let (mut w, mut ht, sketch) =
            init::initialize_sketched(data.a(), data.at(), params.k, params.resolved_init(), params.seed, warmup > 0)?;
        hold_sparseness(&params, &mut w, &mut ht, true);
        hold_sparseness(&params, &mut w, &mut ht, false);
        if params.solver == Solver::Kl {
            kl_warmup(&data, params.kl_warmup_iter, &mut w, &mut ht);
        }
        let warmup = match sketch {
            Some(sketch) => {
                sketch.iterate(&mut w, &mut ht, warmup);
                warmup
            }
            None => 0,
        };
        let mut fit = Self::from_parts(data, params, w, ht, started, None)?;
        fit.sketch_warmup = warmup;
        Ok(fit)
    }

    /// HALS iterations on the init's sketch of A that [`Nmf::new`] runs
    /// ([`Params::sketch_warmup_iter`]): only for plain HALS from an NNDSVD
    /// init, and where the sketch is much cheaper than A
    /// ([`compress::Sketch::pays`]); 0 otherwise.
    pub fn sketch_warmup_iters(params: &Params, pixels: usize, faces: usize) -> usize {
        let plain = params.solver == Solver::Hals
            && params.init != Init::Random
            && params.alpha_w == 0.0
            && params.alpha_h == 0.0
            && !params.is_sparse();
        let l = (params.k + svd::OVERSAMPLES).min(pixels.min(faces));
        if plain && compress::Sketch::pays(pixels, faces, l) { params.sketch_warmup_iter } else { 0 }
    }

    /// A fit that never sees the entries of A that `mask` hides (see
    /// [`mask`]): it minimises ½‖M ⊙ (A − WH)‖² over the observed entries,
    /// with hals or mu. Its `rel_err` is over the observed entries;
    /// [`Nmf::heldout_rel_err`] scores the hidden ones.
    pub fn new_masked(data: Arc<FaceMatrix>, params: Params, mask: Arc<mask::Mask>) -> Result<Self, NmfError> {
        params.check(data.pixels(), data.faces())?;
        if params.solver == Solver::Kl {
            return Err(NmfError::MaskNeedsSquaredLoss(params.solver));
        }
        let started = Instant::now();
        let filled = mask::Filled::start(data.a(), mask)?;
        let (mut w, mut ht) =
            init::initialize(filled.a.view(), filled.at.view(), params.k, params.resolved_init(), params.seed)?;
        hold_sparseness(&params, &mut w, &mut ht, true);
        hold_sparseness(&params, &mut w, &mut ht, false);
        Self::from_parts(data, params, w, ht, started, Some(filled))
    }

    /// Starts from given factors: `w` (m × k₀) and `h` (k₀ × n). When k₀
    /// differs from `params.k`, the weakest components are dropped, or new
    /// ones are added, fitted to what W·H leaves unexplained (NNDSVD of the
    /// positive part of the residual) — so changing k continues a fit
    /// instead of restarting it.
    pub fn warm_start(data: Arc<FaceMatrix>, params: Params, w: Array2<f32>, h: Array2<f32>) -> Result<Self, NmfError> {
        params.check(data.pixels(), data.faces())?;
        let (m, n) = (data.pixels(), data.faces());
        let k0 = w.ncols();
        if w.nrows() != m || k0 == 0 {
            return Err(NmfError::Shape { what: "W", got: w.dim(), expected: (m, params.k) });
        }
        if h.dim() != (k0, n) {
            return Err(NmfError::Shape { what: "H", got: h.dim(), expected: (k0, n) });
        }
        for (what, f) in [("W", &w), ("H", &h)] {
            if let Some(&value) = f.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
                return Err(NmfError::InvalidFactor { what, value });
            }
        }
        let started = Instant::now();
        let mut w = w.as_standard_layout().into_owned();
        let mut ht = transpose_owned(h.view());
        let k = params.k;
        if k < k0 {
            let order = metrics::order_by_importance(w.view(), h.view());
            let mut keep = order[..k].to_vec();
            keep.sort_unstable();
            w = w.select(Axis(1), &keep);
            ht = ht.select(Axis(1), &keep);
        } else if k > k0 {
            let mut residual = data.a.clone();
            residual -= &par_matmul(w.view(), ht.t());
            residual.mapv_inplace(|v| v.max(0.0));
            let extra = k - k0;
            let (wn, htn) = if sum_sq(residual.view()) > 0.0 {
                let rt = transpose_owned(residual.view());
                let init = if params.init == Init::Random { Init::Random } else { Init::Nndsvd };
                init::initialize(residual.view(), rt.view(), extra, init, params.seed.wrapping_add(k0 as u64))?
            } else {
                let fill = init::mean_of(data.a()).sqrt() * 1e-3;
                (Array2::from_elem((m, extra), fill), Array2::from_elem((n, extra), fill))
            };
            w = ndarray::concatenate(Axis(1), &[w.view(), wn.view()])
                .map_err(|e| NmfError::Numerical(e.to_string()))?;
            ht = ndarray::concatenate(Axis(1), &[ht.view(), htn.view()])
                .map_err(|e| NmfError::Numerical(e.to_string()))?;
            w = w.as_standard_layout().into_owned();
            ht = ht.as_standard_layout().into_owned();
            // The new components start with zero weight (so the error is
            // exactly the old one) ...
            ht.slice_mut(s![.., k0..]).fill(0.0);
        }
        // (Under a sparseness constraint, basis images not at it — new ones,
        // or those of a free fit being constrained — are first replaced by
        // their best multiples at that sparseness.)
        hold_sparseness(&params, &mut w, &mut ht, true);
        if k != k0 {
            // ... and every face's weights are refit to the new basis by
            // coordinate descent, which can only lower the error.
            let q = gram(w.view());
            let p = par_matmul(data.at(), w.view());
            update::hals_with_products(p.view(), q.view(), &mut ht, Penalty::default(), 25, 0.01);
        }
        hold_sparseness(&params, &mut w, &mut ht, false);
        Self::from_parts(data, params, w, ht, started, None)
    }

    /// Takes over a fit made elsewhere exactly as it stopped: `w` (m × k)
    /// and `h` (k × n) with `params.k` = k, and that fit's `history` (its
    /// iteration count and seconds go on from there). Stepping it again
    /// continues that fit; the first record of `history` must be its
    /// initialisation.
    pub fn resume(
        data: Arc<FaceMatrix>,
        params: Params,
        w: Array2<f32>,
        h: Array2<f32>,
        history: Vec<Record>,
    ) -> Result<Self, NmfError> {
        if w.ncols() != params.k {
            return Err(NmfError::Shape { what: "W", got: w.dim(), expected: (data.pixels(), params.k) });
        }
        let mut fit = Self::warm_start(data, params, w, h)?;
        if let (Some(first), Some(last)) = (history.first(), history.last()) {
            fit.iteration = last.iteration;
            fit.init_secs = first.secs;
            fit.step_secs = (last.secs - first.secs).max(0.0);
            fit.history = history;
            // The loss of the factors as installed (exact on A) ends it.
            if let Some(r) = fit.history.last_mut() {
                r.objective = fit.objective;
                r.rel_err = fit.rel_err;
            }
        }
        Ok(fit)
    }

    fn from_parts(
        data: Arc<FaceMatrix>,
        params: Params,
        w: Array2<f32>,
        ht: Array2<f32>,
        started: Instant,
        filled: Option<mask::Filled>,
    ) -> Result<Self, NmfError> {
        let (pen_w, pen_h) = params.penalties(data.pixels(), data.faces());
        let gram_ht = gram(ht.view());
        let ratio_w = params.sparseness_w.map(|s| sparse::ratio_for(data.pixels(), f64::from(s)));
        let ratio_h = params.sparseness_h.map(|s| sparse::ratio_for(data.faces(), f64::from(s)));
        let mut fit = Nmf {
            data,
            params,
            pen_w,
            pen_h,
            ratio_w,
            ratio_h,
            alphas: (Vec::new(), Vec::new()),
            w,
            ht,
            gram_ht,
            kl_approx: None,
            extrapolation: None,
            sketch_warmup: 0,
            p_w: Array2::zeros((0, 0)),
            p_h: Array2::zeros((0, 0)),
            p_w_fresh: false,
            filled,
            iteration: 0,
            objective: f64::NAN,
            rel_err: f64::NAN,
            history: Vec::new(),
            init_secs: 0.0,
            step_secs: 0.0,
            inner_sweeps: (0.0, 0.0),
            run_start: (0, 0.0),
        };
        if fit.params.solver == Solver::Kl {
            let mut ratio = par_matmul(fit.w.view(), fit.ht.t());
            // The H update's ratio, in Aᵀ's layout when Aᵀ is stored.
            let scratch = match fit.data.stores_transpose() {
                true => Array2::zeros((fit.data.faces(), fit.data.pixels())),
                false => Array2::zeros((0, 0)),
            };
            let (kl, sq) = update::kl_loss_and_ratio(fit.data.a(), &mut ratio);
            fit.set_loss(kl, sq);
            fit.kl_approx = Some((ratio, scratch));
        } else if let Some(f) = fit.filled.as_mut() {
            f.refill(fit.w.view(), fit.ht.view());
            // The hidden entries now hold W·H: only observed ones differ.
            let sq = residual_sq(f.a.view(), fit.w.view(), fit.ht.view());
            fit.set_loss(0.5 * sq, sq);
        } else if fit.params.solver == Solver::Hals && fit.ratio_w.is_none() {
            // ‖A − W Hᵀᵀ‖² = ‖A‖² − 2⟨A Hᵀ, W⟩ + ⟨WᵀW, HᵀᵀHᵀ⟩: the product
            // A·Hᵀ is the one the first W update needs, so it is made once
            // for both (the direct residual would cost a product and a pass
            // over m × n more).
            let p = par_matmul(fit.data.a(), fit.ht.view());
            let norm_sq = fit.data.norm_sq();
            let qw = gram(fit.w.view());
            let mut sq = norm_sq - 2.0 * dot2(p.view(), fit.w.view()) + dot2(qw.view(), fit.gram_ht.view());
            if sq < SHORTCUT_MIN_RESIDUAL * norm_sq {
                // As in every iteration: too close to A for the shortcut.
                sq = residual_sq(fit.data.a(), fit.w.view(), fit.ht.view());
            }
            fit.set_loss(0.5 * sq, sq);
            fit.p_w = p;
            fit.p_w_fresh = true;
        } else {
            let sq = residual_sq(fit.data.a(), fit.w.view(), fit.ht.view());
            fit.set_loss(0.5 * sq, sq);
        }
        fit.init_secs = started.elapsed().as_secs_f64();
        fit.push_record();
        Ok(fit)
    }

    /// Records the data-fit term plus the penalties as the objective.
    fn set_loss(&mut self, data_term: f64, residual_sq: f64) {
        let pen = |f: &Array2<f32>, p: Penalty| {
            if p.is_zero() {
                0.0
            } else {
                let l1: f64 = linalg::par_rows_sum(f.view(), |r| r.iter().map(|&v| f64::from(v)).sum());
                f64::from(p.l1) * l1 + 0.5 * f64::from(p.l2) * sum_sq(f.view())
            }
        };
        self.objective = data_term + pen(&self.w, self.pen_w) + pen(&self.ht, self.pen_h);
        let norm_sq = self.filled.as_ref().map_or(self.data.norm_sq, |f| f.observed_sq);
        self.rel_err = (residual_sq.max(0.0) / norm_sq).sqrt();
    }

    fn push_record(&mut self) {
        self.history.push(Record {
            iteration: self.iteration,
            objective: self.objective,
            rel_err: self.rel_err,
            secs: self.secs(),
        });
    }

    /// One iteration: update W, then H. For hals, from the factors
    /// extrapolated along the last step ([`Params::extrapolate`]); an
    /// extrapolated iteration that would raise the objective is undone and
    /// made again from the factors as they were, so that one call can do
    /// the work of two ([`Nmf::extrapolation_restarts`]).
    pub fn step(&mut self) {
        let started = Instant::now();
        match self.params.solver {
            Solver::Hals | Solver::Mu if self.extrapolates() => self.extrapolated_step(),
            Solver::Hals | Solver::Mu => self.squared_loss_step(),
            Solver::Kl => self.kl_step(),
        }
        self.iteration += 1;
        self.step_secs += started.elapsed().as_secs_f64();
        self.push_record();
    }

    /// Whether this fit's iterations extrapolate ([`Params::extrapolate`]):
    /// plain HALS only (penalties allowed), not under a sparseness
    /// constraint or a mask.
    fn extrapolates(&self) -> bool {
        self.params.extrapolate
            && self.params.solver == Solver::Hals
            && self.ratio_w.is_none()
            && self.ratio_h.is_none()
            && self.filled.is_none()
    }

    /// One HALS iteration from a point extrapolated along the last step
    /// (Ang & Gillis 2019, "Accelerating nonnegative matrix factorization
    /// algorithms using extrapolation"): from the current factors X and the
    /// previous ones X₋, the iteration starts at max(0, X + β·(X − X₋)).
    /// When that ends with a higher objective than X's, the step is undone,
    /// β shrinks (÷ [`EXTRAPOLATION_SHRINK`]) and a plain iteration from X is
    /// made instead, so the objective never rises; after each success β
    /// grows (× [`EXTRAPOLATION_GROW`]) up to a bound that itself grows
    /// slowly (× [`EXTRAPOLATION_GROW_BOUND`], at most 1) and falls to β at
    /// each failure. Everything is elementwise or shape-split: the result
    /// does not depend on the thread count.
    fn extrapolated_step(&mut self) {
        let Some(mut ex) = self.extrapolation.take() else {
            // The first iteration has no previous step to follow.
            self.squared_loss_step();
            self.extrapolation = Some(Extrapolation::new(self.w.clone(), self.ht.clone()));
            return;
        };
        if ex.settled {
            self.squared_loss_step();
            self.extrapolation = Some(ex);
            return;
        }
        // The factors as they are, to go back to (Hᵀ is `ex.ht` already).
        ex.w_saved.assign(&self.w);
        let saved = (self.gram_ht.clone(), self.objective, self.rel_err);
        // W given the extrapolated H, extrapolated in turn; H given that W,
        // from the extrapolated H.
        let beta = ex.beta;
        self.ht.assign(&ex.ht_hat);
        self.gram_ht = gram(self.ht.view());
        let (w_new, w_last) = (&mut ex.w_new, &ex.w);
        self.squared_loss_step_with(|w| {
            w_new.assign(w);
            extrapolate(w, w_last, beta);
        });
        let rounding = OBJECTIVE_ROUNDING * self.data.norm_sq();
        if self.objective < saved.1 - rounding {
            ex.succeeded();
            std::mem::swap(&mut ex.w, &mut ex.w_new);
            ex.ht_hat.assign(&self.ht);
            extrapolate(&mut ex.ht_hat, &ex.ht, beta);
            ex.ht.assign(&self.ht);
        } else {
            ex.failed();
            ex.settled = self.objective <= saved.1 + rounding;
            std::mem::swap(&mut self.w, &mut ex.w_saved);
            (self.gram_ht, self.objective, self.rel_err) = saved;
            self.ht.assign(&ex.ht);
            self.squared_loss_step();
            ex.w.assign(&self.w);
            ex.ht.assign(&self.ht);
            ex.ht_hat.assign(&self.ht);
        }
        self.extrapolation = Some(ex);
    }

    /// One iteration of hals or mu (squared error): W given H, then H given W.
    fn squared_loss_step(&mut self) {
        self.squared_loss_step_with(|_| {});
    }

    /// [`Nmf::squared_loss_step`], with `between` applied to W after its
    /// update and before H's.
    fn squared_loss_step_with(&mut self, between: impl FnOnce(&mut Array2<f32>)) {
        let data = Arc::clone(&self.data);
        // A masked fit steps on its filled copy of A.
        let filled = self.filled.take();
        let (a, at) = match &filled {
            Some(f) => (f.a.view(), f.at.view()),
            None => (data.a(), data.at()),
        };
        let (m, n, k) = (data.pixels(), data.faces(), self.params.k);
        let hals = self.params.solver == Solver::Hals;
        // The init's A·Hᵀ is valid only for this (the first) update.
        let p_w_fresh = std::mem::take(&mut self.p_w_fresh);
        // W given H.
        let q = std::mem::replace(&mut self.gram_ht, Array2::zeros((0, 0)));
        if let Some(ratio) = self.ratio_w {
            let r = sparse::hals(
                a,
                self.ht.view(),
                q.view(),
                &mut self.w,
                self.pen_w,
                ratio,
                sparse::max_inner(m, n, k),
                sparse::EPSILON,
                &mut self.alphas.0,
            );
            self.inner_sweeps.0 += r.sweeps;
        } else if hals {
            let max_inner = update::hals_max_inner(m, n, k);
            self.inner_sweeps.0 += update::hals_in(
                a,
                self.ht.view(),
                q.view(),
                &mut self.w,
                self.pen_w,
                max_inner,
                &mut self.p_w,
                p_w_fresh,
            );
        } else {
            update::mu(a, self.ht.view(), q.view(), &mut self.w, self.pen_w);
        }
        between(&mut self.w);
        // H given W.
        let qw = gram(self.w.view());
        // Aᵀ·W: in `p_h` for hals, returned by the other updates.
        let products = if let Some(ratio) = self.ratio_h {
            let r = sparse::hals(
                at,
                self.w.view(),
                qw.view(),
                &mut self.ht,
                self.pen_h,
                ratio,
                sparse::max_inner(n, m, k),
                sparse::EPSILON,
                &mut self.alphas.1,
            );
            self.inner_sweeps.1 += r.sweeps;
            Some(r)
        } else if hals {
            let max_inner = update::hals_max_inner(n, m, k);
            self.inner_sweeps.1 += update::hals_in(
                at,
                self.w.view(),
                qw.view(),
                &mut self.ht,
                self.pen_h,
                max_inner,
                &mut self.p_h,
                false,
            );
            None
        } else {
            Some(update::mu(at, self.w.view(), qw.view(), &mut self.ht, self.pen_h))
        };
        let p_h = products.as_ref().map_or(self.p_h.view(), |r| r.p.view());
        // ‖A − W Hᵀᵀ‖² = ‖A‖² − 2⟨Aᵀ W, Hᵀ⟩ + ⟨WᵀW, HᵀᵀHᵀ⟩, from what
        // the H update already computed.
        self.gram_ht = gram(self.ht.view());
        let norm_sq = filled.as_ref().map_or(data.norm_sq(), mask::Filled::norm_sq);
        let mut sq = norm_sq - 2.0 * dot2(p_h, self.ht.view()) + dot2(qw.view(), self.gram_ht.view());
        let mut filled = filled;
        if let Some(f) = filled.as_mut() {
            // That was ‖Ã − WH‖² with the hidden entries as they were;
            // refilled with the new W·H, they drop out.
            sq -= f.refill(self.w.view(), self.ht.view()).moved_sq;
        }
        // The terms are summed in f64, but the products come from f32
        // GEMMs, so each carries a rounding error of about 1e-7 of
        // ‖A‖². Their difference is only as good when it is far above
        // that; for a near-perfect fit (identical faces, k close to
        // the rank of A) it is noise, even negative, and a `tol` test
        // on it never fires. Then the residual is computed directly
        // from A (one more product, only for such fits).
        let observed_sq = filled.as_ref().map_or(data.norm_sq(), |f| f.observed_sq);
        if sq < SHORTCUT_MIN_RESIDUAL * observed_sq {
            let a = filled.as_ref().map_or(data.a(), |f| f.a.view());
            sq = residual_sq(a, self.w.view(), self.ht.view());
        }
        self.filled = filled;
        self.set_loss(0.5 * sq, sq);
    }

    /// One KL iteration (Lee & Seung's multiplicative updates).
    fn kl_step(&mut self) {
        let data = Arc::clone(&self.data);
        let (a, at) = (data.a(), data.at());
        let Some((mut ratio, mut scratch)) = self.kl_approx.take() else {
            return;
        };
        // `ratio` is A / (W·Hᵀᵀ) for the factors as they are.
        update::kl_update(ratio.view(), self.ht.view(), &mut self.w, self.pen_w);
        if data.stores_transpose() {
            linalg::par_matmul_into(linalg::DEFAULT_KERNEL, self.ht.view(), self.w.t(), scratch.view_mut());
            update::kl_ratio(at, &mut scratch);
            update::kl_update(scratch.view(), self.w.view(), &mut self.ht, self.pen_h);
        } else {
            // Without Aᵀ, the ratio is made in A's layout (in `ratio`,
            // remade below anyway) and read transposed: no n × m buffer.
            linalg::par_matmul_into(linalg::DEFAULT_KERNEL, self.w.view(), self.ht.t(), ratio.view_mut());
            update::kl_ratio(a, &mut ratio);
            update::kl_update(ratio.t(), self.w.view(), &mut self.ht, self.pen_h);
        }
        linalg::par_matmul_into(linalg::DEFAULT_KERNEL, self.w.view(), self.ht.t(), ratio.view_mut());
        // The loss of the new factors, and the next W update's ratio.
        let (kl, sq) = update::kl_loss_and_ratio(a, &mut ratio);
        self.set_loss(kl, sq);
        self.kl_approx = Some((ratio, scratch));
        self.gram_ht = gram(self.ht.view());
    }

    /// Why the fit should stop now, if it should (cancellation aside).
    pub fn stop_reason(&self) -> Option<StopReason> {
        let p = &self.params;
        if p.target_rel_err.is_some_and(|t| self.rel_err <= t) {
            return Some(StopReason::Target);
        }
        // The rules count from the start of this run (0 unless continued).
        let (start_iteration, start_secs) = self.run_start;
        let done = self.iteration - start_iteration;
        if p.tol > 0.0 && done >= 10 && done.is_multiple_of(10) && self.history.len() > 10 {
            let before = self.history[self.history.len() - 11].objective;
            // An objective of 0 (a perfect fit) cannot fall any further.
            if before <= 0.0 || (before - self.objective) / before < p.tol {
                return Some(StopReason::Tol);
            }
        }
        if done >= p.max_iter {
            return Some(StopReason::MaxIter);
        }
        if p.time_limit_secs.is_some_and(|t| self.secs() - start_secs >= t) {
            return Some(StopReason::Time);
        }
        None
    }

    /// Takes `params`' stopping rules (max_iter, tol, the target, the time
    /// limit) for the iterations to come. With `from_here` they count from
    /// the current iteration (another `max_iter` at most: how a fit goes on
    /// past the rule that stopped it); without, from where they counted
    /// before. Everything else in `params` must equal this fit's (a fit with
    /// other settings is a warm start, [`Nmf::warm_start`]).
    pub fn continue_run(&mut self, params: &Params, from_here: bool) -> Result<(), NmfError> {
        params.check(self.data.pixels(), self.data.faces())?;
        if self.params.with_stopping_of(params) != *params {
            return Err(NmfError::NotContinuable);
        }
        self.params = params.clone();
        if from_here {
            self.run_start = (self.iteration, self.secs());
        }
        Ok(())
    }

    /// Steps until a stopping rule fires or `cancel` is set, calling
    /// `on_step` after every iteration.
    pub fn run(&mut self, cancel: Option<&AtomicBool>, mut on_step: impl FnMut(&Nmf)) -> StopReason {
        loop {
            if let Some(reason) = self.stop_reason() {
                return reason;
            }
            if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                return StopReason::Cancelled;
            }
            self.step();
            on_step(self);
        }
    }

    /// The parameters of this fit.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The data being fitted.
    pub fn data(&self) -> &Arc<FaceMatrix> {
        &self.data
    }

    /// Iterations done so far.
    pub fn iteration(&self) -> usize {
        self.iteration
    }

    /// The objective after the last iteration (the solver's loss plus
    /// penalties): ½‖A − WH‖² for hals and mu, KL(A‖WH) for kl.
    pub fn objective(&self) -> f64 {
        self.objective
    }

    /// ‖A − WH‖_F / ‖A‖_F after the last iteration. For hals and mu it is
    /// computed from the products the solver already has (no extra pass over
    /// A); see [`Nmf::exact_rel_err`] for a direct computation.
    pub fn rel_err(&self) -> f64 {
        self.rel_err
    }

    /// ‖A − WH‖_F / ‖A‖_F computed directly from the residual.
    /// For a masked fit, over the observed entries.
    pub fn exact_rel_err(&self) -> f64 {
        match &self.filled {
            Some(f) => (residual_sq(f.a.view(), self.w.view(), self.ht.view()) / f.observed_sq).sqrt(),
            None => (residual_sq(self.data.a(), self.w.view(), self.ht.view()) / self.data.norm_sq).sqrt(),
        }
    }

    /// A masked fit's error on the entries it never saw:
    /// √(Σ (A − WH)² / Σ A²) over the hidden entries (`None` unmasked).
    pub fn heldout_rel_err(&self) -> Option<f64> {
        self.filled.as_ref().map(|f| f.heldout_rel_err(self.data.a()))
    }

    /// The mask of a masked fit.
    pub fn mask(&self) -> Option<&Arc<mask::Mask>> {
        self.filled.as_ref().map(|f| &f.mask)
    }

    /// W (m × k): column j is basis image j.
    pub fn w(&self) -> ArrayView2<'_, f32> {
        self.w.view()
    }

    /// H (k × n): column j is face j's weights.
    pub fn h(&self) -> ArrayView2<'_, f32> {
        self.ht.t()
    }

    /// Seconds of work so far: initialisation plus iterations.
    pub fn secs(&self) -> f64 {
        self.init_secs + self.step_secs
    }

    /// Extrapolated iterations undone so far, each followed by a plain one
    /// from where it started (0 when the fit does not extrapolate, see
    /// [`Params::extrapolate`]): the extra iterations' worth of work.
    pub fn extrapolation_restarts(&self) -> usize {
        self.extrapolation.as_ref().map_or(0, |e| e.restarts)
    }

    /// HALS iterations run on the init's sketch of A before the first
    /// exact one ([`Params::sketch_warmup_iter`]; part of the init).
    pub fn sketch_warmup_done(&self) -> usize {
        self.sketch_warmup
    }

    /// Seconds the initialisation took.
    pub fn init_secs(&self) -> f64 {
        self.init_secs
    }

    /// One record per iteration, the initialisation first.
    pub fn history(&self) -> &[Record] {
        &self.history
    }

    /// The parts that contribute nothing: all-zero columns of W or rows of H
    /// (what a strong L1 penalty does); see [`metrics::zeroed_parts`].
    pub fn zeroed_parts(&self) -> metrics::ZeroedParts {
        metrics::zeroed_parts(self.w.view(), self.ht.t())
    }

    /// Average inner HALS sweeps per iteration on (W, H).
    pub fn mean_inner_sweeps(&self) -> (f64, f64) {
        let it = self.iteration.max(1) as f64;
        (self.inner_sweeps.0 / it, self.inner_sweeps.1 / it)
    }

    /// The penalties that would zero every part of this fit at its next
    /// update ([`AlphaLimits`]): costs one A·Hᵀ and one Aᵀ·W.
    pub fn alpha_limits(&self) -> AlphaLimits {
        let data = &self.data;
        let aht = par_matmul(data.a(), self.ht.view());
        let atw = par_matmul(data.at(), self.w.view());
        let max = |x: &Array2<f32>| x.iter().fold(0.0_f32, |m, &v| m.max(v));
        AlphaLimits {
            alpha_w: max(&aht) / data.faces().max(1) as f32,
            alpha_h: max(&atw) / data.pixels().max(1) as f32,
        }
    }

    /// A copy of the current state.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            w: self.w.clone(),
            h: self.ht.t().as_standard_layout().into_owned(),
            iteration: self.iteration,
            objective: self.objective,
            rel_err: self.rel_err,
            secs: self.secs(),
        }
    }

    /// Consumes the fit, returning (W, H).
    pub fn into_factors(self) -> (Array2<f32>, Array2<f32>) {
        let h = self.ht.t().as_standard_layout().into_owned();
        (self.w, h)
    }
}

/// The L1 strengths at which a fit's next update zeroes every part, in
/// scikit-learn's units ([`Params::alpha_w`] × [`Params::l1_ratio`], and
/// the same for H). HALS sets entry i of basis image j to
/// max(0, (A·Hᵀ)ᵢⱼ − Σ_{l≠j} wᵢₗ(H·Hᵀ)ₗⱼ − faces·alpha_W·l1_ratio) / …, so
/// faces·alpha_W·l1_ratio ≥ max(A·Hᵀ) leaves nothing; parts begin to vanish
/// well below that. They depend on the fit's scale (an L1 penalty on one
/// factor alone lets the other grow), so they are measured on a fit.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct AlphaLimits {
    /// alpha_W × l1_ratio at which every basis image is zeroed.
    pub alpha_w: f32,
    /// alpha_H × l1_ratio at which every part's weights are zeroed.
    pub alpha_h: f32,
}

/// The kl solver's warm-up ([`Params::kl_warmup_iter`]): `iters`
/// unpenalised accelerated HALS iterations on ½‖A − W·Hᵀᵀ‖², part of the
/// initialisation. Entries HALS set to zero are then lifted to a tiny
/// positive value, since a multiplicative update can never move a zero.
fn kl_warmup(data: &FaceMatrix, iters: usize, w: &mut Array2<f32>, ht: &mut Array2<f32>) {
    if iters == 0 {
        return;
    }
    let (m, n, k) = (data.pixels(), data.faces(), w.ncols());
    for _ in 0..iters {
        let q = gram(ht.view());
        update::hals(data.a(), ht.view(), q.view(), w, Penalty::default(), update::hals_max_inner(m, n, k));
        let qw = gram(w.view());
        update::hals(data.at(), w.view(), qw.view(), ht, Penalty::default(), update::hals_max_inner(n, m, k));
    }
    let floor = KL_WARMUP_FLOOR * (init::mean_of(data.a()) / k as f32).sqrt();
    for f in [w, ht] {
        f.mapv_inplace(|v| v.max(floor));
    }
}

/// Zeros left by the kl warm-up become this share of √(mean(A)/k), the
/// scale of a random start's entries.
const KL_WARMUP_FLOOR: f32 = 1e-3;

/// Puts the columns of W (`on_w`) or of Hᵀ (the rows of H, `!on_w`) at the
/// sparseness `params` asks for, if any ([`sparse::project_columns`]).
fn hold_sparseness(params: &Params, w: &mut Array2<f32>, ht: &mut Array2<f32>, on_w: bool) {
    let (target, f) = if on_w { (params.sparseness_w, w) } else { (params.sparseness_h, ht) };
    if let Some(s) = target {
        let ratio = sparse::ratio_for(f.nrows(), f64::from(s));
        sparse::project_columns(f, ratio);
    }
}

/// Weights (k × p) of new faces `x` (m × p) with the basis `w` (m × k)
/// fixed: non-negative least squares, min ‖x − w·h‖ over h ≥ 0, solved by
/// coordinate descent to convergence.
pub fn transform(w: ArrayView2<f32>, x: ArrayView2<f32>) -> Result<Array2<f32>, NmfError> {
    let (m, k) = w.dim();
    if x.nrows() != m {
        return Err(NmfError::Shape { what: "faces to project", got: x.dim(), expected: (m, x.ncols()) });
    }
    if k == 0 {
        return Err(NmfError::Shape { what: "W", got: w.dim(), expected: (m, 1) });
    }
    for (what, f) in [("W", w), ("faces to project", x)] {
        if let Some(&value) = f.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
            return Err(NmfError::InvalidFactor { what, value });
        }
    }
    let q = gram(w);
    let p = par_matmul(x.t(), w); // p × k
    let mut ht = Array2::<f32>::zeros((x.ncols(), k));
    update::hals_with_products(p.view(), q.view(), &mut ht, Penalty::default(), 1000, 1e-4);
    Ok(transpose_owned(ht.view()))
}

/// The reconstruction W·h of one face from its weights `h` (k).
pub fn reconstruct(w: ArrayView2<f32>, h: ndarray::ArrayView1<f32>) -> ndarray::Array1<f32> {
    w.dot(&h)
}

/// Rows `[from, to)` of W·H, i.e. reconstructions of the faces `from..to`
/// as columns (m × (to − from)).
pub fn reconstruct_faces(w: ArrayView2<f32>, h: ArrayView2<f32>, from: usize, to: usize) -> Array2<f32> {
    par_matmul(w, h.slice(s![.., from..to]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extrapolation_settles_once_its_gains_are_rounding_and_never_keeps_a_rise() {
        let a = Array2::from_shape_fn((60, 40), |(i, j)| ((i * 7 + j * 3) % 13) as f32 / 13.0 + 0.05);
        let data = Arc::new(FaceMatrix::new(a).unwrap());
        let mut fit = Nmf::new(Arc::clone(&data), Params::new(4).tol(0.0)).unwrap();
        let rounding = OBJECTIVE_ROUNDING * data.norm_sq();
        let mut settled_at = None;
        for it in 0..400 {
            let before = fit.objective();
            fit.step();
            // Kept iterations gain more than the rounding; plain ones
            // (after a restart or once settled) move the objective computed
            // from f32 products by rounding at most (a few 1e-7 of ‖A‖²).
            assert!(fit.objective() <= before + 4.0 * rounding, "iteration {it} rose: {before} -> {}", fit.objective());
            let ex = fit.extrapolation.as_ref().unwrap();
            if ex.settled && settled_at.is_none() {
                settled_at = Some((it, ex.restarts));
            }
        }
        let (_, restarts) = settled_at.expect("a long fit's gains reach the rounding");
        assert_eq!(fit.extrapolation_restarts(), restarts, "no restart once settled");
    }

    #[test]
    fn the_first_iteration_from_the_inits_product_equals_one_that_recomputes_it() {
        let a = Array2::from_shape_fn((70, 50), |(i, j)| ((i * 3 + j * 5) % 11) as f32 / 11.0 + 0.05);
        let data = Arc::new(FaceMatrix::new(a).unwrap());
        let params = Params::new(6);
        let mut shared = Nmf::new(Arc::clone(&data), params.clone()).unwrap();
        let mut recomputed = Nmf::new(data, params).unwrap();
        assert!(shared.p_w_fresh, "a hals init keeps its A·Hᵀ");
        recomputed.p_w_fresh = false;
        for _ in 0..3 {
            shared.step();
            recomputed.step();
            assert!(!shared.p_w_fresh);
            assert_eq!(shared.w(), recomputed.w());
            assert_eq!(shared.h(), recomputed.h());
            assert_eq!(shared.rel_err(), recomputed.rel_err());
        }
    }
}
