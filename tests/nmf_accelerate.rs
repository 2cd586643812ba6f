//! HALS's two accelerations: iterations from a point extrapolated along the
//! last step (Ang & Gillis 2019), and the init's iterations on a sketch of
//! A where the sketch is much smaller than A. Both must reach a given error
//! sooner, keep every reported error exact on A, never let the objective
//! rise, and give the same bits whatever the thread count.

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use facenmf::nmf::compress::Sketch;
use facenmf::nmf::{FaceMatrix, Init, Nmf, Params, Solver, StopReason};

/// `count` generated faces of `size`×`size` (A: size² × count).
fn faces(count: usize, size: usize, seed: u64) -> Arc<FaceMatrix> {
    let ds = facenmf::dataset::builtin::generate(count, size, seed).dataset;
    Arc::new(FaceMatrix::new(ds.matrix).expect("valid faces"))
}

/// Steps `params` until `target` (or 2,000 iterations); returns the fit.
fn to_target(data: &Arc<FaceMatrix>, params: Params, target: f64) -> Nmf {
    let params = params.tol(0.0).max_iter(2_000).target_rel_err(Some(target));
    let mut nmf = Nmf::new(Arc::clone(data), params).unwrap();
    assert_eq!(nmf.run(None, |_| {}), StopReason::Target, "target {target} not reached");
    nmf
}

/// The exact objective ½‖A − WH‖².
fn exact_objective(nmf: &Nmf) -> f64 {
    0.5 * nmf.exact_rel_err().powi(2) * nmf.data().norm_sq()
}

#[test]
fn extrapolation_reaches_an_error_in_fewer_iterations_and_never_raises_the_objective() {
    // 300 faces of 24×24: the sketch is not small enough to pay, so only
    // the extrapolation differs.
    let data = faces(300, 24, 3);
    let params = Params::new(16).seed(5);
    assert_eq!(Nmf::sketch_warmup_iters(&params, data.pixels(), data.faces()), 0);
    // The error plain HALS reaches after 150 iterations.
    let mut plain = Nmf::new(Arc::clone(&data), params.clone().extrapolate(false).tol(0.0).max_iter(150)).unwrap();
    plain.run(None, |_| {});
    assert_eq!(plain.extrapolation_restarts(), 0);
    let target = plain.rel_err();

    let fast = to_target(&data, params.clone(), target);
    // Each undone iteration cost one more.
    let work = fast.iteration() + fast.extrapolation_restarts();
    assert!(
        work * 10 <= 150 * 8,
        "extrapolated: {} iterations + {} restarts, plain 150",
        fast.iteration(),
        fast.extrapolation_restarts()
    );

    // Step by step, the exact objective never rises and the reported error
    // is the exact one.
    let mut nmf = Nmf::new(Arc::clone(&data), params.tol(0.0)).unwrap();
    let mut last = exact_objective(&nmf);
    for it in 0..80 {
        nmf.step();
        let obj = exact_objective(&nmf);
        assert!(obj <= last * (1.0 + 1e-6), "the objective rose at iteration {it}: {last} -> {obj}");
        approx::assert_relative_eq!(nmf.rel_err(), nmf.exact_rel_err(), max_relative = 1e-4);
        assert!(nmf.w().iter().chain(nmf.h().iter()).all(|&v| v >= 0.0 && v.is_finite()));
        last = obj;
    }
}

#[test]
fn extrapolation_is_only_for_plain_or_penalised_hals() {
    let data = faces(120, 16, 4);
    for params in
        [Params::new(6).solver(Solver::Mu), Params::new(6).solver(Solver::Kl), Params::new(6).sparseness_w(Some(0.6))]
    {
        let mut on = Nmf::new(Arc::clone(&data), params.clone()).unwrap();
        let mut off = Nmf::new(Arc::clone(&data), params.clone().extrapolate(false)).unwrap();
        for _ in 0..12 {
            on.step();
            off.step();
        }
        assert_eq!(on.objective().to_bits(), off.objective().to_bits(), "{params:?}");
    }
    // Penalised HALS extrapolates, and its objective still never rises.
    let params = Params::new(6).alpha_w(0.01).alpha_h(0.01).l1_ratio(0.5);
    let mut nmf = Nmf::new(Arc::clone(&data), params).unwrap();
    let mut last = nmf.objective();
    for it in 0..40 {
        nmf.step();
        // (As plain HALS: the objective from the products carries f32
        // rounding of about 1e-5 of it.)
        assert!(nmf.objective() <= last * (1.0 + 1e-4), "rose at {it}: {last} -> {}", nmf.objective());
        last = nmf.objective();
    }
}

#[test]
fn the_sketch_warm_up_runs_where_the_sketch_is_small_and_the_error_stays_exact() {
    // 2,000 faces of 32×32 at k = 21: the sketch of rank 31 holds 4 % of A.
    let data = faces(2_000, 32, 7);
    assert_eq!(Params::default().sketch_warmup_iter, 0, "asked for, not by default");
    let params = Params::new(21).seed(1).sketch_warmup_iter(10);
    assert!(Sketch::pays(data.pixels(), data.faces(), 31));
    assert_eq!(Nmf::sketch_warmup_iters(&params, data.pixels(), data.faces()), 10);

    let warm = Nmf::new(Arc::clone(&data), params.clone()).unwrap();
    assert_eq!(warm.sketch_warmup_done(), 10);
    assert_eq!(warm.iteration(), 0, "the warm-up is part of the init");
    // The init's error, after the iterations on the sketch, is exact on A.
    approx::assert_relative_eq!(warm.rel_err(), warm.exact_rel_err(), max_relative = 1e-4);
    let cold = Nmf::new(Arc::clone(&data), params.clone().sketch_warmup_iter(0)).unwrap();
    assert_eq!(cold.sketch_warmup_done(), 0);
    assert!(warm.rel_err() < 0.9 * cold.rel_err(), "{} vs {}", warm.rel_err(), cold.rel_err());
    // The exact iterations go on from there, their errors exact too.
    let mut fit = warm;
    for _ in 0..5 {
        fit.step();
    }
    approx::assert_relative_eq!(fit.rel_err(), fit.exact_rel_err(), max_relative = 1e-4);
    assert!(fit.history().windows(2).all(|w| w[1].objective <= w[0].objective * (1.0 + 1e-6)));

    // Not for other solvers, random inits, penalties or constraints, nor
    // where A is small next to the sketch (ORL's shape at k = 49).
    for other in [
        params.clone().solver(Solver::Mu),
        params.clone().solver(Solver::Kl),
        params.clone().init(Init::Random),
        params.clone().alpha_w(0.1),
        params.clone().sparseness_h(Some(0.5)),
    ] {
        assert_eq!(Nmf::sketch_warmup_iters(&other, data.pixels(), data.faces()), 0, "{other:?}");
    }
    assert_eq!(Nmf::sketch_warmup_iters(&Params::new(49).sketch_warmup_iter(10), 10_304, 400), 0);
    assert_eq!(Nmf::sketch_warmup_iters(&Params::new(49).sketch_warmup_iter(10), 4_096, 13_000), 10);
}

#[test]
fn both_accelerations_give_the_same_bits_with_one_two_or_four_threads() {
    let data = faces(1_500, 24, 9);
    let params = Params::new(12).seed(3).sketch_warmup_iter(10);
    assert!(Nmf::sketch_warmup_iters(&params, data.pixels(), data.faces()) > 0);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let mut nmf = Nmf::new(Arc::clone(&data), params.clone()).unwrap();
            for _ in 0..25 {
                nmf.step();
            }
            (nmf.w().to_owned(), nmf.h().to_owned(), nmf.objective(), nmf.extrapolation_restarts())
        })
    };
    let one = run(1);
    for threads in [2, 4] {
        let other = run(threads);
        assert!(one.0.iter().zip(other.0.iter()).all(|(a, b)| a.to_bits() == b.to_bits()), "W, {threads} threads");
        assert!(one.1.iter().zip(other.1.iter()).all(|(a, b)| a.to_bits() == b.to_bits()), "H, {threads} threads");
        assert_eq!(one.2.to_bits(), other.2.to_bits());
        assert_eq!(one.3, other.3);
    }
}

#[test]
fn a_continued_fit_keeps_extrapolating_and_a_warm_start_begins_plain() {
    let data = faces(200, 20, 2);
    let params = Params::new(10).tol(0.0).max_iter(20);
    // Twenty iterations in one run equal ten, a stop, and ten more.
    let mut once = Nmf::new(Arc::clone(&data), params.clone()).unwrap();
    once.run(None, |_| {});
    let mut twice = Nmf::new(Arc::clone(&data), params.clone().max_iter(10)).unwrap();
    twice.run(None, |_| {});
    twice.continue_run(&params, false).unwrap();
    twice.run(None, |_| {});
    assert_eq!(once.iteration(), twice.iteration());
    assert_eq!(once.objective().to_bits(), twice.objective().to_bits());
    // A warm start of a finished fit at the same k goes on from its factors.
    let warm = Nmf::warm_start(Arc::clone(&data), params.clone(), once.w().to_owned(), once.h().to_owned()).unwrap();
    approx::assert_relative_eq!(warm.rel_err(), once.rel_err(), max_relative = 1e-4);
    assert_eq!(warm.extrapolation_restarts(), 0);
}
