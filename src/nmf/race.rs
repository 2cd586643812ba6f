//! A solver race: the same data, k, initialisation and seed, fitted by
//! several solvers one after another, each for the same time budget, with
//! the relative error recorded against each solver's own clock.
//!
//! Pure computation (no threads, no I/O): the caller runs [`run_lane`] for
//! each solver (on a background thread, in the app), and can cancel it
//! between iterations with an [`AtomicBool`].
//!
//! Every recorded error is [`Nmf::exact_rel_err`] (‖A − WH‖_F / ‖A‖_F from
//! the residual), the same measure for all solvers, although KL-MU minimises
//! a different loss. Times are [`Nmf::secs`]: the solver's own work from its
//! start, initialisation included; computing the recorded errors is not
//! counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{FaceMatrix, Nmf, NmfError, Params, Solver, StopReason};

/// The solvers raced, in the order they run.
pub const RACE_SOLVERS: [Solver; 3] = [Solver::Mu, Solver::Kl, Solver::Hals];

/// Iterations at most per solver (a guard: the time budget ends a lane
/// first on any real data).
pub const RACE_MAX_ITER: usize = 1_000_000;

/// The first iterations are all recorded (they fall fast); after them, a
/// point at most every `budget / POINTS_PER_LANE` seconds.
const EARLY_ITERATIONS: usize = 10;

/// About how many points are recorded per lane after the first iterations.
pub const POINTS_PER_LANE: usize = 80;

/// One recorded point of a lane.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RacePoint {
    /// 0 is the initialisation.
    pub iteration: usize,
    /// Seconds of the solver's work since its start, initialisation included.
    pub secs: f64,
    /// ‖A − WH‖_F / ‖A‖_F, computed exactly.
    pub rel_err: f64,
}

/// One solver's run.
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    pub solver: Solver,
    /// Recorded points, the initialisation first and the last iteration last.
    pub points: Vec<RacePoint>,
    /// Why the lane ended.
    pub stop: StopReason,
    /// Seconds the initialisation took (included in every point's time).
    pub init_secs: f64,
}

impl Lane {
    /// Iterations run.
    pub fn iterations(&self) -> usize {
        self.points.last().map_or(0, |p| p.iteration)
    }

    /// Seconds of work in all (initialisation included).
    pub fn secs(&self) -> f64 {
        self.points.last().map_or(0.0, |p| p.secs)
    }

    /// The error after the last iteration.
    pub fn final_rel_err(&self) -> Option<f64> {
        self.points.last().map(|p| p.rel_err)
    }

    /// The time of the first recorded point with an error at or below
    /// `target`, if any (a slight overestimate: points are sampled).
    pub fn secs_to_reach(&self, target: f64) -> Option<f64> {
        self.points.iter().find(|p| p.rel_err <= target).map(|p| p.secs)
    }
}

/// The error every lane reached: the worst (largest) final error, so
/// "time to reach it" compares all lanes on one target.
pub fn common_target(lanes: &[Lane]) -> Option<f64> {
    lanes.iter().filter_map(Lane::final_rel_err).filter(|e| e.is_finite()).reduce(f64::max)
}

/// The parameters of one lane: `base`'s k, init and seed, `solver`, no
/// penalties (each solver then minimises its plain loss), no tolerance, and
/// `budget_secs` as the time limit. kl's HALS warm-up and hals's iterations
/// on a sketch are off, and `auto` is nndsvda for every lane (the start
/// all solvers can use; hals alone would take nndsvd), so that every lane
/// starts from the same factors and the race compares the update rules
/// (hals's extrapolation is one of them).
pub fn lane_params(base: &Params, solver: Solver, budget_secs: f64) -> Params {
    let init = if base.init == super::Init::Auto { super::Init::Nndsvda } else { base.init };
    Params::new(base.k)
        .solver(solver)
        .init(init)
        .seed(base.seed)
        .kl_warmup_iter(0)
        .sketch_warmup_iter(0)
        .tol(0.0)
        .max_iter(RACE_MAX_ITER)
        .time_limit_secs(Some(budget_secs))
}

/// Runs `solver` on `data` from `base`'s initialisation for `budget_secs`
/// seconds of its own work (initialisation included), or until `cancel` is
/// set (checked between iterations). `on_point` sees every recorded point
/// as it is recorded.
pub fn run_lane(
    data: Arc<FaceMatrix>,
    base: &Params,
    solver: Solver,
    budget_secs: f64,
    cancel: &AtomicBool,
    mut on_point: impl FnMut(&RacePoint),
) -> Result<Lane, NmfError> {
    let params = lane_params(base, solver, budget_secs);
    let mut fit = Nmf::new(data, params)?;
    let spacing_secs = budget_secs / POINTS_PER_LANE as f64;
    let mut points = Vec::new();
    let mut record = |fit: &Nmf, points: &mut Vec<RacePoint>| {
        let p = RacePoint { iteration: fit.iteration(), secs: fit.secs(), rel_err: fit.exact_rel_err() };
        on_point(&p);
        points.push(p);
    };
    record(&fit, &mut points);
    let stop = loop {
        if let Some(reason) = fit.stop_reason() {
            break reason;
        }
        if cancel.load(Ordering::Relaxed) {
            break StopReason::Cancelled;
        }
        fit.step();
        let last_secs = points.last().map_or(0.0, |p| p.secs);
        if fit.iteration() <= EARLY_ITERATIONS || fit.secs() - last_secs >= spacing_secs {
            record(&fit, &mut points);
        }
    };
    // The last iteration is always recorded.
    if points.last().is_some_and(|p| p.iteration != fit.iteration()) {
        record(&fit, &mut points);
    }
    Ok(Lane { solver, points, stop, init_secs: fit.init_secs() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn data() -> Arc<FaceMatrix> {
        let a = Array2::from_shape_fn((60, 40), |(i, j)| (((i * 7 + j * 3) % 11) as f32 / 11.0) + 0.05);
        Arc::new(FaceMatrix::new(a).expect("valid data"))
    }

    #[test]
    fn lane_records_from_the_init_to_the_end_within_the_budget() {
        let never = AtomicBool::new(false);
        let mut streamed = 0;
        let lane = run_lane(data(), &Params::new(4).seed(3), Solver::Hals, 0.2, &never, |_| streamed += 1).unwrap();
        assert_eq!(lane.stop, StopReason::Time);
        assert_eq!(lane.points.len(), streamed);
        assert_eq!(lane.points[0].iteration, 0);
        assert!(lane.iterations() > EARLY_ITERATIONS);
        assert!(lane.secs() >= 0.2 && lane.secs() < 1.0, "{} s", lane.secs());
        assert!(lane.points.windows(2).all(|w| w[0].iteration < w[1].iteration && w[0].secs <= w[1].secs));
        let last = lane.final_rel_err().unwrap();
        assert!(last < lane.points[0].rel_err, "HALS lowers the error");
        // The recorded error is the exact one.
        assert!(last.is_finite() && last > 0.0);
    }

    #[test]
    fn a_set_cancel_flag_stops_before_the_first_iteration() {
        let cancelled = AtomicBool::new(true);
        let lane = run_lane(data(), &Params::new(4), Solver::Mu, 10.0, &cancelled, |_| {}).unwrap();
        assert_eq!(lane.stop, StopReason::Cancelled);
        assert_eq!(lane.iterations(), 0);
        assert_eq!(lane.points.len(), 1);
    }

    #[test]
    fn lanes_share_the_initialisation_and_drop_penalties() {
        let base = Params::new(5).seed(9).alpha_w(0.5).init(crate::nmf::Init::Random);
        let cancelled = AtomicBool::new(true);
        let errs: Vec<f64> = RACE_SOLVERS
            .iter()
            .map(|&s| run_lane(data(), &base, s, 1.0, &cancelled, |_| {}).unwrap().points[0].rel_err)
            .collect();
        assert!(errs.windows(2).all(|w| w[0] == w[1]), "same start: {errs:?}");
        let p = lane_params(&base, Solver::Kl, 2.0);
        assert_eq!((p.k, p.seed, p.init, p.solver, p.alpha_w), (5, 9, crate::nmf::Init::Random, Solver::Kl, 0.0));
        assert_eq!(p.time_limit_secs, Some(2.0));
        assert_eq!(p.kl_warmup_iter, 0, "the race compares update rules from one start");
        assert_eq!(p.sketch_warmup_iter, 0, "the race compares update rules from one start");
        // The default init (auto) is one start for every lane too.
        let base = Params::new(5).seed(9);
        assert_eq!(base.init, crate::nmf::Init::Auto);
        assert_eq!(base.resolved_init(), crate::nmf::Init::Nndsvd, "hals alone starts from nndsvd");
        let errs: Vec<f64> = RACE_SOLVERS
            .iter()
            .map(|&s| run_lane(data(), &base, s, 1.0, &cancelled, |_| {}).unwrap().points[0].rel_err)
            .collect();
        assert!(errs.windows(2).all(|w| w[0] == w[1]), "same start: {errs:?}");
        for s in RACE_SOLVERS {
            assert_eq!(lane_params(&base, s, 1.0).resolved_init(), crate::nmf::Init::Nndsvda);
        }
    }

    #[test]
    fn common_target_is_the_worst_final_error() {
        let lane = |solver, errs: &[f64]| Lane {
            solver,
            points: errs
                .iter()
                .enumerate()
                .map(|(i, &e)| RacePoint { iteration: i, secs: i as f64, rel_err: e })
                .collect(),
            stop: StopReason::Time,
            init_secs: 0.0,
        };
        let lanes = [lane(Solver::Mu, &[1.0, 0.5, 0.4]), lane(Solver::Hals, &[1.0, 0.3, 0.2, 0.1])];
        assert_eq!(common_target(&lanes), Some(0.4));
        assert_eq!(lanes[1].secs_to_reach(0.4), Some(1.0));
        assert_eq!(lanes[0].secs_to_reach(0.4), Some(2.0));
        assert_eq!(lanes[0].secs_to_reach(0.01), None);
        assert_eq!(common_target(&[]), None);
    }
}
