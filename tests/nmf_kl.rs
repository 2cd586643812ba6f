//! The kl solver: its HALS warm-up, its fused loss pass, determinism.

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use facenmf::nmf::{FaceMatrix, Nmf, Params, Solver};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Face-like data: a sparse non-negative rank-`r` product plus noise, so
/// that no rank below 60 fits it exactly.
fn noisy_low_rank(m: usize, n: usize, r: usize, seed: u64) -> Array2<f32> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut sparse = |rows, cols| {
        Array2::from_shape_simple_fn((rows, cols), || if rng.random::<f32>() < 0.4 { 0.0 } else { rng.random::<f32>() })
    };
    let w = sparse(m, r);
    let h = sparse(r, n);
    let mut a = w.dot(&h);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 99);
    a.mapv_inplace(|v| v + 0.3 * rng.random::<f32>());
    a
}

fn data(a: Array2<f32>) -> Arc<FaceMatrix> {
    Arc::new(FaceMatrix::new(a).expect("valid data"))
}

/// KL(A ‖ WH) computed directly in f64.
fn kl_f64(a: &Array2<f32>, nmf: &Nmf) -> f64 {
    let wh = nmf.w().dot(&nmf.h());
    a.iter()
        .zip(wh.iter())
        .map(|(&x, &v)| {
            let (x, v) = (f64::from(x), f64::from(v).max(1e-10));
            if x > 0.0 { x * (x / v).ln() - x + v } else { v }
        })
        .sum()
}

#[test]
fn the_warm_up_starts_lower_and_stays_ahead_and_kl_never_rises() {
    let a = noisy_low_rank(300, 120, 12, 5);
    let d = data(a);
    let params = Params::new(10).solver(Solver::Kl).tol(0.0).max_iter(40);
    let mut cold = Nmf::new(Arc::clone(&d), params.clone().kl_warmup_iter(0)).expect("params");
    let mut warm = Nmf::new(Arc::clone(&d), params.kl_warmup_iter(10)).expect("params");
    assert!(
        warm.objective() < 0.8 * cold.objective(),
        "warm-up start {} vs NNDSVDA start {}",
        warm.objective(),
        cold.objective()
    );
    let mut last = warm.objective();
    for it in 0..40 {
        cold.step();
        warm.step();
        assert!(warm.objective() <= last * (1.0 + 1e-6), "KL rose at iteration {it}: {last} -> {}", warm.objective());
        last = warm.objective();
        assert!(warm.w().iter().chain(warm.h().iter()).all(|&v| v >= 0.0 && v.is_finite()));
    }
    assert!(
        warm.objective() < cold.objective(),
        "after 40 KL iterations: warm-up {} vs none {}",
        warm.objective(),
        cold.objective()
    );
}

#[test]
fn the_fused_pass_reports_the_exact_kl_and_rel_err() {
    let a = noisy_low_rank(200, 90, 8, 6);
    let d = data(a.clone());
    for warmup in [0, 10] {
        let mut nmf = Nmf::new(Arc::clone(&d), Params::new(6).solver(Solver::Kl).kl_warmup_iter(warmup)).expect("p");
        for it in 0..8 {
            let want = kl_f64(&a, &nmf);
            approx::assert_relative_eq!(nmf.objective(), want, max_relative = 1e-4);
            approx::assert_relative_eq!(nmf.rel_err(), nmf.exact_rel_err(), max_relative = 1e-4);
            assert_eq!(nmf.history().last().map(|r| r.iteration), Some(it));
            nmf.step();
        }
    }
}

#[test]
fn kl_fits_are_bit_identical_with_one_two_or_four_threads() {
    // Large enough that every kernel splits into several chunks.
    let a = noisy_low_rank(1500, 300, 10, 7);
    let d = data(a);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
        pool.install(|| {
            let mut nmf = Nmf::new(Arc::clone(&d), Params::new(8).solver(Solver::Kl).seed(3)).expect("params");
            for _ in 0..10 {
                nmf.step();
            }
            (nmf.w().to_owned(), nmf.h().to_owned(), nmf.objective(), nmf.rel_err())
        })
    };
    let (w1, h1, o1, e1) = run(1);
    for threads in [2, 4] {
        let (w, h, o, e) = run(threads);
        assert!(w1.iter().zip(w.iter()).all(|(a, b)| a.to_bits() == b.to_bits()), "{threads} threads: W differs");
        assert!(h1.iter().zip(h.iter()).all(|(a, b)| a.to_bits() == b.to_bits()), "{threads} threads: H differs");
        assert_eq!(o1.to_bits(), o.to_bits(), "{threads} threads: objective differs");
        assert_eq!(e1.to_bits(), e.to_bits(), "{threads} threads: rel_err differs");
    }
}
