//! `nmf::sweep`: NMF never beats the SVD's optimum, cancellation, checks.

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use facenmf::dataset::{LoadOptions, load_folder};
use facenmf::nmf::svd::randomized_svd;
use facenmf::nmf::sweep::{SKETCH_ITERS, SweepEvent, SweepStrategy, Validation, spectrum, sweep, sweep_with};
use facenmf::nmf::{FaceMatrix, NmfError, Params};

fn generated() -> Arc<FaceMatrix> {
    let ds = facenmf::dataset::builtin::generate(60, 24, 5).dataset;
    Arc::new(FaceMatrix::new(ds.matrix).expect("valid faces"))
}

/// Asserts what must hold at every k of a finished sweep.
fn check_points(points: &[facenmf::nmf::sweep::SweepPoint], ks: &[usize], m: usize, n: usize) {
    assert_eq!(points.iter().map(|p| p.k).collect::<Vec<_>>(), ks);
    for p in points {
        // At k = 1 the best rank-1 approximation of a non-negative matrix is
        // itself non-negative (Perron–Frobenius), so NMF can tie the SVD; the
        // two are then equal up to rounding of the f64 sums (1e-7 relative).
        let floor = if p.k == 1 { p.svd_rel_err * (1.0 - 1e-7) } else { p.svd_rel_err };
        assert!(p.rel_err >= floor, "k = {}: NMF rel_err {} below the SVD's optimum {}", p.k, p.rel_err, p.svd_rel_err);
        assert!(p.svd_rel_err > 0.0 && p.svd_rel_err < 1.0, "k = {}: {}", p.k, p.svd_rel_err);
        let ev = 1.0 - p.svd_rel_err * p.svd_rel_err;
        assert!((p.explained_variance - ev).abs() < 1e-12);
        assert!((0.0..=1.0).contains(&p.sparseness_w), "{}", p.sparseness_w);
        assert_eq!(p.w.dim(), (m, p.k));
        assert_eq!(p.h.dim(), (p.k, n));
        assert!(p.iterations >= 1 && p.fit_secs > 0.0);
    }
    for pair in points.windows(2) {
        assert!(pair[1].svd_rel_err < pair[0].svd_rel_err, "SVD error must fall with k");
    }
}

#[test]
fn nmf_is_never_below_the_svd_on_generated_faces() {
    let data = generated();
    let ks = [1, 2, 3, 5, 8, 13, 21, 34];
    let mut seen_points = 0;
    let mut seen_steps = 0;
    let s = sweep(&data, &ks, &Params::new(1).max_iter(300), None, |e| match e {
        SweepEvent::Point { index, total, point } => {
            assert_eq!((index, total, point.k), (seen_points, ks.len(), ks[seen_points]));
            seen_points += 1;
        }
        SweepEvent::Step { .. } => seen_steps += 1,
        SweepEvent::Spectrum(sp) => assert!(sp.exact),
    })
    .expect("sweep");
    assert!(!s.cancelled);
    assert_eq!(seen_points, ks.len());
    assert!(seen_steps >= ks.len());
    check_points(&s.points, &ks, data.pixels(), data.faces());
}

#[test]
fn nmf_is_never_below_the_svd_on_orl() {
    let Some(dir) = common::orl() else { return };
    let ds = load_folder(&dir, &LoadOptions::default()).expect("ORL loads");
    let data = Arc::new(FaceMatrix::new(ds.matrix).expect("valid"));
    let ks = [2, 4, 8, 16, 32, 49];
    let s = sweep(&data, &ks, &Params::new(1), None, |_| {}).expect("sweep");
    for p in &s.points {
        eprintln!(
            "ORL k = {:2}: NMF {:.5}, SVD {:.5}, explained {:.4}, sparseness {:.3}, {} iterations, {:.2} s",
            p.k, p.rel_err, p.svd_rel_err, p.explained_variance, p.sparseness_w, p.iterations, p.fit_secs
        );
    }
    check_points(&s.points, &ks, data.pixels(), data.faces());
}

#[test]
fn exact_spectrum_bounds_the_randomized_one() {
    let data = generated();
    let exact = spectrum(&data, 20, 0).expect("spectrum");
    assert!(exact.exact);
    assert_eq!(exact.singular_values.len(), 60);
    let total: f64 = exact.singular_values.iter().map(|s| s * s).sum();
    assert!((total - data.norm_sq()).abs() < 1e-6 * data.norm_sq(), "{total} vs {}", data.norm_sq());
    let r = randomized_svd(data.a(), data.at(), 20, 7, 0).expect("randomized");
    for (i, (&e, &a)) in exact.singular_values.iter().zip(&r.s).enumerate() {
        // A randomized SVD can only underestimate (up to rounding).
        assert!(f64::from(a) <= e * (1.0 + 1e-5), "σ{i}: randomized {a} > exact {e}");
        assert!(f64::from(a) >= e * 0.98, "σ{i}: randomized {a} far below exact {e}");
    }
}

#[test]
fn cancelling_keeps_the_finished_ranks() {
    let data = generated();
    let cancel = AtomicBool::new(false);
    let s = sweep(&data, &[2, 3, 4], &Params::new(1).max_iter(50), Some(&cancel), |e| {
        if let SweepEvent::Point { .. } = e {
            cancel.store(true, Ordering::Relaxed);
        }
    })
    .expect("sweep");
    assert!(s.cancelled);
    assert_eq!(s.points.len(), 1);
    assert_eq!(s.points[0].k, 2);
}

#[test]
fn bad_ranks_are_refused_before_any_work() {
    let data = generated();
    let mut events = 0;
    for ks in [&[2, 0, 3][..], &[4, 61]] {
        let err = sweep(&data, ks, &Params::new(1), None, |_| events += 1).expect_err("refused");
        let bad = ks.iter().find(|&&k| k == 0 || k > 60).copied().unwrap_or_default();
        assert!(matches!(err, NmfError::InvalidK { k, .. } if k == bad), "{err}");
        assert!(err.to_string().contains(&format!("k = {bad}")), "{err}");
    }
    let err = sweep(&data, &[2], &Params::new(1).max_iter(0), None, |_| events += 1).expect_err("refused");
    assert!(err.to_string().contains("max_iter"), "{err}");
    assert_eq!(events, 0);
}

/// The generated faces' ranks 2, 6, …, 22 (their true number of parts is
/// 21), fitted by a sweep of `strategy` with `threads` threads.
fn sweep_generated(strategy: SweepStrategy, threads: usize) -> facenmf::nmf::sweep::Sweep {
    let data = generated();
    let ks: Vec<usize> = (2..=22).step_by(4).collect();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
    pool.install(|| {
        sweep_with(&data, &ks, &Params::new(1).max_iter(200), &Validation::default(), strategy, None, |_| {})
    })
    .expect("sweep")
}

#[test]
fn the_default_sweep_is_as_good_as_independent_fits() {
    let data = generated();
    let warm = sweep_generated(SweepStrategy::WarmStart, 2);
    let independent = sweep_generated(SweepStrategy::Independent, 2);
    check_points(&warm.points, &[2, 6, 10, 14, 18, 22], data.pixels(), data.faces());
    for (a, b) in warm.points.iter().zip(&independent.points) {
        assert_eq!(a.k, b.k);
        eprintln!(
            "k = {:2}: sweep {:.5}, independent {:.5} ({:+.5})",
            a.k,
            a.rel_err,
            b.rel_err,
            a.rel_err - b.rel_err
        );
        assert!(
            a.rel_err <= b.rel_err + 1e-3,
            "k = {}: the sweep's rel_err {} is more than 0.001 above an independent fit's {}",
            a.k,
            a.rel_err,
            b.rel_err
        );
        // The default fits on the sketch, then on A; --independent never.
        assert_eq!((a.sketch_iterations, b.sketch_iterations), (SKETCH_ITERS, 0));
    }
}

#[test]
fn the_default_sweep_reports_exact_errors_whatever_the_thread_count() {
    let data = generated();
    let one = sweep_generated(SweepStrategy::WarmStart, 1);
    for p in &one.points {
        // The reported error is ‖A − WH‖_F / ‖A‖_F of the returned factors.
        assert_eq!(p.rel_err, data.rel_err(p.w.view(), p.h.view()), "k = {}", p.k);
    }
    for threads in [2, 4] {
        let other = sweep_generated(SweepStrategy::WarmStart, threads);
        for (a, b) in one.points.iter().zip(&other.points) {
            assert_eq!(a.rel_err.to_bits(), b.rel_err.to_bits(), "k = {}, {threads} threads", a.k);
            assert_eq!(a.w, b.w, "W at k = {}, {threads} threads", a.k);
            assert_eq!(a.h, b.h, "H at k = {}, {threads} threads", a.k);
            assert_eq!(a.iterations, b.iterations);
        }
    }
}
